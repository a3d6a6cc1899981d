"""diff(): per-person access deltas, graded by risk, symmetric, empty on no change."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tenancy.diff import access
from tenancy.diff.changes import RANK, Snapshot, diff, person_changes
from tenancy.diff.report import COMMENT_LIMIT, MARKER, as_json, fold, markdown, text
from tenancy.model import Config, Permission, Quarantined, build
from tenancy.render.plan import render
from tenancy.render.plan.profiles import load
from tests import strategies

CONFIG = Config(zones=("example.org",))
SOURCES = {"roster": "r.yaml", "k8s_users": "k.yaml"}


def snap(roster: Any, k8s: Any, label: str = "x", config: Config = CONFIG) -> Snapshot:
    inventory = build(roster, k8s, config)
    rendered, _ = render(inventory, load(), sources=SOURCES)
    return Snapshot(
        label=label,
        people=access.people(inventory, rendered),
        files=rendered.files,
        sources={},
        quarantined={q.namespace: q.tenant for q in config.quarantine},
    )


def quarantined(*namespaces: str) -> Config:
    entries = (
        Quarantined(namespace=ns, tenant="dara", since="2026-12-01", reason="left")
        for ns in namespaces
    )
    return Config(zones=CONFIG.zones, quarantine=tuple(entries))


BASE = {
    "cleo": {
        "role": "namespace-owner",
        "email": "c@example.org",
        "namespaces": ["cleo"],
        "quota": {"cpu_requests": "2"},
    },
    "brin": {"role": "power-user", "email": "b@example.org"},
    "dara": {"role": "namespace-owner", "email": "d@example.org", "namespaces": ["dara", "shared"]},
}
ROSTER = {"users": {"brin": {"authentik_user": "b", "k8s_user": "brin", "tier": "power-user"}}}


def changed(k8s: dict[str, Any], roster: Any = ROSTER) -> dict[str, list[tuple[str, str, str]]]:
    result = diff(snap(ROSTER, BASE, "base"), snap(roster, k8s, "head"))
    return {p: [(c.kind, c.detail, c.severity) for c in cs] for p, cs in result.people.items()}


def test_a_storage_quota_back_to_the_tier_default_is_a_quota_change() -> None:
    """Dropping an explicit storage quota leaves the tier's default in the rendered quota
    (render/profiles.yaml `storage_quota`): the person's storage changes to it, and says so."""
    explicit = {**BASE, "cleo": {**BASE["cleo"], "quota": {"cpu_requests": "2", "storage": "50Gi"}}}
    result = diff(snap(ROSTER, explicit, "base"), snap(ROSTER, BASE, "head"))
    storage = [c for c in result.people["cleo"] if c.kind == "quota" and c.detail == "storage"]
    assert [(c.before, c.after, c.severity) for c in storage] == [("50Gi", "20Gi", "low")]


def test_no_change_is_empty() -> None:
    """diff(x, x) reports nothing."""
    result = diff(snap(ROSTER, BASE), snap(ROSTER, BASE))
    assert result.empty
    assert result.max_severity is None


def test_becoming_admin_is_critical() -> None:
    """A power-user made admin gains cluster-admin: critical, on the tier and the grant."""
    k8s = {**BASE, "brin": {"role": "admin", "email": "b@example.org"}}
    changes = changed(k8s)["brin"]
    assert ("tier", "k8s_users role", "critical") in changes
    assert ("k8s-gained", "* cluster-wide", "critical") in changes


def test_namespace_moving_owner_is_critical_and_secrets_high() -> None:
    """A namespace changing hands is critical for the gainer; its Secrets are high."""
    k8s = {
        **BASE,
        "cleo": {**BASE["cleo"], "namespaces": ["cleo", "shared"]},
        "dara": {**BASE["dara"], "namespaces": ["dara"]},
    }
    result = changed(k8s)
    assert ("namespace-gained", "shared", "critical") in result["cleo"]
    assert ("k8s-gained", "secrets in namespace shared", "high") in result["cleo"]
    assert ("namespace-lost", "shared", "low") in result["dara"]


