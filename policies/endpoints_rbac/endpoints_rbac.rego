# METADATA
# title: Endpoints RBAC
# description: |
#   Audits the rendered Kubernetes RBAC: input is `{"objects": [{"file",
#   "object"}], "config"}`. No rendered Role or ClusterRole may write the
#   endpoints a Service sends traffic to.
# entrypoint: true
# custom:
#   stage: rendered
#   kinds: [ClusterRole, Role]
package endpoints_rbac

_role_kinds := {"ClusterRole", "Role"}

_writes := {"create", "update", "patch"}

# Hand-written endpoints point a Service at any pod IP.
_endpoint_resources := {"endpoints", "endpointslices"}

_array(x) := x if is_array(x)

_array(x) := [] if not is_array(x)

_strings(x, field) := [[k, value] | some k, value in _array(object.get(x, field, [])); is_string(value)]

# METADATA
# title: RBAC rule writes endpoints
# description: |
#   A Role or ClusterRole may not create, update or patch `endpoints` or
#   `endpointslices`: a hand-written Endpoints object points a Service, and the
#   ingress controller that serves it, at any pod IP, another tenant's too
#   (CVE-2021-25740; Kubernetes removed these writes from `admin` and `edit` in
#   1.22). Fix: grant get, list and watch only; Services find their pods by
#   selector.
# scope: rule
# custom:
#   code: rbac-endpoints-write
#   severity: error
deny contains v if {
	some i, item in _array(input.objects)
	item.object.kind in _role_kinds
	some j, rule in _array(item.object.rules)
	names := [resource | some [_, resource] in _strings(rule, "resources"); resource in _endpoint_resources]
	count(names) > 0
	some [k, verb] in _strings(rule, "verbs")
	verb in _writes
	v := {
		"code": "rbac-endpoints-write",
		"msg": sprintf("%s \"%s\" grants \"%s\" on %s, which can point a Service at another tenant's pods; grant read only", [item.object.kind, item.object.metadata.name, verb, concat(", ", names)]),
		"path": ["objects", i, "object", "rules", j, "verbs", k],
		"related": [["objects", i, "object", "rules", j, "resources"]],
	}
}
