"""What each command does: build the parts from Params and run them. Shell.

`cli.py` only parses options into the Params here. Heavy modules (render, diff, schema
validation of rendered output) are imported inside the commands that use them, so `validate`
starts fast.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tenancy import files, resources
from tenancy.check import InputFile, check, conclude, load_inputs, policy_stage
from tenancy.config import PLACEHOLDER_REPO, resolve
from tenancy.errors import Diagnostic, ExitCode, RepoError, Report, UsageError, sort_diagnostics
from tenancy.load import parse_bytes
from tenancy.model import Config
from tenancy.policy import PolicyEngine, PolicySet
from tenancy.report import emit

if TYPE_CHECKING:
    from tenancy.cache import Cache
    from tenancy.forked import Forked
    from tenancy.load import Document
    from tenancy.model import InputName, Inventory, Person
    from tenancy.render import Rendered
    from tenancy.render.profiles import Profiles
    from tenancy.stopwatch import Stopwatch


def say(text: str, *, err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + ("\n" if nl else ""))


@dataclass(frozen=True, slots=True, kw_only=True)
class InputParams:
    config: Path | None
    roster: Path | None
    k8s_users: Path | None
    zones: tuple[str, ...] = ()  # --zone: replaces the config's zones


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
    cache: bool = True
    timings: bool = False
    #: `--sync`: the sync wiring rendered, over the config's `render.sync.tool`.
    sync: str | None = None


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
    from tenancy import catalogue, regotest

    policies = files.read_policies(policy_dirs(optional_config(params.config)))
    outcome = regotest.run(policies, match=params.match)
    say(catalogue.render_tests(outcome, fmt=params.format, coverage=params.coverage), nl=False)
    failed = any(not r.passed for r in outcome.results)
    uncovered = params.coverage and any(not c.covered for c in outcome.coverage)
    if not outcome.results:
        say("no Rego tests found", err=True)
        return ExitCode.FINDINGS
    return ExitCode.FINDINGS if failed or uncovered else ExitCode.OK


def load_config(params: InputParams) -> tuple[Config | None, list[Diagnostic]]:
    """Find, read and resolve tenancy.yaml; command-line paths override its inputs."""
    if params.config is not None and not params.config.exists():
        # Named on the command line, a missing file is a mistake in the command, not a finding.
        raise UsageError(f"--config {params.config}: no such file")
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
    if params.zones:
        config = replace(config, zones=params.zones)
    return config, []


def repository(config: Config) -> Path | None:
    """The folder inputs must lie in: the config's (None without a config file)."""
    return Path(config.path).parent if config.path else None


def tree_path(output: Path, config: Config) -> str:
    """The output folder as the rendered sync objects name it: relative to the repository root
    (the config file's folder, else the working directory), wherever the command runs, so the
    same inputs render the same bytes from any folder. An output outside it keeps its path."""
    root = repository(config) or Path.cwd()
    try:
        return output.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return files.display(output)


def read_inputs(config: Config) -> list[InputFile]:
    inputs: list[InputFile] = []
    for name, value in (("roster", config.roster), ("k8s_users", config.k8s_users)):
        if value is None:
            continue
        path = Path(value)
        shown = files.display(path)
        raw, problems = files.read_input(
            path, shown, max_bytes=config.max_file_bytes, root=repository(config)
        )
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
    root = None if explicit else repository(config)
    raw, problems = files.read_input(path, shown, max_bytes=config.max_file_bytes, root=root)
    return InputFile(name="waivers", shown=shown, raw=raw, problems=tuple(problems))


def input_sources(config: Config) -> dict[str, str]:
    """How generated headers name the inputs: relative to the config file, POSIX, stable; the
    tier data as a template (`render/{}`, or the built-in's: tenancy.tier_data)."""
    from tenancy import tier_data

    base = Path(config.path).parent if config.path else Path.cwd()
    names = {"render": tier_data.header_template(config)}
    for name, value in (("roster", config.roster), ("k8s_users", config.k8s_users)):
        if value is None:
            names[name] = name
            continue
        path = Path(value)
        names[name] = Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    return names


