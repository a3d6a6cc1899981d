"""`tenancy render`: the render as a list of named stages. Shell."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tenancy.errors import Diagnostic, ExitCode, Report, UsageError, sort_diagnostics
from tenancy.inputs import files
from tenancy.inputs.read import InputFile
from tenancy.model import Config
from tenancy.validate.check import conclude, load_inputs, policy_stage
from tenancy.validate.config import PLACEHOLDER_REPO
from tenancy.validate.policy import PolicyEngine, PolicySet
from tenancy.validate.policy.source import read_policies

if TYPE_CHECKING:
    from tenancy.inputs.load import Document
    from tenancy.model import InputName, Inventory
    from tenancy.render.cache import Cache
    from tenancy.render.concurrent import Forked
    from tenancy.render.plan.profiles import Profiles
    from tenancy.render.stopwatch import Stopwatch


from tenancy.inputs.read import read_inputs, read_waivers, tree_path
from tenancy.report import finish, say
from tenancy.validate.command import build_engine
from tenancy.validate.config import InputParams, load_config
from tenancy.validate.policy.source import policy_dirs


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


def input_sources(config: Config) -> dict[str, str]:
    """How generated headers name the inputs: relative to the config file, POSIX, stable; the
    tier data as a template (`render/{}`, or the built-in's: tenancy.render.plan.tier_data)."""
    from tenancy.render.plan import tier_data

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
    from tenancy.render.stopwatch import Stopwatch

    stopwatch = Stopwatch()
    try:
        return _render(params, stopwatch)
    finally:
        if params.timings:
            stopwatch.report()


#: The part of a render's writing done by the child that plans its part itself (`_render`).
CHILD_SHARE = 0.58


def _render(params: RenderParams, stopwatch: Stopwatch) -> ExitCode:
    from tenancy.model import build
    from tenancy.render import memo as render_memo
    from tenancy.render import write
    from tenancy.render import writers as render_write
    from tenancy.render.cache import Cache
    from tenancy.render.checks import Running, schema_key, start_checks
    from tenancy.render.plan import plan as plan_tree
    from tenancy.render.plan import subset

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
        policies = read_policies(policy_dirs(config))
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
    """The policy stage over `documents`, started in a child (`tenancy.render.concurrent`).

    The child judges the documents as they are at the fork; this process lets go of them at
    once (they are 30 MB at 10,000 users). Should the child fail, its work is done here from
    the inputs' bytes, loaded again. With `fork` false (an OPA server's client, whose open
    connections must not be shared by two processes; inputs that did not load clean) the
    policies judge here and now."""
    from tenancy.render import concurrent as forked

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
    from tenancy.render import memo as render_memo
    from tenancy.render import write
    from tenancy.render.checks import audit_key, known_findings
    from tenancy.render.plan import INDEX

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


def site_profiles(config: Config) -> tuple[Profiles | None, list[Diagnostic]]:
    """The tier profiles every render of `config` uses: the repository's own `render/` folder
    whole when it has one, else the built-in data, with the config's `render:` settings."""
    from tenancy.render.plan import tier_data

    return tier_data.load(config)
