"""Options shared by several commands (`cli.py` and `cli_vault.py` both use them). Shell."""

from __future__ import annotations

from pathlib import Path

import click


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
        ]
    ):
        function = option(function)
    return function
