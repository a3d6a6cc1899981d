"""The render profiles: tier profiles, ClusterRole bodies and Vault path sets, read from the
`render/` data directory. Pure lookup of built-in data (trusted YAML, loaded once)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tenancy.resources import data_dir


@dataclass(frozen=True, slots=True)
class Profiles:
    settings: dict[str, Any]
    cluster_roles: dict[str, list[dict[str, Any]]]  # name -> rules
    namespace_owner_policy: dict[str, Any]
    workstation_policy: dict[str, Any]
    files: tuple[str, ...]  # the data files read, for `diff` to attribute changes


def load(folder: Path | None = None) -> Profiles:
    return _load(str(folder or data_dir("render")))


@cache
def _load(folder: str) -> Profiles:
    root = Path(folder)

    def read(path: Path) -> Any:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)

    roles = {}
    for path in sorted((root / "clusterroles").glob("*.yaml")):
        body = read(path)
        roles[str(body["name"])] = list(body["rules"])
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*.yaml"))
    return Profiles(
        settings=read(root / "profiles.yaml"),
        cluster_roles=roles,
        namespace_owner_policy=read(root / "vault" / "namespace-owner.yaml"),
        workstation_policy=read(root / "vault" / "workstation.yaml"),
        files=tuple(files),
    )
