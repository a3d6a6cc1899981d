"""Output formats: each is a small function from a Report to text."""

from __future__ import annotations

import io
import json

import pytest

from tenancy.errors import Diagnostic, Location, Report
from tenancy.report import FORMATTERS, emit


def sample() -> Report:
    return Report(
        diagnostics=(
            Diagnostic(
                location=Location("r.yaml", 2, 54),
                severity="error",
                code="schema-enum",
                message='tier "wizard": not, one: of 100%\nsecond line',
                hint="did you mean 'admin'?",
            ),
        ),
        files=("r.yaml",),
    )


def render(name: str) -> str:
    out = io.StringIO()
    FORMATTERS[name](sample(), out, False)
    return out.getvalue()


def test_text_is_parsable() -> None:
    """text = path:line:col: [severity] message (code), then the hint and a summary."""
    lines = render("text").splitlines()
    assert lines[0].startswith("r.yaml:2:54: [error] tier")
    assert lines[0].endswith("of 100% second line (schema-enum)")  # one line per finding
    assert "    hint: did you mean 'admin'?" in lines
    assert lines[-1] == "1 error, 0 warnings in 1 file"


def test_github_escapes_properties_and_message() -> None:
    """Workflow commands escape %, newlines, and : , inside properties."""
    line = render("github").strip()
    assert line.startswith("::error file=r.yaml,line=2,col=54,title=schema-enum::")
    assert "100%25" in line and "%0Asecond line" in line


def test_json_has_version_ok_and_summary() -> None:
    """The JSON contract's top-level keys."""
    data = json.loads(render("json"))
    assert list(data) == ["version", "ok", "diagnostics", "summary"]
    assert data["diagnostics"][0]["hint"] == "did you mean 'admin'?"


def test_emit_auto_picks_github_under_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """auto means GitHub annotations under GitHub Actions and plain text elsewhere."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    out = io.StringIO()
    emit(sample(), "auto", out)
    assert out.getvalue().startswith("::error ")
    monkeypatch.delenv("GITHUB_ACTIONS")
    out = io.StringIO()
    emit(sample(), "auto", out)
    assert out.getvalue().startswith("r.yaml:2:54:")
