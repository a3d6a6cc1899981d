"""The shell's own pieces of `render` that are more than wiring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tenancy.inputs.read import read_inputs
from tenancy.render import concurrent as forked
from tenancy.render.command import _judge_apart
from tenancy.validate.check import load_inputs, policy_stage
from tenancy.validate.command import build_engine
from tenancy.validate.config import InputParams, load_config
from tenancy.validate.policy.source import policy_dirs, read_policies

ROSTER = """\
users:
  cleom: {authentik_user: cleo98, k8s_user: cleo, tier: namespace-owner, namespaces: [cleo]}
"""
#: dana claims cleo's namespace: `names` reports it, at dana's claim.
K8S = """\
cleo: {role: namespace-owner, email: cleo98@example.org, namespaces: [cleo]}
dana: {role: namespace-owner, email: d@example.org, namespaces: [cleo]}
"""


@pytest.fixture
def loaded(workdir: Path) -> tuple[Any, ...]:
    """What `_judge_apart` is given: documents, inputs, config, engine, policies."""
    (workdir / "r.yaml").write_text(ROSTER)
    (workdir / "k.yaml").write_text(K8S)
    params = InputParams(config=None, roster=Path("r.yaml"), k8s_users=Path("k.yaml"))
    config, problems = load_config(params)
    assert config is not None and not problems
    policies = read_policies(policy_dirs(config))
    engine = build_engine("embedded", None, policies)
    inputs = read_inputs(config)
    documents, _ = load_inputs(inputs, config)
    return documents, inputs, config, engine, policies


@pytest.mark.parametrize("child", ["reports", "is killed"])
def test_policies_judged_apart_find_what_they_find_in_process(
    loaded: tuple[Any, ...], child: str
) -> None:
    """The policy stage in a child gives the in-process findings; a child that dies is
    replaced by the work done here, from the inputs loaded again (this process let go of the
    parsed documents at the fork)."""
    documents, inputs, config, engine, policies = loaded
    expected = policy_stage(documents, inputs, config, engine=engine, policies=policies)
    assert "namespace-claimed-twice" in {d.code for d in expected}

    judging = _judge_apart(*loaded)
    assert (judging.pid is not None) == forked.usable()
    if child == "is killed":
        judging.cancel()  # as a child that died before it reported: nothing to read
    [found] = judging.result()
    assert found == expected


def test_policies_for_an_opa_server_judge_in_this_process(loaded: tuple[Any, ...]) -> None:
    """With `fork` false (an OPA server's client) no child is started: the findings are there
    when `_judge_apart` returns."""
    judging = _judge_apart(*loaded, fork=False)
    assert judging.pid is None and judging.done is not None
    assert "namespace-claimed-twice" in {d.code for d in judging.done[0]}


def test_a_render_that_fails_stops_its_policy_child(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error past the fork (here: the plan) leaves no policy child running."""
    from click.testing import CliRunner

    from tenancy.cli import cli
    from tenancy.render import plan as render

    (workdir / "r.yaml").write_text(ROSTER)
    (workdir / "k.yaml").write_text(K8S.splitlines()[0] + "\n")
    started: list[forked.Forked] = []
    real_start = forked.start

    def start(works: list[Any]) -> forked.Forked:
        started.append(real_start(works))
        return started[-1]

    def broken_plan(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the plan broke")

    monkeypatch.setattr(forked, "start", start)
    monkeypatch.setattr(render, "plan", broken_plan)
    args = ["render", "--roster", "r.yaml", "--k8s-users", "k.yaml", "-o", "out", "--no-cache"]
    with pytest.raises(RuntimeError, match="the plan broke"):
        CliRunner().invoke(cli, args, catch_exceptions=False)
    assert started, "the policies were judged in a child"
    assert all(judging.pid is None for judging in started)
    assert not (workdir / "out").exists()
