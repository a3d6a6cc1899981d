"""Usage errors: the command's own usage line, and exit 2 for a mistake in the command."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO, RunCli


def test_a_command_error_shows_the_commands_usage(run: RunCli) -> None:
    """A usage error raised inside `who-can` prints who-can's usage, not the group's."""
    result = run("who-can", "get", "secretz", cwd=REPO)
    assert result.exit_code == 2
    assert "who-can [OPTIONS] VERB RESOURCE" in result.output
    assert "[OPTIONS] COMMAND" not in result.output
    assert "did you mean 'secret'?" in result.output


def test_a_nested_command_error_shows_its_own_usage(run: RunCli, workdir: Path) -> None:
    """The same below a subgroup: `vault plan` names itself."""
    result = run("vault", "plan", "--config", "nope.yaml")
    assert result.exit_code == 2
    assert "vault plan [OPTIONS]" in result.output


def test_a_missing_config_named_on_the_command_line_is_a_usage_error(
    run: RunCli, workdir: Path
) -> None:
    """`--config nope.yaml` is a mistake in the command (exit 2), not a finding in 0 files."""
    result = run("validate", "--config", "nope.yaml")
    assert result.exit_code == 2
    assert "validate [OPTIONS]" in result.output
    assert "--config nope.yaml: no such file" in result.output
    assert "in 0 file" not in result.output
