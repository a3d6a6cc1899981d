# METADATA
# title: Power-user RBAC
# description: |
#   Audits the rendered Kubernetes RBAC, not the inputs: input is
#   `{"objects": [{"file", "object"}], "config"}`. A power-user is a subject of
#   a ClusterRoleBinding or RoleBinding labelled `tenancy.io/tier: power-user`.
#   Every role such a binding refers to must be rendered by tenancy and must be
#   read-only without Secrets, exec, attach, port-forward, token minting or
#   wildcards (ADR-0005: power-users get cluster-wide read and nothing more).
package power_user_rbac

_objects := object.get(input, "objects", [])

_binding_kinds := {"ClusterRoleBinding", "RoleBinding"}

_read_verbs := {"get", "list", "watch"}

# Named grants that reveal secrets or give a shell or token, whatever the verb.
_sensitive_resources := {"secrets", "pods/exec", "pods/attach", "pods/portforward", "serviceaccounts/token"}

_power_user_bindings contains i if {
	some i, item in _objects
	item.object.kind in _binding_kinds
	object.get(item.object, ["metadata", "labels", "tenancy.io/tier"], "") == "power-user"
}

_cluster_roles[name] contains i if {
	some i, item in _objects
	item.object.kind == "ClusterRole"
	name := item.object.metadata.name
}

_roles[key] contains i if {
	some i, item in _objects
	item.object.kind == "Role"
	key := [object.get(item.object.metadata, "namespace", ""), item.object.metadata.name]
}

# Indices of the role objects that binding b refers to.
_bound_roles(b) := _cluster_roles[binding.roleRef.name] if {
	binding := _objects[b].object
	binding.roleRef.kind == "ClusterRole"
}

_bound_roles(b) := _roles[[object.get(binding.metadata, "namespace", ""), binding.roleRef.name]] if {
	binding := _objects[b].object
	binding.kind == "RoleBinding"
	binding.roleRef.kind == "Role"
}

# Role index -> the power-user bindings that refer to it, built in one pass.
_power_user_binders[r] contains b if {
	some b in _power_user_bindings
	some r in _bound_roles(b)
}

# Every rule of a power-user role, with the first binding as the related place.
_rules contains [r, j, rule, first] if {
	some r, binders in _power_user_binders
	first := min(binders)
	some j, rule in object.get(_objects[r].object, "rules", [])
}

_role_name(r) := sprintf("%s \"%s\"", [_objects[r].object.kind, _objects[r].object.metadata.name])

_binding_name(b) := _objects[b].object.metadata.name

_rule_path(r, j, field, k) := ["objects", r, "object", "rules", j, field, k]

_role_ref_path(b) := ["objects", b, "object", "roleRef"]

_forbidden_resource(resource) if resource in _sensitive_resources

_forbidden_resource(resource) if contains(resource, "*")

# METADATA
# title: Power-user role grants forbidden access
# description: |
#   A role bound to power-users may not name `secrets`, `pods/exec`,
#   `pods/attach`, `pods/portforward` or `serviceaccounts/token`, and may not
#   use a wildcard `*` in resources, verbs or apiGroups. RBAC is allow-only,
#   so Secrets stay out only if no rule grants them; a wildcard grants them
#   implicitly, and exec or a token is as good as every Secret the pod sees.
#   Fix: remove the entry from the role (or bind oidc-power-user-readonly).
# scope: rule
# custom:
#   code: power-user-forbidden-access
#   severity: error
deny contains v if {
	some [r, j, rule, first] in _rules
	some k, resource in object.get(rule, "resources", [])
	_forbidden_resource(resource)
	v := {
		"code": "power-user-forbidden-access",
		"msg": sprintf("%s is bound to power-users (binding \"%s\") and grants access to resource \"%s\"; power-users must not read Secrets, exec, attach, port-forward or mint tokens — remove it", [
			_role_name(r), _binding_name(first), resource,
		]),
		"path": _rule_path(r, j, "resources", k),
		"related": [_role_ref_path(first)],
	}
}

# METADATA
# title: Power-user role grants forbidden access
# description: |
#   A role bound to power-users may not name `secrets`, `pods/exec`,
#   `pods/attach`, `pods/portforward` or `serviceaccounts/token`, and may not
#   use a wildcard `*` in resources, verbs or apiGroups. RBAC is allow-only,
#   so Secrets stay out only if no rule grants them; a wildcard grants them
#   implicitly, and exec or a token is as good as every Secret the pod sees.
#   Fix: remove the entry from the role (or bind oidc-power-user-readonly).
# scope: rule
# custom:
#   code: power-user-forbidden-access
#   severity: error
deny contains v if {
	some [r, j, rule, first] in _rules
	some field in ["verbs", "apiGroups"]
	some k, value in object.get(rule, field, [])
	value == "*"
	v := {
		"code": "power-user-forbidden-access",
		"msg": sprintf("%s is bound to power-users (binding \"%s\") and uses the wildcard \"*\" in %s, which includes Secrets and exec; list the allowed entries explicitly", [
			_role_name(r), _binding_name(first), field,
		]),
		"path": _rule_path(r, j, field, k),
		"related": [_role_ref_path(first)],
	}
}

# METADATA
# title: Power-user role grants a write verb
# description: |
#   Power-users are read-only: a role bound to them may only use the verbs
#   get, list and watch. Any other verb (create, update, patch, delete,
#   deletecollection, bind, escalate, impersonate, ...) lets them change the
#   cluster. The wildcard `*` is reported as forbidden access. Fix: remove
#   the verb from the role.
# scope: rule
# custom:
#   code: power-user-write-verb
#   severity: error
deny contains v if {
	some [r, j, rule, first] in _rules
	some k, verb in object.get(rule, "verbs", [])
	not verb in _read_verbs
	verb != "*"
	v := {
		"code": "power-user-write-verb",
		"msg": sprintf("%s is bound to power-users (binding \"%s\") and grants verb \"%s\"; power-users are read-only (get, list, watch) — remove it", [
			_role_name(r), _binding_name(first), verb,
		]),
		"path": _rule_path(r, j, "verbs", k),
		"related": [_role_ref_path(first)],
	}
}

# METADATA
# title: Power-user bound to a role not rendered by tenancy
# description: |
#   A power-user binding must refer to a role defined in the rendered
#   objects, so that its rules are audited here. Built-in ClusterRoles such as
#   `view`, `edit`, `admin` or `cluster-admin`, and roles made by hand, escape
#   the audit (`view` and `edit` include more than power-users may have). Fix:
#   bind the rendered oidc-power-user-readonly ClusterRole.
# scope: rule
# custom:
#   code: power-user-builtin-role
#   severity: error
deny contains v if {
	some b in _power_user_bindings
	not _power_user_binds_rendered_role(b)
	binding := _objects[b].object
	v := {
		"code": "power-user-builtin-role",
		"msg": sprintf("power-user %s \"%s\" refers to %s \"%s\", which is not defined in the rendered objects (a built-in or hand-made role escapes the audit); bind a role rendered by tenancy", [
			binding.kind, binding.metadata.name, binding.roleRef.kind, binding.roleRef.name,
		]),
		"path": ["objects", b, "object", "roleRef", "name"],
	}
}

_power_user_binds_rendered_role(b) if {
	some _ in _bound_roles(b)
}
