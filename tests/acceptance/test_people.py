"""`tenancy user ...` through the CLI, on a copy of the example repository."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.acceptance.test_render import copy_repo
from tests.conftest import RunCli

FILES = ("tenants/roster.yaml", "tenants/k8s_users.yaml", "tenancy.yaml")


def snapshot(repo: Path) -> dict[str, bytes]:
    """The bytes of the three files a user command may edit."""
    return {name: (repo / name).read_bytes() for name in FILES}


def comments(text: str) -> list[str]:
    """Every comment line, stripped, in order."""
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def test_add_twice_then_validate(run: RunCli, tmp_path: Path) -> None:
    """Two people added (an owner with a workstation row, a cluster-only power-user): the
    inputs validate, the diff names what each gains, and every comment is still there."""
    repo = copy_repo(tmp_path)
    before = {name: (repo / name).read_text() for name in FILES}
    first = run(
        "user",
        "add",
        "hana",
        "--role",
        "namespace-owner",
        "--email",
        "hana@example.org",
        "--namespace",
        "hana,hana-lab",
        "--domain",
        "hana",
        "--quota",
        "cpu_requests=2",
        "--quota",
        "pods=10",
        "--os-user",
        "hana",
        "--authentik-user",
        "hana.m",
        cwd=repo,
    )
    assert first.exit_code == 0
    assert "hana\n" in first.stdout and "gains namespace hana-lab" in first.stdout
    second = run(
        "user", "add", "ivo", "--role", "power-user", "--email", "ivo@example.org", cwd=repo
    )
    assert second.exit_code == 0
    assert "person added" in second.stdout
    assert "no workstation row" in second.stderr
    assert run("validate", cwd=repo).exit_code == 0
    for name in FILES:
        assert comments(before[name]) == comments((repo / name).read_text())
    roster = (repo / "tenants/roster.yaml").read_text()
    assert (
        "  hana:   {authentik_user: hana.m,   k8s_user: hana, tier: namespace-owner, namespaces: [hana, hana-lab]}\n"
        in roster
    )
    k8s = (repo / "tenants/k8s_users.yaml").read_text()
    assert k8s.endswith(
        'domains: [hana]\n  quota: {cpu_requests: "2", pods: "10"}\nivo:\n  role: power-user\n  email: ivo@example.org\n'
    )


def test_offboard_quarantines_and_says_the_access_is_gone(run: RunCli, tmp_path: Path) -> None:
    """offboard cleo: the diff says the namespaces move into quarantine and the owner loses all
    access; the row is commented out under a dated note; the render holds the quarantined
    namespaces locked; every comment survives except the one inside cleo's removed entry."""
    repo = copy_repo(tmp_path)
    before = {name: (repo / name).read_text() for name in FILES}
    result = run(
        "user", "offboard", "cleo", "--note", "left T3 Users", "--date", "2026-09-01", cwd=repo
    )
    assert result.exit_code == 0
    assert "namespace cleo moved into quarantine" in result.stdout
    assert "namespace cleo-books moved into quarantine" in result.stdout
    assert "the owner loses all access" in result.stdout
    assert "person removed" in result.stdout
    roster = (repo / "tenants/roster.yaml").read_text()
    assert "  #  REMOVED 2026-09-01 (left T3 Users) -- reversible cut\n# cleom:  {" in roster
    quarantine = yaml.safe_load((repo / "tenancy.yaml").read_text())["quarantine"]
    assert quarantine["cleo"] == {
        "tenant": "cleo",
        "since": "2026-09-01",
        "reason": "cleo offboarded: left T3 Users",
    }
    for name in FILES:
        kept = [c for c in comments(before[name]) if "Prometheus scrapes cleo" not in c]
        assert [
            c
            for c in comments((repo / name).read_text())
            if "REMOVED 2026-09-01" not in c and "# cleom:" not in c
        ] == kept
    assert run("render", cwd=repo).exit_code == 0
    namespace = repo / "manifests/kubernetes/tenants/quarantine/cleo/namespace-cleo.yaml"
    assert "tenancy.io/quarantined" in namespace.read_text()
    assert run("render", "--check", cwd=repo).exit_code == 0


