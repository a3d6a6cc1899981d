"""Desired Vault state from the rendered tree, observed state, and the plan between them. Pure.

Pipeline: render -> **desired(rendered)**; `sync/vault.observe()` -> Observed;
**plan(desired, observed)** -> Plan -> `sync/vault.apply()`. See DESIGN.md, "Data flow".

Safety rules the plan encodes (the shell only carries them out):
- tenancy changes or deletes only objects it owns: those its managed-objects index on the
  server records, identity objects by their server IDs (`sync/vault.py` decides which observed
  objects those are; a name alone, or `managed-by` metadata anyone can set, never makes an
  object tenancy's). A rendered object whose name is taken by an object tenancy does not own
  is a `conflict`, never overwritten, unless the plan is made with `adopt`.
- nothing is attached to an object in conflict: a change whose object names one (an alias of
  a conflicting entity, a role or entity granted a conflicting policy) is blocked with it.
- an owned object that is no longer rendered is a `delete`, blocked unless `allow_delete`;
  deleting an entity also deletes its other aliases and its group memberships on the server
  (Vault cascades), so when it carries any tenancy does not own, the plan shows them and
  blocks the delete unless `allow_cascade` names the entity.
- an entity has one alias per auth mount (Vault refuses a second), so a changed alias name
  (an email change) renames tenancy's alias in place, by its ID; alias names compare without
  case, as Vault compares them.
- creates and updates (reversible) come before deletes; within them, objects come in
  dependency order (`KINDS`: policies before the roles and entities that name them), and
  deletes in the reverse order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from tenancy.quantity import seconds
from tenancy.render.plan import Rendered
from tenancy.sync import hcl

Kind = Literal["policy", "auth-role", "secret-role", "entity", "entity-alias", "group"]
#: Apply order of creates and updates; deletes run in the reverse order.
KINDS: tuple[Kind, ...] = ("policy", "auth-role", "secret-role", "entity", "entity-alias", "group")
Action = Literal["create", "update", "delete", "conflict"]
Key = tuple[Kind, str]

MANAGED_BY = "managed-by"
OWNER = "tenancy"
_VCO = "redhatcop.redhat.io/v1alpha1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """An ACL policy. Compared by its rules only: the HCL text (header comment, layout) is
    what gets written, not what decides whether the server matches."""

    name: str
    rules: hcl.Rules
    text: str = field(compare=False)
    #: Set when the server's text could not be parsed; such a policy never equals a rendered one.
    unreadable: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthRole:
    """A Kubernetes auth-method role at auth/<mount>/role/<role>; TTLs in seconds."""

    mount: str
    role: str
    bound_service_account_names: tuple[str, ...]
    bound_service_account_namespaces: tuple[str, ...]
    audience: str
    policies: tuple[str, ...]
    token_ttl: int
    token_max_ttl: int

    @property
    def name(self) -> str:
        return f"{self.mount}/{self.role}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretRole:
    """A Kubernetes secrets-engine role at <mount>/roles/<role>: reading <mount>/creds/<role>
    mints a token of a service account Vault creates in an allowed namespace and binds to
    the named Role there. TTLs in seconds."""

    mount: str
    role: str
    allowed_kubernetes_namespaces: tuple[str, ...]
    kubernetes_role_name: str
    kubernetes_role_type: str
    token_default_ttl: int
    token_max_ttl: int

    @property
    def name(self) -> str:
        return f"{self.mount}/{self.role}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Entity:
    name: str
    policies: tuple[str, ...]
    metadata: tuple[tuple[str, str], ...]  # sorted; includes managed-by: tenancy when desired
    #: On the server only (never compared): every alias (mount, name) and every group the
    #: entity is a direct member of, which Vault removes with it when it is deleted.
    aliases: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    groups: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityAlias:
    """An entity alias, identified by its auth mount path and its name (the OIDC email)."""

    mount: str
    alias: str
    entity: str | None  # canonical entity's name; None when it has no readable name

    @property
    def name(self) -> str:
        return f"{self.mount}/{self.alias}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    name: str
    type: str  # internal | external
    policies: tuple[str, ...]
    metadata: tuple[tuple[str, str], ...]


VaultObject = Policy | AuthRole | SecretRole | Entity | EntityAlias | Group


def kind_of(obj: VaultObject) -> Kind:
    return _KIND_OF[type(obj)]


_KIND_OF: dict[type, Kind] = {
    Policy: "policy",
    AuthRole: "auth-role",
    SecretRole: "secret-role",
    Entity: "entity",
    EntityAlias: "entity-alias",
    Group: "group",
}


def key_of(obj: VaultObject) -> Key:
    return (kind_of(obj), obj.name)


@dataclass(frozen=True, slots=True)
class State:
    """A set of Vault objects by (kind, name)."""

    objects: Mapping[Key, VaultObject]

    @classmethod
    def of(cls, objects: Iterable[VaultObject]) -> State:
        return cls({key_of(o): o for o in objects})

    def mounts(self, kind: Kind) -> set[str]:
        """The mounts the objects of one kind live on (auth roles and aliases: auth methods;
        secrets-engine roles: secrets engines)."""
        return {
            o.mount
            for k, o in self.objects.items()
            if k[0] == kind and isinstance(o, AuthRole | SecretRole | EntityAlias)
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Observed:
    """What the server holds of the objects tenancy cares about, and what tenancy owns there.

    `objects` holds every existing object that is rendered or owned (nothing else is read);
    `owned` is the ownership record (the managed-objects index plus entity metadata); `ids`
    are server identifiers the shell needs to update or delete (entity and alias IDs).
    """

    objects: Mapping[Key, VaultObject]
    owned: frozenset[Key]
    ids: Mapping[Key, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, order=True)
class PathDelta:
    """Capability-level difference of one policy path (added/removed are sorted)."""

    path: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    other_changed: bool = False

    def __str__(self) -> str:
        quoted = json.dumps(self.path)
        if not self.removed and not self.other_changed and self.added:
            return f"path {quoted}: new, {_caps(self.added)}"
        if not self.added and not self.other_changed and self.removed:
            return f"path {quoted}: removed, was {_caps(self.removed)}"
        parts = [f"+{c}" for c in self.added] + [f"-{c}" for c in self.removed]
        if self.other_changed:
            parts.append("parameter constraints differ")
        return f"path {quoted}: {' '.join(parts)}"


def _caps(caps: tuple[str, ...]) -> str:
    return "[" + ", ".join(caps) + "]"


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One step of a plan. `blocked` says why apply will not carry it out (conflict, delete
    without --allow-delete); `owned` says whether tenancy owned the object before."""

    action: Action
    kind: Kind
    name: str
    before: VaultObject | None
    after: VaultObject | None
    detail: tuple[str, ...] = ()
    paths: tuple[PathDelta, ...] = ()
    owned: bool = False
    adopt: bool = False
    blocked: str | None = None
    #: A renamed alias: its name on the server now (the shell finds its ID by this name).
    previous: str | None = None

    @property
    def key(self) -> Key:
        return (self.kind, self.name)

    @property
    def server_key(self) -> Key:
        """The key the object has on the server before this change (differs for a rename)."""
        return (self.kind, self.previous or self.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Changes in apply order; `forget` are index entries of owned objects already gone."""

    changes: tuple[Change, ...]
    forget: frozenset[Key] = frozenset()

    @property
    def runnable(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.blocked is None)

    @property
    def blocked(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.blocked is not None)


# --- desired state from the rendered tree -------------------------------------------------


def _meta(values: Mapping[str, Any], *, owned: bool) -> tuple[tuple[str, str], ...]:
    merged = {str(k): str(v) for k, v in values.items()}
    if owned:
        merged[MANAGED_BY] = OWNER  # ownership is visible on the entity itself
    return tuple(sorted(merged.items()))


def desired(rendered: Rendered) -> State:
    """The Vault objects the rendered vault-config-operator resources describe.

    Policy names are the review files' (`vault/policies/<name>.hcl`, the names entities refer
    to); the operator resource's metadata.name is the same name with `_` made `-`.
    """
    review = _review_policies(rendered.files)
    objects: list[VaultObject] = []
    for manifest in rendered.manifests:
        body = manifest.body
        if body.get("apiVersion") != _VCO:
            continue
        spec = body["spec"]
        name = str(body["metadata"]["name"])
        if manifest.kind == "Policy":
            text = str(spec["policy"])
            stem, review_text = review.get(name, (name, text))
            objects.append(
                Policy(name=stem if review_text == text else name, rules=hcl.parse(text), text=text)
            )
        elif manifest.kind == "KubernetesAuthEngineRole":
            objects.append(_desired_auth_role(name, spec))
        elif manifest.kind == "KubernetesSecretEngineRole":
            objects.append(_desired_secret_role(name, spec))
        elif manifest.kind == "Entity":
            objects.append(
                Entity(
                    name=str(spec.get("name") or name),
                    policies=tuple(sorted(spec.get("policies", ()))),
                    metadata=_meta(spec.get("metadata") or {}, owned=True),
                )
            )
        elif manifest.kind == "EntityAlias":
            objects.append(
                EntityAlias(
                    mount=str(spec["authEngineMountPath"]),
                    alias=str(spec["name"]),
                    entity=str(spec["entityName"]),
                )
            )
        elif manifest.kind == "Group":
            objects.append(
                Group(
                    name=str(spec.get("name") or name),
                    type=str(spec.get("type", "internal")),
                    policies=tuple(sorted(spec.get("policies", ()))),
                    metadata=_meta(spec.get("metadata") or {}, owned=True),
                )
            )
    return State.of(objects)


def _review_policies(files: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """The review files' policies by their operator resource's name: (policy name, text)."""
    review: dict[str, tuple[str, str]] = {}
    for path, text in files.items():
        if path.startswith("vault/policies/") and path.endswith(".hcl"):
            stem = path.removeprefix("vault/policies/").removesuffix(".hcl")
            review[stem.replace("_", "-")] = (stem, text)
    return review


def _desired_auth_role(name: str, spec: Mapping[str, Any]) -> AuthRole:
    return AuthRole(
        mount=str(spec["path"]),
        role=str(spec.get("name") or name),
        bound_service_account_names=tuple(sorted(spec["targetServiceAccounts"])),
        bound_service_account_namespaces=tuple(
            sorted(spec["targetNamespaces"]["targetNamespaces"])
        ),
        audience=str(spec.get("audience", "")),
        policies=tuple(sorted(spec.get("policies", ()))),
        token_ttl=seconds(spec.get("tokenTTL", 0)),
        token_max_ttl=seconds(spec.get("tokenMaxTTL", 0)),
    )


def _desired_secret_role(name: str, spec: Mapping[str, Any]) -> SecretRole:
    return SecretRole(
        mount=str(spec["path"]),
        role=str(spec.get("name") or name),
        allowed_kubernetes_namespaces=tuple(sorted(spec.get("allowedKubernetesNamespaces", ()))),
        kubernetes_role_name=str(spec.get("kubernetesRoleName", "")),
        kubernetes_role_type=str(spec.get("kubernetesRoleType", "Role")),
        # The CRD's durations are strings (`1800s`): Vault answers seconds.
        token_default_ttl=seconds(spec.get("defaultTTL", 0)),
        token_max_ttl=seconds(spec.get("maxTTL", 0)),
    )


# --- the plan -----------------------------------------------------------------------------


def policy_delta(before: Policy | None, after: Policy | None) -> tuple[PathDelta, ...]:
    """Per path: capabilities added and removed (and whether other settings changed)."""
    old = dict(before.rules) if before else {}
    new = dict(after.rules) if after else {}
    deltas = []
    for path in sorted(old.keys() | new.keys()):
        was = old.get(path, hcl.PathRule(frozenset()))
        now = new.get(path, hcl.PathRule(frozenset()))
        if was == now:
            continue
        deltas.append(
            PathDelta(
                path=path,
                added=tuple(sorted(now.capabilities - was.capabilities)),
                removed=tuple(sorted(was.capabilities - now.capabilities)),
                other_changed=was.other != now.other,
            )
        )
    return tuple(deltas)


def _show(value: object) -> str:
    if isinstance(value, tuple) and all(isinstance(v, tuple) for v in value):
        return json.dumps(dict(value), sort_keys=True)  # metadata pairs
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return json.dumps(value)


def field_delta(before: VaultObject, after: VaultObject) -> tuple[str, ...]:
    """`field: old -> new` for every field that differs (non-policy objects)."""
    lines = []
    for name, spec in type(after).__dataclass_fields__.items():
        if not spec.compare:
            continue
        was, now = getattr(before, name), getattr(after, name)
        if was != now:
            lines.append(f"{name}: {_show(was)} -> {_show(now)}")
    return tuple(lines)


def _difference(
    before: VaultObject | None, after: VaultObject | None
) -> tuple[tuple[str, ...], tuple[PathDelta, ...]]:
    if isinstance(before, Policy | None) and isinstance(after, Policy | None):
        paths = policy_delta(before, after)
        detail = tuple(str(p) for p in paths)
        if before is not None and before.unreadable:
            detail = (f"the server's policy could not be parsed: {before.unreadable}", *detail)
        return detail, paths
    if before is None or after is None:
        return (), ()
    return field_delta(before, after), ()


def plan(
    desired: State,
    observed: Observed,
    *,
    allow_delete: bool = False,
    adopt: bool = False,
    allow_cascade: Iterable[str] = (),
) -> Plan:
    """What to create, update, delete or report as a conflict so the server matches `desired`."""
    renames = _renames(desired, observed)
    renamed_from = set(renames.values())
    # The aliases tenancy owns (or takes over by renaming), folded once for every create.
    ours = _alias_folds(observed.owned | renamed_from, observed)
    reversible: list[Change] = []
    for key in sorted(desired.objects, key=_order):
        want = desired.objects[key]
        have = observed.objects.get(key)
        if have is None and key in renames:
            reversible.append(_rename(key, renames[key], want, observed))
        elif have is None:
            reversible.append(_create(key, want, observed, ours))
        else:
            change = _update(key, want, have, owned=key in observed.owned, adopt=adopt)
            if change is not None:
                reversible.append(change)
    reversible = _block_attached(reversible)
    leaving = frozenset(observed.owned - desired.objects.keys() - renamed_from)
    deletes, forget = _deletes(
        observed, leaving, allow_delete=allow_delete, cascade_ok=frozenset(allow_cascade)
    )
    return Plan(changes=(*reversible, *deletes), forget=forget)


def _rename(key: Key, old: Key, want: VaultObject, observed: Observed) -> Change:
    """A rendered alias that takes over tenancy's alias `old` of the same entity and mount."""
    before = observed.objects[old]
    detail, _ = _difference(before, want)
    return Change(
        action="update",
        kind=key[0],
        name=key[1],
        before=before,
        after=want,
        detail=(f"rename in place: {old[1]} -> {key[1]}", *detail),
        owned=True,
        previous=old[1],
    )


