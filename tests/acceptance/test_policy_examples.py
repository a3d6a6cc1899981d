"""Policy cases from the seed study (reference/seed-system.md §e.3): exact codes and positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenancy.validate.policy.embedded import EmbeddedEngine
from tests.policy_cases import builtin_policies, case_dirs, expected, found, run_case


@pytest.fixture(scope="module")
def engine() -> EmbeddedEngine:
    return EmbeddedEngine(builtin_policies().sources())


@pytest.mark.parametrize("folder", case_dirs(), ids=lambda p: p.name)
def test_policy_case(folder: Path, engine: EmbeddedEngine) -> None:
    """Each case reports exactly its expected findings, each at the offending key."""
    want = expected(folder)
    assert want, f"{folder.name}/expect is empty"
    assert found(run_case(folder, engine, builtin_policies())) == want


def test_every_input_rule_has_a_case() -> None:
    """Every input-policy code appears in some case's expectations (no untested rule)."""
    policies = builtin_policies()
    inputs = set(policies.packages("input"))
    codes = {r.code for r in policies.catalogue() if r.package in inputs}
    seen = {line.split()[-1] for folder in case_dirs() for line in expected(folder)}
    # Structural variants the schema stage already refuses; their Rego tests cover them.
    by_schema = {"domain-invalid", "quota-invalid-quantity", "repo-unsafe-name"}
    assert sorted(codes - seen - by_schema) == []
