"""Check a loaded document against its JSON Schema; each error lands on the offending key.

Pipeline stage 3 (load -> **schema** -> policy). Pure given the schema.

jsonschema reports an error at the *object* that holds the problem; a reader wants the key or
value itself. So `required` points at the object's own key, `additionalProperties` and
`propertyNames` at each unexpected key, and value errors (enum, type, pattern) at the value.
Messages are written for people: a subschema may carry `x-message`, which says in words what a
pattern means, and large instances are never echoed back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from tenancy import resources
from tenancy.errors import Diagnostic
from tenancy.load import YAML11_BOOLEANS, Document

if TYPE_CHECKING:  # jsonschema is imported only when a document is invalid (the slow path)
    import jsonschema
    from jsonschema.exceptions import ValidationError

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true or false)",
    "null": "null",
}


def _close(word: str, choices: list[str]) -> list[str]:
    """The choice closest to `word`, if any is close. difflib is imported here: only a document
    with a misspelt key or value needs it, and every command would pay its import."""
    import difflib

    return difflib.get_close_matches(word, choices, n=1)


@cache
def validator(name: str) -> jsonschema.protocols.Validator:
    """One compiled validator per built-in schema, reused across files and runs."""
    import jsonschema

    schema = resources.schema(name)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@cache
def fast_validator(name: str) -> Any:
    """jsonschema-rs (Rust) for the yes/no answer: 10,000 users in ~10 ms instead of ~2 s.

    It only decides whether the slow, message-rich pass is needed; `jsonschema` still produces
    every diagnostic. The two must agree on validity, which tests/unit/test_schema.py checks
    over generated documents.
    """
    return jsonschema_rs.validator_for(resources.schema(name), validate_formats=True)


def check(document: Document, schema_name: str) -> list[Diagnostic]:
    """All schema errors of `document`, each with its own position."""
    data = {} if document.data is None else document.data
    if fast_validator(schema_name).is_valid(data):
        return []
    diagnostics: list[Diagnostic] = []
    for error in validator(schema_name).iter_errors(data):
        diagnostics.extend(_diagnose(document, error))
    return diagnostics


def _diagnose(document: Document, error: ValidationError) -> Iterator[Diagnostic]:
    path = list(error.absolute_path)
    keyword = str(error.validator)
    where = _describe(path)
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None

    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        allowed = (
            sorted(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
        )
        for key in _unexpected_keys(error):
            close = _close(key, allowed)
            hint = f"did you mean {close[0]!r}?" if close else _allowed_hint(allowed)
            yield _make(
                document,
                [*path, key],
                "key",
                "schema-unknown-field",
                f"unknown field {key!r} in {where}",
                hint,
            )
        return
    if keyword == "required":
        missing = (
            error.message.split("'")[1] if "'" in error.message else str(error.validator_value)
        )
        yield _make(
            document,
            path,
            "key",
            "schema-required",
            f"{where} is missing required field {missing!r}",
            None,
        )
        return
    if "propertyNames" in error.schema_path:
        # jsonschema descends into each key without adding it to the path: the key is the
        # instance, and the path is the object that holds it.
        key = str(error.instance)
        yield _make(document, [*path, key], "key", "schema-key-name", f"key {key!r} {custom}", None)
        return

    if "dependentSchemas" in error.schema_path:
        # The rule belongs to the key that triggered it (`cpu` when cpu_requests is also set).
        trigger = list(error.schema_path)[list(error.schema_path).index("dependentSchemas") + 1]
        yield _make(
            document, [*path, str(trigger)], "key", "schema-conflict", f"{where} {custom}", None
        )
        return

    value = error.instance
    shown = _show(value)
    expected: Any = error.validator_value
    hint = None
    if keyword == "enum":
        options = ", ".join(str(v) for v in expected)
        message = f"{where} {shown} is not one of: {options}"
        close = _close(str(value), [str(v) for v in expected])
        hint = f"did you mean {close[0]!r}?" if close else None
    elif keyword == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        message = f"{where} must be {wanted}, got {_type_of(value)} {shown}"
        hint = _type_hint(names, value)
    elif keyword in {"pattern", "format"} and custom:
        message = f"{where} {shown} {custom}"
    elif keyword == "format":
        message = f"{where} {shown} is not a valid {expected}"
    elif keyword == "uniqueItems":
        message = f"{where} lists {_first_duplicate(value)!r} more than once"
    elif keyword == "const":
        message = f"{where} must be {expected!r}, got {shown}"
    elif keyword == "maxLength":
        message = f"{where} {shown} is longer than {expected} characters"
    elif keyword == "minLength":
        message = f"{where} must not be empty"
    else:
        message = f"{where}: {error.message}" if len(error.message) < 200 else f"{where}: invalid"
    yield _make(document, path, "value", f"schema-{_kebab(keyword)}", message, hint)


def _make(
    document: Document, path: list[Any], at: str, code: str, message: str, hint: str | None
) -> Diagnostic:
    return Diagnostic(
        location=document.locate(path, at="key" if at == "key" else "value"),
        severity="error",
        code=code,
        message=message,
        hint=hint,
        source="schema",
    )


def _unexpected_keys(error: ValidationError) -> list[str]:
    """Keys not declared in `properties` (tenancy's schemas use no patternProperties)."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = set(schema.get("properties", {}))
    instance: Any = error.instance
    return [str(k) for k in instance if k not in known]


def _describe(path: list[Any]) -> str:
    """A short human name for a JSON path: `users.brin.tier` -> `tier of "brin"`."""
    if not path:
        return "the document"
    parts = [str(p) if not isinstance(p, int) else f"[{p}]" for p in path]
    text = parts[0]
    for part in parts[1:]:
        text += part if part.startswith("[") else f".{part}"
    return text


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _type_hint(expected: list[str], value: Any) -> str | None:
    if "array" in expected and isinstance(value, str):
        return f"write a list: [{value}]"
    if "boolean" in expected and isinstance(value, str) and value in YAML11_BOOLEANS:
        word = "true" if value.lower() in {"yes", "on", "y"} else "false"
        return f"{value!r} is a string in YAML 1.2; write {word}"
    if "string" in expected and isinstance(value, int | float) and not isinstance(value, bool):
        return f'quote it: "{value}"'
    return None


def _allowed_hint(allowed: list[str]) -> str | None:
    return f"allowed fields: {', '.join(allowed)}" if allowed else None


def _first_duplicate(values: Any) -> Any:
    seen: list[Any] = []
    for value in values if isinstance(values, list) else []:
        if value in seen:
            return value
        seen.append(value)
    return None  # pragma: no cover - uniqueItems only fails with a duplicate


def _kebab(keyword: str) -> str:
    out = "".join("-" + c.lower() if c.isupper() else c for c in keyword)
    return out.lstrip("-")
