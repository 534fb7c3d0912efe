"""The event store every write service is built on: an ``eventsourcing`` Application.

The store is an SQLite file by default and PostgreSQL when a URL says so. The
application's notification log is the service's outbox and its audit feed.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, ParamSpec, TypeVar
from urllib.parse import unquote, urlsplit
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import (
    EventStore,
    IntegrityError,
    JSONTranscoder,
    Mapper,
    Notification,
    Recording,
    Transcoding,
)
from eventsourcing.utils import Environment, get_topic
from sqlalchemy import Engine

from shared import dryrun
from shared.actors import Actor, ActorBook
from shared.clock import Clock, today_in_lima
from shared.dates import EARLIEST_DATE, DateRule, check_command_dates, positional_names
from shared.files import private_file
from shared.idempotency import AnswerBook, IdempotentRequestInProgressError, current_call
from shared.idempotency.records import KeyedRequestRecords
from shared.inplace import InBackground, StoreBusyError, committed_so_may_wait, saving_without_waiting
from shared.kept import KeptRepository, KeptSnapshot, check_nothing_sealed_kept
from shared.relaypositions import RelayPositions
from shared.restore import decoded_as_written
from shared.sealing import KeyRing, Seal, SealingMapper, writing_with_events
from shared.siderows import SideRowsInSQLiteTransaction, SideRowsInTransaction, SideWritingEventStore
from shared.streamahead import StoreBehindStreamError, StreamAhead, stream_ahead_taken

log = logging.getLogger(__name__)

KEPT_AGGREGATES_MAXSIZE = 1000
"""How many long-lived aggregates a process keeps in memory (``AGGREGATE_CACHE_MAXSIZE`` overrides; 0: none)."""


class TextNotSealedError(RuntimeError):
    """A redaction asked of an application built without a key ring: its free text was never sealed."""


class DateAsISO(Transcoding):
    """Dates in the world (``occurred_on``…) are stored as ISO strings."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def persistence_env(url: str, *, lock_timeout_seconds: int = 5, connect_timeout_seconds: int = 5) -> dict[str, str]:
    """Translate a database URL into the library's persistence settings.

    On PostgreSQL a command waits at most ``connect_timeout_seconds`` for a
    connection (then the library raises its ``OperationalError``), and a
    pooled connection is checked before use, so one that a database restart
    broke is replaced instead of failing a request.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if not path or path == ":memory:":
            return {"PERSISTENCE_MODULE": "shared.chain:ChainedSQLiteFactory", "SQLITE_DBNAME": ":memory:"}
        private_file(Path(path))  # folders 0700, the file (and so its WAL) 0600
        return {
            "PERSISTENCE_MODULE": "shared.chain:ChainedSQLiteFactory",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": str(lock_timeout_seconds),
        }
    if scheme in ("postgresql", "postgres"):
        return {
            "PERSISTENCE_MODULE": "shared.postgres:PostgresFactory",
            "POSTGRES_DBNAME": parts.path.lstrip("/"),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_LOCK_TIMEOUT": str(lock_timeout_seconds),
            "POSTGRES_POOL_SIZE": "4",
            "POSTGRES_CONNECT_TIMEOUT": str(connect_timeout_seconds),
            "POSTGRES_PRE_PING": "y",
        }
    msg = f"unsupported database URL scheme {parts.scheme!r}: use sqlite:/// or postgresql://"
    raise ValueError(msg)


COMMAND_ATTEMPTS = 30
"""How many times a colliding command runs before its conflict goes out as a 409."""
BACKOFF_FIRST_SECONDS = 0.002
BACKOFF_LONGEST_SECONDS = 0.2

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A")

_retrying: ContextVar[bool] = ContextVar("retrying_on_collision", default=False)


def collision_backoff(attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1``: "full jitter" exponential backoff.

    Uniform between 0 and ``BACKOFF_FIRST_SECONDS * 2**attempt`` (at most
    ``BACKOFF_LONGEST_SECONDS``), so commands that collided once do not all
    come back at the same instant and collide again.
    """
    return random.uniform(0, min(BACKOFF_LONGEST_SECONDS, BACKOFF_FIRST_SECONDS * 2**attempt))


