"""The audit of rendered output: a risky grant in the render data fails at the rendered line."""

from __future__ import annotations

from tenancy import files
from tenancy.audit import audit, audit_input
from tenancy.model import Config, build
from tenancy.policy.embedded import EmbeddedEngine
from tenancy.render import render
from tenancy.render.profiles import builtin_texts, from_texts
from tenancy.resources import data_dir

CONFIG = Config(zones=("example.org",))
K8S = {
    "brin": {"role": "power-user", "email": "b@example.org"},
    "cleo": {"role": "namespace-owner", "email": "c@example.org", "namespaces": ["cleo"]},
}
ROSTER = {"users": {"brin": {"authentik_user": "b", "k8s_user": "brin", "tier": "power-user"}}}


def run(texts: dict[str, str]) -> list[tuple[str, str]]:
    inventory = build(ROSTER, K8S, CONFIG)
    rendered, _ = render(inventory, from_texts(texts), sources={"roster": "r", "k8s_users": "k"})
    policies = files.read_policies([data_dir("policies")])
    engine = EmbeddedEngine(policies.sources())
    found = audit(engine, policies, rendered, inventory, CONFIG, "out")
    return sorted((str(d.location), d.code) for d in found)


def test_builtin_profiles_pass_the_audit() -> None:
    """The shipped tier profiles grant nothing the audit rules forbid."""
    assert run(builtin_texts()) == []


def test_secrets_for_power_users_fail_at_the_rendered_line() -> None:
    """Adding secrets to the power-user role is caught in the rendered ClusterRole file."""
    texts = builtin_texts()
    path = "clusterroles/tenancy-power-user.yaml"
    texts[path] = texts[path].replace("resources: [configmaps,", "resources: [secrets, configmaps,")
    found = run(texts)
    # Line 20 of the rendered file is `  - secrets` (resources are sorted): the exact grant.
    assert found == [
        (
            "out/kubernetes/cluster/clusterrole-tenancy-power-user.yaml:20:5",
            "power-user-forbidden-access",
        )
    ]


def test_audit_input_carries_parsed_vault_policies() -> None:
    """Vault policies reach the rules parsed back from the rendered HCL, with their owner."""
    inventory = build(ROSTER, K8S, CONFIG)
    rendered, _ = render(
        inventory, from_texts(builtin_texts()), sources={"roster": "r", "k8s_users": "k"}
    )
    data = audit_input(rendered, inventory, CONFIG)
    owner = next(p for p in data["vault_policies"] if p["name"] == "namespace-owner-cleo")
    assert owner["owner"] == "cleo"
    assert owner["tier"] == "namespace-owner"
    assert {
        "path": "secret/data/cleo/*",
        "capabilities": ["create", "delete", "list", "read", "update"],
    } in owner["paths"]
    workstation = next(p for p in data["vault_policies"] if p["name"] == "workstation-claude-brin")
    assert (workstation["owner"], workstation["tier"]) == ("brin", "power-user")
    assert data["tenants"]["cleo"] == {
        "tier": "namespace-owner",
        "namespaces": ["cleo"],
        "identity": "c@example.org",
    }
