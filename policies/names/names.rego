# METADATA
# title: Names
# description: |
#   Checks names that must be reserved-free or unique across all users:
#   namespaces, k8s_users keys, emails, Authentik users, roster k8s_user joins
#   and DNS domains. Every uniqueness check reports each claim except the
#   first (ordered by user and position) and points back at that first claim.
package names

_reserved_namespaces := {ns | some ns in object.get(input, ["config", "reserved_namespaces"], [])}

_reserved_user_keys := {key | some key in object.get(input, ["config", "reserved_user_keys"], [])}

_zones := [_fold(zone) | some zone in object.get(input, ["config", "zones"], [])]

# Cost model: every check makes one cheap pass over flat lists of names;
# per-claim work happens only for the few names that are flagged. Grouping
# with a multi-value rule (`x[name] contains claim`) or a nested comprehension
# is quadratic in OPA or regorus, so it is never used. Collections passed to
# functions are named rules: OPA re-evaluates a comprehension argument at
# every use inside the function.

# The names that occur more than once in a list. Sorting puts equal names next
# to each other; comparing each with its predecessor finds the repeats.
_duplicated(names) := {name |
	some i, name in array.slice(sorted, 1, count(sorted))
	sorted[i] == name
} if {
	sorted := sort(names)
}

# Case folding is ASCII-only: OPA and regorus lower-case some non-ASCII
# letters differently (final sigma), and emails and DNS names compare
# case-insensitively only in ASCII anyway.
_ascii_lower := {
	"A": "a", "B": "b", "C": "c", "D": "d", "E": "e", "F": "f", "G": "g",
	"H": "h", "I": "i", "J": "j", "K": "k", "L": "l", "M": "m", "N": "n",
	"O": "o", "P": "p", "Q": "q", "R": "r", "S": "s", "T": "t", "U": "u",
	"V": "v", "W": "w", "X": "x", "Y": "y", "Z": "z",
}

_fold(s) := strings.replace_n(_ascii_lower, s)

# _fold of every string, in one builtin call when no string contains a
# newline (the usual case), else one call per string.
_fold_all(strings) := folded if {
	folded := split(_fold(concat("\n", strings)), "\n")
	count(folded) == count(strings)
} else := [_fold(s) | some s in strings]

# [name, claim, first] for every claim of a name after its first (smallest)
# claim. Only ever called with the claims of flagged names; sorting keeps it
# linear in their number.
_repeats(pairs) := {[name, claim, first[name]] |
	some [name, claim] in pairs
	claim != first[name]
} if {
	sorted := sort(pairs)
	first := {name: claim |
		some i, [name, claim] in sorted
		not sorted[i - 1][0] == name
	}
}

_roster_namespaces := [ns | some row in input.roster.users; some ns in row.namespaces]

_k8s_namespaces := [ns | some entry in input.k8s_users; some ns in entry.namespaces]

# Per file: the roster and k8s_users each describe every owner once, so a
# namespace may appear once in each.
_duplicated_namespaces := {
	"roster": _duplicated(_roster_namespaces),
	"k8s_users": _duplicated(_k8s_namespaces),
}

# Membership in a list is a native scan, so this costs no Rego step per
# namespace (there are few reserved names).
_reserved_in_use := {ns | some ns in _reserved_namespaces; _listed(ns)}

_listed(ns) if ns in _roster_namespaces

_listed(ns) if ns in _k8s_namespaces

_flagged_namespaces := (_reserved_in_use | _duplicated_namespaces.roster) | _duplicated_namespaces.k8s_users

# [file, namespace, JSON path of the list element] for flagged namespaces.
_flagged_claims contains ["roster", ns, ["roster", "users", os_user, "namespaces", i]] if {
	count(_flagged_namespaces) > 0
	some os_user, row in input.roster.users
	some i, ns in row.namespaces
	ns in _flagged_namespaces
}

_flagged_claims contains ["k8s_users", ns, ["k8s_users", user, "namespaces", i]] if {
	count(_flagged_namespaces) > 0
	some user, entry in input.k8s_users
	some i, ns in entry.namespaces
	ns in _flagged_namespaces
}

_duplicated_namespace_claims := {[[file, ns], path] |
	some [file, ns, path] in _flagged_claims
	ns in _duplicated_namespaces[file]
}

_namespace_repeats := _repeats(_duplicated_namespace_claims)

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
	some [_, ns, path] in _flagged_claims
	ns in _reserved_in_use
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
	some user in _reserved_user_keys
	input.k8s_users[user]
	v := {
		"code": "user-key-reserved",
		"msg": sprintf("user key \"%s\" is reserved (it would own Vault path secret/data/%s of a platform service); choose another key", [user, user]),
		"path": ["k8s_users", user],
	}
}

_emails := [entry.email | some entry in input.k8s_users]

_folded_emails := _fold_all(_emails)

_duplicated_emails := _duplicated(_folded_emails)

# The duplicated emails as written, so that finding their users needs no
# folding per user.
_duplicated_emails_as_written := {_emails[i] |
	count(_duplicated_emails) > 0
	some i, email in _folded_emails
	email in _duplicated_emails
}

_email_claims := {[_fold(entry.email), user] |
	count(_duplicated_emails) > 0
	some user, entry in input.k8s_users
	entry.email in _duplicated_emails_as_written
}

_email_repeats := _repeats(_email_claims)

