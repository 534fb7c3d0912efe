"""A field record sent again without its Idempotency-Key is recorded once (tester 233 F3).

The same technical assistance sent twice without a key was 201, 201, and the OSV's follow-up showed ``total_hours`` 4.00
for one 2-hour session; each repeated meeting counted in ``follow_up_meetings``; a 7-person fair sent eight times counted
56 people reached. Meetings, technical assistance and needs assessments could not be withdrawn then, so the double stayed. A
record that looks the same as one the OSV holds (:mod:`services.engagement.domain.repeats`) is now 409
``possible_duplicate`` naming it, a dry run too, unless ``distinct_from`` names it; a keyed retry is answered as the
first. The stories run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import Upstream, assert_problem, created
from tests.support.clients import application_of, at_once, feed, head

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("engagement")]

MEETING = {"held_on": "2025-04-05", "mode": "in_person", "other_attendees": 5, "topics": ["needs"]}
ASSISTANCE = {"given_on": "2025-04-05", "topic": "accounting", "hours": "2.00"}


def an_osv(client: TestClient) -> str:
    return Upstream(application_of(client), mapped_on="2024-01-15").osv_mapped()


def published(client: TestClient, event_type: str) -> list[dict[str, Any]]:
    return [e["data"] for e in feed(client) if e["type"] == event_type]


# Meetings ------------------------------------------------------------------------------------


def test_a_meeting_sent_again_without_its_key_is_409_naming_it_and_distinct_from_records_another(
    client_on: TestClient,
) -> None:
    client = client_on
    osv_id = an_osv(client)
    path = f"/osvs/{osv_id}/meetings"
    first = created(client.post(path, json=MEETING, headers={"Idempotency-Key": "m1"}))
    written = head(client)

    replayed = created(
        client.post(path, json=MEETING, headers={"Idempotency-Key": "m1"})
    )  # a retry: answered as the first
    assert replayed == first and head(client) == written

    resent = {
        **MEETING,
        "other_attendees": 6,
        "topics": ["needs", "training"],
    }  # retyped after a timeout: the same meeting
    for params in ({}, {"dry_run": "true"}):
        problem = assert_problem(client.post(path, json=resent, params=params), 409, "held_on", "possible_duplicate")
        assert problem["possible_duplicates"] == [
            {
                "meeting_id": first["meeting_id"],
                "held_on": "2025-04-05",
                "mode": "in_person",
                "topics": ["needs"],
                "attendee_count": 5,
            }
        ]
        assert first["meeting_id"] in problem["detail"] and "distinct_from" in problem["detail"]
    assert head(client) == written
    assert len(client.get(f"/osvs/{osv_id}/follow-up").json()["meetings"]) == 1

    # Another mode or another day is another meeting; so is one staff say is another, which keeps what they said.
    created(client.post(path, json={**MEETING, "mode": "virtual"}))
    created(client.post(path, json={**MEETING, "held_on": "2025-04-06"}))
    second = created(client.post(path, json={**resent, "distinct_from": [first["meeting_id"], first["meeting_id"]]}))
    assert second["distinct_from"] == [first["meeting_id"]] and first["distinct_from"] == []
    shown = {m["meeting_id"]: m["distinct_from"] for m in client.get(f"/osvs/{osv_id}/follow-up").json()["meetings"]}
    assert shown[second["meeting_id"]] == [first["meeting_id"]] and len(shown) == 4
    held = {e["meeting_id"]: e["distinct_from"] for e in published(client, "FollowUpMeetingHeld")}
    assert held[second["meeting_id"]] == [first["meeting_id"]] and held[first["meeting_id"]] == []

    # A third is like both: it names the one not named.
    problem = assert_problem(
        client.post(path, json={**MEETING, "distinct_from": [first["meeting_id"]]}),
        409,
        "held_on",
        "possible_duplicate",
    )
    assert [d["meeting_id"] for d in problem["possible_duplicates"]] == [second["meeting_id"]]


def test_a_meeting_distinct_from_an_id_that_is_none_of_those_alike_is_422_and_nothing_is_written(
    client: TestClient,
) -> None:
    osv_id = an_osv(client)
    path = f"/osvs/{osv_id}/meetings"
    first = created(client.post(path, json=MEETING))
    other = created(client.post(path, json={**MEETING, "held_on": "2025-04-06"}))
    written = head(client)

    given = {**MEETING, "distinct_from": [first["meeting_id"], other["meeting_id"]]}
    assert_problem(client.post(path, json=given), 422, "distinct_from.1", "possible_duplicate_named")
    assert head(client) == written


def test_a_mistyped_id_in_distinct_from_is_told_as_such_before_the_meeting_it_meant_is_named(client: TestClient) -> None:
    """Tester 242 F3: on a day with a meeting alike, a typo in ``distinct_from`` got the 409 telling its sender to send
    ``distinct_from``, which they had; the 422 naming the id came only on a day with none."""
    osv_id = an_osv(client)
    path = f"/osvs/{osv_id}/meetings"
    created(client.post(path, json=MEETING))
    written = head(client)

    mistyped = {**MEETING, "distinct_from": ["00000000-0000-4000-8000-000000000001"]}
    assert_problem(client.post(path, json=mistyped), 422, "distinct_from.0", "possible_duplicate_named")
    assert head(client) == written


def test_identical_meetings_sent_at_once_without_a_key_record_one(client: TestClient) -> None:
    osv_id = an_osv(client)

    answers = at_once(6, lambda _: client.post(f"/osvs/{osv_id}/meetings", json=MEETING))

    assert sorted(a.status_code for a in answers) == [201] + [409] * 5
    assert len(published(client, "FollowUpMeetingHeld")) == 1


# Technical assistance ------------------------------------------------------------------------


def test_assistance_sent_again_without_its_key_is_409_and_the_hours_are_counted_once(client_on: TestClient) -> None:
    client = client_on
    osv_id = an_osv(client)
    path = f"/osvs/{osv_id}/technical-assistance"
    first = created(client.post(path, json=ASSISTANCE))
    written = head(client)

    for params in ({}, {"dry_run": "true"}):
        problem = assert_problem(
            client.post(path, json={**ASSISTANCE, "hours": "2.5"}, params=params), 409, "given_on", "possible_duplicate"
        )
        assert problem["possible_duplicates"] == [
            {"assistance_id": first["assistance_id"], "given_on": "2025-04-05", "topic": "accounting", "hours": "2.00"}
        ]
    assert head(client) == written
    assert client.get(f"/osvs/{osv_id}/follow-up").json()["technical_assistance"]["total_hours"] == "2.00"

    # Another topic or day is other assistance; a second session staff say is another is counted, and says so.
    created(client.post(path, json={**ASSISTANCE, "topic": "leadership"}))
    created(client.post(path, json={**ASSISTANCE, "given_on": "2025-04-06"}))
    second = created(client.post(path, json={**ASSISTANCE, "distinct_from": [first["assistance_id"]]}))
    assert second["distinct_from"] == [first["assistance_id"]]
    assistance = client.get(f"/osvs/{osv_id}/follow-up").json()["technical_assistance"]
    assert assistance["total_hours"] == "8.00"
    assert {r["assistance_id"]: r["distinct_from"] for r in assistance["records"]}[second["assistance_id"]] == [
        first["assistance_id"]
    ]
    given = {e["assistance_id"]: e["distinct_from"] for e in published(client, "TechnicalAssistanceGiven")}
    assert given[second["assistance_id"]] == [first["assistance_id"]] and given[first["assistance_id"]] == []

    # An id that is none of them (here the OSV's) is refused: it would be kept, and published.
    named = [first["assistance_id"], second["assistance_id"], osv_id]
    assert_problem(
        client.post(path, json={**ASSISTANCE, "distinct_from": named}),
        422,
        "distinct_from.2",
        "possible_duplicate_named",
    )


def test_identical_assistance_sent_at_once_without_a_key_records_one(client: TestClient) -> None:
    osv_id = an_osv(client)

    answers = at_once(6, lambda _: client.post(f"/osvs/{osv_id}/technical-assistance", json=ASSISTANCE))

    assert sorted(a.status_code for a in answers) == [201] + [409] * 5
    assert client.get(f"/osvs/{osv_id}/follow-up").json()["technical_assistance"]["total_hours"] == "2.00"


# Needs assessments ---------------------------------------------------------------------------

ASSESSMENT = {"assessed_on": "2025-04-05", "members_assessed": 12, "members_over_5_years_in_peru": 3}


def test_a_needs_assessment_sent_again_without_its_key_is_409_naming_it_and_distinct_from_records_another(
    client_on: TestClient,
) -> None:
    client = client_on
    osv_id = an_osv(client)
    path = f"/osvs/{osv_id}/needs-assessments"
    first = created(client.post(path, json=ASSESSMENT))
    written = head(client)

    for params in ({}, {"dry_run": "true"}):
        refused = client.post(path, json={**ASSESSMENT, "members_assessed": 13}, params=params)
        problem = assert_problem(refused, 409, "assessed_on", "possible_duplicate")
        assert problem["possible_duplicates"] == [
            {"assessment_id": first["assessment_id"], "assessed_on": "2025-04-05", "members_assessed": 12}
        ]
    assert head(client) == written and len(client.get(path).json()) == 1

    created(client.post(path, json={**ASSESSMENT, "assessed_on": "2025-04-06"}))
    second = created(client.post(path, json={**ASSESSMENT, "distinct_from": [first["assessment_id"]]}))
    assert second["distinct_from"] == [first["assessment_id"]]
    assert {a["assessment_id"]: a["distinct_from"] for a in client.get(path).json()}[second["assessment_id"]] == [
        first["assessment_id"]
    ]
    assessed = {e["assessment_id"]: e["distinct_from"] for e in published(client, "NeedsAssessed")}
    assert assessed[second["assessment_id"]] == [first["assessment_id"]] and assessed[first["assessment_id"]] == []


# Activities ----------------------------------------------------------------------------------


def a_fair(osv_id: str, **overrides: Any) -> dict[str, Any]:
    fair = {
        "osv_id": osv_id,
        "held_on": "2025-04-06",
        "kind": "fair",
        "district": "150132",
        "direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": 7}],
    }
    return {**fair, **overrides}


def test_an_activity_sent_again_without_its_key_is_409_and_its_people_are_counted_once(client_on: TestClient) -> None:
    client = client_on
    osv_id = an_osv(client)
    first = created(client.post("/activities", json=a_fair(osv_id)))
    written = head(client)

    resent = a_fair(
        osv_id, district="San Juan de Lurigancho", direct_beneficiaries=[{"nationality": "VE", "sex": "F", "count": 8}]
    )
    for params in ({}, {"dry_run": "true"}):
        problem = assert_problem(
            client.post("/activities", json=resent, params=params), 409, "held_on", "possible_duplicate"
        )
        assert problem["possible_duplicates"] == [
            {
                "activity_id": first["id"],
                "osv_id": osv_id,
                "held_on": "2025-04-06",
                "kind": "fair",
                "district": "San Juan de Lurigancho",
                "direct_beneficiary_total": 7,
            }
        ]
        assert problem["detail"].startswith("this OSV already has an activity held on 2025-04-06")  # "a activity" (tester 242 F6)
    assert head(client) == written and len(client.get(f"/osvs/{osv_id}/activities").json()) == 1

    # Another kind, district or day is another activity; so is one staff say is another.
    created(client.post("/activities", json=a_fair(osv_id, kind="workshop")))
    created(client.post("/activities", json=a_fair(osv_id, district="Comas")))
    created(client.post("/activities", json=a_fair(osv_id, held_on="2025-04-07")))
    second = created(client.post("/activities", json=a_fair(osv_id, distinct_from=[first["id"]])))
    assert second["distinct_from"] == [first["id"]] and first["distinct_from"] == []
    reported = {e["activity_id"]: e["distinct_from"] for e in published(client, "ActivityReported")}
    assert reported[second["id"]] == [first["id"]] and reported[first["id"]] == []

    # A withdrawn activity is none: the right one is reported again after withdrawing the wrong one.
    withdrawn = created(client.post("/activities", json=a_fair(osv_id, kind="campaign")))
    client.post(
        f"/activities/{withdrawn['id']}/withdrawal", json={"reason": "typed under the wrong OSV"}
    ).raise_for_status()
    created(client.post("/activities", json=a_fair(osv_id, kind="campaign")))


def test_identical_activities_sent_at_once_without_a_key_record_one(client: TestClient) -> None:
    osv_id = an_osv(client)

    answers = at_once(6, lambda _: client.post("/activities", json=a_fair(osv_id)))

    assert sorted(a.status_code for a in answers) == [201] + [409] * 5
    assert len(published(client, "ActivityReported")) == 1
