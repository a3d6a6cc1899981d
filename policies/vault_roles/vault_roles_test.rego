package vault_roles_test

import data.vault_roles

_role(name, owner, namespaces, accounts) := {
	"file": sprintf("vault/kubernetes-auth/role-%s.yaml", [name]),
	"name": name,
	"owner": owner,
	"bound_service_account_names": accounts,
	"bound_service_account_namespaces": namespaces,
	"policies": [concat("-", ["deployer", name])],
}

# What tenancy renders: each namespace's role binds that namespace's deployer.
_own_accounts := [
	_role("cleo-deployer", "cleo", ["cleo"], ["deployer"]),
	_role("cleo-books-deployer", "cleo", ["cleo-books"], ["deployer"]),
	_role("dara-deployer", "dara", ["dara"], ["deployer"]),
]

test_each_tenant_binding_its_own_accounts_is_quiet if {
	result := vault_roles.deny with input as {"vault_roles": _own_accounts}
	result == set()
}

test_one_tenant_binding_an_account_twice_is_quiet if {
	roles := [
		_role("cleo-deployer", "cleo", ["ci"], ["deployer"]),
		_role("cleo-books-deployer", "cleo", ["ci"], ["deployer"]),
	]
	result := vault_roles.deny with input as {"vault_roles": roles}
	result == set()
}

test_the_shared_ci_account_fires_for_every_tenant if {
	roles := [
		_role("cleo-deployer", "cleo", ["woodpecker"], ["woodpecker-deployer"]),
		_role("cleo-books-deployer", "cleo", ["woodpecker"], ["woodpecker-deployer"]),
		_role("dara-deployer", "dara", ["woodpecker"], ["woodpecker-deployer"]),
	]
	result := vault_roles.deny with input as {"vault_roles": roles}
	{[v.code, v.path, v.related] | some v in result} == {
		["vault-role-shared-service-account", ["vault_roles", 0, "bound_service_account_names", 0], [["vault_roles", 0, "bound_service_account_namespaces"]]],
		["vault-role-shared-service-account", ["vault_roles", 1, "bound_service_account_names", 0], [["vault_roles", 1, "bound_service_account_namespaces"]]],
		["vault-role-shared-service-account", ["vault_roles", 2, "bound_service_account_names", 0], [["vault_roles", 2, "bound_service_account_namespaces"]]],
	}
}

test_one_shared_name_among_several_fires_on_that_name if {
	roles := array.concat(_own_accounts, [_role("erin-deployer", "erin", ["erin", "cleo"], ["builder", "deployer"])])
	result := vault_roles.deny with input as {"vault_roles": roles}
	{v.path | some v in result} == {
		["vault_roles", 0, "bound_service_account_names", 0],
		["vault_roles", 3, "bound_service_account_names", 1],
	}
}

test_message if {
	roles := [
		_role("cleo-deployer", "cleo", ["woodpecker"], ["woodpecker-deployer"]),
		_role("dara-deployer", "dara", ["woodpecker"], ["woodpecker-deployer"]),
		_role("ci", null, ["woodpecker"], ["woodpecker-deployer"]),
	]
	result := vault_roles.deny with input as {"vault_roles": roles}
	msg := concat("", [
		"Vault role \"cleo-deployer\" (tenant \"cleo\") binds service account \"woodpecker/woodpecker-deployer\", and so do roles of ",
		"no tenant, tenant \"dara\": a pipeline running as it logs in as each; bind a service account in the tenant's own namespace",
	])
	{v.msg | some v in result; v.path[1] == 0} == {msg}
}

test_same_name_in_different_namespaces_is_quiet if {
	roles := [
		_role("cleo-deployer", "cleo", ["cleo"], ["deployer"]),
		_role("dara-deployer", "dara", ["dara"], ["deployer"]),
	]
	result := vault_roles.deny with input as {"vault_roles": roles}
	result == set()
}

test_missing_or_malformed_roles_are_quiet if {
	empty := vault_roles.deny with input as {}
	empty == set()
	none := vault_roles.deny with input as {"vault_roles": null}
	none == set()
	malformed := vault_roles.deny with input as {"vault_roles": [1, {"name": "x", "bound_service_account_names": "deployer"}]}
	malformed == set()
}
