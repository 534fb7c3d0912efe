"""The Kobo webhook's account (``osv-imports``, role ``importer``: ``submissions:record`` alone) reads nobody, and a
command naming a member tells it no more than a read would, and what it tells shows on the member's access log.

Tester 218 F1: with a member id a registration's 409 gave it, the account's dry runs of meetings found which OSV a person
belongs to and their joining date (201 at theirs, 422 elsewhere, ``held_on`` varied), an activity's dry run echoed their
nationality and sex, a record merged or erased answered otherwise than a stranger, and nothing showed on the person's
access log. Engagement over HTTP, signed in with tokens the session's identity provider issued (the webhook's own,
``osv-imports``, got with its client secret), registry's OSVs fed to its view by hand (``test_fieldwork_api.py``).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_fieldwork_api import a_meeting, an_activity, upstream
from tests.integration.test_meeting_attendees import member_of
from tests.support.api import assert_problem, created, ok
from tests.support.identity import signed_in_headers, unverified_claims

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("engagement")]

WEBHOOK = "osv-imports"


def as_webhook(**headers: str) -> dict[str, str]:
    return {**signed_in_headers(WEBHOOK), **headers}


def logged(client: TestClient, member_id: str) -> list[tuple[str, str, str]]:
    """The member's access log as the DPO reads it: (reader, purpose, disclosure), oldest first."""
    return [(a["reader"], a["purpose"], a["disclosure"]) for a in ok(client.get(f"/members/{member_id}/access-log"))]


def webhook_subject(client: TestClient) -> str:
    """The subject the webhook's token names (its client's service account), as the access log records it."""
    return str(unverified_claims(signed_in_headers(WEBHOOK)["Authorization"].split()[1])["sub"])


def test_a_dry_run_naming_members_is_for_callers_who_may_read_them(client: TestClient) -> None:
    """The probe itself: the webhook's dry run of a meeting or an activity is 403 naming ``Dry-Run``, before anything
    runs; staff's dry runs are as before, and so is the webhook's dry run of a registration, which it checks a
    submission's people with."""
    up = upstream(client)
    theirs, elsewhere = up.osv_mapped(district="Comas"), up.osv_mapped(district="San Juan de Lurigancho", zone="Lima Este")
    person = member_of(client, theirs, "Yusmary Cordero Palacios", "40718293", "2024-02-01")

    meeting = client.post(f"/osvs/{theirs}/meetings", json=a_meeting(attendee_member_ids=[person]), headers=as_webhook(**{"Dry-Run": "true"}))
    activity = client.post(
        "/activities", json=an_activity(elsewhere, direct_beneficiaries=[], participants=[{"member_id": person}]),
        headers=as_webhook(), params={"dry_run": "true"},
    )

    for refused in (meeting, activity):
        problem = assert_problem(refused, 403, "Dry-Run", "dry_run_reads")
        assert "members:read" in problem["detail"] and "VE" not in refused.text
    assert logged(client, person) == []  # nothing ran: nothing told
    assert client.get(f"/osvs/{theirs}/follow-up").json()["meetings"] == []
    # Staff's dry run answers as before.
    tried = client.post(f"/osvs/{theirs}/meetings", json=a_meeting(attendee_member_ids=[person]), headers={"Dry-Run": "true"})
    assert tried.status_code == 201 and tried.headers["Dry-Run"] == "true"
    # The webhook's dry run of a registration is its own.
    registration = {"osv_id": theirs, "full_name": "Ramón Quispe", "document_type": "DNI", "document_number": "41829304",
                    "nationality": "PE", "sex": "M", "joined_on": "2024-03-01"}
    checked = client.post("/members", json=registration, headers=as_webhook(**{"Dry-Run": "true"}))
    assert checked.status_code == 201 and checked.headers["Dry-Run"] == "true", checked.text


