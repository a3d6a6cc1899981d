"""Parse YAML or JSON text into plain data plus a position index. Pure: text in, values out.

Pipeline stage 2 (read -> **load** -> schema -> policy -> model -> render), see DESIGN.md.

Why libyaml's *event* stream and not a composed tree or ruamel's round-trip loader: events are
produced by libyaml in C, at about 0.3 s for a 10,000-user roster where ruamel takes 18-33 s and a
composed tree 1.5 s; the event parser is a state machine, so deep nesting cannot overflow a stack;
and building the data ourselves lets one pass enforce everything a loader must refuse:
duplicate keys, custom tags (never constructed), non-string keys, alias bombs, runaway nesting.

Scalars are resolved with the YAML 1.2 core schema (what Terraform's `yamldecode` and JSON use),
not YAML 1.1: `yes`, `on` and `2026-01-01` stay strings, so nothing is silently coerced. A
plain `yes`/`no` is remembered so a later "expected boolean" error can carry a hint.
"""

from __future__ import annotations

import gc
import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import yaml
from yaml import events as ev

from tenancy.errors import Diagnostic, Location

try:  # libyaml (C) when the wheel has it; the pure-Python parser gives the same events.
    _Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the platform's PyYAML wheel
    _Loader = yaml.SafeLoader

JsonPath = Sequence[str | int]

DEFAULT_MAX_DEPTH = 64
#: Alias expansion may add at most this many nodes beyond the document's own: enough for any
#: sane use of anchors, far below a "billion laughs" (which expands 9 levels x 10 = 10**9).
ALIAS_EXPANSION_ALLOWANCE = 100_000

