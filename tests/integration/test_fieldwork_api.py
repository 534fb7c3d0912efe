"""Field work over HTTP: following OSVs up, their activities and their members' needs.

Engagement hears of OSVs from registry and of grants from funding. Here those
services are stood in for by hand-built CloudEvents fed to engagement's real
view handlers (``apply``), as its NATS consumers would. The stories run on
SQLite and PostgreSQL; the error cases on SQLite.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from shared.clock import today_in_lima
from tests.support.api import Upstream, assert_problem, created
from tests.support.clients import feed, service_client

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("engagement")]

NOTES = "Yusmary Cordero dijo que el vecino Ramón Quispe perdió su PTP"
ACTION_WORDING = "Acompañar a la señora Zoraida a la MML con el acta"
DESCRIPTION = "Mural pintado con los hijos de la familia Berroterán"
WITHDRAWAL_REASON = "Lo registró dos veces la promotora Gladys"
ASSISTANCE_NOTE = "Revisamos el libro de caja con el tesorero Wilmer"
FREE_TEXT = (NOTES, ACTION_WORDING, DESCRIPTION, WITHDRAWAL_REASON, ASSISTANCE_NOTE)


def days_ago(days: int) -> str:
    return (today_in_lima() - timedelta(days=days)).isoformat()


FUTURE = (today_in_lima() + timedelta(days=30)).isoformat()  # far enough ahead to stay future if a run crosses midnight in Lima


def upstream(client: TestClient) -> Upstream:
    return Upstream(client.app.state.runtime.app, mapped_on="2024-01-15", dissolved_on="2024-12-01")


def a_member(client: TestClient, osv_id: str) -> str:
    person = {
        "osv_id": osv_id,
        "full_name": "Yusmary Cordero Palacios",
        "document_type": "CEDULA_VE",
        "document_number": "V-18765432",
        "nationality": "VE",
        "sex": "F",
        "joined_on": "2024-02-01",
    }
    return created(client.post("/members", json=person))["id"]


def a_meeting(**overrides: Any) -> dict[str, Any]:
    meeting = {
        "held_on": "2025-03-10",
        "mode": "in_person",
        "attendee_member_ids": [],
        "other_attendees": 2,
        "topics": ["ruos_registration", "activities_report"],
        "notes": NOTES,
        "action_items": [{"description": ACTION_WORDING, "owner": "junta directiva", "due_on": "2025-04-10"}],
    }
    meeting.update(overrides)
    return {k: v for k, v in meeting.items() if v is not ...}


def an_activity(osv_id: str, /, **overrides: Any) -> dict[str, Any]:
    activity = {
        "osv_id": osv_id,
        "held_on": "2025-02-22",
        "kind": "mural_painting",
        "district": "Brena",
        "direct_beneficiaries": [
            {"nationality": "VE", "sex": "F", "count": 14},
            {"nationality": "ve", "sex": "M", "count": 11},
            {"nationality": "PE", "sex": "F", "count": 6},
        ],
        "indirect_beneficiaries": 200,
        "outputs": [{"kind": "mural", "count": 1}, {"kind": "public_space_recovered", "count": 1}],
        "description": DESCRIPTION,
    }
    activity.update(overrides)
    return {k: v for k, v in activity.items() if v is not ...}


def an_assessment(**overrides: Any) -> dict[str, Any]:
    assessment = {
        "assessed_on": "2025-01-20",
        "members_assessed": 18,
        "members_over_5_years_in_peru": 4,
        "needs": [
            {"area": "employment", "members_affected": 12, "priority": "high"},
            {"area": "documentation", "members_affected": 7, "priority": "high"},
            {"area": "childcare", "members_affected": 3, "priority": "medium"},
        ],
    }
    assessment.update(overrides)
    return {k: v for k, v in assessment.items() if v is not ...}


# Follow-up --------------------------------------------------------------------


def test_staff_meet_an_osv_agree_actions_and_close_them(client_on: TestClient) -> None:
    client = client_on
    osv_id = upstream(client).osv_mapped()
    member_id = a_member(client, osv_id)

    # The programme meets the board: one action is long overdue, one is due next month.
    next_month = (today_in_lima() + timedelta(days=30)).isoformat()
    meeting = created(
        client.post(
            f"/osvs/{osv_id}/meetings",
            json=a_meeting(
                held_on=days_ago(20),
                attendee_member_ids=[member_id],
                action_items=[
                    {"description": ACTION_WORDING, "owner": "junta directiva", "due_on": days_ago(5)},
                    {"description": "Enviar fotos de la feria", "owner": "equipo del programa", "due_on": next_month},
                ],
            ),
        )
    )
    assert meeting["osv_id"] == osv_id
    assert meeting["attendee_member_ids"] == [member_id]
    assert meeting["attendee_count"] == 3
    assert meeting["notes"] == NOTES
    overdue_action, later_action = meeting["action_items"]
    assert (overdue_action["overdue"], later_action["overdue"]) == (True, False)

    follow_up = client.get(f"/osvs/{osv_id}/follow-up").json()
    assert follow_up["last_contact"] == {"on": days_ago(20), "kind": "meeting"}
    assert [m["meeting_id"] for m in follow_up["meetings"]] == [meeting["meeting_id"]]
    assert [(a["action_id"], a["overdue"]) for a in follow_up["open_actions"]] == [
        (overdue_action["action_id"], True),
        (later_action["action_id"], False),
    ]

    # The board files the papers.
    done = client.post(
        f"/osvs/{osv_id}/actions/{overdue_action['action_id']}/completion", json={"completed_on": days_ago(1)}
    )
    assert done.status_code == 200, done.text
    assert (done.json()["completed_on"], done.json()["overdue"]) == (days_ago(1), False)
    follow_up = client.get(f"/osvs/{osv_id}/follow-up").json()
    assert [a["action_id"] for a in follow_up["open_actions"]] == [later_action["action_id"]]

    # Partners learn that a meeting took place and an action was done: not who came or what was said.
    events = feed(client)
    assert [e["type"] for e in events] == ["MemberJoined", "OSVDocumentsCounted", "FollowUpMeetingHeld", "ActionItemCompleted"]
    held = events[2]["data"]
    assert held["attendee_count"] == 3
    assert held["action_items"] == [
        {"action_id": overdue_action["action_id"], "due_on": days_ago(5)},
        {"action_id": later_action["action_id"], "due_on": next_month},
    ]
    assert member_id not in json.dumps(held)
    assert events[3]["data"]["completed_on"] == days_ago(1)


def test_technical_assistance_adds_up_by_topic_and_counts_as_contact(client_on: TestClient) -> None:
    client = client_on
    osv_id = upstream(client).osv_mapped()
    created(client.post(f"/osvs/{osv_id}/meetings", json=a_meeting(held_on="2025-03-10", action_items=[])))

    first = created(
        client.post(
            f"/osvs/{osv_id}/technical-assistance",
            json={"given_on": "2025-03-12", "topic": "ruos_registration", "hours": "2.5", "note": ASSISTANCE_NOTE},
        )
    )
    created(client.post(f"/osvs/{osv_id}/technical-assistance", json={"given_on": "2025-03-19", "topic": "accounting", "hours": "1.25"}))
    created(client.post(f"/osvs/{osv_id}/technical-assistance", json={"given_on": "2025-03-26", "topic": "ruos_registration", "hours": "24"}))

    assert (first["hours"], first["note"]) == ("2.50", ASSISTANCE_NOTE)
    follow_up = client.get(f"/osvs/{osv_id}/follow-up").json()
    assert follow_up["last_contact"] == {"on": "2025-03-26", "kind": "technical_assistance"}
    assistance = follow_up["technical_assistance"]
    assert assistance["total_hours"] == "27.75"
    assert assistance["hours_by_topic"] == {"ruos_registration": "26.50", "accounting": "1.25"}
    assert [r["given_on"] for r in assistance["records"]] == ["2025-03-26", "2025-03-19", "2025-03-12"]
    given = [e["data"] for e in feed(client) if e["type"] == "TechnicalAssistanceGiven"]
    assert [(g["topic"], g["hours"]) for g in given] == [("ruos_registration", "2.50"), ("accounting", "1.25"), ("ruos_registration", "24.00")]


def test_an_osv_never_followed_up_shows_an_empty_follow_up_and_an_unknown_one_is_not_found(client: TestClient) -> None:
    osv_id = upstream(client).osv_mapped()

    empty = client.get(f"/osvs/{osv_id}/follow-up")

    assert empty.status_code == 200
    assert empty.json() == {
        "osv_id": osv_id,
        "last_contact": None,
        "meetings": [],
        "open_actions": [],
        "technical_assistance": {"total_hours": "0.00", "hours_by_topic": {}, "records": []},
    }
    assert_problem(client.get(f"/osvs/{uuid4()}/follow-up"), 404)
    assert_problem(client.get("/osvs/osv-7/follow-up"), 422, "osv_id")


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"held_on": FUTURE}, "held_on", "not_in_future"),
        ({"held_on": "10/03/2025"}, "held_on", None),
        ({"held_on": ...}, "held_on", "missing"),
        ({"mode": "phone"}, "mode", "enum"),
        ({"topics": []}, "topics", "at_least_one_topic"),
        ({"topics": ...}, "topics", "missing"),
        ({"topics": ["needs", "needs"]}, "topics.1", "unique_topics"),
        ({"topics": ["gossip"]}, "topics.0", "enum"),
        ({"other_attendees": -1}, "other_attendees", "not_negative"),
        ({"attendee_member_ids": [str(uuid4())]}, "attendee_member_ids.0", "known_member"),
        ({"attendee_member_ids": ["Yusmary"]}, "attendee_member_ids.0", "uuid_parsing"),
        (
            {"action_items": [{"description": "x", "owner": "junta directiva", "due_on": "2025-03-09"}]},
            "action_items.0.due_on",
            "not_before_held_on",
        ),
        ({"action_items": [{"description": "x", "due_on": "2025-04-09"}]}, "action_items.0.owner", "missing"),
        ({"action_items": [{"description": " ", "owner": "x", "due_on": "2025-04-09"}]}, "action_items.0.description", None),
        ({"notes": "x" * 4001}, "notes", None),
        ({"minutes": "acta"}, "minutes", "extra_forbidden"),
    ],
)
def test_a_meeting_that_breaks_a_rule_is_refused_naming_the_field_and_nothing_is_written(
    client: TestClient, overrides: dict[str, Any], field: str, rule: str | None
) -> None:
    osv_id = upstream(client).osv_mapped()

    assert_problem(client.post(f"/osvs/{osv_id}/meetings", json=a_meeting(**overrides)), 422, field, rule)

    assert client.get(f"/osvs/{osv_id}/follow-up").json()["meetings"] == []


def test_a_meeting_dated_in_the_future_is_told_so_with_its_other_mistakes(client: TestClient) -> None:
    """Tester 187 F4: the date was the domain's, found only once the body's other mistakes were put right."""
    osv_id = upstream(client).osv_mapped()

    refused = client.post(f"/osvs/{osv_id}/meetings", json=a_meeting(held_on=FUTURE, mode="phone"))

    assert refused.status_code == 422, refused.text
    assert {(e["field"], e["rule"]) for e in refused.json()["errors"]} == {("held_on", "not_in_future"), ("mode", "enum")}
    assert feed(client) == []


def test_a_meeting_dated_in_the_future_naming_a_stranger_is_told_both_in_one_answer(client: TestClient) -> None:
    """Tester 187 F4c: the date came alone (the body's rule), and the stranger, the store's, only once it was put right.
    The OSV's member is no mistake on that day, nor is the one whose id comes once the date is."""
    osv_id = upstream(client).osv_mapped()
    member_id = a_member(client, osv_id)
    head = client.get("/events").json()["head"]
    meeting = a_meeting(held_on=FUTURE, attendee_member_ids=[member_id, str(uuid4()), "Ana", str(uuid4())])

    assert mistakes_of(client.post(f"/osvs/{osv_id}/meetings", json=meeting)) == {
        ("held_on", "not_in_future"), ("attendee_member_ids.1", "known_member"), ("attendee_member_ids.2", "uuid_parsing"),
        ("attendee_member_ids.3", "known_member"),
    }
    assert mistakes_of(client.post(f"/osvs/{osv_id}/meetings", json={**meeting, "held_on": "10 March"})) == {
        ("held_on", "iso_8601_date"), ("attendee_member_ids.1", "known_member"), ("attendee_member_ids.2", "uuid_parsing"),
        ("attendee_member_ids.3", "known_member"),
    }
    assert client.get("/events").json()["head"] == head


def test_completing_an_action_follows_the_rules(client: TestClient) -> None:
    osv_id = upstream(client).osv_mapped()
    meeting = created(client.post(f"/osvs/{osv_id}/meetings", json=a_meeting(held_on="2025-03-10")))
    action_id = meeting["action_items"][0]["action_id"]
    completion = f"/osvs/{osv_id}/actions/{action_id}/completion"

    assert_problem(client.post(completion, json={"completed_on": "2025-03-09"}), 422, "completed_on", "not_before_held_on")
    assert_problem(client.post(completion, json={"completed_on": FUTURE}), 422, "completed_on", "not_in_future")
    assert_problem(client.post(completion, json={"completed_on": "9 March"}), 422, "completed_on")
    assert_problem(client.post(completion, json={}), 422, "completed_on", "missing")
    assert_problem(client.post(f"/osvs/{osv_id}/actions/{uuid4()}/completion", json={"completed_on": "2025-03-20"}), 404)
    assert_problem(client.post(f"/osvs/{uuid4()}/actions/{action_id}/completion", json={"completed_on": "2025-03-20"}), 404)
    assert_problem(client.post(f"/osvs/{osv_id}/actions/7/completion", json={"completed_on": "2025-03-20"}), 422, "action_id")

    assert client.post(completion, json={"completed_on": "2025-03-20"}).status_code == 200
    assert_problem(client.post(completion, json={"completed_on": "2025-03-21"}), 409, "completed_on", "complete_once")
    assert [e["type"] for e in feed(client)] == ["FollowUpMeetingHeld", "ActionItemCompleted"]


def mistakes_of(response: Any) -> set[tuple[str, str]]:
    """The (field, rule) of every mistake a 422 names."""
    assert response.status_code == 422, response.text
    return {(e["field"], e["rule"]) for e in response.json()["errors"]}


def test_a_meeting_row_with_several_mistakes_gets_them_all_in_one_answer(client: TestClient) -> None:
    """A promoter's Kobo meeting row with a topic ticked twice, a negative count of others present, a mode not on the list
    and a member named twice: one refusal names all four (the mode's came alone, then each of the others in a round of
    its own), and nothing is written."""
    osv_id = upstream(client).osv_mapped()
    member_id = a_member(client, osv_id)
    head = client.get("/events").json()["head"]
    meeting = a_meeting(mode="phone", topics=["needs", "needs"], other_attendees=-1, attendee_member_ids=[member_id, member_id])

    assert mistakes_of(client.post(f"/osvs/{osv_id}/meetings", json=meeting)) == {
        ("mode", "enum"), ("topics.1", "unique_topics"), ("other_attendees", "not_negative"), ("attendee_member_ids.1", "unique_attendees"),
    }
    assert client.get("/events").json()["head"] == head


def test_every_topic_and_attendee_of_a_meeting_is_checked_in_the_one_answer(client: TestClient) -> None:
    """A topic ticked three times around one not on the list, a member named three times around an id that is none: each
    row's mistake comes in one answer (the repeats waited for the row not on the list to be fixed)."""
    osv_id = upstream(client).osv_mapped()
    member_id = a_member(client, osv_id)
    head = client.get("/events").json()["head"]
    meeting = a_meeting(topics=["needs", "needs", "gardening", "needs"], attendee_member_ids=[member_id, member_id, "Ana", member_id])

    assert mistakes_of(client.post(f"/osvs/{osv_id}/meetings", json=meeting)) == {
        ("topics.1", "unique_topics"), ("topics.2", "enum"), ("topics.3", "unique_topics"),
        ("attendee_member_ids.1", "unique_attendees"), ("attendee_member_ids.2", "uuid_parsing"), ("attendee_member_ids.3", "unique_attendees"),
    }
    assert client.get("/events").json()["head"] == head


def test_assistance_with_several_mistakes_gets_them_all_in_one_answer(client: TestClient) -> None:
    osv_id = upstream(client).osv_mapped()
    given = {"given_on": "12/03/2025", "topic": "gardening", "hours": "25"}

    assert mistakes_of(client.post(f"/osvs/{osv_id}/technical-assistance", json=given)) == {
        ("given_on", "iso_8601_date"), ("topic", "enum"), ("hours", "at_most_24_hours"),
    }
    assert feed(client) == []


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"hours": "0"}, "hours", "greater_than_0"),
        ({"hours": "-1.5"}, "hours", "greater_than_0"),
        ({"hours": "24.01"}, "hours", "at_most_24_hours"),
        ({"hours": 2.5}, "hours", "decimal_text"),
        ({"hours": "two"}, "hours", "decimal_text"),
        ({"hours": "1.255"}, "hours", "at_most_2_decimal_places"),
        ({"hours": ...}, "hours", "missing"),
        ({"topic": "gardening"}, "topic", "enum"),
        ({"given_on": FUTURE}, "given_on", "not_in_future"),
        ({"trainer": "Gladys"}, "trainer", "extra_forbidden"),
    ],
)
def test_assistance_that_breaks_a_rule_is_refused_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str, rule: str | None
) -> None:
    osv_id = upstream(client).osv_mapped()
    given = {"given_on": "2025-03-12", "topic": "accounting", "hours": "2", **body}

    response = client.post(f"/osvs/{osv_id}/technical-assistance", json={k: v for k, v in given.items() if v is not ...})

    assert_problem(response, 422, field, rule)
    assert feed(client) == []


