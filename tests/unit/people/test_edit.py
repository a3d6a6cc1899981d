"""tenancy.people.edit: onboarding and offboarding as edits of the input texts."""

from __future__ import annotations

import json

import pytest

from tenancy import resources
from tenancy.errors import UsageError
from tenancy.people import edit as people
from tenancy.people import yaml_edit
from tests.conftest import REPO

ROSTER = (REPO / "tenants/roster.yaml").read_text(encoding="utf-8")
K8S = (REPO / "tenants/k8s_users.yaml").read_text(encoding="utf-8")
CONFIG = (REPO / "tenancy.yaml").read_text(encoding="utf-8")
EXAMPLE = people.Inputs(roster=ROSTER, k8s_users=K8S, config=CONFIG)


def as_json(inputs: people.Inputs) -> people.Inputs:
    """The same inputs with k8s_users as the JSON Vault stores (json.dumps, indent 2)."""
    data = yaml_edit.load(K8S)
    return people.Inputs(
        roster=inputs.roster,
        k8s_users=json.dumps(data, indent=2) + "\n",
        k8s_json=True,
        config=inputs.config,
    )


def test_quota_keys_are_the_schemas() -> None:
    """The CLI's quota keys are exactly the k8s_users schema's quota properties."""
    schema = json.loads(resources.schema_text("k8s_users"))
    reference = schema["$defs"]["user"]["properties"]["quota"]["$ref"]
    quota = schema["$defs"][reference.rsplit("/", 1)[-1]]
    assert set(quota["properties"]) == set(people.QUOTA_KEYS)


def test_add_writes_the_entry_and_the_row() -> None:
    """add: a block k8s_users entry and a flow roster row whose tier is the role and whose
    namespaces are the entry's."""
    user = people.NewUser(
        key="hana",
        role="namespace-owner",
        email="hana@example.org",
        namespaces=("hana",),
        quota={"pods": "10"},
        os_user="hana",
        authentik_user="hana.m",
    )
    edited = people.add(EXAMPLE, user)
    assert people.k8s_users(edited.inputs)["hana"] == {
        "role": "namespace-owner",
        "email": "hana@example.org",
        "namespaces": ["hana"],
        "quota": {"pods": "10"},
    }
    assert people.roster_rows(edited.inputs)["hana"] == {
        "authentik_user": "hana.m",
        "k8s_user": "hana",
        "tier": "namespace-owner",
        "namespaces": ["hana"],
    }
    assert edited.inputs.config == CONFIG


def test_add_k8s_only_says_there_is_no_workstation_row() -> None:
    """Without --os-user only k8s_users changes, and a note says so."""
    edited = people.add(
        EXAMPLE, people.NewUser(key="ivo", role="power-user", email="i@example.org")
    )
    assert edited.inputs.roster == ROSTER
    assert "no workstation row" in edited.notes[0]


def test_add_roster_only_takes_the_role_and_namespaces_of_the_entry() -> None:
    """--roster-only for gabi (an entry, no row): the row's tier and namespaces are gabi's."""
    user = people.NewUser(key="gabi", role=None, os_user="gabi", authentik_user="gabi.r", k8s=False)
    edited = people.add(EXAMPLE, user)
    assert edited.inputs.k8s_users == K8S
    assert people.roster_rows(edited.inputs)["gabi"]["namespaces"] == ["gabi"]


@pytest.mark.parametrize(
    ("user", "message"),
    [
        (people.NewUser(key="cleo", role="admin", email="c@example.org"), "already in k8s_users"),
        (
            people.NewUser(
                key="x", role="admin", email="x@e.org", os_user="ada", authentik_user="a"
            ),
            "already has a roster row",
        ),
        (people.NewUser(key="x", role=None, email="x@example.org"), "--role and --email"),
        (
            people.NewUser(key="x", role=None, os_user="x", authentik_user="x", k8s=False),
            "--role gives",
        ),
    ],
)
def test_add_refuses_what_cannot_be_meant(user: people.NewUser, message: str) -> None:
    """An existing key or os_user, or a missing role, is a usage error."""
    with pytest.raises(UsageError, match=message):
        people.add(EXAMPLE, user)


def test_set_role_and_namespaces_follow_into_the_roster() -> None:
    """set: a new namespace goes to k8s_users and to cleo's roster row; a role change to
    power-user drops what only owners have and quarantines the namespaces."""
    edited = people.set_user(
        EXAMPLE, "cleo", people.Change(add_namespaces=("cleo-shop",), today="2026-09-01")
    )
    assert people.k8s_users(edited.inputs)["cleo"]["namespaces"] == [
        "cleo",
        "cleo-books",
        "cleo-shop",
    ]
    assert people.roster_rows(edited.inputs)["cleom"]["namespaces"] == [
        "cleo",
        "cleo-books",
        "cleo-shop",
    ]
    demoted = people.set_user(EXAMPLE, "cleo", people.Change(role="power-user", today="2026-09-01"))
    entry = people.k8s_users(demoted.inputs)["cleo"]
    assert entry == {"role": "power-user", "email": "cleo98@example.org"}
    row = people.roster_rows(demoted.inputs)["cleom"]
    assert row["tier"] == "power-user" and "namespaces" not in row
    quarantine = yaml_edit.load(demoted.inputs.config or "")["quarantine"]
    assert set(quarantine) == {"cleo", "cleo-books"}


def test_set_quota_merges_and_removes() -> None:
    """--quota k=v sets a key, k= removes one; the other quantities keep their bytes."""
    change = people.Change(quota={"cpu_requests": "3", "pods": None})
    edited = people.set_user(EXAMPLE, "cleo", change)
    assert '  quota: {cpu_requests: "3", memory_requests: "4Gi", memory_limits: "8Gi"}\n' in (
        edited.inputs.k8s_users or ""
    )


