"""Work in a forked child (`tenancy.render.concurrent`): the same answer as in-process, and
in-process whenever the child fails."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tenancy.errors import Diagnostic, Location
from tenancy.render import concurrent
from tenancy.render.concurrent import FINDINGS

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


def all_of(*works: Callable[[], list[Diagnostic]]) -> Callable[[], list[Diagnostic]]:
    """The works one after the other, as one work (the checks' child runs three)."""
    return lambda: [d for work in works for d in work()]


@linux_only
def test_results_equal_the_in_process_answers() -> None:
    """Each work's findings come back from the child, every field intact, in the works' order."""
    assert concurrent.usable(), "another thread is running: the fork path would not be exercised"
    work = all_of(findings, nothing, other)
    running = concurrent.start(work, FINDINGS)
    assert running.pid is not None and not running.done
    assert running.result() == [*findings(), *other()]
    assert running.result() == concurrent.start(work, FINDINGS, fork=False).result()
    assert running.pid is None and running.fd is None


@linux_only
def test_works_run_in_another_process(tmp_path: Path) -> None:
    """Every work's own pid, written from inside it, is the child's, not this process's."""

    def recorder(name: str) -> Callable[[], list[Diagnostic]]:
        def work() -> list[Diagnostic]:
            (tmp_path / name).write_text(str(os.getpid()))
            return []

        return work

    assert concurrent.start(all_of(recorder("a"), recorder("b")), FINDINGS).result() == []
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

    running = concurrent.start(all_of(other, work), FINDINGS)
    assert running.pid is not None
    assert running.result() == [*OTHER, *FOUND]
    assert ran_in.read_text() == str(parent)


@linux_only
def test_child_sending_garbage_falls_back() -> None:
    """A child that exits 0 but reports findings that do not decode is not believed."""
    parent = os.getpid()

    def work() -> list[Diagnostic]:
        if os.getpid() != parent:
            return [Diagnostic(location=Location("x"), severity="fatal", code="c", message="m")]  # type: ignore[arg-type]
        return findings()

    assert concurrent.start(work, FINDINGS).result() == FOUND


@linux_only
@pytest.mark.parametrize("kind", ["findings", "value"])
def test_cancel_kills_a_running_child(tmp_path: Path, kind: str) -> None:
    """cancel() ends a child that would sleep a minute, at once, and reaps it (no zombie),
    whether it computes findings or a plain value."""
    started = tmp_path / "started"

    def work() -> list[Diagnostic]:
        started.write_text("yes")
        time.sleep(60)
        return []

    running = concurrent.start(work, FINDINGS) if kind == "findings" else concurrent.start(work)
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
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # killed and reaped already
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # no such process, not even a zombie


def test_without_fork_the_works_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where forking is not usable, start() runs the work in-process before returning."""
    monkeypatch.setattr(concurrent, "usable", lambda: False)
    calls: list[int] = []

    def work() -> list[Diagnostic]:
        calls.append(os.getpid())
        return findings()

    running = concurrent.start(all_of(work, other), FINDINGS)
    assert calls == [os.getpid()]
    assert running.pid is None and running.done and running.value == [*FOUND, *OTHER]
    assert running.result() == [*FOUND, *OTHER]
    assert calls == [os.getpid()]  # not run a second time
    running.cancel()  # nothing to stop


def test_fork_false_runs_the_work_here_at_once() -> None:
    """`fork=False` (an OPA server's client must not be shared) never starts a child."""
    running = concurrent.start(findings, FINDINGS, fork=False)
    assert running.pid is None and running.fd is None and running.done
    assert running.result() == FOUND


# --- plain values (the writers' shares) ------------------------------------------------------------

VALUE = {"files": {"a/ü.yaml": "0" * 64}, "written": 3, "same": [1.5, None, True], "s": "\\\n"}


@linux_only
def test_a_plain_value_returns_the_value_from_a_child(tmp_path: Path) -> None:
    """The work runs in a child (its pid is not this process's) and its plain value comes back
    intact; a second result() answers again without running anything."""
    assert concurrent.usable(), "another thread is running: the fork path would not be exercised"
    ran_in = tmp_path / "ran-in"

    def work() -> dict[str, object]:
        with ran_in.open("a") as file:
            file.write(f"{os.getpid()}\n")
        return {**VALUE, "pid": os.getpid()}

    running = concurrent.start(work)
    child = running.pid
    assert child is not None and child != os.getpid() and not running.done
    value = running.result()
    assert value == {**VALUE, "pid": child}
    assert running.result() is value
    assert ran_in.read_text() == f"{child}\n"  # run once, in the child
    assert running.pid is None and running.fd is None and running.done
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # reaped by result(): no zombie


@linux_only
def test_a_plain_value_runs_the_work_here_when_the_child_crashes(tmp_path: Path) -> None:
    """A child that dies (exit status 3) before reporting: result() runs the work in this
    process and returns its value."""
    parent = os.getpid()
    ran_in = tmp_path / "ran-in"

    def work() -> dict[str, object]:
        if os.getpid() != parent:
            os._exit(3)
        ran_in.write_text(str(os.getpid()))
        return VALUE

    running = concurrent.start(work)
    child = running.pid
    assert child is not None and not ran_in.exists()
    assert running.result() == VALUE
    assert ran_in.read_text() == str(parent)
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)


@linux_only
@pytest.mark.parametrize("sent", [b"", b"\xfb{", b"not marshal at all"])
def test_a_plain_value_does_not_believe_a_child_sending_garbage(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sent: bytes
) -> None:
    """A child that exits 0 after sending nothing, half an answer or no marshal data at all:
    result() runs the work here and returns its value, not what the child sent."""
    parent = os.getpid()
    pipes: list[tuple[int, int]] = []
    real_pipe = os.pipe

    def recorded_pipe() -> tuple[int, int]:
        ends = real_pipe()
        pipes.append(ends)
        return ends

    monkeypatch.setattr(os, "pipe", recorded_pipe)
    ran_in = tmp_path / "ran-in"

    def work() -> dict[str, object]:
        if os.getpid() != parent:  # the child: write straight into its pipe and leave, "well"
            os.write(pipes[-1][1], sent)
            os._exit(0)
        ran_in.write_text(str(os.getpid()))
        return VALUE

    running = concurrent.start(work)
    assert running.pid is not None and len(pipes) == 1
    assert running.result() == VALUE
    assert ran_in.read_text() == str(parent)


def test_without_fork_a_plain_value_is_computed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where forking is not usable, start runs the work before returning, here, once."""
    monkeypatch.setattr(concurrent, "usable", lambda: False)
    calls: list[int] = []

    def work() -> dict[str, object]:
        calls.append(os.getpid())
        return VALUE

    running = concurrent.start(work)
    assert calls == [os.getpid()]
    assert running.done and running.pid is None and running.fd is None
    assert running.result() == VALUE
    assert calls == [os.getpid()]  # not run a second time
    running.cancel()  # nothing to stop
    assert running.result() == VALUE
