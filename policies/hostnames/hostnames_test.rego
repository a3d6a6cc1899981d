package hostnames_test

import data.hostnames

_config := {"zones": ["example.org", "apps.example.net"], "reserved_hostnames": ["vault", "grafana", "status.example.net"]}

_input(domains) := {"k8s_users": {"cleo": {"role": "namespace-owner", "domains": domains}}, "config": _config}

test_a_reserved_label_is_refused_as_a_label_and_as_a_full_name_in_any_zone if {
	every domain in ["vault", "Vault", "vault.example.org", "grafana.apps.example.net", "api.vault.example.org", "status.example.net", "a.status.example.net"] {
		result := hostnames.deny with input as _input(["cleo", domain])
		{[v.code, v.path] | some v in result} == {["domain-reserved", ["k8s_users", "cleo", "domains", 1]]}
	}
}

test_message if {
	result := hostnames.deny with input as _input(["vault"])
	{v.msg | some v in result} == {"domain \"vault\" of cleo is the platform hostname vault.example.org (or under it); choose another name"}
}

test_other_names_are_quiet if {
	result := hostnames.deny with input as _input(["cleo", "vaults", "myvault.example.org", "vault-cleo", "status.example.org"])
	result == set()
}

test_no_zones_and_no_domains_are_quiet if {
	result := hostnames.deny with input as {"k8s_users": {"cleo": {}, "dara": {"domains": ["vault"]}}, "config": {"zones": [], "reserved_hostnames": ["vault"]}}
	result == set()
}
