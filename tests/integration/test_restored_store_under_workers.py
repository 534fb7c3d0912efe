"""A store put back from an older backup under running workers of its service: every replica refuses commands once one
relay found the store behind its stream, a newer backup takes them all out of it, a district roll kept in memory is
read again; and the 503 each command documents for it (the story is ``test_restored_store``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from devtools.embedded import NatsServer
from services.engagement.api import create_app as engagement_app
from services.funding.api import create_app as funding_app
from services.registry.api import create_app as registry_app
from tests.support.clients import NATS_OUT_OF_REACH, application_of
from tests.support.processes import failures_two_at_once
from tests.support.restoring import (
    Backups,
    backups_fixture,  # noqa: F401 - the store under test, a fixture
    map_osv,
    registry_alone,
    relay_aligned,
    restored_behind_its_stream,
    stream_events,
)
from tests.support.system import eventually, running_system

# Stores put back from backups under running workers, on SQLite and PostgreSQL: over 3 minutes of one core with
# test_restored_store, so `make faults` runs them and `make test` keeps within its 15 minutes on 2 cores.
pytestmark = pytest.mark.faults


def test_every_replica_refuses_commands_once_one_relay_found_the_store_behind_its_stream(
    backups: Backups, nats_server: NatsServer
) -> None:
    restored = restored_behind_its_stream(backups, nats_server.url)
    with registry_alone(backups, nats_server.url) as one, registry_alone(backups, nats_server.url) as other:
        eventually(lambda: {one.get("/health").json()["relay"]["role"], other.get("/health").json()["relay"]["role"]} == {"active", "standby"})
        active, standby = (one, other) if one.get("/health").json()["relay"]["role"] == "active" else (other, one)
        assert relay_aligned(active, restored.stream_position).get("stream_ahead")
        # The standby learns it from the store's mark (its relay reads it every second), no request needed.
        eventually(lambda: application_of(standby).stream_ahead is not None)
        answer = standby.post("/osvs", json={"name": "Vecinos", "district": "Ate", "mapped_on": "2021-04-01"})
        assert answer.status_code == 503 and answer.json()["rule"] == "store_behind_stream"
        assert standby.get("/health").json()["relay"]["stream_ahead"]["stream_position"] == restored.stream_position

    # Started again, NATS out of reach: refused from the first command, by the mark the store keeps.
    with registry_alone(backups, NATS_OUT_OF_REACH) as again:
        answer = again.post("/osvs", json={"name": "Vecinos", "district": "Ate", "mapped_on": "2021-04-01"})
        assert answer.status_code == 503 and answer.json()["rule"] == "store_behind_stream"
        assert again.get("/health").json()["status"] == "degraded"


@contextmanager
def two_workers_behind_the_stream(backups: Backups, nats_url: str, stream_position: int) -> Iterator[tuple[TestClient, TestClient]]:
    """Two workers of registry on a store behind its stream, ``(active, standby)`` once the active relay found it and
    the standby learnt it from the store's mark."""
    with registry_alone(backups, nats_url) as one, registry_alone(backups, nats_url) as other:
        workers = (one, other)
        eventually(lambda: {role(w) for w in workers} == {"active", "standby"})
        active, standby = workers if role(one) == "active" else workers[::-1]
        assert relay_aligned(active, stream_position).get("stream_ahead")
        eventually(lambda: all(application_of(w).stream_ahead is not None for w in workers))
        yield active, standby


def role(worker: TestClient) -> str:
    return str(worker.get("/health").json()["relay"]["role"])


def both_take_commands_again(workers: tuple[TestClient, TestClient], nats_url: str, stream_position: int) -> None:
    """Each worker takes a command (201), published past the stream's last position, and says ``ok``."""
    for worker in workers:  # the active relay looks again within its check_seconds; the standby reads the marks every second
        eventually(lambda w=worker: w.get("/health").json()["relay"].get("stream_ahead") is None, timeout=30)
    names = ("Junta vecinal Huaycán", "Comedor Santa Clara")
    taken = [w.post("/osvs", json={"name": n, "district": "Ate", "mapped_on": "2021-04-01"}) for w, n in zip(workers, names)]
    assert [a.status_code for a in taken] == [201, 201], [a.text for a in taken]
    ids = {a.json()["id"] for a in taken}
    published = eventually(lambda: (p := {e["subject"]: e["position"] for e in asyncio.run(stream_events(nats_url))}).keys() >= ids and p)
    assert all(published[i] > stream_position for i in ids)
    for worker in workers:
        assert eventually(lambda w=worker: w.get("/health").json()["status"] == "ok", timeout=30)


