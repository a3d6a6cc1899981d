"""Hypothesis strategies shared by the property tests: schema-shaped inputs with collisions.

Names are drawn from small pools so that the interesting cases (two users claiming one
namespace, a roster row joined to a missing user, a tier mismatch) happen often.
"""

from __future__ import annotations

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
