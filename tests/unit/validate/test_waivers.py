"""Waivers: owner, reason and expiry required; expired and unused waivers are findings."""

from __future__ import annotations

import datetime

from tenancy.errors import Diagnostic, Location
from tenancy.inputs.load import parse_yaml
from tenancy.validate.waivers import apply
from tests.conftest import dedent

TODAY = datetime.date(2026, 11, 28)


def finding(
    code: str = "quota-over-ceiling", subject: str = "k8s_users.dara.quota.pods"
) -> Diagnostic:
    return Diagnostic(
        location=Location("k8s_users.yaml", 17, 3),
        severity="error",
        code=code,
        message="m",
        source="policy",
        subject=subject,
    )


def waivers(text: str) -> object:
    document, problems = parse_yaml("waivers.yaml", dedent(text))
    assert document is not None, problems
    return document


def run(text: str, *found: Diagnostic) -> list[tuple[str, str, bool]]:
    out = apply(list(found), waivers(text), TODAY)  # type: ignore[arg-type]
    return [(d.code, str(d.location), d.waived) for d in out]


VALID = """
waivers:
  - code: quota-over-ceiling
    target: k8s_users.dara
    owner: platform-team
    reason: ML workload, approved in PLAT-42
    expires: 2027-01-31
"""


def test_matching_waiver_marks_the_finding_waived() -> None:
    """A live waiver on a target prefix waives the finding; it stays in the report."""
    assert run(VALID, finding()) == [("quota-over-ceiling", "k8s_users.yaml:17:3", True)]


def test_waiver_hint_names_owner_and_expiry() -> None:
    """The waived finding says who accepted it and until when."""
    (out,) = apply([finding()], waivers(VALID), TODAY)  # type: ignore[arg-type]
    assert out.hint == "waived until 2027-01-31 by platform-team: ML workload, approved in PLAT-42"


def test_other_code_or_target_is_not_waived_and_waiver_is_unused() -> None:
    """A waiver only covers its code and target; an unmatched waiver is a warning at its row."""
    result = run(VALID, finding(subject="k8s_users.cleo.quota.pods"))
    assert result == [
        ("quota-over-ceiling", "k8s_users.yaml:17:3", False),
        ("waiver-unused", "waivers.yaml:2:5", False),
    ]


def test_expired_waiver_is_an_error_and_waives_nothing() -> None:
    """After its expiry date a waiver is an error at the date, and the finding is back."""
    text = VALID.replace("2027-01-31", "2026-11-27")
    assert run(text, finding()) == [
        ("waiver-expired", "waivers.yaml:6:14", False),
        ("quota-over-ceiling", "k8s_users.yaml:17:3", False),
    ]


def test_ownerless_waiver_is_an_error() -> None:
    """owner is required: no anonymous exceptions."""
    text = VALID.replace("    owner: platform-team\n", "")
    assert ("schema-required", "waivers.yaml:2:5", False) in run(text, finding())


def test_schema_findings_cannot_be_waived() -> None:
    """Only policy findings are waivable."""
    structural = Diagnostic(
        location=Location("k8s_users.yaml", 1, 1),
        severity="error",
        code="quota-over-ceiling",
        message="m",
        source="schema",
        subject="k8s_users.dara",
    )
    assert run(VALID, structural)[0][2] is False


def test_roster_target_may_omit_users() -> None:
    """roster.brin is shorthand for roster.users.brin."""
    text = VALID.replace("k8s_users.dara", "roster.brin").replace(
        "quota-over-ceiling", "tier-mismatch"
    )
    assert run(text, finding("tier-mismatch", "roster.users.brin.tier"))[0][2] is True


def test_invalid_date_is_reported() -> None:
    """An impossible date is a positioned schema finding."""
    text = VALID.replace("2027-01-31", "2027-13-45")
    assert ("schema-format", "waivers.yaml:6:14", False) in run(text, finding())
