"""Funding's HTTP API: translates requests into commands on :class:`Funding`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request, status

from services.funding.application import Funding
from services.funding.events import catalogue
from services.funding.domain.rounds import PlannedOutput, Score
from services.funding.schemas import (
    SCORING_RULE,
    ApprovalCreate,
    DisbursementCreate,
    GoodsDeliveryCreate,
    GrantClosingCreate,
    GrantCreate,
    GrantPublic,
    ParticipatoryBudgetCreate,
    ParticipatoryBudgetDecisionCreate,
    ParticipatoryBudgetPublic,
    PhaseCreate,
    PhasePublic,
    ProposalCreate,
    ProposalGrantCreate,
    ProposalPublic,
    RankingPublic,
    RejectionCreate,
    RoundClosingCreate,
    RoundCreate,
    RoundPublic,
    ScoringCreate,
)
from services.funding.settings import FundingSettings
from shared.idempotency import AnswerBook
from shared.views.osvdirectory import OSVDirectory
from shared.store import ServiceApplication
from shared.views import View, make_engine
from shared.web import Runtime, runtime_of, service_api


def get_funding(request: Request) -> Funding:
    return runtime_of(request).app  # type: ignore[return-value]


FundingDep = Annotated[Funding, Depends(get_funding)]

phases = APIRouter(prefix="/phases", tags=["phases"])
grants = APIRouter(prefix="/grants", tags=["grants"])
participatory_budgets = APIRouter(prefix="/participatory-budgets", tags=["participatory budgets"])


@phases.post("", status_code=status.HTTP_201_CREATED, response_model=PhasePublic)
def open_phase(body: PhaseCreate, funding: FundingDep) -> PhasePublic:
    """Open a programme phase (records `PhaseOpened`); codes are unique, dates never overlap."""
    phase_id = funding.open_phase(body.code, body.name, body.starts_on, body.ends_on)
    return PhasePublic.of(funding.get_phase(phase_id))


@phases.get("", response_model=list[PhasePublic])
def list_phases(funding: FundingDep) -> list[PhasePublic]:
    """List the programme's phases in date order."""
    return [PhasePublic.of(p) for p in funding.list_phases()]


@grants.post("", status_code=status.HTTP_201_CREATED, response_model=GrantPublic)
def grant_fund(body: GrantCreate, funding: FundingDep) -> GrantPublic:
    """Grant a seed fund or goods to a mapped OSV (records `FundGranted`)."""
    grant_id = funding.grant_fund(body.osv_id, body.amount, body.currency, body.granted_on, body.kind)
    return GrantPublic.of(funding.get_grant(grant_id))


@grants.get("", response_model=list[GrantPublic])
def list_grants(
    funding: FundingDep,
    osv_id: Annotated[UUID | None, Query(description="Only this OSV's grants.")] = None,
) -> list[GrantPublic]:
    """List grants (an OSV's, with `osv_id`), oldest granted first."""
    found = funding.list_grants() if osv_id is None else funding.grants_of(osv_id)
    return [GrantPublic.of(grant) for grant in found]


@grants.get("/{grant_id}", response_model=GrantPublic)
def get_grant(grant_id: UUID, funding: FundingDep) -> GrantPublic:
    """Show one grant: its deliveries or tranches, totals, support and status."""
    return GrantPublic.of(funding.get_grant(grant_id))


@grants.post("/{grant_id}/goods-deliveries", status_code=status.HTTP_201_CREATED, response_model=GrantPublic)
def deliver_goods(grant_id: UUID, body: GoodsDeliveryCreate, funding: FundingDep) -> GrantPublic:
    """Record goods handed over on a goods grant (records `GoodsDelivered`); answers the grant as it now stands."""
    items = [line.to_domain() for line in body.items]
    return GrantPublic.of(funding.deliver_goods(grant_id, items, body.delivered_on))


@grants.post("/{grant_id}/disbursements", status_code=status.HTTP_201_CREATED, response_model=GrantPublic)
def disburse(grant_id: UUID, body: DisbursementCreate, funding: FundingDep) -> GrantPublic:
    """Record the next tranche paid on a seed-fund grant (records `DisbursementMade`); answers the grant."""
    return GrantPublic.of(funding.disburse(grant_id, body.tranche, body.amount, body.disbursed_on))


@grants.post("/{grant_id}/closing", status_code=status.HTTP_201_CREATED, response_model=GrantPublic)
def close_grant(grant_id: UUID, body: GrantClosingCreate, funding: FundingDep) -> GrantPublic:
    """Close a grant with its outcome and final report (records `GrantClosed`); nothing is recorded on it after."""
    grant = funding.close_grant(grant_id, body.outcome, body.final_report_reference, body.closed_on)
    return GrantPublic.of(grant)


