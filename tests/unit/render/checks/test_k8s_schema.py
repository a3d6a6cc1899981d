"""Strict Kubernetes schema validation of rendered objects, plus names and quantities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tenancy.model import Manifest
from tenancy.render.checks.k8s_schema import (
    DEFAULT_VERSION,
    _fast,
    _validator,
    check,
    schema_file,
    schema_root,
)
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


def test_custom_resources_without_crd_facts_are_reported_unchecked() -> None:
    """A custom kind with neither a schema nor CRD facts is named in one info finding, never
    silently passed."""
    m, texts = manifest(
        {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "c"}}
    )
    (info,) = check([m], texts, "out")
    assert info.severity == "info"
    assert "example.org/v1/Widget" in info.message


def auth_role(**spec: Any) -> dict[str, Any]:
    """A vault-config-operator KubernetesAuthEngineRole as tenancy renders it, changed by `spec`."""
    body: dict[str, Any] = {
        "apiVersion": "redhatcop.redhat.io/v1alpha1",
        "kind": "KubernetesAuthEngineRole",
        "metadata": {"name": "cleo-deployer", "namespace": "vault-config"},
        "spec": {
            "authentication": {"path": "kubernetes", "role": "vault-config-operator"},
            "path": "kubernetes",
            "policies": ["namespace-owner-cleo"],
            "targetNamespaces": {"targetNamespaces": ["woodpecker"]},
            "targetServiceAccounts": ["woodpecker-deployer"],
            "tokenTTL": 3600,
            "tokenMaxTTL": 3600,
        },
    }
    body["spec"].update(spec)
    return {**body, "spec": {k: v for k, v in body["spec"].items() if v is not None}}


def test_custom_resources_are_judged_by_their_upstream_crd() -> None:
    """A valid CR passes silently (a field the CRD defaults, authentication.serviceAccount,
    need not be written); a TTL as a string (what the API server refused) is an error at
    its line, naming the upstream release whose CRD judged it."""
    assert codes(auth_role()) == []
    m, texts = manifest(auth_role(tokenTTL="1h"))
    (error,) = check([m], texts, "out")
    line = texts[m.path].splitlines().index("  tokenTTL: '1h'") + 1
    assert str(error.location) == f"out/x/kubernetesauthenginerole.yaml:{line}:3"
    assert "spec.tokenTTL: '1h' is not of type 'integer'" in error.message
    assert "CRD of redhat-cop/vault-config-operator v0.8.52" in error.message


def test_custom_resources_are_strict_about_fields_enums_and_required() -> None:
    """An unknown field, a value outside an enum, and a missing required field are each an
    error at the right place."""
    m, texts = manifest(auth_role(bogus=1))
    line = texts[m.path].splitlines().index("  bogus: 1") + 1
    assert codes(auth_role(bogus=1)) == [
        (f"out/x/kubernetesauthenginerole.yaml:{line}:3", "k8s-schema")
    ]
    assert [c for _, c in codes(auth_role(tokenType="forever"))] == ["k8s-schema"]
    missing = codes(auth_role(policies=None))
    assert [c for _, c in missing] == ["k8s-schema"]
    body = auth_role()
    body["spec"]["authentication"]["extra"] = "x"
    assert [c for _, c in codes(body)] == ["k8s-schema"]


def _objects_of_this_repository() -> list[dict[str, Any]]:
    """Every rendered object of the committed tree that has a Kubernetes schema."""
    root = Path(__file__).resolve().parents[4] / "manifests" / "kubernetes"
    loaded = [yaml.safe_load(path.read_text()) for path in sorted(root.rglob("*.yaml"))]
    return [body for body in loaded if isinstance(body, dict) and "metadata" in body]


def _mutants(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The object with an unknown field at each level of its metadata and spec, and with a
    wrong type in each top-level field."""
    out = []
    for key in ("metadata", "spec"):
        if isinstance(body.get(key), dict):
            out.append({**body, key: {**body[key], "bogus": 1}})
    for key, value in body.items():
        if key not in ("apiVersion", "kind"):
            out.append({**body, key: 7 if not isinstance(value, int) else "seven"})
    return out


def test_the_fast_validator_says_what_the_detailed_one_says() -> None:
    """jsonschema-rs (the yes/no answer) and jsonschema (the messages) agree on every object of
    the committed render and on broken copies of each."""
    root = schema_root()
    assert root is not None, "kubernetes-validate's schemas are a dependency"
    objects = _objects_of_this_repository()
    assert {body["kind"] for body in objects} >= {"Namespace", "RoleBinding", "NetworkPolicy"}
    for body in objects:
        m, _ = manifest(body)
        file = schema_file(m)
        fast = _fast(str(root), DEFAULT_VERSION, file)
        if fast is None:
            continue  # a custom resource
        detailed = _validator(str(root), DEFAULT_VERSION, file)
        for candidate in [body, *_mutants(body)]:
            assert fast.is_valid(candidate) == detailed.is_valid(candidate), candidate
        assert fast.is_valid(body)
        assert not any(fast.is_valid(mutant) for mutant in _mutants(body)[:1])
