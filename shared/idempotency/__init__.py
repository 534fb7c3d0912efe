"""Retries are safe: every POST (and PATCH) honours an ``Idempotency-Key`` header.

The semantics are those of the IETF httpapi draft "The Idempotency-Key HTTP
Header Field": a client sends a unique key (a UUID v4 is best) with a POST
and sends the same key again when it retries, for instance because the
connection broke before the answer came. Then:

- the same key with the same request (method, path and query, and the body
  read as JSON, so key order and spacing do not matter) gets the first answer
  again, the same status and body, with ``Idempotent-Replayed: true``;
- the same key with another request gets 422, naming the header (rule ``idempotency_key_reused``); its
  ``same_request`` says whether it is the same request from another caller, and ``differs_in: ["distinct_from"]``
  that it is the same but for the records its body tells it apart from (:mod:`shared.idempotency.middleware`);
- the same key while the first request is still running gets 409
  (rule ``idempotent_request_in_progress``), with ``Retry-After``;
- a request without the header is handled as it always was; GETs ignore it.

Exactly once, even through a crash. The key is recorded in the event store *in the same transaction* as the
command's events: the command's first ``save()`` also saves an :class:`IdempotentRequest`, a private aggregate
whose id is derived from the service and the key, holding the request's fingerprints (HMACs of the request under
the key, with its caller and without, never the body) and the ids and versions of what the command saved. Two
requests with the same key racing each other both try to create version 1 of that record: the store lets one in
and refuses the other's whole transaction. A service killed after its commit and before its answer left leaves
the record behind, so the client's retry finds it and the command never runs twice.

The answer itself is kept after the response is built and before it goes
out (on an SQLite file, by the event loop itself when the view database takes
the write at once: :mod:`shared.idempotency.onloop`; else the middleware waits
on the loop for the book's own thread, which keeps the answers of the commands
answered meanwhile in one transaction; at most a second, behind a locked view
database), so a client that got its
answer gets it again when it retries, even from a service killed right after
it answered. It is kept in the service's view database, for ``idempotency_retention_hours`` (24 by default). Its body can
hold personal data (engagement answers with a member's name and document), so
it is sealed with AES-GCM under a key derived (HKDF-SHA256) from the client's
Idempotency-Key and, in engagement, from the master key: the table alone
reads as nothing, and the key itself is never stored. Engagement's erasure of
a person deletes every kept answer about them. If the record exists but no
answer was kept (the service died between its commit and its answer, a
failure to keep it, or an answer past its retention), the retry gets 409 (rule ``idempotent_request_completed``):
the request was carried out, here is what it recorded; read it with a GET.
A record under ten seconds old may belong to a request another process (a
worker, a replica) is still answering, or whose answer this process's book
is still keeping, so the retry first waits up to a second for its answer to
be kept, and gives that answer when it comes; a retry refused by its command
(say, as a duplicate of what the first one just recorded) looks again the
same way before it answers.

Only requests that recorded something are kept: a refused request (422, 404, 409) wrote nothing, so a retry
with the same key simply runs again. Keys are per service, not per caller: use random keys. This module holds the key, the record and the kept answers; the HTTP side
(the middleware, the OpenAPI header) is :mod:`shared.idempotency.middleware`.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple
from uuid import NAMESPACE_URL, UUID, uuid5

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError
from sqlalchemy import BigInteger, Connection, Engine, Integer, LargeBinary, String, bindparam, delete, exc, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared import dryrun
from shared.driversql import read_rows, write_rows
from shared.errors import ConflictError
from shared.idempotency.onloop import KeepsOnTheLoop
from shared.views import create_tables, durably
from shared.views.erasure import forget_rows

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
METHODS = ("POST", "PATCH")
"""The methods that honour the header: the draft's non-idempotent ones (PUT and GET are idempotent already)."""
REPLAYED_HEADER = "Idempotent-Replayed"
DEFAULT_RETENTION = timedelta(hours=24)
KEPT_HEADERS = ("content-type", "location", "etag")
"""The response headers kept with an answer and given back with it."""