def test_removed_namespace_is_high_and_says_what_the_sync_keeps() -> None:
    """A namespace no one owns any more is not deleted (prune is disabled on it): the sync
    keeps it with its workloads and prunes its guardrails and the owner's RoleBinding. High,
    naming each pruned object, and pointing at quarantine."""
    k8s = {**BASE, "dara": {**BASE["dara"], "namespaces": ["dara"]}}
    assert ("namespace-lost", "shared", "high") in changed(k8s)["dara"]
    result = diff(snap(ROSTER, BASE, "base"), snap(ROSTER, k8s, "head"))
    (lost,) = [c for c in result.people["dara"] if c.kind == "namespace-lost"]
    assert lost.outcome == "unguarded"
    guards = {"LimitRange/defaults", "ResourceQuota/object-quota", "ResourceQuota/user-quota"}
    guards |= {f"NetworkPolicy/{n}" for n in ("allow-dns", "allow-same-tenant", "default-deny")}
    assert guards | {"RoleBinding/tenancy-namespace-owner-dara"} <= set(lost.pruned)
    assert lost.pruned == tuple(sorted(lost.pruned))
    line = next(line for line in fold(result.people["dara"]) if "shared" in line)
    assert line.startswith(
        "[high] namespace shared removed: the sync keeps the Namespace and its workloads "
        "(prune disabled) but prunes its guardrails (NetworkPolicy allow-dns, "
    )
    assert "; ResourceQuota object-quota, user-quota; LimitRange defaults)" in line
    assert line.endswith(
        "and the owner's RoleBinding tenancy-namespace-owner-dara goes: the workloads "
        "run on unguarded; add it to quarantine in tenancy.yaml, or retire it (delete the "
        "namespace by hand)"
    )
    assert "deletes" not in text(result) and "deletes" not in markdown(result)


def test_quota_raise_beyond_factor_is_high() -> None:
    """Raising a quota more than the factor is high; within it medium; lowering it low."""

    def cpu(value: str) -> list[tuple[str, str, str]]:
        k8s = {**BASE, "cleo": {**BASE["cleo"], "quota": {"cpu_requests": value}}}
        return [c for c in changed(k8s)["cleo"] if c[0] == "quota"]

    assert cpu("8") == [("quota", "cpu_requests", "high")]
    assert cpu("3") == [("quota", "cpu_requests", "medium")]
    assert cpu("1") == [("quota", "cpu_requests", "low")]


def test_losing_access_is_low() -> None:
    """A person removed from k8s_users only loses: every change is low or info."""
    k8s = {k: v for k, v in BASE.items() if k != "brin"}
    assert all(RANK[level] >= RANK["low"] for _, _, level in changed(k8s)["brin"])


def _mirror(result: Any) -> set[tuple[str, str, str, str]]:
    swap = {"gained": "lost", "lost": "gained"}
    out = set()
    for person, changes in result.people.items():
        for c in changes:
            head, _, tail = c.kind.rpartition("-")
            kind = f"{head}-{swap[tail]}" if tail in swap else c.kind
            if c.kind == "person":
                continue
            out.add(
                (person, kind, c.detail, repr(sorted(map(str, [c.after or "", c.before or ""]))))
            )
    return out


def _plain(result: Any) -> set[tuple[str, str, str, str]]:
    out = set()
    for person, changes in result.people.items():
        for c in changes:
            if c.kind != "person":
                out.add(
                    (
                        person,
                        c.kind,
                        c.detail,
                        repr(sorted(map(str, [c.before or "", c.after or ""]))),
                    )
                )
    return out


@given(strategies.valid_inputs(), strategies.valid_inputs())
def test_diff_is_the_mirror_of_its_reverse(a: tuple[Any, Any], b: tuple[Any, Any]) -> None:
    """Every gain in diff(a, b) is the same loss in diff(b, a), and vice versa."""
    sa, sb = snap(*a), snap(*b)
    assert _plain(diff(sa, sb)) == _mirror(diff(sb, sa))


@given(strategies.valid_inputs(), strategies.valid_inputs())
def test_gains_appear_in_explain_of_head_only(a: tuple[Any, Any], b: tuple[Any, Any]) -> None:
    """Every Kubernetes grant the diff says was gained is in head's access and not in base's."""
    sa, sb = snap(*a), snap(*b)
    assert sa.people is not None and sb.people is not None
    for person, changes in diff(sa, sb).people.items():
        for change in changes:
            if change.kind != "k8s-gained":
                continue
            resource, _, where = change.detail.partition(" ")
            scope = "cluster" if where == "cluster-wide" else where.removeprefix("in namespace ")
            for verb in change.after:
                grant = Permission(scope, resource, verb)
                assert grant in sb.people[person].k8s
                assert person not in sa.people or grant not in sa.people[person].k8s


def test_person_changes_of_identical_people_are_empty() -> None:
    """A person compared with itself has no changes."""
    person = snap(ROSTER, BASE).people["cleo"]  # type: ignore[index]
    assert person_changes(person, person, owners_before={}, owners_after={}, quota_factor=2) == []


@given(st.integers(min_value=1, max_value=40))
def test_markdown_stays_under_the_comment_limit(users: int) -> None:
    """The PR comment is truncated to valid Markdown under the limit, with its marker on top."""
    k8s = {
        f"u{i}": {"role": "namespace-owner", "email": f"u{i}@example.org", "namespaces": [f"n{i}"]}
        for i in range(users)
    }
    result = diff(snap({"users": {}}, {}), snap({"users": {}}, k8s))
    text = markdown(result, limit=4000)
    assert text.startswith(MARKER)
    assert len(text) <= 4000
    assert text.count("<details>") == text.count("</details>")
    assert text.count("```") % 2 == 0
    assert len(markdown(result)) <= COMMENT_LIMIT


