"""Kubernetes quantities as exact decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tenancy.quantity import parse, smaller


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
