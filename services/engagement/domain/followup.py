"""Engagement's field work: following each OSV up with meetings, the actions they agree, and technical assistance.

From the practice: "Reuniones periódicas con las organizaciones vecinales para
hacer seguimiento de sus acciones, pendientes; procesos de registro en el RUOS;
y reporte de actividades y beneficiarios".

Pure: the aggregate, the events it records, the rules and the named errors
those rules raise. What staff type freely (meeting notes, action items, an
assistance note) may mention people: it stays in the aggregate and its
encrypted stored events, and the public events carry ids, dates, kinds and
counts only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from services.engagement.domain.followuperrors import (
    MAX_HOURS_PER_RECORD as MAX_HOURS_PER_RECORD,
)
from services.engagement.domain.followuperrors import (
    ActionAlreadyCompletedError as ActionAlreadyCompletedError,
)
from services.engagement.domain.followuperrors import (
    ActionItemNotFoundError as ActionItemNotFoundError,
)
from services.engagement.domain.followuperrors import (
    AssistanceNotFoundError as AssistanceNotFoundError,
)
from services.engagement.domain.followuperrors import (
    AttendedMeetingError as AttendedMeetingError,
)
from services.engagement.domain.followuperrors import (
    CompletedBeforeMeetingError as CompletedBeforeMeetingError,
)
from services.engagement.domain.followuperrors import (
    DueBeforeMeetingError as DueBeforeMeetingError,
)
from services.engagement.domain.followuperrors import (
    MeetingNotFoundError as MeetingNotFoundError,
)
from services.engagement.domain.followuperrors import (
    NoTopicError as NoTopicError,
)
from services.engagement.domain.followuperrors import (
    RepeatedAttendeeError as RepeatedAttendeeError,
)
from services.engagement.domain.followuperrors import (
    RepeatedTopicError as RepeatedTopicError,
)
from services.engagement.domain.followuperrors import (
    TooManyHoursError as TooManyHoursError,
)
from services.engagement.domain.followuperrors import (
    UnknownAttendeeError as UnknownAttendeeError,
)
from services.engagement.domain.repeats import check_not_recorded, kept
from services.engagement.domain.withdrawals import (
    ActionOfWithdrawnMeetingError,
    AssistanceWithdrawnError,
    FieldWithdrawalReason,
    MeetingWithdrawnError,
    Withdrawal,
)
from shared.errors import (
    RuleViolationError,
    check_not_before,
    check_not_in_future,
    check_not_negative,
    check_positive,
    raise_first,
    refused,
)
from shared.money import CENT
from shared.sealing import REDACTED_TEXT


class MeetingMode(StrEnum):
    VIRTUAL = "virtual"
    IN_PERSON = "in_person"


class MeetingTopic(StrEnum):
    RUOS_REGISTRATION = "ruos_registration"
    PROJECT_FOLLOW_UP = "project_follow_up"
    ACTIVITIES_REPORT = "activities_report"
    BENEFICIARIES_REPORT = "beneficiaries_report"
    TRAINING = "training"
    NEEDS = "needs"
    FINANCES = "finances"
    OTHER = "other"


class AssistanceTopic(StrEnum):
    RUOS_REGISTRATION = "ruos_registration"
    PROJECT_DESIGN = "project_design"
    ACCOUNTING = "accounting"
    LEADERSHIP = "leadership"
    FUNDRAISING = "fundraising"
    COMMUNICATION = "communication"
    DIGITAL_SKILLS = "digital_skills"
    OTHER = "other"


class ContactKind(StrEnum):
    MEETING = "meeting"
    TECHNICAL_ASSISTANCE = "technical_assistance"


# Rules ------------------------------------------------------------------


def topic_mistakes(topics: Sequence[MeetingTopic | None]) -> Iterator[RuleViolationError]:
    """Every mistake of a meeting's topics: at least one (422 ``at_least_one_topic``), each once (422 ``unique_topics``).
    A row None is skipped (:func:`~shared.errors.refused`)."""
    if not topics:
        yield NoTopicError()
    seen: set[MeetingTopic] = set()
    for index, topic in enumerate(topics):
        if topic is None:
            continue
        if topic in seen:
            yield RepeatedTopicError(index, topic)
        seen.add(topic)


def attendee_mistakes(attendee_member_ids: Sequence[UUID | None], known_members: Collection[UUID]) -> Iterator[RuleViolationError]:
    """Every mistake of a meeting's attendees, in order: each named once (422 ``unique_attendees``), one of
    ``known_members`` (the OSV's members on the meeting's day: 422 ``known_member``). A row None is skipped (:func:`~shared.errors.refused`)."""
    first: dict[UUID, int] = {}
    for index, member_id in enumerate(attendee_member_ids):
        if member_id is None:
            continue
        if member_id in first:
            yield RepeatedAttendeeError(index, first[member_id])
        elif member_id not in known_members:
            yield UnknownAttendeeError(index)
        first.setdefault(member_id, index)


def check_hours(hours: Decimal) -> None:
    check_positive(hours, "hours")
    if hours > MAX_HOURS_PER_RECORD:
        raise TooManyHoursError(hours)


# Follow-up: meetings, their action items, technical assistance ---------


@dataclass(frozen=True)
class ActionItemDraft:
    """An action agreed at a meeting, as staff write it down."""

    description: str
    owner: str
    due_on: date


@dataclass(frozen=True)
class ActionItem:
    """An action a meeting agreed; frozen (a completion or a redaction replaces it), so kept copies share it."""

    action_id: UUID
    meeting_id: UUID
    held_on: date
    description: str
    owner: str
    due_on: date
    completed_on: date | None = None
    withdrawn_on: date | None = None
    """Set when its meeting was withdrawn before it was done: it is no longer pending."""

    @property
    def open(self) -> bool:
        return self.completed_on is None and self.withdrawn_on is None

    def overdue(self, today: date) -> bool:
        return self.open and self.due_on < today


@dataclass(frozen=True)
class Meeting:
    meeting_id: UUID
    held_on: date
    mode: MeetingMode
    attendee_member_ids: tuple[UUID, ...]
    other_attendees: int
    topics: tuple[MeetingTopic, ...]
    notes: str | None
    action_ids: tuple[UUID, ...]
    distinct_from: tuple[UUID, ...] = ()
    """The OSV's meetings of the same day and mode that staff said this one is not; none in one stored before."""
    withdrawal: Withdrawal | None = None
    """Set when it was withdrawn as recorded by mistake (:meth:`FollowUp.withdraw_meeting`): it counts nowhere since."""

    @property
    def attendee_count(self) -> int:
        return len(self.attendee_member_ids) + self.other_attendees


