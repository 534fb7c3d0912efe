"""A redaction of an activity's words forgets them for every reader, those stored in clear before engagement sealed them
too.

Found by helper h269 (registry's agreements and OSV histories): ``POST /activities/{id}/redaction`` forgot an activity's
description and withdrawal reason by deleting the key that sealed them, and answered 200 for words stored before
engagement sealed any (before commit f772185), which then still read in clear: the DPO was told they were gone when
they were not. The redaction is now recorded on the activity (a private ``ActivityTextRedacted``, no text), after which
its words read ``[redacted]`` to everyone, after a restart too; they stay in the stored event (README, "Free text").
The stories run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import Mapper
from fastapi.testclient import TestClient

from services.engagement.application import Engagement
from services.engagement.domain.activities import Activity
from services.engagement.personaldata import SEALED_FIELDS
from shared.sealing import text_key
from tests.support.api import Upstream, assert_problem, created, ok
from tests.support.clients import application_of, feed, head, service_client
from tests.support.identity import SignedInAs

pytestmark = pytest.mark.timeout(180)

SJL = "150132"
NAME = "Yusleidy Mendoza"
DESCRIPTION = f"Taller con {NAME} y su familia"
REASON = f"Lo subió {NAME} dos veces"
OTHER = "Faena de limpieza del parque"
WITHHELD, REDACTED = "[withheld]", "[redacted]"
READERS = ("tester", "staff", "lead", "auditor", f"municipal-{SJL}")
UNKNOWN = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

BEFORE_SEALING = {kind: seal for kind, seal in SEALED_FIELDS.items() if kind not in (Activity.ActivityReported, Activity.ActivityWithdrawn)}
"""Engagement's seals as they were before f772185: a member's personal data, no staff's words."""
WORDED = (Activity.ActivityReported, Activity.ActivityWithdrawn)


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


def an_activity(engagement: TestClient, osv_id: str, held_on: str, description: str | None) -> dict[str, Any]:
    body = {"osv_id": osv_id, "held_on": held_on, "kind": "workshop", "district": "San Juan de Lurigancho", "description": description}
    return created(engagement.post("/activities", json=body))


def an_osv_with_two_activities(engagement: TestClient) -> tuple[str, str, str]:
    """An OSV of San Juan de Lurigancho with an activity described and withdrawn in words naming a person, and another;
    the OSV's id, the first activity's and the other's."""
    osv_id = Upstream(application_of(engagement)).osv_mapped(district="San Juan de Lurigancho", zone="Lima Este")
    activity = an_activity(engagement, osv_id, "2024-03-04", DESCRIPTION)
    ok(engagement.post(f"/activities/{activity['id']}/withdrawal", json={"reason": REASON}))
    other = an_activity(engagement, osv_id, "2024-03-05", OTHER)
    return osv_id, activity["id"], other["id"]


def words_read_by(engagement: TestClient, who: str, osv_id: str, activity_id: str) -> tuple[str | None, str | None]:
    """The activity's description and withdrawal reason as ``who`` reads them: in ``GET /activities/{id}`` and, the
    same, in the OSV's list."""
    reader = SignedInAs(engagement, who)
    shown = ok(reader.get(f"/activities/{activity_id}"))
    listed = next(a for a in ok(reader.get(f"/osvs/{osv_id}/activities")) if a["id"] == activity_id)
    assert listed == shown
    return shown["description"], (shown["withdrawal"] or {}).get("reason")


def stored_words(engagement: TestClient, activity_id: str) -> list[str | None]:
    """The description of the activity's stored ``ActivityReported`` and the reason of its ``ActivityWithdrawn``, as the
    store holds them inside its whole-event cipher: as written when stored in clear, None when sealed (its key's to open)."""
    app = application_of(engagement)
    events = [Mapper.to_domain_event(app.mapper, stored) for stored in app.recorder.select_events(UUID(activity_id))]
    words = [vars(e)["description"] if "description" in vars(e) else vars(e)["reason"] for e in events if isinstance(e, WORDED)]
    return [w if isinstance(w, str) else None for w in words]


def recorded_types(engagement: TestClient, activity_id: str) -> list[str]:
    return [type(e).__name__ for e in application_of(engagement).events.get(UUID(activity_id))]


def never_published(engagement: TestClient) -> None:
    """Neither the redaction nor a word of the activity reaches ``GET /events``: the auditor's feed, nor San Juan de
    Lurigancho's partner's."""
    auditors = SignedInAs(engagement, "auditor").get("/events", params={"limit": 1000})
    partners = SignedInAs(engagement, f"partner-{SJL}").get("/events", params={"limit": 1000})
    for events in (feed(engagement), ok(auditors)["events"], ok(partners)["events"]):
        assert "ActivityTextRedacted" not in [e["type"] for e in events] and NAME not in repr(events)
    assert "ActivityReported" in [e["type"] for e in ok(partners)["events"]]  # the partner reads the activity's facts


