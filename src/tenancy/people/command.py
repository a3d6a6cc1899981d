"""What `tenancy user ...` does: read the inputs, edit their texts in memory (people/edit.py),
validate the edited texts as the files they will become (the checks of `tenancy validate`),
print the access diff the edit causes (the diff engine of `tenancy diff`, over snapshots made
from the texts before and after), and write every edited file or none. Shell.

Exit codes (cli/people.py): 0 done or nothing to change; 1 the edit does not validate, or an
input cannot be read or edited in place (nothing written); 2 usage (people.py and the CLI
raise UsageError); 3 a file cannot be written, or changed on disk while it was being edited
(nothing written).
"""

from __future__ import annotations

import difflib
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from tenancy.errors import Diagnostic, ExitCode, RepoError, Report, sort_diagnostics
from tenancy.inputs import files
from tenancy.inputs.load import parse_bytes
from tenancy.inputs.read import InputFile, read_waivers, repository
from tenancy.model import Config
from tenancy.people import edit as people
from tenancy.people.yaml_edit import EditError
from tenancy.report import emit, say
from tenancy.validate.check import check
from tenancy.validate.command import build_engine
from tenancy.validate.config import InputParams, load_config, resolve
from tenancy.validate.policy import PolicyEngine, PolicySet
from tenancy.validate.policy.source import policy_dirs, read_policies

Edit = Callable[[people.Inputs], people.Edited]
NAMES = ("roster", "k8s_users", "config")


@dataclass(frozen=True, slots=True, kw_only=True)
class PeopleParams:
    inputs: InputParams
    dry_run: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class _File:
    """One input as read: where it is, how it is shown, its bytes."""

    path: Path
    shown: str
    raw: bytes

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8")


def run_edit(params: PeopleParams, edit: Edit) -> ExitCode:
    config, problems = load_config(params.inputs)
    if config is None:
        return _refused(problems, "the configuration is invalid")
    read, problems = _read(config)
    if problems:
        return _refused(problems, "an input cannot be read")
    before = people.Inputs(
        roster=read["roster"].text if "roster" in read else None,
        k8s_users=read["k8s_users"].text if "k8s_users" in read else None,
        k8s_json=str(config.k8s_users or "").lower().endswith(".json"),
        config=read["config"].text if "config" in read else None,
    )
    try:
        edited = edit(before)
    except EditError as exc:
        say(f"tenancy user: cannot edit the inputs in place: {exc}; nothing written", err=True)
        return ExitCode.FINDINGS
    old = {name: file.text for name, file in read.items()}
    new = {name: getattr(edited.inputs, name) for name in read}
    changed = [name for name in read if new[name] != old[name]]
    if not changed:
        _notes(edited.notes)
        say("tenancy user: nothing to change", err=True)
        return ExitCode.OK
    policies = read_policies(policy_dirs(config))
    engine = build_engine("embedded", None, policies)
    after_config, after_report = _validate(config, params.inputs, read, new, engine, policies)
    if after_config is None or not after_report.ok:
        emit(after_report, "text")
        say("tenancy user: not written: the edited inputs do not validate (above)", err=True)
        return ExitCode.FINDINGS
    _, before_report = _validate(config, params.inputs, read, old, engine, policies)
    say(_access_diff(config, params.inputs, read, old, new, engine, policies), nl=False)
    fresh = _new_findings(before_report, after_report)
    if fresh:
        emit(Report(diagnostics=tuple(fresh)), "text", sys.stderr)
    _notes(edited.notes)
    shown = ", ".join(read[name].shown for name in changed)
    if params.dry_run:
        for name in changed:
            say(_unified(old[name], new[name], read[name].shown), nl=False)
        say(f"tenancy user: dry run: {shown} not written", err=True)
        return ExitCode.OK
    _write_all([(read[name], new[name]) for name in changed])
    say(f"tenancy user: wrote {shown}; run `tenancy render` to update the manifests", err=True)
    return ExitCode.OK


def _refused(problems: list[Diagnostic], why: str) -> ExitCode:
    emit(Report(diagnostics=tuple(sort_diagnostics(problems))), "text")
    say(f"tenancy user: {why}; nothing written", err=True)
    return ExitCode.FINDINGS


def _notes(notes: tuple[str, ...]) -> None:
    for note in notes:
        say(f"note: {note}", err=True)


def _read(config: Config) -> tuple[dict[str, _File], list[Diagnostic]]:
    """The inputs' bytes with tenancy's limits (size, inside the repository, regular files)."""
    found: dict[str, _File] = {}
    problems: list[Diagnostic] = []
    for name, value in (
        ("roster", config.roster),
        ("k8s_users", config.k8s_users),
        ("config", config.path),
    ):
        if value is None:
            continue
        path = Path(value)
        shown = files.display(path)
        root = None if name == "config" else repository(config)
        raw, more = files.read_input(path, shown, max_bytes=config.max_file_bytes, root=root)
        problems += more
        if raw is None:
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            _, more = parse_bytes(shown, raw)  # the loader's positioned finding
            problems += more
            continue
        found[name] = _File(path=path, shown=shown, raw=raw)
    return found, problems