def test_an_activity_the_webhook_records_does_not_echo_a_members_nationality_or_sex(client: TestClient) -> None:
    """The activity is recorded as staff's would be (staff read the member's nationality and sex in it); its answer to the
    webhook leaves them out, in the participants and in the counts made of them."""
    up = upstream(client)
    theirs, elsewhere = up.osv_mapped(district="Comas"), up.osv_mapped(district="San Juan de Lurigancho", zone="Lima Este")
    person = member_of(client, theirs, "Yusmary Cordero Palacios", "40718293", "2024-02-01")  # PE, M
    stranger = {"person_id": "6d1f3a52-1c7e-4f7e-9b8a-3f2d2f0c1a10", "nationality": "VE", "sex": "F"}
    body = an_activity(elsewhere, direct_beneficiaries=[], participants=[{"member_id": person}, stranger])

    answer = created(client.post("/activities", json=body, headers=as_webhook()))

    assert [(p["nationality"], p["sex"], p["member"]) for p in answer["participants"]] == [(None, None, True), ("VE", "F", False)]
    assert answer["direct_beneficiaries"] == [{"nationality": "VE", "sex": "F", "count": 1}]
    assert answer["direct_beneficiary_total"] == 2
    assert "PE" not in str(answer["participants"]) and "PE" not in str(answer["direct_beneficiaries"])
    recorded = ok(client.get(f"/activities/{answer['id']}"))
    assert [(p["nationality"], p["sex"]) for p in recorded["participants"]] == [("PE", "M"), ("VE", "F")]
    assert {(g["nationality"], g["sex"]) for g in recorded["direct_beneficiaries"]} == {("PE", "M"), ("VE", "F")}


def refusal_of(answer: Any) -> tuple[int, str, str]:
    [error] = answer.json()["errors"]
    return answer.status_code, error["rule"], error["message"]


def test_a_refusal_to_the_webhook_tells_no_erased_or_merged_person_apart_from_a_stranger(client: TestClient) -> None:
    """To the webhook, an attendee or participant erased, or merged into another record, is refused as a stranger is: one
    status, one rule, one message (a merged record was 409 naming the member it went into; erased, a 422; an erased
    participant was taken, its nationality and sex echoed)."""
    up = upstream(client)
    here, there = up.osv_mapped(district="Comas"), up.osv_mapped(district="Comas")
    present = member_of(client, here, "Ramón Quispe", "40718293", "2024-02-01")
    erased = member_of(client, here, "Wilmer Rojas", "41829304", "2024-02-01")
    merged = member_of(client, here, "Yolanda Mamani", "42930415", "2024-02-01")
    survivor = member_of(client, there, "Yolanda Mamani Ccori", "42930416", "2024-02-01")
    ok(client.post(f"/members/{erased}/erasure", json={"erased_on": "2025-04-01"}))
    created(client.post(f"/members/{survivor}/merges", json={"duplicate_id": merged}))
    stranger = "0b5f3c1e-8d6a-4c59-a7f1-2e4b9d3c6a80"

    meetings = {
        who: client.post(f"/osvs/{here}/meetings", json=a_meeting(attendee_member_ids=[present, who]), headers=as_webhook())
        for who in (stranger, erased, merged)
    }
    activities = {
        who: client.post("/activities", json=an_activity(here, direct_beneficiaries=[], participants=[{"member_id": present}, {"member_id": who}]),
                         headers=as_webhook())
        for who in (stranger, erased, merged)
    }

    meeting_refusals = {refusal_of(answer) for answer in meetings.values()}
    assert len(meeting_refusals) == 1, meeting_refusals
    assert next(iter(meeting_refusals))[:2] == (422, "known_member")
    assert {refusal_of(answer)[:2] for answer in activities.values()} == {(422, "known_member")}
    assert {refusal_of(answer)[2].replace(who, "<id>") for who, answer in activities.items()} == {
        refusal_of(activities[stranger])[2].replace(stranger, "<id>")
    }
    assert survivor not in str([a.text for a in (*meetings.values(), *activities.values())])
    # Staff are told of the merge as before.
    to_staff = client.post(f"/osvs/{here}/meetings", json=a_meeting(attendee_member_ids=[merged]))
    assert_problem(to_staff, 409, "attendee_member_ids.0", "member_not_merged")


