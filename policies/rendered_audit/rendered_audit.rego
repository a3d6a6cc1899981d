# METADATA
# title: Rendered-output audit
# description: |
#   Audits what people actually get after rendering for risky permissions
#   (reference/anchors.md R4): wildcards, escalation, cluster-admin and
#   cross-tenant RoleBindings in the Kubernetes RBAC; sudo, privileged paths,
#   cross-tenant globs and wildcard service accounts in Vault. Input is
#   `{"objects": [{"file", "object"}], "vault_policies", "vault_roles",
#   "tenants", "config"}`; kinds not audited here are ignored.
# entrypoint: true
# custom:
#   stage: rendered
#   kinds: [ClusterRole, ClusterRoleBinding, Role, RoleBinding]
package rendered_audit

# 10,000 tenants render ~150k objects and ~80k Vault paths, and in regorus each
# statement or call costs a microsecond or more: loops over them stay short.

_rbac_kinds := {"ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding"}

_escalating_verbs := {"escalate", "bind", "impersonate"}

_rbac_writes := {"create", "update", "patch"}

_rbac_resources := {"roles", "rolebindings", "clusterroles", "clusterrolebindings"}

_vault_writes := {"create", "update", "patch", "delete"}

# deny only takes access away, so it is as harmless as read.
_read_only_capabilities := {"read", "deny"}

# Every token may renew itself (and look itself up: a read).
_self_token_grants := {"auth/token/renew-self": {"update"}}

_bound_fields := {"bound_service_account_names": "service account name", "bound_service_account_namespaces": "namespace"}

_array(x) := x if is_array(x)

_array(x) := [] if not is_array(x)

# A missing or null input list is empty (regorus rejects iterating null).
_objects := _array(object.get(input, "objects", []))

_vault_policies := _array(object.get(input, "vault_policies", []))

_vault_roles := _array(object.get(input, "vault_roles", []))

default _tenants := {}

_tenants := tenants if {
	tenants := object.get(input, "tenants", {})
	is_object(tenants)
}

_field(x, path) := object.get(x, path, "?") if is_object(x)

_field(x, _) := "?" if not is_object(x)

_name(obj) := sprintf("%s \"%s\"", [_field(obj, "kind"), _field(obj, ["metadata", "name"])])

_strings(x, field) := [[k, value] | some k, value in _array(object.get(x, field, [])); is_string(value)]

# Indexes of the RBAC objects, found in one pass over all objects.
_rbac := [i | some i, item in _objects; _rbac_kinds[item.object.kind]]

# [object index, rule index, rule] for every rule of every Role and ClusterRole.
_role_rules := [entry |
	some i in _rbac
	role := _objects[i].object
	role.kind in {"ClusterRole", "Role"}
	some j, rule in _array(role.rules)
	is_object(rule)
	entry := [i, j, rule]
]

# The built-in cluster-admin is all wildcards; who is bound to it is audited.
_builtin_cluster_admin(i) if {
	_objects[i].object.kind == "ClusterRole"
	_objects[i].object.metadata.name == "cluster-admin"
}

_rule_path(i, j, field, k) := ["objects", i, "object", "rules", j, field, k]

# [object index, rule index, verb index, why, related paths] for every verb
# that escalates: escalate, bind, impersonate, or a write on RBAC objects.
_escalations contains entry if {
	some [i, j, rule] in _role_rules
	some [k, verb] in _strings(rule, "verbs")
	verb in _escalating_verbs
	why := sprintf("verb \"%s\", which lets the holder act with permissions it was not granted", [verb])
	entry := [i, j, k, why, [["objects", i, "object", "rules", j, "resources"]]]
}

_escalations contains entry if {
	some [i, j, rule] in _role_rules
	rbac := [[n, resource] | some [n, resource] in _strings(rule, "resources"); resource in _rbac_resources]
	count(rbac) > 0
	some [k, verb] in _strings(rule, "verbs")
	verb in _rbac_writes
	names := concat(", ", [resource | some [_, resource] in rbac])
	why := sprintf("\"%s\" on %s, which lets the holder bind itself any role; RBAC objects may only be read", [verb, names])
	entry := [i, j, k, why, [_rule_path(i, j, "resources", m) | some [m, _] in rbac]]
}

