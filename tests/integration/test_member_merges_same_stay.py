"""One stay recorded twice is merged through the API (helper 311).

Yusmary was registered in Comas with her CPP; the Kobo form was edited with her passport and registered her again in
Comas: two records, two seats on the roster, two joinings of one stay. `POST /members/{survivor}/merges` now takes it:
the duplicate's stay goes into hers (`MembershipMerged`, public, nothing personal), the roster seats her once, every read
shows the stay merged, and a departure ends her stay once. A duplicate stay whose departure was recorded, or that holds
a board role, is still refused, saying why and what to do. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_engagement_api import map_osv, registry_publishes
from tests.integration.test_fieldwork_api import a_meeting
from tests.integration.test_member_merges import CPP, PTP, SECRETS, map_los_olivos, merge, register
from tests.support.api import assert_problem
from tests.support.clients import feed, feed_types, head, service_client
from tests.support.identity import signed_in_headers

pytestmark = pytest.mark.timeout(120)

PASSPORT = "940407"


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("engagement", tmp_path / "var", database_url) as client:
        yield client


def registered_twice_in_comas(client: TestClient, **duplicate: Any) -> tuple[dict[str, Any], dict[str, Any], str]:
    comas = map_osv(client)
    survivor = register(client, comas, "CPP", CPP)  # joined 2024-03-01
    again = register(client, comas, "PASAPORTE", PASSPORT, **{"joined_on": "2024-03-04", **duplicate})
    return survivor, again, comas


def stay_of(member: dict[str, Any]) -> str:
    return member["memberships"][0]["membership_id"]


def depart(client: TestClient, member_id: str, left_on: str, membership_id: str | None = None) -> Any:
    url = f"/members/{member_id}" + (f"/memberships/{membership_id}" if membership_id else "") + "/departure"
    return client.post(url, json={"left_on": left_on, "reason": "moved_in_peru"})


def test_the_same_stay_recorded_twice_is_merged_once_and_published_with_nothing_personal(client: TestClient) -> None:
    survivor, duplicate, comas = registered_twice_in_comas(client)
    key = {"Idempotency-Key": f'"{uuid4()}"'}

    first = merge(client, survivor["id"], duplicate["id"], key)
    again = merge(client, survivor["id"], duplicate["id"], key)

    assert first.status_code == again.status_code == 201, first.text
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    shown = {m["membership_id"]: (m["status"], m["left_on"], m["merged_into"], m["recorded_on"]) for m in first.json()["memberships"]}
    assert shown == {
        stay_of(survivor): ("active", None, None, None),
        stay_of(duplicate): ("merged", None, stay_of(survivor), duplicate["id"]),
    }
    assert first.json()["membership"]["status"] == "active"
    # One event for the stay, public, in the terms its joining was counted under; under Comas' municipality.
    events = feed(client)
    [said] = [e for e in events if e["type"] == "MembershipMerged"]
    assert said["data"] == {
        "member_id": duplicate["id"], "membership_id": stay_of(duplicate), "into_member_id": survivor["id"],
        "into_membership_id": stay_of(survivor), "osv_id": comas, "joined_on": "2024-03-04", "nationality": "VE", "sex": "F",
        "age_band": "30-44", "merged_on": said["data"]["merged_on"], "occurred_on": said["data"]["merged_on"],
    }
    [member_merged] = [e for e in events if e["type"] == "MemberMerged"]
    assert said["municipality"] == member_merged["municipality"] is not None
    assert not any(secret in json.dumps(events) for secret in (*SECRETS, PASSPORT))
    # The roster seats her once: Comas' list, and the counts registry reads.
    listed = client.get(f"/osvs/{comas}/members", params={"masked": "true"}).json()
    assert [(m["member_id"], m["membership_id"]) for m in listed] == [(survivor["id"], stay_of(survivor))]
    [*_, counted] = [e for e in events if e["type"] == "OSVDocumentsCounted"]
    assert counted["data"]["members"] == {"CPP": 1}


def test_the_merged_stay_is_shown_merged_everywhere_and_ends_once_with_the_survivors(client: TestClient) -> None:
    survivor, duplicate, _ = registered_twice_in_comas(client)
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201
    dpo = signed_in_headers("dpo")

    own = client.get(f"/members/{duplicate['id']}", params={"masked": "true"}).json()
    assert (own["membership"]["status"], own["memberships"][0]["merged_into"]) == ("merged", stay_of(survivor))
    history = client.get(f"/members/{duplicate['id']}/history", headers=signed_in_headers("auditor"))
    assert history.status_code == 200, history.text
    assert [e["type"] for e in history.json()][-2:] == ["MembershipMerged", "MemberMerged"]
    assert history.json()[-2]["data"]["into_membership_id"] == stay_of(survivor)
    report = client.get(f"/members/{survivor['id']}/subject-access", headers=dpo)
    assert report.status_code == 200, report.text
    assert [m["status"] for m in report.json()["member"]["memberships"]] == ["active", "merged"]

    refused = depart(client, duplicate["id"], "2025-02-01", stay_of(duplicate))
    assert_problem(refused, 409, "membership_id", "stay_not_merged")
    assert f"/members/{survivor['id']}/memberships/{stay_of(survivor)}" in refused.json()["detail"]
    before = head(client)
    assert_problem(depart(client, duplicate["id"], "2025-02-01"), 409, "membership_id", "stay_not_merged")
    assert head(client) == before

    left = depart(client, survivor["id"], "2025-02-01")  # her only active stay: the survivor's

    assert left.status_code == 200, left.text
    assert {m["membership_id"]: m["status"] for m in left.json()["memberships"]} == {stay_of(survivor): "left", stay_of(duplicate): "merged"}
    assert feed_types(client).count("MemberLeft") == 1
    assert client.get(f"/osvs/{survivor['osv_id']}/members", params={"masked": "true"}).json() == []


def test_a_duplicate_stay_whose_departure_was_recorded_is_still_refused_saying_it_was_counted(client: TestClient) -> None:
    survivor, duplicate, _ = registered_twice_in_comas(client)
    assert depart(client, duplicate["id"], "2024-06-20").status_code == 200
    before = head(client)

    refused = merge(client, survivor["id"], duplicate["id"])

    detail = assert_problem(refused, 409, "duplicate_id", "stays_apart")["detail"]
    assert "members_left" in detail and "do not record a departure" in detail and "cannot be merged yet" not in detail
    assert head(client) == before and "MembershipMerged" not in feed_types(client)


def test_a_duplicate_stay_holding_a_board_role_is_refused_until_its_role_change_is_recorded(client: TestClient) -> None:
    survivor, duplicate, _ = registered_twice_in_comas(client, role="board_member")

    refused = merge(client, survivor["id"], duplicate["id"])

    detail = assert_problem(refused, 409, "duplicate_id", "no_board_role")["detail"]
    role_path = f"/members/{duplicate['id']}/memberships/{stay_of(duplicate)}/role"
    assert role_path in detail
    changed = client.post(role_path, json={"role": "member", "changed_on": "2024-12-01"})
    assert changed.status_code == 200, changed.text
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201


def test_a_survivor_who_left_is_no_member_on_a_later_day_through_the_stay_merged_into_hers(client: TestClient) -> None:
    """The merged stay never ended on its own: it was hers, and ends with hers. A meeting after her departure does not
    name her, as for any member who left; one before it does."""
    survivor, duplicate, comas = registered_twice_in_comas(client)
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201
    assert depart(client, survivor["id"], "2025-02-01").status_code == 200

    after = client.post(f"/osvs/{comas}/meetings", json=a_meeting(held_on="2025-03-10", attendee_member_ids=[survivor["id"]]))
    before = client.post(f"/osvs/{comas}/meetings", json=a_meeting(held_on="2025-01-20", attendee_member_ids=[survivor["id"]]))

    assert_problem(after, 422, "attendee_member_ids.0", "known_member")
    assert before.status_code == 201, before.text


def test_a_departure_from_the_stay_merged_into_is_bounded_by_the_merged_stay_and_its_meetings(client: TestClient) -> None:
    """Tester 317 F2: the duplicate's stay (a joining in June, a meeting naming it in July) went into the survivor's; a
    departure dated before that joining made the merged stay end before it began, and one dated before the meeting was
    taken, as for no member who attended it. Both are refused as they are for a stay of her own."""
    survivor, duplicate, comas = registered_twice_in_comas(client, joined_on="2024-06-20")
    meeting = client.post(f"/osvs/{comas}/meetings", json=a_meeting(held_on="2024-07-05", attendee_member_ids=[duplicate["id"]]))
    assert meeting.status_code == 201, meeting.text
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201
    before = head(client)

    too_early = depart(client, survivor["id"], "2024-05-01", stay_of(survivor))
    before_meeting = depart(client, survivor["id"], "2024-06-25", stay_of(survivor))

    detail = assert_problem(too_early, 422, "left_on", "not_before_joined_on")["detail"]
    assert stay_of(duplicate) in detail and "2024-06-20" in detail
    assert "2024-07-05" in assert_problem(before_meeting, 422, "left_on", "not_before_attended_on")["detail"]
    assert head(client) == before
    left = depart(client, survivor["id"], "2024-07-05", stay_of(survivor))  # leaving the meeting's day counts
    assert left.status_code == 200, left.text


def test_a_joining_day_of_the_stay_merged_into_is_bounded_by_a_meeting_naming_the_duplicate(client: TestClient) -> None:
    """Tester 317 F2 (variant): the survivor's joining corrected to after a meeting that named the duplicate, whose stay
    went into hers, was taken; for her own meeting it is refused."""
    survivor, duplicate, comas = registered_twice_in_comas(client)
    meeting = client.post(f"/osvs/{comas}/meetings", json=a_meeting(held_on="2024-04-10", attendee_member_ids=[duplicate["id"]]))
    assert meeting.status_code == 201, meeting.text
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201
    url = f"/members/{survivor['id']}/memberships/{stay_of(survivor)}/joining-date-correction"

    refused = client.post(url, json={"joined_on": "2024-05-01"})

    assert "2024-04-10" in assert_problem(refused, 422, "joined_on", "not_after_attended_on")["detail"]
    corrected = client.post(url, json={"joined_on": "2024-04-10"})
    assert corrected.status_code == 200, corrected.text


def test_the_same_stay_in_two_records_of_one_organisation_is_merged_once(client: TestClient) -> None:
    """Tester 317 F1: the person registered in Los Olivos' record of an OSV and again in Comas' record of it, the first
    merged into the second in registry: her two records were merged but her stays were not (their OSV ids differ), two
    active stays in one organisation, two joinings, and her departure 409 ``one_active_membership``. Registry's merges
    are followed: one stay recorded twice, its joining taken back under the OSV it was counted under."""
    comas, los_olivos = map_osv(client), map_los_olivos(client)
    survivor = register(client, comas, "CPP", CPP)
    duplicate = register(client, los_olivos, "PTP", PTP, joined_on="2024-03-04")
    registry_publishes(client, "OSVMerged", osv_id=los_olivos, into_osv_id=comas, merged_on="2024-06-01")

    merged = merge(client, survivor["id"], duplicate["id"])

    assert merged.status_code == 201, merged.text
    shown = {m["membership_id"]: (m["status"], m["merged_into"]) for m in merged.json()["memberships"]}
    assert shown == {stay_of(survivor): ("active", None), stay_of(duplicate): ("merged", stay_of(survivor))}
    [said] = [e for e in feed(client) if e["type"] == "MembershipMerged"]
    assert (said["data"]["osv_id"], said["data"]["into_membership_id"]) == (los_olivos, stay_of(survivor))
    assert client.get(f"/osvs/{los_olivos}/members", params={"masked": "true"}).json() == []  # its seat freed
    left = depart(client, survivor["id"], "2025-02-01")
    assert left.status_code == 200, left.text
    assert feed_types(client).count("MemberLeft") == 1


def test_an_active_duplicate_named_at_a_meeting_after_the_survivors_departure_is_not_merged_into_that_stay(
    client: TestClient,
) -> None:
    """Tester 321 N1: the survivor's stay ended in May; the duplicate's, active, was named at a meeting in June. Merged
    into the stay that ended, the person was no member in June: her current membership left the roster with no departure
    counted, and nothing could bring it back. Refused; without such a meeting the merge into a finished stay is taken."""
    survivor, duplicate, comas = registered_twice_in_comas(client)
    assert depart(client, survivor["id"], "2024-05-01").status_code == 200
    meeting = client.post(f"/osvs/{comas}/meetings", json=a_meeting(held_on="2024-06-10", attendee_member_ids=[duplicate["id"]]))
    assert meeting.status_code == 201, meeting.text
    before = head(client)

    refused = merge(client, survivor["id"], duplicate["id"])

    detail = assert_problem(refused, 409, "duplicate_id", "stays_apart")["detail"]
    assert "2024-06-10" in detail and "2024-05-01" in detail and stay_of(duplicate) in detail
    assert head(client) == before
    roster = client.get(f"/osvs/{comas}/members", params={"masked": "true"}).json()
    assert [m["member_id"] for m in roster] == [duplicate["id"]]  # still her current membership


def test_a_meeting_at_the_duplicates_osv_merged_in_registry_bounds_the_survivors_departure(client: TestClient) -> None:
    """Tester 321 N2: the duplicate named at a meeting of Los Olivos' record of the OSV, merged in registry into Comas'
    record, where the survivor's stay is: once the stays were merged, the survivor's departure before that meeting was
    taken (a meeting at Comas bounded it)."""
    comas, los_olivos = map_osv(client), map_los_olivos(client)
    survivor = register(client, comas, "CPP", CPP)
    duplicate = register(client, los_olivos, "PTP", PTP, joined_on="2024-03-04")
    meeting = client.post(f"/osvs/{los_olivos}/meetings", json=a_meeting(held_on="2024-04-10", attendee_member_ids=[duplicate["id"]]))
    assert meeting.status_code == 201, meeting.text
    registry_publishes(client, "OSVMerged", osv_id=los_olivos, into_osv_id=comas, merged_on="2024-06-01")
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201

    early = depart(client, survivor["id"], "2024-04-01", stay_of(survivor))

    assert "2024-04-10" in assert_problem(early, 422, "left_on", "not_before_attended_on")["detail"]
    assert depart(client, survivor["id"], "2024-04-10", stay_of(survivor)).status_code == 200
