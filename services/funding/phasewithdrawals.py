"""Phases withdrawn as entered in error (the :class:`Funding` application's), and what their withdrawal undoes.

A mixin of :class:`~services.funding.application.Funding` (``self`` is the application: its store, its OSV directory,
its grants and rounds), kept apart from :mod:`services.funding.application` by concern, as participatory budgets are.
The rules are the domain's (:mod:`services.funding.domain.phases`).
"""

from __future__ import annotations

from uuid import UUID

from services.funding.domain.grants import Grant, RestatementReason, SupportHistory
from services.funding.domain.phases import Phase, PhaseCalendar, PhaseWithdrawalReason
from services.funding.domain.rounds import Round
from shared.history import RecordedEvent, stored_history
from shared.sealing import text_key
from shared.store import retried_on_collision


class PhaseWithdrawals:
    """:class:`~services.funding.application.Funding`'s phase withdrawals (a mixin: ``self`` is the application)."""

    @retried_on_collision
    def withdraw_phase(self, phase_id: UUID, reason: PhaseWithdrawalReason, note: str | None) -> Phase:
        """Withdraw a phase entered in error (records ``PhaseWithdrawn``, dated today in Lima); the phase as saved.

        404 ``known_phase`` for none; 409 ``phase_not_withdrawn`` for one withdrawn already; 409 ``phase_without_rounds``
        when a funding round was opened in it (a round is never withdrawn: :meth:`Phase.withdraw`).

        In the same save: the calendar forgets its dates (a phase may be opened on them; its code stays taken), and what
        opening it did to grants' support marks is undone (:meth:`_unmarked_for`). A phase opened, or a round opened in
        this one, at the same moment conflicts with it in the store; the command run again sees the other.
        """
        phase = self.get_phase(phase_id)
        rounds = [r.name for r in self._rounds_in(phase)]
        phase.withdraw(reason, note, rounds, today=self.today())
        calendar = self.find(PhaseCalendar.id_for(), PhaseCalendar)
        assert calendar is not None  # every phase is opened through it
        calendar.withdraw_phase(phase.code)
        self.save(phase, calendar, *self._unmarked_for(phase, calendar))
        return phase

    def _rounds_in(self, phase: Phase) -> list[Round]:
        """The rounds opened in the phase: those it notes, and those opened before it noted them (by their ``phase_id``)."""
        noted = set(phase.round_ids)
        rounds = [self.get_round(round_id) for round_id in self.ids_created_by(Round.RoundOpened)]
        return [r for r in rounds if r.id in noted or r.phase_id == phase.id]

    def _unmarked_for(self, phase: Phase, calendar: PhaseCalendar) -> list[SupportHistory | Grant]:
        """The support histories holding grants dated within a phase being withdrawn, and those grants whose mark that
        changes, restated (``GrantSupportRestated``, ``phase_withdrawn``, caused by the phase): outside every phase a grant
        is compared with the OSV's support before its own day again, as before the phase was opened (what
        :meth:`_marked_for` did when it opened, undone). Read and saved as :meth:`_marked_for` does."""
        unmarked: list[SupportHistory | Grant] = []
        phases = list(calendar.phases)  # without the phase withdrawn
        for history_id in self.ids_created_by(SupportHistory.SupportHistoryOpened):
            history = self.find(history_id, SupportHistory)
            # A record merged into another: its grants are marked with the organisation's, in that one's history.
            within = history.marks_in(phase) if history is not None and self.osvs.merged_into(history.osv_id) is None else {}
            if history is None or not within:
                continue
            history.give_back_phase(phase.code)
            unmarked.append(history)
            marks = history.marks(phases)
            for grant_id in within:
                grant = self.get_grant(grant_id)
                if grant.restate_support(marks[grant_id], self.today(), RestatementReason.PHASE_WITHDRAWN, phase.id):
                    unmarked.append(grant)
        return unmarked

    def phase_history(self, phase_id: UUID, text: bool = True) -> list[RecordedEvent]:
        """The phase's events as funding stored them, oldest first (``PhaseOpened``, its withdrawal), each with who made the
        command that recorded it; 404 ``known_phase`` for none. A withdrawal's note as written when ``text``, else
        :data:`~shared.roles.WITHHELD_TEXT` (:func:`shared.history.stored_history`); ``[redacted]`` once forgotten."""
        self.get_phase(phase_id)
        return stored_history(self, phase_id, text)

    def redact_phase_withdrawal_note(self, phase_id: UUID) -> Phase:
        """Forget a phase's withdrawal note for good (its key is deleted): it reads ``[redacted]`` from then on; 409
        ``withdrawal_note`` when there is none (:meth:`Phase.check_note_to_forget`)."""
        phase = self.get_phase(phase_id)
        phase.check_note_to_forget()
        self.forget_text(phase.id, phase.version, text_key(phase.id))
        return self.get_phase(phase_id)
