"""Onboarding and offboarding as edits of the inputs, made the way a person makes them. Pure.

`tenancy user add|set|park|unpark|offboard|rename` (people/command.py reads the files, validates
the edited texts as `tenancy validate` would and writes them, all or none). Each function here
takes the texts of the inputs and returns their edited texts and notes for the reader:

- a roster row, a k8s_users entry and a tenancy.yaml `quarantine:` entry are changed through
  yaml_edit, so every other byte of each file (comments, order, quoting, flow or block style,
  blank lines) stays as it was, and new rows look like their neighbours;
- a JSON k8s_users file (the form Vault stores) is written again with its own key order,
  indentation and escaping (JSON has no comments to keep);
- an offboarded roster row is commented out under a dated note, as the seed's rows are
  (`#  REMOVED 2026-08-17 (left T3 Users) -- reversible cut`), and the person's namespaces are
  quarantined rather than left to lose their guardrails (render/quarantine.py).

A request that cannot be meant (an unknown user, a key that exists) raises UsageError (exit 2);
whether an edit is *valid* is the validator's to say, not this module's.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tenancy.errors import UsageError
from tenancy.people import yaml_edit
from tenancy.people.yaml_edit import EditError
from tenancy.sync.kv import _follow

#: k8s_users quota keys (schemas/k8s_users.schema.json; tests/unit/people/test_edit.py holds them
#: equal): the live ones and the architecture doc's synonyms.
QUOTA_KEYS = (
    "cpu_requests",
    "memory_requests",
    "memory_limits",
    "cpu",
    "memory",
    "storage",
    "pods",
)
#: What only a namespace-owner may have in k8s_users: dropped when the role changes away.
OWNER_ONLY = ("namespaces", "domains", "quota", "network")
OWNER = "namespace-owner"


@dataclass(frozen=True, slots=True, kw_only=True)
class Inputs:
    """The texts of the files a person edits (None: not an input of this configuration)."""

    roster: str | None
    k8s_users: str | None
    k8s_json: bool = False
    config: str | None = None  # tenancy.yaml, for `quarantine:` (and `admins:`, read only)


@dataclass(frozen=True, slots=True, kw_only=True)
class Edited:
    inputs: Inputs
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NewUser:
    """`tenancy user add`: a k8s_users entry (`k8s`), a roster row (when `os_user`), or both."""

    key: str
    role: str | None
    email: str | None = None
    namespaces: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    quota: Mapping[str, str] = field(default_factory=dict)
    network: tuple[str, ...] = ()
    os_user: str | None = None
    authentik_user: str | None = None
    code_layout: str | None = None
    repos: tuple[str, ...] = ()
    claude_auth: bool | None = None
    k8s: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """`tenancy user set`: what to change; None and empty mean "leave as it is"."""

    role: str | None = None
    email: str | None = None
    quota: Mapping[str, str | None] = field(default_factory=dict)  # None: remove the key
    namespaces: tuple[str, ...] | None = None  # the whole list
    add_namespaces: tuple[str, ...] = ()
    remove_namespaces: tuple[str, ...] = ()
    domains: tuple[str, ...] | None = None
    add_domains: tuple[str, ...] = ()
    remove_domains: tuple[str, ...] = ()
    network: tuple[str, ...] | None = None
    quarantine: bool = True  # namespaces the person loses are quarantined
    today: str = ""  # YYYY-MM-DD, the quarantine entries' `since`


# --- reading ---------------------------------------------------------------------------------


def k8s_users(inputs: Inputs) -> dict[str, Any]:
    """The k8s_users map (empty when there is no file or it is empty)."""
    if inputs.k8s_users is None:
        return {}
    if inputs.k8s_json:
        try:
            data = json.loads(inputs.k8s_users) if inputs.k8s_users.strip() else {}
        except json.JSONDecodeError as exc:
            raise EditError(f"not valid JSON: {exc}") from None
    else:
        data = yaml_edit.load(inputs.k8s_users)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EditError("k8s_users is not a mapping of users")
    return data


def roster_rows(inputs: Inputs) -> dict[str, Any]:
    """The roster's rows by os_user (commented-out rows are absent rows)."""
    data = yaml_edit.load(inputs.roster) if inputs.roster is not None else None
    if data is None:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("users") or {}, dict):
        raise EditError("the roster's `users:` is not a mapping of rows")
    return {str(k): v for k, v in (data.get("users") or {}).items()}


