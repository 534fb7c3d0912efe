"""An OSV's follow-up history (``GET /osvs/{id}/follow-up/history``) and an activity's
(``GET /activities/{id}/history``) for auditors, as an OSV's in registry: every event, oldest first, each with the
account whose command recorded it (``recorded_by``), paged; staff's words `[withheld]` to auditors, `[redacted]` to
everyone once forgotten.

Real registry and engagement (their test clients), the session's identity provider and the tokens it issued; engagement
hears of the OSV from registry's own feed. Staff record the meetings, the assistance and the activity; a lead withdraws
and redacts them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from services.engagement.domain.activities import ActivityNotFoundError
from services.engagement.domain.memberrules import OSVNotKnownError
from shared.roles import MunicipalScope
from tests.integration.test_command_actors import account
from tests.support.api import assert_problem, created, ok
from tests.support.clients import application_of, feed, service_client
from tests.support.identity import IssuedTokens
from tests.support.roles import PERSON

pytestmark = pytest.mark.timeout(180)

SMP = "150135"
NOTES = "Yusmary dijo que el vecino Ramón perdió su PTP"
ACTION = "Acompañar a la señora Zoraida a la MML"
WITHDRAWAL_NOTE = "Lo registró dos veces la promotora Gladys"
ASSISTANCE_NOTE = "Revisamos el libro de caja con el tesorero Wilmer"
DESCRIPTION = "Mural pintado con los hijos de la familia Berroterán"


@pytest.fixture
def system(tmp_path: Path, database_url: str) -> Iterator[dict[str, TestClient]]:
    with (
        service_client("registry", tmp_path / "var", database_url) as registry,
        service_client("engagement", tmp_path / "var", database_url) as engagement,
    ):
        yield {"registry": registry, "engagement": engagement}


def an_osv(system: dict[str, TestClient], tokens: IssuedTokens, name: str = "Vecinos de Zárate") -> str:
    """An OSV of San Juan de Lurigancho staff mapped, heard of in engagement; its id."""
    registry = system["registry"]
    osv = created(registry.post("/osvs", headers=tokens.headers("staff"), json={
        "name": name, "district": "San Juan de Lurigancho", "mapped_on": "2021-02-01"}))
    application_of(system["engagement"]).osvs.apply(feed(registry))
    return str(osv["id"])


def an_osv_with_a_member(system: dict[str, TestClient], tokens: IssuedTokens) -> tuple[str, str]:
    """:func:`an_osv`, and a member staff registered in it: (OSV, member)."""
    osv_id = an_osv(system, tokens)
    registered = {**PERSON, "osv_id": osv_id}
    member = created(system["engagement"].post("/members", headers=tokens.headers("staff"), json=registered))
    return osv_id, str(member["id"])


def a_followed_up_osv(system: dict[str, TestClient], tokens: IssuedTokens) -> tuple[str, str, dict[str, str]]:
    """Staff record two meetings (the member attends the first) and assistance; a lead withdraws the first meeting and
    the assistance, and forgets the first meeting's words. (OSV, member, ids by name)."""
    engagement = system["engagement"]
    staff, lead = tokens.headers("staff"), tokens.headers("lead")
    osv_id, member_id = an_osv_with_a_member(system, tokens)
    meeting = {"mode": "in_person", "topics": ["project_follow_up"], "notes": NOTES,
               "action_items": [{"description": ACTION, "owner": "junta directiva", "due_on": "2021-05-05"}]}
    first = created(engagement.post(f"/osvs/{osv_id}/meetings", headers=staff, json={
        **meeting, "held_on": "2021-04-05", "attendee_member_ids": [member_id]}))
    second = created(engagement.post(f"/osvs/{osv_id}/meetings", headers=staff, json={
        **meeting, "held_on": "2021-04-20"}))
    assistance = created(engagement.post(f"/osvs/{osv_id}/technical-assistance", headers=staff, json={
        "given_on": "2021-04-06", "topic": "accounting", "hours": "2", "note": ASSISTANCE_NOTE}))
    ok(engagement.post(f"/osvs/{osv_id}/meetings/{first['meeting_id']}/withdrawal", headers=lead, json={
        "reason": "duplicate", "note": WITHDRAWAL_NOTE}))
    assistance_id = assistance["assistance_id"]
    ok(engagement.post(f"/osvs/{osv_id}/technical-assistance/{assistance_id}/withdrawal", headers=lead, json={
        "reason": "wrong_date", "note": WITHDRAWAL_NOTE}))
    ok(engagement.post(f"/osvs/{osv_id}/meetings/{first['meeting_id']}/redaction", headers=lead))
    ids = {"first": first["meeting_id"], "second": second["meeting_id"], "assistance": assistance_id}
    return osv_id, member_id, ids


