"""Reading files from git revisions and the working tree."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tenancy.errors import RepoError
from tenancy.inputs import git


def sh(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@x.org", *args],
        check=True,
        capture_output=True,
    )


def test_tree_reads_revisions_and_worktree(tmp_path: Path) -> None:
    """A revision's file content, the working tree's, and absence are all distinguished."""
    sh(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "a.txt").write_text("one\n")
    sh(tmp_path, "add", "a.txt")
    sh(tmp_path, "commit", "-qm", "1")
    (tmp_path / "a.txt").write_text("two\n")
    head = git.resolve(tmp_path, "HEAD")
    assert git.Tree(tmp_path, head).read("a.txt") == b"one\n"
    assert git.Tree(tmp_path, None).read("a.txt") == b"two\n"
    assert git.Tree(tmp_path, head).read("missing.txt") is None
    assert git.Tree(tmp_path, head).listing(".") == ["a.txt"]
    assert git.default_base(tmp_path) == head
    assert git.toplevel(tmp_path / ".").resolve() == tmp_path.resolve()


def test_errors_are_repo_errors(tmp_path: Path) -> None:
    """Outside a repository or with an unknown revision, git errors become RepoError."""
    with pytest.raises(RepoError, match="not inside a git repository"):
        git.toplevel(tmp_path)
    sh(tmp_path, "init", "-q", "-b", "main")
    with pytest.raises(RepoError, match="unknown revision"):
        git.resolve(tmp_path, "nope")
