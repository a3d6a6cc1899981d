"""sync.plan and sync.hcl: desired state from the render, the plan, ownership bookkeeping."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenancy.model import Config, build
from tenancy.render.plan import render
from tenancy.render.plan.profiles import load
from tenancy.sync import hcl
from tenancy.sync.plan import (
    KINDS,
    AuthRole,
    Entity,
    EntityAlias,
    Observed,
    Plan,
    Policy,
    SecretRole,
    State,
    desired,
    exposing,
    fingerprint,
    glob_match,
    invalid_names,
    key_of,
    owned_after,
    plan,
    policy_delta,
)
from tests.fixtures import ROSTER, SOURCES
from tests.strategies import vault_states

CONFIG = Config(zones=("example.org",))
K8S = {
    "cleo": {
        "role": "namespace-owner",
        "email": "cleo98@example.org",
        "namespaces": ["cleo-books", "cleo"],
    },
    "dev_ops": {"role": "namespace-owner", "email": "d@example.org", "namespaces": ["devops"]},
    "brin": {"role": "power-user", "email": "brin.k@example.org"},
}


def state(roster: Any = ROSTER, k8s: Any = K8S) -> State:
    rendered, problems = render(build(roster, k8s, CONFIG), load(), sources=SOURCES)
    assert problems == []
    return desired(rendered)


def policy(name: str, rules: dict[str, list[str]]) -> Policy:
    return Policy(
        name=name,
        rules=tuple((p, hcl.PathRule(frozenset(c))) for p, c in sorted(rules.items())),
        text=f"# {name}\n",
    )


def owned(objects: State) -> Observed:
    return Observed(objects=objects.objects, owned=frozenset(objects.objects))


EMPTY = Observed(objects={}, owned=frozenset())


# --- hcl ----------------------------------------------------------------------------------


def test_hcl_reads_the_canonical_rendered_form() -> None:
    """A rendered policy parses to its paths and capabilities."""
    text = 'path "secret/data/a/*" {\n  capabilities = ["read", "list"]\n}\n'
    assert hcl.parse(text) == (("secret/data/a/*", hcl.PathRule(frozenset({"read", "list"}))),)


def test_hcl_reads_hand_written_policies() -> None:
    """Comments of three kinds, `=` before a block, trailing commas and parameters are read."""
    text = """
    # hash
    path "a/*" = {
      capabilities = ["read", "list",]  // slashes
      allowed_parameters = { "ttl" = [] }
    }
    /* block
       comment */ path "a/*" { capabilities = ["sudo"] }
    """
    ((path, rule),) = hcl.parse(text)
    assert path == "a/*"
    assert rule.capabilities == {"read", "list", "sudo"}  # repeated paths merge, as in Vault
    assert rule.other == (("allowed_parameters", '{"ttl": []}'),)


@pytest.mark.parametrize(
    "text",
    [
        'path "a" { capabilities = ["read"]',
        'path "a" { capabilities = "read" }',
        'name = "x"',
        'path "a" { capabilities = [read }',
        'path "a" { capabilities = ["read"] } ;',
    ],
)
def test_hcl_rejects_what_it_cannot_read(text: str) -> None:
    """Unreadable or unsupported policies are an HclError, never a guess."""
    with pytest.raises(hcl.HclError):
        hcl.parse(text)


# --- desired state from the render ----------------------------------------------------------


def test_desired_state_has_every_rendered_vault_object() -> None:
    """Policies, auth roles, entities and aliases come from the operator resources."""
    wanted = state()
    kinds = {kind: sorted(n for k, n in wanted.objects if k == kind) for kind in KINDS}
    assert kinds == {
        "policy": [
            "deployer-cleo",
            "deployer-cleo-books",
            "deployer-devops",
            "namespace-owner-cleo",
            "namespace-owner-dev_ops",
            "workstation-claude-brin",
            "workstation-claude-cleom",
        ],
        "auth-role": [
            "kubernetes/cleo-books-deployer",
            "kubernetes/cleo-deployer",
            "kubernetes/devops-deployer",
        ],
        "secret-role": [
            "kubernetes/cleo-books-deployer",
            "kubernetes/cleo-deployer",
            "kubernetes/devops-deployer",
        ],
        "entity": ["cleo", "dev_ops"],
        "entity-alias": ["oidc/cleo98@example.org", "oidc/d@example.org"],
        "group": [],
    }


def test_policy_names_are_the_ones_entities_refer_to() -> None:
    """A key with `_` keeps it in the policy name, as the entity's policy list has it."""
    wanted = state()
    entity = wanted.objects[("entity", "dev_ops")]
    assert isinstance(entity, Entity)
    assert entity.policies == ("namespace-owner-dev_ops",)
    assert ("policy", "namespace-owner-dev_ops") in wanted.objects