def record_for(client: TestClient, path: str, osv_id: str) -> Any:
    """Post a new record of field work for the OSV to the endpoint named by ``path``."""
    if path == "meetings":
        return client.post(f"/osvs/{osv_id}/meetings", json=a_meeting())
    if path == "technical-assistance":
        body = {"given_on": "2025-03-12", "topic": "leadership", "hours": "2"}
        return client.post(f"/osvs/{osv_id}/technical-assistance", json=body)
    if path == "activities":
        return client.post("/activities", json=an_activity(osv_id))
    return client.post(f"/osvs/{osv_id}/needs-assessments", json=an_assessment())


FIELD_WORK = ["meetings", "technical-assistance", "activities", "needs-assessments"]


@pytest.mark.parametrize("path", FIELD_WORK)
def test_field_work_is_recorded_only_for_an_osv_registry_mapped(client: TestClient, path: str) -> None:
    assert_problem(record_for(client, path, str(uuid4())), 422, "osv_id", "osv_mapped_in_registry")
    assert feed(client) == []


@pytest.mark.parametrize("path", FIELD_WORK)
def test_a_dissolved_osv_takes_no_new_field_work(client: TestClient, path: str) -> None:
    up = upstream(client)
    osv_id = up.osv_mapped()
    up.osv_dissolved(osv_id)

    assert_problem(record_for(client, path, osv_id), 409, "osv_id", "osv_not_dissolved")
    assert feed(client) == []


