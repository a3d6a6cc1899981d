"""Command line: parse options into frozen Params, build the parts, run. Shell.

Each click command only converts options into a Params value and calls a `run_*` function that
returns an ExitCode (STYLE rule 6). `main` is the one place a TenancyError becomes exit 3.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from tenancy import __version__, resources
from tenancy.cli.options import (
    findings_options,
    input_options,
    input_params,
    policy_config_option,
    zone_flag,
)
from tenancy.errors import ExitCode, TenancyError, UsageError
from tenancy.validate.command import (
    TestParams,
    ValidateParams,
    optional_config,
    run_test,
    run_validate,
)
from tenancy.validate.policy.source import policy_dirs, read_policies

#: `tenancy.diff.changes.LEVELS`, written out so that every command does not import the diff engine
#: to build its options (tests/unit/diff/test_changes.py holds them equal).
FAIL_LEVELS = ("critical", "high", "medium", "low", "info")


class _Group(click.Group):
    """Turns tenancy's own usage errors into click's, so they print usage and exit 2."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _usage_in_command(cmd)
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            raise click.UsageError(str(exc), ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command's first sentence whole, wrapped (click cuts it to the line with `...`)."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _usage_in_command(command: click.Command) -> None:
    """Raise tenancy's usage errors as click's from inside each command's callback: click then
    gives them the command's context, so the usage shown is the command's
    (`Usage: tenancy who-can [OPTIONS] VERB RESOURCE`), not the top-level group's."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _usage_in_command(sub)
        return
    callback = command.callback
    if callback is None:
        return

    @functools.wraps(callback)
    def wrapped(*args: object, **kwargs: object) -> object:
        try:
            return callback(*args, **kwargs)
        except UsageError as exc:
            raise click.UsageError(str(exc)) from None

    command.callback = wrapped


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="tenancy")
def cli() -> None:
    """Check, render and audit Kubernetes multi-tenancy from a roster and a k8s_users map.

    Exit codes: 0 clean, 1 findings or drift, 2 usage error, 3 environment failure.
    """


@cli.command()
@input_options
@findings_options
@click.option(
    "--waivers",
    "waivers_path",
    type=click.Path(path_type=Path),
    help="Waivers file (default: the config's `waivers`, waivers.yaml beside it).",
)
@click.option("--no-policies", is_flag=True, help="Run the schema stage only.")
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
def validate(
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
    fmt: str,
    engine: str,
    opa_url: str | None,
    waivers_path: Path | None,
    no_policies: bool,
    strict: bool,
) -> None:
    """Validate the inputs against the JSON Schemas and the Rego policies.

    Every finding is reported at the file, line and column of the offending key.
    """
    params = ValidateParams(
        inputs=input_params(config_path, roster, k8s_users),
        format=fmt,
        engine=engine,
        opa_url=opa_url,
        waivers=waivers_path,
        policies=not no_policies,
        strict=strict,
    )
    raise SystemExit(run_validate(params))


@cli.command()
@input_options
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, file_okay=False),
    help="Output directory (default: the config's `output`, else ./manifests).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 listing every modified, missing and orphan file.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Run every check of the output afresh (default: reuse findings for identical content;"
    " also TENANCY_NO_CACHE=1).",
)
@click.option(
    "--timings",
    is_flag=True,
    help="Print how long each stage took, and the peak memory, to stderr.",
)
@click.option(
    "--sync",
    "sync_tool",
    type=click.Choice(["argocd", "flux", "both"]),
    help="Sync wiring to render under sync/ (default: the config's `render.sync.tool`, else both).",
)
@findings_options
def render(
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
    output: Path | None,
    check: bool,
    no_cache: bool,
    timings: bool,
    sync_tool: str | None,
    fmt: str,
    engine: str,
    opa_url: str | None,
) -> None:
    """Render the inputs into Kubernetes and Vault manifests (only inputs that validate).

    The output is byte-for-byte deterministic; the tree is swapped in atomically and only files
    tenancy wrote before (listed in INDEX.json) are ever deleted.
    """
    from tenancy.render.command import (  # the render's modules load only for it
        RenderParams,
        run_render,
    )

    params = RenderParams(
        inputs=input_params(config_path, roster, k8s_users),
        output=output,
        check=check,
        format=fmt,
        engine=engine,
        opa_url=opa_url,
        cache=not no_cache,
        timings=timings,
        sync=sync_tool,
    )
    raise SystemExit(run_render(params))


@cli.command(name="diff")
@click.argument("base", required=False)
@click.argument("head", required=False)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="tenancy.yaml (default: the nearest one above the working directory).",
)
@click.option("--roster", help="Roster path inside the repository (when there is no config).")
@click.option("--k8s-users", "k8s_users", help="k8s_users path inside the repository.")
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--fail-on", type=click.Choice(FAIL_LEVELS), help="Exit 1 when a change reaches this."
)
@click.option(
    "--quota-factor",
    type=float,
    default=2.0,
    show_default=True,
    help="A quota raised by more than this factor is high severity.",
)
@zone_flag
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Show every change (text, markdown); by default a person's low-severity changes past "
    "the first three are counted.",
)
def diff_command(
    base: str | None,
    head: str | None,
    config_path: Path | None,
    roster: str | None,
    k8s_users: str | None,
    fmt: str,
    fail_on: str | None,
    quota_factor: float,
    everything: bool,
) -> None:
    """Show what a change does to each person's access, between two git revisions.

    BASE defaults to the merge-base with the default branch, HEAD to the working tree. Both
    are validated and rendered afresh from git; the committed manifests are never trusted.
    """
    from tenancy.diff.command import DiffParams, run_diff

    params = DiffParams(
        base=base,
        head=head,
        config=config_path,
        roster=roster,
        k8s_users=k8s_users,
        format=fmt,
        fail_on=fail_on,
        quota_factor=quota_factor,
        everything=everything,
        zones=click.get_current_context().meta.get("tenancy.zones", ()),
    )
    raise SystemExit(run_diff(params))


@cli.command()
@click.argument("user")
@input_options
@click.option(
    "--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def explain(
    user: str, config_path: Path | None, roster: Path | None, k8s_users: Path | None, fmt: str
) -> None:
    """Print one person's effective access (USER is a k8s_users key or a roster os_user)."""
    from tenancy.diff.command import current_people

    people = current_people(input_params(config_path, roster, k8s_users))
    key = (
        user
        if user in people
        else next((p.id for p in people.values() if user in p.os_users), None)
    )
    if key is None:
        raise UsageError(f"no person {user!r} in k8s_users or the roster")
    from tenancy.diff import access_report

    click.echo(access_report.explain(people[key], fmt), nl=False)


@cli.command(name="who-can")
@click.argument("verb")
@click.argument("resource")
@click.option("--namespace", "-n", help="Ask as a request in this namespace would be asked.")
@click.option("--name", default="", help="The object's name (matters for resourceNames rules).")
@click.option("--vault", is_flag=True, help="RESOURCE is a Vault path, VERB a capability.")
@input_options
@click.option(
    "--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def who_can(
    verb: str,
    resource: str,
    namespace: str | None,
    name: str,
    vault: bool,
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
    fmt: str,
) -> None:
    """List who can VERB RESOURCE, from the rendered objects, as the RBAC authorizer decides.

    \b
    Kubernetes: RESOURCE as kubectl names it: plural, singular or short name (`secrets`,
    `secret`, `deploy`), group-qualified (`deployments.apps`, `deployments.v1.apps`), with a
    subresource (`pods/exec`). With -n, the people a request in that namespace is allowed for;
    without, every scope each person holds it in (`cluster-wide` = a ClusterRoleBinding).
    Vault: VERB a capability, RESOURCE a request path (`who-can read secret/data/cleo/db`),
    matched with Vault's ACL globs; a path with two or more `/` is taken as Vault's, else
    pass --vault. An unknown verb or resource is a usage error (exit 2) with a hint.
    """
    from tenancy.diff import access_report

    if vault or access_report.is_vault_path(verb, resource):
        path = access_report.vault_request(verb, resource)
        if namespace is not None:
            raise UsageError("--namespace does not apply to a Vault path")
        from tenancy.diff.command import current_people

        people = current_people(input_params(config_path, roster, k8s_users))
        click.echo(access_report.who_can_vault(people, verb, path, fmt), nl=False)
        return
    ref = access_report.kube_request(verb, resource)
    from tenancy.diff.command import current_people

    people = current_people(input_params(config_path, roster, k8s_users))
    text = access_report.who_can(people, verb.lower(), ref, namespace, fmt, name=name)
    click.echo(text, nl=False)


@cli.command(name="schema")
@click.argument("name", type=click.Choice(resources.SCHEMA_NAMES))
def schema_command(name: str) -> None:
    """Print a built-in JSON Schema (roster, k8s_users, tenancy, waivers)."""
    click.echo(resources.schema_text(name), nl=False)


@cli.command(name="test")
@click.option(
    "--coverage", is_flag=True, help="Require each rule to have a firing and a quiet case."
)
@click.option("--run", "match", metavar="TEXT", help="Only tests whose name contains TEXT.")
@policy_config_option
@click.option(
    "--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def test_command(coverage: bool, match: str | None, config_path: Path | None, fmt: str) -> None:
    """Run every *_test.rego test rule in the embedded engine (one result per test)."""
    raise SystemExit(
        run_test(TestParams(coverage=coverage, match=match, config=config_path, format=fmt))
    )


@cli.command(name="rules")
@policy_config_option
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
def rules_command(config_path: Path | None, fmt: str) -> None:
    """List the rule catalogue from the policies' METADATA."""
    policies = read_policies(policy_dirs(optional_config(config_path)))
    from tenancy.validate import catalogue

    click.echo(catalogue.render(policies.catalogue(), fmt), nl=False)


from tenancy.cli import cluster as cli_cluster  # noqa: E402  (no cycle: none imports this module)
from tenancy.cli import init as cli_init  # noqa: E402
from tenancy.cli import vault as cli_vault  # noqa: E402

cli.add_command(cli_vault.vault)
cli.add_command(cli_cluster.cluster)

cli.add_command(cli_init.init)

from tenancy.cli import people as cli_people  # noqa: E402  (no cycle: it does not import this module

cli.add_command(cli_people.user)


def main() -> NoReturn:
    """Entry point: run the command, then leave without the interpreter's teardown.

    A render holds hundreds of thousands of objects (a million at 10,000 users), and freeing
    each one at exit costs a tenth of a second to half a second for nothing: the process ends.
    Everything tenancy writes is closed (or renamed into place) before the command returns, so
    only the standard streams need flushing."""
    try:
        _run()
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - _run always raises SystemExit
        code = ExitCode.OK
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe or stream: nothing is left to say.
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(int(code or 0))


def _run() -> NoReturn:
    """The command, and the one place an environment failure becomes exit 3."""
    # A run is short and builds large acyclic data (10,000 users are ~400k objects); the cyclic
    # collector would walk it repeatedly for nothing (a third of `validate` at 10k users).
    gc.disable()
    try:
        cli.main(prog_name="tenancy", standalone_mode=False)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(ExitCode.USAGE) from None
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        raise SystemExit(ExitCode.FINDINGS) from None
    except TenancyError as exc:
        click.echo(f"tenancy: error: {exc}", err=True)
        raise SystemExit(ExitCode.ENVIRONMENT) from None
    except BrokenPipeError:
        # `tenancy ... | head`: stop quietly, as other Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(ExitCode.OK) from None
    raise SystemExit(ExitCode.OK)
