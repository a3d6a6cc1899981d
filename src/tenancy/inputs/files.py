"""Read input and config files from the working tree. Shell: the only file reads of `validate`.

Every problem a user can cause (missing file, a directory, a file over the size cap, no
permission) becomes a Diagnostic at `path:1:1`; nothing here raises for bad input.

An input is a regular file inside the repository (the config's folder), symlinks followed:
the config and the inputs arrive in pull requests, and a path like `/etc/...`, `../../x` or a
committed symlink would otherwise put another file's content into the findings and the PR
comment; a device or a pipe (`/dev/stdin`) would hang the read. `--allow-outside` lifts the
folder rule, never the regular-file rule.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from tenancy.errors import Diagnostic, Location

CONFIG_NAME = "tenancy.yaml"


def find_config(start: Path) -> Path | None:
    """The nearest `tenancy.yaml` in `start` or one of its parents."""
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def display(path: Path, cwd: Path | None = None) -> str:
    """How a path is shown in diagnostics: relative to the working directory when inside it."""
    if not path.is_absolute():
        return os.path.normpath(path)
    base = (cwd or Path.cwd()).resolve()
    try:
        return str(path.resolve().relative_to(base))
    except ValueError:  # outside the working directory: an absolute path is clearer
        return str(path)


#: Set by `--allow-outside` (cli/options.input_options) for the one command being run.
allow_outside = False


def outside(path: Path, root: Path) -> bool:
    """Whether `path`, every symlink followed, lies outside the folder `root`."""
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        return True
    return False


def inside_reader(root: Path, read: Callable[[str], bytes | None]) -> Callable[[str], bytes | None]:
    """`read` for repository-relative paths, as if nothing outside `root` existed (and nothing
    that is not a regular file): for `diff`, whose working tree may hold such a symlink."""

    def guarded(relative: str) -> bytes | None:
        target = root / relative
        if outside(target, root) or not target.is_file():
            return None
        return read(relative)

    return guarded


def refusal(path: Path, root: Path | None) -> tuple[str, str, str] | None:
    """Why `path` may not be read as an input: (code, message, hint), or None."""
    if root is not None and not allow_outside and outside(path, root):
        return (
            "input-outside-repository",
            f"{path} is outside the repository ({root}); it was not read",
            "inputs are files inside the config's folder; pass --allow-outside to read it",
        )
    try:
        mode = path.stat().st_mode
    except OSError:
        return None  # missing or unreadable: the read says which
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return (
            "input-not-a-file",
            f"{path} is not a regular file (a device, pipe or socket); it was not read",
            "inputs are plain files",
        )
    return None


def read_input(
    path: Path, shown: str, *, max_bytes: int, root: Path | None = None
) -> tuple[bytes | None, list[Diagnostic]]:
    """Read at most `max_bytes` of a file, or say in a diagnostic why it cannot be read.

    With `root`, a file outside that folder is refused unread (unless `allow_outside`)."""

    def problem(code: str, message: str, hint: str | None = None) -> list[Diagnostic]:
        return [
            Diagnostic(
                location=Location(shown),
                severity="error",
                code=code,
                message=message,
                hint=hint,
                source="input",
            )
        ]

    refused = refusal(path, root)
    if refused is not None:
        return None, problem(*refused)
    try:
        if path.is_dir():
            return None, problem(
                "input-not-a-file", f"{shown} is a directory, not a file", "name the file itself"
            )
        # O_NONBLOCK: should the file have become a pipe since it was looked at, opening it
        # returns at once instead of waiting for a writer.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None, problem("input-not-a-file", f"{shown} is not a regular file")
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        return None, problem(
            "input-missing",
            f"input file {shown} does not exist",
            "check the path in tenancy.yaml or on the command line",
        )
    except PermissionError:
        return None, problem("input-unreadable", f"no permission to read {shown}")
    except OSError as exc:
        return None, problem("input-unreadable", f"cannot read {shown}: {exc.strerror or exc}")
    if len(raw) > max_bytes:
        return None, problem(
            "input-too-large",
            f"{shown} is larger than the {max_bytes:,}-byte limit",
            "raise limits.max_file_bytes in tenancy.yaml if this file is really that large",
        )
    return raw, []