# METADATA
# title: Duplicate email
# description: |
#   Emails in k8s_users must be unique, compared ignoring ASCII case. The email
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
		"msg": sprintf("email \"%s\" is also used by k8s user \"%s\"; each user needs their own email (it is the OIDC username)", [input.k8s_users[user].email, first]),
		"path": ["k8s_users", user, "email"],
		"related": [["k8s_users", first, "email"]],
	}
}

_authentik_users := [row.authentik_user | some row in input.roster.users]

_duplicated_authentik_users := _duplicated(_authentik_users)

_authentik_user_claims := {[row.authentik_user, os_user] |
	count(_duplicated_authentik_users) > 0
	some os_user, row in input.roster.users
	row.authentik_user in _duplicated_authentik_users
}

_authentik_user_repeats := _repeats(_authentik_user_claims)

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

_k8s_users := [row.k8s_user | some row in input.roster.users]

_duplicated_k8s_users := _duplicated(_k8s_users)

_k8s_user_claims := {[row.k8s_user, os_user] |
	count(_duplicated_k8s_users) > 0
	some os_user, row in input.roster.users
	row.k8s_user in _duplicated_k8s_users
}

_k8s_user_repeats := _repeats(_k8s_user_claims)

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
# inner hyphens, 253 characters at most. A bare label is one label. Lengths
# are checked apart from the shape, which keeps the compiled regexes under
# regorus's size limit.
_label := `[a-z0-9]([-a-z0-9]*[a-z0-9])?`

_dns_name := sprintf(`^%s(\.%s)*$`, [_label, _label])

# The same for a comma-separated list: one regex call checks every domain
# when all are valid, which is the common case.
_dns_names := sprintf(`^(%s(\.%s)*(,%s(\.%s)*)*)?$`, [_label, _label, _label, _label])

_domains_as_written := [domain | some entry in input.k8s_users; some domain in entry.domains]

_domains := _fold_all(_domains_as_written)

_all_domains_valid if {
	joined := concat(",", _domains)
	regex.match(_dns_names, joined)
	not regex.match(`[a-z0-9-]{64}`, joined)
	not regex.match(`[a-z0-9.-]{254}`, joined)
}

_valid_domain(domain) if {
	regex.match(_dns_name, domain)
	not regex.match(`[a-z0-9-]{64}`, domain)
	count(domain) <= 253
}

# Folded invalid domains.
_invalid_domains := {domain |
	not _all_domains_valid
	some domain in _domains
	not _valid_domain(domain)
}

_zone_suffixes := {concat("", [".", zone]) | some zone in _zones}

# Each domain with a leading dot, so that one suffix match against ".<zone>"
# also accepts the zone apex itself.
_dotted_domains := dotted if {
	dotted := split(concat("", [".", concat("\n.", _domains)]), "\n")
	count(dotted) == count(_domains)
} else := [concat("", [".", domain]) | some domain in _domains]

# Folded valid domains outside every zone: a full name not equal to or under
# a zone, or any name when no zone is configured.
_outside_zone := {domain |
	count(_zones) > 0
	some i, dotted in _dotted_domains
	not strings.any_suffix_match(dotted, _zone_suffixes)
	domain := _domains[i]
	contains(domain, ".")
	not domain in _invalid_domains
} | {domain |
	count(_zones) == 0
	some domain in _domains
	not domain in _invalid_domains
}

# A bare label is created in the first (primary) zone.
_label_suffix := concat("", [".", _zones[0]]) if {
	count(_zones) > 0
} else := ""

_fqdn(domain) := _fold(domain) if contains(domain, ".")

_fqdn(domain) := concat("", [_fold(domain), _label_suffix]) if not contains(domain, ".")

_domain_names := array.concat(
	[domain | some domain in _domains; contains(domain, ".")],
	[concat("", [domain, _label_suffix]) | some domain in _domains; not contains(domain, ".")],
)

_duplicated_domains := _duplicated(_domain_names)

# Flagged domains as they appear folded in the lists: a duplicated full
# name L.<primary zone> may also be written as the bare label L.
_flagged_domains := ((_invalid_domains | _outside_zone) | _duplicated_domains) | {label |
	_label_suffix != ""
	some name in _duplicated_domains
	endswith(name, _label_suffix)
	label := trim_suffix(name, _label_suffix)
}

_flagged_domains_as_written := {_domains_as_written[i] |
	count(_flagged_domains) > 0
	some i, domain in _domains
	domain in _flagged_domains
}

# [user, index, domain as written] for flagged domains.
_flagged_domain_claims contains [user, i, domain] if {
	count(_flagged_domains) > 0
	some user, entry in input.k8s_users
	some i, domain in entry.domains
	domain in _flagged_domains_as_written
}

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
	some [user, i, domain] in _flagged_domain_claims
	_fold(domain) in _invalid_domains
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
	some [user, i, domain] in _flagged_domain_claims
	_fold(domain) in _outside_zone
	v := {
		"code": "domain-outside-zone",
		"msg": _outside_zone_message(domain),
		"path": ["k8s_users", user, "domains", i],
	}
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

_duplicated_domain_claims := {[name, [user, i]] |
	some [user, i, domain] in _flagged_domain_claims
	name := _fqdn(domain)
	name in _duplicated_domains
}

_domain_repeats := _repeats(_duplicated_domain_claims)

_domain_claimed(name, user, i, first) := sprintf("domain \"%s\" (%s) is listed twice by \"%s\"", [input.k8s_users[user].domains[i], name, user]) if {
	user == first[0]
}

_domain_claimed(name, user, i, first) := sprintf("domain \"%s\" (%s) is also claimed by \"%s\"", [input.k8s_users[user].domains[i], name, first[0]]) if {
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
