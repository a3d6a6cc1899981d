"""model.build(): the inventory from validated plain data, order-free and defaults applied."""

from __future__ import annotations

from tenancy.model import Config, Quota, build

CONFIG = Config(zones=("example.org", "other.org"))


def test_defaults_synonyms_and_domains() -> None:
    """Quota synonyms map to live keys, absent keys take defaults, labels join the first zone."""
    inventory = build(
        {
            "users": {
                "cleom": {
                    "authentik_user": "c",
                    "k8s_user": "cleo",
                    "tier": "namespace-owner",
                    "namespaces": ["b", "a"],
                }
            }
        },
        {
            "cleo": {
                "role": "namespace-owner",
                "email": "c@x.org",
                "namespaces": ["b", "a"],
                "domains": ["cleo", "x.other.org"],
                "quota": {"cpu": "4", "pods": 30},
            }
        },
        CONFIG,
    )
    (user,) = inventory.users
    assert user.namespaces == ("a", "b")
    assert user.domains == ("cleo.example.org", "x.other.org")
    assert user.quota == Quota(
        cpu_requests="4", memory_requests="4Gi", memory_limits="8Gi", pods="30"
    )
    (row,) = inventory.roster
    assert (row.os_user, row.namespaces, row.claude_auth, row.parked) == (
        "cleom",
        ("a", "b"),
        True,
        False,
    )


def test_non_owners_carry_no_namespaces_or_quota() -> None:
    """Only namespace-owners get namespaces, domains and quota in the model."""
    inventory = build({"users": None}, {"b": {"role": "power-user", "email": "b@x.org"}}, CONFIG)
    (user,) = inventory.users
    assert (user.namespaces, user.domains, user.quota) == ((), (), None)
    assert inventory.roster == ()
