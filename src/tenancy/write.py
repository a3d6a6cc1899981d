"""Write the rendered tree, or compare it with what is on disk. Shell: the only writer.

The output directory is swapped in whole: the new tree is built beside it, hand-added files
(anything the previous INDEX.json does not list) are carried over, then two renames swap it in.
An interrupted render leaves the old tree or the new one, never a mix; a crash between the two
renames leaves the old tree under a backup name, which the next run restores.

Files whose bytes did not change are hard-linked from the old tree into the new one instead of
written again (a new inode is only made for a changed file, so the old tree is never altered).
A 1,000-user render is 22,000 small files: writing them costs seconds on a slow disk, and
deleting a whole tree of them makes the file system discard every freed block; linking costs
neither. Files are read and written as bytes with plain `os` calls, since `pathlib` and text
I/O cost more than the disk does at this count.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tenancy.errors import Diagnostic, Location, RepoError
from tenancy.render import INDEX, Rendered

_NEW = ".tenancy-new"
_OLD = ".tenancy-old"


@dataclass(frozen=True, slots=True)
class WriteResult:
    written: int  # files whose content is new or changed
    removed: int
    kept: int  # hand-added files carried over
    changed: bool
    unchanged: int = 0  # files carried over from the old tree as they were


def owned(output: Path) -> set[str]:
    """Files the previous render wrote, from its index (nothing when there is none)."""
    try:
        index = json.loads((output / INDEX).read_text(encoding="utf-8"))
        return {str(p) for p in index.get("files", {})} | {INDEX}
    except (OSError, ValueError, AttributeError):
        return set()


_BAD_PARTS = frozenset({"", ".", ".."})


def _safe(path: str) -> str:
    """A relative path with no `..`, empty or `.` part: it cannot leave the output directory."""
    if "\\" in path or "\0" in path or not _BAD_PARTS.isdisjoint(path.split("/")):
        raise RepoError(f"refusing to write {path!r}: it would leave the output directory")
    return path


def _open(path: str, *, follow: bool = True) -> int | None:
    """A read-only descriptor, or None when nothing is there (or a folder is).

    With `follow=False` a symbolic link raises OSError (ELOOP) instead of being opened."""
    flags = os.O_RDONLY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        return os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _chunks(fd: int) -> Iterator[bytes]:
    try:
        while chunk := os.read(fd, 1 << 20):
            yield chunk
    except IsADirectoryError:
        return


def file_digest(path: str | Path) -> str | None:
    """sha256 of a file's bytes, read in chunks (INDEX.json is 33 MB at 10,000 users), or
    None when there is no file."""
    fd = _open(str(path))
    if fd is None:
        return None
    try:
        digest = hashlib.sha256()
        for chunk in _chunks(fd):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


def _unchanged(path: str, data: bytes) -> bool:
    """The file holds exactly `data` (a regular file, readable); anything else is rewritten.
    Sizes are compared first, so a changed file is usually not read at all."""
    try:
        fd = _open(path, follow=False)
    except OSError:
        return False
    if fd is None:
        return False
    try:
        if os.fstat(fd).st_size != len(data):
            return False
        return b"".join(_chunks(fd)) == data
    except OSError:
        return False
    finally:
        os.close(fd)


def _encoded(rendered: Rendered) -> Iterator[tuple[str, bytes]]:
    for path, text in rendered.files.items():
        yield _safe(path), text.encode("utf-8")


def compare(output: Path, rendered: Rendered, shown: str) -> list[Diagnostic]:
    """Every modified, missing and orphan file, as drift diagnostics. Writes nothing."""
    digests = rendered.digests or {
        path: hashlib.sha256(data).hexdigest() for path, data in _encoded(rendered)
    }
    return compare_digests(output, digests, shown)


def compare_digests(output: Path, digests: dict[str, str], shown: str) -> list[Diagnostic]:
    """`compare`, given the sha256 of each file the render produces (see render_memo)."""
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

    base = str(output)
    for path, digest in digests.items():
        try:
            current = file_digest(f"{base}/{_safe(path)}")
        except OSError as exc:
            drift(path, "render-modified", f"unreadable: {exc}", "run tenancy render")
            continue
        if current is None:
            drift(
                path,
                "render-missing",
                "missing: the render produces this file",
                "run tenancy render",
            )
        elif current != digest:
            drift(
                path,
                "render-modified",
                "out of date: differs from a fresh render",
                "run tenancy render and commit the result (never edit generated files)",
            )
    for path in sorted(owned(output) - set(digests)):
        if os.path.lexists(f"{base}/{path}"):
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


@dataclass
class Staged:
    """A new tree built beside the output and not yet swapped in (or nothing to do).

    `render` stages while its checks still run, then commits only if they pass; `discard`
    removes the staging tree and leaves the output as it was."""

    output: Path
    staging: Path | None  # None: the output already holds exactly the render
    result: WriteResult

    def commit(self) -> WriteResult:
        if self.staging is None:
            return self.result
        backup = self.output.with_name(self.output.name + _OLD)
        if self.output.exists():
            self.output.rename(backup)
        self.staging.rename(self.output)
        self.staging = None
        if backup.exists():
            shutil.rmtree(backup)
        return self.result

    def discard(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None


def write(output: Path, rendered: Rendered) -> WriteResult:
    """Stage and swap in at once."""
    staged = stage(output, rendered)
    try:
        return staged.commit()
    except BaseException:
        staged.discard()
        raise


def stage(output: Path, rendered: Rendered) -> Staged:
    """Build the new tree beside `output`: unchanged files linked, others written, hand-added
    files copied. Nothing under `output` itself changes until `commit`."""
    recover(output)
    previous = owned(output)
    exists = output.exists()
    if exists and not previous and any(output.iterdir()):
        raise RepoError(
            f"{output} exists and was not written by tenancy (it has no {INDEX}); "
            "render into a new or empty directory"
        )
    encoded = dict(_encoded(rendered))
    old = str(output)
    same = (
        {path for path, data in encoded.items() if _unchanged(f"{old}/{path}", data)}
        if previous
        else set()
    )
    orphans = {p for p in previous - set(encoded) if os.path.lexists(f"{old}/{p}")}
    if exists and len(same) == len(encoded) and not orphans:
        result = WriteResult(written=0, removed=0, kept=0, changed=False, unchanged=len(same))
        return Staged(output, None, result)
    staging = output.with_name(output.name + _NEW)
    staging.mkdir(parents=True)
    try:
        _stage(str(staging), old, encoded, same)
        kept = _carry_over(output, staging, previous, set(encoded)) if exists else 0
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    result = WriteResult(
        written=len(encoded) - len(same),
        removed=len(orphans),
        kept=kept,
        changed=True,
        unchanged=len(same),
    )
    return Staged(output, staging, result)


def _stage(staging: str, old: str, encoded: dict[str, bytes], same: set[str]) -> None:
    """Fill the staging tree: unchanged files linked from the old tree, the rest written."""
    made: set[str] = set()
    link = True  # until the file system refuses hard links (some network and FUSE mounts)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for path, data in encoded.items():
        folder = path.rpartition("/")[0]
        if folder and folder not in made:  # one makedirs per folder, not per file
            os.makedirs(f"{staging}/{folder}", exist_ok=True)
            made.add(folder)
        target = f"{staging}/{path}"
        if link and path in same:
            try:
                os.link(f"{old}/{path}", target, follow_symlinks=False)
                continue
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                link = False
        fd = os.open(target, flags, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


def _carry_over(output: Path, staging: Path, previous: set[str], rendered: set[str]) -> int:
    """Copy every file the previous render did not write (hand-added) into the new tree."""
    kept = 0
    root = str(output)
    for folder, _, names in os.walk(root):
        prefix = folder[len(root) + 1 :]
        for name in names:
            relative = f"{prefix}/{name}" if prefix else name
            if relative in previous or relative in rendered:
                continue
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f"{folder}/{name}", target, follow_symlinks=False)
            kept += 1
    return kept
