"""A store restored from a backup older than an erasure: engagement erases the person again, from its stream's tombstones.

The backup of ``events.db`` (or of the PostgreSQL database) taken before
Zoraida's erasure holds her wrapped key, her document's entry and her
unerased record. The operator restores it after a disk failure; the
``PersonalDataErased`` the relay published stays in engagement's JetStream
stream, which the restore does not touch. Started again, engagement reads
the tombstones and erases her again, as the erasure did: she reads
``[erased]``, her document is nobody's, and her key is gone from the database.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from devtools.embedded import NatsServer, PostgresServer
from devtools.restore import main as restore_main
from services.engagement.personaldata import DataKey
from tests.integration.test_engagement_api import map_osv
from tests.integration.test_key_table_moved import bytes_of
from tests.support.api import look_up
from tests.support.clients import NATS_OUT_OF_REACH, application_of, erasures_checked, feed, service_client
from tests.support.identity import IssuedTokens, signed_in_headers
from tests.support.system import eventually

pytestmark = pytest.mark.timeout(240)

NAME = "Zoraida Quintanilla Berroterán"
DNI = "45678912"
PHONE = "+51987654321"
KEPT = "Luis Alberto Díaz Huamán"
SECRETS = (NAME, "Zoraida", "Quintanilla", DNI, PHONE, PHONE.removeprefix("+51"))


class Store:
    """Engagement's store (SQLite's ``events.db`` under ``var_dir``, or a PostgreSQL database): backed up and restored
    while the service is stopped, as an operator does."""

    def __init__(self, var_dir: Path, database_url: str = "sqlite://", request: pytest.FixtureRequest | None = None) -> None:
        self.var_dir = var_dir
        self.sqlite = database_url.startswith("sqlite")
        self.url = None if self.sqlite else database_url
        self.file = var_dir / "engagement" / "events.db"
        self.postgres: PostgresServer | None = None
        if not self.sqlite:
            assert request is not None
            self.postgres = request.getfixturevalue("postgres_server")

    def back_up(self) -> None:
        if self.sqlite:
            with closing(sqlite3.connect(self.file)) as live, closing(sqlite3.connect(self.var_dir.parent / "backup.db")) as copy:
                live.backup(copy)
        else:
            self._copy(self._name, self._name + "_backup")

    def restore(self) -> None:
        if self.sqlite:
            with closing(sqlite3.connect(self.var_dir.parent / "backup.db")) as copy, closing(sqlite3.connect(self.file)) as live:
                copy.backup(live)
        else:
            self._copy(self._name + "_backup", self._name)

    def wrapped_key(self, member_id: str) -> bytes | None:
        """The person's wrapped key as the stopped service's database holds it."""
        query = f"SELECT wrapped FROM {DataKey.__tablename__} WHERE owner_id = "
        if self.sqlite:
            with closing(sqlite3.connect(self.file)) as connection:
                row = connection.execute(query + "?", (member_id,)).fetchone()
        else:
            assert self.postgres is not None
            with psycopg.connect(self.postgres.url_for(self._name, driver=None)) as connection:
                row = connection.execute(query + "%s", (member_id,)).fetchone()
        return None if row is None else bytes(row[0])

    @property
    def store_url(self) -> str:
        """The store's URL, as ``osv-restore --store`` takes it."""
        return self.url or f"sqlite:///{self.file}"

    @property
    def _name(self) -> str:
        assert self.url is not None
        name = make_url(self.url).database
        assert name is not None
        return name

    def _copy(self, source: str, target: str) -> None:
        assert self.postgres is not None
        with psycopg.connect(self.postgres.url_for("postgres", driver=None), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (source,))
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target)))
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(target), sql.Identifier(source)))


@pytest.fixture
def store(tmp_path: Path, database_url: str, request: pytest.FixtureRequest) -> Store:
    return Store(tmp_path / "var", database_url, request)


