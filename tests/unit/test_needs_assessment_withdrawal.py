"""A needs assessment recorded by mistake is withdrawn (the domain; no I/O): one typed twice, or on the wrong OSV or
day, stayed for good and blocked the right one on its day as a possible duplicate."""

from __future__ import annotations

import pytest

from services.engagement.domain.needs import AssessmentNotFoundError, NeedsRecord
from services.engagement.domain.withdrawals import FieldWithdrawalReason
from shared.errors import ConflictError
from tests.unit.test_fieldwork_domain import OSV_ID, TODAY, assess, field_and_rule, published


def test_an_assessment_withdrawn_stays_listed_marked_and_the_right_one_is_recorded_on_its_day() -> None:
    record = NeedsRecord(osv_id=OSV_ID)
    wrong = assess(record)
    record.collect_events()

    withdrawn = record.withdraw(wrong.assessment_id, FieldWithdrawalReason.WRONG_OSV, today=TODAY)

    assert withdrawn.withdrawal is not None and withdrawn.withdrawal.reason is FieldWithdrawalReason.WRONG_OSV
    assert published(record) == [
        {
            "type": "NeedsAssessmentWithdrawn",
            "occurred_on": TODAY.isoformat(),
            "osv_id": str(OSV_ID),
            "assessment_id": str(wrong.assessment_id),
            "assessed_on": "2025-05-03",
            "reason": "wrong_osv",
            "withdrawn_on": TODAY.isoformat(),
        }
    ]
    right = assess(record)  # the same day: no possible duplicate of one withdrawn
    assert [a.assessment_id for a in record.latest_first()] == [right.assessment_id, wrong.assessment_id]


def test_an_assessment_is_withdrawn_once_and_one_not_of_the_osv_is_not_found() -> None:
    record = NeedsRecord(osv_id=OSV_ID)
    assessment = assess(record)
    record.withdraw(assessment.assessment_id, FieldWithdrawalReason.DUPLICATE, today=TODAY)

    with pytest.raises(ConflictError) as again:
        record.withdraw(assessment.assessment_id, FieldWithdrawalReason.DUPLICATE, today=TODAY)
    with pytest.raises(AssessmentNotFoundError):
        NeedsRecord(osv_id=OSV_ID).withdraw(assessment.assessment_id, FieldWithdrawalReason.DUPLICATE, today=TODAY)

    assert field_and_rule(again) == ("assessment_id", "assessment_not_withdrawn")
