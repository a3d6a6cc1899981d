"""Validate rendered Kubernetes objects against the Kubernetes OpenAPI schemas, strictly.

Pure given the schema files. The schemas are the `-local-strict` JSON Schema 2020-12 files that
the `kubernetes-validate` package ships for Kubernetes 1.25-1.37 (offline; unknown fields
rejected). One compiled validator per kind is cached: compiling per object is what makes
`kubernetes-validate` itself take 8 s for 1,000 objects (reference/components.md).

The schemas do not check names or quantity syntax, which an API server would; those are
checked here too. Custom kinds (Certificate, Policy, ApplicationSet, ...) are checked against
the upstream CRD facts in schemas/crds/ (`crd_schema`); a kind in neither is reported once as
`info`, never silently passed.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from tenancy import quantity
from tenancy.errors import Diagnostic, Location
from tenancy.inputs.load import parse_yaml
from tenancy.model import Manifest
from tenancy.render.checks import crd_schema

# The minor of the test cluster (tests/kube.py), which judges what this check passes.
DEFAULT_VERSION = "1.35.0"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
#: Kinds whose name must be a DNS label (RFC 1123) rather than a subdomain.
_LABEL_NAMED = {"Namespace", "Service"}


@cache
def schema_root() -> Path | None:
    # Located, not imported: importing kubernetes_validate imports the jsonschema package
    # (~0.1 s), which only an object that fails needs, for its messages.
    try:
        spec = importlib.util.find_spec("kubernetes_validate")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent / "kubernetes-json-schema"
    return root if root.is_dir() else None


@cache
def _definitions(root: str, version: str) -> Any:
    """The shared `_definitions.json` (1.4 MB) that every kind's schema refers to: read once."""
    folder = Path(root) / f"v{version}-local-strict"
    return json.loads((folder / "_definitions.json").read_text(encoding="utf-8"))


def schemas_identity(version: str = DEFAULT_VERSION) -> str:
    """Which schema files answer: where they are, the size and age of the shared definitions
    file (a reinstall or upgrade of kubernetes-validate rewrites it), and the CRD facts."""
    crds = crd_schema.identity()
    root = schema_root()
    if root is None:
        return f"absent;{crds}"
    definitions = root / f"v{version}-local-strict" / "_definitions.json"
    try:
        info = definitions.stat()
    except OSError:
        return f"{root}:no-definitions;{crds}"
    return f"{root}:{version}:{info.st_size}:{info.st_mtime_ns};{crds}"


@cache
def _fast(root: str, version: str, file: str) -> Any:
    """jsonschema-rs for the yes/no answer (1,000 users' 25,000 objects in well under a
    second); the jsonschema validator below writes the messages when an object fails."""
    import jsonschema_rs

    folder = Path(root) / f"v{version}-local-strict"
    path = folder / file
    if not path.exists():
        return None
    definitions = _definitions(root, version)
    schema = json.loads(path.read_text(encoding="utf-8"))
    # Every definition goes to each kind's validator. Handing it only those the kind reaches
    # compiled faster (under 2 ms a kind instead of 4-9 ms), but that bought 2-3 % of a
    # 1,000-user render and nothing measurable at 10,000 (docs/render-pipeline.md): removed.
    return jsonschema_rs.validator_for(schema, retriever=lambda _uri: definitions)


@cache
def _validator(root: str, version: str, file: str) -> Any:
    folder = Path(root) / f"v{version}-local-strict"
    path = folder / file
    if not path.exists():
        return None
    import jsonschema
    from referencing import Registry, Resource

    definitions = _definitions(root, version)
    registry: Registry[Any] = Registry().with_resource(
        definitions["$id"], Resource.from_contents(definitions)
    )
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, registry=registry)


def schema_file(manifest: Manifest) -> str:
    api = str(manifest.body.get("apiVersion", ""))
    group, _, version = api.rpartition("/")
    kind = manifest.kind.lower()
    return f"{kind}-{group.split('.')[0]}-{version}.json" if group else f"{kind}-{version}.json"


def check(
    manifests: Iterable[Manifest],
    texts: Mapping[str, str],
    output: str,
    version: str = DEFAULT_VERSION,
) -> list[Diagnostic]:
    problems, unchecked = violations(manifests, texts, output, version)
    return [*problems, *notes(unchecked, output)]


def prepare(manifests: Iterable[Manifest], version: str = DEFAULT_VERSION) -> None:
    """Compile the validators these objects need now: processes forked afterwards share them
    instead of each compiling its own."""
    root = schema_root()
    kinds = {(str(m.body.get("apiVersion", "")), m.kind): m for m in manifests}
    for (api_version, _), manifest in kinds.items():
        _fast_for(root, version, api_version, manifest)


