"""Long-lived aggregates kept between commands: in memory (fast-forwarded) and as snapshots in the store.

An OSV's support history, its roster, a round, the phase calendar, a
district's roll of names: each gains an event with every grant, member,
proposal or OSV, and a command that loads one by replaying its events from
the first slows down as it grows (1,000 grants to one OSV: 1,000 events
replayed by the 1,001st). Two library mechanisms keep them, each for the
classes an application names:

- **the aggregate cache, fast-forwarded** (:class:`KeptRepository`): the
  aggregate stays in the process's memory; each read selects only the events
  stored after the version it holds (another replica's included) and applies
  them, then hands out a copy, so a command that fails never changes what is
  kept. The select starts at the kept version's own event, which must be the
  one the copy was brought to (compared as stored, its bytes; decoded once, by
  its timestamp, when the process has not seen it yet): a store put back from a backup
  under the running service no longer holds it, and the copy is dropped and
  read again from the store (saved from, it would leave a gap in the
  aggregate's versions that every other reader fails on). Cost per read: one
  indexed select, whatever the aggregate's length.
- **snapshots** (:class:`KeptSnapshot`, the library's
  ``snapshotting_intervals``): every ``n`` events the aggregate's state is
  stored beside its events; a process that does not hold it yet (just
  started, another replica, evicted from the cache) reads the last snapshot
  and the events after it. A snapshot is taken after its save committed;
  one that cannot be stored (another replica stored that version first, the
  database refused it) is logged and dropped, never raised: the command
  succeeded, and a raise would make ``retried_on_collision`` run it again and
  double its fact. A snapshot whose class's code has changed since, or that
  no longer reads, is stepped over: the aggregate is replayed from its events.

**Never what can be forgotten.** Neither keeps an aggregate whose events hold
sealed fields (a person's name, staff's free text: see :mod:`shared.sealing`).
A snapshot or a cached copy would hold them unsealed, out of reach of the key
whose deletion forgets them (an erasure, a redaction). The application class
is refused at its definition when it names one (:func:`check_nothing_sealed_kept`),
and at run time neither the cache nor the snapshot store takes one. One
exception, for the cache only: an aggregate whose class says
``REDACTIONS_RECORDED`` records every deletion of its keys as an event it
applies before the key goes (a follow-up's redacted notes), so a kept copy,
fast-forwarded on every read, forgets the text too. It is never snapshotted.

Both work alike on SQLite and PostgreSQL: the snapshot table is the library's
(``snapshots``, ``<service>_snapshots``); dry runs (:mod:`shared.dryrun`)
store no snapshot and never change what is kept.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import logging
import sys
import types
import typing
from collections.abc import Iterable
from copy import deepcopy
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from itertools import chain
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, LRUCache, project_aggregate
from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic, resolve_topic

from shared import dryrun
from shared.inplace import waited_for

log = logging.getLogger(__name__)

RESOLVABLE_PREFIXES = ("services.", "shared.")
"""A snapshot names the classes of its records; only the project's own are ever resolved from one."""


class SealedAggregateKeptError(TypeError):
    """An application names, among the aggregates it keeps (cache or snapshots), one whose events hold sealed fields."""


def sealed_aggregate_classes(kinds: Iterable[type], sealed_events: Iterable[type]) -> list[type]:
    """Those of ``kinds`` (aggregate classes) that record one of ``sealed_events`` (their own nested event classes, or a subclass's)."""
    sealed = list(sealed_events)
    found = []
    for kind in kinds:
        names = {f"{klass.__module__}:{klass.__qualname__}." for klass in kind.__mro__}
        if any(any(f"{event.__module__}:{event.__qualname__}".startswith(name) for name in names) for event in sealed):
            found.append(kind)
        elif any(isinstance(value, type) and value in sealed for value in vars(kind).values()):
            found.append(kind)
    return found


def check_nothing_sealed_kept(
    application: type, kinds: Iterable[type], sealed_events: Iterable[type], *, in_memory: bool = False
) -> None:
    """Raise :class:`SealedAggregateKeptError` when ``kinds`` (snapshotted, or with ``in_memory`` kept in memory) include an
    aggregate with sealed fields; kept in memory, one that records its redactions as events (``REDACTIONS_RECORDED``) may."""
    refused = [
        kind for kind in sealed_aggregate_classes(kinds, sealed_events) if not (in_memory and getattr(kind, "REDACTIONS_RECORDED", False))
    ]
    if refused:
        names = ", ".join(kind.__qualname__ for kind in refused)
        msg = (
            f"{application.__qualname__} would keep {names} in memory or as snapshots, but its events hold sealed fields: "
            "a copy outside its events would not be forgotten when their keys are deleted"
        )
        raise SealedAggregateKeptError(msg)