def test_an_invalid_edit_writes_nothing(run: RunCli, tmp_path: Path) -> None:
    """A quota that is not a quantity, and an admin not on the allow-list: exit 1, the
    findings shown at their file and line, and not one byte written."""
    repo = copy_repo(tmp_path)
    before = snapshot(repo)
    bad = run("user", "set", "cleo", "--quota", "cpu_requests=lots", cwd=repo)
    assert bad.exit_code == 1
    assert "tenants/k8s_users.yaml:" in bad.stdout and "not written" in bad.stderr
    admin = run("user", "add", "zed", "--role", "admin", "--email", "zed@example.org", cwd=repo)
    assert admin.exit_code == 1
    assert "admin-not-allowed" in admin.stdout
    assert snapshot(repo) == before


def test_usage_errors_exit_2_and_write_nothing(run: RunCli, tmp_path: Path) -> None:
    """An unknown user, two exclusive flags, a bad KEY=VALUE and an unknown quota key: exit 2."""
    repo = copy_repo(tmp_path)
    before = snapshot(repo)
    for args in (
        ("user", "offboard", "nobody"),
        ("user", "add", "x", "--roster-only", "--k8s-only"),
        ("user", "set", "cleo", "--namespaces", "a", "--add-namespace", "b"),
        ("user", "set", "cleo", "--quota", "cpu"),
        ("user", "set", "cleo", "--quota", "gpus=1"),
        ("user", "park", "nobody"),
        ("user", "rename", "cleo", "dara"),
    ):
        result = run(*args, cwd=repo)
        assert result.exit_code == 2, args
    assert snapshot(repo) == before


def test_dry_run_shows_the_file_diffs_and_writes_nothing(run: RunCli, tmp_path: Path) -> None:
    """--dry-run prints the access diff and each file's unified diff; nothing is written."""
    repo = copy_repo(tmp_path)
    before = snapshot(repo)
    result = run("user", "offboard", "dara", "--date", "2026-09-01", "--dry-run", cwd=repo)
    assert result.exit_code == 0
    assert "+quarantine:" in result.stdout and "-dara:" in result.stdout
    assert "dry run" in result.stderr
    assert snapshot(repo) == before


def test_park_then_unpark_restores_the_bytes(run: RunCli, tmp_path: Path) -> None:
    """park emil then unpark emil leaves the roster byte for byte as it was."""
    repo = copy_repo(tmp_path)
    before = snapshot(repo)
    assert run("user", "park", "emil", cwd=repo).exit_code == 0
    assert "parked: true}" in (repo / "tenants/roster.yaml").read_text()
    assert run("user", "unpark", "emil", cwd=repo).exit_code == 0
    assert snapshot(repo) == before


def test_rename_notes_what_it_does_not_move(run: RunCli, tmp_path: Path) -> None:
    """rename prints that Vault secrets under the old key are not moved."""
    repo = copy_repo(tmp_path)
    result = run("user", "rename", "dara", "dara-v", cwd=repo)
    assert result.exit_code == 0
    assert "secret/data/dara/ are not moved" in result.stderr
    assert "k8s_user: dara-v" in (repo / "tenants/roster.yaml").read_text()
    assert run("validate", cwd=repo).exit_code == 0


def test_json_k8s_users(run: RunCli, tmp_path: Path) -> None:
    """With k8s_users as JSON, set and offboard edit it in its own layout and it validates."""
    repo = copy_repo(tmp_path)
    data = yaml.safe_load((repo / "tenants/k8s_users.yaml").read_text())
    (repo / "tenants/k8s_users.json").write_text(json.dumps(data, indent=2) + "\n")
    (repo / "tenants/k8s_users.yaml").unlink()
    config = repo / "tenancy.yaml"
    config.write_text(config.read_text().replace("k8s_users.yaml", "k8s_users.json"))
    assert run("user", "set", "gabi", "--quota", "pods=5", cwd=repo).exit_code == 0
    assert run("user", "offboard", "emil", cwd=repo).exit_code == 0
    text = (repo / "tenants/k8s_users.json").read_text()
    del data["emil"]
    data["gabi"]["quota"] = {"pods": "5"}
    assert text == json.dumps(data, indent=2) + "\n"
    assert run("validate", cwd=repo).exit_code == 0


def test_help_gives_examples(run: RunCli) -> None:
    """Each command's --help carries an example, and rename's says what it does not do."""
    assert "tenancy user add hana --role namespace-owner" in run("user", "add", "--help").output
    assert "secret/data/OLD/ are not moved" in run("user", "rename", "--help").output
