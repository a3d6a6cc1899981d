"""The resource table: recorded built-ins, CRD facts, and kubectl's ways of naming a resource."""

from __future__ import annotations

import pytest

from tenancy.diff import kube_resources
from tenancy.diff.kube_resources import ResourceRef, builtin, custom, resolve, suggest


def test_recorded_table_is_the_pinned_version() -> None:
    """The built-in table names the Kubernetes version it was recorded from (tests/kube.py's)."""
    from tests.kube import KUBE_VERSION

    text = (kube_resources._TABLE).read_text(encoding="utf-8")
    version, resources = builtin(text)
    assert version == KUBE_VERSION
    assert {r.qualified for r in resources} >= {
        "secrets",
        "deployments.apps",
        "roles.rbac.authorization.k8s.io",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("secrets", ResourceRef("", "secrets")),
        ("secret", ResourceRef("", "secrets")),
        ("Secret", ResourceRef("", "secrets")),
        ("po", ResourceRef("", "pods")),
        ("pods/exec", ResourceRef("", "pods", "exec")),
        ("po/portforward", ResourceRef("", "pods", "portforward")),
        ("sa/token", ResourceRef("", "serviceaccounts", "token")),
        ("deploy", ResourceRef("apps", "deployments")),
        ("deployments.apps", ResourceRef("apps", "deployments")),
        ("deployments.v1.apps", ResourceRef("apps", "deployments")),
        ("deployments.apps/scale", ResourceRef("apps", "deployments", "scale")),
        ("hpa.v2.autoscaling", ResourceRef("autoscaling", "horizontalpodautoscalers")),
        ("ns", ResourceRef("", "namespaces", "", False)),
        ("no/proxy", ResourceRef("", "nodes", "proxy", False)),
        ("svc", ResourceRef("", "services")),
        ("netpol", ResourceRef("networking.k8s.io", "networkpolicies")),
        ("quota", ResourceRef("", "resourcequotas")),
        ("limits", ResourceRef("", "limitranges")),
        ("rolebinding", ResourceRef("rbac.authorization.k8s.io", "rolebindings")),
        (
            "clusterrolebindings",
            ResourceRef("rbac.authorization.k8s.io", "clusterrolebindings", "", False),
        ),
        ("events", ResourceRef("", "events")),  # core wins over events.k8s.io, as in kubectl
        ("events.events.k8s.io", ResourceRef("events.k8s.io", "events")),
        ("users", ResourceRef("", "users", "", False)),
        ("cert", ResourceRef("cert-manager.io", "certificates")),
        ("*", ResourceRef("*", "*")),
        ("*.apps", ResourceRef("apps", "*")),
        ("*.core", ResourceRef("", "*")),
    ],
)
def test_resolve_names_resources_as_kubectl_does(text: str, expected: ResourceRef) -> None:
    """Plural, singular, kind, short names, group- and version-qualified names, subresources."""
    assert resolve(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "widgets",
        "pods/frobnicate",
        "deployments.v9.apps",
        "deployments.batch",
        "pods/exec/x",
        "rb",
        "crb",
    ],
)
def test_resolve_refuses_what_the_api_server_does_not_serve(text: str) -> None:
    """Unknown names, subresources, versions and groups resolve to nothing (kubectl has no
    `rb`/`crb` short names either: discovery lists none for RBAC kinds)."""
    assert resolve(text) is None


def test_suggest_offers_a_close_spelling() -> None:
    """A typo gets the nearest known name; a subresource typo the nearest subresource."""
    assert suggest("secrts") == "secrets"
    assert suggest("pods/exce") == "pods/exec"
    assert suggest("zzzzzzzz") is None


def test_verbs_include_the_authorizer_only_ones() -> None:
    """bind, escalate and impersonate are askable though no endpoint is named after them."""
    assert {"get", "create", "bind", "escalate", "impersonate", "*"} <= kube_resources.verbs()
    assert "frobnicate" not in kube_resources.verbs()


def test_custom_reads_names_scope_and_subresources_from_crd_facts() -> None:
    """A CRD's plural, singular, short names, scope and served subresources make its entry."""
    crd = {
        "spec": {
            "group": "example.io",
            "scope": "Cluster",
            "names": {
                "plural": "widgets",
                "singular": "widget",
                "kind": "Widget",
                "shortNames": ["wd"],
            },
            "versions": [
                {"name": "v1", "served": True, "subresources": {"status": {}}},
                {"name": "v0", "served": False, "subresources": {"scale": {}}},
            ],
        }
    }
    entry = custom(crd)
    assert (entry.name, entry.singular, entry.short_names) == ("widgets", "widget", ("wd",))
    assert (entry.namespaced, entry.subresources, entry.versions) == (False, ("status",), ("v1",))
    assert resolve("wd.example.io/status", (entry,)) == ResourceRef(
        "example.io", "widgets", "status", False
    )