def joined(rows: Mapping[str, Any], key: str) -> list[str]:
    """The os_users whose roster row joins to the k8s_users key, in file order."""
    return [os_user for os_user, row in rows.items() if _get(row, "k8s_user") == key]


def _get(row: Any, name: str) -> Any:
    return row.get(name) if isinstance(row, dict) else None


def _config(inputs: Inputs) -> dict[str, Any]:
    data = yaml_edit.load(inputs.config) if inputs.config else None
    return data if isinstance(data, dict) else {}


def _person(inputs: Inputs, key: str) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(k8s_users, roster rows, the os_users joined to `key`); an unknown key is a usage error."""
    users, rows = k8s_users(inputs), roster_rows(inputs)
    os_users = joined(rows, key)
    if key not in users and not os_users:
        known = ", ".join(sorted(users)) or "none"
        hint = ""
        if key in rows:
            hint = f"; {key} is an os_user whose k8s_user is {_get(rows[key], 'k8s_user')!r}"
        raise UsageError(f"no user {key!r} in k8s_users or the roster{hint} (users: {known})")
    return users, rows, os_users


# --- writing k8s_users (YAML or JSON) --------------------------------------------------------


def _json_dump(old: str, data: Any) -> str:
    """`data` as the JSON file writes things: its indentation (or none), its escaping of
    non-ASCII, its trailing newline."""
    found = re.search(r"\n([ \t]+)\S", old)
    indent = found.group(1) if found else None
    ascii_only = old.isascii() and bool(re.search(r"\\u[0-9a-fA-F]{4}", old))
    trailing = old[len(old.rstrip()) :] if old.strip() else "\n"
    return json.dumps(data, indent=indent, ensure_ascii=ascii_only) + trailing


def _ordered_insert(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A new key in sorted position when the keys are sorted, else at the end."""
    keys = list(data)
    if keys != sorted(keys):
        return {**data, key: value}
    out: dict[str, Any] = {}
    for existing, item in data.items():
        if key not in out and key < existing:
            out[key] = value
        out[existing] = item
    out.setdefault(key, value)
    return out


def _put_entry(inputs: Inputs, key: str, entry: dict[str, Any]) -> str:
    text = inputs.k8s_users
    if text is None:
        raise UsageError("no k8s_users file: name one with --k8s-users PATH or in tenancy.yaml")
    if not inputs.k8s_json:
        return yaml_edit.assign(text, [key], entry)
    data = k8s_users(inputs)
    if key in data:
        data[key] = _follow(entry, data[key])
    else:
        data = _ordered_insert(data, key, entry)
    return _json_dump(text, data)


def _delete_entry(inputs: Inputs, key: str) -> str:
    assert inputs.k8s_users is not None
    if not inputs.k8s_json:
        return yaml_edit.delete(inputs.k8s_users, [key])
    data = k8s_users(inputs)
    del data[key]
    return _json_dump(inputs.k8s_users, data)


def _rename_entry(inputs: Inputs, old: str, new: str) -> str:
    assert inputs.k8s_users is not None
    if not inputs.k8s_json:
        return yaml_edit.rename(inputs.k8s_users, [old], new)
    data = k8s_users(inputs)
    return _json_dump(inputs.k8s_users, {new if k == old else k: v for k, v in data.items()})


def _roster(inputs: Inputs) -> str:
    if inputs.roster is None:
        raise UsageError("no roster file: name one with --roster PATH or in tenancy.yaml")
    return inputs.roster


# --- the edits -------------------------------------------------------------------------------


