"""Work in a forked child: the same answer as in-process, and in-process whenever the child fails."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tenancy import forked
from tenancy.errors import Diagnostic, Location

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="the checks fork only on Linux")

FOUND = [
    Diagnostic(
        location=Location("out/kubernetes/a.yaml", 4, 5, rev="HEAD"),
        severity="error",
        code="power-user-forbidden-access",
        message='grants "secrets" \\ to ünïcode',
        hint=None,
        source="policy",
        waived=True,
        related=(Location("tenants/k8s_users.yaml", 2, 3),),
        subject="objects.0.object.rules",
    ),
    Diagnostic(location=Location("out"), severity="info", code="note", message="m", hint="h"),
]
OTHER = [Diagnostic(location=Location("out/b.yaml", 2), severity="warning", code="w", message="")]


def findings() -> list[Diagnostic]:
    return list(FOUND)


def other() -> list[Diagnostic]:
    return list(OTHER)


def nothing() -> list[Diagnostic]:
    return []


@linux_only
def test_results_equal_the_in_process_answers() -> None:
    """Each work's findings come back from the child, every field intact, in the works' order."""
    assert forked.usable(), "another thread is running: the fork path would not be exercised"
    running = forked.start([findings, nothing, other])
    assert running.pid is not None and running.done is None
    assert running.result() == [findings(), [], other()]
    assert running.result() == forked.here([findings, nothing, other]).result()
    assert running.pid is None and running.fd is None


@linux_only
def test_works_run_in_another_process(tmp_path: Path) -> None:
    """Every work's own pid, written from inside it, is the child's, not this process's."""

    def recorder(name: str) -> forked.Work:
        def work() -> list[Diagnostic]:
            (tmp_path / name).write_text(str(os.getpid()))
            return []

        return work

    assert forked.start([recorder("a"), recorder("b")]).result() == [[], []]
    pids = {int((tmp_path / name).read_text()) for name in ("a", "b")}
    assert len(pids) == 1  # one child, the works one after the other
    assert pids != {os.getpid()}


@linux_only
def test_crashed_child_falls_back_to_running_here(tmp_path: Path) -> None:
    """A child that dies without reporting: the works run in-process and their answers return."""
    parent = os.getpid()
    ran_in = tmp_path / "ran-in"

    def work() -> list[Diagnostic]:
        if os.getpid() != parent:
            os._exit(3)
        ran_in.write_text(str(os.getpid()))
        return findings()

    running = forked.start([other, work])
    assert running.pid is not None
    assert running.result() == [OTHER, FOUND]
    assert ran_in.read_text() == str(parent)


@linux_only
def test_child_sending_garbage_falls_back() -> None:
    """A child that exits 0 but reports findings that do not decode is not believed."""
    parent = os.getpid()

    def work() -> list[Diagnostic]:
        if os.getpid() != parent:
            return [Diagnostic(location=Location("x"), severity="fatal", code="c", message="m")]  # type: ignore[arg-type]
        return findings()

    assert forked.start([work]).result() == [FOUND]


@linux_only
def test_cancel_kills_a_running_child(tmp_path: Path) -> None:
    """cancel() ends a child that would sleep a minute, at once, and reaps it."""
    started = tmp_path / "started"

    def work() -> list[Diagnostic]:
        started.write_text("yes")
        time.sleep(60)
        return []

    running = forked.start([work])
    pid = running.pid
    assert pid is not None
    deadline = time.monotonic() + 5
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started.exists(), "the child never started its work"
    begin = time.monotonic()
    running.cancel()
    assert time.monotonic() - begin < 2
    assert running.pid is None and running.fd is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped: no such process (not even a zombie)


def test_without_fork_the_works_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where forking is not usable, start() runs the works in-process before returning."""
    monkeypatch.setattr(forked, "usable", lambda: False)
    calls: list[int] = []

    def work() -> list[Diagnostic]:
        calls.append(os.getpid())
        return findings()

    running = forked.start([work, other])
    assert calls == [os.getpid()]
    assert running.pid is None and running.done == [FOUND, OTHER]
    assert running.result() == [FOUND, OTHER]
    assert calls == [os.getpid()]  # not run a second time
    running.cancel()  # nothing to stop


def test_no_works_start_no_child() -> None:
    """With nothing to compute, nothing is forked and the answer is an empty list."""
    running = forked.start([])
    assert running.pid is None and running.fd is None
    assert running.result() == []
