"""The chain's heads, given out: the relay puts the store's head in a JetStream key-value bucket within a minute of the
store moving (an idle store's head is not put again).

A head given out is what makes a rewrite of the log visible (see :mod:`shared.chain`):
one key per head (``<service>.<position>``), never rewritten, read back by
``osv-verify`` and ``GET /verify``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timezone
from typing import Any

from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    StorageType,
    StreamConfig,
    StreamConsumerLimits,
)
from nats.js.errors import APIError, BadRequestError, KeyNotFoundError, NotFoundError

from shared.chaincheck import Head

log = logging.getLogger(__name__)

HEADS_BUCKET = "OSV_CHAIN_HEADS"
HEADS_STREAM = f"KV_{HEADS_BUCKET}"


MAXIMUM_MESSAGES_PER_SUBJECT_EXCEEDED = 10077  # JetStream's error code for a put to a key whose history is full

HEADS_CONSUMER_SECONDS = 300.0
"""The longest a consumer of the heads stream may go unread before the server removes it (the stream's
``consumer_limits.inactive_threshold``), and its default: nats-py's own for the watcher behind ``kv.keys()`` and
``kv.history()``. The auditor's NATS user may make consumers there and may not delete them
(:func:`devtools.nats_accounts.auditor_reads`): one it asks to keep for a year is refused
(``JSConsumerInactiveThresholdExcessErr``)."""


def head_key(service: str, position: int) -> str:
    """The key-value key of one head: ``<service>.<position>``, one key per head, never rewritten."""
    return f"{service}.{position:012d}"


def head_value(service: str, position: int, hash_: str, published_at: datetime) -> bytes:
    stamp = published_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return json.dumps({"service": service, "position": position, "hash": hash_, "published_at": stamp}, sort_keys=True).encode()


async def ensure_heads_bucket(js: Any, replicas: int = 1) -> Any:
    """The heads bucket, made if missing: a KV bucket whose stream refuses deletes, purges and roll-ups.

    (nats-py would make the bucket with roll-ups allowed, which lets a purge
    of a key drop its history; the stream is made here with them refused.)
    A key keeps its first 64 revisions and refuses more
    (``discard_new_per_subject``): otherwise 64 puts to a key would push the
    head given out first out of its history, unseen. No consumer of it
    outlives :data:`HEADS_CONSUMER_SECONDS` unread (a bucket made before
    that limit keeps none: the services may not update the stream).
    """
    try:
        await js.stream_info(HEADS_STREAM)
    except NotFoundError:
        config = StreamConfig(
            name=HEADS_STREAM,
            subjects=[f"$KV.{HEADS_BUCKET}.>"],
            max_msgs_per_subject=64,
            discard=DiscardPolicy.NEW,
            discard_new_per_subject=True,
            storage=StorageType.FILE,
            num_replicas=replicas,
            allow_rollup_hdrs=False,
            deny_delete=True,
            deny_purge=True,
            allow_direct=True,
            consumer_limits=StreamConsumerLimits(inactive_threshold=HEADS_CONSUMER_SECONDS),
            description="Chain heads of every service's event log: <service>.<position> = {service, position, hash, published_at}",
        )
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.stream_info(HEADS_STREAM)
    return await js.key_value(HEADS_BUCKET)


async def read_heads(js: Any, service: str | None = None) -> list[Head]:
    """Every head ever published to the bucket (every revision of every key), of one service or all."""
    try:
        info = await js.stream_info(HEADS_STREAM)
    except NotFoundError:
        return []
    if not info.state.messages:
        return []
    subject = f"$KV.{HEADS_BUCKET}.{service}.>" if service else f"$KV.{HEADS_BUCKET}.>"
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=30, filter_subject=subject
    )
    # Made unnamed ($JS.API.CONSUMER.CREATE.<stream>: the server names it), not by pull_subscribe, which names it in
    # the subject: the auditor's NATS user may make ephemeral consumers alone (devtools.nats_accounts.auditor_reads).
    consumer = await js.add_consumer(HEADS_STREAM, config)
    subscription = await js.pull_subscribe_bind(consumer.name, stream=HEADS_STREAM)
    heads: list[Head] = []
    try:
        while True:
            try:
                messages = await subscription.fetch(500, timeout=1)
            except TimeoutError:
                break
            for message in messages:
                value = json.loads(message.data)
                heads.append(Head(value["service"], int(value["position"]), value["hash"], value.get("published_at"), "kv"))
                if message.metadata.num_pending == 0:
                    return heads
    finally:
        await subscription.unsubscribe()
    return heads


class HeadPublisher:
    """Puts the store's chain head into the heads bucket every ``interval`` seconds (the relay calls it while it holds the lease).

    A head already put by this publisher is not put again: while the store
    does not move, the head given out last still holds it. A key whose
    history is full (the same head put 64 times, across restarts) counts as
    given out.

    With ``keep_given`` (reporting's, whose store no relay publishes), a head
    whose position was already given out with another hash (by this process
    or, read back from the bucket, an earlier one) is not put: the store was
    changed at or before that position, and a second head for it would only
    stand beside the first. It is logged as an ERROR once (``refused``), and
    ``GET /verify`` names the position.
    """

    def __init__(self, service: str, interval: float = 30.0, *, keep_given: bool = False) -> None:
        self.service = service
        self.interval = interval
        self.keep_given = keep_given
        self.last_published: tuple[int, str] | None = None
        self.refused: tuple[int, str] | None = None
        """The last head not put because its position was given out with another hash."""
        self._next = 0.0
        self._kv: Any = None

    async def maybe_publish(self, js: Any, app: Any) -> bool:
        """Put the head if it is due and new; True when a head was put. Raises what NATS raised otherwise."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._next:
            return False
        head = await asyncio.to_thread(app.chain_head)
        put = False
        if head is not None and head != self.last_published:
            if self._kv is None:
                self._kv = await ensure_heads_bucket(js)
            given = await self._given_out(head[0]) if self.keep_given else None
            if given is not None and given != head[1]:
                if self.refused != head:
                    log.error("%s: the store's chain hash at position %d is %s, but the head given out for that position is %s: "
                              "the store was changed at or before it; not giving out a second head for it (GET /verify names where)",
                              self.service, head[0], head[1], given)
                self.refused = head
            else:
                try:
                    await self._kv.put(head_key(self.service, head[0]),
                                       head_value(self.service, head[0], head[1], datetime.now(timezone.utc)))
                    put = True
                except APIError as error:  # anything else: not given out, tried again at the next turn
                    if error.err_code != MAXIMUM_MESSAGES_PER_SUBJECT_EXCEEDED:
                        raise
                self.last_published = head
        self._next = loop.time() + self.interval
        return put

    async def _given_out(self, position: int) -> str | None:
        """The hash of the head last given out for ``position`` (this process's, else the bucket's), or None."""
        if self.last_published is not None and self.last_published[0] == position:
            return self.last_published[1]
        try:
            entry = await self._kv.get(head_key(self.service, position))
        except KeyNotFoundError:
            return None
        try:
            hash_ = json.loads(entry.value or b"{}").get("hash")
        except (ValueError, AttributeError):
            return None
        return hash_ if isinstance(hash_, str) else None

    def forget(self) -> None:
        """After NATS came back, a failure, or another replica's turn: bind to the bucket again (made again if it is
        gone: a server that lost its JetStream store lost the heads given out) and put the store's head at the next turn."""
        self._kv = None
        self.last_published = None
        self._next = 0.0


async def keep_heads_published(publisher: HeadPublisher, link: Any, store: Any, lease: Any, turn_seconds: float = 1.0) -> None:
    """Put a store's chain head into the heads bucket as a relay would, for a store no relay publishes (reporting's).

    Every ``turn_seconds`` the publisher is asked (it puts a head at most every
    ``interval``, and only a new one) while NATS is connected and this process
    holds the store's ``lease`` (one replica gives heads out, as one relay
    would); a failure is logged and tried again at the next turn. Runs until
    cancelled, then releases the lease.
    """
    reconnects = link.reconnects
    try:
        while True:
            if link.reconnects != reconnects:  # the server may have come back without its store: the bucket made again
                reconnects = link.reconnects
                publisher.forget()
            if link.js is not None and link.connected and (lease.held() or await asyncio.to_thread(lease.hold)):
                try:
                    await publisher.maybe_publish(link.js, store)
                except Exception as error:  # noqa: BLE001 - the head waits for the next turn
                    publisher.forget()
                    log.warning("%s: publishing the chain head failed: %s: %s", publisher.service, type(error).__name__, error)
            await asyncio.sleep(turn_seconds)
    finally:
        await asyncio.to_thread(lease.release)
