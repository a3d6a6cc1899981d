"""What the `tenancy vault` commands do: build the parts from Params and run them. Shell.

`pull`/`diff`: k8s_users from Vault KV into the git file (sync/kv.py merges, this module writes).
The git file is read with tenancy's own loader (its limits on aliases, depth and size), and
what pull would write is validated as `tenancy validate` would; invalid data is not written
unless `--force`.
`plan`/`apply`: validate and render the Vault layer in memory, and require the rendered tree
(manifests/) to hold exactly that: what is applied is what was rendered and reviewed, never
unrendered edits of the inputs. Then derive the desired Vault objects, observe the server,
plan, and apply when asked (sync/plan.py decides, sync/vault.py talks to the server). A plan
can be saved (`plan --out FILE`) and applied as it is (`apply FILE`), refused when the server
or the tree changed since. Exit codes: see `cli/vault.py`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenancy.errors import (
    Diagnostic,
    ExitCode,
    Location,
    RepoError,
    Report,
    UsageError,
    sort_diagnostics,
)
from tenancy.inputs import files
from tenancy.inputs.load import parse_bytes
from tenancy.inputs.read import read_inputs, read_waivers
from tenancy.model import Config
from tenancy.render.command import input_sources, site_profiles
from tenancy.report import diagnostic_json, emit, say
from tenancy.sync import settings as settings_module
from tenancy.sync.settings import VaultSettings
from tenancy.validate.command import build_engine
from tenancy.validate.config import InputParams, load_config
from tenancy.validate.policy.source import policy_dirs, read_policies

if TYPE_CHECKING:  # the plan module imports the renderer: loaded only by plan and apply
    from tenancy.model import Inventory
    from tenancy.render.plan import Rendered
    from tenancy.render.plan.profiles import Profiles
    from tenancy.sync.plan import Change, Plan, State
    from tenancy.sync.vault import Session
    from tenancy.sync.vault import Snapshot as VaultSnapshot

SYMBOL = {"create": "+", "update": "~", "delete": "-", "conflict": "!"}


@dataclass(frozen=True, slots=True, kw_only=True)
class VaultParams:
    """How to reach Vault; None means: from tenancy.yaml's `vault:` section, else the default."""

    address: str | None
    kv_mount: str | None = None
    kv_path: str | None = None
    kv_field: str | None = None
    login_role: str | None = None
    login_mount: str | None = None
    jwt_path: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PullParams:
    inputs: InputParams
    vault: VaultParams
    write: bool  # pull writes the file; diff only shows
    format: str
    force: bool = False  # write even what does not validate


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanParams:
    inputs: InputParams
    vault: VaultParams
    format: str
    allow_delete: bool
    adopt: bool
    apply: bool
    exit_code: bool = False
    allow_cascade: tuple[str, ...] = ()
    out: Path | None = None  # plan: save the plan here
    plan_file: Path | None = None  # apply: apply this saved plan
    yes: bool = False  # apply: do not ask, even on a terminal
    interactive: bool = False  # stdin is a terminal (read by the CLI)


def vault_settings(config: Config, params: VaultParams) -> VaultSettings:
    """tenancy.yaml's `vault:` section (read raw: model.Config does not carry it) + options."""
    data: Any = None
    if config.path is not None:
        path = Path(config.path)
        raw, _ = files.read_input(path, str(path), max_bytes=config.max_file_bytes)
        document, _ = parse_bytes(str(path), raw or b"") if raw is not None else (None, [])
        data = document.data if document is not None else None
    return settings_module.override(
        settings_module.from_document(data if isinstance(data, dict) else None),
        kv_mount=params.kv_mount,
        kv_path=params.kv_path,
        kv_field=params.kv_field,
        login_role=params.login_role,
        login_mount=params.login_mount,
        jwt_path=params.jwt_path,
    )


def connect(settings: VaultSettings, params: VaultParams) -> Any:
    from tenancy.sync import vault

    connection = vault.connection_from_env(params.address, vault.environment())
    return vault.connect(connection, settings)


