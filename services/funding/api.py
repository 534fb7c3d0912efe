"""Funding's HTTP API: routes only, each translating a request into a call on :class:`Funding`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, status

from services.funding.application import Funding
from services.funding.bootstrap import bootstrap
from services.funding.domain.budgets import FIRST_CYCLE_YEAR, LAST_CYCLE_YEAR
from services.funding.domain.grants import GrantKind, GrantStatus
from services.funding.domain.proposals import Proposal, ProposalStatus
from services.funding.domain.scoring import Score
from services.funding.historyapi import participatory_budgets_history, rounds_history
from services.funding.roundschemas import (
    SCORING_RULE,
    ApprovalCreate,
    EvaluatorAssignmentCreate,
    EvaluatorWithdrawalCreate,
    ProposalCreate,
    ProposalGrantCreate,
    ProposalPublic,
    RankingPublic,
    RejectionCreate,
    RoundClosingCreate,
    RoundCreate,
    RoundPublic,
    ScoringCreate,
    scoring_body_rules,
)
from services.funding.schemas import (
    UBIGEO_OR_MML,
    DisbursementCreate,
    GoodsDeliveryCreate,
    GrantClosingCreate,
    GrantCreate,
    GrantPublic,
    GrantWithdrawalCreate,
    ParticipatoryBudgetCreate,
    ParticipatoryBudgetDecisionCreate,
    ParticipatoryBudgetPublic,
    PhaseCreate,
    PhasePublic,
    PhaseWithdrawalCreate,
    grant_body_rules,
)
from services.funding.settings import FundingSettings
from shared.auth import Caller, CallerDep, MunicipalScope, Permission, requires, within
from shared.guards import TAKES_NO_BODY, not_heard_of_yet, osv_district_in_table, osv_lost_in_registry
from shared.history import EventRecordPublic, history_page
from shared.inplace import run_command
from shared.listing import NameQuery, Page, matches_name, page_query
from shared.problems import route_body_rules
from shared.views.osvdirectory import OSVDescription
from shared.web import application_of, service_api

FundingDep = Annotated[Funding, Depends(application_of)]
Reads = Annotated[MunicipalScope, Depends(within(Permission.PROGRAMME_READ))]
"""The municipalities the caller reads: an object outside them answers 404, lists leave it out."""
ProposalReader = Annotated[Caller, Depends(requires(Permission.PROPOSALS_READ))]
Auditor = Annotated[Caller, Depends(requires(Permission.AUDIT_READ))]
"""A reader of grants' histories (within its municipal scope)."""


def shows_summary(caller: Caller) -> bool:
    """Whether a proposal's summary (staff's words) is shown: to a reader of staff's free text (staff, leads) and to an
    evaluator, whose scoring needs it (only its rounds' proposals reach it); an auditor reads it withheld."""
    return caller.may_read_staff_text or caller.may(Permission.PROPOSALS_SCORE)
Scorer = Annotated[Caller, Depends(requires(Permission.PROPOSALS_SCORE))]
WRITES = [Depends(requires(Permission.PROGRAMME_WRITE))]
OSV_NOT_HEARD_OF = {**not_heard_of_yet("osv_mapped_in_registry"), **osv_district_in_table("funding"), **osv_lost_in_registry()}
"""A command naming an OSV: refused with `Retry-After` while registry's `OSVMapped` has not arrived here, or while the OSV's
district is one this service's districts table lacks (503); without it when registry lost the OSV in a restore (409)."""
OSV_LOST = osv_lost_in_registry()
"""A command on a record already taken for an OSV (a grant's tranche or delivery, a proposal's scores or approval): 409,
without `Retry-After`, when registry lost that OSV in a restore."""
DECIDES = [Depends(requires(Permission.ROUNDS_DECIDE))]


def holders_for(caller: Caller) -> str | bool:
    """Whose evaluator codes a round shows the holder of to ``caller``: all to leads and auditors (``evaluators:read``),
    else the caller's own (:meth:`RoundPublic.of`): who holds which code stays private to funding (tester 30b, L3)."""
    return True if caller.may(Permission.EVALUATORS_READ) else caller.subject


def assigned_only(caller: Caller) -> str | None:
    """The subject whose assigned rounds bound what ``caller`` reads (an evaluator's), or None for all rounds."""
    return caller.subject if caller.only_assigned(Permission.PROPOSALS_READ) else None


def scorings_shown(caller: Caller, funding: Funding, round_id: UUID) -> frozenset[str] | None:
    """The evaluator codes whose scorings ``caller`` is shown on the round's proposals (:meth:`ProposalPublic.of`): an
    evaluator's own alone, so that it scores blind (tester 126 F4: the others' scores and their mean anchored its own);
    None, every scoring, to whoever reads every round (leads, staff, auditors)."""
    subject = assigned_only(caller)
    return None if subject is None else funding.get_round(round_id=round_id).codes_held_by(subject)


