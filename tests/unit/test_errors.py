"""Diagnostic values: printing, ordering and the report summary."""

from __future__ import annotations

from tenancy.errors import Diagnostic, ExitCode, Location, Report, sort_diagnostics


def diag(path: str, line: int, severity: str = "error", code: str = "x") -> Diagnostic:
    return Diagnostic(
        location=Location(path, line, 1),
        severity=severity,
        code=code,
        message="m",  # type: ignore[arg-type]
    )


def test_location_prints_path_line_col_and_rev() -> None:
    """Locations print as path:line:col, with @rev when from a git revision."""
    assert str(Location("a.yaml", 3, 7)) == "a.yaml:3:7"
    assert str(Location("a.yaml", 3, 7, rev="HEAD~1")) == "a.yaml@HEAD~1:3:7"


def test_sorting_is_by_file_then_position() -> None:
    """Reports are ordered by file, line, then severity, whatever order stages found them in."""
    items = [diag("b", 1), diag("a", 9), diag("a", 2, "warning"), diag("a", 2)]
    ordered = sort_diagnostics(items)
    assert [(d.location.path, d.location.line, d.severity) for d in ordered] == [
        ("a", 2, "error"),
        ("a", 2, "warning"),
        ("a", 9, "error"),
        ("b", 1, "error"),
    ]


def test_report_ok_and_summary() -> None:
    """Only unwaived errors make a report fail; waived ones are counted apart."""
    waived = Diagnostic(
        location=Location("a"), severity="error", code="x", message="m", waived=True
    )
    report = Report(diagnostics=(diag("a", 1, "warning"), waived), files=("a",))
    assert report.ok
    assert report.summary() == {"errors": 0, "warnings": 1, "infos": 0, "waived": 1, "files": 1}
    assert not Report(diagnostics=(diag("a", 1),)).ok


def test_exit_codes_are_the_documented_ones() -> None:
    """0 clean, 1 findings, 2 usage, 3 environment."""
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3]
