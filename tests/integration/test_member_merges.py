"""Two records of one person are merged: `POST /members/{survivor}/merges` (tester 184 F3).

Yusmary was registered in Comas with her CPP; a field worker registered her again in Los Olivos with her old PTP (the
PTP's renewal as a CPP). Correcting the duplicate's document to the CPP is refused, and says to merge; the merge keeps
both records' histories, closes the duplicate to new records of the person, and has reads, lookups and registrations
by the old document follow the survivor. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from shared.idempotency import IdempotentRequest
from tests.integration.test_engagement_api import fund_osv, map_osv, registry_publishes
from tests.integration.test_fieldwork_api import FUTURE, a_meeting, an_activity, mistakes_of
from tests.support.api import assert_problem, look_up
from tests.support.clients import application_of, feed, service_client
from tests.support.identity import signed_in_headers

pytestmark = pytest.mark.timeout(120)

NAME = "Yusmary Carolina Pérez Gil"
CPP = "CPP-000371933"
PTP = "000512344"
SECRETS = ("Yusmary", "Pérez", "000371933", "000512344", "912345678")


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("engagement", tmp_path / "var", database_url) as client:
        yield client


def map_los_olivos(client: TestClient) -> str:
    osv_id = str(uuid4())
    registry_publishes(client, "OSVMapped", osv_id=osv_id, district="Los Olivos", zone="Lima Norte", mapped_on="2021-03-15")
    return osv_id


def register(client: TestClient, osv_id: str, document_type: str, number: str, **overrides: Any) -> dict[str, Any]:
    person = {
        "osv_id": osv_id, "full_name": NAME, "document_type": document_type, "document_number": number, "nationality": "VE",
        "sex": "F", "joined_on": "2024-03-01", "birth_year": 1990, "phone": "+51 912 345 678", **overrides,
    }
    response = client.post("/members", json=person)
    assert response.status_code == 201, response.text
    return response.json()


def yusmary_twice(client: TestClient) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """Yusmary in Comas with her CPP (the survivor) and in Los Olivos with her old PTP (the duplicate)."""
    comas, los_olivos = map_osv(client), map_los_olivos(client)
    survivor = register(client, comas, "CPP", CPP)
    duplicate = register(client, los_olivos, "PTP", PTP, joined_on="2024-05-10")
    return survivor, duplicate, comas, los_olivos


def merge(client: TestClient, survivor_id: str, duplicate_id: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    return client.post(f"/members/{survivor_id}/merges", json={"duplicate_id": duplicate_id}, headers=headers, params=params or None)


def lookup(client: TestClient, document_type: str, number: str) -> Any:
    return look_up(client, document_type, number)


def merges_in(client: TestClient) -> list[dict[str, Any]]:
    return [e["data"] for e in feed(client) if e["type"] == "MemberMerged"]


def test_the_duplicates_correction_to_the_survivors_document_says_to_merge_them(client: TestClient) -> None:
    survivor, duplicate, _, _ = yusmary_twice(client)

    refused = client.post(f"/members/{duplicate['id']}/correction", json={"document_type": "CPP", "document_number": CPP})

    assert_problem(refused, 409, "document_number", "person_already_registered")
    assert f"POST /members/{survivor['id']}/merges" in refused.json()["detail"]


def test_a_merged_duplicate_leads_to_the_survivor_and_takes_no_new_record_of_the_person(client: TestClient) -> None:
    survivor, duplicate, comas, los_olivos = yusmary_twice(client)

    merged = merge(client, survivor["id"], duplicate["id"])

    # The survivor answers, masked, with the duplicate's membership listed as the person's, where it is recorded.
    assert merged.status_code == 201, merged.text
    body = merged.json()
    assert body["id"] == survivor["id"] and body["merged_from"] == [duplicate["id"]] and body["full_name"] == "[masked]"
    listed = {m["osv_id"]: m["recorded_on"] for m in body["memberships"]}
    assert listed == {comas: None, los_olivos: duplicate["id"]}
    # The duplicate says where it went.
    read = client.get(f"/members/{duplicate['id']}", params={"masked": "true"}).json()
    assert (read["merged_into"], read["merged_on"] is not None, read["merged_from"]) == (survivor["id"], True, [])
    # The survivor's version, its ETag, counts the duplicate's events too: what it shows of it (helper 194).
    assert merged.headers["etag"] == f'"{body["version"]}"' and body["version"] == survivor["version"] + 1 + read["version"]
    # Its old PTP finds the survivor, and registers no one again: a lookup and a registration name the survivor.
    assert lookup(client, "PTP", PTP).json()["id"] == survivor["id"]
    again = client.post("/members", json={
        "osv_id": comas, "full_name": NAME, "document_type": "PTP", "document_number": PTP, "nationality": "VE", "sex": "F",
        "joined_on": "2024-06-01",
    })
    assert_problem(again, 409, "document_number", "person_already_registered")
    assert survivor["id"] in again.json()["detail"]
    # Los Olivos lists the survivor in its place.
    listed_there = client.get(f"/osvs/{los_olivos}/members", params={"masked": "true"}).json()
    assert [m["member_id"] for m in listed_there] == [survivor["id"]]
    # Closed to new records of the person, each refusal naming the survivor.
    for refused in (
        client.post(f"/members/{duplicate['id']}/memberships", json={"osv_id": comas, "role": "member", "joined_on": "2024-07-01"}),
        client.post(f"/members/{duplicate['id']}/correction", json={"phone": "+51 911 111 111"}),
        client.post(f"/members/{duplicate['id']}/erasure", json={"erased_on": "2025-01-10"}, headers=signed_in_headers("dpo")),
    ):
        assert_problem(refused, 409, "member_id", "member_not_merged")
        assert survivor["id"] in refused.json()["detail"]
    # What the duplicate holds is still wound down where it is recorded.
    membership_id = duplicate["memberships"][0]["membership_id"]
    left = client.post(f"/members/{duplicate['id']}/memberships/{membership_id}/departure", json={"left_on": "2024-08-01", "reason": "moved_in_peru"})
    assert left.status_code == 200, left.text


def test_the_merge_is_published_under_each_osvs_municipality_with_nothing_personal(client: TestClient) -> None:
    survivor, duplicate, comas, los_olivos = yusmary_twice(client)

    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201

    published = merges_in(client)
    assert {(e["member_id"], e["into_member_id"]) for e in published} == {(duplicate["id"], survivor["id"])}
    assert sorted(e["osv_id"] for e in published) == sorted([comas, los_olivos])
    text = json.dumps(feed(client))
    assert not any(secret in text for secret in SECRETS)
    assert "DuplicateMergedIn" not in text  # the survivor's side stays private


def test_the_survivor_enrols_in_a_project_of_the_osv_the_duplicates_membership_is_in(client: TestClient) -> None:
    survivor, duplicate, _, los_olivos = yusmary_twice(client)
    grant_id = fund_osv(client, los_olivos)
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201

    enrolled = client.post(f"/members/{survivor['id']}/participations", json={"grant_id": grant_id, "enrolled_on": "2024-06-01"})
    refused = client.post(f"/members/{duplicate['id']}/participations", json={"grant_id": grant_id, "enrolled_on": "2024-06-01"})

    assert enrolled.status_code == 201, enrolled.text
    assert_problem(refused, 409, "member_id", "member_not_merged")


def test_a_merge_is_refused_rather_than_guessed(client: TestClient) -> None:
    survivor, duplicate, comas, _ = yusmary_twice(client)
    other = register(client, comas, "DNI", "45678912", full_name="Otra Persona", sex="M", joined_on="2024-04-01")
    twice_here = register(client, comas, "PASAPORTE", "940407", joined_on="2024-04-01")
    # The same stay twice, its departure recorded (counted in members_left): refused; active, it would be merged (helper 311).
    ended = client.post(f"/members/{twice_here['id']}/departure", json={"left_on": "2024-06-01", "reason": "moved_in_peru"})
    assert ended.status_code == 200, ended.text

    assert_problem(merge(client, survivor["id"], survivor["id"]), 422, "duplicate_id", "another_member")
    assert_problem(merge(client, survivor["id"], str(uuid4())), 404, "duplicate_id", "known_member")
    assert_problem(merge(client, str(uuid4()), duplicate["id"]), 404, "member_id", "known_member")
    assert_problem(merge(client, survivor["id"], other["id"]), 409, "duplicate_id", "same_sex")
    assert_problem(merge(client, survivor["id"], twice_here["id"]), 409, "duplicate_id", "stays_apart")
    assert_problem(merge(client, survivor["id"], duplicate["id"], {"If-Match": '"1"'}), 412, "If-Match", "current_version")
    assert merges_in(client) == []

    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201
    assert_problem(merge(client, survivor["id"], duplicate["id"]), 409, "duplicate_id", "member_not_merged")
    assert_problem(merge(client, duplicate["id"], other["id"]), 409, "member_id", "member_not_merged")
    assert_problem(merge(client, twice_here["id"], survivor["id"]), 409, "duplicate_id", "no_merged_records")
    erased = register(client, map_los_olivos(client), "DNI", "07654321", joined_on="2024-04-01")
    assert client.post(f"/members/{erased['id']}/erasure", json={"erased_on": "2025-01-10"}, headers=signed_in_headers("dpo")).status_code == 200
    assert_problem(merge(client, survivor["id"], erased["id"]), 409, "duplicate_id", "not_erased")
    assert len({e["member_id"] for e in merges_in(client)}) == 1


def test_one_stay_recorded_twice_on_one_day_is_told_so_in_a_whole_sentence(client: TestClient) -> None:
    """Tester 307 F6: the same person registered twice in one OSV on one day (a document corrected in Kobo) was refused
    ``stays_apart`` with a message that stopped mid-sentence, "…joined the same day, they are". Merged since helper 311
    while both stays are active: refused, and told so, once a departure is recorded on the duplicate's."""
    comas = map_osv(client)
    survivor = register(client, comas, "CPP", CPP)
    twice = register(client, comas, "PASAPORTE", "940407")  # joined 2024-03-01 too
    ended = client.post(f"/members/{twice['id']}/departure", json={"left_on": "2024-06-01", "reason": "moved_in_peru"})
    assert ended.status_code == 200, ended.text

    problem = assert_problem(merge(client, survivor["id"], twice["id"]), 409, "duplicate_id", "stays_apart")

    assert problem["detail"].endswith("joined the same day, they are one stay recorded twice"), problem["detail"]