def _findings(problems: Sequence[Diagnostic], fmt: str, message: str) -> ExitCode:
    emit(Report(diagnostics=tuple(sort_diagnostics(list(problems)))), _report_format(fmt))
    say(f"tenancy vault: {message}", err=True)
    return ExitCode.FINDINGS


def _report_format(fmt: str) -> str:
    return "json" if fmt == "json" else "text"


# --- pull / diff --------------------------------------------------------------------------


def run_pull(params: PullParams) -> ExitCode:
    """`vault pull` (write=True) and `vault diff` (write=False)."""
    from tenancy.sync import kv, vault

    config, problems = load_config(params.inputs)
    if config is None:
        return _findings(problems, params.format, "the configuration is invalid")
    if config.k8s_users is None:
        raise UsageError("pull needs the k8s_users file: --k8s-users PATH or a tenancy.yaml")
    target = Path(config.k8s_users)
    shown = files.display(target)
    is_json = target.suffix.lower() == ".json"
    old_text, before, unreadable = _git_file(target, shown, config)
    if unreadable:
        return _findings(
            unreadable,
            params.format,
            f"{shown} cannot be read safely; fix it first (nothing was compared or written)",
        )
    settings = vault_settings(config, params.vault)
    session = connect(settings, params.vault)
    where = f"{settings.kv_mount}/{settings.kv_path}"
    users = kv.decode(
        vault.read_kv(session, settings.kv_mount, settings.kv_path), settings.kv_field, where
    )
    new_text = kv.merge(old_text, users, is_json=is_json)
    changes = kv.changes(before if isinstance(before, dict) else {}, users)
    same = new_text == (old_text or "")
    invalid: list[Diagnostic] = []
    if params.write and not same:
        invalid = _validate_pulled(config, shown, new_text)
    if params.format == "json":
        body: dict[str, Any] = {
            "version": 1,
            "changes": [{"action": a, "kind": "k8s-user", "name": k} for a, k in changes],
        }
        if invalid:
            body["diagnostics"] = [diagnostic_json(d) for d in invalid]
        say(json.dumps(body, indent=2))
    elif not params.write and not same:
        say(kv.unified(old_text or "", new_text, shown), nl=False)
    elif invalid:
        emit(Report(diagnostics=tuple(invalid)), "text")
    if invalid and not params.force:
        say(
            f"tenancy vault: not written: what {where} holds does not validate "
            f"({len(invalid)} finding(s) above); fix it in Vault, or pull --force to write it "
            "anyway and fix it in git",
            err=True,
        )
        return ExitCode.FINDINGS
    if params.write and not same:
        _write_atomic(target, new_text)
    if params.format != "json":
        say(_pull_summary(changes, shown, where, same=same, wrote=params.write), err=True)
    if invalid:
        return ExitCode.FINDINGS  # written (--force), and the findings stand
    if params.write:
        return ExitCode.OK
    return ExitCode.OK if same else ExitCode.FINDINGS


def _git_file(target: Path, shown: str, config: Config) -> tuple[str | None, Any, list[Diagnostic]]:
    """The git file's text and data through tenancy's loader (its guards against alias bombs,
    deep nesting, duplicate keys and oversized files), or the loader's findings."""
    if not target.exists():
        return None, {}, []
    raw, problems = files.read_input(target, shown, max_bytes=config.max_file_bytes)
    if raw is None:
        return None, {}, list(problems)
    document, found = parse_bytes(shown, raw, max_depth=config.max_depth)
    errors = [d for d in [*problems, *found] if d.severity == "error"]
    if document is None or errors:
        return None, {}, errors or list(found)
    return raw.decode("utf-8"), document.data or {}, []


def _validate_pulled(config: Config, shown: str, text: str) -> list[Diagnostic]:
    """What `tenancy validate` finds in the inputs with the pulled k8s_users in place."""
    from tenancy.inputs.read import InputFile
    from tenancy.validate.check import check

    inputs = [
        item
        if item.name != "k8s_users"
        else InputFile(name="k8s_users", shown=shown, raw=text.encode("utf-8"))
        for item in read_inputs(config)
    ]
    policies = read_policies(policy_dirs(config))
    checked = check(
        inputs,
        config,
        engine=build_engine("embedded", None, policies),
        policies=policies,
        waivers=read_waivers(None, config),
    )
    return [d for d in checked.report.diagnostics if d.severity == "error" and not d.waived]


