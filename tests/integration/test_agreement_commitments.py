"""An agreement's commitments are staff's words: sealed in registry's store, read by staff alone, forgotten on request.

Tester 268 F1: ``"Yésica Ñáñez QF18 coordina"``, a commitment of an agreement
with San Juan de Lurigancho, was in clear in ``var/registry/events.db-wal``,
shown as written to the municipality's focal point and to the auditor by ``GET
/municipalities/150132``, and no redaction reached it. Each agreement's
commitments are now sealed under a key of their own, withheld from readers
without ``personal-data:read``, and forgotten by deleting that key. The
stories run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.registry.application import Registry
from services.registry.domain.municipalities import municipality_uuid
from services.registry.history import SEALED_FIELDS as HISTORY_SEALED_FIELDS
from shared.sealing import DataKey, text_key
from tests.support.api import assert_problem, created, ok
from tests.support.clients import application_of, feed, head, service_client
from tests.support.identity import SignedInAs

pytestmark = pytest.mark.timeout(180)

SJL = "150132"
NAME = "Yésica Ñáñez"
COMMITMENT = f"{NAME} QF18 coordina"
AGREEMENT = {"title": "Convenio QF17", "signed_on": "2021-05-01", "commitments": [COMMITMENT, "Difundir el RUOS"], "document_reference": "QF19"}
WITHHELD, REDACTED = "[withheld]", "[redacted]"
UNKNOWN = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


def files_hold(var_dir: Path, database_url: str, found: bytes) -> bool:
    """Whether any file of the service's SQLite stores (the store, its write-ahead log) holds ``found`` (as the tester's
    ``grep -a``); nothing to read on PostgreSQL here."""
    if not database_url.startswith("sqlite"):
        return False
    return any(found in path.read_bytes() for path in var_dir.rglob("*") if path.is_file())


def stored_states(registry: TestClient) -> bytes:
    """The stored bytes of every event of San Juan de Lurigancho's record, as the store holds them (SQLite or PostgreSQL)."""
    recorder = application_of(registry).recorder
    return b"".join(stored.state for stored in recorder.select_events(municipality_uuid(SJL)))


def wrapped_key(registry: TestClient, agreement_id: str) -> bytes | None:
    """The agreement's data key as the key table holds it (wrapped), or None when there is none."""
    keys = application_of(registry).keys
    with keys.engine.connect() as connection:
        owner = str(text_key(UUID(agreement_id)))
        return connection.execute(select(DataKey.wrapped).where(DataKey.owner_id == owner)).scalar()


def commitments_read_by(registry: TestClient, who: str) -> list[str]:
    """The agreement's commitments as ``who`` reads them, in ``GET /municipalities/150132`` and in the list."""
    reader = SignedInAs(registry, who)
    shown = ok(reader.get(f"/municipalities/{SJL}"))["agreements"][0]["commitments"]
    listed = next(m for m in ok(reader.get("/municipalities", params={"limit": 100})) if m["id"] == SJL)
    assert listed["agreements"][0]["commitments"] == shown
    return list(shown)


# Sealed, and read by staff alone ------------------------------------------------------------------------------


def test_an_agreements_commitments_are_sealed_in_the_store_and_withheld_from_the_focal_point_and_the_auditor(
    var_dir: Path, database_url: str
) -> None:
    with service_client("registry", var_dir, database_url) as registry:
        agreement = created(registry.post(f"/municipalities/{SJL}/agreements", json=AGREEMENT))
        assert agreement["commitments"] == AGREEMENT["commitments"]  # the writer reads what it wrote

        assert NAME.encode() not in stored_states(registry)
        assert not files_hold(var_dir, database_url, NAME.encode())
        assert wrapped_key(registry, agreement["agreement_id"]) is not None  # sealed under the agreement's own key

        for reader in ("staff", "lead"):
            assert commitments_read_by(registry, reader) == AGREEMENT["commitments"]
        for reader in (f"municipal-{SJL}", "auditor"):
            assert commitments_read_by(registry, reader) == [WITHHELD, WITHHELD]  # as many as were written
            shown = ok(SignedInAs(registry, reader).get(f"/municipalities/{SJL}"))["agreements"][0]
            assert {k: shown[k] for k in ("title", "signed_on", "document_reference")} == {
                "title": "Convenio QF17", "signed_on": "2021-05-01", "document_reference": "QF19",
            }
        published = [e for e in feed(registry) if e["type"] == "AgreementSigned"]
        assert published[0]["data"]["commitments_count"] == 2 and NAME not in repr(published)


# Redacted for good ------------------------------------------------------------------------------------------------


