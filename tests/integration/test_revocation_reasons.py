"""Why a día no laborable was revoked is staff's words: sealed in registry's store, shown by no route, forgotten on request.

Session 64's note: ``revoked_by`` (the annulling decree, or staff's words on a
day recorded by mistake, which may name who erred) was stored in clear in
registry's calendar record and could not be forgotten. It is sealed under a
key of its own for each revocation, and ``POST
/non-working-days/{day}/revocation/redaction`` deletes those keys. The
stories run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.registry.domain.workingdays import DecreedDays
from shared.sealing import DataKey, text_key
from tests.integration.test_agreement_commitments import files_hold
from tests.support.api import assert_problem, created, ok
from tests.support.clients import application_of, feed, head, service_client
from tests.support.identity import SignedInAs

pytestmark = pytest.mark.timeout(180)

NAME = "Yésica Ñáñez"
REASON = f"Registrado por error por {NAME} QF31"
DAY = "2022-09-05"
DECREE = "D.S. N.º 101-2022-PCM"


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


def stored_states(registry: TestClient) -> bytes:
    """The stored bytes of every event of the calendar's record, as the store holds them (SQLite or PostgreSQL)."""
    recorder = application_of(registry).recorder
    return b"".join(stored.state for stored in recorder.select_events(DecreedDays.create_id()))


def revocation_keys(registry: TestClient) -> list[bytes | None]:
    """Each revocation's data key as the key table holds it (wrapped), None once forgotten, in the record's order."""
    app = application_of(registry)
    versions = [
        stored.originator_version for stored in app.recorder.select_events(DecreedDays.create_id()) if stored.topic.endswith("NonWorkingDayRevoked")
    ]
    with app.keys.engine.connect() as connection:
        return [
            connection.execute(select(DataKey.wrapped).where(DataKey.owner_id == str(text_key(DecreedDays.create_id(), v)))).scalar()
            for v in versions
        ]


def decreed_and_revoked(registry: TestClient, reason: str) -> None:
    assert registry.post("/non-working-days", json={"day": DAY, "decree": DECREE}).status_code == 201
    created(registry.post(f"/non-working-days/{DAY}/revocation", json={"revoked_by": reason}))


def test_why_a_day_was_revoked_is_sealed_in_the_store_and_published_nowhere(var_dir: Path, database_url: str) -> None:
    with service_client("registry", var_dir, database_url) as registry:
        decreed_and_revoked(registry, REASON)
        assert NAME.encode() not in stored_states(registry)
        assert not files_hold(var_dir, database_url, NAME.encode())
        [key] = revocation_keys(registry)
        assert key is not None  # sealed under the revocation's own key
        assert NAME not in repr(feed(registry))
        assert application_of(registry).calendar().is_working_day(date(2022, 9, 5))  # revoked all the same


def test_a_redaction_forgets_every_revocations_reason_of_the_day_and_nothing_else(var_dir: Path, database_url: str) -> None:
    with service_client("registry", var_dir, database_url) as registry:
        decreed_and_revoked(registry, REASON)
        decreed_and_revoked(registry, "D.S. N.º 102-2022-PCM lo deja sin efecto")  # decreed again, revoked again
        assert registry.post("/non-working-days", json={"day": "2022-10-10", "decree": DECREE}).status_code == 201
        created(registry.post("/non-working-days/2022-10-10/revocation", json={"revoked_by": "Otro día, otro motivo"}))
        first, second, other = revocation_keys(registry)
        assert None not in (first, second, other)
        path = f"/non-working-days/{DAY}/revocation/redaction"

        assert_problem(registry.post(path, json={"revoked_by": ""}), 422, field="body", rule="no_body")
        for refused in ("municipal-150132", "auditor", "evaluator"):
            assert_problem(SignedInAs(registry, refused).post(path), 403)
        assert_problem(registry.post("/non-working-days/2022-09-06/revocation/redaction"), 404, "day", "recorded_revocation")
        assert_problem(registry.post("/non-working-days/2022-13-06/revocation/redaction"), 422, rule="iso_8601_date")
        assert revocation_keys(registry) == [first, second, other]  # none of those forgot anything

        before = head(registry)
        assert ok(SignedInAs(registry, "staff").post(path)) == {"day": DAY, "revocations": 2}
        assert revocation_keys(registry)[:2] == [None, None] and revocation_keys(registry)[2] == other
        assert first is not None and not files_hold(var_dir, database_url, first)  # nor a trace of the key's bytes
        assert head(registry) == before  # nothing recorded: the keys go, the revocations and their days stay
        assert ok(registry.post(path)) == {"day": DAY, "revocations": 2}  # asked again: the same

    with service_client("registry", var_dir, database_url) as registry:  # after a restart, still readable, still forgotten
        days = ok(registry.get("/non-working-days", params={"year": 2022}))
        assert DAY not in [d["day"] for d in days] and "2022-10-10" not in [d["day"] for d in days]
        assert revocation_keys(registry)[:2] == [None, None]
