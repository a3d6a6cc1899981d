"""Parse a Vault/OpenBao ACL policy (HCL1) into path rules. Pure.

tenancy's own policies are canonical (render/vault.py), but the plan also reads what is on the
server, which a person may have written by hand: comments of three kinds, `=` before a block,
trailing commas, heredocs and parameter constraints. This is the subset of HCL1 that policies
use; anything else is an `HclError`, and the plan then treats the policy as unreadable (it
differs from every rendered policy) rather than guessing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<heredoc><<-?(?P<tag>[A-Za-z_][A-Za-z0-9_]*)\n(?P<body>.*?)\n[ \t]*(?P=tag)(?=\n|$))
  | (?P<word>[A-Za-z0-9_.+\-]+)
  | (?P<punct>[{}\[\]=,])
    """,
    re.VERBOSE | re.DOTALL,
)


class HclError(ValueError):
    """The text is not a policy in the HCL1 subset Vault accepts."""


@dataclass(frozen=True, slots=True, order=True)
class PathRule:
    """What one policy grants on one path: capabilities, plus any other settings as JSON."""

    capabilities: frozenset[str]
    other: tuple[tuple[str, str], ...] = ()  # (key, canonical JSON), sorted

    def __repr__(self) -> str:
        extra = f", other={dict(self.other)}" if self.other else ""
        return f"PathRule({sorted(self.capabilities)}{extra})"


Rules = tuple[tuple[str, PathRule], ...]  # sorted by path


class _Body(list[tuple[tuple[str, ...], Any]]):
    """The items of an object `{ ... }`, told apart from a list value `[ ... ]`."""


def _tokens(text: str) -> list[tuple[str, Any, int]]:
    out: list[tuple[str, Any, int]] = []
    pos = 0
    line = 1
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise HclError(f"line {line}: unexpected {text[pos : pos + 10]!r}")
        kind = match.lastgroup or ""
        value: Any = match.group()
        if match.group("heredoc") is not None:
            kind, value = "string", match.group("body") + "\n"
        elif kind == "string":
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise HclError(f"line {line}: bad string {value}") from exc
        if kind not in ("space", "comment"):
            out.append((kind, value, line))
        line += match.group().count("\n")
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, Any, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, punct: str | None = None) -> tuple[str, Any, int]:
        token = self.peek()
        if token is None:
            raise HclError(f"unexpected end of policy{f', expected {punct!r}' if punct else ''}")
        if punct is not None and not (token[0] == "punct" and token[1] == punct):
            raise HclError(f"line {token[2]}: expected {punct!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def body(self, closing: bool) -> _Body:
        """Items of an object: `key... = value` or `key... { body }`, commas optional."""
        items = _Body()
        while True:
            token = self.peek()
            if token is None:
                if closing:
                    raise HclError("unexpected end of policy, expected '}'")
                return items
            if token[0] == "punct" and token[1] == "}" and closing:
                self.pos += 1
                return items
            if token[0] == "punct" and token[1] == ",":
                self.pos += 1
                continue
            keys: list[str] = []
            while (tok := self.peek()) is not None and tok[0] in ("word", "string"):
                keys.append(str(tok[1]))
                self.pos += 1
            if not keys:
                raise HclError(f"line {token[2]}: expected a key, got {token[1]!r}")
            nxt = self.take()
            if nxt[0] == "punct" and nxt[1] == "=":
                items.append((tuple(keys), self.value()))
            elif nxt[0] == "punct" and nxt[1] == "{":
                items.append((tuple(keys), self.body(closing=True)))
            else:
                raise HclError(f"line {nxt[2]}: expected '=' or '{{' after {keys[-1]!r}")

    def value(self) -> Any:
        token = self.take()
        kind, value, line = token
        if kind == "string":
            return value
        if kind == "word":
            if value in ("true", "false"):
                return value == "true"
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise HclError(f"line {line}: bad value {value!r}") from exc
        if value == "[":
            items: list[Any] = []
            while True:
                nxt = self.peek()
                if nxt is None:
                    raise HclError("unexpected end of policy, expected ']'")
                if nxt[0] == "punct" and nxt[1] == "]":
                    self.pos += 1
                    return items
                items.append(self.value())
                after = self.peek()
                if after is not None and after[0] == "punct" and after[1] == ",":
                    self.pos += 1
        if value == "{":
            return self.body(closing=True)
        raise HclError(f"line {line}: unexpected {value!r}")


def _plain(value: Any) -> Any:
    """Object bodies (item lists) as dicts, for canonical JSON of non-capability settings."""
    if isinstance(value, _Body):
        out: dict[str, Any] = {}
        for keys, inner in value:
            out[".".join(keys)] = _plain(inner)
        return out
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


#: tenancy's canonical layout (render/vault.py `hcl`): read by one regex, 10x faster.
_CANONICAL_BLOCK = re.compile(
    r'path ("(?:[^"\\\n]|\\.)*") \{\n  capabilities = \[([^\]\n]*)\]\n\}\n'
)
_COMMENT_LINES = re.compile(r"(?:#[^\n]*\n|\n)*")


def _canonical(text: str) -> Rules | None:
    pos = _COMMENT_LINES.match(text).end()  # type: ignore[union-attr]
    found: dict[str, frozenset[str]] = {}
    while pos < len(text):
        block = _CANONICAL_BLOCK.match(text, pos)
        if block is None:
            return None
        try:
            path = json.loads(block.group(1))
            capabilities = json.loads(f"[{block.group(2)}]")
        except json.JSONDecodeError:
            return None
        if path in found or not all(isinstance(c, str) for c in capabilities):
            return None
        found[path] = frozenset(capabilities)
        pos = _COMMENT_LINES.match(text, block.end()).end()  # type: ignore[union-attr]
    return tuple((path, PathRule(caps)) for path, caps in sorted(found.items()))


def parse(text: str) -> Rules:
    """Path rules of a policy; repeated paths are merged as Vault merges them (union)."""
    fast = _canonical(text)
    if fast is not None:
        return fast
    merged: dict[str, tuple[set[str], list[tuple[str, str]]]] = {}
    for keys, value in _Parser(text).body(closing=False):
        if keys[0] != "path" or len(keys) != 2 or not isinstance(value, _Body):
            raise HclError(f"unsupported top-level item {' '.join(keys)!r}")
        capabilities, other = merged.setdefault(keys[1], (set(), []))
        for inner_keys, inner in value:
            name = ".".join(inner_keys)
            if name == "capabilities":
                if not isinstance(inner, list) or not all(isinstance(c, str) for c in inner):
                    raise HclError(f"path {keys[1]!r}: capabilities must be a list of strings")
                capabilities.update(inner)
            else:
                other.append((name, json.dumps(_plain(inner), sort_keys=True)))
    return tuple(
        (path, PathRule(frozenset(caps), tuple(sorted(other))))
        for path, (caps, other) in sorted(merged.items())
    )
