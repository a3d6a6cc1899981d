"""sync.kv (k8s_users pull: decode, merge into YAML/JSON) and sync.settings (the vault: section)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenancy.errors import BackendError, RepoError, UsageError
from tenancy.sync import kv, settings
from tenancy.sync.vault import connection_from_env
from tests.conftest import REPO, dedent

EXAMPLE = (REPO / "tenants" / "k8s_users.yaml").read_text(encoding="utf-8")


def users() -> dict[str, Any]:
    return json.loads(json.dumps(kv.load_yaml(EXAMPLE)))


def test_decode_reads_the_json_string_field() -> None:
    """The field holds the map as a JSON-encoded string (seed §a2); an object is accepted too."""
    data = {"k8s_users": json.dumps({"a": {"role": "admin"}}), "other": "x"}
    assert kv.decode(data, "k8s_users", "secret/platform") == {"a": {"role": "admin"}}
    assert kv.decode({"f": {"a": {}}}, "f", "s") == {"a": {}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "secret/platform does not exist"),
        ({"x": "1"}, "has no field 'k8s_users' \\(fields: x\\)"),
        ({"k8s_users": "{nope"}, "is not valid JSON"),
        ({"k8s_users": "[1, 2]"}, "holds list, not a JSON object"),
    ],
)
def test_decode_explains_what_is_wrong(data: Any, message: str) -> None:
    """A missing secret or field, bad JSON or a non-object is a clear BackendError."""
    with pytest.raises(BackendError, match=message):
        kv.decode(data, "k8s_users", "secret/platform")


def test_unchanged_yaml_is_byte_identical() -> None:
    """Merging the file's own content changes nothing at all."""
    assert kv.merge_yaml(EXAMPLE, users()) == EXAMPLE


def test_yaml_merge_touches_only_what_differs() -> None:
    """Comments, order, flow style and quoting survive; changed values change in place."""
    new = users()
    new["cleo"]["quota"]["pods"] = "30"
    new["dara"]["namespaces"] = ["dara", "dara-lab"]
    out = kv.merge_yaml(EXAMPLE, new)
    old_lines, new_lines = EXAMPLE.splitlines(), out.splitlines()
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert changed == [
        (
            '  quota: {cpu_requests: "2", memory_requests: "4Gi", memory_limits: "8Gi", pods: "20"}',
            '  quota: {cpu_requests: "2", memory_requests: "4Gi", memory_limits: "8Gi", pods: "30"}',
        ),
        ("  namespaces: [dara]", "  namespaces: [dara, dara-lab]"),
    ]


def test_deleting_a_user_keeps_the_comment_above_the_next() -> None:
    """The comment lines before a user belong to that user, not to the one deleted above it."""
    new = users()
    del new["emil"]
    out = kv.merge_yaml(EXAMPLE, new)
    assert "emil" not in out
    assert "# Cluster-only namespace-owner: no workstation row" in out
    assert out.index("# Cluster-only") < out.index("gabi:")


def test_new_users_are_appended_in_the_file_style() -> None:
    """A new entry goes last, with flow lists and double-quoted number-like strings."""
    new = users()
    new["zed"] = {
        "role": "namespace-owner",
        "email": "z@example.org",
        "namespaces": ["zed"],
        "quota": {"cpu_requests": "1", "pods": "5"},
    }
    out = kv.merge_yaml(EXAMPLE, new)
    assert out.endswith(
        dedent(
            """
            zed:
              role: namespace-owner
              email: z@example.org
              namespaces: [zed]
              quota: {cpu_requests: "1", pods: "5"}
            """
        )
    )
    assert kv.load_yaml(out) == new


def test_new_yaml_file_gets_a_header() -> None:
    """Pulling into a file that does not exist yet writes a commented header first."""
    out = kv.merge_yaml(None, {"a": {"role": "admin", "email": "a@x.org"}})
    assert out.startswith(kv.YAML_HEADER)
    assert kv.load_yaml(out) == {"a": {"role": "admin", "email": "a@x.org"}}


def test_invalid_yaml_is_not_overwritten() -> None:
    """A file that is not YAML is an error, not silently replaced."""
    with pytest.raises(RepoError, match="not valid YAML"):
        kv.merge_yaml("a: [\n", {})


def test_json_keeps_the_existing_key_order() -> None:
    """A JSON file keeps its key order at every level; new keys follow in Vault's order."""
    old = '{"b": 1, "a": {"y": 1, "x": 2}}'
    out = kv.merge_json(old, {"a": {"x": 3, "y": 1, "z": 0}, "c": 1, "b": 1})
    assert list(json.loads(out)) == ["b", "a", "c"]
    assert list(json.loads(out)["a"]) == ["y", "x", "z"]
    assert out.endswith("}\n") and '\n  "b": 1,' in out


