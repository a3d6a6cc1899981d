"""policy/server.py against a real OPA server: what tenancy writes there, it says."""

from __future__ import annotations

import json

from tests.conftest import REPO, RunCli


def test_the_upload_to_an_opa_server_is_said_once_on_stderr(run: RunCli, opa_url: str) -> None:
    """`--engine opa` writes tenancy's policies to the server under `tenancy/`: one line on
    stderr says so, and stdout stays the findings alone (valid JSON)."""
    case = REPO / "tests/examples/policy/namespace-claimed-twice"
    result = run("validate", "-f", "json", "--engine", "opa", "--opa-url", opa_url, cwd=case)
    announced = [line for line in result.stderr.splitlines() if "uploaded" in line]
    assert len(announced) == 1
    assert f"OPA server at {opa_url}" in announced[0] and "tenancy/" in announced[0]
    assert json.loads(result.stdout)["ok"] is False


def test_the_engine_option_says_where_the_policies_go(run: RunCli) -> None:
    """The --engine help names the upload."""
    result = run("validate", "--help")
    assert "uploads its policies" in " ".join(result.output.split())
