"""Measure one subprocess (wall clock, peak RSS, exit code, output) and tabulate the results.

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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DEFAULT_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One finished subprocess."""

    argv: tuple[str, ...]
    seconds: float
    peak_rss_kib: int
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
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    """What every suite is given: sizes in users, timed repeats, per-run timeout, scratch dir."""

    sizes: tuple[int, ...]
    repeat: int
    timeout: float
    workdir: Path
    warmup: bool = True


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


HEADER = ("suite", "size", "tool", "median s", "min s", "peak RSS MiB", "findings")


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
            row.findings or "—",
        )
        for row in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADER)]
    right = {1, 3, 4, 5}

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
