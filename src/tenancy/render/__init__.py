"""Render the inventory into the manifests tree. Pure: returns {path: text}, never writes.

Pipeline stage 6 (model -> **render** -> write | compare). Determinism is written down here:
one object per file at a path derived from its kind and name, objects built in canonical key
order, order-free lists sorted, one dumper (`render/yaml.py`), a generated-file header without
revision or timestamp, and an index of every file with its sha256 and the input key that
produced it. Names come only from validated input.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from tenancy.errors import Diagnostic, Location
from tenancy.model import Inventory, Manifest
from tenancy.render import kubernetes, sync, vault
from tenancy.render.profiles import Profiles
from tenancy.render.yaml import dump

INDEX = "INDEX.json"
#: Install order for anything that lists objects (helm's InstallOrder, trimmed to our kinds).
KIND_ORDER = (
    "Namespace",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "ClusterRole",
    "ClusterRoleBinding",
    "RoleBinding",
    "Certificate",
)


@dataclass(frozen=True, slots=True)
class Rendered:
    files: dict[str, str]  # path -> text, sorted by path; includes INDEX.json
    manifests: tuple[Manifest, ...]  # every Kubernetes-shaped object, for the audit stage
    sources: dict[str, str]  # path -> input key that produced it


def render(
    inventory: Inventory,
    profiles: Profiles,
    *,
    sources: dict[str, str],
    output: str = "manifests",
    text: bool = True,
) -> tuple[Rendered, list[Diagnostic]]:
    """The whole tree. `sources` names the input files for headers (`roster`, `k8s_users`).

    `text=False` leaves the Kubernetes-shaped objects as data (no YAML, no INDEX.json): `diff`
    compares two revisions' objects and writes YAML only for the few that differ.
    """
    manifests: list[Manifest] = [
        *kubernetes.cluster_roles(profiles),
        *kubernetes.user_bindings(inventory, profiles),
        *kubernetes.namespaces(inventory, profiles),
    ]
    review, operator = vault.render(inventory, profiles, sources)
    manifests += operator
    manifests += sync.render(profiles.settings, output, "render/profiles.yaml")
    manifests.sort(key=install_order)

    files: dict[str, str] = {}
    origin: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for manifest in manifests:
        body = dump(manifest.body, header_source(manifest.source, sources)) if text else ""
        _add(files, origin, problems, manifest.path, body, manifest.source)
    if not text:
        for manifest in manifests:
            del files[manifest.path]
    for path, (content, source) in review.items():
        _add(files, origin, problems, path, content, source)
    # Kustomizations only list the objects; a diff of the objects already shows what they add.
    for path, content in (kustomizations(manifests) if text else {}).items():
        _add(files, origin, problems, path, content, "render")
    index = {
        "version": 1,
        "generator": "tenancy",
        "files": {
            path: {
                "sha256": hashlib.sha256(files[path].encode()).hexdigest(),
                "source": origin[path],
            }
            for path in sorted(files)
        },
    }
    if text:
        files[INDEX] = json.dumps(index, indent=2, sort_keys=True) + "\n"
    ordered = dict(sorted(files.items()))
    return Rendered(files=ordered, manifests=tuple(manifests), sources=origin), problems


def install_order(manifest: Manifest) -> tuple[int, str, str, str]:
    """KIND_ORDER first (unknown kinds last, alphabetically), then namespace and name."""
    rank = KIND_ORDER.index(manifest.kind) if manifest.kind in KIND_ORDER else len(KIND_ORDER)
    return (rank, manifest.kind, manifest.namespace or "", manifest.name)


def header_source(source: str, sources: dict[str, str]) -> str:
    """The input file a generated file's header names."""
    if source.startswith("k8s_users."):
        return sources["k8s_users"]
    if source.startswith("roster."):
        return sources["roster"]
    return source


def _add(
    files: dict[str, str],
    origin: dict[str, str],
    problems: list[Diagnostic],
    path: str,
    text: str,
    source: str,
) -> None:
    if path in files:
        # Two inputs that differ only in `_` versus `-` map to one object name.
        problems.append(
            Diagnostic(
                location=Location(path),
                severity="error",
                code="render-name-collision",
                message=f"{source} and {origin[path]} both render {path}",
                hint="rename one of the keys: object names cannot hold '_', so a_b and a-b clash",
                source="render",
            )
        )
        return
    files[path] = text
    origin[path] = source


#: Directories that are synced as one unit; kustomizations nest up to them and no further.
_UNIT_ROOTS = ("kubernetes/cluster", "kubernetes/tenants", "vault/operator")


def kustomizations(manifests: list[Manifest]) -> dict[str, str]:
    """A kustomization.yaml in every directory of Kubernetes objects, listing files and subdirs."""
    children: dict[str, set[str]] = defaultdict(set)
    for manifest in manifests:
        if not manifest.path.startswith(("kubernetes/", "vault/operator/")):
            continue
        folder, name = posixpath.split(manifest.path)
        children[folder].add(name)
        while "/" in folder and folder not in _UNIT_ROOTS:
            parent, child = posixpath.split(folder)
            children[parent].add(child + "/")
            folder = parent
    out = {}
    for folder, entries in children.items():
        if folder == "kubernetes":
            continue
        resources = sorted(e.rstrip("/") for e in entries)
        body: dict[str, Any] = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
        }
        out[f"{folder}/kustomization.yaml"] = dump(body, "render")
    return out
