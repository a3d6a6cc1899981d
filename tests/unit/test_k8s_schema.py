"""Strict Kubernetes schema validation of rendered objects, plus names and quantities."""

from __future__ import annotations

from typing import Any

from tenancy.k8s_schema import check, schema_file
from tenancy.model import Manifest
from tenancy.render.yaml import dump


def manifest(body: dict[str, Any]) -> tuple[Manifest, dict[str, str]]:
    path = f"x/{body['kind'].lower()}.yaml"
    m = Manifest(
        path=path,
        kind=body["kind"],
        name=body["metadata"]["name"],
        namespace=body["metadata"].get("namespace"),
        body=body,
        source="s",
    )
    return m, {path: dump(body, "s")}


def codes(body: dict[str, Any]) -> list[tuple[str, str]]:
    m, texts = manifest(body)
    return [(str(d.location), d.code) for d in check([m], texts, "out") if d.severity == "error"]


def test_schema_file_names() -> None:
    """Core kinds map to `<kind>-<version>.json`, grouped ones to `<kind>-<group>-<version>.json`."""
    m, _ = manifest(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "a"},
        }
    )
    assert schema_file(m) == "clusterrole-rbac-v1.json"
    m, _ = manifest({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})
    assert schema_file(m) == "namespace-v1.json"


def test_unknown_field_is_rejected_at_its_line() -> None:
    """Strict mode: a field the API does not know is an error at the field's line."""
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "a", "labelz": {"x": "y"}},
    }
    assert codes(body) == [("out/x/namespace.yaml:6:3", "k8s-schema")]


def test_name_and_quantity_formats_the_schemas_miss() -> None:
    """An invalid name and an invalid quantity are caught, which the schemas alone do not do."""
    body = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "Team_A", "namespace": "a"},
        "spec": {"hard": {"pods": "8 gigs"}},
    }
    found = codes(body)
    assert ("out/x/resourcequota.yaml:5:3", "k8s-invalid-name") in found
    assert ("out/x/resourcequota.yaml:9:5", "k8s-invalid-quantity") in found


def test_custom_resources_are_reported_unchecked() -> None:
    """A CRD kind without a schema is named in one info finding, never silently passed."""
    m, texts = manifest(
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "c"}}
    )
    (info,) = check([m], texts, "out")
    assert info.severity == "info"
    assert "cert-manager.io/v1/Certificate" in info.message
