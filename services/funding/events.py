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

from services.funding.domain.budgets import BudgetOutcome, OSVParticipatoryBudgets, ParticipatoryBudgetSubmission
from services.funding.domain.grants import (
    Grant,
    GrantKind,
    GrantOutcome,
    RestatementReason,
    Support,
    SupportHistory,
    WithdrawalReason,
)
from services.funding.domain.phases import Phase, PhaseCalendar, PhaseWithdrawalReason
from services.funding.domain.proposals import Proposal, RejectionReason
from services.funding.domain.rounds import Eligibility, Round
from shared.events import DistinctFrom, EventCatalogue, PublicEvent
from shared.idempotency import IdempotentRequest
from shared.money import Currency
from shared.outputs import OutputKind
from shared.roles import Permission
from shared.schemas import DecimalText, MoneyText

catalogue = EventCatalogue("funding")

catalogue.keeps_private(
    PhaseCalendar.PhaseCalendarOpened,
    PhaseCalendar.PhaseDated,
    SupportHistory.SupportHistoryOpened,
    SupportHistory.SupportRecorded,
    SupportHistory.PhaseTaken,
    SupportHistory.PhaseGivenBack,
    PhaseCalendar.PhaseUndated,
    Phase.RoundEnteredInPhase,
    SupportHistory.RecordsMergedIn,
    SupportHistory.SupportWithdrawn,
    OSVParticipatoryBudgets.ParticipatoryBudgetIndexOpened,
    OSVParticipatoryBudgets.ParticipatoryBudgetIndexed,
)

# The record of each request carried out under an Idempotency-Key (what it saved,
# a fingerprint of the request): the service's own bookkeeping for safe retries.
catalogue.keeps_private(IdempotentRequest.Recorded)


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


@catalogue.publishes(Phase.PhaseWithdrawn)
class PhaseWithdrawn(PublicEvent):
    """A phase entered in error (opened by mistake, twice, or with the wrong code, name or dates) was withdrawn: the
    programme never had it, and no report shows it from now on. No funding round had been opened in it. Its dates are
    free for another phase; its code stays taken. Repeats what its `PhaseOpened` said (code, name, dates), so a reader
    takes it back without looking the phase up. Grants dated within it whose mark changes are restated
    (`GrantSupportRestated`, `phase_withdrawn`) in the same transaction. Staff's note on the mistake is never published."""

    id_field: ClassVar[str] = "phase_id"
    occurred_field: ClassVar[str] = "withdrawn_on"

    phase_id: UUID
    code: str
    name: str
    starts_on: date
    ends_on: date
    reason: PhaseWithdrawalReason = Field(
        description="`entered_in_error`, `duplicate`, `wrong_code`, `wrong_name` or `wrong_dates`."
    )
    withdrawn_on: date = Field(description="The day the withdrawal was recorded, in Lima.")


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
    distinct_from: DistinctFrom = Field(
        default_factory=list,
        description="The grant's deliveries of the same `delivered_on` and goods that staff said this one is not (without "
        "them it was refused as a possible duplicate); empty for most deliveries, and in those recorded before it was kept.",
    )


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


@catalogue.publishes(Grant.GrantWithdrawn)
class GrantWithdrawn(PublicEvent):
    """A grant entered in error (recorded by mistake, typed twice, on the wrong OSV, with the wrong amount or day) was
    withdrawn: it supported no one and counts nowhere from now on. Nothing had been paid out on it and it was open.
    Repeats what the grant's `FundGranted` said (OSV, kind, amount, currency, `granted_on`, proposal), so a reader takes
    it back without looking the grant up. Staff's note on the mistake is never published."""

    id_field: ClassVar[str] = "grant_id"
    occurred_field: ClassVar[str] = "withdrawn_on"

    grant_id: UUID
    osv_id: UUID
    kind: GrantKind
    amount: MoneyText
    currency: Currency
    granted_on: date = Field(description="The day the withdrawn grant was said to be made: the phase it counted in.")
    proposal_id: UUID | None = Field(description="The approved proposal it was granted on, whose amount may be granted again; null for a grant made directly.")
    round_id: UUID | None = Field(description="The funding round of that proposal; null for a grant made directly.")
    reason: WithdrawalReason = Field(
        description="`entered_in_error`, `duplicate`, `wrong_osv`, `wrong_amount` (amount, currency or kind) or `wrong_date`."
    )
    withdrawn_on: date = Field(description="The day the withdrawal was recorded, in Lima.")


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
    support: Support = Field(
        description="`repeat` when the OSV was granted support in a phase before this grant's (outside every phase: on an "
        "earlier day); else `first_time`. As the OSV's grants and the phases stood when this grant was recorded: a grant "
        "recorded later with an earlier date, or a phase opened later, may change it, and then a `GrantSupportRestated` "
        "of this grant says so. The grants weighed are the organisation's: this OSV's and, once funding takes a merge, "
        "those of the records merged into it (as reporting's `osvs_supported` counts them)."
    )
    proposal_id: UUID | None = Field(description="The approved proposal it was granted on; null for a grant made directly.")
    round_id: UUID | None = Field(description="The funding round of that proposal; null for a grant made directly.")
    granted_on: date
    distinct_from: DistinctFrom = Field(
        default_factory=list,
        description="The OSV's grants of the same kind, amount, currency and `granted_on` that staff said this one is not "
        "(without them it was refused as a possible duplicate); empty for most grants, and in those recorded before it was kept.",
    )