ANSWERS_PURPOSE = b"osv-platform: idempotent answers"
"""HKDF ``info`` of the key an answer is sealed under (engagement derives its secret with it too)."""
NONCE_BYTES = 12

PURGE_EVERY_SECONDS = 60.0
"""How often keeping an answer also drops those past their retention (a write transaction of its own).

An expired answer is never replayed meanwhile (:meth:`AnswerBook.find` checks its expiry); it only takes room a minute longer."""

BATCH_MOST = 500
"""Answers kept in one transaction at most: a batch's erasure check names every subject in one statement, within
the parameters a statement takes (SQLite 32,766, PostgreSQL 65,535)."""
PENDING_WAIT_SECONDS = 1.0
"""How long :meth:`AnswerBook.find` waits, by default, for its own answer still in line (:meth:`AnswerBook.keep_later`)."""
CLOSE_WAIT_SECONDS = 2.0
"""How long :meth:`AnswerBook.close` waits for the answers still in line before it gives up on them (their retries get 409)."""

# The record, saved with the command's events ----------------------------------------------


class IdempotentRequest(Aggregate):
    """A request carried out under an Idempotency-Key: private, saved in the command's own transaction.

    ``saved`` lists what the command's first save stored: ``{"id", "kind",
    "version", "from"}`` for each aggregate (its id as text, its class name, its
    version after the save, the first version the save stored: records before
    2026-12 lack it); ``request``, its :func:`fingerprint` without the caller ("" in older records); ``apart``, that
    fingerprint with the body's ``distinct_from`` left out (:func:`~shared.idempotency.keys.apart_from_told_apart`), ""
    when the body had none or the record is older.
    """

    @staticmethod
    def id_for(service: str, key: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/osv-platform/{service}/idempotent-request/{key}")

    @event("Recorded")
    def __init__(
        self, id: UUID, fingerprint: str, method: str, path: str, saved: list[dict[str, Any]], request: str = "", apart: str = ""  # noqa: A002
    ) -> None:
        self.fingerprint, self.request, self.apart = fingerprint, request, apart
        self.method = method
        self.path = path
        self.saved = saved


class IdempotentRequestInProgressError(ConflictError):
    """Another request with the same key committed first, in this process or another (409)."""

    def __init__(self) -> None:
        super().__init__(
            "A request with this Idempotency-Key is being carried out; ask again in a moment for its answer.",
            field=HEADER,
            rule="idempotent_request_in_progress",
        )


@dataclass
class IdempotentCall:
    """The keyed request being served: what the first save of its command records."""

    service: str
    key: str
    fingerprint: str
    method: str
    path: str
    request: str = ""  # the fingerprint without the caller: the same request from someone else is told from another
    apart: str = ""  # the fingerprint without the caller, nor the body's distinct_from ("" when it has none)
    recorded: IdempotentRequest | None = None
    """Set once the command's first save, the record with it, is committed."""

    @functools.cached_property
    def request_id(self) -> UUID:
        """The record's id (a UUID5 of the service and the key), worked out once: a keyed request asks it several times."""
        return IdempotentRequest.id_for(self.service, self.key)

    def record_of(self, aggregates: Iterable[Any]) -> IdempotentRequest:
        saved = [
            {"id": str(a.id), "kind": type(a).__name__, "version": int(a.version), "from": int(a.pending_events[0].originator_version)}
            for a in aggregates
        ]
        return IdempotentRequest(
            id=self.request_id, fingerprint=self.fingerprint, method=self.method, path=self.path, saved=saved, request=self.request,
            apart=self.apart,
        )


_current: ContextVar[IdempotentCall | None] = ContextVar("idempotent_call", default=None)


def current_call() -> IdempotentCall | None:
    """The keyed request this thread is serving, if any (the middleware sets it; threads of the pool inherit it)."""
    return _current.get()


@contextlib.contextmanager
def serving(call: IdempotentCall) -> Iterator[IdempotentCall]:
    """Serve ``call`` for the duration of the block: saves inside it record its key."""
    token = _current.set(call)
    try:
        yield call
    finally:
        _current.reset(token)


# The answers, kept sealed in the view database ---------------------------------------------


class Base(DeclarativeBase):
    pass


class KeptAnswer(Base):
    """The answer a keyed request got: status, then headers and body sealed under the client's key."""

    __tablename__ = "idempotent_answers"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True, doc="Unix time, seconds.")