def test_desired_entity_is_marked_as_managed_and_roles_have_seconds() -> None:
    """Entity metadata carries managed-by: tenancy; TTLs such as 1h become 3600."""
    wanted = state()
    entity = wanted.objects[("entity", "cleo")]
    assert isinstance(entity, Entity)
    assert ("managed-by", "tenancy") in entity.metadata
    assert ("k8s_user", "cleo") in entity.metadata
    role = wanted.objects[("auth-role", "kubernetes/cleo-deployer")]
    assert isinstance(role, AuthRole)
    assert (role.token_ttl, role.token_max_ttl, role.audience) == (3600, 3600, "vault")
    assert role.policies == ("deployer-cleo",)
    assert role.bound_service_account_names == ("deployer",)
    assert role.bound_service_account_namespaces == ("cleo",)
    alias = wanted.objects[("entity-alias", "oidc/cleo98@example.org")]
    assert isinstance(alias, EntityAlias)
    assert alias.entity == "cleo"


def test_desired_secrets_engine_roles_mint_for_their_namespace_alone() -> None:
    """Each namespace's secrets-engine role (seed b.2) comes from its operator resource, on
    the secrets engine's mount, with the CRD's duration strings read as seconds."""
    role = state().objects[("secret-role", "kubernetes/cleo-books-deployer")]
    assert role == SecretRole(
        mount="kubernetes",
        role="cleo-books-deployer",
        allowed_kubernetes_namespaces=("cleo-books",),
        kubernetes_role_name="cleo-books-deployer",
        kubernetes_role_type="Role",
        token_default_ttl=1800,
        token_max_ttl=3600,
    )


def test_secrets_engine_roles_follow_the_ownership_rules() -> None:
    """An unowned secrets-engine role of a rendered name is a conflict; an owned one that
    drifted is an update, field by field; an owned one no longer rendered is a blocked
    delete; a role tenancy never made is never touched."""
    wanted = state()
    key = ("secret-role", "kubernetes/cleo-deployer")
    mine = wanted.objects[key]
    assert isinstance(mine, SecretRole)
    drifted = SecretRole(
        mount="kubernetes",
        role="cleo-deployer",
        allowed_kubernetes_namespaces=("*",),
        kubernetes_role_name="cleo-deployer",
        kubernetes_role_type="Role",
        token_default_ttl=1800,
        token_max_ttl=3600,
    )
    gone = SecretRole(
        mount="kubernetes",
        role="old-deployer",
        allowed_kubernetes_namespaces=("old",),
        kubernetes_role_name="old-deployer",
        kubernetes_role_type="Role",
        token_default_ttl=1800,
        token_max_ttl=3600,
    )
    foreign = State.of([gone]).objects
    conflict = plan(wanted, Observed(objects={key: drifted}, owned=frozenset()))
    change = next(c for c in conflict.changes if c.key == key)
    assert (change.action, change.owned) == ("conflict", False)
    servers = {key: drifted, key_of(gone): gone}
    update = plan(wanted, Observed(objects=servers, owned=frozenset({key, key_of(gone)})))
    changed = {c.key: c for c in update.changes if c.action != "create"}
    assert changed[key].action == "update"
    assert changed[key].detail == ("allowed_kubernetes_namespaces: [*] -> [cleo]",)
    assert changed[key_of(gone)].action == "delete"
    assert changed[key_of(gone)].blocked == "deletes need --allow-delete"
    untouched = plan(wanted, Observed(objects={**foreign}, owned=frozenset()))
    assert key_of(gone) not in {c.key for c in untouched.changes}


# --- the plan -----------------------------------------------------------------------------


