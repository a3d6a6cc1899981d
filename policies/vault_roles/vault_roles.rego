# METADATA
# title: Vault Kubernetes auth roles
# description: |
#   Audits the rendered Vault Kubernetes auth roles: input is `{"vault_roles":
#   [{"file", "name", "owner", "bound_service_account_names",
#   "bound_service_account_namespaces", ...}]}`, each role with the tenant whose
#   input key rendered it. A client picks the role it logs in with, so a
#   service account bound by two tenants' roles can log in as either.
# entrypoint: true
# custom:
#   stage: rendered
#   kinds: []
package vault_roles

_array(x) := x if is_array(x)

_array(x) := [] if not is_array(x)

_roles := _array(object.get(input, "vault_roles", []))

_owner(role) := role.owner if is_string(role.owner)

_owner(role) := "" if not is_string(object.get(role, "owner", null))

_strings(role, field) := [[k, value] | some k, value in _array(object.get(role, field, [])); is_string(value)]

# [namespace, name, owner, role index, name index] for every service account a
# role binds (each bound name in each bound namespace).
_bound := [[namespace, name, _owner(role), r, k] |
	some r, role in _roles
	is_object(role)
	some [_, namespace] in _strings(role, "bound_service_account_namespaces")
	some [k, name] in _strings(role, "bound_service_account_names")
]

# Each distinct [namespace, name, owner], sorted: the owners of one account lie
# together, so an account of two tenants has two neighbours that differ only in
# the owner (one pass, where pairing every role with every other would take
# 10^8 steps at 10,000 tenants).
_accounts := sort({[namespace, name, owner] | some [namespace, name, owner, _, _] in _bound})

_shared contains [namespace, name] if {
	some i in numbers.range(0, count(_accounts) - 2)
	[namespace, name, owner] := _accounts[i]
	next := _accounts[i + 1]
	[next[0], next[1]] == [namespace, name]
	next[2] != owner
}

# Only the few accounts that are shared are grouped by owner.
_owners[account] := owners if {
	some account in _shared
	owners := {owner | some [namespace, name, owner] in _accounts; [namespace, name] == account}
}

_shown(owner) := sprintf("tenant \"%s\"", [owner]) if owner != ""

_shown("") := "no tenant"

# METADATA
# title: Service account bound by two tenants' Vault roles
# description: |
#   No service account (namespace and name) may be bound by the Vault
#   Kubernetes auth roles of two different tenants: the client names the role
#   at login, so a pipeline running as that account logs in as every tenant
#   that binds it and reads their deployer credentials and secrets. Each
#   tenant namespace's deployer role binds the `deployer` ServiceAccount of
#   that namespace, which only its tenant can run pods as. Fix: bind a service
#   account in the tenant's own namespace (render/profiles.yaml
#   vault.deployer), never a shared one.
# scope: rule
# custom:
#   code: vault-role-shared-service-account
#   severity: error
deny contains v if {
	some [namespace, name, owner, r, k] in _bound
	[namespace, name] in _shared
	others := concat(", ", sort([_shown(o) | some o in _owners[[namespace, name]]; o != owner]))
	role := object.get(_roles[r], "name", "?")
	v := {
		"code": "vault-role-shared-service-account",
		"msg": sprintf(
			"Vault role \"%s\" (%s) binds service account \"%s/%s\", and so do roles of %s: a pipeline running as it logs in as each; %s",
			[role, _shown(owner), namespace, name, others, "bind a service account in the tenant's own namespace"],
		),
		"path": ["vault_roles", r, "bound_service_account_names", k],
		"related": [["vault_roles", r, "bound_service_account_namespaces"]],
	}
}
