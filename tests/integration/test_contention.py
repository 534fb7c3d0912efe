"""Many valid commands on one shared record at once: every one is carried out, none twice.

Twenty people joining one OSV all update its roster; twenty grants to one OSV
all enter its support history; twenty meetings, activities or needs
assessments all land on the OSV's follow-up, activity index or needs record.
The record's version lets only one save in at a time; the others reload and
try again. Each story runs on SQLite and on PostgreSQL, over HTTP, with the
requests released together by a barrier.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import Upstream
from tests.support.clients import at_once, feed_types

pytestmark = pytest.mark.timeout(300)

CLIENTS = 20


@pytest.fixture
def store(database_url: str) -> str:
    """Every story here runs on SQLite, then on PostgreSQL."""
    return database_url


def statuses(responses: list[Any]) -> list[int]:
    return [r.status_code for r in responses]


def test_twenty_people_joining_one_osv_at_once_all_join(engagement: TestClient) -> None:
    osv_id = Upstream(engagement.app.state.runtime.app).osv_mapped()  # type: ignore[attr-defined]

    def join(i: int) -> Any:
        person = {
            "osv_id": osv_id,
            "full_name": f"Persona {i}",
            "document_type": "DNI",
            "document_number": f"{40000000 + i}",
            "nationality": "PE",
            "sex": "F",
            "joined_on": "2024-03-01",
        }
        return engagement.post("/members", json=person)

    responses = at_once(CLIENTS, join)

    assert statuses(responses) == [201] * CLIENTS, [r.text for r in responses if r.status_code != 201]
    members = engagement.get(f"/osvs/{osv_id}/members?purpose=follow_up").json()
    assert sorted(m["member_id"] for m in members) == sorted(r.json()["id"] for r in responses)
    assert feed_types(engagement).count("MemberJoined") == CLIENTS


def test_twenty_grants_to_one_osv_at_once_are_all_granted(funding: TestClient) -> None:
    osv_id = Upstream(funding.app.state.runtime.app).osv_mapped()  # type: ignore[attr-defined]
    created = funding.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-12-31"})
    assert created.status_code == 201, created.text

    def grant(i: int) -> Any:
        body = {"osv_id": osv_id, "amount": f"{100 + i}.00", "currency": "PEN", "granted_on": "2021-10-20", "kind": "goods"}
        return funding.post("/grants", json=body)

    responses = at_once(CLIENTS, grant)

    assert statuses(responses) == [201] * CLIENTS, [r.text for r in responses if r.status_code != 201]
    grants = funding.get("/grants", params={"osv_id": osv_id}).json()
    assert sorted(g["id"] for g in grants) == sorted(r.json()["id"] for r in responses)
    assert feed_types(funding).count("FundGranted") == CLIENTS
    assert {r.json()["support"] for r in responses} == {"first_time"}  # no earlier phase supported it


def test_grants_in_two_phases_to_one_osv_at_once_are_all_granted_and_marked_from_one_history(funding: TestClient) -> None:
    osv_id = Upstream(funding.app.state.runtime.app).osv_mapped()  # type: ignore[attr-defined]
    for code, starts_on, ends_on in (("F1", "2021-01-01", "2021-09-30"), ("F2", "2021-10-01", "2021-12-31")):
        opened = funding.post("/phases", json={"code": code, "name": f"Fase {code}", "starts_on": starts_on, "ends_on": ends_on})
        assert opened.status_code == 201, opened.text

    def grant(i: int) -> Any:
        granted_on = "2021-05-20" if i % 2 else "2021-10-20"
        body = {"osv_id": osv_id, "amount": f"{100 + i}.00", "currency": "PEN", "granted_on": granted_on, "kind": "goods"}
        return funding.post("/grants", json=body)

    responses = at_once(CLIENTS, grant)

    # A grant decided from a history that another grant changed meanwhile is decided again, never refused.
    assert statuses(responses) == [201] * CLIENTS, [r.text for r in responses if r.status_code != 201]
    assert {r.json()["support"] for r in responses if r.json()["granted_on"] == "2021-05-20"} == {"first_time"}
    assert len(funding.get("/grants", params={"osv_id": osv_id}).json()) == CLIENTS
    assert feed_types(funding).count("FundGranted") == CLIENTS


def test_twenty_field_records_on_one_osv_at_once_are_all_kept(engagement: TestClient) -> None:
    osv_id = Upstream(engagement.app.state.runtime.app).osv_mapped()  # type: ignore[attr-defined]

    def record(i: int) -> Any:
        day = f"2024-05-{i // 4 + 1:02d}"  # each record another day: the same day again is a possible duplicate (tester 233 F3)
        if i % 4 == 0:
            body = {"held_on": day, "mode": "in_person", "topics": ["ruos_registration"], "other_attendees": 3}
            return engagement.post(f"/osvs/{osv_id}/meetings", json=body)
        if i % 4 == 1:
            body = {"given_on": day, "topic": "ruos_registration", "hours": "1.5"}
            return engagement.post(f"/osvs/{osv_id}/technical-assistance", json=body)
        if i % 4 == 2:
            body = {"osv_id": osv_id, "held_on": day, "kind": "workshop", "district": "Comas", "indirect_beneficiaries": i}
            return engagement.post("/activities", json=body)
        body = {"assessed_on": day, "members_assessed": 10, "members_over_5_years_in_peru": 2}
        return engagement.post(f"/osvs/{osv_id}/needs-assessments", json=body)

    responses = at_once(CLIENTS, record)

    assert statuses(responses) == [201] * CLIENTS, [r.text for r in responses if r.status_code != 201]
    follow_up = engagement.get(f"/osvs/{osv_id}/follow-up").json()
    assert len(follow_up["meetings"]) == CLIENTS // 4
    assert len(engagement.get(f"/osvs/{osv_id}/activities").json()) == CLIENTS // 4
    assert len(engagement.get(f"/osvs/{osv_id}/needs-assessments").json()) == CLIENTS // 4
    types = feed_types(engagement)
    assert [types.count(t) for t in ("FollowUpMeetingHeld", "TechnicalAssistanceGiven", "ActivityReported", "NeedsAssessed")] == [
        CLIENTS // 4
    ] * 4
