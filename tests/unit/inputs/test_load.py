"""The loader: plain data, exact positions, and a clear diagnostic for every kind of bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenancy.errors import Diagnostic
from tenancy.inputs.load import Document, parse_bytes, parse_json, parse_yaml
from tests.conftest import dedent


def codes(problems: list[Diagnostic]) -> list[tuple[int, int, str]]:
    return [(d.location.line, d.location.column, d.code) for d in problems]


def load_ok(text: str) -> Document:
    document, problems = parse_yaml("f.yaml", dedent(text))
    assert document is not None, problems
    assert not [p for p in problems if p.severity == "error"]
    return document


def test_plain_data_and_core_schema_scalars() -> None:
    """YAML 1.2 core: yes/on/dates stay strings; ints, floats, bools and nulls resolve."""
    doc = load_ok(
        """
        a: yes
        b: 0x1f
        c: 1.5
        d: 2026-13-45
        e: '12'
        f: ~
        g: True
        h: .inf
        i: !!str 12
        """
    )
    assert doc.data == {
        "a": "yes",
        "b": 31,
        "c": 1.5,
        "d": "2026-13-45",
        "e": "12",
        "f": None,
        "g": True,
        "h": ".inf",
        "i": "12",
    }


def test_locate_keys_values_and_items() -> None:
    """Paths map to 1-based positions of keys, values and list items."""
    doc = load_ok(
        """
        users:
          ada: {tier: admin, namespaces: [a, b]}
          brin:
            tier: power-user
        """
    )
    assert (
        doc.locate(["users", "ada", "tier"]).line,
        doc.locate(["users", "ada", "tier"]).column,
    ) == (2, 9)
    value = doc.locate(["users", "ada", "tier"], at="value")
    assert (value.line, value.column) == (2, 15)
    item = doc.locate(["users", "ada", "namespaces", 1])
    assert (item.line, item.column) == (2, 38)
    assert str(doc.locate(["users", "brin", "tier"])) == "f.yaml:4:5"
    # A path that leaves the data stops at the deepest node that exists.
    assert str(doc.locate(["users", "brin", "missing"])) == "f.yaml:3:3"
    assert str(doc.locate([])) == "f.yaml:1:1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: 2\na: 3\n", [(3, 1, "yaml-duplicate-key")]),
        ("u: {x: 1, x: 2}\n", [(1, 11, "yaml-duplicate-key")]),
        ("a: !!python/object:os.system ls\n", [(1, 4, "yaml-custom-tag")]),
        ("a: !custom {b: 1}\n", [(1, 4, "yaml-custom-tag")]),
        ("a: !!binary aGk=\n", [(1, 4, "yaml-custom-tag")]),
        ("1: x\n", [(1, 1, "yaml-non-string-key")]),
        ("? [a, b]\n: x\n", [(1, 3, "yaml-non-string-key")]),
        ("null: x\n", [(1, 1, "yaml-non-string-key")]),
        ("<<: {a: 1}\n", [(1, 1, "yaml-merge-key")]),
        ("a: &x [*x]\n", [(1, 8, "yaml-recursive-alias")]),
        ("a: *nothing\n", [(1, 4, "yaml-unknown-alias")]),
        ("a: [1\n", [(2, 1, "yaml-syntax")]),
        ("a: b\n---\nc: d\n", [(2, 1, "yaml-multiple-documents")]),
        ("a:\n\tb: 1\n", [(2, 1, "yaml-syntax")]),
        ("a: !!int x\n", [(1, 4, "yaml-bad-scalar")]),
    ],
)
def test_bad_yaml_gets_a_positioned_diagnostic(
    text: str, expected: list[tuple[int, int, str]]
) -> None:
    """Each kind of bad YAML is refused with a diagnostic at the offending token."""
    document, problems = parse_yaml("f.yaml", text)
    assert document is None
    assert codes(problems) == expected


def test_duplicate_key_names_the_first_definition() -> None:
    """The duplicate's diagnostic points back at the first definition."""
    _, problems = parse_yaml("f.yaml", "users:\n  cleom: {}\n  cleom: {}\n")
    assert problems[0].related[0].line == 2
    assert "first defined at line 2" in problems[0].message


