"""`tenancy render` with a warm cache: the memo answers only what a fresh render would answer."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tenancy.cli import cli
from tests.acceptance.test_render import copy_repo
from tests.conftest import RunCli

EDITED = "kubernetes/cluster/clusterrole-tenancy-power-user.yaml"
GABI = "kubernetes/tenants/gabi/gabi/namespace-gabi.yaml"
#: A rendered-stage package that never fires, and the same package made to fire on any tree.
QUIET = """# METADATA
# title: Site rule
# custom:
#   stage: rendered
#   kinds: [Namespace]
package site_rule

# METADATA
# title: Always denied
# custom:
#   code: site-always-denied
deny contains {"code": "site-always-denied", "msg": "the site forbids every render"} if false
"""
LOUD = QUIET.replace(" if false\n", " if true\n")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache warmed by rendering the example once: its checks and its render memo (the memo
    ignores where a checkout lives), so a test's copy of the example starts warm."""
    folder = tmp_path_factory.mktemp("seed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TENANCY_CACHE_DIR", str(folder / "cache"))
        patch.chdir(copy_repo(folder))
        result = CliRunner().invoke(cli, ["render"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return folder / "cache"


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeded: Path) -> Path:
    """Each test has a cache of its own, a copy of the seed: no test sees another's entries."""
    folder = tmp_path / "cache"
    shutil.copytree(seeded, folder)
    monkeypatch.setenv("TENANCY_CACHE_DIR", str(folder))
    monkeypatch.delenv("TENANCY_NO_CACHE", raising=False)
    return folder


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of the real planner, where every render starts (it still runs): a memo
    answer plans nothing."""
    from tenancy.render import command

    calls: list[int] = []
    real = command.plan_tree

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(command, "plan_tree", counted)
    return calls


@pytest.fixture
def repo(tmp_path: Path, run: RunCli) -> Path:
    """A copy of the example repository, rendered once with this test's cache."""
    target = copy_repo(tmp_path)
    result = run("render", cwd=target)
    assert result.exit_code == 0, result.output
    return target


class Checker:
    """Runs `render --check -f json` and tells whether the tree was rendered for the answer."""

    def __init__(self, run: RunCli, repo: Path, renders: list[int]) -> None:
        self.run, self.repo, self.renders = run, repo, renders
        self.memo_answered = False

    def __call__(self, *extra: str) -> tuple[Result, list[dict[str, Any]]]:
        before = len(self.renders)
        result = self.run("render", "--check", "-f", "json", *extra, cwd=self.repo)
        self.memo_answered = len(self.renders) == before
        return result, json.loads(result.stdout)["diagnostics"]

    def same_without_cache(self, warm: Result, found: list[dict[str, Any]]) -> None:
        """--no-cache renders afresh and gives the same exit code and the same diagnostics."""
        cold, cold_found = self("--no-cache")
        assert not self.memo_answered
        assert cold.exit_code == warm.exit_code
        assert cold_found == found


@pytest.fixture
def check(run: RunCli, repo: Path, renders: list[int]) -> Checker:
    return Checker(run, repo, renders)


def drift(diagnostics: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(d["file"], d["code"]) for d in diagnostics if d["code"].startswith("render-")}


def test_check_after_render_is_answered_from_the_memo(
    run: RunCli, tmp_path: Path, renders: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """From an empty cache: render, then render --check and render are clean and render nothing."""
    monkeypatch.setenv("TENANCY_CACHE_DIR", str(tmp_path / "empty-cache"))
    repo = copy_repo(tmp_path)
    check = Checker(run, repo, renders)
    assert run("render", cwd=repo).exit_code == 0
    assert len(renders) == 1
    result, found = check()
    assert result.exit_code == 0, result.output
    assert check.memo_answered
    assert drift(found) == set()
    again = run("render", cwd=repo)
    assert again.exit_code == 0
    assert len(renders) == 1
    assert "identical inputs were rendered before" in again.stderr


def test_hand_edit_is_found_on_the_warm_path_and_repaired(
    run: RunCli, repo: Path, check: Checker
) -> None:
    """An edited rendered file fails the warm check as render-modified; render restores it."""
    path = repo / "manifests" / EDITED
    original = path.read_bytes()
    path.write_bytes(original.replace(b"- get", b"- got", 1))
    result, found = check()
    assert result.exit_code == 1
    assert check.memo_answered
    assert drift(found) == {(f"manifests/{EDITED}", "render-modified")}
    check.same_without_cache(result, found)
    repaired = run("render", cwd=repo)
    assert repaired.exit_code == 0
    assert "1 written" in repaired.stderr
    assert path.read_bytes() == original
    result, found = check()
    assert (result.exit_code, drift(found)) == (0, set())
    assert check.memo_answered


def test_deleted_file_is_missing_on_the_warm_path(run: RunCli, repo: Path, check: Checker) -> None:
    """A deleted rendered file is render-missing on the warm path, as on a fresh render."""
    (repo / "manifests" / GABI).unlink()
    result, found = check()
    assert result.exit_code == 1
    assert check.memo_answered
    assert drift(found) == {(f"manifests/{GABI}", "render-missing")}
    check.same_without_cache(result, found)
    assert run("render", cwd=repo).exit_code == 0
    assert (repo / "manifests" / GABI).is_file()


def test_orphans_are_found_on_the_warm_path(
    run: RunCli, repo: Path, check: Checker, tmp_path: Path
) -> None:
    """An old tree still holding a removed user's files: orphans and all, same as uncached."""
    old_tree = tmp_path / "old-tree"
    shutil.copytree(repo / "manifests", old_tree)
    k8s = repo / "tenants/k8s_users.yaml"
    k8s.write_text(k8s.read_text().split("# Cluster-only namespace-owner")[0])  # gabi leaves
    assert run("render", cwd=repo).exit_code == 0
    assert not (repo / "manifests" / GABI).exists()
    shutil.rmtree(repo / "manifests")
    shutil.copytree(old_tree, repo / "manifests")  # the tree from before gabi left

    result, found = check()
    assert result.exit_code == 1
    assert check.memo_answered
    found_drift = drift(found)
    assert (f"manifests/{GABI}", "render-orphan") in found_drift
    assert ("manifests/INDEX.json", "render-modified") in found_drift
    gabi = {file for file, _ in found_drift if "gabi" in file}
    assert len(gabi) > 5
    assert {code for file, code in found_drift if file in gabi} == {"render-orphan"}
    check.same_without_cache(result, found)


def test_no_cache_gives_the_same_clean_answer(run: RunCli, repo: Path, check: Checker) -> None:
    """--no-cache (or TENANCY_NO_CACHE=1) checks afresh and reports what the cached run does."""
    result, found = check()
    assert result.exit_code == 0 and check.memo_answered
    check.same_without_cache(result, found)
    before = len(check.renders)
    by_env = run("render", "--check", cwd=repo, env={"TENANCY_NO_CACHE": "1"})
    assert by_env.exit_code == 0
    assert len(check.renders) == before + 1


def with_site_policy(repo: Path, text: str) -> Path:
    rule = repo / "site-policies" / "site_rule" / "site_rule.rego"
    rule.parent.mkdir(parents=True, exist_ok=True)
    rule.write_text(text, encoding="utf-8")
    config = repo / "tenancy.yaml"
    if "site-policies" not in config.read_text():
        config.write_text(config.read_text() + "policies: [site-policies]\n")
    return rule


def test_policy_change_is_not_hidden_by_the_memo(
    run: RunCli, tmp_path: Path, renders: list[int]
) -> None:
    """A site's rendered-stage rule that starts firing fails the next check of identical inputs."""
    repo = copy_repo(tmp_path)
    rule = with_site_policy(repo, QUIET)
    check = Checker(run, repo, renders)
    assert run("render", cwd=repo).exit_code == 0
    result, _ = check()
    assert result.exit_code == 0 and check.memo_answered

    rule.write_text(LOUD, encoding="utf-8")
    result, found = check()
    assert result.exit_code == 1, result.output
    assert [d["code"] for d in found if d["severity"] == "error"] == ["site-always-denied"]
    assert drift(found) == set()

    rule.write_text(QUIET, encoding="utf-8")  # and back: the earlier answer is reused
    result, found = check()
    assert result.exit_code == 0 and check.memo_answered


def test_failed_checks_leave_the_old_tree_alone(run: RunCli, tmp_path: Path) -> None:
    """A render whose checks fail swaps nothing in and leaves no staging tree behind."""
    repo = copy_repo(tmp_path)
    with_site_policy(repo, LOUD)
    manifests = repo / "manifests"
    before = {p: p.read_bytes() for p in manifests.rglob("*") if p.is_file()}
    k8s = repo / "tenants/k8s_users.yaml"
    k8s.write_text(k8s.read_text().replace('pods: "10"', 'pods: "12"'))  # something to write
    result = run("render", cwd=repo)
    assert result.exit_code == 1
    assert "site-always-denied" in result.output
    assert {p: p.read_bytes() for p in manifests.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in repo.iterdir() if p.name.startswith("manifests")) == ["manifests"]


def test_timings_go_to_stderr(tmp_path: Path) -> None:
    """--timings prints one `timing:` line per stage and a total to stderr, nothing to stdout."""
    repo = copy_repo(tmp_path)
    tenancy = str(Path(sys.executable).parent / "tenancy")
    done = subprocess.run(
        [tenancy, "render", "--timings", "--no-cache"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    timings = [line for line in done.stderr.splitlines() if line.startswith("timing:")]
    names = [line.split()[1] for line in timings]
    assert names[-1] == "total" and names.count("total") == 1
    assert {"validate", "model", "plan", "write", "swap"} <= set(names), done.stderr
    assert "timing:" not in done.stdout
    quiet = subprocess.run(
        [tenancy, "render", "--check"], cwd=repo, capture_output=True, text=True, check=False
    )
    assert quiet.returncode == 0
    assert "timing:" not in quiet.stdout + quiet.stderr


def test_timings_follow_the_current_stderr(run: RunCli, tmp_path: Path) -> None:
    """--timings writes to the stderr of the run, like every other message of the CLI."""
    repo = copy_repo(tmp_path)
    result = run("render", "--timings", cwd=repo)
    assert result.exit_code == 0
    assert "timing: total" in result.stderr
