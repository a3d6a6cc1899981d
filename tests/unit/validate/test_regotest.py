"""The Rego test runner and its rule-level coverage (fired / quiet per entry rule)."""

from __future__ import annotations

from tenancy.validate import regotest
from tenancy.validate.policy import PolicySet, module_from_text

POLICY = """# METADATA
# title: t
package t

# METADATA
# title: Big
# scope: rule
# custom:
#   code: too-big
#   severity: error
deny contains v if {
	input.x > 10
	v := {"code": "too-big", "msg": "x is too big {", "path": ["x"]}
}

# METADATA
# title: Never tested
# scope: rule
# custom:
#   code: negative
#   severity: error
deny contains v if {
	input.x < 0
	v := {"code": "negative", "msg": "neg", "path": ["x"]}
}
"""


def policies(tests: str) -> PolicySet:
    return PolicySet(
        (
            module_from_text("t/t.rego", POLICY),
            module_from_text("t/t_test.rego", tests),
        )
    )


FIRES = """package t_test

import data.t

test_big if {
	{v.code | some v in t.deny} == {"too-big"} with input as {"x": 11}
}
"""
QUIET = """
test_small if {
	count(t.deny) == 0 with input as {"x": 5}
}

test_broken if {
	count(t.deny) == 1 with input as {"x": 5}
}
"""


def test_results_one_per_test_rule() -> None:
    """Each test rule is one result; a false test fails."""
    outcome = regotest.run(policies(FIRES + QUIET))
    assert [(r.name, r.passed) for r in outcome.results] == [
        ("test_big", True),
        ("test_small", True),
        ("test_broken", False),
    ]


def test_coverage_needs_a_firing_and_a_quiet_case() -> None:
    """A rule only ever quiet, or only ever firing, is not covered."""
    coverage = {c.rule.code: (c.fired, c.quiet) for c in regotest.run(policies(FIRES)).coverage}
    assert coverage == {"too-big": (True, False), "negative": (False, True)}
    full = {c.rule.code: c.covered for c in regotest.run(policies(FIRES + QUIET)).coverage}
    assert full == {"too-big": True, "negative": False}


def test_instrumentation_skips_braces_in_strings() -> None:
    """The probe goes at the real end of the body, not at a `{` inside a string."""
    rules = policies(FIRES).catalogue()
    text = regotest.instrument(POLICY, list(rules))
    body = text.split("deny contains v if {", 1)[1].split("\n}\n", 1)[0]
    assert body.rstrip().endswith('print("__tenancy_fired__", "too-big@t/t.rego:11")')