def test_erasing_the_survivor_forgets_both_records(client: TestClient) -> None:
    survivor, duplicate, _, _ = yusmary_twice(client)
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201

    erased = client.post(f"/members/{survivor['id']}/erasure", json={"erased_on": "2025-01-10"}, headers=signed_in_headers("dpo"))

    assert erased.status_code == 200, erased.text
    for member_id in (survivor["id"], duplicate["id"]):
        read = client.get(f"/members/{member_id}", params={"purpose": "data_subject_request"}).json()
        assert (read["personal_data"], read["full_name"]) == ("erased", "[erased]")
    assert lookup(client, "PTP", PTP).status_code == 404 and lookup(client, "CPP", CPP).status_code == 404
    engagement = application_of(client)
    assert engagement.keys.key_of(duplicate["id"]) is None and engagement.keys.key_of(survivor["id"]) is None


def test_a_lead_merges_and_an_auditor_or_a_focal_point_may_not(client: TestClient) -> None:
    survivor, duplicate, _, _ = yusmary_twice(client)

    assert_problem(merge(client, survivor["id"], duplicate["id"], {"Authorization": ""}), 401)
    for role in ("auditor", "municipal-150132"):
        assert_problem(merge(client, survivor["id"], duplicate["id"], signed_in_headers(role)), 403)
    assert merges_in(client) == []
    assert merge(client, survivor["id"], duplicate["id"], signed_in_headers("lead")).status_code == 201