@catalogue.publishes(Grant.GrantSupportRestated)
class GrantSupportRestated(PublicEvent):
    """A grant's support mark changed after it was recorded: a grant to the same OSV was recorded later with an earlier
    date (making this one `repeat`), a phase was opened whose dates hold it (comparing it with the OSV's support
    before the phase, not before its day), or another record of the OSV, with grants of its own, was merged into it
    (weighing the organisation's grants together), or a grant of the organisation entered in error was withdrawn
    (weighing it no more), or a phase whose dates hold it was withdrawn as entered in error (comparing it with the
    OSV's support before its own day again). Recorded in the same transaction as the grant, the phase or the withdrawal that caused it;
    for a merge, as funding takes registry's `OSVMerged`."""

    id_field: ClassVar[str] = "grant_id"
    occurred_field: ClassVar[str] = "restated_on"

    grant_id: UUID
    osv_id: UUID
    previous_support: Support = Field(description="The mark the grant carried until now (its `FundGranted`'s or the last restatement's).")
    support: Support = Field(description="The mark as the OSV's grants and the phases now stand.")
    restated_on: date = Field(description="The day it was restated (Lima).")
    reason: RestatementReason = Field(
        description="`earlier_grant_recorded` (a grant to the OSV dated before this one's phase, or day, was recorded), "
        "`phase_opened` (a phase holding this grant's date was opened), `osv_merged` (a record of the OSV was merged), "
        "`grant_withdrawn` (a grant of the OSV was withdrawn as entered in error: `GrantWithdrawn`) or `phase_withdrawn` "
        "(a phase holding this grant's date was withdrawn as entered in error: `PhaseWithdrawn`)."
    )
    caused_by: UUID = Field(
        description="The id of that grant (`FundGranted`'s `grant_id`; for `grant_withdrawn`, the grant withdrawn), of that "
        "phase (`PhaseOpened`'s `phase_id`; for `phase_withdrawn`, the phase withdrawn) or of the record merged (`OSVMerged`'s `osv_id`)."
    )


# Rounds and proposals -----------------------------------------------------------------
#
# Ids, dates, amounts, codes and counts. A proposal's summary and evaluators'
# identities stay in funding: an evaluator appears only as an opaque code.
#
# A round's deliberation (what each proposal asks, each evaluator's scores) is the
# programme's: no partner receives it (tester 177 F2: a municipality, an interested
# party whose focal point reads no proposal over HTTP, was sent every score while the
# round was being scored). Its services and auditors read it; what the round decided
# (approvals, rejections, grants) goes to the OSV's municipality as before.
DELIBERATION_READERS = Permission.PROPOSALS_READ
"""The permission whose holders' ``GET /events`` gives the deliberation: the one that reads proposals over HTTP."""

catalogue.keeps_private(Round.ProposalEntered, Round.BudgetCommitted, Proposal.GrantRecorded, Proposal.GrantReleased)
# Which signed-in person holds which evaluator code stays in funding: scores are published under the code alone. A code's
# withdrawal names no one, but says why (a conflict of interest, someone who left): it stays in funding too.
catalogue.keeps_private(Round.EvaluatorAssigned, Round.EvaluatorWithdrawn)
# That a proposal's summary was forgotten (no text; the key that sealed it is deleted right after): the summary was never
# published, so partners have nothing to forget.
catalogue.keeps_private(Proposal.ProposalSummaryRedacted)

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
    kind: OutputKind
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
    """An OSV submitted a proposal to a round: what it asks for and what it plans to achieve.

    The programme's, no partner's: it goes out under ``osv-programme.funding.ProposalSubmitted`` (a municipality reads no
    proposal: ``GET /proposals`` is 403 to its focal point); auditors read it in ``GET /events``."""

    id_field: ClassVar[str] = "proposal_id"
    for_partners: ClassVar[bool] = False
    feed_permission: ClassVar[str] = DELIBERATION_READERS
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
    """An evaluator, known by an opaque code, scored a proposal on every criterion of its round's rubric.

    The programme's deliberation, no partner's: it goes out under ``osv-programme.funding.ProposalScored``, never to a
    municipality, during the round or after; auditors read it in ``GET /events``."""

    id_field: ClassVar[str] = "proposal_id"
    for_partners: ClassVar[bool] = False
    feed_permission: ClassVar[str] = DELIBERATION_READERS
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