@pytest.mark.parametrize("path", FIELD_WORK)
def test_field_work_dated_before_the_dissolution_is_taken_after_it_was_recorded(client: TestClient, path: str) -> None:
    up = upstream(client)
    osv_id = up.osv_mapped()
    up.osv_dissolved(osv_id, "2025-03-31")  # after every date record_for gives (2025-01-20 to 2025-03-12): the paper backlog

    assert record_for(client, path, osv_id).status_code == 201
    assert len(feed(client)) == 1


def test_an_activity_dated_after_the_dissolution_is_409_naming_both_dates_and_one_on_its_day_is_taken(client: TestClient) -> None:
    up = upstream(client)
    osv_id = up.osv_mapped()
    up.osv_dissolved(osv_id, "2025-02-21")

    for dry_run in ({"dry_run": "true"}, {}):
        refused = client.post("/activities", json=an_activity(osv_id, held_on="2025-02-22"), params=dry_run)
        problem = assert_problem(refused, 409, "osv_id", "osv_not_dissolved")
        assert "dissolved on 2025-02-21" in problem["detail"] and "held_on 2025-02-22 is after" in problem["detail"]
    assert feed(client) == []
    assert created(client.post("/activities", json=an_activity(osv_id, held_on="2025-02-21")))["held_on"] == "2025-02-21"


