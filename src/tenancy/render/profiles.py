"""The render profiles: tier profiles, ClusterRole bodies and Vault path sets, from the
`render/` data directory (built in, or a repository's own at a git revision for `diff`). Pure
given the texts; `load` reads the built-in directory once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from tenancy.resources import data_dir


@dataclass(frozen=True, slots=True)
class Profiles:
    settings: dict[str, Any]
    cluster_roles: dict[str, list[dict[str, Any]]]  # name -> rules
    namespace_owner_policy: dict[str, Any]
    workstation_policy: dict[str, Any]


def from_texts(texts: Mapping[str, str]) -> Profiles:
    """Profiles from `render/`-relative paths (`profiles.yaml`, `clusterroles/x.yaml`, ...)."""
    roles = {}
    for path in sorted(texts):
        if path.startswith("clusterroles/") and path.endswith(".yaml"):
            body = yaml.safe_load(texts[path])
            roles[str(body["name"])] = list(body["rules"])
    return Profiles(
        settings=yaml.safe_load(texts["profiles.yaml"]),
        cluster_roles=roles,
        namespace_owner_policy=yaml.safe_load(texts["vault/namespace-owner.yaml"]),
        workstation_policy=yaml.safe_load(texts["vault/workstation.yaml"]),
    )


def builtin_texts() -> dict[str, str]:
    root = data_dir("render")
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*.yaml"))
    }


@cache
def load() -> Profiles:
    return from_texts(builtin_texts())