def osv_of(funding: Funding, proposal: Proposal) -> OSVDescription:
    """The proposal's OSV as funding's view of registry's OSVs holds it (:meth:`ProposalPublic.of`'s ``osv``): every
    reader of a proposal sees which OSV it is, its evaluators included, who read no OSV in registry (tester 37c F10)."""
    return funding.osvs.describe([proposal.osv_id])[str(proposal.osv_id)]


phases = APIRouter(prefix="/phases", tags=["phases"])
grants = APIRouter(prefix="/grants", tags=["grants"])
participatory_budgets = APIRouter(prefix="/participatory-budgets", tags=["participatory budgets"])
rounds = APIRouter(prefix="/rounds", tags=["rounds"])
proposals = APIRouter(prefix="/proposals", tags=["proposals"])
Paged = Annotated[Page, Depends(page_query)]


# Phases ------------------------------------------------------------------------------


MANAGES_PHASES = [Depends(requires(Permission.PHASES_MANAGE))]


@phases.post("", status_code=status.HTTP_201_CREATED, response_model=PhasePublic, dependencies=MANAGES_PHASES)
def open_phase(body: PhaseCreate, funding: FundingDep) -> PhasePublic:
    """Open a programme phase (records `PhaseOpened`); codes are unique whatever their case (and never `total`), dates never overlap.

    A code is taken by a phase withdrawn as entered in error too (409 `unique_code`, saying so); its dates are free.

    Grants already recorded within its dates are then compared with their OSV's support before the phase starts: each
    whose mark that changes records `GrantSupportRestated` (`phase_opened`), in the same transaction."""
    phase_id = funding.open_phase(code=body.code, name=body.name, starts_on=body.starts_on, ends_on=body.ends_on)
    return PhasePublic.of(funding.get_phase(phase_id=phase_id))


@phases.get("", response_model=list[PhasePublic], dependencies=[Depends(requires(Permission.PROGRAMME_READ))])
def list_phases(funding: FundingDep, page: Paged, name: NameQuery = None) -> list[PhasePublic]:
    """List the programme's phases in date order, optionally by name; paged (`cursor`, `limit`, `Link: rel="next"`).

    Those withdrawn as entered in error are listed too, their `withdrawal` set."""
    return [PhasePublic.of(p) for p in page.of([p for p in funding.list_phases() if matches_name(name, p.name)], key=lambda p: p.id)]


@phases.post("/{phase_id}/withdrawal", status_code=status.HTTP_201_CREATED, response_model=PhasePublic, dependencies=MANAGES_PHASES)
def withdraw_phase(phase_id: UUID, body: PhaseWithdrawalCreate, funding: FundingDep) -> PhasePublic:
    """Withdraw a phase entered in error (records `PhaseWithdrawn`); it is reported nowhere from then on.

    For a phase opened by mistake, twice, or with the wrong code, name or dates (`reason`); open the right one anew. Its
    dates are free for another phase at once; its code stays taken (409 `unique_code` says it was withdrawn). It stays
    in `GET /phases` (`withdrawal` set) and in its history. Grants dated within it are compared with their OSV's support
    before their own day again, as before it was opened: each whose mark that changes records `GrantSupportRestated`
    (`phase_withdrawn`), in the same transaction. A phase a funding round was opened in is 409 `phase_without_rounds` (a
    round is never withdrawn: it is closed); one withdrawn already, 409 `phase_not_withdrawn`. `withdrawn_on` is today
    in Lima; `note` is staff's, sealed and never published. Reporting shows the phase in no report made after (indicators,
    exports, targets, IATI, 3W, dashboard); one as of before still does, and a sign-off of it stays listed, marked
    withdrawn. Answers the phase.
    """
    return PhasePublic.of(funding.withdraw_phase(phase_id=phase_id, reason=body.reason, note=body.note))


@phases.post("/{phase_id}/withdrawal/note/redaction", response_model=PhasePublic, dependencies=[*MANAGES_PHASES, TAKES_NO_BODY])
def redact_phase_withdrawal_note(phase_id: UUID, funding: FundingDep) -> PhasePublic:
    """Forget a phase's withdrawal note for good; it reads `[redacted]` (deletes its key). 409 `withdrawal_note` for a phase not withdrawn, or withdrawn without a note."""
    return PhasePublic.of(funding.redact_phase_withdrawal_note(phase_id=phase_id))


@phases.get("/{phase_id}/history", response_model=list[EventRecordPublic])
def phase_history(phase_id: UUID, funding: FundingDep, caller: Auditor, page: Paged) -> list[EventRecordPublic]:
    """List every event the phase recorded, oldest first, each with who recorded it (`recorded_by`), for auditors; paged (`cursor`, `limit`, `Link: rel="next"`).

    `PhaseOpened`, each round opened in it since rounds were noted there (`RoundEnteredInPhase`), and its withdrawal if any. Staff's words in it (a
    withdrawal's `note`) read `[withheld]` to a reader without `personal-data:read`, and `[redacted]` once forgotten."""
    history = funding.phase_history(phase_id=phase_id, text=caller.may_read_staff_text)
    return history_page(history, page)