_STR = "tag:yaml.org,2002:str"
_KNOWN_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_KNOWN_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")
#: Python refuses to turn an integer of more digits into text (and to read one from decimal
#: text): such a number could be loaded but never printed, compared as a quantity or sent to a
#: policy, so the loader refuses it where it stands.
MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300
_INT_LIMIT = 10**MAX_INT_DIGITS
#: A JSON `\uXXXX` escape of a UTF-16 surrogate, after an even run of backslashes.
_SURROGATE_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u([dD][89a-fA-F][0-9a-fA-F]{2})")
#: How much of a value or key a diagnostic quotes: enough to recognise it.
SHOWN_CHARS = 40
#: YAML 1.1 booleans that YAML 1.2 reads as strings: worth a hint when a bool was expected.
YAML11_BOOLEANS = frozenset(
    {"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "n"}
)


@dataclass(frozen=True, slots=True)
class _Pos:
    """Where a node starts (0-based) and, for collections, where its children are."""

    line: int
    col: int
    # mapping: key -> (key line, key col, value position); sequence: list of item positions
    children: dict[str, tuple[int, int, _Pos]] | list[_Pos] | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded file: its plain data (JSON types only) and where every key and value stands.

    `root` is None until a position is first asked for when the positions are cheap to defer
    (JSON: `json` reads the data in C, and the position pass runs only if a finding needs it).
    """

    path: str
    data: Any
    root: _Pos | None
    text: str = ""

    def positions(self) -> _Pos:
        if self.root is None:
            document, _ = parse_yaml(self.path, self.text)
            root = document.root if document is not None and document.root else _Pos(0, 0)
            object.__setattr__(self, "root", root)
            return root
        return self.root

    def locate(self, path: JsonPath, *, at: Literal["key", "value"] = "key") -> Location:
        """Map a JSON path to a 1-based location.

        `at="key"` points a path that ends at a mapping entry at its key (where a reader looks
        for "which setting"); `at="value"` points at the value. A path that leaves the data
        (a missing property) stops at the deepest node that exists.
        """
        pos = self.positions()
        key_line, key_col = pos.line, pos.col
        last_was_key = False
        for step in path:
            children = pos.children
            if isinstance(children, dict) and isinstance(step, str) and step in children:
                key_line, key_col, pos = children[step]
                last_was_key = True
            elif isinstance(children, list) and isinstance(step, int) and 0 <= step < len(children):
                pos = children[step]
                last_was_key = False
            else:
                break
        if last_was_key and at == "key":
            return Location(self.path, key_line + 1, key_col + 1)
        return Location(self.path, pos.line + 1, pos.col + 1)


def clip(text: str, limit: int = SHOWN_CHARS) -> str:
    """At most `limit` characters of `text`: a message quotes a value, it never copies a file."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def line_col(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of a character index."""
    line = text.count("\n", 0, index) + 1
    start = text.rfind("\n", 0, index) + 1
    return line, index - start + 1


def decode(path: str, raw: bytes) -> tuple[str | None, list[Diagnostic]]:
    """Decode UTF-8 strictly (a BOM is allowed); report the first bad byte or NUL by position."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = raw[: exc.start].decode("utf-8", errors="replace")
        line, col = line_col(prefix, len(prefix))
        return None, [
            _diag(
                Location(path, line, col),
                "yaml-invalid-utf8",
                f"file is not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}",
                "save the file as UTF-8; binary files cannot be inputs",
            )
        ]
    nul = text.find("\x00")
    if nul >= 0:
        line, col = line_col(text, nul)
        return None, [
            _diag(
                Location(path, line, col),
                "yaml-nul-byte",
                "file contains a NUL byte: it looks binary, not YAML or JSON",
                "remove the NUL character (\\0)",
            )
        ]
    return text, []


def parse_bytes(
    path: str, raw: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH
) -> tuple[Document | None, list[Diagnostic]]:
    """Decode and parse a file's bytes. JSON is chosen by a `.json` suffix."""
    text, problems = decode(path, raw)
    if text is None:
        return None, problems
    if path.endswith(".json"):
        return parse_json(path, text, max_depth=max_depth)
    return parse_yaml(path, text, max_depth=max_depth)


def parse_json(
    path: str, text: str, *, max_depth: int = DEFAULT_MAX_DEPTH
) -> tuple[Document | None, list[Diagnostic]]:
    """Parse JSON strictly (no NaN, no duplicate keys, no trailing commas), with positions.

    `json` decides what is valid JSON; positions come from the YAML event pass, which reads every
    JSON document that uses spaces for indentation. Tab-indented JSON is valid JSON that libyaml
    refuses; it is loaded without positions (everything at 1:1) rather than rejected.
    """
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                duplicates.append(key)
            seen[key] = value
        return seen

    def reject_constant(name: str) -> None:
        raise ValueError(f"{name} is not valid JSON")

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=reject_constant)
    except json.JSONDecodeError as exc:
        return None, [
            _diag(Location(path, exc.lineno, exc.colno), "json-syntax", f"invalid JSON: {exc.msg}")
        ]
    except (ValueError, RecursionError) as exc:
        # The YAML pass places what it can (an integer too large to read); else the start.
        _, problems = parse_yaml(path, text, max_depth=max_depth)
        precise = [d for d in problems if d.code == "yaml-number-too-large"]
        return None, precise or [_diag(Location(path), "json-syntax", f"invalid JSON: {exc}")]
    lone = _lone_surrogate(text)
    if lone is not None:
        return None, [
            _diag(
                Location(path, *line_col(text, lone)),
                "json-lone-surrogate",
                f"{text[lone : lone + 6]} is half of a UTF-16 surrogate pair, not a character",
                "write the character itself, or a complete pair such as \\ud83d\\ude00",
            )
        ]
    if not duplicates and depth_ok(data, max_depth):
        return Document(path, data, None, text), []
    # Rare path: run the YAML pass now, for the precise position of the duplicate or depth.
    _, problems = parse_yaml(path, text, max_depth=max_depth)
    precise = [d for d in problems if d.code != "yaml-syntax"]
    if precise:
        return None, precise
    if duplicates:
        return None, [
            _diag(
                Location(path), "yaml-duplicate-key", f"duplicate key {clip(repr(duplicates[0]))}"
            )
        ]
    return None, [_diag(Location(path), "yaml-too-deep", f"nesting deeper than {max_depth} levels")]


