"""A store put back from an older backup while its stream kept the later events: nothing acknowledged is lost.

The stream holds events up to position N; the store, restored, ends at K < N.
Each new event would take a position the stream (and every partner) already
holds for another event.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest
from fastapi.testclient import TestClient

from audit.verify import verify_store
from devtools.embedded import NatsServer, PostgresServer
from devtools.restore import main as restore_main
from services.engagement.api import create_app as engagement_app
from services.funding.api import create_app as funding_app
from services.registry.api import create_app as registry_app
from services.registry.settings import RegistrySettings
from tests.support.clients import NATS_OUT_OF_REACH, application_of
from tests.support.identity import session_auth, signed_in_headers
from tests.support.processes import failures_two_at_once
from tests.support.served import served_system
from tests.support.system import eventually, last_public_position, running_system

# Stores put back from backups under running workers, on SQLite and PostgreSQL: over 3 minutes of one core, the
# largest file of the suite, so `make faults` runs it and `make test` keeps within its 15 minutes on 2 cores.
pytestmark = pytest.mark.faults

STREAM = "OSV_REGISTRY"
LOST = "StreamTailLost"


async def stream_events(url: str, stream: str = STREAM) -> list[dict[str, Any]]:
    """Every CloudEvent the stream holds, in stream order."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        if not info.state.messages:
            return []
        return [json.loads((await js.get_msg(stream, s)).data) for s in range(info.state.first_seq, info.state.last_seq + 1)]
    finally:
        await nc.close()


class Backups:
    """Backs a service's store up (registry's unless told) and puts it back, as an operator does with the service stopped.

    (On PostgreSQL a copy of the database, ``CREATE DATABASE … TEMPLATE``, stands for ``pg_dump`` and ``pg_restore``;
    the sessions on it are ended first: those the stopped services left in this process, or a running one's.)
    """

    def __init__(self, var: Path, postgres: PostgresServer | None, url: str | None, service: str = "registry") -> None:
        self.var, self.postgres, self.url, self.service = var, postgres, url, service

    @property
    def database_urls(self) -> dict[str, str]:
        return {self.service: self.url} if self.url else {}

    @property
    def store_url(self) -> str:
        return self.url or f"sqlite:///{self.var / self.service / 'events.db'}"

    def cli(self, nats_url: str) -> list[str]:
        """``osv-restore``'s arguments for the service's store."""
        return ["--service", self.service, "--store", self.store_url, "--nats-url", nats_url]

    def back_up(self, backup: str = "backup") -> None:
        if self.postgres is None:
            with closing(sqlite3.connect(self.var / self.service / "events.db")) as live, closing(sqlite3.connect(self.var / f"{backup}.db")) as copy:
                live.backup(copy)  # what `sqlite3 events.db ".backup backup.db"` does, while the service runs
            return
        import psycopg

        name = self.url.rsplit("/", 1)[1]  # type: ignore[union-attr]
        for _ in range(50):  # a running service connects again at once: end its sessions until the copy gets in between
            self._sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()")
            try:
                self._sql(f'CREATE DATABASE "{name}_{backup}" TEMPLATE "{name}"')
                return
            except psycopg.errors.ObjectInUse:
                continue
        raise AssertionError(f"could not copy {name}: its sessions kept coming back")

    def restore(self, backup: str = "backup") -> None:
        if self.postgres is None:
            with closing(sqlite3.connect(self.var / f"{backup}.db")) as copy, closing(sqlite3.connect(self.var / self.service / "events.db")) as live:
                copy.backup(live)  # what `sqlite3 events.db ".restore backup.db"` does, the service stopped
            return
        name = self.url.rsplit("/", 1)[1]  # type: ignore[union-attr]
        self._sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        self._sql(f'CREATE DATABASE "{name}" TEMPLATE "{name}_{backup}"')

    def _sql(self, statement: str) -> None:
        import psycopg

        assert self.postgres is not None
        with psycopg.connect(self.postgres.url_for("postgres", driver=None), autocommit=True) as connection:
            connection.execute(statement)


@pytest.fixture(params=["sqlite", "postgres"])
def backups(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backups]:
    if request.param == "sqlite":
        yield Backups(tmp_path / "var", None, None)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"restored_{tmp_path.name[-12:]}".lower().replace("-", "_")
    yield Backups(tmp_path / "var", server, server.create_database(name))


@contextmanager
def registry_alone(backups: Backups, nats_url: str) -> Iterator[TestClient]:
    """Registry on its own, on the store under test: two at once are two replicas (two uvicorn workers) of one store."""
    settings = RegistrySettings(var_dir=backups.var, nats_url=nats_url, database_url=backups.url, auth=session_auth())
    with TestClient(registry_app(settings), headers=signed_in_headers()) as client:
        yield client