# Who is overdue for follow-up ----------------------------------------------


def test_active_osvs_not_met_lately_are_listed_most_overdue_first(client_on: TestClient) -> None:
    client = client_on
    up = upstream(client)
    never_met = up.osv_mapped(district="Ate", zone="Lima Este", mapped_on=days_ago(100))
    met_long_ago = up.osv_mapped(mapped_on=days_ago(300))
    met_lately = up.osv_mapped(mapped_on=days_ago(300))
    up.osv_mapped(mapped_on=days_ago(3))  # just mapped: not overdue yet
    dissolved = up.osv_mapped(mapped_on=days_ago(400))
    up.osv_dissolved(dissolved, dissolved_on=days_ago(200))
    for osv_id, held in ((met_long_ago, 120), (met_long_ago, 50), (met_lately, 10)):
        created(client.post(f"/osvs/{osv_id}/meetings", json=a_meeting(held_on=days_ago(held), action_items=[])))
    # Assistance is contact, but not a meeting.
    created(client.post(f"/osvs/{never_met}/technical-assistance", json={"given_on": days_ago(2), "topic": "other", "hours": "1"}))

    overdue = client.get("/follow-up/overdue")

    assert overdue.status_code == 200, overdue.text
    assert overdue.json() == [
        {
            "osv_id": never_met,
            "district": "Ate",
            "zone": "Lima Este",
            "mapped_on": days_ago(100),
            "last_meeting_on": None,
            "days_since_last_meeting": 100,
        },
        {
            "osv_id": met_long_ago,
            "district": "Comas",
            "zone": "Lima Norte",
            "mapped_on": days_ago(300),
            "last_meeting_on": days_ago(50),
            "days_since_last_meeting": 50,
        },
    ]
    assert [o["osv_id"] for o in client.get("/follow-up/overdue", params={"days": 60}).json()] == [never_met]
    assert [o["osv_id"] for o in client.get("/follow-up/overdue", params={"days": 5}).json()] == [
        never_met,
        met_long_ago,
        met_lately,
    ]


def test_an_osv_heard_of_before_its_mapping_arrived_is_not_yet_judged_overdue(client: TestClient) -> None:
    up = upstream(client)
    mapped = up.osv_mapped(mapped_on=days_ago(100))
    registered_first = str(uuid4())
    up.ruos_registered(registered_first, registered_on=days_ago(90))  # events come in any order

    overdue = client.get("/follow-up/overdue")

    assert overdue.status_code == 200, overdue.text
    assert [o["osv_id"] for o in overdue.json()] == [mapped]


@pytest.mark.parametrize("days", ["0", "-3", "many"])
def test_the_overdue_window_is_a_whole_number_of_days_from_one(client: TestClient, days: str) -> None:
    assert_problem(client.get("/follow-up/overdue", params={"days": days}), 422, "days")


# Activities ---------------------------------------------------------------------


def test_an_osv_reports_an_activity_of_its_funded_project_and_withdraws_a_duplicate(client_on: TestClient) -> None:
    client = client_on
    up = upstream(client)
    osv_id = up.osv_mapped(district="Breña", zone="Lima Centro")
    grant_id = up.fund_granted(osv_id)

    mural = created(client.post("/activities", json=an_activity(osv_id, grant_id=grant_id)))
    duplicate = created(client.post("/activities", json=an_activity(osv_id, held_on="2025-02-23", grant_id=grant_id)))
    fair = created(
        client.post(
            "/activities",
            json=an_activity(
                osv_id,
                held_on="2025-01-11",
                kind="fair",
                district="cercado de lima",
                direct_beneficiaries=[{"nationality": "CO", "sex": "X", "count": 2}],
                indirect_beneficiaries=0,
                outputs=[],
                description=...,
            ),
        )
    )

    assert mural == {
        "id": mural["id"],
        "osv_id": osv_id,
        "held_on": "2025-02-22",
        "kind": "mural_painting",
        "district": "Breña",
        "zone": "Lima Centro",
        "direct_beneficiaries": [
            {"nationality": "VE", "sex": "F", "count": 14},
            {"nationality": "VE", "sex": "M", "count": 11},
            {"nationality": "PE", "sex": "F", "count": 6},
        ],
        "direct_beneficiary_total": 31,
        "participants": [],
        "counted_by": "aggregate",
        "indirect_beneficiaries": 200,
        "outputs": [{"kind": "mural", "count": 1}, {"kind": "public_space_recovered", "count": 1}],
        "grant_id": grant_id,
        "description": DESCRIPTION,
        "withdrawal": None,
        "distinct_from": [],
        "version": 1,
    }
    assert (fair["district"], fair["zone"], fair["grant_id"], fair["description"]) == ("Lima", "Lima Centro", None, None)
    assert client.get(f"/activities/{mural['id']}").json() == mural

    # The second mural was the same one, entered twice.
    withdrawn = client.post(f"/activities/{duplicate['id']}/withdrawal", json={"reason": WITHDRAWAL_REASON})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawal"]["reason"] == WITHDRAWAL_REASON
    assert withdrawn.json()["version"] == 2
    again = client.post(f"/activities/{duplicate['id']}/withdrawal", json={"reason": "otra vez"})
    assert_problem(again, 409, "reason", "withdraw_once")

    listed = client.get(f"/osvs/{osv_id}/activities").json()
    assert [(a["id"], a["withdrawal"] is not None) for a in listed] == [
        (duplicate["id"], True),
        (mural["id"], False),
        (fair["id"], False),
    ]

    events = feed(client)
    assert [e["type"] for e in events] == ["ActivityReported"] * 3 + ["ActivityWithdrawn"]
    reported = events[0]["data"]
    assert (reported["activity_id"], reported["zone"], reported["grant_id"]) == (mural["id"], "Lima Centro", grant_id)
    assert "description" not in reported
    assert events[3]["data"] == {
        "occurred_on": today_in_lima().isoformat(),
        "activity_id": duplicate["id"],
        "osv_id": osv_id,
        "held_on": "2025-02-23",
        "withdrawn_on": today_in_lima().isoformat(),
    }


