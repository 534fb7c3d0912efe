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
from nats.js.errors import NotFoundError
from sqlalchemy.exc import InterfaceError, OperationalError

from shared.events import EventCatalogue, decode, encode
from shared.store import ServiceApplication

log = logging.getLogger(__name__)


class NatsLink:
    """Owns the process's NATS connection; connects in the background and keeps trying.

    A service starts and takes commands while NATS is down: the relay simply
    waits for :attr:`js`.
    """

    def __init__(
        self,
        url: str,
        name: str,
        stream: str = "OSV",
        replicas: int = 1,
        duplicate_window: float = 600.0,
    ) -> None:
        self.url = url
        self.name = name
        self.stream = stream
        self.replicas = replicas
        self.duplicate_window = duplicate_window
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name=f"{self.name}-nats")

    async def wait_ready(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _on_error(self, error: Exception) -> None:
        log.debug("NATS %s: %s", self.name, error)

    async def _on_disconnected(self) -> None:
        log.warning("NATS %s: disconnected from %s", self.name, self.url)

    async def _on_reconnected(self) -> None:
        log.info("NATS %s: reconnected", self.name)

    async def _connect_forever(self) -> None:
        delay = 0.2
        while True:
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
                await ensure_stream(js, self.stream, self.replicas, self.duplicate_window)
            except Exception as error:  # noqa: BLE001 - any failure means "try again later"
                log.warning("NATS not reachable at %s (%s); retrying", self.url, error)
                with contextlib.suppress(Exception):
                    await nc.close()  # type: ignore[possibly-undefined]
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.nc, self.js = nc, js
            self._ready.set()
            log.info("connected to NATS at %s", self.url)
            return

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.nc is not None:
            # Flush what is buffered (acks), then close. ``drain()`` would wait up to
            # its 30 s timeout for pull subscriptions that have nothing more to deliver.
            with contextlib.suppress(Exception):
                await self.nc.flush(timeout=2)
            with contextlib.suppress(Exception):
                await self.nc.close()


async def ensure_stream(
    js: JetStreamContext, name: str, replicas: int = 1, duplicate_window: float = 600.0
) -> None:
    """Create the one stream that holds ``osv.>`` if it does not exist yet."""
    config = StreamConfig(
        name=name,
        subjects=["osv.>"],
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=duplicate_window,
    )
    try:
        await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(config)


@dataclass
class RelayStatus:
    published: int = 0
    last_error: str | None = None


@dataclass
class OutboxRelay:
    """Publishes the application's notification log to JetStream, in order, once."""

    app: ServiceApplication
    catalogue: EventCatalogue
    link: NatsLink
    batch_size: int = 1000
    poll_seconds: float = 0.05
    ack_timeout: float = 5.0
    status: RelayStatus = field(default_factory=RelayStatus)

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

    async def _run(self, wake: asyncio.Event) -> None:
        await self.link.wait_ready()
        backoff = 0.2
        while True:
            wake.clear()  # a save from here on wakes the wait below
            try:
                moved = await self.publish_pending()
                self.status.last_error = None
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - NATS away: wait, then retry from the saved position
                self.status.last_error = f"{type(error).__name__}: {error}"
                log.warning("relay paused: %s", self.status.last_error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if not moved:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.poll_seconds)

    async def publish_pending(self) -> int:
        """Publish one batch after the saved position; return how many went out."""
        assert self.link.js is not None
        position = await asyncio.to_thread(self.app.relayed_position)
        self.status.published = position
        notifications = await asyncio.to_thread(self.app.log_after, position, self.batch_size)
        if not notifications:
            return 0
        messages = [
            (notification.id, self.catalogue.to_cloudevent(notification.id, self.app.decode(notification)))
            for notification in notifications
        ]
        acks = [
            None
            if cloudevent is None  # private: nothing to publish, the position steps over it
            else await self.link.js.publish_async(
                f"osv.{self.catalogue.service}.{cloudevent['type']}",
                encode(cloudevent),
                headers={"Nats-Msg-Id": cloudevent["id"]},
                stream=self.link.stream,
            )
            for _, cloudevent in messages
        ]
        results = await asyncio.gather(
            *(asyncio.wait_for(ack, self.ack_timeout) for ack in acks if ack is not None), return_exceptions=True
        )
        outcomes = iter(results)
        acked = position
        failure: BaseException | None = None
        for (notification_id, _), ack in zip(messages, acks, strict=True):
            result = None if ack is None else next(outcomes)
            if isinstance(result, BaseException):
                failure = result
                break
            acked = notification_id
        if acked > position:
            await asyncio.to_thread(self.app.record_relayed, acked)
            self.status.published = acked
        if failure is not None:
            raise failure
        return len(messages)


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError, ConnectionError, OperationalError, InterfaceError)
"""Failures of the infrastructure (a locked or unreachable database, the network): retried for as long as they last."""

PARKED_STREAM = "OSV_PARKED"


class DurableConsumer:
    """A durable pull consumer: fetch a batch, let the handler commit it, then ack.

    The handler is synchronous (it runs in a worker thread) and must be
    idempotent: it is given every message at least once and de-duplicates by
    the per-source positions it stores with its own rows.

    Order matters to such a handler: once it has applied position 12, a late
    redelivery of position 10 looks already seen. So a batch that fails is
    held here and retried, in order, before anything newer is fetched (its
    ack deadline extended meanwhile), never left to a redelivery that could
    arrive after newer messages. A failure of the infrastructure (the
    database locked or away) is retried for as long as it lasts. A message
    that fails on its own for any other reason ``attempts`` times is a poison
    message: it is parked, with the error, on the ``OSV_PARKED`` stream
    (subject ``parked.<durable>``), acked, and counted in ``parked``; the
    messages after it go on. Nothing is dropped: the parked copy waits for an
    operator, and the source's store still holds the event.
    """

    def __init__(
        self,
        link: NatsLink,
        durable: str,
        subject: str,
        handler: Callable[[list[dict[str, Any]]], None],
        batch: int = 500,
        attempts: int = 5,
        retry_seconds: float = 1.0,
    ) -> None:
        self.link = link
        self.durable = durable
        self.subject = subject
        self.handler = handler
        self.batch = batch
        self.attempts = attempts
        self.retry_seconds = retry_seconds
        self.last_error: str | None = None
        self.parked = 0

    async def _subscription(self) -> Any:
        """Bind to the durable consumer, first restarting it after its ack floor if messages are pending.

        Messages a previous process fetched and never acked would be redelivered
        only when their ack deadline passes, after newer ones this process had
        already applied, and then look already seen. Recreating the consumer at
        the first unacked message delivers them again, in order, at once.
        """
        assert self.link.js is not None
        js, stream = self.link.js, self.link.stream
        start: int | None = None
        try:
            info = await js.consumer_info(stream, self.durable)
        except NotFoundError:
            info = None
        if info is not None and info.num_ack_pending:
            start = info.ack_floor.stream_seq + 1 if info.ack_floor else 1
            await js.delete_consumer(stream, self.durable)
            log.warning("consumer %s: %s messages were pending; restarting it at stream sequence %s", self.durable, info.num_ack_pending, start)
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL if start is None else DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            max_ack_pending=-1,
            ack_wait=60,
        )
        return await js.pull_subscribe(subject=self.subject, durable=self.durable, stream=stream, config=config)

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
