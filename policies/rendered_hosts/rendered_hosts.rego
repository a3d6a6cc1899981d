# METADATA
# title: Rendered hostnames
# description: |
#   Audits the hostnames the render hands out: input is `{"objects": [{"file",
#   "object"}], "config"}`. No Certificate or DNSEndpoint may name a platform
#   hostname (`config.reserved_hostnames`, each label under every zone) or a
#   name under one: the input rules refuse such a domain, and this checks what
#   was actually rendered. (A tenant's Namespaces carry the same domains as its
#   Certificates; Namespaces stay out of the audit input, which is kept small.)
# entrypoint: true
# custom:
#   stage: rendered
#   kinds: [Certificate, DNSEndpoint]
package rendered_hosts

_array(x) := x if is_array(x)

_array(x) := [] if not is_array(x)

_zones := [lower(z) | some z in _array(object.get(input, ["config", "zones"], []))]

_reserved contains lower(name) if {
	some name in _array(object.get(input, ["config", "reserved_hostnames"], []))
	contains(name, ".")
}

_reserved contains sprintf("%s.%s", [lower(label), zone]) if {
	some label in _array(object.get(input, ["config", "reserved_hostnames"], []))
	not contains(label, ".")
	some zone in _zones
}

_platform(host) := name if {
	some name in _reserved
	lower(host) == name
}

_platform(host) := name if {
	some name in _reserved
	endswith(lower(host), concat("", [".", name]))
}

# [object index, path below the object, hostname] of every name handed out.
_hosts contains [i, ["spec", "dnsNames", j], host] if {
	some i, item in _array(input.objects)
	item.object.kind == "Certificate"
	some j, host in _array(item.object.spec.dnsNames)
}

_hosts contains [i, ["spec", "endpoints", j, "dnsName"], endpoint.dnsName] if {
	some i, item in _array(input.objects)
	item.object.kind == "DNSEndpoint"
	some j, endpoint in _array(item.object.spec.endpoints)
}

# METADATA
# title: Platform hostname rendered for a tenant
# description: |
#   A rendered Certificate or DNS record names a platform
#   hostname (vault.<zone>, argocd.<zone>, ... or a name under one): the tenant
#   would get the platform's certificate, DNS name or Ingress host. Fix: remove
#   the domain from the tenant.
# scope: rule
# custom:
#   code: rendered-reserved-hostname
#   severity: error
deny contains v if {
	some [i, below, host] in _hosts
	name := _platform(host)
	item := input.objects[i]
	v := {
		"code": "rendered-reserved-hostname",
		"msg": sprintf("%s \"%s\" names %s, the platform hostname %s (or under it)", [item.object.kind, item.object.metadata.name, host, name]),
		"path": array.concat(["objects", i, "object"], below),
	}
}
