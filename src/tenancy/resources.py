"""Find the built-in data directories (schemas/, policies/, render/). Pure lookup, no writes.

In a wheel they are packed under `tenancy/_data/`; in a source checkout (an editable install,
the tests) they are read from the repository root, so there is exactly one copy to edit.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

DataDir = Literal["schemas", "policies", "render"]
SCHEMA_NAMES = ("roster", "k8s_users", "tenancy", "waivers")

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: DataDir) -> Path:
    packed = _PACKAGE / "_data" / name
    if packed.is_dir():
        return packed
    return _PACKAGE.parent.parent / name


@cache
def schema(name: str) -> dict[str, Any]:
    """A built-in JSON Schema by short name (`roster`, `k8s_users`, `tenancy`, `waivers`)."""
    if name not in SCHEMA_NAMES:
        raise KeyError(name)
    with (data_dir("schemas") / f"{name}.schema.json").open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


def schema_text(name: str) -> str:
    return (data_dir("schemas") / f"{name}.schema.json").read_text(encoding="utf-8")


#: Where render/profiles.yaml names the namespaces of the platform's own components.
_PLATFORM_KEYS = (
    ("network", "dns_namespace"),
    ("network", "ingress_namespace"),
    ("certificates", "namespace"),
    ("vault", "operator_namespace"),
    ("sync", "argocd_namespace"),
    ("sync", "flux_namespace"),
)


@cache
def _profile_settings() -> dict[str, Any]:
    import yaml

    text = (data_dir("render") / "profiles.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def platform_namespaces(render: dict[str, Any]) -> tuple[str, ...]:
    """Every namespace the render data itself uses for the platform (the ingress controller,
    vault-config-operator, cert-manager, Argo CD, Flux, DNS), with a site's
    `render:` override of the ingress namespace: a tenant owning one would run pods as the
    platform's service accounts there (the operator authenticates to Vault as its `default`)."""
    found = set()
    for path in _PLATFORM_KEYS:
        node: Any = _profile_settings()
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str):
            found.add(node)
    if isinstance(render.get("ingress_namespace"), str):
        found.add(render["ingress_namespace"])
    return tuple(sorted(found))
