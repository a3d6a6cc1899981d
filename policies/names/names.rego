# METADATA
# title: Names
# description: |
#   Checks names that must be reserved-free or unique across all users:
#   namespaces, k8s_users keys, emails, Authentik users, roster k8s_user joins
#   and DNS domains. Every uniqueness check reports each claim except the
#   first (ordered by user and position) and points back at that first claim.
# entrypoint: true
package names

# Each check makes one cheap pass over flat lists of names; per-claim work is
# done only for flagged names. Grouping with `x[name] contains claim` or a
# nested comprehension is quadratic in OPA or regorus. Arguments of functions
# are named rules (OPA re-evaluates a comprehension argument at each use), and
# partial rule heads are variables (regorus fails on an undefined head).

_reserved_namespaces contains ns if some ns in input.config.reserved_namespaces

_reserved_user_keys contains key if some key in input.config.reserved_user_keys

_zones := [_fold(zone) | some zone in object.get(input, ["config", "zones"], [])]

# The names that occur more than once in a list. Sorting puts equal names next
# to each other; comparing each with its predecessor finds the repeats.
_duplicated(names) := {name |
	some i, name in array.slice(sorted, 1, count(sorted))
	sorted[i] == name
} if {
	sorted := sort(names)
}

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

# Case folding is ASCII-only: OPA and regorus lower-case some non-ASCII
# letters differently (final sigma), and emails and DNS names compare
# case-insensitively only in ASCII anyway.
_ascii_lower := {
	"A": "a", "B": "b", "C": "c", "D": "d", "E": "e", "F": "f", "G": "g",
	"H": "h", "I": "i", "J": "j", "K": "k", "L": "l", "M": "m", "N": "n",
	"O": "o", "P": "p", "Q": "q", "R": "r", "S": "s", "T": "t", "U": "u",
	"V": "v", "W": "w", "X": "x", "Y": "y", "Z": "z",
}

_fold(text) := strings.replace_n(_ascii_lower, text)

# _fold of every text, in one builtin call when no text contains a newline
# (the usual case), else one call per text.
_fold_all(texts) := folded if {
	folded := split(_fold(concat("\n", texts)), "\n")
	count(folded) == count(texts)
} else := [_fold(text) | some text in texts]

# Namespaces. Per file: the roster and k8s_users each describe every owner
# once, so a namespace may appear once in each.

_roster_namespaces := [ns | some row in input.roster.users; some ns in row.namespaces]

_k8s_namespaces := [ns | some entry in input.k8s_users; some ns in entry.namespaces]

_duplicated_namespaces := {
	"roster": _duplicated(_roster_namespaces),
	"k8s_users": _duplicated(_k8s_namespaces),
}

# Membership in a list is a native scan, so this costs no Rego step per
# namespace (there are few reserved names).
_reserved_in_use contains ns if {
	some ns in _reserved_namespaces
	_listed(ns)
}

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

_duplicated_namespace_claims contains [[file, ns], path] if {
	some [file, ns, path] in _flagged_claims
	ns in _duplicated_namespaces[file]
}

_namespace_repeats := _repeats(_duplicated_namespace_claims)

_owner(path) := path[2] if path[0] == "roster"

_owner(path) := path[1] if path[0] == "k8s_users"

_also_claimed(ns, path, first) := sprintf("namespace \"%s\" is listed twice by \"%s\"", [ns, _owner(path)]) if _owner(path) == _owner(first)

_also_claimed(ns, path, first) := sprintf("namespace \"%s\" is also claimed by \"%s\"", [ns, _owner(first)]) if _owner(path) != _owner(first)

# Emails, compared folded.

_emails := [entry.email | some entry in input.k8s_users]

_folded_emails := _fold_all(_emails)

_duplicated_emails := _duplicated(_folded_emails)

# The duplicated emails as written, so that finding their users needs no
# folding per user.
_duplicated_emails_as_written contains written if {
	count(_duplicated_emails) > 0
	some i, email in _folded_emails
	email in _duplicated_emails
	written := _emails[i]
}

_email_claims contains [email, user] if {
	count(_duplicated_emails) > 0
	some user, entry in input.k8s_users
	entry.email in _duplicated_emails_as_written
	email := _fold(entry.email)
}

_email_repeats := _repeats(_email_claims)

# Authentik users and k8s_user joins. Counting distinct names first spares
# building and sorting the list when every name is unique.

default _duplicated_authentik_users := set()

_duplicated_authentik_users := _duplicated([row.authentik_user | some row in input.roster.users]) if {
	count({row.authentik_user | some row in input.roster.users}) < count(input.roster.users)
}

_authentik_user_claims contains [name, os_user] if {
	count(_duplicated_authentik_users) > 0
	some os_user, row in input.roster.users
	name := row.authentik_user
	name in _duplicated_authentik_users
}

_authentik_user_repeats := _repeats(_authentik_user_claims)

default _duplicated_k8s_users := set()

_duplicated_k8s_users := _duplicated([row.k8s_user | some row in input.roster.users]) if {
	count({row.k8s_user | some row in input.roster.users}) < count(input.roster.users)
}

