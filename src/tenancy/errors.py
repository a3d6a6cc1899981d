"""Diagnostics, the exception tree and exit codes: the one place these types live.

Pure. Every stage of the pipeline (load, schema, policy, render, drift) reports problems as
`Diagnostic` values; exceptions are reserved for "tenancy cannot continue" and are turned into
exit code 3 in exactly one place (`cli.main`). See DESIGN.md, "Diagnostics".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]

#: Sort rank: errors first when a report is grouped by severity.
SEVERITY_RANK: dict[Severity, int] = {"error": 0, "warning": 1, "info": 2}


class ExitCode(enum.IntEnum):
    """Process exit codes, applied once in `cli.main` (click uses 2 for usage errors too)."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    ENVIRONMENT = 3


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """A 1-based position in a file; `rev` names a git revision when the file came from one."""

    path: str
    line: int = 1
    column: int = 1
    rev: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}@{self.rev}" if self.rev else self.path
        return f"{where}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    """One finding. `code` is a stable kebab-case identifier users can waive and search for."""

    location: Location
    severity: Severity
    code: str
    message: str
    hint: str | None = None
    source: str = "tenancy"  # which stage produced it: yaml, schema, policy, render, drift
    waived: bool = False
    related: tuple[Location, ...] = field(default=())
    #: What the finding is about, as `input.key.path` (policy findings; waivers match on it).
    subject: str | None = None

    def sort_key(self) -> tuple[str, int, int, int, str, str]:
        loc = self.location
        return (
            loc.path,
            loc.line,
            loc.column,
            SEVERITY_RANK[self.severity],
            self.code,
            self.message,
        )


def sort_diagnostics(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> list[Diagnostic]:
    """Sort by file, position, severity, then code, so every report is deterministic."""
    return sorted(diagnostics, key=Diagnostic.sort_key)


class TenancyError(Exception):
    """tenancy cannot continue (exit 3). The message is shown to the user as is."""


class ConfigError(TenancyError):
    """The configuration file is missing, unreadable or invalid."""


class RepoError(TenancyError):
    """git or the file system could not give us what we asked for."""


class PolicyEngineError(TenancyError):
    """A policy could not be compiled or evaluated, or the OPA server is unreachable."""


class BackendError(TenancyError):
    """Vault or Kubernetes is unreachable or refused a request."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """What a check found: sorted diagnostics and the files that were read."""

    diagnostics: tuple[Diagnostic, ...]
    files: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" and not d.waived for d in self.diagnostics)

    def count(self, severity: Severity) -> int:
        return sum(1 for d in self.diagnostics if d.severity == severity and not d.waived)

    def summary(self) -> dict[str, int]:
        return {
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "infos": self.count("info"),
            "waived": sum(1 for d in self.diagnostics if d.waived),
            "files": len(self.files),
        }


class UsageError(Exception):
    """The command line asks for something impossible (exit 2, like click's own errors)."""