def test_what_a_command_of_the_webhook_told_of_a_member_is_on_their_access_log(client: TestClient) -> None:
    """A meeting or an activity naming a member, sent by the webhook's account, is recorded on that member's access log
    (purpose ``follow_up``), refused for that member or carried out, as a registration's 409 naming a document's holder
    is; a refusal is logged though the command writes nothing. Staff's commands, who read members, are not logged."""
    up = upstream(client)
    theirs, other = up.osv_mapped(district="Comas"), up.osv_mapped(district="Comas")
    person = member_of(client, theirs, "Yusmary Cordero Palacios", "40718293", "2024-02-01")
    webhook = webhook_subject(client)

    probe = client.post(f"/osvs/{other}/meetings", json=a_meeting(attendee_member_ids=[person]), headers=as_webhook())
    assert_problem(probe, 422, "attendee_member_ids.0", "known_member")
    assert logged(client, person) == [(webhook, "follow_up", "meeting_attendee")]
    assert client.get(f"/osvs/{other}/follow-up").json()["meetings"] == []  # refused: nothing of the command written

    # The body refused for another mistake too: its 422 says whether the attendee was a member on that day.
    in_future = client.post(f"/osvs/{theirs}/meetings", json=a_meeting(held_on="2999-01-01", attendee_member_ids=[person]), headers=as_webhook())
    assert in_future.status_code == 422
    created(client.post(f"/osvs/{theirs}/meetings", json=a_meeting(attendee_member_ids=[person]), headers=as_webhook()))
    created(client.post("/activities", json=an_activity(other, direct_beneficiaries=[], participants=[{"member_id": person}]), headers=as_webhook()))
    listed_as_person = client.post(
        "/activities", json=an_activity(other, direct_beneficiaries=[], participants=[{"person_id": person, "nationality": "PE", "sex": "M"}]),
        headers=as_webhook(),
    )
    assert_problem(listed_as_person, 422, "participants.0.person_id", "member_or_person")

    assert logged(client, person) == [(webhook, "follow_up", "meeting_attendee")] * 3 + [(webhook, "follow_up", "activity_participant")] * 2
    before = len(logged(client, person))
    created(client.post(f"/osvs/{theirs}/meetings", json=a_meeting(held_on="2025-03-11", attendee_member_ids=[person])))
    assert len(logged(client, person)) == before  # staff: nothing told that they may not read


def test_a_meeting_naming_a_member_is_logged_with_the_meetings_osv(client: TestClient) -> None:
    """The DPO tells the person which OSV's meeting named them, as a read of an OSV's member list names that OSV (its
    ``osv_id`` was null: helper h294): the meeting refused at another OSV, refused for another mistake, and taken."""
    up = upstream(client)
    theirs, other = up.osv_mapped(district="Comas"), up.osv_mapped(district="Comas")
    person = member_of(client, theirs, "Yusmary Cordero Palacios", "40718293", "2024-02-01")

    assert_problem(client.post(f"/osvs/{other}/meetings", json=a_meeting(attendee_member_ids=[person]), headers=as_webhook()), 422)
    in_future = a_meeting(held_on="2999-01-01", attendee_member_ids=[person])
    assert client.post(f"/osvs/{theirs}/meetings", json=in_future, headers=as_webhook()).status_code == 422
    created(client.post(f"/osvs/{theirs}/meetings", json=a_meeting(attendee_member_ids=[person]), headers=as_webhook()))

    entries = ok(client.get(f"/members/{person}/access-log"))
    assert [(a["disclosure"], a["osv_id"]) for a in entries] == [("meeting_attendee", other), ("meeting_attendee", theirs), ("meeting_attendee", theirs)]