def run_render(params: RenderParams) -> ExitCode:
    from tenancy.stopwatch import Stopwatch

    stopwatch = Stopwatch()
    try:
        return _render(params, stopwatch)
    finally:
        if params.timings:
            stopwatch.report()


#: The part of a render's writing done by the child that plans its part itself (`_render`).
CHILD_SHARE = 0.58


def _render(params: RenderParams, stopwatch: Stopwatch) -> ExitCode:
    from tenancy import render_memo, render_write, write
    from tenancy.cache import Cache
    from tenancy.model import build
    from tenancy.render import plan as plan_tree
    from tenancy.render import subset
    from tenancy.render_checks import Running, schema_key, start_checks

    with stopwatch.lap("load"):
        config, problems = load_config(params.inputs)
        if config is None:
            report = Report(diagnostics=tuple(sort_diagnostics(problems)))
            return finish(report, params.format, False)
        if config.roster is None or config.k8s_users is None:
            raise UsageError("render needs both inputs: --roster PATH and --k8s-users PATH")
        if params.sync is not None:
            sync = {**config.render.get("sync", {}), "tool": params.sync}
            config = replace(config, render={**config.render, "sync": sync})
        policies = files.read_policies(policy_dirs(config))
        engine = build_engine(params.engine, params.opa_url, policies)
        inputs = read_inputs(config)
        waivers = read_waivers(None, config)
        documents, loaded = load_inputs(inputs, config)
        profile, broken_data = site_profiles(config)
        if profile is None:
            return finish(
                Report(diagnostics=tuple(sort_diagnostics(broken_data))), params.format, False
            )

    # What the render makes of the config: the sync wiring's repository, when the one used
    # (tenancy.yaml's, else the tier data's) is the placeholder.
    placeholder = str(profile.settings["sync"]["repo_url"]).startswith(PLACEHOLDER_REPO)
    notes = config.render_notes if placeholder else ()

    def verdict(found: list[Diagnostic]) -> Report:
        return conclude(inputs, [*loaded, *found, *notes], config, waivers=waivers)

    def invalid(report: Report) -> ExitCode:
        say("tenancy render: the inputs do not validate; nothing was rendered", err=True)
        return finish(report, params.format, False)

    broken: Exception | None = None
    try:
        with stopwatch.lap("model"):
            inventory = build(documents["roster"].data, documents["k8s_users"].data, config)
            sources = input_sources(config)
    except (KeyError, TypeError, ValueError) as exc:
        broken = exc  # only inputs the policies reject can break the model
    clean = broken is None and Report(diagnostics=tuple(loaded)).ok
    # The policies judge the inputs in a child while this process goes on with the render
    # (at 10,000 users they take 0.6 s of the CPU that is otherwise idle here); nothing is
    # swapped in before their verdict, and a render they reject is thrown away. Inputs that
    # did not load clean are judged here and now, as `validate` judges them.
    judging = _judge_apart(
        documents, inputs, config, engine, policies, fork=clean and params.engine == "embedded"
    )
    # The parsed inputs (with every value's position) are not needed past the model: freed
    # here, their memory holds part of the plan instead (30 MB at 10,000 users).
    del documents

    verdicts: list[Report] = []

    def judged() -> Report:
        if not verdicts:
            with stopwatch.lap("validate"):
                verdicts.append(verdict(judging.result()[0]))
        return verdicts[0]

    if not clean:
        if not judged().ok:
            return invalid(judged())
        if broken is not None:
            raise broken
    output = params.output or Path(config.output)
    shown = files.display(output)
    placed = tree_path(output, config)
    store = Cache.from_environment(params.cache)
    # An OPA server's answers depend on its state, not only on what tenancy sends it: with
    # `--engine opa` neither the audit nor a whole render is answered from the cache.
    memoizable = params.engine == "embedded"
    # This render's key names its tree by what determines it (the checks' answers are filed
    # under it too); the whole render is answered from the memo only with the embedded engine.
    entry: str | None = None
    if store.root is not None:
        with stopwatch.lap("recall"):
            entry = render_memo.render_key(inventory, profile, sources, placed)
            known = (
                _recall(store, entry, policies, inventory, config, shown, output, params.check)
                if memoizable
                else None
            )
        if known is not None and (params.check or not known[1]):
            # Identical inputs were rendered and checked before: the disk was compared with
            # that render's digests, and a plain render finds nothing to write.
            validated = judged()
            if not validated.ok:
                return invalid(validated)
            findings, drift = known
            shown_drift = drift if params.check else []  # a plain render found none
            report = Report(
                diagnostics=tuple(
                    sort_diagnostics([*validated.diagnostics, *findings, *shown_drift])
                ),
                files=(*validated.files, shown),
            )
            code = finish(report, params.format, False)
            if not params.check and report.ok:
                say(f"up to date: {shown} (identical inputs were rendered before)", err=True)
            return code
    # The schema check's answer, if the cache has it, decides whether the writers run it.
    schema_known = store.get("k8s", schema_key(entry, shown)) if entry is not None else None
    # One render at a time writes a folder (a second one waits, then fails), and a write the
    # file system refuses is an environment error naming the path: exit 3 either way.
    with write.guarded(output, shown, lock=not params.check):
        # A child starts writing its part of the tree now, planning only that part, while this
        # process plans the whole tree (for the checks and for its own part). Its part is a little
        # more than half: this process plans the whole tree besides.
        keys = render_write.last(render_write.key_weights(inventory), CHILD_SHARE)
        writing = render_write.start(
            output,
            shown,
            check=params.check,
            schema=schema_known is None,
            keys=keys,
            planner=lambda: plan_tree(
                subset(inventory, keys), profile, sources=sources, output=placed
            ),
        )
        # This process plans the child's objects thin (no bodies), but for the kinds the checks
        # read: the child writes them, from its own plan.
        kinds = policies.kinds("rendered")
        thin = writing.keys if kinds is not None else frozenset()
        running: Running | None = None
        staged: write.Staged | None = None
        try:
            try:
                with stopwatch.lap("plan"):
                    planned = plan_tree(
                        inventory,
                        profile,
                        sources=sources,
                        output=placed,
                        thin=thin,
                        keep=kinds or frozenset(),
                    )
            except (KeyError, TypeError, ValueError):
                if judged().ok:
                    raise
            validated = judged()
            if not validated.ok:
                writing.cancel()
                return invalid(validated)
            problems = list(planned.problems)
            # The checks start from the plan, in another child, while the tree is written.
            running = start_checks(
                planned,
                tree=entry,
                engine=engine,
                policies=policies,
                inventory=inventory,
                config=config,
                output=shown,
                cache=store,
                stopwatch=stopwatch,
                schema_known=schema_known,
                audit_cacheable=memoizable,
            )
            began = time.perf_counter()
            with stopwatch.lap("write"):
                outcome = writing.finish(planned, stopwatch)
            staged = outcome.staged
            if outcome.schema is not None:
                stopwatch.record("k8s schema", began, outcome.schema_seconds)
            problems += outcome.drift
            problems += running.finish(stopwatch, outcome.schema)
        except BaseException:
            judging.cancel()  # a no-op once its verdict was taken
            writing.cancel()
            if running is not None:
                running.cancel()
            if staged is not None:
                staged.discard()
            raise
        # A name collision is not in the memo's findings: such a render is never memoized.
        clean_render = not planned.problems
        if entry is not None and memoizable and clean_render:
            with stopwatch.lap("remember"):
                render_memo.remember(store, entry, outcome.digests)
        report = Report(
            diagnostics=tuple(sort_diagnostics([*validated.diagnostics, *problems])),
            files=(*validated.files, shown),
        )
        if staged is None or not report.ok:
            if staged is not None:
                staged.discard()
            return finish(report, params.format, False)
        with stopwatch.lap("swap"):
            result = staged.commit()
        code = finish(report, params.format, False)
        if result.changed:
            say(
                f"rendered {len(outcome.digests)} files in {shown} ({result.written} written, "
                f"{result.unchanged} unchanged, {result.removed} removed, "
                f"{result.kept} hand-added kept)",
                err=True,
            )
            for path in result.kept_files:
                say(f"kept hand-added {shown}/{path}", err=True)
        else:
            say(f"up to date: {len(outcome.digests)} files in {shown}", err=True)
        return code