def test_empty_server_means_create_everything_in_dependency_order() -> None:
    """Every desired object is a create; policies come before the objects naming them."""
    wanted = state()
    result = plan(wanted, EMPTY)
    assert [c.action for c in result.changes] == ["create"] * len(wanted.objects)
    order = [KINDS.index(c.kind) for c in result.changes]
    assert order == sorted(order)
    assert result.blocked == ()


def test_capability_level_difference_of_a_policy() -> None:
    """An update lists, per path, the capabilities added and removed."""
    before = policy("p", {"a/*": ["read", "sudo"], "b": ["read"]})
    after = policy("p", {"a/*": ["read", "list"], "c": ["update"]})
    result = plan(State.of([after]), owned(State.of([before])))
    (change,) = result.changes
    assert change.action == "update"
    assert change.detail == (
        'path "a/*": +list -sudo',
        'path "b": removed, was [read]',
        'path "c": new, [update]',
    )
    assert [(p.path, p.added, p.removed) for p in change.paths] == [
        ("a/*", ("list",), ("sudo",)),
        ("b", (), ("read",)),
        ("c", ("update",), ()),
    ]


def test_policy_text_alone_is_not_a_difference() -> None:
    """A different header comment or layout with the same rules needs no update."""
    rules = {"a/*": ["read"]}
    server = Policy(
        name="p", rules=policy("p", rules).rules, text='path "a/*" {capabilities=["read"]}'
    )
    assert plan(State.of([policy("p", rules)]), owned(State.of([server]))).changes == ()


def test_unreadable_server_policy_is_replaced_and_says_why() -> None:
    """A policy the parser cannot read differs from the rendered one, with the reason shown."""
    server = Policy(name="p", rules=(), text="???", unreadable="line 1: unexpected '???'")
    (change,) = plan(State.of([policy("p", {"a": ["read"]})]), owned(State.of([server]))).changes
    assert change.action == "update"
    assert change.detail[0].startswith("the server's policy could not be parsed")


def test_field_differences_of_other_objects() -> None:
    """Entities and roles list each field that differs, old -> new."""
    old = Entity(name="e", policies=("a",), metadata=(("tier", "x"),))
    new = Entity(name="e", policies=("a", "b"), metadata=(("tier", "y"),))
    (change,) = plan(State.of([new]), owned(State.of([old]))).changes
    assert change.detail == ("policies: [a] -> [a, b]", 'metadata: {"tier": "x"} -> {"tier": "y"}')


def test_object_not_owned_is_a_conflict_unless_adopted() -> None:
    """A hand-made object with a rendered name is reported, never overwritten without --adopt."""
    hand = policy("p", {"a": ["sudo"]})
    mine = policy("p", {"a": ["read"]})
    observed = Observed(objects={key_of(hand): hand}, owned=frozenset())
    (conflict,) = plan(State.of([mine]), observed).changes
    assert (conflict.action, conflict.owned) == ("conflict", False)
    assert conflict.blocked is not None
    assert conflict.detail == ('path "a": +read -sudo',)
    (adopted,) = plan(State.of([mine]), observed, adopt=True).changes
    assert (adopted.action, adopted.adopt, adopted.blocked) == ("update", True, None)


def test_identical_unowned_object_is_adopted_without_change() -> None:
    """--adopt on an object that already matches only records ownership."""
    same = policy("p", {"a": ["read"]})
    observed = Observed(objects={key_of(same): same}, owned=frozenset())
    (change,) = plan(State.of([same]), observed, adopt=True).changes
    assert change.action == "update"
    assert change.detail == ("adopt: tenancy takes ownership of this existing object",)


def test_deletes_only_owned_objects_and_only_when_allowed() -> None:
    """An owned object no longer rendered is a delete, blocked without --allow-delete."""
    gone = policy("gone", {"a": ["read"]})
    stranger = policy("stranger", {"a": ["read"]})
    observed = Observed(
        objects={key_of(gone): gone, key_of(stranger): stranger},
        owned=frozenset({key_of(gone)}),
    )
    (blocked,) = plan(State.of([]), observed).changes
    assert (blocked.action, blocked.name, blocked.blocked) == (
        "delete",
        "gone",
        "deletes need --allow-delete",
    )
    (allowed,) = plan(State.of([]), observed, allow_delete=True).changes
    assert allowed.blocked is None
    assert allowed.detail == ('path "a": removed, was [read]',)


