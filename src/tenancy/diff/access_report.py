"""Text and JSON for `tenancy explain` and `tenancy who-can`. Pure."""

from __future__ import annotations

import difflib
import json
from collections import defaultdict
from collections.abc import Mapping

from tenancy.diff import kube_resources
from tenancy.diff.access import allows, vault_capabilities
from tenancy.diff.kube_resources import ResourceRef
from tenancy.errors import UsageError
from tenancy.model import Person


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
                        {
                            "scope": p.scope,
                            "resource": p.resource,
                            "verb": p.verb,
                            **({"resource_names": list(p.names)} if p.names else {}),
                        }
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
        named = f" [{', '.join(grant.names)}]" if grant.names else ""
        by_scope[grant.scope][grant.resource + named].append(grant.verb)
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


#: Vault's policy capabilities (https://developer.hashicorp.com/vault/docs/concepts/policies,
#: "Capabilities"); `deny` is not asked about, it only takes away.
VAULT_CAPABILITIES = ("create", "delete", "list", "patch", "read", "recover", "subscribe",
                      "sudo", "update")  # fmt: skip


def is_vault_path(verb: str, text: str) -> bool:
    """Whether `who-can VERB TEXT` asks about Vault: a capability and a path that no
    Kubernetes name can be (two or more `/`, or `X/Y` where X/Y is no resource/subresource)."""
    if verb not in VAULT_CAPABILITIES or "/" not in text:
        return False
    return text.count("/") > 1 or kube_resources.resolve(text) is None


def kube_request(verb: str, text: str) -> ResourceRef:
    """The request `who-can VERB RESOURCE` names, or a UsageError with a close spelling."""
    verb = verb.lower()
    if verb not in kube_resources.verbs():
        close = kube_resources.suggest_verb(verb)
        hint = f" (did you mean {close!r}?)" if close else ""
        raise UsageError(f"unknown verb {verb!r}{hint}; Vault capabilities take a path with /")
    ref = kube_resources.resolve(text)
    if ref is None:
        close = kube_resources.suggest(text)
        hint = f" (did you mean {close!r}?)" if close else ""
        raise UsageError(
            f"unknown resource {text!r}{hint}: name it as kubectl does (plural, singular, short"
            " name, `deployments.apps`, `pods/exec`)"
        )
    return ref


def vault_request(capability: str, path: str) -> str:
    """The path `who-can CAPABILITY PATH --vault` asks about, or a UsageError."""
    if capability not in VAULT_CAPABILITIES:
        close = difflib.get_close_matches(capability, VAULT_CAPABILITIES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown Vault capability {capability!r}{hint}")
    if not path or path.startswith("/") or "*" in path or "+" in path:
        raise UsageError(f"{path!r} is not a Vault request path (no leading /, no * or +)")
    return path


def who_can(
    people: Mapping[str, Person],
    verb: str,
    ref: ResourceRef,
    namespace: str | None,
    fmt: str,
    *,
    name: str = "",
) -> str:
    """Who holds `verb` on `ref`, by the RBAC authorizer's matching (`access.allows`).

    With a namespace: the scopes (`cluster`, the namespace) whose grants allow the request as
    a SubjectAccessReview in that namespace would be answered. Without one: every scope in
    which the person holds it (`cluster` means cluster-wide, a ClusterRoleBinding)."""
    rows = []
    for person in people.values():
        candidates = (
            {namespace, "cluster"} if namespace is not None else {g.scope for g in person.k8s}
        )
        scopes = sorted(
            scope
            for scope in candidates
            if any(
                allows(
                    g,
                    verb=verb,
                    group=ref.group,
                    resource=ref.resource,
                    subresource=ref.subresource,
                    name=name,
                    namespace="" if scope == "cluster" else scope,
                )
                for g in person.k8s
                if g.scope == scope
            )
        )
        if scopes:
            rows.append((person.id, person.role, scopes))
    if fmt == "json":
        return json.dumps([{"id": i, "role": r, "scopes": s} for i, r, s in rows], indent=2) + "\n"
    where = f" in namespace {namespace}" if namespace else ""
    named = f" named {name}" if name else ""
    out = [f"who can {verb} {ref}{named}{where}:"]
    out += [
        f"  {i} ({r}): " + ", ".join("cluster-wide" if s == "cluster" else s for s in scopes)
        for i, r, scopes in rows
    ] or ["  nobody"]
    return "\n".join(out) + "\n"


def who_can_vault(people: Mapping[str, Person], capability: str, path: str, fmt: str) -> str:
    """Who may use `capability` on the Vault path, by Vault's ACL path matching."""
    rows = []
    for person in people.values():
        if capability in vault_capabilities(person.vault, path):
            rows.append((person.id, person.role))
    if fmt == "json":
        return json.dumps([{"id": i, "role": r} for i, r in rows], indent=2) + "\n"
    out = [f"who can {capability} vault path {path}:"]
    out += [f"  {i} ({r})" for i, r in rows] or ["  nobody"]
    return "\n".join(out) + "\n"
