# METADATA
# title: Repos
# description: |
#   Checks the workspace repositories of roster users: repos are cloned only
#   in the workspace layout, infra is never listed, and every name is a safe
#   directory name under ~/code.
package repos

_safe_name := `^[A-Za-z0-9][A-Za-z0-9._-]*$`

_repos contains [os_user, i, repo] if {
	some os_user, row in input.roster.users
	some i, repo in object.get(row, "repos", [])
}

_layout_related(os_user, row) := [["roster", "users", os_user, "code_layout"]] if {
	"code_layout" in object.keys(row)
} else := [["roster", "users", os_user]]

# METADATA
# title: Repos without the workspace layout
# description: |
#   `repos` are cloned to ~/code/<repo>, which exists only with
#   `code_layout: workspace`. With the default `single` layout ~/code is the
#   infra clone itself, so the repos would never be cloned. Fix: set
#   `code_layout: workspace` or remove `repos`.
# scope: rule
# custom:
#   code: repos-without-workspace
#   severity: error
deny contains v if {
	some os_user, row in input.roster.users
	count(object.get(row, "repos", [])) > 0
	layout := object.get(row, "code_layout", "single")
	layout != "workspace"
	v := {
		"code": "repos-without-workspace",
		"msg": sprintf("roster user \"%s\" lists repos but its code_layout is \"%s\"; repos require code_layout: workspace", [os_user, layout]),
		"path": ["roster", "users", os_user, "repos"],
		"related": _layout_related(os_user, row),
	}
}

# METADATA
# title: infra listed in repos
# description: |
#   The infra repository is always cloned, at ~/code/infra in the workspace
#   layout, so listing it in `repos` would clone it twice into the same
#   place. Fix: drop `infra` from repos.
# scope: rule
# custom:
#   code: repo-infra
#   severity: error
deny contains v if {
	some [os_user, i, repo] in _repos
	repo == "infra"
	v := {
		"code": "repo-infra",
		"msg": sprintf("roster user \"%s\": infra is implicit at ~/code/infra — drop it from repos", [os_user]),
		"path": ["roster", "users", os_user, "repos", i],
	}
}

# METADATA
# title: Unsafe repository name
# description: |
#   A repo name becomes a directory under ~/code and part of a clone URL, so it
#   must start with a letter or digit, contain only letters, digits, `.`, `_`
#   and `-`, and never `..`. Names like `../evil`, `a/b`, `.hidden` or `-flag`
#   could escape the workspace or be read as a command-line option. Fix: use
#   the plain repository name.
# scope: rule
# custom:
#   code: repo-unsafe-name
#   severity: error
deny contains v if {
	some [os_user, i, repo] in _repos
	not _safe(repo)
	v := {
		"code": "repo-unsafe-name",
		"msg": sprintf("roster user \"%s\": unsafe repo name \"%s\"; use letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit, without \"..\"", [os_user, repo]),
		"path": ["roster", "users", os_user, "repos", i],
	}
}

_safe(repo) if {
	regex.match(_safe_name, repo)
	not contains(repo, "..")
}
