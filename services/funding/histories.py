"""A funding round's history and a participatory-budget submission's, the auditors' trail of who decided what
(:mod:`shared.history`): a mixin of :class:`~services.funding.application.Funding` (``self`` is the application: its
store, its rounds, proposals and submissions, its scope checks), kept apart from :mod:`services.funding.application`
by concern, as phase withdrawals are.

A round's history is one timeline of the round's own events (its opening, each proposal entered, each evaluator code
assigned and withdrawn, the budget committed to each approval, its closing) and of every event of each of its
proposals (submitted, scored, approved or rejected, granted, its summary's redaction), oldest first, each naming the
proposal it is of. Who holds each evaluator code (``EvaluatorAssigned``'s ``subject``) and who scored (a scoring's
``recorded_by``) are in it for a reader with ``evaluators:read`` (leads, who assign the codes; auditors, who check
that no evaluator scored a proposal they have an interest in), ``[withheld]`` to staff, who read the rest (they submit
the OSVs' proposals: an evaluator they could lobby). An evaluator reads none of it: it scores blind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from uuid import UUID

from services.funding.domain.proposals import Proposal
from shared.history import RecordedEvent, stored_history
from shared.roles import ALL_LIMA, WITHHELD_TEXT, MunicipalScope
from shared.sealing import REDACTED_TEXT

if TYPE_CHECKING:
    from services.funding.domain.budgets import ParticipatoryBudgetSubmission
    from services.funding.domain.rounds import Round


@dataclass(frozen=True)
class RoundRecordedEvent:
    """One event of a round's timeline: the round's own (``proposal_id`` None) or one of its proposals'."""

    recorded: RecordedEvent
    proposal_id: UUID | None

    @property
    def key(self) -> str:
        """Unique in the timeline, for its pages' cursor: the aggregate's id and the event's version there."""
        return f"{self.proposal_id or 'round'}:{self.recorded.version}"


class RoundHistories:
    """:class:`~services.funding.application.Funding`'s rounds' and submissions' histories (a mixin: ``self`` is the
    application)."""

    if TYPE_CHECKING:
        def get_round(self, round_id: UUID, evaluator: str | None = None) -> Round: ...
        def get_proposal(self, proposal_id: UUID, evaluator: str | None = None) -> Proposal: ...
        def get_participatory_budget(
            self, submission_id: UUID, scope: MunicipalScope = ALL_LIMA
        ) -> ParticipatoryBudgetSubmission: ...
        def in_scope(self, osv_id: UUID, scope: MunicipalScope) -> bool: ...

    def round_history(
        self, round_id: UUID, scope: MunicipalScope = ALL_LIMA, text: bool = True, holders: bool = True
    ) -> list[RoundRecordedEvent]:
        """The round's events and its proposals' as funding stored them, in one timeline ordered by when each was stored
        (``recorded_at``; of one save, stored at one instant, the round's first, as the log holds them: a proposal and
        the round it enters or whose budget it takes are saved round first), each with who made the command that
        recorded it (:mod:`shared.actors`) and, for a proposal's, which proposal.

        404 ``known_round`` for none. A round belongs to no municipality; its proposals whose OSV is outside ``scope``
        are left out (every reader of the audit trail reads all of Lima today). A proposal's summary as written when
        ``text``, else :data:`~shared.roles.WITHHELD_TEXT`; :data:`~shared.sealing.REDACTED_TEXT` to every reader once
        forgotten, one stored in clear before funding sealed it too (:func:`shared.history.stored_history`). Who holds
        each evaluator code and whose account scored as written when ``holders``, else :data:`~shared.roles.WITHHELD_TEXT`
        (:func:`without_holders`).
        """
        round_ = self.get_round(round_id)
        timeline = [RoundRecordedEvent(e, None) for e in stored_history(self, round_id, text)]
        for proposal_id in round_.proposal_ids:
            proposal = self.get_proposal(proposal_id)
            if not self.in_scope(proposal.osv_id, scope):
                continue
            forgotten = proposal.summary == REDACTED_TEXT
            events = stored_history(self, proposal_id, text, redacted=lambda _event, forgotten=forgotten: forgotten)
            timeline += [RoundRecordedEvent(e, proposal_id) for e in events]
        if not holders:
            timeline = [RoundRecordedEvent(without_holders(entry.recorded), entry.proposal_id) for entry in timeline]
        # A stable sort: at one instant (one save), the round's events first, as the log holds them.
        return sorted(timeline, key=lambda entry: entry.recorded.recorded_at)

    def participatory_budget_history(
        self, submission_id: UUID, scope: MunicipalScope = ALL_LIMA, text: bool = True
    ) -> list[RecordedEvent]:
        """The submission's events as funding stored them, oldest first (``ParticipatoryBudgetSubmitted``, then the
        municipality's ``ParticipatoryBudgetDecided`` once recorded), each with who made the command that recorded it.

        404 ``known_submission`` as :meth:`get_participatory_budget` (none, or its OSV's municipality outside
        ``scope``). It holds no staff's words: ``text`` withholds nothing today, and is taken as the other histories
        take it."""
        self.get_participatory_budget(submission_id, scope)
        return stored_history(self, submission_id, text)


HOLDER_EVENTS = frozenset({"EvaluatorAssigned", "EvaluatorWithdrawn"})
"""A round's events whose ``subject`` is who holds an evaluator code (the withdrawal's, where it was recorded so)."""


def without_holders(recorded: RecordedEvent) -> RecordedEvent:
    """``recorded`` without who holds an evaluator code: an assignment's ``subject``, and a scoring's ``recorded_by``
    subject (the evaluator's account), read :data:`~shared.roles.WITHHELD_TEXT`; the rest as it is (the code, the
    scores, the actor's roles)."""
    if recorded.type in HOLDER_EVENTS and recorded.data.get("subject") is not None:
        return replace(recorded, data={**recorded.data, "subject": WITHHELD_TEXT})
    if recorded.type == "ProposalScored" and recorded.recorded_by is not None:
        return replace(recorded, recorded_by={**recorded.recorded_by, "subject": WITHHELD_TEXT})
    return recorded