def test_an_activity_lists_its_participants_members_by_their_record_and_others_by_a_pseudonymous_id(client: TestClient) -> None:
    osv_id = upstream(client).osv_mapped()
    member_id = a_member(client, osv_id)
    neighbour = str(uuid4())
    body = an_activity(osv_id, direct_beneficiaries=[], participants=[{"member_id": member_id}, {"person_id": neighbour, "nationality": "pe", "sex": "M"}])

    workshop = created(client.post("/activities", json=body))

    assert workshop["participants"] == [
        {"person_id": member_id, "nationality": "VE", "sex": "F", "member": True},
        {"person_id": neighbour, "nationality": "PE", "sex": "M", "member": False},
    ]
    assert workshop["counted_by"] == "persons" and workshop["direct_beneficiary_total"] == 2
    assert workshop["direct_beneficiaries"] == [{"nationality": "PE", "sex": "M", "count": 1}, {"nationality": "VE", "sex": "F", "count": 1}]
    published = feed(client)[-1]["data"]
    assert published["participants"] == workshop["participants"] and published["counted_by"] == "persons"
    assert "Yusmary" not in json.dumps(published) and "18765432" not in json.dumps(published)


def test_a_member_listed_by_a_person_id_is_refused_so_they_are_never_counted_as_someone_else(client: TestClient) -> None:
    # Tester 144 F5: a member's id given as a person_id, with another nationality and sex, made reporting count the
    # member (VE, F) as a PE man among the people reached.
    osv_id = upstream(client).osv_mapped()
    member_id = a_member(client, osv_id)
    position = len(feed(client))
    body = an_activity(osv_id, direct_beneficiaries=[], participants=[
        {"person_id": str(uuid4()), "nationality": "VE", "sex": "F"}, {"person_id": member_id, "nationality": "PE", "sex": "M"},
    ])

    refused = assert_problem(client.post("/activities", json=body), 422, "participants.1.person_id", "member_or_person")

    assert member_id in refused["detail"] and "member_id" in refused["detail"]
    assert len(feed(client)) == position


def test_a_member_listed_twice_is_named_by_the_member_id_given(client: TestClient) -> None:
    """The 422 said "person <id> is listed twice" of a member listed twice by member_id: the caller read it as an id of
    another kind than the one sent (tester 171 F4)."""
    osv_id = upstream(client).osv_mapped()
    member_id = a_member(client, osv_id)
    body = an_activity(osv_id, direct_beneficiaries=[], participants=[{"member_id": member_id}, {"member_id": member_id}])

    refused = assert_problem(client.post("/activities", json=body), 422, "participants.1", "unique_participant")

    assert refused["errors"][0]["message"].startswith(f"member {member_id} (a member_id) is listed twice"), refused["errors"]


def test_counts_given_with_a_listed_member_twice_and_a_wrong_nationality_get_all_three_mistakes_in_one_answer(client: TestClient) -> None:
    """Tester 184 F1: a row's nationality refused hid that both ways of counting were given, and that hid the member
    listed twice: three 422s, one after another, for one Kobo row."""
    osv_id = upstream(client).osv_mapped()
    member_id = a_member(client, osv_id)
    body = an_activity(
        osv_id, direct_beneficiaries=[{"nationality": "VEN", "sex": "F", "count": 2}], participants=[{"member_id": member_id}, {"member_id": member_id}]
    )
    position = len(feed(client))

    refused = client.post("/activities", json=body)

    assert refused.status_code == 422, refused.text
    assert {(e["field"], e["rule"]) for e in refused.json()["errors"]} == {
        ("participants.1", "unique_participant"),
        ("direct_beneficiaries.0.nationality", "iso_3166_alpha_2"),
        ("direct_beneficiaries", "participants_or_counts"),
    }
    assert len(feed(client)) == position


def test_counts_given_with_a_participant_whose_nationality_is_wrong_get_both_mistakes_in_one_answer(client: TestClient) -> None:
    """Tester 187 F4: the mirror of tester 184 F1, a participant's row refused hid that both ways of counting were given."""
    osv_id = upstream(client).osv_mapped()
    body = an_activity(
        osv_id, direct_beneficiaries=[{"nationality": "VE", "sex": "F", "count": 2}],
        participants=[{"person_id": str(uuid4()), "nationality": "XX", "sex": "F"}],
    )

    refused = client.post("/activities", json=body)

    assert refused.status_code == 422, refused.text
    assert {(e["field"], e["rule"]) for e in refused.json()["errors"]} == {
        ("participants.0.nationality", "iso_3166_alpha_2"), ("direct_beneficiaries", "participants_or_counts"),
    }


def test_every_participant_the_store_refuses_is_named_in_one_answer(client: TestClient) -> None:
    """Tester 187 F4c: each member id of no member, and a member's id given as a person_id, came one answer at a time."""
    osv_id = upstream(client).osv_mapped()
    member_id = a_member(client, osv_id)
    position = len(feed(client))
    participants = [
        {"member_id": member_id}, {"member_id": str(uuid4())}, {"person_id": member_id, "nationality": "PE", "sex": "M"}, {"member_id": str(uuid4())},
    ]

    assert mistakes_of(client.post("/activities", json=an_activity(osv_id, direct_beneficiaries=[], participants=participants))) == {
        ("participants.1.member_id", "known_member"), ("participants.2.person_id", "member_or_person"), ("participants.3.member_id", "known_member"),
    }
    assert len(feed(client)) == position


def test_thousands_of_participants_the_store_refuses_get_a_bounded_answer_as_a_bodys_mistakes_do(client: TestClient) -> None:
    """Tester 196 F3: 2,000 member ids of no member in a body otherwise right were a 377 KB answer listing all 2,000, its
    detail naming the first alone; a body's own mistakes list the first 100 and count the rest."""
    osv_id = upstream(client).osv_mapped()
    participants = [{"member_id": str(uuid4())} for _ in range(2000)]

    problem = assert_problem(client.post("/activities", json=an_activity(osv_id, direct_beneficiaries=[], participants=participants)), 422)

    assert len(problem["errors"]) == 100 and problem["errors_not_listed"] == 1900
    assert [e["field"] for e in problem["errors"][:2]] == ["participants.0.member_id", "participants.1.member_id"]
    assert problem["detail"].endswith("and 1990 more") and problem["detail"].count("participants.") == 10


