"""Auditors can prove that nothing was rewritten: each store's hash chain, checked against the heads given out.

Each story tampers with a real store (an SQLite file, then PostgreSQL) the way
someone with the database's password could, and ``osv-verify``'s check names
the first position that fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import nats
import nats.js.errors
import psycopg
import pytest
from pydantic import ValidationError

from audit import verify as osv_verify
from audit.verify import ChainOfAnotherServiceError, heads_from_nats, open_store, verify_feed, verify_store
from devtools.embedded import NatsServer
from devtools.processes import free_port
from services.registry.application import Registry
from shared.asyncapi import asyncapi_document
from shared.chain import GENESIS, link, record_digest
from shared.chaincheck import Head
from shared.chainheads import HEADS_BUCKET, HEADS_STREAM, HeadPublisher, ensure_heads_bucket, head_key
from shared.store import persistence_env
from tests.integration.test_rebuild_cli import Answering, serving
from tests.support.clients import service_client, settings_for
from tests.support.identity import IssuedTokens
from tests.support.system import eventually, running_system

Execute = Callable[[str, tuple], list[tuple]]


@pytest.fixture
def store_url(database_url: str) -> str:
    return database_url


def five_events(url: str) -> list[Head]:
    """Five OSVs mapped (each with its entry in the district's private roll of names: positions 1 to 10); the heads a
    relay would have given out after each position."""
    registry = Registry(persistence_env(url))
    try:
        for n in range(5):
            registry.map_osv(f"OSV {n}", "Comas", date(2021, 3, 1 + n))
        last = registry.recorder.max_notification_id() or 0
        return [Head("registry", position, hash_, source="test") for position, hash_ in registry.chain_hashes(1, last).items()]
    finally:
        registry.close()


@pytest.fixture
def sql(store_url: str) -> Iterator[Execute]:
    """Run SQL on the store behind the service's back; positions are SQLite's rowid or PostgreSQL's notification_id."""
    if store_url.startswith("sqlite"):
        connection = sqlite3.connect(store_url.removeprefix("sqlite:///"))

        def run(statement: str, params: tuple = ()) -> list[tuple]:
            statement = statement.replace("%s", "?").replace("notification_id", "rowid").replace("{events}", "stored_events")
            rows = connection.execute(statement, params).fetchall()
            connection.commit()
            return rows

        yield run
        connection.close()
    else:
        with psycopg.connect(store_url.replace("postgresql+psycopg:", "postgresql:"), autocommit=True) as connection:

            def run(statement: str, params: tuple = ()) -> list[tuple]:
                cursor = connection.execute(statement.replace("{events}", "registry_events"), params)
                return cursor.fetchall() if cursor.description else []

            yield run


def state_at(sql: Execute, position: int) -> bytes:
    return bytes(sql("SELECT state FROM {events} WHERE notification_id = %s", (position,))[0][0])


def set_state(sql: Execute, position: int, state: bytes) -> None:
    sql("UPDATE {events} SET state = %s WHERE notification_id = %s", (state, position))


def test_an_untouched_store_verifies_against_every_head_given_out(store_url: str) -> None:
    heads = five_events(store_url)

    verdict = verify_store("registry", store_url, heads)

    assert verdict.ok, verdict.describe()
    assert len(heads) == 10
    assert (verdict.checked, verdict.heads_checked, verdict.head) == (10, 10, (heads[-1].position, heads[-1].hash))


def test_one_byte_changed_in_one_stored_event_is_found_at_its_position(store_url: str, sql: Execute) -> None:
    heads = five_events(store_url)
    state = bytearray(state_at(sql, 3))
    state[len(state) // 2] ^= 0x01
    set_state(sql, 3, bytes(state))

    verdict = verify_store("registry", store_url, heads)

    assert (verdict.ok, verdict.failure_position) == (False, 3)
    assert "changed" in verdict.failure


def test_a_state_edited_into_text_by_sqlites_own_functions_is_found_at_its_position(tmp_path: Path) -> None:
    """Tester 245 F3: ``sqlite3``'s usual way to change a byte (``substr(state, …) || X'00' || …``) leaves the column TEXT;
    ``osv-verify`` and ``GET /verify`` crashed on it (TypeError in ``record_digest``) instead of naming the position.
    SQLite only: PostgreSQL's ``bytea`` column takes no text."""
    url = f"sqlite:///{tmp_path / 'events.db'}"
    heads = five_events(url)
    with sqlite3.connect(tmp_path / "events.db") as connection:
        connection.execute("UPDATE stored_events SET state = substr(state, 1, 20) || X'00' || substr(state, 22) WHERE rowid = 3")
        assert connection.execute("SELECT typeof(state) FROM stored_events WHERE rowid = 3").fetchone() == ("text",)

    verdict = verify_store("registry", url, heads)

    assert (verdict.ok, verdict.failure_position) == (False, 3)
    assert "changed" in verdict.failure


def test_the_last_event_deleted_with_its_chain_hash_is_found_by_the_head_given_out(store_url: str, sql: Execute) -> None:
    heads = five_events(store_url)
    last = heads[-1].position
    sql("DELETE FROM {events} WHERE notification_id = %s", (last,))
    assert verify_store("registry", store_url, []).failure_position == last  # its chain hash is left: deleted
    sql("DELETE FROM {events}_chain WHERE position = %s", (last,))

    assert verify_store("registry", store_url, heads[:-1]).ok  # the store alone looks whole: only a head given out can tell
    verdict = verify_store("registry", store_url, heads)

    assert (verdict.ok, verdict.failure_position) == (False, last)
    assert "tail was cut" in verdict.failure


def test_two_events_swapped_are_found_at_the_first_of_them(store_url: str, sql: Execute) -> None:
    heads = five_events(store_url)
    second, fourth = state_at(sql, 2), state_at(sql, 4)
    set_state(sql, 2, fourth)
    set_state(sql, 4, second)

    verdict = verify_store("registry", store_url, heads)

    assert (verdict.ok, verdict.failure_position) == (False, 2)


def test_a_whole_chain_replaced_consistently_disagrees_with_the_first_head_given_out_after_the_change(store_url: str, sql: Execute) -> None:
    heads = five_events(store_url)
    state = bytearray(state_at(sql, 3))
    state[len(state) // 2] ^= 0x01
    set_state(sql, 3, bytes(state))
    previous = GENESIS
    for position, originator_id, version, topic, stored in sql(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {events} ORDER BY notification_id"
    ):
        originator = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)  # SQLite keeps it as hex
        previous = link(previous, position, record_digest(originator, version, topic, bytes(stored)))
        sql("UPDATE {events}_chain SET hash = %s WHERE position = %s", (previous, position))

    assert verify_store("registry", store_url, []).ok  # consistent with itself
    verdict = verify_store("registry", store_url, [heads[1], heads[3]])  # heads given out at positions 2 and 4

    assert (verdict.ok, verdict.failure_position) == (False, 4)
    assert "rewritten" in verdict.failure


def test_osv_verify_reads_the_heads_the_relay_published_and_names_the_position(tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]) -> None:
    overrides = {name: {"chain_head_seconds": 0.2} for name in ("registry", "funding", "engagement")}
    with running_system(tmp_path / "var", nats_server.url, overrides=overrides) as system:
        for n in range(3):
            assert system.registry.post("/osvs", json={"name": f"OSV {n}", "district": "Comas", "mapped_on": "2021-03-15"}).status_code == 201
        system.wait_relayed()
        feed = system.registry.get("/events").json()["events"]
        last_public = feed[-1]["position"]  # each mapping also stores a private entry in the district's roll
        eventually(lambda: any(h.position >= last_public for h in asyncio.run(heads_from_nats(nats_server.url, "registry"))))
        store = f"sqlite:///{tmp_path / 'var' / 'registry' / 'events.db'}"
        app = open_store(store, "registry")
        hashes = app.chain_hashes(1, app.recorder.max_notification_id() or 0)
        assert [e["chainhash"] for e in feed] == [hashes[e["position"]] for e in feed]  # every event given out carries its hash
        app.close()

    assert osv_verify.main(["--service", "registry", "--store", store, "--nats", nats_server.auditor_url]) == 0
    assert f"registry: ok: {len(hashes)} events" in capsys.readouterr().out
    published = max(h.position for h in asyncio.run(heads_from_nats(nats_server.url, "registry")))
    asyncio.run(the_services_cannot_delete_or_purge_the_heads(nats_server.url, head_key("registry", published)))

    with sqlite3.connect(store.removeprefix("sqlite:///")) as connection:
        connection.execute("DELETE FROM stored_events WHERE rowid = 3")
        connection.execute("DELETE FROM stored_events_chain WHERE position = 3")

    assert osv_verify.main(["--service", "registry", "--store", store, "--nats", nats_server.auditor_url]) == 1
    assert "registry: FAILED at position 3" in capsys.readouterr().out


def test_osv_verify_says_in_one_line_that_a_feed_does_not_answer(capsys: pytest.CaptureFixture[str]) -> None:
    """It ended in httpx's traceback (helper 159)."""
    feed = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    assert osv_verify.main(["--service", "registry", "--feed", feed]) == 2
    said = capsys.readouterr().err.strip()
    assert said.startswith("osv-verify: ") and feed in said and "--feed URL" in said and "\n" not in said and "Traceback" not in said


def test_osv_verify_never_prints_a_password_in_the_feeds_url(capsys: pytest.CaptureFixture[str]) -> None:
    """Tester 161 F10: ``--feed http://user:pw@host`` was printed whole in the line saying it does not answer."""
    feed = f"http://auditor:s3cret-pw@127.0.0.1:{free_port('127.0.0.1')}"
    assert osv_verify.main(["--service", "registry", "--feed", feed]) == 2
    said = capsys.readouterr().err
    assert "s3cret-pw" not in said and feed.replace("s3cret-pw", "***") in said and "does not answer" in said, said


def test_osv_verify_refuses_a_feed_whose_chain_is_another_services_naming_it(tmp_path: Path, tokens: IssuedTokens, capsys: pytest.CaptureFixture[str]) -> None:
    """Tester 161 F3: ``--service funding --feed <registry's URL>`` said ok: ``GET /chain`` named no service, and
    registry's chain held. It names its service now, and osv-verify checks it is the one named."""
    with service_client("registry", tmp_path) as registry:
        registry.headers.update(tokens.headers("auditor"))
        assert registry.get("/chain").json()["service"] == "registry"
        assert verify_feed("registry", registry, []).ok
        with pytest.raises(ChainOfAnotherServiceError, match="serves registry's chain, not funding's: give funding's own URL"):
            verify_feed("funding", registry, [])

    for served, said in (("registry", "registry's chain"), (None, "a chain that names no service")):
        page = {"service": served, "after": 0, "next_after": 0, "entries": []}

        class Chain(Answering):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                self.answer(200, "application/json", json.dumps(page).encode())

        with serving(Chain) as feed:
            assert osv_verify.main(["--service", "funding", "--feed", feed]) == 2
        out, err = capsys.readouterr()
        assert "ok" not in out and err.startswith(f"osv-verify: the feed at {feed}") and err.count("\n") == 1, out + err
        assert f"serves {said}" in err and "not funding's" in err, err


def test_get_verify_and_the_chain_feed_name_the_position_of_a_change_made_while_the_service_runs(tmp_path: Path, nats_server: NatsServer) -> None:
    overrides = {name: {"chain_head_seconds": 0.2} for name in ("registry", "funding", "engagement")}
    with running_system(tmp_path / "var", nats_server.url, overrides=overrides) as system:
        for n in range(3):
            assert system.registry.post("/osvs", json={"name": f"OSV {n}", "district": "Comas", "mapped_on": "2021-03-15"}).status_code == 201
        eventually(lambda: system.registry.get("/verify").json()["heads_checked"] >= 1)
        assert system.registry.get("/verify").json()["ok"] is True
        heads = asyncio.run(heads_from_nats(nats_server.url, "registry"))
        assert verify_feed("registry", system.registry, heads).ok

        with sqlite3.connect(tmp_path / "var" / "registry" / "events.db") as connection:
            (state,) = connection.execute("SELECT state FROM stored_events WHERE rowid = 2").fetchone()
            changed = bytearray(state)
            changed[-1] ^= 0x01
            connection.execute("UPDATE stored_events SET state = ? WHERE rowid = 2", (bytes(changed),))

        answer = system.registry.get("/verify").json()
        assert (answer["ok"], answer["first_failure"]["position"]) == (False, 2)
        assert verify_feed("registry", system.registry, heads).failure_position == 2


def test_reportings_sign_offs_are_chained_their_head_given_out_and_a_rewritten_sign_off_is_found(
    tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sign-off is what donors and auditors rely on, and its digest anyone recomputes: only the chain and a head given
    out elsewhere show that one was rewritten."""
    overrides = {name: {"chain_head_seconds": 0.2} for name in ("registry", "funding", "engagement", "reporting")}
    with running_system(tmp_path / "var", nats_server.url, overrides=overrides) as system:
        opened = system.funding.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-12-31"})
        assert opened.status_code == 201, opened.text
        system.wait_relayed()
        system.wait_applied()
        assert system.reporting.put("/phases/F1/targets/osvs_identified", json={"target": {"value": 30}}).status_code == 200
        signed = system.reporting.post("/phases/F1/sign-offs", json={"as_of": datetime.now(timezone.utc).isoformat()})
        assert signed.status_code == 201, signed.text

        eventually(lambda: system.reporting.get("/verify").json()["heads_checked"] >= 1)
        answer = system.reporting.get("/verify").json()
        assert (answer["service"], answer["ok"], answer["heads_source"]) == ("reporting", True, HEADS_BUCKET)
        chain = system.reporting.get("/chain").json()["entries"]
        assert len(chain) >= 2 and all(e["digest"] and e["hash"] for e in chain)  # the target and the sign-off
        eventually(lambda: max((h.position for h in asyncio.run(heads_from_nats(nats_server.url, "reporting"))), default=0) == chain[-1]["position"])
        heads = asyncio.run(heads_from_nats(nats_server.url, "reporting"))
        assert verify_feed("reporting", system.reporting, heads).ok

        store = f"sqlite:///{tmp_path / 'var' / 'reporting' / 'events.db'}"
        assert osv_verify.main(["--service", "reporting", "--store", store, "--nats", nats_server.auditor_url]) == 0
        assert f"reporting: ok: {len(chain)} events" in capsys.readouterr().out

        # the sign-off rewritten in the store, its chain made again to match: only the head given out tells
        signed_at = chain[-1]["position"]
        with sqlite3.connect(store.removeprefix("sqlite:///")) as connection:
            (state,) = connection.execute("SELECT state FROM stored_events WHERE rowid = ?", (signed_at,)).fetchone()
            changed = bytearray(state)
            changed[len(changed) // 2] ^= 0x01
            connection.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (bytes(changed), signed_at))
            (previous,) = connection.execute("SELECT hash FROM stored_events_chain WHERE position = ?", (signed_at - 1,)).fetchone()
            (originator, version, topic) = connection.execute(
                "SELECT originator_id, originator_version, topic FROM stored_events WHERE rowid = ?", (signed_at,)
            ).fetchone()
            connection.execute("UPDATE stored_events_chain SET hash = ? WHERE position = ?",
                               (link(previous, signed_at, record_digest(UUID(originator), version, topic, bytes(changed))), signed_at))

        answer = system.reporting.get("/verify").json()
        assert (answer["ok"], answer["first_failure"]["position"]) == (False, signed_at)
        assert "rewritten" in answer["first_failure"]["reason"]
        time.sleep(3)  # several of the publisher's turns (every second, a head due every 0.2 s)
        given = [h.hash for h in asyncio.run(heads_from_nats(nats_server.url, "reporting")) if h.position == signed_at]
        assert given == [chain[-1]["hash"]]  # the rewritten chain's head is not given out beside the one given out first
    assert osv_verify.main(["--service", "reporting", "--store", store, "--nats", nats_server.auditor_url]) == 1
    assert f"reporting: FAILED at position {signed_at}" in capsys.readouterr().out


def test_a_service_cannot_be_set_to_publish_its_chain_head_less_often_than_every_minute(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="chain_head_seconds"):
        settings_for("registry", tmp_path, chain_head_seconds=61)
    assert settings_for("registry", tmp_path, chain_head_seconds=60).chain_head_seconds == 60


def test_an_idle_service_puts_its_head_once_and_a_head_whose_key_is_full_counts_as_given_out(nats_server: NatsServer) -> None:
    class FakeStore:
        chain_head = staticmethod(lambda: (3, "ab" * 32))

    async def story() -> None:
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream(timeout=5)
            publisher = HeadPublisher("registry", interval=0.0)
            assert await publisher.maybe_publish(js, FakeStore()) is True
            assert await publisher.maybe_publish(js, FakeStore()) is False  # the store did not move: nothing more to give out
            kv = await js.key_value(HEADS_BUCKET)
            assert len(await kv.history(head_key("registry", 3))) == 1
            # What partners and auditors read says so (tester 285 F7: the AsyncAPI said "at least every minute").
            published = asyncapi_document([])["info"]["x-jetstream"]["chain_heads"]["published"]
            assert "an idle store's head is not put again" in published and "at least" not in published

            for _ in range(63):  # as many restarts of an idle service
                await kv.put(head_key("registry", 3), b"{}")
            restarted = HeadPublisher("registry", interval=0.0)
            assert await restarted.maybe_publish(js, FakeStore()) is False  # refused, and not an error
            assert restarted.last_published == (3, "ab" * 32)
        finally:
            await nc.close()

    asyncio.run(story())


def test_reportings_head_publisher_gives_out_no_second_head_for_a_position_it_gave_out(
    nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A store whose hash at a position given out changed was rewritten: its new head is logged as an ERROR, not put."""
    class FakeStore:
        head = (4, "ab" * 32)
        chain_head = classmethod(lambda cls: cls.head)

    async def story() -> None:
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream(timeout=5)
            kv = await ensure_heads_bucket(js)
            publisher = HeadPublisher("reporting", interval=0.0, keep_given=True)
            assert await publisher.maybe_publish(js, FakeStore()) is True
            FakeStore.head = (4, "cd" * 32)  # the chain recomputed after a sign-off was changed
            assert await publisher.maybe_publish(js, FakeStore()) is False
            restarted = HeadPublisher("reporting", interval=0.0, keep_given=True)  # a later process reads the bucket
            assert await restarted.maybe_publish(js, FakeStore()) is False
            assert [json.loads(e.value)["hash"] for e in await kv.history(head_key("reporting", 4))] == ["ab" * 32]
            FakeStore.head = (5, "ef" * 32)  # the store moved on: its new position's head is given out
            assert await restarted.maybe_publish(js, FakeStore()) is True
        finally:
            await nc.close()

    with caplog.at_level(logging.ERROR, logger="shared.chainheads"):
        asyncio.run(story())
    refused = [r for r in caplog.records if r.levelno == logging.ERROR and "position 4" in r.getMessage()]
    assert len(refused) == 2 and "ab" * 32 in refused[0].getMessage()  # once per publisher


async def first_of_history(kv: Any, key: str, attempts: int = 5) -> Any:
    """The first entry of ``key``'s history. nats-py reads a history through a watcher that gives up when the server's
    first answer is late: on a loaded machine it found "no keys" for a key that was there (make test, load 8)."""
    for attempt in range(1, attempts + 1):
        try:
            return (await kv.history(key))[0]
        except nats.js.errors.NoKeysError:
            if attempt == attempts:
                raise
            await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


async def the_services_cannot_delete_or_purge_the_heads(url: str, key: str) -> None:
    """With the services' own credentials, the heads given out stay (``key``, one of them): no delete, purge or rewrite of the bucket."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream(timeout=2)
        kv = await js.key_value(HEADS_BUCKET)
        with pytest.raises(Exception):  # noqa: B017 - denied to the services' user
            await js.delete_stream(HEADS_STREAM)
        with pytest.raises(Exception):  # noqa: B017
            await js.purge_stream(HEADS_STREAM)
        with pytest.raises(Exception):  # noqa: B017 - the bucket takes no roll-up: a key's history cannot be dropped
            await kv.purge(key)
        first = await js.get_msg(HEADS_STREAM, 1)
        with pytest.raises(Exception):  # noqa: B017
            await js.delete_msg(HEADS_STREAM, first.seq)
        # Nor pushed out of a key's history by putting to the key again and again: past its history, puts are refused.
        genuine = (await first_of_history(kv, key)).value
        forged = json.dumps({"service": "registry", "position": 3, "hash": "0" * 64, "published_at": "2021-03-15T00:00:00Z"}).encode()
        with pytest.raises(Exception):  # noqa: B017
            for _ in range(64):
                await kv.put(key, forged)
        assert (await first_of_history(kv, key)).value == genuine
        assert (await js.stream_info(HEADS_STREAM)).state.messages >= 1
    finally:
        await nc.close()


@pytest.mark.parametrize("service", ["registry", "reporting"])
def test_get_verify_and_the_chain_are_for_auditors_alone(tmp_path: Path, tokens: IssuedTokens, service: str) -> None:
    """Tamper evidence is the auditors': not even the staff and leads whose writes the chain guards may ask for it."""
    with service_client(service, tmp_path) as client:
        assert client.get("/verify", headers={"Authorization": ""}).status_code == 401
        for role in ("staff", "lead", "evaluator", "dpo", "municipal-150132", "partner-150132"):
            for path in ("/verify", "/chain"):
                refused = client.get(path, headers=tokens.headers(role))
                assert (refused.status_code, refused.json()["permission"]) == (403, "audit:verify"), (role, path)
        answer = client.get("/verify", headers=tokens.headers("auditor"))
        assert answer.status_code == 200 and answer.json()["ok"] is True
        assert answer.json()["heads_source"].startswith("unavailable")  # NATS out of reach: the store's own chain is checked
        assert client.get("/chain", headers=tokens.headers("auditor")).status_code == 200


def test_get_verify_checks_each_snapshot_against_its_events_and_finds_one_changed_in_the_store(tmp_path: Path) -> None:
    """A snapshot is outside the chain: a phase deleted from the calendar's snapshot let an overlapping phase open, and
    `/verify` said ok (tester 37b F2). Each snapshot the service reads is now checked against its events replayed."""
    with service_client("funding", tmp_path) as funding:
        for month in range(1, 22):  # 21 events: the calendar is snapshotted at its 20th
            year, m = 2020 + (month - 1) // 12, (month - 1) % 12 + 1
            body = {"code": f"F{month}", "name": f"Fase {month}", "starts_on": f"{year}-{m:02d}-01", "ends_on": f"{year}-{m:02d}-28"}
            assert funding.post("/phases", json=body).status_code == 201, body
        clean = funding.get("/verify").json()
        assert (clean["ok"], clean["snapshots_checked"]) == (True, 1)

        with sqlite3.connect(tmp_path / "funding" / "events.db") as connection:
            [(table,)] = connection.execute("SELECT name FROM sqlite_master WHERE name LIKE '%snapshots'").fetchall()
            (originator_id, state) = connection.execute(f"SELECT originator_id, state FROM {table}").fetchone()
            assert state.count(b'"code":"F2",') == 1  # phase F2's dates: dropped from the calendar as the tester did, in effect
            connection.execute(f"UPDATE {table} SET state = ? WHERE originator_id = ?", (state.replace(b'"code":"F2",', b'"code":"FX",'), originator_id))

        answer = funding.get("/verify").json()
        assert answer["ok"] is False and answer["snapshots_checked"] == 1
        assert answer["first_failure"]["position"] is None
        assert "snapshot of PhaseCalendar" in answer["first_failure"]["reason"] and "version 20" in answer["first_failure"]["reason"]