class AnswerSubject(Base):
    """An aggregate a kept answer is about (what its command saved), at the version it saved.

    Erasing a person finds the answers about them by it.
    """

    __tablename__ = "idempotent_answer_subjects"

    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    version: Mapped[int] = mapped_column(Integer)


class ForgottenSubject(Base):
    """A subject erased: no answer about it, as it stood up to ``up_to_version``, is kept from then on.

    Kept for the retention (an answer is kept right after its command, so no
    later one can need it).
    """

    __tablename__ = "idempotent_forgotten_subjects"

    subject_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    up_to_version: Mapped[int] = mapped_column(Integer)
    forgotten_at: Mapped[int] = mapped_column(BigInteger, index=True, doc="Unix time, seconds.")


# Built once: SQLAlchemy reuses a statement object's compiled form without building it again (every keyed command runs these).
_FIND_ANSWER = select(KeptAnswer.fingerprint, KeptAnswer.status, KeptAnswer.sealed, KeptAnswer.expires_at).where(
    KeptAnswer.request_id == bindparam("request_id")
)


@functools.lru_cache(maxsize=64)
def _tombstones_of(count: int) -> Any:
    """The statement reading the tombstones of ``count`` subjects (``subject_0``…), built and compiled once per count."""
    subjects = [bindparam(f"subject_{n}") for n in range(count)]
    return select(ForgottenSubject.subject_id, ForgottenSubject.up_to_version).where(ForgottenSubject.subject_id.in_(subjects))


def _call_each(callbacks: Iterable[Callable[[], None]]) -> None:
    """Call each of :meth:`AnswerBook.keep_later`'s ``dealt_with``; one that fails is logged, the others still called."""
    for callback in callbacks:
        try:
            callback()
        except Exception:  # noqa: BLE001 - a waiter's failure is not the book's
            log.exception("an answer's dealt-with callback failed")


class AnswerToKeep(NamedTuple):
    """An answer handed to :meth:`AnswerBook.keep_later`: what :meth:`AnswerBook.keep` takes."""

    request_id: UUID
    key: str
    fingerprint: str
    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes
    subjects: Mapping[str, int]