def test_an_auditor_reads_who_recorded_withdrew_and_redacted_each_meeting_and_assistance(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement = system["engagement"]
    osv_id, member_id, ids = a_followed_up_osv(system, tokens)
    staff, lead = account(tokens, "staff", ["staff"]), account(tokens, "lead", ["lead"])

    history = ok(engagement.get(f"/osvs/{osv_id}/follow-up/history", headers=tokens.headers("auditor")))
    assert [(e["type"], e["version"], e["recorded_by"]) for e in history] == [
        ("FollowUpOpened", 1, staff), ("FollowUpMeetingHeld", 2, staff), ("FollowUpMeetingHeld", 3, staff),
        ("TechnicalAssistanceGiven", 4, staff), ("FollowUpMeetingWithdrawn", 5, lead),
        ("TechnicalAssistanceWithdrawn", 6, lead), ("MeetingTextRedacted", 7, lead),
    ]
    held = {e["data"]["meeting_id"]: e["data"] for e in history if e["type"] == "FollowUpMeetingHeld"}
    # The attendees the follow-up shows the auditor, and nothing more.
    shown = ok(engagement.get(f"/osvs/{osv_id}/follow-up", headers=tokens.headers("auditor")))
    assert {m["meeting_id"]: m["attendee_member_ids"] for m in shown["meetings"]} == {
        ids["first"]: [member_id], ids["second"]: []}
    assert {k: v["attendee_member_ids"] for k, v in held.items()} == {ids["first"]: [member_id], ids["second"]: []}
    # Staff's words: forgotten for the first meeting (its withdrawal's note too), withheld from the auditor elsewhere.
    words = {meeting: (data["notes"], data["action_items"][0]["description"]) for meeting, data in held.items()}
    assert words == {ids["first"]: ("[redacted]", "[redacted]"), ids["second"]: ("[withheld]", "[withheld]")}
    assert history[4]["data"]["note"] == "[redacted]" and history[4]["data"]["reason"] == "duplicate"
    assistance, withdrawal = history[3]["data"], history[5]["data"]
    assert (assistance["note"], withdrawal["note"], withdrawal["reason"]) == ("[withheld]", "[withheld]", "wrong_date")

    staffs = ok(engagement.get(f"/osvs/{osv_id}/follow-up/history", headers=tokens.headers("staff")))
    by_staff = {e["data"]["meeting_id"]: e["data"] for e in staffs if e["type"] == "FollowUpMeetingHeld"}
    assert (by_staff[ids["second"]]["notes"], by_staff[ids["first"]]["notes"]) == (NOTES, "[redacted]")
    assert (staffs[3]["data"]["note"], staffs[5]["data"]["note"]) == (ASSISTANCE_NOTE, WITHDRAWAL_NOTE)
    assert staffs[4]["data"]["note"] == "[redacted]"

    published = str(feed(engagement))
    assert "recorded_by" not in published and f"'{staff['subject']}'" not in published and NOTES not in published


def test_a_follow_up_history_is_paged_wants_audit_read_and_an_osv_engagement_knows(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement, auditor = system["engagement"], tokens.headers("auditor")
    osv_id, _, _ = a_followed_up_osv(system, tokens)
    path = f"/osvs/{osv_id}/follow-up/history"

    first = engagement.get(path, params={"limit": 4}, headers=auditor)
    assert [e["version"] for e in ok(first)] == [1, 2, 3, 4]
    rest = engagement.get(first.headers["link"].removeprefix("<").removesuffix('>; rel="next"'), headers=auditor)
    assert [e["version"] for e in ok(rest)] == [5, 6, 7] and "link" not in rest.headers

    assert engagement.get(path, headers={"Authorization": ""}).status_code == 401
    # A focal point reads the follow-up (staff's words withheld), not who recorded each step: as an OSV's history.
    for role in ("municipal-150132", "evaluator", "dpo"):
        refused = assert_problem(engagement.get(path, headers=tokens.headers(role)), 403)
        assert refused["permission"] == "audit:read", role
    assert_problem(engagement.get(f"/osvs/{uuid4()}/follow-up/history", headers=auditor), 404, "osv_id")
    # An OSV with no follow-up recorded yet: nothing to tell.
    quiet = an_osv(system, tokens, "Vecinos de Mangomarca")
    assert ok(engagement.get(f"/osvs/{quiet}/follow-up/history", headers=auditor)) == []
    # Every role holding `audit:read` today holds it for all of Lima; a reader of San Martín de Porres alone would be
    # told the San Juan de Lurigancho OSV is not known.
    with pytest.raises(OSVNotKnownError):
        application_of(engagement).follow_up_history(UUID(osv_id), scope=MunicipalScope(ubigeos=frozenset({SMP})))


def an_activity(engagement: TestClient, tokens: IssuedTokens, osv_id: str, held_on: str) -> str:
    return str(created(engagement.post("/activities", headers=tokens.headers("staff"), json={
        "osv_id": osv_id, "held_on": held_on, "kind": "workshop", "district": "San Juan de Lurigancho",
        "description": DESCRIPTION}))["id"])


def test_an_auditor_reads_who_reported_withdrew_and_redacted_an_activity(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement, auditor = system["engagement"], tokens.headers("auditor")
    osv_id, _ = an_osv_with_a_member(system, tokens)
    forgotten, kept = (an_activity(engagement, tokens, osv_id, held_on) for held_on in ("2021-04-10", "2021-04-11"))
    for activity_id in (forgotten, kept):
        withdrawn = {"reason": WITHDRAWAL_NOTE}
        ok(engagement.post(f"/activities/{activity_id}/withdrawal", headers=tokens.headers("lead"), json=withdrawn))
    ok(engagement.post(f"/activities/{forgotten}/redaction", headers=tokens.headers("staff")))
    staff, lead = account(tokens, "staff", ["staff"]), account(tokens, "lead", ["lead"])

    history = ok(engagement.get(f"/activities/{forgotten}/history", headers=auditor))
    assert [(e["type"], e["version"], e["recorded_by"]) for e in history] == [
        ("ActivityReported", 1, staff), ("ActivityWithdrawn", 2, lead), ("ActivityTextRedacted", 3, staff)]
    assert (history[0]["data"]["description"], history[1]["data"]["reason"]) == ("[redacted]", "[redacted]")
    assert history[0]["data"]["kind"] == "workshop" and history[0]["data"]["held_on"] == "2021-04-10"

    withheld = ok(engagement.get(f"/activities/{kept}/history", headers=auditor))
    assert (withheld[0]["data"]["description"], withheld[1]["data"]["reason"]) == ("[withheld]", "[withheld]")
    in_clear = ok(engagement.get(f"/activities/{kept}/history", headers=tokens.headers("staff")))
    assert (in_clear[0]["data"]["description"], in_clear[1]["data"]["reason"]) == (DESCRIPTION, WITHDRAWAL_NOTE)

    first = engagement.get(f"/activities/{forgotten}/history", params={"limit": 2}, headers=auditor)
    assert [e["version"] for e in ok(first)] == [1, 2]
    rest = engagement.get(first.headers["link"].removeprefix("<").removesuffix('>; rel="next"'), headers=auditor)
    assert [e["version"] for e in ok(rest)] == [3] and "link" not in rest.headers

    path = f"/activities/{kept}/history"
    assert engagement.get(path, headers={"Authorization": ""}).status_code == 401
    for role in ("municipal-150132", "evaluator", "dpo"):
        refused = assert_problem(engagement.get(path, headers=tokens.headers(role)), 403)
        assert refused["permission"] == "audit:read", role
    unknown = engagement.get(f"/activities/{uuid4()}/history", headers=auditor)
    assert_problem(unknown, 404, "activity_id", "known_activity")
    with pytest.raises(ActivityNotFoundError):
        application_of(engagement).activity_history(UUID(kept), scope=MunicipalScope(ubigeos=frozenset({SMP})))
