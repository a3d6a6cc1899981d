package repos_test

import data.repos

_roster := {
	"ada": {"authentik_user": "ada.l", "k8s_user": "ada", "tier": "admin"},
	"cleom": {
		"authentik_user": "cleo98", "k8s_user": "cleo", "tier": "namespace-owner",
		"namespaces": ["cleo", "cleo-books"], "code_layout": "workspace", "repos": ["tripit", "plot-notes"],
	},
	"dara": {"authentik_user": "dara.v", "k8s_user": "dara", "tier": "namespace-owner", "namespaces": ["dara"]},
}

_inp(roster) := {"roster": {"users": roster}, "k8s_users": {}, "config": {}}

_cleom(repos) := _inp(object.union(_roster, {"cleom": {"repos": repos}}))

_codes(result, code) := {v | some v in result; v.code == code}

test_fixture_is_clean if {
	count(repos.deny) == 0 with input as _inp(_roster)
}

test_empty_inputs_are_clean if {
	count(repos.deny) == 0 with input as _inp({})
	count(repos.deny) == 0 with input as {}
}

test_repos_without_workspace_default_layout if {
	result := repos.deny with input as _inp(object.union(_roster, {"dara": {"repos": ["tripit"]}}))
	result == {{
		"code": "repos-without-workspace",
		"msg": "roster user \"dara\" lists repos but its code_layout is \"single\"; repos require code_layout: workspace",
		"path": ["roster", "users", "dara", "repos"],
		"related": [["roster", "users", "dara"]],
	}}
}

test_repos_without_workspace_single_layout if {
	result := repos.deny with input as _inp(object.union(_roster, {"cleom": {"code_layout": "single"}}))
	result == {{
		"code": "repos-without-workspace",
		"msg": "roster user \"cleom\" lists repos but its code_layout is \"single\"; repos require code_layout: workspace",
		"path": ["roster", "users", "cleom", "repos"],
		"related": [["roster", "users", "cleom", "code_layout"]],
	}}
}

test_empty_repos_without_workspace_pass if {
	result := repos.deny with input as _inp(object.union(_roster, {"dara": {"repos": []}}))
	count(_codes(result, "repos-without-workspace")) == 0
}

test_repo_infra if {
	result := repos.deny with input as _cleom(["tripit", "infra"])
	result == {{
		"code": "repo-infra",
		"msg": "roster user \"cleom\": infra is implicit at ~/code/infra — drop it from repos",
		"path": ["roster", "users", "cleom", "repos", 1],
	}}
}

test_repo_named_like_infra_passes if {
	result := repos.deny with input as _cleom(["infra2", "my-infra"])
	count(_codes(result, "repo-infra")) == 0
}

test_repo_unsafe_name if {
	result := repos.deny with input as _cleom(["../evil"])
	result == {{
		"code": "repo-unsafe-name",
		"msg": "roster user \"cleom\": unsafe repo name \"../evil\"; use letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit, without \"..\"",
		"path": ["roster", "users", "cleom", "repos", 0],
	}}
}

test_repo_unsafe_name_table if {
	every repo in ["../evil", "a/b", "", ".hidden", "-flag", "a..b", "a b", "_x", "tripit\n", "ü"] {
		{v.path | some v in repos.deny; v.code == "repo-unsafe-name"} == {["roster", "users", "cleom", "repos", 0]} with input as _cleom([repo])
	}
}

test_repo_safe_name_table if {
	every repo in ["tripit", "plot-notes", "a.b", "A_1", "9lives", "x.", "v1.2.3"] {
		count(repos.deny) == 0 with input as _cleom([repo])
	}
}

test_repo_empty_when_only_repo if {
	roster := {"cleom": object.union(_roster.cleom, {"repos": [""]})}
	result := repos.deny with input as _inp(roster)
	{v.path | some v in result} == {["roster", "users", "cleom", "repos", 0]}
}