def test_a_newer_backup_put_back_under_two_running_workers_takes_both_out_of_it(backups: Backups, nats_server: NatsServer) -> None:
    # Tester M1: the standby worker went on refusing commands (503 store_behind_stream) until it was restarted. The
    # marks are in the store, and the newer backup put back holds none: the standby found no resolution in them.
    restored = restored_behind_its_stream(backups, nats_server.url)
    with two_workers_behind_the_stream(backups, nats_server.url, restored.stream_position) as workers:
        backups.restore("newer")  # under both workers: one that holds the stream's last event
        both_take_commands_again(workers, nats_server.url, restored.stream_position)


def test_a_worker_whose_relay_found_it_and_then_stood_by_follows_the_marks(backups: Backups, nats_server: NatsServer) -> None:
    # The relay lease moved (its holder's connection broke): the worker that found the store behind its stream stood
    # by, and kept both its own finding (refusing commands) and its relay's error (degraded) after the newer backup.
    restored = restored_behind_its_stream(backups, nats_server.url)
    with two_workers_behind_the_stream(backups, nats_server.url, restored.stream_position) as (active, standby):
        def moved() -> bool:
            if role(active) == "active":  # let go of the lease until the other worker's relay has taken it
                active.app.state.runtime.relay.lease.release()  # type: ignore[attr-defined]
            return (role(standby), role(active)) == ("active", "standby")

        eventually(moved, timeout=30)
        assert relay_aligned(standby, restored.stream_position).get("stream_ahead")
        assert active.post("/osvs", json={"name": "Vecinos", "district": "Ate", "mapped_on": "2021-04-01"}).status_code == 503

        backups.restore("newer")
        both_take_commands_again((standby, active), nats_server.url, restored.stream_position)


def test_a_store_put_back_under_a_running_service_is_found_by_its_relay(backups: Backups, nats_server: NatsServer) -> None:
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        for i in range(3):
            assert map_osv(system, f"Vecinos {i}").status_code == 201
        system.wait_relayed()
        backups.back_up()  # on PostgreSQL, copying the database ends the service's connections: a 503 until it connects again
        for i in range(3, 6):
            eventually(lambda i=i: map_osv(system, f"Vecinos {i}").status_code == 201)
        system.wait_relayed()
        stream_position = asyncio.run(stream_events(nats_server.url))[-1]["position"]

        backups.restore()  # while registry runs: its relay, idle, looks at the store every few seconds

        ahead = eventually(lambda: system.registry.get("/health").json()["relay"].get("stream_ahead"))
        assert ahead["stream_position"] == stream_position
        answer = map_osv(system, "Vecinos después de la restauración")
        assert answer.status_code == 503 and answer.json()["rule"] == "store_behind_stream", answer.text


def test_a_store_put_back_under_a_running_service_taking_commands_is_found_before_any_of_them_is_published(
    backups: Backups, nats_server: NatsServer
) -> None:
    # Tester 29b, H1: commands came in at once after the restore. The relay publishes what follows its position and looked
    # at the store only while idle, every 5 s: the new events passed its position first and went out at positions the
    # stream held for others (the first ones never published), and then the store held the last event sent: all well.
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        for i in range(3):
            assert map_osv(system, f"Vecinos {i}").status_code == 201
        system.wait_relayed()
        backups.back_up()  # on PostgreSQL, copying the database ends the service's connections: a 503 until it connects again
        for i in range(3, 6):
            eventually(lambda i=i: map_osv(system, f"Vecinos {i}").status_code == 201)
        system.wait_relayed()
        stream = asyncio.run(stream_events(nats_server.url))
        stream_position = stream[-1]["position"]

        backups.restore()  # while registry runs and takes commands
        taken = [map_osv(system, f"Comedor Popular {i}") for i in range(8)]

        ahead = eventually(lambda: system.registry.get("/health").json()["relay"].get("stream_ahead"))
        assert ahead["stream_position"] == stream_position, ahead
        assert {a.status_code for a in taken} <= {201, 503}, [a.text for a in taken]
        accepted = [a.json()["id"] for a in taken if a.status_code == 201]
        # On SQLite the store is put back under the open connections: commands are taken before the relay looks, past
        # its position (diverged). On PostgreSQL the database dropped and made again breaks the relay's connection too,
        # and a relay looks at the stream again after any error, often before the commands.
        if backups.postgres is None:
            assert accepted and ahead["diverged"], ahead
        assert asyncio.run(stream_events(nats_server.url)) == stream  # none of them went out over the stream's positions
        feed = system.registry.get("/events", params={"limit": 1000}).json()["events"]
        assert set(accepted) <= {e["subject"] for e in feed}  # in the store: accept-tail publishes them past the stream
        assert map_osv(system, "Otra").status_code == 503


