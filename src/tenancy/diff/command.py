"""`tenancy diff`, `explain` and `who-can`: two revisions (or the working tree) rendered in
memory and compared as access. Shell: reads git."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tenancy import resources
from tenancy.errors import ExitCode, RepoError, Report, UsageError, sort_diagnostics
from tenancy.inputs import files
from tenancy.model import Config
from tenancy.report import emit
from tenancy.validate.check import check
from tenancy.validate.policy.source import read_policies

if TYPE_CHECKING:
    from tenancy.model import Inventory, Person
    from tenancy.render.plan import Rendered


from tenancy.inputs.read import read_inputs
from tenancy.render.command import input_sources, site_profiles
from tenancy.report import say
from tenancy.validate.command import build_engine
from tenancy.validate.config import InputParams, load_config
from tenancy.validate.policy.source import policy_dirs


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
    #: `--all`: every change in text and Markdown, not a count of the low ones past a few.
    everything: bool = False
    zones: tuple[str, ...] = ()  # --zone: replaces each revision's configured zones


def current_render(params: InputParams) -> tuple[Config, Inventory, Rendered]:
    """Validate and render the working tree in memory (the committed manifests are not read);
    inputs that do not validate are reported and end the command (exit 1)."""
    from tenancy.model import build
    from tenancy.render.plan import render as render_tree

    config, problems = load_config(params)
    if config is None or config.roster is None or config.k8s_users is None:
        if problems:
            emit(Report(diagnostics=tuple(sort_diagnostics(problems))), "text")
            raise SystemExit(ExitCode.FINDINGS)
        raise UsageError("needs both inputs: --roster PATH and --k8s-users PATH")
    policies = read_policies(policy_dirs(config))
    engine = build_engine("embedded", None, policies)
    checked = check(read_inputs(config), config, engine=engine, policies=policies)
    if "roster" not in checked.documents or "k8s_users" not in checked.documents:
        emit(checked.report, "text")
        raise SystemExit(ExitCode.FINDINGS)
    inventory = build(checked.documents["roster"].data, checked.documents["k8s_users"].data, config)
    profile, broken = site_profiles(config)
    if profile is None:
        emit(Report(diagnostics=tuple(sort_diagnostics(broken))), "text")
        raise SystemExit(ExitCode.FINDINGS)
    # Access is read from the objects: no YAML is written for them (`text=False`).
    rendered, _ = render_tree(inventory, profile, sources=input_sources(config), text=False)
    return config, inventory, rendered


def current_people(params: InputParams) -> dict[str, Person]:
    """Everyone's access, computed from the working tree rendered in memory."""
    from tenancy.diff import access

    _, inventory, rendered = current_render(params)
    return access.people(inventory, rendered)


def run_diff(params: DiffParams) -> ExitCode:
    from tenancy.diff import changes as diff_module
    from tenancy.diff import report as diff_report
    from tenancy.diff import revision
    from tenancy.diff.changes import RANK
    from tenancy.inputs import git

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
    try:  # a revision git does not know is a mistake on the command line, not the machine's
        base_rev = git.resolve(repo, params.base) if params.base else git.default_base(repo)
        head_rev = git.resolve(repo, params.head) if params.head else None
    except RepoError as exc:
        raise UsageError(str(exc)) from None
    policies = read_policies([resources.data_dir("policies")])
    engine = build_engine("embedded", None, policies)
    snapshots = []
    configs = []
    for rev in (base_rev, head_rev):
        tree = git.Tree(repo, rev)
        snap, config = revision.snapshot(
            tree.label,
            tree.read if rev is not None else files.inside_reader(repo, tree.read),
            tree.listing,
            config_path=config_rel,
            roster=params.roster,
            k8s_users=params.k8s_users,
            engine=engine,
            policies=policies,
            zones=params.zones,
            escapes=None if rev is not None else lambda path: files.outside(repo / path, repo),
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
    if params.format == "text":
        shown = diff_report.text(result, everything=params.everything)
    elif params.format == "markdown":
        shown = diff_report.markdown(result, everything=params.everything)
    else:
        shown = diff_report.as_json(result)
    say(shown, nl=False)
    if result.problems:  # a side that does not load or validate is never a silent pass
        return ExitCode.FINDINGS
    worst = result.max_severity
    if params.fail_on and worst is not None and RANK[worst] <= RANK[params.fail_on]:  # type: ignore[index]
        return ExitCode.FINDINGS
    return ExitCode.OK
