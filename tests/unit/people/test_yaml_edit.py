"""tenancy.people.yaml_edit: edits that leave every byte outside the edited entry as it was."""

from __future__ import annotations

import difflib
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tenancy.inputs.load import parse_bytes
from tenancy.people import yaml_edit
from tests.conftest import REPO, dedent
from tests.strategies import RowFile, label, row_files, row_value

ROSTER = (REPO / "tenants/roster.yaml").read_text(encoding="utf-8")
K8S = (REPO / "tenants/k8s_users.yaml").read_text(encoding="utf-8")


def data(text: str) -> Any:
    """What tenancy's own loader reads from the text (an error fails the test)."""
    document, problems = parse_bytes("edited.yaml", text.encode("utf-8"))
    assert document is not None, problems
    assert not [p for p in problems if p.severity == "error"], problems
    return document.data


def changed_lines(old: str, new: str) -> list[tuple[str, int, int, int, int]]:
    """The non-equal opcodes of a line diff: (tag, old from, old to, new from, new to)."""
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    return [op for op in matcher.get_opcodes() if op[0] != "equal"]


def only_within(old: str, new: str, low: int, high: int) -> bool:
    """Whether the lines before `low` and from `high` on are the same in both texts: every
    change lies in [low, high). Compared as prefix and suffix, not through a line diff, which
    may place a change among repeated lines anywhere in the run they repeat in."""
    before, after = old.splitlines(keepends=True), new.splitlines(keepends=True)
    low, high = max(low, 0), min(high, len(before))
    kept = len(before) - high
    return (
        after[:low] == before[:low]
        and len(after) >= low + kept
        and after[len(after) - kept :] == before[high:]
    )


def rows(file: RowFile, text: str) -> dict[str, Any]:
    loaded = data(text) or {}
    return (loaded.get("users") or {}) if file.nested else loaded


# --- examples on the repository's own inputs -------------------------------------------------


def test_new_flow_row_is_aligned_like_its_neighbours() -> None:
    """A roster row is added in sorted position, `{` and `k8s_user` at the columns the other
    rows share; nothing else changes."""
    row = {"authentik_user": "bea.x", "k8s_user": "bea", "tier": "power-user"}
    new = yaml_edit.assign(ROSTER, ["users", "bea"], row)
    assert changed_lines(ROSTER, new) == [("insert", 5, 5, 5, 6)]
    assert (
        new.splitlines()[5]
        == "  bea:    {authentik_user: bea.x,    k8s_user: bea,  tier: power-user}"
    )


def test_new_block_entry_follows_the_file_style() -> None:
    """A k8s_users entry is block, its lists and quota flow, its quantities double-quoted as
    every other entry's are."""
    entry = {
        "role": "namespace-owner",
        "email": "f@example.org",
        "namespaces": ["f"],
        "quota": {"pods": "10", "memory_limits": "4Gi"},
    }
    new = yaml_edit.assign(K8S, ["fynn"], entry)
    assert new.startswith(K8S[: K8S.index("# Cluster-only")])
    added = new[len(K8S) :] if new.startswith(K8S) else new.split("network: [monitoring]\n", 1)[1]
    assert (
        'fynn:\n  role: namespace-owner\n  email: f@example.org\n  namespaces: [f]\n  quota: {pods: "10", memory_limits: "4Gi"}\n'
        in added
    )
    assert [op[0] for op in changed_lines(K8S, new)] == ["insert"]


def test_delete_takes_the_entry_comment_above_and_keeps_the_header() -> None:
    """Deleting gabi removes the comment about gabi; deleting ada keeps the file's header."""
    without_gabi = yaml_edit.delete(K8S, ["gabi"])
    assert "Cluster-only" not in without_gabi
    assert without_gabi == K8S[: K8S.index("# Cluster-only")]
    without_ada = yaml_edit.delete(K8S, ["ada"])
    assert without_ada.startswith("# Cluster users, keyed by user key")
    assert "ada@example.org" not in without_ada


def test_comment_out_writes_the_seed_form() -> None:
    """An offboarded row is `# ` over the two columns before its key, under a dated note."""
    new = yaml_edit.comment_out(
        ROSTER, ["users", "emil"], "REMOVED 2026-09-01 (left) -- reversible cut"
    )
    assert (
        "  #  REMOVED 2026-09-01 (left) -- reversible cut\n# emil:   {authentik_user: emil.s,"
        in new
    )
    assert "emil" not in (data(new)["users"])


def test_scalar_change_keeps_quotes_and_inner_comments() -> None:
    """A changed quota keeps its double quotes; the comment inside cleo's entry stays."""
    new = yaml_edit.assign(K8S, ["cleo", "quota", "cpu_requests"], "3")
    assert '  quota: {cpu_requests: "3", memory_requests: "4Gi"' in new
    assert "# Prometheus scrapes cleo's pods." in new
    assert len(changed_lines(K8S, new)) == 1


def test_block_list_keeps_kept_items_and_empties_to_brackets() -> None:
    """A block sequence loses and gains items line by line; emptied, it becomes `[]`."""
    text = dedent(
        """
        a:
          ns:
            - x   # the first
            - y
        """
    )
    assert (
        yaml_edit.assign(text, ["a", "ns"], ["x", "z"])
        == "a:\n  ns:\n    - x   # the first\n    - z\n"
    )
    assert yaml_edit.assign(text, ["a", "ns"], []) == "a:\n  ns: []\n"


