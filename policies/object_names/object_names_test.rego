package object_names_test

import data.object_names

_row(authentik) := {"authentik_user": authentik, "k8s_user": authentik, "tier": "power-user"}

_inp(os_users) := {"roster": {"users": {os_user: _row(sprintf("u%d", [i])) | some i, os_user in os_users}}}

test_distinct_names_are_clean if {
	object_names.deny == set() with input as _inp(["ada", "brin_k", "brin-l", "cleo"])
	object_names.deny == set() with input as {"roster": {"users": null}}
	object_names.deny == set() with input as {}
}

test_os_user_name_clash if {
	result := object_names.deny with input as _inp(["ada", "a_b", "a-b", "a__b"])
	result == {{
		"code": "os-user-name-clash",
		"msg": "os_user \"a_b\" renders the same object names as \"a-b\" (both become \"a-b\": names cannot hold '_')",
		"path": ["roster", "users", "a_b"],
		"related": [["roster", "users", "a-b"]],
	}}
}

test_every_clash_points_at_the_first if {
	result := object_names.deny with input as _inp(["x-y-z", "x_y-z", "x-y_z", "x_y_z"])
	{v.path[2] | some v in result} == {"x_y-z", "x-y_z", "x_y_z"}
	{v.related[0][2] | some v in result} == {"x-y-z"}
}
