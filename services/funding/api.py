"""Funding's HTTP API: translates requests into commands on :class:`Funding`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Request, status

from services.funding.application import Funding
from services.funding.interface import catalogue
from shared.osvdirectory import OSVDirectory
from services.funding.schemas import GrantCreate, GrantPublic, PhaseCreate, PhasePublic
from services.funding.rounds import PlannedOutput, Score
from services.funding.schemas import (
    SCORING_RULE,
    ApprovalCreate,
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
from shared.store import ServiceApplication
from shared.views import make_engine
from shared.web import ConsumerSpec, Runtime, runtime_of, service_api


def get_funding(request: Request) -> Funding:
    return runtime_of(request).app  # type: ignore[return-value]


FundingDep = Annotated[Funding, Depends(get_funding)]

phases = APIRouter(prefix="/phases", tags=["phases"])
grants = APIRouter(prefix="/grants", tags=["grants"])


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


@grants.get("/{grant_id}", response_model=GrantPublic)
def get_grant(grant_id: UUID, funding: FundingDep) -> GrantPublic:
    """Show one grant."""
    return GrantPublic.of(funding.get_grant(grant_id))


def make_funding(settings: FundingSettings) -> Callable[[dict[str, str]], Funding]:
    def make(env: dict[str, str]) -> Funding:
        return Funding(env, osvs=OSVDirectory(make_engine(settings.view_url()), settings.service_name))

    return make


def consumers(app: ServiceApplication) -> list[ConsumerSpec]:
    assert isinstance(app, Funding)
    return [(app.osvs.durable, app.osvs.subject, app.osvs.apply)]


def create_app(settings: FundingSettings | None = None) -> FastAPI:
    """Build the funding service (run with ``uvicorn --factory``)."""
    settings = settings or FundingSettings()
    runtime = Runtime(settings, catalogue, make_funding(settings), consumers)
    api = service_api(
        runtime,
        title="osv-platform funding",
        description="Programme phases and the support (seed funds, goods) granted to OSVs.",
    )
    api.include_router(phases)
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