def add(inputs: Inputs, user: NewUser) -> Edited:
    """A new person: the k8s_users entry and/or the roster row (tier = role)."""
    users, rows = k8s_users(inputs), roster_rows(inputs)
    new = inputs
    notes: list[str] = []
    if user.k8s:
        if user.key in users:
            raise UsageError(
                f"{user.key!r} is already in k8s_users: change it with `tenancy user set "
                f"{user.key} ...`, or add only the workstation row with --roster-only"
            )
        if user.role is None or user.email is None:
            raise UsageError("the k8s_users entry needs --role and --email")
        entry: dict[str, Any] = {"role": user.role, "email": user.email}
        for name, values in (
            ("namespaces", user.namespaces),
            ("domains", user.domains),
            ("quota", dict(user.quota)),
            ("network", user.network),
        ):
            if values:
                entry[name] = list(values) if isinstance(values, tuple) else values
        new = _with(new, k8s_users=_put_entry(new, user.key, entry))
    if user.os_user is not None:
        if user.os_user in rows:
            owner = _get(rows[user.os_user], "k8s_user")
            raise UsageError(
                f"os_user {user.os_user!r} already has a roster row (k8s_user {owner})"
            )
        if not user.authentik_user:
            raise UsageError("the roster row needs --authentik-user with --os-user")
        existing = users.get(user.key) if isinstance(users.get(user.key), dict) else {}
        tier = user.role or _get(existing, "role")
        if tier is None:
            raise UsageError(f"{user.key!r} has no k8s_users entry: --role gives the row's tier")
        row: dict[str, Any] = {
            "authentik_user": user.authentik_user,
            "k8s_user": user.key,
            "tier": tier,
        }
        namespaces = list(user.namespaces) or list(_get(existing, "namespaces") or [])
        if tier == OWNER and namespaces:
            row["namespaces"] = namespaces
        if user.code_layout:
            row["code_layout"] = user.code_layout
        if user.repos:
            row["repos"] = list(user.repos)
        if user.claude_auth is not None:
            row["claude_auth"] = user.claude_auth
        new = _with(new, roster=yaml_edit.assign(_roster(new), ["users", user.os_user], row))
    elif not user.k8s:
        raise UsageError("--roster-only needs --os-user and --authentik-user")
    if user.k8s and user.os_user is None:
        notes.append(
            f"{user.key} has no workstation row (cluster access only); add one later with "
            f"`tenancy user add {user.key} --roster-only --os-user U --authentik-user A`"
        )
    return Edited(inputs=new, notes=tuple(notes))


def set_user(inputs: Inputs, key: str, change: Change) -> Edited:
    """Change a person's role, email, quota, namespaces, domains or network, in k8s_users and
    in every roster row joined to them (tier and namespaces follow the k8s_users entry)."""
    users, rows, os_users = _person(inputs, key)
    entry = users.get(key)
    _check_entry(key, entry, change)
    notes: list[str] = []
    new = inputs
    owned: list[str] = []
    lost: list[str] = []
    moved = False
    if isinstance(entry, dict):
        after, notes = _edited_entry(entry, key, change)
        before_ns = _owned_namespaces(entry)
        owned = _owned_namespaces(after)
        lost = [ns for ns in before_ns if ns not in owned]
        new = _with(new, k8s_users=_put_entry(new, key, after))
        moved = before_ns != owned
    # Rows follow the entry's namespaces only when this change moves them (or sets the
    # role), so an unrelated edit (email, quota) leaves each row as it is written.
    follow = entry is not None and (moved or bool(change.role))
    for os_user in os_users:
        new = _follow_row(new, os_user, rows[os_user], change.role, owned, follow=follow)
    if lost:
        reason = f"removed from {key} on {change.today}"
        new, more = _quarantine(new, key, lost, change.today, reason, enabled=change.quarantine)
        notes += more
    return Edited(inputs=new, notes=tuple(notes))


def _check_entry(key: str, entry: Any, change: Change) -> None:
    """A roster-only person can change only their role (nothing k8s_users alone holds), and
    an entry must be a mapping."""
    k8s_only = (
        change.email,
        change.quota,
        change.namespaces is not None,
        change.add_namespaces,
        change.remove_namespaces,
        change.domains is not None,
        change.add_domains,
        change.remove_domains,
        change.network is not None,
    )
    if entry is None:
        if any(k8s_only):
            raise UsageError(
                f"{key!r} has a roster row but no k8s_users entry: add one with `tenancy user "
                f"add {key} --k8s-only --role R --email E ...`"
            )
    elif not isinstance(entry, dict):
        raise EditError(f"the k8s_users entry of {key} is not a mapping")


