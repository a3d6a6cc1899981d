"""The shell's own pieces of `render` that are more than wiring."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tenancy.render import command
from tenancy.render import concurrent as forked
from tenancy.validate.check import policy_stage
from tenancy.validate.config import InputParams

ROSTER = """\
users:
  cleom: {authentik_user: cleo98, k8s_user: cleo, tier: namespace-owner, namespaces: [cleo]}
"""
#: dana claims cleo's namespace: `names` reports it, at dana's claim.
K8S = """\
cleo: {role: namespace-owner, email: cleo98@example.org, namespaces: [cleo]}
dana: {role: namespace-owner, email: d@example.org, namespaces: [cleo]}
"""


def params(**inputs: Path) -> command.RenderParams:
    return command.RenderParams(
        inputs=InputParams(config=None, **inputs),
        output=Path("out"),
        check=False,
        format="text",
        engine="embedded",
        opa_url=None,
    )


@pytest.fixture
def loaded(workdir: Path) -> command.Loaded:
    """What the render's `load` stage reads: the inputs parsed, the policies, the engine."""
    (workdir / "r.yaml").write_text(ROSTER)
    (workdir / "k.yaml").write_text(K8S)
    found = command.load(params(roster=Path("r.yaml"), k8s_users=Path("k.yaml")))
    assert isinstance(found, command.Loaded)
    return found


def expected(loaded: command.Loaded) -> list[Any]:
    return policy_stage(
        loaded.documents,
        loaded.inputs,
        loaded.config,
        engine=loaded.engine,
        policies=loaded.policies,
    )


@pytest.mark.parametrize("child", ["reports", "is killed"])
def test_policies_judged_apart_find_what_they_find_in_process(
    loaded: command.Loaded, child: str
) -> None:
    """The policy stage in a child gives the in-process findings; a child that dies is
    replaced by the work done here, from the inputs loaded again (this process let go of the
    parsed documents at the fork)."""
    found = expected(loaded)
    assert "namespace-claimed-twice" in {d.code for d in found}
    modeled = command.model(loaded)
    assert modeled.clean
    verdict = command.judge(loaded, modeled)
    assert (verdict.task.pid is not None) == forked.usable()
    assert verdict.loaded.documents == {}, "the judge holds no parsed input past the fork"
    if child == "is killed":
        verdict.task.cancel()  # as a child that died before it reported: nothing to read
    assert verdict.task.result() == found


def test_policies_for_an_opa_server_judge_in_this_process(loaded: command.Loaded) -> None:
    """With another engine than the embedded one (an OPA server's client) no child is started:
    the findings are there when `judge` returns."""
    opa = replace(loaded, engine_name="opa")
    verdict = command.judge(opa, command.model(opa))
    assert verdict.task.pid is None and verdict.task.done
    assert "namespace-claimed-twice" in {d.code for d in verdict.task.result()}


def test_a_render_that_fails_stops_its_policy_child(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error past the fork (here: the plan) leaves no policy child running."""
    from click.testing import CliRunner

    from tenancy.cli import cli

    (workdir / "r.yaml").write_text(ROSTER)
    (workdir / "k.yaml").write_text(K8S.splitlines()[0] + "\n")
    assert forked.usable(), "another thread is running: the fork path would not be exercised"
    started: list[forked.Task[Any]] = []
    pids: list[int] = []
    real_start = forked.start

    def start(*args: Any, **kwargs: Any) -> forked.Task[Any]:
        started.append(real_start(*args, **kwargs))
        if started[-1].pid is not None:
            pids.append(started[-1].pid)
        return started[-1]

    def broken_plan(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the plan broke")

    monkeypatch.setattr(forked, "start", start)
    monkeypatch.setattr(command, "plan_tree", broken_plan)
    args = ["render", "--roster", "r.yaml", "--k8s-users", "k.yaml", "-o", "out", "--no-cache"]
    with pytest.raises(RuntimeError, match="the plan broke"):
        CliRunner().invoke(cli, args, catch_exceptions=False)
    assert pids, "the policies were judged in a child"
    assert all(judging.pid is None for judging in started)
    for pid in pids:  # killed and reaped: not even a zombie is left
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    assert not (workdir / "out").exists()
