"""`tenancy --help` and shell completion, as a user meets them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import RunCli

TENANCY = Path(sys.executable).parent / "tenancy"


def test_help_shows_whole_command_summaries(run: RunCli) -> None:
    """No summary is cut short with `...`: who-can's first sentence is there whole."""
    result = run("--help", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    commands = result.output.split("Commands:", 1)[1]
    assert "..." not in commands
    assert "as the RBAC\n" in commands or "as the RBAC authorizer decides." in commands
    assert (
        " ".join(commands.split()).count(
            "List who can VERB RESOURCE, from the rendered objects, as the RBAC authorizer decides."
        )
        == 1
    )
    assert "init" in commands


def test_bash_completion_completes_commands_and_options() -> None:
    """The documented `_TENANCY_COMPLETE=bash_source tenancy` script, and its answers."""
    script = subprocess.run(
        [str(TENANCY)],
        env={**os.environ, "_TENANCY_COMPLETE": "bash_source"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "_tenancy_completion" in script.stdout
    answer = subprocess.run(
        [str(TENANCY)],
        env={
            **os.environ,
            "_TENANCY_COMPLETE": "bash_complete",
            "COMP_WORDS": "tenancy init --z",
            "COMP_CWORD": "2",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert answer.stdout.split() == ["plain,--zone"]
