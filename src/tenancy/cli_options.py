"""Options shared by several commands (`cli.py` and `cli_vault.py` both use them). Shell."""

from __future__ import annotations

from pathlib import Path

import click


def _allow_outside(_ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    """Called on every run (with False when the flag is absent): the setting never lingers."""
    from tenancy import files

    files.allow_outside = value
    return value


def input_options(function: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(
        [
            click.option(
                "--config",
                "config_path",
                type=click.Path(path_type=Path, dir_okay=False),
                help="tenancy.yaml to use (default: the nearest one above the working directory).",
            ),
            click.option(
                "--roster",
                type=click.Path(path_type=Path),
                help="Roster file; overrides the config's inputs.roster.",
            ),
            click.option(
                "--k8s-users",
                "k8s_users",
                type=click.Path(path_type=Path),
                help="k8s_users file (YAML, or JSON by .json suffix); overrides the config.",
            ),
            click.option(
                "--allow-outside",
                is_flag=True,
                expose_value=False,
                callback=_allow_outside,
                help="Read inputs outside the config's folder (refused by default: a path or "
                "symlink in a pull request could point at any file).",
            ),
        ]
    ):
        function = option(function)
    return function


ENGINES = ("embedded", "opa")


def findings_options(function: click.decorators.FC) -> click.decorators.FC:
    """--format for findings, and the Rego engine (validate and render both evaluate policies)."""
    from tenancy.report import FORMAT_NAMES

    for option in reversed(
        [
            click.option(
                "--format",
                "-f",
                "fmt",
                type=click.Choice(FORMAT_NAMES),
                default="auto",
                show_default=True,
                help="Format of findings (auto: github under GitHub Actions, else text).",
            ),
            click.option(
                "--engine",
                type=click.Choice(ENGINES),
                default="embedded",
                show_default=True,
                help="Rego engine: in-process, or a real OPA server at --opa-url.",
            ),
            click.option(
                "--opa-url", envvar="TENANCY_OPA_URL", help="OPA server URL (env TENANCY_OPA_URL)."
            ),
        ]
    ):
        function = option(function)
    return function


#: `test` and `rules` only need the config for its extra policy directories.
policy_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="tenancy.yaml whose extra policy directories are included.",
)
