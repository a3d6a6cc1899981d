"""Measure one subprocess (wall clock, peak RSS, peak tree PSS, exit code, output); tabulate.

Peak RSS, and why it is taken the way it is: `getrusage(RUSAGE_CHILDREN)` is the maximum over
every child ever reaped, so after the first large run every later row would show that run's
memory; `os.wait4` gives the rusage of exactly one child. But Linux carries the RSS high-water
mark of the pre-exec address space into the new program (exec_mmap records the old mm's
hiwater in the process's maxrss), and a child forked from this harness starts as a copy of it:
every child would report at least the harness's own peak (about 120 MiB after generating
10,000 users). So each command runs under GNU `/usr/bin/time -f %M`, a process of about 1 MiB,
and its report is the child's own peak. Without GNU time, `wait4` is used and the table says so
(those numbers are floored at the harness's RSS).

Wall clock runs from just before the fork to just after the reap, so it includes interpreter
start-up and imports (the time a user waits) and GNU time's own ~1 ms. Every run has a timeout:
the run's process group is killed (it is a new session of our own), and the run is reported as
failed, so a hung tool cannot hang the benchmark.

Two memory numbers, because neither alone answers "how much memory does the command need":
`tenancy render` forks a child that runs the checks while the parent writes files, and starts
`bao` and `kubectl`. Peak RSS (above) is an exact high-water mark, but of one process at a
time: for a process with children Linux reports the largest peak among the process and the
descendants it waited for, never the sum of processes alive together, so a parent and a child
that each hold 300 MiB show as 300 MiB. Peak tree PSS is the sum over the whole process tree:
while the command runs, a thread of this harness finds every process started by the run (the
descendants by parent PID, plus any process of the run's session, which an orphan reparented
to init still is) and adds up their Pss from `/proc/PID/smaps_rollup`, every 50 ms, keeping the
largest sum. Pss divides each page among the processes that map it, so the pages a forked
child still shares copy-on-write with its parent count once, not twice as summed RSS would
count them. Being sampled, it can miss a spike shorter than the gap between samples (hence
both numbers; a memory target is judged on the larger). A sample taken in the microseconds
between a vfork and the exec that follows sees one address space from two processes and
counts it twice: that can only raise the number. Reading Pss is not free even from
`smaps_rollup` (no per-mapping `smaps` is read): the kernel walks every page table entry, about
20 ms per GiB resident in each process on this 2-CPU machine, on the CPUs of the command timed.
So samples are 50 ms apart, or further apart while sampling would otherwise take more than 10%
of a CPU (about 230 ms at 1 GiB); `tree_method()` reports the longest gap. Where
`smaps_rollup` cannot be read, a process's VmRSS (`/proc/PID/status`) is used and
`tree_method()` says so; without /proc (not Linux) the tree is not measured (0).
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypeVar

DEFAULT_TIMEOUT_SECONDS = 600.0
#: How often the process tree's memory is sampled while a command runs, and the most of one
#: CPU the sampling may take (a large tree's samples are spaced further apart to stay under it).
TREE_INTERVAL_SECONDS = 0.05
SAMPLER_CPU_SHARE = 0.1
PROC = Path("/proc")
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One finished subprocess."""

    argv: tuple[str, ...]
    seconds: float
    peak_rss_kib: int
    peak_tree_kib: int  # 0 when not measured (no /proc)
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool


GNU_TIME = Path("/usr/bin/time")


