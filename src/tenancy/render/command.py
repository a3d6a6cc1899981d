"""`tenancy render`: validated inputs in, a committed tree out, as named stages. Shell.

`render` reads top to bottom; each stage is a function here that takes and returns values,
and serves itself from one module of this package:

    load      the config, the inputs, the policies and the tier data, read and parsed
    model     the inventory the tree is a function of (`tenancy.model`)
    judge     the policies judge the inputs, in a child while the render goes on
    recall    an identical render done before answers from the memo (`memo`)
    plan      every object decided (`plan`), while a child already writes its part of the tree
    write     the tree staged or compared (`writers`, `write`), the Kubernetes schemas checked
              on the way (`checks.k8s_schema`)
    check     the audit, OpenBao's parser and kustomize judge the plan (`checks`)
    remember  the tree's digests kept for the next identical render (`memo`)
    swap      the staged tree replaces the old one, only when nothing failed (`write`)

What each stage may skip because the cache already knows is that stage's business (`recall`
answers or does not; `checks.start_checks` returns findings it knew; the writers run the schema
check only when its answer is not known). What each of the render's speed-ups buys, measured,
is in docs/render-pipeline.md.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from tenancy.errors import Diagnostic, ExitCode, Report, UsageError, sort_diagnostics
from tenancy.inputs.files import display
from tenancy.inputs.load import Document
from tenancy.inputs.read import InputFile, read_inputs, read_waivers, tree_path
from tenancy.model import Config, InputName, Inventory, build
from tenancy.render import checks, concurrent, memo, write, writers
from tenancy.render.cache import Cache
from tenancy.render.plan import Plan, subset, tier_data
from tenancy.render.plan import plan as plan_tree
from tenancy.render.plan.profiles import Profiles
from tenancy.render.stopwatch import Stopwatch
from tenancy.report import finish, say
from tenancy.validate.check import conclude, load_inputs, policy_stage
from tenancy.validate.command import build_engine
from tenancy.validate.config import PLACEHOLDER_REPO, InputParams, load_config
from tenancy.validate.policy import PolicyEngine, PolicySet
from tenancy.validate.policy.source import policy_dirs, read_policies


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


@dataclass(frozen=True, slots=True)
class Done:
    """How a render ended: its report, and what to tell the person on stderr after it."""

    report: Report
    said: tuple[str, ...] = ()
    #: The inputs do not validate: nothing was rendered (said before the report).
    refused: bool = False


def run_render(params: RenderParams) -> ExitCode:
    stopwatch = Stopwatch()
    try:
        done = render(params, stopwatch)
        if done.refused:
            say("tenancy render: the inputs do not validate; nothing was rendered", err=True)
        code = finish(done.report, params.format, False)
        for line in done.said:
            say(line, err=True)
        return code
    finally:
        if params.timings:
            stopwatch.report()


def render(params: RenderParams, stopwatch: Stopwatch) -> Done:
    """The render, stage by stage (see the module's docstring)."""
    with stopwatch.lap("load"):
        loaded = load(params)
    if isinstance(loaded, Done):
        return loaded
    with stopwatch.lap("model"):
        modeled = model(loaded)
    verdict = judge(loaded, modeled)
    # The parsed inputs (with every value's position) are not needed past the model and the
    # judge's fork: let go of, their memory holds part of the plan instead (30 MB at 10,000).
    loaded = replace(loaded, documents={})
    if not modeled.clean:
        refused = verdict.refusal(stopwatch)
        if refused is not None:
            return refused
        if modeled.broken is not None:
            raise modeled.broken
    inventory = modeled.inventory
    assert inventory is not None  # a model that broke was refused or raised just above
    target = where(params, loaded, inventory, modeled.sources, stopwatch)
    known = recall(target, loaded, inventory, verdict, stopwatch)
    if known is not None:
        return known
    # One render at a time writes a folder (a second one waits, then fails), and a write the
    # file system refuses is an environment error naming the path: exit 3 either way.
    with write.guarded(target.output, target.shown, lock=not target.check):
        return produce(target, loaded, inventory, modeled.sources, verdict, stopwatch)


# --- load, model, judge ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Loaded:
    """Everything a render reads before it decides anything."""

    config: Config
    engine_name: str
    engine: PolicyEngine
    policies: PolicySet
    inputs: list[InputFile]
    waivers: InputFile | None
    documents: dict[InputName, Document]
    #: What loading found (parse errors, schema errors), and notes about the config.
    problems: list[Diagnostic]
    profile: Profiles


def load(params: RenderParams) -> Loaded | Done:
    """Read the config, the inputs, the waivers, the policies and the tier data."""
    config, problems = load_config(params.inputs)
    if config is None:
        return Done(Report(diagnostics=tuple(sort_diagnostics(problems))))
    if config.roster is None or config.k8s_users is None:
        raise UsageError("render needs both inputs: --roster PATH and --k8s-users PATH")
    if params.sync is not None:
        sync = {**config.render.get("sync", {}), "tool": params.sync}
        config = replace(config, render={**config.render, "sync": sync})
    policies = read_policies(policy_dirs(config))
    engine = build_engine(params.engine, params.opa_url, policies)
    inputs = read_inputs(config)
    documents, loaded = load_inputs(inputs, config)
    profile, broken = site_profiles(config)
    if profile is None:
        return Done(Report(diagnostics=tuple(sort_diagnostics(broken))))
    # The sync wiring's repository, when the one used (tenancy.yaml's, else the tier data's)
    # is the placeholder: a note with the findings.
    placeholder = str(profile.settings["sync"]["repo_url"]).startswith(PLACEHOLDER_REPO)
    return Loaded(
        config=config,
        engine_name=params.engine,
        engine=engine,
        policies=policies,
        inputs=inputs,
        waivers=read_waivers(None, config),
        documents=documents,
        problems=[*loaded, *(config.render_notes if placeholder else ())],
        profile=profile,
    )


@dataclass(frozen=True, slots=True)
class Modeled:
    """The inventory (None when the inputs are too broken to build one) and the header names."""

    inventory: Inventory | None
    sources: dict[str, str]
    #: Why the model could not be built: only inputs the policies reject can break it.
    broken: Exception | None
    #: Loaded without a finding and modeled: the policies may judge it beside the render.
    clean: bool


def model(loaded: Loaded) -> Modeled:
    try:
        inventory = build(
            loaded.documents["roster"].data, loaded.documents["k8s_users"].data, loaded.config
        )
    except (KeyError, TypeError, ValueError) as exc:
        return Modeled(None, {}, exc, clean=False)
    loaded_clean = Report(diagnostics=tuple(loaded.problems)).ok
    return Modeled(inventory, input_sources(loaded.config), None, clean=loaded_clean)


@dataclass
class Judging:
    """The policy stage's work. It holds the parsed inputs only until the child is forked
    (`judge` lets go of them then); a child that fails is replaced by the work done here, from
    the inputs' bytes loaded again."""

    loaded: Loaded
    documents: dict[InputName, Document] | None

    def __call__(self) -> list[Diagnostic]:
        loaded = self.loaded
        documents = self.documents
        if documents is None:
            documents = load_inputs(loaded.inputs, loaded.config)[0]
        return policy_stage(
            documents, loaded.inputs, loaded.config, engine=loaded.engine, policies=loaded.policies
        )


@dataclass
class Verdict:
    """The validation's report once the policies have judged: taken once, when first needed."""

    task: concurrent.Task[list[Diagnostic]]
    loaded: Loaded
    taken: Report | None = None

    def report(self, stopwatch: Stopwatch) -> Report:
        if self.taken is None:
            with stopwatch.lap("validate"):
                loaded = self.loaded
                found = [*loaded.problems, *self.task.result()]
                self.taken = conclude(loaded.inputs, found, loaded.config, waivers=loaded.waivers)
        return self.taken

    def refusal(self, stopwatch: Stopwatch) -> Done | None:
        """The end of the render when the inputs do not validate, else None."""
        report = self.report(stopwatch)
        return None if report.ok else Done(report, refused=True)

    def cancel(self) -> None:
        self.task.cancel()  # a no-op once the verdict was taken


def judge(loaded: Loaded, modeled: Modeled) -> Verdict:
    """Start the policy stage over the parsed inputs, in a child (`concurrent`) while this
    process goes on with the render: at 10,000 users it is 0.6 s of the CPU that is otherwise
    idle here. Nothing is swapped in before its verdict. Inputs that did not load clean are
    judged here and now, as `validate` judges them, and so are they for an OPA server, whose
    client's open connections must not be shared by two processes."""
    work = Judging(replace(loaded, documents={}), loaded.documents)
    fork = modeled.clean and loaded.engine_name == "embedded"
    task = concurrent.start(work, concurrent.FINDINGS, fork=fork)
    work.documents = None
    return Verdict(task, work.loaded)


# --- where, recall --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """Where the tree goes and under which memo key it is known."""

    output: Path
    shown: str
    #: The output as the rendered sync objects name it (relative to the repository).
    placed: str
    check: bool
    store: Cache
    #: The memo key of this render (None: no cache), under which its checks are filed too.
    entry: str | None
    #: An OPA server's answers depend on its state, not only on what tenancy sends it: with
    #: `--engine opa` neither the audit nor a whole render is answered from the memo.
    memoizable: bool


def where(
    params: RenderParams,
    loaded: Loaded,
    inventory: Inventory,
    sources: dict[str, str],
    stopwatch: Stopwatch,
) -> Target:
    output = params.output or Path(loaded.config.output)
    placed = tree_path(output, loaded.config)
    store = Cache.from_environment(params.cache)
    entry = None
    if store.root is not None:
        with stopwatch.lap("recall"):
            entry = memo.render_key(inventory, loaded.profile, sources, placed)
    memoizable = params.engine == "embedded"
    return Target(output, display(output), placed, params.check, store, entry, memoizable)


def recall(
    target: Target, loaded: Loaded, inventory: Inventory, verdict: Verdict, stopwatch: Stopwatch
) -> Done | None:
    """An identical render checked before: the disk is compared with its digests, and a plain
    render finds nothing to write. None when this render is new to the memo."""
    if target.entry is None or not target.memoizable:
        return None
    with stopwatch.lap("recall"):
        known = memo.recall_checked(
            target.store,
            target.entry,
            policies=loaded.policies,
            inventory=inventory,
            config=loaded.config,
            shown=target.shown,
            output=target.output,
            check=target.check,
        )
    if known is None or (not target.check and known.drift):
        return None
    refused = verdict.refusal(stopwatch)
    if refused is not None:
        return refused
    validated = verdict.report(stopwatch)
    drift = known.drift if target.check else []  # a plain render found none
    report = Report(
        diagnostics=tuple(sort_diagnostics([*validated.diagnostics, *known.findings, *drift])),
        files=(*validated.files, target.shown),
    )
    said = (
        ()
        if target.check or not report.ok
        else (f"up to date: {target.shown} (identical inputs were rendered before)",)
    )
    return Done(report, said)


# --- plan, write, check, remember, swap -----------------------------------------------------

#: The part of a render's writing done by the child that plans its part itself (`produce`):
#: a little more than half, since this process plans the whole tree besides.
CHILD_SHARE = 0.58


def produce(
    target: Target,
    loaded: Loaded,
    inventory: Inventory,
    sources: dict[str, str],
    verdict: Verdict,
    stopwatch: Stopwatch,
) -> Done:
    """Plan, write and check the tree, then remember and swap it in. Anything that fails on
    the way stops every child and removes what was staged (`undo`)."""
    entry, shown = target.entry, target.shown
    schema_known = target.store.get("k8s", checks.schema_key(entry, shown)) if entry else None
    with ExitStack() as undo:
        undo.callback(verdict.cancel)
        writing = start_writing(target, loaded, inventory, sources, schema=schema_known is None)
        undo.callback(writing.cancel)
        planned = plan(target, loaded, inventory, sources, verdict, stopwatch)
        validated = verdict.report(stopwatch)
        if planned is None or not validated.ok:
            return Done(validated, refused=True)
        running = checks.start_checks(
            planned,
            tree=entry,
            engine=loaded.engine,
            policies=loaded.policies,
            inventory=inventory,
            config=loaded.config,
            output=shown,
            cache=target.store,
            stopwatch=stopwatch,
            schema_known=schema_known,
            audit_cacheable=target.memoizable,
        )
        undo.callback(running.cancel)
        outcome = write_tree(writing, planned, stopwatch)
        if outcome.staged is not None:
            undo.callback(outcome.staged.discard)
        found = [*planned.problems, *outcome.drift, *running.finish(stopwatch, outcome.schema)]
        remember(target, planned, outcome, stopwatch)
        report = Report(
            diagnostics=tuple(sort_diagnostics([*validated.diagnostics, *found])),
            files=(*validated.files, shown),
        )
        if outcome.staged is None or not report.ok:
            return Done(report)  # compared only, or not to be swapped in: `undo` discards it
        undo.pop_all()
    return swap(outcome, report, target, stopwatch)


def start_writing(
    target: Target, loaded: Loaded, inventory: Inventory, sources: dict[str, str], *, schema: bool
) -> writers.Writing:
    """A child starts writing its part of the tree now, planning only that part, while this
    process plans the whole tree (for the checks and for its own part)."""
    keys = writers.last(writers.key_weights(inventory), CHILD_SHARE)
    mine = subset(inventory, keys)

    def planner() -> Plan:
        return plan_tree(mine, loaded.profile, sources=sources, output=target.placed)

    return writers.start(
        target.output, target.shown, check=target.check, schema=schema, keys=keys, planner=planner
    )


def plan(
    target: Target,
    loaded: Loaded,
    inventory: Inventory,
    sources: dict[str, str],
    verdict: Verdict,
    stopwatch: Stopwatch,
) -> Plan | None:
    """The whole tree planned, for the checks and for this process's part of the writing.
    Inputs that the policies reject may break the plan: None then (the verdict says why)."""
    try:
        with stopwatch.lap("plan"):
            return plan_tree(inventory, loaded.profile, sources=sources, output=target.placed)
    except (KeyError, TypeError, ValueError):
        if verdict.report(stopwatch).ok:
            raise
        return None


def write_tree(writing: writers.Writing, planned: Plan, stopwatch: Stopwatch) -> writers.Outcome:
    began = time.perf_counter()
    with stopwatch.lap("write"):
        outcome = writing.finish(planned, stopwatch)
    if outcome.schema is not None:
        stopwatch.record("k8s schema", began, outcome.schema_seconds)
    return outcome


def remember(target: Target, planned: Plan, outcome: writers.Outcome, stopwatch: Stopwatch) -> None:
    """Keep the tree's digests for the next identical render. A name collision is not in the
    memo's findings: such a render is never memoized."""
    if target.entry is None or not target.memoizable or planned.problems:
        return
    with stopwatch.lap("remember"):
        memo.remember(target.store, target.entry, outcome.digests)


def swap(outcome: writers.Outcome, report: Report, target: Target, stopwatch: Stopwatch) -> Done:
    assert outcome.staged is not None
    with stopwatch.lap("swap"):
        result = outcome.staged.commit()
    count, shown = len(outcome.digests), target.shown
    if not result.changed:
        return Done(report, (f"up to date: {count} files in {shown}",))
    said = [
        f"rendered {count} files in {shown} ({result.written} written, "
        f"{result.unchanged} unchanged, {result.removed} removed, "
        f"{result.kept} hand-added kept)",
        *(f"kept hand-added {shown}/{path}" for path in result.kept_files),
    ]
    return Done(report, tuple(said))


# --- shared with diff and the Vault commands --------------------------------------------------


def input_sources(config: Config) -> dict[str, str]:
    """How generated headers name the inputs: relative to the config file, POSIX, stable; the
    tier data as a template (`render/{}`, or the built-in's: `tier_data.header_template`)."""
    base = Path(config.path).parent if config.path else Path.cwd()
    names = {"render": tier_data.header_template(config)}
    for name, value in (("roster", config.roster), ("k8s_users", config.k8s_users)):
        if value is None:
            names[name] = name
            continue
        path = Path(value)
        names[name] = Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    return names


def site_profiles(config: Config) -> tuple[Profiles | None, list[Diagnostic]]:
    """The tier profiles every render of `config` uses: the repository's own `render/` folder
    whole when it has one, else the built-in data, with the config's `render:` settings."""
    return tier_data.load(config)
