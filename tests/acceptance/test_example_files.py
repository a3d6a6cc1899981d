"""The example corpus: valid files check clean, each invalid file states what it must produce.

An invalid case is one file, `tests/examples/invalid/<case>.<roster|k8s_users>.<yaml|json>`,
with `# expect: LINE:COL CODE` comment lines (JSON, having no comments, keeps them in a
`<file>.expect` sidecar). The test compares the sorted (line, col, code) triples exactly.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tenancy.inputs.load import parse_bytes
from tenancy.validate import schema

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
_EXPECT = re.compile(r"^#?\s*expect:\s*(\d+):(\d+)\s+(\S+)|^(\d+):(\d+)\s+(\S+)", re.MULTILINE)


def _kind(path: Path) -> str:
    return path.name.split(".")[-2]


def _inputs(folder: str) -> list[Path]:
    return sorted(p for p in (EXAMPLES / folder).iterdir() if p.suffix in {".yaml", ".json"})


def _findings(path: Path) -> list[tuple[int, int, str]]:
    document, problems = parse_bytes(path.name, path.read_bytes())
    if document is not None:
        problems += schema.check(document, _kind(path))
    return sorted(
        (p.location.line, p.location.column, p.code) for p in problems if p.severity == "error"
    )


def _expected(path: Path) -> list[tuple[int, int, str]]:
    sidecar = path.with_name(path.name + ".expect")
    text = sidecar.read_text() if sidecar.exists() else path.read_text()
    found = []
    for m in _EXPECT.finditer(text):
        line, col, code = (m.group(1), m.group(2), m.group(3)) if m.group(1) else m.group(4, 5, 6)
        found.append((int(line), int(col), code))
    return sorted(found)


@pytest.mark.parametrize("path", _inputs("valid"), ids=lambda p: p.name)
def test_valid_example(path: Path) -> None:
    """A valid example has no errors."""
    assert _findings(path) == []


@pytest.mark.parametrize("path", _inputs("invalid"), ids=lambda p: p.name)
def test_invalid_example(path: Path) -> None:
    """An invalid example produces exactly the findings it declares, at those positions."""
    expected = _expected(path)
    assert expected, f"{path.name} declares no `expect:` lines"
    assert _findings(path) == expected


def test_corpus_is_not_empty() -> None:
    """Guard against a vacuous pass: the corpus holds cases of both kinds."""
    assert len(_inputs("valid")) >= 3
    assert len(_inputs("invalid")) >= 15