def test_changes_per_user_tell_string_from_number() -> None:
    """Per user: create, update or delete; "2" and 2 are different values."""
    before = {"a": {"pods": "2"}, "b": {}, "c": {}}
    after = {"a": {"pods": 2}, "b": {}, "d": {}}
    assert kv.changes(before, after) == [("update", "a"), ("delete", "c"), ("create", "d")]


def test_unified_diff_names_both_sides() -> None:
    """The diff is labelled git against vault."""
    text = kv.unified("a: 1\n", "a: 2\n", "k8s_users.yaml")
    assert "--- k8s_users.yaml (git)" in text and "+++ k8s_users.yaml (vault)" in text


# --- settings and connection ------------------------------------------------------------------


def test_settings_defaults_and_overrides() -> None:
    """No vault: section means the seed's locations; the file and then options override."""
    assert settings.from_document(None) == settings.VaultSettings()
    document = {"vault": {"kv": {"path": "platform2"}, "index": {"path": "ops/tenancy"}}}
    loaded = settings.from_document(document)
    assert (loaded.kv_mount, loaded.kv_path, loaded.kv_field) == (
        "secret",
        "platform2",
        "k8s_users",
    )
    assert loaded.index_data_path == "secret/data/ops/tenancy"
    chosen = settings.override(loaded, kv_field="users", login_role="ci", kv_mount=None)
    assert (chosen.kv_field, chosen.kv_mount, chosen.login) == ("users", "secret", "kubernetes")


def test_connection_follows_the_vault_cli_environment() -> None:
    """VAULT_ADDR/TOKEN, CA bundle, client cert and VAULT_SKIP_VERIFY as the CLI reads them."""
    conn = connection_from_env(None, {"VAULT_ADDR": "https://v:8200/", "VAULT_TOKEN": "t0k"})
    assert (conn.address, conn.token, conn.verify) == ("https://v:8200", "t0k", True)
    assert "t0k" not in repr(conn)
    env = {"VAULT_ADDR": "https://v", "VAULT_CACERT": "/ca.pem"}
    assert connection_from_env(None, env).verify == "/ca.pem"
    assert connection_from_env(None, {**env, "VAULT_SKIP_VERIFY": "true"}).verify is False
    assert connection_from_env(None, {**env, "VAULT_SKIP_VERIFY": "no"}).verify == "/ca.pem"
    certs = {**env, "VAULT_CLIENT_CERT": "c.pem", "VAULT_CLIENT_KEY": "k.pem"}
    assert connection_from_env(None, certs).cert == ("c.pem", "k.pem")
    assert connection_from_env("http://x", env).address == "http://x"
    with pytest.raises(UsageError, match="VAULT_ADDR"):
        connection_from_env(None, {})


def test_token_is_stripped_and_a_bad_one_refused_unshown() -> None:
    """A token pasted with its newline works; one with a control character inside is a usage
    error that never shows it."""
    env = {"VAULT_ADDR": "https://v"}
    assert connection_from_env(None, {**env, "VAULT_TOKEN": " hvs.abc\n"}).token == "hvs.abc"
    assert connection_from_env(None, {**env, "VAULT_TOKEN": "\n"}).token is None
    with pytest.raises(UsageError) as caught:
        connection_from_env(None, {**env, "VAULT_TOKEN": "hvs.SECRET\x01x"})
    assert "SECRET" not in str(caught.value)


@pytest.mark.parametrize(
    "address", ["http://[::1", "http://v:port", "v:8200", "ftp://v", "http://"]
)
def test_an_address_that_is_not_a_url_is_a_usage_error(address: str) -> None:
    """VAULT_ADDR is checked as a URL before any request (never a ValueError traceback)."""
    with pytest.raises(UsageError, match="VAULT_ADDR"):
        connection_from_env(None, {"VAULT_ADDR": address, "VAULT_TOKEN": "t"})


def test_a_deeply_nested_value_is_refused() -> None:
    """A value deeper than the loader allows (or than Python's JSON parser recurses) is an
    error, not a RecursionError."""
    deep = {"k8s_users": '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"}
    with pytest.raises(BackendError, match="nested deeper"):
        kv.decode(deep, "k8s_users", "secret/platform")
    shallow_but_too_deep = {"k8s_users": '{"a": ' + "[" * 70 + "]" * 70 + "}"}
    with pytest.raises(BackendError, match="nested deeper"):
        kv.decode(shallow_but_too_deep, "k8s_users", "secret/platform")
