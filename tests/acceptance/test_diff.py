"""`tenancy diff`, `explain` and `who-can` against real git repositories in temporary folders."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, RunCli


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A throwaway tenancy repository on branch main with one commit (the example inputs)."""
    target = tmp_path / "repo"
    target.mkdir()
    shutil.copy(REPO / "tenancy.yaml", target / "tenancy.yaml")
    shutil.copytree(REPO / "tenants", target / "tenants")
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-qm", "base")
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def test_working_tree_against_default_branch(run: RunCli, repo: Path) -> None:
    """With no arguments, the working tree is compared with the merge-base of main."""
    git(repo, "checkout", "-qb", "feature")
    edit(repo / "tenants/k8s_users.yaml", 'pods: "10"', 'pods: "40"')
    result = run("diff", "-f", "json", cwd=repo)
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["head"] == "worktree"
    (person,) = document["people"]
    assert person["id"] == "dara"
    assert person["changes"] == [
        {"kind": "quota", "detail": "pods", "before": "10", "after": "40", "severity": "high"}
    ]


def test_two_commits_and_fail_on(run: RunCli, repo: Path) -> None:
    """BASE and HEAD commits are read from git; --fail-on sets the exit code."""
    edit(repo / "tenants/k8s_users.yaml", "brin:\n  role: power-user", "brin:\n  role: admin")
    edit(
        repo / "tenants/roster.yaml",
        "k8s_user: brin, tier: power-user",
        "k8s_user: brin, tier: admin",
    )
    edit(repo / "tenancy.yaml", "admins: [ada]", "admins: [ada, brin]")
    git(repo, "commit", "-qam", "brin becomes admin")
    (repo / "tenants/roster.yaml").write_text("garbage: [\n")  # the working tree must not matter
    result = run("diff", "HEAD~1", "HEAD", "--fail-on", "critical", cwd=repo)
    assert result.exit_code == 1
    assert "brin" in result.output
    assert "[critical] gains * on * cluster-wide" in result.output
    assert run("diff", "HEAD~1", "HEAD", cwd=repo).exit_code == 0


def test_invalid_revision_is_reported_and_still_diffed(run: RunCli, repo: Path) -> None:
    """A head that fails policy is named with its findings, and its changes still show."""
    edit(repo / "tenants/k8s_users.yaml", "namespaces: [gabi]", "namespaces: [gabi, kube-system]")
    result = run("diff", "main", "-f", "markdown", cwd=repo)
    assert "**worktree does not validate**" in result.output
    assert "namespace-reserved" in result.output
    assert "gains namespace kube-system" in result.output


BROKEN_HEADS = {
    "invalid-yaml": ("role: power-user", "role: admin\nzed: ["),
    "invalid-value": (
        "brin:\n  role: power-user",
        "brin:\n  role: admin\ndara2:\n  role: superuser",
    ),
}


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
@pytest.mark.parametrize("broken", sorted(BROKEN_HEADS))
def test_a_head_that_does_not_validate_never_passes_the_gate(
    run: RunCli, repo: Path, broken: str, fmt: str
) -> None:
    """Broken input beside a real access change (brin becomes admin) is reported with its
    diagnostics and exits 1, in every format: never `0 people affected` and exit 0."""
    old, new = BROKEN_HEADS[broken]
    edit(repo / "tenants/k8s_users.yaml", old, new)
    result = run("diff", "main", "-f", fmt, "--fail-on", "critical", cwd=repo)
    assert result.exit_code == 1
    code = "yaml-syntax" if broken == "invalid-yaml" else "schema-"
    assert code in result.output
    assert "worktree" in result.output


def test_a_base_that_does_not_validate_fails_too(run: RunCli, repo: Path) -> None:
    """Either side counts: a base revision that does not load is reported, exit 1."""
    edit(repo / "tenants/roster.yaml", "users:", "zed: [\nusers:")
    git(repo, "commit", "-qam", "break the roster")
    (repo / "tenants/roster.yaml").write_text((REPO / "tenants/roster.yaml").read_text())
    result = run("diff", "HEAD", "-f", "json", cwd=repo)
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert any("yaml-syntax" in line for line in document["problems"][document["base"]])


def test_comment_only_change_is_info(run: RunCli, repo: Path) -> None:
    """Editing only comments changes nobody's access; it is listed as info."""
    path = repo / "tenants/k8s_users.yaml"
    path.write_text("# reviewed 2026-11\n" + path.read_text())
    document = json.loads(run("diff", "main", "-f", "json", cwd=repo).output)
    assert document["people"] == []
    assert [o["severity"] for o in document["other"]] == ["info"]


def test_unknown_revision_is_a_usage_error(repo: Path) -> None:
    """A revision git does not know is a mistake on the command line: exit 2, a clear message."""
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "tenancy", "diff", "no-such-rev"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown revision 'no-such-rev'" in result.stderr
    assert "Traceback" not in result.stderr


def test_explain_and_who_can(run: RunCli) -> None:
    """explain prints one person's access; who-can answers from the rendered objects."""
    explained = run("explain", "cleom", "-f", "json", cwd=REPO)
    person = json.loads(explained.output)
    assert person["id"] == "cleo"
    assert person["namespaces"] == ["cleo", "cleo-books"]
    assert {"scope": "cleo", "resource": "secrets", "verb": "get"} in person["kubernetes"]
    assert {"path": "secret/data/cleo/*", "capability": "read"} in person["vault"]
    who = json.loads(run("who-can", "get", "secrets", "-n", "dara", "-f", "json", cwd=REPO).output)
    assert [entry["id"] for entry in who] == ["ada", "dara"]
    assert run("explain", "nobody", cwd=REPO).exit_code == 2


