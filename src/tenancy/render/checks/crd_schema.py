"""The upstream CRD facts (schemas/crds/) as JSON Schemas for the strict check of rendered
custom resources. Pure given the files.

Each file is an upstream CustomResourceDefinition without its descriptions, recorded with its
project, tag and commit (schemas/crds/README.md). Its `openAPIV3Schema` is what an API server
validates a custom resource against; this module turns it into JSON Schema 2020-12 the way
the API server reads it:

- strict, as `kubectl apply` (field validation `Strict`) is: an object that lists its
  `properties` refuses any other field, unless it says `x-kubernetes-preserve-unknown-fields`;
- `x-kubernetes-int-or-string` takes an integer or a string, `nullable` takes null;
- an `x-kubernetes-embedded-resource` carries apiVersion, kind and metadata implicitly;
- `default` is applied by the server before it validates, so a required field with a default
  is not required of the rendered text;
- CEL rules (`x-kubernetes-validations`) and `format` are not evaluated offline: the test
  cluster, which installs these same files, judges them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from tenancy.resources import data_dir

_SCHEMA_MAPS = ("properties", "patternProperties")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
#: Keywords of a CRD schema that JSON Schema has no use for, or that need the server.
_DROPPED = frozenset({"nullable", "format", "default", "example", "externalDocs"})


def folder() -> Path:
    return data_dir("schemas") / "crds"


@cache
def index() -> dict[tuple[str, str], str]:
    """(apiVersion, kind) -> the CRD file that describes it."""
    found: dict[tuple[str, str], str] = {}
    for path in sorted(folder().glob("*.json")):
        crd = _crd(str(path))
        spec = crd["spec"]
        for version in spec["versions"]:
            found[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = str(path)
    return found


@cache
def _crd(path: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return loaded


def upstream(api_version: str, kind: str) -> str | None:
    """Which upstream release the facts of a kind come from (`owner/repo tag`), if recorded."""
    path = index().get((api_version, kind))
    if path is None:
        return None
    annotations = _crd(path)["metadata"].get("annotations", {})
    return str(annotations.get("tenancy.io/upstream", Path(path).name))


@cache
def json_schema(api_version: str, kind: str) -> dict[str, Any]:
    """The JSON Schema of one custom kind (KeyError when no CRD facts describe it)."""
    path = index()[(api_version, kind)]
    version = api_version.rsplit("/", 1)[1]
    spec = _crd(path)["spec"]
    found = next(v for v in spec["versions"] if v["name"] == version)
    schema: dict[str, Any] = convert(found["schema"]["openAPIV3Schema"])
    properties = schema.setdefault("properties", {})
    # The server checks these itself (ObjectMeta's own schema; apiVersion and kind by the URL).
    properties["apiVersion"] = {"type": "string", "const": api_version}
    properties["kind"] = {"type": "string", "const": kind}
    properties["metadata"] = {"type": "object"}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def convert(node: Any) -> Any:
    """One CRD schema node as JSON Schema (see the module docstring for what changes)."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key.startswith("x-kubernetes-"):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: convert(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = convert(value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [convert(sub) for sub in value]
        elif key == "required" and isinstance(value, list):
            defaulted = {
                name
                for name, sub in (node.get("properties") or {}).items()
                if isinstance(sub, dict) and "default" in sub
            }
            kept = [name for name in value if name not in defaulted]
            if kept:
                out[key] = kept
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    closed = (
        "properties" in out
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    )
    if closed:
        out["additionalProperties"] = False
    return out


def identity() -> str:
    """What answers for the custom kinds (for the check cache's key): the files and sizes."""
    return ";".join(
        f"{Path(p).name}:{Path(p).stat().st_size}" for p in sorted(set(index().values()))
    )
