# METADATA
# title: Quota
# description: |
#   Checks the per-namespace ResourceQuota settings of k8s_users: every value
#   must be a Kubernetes quantity, stay under the ceiling of the user's tier,
#   keep memory requests within memory limits, and quota is only set on
#   namespace-owners. `cpu` is a synonym of `cpu_requests` and `memory` of
#   `memory_requests`; keys that are not set take `quota.defaults` from
#   tenancy.yaml.
# entrypoint: true
package quota

_defaults := object.get(input, ["config", "quota", "defaults"], {})

_ceilings := object.get(input, ["config", "quota", "ceilings"], {})

_synonyms := {"cpu": "cpu_requests", "memory": "memory_requests"}

_canonical(key) := object.get(_synonyms, key, key)

# A non-negative Kubernetes quantity (apimachinery grammar, sign "-" excluded
# because ResourceQuota rejects negative values). Digit counts are bounded so
# that every accepted value is a finite number in both OPA and regorus.
_quantity_pattern := `^\+?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})([eE][+-]?[0-9]{1,2}|[numkMGTPE]|[KMGTPE]i)?$`

# Pods is a count, so Kubernetes rejects fractions; plain digits keep the
# check exact in both engines.
_pods_pattern := `^\+?[0-9]{1,18}$`

# Decimal suffixes become an exponent of the number text, so that both engines
# round a decimal value exactly once; binary suffixes are powers of two, which
# multiply exactly.
_decimal_suffixes := {
	"": "",
	"n": "e-9",
	"u": "e-6",
	"m": "e-3",
	"k": "e3",
	"M": "e6",
	"G": "e9",
	"T": "e12",
	"P": "e15",
	"E": "e18",
}

_binary_suffixes := {
	"Ki": 1024,
	"Mi": 1048576,
	"Gi": 1073741824,
	"Ti": 1099511627776,
	"Pi": 1125899906842624,
	"Ei": 1152921504606846976,
}

# Findings depend only on the role and the quota object, and most users share
# a few of those: each distinct pair is checked once, and users are looked at
# again only when some pair has findings.
# (Heads are plain variables: regorus fails when a partial rule's head
# expression is undefined, e.g. for a user without quota.)
_pairs contains [role, quota] if {
	some entry in input.k8s_users
	quota := entry.quota
	role := entry.role
}

# Every distinct quota string: the users' values, the defaults and the
# ceilings. Each is parsed once.
_strings contains value if {
	some [_, quota] in _pairs
	some value in quota
}

_strings contains value if {
	some value in _defaults
}

_strings contains value if {
	some tier in _ceilings
	some value in tier
}

# Quantity string -> numeric value: cores for cpu, bytes for memory and
# storage, a count for pods.
_numbers[s] := number if {
	some s in _strings
	regex.match(_quantity_pattern, s)
	number := _value(s)
}

_counts contains s if {
	some s in _strings
	regex.match(_pods_pattern, s)
}

_value(s) := to_number(concat("", [_json_number(parts[1]), exponent])) * factor if {
	parts := regex.find_all_string_submatch_n(_quantity_pattern, s, 1)[0]
	[exponent, factor] := _scale(parts[3])
}

_scale(suffix) := [exponent, 1] if exponent := _decimal_suffixes[suffix]

_scale(suffix) := ["", factor] if factor := _binary_suffixes[suffix]

_scale(suffix) := [suffix, 1] if regex.match(`^[eE][+-]?[0-9]+$`, suffix)

# "007.50" -> "7.50", ".5" -> "0.5", "1." -> "1": to_number accepts only JSON numbers.
_json_number(mantissa) := concat("", [_integer_digits(parts[0]), _fraction_digits(parts)]) if {
	parts := split(mantissa, ".")
}

_integer_digits(digits) := trimmed if {
	trimmed := trim_left(digits, "0")
	trimmed != ""
} else := "0"

_fraction_digits(parts) := concat("", [".", parts[1]]) if {
	count(parts) == 2
	parts[1] != ""
} else := ""

_is_quantity(s) if is_number(_numbers[s])

_valid(key, s) if {
	_canonical(key) != "pods"
	_is_quantity(s)
}

_valid(key, s) if {
	_canonical(key) == "pods"
	s in _counts
}

_quota_path(user, key) := ["k8s_users", user, "quota", key]

# [role, quota] -> set of {code, key?, msg?, related_key?}, for pairs with
# findings only.
_findings_by_pair[pair] := findings if {
	some pair in _pairs
	findings := _findings(pair[0], pair[1])
	count(findings) > 0
}

_user_findings contains [user, finding] if {
	count(_findings_by_pair) > 0
	some user, entry in input.k8s_users
	some finding in _findings_by_pair[[entry.role, entry.quota]]
}

_findings(role, quota) := ((_invalid_findings(quota) | _ceiling_findings(role, quota)) | _requests_findings(quota)) | _non_owner_findings(role, quota)

_non_owner_findings(role, quota) := {{"code": "quota-on-non-owner"} |
	role != "namespace-owner"
	count(quota) > 0
}

_invalid_findings(quota) := {{"code": "quota-invalid-quantity", "key": key, "msg": _invalid_message(key, value)} |
	some key, value in quota
	not _valid(key, value)
}

_invalid_message(key, value) := sprintf("quota %s \"%s\" is not a Kubernetes quantity (for example \"2\", \"500m\", \"4Gi\"); the apiserver would reject it", [key, value]) if {
	not _is_quantity(value)
}