def test_reversible_changes_come_before_deletes_in_reverse_kind_order() -> None:
    """Creates and updates first; deletes last, aliases before entities before policies."""
    old = [
        policy("old", {"a": ["read"]}),
        Entity(name="old", policies=(), metadata=()),
        EntityAlias(mount="oidc", alias="old@x", entity="old"),
    ]
    observed = owned(State.of(old))
    result = plan(State.of([policy("new", {"a": ["read"]})]), observed, allow_delete=True)
    assert [(c.action, c.kind) for c in result.changes] == [
        ("create", "policy"),
        ("delete", "entity-alias"),
        ("delete", "entity"),
        ("delete", "policy"),
    ]


def test_owned_but_missing_is_recreated_or_forgotten() -> None:
    """An index entry without its object: created again if rendered, else only forgotten."""
    wanted = policy("p", {"a": ["read"]})
    observed = Observed(objects={}, owned=frozenset({("policy", "p"), ("policy", "gone")}))
    result = plan(State.of([wanted]), observed)
    assert [(c.action, c.name, c.owned) for c in result.changes] == [("create", "p", True)]
    assert result.forget == {("policy", "gone")}


def test_ownership_is_recorded_only_for_what_was_done() -> None:
    """Created objects are owned once created, deleted ones and forgotten entries are dropped;
    a change that did not run records nothing (an interrupted apply never claims ahead)."""
    keep = policy("keep", {"a": ["read"]})
    gone = policy("gone", {"a": ["read"]})
    new = policy("new", {"a": ["read"]})
    observed = Observed(
        objects={key_of(keep): keep, key_of(gone): gone},
        owned=frozenset({key_of(keep), key_of(gone), ("policy", "lost")}),
    )
    result = plan(State.of([keep, new]), observed, allow_delete=True)
    done = result.runnable
    assert owned_after(observed.owned, result, done) == {("policy", "keep"), ("policy", "new")}
    assert owned_after(observed.owned, result, ()) == {("policy", "keep"), ("policy", "gone")}


def test_conflicts_are_not_claimed() -> None:
    """A conflicting object is never recorded as tenancy's."""
    hand = policy("p", {"a": ["sudo"]})
    observed = Observed(objects={key_of(hand): hand}, owned=frozenset())
    result = plan(State.of([policy("p", {"a": ["read"]})]), observed)
    assert owned_after(observed.owned, result, result.runnable) == frozenset()


# --- issue 14: attachments, cascades, renames, names ----------------------------------------

GABI = Entity(name="gabi", policies=("p",), metadata=())


def test_nothing_is_attached_to_an_entity_in_conflict() -> None:
    """A hand-made entity hugo is a conflict; hugo's rendered alias is blocked with it, and so
    is a role granted a policy in conflict."""
    hugo_hand = Entity(name="hugo", policies=("handmade",), metadata=())
    hugo = Entity(name="hugo", policies=(), metadata=())
    alias = EntityAlias(mount="oidc", alias="hugo@example.org", entity="hugo")
    hand_policy = policy("p", {"a": ["sudo"]})
    role = AuthRole(
        mount="kubernetes",
        role="r",
        bound_service_account_names=("d",),
        bound_service_account_namespaces=("n",),
        audience="",
        policies=("p",),
        token_ttl=1,
        token_max_ttl=2,
    )
    observed = Observed(
        objects={key_of(hugo_hand): hugo_hand, key_of(hand_policy): hand_policy},
        owned=frozenset(),
    )
    result = plan(State.of([hugo, alias, policy("p", {"a": ["read"]}), role]), observed)
    by_key = {c.key: c for c in result.changes}
    assert by_key[key_of(hugo)].action == "conflict"
    assert by_key[key_of(alias)].action == "create"
    assert "entity hugo, which is in conflict" in (by_key[key_of(alias)].blocked or "")
    assert "policy p, which is in conflict" in (by_key[key_of(role)].blocked or "")
    assert result.runnable == ()


