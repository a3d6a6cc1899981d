package endpoints_rbac_test

import data.endpoints_rbac

_role(rule) := {"objects": [
	{"file": "x.yaml", "object": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cleo"}}},
	{"file": "r.yaml", "object": {
		"apiVersion": "rbac.authorization.k8s.io/v1",
		"kind": "ClusterRole",
		"metadata": {"name": "tenancy-namespace-owner"},
		"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}, rule],
	}},
]}

test_every_write_of_either_resource_fires if {
	every verb in ["create", "update", "patch"] {
		every resource in ["endpoints", "endpointslices"] {
			result := endpoints_rbac.deny with input as _role({"apiGroups": ["", "discovery.k8s.io"], "resources": ["pods", resource], "verbs": ["get", verb]})
			{[v.code, v.path, v.related] | some v in result} == {[
				"rbac-endpoints-write",
				["objects", 1, "object", "rules", 1, "verbs", 1],
				[["objects", 1, "object", "rules", 1, "resources"]],
			]}
		}
	}
}

test_message if {
	result := endpoints_rbac.deny with input as _role({"apiGroups": [""], "resources": ["endpoints"], "verbs": ["patch"]})
	{v.msg | some v in result} == {"ClusterRole \"tenancy-namespace-owner\" grants \"patch\" on endpoints, which can point a Service at another tenant's pods; grant read only"}
}

test_read_and_delete_are_quiet if {
	result := endpoints_rbac.deny with input as _role({"apiGroups": ["", "discovery.k8s.io"], "resources": ["endpoints", "endpointslices"], "verbs": ["get", "list", "watch", "delete"]})
	result == set()
}

test_no_objects_is_quiet if {
	result := endpoints_rbac.deny with input as {"objects": null}
	result == set()
}
