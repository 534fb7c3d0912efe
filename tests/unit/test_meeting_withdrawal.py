"""A follow-up meeting recorded by mistake is withdrawn, with its actions not done (the domain; no I/O).

A meeting on the wrong OSV or day, typed twice and kept with ``distinct_from``, or never held stayed for good: it
counted as the OSV's last contact, kept its actions pending and blocked the right one as a possible duplicate.
"""

from __future__ import annotations

from datetime import date

import pytest

from services.engagement.domain.followup import ActionItemDraft, MeetingMode, MeetingNotFoundError
from services.engagement.domain.withdrawals import FieldWithdrawalReason
from shared.errors import ConflictError
from shared.sealing import REDACTED_TEXT
from tests.unit.test_fieldwork_domain import OSV_ID, TODAY, a_follow_up, field_and_rule, hold, published

STAFF_NOTE = "La promotora Gladys la cargó en la OSV de su hermana"


def test_a_meeting_withdrawn_stays_marked_and_counts_as_no_contact_and_its_open_actions_go() -> None:
    follow_up = a_follow_up()
    earlier = hold(follow_up, held_on=date(2025, 4, 2), action_items=[])
    meeting = hold(
        follow_up,
        held_on=date(2025, 5, 10),
        action_items=[
            ActionItemDraft("Llevar acta de asamblea a la MML", "junta directiva", date(2025, 6, 1)),
            ActionItemDraft("Enviar fotos de la feria", "equipo del programa", date(2025, 6, 5)),
        ],
    )
    done, still_open = meeting.action_ids
    follow_up.complete_action(done, date(2025, 5, 20), today=TODAY)
    follow_up.collect_events()

    withdrawn = follow_up.withdraw_meeting(meeting.meeting_id, FieldWithdrawalReason.WRONG_OSV, STAFF_NOTE, today=TODAY)

    assert withdrawn.withdrawal is not None
    assert (withdrawn.withdrawal.reason, withdrawn.withdrawal.withdrawn_on, withdrawn.withdrawal.note) == (
        FieldWithdrawalReason.WRONG_OSV, TODAY, STAFF_NOTE,
    )
    assert [m.meeting_id for m in follow_up.meetings_latest_first()] == [meeting.meeting_id, earlier.meeting_id]
    assert follow_up.last_meeting_on == date(2025, 4, 2)
    assert follow_up.last_contact is not None and follow_up.last_contact.on == date(2025, 4, 2)
    assert follow_up.open_actions() == []
    assert follow_up.action_items[still_open].withdrawn_on == TODAY
    assert follow_up.action_items[done].withdrawn_on is None  # done before: it stays done

    # The event says which meeting, its day and its actions as they stood, and the code: never staff's words.
    assert published(follow_up) == [
        {
            "type": "FollowUpMeetingWithdrawn",
            "occurred_on": TODAY.isoformat(),
            "osv_id": str(OSV_ID),
            "meeting_id": str(meeting.meeting_id),
            "held_on": "2025-05-10",
            "reason": "wrong_osv",
            "withdrawn_on": TODAY.isoformat(),
            "action_items": [
                {"action_id": str(done), "due_on": "2025-06-01", "completed_on": "2025-05-20"},
                {"action_id": str(still_open), "due_on": "2025-06-05", "completed_on": None},
            ],
        }
    ]


def test_a_meeting_is_withdrawn_once_and_its_withdrawn_action_is_not_completed_after() -> None:
    follow_up = a_follow_up()
    meeting = hold(follow_up)
    follow_up.withdraw_meeting(meeting.meeting_id, FieldWithdrawalReason.DUPLICATE, None, today=TODAY)

    with pytest.raises(ConflictError) as again:
        follow_up.withdraw_meeting(meeting.meeting_id, FieldWithdrawalReason.ENTERED_IN_ERROR, None, today=TODAY)
    with pytest.raises(ConflictError) as completed:
        follow_up.complete_action(meeting.action_ids[0], date(2025, 5, 30), today=TODAY)

    assert field_and_rule(again) == ("meeting_id", "meeting_not_withdrawn")
    assert "duplicate" in str(again.value)
    assert field_and_rule(completed) == ("action_id", "meeting_not_withdrawn")
    assert "withdrawn" in str(completed.value) and "2025-05-10" in str(completed.value)


def test_a_meeting_of_another_follow_up_is_not_found() -> None:
    hold(other := a_follow_up())
    follow_up = a_follow_up()

    with pytest.raises(MeetingNotFoundError):
        follow_up.withdraw_meeting(other.meetings_latest_first()[0].meeting_id, FieldWithdrawalReason.WRONG_DATE, None, today=TODAY)


def test_the_right_meeting_is_recorded_again_on_the_day_of_one_withdrawn() -> None:
    follow_up = a_follow_up()
    wrong = hold(follow_up, mode=MeetingMode.IN_PERSON)
    with pytest.raises(ConflictError) as duplicate:
        hold(follow_up, mode=MeetingMode.IN_PERSON)
    assert field_and_rule(duplicate) == ("held_on", "possible_duplicate")

    follow_up.withdraw_meeting(wrong.meeting_id, FieldWithdrawalReason.ENTERED_IN_ERROR, None, today=TODAY)
    right = hold(follow_up, mode=MeetingMode.IN_PERSON)

    assert right.held_on == wrong.held_on and right.withdrawal is None
    assert follow_up.last_meeting_on == right.held_on


def test_the_withdrawal_note_is_forgotten_with_the_meetings_text() -> None:
    follow_up = a_follow_up()
    meeting = hold(follow_up)
    follow_up.withdraw_meeting(meeting.meeting_id, FieldWithdrawalReason.WRONG_DATE, STAFF_NOTE, today=TODAY)

    assert follow_up.redact_meeting_text(meeting.meeting_id) is True

    withdrawal = follow_up.meetings[meeting.meeting_id].withdrawal
    assert withdrawal is not None and withdrawal.note == REDACTED_TEXT
    assert follow_up.meetings[meeting.meeting_id].notes == REDACTED_TEXT
    assert follow_up.redact_meeting_text(meeting.meeting_id) is False


def test_a_note_written_after_the_meetings_text_was_forgotten_is_forgotten_by_another_redaction() -> None:
    follow_up = a_follow_up()
    meeting = hold(follow_up)
    follow_up.redact_meeting_text(meeting.meeting_id)
    follow_up.withdraw_meeting(meeting.meeting_id, FieldWithdrawalReason.WRONG_DATE, STAFF_NOTE, today=TODAY)

    assert follow_up.redact_meeting_text(meeting.meeting_id) is True
    withdrawal = follow_up.meetings[meeting.meeting_id].withdrawal
    assert withdrawal is not None and withdrawal.note == REDACTED_TEXT