def test_a_dry_run_merges_nothing_and_a_keyed_retry_merges_once(client: TestClient) -> None:
    survivor, duplicate, _, _ = yusmary_twice(client)
    key = {"Idempotency-Key": f'"{uuid4()}"'}

    dry = merge(client, survivor["id"], duplicate["id"], dry_run="true")
    assert dry.status_code == 201 and dry.headers["dry-run"] == "true", dry.text
    assert merges_in(client) == [] and lookup(client, "PTP", PTP).json()["id"] == duplicate["id"]

    first = merge(client, survivor["id"], duplicate["id"], key)
    again = merge(client, survivor["id"], duplicate["id"], key)

    assert first.status_code == again.status_code == 201, first.text
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert len(merges_in(client)) == 2  # one merge: one event per OSV of the two records


def test_an_activity_lists_the_person_by_the_survivor_and_never_by_the_duplicate(client: TestClient) -> None:
    """Both records listed counted one person twice in the activity's total, reporting's attendances and the 3W; the
    duplicate alone was taken too (tester 187 F1): the duplicate is refused as for any new record of the person."""
    survivor, duplicate, comas, _ = yusmary_twice(client)
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201
    activity = {"held_on": "2025-02-22", "direct_beneficiaries": ...}

    both = client.post("/activities", json=an_activity(comas, **activity, participants=[{"member_id": survivor["id"]}, {"member_id": duplicate["id"]}]))
    alone = client.post("/activities", json=an_activity(comas, **activity, participants=[{"member_id": duplicate["id"]}]))
    listed = client.post("/activities", json=an_activity(comas, **activity, participants=[{"member_id": survivor["id"]}]))

    assert_problem(both, 409, "participants.1.member_id", "member_not_merged")
    assert_problem(alone, 409, "participants.0.member_id", "member_not_merged")
    assert f"list member {survivor['id']}" in alone.json()["detail"]
    assert listed.status_code == 201, listed.text
    assert listed.json()["direct_beneficiary_total"] == 1
    assert [e["type"] for e in feed(client)].count("ActivityReported") == 1