@cache
def gnu_time() -> Path | None:
    """/usr/bin/time when it is GNU time (it writes `-f %M` to `-o FILE`), else None."""
    if not GNU_TIME.exists():
        return None
    with tempfile.NamedTemporaryFile(mode="r", suffix=".rss") as report:
        try:
            subprocess.run(
                [str(GNU_TIME), "-f", "%M", "-o", report.name, "true"],
                check=True,
                timeout=10,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return GNU_TIME if report.read().strip().isdigit() else None


def rss_method() -> str:
    return "GNU time -f %M" if gnu_time() else "os.wait4 (floored at the harness's own RSS)"


@cache
def tree_sampling() -> bool:
    """Whether this system has a /proc to sample process trees from."""
    return (PROC / "self" / "stat").is_file()


@dataclass(slots=True)
class _TreeStats:
    """What every run's sampling did, for `tree_method()`."""

    sources: Counter[str] = field(default_factory=Counter)  # process samples: Pss or VmRSS
    longest_gap: float = 0.0  # seconds between the starts of two samples of one run


_TREE_STATS = _TreeStats()


def tree_method() -> str:
    if not tree_sampling():
        return "not measured (no /proc)"
    method = (
        f"Pss from /proc/PID/smaps_rollup, sampled every {TREE_INTERVAL_SECONDS * 1000:.0f} ms "
        f"or, while a sample takes more than {SAMPLER_CPU_SHARE:.0%} of a CPU, less often; "
        f"longest gap {_TREE_STATS.longest_gap * 1000:.0f} ms"
    )
    sources = _TREE_STATS.sources
    if sources["VmRSS"]:
        method += (
            f"; VmRSS from /proc/PID/status in {sources['VmRSS']:,} of {sources.total():,} "
            "process samples, whose smaps_rollup could not be read: their shared pages count "
            "in full"
        )
    return method


def _read(path: str) -> bytes:
    with open(path, "rb", buffering=0) as file:
        return file.read()


def process_tree(root: int, *, session: int | None = None) -> set[int]:
    """root and its living descendants (by parent PID), plus every process of `session`.

    Processes come and go while /proc is listed: a process whose stat cannot be read or parsed
    is left out, whatever the reason."""
    try:
        names = os.listdir(PROC)
    except OSError:
        return set()
    children: dict[int, list[int]] = {}
    tree = {root}
    for name in names:
        if not name.isdigit():
            continue
        try:
            stat = _read(f"{PROC}/{name}/stat")
            # The command name is in parentheses and may itself hold spaces or parentheses.
            fields = stat[stat.rindex(b")") + 2 :].split()
            parent, sid = int(fields[1]), int(fields[3])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(name))
        if session is not None and sid == session:
            tree.add(int(name))
    pending = list(tree)
    while pending:
        for child in children.get(pending.pop(), ()):
            if child not in tree:
                tree.add(child)
                pending.append(child)
    return tree


def _field_kib(text: bytes, key: bytes) -> int | None:
    for line in text.splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    return None


def process_memory_kib(pid: int) -> tuple[int, str] | None:
    """(KiB, source): the process's Pss, or its VmRSS where smaps_rollup cannot be read; None
    when the process is gone. A zombie has no memory left: (0, "Pss")."""
    try:
        pss = _field_kib(_read(f"{PROC}/{pid}/smaps_rollup"), b"Pss:")
        if pss is not None:
            return pss, "Pss"
    except (OSError, ValueError):
        pass
    try:
        rss = _field_kib(_read(f"{PROC}/{pid}/status"), b"VmRSS:")
    except (OSError, ValueError):
        return None
    # No VmRSS line: a zombie or a process on its way out, which holds no pages.
    return (0, "Pss") if rss is None else (rss, "VmRSS")


class TreeSampler:
    """The largest total memory of a process tree, sampled from a background thread."""

    def __init__(
        self, root: int, *, session: int | None = None, interval: float = TREE_INTERVAL_SECONDS
    ) -> None:
        self.root = root
        self.session = session
        self.interval = interval
        self.peak_kib = 0
        self.longest_gap = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-sampler", daemon=True)

    def sample(self) -> int:
        total = 0
        for pid in process_tree(self.root, session=self.session):
            found = process_memory_kib(pid)
            if found is not None:
                total += found[0]
                _TREE_STATS.sources[found[1]] += 1
        self.peak_kib = max(self.peak_kib, total)
        return total

    def _loop(self) -> None:
        while True:
            began, cpu = time.perf_counter(), time.thread_time()
            self.sample()
            # The kernel walks every page table entry for Pss (about 20 ms per GiB measured
            # here, on this thread's CPU time): at a fixed 50 ms a 1 GiB tree would take a
            # third of a CPU beside the command being timed. CPU time, not wall clock: a
            # sample that waited for a CPU the command was using cost nothing while it waited.
            cost = time.thread_time() - cpu
            wait = max(self.interval, cost * (1 / SAMPLER_CPU_SHARE - 1))
            if self._stop.wait(wait):
                return
            self.longest_gap = max(self.longest_gap, time.perf_counter() - began)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        _TREE_STATS.longest_gap = max(_TREE_STATS.longest_gap, self.longest_gap)


def run_measured(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Run:
    """Run argv to completion; stdout and stderr go to temporary files (no pipe deadlock)."""
    wrapper = gnu_time()
    with (
        tempfile.TemporaryFile(mode="w+b") as out,
        tempfile.TemporaryFile(mode="w+b") as err,
        tempfile.NamedTemporaryFile(mode="r", suffix=".rss") as report,
    ):
        command = list(argv)
        if wrapper is not None:
            command = [str(wrapper), "-f", "%M", "-o", report.name, *command]
        start = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # its own process group, so a timeout kills the whole run
        )
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        tree = 0
        ended: float | None = None
        try:
            if tree_sampling():
                # The run is its own session (start_new_session), so its session ID is its PID.
                with TreeSampler(process.pid, session=process.pid) as sampler:
                    # Waited for but not reaped: the PID cannot be reused while it is sampled.
                    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
                    ended = time.perf_counter()  # not the wait for a sample in progress
                tree = sampler.peak_kib
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        seconds = (time.perf_counter() if ended is None else ended) - start
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        peak = int(usage.ru_maxrss)  # KiB on Linux
        if wrapper is not None:
            lines = report.read().split()  # "Command exited with non-zero status 1" first
            peak = int(lines[-1]) if lines and lines[-1].isdigit() else 0
        out.seek(0)
        err.seek(0)
        return Run(
            argv=tuple(argv),
            seconds=seconds,
            peak_rss_kib=peak,
            peak_tree_kib=tree,
            returncode=process.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            timed_out=expired.is_set(),
        )


