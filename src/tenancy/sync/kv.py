"""k8s_users from Vault KV into the git file: decode, merge, compare. Pure (text in, text out).

Today the map lives in Vault (`secret/platform`, field `k8s_users`, a JSON-encoded string;
seed §a2). `tenancy vault pull` brings it into git, where it is reviewed from then on. The
file is edited, not regenerated: a YAML file keeps its comments, key order, quoting and flow
style (ruamel.yaml round-trip), and only values that differ are touched; a JSON file keeps its
key order and is written with a 2-space indent. The shell (`sync/command.py`) reads Vault and
writes the file.
"""

from __future__ import annotations

import difflib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tenancy.errors import BackendError, RepoError
from tenancy.inputs.load import DEFAULT_MAX_DEPTH, depth_ok

ChangeAction = Literal["create", "update", "delete"]
#: The loader's limit: what is pulled must load again from git.
MAX_DEPTH = DEFAULT_MAX_DEPTH
YAML_HEADER = (
    "# Cluster users, keyed by user key (Forgejo username = Vault entity = secret/data/<key>/).\n"
    "# Pulled from Vault by `tenancy vault pull`; from now on git is the source of truth.\n"
)


def decode(data: Mapping[str, Any] | None, field: str, where: str) -> dict[str, Any]:
    """The k8s_users map from a KV v2 secret's data: the field is a JSON-encoded object."""
    if data is None:
        raise BackendError(f"{where} does not exist")
    if field not in data:
        fields = ", ".join(sorted(data)) or "none"
        raise BackendError(f"{where} has no field {field!r} (fields: {fields})")
    value = data[field]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise BackendError(
                f"{where} field {field!r} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}"
            ) from exc
        except RecursionError:
            value = None  # deeper than Python's JSON parser recurses: reported below
            deep_enough = False
        else:
            deep_enough = depth_ok(value, MAX_DEPTH)
        if not deep_enough:
            raise BackendError(
                f"{where} field {field!r} is nested deeper than {MAX_DEPTH} levels; k8s_users "
                "is a map of users, a few levels deep"
            )
    if not isinstance(value, dict):
        raise BackendError(
            f"{where} field {field!r} holds {type(value).__name__}, not a JSON object of users"
        )
    return value


def _canonical(value: Any) -> str:
    """Equality that tells "2" from 2 and true from 1, and ignores mapping order."""
    return json.dumps(value, sort_keys=True, default=str)


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[ChangeAction, str]]:
    """Per user key: created, updated or deleted, sorted by key."""
    out: list[tuple[ChangeAction, str]] = []
    for key in sorted(before.keys() | after.keys()):
        if key not in before:
            out.append(("create", key))
        elif key not in after:
            out.append(("delete", key))
        elif _canonical(_plain(before[key])) != _canonical(after[key]):
            out.append(("update", key))
    return out


def unified(old: str, new: str, path: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{path} (git)",
            tofile=f"{path} (vault)",
        )
    )


# --- JSON -----------------------------------------------------------------------------------


def _follow(new: Any, old: Any) -> Any:
    """`new` with its mappings in `old`'s key order (new keys after, in their own order)."""
    if isinstance(new, dict) and isinstance(old, dict):
        keys = [k for k in old if k in new] + [k for k in new if k not in old]
        return {k: _follow(new[k], old.get(k)) for k in keys}
    return new


def merge_json(old_text: str | None, data: Mapping[str, Any]) -> str:
    old: Any = None
    if old_text:
        try:
            old = json.loads(old_text)
        except json.JSONDecodeError:
            old = None  # an unreadable file is replaced; its order cannot be kept anyway
    return json.dumps(_follow(dict(data), old), indent=2, ensure_ascii=False) + "\n"


def load_json(text: str) -> Any:
    return json.loads(text)


# --- YAML -----------------------------------------------------------------------------------


def _yaml(text: str | None) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long flow sequence someone wrote on one line
    if text:
        try:
            _, indent, offset = load_yaml_guess_indent(text)
        except Exception:  # not YAML: the caller's own load reports it
            indent = offset = None
        yaml.indent(mapping=indent or 2, sequence=indent or 2, offset=offset or 0)
    return yaml


def _plain(node: Any) -> Any:
    """A round-trip node as plain JSON-like data (ScalarString -> str, CommentedMap -> dict)."""
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def load_yaml(text: str) -> Any:
    """Plain data of a YAML file, as `merge_yaml` sees it."""
    return _plain(_yaml(text).load(text))


