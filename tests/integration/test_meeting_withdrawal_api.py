"""A follow-up meeting recorded by mistake is withdrawn over HTTP (``POST /osvs/{osv_id}/meetings/{meeting_id}/withdrawal``).

A meeting on the wrong OSV or day, typed twice and kept with ``distinct_from``, or never held stayed for good: it was
the OSV's last contact, its actions stayed pending, and the right one on its day was a possible duplicate. Registry's
OSVs are fed to engagement's view by hand (:class:`~tests.support.api.Upstream`). The stories run on SQLite and
PostgreSQL; the error cases on SQLite.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from shared.clock import today_in_lima
from tests.integration.test_fieldwork_api import a_member
from tests.support.api import Upstream, assert_problem, created, ok
from tests.support.clients import application_of, feed, head, service_client

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("engagement")]

NOTES = "Acordamos con la señora Xiomara revisar el padrón"
ACTION = {"description": "Llevar el acta a la MML", "owner": "junta directiva", "due_on": "2025-05-05"}
MEETING = {"held_on": "2025-04-05", "mode": "in_person", "other_attendees": 4, "topics": ["needs"], "notes": NOTES}
STAFF_NOTE = "La promotora Gladys la cargó en la OSV de su hermana"


def an_osv(client: TestClient) -> str:
    return Upstream(application_of(client), mapped_on="2024-01-15").osv_mapped()


def a_meeting(client: TestClient, osv_id: str, **overrides: Any) -> dict[str, Any]:
    return created(client.post(f"/osvs/{osv_id}/meetings", json={**MEETING, **overrides}))


def withdrawal(client: TestClient, osv_id: str, meeting_id: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return client.post(f"/osvs/{osv_id}/meetings/{meeting_id}/withdrawal", json=body or {"reason": "wrong_osv"}, **kwargs)


def test_staff_withdraw_a_meeting_recorded_on_the_wrong_osv_and_it_stays_marked(client_on: TestClient) -> None:
    client = client_on
    osv_id = an_osv(client)
    earlier = a_meeting(client, osv_id, held_on="2025-03-01")
    wrong = a_meeting(client, osv_id, action_items=[ACTION, {**ACTION, "description": "Enviar fotos"}])
    done, still_open = (a["action_id"] for a in wrong["action_items"])
    client.post(f"/osvs/{osv_id}/actions/{done}/completion", json={"completed_on": "2025-04-20"}).raise_for_status()

    answer = withdrawal(client, osv_id, wrong["meeting_id"], {"reason": "wrong_osv", "note": STAFF_NOTE})

    assert answer.status_code == 200, answer.text
    withdrawn = answer.json()
    today = today_in_lima().isoformat()
    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["withdrawal"] == {"reason": "wrong_osv", "withdrawn_on": today, "note": STAFF_NOTE}
    assert [(a["action_id"], a["completed_on"], a["withdrawn_on"]) for a in withdrawn["action_items"]] == [
        (done, "2025-04-20", None),
        (still_open, None, today),
    ]

    # The follow-up still lists it, marked; it is no longer the last contact, and its open action is no longer pending.
    follow_up = client.get(f"/osvs/{osv_id}/follow-up").json()
    assert [(m["meeting_id"], m["status"]) for m in follow_up["meetings"]] == [
        (wrong["meeting_id"], "withdrawn"),
        (earlier["meeting_id"], "held"),
    ]
    assert follow_up["last_contact"] == {"on": "2025-03-01", "kind": "meeting"}
    assert follow_up["open_actions"] == []

    # Completing the action withdrawn with it is 409, saying why.
    problem = assert_problem(
        client.post(f"/osvs/{osv_id}/actions/{still_open}/completion", json={"completed_on": "2025-04-21"}),
        409, "action_id", "meeting_not_withdrawn",
    )
    assert "withdrawn" in problem["detail"]

    # The feed says which meeting, its day, its actions and the code, and nothing staff wrote.
    [published] = [e for e in feed(client) if e["type"] == "FollowUpMeetingWithdrawn"]
    assert published["data"]["meeting_id"] == wrong["meeting_id"]
    assert (published["data"]["held_on"], published["data"]["reason"]) == ("2025-04-05", "wrong_osv")
    assert STAFF_NOTE not in json.dumps(published) and "note" not in published["data"]


def test_a_meeting_is_withdrawn_once_and_one_unknown_or_of_another_osv_is_not_found(client: TestClient) -> None:
    osv_id, other_osv = an_osv(client), an_osv(client)
    meeting = a_meeting(client, osv_id)
    assert withdrawal(client, osv_id, meeting["meeting_id"]).status_code == 200
    written = head(client)

    assert_problem(withdrawal(client, osv_id, meeting["meeting_id"], {"reason": "duplicate"}), 409, "meeting_id", "meeting_not_withdrawn")
    assert_problem(withdrawal(client, osv_id, str(uuid4())), 404, "meeting_id", "known_meeting")
    assert_problem(withdrawal(client, other_osv, meeting["meeting_id"]), 404, "meeting_id", "known_meeting")
    assert_problem(withdrawal(client, str(uuid4()), meeting["meeting_id"]), 404)
    assert head(client) == written


def test_a_withdrawal_on_an_osv_not_heard_of_names_the_osv_not_the_record(client: TestClient) -> None:
    """Tester 251 F5: a meeting's, an assistance record's or an assessment's withdrawal on an OSV id engagement never heard
    of was 404 `known_meeting` ("not one of this OSV's follow-up meetings"), where the record's own POST names the OSV."""
    unknown = str(uuid4())
    for kind in ("meetings", "technical-assistance", "needs-assessments"):
        answer = client.post(f"/osvs/{unknown}/{kind}/{uuid4()}/withdrawal", json={"reason": "duplicate"})
        assert_problem(answer, 404, "osv_id", "osv_mapped_in_registry")


