package tiers_test

import data.tiers

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
	"cleom": {
		"authentik_user": "cleo98", "k8s_user": "cleo", "tier": "namespace-owner",
		"namespaces": ["cleo", "cleo-books"], "code_layout": "workspace", "repos": ["tripit", "plot-notes"],
	},
	"dara": {"authentik_user": "dara.v", "k8s_user": "dara", "tier": "namespace-owner", "namespaces": ["dara"], "parked": true},
	"emil": {"authentik_user": "emil.s", "k8s_user": "emil", "tier": "power-user", "claude_auth": false},
}

_k8s := {
	"ada": {"role": "admin", "email": "ada@example.org", "namespaces": []},
	"brin": {"role": "power-user", "email": "brin.k@example.org"},
	"cleo": {"role": "namespace-owner", "email": "cleo98@example.org", "namespaces": ["cleo", "cleo-books"]},
	"dara": {"role": "namespace-owner", "email": "dara.v@example.org", "namespaces": ["dara"]},
	"emil": {"role": "power-user", "email": "emil.s@example.org"},
	"gabi": {"role": "namespace-owner", "email": "gabi@example.org", "namespaces": ["gabi"]},
}

_inp(roster, k8s) := {"roster": {"users": roster}, "k8s_users": k8s, "config": _config}

_inp_config(roster, k8s, patch) := {"roster": {"users": roster}, "k8s_users": k8s, "config": object.union(_config, patch)}

_codes(result, code) := {v | some v in result; v.code == code}

test_fixture_is_clean if {
	count(tiers.deny) == 0 with input as _inp(_roster, _k8s)
	count(tiers.warn) == 0 with input as _inp(_roster, _k8s)
}

test_empty_inputs_are_clean if {
	count(tiers.deny) == 0 with input as _inp({}, {})
	count(tiers.warn) == 0 with input as _inp({}, {})
	count(tiers.deny) == 0 with input as {}
}

test_tier_mismatch if {
	k8s := object.union(_k8s, {"brin": {"role": "admin", "email": "brin.k@example.org"}})
	result := tiers.deny with input as _inp(_roster, k8s)
	result == {{
		"code": "tier-mismatch",
		"msg": "roster tier \"power-user\" != k8s_users role \"admin\" for k8s_user \"brin\"; make the roster tier and the k8s_users role agree",
		"path": ["roster", "users", "brin", "tier"],
		"related": [["k8s_users", "brin", "role"]],
	}}
}

test_tier_mismatch_checks_admins_by_default if {
	k8s := object.union(_k8s, {"ada": {"role": "power-user", "email": "ada@example.org"}})
	result := tiers.deny with input as _inp(_roster, k8s)
	result == {{
		"code": "tier-mismatch",
		"msg": "roster tier \"admin\" != k8s_users role \"power-user\" for k8s_user \"ada\"; make the roster tier and the k8s_users role agree",
		"path": ["roster", "users", "ada", "tier"],
		"related": [["k8s_users", "ada", "role"]],
	}}
}

test_tier_mismatch_exempt_admins if {
	k8s := object.union(_k8s, {"ada": {"role": "power-user", "email": "ada@example.org"}})
	result := tiers.deny with input as _inp_config(_roster, k8s, {"exempt_admin_tier_check": true})
	count(_codes(result, "tier-mismatch")) == 0
}

test_grant_pending if {
	k8s := object.remove(_k8s, ["emil"])
	count(tiers.deny) == 0 with input as _inp(_roster, k8s)
	result := tiers.warn with input as _inp(_roster, k8s)
	result == {{
		"code": "grant-pending",
		"msg": "roster user \"emil\" has tier \"power-user\" but k8s_user \"emil\" is absent from k8s_users (kubectl grant pending — add the entry)",
		"path": ["roster", "users", "emil", "k8s_user"],
	}}
}

