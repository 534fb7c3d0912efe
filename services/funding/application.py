"""Funding: the application every entry point goes through."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import ParamSpec, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.funding.domainmodel import (
    Currency,
    Grant,
    GrantKind,
    GrantNotFoundError,
    Phase,
    PhaseCodeTakenError,
    PhaseNotFoundError,
    grant_fund,
    open_phase,
)
from services.funding.rounds import (
    Criterion,
    Eligibility,
    PhaseOfRoundUnknownError,
    PlannedOutput,
    Proposal,
    ProposalNotFoundError,
    RejectionReason,
    Round,
    RoundNotFoundError,
    Score,
    Standing,
    rank,
)
from shared.osvdirectory import OSVDirectory
from shared.store import ServiceApplication

# Rounds and proposals (issue 4): commands that save a round with a proposal -----

COMMAND_ATTEMPTS = 5

P = ParamSpec("P")
R = TypeVar("R")


def retried_on_collision(command: Callable[P, R]) -> Callable[P, R]:
    """Run the command again when a concurrent one saved the same aggregate first.

    The loser's whole save is refused (nothing of it is written); it loads again
    and its checks see what the winner saved: the OSV's earlier proposal, or a
    budget with less left in it.
    """

    @functools.wraps(command)
    def retrying(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, COMMAND_ATTEMPTS + 1):
            try:
                return command(*args, **kwargs)
            except IntegrityError:
                if attempt == COMMAND_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    return retrying

# --- end of rounds and proposals' module-level part


class Funding(ServiceApplication):
    """Runs the programme's phases and grants support to OSVs."""

    name = "funding"

    def __init__(self, env: Mapping[str, str] | None = None, *, osvs: OSVDirectory) -> None:
        super().__init__(env)
        self.osvs = osvs

    def open_phase(self, code: str, name: str, starts_on: date, ends_on: date) -> UUID:
        if Phase.id_for(code) in self.repository:
            raise PhaseCodeTakenError(code)
        phase = open_phase(code, name, starts_on, ends_on, self.list_phases())
        self.save(phase)
        return phase.id

    def get_phase(self, phase_id: UUID) -> Phase:
        try:
            return self.repository.get(phase_id)
        except AggregateNotFoundError:
            raise PhaseNotFoundError(phase_id) from None

    def list_phases(self) -> list[Phase]:
        phases = [self.get_phase(i) for i in self.ids_created_by(Phase.PhaseOpened)]
        return sorted(phases, key=lambda p: p.starts_on)

    def grant_fund(self, osv_id: UUID, amount: Decimal, currency: Currency, granted_on: date, kind: GrantKind) -> UUID:
        self.osvs.require_active(osv_id)
        grant = grant_fund(osv_id, amount, currency, granted_on, kind)
        self.save(grant)
        return grant.id

    def get_grant(self, grant_id: UUID) -> Grant:
        try:
            return self.repository.get(grant_id)
        except AggregateNotFoundError:
            raise GrantNotFoundError(grant_id) from None

    # Rounds and proposals (issue 4) ---------------------------------------------------
    #
    # A round is saved with each proposal entered in it and each approval committed
    # from its budget, so concurrent submissions and approvals collide on the round's
    # version; the loser loads again and runs its checks on what the winner saved.
    # Every command here is retried so: two evaluators scoring at once both land,
    # an approval racing a rejection gets `decide_once`.

    def open_round(
        self,
        phase_id: UUID,
        name: str,
        budget: Decimal,
        currency: Currency,
        opens_on: date,
        closes_on: date,
        eligibility: Eligibility,
        criteria: Sequence[Criterion],
    ) -> Round:
        try:
            phase = self.get_phase(phase_id)
        except PhaseNotFoundError:
            raise PhaseOfRoundUnknownError(phase_id) from None
        round_ = Round.open(phase, name, budget, currency, opens_on, closes_on, eligibility, criteria)
        self.save(round_)
        return round_

    @retried_on_collision
    def close_round(self, round_id: UUID, closed_on: date) -> Round:
        round_ = self.get_round(round_id)
        round_.close(closed_on)
        self.save(round_)
        return round_

    def get_round(self, round_id: UUID) -> Round:
        try:
            round_ = self.repository.get(round_id)
        except AggregateNotFoundError:
            raise RoundNotFoundError(round_id) from None
        if not isinstance(round_, Round):
            raise RoundNotFoundError(round_id)
        return round_

    def list_rounds(self) -> list[Round]:
        """Every round, oldest first."""
        return [self.get_round(i) for i in self.ids_created_by(Round.RoundOpened)]

    @retried_on_collision
    def submit_proposal(
        self,
        round_id: UUID,
        osv_id: UUID,
        title: str,
        summary: str,
        requested_amount: Decimal,
        planned_direct_beneficiaries: int,
        planned_indirect_beneficiaries: int,
        planned_outputs: Sequence[PlannedOutput],
        submitted_on: date,
    ) -> Proposal:
        round_ = self.get_round(round_id)
        osv = self.osvs.require_active(osv_id)
        proposal = Proposal.submit(
            round_,
            osv_id,
            osv.registered_on if osv.registered else None,
            title,
            summary,
            requested_amount,
            planned_direct_beneficiaries,
            planned_indirect_beneficiaries,
            planned_outputs,
            submitted_on,
        )
        self.save(round_, proposal)
        return proposal

    def get_proposal(self, proposal_id: UUID) -> Proposal:
        try:
            proposal = self.repository.get(proposal_id)
        except AggregateNotFoundError:
            raise ProposalNotFoundError(proposal_id) from None
        if not isinstance(proposal, Proposal):
            raise ProposalNotFoundError(proposal_id)
        return proposal

    def proposals_of(self, round_id: UUID) -> list[Proposal]:
        """A round's proposals in the order they were submitted."""
        return [self.get_proposal(i) for i in self.get_round(round_id).proposal_ids]

    @retried_on_collision
    def score_proposal(self, proposal_id: UUID, evaluator: str, scores: Sequence[Score], scored_on: date) -> Proposal:
        proposal = self.get_proposal(proposal_id)
        proposal.score(self.get_round(proposal.round_id).criteria, evaluator, scores, scored_on)
        self.save(proposal)
        return proposal

    def ranking(self, round_id: UUID) -> list[Standing]:
        round_ = self.get_round(round_id)
        return rank(round_, {i: self.get_proposal(i) for i in round_.proposal_ids})

    @retried_on_collision
    def approve_proposal(self, proposal_id: UUID, amount: Decimal, approved_on: date) -> Proposal:
        proposal = self.get_proposal(proposal_id)
        round_ = self.get_round(proposal.round_id)
        proposal.approve(round_, amount, approved_on)
        self.save(round_, proposal)
        return proposal

    @retried_on_collision
    def reject_proposal(self, proposal_id: UUID, reason: RejectionReason, rejected_on: date) -> Proposal:
        proposal = self.get_proposal(proposal_id)
        proposal.reject(reason, rejected_on)
        self.save(proposal)
        return proposal

    @retried_on_collision
    def grant_from_proposal(self, proposal_id: UUID, kind: GrantKind, amount: Decimal, granted_on: date) -> Grant:
        """Grant (part of) an approved proposal's amount; the proposal records the grant in the same save."""
        proposal = self.get_proposal(proposal_id)
        proposal.check_grant(amount, granted_on)
        grant = self.new_grant(
            proposal.osv_id,
            amount,
            proposal.currency,
            granted_on,
            kind,
            proposal_id=proposal.id,
            round_id=proposal.round_id,
        )
        proposal.record_grant(grant.id, grant.amount, granted_on)
        self.save(grant, proposal)
        return grant

    # integrator: replace with the grants branch's new_grant
    def new_grant(
        self,
        osv_id: UUID,
        amount: Decimal,
        currency: Currency,
        granted_on: date,
        kind: GrantKind,
        *,
        proposal_id: UUID | None = None,
        round_id: UUID | None = None,
    ) -> Grant:
        """An unsaved grant to an active OSV (this branch's domain does not yet take proposal_id / round_id)."""
        self.osvs.require_active(osv_id)
        return grant_fund(osv_id, amount, currency, granted_on, kind)
