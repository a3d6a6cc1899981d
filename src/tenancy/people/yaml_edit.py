"""Edit a YAML file as a person would, leaving every byte outside the edit as it was. Pure.

Used by `tenancy user ...` (people/edit.py) on the roster, k8s_users and tenancy.yaml. One edit
changes one value, adds or removes one entry, renames a key or comments an entry out.

Why not a round-trip dump (ruamel.yaml, as sync/kv.py does for `vault pull`): a dump rewrites
what its model does not keep, such as the spacing inside the roster's aligned flow rows
(`ada:    {authentik_user: ada.l,    k8s_user: ada, ...}` comes back as `ada: {authentik_user:
ada.l, k8s_user: ada, ...}`), so an edit of one row would touch every row. Here the text is
composed by libyaml (the parser tenancy's loader uses, so what is located is what validate
reads), and each edit is a splice of the text at the positions of the nodes it changes. New
text is written the way the file already writes things: flow or block as the neighbouring
entries are (aligned as they are), the file's indentation and quote character, a new entry in
sorted position when the entries are sorted, blank lines between entries when they have them.

An entry owns its key's line through its value's last line, plus the comment lines directly
above its key that are indented at least as far (a note about it); the comments above the first
entry are the mapping's own header and stay. A layout this module cannot edit without touching
other lines (a mapping inside a block sequence item) raises `EditError`: edit it by hand.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from tenancy.inputs.load import _resolve_plain

try:  # libyaml (C) when the wheel has it, as load.py; the positions are the same
    _Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the platform's PyYAML wheel
    _Loader = yaml.SafeLoader

Key = str | int
KeyPath = Sequence[Key]
BOM = "\ufeff"


class EditError(ValueError):
    """The file cannot be edited in place (not YAML, or a layout this module does not edit)."""


@dataclass(frozen=True, slots=True)
class Style:
    """How the file writes things, so that new text looks like its neighbours."""

    indent: int = 2  # a nested block mapping's keys, relative to its parent key
    dash: int = 2  # a block sequence's `-`, relative to its key
    flow: bool = True  # collections two levels down (inside an entry) are written `[a]`, `{k: v}`
    quote: str = '"'  # for strings that cannot be plain
    newline: str = "\n"


# --- reading ---------------------------------------------------------------------------------


def compose(text: str) -> yaml.Node | None:
    """The node tree with positions (character offsets into `text`, which has no BOM)."""
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise EditError(f"not valid YAML: {exc}") from None


def plain(node: yaml.Node | None) -> Any:
    """A node as data, scalars resolved with YAML 1.2's core schema as tenancy's loader does."""
    if node is None:
        return None
    if isinstance(node, yaml.MappingNode):
        return {str(k.value): plain(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [plain(item) for item in node.value]
    assert isinstance(node, yaml.ScalarNode)
    if not node.style:  # plain (the C parser says "", the Python one None)
        try:
            return _resolve_plain(node.value)
        except ValueError:  # an integer too long to convert: text, as the loader reports it
            return node.value
    return node.value


def load(text: str) -> Any:
    """The file's data (BOM ignored)."""
    return plain(compose(text.removeprefix(BOM)))


@dataclass(frozen=True, slots=True)
class _Found:
    """A path resolved in the tree: the chain of (container, index) from the root, and the node
    at the path (None when its last key is absent from an existing mapping)."""

    chain: tuple[tuple[yaml.Node, int], ...]
    node: yaml.Node | None


def _index(container: yaml.Node, key: Key) -> int | None:
    if isinstance(container, yaml.MappingNode):
        for i, (k, _) in enumerate(container.value):
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return i
    elif (
        isinstance(container, yaml.SequenceNode)
        and isinstance(key, int)
        and 0 <= key < len(container.value)
    ):
        return key
    return None


def _item(container: yaml.Node, index: int) -> yaml.Node:
    entry = container.value[index]
    return entry[1] if isinstance(container, yaml.MappingNode) else entry  # type: ignore[no-any-return]


def _first(container: yaml.Node, index: int) -> yaml.Node:
    entry = container.value[index]
    return entry[0] if isinstance(container, yaml.MappingNode) else entry  # type: ignore[no-any-return]


