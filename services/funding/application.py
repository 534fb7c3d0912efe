"""Funding: the application every entry point goes through."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import Recording

from services.funding.domain.budgets import (
    BudgetOutcome,
    OSVParticipatoryBudgets,
    ParticipatoryBudgetSubmission,
    SubmissionNotFoundError,
    SubmissionTakenError,
    check_lima_municipality,
    lima_municipality_ids,
    submit_participatory_budget,
)
from services.funding.domain.grants import (
    Currency,
    DeliveredItem,
    Grant,
    GrantKind,
    GrantNotFoundError,
    GrantOutcome,
    Phase,
    PhaseCalendar,
    PhaseCodeTakenError,
    PhaseNotFoundError,
    SupportHistory,
    grant_support,
)
from services.funding.domain.rounds import (
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
from shared.districts import DistrictTable
from shared.idempotency import AnswerBook
from shared.views.osvdirectory import OSVDirectory
from shared.store import ServiceApplication, retried_on_collision


def _is_new_grant(obj: object) -> bool:
    return isinstance(obj, Grant) and any(isinstance(e, Grant.FundGranted) for e in obj.pending_events)


def _a_grant(aggregate: object) -> Grant:
    """The aggregate, if it is a grant: another kind's id names no grant."""
    if not isinstance(aggregate, Grant):
        raise AggregateNotFoundError(getattr(aggregate, "id", aggregate))
    return aggregate