def map_osv(system: Any, name: str) -> Any:
    return system.registry.post("/osvs", json={"name": name, "district": "Ate", "mapped_on": "2021-04-01"})


@dataclass
class Restored:
    """Registry's store put back to a backup with ``kept`` OSVs; its stream holds ``lost`` OSVs more, up to ``stream_position``."""

    kept: list[str]
    lost: list[str]
    stream_position: int


def restored_behind_its_stream(backups: Backups, nats_url: str) -> Restored:
    """Three OSVs, a backup, three OSVs more (published), then the backup put back."""
    with running_system(backups.var, nats_url, database_urls=backups.database_urls) as system:
        kept = [map_osv(system, f"Vecinos {i}").json()["id"] for i in range(3)]
        system.wait_relayed()
    backups.back_up()
    with running_system(backups.var, nats_url, database_urls=backups.database_urls) as system:
        lost = [map_osv(system, f"Vecinos {i}").json()["id"] for i in range(3, 6)]
        system.wait_relayed()
        system.wait_applied()
    backups.back_up("newer")
    backups.restore()
    return Restored(kept, lost, asyncio.run(stream_events(nats_url))[-1]["position"])


def relay_aligned(client: Any, stream_position: int) -> dict[str, Any]:
    """The relay's health once it has looked at the stream: it found the store behind it, or went on from its last event."""
    def aligned() -> dict[str, Any] | None:
        relay: dict[str, Any] = client.get("/health").json()["relay"]
        return relay if relay.get("stream_ahead") or relay["published_position"] >= stream_position else None

    return eventually(aligned)


def test_a_store_restored_from_an_older_backup_publishes_nothing_refuses_commands_and_says_why(
    backups: Backups, nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    restored = restored_behind_its_stream(backups, nats_server.url)
    caplog.clear()
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        relay = relay_aligned(system.registry, restored.stream_position)
        ahead = relay.get("stream_ahead")
        assert ahead is not None, relay  # before: the relay took the stream's last position for its own, and went on from there
        head = system.registry.get("/events").json()["head"]
        assert (ahead["stream_position"], ahead["store_head"], ahead["diverged"]) == (restored.stream_position, head, False)
        health = system.registry.get("/health").json()
        assert health["status"] == "degraded" and "behind its stream" in health["relay"]["last_error"]
        assert "osv-restore accept-tail --service registry" in ahead["detail"]
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and r.name == "shared.relay"]
        assert any(f"ends at position {head}" in e and f"up to position {restored.stream_position}" in e and "osv-restore" in e for e in errors)

        answer = map_osv(system, "Vecinos después de la restauración")
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["Retry-After"] == "60"
        problem = answer.json()
        assert (problem["rule"], problem["stream_position"], problem["store_head"]) == ("store_behind_stream", restored.stream_position, head)
        assert "Restoring a backup" in problem["detail"]
        assert system.registry.get("/events").json()["head"] == head  # nothing stored

        for osv_id in restored.kept:  # reads answer as ever
            assert system.registry.get(f"/osvs/{osv_id}").status_code == 200
        assert asyncio.run(stream_events(nats_server.url))[-1]["position"] == restored.stream_position  # nothing published


def osvs_identified(system: Any) -> int:
    return int(system.indicators()["total"]["osvs_identified"])