EARLIEST_DATE_SETTING = "EARLIEST_DATE"
"""The application's env setting (from ``<SERVICE>_EARLIEST_DATE``) of the earliest plausible date, ISO."""


def retried_on_collision(command: Callable[P, R]) -> Callable[P, R]:
    """Run the command again when a concurrent one saved the same aggregate first.

    Commands that save a shared record beside their own (an OSV's roster, a
    round's budget, an index) collide on its version when two run at once. The
    loser's whole save is refused, nothing of it written; run again, it loads
    what the winner saved and its checks see it (the budget with less left in
    it, the OSV's earlier proposal). Between attempts it waits a jittered,
    growing moment (:func:`collision_backoff`). After ``COMMAND_ATTEMPTS`` the
    conflict goes out as a 409.

    Only the outermost retried command retries: one called from inside another
    lets the collision reach the caller, which reloads everything it read.

    Before it first runs, every date among its arguments meets the one date
    rule (:func:`~shared.dates.checked_dates`): every command is retried, so none escapes it.
    """
    signature = inspect.signature(command)
    positional = positional_names(signature)

    @functools.wraps(command)
    def retrying(*args: P.args, **kwargs: P.kwargs) -> R:
        if _retrying.get():
            return command(*args, **kwargs)
        check_command_dates(command, signature, args, kwargs, positional)
        token = _retrying.set(True)
        try:
            for attempt in range(1, COMMAND_ATTEMPTS + 1):
                try:
                    with writing_with_events():  # a new key or entry is written with the attempt's events, or not at all
                        return command(*args, **kwargs)
                except IntegrityError:
                    if saving_without_waiting():  # the loop waits out no collision: run again in a thread
                        raise StoreBusyError("a concurrent command saved first") from None
                    if attempt == COMMAND_ATTEMPTS:
                        raise
                time.sleep(collision_backoff(attempt))
        finally:
            _retrying.reset(token)
        raise AssertionError("unreachable")  # pragma: no cover

    return retrying


class CollectedEvents(ProcessingEvent):
    """The library's ``ProcessingEvent``, taking an aggregate's pending events without its runtime Protocol checks.

    The library asks ``isinstance(obj, DomainEventProtocol)`` and then
    ``isinstance(obj, CollectEventsProtocol)`` of each object saved: ``typing``
    Protocol checks, about 1-3% of a command's service CPU (py-spy). The
    services' aggregates are all the library's ``BaseAggregate``, known by a
    plain ``isinstance``; anything else is collected as the library does.
    """

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            else:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)

    def recorded_at_one_instant(self) -> None:
        """Stamp every event of the save with one instant, the latest of theirs, as their aggregates' times too.

        The library stamps each event as the command makes it, microseconds apart; a cut by the recorded instant
        (reporting's ``as_of``) falling between two events of one save showed the command half done, a state that never
        was (one membership's correction without the other's, a merge without its ``DuplicateMergedIn``). The events
        are still fresh (frozen dataclasses, stored by no one yet) and are stored, chained and published with it; within
        one instant the log's position orders them. Each aggregate saved takes it as its ``modified_on``, and as its
        ``created_on`` when created in this save, as a reload from the store gives them (the process keeps the saved
        object, :meth:`~shared.kept.KeptRepository.keep_saved`). Events stored before keep the instants they have.
        """
        if len(self.events) < 2:
            return
        instant = max(domain_event.timestamp for domain_event in self.events)
        first_versions: dict[Any, int] = {}
        for domain_event in self.events:
            if domain_event.timestamp != instant:
                object.__setattr__(domain_event, "timestamp", instant)
            first_versions.setdefault(domain_event.originator_id, domain_event.originator_version)
        for aggregate_id, first_version in first_versions.items():
            aggregate = self.aggregates.get(aggregate_id)
            if isinstance(aggregate, BaseAggregate):
                aggregate.modified_on = instant
                if first_version == type(aggregate).INITIAL_VERSION:
                    aggregate._created_on = instant  # the library's own attribute: created_on has no setter


