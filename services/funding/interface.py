"""Funding's public events: what partners and the other services see of it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from services.funding.domainmodel import Currency, Grant, Phase
from services.funding.rounds import Eligibility, PlannedOutputKind, Proposal, RejectionReason, Round
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


# Rounds and proposals (issue 4) ----------------------------------------------------
#
# Ids, dates, amounts, codes and counts. A proposal's summary and evaluators'
# identities stay in funding: an evaluator appears only as an opaque code.

catalogue.keeps_private(Round.ProposalEntered, Round.BudgetCommitted, Proposal.GrantRecorded)

DecimalText = Annotated[
    Decimal,
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?$", "description": "A decimal string, never a number."}),
]


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RubricCriterion(_Item):
    """One line of a round's rubric."""

    code: str
    name: str
    weight: DecimalText = Field(description="Relative weight, a decimal string such as \"0.25\" or \"2\".")
    min_score: int
    max_score: int


class PlannedOutputCount(_Item):
    kind: PlannedOutputKind
    count: int


class CriterionScore(_Item):
    criterion: str = Field(description="A criterion code of the round's rubric.")
    score: int


@catalogue.publishes(Round.RoundOpened)
class RoundOpened(PublicEvent):
    """A funding round opened within a phase: its budget, dates, who may apply and the rubric proposals are scored on."""

    id_field: ClassVar[str] = "round_id"
    occurred_field: ClassVar[str] = "opens_on"

    round_id: UUID
    phase_id: UUID
    name: str
    budget: DecimalText = Field(description="Decimal string, e.g. \"10000.00\".")
    currency: Currency
    opens_on: date
    closes_on: date
    eligibility: Eligibility = Field(description="`mapped` (any mapped OSV) or `ruos_registered` (RUOS-registered OSVs only).")
    criteria: list[RubricCriterion] = Field(
        description="Weighted total = Σ(weight × score normalised to 0–100 over its range) / Σ weight, 2 places half up."
    )


@catalogue.publishes(Round.RoundClosed)
class RoundClosed(PublicEvent):
    """A funding round closed: it takes no more proposals."""

    id_field: ClassVar[str] = "round_id"
    occurred_field: ClassVar[str] = "closed_on"

    round_id: UUID
    closed_on: date


@catalogue.publishes(Proposal.ProposalSubmitted)
class ProposalSubmitted(PublicEvent):
    """An OSV submitted a proposal to a round: what it asks for and what it plans to achieve."""

    id_field: ClassVar[str] = "proposal_id"
    occurred_field: ClassVar[str] = "submitted_on"

    proposal_id: UUID
    round_id: UUID
    osv_id: UUID
    title: str
    requested_amount: DecimalText = Field(description="Decimal string, e.g. \"3500.00\".")
    currency: Currency
    planned_direct_beneficiaries: int
    planned_indirect_beneficiaries: int
    planned_outputs: list[PlannedOutputCount]
    submitted_on: date


@catalogue.publishes(Proposal.ProposalScored)
class ProposalScored(PublicEvent):
    """An evaluator, known by an opaque code, scored a proposal on every criterion of its round's rubric."""

    id_field: ClassVar[str] = "proposal_id"
    occurred_field: ClassVar[str] = "scored_on"

    proposal_id: UUID
    round_id: UUID
    osv_id: UUID
    evaluator: str = Field(description="An opaque evaluator code such as `EV-1`, never a name.")
    scores: list[CriterionScore]
    weighted_total: DecimalText = Field(description="0–100, a decimal string with 2 places, e.g. \"72.50\".")
    scored_on: date


@catalogue.publishes(Proposal.ProposalApproved)
class ProposalApproved(PublicEvent):
    """A proposal was approved for an amount, set aside from its round's budget."""

    id_field: ClassVar[str] = "proposal_id"
    occurred_field: ClassVar[str] = "approved_on"

    proposal_id: UUID
    round_id: UUID
    osv_id: UUID
    amount: DecimalText = Field(description="Decimal string, e.g. \"3000.00\".")
    currency: Currency
    approved_on: date


@catalogue.publishes(Proposal.ProposalRejected)
class ProposalRejected(PublicEvent):
    """A proposal was rejected, for a reason given as a code."""

    id_field: ClassVar[str] = "proposal_id"
    occurred_field: ClassVar[str] = "rejected_on"

    proposal_id: UUID
    round_id: UUID
    osv_id: UUID
    reason: RejectionReason
    rejected_on: date