def test_json_contract() -> None:
    """The JSON output has the documented shape."""
    import json

    k8s = {**BASE, "brin": {"role": "admin", "email": "b@example.org"}}
    document = json.loads(as_json(diff(snap(ROSTER, BASE, "a"), snap(ROSTER, k8s, "b"))))
    assert list(document)[:6] == ["version", "base", "head", "people", "other", "max_severity"]
    assert document["max_severity"] == "critical"
    change = document["people"][0]["changes"][0]
    assert set(change) == {"kind", "detail", "before", "after", "severity"}


def test_the_cli_offers_every_level_for_fail_on() -> None:
    """`--fail-on` offers exactly the diff's levels, in order (the CLI writes them out)."""
    from tenancy.cli import FAIL_LEVELS
    from tenancy.diff.changes import LEVELS

    assert FAIL_LEVELS == LEVELS


def test_a_namespace_moved_into_quarantine_is_medium_and_says_so() -> None:
    """A namespace its owner loses into quarantine: its workloads run on with no network and
    no new pods, and the owner loses access; only what quarantine does not keep is pruned."""
    k8s = {**BASE, "dara": {**BASE["dara"], "namespaces": ["dara"]}}
    result = diff(snap(ROSTER, BASE, "base"), snap(ROSTER, k8s, "head", quarantined("shared")))
    (lost,) = [c for c in result.people["dara"] if c.kind == "namespace-lost"]
    assert (lost.severity, lost.outcome) == ("medium", "quarantined")
    kept = {"NetworkPolicy/default-deny", "ResourceQuota/object-quota", "ResourceQuota/user-quota"}
    assert kept.isdisjoint(lost.pruned)
    assert {
        "LimitRange/defaults",
        "NetworkPolicy/allow-dns",
        "NetworkPolicy/allow-same-tenant",
        "RoleBinding/tenancy-namespace-owner-dara",
    } <= set(lost.pruned)
    shown = text(result)
    assert (
        "[medium] namespace shared moved into quarantine: its workloads keep running with no "
        "network (ingress and egress denied) and no new pods (a quota of zeros), and the owner "
        "loses all access" in shown
    )
    assert not any(o.kind.startswith("quarantine-") for o in result.other)
    document = json.loads(as_json(result))
    (dara,) = [p for p in document["people"] if p["id"] == "dara"]
    (change,) = [c for c in dara["changes"] if c["kind"] == "namespace-lost"]
    assert change["outcome"] == "quarantined"
    assert change["pruned"][-1] == "RoleBinding/tenancy-namespace-owner-dara"
    # Only namespace changes carry `outcome` and `pruned`: the others keep the five keys.
    others = [c for p in document["people"] for c in p["changes"] if c["kind"] != "namespace-lost"]
    assert others and all(
        set(c) == {"kind", "detail", "before", "after", "severity"} for c in others
    )


def test_quarantine_without_an_owner_and_its_removal_are_other_changes() -> None:
    """Quarantining a namespace nobody owned, and removing an entry, are config changes; the
    removal says that the sync keeps the Namespace and how to retire it."""
    plain, locked = snap(ROSTER, BASE, "a"), snap(ROSTER, BASE, "b", quarantined("attic"))
    added = diff(plain, locked)
    assert [(o.kind, o.severity) for o in added.other] == [("quarantine-added", "medium")]
    assert added.people == {}
    removed = diff(locked, plain)
    (other,) = removed.other
    assert (other.kind, other.severity) == ("quarantine-removed", "medium")
    assert "keeps the Namespace (prune disabled)" in other.detail
    assert "kubectl delete namespace attic" in other.detail


def test_a_namespace_taken_out_of_quarantine_is_a_move_from_its_former_tenant() -> None:
    """Giving a quarantined namespace to someone else hands them the former tenant's
    workloads and Secrets: critical, as any change of owner."""
    k8s = {**BASE, "dara": {**BASE["dara"], "namespaces": ["dara"]}}
    k8s_after = {**k8s, "cleo": {**BASE["cleo"], "namespaces": ["cleo", "shared"]}}
    result = diff(snap(ROSTER, k8s, "base", quarantined("shared")), snap(ROSTER, k8s_after, "head"))
    (gained,) = [c for c in result.people["cleo"] if c.kind == "namespace-gained"]
    assert (gained.severity, gained.before, gained.outcome) == (
        "critical",
        "dara",
        "from-quarantine",
    )
    assert "out of quarantine (former tenant dara)" in text(result)
