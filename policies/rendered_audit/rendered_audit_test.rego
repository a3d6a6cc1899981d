package rendered_audit_test

import data.rendered_audit

_rules_namespace_owner := [
	{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
	{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings", "roles"], "verbs": ["get", "list", "watch"]},
]

_rules_power_user := [{"apiGroups": ["", "apps"], "resources": ["pods", "deployments"], "verbs": ["get", "list", "watch"]}]

_cluster_role(name, rules) := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}

_binding(kind, name, tenant, role, user) := {
	"apiVersion": "rbac.authorization.k8s.io/v1",
	"kind": kind,
	"metadata": {"name": name, "labels": {"tenancy.io/tenant": tenant}},
	"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
	"subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
}

_role_binding(namespace, tenant, user) := object.union(
	_binding("RoleBinding", concat("-", ["tenancy-namespace-owner", tenant]), tenant, "tenancy-namespace-owner", user),
	{"metadata": {"namespace": namespace}},
)

_objects := [
	_cluster_role("tenancy-namespace-owner", _rules_namespace_owner),
	_cluster_role("tenancy-power-user", _rules_power_user),
	_binding("ClusterRoleBinding", "tenancy-admin-ada", "ada", "cluster-admin", "ada@example.org"),
	_binding("ClusterRoleBinding", "tenancy-power-user-brin", "brin", "tenancy-power-user", "brin.k@example.org"),
	_role_binding("cleo", "cleo", "cleo98@example.org"),
	_role_binding("cleo-books", "cleo", "cleo98@example.org"),
	{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cleo", "labels": {"tenancy.io/tenant": "cleo"}}},
]

_workstation(os_user, owner, tier) := {
	"name": concat("-", ["workstation-claude", os_user]),
	"owner": owner,
	"tier": tier,
	"paths": [
		{"path": "auth/token/lookup-self", "capabilities": ["read"]},
		{"path": "auth/token/renew-self", "capabilities": ["update"]},
		{"path": concat("/", ["secret/data/workstation/claude-users", os_user]), "capabilities": ["create", "read", "update"]},
	],
}

_vault_policies := [
	{"name": "namespace-owner-cleo", "owner": "cleo", "tier": "namespace-owner", "paths": [
		{"path": "kubernetes/creds/cleo-deployer", "capabilities": ["read"]},
		{"path": "secret/data/cleo", "capabilities": ["create", "read", "update"]},
		{"path": "secret/data/cleo/*", "capabilities": ["create", "delete", "list", "read", "update"]},
		{"path": "secret/metadata/cleo/*", "capabilities": ["delete", "list", "read"]},
	]},
	_workstation("cleom", "cleom", "namespace-owner"),
	_workstation("ada", "ada", "admin"),
]

_vault_roles := [{
	"name": "cleo-deployer",
	"owner": "cleo",
	"bound_service_account_names": ["woodpecker-deployer"],
	"bound_service_account_namespaces": ["woodpecker"],
	"policies": ["namespace-owner-cleo"],
	"token_ttl": "1h",
	"token_max_ttl": "1h",
	"audience": "vault",
}]

_input := {
	"objects": [{"file": sprintf("kubernetes/%d.yaml", [i]), "object": o} | some i, o in _objects],
	"vault_policies": [object.union(p, {"file": sprintf("vault/policies/%s.hcl", [p.name])}) | some p in _vault_policies],
	"vault_roles": [object.union(r, {"file": sprintf("vault/kubernetes-auth/role-%s.yaml", [r.name])}) | some r in _vault_roles],
	"tenants": {
		"ada": {"tier": "admin", "namespaces": [], "identity": "ada@example.org"},
		"brin": {"tier": "power-user", "namespaces": [], "identity": "brin.k@example.org"},
		"cleo": {"tier": "namespace-owner", "namespaces": ["cleo", "cleo-books"], "identity": "cleo98@example.org"},
	},
	"config": {"admins": ["ada"]},
}

_patched(ops) := json.patch(_input, ops)

_found(result) := {[v.code, v.path] | some v in result}

_with_rule(rule) := _patched([{"op": "replace", "path": "/objects/1/object/rules/0", "value": rule}])

_with_vault_path(policy, path, capabilities) := _patched([{"op": "add", "path": sprintf("/vault_policies/%d/paths/-", [policy]), "value": {"path": path, "capabilities": capabilities}}])

test_fixture_is_clean if {
	count(rendered_audit.deny) == 0 with input as _input
}

test_empty_inputs_are_clean if {
	count(rendered_audit.deny) == 0 with input as {}
	count(rendered_audit.deny) == 0 with input as {"objects": null, "vault_policies": null, "vault_roles": null, "tenants": null, "config": null}
	count(rendered_audit.deny) == 0 with input as {"objects": [{"file": "x.yaml", "object": null}], "vault_policies": [null], "vault_roles": [null]}
	count(rendered_audit.deny) == 0 with input as {"vault_policies": [{"paths": [null, {"path": 5, "capabilities": null}, {"path": "x", "capabilities": "sudo"}]}]}
	count(rendered_audit.deny) == 0 with input as {"roster": {"users": {}}, "k8s_users": {}}
}

test_rbac_wildcard if {
	result := rendered_audit.deny with input as _with_rule({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "*"]})
	result == {{
		"code": "rbac-wildcard",
		"msg": "ClusterRole \"tenancy-power-user\" grants \"*\" in verbs, which includes every present and future one (Secrets, escalate, impersonate, ...); list what is needed instead",
		"path": ["objects", 1, "object", "rules", 0, "verbs", 1],
	}}
}

test_rbac_wildcard_in_every_field if {
	result := rendered_audit.deny with input as _with_rule({"apiGroups": ["*"], "resources": ["pods", "*/scale"], "verbs": ["*"]})
	_found(result) == {
		["rbac-wildcard", ["objects", 1, "object", "rules", 0, "apiGroups", 0]],
		["rbac-wildcard", ["objects", 1, "object", "rules", 0, "resources", 1]],
		["rbac-wildcard", ["objects", 1, "object", "rules", 0, "verbs", 0]],
	}
}

test_builtin_cluster_admin_is_exempt_but_not_a_role_of_that_name if {
	everything := [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
	role := {"kind": "Role", "metadata": {"name": "cluster-admin", "namespace": "cleo"}, "rules": everything}
	objects := [{"op": "add", "path": "/objects/-", "value": {"file": "a.yaml", "object": _cluster_role("cluster-admin", everything)}}]
	count(rendered_audit.deny) == 0 with input as _patched(objects)
	result := rendered_audit.deny with input as _patched([{"op": "add", "path": "/objects/-", "value": {"file": "b.yaml", "object": role}}])
	_found(result) == {["rbac-wildcard", ["objects", 7, "object", "rules", 0, field, 0]] | some field in ["apiGroups", "resources", "verbs"]}
}

test_cluster_admin_for_non_admin if {
	result := rendered_audit.deny with input as _patched([{"op": "replace", "path": "/objects/3/object/roleRef/name", "value": "cluster-admin"}])
	result == {{
		"code": "rbac-cluster-admin-not-allowed",
		"msg": concat("", [
			"ClusterRoleBinding \"tenancy-power-user-brin\" binds ClusterRole cluster-admin to User \"brin.k@example.org\", not the identity of an admin-tier tenant; ",
			"only admins may have cluster-admin, so bind a tenancy role instead",
		]),
		"path": ["objects", 3, "object", "subjects", 0],
		"related": [["objects", 3, "object", "roleRef", "name"]],
	}}
}

test_cluster_admin_for_admin_not_on_allow_list if {
	result := rendered_audit.deny with input as _patched([{"op": "replace", "path": "/config/admins", "value": ["brin"]}])
	result == {{
		"code": "rbac-cluster-admin-not-allowed",
		"msg": concat("", [
			"ClusterRoleBinding \"tenancy-admin-ada\" binds ClusterRole cluster-admin to User \"ada@example.org\", an admin-tier tenant missing from the `admins` allow-list in tenancy.yaml; ",
			"add it there or give it another role",
		]),
		"path": ["objects", 2, "object", "subjects", 0],
		"related": [["objects", 2, "object", "roleRef", "name"]],
	}}
}

test_cluster_admin_without_allow_list_is_for_every_admin if {
	promoted := _patched([
		{"op": "replace", "path": "/config/admins", "value": null},
		{"op": "replace", "path": "/tenants/brin/tier", "value": "admin"},
		{"op": "replace", "path": "/objects/3/object/roleRef/name", "value": "cluster-admin"},
	])
	count(rendered_audit.deny) == 0 with input as promoted
	count(rendered_audit.deny) == 0 with input as object.remove(promoted, ["config"])
}

test_cluster_admin_subjects_and_role_bindings if {
	subjects := [
		{"kind": "User", "name": "ada@example.org"},
		{"kind": "Group", "name": "ada@example.org"},
		{"kind": "Group", "name": "system:masters"},
		{"kind": "ServiceAccount", "name": "default", "namespace": "kube-system"},
		{"kind": "User", "name": "someone@example.org"},
		{"kind": "User", "name": "cleo98@example.org"},
	]
	result := rendered_audit.deny with input as _patched([
		{"op": "replace", "path": "/objects/2/object/subjects", "value": subjects},
		{"op": "replace", "path": "/objects/4/object/roleRef/name", "value": "cluster-admin"},
	])
	_found(result) == {
		["rbac-cluster-admin-not-allowed", ["objects", 2, "object", "subjects", 1]],
		["rbac-cluster-admin-not-allowed", ["objects", 2, "object", "subjects", 2]],
		["rbac-cluster-admin-not-allowed", ["objects", 2, "object", "subjects", 3]],
		["rbac-cluster-admin-not-allowed", ["objects", 2, "object", "subjects", 4]],
		["rbac-cluster-admin-not-allowed", ["objects", 2, "object", "subjects", 5]],
		["rbac-cluster-admin-not-allowed", ["objects", 4, "object", "subjects", 0]],
	}
}

test_escalation_verb if {
	result := rendered_audit.deny with input as _with_rule({"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["get", "impersonate"]})
	result == {{
		"code": "rbac-escalation",
		"msg": "ClusterRole \"tenancy-power-user\" grants verb \"impersonate\", which lets the holder act with permissions it was not granted; remove it from the rule",
		"path": ["objects", 1, "object", "rules", 0, "verbs", 1],
		"related": [["objects", 1, "object", "rules", 0, "resources"]],
	}}
}

test_escalation_verb_table if {
	every verb in ["escalate", "bind", "impersonate"] {
		result := rendered_audit.deny with input as _with_rule({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": [verb]})
		_found(result) == {["rbac-escalation", ["objects", 1, "object", "rules", 0, "verbs", 0]]}
	}
}

test_rbac_write if {
	result := rendered_audit.deny with input as _patched([{"op": "replace", "path": "/objects/0/object/rules/1/verbs", "value": ["get", "create", "list"]}])
	result == {{
		"code": "rbac-escalation",
		"msg": "ClusterRole \"tenancy-namespace-owner\" grants \"create\" on rolebindings, roles, which lets the holder bind itself any role; RBAC objects may only be read; remove it from the rule",
		"path": ["objects", 0, "object", "rules", 1, "verbs", 1],
		"related": [["objects", 0, "object", "rules", 1, "resources", 0], ["objects", 0, "object", "rules", 1, "resources", 1]],
	}}
}

test_rbac_write_table if {
	every verb in ["create", "update", "patch"] {
		every resource in ["roles", "rolebindings", "clusterroles", "clusterrolebindings"] {
			result := rendered_audit.deny with input as _with_rule({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["pods", resource], "verbs": ["get", verb]})
			{[v.code, v.path, v.related] | some v in result} == {[
				"rbac-escalation",
				["objects", 1, "object", "rules", 0, "verbs", 1],
				[["objects", 1, "object", "rules", 0, "resources", 1]],
			]}
		}
	}
}

test_rbac_read_delete_and_other_writes_pass if {
	every rule in [
		{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "clusterrolebindings"], "verbs": ["get", "list", "watch", "delete", "deletecollection"]},
		{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["create", "update", "patch"]},
	] {
		count(rendered_audit.deny) == 0 with input as _with_rule(rule)
	}
}

test_binding_outside_namespaces if {
	result := rendered_audit.deny with input as _patched([{"op": "replace", "path": "/objects/5/object/metadata/namespace", "value": "dara"}])
	result == {{
		"code": "rbac-binding-outside-owner-namespaces",
		"msg": concat("", [
			"RoleBinding \"tenancy-namespace-owner-cleo\" is labelled for tenant \"cleo\" and is in namespace \"dara\", which is not one of that tenant's namespaces in k8s_users; ",
			"move the binding or fix its label",
		]),
		"path": ["objects", 5, "object", "metadata", "namespace"],
		"related": [["objects", 5, "object", "metadata", "labels", "tenancy.io/tenant"]],
	}}
}

test_binding_of_another_identity if {
	result := rendered_audit.deny with input as _patched([{"op": "replace", "path": "/objects/4/object/subjects/0/name", "value": "brin.k@example.org"}])
	result == {{
		"code": "rbac-binding-outside-owner-namespaces",
		"msg": concat("", [
			"RoleBinding \"tenancy-namespace-owner-cleo\" is labelled for tenant \"cleo\" but binds User \"brin.k@example.org\"; ",
			"only the tenant's identity User \"cleo98@example.org\" may be bound in its namespaces, so bind that User or fix the label",
		]),
		"path": ["objects", 4, "object", "subjects", 0],
		"related": [["objects", 4, "object", "metadata", "labels", "tenancy.io/tenant"]],
	}}
}

test_binding_subjects_other_than_the_identity if {
	subjects := [
		{"kind": "User", "name": "cleo98@example.org"},
		{"kind": "Group", "name": "cleo98@example.org"},
		{"kind": "ServiceAccount", "name": "default", "namespace": "cleo"},
		{"name": "cleo98@example.org"},
	]
	result := rendered_audit.deny with input as _patched([{"op": "replace", "path": "/objects/4/object/subjects", "value": subjects}])
	_found(result) == {["rbac-binding-outside-owner-namespaces", ["objects", 4, "object", "subjects", s]] | some s in [1, 2, 3]}
}

test_binding_of_unknown_tenant if {
	result := rendered_audit.deny with input as _patched([{"op": "replace", "path": "/objects/4/object/metadata/labels/tenancy.io~1tenant", "value": "zed"}])
	result == {{
		"code": "rbac-binding-outside-owner-namespaces",
		"msg": concat("", [
			"RoleBinding \"tenancy-namespace-owner-cleo\" is labelled for tenant \"zed\" and is in namespace \"cleo\", but that tenant is not in k8s_users and owns no namespaces; ",
			"remove the binding or fix its label",
		]),
		"path": ["objects", 4, "object", "metadata", "namespace"],
		"related": [["objects", 4, "object", "metadata", "labels", "tenancy.io/tenant"]],
	}}
}

test_unlabelled_and_cluster_bindings_are_not_tenant_bindings if {
	result := rendered_audit.deny with input as _patched([
		{"op": "remove", "path": "/objects/4/object/metadata/labels"},
		{"op": "replace", "path": "/objects/4/object/metadata/namespace", "value": "monitoring"},
		{"op": "replace", "path": "/objects/3/object/subjects/0/name", "value": "cleo98@example.org"},
		{"op": "replace", "path": "/objects/5/object/metadata/namespace", "value": "dara"},
	])
	_found(result) == {["rbac-binding-outside-owner-namespaces", ["objects", 5, "object", "metadata", "namespace"]]}
}

test_vault_sudo_even_for_admins if {
	result := rendered_audit.deny with input as _patched([{"op": "add", "path": "/vault_policies/2/paths/2/capabilities/-", "value": "sudo"}])
	result == {{
		"code": "vault-sudo",
		"msg": "Vault policy \"workstation-claude-ada\" grants sudo on \"secret/data/workstation/claude-users/ada\", which opens root-protected endpoints; remove the capability",
		"path": ["vault_policies", 2, "paths", 2, "capabilities", 3],
	}}
}

test_vault_privileged_path if {
	result := rendered_audit.deny with input as _with_vault_path(0, "sys/policies/acl/cleo", ["read", "update"])
	result == {{
		"code": "vault-privileged-path",
		"msg": concat("", [
			"Vault policy \"namespace-owner-cleo\" grants \"update\" on \"sys/policies/acl/cleo\"; ",
			"a non-admin may only read under sys/ and identity/, where writes change policies, mounts or entities (a self-grant), so remove the capability",
		]),
		"path": ["vault_policies", 0, "paths", 4, "capabilities", 1],
	}}
}

test_vault_auth_write if {
	result := rendered_audit.deny with input as _with_vault_path(1, "auth/kubernetes/role/cleo-deployer", ["read", "create"])
	result == {{
		"code": "vault-privileged-path",
		"msg": concat("", [
			"Vault policy \"workstation-claude-cleom\" grants \"create\" on \"auth/kubernetes/role/cleo-deployer\"; ",
			"writes under auth/ create or change login roles and tokens (a self-grant), and a non-admin may only renew its own token, so remove the capability",
		]),
		"path": ["vault_policies", 1, "paths", 3, "capabilities", 1],
	}}
}

test_vault_privileged_path_table if {
	every row in [
		["sys/mounts", ["list", "create", "deny", "read"], [0, 1]],
		["sys", ["update"], [0]],
		["identity/entity/name/cleo", ["update", "read"], [0]],
		["identity/entity-alias/id/x", ["patch"], [0]],
		["auth/token/create", ["update", "read", "list"], [0]],
		["auth/token/renew-self", ["update", "delete"], [1]],
		["auth/token/lookup-self", ["read", "update"], [1]],
		["auth/oidc/role/cleo", ["delete", "patch"], [0, 1]],
		["s*", ["list"], [0]],
		["+/policies/acl/x", ["create"], [0]],
		["ident*", ["read", "list"], [1]],
		["au*", ["read", "update"], [1]],
		["system/x", ["update"], []],
		["authority/x", ["update"], []],
		["sys/health", ["read", "deny"], []],
		["auth/token/lookup-self", ["read", "list"], []],
		["/sys/mounts", ["update"], [0]],
		["*", ["read"], []],
		["sys/mounts", null, []],
	] {
		[path, capabilities, flagged] := row
		result := rendered_audit.deny with input as _with_vault_path(1, path, capabilities)
		_found({v | some v in result; v.code == "vault-privileged-path"}) == {["vault-privileged-path", ["vault_policies", 1, "paths", 3, "capabilities", k]] | some k in flagged}
	}
}

test_vault_privileged_path_allowed_for_admins if {
	every path in ["sys/policies/acl/*", "identity/entity/*", "auth/kubernetes/role/*"] {
		count(rendered_audit.deny) == 0 with input as _with_vault_path(2, path, ["create", "read", "update", "delete", "list"])
	}
}

test_vault_cross_tenant_glob if {
	result := rendered_audit.deny with input as _with_vault_path(0, "secret/data/*", ["read"])
	result == {{
		"code": "vault-cross-tenant-glob",
		"msg": concat("", [
			"Vault policy \"namespace-owner-cleo\" (owner \"cleo\") grants the glob path \"secret/data/*\", which is not under the owner's own prefix and so matches other tenants' paths; ",
			"write the owner's prefix in full before any * or +",
		]),
		"path": ["vault_policies", 0, "paths", 4, "path"],
	}}
}

test_vault_cross_tenant_glob_table if {
	every row in [
		[0, 4, "secret/data/+/config", true],
		[0, 4, "secret/data/cle*", true],
		[0, 4, "secret/data/cleo*", true],
		[0, 4, "secret/data/cleo-books/*", true],
		[0, 4, "secret/metadata/*", true],
		[0, 4, "secret/*", true],
		[0, 4, "secret/data/dara/*", true],
		[0, 4, "kubernetes/creds/cleo-*", true],
		[0, 4, "secret/data/workstation/claude-users/*", true],
		[0, 4, "secret/data/workstation/claude-users/cleom/*", true],
		[1, 3, "secret/data/workstation/claude-users/+/token", true],
		[1, 3, "secret/data/workstation/claude-users/cleo*", true],
		[1, 3, "secret/data/workstation/claude-users/ada/*", true],
		[0, 4, "secret/data/cleo/*", false],
		[0, 4, "secret/data/cleo/+/config", false],
		[0, 4, "secret/metadata/cleo/apps/*", false],
		[0, 4, "secret/data/cleo/plain", false],
		[1, 3, "secret/data/workstation/claude-users/cleom/*", false],
		[1, 3, "secret/metadata/workstation/claude-users/cleom/+", false],
		[0, 4, "secret/data/a\"b/*", true],
		[0, 4, "secret/data/x\n*", true],
		[0, 4, "secret/data/cleo/\"x\"/*", false],
		[2, 3, "secret/data/*", false],
	] {
		[policy, n, path, crosses] := row
		result := rendered_audit.deny with input as _with_vault_path(policy, path, ["read"])
		crossing := {v.path | some v in result; v.code == "vault-cross-tenant-glob"}
		crossing == {["vault_policies", policy, "paths", n, "path"] | crosses == true}
	}
}

test_vault_glob_in_owner_name if {
	globbed := _patched([
		{"op": "replace", "path": "/vault_policies/0/owner", "value": "cle*"},
		{"op": "replace", "path": "/vault_policies/1/name", "value": "workstation-claude-cle*"},
	])
	result := rendered_audit.deny with input as json.patch(globbed, [
		{"op": "add", "path": "/vault_policies/0/paths/-", "value": {"path": "secret/data/cle*", "capabilities": ["read"]}},
		{"op": "add", "path": "/vault_policies/1/paths/-", "value": {"path": "secret/data/workstation/claude-users/cle*", "capabilities": ["read"]}},
	])

	# The owner's own globs no longer match it either.
	{v.path | some v in result} == {["vault_policies", 0, "paths", j, "path"] | some j in [2, 3, 4]} | {["vault_policies", 1, "paths", 3, "path"]}
}

test_vault_glob_in_policy_without_owner if {
	ownerless := _patched([
		{"op": "replace", "path": "/vault_policies/0/owner", "value": null},
		{"op": "replace", "path": "/vault_policies/0/tier", "value": null},
	])
	result := rendered_audit.deny with input as ownerless
	{[v.path, v.msg] | some v in result} == {
		[["vault_policies", 0, "paths", 2, "path"], concat("", [
			"Vault policy \"namespace-owner-cleo\" (owner null) grants the glob path \"secret/data/cleo/*\", which is not under the owner's own prefix and so matches other tenants' paths; ",
			"write the owner's prefix in full before any * or +",
		])],
		[["vault_policies", 0, "paths", 3, "path"], concat("", [
			"Vault policy \"namespace-owner-cleo\" (owner null) grants the glob path \"secret/metadata/cleo/*\", which is not under the owner's own prefix and so matches other tenants' paths; ",
			"write the owner's prefix in full before any * or +",
		])],
	}
}

test_vault_wildcard_service_account if {
	result := rendered_audit.deny with input as _patched([{"op": "replace", "path": "/vault_roles/0/bound_service_account_names", "value": ["*"]}])
	result == {{
		"code": "vault-wildcard-service-account",
		"msg": concat("", [
			"Vault role \"cleo-deployer\" accepts the service account name \"*\", so service accounts the tenant does not control can log in with its policies; ",
			"list each service account name by name",
		]),
		"path": ["vault_roles", 0, "bound_service_account_names", 0],
	}}
}

test_vault_empty_service_account_namespaces if {
	result := rendered_audit.deny with input as _patched([{"op": "replace", "path": "/vault_roles/0/bound_service_account_namespaces", "value": []}])
	result == {{
		"code": "vault-wildcard-service-account",
		"msg": concat("", [
			"Vault role \"cleo-deployer\" has an empty or missing bound_service_account_namespaces, so service accounts the tenant does not control can log in with its policies; ",
			"list each namespace by name",
		]),
		"path": ["vault_roles", 0, "bound_service_account_namespaces"],
	}}
}

test_vault_service_account_table if {
	names := "/vault_roles/0/bound_service_account_names"
	namespaces := "/vault_roles/0/bound_service_account_namespaces"
	every row in [
		[[{"op": "replace", "path": namespaces, "value": ["woodpecker", "*"]}], [["bound_service_account_namespaces", 1]]],
		[[{"op": "replace", "path": names, "value": ["deployer-*", "woodpecker-deployer"]}], [["bound_service_account_names", 0]]],
		[[{"op": "remove", "path": names}], [["bound_service_account_names"]]],
		[[{"op": "replace", "path": namespaces, "value": null}], [["bound_service_account_namespaces"]]],
		[[{"op": "replace", "path": names, "value": []}, {"op": "replace", "path": namespaces, "value": ["*"]}], [["bound_service_account_names"], ["bound_service_account_namespaces", 0]]],
		[[{"op": "replace", "path": names, "value": ["a", "b"]}], []],
	] {
		[ops, paths] := row
		result := rendered_audit.deny with input as _patched(ops)
		_found(result) == {["vault-wildcard-service-account", array.concat(["vault_roles", 0], path)] | some path in paths}
	}
}
