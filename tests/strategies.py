"""Hypothesis strategies shared by the property tests: schema-shaped inputs with collisions.

Names are drawn from small pools so that the interesting cases (two users claiming one
namespace, a roster row joined to a missing user, a tier mismatch) happen often.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tenancy.model import TIERS, Config

USERS = ["ada", "brin", "cleo", "dara", "platform"]
NAMESPACES = ["cleo", "cleo-books", "dara", "kube-system", "shared"]
DOMAINS = ["cleo", "books-cleo", "cleo.example.org", "x.evil.com", "shared"]
QUANTITIES = ["1", "2", "500m", "4Gi", "8Gi", "64Gi", "100", "0.5", "1e3", "4G", "512Mi"]
QUOTA_KEYS = ["cpu_requests", "memory_requests", "memory_limits", "pods", "storage"]

tiers = st.sampled_from(TIERS)


@st.composite
def k8s_entry(draw: st.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "role": draw(tiers),
        "email": draw(st.sampled_from(["a@example.org", "b@example.org", "C@Example.org"])),
    }
    if draw(st.booleans()):
        entry["namespaces"] = draw(st.lists(st.sampled_from(NAMESPACES), unique=True, max_size=3))
    if draw(st.booleans()):
        entry["domains"] = draw(st.lists(st.sampled_from(DOMAINS), unique=True, max_size=2))
    if draw(st.booleans()):
        entry["quota"] = draw(
            st.dictionaries(st.sampled_from(QUOTA_KEYS), st.sampled_from(QUANTITIES), max_size=4)
        )
    return entry


@st.composite
def roster_row(draw: st.DrawFn) -> dict[str, Any]:
    row: dict[str, Any] = {
        "authentik_user": draw(st.sampled_from(["ada.l", "brin.k", "cleo98"])),
        "k8s_user": draw(st.sampled_from(USERS)),
        "tier": draw(tiers),
    }
    if draw(st.booleans()):
        row["namespaces"] = draw(st.lists(st.sampled_from(NAMESPACES), unique=True, max_size=3))
    if draw(st.booleans()):
        row["code_layout"] = draw(st.sampled_from(["single", "workspace"]))
    if draw(st.booleans()):
        row["repos"] = draw(
            st.lists(
                st.sampled_from(["tripit", "infra", "a..b", "plot-notes"]), unique=True, max_size=2
            )
        )
    return row


@st.composite
def policy_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """A policy `input`: roster, k8s_users and a config view with optional admin allow-list."""
    config = Config(
        zones=draw(st.sampled_from([(), ("example.org",)])),
        admins=draw(st.sampled_from([None, ("ada",)])),
        exempt_admin_tier_check=draw(st.booleans()),
    )
    return {
        "roster": {
            "users": draw(
                st.dictionaries(
                    st.sampled_from(["ada", "brin", "cleom", "dara"]), roster_row(), max_size=4
                )
            )
        },
        "k8s_users": draw(st.dictionaries(st.sampled_from(USERS), k8s_entry(), max_size=5)),
        "config": config.policy_view(),
    }


label = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)


@st.composite
def valid_inputs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A schema- and policy-shaped (roster, k8s_users) pair: unique namespaces, tiers agree."""
    keys = draw(st.lists(label, min_size=1, max_size=6, unique=True))
    taken: set[str] = set()
    k8s: dict[str, Any] = {}
    rows: dict[str, Any] = {}
    for key in keys:
        role = draw(tiers)
        entry: dict[str, Any] = {"role": role, "email": f"{key}@example.org"}
        if role == "namespace-owner":
            names = [
                n
                for n in draw(st.lists(label, min_size=1, max_size=3, unique=True))
                if n not in taken
            ]
            names = names or [f"{key}-ns"]
            taken.update(names)
            entry["namespaces"] = names
            if draw(st.booleans()):
                entry["domains"] = [f"{key}-{n}" for n in names[:1]]
            if draw(st.booleans()):
                entry["quota"] = {"cpu_requests": "1", "pods": "10"}
        k8s[key] = entry
        if draw(st.booleans()):
            rows[f"os{key}"] = {
                "authentik_user": f"{key}.a",
                "k8s_user": key,
                "tier": role,
                **({"namespaces": entry["namespaces"]} if role == "namespace-owner" else {}),
            }
    return {"users": rows}, k8s


