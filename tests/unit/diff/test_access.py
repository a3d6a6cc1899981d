"""Effective access from rendered objects: bindings through roles, Vault policies from HCL."""

from __future__ import annotations

import pytest

from tenancy.diff.access import (
    allows,
    expand,
    people,
    resource_name,
    split_resource,
    vault_capabilities,
    vault_matches,
    vault_priority,
)
from tenancy.model import Config, Permission, VaultGrant, build
from tenancy.render.plan import render
from tenancy.render.plan.profiles import load
from tenancy.render.plan.vault import hcl, parse_hcl


def test_parse_hcl_is_the_inverse_of_render() -> None:
    """The canonical HCL tenancy writes parses back to the same paths and capabilities."""
    paths = {"secret/data/a/*": ["read", "list"], 'odd "quoted" path': ["deny"]}
    assert parse_hcl(hcl(paths, "s")) == {
        "secret/data/a/*": ("list", "read"),
        'odd "quoted" path': ("deny",),
    }


def test_expand_names_resources_like_kubectl() -> None:
    """Core resources are bare, grouped ones carry their group, subresources follow a `/`,
    wildcards stay the rule's own (`*` every group, `*.core` the core group's), resourceNames
    are kept."""
    rules = [
        {"apiGroups": ["", "apps"], "resources": ["pods", "deployments/scale"], "verbs": ["get"]},
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["*"], "verbs": ["list"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["b", "a"],
            "verbs": ["get"],
        },
    ]
    assert expand(rules, "ns") == {
        Permission("ns", "pods", "get"),
        Permission("ns", "deployments/scale", "get"),
        Permission("ns", "pods.apps", "get"),
        Permission("ns", "deployments.apps/scale", "get"),
        Permission("ns", "*", "*"),
        Permission("ns", "*.core", "list"),
        Permission("ns", "configmaps", "get", ("a", "b")),
    }


def test_split_resource_inverts_resource_name() -> None:
    """(group, resource) -> kubectl name -> (group, resource, subresource) round-trips."""
    for group, resource in [
        ("", "pods/exec"),
        ("apps", "*/scale"),
        ("*", "*"),
        ("", "*"),
        ("*", "*/scale"),
        ("a.b.io", "x"),
    ]:
        base, _, sub = resource.partition("/")
        assert split_resource(resource_name(group, resource)) == (group, base, sub)


def _allowed(grant: Permission, **request: str) -> bool:
    attributes = {"verb": "get", "group": "", "resource": "pods", "namespace": "ns", **request}
    return allows(grant, **attributes)


