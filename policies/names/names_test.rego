package names_test

import data.names

_config := {
	"zones": ["example.org"],
	"reserved_namespaces": ["kube-system", "kube-public", "kube-node-lease", "default", "vault", "woodpecker"],
	"reserved_user_keys": ["platform", "ci", "vault", "woodpecker"],
	"admins": null,
	"exempt_admin_tier_check": false,
	"quota": {"defaults": {}, "ceilings": {}},
}

_roster := {
	"ada": {"authentik_user": "ada.l", "k8s_user": "ada", "tier": "admin"},
	"brin": {"authentik_user": "brin.k", "k8s_user": "brin", "tier": "power-user"},
	"cleom": {"authentik_user": "cleo98", "k8s_user": "cleo", "tier": "namespace-owner", "namespaces": ["cleo", "cleo-books"]},
	"dara": {"authentik_user": "dara.v", "k8s_user": "dara", "tier": "namespace-owner", "namespaces": ["dara"]},
}

_k8s := {
	"ada": {"role": "admin", "email": "ada@example.org", "namespaces": []},
	"brin": {"role": "power-user", "email": "brin.k@example.org"},
	"cleo": {
		"role": "namespace-owner", "email": "cleo98@example.org",
		"namespaces": ["cleo", "cleo-books"], "domains": ["cleo", "books-cleo"],
	},
	"dara": {"role": "namespace-owner", "email": "dara.v@example.org", "namespaces": ["dara"], "domains": []},
	"gabi": {"role": "namespace-owner", "email": "gabi@example.org", "namespaces": ["gabi"]},
}

_inp(roster, k8s) := {"roster": {"users": roster}, "k8s_users": k8s, "config": _config}

_with_k8s(key, entry) := _inp(_roster, object.union(object.remove(_k8s, [key]), {key: entry}))

_with_row(key, row) := _inp(object.union(object.remove(_roster, [key]), {key: row}), _k8s)

_gabi(fields) := _with_k8s("gabi", object.union({"role": "namespace-owner", "email": "gabi@example.org", "namespaces": ["gabi"]}, fields))

_with_zones(inp, zones) := object.union(object.remove(inp, ["config"]), {"config": object.union(_config, {"zones": zones})})

_codes(result, code) := {v | some v in result; v.code == code}

_paths(result, code) := {v.path | some v in result; v.code == code}

test_fixture_is_clean if {
	count(names.deny) == 0 with input as _inp(_roster, _k8s)
}

test_empty_inputs_are_clean if {
	count(names.deny) == 0 with input as _inp({}, {})
	count(names.deny) == 0 with input as {}
}

test_namespace_reserved if {
	inp := _inp(
		object.union(_roster, {"dara": {"namespaces": ["dara", "vault"]}}),
		object.union(_k8s, {"gabi": {"namespaces": ["kube-system"]}}),
	)
	result := names.deny with input as inp
	result == {
		{
			"code": "namespace-reserved",
			"msg": "namespace \"vault\" is reserved for the platform; tenants may only own new, tenant-only namespaces",
			"path": ["roster", "users", "dara", "namespaces", 1],
		},
		{
			"code": "namespace-reserved",
			"msg": "namespace \"kube-system\" is reserved for the platform; tenants may only own new, tenant-only namespaces",
			"path": ["k8s_users", "gabi", "namespaces", 0],
		},
	}
}

test_namespace_not_reserved if {
	result := names.deny with input as _gabi({"namespaces": ["kube-systems", "my-vault"]})
	count(_codes(result, "namespace-reserved")) == 0
}

test_namespace_claimed_twice if {
	result := names.deny with input as _gabi({"namespaces": ["gabi", "cleo"]})
	result == {{
		"code": "namespace-claimed-twice",
		"msg": "namespace \"cleo\" is also claimed by \"cleo\"; a namespace has one owner, so remove it from one of them",
		"path": ["k8s_users", "gabi", "namespaces", 1],
		"related": [["k8s_users", "cleo", "namespaces", 0]],
	}}
}

test_namespace_claimed_twice_keeps_first_user if {
	inp := _with_k8s("aaron", {"role": "namespace-owner", "email": "aaron@example.org", "namespaces": ["cleo-books"]})
	result := names.deny with input as inp
	result == {{
		"code": "namespace-claimed-twice",
		"msg": "namespace \"cleo-books\" is also claimed by \"aaron\"; a namespace has one owner, so remove it from one of them",
		"path": ["k8s_users", "cleo", "namespaces", 1],
		"related": [["k8s_users", "aaron", "namespaces", 0]],
	}}
}

