"""The audit of rendered output: a risky grant in the render data fails at the rendered line."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tenancy.model import Config, Inventory, build
from tenancy.render.checks.audit import audit, audit_input
from tenancy.render.plan import Rendered, render
from tenancy.render.plan.profiles import builtin_texts, from_texts
from tenancy.resources import data_dir
from tenancy.validate.policy import PolicySet
from tenancy.validate.policy.embedded import EmbeddedEngine
from tenancy.validate.policy.source import read_policies

CONFIG = Config(zones=("example.org",))
K8S = {
    "brin": {"role": "power-user", "email": "b@example.org"},
    "cleo": {"role": "namespace-owner", "email": "c@example.org", "namespaces": ["cleo"]},
}
ROSTER = {"users": {"brin": {"authentik_user": "b", "k8s_user": "brin", "tier": "power-user"}}}


def run(texts: dict[str, str]) -> list[tuple[str, str]]:
    inventory = build(ROSTER, K8S, CONFIG)
    rendered, _ = render(inventory, from_texts(texts), sources={"roster": "r", "k8s_users": "k"})
    policies = read_policies([data_dir("policies")])
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


def rendered_example() -> tuple[Rendered, Inventory]:
    inventory = build(ROSTER, K8S, CONFIG)
    rendered, _ = render(
        inventory, from_texts(builtin_texts()), sources={"roster": "r", "k8s_users": "k"}
    )
    return rendered, inventory


def test_audit_input_holds_only_the_declared_kinds() -> None:
    """Given kinds, `objects` is exactly the rendered objects of those kinds; None gives all."""
    rendered, inventory = rendered_example()
    everything = audit_input(rendered, inventory, CONFIG)
    assert [o["file"] for o in everything["objects"]] == [m.path for m in rendered.manifests]
    assert {o["object"]["kind"] for o in everything["objects"]} >= {"Namespace", "ClusterRole"}
    wanted = frozenset({"ClusterRole", "RoleBinding"})
    narrowed = audit_input(rendered, inventory, CONFIG, wanted)
    assert [o["file"] for o in narrowed["objects"]] == [
        m.path for m in rendered.manifests if m.kind in wanted
    ]
    assert {o["object"]["kind"] for o in narrowed["objects"]} == wanted
    assert audit_input(rendered, inventory, CONFIG, frozenset())["objects"] == []
    # Only `objects` is narrowed: the Vault data and the tenants are the same.
    assert {k: v for k, v in narrowed.items() if k != "objects"} == {
        k: v for k, v in everything.items() if k != "objects"
    }


RISKY = {
    "secrets for power-users": (
        "clusterroles/tenancy-power-user.yaml",
        "resources: [configmaps,",
        "resources: [secrets, configmaps,",
    ),
    "escalate for namespace-owners": (
        "clusterroles/tenancy-namespace-owner.yaml",
        "resources: [rolebindings, roles]\n    verbs: [get, list, watch]",
        "resources: [rolebindings, roles]\n    verbs: [escalate, get, list, watch]",
    ),
}


@pytest.mark.parametrize("case", sorted(RISKY))
def test_narrowed_audit_finds_what_the_full_audit_finds(case: str) -> None:
    """The built-in rules' declared kinds lose no finding: same findings as with every object."""
    path, old, new = RISKY[case]
    texts = builtin_texts()
    assert old in texts[path]
    texts[path] = texts[path].replace(old, new)
    inventory = build(ROSTER, K8S, CONFIG)
    rendered, _ = render(inventory, from_texts(texts), sources={"roster": "r", "k8s_users": "k"})
    policies = read_policies([data_dir("policies")])
    assert policies.kinds("rendered") is not None
    unnarrowed = PolicySet(tuple(replace(m, kinds=None) for m in policies.modules))
    engine = EmbeddedEngine(policies.sources())
    narrowed_found = audit(engine, policies, rendered, inventory, CONFIG, "out")
    full_found = audit(engine, unnarrowed, rendered, inventory, CONFIG, "out")
    assert narrowed_found  # the risky grant is caught at all
    assert sorted(d.sort_key() for d in narrowed_found) == sorted(d.sort_key() for d in full_found)


def test_a_service_account_bound_by_two_tenants_roles_fails_at_the_role_file() -> None:
    """Issue 13: the deployer roles as they were (every tenant's role binding the one CI
    account woodpecker/woodpecker-deployer) are caught at each role file's bound name."""
    k8s = {
        **K8S,
        "dara": {"role": "namespace-owner", "email": "d@example.org", "namespaces": ["dara"]},
    }
    inventory = build(ROSTER, k8s, CONFIG)
    rendered, _ = render(
        inventory, from_texts(builtin_texts()), sources={"roster": "r", "k8s_users": "k"}
    )
    data = dict(rendered.data)
    for ns in ("cleo", "dara"):
        path = f"vault/kubernetes-auth/role-{ns}-deployer.yaml"
        role = {
            **data[path],
            "bound_service_account_names": ["woodpecker-deployer"],
            "bound_service_account_namespaces": ["woodpecker"],
        }
        data[path] = role
    files_ = dict(rendered.files)
    from tenancy.render.yaml import dump

    for path, body in data.items():
        files_[path] = dump(body, "k")
    shared = replace(rendered, data=data, files=files_)
    policies = read_policies([data_dir("policies")])
    engine = EmbeddedEngine(policies.sources())
    found = audit(engine, policies, shared, inventory, CONFIG, "out")
    # Line 4 is `- woodpecker-deployer` under bound_service_account_names (after the header
    # and `audience`), the value at column 3.
    assert sorted((str(d.location), d.code) for d in found) == [
        (
            f"out/vault/kubernetes-auth/role-{ns}-deployer.yaml:4:3",
            "vault-role-shared-service-account",
        )
        for ns in ("cleo", "dara")
    ]
    assert audit(engine, policies, rendered, inventory, CONFIG, "out") == []