def test_after_accept_tail_the_service_takes_commands_again_and_publishes_them_past_the_stream(
    backups: Backups, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    restored = restored_behind_its_stream(backups, nats_server.url)
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        assert relay_aligned(system.registry, restored.stream_position)["stream_ahead"]
        head = system.registry.get("/events").json()["head"]

    assert restore_main(["check", *backups.cli(nats_server.url)]) == 1
    checked = capsys.readouterr().out
    assert f"its stream OSV_REGISTRY holds events up to {restored.stream_position}" in checked
    assert "3 OSVMapped" in checked  # the stream's events the store lacks, named
    assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 0
    assert restore_main(["check", *backups.cli(nats_server.url)]) == 0  # nothing left to accept

    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        answer = map_osv(system, "Vecinos después de la restauración")
        assert answer.status_code == 201, answer.text
        system.wait_relayed()
        new = answer.json()["id"]
        published = {e["subject"]: e["position"] for e in asyncio.run(stream_events(nats_server.url))}
        assert published[new] > restored.stream_position  # under a position no partner holds for another event
        assert system.registry.get("/health").json()["status"] == "ok"
        # Reporting counts it beside what it kept: the three in the backup and the three only the stream holds.
        eventually(lambda: osvs_identified(system) == 7)
        assert system.reporting.get("/health").json()["sources"]["registry"]["missing"] == []
        feed = system.registry.get("/events", params={"limit": 1000}).json()
        # The store never has the stream's tail; it tells of the loss (StreamTailLost: for the programme, and for Ate).
        assert [e["subject"] for e in feed["events"] if e["type"] != LOST] == [*restored.kept, new]
        assert [e["type"] for e in feed["events"]].count(LOST) == 2
        assert feed["head"] > restored.stream_position > head
        assert asyncio.run(stream_events(nats_server.url))[-1]["subject"] == new


@dataclass
class GivenOut:
    """A store put back to a backup with ``kept`` OSVs, after its feed gave out positions up to ``head`` (private events
    after the stream's last one, ``stream_position``) and reporting's floor passed them."""

    kept: list[str]
    lost: list[str]
    stream_position: int
    head: int


def given_out_past_its_stream(
    backups: Backups, nats_url: str, heads_every: float, *, public_last: bool = False, given_again: bool = False
) -> GivenOut:
    """Three OSVs, a backup, three more read by reporting from the feed, then the backup put back; the relay gives out
    the chain's head every ``heads_every`` seconds while the three are mapped. ``public_last``: one of the first three
    is changed before the backup (a public event after the mappings' private ones): the backup holds nothing
    unpublished, and accept-tail moves no event. ``given_again``: the lost store's service is started once more before
    the backup is put back, and its relay puts the head it finds again (a second revision of the head's key, as after
    any restart)."""
    slow_heads = {"registry": {"chain_head_seconds": 60}}
    with served_system(backups.var, nats_url, backups.database_urls, overrides=slow_heads) as (system, _):
        kept = [map_osv(system, f"Vecinos {i}").json()["id"] for i in range(3)]
        if public_last:
            assert system.registry.patch(f"/osvs/{kept[0]}", json={"kind": "vecinal"}).status_code == 200
        system.wait_relayed()
        if public_last:
            assert system.registry.get("/events").json()["head"] == last_public_position(system.registry)
    backups.back_up()
    heads = {"registry": {"chain_head_seconds": heads_every}}
    with served_system(backups.var, nats_url, backups.database_urls, overrides=heads) as (system, _):
        # Each mapping ends with private events: the district's roll, then the request's record (its Idempotency-Key).
        lost = [
            system.registry.post("/osvs", json={"name": f"Vecinos {i}", "district": "Ate", "mapped_on": "2021-04-01"},
                                 headers={"Idempotency-Key": f"vecinos-{i}"}).json()["id"]
            for i in range(3, 6)
        ]
        system.wait_relayed()
        head, stream_position = system.registry.get("/events").json()["head"], last_public_position(system.registry)
        assert head == stream_position + 2
        eventually(lambda: system.reporting.get("/health").json()["sources"]["registry"]["applied_floor"] == head)
        if heads_every < 1:  # the relay has given out the head, private events and all
            eventually(lambda: asyncio.run(highest_head(nats_url)) == head)
    if given_again:
        with served_system(backups.var, nats_url, backups.database_urls, overrides=heads):
            eventually(lambda: len(asyncio.run(heads_at(nats_url, head))) == 2)
    backups.restore()
    return GivenOut(kept, lost, stream_position, head)


async def highest_head(url: str) -> int:
    from shared.chainheads import read_heads

    nc = await nats.connect(url)
    try:
        return max((h.position for h in await read_heads(nc.jetstream(), "registry")), default=0)
    finally:
        await nc.close()


async def heads_at(url: str, position: int) -> list[str]:
    """The hashes of registry's heads given out at ``position``, one a revision of its key, in the order put."""
    from shared.chainheads import read_heads

    nc = await nats.connect(url)
    try:
        return [h.hash for h in await read_heads(nc.jetstream(), "registry") if h.position == position]
    finally:
        await nc.close()


def test_accept_tail_takes_the_store_past_the_highest_head_given_out_not_only_past_the_stream(
    backups: Backups, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The lost store's private events after its last public one had positions the stream never held, but its feed and
    # its chain heads gave out: accept-tail went on after the stream's last position, and the next public events took
    # positions partners and reporting had already passed (tester 28b, H2).
    story = given_out_past_its_stream(backups, nats_server.url, heads_every=0.2)
    assert restore_main(["check", *backups.cli(nats_server.url)]) == 1
    assert f"chain head given out at {story.head}" in capsys.readouterr().out
    assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 0

    with served_system(backups.var, nats_server.url, backups.database_urls) as (system, _):
        answer = map_osv(system, "Vecinos después de la restauración")
        assert answer.status_code == 201, answer.text
        system.wait_relayed()
        published = {e["subject"]: e["position"] for e in asyncio.run(stream_events(nats_server.url))}
        assert published[answer.json()["id"]] > story.head
        eventually(lambda: osvs_identified(system) == 7, timeout=20)


def test_reporting_counts_what_follows_accept_tail_at_positions_its_floor_had_passed(
    backups: Backups, nats_server: NatsServer
) -> None:
    # The head given out last is older than the loss (heads go out every minute at most): nothing outside the lost
    # store knew its last positions, and the new OSV is published at one reporting's floor had passed as private.
    story = given_out_past_its_stream(backups, nats_server.url, heads_every=60)
    assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 0

    with served_system(backups.var, nats_server.url, backups.database_urls) as (system, _):
        answer = map_osv(system, "Vecinos después de la restauración")
        assert answer.status_code == 201, answer.text
        system.wait_relayed()
        events = asyncio.run(stream_events(nats_server.url))
        # The notices of the loss take the positions after the record: those reporting's floor had passed.
        told = [e["position"] for e in events if e["type"] == LOST]
        assert story.stream_position < told[0] < told[-1] <= story.head, (told, story)
        eventually(lambda: osvs_identified(system) == 7, timeout=20)  # before: 6, with /health ok
        # Reporting applied them all the same: each lost OSV's evidence names the loss.
        def marked() -> bool:
            rows = system.reporting.get("/indicators/osvs_identified/evidence").json()["events"]
            lost = [row["lost_from_source"] for row in rows if row["subject"] in story.lost]
            return len(lost) == len(story.lost) and all(lost)

        eventually(marked, timeout=20)
        health = system.reporting.get("/health").json()
        assert health["status"] == "ok" and health["sources"]["registry"]["missing"] == []


def test_accept_tail_is_refused_while_a_worker_of_the_service_runs(
    backups: Backups, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    restored = restored_behind_its_stream(backups, nats_server.url)
    with registry_alone(backups, nats_server.url) as running:
        assert relay_aligned(running, restored.stream_position).get("stream_ahead")
        head = running.get("/events").json()["head"]
        assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 2
        assert "stop every worker of registry" in capsys.readouterr().err
        assert running.get("/events").json()["head"] == head
        assert running.post("/osvs", json={"name": "Vecinos", "district": "Ate", "mapped_on": "2021-04-01"}).status_code == 503


def test_osv_restore_refuses_another_services_store_and_a_file_that_is_no_event_store(
    tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`accept-tail --service funding` on registry's events.db renumbered every registry event past funding's stream and
    wrote funding's record into it; on a views.db it made event-store tables (tester 28b, H3). SQLite files: on
    PostgreSQL each service's database is named in its own settings."""
    backups = Backups(tmp_path / "var", None, None)
    restored_behind_its_stream(backups, nats_server.url)
    registry_store = backups.var / "registry" / "events.db"
    before = registry_store.read_bytes()
    other = ["accept-tail", "--service", "funding", "--store", f"sqlite:///{registry_store}", "--nats-url", nats_server.url]
    assert restore_main(other) == 2
    assert "is the event store of registry" in capsys.readouterr().err
    assert registry_store.read_bytes() == before
    views = backups.var / "registry" / "views.db"
    tables = sqlite3.connect(views).execute("SELECT count(*) FROM sqlite_master").fetchone()
    assert restore_main(["accept-tail", "--service", "registry", "--store", f"sqlite:///{views}", "--nats-url", nats_server.url]) == 2
    assert "holds no event store" in capsys.readouterr().err
    assert sqlite3.connect(views).execute("SELECT count(*) FROM sqlite_master").fetchone() == tables


def test_commands_a_restored_store_took_before_its_relay_looked_are_published_after_accept_tail(
    backups: Backups, nats_server: NatsServer
) -> None:
    restored = restored_behind_its_stream(backups, nats_server.url)
    # NATS out of reach at the start: commands are taken (their events wait), at positions the stream holds for others.
    with running_system(backups.var, NATS_OUT_OF_REACH, database_urls=backups.database_urls) as system:
        taken = [map_osv(system, f"Junta sin NATS {i}") for i in range(4)]
        assert [a.status_code for a in taken] == [201] * 4
        assert system.registry.get("/events").json()["head"] > restored.stream_position
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        ahead = relay_aligned(system.registry, restored.stream_position).get("stream_ahead")
        assert ahead is not None and ahead["diverged"]  # it reaches the stream's last position, with another event there
        assert map_osv(system, "Otra").status_code == 503
        assert restored.lost[-1] not in {e["subject"] for e in system.registry.get("/events", params={"limit": 1000}).json()["events"]}

    assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 0

    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        system.wait_relayed()
        published = {e["subject"]: e["position"] for e in asyncio.run(stream_events(nats_server.url))}
        for answer in taken:
            assert published[answer.json()["id"]] > restored.stream_position
        eventually(lambda: osvs_identified(system) == 10)
        # The store's own chain holds, moved events and all; the heads given out of the lost tail name the operator's
        # record, not a failure (tester 245 F7: "FAILED … which the store no longer holds", with no word of it).
        assert verify_store("registry", backups.store_url, []).outcome == "accepted_loss"
        answer = system.registry.get("/verify").json()
        assert (answer["outcome"], answer["first_failure"]) == ("accepted_loss", None), answer
        assert answer["accepted_losses"][0]["heads_in_it"], answer


def test_a_second_accept_tail_finds_the_first_ones_moved_events_in_the_stream_and_publishes_none_again(
    backups: Backups, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # A backup taken after a first accept-tail, then put back: the store agrees with the stream up to its last event,
    # save for the first lost tail, which the store knowingly lacks. The bisection took that gap for where they part:
    # the events the first accept-tail had moved and the relay had published were moved and published again
    # (tester 28b, M2).
    restored = restored_behind_its_stream(backups, nats_server.url)
    with running_system(backups.var, NATS_OUT_OF_REACH, database_urls=backups.database_urls) as system:
        moved = map_osv(system, "Junta sin NATS").json()["id"]  # taken before the relay looked: moved by accept-tail
    assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 0
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        after = [map_osv(system, f"Vecinas llegadas {i}").json()["id"] for i in range(2)]
        system.wait_relayed()
    backups.back_up("second")
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        lost_again = [map_osv(system, f"Comité perdido {i}").json()["id"] for i in range(2)]
        system.wait_relayed()
    backups.restore("second")
    capsys.readouterr()

    assert restore_main(["check", "--json", *backups.cli(nats_server.url)]) == 1
    checked = json.loads(capsys.readouterr().out)
    assert [e["subject"] for e in checked["lost"]] == lost_again  # the first tail was accepted already
    published = {e["subject"]: e["position"] for e in asyncio.run(stream_events(nats_server.url))}
    assert checked["shared_position"] >= published[after[-1]]
    assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 0

    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        new = map_osv(system, "Vecinos después de la segunda restauración").json()["id"]
        system.wait_relayed()
        subjects = [e["subject"] for e in asyncio.run(stream_events(nats_server.url))]
        assert len(subjects) == len(set(subjects)), subjects  # nothing published twice
        assert subjects[-1] == new
        feed = system.registry.get("/events", params={"limit": 1000}).json()["events"]
        told = [LOST, LOST]  # each accept-tail's notices (the programme's, Ate's), before the events it moved
        assert [e["type"] if e["type"] == LOST else e["subject"] for e in feed] == [*restored.kept, *told, moved, *after, *told, new]
        eventually(lambda: osvs_identified(system) == 3 + 3 + 1 + 2 + 2 + 1)
        verdict = verify_store("registry", backups.store_url, [])
        assert (verdict.outcome, len(verdict.accepted)) == ("accepted_loss", 2), verdict.describe()  # both records named


def test_a_newer_backup_put_back_takes_the_service_out_of_it(backups: Backups, nats_server: NatsServer) -> None:
    restored = restored_behind_its_stream(backups, nats_server.url)
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        assert relay_aligned(system.registry, restored.stream_position).get("stream_ahead")
        assert map_osv(system, "Vecinos").status_code == 503

    backups.restore("newer")  # one that holds the stream's last event

    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        assert relay_aligned(system.registry, restored.stream_position).get("stream_ahead") is None
        answer = map_osv(system, "Vecinos después de la restauración")
        assert answer.status_code == 201, answer.text
        system.wait_relayed()
        published = {e["subject"]: e["position"] for e in asyncio.run(stream_events(nats_server.url))}
        assert published[answer.json()["id"]] > restored.stream_position
        assert set(restored.lost) <= {e["subject"] for e in system.registry.get("/events", params={"limit": 1000}).json()["events"]}
        eventually(lambda: osvs_identified(system) == 7)
        assert system.registry.get("/health").json()["status"] == "ok"


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