def _find(root: yaml.Node | None, path: KeyPath) -> _Found | None:
    """None when a key before the last is absent."""
    chain: list[tuple[yaml.Node, int]] = []
    node = root
    for depth, key in enumerate(path):
        if node is None or _null(node):
            return _Found(tuple(chain), None) if depth == len(path) - 1 else None
        index = _index(node, key)
        if index is None:
            return _Found(tuple(chain), None) if depth == len(path) - 1 else None
        chain.append((node, index))
        node = _item(node, index)
    return _Found(tuple(chain), node)


def _null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and not node.style and node.value in ("", "~", "null")


def _flow(node: yaml.Node) -> bool:
    return isinstance(node, yaml.CollectionNode) and bool(node.flow_style)


# --- positions -------------------------------------------------------------------------------


def _start(node: yaml.Node) -> int:
    return int(node.start_mark.index)


def _end(node: yaml.Node, text: str) -> int:
    """Where the node's own text ends; a block collection ends where its last descendant does."""
    if isinstance(node, yaml.CollectionNode) and not node.flow_style and node.value:
        return _end(_item(node, len(node.value) - 1), text)
    end = int(node.end_mark.index)
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        while end > _start(node) and text[end - 1] in " \t\r\n":
            end -= 1
    return end


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    """The index after the newline of the line holding `index` (or the end of the text)."""
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _column(text: str, index: int) -> int:
    return index - _line_start(text, index)


def _owner_column(text: str, container: yaml.Node, index: int) -> int:
    """The column an entry of a block container starts at: its key, or its item's `-`."""
    head = _first(container, index)
    if isinstance(container, yaml.MappingNode):
        return int(head.start_mark.column)
    lead = text[_line_start(text, _start(head)) : _start(head)]
    return lead.index("-") if "-" in lead else len(lead)


def _span(text: str, container: yaml.Node, index: int) -> tuple[int, int, int]:
    """(start of its leading comments, start of its first line, end of its last line) of an
    entry of a block container."""
    head = _first(container, index)
    first = _line_start(text, _start(head))
    before = text[first : _start(head)]
    if isinstance(container, yaml.MappingNode) and before.strip():
        raise EditError("a mapping inside a block sequence item cannot be edited in place")
    if isinstance(container, yaml.SequenceNode) and before.strip() != "-":
        raise EditError("a block sequence item that shares its line cannot be edited in place")
    last = _line_end(text, _end(_item(container, index), text))
    lead = first
    if index > 0:
        column = _owner_column(text, container, index)
        floor = _line_end(text, _end(_item(container, index - 1), text))
        while lead > floor:
            above = _line_start(text, lead - 1)
            line = text[above:lead]
            stripped = line.lstrip(" ")
            if not stripped.startswith("#") or len(line) - len(stripped) < column:
                break
            lead = above
    return lead, first, last


def _blank(text: str, start: int) -> bool:
    """Whether the line starting at `start` is blank (the end of the text counts as blank)."""
    return not text[start : _line_end(text, start)].strip()


# --- style -----------------------------------------------------------------------------------