test_namespace_claimed_three_times if {
	k8s := object.union(_k8s, {
		"aaron": {"role": "namespace-owner", "email": "aaron@example.org", "namespaces": ["shared"]},
		"dara": {"namespaces": ["dara", "shared"]},
		"gabi": {"namespaces": ["shared", "gabi"]},
	})
	result := names.deny with input as _inp(_roster, k8s)
	{[v.path, v.related] | some v in result} == {
		[["k8s_users", "dara", "namespaces", 1], [["k8s_users", "aaron", "namespaces", 0]]],
		[["k8s_users", "gabi", "namespaces", 0], [["k8s_users", "aaron", "namespaces", 0]]],
	}
}

test_namespace_listed_twice_by_one_user if {
	result := names.deny with input as _gabi({"namespaces": ["gabi", "gabi"]})
	result == {{
		"code": "namespace-claimed-twice",
		"msg": "namespace \"gabi\" is listed twice by \"gabi\"; a namespace has one owner, so remove it from one of them",
		"path": ["k8s_users", "gabi", "namespaces", 1],
		"related": [["k8s_users", "gabi", "namespaces", 0]],
	}}
}

test_namespace_claimed_twice_in_roster if {
	inp := _with_row("zed", {"authentik_user": "zed", "k8s_user": "zed", "tier": "namespace-owner", "namespaces": ["dara"]})
	result := names.deny with input as inp
	result == {{
		"code": "namespace-claimed-twice",
		"msg": "namespace \"dara\" is also claimed by \"dara\"; a namespace has one owner, so remove it from one of them",
		"path": ["roster", "users", "zed", "namespaces", 0],
		"related": [["roster", "users", "dara", "namespaces", 0]],
	}}
}

test_namespace_in_both_files_is_one_claim if {
	result := names.deny with input as _inp(_roster, _k8s)
	count(_codes(result, "namespace-claimed-twice")) == 0
}

test_user_key_reserved if {
	result := names.deny with input as _with_k8s("platform", {"role": "namespace-owner", "email": "p@example.org", "namespaces": ["p"]})
	result == {{
		"code": "user-key-reserved",
		"msg": "user key \"platform\" is reserved (it would own Vault path secret/data/platform of a platform service); choose another key",
		"path": ["k8s_users", "platform"],
	}}
}

test_user_key_not_reserved if {
	result := names.deny with input as _with_k8s("platforms", {"role": "power-user", "email": "p@example.org"})
	count(_codes(result, "user-key-reserved")) == 0
}

test_email_duplicate_case_insensitive if {
	result := names.deny with input as _gabi({"email": "Cleo98@Example.ORG"})
	result == {{
		"code": "email-duplicate",
		"msg": "email \"Cleo98@Example.ORG\" is also used by k8s user \"cleo\"; each user needs their own email (it is the OIDC username)",
		"path": ["k8s_users", "gabi", "email"],
		"related": [["k8s_users", "cleo", "email"]],
	}}
}

test_email_unique if {
	result := names.deny with input as _gabi({"email": "cleo99@example.org"})
	count(_codes(result, "email-duplicate")) == 0
}

test_authentik_user_duplicate if {
	inp := _with_row("zed", {"authentik_user": "cleo98", "k8s_user": "zed", "tier": "power-user"})
	result := names.deny with input as inp
	result == {{
		"code": "authentik-user-duplicate",
		"msg": "authentik_user \"cleo98\" is also used by roster user \"cleom\"; each roster row needs its own Authentik user",
		"path": ["roster", "users", "zed", "authentik_user"],
		"related": [["roster", "users", "cleom", "authentik_user"]],
	}}
}

test_authentik_user_unique if {
	inp := _with_row("zed", {"authentik_user": "cleo99", "k8s_user": "zed", "tier": "power-user"})
	result := names.deny with input as inp
	count(_codes(result, "authentik-user-duplicate")) == 0
}

test_k8s_user_shared if {
	inp := _with_row("zed", {"authentik_user": "zed", "k8s_user": "brin", "tier": "power-user"})
	result := names.deny with input as inp
	result == {{
		"code": "k8s-user-shared",
		"msg": "k8s_user \"brin\" is also used by roster user \"brin\"; each roster row needs its own k8s_user",
		"path": ["roster", "users", "zed", "k8s_user"],
		"related": [["roster", "users", "brin", "k8s_user"]],
	}}
}

test_k8s_user_not_shared if {
	result := names.deny with input as _inp(_roster, _k8s)
	count(_codes(result, "k8s-user-shared")) == 0
}

test_domain_invalid if {
	result := names.deny with input as _gabi({"domains": ["Books_Gabi"]})
	result == {{
		"code": "domain-invalid",
		"msg": "domain \"Books_Gabi\" is not a valid DNS name (labels of letters, digits and inner hyphens, separated by dots)",
		"path": ["k8s_users", "gabi", "domains", 0],
	}}
}

