"""Read files from a git revision or the working tree. Shell: runs git.

`diff` compares two revisions by reading every input afresh from git; the committed manifests
are never trusted. A revision is any git revision expression; `None` means the working tree.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tenancy.errors import RepoError

TIMEOUT = 60


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, timeout=TIMEOUT, check=False
        )
    except FileNotFoundError as exc:
        raise RepoError("git is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise RepoError(f"git {' '.join(args)} timed out") from exc
    if check and result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise RepoError(f"git {' '.join(args)}: {message}")
    return result


def toplevel(start: Path) -> Path:
    result = _git(start, "rev-parse", "--show-toplevel", check=False)
    if result.returncode != 0:
        raise RepoError(f"{start} is not inside a git repository")
    return Path(result.stdout.decode().strip())


def remote_url(folder: Path, remote: str = "origin") -> str | None:
    """The URL of a remote of the git repository `folder` is in, or None (no repository, no
    such remote, or no git at all: `init` then asks for nothing and writes no URL)."""
    try:
        result = _git(folder, "remote", "get-url", remote, check=False)
    except RepoError:
        return None
    url = result.stdout.decode("utf-8", "replace").strip()
    return url if result.returncode == 0 and url else None


def resolve(repo: Path, rev: str) -> str:
    """The full commit id of a revision expression."""
    result = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    if result.returncode != 0:
        raise RepoError(f"unknown revision {rev!r}")
    return result.stdout.decode().strip()


def default_base(repo: Path) -> str:
    """The merge-base of HEAD with the default branch (origin's HEAD, else main or master)."""
    candidates = []
    head = _git(repo, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD", check=False)
    if head.returncode == 0:
        candidates.append(head.stdout.decode().strip())
    candidates += ["origin/main", "origin/master", "main", "master"]
    for branch in candidates:
        if _git(repo, "rev-parse", "--verify", "--quiet", branch, check=False).returncode != 0:
            continue
        base = _git(repo, "merge-base", "HEAD", branch, check=False)
        if base.returncode == 0:
            return base.stdout.decode().strip()
    raise RepoError("no default branch (origin/HEAD, main or master) to diff against; name BASE")


@dataclass(frozen=True, slots=True)
class Tree:
    """Files of one revision (or the working tree), read on demand."""

    repo: Path
    rev: str | None  # None: the working tree

    @property
    def label(self) -> str:
        return self.rev[:12] if self.rev else "worktree"

    def read(self, path: str) -> bytes | None:
        """A file's bytes, or None when it does not exist at this revision."""
        if self.rev is None:
            target = self.repo / path
            return target.read_bytes() if target.is_file() else None
        result = _git(self.repo, "show", f"{self.rev}:{path}", check=False)
        return result.stdout if result.returncode == 0 else None

    def listing(self, folder: str) -> list[str]:
        """Files below a folder (repository-relative paths), sorted."""
        if self.rev is None:
            root = self.repo / folder
            if not root.is_dir():
                return []
            return sorted(
                p.relative_to(self.repo).as_posix() for p in root.rglob("*") if p.is_file()
            )
        result = _git(
            self.repo, "ls-tree", "-r", "--name-only", self.rev, "--", folder, check=False
        )
        if result.returncode != 0:
            return []
        return sorted(line for line in result.stdout.decode().splitlines() if line)
