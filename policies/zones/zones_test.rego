package zones_test

import data.zones

_input(zone_list, users) := {"k8s_users": users, "config": {"zones": zone_list}}

test_one_warning_at_the_first_full_name if {
	result := zones.warn with input as _input([], {
		"dara": {"domains": ["dara.example.net"]},
		"cleo": {"domains": ["cleo.example.net", "books.example.net"]},
	})
	result == {{
		"code": "zones-not-configured",
		"msg": "no DNS zone is configured: 3 domain name(s) are accepted without checking that the platform owns them",
		"path": ["k8s_users", "cleo", "domains", 0],
	}}
}

test_quiet_with_a_zone_or_without_full_names if {
	with_zone := zones.warn with input as _input(["example.net"], {"cleo": {"domains": ["cleo.example.net"]}})
	with_zone == set()
	labels_only := zones.warn with input as _input([], {"cleo": {"domains": ["cleo"]}, "dara": {}})
	labels_only == set()
}