def test_any_member_records_id_given_the_webhook_as_a_person_id_is_refused_alike_and_logged_on_that_record(client: TestClient) -> None:
    """Tester 221 F1: a person_id that is a member record's id is refused (taken, it would tie a person erased, by the
    pseudonymous id the published events keep, to new data of theirs), and to the webhook one refusal for a member, a
    person erased and a record merged into another, logged on that record's access log, the erased person's too (it was
    left out, so the 422, where a stranger's random id is taken, told an erased person unlogged). The erased person's
    access log stays the DPO's alone."""
    up = upstream(client)
    here, there = up.osv_mapped(district="Comas"), up.osv_mapped(district="Comas")
    living = member_of(client, here, "Ramón Quispe", "40718293", "2024-02-01")
    erased = member_of(client, here, "Wilmer Rojas", "41829304", "2024-02-01")
    merged = member_of(client, here, "Yolanda Mamani", "42930415", "2024-02-01")
    survivor = member_of(client, there, "Yolanda Mamani Ccori", "42930416", "2024-02-01")
    ok(client.post(f"/members/{erased}/erasure", json={"erased_on": "2025-04-01"}))
    created(client.post(f"/members/{survivor}/merges", json={"duplicate_id": merged}))
    webhook = webhook_subject(client)

    def listing(person_id: str) -> Any:
        participant = {"person_id": person_id, "nationality": "VE", "sex": "F"}
        return client.post("/activities", json=an_activity(there, direct_beneficiaries=[], participants=[participant]), headers=as_webhook())

    refusals = {who: listing(who) for who in (living, erased, merged)}

    for who, answer in refusals.items():
        assert_problem(answer, 422, "participants.0.person_id", "member_or_person")
    assert len({refusal_of(answer)[2].replace(who, "<id>") for who, answer in refusals.items()}) == 1
    for who in (living, erased, merged):
        assert logged(client, who) == [(webhook, "follow_up", "activity_participant")], who
    assert survivor not in str([a.text for a in refusals.values()]) and logged(client, survivor) == []
    # A stranger's random id is a person's, taken.
    created(listing("5c0e2a7d-4b3f-4e1a-9d8c-6f1b2a3c4d5e"))
    # What a refusal to a body with other mistakes says is the same, and logged so.
    in_future = client.post("/activities", headers=as_webhook(), json=an_activity(
        there, held_on="2999-01-01", direct_beneficiaries=[], participants=[{"person_id": erased, "nationality": "VE", "sex": "F"}],
    ))
    assert ("participants.0.person_id", "member_or_person") in {(e["field"], e["rule"]) for e in in_future.json()["errors"]}
    assert logged(client, erased) == [(webhook, "follow_up", "activity_participant")] * 2
    # The erased person's access log is the DPO's to read, as any person's: 403 to everyone else.
    for other in ("staff", WEBHOOK):
        assert client.get(f"/members/{erased}/access-log", headers=signed_in_headers(other)).status_code == 403


def test_a_registration_refused_to_the_webhook_for_a_registered_document_does_not_tell_which_osv_the_person_is_in(client: TestClient) -> None:
    """Tester 221 F2: the webhook's registration dry runs (its own, to check a submission's people) of one document in
    each OSV found the person's: the 409 said "an active member of this OSV already" at theirs and "add a membership to
    them" elsewhere. To a caller who may not read members one message for both, telling the field to check; staff are
    told which, as before. Each refusal is logged on the holder's access log."""
    up = upstream(client)
    theirs, elsewhere = up.osv_mapped(district="Comas"), up.osv_mapped(district="Comas")
    person = member_of(client, theirs, "Yusmary Cordero Palacios", "40718293", "2024-02-01")
    webhook = webhook_subject(client)

    def registering(osv_id: str, **headers: str) -> Any:
        registration = {"osv_id": osv_id, "full_name": "Yusmary Cordero", "document_type": "DNI", "document_number": "40718293",
                        "nationality": "PE", "sex": "M", "joined_on": "2024-03-01"}
        return client.post("/members", json=registration, headers=headers)

    to_webhook = [registering(osv, **as_webhook(**{"Dry-Run": "true"})) for osv in (theirs, elsewhere)]
    to_webhook += [registering(osv, **as_webhook()) for osv in (theirs, elsewhere)]

    messages = {assert_problem(answer, 409, "document_number", "person_already_registered")["detail"] for answer in to_webhook}
    assert len(messages) == 1, messages
    [message] = messages
    assert person in message and "unless" in message and "memberships" in message
    assert all("member_here" not in answer.json() for answer in to_webhook)  # nor told in a member of its own (h302)
    assert logged(client, person) == [(webhook, "duplicate_check", "registration_refused")] * 4
    # The DPO sees the OSV each refused registration named: a dry run per OSV shows as such.
    assert [a["osv_id"] for a in ok(client.get(f"/members/{person}/access-log"))] == [theirs, elsewhere] * 2
    # Staff read the OSV's members: they are told which.
    here = assert_problem(registering(theirs, **{"Dry-Run": "true"}), 409, "document_number", "person_already_registered")
    there = assert_problem(registering(elsewhere), 409, "document_number", "person_already_registered")
    assert "an active member of this OSV already: nothing to add" in here["detail"]
    assert f"add a membership to them (POST /members/{person}/memberships)" in there["detail"] and "unless" not in there["detail"]
    # And in the problem's member_here, which the import reads to take an edit's person as already there (h302).
    assert registering(theirs).json()["member_here"] is True and registering(elsewhere).json()["member_here"] is False
