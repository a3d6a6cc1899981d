"""diff_report.py: the text and Markdown of `tenancy diff`, read by people."""

from __future__ import annotations

from tenancy.diff.changes import AuditDiff, Change, Other
from tenancy.diff.report import fold, markdown, summary_line, text


def change(severity: str, detail: str, kind: str = "quota") -> Change:
    return Change(kind=kind, detail=detail, before="1", after="2", severity=severity)  # type: ignore[arg-type]


def audit(people: dict[str, tuple[Change, ...]], other: tuple[Other, ...] = ()) -> AuditDiff:
    return AuditDiff(base="a", head="b", people=people, other=other, manifest_diff="")


def test_counts_are_singular_or_plural() -> None:
    """`1 person affected`, `3 people affected`; `(1 error)` where one side does not validate."""
    one = audit({"ada": (change("low", "pods"),)})
    assert ": 1 person affected," in summary_line(one)
    many = audit({p: (change("low", "pods"),) for p in ("ada", "brin", "cleo")})
    assert ": 3 people affected," in summary_line(many)
    broken = AuditDiff(
        base="a", head="b", people={}, other=(), manifest_diff="", problems={"b": ("x",)}
    )
    assert "(1 error):" in markdown(broken)


def test_text_puts_the_most_severe_first() -> None:
    """People by their worst change (critical first), each person's changes by severity, and
    the other changes by severity."""
    result = audit(
        {
            "ada": (change("low", "pods"), change("medium", "cpu")),
            "zoe": (change("low", "memory"), change("critical", "secrets")),
        },
        other=(
            Other(kind="policy", detail="p1", path="x", severity="low"),
            Other(kind="policy", detail="p2", path="y", severity="high"),
        ),
    )
    lines = text(result).splitlines()
    assert lines[1:7] == [
        "zoe",
        "  [critical] secrets: 1 -> 2",
        "  [low] memory: 1 -> 2",
        "ada",
        "  [medium] cpu: 1 -> 2",
        "  [low] pods: 1 -> 2",
    ]
    assert lines[-2].startswith("  [high    ] p2") and lines[-1].startswith("  [low     ] p1")


def test_the_low_changes_past_a_few_are_counted_and_all_shows_them() -> None:
    """The count says how to see the rest; `--all` (everything) shows every change."""
    changes = tuple(change("low", f"item{i:02}") for i in range(21))
    shown = fold(changes)
    assert len(shown) == 4
    assert (
        shown[-1]
        == "[low] and 18 more low-severity changes (`tenancy diff --all` shows every change)"
    )
    assert fold(changes[:4])[-1] == (
        "[low] and 1 more low-severity change (`tenancy diff --all` shows every change)"
    )
    everything = text(audit({"ada": changes}), everything=True)
    assert "item20" in everything and "more low-severity" not in everything
    assert "item20" in markdown(audit({"ada": changes}), everything=True)
