"""An amount as a merchant's staff type it, checked the same way for every gateway: plain digits,
positive, within a gateway's digits before and after the point, never rounded.

Each SDK gives its own bounds and turns ``AmountRefused`` into its own field error (the reasons
are catalogue text: the shop shows them translated).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

#: How an amount is written: digits with an optional decimal point (no exponent, no separators,
#: no digits of other scripts, which ``Decimal`` would all take).
PLAIN_AMOUNT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


class AmountRefused(ValueError):
    """Why an amount is refused: ``reason`` (``%(name)s`` placeholders) and its ``values``."""

    def __init__(self, reason: str, **values: Any) -> None:
        super().__init__(reason % values if values else reason)
        self.reason, self.values = reason, values


def amount_digits(amount: Decimal) -> tuple[int, int]:
    """(digits before the point, decimal places) of a finite amount, counted exactly (no context
    rounding; trailing zeros after the point do not count): ``12.50`` -> (2, 1), ``1E+3`` -> (4, 0)."""
    _, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"{amount} is not a finite amount")
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return 0, 0
    exponent += len(digits) - len(significant)
    return max(len(significant) + exponent, 0), max(-exponent, 0)


def plain_amount(value: Any, *, integer_digits: int, decimal_places: int) -> Decimal:
    """``value`` (text or ``Decimal``) as a positive ``Decimal``, exactly as given, with at most
    ``integer_digits`` before the point and ``decimal_places`` after it; text must be plain digits
    (``1e3`` is refused, not read as 1000); floats are refused. Raises AmountRefused."""
    if isinstance(value, (float, bool)):
        raise AmountRefused("must be a decimal string, not a float")
    if isinstance(value, Decimal):
        amount = value
    else:
        text = str(value).strip() if value is not None else ""
        if not text:
            raise AmountRefused("is required")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise AmountRefused("%(text)r is not a number", text=text[:40]) from None
        if amount.is_finite() and not PLAIN_AMOUNT.fullmatch(text):
            raise AmountRefused("must be plain digits with an optional decimal point (no exponent)")
    if not amount.is_finite():
        raise AmountRefused("is not a finite number")
    if amount <= 0:
        raise AmountRefused("must be greater than zero")
    before, places = amount_digits(amount)
    if places > decimal_places:
        raise AmountRefused("has more than %(places)s decimal places", places=decimal_places)
    if before > integer_digits:
        raise AmountRefused("is too large: at most %(digits)s digits before the decimal point", digits=integer_digits)
    return amount