def test_an_activity_dated_in_the_future_listing_unknown_members_is_told_all_in_one_answer(client: TestClient) -> None:
    """Tester 187 F4c: the date came alone (the body's rule), and the member ids of no member, the store's, only once it
    was put right; a member's id given as a person_id with them. The listed member is no mistake."""
    osv_id = upstream(client).osv_mapped()
    member_id = a_member(client, osv_id)
    position = len(feed(client))
    participants = [
        {"member_id": member_id}, {"member_id": str(uuid4())}, {"person_id": member_id, "nationality": "PE", "sex": "M"}, {"member_id": str(uuid4())},
    ]
    body = an_activity(osv_id, held_on=FUTURE, direct_beneficiaries=[], participants=participants)

    assert mistakes_of(client.post("/activities", json=body)) == {
        ("held_on", "not_in_future"), ("participants.1.member_id", "known_member"), ("participants.2.person_id", "member_or_person"),
        ("participants.3.member_id", "known_member"),
    }
    assert len(feed(client)) == position


def test_an_osv_without_activities_lists_none_and_unknown_ones_are_not_found(client: TestClient) -> None:
    osv_id = upstream(client).osv_mapped()

    assert client.get(f"/osvs/{osv_id}/activities").json() == []
    assert_problem(client.get(f"/osvs/{uuid4()}/activities"), 404)
    assert_problem(client.get(f"/activities/{uuid4()}"), 404)
    assert_problem(client.post(f"/activities/{uuid4()}/withdrawal", json={"reason": "error"}), 404)
    member_id = a_member(client, osv_id)
    assert_problem(client.get(f"/activities/{member_id}"), 404)


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"osv_id": ...}, "osv_id", "missing"),
        ({"held_on": FUTURE}, "held_on", "not_in_future"),
        ({"kind": "party"}, "kind", "enum"),
        ({"district": "Cayma"}, "district", "lima_district"),
        ({"district": ...}, "district", "missing"),
        ({"direct_beneficiaries": [{"nationality": "XX", "sex": "F", "count": 3}]}, "direct_beneficiaries.0.nationality", "iso_3166_alpha_2"),
        ({"direct_beneficiaries": [{"nationality": "VE", "sex": "female", "count": 3}]}, "direct_beneficiaries.0.sex", "enum"),
        ({"direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": 0}]}, "direct_beneficiaries.0.count", "at_least_1"),
        ({"direct_beneficiaries": [{"nationality": "VE", "sex": "F"}]}, "direct_beneficiaries.0.count", "missing"),
        (
            {"direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": 3}, {"nationality": "ve", "sex": "F", "count": 1}]},
            "direct_beneficiaries.1",
            "unique_nationality_and_sex",
        ),
        ({"direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": 3, "names": "Ana"}]}, "direct_beneficiaries.0.names", "extra_forbidden"),
        ({"indirect_beneficiaries": -1}, "indirect_beneficiaries", "not_negative"),
        ({"indirect_beneficiaries": 10**12}, "indirect_beneficiaries", "at_most_max_count"),
        (  # 100 rows of 10,000,000 each were 201 and a billion people reached in the indicators and IATI (tester 192)
            {"direct_beneficiaries": [{"nationality": code, "sex": sex, "count": 10**7} for code in ("VE", "PE", "CO", "EC") for sex in "FMX"]},
            "direct_beneficiaries",
            "at_most_max_count",
        ),
        ({"outputs": [{"kind": "graffiti", "count": 1}]}, "outputs.0.kind", "enum"),
        ({"outputs": [{"kind": "mural", "count": 0}]}, "outputs.0.count", "at_least_1"),
        ({"outputs": [{"kind": "mural", "count": 1}, {"kind": "mural", "count": 1}]}, "outputs.1.kind", "unique_output_kind"),
        ({"grant_id": str(uuid4())}, "grant_id", "grant_made_in_funding"),
        ({"grant_id": "grant-1"}, "grant_id", "uuid_parsing"),
        ({"description": ""}, "description", None),
        ({"direct_beneficiaries": [], "participants": [{"person_id": str(uuid4())}]}, "participants.0", "member_or_person"),
        ({"direct_beneficiaries": [], "participants": [{"member_id": str(uuid4()), "sex": "F"}]}, "participants.0", "member_or_person"),
        ({"direct_beneficiaries": [], "participants": [{"sex": "F"}]}, "participants.0", "member_or_person"),
        ({"direct_beneficiaries": [], "participants": [{"member_id": str(uuid4())}]}, "participants.0.member_id", "known_member"),
        ({"direct_beneficiaries": [], "participants": [{"person_id": "p", "nationality": "VE", "sex": "F"}]}, "participants.0.person_id", "uuid_parsing"),
        (
            {"direct_beneficiaries": [], "participants": [{"person_id": "6a1e0b8e-0000-4000-8000-000000000001", "nationality": "VE", "sex": "F"}] * 2},
            "participants.1",
            "unique_participant",
        ),
        (
            {"direct_beneficiaries": [], "participants": [{"person_id": str(uuid4()), "nationality": "XX", "sex": "F"}]},
            "participants.0.nationality",
            "iso_3166_alpha_2",
        ),
        ({"participants": [{"person_id": str(uuid4()), "nationality": "VE", "sex": "F"}]}, "direct_beneficiaries", "participants_or_counts"),
    ],
)
def test_an_activity_that_breaks_a_rule_is_refused_naming_the_field(
    client: TestClient, overrides: dict[str, Any], field: str, rule: str
) -> None:
    osv_id = upstream(client).osv_mapped()

    assert_problem(client.post("/activities", json=an_activity(osv_id, **overrides)), 422, field, rule)
    assert feed(client) == []
    assert client.get(f"/osvs/{osv_id}/activities").json() == []


