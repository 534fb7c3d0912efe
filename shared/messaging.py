"""NATS JetStream: one connection per process, the outbox relay, durable consumers.

The relay reads the application's notification log and publishes each stored
event in order, many acks in flight, with ``Nats-Msg-Id = <service>:<position>``.
It records how far it got only after JetStream acknowledged every message up
to there. NATS down means events wait in the store; they are never lost, and
JetStream's de-duplication window stops a retry from storing one twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, BadRequestError, NotFoundError
from sqlalchemy.exc import InterfaceError, OperationalError

from shared.events import EventCatalogue, decode, encode
from shared.lifecycle import stop_tasks, within
from shared.store import ServiceApplication

log = logging.getLogger(__name__)


def stream_name(prefix: str, service: str) -> str:
    """The JetStream stream that holds one service's events: ``OSV_REGISTRY`` for prefix ``OSV``."""
    return f"{prefix}_{service.upper()}"


def stream_subjects(service: str) -> list[str]:
    return [f"osv.{service}.>"]


class NatsLink:
    """Owns the process's NATS connection; connects in the background and keeps trying.

    A service starts and takes commands while NATS is down: the relay simply
    waits for :attr:`js`. Each write service's events go to a stream of their
    own (``<prefix>_<SERVICE>``, subjects ``osv.<service>.>``), so its relay is
    that stream's only writer and can keep it in order with expected-sequence
    headers (see :class:`OutboxRelay`).
    """

    def __init__(
        self,
        url: str,
        name: str,
        stream: str = "OSV",
        replicas: int = 1,
        duplicate_window: float = 600.0,
        own_service: str | None = None,
    ) -> None:
        self.url = url
        self.name = name
        self.stream_prefix = stream
        self.replicas = replicas
        self.duplicate_window = duplicate_window
        self.own_service = own_service
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_unreachable_log = 0.0

    close_seconds: float = 3.0
    """Upper bound of :meth:`close`, NATS reachable or not."""

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def stream_for(self, service: str) -> str:
        return stream_name(self.stream_prefix, service)

    @property
    def stream(self) -> str:
        """The stream this process's relay writes to."""
        assert self.own_service is not None, "only a write service has a stream of its own"
        return self.stream_for(self.own_service)

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name=f"{self.name}-nats")

    async def wait_ready(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def ensure_stream_of(self, service: str) -> str:
        """Create the service's stream if it does not exist yet; return its name."""
        assert self.js is not None
        name = self.stream_for(service)
        await ensure_stream(self.js, name, stream_subjects(service), self.replicas, self.duplicate_window, self.stream_prefix)
        return name

    async def _on_error(self, error: Exception) -> None:
        if self._ready.is_set():
            log.debug("NATS %s: %s", self.name, error)
            return
        # nats-py retries the first connection itself, silently: say so now and then.
        now = asyncio.get_running_loop().time()
        if now >= self._next_unreachable_log:
            self._next_unreachable_log = now + 30.0
            log.warning("NATS %s: not reachable at %s (%s: %s); still trying", self.name, self.url, type(error).__name__, error)

    async def _on_disconnected(self) -> None:
        log.warning("NATS %s: disconnected from %s", self.name, self.url)

    async def _on_reconnected(self) -> None:
        log.info("NATS %s: reconnected", self.name)

    async def _connect_forever(self) -> None:
        delay = 0.2
        while True:
            nc: Client | None = None
            try:
                nc = await nats.connect(
                    [server.strip() for server in self.url.split(",")],
                    name=self.name,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                )
                js = nc.jetstream(timeout=5)
                self.js = js
                if self.own_service is not None:
                    await self.ensure_stream_of(self.own_service)
            except asyncio.CancelledError:
                self.js = None
                if nc is not None:  # connected, then stopped while making sure of the stream: close what was opened
                    await within(nc.close(), 1.0, f"NATS {self.name}: close")
                raise
            except Exception as error:  # noqa: BLE001 - any failure means "try again later"
                self.js = None
                log.warning("NATS not reachable at %s (%s); retrying", self.url, error)
                if nc is not None:
                    await within(nc.close(), 1.0, f"NATS {self.name}: close")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.nc = nc
            self._ready.set()
            log.info("connected to NATS at %s", self.url)
            return

    async def close(self, timeout: float | None = None) -> None:
        """Stop connecting, flush what is buffered (acks) and close, in about ``timeout`` seconds at most.

        With NATS out of reach every step could wait for good: a connect
        attempt that ignores its cancellation, a flush or a close stuck on a
        frozen server that reads nothing. Each step gets a third of the time;
        a close that does not end in its third drops the socket unflushed.
        (``drain()`` would wait up to its 30 s timeout for pull subscriptions
        that have nothing more to deliver.)
        """
        step = (self.close_seconds if timeout is None else timeout) / 3
        if self._task is not None:
            await stop_tasks([self._task], step, f"NATS {self.name}: connecting")
        nc = self.nc
        if nc is None:
            return
        if nc.is_connected:
            await within(nc.flush(timeout=max(1, int(step))), step, f"NATS {self.name}: flush")
        closing = asyncio.ensure_future(nc.close())
        done, _ = await asyncio.wait({closing}, timeout=step)
        if not done:
            log.warning("NATS %s: no clean close within %.1f s; dropping the connection", self.name, step)
            self._drop_socket(nc)
        await stop_tasks([closing], step, f"NATS {self.name}: close")

    @staticmethod
    def _drop_socket(nc: Client) -> None:
        """Abort the client's socket without sending what is buffered (nats-py has no public way)."""
        writer = getattr(getattr(nc, "_transport", None), "_io_writer", None)
        transport = getattr(writer, "transport", None)
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.abort()


LEGACY_SUBJECTS = ["osv.>"]


async def ensure_stream(
    js: JetStreamContext,
    name: str,
    subjects: list[str],
    replicas: int = 1,
    duplicate_window: float = 600.0,
    legacy: str | None = None,
) -> None:
    """Create the stream if it does not exist yet.

    A stream of an earlier version that held every service's events (``legacy``
    with subjects ``osv.>``) overlaps the per-service streams and is deleted
    first: the event stores are the record of truth, and each relay publishes
    its whole log again into an empty stream of its own (consumers skip what
    they applied, by identity).
    """
    config = StreamConfig(
        name=name,
        subjects=subjects,
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=duplicate_window,
    )
    try:
        await js.stream_info(name)
        return
    except NotFoundError:
        pass
    if legacy is not None:
        try:
            info = await js.stream_info(legacy)
        except NotFoundError:
            info = None
        if info is not None and list(info.config.subjects or []) == LEGACY_SUBJECTS:
            log.warning("deleting the earlier all-services stream %s: each service now has its own (%s)", legacy, name)
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(legacy)
    try:
        await js.add_stream(config)
    except BadRequestError:
        # Another process created it a moment ago (same name, same config): fine if it is there now.
        await js.stream_info(name)


WRONG_LAST_SEQUENCE = 10071
"""JetStream's error code when ``Nats-Expected-Last-Sequence`` does not match the stream."""


@dataclass
class RelayStatus:
    published: int = 0
    last_error: str | None = None
    role: str = "starting"
    """``active`` (this replica holds the store's relay lease and publishes), ``standby`` or ``starting``."""
    blocked_on: int | None = None
    """The position the stream keeps refusing, while the relay retries it."""
    stepped_over: list[dict[str, Any]] = field(default_factory=list)
    """Events the stream could never take (too large, refused too long): their position and why; consumers fetch them from the feed."""


class RelayLease:
    """At most one active relay per event store; see :mod:`shared.lease`. This base always holds (one process, in memory)."""

    def hold(self) -> bool:
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
    """

    app: ServiceApplication
    catalogue: EventCatalogue
    link: NatsLink
    batch_size: int = 1000
    poll_seconds: float = 0.05
    ack_timeout: float = 5.0
    lease: RelayLease = field(default_factory=RelayLease)
    refusal_attempts: int = 8
    lease_retry_seconds: float = 1.0
    status: RelayStatus = field(default_factory=RelayStatus)
    _stream_seq: int | None = None
    _position: int | None = None
    _refusals: dict[int, int] = field(default_factory=dict)

    async def run(self) -> None:
        """Publish whenever the application saves (woken in-process), polling too for other writers."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def listener() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closing: the next start publishes it
                loop.call_soon_threadsafe(wake.set)

        self.app.recorded_listeners.append(listener)
        try:
            await self._run(wake)
        finally:
            self.app.recorded_listeners.remove(listener)
            await asyncio.to_thread(self.lease.release)

    async def _run(self, wake: asyncio.Event) -> None:
        await self.link.wait_ready()
        backoff = 0.2
        while True:
            if not await asyncio.to_thread(self.lease.hold):
                if self.status.role != "standby":
                    log.info("relay %s: another replica holds the store's relay lease; standing by", self.catalogue.service)
                self.status.role, self._stream_seq, self._position = "standby", None, None
                await asyncio.sleep(self.lease_retry_seconds)
                continue
            if self.status.role != "active":
                log.info("relay %s: holding the store's relay lease; publishing", self.catalogue.service)
                self.status.role = "active"
            wake.clear()  # a save from here on wakes the wait below
            try:
                moved = await self.publish_pending()
                self.status.last_error = None
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - NATS away or a refusal: wait, then retry from the acked position
                self._stream_seq = None
                self.status.last_error = f"{type(error).__name__}: {error}"
                log.warning("relay %s paused: %s", self.catalogue.service, self.status.last_error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if not moved:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.poll_seconds)

    async def _align(self, js: JetStreamContext, stream: str) -> None:
        """Learn the stream's last sequence, and where in the log to go on from.

        The id of the stream's last message says how far it holds the log: a
        relay that crashed after publishing and before recording skips what is
        already there. A stream that holds less than was acknowledged (deleted
        and made again, or a tail lost) is filled again from what it still
        holds, or from the start when it is empty; consumers skip what they
        applied, by identity.
        """
        recorded, acknowledged = await asyncio.to_thread(lambda: (self.app.relayed_position(), self.app.published_position()))
        info = await js.stream_info(stream)
        last_seq = info.state.last_seq
        position = recorded
        held = None
        if info.state.messages:
            last = await js.get_msg(stream, last_seq)
            held = _position_in(last.headers or {}, self.catalogue.service)
        if held is None and acknowledged and not info.state.messages:
            log.warning(
                "relay %s: stream %s is empty but held events up to %s: publishing the log again from the start",
                self.catalogue.service, stream, acknowledged,
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
        notifications = await asyncio.to_thread(self.app.log_after, position, self.batch_size)
        if not notifications:
            return 0
        private = self.catalogue.private_topics
        previous = await asyncio.to_thread(self.app.previous_public, notifications[0].id, private)
        max_payload = self.link.nc.max_payload if self.link.nc is not None else 1024 * 1024
        sequence = self._stream_seq
        sent: list[tuple[int, Any]] = []  # (position, ack future, or None: nothing to wait for)
        outgoing: dict[int, tuple[str, bytes, dict[str, str]]] = {}
        stepped: dict[int, str] = {}
        for notification in notifications:
            if notification.topic in private:
                sent.append((notification.id, None))
                continue
            cloudevent = self.catalogue.to_cloudevent(notification.id, self.app.decode(notification), previous=previous)
            assert cloudevent is not None
            payload = encode(cloudevent)
            if len(payload) > max_payload - 1024:
                stepped[notification.id] = f"{len(payload)} bytes, above the server's payload limit of {max_payload}"
                sent.append((notification.id, None))
                previous = notification.id
                continue
            headers = {"Nats-Msg-Id": cloudevent["id"]}
            if sequence:
                headers["Nats-Expected-Last-Sequence"] = str(sequence)
            subject = self.catalogue.subject_of(cloudevent)
            outgoing[notification.id] = (subject, payload, headers)
            ack = await js.publish_async(subject, payload, headers=dict(headers), stream=stream)
            sent.append((notification.id, ack))
            sequence += 1
            previous = notification.id
        pending = [ack for _, ack in sent if ack is not None]
        results = await asyncio.gather(*(asyncio.wait_for(ack, self.ack_timeout) for ack in pending), return_exceptions=True)
        outcomes = iter(results)
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
            await asyncio.to_thread(self.app.record_relayed, acked, published)
            self._position, self._stream_seq = acked, last_seq
            self.status.published = acked
        if failure is not None and failed_at is not None:
            return await self._probe(js, stream, failed_at, outgoing[failed_at], last_seq, len(sent))
        self.status.blocked_on = None
        self._refusals.clear()
        return len(sent)

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
            ack = await js.publish(subject, payload, timeout=self.ack_timeout, stream=stream, headers=headers)
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


def _position_in(headers: dict[str, str], service: str) -> int | None:
    """The log position a stream message carries in its ``Nats-Msg-Id`` (``<service>:<position>``)."""
    message_id = headers.get("Nats-Msg-Id", "")
    prefix = f"{service}:"
    if message_id.startswith(prefix) and message_id[len(prefix):].isdigit():
        return int(message_id[len(prefix):])
    return None


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError, ConnectionError, OperationalError, InterfaceError)
"""Failures of the infrastructure (a locked or unreachable database, the network): retried for as long as they last."""

PARKED_STREAM = "OSV_PARKED"


class DurableConsumer:
    """A durable pull consumer of one service's stream: fetch a batch, let the handler commit it, then ack.

    The handler is synchronous (it runs in a worker thread) and idempotent by
    identity (a :class:`shared.views.View` with its ledger): it is given every
    message at least once, in any order, and any number of replicas may share
    the durable consumer, each receiving some of the messages.

    A batch that fails is held here and retried before anything newer is
    fetched (its ack deadline extended meanwhile). A failure of the
    infrastructure (the database locked or away) is retried for as long as it
    lasts. A message that fails on its own for any other reason ``attempts``
    times is a poison message: it is parked, with the error, on the
    ``OSV_PARKED`` stream (subject ``parked.<durable>``), acked, and counted in
    ``parked``; the messages after it go on. Nothing is dropped: the parked
    copy waits for an operator, the source's store still holds the event, and
    the view's follower reports it missing in ``/health``.
    """

    def __init__(
        self,
        link: NatsLink,
        durable: str,
        subject: str,
        handler: Callable[[list[dict[str, Any]]], Any],
        batch: int = 500,
        attempts: int = 5,
        retry_seconds: float = 1.0,
        source: str | None = None,
        ack_wait_seconds: float = 30.0,
    ) -> None:
        self.link = link
        self.durable = durable
        self.subject = subject
        self.handler = handler
        self.batch = batch
        self.attempts = attempts
        self.retry_seconds = retry_seconds
        self.source = source or subject.split(".")[1]
        self.ack_wait_seconds = ack_wait_seconds
        self.last_error: str | None = None
        self.parked = 0

    async def _subscription(self) -> Any:
        """Bind to the durable consumer on the source's stream, creating both if they do not exist yet."""
        assert self.link.js is not None
        stream = await self.link.ensure_stream_of(self.source)
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=self.subject,
            max_ack_pending=-1,
            ack_wait=self.ack_wait_seconds,
        )
        return await self.link.js.pull_subscribe(subject=self.subject, durable=self.durable, stream=stream, config=config)

    async def run(self) -> None:
        await self.link.wait_ready()
        subscription = None
        while True:
            try:
                if subscription is None:
                    subscription = await self._subscription()
                try:
                    messages = await subscription.fetch(self.batch, timeout=1)
                except TimeoutError:
                    continue
                await self._deliver(messages)
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - NATS away: not acked, so redelivered in order later
                self._failed(error)
                await asyncio.sleep(self.retry_seconds)

    async def _deliver(self, messages: list[Any]) -> None:
        """Apply the batch whole; if it keeps failing, one message at a time, parking a poison message."""
        for attempt in range(1, self.attempts + 1):
            try:
                await self._apply(messages)
                return
            except Exception as error:  # noqa: BLE001 - held and retried, see the class docstring
                self._failed(error)
                if attempt < self.attempts or isinstance(error, TRANSIENT_ERRORS):
                    await self._hold(messages)
        for message in messages:
            await self._deliver_alone(message)

    async def _deliver_alone(self, message: Any) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._apply([message])
                return
            except Exception as error:  # noqa: BLE001 - held and retried, or parked
                self._failed(error)
                if attempt >= self.attempts and not isinstance(error, TRANSIENT_ERRORS):
                    await self._park(message, error)
                    return
                await self._hold([message])

    async def _apply(self, messages: list[Any]) -> None:
        events = [decode(message.data) for message in messages]
        await asyncio.to_thread(self.handler, events)
        for message in messages:
            await message.ack()

    async def _hold(self, messages: list[Any]) -> None:
        """Wait before retrying, telling JetStream the messages are still being worked on."""
        for message in messages:
            with contextlib.suppress(Exception):  # NATS away: the batch is held here all the same
                await message.in_progress()
        await asyncio.sleep(self.retry_seconds)

    async def _park(self, message: Any, error: Exception) -> None:
        assert self.link.js is not None
        js = self.link.js
        try:
            await js.stream_info(PARKED_STREAM)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(name=PARKED_STREAM, subjects=["parked.>"], storage=StorageType.FILE, num_replicas=self.link.replicas)
            )
        sequence = message.metadata.sequence.stream
        headers = {
            "Nats-Msg-Id": f"parked:{self.durable}:{sequence}",
            "Osv-Parked-Subject": message.subject,
            "Osv-Parked-Stream-Sequence": str(sequence),
            "Osv-Parked-Error": f"{type(error).__name__}: {error}"[:1000],
        }
        await js.publish(f"parked.{self.durable}", message.data, headers=headers, stream=PARKED_STREAM)
        await message.ack()
        self.parked += 1
        log.error("consumer %s parked stream message %s on %s: %s", self.durable, sequence, PARKED_STREAM, headers["Osv-Parked-Error"])

    def _failed(self, error: Exception) -> None:
        self.last_error = f"{type(error).__name__}: {error}"
        log.warning("consumer %s: %s", self.durable, self.last_error)