def map_in_ate(worker: TestClient, name: str) -> Any:
    """A mapping in Ate, whose district roll the next two tests keep in a worker's memory."""
    return worker.post("/osvs", json={"name": name, "district": "Ate", "mapped_on": "2021-04-01"})


def test_a_district_roll_kept_in_memory_ahead_of_a_store_put_back_is_read_again_never_a_500(
    backups: Backups, nats_server: NatsServer
) -> None:
    # Tester 29b, M4: a worker kept Ate's roll at a version the store put back no longer held; its next mapping saved the
    # roll's next event past that gap, and every worker reading the roll afresh then failed on it with 500
    # (OriginatorVersionError) until the store's version passed the kept one again.
    with registry_alone(backups, nats_server.url) as one, registry_alone(backups, nats_server.url) as other:
        for i in range(3):
            assert map_in_ate(one, f"Vecinos {i}").status_code == 201
        backups.back_up()  # on PostgreSQL, copying the database ends the workers' connections: a 503 until they connect again
        for i in range(3, 6):
            eventually(lambda i=i: map_in_ate(one, f"Vecinos {i}").status_code == 201)  # one keeps Ate's roll three OSVs ahead of the backup

        backups.restore()  # under both workers
        kept_ahead = map_in_ate(one, "Comedor Popular Zárate")
        read_afresh = map_in_ate(other, "Comedor Popular Las Flores")  # reads Ate's roll from the store
        assert kept_ahead.status_code in (201, 503), kept_ahead.text  # 503 once a relay found the store behind its stream
        assert read_afresh.status_code in (201, 503), read_afresh.text
        listed = other.get("/osvs", params={"district": "Ate", "limit": 100})
        assert listed.status_code == 200, listed.text


def test_a_district_roll_kept_in_memory_whose_versions_another_worker_took_again_is_read_again(
    backups: Backups, nats_server: NatsServer
) -> None:
    # The store put back, another worker mapped as many OSVs as the kept roll was ahead: the store holds the kept
    # version, with other names. The kept roll, taken as up to date, let a name the district already has through.
    with registry_alone(backups, nats_server.url) as one, registry_alone(backups, nats_server.url) as other:
        assert map_in_ate(one, "Vecinos de Huaycán").status_code == 201
        backups.back_up()
        for name in ("Junta Vecinal Santa Clara", "Club de Madres Salamanca"):
            eventually(lambda name=name: map_in_ate(one, name).status_code == 201)  # one keeps Ate's roll two OSVs ahead of the backup

        backups.restore()  # under both workers
        taken = {name: map_in_ate(other, name).status_code for name in ("Comedor Popular Zárate", "Comedor Popular Las Flores")}
        assert set(taken.values()) <= {201, 503}, taken
        again = map_in_ate(one, "Comedor Popular Zárate")
        if taken["Comedor Popular Zárate"] == 201:  # Ate has it now (a 503: the other worker's connection was not back yet)
            assert again.status_code in (409, 503), again.text  # 503 once a relay found the store behind its stream
        else:
            assert again.status_code in (201, 409, 503), again.text


def test_every_command_of_a_write_service_documents_its_503_store_behind_stream() -> None:
    for create_app in (registry_app, funding_app, engagement_app):
        spec = create_app().openapi()
        commands = [op for ops in spec["paths"].values() for method, op in ops.items() if method in ("post", "put", "patch", "delete")]
        assert commands
        for operation in commands:
            answer = operation["responses"]["503"]
            assert "store_behind_stream" in answer["description"] and "Retry-After" in answer["headers"]
        assert "503" not in spec["paths"]["/events"]["get"]["responses"]  # a read is never refused for it


def read_marks_at_start(url: str, start: Any, errors: Any) -> None:
    """A worker's start on the store: the application opened, then the store's marks read (they make the tracking table)."""
    from services.registry.application import Registry
    from shared.store import persistence_env

    app = Registry(persistence_env(url))
    start.wait()
    try:
        app.check_stream_marks()
    except Exception as error:  # noqa: BLE001 - reported to the test
        errors.put(f"{type(error).__name__}: {str(error).splitlines()[0]}")
    finally:
        app.close()


def test_two_workers_starting_at_once_on_a_fresh_store_both_read_its_marks(tmp_path: Path) -> None:
    # make run's first start on a new var/: both workers found no tracking table, made it, and the second one's
    # "migration" row was refused (IntegrityError), which failed its start (seen in the replicas fault case).
    failures = failures_two_at_once(read_marks_at_start, tmp_path, "events")
    assert not failures, failures
