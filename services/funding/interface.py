"""Funding's public events: what partners and the other services see of it.

Money goes out as a decimal string with two places ("1500.00") beside its
currency, never as a JSON number. The indexes funding keeps to answer quickly
(an OSV's support history, its participatory-budget submissions) are
bookkeeping and never leave the service.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.funding.budgets import BudgetOutcome, OSVParticipatoryBudgets, ParticipatoryBudgetSubmission
from services.funding.domainmodel import Currency, Grant, GrantOutcome, Phase, SupportHistory, Support
from services.funding.schemas import MoneyText
from shared.events import EventCatalogue, PublicEvent

catalogue = EventCatalogue("funding")

catalogue.keeps_private(
    SupportHistory.SupportHistoryOpened,
    SupportHistory.SupportRecorded,
    OSVParticipatoryBudgets.ParticipatoryBudgetIndexOpened,
    OSVParticipatoryBudgets.ParticipatoryBudgetIndexed,
)


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


class DeliveredItemData(BaseModel):
    """One line of a goods delivery."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str = Field(description="What was handed over.")
    quantity: int = Field(ge=1)
    unit_value: MoneyText


@catalogue.publishes(Grant.GoodsDelivered)
class GoodsDelivered(PublicEvent):
    """Goods of a goods grant were handed over to the OSV; their total never exceeds the grant."""

    id_field: ClassVar[str] = "grant_id"
    occurred_field: ClassVar[str] = "delivered_on"

    grant_id: UUID
    osv_id: UUID
    delivery_id: UUID
    items: list[DeliveredItemData]
    total_value: MoneyText = Field(description="Σ quantity × unit_value, in `currency`.")
    currency: Currency
    delivered_on: date


@catalogue.publishes(Grant.DisbursementMade)
class DisbursementMade(PublicEvent):
    """A tranche of a seed fund was paid to the OSV; tranches are numbered 1, 2, 3… and never exceed the grant."""

    id_field: ClassVar[str] = "grant_id"
    occurred_field: ClassVar[str] = "disbursed_on"

    grant_id: UUID
    osv_id: UUID
    disbursement_id: UUID
    tranche: int = Field(ge=1)
    amount: MoneyText
    currency: Currency
    disbursed_on: date


@catalogue.publishes(Grant.GrantClosed)
class GrantClosed(PublicEvent):
    """A grant was closed with its outcome and the reference of its final report; nothing is recorded on it after."""

    id_field: ClassVar[str] = "grant_id"
    occurred_field: ClassVar[str] = "closed_on"

    grant_id: UUID
    osv_id: UUID
    outcome: GrantOutcome
    final_report_reference: str = Field(description="The final report's filing reference, e.g. `INF-2021-017`.")
    closed_on: date


@catalogue.publishes(ParticipatoryBudgetSubmission.ParticipatoryBudgetSubmitted)
class ParticipatoryBudgetSubmitted(PublicEvent):
    """A RUOS-registered OSV submitted a project to a municipality's participatory budget (one per municipality and year)."""

    id_field: ClassVar[str] = "submission_id"
    occurred_field: ClassVar[str] = "submitted_on"

    submission_id: UUID
    osv_id: UUID
    municipality_id: str = Field(description="`mml` or a district's ubigeo.")
    cycle_year: int
    project_title: str
    amount_requested: MoneyText
    currency: Currency
    submitted_on: date


@catalogue.publishes(ParticipatoryBudgetSubmission.ParticipatoryBudgetDecided)
class ParticipatoryBudgetDecided(PublicEvent):
    """The municipality decided on an OSV's participatory-budget project: accepted, not accepted, or funded."""

    id_field: ClassVar[str] = "submission_id"
    occurred_field: ClassVar[str] = "decided_on"

    submission_id: UUID
    osv_id: UUID
    municipality_id: str = Field(description="`mml` or a district's ubigeo.")
    cycle_year: int
    outcome: BudgetOutcome
    amount_funded: MoneyText | None = Field(description="Set only when `funded`; at most the amount requested.")
    currency: Currency
    decided_on: date


@catalogue.publishes(Grant.FundGranted)
class FundGranted(PublicEvent):
    """An OSV was granted support: a seed fund or goods, valued in a currency."""

    id_field: ClassVar[str] = "grant_id"
    occurred_field: ClassVar[str] = "granted_on"

    grant_id: UUID
    osv_id: UUID
    amount: MoneyText
    currency: str = Field(description="PEN or USD.")
    kind: str = Field(description="seed_fund (a project) or goods (a goods package: support, not a project).")
    support: Support = Field(description="`repeat` when the OSV was granted support in a phase before this grant's; else `first_time`.")
    proposal_id: UUID | None = Field(description="The approved proposal it was granted on; null for a grant made directly.")
    round_id: UUID | None = Field(description="The funding round of that proposal; null for a grant made directly.")
    granted_on: date