def _create(key: Key, want: VaultObject, observed: Observed, ours: set[tuple[str, str]]) -> Change:
    """A rendered object the server does not hold: created, unless its alias slot is taken."""
    detail, paths = _difference(None, want)
    taken = _alias_slot_taken(want, observed, ours)
    return Change(
        action="conflict" if taken else "create",
        kind=key[0],
        name=key[1],
        before=None,
        after=want,
        detail=detail,
        paths=paths,
        owned=key in observed.owned and not taken,
        blocked=taken,
    )


def _update(
    key: Key, want: VaultObject, have: VaultObject, *, owned: bool, adopt: bool
) -> Change | None:
    """A rendered object the server holds: nothing when tenancy owns it as rendered, else an
    update of an owned (or adopted) object, or a conflict over one tenancy does not own."""
    if owned and have == want:
        return None
    detail, paths = _difference(have, want)
    if owned:
        action: Action = "update"
        blocked = None
    elif adopt:
        action, blocked = "update", None
        detail = ("adopt: tenancy takes ownership of this existing object", *detail)
    else:
        action = "conflict"
        blocked = "exists on the server and is not managed by tenancy (--adopt takes it over)"
    return Change(
        action=action,
        kind=key[0],
        name=key[1],
        before=have,
        after=want,
        detail=detail,
        paths=paths,
        owned=owned,
        adopt=not owned and adopt,
        blocked=blocked,
    )


