"""Write the rendered tree, or compare it with what is on disk. Shell: the only writer.

The output directory is swapped in whole: the new tree is built beside it, hand-added files
(anything the previous INDEX.json does not list) are carried over, then two renames swap it in.
An interrupted render leaves the old tree or the new one, never a mix; a crash between the two
renames leaves the old tree under a backup name, which the next run restores.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tenancy.errors import Diagnostic, Location, RepoError
from tenancy.render import INDEX, Rendered

_NEW = ".tenancy-new"
_OLD = ".tenancy-old"


@dataclass(frozen=True, slots=True)
class WriteResult:
    written: int
    removed: int
    kept: int  # hand-added files carried over
    changed: bool


def owned(output: Path) -> set[str]:
    """Files the previous render wrote, from its index (nothing when there is none)."""
    try:
        index = json.loads((output / INDEX).read_text(encoding="utf-8"))
        return {str(p) for p in index.get("files", {})} | {INDEX}
    except (OSError, ValueError, AttributeError):
        return set()


def _safe(path: str) -> str:
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise RepoError(f"refusing to write {path!r}: it would leave the output directory")
    return str(pure)


def compare(output: Path, rendered: Rendered, shown: str) -> list[Diagnostic]:
    """Every modified, missing and orphan file, as drift diagnostics. Writes nothing."""
    problems = []

    def drift(path: str, code: str, message: str, hint: str) -> None:
        problems.append(
            Diagnostic(
                location=Location(f"{shown}/{path}"),
                severity="error",
                code=code,
                message=message,
                hint=hint,
                source="drift",
            )
        )

    for path, text in rendered.files.items():
        target = output / _safe(path)
        try:
            current = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            drift(
                path,
                "render-missing",
                "missing: the render produces this file",
                "run tenancy render",
            )
            continue
        except (OSError, UnicodeDecodeError) as exc:
            drift(path, "render-modified", f"unreadable: {exc}", "run tenancy render")
            continue
        if current != text:
            drift(
                path,
                "render-modified",
                "out of date: differs from a fresh render",
                "run tenancy render and commit the result (never edit generated files)",
            )
    for path in sorted(owned(output) - set(rendered.files)):
        if (output / path).exists():
            drift(
                path,
                "render-orphan",
                "orphan: no longer rendered from the inputs",
                "run tenancy render to delete it",
            )
    return problems


def recover(output: Path) -> None:
    """Finish or undo a swap that a crash interrupted."""
    backup = output.with_name(output.name + _OLD)
    staging = output.with_name(output.name + _NEW)
    if backup.exists():
        if output.exists():
            shutil.rmtree(backup)
        else:
            backup.rename(output)
    if staging.exists():
        shutil.rmtree(staging)


def write(output: Path, rendered: Rendered) -> WriteResult:
    recover(output)
    previous = owned(output)
    if output.exists() and not previous and any(output.iterdir()):
        raise RepoError(
            f"{output} exists and was not written by tenancy (it has no {INDEX}); "
            "render into a new or empty directory"
        )
    if output.exists() and not compare(output, rendered, str(output)):
        return WriteResult(written=0, removed=0, kept=0, changed=False)
    staging = output.with_name(output.name + _NEW)
    staging.mkdir(parents=True)
    try:
        made: set[Path] = set()
        for path, text in rendered.files.items():
            target = staging / _safe(path)
            if target.parent not in made:  # one mkdir per folder, not per file
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            target.write_text(text, encoding="utf-8")
        kept = _carry_over(output, staging, previous, set(rendered.files)) if output.exists() else 0
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    removed = len(previous - set(rendered.files) - {INDEX})
    backup = output.with_name(output.name + _OLD)
    if output.exists():
        output.rename(backup)
    staging.rename(output)
    if backup.exists():
        shutil.rmtree(backup)
    return WriteResult(written=len(rendered.files), removed=removed, kept=kept, changed=True)


def _carry_over(output: Path, staging: Path, previous: set[str], rendered: set[str]) -> int:
    """Copy every file the previous render did not write (hand-added) into the new tree."""
    kept = 0
    for folder, _, names in os.walk(output):
        for name in names:
            source = Path(folder) / name
            relative = source.relative_to(output).as_posix()
            if relative in previous or relative in rendered:
                continue
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            kept += 1
    return kept
