"""A follow-up meeting's attendees: members of its OSV on its day, each named once, every one at fault named in one
answer; and a membership's dates never moved past a meeting its member is named at.

Engagement over HTTP, registry's OSVs (and their merges) fed to its view by hand, as in ``test_fieldwork_api.py``,
whose helpers these use.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from services.engagement.domain.followup import FollowUp, MeetingMode, MeetingTopic
from tests.integration.test_fieldwork_api import a_meeting, a_member, an_activity, upstream
from tests.support.api import assert_problem, created, ok
from tests.support.identity import signed_in_headers

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("engagement")]


def member_of(client: TestClient, osv_id: str, name: str, number: str, joined_on: str, left_on: str | None = None) -> str:
    member_id = created(client.post("/members", json={
        "osv_id": osv_id, "full_name": name, "document_type": "DNI", "document_number": number,
        "nationality": "PE", "sex": "M", "joined_on": joined_on,
    }))["id"]
    if left_on:
        ok(client.post(f"/members/{member_id}/departure", json={"left_on": left_on, "reason": "moved_abroad"}), 200)
    return member_id


def test_only_members_attend_by_id_and_each_once(client: TestClient) -> None:
    up = upstream(client)
    osv_id = up.osv_mapped()
    member_id = a_member(client, osv_id)
    activity = created(client.post("/activities", json=an_activity(osv_id)))

    # An activity's id is not a member's.
    not_a_member = client.post(f"/osvs/{osv_id}/meetings", json=a_meeting(attendee_member_ids=[member_id, activity["id"]]))
    twice = client.post(f"/osvs/{osv_id}/meetings", json=a_meeting(attendee_member_ids=[member_id, member_id]))

    assert_problem(not_a_member, 422, "attendee_member_ids.1", "known_member")
    assert_problem(twice, 422, "attendee_member_ids.1", "unique_attendees")


def test_a_meeting_names_only_those_who_were_members_of_its_osv_on_its_day(client: TestClient) -> None:
    """A member of another OSV (another district's) named as an attendee was taken, and this OSV's focal point then read
    their id in its follow-up (tester 163 F10): 422 ``known_member``, nothing written. So is one who joined after the
    meeting, or left before it (tester 165 F2). One who left since attended it; so did a member of a second record of
    the OSV, merged into it since (tester 165 F1)."""
    up = upstream(client)
    here, elsewhere = up.osv_mapped(district="Comas"), up.osv_mapped(district="San Juan de Lurigancho", zone="Lima Este")
    duplicate = up.osv_mapped(district="Comas")
    stranger = a_member(client, elsewhere)

    left_since = member_of(client, here, "Ramón Quispe", "40718293", "2024-02-01", left_on="2025-06-01")
    left_before = member_of(client, here, "Wilmer Rojas", "41829304", "2024-02-01", left_on="2025-03-09")
    joined_after = member_of(client, here, "Yolanda Mamani", "42930415", "2025-03-11")
    merged_in = member_of(client, duplicate, "Andreína Castillo", "43041526", "2024-05-01")
    up.osv_merged(duplicate, here, merged_on="2025-01-15")
    meeting = {"held_on": "2025-03-10"}

    for index, who in enumerate((stranger, left_before, joined_after), start=1):
        refused = client.post(f"/osvs/{here}/meetings", json=a_meeting(**meeting, attendee_member_ids=[left_since, who]))
        error = assert_problem(refused, 422, "attendee_member_ids.1", "known_member")["errors"][0]
        assert who not in str(error), index
    taken = client.post(f"/osvs/{here}/meetings", json=a_meeting(**meeting, attendee_member_ids=[left_since, merged_in]))

    assert created(taken)["attendee_member_ids"] == [left_since, merged_in]
    assert [m["attendee_member_ids"] for m in client.get(f"/osvs/{here}/follow-up").json()["meetings"]] == [[left_since, merged_in]]


def test_a_membership_is_not_moved_past_a_meeting_its_member_is_named_at(client: TestClient) -> None:
    """A joining date corrected to after a meeting the member attended, or a departure recorded before it, was taken, and
    the meeting then named someone who was no member on its day (tester 166 F1): 422 on the date, naming the meeting's
    day; a change that keeps every meeting within a membership is taken."""
    osv_id = upstream(client).osv_mapped()
    member_id = a_member(client, osv_id)  # joined 2024-02-01
    membership_id = ok(client.get(f"/members/{member_id}", params={"masked": "true"}))["memberships"][0]["membership_id"]
    created(client.post(f"/osvs/{osv_id}/meetings", json=a_meeting(held_on="2025-03-10", attendee_member_ids=[member_id])))
    correction = f"/members/{member_id}/memberships/{membership_id}/joining-date-correction"

    later = assert_problem(client.post(correction, json={"joined_on": "2025-04-01"}), 422, "joined_on", "not_after_attended_on")
    before = assert_problem(client.post(f"/members/{member_id}/departure", json={"left_on": "2025-03-09", "reason": "moved_abroad"}),
                            422, "left_on", "not_before_attended_on")

    assert later["detail"] == ("joined_on 2025-04-01 is after a meeting of the OSV the member is named at, held on 2025-03-10: "
                               "it can be 2025-03-10 at the latest")
    assert "held on 2025-03-10: it can be 2025-03-10 at the earliest" in before["detail"]
    member = ok(client.get(f"/members/{member_id}", params={"masked": "true"}))
    assert [(m["joined_on"], m["left_on"]) for m in member["memberships"]] == [("2024-02-01", None)]
    ok(client.post(correction, json={"joined_on": "2025-03-10"}))
    ok(client.post(f"/members/{member_id}/departure", json={"left_on": "2025-03-10", "reason": "moved_abroad"}))


def test_every_attendee_not_a_member_of_the_osv_is_named_in_one_answer(client: TestClient) -> None:
    """A list of thirty attendees with three strangers took three answers, one stranger each (tester 165 F4)."""
    up = upstream(client)
    here = up.osv_mapped()
    member_id = a_member(client, here)
    meeting = a_meeting(attendee_member_ids=[str(uuid4()), member_id, str(uuid4()), str(uuid4())])

    problem = assert_problem(client.post(f"/osvs/{here}/meetings", json=meeting), 422, "attendee_member_ids.0", "known_member")

    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [
        ("attendee_member_ids.0", "known_member"), ("attendee_member_ids.2", "known_member"), ("attendee_member_ids.3", "known_member"),
    ]
    assert client.get(f"/osvs/{here}/follow-up").json()["meetings"] == []


def test_a_member_named_twice_at_a_meeting_is_told_where_the_other_entry_is(client: TestClient) -> None:
    """A promoter's list of fifty attendees with one member twice: the answer named the second entry's place only, and
    the promoter had to search the list for the first (tester, small29). As the Kobo import's "one person twice" names
    the other entry (`miembros[1]`), each repeat names the first, never the member's id."""
    osv_id = upstream(client).osv_mapped()
    member_id = a_member(client, osv_id)
    meeting = a_meeting(attendee_member_ids=[str(uuid4()), member_id, member_id, member_id])

    errors = [e for e in assert_problem(client.post(f"/osvs/{osv_id}/meetings", json=meeting), 422)["errors"] if e["rule"] == "unique_attendees"]

    assert [(e["field"], e["message"]) for e in errors] == [
        ("attendee_member_ids.2", "the member at attendee_member_ids.2 is at attendee_member_ids.1 too: list each attendee once"),
        ("attendee_member_ids.3", "the member at attendee_member_ids.3 is at attendee_member_ids.1 too: list each attendee once"),
    ]
    assert member_id not in str(errors)


def test_a_person_erased_is_not_named_at_a_meeting_recorded_since(client: TestClient) -> None:
    """A member whose personal data was erased could still be named at a meeting recorded after the erasure (tester 166
    observation): 422 ``known_member`` at their place, as for a stranger, naming neither their id nor who they were, and
    nothing written, whatever the meeting's day. A meeting recorded before the erasure keeps them."""
    osv_id = upstream(client).osv_mapped()
    erased = a_member(client, osv_id)  # joined 2024-02-01
    other = member_of(client, osv_id, "Ramón Quispe", "40718293", "2024-02-01")
    before = created(client.post(f"/osvs/{osv_id}/meetings", json=a_meeting(held_on="2025-03-10", attendee_member_ids=[erased, other])))
    ok(client.post(f"/members/{erased}/erasure", json={"erased_on": "2025-04-01"}))

    for held_on in ("2025-03-10", "2025-04-15"):
        refused = client.post(f"/osvs/{osv_id}/meetings", json=a_meeting(held_on=held_on, attendee_member_ids=[other, erased], action_items=[]))
        problem = assert_problem(refused, 422, "attendee_member_ids.1", "known_member")
        assert erased not in str(problem) and "Yusmary" not in str(problem) and len(problem["errors"]) == 1
        assert "or their personal data is erased" in problem["detail"]  # not told to record again someone erased (tester 168 F2)
    assert [m["meeting_id"] for m in ok(client.get(f"/osvs/{osv_id}/follow-up"))["meetings"]] == [before["meeting_id"]]

    taken = created(client.post(f"/osvs/{osv_id}/meetings", json=a_meeting(held_on="2025-04-15", attendee_member_ids=[other], action_items=[])))

    assert taken["attendee_member_ids"] == [other]
    meetings = ok(client.get(f"/osvs/{osv_id}/follow-up"))["meetings"]
    assert [m["attendee_member_ids"] for m in meetings] == [[other], [erased, other]]


def test_a_meeting_recorded_before_attendees_were_checked_shows_only_its_osvs_members_on_its_day(client: TestClient) -> None:
    """Meetings recorded before attendees were checked kept any id they were given, and the OSV's follow-up showed each
    one, a stranger's too, to its focal point (tester 165 F3): only the attendees who were members of the OSV on the
    meeting's day are shown (a member of an OSV merged into it counting, as the write check counts them), and counted in
    ``attendee_count``; the record keeps the rest."""
    up = upstream(client)
    here = up.osv_mapped(district="San Juan de Lurigancho", zone="Lima Este")
    elsewhere, duplicate = up.osv_mapped(district="Comas"), up.osv_mapped(district="San Juan de Lurigancho", zone="Lima Este")
    stranger = a_member(client, elsewhere)
    member = member_of(client, here, "Ramón Quispe", "40718293", "2024-02-01")
    joined_after = member_of(client, here, "Yolanda Mamani", "42930415", "2025-03-11")
    left_before = member_of(client, here, "Wilmer Rojas", "41829304", "2024-02-01", left_on="2025-03-09")
    merged_in = member_of(client, duplicate, "Andreína Castillo", "43041526", "2024-05-01")
    up.osv_merged(duplicate, here, merged_on="2025-01-15")
    named = [stranger, member, joined_after, str(uuid4()), left_before, merged_in]  # as an older meeting took them, unchecked
    engagement = client.app.state.runtime.app  # type: ignore[attr-defined]
    follow_up = FollowUp(osv_id=UUID(here))
    follow_up.hold_meeting(date(2025, 3, 10), MeetingMode.IN_PERSON, [MeetingTopic.RUOS_REGISTRATION], [UUID(m) for m in named], 2, None, [],
                           known_members={UUID(m) for m in named}, today=date(2025, 6, 1))
    engagement.save(follow_up)

    for reader in ({}, signed_in_headers("municipal-150132")):
        [meeting] = ok(client.get(f"/osvs/{here}/follow-up", headers=reader))["meetings"]

        assert meeting["attendee_member_ids"] == [member, merged_in] and meeting["attendee_count"] == 4
        assert all(who not in str(meeting) for who in (stranger, joined_after, left_before))
    redacted = ok(client.post(f"/osvs/{here}/meetings/{meeting['meeting_id']}/redaction"))  # its answer shows the meeting too
    assert redacted["attendee_member_ids"] == [member, merged_in] and redacted["attendee_count"] == 4
    assert list(engagement.find_follow_up(UUID(here)).meetings.values())[0].attendee_member_ids == tuple(UUID(m) for m in named)


def test_a_meeting_recorded_before_attendees_were_checked_bounds_no_date_of_someone_it_named_on_a_day_they_were_no_member(
    client: TestClient,
) -> None:
    """An older meeting (recorded before attendees were checked) that named a member before they joined made every later
    joining-date correction and departure of theirs 422 ``not_after_attended_on``/``not_before_attended_on``: their dates
    could never be corrected. Only the meetings their follow-up shows them at (a member on the day) bound their dates."""
    up = upstream(client)
    osv_id = up.osv_mapped()
    member_id = member_of(client, osv_id, "Ramón Quispe", "40718293", "2025-05-01")
    engagement = client.app.state.runtime.app  # type: ignore[attr-defined]
    follow_up = FollowUp(osv_id=UUID(osv_id))
    follow_up.hold_meeting(date(2025, 3, 10), MeetingMode.IN_PERSON, [MeetingTopic.RUOS_REGISTRATION], [UUID(member_id)], 1, None, [],
                           known_members={UUID(member_id)}, today=date(2025, 6, 1))  # before they joined, as an older meeting took it
    engagement.save(follow_up)
    created(client.post(f"/osvs/{osv_id}/meetings", json=a_meeting(held_on="2025-06-10", attendee_member_ids=[member_id], action_items=[])))
    membership_id = ok(client.get(f"/members/{member_id}", params={"masked": "true"}))["memberships"][0]["membership_id"]
    correction = f"/members/{member_id}/memberships/{membership_id}/joining-date-correction"

    ok(client.post(correction, json={"joined_on": "2025-05-20"}))  # the meeting of 2025-03-10 does not show them: no bound
    assert_problem(client.post(correction, json={"joined_on": "2025-06-11"}), 422, "joined_on", "not_after_attended_on")  # 06-10 does
    assert_problem(client.post(f"/members/{member_id}/departure", json={"left_on": "2025-06-09", "reason": "moved_abroad"}),
                   422, "left_on", "not_before_attended_on")
    ok(client.post(f"/members/{member_id}/departure", json={"left_on": "2025-06-10", "reason": "moved_abroad"}))
    member = ok(client.get(f"/members/{member_id}", params={"masked": "true"}))
    assert [(m["joined_on"], m["left_on"]) for m in member["memberships"]] == [("2025-05-20", "2025-06-10")]


def test_a_meeting_whose_body_is_well_formed_is_told_every_mistake_of_its_date_attendees_and_actions_at_once(client: TestClient) -> None:
    """A meeting dated before its OSV's mapping, naming someone not yet a member, with an action due before it, was told
    only the first of the three, then the next once that was put right (helper 193): a promoter copying a paper form
    fixed it in three rounds. One 422 names them all, in the body's order; nothing is written."""
    up = upstream(client)
    osv_id = up.osv_mapped()  # mapped 2024-01-15
    member_id = a_member(client, osv_id)  # joined 2024-02-01
    meeting = a_meeting(held_on="2024-01-10", attendee_member_ids=[member_id],
                        action_items=[{"description": "Reunir las actas", "owner": "junta directiva", "due_on": "2024-01-05"}])

    problem = assert_problem(client.post(f"/osvs/{osv_id}/meetings", json=meeting), 422, "held_on", "not_before_mapped_on")

    assert [(e["field"], e["rule"]) for e in problem["errors"]][1:] == [
        ("attendee_member_ids.0", "known_member"), ("action_items.0.due_on", "not_before_held_on"),
    ], problem["errors"]
    assert client.get(f"/osvs/{osv_id}/follow-up").json()["meetings"] == []


@pytest.mark.parametrize(("changes", "expected"), [
    # A topic twice (the schema's) and an action due before the meeting (the application's): the second was left out.
    ({"topics": ["needs", "needs"]}, [("topics.1", "unique_topics"), ("action_items.0.due_on", "not_before_held_on")]),
    # A count below 0 and the same action.
    ({"other_attendees": -1}, [("other_attendees", "not_negative"), ("action_items.0.due_on", "not_before_held_on")]),
])
def test_a_meeting_refused_by_its_schema_is_told_its_other_mistakes_too(
    client: TestClient, changes: dict[str, object], expected: list[tuple[str, str]]
) -> None:
    """Tester 199 F1: a meeting body the schema refused was told only the schema's mistakes; its action due before the
    meeting came once they were put right. The application's checks that need no write are named in the same 422."""
    up = upstream(client)
    osv_id = up.osv_mapped()
    meeting = a_meeting(held_on="2024-05-01", action_items=[{"description": "Reunir las actas", "owner": "junta", "due_on": "2024-04-01"}])

    problem = assert_problem(client.post(f"/osvs/{osv_id}/meetings", json={**meeting, **changes}), 422)

    assert [(e["field"], e["rule"]) for e in problem["errors"]] == expected


def test_a_refused_meetings_mistakes_come_in_the_bodys_order(client: TestClient) -> None:
    """Tester 199 F1: the schema's mistakes came in its fields' order and the store's after them all: a meeting's
    attendees named twice and a stranger were told apart by its topics. In the order of the body as sent, then by row."""
    up = upstream(client)
    osv_id = up.osv_mapped()
    member_id = a_member(client, osv_id)
    body = {"held_on": "2030-01-01", "mode": "in_person", "topics": ["needs", "needs"],
            "attendee_member_ids": [member_id, member_id, str(uuid4())], "other_attendees": 0}

    problem = assert_problem(client.post(f"/osvs/{osv_id}/meetings", json=body), 422)

    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [
        ("held_on", "not_in_future"), ("topics.1", "unique_topics"),
        ("attendee_member_ids.1", "unique_attendees"), ("attendee_member_ids.2", "known_member"),
    ]


def test_a_person_erased_is_not_named_by_an_activity_recorded_since_whoever_records_it(client: TestClient) -> None:
    """Tester 304 F1: staff's activity naming an erased member by ``member_id`` was taken (201), and the published
    ``ActivityReported`` tied the id the store keeps of her to a new day, OSV, nationality and sex. Refused as a meeting's
    attendee is: 422 ``known_member`` at her place, one message with a stranger's, and nothing written. An activity
    recorded before the erasure keeps her."""
    osv_id = upstream(client).osv_mapped()
    erased = a_member(client, osv_id)
    other = member_of(client, osv_id, "Ramón Quispe", "40718293", "2024-02-01")
    before = created(client.post("/activities", json=an_activity(osv_id, direct_beneficiaries=[], participants=[{"member_id": erased}])))
    ok(client.post(f"/members/{erased}/erasure", json={"erased_on": "2025-04-01"}))

    for held_on in ("2025-03-01", "2025-04-15"):  # before the erasure's day, and after
        body = an_activity(osv_id, held_on=held_on, direct_beneficiaries=[], participants=[{"member_id": other}, {"member_id": erased}])
        nobody = str(uuid4())
        refused = client.post("/activities", json=body)
        stranger = client.post("/activities", json={**body, "participants": [{"member_id": other}, {"member_id": nobody}]})
        problem = assert_problem(refused, 422, "participants.1.member_id", "known_member")
        assert "Yusmary" not in str(problem) and len(problem["errors"]) == 1
        strangers = assert_problem(stranger, 422, "participants.1.member_id", "known_member")
        assert problem["errors"][0]["message"] == strangers["errors"][0]["message"].replace(nobody, erased)

    assert [a["id"] for a in ok(client.get(f"/osvs/{osv_id}/activities"))] == [before["id"]]
