"""The in-process Rego v1 engine (regorus, PyPI `gordon-to-regorus`). Pure given its modules.

Chosen by evidence (docs/engines.md, reference/components.md): it enforces Rego v1, reports
policy errors with file:line:col, supports `with` (regopy segfaults on it) and evaluates a
10,000-user input in milliseconds. The parity tests run the whole suite through it and through a
real OPA server and require identical results.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from tenancy.errors import PolicyEngineError
from tenancy.validate.policy import Input, canonical, made

# regorus appends a Rust backtrace to every error message when this is 1 (it is on some hosts).
os.environ["RUST_BACKTRACE"] = "0"

import regorus


class EmbeddedEngine:
    """Compiles the modules once; each `query` sets the input and evaluates the refs."""

    def __init__(self, modules: Mapping[str, str], *, gather_prints: bool = False) -> None:
        self._engine = regorus.Engine()
        if gather_prints:
            self._engine.set_gather_prints(True)
        for path in sorted(modules):
            try:
                self._engine.add_policy(path, modules[path])
            except RuntimeError as exc:
                raise PolicyEngineError(f"policy {path} does not compile:{_clean(exc)}") from exc

    def query(self, refs: Sequence[str], input: Input) -> dict[str, Any]:
        # A policy input is a tree of plain values: no cycles to look for, no spaces to write.
        text = json.dumps(made(input), check_circular=False, separators=(",", ":"))
        self._engine.set_input_json(text)
        del text  # the engine has its own copy
        results: dict[str, Any] = {}
        for ref in refs:
            try:
                raw = self._engine.eval_rule_as_json(f"data.{ref}")
            except RuntimeError as exc:
                raise PolicyEngineError(f"evaluating data.{ref} failed:{_clean(exc)}") from exc
            value = json.loads(raw)
            if value is not None:
                results[ref] = canonical(value)
        return results

    def eval_rule(self, ref: str) -> Any:
        """Evaluate one rule with no input set anew (used by the Rego test runner)."""
        try:
            return json.loads(self._engine.eval_rule_as_json(ref))
        except RuntimeError as exc:
            raise PolicyEngineError(f"evaluating {ref} failed:{_clean(exc)}") from exc

    def take_prints(self) -> list[str]:
        """Lines printed by `print()` since the last call (when gathering is on)."""
        return [str(line) for line in self._engine.take_prints()]


def _clean(exc: BaseException) -> str:
    text = str(exc).rstrip()
    return ("\n" + text) if "\n" in text else (" " + text)