@contextmanager
def engagement(store: Store, nats_server: NatsServer) -> Iterator[TestClient]:
    with service_client("engagement", store.var_dir, store.url, settings={"nats_url": nats_server.url}) as client:
        yield client


PERSON = {"document_type": "DNI", "nationality": "PE", "sex": "F", "joined_on": "2024-03-01", "birth_year": 1987,
          "full_name": "Otra Persona", "document_number": "41234567"}


def register(client: TestClient, osv_id: str, full_name: str, number: str, phone: str | None) -> dict[str, Any]:
    person = {**PERSON, "osv_id": osv_id, "full_name": full_name, "document_number": number, **({"phone": phone} if phone else {})}
    response = client.post("/members", json=person)
    assert response.status_code == 201, response.text
    return response.json()


def found_by_document(client: TestClient) -> Any:
    return look_up(client, "DNI", DNI)


def wrapped_key(client: TestClient, member_id: str) -> bytes | None:
    with Session(application_of(client).keys.engine) as session:
        return session.scalar(select(DataKey.wrapped).where(DataKey.owner_id == member_id))


def relayed(client: TestClient) -> None:
    eventually(lambda: client.get("/health").json()["relay"]["lag"] == 0)


def erased_then_restored(store: Store, nats_server: NatsServer) -> dict[str, Any]:
    """Zoraida and Luis registered; the store backed up; Zoraida erased and her tombstone published; the backup restored."""
    with engagement(store, nats_server) as client:
        osv_id = map_osv(client)
        zoraida = register(client, osv_id, NAME, DNI, "+51 987 654 321")
        luis = register(client, osv_id, KEPT, "07654321", None)
        key = wrapped_key(client, zoraida["id"])
        assert key is not None
    store.back_up()
    with engagement(store, nats_server) as client:
        erased = client.post(f"/members/{zoraida['id']}/erasure", json={"erased_on": "2025-01-10"})
        assert erased.status_code == 200, erased.text
        relayed(client)  # the tombstone is in the stream
    store.restore()
    return {"osv_id": osv_id, "zoraida": zoraida["id"], "luis": luis["id"], "key": key}


