"""Text for `tenancy rules` and `tenancy test`: the rule catalogue and test results. Pure.

The catalogue is the policies' METADATA (title, description, custom.code, custom.severity), the
way yamllint's rule docstrings are its documentation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from tenancy.validate.policy import Rule
from tenancy.validate.regotest import TestRun


def render(rules: Sequence[Rule], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([_rule_json(r) for r in rules], indent=2) + "\n"
    if fmt == "markdown":
        out = ["| code | severity | package | title |", "|---|---|---|---|"]
        out += [f"| `{r.code}` | {r.severity} | {r.package} | {r.title} |" for r in rules]
        out.append("")
        for rule in rules:
            out += [
                f"### `{rule.code}`",
                "",
                f"**{rule.title}** ({rule.severity}, `{rule.file}:{rule.line}`)",
                "",
                rule.description,
                "",
            ]
        return "\n".join(out)
    width = max((len(r.code) for r in rules), default=4)
    lines = [f"{r.code:<{width}}  {r.severity:<7}  {r.package:<16}  {r.title}" for r in rules]
    return "\n".join([*lines, f"{len(rules)} rules"]) + "\n"


def _rule_json(rule: Rule) -> dict[str, object]:
    return {
        "code": rule.code,
        "severity": rule.severity,
        "package": rule.package,
        "kind": rule.kind,
        "title": rule.title,
        "description": rule.description,
        "file": rule.file,
        "line": rule.line,
    }


def render_tests(outcome: TestRun, *, fmt: str, coverage: bool) -> str:
    passed = sum(1 for r in outcome.results if r.passed)
    failed = len(outcome.results) - passed
    if fmt == "json":
        document: dict[str, object] = {
            "version": 1,
            "tests": [
                {
                    "package": r.package,
                    "name": r.name,
                    "file": r.file,
                    "line": r.line,
                    "passed": r.passed,
                    **({"error": r.error} if r.error else {}),
                }
                for r in outcome.results
            ],
            "summary": {"passed": passed, "failed": failed},
        }
        if coverage:
            document["coverage"] = [
                {
                    "code": c.rule.code,
                    "file": c.rule.file,
                    "line": c.rule.line,
                    "fired": c.fired,
                    "quiet": c.quiet,
                }
                for c in outcome.coverage
            ]
        return json.dumps(document, indent=2) + "\n"
    lines = []
    for r in outcome.results:
        status = "PASS" if r.passed else "FAIL"
        lines.append(f"{status} {r.package}.{r.name} ({r.file}:{r.line})")
        if r.error and not r.passed:
            lines += [f"    {line}" for line in r.error.splitlines()]
    if coverage:
        lines.append("")
        lines.append("rule coverage (fired = a test saw it fire; quiet = a test saw it pass):")
        for c in outcome.coverage:
            mark = "ok     " if c.covered else "MISSING"
            lines.append(
                f"{mark} {c.rule.code:<28} fired={'yes' if c.fired else 'NO ':<3} "
                f"quiet={'yes' if c.quiet else 'NO ':<3} {c.rule.file}:{c.rule.line}"
            )
        covered = sum(1 for c in outcome.coverage if c.covered)
        lines.append(f"{covered}/{len(outcome.coverage)} rules covered")
    lines.append(f"rego tests: {passed} passed, {failed} failed")
    return "\n".join(lines) + "\n"