@participatory_budgets.post("", status_code=status.HTTP_201_CREATED, response_model=ParticipatoryBudgetPublic)
def submit_participatory_budget(body: ParticipatoryBudgetCreate, funding: FundingDep) -> ParticipatoryBudgetPublic:
    """Record a RUOS-registered OSV's project submitted to a participatory budget (records `ParticipatoryBudgetSubmitted`)."""
    submission = funding.submit_participatory_budget(
        body.osv_id,
        body.municipality_id,
        body.cycle_year,
        body.project_title,
        body.amount_requested,
        body.currency,
        body.submitted_on,
    )
    return ParticipatoryBudgetPublic.of(submission)


@participatory_budgets.get("", response_model=list[ParticipatoryBudgetPublic])
def list_participatory_budgets(
    funding: FundingDep, osv_id: Annotated[UUID, Query(description="The OSV whose submissions to list.")]
) -> list[ParticipatoryBudgetPublic]:
    """List an OSV's participatory-budget submissions, latest cycle first."""
    return [ParticipatoryBudgetPublic.of(s) for s in funding.participatory_budgets_of(osv_id)]


@participatory_budgets.get("/{submission_id}", response_model=ParticipatoryBudgetPublic)
def get_participatory_budget(submission_id: UUID, funding: FundingDep) -> ParticipatoryBudgetPublic:
    """Show one participatory-budget submission and the municipality's decision, if any."""
    return ParticipatoryBudgetPublic.of(funding.get_participatory_budget(submission_id))


@participatory_budgets.post("/{submission_id}/outcome", status_code=status.HTTP_201_CREATED, response_model=ParticipatoryBudgetPublic)
def decide_participatory_budget(
    submission_id: UUID, body: ParticipatoryBudgetDecisionCreate, funding: FundingDep
) -> ParticipatoryBudgetPublic:
    """Record the municipality's decision on a submission, once (records `ParticipatoryBudgetDecided`)."""
    submission = funding.decide_participatory_budget(submission_id, body.outcome, body.amount_funded, body.decided_on)
    return ParticipatoryBudgetPublic.of(submission)


def make_funding(settings: FundingSettings) -> Callable[[dict[str, str]], Funding]:
    def make(env: dict[str, str]) -> Funding:
        view_engine = make_engine(settings.view_url())
        answers = AnswerBook(view_engine, retention=settings.idempotency_retention)
        return Funding(env, osvs=OSVDirectory(view_engine, settings.service_name), answers=answers)

    return make


def views(app: ServiceApplication) -> list[View]:
    """Funding follows registry's OSVs."""
    assert isinstance(app, Funding)
    return [app.osvs]


def create_app(settings: FundingSettings | None = None) -> FastAPI:
    """Build the funding service (run with ``uvicorn --factory``)."""
    settings = settings or FundingSettings()
    runtime = Runtime(settings, catalogue, make_funding(settings), views)
    api = service_api(
        runtime,
        title="osv-platform funding",
        description=(
            "Programme phases, the support (seed funds, goods) granted to OSVs with its deliveries, tranches "
            "and closing, and OSVs' participatory-budget submissions."
        ),
    )
    api.include_router(phases)
    api.include_router(participatory_budgets)
    api.include_router(grants)
    api.include_router(rounds)
    api.include_router(proposals)
    return api


# Rounds and proposals (issue 4) ----------------------------------------------------

rounds = APIRouter(prefix="/rounds", tags=["rounds"])
proposals = APIRouter(prefix="/proposals", tags=["proposals"])


@rounds.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RoundPublic,
    description="Open a funding round in a phase with its budget and rubric (records `RoundOpened`).\n\n"
    f"The rubric must score `organisational_capacity` and `administrative_capacity`. {SCORING_RULE}",
)
def open_round(body: RoundCreate, funding: FundingDep) -> RoundPublic:
    """Open a funding round in a phase with its budget and rubric (records `RoundOpened`)."""
    round_ = funding.open_round(
        body.phase_id,
        body.name,
        body.budget,
        body.currency,
        body.opens_on,
        body.closes_on,
        body.eligibility,
        [c.to_domain() for c in body.criteria],
    )
    return RoundPublic.of(round_)


@rounds.get("", response_model=list[RoundPublic])
def list_rounds(funding: FundingDep) -> list[RoundPublic]:
    """List the funding rounds, oldest first, with what remains of each budget."""
    return [RoundPublic.of(r) for r in funding.list_rounds()]


