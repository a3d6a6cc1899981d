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

One render at a time writes an output folder (`locked`): it holds an `flock` on
`<output>.tenancy-lock` beside it, a file that exists only while a render runs, so it is never
committed.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Container, Iterable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path

from tenancy.errors import Diagnostic, Location, RepoError
from tenancy.render.plan import INDEX, Rendered
from tenancy.render.plan.sync import SYNCED

_NEW = ".tenancy-new"
_OLD = ".tenancy-old"
_LOCK = ".tenancy-lock"
#: How long a render waits for another render of the same folder (`TENANCY_LOCK_WAIT`).
LOCK_WAIT = 10.0


@dataclass(frozen=True, slots=True)
class WriteResult:
    written: int  # files whose content is new or changed
    removed: int
    kept: int  # hand-added files carried over
    changed: bool
    unchanged: int = 0  # files carried over from the old tree as they were
    kept_files: tuple[str, ...] = ()  # the hand-added files, relative to the output


def owned(output: Path) -> set[str]:
    """Files the previous render wrote, from its index (nothing when there is none)."""
    try:
        index = json.loads((output / INDEX).read_text(encoding="utf-8"))
        # The names are copied out in one piece and split again: the parsed index (100 MB at
        # 10,000 users) is freed whole, where keeping its own key strings would keep most of
        # the memory it was parsed into.
        names = [str(p) for p in index.get("files", {})]
    except (OSError, ValueError, AttributeError):
        return set()
    del index
    joined = "\0".join(names)
    if joined.count("\0") != len(names) - 1:  # a name holding NUL (no render writes one)
        return {*(name for name in names if not _escapes(name)), INDEX}
    del names
    if not joined:
        return {INDEX}
    found = {*joined.split("\0"), INDEX}
    # A name that leaves the output (an index edited by hand) is never owned: one search of
    # the joined names finds whether there is any, before any name is looked at alone.
    if (
        any(escape in joined for escape in _JOINED_ESCAPES)
        or joined.startswith(("/", "./", "../", ".\0", "..\0", "\0"))
        or joined.endswith(("/", "/.", "/..", "\0.", "\0..", "\0"))
        or joined in (".", "..")
    ):
        found = {name for name in found if not _escapes(name)}
    return found


def _escapes(path: str) -> bool:
    """Whether a path is not a plain relative one: absolute, or with a `..`, empty or `.` part
    (it could leave the output directory)."""
    # With a `/` around it, a path's parts are the text between slashes: an empty part is
    # `//` (an absolute path starts with one), a `.` part is `/./`, a `..` part is `/../`
    # (string searches: 220,000 paths).
    wrapped = f"/{path}/"
    return "\\" in path or "//" in wrapped or "/./" in wrapped or "/../" in wrapped


def _safe(path: str) -> str:
    """A relative path with no `..`, empty or `.` part: it cannot leave the output directory."""
    if "\0" in path or _escapes(path):
        raise RepoError(f"refusing to write {path!r}: it would leave the output directory")
    return path


#: Every way a name in the `\0`-joined names of an index leaves the output (see `_escapes`).
_JOINED_ESCAPES: tuple[str, ...] = ("\\", "//", "/./", "/../", "\0/", "/\0", "\0./", "/.\0")
_JOINED_ESCAPES += ("\0.\0", "\0../", "/..\0", "\0..\0", "\0\0")


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
    """`compare`, given the sha256 of each file the render produces (see `memo`)."""
    previous = owned(output)
    return [
        *compare_files(output, digests, shown),
        *orphans(output, set(digests), shown, previous),
        *unowned(output, digests, previous, shown),
    ]


def compare_part(
    output: Path, files: Iterable[tuple[str, str]], shown: str
) -> tuple[dict[str, str], list[Diagnostic]]:
    """A share of the files, as they are written: their digests and their drift."""
    digests = {path: hashlib.sha256(text.encode()).hexdigest() for path, text in files}
    return digests, compare_files(output, digests, shown)


def _drift(shown: str, path: str, code: str, message: str, hint: str) -> Diagnostic:
    return Diagnostic(
        location=Location(f"{shown}/{path}"),
        severity="error",
        code=code,
        message=message,
        hint=hint,
        source="drift",
    )


def compare_files(output: Path, digests: dict[str, str], shown: str) -> list[Diagnostic]:
    """Each listed file that is missing, unreadable or holds other bytes."""
    problems = []

    def drift(path: str, code: str, message: str, hint: str) -> None:
        problems.append(_drift(shown, path, code, message, hint))

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
    return problems


def orphans(
    output: Path, paths: set[str], shown: str, previous: set[str] | frozenset[str] | None = None
) -> list[Diagnostic]:
    """Files the previous render wrote (`previous`, read from its index when not given) that
    this one does not."""
    base = str(output)
    owned_before = owned(output) if previous is None else previous
    return [
        _drift(
            shown,
            path,
            "render-orphan",
            "orphan: no longer rendered from the inputs",
            "run tenancy render to delete it",
        )
        for path in sorted(owned_before - paths)
        if os.path.lexists(f"{base}/{path}")
    ]


