"""Print a Report in one of the output formats. Shell: formatters write to a stream.

Formats are small functions in `FORMATTERS` (yamllint's `Format`, check-jsonschema's
`REPORTER_BY_NAME`). `text` is yamllint's "parsable" form, which editors and Woodpecker logs
read as is; `json` is a contract (DESIGN.md) other tools rely on, so its shape only grows.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any

from tenancy import __version__
from tenancy.errors import Diagnostic, ExitCode, Report

if TYPE_CHECKING:
    pass


Formatter = Callable[[Report, IO[str], bool], None]
_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_RESET = "\033[0m"


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    item: dict[str, Any] = {
        "file": d.location.path,
        "line": d.location.line,
        "column": d.location.column,
        "severity": d.severity,
        "code": d.code,
        "message": d.message,
    }
    if d.location.rev:
        item["rev"] = d.location.rev
    if d.hint:
        item["hint"] = d.hint
    if d.waived:
        item["waived"] = True
    return item


def counted(n: int, noun: str) -> str:
    """`1 error`, `2 errors`, `0 files`."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def format_text(report: Report, out: IO[str], colour: bool) -> None:
    for d in report.diagnostics:
        tag = f"[{d.severity}]" if not d.waived else f"[{d.severity}, waived]"
        if colour:
            tag = f"{_COLOURS[d.severity]}{tag}{_RESET}"
        message = " ".join(d.message.split())  # one line per finding: editors parse it
        out.write(f"{d.location}: {tag} {message} ({d.code})\n")
        if d.hint:
            out.write(f"    hint: {d.hint}\n")
    s = report.summary()
    parts = [counted(s["errors"], "error"), counted(s["warnings"], "warning")]
    if s["waived"]:
        parts.append(f"{s['waived']} waived")
    out.write(f"{', '.join(parts)} in {counted(s['files'], 'file')}\n")


def format_json(report: Report, out: IO[str], colour: bool) -> None:
    document = {
        "version": 1,
        "ok": report.ok,
        "diagnostics": [diagnostic_json(d) for d in report.diagnostics],
        "summary": report.summary(),
    }
    out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _gh_escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(report: Report, out: IO[str], colour: bool) -> None:
    levels = {"error": "error", "warning": "warning", "info": "notice"}
    for d in report.diagnostics:
        level = "notice" if d.waived else levels[d.severity]
        loc = d.location
        props = (
            f"file={_gh_escape(loc.path, prop=True)},line={loc.line},col={loc.column},"
            f"title={_gh_escape(d.code, prop=True)}"
        )
        text = d.message + (f" (hint: {d.hint})" if d.hint else "")
        out.write(f"::{level} {props}::{_gh_escape(text)}\n")


def format_junit(report: Report, out: IO[str], colour: bool) -> None:
    """One test case per file, failing with every error found in it (what CI UIs expect)."""
    from xml.etree import ElementTree  # only this format needs it (3 ms of every start)

    suites = ElementTree.Element("testsuites", name="tenancy")
    suite = ElementTree.SubElement(suites, "testsuite", name="tenancy validate")
    by_file: dict[str, list[Diagnostic]] = {path: [] for path in report.files}
    for d in report.diagnostics:
        by_file.setdefault(d.location.path, []).append(d)
    failures = 0
    for path, diagnostics in by_file.items():
        case = ElementTree.SubElement(suite, "testcase", classname="tenancy", name=path)
        errors = [d for d in diagnostics if d.severity == "error" and not d.waived]
        if errors:
            failures += 1
            failure = ElementTree.SubElement(
                case, "failure", message=counted(len(errors), "error"), type="tenancy"
            )
            failure.text = "\n".join(f"{d.location}: {d.message} ({d.code})" for d in errors)
        others = [d for d in diagnostics if d not in errors]
        if others:
            system_out = ElementTree.SubElement(case, "system-out")
            system_out.text = "\n".join(
                f"{d.location}: [{d.severity}{', waived' if d.waived else ''}] {d.message} "
                f"({d.code})"
                for d in others
            )
    suite.set("tests", str(len(by_file)))
    suite.set("failures", str(failures))
    ElementTree.indent(suites)
    out.write(ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n")


def format_sarif(report: Report, out: IO[str], colour: bool) -> None:
    levels = {"error": "error", "warning": "warning", "info": "note"}
    codes = sorted({d.code for d in report.diagnostics})
    results = []
    for d in report.diagnostics:
        result: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": codes.index(d.code),
            "level": levels[d.severity],
            "message": {"text": d.message + (f" Hint: {d.hint}" if d.hint else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": d.location.path},
                        "region": {"startLine": d.location.line, "startColumn": d.location.column},
                    }
                }
            ],
        }
        if d.waived:
            result["suppressions"] = [{"kind": "external", "justification": "waived"}]
        results.append(result)
    sarif = {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "tenancy",
                        "version": __version__,
                        "rules": [
                            {"id": code, "shortDescription": {"text": code}} for code in codes
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
    out.write(json.dumps(sarif, indent=2, ensure_ascii=False) + "\n")


FORMATTERS: dict[str, Formatter] = {
    "text": format_text,
    "json": format_json,
    "github": format_github,
    "junit": format_junit,
    "sarif": format_sarif,
}
FORMAT_NAMES = ("auto", *FORMATTERS)


def resolve_format(name: str, stream: IO[str]) -> tuple[str, bool]:
    """`auto` picks github annotations under GitHub Actions, else text; colour only on a tty."""
    if name == "auto":
        name = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    colour = name == "text" and stream.isatty() and "NO_COLOR" not in os.environ
    return name, colour


def emit(report: Report, name: str, stream: IO[str] | None = None) -> None:
    out = stream or sys.stdout
    resolved, colour = resolve_format(name, out)
    FORMATTERS[resolved](report, out, colour)


def lines(diagnostics: Iterable[Diagnostic]) -> list[str]:
    """Plain parsable lines, for embedding in other outputs."""
    return [f"{d.location}: [{d.severity}] {d.message} ({d.code})" for d in diagnostics]


def say(text: str, *, err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + ("\n" if nl else ""))


def finish(report: Report, fmt: str, strict: bool) -> ExitCode:
    emit(report, fmt)
    failing = not report.ok or (strict and report.count("warning") > 0)
    return ExitCode.FINDINGS if failing else ExitCode.OK
