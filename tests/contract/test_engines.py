"""Engine parity: the embedded engine and a real OPA server give identical results.

Every policy case and a stream of generated inputs go through both engines; any divergence in
the diagnostics (code, position, message, severity) fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from tenancy.validate.policy.embedded import EmbeddedEngine
from tenancy.validate.policy.server import OpaServerEngine
from tests import strategies
from tests.policy_cases import builtin_policies, case_dirs, run_case


@pytest.fixture(scope="module")
def engines(opa_url: str) -> tuple[EmbeddedEngine, OpaServerEngine]:
    sources = builtin_policies().sources()
    return EmbeddedEngine(sources), OpaServerEngine(opa_url, sources)


def _key(diagnostics: list) -> list[tuple[str, str, str, str]]:  # type: ignore[type-arg]
    return sorted((str(d.location), d.code, d.severity, d.message) for d in diagnostics)


@pytest.mark.parametrize("folder", case_dirs(), ids=lambda p: p.name)
def test_cases_agree(folder: Path, engines: tuple[EmbeddedEngine, OpaServerEngine]) -> None:
    """Each policy case gives the same diagnostics on both engines."""
    embedded, server = engines
    policies = builtin_policies()
    assert _key(run_case(folder, embedded, policies)) == _key(run_case(folder, server, policies))


@settings(max_examples=60)
@given(strategies.policy_inputs())
def test_generated_inputs_agree(
    engines: tuple[EmbeddedEngine, OpaServerEngine],
    policy_input: dict,  # type: ignore[type-arg]
) -> None:
    """Random schema-shaped inputs give the same violations on both engines."""
    embedded, server = engines
    policies = builtin_policies()
    refs = policies.refs("input")
    assert embedded.query(refs, policy_input) == server.query(refs, policy_input)


@settings(max_examples=20)
@given(strategies.policy_inputs())
def test_an_input_made_on_demand_is_the_same_input(
    engines: tuple[EmbeddedEngine, OpaServerEngine],
    policy_input: dict,  # type: ignore[type-arg]
) -> None:
    """Each engine answers an input made on demand as the input itself, and makes it once."""
    refs = builtin_policies().refs("input")
    made: list[dict] = []  # type: ignore[type-arg]

    def make() -> dict:  # type: ignore[type-arg]
        made.append(policy_input)
        return policy_input

    for engine in engines:
        made.clear()
        assert engine.query(refs, make) == engine.query(refs, policy_input)
        assert len(made) == 1


def test_rendered_rbac_rules_agree(engines: tuple[EmbeddedEngine, OpaServerEngine]) -> None:
    """The rendered-RBAC audit rules agree too, on a power-user bound to a bad role."""
    embedded, server = engines
    policies = builtin_policies()
    objects = [
        {
            "file": "crb.yaml",
            "object": {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "pu-brin", "labels": {"tenancy.io/tier": "power-user"}},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "pu",
                },
                "subjects": [
                    {
                        "kind": "User",
                        "name": "brin@example.org",
                        "apiGroup": "rbac.authorization.k8s.io",
                    }
                ],
            },
        },
        {
            "file": "cr.yaml",
            "object": {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "pu"},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["pods", "secrets"],
                        "verbs": ["get", "delete"],
                    }
                ],
            },
        },
    ]
    data = {"objects": objects, "config": {}}
    refs = policies.refs("rendered")
    assert refs
    left, right = embedded.query(refs, data), server.query(refs, data)
    assert left == right
    assert left  # the case really fires: a silent agreement would prove nothing