def test_a_redaction_forgets_the_commitments_for_everyone_and_their_key_is_gone_from_the_store(var_dir: Path, database_url: str) -> None:
    with service_client("registry", var_dir, database_url) as registry:
        agreement = created(registry.post(f"/municipalities/{SJL}/agreements", json=AGREEMENT))
        other = created(registry.post(f"/municipalities/{SJL}/agreements", json={**AGREEMENT, "commitments": ["Mesa de ayuda quincenal"]}))
        path = f"/municipalities/{SJL}/agreements/{agreement['agreement_id']}/redaction"
        key = wrapped_key(registry, agreement["agreement_id"])
        assert key is not None and files_hold(var_dir, database_url, key) == database_url.startswith("sqlite")

        assert_problem(registry.post(path, json={"commitments": []}), 422, field="body", rule="no_body")
        for refused in (f"municipal-{SJL}", "auditor", "evaluator"):
            assert_problem(SignedInAs(registry, refused).post(path), 403)
        rehearsed = registry.post(path, params={"dry_run": "true"})
        assert rehearsed.headers["dry-run"] == "true" and ok(rehearsed)["commitments"] == [REDACTED, REDACTED]  # what the real one answers
        assert wrapped_key(registry, agreement["agreement_id"]) == key
        assert commitments_read_by(registry, "staff") == AGREEMENT["commitments"]  # none of those forgot anything

        redacted = ok(SignedInAs(registry, "staff").post(path))
        assert redacted == {**agreement, "commitments": [REDACTED, REDACTED]}  # the agreement stays, its words go
        assert wrapped_key(registry, agreement["agreement_id"]) is None
        assert not files_hold(var_dir, database_url, key)  # nor a trace of the key's bytes in the file or its log
        for reader in ("staff", "lead", f"municipal-{SJL}", "auditor"):
            shown = ok(SignedInAs(registry, reader).get(f"/municipalities/{SJL}"))["agreements"]
            assert shown[0]["commitments"] == [REDACTED, REDACTED]
        assert ok(registry.get(f"/municipalities/{SJL}"))["agreements"][1]["commitments"] == ["Mesa de ayuda quincenal"]  # one agreement, not the others

        before = head(registry)
        assert ok(registry.post(path)) == redacted  # asked again: the same answer, nothing more recorded
        assert head(registry) == before
        assert_problem(registry.post(f"/municipalities/{SJL}/agreements/{UNKNOWN}/redaction"), 404, "agreement_id", "known_agreement")
        assert_problem(registry.post(f"/municipalities/150110/agreements/{other['agreement_id']}/redaction"), 404, "agreement_id", "known_agreement")
        assert_problem(registry.post(f"/municipalities/callao/agreements/{other['agreement_id']}/redaction"), 404)

    with service_client("registry", var_dir, database_url) as registry:  # after a restart, still gone
        shown = ok(registry.get(f"/municipalities/{SJL}"))["agreements"]
        assert [a["commitments"] for a in shown] == [[REDACTED, REDACTED], ["Mesa de ayuda quincenal"]]
        assert NAME not in repr(feed(registry))


def test_a_redaction_forgets_the_answers_that_hold_the_commitments_and_keeps_those_kept_before_the_agreement(
    var_dir: Path, database_url: str
) -> None:
    """As an OSV's history's redaction: a retry of the agreement's request must not replay its words; the focal point's
    assignment, recorded before it, held none and is still replayed."""
    with service_client("registry", var_dir, database_url) as registry:
        assignment, assigning = {"Idempotency-Key": "focal-point-sjl-1"}, {"office": "Participación vecinal", "role": "Subgerente", "assigned_on": "2021-01-15"}
        focal_point = created(registry.post(f"/municipalities/{SJL}/focal-points", json=assigning, headers=assignment))
        signing = {"Idempotency-Key": "agreement-sjl-qf17"}
        agreement = created(registry.post(f"/municipalities/{SJL}/agreements", json=AGREEMENT, headers=signing))

        ok(registry.post(f"/municipalities/{SJL}/agreements/{agreement['agreement_id']}/redaction"))

        again = registry.post(f"/municipalities/{SJL}/focal-points", json=assigning, headers=assignment)
        assert (again.status_code, again.headers.get("idempotent-replayed")) == (201, "true"), again.text
        assert again.json() == focal_point
        retried = assert_problem(registry.post(f"/municipalities/{SJL}/agreements", json=AGREEMENT, headers=signing), 409)
        assert retried["errors"][0]["rule"] == "idempotent_request_completed" and NAME not in repr(retried)


# Recorded before the commitments were sealed ------------------------------------------------------------------


def test_commitments_stored_in_clear_before_they_were_sealed_are_withheld_and_read_redacted_once_forgotten(
    var_dir: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as before_sealing:  # registry as it was: only an OSV's history's words sealed
        before_sealing.setattr(Registry, "SEALED_FIELDS", HISTORY_SEALED_FIELDS)
        with service_client("registry", var_dir, database_url) as registry:
            agreement = created(registry.post(f"/municipalities/{SJL}/agreements", json=AGREEMENT))
            assert NAME.encode() in stored_states(registry)

    with service_client("registry", var_dir, database_url) as registry:
        assert commitments_read_by(registry, "staff") == AGREEMENT["commitments"]
        assert commitments_read_by(registry, f"municipal-{SJL}") == [WITHHELD, WITHHELD]
        assert commitments_read_by(registry, "auditor") == [WITHHELD, WITHHELD]

        redacted: dict[str, Any] = ok(registry.post(f"/municipalities/{SJL}/agreements/{agreement['agreement_id']}/redaction"))
        assert redacted["commitments"] == [REDACTED, REDACTED]
        assert commitments_read_by(registry, "staff") == [REDACTED, REDACTED]

    with service_client("registry", var_dir, database_url) as registry:  # the redaction is recorded: it holds after a restart
        assert commitments_read_by(registry, "lead") == [REDACTED, REDACTED]
        # As README says: the log is not rewritten, so the words stay in the event that recorded them in clear.
        assert NAME.encode() in stored_states(registry)
