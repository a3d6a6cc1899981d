"""Run computations in a forked child while this process goes on. Shell.

The audit of a large render is seconds of work inside regorus, which holds the GIL throughout,
and writing a tree is seconds of Python, so threads cannot overlap them. A forked child can:
it sees the plan as it is (copy-on-write, nothing to send), works, and sends back only its
findings (`start`, as JSON) or a small value (`start_value`, in marshal), while this process
writes files on the other CPU.

Only where `fork` is safe to use this way (Linux: no other threads are running at this point
of a render); elsewhere, and whenever the child fails to report, the work runs in-process, so
the answer never depends on the fork. The child leaves through `os._exit`: no inherited
buffers are flushed twice, no atexit handler of the parent runs. A child dies with its
parent (`PR_SET_PDEATHSIG`): a render killed with SIGKILL leaves no writer behind to race the
next render into the same folder.
"""

from __future__ import annotations

import ctypes
import functools
import json
import marshal
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenancy.errors import Diagnostic
from tenancy.render.cache import diagnostic, plain

Work = Callable[[], list[Diagnostic]]
Results = list[list[Diagnostic]]


def usable() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


@dataclass
class Forked:
    """Computations that are running (or done): `result` waits for them, one list each."""

    works: list[Work]
    pid: int | None = None
    fd: int | None = None
    done: Results | None = None

    def result(self) -> Results:
        if self.done is not None:
            return self.done
        pid, fd, self.pid, self.fd = self.pid, self.fd, None, None
        payload, status = _collect(pid, fd)
        found = _decode(payload, len(self.works)) if status == 0 else None
        # A child that crashed, was killed or sent nothing usable: do the work here instead.
        self.done = [work() for work in self.works] if found is None else found
        return self.done

    def cancel(self) -> None:
        _kill(self.pid, self.fd)
        self.pid = self.fd = None


def here(works: list[Work]) -> Forked:
    """Run the works now, in this process."""
    return Forked(works, done=[work() for work in works])


def start(works: list[Work]) -> Forked:
    """Start the works, one after the other, in a child process when that is safe (and there
    is any work), else run them now."""
    if not works or not usable():
        return here(works)
    pid, fd = _fork(lambda: json.dumps([[plain(d) for d in work()] for work in works]).encode())
    return Forked(works, pid=pid, fd=fd)


@dataclass
class Value:
    """One computation with a plain result (dicts, lists, strings, numbers), running in a
    child (or done): `result` waits. The result comes through `marshal`, the interpreter's
    own format for such values: this parent and its forked child are the same interpreter,
    and it reads 100,000 digests ten times faster than JSON does.

    Its work must be safe to run a second time after a child that died half-way (the parent
    then runs it itself), as the writing of one part of a tree is."""

    work: Callable[[], Any]
    pid: int | None = None
    fd: int | None = None
    done: bool = False
    value: Any = None

    def result(self) -> Any:
        if not self.done:
            pid, fd, self.pid, self.fd = self.pid, self.fd, None, None
            payload, status = _collect(pid, fd)
            found: Any = None
            ok = status == 0
            if ok:
                try:
                    found = marshal.loads(payload)
                except (ValueError, EOFError, TypeError):
                    ok = False
            self.value = found if ok else self.work()
            self.done = True
        return self.value

    def cancel(self) -> None:
        _kill(self.pid, self.fd)
        self.pid = self.fd = None


def start_value(work: Callable[[], Any]) -> Value:
    """Start `work` in a child when that is safe, else run it now."""
    if not usable():
        return Value(work, done=True, value=work())
    pid, fd = _fork(lambda: marshal.dumps(work()))
    return Value(work, pid=pid, fd=fd)


def _fork(produce: Callable[[], bytes]) -> tuple[int, int]:
    """A child that sends `produce()` down a pipe and leaves: its pid and the pipe's end."""
    sys.stdout.flush()
    sys.stderr.flush()
    libc = _libc()  # loaded here: the child only calls it
    parent = os.getpid()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, report, leave without running any of the parent's exits
        status = 1
        try:
            _die_with(parent, libc)
            os.close(read_fd)
            view = memoryview(produce())
            while view:
                view = view[os.write(write_fd, view) :]
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    return pid, read_fd


#: prctl(2)'s option: the signal this process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _die_with(parent: int, libc: ctypes.CDLL | None) -> None:
    """In a child just forked: be killed with the parent, and leave now if the parent is
    already gone (it died before the request took effect; then this child was re-parented)."""
    if libc is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _collect(pid: int | None, fd: int | None) -> tuple[bytes, int]:
    """Everything the child sent and its exit status (1 when there was no child)."""
    chunks = []
    if fd is not None:
        try:
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
        finally:
            os.close(fd)
    status = 1
    if pid is not None:
        _, status = os.waitpid(pid, 0)
    return b"".join(chunks), status


def _kill(pid: int | None, fd: int | None) -> None:
    if pid is not None:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    if fd is not None:
        os.close(fd)


def _decode(payload: bytes, count: int) -> Results | None:
    try:
        lists = json.loads(payload)
        if not isinstance(lists, list) or len(lists) != count:
            return None
        return [[diagnostic(item) for item in items] for items in lists]
    except (ValueError, TypeError, KeyError):
        return None
