"""Kubernetes quantities as exact decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tenancy.quantity import parse, seconds, smaller


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2", Decimal(2)),
        ("500m", Decimal("0.5")),
        ("4Gi", Decimal(4 * 2**30)),
        ("4G", Decimal(4 * 10**9)),
        ("1e3", Decimal(1000)),
        (".5", Decimal("0.5")),
        ("+1Ki", Decimal(1024)),
    ],
)
def test_parse(text: str, value: Decimal) -> None:
    """Binary, decimal and exponent suffixes parse exactly."""
    assert parse(text) == value


@pytest.mark.parametrize("text", ["", "two", "8 gigs", "-1", "1.2.3", "4gi", "Gi"])
def test_not_quantities(text: str) -> None:
    """Anything else is not a quantity."""
    assert parse(text) is None


def test_smaller_keeps_the_written_form() -> None:
    """smaller() compares values but returns the text as written."""
    assert smaller("4Gi", "8G") == "4Gi"
    assert smaller("8Gi", "4096Mi") == "4096Mi"
    assert smaller("1", "1000m") == "1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1h", 3600), ("30m", 1800), ("1h30m", 5400), ("90s", 90), (3600, 3600), ("45", 45)],
)
def test_seconds_reads_go_durations(text: object, expected: int) -> None:
    """TTLs are compared in seconds, the way the server returns them."""
    assert seconds(text) == expected


@pytest.mark.parametrize("text", ["", "1d", "h", "1h x", True])
def test_seconds_rejects_other_text(text: object) -> None:
    """Anything but a Go duration or a number is an error."""
    with pytest.raises(ValueError, match="duration"):
        seconds(text)
