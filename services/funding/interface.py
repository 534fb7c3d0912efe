"""Funding's public events: what partners and the other services see of it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from services.funding.domainmodel import Grant, Phase
from shared.events import EventCatalogue, PublicEvent

catalogue = EventCatalogue("funding")


@catalogue.publishes(Phase.PhaseOpened)
class PhaseOpened(PublicEvent):
    """A programme phase was opened; indicators are reported per phase."""

    id_field: ClassVar[str] = "phase_id"
    occurred_field: ClassVar[str] = "starts_on"

    phase_id: UUID
    code: str
    name: str
    starts_on: date
    ends_on: date


@catalogue.publishes(Grant.FundGranted)
class FundGranted(PublicEvent):
    """An OSV was granted support: a seed fund or goods, valued in a currency."""

    id_field: ClassVar[str] = "grant_id"
    occurred_field: ClassVar[str] = "granted_on"

    grant_id: UUID
    osv_id: UUID
    amount: Decimal = Field(description="Decimal string, e.g. \"1500.00\".")
    currency: str = Field(description="PEN or USD.")
    kind: str = Field(description="seed_fund or goods.")
    granted_on: date
