"""The benchmark harness runs against tenancy as it is: its entry points on a tiny repository.

`make bench` is not part of CI (it takes many minutes), so these keep the harness from drifting
from the code it measures: an import that moved once broke the validate suite unnoticed.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench import generate, measure, render, stages

from tenancy.render.stopwatch import Stopwatch


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench-tiny")
    generate.generate(30, root, clean=True)
    return root


def test_validate_stages_run_on_a_generated_repository(tiny: Path) -> None:
    """bench.stages times every stage of validate and finds no error in a clean repository."""
    data = stages.run(tiny, 0)
    names = [stage["name"] for stage in data["stages"]]
    assert {"import", "config", "policy compile", "policy evaluate"} <= set(names)
    assert data["errors"] == {}


def test_render_suite_reads_tenancy_timings() -> None:
    """The render suite parses exactly what `tenancy render --timings` prints."""
    stopwatch = Stopwatch()
    with stopwatch.lap("render"):
        pass
    with stopwatch.lap("k8s schema"):
        pass
    out = io.StringIO()
    stopwatch.report(out)
    laps = render.timings(out.getvalue())
    assert [name for name, _, _ in laps] == ["render", "k8s schema"]
    assert all(seconds >= 0 and rss > 0 for _, seconds, rss in laps)


def test_render_suite_counts_objects_of_a_real_tree(tiny: Path) -> None:
    """Objects and custom resources are counted from a real rendered tree's file names."""
    from click.testing import CliRunner

    from tenancy.cli import cli

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tiny)
        result = CliRunner().invoke(cli, ["render", "--no-cache"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    objects, with_schema = render._object_counts(tiny / "manifests")
    assert 0 < with_schema < objects


MIB = 1024  # KiB

needs_proc = pytest.mark.skipif(
    not measure.tree_sampling(), reason="the process tree is read from Linux's /proc"
)


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


#: A parent and its forked child that hold 100 MiB and 200 MiB of their own, touched page by
#: page, at the same time for 0.5 s; the parent then reaps the child as tenancy's render/concurrent.py does.
_PARENT_AND_CHILD = """
    import os, time

    def touched(mib):
        block = bytearray(mib * 2**20)
        for at in range(0, len(block), 4096):
            block[at] = 1
        return block

    ready, ready_w = os.pipe()
    release, release_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(release_w)  # else this copy would keep the pipe open: no EOF to wait for
        held = touched(200)
        os.write(ready_w, b"x")
        os.read(release, 1)  # returns at EOF, when the parent lets go
        os._exit(0)
    held = touched(100)
    assert os.read(ready, 1) == b"x"
    time.sleep(0.5)
    os.close(release_w)
    os.waitpid(pid, 0)
"""


@needs_proc
def test_tree_peak_sums_processes_that_are_alive_together(tmp_path: Path) -> None:
    """The tree's peak is the sum of both processes; GNU time's is the larger one of them."""
    run = measure.run_measured(_python(_PARENT_AND_CHILD), cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.stderr
    # The two buffers alone are 300 MiB: no single process of the tree ever held that much.
    assert 300 * MIB <= run.peak_tree_kib < 380 * MIB
    if measure.gnu_time() is None:
        pytest.skip("no GNU /usr/bin/time: peak_rss_kib is then wait4's, floored at pytest's RSS")
    # Linux reports the largest peak of the process and the children it reaped, not their sum.
    assert 200 * MIB <= run.peak_rss_kib < 290 * MIB


@needs_proc
def test_tree_peak_counts_copy_on_write_pages_once(tmp_path: Path) -> None:
    """A forked child that only reads its parent's 200 MiB adds almost nothing to Pss, where
    summed RSS would count the 200 MiB twice."""
    own = measure.process_memory_kib(os.getpid())
    if own is None or own[1] != "Pss":
        pytest.skip("smaps_rollup is unreadable here: the tree is summed from VmRSS")
    code = """
        import os, time
        held = bytearray(200 * 2**20)
        for at in range(0, len(held), 4096):
            held[at] = 1
        pid = os.fork()
        if pid == 0:
            time.sleep(0.5)
            os._exit(0 if held[4096] == 1 else 1)
        os.waitpid(pid, 0)
    """
    run = measure.run_measured(_python(code), cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.stderr
    assert 195 * MIB <= run.peak_tree_kib < 280 * MIB


_TREE = """
    import os, sys, time

    child = os.fork()
    if child == 0:
        parent = os.getpid()
        grandchild = os.fork()
        if grandchild == 0:
            if sys.argv[1] == "orphan":
                while os.getppid() == parent:  # until it has been reparented
                    time.sleep(0.01)
            print(parent, os.getpid(), flush=True)
            time.sleep(60)
            os._exit(0)
        if sys.argv[1] == "orphan":
            os._exit(0)
        os.waitpid(grandchild, 0)
        os._exit(0)
    if sys.argv[1] == "orphan":
        os.waitpid(child, 0)
    time.sleep(60)
"""


@pytest.fixture
def tree(request: pytest.FixtureRequest) -> Iterator[tuple[int, int, int]]:
    """(root, child, grandchild) PIDs of a live three-generation process tree, its own
    session; `request.param` "orphan" makes the child exit before the grandchild reports."""
    process = subprocess.Popen(
        [*_python(_TREE), request.param],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        child, grandchild = map(int, process.stdout.readline().split())
        yield process.pid, child, grandchild
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the grandchild too: same process group
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


@needs_proc
@pytest.mark.parametrize("tree", ["nested"], indirect=True)
def test_process_tree_finds_a_grandchild(tree: tuple[int, int, int]) -> None:
    root, child, grandchild = tree
    found = measure.process_tree(root)
    assert {root, child, grandchild} <= found
    assert os.getpid() not in found
    assert measure.process_tree(grandchild) == {grandchild}


@needs_proc
@pytest.mark.parametrize("tree", ["orphan"], indirect=True)
def test_process_tree_keeps_an_orphan_of_the_session(tree: tuple[int, int, int]) -> None:
    """An orphan is reparented out of the tree; the run's session still holds it."""
    root, _, grandchild = tree
    assert grandchild not in measure.process_tree(root)
    assert grandchild in measure.process_tree(root, session=root)


def test_table_shows_peak_tree_pss_beside_peak_rss() -> None:
    measured = measure.Row(
        suite="s", size=10, tool="a", peak_rss_kib=[100 * MIB], peak_tree_kib=[150 * MIB]
    )
    unmeasured = measure.Row(suite="s", size=10, tool="b", peak_rss_kib=[MIB], peak_tree_kib=[0])
    header, _, first, second = measure.table([measured, unmeasured]).splitlines()
    cells = [[cell.strip() for cell in line.split("|")[1:-1]] for line in (header, first, second)]
    column = cells[0].index("peak tree PSS MiB")
    assert cells[0][column - 1] == "peak RSS MiB"
    assert (cells[1][column - 1], cells[1][column]) == ("100.0", "150.0")
    assert cells[2][column] == "—"


@pytest.mark.parametrize(
    ("rss_mib", "tree_mib", "verdict", "judged"),
    [
        (900, 1100, "MISS", "1,100.0 MiB"),  # the tree is over, the main process is not
        (1100, 900, "MISS", "1,100.0 MiB"),
        (900, 1000, "PASS", "1,000.0 MiB"),
    ],
)
def test_render_memory_verdict_is_judged_on_the_larger_number(
    rss_mib: int, tree_mib: int, verdict: str, judged: str
) -> None:
    row = measure.Row(
        suite=render.SUITE,
        size=1_000,
        tool=render.ROWS["cold"],
        seconds=[1.0],
        peak_rss_kib=[rss_mib * MIB],
        peak_tree_kib=[tree_mib * MIB],
    )
    lines = render.targets(measure.SuiteResult(rows=[row]))
    [memory] = [line for line in lines if "peak memory" in line]
    assert memory.startswith(verdict)
    assert f"users: {judged} (" in memory


@pytest.fixture
def small_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Probes a tenth of the bench's size: the same code, a test's time."""
    monkeypatch.setattr(render, "PROBE_FILES", 2_000)
    monkeypatch.setattr(render, "PROBE_FOLDERS", 200)


class _Machine:
    """A settle probe's world with chosen timings: each probe of the disk costs the next of
    `disk` seconds, each probe of RAM `ram` seconds, and the clock moves only when `sleep`
    is called, so a settle decides on these numbers and never on the machine's speed."""

    def __init__(self, disk: list[float], ram: float = 1.0) -> None:
        self.disk = iter(disk)
        self.ram = ram
        self.now = 100.0
        self.probed: list[Path] = []
        self.slept: list[float] = []

    def probe(self, folder: Path) -> float:
        self.probed.append(folder)
        return self.ram if folder.parent.name == "ram" else next(self.disk)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def disk_of(self, tmp_path: Path, ram: bool = True) -> render._Disk:
        return render._Disk(
            tmp_path / "disk",
            tmp_path / "ram" if ram else None,
            probe=self.probe,
            clock=self.clock,
            sleep=self.sleep,
        )


def test_disk_settles_at_once_when_creating_files_costs_what_it_costs_in_ram(
    tmp_path: Path,
) -> None:
    """A disk probe that costs at most `SETTLED_RATIO` times the RAM probe (here exactly that
    much, the bound) settles at the first probe: no wait. The timings are given, not
    measured: on a loaded machine two real probes of one file system can differ by more than
    the ratio, and this is about the decision, not about the machine."""
    machine = _Machine(disk=[render.SETTLED_RATIO * 0.5], ram=0.5)
    disk = machine.disk_of(tmp_path)
    disk.settle()
    assert disk.probes == [(render.SETTLED_RATIO * 0.5, 0.5)]
    assert machine.probed == [tmp_path / "disk" / "probe-0", tmp_path / "ram" / "probe-0"]
    assert machine.slept == []
    assert disk.waited == 0.0
    assert "1 probes" in disk.summary()
    assert f"disk/RAM {render.SETTLED_RATIO:.1f}x to {render.SETTLED_RATIO:.1f}x" in disk.summary()


def test_disk_settle_waits_until_the_disk_costs_at_most_the_ratio(tmp_path: Path) -> None:
    """A disk that costs 20x, then 10x, then 5x RAM is probed three times, 5 s apart, and
    settles at the third; the wait is what the clock says passed."""
    machine = _Machine(disk=[20.0, 10.0, 5.0], ram=1.0)
    disk = machine.disk_of(tmp_path)
    disk.settle()
    assert disk.probes == [(20.0, 1.0), (10.0, 1.0), (5.0, 1.0)]
    assert [folder.name for folder in machine.probed] == ["probe-0"] * 2 + ["probe-1"] * 2 + [
        "probe-2"
    ] * 2
    assert machine.slept == [5.0, 5.0]
    assert disk.waited == 10.0
    assert "3 probes" in disk.summary()
    # A second settle numbers its probes on and adds its own wait.
    machine.disk = iter([1.0])
    disk.settle()
    assert disk.probes[-1] == (1.0, 1.0)
    assert machine.probed[-2:] == [tmp_path / "disk" / "probe-3", tmp_path / "ram" / "probe-3"]
    assert disk.waited == 10.0


def test_disk_settle_gives_up_after_its_limit(tmp_path: Path) -> None:
    """A disk that never settles is probed until more than `limit` s have passed since the
    first probe began, then given up on: with probes 5 s apart and a 12 s limit, the fourth
    probe (at 15 s) is the last."""
    machine = _Machine(disk=[100.0] * 10, ram=1.0)
    disk = machine.disk_of(tmp_path)
    disk.settle(limit=12.0)
    assert len(disk.probes) == 4
    assert machine.slept == [5.0, 5.0, 5.0]
    assert disk.waited == 15.0


def test_disk_without_ram_settles_at_the_first_probe(tmp_path: Path) -> None:
    """Where there is no RAM file system to compare with, the one disk probe is recorded and
    nothing is waited for, however slow it was."""
    machine = _Machine(disk=[100.0])
    disk = machine.disk_of(tmp_path, ram=False)
    disk.settle()
    assert disk.probes == [(100.0, None)]
    assert machine.probed == [tmp_path / "disk" / "probe-0"]
    assert machine.slept == []
    assert "disk/RAM" not in disk.summary()


def test_disk_settle_really_creates_its_probe_files(tmp_path: Path, small_probes: None) -> None:
    """The real probe creates `PROBE_FILES` empty files in `PROBE_FOLDERS` folders on the disk
    and in RAM, and its timings are recorded. How many probes a real disk needs is up to the
    machine's load, so it is not asserted: the wait is skipped and the limit is 0 s."""
    disk = render._Disk(tmp_path / "disk", tmp_path / "ram", sleep=lambda _: None)
    disk.settle(limit=0.0)
    assert disk.probes
    for side in ("disk", "ram"):
        probe = tmp_path / side / "probe-0"
        assert (probe / "d199").is_dir() and not (probe / "d200").exists()
        assert sum(len(files) for _, _, files in os.walk(probe)) == 2_000
    first_disk, first_ram = disk.probes[0]
    assert first_disk > 0 and first_ram is not None and first_ram > 0
    assert "disk settle probes (2,000 empty files each)" in disk.summary()


def test_against_names_a_checkout_and_its_environment(tmp_path: Path) -> None:
    """`--against NAME=PATH[:VAR=VALUE]...`: a value may itself hold `=`."""
    variant = measure.Variant.parse(f"base={tmp_path}:TENANCY_OPT_MEMO=0:EXTRA=a=b")
    assert variant == measure.Variant(
        "base", tmp_path.resolve(), (("TENANCY_OPT_MEMO", "0"), ("EXTRA", "a=b"))
    )
    assert measure.Variant.parse(f"old={tmp_path}").env == ()


@pytest.mark.parametrize("text", ["base", "=/tmp", "base=", "base=/tmp:NOVALUE", "base=/tmp:=1"])
def test_against_refuses_what_is_not_name_path_environment(text: str) -> None:
    with pytest.raises(ValueError, match="not "):
        measure.Variant.parse(text)


def test_variants_alternate_round_by_round() -> None:
    """Two checkouts alternate (AB, BA, AB, ...); with more, the order rotates, so each one is
    first (and last) once in as many rounds."""
    assert [measure.variant_order(["a", "b"], n) for n in range(4)] == [
        ["a", "b"],
        ["b", "a"],
        ["a", "b"],
        ["b", "a"],
    ]
    orders = [measure.variant_order(["a", "b", "c"], n) for n in range(3)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    assert measure.variant_order([], 5) == []


def test_bench_command_line_takes_checkouts_and_rows(tmp_path: Path) -> None:
    from bench.__main__ import _parser

    (tmp_path / "src" / "tenancy").mkdir(parents=True)
    args = _parser().parse_args(
        ["--only", "render", "--against", f"base={tmp_path}", "--rows", "cold,check"]
    )
    assert args.against == [measure.Variant("base", tmp_path.resolve())]
    assert args.rows == ("cold", "check")
    options = measure.Options(
        sizes=(10,), repeat=1, timeout=1.0, workdir=tmp_path, against=tuple(args.against)
    )
    assert render.selected_rows(options) == render.AB_ROWS  # --against alone: tenancy's rows
    rows_only = measure.Options(
        sizes=(10,), repeat=1, timeout=1.0, workdir=tmp_path, rows=("check",)
    )
    assert render.selected_rows(rows_only) == ("cold", "check")  # cold: the others need it
    for wrong in (f"this={tmp_path}", f"x={tmp_path / 'nowhere'}"):
        with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
            _parser().parse_args(["--against", wrong])
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
        _parser().parse_args(["--rows", "cold,nothing"])


def test_compare_shows_this_checkouts_ratio_to_the_other() -> None:
    def row(seconds: list[float], tree_mib: list[int]) -> measure.Row:
        return measure.Row(
            suite=render.SUITE,
            size=1_000,
            tool=render.ROWS["cold"],
            seconds=seconds,
            peak_tree_kib=[mib * MIB for mib in tree_mib],
        )

    shown, verdicts = render.compare(
        row([1.0, 1.2, 1.1], [200, 220, 210]),
        row([1.0, 1.0, 0.9], [200, 200, 200]),
        "base",
        memory=True,
    )
    assert shown == "this/base 1.10x (min 1.11x), tree PSS 1.05x"
    assert [line.split()[0] for line in verdicts] == ["PASS", "PASS"]
    _, slower = render.compare(row([1.2], [0]), row([1.0], [0]), "base", memory=True)
    assert [line.split()[0] for line in slower] == ["MISS"]  # and no tree PSS: not measured


def test_a_round_stops_before_the_scratch_disk_runs_out_of_inodes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every tree is kept to the end of the run: an A/B run at 10,000 users can fill the disk's
    inodes, which fails the runs (and other work on that disk) with ENOSPC."""
    free = os.statvfs(tmp_path).f_favail
    monkeypatch.setattr(render, "INODE_RESERVE", 0)
    render._room(tmp_path, 0)
    monkeypatch.setattr(render, "INODE_RESERVE", free)
    with pytest.raises(render.Mismatch, match="inodes free on the scratch disk"):
        render._room(tmp_path, 1_000)
