"""Stage 3, render: validated inputs in, a committed tree of Kubernetes and Vault manifests out.

`command` is the whole render as a list of named stages; each of the other modules serves one
of them: `plan` (every object decided, pure), `yaml` (their text), `writers` and `write` (the
tree written or compared, swapped in whole), `checks` (the audit, the Kubernetes schemas,
OpenBao's parser and kustomize judge the plan), `memo` and `cache` (what an identical render
already knows), `concurrent` (the one place that forks), `stopwatch` (`--timings`)."""
