"""Check a loaded document against its JSON Schema; each error lands on the offending key.

Pipeline stage 3 (load -> **schema** -> policy). Pure given the schema.

jsonschema reports an error at the *object* that holds the problem; a reader wants the key or
value itself. So `required` points at the object's own key, `additionalProperties` and
`propertyNames` at each unexpected key, and value errors (enum, type, pattern) at the value.
Messages are written for people: a subschema may carry `x-message`, which says in words what a
pattern means, and large instances are never echoed back.

Two validators, one verdict. jsonschema-rs answers "valid?" fast; `jsonschema` explains. A
pattern means the whole string in both (Python's `$` would also match before a final newline,
so `"kube-system\n"` passed here while jsonschema-rs refused it), and should they ever disagree
anyway, the disagreement is itself an error: a rejected document never passes silently.
Thousands of errors are reported as the first few of each kind plus one line with the count.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from tenancy import resources
from tenancy.errors import Diagnostic
from tenancy.inputs.load import YAML11_BOOLEANS, Document, clip

if TYPE_CHECKING:  # jsonschema is imported only when a document is invalid (the slow path)
    import jsonschema
    from jsonschema.exceptions import ValidationError

#: Diagnostics shown per code; past it, one `schema-truncated` line gives the count.
SHOWN_PER_CODE = 20
#: Errors the detailed pass explains at most; past it, the fast validator counts the rest.
EXPLAINED_AT_MOST = 1_000

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
    base = jsonschema.validators.validator_for(schema)
    base.check_schema(schema)
    cls: Any = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        base, {"pattern": _whole_string_pattern}
    )
    checked: jsonschema.protocols.Validator = cls(schema, format_checker=base.FORMAT_CHECKER)
    return checked


def _whole_string_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """JSON Schema's `pattern` with ECMA-262 anchors: `$` is the end of the string."""
    from jsonschema.exceptions import ValidationError

    if isinstance(instance, str) and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    """`pattern` for Python's re, each `$` outside a character class made `\\Z`."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        elif char == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(char)
    return re.compile("".join(out))


@cache
def fast_validator(name: str) -> Any:
    """jsonschema-rs (Rust) for the yes/no answer: 10,000 users in ~10 ms instead of ~2 s.

    It only decides whether the slow, message-rich pass is needed; `jsonschema` still produces
    every diagnostic. The two must agree on validity, which tests/unit/validate/test_schema.py
    checks over generated documents.
    """
    return jsonschema_rs.validator_for(resources.schema(name), validate_formats=True)


def check(document: Document, schema_name: str) -> list[Diagnostic]:
    """All schema errors of `document`, each with its own position (capped, see `explain`)."""
    data = {} if document.data is None else document.data
    fast = fast_validator(schema_name)
    if fast.is_valid(data):
        return []
    return explain(document, validator(schema_name), count=lambda: _count(fast, data))


def explain(
    document: Document,
    detailed: jsonschema.protocols.Validator,
    *,
    count: Any = None,
) -> list[Diagnostic]:
    """The diagnostics of a document the fast validator rejected; never empty.

    At most SHOWN_PER_CODE per code, and at most EXPLAINED_AT_MOST errors are explained (the
    detailed pass costs ~100 µs per error); the rest are one `schema-truncated` line whose
    count comes from `count()` when the pass stopped early."""
    data = {} if document.data is None else document.data
    shown: list[Diagnostic] = []
    per_code: Counter[str] = Counter()
    found = 0
    complete = True
    for explained, error in enumerate(detailed.iter_errors(data)):
        if explained == EXPLAINED_AT_MOST:
            complete = False
            break
        for diagnostic in _diagnose(document, error):
            found += 1
            per_code[diagnostic.code] += 1
            if per_code[diagnostic.code] <= SHOWN_PER_CODE:
                shown.append(diagnostic)
    if not shown:
        return [
            Diagnostic(
                location=document.locate([]),
                severity="error",
                code="schema-engines-disagree",
                message="the fast schema validator rejects this file, the detailed one finds "
                "no error: tenancy cannot tell what is wrong",
                hint="please report this file to the tenancy maintainers",
                source="schema",
            )
        ]
    if found > len(shown) or not complete:
        total = found if complete or count is None else max(found, count())
        kinds = ", ".join(f"{code} {n:,}" for code, n in sorted(per_code.items()))
        shown.append(
            Diagnostic(
                location=document.locate([]),
                severity="error",
                code="schema-truncated",
                message=f"showing {len(shown):,} of {total:,} schema errors (at most "
                f"{SHOWN_PER_CODE} of each kind; {kinds}"
                + ("" if complete else f" among the first {found:,}")
                + ")",
                hint="fix these and run again for the rest",
                source="schema",
            )
        )
    return shown


def _count(fast: Any, data: Any) -> int:
    """Errors of `data` as the fast validator counts them (one per object for unknown keys)."""
    return len(fast.evaluate(data).errors())  # `iter_errors` copies each error's instance


def _diagnose(document: Document, error: ValidationError) -> Iterator[Diagnostic]:
    path = list(error.absolute_path)
    keyword = str(error.validator)
    where = _describe(path)
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None

    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        yield from _unknown_fields(document, error, path, where)
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
        message = f"key {clip(repr(key))} {custom}"
        yield _make(document, [*path, key], "key", "schema-key-name", message, None)
        return

    if "dependentSchemas" in error.schema_path:
        # The rule belongs to the key that triggered it (`cpu` when cpu_requests is also set).
        trigger = list(error.schema_path)[list(error.schema_path).index("dependentSchemas") + 1]
        yield _make(
            document, [*path, str(trigger)], "key", "schema-conflict", f"{where} {custom}", None
        )
        return

    message, hint = _value_message(keyword, error.instance, error.validator_value, where, custom)
    yield _make(document, path, "value", f"schema-{_kebab(keyword)}", message, hint)


def _unknown_fields(
    document: Document, error: ValidationError, path: list[Any], where: str
) -> Iterator[Diagnostic]:
    """One diagnostic per undeclared key, on the key, with the closest declared one."""
    allowed = sorted(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
    for key in _unexpected_keys(error):
        close = _close(key, allowed)
        hint = f"did you mean {close[0]!r}?" if close else _allowed_hint(allowed)
        yield _make(
            document,
            [*path, key],
            "key",
            "schema-unknown-field",
            f"unknown field {clip(repr(key))} in {where}",
            hint,
        )


def _value_message(
    keyword: str, value: Any, expected: Any, where: str, custom: str | None
) -> tuple[str, str | None]:
    """The message and hint for a value that breaks `keyword`, quoting the value clipped."""
    shown = _show(value)
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
    elif keyword == "pattern":
        message = f"{where} {shown} does not match {clip(str(expected))}"
    elif keyword == "minimum":
        message = f"{where} {shown} is less than {expected}"
    elif keyword == "uniqueItems":
        message = f"{where} lists {clip(repr(_first_duplicate(value)))} more than once"
    elif keyword == "const":
        message = f"{where} must be {expected!r}, got {shown}"
    elif keyword == "maxLength":
        message = f"{where} {shown} is longer than {expected} characters"
    elif keyword == "minLength":
        message = f"{where} must not be empty"
    else:  # jsonschema's own message may quote the whole value: name the rule instead
        message = f"{where} {shown} does not satisfy {keyword!r}"
    return message, hint


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
    parts = [_printable(p) if not isinstance(p, int) else f"[{p}]" for p in path]
    text = parts[0]
    for part in parts[1:]:
        text += part if part.startswith("[") else f".{part}"
    return clip(text, 80)


def _printable(key: Any) -> str:
    """A key as text on one line: control characters are shown escaped."""
    text = str(key)
    return text if text.isprintable() else json.dumps(text, ensure_ascii=False)[1:-1]


def _show(value: Any) -> str:
    """A value as JSON, clipped to SHOWN_CHARS: a message quotes, it never copies a file."""
    return clip(json.dumps(value, ensure_ascii=False, default=str))


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
        return f"write a list: [{clip(value)}]"
    if "boolean" in expected and isinstance(value, str) and value in YAML11_BOOLEANS:
        word = "true" if value.lower() in {"yes", "on", "y"} else "false"
        return f"{value!r} is a string in YAML 1.2; write {word}"
    if "string" in expected and isinstance(value, int | float) and not isinstance(value, bool):
        return f'quote it: "{clip(str(value))}"'
    return None


def _allowed_hint(allowed: list[str]) -> str | None:
    return f"allowed fields: {', '.join(allowed)}" if allowed else None


def _first_duplicate(values: Any) -> Any:
    """The first item equal to an earlier one, in one pass (JSON equality: 1 and 1.0 are equal,
    true and 1 are not; mappings and lists compare by their canonical JSON)."""
    seen: set[Any] = set()
    for value in values if isinstance(values, list) else []:
        key = (
            json.dumps(value, sort_keys=True)
            if isinstance(value, dict | list)
            else (type(value) is bool, value)
        )
        if key in seen:
            return value
        seen.add(key)
    return None  # pragma: no cover - uniqueItems only fails with a duplicate


def _kebab(keyword: str) -> str:
    out = "".join("-" + c.lower() if c.isupper() else c for c in keyword)
    return out.lstrip("-")
