"""Technical assistance recorded by mistake is withdrawn (the domain; no I/O): the same session typed twice showed the
OSV twice its hours, and one on the wrong OSV or day stayed its last contact."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.engagement.domain.followup import AssistanceNotFoundError, AssistanceTopic, ContactKind
from services.engagement.domain.withdrawals import FieldWithdrawalReason
from shared.errors import ConflictError
from shared.sealing import REDACTED_TEXT
from tests.unit.test_fieldwork_domain import OSV_ID, TODAY, a_follow_up, field_and_rule, hold, published

STAFF_NOTE = "Lo cargó dos veces la promotora Gladys"


def test_assistance_withdrawn_stays_marked_and_its_hours_and_contact_count_no_more() -> None:
    follow_up = a_follow_up()
    hold(follow_up, held_on=date(2025, 4, 1))
    kept = follow_up.give_assistance(date(2025, 4, 8), AssistanceTopic.ACCOUNTING, Decimal("2"), None, today=TODAY)
    twice = follow_up.give_assistance(
        date(2025, 4, 8), AssistanceTopic.ACCOUNTING, Decimal("2"), "libro de caja", today=TODAY, distinct_from=[kept.assistance_id]
    )
    assert follow_up.assistance_hours == Decimal("4.00")
    follow_up.collect_events()

    withdrawn = follow_up.withdraw_assistance(twice.assistance_id, FieldWithdrawalReason.DUPLICATE, STAFF_NOTE, today=TODAY)

    assert withdrawn.withdrawal is not None and (withdrawn.withdrawal.reason, withdrawn.withdrawal.note) == (
        FieldWithdrawalReason.DUPLICATE, STAFF_NOTE,
    )
    assert follow_up.assistance_hours == Decimal("2.00")
    assert follow_up.assistance_hours_by_topic() == {AssistanceTopic.ACCOUNTING: Decimal("2.00")}
    assert len(follow_up.assistance) == 2  # listed, marked
    assert published(follow_up) == [
        {
            "type": "TechnicalAssistanceWithdrawn",
            "occurred_on": TODAY.isoformat(),
            "osv_id": str(OSV_ID),
            "assistance_id": str(twice.assistance_id),
            "given_on": "2025-04-08",
            "topic": "accounting",
            "hours": "2.00",
            "reason": "duplicate",
            "withdrawn_on": TODAY.isoformat(),
        }
    ]

    follow_up.withdraw_assistance(kept.assistance_id, FieldWithdrawalReason.WRONG_OSV, None, today=TODAY)
    assert follow_up.last_contact is not None and follow_up.last_contact.kind is ContactKind.MEETING


def test_assistance_is_withdrawn_once_and_the_right_one_is_recorded_again_on_its_day() -> None:
    follow_up = a_follow_up()
    wrong = follow_up.give_assistance(date(2025, 4, 8), AssistanceTopic.ACCOUNTING, Decimal("2"), None, today=TODAY)
    follow_up.withdraw_assistance(wrong.assistance_id, FieldWithdrawalReason.WRONG_DATE, None, today=TODAY)

    with pytest.raises(ConflictError) as again:
        follow_up.withdraw_assistance(wrong.assistance_id, FieldWithdrawalReason.DUPLICATE, None, today=TODAY)
    with pytest.raises(AssistanceNotFoundError):
        a_follow_up().withdraw_assistance(wrong.assistance_id, FieldWithdrawalReason.DUPLICATE, None, today=TODAY)
    right = follow_up.give_assistance(date(2025, 4, 8), AssistanceTopic.ACCOUNTING, Decimal("2"), None, today=TODAY)

    assert field_and_rule(again) == ("assistance_id", "assistance_not_withdrawn")
    assert right.withdrawal is None and follow_up.assistance_hours == Decimal("2.00")


def test_the_withdrawal_note_is_forgotten_with_the_records_note() -> None:
    follow_up = a_follow_up()
    record = follow_up.give_assistance(date(2025, 4, 8), AssistanceTopic.ACCOUNTING, Decimal("2"), "libro de caja", today=TODAY)
    follow_up.withdraw_assistance(record.assistance_id, FieldWithdrawalReason.DUPLICATE, STAFF_NOTE, today=TODAY)

    assert follow_up.redact_assistance_note(record.assistance_id) is True

    [redacted] = follow_up.assistance
    assert redacted.note == REDACTED_TEXT and redacted.withdrawal is not None and redacted.withdrawal.note == REDACTED_TEXT
    assert follow_up.redact_assistance_note(record.assistance_id) is False
