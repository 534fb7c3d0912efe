"""A follow-up meeting or technical assistance recorded by mistake, withdrawn. Pure: no I/O.

A meeting put on the wrong OSV, given the wrong day, typed twice and kept with ``distinct_from``, or never held stayed
for good: it counted in reporting's ``follow_up_meetings``, kept its actions pending and hid the "no follow-up for N
days" alert; technical assistance typed twice doubled the OSV's hours. Activities and grants had a withdrawal; meetings
and technical assistance now have one too (:meth:`~services.engagement.domain.followup.FollowUp.withdraw_meeting`,
:meth:`~services.engagement.domain.followup.FollowUp.withdraw_assistance`). The record stays in the OSV's follow-up,
marked withdrawn, with why (a code, published) and staff's words on it (a note, sealed with the record's own text and
never published); a meeting's actions not done are withdrawn with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.errors import ConflictError


class FieldWithdrawalReason(StrEnum):
    """Why a field record (a follow-up meeting, technical assistance) was withdrawn: it was recorded by mistake, as a grant
    is withdrawn (funding's codes)."""

    ENTERED_IN_ERROR = "entered_in_error"
    """Recorded by mistake: no such meeting was held, no such assistance given."""
    DUPLICATE = "duplicate"
    """The same record typed in twice: the other one stands."""
    WRONG_OSV = "wrong_osv"
    """Recorded on another OSV than the one met or assisted: record it again on the right one."""
    WRONG_DATE = "wrong_date"
    """Recorded with another day than it happened on: record it again with its day."""


@dataclass(frozen=True)
class Withdrawal:
    """When and why a meeting or an assistance record was withdrawn; ``note``: staff's words on the mistake (sealed with the meeting's text), or None."""

    reason: FieldWithdrawalReason
    withdrawn_on: date
    note: str | None = None


class MeetingWithdrawnError(ConflictError):
    """409 ``meeting_not_withdrawn``: the meeting was withdrawn as recorded by mistake, and is not withdrawn again."""

    def __init__(self, withdrawal: Withdrawal) -> None:
        super().__init__(
            f"this meeting was already withdrawn ({withdrawal.reason.value}) on {withdrawal.withdrawn_on.isoformat()}",
            field="meeting_id",
            rule="meeting_not_withdrawn",
        )


class ActionOfWithdrawnMeetingError(ConflictError):
    """409 ``meeting_not_withdrawn`` on ``action_id``: an action agreed at a meeting withdrawn since was withdrawn with it,
    and is no longer pending: it is not completed."""

    def __init__(self, held_on: date, withdrawal: Withdrawal) -> None:
        super().__init__(
            f"the meeting of {held_on.isoformat()} that agreed this action item was withdrawn ({withdrawal.reason.value}) on "
            f"{withdrawal.withdrawn_on.isoformat()}: the action was withdrawn with it and is no longer pending. If it was "
            "agreed at another meeting, record it there",
            field="action_id",
            rule="meeting_not_withdrawn",
        )


class AssistanceWithdrawnError(ConflictError):
    """409 ``assistance_not_withdrawn``: the technical assistance record was withdrawn as recorded by mistake, and is not
    withdrawn again."""

    def __init__(self, withdrawal: Withdrawal) -> None:
        super().__init__(
            f"this technical assistance record was already withdrawn ({withdrawal.reason.value}) on {withdrawal.withdrawn_on.isoformat()}",
            field="assistance_id",
            rule="assistance_not_withdrawn",
        )
