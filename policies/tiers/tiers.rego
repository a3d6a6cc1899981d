# METADATA
# title: Tiers
# description: |
#   Cross-checks the privilege tier of every person between the roster
#   (workstation policy table) and k8s_users (cluster grants): tiers must agree,
#   only namespace-owners own namespaces, both files list the same namespaces,
#   and admin is granted only to names on the admin allow-list.
# entrypoint: true
package tiers

_exempt_admins := object.get(input, ["config", "exempt_admin_tier_check"], false)

# admins is null (no restriction) or a list of roster os_users and k8s_users keys.
_admins_restricted if is_array(input.config.admins)

_admins := {name | some name in input.config.admins} if _admins_restricted

_absent_k8s_users := {row.k8s_user | some row in input.roster.users} - object.keys(object.get(input, "k8s_users", {}))

_exempt(row) if {
	_exempt_admins == true
	row.tier == "admin"
}

# Path of the namespaces list when it is written down, else of the tier or role
# that requires it.
_namespaces_path(base, entry, _) := array.concat(base, ["namespaces"]) if {
	"namespaces" in object.keys(entry)
}

_namespaces_path(base, entry, fallback) := array.concat(base, [fallback]) if {
	not "namespaces" in object.keys(entry)
}

_quoted(names) := concat(", ", [sprintf("\"%s\"", [n]) | some n in sort(names)])

_difference(only_roster, only_k8s) := sprintf("only in roster: %s; only in k8s_users: %s", [
	_quoted(only_roster),
	_quoted(only_k8s),
]) if {
	count(only_roster) > 0
	count(only_k8s) > 0
}

_difference(only_roster, only_k8s) := sprintf("only in roster: %s", [_quoted(only_roster)]) if {
	count(only_roster) > 0
	count(only_k8s) == 0
}

_difference(only_roster, only_k8s) := sprintf("only in k8s_users: %s", [_quoted(only_k8s)]) if {
	count(only_roster) == 0
	count(only_k8s) > 0
}

# METADATA
# title: Roster tier differs from k8s_users role
# description: |
#   The roster tier of a workstation user must equal the k8s_users role of the
#   k8s_user it joins to. A mismatch means the workstation and the cluster grant
#   different privileges to the same person, and the workstation reconcile
#   refuses to run. Admins are checked too unless
#   `exempt_admin_tier_check: true` is set in tenancy.yaml (for admins whose
#   cluster-admin is granted out of band). Fix: change the roster tier or the
#   k8s_users role so that they agree.
# scope: rule
# custom:
#   code: tier-mismatch
#   severity: error
deny contains v if {
	some os_user, row in input.roster.users
	entry := input.k8s_users[row.k8s_user]
	row.tier != entry.role
	not _exempt(row)
	v := {
		"code": "tier-mismatch",
		"msg": sprintf("roster tier \"%s\" != k8s_users role \"%s\" for k8s_user \"%s\"; make the roster tier and the k8s_users role agree", [row.tier, entry.role, row.k8s_user]),
		"path": ["roster", "users", os_user, "tier"],
		"related": [["k8s_users", row.k8s_user, "role"]],
	}
}

# METADATA
# title: Namespace-owner without namespaces
# description: |
#   A namespace-owner, in the roster or in k8s_users, must list at least one
#   namespace: the tier exists to own namespaces, and without one the user gets
#   a cluster identity but nowhere to work. Fix: add the user's namespaces, or
#   give the user another tier.
# scope: rule
# custom:
#   code: owner-without-namespaces
#   severity: error
deny contains v if {
	some os_user, row in input.roster.users
	row.tier == "namespace-owner"
	not row.namespaces[0]
	v := {
		"code": "owner-without-namespaces",
		"msg": sprintf("roster user \"%s\" is a namespace-owner but lists no namespaces; add its namespaces or change its tier", [os_user]),
		"path": _namespaces_path(["roster", "users", os_user], row, "tier"),
	}
}

# METADATA
# title: Namespace-owner without namespaces
# description: |
#   A namespace-owner, in the roster or in k8s_users, must list at least one
#   namespace: the tier exists to own namespaces, and without one the user gets
#   a cluster identity but nowhere to work. Fix: add the user's namespaces, or
#   give the user another role.
# scope: rule
# custom:
#   code: owner-without-namespaces
#   severity: error
deny contains v if {
	some user, entry in input.k8s_users
	entry.role == "namespace-owner"
	not entry.namespaces[0]
	v := {
		"code": "owner-without-namespaces",
		"msg": sprintf("k8s user \"%s\" is a namespace-owner but lists no namespaces; add its namespaces or change its role", [user]),
		"path": _namespaces_path(["k8s_users", user], entry, "role"),
	}
}

# METADATA
# title: Namespaces on a non-owner
# description: |
#   Only namespace-owners own namespaces. A namespaces list on an admin or a
#   power-user is ignored when access is rendered, so it suggests a grant that
#   does not exist. Fix: remove the list, or make the user a namespace-owner.
# scope: rule
# custom:
#   code: namespaces-on-non-owner
#   severity: error
deny contains v if {
	some os_user, row in input.roster.users
	row.tier != "namespace-owner"
	count(row.namespaces) > 0
	v := {
		"code": "namespaces-on-non-owner",
		"msg": sprintf("roster user \"%s\" has tier \"%s\", and only namespace-owners may set namespaces; remove the list or change the tier", [os_user, row.tier]),
		"path": ["roster", "users", os_user, "namespaces"],
		"related": [["roster", "users", os_user, "tier"]],
	}
}

