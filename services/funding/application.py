"""Funding: the application every entry point goes through. Each command loads, calls the aggregates, saves."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from uuid import UUID

from services.funding.domain.budgets import OSVParticipatoryBudgets
from services.funding.domain.grantceilings import DEFAULT_CEILINGS, check_grant_ceiling
from services.funding.domain.grantduplicates import check_not_duplicate, same_day_and_kind
from services.funding.domain.grants import (
    DeliveredItem,
    Grant,
    GrantKind,
    GrantNotFoundError,
    GrantOutcome,
    RestatementReason,
    Support,
    SupportHistory,
    WithdrawalReason,
    grant_support,
)
from services.funding.domain.phases import Phase, PhaseCalendar, PhaseCodeTakenError, PhaseDates, PhaseNotFoundError
from services.funding.domain.proposals import (
    PlannedOutput,
    Proposal,
    ProposalNotFoundError,
    RejectionReason,
    Standing,
    rank,
)
from services.funding.domain.rounds import (
    Eligibility,
    EvaluatorWithdrawalReason,
    PhaseOfRoundUnknownError,
    Round,
    RoundNotFoundError,
)
from services.funding.domain.scoring import Criterion, Score
from services.funding.histories import RoundHistories
from services.funding.participatorybudgets import ParticipatoryBudgets
from services.funding.phasewithdrawals import PhaseWithdrawals
from services.funding.views import OSVDirectory, ProjectActivities, ProjectEnrolments
from shared.dates import dates_told_with
from shared.districts import DistrictTable
from shared.errors import RuleViolationError, raise_first
from shared.history import RecordedEvent, stored_history
from shared.idempotency import AnswerBook
from shared.money import Currency
from shared.municipalities import MunicipalityTable
from shared.roles import ALL_LIMA, MunicipalScope
from shared.sealing import KeyRing, free_text, text_key
from shared.store import ServiceApplication, retried_on_collision


class Funding(ParticipatoryBudgets, PhaseWithdrawals, RoundHistories, ServiceApplication):
    """Runs the programme's phases and funding rounds, grants support to OSVs and follows their participatory-budget submissions.

    A command that saves a shared record beside its own (the phase calendar, a
    round's budget, an OSV's support history or submissions) collides with
    another saving it at once; the loser loads again and runs its checks on
    what the winner saved (:func:`~shared.store.retried_on_collision`).
    """

    name = "funding"

    SEALED_FIELDS = {
        Proposal.ProposalSubmitted: free_text("summary", key_of=lambda e: text_key(e.originator_id)),
        Grant.GrantWithdrawn: free_text("note", key_of=lambda e: text_key(e.originator_id)),
        Phase.PhaseWithdrawn: free_text("note", key_of=lambda e: text_key(e.originator_id)),
    }
    """A proposal's summary is the OSV's own words, a grant's or a phase's withdrawal note staff's: each sealed under its
    record's text key, redacted on request, never published."""

    KEPT_AGGREGATES = (SupportHistory, PhaseCalendar, Round, OSVParticipatoryBudgets)
    """Records that grow with each grant, phase, proposal or submission: kept in memory between commands (:mod:`shared.kept`)."""
    snapshotting_intervals = {SupportHistory: 100, PhaseCalendar: 20, Round: 100}
    """Snapshotted every so many events, so that a process that does not hold them yet reads few events."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        osvs: OSVDirectory,
        enrolments: ProjectEnrolments | None = None,
        activities: ProjectActivities | None = None,
        answers: AnswerBook | None = None,
        keys: KeyRing | None = None,
        districts: DistrictTable | None = None,
        grant_ceilings: Mapping[Currency, Decimal] = DEFAULT_CEILINGS,
    ) -> None:
        """``districts``: Lima's districts, whose municipalities take participatory budgets (the ``districts_file``
        setting's table, as registry's and engagement's; the shipped one when None). ``grant_ceilings``: the largest
        grant, by currency, made directly, requested in a proposal or approved (the ``grant_ceiling_pen`` and
        ``grant_ceiling_usd`` settings). ``enrolments``: what funding knows of engagement's enrolments in each grant's
        project, and ``activities`` of its activities there, which a closing is not dated before (None: none known, as in a
        test of funding alone)."""
        super().__init__(env, answers=answers, keys=keys)
        self.osvs = osvs
        self.enrolments = enrolments
        self.activities = activities
        self.grant_ceilings = grant_ceilings
        self.municipalities = MunicipalityTable(districts or DistrictTable.of_lima())

    def municipality_of_osv(self, osv_id: UUID) -> str | None:
        """The OSV's municipality, from the local view of registry's OSVs."""
        return self.osvs.ubigeo_of(osv_id)

    def districts_lacking(self) -> list[str]:
        """The districts of OSVs its directory knows that its districts table lacks (``/health``'s ``missing_districts``)."""
        return self.osvs.districts_lacking()

    # Phases ------------------------------------------------------------------

    @retried_on_collision
    def open_phase(self, code: str, name: str, starts_on: date, ends_on: date) -> UUID:
        """Open a phase (:meth:`PhaseCalendar.open_phase`'s rules; 409 ``unique_code`` for a code taken, by a phase withdrawn
        too, which it says), marking the grants within it (:meth:`_marked_for`), in one save."""
        if Phase.id_for(code) in self.repository:
            raise PhaseCodeTakenError(code, withdrawn=self.get_phase(Phase.id_for(code)).withdrawal is not None)
        calendar = self.find(PhaseCalendar.id_for(), PhaseCalendar) or PhaseCalendar()
        phase = calendar.open_phase(code, name, starts_on, ends_on)
        self.save(phase, calendar, *self._marked_for(phase))
        return phase.id

    @retried_on_collision
    def take_merge(self, osv_id: UUID, into_osv_id: UUID) -> list[Grant]:
        """Weigh the grants of ``osv_id``, a record merged into ``into_osv_id`` (the OSV its merge chain ends in), with that
        OSV's from now on (:meth:`SupportHistory.take_merged`), and restate every grant of the organisation whose mark that
        changes (``GrantSupportRestated``, ``osv_merged``, caused by ``osv_id``), in one save; the grants restated. A
        record with no grant, or taken already, changes nothing (called again for a merge applied again). Called by the
        OSV directory as it first applies registry's ``OSVMerged`` (:attr:`OSVDirectory.on_merge`)."""
        merged = self.find_support_history(osv_id)
        if merged is None or not merged.organisation_grants:
            return []
        history = self.support_history_of(into_osv_id)
        if not history.take_merged(osv_id, merged.organisation_grants):
            return []
        restated = [
            grant for grant_id, support in history.marks(self.phase_dates()).items()
            if (grant := self.get_grant(grant_id)).restate_support(support, self.today(), RestatementReason.OSV_MERGED, osv_id)
        ]
        self.save(history, *restated)
        return restated

    def _marked_for(self, phase: Phase) -> list[SupportHistory | Grant]:
        """The support histories holding grants dated within a phase being opened, and those grants whose mark it changes,
        restated (``GrantSupportRestated``, ``phase_opened``): within a phase a grant is compared with the OSV's support
        before the phase starts, where before it was compared with the support before its own day.

        Reads every OSV's support history (one per OSV ever granted support: hundreds in a programme), and the grants
        dated within the phase; saved with the phase, in one transaction. A phase is opened a few times a programme,
        usually before its grants: then no grant is read, and nothing is saved beside the phase and the calendar.
        Measured in a fresh process over 2,500 histories holding 5,000 grants within the phase, 2,500 of them restated:
        about 1 s on SQLite, 4 s on PostgreSQL (a few thousand grants is the bound this is meant for).
        """
        marked: list[SupportHistory | Grant] = []
        for history_id in self.ids_created_by(SupportHistory.SupportHistoryOpened):
            history = self.find(history_id, SupportHistory)
            # A record merged into another: its grants are marked with the organisation's, in that one's history.
            marks = history.marks_in(phase) if history is not None and self.osvs.merged_into(history.osv_id) is None else {}
            if history is None or not marks:
                continue
            history.take_phase(phase.code)
            marked.append(history)
            for grant_id, support in marks.items():
                grant = self.get_grant(grant_id)
                if grant.restate_support(support, self.today(), RestatementReason.PHASE_OPENED, phase.id):
                    marked.append(grant)
        return marked

    def get_phase(self, phase_id: UUID) -> Phase:
        return self.load(phase_id, Phase, PhaseNotFoundError)

    def known_phase(self, phase_id: UUID, field: str = "phase_id") -> Phase:
        """The phase a list's filter names; 404 ``known_phase`` naming ``field`` for none (not an empty list: "no rounds")."""
        try:
            return self.get_phase(phase_id)
        except PhaseNotFoundError:
            raise PhaseNotFoundError(phase_id, field) from None

    def list_phases(self) -> list[Phase]:
        """Every phase, earliest first: those the calendar dates (every phase is opened through it), and those withdrawn
        as entered in error (their ``withdrawal`` set), each before a phase opened on the same first day."""
        calendar = self.find(PhaseCalendar.id_for(), PhaseCalendar)
        codes = [*(dated.code for dated in calendar.phases), *calendar.withdrawn_codes] if calendar is not None else []
        phases = [self.get_phase(Phase.id_for(code)) for code in codes]
        return sorted(phases, key=lambda p: (p.starts_on, p.withdrawal is None))

    def phase_dates(self) -> list[PhaseDates]:
        """Every phase's code and dates, from the one calendar record (no phase read): what a grant is marked by."""
        calendar = self.find(PhaseCalendar.id_for(), PhaseCalendar)
        return list(calendar.phases) if calendar is not None else []

    # Grants ------------------------------------------------------------------

    def grant_fund(
        self, osv_id: UUID, amount: Decimal, currency: Currency, granted_on: date, kind: GrantKind, distinct_from: Iterable[UUID] = ()
    ) -> UUID:
        """Record a grant made directly (historic records, goods packages), entered in the OSV's support history; 409
        ``possible_duplicate`` when the OSV has a grant of the same kind, amount, currency and day that ``distinct_from``
        does not name (:mod:`~services.funding.domain.grantduplicates`)."""
        return self.granted_fund(osv_id, amount, currency, granted_on, kind, distinct_from).id

    @retried_on_collision
    def granted_fund(
        self, osv_id: UUID, amount: Decimal, currency: Currency, granted_on: date, kind: GrantKind, distinct_from: Iterable[UUID] = ()
    ) -> Grant:
        """:meth:`grant_fund`, giving the grant as saved: what ``POST /grants`` answers, without reading it back."""
        grant, history, restated = self.new_grant(osv_id, amount, currency, granted_on, kind, distinct_from=distinct_from)
        self.save(grant, history, *restated)
        return grant

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
        distinct_from: Iterable[UUID] = (),
    ) -> tuple[Grant, SupportHistory, list[Grant]]:
        """A grant to an active OSV, marked first-time or repeat from its support history; that history with it entered;
        and the OSV's grants it makes repeat support, restated (``GrantSupportRestated``, ``earlier_grant_recorded``):
        it is dated before the phase (or, outside every phase, the day) of grants recorded before it.

        None is saved: save them all (and whatever the grant comes from, e.g. an
        approved proposal) in one transaction, so that a grant is never stored
        without its entry, nor a mark it changes left as it was. The history is read once: when another grant to the
        OSV was saved meanwhile (or a phase holding its grants opened), the two saves conflict on the history's
        version in the store and the command runs again on what was saved.

        A grant made directly (no ``proposal_id``) is 409 ``possible_duplicate`` when the organisation has a grant not
        withdrawn of the same kind, amount, currency and day that ``distinct_from`` does not name (tester 177 F4): read
        from that same history, so two identical requests at once record one (the second, run again, finds the first).
        Before anything is read, one made directly above the programme's ceiling for its currency is 422
        ``at_most_grant_ceiling`` (tester 192 F2); one made on a proposal is bounded by its approval, itself at most the
        ceiling (:meth:`approve_proposal`).
        """
        if proposal_id is None:
            check_grant_ceiling(amount, currency, self.grant_ceilings)
        osv = self.osvs.require_active(osv_id, on=granted_on, dated="granted_on")
        history = self.support_history_of(osv_id)
        named = list(distinct_from)
        distinct = list(dict.fromkeys(named))
        if proposal_id is None:  # a proposal's grants are bounded by its approved amount (grantduplicates' docstring)
            same = [self.get_grant(other) for other in same_day_and_kind(history, granted_on, kind, amount, currency)]
            check_not_duplicate(amount, currency, granted_on, kind, same, named)
        phases = self.phase_dates()
        grant = grant_support(
            osv_id, amount, currency, granted_on, kind, history, phases,
            proposal_id=proposal_id, round_id=round_id, mapped_on=osv.mapped_on, distinct_from=distinct,
        )
        made_repeat = history.made_repeat_by(granted_on, phases)
        history.enter(grant, phases)
        restated = [
            later for later in map(self.get_grant, made_repeat)
            if later.restate_support(Support.REPEAT, self.today(), RestatementReason.EARLIER_GRANT_RECORDED, grant.id)
        ]
        return grant, history, restated

    @retried_on_collision
    def deliver_goods(self, grant_id: UUID, items: Sequence[DeliveredItem], delivered_on: date, distinct_from: Sequence[UUID] = ()) -> Grant:
        """Record goods handed over on a goods grant; 409 ``osv_not_dissolved`` if its OSV dissolved before ``delivered_on``,
        409 ``osv_lost_in_registry_restore`` if registry lost it in a restore (:meth:`OSVDirectory.require_not_dissolved`);
        409 ``possible_duplicate`` (a resend racing the first collides on the grant, and run again finds it), 422
        ``unique_item`` and the rest as :meth:`Grant.deliver_goods`."""
        grant = self.get_grant(grant_id)
        self.osvs.require_not_dissolved(grant.osv_id, on=delivered_on, dated="delivered_on")
        grant.deliver_goods(items, delivered_on, distinct_from)
        self.save(grant)
        return grant

    @retried_on_collision
    def disburse(self, grant_id: UUID, tranche: int, amount: Decimal, disbursed_on: date) -> Grant:
        """Record the next tranche paid on a seed-fund grant; 409 ``osv_not_dissolved`` if its OSV dissolved before
        ``disbursed_on``, 409 ``osv_lost_in_registry_restore`` if registry lost it in a restore
        (:meth:`OSVDirectory.require_not_dissolved`)."""
        grant = self.get_grant(grant_id)
        self.osvs.require_not_dissolved(grant.osv_id, on=disbursed_on, dated="disbursed_on")
        grant.disburse(tranche, amount, disbursed_on)
        self.save(grant)
        return grant

    @retried_on_collision
    def close_grant(self, grant_id: UUID, outcome: GrantOutcome, final_report_reference: str, closed_on: date) -> Grant:
        """Close the grant; 409 ``closed_after_enrolments`` or ``closed_after_activities`` when dated before the latest
        enrolment, or activity not withdrawn, in its project funding has heard of from engagement
        (:class:`~services.funding.views.ProjectEnrolments`, :class:`~services.funding.views.ProjectActivities`), and
        :meth:`Grant.close`'s other refusals."""
        grant = self.get_grant(grant_id)
        last_enrolled_on = self.enrolments.last_enrolled_on(grant_id) if self.enrolments is not None else None
        last_held_on = self.activities.last_held_on(grant_id) if self.activities is not None else None
        grant.close(outcome, final_report_reference, closed_on, last_enrolled_on, last_held_on)
        self.save(grant)
        return grant

    @retried_on_collision
    def withdraw_grant(self, grant_id: UUID, reason: WithdrawalReason, note: str | None) -> Grant:
        """Withdraw a grant entered in error (records ``GrantWithdrawn``, dated today in Lima); 409 ``grant_not_withdrawn``,
        ``grant_open`` or ``nothing_paid_out`` as :meth:`Grant.check_withdrawable` says.

        In the same save: the support histories that weighed it weigh it no more (the OSV's, and the one of the OSV its
        record was merged into), each grant whose mark that changes is restated (``GrantSupportRestated``,
        ``grant_withdrawn``, caused by this grant), and the proposal it was granted on holds its amount again.
        """
        grant = self.get_grant(grant_id)
        grant.withdraw(reason, note, today=self.today())
        changed: list[SupportHistory | Grant | Proposal] = [grant]
        organisation = self._organisation_of(grant.osv_id)
        for osv_id in dict.fromkeys((grant.osv_id, organisation)):
            history = self.find_support_history(osv_id)
            if history is None or not history.take_withdrawn(grant.id):
                continue
            changed.append(history)
            if osv_id != organisation:
                continue  # a record merged into another: the organisation's marks are read from that one's history
            for other_id, support in history.marks(self.phase_dates()).items():
                other = self.get_grant(other_id)
                if other.restate_support(support, self.today(), RestatementReason.GRANT_WITHDRAWN, grant.id):
                    changed.append(other)
        if grant.proposal_id is not None:
            proposal = self.get_proposal(grant.proposal_id)
            proposal.release_grant(grant.id)
            changed.append(proposal)
        self.save(*changed)
        return grant

    def _organisation_of(self, osv_id: UUID) -> UUID:
        """The OSV a record's merge chain ends in (the record itself when it was merged into none)."""
        seen = [osv_id]
        while (merged := self.osvs.merged_into(seen[-1])) is not None and UUID(merged.into_osv_id) not in seen:
            seen.append(UUID(merged.into_osv_id))
        return seen[-1]

    def redact_withdrawal_note(self, grant_id: UUID) -> Grant:
        """Forget a grant's withdrawal note for good (its key is deleted): it reads `[redacted]` from then on; 409
        ``withdrawal_note`` when there is none (:meth:`Grant.check_note_to_forget`)."""
        grant = self.get_grant(grant_id)
        grant.check_note_to_forget()
        self.forget_text(grant.id, grant.version, text_key(grant.id))
        return self.get_grant(grant_id)

    def get_grant(self, grant_id: UUID, scope: MunicipalScope = ALL_LIMA) -> Grant:
        """The grant; 404 when there is none or its OSV's municipality is outside ``scope``."""
        grant = self.load(grant_id, Grant, GrantNotFoundError)
        if not self.in_scope(grant.osv_id, scope):
            raise GrantNotFoundError(grant_id)
        return grant

    def grant_history(self, grant_id: UUID, scope: MunicipalScope = ALL_LIMA, text: bool = True) -> list[RecordedEvent]:
        """The grant's events as funding stored them, oldest first (`FundGranted`, its deliveries or tranches, its
        closing or withdrawal): the audit trail, each with who made the command that recorded it (:mod:`shared.actors`).

        404 as :meth:`get_grant` (none, or its OSV's municipality outside ``scope``). Sealed fields
        (:attr:`SEALED_FIELDS`: a withdrawal's note) as written when ``text``, else
        :data:`~shared.roles.WITHHELD_TEXT` (:func:`shared.history.stored_history`).
        """
        self.get_grant(grant_id, scope)
        return stored_history(self, grant_id, text)

    def in_scope(self, osv_id: UUID, scope: MunicipalScope) -> bool:
        """Whether the OSV's municipality (from the view of registry's OSVs) is in ``scope``."""
        return scope.all_of_lima or scope.covers(self.osvs.ubigeo_of(osv_id))

    def grants_of(self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA) -> list[Grant]:
        """The OSV's grants, oldest granted first; none for an OSV outside ``scope``."""
        history = self.find_support_history(osv_id) if self.in_scope(osv_id, scope) else None
        grants = [self.get_grant(i) for i in history.grant_ids] if history else []
        return sorted(grants, key=lambda g: g.granted_on)

    def list_grants(self, scope: MunicipalScope = ALL_LIMA) -> list[Grant]:
        """Every grant to an OSV in ``scope``, oldest granted first (the programme makes dozens, not thousands)."""
        grants = (self.get_grant(i) for i in self.ids_created_by(Grant.FundGranted))
        return sorted((g for g in grants if self.in_scope(g.osv_id, scope)), key=lambda g: g.granted_on)

    def find_support_history(self, osv_id: UUID) -> SupportHistory | None:
        return self.find(SupportHistory.id_for(osv_id), SupportHistory)

    def support_history_of(self, osv_id: UUID) -> SupportHistory:
        """The OSV's support history, or a new one before its first grant."""
        return self.find_support_history(osv_id) or SupportHistory(osv_id=osv_id)

    # Rounds and proposals ---------------------------------------------------------
    #
    # A round is saved with each proposal entered in it and each approval committed
    # from its budget, so concurrent submissions and approvals collide on the round's
    # version; the loser loads again and runs its checks on what the winner saved.
    # Every command here is retried so: two evaluators scoring at once both land,
    # an approval racing a rejection gets `decide_once`.

    @retried_on_collision
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
        """Open a round in the phase (422 ``phase_exists`` for none; 409 ``phase_not_withdrawn`` for one withdrawn), noted in
        the phase and saved with it: a withdrawal of the phase at the same moment conflicts with it in the store."""
        try:
            phase = self.get_phase(phase_id)
        except PhaseNotFoundError:
            raise PhaseOfRoundUnknownError(phase_id) from None
        phase.check_not_withdrawn()
        round_ = Round.open(phase, name, budget, currency, opens_on, closes_on, eligibility, criteria)
        phase.enter_round(round_.id)
        self.save(round_, phase)
        return round_

    @retried_on_collision
    def close_round(self, round_id: UUID, closed_on: date) -> Round:
        round_ = self.get_round(round_id)
        round_.close(closed_on)
        self.save(round_)
        return round_

    def get_round(self, round_id: UUID, evaluator: str | None = None) -> Round:
        """The round; with ``evaluator`` (a subject reading as an evaluator), 404 unless it is assigned to them."""
        round_ = self.load(round_id, Round, RoundNotFoundError)
        if evaluator is not None and not round_.assigned_to(evaluator):
            raise RoundNotFoundError(round_id)
        return round_

    def known_round(self, round_id: UUID, field: str = "round_id") -> Round:
        """The round a list's filter names; 404 ``known_round`` naming ``field`` for none (not an empty list: "no grants")."""
        try:
            return self.get_round(round_id)
        except RoundNotFoundError:
            raise RoundNotFoundError(round_id, field) from None

    def list_rounds(self, evaluator: str | None = None) -> list[Round]:
        """Every round, oldest first; with ``evaluator``, those assigned to them."""
        rounds = [self.get_round(i) for i in self.ids_created_by(Round.RoundOpened)]
        return [r for r in rounds if evaluator is None or r.assigned_to(evaluator)]

    @retried_on_collision
    def assign_evaluator(self, round_id: UUID, evaluator: str, subject: str, assigned_on: date) -> Round:
        """Give ``subject`` (a signed-in person) the evaluator code ``evaluator`` in the round."""
        round_ = self.get_round(round_id)
        round_.assign_evaluator(evaluator, subject, assigned_on)
        self.save(round_)
        return round_

    @retried_on_collision
    def withdraw_evaluator(
        self, round_id: UUID, evaluator: str, withdrawn_on: date, reason: EvaluatorWithdrawalReason
    ) -> Round:
        """Withdraw the evaluator code ``evaluator`` from the round: decisions stop waiting for it; its scores stay."""
        round_ = self.get_round(round_id)
        round_.withdraw_evaluator(evaluator, withdrawn_on, reason)
        self.save(round_)
        return round_

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
        """Submit the OSV's proposal to the round and enter it there, saved together. Before the OSV is read, a
        ``requested_amount`` above the programme's ceiling for one grant in the round's currency is 422
        ``at_most_grant_ceiling`` (tester 208 F3: what is requested is what is approved and granted)."""
        round_ = self.get_round(round_id)
        check_grant_ceiling(requested_amount, round_.currency, self.grant_ceilings, "requested_amount")
        osv = self.osvs.require_active(osv_id, on=submitted_on, dated="submitted_on")
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

    def get_proposal(self, proposal_id: UUID, evaluator: str | None = None) -> Proposal:
        """The proposal; with ``evaluator`` (a subject reading as an evaluator), 404 unless its round is assigned to them."""
        proposal = self.load(proposal_id, Proposal, ProposalNotFoundError)
        if evaluator is not None and not self.load(proposal.round_id, Round, RoundNotFoundError).assigned_to(evaluator):
            raise ProposalNotFoundError(proposal_id)
        return proposal

    @retried_on_collision
    def redact_summary(self, proposal_id: UUID) -> Proposal:
        """Forget the proposal's summary for good: it reads ``[redacted]`` to every reader from then on (staff, the
        round's evaluators); the proposal and its facts stay. The proposal as it reads then; 404 ``known_proposal``.

        The redaction is recorded first (a private ``ProposalSummaryRedacted``, no text: :meth:`Proposal.redact_summary`),
        then the key that sealed the summary is deleted, and every kept answer about the proposal. A summary stored
        before funding sealed it is in clear in its ``ProposalSubmitted``: the record makes it read ``[redacted]``, but it
        stays in the stored event (the log is append-only). Asked again, it records nothing more and answers the same."""
        proposal = self.get_proposal(proposal_id)
        if proposal.redact_summary():
            self.save(proposal)  # first: a summary stored in clear reads [redacted] from then on
        self.forget_text(proposal.id, proposal.version, text_key(proposal.id))
        return self.get_proposal(proposal_id)

    def proposals_of(self, round_id: UUID, evaluator: str | None = None) -> list[Proposal]:
        """A round's proposals in the order they were submitted (``evaluator``: see :meth:`get_round`)."""
        return [self.get_proposal(i) for i in self.get_round(round_id, evaluator).proposal_ids]

    def _scoring_told_with_dates(
        self, proposal_id: UUID, evaluator: str | None, scores: Sequence[Score], scored_on: date, *, scorer: str
    ) -> Iterator[RuleViolationError]:
        """:meth:`score_proposal`'s 422s, read only, for the date rule's refusal to come with them (tester 212 F7)."""
        proposal, round_ = self._held_proposal(proposal_id, scorer)
        return proposal.scoring_mistakes(round_.criteria, scores, scored_on)

    def _held_proposal(self, proposal_id: UUID, scorer: str) -> tuple[Proposal, Round]:
        """The proposal and its round, if the round is assigned to ``scorer`` (or was): else 404."""
        proposal = self.load(proposal_id, Proposal, ProposalNotFoundError)
        round_ = self.get_round(proposal.round_id)
        if not round_.held_by(scorer):
            raise ProposalNotFoundError(proposal_id)
        return proposal, round_

    @retried_on_collision
    @dates_told_with(_scoring_told_with_dates)
    def score_proposal(
        self, proposal_id: UUID, evaluator: str | None, scores: Sequence[Score], scored_on: date, *, scorer: str
    ) -> Proposal:
        """Record ``scorer``'s scores under their evaluator code in the proposal's round (``evaluator`` names it if they hold several).

        404 unless the round is assigned to ``scorer``, or was until their code was withdrawn (then 409
        ``evaluator_withdrawn``, :meth:`.Round.scoring_code`); 409 ``osv_not_dissolved`` if the proposal's OSV dissolved
        before ``scored_on`` (``osv_lost_in_registry_restore`` if registry lost it in a restore), as its approval is: a dissolved OSV's proposal is rejected (what winds it down), not scored.
        Every mistake of the body comes first, after the 404 only, in one 422: the scores' by the round's rubric and a
        ``scored_on`` before the submission (:meth:`.Proposal.scoring_mistakes`), and the date rule's refusal of
        ``scored_on`` with them (:func:`~shared.dates.dates_told_with`; tester 212 F7).
        """
        proposal, round_ = self._held_proposal(proposal_id, scorer)
        raise_first(proposal.scoring_mistakes(round_.criteria, scores, scored_on))  # before any 409 (testers 208 F7, 212 F7)
        self.osvs.require_not_dissolved(proposal.osv_id, on=scored_on, dated="scored_on")
        code = round_.scoring_code(scorer, evaluator)
        proposal.score(round_.criteria, code, scores, scored_on, [*round_.codes_of(scorer), *round_.withdrawn_codes_of(scorer)])
        self.save(proposal)
        return proposal

    def ranking(self, round_id: UUID) -> list[Standing]:
        round_ = self.get_round(round_id)
        return rank(round_, {i: self.get_proposal(i) for i in round_.proposal_ids})

    @retried_on_collision
    def approve_proposal(self, proposal_id: UUID, amount: Decimal, approved_on: date) -> Proposal:
        """Approve a proposal every evaluator of its round has scored (409 ``scores_pending``) from its round's budget; 409
        ``osv_not_dissolved`` if its OSV dissolved before ``approved_on`` (``osv_lost_in_registry_restore`` if registry lost
        it in a restore).

        Before anything else is read, an ``amount`` above the programme's ceiling for one grant in the proposal's
        currency is 422 ``at_most_grant_ceiling`` (tester 208 F3), so that no grant made on the proposal exceeds it. A
        proposal requested above the ceiling before the rule is approved within it; one approved above it before the
        rule is granted within its approved amount (:mod:`~services.funding.domain.grantceilings`)."""
        proposal = self.get_proposal(proposal_id)
        check_grant_ceiling(amount, proposal.currency, self.grant_ceilings)
        self.osvs.require_not_dissolved(proposal.osv_id, on=approved_on, dated="approved_on")
        round_ = self.get_round(proposal.round_id)
        proposal.approve(round_, amount, approved_on)
        self.save(round_, proposal)
        return proposal

    @retried_on_collision
    def reject_proposal(self, proposal_id: UUID, reason: RejectionReason, rejected_on: date) -> Proposal:
        """Reject a proposal; on its merits only once every evaluator of its round has scored it (409 ``scores_pending``)."""
        proposal = self.get_proposal(proposal_id)
        proposal.reject(self.get_round(proposal.round_id), reason, rejected_on)
        self.save(proposal)
        return proposal

    @retried_on_collision
    def grant_from_proposal(self, proposal_id: UUID, kind: GrantKind, amount: Decimal, granted_on: date) -> Grant:
        """Grant (part of) an approved proposal's amount: the grant, the proposal's record of it and the OSV's support history, saved together.

        The approved amount bounds it, and an approval is at most the programme's ceiling for one grant (:meth:`approve_proposal`),
        so it is not checked against the ceiling again: a proposal approved above it before the rule is granted within its
        approved amount."""
        proposal = self.get_proposal(proposal_id)
        proposal.check_grant(amount, granted_on)
        grant, history, restated = self.new_grant(
            proposal.osv_id,
            amount,
            proposal.currency,
            granted_on,
            kind,
            proposal_id=proposal.id,
            round_id=proposal.round_id,
        )
        proposal.record_grant(grant.id, grant.amount, granted_on)
        self.save(grant, proposal, history, *restated)
        return grant