def read(client: TestClient, member_id: str) -> dict[str, Any]:
    response = client.get(f"/members/{member_id}?purpose=contact")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_store_restored_from_before_an_erasure_has_the_person_erased_again_at_start(
    store: Store, nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    story = erased_then_restored(store, nats_server)
    assert store.wrapped_key(story["zoraida"]) == story["key"]  # what the restore brought back
    caplog.clear()

    with caplog.at_level(logging.WARNING), engagement(store, nats_server) as client:
        # The restored store is behind its stream (the tombstone is past its head): commands and reads of personal data
        # wait for the operator (README, "Restoring a backup"), but her erasure is made again at once.
        eventually(lambda: wrapped_key(client, story["zoraida"]) is None)
        assert wrapped_key(client, story["luis"]) is not None  # nobody else is touched
        # Recorded again in the store, once: the key goes first and the tombstone's save follows it.
        eventually(lambda: [e["type"] for e in feed(client)].count("PersonalDataErased") == 1)
        waiting = client.post("/members", json={**PERSON, "osv_id": story["osv_id"]})
        assert waiting.status_code == 503 and waiting.json()["rule"] == "store_behind_stream", waiting.text
        # The DPO's erasure of someone else waits too, and deletes nothing: her key went before the refused save, and
        # the erasure was never recorded nor told to partners (tester 28b, H1).
        refused = client.post(f"/members/{story['luis']}/erasure", json={"erased_on": "2025-02-01"})
        assert refused.status_code == 503 and refused.json()["rule"] == "store_behind_stream", refused.text
        assert wrapped_key(client, story["luis"]) is not None
    assert store.wrapped_key(story["zoraida"]) is None

    said = [r.getMessage() for r in caplog.records if "erased again" in r.getMessage()]
    assert len(said) == 1 and "1 person" in said[0] and "restored from a backup older than" in said[0], caplog.text
    assert not any(secret in caplog.text for secret in SECRETS)
    if store.sqlite:
        assert story["key"] not in bytes_of(store.file), "the wrapped key is still in events.db or its WAL"

    # The operator accepts the stream's tail (osv-restore accept-tail): she reads erased, as after any erasure.
    assert restore_main(["accept-tail", "--service", "engagement", "--store", store.store_url, "--nats-url", nats_server.url]) == 0
    with engagement(store, nats_server) as client:
        erasures_checked(client)
        # Partners and reporting are told of the loss (StreamTailLost), published like any event of engagement's, whose
        # store is sealed under a key accept-tail does not hold: before, its relay and feed failed on it (InvalidTag).
        relayed(client)
        told = [e["data"] for e in feed(client) if e["type"] == "StreamTailLost"]
        assert told and {t["service"] for t in told} == {"engagement"} and told[0]["municipality_id"] is None, told
        assert all(t["lost"] >= 1 for t in told)
        shown = read(client, story["zoraida"])
        assert (shown["personal_data"], shown["full_name"]) == ("erased", "[erased]")
        assert (shown["document_number"], shown["phone"], shown["birth_year"]) == (None, None, None)
        assert read(client, story["luis"])["full_name"] == KEPT
        # The DPO reads that the erasure the store holds was made again by the system, not by a person.
        changes = client.get(f"/members/{story['zoraida']}/personal-data-changes")
        assert [c["type"] for c in changes.json()] == ["Registered", "PersonalDataErased"], changes.text
        registered, erased_again = changes.json()
        assert registered["recorded_by"]["subject"] is not None  # the tester who registered her
        assert erased_again["recorded_by"] == {"subject": None, "client_id": "system:erasures-again", "roles": []}
        assert found_by_document(client).status_code == 404  # her document leads nowhere
        again = client.post(f"/members/{story['zoraida']}/erasure", json={"erased_on": "2025-02-01"})
        assert again.status_code == 409 and again.json()["errors"][0]["rule"] == "erase_once"
        assert [e["type"] for e in feed(client)].count("PersonalDataErased") == 1
        # Her document registers a new person.
        newcomer = register(client, story["osv_id"], "Otra Persona", DNI, None)
        assert newcomer["id"] != story["zoraida"]
        assert found_by_document(client).json()["id"] == newcomer["id"]
        relayed(client)
        # The auditor's GET /verify names the operator's record in full: osv-restore wrote it unsealed (it holds no key),
        # and the service, reading every event through its key, named its position alone (tester 256 F3).
        [loss] = client.get("/verify", headers=signed_in_headers("auditor")).json()["accepted_losses"]
        assert loss["accepted_at"] and loss["shared_position"] is not None and loss["stream_position"] is not None, loss


def test_with_nats_away_at_start_the_service_starts_and_erases_again_once_nats_is_back(
    tmp_path: Path, nats_server: NatsServer, tokens: IssuedTokens
) -> None:
    store = Store(tmp_path / "var")  # on SQLite
    story = erased_then_restored(store, nats_server)
    nats_server.stop()
    try:
        with engagement(store, nats_server) as client:  # started: the lifespan does not wait for NATS
            # Until the tombstones are read, nobody's personal data is shown: Zoraida's key is back in the store, and
            # staff read her name and document in clear before (tester 29b, M3). Masked reads are served.
            for held in (client.get(f"/members/{story['zoraida']}?purpose=contact"), found_by_document(client),
                         client.get(f"/osvs/{story['osv_id']}/members?purpose=contact")):
                assert held.status_code == 503 and held.json()["rule"] == "erasures_not_checked", held.text
                assert held.headers["retry-after"] == "5"
                assert NAME not in held.text and DNI not in held.text
            # Registering someone with her document does not name her either (a 409 would give her member id).
            again = client.post("/members", json={**PERSON, "osv_id": story["osv_id"], "document_number": DNI})
            assert again.status_code == 503 and again.json()["rule"] == "erasures_not_checked", again.text
            assert story["zoraida"] not in again.text
            masked = client.get(f"/members/{story['luis']}", headers=tokens.headers("auditor"))
            assert masked.status_code == 200 and (masked.json()["full_name"], masked.json()["disclosed"]) == ("[masked]", False), masked.text
            health = client.get("/health").json()
            assert health["status"] == "degraded" and "erasures_not_checked" in health["held"][0], health
            nats_server.start()
            eventually(lambda: wrapped_key(client, story["zoraida"]) is None)
            eventually(lambda: client.get("/health").json()["held"] == [])  # set once every tombstone's erasure is made
            # Now the store is behind its stream: personal data waits for the operator, as it did with NATS up.
            behind = client.get(f"/members/{story['luis']}?purpose=contact")
            assert behind.status_code == 503 and behind.json()["rule"] == "store_behind_stream", behind.text
    finally:
        if not nats_server.running:
            nats_server.start()


def test_a_restart_while_nats_is_away_holds_personal_data_until_the_erasures_are_checked(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    store = Store(tmp_path / "var")  # nothing restored: the check finds nothing to do, and personal data is read again
    with engagement(store, nats_server) as client:
        luis = register(client, map_osv(client), KEPT, "07654321", None)
        relayed(client)
    nats_server.stop()
    try:
        with engagement(store, nats_server) as client:
            held = client.get(f"/members/{luis['id']}?purpose=contact")
            assert held.status_code == 503 and held.json()["rule"] == "erasures_not_checked", held.text
            nats_server.start()
            eventually(lambda: client.get(f"/members/{luis['id']}?purpose=contact").status_code == 200)
            assert read(client, luis["id"])["full_name"] == KEPT
            assert client.get("/health").json()["held"] == []
    finally:
        if not nats_server.running:
            nats_server.start()


def test_a_restart_with_the_store_intact_erases_nobody_again_and_records_nothing(
    store: Store, nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    with engagement(store, nats_server) as client:
        osv_id = map_osv(client)
        zoraida = register(client, osv_id, NAME, DNI, "+51 987 654 321")
        assert client.post(f"/members/{zoraida['id']}/erasure", json={"erased_on": "2025-01-10"}).status_code == 200
        relayed(client)
        head = client.get("/events").json()["head"]
    caplog.clear()

    with caplog.at_level(logging.WARNING), engagement(store, nats_server) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        checks = [task for task in runtime.tasks if task.get_name() == "engagement-erasures_again"]
        assert len(checks) == 1
        eventually(checks[0].done)
        assert checks[0].exception() is None
        assert client.get("/events").json()["head"] == head
    assert not [r for r in caplog.records if "erased again" in r.getMessage()], caplog.text


def test_a_store_whose_only_new_events_are_erasures_made_again_says_so_and_not_that_it_took_commands(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    # The erasure made again takes the position the stream holds for the first erasure: the store is found "diverged",
    # which said it "has taken new events since", as if commands had been taken while it was behind (tester 28b, L).
    store = Store(tmp_path / "var")
    story = erased_then_restored(store, nats_server)

    def said(ahead: dict[str, Any]) -> None:
        assert ahead["diverged"], ahead
        assert "the events it holds from there on are erasures made again from its stream's tombstones, not commands" in ahead["detail"], ahead
        assert "taken new events" not in ahead["detail"]

    with engagement(store, nats_server) as client:  # the relay's finding
        eventually(lambda: wrapped_key(client, story["zoraida"]) is None)
        said(eventually(lambda: (found := client.get("/health").json()["relay"].get("stream_ahead")) and found["diverged"] and found))
    # Started again, NATS out of reach: the store's marks say it, as to every other worker.
    with service_client("engagement", store.var_dir, store.url, settings={"nats_url": NATS_OUT_OF_REACH}) as again:
        said(again.get("/health").json()["relay"]["stream_ahead"])
        refused = again.post("/members", json={**PERSON, "osv_id": story["osv_id"]})
        assert refused.status_code == 503 and "erasures made again" in refused.json()["detail"], refused.text