@pytest.mark.parametrize(
    ("overrides", "mistakes"),
    [
        (
            {
                "held_on": "22/02/2025",
                "district": "Cayma",
                "direct_beneficiaries": [{"nationality": "XX", "sex": "F", "count": 0}, {"nationality": "VE", "sex": "M", "count": 0}],
                "indirect_beneficiaries": -1,
                "outputs": [{"kind": "mural", "count": 0}],
            },
            {
                ("held_on", "iso_8601_date"),
                ("district", "lima_district"),
                ("direct_beneficiaries.0.nationality", "iso_3166_alpha_2"),
                ("direct_beneficiaries.0.count", "at_least_1"),
                ("direct_beneficiaries.1.count", "at_least_1"),
                ("indirect_beneficiaries", "not_negative"),
                ("outputs.0.count", "at_least_1"),
            },
        ),
        (
            {
                "kind": "party",
                "direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": 3}, {"nationality": "ve", "sex": "F", "count": 1}],
                "outputs": [{"kind": "mural", "count": 1}, {"kind": "mural", "count": 1}],
            },
            {("kind", "enum"), ("direct_beneficiaries.1", "unique_nationality_and_sex"), ("outputs.1.kind", "unique_output_kind")},
        ),
        (
            {"kind": "party", "participants": [{"person_id": str(uuid4()), "nationality": "VE", "sex": "F"}]},
            {("kind", "enum"), ("direct_beneficiaries", "participants_or_counts")},
        ),
        ({"held_on": "2099-01-01", "kind": "party"}, {("held_on", "not_in_future"), ("kind", "enum")}),  # tester 187 F4
        (  # A row's own mistake (a sex or kind not on the list) and another row's repeat in one answer (tester 27b's L5).
            {
                "direct_beneficiaries": [
                    {"nationality": "VE", "sex": "F", "count": 3}, {"nationality": "VE", "sex": "female", "count": 1},
                    {"nationality": "ve", "sex": "F", "count": 2}, {"nationality": "VE", "sex": "F", "count": 1},
                ],
                "outputs": [{"kind": "mural", "count": 1}, {"kind": "graffiti", "count": 1}, {"kind": "mural", "count": 2}],
            },
            {
                ("direct_beneficiaries.1.sex", "enum"), ("direct_beneficiaries.2", "unique_nationality_and_sex"),
                ("direct_beneficiaries.3", "unique_nationality_and_sex"), ("outputs.1.kind", "enum"), ("outputs.2.kind", "unique_output_kind"),
            },
        ),
        (  # A row whose count is refused still repeats another's nationality and sex, or kind: both in one answer (small29).
            {
                "direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": 3}, {"nationality": "ve", "sex": "F", "count": "tres"}],
                "outputs": [{"kind": "mural", "count": 1}, {"kind": "mural", "count": 0}],
            },
            {
                ("direct_beneficiaries.1.count", "int_type"), ("direct_beneficiaries.1", "unique_nationality_and_sex"),
                ("outputs.1.count", "at_least_1"), ("outputs.1.kind", "unique_output_kind"),
            },
        ),
    ],
)
def test_an_activity_row_with_several_mistakes_gets_them_all_in_one_answer(
    client: TestClient, overrides: dict[str, Any], mistakes: set[tuple[str, str]]
) -> None:
    """A promoter's Kobo activity row: its district, nationalities, counts and repeated rows come in one answer with the
    date's and the kind's mistakes (each took a round of its own after them), and nothing is written."""
    osv_id = upstream(client).osv_mapped()

    assert mistakes_of(client.post("/activities", json=an_activity(osv_id, **overrides))) == mistakes
    assert feed(client) == []


def test_an_activity_belongs_only_to_a_project_funded_for_the_same_osv(client: TestClient) -> None:
    up = upstream(client)
    osv_id, neighbour = up.osv_mapped(), up.osv_mapped()
    neighbours_grant = up.fund_granted(neighbour)

    response = client.post("/activities", json=an_activity(osv_id, grant_id=neighbours_grant))

    assert_problem(response, 422, "grant_id", "grant_of_same_osv")
    assert client.get(f"/osvs/{osv_id}/activities").json() == []


def test_a_withdrawal_needs_a_reason(client: TestClient) -> None:
    osv_id = upstream(client).osv_mapped()
    activity = created(client.post("/activities", json=an_activity(osv_id)))

    assert_problem(client.post(f"/activities/{activity['id']}/withdrawal", json={}), 422, "reason", "missing")
    assert_problem(client.post(f"/activities/{activity['id']}/withdrawal", json={"reason": "  "}), 422, "reason")
    assert client.get(f"/activities/{activity['id']}").json()["withdrawal"] is None


# Needs assessments ----------------------------------------------------------------


def test_needs_are_assessed_as_counts_and_read_latest_first(client_on: TestClient) -> None:
    client = client_on
    osv_id = upstream(client).osv_mapped()

    january = created(client.post(f"/osvs/{osv_id}/needs-assessments", json=an_assessment()))
    june = created(
        client.post(
            f"/osvs/{osv_id}/needs-assessments",
            json=an_assessment(assessed_on="2025-06-02", members_assessed=9, members_over_5_years_in_peru=9, needs=[]),
        )
    )

    assert january == {
        "assessment_id": january["assessment_id"],
        "osv_id": osv_id,
        "assessed_on": "2025-01-20",
        "members_assessed": 18,
        "members_over_5_years_in_peru": 4,
        "needs": [
            {"area": "employment", "members_affected": 12, "priority": "high"},
            {"area": "documentation", "members_affected": 7, "priority": "high"},
            {"area": "childcare", "members_affected": 3, "priority": "medium"},
        ],
        "distinct_from": [],
        "status": "assessed",
        "withdrawal": None,
    }
    assert client.get(f"/osvs/{osv_id}/needs-assessments").json() == [june, january]
    [assessed, _] = [e["data"] for e in feed(client)]
    assert assessed == {"occurred_on": "2025-01-20", **{k: v for k, v in january.items() if k not in ("status", "withdrawal")}}


def test_an_osv_never_assessed_lists_none_and_an_unknown_one_is_not_found(client: TestClient) -> None:
    osv_id = upstream(client).osv_mapped()

    assert client.get(f"/osvs/{osv_id}/needs-assessments").json() == []
    assert_problem(client.get(f"/osvs/{uuid4()}/needs-assessments"), 404)


def test_a_needs_assessment_with_several_mistakes_gets_them_all_in_one_answer(client: TestClient) -> None:
    osv_id = upstream(client).osv_mapped()
    assessment = an_assessment(
        assessed_on="20/01/2025",
        members_over_5_years_in_peru=19,
        needs=[{"area": "food", "members_affected": 19, "priority": "low"}, {"area": "health", "members_affected": 2, "priority": "urgent"}],
    )
    # Row 0's count against members_assessed comes with row 1's priority, not a round after it (tester 27b's L5).
    assert mistakes_of(client.post(f"/osvs/{osv_id}/needs-assessments", json=assessment)) == {
        ("assessed_on", "iso_8601_date"), ("members_over_5_years_in_peru", "within_members_assessed"),
        ("needs.0.members_affected", "within_members_assessed"), ("needs.1.priority", "enum"),
    }
    assert feed(client) == []