# Grants ------------------------------------------------------------------------------


@grants.post("", status_code=status.HTTP_201_CREATED, response_model=GrantPublic, dependencies=WRITES, responses=OSV_NOT_HEARD_OF)
@route_body_rules(grant_body_rules)
async def grant_fund(body: GrantCreate, funding: FundingDep) -> GrantPublic:
    """Grant a seed fund or goods to a mapped OSV (records `FundGranted`; dated before the phase, or outside every phase
    the day, of grants the OSV already has, it makes them repeat support and records `GrantSupportRestated` for each).

    One of the same kind, amount, currency and `granted_on` as a grant the OSV has, not withdrawn, is 409
    `possible_duplicate` naming those grants (`possible_duplicates`): send it again with `distinct_from` naming them if
    it is another grant. One above the programme's ceiling for one grant in its currency is 422 `at_most_grant_ceiling`
    (the `FUNDING_GRANT_CEILING_PEN` and `_USD` settings: a typing error's guard)."""
    # On the event loop when the store takes it at once, else in a worker thread (shared.inplace): a plain `def` route takes
    # a thread hop for the command and a second one to check the answer.
    return await run_command(funding, granted, body, funding)


def granted(body: GrantCreate, funding: Funding) -> GrantPublic:
    """``POST /grants``'s command and answer (:func:`~shared.inplace.run_command`: on the event loop, or in a worker thread)."""
    grant = funding.granted_fund(  # the grant as saved: no read back
        osv_id=body.osv_id, amount=body.amount, currency=body.currency, granted_on=body.granted_on, kind=body.kind,
        distinct_from=body.distinct_from,
    )
    return GrantPublic.of(grant)


@grants.get("", response_model=list[GrantPublic])
def list_grants(
    funding: FundingDep,
    scope: Reads,
    page: Paged,
    caller: CallerDep,
    osv_id: Annotated[UUID | None, Query(description="Only this OSV's grants.")] = None,
    kind: Annotated[GrantKind | None, Query(description="Only grants of this kind.")] = None,
    grant_status: Annotated[GrantStatus | None, Query(alias="status", description="Only `open`, only `closed` or only `withdrawn` grants.")] = None,
    round_id: Annotated[
        UUID | None,
        Query(description="Only grants made on this round's approved proposals; 404 `known_round` for a round that does not exist "
              "(to whoever reads every round)."),
    ] = None,
) -> list[GrantPublic]:
    """List grants (an OSV's, with `osv_id`; by kind, status or round), oldest granted first; paged (`cursor`, `limit`, `Link: rel="next"`)."""
    if round_id is not None and caller.may(Permission.PROPOSALS_READ) and assigned_only(caller) is None:
        # 404 `known_round`: an empty list would say the round made no grants. Not to a reader of grants who may not read
        # the rounds (a focal point): its 404 and its empty list would tell which round ids exist.
        funding.known_round(round_id)
    found = funding.list_grants(scope=scope) if osv_id is None else funding.grants_of(osv_id=osv_id, scope=scope)
    listed = [GrantPublic.of(grant) for grant in found]
    listed = [
        g
        for g in listed
        if (kind is None or g.kind == kind) and (grant_status is None or g.status == grant_status) and (round_id is None or g.round_id == round_id)
    ]
    return page.of(listed, key=lambda g: g.id)


@grants.get("/{grant_id}", response_model=GrantPublic)
def get_grant(grant_id: UUID, funding: FundingDep, scope: Reads) -> GrantPublic:
    """Show one grant: its deliveries or tranches, totals, support and status."""
    return GrantPublic.of(funding.get_grant(grant_id=grant_id, scope=scope))


@grants.get("/{grant_id}/history", response_model=list[EventRecordPublic])
def grant_history(grant_id: UUID, funding: FundingDep, caller: Auditor, page: Paged) -> list[EventRecordPublic]:
    """List every event the grant recorded, oldest first, each with who recorded it (`recorded_by`), for auditors; paged (`cursor`, `limit`, `Link: rel="next"`).

    `FundGranted`, then its goods deliveries or tranches, any restatement of its support mark, and its closing or withdrawal. A grant whose OSV is outside the caller's
    municipalities answers 404, as one that does not exist. Staff's words in it (a withdrawal's `note`) read `[withheld]` to a
    reader without `personal-data:read`, as in an OSV's history, and `[redacted]` once forgotten."""
    history = funding.grant_history(grant_id=grant_id, scope=caller.scope(Permission.AUDIT_READ), text=caller.may_read_staff_text)
    return history_page(history, page)


