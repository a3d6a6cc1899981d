"""Options shared by several commands (the top-level ones, `vault`, `cluster` and `user`). Shell."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tenancy.validate.config import InputParams


def _allow_outside(_ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    """Called on every run (with False when the flag is absent): the setting never lingers."""
    from tenancy.inputs import files

    files.allow_outside = value
    return value


_ZONE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$")


def zone_option(
    ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    """`--zone` values, kept on the context for `input_params` (every command that reads the
    inputs takes them, without one more argument in each signature)."""
    for zone in value:
        if not _ZONE.match(zone) or len(zone) > 253:
            raise click.BadParameter(f"{zone!r} is not a DNS zone such as example.org")
    ctx.meta["tenancy.zones"] = tuple(value)
    return tuple(value)


#: `--zone` (repeatable): commands that build their inputs by hand (`diff`) use it alone.
zone_flag = click.option(
    "--zone",
    "zones",
    multiple=True,
    metavar="ZONE",
    expose_value=False,
    callback=zone_option,
    help="DNS zone the platform manages (repeatable); replaces tenancy.yaml's zones.",
)


def input_params(
    config_path: Path | None, roster: Path | None, k8s_users: Path | None
) -> InputParams:
    """The inputs a command reads, with the `--zone` values given on its command line."""
    from tenancy.validate.config import InputParams

    zones = click.get_current_context().meta.get("tenancy.zones", ())
    return InputParams(config=config_path, roster=roster, k8s_users=k8s_users, zones=zones)


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
            zone_flag,
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
                help="Rego engine: in-process, or a real OPA server at --opa-url (tenancy "
                "uploads its policies to that server, as policies tenancy/..., replacing them "
                "on each run).",
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
