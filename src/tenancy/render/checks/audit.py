"""Audit the rendered output with the `rendered`-stage Rego policies. Pure given the engine.

The rendered RBAC and Vault objects are what people actually get, so the privilege rules
(no Secrets for power-users, no escalate/bind/impersonate, no Vault sudo, no cross-tenant globs)
run on them, and a finding lands on the line of the rendered file that grants too much. The
Vault policies are given to the rules as data parsed back from the rendered HCL, not from the
renderer's intermediate values, so the audit judges exactly what is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import yaml

from tenancy.errors import Diagnostic, Location
from tenancy.inputs.load import Document, parse_yaml
from tenancy.model import Config, Inventory
from tenancy.render.plan import Tree
from tenancy.render.plan.vault import parse_hcl
from tenancy.validate.policy import PolicyEngine, PolicySet, evaluate

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def audit_input(
    rendered: Tree,
    inventory: Inventory,
    config: Config,
    kinds: frozenset[str] | None = None,
) -> dict[str, Any]:
    """The rendered-stage policy input; `objects` holds only `kinds` when given."""
    manifests = rendered.objects(kinds)
    tiers = {u.key: u.role for u in inventory.users}
    row_tiers = {f"roster.users.{r.os_user}": r.tier for r in inventory.roster}
    policies = []
    role_files: list[tuple[str, str | None]] = []
    for path in rendered.vault_paths():
        source = rendered.sources.get(path, "")
        owner = _owner(source)
        tier = tiers.get(owner or "") if source.startswith("k8s_users.") else row_tiers.get(source)
        if path.startswith("vault/policies/") and path.endswith(".hcl"):
            text = rendered.files[path]
            policies.append(
                {
                    "file": path,
                    "name": path.rsplit("/", 1)[1].removesuffix(".hcl"),
                    "owner": owner,
                    "tier": tier,
                    "paths": [
                        {"path": p, "capabilities": list(caps)}
                        for p, caps in sorted(parse_hcl(text).items())
                    ],
                }
            )
        elif path.startswith("vault/kubernetes-auth/"):
            role_files.append((path, owner))
    roles = [{"file": path, "owner": owner, **_role(rendered, path)} for path, owner in role_files]
    return {
        "objects": [{"file": m.path, "object": m.body} for m in manifests],
        "vault_policies": policies,
        "vault_roles": roles,
        "tenants": {
            u.key: {
                "tier": u.role,
                "namespaces": list(u.namespaces),
                "identity": config.username(u),
            }
            for u in inventory.users
        },
        "config": config.policy_view(),
    }


def _role(rendered: Tree, path: str) -> dict[str, Any]:
    """A role file's data: what it was dumped from when the render kept it, else parsed.

    The one emitter's output reads back as exactly the data it was given (a property test
    holds it to that), so both are the file's content; the data costs nothing, parsing 12,000
    files costs over a second at 10,000 users."""
    body = rendered.data.get(path)
    if body is None:
        body = yaml.load(rendered.files[path], Loader=_Loader)
    return dict(body) if isinstance(body, dict) else {}


def _owner(source: str) -> str | None:
    if source.startswith("k8s_users."):
        return source.split(".", 1)[1]
    if source.startswith("roster.users."):
        return source.split(".", 2)[2]
    return None


def audit(
    engine: PolicyEngine,
    policies: PolicySet,
    rendered: Tree,
    inventory: Inventory,
    config: Config,
    output: str,
) -> list[Diagnostic]:
    kinds = policies.kinds("rendered")
    # The engine gets the input made on demand, and lets go of it once read; findings are
    # placed in the same input made again (the plan makes it the same), which a clean render,
    # with no findings, never needs.
    placed: dict[str, Any] = {}

    def data() -> dict[str, Any]:
        if not placed:
            placed.update(audit_input(rendered, inventory, config, kinds))
        return placed

    documents: dict[str, Document | None] = {}

    def document(path: str) -> Document | None:
        if path not in documents:
            documents[path], _ = parse_yaml(f"{output}/{path}", rendered.files.get(path, ""))
        return documents[path]

    def locate(path: Sequence[str | int]) -> Location | None:
        if len(path) < 2 or not isinstance(path[1], int):
            return None
        section, index, rest = path[0], path[1], list(path[2:])
        items = data().get(str(section))
        if not isinstance(items, list) or not 0 <= index < len(items):
            return None
        file = items[index]["file"]
        if section == "objects":
            doc = document(file)
            inner = rest[1:] if rest[:1] == ["object"] else []
            return doc.locate(inner) if doc else Location(f"{output}/{file}")
        if section == "vault_roles":
            doc = document(file)
            return doc.locate(rest) if doc else Location(f"{output}/{file}")
        if section == "vault_policies":
            return _hcl_location(rendered.files[file], f"{output}/{file}", items[index], rest)
        return None

    return evaluate(
        engine,
        policies,
        lambda: audit_input(rendered, inventory, config, kinds),
        locate,
        stage="rendered",
        fallback=Location(output),
    )


def _hcl_location(text: str, shown: str, policy: dict[str, Any], rest: list[Any]) -> Location:
    """The line of the `path "..."` block (or its capabilities line) a finding is about."""
    if len(rest) >= 2 and rest[0] == "paths" and isinstance(rest[1], int):
        entries = policy["paths"]
        if 0 <= rest[1] < len(entries):
            needle = f"path {json.dumps(entries[rest[1]]['path'])} {{"
            for number, line in enumerate(text.split("\n"), start=1):
                if line == needle:
                    if len(rest) > 2 and rest[2] == "capabilities":
                        return Location(shown, number + 1, 3)
                    return Location(shown, number, 1)
    return Location(shown)
