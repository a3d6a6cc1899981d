"""Stage timings: each lap keeps its own start and length; the report is one line per lap."""

from __future__ import annotations

import io
import re
import time

from tenancy.render.stopwatch import Stopwatch


def test_laps_record_name_start_and_length() -> None:
    """A lap's start is measured from the stopwatch's start, its length covers the block."""
    watch = Stopwatch()
    time.sleep(0.01)
    with watch.lap("first"):
        time.sleep(0.02)
    (lap,) = watch.laps
    assert lap.name == "first"
    assert lap.start >= 0.01
    assert lap.seconds >= 0.02
    assert watch.elapsed() >= lap.start + lap.seconds
    assert lap.rss_mib > 0


def test_lap_is_recorded_when_the_block_raises() -> None:
    """A stage that fails still has its time recorded."""
    watch = Stopwatch()
    try:
        with watch.lap("broken"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert [lap.name for lap in watch.laps] == ["broken"]


def test_report_lists_laps_in_start_order_then_the_total() -> None:
    """Nested laps end inner first; the report still lists them by start, then `total`."""
    watch = Stopwatch()
    with watch.lap("outer"):
        time.sleep(0.005)
        with watch.lap("inner"):
            time.sleep(0.005)
    with watch.lap("last"):
        pass
    assert [lap.name for lap in watch.laps] == ["inner", "outer", "last"]
    stream = io.StringIO()
    watch.report(stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4
    assert all(line.startswith("timing: ") for line in lines)
    assert [line.split()[1] for line in lines] == ["outer", "inner", "last", "total"]
    took = re.search(r"took\s+([0-9.]+) s", lines[0])
    assert took is not None and float(took.group(1)) >= 0.01
    assert re.fullmatch(r"timing: total\s+[0-9]+\.[0-9]{3} s", lines[-1])


def test_empty_stopwatch_reports_only_the_total() -> None:
    """With no laps the report is the total alone."""
    stream = io.StringIO()
    Stopwatch().report(stream)
    assert stream.getvalue().startswith("timing: total ")
    assert stream.getvalue().count("\n") == 1
