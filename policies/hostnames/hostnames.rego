# METADATA
# title: Hostnames
# description: |
#   Checks that no tenant claims a platform hostname in `domains`. A tenant's
#   domains get a Certificate, a DNS record and an Ingress admission rule of
#   their own, so `domains: [vault]` would give a tenant vault.<zone>.
#   Reserved hostnames are `config.reserved_hostnames`: a label is reserved
#   under every zone, a full name as written, and every name under a reserved
#   one with it. Domains are compared in lower case.
# entrypoint: true
package hostnames

_lower(text) := lower(text)

_zones := [_lower(zone) | some zone in object.get(input, ["config", "zones"], [])]

_reserved := [_lower(name) | some name in object.get(input, ["config", "reserved_hostnames"], [])]

# Every reserved full name: a full name as written, a label under each zone.
_reserved_names contains name if {
	some name in _reserved
	contains(name, ".")
}

_reserved_names contains sprintf("%s.%s", [label, zone]) if {
	some label in _reserved
	not contains(label, ".")
	some zone in _zones
}

# A domain's full name: a bare label is relative to the first zone.
_full(domain) := sprintf("%s.%s", [_lower(domain), _zones[0]]) if {
	not contains(domain, ".")
	count(_zones) > 0
}

_full(domain) := _lower(domain) if contains(domain, ".")

_taken(full) := name if {
	some name in _reserved_names
	full == name
}

_taken(full) := name if {
	some name in _reserved_names
	endswith(full, concat("", [".", name]))
}

# METADATA
# title: Reserved hostname
# description: |
#   A tenant domain may not be a platform hostname or a name under one (config
#   reserved.hostnames and its built-ins: vault, argocd, grafana, www, ...):
#   the tenant would get the platform's certificate, DNS record and Ingress
#   host. Fix: choose another name.
# scope: rule
# custom:
#   code: domain-reserved
#   severity: error
deny contains v if {
	some user, entry in input.k8s_users
	some i, domain in object.get(entry, "domains", [])
	is_string(domain)
	full := _full(domain)
	reserved := _taken(full)
	v := {
		"code": "domain-reserved",
		"msg": sprintf("domain \"%s\" of %s is the platform hostname %s (or under it); choose another name", [domain, user, reserved]),
		"path": ["k8s_users", user, "domains", i],
	}
}
