"""The named errors of an OSV's follow-up (:mod:`.followup`): meetings, their attendees and actions, technical
assistance. Pure; imported from :mod:`.followup`, where they are raised."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.errors import ConflictError, NotFoundError, RuleViolationError

MAX_HOURS_PER_RECORD = Decimal(24)


class NoTopicError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__("a meeting is about at least one topic", field="topics", rule="at_least_one_topic")


class RepeatedTopicError(RuleViolationError):
    def __init__(self, index: int, topic: str) -> None:
        super().__init__(f"topic '{topic}' is listed twice", field=f"topics.{index}", rule="unique_topics")


class RepeatedAttendeeError(RuleViolationError):
    """A member named twice among a meeting's attendees: the later entry, its message naming the earlier one (as the Kobo
    import names the other entry of one person twice), never the member's id."""

    def __init__(self, index: int, first: int) -> None:
        super().__init__(
            f"the member at attendee_member_ids.{index} is at attendee_member_ids.{first} too: list each attendee once",
            field=f"attendee_member_ids.{index}",
            rule="unique_attendees",
        )


class UnknownAttendeeError(RuleViolationError):
    def __init__(self, index: int) -> None:
        super().__init__(
            f"attendee {index} was not a member of this OSV on held_on, as engagement knows, or their personal data is "
            "erased: record their membership first (joined on or before the meeting) if they were, or count them in "
            "other_attendees",
            field=f"attendee_member_ids.{index}",
            rule="known_member",
        )


class AttendedMeetingError(RuleViolationError):
    """A membership's date moved past a meeting of its OSV the member is named at: they would not have been a member on
    its day (``joined_on`` after it: ``not_after_attended_on``; ``left_on`` before it: ``not_before_attended_on``)."""

    def __init__(self, field: str, given: date, held_on: date) -> None:
        after = field == "joined_on"
        super().__init__(
            f"{field} {given.isoformat()} is {'after' if after else 'before'} a meeting of the OSV the member is named at, held "
            f"on {held_on.isoformat()}: it can be {held_on.isoformat()} at the {'latest' if after else 'earliest'}",
            field=field,
            rule="not_after_attended_on" if after else "not_before_attended_on",
        )


class DueBeforeMeetingError(RuleViolationError):
    def __init__(self, index: int, due_on: date, held_on: date) -> None:
        super().__init__(
            # The field names the item (action_items.0 in the API, acciones[1] in a Kobo post): the message counts nothing.
            f"the action item is due on {due_on.isoformat()}, before the meeting on {held_on.isoformat()}",
            field=f"action_items.{index}.due_on",
            rule="not_before_held_on",
        )


class ActionItemNotFoundError(NotFoundError):
    def __init__(self, action_id: object) -> None:
        super().__init__(f"action item {action_id} is not pending from any meeting with this OSV", field="action_id", rule="known_action_item")


class MeetingNotFoundError(NotFoundError):
    def __init__(self, meeting_id: object) -> None:
        super().__init__(f"meeting {meeting_id} is not one of this OSV's follow-up meetings", field="meeting_id", rule="known_meeting")


class AssistanceNotFoundError(NotFoundError):
    def __init__(self, assistance_id: object) -> None:
        super().__init__(f"technical assistance {assistance_id} was not given to this OSV", field="assistance_id", rule="known_assistance")


class ActionAlreadyCompletedError(ConflictError):
    def __init__(self, completed_on: date) -> None:
        super().__init__(
            f"this action item was already completed on {completed_on.isoformat()}",
            field="completed_on",
            rule="complete_once",
        )


class CompletedBeforeMeetingError(RuleViolationError):
    def __init__(self, completed_on: date, held_on: date) -> None:
        super().__init__(
            f"completed_on {completed_on.isoformat()} is before the meeting that agreed it ({held_on.isoformat()})",
            field="completed_on",
            rule="not_before_held_on",
        )


class TooManyHoursError(RuleViolationError):
    def __init__(self, hours: Decimal) -> None:
        super().__init__(
            f"{hours} hours in one record is more than a day ({MAX_HOURS_PER_RECORD}): record each day apart",
            field="hours",
            rule="at_most_24_hours",
        )
