"""Policy stage: evaluate Rego policies over the inputs and turn violations into diagnostics.

Pipeline stage 4 (schema -> **policy** -> model). `evaluate` is pure given an engine; the
engines live in `embedded.py` (in-process, the default) and `server.py` (a real OPA server).

The directory listing is the registry (STYLE rule 4): every package found under the policy
directories whose METADATA does not say `custom.stage: rendered` is an input policy, and its
`deny` and `warn` rules are queried. No Python list of policies needs maintaining.

Violation contract: `{"code": str, "msg": str, "path": [...], "related"?: [[...], ...]}` where
`path` points into the input; the loader maps it to the file, line and column of the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Protocol

import yaml

from tenancy.errors import Diagnostic, Location, PolicyEngineError, Severity

Stage = Literal["input", "rendered"]
#: A policy input, or what makes it on demand. An input made on demand is the engine's alone,
#: let go of once the engine has read it: the audit's input at 10,000 users is 55 MB of Python
#: objects that need not live beside the engine's own copy while it evaluates.
Input = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
ENTRY_RULES: tuple[str, ...] = ("deny", "warn")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PACKAGE = re.compile(r"^package\s+([A-Za-z_][\w.]*)", re.MULTILINE)
_ENTRY = re.compile(r"^(deny|warn)\s+contains\b", re.MULTILINE)


class PolicyEngine(Protocol):
    """Evaluates the loaded policy modules; one call per input, many rule refs per call."""

    def query(self, refs: Sequence[str], input: Input) -> dict[str, Any]:
        """The JSON value of each `data.<ref>` (absent when undefined) for this input."""
        ...


def made(input: Input) -> Mapping[str, Any]:
    """The input itself: made now when it is made on demand."""
    return input() if callable(input) else input


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One entry rule of the catalogue, from its `# METADATA` block."""

    package: str
    kind: str  # deny | warn
    code: str
    severity: Severity
    title: str
    description: str
    file: str
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyModule:
    path: str  # shown in engine errors and the catalogue
    text: str
    package: str
    is_test: bool
    stage: Stage
    entries: tuple[str, ...]  # which of deny/warn the module defines
    #: Rendered stage: the object kinds the package reads (`custom.kinds`); None means all.
    kinds: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class PolicySet:
    modules: tuple[PolicyModule, ...]

    def packages(self, stage: Stage) -> tuple[str, ...]:
        return tuple(
            sorted({m.package for m in self.modules if not m.is_test and m.stage == stage})
        )

    def refs(self, stage: Stage) -> tuple[str, ...]:
        refs = {
            f"{m.package}.{entry}"
            for m in self.modules
            if not m.is_test and m.stage == stage
            for entry in m.entries
        }
        return tuple(sorted(refs))

    def kinds(self, stage: Stage) -> frozenset[str] | None:
        """The object kinds the stage's packages read, or None when one of them reads all.

        Only these kinds are given to the rendered-stage rules: at 10,000 users the other
        objects (namespaces, quotas, network policies, certificates) are 80 % of the input and
        of the engine's memory. A package without `custom.kinds` gets every object."""
        wanted: set[str] = set()
        for module in self.modules:
            if module.is_test or module.stage != stage:
                continue
            if module.kinds is None:
                return None
            wanted.update(module.kinds)
        return frozenset(wanted)

    def sources(self, *, tests: bool = False) -> dict[str, str]:
        return {m.path: m.text for m in self.modules if tests or not m.is_test}

    def catalogue(self) -> tuple[Rule, ...]:
        return _catalogue(self.modules)


@cache
def _catalogue(modules: tuple[PolicyModule, ...]) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for module in modules:
        if not module.is_test:
            rules.extend(_rules_of(module))
    return tuple(sorted(rules, key=lambda r: (r.package, r.code)))


def module_from_text(path: str, text: str) -> PolicyModule:
    """Describe one `.rego` file: its package, whether it is a test, and its entry rules."""
    match = _PACKAGE.search(text)
    package = match.group(1) if match else ""
    stage: Stage = "input"
    kinds: tuple[str, ...] | None = None
    for block, line in _metadata_blocks(text):
        if _is_package_scope(block, text, line):
            custom = block.get("custom") or {}
            if isinstance(custom, dict) and custom.get("stage") == "rendered":
                stage = "rendered"
            listed = custom.get("kinds") if isinstance(custom, dict) else None
            if isinstance(listed, list) and all(isinstance(k, str) for k in listed):
                kinds = tuple(sorted(listed))
    return PolicyModule(
        path=path,
        text=text,
        package=package,
        is_test=path.endswith("_test.rego"),
        stage=stage,
        entries=tuple(sorted(set(_ENTRY.findall(text)))),
        kinds=kinds,
    )