_cluster_admin_bindings := [i |
	some i in _rbac
	ref := _objects[i].object.roleRef
	ref.name == "cluster-admin"
	ref.kind == "ClusterRole"
]

# admins is null (every admin-tier tenant may have cluster-admin) or a list.
_admins_restricted if is_array(input.config.admins)

_allowed_keys := {key | some key in input.config.admins} if _admins_restricted

_allowed_keys := object.keys(_tenants) if not _admins_restricted

# [identity, on the allow-list] of every admin-tier tenant.
_admins contains entry if {
	some key, tenant in _tenants
	tenant.tier == "admin"
	identity := tenant.identity
	entry := [identity, key in _allowed_keys]
}

_admin_user(subject, listed) if {
	subject.kind == "User"
	[subject.name, listed] in _admins
}

_cluster_admin_reason(subject) := "an admin-tier tenant missing from the `admins` allow-list in tenancy.yaml; add it there or give it another role" if {
	_admin_user(subject, false)
}

_cluster_admin_reason(subject) := "not the identity of an admin-tier tenant; only admins may have cluster-admin, so bind a tenancy role instead" if {
	not _admin_user(subject, false)
}

# [object index, tenant key, binding] of every RoleBinding labelled with a tenant.
_tenant_role_bindings := [entry |
	some i in _rbac
	binding := _objects[i].object
	binding.kind == "RoleBinding"
	key := binding.metadata.labels["tenancy.io/tenant"]
	entry := [i, key, binding]
]

# [tenant key, namespace] for every namespace a tenant owns.
_owned contains pair if {
	some key, tenant in _tenants
	some namespace in _array(tenant.namespaces)
	pair := [key, namespace]
}

_known_tenant(key) if is_object(_tenants[key])

_outside_reason(key) := "which is not one of that tenant's namespaces in k8s_users; move the binding or fix its label" if _known_tenant(key)

_outside_reason(key) := "but that tenant is not in k8s_users and owns no namespaces; remove the binding or fix its label" if not _known_tenant(key)

# [object index, path below the object, message] for every tenant RoleBinding
# outside the tenant's namespaces, and every subject other than its identity.
_misplaced contains entry if {
	some [i, key, binding] in _tenant_role_bindings
	namespace := object.get(binding.metadata, "namespace", "")
	not [key, namespace] in _owned
	msg := sprintf("%s is labelled for tenant \"%s\" and is in namespace \"%s\", %s", [_name(binding), key, namespace, _outside_reason(key)])
	entry := [i, ["metadata", "namespace"], msg]
}

_misplaced contains entry if {
	some [i, key, binding] in _tenant_role_bindings
	identity := _tenants[key].identity
	is_array(binding.subjects)
	some s, subject in binding.subjects
	object.filter(subject, ["kind", "name"]) != {"kind": "User", "name": identity}
	msg := sprintf(
		"%s is labelled for tenant \"%s\" but binds %s \"%s\"; only the tenant's identity User \"%s\" may be bound in its namespaces, so bind that User or fix the label",
		[_name(binding), key, _field(subject, "kind"), _field(subject, "name"), identity],
	)
	entry := [i, ["subjects", s], msg]
}

# Policies with a list of paths, and the admin-tier ones (exempt from the
# tenant-boundary rules; a policy without a tier is not), by index.
_policies := [p | some p, policy in _vault_policies; is_array(policy.paths)]

_admin_policies contains p if {
	some p in _policies
	_vault_policies[p].tier == "admin"
}

_policy_name(p) := _field(_vault_policies[p], "name")

# The distinct paths the rules look at closer: those with a glob, and those
# whose first segment is (or is a glob that can match) sys, identity or auth.
# One regex over the policies as JSON costs less than a rule per grant (only a
# grant's `path` key is followed by a string there).
_policies_json := json.marshal(_vault_policies)