def test_words_stored_in_clear_before_they_were_sealed_read_redacted_once_forgotten_after_a_restart_too(
    var_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as before_sealing:  # engagement as it was before f772185: no staff's words sealed
        before_sealing.setattr(Engagement, "SEALED_FIELDS", BEFORE_SEALING)
        with service_client("engagement", var_dir, database_url) as engagement:
            osv_id, activity_id, other_id = an_osv_with_two_activities(engagement)
            assert stored_words(engagement, activity_id) == [DESCRIPTION, REASON]

    with service_client("engagement", var_dir, database_url) as engagement:
        assert words_read_by(engagement, "staff", osv_id, activity_id) == (DESCRIPTION, REASON)
        assert words_read_by(engagement, "auditor", osv_id, activity_id) == (WITHHELD, WITHHELD)
        path = f"/activities/{activity_id}/redaction"

        rehearsed = engagement.post(path, params={"dry_run": "true"})
        assert rehearsed.headers["dry-run"] == "true"
        assert words_read_by(engagement, "staff", osv_id, activity_id) == (DESCRIPTION, REASON)  # the rehearsal forgot nothing

        before = head(engagement)
        redacted = ok(engagement.post(path))
        assert {k: v for k, v in rehearsed.json().items() if k != "version"} == {k: v for k, v in redacted.items() if k != "version"}
        assert (redacted["description"], redacted["withdrawal"]["reason"]) == (REDACTED, REDACTED)
        assert redacted["withdrawal"]["withdrawn_on"] and redacted["kind"] == "workshop"  # the activity and its facts stay
        assert head(engagement) > before and recorded_types(engagement, activity_id)[-1] == "ActivityTextRedacted"
        for reader in READERS:
            assert words_read_by(engagement, reader, osv_id, activity_id) == (REDACTED, REDACTED)
        assert words_read_by(engagement, "staff", osv_id, other_id) == (OTHER, None)  # one activity, not the others

        before, answered = head(engagement), ok(engagement.get(f"/activities/{activity_id}"))
        assert ok(engagement.post(path)) == answered  # asked again: the same answer, nothing more recorded
        assert head(engagement) == before
        never_published(engagement)

    with service_client("engagement", var_dir, database_url) as engagement:  # the redaction is recorded: it holds after a restart
        for reader in READERS:
            assert words_read_by(engagement, reader, osv_id, activity_id) == (REDACTED, REDACTED)
        never_published(engagement)
        # As README says: the log is not rewritten, so the words stay in the events that recorded them in clear.
        assert stored_words(engagement, activity_id) == [DESCRIPTION, REASON]


def test_sealed_words_are_redacted_as_before_and_words_forgotten_already_or_never_written_record_nothing(
    var_dir: Path, database_url: str
) -> None:
    with service_client("engagement", var_dir, database_url) as engagement:
        osv_id, activity_id, other_id = an_osv_with_two_activities(engagement)
        assert stored_words(engagement, activity_id) == [None, None]  # sealed
        assert words_read_by(engagement, "staff", osv_id, activity_id) == (DESCRIPTION, REASON)
        keys = application_of(engagement).keys
        assert keys.key_of(text_key(UUID(activity_id))) is not None

        redacted = ok(engagement.post(f"/activities/{activity_id}/redaction"))
        assert (redacted["description"], redacted["withdrawal"]["reason"]) == (REDACTED, REDACTED)
        assert recorded_types(engagement, activity_id)[-1] == "ActivityTextRedacted"
        assert keys.key_of(text_key(UUID(activity_id))) is None
        for reader in READERS:
            assert words_read_by(engagement, reader, osv_id, activity_id) == (REDACTED, REDACTED)

        # Forgotten by the redaction as it was before it was recorded (the key deleted, nothing recorded): asked again,
        # the same answer as then, with nothing more recorded.
        version = ok(engagement.get(f"/activities/{other_id}"))["version"]
        application_of(engagement).forget_text(UUID(other_id), version, text_key(UUID(other_id)))
        before, answered = head(engagement), ok(engagement.get(f"/activities/{other_id}"))
        assert answered["description"] == REDACTED
        assert ok(engagement.post(f"/activities/{other_id}/redaction")) == answered
        assert head(engagement) == before

        # Withdrawn after its redaction: the reason, sealed under a new key, reads as written until redacted in turn.
        later = an_activity(engagement, osv_id, "2024-03-06", DESCRIPTION)
        ok(engagement.post(f"/activities/{later['id']}/redaction"))
        ok(engagement.post(f"/activities/{later['id']}/withdrawal", json={"reason": REASON}))
        assert words_read_by(engagement, "staff", osv_id, later["id"]) == (REDACTED, REASON)
        assert ok(engagement.post(f"/activities/{later['id']}/redaction"))["withdrawal"]["reason"] == REDACTED
        assert recorded_types(engagement, later["id"]).count("ActivityTextRedacted") == 2

        silent = an_activity(engagement, osv_id, "2024-03-07", None)
        before = head(engagement)
        assert ok(engagement.post(f"/activities/{silent['id']}/redaction")) == silent  # nothing to forget
        assert head(engagement) == before

        assert_problem(engagement.post(f"/activities/{UNKNOWN}/redaction"), 404, "activity_id", "known_activity")
        never_published(engagement)

    with service_client("engagement", var_dir, database_url) as engagement:
        for reader in READERS:
            assert words_read_by(engagement, reader, osv_id, activity_id) == (REDACTED, REDACTED)
