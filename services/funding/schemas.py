"""Funding's request and response bodies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints, field_serializer

from services.funding.domainmodel import Currency, Grant, GrantKind, Phase
from shared.schemas import Command, IsoDate, Money, Text

PhaseCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30, pattern=r"^[A-Za-z0-9._-]+$")]


class PhaseCreate(Command):
    code: PhaseCode = Field(description="Short unique code, e.g. `F1` (letters, digits, `.`, `_`, `-`).")
    name: Text
    starts_on: IsoDate
    ends_on: IsoDate = Field(description="Last day of the phase, not before `starts_on`.")


class PhasePublic(BaseModel):
    id: UUID
    code: str
    name: str
    starts_on: date
    ends_on: date

    @classmethod
    def of(cls, phase: Phase) -> PhasePublic:
        return cls(id=phase.id, code=phase.code, name=phase.name, starts_on=phase.starts_on, ends_on=phase.ends_on)


class GrantCreate(Command):
    osv_id: UUID = Field(description="An OSV that registry has mapped.")
    amount: Money
    currency: Currency
    granted_on: IsoDate
    kind: GrantKind = Field(description="`seed_fund` (money) or `goods`.")


class GrantPublic(BaseModel):
    id: UUID
    osv_id: UUID
    amount: Decimal
    currency: Currency
    granted_on: date
    kind: GrantKind

    @field_serializer("amount")
    def _amount_as_text(self, amount: Decimal) -> str:
        return f"{amount:.2f}"

    @classmethod
    def of(cls, grant: Grant) -> GrantPublic:
        return cls(
            id=grant.id,
            osv_id=grant.osv_id,
            amount=grant.amount,
            currency=grant.currency,
            granted_on=grant.granted_on,
            kind=grant.kind,
        )