def test_set_unknown_user_and_missing_namespace_are_usage_errors() -> None:
    """An unknown key, or removing a namespace the person does not have, is exit 2."""
    with pytest.raises(UsageError, match="no user 'zed'"):
        people.set_user(EXAMPLE, "zed", people.Change(role="admin"))
    with pytest.raises(UsageError, match="no namespace 'gabi'"):
        people.set_user(EXAMPLE, "cleo", people.Change(remove_namespaces=("gabi",)))


def test_park_and_unpark() -> None:
    """park adds `parked: true` to the flow row; unpark removes the key; repeats are notes."""
    parked = people.park(EXAMPLE, "emil", parked=True)
    assert (
        "  emil:   {authentik_user: emil.s,   k8s_user: emil, tier: power-user, claude_auth: false, parked: true}\n"
        in (parked.inputs.roster or "")
    )
    unparked = people.park(EXAMPLE, "dara", parked=False)
    assert (
        "  dara:   {authentik_user: dara.v,   k8s_user: dara, tier: namespace-owner, namespaces: [dara]}\n"
        in (unparked.inputs.roster or "")
    )
    assert people.park(EXAMPLE, "dara", parked=True).notes == ("dara is already parked",)
    with pytest.raises(UsageError, match="no roster row 'cleo'; cleo's roster rows are cleom"):
        people.park(EXAMPLE, "cleo", parked=True)


def test_offboard_comments_out_removes_and_quarantines() -> None:
    """offboard cleo: the row commented out under the dated note, the entry gone (with the
    comment inside it), one quarantine entry per namespace, every other line as it was."""
    edited = people.offboard(EXAMPLE, "cleo", date="2026-09-01", note="left T3 Users")
    roster = edited.inputs.roster or ""
    assert (
        "  #  REMOVED 2026-09-01 (left T3 Users) -- reversible cut\n# cleom:  {authentik_user: cleo98,"
        in roster
    )
    assert (
        roster.replace(
            "  #  REMOVED 2026-09-01 (left T3 Users) -- reversible cut\n# cleom:", "  cleom:"
        )
        == ROSTER
    )
    k8s = edited.inputs.k8s_users or ""
    assert "cleo" not in people.k8s_users(edited.inputs)
    assert "Prometheus" not in k8s and "# Cluster-only" in k8s
    assert yaml_edit.load(edited.inputs.config or "")["quarantine"] == {
        ns: {"tenant": "cleo", "since": "2026-09-01", "reason": "cleo offboarded: left T3 Users"}
        for ns in ("cleo", "cleo-books")
    }
    assert (edited.inputs.config or "").startswith(CONFIG)


def test_offboard_by_os_user_and_without_config() -> None:
    """An os_user names its k8s user; with no tenancy.yaml the quarantine cannot be written
    (usage) unless it is turned off, which a note then says."""
    edited = people.offboard(EXAMPLE, "cleom", date="2026-09-01", note=None)
    assert edited.notes[0] == "cleom is an os_user: offboarding its k8s user cleo"
    bare = people.Inputs(roster=ROSTER, k8s_users=K8S)
    with pytest.raises(UsageError, match=r"no tenancy\.yaml"):
        people.offboard(bare, "cleo", date="2026-09-01", note=None)
    unguarded = people.offboard(bare, "cleo", date="2026-09-01", note=None, quarantine=False)
    assert any("not quarantined" in note for note in unguarded.notes)


def test_offboard_admin_notes_the_allow_list() -> None:
    """Offboarding ada (an admin) leaves `admins:` alone and says so."""
    edited = people.offboard(EXAMPLE, "ada", date="2026-09-01", note=None)
    assert edited.inputs.config == CONFIG
    assert any("admins:" in note for note in edited.notes)


def test_rename_changes_the_key_and_the_rows() -> None:
    """rename: the k8s_users key in place and the roster row's k8s_user; notes say what is not
    moved (Vault secrets)."""
    edited = people.rename(EXAMPLE, "cleo", "cleo-m")
    assert list(people.k8s_users(edited.inputs)) == [
        "ada",
        "brin",
        "cleo-m",
        "dara",
        "emil",
        "gabi",
    ]
    assert people.roster_rows(edited.inputs)["cleom"]["k8s_user"] == "cleo-m"
    assert "secret/data/cleo/ are not moved" in edited.notes[0]
    with pytest.raises(UsageError, match="already a user"):
        people.rename(EXAMPLE, "cleo", "dara")


def test_json_k8s_users_keeps_order_and_indentation() -> None:
    """The JSON form: an edit re-dumps with the file's indent and key order, so only the
    edited entry's lines change; a new key goes in sorted position."""
    inputs = as_json(EXAMPLE)
    before = inputs.k8s_users or ""
    edited = people.set_user(inputs, "cleo", people.Change(quota={"cpu_requests": "3"}))
    after = edited.inputs.k8s_users or ""
    assert after == before.replace('"cpu_requests": "2"', '"cpu_requests": "3"')
    added = people.add(inputs, people.NewUser(key="bea", role="power-user", email="b@example.org"))
    assert list(json.loads(added.inputs.k8s_users or "")) == [
        "ada",
        "bea",
        "brin",
        "cleo",
        "dara",
        "emil",
        "gabi",
    ]
    four = people.Inputs(
        roster=ROSTER, k8s_users=json.dumps({"b": {"role": "admin"}}, indent=4), k8s_json=True
    )
    renamed = people.rename(four, "b", "c")
    assert renamed.inputs.k8s_users == json.dumps({"c": {"role": "admin"}}, indent=4)