def _edited_entry(
    entry: dict[str, Any], key: str, change: Change
) -> tuple[dict[str, Any], list[str]]:
    """The k8s_users entry with `change` made (a copy), and notes for the reader."""
    after = copy.deepcopy(entry)
    if change.role:
        after["role"] = change.role
    if change.email:
        after["email"] = change.email
    _set_list(
        after,
        "namespaces",
        change.namespaces,
        change.add_namespaces,
        change.remove_namespaces,
        key,
    )
    _set_list(after, "domains", change.domains, change.add_domains, change.remove_domains, key)
    if change.network is not None:
        _put_list(after, "network", list(change.network))
    notes: list[str] = []
    if change.quota:
        quota, notes = _edited_quota(after.get("quota") or {}, change.quota, key)
        if quota:
            after["quota"] = quota
        else:
            after.pop("quota", None)
    if entry.get("role") == OWNER and after.get("role") != OWNER:
        dropped = [name for name in OWNER_ONLY if name in after]
        for name in dropped:
            del after[name]
        if dropped:
            notes.append(
                f"{key} is no longer a namespace-owner: {', '.join(dropped)} removed "
                "(only namespace-owners have them)"
            )
    return after, notes


def _edited_quota(
    quota: Mapping[str, str], changes: Mapping[str, str | None], key: str
) -> tuple[dict[str, str], list[str]]:
    """The quota with each key set, or removed (None), and a note per key it did not have."""
    notes: list[str] = []
    edited = dict(quota)
    for name, value in changes.items():
        if value is None:
            if name not in edited:
                notes.append(f"{key} has no quota {name} to remove")
            edited.pop(name, None)
        else:
            edited[name] = value
    return edited, notes


def _owned_namespaces(entry: Mapping[str, Any]) -> list[str]:
    """The namespaces a k8s_users entry owns: only a namespace-owner's count."""
    return list(entry.get("namespaces") or []) if entry.get("role") == OWNER else []


def _follow_row(
    inputs: Inputs, os_user: str, row: Any, role: str | None, owned: list[str], *, follow: bool
) -> Inputs:
    """A roster row joined to the person, its tier and namespaces following the entry."""
    if not isinstance(row, dict):
        return inputs
    updated = dict(row)
    if role:
        updated["tier"] = role
    if updated.get("tier") == OWNER and follow:
        updated["namespaces"] = owned
    elif updated.get("tier") != OWNER:
        updated.pop("namespaces", None)
    return _with(inputs, roster=yaml_edit.assign(_roster(inputs), ["users", os_user], updated))


def _set_list(
    entry: dict[str, Any],
    name: str,
    whole: tuple[str, ...] | None,
    adds: tuple[str, ...],
    removes: tuple[str, ...],
    key: str,
) -> None:
    if whole is None and not adds and not removes:
        return
    values = list(whole) if whole is not None else list(entry.get(name) or [])
    for value in removes:
        if value not in values:
            raise UsageError(
                f"{key} has no {name[:-1]} {value!r} to remove (has: {', '.join(values) or 'none'})"
            )
        values.remove(value)
    values += [value for value in adds if value not in values]
    _put_list(entry, name, values)


def _put_list(entry: dict[str, Any], name: str, values: list[str]) -> None:
    """An emptied list goes, unless the file had it (written `[]`, as dara's `domains: []`)."""
    if values or name in entry:
        entry[name] = values


def park(inputs: Inputs, os_user: str, *, parked: bool) -> Edited:
    """`parked: true` on a roster row (park), or no `parked` key (unpark)."""
    rows = roster_rows(inputs)
    if os_user not in rows:
        of = joined(rows, os_user)
        hint = f"; {os_user}'s roster rows are {', '.join(of)}" if of else ""
        raise UsageError(f"no roster row {os_user!r}{hint}")
    row = rows[os_user]
    if parked:
        if _get(row, "parked") is True:
            return Edited(inputs=inputs, notes=(f"{os_user} is already parked",))
        roster = yaml_edit.assign(_roster(inputs), ["users", os_user, "parked"], True)
    else:
        if not isinstance(row, dict) or "parked" not in row:
            return Edited(inputs=inputs, notes=(f"{os_user} is not parked",))
        roster = yaml_edit.delete(_roster(inputs), ["users", os_user, "parked"])
    return Edited(inputs=_with(inputs, roster=roster))


