"""NATS JetStream: one connection per process, and a stream per write service.

The outbox relay that publishes a service's events is :mod:`shared.relay`;
the durable consumers that apply another service's events are
:mod:`shared.consumers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    RawStreamMsg,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, NotFoundError

from shared.events import PROGRAMME_PREFIX
from shared.lifecycle import stop_tasks, within

log = logging.getLogger(__name__)


SECRET_QUERY = re.compile(
    r"([?&](?:[\w.-]*[_.-])?(?:key|apikey|token|secret|password|passwd|pwd|sig|signature|auth|credentials?|code)=)[^&#\s'\"]*",
    re.IGNORECASE,
)
"""A query parameter whose name says it holds a secret (``?key=``, ``api_key``, ``access_token``, ``X-Amz-Signature``,
``code``…): its value is never printed. Others (``after``, ``limit``, ``stream``) are, to say which page was asked."""


def redacted(url: str) -> str:
    """A NATS URL (or comma-separated list) fit for a log: any password replaced by ``***``; an HTTP URL's too, and
    any in a line of text that holds URLs (:func:`shared.clientmessages.redacted`: a feed's URL may carry one); and the
    value of a query parameter named for a secret (:data:`SECRET_QUERY`: a proxy in front of a feed may want a key)."""
    return SECRET_QUERY.sub(r"\1***", re.sub(r"//([^:/@,\s]*):[^@/,\s]*@", r"//\1:***@", url))


def stream_name(prefix: str, service: str) -> str:
    """The JetStream stream that holds one service's events: ``OSV_REGISTRY`` for prefix ``OSV``."""
    return f"{prefix}_{service.upper()}"


def stream_subjects(service: str) -> list[str]:
    """A service stream's subjects: its events (``osv.<service>.>``, what partners' filters take from) and the events no
    partner reads (``osv-programme.<service>.>``, :data:`shared.events.PROGRAMME_PREFIX`)."""
    return [f"osv.{service}.>", f"{PROGRAMME_PREFIX}.{service}.>"]


SUBJECT_LAYOUT_KEY = "osv-subjects"
SUBJECT_LAYOUT = "osv.<service>.<municipality>.<type>"
"""Kept in each service stream's metadata: a stream without it holds the earlier ``osv.<service>.<type>`` subjects."""


PING_SECONDS = 10.0
"""How often the link pings its server; two pings unanswered and it counts as lost (nats-py's default: every 2 minutes).

A server that hangs without closing its sockets (stopped, swapping, its
host frozen) is otherwise seen as connected for minutes, and ``/health``
says ``"nats": "connected"`` all that while."""


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
        ping_seconds: float = PING_SECONDS,
    ) -> None:
        self.url = url
        self.ping_seconds = ping_seconds
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
        self.reconnects = 0
        """How many times the connection came back since it was first made: the relay and the heads look at their
        stream and bucket again after each (the server may have come back without its JetStream store)."""

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
        await ensure_stream(
            self.js, name, stream_subjects(service), self.replicas, self.duplicate_window, self.stream_prefix,
            owner=service == self.own_service,
        )
        return name

    async def make_stream_again(self, service: str, by: str) -> str:
        """Make the service's stream again, as :meth:`ensure_stream_of` makes it at start, after NATS answered that it
        does not exist (a server that lost its JetStream store, or the stream deleted); return its name.

        Said once, at WARNING, naming ``by`` (who found it missing: ``relay registry``, ``consumer funding-osvs``).
        Raises what NATS raised (the caller tries again later).
        """
        name = self.stream_for(service)
        log.warning(
            "%s: stream %s does not exist on NATS (the server lost its JetStream store, or the stream was deleted): "
            "making it again; its service's relay fills it again from the event store", by, name,
        )
        return await self.ensure_stream_of(service)

    async def _on_error(self, error: Exception) -> None:
        if self._ready.is_set():
            log.debug("NATS %s: %s", self.name, error)
            return
        # nats-py retries the first connection itself, silently: say so now and then.
        now = asyncio.get_running_loop().time()
        if now >= self._next_unreachable_log:
            self._next_unreachable_log = now + 30.0
            log.warning("NATS %s: not reachable at %s (%s: %s); still trying", self.name, redacted(self.url), type(error).__name__, error)

    async def _on_disconnected(self) -> None:
        log.warning("NATS %s: disconnected from %s", self.name, redacted(self.url))

    async def _on_reconnected(self) -> None:
        # A warning, as the disconnection was: the console (WARNING and up) says the outage ended (tester 25b).
        self.reconnects += 1
        log.warning("NATS %s: reconnected to %s", self.name, redacted(self.url))

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
                    ping_interval=self.ping_seconds,  # type: ignore[arg-type]  # nats-py sleeps on it: a float is fine
                    max_outstanding_pings=2,
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
                log.warning("NATS not reachable at %s (%s); retrying", redacted(self.url), error)
                if nc is not None:
                    await within(nc.close(), 1.0, f"NATS {self.name}: close")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.nc = nc
            self._ready.set()
            log.info("connected to NATS at %s", redacted(self.url))
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


async def messages_on(js: JetStreamContext, stream: str, subject: str, start: int = 1) -> AsyncIterator[RawStreamMsg]:
    """Every message ``stream`` holds on ``subject`` (wildcards allowed) from sequence ``start`` on, oldest first, read
    one by one by sequence (``next_by_subj``): no consumer is made, and a subject without messages costs one request."""
    sequence = start
    while True:
        try:
            message = await js.get_msg(stream, sequence, subject=subject, next=True)
        except NotFoundError:  # nothing more on the subject after ``sequence``
            return
        yield message
        sequence = message.seq + 1


LEGACY_SUBJECTS = ["osv.>"]


async def ensure_stream(
    js: JetStreamContext,
    name: str,
    subjects: list[str],
    replicas: int = 1,
    duplicate_window: float = 600.0,
    legacy: str | None = None,
    *,
    owner: bool = False,
) -> None:
    """Create the stream if it does not exist yet; give an existing one the ``subjects`` it lacks.

    A stream made before the events no partner reads had a subject of their
    own (``osv-programme.<service>.>``) gains it, whoever ensures it first
    (a consumer of that subject cannot be made before). The service's own relay (``owner``) also replaces a stream of the earlier
    subject layout (``osv.<service>.<type>``, without the municipality; its
    metadata lacks :data:`SUBJECT_LAYOUT`): partners' streams take
    ``osv.*.<ubigeo>.>``, which its messages would never match. It is
    deleted and made again, and the relay publishes the whole log into it
    (consumers skip what they applied, by identity).

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
        metadata={SUBJECT_LAYOUT_KEY: SUBJECT_LAYOUT},
    )
    try:
        existing = await js.stream_info(name)
    except NotFoundError:
        existing = None
    if existing is not None:
        if not owner or (existing.config.metadata or {}).get(SUBJECT_LAYOUT_KEY) == SUBJECT_LAYOUT:
            await _gain_subjects(js, existing.config, subjects)
            return
        log.warning("stream %s holds the earlier subjects without the municipality: making it again from the event store", name)
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(name)
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


async def _gain_subjects(js: JetStreamContext, config: StreamConfig, subjects: list[str]) -> None:
    """Add to an existing stream's config the ``subjects`` it lacks (nothing else of it changes)."""
    held = list(config.subjects or [])
    lacking = [subject for subject in subjects if subject not in held]
    if not lacking:
        return
    log.info("stream %s: taking subjects %s too", config.name, ", ".join(lacking))
    config.subjects = held + lacking
    await js.update_stream(config)
