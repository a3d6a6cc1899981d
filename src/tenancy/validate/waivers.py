"""Waivers: accepted exceptions with an owner, a reason and an expiry. Pure (today is given).

A waiver marks matching policy findings `waived` (reported and counted apart, never hidden).
The waiver file audits itself: an expired waiver is an error at its own position (and no longer
waives anything), and a waiver that matches no finding is a warning, so stale entries surface.
Only policy findings can be waived; YAML and schema errors mean the input cannot be read right.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from tenancy.errors import Diagnostic
from tenancy.inputs.load import Document
from tenancy.validate import schema


def apply(
    diagnostics: Sequence[Diagnostic], document: Document | None, today: datetime.date
) -> list[Diagnostic]:
    """Mark waived findings and add the waiver file's own findings."""
    if document is None:
        return list(diagnostics)
    problems = schema.check(document, "waivers")
    if problems:
        return [*diagnostics, *problems]
    entries: list[dict[str, Any]] = (document.data or {}).get("waivers") or []
    used = [False] * len(entries)
    active = []
    out: list[Diagnostic] = []
    for index, waiver in enumerate(entries):
        expires = datetime.date.fromisoformat(waiver["expires"])
        if expires < today:
            out.append(
                Diagnostic(
                    location=document.locate(["waivers", index, "expires"], at="value"),
                    severity="error",
                    code="waiver-expired",
                    message=(
                        f"waiver for {waiver['code']} on {waiver['target']} (owner "
                        f"{waiver['owner']}) expired on {waiver['expires']}"
                    ),
                    hint="renew it with a new date and reason, or fix the finding and delete it",
                    source="waivers",
                )
            )
        else:
            active.append(index)
    for diagnostic in diagnostics:
        match = (
            next((i for i in active if _matches(entries[i], diagnostic)), None)
            if diagnostic.source == "policy"
            else None
        )
        if match is None:
            out.append(diagnostic)
            continue
        used[match] = True
        waiver = entries[match]
        out.append(
            replace(
                diagnostic,
                waived=True,
                hint=f"waived until {waiver['expires']} by {waiver['owner']}: {waiver['reason']}",
            )
        )
    for index in active:
        if not used[index]:
            waiver = entries[index]
            out.append(
                Diagnostic(
                    location=document.locate(["waivers", index]),
                    severity="warning",
                    code="waiver-unused",
                    message=f"waiver for {waiver['code']} on {waiver['target']} matches no finding",
                    hint="the finding is gone: delete the waiver",
                    source="waivers",
                )
            )
    return out


def _matches(waiver: dict[str, Any], diagnostic: Diagnostic) -> bool:
    if diagnostic.code != waiver["code"] or diagnostic.subject is None:
        return False
    target = waiver["target"].split(".")
    subject = diagnostic.subject.split(".")
    # roster targets may omit the `users` level: roster.brin means roster.users.brin
    if subject[:2] == ["roster", "users"] and target[:2] != ["roster", "users"]:
        target = ["roster", "users", *target[1:]]
    return bool(subject[: len(target)] == target)
