# METADATA
# title: Power-user RBAC
# description: |
#   Audits the rendered Kubernetes RBAC, not the inputs: input is
#   `{"objects": [{"file", "object"}], "config"}`. A power-user is a subject of
#   a ClusterRoleBinding or RoleBinding labelled `tenancy.io/tier: power-user`.
#   Every role such a binding refers to must be rendered by tenancy and must be
#   read-only without Secrets, exec, attach, port-forward, token minting or
#   wildcards (ADR-0005: power-users get cluster-wide read and nothing more).
# entrypoint: true
# custom:
#   stage: rendered
#   kinds: [ClusterRole, ClusterRoleBinding, Role, RoleBinding]
package power_user_rbac

_binding_kinds := {"ClusterRoleBinding", "RoleBinding"}

_role_kinds := {"ClusterRole", "Role"}

_read_verbs := {"get", "list", "watch"}

# Named grants that reveal secrets or give a shell or token, whatever the verb.
# nodes/proxy reaches the kubelet's API (exec in any pod of the node); ephemeral
# containers are a shell in a running pod (`kubectl debug`).
_sensitive_resources := {
	"secrets", "pods/exec", "pods/attach", "pods/portforward", "serviceaccounts/token",
	"nodes/proxy", "pods/ephemeralcontainers",
}

_power_user_bindings contains i if {
	some i, item in input.objects
	item.object.kind in _binding_kinds
	item.object.metadata.labels["tenancy.io/tier"] == "power-user"
}

# A role is identified by [kind, namespace, name]; ClusterRoles have no
# namespace. A ClusterRoleBinding that refers to a Role names a role that
# cannot exist, so it is reported as not rendered.
_role_key(role) := [role.kind, object.get(role.metadata, "namespace", ""), role.metadata.name] if {
	role.kind == "Role"
}

_role_key(role) := ["ClusterRole", "", role.metadata.name] if {
	role.kind == "ClusterRole"
}

_ref_key(binding) := ["Role", object.get(binding.metadata, "namespace", ""), binding.roleRef.name] if {
	binding.kind == "RoleBinding"
	binding.roleRef.kind == "Role"
}

_ref_key(binding) := [binding.roleRef.kind, "", binding.roleRef.name] if {
	not _namespaced_ref(binding)
}

_namespaced_ref(binding) if {
	binding.kind == "RoleBinding"
	binding.roleRef.kind == "Role"
}

_rendered_roles contains key if {
	some item in input.objects
	item.object.kind in _role_kinds
	key := _role_key(item.object)
}

# [role key, binding index] for every power-user binding, sorted so that the
# first binding of each role comes first (sorting instead of grouping keeps
# this linear in both engines).
_references := sort([[_ref_key(input.objects[b].object), b] | some b in _power_user_bindings])

# Role key -> the first power-user binding that refers to it.
_first_binder[key] := b if {
	some i, [key, b] in _references
	not _references[i - 1][0] == key
}

# Every rule of a rendered role bound to power-users, with the first such
# binding as the related place.
_rules contains [r, j, rule, first] if {
	count(_first_binder) > 0
	some r, item in input.objects
	item.object.kind in _role_kinds
	first := _first_binder[_role_key(item.object)]
	some j, rule in item.object.rules
}

_role_name(r) := sprintf("%s \"%s\"", [input.objects[r].object.kind, input.objects[r].object.metadata.name])

_binding_name(b) := input.objects[b].object.metadata.name

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
		"msg": sprintf("%s grants \"%s\" to power-users (binding \"%s\"); they may not read Secrets, exec, attach, port-forward or mint tokens", [_role_name(r), resource, _binding_name(first)]),
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
		"msg": sprintf("%s grants \"*\" in %s to power-users (binding \"%s\"), which includes Secrets and exec; list what is allowed", [_role_name(r), field, _binding_name(first)]),
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
		"msg": sprintf("%s grants verb \"%s\" to power-users (binding \"%s\"), who are read-only (get, list, watch)", [_role_name(r), verb, _binding_name(first)]),
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
	some [key, b] in _references
	not key in _rendered_roles
	binding := input.objects[b].object
	ref := binding.roleRef
	v := {
		"code": "power-user-builtin-role",
		"msg": sprintf("power-user %s \"%s\" refers to %s \"%s\", which tenancy does not render and cannot audit; bind a rendered role", [binding.kind, binding.metadata.name, ref.kind, ref.name]),
		"path": ["objects", b, "object", "roleRef", "name"],
	}
}