_k8s_user_claims contains [name, os_user] if {
	count(_duplicated_k8s_users) > 0
	some os_user, row in input.roster.users
	name := row.k8s_user
	name in _duplicated_k8s_users
}

_k8s_user_repeats := _repeats(_k8s_user_claims)

# Domains. An RFC 1123 DNS name: dot-separated labels of 1-63 letters,
# digits and inner hyphens, 253 characters at most. A bare label is one
# label. Lengths are checked apart from the shape, which keeps the compiled
# regexes under regorus's size limit.

_label := `[a-z0-9]([-a-z0-9]*[a-z0-9])?`

_dns_name := sprintf(`^%s(\.%s)*$`, [_label, _label])

# The same for a comma-separated list: one regex call checks every domain
# when all are valid, which is the common case.
_dns_names := sprintf(`^%s(\.%s)*(,%s(\.%s)*)*$`, [_label, _label, _label, _label])

_domains_as_written := [domain | some entry in input.k8s_users; some domain in entry.domains]

_domains := _fold_all(_domains_as_written)

_all_domains_valid if count(_domains) == 0

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
_invalid_domains contains domain if {
	not _all_domains_valid
	some domain in _domains
	not _valid_domain(domain)
}

_zone_suffixes contains suffix if {
	some zone in _zones
	suffix := concat("", [".", zone])
}

# Each domain with a leading dot, so that one suffix match against ".<zone>"
# also accepts the zone apex itself.
_dotted_domains := dotted if {
	dotted := split(concat("", [".", concat("\n.", _domains)]), "\n")
	count(dotted) == count(_domains)
} else := [concat("", [".", domain]) | some domain in _domains]

# Folded valid domains outside every zone: a full name not equal to or under
# a zone, or any name when no zone is configured.
_outside_zone contains domain if {
	count(_zones) > 0
	some i, dotted in _dotted_domains
	not strings.any_suffix_match(dotted, _zone_suffixes)
	domain := _domains[i]
	contains(domain, ".")
	not domain in _invalid_domains
}

# No zone: full names pass (policies/zones warns once), bare labels cannot.
_outside_zone contains domain if {
	count(_zones) == 0
	some domain in _domains
	not contains(domain, ".")
	not domain in _invalid_domains
}

# A bare label is created in the first (primary) zone.
default _label_suffix := ""

_label_suffix := concat("", [".", _zones[0]]) if count(_zones) > 0

_fqdn(domain) := _fold(domain) if contains(domain, ".")

_fqdn(domain) := concat("", [_fold(domain), _label_suffix]) if not contains(domain, ".")

_domain_names := array.concat(
	[domain | some domain in _domains; contains(domain, ".")],
	[concat("", [domain, _label_suffix]) | some domain in _domains; not contains(domain, ".")],
)

_duplicated_domains := _duplicated(_domain_names)

# Flagged domains as they appear folded in the lists: a duplicated full name
# L.<primary zone> may also be written as the bare label L.
_flagged_domains := ((_invalid_domains | _outside_zone) | _duplicated_domains) | _duplicated_labels

_duplicated_labels contains label if {
	_label_suffix != ""
	some name in _duplicated_domains
	endswith(name, _label_suffix)
	label := trim_suffix(name, _label_suffix)
}

_flagged_domains_as_written contains written if {
	count(_flagged_domains) > 0
	some i, domain in _domains
	domain in _flagged_domains
	written := _domains_as_written[i]
}

# [user, index, domain as written] for flagged domains.
_flagged_domain_claims contains [user, i, domain] if {
	count(_flagged_domains) > 0
	some user, entry in input.k8s_users
	some i, domain in entry.domains
	domain in _flagged_domains_as_written
}

_outside_zone_message(domain) := sprintf("domain \"%s\" is not in a configured zone (%s); use a name under one or add its zone", [domain, concat(", ", _zones)]) if {
	count(_zones) > 0
}

_outside_zone_message(domain) := sprintf("domain \"%s\" is a bare label and no zone is configured to place it in; write the full name or add a zone", [domain]) if count(_zones) == 0

_duplicated_domain_claims contains [name, [user, i]] if {
	some [user, i, domain] in _flagged_domain_claims
	name := _fqdn(domain)
	name in _duplicated_domains
}

_domain_repeats := _repeats(_duplicated_domain_claims)

_domain_claimed(name, user, i, first) := sprintf("domain \"%s\" (%s) is listed twice by \"%s\"", [input.k8s_users[user].domains[i], name, user]) if user == first[0]

_domain_claimed(name, user, i, first) := sprintf("domain \"%s\" (%s) is also claimed by \"%s\"", [input.k8s_users[user].domains[i], name, first[0]]) if user != first[0]

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
		"msg": sprintf("domain \"%s\" is not a valid DNS name (labels of letters, digits and inner hyphens, separated by dots)", [domain]),
		"path": ["k8s_users", user, "domains", i],
	}
}

# METADATA
# title: Domain outside the configured zones
# description: |
#   A full domain name (one with a dot) must equal or end in one of `zones` in
#   tenancy.yaml, because records can only be created in zones the platform
#   manages; with no zone at all full names pass (policies/zones warns). A
#   bare label goes in the first zone. Fix: add the zone, or rename.
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
