"""The upstream CRD facts as JSON Schemas: read as an API server reads a structural schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tenancy.render.checks import crd_schema


def valid(schema: dict[str, Any], value: Any) -> bool:
    return jsonschema.Draft202012Validator(crd_schema.convert(schema)).is_valid(value)


def test_objects_with_properties_refuse_other_fields() -> None:
    """Strict, as `kubectl apply` is: a listed object takes no field it does not list."""
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert valid(schema, {"a": "x"})
    assert not valid(schema, {"a": "x", "b": 1})


def test_preserve_unknown_fields_and_maps_stay_open() -> None:
    """`x-kubernetes-preserve-unknown-fields` and `additionalProperties` maps take any key."""
    preserved = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "x-kubernetes-preserve-unknown-fields": True,
    }
    assert valid(preserved, {"a": "x", "b": 1})
    labels = {"type": "object", "additionalProperties": {"type": "string"}}
    assert valid(labels, {"any": "x"})
    assert not valid(labels, {"any": 1})


def test_int_or_string_and_nullable() -> None:
    """`x-kubernetes-int-or-string` takes either; `nullable` takes null as well."""
    port = {"x-kubernetes-int-or-string": True}
    assert valid(port, 80) and valid(port, "http")
    assert not valid(port, 1.5)
    name = {"type": "string", "nullable": True}
    assert valid(name, None) and valid(name, "x")
    assert not valid({"type": "string"}, None)


def test_a_required_field_with_a_default_is_not_required_of_the_text() -> None:
    """The API server defaults before it validates: a defaulted field may be left out."""
    schema = {
        "type": "object",
        "required": ["a", "b"],
        "properties": {"a": {"type": "string"}, "b": {"type": "string", "default": "x"}},
    }
    assert valid(schema, {"a": "y"})
    assert not valid(schema, {"b": "y"})


def test_an_embedded_resource_carries_apiversion_kind_and_metadata() -> None:
    """An embedded object's apiVersion, kind and metadata are implied by the marker."""
    schema = {
        "type": "object",
        "x-kubernetes-embedded-resource": True,
        "properties": {"spec": {"type": "object"}},
    }
    assert valid(schema, {"apiVersion": "v1", "kind": "X", "metadata": {}, "spec": {}})


def test_every_recorded_crd_names_its_upstream_and_converts() -> None:
    """Each file in schemas/crds/ is a CRD with its upstream release recorded, and each of
    its kinds has a JSON Schema that accepts the minimal object (only when nothing is
    required) or at least compiles."""
    kinds = crd_schema.index()
    assert len(kinds) >= 11
    for (api_version, kind), path in kinds.items():
        crd = json.loads(Path(path).read_text(encoding="utf-8"))
        annotations = crd["metadata"]["annotations"]
        assert annotations["tenancy.io/upstream"] == crd_schema.upstream(api_version, kind)
        assert len(annotations["tenancy.io/upstream-commit"]) == 40
        schema = crd_schema.json_schema(api_version, kind)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["properties"]["kind"] == {"type": "string", "const": kind}


def test_no_upstream_prose_is_recorded() -> None:
    """Facts only: no `description` text anywhere in a schema (a property may be named so)."""

    def prose(node: Any, in_properties: bool = False) -> list[str]:
        if isinstance(node, dict):
            found = []
            for key, value in node.items():
                if key == "description" and isinstance(value, str) and not in_properties:
                    found.append(value[:40])
                found += prose(value, key == "properties")
            return found
        if isinstance(node, list):
            return [p for item in node for p in prose(item)]
        return []

    for path in sorted(set(crd_schema.index().values())):
        assert prose(json.loads(Path(path).read_text(encoding="utf-8"))) == [], path


def test_an_unknown_kind_has_no_schema() -> None:
    """Asking for a kind no CRD describes is a KeyError, and `upstream` says None."""
    assert crd_schema.upstream("example.org/v1", "Widget") is None
    with pytest.raises(KeyError):
        crd_schema.json_schema("example.org/v1", "Widget")
