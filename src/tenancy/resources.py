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
