"""A render that cannot write says where and why (exit 3), and leaves the output as it was
(issue 14.15). Run as separate processes: exit 3 is `tenancy.cli.main`'s."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

from tests.acceptance.test_render import K8S, ROSTER
from tests.conftest import write

RENDER = [sys.executable, "-m", "tenancy", "render", "--roster", "r.yaml", "--k8s-users", "k.yaml"]
ENV = {**os.environ, "TENANCY_NO_CACHE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
NAMESPACE = "kubernetes/tenants/cleo/cleo/namespace-cleo.yaml"


def _render(folder: Path, *args: str, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    def small_files() -> None:  # a file may not grow past `limit` bytes (EFBIG)
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [*RENDER, *args],
        cwd=folder,
        env=ENV,
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        check=False,
    )


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _rendered(workdir: Path) -> dict[str, bytes]:
    write(workdir, "r.yaml", ROSTER)
    write(workdir, "k.yaml", K8S)
    first = _render(workdir, "-o", "out")
    assert first.returncode == 0, first.stderr
    # Change the inputs, so the next render has files to write.
    write(workdir, "k.yaml", K8S.replace("cleo98@example.org", "cleo@example.org"))
    return _tree(workdir / "out")


def _environment_error(result: subprocess.CompletedProcess[str], *named: str) -> None:
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    for text in named:
        assert text in result.stderr


def test_full_disk_leaves_the_old_tree(workdir: Path) -> None:
    """Writes that fail part-way (RLIMIT_FSIZE's EFBIG standing for ENOSPC, a full disk: no
    small file system can be made here) end the render with exit 3 naming the file, and
    the old tree is left whole, with nothing staged beside it."""
    before = _rendered(workdir)
    result = _render(workdir, "-o", "out", limit=2048)
    _environment_error(result, "cannot write out", "INDEX.json")
    assert _tree(workdir / "out") == before
    assert sorted(p.name for p in workdir.iterdir()) == ["k.yaml", "out", "r.yaml"]


def test_unwritable_output_is_an_environment_error(workdir: Path) -> None:
    """An output that cannot be made (a file where its parent folder should be; it stands for a
    read-only folder, which root, running these tests, can write anyway) is exit 3 naming it."""
    write(workdir, "r.yaml", ROSTER)
    write(workdir, "k.yaml", K8S)
    (workdir / "blocker").write_text("a file, not a folder\n")
    result = _render(workdir, "-o", "blocker/out")
    _environment_error(result, "blocker")
    assert (workdir / "blocker").read_text() == "a file, not a folder\n"


def test_symlinked_output_is_refused_and_an_old_broken_swap_is_repaired(workdir: Path) -> None:
    """An output that is a symbolic link is refused up front (the swap would replace the link
    with a folder), nothing changed; a link left as the backup by an earlier swap is removed,
    never followed."""
    before = _rendered(workdir)
    (workdir / "out").rename(workdir / "real")
    (workdir / "out").symlink_to("real")
    result = _render(workdir, "-o", "out")
    _environment_error(result, "symbolic link", "out")
    assert (workdir / "out").is_symlink()
    assert _tree(workdir / "real") == before
    # The state an earlier version left: the real tree in place, the link as its backup.
    (workdir / "out").unlink()
    (workdir / "elsewhere").mkdir()
    (workdir / "elsewhere" / "keep.txt").write_text("not tenancy's\n")
    (workdir / "real").rename(workdir / "out")
    (workdir / "out.tenancy-old").symlink_to("elsewhere")
    fixed = _render(workdir, "-o", "out")
    assert fixed.returncode == 0, fixed.stderr
    assert not os.path.lexists(workdir / "out.tenancy-old")
    assert (workdir / "elsewhere" / "keep.txt").read_text() == "not tenancy's\n"


def test_folder_where_a_file_is_rendered_is_located(workdir: Path) -> None:
    """A hand-made folder standing where the render puts a file is an error naming that path;
    the tree is left as it was."""
    _rendered(workdir)
    (workdir / "out" / NAMESPACE).unlink()
    (workdir / "out" / NAMESPACE).mkdir()
    (workdir / "out" / NAMESPACE / "notes.txt").write_text("mine\n")
    before = _tree(workdir / "out")
    result = _render(workdir, "-o", "out")
    _environment_error(result, NAMESPACE)
    assert _tree(workdir / "out") == before