@grants.post(
    "/{grant_id}/goods-deliveries", status_code=status.HTTP_201_CREATED, response_model=GrantPublic, dependencies=WRITES,
    responses=OSV_LOST,
)
def deliver_goods(grant_id: UUID, body: GoodsDeliveryCreate, funding: FundingDep) -> GrantPublic:
    """Record goods handed over on a goods grant (records `GoodsDelivered`); answers the grant as it now stands.

    A delivery is not undone, so it is not taken twice: the same goods (each item, its name read without regard to case,
    spaces, accents or punctuation, in the same quantity at the same `unit_value`, rows in any order) on the same `delivered_on` as a delivery
    the grant holds is 409 `possible_duplicate` naming it (`possible_duplicates`): send it again with `distinct_from`
    naming them if it is another delivery; a request sent again is sent with its `Idempotency-Key`, and answered as the
    first. One item listed twice in a delivery is 422 `unique_item` at the later row's `item`. Beyond what remains of the
    grant is 409 `within_grant_amount`. A grant whose OSV registry lost in a restore an operator accepted takes no delivery:
    409 `osv_lost_in_registry_restore`, field `osv_id`."""
    items = [line.to_domain() for line in body.items]
    delivered = funding.deliver_goods(grant_id=grant_id, items=items, delivered_on=body.delivered_on, distinct_from=body.distinct_from)
    return GrantPublic.of(delivered)


@grants.post(
    "/{grant_id}/disbursements", status_code=status.HTTP_201_CREATED, response_model=GrantPublic, dependencies=WRITES,
    responses=OSV_LOST,
)
def disburse(grant_id: UUID, body: DisbursementCreate, funding: FundingDep) -> GrantPublic:
    """Record the next tranche paid on a seed-fund grant (records `DisbursementMade`); answers the grant.

    A grant whose OSV registry lost in a restore an operator accepted takes no tranche: 409 `osv_lost_in_registry_restore`,
    field `osv_id`."""
    return GrantPublic.of(funding.disburse(
            grant_id=grant_id, tranche=body.tranche, amount=body.amount, disbursed_on=body.disbursed_on
        ))


@grants.post("/{grant_id}/closing", status_code=status.HTTP_201_CREATED, response_model=GrantPublic, dependencies=WRITES)
def close_grant(grant_id: UUID, body: GrantClosingCreate, funding: FundingDep) -> GrantPublic:
    """Close a grant with its outcome and final report (records `GrantClosed`); nothing is recorded on it after.

    Not before the grant (422 `not_before_granted_on`) nor its last tranche or delivery (422 `not_before_last_record`), nor
    before the last enrolment of an agent of change in its project that engagement published (409
    `closed_after_enrolments`, field `closed_on`, naming that day, also as `last_enrolled_on`), nor before the last
    activity of its project engagement holds, not withdrawn (409 `closed_after_activities`, field `closed_on`, naming its
    `held_on`, also as `last_held_on`); before both, the later day is named. Engagement, the other way round, enrols no
    one and takes no activity of the project after a closing (409 `grant_open`). A closed or withdrawn grant is 409
    `grant_open` or `grant_not_withdrawn`.
    """
    grant = funding.close_grant(
        grant_id=grant_id, outcome=body.outcome, final_report_reference=body.final_report_reference, closed_on=body.closed_on
    )
    return GrantPublic.of(grant)


@grants.post("/{grant_id}/withdrawal", status_code=status.HTTP_201_CREATED, response_model=GrantPublic, dependencies=WRITES)
def withdraw_grant(grant_id: UUID, body: GrantWithdrawalCreate, funding: FundingDep) -> GrantPublic:
    """Withdraw a grant entered in error, nothing paid out on it (records `GrantWithdrawn`); it counts nowhere from then on.

    For a grant recorded by mistake, typed twice, on the wrong OSV or with the wrong amount, kind or day (`reason`); record
    the right one anew. It stays in the grant's history and in `GET /grants` (`status` `withdrawn`), takes no record after
    (409 `grant_not_withdrawn`, this withdrawal's too), no longer makes the OSV's other grants `repeat` (each whose mark
    changes records `GrantSupportRestated`, `grant_withdrawn`), and gives a proposal's approved amount back to it. A closed
    grant is 409 `grant_open`; one with a tranche paid or goods handed over is 409 `nothing_paid_out`: close it instead
    (`cancelled`). `withdrawn_on` is today in Lima; `note` is staff's, sealed and never published. Reporting counts the
    grant nowhere in reports made after (a signed phase shows the difference as a restatement); one as of before still
    counts it. Answers the grant.
    """
    return GrantPublic.of(funding.withdraw_grant(grant_id=grant_id, reason=body.reason, note=body.note))


@grants.post("/{grant_id}/withdrawal/note/redaction", response_model=GrantPublic, dependencies=[*WRITES, TAKES_NO_BODY])
def redact_withdrawal_note(grant_id: UUID, funding: FundingDep) -> GrantPublic:
    """Forget a grant's withdrawal note for good; it reads `[redacted]` (deletes its key). 409 `withdrawal_note` for a grant not withdrawn, or withdrawn without a note."""
    return GrantPublic.of(funding.redact_withdrawal_note(grant_id=grant_id))