def test_a_body_refused_for_its_date_names_no_merged_record_as_a_stranger(client: TestClient) -> None:
    """The members a refused body names come with its mistakes (tester 187 F4c), but a record merged into another is no
    stranger: its 409 ``member_not_merged`` waits for the body to be put right, as before."""
    survivor, duplicate, comas, los_olivos = yusmary_twice(client)
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201
    stranger = str(uuid4())

    activity = an_activity(comas, held_on=FUTURE, direct_beneficiaries=[], participants=[{"member_id": duplicate["id"]}, {"member_id": stranger}])
    meeting = a_meeting(held_on=FUTURE, attendee_member_ids=[duplicate["id"], stranger])

    assert mistakes_of(client.post("/activities", json=activity)) == {("held_on", "not_in_future"), ("participants.1.member_id", "known_member")}
    assert mistakes_of(client.post(f"/osvs/{los_olivos}/meetings", json=meeting)) == {
        ("held_on", "not_in_future"), ("attendee_member_ids.1", "known_member"),
    }
    refused = client.post("/activities", json={**activity, "held_on": "2025-02-22", "participants": [{"member_id": duplicate["id"]}]})
    assert_problem(refused, 409, "participants.0.member_id", "member_not_merged")


def test_the_survivor_is_not_enrolled_in_a_project_the_duplicate_took_part_in(client: TestClient) -> None:
    """Enrolled through the duplicate before the merge, the person was enrolled again through the survivor after it,
    the state the merge itself refuses (tester 187 F2): 409 ``enrol_once`` naming the record enrolled."""
    survivor, duplicate, _, los_olivos = yusmary_twice(client)
    grant_id = fund_osv(client, los_olivos)
    enrolment = {"grant_id": grant_id, "enrolled_on": "2024-06-01"}
    assert client.post(f"/members/{duplicate['id']}/participations", json=enrolment).status_code == 201
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201

    again = client.post(f"/members/{survivor['id']}/participations", json=enrolment)

    assert_problem(again, 409, "grant_id", "enrol_once")
    assert duplicate["id"] in again.json()["detail"]
    shown = client.get(f"/members/{survivor['id']}", params={"masked": "true"}).json()["participations"]
    assert [(p["grant_id"], p["recorded_on"]) for p in shown] == [(grant_id, duplicate["id"])]  # once, where it is recorded