@pytest.mark.parametrize(
    ("grant", "request_", "expected"),
    [
        # verbs: exact or `*`
        (Permission("ns", "pods", "get"), {}, True),
        (Permission("ns", "pods", "list"), {}, False),
        (Permission("ns", "pods", "*"), {"verb": "delete"}, True),
        # groups: a bare name is the core group only; `*` is every group
        (
            Permission("ns", "deployments", "get"),
            {"group": "apps", "resource": "deployments"},
            False,
        ),
        (
            Permission("ns", "deployments.apps", "get"),
            {"group": "apps", "resource": "deployments"},
            True,
        ),
        (
            Permission("ns", "deployments.*", "get"),
            {"group": "apps", "resource": "deployments"},
            True,
        ),
        # resources: `*` covers subresources, `pods` does not cover `pods/exec`
        (Permission("ns", "*", "get"), {"subresource": "exec"}, True),
        (Permission("ns", "*.core", "get"), {"subresource": "exec"}, True),
        (Permission("ns", "*.core", "get"), {"group": "apps"}, False),
        (Permission("ns", "*", "get"), {"group": "apps"}, True),
        (Permission("ns", "pods", "create"), {"verb": "create", "subresource": "exec"}, False),
        (Permission("ns", "pods/exec", "create"), {"verb": "create", "subresource": "exec"}, True),
        (Permission("ns", "pods/exec", "create"), {"verb": "create"}, False),
        # `*/scale` is that subresource of every resource of the group, nothing else
        (
            Permission("ns", "*.apps/scale", "get"),
            {"group": "apps", "resource": "deployments", "subresource": "scale"},
            True,
        ),
        (
            Permission("ns", "*.apps/scale", "get"),
            {"group": "apps", "resource": "deployments"},
            False,
        ),
        # resourceNames: only requests that name one of them
        (Permission("ns", "pods", "get", ("a",)), {"name": "a"}, True),
        (Permission("ns", "pods", "get", ("a",)), {"name": "b"}, False),
        (Permission("ns", "pods", "get", ("a",)), {}, False),
        # scope: a RoleBinding applies in its namespace, a ClusterRoleBinding everywhere
        (Permission("other", "pods", "get"), {}, False),
        (Permission("ns", "pods", "get"), {"namespace": ""}, False),
        (Permission("cluster", "pods", "get"), {"namespace": ""}, True),
        (Permission("cluster", "pods", "get"), {"namespace": "any"}, True),
    ],
)
def test_allows_follows_rbac_rule_matching(
    grant: Permission, request_: dict[str, str], expected: bool
) -> None:
    """One grant against one request, case by case as the RBAC authorizer matches rules."""
    assert _allowed(grant, **request_) is expected


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("secret/data/cleo", "secret/data/cleo", True),
        ("secret/data/cleo", "secret/data/cleo/db", False),
        ("secret/data/cleo/*", "secret/data/cleo/db", True),
        ("secret/data/cleo/*", "secret/data/cleo/a/b", True),
        ("secret/data/cleo/*", "secret/data/cleo", False),
        ("secret/data/cleo*", "secret/data/cleopatra", True),
        ("secret/+/cleo", "secret/data/cleo", True),
        ("secret/+/cleo", "secret/data/x/cleo", False),
        ("secret/+/cleo/*", "secret/metadata/cleo/db", True),
        ("secret/+", "secret/", False),
    ],
)
def test_vault_matches_globs_and_segment_wildcards(pattern: str, path: str, expected: bool) -> None:
    """A trailing `*` is a prefix match across segments, `+` exactly one non-empty segment."""
    assert vault_matches(pattern, path) is expected


def test_vault_most_specific_path_wins_and_deny_takes_all() -> None:
    """The highest-priority matching path decides (Vault's priority rules), not the union;
    `deny` on it leaves nothing."""
    grants = frozenset(
        {
            VaultGrant("secret/*", "read"),
            VaultGrant("secret/data/cleo/*", "list"),
            VaultGrant("secret/data/cleo/private", "deny"),
            VaultGrant("secret/+/cleo/db", "update"),
        }
    )
    assert vault_capabilities(grants, "secret/data/cleo/x") == {"list"}
    assert vault_capabilities(grants, "secret/data/cleo/private") == frozenset()
    # The first wildcard comes later in secret/data/cleo/* than in secret/+/...: it wins.
    assert vault_capabilities(grants, "secret/data/cleo/db") == {"list"}
    # Same position as secret/*, but secret/* ends in a glob: the `+` path wins.
    assert vault_capabilities(grants, "secret/kv/cleo/db") == {"update"}
    assert vault_capabilities(grants, "secret/other") == {"read"}
    assert vault_capabilities(grants, "kv/x") == frozenset()


def test_vault_priority_orders_as_documented() -> None:
    """The doc's example: `secret/+/+/foo/*` ranks below `secret/*` (more `+` segments)."""
    assert vault_priority("secret/*") > vault_priority("secret/+/+/foo/*")
    assert vault_priority("secret/a") > vault_priority("secret/a*")
    assert vault_priority("secret/ab*") > vault_priority("secret/a*")


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
    assert VaultGrant("kubernetes/creds/cleo-deployer", "update") in cleo.vault