@rounds.get("/{round_id}", response_model=RoundPublic)
def get_round(round_id: UUID, funding: FundingDep) -> RoundPublic:
    """Show one round: budget, approved total, what remains and how many proposals it has."""
    return RoundPublic.of(funding.get_round(round_id))


@rounds.post("/{round_id}/closing", status_code=status.HTTP_201_CREATED, response_model=RoundPublic)
def close_round(round_id: UUID, body: RoundClosingCreate, funding: FundingDep) -> RoundPublic:
    """Close a round to new proposals (records `RoundClosed`); scoring and decisions go on."""
    return RoundPublic.of(funding.close_round(round_id, body.closed_on))


@rounds.post("/{round_id}/proposals", status_code=status.HTTP_201_CREATED, response_model=ProposalPublic)
def submit_proposal(round_id: UUID, body: ProposalCreate, funding: FundingDep) -> ProposalPublic:
    """Submit an OSV's proposal to a round, one per OSV (records `ProposalSubmitted`; the summary is not published)."""
    proposal = funding.submit_proposal(
        round_id,
        body.osv_id,
        body.title,
        body.summary,
        body.requested_amount,
        body.planned_direct_beneficiaries,
        body.planned_indirect_beneficiaries,
        [PlannedOutput(o.kind, o.count) for o in body.planned_outputs],
        body.submitted_on,
    )
    return ProposalPublic.of(proposal)


@rounds.get("/{round_id}/proposals", response_model=list[ProposalPublic])
def list_proposals(round_id: UUID, funding: FundingDep) -> list[ProposalPublic]:
    """List a round's proposals in the order they were submitted."""
    return [ProposalPublic.of(p) for p in funding.proposals_of(round_id)]


@rounds.get("/{round_id}/ranking", response_model=RankingPublic)
def ranking(round_id: UUID, funding: FundingDep) -> RankingPublic:
    """Rank a round's proposals by their evaluators' mean weighted total, ties in submission order, unscored last."""
    return RankingPublic.of(funding.get_round(round_id), funding.ranking(round_id))


@proposals.get("/{proposal_id}", response_model=ProposalPublic)
def get_proposal(proposal_id: UUID, funding: FundingDep) -> ProposalPublic:
    """Show one proposal with its summary, scorings, decision and grants, to programme staff."""
    return ProposalPublic.of(funding.get_proposal(proposal_id))


SCORE_ONCE = "Each evaluator scores a proposal once (a second scoring is 409 `score_once`), and never after a decision."


@proposals.post(
    "/{proposal_id}/scores",
    status_code=status.HTTP_201_CREATED,
    response_model=ProposalPublic,
    description=f"Record one evaluator's scores on every criterion of the rubric (records `ProposalScored`).\n\n{SCORE_ONCE} {SCORING_RULE}",
)
def score_proposal(proposal_id: UUID, body: ScoringCreate, funding: FundingDep) -> ProposalPublic:
    """Record one evaluator's scores on every criterion of the rubric (records `ProposalScored`)."""
    scores = [Score(s.criterion, s.score) for s in body.scores]
    return ProposalPublic.of(funding.score_proposal(proposal_id, body.evaluator, scores, body.scored_on))


@proposals.post("/{proposal_id}/approval", status_code=status.HTTP_201_CREATED, response_model=ProposalPublic)
def approve_proposal(proposal_id: UUID, body: ApprovalCreate, funding: FundingDep) -> ProposalPublic:
    """Approve a scored proposal for an amount the round's budget still holds (records `ProposalApproved`)."""
    return ProposalPublic.of(funding.approve_proposal(proposal_id, body.amount, body.approved_on))


@proposals.post("/{proposal_id}/rejection", status_code=status.HTTP_201_CREATED, response_model=ProposalPublic)
def reject_proposal(proposal_id: UUID, body: RejectionCreate, funding: FundingDep) -> ProposalPublic:
    """Reject a proposal, giving the reason as a code (records `ProposalRejected`)."""
    return ProposalPublic.of(funding.reject_proposal(proposal_id, body.reason, body.rejected_on))


@proposals.post("/{proposal_id}/grants", status_code=status.HTTP_201_CREATED, response_model=GrantPublic)
def grant_from_proposal(proposal_id: UUID, body: ProposalGrantCreate, funding: FundingDep) -> GrantPublic:
    """Grant a seed fund or goods from an approved proposal, up to its approved amount (records `FundGranted`)."""
    return GrantPublic.of(funding.grant_from_proposal(proposal_id, body.kind, body.amount, body.granted_on))
