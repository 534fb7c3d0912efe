"""The outbox relay: publishes a service's notification log to its JetStream stream, in order, once.

It reads the application's notification log and publishes each stored event
in order, many acks in flight, with ``Nats-Msg-Id = <service>:<position>``.
It records how far it got only after JetStream acknowledged every message up
to there. NATS down means events wait in the store; they are never lost, and
JetStream's de-duplication window stops a retry from storing one twice. The
connection is :class:`shared.messaging.NatsLink`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import APIError, NotFoundError

from shared.chainheads import HeadPublisher
from shared.events import EventCatalogue, encode
from shared.messaging import NatsLink
from shared.programmesubjects import move_off_partner_subjects, tail_of
from shared.store import MunicipalityUnknownError, ServiceApplication
from shared.streamahead import StoreBehindStreamError, StreamAhead, only_made_again

log = logging.getLogger(__name__)


WRONG_LAST_SEQUENCE = 10071
"""JetStream's error code when ``Nats-Expected-Last-Sequence`` does not match the stream."""

WENT_BACK = object()
"""What :meth:`OutboxRelay._read` gives when the store no longer holds the event at the relay's position (put back from a backup)."""


@dataclass
class RelayStatus:
    published: int = 0
    batches: int = 0
    """Batches published since the process started (with ``published``: how many events a batch carries under load)."""
    last_error: str | None = None
    role: str = "starting"
    """``active`` (this replica holds the store's relay lease and publishes), ``standby`` or ``starting``."""
    blocked_on: int | None = None
    """The position the stream keeps refusing, while the relay retries it."""
    stepped_over: list[dict[str, Any]] = field(default_factory=list)
    """Events the stream could never take (too large, refused too long): their position and why; consumers fetch them from the feed."""
    stream_ahead: StreamAhead | None = None
    """While this relay finds the stream holding events its store does not (a store restored from an older backup): it publishes nothing."""


class RelayLease:
    """At most one active relay per event store; see :mod:`shared.lease`. This base always holds (one process, in memory)."""

    def hold(self) -> bool:
        return True

    def held(self) -> bool:
        """Whether :meth:`hold` would answer True without I/O (no thread needed to ask it): the lease is held and fresh."""
        return True

    def release(self) -> None:
        return None


