"""The benchmark harness runs against tenancy as it is: its entry points on a tiny repository.

`make bench` is not part of CI (it takes many minutes), so these keep the harness from drifting
from the code it measures: an import that moved once broke the validate suite unnoticed.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from bench import generate, render, stages

from tenancy.stopwatch import Stopwatch


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
