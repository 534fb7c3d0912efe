"""Field records stored before the possible-duplicate check still count as the records a new one may repeat (tester 233
F3). No store, no web: the aggregates as their stored events rebuild them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from services.engagement.domain.activities import OSVActivities
from services.engagement.domain.followup import AssistanceTopic, FollowUp, MeetingMode, MeetingTopic
from services.engagement.domain.repeats import PossibleDuplicateError
from services.engagement.events import catalogue

TODAY = date(2025, 6, 15)
DAY = date(2025, 4, 5)


def test_a_meeting_and_assistance_stored_before_distinct_from_was_kept_are_still_named_by_a_resend() -> None:
    follow_up = FollowUp(osv_id=uuid4())
    meeting_id, assistance_id = uuid4(), uuid4()
    follow_up._meeting_held(  # as stored before: no distinct_from
        osv_id=follow_up.osv_id,
        meeting_id=meeting_id,
        held_on=DAY,
        mode=MeetingMode.IN_PERSON,
        topics=[MeetingTopic.NEEDS],
        attendee_member_ids=[],
        other_attendees=5,
        notes=None,
        action_items=[],
    )
    follow_up._assistance_given(
        osv_id=follow_up.osv_id,
        assistance_id=assistance_id,
        given_on=DAY,
        topic=AssistanceTopic.ACCOUNTING,
        hours=Decimal("2.00"),
        note=None,
    )
    assert follow_up.meetings[meeting_id].distinct_from == () and follow_up.assistance[0].distinct_from == ()
    published = [catalogue.to_cloudevent(n, e) for n, e in enumerate(follow_up.collect_events(), 1)]
    assert [c["data"]["distinct_from"] for c in published if c is not None and c["type"] != "FollowUpOpened"] == [
        [],
        [],
    ]

    with pytest.raises(PossibleDuplicateError) as meeting:
        follow_up.hold_meeting(
            DAY, MeetingMode.IN_PERSON, [MeetingTopic.NEEDS], [], 5, None, [], known_members=set(), today=TODAY
        )
    assert meeting.value.extensions["possible_duplicates"][0]["meeting_id"] == str(meeting_id)
    with pytest.raises(PossibleDuplicateError) as assistance:
        follow_up.give_assistance(DAY, AssistanceTopic.ACCOUNTING, Decimal("2"), None, today=TODAY)
    assert assistance.value.extensions["possible_duplicates"][0]["assistance_id"] == str(assistance_id)


def test_the_activity_index_reads_as_maybe_that_day_the_activities_it_indexed_before_it_kept_their_day() -> None:
    index = OSVActivities(osv_id=uuid4())
    before, that_day, other_day = uuid4(), uuid4(), uuid4()
    index.add(before)  # an ActivityIndexed stored before: no held_on
    index.add(that_day, DAY)
    index.add(other_day, date(2025, 4, 6))
    assert index.held_on_or_unknown(DAY) == [before, that_day]

    del index.held_on_of  # as restored from a snapshot taken before the index kept days
    assert index.held_on_or_unknown(DAY) == [before, that_day, other_day]
    index.add(uuid4(), date(2025, 4, 7))
    assert index.held_on_or_unknown(date(2025, 4, 7))[:3] == [before, that_day, other_day]