def _lone_surrogate(text: str) -> int | None:
    """Index of the first `\\uXXXX` escape of a surrogate that is not half of a pair.

    `json` decodes such an escape into a string no encoder accepts (UTF-8 output, jsonschema-rs,
    the policy engine would all fail later). A file without surrogate escapes, nearly every
    file, costs one regex scan in C."""
    pending: int | None = None  # a high surrogate waiting for its low half
    end = -1
    for match in _SURROGATE_ESCAPE.finditer(text):
        start = match.end() - 6
        high = int(match.group(1), 16) < 0xDC00
        if pending is not None and (high or start != end):
            return pending
        if high:
            pending, end = start, match.end()
        elif pending is None:
            return start  # a low half alone
        else:
            pending = None
    return pending


def depth_ok(value: Any, limit: int) -> bool:
    """Iterative depth check of parsed JSON (json itself accepts any depth it can recurse, and
    code that walks the data recursively must not meet a deeper value)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return False
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


class _Stop(Exception):
    """Abort the event loop: the diagnostic that explains why is already recorded."""


def parse_yaml(
    path: str, text: str, *, max_depth: int = DEFAULT_MAX_DEPTH
) -> tuple[Document | None, list[Diagnostic]]:
    """Parse one YAML document into plain data and positions; never raises on any text."""
    problems: list[Diagnostic] = []
    builder = _Builder(path, problems, max_depth, node_budget=len(text) + ALIAS_EXPANSION_ALLOWANCE)
    # The cyclic GC finds nothing to free among freshly built plain data, but would walk it
    # repeatedly while it grows: pausing it cuts the parse of a 10,000-user file by a third.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        builder.run(text)
    except _Stop:
        return None, problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(path, *_clamp(text, mark.line, mark.column)) if mark else Location(path)
        message = " ".join(p for p in (exc.context, exc.problem) if p)
        tab = _tab(text, mark.line, mark.column, message) if mark else None
        hint = None
        if tab is not None:
            loc = Location(path, *tab)
            hint = "YAML indents with spaces, never tabs: replace the tab here with spaces"
        return None, [*problems, _diag(loc, "yaml-syntax", f"invalid YAML: {message}", hint)]
    except yaml.reader.ReaderError as exc:
        # libyaml reports a byte offset into the UTF-8 encoding, not a character index.
        index = len(text.encode("utf-8")[: exc.position].decode("utf-8", errors="ignore"))
        line, col = line_col(text, index)
        return None, [
            *problems,
            _diag(
                Location(path, line, col),
                "yaml-control-character",
                f"unacceptable character #x{exc.character:04x}: control characters are not allowed",
            ),
        ]
    except yaml.YAMLError as exc:  # pragma: no cover - every libyaml error is one of the above
        return None, [*problems, _diag(Location(path), "yaml-syntax", f"invalid YAML: {exc}")]
    finally:
        if gc_was_enabled:
            gc.enable()
    if any(d.severity == "error" for d in problems):
        return None, problems
    if builder.result is None or builder.result[0] is None:
        problems.append(
            Diagnostic(
                location=Location(path),
                severity="warning",
                code="yaml-empty",
                message="file is empty: read as an empty document",
                source="yaml",
            )
        )
        return Document(path, None, _Pos(0, 0), text), problems
    data, pos = builder.result
    return Document(path, data, pos, text), problems


def _tab(text: str, line: int, col: int, message: str) -> tuple[int, int] | None:
    """The 1-based position of the tab behind a syntax error, if one is: the character the
    scanner stopped at, else (when the scanner names a tab) the first on that line, else one
    in that line's indentation. libyaml's own message never says that YAML forbids them."""
    lines = text.split("\n")
    if line >= len(lines):
        return None
    row = lines[line]
    if col < len(row) and row[col] == "\t":
        return line + 1, col + 1
    indent = row[: len(row) - len(row.lstrip(" \t"))]
    if "\t" in row and ("tab" in message or "\t" in indent):
        return line + 1, row.index("\t") + 1
    return None


def _clamp(text: str, line: int, col: int) -> tuple[int, int]:
    """1-based position, moved back inside the text: libyaml reports end-of-stream problems
    on the line after a missing final newline."""
    lines = text.split("\n")
    if line >= len(lines):
        return len(lines), len(lines[-1]) + 1
    return line + 1, min(col, len(lines[line])) + 1


def _diag(loc: Location, code: str, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(
        location=loc, severity="error", code=code, message=message, hint=hint, source="yaml"
    )


class _Frame:
    """An open mapping or sequence while its events stream in."""

    __slots__ = (
        "anchor",
        "children",
        "col",
        "data",
        "key",
        "key_col",
        "key_line",
        "line",
        "size",
        "skip",
    )

    def __init__(self, data: dict[str, Any] | list[Any], line: int, col: int, anchor: str | None):
        self.data = data
        self.children: dict[str, tuple[int, int, _Pos]] | list[_Pos] = (
            {} if isinstance(data, dict) else []
        )
        self.line = line
        self.col = col
        self.anchor = anchor
        self.key: str | None = None  # a mapping's pending key, while its value is being read
        self.key_line = 0
        self.key_col = 0
        self.size = 1  # nodes in this subtree, aliases expanded
        self.skip = False  # set after a rejected key: its value is read, then dropped


class _Builder:
    """Turns libyaml events into plain data; each method body is hot, keep it lean."""

    def __init__(self, path: str, problems: list[Diagnostic], max_depth: int, node_budget: int):
        self.path = path
        self.problems = problems
        self.max_depth = max_depth
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, _Pos, int]] = {}
        self.result: tuple[Any, _Pos] | None = None
        self.documents = 0
        self.expanded = 0
        self.node_budget = node_budget

    def error(self, line: int, col: int, code: str, message: str, hint: str | None = None) -> None:
        self.problems.append(_diag(Location(self.path, line + 1, col + 1), code, message, hint))

    def run(self, text: str) -> None:
        """The event loop. Plain scalars (most events) take an inlined fast path."""
        loader = _Loader(text)
        get_event = loader.get_event
        stack = self.stack
        scalar_event, stream_end = ev.ScalarEvent, ev.StreamEndEvent
        resolve_plain = _resolve_plain
        try:
            while True:
                event: Any = get_event()
                kind = type(event)
                if kind is scalar_event:
                    mark = event.start_mark
                    if event.tag is None and event.implicit[0] and not event.style:
                        try:
                            value = resolve_plain(event.value)
                        except ValueError:
                            self.too_large(event.value, mark.line, mark.column)
                    else:
                        value = self.resolve(event, mark.line, mark.column)
                    if stack and event.anchor is None:
                        frame = stack[-1]
                        if frame.key is None and not frame.skip and isinstance(frame.data, dict):
                            self.set_key(
                                frame, value, mark.line, mark.column, plain=not event.style
                            )
                        else:
                            self.add(value, _Pos(mark.line, mark.column), 1, 0, 0)
                    else:
                        self.scalar(event, value, mark.line, mark.column)
                elif kind is stream_end:
                    return
                else:
                    self.feed(event)
        finally:
            loader.dispose()

    def feed(self, event: Any) -> None:
        kind = type(event)
        mark: Any = event.start_mark
        if kind is ev.MappingStartEvent or kind is ev.SequenceStartEvent:
            self.open(event, mark.line, mark.column)
        elif kind is ev.MappingEndEvent or kind is ev.SequenceEndEvent:
            frame = self.stack.pop()
            pos = _Pos(frame.line, frame.col, frame.children)
            if frame.anchor is not None:
                self.anchors[frame.anchor] = (frame.data, pos, frame.size)
            self.add(frame.data, pos, frame.size, mark.line, mark.column)
        elif kind is ev.AliasEvent:
            self.alias(event, mark.line, mark.column)
        elif kind is ev.DocumentStartEvent:
            self.documents += 1
            if self.documents > 1:
                self.error(
                    mark.line,
                    mark.column,
                    "yaml-multiple-documents",
                    "file holds more than one YAML document; tenancy reads exactly one",
                    "remove the extra `---` document or move it to its own file",
                )
                raise _Stop

    def open(self, event: Any, line: int, col: int) -> None:
        tag = event.tag
        if tag is not None and tag not in _KNOWN_COLLECTION_TAGS and tag != "!":
            self.error(line, col, "yaml-custom-tag", *_tag_message(tag))
            raise _Stop
        if len(self.stack) >= self.max_depth:
            self.error(
                line,
                col,
                "yaml-too-deep",
                f"nesting deeper than {self.max_depth} levels",
                "inputs are at most a few levels deep; this file is not a tenancy input",
            )
            raise _Stop
        data: dict[str, Any] | list[Any] = {} if type(event) is ev.MappingStartEvent else []
        self.stack.append(_Frame(data, line, col, event.anchor))

    def scalar(self, event: Any, value: Any, line: int, col: int) -> None:
        """A scalar that is the document itself or carries an anchor (the slow path)."""
        stack = self.stack
        if stack:
            frame = stack[-1]
            if isinstance(frame.data, dict) and frame.key is None and not frame.skip:
                self.set_key(frame, value, line, col, plain=not event.style)
                return
        pos = _Pos(line, col)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, pos, 1)
        self.add(value, pos, 1, line, col)

    def set_key(self, frame: _Frame, key: Any, line: int, col: int, *, plain: bool = True) -> None:
        if not isinstance(key, str):
            shown = "null" if key is None else clip(json.dumps(key))
            self.error(
                line,
                col,
                "yaml-non-string-key",
                f"mapping key {shown} is not a string",
                f'quote it: "{shown}"',
            )
            frame.skip = True
            return
        if key == "<<" and plain:  # a quoted '<<' is just a string
            self.error(
                line,
                col,
                "yaml-merge-key",
                "merge keys (<<) are YAML 1.1 only and not supported",
                "write the keys out, or use an anchor for a whole value",
            )
            frame.skip = True
            return
        assert isinstance(frame.children, dict)
        if key in frame.children:
            first_line, first_col, _ = frame.children[key]
            self.problems.append(
                Diagnostic(
                    location=Location(self.path, line + 1, col + 1),
                    severity="error",
                    code="yaml-duplicate-key",
                    message=f"duplicate key {clip(repr(key))}: first defined at line "
                    f"{first_line + 1}",
                    hint="YAML keeps only one of them; remove or rename the other",
                    source="yaml",
                    related=(Location(self.path, first_line + 1, first_col + 1),),
                )
            )
            frame.skip = True
            return
        frame.key = key
        frame.key_line = line
        frame.key_col = col

    def add(self, value: Any, pos: _Pos, size: int, line: int, col: int) -> None:
        """Attach a finished node to its parent (or make it the document)."""
        stack = self.stack
        if not stack:
            self.result = (value, pos)
            return
        frame = stack[-1]
        data = frame.data
        if isinstance(data, list):
            data.append(value)
            frame.children.append(pos)  # type: ignore[union-attr]
            frame.size += size
            return
        key = frame.key
        if key is None:
            if frame.skip:  # the value of a rejected key
                frame.skip = False
                return
            # A collection used as a mapping key (`? [a, b]`).
            self.error(
                pos.line,
                pos.col,
                "yaml-non-string-key",
                "mapping key is a collection, not a string",
            )
            frame.skip = True
            return
        data[key] = value
        frame.children[key] = (frame.key_line, frame.key_col, pos)  # type: ignore[call-overload]
        frame.key = None
        frame.size += size

    def alias(self, event: Any, line: int, col: int) -> None:
        anchor = event.anchor
        if anchor not in self.anchors:
            open_anchor = any(f.anchor == anchor for f in self.stack)
            self.error(
                line,
                col,
                "yaml-recursive-alias" if open_anchor else "yaml-unknown-alias",
                f"alias *{anchor} refers to "
                + ("a node that contains it" if open_anchor else "an anchor that is not defined"),
            )
            raise _Stop
        value, _, size = self.anchors[anchor]
        self.expanded += size
        if self.expanded > self.node_budget:
            self.error(
                line,
                col,
                "yaml-alias-bomb",
                f"aliases expand to more than {self.node_budget:,} nodes (a 'billion laughs' "
                "document)",
                "tenancy inputs need no aliases; write the values out",
            )
            raise _Stop
        stack = self.stack
        if stack and isinstance(stack[-1].data, dict) and stack[-1].key is None:
            if stack[-1].skip:
                stack[-1].skip = False
                return
            if isinstance(value, str):
                self.set_key(stack[-1], value, line, col)
                return
        # Share, never copy: consumers only read. Its position is the alias's own.
        self.add(value, _Pos(line, col), size, line, col)

    def too_large(self, text: str, line: int, col: int) -> NoReturn:
        self.error(
            line,
            col,
            "yaml-number-too-large",
            f"integer of {len(text):,} characters: more than the {MAX_INT_DIGITS:,} digits a "
            "number may have",
            "no tenancy setting needs such a number; quote it if it is meant as text",
        )
        raise _Stop

    def resolve(self, event: Any, line: int, col: int) -> Any:
        value = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0] or event.style:  # quoted or block scalar, or `!` forced
                return value
            return _resolve_plain(value)
        if tag == _STR:
            return value
        if tag not in _KNOWN_SCALAR_TAGS:
            self.error(line, col, "yaml-custom-tag", *_tag_message(tag))
            raise _Stop
        try:
            resolved = _resolve_plain(value)
        except ValueError:
            self.too_large(value, line, col)
        expected = tag.rsplit(":", 1)[1]
        if _core_type(resolved) != expected:
            self.error(
                line, col, "yaml-bad-scalar", f"{clip(repr(value))} is not a valid !!{expected}"
            )
            raise _Stop
        return resolved


def _tag_message(tag: str) -> tuple[str, str]:
    shown = tag.replace("tag:yaml.org,2002:", "!!")
    return (
        f"custom tag {shown} is not allowed (it is never constructed)",
        "tenancy inputs are plain data: remove the tag",
    )


def _core_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def _printable(number: int) -> int:
    """Hex and octal text of any length reads into an int that may have too many decimal digits
    to print: refuse it now (ValueError), as a decimal one is refused."""
    if abs(number) >= _INT_LIMIT:
        raise ValueError("too many digits")
    return number


def _resolve_plain(value: str) -> Any:
    """YAML 1.2 core-schema resolution of a plain scalar."""
    if value in _NULL:
        return None
    first = value[0]
    if first in "tTfF":
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        return value
    if first in "0123456789+-.":
        if _INT10.fullmatch(value):
            return int(value)  # raises ValueError past MAX_INT_DIGITS
        if _INT8.fullmatch(value):
            return _printable(int(value[2:], 8))
        if _INT16.fullmatch(value):
            return _printable(int(value[2:], 16))
        if _FLOAT.fullmatch(value):
            number = float(value)
            # JSON (and so jsonschema and Rego) has no infinities; keep the text instead.
            return number if math.isfinite(number) else value
        if _SPECIAL_FLOAT.fullmatch(value):
            return value
    return value