def violations(
    manifests: Iterable[Manifest],
    texts: Mapping[str, str],
    output: str,
    version: str = DEFAULT_VERSION,
) -> tuple[list[Diagnostic], set[str]]:
    """What `check` finds in some of a tree's objects, and the custom resource kinds among
    them that no schema covers (`notes` reports those once for the whole tree)."""
    root = schema_root()
    problems: list[Diagnostic] = []
    unchecked: set[str] = set()
    # One validator lookup per (apiVersion, kind), not per object.
    validators: dict[tuple[str, str], tuple[str, Any, str]] = {}
    for manifest in manifests:
        location = _locator(manifest, texts, output)
        problems += _names_and_quantities(manifest, location)
        api_version = str(manifest.body.get("apiVersion", ""))
        kind = (api_version, manifest.kind)
        found = validators.get(kind)
        if found is None:
            found = validators[kind] = _fast_for(root, version, api_version, manifest)
        file, fast, against = found
        if fast is None:
            if file:
                unchecked.add(f"{api_version}/{manifest.kind}")
            continue
        if fast.is_valid(manifest.body):
            continue
        validator = _detailed_for(root, version, file, api_version, manifest.kind)
        for error in validator.iter_errors(manifest.body):
            path = list(error.absolute_path)
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                known = set(error.schema.get("properties", {}))
                # Point at the unknown field itself, not at the object that holds it.
                path += [next((k for k in error.instance if k not in known), "")]
            where = ".".join(map(str, path)) or "object"
            problems.append(
                Diagnostic(
                    location=location(path),
                    severity="error",
                    code="k8s-schema",
                    message=f"{manifest.kind} {manifest.name}: {where}: "
                    f"{error.message[:200]} ({against})",
                    source="render",
                )
            )
    return problems, unchecked


def _fast_for(
    root: Path | None, version: str, api_version: str, manifest: Manifest
) -> tuple[str, Any, str]:
    """(schema name, yes/no validator or None, what the messages name as the judge). A kind
    with no built-in schema is looked up in the upstream CRD facts; a kind in neither comes
    back with no validator (and a name, so it is reported as unchecked)."""
    if root is not None:
        file = schema_file(manifest)
        fast = _fast(str(root), version, file)
        if fast is not None:
            return file, fast, f"Kubernetes {version} schema, strict"
    origin = crd_schema.upstream(api_version, manifest.kind)
    if origin is not None:
        return "", _crd_fast(api_version, manifest.kind), f"CRD of {origin}, strict"
    return ("" if root is None else schema_file(manifest)), None, ""


def _detailed_for(root: Path | None, version: str, file: str, api_version: str, kind: str) -> Any:
    if file and root is not None:
        return _validator(str(root), version, file)
    return _crd_validator(api_version, kind)


@cache
def _crd_fast(api_version: str, kind: str) -> Any:
    import jsonschema_rs

    return jsonschema_rs.validator_for(crd_schema.json_schema(api_version, kind))


@cache
def _crd_validator(api_version: str, kind: str) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(crd_schema.json_schema(api_version, kind))


def notes(unchecked: set[str], output: str) -> list[Diagnostic]:
    """What the schema check could not cover: everything, without the schema files; custom
    resources (`unchecked`), which no Kubernetes schema describes."""
    problems = []
    if schema_root() is None:
        problems.append(
            _info(
                output,
                "kubernetes-validate is not installed: Kubernetes schema "
                "checks did not run (pip install 'tenancy-gitops[k8s]')",
            )
        )
    if unchecked:
        kinds = ", ".join(sorted(unchecked))
        problems.append(
            _info(
                output,
                f"no Kubernetes schema or CRD facts for custom resources ({kinds}); "
                "they are checked by the audit rules only",
            )
        )
    return problems


def _info(output: str, message: str) -> Diagnostic:
    return Diagnostic(
        location=Location(output),
        severity="info",
        code="k8s-schema-skipped",
        message=message,
        source="render",
    )


def _locator(manifest: Manifest, texts: Mapping[str, str], output: str) -> Any:
    shown = f"{output}/{manifest.path}"
    document = None

    def locate(path: list[Any]) -> Location:
        nonlocal document
        if document is None:
            document, _ = parse_yaml(shown, texts.get(manifest.path, ""))
        return document.locate(path) if document is not None else Location(shown)

    return locate


def _names_and_quantities(manifest: Manifest, locate: Any) -> list[Diagnostic]:
    problems = []
    pattern = _DNS_LABEL if manifest.kind in _LABEL_NAMED else _DNS_SUBDOMAIN
    if not pattern.match(manifest.name) or len(manifest.name) > 253:
        problems.append(
            Diagnostic(
                location=locate(["metadata", "name"]),
                severity="error",
                code="k8s-invalid-name",
                message=f"{manifest.kind} name {manifest.name!r} is not a valid RFC 1123 name",
                source="render",
            )
        )
    hard = manifest.body.get("spec", {}).get("hard") if manifest.kind == "ResourceQuota" else None
    for key, value in (hard or {}).items():
        if quantity.parse(str(value)) is None:
            problems.append(
                Diagnostic(
                    location=locate(["spec", "hard", key]),
                    severity="error",
                    code="k8s-invalid-quantity",
                    message=f"ResourceQuota {manifest.name}: {key} {value!r} is not a quantity",
                    source="render",
                )
            )
    return problems
