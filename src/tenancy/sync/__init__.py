"""Vault follows git: observe the server, plan against the rendered Vault layer, apply.

Pure: `hcl` (policy parser), `plan` (desired/observed state and the plan), `settings` (the
`vault:` section of tenancy.yaml), `kv` (k8s_users pull: decode and merge into the git file).
Shell: `vault` (hvac client, observe, apply, KV read). See DESIGN.md, "Data flow": the last
line, `plan(desired, observed) -> apply`.
"""
