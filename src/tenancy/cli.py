"""Command line: parse options into frozen Params, build the parts, run. Shell.

Each click command only converts options into a Params value and calls a `run_*` function that
returns an ExitCode (STYLE rule 6). `main` is the one place a TenancyError becomes exit 3.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

import click

from tenancy import (
    __version__,
    access,
    access_report,
    catalogue,
    diff_report,
    files,
    git,
    k8s_schema,
    regotest,
    resources,
    revision,
    tools,
    write,
)
from tenancy import diff as diff_module
from tenancy.audit import audit
from tenancy.check import InputFile, check
from tenancy.config import resolve
from tenancy.diff import LEVELS, RANK
from tenancy.errors import Diagnostic, ExitCode, Report, TenancyError, sort_diagnostics
from tenancy.load import parse_bytes
from tenancy.model import Config, Person, build
from tenancy.policy import PolicyEngine, PolicySet
from tenancy.render import profiles
from tenancy.render import render as render_tree
from tenancy.report import FORMAT_NAMES, emit

ENGINES = ("embedded", "opa")


@dataclass(frozen=True, slots=True, kw_only=True)
class InputParams:
    config: Path | None
    roster: Path | None
    k8s_users: Path | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidateParams:
    inputs: InputParams
    format: str
    engine: str
    opa_url: str | None
    waivers: Path | None
    policies: bool
    strict: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TestParams:
    coverage: bool
    match: str | None
    config: Path | None
    format: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderParams:
    inputs: InputParams
    output: Path | None
    check: bool
    format: str
    engine: str
    opa_url: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffParams:
    base: str | None
    head: str | None
    config: Path | None
    roster: str | None
    k8s_users: str | None
    format: str
    fail_on: str | None
    quota_factor: float


class UsageError(click.UsageError):
    """A usage mistake found after option parsing (exit 2, with click's usage line)."""


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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tenancy")
def cli() -> None:
    """Check, render and audit Kubernetes multi-tenancy from a roster and a k8s_users map.

    Exit codes: 0 clean, 1 findings or drift, 2 usage error, 3 environment failure.
    """


@cli.command()
@input_options
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(FORMAT_NAMES),
    default="auto",
    show_default=True,
    help="Output format (auto: github under GitHub Actions, else text).",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="embedded",
    show_default=True,
    help="Rego engine: in-process, or a real OPA server at --opa-url.",
)
@click.option("--opa-url", envvar="TENANCY_OPA_URL", help="OPA server URL (env TENANCY_OPA_URL).")
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
        inputs=InputParams(config=config_path, roster=roster, k8s_users=k8s_users),
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
    "--format",
    "-f",
    "fmt",
    type=click.Choice(FORMAT_NAMES),
    default="auto",
    show_default=True,
    help="Format of findings.",
)
@click.option("--engine", type=click.Choice(ENGINES), default="embedded", show_default=True)
@click.option("--opa-url", envvar="TENANCY_OPA_URL", help="OPA server URL (env TENANCY_OPA_URL).")
def render(
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
    output: Path | None,
    check: bool,
    fmt: str,
    engine: str,
    opa_url: str | None,
) -> None:
    """Render the inputs into Kubernetes and Vault manifests (only inputs that validate).

    The output is byte-for-byte deterministic; the tree is swapped in atomically and only files
    tenancy wrote before (listed in INDEX.json) are ever deleted.
    """
    params = RenderParams(
        inputs=InputParams(config=config_path, roster=roster, k8s_users=k8s_users),
        output=output,
        check=check,
        format=fmt,
        engine=engine,
        opa_url=opa_url,
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
@click.option("--fail-on", type=click.Choice(LEVELS), help="Exit 1 when a change reaches this.")
@click.option(
    "--quota-factor",
    type=float,
    default=2.0,
    show_default=True,
    help="A quota raised by more than this factor is high severity.",
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
) -> None:
    """Show what a change does to each person's access, between two git revisions.

    BASE defaults to the merge-base with the default branch, HEAD to the working tree. Both
    are validated and rendered afresh from git; the committed manifests are never trusted.
    """
    params = DiffParams(
        base=base,
        head=head,
        config=config_path,
        roster=roster,
        k8s_users=k8s_users,
        format=fmt,
        fail_on=fail_on,
        quota_factor=quota_factor,
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
    people = current_people(InputParams(config=config_path, roster=roster, k8s_users=k8s_users))
    key = (
        user
        if user in people
        else next((p.id for p in people.values() if user in p.os_users), None)
    )
    if key is None:
        raise UsageError(f"no person {user!r} in k8s_users or the roster")
    click.echo(access_report.explain(people[key], fmt), nl=False)


@cli.command(name="who-can")
@click.argument("verb")
@click.argument("resource")
@click.option("--namespace", "-n", help="Only grants that apply in this namespace.")
@input_options
@click.option(
    "--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def who_can(
    verb: str,
    resource: str,
    namespace: str | None,
    config_path: Path | None,
    roster: Path | None,
    k8s_users: Path | None,
    fmt: str,
) -> None:
    """List who can VERB RESOURCE (e.g. `get secrets -n cleo`), from the rendered objects."""
    people = current_people(InputParams(config=config_path, roster=roster, k8s_users=k8s_users))
    click.echo(access_report.who_can(people, verb, resource, namespace, fmt), nl=False)


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
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="tenancy.yaml whose extra policy directories are included.",
)
@click.option(
    "--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def test_command(coverage: bool, match: str | None, config_path: Path | None, fmt: str) -> None:
    """Run every *_test.rego test rule in the embedded engine (one result per test)."""
    raise SystemExit(
        run_test(TestParams(coverage=coverage, match=match, config=config_path, format=fmt))
    )


@cli.command(name="rules")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="tenancy.yaml whose extra policy directories are included.",
)
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
    policies = files.read_policies(policy_dirs(optional_config(config_path)))
    click.echo(catalogue.render(policies.catalogue(), fmt), nl=False)


def optional_config(path: Path | None) -> Config:
    """The config when there is one; commands that only need policy directories use this."""
    found = path or files.find_config(Path.cwd())
    if found is None:
        return Config()
    config, problems = load_config(InputParams(config=found, roster=None, k8s_users=None))
    if config is None:
        emit(Report(diagnostics=tuple(sort_diagnostics(problems))), "text")
        raise SystemExit(ExitCode.FINDINGS)
    return config


def run_test(params: TestParams) -> ExitCode:
    policies = files.read_policies(policy_dirs(optional_config(params.config)))
    outcome = regotest.run(policies, match=params.match)
    click.echo(
        catalogue.render_tests(outcome, fmt=params.format, coverage=params.coverage), nl=False
    )
    failed = any(not r.passed for r in outcome.results)
    uncovered = params.coverage and any(not c.covered for c in outcome.coverage)
    if not outcome.results:
        click.echo("no Rego tests found", err=True)
        return ExitCode.FINDINGS
    return ExitCode.FINDINGS if failed or uncovered else ExitCode.OK


def load_config(params: InputParams) -> tuple[Config | None, list[Diagnostic]]:
    """Find, read and resolve tenancy.yaml; command-line paths override its inputs."""
    path = params.config or files.find_config(Path.cwd())
    if params.config is None and path is None and not (params.roster or params.k8s_users):
        raise UsageError(
            f"no {files.CONFIG_NAME} found in {Path.cwd()} or its parents; "
            "pass --config PATH, or --roster PATH and --k8s-users PATH"
        )
    config = Config()
    if path is not None:
        shown = files.display(path.resolve())
        raw, problems = files.read_input(path, shown, max_bytes=config.max_file_bytes)
        if raw is None:
            return None, problems
        document, problems = parse_bytes(shown, raw)
        if document is None:
            return None, problems
        resolved, problems = resolve(document, path.resolve())
        if resolved is None:
            return None, problems
        config = resolved
    if params.roster or params.k8s_users:
        # Naming one input on the command line means: check exactly what was named.
        config = replace(
            config,
            roster=str(params.roster) if params.roster else None,
            k8s_users=str(params.k8s_users) if params.k8s_users else None,
        )
    return config, []


def read_inputs(config: Config) -> list[InputFile]:
    inputs: list[InputFile] = []
    for name, value in (("roster", config.roster), ("k8s_users", config.k8s_users)):
        if value is None:
            continue
        path = Path(value)
        shown = files.display(path)
        raw, problems = files.read_input(path, shown, max_bytes=config.max_file_bytes)
        inputs.append(
            InputFile(name=name, shown=shown, raw=raw, problems=tuple(problems))  # type: ignore[arg-type]
        )
    return inputs


def policy_dirs(config: Config) -> list[Path]:
    return [resources.data_dir("policies"), *(Path(p) for p in config.policy_dirs)]


def build_engine(engine: str, opa_url: str | None, policies: PolicySet) -> PolicyEngine:
    if engine == "opa":
        if not opa_url:
            raise UsageError("--engine opa needs --opa-url URL (or TENANCY_OPA_URL)")
        from tenancy.policy.server import OpaServerEngine

        return OpaServerEngine(opa_url, policies.sources())
    from tenancy.policy.embedded import EmbeddedEngine

    return EmbeddedEngine(policies.sources())


def run_validate(params: ValidateParams) -> ExitCode:
    config, problems = load_config(params.inputs)
    if config is None:
        return finish(Report(diagnostics=tuple(sort_diagnostics(problems))), params.format, False)
    inputs = read_inputs(config)
    engine = policies = None
    if params.policies:
        policies = files.read_policies(policy_dirs(config))
        engine = build_engine(params.engine, params.opa_url, policies)
    waivers = read_waivers(params.waivers, config)
    checked = check(inputs, config, engine=engine, policies=policies, waivers=waivers)
    return finish(checked.report, params.format, params.strict)


def read_waivers(explicit: Path | None, config: Config) -> InputFile | None:
    """The waivers file: named on the command line, or the config's (absent is fine then)."""
    path = explicit or (Path(config.waivers) if config.waivers else None)
    if path is None or (explicit is None and not path.exists()):
        return None
    shown = files.display(path)
    raw, problems = files.read_input(path, shown, max_bytes=config.max_file_bytes)
    return InputFile(name="waivers", shown=shown, raw=raw, problems=tuple(problems))


def input_sources(config: Config) -> dict[str, str]:
    """How generated headers name the inputs: relative to the config file, POSIX, stable."""
    base = Path(config.path).parent if config.path else Path.cwd()
    names = {}
    for name, value in (("roster", config.roster), ("k8s_users", config.k8s_users)):
        if value is None:
            names[name] = name
            continue
        path = Path(value)
        names[name] = Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    return names


def run_render(params: RenderParams) -> ExitCode:
    config, problems = load_config(params.inputs)
    if config is None:
        return finish(Report(diagnostics=tuple(sort_diagnostics(problems))), params.format, False)
    if config.roster is None or config.k8s_users is None:
        raise UsageError("render needs both inputs: --roster PATH and --k8s-users PATH")
    policies = files.read_policies(policy_dirs(config))
    engine = build_engine(params.engine, params.opa_url, policies)
    checked = check(
        read_inputs(config),
        config,
        engine=engine,
        policies=policies,
        waivers=read_waivers(None, config),
    )
    if not checked.report.ok:
        click.echo("tenancy render: the inputs do not validate; nothing was rendered", err=True)
        return finish(checked.report, params.format, False)
    output = params.output or Path(config.output)
    shown = files.display(output)
    inventory = build(checked.documents["roster"].data, checked.documents["k8s_users"].data, config)
    rendered, problems = render_tree(
        inventory, profiles.load(), sources=input_sources(config), output=shown
    )
    problems += audit(engine, policies, rendered, config, shown)
    problems += k8s_schema.check(rendered.manifests, rendered.files, shown)
    problems += tools.check_hcl(rendered.files, shown)
    problems += tools.check_kustomize(rendered.files, shown)
    if params.check:
        problems += write.compare(output, rendered, shown)
    report = Report(
        diagnostics=tuple(sort_diagnostics([*checked.report.diagnostics, *problems])),
        files=(*checked.report.files, shown),
    )
    if not report.ok or params.check:
        return finish(report, params.format, False)
    result = write.write(output, rendered)
    code = finish(report, params.format, False)
    verb = "rendered" if result.changed else "up to date:"
    click.echo(
        f"{verb} {len(rendered.files)} files in {shown}"
        + (f" ({result.removed} removed, {result.kept} hand-added kept)" if result.changed else ""),
        err=True,
    )
    return code


def current_people(params: InputParams) -> dict[str, Person]:
    """Validate and render the working tree in memory, and compute everyone's access."""
    config, problems = load_config(params)
    if config is None or config.roster is None or config.k8s_users is None:
        if problems:
            emit(Report(diagnostics=tuple(sort_diagnostics(problems))), "text")
            raise SystemExit(ExitCode.FINDINGS)
        raise UsageError("needs both inputs: --roster PATH and --k8s-users PATH")
    policies = files.read_policies(policy_dirs(config))
    engine = build_engine("embedded", None, policies)
    checked = check(read_inputs(config), config, engine=engine, policies=policies)
    if "roster" not in checked.documents or "k8s_users" not in checked.documents:
        emit(checked.report, "text")
        raise SystemExit(ExitCode.FINDINGS)
    inventory = build(checked.documents["roster"].data, checked.documents["k8s_users"].data, config)
    rendered, _ = render_tree(inventory, profiles.load(), sources=input_sources(config))
    return access.people(inventory, rendered)


def run_diff(params: DiffParams) -> ExitCode:
    repo = git.toplevel(Path.cwd())
    config_file = params.config or files.find_config(Path.cwd())
    if config_file is None and not (params.roster and params.k8s_users):
        raise UsageError(
            f"no {files.CONFIG_NAME} found; pass --config, or --roster and --k8s-users "
            "(paths inside the repository)"
        )
    config_rel = None
    if config_file is not None:
        try:
            config_rel = config_file.resolve().relative_to(repo.resolve()).as_posix()
        except ValueError as exc:
            raise UsageError(f"{config_file} is not inside the repository {repo}") from exc
    base_rev = git.resolve(repo, params.base) if params.base else git.default_base(repo)
    head_rev = git.resolve(repo, params.head) if params.head else None
    policies = files.read_policies([resources.data_dir("policies")])
    engine = build_engine("embedded", None, policies)
    snapshots = []
    configs = []
    for rev in (base_rev, head_rev):
        tree = git.Tree(repo, rev)
        snap, config = revision.snapshot(
            tree.label,
            tree.read,
            tree.listing,
            config_path=config_rel,
            roster=params.roster,
            k8s_users=params.k8s_users,
            engine=engine,
            policies=policies,
        )
        snapshots.append(snap)
        configs.append(config)
    head_config = configs[1] or configs[0]
    result = diff_module.diff(
        snapshots[0],
        snapshots[1],
        quota_factor=params.quota_factor,
        config_path=config_rel,
        waivers_path=head_config.waivers if head_config and head_config.waivers else None,
    )
    renderer = {
        "text": diff_report.text,
        "markdown": diff_report.markdown,
        "json": diff_report.as_json,
    }[params.format]
    click.echo(renderer(result), nl=False)
    worst = result.max_severity
    if params.fail_on and worst is not None and RANK[worst] <= RANK[params.fail_on]:  # type: ignore[index]
        return ExitCode.FINDINGS
    return ExitCode.OK


def finish(report: Report, fmt: str, strict: bool) -> ExitCode:
    emit(report, fmt)
    failing = not report.ok or (strict and report.count("warning") > 0)
    return ExitCode.FINDINGS if failing else ExitCode.OK


def main() -> NoReturn:
    """Entry point: the one place an environment failure becomes exit 3."""
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