def test_missing_mappings_are_created() -> None:
    """`quarantine:` is added at the end when absent, and its entries in flow as the file's
    nested mappings are."""
    text = "version: 1\nrender:\n  dns: {target: x.example.org}\n"
    new = yaml_edit.assign(
        text, ["quarantine", "cleo"], {"tenant": "cleo", "since": "2026-09-01", "reason": "left"}
    )
    assert new == text + 'quarantine:\n  cleo: {tenant: cleo, since: "2026-09-01", reason: left}\n'


def test_rename_keeps_the_key_quoting() -> None:
    """A quoted key stays quoted the same way; its entry is untouched."""
    text = "'ada': {tier: admin}\nbrin: {tier: power-user}\n"
    assert (
        yaml_edit.rename(text, ["ada"], "ada2")
        == "'ada2': {tier: admin}\nbrin: {tier: power-user}\n"
    )


def test_bom_and_crlf_survive() -> None:
    """A file with a byte-order mark and CRLF line ends keeps both; new lines use CRLF."""
    text = "\ufeffa: 1\r\nb: 2\r\n"
    assert yaml_edit.assign(text, ["c"], 3) == "\ufeffa: 1\r\nb: 2\r\nc: 3\r\n"
    assert yaml_edit.delete(text, ["a"]) == "\ufeffb: 2\r\n"


@pytest.mark.parametrize("value", ["yes", "2026-09-01", "1e3", "a: b", "x #y", "", " lead", "on"])
def test_strings_a_reader_would_take_otherwise_are_quoted(value: str) -> None:
    """A string that YAML 1.1 or 1.2 would read as something else is quoted, and reads back."""
    text = yaml_edit.assign("a: 1\n", ["b"], value)
    assert data(text)["b"] == value
    assert text != f"a: 1\nb: {value}\n"


def test_a_mapping_inside_a_sequence_item_is_refused() -> None:
    """A layout the editor would have to rewrite around is an EditError, not a silent rewrite."""
    text = "items:\n  - name: a\n    tier: admin\n"
    with pytest.raises(yaml_edit.EditError):
        yaml_edit.delete(text, ["items", 0, "name"])


# --- properties ------------------------------------------------------------------------------

EDITS = ("tier", "parked", "namespaces", "quota", "drop-key", "rename", "comment-out", "delete")


@given(file=row_files(), pick=st.integers(0, 4), edit=st.sampled_from(EDITS), name=label)
def test_an_edit_of_one_row_changes_only_its_lines(
    file: RowFile, pick: int, edit: str, name: str
) -> None:
    """Whatever the edit of one row, every line outside it is unchanged (a removed row may take
    one blank line beside it), and the file reads back as the data edited."""
    key = file.keys[pick % len(file.keys)]
    lead, first, end = file.spans[key]
    before = rows(file, file.text)
    expected = {k: dict(v) for k, v in before.items()}
    low, high = first, end
    if edit == "tier":
        new = yaml_edit.assign(file.text, file.path(key, "tier"), "admin")
        expected[key]["tier"] = "admin"
    elif edit == "parked":
        new = yaml_edit.assign(file.text, file.path(key, "parked"), True)
        expected[key]["parked"] = True
    elif edit == "namespaces":
        old = before[key].get("namespaces") or []
        wanted = [name, *old[1:]]
        new = yaml_edit.assign(file.text, file.path(key, "namespaces"), wanted)
        expected[key]["namespaces"] = [n for n in old if n in wanted] + [
            n for n in wanted if n not in old
        ]
    elif edit == "quota":
        new = yaml_edit.assign(file.text, file.path(key, "quota", "pods"), "30")
        expected[key]["quota"] = {**(before[key].get("quota") or {}), "pods": "30"}
    elif edit == "drop-key":
        drop = next(k for k in before[key] if k != "tier") if len(before[key]) > 1 else None
        assume(drop is not None)
        new = yaml_edit.delete(file.text, file.path(key, drop))
        del expected[key][drop]
    elif edit == "rename":
        assume(name not in file.keys)
        new = yaml_edit.rename(file.text, file.path(key), name)
        expected = {name if k == key else k: v for k, v in expected.items()}
        assert list(rows(file, new)) == list(expected)
    else:
        if edit == "comment-out":
            new = yaml_edit.comment_out(
                file.text, file.path(key), "REMOVED 2026-09-01 -- reversible cut"
            )
        else:
            new = yaml_edit.delete(file.text, file.path(key))
            low, high = lead - 1, end + 1  # and a blank line beside it
            if len(file.keys) == 1 and file.nested:
                low = first - 1  # the last row of `users:` leaves `users: {}`
        del expected[key]
    assert rows(file, new) == expected
    assert only_within(file.text, new, low, high), changed_lines(file.text, new)


@given(file=row_files(), key=label, value=row_value())
def test_adding_a_row_only_adds_lines(file: RowFile, key: str, value: dict[str, Any]) -> None:
    """A new row is lines inserted and nothing else; the file reads back with the row."""
    assume(key not in file.keys)
    new = yaml_edit.assign(file.text, file.path(key), value)
    assert {op[0] for op in changed_lines(file.text, new)} == {"insert"}
    assert rows(file, new) == {**rows(file, file.text), key: value}
