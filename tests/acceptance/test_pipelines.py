"""The shipped Woodpecker pipelines are valid against Woodpecker's own pipeline schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PIPELINES = [REPO / ".woodpecker.yml", REPO / "examples" / "woodpecker" / "tenancy.yml"]


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda p: p.name)
def test_pipeline_is_valid(pipeline: Path) -> None:
    """check-jsonschema's vendored Woodpecker schema accepts the pipeline."""
    tool = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(tool), "--builtin-schema", "vendor.woodpecker-ci", str(pipeline)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_example_pipeline_runs_the_three_checks() -> None:
    """The example runs validate, render --check and the Markdown diff on pull requests."""
    text = PIPELINES[1].read_text()
    for command in ("tenancy validate", "tenancy render --check", "--format markdown"):
        assert command in text