# Participatory budgets ------------------------------------------------------------------


@participatory_budgets.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ParticipatoryBudgetPublic, dependencies=WRITES, responses=OSV_NOT_HEARD_OF
)
def submit_participatory_budget(body: ParticipatoryBudgetCreate, funding: FundingDep) -> ParticipatoryBudgetPublic:
    """Record a RUOS-registered OSV's project submitted to its district's or the MML's participatory budget (records `ParticipatoryBudgetSubmitted`).

    Another district's municipality is 422 `municipality_of_the_osv`: its focal point and partner, who see their own
    district's OSVs, would never see the submission.
    """
    submission = funding.submit_participatory_budget(
        osv_id=body.osv_id,
        municipality_id=body.municipality_id,
        cycle_year=body.cycle_year,
        project_title=body.project_title,
        amount_requested=body.amount_requested,
        currency=body.currency,
        submitted_on=body.submitted_on,
    )
    return ParticipatoryBudgetPublic.of(submission)


@participatory_budgets.get("", response_model=list[ParticipatoryBudgetPublic])
def list_participatory_budgets(
    funding: FundingDep,
    scope: Reads,
    page: Paged,
    osv_id: Annotated[UUID | None, Query(description="Only this OSV's submissions.")] = None,
    municipality_id: Annotated[
        str | None,
        Query(pattern=UBIGEO_OR_MML, description="Only submissions to this municipality's participatory budget: a district's "
              "ubigeo (INEI code, `150132`) or `mml` (422 `string_pattern_mismatch` for anything else, a district's name included; "
              "`lima_municipality` for a ubigeo of no district of Lima)."),
    ] = None,
    cycle_year: Annotated[
        int | None,
        Query(ge=FIRST_CYCLE_YEAR, le=LAST_CYCLE_YEAR, description="Only submissions to this cycle's budget (the year it funds)."),
    ] = None,
) -> list[ParticipatoryBudgetPublic]:
    """List participatory-budget submissions, latest cycle first (an OSV's; to one municipality; of one cycle); paged.

    Then latest submitted first. A focal point sees those of its districts' OSVs, to their district's budget or the
    MML's. Paged by `cursor` and `limit`, with `Link: rel="next"`."""
    to = None if municipality_id is None else funding.municipalities.require_here(municipality_id, funding.districts_lacking, "funding").id
    found = funding.list_participatory_budgets(scope=scope) if osv_id is None else funding.participatory_budgets_of(osv_id=osv_id, scope=scope)
    wanted = [s for s in found if (to is None or s.municipality_id == to) and (cycle_year is None or s.cycle_year == cycle_year)]
    return [ParticipatoryBudgetPublic.of(s) for s in page.of(wanted, key=lambda s: s.id)]


@participatory_budgets.get("/{submission_id}", response_model=ParticipatoryBudgetPublic)
def get_participatory_budget(submission_id: UUID, funding: FundingDep, scope: Reads) -> ParticipatoryBudgetPublic:
    """Show one participatory-budget submission and the municipality's decision, if any."""
    return ParticipatoryBudgetPublic.of(funding.get_participatory_budget(submission_id=submission_id, scope=scope))


@participatory_budgets.post(
    "/{submission_id}/outcome", status_code=status.HTTP_201_CREATED, response_model=ParticipatoryBudgetPublic, dependencies=WRITES
)
def decide_participatory_budget(
    submission_id: UUID, body: ParticipatoryBudgetDecisionCreate, funding: FundingDep
) -> ParticipatoryBudgetPublic:
    """Record the municipality's decision on a submission, once (records `ParticipatoryBudgetDecided`)."""
    submission = funding.decide_participatory_budget(
        submission_id=submission_id, outcome=body.outcome, amount_funded=body.amount_funded, decided_on=body.decided_on
    )
    return ParticipatoryBudgetPublic.of(submission)


# Rounds and proposals ------------------------------------------------------------------


@rounds.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RoundPublic,
    dependencies=DECIDES,
    description="Open a funding round in a phase with its budget and rubric (records `RoundOpened`).\n\n"
    f"The rubric must score `organisational_capacity` and `administrative_capacity`. {SCORING_RULE}",
)
def open_round(body: RoundCreate, funding: FundingDep) -> RoundPublic:
    """Open a funding round in a phase with its budget and rubric (records `RoundOpened`)."""
    round_ = funding.open_round(
        phase_id=body.phase_id,
        name=body.name,
        budget=body.budget,
        currency=body.currency,
        opens_on=body.opens_on,
        closes_on=body.closes_on,
        eligibility=body.eligibility,
        criteria=[c.to_domain() for c in body.criteria],
    )
    return RoundPublic.of(round_)