def test_deleting_an_entity_with_foreign_aliases_or_groups_is_blocked_until_named() -> None:
    """Vault deletes an entity's other aliases and memberships with it: shown, and blocked
    even with --allow-delete until --allow-cascade names the entity."""
    mine = EntityAlias(mount="oidc", alias="gabi@example.org", entity="gabi")
    gabi = Entity(
        name="gabi",
        policies=(),
        metadata=(),
        aliases=(("oidc", "gabi@example.org"), ("userpass", "gabi-breakglass")),
        groups=("oncall",),
    )
    observed = owned(State.of([gabi, mine]))
    result = plan(State.of([]), observed, allow_delete=True)
    by_key = {c.key: c for c in result.changes}
    entity = by_key[("entity", "gabi")]
    assert entity.detail == (
        "cascade: Vault also deletes alias userpass/gabi-breakglass (not managed by tenancy)",
        "cascade: Vault also removes gabi from group oncall",
    )
    assert "--allow-cascade gabi" in (entity.blocked or "")
    assert by_key[key_of(mine)].blocked is None
    allowed = plan(State.of([]), observed, allow_delete=True, allow_cascade=["gabi"])
    assert allowed.blocked == ()
    bare = Entity(name="gabi", policies=(), metadata=(), aliases=(("oidc", "gabi@example.org"),))
    assert plan(State.of([]), owned(State.of([bare, mine])), allow_delete=True).blocked == ()


def test_an_email_change_renames_the_alias_in_place() -> None:
    """The entity's tenancy alias on the mount is renamed (update, by its old name's ID), not
    created beside it (Vault refuses a second alias per entity and mount) and then deleted."""
    old = EntityAlias(mount="oidc", alias="gabi@example.org", entity="gabi")
    new = EntityAlias(mount="oidc", alias="gabi.new@example.org", entity="gabi")
    result = plan(State.of([GABI, new]), owned(State.of([GABI, old])), allow_delete=True)
    (change,) = result.changes
    assert (change.action, change.name, change.previous) == (
        "update",
        "oidc/gabi.new@example.org",
        "oidc/gabi@example.org",
    )
    assert change.server_key == ("entity-alias", "oidc/gabi@example.org")
    assert owned_after(frozenset({key_of(old)}), result, [change]) == {key_of(new)}


def test_a_second_alias_on_a_mount_is_a_conflict() -> None:
    """An entity that already has an alias on the mount tenancy does not own: a conflict, not
    a create Vault would refuse."""
    gabi = Entity(name="gabi", policies=("p",), metadata=(), aliases=(("oidc", "hand@x.org"),))
    new = EntityAlias(mount="oidc", alias="gabi@example.org", entity="gabi")
    observed = Observed(objects={key_of(gabi): gabi}, owned=frozenset({key_of(gabi)}))
    (change,) = plan(State.of([GABI, new]), observed).changes
    assert change.action == "conflict"
    assert "already has alias oidc/hand@x.org" in (change.blocked or "")


def test_names_with_control_characters_are_refused() -> None:
    """`gabi@example.org\\n` (a `$`-anchored pattern lets it through) reads back as another
    name in Vault: every such name is reported before any call."""
    state = State.of(
        [
            EntityAlias(mount="oidc", alias="gabi@example.org\n", entity="gabi"),
            policy("fine", {"a": ["read"]}),
            Entity(name=" spaced", policies=(), metadata=()),
        ]
    )
    found = invalid_names(state)
    assert [key for key, _ in found] == [
        ("entity", " spaced"),
        ("entity-alias", "oidc/gabi@example.org\n"),
    ]
    assert "control character" in found[1][1]


def test_fingerprint_changes_with_the_server() -> None:
    """The plan file's digest: the same inputs give the same digest; a server change, an
    ownership change or other options give another."""
    wanted = State.of([GABI])
    empty = Observed(objects={}, owned=frozenset())
    options = {"adopt": False}
    assert fingerprint(wanted, empty, options) == fingerprint(wanted, empty, options)
    hand = owned(State.of([GABI]))
    assert fingerprint(wanted, hand, options) != fingerprint(wanted, empty, options)
    assert fingerprint(wanted, empty, {"adopt": True}) != fingerprint(wanted, empty, options)
    carried = Entity(name="gabi", policies=("p",), metadata=(), groups=("oncall",))
    assert fingerprint(wanted, owned(State.of([carried])), options) != fingerprint(
        wanted, hand, options
    )