def _deletes(
    observed: Observed, leaving: frozenset[Key], *, allow_delete: bool, cascade_ok: frozenset[str]
) -> tuple[list[Change], frozenset[Key]]:
    """The deletes of the owned objects no longer rendered (in reverse apply order), and the
    index entries of those already gone from the server."""
    deletes: list[Change] = []
    forget = set()
    ours = _alias_folds(leaving, observed)  # the aliases tenancy deletes itself
    for key in sorted(leaving, key=_order, reverse=True):
        have = observed.objects.get(key)
        if have is None:
            forget.add(key)  # deleted before, or by hand: only the index entry is left
            continue
        detail, paths = _difference(have, None)
        reasons = [] if allow_delete else ["deletes need --allow-delete"]
        if isinstance(have, Entity):
            cascade = _cascade(have, ours)
            detail = (*detail, *cascade)
            if cascade and have.name not in cascade_ok:
                reasons.append(
                    f"deleting entity {have.name} also deletes what tenancy does not own "
                    f"(the cascade shown): --allow-cascade {have.name} allows it"
                )
        deletes.append(
            Change(
                action="delete",
                kind=key[0],
                name=key[1],
                before=have,
                after=None,
                detail=detail,
                paths=paths,
                owned=True,
                blocked="; ".join(reasons) or None,
            )
        )
    return deletes, frozenset(forget)