class MunicipalityUnknownError(LookupError):
    """A public event names an OSV whose municipality this service does not know (yet): its subject cannot be chosen."""

    def __init__(self, osv_id: UUID) -> None:
        super().__init__(
            f"the municipality of OSV {osv_id} is not known here: registry's OSVMapped has not arrived yet, or it names a "
            "district this service's table lacks (give every service the districts_file registry has)"
        )


class ServiceApplication(RelayPositions, KeyedRequestRecords, Application):
    """Base of the four write applications: dates transcoded, the log readable, a relay position kept (:class:`RelayPositions`)."""

    today: Clock = staticmethod(today_in_lima)
    """The day it is in Lima; a service's bootstrap passes its clock (tests, a fake one)."""

    SEALED_FIELDS: ClassVar[Mapping[type, Seal | Mapping[str, Any]]] = {}
    """The fields of the service's events sealed with keys of their own (personal data, staff's free text): see :mod:`shared.sealing`."""

    TAKEN_WHILE_BEHIND: ClassVar[frozenset[str]] = frozenset()
    """Topics of the events saved while the store is behind its stream (:func:`~shared.streamahead.despite_stream_ahead`)."""

    KEPT_AGGREGATES: ClassVar[tuple[type, ...]] = ()
    """Long-lived aggregates kept in memory between commands and fast-forwarded on each read (:mod:`shared.kept`).

    Never one whose events hold :attr:`SEALED_FIELDS`, unless it records each redaction as an event it applies
    (``REDACTIONS_RECORDED``, :mod:`shared.kept`): the class is refused at its definition.
    """

    snapshot_class = KeptSnapshot
    """Snapshots of the aggregates ``snapshotting_intervals`` names (class → every how many events), plain values only (:mod:`shared.kept`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_nothing_sealed_kept(cls, cls.KEPT_AGGREGATES, cls.SEALED_FIELDS, in_memory=True)
        check_nothing_sealed_kept(cls, cls.snapshotting_intervals, cls.SEALED_FIELDS)

    def __init__(self, env: Mapping[str, str] | None = None, *, answers: AnswerBook | None = None, keys: KeyRing | None = None) -> None:
        self.keys = keys
        """The data keys that seal :attr:`SEALED_FIELDS` (set before the library builds the mapper, which seals with them)."""
        self.actors = ActorBook(keys.engine) if keys is not None else None
        """Who made each saved event (:mod:`shared.actors`), in the key table's database: the store's own, as the bootstraps wire it."""
        self._store_engines: dict[Engine, bool] = {}
        """Whether each engine a side row was written on opens the store's own database (:meth:`_in_store_database`)."""
        self._snapshot_writer = InBackground(self._put_snapshots, "snapshots")
        """Writes the snapshots due after a save made on the event loop (:meth:`_take_snapshots`)."""
        super().__init__(env)
        self._tracking = None
        self.recorded_listeners: list[Callable[[], None]] = []
        """Called, in the saving thread, after each save: the relay's wake-up."""
        self.answers = answers
        """Where the answers of requests with an ``Idempotency-Key`` are kept (see :mod:`shared.idempotency`)."""
        self._municipalities: dict[UUID, str] = {}
        self.stream_ahead: StreamAhead | None = None
        """Set while this process knows the store is behind its stream: every save that would store events is refused.

        Set by the relay that finds it (:meth:`mark_stream_ahead`), and in every other process from the mark it leaves
        in the store (:meth:`check_stream_marks`, read at start, by a standby relay every second and by ``/health``)."""
        self._stream_ahead_found = False
        """Whether :attr:`stream_ahead` is what this process's relay found itself (and judges again), not what the marks say."""
        earliest = self.env.get(EARLIEST_DATE_SETTING)
        self.earliest_date = date.fromisoformat(earliest) if earliest else EARLIEST_DATE
        """The earliest plausible date of any fact (``<SERVICE>_EARLIEST_DATE``)."""

    def date_rule(self) -> DateRule:
        """The rule every date of a command meets today: from the earliest plausible date to today in Lima and a day."""
        return DateRule(today=self.today(), earliest=self.earliest_date)

    # Which municipality an event belongs to ----------------------------------

    def municipality_of(self, data: Mapping[str, Any]) -> str | None:
        """The municipality a public event belongs to, given its ``data``: ``mml``, a district's ubigeo, or None.

        An event about an OSV belongs to the municipality of the OSV's district
        (which never changes); one about a municipality's own record (focal
        points, agreements, accepted documents) to that municipality; the
        rest (phases, rounds) to none. Raises
        :class:`MunicipalityUnknownError` for an OSV this service does not know.
        """
        osv_id = data.get("osv_id")
        if osv_id is not None:
            key = UUID(str(osv_id))
            found = self._municipalities.get(key)
            if found is None:
                found = self.municipality_of_osv(key)
                if found is None:
                    raise MunicipalityUnknownError(key)
                self._municipalities[key] = found
            return found
        municipality = data.get("municipality_id")
        return str(municipality) if municipality else None

    def municipality_of_known(self, data: Mapping[str, Any]) -> str | None:
        """:meth:`municipality_of`, or None for an OSV not known yet (what ``GET /events`` says meanwhile)."""
        try:
            return self.municipality_of(data)
        except MunicipalityUnknownError:
            return None

    def municipality_of_osv(self, osv_id: UUID) -> str | None:
        """The ubigeo of the OSV's district, or None when it is not known here; each service says how it knows."""
        return None

    def districts_lacking(self) -> list[str]:
        """The districts this service's records are in that its districts table lacks (``/health``'s ``missing_districts``),
        as far as it knows; each service says how it knows (none here)."""
        return []

    def held_back(self) -> list[str]:
        """What this process refuses just now and why (``/health``'s ``held``); each service says (nothing here)."""
        return []

    # Loading ----------------------------------------------------------------

    def load(self, aggregate_id: UUID, kind: type[A], not_found: Callable[[UUID], Exception]) -> A:
        """The aggregate of class ``kind`` with this id; else the service's own ``not_found(aggregate_id)`` error.

        The library's :class:`AggregateNotFoundError` never leaves a service:
        an unknown id, or the id of another kind of aggregate (an index, a
        history), is the service's named not-found error (404, or 422 when the
        id is an input naming something that must exist).
        """
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise not_found(aggregate_id) from None
        if not isinstance(aggregate, kind):
            raise not_found(aggregate_id)
        return aggregate

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate of class ``kind`` with this id, or None: a record opened by its first entry (an index, a history)."""
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    # Idempotent requests --------------------------------------------------

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording]:
        """Save; during a dry run (:mod:`shared.dryrun`) nothing is stored; while a request with an ``Idempotency-Key`` is served, its record goes in the same transaction.

        The first save of the request's command that stores anything adds an
        :class:`~shared.idempotency.IdempotentRequest` naming what it saved.
        If the store refuses the save and that record now exists, another
        request with the same key committed first: that is
        :class:`~shared.idempotency.IdempotentRequestInProgressError` (409),
        not a collision to retry.
        """
        overlay = dryrun.current()
        if overlay is not None:
            return self._save_in_dry_run(overlay, objs, kwargs)
        call = current_call()
        changed = [obj for obj in objs if getattr(obj, "pending_events", None)]
        if call is None or call.recorded is not None or not changed:
            return self._store(objs, kwargs)
        record = call.record_of(changed)
        try:
            recordings = self._store((*objs, record), kwargs)
        except IntegrityError:
            if self.find_idempotent_request(record.id) is not None:
                raise IdempotentRequestInProgressError from None
            raise
        call.recorded = record
        return recordings

    def save_apart(self, *objs: Any) -> list[Recording]:
        """Save ``objs`` for real, in a transaction of their own, apart from the command being served: in a dry run too
        (:func:`shared.dryrun.suspended`), never as a keyed request's doing (no :class:`~shared.idempotency.IdempotentRequest`:
        a refused command stays refused, and its retry runs it again), and with none of the command's own keys or rows.

        Only for a record of what the command disclosed whether or not it is carried out (engagement's access log), never
        for its own facts; load it inside :func:`shared.dryrun.suspended` too. 503 ``store_behind_stream`` as any save."""
        with dryrun.suspended(), writing_with_events():
            return self._store(objs, {})

    def _store(self, objs: Sequence[Any], kwargs: dict[str, Any]) -> list[Recording]:
        """The library's ``Application.save``, collecting the events with :class:`CollectedEvents`.

        Raises :class:`StoreBehindStreamError`, storing nothing, while the store is behind its stream (:attr:`stream_ahead`).
        """
        ahead = self.stream_ahead
        if ahead is not None and not stream_ahead_taken() and any(getattr(obj, "pending_events", None) for obj in objs):
            raise StoreBehindStreamError(ahead)
        processing_event = CollectedEvents()
        processing_event.collect_events(*objs, **kwargs)
        processing_event.recorded_at_one_instant()
        recordings = self._record(processing_event)
        self.repository.keep_saved(processing_event.aggregates.values(), recordings)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library's deprecated hook, called as its save calls it
        if recordings:
            committed_so_may_wait()  # never run again after this: a StoreBusyError from here on would store the fact twice
        return recordings

    def _save_in_dry_run(self, overlay: dryrun.Overlay, objs: Sequence[Any], kwargs: dict[str, Any]) -> list[Recording]:
        """A dry run's save: the events are taken as a save takes them, the aggregates kept in the overlay, nothing stored.

        Each event is transcoded as the store would transcode it, so a value
        the store could not take fails the dry run as it would fail the save.
        """
        processing = CollectedEvents()
        processing.collect_events(*objs, **kwargs)
        processing.recorded_at_one_instant()
        for domain_event in processing.events:
            self.mapper.transcoder.encode(dict(vars(domain_event)))
        overlay.took(processing.events)
        overlay.events.extend(processing.events)
        overlay.aggregates.update(processing.aggregates)
        return []

    def construct_repository(self) -> Repository:
        """The library's repository, reading a dry run's saves back within that dry run (:mod:`shared.dryrun`)."""
        maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return KeptRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            kept=self.KEPT_AGGREGATES,
            cache_maxsize=int(maxsize) if maxsize else KEPT_AGGREGATES_MAXSIZE,
            shortest_interval=min(self.snapshotting_intervals.values(), default=None),
        )

    def _take_snapshots(self, processing_event: ProcessingEvent) -> None:
        """The library's snapshots after a save; one that fails is logged and dropped, never raised. Taken here, written
        from a thread when the save was made on the event loop (:mod:`shared.inplace`): their write may wait for the lock.

        The save has committed: raising now would answer an error for a
        command that took effect, and ``retried_on_collision`` would run it
        again on a snapshot's IntegrityError (another replica stored that
        version first), doubling its fact.
        """
        if self.snapshots is None or not self.snapshotting_intervals:
            return
        due: list[KeptSnapshot | tuple[UUID, int]] = []  # the state just saved, or a version to read again
        try:
            for domain_event in processing_event.events:
                aggregate = processing_event.aggregates.get(domain_event.originator_id)
                interval = self.snapshotting_intervals.get(type(aggregate))
                if interval is None or domain_event.originator_version % interval:
                    continue
                if aggregate.version == domain_event.originator_version:  # the state just saved: no need to read it again
                    due.append(KeptSnapshot.take(aggregate))
                else:
                    due.append((domain_event.originator_id, domain_event.originator_version))
        except Exception:  # noqa: BLE001 - a snapshot is a shortcut, never part of the command
            log.warning("%s: a snapshot after a committed save was not taken", self.name, exc_info=True)
        if due:
            (self._snapshot_writer.submit if saving_without_waiting() else self._put_snapshots)(due)

    def _put_snapshots(self, due: list[KeptSnapshot | tuple[UUID, int]]) -> None:
        assert self.snapshots is not None
        try:
            for snapshot in due:
                if isinstance(snapshot, tuple):
                    self.take_snapshot(*snapshot)
                else:
                    self.snapshots.put([snapshot])
        except Exception:  # noqa: BLE001 - a snapshot is a shortcut, never part of the command
            log.warning("%s: a snapshot after a committed save was not stored", self.name, exc_info=True)

    def take_snapshot(self, aggregate_id: UUID, version: int | None = None, projector_func: Any = project_aggregate) -> None:
        """Store the aggregate's state at ``version`` (its latest by default); refused for an aggregate with sealed fields."""
        if self.snapshots is None:
            raise AssertionError("this application takes no snapshots: give it snapshotting_intervals")
        aggregate = self.repository.get(aggregate_id, version=version, projector_func=projector_func)
        check_nothing_sealed_kept(type(self), [type(aggregate)], self.SEALED_FIELDS)
        self.snapshots.put([KeptSnapshot.take(aggregate)])

    def close(self) -> None:
        """Keep the answers still in line (:meth:`~shared.idempotency.AnswerBook.close`: two seconds at most) and the
        snapshots being written, then close the store."""
        if self.answers is not None:
            self.answers.close()
        self._snapshot_writer.close()
        super().close()

    def _notify(self, recordings: list[Recording]) -> None:
        for listener in self.recorded_listeners:
            listener()

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        """Configuration comes only from the service's settings, never from ``os.environ``.

        (The library would otherwise let any ``<NAME>_CIPHER_KEY``-style variable
        override what the settings class decided.)
        """
        snapshotting = {"IS_SNAPSHOTTING_ENABLED": "y"} if type(self).snapshotting_intervals else {}
        return Environment(name, {**snapshotting, **type(self).env, **(env or {})})

    def construct_recorder(self) -> Any:
        """The factory's recorder, one that writes a command's new keys and entries in its events' transaction (PostgreSQL, an SQLite file)."""
        recorder = super().construct_recorder()
        module = self.env.get("PERSISTENCE_MODULE", "")
        if module.startswith("shared.postgres"):
            mixin: type = SideRowsInTransaction
        elif module.startswith("shared.chain") and self.env.get("SQLITE_DBNAME", ":memory:") != ":memory:":
            mixin = SideRowsInSQLiteTransaction
        else:
            return recorder
        recorder.__class__ = type(f"SideRows{type(recorder).__name__}", (mixin, type(recorder)), {})
        return recorder

    def construct_event_store(self) -> EventStore:
        """The library's event store, writing a command's new keys and entries, and who made it, with its events (:class:`SideWritingEventStore`)."""
        return SideWritingEventStore(
            self.mapper, self.recorder, in_transaction=self._in_store_database, actors=self.actors, system=Actor.system(self.name)
        )

    def actors_of(self, originator_id: UUID, versions: Any = None) -> dict[int, Actor]:
        """Who made each of the aggregate's stored events, by version (none for an event stored before actors were
        recorded, nor in an application without a key ring): an audit record, never published (:mod:`shared.actors`)."""
        return self.actors.actors_of(originator_id, versions) if self.actors is not None else {}

    def _in_store_database(self, engine: Engine) -> bool:
        """Whether ``engine`` opens the database the events are stored in: the PostgreSQL database, or the SQLite store's file
        (as the bootstraps wire the key ring, :meth:`~shared.settings.ServiceSettings.key_url`). Asked once per engine."""
        known = self._store_engines.get(engine)
        if known is None:
            known = self._store_engines[engine] = self._opens_store_database(engine)
        return known

    def _opens_store_database(self, engine: Engine) -> bool:
        if not isinstance(self.recorder, SideRowsInTransaction):
            return False
        url = engine.url
        if isinstance(self.recorder, SideRowsInSQLiteTransaction):
            return engine.dialect.name == "sqlite" and bool(url.database) and url.database != ":memory:" and (
                os.path.realpath(url.database) == os.path.realpath(self.env.get("SQLITE_DBNAME", ""))
            )
        return engine.dialect.name == "postgresql" and (
            url.database == self.env.get("POSTGRES_DBNAME")
            and (url.host or "127.0.0.1") == self.env.get("POSTGRES_HOST")
            and str(url.port or 5432) == self.env.get("POSTGRES_PORT")
        )

    def construct_mapper(self) -> Mapper[UUID]:
        """The library's mapper; with a key ring, one that seals :attr:`SEALED_FIELDS` on the way to the store."""
        if self.keys is None or not self.SEALED_FIELDS:
            return super().construct_mapper()
        return SealingMapper(
            transcoder=self.construct_transcoder(),
            compressor=self.factory.compressor(),
            cipher=self.factory.cipher(),
            keys=self.keys,
            sealed_fields=self.SEALED_FIELDS,
        )

    def forget_text(self, aggregate_id: UUID, up_to_version: int, *text_keys: UUID, from_version: int = 1) -> None:
        """Redact free text for good: delete the keys that sealed it, and every kept answer about the record that held
        it, from ``from_version`` (the version that recorded the text, when known: an answer about an earlier one
        cannot hold it, and its retry keeps its answer) to ``up_to_version``."""
        if self.keys is None:
            raise TextNotSealedError
        if self.answers is not None:
            self.answers.forget(aggregate_id, up_to_version=up_to_version, from_version=from_version)
        self.keys.forget(*text_keys)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    # The log, read back -------------------------------------------------

    def log_after(self, position: int, limit: int) -> Sequence[Notification]:
        """Stored events after ``position``, in order (ids may have gaps)."""
        return self.recorder.select_notifications(
            start=position, limit=limit, inclusive_of_start=False
        )

    def previous_public(self, position: int, private_topics: frozenset[str] | set[str]) -> int:
        """The position of the last public event stored before ``position`` (0 if none).

        Published events carry it as ``previousposition``: a consumer that
        applied an event knows that every position between it and this one
        holds nothing to apply (a private event, or a gap a rolled-back
        transaction left in the ids).
        """
        stop = position - 1
        window = 256
        while stop > 0:
            start = max(1, stop - window + 1)
            found = self.recorder.select_notifications(start=start, stop=stop, limit=window)
            public = [n.id for n in found if n.topic not in private_topics]
            if public:
                return max(public)
            stop, window = start - 1, min(window * 4, 100_000)
        return 0

    def log_head(self) -> int:
        return self.recorder.max_notification_id() or 0

    # The hash chain (see :mod:`shared.chain`) ------------------------------

    def chain_head(self) -> tuple[int, str] | None:
        """The last chained position and its hash, or None for an empty log."""
        return self.recorder.chain_head()

    def chain_hashes(self, first: int, last: int) -> dict[int, str]:
        """The chain's hash at each stored position from ``first`` to ``last``."""
        return dict(self.recorder.select_chain(first - 1, last - first + 1, stop=last))

    def ids_created_by(self, created: type) -> list[UUID]:
        """Ids of every aggregate whose first event is of class ``created``, oldest first."""
        topic = get_topic(created)
        ids: list[UUID] = []
        position = 0
        while batch := self.recorder.select_notifications(start=position, limit=1000, topics=[topic], inclusive_of_start=False):
            ids.extend(UUID(str(n.originator_id)) for n in batch)
            position = batch[-1].id
        return ids

    def decode(self, notification: Notification) -> Any:
        """The notification's domain event; ``osv-restore``'s notices as written, without the key (:func:`decoded_as_written`)."""
        return decoded_as_written(self.mapper, notification)