def test_alias_bomb_is_refused_quickly() -> None:
    """A billion-laughs document is stopped by the expansion budget, not expanded."""
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        levels.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    document, problems = parse_yaml("bomb.yaml", "\n".join(levels) + "\n")
    assert document is None
    assert [p.code for p in problems] == ["yaml-alias-bomb"]


def test_modest_aliases_are_fine() -> None:
    """Anchors used sensibly load, shared rather than copied."""
    doc = load_ok("q: &q {cpu: '2'}\na: *q\nb: *q\n")
    assert doc.data["a"] == doc.data["b"] == {"cpu": "2"}


def test_deep_nesting_is_refused() -> None:
    """Nesting beyond the limit is refused in block and flow style, without recursion."""
    block = "".join("  " * i + f"k{i}:\n" for i in range(100))
    _, problems = parse_yaml("deep.yaml", block)
    assert [p.code for p in problems] == ["yaml-too-deep"]
    _, problems = parse_yaml("deep.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert problems[0].code in {"yaml-too-deep", "yaml-syntax"}
    _, problems = parse_yaml("deep.yaml", "a: [[[1]]]\n", max_depth=2)
    assert [p.code for p in problems] == ["yaml-too-deep"]


@pytest.mark.parametrize(
    ("raw", "code", "position"),
    [
        (b"a: \xff\xfe\n", "yaml-invalid-utf8", (1, 4)),
        (b"a: b\nc: \x00\n", "yaml-nul-byte", (2, 4)),
        (b"a: \x01\n", "yaml-control-character", (1, 4)),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "yaml-invalid-utf8", (1, 1)),
    ],
)
def test_binary_and_invalid_text(raw: bytes, code: str, position: tuple[int, int]) -> None:
    """Binary content, bad UTF-8, NUL and control characters are diagnosed where they occur."""
    document, problems = parse_bytes("f.yaml", raw)
    assert document is None
    assert codes(problems) == [(*position, code)]


def test_bom_is_accepted() -> None:
    """A UTF-8 byte-order mark is not content."""
    document, _ = parse_bytes("f.yaml", b"\xef\xbb\xbfa: 1\n")
    assert document is not None and document.data == {"a": 1}


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_document_is_a_warning(text: str) -> None:
    """An empty file loads as null with a warning (the seed treats it as an empty roster)."""
    document, problems = parse_yaml("f.yaml", text)
    assert document is not None and document.data is None
    assert [(p.severity, p.code) for p in problems] == [("warning", "yaml-empty")]


def test_json_positions_and_strictness() -> None:
    """JSON is parsed strictly, and positions still point at keys."""
    text = '{\n  "cleo": {"role": "admin",\n           "email": "c@x.org"}\n}\n'
    document, problems = parse_json("k.json", text)
    assert document is not None and not problems
    assert str(document.locate(["cleo", "email"])) == "k.json:3:12"
    assert codes(parse_json("k.json", '{"a": 1,}')[1]) == [(1, 9, "json-syntax")]
    assert codes(parse_json("k.json", '{"a": NaN}')[1]) == [(1, 1, "json-syntax")]
    assert [p.code for p in parse_json("k.json", '{"a": 1, "a": 2}')[1]] == ["yaml-duplicate-key"]
    assert codes(parse_json("k.json", "{a: 1}")[1]) == [(1, 2, "json-syntax")]


def test_tab_indented_json_loads() -> None:
    """Tab indentation is valid JSON even though libyaml refuses it; the data still loads."""
    document, problems = parse_json("k.json", '{\n\t"a": [1, 2]\n}\n')
    assert document is not None and document.data == {"a": [1, 2]}
    assert not problems


def _inside(text: str, problem: Diagnostic) -> bool:
    lines = text.split("\n")
    line, col = problem.location.line, problem.location.column
    return 1 <= line <= len(lines) and 1 <= col <= len(lines[line - 1]) + 1