def test_a_worktree_input_outside_the_repository_is_never_read(
    run: RunCli, repo: Path, tmp_path: Path
) -> None:
    """`diff -f markdown` (the PR comment) never prints a file outside the repository, whether
    the config names it or a symlink leads to it."""
    secret = tmp_path / "token"
    secret.write_text("hvs.CAESIJ0123456789abcdefghijklmnop\n")
    (repo / "tenants/k8s_users.yaml").unlink()
    (repo / "tenants/k8s_users.yaml").symlink_to(secret)
    result = run("diff", "main", "-f", "markdown", cwd=repo)
    assert result.exit_code == 1
    assert "hvs." not in result.output
    assert "input-outside-repository" in result.output
    edit(repo / "tenancy.yaml", "k8s_users: tenants/k8s_users.yaml", f"k8s_users: {secret}")
    result = run("diff", "main", "-f", "markdown", cwd=repo)
    assert result.exit_code == 1
    assert "hvs." not in result.output
    assert "input-outside-repository" in result.output


def test_offboarding_a_namespace_says_what_the_sync_does(run: RunCli, repo: Path) -> None:
    """cleo-books leaves cleo's namespaces: the diff says the sync keeps the Namespace and its
    workloads but prunes its guardrails and cleo's RoleBinding (high, not "deleted"); with
    the namespace quarantined in the same change, it says the workloads are cut off and the
    owner loses access (medium), and --fail-on high passes."""
    edit(repo / "tenants/k8s_users.yaml", "namespaces: [cleo, cleo-books]", "namespaces: [cleo]")
    edit(repo / "tenants/roster.yaml", "namespaces: [cleo, cleo-books]", "namespaces: [cleo]")
    git(repo, "commit", "-qam", "cleo-books leaves k8s_users")
    result = run("diff", "HEAD~1", "HEAD", "--fail-on", "high", cwd=repo)
    assert result.exit_code == 1
    assert "[high] namespace cleo-books removed: the sync keeps the Namespace and its " in (
        result.output
    )
    assert "RoleBinding tenancy-namespace-owner-cleo goes" in result.output
    assert "add it to quarantine in tenancy.yaml, or retire it" in result.output
    assert "deletes" not in result.output
    document = json.loads(run("diff", "HEAD~1", "HEAD", "-f", "json", cwd=repo).output)
    (cleo,) = [p for p in document["people"] if p["id"] == "cleo"]
    (lost,) = [c for c in cleo["changes"] if c["kind"] == "namespace-lost"]
    assert (lost["severity"], lost["outcome"]) == ("high", "unguarded")
    assert "NetworkPolicy/default-deny" in lost["pruned"]
    assert "RoleBinding/tenancy-namespace-owner-cleo" in lost["pruned"]

    text = (repo / "tenancy.yaml").read_text()
    (repo / "tenancy.yaml").write_text(
        text + "quarantine:\n  cleo-books: {tenant: cleo, since: 2026-12-01, reason: OPS-12}\n"
    )
    git(repo, "commit", "-qam", "quarantine cleo-books")
    result = run("diff", "HEAD~2", "HEAD", "--fail-on", "high", cwd=repo)
    assert result.exit_code == 0, result.output
    assert "[medium] namespace cleo-books moved into quarantine: its workloads keep running " in (
        result.output
    )
    assert "and the owner loses all access" in result.output
    document = json.loads(run("diff", "HEAD~2", "HEAD", "-f", "json", cwd=repo).output)
    (cleo,) = [p for p in document["people"] if p["id"] == "cleo"]
    (lost,) = [c for c in cleo["changes"] if c["kind"] == "namespace-lost"]
    assert (lost["severity"], lost["outcome"]) == ("medium", "quarantined")
    assert "NetworkPolicy/default-deny" not in lost["pruned"]
    assert "RoleBinding/tenancy-namespace-owner-cleo" in lost["pruned"]
    # The quarantine alone (HEAD~1..HEAD) is a config change that guards a kept namespace.
    result = run("diff", "HEAD~1", "HEAD", "-f", "json", cwd=repo)
    kinds = {o["kind"] for o in json.loads(result.output)["other"]}
    assert "quarantine-added" in kinds


def test_files_hand_added_to_synced_folders_are_findings(run: RunCli, repo: Path) -> None:
    """A committed file in a folder the cluster syncs that the render does not make (a
    ClusterRoleBinding, Argo CD's parameter override file) is a high finding naming it: the
    sync applies it, though no input grants it. The render's own files are not."""
    shutil.copytree(REPO / "manifests", repo / "manifests")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the committed render")
    assert run("diff", "HEAD~1", "HEAD", "--fail-on", "high", cwd=repo).exit_code == 0
    cluster = repo / "manifests/kubernetes/cluster"
    (cluster / "clusterrolebinding-sneaky.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        "metadata: {name: sneaky}\nroleRef: {apiGroup: rbac.authorization.k8s.io, "
        "kind: ClusterRole, name: cluster-admin}\n"
        "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: eve@example.org}]\n"
    )
    (cluster / ".argocd-source-tenancy-cluster.yaml").write_text("kustomize: {}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a hand-made binding")
    result = run("diff", "HEAD~1", "HEAD", "--fail-on", "high", "-f", "json", cwd=repo)
    assert result.exit_code == 1
    found = {o["path"]: o for o in json.loads(result.output)["other"]}
    assert set(found) == {
        "manifests/kubernetes/cluster/.argocd-source-tenancy-cluster.yaml",
        "manifests/kubernetes/cluster/clusterrolebinding-sneaky.yaml",
    }
    assert {o["severity"] for o in found.values()} == {"high"}
