"""What a change does to each person's access, between two snapshots. Pure.

Pipeline: each revision is validated and rendered afresh, `access.people` turns the rendered
objects into effective access per person, and `diff` compares them. Gains are graded by risk
(reference/anchors.md R4): admin, wildcards, cluster-wide Secrets and a namespace changing owner
are critical; Secrets, becoming a power-user, a namespace disappearing from the render unless
it is quarantined, a waiver added and a large quota raise are high; other gains, a namespace
moved into quarantine or out of it are medium; losses are low; changes that alter nobody's
access are info.

What a namespace's disappearance does is what the sync does with the rendered annotations: a
tenant Namespace is never pruned (`Prune=false,Delete=false`, Flux `prune: disabled`), so the
Namespace and its workloads stay while every other object tenancy rendered in it is pruned.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tenancy import quantity
from tenancy.model import Permission, Person, VaultGrant

Level = Literal["critical", "high", "medium", "low", "info"]
LEVELS: tuple[Level, ...] = ("critical", "high", "medium", "low", "info")
RANK = {level: i for i, level in enumerate(LEVELS)}
_SECRET_VERBS = {"get", "list", "watch", "*"}
_SHELL = {"pods/exec", "pods/attach", "pods/portforward", "serviceaccounts/token", "nodes/proxy"}
_ESCALATION = {"escalate", "bind", "impersonate"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    kind: str
    detail: str
    before: Any
    after: Any
    severity: Level
    #: What the sync does to a namespace the person loses or gains (`namespace-lost`,
    #: `namespace-gained`): `moved`, `quarantined`, `unguarded` (kept by the sync with its
    #: guardrails pruned), `from-quarantine`; None for every other change.
    outcome: str | None = None
    #: The objects in that namespace the sync prunes, as `Kind/name`, sorted.
    pruned: tuple[str, ...] = ()


#: The kinds of a tenant namespace that guard it, as a namespace change names them.
GUARDRAILS = ("NetworkPolicy", "ResourceQuota", "LimitRange", "Certificate")


@dataclass(frozen=True, slots=True, kw_only=True)
class Other:
    """A change that is not one person's: data, policies, config, waivers."""

    kind: str
    detail: str
    path: str
    severity: Level
    affects: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """One revision as the diff needs it."""

    label: str
    people: Mapping[str, Person] | None  # None: the revision did not validate far enough
    #: rendered output, path -> text, or (object, header source) for objects left as data
    files: Mapping[str, str | tuple[dict[str, Any], str]]
    sources: Mapping[str, str]  # input, data and policy files of the revision, path -> text
    waivers: tuple[tuple[str, str], ...] = ()  # (code, target) of each waiver
    problems: tuple[str, ...] = ()  # why the revision does not validate, as report lines
    #: tenancy.yaml `quarantine:`: each quarantined namespace and its former tenant's key.
    quarantined: Mapping[str, str] = field(default_factory=dict)
    #: Committed files in the folders a cluster syncs that the render does not make
    #: (repository paths): the sync applies them all the same.
    unowned: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditDiff:
    base: str
    head: str
    people: dict[str, tuple[Change, ...]]
    other: tuple[Other, ...]
    manifest_diff: str
    problems: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def max_severity(self) -> Level | None:
        levels: list[Level] = [c.severity for cs in self.people.values() for c in cs]
        levels += [o.severity for o in self.other]
        return _worst(levels) if levels else None

    @property
    def empty(self) -> bool:
        return not self.people and not self.other


def _k8s_level(grant: Permission, person: Person) -> Level:
    if grant.verb == "*" or grant.resource == "*" or grant.resource.startswith("*"):
        return "critical"
    if grant.resource == "secrets" and grant.verb in _SECRET_VERBS:
        return "critical" if grant.scope == "cluster" else "high"
    if grant.verb in _ESCALATION:
        return "critical"
    if grant.resource in _SHELL and grant.scope not in person.namespaces:
        return "high"
    return "medium"


