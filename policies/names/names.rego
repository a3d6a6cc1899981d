# METADATA
# title: Names
# description: |
#   Checks names that must be reserved-free or unique across all users:
#   namespaces, k8s_users keys, emails, Authentik users, roster k8s_user joins
#   and DNS domains. Every uniqueness check reports each claim except the
#   first (ordered by file, user and position) and points back at that first
#   claim.
package names

_roster := object.get(input, ["roster", "users"], {})

_k8s := object.get(input, "k8s_users", {})

_reserved_namespaces := {ns | some ns in object.get(input, ["config", "reserved_namespaces"], [])}

_reserved_user_keys := {key | some key in object.get(input, ["config", "reserved_user_keys"], [])}

_zones := [lower(zone) | some zone in object.get(input, ["config", "zones"], [])]

# Uniqueness checks group [name, claim] pairs by sorting them, which puts equal
# names next to each other: O(n log n) in OPA and regorus alike, where a
# multi-value rule (`x[name] contains claim`) or a nested comprehension is
# quadratic in one engine or the other.
#
# The result holds [name, claim, first] for every claim after the first
# (smallest) claim of its name.
_repeats(pairs) := {[name, claim, first[name]] | some [name, claim] in later} if {
	sorted := sort(pairs)
	n := count(sorted)
	previous := array.slice(sorted, 0, n - 1)
	later := [pair | some i, pair in array.slice(sorted, 1, n); previous[i][0] == pair[0]]
	repeated := {pair[0] | some pair in later}
	first := {name: claim |
		some i, [name, claim] in sorted
		name in repeated
		not sorted[i - 1][0] == name
	}
}

# Every namespace listed anywhere, keyed per file: the roster and k8s_users
# each describe every owner once, so a namespace may appear once in each. The
# claim is the JSON path of the list element.
_namespace_pairs contains [["roster", ns], ["roster", "users", os_user, "namespaces", i]] if {
	some os_user, row in _roster
	some i, ns in object.get(row, "namespaces", [])
}

_namespace_pairs contains [["k8s_users", ns], ["k8s_users", user, "namespaces", i]] if {
	some user, entry in _k8s
	some i, ns in object.get(entry, "namespaces", [])
}

_namespace_repeats := _repeats(_namespace_pairs)

_owner(path) := path[2] if path[0] == "roster"

_owner(path) := path[1] if path[0] == "k8s_users"

_also_claimed(ns, path, first) := sprintf("namespace \"%s\" is listed twice by \"%s\"", [ns, _owner(path)]) if {
	_owner(path) == _owner(first)
}

_also_claimed(ns, path, first) := sprintf("namespace \"%s\" is also claimed by \"%s\"", [ns, _owner(first)]) if {
	_owner(path) != _owner(first)
}

# METADATA
# title: Reserved namespace
# description: |
#   A tenant may not own a namespace listed in `reserved_namespaces` of
#   tenancy.yaml (kube-system, default, vault, woodpecker and other platform
#   namespaces). Owning it would grant the tenant `admin` inside a platform
#   namespace and make the namespace apply fail because it already exists.
#   Fix: choose a new, tenant-only namespace name.
# scope: rule
# custom:
#   code: namespace-reserved
#   severity: error
deny contains v if {
	some [[_, ns], path] in _namespace_pairs
	ns in _reserved_namespaces
	v := {
		"code": "namespace-reserved",
		"msg": sprintf("namespace \"%s\" is reserved for the platform; tenants may only own new, tenant-only namespaces", [ns]),
		"path": path,
	}
}

# METADATA
# title: Namespace claimed twice
# description: |
#   Each namespace has exactly one owner and appears once per file. Two owners
#   of one namespace would each get a ResourceQuota `user-quota` and an admin
#   RoleBinding there, which conflict at apply and let each tenant administer
#   the other's workloads. Every claim after the first (in user order) is
#   reported. Fix: remove the namespace from all but one user.
# scope: rule
# custom:
#   code: namespace-claimed-twice
#   severity: error
deny contains v if {
	some [[_, ns], path, first] in _namespace_repeats
	v := {
		"code": "namespace-claimed-twice",
		"msg": sprintf("%s; a namespace has one owner, so remove it from one of them", [_also_claimed(ns, path, first)]),
		"path": path,
		"related": [first],
	}
}

