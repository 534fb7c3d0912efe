"""An OSV's follow-up history, an activity's and an OSV's needs record's, the auditors' trail of who recorded, withdrew and
redacted each meeting, technical assistance, activity and needs assessment (:mod:`shared.history`): a mixin of
:class:`~services.engagement.application.Engagement` (``self`` is the application: its store, its follow-ups,
activities and scope checks), kept apart from the field work's commands (:mod:`.fieldwork`) by concern.

Staff's words in them (a meeting's notes, its actions' wording and owners, assistance notes, an activity's description,
each withdrawal's note or reason) read as the follow-up and the activity read them: withheld from a reader who may not
read them, ``[redacted]`` once forgotten, words stored in clear before engagement sealed them too. A meeting's
attendees are those :meth:`~.application.Engagement.attendees_shown` shows in the follow-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.engagement.domain.activities import Activity
from services.engagement.domain.followup import FollowUp, Meeting
from services.engagement.domain.needs import NeedsRecord
from shared.history import RecordedEvent, stored_history
from shared.roles import ALL_LIMA, MunicipalScope

if TYPE_CHECKING:
    from eventsourcing.persistence import EventStore

FOLLOW_UP_REDACTIONS = {FollowUp.MeetingTextRedacted: "meeting_id", FollowUp.AssistanceNoteRedacted: "assistance_id"}
"""The follow-up's records of a redaction, and the field naming the meeting or assistance whose words they forget."""


def forgotten_before(events: Iterable[Any], redactions: dict[type, str | None]) -> Callable[[Any], bool]:
    """Whether a stored event's words were forgotten: a redaction of its record (the meeting, the assistance; the
    aggregate itself for a field of None) came after it. Words written after a redaction are sealed under a new key:
    they are words again until the next."""
    last: dict[Any, int] = {}
    for event in events:
        if type(event) in redactions:
            field = redactions[type(event)]
            last[getattr(event, field) if field else None] = event.originator_version

    def redacted(event: Any) -> bool:
        record = next((getattr(event, f) for f in redactions.values() if f and hasattr(event, f)), None)
        return event.originator_version < last.get(record, 0)

    return redacted


class FieldHistories:
    """:class:`~services.engagement.application.Engagement`'s follow-up, activity and needs histories (a mixin)."""

    if TYPE_CHECKING:
        events: EventStore

        def _check_in_scope(self, osv_id: UUID, scope: MunicipalScope) -> None: ...
        def _check_known(self, osv_id: UUID) -> None: ...
        def get_follow_up(self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA) -> FollowUp | None: ...
        def get_activity(self, activity_id: UUID, scope: MunicipalScope = ALL_LIMA) -> Activity: ...
        def attendees_shown(self, osv_id: UUID, meetings: Iterable[Meeting]) -> dict[UUID, tuple[UUID, ...]]: ...

    def follow_up_history(
        self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA, text: bool = True
    ) -> list[RecordedEvent]:
        """The OSV's follow-up's events as engagement stored them, oldest first (``FollowUpOpened``, each
        ``FollowUpMeetingHeld``, ``ActionItemCompleted``, ``FollowUpMeetingWithdrawn``, ``MeetingTextRedacted``,
        ``TechnicalAssistanceGiven``, ``TechnicalAssistanceWithdrawn``, ``AssistanceNoteRedacted``), each with who made
        the command that recorded it (:mod:`shared.actors`); empty for an OSV with no follow-up recorded.

        404 ``known_osv`` as :meth:`get_follow_up` (none known here, or outside ``scope``). Staff's words as written
        when ``text``, else :data:`~shared.roles.WITHHELD_TEXT`; :data:`~shared.sealing.REDACTED_TEXT` to every reader
        once forgotten. A meeting's ``attendee_member_ids`` are those the follow-up shows (members of the OSV on its
        day): one recorded before attendees were checked may have named others, who are not shown here either.
        """
        follow_up = self.get_follow_up(osv_id, scope)
        if follow_up is None:
            return []
        redacted = forgotten_before(self.events.get(follow_up.id), dict(FOLLOW_UP_REDACTIONS))
        history = stored_history(self, follow_up.id, text, redacted=redacted)
        attendees = self.attendees_shown(osv_id, follow_up.meetings.values())
        for recorded in history:
            if recorded.type == FollowUp.FollowUpMeetingHeld.__name__:
                recorded.data["attendee_member_ids"] = list(attendees.get(recorded.data["meeting_id"], ()))
        return history

    def activity_history(
        self, activity_id: UUID, scope: MunicipalScope = ALL_LIMA, text: bool = True
    ) -> list[RecordedEvent]:
        """The activity's events as engagement stored them, oldest first (``ActivityReported``, ``ActivityWithdrawn``,
        ``ActivityTextRedacted``), each with who made the command that recorded it (:mod:`shared.actors`).

        404 ``known_activity`` as :meth:`get_activity` (none, or its OSV outside ``scope``). Its description and
        withdrawal reason as written when ``text``, else :data:`~shared.roles.WITHHELD_TEXT`;
        :data:`~shared.sealing.REDACTED_TEXT` to every reader once forgotten (a reason written after a redaction is
        words again). Its participants as ``GET /activities/{id}`` shows them (pseudonymous ids, nationality, sex)."""
        self.get_activity(activity_id, scope)
        redacted = forgotten_before(self.events.get(activity_id), {Activity.ActivityTextRedacted: None})
        return stored_history(self, activity_id, text, redacted=redacted)

    def needs_history(self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA, text: bool = True) -> list[RecordedEvent]:
        """The OSV's needs record's events as engagement stored them, oldest first (``NeedsRecordOpened``, each
        ``NeedsAssessed``, ``NeedsAssessmentWithdrawn``), each with who made the command that recorded it
        (:mod:`shared.actors`); empty for an OSV with no assessment recorded.

        404 ``known_osv`` as :meth:`~.fieldwork.Fieldwork.needs_assessments` (none known here, or outside ``scope``).
        Counts and codes only: an assessment holds no staff's words and a withdrawal's reason is a code, shown as
        ``GET /osvs/{id}/needs-assessments`` shows it; a field sealed one day reads as ``text`` says, as the others'."""
        self._check_in_scope(osv_id, scope)
        record_id = NeedsRecord.id_for(osv_id)
        history = stored_history(self, record_id, text)
        if not history:
            self._check_known(osv_id)
        return history