def _vault_level(grant: VaultGrant, person: Person) -> Level:
    path = grant.path
    if grant.capability == "sudo" or path in ("*", "+"):
        return "critical"
    if path.startswith(("sys/", "identity/")) or (
        path.startswith("auth/") and not path.startswith("auth/token/")
    ):
        return "critical"
    own = (
        f"secret/data/{person.id}",
        f"secret/metadata/{person.id}",
        *(f"secret/data/workstation/claude-users/{u}" for u in person.os_users),
        *(f"secret/metadata/workstation/claude-users/{u}" for u in person.os_users),
        *(f"kubernetes/creds/{ns}-deployer" for ns in person.namespaces),
        "auth/token/lookup-self",
        "auth/token/renew-self",
    )
    if not any(path == p or path.startswith(p + "/") for p in own):
        return "high"  # reaches beyond the person's own paths: another tenant's, or shared
    return "medium"


def _worst(levels: Iterable[Level]) -> Level:
    return min(levels, key=RANK.__getitem__)


def _tier_level(after: str | None) -> Level:
    if after == "admin":
        return "critical"
    if after == "power-user":
        return "high"
    return "medium" if after else "low"


#: A namespace a person loses, by what the sync does with it.
_LOST_LEVEL: dict[str, Level] = {"moved": "low", "quarantined": "medium", "unguarded": "high"}


def _owners(people: Mapping[str, Person]) -> dict[str, str]:
    return {ns: p.id for p in people.values() for ns in p.namespaces}


#: The person on the missing side of an added or removed person: every field empty.
_NOBODY = Person(
    id="",
    role=None,
    roster_tiers=(),
    os_users=(),
    email=None,
    namespaces=(),
    domains=(),
    quota=(),
    k8s=frozenset(),
    vault=frozenset(),
)


def person_changes(
    before: Person | None,
    after: Person | None,
    *,
    owners_before: Mapping[str, str],
    owners_after: Mapping[str, str],
    quota_factor: float,
    quarantined_before: Mapping[str, str] | None = None,
    quarantined_after: Mapping[str, str] | None = None,
    pruned: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Change]:
    """One person's changes. `pruned` holds, per namespace the render loses or quarantines,
    the objects the sync prunes in it."""
    a, b = before or _NOBODY, after or _NOBODY
    out: list[Change] = []
    if before is None or after is None:
        out.append(_presence_change(a, b, added=after is not None))
    out += _tier_changes(a, b)
    out += _namespaces_gained(a, b, owners_before, quarantined_before or {})
    out += _namespaces_lost(a, b, owners_after, quarantined_after or {}, pruned or {})
    out += _quota_changes(a, b, quota_factor)
    out += _domain_changes(a, b)
    out += _grouped_k8s(b.k8s - a.k8s, b, gained=True)
    out += _grouped_k8s(a.k8s - b.k8s, a, gained=False)
    out += _grouped_vault(b.vault - a.vault, b, gained=True)
    out += _grouped_vault(a.vault - b.vault, a, gained=False)
    return out


def _presence_change(a: Person, b: Person, *, added: bool) -> Change:
    """The person appearing in the revision or leaving it."""
    return Change(
        kind="person",
        detail="added" if added else "removed",
        before=None if added else a.id,
        after=b.id if added else None,
        severity="info" if added else "low",
    )


def _tier_changes(a: Person, b: Person) -> list[Change]:
    """The k8s_users role and the roster tiers, each graded by the tier it ends at."""
    out: list[Change] = []
    if a.role != b.role:
        out.append(
            Change(
                kind="tier",
                detail="k8s_users role",
                before=a.role,
                after=b.role,
                severity=_tier_level(b.role) if b.role else "low",
            )
        )
    if a.roster_tiers != b.roster_tiers:
        top = "admin" if "admin" in b.roster_tiers and "admin" not in a.roster_tiers else None
        out.append(
            Change(
                kind="roster-tier",
                detail="roster tier",
                before=list(a.roster_tiers),
                after=list(b.roster_tiers),
                severity="critical"
                if top
                else _tier_level(b.roster_tiers[0] if b.roster_tiers else None),
            )
        )
    return out