# The state of a snapshot, as plain values --------------------------------------------------------


def shape_of(kind: type) -> str:
    """A digest of the source of the module that defines ``kind``: snapshots taken under other code are stepped over."""
    module = sys.modules.get(kind.__module__)
    try:
        source = inspect.getsource(module) if module is not None else kind.__qualname__
    except (OSError, TypeError):  # no source to read (a frozen build): the class's name and version only
        source = f"{kind.__qualname__}:{getattr(kind, 'class_version', 1)}"
    return hashlib.sha256(source.encode()).hexdigest()[:32]


@functools.cache
def _topic(kind: type) -> str:
    return get_topic(kind)


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind))


def to_plain(value: Any) -> Any:
    """``value`` as JSON's values only: records, enums, UUIDs, dates, decimals, tuples, sets and dicts of any keys tagged."""
    if isinstance(value, Enum):
        return {"_enum": _topic(type(value)), "v": to_plain(value.value)}
    if isinstance(value, UUID):  # tagged here, not by the transcoder: the whole state then encodes at the JSON encoder's speed
        return {"_uuid": value.hex}
    if isinstance(value, datetime):
        return {"_datetime": value.isoformat()}
    if isinstance(value, date):
        return {"_date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"_decimal": str(value)}
    if hasattr(type(value), "__dataclass_fields__") and not isinstance(value, type):
        return {"_record": _topic(type(value)), "v": {name: to_plain(getattr(value, name)) for name in _field_names(type(value))}}
    if isinstance(value, dict):
        return {"_map": [[to_plain(k), to_plain(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"_tuple": [to_plain(v) for v in value]}
    if isinstance(value, set | frozenset):
        return {"_set": [to_plain(v) for v in value], "frozen": isinstance(value, frozenset)}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value


def _resolve(topic: str) -> type:
    if not topic.startswith(RESOLVABLE_PREFIXES):
        msg = f"a snapshot names {topic!r}, which is not one of the project's classes"
        raise ValueError(msg)
    return resolve_topic(topic)


def from_plain(value: Any) -> Any:
    """The value :func:`to_plain` was given."""
    if isinstance(value, list):
        return [from_plain(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "_uuid" in value:
        return UUID(value["_uuid"])
    if "_date" in value:
        return date.fromisoformat(value["_date"])
    if "_datetime" in value:
        return datetime.fromisoformat(value["_datetime"])
    if "_decimal" in value:
        return Decimal(value["_decimal"])
    if "_map" in value:
        return {from_plain(k): from_plain(v) for k, v in value["_map"]}
    if "_tuple" in value:
        return tuple(from_plain(v) for v in value["_tuple"])
    if "_set" in value:
        items = [from_plain(v) for v in value["_set"]]
        return frozenset(items) if value.get("frozen") else set(items)
    if "_enum" in value:
        return _resolve(value["_enum"])(from_plain(value["v"]))
    if "_record" in value:
        kind = _resolve(value["_record"])
        record = object.__new__(kind)
        for name, field_value in value["v"].items():
            object.__setattr__(record, name, from_plain(field_value))
        return record
    msg = "a snapshot holds a mapping it did not tag"
    raise ValueError(msg)


class KeptSnapshot(Snapshot):
    """The library's snapshot, its state made of plain values (:func:`to_plain`) and marked with its class's code (:func:`shape_of`)."""

    @classmethod
    def take(cls, aggregate: Any) -> KeptSnapshot:
        taken = Snapshot.take(aggregate)
        state = {"shape": shape_of(type(aggregate)), "state": {name: to_plain(v) for name, v in taken.state.items()}}
        return cls(
            originator_id=taken.originator_id,
            originator_version=taken.originator_version,
            timestamp=taken.timestamp,
            topic=taken.topic,
            state=state,
        )

    def current(self) -> bool:
        """Whether this snapshot was taken under the code its class has now."""
        try:
            kind = _resolve(self.topic)
        except (ValueError, ImportError, AttributeError):
            return False
        return self.state.get("shape") == shape_of(kind)

    def mutate(self, _: None) -> Any:
        state = {name: from_plain(v) for name, v in self.state["state"].items()}
        plain = Snapshot(
            originator_id=self.originator_id,
            originator_version=self.originator_version,
            timestamp=self.timestamp,
            topic=self.topic,
            state=state,
        )
        return plain.mutate(None)


# Copies handed out --------------------------------------------------------------------------

ATOMS = (str, int, float, bool, bytes, type(None), UUID, date, datetime, Decimal, Enum)


_ALWAYS_SHARED: dict[type, bool] = {}


def _atomic_hint(hint: Any) -> bool:
    """Whether every value of type ``hint`` can never change (an atom, a frozen record of atoms, a tuple or union of them)."""
    if isinstance(hint, type):
        return issubclass(hint, ATOMS) or _always_shared(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return all(_atomic_hint(a) for a in args)
    if origin is tuple:
        return all(a is Ellipsis or _atomic_hint(a) for a in args)
    return False


def _always_shared(kind: type) -> bool:
    """Whether ``kind`` is a frozen record whose declared fields all hold atoms (worked out once per class)."""
    found = _ALWAYS_SHARED.get(kind)
    if found is None:
        params = getattr(kind, "__dataclass_params__", None)
        found = False
        if params is not None and params.frozen:
            _ALWAYS_SHARED[kind] = False  # a record that holds itself is copied
            try:
                hints = typing.get_type_hints(kind)
                found = all(_atomic_hint(hints[f.name]) for f in dataclasses.fields(kind))
            except Exception:  # noqa: BLE001 - hints that do not resolve: each value is looked at instead
                found = False
        _ALWAYS_SHARED[kind] = found
    return found


def _shared(value: Any) -> bool:
    """Whether ``value`` can never change: an atom, or a frozen record (or tuple) of such values."""
    if isinstance(value, ATOMS) or _always_shared(type(value)):
        return True
    if isinstance(value, tuple):
        return all(_shared(v) for v in value)
    params = getattr(type(value), "__dataclass_params__", None)
    if params is not None and params.frozen:
        return all(_shared(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


def _shared_kind(kind: type) -> bool:
    return issubclass(kind, ATOMS) or _always_shared(kind)


def _copied(value: Any, memo: dict[int, Any]) -> Any:
    if _shared(value):
        return value
    if type(value) is list:
        if all(_shared_kind(kind) for kind in {type(v) for v in value}):
            return list(value)
        return [_copied(v, memo) for v in value]
    if type(value) is dict:
        if all(_shared_kind(kind) for kind in {type(k) for k in value} | {type(v) for v in value.values()}):
            return dict(value)
        return {k if _shared(k) else deepcopy(k, memo): _copied(v, memo) for k, v in value.items()}
    return deepcopy(value, memo)


def project_events(aggregate: Any, domain_events: Iterable[Any]) -> Any:
    """Each event's ``mutate`` applied in turn: the library's ``project_aggregate`` without its per-event check.

    The library asserts that each event is a runtime ``CanMutateProtocol``, a
    ``typing`` Protocol check costing about a tenth of a millisecond an event:
    about 0.4 ms of registry's 4 ms per mapping (cProfile). Every event read
    here is one of the services' own aggregate events, which all mutate.
    """
    for domain_event in domain_events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


FLAT_KINDS = (dict, list, set)


def copy_kept(aggregate: Any) -> Any:
    """A copy of a kept aggregate that a command may change freely: what can never change is shared, the rest copied.

    ``copy.deepcopy`` would copy each of a long history's frozen records (40 ms
    for 1,000 grants); sharing them costs a list's copy. The attributes its
    class names in ``FLAT_COPIED`` (a dict, list or set holding only values that
    never change, :func:`check_flat_copied`) are copied as they are, without
    looking at each value: looking at 1,000 meetings' types cost a follow-up's
    1,000th meeting about a tenth of its time (cProfile).
    """
    memo: dict[int, Any] = {}
    flat = getattr(type(aggregate), "FLAT_COPIED", ())
    copy = object.__new__(type(aggregate))
    object.__setattr__(copy, "__dict__", {
        name: value.copy() if name in flat and type(value) in FLAT_KINDS else _copied(value, memo)
        for name, value in vars(aggregate).items()
    })
    return copy


def check_flat_copied(aggregate: Any) -> None:
    """Refuse (``TypeError``, naming the class, the attribute and the value) an aggregate whose ``FLAT_COPIED`` attribute
    holds a value that can change: its commands' copies would share it with the kept aggregate (:func:`copy_kept`).

    Looks at every value once, when the aggregate is first kept; the events applied to it later are its class's own,
    whose attributes' types say what they hold.
    """
    for name in getattr(type(aggregate), "FLAT_COPIED", ()):
        value = getattr(aggregate, name)
        if type(value) not in FLAT_KINDS:
            msg = f"{type(aggregate).__name__}.{name} is named in FLAT_COPIED but holds a {type(value).__name__}, not a dict, list or set"
            raise TypeError(msg)
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else list(value)
        for item in items:
            if not _shared(item):
                msg = f"{type(aggregate).__name__}.{name} is named in FLAT_COPIED but holds {item!r}, a value that can change"
                raise TypeError(msg)


# The repository ----------------------------------------------------------------------------------


class KeptCache(LRUCache):
    """The library's LRU cache, taking only aggregates of the classes it is given."""

    def __init__(self, maxsize: int, kinds: tuple[type, ...]) -> None:
        super().__init__(maxsize=maxsize)
        self.kinds = kinds

    def put(self, key: Any, value: Any, *, checked: bool = False) -> None:
        """Keep ``value`` if of the cache's classes and saved; ``checked``: it is the saved state of one kept before, whose
        ``FLAT_COPIED`` values were looked at then (:func:`check_flat_copied`)."""
        if isinstance(value, self.kinds) and not getattr(value, "pending_events", None):
            if not checked:
                check_flat_copied(value)
            super().put(key, value)


LAST_STORED_MOST = 10_000
"""How many kept aggregates' last stored events :class:`KeptRepository` remembers (as stored: bytes) before it forgets them
all and decodes each one's last event once more (:meth:`KeptRepository._holds_last_event`)."""


class KeptRepository(dryrun.OverlaidRepository):
    """The library's repository: a dry run's saves read back (:class:`~shared.dryrun.OverlaidRepository`), the
    aggregates of ``kept`` classes held in memory and fast-forwarded, and snapshots read when they are current.

    A copy is handed out under the aggregate's lock, so no command sees one
    half fast-forwarded by another thread; long-lived aggregates make copying
    cheap by sharing their frozen records (``__deepcopy__`` returns the record).
    """

    def __init__(
        self, *args: Any, kept: tuple[type, ...] = (), cache_maxsize: int | None = None, shortest_interval: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, cache_maxsize=None, **kwargs)
        self.kept = kept
        self.shortest_interval = shortest_interval
        """No aggregate with fewer events than this has a snapshot: it is read in one select, without asking the snapshot table."""
        self.cache = KeptCache(cache_maxsize, kept) if kept and cache_maxsize else None
        self._last_stored: dict[Any, bytes] = {}
        """The state, as stored, of the event each kept aggregate was last brought to: compared as bytes, not decoded (an
        engagement follow-up's event unsealed again cost a meeting a third of its CPU)."""

    def get(self, aggregate_id: Any, *, version: int | None = None, projector_func: Any = project_events, **kwargs: Any) -> Any:
        overlay = dryrun.current()
        if overlay is not None and version is None and aggregate_id in overlay.aggregates:
            return deepcopy(overlay.aggregates[aggregate_id])
        if self.cache is None or version is not None:
            return self._reconstruct_aggregate(aggregate_id, version, projector_func)
        lock = self._use_fastforward_lock(aggregate_id)
        try:
            with waited_for(lock):
                try:
                    aggregate = self.cache.get(aggregate_id)
                    if aggregate.pending_events:  # kept as saved (keep_saved), then changed by its command after the save
                        aggregate = self.cache.get(aggregate_id, evict=True)
                        raise KeyError(aggregate_id)
                except KeyError:
                    self._last_stored.pop(aggregate_id, None)  # of a copy the cache dropped since: not of the one read now
                    aggregate = self._reconstruct_aggregate(aggregate_id, None, projector_func)
                    if not isinstance(aggregate, self.kept):
                        return aggregate  # read afresh each time, never kept
                    self.cache.put(aggregate_id, aggregate)
                    return copy_kept(aggregate)
                try:
                    # From its own last event on: the store must still hold it, else it was put back from a backup.
                    stored = list(self.event_store.recorder.select_events(originator_id=aggregate_id, gt=aggregate.version - 1))
                    if not self._holds_last_event(aggregate_id, aggregate, stored):
                        log.warning(
                            "the store no longer holds %s at version %s, as kept in memory (was it restored from a backup?): "
                            "reading it again from the store", aggregate_id, aggregate.version,
                        )
                        self.cache.get(aggregate_id, evict=True)
                        self._last_stored.pop(aggregate_id, None)
                        aggregate = self._reconstruct_aggregate(aggregate_id, None, projector_func)
                        self.cache.put(aggregate_id, aggregate)
                        return copy_kept(aggregate)
                    aggregate = projector_func(aggregate, self._decoded(stored[1:]))
                    self._remember(aggregate_id, stored[-1])
                except BaseException:
                    self.cache.get(aggregate_id, evict=True)  # possibly half applied: read afresh next time
                    self._last_stored.pop(aggregate_id, None)
                    raise
                if aggregate is None:
                    raise AggregateNotFoundError(aggregate_id)
                return copy_kept(aggregate)
        finally:
            self._disuse_fastforward_lock(aggregate_id)

    def keep_saved(self, aggregates: Iterable[Any], recordings: Iterable[Any]) -> None:
        """Keep a committed save's aggregates of the ``kept`` classes as saved, with their last event as stored.

        The library's own step after a save when it does not fast-forward (it keeps the saved object, as here: a copy
        cost registry's mapping more than it saved). Without it, the next command on the aggregate selected the event
        this process had just written and decoded and applied it again (an engagement roster's newest event, decrypted
        too, or a registry district roll's), where comparing its bytes is enough: 3-5% of a mapping's or a
        registration's CPU in process. A copy kept at a later version (another thread's command read
        it since) stays. A command that changes an aggregate after saving it leaves it with pending events, and
        :meth:`get` then reads it afresh. ``recordings``: the save's :class:`~eventsourcing.application.Recording` s,
        whose notifications hold the events as stored. Not for a dry run's saves, which store nothing.

        Never waits and never raises: it runs after the commit, where an error (a :class:`~shared.inplace.StoreBusyError`
        on the event loop, from a lock another thread holds) would have the command run again and record its fact twice.
        An aggregate whose lock is held is left as kept, and read up to date by the next command.
        """
        if self.cache is None:
            return
        last = {recording.notification.originator_id: recording.notification for recording in recordings}
        for aggregate in aggregates:
            stored = last.get(aggregate.id)
            if not isinstance(aggregate, self.kept) or stored is None or stored.originator_version != aggregate.version:
                continue
            lock = self._use_fastforward_lock(aggregate.id)
            try:
                if not lock.acquire(blocking=False):  # being read by another thread: it brings its copy up to date itself
                    continue
                try:
                    self._keep_one(aggregate, stored)
                finally:
                    lock.release()
            except Exception:  # noqa: BLE001 - the save is committed: keeping a copy is a shortcut, never part of the command
                log.warning("%s at version %s was saved but not kept: read from the store next time", aggregate.id, aggregate.version, exc_info=True)
                self._last_stored.pop(aggregate.id, None)
            finally:
                self._disuse_fastforward_lock(aggregate.id)

    def _keep_one(self, aggregate: Any, stored: Any) -> None:
        try:
            held = self.cache.get(aggregate.id)  # type: ignore[union-attr]
        except KeyError:
            held = None
        if held is not None and held is not aggregate and held.version >= aggregate.version:
            return
        self.cache.put(aggregate.id, aggregate, checked=held is not None)  # type: ignore[union-attr]
        self._remember(aggregate.id, stored)

    def _holds_last_event(self, aggregate_id: Any, aggregate: Any, stored: list[Any]) -> bool:
        """Whether ``stored``, the store's events from the kept ``aggregate``'s version on, start with the event it was last
        brought to: not so when the store was put back from an older backup under the running service (it ends before,
        or another event took that version since). A kept copy ahead of its store would save its next event past a gap
        (every other reader then fails on it) or over another history. The event is compared as stored (its bytes)
        when remembered, else decoded once (its version and timestamp)."""
        if not stored or stored[0].originator_version != aggregate.version:
            return False
        remembered = self._last_stored.get(aggregate_id)
        if remembered is not None:
            return stored[0].state == remembered
        holds = bool(self._decoded(stored[:1])[0].timestamp == aggregate.modified_on)
        if holds:
            self._remember(aggregate_id, stored[0])
        return holds

    def _remember(self, aggregate_id: Any, stored: Any) -> None:
        if len(self._last_stored) >= LAST_STORED_MOST and aggregate_id not in self._last_stored:
            self._last_stored.clear()  # a few aggregates each decode their last event once more
        self._last_stored[aggregate_id] = stored.state

    def _decoded(self, stored: list[Any]) -> list[Any]:
        """The domain events of ``stored``, as the event store maps them (a sealing mapper reads their keys in one query)."""
        mapper = self.event_store.mapper
        together = getattr(mapper, "to_domain_events", None)
        return list(together(stored)) if together is not None else [mapper.to_domain_event(s) for s in stored]

    def _reconstruct_aggregate(self, aggregate_id: Any, version: int | None, projector_func: Any) -> Any:
        """The library's reconstruction, stepping over a snapshot that is not current or does not read."""
        if self.snapshot_store is None:
            return super()._reconstruct_aggregate(aggregate_id, version, projector_func)
        if self.shortest_interval:
            first = list(self.event_store.get(originator_id=aggregate_id, lte=version, limit=self.shortest_interval))
            if len(first) < self.shortest_interval:  # all its events, and too few to have been snapshotted
                aggregate = projector_func(None, first)
                if aggregate is None:
                    msg = f"Aggregate {aggregate_id!r} version {version!r} not found."
                    raise AggregateNotFoundError(msg)
                return aggregate
        snapshots = list(self.snapshot_store.get(originator_id=aggregate_id, desc=True, limit=1, lte=version))
        start: Any = None
        if snapshots and isinstance(snapshots[0], KeptSnapshot) and snapshots[0].current():
            try:
                start = snapshots[0].mutate(None)
            except Exception:  # noqa: BLE001 - a snapshot is a shortcut: one that no longer reads is replayed instead
                log.warning("snapshot of %s at version %s does not read: replaying its events", aggregate_id, snapshots[0].originator_version, exc_info=True)
                start = None
        events = self.event_store.get(originator_id=aggregate_id, gt=start.version if start is not None else None, lte=version)
        aggregate = projector_func(start, events) if start is not None else projector_func(None, chain(events))
        if aggregate is None:
            msg = f"Aggregate {aggregate_id!r} version {version!r} not found."
            raise AggregateNotFoundError(msg)
        return aggregate


# Snapshots checked against their events (GET /verify) ------------------------------------------


def _canonical(state: Any) -> str:
    """A snapshot's plain state as one string, key order and tuples aside (compared, never stored)."""
    return json.dumps(state, sort_keys=True, default=str)


def snapshots_disagreeing(application: Any) -> tuple[int, list[str]]:
    """Every stored snapshot ``application`` would read (taken under its class's current code) against its aggregate
    replayed from its events up to the snapshot's version: (how many were checked, a sentence for each that differs).

    A snapshot is outside the hash chain: one changed in the database changed what the service decides (a phase
    deleted from the calendar let an overlapping one open) while the chain verified ok (tester 37b F2). For
    ``GET /verify``; it reads every snapshotted aggregate's events, so it takes a while on a large store.
    """
    snapshots = getattr(application, "snapshots", None)
    if snapshots is None:
        return 0, []
    recorder = snapshots.recorder
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT originator_id, originator_version FROM {recorder.events_table_name}")  # noqa: S608 - the library's table
        held = [(UUID(str(row["originator_id"])), int(row["originator_version"])) for row in cursor.fetchall()]
    checked, differing = 0, []
    for originator_id, version in held:
        stored = next(iter(snapshots.get(originator_id, gt=version - 1, lte=version)), None)
        if not isinstance(stored, KeptSnapshot) or not stored.current():
            continue  # not read by the service: its events are replayed instead
        checked += 1
        replayed = project_aggregate(None, application.events.get(originator_id, lte=version))
        kind = stored.topic.rsplit(":", 1)[-1]
        if replayed is None or _canonical(KeptSnapshot.take(replayed).state["state"]) != _canonical(stored.state["state"]):
            differing.append(
                f"the snapshot of {kind} {originator_id} at version {version} does not match its events: it was changed "
                "in the store, and the service decides from it (delete it to have its events replayed)"
            )
    return checked, differing