# METADATA
# title: Reserved user key
# description: |
#   A k8s_users key may not be one of `reserved_user_keys` in tenancy.yaml.
#   The key names the user's Vault paths (`secret/data/<key>/*`), Vault entity
#   and RBAC objects, so a key such as `platform` would hand the tenant the
#   platform's own secrets (including k8s_users itself). Fix: choose another
#   key.
# scope: rule
# custom:
#   code: user-key-reserved
#   severity: error
deny contains v if {
	some user, _ in _k8s
	user in _reserved_user_keys
	v := {
		"code": "user-key-reserved",
		"msg": sprintf("user key \"%s\" is reserved (it would own Vault path secret/data/%s of a platform service); choose another key", [user, user]),
		"path": ["k8s_users", user],
	}
}

_email_repeats := _repeats({[lower(entry.email), user] | some user, entry in _k8s})

# METADATA
# title: Duplicate email
# description: |
#   Emails in k8s_users must be unique, compared case-insensitively. The email
#   is the OIDC username, the RBAC subject and the Vault entity alias, so two
#   users with one email would share one identity, and Vault rejects the
#   second alias at apply. Fix: give each user their own email.
# scope: rule
# custom:
#   code: email-duplicate
#   severity: error
deny contains v if {
	some [_, user, first] in _email_repeats
	v := {
		"code": "email-duplicate",
		"msg": sprintf("email \"%s\" is also used by k8s user \"%s\"; each user needs their own email (it is the OIDC username)", [_k8s[user].email, first]),
		"path": ["k8s_users", user, "email"],
		"related": [["k8s_users", first, "email"]],
	}
}

_authentik_user_repeats := _repeats({[row.authentik_user, os_user] | some os_user, row in _roster})

# METADATA
# title: Duplicate Authentik user
# description: |
#   Each roster row needs its own `authentik_user`. The login map is keyed by
#   it, so with two rows only the last one can ever be reached and the other
#   person would log in as the wrong OS user. Fix: correct the duplicate.
# scope: rule
# custom:
#   code: authentik-user-duplicate
#   severity: error
deny contains v if {
	some [name, os_user, first] in _authentik_user_repeats
	v := {
		"code": "authentik-user-duplicate",
		"msg": sprintf("authentik_user \"%s\" is also used by roster user \"%s\"; each roster row needs its own Authentik user", [name, first]),
		"path": ["roster", "users", os_user, "authentik_user"],
		"related": [["roster", "users", first, "authentik_user"]],
	}
}

_k8s_user_repeats := _repeats({[row.k8s_user, os_user] | some os_user, row in _roster})

# METADATA
# title: k8s_user shared by roster rows
# description: |
#   Two roster rows may not join to the same k8s_user: the cluster identity
#   (email, namespaces, tier) belongs to one person, and the tier check could
#   not tell whose row is right. Fix: give each row its own k8s_user.
# scope: rule
# custom:
#   code: k8s-user-shared
#   severity: error
deny contains v if {
	some [name, os_user, first] in _k8s_user_repeats
	v := {
		"code": "k8s-user-shared",
		"msg": sprintf("k8s_user \"%s\" is also used by roster user \"%s\"; each roster row needs its own k8s_user", [name, first]),
		"path": ["roster", "users", os_user, "k8s_user"],
		"related": [["roster", "users", first, "k8s_user"]],
	}
}

# An RFC 1123 DNS name: dot-separated labels of 1-63 letters, digits and
# inner hyphens, 253 characters at most. A bare label is one label.
_dns_name := `^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$`

_valid_domain(domain) if {
	regex.match(_dns_name, lower(domain))
	count(domain) <= 253
}

_domain_claims contains [user, i, domain] if {
	some user, entry in _k8s
	some i, domain in object.get(entry, "domains", [])
}

_in_zone(domain) if {
	some zone in _zones
	domain == zone
}

