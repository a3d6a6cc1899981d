"""`tenancy test`: run every `*_test.rego` in the embedded engine, and rule-level coverage.

Pure given the policy texts (the engine runs in-process). OPA's line coverage says which lines
ran, not whether each rule was shown to *fire* and shown to *stay quiet*; that is what a
reviewer needs (reference/anchors.md, "what none of them has", 4). So coverage here is per
entry rule: the rule's body is instrumented with two `print` calls, one as its first expression
("evaluated") and one as its last ("fired"), and each test's prints are collected. A rule is
covered when some test saw it fire and some test saw it evaluated without firing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tenancy.errors import PolicyEngineError
from tenancy.validate.policy import PolicyModule, PolicySet, Rule
from tenancy.validate.policy.embedded import EmbeddedEngine

_TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]+)\b", re.MULTILINE)
_EVALUATED = "__tenancy_evaluated__"
_FIRED = "__tenancy_fired__"


@dataclass(frozen=True, slots=True, kw_only=True)
class TestResult:
    package: str
    name: str
    file: str
    line: int
    passed: bool
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleCoverage:
    rule: Rule
    fired: bool  # some test saw it produce a violation
    quiet: bool  # some test saw it evaluated without producing one

    @property
    def covered(self) -> bool:
        return self.fired and self.quiet


@dataclass(frozen=True, slots=True, kw_only=True)
class TestRun:
    results: tuple[TestResult, ...]
    coverage: tuple[RuleCoverage, ...]


def discover(module: PolicyModule) -> Iterator[tuple[str, int]]:
    """Test rule names in a test module, with their 1-based lines."""
    seen: set[str] = set()
    for match in _TEST_RULE.finditer(module.text):
        name = match.group(1)
        if name not in seen:  # a test may have several bodies; it is one test
            seen.add(name)
            yield name, module.text.count("\n", 0, match.start()) + 1


def run(policies: PolicySet, *, match: str | None = None) -> TestRun:
    """Run the tests (optionally those whose name contains `match`) with coverage probes."""
    rules = policies.catalogue()
    sources = {
        m.path: m.text if m.is_test else instrument(m.text, [r for r in rules if r.file == m.path])
        for m in policies.modules
    }
    engine = EmbeddedEngine(sources, gather_prints=True)
    results: list[TestResult] = []
    fired: set[str] = set()
    quiet: set[str] = set()
    for module in policies.modules:
        if not module.is_test:
            continue
        for name, line in discover(module):
            if match and match not in name:
                continue
            ref = f"data.{module.package}.{name}"
            try:
                value = engine.eval_rule(ref)
                error = None
            except PolicyEngineError as exc:
                value, error = None, str(exc)
            prints = engine.take_prints()
            evaluated = {p.split()[-1] for p in prints if _EVALUATED in p}
            fired_here = {p.split()[-1] for p in prints if _FIRED in p}
            fired |= fired_here
            quiet |= evaluated - fired_here
            results.append(
                TestResult(
                    package=module.package,
                    name=name,
                    file=module.path,
                    line=line,
                    passed=value is True,
                    error=error if error else (None if value is True else f"result: {value}"),
                )
            )
    coverage = tuple(
        RuleCoverage(rule=rule, fired=rule_id(rule) in fired, quiet=rule_id(rule) in quiet)
        for rule in rules
    )
    return TestRun(results=tuple(results), coverage=coverage)


def rule_id(rule: Rule) -> str:
    """One entry rule: several rules may share a code (the same check in both input files)."""
    return f"{rule.code}@{rule.file}:{rule.line}"


def instrument(text: str, rules: list[Rule]) -> str:
    """Insert the two probe prints into the body of each catalogued entry rule.

    `Rule.line` is the rule's head line (the line after its METADATA block). Bodies are found
    by brace matching that skips strings and comments; a rule written without braces is left
    as is and so reports as uncovered, which is the safe direction.
    """
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    inserts: list[tuple[int, str]] = []
    for rule in rules:
        start = offsets[rule.line - 1]
        body = _body_span(text, start)
        if body is None:
            continue
        open_brace, close_brace = body
        probe = rule_id(rule)
        inserts.append((open_brace + 1, f'\n\tprint("{_EVALUATED}", "{probe}")\n'))
        inserts.append((close_brace, f'\n\tprint("{_FIRED}", "{probe}")\n'))
    for position, snippet in sorted(inserts, reverse=True):
        text = text[:position] + snippet + text[position:]
    return text


def _body_span(text: str, start: int) -> tuple[int, int] | None:
    """Offsets of the `{` that opens the rule body after `if`, and of its matching `}`."""
    head = re.compile(r"\bif\s*\{").search(text, start)
    if head is None or text.count("\n", start, head.start()) > 3:
        return None
    open_brace = head.end() - 1
    depth = 0
    i = open_brace
    while i < len(text):
        char = text[i]
        if char == "#":
            i = text.find("\n", i)
            if i < 0:
                return None
            continue
        if char in '"`':
            end = _string_end(text, i)
            if end < 0:
                return None
            i = end + 1
            continue
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
            if depth == 0:
                return open_brace, i
        i += 1
    return None


def _string_end(text: str, start: int) -> int:
    quote = text[start]
    i = start + 1
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return -1