@rounds.get("", response_model=list[RoundPublic])
def list_rounds(
    funding: FundingDep,
    caller: ProposalReader,
    page: Paged,
    name: NameQuery = None,
    phase_id: Annotated[
        UUID | None,
        Query(description="Only this phase's rounds; 404 `known_phase` for a phase that does not exist (to whoever reads every round)."),
    ] = None,
) -> list[RoundPublic]:
    """List the funding rounds, oldest first, with what remains of each budget (an evaluator: the rounds assigned to it); paged (`cursor`, `limit`, `Link: rel="next"`)."""
    if phase_id is not None and assigned_only(caller) is None:
        # 404 `known_phase`: an empty list would say the phase has no rounds. Not to an evaluator, who reads no phase:
        # its 404 and its empty list would tell which phase ids exist.
        funding.known_phase(phase_id)
    listed = [RoundPublic.of(r, holders_for(caller)) for r in funding.list_rounds(evaluator=assigned_only(caller))]
    return page.of([r for r in listed if matches_name(name, r.name) and (phase_id is None or r.phase_id == phase_id)], key=lambda r: r.id)


@rounds.get("/{round_id}", response_model=RoundPublic)
def get_round(round_id: UUID, funding: FundingDep, caller: ProposalReader) -> RoundPublic:
    """Show one round: budget, approved total, what remains, how many proposals it has and its evaluators."""
    return RoundPublic.of(funding.get_round(round_id=round_id, evaluator=assigned_only(caller)), holders_for(caller))


@rounds.post("/{round_id}/evaluators", status_code=status.HTTP_201_CREATED, response_model=RoundPublic, dependencies=DECIDES)
def assign_evaluator(round_id: UUID, body: EvaluatorAssignmentCreate, funding: FundingDep) -> RoundPublic:
    """Assign an evaluator code to a person, who may then read and score the round's proposals (records `EvaluatorAssigned`, kept private)."""
    return RoundPublic.of(
        funding.assign_evaluator(round_id=round_id, evaluator=body.evaluator, subject=body.subject, assigned_on=body.assigned_on)
    )


@rounds.post(
    "/{round_id}/evaluators/{evaluator}/withdrawal",
    status_code=status.HTTP_201_CREATED,
    response_model=RoundPublic,
    dependencies=DECIDES,
    description="Withdraw an evaluator code from a round (records `EvaluatorWithdrawn`, kept private): assigned by mistake, "
    "its holder left the programme, a conflict of interest.\n\n"
    "Decisions no longer wait for it (`scores_pending`); its holder no longer reads the round's proposals nor scores under it "
    "(409 `evaluator_withdrawn`) and holds no code in the round, so may be given another, as may the right person. The scores "
    "it gave stay on the proposals and count in their mean and the ranking. The code stays taken (409 `evaluator_code_once`): "
    "scores are published under it. A code never assigned in the round is 404 `evaluator_assigned`; one withdrawn already, "
    "409 `evaluator_withdrawn`. It may be withdrawn after the round's decisions: it changes none of them.\n\n"
    "`evaluator` names the code without regard to case (`ev-1` withdraws `EV-1`). A round whose codes were assigned before "
    "they compared so may hold two spellings of one (`EV-1`, `ev-1`): name the one meant as assigned (another spelling is "
    "409 `evaluator_code_unambiguous`).",
)
def withdraw_evaluator(round_id: UUID, evaluator: str, body: EvaluatorWithdrawalCreate, funding: FundingDep) -> RoundPublic:
    """Withdraw an evaluator code from a round, so that decisions no longer wait for it (records `EvaluatorWithdrawn`, kept private)."""
    return RoundPublic.of(
        funding.withdraw_evaluator(round_id=round_id, evaluator=evaluator, withdrawn_on=body.withdrawn_on, reason=body.reason)
    )


@rounds.post("/{round_id}/closing", status_code=status.HTTP_201_CREATED, response_model=RoundPublic, dependencies=DECIDES)
def close_round(round_id: UUID, body: RoundClosingCreate, funding: FundingDep) -> RoundPublic:
    """Close a round to new proposals (records `RoundClosed`); scoring and decisions go on."""
    return RoundPublic.of(funding.close_round(round_id=round_id, closed_on=body.closed_on))


@rounds.post(
    "/{round_id}/proposals", status_code=status.HTTP_201_CREATED, response_model=ProposalPublic, dependencies=WRITES, responses=OSV_NOT_HEARD_OF
)
def submit_proposal(round_id: UUID, body: ProposalCreate, funding: FundingDep) -> ProposalPublic:
    """Submit an OSV's proposal to a round, one per OSV (records `ProposalSubmitted`; the summary is not published)."""
    proposal = funding.submit_proposal(
        round_id=round_id,
        osv_id=body.osv_id,
        title=body.title,
        summary=body.summary,
        requested_amount=body.requested_amount,
        planned_direct_beneficiaries=body.planned_direct_beneficiaries,
        planned_indirect_beneficiaries=body.planned_indirect_beneficiaries,
        planned_outputs=[o.to_domain() for o in body.planned_outputs],
        submitted_on=body.submitted_on,
    )
    return ProposalPublic.of(proposal, osv_of(funding, proposal))