@given(vault_states(), st.booleans(), st.booleans())
def test_plan_of_desired_against_itself_is_empty(
    wanted: State, allow_delete: bool, adopt: bool
) -> None:
    """plan(desired, observed=desired) is empty when tenancy owns what it observes."""
    result = plan(wanted, owned(wanted), allow_delete=allow_delete, adopt=adopt)
    assert result == Plan(changes=())


@given(vault_states(), vault_states(), st.sets(st.sampled_from(KINDS)), st.booleans())
def test_unowned_objects_are_never_changed_without_adopt(
    wanted: State, server: State, owned_kinds: set[str], allow_delete: bool
) -> None:
    """Whatever the states, a runnable update or delete always touches an owned object."""
    ownership = frozenset(k for k in server.objects if k[0] in owned_kinds)
    observed = Observed(objects=server.objects, owned=ownership)
    result = plan(wanted, observed, allow_delete=allow_delete)
    for change in result.runnable:
        if change.action != "create":
            assert change.server_key in ownership
        else:
            assert change.key not in server.objects
    assert {c.key for c in result.changes} <= set(wanted.objects) | ownership


@given(vault_states(), vault_states(), st.booleans())
def test_applying_a_plan_converges(wanted: State, server: State, adopt: bool) -> None:
    """After the runnable changes, a new plan has only what was blocked before."""
    observed = Observed(objects=server.objects, owned=frozenset(server.objects))
    result = plan(wanted, observed, allow_delete=True, adopt=adopt)
    after = dict(server.objects)
    for change in result.runnable:
        if change.action == "delete":
            del after[change.key]
        else:
            assert change.after is not None
            after.pop(change.server_key, None)
            after[change.key] = change.after
    now_owned = owned_after(observed.owned, result, result.runnable)
    again = plan(wanted, Observed(objects=after, owned=now_owned), allow_delete=True)
    assert again.changes == ()


# --- safety: the ownership index must not be writable by a tenant ---------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("secret/data/*", "secret/data/tenancy/managed", True),
        ("secret/data/tenancy", "secret/data/tenancy/managed", False),
        ("secret/data/tenancy/*", "secret/data/tenancy/managed", True),
        ("secret/+/tenancy/managed", "secret/data/tenancy/managed", True),
        ("secret/data/ten*", "secret/data/tenancy/managed", True),
        ("secret/data/cleo/*", "secret/data/tenancy/managed", False),
        ("secret/data/x*", "secret/data", False),
    ],
)
def test_glob_match_follows_vault_rules(pattern: str, path: str, expected: bool) -> None:
    """A trailing * is a prefix match over segments; + matches exactly one segment."""
    assert glob_match(pattern, path) is expected


def test_a_tenant_named_like_the_index_is_caught() -> None:
    """A namespace-owner whose key is the index's folder could rewrite what tenancy owns."""
    wanted = state(
        {"users": {}},
        {"tenancy": {"role": "namespace-owner", "email": "t@x.org", "namespaces": ["t"]}},
    )
    assert exposing(wanted, "secret/data/tenancy/managed") == ["namespace-owner-tenancy"]
    assert exposing(state(), "secret/data/tenancy/managed") == []


def test_policy_delta_of_new_and_removed_policies() -> None:
    """A created policy lists every path as new; a deleted one every path as removed."""
    p = policy("p", {"a": ["read"]})
    assert [str(d) for d in policy_delta(None, p)] == ['path "a": new, [read]']
    assert [str(d) for d in policy_delta(p, None)] == ['path "a": removed, was [read]']


def test_canonical_fast_path_agrees_with_the_parser() -> None:
    """The regex fast path for tenancy's own layout reads what the general parser reads."""
    rendered = state().objects[("policy", "namespace-owner-cleo")]
    assert isinstance(rendered, Policy)
    general = hcl.parse(rendered.text + "// not canonical any more\n")
    assert hcl.parse(rendered.text) == general
    assert len(general) == 6
