"""Work in a forked child while this process goes on: the one place the render forks. Shell.

The policy judge, the audit of a large render and the writing of a tree are each seconds of
work that holds the GIL (regorus, or plain Python), so threads cannot overlap them. A forked
child can: it sees this process's memory as it was at the fork (copy-on-write, nothing to
send), works, and sends back only its answer, while this process goes on on the other CPU.

One interface for all of them: `start(work, codec)` returns a `Task`; `Task.result()` waits for
the answer and `Task.cancel()` kills the child. The answer travels in `marshal` (the
interpreter's own format for plain values: this process and its child are the same
interpreter, and it reads 100,000 digests ten times faster than JSON does); a `Codec` turns a
richer value (findings) into plain values and back.

The answer never depends on the fork. Where forking is not safe (not Linux, or another thread
is running) or `fork=False`, the work runs in-process at `start`. A child that crashes, is
killed or sends something that does not decode is not believed: `result()` runs the work here
instead, so a work must be safe to run a second time. The child leaves through `os._exit` (no
inherited buffers flushed twice, no atexit handler of the parent run) and dies with its parent
(`PR_SET_PDEATHSIG`): a render killed with SIGKILL leaves no child behind to race the next
render into the same folder.
"""

from __future__ import annotations

import ctypes
import functools
import marshal
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tenancy.errors import Diagnostic
from tenancy.render.cache import diagnostic, plain

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Codec(Generic[T]):
    """How a work's answer crosses the pipe: `encode` to plain values in the child, `decode`
    back in this process (a decode that raises TypeError, KeyError or ValueError rejects it)."""

    encode: Callable[[T], Any]
    decode: Callable[[Any], T]


def _same(value: Any) -> Any:
    return value


#: An answer that is plain values already (dicts, lists, strings, numbers).
PLAIN: Codec[Any] = Codec(_same, _same)
#: A list of findings.
FINDINGS: Codec[list[Diagnostic]] = Codec(
    lambda found: [plain(d) for d in found], lambda sent: [diagnostic(d) for d in sent]
)


def usable() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


@dataclass
class Task(Generic[T]):
    """One work running in a child (or done): `result` waits for it, `cancel` stops it."""

    work: Callable[[], T]
    codec: Codec[T]
    pid: int | None = None
    fd: int | None = None
    done: bool = False
    value: T | None = None

    def result(self) -> T:
        if not self.done:
            pid, fd, self.pid, self.fd = self.pid, self.fd, None, None
            payload, status = _collect(pid, fd)
            answer = _decode(self.codec, payload) if status == 0 else None
            # A child that crashed, was killed or sent nothing usable: the work runs here.
            self.value = self.work() if answer is None else answer[0]
            self.done = True
        return self.value  # type: ignore[return-value]  # set above once done

    def cancel(self) -> None:
        """Kill and reap the child, if one is running; an answer already taken stays."""
        _kill(self.pid, self.fd)
        self.pid = self.fd = None


def start(work: Callable[[], T], codec: Codec[T] = PLAIN, *, fork: bool = True) -> Task[T]:
    """Start `work` in a child when `fork` and forking is safe here; else run it now."""
    if not fork or not usable():
        return Task(work, codec, done=True, value=work())
    pid, fd = _fork(lambda: marshal.dumps(codec.encode(work())))
    return Task(work, codec, pid=pid, fd=fd)


def _decode(codec: Codec[T], payload: bytes) -> tuple[T] | None:
    """The child's answer (in a tuple, so that None is an answer too), or None if unusable."""
    try:
        return (codec.decode(marshal.loads(payload)),)
    except (ValueError, EOFError, TypeError, KeyError, AttributeError):
        return None


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
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    if fd is not None:
        os.close(fd)
