package rendered_hosts_test

import data.rendered_hosts

_config := {"zones": ["example.org"], "reserved_hostnames": ["vault", "status.example.net"]}

_input(objects) := {"objects": [{"file": "f.yaml", "object": o} | some o in objects], "config": _config}

_certificate(names) := {"kind": "Certificate", "metadata": {"name": "tls-cleo"}, "spec": {"dnsNames": names}}

_dns(names) := {"kind": "DNSEndpoint", "metadata": {"name": "dns-cleo"}, "spec": {"endpoints": [{"dnsName": n} | some n in names]}}

test_each_kind_fires_at_the_name if {
	result := rendered_hosts.deny with input as _input([
		_certificate(["cleo.example.org", "vault.example.org"]),
		_dns(["api.vault.example.org", "status.example.net"]),
	])
	{[v.code, v.path] | some v in result} == {
		["rendered-reserved-hostname", ["objects", 0, "object", "spec", "dnsNames", 1]],
		["rendered-reserved-hostname", ["objects", 1, "object", "spec", "endpoints", 0, "dnsName"]],
		["rendered-reserved-hostname", ["objects", 1, "object", "spec", "endpoints", 1, "dnsName"]],
	}
}

test_message if {
	result := rendered_hosts.deny with input as _input([_certificate(["vault.example.org"])])
	{v.msg | some v in result} == {"Certificate \"tls-cleo\" names vault.example.org, the platform hostname vault.example.org (or under it)"}
}

test_tenant_names_are_quiet if {
	result := rendered_hosts.deny with input as _input([
		_certificate(["cleo.example.org", "myvault.example.org"]),
		_dns(["vaults.example.org"]),
	])
	result == set()
}