def _order(key: Key) -> tuple[int, str]:
    return KINDS.index(key[0]), key[1]


def fold(mount: str, alias: str) -> tuple[str, str]:
    """How Vault tells aliases apart: by mount, and by name without case."""
    return mount, alias.casefold()


def _renames(desired: State, observed: Observed) -> dict[Key, Key]:
    """Rendered aliases tenancy does not own whose entity has a tenancy alias on the same
    mount that is no longer rendered: that alias is renamed in place (new key -> old key).
    When the new name is taken (a conflict), the old alias is kept, not deleted: the person
    keeps their login until the conflict is resolved."""
    spare: dict[tuple[str, str | None], list[Key]] = {}
    for key in sorted(observed.owned - desired.objects.keys()):
        have = observed.objects.get(key)
        if isinstance(have, EntityAlias):
            spare.setdefault((have.mount, have.entity), []).append(key)
    renames: dict[Key, Key] = {}
    for key in sorted(desired.objects):
        want = desired.objects[key]
        if not isinstance(want, EntityAlias) or key in observed.owned:
            continue
        candidates = spare.get((want.mount, want.entity))
        if candidates:
            renames[key] = candidates.pop(0)
    return renames


def _alias_folds(keys: Iterable[Key], observed: Observed) -> set[tuple[str, str]]:
    """The folded mount and name of each server alias among `keys`."""
    found = set()
    for key in keys:
        have = observed.objects.get(key)
        if isinstance(have, EntityAlias):
            found.add(fold(have.mount, have.alias))
    return found