@dataclass(slots=True, kw_only=True)
class Row:
    """One line of the results table; `seconds` holds one sample per timed repeat."""

    suite: str
    size: int
    tool: str
    seconds: list[float] = field(default_factory=list)
    peak_rss_kib: list[int] = field(default_factory=list)
    peak_tree_kib: list[int] = field(default_factory=list)
    findings: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def minimum(self) -> float | None:
        return min(self.seconds) if self.seconds else None

    @property
    def peak_mib(self) -> float | None:
        return max(self.peak_rss_kib) / 1024 if self.peak_rss_kib else None

    @property
    def peak_tree_mib(self) -> float | None:
        """None also when every sample is 0: the tree was not measured (no /proc)."""
        return max(self.peak_tree_kib) / 1024 if any(self.peak_tree_kib) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """What every suite is given: sizes in users, timed repeats, per-run timeout, scratch dir."""

    sizes: tuple[int, ...]
    repeat: int
    timeout: float
    workdir: Path
    warmup: bool = True
    #: Other checkouts to measure beside this one, round by round (`--against`); the render
    #: suite's rows to run (`--rows`; empty: the suite's default).
    against: tuple[Variant, ...] = ()
    rows: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Variant:
    """A checkout of tenancy measured beside this one: `NAME=PATH[:VAR=VALUE]...` on the command
    line (`--against`). Its code runs from PATH/src (PYTHONPATH) with the harness's Python, with
    the extra environment given, on the same generated inputs as this checkout."""

    name: str
    root: Path
    env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Variant:
        name, sep, rest = text.partition("=")
        path, *assignments = rest.split(":")
        if not (sep and name.strip() and path):
            raise ValueError(f"not NAME=PATH[:VAR=VALUE]...: {text!r}")
        env = []
        for assignment in assignments:
            var, sep, value = assignment.partition("=")
            if not (sep and var):
                raise ValueError(f"not VAR=VALUE: {assignment!r} in {text!r}")
            env.append((var, value))
        return cls(name.strip(), Path(path).expanduser().resolve(), tuple(env))


def variant_order(variants: Sequence[T], number: int) -> list[T]:
    """The order of round `number`: rotated by one place each round (AB, BA, AB for two), so
    every variant runs first, and after each other one, equally often over the rounds."""
    shift = number % len(variants) if variants else 0
    return [*variants[shift:], *variants[:shift]]


@dataclass(slots=True, kw_only=True)
class SuiteResult:
    """What every suite returns: table rows, notes, target verdicts and verification failures.

    A failure means a tool's output was wrong (or it could not run): `python -m bench` then
    exits non-zero, after printing every number it has.
    """

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


HEADER = (
    "suite",
    "size",
    "tool",
    "median s",
    "min s",
    "peak RSS MiB",
    "peak tree PSS MiB",
    "findings",
)


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.4f}" if value < 0.1 else f"{value:.3f}"


def table(rows: Sequence[Row]) -> str:
    """The rows as a GitHub markdown table (numbers right-aligned)."""
    cells = [
        (
            row.suite,
            f"{row.size:,}",
            row.tool,
            _seconds(row.median),
            _seconds(row.minimum),
            "—" if row.peak_mib is None else f"{row.peak_mib:.1f}",
            "—" if row.peak_tree_mib is None else f"{row.peak_tree_mib:.1f}",
            row.findings or "—",
        )
        for row in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADER)]
    right = {1, 3, 4, 5, 6}

    def line(values: Sequence[str]) -> str:
        padded = [
            v.rjust(widths[i]) if i in right else v.ljust(widths[i]) for i, v in enumerate(values)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        "-" * (w + 1) + ":" if i in right else "-" * (w + 2) for i, w in enumerate(widths)
    )
    return "\n".join([line(HEADER), rule + "|", *(line(c) for c in cells)])


def rounds(options: Options) -> Iterator[tuple[int, bool, str]]:
    """Each round as (index, timed, label): one untimed warm-up first when asked, then the
    timed repeats, labelled `repeat k/n`."""
    plan = ([False] if options.warmup else []) + [True] * options.repeat
    done = 0
    for index, timed in enumerate(plan):
        done += timed
        yield index, timed, f"repeat {done}/{options.repeat}" if timed else "warm-up"