test_domain_invalid_table if {
	long_label := concat("", ["a" | some _ in numbers.range(1, 64)])
	every d in [
		"", "*.gabi.example.org", "gabi.example.org.", "-gabi", "gabi-", "a..example.org",
		".example.org", "gabi example", "gäbi", long_label, concat(".", [long_label, "example.org"]),
	] {
		_paths(names.deny, "domain-invalid") == {["k8s_users", "gabi", "domains", 0]} with input as _gabi({"domains": [d]})
	}
}

test_domain_valid_table if {
	label_63 := concat("", ["a" | some _ in numbers.range(1, 63)])
	every d in ["gabi", "GABI-2", "g", "0", "a-b.example.org", "example.org", "x.y.example.org", label_63] {
		count(names.deny) == 0 with input as _gabi({"domains": [d]})
	}
}

test_domain_outside_zone if {
	result := names.deny with input as _gabi({"domains": ["gabi.other.net", "gabi.notexample.org"]})
	result == {
		{
			"code": "domain-outside-zone",
			"msg": "domain \"gabi.other.net\" is not in a configured zone (example.org); use a name under one or add its zone",
			"path": ["k8s_users", "gabi", "domains", 0],
		},
		{
			"code": "domain-outside-zone",
			"msg": "domain \"gabi.notexample.org\" is not in a configured zone (example.org); use a name under one or add its zone",
			"path": ["k8s_users", "gabi", "domains", 1],
		},
	}
}

test_domain_in_second_zone if {
	inp := _with_zones(_gabi({"domains": ["gabi.example.net", "Gabi.Example.ORG"]}), ["example.org", "example.net"])
	count(names.deny) == 0 with input as inp
}

test_domain_without_zones if {
	inp := _with_zones(_gabi({"domains": ["gabi", "gabi.example.org"]}), [])
	result := names.deny with input as object.union(inp, {"k8s_users": {"cleo": {"domains": []}}})
	result == {{
		"code": "domain-outside-zone",
		"msg": "domain \"gabi\" is a bare label and no zone is configured to place it in; write the full name or add a zone",
		"path": ["k8s_users", "gabi", "domains", 0],
	}}
}

test_domain_claimed_twice_label_and_full_name if {
	result := names.deny with input as _gabi({"domains": ["Cleo.example.org"]})
	result == {{
		"code": "domain-claimed-twice",
		"msg": "domain \"Cleo.example.org\" (cleo.example.org) is also claimed by \"cleo\"; a domain has one owner, so remove it from one of them",
		"path": ["k8s_users", "gabi", "domains", 0],
		"related": [["k8s_users", "cleo", "domains", 0]],
	}}
}

test_domain_listed_twice_by_one_user if {
	result := names.deny with input as _gabi({"domains": ["gabi.example.org", "gabi"]})
	result == {{
		"code": "domain-claimed-twice",
		"msg": "domain \"gabi\" (gabi.example.org) is listed twice by \"gabi\"; a domain has one owner, so remove it from one of them",
		"path": ["k8s_users", "gabi", "domains", 1],
		"related": [["k8s_users", "gabi", "domains", 0]],
	}}
}

test_domain_label_is_in_primary_zone_only if {
	inp := _with_zones(_gabi({"domains": ["cleo.example.net"]}), ["example.org", "example.net"])
	result := names.deny with input as inp
	count(_codes(result, "domain-claimed-twice")) == 0
}

test_domain_empty_when_only_domain if {
	k8s := object.union(object.remove(_k8s, ["cleo", "gabi"]), {"gabi": {"role": "namespace-owner", "email": "gabi@example.org", "namespaces": ["gabi"], "domains": [""]}})
	result := names.deny with input as _inp(_roster, k8s)
	_paths(result, "domain-invalid") == {["k8s_users", "gabi", "domains", 0]}
}

test_email_case_folding_is_ascii_only if {
	# Both engines agree on ASCII case only (OPA and regorus lower-case a final
	# sigma differently), so non-ASCII letters are compared as written.
	inp := _inp(_roster, object.union(_k8s, {"ada": {"email": "ΑΣ@example.org"}, "brin": {"email": "ας@example.org"}}))
	result := names.deny with input as inp
	count(_codes(result, "email-duplicate")) == 0
}

test_authentik_user_claimed_three_times if {
	roster := object.union(_roster, {
		"aaron": {"authentik_user": "same", "k8s_user": "aaron", "tier": "power-user"},
		"zed": {"authentik_user": "same", "k8s_user": "zed", "tier": "power-user"},
		"brin": {"authentik_user": "same"},
	})
	result := names.deny with input as _inp(roster, _k8s)
	{[v.path, v.related] | some v in result} == {
		[["roster", "users", "brin", "authentik_user"], [["roster", "users", "aaron", "authentik_user"]]],
		[["roster", "users", "zed", "authentik_user"], [["roster", "users", "aaron", "authentik_user"]]],
	}
}