@dataclass(frozen=True)
class Answer:
    """A kept answer, unsealed."""

    fingerprint: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class AnswerBook(KeepsOnTheLoop):
    """The answers of keyed requests, sealed, for ``retention``; found again only with the client's key.

    ``secret`` (bytes) is mixed into every sealing key: engagement passes a
    subkey of its master key; a service holding no personal data may pass none.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        secret: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.retention = retention
        self._secret = secret
        self._clock = clock
        self._purged_at: float | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="answer-book")
        """Keeps the answers handed to :meth:`keep_later`, in the order given."""
        self._writer_ident: int | None = None
        self._pending: list[AnswerToKeep] = []
        self._in_line: dict[str, list[threading.Event]] = {}
        """Each answer handed over and not yet kept (nor failed), by request id, one event per hand-over in the
        order given (an id handed over twice has two): each is set once its own hand-over is dealt with."""
        self._pending_lock = threading.Lock()
        self._handed_over = 0
        """How many answers :meth:`keep_later` has taken so far."""
        self._when_dealt_with: dict[int, Callable[[], None]] = {}
        """:meth:`keep_later`'s ``dealt_with`` callbacks, by the hand-over's number (the first is 1), until it is dealt with."""
        self._dealt_with = 0
        """How many of those the book's thread has kept, or failed to keep: the first ``_dealt_with`` (it keeps them in order)."""
        self._line_moved = threading.Condition(self._pending_lock)
        """Notified when a batch is dealt with, and when the book closes."""
        self._draining = False
        """Whether the writer has a :meth:`_keep_pending` under way or coming, which will take what is appended."""
        self._closed = False
        self._unchecked: list[AnswerToKeep] = []
        """Answers kept whose check against erasures failed: checked again with the next ones (:meth:`_drop_the_forgotten`)."""
        create_tables(Base.metadata, engine)

    def _aead(self, key: str) -> AESGCM:
        return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=self._secret, info=ANSWERS_PURPOSE).derive(key.encode()))

    def find(self, request_id: UUID, key: str, *, wait: float = PENDING_WAIT_SECONDS) -> Answer | None:
        """The answer kept for this request, or None (never kept, expired, erased, or still in line after ``wait``).

        If this request's answer was handed to :meth:`keep_later` and is not kept yet, waits for it, at most
        ``wait`` seconds; the other answers in line are not waited for (behind a locked view database each
        can take the busy timeout, and a retry would hold its worker thread for all of them).
        """
        with self._pending_lock:  # the book's thread takes from the same list
            in_line = self._in_line.get(str(request_id))
            last = in_line[-1] if in_line else None  # the last hand-over so far: dealt with after every earlier one
        if last is not None and threading.get_ident() != self._writer_ident:
            last.wait(max(0.0, wait))
        with self.engine.connect() as connection:  # Core, not the ORM: every keyed request asks
            row = connection.execute(_FIND_ANSWER, {"request_id": str(request_id)}).first()
        if row is None or row.expires_at <= self._clock():
            return None
        fingerprint, status, sealed = row.fingerprint, row.status, row.sealed
        try:
            plain = self._aead(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], str(request_id).encode())
        except InvalidTag:  # sealed under another secret (a master key replaced): as good as gone
            return None
        content = json.loads(plain)
        return Answer(fingerprint, status, [tuple(h) for h in content["headers"]], base64.b64decode(content["body"]))

    def keep_later(
        self,
        request_id: UUID,
        key: str,
        fingerprint: str,
        status: int,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        subjects: Mapping[str, int],
        dealt_with: Callable[[], None] | None = None,
    ) -> None:
        """:meth:`keep`, in the book's own thread: returns at once, and the answer is kept a moment later.

        ``dealt_with`` is called, in the book's thread, once the answer is kept, or its keeping failed, or was given
        up (:meth:`close`): the middleware sends the answer then, so an answer a client got is kept, through a
        ``kill -9`` too (:mod:`shared.idempotency.middleware`). No worker-thread hop for each command (a hop and its
        wait were a third of a keyed command's CPU in the service): answers handed over while the thread is busy
        are kept together, in one transaction (:meth:`keep_many`). A retry meanwhile finds the record and waits for
        the answer (:meth:`find` waits for this process's, a second at most; another process's is polled for), and
        :meth:`forget` and :meth:`drop` wait for every answer handed over before them. A failure is logged: the
        retry then gets 409 ``idempotent_request_completed``, as after a crash between the commit and the answer.
        Raises :class:`RuntimeError` once the book is closed.
        """
        with self._pending_lock:
            if self._closed:
                raise RuntimeError("the answer book is closed (the service is stopping)")
            self._pending.append(AnswerToKeep(request_id, key, fingerprint, status, headers, body, subjects))
            self._handed_over += 1
            if dealt_with is not None:
                self._when_dealt_with[self._handed_over] = dealt_with
            self._in_line.setdefault(str(request_id), []).append(threading.Event())  # a second joins, never replaces
            if self._draining:
                return
            self._draining = True
        self._writer.submit(self._keep_pending)

    def _keep_pending(self) -> None:
        """In the book's thread: keep what was handed over, in batches, until nothing is left."""
        self._writer_ident = threading.get_ident()
        while True:
            with self._pending_lock:
                batch, self._pending = ([], []) if self._closed else (self._pending[:BATCH_MOST], self._pending[BATCH_MOST:])
                if not batch:
                    self._draining = False
                    return
            try:
                self.keep_many(batch)
            except Exception:  # noqa: BLE001 - the answers go out all the same; their retries get 409 completed
                log.exception("could not keep the answers of %d idempotent requests; their retries will get 409", len(batch))
            finally:
                with self._pending_lock:
                    numbers = range(self._dealt_with + 1, self._dealt_with + len(batch) + 1)  # kept in the order handed over
                    callbacks = [c for n in numbers if (c := self._when_dealt_with.pop(n, None)) is not None]
                    for answer in batch:  # in the order handed over: each takes its id's oldest event
                        in_line = self._in_line.get(str(answer.request_id))
                        if in_line:
                            in_line.pop(0).set()
                            if not in_line:
                                del self._in_line[str(answer.request_id)]
                    self._dealt_with += len(batch)
                    self._line_moved.notify_all()
                _call_each(callbacks)

    def flush(self) -> None:
        """Wait until every answer handed to :meth:`keep_later` so far is kept (or its failure logged, or the book closed).

        Answers handed over after the call are not waited for: under steady keyed load the line is seldom
        empty, and an erasure (:meth:`forget`) would wait for a pause in the traffic.
        """
        if threading.get_ident() != self._writer_ident:  # the writer itself has nothing of its own to wait for
            self._wait_for_the_line(None)

    def _wait_for_the_line(self, timeout: float | None) -> bool:
        """Wait (at most ``timeout`` seconds; None: as long as it takes) for the answers handed over so far; whether they were dealt with."""
        with self._pending_lock:
            handed_over = self._handed_over
            return self._line_moved.wait_for(lambda: self._closed or self._dealt_with >= handed_over, timeout)

    def close(self, wait: float = CLOSE_WAIT_SECONDS) -> None:
        """Keep what is in line, for at most ``wait`` seconds, then stop the book's thread (the engine stays the caller's).

        Behind a locked view database each batch would take the busy timeout: what is not kept by then is
        given up (its retry gets 409 ``idempotent_request_completed``, as after a crash), so a service asked
        to stop does not wait for the line to move.
        """
        if not self._wait_for_the_line(max(0.0, wait)):
            log.warning("closing with %d answer(s) of idempotent requests not kept after %.1f s; their retries will get 409",
                        sum(map(len, self._in_line.values())), wait)
        elif self._unchecked:  # a last check against erasures, in the book's thread (it owns the list)
            with contextlib.suppress(FutureTimeoutError, RuntimeError):
                self._writer.submit(self._drop_the_forgotten, ()).result(timeout=max(0.0, wait))
        with self._pending_lock:
            self._closed = True
            for in_line in self._in_line.values():  # given up: nobody waits for them
                for event in in_line:
                    event.set()
            callbacks, self._when_dealt_with = list(self._when_dealt_with.values()), {}
            self._line_moved.notify_all()
        _call_each(callbacks)
        self._writer.shutdown(wait=False, cancel_futures=True)
        self.close_the_loop_engine()

    def keep(
        self,
        request_id: UUID,
        key: str,
        fingerprint: str,
        status: int,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        subjects: Mapping[str, int],
    ) -> None:
        """Keep an answer until the retention passes (:meth:`keep_many` of one).

        ``subjects`` maps the id of each aggregate the command saved to the
        version it saved. No answer is kept about a subject as it stood
        before it was forgotten (an erasure racing this command).
        """
        self.keep_many([AnswerToKeep(request_id, key, fingerprint, status, headers, body, subjects)])

    def keep_many(self, answers: Sequence[AnswerToKeep]) -> None:
        """Keep answers in one transaction; one already kept is left as it is (the record lets one request per key through)."""
        now = self._clock()
        self._purge_when_due(now)
        try:
            self._write(answers, now, self.engine)
        except IntegrityError:
            if len(answers) == 1:  # kept already
                return
            for answer in answers:  # one of them was kept already: the others one by one
                self.keep_many([answer])
            return
        self._drop_the_forgotten(answers)

    def _purge_when_due(self, now: float, *, in_the_writer: bool = False) -> None:
        """Drop the answers past their retention once a minute (:meth:`_purge`), here or handed to the book's thread."""
        if self._purged_at is not None and 0 <= now - self._purged_at < PURGE_EVERY_SECONDS:
            return
        self._purged_at = now  # tried once a minute, as done or not: a failure is not tried again by every answer
        if not in_the_writer:
            self._purge_logged(now)
            return
        with contextlib.suppress(RuntimeError):  # the book is closed: the next start purges
            self._writer.submit(self._purge_logged, now)

    def _purge_logged(self, now: float) -> None:
        try:
            self._purge(now)  # a write transaction of its own: once a minute, not with every answer kept
        except exc.SQLAlchemyError:  # housekeeping: the answers are kept all the same (an expired one is never replayed)
            log.warning("could not drop the answers past their retention; trying again in a minute", exc_info=True)

    def _write(self, answers: Sequence[AnswerToKeep], now: float, engine: Engine) -> None:
        """The answers' rows and their subjects' rows, in one transaction of ``engine``; IntegrityError if one is kept already."""
        # The driver's own cursor, in one transaction (shared.driversql): this runs with every keyed command, and through
        # Connection.execute its statements were half of the keeping's CPU.
        write_rows([(engine, table, values) for table, values in self._rows(answers, now)])

    def _rows(self, answers: Sequence[AnswerToKeep], now: float) -> list[tuple[Any, dict[str, Any]]]:
        """Each answer's row (:meth:`_row`), then its subjects' rows: ``(table, values)``."""
        rows = [(KeptAnswer.__table__, self._row(answer, now)) for answer in answers]
        return rows + [
            (AnswerSubject.__table__, {"request_id": str(answer.request_id), "subject_id": s, "version": v})
            for answer in answers for s, v in answer.subjects.items()
        ]

    def _drop_the_forgotten(self, answers: Sequence[AnswerToKeep]) -> None:
        """Drop each answer kept about a subject forgotten meanwhile; checked after the commit, in a transaction of its own.

        An erasure racing the keeping either sees the answers' rows and deletes them, or wrote its tombstone
        first and it is seen here. When this check fails (the view file locked past its busy timeout), the
        answers are checked again with the next ones kept, or when the book closes: never left unchecked.
        In the book's thread only (it owns the unchecked list).
        """
        unchecked, self._unchecked = [*self._unchecked, *(answer for answer in answers if answer.subjects)], []
        if not unchecked:
            return
        try:
            for answer in self._tombstoned(unchecked, self.engine):
                self._drop(answer.request_id)
        except exc.SQLAlchemyError:
            self._unchecked = unchecked + self._unchecked
            log.warning("could not check %d kept answers against erasures; checking them again with the next", len(unchecked), exc_info=True)

    @staticmethod
    def _tombstoned(answers: Sequence[AnswerToKeep], engine: Engine) -> list[AnswerToKeep]:
        """The answers about a subject as it stood before it was forgotten (an erasure's tombstone in ``engine``)."""
        subject_ids = list({s for a in answers for s in a.subjects})
        if not subject_ids:
            return []
        statement, values = AnswerBook._tombstones_of(subject_ids)
        return AnswerBook._forgotten_among(answers, dict(read_rows(engine, statement, values)))

    @staticmethod
    def _tombstones_of(subject_ids: Sequence[str]) -> tuple[Any, dict[str, str]]:
        """The statement reading the erasures' tombstones of ``subject_ids`` (rows ``(subject_id, up_to_version)``), and its values."""
        return _tombstones_of(len(subject_ids)), {f"subject_{n}": subject_id for n, subject_id in enumerate(subject_ids)}

    @staticmethod
    def _forgotten_among(answers: Sequence[AnswerToKeep], tombstones: Mapping[str, int]) -> list[AnswerToKeep]:
        """The answers about a subject as it stood before it was forgotten: a version up to its tombstone's ``up_to_version``."""
        return [a for a in answers if any(version <= tombstones.get(subject_id, -1) for subject_id, version in a.subjects.items())]

    def _row(self, answer: AnswerToKeep, now: float) -> dict[str, Any]:
        """The answer's row: its headers and body sealed under its key (AES-GCM, the request id as associated data)."""
        content = json.dumps({"headers": [list(h) for h in answer.headers], "body": base64.b64encode(answer.body).decode()}).encode()
        nonce = os.urandom(NONCE_BYTES)
        return {
            "request_id": str(answer.request_id),
            "fingerprint": answer.fingerprint,
            "status": answer.status,
            "sealed": nonce + self._aead(answer.key).encrypt(nonce, content, str(answer.request_id).encode()),
            "expires_at": int(now + self.retention.total_seconds()),
        }

    def forget(self, subject_id: UUID, up_to_version: int, from_version: int = 1) -> None:
        """Delete every kept answer about ``subject_id`` (a person erased, a text redacted) as it stood from
        ``from_version`` up to ``up_to_version``.

        Nor is one kept from now on: an answer about a later version (the
        erasure's own) no longer holds what was forgotten. A dry run forgets nothing.
        """
        if dryrun.active():
            return
        self.flush()  # an answer about the person handed over before this is deleted below, not kept after it
        now = int(self._clock())
        # The tombstone outlasts a power cut (the answers' file need not: :func:`~shared.views.make_engine`'s rebuildable).
        with self.engine.connect() as connection, durably(connection), Session(bind=connection) as session, session.begin():
            tombstone = session.get(ForgottenSubject, str(subject_id))
            if tombstone is None:
                session.add(ForgottenSubject(subject_id=str(subject_id), up_to_version=up_to_version, forgotten_at=now))
            else:
                tombstone.up_to_version = max(tombstone.up_to_version, up_to_version)
                tombstone.forgotten_at = now
        self._delete(
            select(AnswerSubject.request_id).where(
                AnswerSubject.subject_id == str(subject_id), AnswerSubject.version <= up_to_version,
                AnswerSubject.version >= from_version,
            )
        )

    def drop(self, request_id: UUID) -> None:
        """Delete one kept answer (its record stays: a retry gets 409, never a second run)."""
        self.flush()
        self._drop(request_id)

    def _drop(self, request_id: UUID) -> None:
        self._delete(select(AnswerSubject.request_id).where(AnswerSubject.request_id == str(request_id)), str(request_id))

    def _delete(self, request_ids: Any, *also: str) -> None:
        """Delete answers and their subjects, leaving no readable trace (as the key table does)."""

        def delete_answers(connection: Connection) -> bool:
            ids = set(connection.scalars(request_ids)) | set(also)
            if ids:
                connection.execute(delete(KeptAnswer).where(KeptAnswer.request_id.in_(ids)))
                connection.execute(delete(AnswerSubject).where(AnswerSubject.request_id.in_(ids)))
            return bool(ids)

        forget_rows(self.engine, KeptAnswer.__tablename__, delete_answers)

    def _purge(self, now: float) -> None:
        """Drop answers past their retention, and tombstones no answer can need any more.

        By a subquery, not a list of ids: after a quiet spell (a weekend after a big import) tens of thousands
        expire at once, past a statement's parameters (PostgreSQL takes 65,535), and the purge would fail every
        minute from then on.
        """
        expired = select(KeptAnswer.request_id).where(KeptAnswer.expires_at <= now)
        with self.engine.begin() as connection:
            connection.execute(delete(AnswerSubject).where(AnswerSubject.request_id.in_(expired)))
            connection.execute(delete(KeptAnswer).where(KeptAnswer.expires_at <= now))
            connection.execute(
                delete(ForgottenSubject).where(ForgottenSubject.forgotten_at < now - self.retention.total_seconds())
            )