def _alias_slot_taken(
    want: VaultObject, observed: Observed, ours: set[tuple[str, str]]
) -> str | None:
    """Why an alias cannot be created: its entity already has one on that mount that tenancy
    does not own (`ours`: Vault allows one alias per entity and mount, and refuses a second)."""
    if not isinstance(want, EntityAlias):
        return None
    entity = observed.objects.get(("entity", want.entity or ""))
    if not isinstance(entity, Entity):
        return None
    for mount, name in entity.aliases:
        if mount == want.mount and fold(mount, name) not in ours:
            return (
                f"entity {entity.name} already has alias {mount}/{name}, not managed by tenancy "
                "(Vault allows one alias per entity and mount)"
            )
    return None


def references(obj: VaultObject | None) -> tuple[Key, ...]:
    """The objects an object names: the policies it grants, the entity an alias belongs to."""
    if isinstance(obj, Entity | AuthRole | Group):
        return tuple(("policy", p) for p in obj.policies)
    if isinstance(obj, EntityAlias):
        return (("entity", obj.entity or ""),)
    return ()


def _block_attached(changes: list[Change]) -> list[Change]:
    """Block every change that would attach something to an object in conflict (or to one
    whose own change is blocked for that reason), until nothing more is blocked."""
    blocked = {c.key for c in changes if c.action == "conflict"}
    out = list(changes)
    grew = True
    while grew:
        grew = False
        for index, change in enumerate(out):
            if change.blocked is not None:
                continue
            hit = next((k for k in references(change.after) if k in blocked), None)
            if hit is None:
                continue
            out[index] = replace(
                change,
                blocked=f"names {hit[0]} {hit[1]}, which is in conflict: nothing is attached "
                "to an object tenancy does not own",
            )
            blocked.add(change.key)
            grew = True
    return out


