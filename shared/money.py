"""Money, defined once: a Decimal to the cent beside its currency, never a float. Pure.

Every amount a service records goes through :func:`check_money`; the HTTP
side reads and writes it as a decimal string (:mod:`shared.schemas`).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from shared.errors import NotPositiveError, RuleViolationError

CENT = Decimal("0.01")


class Currency(StrEnum):
    PEN = "PEN"
    USD = "USD"


class FractionOfCentError(RuleViolationError):
    def __init__(self, amount: Decimal, field: str = "amount") -> None:
        super().__init__(f"{field} {amount} has more than 2 decimal places: money is kept to the cent", field=field, rule="whole_cents")


class NotDecimalError(TypeError):
    """Money reached the domain as something other than a Decimal: a bug, never the user's input."""

    def __init__(self, amount: object) -> None:
        super().__init__(f"money must be a Decimal, not {type(amount).__name__} {amount!r}")


def check_money(amount: Decimal, field: str = "amount") -> Decimal:
    """A positive Decimal to the cent, returned with exactly two places ("1500.50")."""
    if not isinstance(amount, Decimal):
        raise NotDecimalError(amount)
    if amount <= 0:
        raise NotPositiveError(field, amount)
    if amount != amount.quantize(CENT):
        raise FractionOfCentError(amount, field)
    return amount.quantize(CENT)


def money(amount: Decimal, currency: str) -> str:
    """An amount as messages write it: ``PEN 1500.00``."""
    return f"{currency} {amount.quantize(CENT)}"
