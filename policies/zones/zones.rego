# METADATA
# title: Zones
# description: |
#   With no DNS zone configured (tenancy.yaml `zones`, or `--zone`), tenant
#   domains written as full names are accepted, but nothing shows that the
#   platform owns them: a warning says so, once.
# entrypoint: true
package zones

_zones := object.get(input, ["config", "zones"], [])

# [user, index] of every full domain name, in a stable order.
_full_names := sort([[user, i] |
	some user, entry in input.k8s_users
	some i, domain in object.get(entry, "domains", [])
	is_string(domain)
	contains(domain, ".")
])

# METADATA
# title: No zone configured
# description: |
#   Without `zones`, tenancy cannot tell whether a domain belongs to the
#   platform: any tenant may claim any name, and only claims of the same name
#   by two tenants are caught. Fix: list the platform's DNS zones in
#   tenancy.yaml (or pass --zone).
# scope: rule
# custom:
#   code: zones-not-configured
#   severity: warning
warn contains v if {
	count(_zones) == 0
	count(_full_names) > 0
	[user, i] := _full_names[0]
	v := {
		"code": "zones-not-configured",
		"msg": sprintf("no DNS zone is configured: %d domain name(s) are accepted without checking that the platform owns them", [count(_full_names)]),
		"path": ["k8s_users", user, "domains", i],
	}
}