_in_zone(domain) if {
	some zone in _zones
	endswith(domain, concat("", [".", zone]))
}

# A bare label is created in the first (primary) zone.
_fqdn(domain) := concat(".", [lower(domain), _zones[0]]) if {
	not contains(domain, ".")
	count(_zones) > 0
} else := lower(domain)

# METADATA
# title: Invalid domain
# description: |
#   A domain must be a valid DNS name: a bare label such as `books` (created
#   in the primary zone) or a full name such as `books.example.org`, made of
#   labels of 1-63 letters, digits and inner hyphens, 253 characters at most,
#   without wildcards, underscores or a trailing dot. Fix: correct the name.
# scope: rule
# custom:
#   code: domain-invalid
#   severity: error
deny contains v if {
	some [user, i, domain] in _domain_claims
	not _valid_domain(domain)
	v := {
		"code": "domain-invalid",
		"msg": sprintf("domain \"%s\" is not a valid DNS name (labels of letters, digits and inner hyphens, separated by dots); correct it", [domain]),
		"path": ["k8s_users", user, "domains", i],
	}
}

# METADATA
# title: Domain outside the configured zones
# description: |
#   A full domain name (one with a dot) must equal or end in one of `zones` in
#   tenancy.yaml, because records can only be created in zones the platform
#   manages. A bare label is placed in the primary zone (the first of
#   `zones`), so it needs at least one zone configured. Fix: use a name under
#   a configured zone or a bare label, or add the zone to tenancy.yaml.
# scope: rule
# custom:
#   code: domain-outside-zone
#   severity: error
deny contains v if {
	some [user, i, domain] in _domain_claims
	_valid_domain(domain)
	_outside_zone(domain)
	v := {
		"code": "domain-outside-zone",
		"msg": _outside_zone_message(domain),
		"path": ["k8s_users", user, "domains", i],
	}
}

_outside_zone(domain) if {
	contains(domain, ".")
	not _in_zone(lower(domain))
}

_outside_zone(domain) if {
	not contains(domain, ".")
	count(_zones) == 0
}

_outside_zone_message(domain) := sprintf("domain \"%s\" is not in a configured zone (%s); use a name under one of them or add its zone to tenancy.yaml", [
	domain, concat(", ", _zones),
]) if {
	count(_zones) > 0
}

_outside_zone_message(domain) := sprintf("domain \"%s\" is a full name but no zone is configured (zones in tenancy.yaml is empty); add its zone to tenancy.yaml", [domain]) if {
	contains(domain, ".")
	count(_zones) == 0
}

_outside_zone_message(domain) := sprintf("domain \"%s\" is a bare label but no zone is configured (zones in tenancy.yaml is empty); write the full name and add its zone to tenancy.yaml", [domain]) if {
	not contains(domain, ".")
	count(_zones) == 0
}

_domain_repeats := _repeats({[_fqdn(domain), [user, i]] | some [user, i, domain] in _domain_claims})

_domain_claimed(name, user, i, first) := sprintf("domain \"%s\" (%s) is listed twice by \"%s\"", [_k8s[user].domains[i], name, user]) if {
	user == first[0]
}

_domain_claimed(name, user, i, first) := sprintf("domain \"%s\" (%s) is also claimed by \"%s\"", [_k8s[user].domains[i], name, first[0]]) if {
	user != first[0]
}

# METADATA
# title: Domain claimed twice
# description: |
#   Each DNS name may be claimed once across all k8s_users. A bare label `L`
#   and the full name `L.<primary zone>` are the same domain. Two claims create
#   the same DNS record twice, which fails the DNS apply. Every claim after the
#   first (in user order) is reported. Fix: remove the domain from all but one
#   user.
# scope: rule
# custom:
#   code: domain-claimed-twice
#   severity: error
deny contains v if {
	some [name, [user, i], first] in _domain_repeats
	v := {
		"code": "domain-claimed-twice",
		"msg": sprintf("%s; a domain has one owner, so remove it from one of them", [_domain_claimed(name, user, i, first)]),
		"path": ["k8s_users", user, "domains", i],
		"related": [["k8s_users", first[0], "domains", first[1]]],
	}
}