_invalid_message(key, value) := sprintf("quota %s \"%s\" must be a whole number written in digits, such as \"20\"", [key, value]) if {
	_is_quantity(value)
}

_ceiling_findings(role, quota) := {{"code": "quota-over-ceiling", "key": key, "msg": msg} |
	some key, value in quota
	canonical := _canonical(key)
	ceiling := _ceilings[role][canonical]
	_numbers[value] > _numbers[ceiling]
	_valid(key, value)
	_valid(canonical, ceiling)
	msg := sprintf("quota %s \"%s\" exceeds the ceiling \"%s\" for tier \"%s\"; lower it or raise quota.ceilings.%s.%s in tenancy.yaml", [key, value, ceiling, role, role, canonical])
}

_requests_findings(quota) := {object.union(location, {"code": "quota-requests-over-limits", "msg": msg}) |
	requests := _memory(quota, "memory_requests")
	limits := _memory(quota, "memory_limits")
	_numbers[requests.value] > _numbers[limits.value]
	location := _requests_location(requests, limits)
	msg := sprintf("memory requests %s exceed memory limits %s; lower %s or raise memory_limits", [_describe(requests), _describe(limits), requests.key])
}

# The memory setting that applies for canonical key: the user's own value, or
# the default from tenancy.yaml.
_memory(quota, canonical) := {"key": key, "value": value, "from_default": false} if {
	some key, value in quota
	_canonical(key) == canonical
} else := {"key": canonical, "value": _defaults[canonical], "from_default": true}

_describe(setting) := sprintf("\"%s\"", [setting.value]) if {
	not setting.from_default
}

_describe(setting) := sprintf("\"%s\" (default)", [setting.value]) if {
	setting.from_default
}

# Point at the user's own setting; both defaults together are a tenancy.yaml
# problem, not the user's.
_requests_location(requests, limits) := {"key": requests.key, "related_key": limits.key} if {
	not requests.from_default
	not limits.from_default
}

_requests_location(requests, limits) := {"key": requests.key} if {
	not requests.from_default
	limits.from_default
}

_requests_location(requests, limits) := {"key": limits.key} if {
	requests.from_default
	not limits.from_default
}

# METADATA
# title: Quota value is not a Kubernetes quantity
# description: |
#   Every quota value must be a non-negative Kubernetes quantity such as "2",
#   "500m", "4Gi" or "1.5G" (decimal suffixes n u m k M G T P E, binary
#   suffixes Ki Mi Gi Ti Pi Ei, or an exponent of at most two digits such as
#   "1e3"); pods must be a whole number written in digits. Otherwise the
#   apiserver rejects the ResourceQuota at apply time, after the rest of the
#   change has gone through. Fix: write the value as a quantity.
# scope: rule
# custom:
#   code: quota-invalid-quantity
#   severity: error
deny contains v if {
	some [user, finding] in _user_findings
	finding.code == "quota-invalid-quantity"
	v := {
		"code": "quota-invalid-quantity",
		"msg": finding.msg,
		"path": _quota_path(user, finding.key),
	}
}

# METADATA
# title: Quota value above the tier ceiling
# description: |
#   A quota value may not exceed the ceiling that tenancy.yaml sets for the
#   user's tier (`quota.ceilings.<tier>.<key>`). CPU is compared in cores
#   ("500m" = 0.5), memory and storage in bytes ("1Gi" = 1024Mi, "1G" = 10^9),
#   pods as a count. A tier or key without a ceiling is not limited. Fix: lower
#   the value, or raise the ceiling in tenancy.yaml after review.
# scope: rule
# custom:
#   code: quota-over-ceiling
#   severity: error
deny contains v if {
	some [user, finding] in _user_findings
	finding.code == "quota-over-ceiling"
	v := {
		"code": "quota-over-ceiling",
		"msg": finding.msg,
		"path": _quota_path(user, finding.key),
	}
}

# METADATA
# title: Memory requests above memory limits
# description: |
#   Memory requests (`memory_requests` or `memory`) must not exceed
#   `memory_limits`, after defaults are applied to whichever is not set. With
#   requests above limits no pod could ever be scheduled up to its quota.
#   Fix: lower the requests or raise the limits.
# scope: rule
# custom:
#   code: quota-requests-over-limits
#   severity: error
deny contains v if {
	some [user, finding] in _user_findings
	finding.code == "quota-requests-over-limits"
	v := object.union(
		{
			"code": "quota-requests-over-limits",
			"msg": finding.msg,
			"path": _quota_path(user, finding.key),
		},
		{"related": [_quota_path(user, key)] | key := finding.related_key},
	)
}

# METADATA
# title: Quota on a non-namespace-owner
# description: |
#   Quota is applied to the namespaces a namespace-owner owns. Admins and
#   power-users own no namespaces, so a quota on them has no effect and
#   suggests a misunderstanding of the grant. Fix: remove the quota, or make
#   the user a namespace-owner.
# scope: rule
# custom:
#   code: quota-on-non-owner
#   severity: error
deny contains v if {
	some [user, finding] in _user_findings
	finding.code == "quota-on-non-owner"
	entry := input.k8s_users[user]
	v := {
		"code": "quota-on-non-owner",
		"msg": sprintf("k8s user \"%s\" has role \"%s\" and owns no namespaces, so its quota has no effect; remove the quota or make it a namespace-owner", [user, entry.role]),
		"path": ["k8s_users", user, "quota"],
		"related": [["k8s_users", user, "role"]],
	}
}