def test_the_survivor_shows_the_projects_the_duplicate_took_part_in_where_they_are_recorded(client: TestClient) -> None:
    """Programme staff reading the survivor did not see a project the person took part in under the duplicate: its
    memberships were listed, its participations were not (helper 194). They are listed after the survivor's own, each
    with its ``recorded_on``, in every read that answers for the survivor, and a focal point sees only its district's."""
    survivor, duplicate, _, los_olivos = yusmary_twice(client)
    sjl = str(uuid4())
    registry_publishes(client, "OSVMapped", osv_id=sjl, district="San Juan de Lurigancho", zone="Lima Este", mapped_on="2021-03-15")
    joined = client.post(f"/members/{survivor['id']}/memberships", json={"osv_id": sjl, "role": "member", "joined_on": "2024-04-01"})
    assert joined.status_code == 201, joined.text
    theirs, ours = fund_osv(client, los_olivos), fund_osv(client, sjl)
    assert client.post(f"/members/{duplicate['id']}/participations", json={"grant_id": theirs, "enrolled_on": "2024-06-01"}).status_code == 201
    assert client.post(f"/members/{survivor['id']}/participations", json={"grant_id": ours, "enrolled_on": "2024-06-15"}).status_code == 201

    merged = merge(client, survivor["id"], duplicate["id"])

    def read(headers: dict[str, str] | None = None, **params: str) -> dict[str, Any]:
        answer = client.get(f"/members/{survivor['id']}", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    # The survivor's own project first, then the duplicate's, recorded on the duplicate: where its withdrawal goes.
    shown = [(p["grant_id"], p["osv_id"], p["enrolled_on"], p["recorded_on"]) for p in read(masked="true")["participations"]]
    assert shown == [(ours, sjl, "2024-06-15", None), (theirs, los_olivos, "2024-06-01", duplicate["id"])]
    # The merge's answer and a lookup by the duplicate's old document show them as the read does.
    assert merged.status_code == 201, merged.text
    assert merged.json()["participations"] == read(masked="true")["participations"]
    assert lookup(client, "PTP", PTP).json()["participations"] == read(purpose="duplicate_check")["participations"]
    # Withdrawn through the survivor, it is withdrawn where it is recorded (it was 404 `participating`: tester 196 F6), once.
    before = client.get(f"/members/{duplicate['id']}", params={"masked": "true"}).json()["version"]
    withdrew = client.post(f"/members/{survivor['id']}/participations/{theirs}/withdrawal", json={"withdrew_on": "2024-09-01"})
    assert withdrew.status_code == 200, withdrew.text
    assert (withdrew.json()["withdrew_on"], withdrew.json()["recorded_on"]) == ("2024-09-01", duplicate["id"])
    assert client.get(f"/members/{duplicate['id']}", params={"masked": "true"}).json()["version"] == before + 1
    assert [p["withdrew_on"] for p in read(masked="true")["participations"]] == [None, "2024-09-01"]
    again = client.post(f"/members/{duplicate['id']}/participations/{theirs}/withdrawal", json={"withdrew_on": "2024-09-02"})
    assert again.status_code == 409, again.text
    # The survivor's own project is withdrawn on the survivor, as before.
    own = client.post(f"/members/{survivor['id']}/participations/{ours}/withdrawal", json={"withdrew_on": "2024-09-03"})
    assert own.status_code == 200 and own.json()["recorded_on"] is None, own.text
    assert client.post(f"/members/{survivor['id']}/participations/{uuid4()}/withdrawal", json={"withdrew_on": "2024-09-03"}).status_code == 404
    # San Juan de Lurigancho's focal point sees its district's project, not Los Olivos'.
    seen = read(signed_in_headers("municipal-150132"))
    assert [p["grant_id"] for p in seen["participations"]] == [ours]
    assert theirs not in json.dumps(seen) and los_olivos not in json.dumps(seen)


def test_a_focal_point_of_the_duplicates_district_reads_the_survivor_its_osvs_members_name(client: TestClient) -> None:
    """San Juan de Lurigancho's focal point got 404 on the survivor that its OSV's members list named in the duplicate's
    place, and 200 on the duplicate, whose ``merged_into`` led there (helper 194, tester 196 F1): it reads the survivor
    within its district, the Comas stay left out."""
    comas, sjl = map_osv(client), str(uuid4())
    registry_publishes(client, "OSVMapped", osv_id=sjl, district="San Juan de Lurigancho", zone="Lima Este", mapped_on="2021-03-15")
    survivor = register(client, comas, "CPP", CPP)
    duplicate = register(client, sjl, "PTP", PTP, joined_on="2024-05-10")
    focal_point = signed_in_headers("municipal-150132")
    assert_problem(client.get(f"/members/{survivor['id']}", headers=focal_point), 404)  # Comas alone, before the merge
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201

    seen = client.get(f"/members/{survivor['id']}", headers=focal_point)

    assert seen.status_code == 200, seen.text
    assert [(m["osv_id"], m["recorded_on"]) for m in seen.json()["memberships"]] == [(sjl, duplicate["id"])]
    assert comas not in seen.text
    assert [m["member_id"] for m in client.get(f"/osvs/{sjl}/members", headers=focal_point).json()] == [survivor["id"]]


def test_a_meeting_names_the_survivor_and_never_the_duplicate(client: TestClient) -> None:
    """A meeting naming the duplicate was 422 ``known_member``, as for a stranger (tester 187 F5): 409
    ``member_not_merged`` naming the survivor, who is named at the meetings of the duplicate's OSV."""
    survivor, duplicate, _, los_olivos = yusmary_twice(client)
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201

    refused = client.post(f"/osvs/{los_olivos}/meetings", json=a_meeting(attendee_member_ids=[duplicate["id"]]))
    taken = client.post(f"/osvs/{los_olivos}/meetings", json=a_meeting(attendee_member_ids=[survivor["id"]]))

    assert_problem(refused, 409, "attendee_member_ids.0", "member_not_merged")
    assert f"name member {survivor['id']}" in refused.json()["detail"]
    assert taken.status_code == 201, taken.text
    assert taken.json()["attendee_member_ids"] == [survivor["id"]]


def test_every_answer_about_the_survivor_is_what_its_read_shows(client: TestClient) -> None:
    """The erasure's answer left out the duplicate's memberships and named another current OSV than a read does
    (tester 187 F8); so did a departure's and a correction's."""
    survivor, duplicate, comas, los_olivos = yusmary_twice(client)
    enrolment = {"grant_id": fund_osv(client, los_olivos), "enrolled_on": "2024-06-01"}
    assert client.post(f"/members/{duplicate['id']}/participations", json=enrolment).status_code == 201
    merged = merge(client, survivor["id"], duplicate["id"]).json()

    def read() -> dict[str, Any]:
        return client.get(f"/members/{survivor['id']}", params={"masked": "true"}).json()

    assert merged == read()
    comas_stay = survivor["memberships"][0]["membership_id"]
    departure = {"left_on": "2024-08-01", "reason": "moved_in_peru"}
    assert client.post(f"/members/{survivor['id']}/memberships/{comas_stay}/departure", json=departure).status_code == 200
    # The person's only active stay is the duplicate's: the departure without its membership closes it (tester 232 F3).
    left = client.post(f"/members/{survivor['id']}/departure", json={**departure, "left_on": "2024-09-01"})
    assert left.status_code == 200, left.text
    assert left.json() == read() and (left.json()["osv_id"], left.json()["membership"]["left_on"]) == (los_olivos, "2024-09-01")
    corrected = client.post(f"/members/{survivor['id']}/correction", json={"phone": "+51 911 111 111"})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json() == read()
    erased = client.post(f"/members/{survivor['id']}/erasure", json={"erased_on": "2025-01-10"}, headers=signed_in_headers("dpo"))
    assert erased.status_code == 200, erased.text
    assert erased.json() == read()
    assert {m["osv_id"] for m in erased.json()["memberships"]} == {comas, los_olivos}
    assert [p["recorded_on"] for p in erased.json()["participations"]] == [duplicate["id"]]


def test_the_survivors_etag_moves_with_what_it_shows_of_the_duplicate(client: TestClient) -> None:
    """The survivor's ``ETag`` was its own version alone: a withdrawal, a role or a departure recorded on the duplicate
    changed the survivor's read and left its tag as it was, so a client holding it passed a stale ``If-Match`` (helper
    194). It counts the duplicate's events too: it moves with all the read shows, and stays while nothing changes."""
    survivor, duplicate, _, los_olivos = yusmary_twice(client)
    grant_id = fund_osv(client, los_olivos)
    assert client.post(f"/members/{duplicate['id']}/participations", json={"grant_id": grant_id, "enrolled_on": "2024-06-01"}).status_code == 201
    merged = merge(client, survivor["id"], duplicate["id"])
    assert merged.status_code == 201, merged.text

    def read(member_id: str = survivor["id"]) -> Any:
        answer = client.get(f"/members/{member_id}", params={"masked": "true"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["etag"] == f'"{answer.json()["version"]}"'
        return answer

    # The merge's answer carries the tag a read gives; read again with nothing changed, the same tag.
    first = read()
    assert merged.headers["etag"] == first.headers["etag"] == read().headers["etag"]
    duplicates_tag = read(duplicate["id"]).headers["etag"]
    # Each change recorded on the duplicate, where the survivor's read shows it, moves the survivor's tag.
    membership_id = duplicate["memberships"][0]["membership_id"]
    tags = [first.headers["etag"]]
    for path, body in (
        (f"participations/{grant_id}/withdrawal", {"withdrew_on": "2024-09-01"}),
        (f"memberships/{membership_id}/role", {"role": "board_member", "changed_on": "2024-10-01"}),
        (f"memberships/{membership_id}/departure", {"left_on": "2024-11-01", "reason": "moved_in_peru"}),
    ):
        changed = client.post(f"/members/{duplicate['id']}/{path}", json=body)
        assert changed.status_code == 200, changed.text
        assert changed.headers["etag"] == read(duplicate["id"]).headers["etag"]  # the duplicate's own tag, as before
        tags.append(read().headers["etag"])
    assert len(set(tags)) == len(tags), tags
    shown = read().json()
    assert shown["participations"][0]["withdrew_on"] == "2024-09-01" and shown["memberships"][1]["status"] == "left"
    # The tag held before those changes is stale: a correction sent with it is refused, with the tag a read gives now.
    stale = client.post(f"/members/{survivor['id']}/correction", json={"phone": "+51 911 111 111"}, headers={"If-Match": tags[0]})
    assert_problem(stale, 412, "If-Match", "current_version")
    assert stale.headers["etag"] == tags[-1] and stale.json()["current_version"] == shown["version"]
    corrected = client.post(f"/members/{survivor['id']}/correction", json={"phone": "+51 911 111 111"}, headers={"If-Match": tags[-1]})
    assert corrected.status_code == 200, corrected.text
    assert corrected.headers["etag"] == read().headers["etag"] != tags[-1]
    # The duplicate's read shows nothing of the survivor's: the survivor's correction left its tag as it was.
    assert read(duplicate["id"]).headers["etag"] != duplicates_tag  # moved by its own three changes
    assert read(duplicate["id"]).headers["etag"] == changed.headers["etag"]


def test_a_change_to_a_membership_sent_through_the_survivor_names_the_record_it_is_recorded_on(client: TestClient) -> None:
    """Tester 206: the survivor's read lists the duplicate's membership (with its ``recorded_on``); a role, a departure or
    a joining-date correction sent through the survivor was told only that it is "not one of this member's"."""
    survivor, duplicate, _, _ = yusmary_twice(client)
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201
    membership_id = duplicate["memberships"][0]["membership_id"]

    for path, body in (
        ("role", {"role": "board_member", "changed_on": "2024-10-01"}),
        ("departure", {"left_on": "2024-11-01", "reason": "moved_in_peru"}),
        ("joining-date-correction", {"joined_on": "2024-02-01"}),
    ):
        sent = client.post(f"/members/{survivor['id']}/memberships/{membership_id}/{path}", json=body)
        problem = assert_problem(sent, 404, "membership_id", "known_membership")
        assert f"recorded on member {duplicate['id']}, merged into this one; send the change to /members/{duplicate['id']}" in problem["detail"]
    unknown = client.post(f"/members/{survivor['id']}/memberships/{uuid4()}/role", json={"role": "member", "changed_on": "2024-10-01"})
    assert "merged" not in assert_problem(unknown, 404, "membership_id", "known_membership")["detail"]


def test_a_withdrawal_through_the_survivor_answers_the_survivors_new_etag(client: TestClient) -> None:
    """Withdrawn through the survivor, a project recorded on the duplicate is withdrawn there: the answer's ``ETag`` was
    the survivor's own version, unchanged, so an ``If-Match`` built from it passed on a read that no longer showed what
    the client saw (helper 194). It is the tag the survivor's read gives now, and a role given with it is taken."""
    survivor, duplicate, _, los_olivos = yusmary_twice(client)
    grant_id = fund_osv(client, los_olivos)
    assert client.post(f"/members/{duplicate['id']}/participations", json={"grant_id": grant_id, "enrolled_on": "2024-06-01"}).status_code == 201
    before = merge(client, survivor["id"], duplicate["id"]).headers["etag"]

    withdrew = client.post(f"/members/{survivor['id']}/participations/{grant_id}/withdrawal", json={"withdrew_on": "2024-09-01"})

    assert withdrew.status_code == 200, withdrew.text
    now = client.get(f"/members/{survivor['id']}", params={"masked": "true"}).headers["etag"]
    assert withdrew.headers["etag"] == now != before
    own = survivor["memberships"][0]["membership_id"]
    role = {"role": "board_member", "changed_on": "2024-10-01"}
    assert_problem(client.post(f"/members/{survivor['id']}/memberships/{own}/role", json=role, headers={"If-Match": before}), 412, "If-Match", "current_version")
    taken = client.post(f"/members/{survivor['id']}/memberships/{own}/role", json=role, headers={"If-Match": now})
    assert taken.status_code == 200, taken.text
    assert taken.headers["etag"] == client.get(f"/members/{survivor['id']}", params={"masked": "true"}).headers["etag"]


def test_a_participation_answer_kept_before_recorded_on_is_replayed_as_given_and_documented(client: TestClient) -> None:
    """An enrolment's answer kept before participations carried ``recorded_on`` (helper 194's note) is replayed to its
    retry as it was first given, without the field, never filled in; the answer's schema does not require it, and says
    to read it as null then, as the ``Idempotency-Key`` header says a replay lacks what answers gained since."""
    survivor, _, comas, _ = yusmary_twice(client)
    grant_id = fund_osv(client, comas)
    key = str(uuid4())
    enrolment = {"grant_id": grant_id, "enrolled_on": "2024-06-01"}
    first = client.post(f"/members/{survivor['id']}/participations", json=enrolment, headers={"Idempotency-Key": key})
    assert first.status_code == 201 and first.json()["recorded_on"] is None, first.text
    # Kept as a release before recorded_on kept it.
    answers, request_id = application_of(client).answers, IdempotentRequest.id_for("engagement", key)
    kept = answers.find(request_id, key)
    assert kept is not None
    old = {name: value for name, value in json.loads(kept.body).items() if name != "recorded_on"}
    answers.drop(request_id)
    answers.keep(request_id, key, kept.fingerprint, kept.status, kept.headers, json.dumps(old).encode(), {survivor["id"]: 3})

    again = client.post(f"/members/{survivor['id']}/participations", json=enrolment, headers={"Idempotency-Key": key})

    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true", again.text
    assert again.json() == old and again.headers["etag"] == first.headers["etag"]
    spec = client.get("/openapi.json").json()
    schema = spec["components"]["schemas"]["ParticipationPublic"]
    assert "recorded_on" not in schema["required"] and "read it as null" in schema["properties"]["recorded_on"]["description"]
    enrol = spec["paths"]["/members/{member_id}/participations"]["post"]
    [header] = [p for p in enrol["parameters"] if p["name"] == "Idempotency-Key"]
    assert "a field added to the answers since is absent from it" in header["description"]


def test_a_meetings_attendees_are_judged_in_their_order_as_an_activitys_participants_are(client: TestClient) -> None:
    """A meeting naming a stranger, then the duplicate, was 409 ``member_not_merged`` and the stranger unsaid, while an
    activity listing them so was 422 ``known_member`` (tester 196 F4). Both read their list in its order: a refused
    row before the merged record is the 422, naming every row refused; the merged record first is the 409."""
    survivor, duplicate, comas, los_olivos = yusmary_twice(client)
    assert merge(client, survivor["id"], duplicate["id"]).status_code == 201
    stranger = str(uuid4())

    def meeting(*attendees: str) -> Any:
        return client.post(f"/osvs/{los_olivos}/meetings", json=a_meeting(attendee_member_ids=list(attendees)))

    def activity(*members: str) -> Any:
        participants = [{"member_id": member_id} for member_id in members]
        return client.post("/activities", json=an_activity(comas, held_on="2025-02-22", direct_beneficiaries=..., participants=participants))

    assert mistakes_of(meeting(survivor["id"], stranger, duplicate["id"], str(uuid4()))) == {
        ("attendee_member_ids.1", "known_member"), ("attendee_member_ids.3", "known_member"),
    }
    assert mistakes_of(activity(survivor["id"], stranger, duplicate["id"], str(uuid4()))) == {
        ("participants.1.member_id", "known_member"), ("participants.3.member_id", "known_member"),
    }
    assert_problem(meeting(survivor["id"], duplicate["id"], stranger), 409, "attendee_member_ids.1", "member_not_merged")
    assert_problem(activity(survivor["id"], duplicate["id"], stranger), 409, "participants.1.member_id", "member_not_merged")
    assert not {"FollowUpMeetingHeld", "ActivityReported"} & {e["type"] for e in feed(client)}