def _namespaces_gained(
    a: Person, b: Person, owners_before: Mapping[str, str], locked_before: Mapping[str, str]
) -> list[Change]:
    out: list[Change] = []
    for ns in sorted(set(b.namespaces) - set(a.namespaces)):
        # Out of quarantine, the former tenant's workloads and Secrets are the new owner's.
        previous = owners_before.get(ns) or locked_before.get(ns)
        moved = previous is not None and previous != b.id
        out.append(
            Change(
                kind="namespace-gained",
                detail=ns,
                before=previous if moved else None,
                after=ns,
                severity="critical" if moved else "medium",
                outcome="from-quarantine" if ns in locked_before else None,
            )
        )
    return out


def _namespaces_lost(
    a: Person,
    b: Person,
    owners_after: Mapping[str, str],
    locked_after: Mapping[str, str],
    gone: Mapping[str, tuple[str, ...]],
) -> list[Change]:
    out: list[Change] = []
    for ns in sorted(set(a.namespaces) - set(b.namespaces)):
        successor = owners_after.get(ns)
        outcome = "moved" if successor else "quarantined" if ns in locked_after else "unguarded"
        out.append(
            Change(
                kind="namespace-lost",
                detail=ns,
                before=ns,
                after=successor,
                # Gone from the render: the sync keeps the Namespace and its workloads (never
                # pruned) and prunes its guardrails, unless it is quarantined.
                severity=_LOST_LEVEL[outcome],
                outcome=outcome,
                pruned=() if successor else gone.get(ns, ()),
            )
        )
    return out


def _quota_changes(a: Person, b: Person, factor: float) -> list[Change]:
    """Quota keys present on both sides whose value changed."""
    out: list[Change] = []
    quota_a, quota_b = dict(a.quota), dict(b.quota)
    for key in sorted(set(quota_a) | set(quota_b)):
        old, new = quota_a.get(key), quota_b.get(key)
        if old == new or old is None or new is None:
            continue
        out.append(
            Change(
                kind="quota",
                detail=key,
                before=old,
                after=new,
                severity=_quota_level(old, new, factor),
            )
        )
    return out


def _domain_changes(a: Person, b: Person) -> list[Change]:
    out = [
        Change(kind="domain-gained", detail=domain, before=None, after=domain, severity="medium")
        for domain in sorted(set(b.domains) - set(a.domains))
    ]
    out += [
        Change(kind="domain-lost", detail=domain, before=domain, after=None, severity="low")
        for domain in sorted(set(a.domains) - set(b.domains))
    ]
    return out


def _quota_level(old: str, new: str, factor: float) -> Level:
    a, b = quantity.parse(old), quantity.parse(new)
    if a is None or b is None or b <= a:
        return "low"
    if a == 0 or b / a > factor:
        return "high"
    return "medium"


def _grouped_k8s(grants: frozenset[Permission], person: Person, *, gained: bool) -> list[Change]:
    """One change per (scope, resource), listing the verbs: readable, and still exact."""
    groups: dict[tuple[str, str], list[Permission]] = defaultdict(list)
    for grant in grants:
        groups[(grant.scope, grant.resource)].append(grant)
    out = []
    for (scope, resource), items in sorted(groups.items()):
        verbs = sorted(g.verb for g in items)
        where = "cluster-wide" if scope == "cluster" else f"in namespace {scope}"
        detail = f"{resource} {where}"
        out.append(
            Change(
                kind="k8s-gained" if gained else "k8s-lost",
                detail=detail,
                before=None if gained else verbs,
                after=verbs if gained else None,
                severity=_worst(_k8s_level(g, person) for g in items) if gained else "low",
            )
        )
    return out


def _grouped_vault(grants: frozenset[VaultGrant], person: Person, *, gained: bool) -> list[Change]:
    groups: dict[str, list[VaultGrant]] = defaultdict(list)
    for grant in grants:
        groups[grant.path].append(grant)
    out = []
    for path, items in sorted(groups.items()):
        capabilities = sorted(g.capability for g in items)
        out.append(
            Change(
                kind="vault-gained" if gained else "vault-lost",
                detail=path,
                before=None if gained else capabilities,
                after=capabilities if gained else None,
                severity=_worst(_vault_level(g, person) for g in items) if gained else "low",
            )
        )
    return out