def shuffled(value: Any, rnd: Any) -> Any:
    """The same data with every mapping's key order permuted (lists keep their order)."""
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: shuffled(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rnd) for v in value]
    return value


# --- Vault objects for the sync plan (tenancy.sync.plan) -------------------------------------

_VAULT_PATHS = ["secret/data/a", "secret/data/a/*", "secret/metadata/+/x", "auth/token/lookup-self"]
_CAPABILITIES = ["create", "read", "update", "delete", "list", "sudo", "deny"]
_VAULT_NAMES = st.sampled_from(["a", "b", "c", "a_b"])


@st.composite
def vault_objects(draw: st.DrawFn) -> Any:
    """One Vault object of any kind tenancy syncs, with names from a small pool (collisions)."""
    from tenancy.sync import hcl, plan

    kind = draw(st.sampled_from(plan.KINDS))
    name = draw(_VAULT_NAMES)
    policies = tuple(sorted(draw(st.sets(_VAULT_NAMES, max_size=3))))
    metadata = tuple(sorted(draw(st.dictionaries(_VAULT_NAMES, _VAULT_NAMES, max_size=2)).items()))
    if kind == "policy":
        rules = draw(
            st.dictionaries(
                st.sampled_from(_VAULT_PATHS),
                st.frozensets(st.sampled_from(_CAPABILITIES), min_size=1),
                max_size=3,
            )
        )
        return plan.Policy(
            name=name,
            rules=tuple((p, hcl.PathRule(c)) for p, c in sorted(rules.items())),
            text=f"# {name}\n",
        )
    if kind == "auth-role":
        return plan.AuthRole(
            mount=draw(st.sampled_from(["kubernetes", "k8s"])),
            role=f"{name}-deployer",
            bound_service_account_names=("deployer",),
            bound_service_account_namespaces=("woodpecker",),
            audience="vault",
            policies=policies,
            token_ttl=draw(st.sampled_from([0, 1800, 3600])),
            token_max_ttl=3600,
        )
    if kind == "secret-role":
        return plan.SecretRole(
            mount=draw(st.sampled_from(["kubernetes", "k8s-creds"])),
            role=f"{name}-deployer",
            allowed_kubernetes_namespaces=(draw(_VAULT_NAMES).replace("_", "-"),),
            kubernetes_role_name=f"{name}-deployer",
            kubernetes_role_type="Role",
            token_default_ttl=draw(st.sampled_from([0, 1800])),
            token_max_ttl=3600,
        )
    if kind == "entity":
        return plan.Entity(name=name, policies=policies, metadata=metadata)
    if kind == "entity-alias":
        return plan.EntityAlias(mount="oidc", alias=f"{name}@example.org", entity=name)
    return plan.Group(name=name, type="internal", policies=policies, metadata=metadata)


@st.composite
def vault_states(draw: st.DrawFn) -> Any:
    """A State: a set of Vault objects keyed by (kind, name)."""
    from tenancy.sync import plan

    return plan.State.of(draw(st.lists(vault_objects(), max_size=8)))


# --- Files of rows as people write them (tenancy.people.yaml_edit, tenancy user ...) -----------------


@dataclass(frozen=True)
class RowFile:
    """A generated YAML file of rows, with where each row's lines are (0-based line indexes):
    `lead` its leading comment, `first` its key line, `end` the line after its last."""

    text: str
    keys: list[str]
    spans: dict[str, tuple[int, int, int]]
    nested: bool  # the rows are under `users:` (else at the top level)

    def path(self, *keys: str | int) -> list[str | int]:
        return ["users", *keys] if self.nested else list(keys)


@st.composite
def row_value(draw: st.DrawFn) -> dict[str, Any]:
    """A row: scalars, a list and a mapping of quoted quantities, as the inputs have."""
    value: dict[str, Any] = {"tier": draw(tiers)}
    if draw(st.booleans()):
        value["email"] = draw(label) + "@example.org"
    if draw(st.booleans()):
        value["namespaces"] = draw(st.lists(label, min_size=1, max_size=3, unique=True))
    if draw(st.booleans()):
        value["quota"] = draw(
            st.dictionaries(
                st.sampled_from(QUOTA_KEYS),
                st.sampled_from(["1", "2", "4Gi"]),
                min_size=1,
                max_size=3,
            )
        )
    if draw(st.booleans()):
        value["parked"] = draw(st.booleans())
    return value