def lock_path(output: Path) -> Path:
    return output.with_name(output.name + _LOCK)


@contextmanager
def locked(output: Path, wait: float | None = None) -> Iterator[None]:
    """Hold the output's lock while the block runs: another render of the same folder waits
    up to `wait` seconds for it, then fails (RepoError). The lock file is removed on release."""
    path = lock_path(output)
    if wait is None:
        try:
            wait = float(os.environ.get("TENANCY_LOCK_WAIT", LOCK_WAIT))
        except ValueError:
            wait = LOCK_WAIT
    deadline = time.monotonic() + wait
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            raise RepoError(f"cannot lock {output} for writing: {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise RepoError(
                    f"another tenancy render is writing {output} (it holds {path}); "
                    "run again once it has finished"
                ) from None
            time.sleep(0.1)
            continue
        # The render before may have removed the file between our open and our lock: a lock
        # on a name no longer there is no lock, so take it again.
        try:
            held = os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
        except FileNotFoundError:
            held = False
        if held:
            break
        os.close(fd)
    try:
        yield
    finally:
        with suppress(OSError):
            os.unlink(path)
        os.close(fd)


def unowned(
    output: Path, paths: Container[str], previous: Container[str], shown: str
) -> list[Diagnostic]:
    """Files in the folders a cluster syncs (`sync.SYNCED`) that neither this render nor the
    previous one wrote: Argo CD and Flux apply what such a folder holds (an
    `.argocd-source-*.yaml` even overrides the Application), so a hand-added one is drift."""
    base = str(output)
    found = []
    for folder in SYNCED:
        for here, _, names in os.walk(f"{base}/{folder}"):
            prefix = here[len(base) + 1 :]
            for name in names:
                path = f"{prefix}/{name}"
                if path not in paths and path not in previous:
                    found.append(
                        _drift(
                            shown,
                            path,
                            "render-unowned",
                            "not rendered by tenancy, in a folder the cluster syncs as it is",
                            "delete it, or render it from the inputs",
                        )
                    )
    return found


def recover(output: Path) -> None:
    """Finish or undo a swap that a crash interrupted."""
    backup = output.with_name(output.name + _OLD)
    staging = output.with_name(output.name + _NEW)
    if backup.is_symlink() and output.exists():  # never followed: only the link is ours
        backup.unlink()
    elif backup.exists():
        if output.exists():
            shutil.rmtree(backup)
        else:
            backup.rename(output)
    if staging.is_symlink():
        staging.unlink()
    elif staging.exists():
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
        moved = self.output.exists()
        if moved:
            self.output.rename(backup)
        try:
            self.staging.rename(self.output)
        except BaseException:
            if moved:  # the old tree back in place; the caller discards the staging
                backup.rename(self.output)
            raise
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
    target = begin(output)
    try:
        part = write_part(target, rendered.files.items())
        return end(target, [part])
    except BaseException:
        target.discard()
        raise


@dataclass(frozen=True, slots=True)
class Target:
    """An output being staged: the new tree is built in `staging`, beside it."""

    output: Path
    staging: Path
    previous: frozenset[str]  # what the previous render wrote (its INDEX.json)
    exists: bool

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Part:
    """What one writer did with its share of the files."""

    digests: dict[str, str]  # path -> sha256 of every file it wrote or linked
    written: int
    same: int  # carried over from the old tree as they were


def begin(output: Path) -> Target:
    """Get ready to stage a new tree for `output` (an interrupted swap is finished first);
    an existing directory that tenancy did not write is refused, untouched, and so is a
    symbolic link (the swap would replace the link with a folder)."""
    if output.is_symlink():
        raise RepoError(
            f"{output} is a symbolic link (to {os.readlink(output)}); tenancy replaces its "
            "output folder whole: render into the folder itself (--output, or output: in "
            "tenancy.yaml)"
        )
    recover(output)
    previous = owned(output)
    exists = output.exists()
    if exists and not previous and any(output.iterdir()):
        raise RepoError(
            f"{output} exists and was not written by tenancy (it has no {INDEX}); "
            "render into a new or empty directory"
        )
    staging = output.with_name(output.name + _NEW)
    staging.mkdir(parents=True)
    return Target(output, staging, frozenset(previous), exists)


def write_part(target: Target, files: Iterable[tuple[str, str]]) -> Part:
    """Stage a share of the files as they come: a file whose bytes the old tree holds is
    linked from it, any other is written. Shares of one tree may be written at once by
    several processes, and a share may be written again (after a writer that died)."""
    staging, old = str(target.staging), str(target.output)
    check_old = bool(target.previous)
    digests: dict[str, str] = {}
    written = same = 0
    made: set[str] = set()
    link = True  # until the file system refuses hard links (some network and FUSE mounts)
    sha256 = hashlib.sha256
    for path, text in files:
        data = text.encode()
        digests[_safe(path)] = sha256(data).hexdigest()
        folder = path.rpartition("/")[0]
        if folder not in made:  # one makedirs per folder, not per file
            if folder:
                os.makedirs(f"{staging}/{folder}", exist_ok=True)
            made.add(folder)
        new = f"{staging}/{path}"
        if check_old and _unchanged(f"{old}/{path}", data):
            same += 1
            if link:
                try:
                    _link(f"{old}/{path}", new)
                    continue
                except OSError as exc:
                    if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                        raise
                    link = False
        else:
            written += 1
        _put(new, data)
    return Part(digests, written, same)


