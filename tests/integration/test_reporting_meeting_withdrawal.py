"""A follow-up meeting withdrawn as recorded by mistake (engagement's ``FollowUpMeetingWithdrawn``) in reporting's read
model: reports made after count it nowhere, a report as of before the withdrawal still counts it, and the follow-up
alert counts from the last meeting not withdrawn, read from each OSV's last meeting kept as facts arrive as from every
fact. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.reporting.application import Reporting
from services.reporting.domain.alerts import overdue_meetings
from services.reporting.views.tables import LAST_MEETINGS
from tests.integration.test_reporting_donors import FakeNow, at, stamp
from tests.integration.test_reporting_signed_corrections import a_first_phase_and_an_osv
from tests.support.clients import application_of, service_client
from tests.support.programmelog import cloudevent

pytestmark = [pytest.mark.timeout(300), pytest.mark.service("reporting")]

TODAY = date(2021, 7, 3)


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, FakeNow]]:
    clock = FakeNow(at(4400))  # July 2021: phase 1 has ended
    with service_client("reporting", tmp_path, database_url, application=functools.partial(Reporting, now=clock)) as client:
        yield client, clock


def held(position: int, hours: float, osv: str, meeting: str, held_on: str, *actions: str) -> dict[str, Any]:
    """A meeting; its subject is the OSV's follow-up, as engagement publishes it."""
    items = [{"action_id": a, "due_on": "2021-07-31"} for a in actions]
    return cloudevent("engagement", position, "FollowUpMeetingHeld", f"follow-up-{osv}", at(hours), osv_id=osv, meeting_id=meeting,
                      held_on=held_on, mode="in_person", attendee_count=3, topics=["needs"], action_items=items, distinct_from=[],
                      occurred_on=held_on)


def withdrawn(position: int, hours: float, osv: str, meeting: str, held_on: str, actions: dict[str, str | None]) -> dict[str, Any]:
    items = [{"action_id": a, "due_on": "2021-07-31", "completed_on": on} for a, on in actions.items()]
    return cloudevent("engagement", position, "FollowUpMeetingWithdrawn", f"follow-up-{osv}", at(hours), osv_id=osv, meeting_id=meeting,
                      held_on=held_on, reason="wrong_date", withdrawn_on="2021-07-28", action_items=items, occurred_on="2021-07-28")


def phase_one(client: TestClient, **params: str) -> tuple[int, int]:
    found = client.get("/indicators", params=params).json()["phases"][0]["indicators"]
    return found["follow_up_meetings"], found["actions_pending_at_phase_end"]


def test_a_meeting_withdrawn_counts_nowhere_after_and_as_before_until_then_and_the_alert_counts_from_the_one_before(
    desk: tuple[TestClient, FakeNow],
) -> None:
    client, _ = desk
    readmodel = application_of(client).readmodel
    readmodel.apply([
        *a_first_phase_and_an_osv(),
        cloudevent("registry", 2, "OSVMapped", "osv-2", at(2), osv_id="osv-2", name="Olla Las Flores", district="Comas",
                   zone="Lima Norte", mapped_on="2021-01-06", occurred_on="2021-01-06"),
        held(1, 3, "osv-1", "right", "2021-03-01"),
        held(2, 4, "osv-1", "wrong", "2021-06-20", "a1", "a2"),
        cloudevent("engagement", 3, "ActionItemCompleted", "follow-up-osv-1", at(5), osv_id="osv-1", meeting_id="wrong",
                   action_id="a1", due_on="2021-07-31", completed_on="2021-06-25", occurred_on="2021-06-25"),
        held(4, 6, "osv-2", "only", "2021-06-22"),
    ])
    assert phase_one(client) == (3, 1)  # a2 pending at the phase's end
    assert overdue_meetings(readmodel.latest_alert_facts(), TODAY) == []  # read once: later reads carry it forward

    readmodel.apply([
        withdrawn(5, 4390, "osv-1", "wrong", "2021-06-20", {"a1": "2021-06-25", "a2": None}),
        withdrawn(6, 4391, "osv-2", "only", "2021-06-22", {}),
    ])

    assert phase_one(client) == (1, 0)
    assert phase_one(client, as_of=stamp(at(4389))) == (3, 1)

    expected = {"osv-1": date(2021, 3, 1), "osv-2": date(2021, 1, 6)}  # from the meeting before, or the mapping
    for facts in (readmodel.latest_alert_facts(), readmodel.alert_facts(), readmodel.facts()):
        assert {o.osv_id: o.counted_from for o in overdue_meetings(facts, TODAY)} == expected
    assert [f.data["meeting_id"] for f in readmodel.last_meetings()] == ["right"]
    assert overdue_meetings(readmodel.alert_facts(upto=at(4389)), TODAY) == []  # as of before: the meetings stood


def test_the_last_meetings_kept_leave_out_a_meeting_withdrawn_when_made_again_from_the_facts(tmp_path: Path, database_url: str) -> None:
    with service_client("reporting", tmp_path, database_url) as client:
        readmodel = application_of(client).readmodel
        readmodel.apply([
            *a_first_phase_and_an_osv(),
            held(1, 3, "osv-1", "right", "2021-03-01"),
            held(2, 4, "osv-1", "wrong", "2021-06-20"),
            withdrawn(3, 5, "osv-1", "wrong", "2021-06-20", {}),
        ])
        with readmodel.engine.begin() as connection:  # as a read model made before the table was
            connection.execute(LAST_MEETINGS.delete())

        readmodel._backfill_last_meetings()

        assert [f.data["meeting_id"] for f in readmodel.last_meetings()] == ["right"]
