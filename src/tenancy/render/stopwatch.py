"""Stage timings of one run, for `--timings` and the benchmarks. Shell: reads the clock.

Stages may overlap (the checks of a render run side by side), so each lap keeps its own start
and end; the wall time of the run is printed apart from the laps.
"""

from __future__ import annotations

import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO


@dataclass(frozen=True, slots=True)
class Lap:
    name: str
    start: float  # seconds since the stopwatch started
    seconds: float
    rss_mib: float  # the process's peak resident set when the lap ended


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS, where this is only indicative).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(slots=True)
class Stopwatch:
    started: float = field(default_factory=time.perf_counter)
    laps: list[Lap] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def lap(self, name: str) -> Iterator[None]:
        begin = time.perf_counter()
        try:
            yield
        finally:
            end = time.perf_counter()
            with self._lock:
                self.laps.append(Lap(name, begin - self.started, end - begin, _peak_rss_mib()))

    def record(self, name: str, begin: float, seconds: float) -> None:
        """A lap measured elsewhere (in a child, or summed over several processes) that
        began at `begin` (`time.perf_counter()`) and took `seconds`."""
        with self._lock:
            self.laps.append(Lap(name, begin - self.started, seconds, _peak_rss_mib()))

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def report(self, stream: TextIO | None = None) -> None:
        """One `timing:` line per lap, in start order, then the total; easy to grep and parse.
        Written to `stream`, else to whatever `sys.stderr` is at the time of the call."""
        stream = sys.stderr if stream is None else stream
        for lap in sorted(self.laps, key=lambda lap: lap.start):
            stream.write(
                f"timing: {lap.name:<12} start {lap.start:7.3f} s  took {lap.seconds:7.3f} s  "
                f"peak RSS {lap.rss_mib:7.1f} MiB\n"
            )
        stream.write(f"timing: {'total':<12} {self.elapsed():.3f} s\n")