def _link(old: str, new: str) -> None:
    try:
        os.link(old, new, follow_symlinks=False)
    except FileExistsError:  # left by a writer that died: this share is written again
        os.unlink(new)
        os.link(old, new, follow_symlinks=False)


def _put(path: str, data: bytes) -> None:
    # O_NOFOLLOW: the staging tree is our own, but a name in it is never followed elsewhere.
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW
    fd = os.open(path, flags, 0o644)
    try:
        done = os.write(fd, data)
        if done < len(data):  # a short write (rare for a small file): write the rest
            view = memoryview(data)[done:]
            while view:
                view = view[os.write(fd, view) :]
    except OSError as exc:  # a full disk: `os.write` does not say which file (see `guarded`)
        raise OSError(exc.errno, exc.strerror, path) from None
    finally:
        os.close(fd)


def end(target: Target, parts: list[Part]) -> Staged:
    """The staged tree, once every share is written: hand-added files carried over, or, when
    nothing changed, no new tree at all (the staging is removed)."""
    paths = {path for part in parts for path in part.digests}
    written = sum(part.written for part in parts)
    same = sum(part.same for part in parts)
    old = str(target.output)
    gone = {p for p in target.previous - paths if os.path.lexists(f"{old}/{p}")}
    if target.exists and written == 0 and not gone:
        target.discard()
        result = WriteResult(written=0, removed=0, kept=0, changed=False, unchanged=same)
        return Staged(target.output, None, result)
    kept = (
        _carry_over(target.output, target.staging, set(target.previous), paths)
        if target.exists
        else []
    )
    result = WriteResult(
        written=written,
        removed=len(gone),
        kept=len(kept),
        changed=True,
        unchanged=same,
        kept_files=tuple(sorted(kept)),
    )
    return Staged(target.output, target.staging, result)


def _carry_over(output: Path, staging: Path, previous: set[str], rendered: set[str]) -> list[str]:
    """Copy everything the previous render did not write (hand-added) into the new tree: files,
    links (as links, never followed) and empty folders; what was copied."""
    kept = []
    root = str(output)
    for folder, dirs, names in os.walk(root):
        prefix = folder[len(root) + 1 :]
        # os.walk lists a link to a folder among the folders and does not enter it.
        links = [name for name in dirs if os.path.islink(f"{folder}/{name}")]
        if not dirs and not names and prefix:
            if prefix in rendered:
                raise RepoError(_occupied(output, f"{prefix}/", rendered))
            (staging / prefix).mkdir(parents=True, exist_ok=True)
            kept.append(prefix)
        for name in (*names, *links):
            relative = f"{prefix}/{name}" if prefix else name
            if relative in previous or relative in rendered:
                continue
            target = staging / relative
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                if os.path.lexists(target):
                    raise FileExistsError(relative)
            except (FileExistsError, NotADirectoryError):
                raise RepoError(_occupied(output, relative, rendered)) from None
            shutil.copy2(f"{folder}/{name}", target, follow_symlinks=False)
            kept.append(relative)
    return kept


def _occupied(output: Path, relative: str, rendered: set[str]) -> str:
    """Why a hand-added file cannot be carried over: it, or a folder holding it, stands where
    the render puts a file (or a folder)."""
    parts = relative.split("/")
    for end in range(1, len(parts) + 1):
        here = "/".join(parts[:end])
        if here in rendered:
            if end == len(parts):
                break
            inside = "/".join(parts[end:])
            holds = f" (it holds {inside})" if inside else ""
            return (
                f"{output}/{here}: a folder stands where tenancy renders a file{holds}; "
                f"move it out of {output} and render again"
            )
    return (
        f"{output}/{relative}: a file stands where tenancy renders a folder; move it out of "
        f"{output} and render again"
    )


@contextmanager
def guarded(output: Path, shown: str, *, lock: bool) -> Iterator[None]:
    """Write `output` (under its lock when `lock`): a file system that refuses a write (a full
    disk, a read-only folder, a file size limit) ends the render as an environment error
    naming the path, instead of a traceback. The staged tree is discarded by then, and the
    output left as it was."""
    try:
        with locked(output) if lock else nullcontext():
            yield
    except OSError as exc:
        where = str(exc.filename or output)
        for suffix in (_NEW, _OLD):  # name the output, not the folders tenancy works in
            staged = str(output) + suffix
            if where.startswith(staged):
                where = shown + where[len(staged) :]
        raise RepoError(f"cannot write {shown}: {where}: {exc.strerror or exc}") from None
