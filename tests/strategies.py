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
