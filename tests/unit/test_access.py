"""Effective access from rendered objects: bindings through roles, Vault policies from HCL."""

from __future__ import annotations

from tenancy.access import expand, parse_hcl, people
from tenancy.model import Config, Permission, VaultGrant, build
from tenancy.render import render
from tenancy.render.profiles import load
from tenancy.render.vault import hcl


def test_parse_hcl_is_the_inverse_of_render() -> None:
    """The canonical HCL tenancy writes parses back to the same paths and capabilities."""
    paths = {"secret/data/a/*": ["read", "list"], 'odd "quoted" path': ["deny"]}
    assert parse_hcl(hcl(paths, "s")) == {
        "secret/data/a/*": ("list", "read"),
        'odd "quoted" path': ("deny",),
    }


def test_expand_names_resources_like_kubectl() -> None:
    """Core resources are bare, grouped ones carry their group, the wildcard is `*`."""
    rules = [
        {"apiGroups": ["", "apps"], "resources": ["pods", "deployments"], "verbs": ["get"]},
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
    ]
    assert expand(rules, "ns") == {
        Permission("ns", "pods", "get"),
        Permission("ns", "deployments", "get"),
        Permission("ns", "pods.apps", "get"),
        Permission("ns", "deployments.apps", "get"),
        Permission("ns", "*", "*"),
    }


def test_people_join_roster_k8s_users_and_rendered_objects() -> None:
    """A namespace-owner gets their role in each namespace and their Vault paths."""
    roster = {
        "users": {
            "cleom": {
                "authentik_user": "c",
                "k8s_user": "cleo",
                "tier": "namespace-owner",
                "namespaces": ["cleo"],
            }
        }
    }
    k8s = {"cleo": {"role": "namespace-owner", "email": "c@example.org", "namespaces": ["cleo"]}}
    inventory = build(roster, k8s, Config())
    rendered, _ = render(inventory, load(), sources={"roster": "r", "k8s_users": "k"})
    cleo = people(inventory, rendered)["cleo"]
    assert cleo.os_users == ("cleom",)
    assert Permission("cleo", "secrets", "get") in cleo.k8s
    assert Permission("cluster", "secrets", "get") not in cleo.k8s
    assert Permission("cluster", "namespaces", "list") in cleo.k8s
    assert VaultGrant("secret/data/cleo/*", "read") in cleo.vault
    assert VaultGrant("secret/data/workstation/claude-users/cleom", "update") in cleo.vault
    assert VaultGrant("kubernetes/creds/cleo-deployer", "read") in cleo.vault
