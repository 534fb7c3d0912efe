"""A redaction of an OSV's history forgets the note it names for every reader, the notes stored in clear before registry
sealed them too.

Found by helper h269 sealing agreements' commitments: ``POST /osvs/{id}/history/{version}/redaction`` forgot a note by
deleting the key that sealed it, and answered 200 for a note stored before registry sealed any (before commit f772185),
which then still read in clear: the DPO was told it was gone when it was not. The redaction is now recorded on the OSV
(a private ``HistoryTextRedacted``, the version only), after which the note reads ``[redacted]`` to everyone, after a
restart too; its words stay in the stored event (README, "Free text"). The stories run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from services.registry.application import Registry
from shared.sealing import text_key
from tests.support.api import assert_problem, created, ok
from tests.support.clients import application_of, feed, head, service_client
from tests.support.identity import SignedInAs

pytestmark = pytest.mark.timeout(180)

SJL = "150132"
NAME = "Yusmary Cordero"
NOTES = {  # each note of the history, by the event that holds it
    "RUOSApplicationObserved": f"Falta la firma de {NAME}",
    "RUOSApplicationRejected": f"{NAME} retiró la solicitud",
    "ContactLost": f"Llamar a la señora {NAME} al 987654321",
    "OSVDissolved": f"Se mudó {NAME}, la presidenta",
}
WITHHELD, REDACTED = "[withheld]", "[redacted]"
READERS = ("tester", "staff", "lead", "auditor")


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


def an_osv_with_every_note(registry: TestClient) -> tuple[str, dict[str, int]]:
    """An OSV of San Juan de Lurigancho whose history holds each of :data:`NOTES`; its id, and each note's version."""
    osv_id = created(registry.post("/osvs", json={"name": "Olla Común Los Jazmines", "district": "San Juan de Lurigancho", "mapped_on": "2021-03-01"}))["id"]
    application = created(registry.post(f"/osvs/{osv_id}/ruos-applications", json={"municipality_id": SJL, "submitted_on": "2021-06-14", "documents": []}))
    steps = f"/osvs/{osv_id}/ruos-applications/{application['application_id']}"
    reasons = [{"code": "signatures_missing", "detail": NOTES["RUOSApplicationObserved"]}, {"code": "missing_document"}]
    created(registry.post(f"{steps}/observation", json={"observed_on": "2021-06-21", "reasons": reasons}))
    created(registry.post(f"{steps}/rejection", json={"rejected_on": "2021-06-22", "reason": "withdrawn", "note": NOTES["RUOSApplicationRejected"]}))
    created(registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-07-01", "note": NOTES["ContactLost"]}))
    created(registry.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": "2021-08-01", "reason": "inactive", "note": NOTES["OSVDissolved"]}))
    return osv_id, {e["type"]: e["version"] for e in ok(registry.get(f"/osvs/{osv_id}/history")) if e["type"] in NOTES}


def note_of(event: dict[str, Any]) -> str | None:
    """The staff's words an entry of the history holds, as read: an observation's first detail, another's note."""
    data = event["data"]
    return data["reasons"][0]["detail"] if event["type"] == "RUOSApplicationObserved" else data["note"]


def notes_read_by(registry: TestClient, who: str, osv_id: str) -> dict[str, str | None]:
    """Each note of the OSV's history as ``who`` reads it in ``GET /osvs/{id}/history``."""
    history = ok(SignedInAs(registry, who).get(f"/osvs/{osv_id}/history"))
    return {e["type"]: note_of(e) for e in history if e["type"] in NOTES}


def stored_states(registry: TestClient, osv_id: str) -> bytes:
    """The stored bytes of every event of the OSV, as the store holds them (SQLite or PostgreSQL)."""
    return b"".join(stored.state for stored in application_of(registry).recorder.select_events(UUID(osv_id)))


def never_published(registry: TestClient) -> None:
    """Neither the redaction nor a word of a note reaches ``GET /events``: the auditor's feed, nor San Juan de Lurigancho's partner's."""
    for events in (feed(registry), ok(SignedInAs(registry, f"partner-{SJL}").get("/events", params={"limit": 1000}))["events"]):
        assert "HistoryTextRedacted" not in [e["type"] for e in events] and NAME not in repr(events)


def test_notes_stored_in_clear_before_they_were_sealed_read_redacted_once_forgotten_after_a_restart_too(
    var_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as before_sealing:  # registry as it was before f772185: no staff's words sealed
        before_sealing.setattr(Registry, "SEALED_FIELDS", {})
        with service_client("registry", var_dir, database_url) as registry:
            osv_id, versions = an_osv_with_every_note(registry)
            assert NAME.encode() in stored_states(registry, osv_id)

    with service_client("registry", var_dir, database_url) as registry:
        assert notes_read_by(registry, "staff", osv_id) == NOTES
        assert notes_read_by(registry, "auditor", osv_id) == dict.fromkeys(NOTES, WITHHELD)
        path = f"/osvs/{osv_id}/history/{versions['ContactLost']}/redaction"

        rehearsed = registry.post(path, params={"dry_run": "true"})
        assert rehearsed.headers["dry-run"] == "true"
        assert notes_read_by(registry, "staff", osv_id) == NOTES  # the rehearsal forgot nothing

        redacted = ok(registry.post(path))
        assert [{k: e[k] for k in ("type", "version", "data", "recorded_by")} for e in rehearsed.json()] == [
            {k: e[k] for k in ("type", "version", "data", "recorded_by")} for e in redacted
        ]  # it answered what the real one answers
        assert {e["type"]: note_of(e) for e in redacted if e["type"] in NOTES} == {**NOTES, "ContactLost": REDACTED}
        recorded = redacted[-1]
        assert (recorded["type"], recorded["data"]) == ("HistoryTextRedacted", {"redacted_version": versions["ContactLost"]})
        for reader in READERS:
            assert notes_read_by(registry, reader, osv_id)["ContactLost"] == REDACTED
        assert notes_read_by(registry, "lead", osv_id)["OSVDissolved"] == NOTES["OSVDissolved"]  # one note, not the others

        for kind in ("RUOSApplicationObserved", "RUOSApplicationRejected", "OSVDissolved"):  # a dissolved OSV's too
            ok(registry.post(f"/osvs/{osv_id}/history/{versions[kind]}/redaction"))
        for reader in READERS:
            assert notes_read_by(registry, reader, osv_id) == dict.fromkeys(NOTES, REDACTED)
        observed = next(e for e in ok(registry.get(f"/osvs/{osv_id}/history")) if e["type"] == "RUOSApplicationObserved")
        assert observed["data"]["reasons"] == [{"code": "signatures_missing", "detail": REDACTED}, {"code": "missing_document", "detail": None}]

        before, answered = head(registry), ok(registry.get(f"/osvs/{osv_id}/history"))
        assert ok(registry.post(path)) == answered  # asked again: the same answer, nothing more recorded
        assert head(registry) == before
        never_published(registry)

    with service_client("registry", var_dir, database_url) as registry:  # the redactions are recorded: they hold after a restart
        for reader in READERS:
            assert notes_read_by(registry, reader, osv_id) == dict.fromkeys(NOTES, REDACTED)
        never_published(registry)
        # As README says: the log is not rewritten, so the words stay in the events that recorded them in clear.
        assert NAME.encode() in stored_states(registry, osv_id)


def test_a_sealed_note_is_redacted_as_before_and_one_forgotten_already_or_left_null_records_nothing(var_dir: Path, database_url: str) -> None:
    with service_client("registry", var_dir, database_url) as registry:
        osv_id, versions = an_osv_with_every_note(registry)
        assert NAME.encode() not in stored_states(registry, osv_id)  # sealed

        redacted = ok(registry.post(f"/osvs/{osv_id}/history/{versions['ContactLost']}/redaction"))
        assert {e["type"]: note_of(e) for e in redacted if e["type"] in NOTES} == {**NOTES, "ContactLost": REDACTED}
        assert redacted[-1]["type"] == "HistoryTextRedacted"

        # Forgotten by the redaction as it was before it was recorded (the key deleted, nothing recorded): asked again, the
        # same answer as then, with nothing more recorded.
        application_of(registry).forget_text(UUID(osv_id), redacted[-1]["version"], text_key(UUID(osv_id), versions["OSVDissolved"]))
        before, answered = head(registry), ok(registry.get(f"/osvs/{osv_id}/history"))
        assert note_of(next(e for e in answered if e["type"] == "OSVDissolved")) == REDACTED
        assert ok(registry.post(f"/osvs/{osv_id}/history/{versions['OSVDissolved']}/redaction")) == answered
        assert head(registry) == before

        created(registry.post(f"/osvs/{osv_id}/contact-restored", json={"restored_on": "2021-07-15"}))
        lost_again = created(registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-07-20"}))  # no note
        before, answered = head(registry), ok(registry.get(f"/osvs/{osv_id}/history"))
        assert ok(registry.post(f"/osvs/{osv_id}/history/{lost_again['version']}/redaction")) == answered  # nothing to forget
        assert head(registry) == before

        assert_problem(registry.post(f"/osvs/{osv_id}/history/{redacted[-1]['version']}/redaction"), 422, "version", "event_with_free_text")
        assert_problem(registry.post(f"/osvs/{osv_id}/history/99/redaction"), 404, "version", "known_version")
        never_published(registry)