@given(st.text(max_size=300))
def test_loader_never_raises_on_text(text: str) -> None:
    """Arbitrary text gives data or diagnostics, and every position lies inside the file."""
    document, problems = parse_yaml("f.yaml", text)
    assert document is not None or problems
    for problem in problems:
        assert _inside(text, problem), problem


@given(st.binary(max_size=300))
def test_loader_never_raises_on_bytes(raw: bytes) -> None:
    """Arbitrary bytes, as YAML or as JSON, never raise."""
    for name in ("f.yaml", "f.json"):
        document, problems = parse_bytes(name, raw)
        assert document is not None or problems


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_json_documents_round_trip(value: object) -> None:
    """Any JSON document loads to the value json itself reads (JSON is the exchange format)."""
    import json

    text = json.dumps({"root": value}, indent=2)
    document, problems = parse_json("f.json", text)
    assert document is not None, problems
    assert document.data == json.loads(text)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("a: " + "1" * 5000 + "\n", (1, 4)),
        ("a: -" + "9" * 4301 + "\n", (1, 4)),
        ("a: 0x" + "f" * 5000 + "\n", (1, 4)),
        ("a: 0o" + "7" * 6000 + "\n", (1, 4)),
        ("b: 1\n? " + "1" * 5000 + "\n: 1\n", (2, 3)),
        ("a: [1, !!int " + "1" * 5000 + "]\n", (1, 8)),
    ],
)
def test_integers_too_large_to_print_are_refused_at_their_position(
    text: str, position: tuple[int, int]
) -> None:
    """An integer Python cannot turn into text (over 4,300 digits) is a diagnostic, not a
    ValueError later, whether decimal, hex, octal, tagged or a key."""
    document, problems = parse_yaml("f.yaml", text)
    assert document is None
    assert codes(problems) == [(*position, "yaml-number-too-large")]


def test_json_integer_too_large_is_refused_at_its_position() -> None:
    """JSON's own integer limit becomes a positioned diagnostic too."""
    text = '{\n  "a": {"pods": ' + "1" * 5000 + "}\n}\n"
    assert codes(parse_json("k.json", text)[1]) == [(2, 17, "yaml-number-too-large")]


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('{"a": "\\ud800"}', (1, 8)),
        ('{\n  "a": {"email": "x\\udc00y"}\n}', (2, 20)),
        ('{"\\udbff": 1}', (1, 3)),
    ],
)
def test_json_lone_surrogate_is_refused_at_its_position(
    text: str, position: tuple[int, int]
) -> None:
    """`\\ud800` is valid JSON text but no character: it cannot be written out as UTF-8."""
    document, problems = parse_json("k.json", text)
    assert document is None
    assert codes(problems) == [(*position, "json-lone-surrogate")]


def test_json_surrogate_pairs_and_escaped_backslashes_are_fine() -> None:
    """A pair is one character; `\\\\ud800` is a backslash and text, not an escape."""
    document, problems = parse_json("k.json", '{"a": "\\ud83d\\ude00", "b": "\\\\ud800"}')
    assert document is not None and not problems
    assert document.data == {"a": "\U0001f600", "b": "\\ud800"}


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("users:\n\tada: {tier: admin}\n", (2, 1)),
        ("users:\n  ada:\n  \ttier: admin\n", (3, 3)),
        ("users:\n  ada:\n    tier: admin\n\t\n  bob: 1\n", (4, 1)),
    ],
)
def test_a_tab_in_the_indentation_gets_a_hint_at_the_tab(
    text: str, position: tuple[int, int]
) -> None:
    """libyaml's message does not say that YAML forbids tabs; the hint does, at the tab."""
    document, problems = parse_yaml("f.yaml", text)
    assert document is None
    [problem] = problems
    assert problem.code == "yaml-syntax"
    assert (problem.location.line, problem.location.column) == position
    assert problem.hint is not None and "spaces" in problem.hint and "tab" in problem.hint


def test_a_syntax_error_without_a_tab_gets_no_tab_hint() -> None:
    """An unclosed flow sequence is not blamed on tabs."""
    _, problems = parse_yaml("f.yaml", "a: [1\n")
    assert [p.hint for p in problems] == [None]