# METADATA
# title: Namespaces on a non-owner
# description: |
#   Only namespace-owners own namespaces. A namespaces list on an admin or a
#   power-user is ignored when access is rendered, so it suggests a grant that
#   does not exist. Fix: remove the list, or make the user a namespace-owner.
# scope: rule
# custom:
#   code: namespaces-on-non-owner
#   severity: error
deny contains v if {
	some user, entry in input.k8s_users
	entry.role != "namespace-owner"
	count(entry.namespaces) > 0
	v := {
		"code": "namespaces-on-non-owner",
		"msg": sprintf("k8s user \"%s\" has role \"%s\", and only namespace-owners may set namespaces; remove the list or change the role", [user, entry.role]),
		"path": ["k8s_users", user, "namespaces"],
		"related": [["k8s_users", user, "role"]],
	}
}

# METADATA
# title: Roster and k8s_users namespaces differ
# description: |
#   A roster user's namespaces, compared as a set, must equal the namespaces of
#   the k8s_users entry it joins to through k8s_user. The roster copy is what
#   people read; k8s_users is what the cluster grants. When they differ, one of
#   them is wrong. Fix: make both lists name the same namespaces.
# scope: rule
# custom:
#   code: namespaces-mismatch
#   severity: error
deny contains v if {
	some os_user, row in input.roster.users
	entry := input.k8s_users[row.k8s_user]
	not row.namespaces == entry.namespaces
	roster_ns := {ns | some ns in row.namespaces}
	k8s_ns := {ns | some ns in entry.namespaces}
	roster_ns != k8s_ns
	v := {
		"code": "namespaces-mismatch",
		"msg": sprintf("roster namespaces of \"%s\" differ from k8s_users \"%s\" (%s); list the same namespaces in both files", [os_user, row.k8s_user, _difference(roster_ns - k8s_ns, k8s_ns - roster_ns)]),
		"path": _namespaces_path(["roster", "users", os_user], row, "k8s_user"),
		"related": [_namespaces_path(["k8s_users", row.k8s_user], entry, "role")],
	}
}

# METADATA
# title: Admin not on the allow-list
# description: |
#   When tenancy.yaml sets `admins`, only the names listed there may have the
#   admin tier (roster, by os_user) or the admin role (k8s_users, by user key).
#   Admin means sudo on the workstation and cluster-admin on the cluster, so an
#   unreviewed admin row is a privilege escalation. Fix: add the name to
#   `admins` in tenancy.yaml, or give the user a lower tier.
# scope: rule
# custom:
#   code: admin-not-allowed
#   severity: error
deny contains v if {
	_admins_restricted
	some os_user, row in input.roster.users
	row.tier == "admin"
	not os_user in _admins
	v := {
		"code": "admin-not-allowed",
		"msg": sprintf("roster user \"%s\" has tier admin but is not in the admins allow-list of tenancy.yaml; add it there or give it a lower tier", [os_user]),
		"path": ["roster", "users", os_user, "tier"],
	}
}

# METADATA
# title: Admin not on the allow-list
# description: |
#   When tenancy.yaml sets `admins`, only the names listed there may have the
#   admin tier (roster, by os_user) or the admin role (k8s_users, by user key).
#   Admin means sudo on the workstation and cluster-admin on the cluster, so an
#   unreviewed admin row is a privilege escalation. Fix: add the name to
#   `admins` in tenancy.yaml, or give the user a lower role.
# scope: rule
# custom:
#   code: admin-not-allowed
#   severity: error
deny contains v if {
	_admins_restricted
	some user, entry in input.k8s_users
	entry.role == "admin"
	not user in _admins
	v := {
		"code": "admin-not-allowed",
		"msg": sprintf("k8s user \"%s\" has role admin but is not in the admins allow-list of tenancy.yaml; add it there or give it a lower role", [user]),
		"path": ["k8s_users", user, "role"],
	}
}

# METADATA
# title: Cluster grant pending
# description: |
#   The roster row joins to a k8s_user that has no k8s_users entry, so the
#   person has a workstation account but no cluster access yet. This is a
#   normal, temporary state during onboarding, hence a warning. Fix: add the
#   k8s_users entry (or correct the k8s_user name). Admins are skipped when
#   `exempt_admin_tier_check: true`, because their cluster access is granted
#   out of band.
# scope: rule
# custom:
#   code: grant-pending
#   severity: warning
warn contains v if {
	count(_absent_k8s_users) > 0
	some os_user, row in input.roster.users
	row.k8s_user in _absent_k8s_users
	not _exempt(row)
	v := {
		"code": "grant-pending",
		"msg": sprintf("roster user \"%s\" has tier \"%s\" but k8s_user \"%s\" is absent from k8s_users (kubectl grant pending — add the entry)", [os_user, row.tier, row.k8s_user]),
		"path": ["roster", "users", os_user, "k8s_user"],
	}
}
