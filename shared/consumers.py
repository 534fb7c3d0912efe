"""Durable consumers: each view applies another service's stream, committing before it acks, parking poison messages.

The connection is :class:`shared.messaging.NatsLink`; what a consumer's
handler is, and how it applies each event once, is :mod:`shared.views`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError, ServiceUnavailableError
from sqlalchemy.exc import InterfaceError, OperationalError

from shared.events import decode
from shared.messaging import NatsLink

log = logging.getLogger(__name__)


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

    A stream or durable consumer that vanished while bound (a server that came
    back without its JetStream store: the pull requests go unanswered, nats-py's
    ``ServiceUnavailableError``) is made again (said once, at WARNING) and read
    from its start as its source's relay fills it again; the handler skips what
    it applied, by identity.
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
        self._bound = False
        """Whether this consumer was bound once: a stream or durable consumer missing after that was lost, and is said so."""

    async def _subscription(self) -> Any:
        """Bind to the durable consumer on the source's stream, creating both if they do not exist yet (again, when lost)."""
        assert self.link.js is not None
        js = self.link.js
        lost = self._bound and not await _stream_exists(js, self.link.stream_for(self.source))
        if lost:  # said once: its durable consumer went with it
            stream = await self.link.make_stream_again(self.source, f"consumer {self.durable}")
        else:
            stream = await self.link.ensure_stream_of(self.source)
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=self.subject,
            max_ack_pending=-1,
            ack_wait=self.ack_wait_seconds,
        )
        try:
            existing = await self.link.js.consumer_info(stream, self.durable)
        except NotFoundError:
            existing = None
            if self._bound and not lost:
                log.warning(
                    "consumer %s: its durable consumer on stream %s does not exist on NATS (the server lost its JetStream store, "
                    "or it was deleted): making it again; it reads the stream from its start, skipping what was applied",
                    self.durable, stream,
                )
        if existing is not None and existing.config.filter_subject != self.subject:
            # made for an earlier subject layout: the same durable consumer, filtering the subjects as they are now
            await js.add_consumer(stream, config)
        subscription = await js.pull_subscribe(subject=self.subject, durable=self.durable, stream=stream, config=config)
        self._bound = True
        return subscription

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
            except (NotFoundError, ServiceUnavailableError) as error:  # the stream or the consumer gone, or made again: bind anew
                if subscription is None:  # binding failed
                    self._failed(error)
                else:  # binding again says what it finds
                    self.last_error = f"{type(error).__name__}: {error}"
                    with contextlib.suppress(Exception):  # NATS away: nothing to take down there
                        await subscription.unsubscribe()
                    subscription = None
                await asyncio.sleep(self.retry_seconds)
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


async def _stream_exists(js: Any, stream: str) -> bool:
    """Whether NATS holds ``stream``; raises what else it answered."""
    try:
        await js.stream_info(stream)
    except NotFoundError:
        return False
    return True