def _is_package_scope(block: dict[str, Any], text: str, line: int) -> bool:
    """A block is about the package when it says so, or when it sits right above `package`."""
    if block.get("scope") == "package":
        return True
    lines = text.splitlines()
    return "scope" not in block and line - 1 < len(lines) and lines[line - 1].startswith("package ")


def _metadata_blocks(text: str) -> Iterable[tuple[dict[str, Any], int]]:
    """Each `# METADATA` comment block parsed as YAML, with the 1-based line after it."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "# METADATA":
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].startswith("#"):
                body.append(lines[i][2:] if lines[i].startswith("# ") else lines[i][1:])
                i += 1
            try:
                parsed = yaml.load("\n".join(body), Loader=_Loader)
            except yaml.YAMLError:
                parsed = None
            if isinstance(parsed, dict):
                yield parsed, i + 1
        else:
            i += 1


def _rules_of(module: PolicyModule) -> Iterable[Rule]:
    lines = module.text.splitlines()
    for block, line in _metadata_blocks(module.text):
        if _is_package_scope(block, module.text, line):
            continue
        custom = block.get("custom") or {}
        code = custom.get("code") if isinstance(custom, dict) else None
        if not code:
            continue
        head = lines[line - 1] if line - 1 < len(lines) else ""
        kind = "warn" if head.startswith("warn") else "deny"
        declared = str(custom.get("severity") or ("warning" if kind == "warn" else "error"))
        severity: Severity = "error"
        if declared == "warning":
            severity = "warning"
        elif declared == "info":
            severity = "info"
        yield Rule(
            package=module.package,
            kind=kind,
            code=str(code),
            severity=severity,
            title=str(block.get("title", code)),
            description=" ".join(str(block.get("description", "")).split()),
            file=module.path,
            line=line,
        )


Locator = Callable[[Sequence[str | int]], Location | None]


def evaluate(
    engine: PolicyEngine,
    policies: PolicySet,
    input: Input,
    locate: Locator,
    *,
    stage: Stage = "input",
    fallback: Location,
) -> list[Diagnostic]:
    """Run every entry rule of `stage` once over `input` and return one diagnostic per violation."""
    refs = policies.refs(stage)
    if not refs:
        return []
    severities = {rule.code: rule.severity for rule in policies.catalogue()}
    results = engine.query(refs, input)
    diagnostics: list[Diagnostic] = []
    for ref in refs:
        kind = ref.rsplit(".", 1)[1]
        for violation in _as_list(results.get(ref), ref):
            diagnostics.append(_diagnostic(violation, kind, severities, locate, fallback, ref))
    return diagnostics


def canonical(value: Any) -> Any:
    """A set of violations in one order, whichever engine produced it (each has its own)."""
    if isinstance(value, list):
        return sorted(value, key=lambda item: json.dumps(item, sort_keys=True))
    return value


def _as_list(value: Any, ref: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise PolicyEngineError(f"data.{ref} is not a set of violations: {json.dumps(value)[:200]}")


def _diagnostic(
    violation: Any,
    kind: str,
    severities: Mapping[str, Severity],
    locate: Locator,
    fallback: Location,
    ref: str,
) -> Diagnostic:
    if isinstance(violation, str):  # tolerated from user policies: a bare message
        violation = {"msg": violation}
    if not isinstance(violation, dict):
        raise PolicyEngineError(f"data.{ref} produced {violation!r}, not a violation object")
    code = str(violation.get("code") or ref.replace(".", "-"))
    path = violation.get("path") or []
    location = locate(path) if isinstance(path, list) else None
    related = tuple(
        loc
        for other in violation.get("related") or []
        if isinstance(other, list) and (loc := locate(other)) is not None
    )
    message = str(violation.get("msg") or code)
    if related:
        message += " (see " + ", ".join(str(loc) for loc in related) + ")"
    default: Severity = "warning" if kind == "warn" else "error"
    return Diagnostic(
        location=location or fallback,
        severity=severities.get(code, default),
        code=code,
        message=message,
        hint=violation.get("hint"),
        source="policy",
        related=related,
        subject=".".join(str(step) for step in path) if isinstance(path, list) else None,
    )
