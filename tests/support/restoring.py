"""Stores put back from older backups while their streams kept the later events, for the fault cases that restore
them (``tests/integration/test_restored_store*``, ``test_restore_cli``, ``test_accepted_loss_*``, ``test_*_restore``):
:class:`Backups` and its fixture ``backups`` (imported by the modules that take it), registry alone on the store under
test, a store restored behind its stream, and the chain heads its relay gave out."""

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

from devtools.embedded import PostgresServer
from services.registry.api import create_app as registry_app
from services.registry.settings import RegistrySettings
from tests.support.identity import session_auth, signed_in_headers
from tests.support.served import served_system
from tests.support.system import eventually, last_public_position, running_system

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


# Named apart from the fixture it registers (``name=``), so a test taking ``backups`` does not shadow the import.
@pytest.fixture(name="backups", params=["sqlite", "postgres"])
def backups_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backups]:
    """A store to back up and put back, on SQLite, then on PostgreSQL."""
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


def osvs_identified(system: Any) -> int:
    return int(system.indicators()["total"]["osvs_identified"])


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