def test_a_negative_count_of_an_assessment_is_named_beside_a_wrong_members_assessed(client: TestClient) -> None:
    """A negative members_assessed, members_over_5_years_in_peru and members_affected in one form: each count below 0 is
    named not_negative in the one answer, not after members_assessed is fixed, nor as within_members_assessed (tester, rules30)."""
    osv_id = upstream(client).osv_mapped()
    assessment = an_assessment(
        members_assessed=-3, members_over_5_years_in_peru=-1, needs=[{"area": "food", "members_affected": -2, "priority": "low"}]
    )

    answer = client.post(f"/osvs/{osv_id}/needs-assessments", json=assessment)
    assert mistakes_of(answer) == {
        ("members_assessed", "at_least_1"), ("members_over_5_years_in_peru", "not_negative"), ("needs.0.members_affected", "not_negative"),
    }
    said = {e["field"]: e["message"] for e in answer.json()["errors"]}
    assert said["members_over_5_years_in_peru"] == "members_over_5_years_in_peru must be 0 or more, not -1"
    assert feed(client) == []


@pytest.mark.parametrize(
    ("needs", "mistakes"),
    [
        (
            [{"area": "employment", "members_affected": 19, "priority": "high"}, {"area": "housing", "members_affected": 30, "priority": "low"}],
            {("needs.0.members_affected", "within_members_assessed"), ("needs.1.members_affected", "within_members_assessed")},
        ),
        (
            [
                {"area": "food", "members_affected": 2, "priority": "low"},
                {"area": "food", "members_affected": 19, "priority": "high"},
                {"area": "transport", "members_affected": 2, "priority": "low"},
                {"area": "food", "members_affected": 1, "priority": "medium"},
            ],
            {
                ("needs.1.members_affected", "within_members_assessed"), ("needs.1.area", "unique_area"),
                ("needs.2.area", "enum"), ("needs.3.area", "unique_area"),
            },
        ),
        (  # A row whose priority is not on the list still repeats an area, and names more members than were assessed (small29).
            [{"area": "food", "members_affected": 2, "priority": "low"}, {"area": "food", "members_affected": 19, "priority": "urgent"}],
            {("needs.1.priority", "enum"), ("needs.1.members_affected", "within_members_assessed"), ("needs.1.area", "unique_area")},
        ),
    ],
)
def test_every_row_of_a_needs_assessment_is_checked_in_the_one_answer(
    client: TestClient, needs: list[dict[str, Any]], mistakes: set[tuple[str, str]]
) -> None:
    """Two rows each naming more members than were assessed, or an area repeated twice around a row not on the list: every
    row's mistake comes in one answer (the first row's came alone, the next on the next try), and nothing is written."""
    osv_id = upstream(client).osv_mapped()

    assert mistakes_of(client.post(f"/osvs/{osv_id}/needs-assessments", json=an_assessment(needs=needs))) == mistakes
    assert feed(client) == []


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"assessed_on": FUTURE}, "assessed_on", "not_in_future"),
        ({"members_assessed": 0, "members_over_5_years_in_peru": 0, "needs": []}, "members_assessed", "at_least_1"),
        ({"members_assessed": ...}, "members_assessed", "missing"),
        ({"members_assessed": 10**40}, "members_assessed", "at_most_max_count"),
        ({"members_over_5_years_in_peru": 19}, "members_over_5_years_in_peru", "within_members_assessed"),
        # A negative count is not_negative, as every count is, never within_members_assessed (tester, rules30).
        ({"members_over_5_years_in_peru": -1}, "members_over_5_years_in_peru", "not_negative"),
        ({"needs": [{"area": "health", "members_affected": -1, "priority": "high"}]}, "needs.0.members_affected", "not_negative"),
        ({"needs": [{"area": "health", "members_affected": 19, "priority": "high"}]}, "needs.0.members_affected", "within_members_assessed"),
        ({"needs": [{"area": "health", "members_affected": 2, "priority": "urgent"}]}, "needs.0.priority", "enum"),
        ({"needs": [{"area": "transport", "members_affected": 2, "priority": "low"}]}, "needs.0.area", "enum"),
        (
            {"needs": [{"area": "food", "members_affected": 2, "priority": "low"}, {"area": "food", "members_affected": 5, "priority": "high"}]},
            "needs.1.area",
            "unique_area",
        ),
        ({"members_names": ["Ana"]}, "members_names", "extra_forbidden"),
    ],
)
def test_a_needs_assessment_that_breaks_a_rule_is_refused_naming_the_field(
    client: TestClient, overrides: dict[str, Any], field: str, rule: str
) -> None:
    osv_id = upstream(client).osv_mapped()

    assert_problem(client.post(f"/osvs/{osv_id}/needs-assessments", json=an_assessment(**overrides)), 422, field, rule)
    assert client.get(f"/osvs/{osv_id}/needs-assessments").json() == []


# What staff write stays with staff ------------------------------------------------


def test_notes_descriptions_and_reasons_never_reach_the_event_feed_or_the_disk_in_clear(tmp_path: Path) -> None:
    with service_client("engagement", tmp_path) as client:
        osv_id = upstream(client).osv_mapped()
        created(client.post(f"/osvs/{osv_id}/meetings", json=a_meeting()))
        created(
            client.post(
                f"/osvs/{osv_id}/technical-assistance",
                json={"given_on": "2025-03-12", "topic": "accounting", "hours": "2", "note": ASSISTANCE_NOTE},
            )
        )
        activity = created(client.post("/activities", json=an_activity(osv_id)))
        client.post(f"/activities/{activity['id']}/withdrawal", json={"reason": WITHDRAWAL_REASON})

        # Staff read it all back.
        follow_up = client.get(f"/osvs/{osv_id}/follow-up").json()
        assert follow_up["meetings"][0]["notes"] == NOTES
        assert follow_up["open_actions"][0]["description"] == ACTION_WORDING
        assert follow_up["technical_assistance"]["records"][0]["note"] == ASSISTANCE_NOTE
        assert client.get(f"/activities/{activity['id']}").json()["description"] == DESCRIPTION

        # The feed tells the story without it.
        events = client.get("/events")
        assert [e["type"] for e in events.json()["events"]] == [
            "FollowUpMeetingHeld",
            "TechnicalAssistanceGiven",
            "ActivityReported",
            "ActivityWithdrawn",
        ]
        for text in FREE_TEXT + ("junta directiva",):
            assert text not in events.text

    stored = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())
    # The store holds the activity (its id is there) but not what staff wrote.
    assert activity["id"].replace("-", "").encode() in stored
    for text in FREE_TEXT:
        for form in (text.encode(), json.dumps(text).encode(), json.dumps(text, ensure_ascii=False).encode()):
            assert form not in stored, f"{text!r} found in clear under {tmp_path}"
