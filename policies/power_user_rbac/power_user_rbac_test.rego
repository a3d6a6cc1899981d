package power_user_rbac_test

import data.power_user_rbac

_readonly_rules := [
	{"apiGroups": [""], "resources": ["pods", "pods/log", "services", "configmaps", "events", "namespaces", "nodes"], "verbs": ["get", "list", "watch"]},
	{"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["get", "list", "watch"]},
]

_cluster_role(name, rules) := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}

_binding(kind, name, tier, ref_kind, ref_name) := {
	"apiVersion": "rbac.authorization.k8s.io/v1",
	"kind": kind,
	"metadata": {"name": name, "labels": {"tenancy.io/tier": tier}},
	"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref_name},
	"subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "someone@example.org"}],
}

_objects := [
	_cluster_role("oidc-power-user-readonly", _readonly_rules),
	_binding("ClusterRoleBinding", "oidc-power-user-readonly-brin", "power-user", "ClusterRole", "oidc-power-user-readonly"),
	_binding("ClusterRoleBinding", "oidc-power-user-readonly-emil", "power-user", "ClusterRole", "oidc-power-user-readonly"),
	_cluster_role("oidc-power-user", [{"apiGroups": [""], "resources": ["secrets", "pods/exec"], "verbs": ["get", "create"]}]),
	_binding("ClusterRoleBinding", "oidc-admin-ada", "admin", "ClusterRole", "cluster-admin"),
	object.union(
		_binding("RoleBinding", "namespace-owner-cleo", "namespace-owner", "ClusterRole", "admin"),
		{"metadata": {"namespace": "cleo"}},
	),
]

_inp(objects) := {"objects": [{"file": sprintf("manifests/%d.yaml", [i]), "object": o} | some i, o in objects], "config": {}}

# The fixture with rule 0 of the power-user ClusterRole replaced.
_with_rule(rule) := _inp(json.patch(_objects, [{"op": "replace", "path": "/0/rules/0", "value": rule}]))

_codes(result, code) := {v | some v in result; v.code == code}

test_fixture_is_clean if {
	count(power_user_rbac.deny) == 0 with input as _inp(_objects)
}

test_empty_inputs_are_clean if {
	count(power_user_rbac.deny) == 0 with input as _inp([])
	count(power_user_rbac.deny) == 0 with input as {}
	count(power_user_rbac.deny) == 0 with input as {"roster": {"users": {}}, "k8s_users": {}}
}

test_forbidden_resource if {
	result := power_user_rbac.deny with input as _with_rule({"apiGroups": [""], "resources": ["pods", "configmaps", "secrets"], "verbs": ["get"]})
	result == {{
		"code": "power-user-forbidden-access",
		"msg": "ClusterRole \"oidc-power-user-readonly\" grants \"secrets\" to power-users (binding \"oidc-power-user-readonly-brin\"); they may not read Secrets, exec, attach, port-forward or mint tokens",
		"path": ["objects", 0, "object", "rules", 0, "resources", 2],
		"related": [["objects", 1, "object", "roleRef"]],
	}}
}

test_forbidden_resource_table if {
	every resource in ["secrets", "pods/exec", "pods/attach", "pods/portforward", "serviceaccounts/token", "nodes/proxy", "pods/ephemeralcontainers", "*", "pods/*", "*/exec"] {
		result := power_user_rbac.deny with input as _with_rule({"apiGroups": [""], "resources": [resource], "verbs": ["get"]})
		{[v.code, v.path] | some v in result} == {["power-user-forbidden-access", ["objects", 0, "object", "rules", 0, "resources", 0]]}
	}
}

test_wildcard_verb_and_api_group if {
	result := power_user_rbac.deny with input as _with_rule({"apiGroups": ["apps", "*"], "resources": ["deployments"], "verbs": ["*"]})
	result == {
		{
			"code": "power-user-forbidden-access",
			"msg": "ClusterRole \"oidc-power-user-readonly\" grants \"*\" in verbs to power-users (binding \"oidc-power-user-readonly-brin\"), which includes Secrets and exec; list what is allowed",
			"path": ["objects", 0, "object", "rules", 0, "verbs", 0],
			"related": [["objects", 1, "object", "roleRef"]],
		},
		{
			"code": "power-user-forbidden-access",
			"msg": "ClusterRole \"oidc-power-user-readonly\" grants \"*\" in apiGroups to power-users (binding \"oidc-power-user-readonly-brin\"), which includes Secrets and exec; list what is allowed",
			"path": ["objects", 0, "object", "rules", 0, "apiGroups", 1],
			"related": [["objects", 1, "object", "roleRef"]],
		},
	}
}