@rounds.get("/{round_id}/proposals", response_model=list[ProposalPublic])
def list_proposals(
    round_id: UUID,
    funding: FundingDep,
    caller: ProposalReader,
    page: Paged,
    osv_id: Annotated[UUID | None, Query(description="Only this OSV's proposal.")] = None,
    proposal_status: Annotated[ProposalStatus | None, Query(alias="status", description="Only proposals in this status.")] = None,
) -> list[ProposalPublic]:
    """List a round's proposals, each with its OSV's name and district, in the order they were submitted (summaries `[withheld]` to auditors); paged (`cursor`, `limit`, `Link: rel="next"`).

    A summary is staff's words, which may name people: staff, leads and the round's evaluators (who score it) read it.
    Evaluators score blind: an evaluator is shown its own scoring alone (none before it scores), the mean and the version
    null; the lead, staff and auditors read every scoring and the mean. Every reader sees which OSV a proposal is
    (`osv`: its name, district, zone, RUOS registration), as funding's view of registry's OSVs holds it."""
    found = funding.proposals_of(round_id=round_id, evaluator=assigned_only(caller))
    summary, scorings = shows_summary(caller), scorings_shown(caller, funding, round_id)
    chosen = [p for p in found if (osv_id is None or p.osv_id == osv_id) and (proposal_status is None or p.status == proposal_status)]
    paged = page.of(chosen, key=lambda p: p.id)
    osvs = funding.osvs.describe(p.osv_id for p in paged)
    return [ProposalPublic.of(p, osvs[str(p.osv_id)], summary=summary, scorings_under=scorings) for p in paged]


@rounds.get(
    "/{round_id}/ranking",
    response_model=RankingPublic,
    dependencies=[Depends(requires(Permission.PROGRAMME_READ, Permission.PROPOSALS_READ))],
)
def ranking(round_id: UUID, funding: FundingDep) -> RankingPublic:
    """Rank a round's proposals, each with its OSV's name and district, by their evaluators' mean weighted total, ties in submission order (marked `tied`), unscored last."""
    standings = funding.ranking(round_id=round_id)
    osvs = funding.osvs.describe(s.proposal.osv_id for s in standings)
    return RankingPublic.of(funding.get_round(round_id=round_id), standings, osvs)


@proposals.get("/{proposal_id}", response_model=ProposalPublic)
def get_proposal(proposal_id: UUID, funding: FundingDep, caller: ProposalReader) -> ProposalPublic:
    """Show one proposal with its OSV's name and district, its summary, scorings, decision and grants, to programme staff and the round's evaluators (an auditor reads the summary `[withheld]`).

    A summary is staff's words, which may name people: staff, leads and the round's evaluators (who score it) read it.
    Evaluators score blind: an evaluator is shown its own scoring alone (none before it scores), the mean and the version
    null; the lead, staff and auditors read every scoring and the mean. Every reader sees which OSV a proposal is
    (`osv`: its name, district, zone, RUOS registration), as funding's view of registry's OSVs holds it."""
    proposal = funding.get_proposal(proposal_id=proposal_id, evaluator=assigned_only(caller))
    return ProposalPublic.of(
        proposal, osv_of(funding, proposal), summary=shows_summary(caller), scorings_under=scorings_shown(caller, funding, proposal.round_id)
    )


SCORE_ONCE = (
    "Only an evaluator the round is assigned to scores, under an evaluator code assigned to them (another proposal answers 404; "
    "a code withdrawn from the round is 409 `evaluator_withdrawn`). "
    "Each code scores a proposal once (a second scoring is 409 `score_once`), and so does each person: one who holds several codes "
    "in a round (assigned before a person held one code per round), or was given another after one of theirs was withdrawn, and "
    "scored under one gets 409 `one_scoring_per_person` under another. Never after a decision. A scoring dated after "
    "the OSV's dissolution is 409 `osv_not_dissolved`, as an approval is: a dissolved OSV's proposal is rejected, not scored. "
    "The answer shows an evaluator its own scoring alone, the mean and the version null: evaluators score blind. "
    "Every mistake of the scores comes in one 422, each at its row, before any 409: a criterion not in the rubric "
    "(`criterion_in_rubric`), scored again (`score_each_criterion_once`, with the schema's mistakes too), a score out of its "
    "range (`score_within_range`), a criterion left unscored (`every_criterion_scored`), and `scored_on` before the "
    "proposal's submission (`not_before_submission`) or in the future (`not_in_future`)."
)