class Funding(ServiceApplication):
    """Runs the programme's phases, grants support to OSVs and follows their participatory-budget submissions."""

    name = "funding"

    def __init__(self, env: Mapping[str, str] | None = None, *, osvs: OSVDirectory, answers: AnswerBook | None = None) -> None:
        super().__init__(env, answers=answers)
        self.osvs = osvs
        self.municipalities = lima_municipality_ids(DistrictTable.of_lima())

    @retried_on_collision
    def open_phase(self, code: str, name: str, starts_on: date, ends_on: date) -> UUID:
        if Phase.id_for(code) in self.repository:
            raise PhaseCodeTakenError(code)
        try:
            calendar = self.repository.get(PhaseCalendar.id_for())
        except AggregateNotFoundError:
            calendar = PhaseCalendar()
        phase = calendar.open_phase(code, name, starts_on, ends_on)
        self.save(phase, calendar)
        return phase.id

    def get_phase(self, phase_id: UUID) -> Phase:
        try:
            return self.repository.get(phase_id)
        except AggregateNotFoundError:
            raise PhaseNotFoundError(phase_id) from None

    def list_phases(self) -> list[Phase]:
        phases = [self.get_phase(i) for i in self.ids_created_by(Phase.PhaseOpened)]
        return sorted(phases, key=lambda p: p.starts_on)

    # Grants

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording]:
        """Save, and with every new grant its entry in the OSV's support history.

        One transaction: a grant is never stored without its entry, and a
        grant whose first-time/repeat mark the history no longer agrees with
        (another grant to the OSV was saved meanwhile) is refused (409), as
        are two saves that read the same version of a history.
        """
        histories: dict[UUID, SupportHistory] = {}
        new_grants = [obj for obj in objs if _is_new_grant(obj)]
        phases = self.list_phases() if new_grants else []
        for grant in new_grants:
            if grant.osv_id not in histories:
                histories[grant.osv_id] = self.find_support_history(grant.osv_id) or SupportHistory(osv_id=grant.osv_id)
            histories[grant.osv_id].enter(grant, phases)
        return super().save(*objs, *histories.values(), **kwargs)

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
        """A grant to an active OSV, checked and marked first-time or repeat, not yet saved.

        Save it (with whatever it comes from, e.g. an approved proposal) with
        :meth:`save`, which enters it in the OSV's support history in the
        same transaction.
        """
        self.osvs.require_active(osv_id)
        history = self.find_support_history(osv_id) or SupportHistory(osv_id=osv_id)
        return grant_support(
            osv_id, amount, currency, granted_on, kind, history, self.list_phases(), proposal_id=proposal_id, round_id=round_id
        )

    @retried_on_collision
    def deliver_goods(self, grant_id: UUID, items: Sequence[DeliveredItem], delivered_on: date) -> Grant:
        grant = self.get_grant(grant_id)
        grant.deliver_goods(items, delivered_on)
        self.save(grant)
        return grant

    @retried_on_collision
    def disburse(self, grant_id: UUID, tranche: int, amount: Decimal, disbursed_on: date) -> Grant:
        grant = self.get_grant(grant_id)
        grant.disburse(tranche, amount, disbursed_on)
        self.save(grant)
        return grant

    @retried_on_collision
    def close_grant(self, grant_id: UUID, outcome: GrantOutcome, final_report_reference: str, closed_on: date) -> Grant:
        grant = self.get_grant(grant_id)
        grant.close(outcome, final_report_reference, closed_on)
        self.save(grant)
        return grant

    def grants_of(self, osv_id: UUID) -> list[Grant]:
        """The OSV's grants, oldest granted first."""
        history = self.find_support_history(osv_id)
        grants = [self.get_grant(i) for i in history.grant_ids] if history else []
        return sorted(grants, key=lambda g: g.granted_on)

    def list_grants(self) -> list[Grant]:
        """Every grant, oldest granted first (the programme makes dozens, not thousands)."""
        return sorted((self.get_grant(i) for i in self.ids_created_by(Grant.FundGranted)), key=lambda g: g.granted_on)

    def find_support_history(self, osv_id: UUID) -> SupportHistory | None:
        try:
            return self.repository.get(SupportHistory.id_for(osv_id))
        except AggregateNotFoundError:
            return None

    # Participatory budgets

    @retried_on_collision
    def submit_participatory_budget(
        self,
        osv_id: UUID,
        municipality_id: str,
        cycle_year: int,
        project_title: str,
        amount_requested: Decimal,
        currency: Currency,
        submitted_on: date,
    ) -> ParticipatoryBudgetSubmission:
        osv = self.osvs.require_active(osv_id)
        municipality_id = check_lima_municipality(municipality_id, self.municipalities)
        if ParticipatoryBudgetSubmission.id_for(osv_id, municipality_id, cycle_year) in self.repository:
            raise SubmissionTakenError(municipality_id, cycle_year)
        submission = submit_participatory_budget(
            osv_id,
            osv.registered_on,
            municipality_id,
            cycle_year,
            project_title,
            amount_requested,
            currency,
            submitted_on,
            self.municipalities,
        )
        index = self.find_participatory_budget_index(osv_id) or OSVParticipatoryBudgets(osv_id=osv_id)
        index.add(submission.id)
        self.save(submission, index)
        return submission

    @retried_on_collision
    def decide_participatory_budget(
        self, submission_id: UUID, outcome: BudgetOutcome, amount_funded: Decimal | None, decided_on: date
    ) -> ParticipatoryBudgetSubmission:
        submission = self.get_participatory_budget(submission_id)
        submission.decide(outcome, amount_funded, decided_on)
        self.save(submission)
        return submission

    def get_participatory_budget(self, submission_id: UUID) -> ParticipatoryBudgetSubmission:
        try:
            submission = self.repository.get(submission_id)
        except AggregateNotFoundError:
            raise SubmissionNotFoundError(submission_id) from None
        if not isinstance(submission, ParticipatoryBudgetSubmission):
            raise SubmissionNotFoundError(submission_id)
        return submission

    def participatory_budgets_of(self, osv_id: UUID) -> list[ParticipatoryBudgetSubmission]:
        """The OSV's submissions, latest cycle first."""
        index = self.find_participatory_budget_index(osv_id)
        submissions = [self.get_participatory_budget(i) for i in index.submission_ids] if index else []
        return sorted(submissions, key=lambda s: (s.cycle_year, s.submitted_on), reverse=True)

    def find_participatory_budget_index(self, osv_id: UUID) -> OSVParticipatoryBudgets | None:
        try:
            return self.repository.get(OSVParticipatoryBudgets.id_for(osv_id))
        except AggregateNotFoundError:
            return None

    # The skeleton's grant commands

    @retried_on_collision
    def grant_fund(self, osv_id: UUID, amount: Decimal, currency: Currency, granted_on: date, kind: GrantKind) -> UUID:
        """Record a grant made directly (historic records, goods packages): :meth:`new_grant`, saved."""
        grant = self.new_grant(osv_id, amount, currency, granted_on, kind)
        self.save(grant)
        return grant.id

    def get_grant(self, grant_id: UUID) -> Grant:
        try:
            return _a_grant(self.repository.get(grant_id))
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