_glob_paths contains path if {
	some m in regex.find_all_string_submatch_n(`"path":("(?:[^"\\]|\\.)*[*+](?:[^"\\]|\\.)*")`, _policies_json, -1)
	path := json.unmarshal(m[1])
}

_area_paths contains path if {
	some m in regex.find_all_string_submatch_n(`"path":("/?(?:sys|identity|auth|\+|[^"\\/]*\*)(?:/(?:[^"\\]|\\.)*)?")`, _policies_json, -1)
	path := json.unmarshal(m[1])
}

_suspect_paths := _glob_paths | _area_paths

# Area path -> the areas (sys, identity, auth) it names or can match.
_areas[path] := areas if {
	some path in _area_paths
	first := split(trim_prefix(path, "/"), "/")[0]
	areas := {area | some area in ["sys", "identity", "auth"]; _matches(first, area)}
}

_matches(first, area) if first in {area, "+"}

_matches(first, area) if {
	endswith(first, "*")
	startswith(area, trim_suffix(first, "*"))
}

# [policy index, path index, path] of every such path in a non-admin policy.
_suspects := [entry |
	some p in _policies
	not p in _admin_policies
	some j, grant in _vault_policies[p].paths
	_suspect_paths[grant.path]
	entry := [p, j, grant.path]
]

# [policy index, path index, capability index, why] for every capability a
# non-admin may not hold on sys/, identity/ or auth/.
_privileged contains entry if {
	some [p, j, path] in _suspects
	count(_areas[path] & {"sys", "identity"}) > 0
	capabilities := _vault_policies[p].paths[j].capabilities
	is_array(capabilities)
	some k, capability in capabilities
	not capability in _read_only_capabilities
	entry := [p, j, k, "a non-admin may only read under sys/ and identity/, where writes change policies, mounts or entities (a self-grant)"]
}

_privileged contains entry if {
	some [p, j, path] in _suspects
	_areas[path] == {"auth"}
	capabilities := _vault_policies[p].paths[j].capabilities
	is_array(capabilities)
	some k, capability in capabilities
	capability in _vault_writes
	not _self_token_grants[path][capability]
	entry := [p, j, k, "writes under auth/ create or change login roles and tokens (a self-grant), and a non-admin may only renew its own token"]
}

# [policy index, path index, path segments] of every glob in a non-admin policy.
_globs := [entry |
	some [p, j, path] in _suspects
	path in _glob_paths
	entry := [p, j, split(path, "/")]
]

# A glob under its policy's own prefix: secret/{data,metadata}/<owner>/, or
# for a workstation-claude-<os_user> policy, the same under
# workstation/claude-users/<os_user>/ (the glob is in a later segment unless
# the owner's segment holds it).
_own_glob(policy, segments) if {
	segments[2] == policy.owner
	segments[0] == "secret"
	segments[1] in {"data", "metadata"}
	not regex.match(`[*+]`, policy.owner)
}

_own_glob(policy, segments) if {
	segments[2] == "workstation"
	array.slice(segments, 0, 4) in {["secret", "data", "workstation", "claude-users"], ["secret", "metadata", "workstation", "claude-users"]}
	policy.name == concat("-", ["workstation-claude", segments[4]])
	not regex.match(`[*+]`, segments[4])
}

# Some bound list holds a `*` (one search instead of one per value).
_bound_glob if contains(json.marshal([role[field] | some role in _vault_roles; some field, _ in _bound_fields]), "*")

# [role index, path, why, what] for every bound list of a Vault role that is
# empty or missing, and every value in one that contains `*`.
_loose_roles contains entry if {
	_bound_glob
	some r, role in _vault_roles
	some field, what in _bound_fields
	some k, value in _array(role[field])
	is_string(value)
	contains(value, "*")
	entry := [r, ["vault_roles", r, field, k], sprintf("accepts the %s \"%s\"", [what, value]), what]
}

