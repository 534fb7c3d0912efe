"""Funding's audit-trail routes for rounds and participatory budgets (who decided what, ``recorded_by``): routes only,
each translating a request into a call on :class:`~services.funding.application.Funding`. The phases' and grants'
histories are beside their other routes in :mod:`.api`, which registers these routers with its own."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from services.funding.application import Funding
from services.funding.roundschemas import RoundEventRecordPublic
from shared.auth import Caller, Permission, requires
from shared.history import EventRecordPublic, history_page
from shared.listing import Page, page_query
from shared.web import application_of

FundingDep = Annotated[Funding, Depends(application_of)]
Auditor = Annotated[Caller, Depends(requires(Permission.AUDIT_READ))]
"""A reader of the audit trail (staff, leads, auditors), within its municipal scope: as :mod:`.api`'s."""
Paged = Annotated[Page, Depends(page_query)]

rounds_history = APIRouter(prefix="/rounds", tags=["rounds"])
participatory_budgets_history = APIRouter(prefix="/participatory-budgets", tags=["participatory budgets"])


@rounds_history.get("/{round_id}/history", response_model=list[RoundEventRecordPublic])
def round_history(round_id: UUID, funding: FundingDep, caller: Auditor, page: Paged) -> list[RoundEventRecordPublic]:
    """List every event of the round and of its proposals in one timeline, oldest first, each with who recorded it (`recorded_by`), for auditors (summaries `[withheld]` to them); paged (`cursor`, `limit`, `Link: rel="next"`).

    The round's own events (`proposal_id` null): `RoundOpened`, `ProposalEntered` for each proposal,
    `EvaluatorAssigned` (the code and the login of the person it was given to, `subject`) and `EvaluatorWithdrawn`,
    `BudgetCommitted` for each approval, `RoundClosed`. Each proposal's (`proposal_id` set, `version` counting that
    proposal's events): `ProposalSubmitted`, `ProposalScored` (the code, each score, its weighted total; its
    `recorded_by` is the evaluator's account), `ProposalApproved` or `ProposalRejected`, `GrantRecorded` /
    `GrantReleased`, `ProposalSummaryRedacted`.

    Who holds each evaluator code, and who scored, stays private to funding (never published, null in `GET /rounds` to
    all but leads, auditors and the holder): it is shown here to leads, who assign the codes, and auditors, who check
    that no evaluator scored a proposal they have an interest in (`evaluators:read`), and reads `[withheld]` to staff
    (an assignment's `subject`, a scoring's `recorded_by.subject`), who submit the OSVs' proposals. An evaluator holds
    no `audit:read` (403): it scores blind. A proposal's summary (the OSV's words, which may name people) reads
    `[withheld]` to a reader without `personal-data:read` (auditors), `[redacted]` to every reader once forgotten.
    404 `known_round` for a round that does not exist."""
    scope = caller.scope(Permission.AUDIT_READ)
    history = funding.round_history(
        round_id=round_id, scope=scope, text=caller.may_read_staff_text, holders=caller.may(Permission.EVALUATORS_READ)
    )
    return [RoundEventRecordPublic.of_round(entry) for entry in page.of(history, key=lambda entry: entry.key)]


@participatory_budgets_history.get("/{submission_id}/history", response_model=list[EventRecordPublic])
def participatory_budget_history(
    submission_id: UUID, funding: FundingDep, caller: Auditor, page: Paged
) -> list[EventRecordPublic]:
    """List every event of a participatory-budget submission, oldest first, each with who recorded it (`recorded_by`), for auditors; paged (`cursor`, `limit`, `Link: rel="next"`).

    `ParticipatoryBudgetSubmitted`, then the municipality's decision as staff recorded it (`ParticipatoryBudgetDecided`:
    outcome, amount funded, day). A submission whose OSV is outside the caller's municipalities answers 404
    `known_submission`, as one that does not exist."""
    history = funding.participatory_budget_history(
        submission_id=submission_id, scope=caller.scope(Permission.AUDIT_READ), text=caller.may_read_staff_text
    )
    return history_page(history, page)