#: Plain scalars YAML would read as something other than a string ("2", "true", "1e3").
_NOT_A_STRING = re.compile(
    r"^([-+]?(\.?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?|\.inf|\.nan)|0x[0-9a-fA-F]+|0o[0-7]+"
    r"|true|false|yes|no|on|off|y|n|null|~|)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Style:
    """How the file writes things, so new entries look like their neighbours."""

    flow: bool  # lists and mappings inside an entry as `[a, b]` / `{k: v}`
    double: bool  # quote number-like strings with "..." rather than '...'


def _style(root: Any) -> _Style:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    flow = double = False
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, CommentedMap | CommentedSeq):
            flow = flow or bool(node.fa.flow_style())
            stack.extend(node.values() if isinstance(node, CommentedMap) else node)
        double = double or isinstance(node, DoubleQuotedScalarString)
    return _Style(flow=flow, double=double)


def _fresh(value: Any, style: _Style, depth: int) -> Any:
    """A new node for a value that was not in the file, in the file's prevailing style."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    node: Any
    if isinstance(value, dict):
        node = CommentedMap((k, _fresh(v, style, depth + 1)) for k, v in value.items())
    elif isinstance(value, list):
        node = CommentedSeq(_fresh(v, style, depth + 1) for v in value)
    elif isinstance(value, str) and style.double and _NOT_A_STRING.match(value):
        return DoubleQuotedScalarString(value)
    else:
        return value
    if style.flow and depth >= 2:  # the top map and each user's entry stay block
        node.fa.set_flow_style()
    return node


def _merge(old: Any, new: Any, style: _Style, depth: int) -> Any:
    """`old` changed in place to equal `new`; untouched where equal, so comments survive."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import ScalarString

    if _canonical(_plain(old)) == _canonical(new) and type(_plain(old)) is type(new):
        return old
    if isinstance(old, CommentedMap) and isinstance(new, dict):
        for key in [k for k in old if k not in new]:
            _keep_following_comments(old, key)
            del old[key]
        for key, value in new.items():
            if key in old:
                merged = _merge(old[key], value, style, depth + 1)
                if merged is not old[key]:
                    old[key] = merged
            else:
                old[key] = _fresh(value, style, depth + 1)
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        if all(not isinstance(v, dict | list) for v in new):
            del old[:]  # same node, so its flow/block style and comments stay
            old.extend(_fresh(v, style, depth + 1) for v in new)
            return old
        return _fresh(new, style, depth)
    if isinstance(old, ScalarString) and isinstance(new, str):
        return type(old)(new)  # keep the quoting style of the value it replaces
    return _fresh(new, style, depth)


def _tail(node: Any) -> tuple[Any, Any] | None:
    """(container, key) of the last line of a block node: where ruamel keeps the comment
    lines that follow it, which belong to the next entry, not to this one."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(node, CommentedMap | CommentedSeq) and len(node) and not node.fa.flow_style():
        last = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
        return _tail(node[last]) or (node, last)
    return None


def _slot(container: Any) -> int:
    from ruamel.yaml.comments import CommentedMap

    return 2 if isinstance(container, CommentedMap) else 0


def _keep_following_comments(mapping: Any, key: Any) -> None:
    """Before deleting `key`: move the comment lines after its entry to the entry before it
    (a comment above `gabi:` must survive when the entry above it is deleted)."""
    keys = list(mapping)
    tail = _tail(mapping[key]) or (mapping, key)
    slots = tail[0].ca.items.get(tail[1])
    token = slots[_slot(tail[0])] if slots else None
    if token is None or keys.index(key) == 0:
        return
    following = token.value.split("\n", 1)[1] if "\n" in token.value else ""
    if not following.strip():
        return
    previous = keys[keys.index(key) - 1]
    target = _tail(mapping[previous]) or (mapping, previous)
    slots = target[0].ca.items.setdefault(target[1], [None, None, None, None])
    index = _slot(target[0])
    if slots[index] is None:
        token.value = "\n" + following
        slots[index] = token
    else:
        slots[index].value += following


def merge_yaml(old_text: str | None, data: Mapping[str, Any]) -> str:
    """The YAML file with its users changed to `data`, everything else as it was."""
    from ruamel.yaml.comments import CommentedMap

    yaml = _yaml(old_text)
    root: Any = None
    if old_text and old_text.strip():
        try:
            root = yaml.load(old_text)
        except Exception as exc:  # ruamel raises many error types; any means "cannot merge"
            raise RepoError(
                f"cannot merge into the existing file: it is not valid YAML: {exc}"
            ) from None
    fresh = not isinstance(root, CommentedMap)
    style = _Style(flow=True, double=True) if fresh else _style(root)
    root = _merge(CommentedMap() if fresh else root, dict(data), style, 0)
    out = io.StringIO()
    yaml.dump(root, out)
    return (YAML_HEADER if fresh else "") + out.getvalue()


def merge(old_text: str | None, data: Mapping[str, Any], *, is_json: bool) -> str:
    return merge_json(old_text, data) if is_json else merge_yaml(old_text, data)


def load(text: str, *, is_json: bool) -> Any:
    return load_json(text) if is_json else load_yaml(text)