test_grant_pending_skips_exempt_admins if {
	k8s := object.remove(_k8s, ["ada"])
	result := tiers.warn with input as _inp_config(_roster, k8s, {"exempt_admin_tier_check": true})
	count(_codes(result, "grant-pending")) == 0
}

test_grant_pending_reports_admins_by_default if {
	k8s := object.remove(_k8s, ["ada"])
	result := tiers.warn with input as _inp(_roster, k8s)
	{v.path | some v in result} == {["roster", "users", "ada", "k8s_user"]}
}

test_k8s_user_without_roster_row_is_valid if {
	roster := object.remove(_roster, ["cleom"])
	count(tiers.deny) == 0 with input as _inp(roster, _k8s)
	count(tiers.warn) == 0 with input as _inp(roster, _k8s)
}

test_owner_without_namespaces_empty_lists if {
	roster := object.union(_roster, {"dara": {"authentik_user": "dara.v", "k8s_user": "dara", "tier": "namespace-owner", "namespaces": []}})
	k8s := object.union(_k8s, {"dara": {"role": "namespace-owner", "email": "dara.v@example.org", "namespaces": []}})
	result := tiers.deny with input as _inp(roster, k8s)
	result == {
		{
			"code": "owner-without-namespaces",
			"msg": "roster user \"dara\" is a namespace-owner but lists no namespaces; add its namespaces or change its tier",
			"path": ["roster", "users", "dara", "namespaces"],
		},
		{
			"code": "owner-without-namespaces",
			"msg": "k8s user \"dara\" is a namespace-owner but lists no namespaces; add its namespaces or change its role",
			"path": ["k8s_users", "dara", "namespaces"],
		},
	}
}

test_owner_without_namespaces_absent_list if {
	k8s := object.union(object.remove(_k8s, ["gabi"]), {"gabi": {"role": "namespace-owner", "email": "gabi@example.org"}})
	result := tiers.deny with input as _inp(_roster, k8s)
	result == {{
		"code": "owner-without-namespaces",
		"msg": "k8s user \"gabi\" is a namespace-owner but lists no namespaces; add its namespaces or change its role",
		"path": ["k8s_users", "gabi", "role"],
	}}
}

test_owner_with_namespaces_passes if {
	result := tiers.deny with input as _inp(_roster, _k8s)
	count(_codes(result, "owner-without-namespaces")) == 0
}

test_namespaces_on_non_owner if {
	roster := object.union(_roster, {"brin": {"namespaces": ["brin"]}})
	k8s := object.union(_k8s, {"brin": {"namespaces": ["brin"]}})
	result := tiers.deny with input as _inp(roster, k8s)
	result == {
		{
			"code": "namespaces-on-non-owner",
			"msg": "roster user \"brin\" has tier \"power-user\", and only namespace-owners may set namespaces; remove the list or change the tier",
			"path": ["roster", "users", "brin", "namespaces"],
			"related": [["roster", "users", "brin", "tier"]],
		},
		{
			"code": "namespaces-on-non-owner",
			"msg": "k8s user \"brin\" has role \"power-user\", and only namespace-owners may set namespaces; remove the list or change the role",
			"path": ["k8s_users", "brin", "namespaces"],
			"related": [["k8s_users", "brin", "role"]],
		},
	}
}

test_empty_namespaces_on_non_owner_passes if {
	# ada (admin) carries namespaces: [] in k8s_users.
	result := tiers.deny with input as _inp(_roster, _k8s)
	count(_codes(result, "namespaces-on-non-owner")) == 0
}

test_namespaces_mismatch_one_side if {
	roster := object.union(_roster, {"cleom": {"namespaces": ["cleo"]}})
	result := tiers.deny with input as _inp(roster, _k8s)
	result == {{
		"code": "namespaces-mismatch",
		"msg": "roster namespaces of \"cleom\" differ from k8s_users \"cleo\" (only in k8s_users: \"cleo-books\"); list the same namespaces in both files",
		"path": ["roster", "users", "cleom", "namespaces"],
		"related": [["k8s_users", "cleo", "namespaces"]],
	}}
}

