"""Text and JSON for `tenancy explain` and `tenancy who-can`. Pure."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping

from tenancy.model import Permission, Person


def explain(person: Person, fmt: str) -> str:
    if fmt == "json":
        return (
            json.dumps(
                {
                    "id": person.id,
                    "role": person.role,
                    "roster_tiers": list(person.roster_tiers),
                    "os_users": list(person.os_users),
                    "email": person.email,
                    "namespaces": list(person.namespaces),
                    "domains": list(person.domains),
                    "quota": dict(person.quota),
                    "kubernetes": [
                        {"scope": p.scope, "resource": p.resource, "verb": p.verb}
                        for p in sorted(person.k8s)
                    ],
                    "vault": [
                        {"path": g.path, "capability": g.capability} for g in sorted(person.vault)
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    out = [
        f"{person.id}: role {person.role or '-'}, "
        f"roster tier {', '.join(person.roster_tiers) or '-'}"
        f" (os users: {', '.join(person.os_users) or '-'}), identity {person.email or '-'}",
        f"namespaces: {', '.join(person.namespaces) or '-'}",
        f"domains: {', '.join(person.domains) or '-'}",
        f"quota per namespace: {', '.join(f'{k}={v}' for k, v in person.quota) or '-'}",
        "kubernetes:",
    ]
    by_scope: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for grant in sorted(person.k8s):
        by_scope[grant.scope][grant.resource].append(grant.verb)
    if not by_scope:
        out.append("  (nothing)")
    for scope in sorted(by_scope, key=lambda s: (s != "cluster", s)):
        out.append(f"  {'cluster-wide' if scope == 'cluster' else 'namespace ' + scope}:")
        for resource, verbs in sorted(by_scope[scope].items()):
            out.append(f"    {resource}: {', '.join(verbs)}")
    out.append("vault:")
    paths: dict[str, list[str]] = defaultdict(list)
    for vault_grant in sorted(person.vault):
        paths[vault_grant.path].append(vault_grant.capability)
    out += [f"  {path}: {', '.join(caps)}" for path, caps in sorted(paths.items())] or [
        "  (nothing)"
    ]
    return "\n".join(out) + "\n"


def _allows(grant: Permission, verb: str, resource: str, namespace: str | None) -> bool:
    if grant.verb not in (verb, "*") or grant.resource not in (resource, "*"):
        return False
    return namespace is None or grant.scope in ("cluster", namespace)


def who_can(
    people: Mapping[str, Person], verb: str, resource: str, namespace: str | None, fmt: str
) -> str:
    rows = []
    for person in people.values():
        scopes = sorted({g.scope for g in person.k8s if _allows(g, verb, resource, namespace)})
        if scopes:
            rows.append((person.id, person.role, scopes))
    if fmt == "json":
        return json.dumps([{"id": i, "role": r, "scopes": s} for i, r, s in rows], indent=2) + "\n"
    where = f" in namespace {namespace}" if namespace else ""
    out = [f"who can {verb} {resource}{where}:"]
    out += [
        f"  {i} ({r}): " + ", ".join("cluster-wide" if s == "cluster" else s for s in scopes)
        for i, r, scopes in rows
    ] or ["  nobody"]
    return "\n".join(out) + "\n"
