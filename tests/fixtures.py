"""Small inputs several unit tests share: a namespace-owner with two namespaces and a power-user."""

from __future__ import annotations

from typing import Any

SOURCES = {"roster": "tenants/roster.yaml", "k8s_users": "tenants/k8s_users.yaml"}
ROSTER: dict[str, Any] = {
    "users": {
        "cleom": {
            "authentik_user": "cleo98",
            "k8s_user": "cleo",
            "tier": "namespace-owner",
            "namespaces": ["cleo", "cleo-books"],
        },
        "brin": {"authentik_user": "brin.k", "k8s_user": "brin", "tier": "power-user"},
    }
}


def drop_user(text: str, key: str) -> str:
    """The YAML text without one top-level user (and its lines), for a smaller input."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith(f"{key}:"):
            skipping = True
            continue
        if skipping and (line.startswith(" ") or not line.strip()):
            continue
        skipping = False
        out.append(line)
    return "".join(out)
