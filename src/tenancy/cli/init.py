"""`tenancy init [DIR]`: options into InitParams; the work is `tenancy.people.init`'s. Shell."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from tenancy.errors import UsageError

#: tenancy.yaml's `zones` items (schemas/tenancy.schema.json): a DNS name with at least one dot.
ZONE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+")


def zones_of(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Zones as given (commas or spaces between them), lowercased, each checked, duplicates
    dropped in order."""
    found: list[str] = []
    for value in values:
        for word in re.split(r"[\s,]+", value.strip().lower()):
            zone = word.rstrip(".")
            if not zone:
                continue
            if not ZONE.fullmatch(zone):
                raise UsageError(f"{zone!r} is not a DNS zone (a name with at least one dot)")
            if zone not in found:
                found.append(zone)
    return tuple(found)


def interactive() -> bool:
    """Whether a person can answer (scripts, CI and pipes pass --zone instead)."""
    return sys.stdin.isatty()


@click.command(name="init", short_help="Create a working tenancy repository in DIR (default: .).")
@click.argument(
    "folder", metavar="DIR", required=False, default=".", type=click.Path(path_type=Path)
)
@click.option(
    "--zone",
    "zones",
    multiple=True,
    metavar="ZONE",
    help="DNS zone tenant domains lie in (repeatable; asked on a terminal when not given).",
)
@click.option(
    "--repo-url",
    metavar="URL",
    help="Where Argo CD and Flux fetch this repository (default: the git remote `origin`).",
)
def init(folder: Path, zones: tuple[str, ...], repo_url: str | None) -> None:
    """Create a working tenancy repository in DIR (default: the working directory).

    Writes tenancy.yaml, tenants/roster.yaml and tenants/k8s_users.yaml (with commented
    examples), the tier data in render/ (a copy of the built-in data, now the repository's),
    a Woodpecker pipeline (.woodpecker.yml) and a .pre-commit-config.yaml using tenancy's
    hooks. An existing file is never overwritten; a second run changes nothing.
    """
    from tenancy.people import init as app_init

    chosen = zones_of(zones)
    if not zones and interactive() and not (folder / "tenancy.yaml").exists():
        answer = click.prompt(
            "DNS zones tenant domains lie in (e.g. apps.example.org; empty for none)",
            default="",
            show_default=False,
        )
        chosen = zones_of([answer])
    params = app_init.InitParams(folder=folder, zones=chosen, repo_url=repo_url)
    raise SystemExit(app_init.run_init(params))