_loose_roles contains entry if {
	some r, role in _vault_roles
	is_object(role)
	some field, what in _bound_fields
	not role[field][0]
	entry := [r, ["vault_roles", r, field], sprintf("has an empty or missing %s", [field]), what]
}

# METADATA
# title: Wildcard in an RBAC rule
# description: |
#   A Role or ClusterRole may not use `*` in verbs, resources or apiGroups
#   (nor `*/scale`): it grants every present and future one, Secrets,
#   escalate and impersonate included, and nobody can review that. The
#   built-in `cluster-admin` ClusterRole (never rendered by tenancy) is
#   exempt; who is bound to it is audited. Fix: list what is needed.
# scope: rule
# custom:
#   code: rbac-wildcard
#   severity: error
deny contains v if {
	some [i, j, rule] in _role_rules
	not _builtin_cluster_admin(i)
	some field in ["verbs", "resources", "apiGroups"]
	some [k, value] in _strings(rule, field)
	contains(value, "*")
	v := {
		"code": "rbac-wildcard",
		"msg": sprintf(
			"%s grants \"%s\" in %s, which includes every present and future one (Secrets, escalate, impersonate, ...); list what is needed instead",
			[_name(_objects[i].object), value, field],
		),
		"path": _rule_path(i, j, field, k),
	}
}

# METADATA
# title: cluster-admin bound to a non-admin
# description: |
#   A binding to the ClusterRole `cluster-admin` (ClusterRoleBinding, or
#   RoleBinding: full control of a namespace) may only name the User identity
#   of an admin-tier tenant on the `admins` allow-list (if one is set): it is
#   unrestricted access to the cluster and every Secret in it. Fix: give the
#   subject a tenancy role, or make the tenant an admin on the allow-list.
# scope: rule
# custom:
#   code: rbac-cluster-admin-not-allowed
#   severity: error
deny contains v if {
	some i in _cluster_admin_bindings
	binding := _objects[i].object
	some s, subject in _array(object.get(binding, "subjects", []))
	not _admin_user(subject, true)
	v := {
		"code": "rbac-cluster-admin-not-allowed",
		"msg": sprintf(
			"%s binds ClusterRole cluster-admin to %s \"%s\", %s",
			[_name(binding), _field(subject, "kind"), _field(subject, "name"), _cluster_admin_reason(subject)],
		),
		"path": ["objects", i, "object", "subjects", s],
		"related": [["objects", i, "object", "roleRef", "name"]],
	}
}

# METADATA
# title: RBAC rule allows privilege escalation
# description: |
#   A Role or ClusterRole may not grant the verbs `escalate`, `bind` or
#   `impersonate`, nor create, update or patch `roles`, `rolebindings`,
#   `clusterroles` or `clusterrolebindings`: each lets the holder give itself
#   (or act with) permissions it was not granted. Wildcards are reported as
#   rbac-wildcard. Fix: remove the verb, or the RBAC resources, from the rule.
# scope: rule
# custom:
#   code: rbac-escalation
#   severity: error
deny contains v if {
	some [i, j, k, why, related] in _escalations
	v := {
		"code": "rbac-escalation",
		"msg": sprintf("%s grants %s; remove it from the rule", [_name(_objects[i].object), why]),
		"path": _rule_path(i, j, "verbs", k),
		"related": related,
	}
}

# METADATA
# title: Tenant RoleBinding outside the tenant
# description: |
#   A RoleBinding labelled `tenancy.io/tenant: <key>` must be in one of that
#   tenant's namespaces and bind only the tenant's identity (a User); else
#   someone gets access to a namespace that belongs to somebody else. Fix:
#   move the binding, bind the tenant's identity, or correct the label.
# scope: rule
# custom:
#   code: rbac-binding-outside-owner-namespaces
#   severity: error
deny contains v if {
	some [i, below, msg] in _misplaced
	v := {
		"code": "rbac-binding-outside-owner-namespaces",
		"msg": msg,
		"path": array.concat(["objects", i, "object"], below),
		"related": [["objects", i, "object", "metadata", "labels", "tenancy.io/tenant"]],
	}
}