#: Repository files whose change is not one person's, and how risky such a change is.
_OTHER_KINDS: tuple[tuple[str, str, Level], ...] = (
    ("render/clusterroles/", "cluster-role", "high"),
    ("render/vault/", "vault-path-set", "high"),
    ("render/", "tier-profile", "high"),
    ("policies/", "policy", "medium"),
    ("schemas/", "schema", "medium"),
)


def other_changes(
    before: Snapshot,
    after: Snapshot,
    people_changed: Iterable[str],
    config_path: str | None,
    waivers_path: str | None,
) -> list[Other]:
    changed_people = tuple(sorted(people_changed))
    out = _source_changes(before, after, changed_people, config_path, waivers_path)
    out += _waiver_changes(before, after, waivers_path or "waivers.yaml")
    return out


def _source_changes(
    before: Snapshot,
    after: Snapshot,
    changed_people: tuple[str, ...],
    config_path: str | None,
    waivers_path: str | None,
) -> list[Other]:
    """The input, data and policy files that differ, graded by what they are."""
    out: list[Other] = []
    paths = sorted(set(before.sources) | set(after.sources))
    for path in paths:
        old, new = before.sources.get(path), after.sources.get(path)
        if old == new:
            continue
        if path == waivers_path:
            continue  # reported per waiver (_waiver_changes)
        if path == config_path:
            out.append(
                Other(
                    kind="config",
                    detail="configuration changed",
                    path=path,
                    severity="medium",
                    affects=changed_people,
                )
            )
            continue
        for prefix, kind, level in _OTHER_KINDS:
            if path.startswith(prefix):
                action = "added" if old is None else "removed" if new is None else "changed"
                out.append(
                    Other(
                        kind=kind,
                        detail=f"{kind} {action}",
                        path=path,
                        severity=level,
                        affects=changed_people,
                    )
                )
                break
        else:
            if not changed_people:
                # An input edit that changes nobody's access: comments or ordering.
                out.append(
                    Other(
                        kind="input",
                        detail="changed without changing anyone's access",
                        path=path,
                        severity="info",
                    )
                )
    return out


def _waiver_changes(before: Snapshot, after: Snapshot, path: str) -> list[Other]:
    """Each waiver added (it silences a finding: high) or removed."""
    out = [
        Other(kind="waiver-added", detail=f"{code} on {target}", path=path, severity="high")
        for code, target in sorted(set(after.waivers) - set(before.waivers))
    ]
    out += [
        Other(kind="waiver-removed", detail=f"{code} on {target}", path=path, severity="low")
        for code, target in sorted(set(before.waivers) - set(after.waivers))
    ]
    return out


def manifest_diff(
    before: Mapping[str, str | tuple[dict[str, Any], str]],
    after: Mapping[str, str | tuple[dict[str, Any], str]],
    base: str,
    head: str,
) -> str:
    """A unified diff of the rendered files; objects kept as data are written out only when
    they differ (the expensive part of a render is writing YAML that did not change)."""
    chunks: list[str] = []
    for path in sorted(set(before) | set(after)):
        old_value, new_value = before.get(path), after.get(path)
        if old_value == new_value or path == "INDEX.json":
            continue
        old, new = _text(old_value), _text(new_value)
        chunks.extend(
            difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                (new or "").splitlines(keepends=True),
                fromfile=f"a/{path}" if old is not None else "/dev/null",
                tofile=f"b/{path}" if new is not None else "/dev/null",
            )
        )
    return "".join(chunks)


def _text(value: str | tuple[dict[str, Any], str] | None) -> str | None:
    if isinstance(value, tuple):
        from tenancy.render.yaml import dump

        return dump(value[0], value[1])
    return value