def _judge_apart(
    documents: dict[InputName, Document],
    inputs: list[InputFile],
    config: Config,
    engine: PolicyEngine,
    policies: PolicySet,
    *,
    fork: bool = True,
) -> Forked:
    """The policy stage over `documents`, started in a child (`tenancy.forked`).

    The child judges the documents as they are at the fork; this process lets go of them at
    once (they are 30 MB at 10,000 users). Should the child fail, its work is done here from
    the inputs' bytes, loaded again. With `fork` false (an OPA server's client, whose open
    connections must not be shared by two processes; inputs that did not load clean) the
    policies judge here and now."""
    from tenancy import forked

    held = [documents]

    def judge() -> list[Diagnostic]:
        loaded = held[0] if held else load_inputs(inputs, config)[0]
        return policy_stage(loaded, inputs, config, engine=engine, policies=policies)

    judging = forked.start([judge]) if fork else forked.here([judge])
    held.clear()
    return judging


def _recall(
    store: Cache,
    entry: str,
    policies: PolicySet,
    inventory: Inventory,
    config: Config,
    shown: str,
    output: Path,
    check: bool,
) -> tuple[list[Diagnostic], list[Diagnostic]] | None:
    """The findings of an identical render done before and the drift of the disk from it, or
    None when this render is new (or a part of its memo is missing). For a plain render
    (`check` false) a disk whose INDEX.json differs needs rendering anyway: None at once."""
    from tenancy import render_memo, write
    from tenancy.render import INDEX
    from tenancy.render_checks import audit_key, known_findings

    known = render_memo.recall(store, entry)
    if known is None:
        return None
    if not check and write.file_digest(output / INDEX) != known.tree:
        return None
    audit_entry = audit_key(
        entry, policies=policies, inventory=inventory, config=config, output=shown
    )
    findings = known_findings(store, audit_entry, entry, shown)
    if findings is None:
        return None
    return findings, write.compare_digests(output, known.digests, shown)