@dataclass
class OutboxRelay:
    """Publishes the application's notification log to its service's stream, in order, once.

    - **Order.** Many publishes are in flight, each with
      ``Nats-Expected-Last-Sequence`` set to the stream sequence the one
      before it will get. If JetStream refuses one (a stream limit, a leader
      election), every later one in flight is refused too instead of being
      stored ahead of it; the relay starts again from the last acknowledged
      event. So each service's events are in the stream in log order.
    - **Once.** ``Nats-Msg-Id = <service>:<position>``; the relay records how
      far it got only after the acks, and on (re)start it reads the id of the
      stream's last message, so events published before a crash are not
      published again. An empty stream with a relay position is filled again
      from the start of the log (the stores are the record of truth).
    - **Never stuck.** An event larger than the server's payload limit can never
      be published; one the stream refuses ``refusal_attempts`` times in a row
      is given up. Either is *stepped over*: logged as an error, listed in
      ``/health``, and the next events carry it as their ``previousposition``,
      so every consumer sees it missing and fetches it from the feed.
    - **One per store.** Only the replica holding the ``lease`` publishes; the
      others stand by and take over when its holder dies.
    - **Never past a store put back.** A stream whose last event the store
      does not hold (the store was restored from an older backup, or lost its
      tail) is not the crash above: the store's next events would take
      positions the stream holds for others. The relay publishes nothing,
      says so in an ERROR line and in ``/health``, and marks the store so that
      every replica refuses commands (:class:`~shared.streamahead.StreamAhead`);
      it looks again every ``check_seconds``. Running, before each batch it
      checks that the store still holds, at the relay's position, the event
      (its chain hash) it held when the relay got there: a store put back under
      the running service, which goes on taking commands, is judged against the
      stream before any of its new events goes out (the check is one more row
      of the chain select the batch makes anyway); idle, it looks every
      ``check_seconds`` that the store holds the stream's last event.
    - **Batches under load.** A lone event goes out at once. After a batch,
      the relay waits ``linger_seconds`` before reading the next, so commands
      that come in a stream go out many to a batch: a thread hop, a socket
      write and a recorded position per batch instead of per event (at 4
      clients, a batch per event was a fifth of registry's CPU).
    """

    app: ServiceApplication
    catalogue: EventCatalogue
    link: NatsLink
    batch_size: int = 1000
    poll_seconds: float = 0.05
    ack_timeout: float = 5.0
    linger_seconds: float = 0.05
    """Seconds to wait after a batch before reading the next (events saved meanwhile go out together); 0: no wait."""
    lease: RelayLease = field(default_factory=RelayLease)
    refusal_attempts: int = 8
    lease_retry_seconds: float = 1.0
    check_seconds: float = 5.0
    """While the store is behind its stream: seconds between two looks at the stream (an operator's fix is then taken up)."""
    status: RelayStatus = field(default_factory=RelayStatus)
    heads: HeadPublisher | None = None
    """Publishes the store's chain head to the heads bucket while this relay holds the lease (see :mod:`shared.chain`)."""
    _stream_seq: int | None = None
    _position: int | None = None
    _refusals: dict[int, int] = field(default_factory=dict)
    _previous: tuple[int, int] | None = None
    _last_sent: tuple[int, str] | None = None
    """``(position, chainhash)`` of the last event the stream holds, as far as this relay knows: the store must still hold it."""
    _acked: tuple[int, str | None] | None = None
    """``(position, chainhash)`` the store held at the relay's position when it read past it: before each batch the relay
    checks, in the same select of the chain, that the store still holds it (a store put back under a running service)."""
    _next_look: float = 0.0
    _reconnects: int = 0
    """The link's :attr:`~shared.messaging.NatsLink.reconnects` as of the relay's last look at its stream."""
    _unrecorded: tuple[int, int | None] | None = None
    """``(position, published)`` acknowledged but not yet recorded: recorded in the same thread hop as the next read
    (:meth:`_read`), which follows at once, and before anything reads the recorded positions back (:meth:`_align`, a stop)."""
    """``(position, last public position at or before it)`` as of the last acknowledged batch: the next batch's
    ``previousposition`` without reading back through the log (private events, a keyed command's record, sit between)."""

    async def run(self) -> None:
        """Publish whenever the application saves (woken in-process), polling too for other writers."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        loop_thread = threading.get_ident()

        def listener() -> None:
            if wake.is_set():  # woken already, not yet looking: it will see this save too
                return
            if threading.get_ident() == loop_thread:  # a command on the loop: no write to the loop's self-pipe (a syscall)
                wake.set()
                return
            with contextlib.suppress(RuntimeError):  # the loop is closing: the next start publishes it
                loop.call_soon_threadsafe(wake.set)

        self.app.recorded_listeners.append(listener)
        try:
            await self._run(wake)
        finally:
            self.app.recorded_listeners.remove(listener)
            with contextlib.suppress(Exception):  # not recorded, the next start learns it from the stream's last message
                await asyncio.to_thread(self._record_acknowledged)
            await asyncio.to_thread(self.lease.release)

    async def _run(self, wake: asyncio.Event) -> None:
        await self.link.wait_ready()
        loop = asyncio.get_running_loop()
        backoff = 0.2
        while True:
            if not (self.lease.held() or await asyncio.to_thread(self.lease.hold)):  # a thread hop only when it may block
                if self.status.role != "standby":
                    log.info("relay %s: another replica holds the store's relay lease; standing by", self.catalogue.service)
                    # What it found while it published is the active replica's to judge now (and the marks' to tell).
                    self.status.stream_ahead, self.status.last_error, self.status.blocked_on = None, None, None
                self.status.role, self._stream_seq, self._position = "standby", None, None
                await self._check_marks()  # the active replica's relay may have found the store behind its stream, or resolved it
                await asyncio.sleep(self.lease_retry_seconds)
                continue
            if self.status.role != "active":
                log.info("relay %s: holding the store's relay lease; publishing", self.catalogue.service)
                self.status.role = "active"
            wake.clear()  # a save from here on wakes the wait below
            if self.link.reconnects != self._reconnects:  # the server may have come back without its store: look again
                self._reconnects = self.link.reconnects
                self._stream_seq = None
                if self.heads is not None:
                    self.heads.forget()
            if self.app.stream_ahead is None and self._stream_seq is not None:  # aligned: a store behind its stream gives out no head
                await self._publish_head()  # when due; apart from the events, so a held-up event holds up no head
            try:
                moved = await self.publish_pending()
                self.status.last_error = None
                if self.status.stream_ahead is not None:
                    log.warning(
                        "relay %s: the store no longer stands behind its stream (it was at position %s): publishing again",
                        self.catalogue.service, self.status.stream_ahead.stream_position,
                    )
                    self.status.stream_ahead = None
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except StoreBehindStreamError as behind:  # published nothing, recorded nothing: look again later
                self._stream_seq = None
                if self.status.stream_ahead != behind.ahead:
                    log.error("relay %s: %s", self.catalogue.service, behind.ahead.describe())
                self.status.stream_ahead = behind.ahead
                self.status.last_error = behind.ahead.summary()
                await asyncio.sleep(self.check_seconds)
                continue
            except Exception as error:  # noqa: BLE001 - NATS away or a refusal: wait, then retry from the acked position
                self._stream_seq = None
                self.status.last_error = f"{type(error).__name__}: {error}"
                log.warning("relay %s paused: %s", self.catalogue.service, self.status.last_error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if not moved and loop.time() >= self._next_look:
                self._next_look = loop.time() + self.check_seconds
                if await self._store_went_back():
                    self._stream_seq = None  # look at the stream again: the store may be behind it now
                    continue
            if not moved:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.poll_seconds)
            elif moved < self.batch_size and self.linger_seconds > 0:
                await asyncio.sleep(self.linger_seconds)  # more saves come in meanwhile under load; a lone event went out at once

    async def _store_went_back(self) -> bool:
        """Whether the store no longer holds the last event the stream holds: put back from a backup under a running service.

        One read of a chain row every ``check_seconds`` while idle; a store that cannot be read now counts as unchanged.
        """
        sent = self._last_sent
        if sent is None:
            return False
        try:
            stored = (await asyncio.to_thread(self.app.chain_hashes, sent[0], sent[0])).get(sent[0])
        except Exception:  # noqa: BLE001 - the store away: the next look asks again
            return False
        if stored == sent[1]:
            return False
        log.warning(
            "relay %s: the store no longer holds the event the stream holds at position %s (was it restored from a backup?): "
            "looking at the stream again", self.catalogue.service, sent[0],
        )
        self._last_sent = None
        return True

    async def _check_marks(self) -> None:
        """Learn from the store whether another replica's relay found it behind its stream (a DB read; its failure waits for the next turn)."""
        try:
            await asyncio.to_thread(lambda: self.app.check_stream_marks(standing_by=True))
        except Exception as error:  # noqa: BLE001 - the store away: the next turn asks again
            log.debug("relay %s: could not read the store's marks: %s", self.catalogue.service, error)

    async def _publish_head(self) -> None:
        """The chain head, to the heads bucket, when due; a failure is logged and tried again at the next turn."""
        if self.heads is None or self.link.js is None:
            return
        try:
            await self.heads.maybe_publish(self.link.js, self.app)
        except Exception as error:  # noqa: BLE001 - the events go on being published; the head waits
            self.heads.forget()
            log.warning("relay %s: publishing the chain head failed: %s: %s", self.catalogue.service, type(error).__name__, error)

    async def _align(self, js: JetStreamContext, stream: str) -> None:
        """Learn the stream's last sequence, and where in the log to go on from.

        The id of the stream's last message (a moved copy's header:
        :func:`~shared.programmesubjects.tail_of`) says how far it holds the log: a
        relay that crashed after publishing and before recording skips what is
        already there. A stream that holds less than was acknowledged (deleted
        and made again, or a tail lost) is filled again from what it still
        holds, or from the start when it is empty; consumers skip what they
        applied, by identity. A stream NATS says does not exist (a server
        that lost its JetStream store) is made again first, as at start
        (:meth:`~shared.messaging.NatsLink.make_stream_again`), and filled the same way.

        A stream whose last event the store does not hold (:meth:`_judge`) raises
        :class:`~shared.streamahead.StoreBehindStreamError`: nothing recorded.
        Otherwise, the events no partner reads that it holds under their former
        subject are moved to their own (:mod:`shared.programmesubjects`).
        """
        recorded, acknowledged = await asyncio.to_thread(
            lambda: (self._record_acknowledged(), self.app.relayed_position(), self.app.published_position())[1:]
        )
        try:
            info = await js.stream_info(stream)
            made_again = False
        except NotFoundError:
            await self.link.make_stream_again(self.catalogue.service, f"relay {self.catalogue.service}")
            info, made_again = await js.stream_info(stream), True
        last_seq = info.state.last_seq
        position = recorded
        held = None
        if info.state.messages:
            held, chainhash = tail_of(await js.get_msg(stream, last_seq), self.catalogue.service)
            if held is not None:
                judged = await asyncio.to_thread(self._judge, held, chainhash)
                self._last_sent = (held, chainhash) if judged and chainhash is not None else None
                # What the MML's filter took under `none` and no partner reads: under osv-programme.<service>.<type> now.
                last_seq = await move_off_partner_subjects(js, stream, self.catalogue, last_seq, (held, chainhash))
        if held is None and acknowledged and not info.state.messages:
            log.log(
                logging.INFO if made_again else logging.WARNING,  # said once: making it again was the warning
                "relay %s: stream %s is empty but held events up to %s: publishing the log again from the start",
                self.catalogue.service, stream, acknowledged,
            )
            if self.app.TAKEN_WHILE_BEHIND:  # it makes erasures again from its stream's tombstones (engagement): none here
                log.warning(
                    "relay %s: erasures made after the store's backup cannot be known from the empty stream %s (it held their "
                    "tombstones): make each one the programme's register of erasure requests lists since that backup again by "
                    "hand (POST /members/{id}/erasure), or that person reads in clear (README, \"Personal data\": \"A store "
                    "restored from a backup older than an erasure\")",
                    self.catalogue.service, stream,
                )
            position = 0
        elif held is not None and held > recorded:
            await asyncio.to_thread(self.app.record_relayed, held, held)
            position = held
        elif held is not None and held < acknowledged:
            log.warning(
                "relay %s: stream %s holds events up to %s of the %s it acknowledged: publishing the rest again",
                self.catalogue.service, stream, held, acknowledged,
            )
            position = held
        self._stream_seq, self._position = last_seq, position
        self._acked = None  # the store as judged now: its hash at the position is taken at the next read

    def _judge(self, held: int, chainhash: str | None) -> bool:
        """Whether the store holds the stream's last event (at ``held``, with ``chainhash``): True, or raises
        :class:`StoreBehindStreamError`; False when an operator accepted that it does not (not judged).

        The store holds it when its log reaches ``held`` and its chain's hash
        there is the one the event went out with (a store restored from an
        older backup that has taken new events since reaches ``held`` with
        other events). An event published before the chain existed carries no
        hash: reaching ``held`` is then enough. A position an operator accepted
        (``osv-restore accept-tail``) is not judged again. Blocks: run in a worker thread.
        """
        ahead, resolved = self.app.stream_marks()
        if held <= resolved:
            if self.app.stream_ahead is not None:  # resolved while this process ran (osv-restore): commands are taken again
                self.app.check_stream_marks()
            return False
        head = self.app.log_head()
        if held > head:
            found = StreamAhead(self.catalogue.service, held, head)
        elif chainhash is not None and self.app.chain_hashes(held, held).get(held) != chainhash:
            found = StreamAhead(self.catalogue.service, held, head, diverged=True, made_again=only_made_again(self.app, held))
        else:
            if ahead > resolved or self.app.stream_ahead is not None:  # a newer backup was put back: the store holds the stream's events
                log.warning("relay %s: the store holds its stream's last event (position %s) again: commands are taken", self.catalogue.service, held)
                self.app.resolve_stream_ahead(held)
            return True
        self.app.mark_stream_ahead(found)
        raise StoreBehindStreamError(found)

    async def publish_pending(self) -> int:
        """Publish one batch after the acknowledged position; return how many log entries it covered."""
        js = self.link.js
        assert js is not None
        stream = self.link.stream
        if self._stream_seq is None or self._position is None:
            await self._align(js, stream)
        assert self._stream_seq is not None and self._position is not None
        position = self._position
        self.status.published = position
        known = self._previous[1] if self._previous is not None and self._previous[0] == position else None
        # One thread hop records the batch before (acknowledged), reads this one and makes its CloudEvents.
        batch = await asyncio.to_thread(self._read, position, known)
        if batch is None:
            return 0
        if batch is WENT_BACK:  # published nothing from it: judge the store against the stream now, before anything goes out
            log.warning(
                "relay %s: the store no longer holds the event it held at position %s, the relay's position (was it restored "
                "from a backup?): looking at the stream again before publishing", self.catalogue.service, position,
            )
            self._stream_seq, self._last_sent, self._acked, self._previous = None, None, None, None
            self._unrecorded = None  # not into a store that no longer holds it: the stream's last message says how far it got
            await self._align(js, stream)  # raises StoreBehindStreamError when the store does not hold the stream's last event
            return 0
        prepared, waiting, hashes = batch
        max_payload = self.link.nc.max_payload if self.link.nc is not None else 1024 * 1024
        sequence = self._stream_seq
        sent: list[tuple[int, Any]] = []  # (position, ack future, or None: nothing to wait for)
        outgoing: dict[int, tuple[str, bytes, dict[str, str]]] = {}
        stepped: dict[int, str] = {}
        for notification_id, cloudevent in prepared:
            if cloudevent is None:  # a private event
                sent.append((notification_id, None))
                continue
            payload = encode(cloudevent)
            if len(payload) > max_payload - 1024:
                stepped[notification_id] = f"{len(payload)} bytes, above the server's payload limit of {max_payload}"
                sent.append((notification_id, None))
                continue
            headers = {"Nats-Msg-Id": cloudevent["id"]}
            if sequence:
                headers["Nats-Expected-Last-Sequence"] = str(sequence)
            subject = self.catalogue.subject_of(cloudevent)
            outgoing[notification_id] = (subject, payload, headers)
            ack = await js.publish_async(subject, payload, headers=dict(headers), stream=stream)
            sent.append((notification_id, ack))
            sequence += 1
        outcomes = iter(await self._answers([ack for _, ack in sent if ack is not None]))
        acked, last_seq, failure, failed_at = position, self._stream_seq, None, None
        for notification_id, ack in sent:
            result = None if ack is None else next(outcomes)
            if isinstance(result, BaseException):
                failure, failed_at = result, notification_id
                break
            if notification_id in stepped:
                self._step_over(notification_id, stepped[notification_id])
            if result is not None:
                last_seq = result.seq if not result.duplicate else last_seq
            acked = notification_id
        if acked > position:
            published = max((n for n, ack in sent if ack is not None and n <= acked), default=None)
            last_public = max((n for n, cloudevent in prepared if cloudevent is not None and n <= acked), default=known)
            self._previous = (acked, last_public) if last_public is not None else None
            sent_last = max(((n, c) for n, c in prepared if c is not None and n <= acked and n not in stepped), default=None, key=lambda p: p[0])
            if sent_last is not None and sent_last[1].get("chainhash"):
                self._last_sent = (sent_last[0], sent_last[1]["chainhash"])
            self._unrecorded = (acked, published)  # recorded by the next read's hop, which the caller makes at once
            self._acked = (acked, hashes.get(acked))
            self._position, self._stream_seq = acked, last_seq
            self.status.published = acked
        if failure is not None and failed_at is not None:
            return await self._probe(js, stream, failed_at, outgoing[failed_at], last_seq, len(sent))
        self.status.blocked_on = None
        self.status.batches += 1
        self._refusals.clear()
        if waiting is not None:
            raise waiting
        return len(sent)

    async def _answers(self, acks: list[asyncio.Future[Any]]) -> list[Any]:
        """Each ack's answer or exception, in order; :class:`TimeoutError` for one unanswered ``ack_timeout`` seconds from now.

        One wait for the whole batch: a task per ack (``wait_for`` under ``gather``) was a tenth of the relay's CPU.
        """
        if not acks:
            return []
        _, late = await asyncio.wait(acks, timeout=self.ack_timeout)
        for ack in late:
            ack.cancel()
        return [TimeoutError() if ack in late or ack.cancelled() else (ack.exception() or ack.result()) for ack in acks]

    def _record_acknowledged(self) -> None:
        """Record the position acknowledged last, if it is not yet (blocks: in a worker thread)."""
        unrecorded = self._unrecorded
        if unrecorded is not None:
            self.app.record_relayed(*unrecorded)
            if self._unrecorded == unrecorded:
                self._unrecorded = None

    def _read(
        self, position: int, previous: int | None = None
    ) -> tuple[list[tuple[int, dict[str, Any] | None]], MunicipalityUnknownError | None, dict[int, str]] | object | None:
        """The batch after ``position``, prepared (:meth:`_prepare`), with the chain's hash at each of its positions;
        None when nothing follows it; :data:`WENT_BACK` when the store no longer holds, at ``position``, the event it
        held there when the relay got to it (:attr:`_acked`): it was put back from a backup under the running service,
        and commands it took since would go out at positions the stream holds for others. Blocks: run in a worker thread.

        The check costs no select of its own: the batch's chain is read from ``position`` on, one row more. Then it
        records the position the batch before got to (:attr:`_unrecorded`): the relay records how far it got in the
        same hop as its next read, not in a hop of its own (and never into a store that went back).
        """
        notifications = self.app.log_after(position, self.batch_size)
        if not notifications:
            self._record_acknowledged()
            return None
        hashes = self.app.chain_hashes(position if position > 0 else notifications[0].id, notifications[-1].id)
        acked = self._acked
        if acked is not None and acked[0] == position and acked[1] is not None and hashes.get(position) != acked[1]:
            return WENT_BACK
        if acked is None or acked[0] != position:  # just aligned (or moved on by a refusal): the store as it is now
            self._acked = (position, hashes.get(position))
        self._record_acknowledged()
        prepared, waiting = self._prepare(notifications, previous, hashes)
        return prepared, waiting, hashes

    def _prepare(
        self, notifications: list[Any], previous: int | None = None, hashes: dict[int, str] | None = None
    ) -> tuple[list[tuple[int, dict[str, Any] | None]], MunicipalityUnknownError | None]:
        """Each notification's CloudEvent (None for a private event), read in a worker thread: the store and the views block.

        ``previous``: the last public position before the first notification, when the relay knows it from the
        batch before; else it is read from the log. ``hashes``: the chain's hash at each position, when read
        already. Stops before an event whose OSV's municipality is not known
        here yet (its subject needs it): that error comes back with what came before,
        which goes out; the relay then waits for registry's mapping.
        """
        private = self.catalogue.private_topics
        if previous is None:
            previous = self.app.previous_public(notifications[0].id, private)
        if hashes is None:
            hashes = self.app.chain_hashes(notifications[0].id, notifications[-1].id)
        prepared: list[tuple[int, dict[str, Any] | None]] = []
        for notification in notifications:
            if notification.topic in private:
                prepared.append((notification.id, None))
                continue
            try:
                cloudevent = self.catalogue.to_cloudevent(
                    notification.id,
                    self.app.decode(notification),
                    previous=previous,
                    locate=self.app.municipality_of,
                    chainhash=hashes.get(notification.id),
                )
            except MunicipalityUnknownError as error:
                return prepared, error
            prepared.append((notification.id, cloudevent))
            previous = notification.id
        return prepared, None

    async def _probe(
        self, js: JetStreamContext, stream: str, position: int, message: tuple[str, bytes, dict[str, str]], last_seq: int, covered: int
    ) -> int:
        """Publish the first event that failed once more, waiting for its answer, to learn why it failed.

        (nats-py's asynchronous publish never reports JetStream's refusals:
        they surface as ack timeouts. A plain publish raises them.) Accepted,
        the relay goes on from it; refused because the stream moved (a
        duplicate, another writer), it learns the stream's state again; refused
        for any other reason, it is retried with backoff and in the end stepped
        over; no answer at all, NATS is away.
        """
        subject, payload, headers = message
        headers = {**headers}
        headers.pop("Nats-Expected-Last-Sequence", None)
        if last_seq:
            headers["Nats-Expected-Last-Sequence"] = str(last_seq)
        self._stream_seq = None  # learn the stream's state again before going on
        try:
            await js.publish(subject, payload, timeout=self.ack_timeout, stream=stream, headers=headers)
        except APIError as error:
            if error.err_code == WRONG_LAST_SEQUENCE:
                return covered
            self._refused(position, error)
            raise
        await asyncio.to_thread(self.app.record_relayed, position, position)
        self._position = position
        self.status.published = position
        self.status.blocked_on = None
        self._refusals.clear()
        return covered

    def _refused(self, position: int, error: APIError) -> None:
        """The stream refused this event: retried with backoff, and stepped over after ``refusal_attempts``."""
        count = self._refusals.get(position, 0) + 1
        self._refusals = {position: count}
        self.status.blocked_on = position
        if count >= self.refusal_attempts:
            self._refusals.clear()
            self.status.blocked_on = None
            self._step_over(position, f"refused {count} times: {error.description or error}")
            # Nothing before it is unacked, so the relay's position moves over it.
            self.app.record_relayed(position)
            self._position = position

    def _step_over(self, position: int, reason: str) -> None:
        log.error(
            "relay %s: stepped over event %s, which the stream cannot take (%s); consumers fetch it from GET /events",
            self.catalogue.service, position, reason,
        )
        self.status.stepped_over = [*self.status.stepped_over[-99:], {"position": position, "reason": reason}]


def _chainhash_in(payload: bytes) -> str | None:
    """The ``chainhash`` a published CloudEvent carries (None for one published before the chain existed, or unreadable)."""
    try:
        value = json.loads(payload).get("chainhash")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _position_in(headers: dict[str, str], service: str) -> int | None:
    """The log position a stream message carries in its ``Nats-Msg-Id`` (``<service>:<position>``)."""
    message_id = headers.get("Nats-Msg-Id", "")
    prefix = f"{service}:"
    if message_id.startswith(prefix) and message_id[len(prefix):].isdigit():
        return int(message_id[len(prefix):])
    return None
