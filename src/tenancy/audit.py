"""Audit the rendered output with the `rendered`-stage Rego policies. Pure given the engine.

The rendered RBAC and Vault objects are what people actually get, so the privilege rules
(no Secrets for power-users, no escalate/bind/impersonate, ...) run on them, and a finding lands
on the line of the rendered file that grants too much.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tenancy.errors import Diagnostic, Location
from tenancy.load import Document, parse_yaml
from tenancy.model import Config
from tenancy.policy import PolicyEngine, PolicySet, evaluate
from tenancy.render import Rendered


def audit(
    engine: PolicyEngine, policies: PolicySet, rendered: Rendered, config: Config, output: str
) -> list[Diagnostic]:
    manifests = [m for m in rendered.manifests if m.path in rendered.files]
    objects = [{"file": m.path, "object": m.body} for m in manifests]
    documents: dict[int, Document | None] = {}

    def locate(path: Sequence[str | int]) -> Location | None:
        if len(path) < 2 or path[0] != "objects" or not isinstance(path[1], int):
            return None
        index = path[1]
        if not 0 <= index < len(manifests):
            return None
        if index not in documents:
            manifest = manifests[index]
            document, _ = parse_yaml(f"{output}/{manifest.path}", rendered.files[manifest.path])
            documents[index] = document
        document = documents[index]
        if document is None:  # pragma: no cover - tenancy's own output always parses
            return Location(f"{output}/{manifests[index].path}")
        rest = list(path[3:]) if len(path) > 2 and path[2] == "object" else []
        return document.locate(rest)

    data: dict[str, Any] = {"objects": objects, "config": config.policy_view()}
    return evaluate(engine, policies, data, locate, stage="rendered", fallback=Location(output))