def diff(
    before: Snapshot,
    after: Snapshot,
    *,
    quota_factor: float = 2.0,
    config_path: str | None = None,
    waivers_path: str | None = None,
) -> AuditDiff:
    people: dict[str, tuple[Change, ...]] = {}
    if before.people is not None and after.people is not None:
        owners_before, owners_after = _owners(before.people), _owners(after.people)
        pruned = pruned_objects(before.files, after.files, set(owners_before) - set(owners_after))
        for person_id in sorted(set(before.people) | set(after.people)):
            changes = person_changes(
                before.people.get(person_id),
                after.people.get(person_id),
                owners_before=owners_before,
                owners_after=owners_after,
                quota_factor=quota_factor,
                quarantined_before=before.quarantined,
                quarantined_after=after.quarantined,
                pruned=pruned,
            )
            if changes:
                people[person_id] = tuple(
                    sorted(changes, key=lambda c: (RANK[c.severity], c.kind, c.detail))
                )
    problems = {s.label: s.problems for s in (before, after) if s.problems}
    others = other_changes(before, after, people, config_path, waivers_path)
    others += quarantine_changes(before, after, config_path)
    others += [
        Other(
            kind="hand-added file",
            detail=f"{path} is in a folder the cluster syncs but tenancy does not render it: "
            "the sync applies it, unreviewed as access (delete it, or render it from the inputs)",
            path=path,
            severity="high",
        )
        for path in after.unowned
        if path not in before.unowned
    ]
    return AuditDiff(
        base=before.label,
        head=after.label,
        people=people,
        other=tuple(others),
        manifest_diff=manifest_diff(before.files, after.files, before.label, after.label),
        problems=problems,
    )


Files = Mapping[str, str | tuple[dict[str, Any], str]]


def namespace_objects(files: Files, namespaces: set[str]) -> dict[str, set[str]]:
    """The tenant objects (`Kind/name`, the Namespace left out) a render holds in each of
    `namespaces`: the objects kept as data, under kubernetes/tenants/."""
    found: dict[str, set[str]] = {ns: set() for ns in namespaces}
    if not namespaces:
        return found
    for path, value in files.items():
        if not path.startswith("kubernetes/tenants/"):
            continue
        if isinstance(value, tuple):
            meta = value[0].get("metadata", {})
            namespace, kind, name = meta.get("namespace"), value[0].get("kind"), meta.get("name")
        else:  # written out: `<folder>/<namespace>/<kind>-<name>.yaml`, the kind lower-cased
            *_, namespace, file = path.split("/")
            lower, _, name = file.removesuffix(".yaml").partition("-")
            kind = _KINDS.get(lower)
        if namespace in found and kind is not None:
            found[namespace].add(f"{kind}/{name}")
    return found


_KINDS = {kind.lower(): kind for kind in (*GUARDRAILS, "RoleBinding")}


def pruned_objects(before: Files, after: Files, namespaces: set[str]) -> dict[str, tuple[str, ...]]:
    """Per namespace, what the sync prunes in it between the two renders: the objects of the
    base render that the head render no longer holds there (the Namespace itself is never
    pruned)."""
    old, new = namespace_objects(before, namespaces), namespace_objects(after, namespaces)
    return {ns: tuple(sorted(old[ns] - new[ns])) for ns in sorted(namespaces)}


def quarantine_changes(before: Snapshot, after: Snapshot, config_path: str | None) -> list[Other]:
    """Namespaces put into quarantine without having been anyone's (a person's namespace that
    is quarantined is that person's change), and namespaces taken out of it."""
    if before.people is None or after.people is None:
        return []
    owned_before, owned_after = _owners(before.people), _owners(after.people)
    path = config_path or "tenancy.yaml"
    out: list[Other] = []
    for ns in sorted(set(after.quarantined) - set(before.quarantined)):
        if ns not in owned_before:
            out.append(
                Other(
                    kind="quarantine-added",
                    detail=f"namespace {ns} quarantined (former tenant "
                    f"{after.quarantined[ns]}): whatever runs in it is cut off from the "
                    "network and can start no new pod",
                    path=path,
                    severity="medium",
                )
            )
    for ns in sorted(set(before.quarantined) - set(after.quarantined)):
        if ns in owned_after:
            continue  # the new owner's namespace-gained says it
        out.append(
            Other(
                kind="quarantine-removed",
                detail=f"namespace {ns} leaves quarantine: the sync prunes its deny-all "
                "NetworkPolicy and quotas but keeps the Namespace (prune disabled), so "
                "unless it was deleted by hand its workloads run on with no guardrails; "
                f"retire it: kubectl delete namespace {ns}",
                path=path,
                severity="medium",
            )
        )
    return out