def current_render(params: InputParams) -> tuple[Config, Inventory, Rendered]:
    """Validate and render the working tree in memory (the committed manifests are not read);
    inputs that do not validate are reported and end the command (exit 1)."""
    from tenancy.model import build
    from tenancy.render import render as render_tree

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
    profile, broken = site_profiles(config)
    if profile is None:
        emit(Report(diagnostics=tuple(sort_diagnostics(broken))), "text")
        raise SystemExit(ExitCode.FINDINGS)
    rendered, _ = render_tree(inventory, profile, sources=input_sources(config))
    return config, inventory, rendered


def site_profiles(config: Config) -> tuple[Profiles | None, list[Diagnostic]]:
    """The tier profiles every render of `config` uses: the repository's own `render/` folder
    whole when it has one, else the built-in data, with the config's `render:` settings."""
    from tenancy import tier_data

    return tier_data.load(config)


def current_people(params: InputParams) -> dict[str, Person]:
    """Everyone's access, computed from the working tree rendered in memory."""
    from tenancy import access

    _, inventory, rendered = current_render(params)
    return access.people(inventory, rendered)


def run_diff(params: DiffParams) -> ExitCode:
    from tenancy import diff as diff_module
    from tenancy import diff_report, git, revision
    from tenancy.diff import RANK

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
    policies = files.read_policies([resources.data_dir("policies")])
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


def finish(report: Report, fmt: str, strict: bool) -> ExitCode:
    emit(report, fmt)
    failing = not report.ok or (strict and report.count("warning") > 0)
    return ExitCode.FINDINGS if failing else ExitCode.OK