def _yaml_scalar(draw: st.DrawFn, value: Any, quoted: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if quoted or value in ("1", "2"):
        return draw(st.sampled_from(['"{}"', "'{}'"])).format(value)
    return str(value)


def _row_lines(draw: st.DrawFn, key: str, value: dict[str, Any], col: int, step: int) -> list[str]:
    pad = " " * col
    if draw(st.booleans()):  # one flow line, aligned with random padding
        parts = []
        for name, item in value.items():
            if isinstance(item, list):
                text = "[" + ", ".join(item) + "]"
            elif isinstance(item, dict):
                text = (
                    "{"
                    + ", ".join(f"{k}: {_yaml_scalar(draw, v, True)}" for k, v in item.items())
                    + "}"
                )
            else:
                text = _yaml_scalar(draw, item, draw(st.booleans()))
            parts.append(f"{name}: {text}")
        gaps = [" " * draw(st.integers(1, 3)) for _ in parts]
        body = "".join(
            ("," + gap if i else "") + part
            for i, (gap, part) in enumerate(zip(gaps, parts, strict=True))
        )
        comment = draw(st.sampled_from(["", "  # why"]))
        return [f"{pad}{key}:{' ' * draw(st.integers(1, 4))}{{{body}}}{comment}"]
    inner = " " * (col + step)
    lines = [f"{pad}{key}:"]
    for name, item in value.items():
        if draw(st.booleans()):
            lines.append(f"{inner}# about {name}")
        if isinstance(item, list):
            if draw(st.booleans()):
                lines.append(f"{inner}{name}: [{', '.join(item)}]")
            else:
                dash = " " * draw(st.sampled_from([0, step]))
                lines += [f"{inner}{name}:", *(f"{inner}{dash}- {v}" for v in item)]
        elif isinstance(item, dict):
            if draw(st.booleans()):
                flow = ", ".join(f"{k}: {_yaml_scalar(draw, v, True)}" for k, v in item.items())
                lines.append(f"{inner}{name}: {{{flow}}}")
            else:
                lines.append(f"{inner}{name}:")
                lines += [
                    f"{inner}{' ' * step}{k}: {_yaml_scalar(draw, v, True)}"
                    for k, v in item.items()
                ]
        else:
            lines.append(f"{inner}{name}: {_yaml_scalar(draw, item, draw(st.booleans()))}")
    return lines


@st.composite
def row_files(draw: st.DrawFn) -> RowFile:
    """A roster- or k8s_users-like YAML file: a header comment, rows in flow or block style
    (aligned, quoted, commented, blank-separated or not), commented-out rows at the end."""
    nested = draw(st.booleans())
    step = draw(st.sampled_from([2, 4]))
    col = step if nested else 0
    lines: list[str] = []
    if draw(st.booleans()):
        lines += [
            "# Who is here and why.",
            "# Offboard by commenting a row out, with a dated note.",
        ]
    if nested:
        lines.append("users:")
    keys = draw(st.lists(label, min_size=1, max_size=5, unique=True))
    if draw(st.booleans()):
        keys.sort()
    spaced = draw(st.booleans())
    spans: dict[str, tuple[int, int, int]] = {}
    for i, key in enumerate(keys):
        if i and spaced:
            lines.append("")
        lead = len(lines)
        if i and draw(st.booleans()):
            lines.append(f"{' ' * col}# a note about {key}")
        first = len(lines)
        lines += _row_lines(draw, key, draw(row_value()), col, step)
        spans[key] = (lead, first, len(lines))
    if draw(st.booleans()):
        lines += [
            f"{' ' * col}#  REMOVED 2026-08-17 (left) -- reversible cut",
            "# gone:   {tier: admin}",
        ]
    return RowFile(text="\n".join(lines) + "\n", keys=keys, spans=spans, nested=nested)
