"""One render at a time per output folder, and no writer outliving its render (issue 14.16)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.test_render import K8S, ROSTER, copy_repo
from tests.conftest import REPO, write

TENANCY = [sys.executable, "-m", "tenancy"]


def _environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "TENANCY_NO_CACHE": "1", **extra}


def test_a_second_render_waits_then_fails_clearly(workdir: Path) -> None:
    """While another process holds the output's lock, a render waits a bounded time, then
    leaves with exit 3 naming the lock, and writes nothing; once it is free, it renders."""
    write(workdir, "r.yaml", ROSTER)
    write(workdir, "k.yaml", K8S)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open('out.tenancy-lock', os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        cwd=workdir,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        command = [*TENANCY, "render", "--roster", "r.yaml", "--k8s-users", "k.yaml", "-o", "out"]
        env = _environment(TENANCY_LOCK_WAIT="1")
        blocked = subprocess.run(
            command, cwd=workdir, env=env, capture_output=True, text=True, check=False
        )
        assert blocked.returncode == 3, blocked.stderr
        assert "out.tenancy-lock" in blocked.stderr
        assert "Traceback" not in blocked.stderr
        assert not (workdir / "out").exists()
    finally:
        holder.communicate("")
    done = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (workdir / "out" / "INDEX.json").is_file()
    assert not (workdir / "out.tenancy-lock").exists()  # never left behind to be committed


def _children(pid: int) -> list[int]:
    """The processes `pid` forked (same command line), from /proc."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            same = (entry / "cmdline").read_bytes() == command
        except OSError:
            continue
        if same and int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def survivors() -> Iterator[list[int]]:
    """Processes this test started and must not leave running, whatever it finds."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


#: A parent that forks one tenancy child (as a render forks its writers and checks), says the
#: child's pid, and waits: the child never finishes by itself, so only its parent's death can
#: end it. Deterministic where a real render may finish before a test sees its children.
_PARENT = """
import os, sys, time
from tenancy.render import concurrent as forked
child = forked.start(lambda: time.sleep(3600))
print(child.pid, flush=True)
time.sleep(3600)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="forked writers and /proc are Linux's")
def test_killed_render_takes_its_writers_with_it(tmp_path: Path, survivors: list[int]) -> None:
    """A process killed with SIGKILL leaves no forked child running: the child of
    `concurrent.start` (what a render's judge, writers and checks are) dies with its parent; and
    a render of a folder whose last render was killed succeeds."""
    env = _environment(PYTHONPATH=str(REPO / "src"))
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT], env=env, stdout=subprocess.PIPE, text=True
    )
    survivors.append(parent.pid)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    survivors.append(child)
    assert _alive(child)
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "a forked child outlived its killed parent"
    repo = copy_repo(tmp_path)
    killed = subprocess.Popen([*TENANCY, "render"], cwd=repo, env=_environment())
    survivors.append(killed.pid)
    # Killed mid-render: once it has forked (its judge, writer or checks), not before it ran.
    deadline = time.monotonic() + 60
    forked = []
    while not forked and killed.poll() is None and time.monotonic() < deadline:
        forked = _children(killed.pid)
        time.sleep(0.01)
    survivors.extend(forked)
    assert forked, "the render never forked before it ended: nothing was killed mid-render"
    killed.kill()
    killed.wait()
    again = subprocess.run(
        [*TENANCY, "render"], cwd=repo, env=_environment(), capture_output=True, check=False
    )
    assert again.returncode == 0, again.stderr
    assert b"Traceback" not in again.stderr
