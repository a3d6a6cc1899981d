"""Text, Markdown (a sticky PR comment) and JSON for `tenancy diff`. Pure: AuditDiff -> str."""

from __future__ import annotations

import json
from typing import Any

from tenancy.diff.changes import GUARDRAILS, LEVELS, RANK, AuditDiff, Change, Level

MARKER = "<!-- tenancy-diff -->"
#: Forgejo and GitHub reject comments over 65,536 characters; stay clear of it.
COMMENT_LIMIT = 65_000


def _count(n: int, one: str, many: str | None = None) -> str:
    """`1 error`, `2 errors`, `1 person`, `3 people`."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def _describe(change: Change) -> str:
    kind = change.kind
    if kind in ("k8s-gained", "vault-gained"):
        return f"gains {_value(change.after)} on {change.detail}"
    if kind in ("k8s-lost", "vault-lost"):
        return f"loses {_value(change.before)} on {change.detail}"
    if kind == "namespace-gained":
        if change.outcome == "from-quarantine":
            return (
                f"gains namespace {change.detail} out of quarantine (former tenant "
                f"{change.before or 'the same person'}), with the workloads and Secrets left in it"
            )
        moved = f" (moved from {change.before})" if change.before else ""
        return f"gains namespace {change.detail}{moved}"
    if kind == "namespace-lost":
        if change.after:
            return f"loses namespace {change.detail} (moved to {change.after})"
        return _lost(change)
    if kind == "person":
        return f"person {change.detail}"
    return f"{change.detail}: {_value(change.before)} -> {_value(change.after)}"


def _named(objects: tuple[str, ...], kinds: tuple[str, ...]) -> str:
    """`NetworkPolicy allow-dns, default-deny; ResourceQuota user-quota` for these kinds."""
    groups: dict[str, list[str]] = {}
    for item in objects:
        kind, _, name = item.partition("/")
        if kind in kinds:
            groups.setdefault(kind, []).append(name)
    return "; ".join(
        f"{kind} {', '.join(sorted(groups[kind]))}" for kind in kinds if kind in groups
    )


def _lost(change: Change) -> str:
    """What the sync does to a namespace that leaves the render: never pruned (the rendered
    annotations), so it stays with its workloads, quarantined or with no guardrails."""
    ns = change.detail
    bindings = _named(change.pruned, ("RoleBinding",))
    access = f" and the owner's {bindings} goes" if bindings else ""
    if change.outcome == "quarantined":
        gone = _named(change.pruned, (*GUARDRAILS, "RoleBinding"))
        pruned = f" ({gone} pruned)" if gone else ""
        return (
            f"namespace {ns} moved into quarantine: its workloads keep running with no network "
            f"(ingress and egress denied) and no new pods (a quota of zeros), and the owner "
            f"loses all access{pruned}"
        )
    guards = _named(change.pruned, GUARDRAILS) or "its NetworkPolicies, quotas and LimitRange"
    return (
        f"namespace {ns} removed: the sync keeps the Namespace and its workloads (prune "
        f"disabled) but prunes its guardrails ({guards}){access}: the workloads run on "
        f"unguarded; add it to quarantine in tenancy.yaml, or retire it (delete the namespace "
        f"by hand)"
    )


#: Low-severity changes shown per person before the rest are counted (all are in --format json
#: and with `tenancy diff --all`).
LOW_SHOWN = 3


def fold(changes: tuple[Change, ...], *, low_shown: int | None = LOW_SHOWN) -> list[str]:
    """Readable lines for one person, most severe first: grants inside a namespace they just
    gained or lost are one line (the namespace change carries the risk, unless a grant is
    riskier on its own), and low changes past `low_shown` are counted (None: all are shown).
    Every change is still in the JSON output."""
    moved = {c.detail for c in changes if c.kind in ("namespace-gained", "namespace-lost")}
    folded: dict[tuple[Level, str, str], int] = {}
    lines: list[tuple[int, str]] = []
    low = 0
    grants = ("k8s-gained", "k8s-lost", "vault-gained", "vault-lost")
    for change in sorted(changes, key=lambda c: (RANK[c.severity], c.kind in grants)):
        scope = (
            change.detail.rsplit(" in namespace ", 1)[-1]
            if " in namespace " in change.detail
            else None
        )
        if (
            change.kind in ("k8s-gained", "k8s-lost")
            and scope in moved
            and RANK[change.severity] >= RANK["medium"]
        ):
            verb = "gains" if change.kind == "k8s-gained" else "loses"
            key = (change.severity, verb, str(scope))
            folded[key] = folded.get(key, 0) + 1
            continue
        if change.severity == "low":
            low += 1
            if low_shown is not None and low > low_shown:
                continue
        lines.append((RANK[change.severity], f"[{change.severity}] {_describe(change)}"))
    for (level, verb, scope), count in sorted(folded.items()):
        many = _count(count, "grant")
        lines.append(
            (RANK[level], f"[{level}] {verb} {many} of the owner role in namespace {scope}")
        )
    # Stable: within one severity the changes keep their order, folded grants after them.
    out = [line for _, line in sorted(lines, key=lambda entry: entry[0])]
    if low_shown is not None and low > low_shown:
        hidden = _count(low - low_shown, "more low-severity change")
        out.append(f"[low] and {hidden} (`tenancy diff --all` shows every change)")
    return out


def summary_line(result: AuditDiff) -> str:
    counts = dict.fromkeys(LEVELS, 0)
    for changes in result.people.values():
        for change in changes:
            counts[change.severity] += 1
    for other in result.other:
        counts[other.severity] += 1
    shown = ", ".join(f"{n} {level}" for level, n in counts.items() if n)
    worst = result.max_severity or "none"
    return (
        f"tenancy diff {result.base}..{result.head}: "
        f"{_count(len(result.people), 'person', 'people')} affected, "
        f"max severity {worst}" + (f" ({shown})" if shown else "")
    )


def text(result: AuditDiff, *, everything: bool = False) -> str:
    """The diff for a terminal, most severe first: people by their worst change (then by
    name), each person's changes by severity, the other changes by severity. `everything`
    (`--all`) shows every low change instead of counting those past a few."""
    out = [summary_line(result)]
    for label, problems in result.problems.items():
        out.append(f"{label} does not validate:")
        out += [f"  {p}" for p in problems]
    people = sorted(
        result.people.items(),
        key=lambda item: (
            min(RANK[c.severity] for c in item[1]) if item[1] else len(RANK),
            item[0],
        ),
    )
    for person, changes in people:
        out.append(f"{person}")
        out += [f"  {line}" for line in fold(changes, low_shown=None if everything else LOW_SHOWN)]
    if result.other:
        out.append("other changes")
        for other in sorted(result.other, key=lambda o: RANK[o.severity]):
            affects = f" (affects: {', '.join(other.affects)})" if other.affects else ""
            out.append(f"  [{other.severity:<8}] {other.detail}: {other.path}{affects}")
    return "\n".join(out) + "\n"


def as_json(result: AuditDiff) -> str:
    document = {
        "version": 1,
        "base": result.base,
        "head": result.head,
        "people": [
            {
                "id": person,
                "changes": [
                    {
                        "kind": c.kind,
                        "detail": c.detail,
                        "before": c.before,
                        "after": c.after,
                        "severity": c.severity,
                        # Only on namespace changes: what the sync does with the namespace.
                        **({"outcome": c.outcome, "pruned": list(c.pruned)} if c.outcome else {}),
                    }
                    for c in changes
                ],
            }
            for person, changes in result.people.items()
        ],
        "other": [
            {
                "kind": o.kind,
                "detail": o.detail,
                "path": o.path,
                "severity": o.severity,
                "affects": list(o.affects),
            }
            for o in result.other
        ],
        "max_severity": result.max_severity,
        "problems": {k: list(v) for k, v in result.problems.items()},
    }
    return json.dumps(document, indent=2) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(result: AuditDiff, limit: int = COMMENT_LIMIT, *, everything: bool = False) -> str:
    """A PR comment: summary on top, a table per person, findings, the raw diff collapsed.

    Sections are added while they fit under `limit`; whatever does not fit is named in a
    closing note, so the comment stays valid Markdown (no unclosed fence or details).
    """
    head = [MARKER, f"### {summary_line(result)}", ""]
    if result.empty:
        head.append("No change to anyone's access.")
    for label, problems in result.problems.items():
        head += [f"> **{label} does not validate** ({_count(len(problems), 'error')}):", ">"]
        head += [f"> `{_cell(p)}`" for p in problems[:20]]
        head.append("")
    sections: list[str] = []
    if result.people:
        rows = ["| person | changes | max severity |", "|---|---:|---|"]
        for person, changes in result.people.items():
            worst = min((c.severity for c in changes), key=RANK.__getitem__)
            rows.append(f"| `{person}` | {len(changes)} | **{worst}** |")
        sections.append("\n".join(rows) + "\n")
    for person, changes in result.people.items():
        rows = [f"#### `{person}`", "", "| severity | change |", "|---|---|"]
        for line in fold(changes, low_shown=None if everything else LOW_SHOWN):
            level, _, text = line[1:].partition("] ")
            rows.append(f"| {level} | {_cell(text)} |")
        sections.append("\n".join(rows) + "\n")
    findings = [
        (c.severity, f"`{person}`: {_describe(c)}")
        for person, changes in result.people.items()
        for c in changes
        if RANK[c.severity] <= RANK["high"]
    ]
    findings += [
        (
            o.severity,
            f"{o.detail} (`{o.path}`)" + (f", affects {', '.join(o.affects)}" if o.affects else ""),
        )
        for o in result.other
    ]
    if findings:
        rows = ["#### Findings by severity", ""]
        rows += [
            f"- **{level}** {_cell(text)}"
            for level, text in sorted(findings, key=lambda f: RANK[f[0]])
        ]
        sections.append("\n".join(rows) + "\n")
    if result.manifest_diff:
        fence = "````" if "```" in result.manifest_diff else "```"
        sections.append(
            "<details><summary>Rendered manifest diff</summary>\n\n"
            f"{fence}diff\n{result.manifest_diff}{fence}\n\n</details>\n"
        )
    out = "\n".join(head) + "\n"
    dropped = 0
    for section in sections:
        if len(out) + len(section) + 200 > limit:
            dropped += 1
            continue
        out += section + "\n"
    if dropped:
        out += (
            f"_{dropped} section(s) left out to stay under {limit:,} characters; "
            "run `tenancy diff` locally for all of it._\n"
        )
    return out