# METADATA
# title: Vault policy grants sudo
# description: |
#   No rendered Vault policy may grant `sudo`, whoever owns it: it opens
#   root-protected endpoints (policies, mounts, audit devices, token
#   accessors) and is as good as the root token. Fix: remove it.
# scope: rule
# custom:
#   code: vault-sudo
#   severity: error
deny contains v if {
	some p in _policies
	some j, grant in _vault_policies[p].paths
	"sudo" in grant.capabilities
	some k, capability in grant.capabilities
	capability == "sudo"
	v := {
		"code": "vault-sudo",
		"msg": sprintf("Vault policy \"%s\" grants sudo on \"%s\", which opens root-protected endpoints; remove the capability", [_policy_name(p), grant.path]),
		"path": ["vault_policies", p, "paths", j, "capabilities", k],
	}
}

# METADATA
# title: Vault policy grants a privileged path to a non-admin
# description: |
#   A non-admin Vault policy may only read (or deny) under `sys/` and
#   `identity/`, and not write (create, update, patch, delete) under `auth/`
#   but for update on `auth/token/renew-self`; a glob that can match them
#   (`*`, `s*`, `+/...`) counts. Writes there change policies, mounts,
#   entities or login roles: a self-grant. Fix: remove the capability.
# scope: rule
# custom:
#   code: vault-privileged-path
#   severity: error
deny contains v if {
	some [p, j, k, why] in _privileged
	grant := _vault_policies[p].paths[j]
	v := {
		"code": "vault-privileged-path",
		"msg": sprintf("Vault policy \"%s\" grants \"%s\" on \"%s\"; %s, so remove the capability", [_policy_name(p), grant.capabilities[k], grant.path, why]),
		"path": ["vault_policies", p, "paths", j, "capabilities", k],
	}
}

# METADATA
# title: Vault policy glob crosses tenants
# description: |
#   In a non-admin Vault policy a glob (`*` or `+`) must come after an own
#   prefix, `secret/{data,metadata}/<owner>/` or (in policy
#   `workstation-claude-<os_user>`) `.../workstation/claude-users/<os_user>/`:
#   a glob at or before the tenant's segment (`secret/data/*`, `.../+/x`,
#   `.../cle*`) or elsewhere matches other tenants' paths. Fix: write the
#   owner's own prefix in full before the glob.
# scope: rule
# custom:
#   code: vault-cross-tenant-glob
#   severity: error
deny contains v if {
	some [p, j, segments] in _globs
	not _own_glob(_vault_policies[p], segments)
	v := {
		"code": "vault-cross-tenant-glob",
		"msg": sprintf(
			"Vault policy \"%s\" (owner %s) grants the glob path \"%s\", which is not under the owner's own prefix and so matches other tenants' paths; write the owner's prefix in full before any * or +",
			[_policy_name(p), json.marshal(object.get(_vault_policies[p], "owner", null)), concat("/", segments)],
		),
		"path": ["vault_policies", p, "paths", j, "path"],
	}
}

# METADATA
# title: Vault Kubernetes role accepts any service account
# description: |
#   A Vault Kubernetes auth role must list its bound service account names
#   and namespaces by name: a `*` in a value, or an empty or missing list,
#   lets service accounts the tenant does not control (in other tenants' or
#   system namespaces) log in with its policies. Fix: list each by name.
# scope: rule
# custom:
#   code: vault-wildcard-service-account
#   severity: error
deny contains v if {
	some [r, path, why, what] in _loose_roles
	v := {
		"code": "vault-wildcard-service-account",
		"msg": sprintf(
			"Vault role \"%s\" %s, so service accounts the tenant does not control can log in with its policies; list each %s by name",
			[_field(_vault_roles[r], "name"), why, what],
		),
		"path": path,
	}
}
