"""The programme's ceiling for one grant, by currency: a typing error's guard (tester 192 F2, 208 F3). Pure: no I/O.

A money amount had only its digits bounded (12 before the point), so a direct grant of PEN 999,999,999,999.99 to one
neighbourhood organisation was recorded, and went into ``seed_funds_granted_pen``, the dashboard and the IATI file: an
extra zero or a pasted cell. The programme's seed funds are PEN 5,000 to 7,000 (the 2021 practice); its ceiling
(``FUNDING_GRANT_CEILING_PEN``, ``FUNDING_GRANT_CEILING_USD``: :class:`services.funding.settings.FundingSettings`) is set
well above, so that it refuses only what no grant of the programme could be, and a programme whose grants are larger
raises it.

One OSV's grant is the same thing whichever way it is made, so the ceiling bounds a grant made directly (``amount``), a
proposal's ``requested_amount`` and an approval's ``amount`` (tester 208 F3: a proposal of PEN 2,500,000.00 was
approved and granted, 25 times the ceiling). A grant made on an approved proposal is not checked again: the approval
bounds it, and the approval is at most the ceiling. The ceiling applies to new commands only: a proposal requested or
approved above it before the rule (or before the setting was lowered) still loads, and is granted within its approved
amount. A round's budget funds many OSVs, so the ceiling does not bound it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from shared.errors import RuleViolationError
from shared.money import Currency

DEFAULT_CEILINGS: Mapping[Currency, Decimal] = {Currency.PEN: Decimal("100000.00"), Currency.USD: Decimal("30000.00")}
"""PEN 100,000 (about fifteen of the 2021 practice's largest seed fund) and about as much in USD."""


class AboveGrantCeilingError(RuleViolationError):
    """422 ``at_most_grant_ceiling`` naming ``field`` (a grant's or an approval's ``amount``, a proposal's
    ``requested_amount``): more than the programme's ceiling for one grant in that currency."""

    def __init__(self, amount: Decimal, currency: Currency, ceiling: Decimal, field: str = "amount") -> None:
        super().__init__(
            f"{field} must be at most {ceiling:,.2f} {currency.value}, the programme's ceiling for one grant "
            f"(FUNDING_GRANT_CEILING_{currency.value}), not {amount:,.2f}: a typing error? A programme whose grants are "
            "larger raises the setting",
            field=field,
            rule="at_most_grant_ceiling",
        )


def check_grant_ceiling(
    amount: Decimal, currency: Currency, ceilings: Mapping[Currency, Decimal], field: str = "amount"
) -> None:
    """Raise :class:`AboveGrantCeilingError` naming ``field`` when ``amount`` (in ``currency``) is above its ceiling; a
    currency without one has none."""
    ceiling = ceilings.get(currency)
    if ceiling is not None and amount > ceiling:
        raise AboveGrantCeilingError(amount, currency, ceiling, field)
