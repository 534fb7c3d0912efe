"""Funding's domain: programme phases and the grants (seed funds, goods) given to OSVs.

Pure: aggregates, the events they record and the named errors of their rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.errors import ConflictError, NotFoundError, RuleViolationError


CENT = Decimal("0.01")


class GrantKind(StrEnum):
    SEED_FUND = "seed_fund"
    GOODS = "goods"


class Currency(StrEnum):
    PEN = "PEN"
    USD = "USD"


class PhaseCodeTakenError(ConflictError):
    def __init__(self, code: str) -> None:
        super().__init__(f"a phase with code '{code}' already exists", field="code", rule="unique_code")


class PhaseDatesError(RuleViolationError):
    def __init__(self, starts_on: date, ends_on: date) -> None:
        super().__init__(
            f"ends_on {ends_on.isoformat()} is before starts_on {starts_on.isoformat()}",
            field="ends_on",
            rule="not_before_starts_on",
        )


class PhasesOverlapError(RuleViolationError):
    def __init__(self, other: Phase) -> None:
        super().__init__(
            f"the dates overlap phase '{other.code}' ({other.starts_on.isoformat()} to {other.ends_on.isoformat()})",
            field="starts_on",
            rule="phases_do_not_overlap",
        )


class PhaseNotFoundError(NotFoundError):
    def __init__(self, phase_id: object) -> None:
        super().__init__(f"phase {phase_id} does not exist")


class GrantNotFoundError(NotFoundError):
    def __init__(self, grant_id: object) -> None:
        super().__init__(f"grant {grant_id} does not exist")


class NonPositiveAmountError(RuleViolationError):
    def __init__(self, amount: Decimal) -> None:
        super().__init__(f"amount must be greater than 0, not {amount}", field="amount", rule="greater_than_0")


class Phase(Aggregate):
    """A phase of the programme: the unit indicators are reported by."""

    @staticmethod
    def create_id(code: str, **_: object) -> UUID:
        return Phase.id_for(code)

    @staticmethod
    def id_for(code: str) -> UUID:
        """Phase ids follow from their codes, so a code can only be used once."""
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:phase:{code}")

    @event("PhaseOpened")
    def __init__(self, code: str, name: str, starts_on: date, ends_on: date) -> None:
        self.code = code
        self.name = name
        self.starts_on = starts_on
        self.ends_on = ends_on

    def overlaps(self, starts_on: date, ends_on: date) -> bool:
        return starts_on <= self.ends_on and self.starts_on <= ends_on


def open_phase(code: str, name: str, starts_on: date, ends_on: date, existing: Iterable[Phase]) -> Phase:
    """Open a phase if its dates are in order and overlap no other phase."""
    if ends_on < starts_on:
        raise PhaseDatesError(starts_on, ends_on)
    for other in existing:
        if other.code == code:
            raise PhaseCodeTakenError(code)
        if other.overlaps(starts_on, ends_on):
            raise PhasesOverlapError(other)
    return Phase(code=code, name=name, starts_on=starts_on, ends_on=ends_on)


class Grant(Aggregate):
    """Support given to an OSV: a seed fund (money) or goods, valued in a currency."""

    @event("FundGranted")
    def __init__(self, osv_id: UUID, amount: Decimal, currency: Currency, granted_on: date, kind: GrantKind) -> None:
        self.osv_id = osv_id
        self.amount = amount
        self.currency = currency
        self.granted_on = granted_on
        self.kind = kind


def grant_fund(osv_id: UUID, amount: Decimal, currency: Currency, granted_on: date, kind: GrantKind) -> Grant:
    """Grant support to an OSV; the amount must be positive."""
    if amount <= 0:
        raise NonPositiveAmountError(amount)
    return Grant(osv_id=osv_id, amount=amount.quantize(CENT), currency=currency, granted_on=granted_on, kind=kind)
