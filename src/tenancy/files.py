"""Read input and config files from the working tree. Shell: the only file reads of `validate`.

Every problem a user can cause (missing file, a directory, a file over the size cap, no
permission) becomes a Diagnostic at `path:1:1`; nothing here raises for bad input.
"""

from __future__ import annotations

import os
from pathlib import Path

from tenancy.errors import ConfigError, Diagnostic, Location
from tenancy.policy import PolicySet, module_from_text

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


def read_input(path: Path, shown: str, *, max_bytes: int) -> tuple[bytes | None, list[Diagnostic]]:
    """Read at most `max_bytes` of a file, or say in a diagnostic why it cannot be read."""

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

    try:
        if path.is_dir():
            return None, problem(
                "input-not-a-file", f"{shown} is a directory, not a file", "name the file itself"
            )
        with path.open("rb") as handle:
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


def read_policies(dirs: list[Path]) -> PolicySet:
    """Every `.rego` file below the given directories, in a stable order."""
    modules = []
    for folder in dirs:
        if not folder.is_dir():
            raise ConfigError(f"policy directory {folder} does not exist")
        for path in sorted(folder.rglob("*.rego")):
            text = path.read_text(encoding="utf-8")
            modules.append(module_from_text(display(path), text))
    return PolicySet(tuple(modules))