def offboard(
    inputs: Inputs, key: str, *, date: str, note: str | None, quarantine: bool = True
) -> Edited:
    """Comment the person's roster rows out under a dated note, remove their k8s_users entry,
    and quarantine the namespaces they owned (tenancy.yaml `quarantine:`)."""
    notes: list[str] = []
    rows = roster_rows(inputs)
    if key not in k8s_users(inputs) and not joined(rows, key) and key in rows:
        owner = _get(rows[key], "k8s_user")
        notes.append(f"{key} is an os_user: offboarding its k8s user {owner}")
        key = str(owner)
    users, rows, os_users = _person(inputs, key)
    new = inputs
    marker = (
        f"REMOVED {date} ({note}) -- reversible cut"
        if note
        else f"REMOVED {date} -- reversible cut"
    )
    for os_user in os_users:
        new = _with(new, roster=yaml_edit.comment_out(_roster(new), ["users", os_user], marker))
    entry = users.get(key)
    namespaces: list[str] = []
    if entry is not None:
        if isinstance(entry, dict) and entry.get("role") == OWNER:
            namespaces = [str(ns) for ns in entry.get("namespaces") or []]
        new = _with(new, k8s_users=_delete_entry(new, key))
    else:
        notes.append(f"{key} had no k8s_users entry (a workstation row only)")
    if namespaces:
        reason = f"{key} offboarded" + (f": {note}" if note else "")
        new, more = _quarantine(new, key, namespaces, date, reason, enabled=quarantine)
        notes += more
    admins = _config(inputs).get("admins") or []
    listed = [name for name in (key, *os_users) if name in admins]
    if listed:
        notes.append(
            f"tenancy.yaml `admins:` still lists {', '.join(listed)}: remove it there unless "
            "the name is meant to stay allowed"
        )
    return Edited(inputs=new, notes=tuple(notes))


def _quarantine(
    inputs: Inputs, key: str, namespaces: Sequence[str], since: str, reason: str, *, enabled: bool
) -> tuple[Inputs, list[str]]:
    """One `quarantine:` entry per namespace, so each stays locked (not unguarded)."""
    listed = ", ".join(namespaces)
    if not enabled:
        return inputs, [
            f"not quarantined (--no-quarantine): {listed}; the sync keeps each namespace with "
            "its workloads and prunes its guardrails"
        ]
    if inputs.config is None:
        raise UsageError(
            f"{key}'s namespaces ({listed}) are quarantined in tenancy.yaml `quarantine:`, and "
            "there is no tenancy.yaml: pass --config PATH, or --no-quarantine to leave them "
            "unguarded"
        )
    config = inputs.config
    for namespace in namespaces:
        entry = {"tenant": key, "since": since, "reason": reason}
        config = yaml_edit.assign(config, ["quarantine", namespace], entry)
    return _with(inputs, config=config), [
        f"quarantined {listed} (tenancy.yaml); retire each by deleting the namespace by hand, "
        "then its entry"
    ]


def rename(inputs: Inputs, old: str, new_key: str) -> Edited:
    """Rename a k8s_users key and the `k8s_user` of every roster row joined to it."""
    if old == new_key:
        raise UsageError("the old and the new name are the same")
    users, rows, os_users = _person(inputs, old)
    if new_key in users or joined(rows, new_key):
        raise UsageError(f"{new_key!r} is already a user in k8s_users or the roster")
    new = inputs
    if old in users:
        new = _with(new, k8s_users=_rename_entry(new, old, new_key))
    for os_user in os_users:
        path = ["users", os_user, "k8s_user"]
        new = _with(new, roster=yaml_edit.assign(_roster(new), path, new_key))
    notes = [
        f"Vault: secrets under secret/data/{old}/ are not moved; {new_key}'s policies grant "
        f"secret/data/{new_key}/ only, so copy them before `tenancy vault apply`",
        "not renamed: the roster's os_users (Linux accounts"
        + (f": {', '.join(os_users)}" if os_users else "")
        + "), the email (the Kubernetes and Vault identity), waivers naming "
        f"k8s_users.{old}, and quarantine entries recording {old} as a former tenant",
    ]
    admins = _config(inputs).get("admins") or []
    if old in admins:
        notes.append(
            f"tenancy.yaml `admins:` lists {old}, not {new_key}: the allow-list is not edited"
        )
    return Edited(inputs=new, notes=tuple(notes))


def _with(inputs: Inputs, **changes: Any) -> Inputs:
    return replace(inputs, **changes)