@dataclass(frozen=True)
class TechnicalAssistance:
    assistance_id: UUID
    given_on: date
    topic: AssistanceTopic
    hours: Decimal
    note: str | None
    distinct_from: tuple[UUID, ...] = ()
    """The OSV's assistance of the same day and topic that staff said this one is not; none in one stored before."""
    withdrawal: Withdrawal | None = None
    """Set when it was withdrawn as recorded by mistake (:meth:`FollowUp.withdraw_assistance`): its hours count nowhere since."""


@dataclass(frozen=True)
class Contact:
    on: date
    kind: ContactKind


class FollowUp(Aggregate):
    """The programme's follow-up of one OSV: meetings, what they agreed, technical assistance.

    One per OSV, its id worked out from the OSV's, opened with its first record.

    Its free text (notes, the wording and owners of actions, assistance notes)
    is sealed in the store, each under a key of its own. A redaction is
    recorded as an event (:meth:`redact_meeting_text`,
    :meth:`redact_assistance_note`) before the key is deleted, so a copy kept
    in any replica's memory forgets the text as it reads the event.
    """

    FLAT_COPIED = ("meetings", "action_items", "assistance", "redacted")
    """Hold only values that never change: copied for a command as they are (:func:`shared.kept.copy_kept`)."""

    REDACTIONS_RECORDED = True
    """Every key deletion of its sealed text is recorded as an event it applies: it may be kept in memory (:mod:`shared.kept`)."""

    @staticmethod
    def create_id(osv_id: UUID, **_: object) -> UUID:
        return FollowUp.id_for(osv_id)

    @staticmethod
    def id_for(osv_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:follow-up:{osv_id}")

    @event("FollowUpOpened")
    def __init__(self, osv_id: UUID) -> None:
        self.osv_id = osv_id
        self.meetings: dict[UUID, Meeting] = {}
        self.action_items: dict[UUID, ActionItem] = {}
        self.assistance: list[TechnicalAssistance] = []
        self.redacted: set[UUID] = set()  # meetings and assistance records whose text is forgotten

    # Meetings and action items

    def hold_meeting(
        self,
        held_on: date,
        mode: MeetingMode,
        topics: Sequence[MeetingTopic],
        attendee_member_ids: Sequence[UUID],
        other_attendees: int,
        notes: str | None,
        action_items: Sequence[ActionItemDraft],
        *,
        known_members: Collection[UUID],
        today: date,
        mapped_on: date | None = None,
        distinct_from: Sequence[UUID] = (),
    ) -> Meeting:
        """Record a follow-up meeting with the OSV and the actions it agreed: not before the programme mapped it (``mapped_on``).

        A meeting held the same day in the same mode as one the OSV holds is 409 ``possible_duplicate`` naming it, unless
        ``distinct_from`` names it (:mod:`~services.engagement.domain.repeats`); kept, ``distinct_from`` is recorded."""
        raise_first([  # every mistake in one 422, in the body's order: it was told one at a time (helper 193)
            *refused(check_not_in_future, held_on, today, "held_on"),
            *refused(check_not_before, "held_on", held_on, "mapped_on", mapped_on),
            *topic_mistakes(topics),
            *refused(check_not_negative, other_attendees, "other_attendees"),
            *attendee_mistakes(attendee_member_ids, known_members),
            *(DueBeforeMeetingError(index, item.due_on, held_on) for index, item in enumerate(action_items) if item.due_on < held_on),
        ])
        self.check_meeting_not_held(held_on, mode, distinct_from)
        meeting_id = uuid4()
        self._meeting_held(
            osv_id=self.osv_id,
            meeting_id=meeting_id,
            held_on=held_on,
            mode=mode,
            topics=list(topics),
            attendee_member_ids=list(attendee_member_ids),
            other_attendees=other_attendees,
            notes=notes,
            action_items=[{"action_id": uuid4(), **asdict(item)} for item in action_items],
            distinct_from=kept(distinct_from),
        )
        return self.meetings[meeting_id]

    def check_meeting_not_held(self, held_on: date, mode: MeetingMode, distinct_from: Sequence[UUID]) -> None:
        """409 ``possible_duplicate`` (field ``held_on``) naming the OSV's meetings held on ``held_on`` in ``mode``, not
        withdrawn (the right one is recorded again), that ``distinct_from`` does not name; 422 ``possible_duplicate_named`` for an id there that is none of them.
        ``possible_duplicates``: ``meeting_id``, ``held_on``, ``mode``, ``topics``, ``attendee_count``."""
        mode = MeetingMode(mode)
        check_not_recorded(
            [m for m in self.meetings.values() if m.held_on == held_on and m.mode is mode and m.withdrawal is None],
            distinct_from,
            record="meeting", records="meetings", field="held_on", said=f"held on {held_on.isoformat()} {mode.value}",
            id_field="meeting_id", id_of=lambda m: m.meeting_id,
            shown=lambda m: {
                "meeting_id": str(m.meeting_id), "held_on": m.held_on.isoformat(), "mode": m.mode.value,
                "topics": [t.value for t in m.topics], "attendee_count": m.attendee_count,
            },
        )

    @event("FollowUpMeetingHeld")
    def _meeting_held(
        self,
        osv_id: UUID,
        meeting_id: UUID,
        held_on: date,
        mode: MeetingMode,
        topics: list[MeetingTopic],
        attendee_member_ids: list[UUID],
        other_attendees: int,
        notes: str | None,
        action_items: list[dict[str, Any]],
        distinct_from: list[UUID] | None = None,
    ) -> None:
        """``distinct_from``: None in a ``FollowUpMeetingHeld`` stored before it was kept."""
        for item in action_items:
            self.action_items[item["action_id"]] = ActionItem(
                action_id=item["action_id"],
                meeting_id=meeting_id,
                held_on=held_on,
                description=item["description"],
                owner=item["owner"],
                due_on=item["due_on"],
            )
        self.meetings[meeting_id] = Meeting(
            meeting_id=meeting_id,
            held_on=held_on,
            mode=MeetingMode(mode),
            attendee_member_ids=tuple(attendee_member_ids),
            other_attendees=other_attendees,
            topics=tuple(MeetingTopic(t) for t in topics),
            notes=notes,
            action_ids=tuple(item["action_id"] for item in action_items),
            distinct_from=tuple(distinct_from or ()),
        )

    def complete_action(self, action_id: UUID, completed_on: date, *, today: date) -> ActionItem:
        """Record that an action agreed at a meeting was done."""
        item = self.action_items.get(action_id)
        if item is None:
            raise ActionItemNotFoundError(action_id)
        if item.completed_on is not None:
            raise ActionAlreadyCompletedError(item.completed_on)
        withdrawal = self.meetings[item.meeting_id].withdrawal
        if withdrawal is not None:
            raise ActionOfWithdrawnMeetingError(item.held_on, withdrawal)
        check_not_in_future(completed_on, today, "completed_on")
        if completed_on < item.held_on:
            raise CompletedBeforeMeetingError(completed_on, item.held_on)
        self._action_completed(
            osv_id=self.osv_id,
            meeting_id=item.meeting_id,
            action_id=action_id,
            due_on=item.due_on,
            completed_on=completed_on,
        )
        return self.action_items[action_id]

    @event("ActionItemCompleted")
    def _action_completed(
        self, osv_id: UUID, meeting_id: UUID, action_id: UUID, due_on: date, completed_on: date
    ) -> None:
        self.action_items[action_id] = replace(self.action_items[action_id], completed_on=completed_on)

    def withdraw_meeting(self, meeting_id: UUID, reason: FieldWithdrawalReason, note: str | None, *, today: date) -> Meeting:
        """Take back a meeting recorded by mistake; it stays in the follow-up, marked withdrawn, and counts nowhere since.

        Its actions not done are withdrawn with it (no longer pending; completing one is 409 ``meeting_not_withdrawn``);
        those done stay done. ``today``: the day it is recorded (Lima), its ``withdrawn_on``. ``note``: staff's words on
        the mistake, or None (sealed with the meeting's text, never published). The event repeats the meeting's day and
        its actions' ids and dates, so that a reader takes the meeting back without reading it. Raises
        :class:`MeetingNotFoundError` for a meeting not of this follow-up, :class:`MeetingWithdrawnError` (409) for one
        withdrawn already.
        """
        meeting = self.meetings.get(meeting_id)
        if meeting is None:
            raise MeetingNotFoundError(meeting_id)
        if meeting.withdrawal is not None:
            raise MeetingWithdrawnError(meeting.withdrawal)
        items = [self.action_items[a] for a in meeting.action_ids]
        self._meeting_withdrawn(
            osv_id=self.osv_id, meeting_id=meeting_id, held_on=meeting.held_on, reason=FieldWithdrawalReason(reason), note=note,
            withdrawn_on=today,
            action_items=[{"action_id": a.action_id, "due_on": a.due_on, "completed_on": a.completed_on} for a in items],
        )
        return self.meetings[meeting_id]

    @event("FollowUpMeetingWithdrawn")
    def _meeting_withdrawn(
        self, osv_id: UUID, meeting_id: UUID, held_on: date, reason: FieldWithdrawalReason, note: str | None, withdrawn_on: date,
        action_items: list[dict[str, Any]],
    ) -> None:
        """``action_items``: each of the meeting's actions as it stood (``action_id``, ``due_on``, ``completed_on``)."""
        meeting = self.meetings[meeting_id]
        self.meetings[meeting_id] = replace(meeting, withdrawal=Withdrawal(FieldWithdrawalReason(reason), withdrawn_on, note))
        for action_id in meeting.action_ids:
            item = self.action_items[action_id]
            if item.completed_on is None:
                self.action_items[action_id] = replace(item, withdrawn_on=withdrawn_on)

    # Technical assistance

    def give_assistance(
        self,
        given_on: date,
        topic: AssistanceTopic,
        hours: Decimal,
        note: str | None,
        *,
        today: date,
        mapped_on: date | None = None,
        distinct_from: Sequence[UUID] = (),
    ) -> TechnicalAssistance:
        """Record hours of technical assistance given to the OSV on one day, not before the programme mapped it (``mapped_on``).

        Assistance given the same day on the same topic as a record the OSV holds is 409 ``possible_duplicate`` naming
        it, unless ``distinct_from`` names it (:mod:`~services.engagement.domain.repeats`); kept, ``distinct_from`` is
        recorded."""
        check_not_in_future(given_on, today, "given_on")
        check_not_before("given_on", given_on, "mapped_on", mapped_on)
        check_hours(hours)
        self.check_assistance_not_given(given_on, topic, distinct_from)
        assistance_id = uuid4()
        self._assistance_given(
            osv_id=self.osv_id,
            assistance_id=assistance_id,
            given_on=given_on,
            topic=topic,
            hours=hours.quantize(CENT),
            note=note,
            distinct_from=kept(distinct_from),
        )
        return self.assistance[-1]

    def check_assistance_not_given(self, given_on: date, topic: AssistanceTopic, distinct_from: Sequence[UUID]) -> None:
        """409 ``possible_duplicate`` (field ``given_on``) naming the OSV's assistance given on ``given_on`` on ``topic``,
        not withdrawn, that ``distinct_from`` does not name; 422 ``possible_duplicate_named`` for an id there that is none of them.
        ``possible_duplicates``: ``assistance_id``, ``given_on``, ``topic``, ``hours`` (a decimal string)."""
        topic = AssistanceTopic(topic)
        check_not_recorded(
            [a for a in self.assistance if a.given_on == given_on and a.topic is topic and a.withdrawal is None],
            distinct_from,
            record="technical assistance record", records="technical assistance records", field="given_on",
            said=f"given on {given_on.isoformat()} on {topic.value}", id_field="assistance_id", id_of=lambda a: a.assistance_id,
            shown=lambda a: {"assistance_id": str(a.assistance_id), "given_on": a.given_on.isoformat(), "topic": a.topic.value, "hours": str(a.hours)},
        )

    @event("TechnicalAssistanceGiven")
    def _assistance_given(
        self,
        osv_id: UUID,
        assistance_id: UUID,
        given_on: date,
        topic: AssistanceTopic,
        hours: Decimal,
        note: str | None,
        distinct_from: list[UUID] | None = None,
    ) -> None:
        """``distinct_from``: None in a ``TechnicalAssistanceGiven`` stored before it was kept."""
        record = TechnicalAssistance(assistance_id, given_on, AssistanceTopic(topic), hours, note, tuple(distinct_from or ()))
        self.assistance.append(record)

    def withdraw_assistance(self, assistance_id: UUID, reason: FieldWithdrawalReason, note: str | None, *, today: date) -> TechnicalAssistance:
        """Take back technical assistance recorded by mistake; it stays in the follow-up, marked withdrawn, and its hours
        count nowhere since. ``today``: its ``withdrawn_on``; ``note``: staff's words on the mistake, or None (sealed with
        the record's note, never published). The event repeats the record's day, topic and hours. Raises
        :class:`AssistanceNotFoundError` for a record not of this follow-up, :class:`AssistanceWithdrawnError` (409) for
        one withdrawn already."""
        record = self._assistance_record(assistance_id)
        if record.withdrawal is not None:
            raise AssistanceWithdrawnError(record.withdrawal)
        self._assistance_withdrawn(
            osv_id=self.osv_id, assistance_id=assistance_id, given_on=record.given_on, topic=record.topic, hours=record.hours,
            reason=FieldWithdrawalReason(reason), note=note, withdrawn_on=today,
        )
        return self._assistance_record(assistance_id)

    @event("TechnicalAssistanceWithdrawn")
    def _assistance_withdrawn(
        self, osv_id: UUID, assistance_id: UUID, given_on: date, topic: AssistanceTopic, hours: Decimal, reason: FieldWithdrawalReason,
        note: str | None, withdrawn_on: date,
    ) -> None:
        withdrawal = Withdrawal(FieldWithdrawalReason(reason), withdrawn_on, note)
        self.assistance = [replace(a, withdrawal=withdrawal) if a.assistance_id == assistance_id else a for a in self.assistance]

    def _assistance_record(self, assistance_id: UUID) -> TechnicalAssistance:
        found = next((a for a in self.assistance if a.assistance_id == assistance_id), None)
        if found is None:
            raise AssistanceNotFoundError(assistance_id)
        return found

    # Redactions: recorded, then the text's key is deleted

    def redact_meeting_text(self, meeting_id: UUID) -> bool:
        """Record that a meeting's notes, its actions' wording and owners, and its withdrawal's note are forgotten; False if
        they already were (nothing recorded).

        Raises :class:`MeetingNotFoundError` for a meeting not of this follow-up.
        """
        if meeting_id not in self.meetings:
            raise MeetingNotFoundError(meeting_id)
        withdrawal = self.meetings[meeting_id].withdrawal
        if meeting_id in self.redacted and (withdrawal is None or withdrawal.note in (None, REDACTED_TEXT)):
            return False  # a withdrawal's note written after a redaction is sealed under a new key: forgotten by another
        self._meeting_text_redacted(meeting_id=meeting_id)
        return True

    @event("MeetingTextRedacted")
    def _meeting_text_redacted(self, meeting_id: UUID) -> None:
        self.redacted.add(meeting_id)
        meeting = self.meetings[meeting_id]
        withdrawal = meeting.withdrawal and replace(meeting.withdrawal, note=_redacted(meeting.withdrawal.note))  # sealed under its key
        self.meetings[meeting_id] = replace(meeting, notes=_redacted(meeting.notes), withdrawal=withdrawal)
        for action_id in meeting.action_ids:
            item = self.action_items[action_id]
            self.action_items[action_id] = replace(item, description=_redacted(item.description), owner=_redacted(item.owner))

    def redact_assistance_note(self, assistance_id: UUID) -> bool:
        """Record that an assistance record's note, and its withdrawal's, are forgotten; False if they already were (nothing recorded).

        Raises :class:`AssistanceNotFoundError` for a record not of this follow-up.
        """
        withdrawal = self._assistance_record(assistance_id).withdrawal
        if assistance_id in self.redacted and (withdrawal is None or withdrawal.note in (None, REDACTED_TEXT)):
            return False  # a withdrawal's note written after a redaction is sealed under a new key: forgotten by another
        self._assistance_note_redacted(assistance_id=assistance_id)
        return True

    @event("AssistanceNoteRedacted")
    def _assistance_note_redacted(self, assistance_id: UUID) -> None:
        self.redacted.add(assistance_id)
        self.assistance = [
            replace(a, note=_redacted(a.note), withdrawal=a.withdrawal and replace(a.withdrawal, note=_redacted(a.withdrawal.note)))
            if a.assistance_id == assistance_id else a
            for a in self.assistance
        ]

    # What the follow-up says

    def meetings_latest_first(self) -> list[Meeting]:
        """Every meeting, withdrawn ones included (and marked)."""
        return sorted(self.meetings.values(), key=lambda m: m.held_on, reverse=True)

    def meetings_held(self) -> list[Meeting]:
        """The meetings not withdrawn: those that were held."""
        return [m for m in self.meetings.values() if m.withdrawal is None]

    @property
    def last_meeting_on(self) -> date | None:
        return max((m.held_on for m in self.meetings_held()), default=None)

    @property
    def last_contact(self) -> Contact | None:
        """The latest meeting or assistance not withdrawn; a meeting wins a tie."""
        contacts = [Contact(m.held_on, ContactKind.MEETING) for m in self.meetings_held()]
        contacts += [Contact(a.given_on, ContactKind.TECHNICAL_ASSISTANCE) for a in self.assistance_given()]
        return max(contacts, key=lambda c: (c.on, c.kind is ContactKind.MEETING), default=None)

    def open_actions(self) -> list[ActionItem]:
        """Actions not yet done, soonest due first."""
        return sorted((a for a in self.action_items.values() if a.open), key=lambda a: (a.due_on, a.held_on))

    def assistance_given(self) -> list[TechnicalAssistance]:
        """The assistance records not withdrawn: the assistance that was given."""
        return [a for a in self.assistance if a.withdrawal is None]

    @property
    def assistance_hours(self) -> Decimal:
        return sum((a.hours for a in self.assistance_given()), Decimal("0.00"))

    def assistance_hours_by_topic(self) -> dict[AssistanceTopic, Decimal]:
        totals: dict[AssistanceTopic, Decimal] = {}
        for record in self.assistance_given():
            totals[record.topic] = totals.get(record.topic, Decimal("0.00")) + record.hours
        return totals


def _redacted(text: str | None) -> str | None:
    """What a sealed text reads as once its key is deleted: :data:`~shared.sealing.REDACTED_TEXT`; a null stays null."""
    return None if text is None else REDACTED_TEXT
