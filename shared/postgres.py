"""The library's PostgreSQL event store, told quickly when the database is out of reach.

Two things in ``eventsourcing.postgres`` make a request wait long for a
database that is down:

- ``POSTGRES_CONNECT_TIMEOUT`` is only how long a command waits for a pooled
  connection; the connections the pool opens have no libpq
  ``connect_timeout``, so one to a host that does not answer (a dropped
  network, not a refused port) waits for the operating system's TCP timeout;
- each read and write is retried 10 times, 0.2 s apart, on
  ``OperationalError``: ten waits of the connect timeout, 50 s, before a
  request learns that the database is away.

This factory gives the pool's connections the connect timeout, makes the pool
give up a failing connection sooner (so a database that is back is found
within seconds), and its datastore remembers for a few seconds that the
database could not be reached:
meanwhile every use fails at once, so the library's retries run out in about
2 s and the request answers 503. A pool that is only busy (every connection
in use) is told apart from a database that is down by one direct connection.

It also creates the library's tables one process at a time: PostgreSQL does
not make two concurrent ``CREATE TYPE`` or ``CREATE TABLE IF NOT EXISTS`` of
one name safe, and two replicas of a service started together on a new
database would otherwise fail on the catalogue's unique index.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg_pool
from eventsourcing import postgres
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InterfaceError,
    OperationalError,
    ProcessRecorder,
)
from eventsourcing.utils import Environment, EnvType
from psycopg import sql

from shared.chain import CHAIN_SUFFIX, GENESIS, link, record_digest
from shared.views import SCHEMA_LOCK

log = logging.getLogger(__name__)

AWAY_SECONDS = 3.0
"""How long uses of the store fail at once after the database was found out of reach (the library's retries span about 2 s)."""


RECONNECT_SECONDS = 5.0
"""How long the pool retries a connection that fails (1 s, then 2 s, then 4 s apart) before it gives up on it.

The library's default, 5 minutes, lets the retries back off to a minute and
more, and the pool tries nothing else meanwhile: a database back after a long
outage went unused for 40 s. Given up sooner, the next request starts a fresh
attempt at once."""


class PostgresDatastore(postgres.PostgresDatastore):
    """The library's datastore, failing fast for :data:`AWAY_SECONDS` after the database was found out of reach."""

    _away_until = 0.0
    _away_reason = ""

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        if time.monotonic() < self._away_until:
            raise OperationalError(f"the database cannot be reached ({self._away_reason})")
        try:
            with super().get_connection() as connection:
                yield connection
        except (OperationalError, InterfaceError) as error:
            if self._unreachable(error.__cause__):
                if time.monotonic() >= self._away_until:
                    log.warning("event store: the database cannot be reached: %s", error)
                self._away_until = time.monotonic() + AWAY_SECONDS
                self._away_reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise

    def _unreachable(self, cause: BaseException | None) -> bool:
        """Whether the driver's error means the database is away (not a lock timeout, not a busy pool)."""
        if isinstance(cause, psycopg_pool.PoolTimeout):
            kwargs = dict(self.pool.kwargs) if isinstance(self.pool.kwargs, dict) else {}
            try:
                with psycopg.connect(**{**kwargs, "connect_timeout": 2}):
                    return False  # reachable: the pool was only busy
            except psycopg.Error:
                return True
        if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
            state = getattr(cause, "sqlstate", None)
            return state is None or state.startswith(("08", "57P"))  # no answer, connection exception, server shutting down
        return False


class ChainedPostgresApplicationRecorder(postgres.PostgresApplicationRecorder):
    """The library's recorder, writing each inserted event's chain hash (:mod:`shared.chain`) in the insert's transaction.

    The library locks the events table in EXCLUSIVE mode before it inserts, so
    the last hash read here is the last committed one: the chain follows the
    notification ids.
    """

    def __init__(self, datastore: postgres.PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.chain_table = sql.SQL("{}.{}").format(sql.Identifier(self.datastore.schema), sql.Identifier(self.events_table_name + CHAIN_SUFFIX))
        self.sql_create_statements.append(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (position bigint PRIMARY KEY, hash text NOT NULL)").format(self.chain_table)
        )

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Any, **kwargs: Any) -> Any:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids:
            curs.execute(sql.SQL("SELECT position, hash FROM {} ORDER BY position DESC LIMIT 1").format(self.chain_table))
            row = curs.fetchone()
            position, previous = (int(row["position"]), str(row["hash"])) if row else (0, GENESIS)
            events = sql.SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{} WHERE notification_id > %s ORDER BY notification_id"
            ).format(sql.Identifier(self.datastore.schema), sql.Identifier(self.events_table_name))
            curs.execute(events, (position,))
            rows = []
            for event in curs.fetchall():
                digest = record_digest(event["originator_id"], event["originator_version"], event["topic"], bytes(event["state"]))
                previous = link(previous, int(event["notification_id"]), digest)
                rows.append((int(event["notification_id"]), previous))
            curs.executemany(sql.SQL("INSERT INTO {} (position, hash) VALUES (%s, %s)").format(self.chain_table), rows)
        return ids

    def select_chain(self, after: int, limit: int, stop: int | None = None) -> list[tuple[int, str]]:
        """Chain rows after ``after`` (up to ``stop``), in order, at most ``limit``."""
        query = sql.SQL("SELECT position, hash FROM {} WHERE position > %s AND position <= %s ORDER BY position LIMIT %s").format(self.chain_table)
        with self.datastore.get_connection() as connection, connection.cursor() as curs:
            curs.execute(query, (after, stop if stop is not None else 2**62, limit))
            return [(int(r["position"]), str(r["hash"])) for r in curs.fetchall()]

    def chain_head(self) -> tuple[int, str] | None:
        with self.datastore.get_connection() as connection, connection.cursor() as curs:
            curs.execute(sql.SQL("SELECT position, hash FROM {} ORDER BY position DESC LIMIT 1").format(self.chain_table))
            row = curs.fetchone()
            return (int(row["position"]), str(row["hash"])) if row else None


class PostgresFactory(postgres.PostgresFactory):
    """``PERSISTENCE_MODULE=shared.postgres:PostgresFactory``: the library's factory, bounded and fast to fail, with the hash chain."""

    application_recorder_class = ChainedPostgresApplicationRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        self.datastore.__class__ = PostgresDatastore  # built by the library's __init__; adds behaviour only, no state
        seconds = self.env.get(self.POSTGRES_CONNECT_TIMEOUT) or "5"
        self.datastore.pool.kwargs["connect_timeout"] = max(int(seconds), 2)  # libpq's least useful value is 2
        self.datastore.pool.reconnect_timeout = RECONNECT_SECONDS

    # The library's recorders create their tables when built: one process at a time (see the module's docstring).

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        with self._creating_tables():
            return super().aggregate_recorder(purpose)

    def application_recorder(self) -> ApplicationRecorder:
        with self._creating_tables():
            return super().application_recorder()

    def tracking_recorder(self, tracking_recorder_class: Any = None) -> Any:
        with self._creating_tables():
            return super().tracking_recorder(tracking_recorder_class)

    def process_recorder(self) -> ProcessRecorder:
        with self._creating_tables():
            return super().process_recorder()

    @contextmanager
    def _creating_tables(self) -> Iterator[None]:
        """Hold :data:`shared.views.SCHEMA_LOCK`, a session advisory lock, on a pooled connection meanwhile."""
        if not self.env_create_table():
            yield
            return
        with self.datastore.get_connection() as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                yield
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