def _validate(
    config: Config,
    params: InputParams,
    read: dict[str, _File],
    texts: dict[str, str],
    engine: PolicyEngine,
    policies: PolicySet,
) -> tuple[Config | None, Report]:
    """What `tenancy validate` reports on these texts, as if they were the files (tenancy.yaml
    included: its `quarantine:` is checked against the inputs)."""
    if "config" in read:
        raw = texts["config"].encode("utf-8")
        document, problems = parse_bytes(read["config"].shown, raw)
        resolved, more = resolve(document, Path(str(config.path))) if document else (None, [])
        if resolved is None:
            return None, Report(diagnostics=tuple(sort_diagnostics([*problems, *more])))
        if params.roster or params.k8s_users:  # as load_config: the command line wins
            resolved = replace(resolved, roster=config.roster, k8s_users=config.k8s_users)
        if params.zones:
            resolved = replace(resolved, zones=config.zones)
        config = resolved
    inputs = [
        InputFile(name=name, shown=read[name].shown, raw=texts[name].encode("utf-8"))
        for name in ("roster", "k8s_users")
        if name in read
    ]
    waivers = read_waivers(None, config)
    checked = check(inputs, config, engine=engine, policies=policies, waivers=waivers)
    return config, checked.report


def _new_findings(before: Report, after: Report) -> list[Diagnostic]:
    """Warnings the edit brings (a roster row whose cluster grant is pending, ...)."""
    known = {(d.code, d.message) for d in before.diagnostics}
    return [
        d
        for d in after.diagnostics
        if d.severity == "warning" and not d.waived and (d.code, d.message) not in known
    ]


def _access_diff(
    config: Config,
    params: InputParams,
    read: dict[str, _File],
    old: dict[str, str],
    new: dict[str, str],
    engine: PolicyEngine,
    policies: PolicySet,
) -> str:
    """`tenancy diff` between the inputs as they are and as the edit leaves them."""
    from tenancy.diff import changes as diff
    from tenancy.diff import report as diff_report
    from tenancy.diff import revision

    if config.path is not None:
        root = Path(config.path).parent
    else:
        root = Path(os.path.commonpath([str(f.path.resolve().parent) for f in read.values()]))

    def relative(path: Path) -> str:
        return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()

    def reader(texts: dict[str, str]) -> Callable[[str], bytes | None]:
        held = {relative(read[name].path): texts[name].encode("utf-8") for name in read}

        def read_file(path: str) -> bytes | None:
            if path in held:
                return held[path]
            target = root / path  # the waivers file: read as it is on disk
            if files.outside(target, root) or not target.is_file():
                return None
            return target.read_bytes()

        return read_file

    config_path = relative(Path(config.path)) if config.path else None
    named = params.roster or params.k8s_users or config.path is None
    roster = relative(read["roster"].path) if named and "roster" in read else None
    k8s = relative(read["k8s_users"].path) if named and "k8s_users" in read else None
    snapshots = []
    for label, texts in (("before", old), ("after", new)):
        snapshot, _ = revision.snapshot(
            label,
            reader(texts),
            lambda _folder: [],  # render data and policies are the installed ones, unchanged
            config_path=config_path,
            roster=roster,
            k8s_users=k8s,
            engine=engine,
            policies=policies,
        )
        snapshots.append(snapshot)
    result = diff.diff(snapshots[0], snapshots[1], config_path=config_path)
    return diff_report.text(result)


def _unified(old: str, new: str, shown: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), shown, shown
        )
    )


def _write_all(changes: list[tuple[_File, str]]) -> None:
    """Every file or none: each new text goes to a temporary file beside its target first, and
    only when all are written are they renamed into place. A file that changed on disk since it
    was read (someone else's edit) stops the write."""
    staged: list[tuple[str, Path]] = []
    try:
        for file, text in changes:
            target = file.path.resolve()  # a symlinked input is written where it points
            if target.read_bytes() != file.raw:
                raise RepoError(
                    f"{file.shown} changed on disk while it was being edited; nothing was "
                    "written: run the command again"
                )
            mode = target.stat().st_mode & 0o777
            handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            staged.append((temporary, target))
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            os.chmod(temporary, mode)
    except OSError as exc:
        _discard(staged)
        raise RepoError(
            f"cannot write {exc.filename}: {exc.strerror}; nothing was written"
        ) from None
    except BaseException:
        _discard(staged)
        raise
    for temporary, target in staged:
        os.replace(temporary, target)


def _discard(staged: list[tuple[str, Path]]) -> None:
    for temporary, _ in staged:
        Path(temporary).unlink(missing_ok=True)