test_namespaces_mismatch_both_sides if {
	roster := object.union(_roster, {"cleom": {"namespaces": ["cleo", "zed", "abc"]}})
	result := tiers.deny with input as _inp(roster, _k8s)
	result == {{
		"code": "namespaces-mismatch",
		"msg": "roster namespaces of \"cleom\" differ from k8s_users \"cleo\" (only in roster: \"abc\", \"zed\"; only in k8s_users: \"cleo-books\"); list the same namespaces in both files",
		"path": ["roster", "users", "cleom", "namespaces"],
		"related": [["k8s_users", "cleo", "namespaces"]],
	}}
}

test_namespaces_compared_as_sets if {
	roster := object.union(_roster, {"cleom": {"namespaces": ["cleo-books", "cleo", "cleo"]}})
	result := tiers.deny with input as _inp(roster, _k8s)
	count(_codes(result, "namespaces-mismatch")) == 0
}

test_admin_not_allowed if {
	result := tiers.deny with input as _inp_config(_roster, _k8s, {"admins": ["root"]})
	result == {
		{
			"code": "admin-not-allowed",
			"msg": "roster user \"ada\" has tier admin but is not in the admins allow-list of tenancy.yaml; add it there or give it a lower tier",
			"path": ["roster", "users", "ada", "tier"],
		},
		{
			"code": "admin-not-allowed",
			"msg": "k8s user \"ada\" has role admin but is not in the admins allow-list of tenancy.yaml; add it there or give it a lower role",
			"path": ["k8s_users", "ada", "role"],
		},
	}
}

test_admin_not_allowed_empty_list if {
	result := tiers.deny with input as _inp_config(_roster, _k8s, {"admins": []})
	{v.path | some v in result} == {["roster", "users", "ada", "tier"], ["k8s_users", "ada", "role"]}
}

test_admin_allowed if {
	result := tiers.deny with input as _inp_config(_roster, _k8s, {"admins": ["ada"]})
	count(_codes(result, "admin-not-allowed")) == 0
}

test_admins_null_means_no_restriction if {
	result := tiers.deny with input as _inp(_roster, _k8s)
	count(_codes(result, "admin-not-allowed")) == 0
}

test_namespaces_mismatch_absent_roster_list if {
	k8s := object.union(_k8s, {"brin": {"namespaces": ["brin"]}})
	result := tiers.deny with input as _inp(_roster, k8s)
	_codes(result, "namespaces-mismatch") == {{
		"code": "namespaces-mismatch",
		"msg": "roster namespaces of \"brin\" differ from k8s_users \"brin\" (only in k8s_users: \"brin\"); list the same namespaces in both files",
		"path": ["roster", "users", "brin", "k8s_user"],
		"related": [["k8s_users", "brin", "namespaces"]],
	}}
}

test_namespaces_mismatch_absent_k8s_list if {
	roster := object.union(_roster, {"brin": {"namespaces": ["brin"]}})
	result := tiers.deny with input as _inp(roster, _k8s)
	_codes(result, "namespaces-mismatch") == {{
		"code": "namespaces-mismatch",
		"msg": "roster namespaces of \"brin\" differ from k8s_users \"brin\" (only in roster: \"brin\"); list the same namespaces in both files",
		"path": ["roster", "users", "brin", "namespaces"],
		"related": [["k8s_users", "brin", "role"]],
	}}
}

test_namespaces_absent_and_empty_are_equal if {
	roster := object.union(_roster, {"ada": {"namespaces": []}})
	k8s := object.union(object.remove(_k8s, ["ada"]), {"ada": {"role": "admin", "email": "ada@example.org"}})
	count(tiers.deny) == 0 with input as _inp(roster, k8s)
}
