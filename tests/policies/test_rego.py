"""Every `test_*` rule of every `*_test.rego`, one pytest case each, on the embedded engine.

`opa test policies/` runs the same tests on real OPA in `make test-rego`; both must pass.
"""

from __future__ import annotations

import pytest

from tenancy.resources import data_dir
from tenancy.validate import regotest
from tenancy.validate.policy.source import read_policies

POLICIES = read_policies([data_dir("policies")])
CASES = [
    (module.package, name)
    for module in POLICIES.modules
    if module.is_test
    for name, _ in regotest.discover(module)
]


@pytest.fixture(scope="module")
def outcome() -> regotest.TestRun:
    return regotest.run(POLICIES)


@pytest.mark.parametrize(("package", "name"), CASES, ids=[f"{p}.{n}" for p, n in CASES])
def test_rego(outcome: regotest.TestRun, package: str, name: str) -> None:
    """The Rego test rule evaluates to true in the embedded engine."""
    (result,) = [r for r in outcome.results if (r.package, r.name) == (package, name)]
    assert result.passed, result.error


def test_every_rule_fires_and_stays_quiet_in_some_test(outcome: regotest.TestRun) -> None:
    """Decision coverage: each entry rule has a firing and a non-firing test case."""
    missing = [
        f"{c.rule.code} ({c.rule.file}:{c.rule.line})" for c in outcome.coverage if not c.covered
    ]
    assert missing == []


def test_suite_is_not_empty() -> None:
    """Guard against a vacuous pass."""
    assert len(CASES) >= 100
