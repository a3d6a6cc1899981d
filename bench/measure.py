"""Measure one subprocess (wall clock, peak RSS, exit code, output) and tabulate the results.

Why `os.wait4` and not `resource.getrusage(RUSAGE_CHILDREN)`: the latter is the maximum over
every child ever reaped, so after the first large run every later row would show that run's
memory. `wait4` returns the rusage of exactly the reaped process (including any children it
reaped itself), so each run's peak RSS is its own. Wall clock runs from just before the fork to
just after the reap, so it includes interpreter start-up and imports: the time a user waits.

Every run has a timeout (the process is killed, and the run reported as failed), so a hung tool
cannot hang the benchmark.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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


def run_measured(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Run:
    """Run argv to completion; stdout and stderr go to temporary files (no pipe deadlock)."""
    with (
        tempfile.TemporaryFile(mode="w+b") as out,
        tempfile.TemporaryFile(mode="w+b") as err,
    ):
        start = time.perf_counter()
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            process.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return Run(
            argv=tuple(argv),
            seconds=seconds,
            peak_rss_kib=int(usage.ru_maxrss),  # KiB on Linux
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
