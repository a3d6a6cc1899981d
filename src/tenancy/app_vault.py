"""What the `tenancy vault` commands do: build the parts from Params and run them. Shell.

`pull`/`diff`: k8s_users from Vault KV into the git file (sync/kv.py merges, this module writes).
`plan`/`apply`: validate and render in memory (never trusting the committed manifests), derive
the desired Vault objects, observe the server, plan, and apply when asked (sync/plan.py decides,
sync/vault.py talks to the server). Exit codes: see `cli_vault.py`.
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

from tenancy import app, files
from tenancy.app import InputParams, say
from tenancy.errors import (
    Diagnostic,
    ExitCode,
    Location,
    RepoError,
    Report,
    UsageError,
    sort_diagnostics,
)
from tenancy.load import parse_bytes
from tenancy.model import Config
from tenancy.report import emit
from tenancy.sync import settings as settings_module
from tenancy.sync.settings import VaultSettings

if TYPE_CHECKING:  # the plan module imports the renderer: loaded only by plan and apply
    from tenancy.model import Inventory
    from tenancy.render import Rendered
    from tenancy.render.profiles import Profiles
    from tenancy.sync.plan import Change, Plan, State

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


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanParams:
    inputs: InputParams
    vault: VaultParams
    format: str
    allow_delete: bool
    adopt: bool
    apply: bool
    exit_code: bool = False


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

    config, problems = app.load_config(params.inputs)
    if config is None:
        return _findings(problems, params.format, "the configuration is invalid")
    if config.k8s_users is None:
        raise UsageError("pull needs the k8s_users file: --k8s-users PATH or a tenancy.yaml")
    target = Path(config.k8s_users)
    settings = vault_settings(config, params.vault)
    session = connect(settings, params.vault)
    where = f"{settings.kv_mount}/{settings.kv_path}"
    users = kv.decode(
        vault.read_kv(session, settings.kv_mount, settings.kv_path), settings.kv_field, where
    )
    is_json = target.suffix.lower() == ".json"
    try:
        old_text = target.read_text(encoding="utf-8") if target.exists() else None
    except OSError as exc:
        raise RepoError(f"cannot read {target}: {exc.strerror}") from None
    new_text = kv.merge(old_text, users, is_json=is_json)
    try:
        before = kv.load(old_text, is_json=is_json) if old_text else {}
    except ValueError:
        before = {}  # an unreadable JSON file: every user counts as added
    changes = kv.changes(before if isinstance(before, dict) else {}, users)
    shown = files.display(target)
    if params.format == "json":
        body = {
            "version": 1,
            "changes": [{"action": a, "kind": "k8s-user", "name": k} for a, k in changes],
        }
        say(json.dumps(body, indent=2))
    elif not params.write and new_text != (old_text or ""):
        say(kv.unified(old_text or "", new_text, shown), nl=False)
    same = new_text == (old_text or "")
    if params.write and not same:
        _write_atomic(target, new_text)
    if params.format != "json":
        say(_pull_summary(changes, shown, where, same=same, wrote=params.write), err=True)
    if params.write:
        return ExitCode.OK
    return ExitCode.OK if same else ExitCode.FINDINGS


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
    from tenancy.audit import audit
    from tenancy.check import check
    from tenancy.model import build
    from tenancy.render import profiles
    from tenancy.sync.plan import desired

    config, problems = app.load_config(inputs)
    if config is None:
        return None, None, _findings(problems, fmt, "the configuration is invalid")
    if config.roster is None or config.k8s_users is None:
        raise UsageError("vault plan needs both inputs: --roster PATH and --k8s-users PATH")
    policies = files.read_policies(app.policy_dirs(config))
    engine = app.build_engine("embedded", None, policies)
    checked = check(
        app.read_inputs(config),
        config,
        engine=engine,
        policies=policies,
        waivers=app.read_waivers(None, config),
    )
    if not checked.report.ok:
        code = _findings(
            checked.report.diagnostics, fmt, "the inputs do not validate; nothing was planned"
        )
        return None, config, code
    inventory = build(checked.documents["roster"].data, checked.documents["k8s_users"].data, config)
    output = files.display(Path(config.output))
    site = profiles.with_overrides(profiles.load(), config.render)
    rendered, problems = render_vault_layer(inventory, site, app.input_sources(config))
    problems += audit(engine, policies, rendered, inventory, config, output)
    if any(p.severity == "error" and not p.waived for p in problems):
        return None, config, _findings(problems, fmt, "the rendered output fails its checks")
    return desired(rendered), config, ExitCode.OK


def render_vault_layer(
    inventory: Inventory, profiles: Profiles, sources: dict[str, str]
) -> tuple[Rendered, list[Diagnostic]]:
    """Only the Vault layer of the render, by the same function `render` uses for it.

    The Kubernetes layer and the YAML text of every object are what make a full render slow
    (seconds at 1,000 users) and Vault needs neither; the rendered-stage audit still runs on
    the Vault policies and roles. Two keys that differ only in `_`/`-` would map to one
    object name: reported as the full render reports it.
    """
    from tenancy.render import Rendered
    from tenancy.render import vault as vault_layer

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
    from tenancy.sync.plan import exposing, plan

    # Address and token are checked before the (slower) validate and render.
    vault.connection_from_env(params.vault.address, vault.environment())
    wanted, config, code = desired_state(params.inputs, params.format)
    if wanted is None or config is None:
        return code
    settings = vault_settings(config, params.vault)
    exposed = exposing(wanted, settings.index_data_path)
    if exposed:
        return _findings(
            [
                Diagnostic(
                    location=Location(config.path or "tenancy.yaml"),
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
            params.format,
            "refusing to plan: a tenant could rewrite what tenancy believes it owns",
        )
    session = connect(settings, params.vault)
    snapshot = vault.observe(session, wanted, settings)
    result = plan(wanted, snapshot.observed, allow_delete=params.allow_delete, adopt=params.adopt)
    observed_calls = dict(session.adapter.counts)
    if not params.apply:
        _print_plan(result, params.format, applied=None)
        _calls("plan", session.adapter.counts, session.address)
        if params.exit_code and result.changes:
            return ExitCode.FINDINGS
        return ExitCode.OK
    progress = None
    if params.format != "json":

        def progress(change: Change) -> None:
            say(f"{_past(change)} {change.kind} {change.name}")

    applied = vault.apply(session, result, snapshot, settings, progress=progress)
    if params.format == "json":
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