def _pull_summary(
    changes: Sequence[tuple[str, str]], shown: str, where: str, *, same: bool, wrote: bool
) -> str:
    if same:
        return f"{shown} matches {where}"
    counts = {a: sum(1 for x, _ in changes if x == a) for a in ("create", "update", "delete")}
    what = (
        f"{counts['create']} user(s) added, {counts['update']} changed, {counts['delete']} removed"
        if changes
        else "the same users, laid out differently"
    )
    return f"{'wrote' if wrote else 'differs:'} {shown} from {where}: {what}"


def _write_atomic(target: Path, text: str) -> None:
    """Replace the file in one rename, so an interrupted pull never leaves half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise RepoError(f"cannot write {target}: {exc.strerror}") from None


# --- plan / apply -------------------------------------------------------------------------


def desired_state(inputs: InputParams, fmt: str) -> tuple[State | None, Config | None, ExitCode]:
    """Validate, render in memory and derive the desired Vault objects (or report why not)."""
    wanted, config, code, _ = _desired(inputs, fmt)
    return wanted, config, code


def _desired(
    inputs: InputParams, fmt: str
) -> tuple[State | None, Config | None, ExitCode, list[Diagnostic]]:
    """`desired_state`, plus what of the rendered tree on disk differs from the render."""
    from tenancy.model import build
    from tenancy.render.checks.audit import audit
    from tenancy.sync.plan import desired
    from tenancy.validate.check import check

    config, problems = load_config(inputs)
    if config is None:
        return None, None, _findings(problems, fmt, "the configuration is invalid"), []
    if config.roster is None or config.k8s_users is None:
        raise UsageError("vault plan needs both inputs: --roster PATH and --k8s-users PATH")
    policies = read_policies(policy_dirs(config))
    engine = build_engine("embedded", None, policies)
    checked = check(
        read_inputs(config),
        config,
        engine=engine,
        policies=policies,
        waivers=read_waivers(None, config),
    )
    if not checked.report.ok:
        code = _findings(
            checked.report.diagnostics, fmt, "the inputs do not validate; nothing was planned"
        )
        return None, config, code, []
    inventory = build(checked.documents["roster"].data, checked.documents["k8s_users"].data, config)
    output = files.display(Path(config.output))
    site, broken = site_profiles(config)
    if site is None:
        return None, config, _findings(broken, fmt, "the tier data cannot be read"), []
    sources = input_sources(config)
    rendered, problems = render_vault_layer(inventory, site, sources)
    problems += audit(engine, policies, rendered, inventory, config, output)
    if any(p.severity == "error" and not p.waived for p in problems):
        code = _findings(problems, fmt, "the rendered output fails its checks")
        return None, config, code, []
    stale = stale_rendered(rendered, sources, Path(config.output))
    return desired(rendered), config, ExitCode.OK, stale


def stale_rendered(rendered: Rendered, sources: dict[str, str], output: Path) -> list[Diagnostic]:
    """Files of the Vault layer in the rendered tree that are not what `tenancy render` makes
    from the inputs now (modified, missing, or no longer rendered): plan and apply refuse
    them, so what reaches Vault is always the rendered, reviewable tree."""
    from tenancy.render.plan import header_source
    from tenancy.render.yaml import dump

    expected = dict(rendered.files)
    for manifest in rendered.manifests:
        expected[manifest.path] = dump(manifest.body, header_source(manifest.source, sources))
    found: list[Diagnostic] = []

    def stale(path: str, why: str) -> None:
        found.append(
            Diagnostic(
                location=Location(files.display(output / path)),
                severity="error",
                code="vault-render-stale",
                message=f"{why}: the rendered tree is not what `tenancy render` makes from "
                "the inputs now",
                hint="run `tenancy render` (and review and commit manifests/), then plan again",
                source="vault",
            )
        )

    for path, text in sorted(expected.items()):
        try:
            actual = (output / path).read_bytes()
        except FileNotFoundError:
            stale(path, "missing")
            continue
        except OSError as exc:
            raise RepoError(f"cannot read {output / path}: {exc.strerror}") from None
        if actual != text.encode("utf-8"):
            stale(path, "modified")
    roots = {path.split("/", 2)[0] + "/" + path.split("/", 2)[1] for path in expected}
    for root in sorted(roots):
        folder = output / root
        if not folder.is_dir():
            continue
        for item in sorted(folder.rglob("*")):
            relative = item.relative_to(output).as_posix()
            if item.is_file() and relative not in expected and item.name != "kustomization.yaml":
                stale(relative, "no longer rendered")
    return found


def render_vault_layer(
    inventory: Inventory, profiles: Profiles, sources: dict[str, str]
) -> tuple[Rendered, list[Diagnostic]]:
    """Only the Vault layer of the render, by the same function `render` uses for it.

    The Kubernetes layer and the YAML text of every object are what make a full render slow
    (seconds at 1,000 users) and Vault needs neither; the rendered-stage audit still runs on
    the Vault policies and roles. Two keys that differ only in `_`/`-` would map to one
    object name: reported as the full render reports it.
    """
    from tenancy.render.plan import Rendered
    from tenancy.render.plan import vault as vault_layer

    review, operator = vault_layer.render(inventory, profiles, sources)
    problems: list[Diagnostic] = []
    seen: dict[str, str] = {}
    for manifest in operator:
        if manifest.path in seen:
            problems.append(
                Diagnostic(
                    location=Location(manifest.path),
                    severity="error",
                    code="render-name-collision",
                    message=f"{manifest.source} and {seen[manifest.path]} both render "
                    f"{manifest.path}",
                    hint="rename one of the keys: object names cannot hold '_', so a_b and "
                    "a-b clash",
                    source="render",
                )
            )
        seen[manifest.path] = manifest.source
    rendered = Rendered(
        files={path: item.written() for path, item in sorted(review.items())},
        manifests=tuple(operator),
        sources={path: item.source for path, item in review.items()},
        data={path: item.body for path, item in review.items() if item.body is not None},
    )
    return rendered, problems


def run_plan(params: PlanParams) -> ExitCode:
    """`vault plan` (apply=False) and `vault apply` (apply=True)."""
    from tenancy.sync import vault
    from tenancy.sync.plan import fingerprint, plan

    # Address and token are checked before the (slower) validate and render.
    vault.connection_from_env(params.vault.address, vault.environment())
    saved = _read_plan_file(params.plan_file) if params.plan_file is not None else None
    options = saved["options"] if saved is not None else _options(params)
    wanted, config, code, stale = _desired(params.inputs, params.format)
    if wanted is None or config is None:
        return code
    settings = vault_settings(config, params.vault)
    refused = _refuse_to_plan(wanted, config, settings, stale, params.format)
    if refused is not None:
        return refused
    session = connect(settings, params.vault)
    snapshot = vault.observe(session, wanted, settings)
    result = plan(
        wanted,
        snapshot.observed,
        allow_delete=bool(options["allow_delete"]),
        adopt=bool(options["adopt"]),
        allow_cascade=tuple(options["allow_cascade"]),
    )
    digest = fingerprint(wanted, snapshot.observed, {**options, "address": session.address})
    observed_calls = dict(session.adapter.counts)
    if saved is not None and saved["fingerprint"] != digest:
        return _plan_file_outdated(params.plan_file)
    if not params.apply:
        return _show_plan(result, params, options, digest, session)
    if params.interactive and saved is None and not params.yes and result.runnable:
        _print_plan(result, "text", applied=None)
        if not _confirm(f"Apply {len(result.runnable)} change(s) to {session.address}?"):
            say("vault apply: nothing applied", err=True)
            return ExitCode.FINDINGS
    return _apply_plan(session, result, snapshot, settings, params.format, observed_calls)


def _refuse_to_plan(
    wanted: State, config: Config, settings: VaultSettings, stale: list[Diagnostic], fmt: str
) -> ExitCode | None:
    """The findings that stop a plan before the server is read (None: none): rendered
    policies that could rewrite tenancy's ownership index, names Vault would not keep as
    given, and a rendered tree that is not what the inputs render now."""
    from tenancy.sync.plan import exposing, invalid_names

    exposed = exposing(wanted, settings.index_data_path)
    where = Location(config.path or "tenancy.yaml")
    if exposed:
        return _findings(
            [
                Diagnostic(
                    location=where,
                    severity="error",
                    code="vault-index-exposed",
                    message=(
                        f"rendered policies {', '.join(exposed[:5])} could write tenancy's "
                        f"ownership index {settings.index_data_path}"
                    ),
                    hint="reserve that user key (reserved.user_keys) or move vault.index.path",
                    source="vault",
                )
            ],
            fmt,
            "refusing to plan: a tenant could rewrite what tenancy believes it owns",
        )
    bad_names = [
        Diagnostic(
            location=Location(files.display(Path(config.k8s_users or "k8s_users"))),
            severity="error",
            code="vault-name-invalid",
            message=f"{why}: Vault would not keep it as given",
            hint="remove the character from the input that names it",
            source="vault",
        )
        for _, why in invalid_names(wanted)
    ]
    if bad_names:
        return _findings(bad_names, fmt, "refusing to plan: names Vault cannot hold")
    if stale:
        return _findings(
            stale,
            fmt,
            "the rendered tree is not current: run `tenancy render` first (nothing was planned "
            "or applied; Vault gets only what was rendered)",
        )
    return None


def _plan_file_outdated(plan_file: Path | None) -> ExitCode:
    """A saved plan made from another server, tree or index than now: nothing is applied."""
    say(
        f"tenancy vault: the plan in {plan_file} no longer matches: the server, the "
        "rendered tree or tenancy's index changed since it was made. Nothing was applied; "
        f"run `tenancy vault plan --out {plan_file}` again and review it",
        err=True,
    )
    say(f"the plan in {plan_file} no longer matches; nothing was applied")
    return ExitCode.FINDINGS


def _show_plan(
    result: Plan, params: PlanParams, options: dict[str, Any], digest: str, session: Session
) -> ExitCode:
    """`vault plan`: print the plan and the calls that observed the server, and save it when
    asked."""
    _print_plan(result, params.format, applied=None)
    _calls("plan", session.adapter.counts, session.address)
    if params.out is not None:
        _write_plan_file(params.out, result, options, digest, session.address)
        say(
            f"vault plan: saved to {params.out}; `tenancy vault apply {params.out}` "
            "applies exactly this plan",
            err=True,
        )
    if result.blocked or (params.exit_code and result.changes):
        return ExitCode.FINDINGS
    return ExitCode.OK


def _apply_plan(
    session: Session,
    result: Plan,
    snapshot: VaultSnapshot,
    settings: VaultSettings,
    fmt: str,
    observed_calls: dict[str, int],
) -> ExitCode:
    """`vault apply`: carry out the plan, say what was and was not applied, and count the
    calls that observed the server apart from the ones that wrote to it."""
    from tenancy.sync import vault

    progress = _say_applied if fmt != "json" else None
    applied = vault.apply(session, result, snapshot, settings, progress=progress)
    if fmt == "json":
        _print_plan(result, "json", applied={c.key for c in applied.done})
    else:
        for change in applied.skipped:
            say(f"not applied: {change.action} {change.kind} {change.name} ({change.blocked})")
        say(
            f"vault apply: {len(applied.done)} change(s) applied, "
            f"{len(applied.skipped)} not applied",
            err=True,
        )
    writes = {
        verb: n - observed_calls.get(verb, 0)
        for verb, n in session.adapter.counts.items()
        if n - observed_calls.get(verb, 0)
    }
    _calls("plan", observed_calls, session.address)
    _calls("apply", writes, session.address)
    return ExitCode.FINDINGS if applied.skipped else ExitCode.OK


def _say_applied(change: Change) -> None:
    say(f"{_past(change)} {change.kind} {change.name}")


PLAN_FILE_KIND = "tenancy-vault-plan"


def _options(params: PlanParams) -> dict[str, Any]:
    return {
        "allow_delete": params.allow_delete,
        "adopt": params.adopt,
        "allow_cascade": sorted(set(params.allow_cascade)),
    }


def _write_plan_file(
    path: Path, result: Plan, options: dict[str, Any], digest: str, address: str
) -> None:
    """The reviewed plan: its changes (to read), its options and the digest of what it was
    made from (to check, when it is applied, that nothing changed since)."""
    body = {
        "version": 1,
        "kind": PLAN_FILE_KIND,
        "address": address,
        "options": options,
        "fingerprint": digest,
        "changes": [change_json(c, None) for c in result.changes],
    }
    _write_atomic(path, json.dumps(body, indent=2, sort_keys=True) + "\n")


def _read_plan_file(path: Path) -> dict[str, Any]:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the plan file {path}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise UsageError(f"{path} is not a plan file of `tenancy vault plan --out`") from None
    options = body.get("options") if isinstance(body, dict) else None
    if (
        not isinstance(body, dict)
        or body.get("kind") != PLAN_FILE_KIND
        or body.get("version") != 1
        or not isinstance(body.get("fingerprint"), str)
        or not isinstance(options, dict)
        or not isinstance(options.get("allow_cascade"), list)
    ):
        raise UsageError(f"{path} is not a plan file of `tenancy vault plan --out`")
    return {
        "fingerprint": body["fingerprint"],
        "options": {
            "allow_delete": options.get("allow_delete") is True,
            "adopt": options.get("adopt") is True,
            "allow_cascade": sorted(str(n) for n in options["allow_cascade"]),
        },
    }


def _confirm(question: str) -> bool:
    """Ask on the terminal; only `y` or `yes` applies."""
    sys.stdout.write(f"{question} [y/N] ")
    sys.stdout.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _past(change: Change) -> str:
    return {"create": "created", "update": "updated", "delete": "deleted"}[change.action]


def _calls(stage: str, counts: dict[str, int], address: str) -> None:
    """API call counts on stderr (stdout stays a clean plan, text or JSON)."""
    total = sum(counts.values())
    detail = ", ".join(f"{verb} {n}" for verb, n in sorted(counts.items()))
    say(f"vault {stage}: {total} API calls to {address} ({detail or 'none'})", err=True)


def change_json(change: Change, applied: set[Any] | None) -> dict[str, Any]:
    item: dict[str, Any] = {"action": change.action, "kind": change.kind, "name": change.name}
    item["owned"] = change.owned or change.adopt
    if change.blocked:
        item["blocked"] = change.blocked
    if change.detail:
        item["detail"] = list(change.detail)
    if change.paths:
        item["paths"] = [
            {"path": p.path, "added": list(p.added), "removed": list(p.removed)}
            for p in change.paths
        ]
    if applied is not None:
        item["applied"] = change.key in applied
    return item


def _print_plan(result: Plan, fmt: str, *, applied: set[Any] | None) -> None:
    if fmt == "json":
        body = {"version": 1, "changes": [change_json(c, applied) for c in result.changes]}
        say(json.dumps(body, indent=2))
        return
    out: list[str] = []
    for change in result.changes:
        notes = []
        if change.owned:
            notes.append("managed by tenancy")
        elif change.action != "create":
            notes.append("not managed by tenancy")
        if change.adopt:
            notes.append("--adopt")
        if change.blocked:
            notes.append(change.blocked)
        suffix = f"  ({'; '.join(notes)})" if notes else ""
        out.append(f"{SYMBOL[change.action]} {change.action} {change.kind} {change.name}{suffix}")
        out.extend(f"    {line}" for line in change.detail)
    counts = {a: sum(1 for c in result.changes if c.action == a) for a in SYMBOL}
    summary = (
        "Vault matches the rendered state: no changes."
        if not result.changes
        else (
            f"Plan: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['delete']} to delete, {counts['conflict']} conflict(s)."
        )
    )
    out.append(summary)
    sys.stdout.write("\n".join(out) + "\n")