test_write_verb if {
	result := power_user_rbac.deny with input as _with_rule({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "delete"]})
	result == {{
		"code": "power-user-write-verb",
		"msg": "ClusterRole \"oidc-power-user-readonly\" grants verb \"delete\" to power-users (binding \"oidc-power-user-readonly-brin\"), who are read-only (get, list, watch)",
		"path": ["objects", 0, "object", "rules", 0, "verbs", 3],
		"related": [["objects", 1, "object", "roleRef"]],
	}}
}

test_write_verb_table if {
	every verb in ["create", "update", "patch", "delete", "deletecollection", "bind", "escalate", "impersonate", "Get"] {
		result := power_user_rbac.deny with input as _with_rule({"apiGroups": [""], "resources": ["pods"], "verbs": [verb]})
		{[v.code, v.path] | some v in result} == {["power-user-write-verb", ["objects", 0, "object", "rules", 0, "verbs", 0]]}
	}
}

test_unbound_and_other_tier_roles_are_not_audited if {
	# oidc-power-user grants secrets, exec and create but is bound to nobody;
	# cluster-admin and admin are bound only to other tiers.
	result := power_user_rbac.deny with input as _inp(_objects)
	count(result) == 0
}

test_builtin_role if {
	objects := json.patch(_objects, [{"op": "replace", "path": "/2/roleRef/name", "value": "edit"}])
	result := power_user_rbac.deny with input as _inp(objects)
	result == {{
		"code": "power-user-builtin-role",
		"msg": "power-user ClusterRoleBinding \"oidc-power-user-readonly-emil\" refers to ClusterRole \"edit\", which tenancy does not render and cannot audit; bind a rendered role",
		"path": ["objects", 2, "object", "roleRef", "name"],
	}}
}

test_binding_to_unbound_role_is_audited if {
	objects := json.patch(_objects, [{"op": "replace", "path": "/2/roleRef/name", "value": "oidc-power-user"}])
	result := power_user_rbac.deny with input as _inp(objects)
	{[v.code, v.path, v.related] | some v in result} == {
		["power-user-forbidden-access", ["objects", 3, "object", "rules", 0, "resources", 0], [["objects", 2, "object", "roleRef"]]],
		["power-user-forbidden-access", ["objects", 3, "object", "rules", 0, "resources", 1], [["objects", 2, "object", "roleRef"]]],
		["power-user-write-verb", ["objects", 3, "object", "rules", 0, "verbs", 1], [["objects", 2, "object", "roleRef"]]],
	}
}

_role_binding(namespace, ref_kind, ref_name) := object.union(
	_binding("RoleBinding", "power-user-brin", "power-user", ref_kind, ref_name),
	{"metadata": {"namespace": namespace}},
)

_role(namespace, rules) := {"kind": "Role", "metadata": {"name": "reader", "namespace": namespace}, "rules": rules}

test_role_binding_to_namespaced_role if {
	objects := array.concat(_objects, [
		_role("team", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]),
		_role_binding("team", "Role", "reader"),
	])
	result := power_user_rbac.deny with input as _inp(objects)
	{[v.code, v.path, v.related] | some v in result} == {[
		"power-user-forbidden-access",
		["objects", 6, "object", "rules", 0, "resources", 0],
		[["objects", 7, "object", "roleRef"]],
	]}
}

test_role_binding_to_role_in_other_namespace if {
	objects := array.concat(_objects, [
		_role("team", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]),
		_role_binding("other", "Role", "reader"),
	])
	result := power_user_rbac.deny with input as _inp(objects)
	{[v.code, v.path] | some v in result} == {["power-user-builtin-role", ["objects", 7, "object", "roleRef", "name"]]}
}

test_role_binding_to_rendered_cluster_role_passes if {
	objects := array.concat(_objects, [_role_binding("team", "ClusterRole", "oidc-power-user-readonly")])
	count(power_user_rbac.deny) == 0 with input as _inp(objects)
}

test_unlabelled_binding_is_not_a_power_user if {
	objects := json.patch(_objects, [{"op": "remove", "path": "/2/metadata/labels"}, {"op": "replace", "path": "/2/roleRef/name", "value": "edit"}])
	result := power_user_rbac.deny with input as _inp(objects)
	count(_codes(result, "power-user-builtin-role")) == 0
}