def style_of(text: str, root: yaml.Node | None) -> Style:
    """The indentation, sequence dash offset, flow preference and quote character in use."""
    newline = "\r\n" if "\r\n" in text else "\n"
    indent = dash = None
    flow_deep = block_deep = False
    doubles = singles = 0
    stack: list[tuple[yaml.Node, int]] = [(root, 0)] if root is not None else []
    while stack:
        node, depth = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            doubles += node.style == '"'
            singles += node.style == "'"
            continue
        if depth >= 2 and isinstance(node, yaml.CollectionNode):
            flow_deep = flow_deep or bool(node.flow_style)
            block_deep = block_deep or not node.flow_style
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not node.flow_style and isinstance(value, yaml.CollectionNode) and value.value:
                    if not value.flow_style and isinstance(value, yaml.MappingNode):
                        child = value.value[0][0].start_mark.column - key.start_mark.column
                        indent = indent or (child if child > 0 else None)
                    elif not value.flow_style and dash is None:
                        dash = _owner_column(text, value, 0) - key.start_mark.column
                stack.append((value, depth + 1))
                stack.append((key, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)
    step = indent or 2
    return Style(
        indent=step,
        dash=step if dash is None or dash < 0 else dash,
        flow=flow_deep or not block_deep,
        quote="'" if singles > doubles else '"',
        newline=newline,
    )


def _plain_ok(value: str) -> bool:
    """Whether a string can be written without quotes and read back as the same string, by
    YAML 1.2 (tenancy) and by YAML 1.1 readers (`yes`, `2026-08-17` are not strings there)."""
    if not value or value != value.strip() or any(c in value for c in "\n\r\t\"'\\"):
        return False
    if value[0] in "-?:,[]{}#&*!|>%@`":
        return False
    try:
        if _resolve_plain(value) != value:
            return False
        node = yaml.compose(f"[{value}]", Loader=_Loader)
        loaded = yaml.load(f"[{value}]", Loader=_Loader)
    except (yaml.YAMLError, ValueError):
        return False
    return (
        isinstance(node, yaml.SequenceNode)
        and len(node.value) == 1
        and isinstance(node.value[0], yaml.ScalarNode)
        and not node.value[0].style
        and node.value[0].value == value
        and loaded == [value]
    )


def scalar(value: Any, quote: str = '"', *, keep: str | None = None) -> str:
    """A scalar as YAML text. A string is plain when it can be; else quoted with `keep` (the
    quote of the value it replaces) or the file's quote character."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    char = keep if keep in ('"', "'") else (None if _plain_ok(text) else quote)
    if char == "'" and text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    if char is None:
        return text
    return json.dumps(text, ensure_ascii=False)


def inline(value: Any, style: Style, quote: str | None = None) -> str:
    """A value in flow style, on one line; `quote` quotes every string in it that way."""
    if isinstance(value, Mapping):
        items = (f"{scalar(k)}: {inline(v, style, quote)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(inline(v, style, quote) for v in value) + "]"
    return scalar(value, style.quote, keep=quote)


def _quote_of(nodes: Sequence[yaml.Node]) -> str | None:
    """The quote character all of these scalars are written with, if they agree on one."""
    styles = {n.style or "" for n in nodes if isinstance(n, yaml.ScalarNode)}
    return styles.pop() if len(styles) == 1 and styles <= {'"', "'"} else None


def _leaves(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [v for _, v in node.value]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return [node]


def _peer_quotes(mapping: yaml.MappingNode) -> dict[str, str]:
    """Per key of the entries of `mapping`: the quote its strings are written with in every
    entry (k8s_users writes every quota quantity as `"4Gi"`), so a new entry does the same."""
    leaves: dict[str, list[yaml.Node]] = {}
    for _, entry in mapping.value:
        if isinstance(entry, yaml.MappingNode):
            for key, value in entry.value:
                leaves.setdefault(str(key.value), []).extend(_leaves(value))
    return {key: q for key, nodes in leaves.items() if (q := _quote_of(nodes)) is not None}


def block(
    key: Key,
    value: Any,
    column: int,
    depth: int,
    style: Style,
    flow: bool | None,
    quotes: Mapping[str, str] | None = None,
    quote: str | None = None,
) -> list[str]:
    """`key: value` at `column` as lines (no newlines); `depth` is the value's nesting level
    from the root; `flow` forces the value's own style (None: the file's rule); `quotes`, per
    key of a mapping value, how its strings are quoted (`quote` for this value's)."""
    pad = " " * column
    as_flow = flow if flow is not None else style.flow and depth >= 2
    if isinstance(value, Mapping) and value and not as_flow:
        lines = [f"{pad}{scalar(key)}:"]
        for k, v in value.items():
            q = (quotes or {}).get(k)
            lines += block(k, v, column + style.indent, depth + 1, style, None, quote=q)
        return lines
    if isinstance(value, list | tuple) and value and not as_flow:
        dash = " " * (column + style.dash)
        return [f"{pad}{scalar(key)}:", *(f"{dash}- {inline(v, style, quote)}" for v in value)]
    if isinstance(value, Mapping) and quotes:
        items = (f"{scalar(k)}: {inline(v, style, quotes.get(k))}" for k, v in value.items())
        return [f"{pad}{scalar(key)}: {{{', '.join(items)}}}"]
    return [f"{pad}{scalar(key)}: {inline(value, style, quote)}"]


def _aligned(
    key: Key,
    value: Mapping[str, Any],
    column: int,
    style: Style,
    siblings: list[tuple[yaml.Node, yaml.Node]],
    quotes: Mapping[str, str],
) -> str:
    """A new one-line flow row, aligned as its one-line flow siblings are where they agree: the
    `{` at their common column, and each key at the column two or more of them share."""
    rows = [
        (k, v)
        for k, v in siblings
        if isinstance(v, yaml.MappingNode) and v.flow_style and v.start_mark.line == v.end_mark.line
    ]
    opening = {v.start_mark.column for _, v in rows}
    keys: dict[str, set[int]] = {}
    counts: dict[str, int] = {}
    for _, row in rows:
        for k, _ in row.value:
            keys.setdefault(str(k.value), set()).add(int(k.start_mark.column))
            counts[str(k.value)] = counts.get(str(k.value), 0) + 1
    text = f"{' ' * column}{scalar(key)}:"
    gap = (opening.pop() - len(text)) if len(opening) == 1 and len(rows) >= 2 else 1
    text += " " * max(1, gap) + "{"
    for i, (k, v) in enumerate(value.items()):
        if i:
            text += ","
            target = keys.get(k, set())
            wanted = next(iter(target)) if len(target) == 1 and counts[k] >= 2 else 0
            text += " " * max(1, wanted - len(text))
        text += f"{scalar(k)}: {inline(v, style, quotes.get(k))}"
    return text + "}"


# --- edits -----------------------------------------------------------------------------------


def _unbom(text: str) -> tuple[str, str]:
    return (BOM, text[1:]) if text.startswith(BOM) else ("", text)


def _splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def delete(text: str, path: KeyPath) -> str:
    """Remove the entry at `path` (a mapping key or a sequence index), with its leading
    comments; a block collection left empty becomes `{}` / `[]`."""
    bom, body = _unbom(text)
    found = _find(compose(body), path)
    if found is None or found.node is None:
        raise EditError(f"nothing at {'.'.join(map(str, path))} to delete")
    container, index = found.chain[-1]
    count = len(container.value)
    if _flow(container):
        if count == 1:
            start, end = _start(_first(container, 0)), _end(_item(container, 0), body)
        elif index > 0:
            start = _end(_item(container, index - 1), body)
            end = _end(_item(container, index), body)
        else:
            start, end = _start(_first(container, 0)), _start(_first(container, 1))
        return bom + _splice(body, start, end, "")
    if count == 1 and len(found.chain) > 1:
        return bom + _emptied(body, found, container)
    lead, _, last = _span(body, container, index)
    if lead > 0 and _blank(body, _line_start(body, lead - 1)) and _blank(body, last):
        # one blank line stays between the entries around it (or none at the end)
        last = _line_end(body, last) if last < len(body) else last
        if last == len(body) and index == count - 1:
            lead = _line_start(body, lead - 1)
    elif index == 0 and last < len(body) and _blank(body, last):
        last = _line_end(body, last)  # the blank line under the first entry goes with it
    return bom + _splice(body, lead, last, "")


def _emptied(body: str, found: _Found, container: yaml.Node) -> str:
    """The last entry of a nested block collection removed: `key: {}` (or `[]`)."""
    parent, index = found.chain[-2]
    if _flow(parent) or not isinstance(parent, yaml.MappingNode):
        raise EditError("cannot empty a collection nested this way in place")
    key = parent.value[index][0]
    colon = body.index(":", _end(key, body))
    last = _line_end(body, _end(container, body))
    empty = "{}" if isinstance(container, yaml.MappingNode) else "[]"
    newline = "\r\n" if body[:last].endswith("\r\n") else "\n" if body[:last].endswith("\n") else ""
    return _splice(body, colon + 1, last, f" {empty}{newline}")


def rename(text: str, path: KeyPath, new: str) -> str:
    """Rename the mapping key at `path`, in place, keeping its quoting."""
    bom, body = _unbom(text)
    found = _find(compose(body), path)
    if found is None or found.node is None:
        raise EditError(f"no key {'.'.join(map(str, path))} to rename")
    container, index = found.chain[-1]
    key = container.value[index][0]
    return bom + _splice(body, _start(key), _end(key, body), scalar(new, keep=key.style))


def comment_out(text: str, path: KeyPath, note: str | None) -> str:
    """Comment out the block mapping entry at `path` (`# ` over the two columns before its
    key, as the roster's offboarded rows are), with `#  <note>` above it at the key's column."""
    bom, body = _unbom(text)
    found = _find(compose(body), path)
    if found is None or found.node is None:
        raise EditError(f"no entry {'.'.join(map(str, path))} to comment out")
    container, index = found.chain[-1]
    if _flow(container) or not isinstance(container, yaml.MappingNode):
        raise EditError("only an entry of a block mapping can be commented out in place")
    _, first, last = _span(body, container, index)
    column = _owner_column(body, container, index)
    lines = body[first:last].splitlines(keepends=True)
    out = []
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            out.append(line)
        elif column >= 2 and line[column - 2 : column] == "  ":
            out.append(line[: column - 2] + "# " + line[column:])
        else:
            out.append("# " + line)
    if out and not out[-1].endswith("\n"):
        out[-1] += "\r\n" if "\r\n" in body else "\n"
    newline = "\r\n" if "\r\n" in body else "\n"
    head = f"{' ' * column}#  {note}{newline}" if note else ""
    return bom + _splice(body, first, last, head + "".join(out))


def assign(text: str, path: KeyPath, value: Any) -> str:
    """Make the value at `path` equal `value`, touching only what differs: a mapping loses the
    keys `value` lacks, keeps the equal ones as they are written, and gains the new ones; a list
    of scalars loses the items `value` lacks and gains the new ones at its end (the order of
    namespaces and domains carries no meaning); a changed scalar keeps its quoting. A missing
    key is added, and so are the mappings on the way to it."""
    bom, body = _unbom(text)
    return bom + _assign(body, list(path), value)


def _assign(body: str, path: list[Key], value: Any) -> str:
    root = compose(body)
    found = _find(root, path)
    if found is None:  # a mapping on the way is missing: add it, with the value inside
        for cut in range(len(path) - 1, -1, -1):
            prefix = _find(root, path[:cut]) if cut else _Found((), root)
            if prefix is not None and (prefix.node is not None or cut == 0):
                nested: Any = value
                for key in reversed(path[cut + 1 :]):
                    nested = {key: nested}
                return _insert(body, root, path[:cut], path[cut], nested)
        raise EditError(f"cannot reach {'.'.join(map(str, path))}")
    node = found.node
    if node is None:
        return _insert(body, root, path[:-1], path[-1], value)
    if isinstance(node, yaml.MappingNode) and isinstance(value, Mapping):
        old = plain(node)
        for key in [k for k in old if k not in value]:
            body = delete(body, [*path, key])
        for key, item in value.items():
            if key not in old or not _same(old[key], item):
                body = _assign(body, [*path, key], item)
        return body
    if isinstance(node, yaml.SequenceNode) and isinstance(value, list | tuple) and _scalars(value):
        old = plain(node)
        if _scalars(old):
            for item in value:
                if not any(_same(item, o) for o in old):
                    body = _append(body, path, item)
            for index in range(len(old) - 1, -1, -1):
                if not any(_same(old[index], v) for v in value):
                    body = delete(body, [*path, index])
            return body
    if _same(plain(node), value):
        return body
    return _replace(body, found, value)


def _scalars(values: Any) -> bool:
    return isinstance(values, list | tuple) and not any(
        isinstance(v, dict | list | tuple) for v in values
    )


def _same(a: Any, b: Any) -> bool:
    """Equal as data, and of the same types ("2" is not 2, true is not 1)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _replace(body: str, found: _Found, value: Any) -> str:
    """Write a new value over a node: a scalar in place, keeping its quotes; a collection inline
    (flow), over a block one from its key's colon to its last line."""
    node = found.node
    assert node is not None
    style = style_of(body, compose(body))
    if isinstance(node, yaml.ScalarNode):
        new = (
            scalar(value, style.quote, keep=node.style)
            if isinstance(value, str)
            else inline(value, style)
        )
        if _null(node) and node.value == "":
            new = " " + new if body[_start(node) - 1 : _start(node)] == ":" else new
        return _splice(body, _start(node), _end(node, body), new)
    if _flow(node):
        return _splice(body, _start(node), _end(node, body), inline(value, style))
    parent, index = found.chain[-1]
    if not isinstance(parent, yaml.MappingNode):
        raise EditError("cannot replace a block collection inside a sequence in place")
    key = parent.value[index][0]
    colon = body.index(":", _end(key, body))
    end = _end(node, body)
    return _splice(body, colon + 1, end, " " + inline(value, style))


def _append(body: str, path: list[Key], item: Any) -> str:
    """Add an item at the end of the sequence at `path`."""
    root = compose(body)
    found = _find(root, path)
    assert found is not None
    assert isinstance(found.node, yaml.SequenceNode)
    seq = found.node
    style = style_of(body, root)
    text = inline(item, style, _quote_of(seq.value))
    if _flow(seq):
        if not seq.value:
            return _splice(body, _start(seq) + 1, _start(seq) + 1, text)
        last = _end(seq.value[-1], body)
        return _splice(body, last, last, _separator(body, seq) + text)
    count = len(seq.value)
    column = _owner_column(body, seq, count - 1)
    _, _, end = _span(body, seq, count - 1)
    prefix = "" if body[:end].endswith("\n") else style.newline
    return _splice(body, end, end, f"{prefix}{' ' * column}- {text}{style.newline}")


def _separator(body: str, container: yaml.Node) -> str:
    """What separates the entries of a flow collection (`, `, or `,\\n    ` in JSON-like text)."""
    count = len(container.value)
    if count >= 2:  # the last one: the first ones may be padded to align columns
        return body[_end(_item(container, count - 2), body) : _start(_first(container, count - 1))]
    return ", "


def _insert(body: str, root: yaml.Node | None, path: Sequence[Key], key: Key, value: Any) -> str:
    """Add `key: value` to the mapping at `path` (which exists, maybe as an empty value)."""
    style = style_of(body, root)
    found = _find(root, path) if path else _Found((), root)
    assert found is not None
    mapping = found.node
    depth = len(path) + 1
    if mapping is None or _null(mapping):
        column = 0
        if mapping is not None:
            parent, index = found.chain[-1]
            column = int(parent.value[index][0].start_mark.column) + style.indent
        lines = block(key, value, column, depth, style, None)
        new = "".join(line + style.newline for line in lines)
        if mapping is None:  # an empty document: the entry is the file's first content
            prefix = "" if not body or body.endswith("\n") else style.newline
            return body + prefix + new
        end = _line_end(body, _end(mapping, body))
        if _start(mapping) != int(mapping.end_mark.index):  # an explicit `~` or `null`
            body = _splice(body, _start(mapping), _end(mapping, body), "")
            end = _line_end(body, _start(mapping))
        prefix = "" if body[:end].endswith("\n") else style.newline
        return _splice(body, end, end, prefix + new)
    if not isinstance(mapping, yaml.MappingNode):
        raise EditError(f"{'.'.join(map(str, path)) or 'the file'} is not a mapping")
    keys = [str(k.value) for k, _ in mapping.value]
    position = bisect.bisect(keys, str(key)) if keys == sorted(keys) else len(keys)
    quotes = _peer_quotes(mapping)
    quote = _quote_of([v for _, v in mapping.value])
    if _flow(mapping):
        text = f"{scalar(key)}: {inline(value, style, quote)}"
        if not keys:
            return _splice(body, _start(mapping) + 1, _start(mapping) + 1, text)
        if position < len(keys):
            at = _start(mapping.value[position][0])
            return _splice(body, at, at, text + _separator(body, mapping))
        last = _end(mapping.value[-1][1], body)
        return _splice(body, last, last, _separator(body, mapping) + text)
    column = int(mapping.value[0][0].start_mark.column)
    collections = [v for _, v in mapping.value if isinstance(v, yaml.CollectionNode)]
    if isinstance(value, Mapping) and value and collections:
        flows = sum(1 for v in collections if v.flow_style)
        row_flow: bool | None = flows * 2 > len(collections)
    else:
        row_flow = None
    if row_flow and isinstance(value, Mapping):
        lines = [_aligned(key, value, column, style, list(mapping.value), quotes)]
    else:
        lines = block(key, value, column, depth, style, row_flow, quotes, quote)
    new = "".join(line + style.newline for line in lines)
    spaced = len(keys) >= 2 and all(
        _blank(body, _line_start(body, _span(body, mapping, i)[0] - 1)) for i in range(1, len(keys))
    )
    if position < len(keys):
        at = _span(body, mapping, position)[0]
        return _splice(body, at, at, new + (style.newline if spaced else ""))
    at = _span(body, mapping, len(keys) - 1)[2]
    prefix = "" if body[:at].endswith("\n") else style.newline
    return _splice(body, at, at, prefix + (style.newline if spaced else "") + new)