def test_a_withdrawal_needs_a_known_reason_and_a_note_of_words(client: TestClient) -> None:
    osv_id = an_osv(client)
    meeting = a_meeting(client, osv_id)
    written = head(client)

    assert_problem(withdrawal(client, osv_id, meeting["meeting_id"], {"note": STAFF_NOTE}), 422, "reason", "missing")
    assert_problem(withdrawal(client, osv_id, meeting["meeting_id"], {"reason": "changed_my_mind"}), 422, "reason")
    assert_problem(withdrawal(client, osv_id, meeting["meeting_id"], {"reason": "duplicate", "note": "  "}), 422, "note")
    assert head(client) == written


def test_the_right_meeting_is_recorded_on_the_day_of_the_one_withdrawn(client: TestClient) -> None:
    osv_id = an_osv(client)
    wrong = a_meeting(client, osv_id)
    assert_problem(client.post(f"/osvs/{osv_id}/meetings", json=MEETING), 409, "held_on", "possible_duplicate")

    withdrawal(client, osv_id, wrong["meeting_id"], {"reason": "entered_in_error"}).raise_for_status()

    right = a_meeting(client, osv_id)
    assert right["meeting_id"] != wrong["meeting_id"] and right["status"] == "held"


def test_a_meeting_withdrawn_no_longer_bounds_the_dates_of_the_members_it_named(client: TestClient) -> None:
    osv_id = an_osv(client)
    member_id = a_member(client, osv_id)  # joined 2024-02-01
    membership_id = ok(client.get(f"/members/{member_id}", params={"masked": "true"}))["memberships"][0]["membership_id"]
    wrong = a_meeting(client, osv_id, attendee_member_ids=[member_id])  # held 2025-04-05
    correction = f"/members/{member_id}/memberships/{membership_id}/joining-date-correction"
    assert_problem(client.post(correction, json={"joined_on": "2025-05-01"}), 422, "joined_on", "not_after_attended_on")

    withdrawal(client, osv_id, wrong["meeting_id"], {"reason": "entered_in_error"}).raise_for_status()

    ok(client.post(correction, json={"joined_on": "2025-05-01"}))


def test_a_dry_run_withdraws_nothing_and_a_keyed_retry_is_answered_as_the_first(client: TestClient) -> None:
    osv_id = an_osv(client)
    meeting = a_meeting(client, osv_id)
    written = head(client)

    dry = withdrawal(client, osv_id, meeting["meeting_id"], headers={"Dry-Run": "true"})
    assert dry.status_code == 200, dry.text
    assert dry.json()["status"] == "withdrawn"
    assert head(client) == written
    assert client.get(f"/osvs/{osv_id}/follow-up").json()["meetings"][0]["status"] == "held"

    keyed = {"Idempotency-Key": "withdraw-1"}
    first = withdrawal(client, osv_id, meeting["meeting_id"], headers=keyed)
    after_first = head(client)
    retried = withdrawal(client, osv_id, meeting["meeting_id"], headers=keyed)

    assert (first.status_code, retried.status_code) == (200, 200)
    assert retried.json() == first.json()
    assert head(client) == after_first
    assert len([e for e in feed(client) if e["type"] == "FollowUpMeetingWithdrawn"]) == 1


def test_the_withdrawal_note_is_withheld_redacted_and_never_on_the_feed_or_the_disk_in_clear(tmp_path: Path) -> None:
    with service_client("engagement", tmp_path) as client:
        osv_id = an_osv(client)
        meeting = a_meeting(client, osv_id)
        withdrawal(client, osv_id, meeting["meeting_id"], {"reason": "wrong_date", "note": STAFF_NOTE}).raise_for_status()
        assert STAFF_NOTE not in client.get("/events").text

        redacted = client.post(f"/osvs/{osv_id}/meetings/{meeting['meeting_id']}/redaction")
        assert redacted.status_code == 200, redacted.text
        assert redacted.json()["withdrawal"]["note"] == "[redacted]"
        assert client.get(f"/osvs/{osv_id}/follow-up").json()["meetings"][0]["withdrawal"]["note"] == "[redacted]"

    stored = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())
    for form in (STAFF_NOTE.encode(), json.dumps(STAFF_NOTE).encode(), json.dumps(STAFF_NOTE, ensure_ascii=False).encode()):
        assert form not in stored
