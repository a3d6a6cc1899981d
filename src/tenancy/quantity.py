"""Kubernetes resource quantities as exact decimals. Pure.

Used where Python must compare or combine quantities (LimitRange clamping, quota deltas in
`diff`); the policies do the same with Rego's units builtins.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_QUANTITY = re.compile(
    r"^\+?(?P<number>[0-9]+(\.[0-9]*)?|\.[0-9]+)(?P<suffix>[eE][-+]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}


def parse(text: str) -> Decimal | None:
    """The quantity's value in base units, or None when it is not a quantity."""
    match = _QUANTITY.match(text.strip())
    if match is None:
        return None
    try:
        number = Decimal(match.group("number"))
    except InvalidOperation:  # pragma: no cover - the regex admits only decimals
        return None
    suffix = match.group("suffix") or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    return number * (Decimal(10) ** int(suffix[1:]))


def smaller(a: str, b: str) -> str:
    """The smaller of two quantities, as written (a wins ties and unparsable input)."""
    left, right = parse(a), parse(b)
    if left is None or right is None:
        return a
    return b if right < left else a
