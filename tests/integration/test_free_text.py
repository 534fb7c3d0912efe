"""Staff's free text is erasable too: sealed under a key of its own in every service, redacted for good on request, never published.

A name and a phone typed into a meeting's notes, an action item, a contact-lost
note or a proposal's summary must not outlive the person: each free text is
sealed (AES-GCM) with a key of its own before it reaches the store, so the
files never hold it in clear; a redaction deletes that key, and the text
reads ``[redacted]`` everywhere, after a restart too. The stories run on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from shared.sealing import text_key
from tests.integration.test_funding_rounds_api import a_proposal, a_round
from tests.support.api import Upstream, assert_problem, created, ok
from tests.support.clients import application_of, feed, service_client

pytestmark = pytest.mark.timeout(180)

NAME = "Yusmary Cordero"
PHONE = "987654321"
NOTE = f"Llamar a la señora {NAME} al {PHONE}"
REDACTED = "[redacted]"


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


def files_hold(var_dir: Path, database_url: str, text: str) -> bool:
    """Whether any file of the service's SQLite stores holds ``text`` in clear (nothing to read on PostgreSQL here)."""
    if not database_url.startswith("sqlite"):
        return False
    return any(text.encode() in path.read_bytes() for path in var_dir.rglob("*") if path.is_file())


def never_published(client: TestClient) -> None:
    published = repr(feed(client))
    assert NAME not in published and PHONE not in published


# Engagement: meetings, their action items, assistance notes, activities ---------------------------


def test_a_meetings_notes_and_actions_are_sealed_redacted_for_good_and_never_published(var_dir: Path, database_url: str) -> None:
    with service_client("engagement", var_dir, database_url) as engagement:
        osv_id = Upstream(application_of(engagement)).osv_mapped()
        meeting = created(
            engagement.post(
                f"/osvs/{osv_id}/meetings",
                json={
                    "held_on": "2024-03-02",
                    "mode": "in_person",
                    "topics": ["needs"],
                    "notes": NOTE,
                    "action_items": [{"description": f"Visitar a {NAME}", "owner": f"{NAME} y la junta", "due_on": "2024-03-30"}],
                },
            )
        )
        other = created(engagement.post(f"/osvs/{osv_id}/meetings", json={"held_on": "2024-04-02", "mode": "virtual", "topics": ["training"], "notes": "Taller de liderazgo"}))
        assistance = created(engagement.post(f"/osvs/{osv_id}/technical-assistance", json={"given_on": "2024-03-03", "topic": "accounting", "hours": "2", "note": NOTE}))
        activity = created(engagement.post("/activities", json={"osv_id": osv_id, "held_on": "2024-03-04", "kind": "workshop", "district": "Comas", "description": NOTE}))
        follow_up = ok(engagement.get(f"/osvs/{osv_id}/follow-up"))
        assert NOTE in repr(follow_up)  # staff read what they wrote
        never_published(engagement)

        redacted = ok(engagement.post(f"/osvs/{osv_id}/meetings/{meeting['meeting_id']}/redaction"))
        assert redacted["notes"] == REDACTED
        assert [(a["description"], a["owner"], a["due_on"]) for a in redacted["action_items"]] == [(REDACTED, REDACTED, "2024-03-30")]
        assert ok(engagement.post(f"/osvs/{osv_id}/technical-assistance/{assistance['assistance_id']}/redaction"))["note"] == REDACTED
        rehearsed = engagement.post(f"/activities/{activity['id']}/redaction", params={"dry_run": "true"})
        assert rehearsed.headers["dry-run"] == "true" and ok(rehearsed)["description"] == REDACTED  # what the real one answers
        assert ok(engagement.get(f"/activities/{activity['id']}"))["description"] == NOTE  # and nothing was forgotten
        assert ok(engagement.post(f"/activities/{activity['id']}/redaction"))["description"] == REDACTED
        assert_problem(engagement.post(f"/osvs/{osv_id}/meetings/{osv_id}/redaction"), 404)
        keys = application_of(engagement).keys
        assert keys.key_of(text_key(UUID(meeting["meeting_id"]))) is None

    with service_client("engagement", var_dir, database_url) as engagement:  # after a restart, still gone
        follow_up = ok(engagement.get(f"/osvs/{osv_id}/follow-up"))
        assert NAME not in repr(follow_up) and PHONE not in repr(follow_up)
        meetings = {m["meeting_id"]: m for m in follow_up["meetings"]}
        assert meetings[other["meeting_id"]]["notes"] == "Taller de liderazgo"  # one note redacted, not the others
        assert ok(engagement.get(f"/activities/{activity['id']}"))["description"] == REDACTED
        never_published(engagement)
    assert not files_hold(var_dir, database_url, NAME)


# Registry: an OSV's history ----------------------------------------------------------------------------


