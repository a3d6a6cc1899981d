# METADATA
# title: Repos
# description: |
#   Checks the workspace repositories of roster users: repos are cloned only
#   in the workspace layout, infra is never listed, and every name is a safe
#   directory name under ~/code.
# entrypoint: true
package repos

_all_repos := [repo | some row in input.roster.users; some repo in row.repos]

_joined := concat("\n", _all_repos)

# One regex call checks every name when all are safe, which is the common
# case; a safe name has no newline, so the lines are exactly the names.
_all_safe if count(_all_repos) == 0

_all_safe if {
	regex.match(`^[A-Za-z0-9][A-Za-z0-9._-]*(\n[A-Za-z0-9][A-Za-z0-9._-]*)*$`, _joined)
	not contains(_joined, "..")
}

# Otherwise the safe lines are found natively too, and the unsafe names are
# the rest (a name with a newline is never a whole safe line).
_unsafe contains repo if {
	not _all_safe
	some repo in _all_repos
	not _safe_line(repo)
}

_safe_lines contains line if {
	some line in regex.find_n(`(?m)^[A-Za-z0-9][A-Za-z0-9._-]*$`, _joined, -1)
}

_safe_line(repo) if {
	repo in _safe_lines
	not contains(repo, "..")
}

_flagged_names contains repo if {
	some repo in _unsafe
}

_flagged_names contains "infra" if "infra" in _all_repos

# [os_user, index, repo] for every repo that some rule reports.
_flagged contains [os_user, i, repo] if {
	count(_flagged_names) > 0
	some os_user, row in input.roster.users
	some i, repo in row.repos
	repo in _flagged_names
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
	count(row.repos) > 0
	not row.code_layout == "workspace"
	layout := object.get(row, "code_layout", "single")
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
	some [os_user, i, repo] in _flagged
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
	some [os_user, i, repo] in _flagged
	repo in _unsafe
	v := {
		"code": "repo-unsafe-name",
		"msg": sprintf("roster user \"%s\": unsafe repo name \"%s\"; use letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit, without \"..\"", [os_user, repo]),
		"path": ["roster", "users", os_user, "repos", i],
	}
}
