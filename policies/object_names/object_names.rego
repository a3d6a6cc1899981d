# METADATA
# title: Object names
# description: |
#   Checks that what validates also renders: os_users are rendered into object
#   names with `-` for `_` (Kubernetes and Vault object names cannot hold `_`),
#   so two os_users that differ only there would name the same objects, and
#   render refuses the clash.
# entrypoint: true
package object_names

# [rendered name, os_user], sorted: rows that clash are neighbours, and the
# first of each name (the smallest os_user) is the one the others point at.
default _users := {}

_users := input.roster.users if is_object(input.roster.users)

_rendered := sort([[replace(os_user, "_", "-"), os_user] | some os_user, _ in _users])

_clashing contains i if {
	some i, [name, _] in _rendered
	i > 0
	_rendered[i - 1][0] == name
}

# METADATA
# title: os_users that render the same names
# description: |
#   Object names cannot hold `_`, so an os_user is rendered with `-` in its
#   place: `a_b` and `a-b` would both be the Vault policy
#   workstation-claude-a-b, and render refuses the clash. Fix: rename one of
#   the rows.
# scope: rule
# custom:
#   code: os-user-name-clash
#   severity: error
deny contains v if {
	some i in _clashing
	[name, os_user] := _rendered[i]
	first := min({other | some [rendered, other] in _rendered; rendered == name})
	v := {
		"code": "os-user-name-clash",
		"msg": sprintf("os_user \"%s\" renders the same object names as \"%s\" (both become \"%s\": names cannot hold '_')", [os_user, first, name]),
		"path": ["roster", "users", os_user],
		"related": [["roster", "users", first]],
	}
}