def _cascade(entity: Entity, ours: set[tuple[str, str]]) -> tuple[str, ...]:
    """What Vault deletes with an entity besides what tenancy deletes itself (`ours`)."""
    lines = [
        f"cascade: Vault also deletes alias {mount}/{name} (not managed by tenancy)"
        for mount, name in entity.aliases
        if fold(mount, name) not in ours
    ]
    lines += [f"cascade: Vault also removes {entity.name} from group {g}" for g in entity.groups]
    return tuple(lines)


# --- names, ownership bookkeeping, plan files ----------------------------------------------


def invalid_names(state: State) -> list[tuple[Key, str]]:
    """Objects whose names Vault would not keep as given: a control character (a newline
    makes `gabi@example.org\\n` a name that reads back as another) or surrounding spaces."""
    found = []
    for key in sorted(state.objects, key=_order):
        obj = state.objects[key]
        names = [key[1]]
        if isinstance(obj, EntityAlias):
            names.append(obj.entity or "")
        for name in names:
            if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name):
                found.append((key, f"{key[0]} name {name!r} holds a control character"))
                break
            if name != name.strip():
                found.append((key, f"{key[0]} name {name!r} starts or ends with a space"))
                break
    return found


def owned_after(owned: frozenset[Key], plan: Plan, done: Iterable[Change]) -> frozenset[Key]:
    """What tenancy owns once `done` (changes of `plan`) are carried out: created and adopted
    objects are recorded once they exist; deleted ones, renamed-away names and forgotten
    entries are dropped. Nothing is recorded for a change that was not carried out."""
    result = set(owned)
    for change in done:
        if change.action == "delete":
            result.discard(change.key)
        else:
            result.discard(change.server_key)
            result.add(change.key)
    return frozenset(result - plan.forget)


def fingerprint(desired: State, observed: Observed, options: Mapping[str, Any]) -> str:
    """A digest of everything a plan is made from: the same digest, the same plan.

    A plan file records it; applying the file re-reads the server and refuses when the digest
    differs (the server, the rendered tree or the options changed since the review)."""
    entities = sorted(
        (o.name, o.aliases, o.groups) for o in observed.objects.values() if isinstance(o, Entity)
    )
    parts = [
        repr(sorted(desired.objects.items())),
        repr(sorted(observed.objects.items())),
        repr(entities),  # not part of Entity equality, but part of what a delete cascades to
        repr(sorted(observed.owned)),
        repr(sorted(observed.ids.items())),
        json.dumps(dict(options), sort_keys=True),
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def exposing(desired: State, data_path: str) -> list[str]:
    """Rendered policies that could write `data_path` (e.g. tenancy's own index in KV).

    Vault path globs: a trailing `*` is a prefix match, `+` matches one path segment.
    """
    writers = {"create", "update", "delete", "patch", "sudo"}
    found = []
    for obj in desired.objects.values():
        if not isinstance(obj, Policy):
            continue
        for pattern, rule in obj.rules:
            writes = rule.capabilities & writers and "deny" not in rule.capabilities
            if writes and glob_match(pattern, data_path):
                found.append(obj.name)
                break
    return sorted(found)


def glob_match(pattern: str, path: str) -> bool:
    """Whether a Vault policy path pattern covers a request path."""
    prefix = pattern.endswith("*")
    body = pattern[:-1] if prefix else pattern
    parts = body.split("/")
    target = path.split("/")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if index >= len(target):
            return prefix and last and part == ""
        segment = target[index]
        if part == "+":
            continue
        if last and prefix:
            return segment.startswith(part)  # a prefix match spans the later segments too
        if segment != part:
            return False
    return len(target) == len(parts)