def test_a_contact_lost_note_is_sealed_in_registrys_store_and_one_event_of_the_history_is_redacted(var_dir: Path, database_url: str) -> None:
    with service_client("registry", var_dir, database_url) as registry:
        osv_id = created(registry.post("/osvs", json={"name": "Olla Común", "district": "Comas", "mapped_on": "2021-03-01"}))["id"]
        created(registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-06-01", "note": NOTE}))
        history = ok(registry.get(f"/osvs/{osv_id}/history"))
        lost = next(e for e in history if e["type"] == "ContactLost")
        assert lost["data"]["note"] == NOTE
        assert not files_hold(var_dir, database_url, NAME)
        never_published(registry)

        assert_problem(registry.post(f"/osvs/{osv_id}/history/1/redaction"), 422, field="version", rule="event_with_free_text")
        assert_problem(registry.post(f"/osvs/{osv_id}/history/99/redaction"), 404)
        redacted = ok(registry.post(f"/osvs/{osv_id}/history/{lost['version']}/redaction"))
        assert next(e for e in redacted if e["type"] == "ContactLost")["data"] == {**lost["data"], "note": REDACTED}
        assert ok(registry.get(f"/osvs/{osv_id}"))["contact"]["status"] == "lost"  # the fact stays

    with service_client("registry", var_dir, database_url) as registry:
        assert NAME not in repr(ok(registry.get(f"/osvs/{osv_id}/history")))


def test_a_redaction_forgets_the_answers_that_may_hold_the_text_and_keeps_those_kept_before_it(var_dir: Path, database_url: str) -> None:
    """Tester 33 F10: redacting one note deleted every kept answer about the OSV, its mapping's too: retried, the
    mapping got 409 "its answer was not kept". An answer about an earlier version never held the note."""
    with service_client("registry", var_dir, database_url) as registry:
        mapping = {"Idempotency-Key": "mapping-olla-comun-1"}
        body = {"name": "Olla Común", "district": "Comas", "mapped_on": "2021-03-01"}
        osv_id = created(registry.post("/osvs", json=body, headers=mapping))["id"]
        lost_key = {"Idempotency-Key": "contact-lost-olla-comun-1"}
        lost = {"since": "2021-06-01", "note": NOTE}
        version = created(registry.post(f"/osvs/{osv_id}/contact-lost", json=lost, headers=lost_key))["version"]

        ok(registry.post(f"/osvs/{osv_id}/history/{version}/redaction"))

        again = registry.post("/osvs", json=body, headers=mapping)
        assert (again.status_code, again.headers.get("idempotent-replayed")) == (201, "true"), again.text
        assert again.json()["id"] == osv_id
        retried = assert_problem(registry.post(f"/osvs/{osv_id}/contact-lost", json=lost, headers=lost_key), 409)
        assert retried["errors"][0]["rule"] == "idempotent_request_completed" and NAME not in repr(retried)


def test_redacting_a_meeting_keeps_the_answers_kept_for_the_follow_up_before_that_meeting_was_recorded(var_dir: Path, database_url: str) -> None:
    """Tester 140 F4: redacting one meeting deleted every kept answer about the OSV's follow-up, so a retry of an
    earlier meeting's request got 409 "its answer was not kept". Answers kept before the meeting was recorded never held
    its text; those since may, and go."""
    with service_client("engagement", var_dir, database_url) as engagement:
        osv_id = Upstream(application_of(engagement)).osv_mapped()
        earlier_key = {"Idempotency-Key": "meeting-2024-02-olla-comun"}
        earlier = {"held_on": "2024-02-02", "mode": "in_person", "topics": ["training"], "notes": "Taller de cocina"}
        first = created(engagement.post(f"/osvs/{osv_id}/meetings", json=earlier, headers=earlier_key))
        later_key = {"Idempotency-Key": "meeting-2024-03-olla-comun"}
        later = {"held_on": "2024-03-02", "mode": "in_person", "topics": ["needs"], "notes": NOTE}
        meeting = created(engagement.post(f"/osvs/{osv_id}/meetings", json=later, headers=later_key))

        ok(engagement.post(f"/osvs/{osv_id}/meetings/{meeting['meeting_id']}/redaction"))

        again = engagement.post(f"/osvs/{osv_id}/meetings", json=earlier, headers=earlier_key)
        assert (again.status_code, again.headers.get("idempotent-replayed")) == (201, "true"), again.text
        assert again.json() == first
        retried = assert_problem(engagement.post(f"/osvs/{osv_id}/meetings", json=later, headers=later_key), 409)
        assert retried["errors"][0]["rule"] in ("idempotent_request_completed", "idempotent_request_forgotten") and NAME not in repr(retried)


# Funding: a proposal's summary ---------------------------------------------------------------------------


def test_a_proposals_summary_is_sealed_and_redacted_on_request(var_dir: Path, database_url: str) -> None:
    with service_client("funding", var_dir, database_url) as funding:
        round_ = a_round(funding)
        proposal = a_proposal(funding, round_["id"], summary=NOTE)
        assert ok(funding.get(f"/proposals/{proposal['id']}"))["summary"] == NOTE
        assert not files_hold(var_dir, database_url, NAME)
        never_published(funding)
        assert ok(funding.post(f"/proposals/{proposal['id']}/summary/redaction"))["summary"] == REDACTED

    with service_client("funding", var_dir, database_url) as funding:
        shown: dict[str, Any] = ok(funding.get(f"/proposals/{proposal['id']}"))
        assert shown["summary"] == REDACTED and shown["title"] == "Mural de la integración"