@proposals.post(
    "/{proposal_id}/scores",
    status_code=status.HTTP_201_CREATED,
    response_model=ProposalPublic,
    responses=OSV_LOST,
    description=f"Record one evaluator's scores on every criterion of the rubric (records `ProposalScored`).\n\n{SCORE_ONCE} {SCORING_RULE}",
)
@route_body_rules(scoring_body_rules)
def score_proposal(proposal_id: UUID, body: ScoringCreate, funding: FundingDep, caller: Scorer) -> ProposalPublic:
    """Record one evaluator's scores on every criterion of the rubric (records `ProposalScored`)."""
    scores = [Score(s.criterion, s.score) for s in body.scores]
    proposal = funding.score_proposal(
        proposal_id=proposal_id, evaluator=body.evaluator, scores=scores, scored_on=body.scored_on, scorer=caller.subject
    )
    return ProposalPublic.of(proposal, osv_of(funding, proposal), scorings_under=scorings_shown(caller, funding, proposal.round_id))


@proposals.post("/{proposal_id}/summary/redaction", response_model=ProposalPublic, dependencies=[*WRITES, TAKES_NO_BODY])
def redact_summary(proposal_id: UUID, funding: FundingDep) -> ProposalPublic:
    """Forget a proposal's summary for good; it reads `[redacted]` (deletes its key).

    Recorded (a private `ProposalSummaryRedacted`, no text), so that one stored before funding sealed it reads `[redacted]`
    to every reader too, its words staying in the stored event (README, "Free text"); asked again, the same answer."""
    proposal = funding.redact_summary(proposal_id=proposal_id)
    return ProposalPublic.of(proposal, osv_of(funding, proposal))


DECIDED_BY_THE_COMMITTEE = (
    "A decision waits for the committee: while an evaluator assigned to the proposal's round has not scored it, an approval, "
    "and a rejection for `low_score`, `over_budget` or `other`, are 409 `scores_pending`, the problem's `pending_evaluators` "
    "listing the codes still to score (never who holds them). A code assigned by mistake, or whose holder left, is withdrawn "
    "by a lead (`POST /rounds/{round_id}/evaluators/{evaluator}/withdrawal`) and no longer waited for; the scores it gave count. "
    "A proposal set aside unjudged (`ineligible`, as a dissolved OSV's is, `incomplete` or `withdrawn`) is rejected without "
    "waiting. A decision is taken once (409 `decide_once`)."
)


@proposals.post(
    "/{proposal_id}/approval",
    status_code=status.HTTP_201_CREATED,
    response_model=ProposalPublic,
    dependencies=DECIDES,
    responses=OSV_LOST,
    description="Approve a proposal every evaluator of its round has scored, for an amount the round's budget still holds "
    "(records `ProposalApproved`).\n\nIn a round with no evaluator assigned, a proposal no one has scored is 422 `scored_before_decision`. " + DECIDED_BY_THE_COMMITTEE,
)
def approve_proposal(proposal_id: UUID, body: ApprovalCreate, funding: FundingDep) -> ProposalPublic:
    """Approve a proposal every evaluator of its round has scored, for an amount the round's budget still holds (records `ProposalApproved`)."""
    proposal = funding.approve_proposal(proposal_id=proposal_id, amount=body.amount, approved_on=body.approved_on)
    return ProposalPublic.of(proposal, osv_of(funding, proposal))


@proposals.post(
    "/{proposal_id}/rejection",
    status_code=status.HTTP_201_CREATED,
    response_model=ProposalPublic,
    dependencies=DECIDES,
    description="Reject a proposal, giving the reason as a code (records `ProposalRejected`).\n\n" + DECIDED_BY_THE_COMMITTEE,
)
def reject_proposal(proposal_id: UUID, body: RejectionCreate, funding: FundingDep) -> ProposalPublic:
    """Reject a proposal, giving the reason as a code (records `ProposalRejected`)."""
    proposal = funding.reject_proposal(proposal_id=proposal_id, reason=body.reason, rejected_on=body.rejected_on)
    return ProposalPublic.of(proposal, osv_of(funding, proposal))


@proposals.post("/{proposal_id}/grants", status_code=status.HTTP_201_CREATED, response_model=GrantPublic, dependencies=WRITES)
def grant_from_proposal(proposal_id: UUID, body: ProposalGrantCreate, funding: FundingDep) -> GrantPublic:
    """Grant a seed fund or goods from an approved proposal, up to its approved amount (records `FundGranted`, and
    `GrantSupportRestated` for the OSV's grants it makes repeat support, as `POST /grants` does)."""
    return GrantPublic.of(funding.grant_from_proposal(
            proposal_id=proposal_id, kind=body.kind, amount=body.amount, granted_on=body.granted_on
        ))


# The app ---------------------------------------------------------------------------------


def create_app(settings: FundingSettings | None = None) -> FastAPI:
    """Build the funding service (run with ``uvicorn --factory``)."""
    return service_api(
        bootstrap(settings),
        title="osv-platform funding",
        description=(
            "Programme phases, the support (seed funds, goods) granted to OSVs with its deliveries, tranches "
            "and closing, and OSVs' participatory-budget submissions."
        ),
        routers=(phases, participatory_budgets, participatory_budgets_history, grants, rounds, rounds_history, proposals),
    )
