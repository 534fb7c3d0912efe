"""What every service's HTTP API shares: problem+json errors, ``/events``, ``/health``.

One table maps error families to statuses; no handler swallows an exception
and answers 200. The event store blocks, so routes that touch it are plain
``def`` routes (FastAPI runs them in its thread pool).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.consumers import DurableConsumer
from shared.errors import ConflictError, DomainError, NotFoundError, RuleViolationError
from shared.events import EventCatalogue
from shared.following import FeedFollower
from shared.idempotency.middleware import install as install_idempotency
from shared.lease import lease_for
from shared.messaging import NatsLink
from shared.relay import OutboxRelay
from shared.settings import ServiceSettings
from shared.store import persistence_env
from shared.views import View

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

STATUS_OF: Mapping[type[Exception], tuple[int, str]] = {
    NotFoundError: (404, "Not Found"),
    AggregateNotFoundError: (404, "Not Found"),
    ConflictError: (409, "Conflict"),
    IntegrityError: (409, "Conflict"),
    RuleViolationError: (422, "Unprocessable Content"),
}


def problem(status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field_of(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def install_error_handlers(api: FastAPI) -> None:
    """Every error answers problem+json naming the field and the rule."""

    @api.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": "body" if e.get("type") == "json_invalid" else _field_of(e.get("loc", ())),
                "rule": e.get("type", "invalid"),
                "message": str(e.get("msg", "")).removeprefix("Value error, "),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Unprocessable Content", detail, errors)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, BodyTooLarge):
            return exc.problem()
        return problem(exc.status_code, str(exc.detail), str(exc.detail))

    for family, (status, title) in STATUS_OF.items():

        def handler(_: Request, exc: Exception, status: int = status, title: str = title) -> JSONResponse:
            if isinstance(exc, DomainError):
                errors = [{"field": exc.field, "rule": exc.rule or title.lower(), "message": exc.message}] if exc.field else None
                return problem(status, title, exc.message, errors)
            if isinstance(exc, IntegrityError):
                return problem(status, title, "Someone else changed this record at the same time; reload and try again.")
            return problem(status, title, "No such record.")

        api.add_exception_handler(family, handler)


class EventPage(BaseModel):
    """A page of the service's event log as CloudEvents 1.0 structured JSON."""

    after: int = Field(description="The position this page starts after.")
    next_after: int = Field(description="Pass as `after` to read on; equals `after` when the page is empty.")
    head: int = Field(description="The highest position stored when the page was read.")
    events: list[dict[str, Any]]


class RelayHealth(BaseModel):
    published_position: int
    stored_position: int
    lag: int
    last_error: str | None
    role: str = Field(
        default="active",
        description="`active` when this replica holds the store's relay lease and publishes, `standby` when another does.",
    )
    blocked_on: int | None = Field(default=None, description="The position the stream keeps refusing, while the relay retries it.")
    stepped_over: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Events the stream could never take (position and reason), since the process started; consumers fetch them from the feed.",
    )


class SourceHealth(BaseModel):
    applied_floor: int = Field(description="Every event of the source at or below this position is applied (or holds nothing to apply).")
    feed: str = Field(description="`ok`, `not configured`, or the error reading the source's `GET /events`.")
    fetched_from_feed: int = Field(description="Events applied from the feed because the stream had not delivered them.")
    missing: list[list[int]] = Field(description="Ranges `[first, last]` of positions known to exist and not applied; non-empty makes the service degraded.")


class Health(BaseModel):
    status: str = Field(
        description="`ok`, or `degraded` when the store or NATS is unreachable, the relay is failing, or a view misses events."
    )
    service: str
    store: str
    nats: str
    relay: RelayHealth
    consumers: dict[str, str | None] = Field(default_factory=dict, description="Last error of each consumer, if any.")
    parked: dict[str, int] = Field(
        default_factory=dict, description="Per consumer, poison messages parked on the OSV_PARKED stream since the service started."
    )
    views: dict[str, dict[str, SourceHealth]] = Field(
        default_factory=dict, description="Per view built from other services' events, per source: how far it is applied and what it misses."
    )


@dataclass
class Following:
    """The durable consumers and feed followers that keep a process's views up to date."""

    consumers: list[DurableConsumer] = field(default_factory=list)
    followers: list[FeedFollower] = field(default_factory=list)

    @classmethod
    def start(
        cls, link: NatsLink, views: list[View], settings: ServiceSettings, tasks: list[asyncio.Task[None]], batch: int = 500
    ) -> Following:
        """A durable consumer per view and source, and a feed follower per view, each as a task."""
        following = cls()
        for view in views:
            for source in view.sources:
                consumer = DurableConsumer(
                    link, view.durable_for(source), view.subject_for(source), view.apply, batch=batch, source=source
                )
                following.consumers.append(consumer)
                tasks.append(asyncio.create_task(consumer.run(), name=consumer.durable))
            follower = FeedFollower(view, settings.feed_urls, interval=settings.follow_interval_seconds)
            following.followers.append(follower)
            tasks.append(asyncio.create_task(follower.run(), name=f"{view.name}-follower"))
        return following

    def health(self) -> dict[str, dict[str, SourceHealth]]:
        return {
            follower.view.name: {source: SourceHealth(**state) for source, state in follower.health().items()}
            for follower in self.followers
        }

    @property
    def missing(self) -> bool:
        return any(follower.missing for follower in self.followers)


async def stop_tasks(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


@dataclass
class Runtime:
    """Everything a running service owns, built by its ``bootstrap.py`` and wired once in the FastAPI lifespan.

    ``make_application`` builds the service's one application from the event
    store's settings (reporting, which stores no events, ignores them);
    ``views`` names the tables the application follows from other services'
    events: each gets a durable consumer per source and a feed follower. A
    service with a ``catalogue`` publishes its events: it gets an outbox
    relay to its own stream. ``background`` adds the service's own long
    tasks (reporting's checkpoints).
    """

    settings: ServiceSettings
    catalogue: EventCatalogue | None
    make_application: Callable[[dict[str, str]], Any]
    views: Callable[[Any], list[View]] = lambda _: []
    background: Callable[[Any], list[Callable[[], Coroutine[Any, Any, None]]]] = lambda _: []
    consumer_batch: int = 500
    app: Any = None
    link: NatsLink | None = None
    relay: OutboxRelay | None = None
    following: Following = field(default_factory=Following)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def durable(self) -> list[DurableConsumer]:
        return self.following.consumers

    def application_env(self) -> dict[str, str]:
        return persistence_env(self.settings.store_url(), lock_timeout_seconds=self.settings.postgres_lock_timeout_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        s = self.settings
        publishes = self.catalogue is not None
        self.app = await asyncio.to_thread(self.make_application, self.application_env() if publishes else {})
        self.link = NatsLink(
            s.nats_url,
            s.service_name,
            s.nats_stream,
            s.nats_stream_replicas,
            s.nats_duplicate_window_seconds,
            own_service=s.service_name if publishes else None,
        )
        self.link.start()
        if self.catalogue is not None:
            self.relay = OutboxRelay(
                self.app,
                self.catalogue,
                self.link,
                s.relay_batch_size,
                s.relay_poll_seconds,
                s.relay_ack_timeout_seconds,
                lease=lease_for(s.store_url(), s.service_name),
                refusal_attempts=s.relay_refusal_attempts,
            )
            self.tasks.append(asyncio.create_task(self.relay.run(), name=f"{s.service_name}-relay"))
        views = self.views(self.app)
        self.following = Following.start(self.link, views, s, self.tasks, batch=self.consumer_batch)
        for job in self.background(self.app):
            self.tasks.append(asyncio.create_task(job(), name=f"{s.service_name}-{job.__name__}"))
        try:
            yield
        finally:
            await stop_tasks(self.tasks)
            await self.link.close()
            self.app.close()
            for engine in {id(view.engine): view.engine for view in views}.values():
                engine.dispose()

    def health(self) -> Health:
        assert self.app is not None and self.link is not None and self.relay is not None
        try:
            head = self.app.log_head()
            store = "ok"
        except Exception as error:  # noqa: BLE001 - reported, not raised
            head, store = 0, f"error: {error}"
        status = self.relay.status
        published = self.app.relayed_position()
        relay = RelayHealth(
            published_position=published,
            stored_position=head,
            lag=max(head - published, 0),
            last_error=status.last_error,
            role=status.role,
            blocked_on=status.blocked_on,
            stepped_over=status.stepped_over,
        )
        nats_state = "connected" if self.link.connected else "disconnected"
        degraded = (
            store != "ok"
            or nats_state != "connected"
            or status.last_error is not None
            or status.blocked_on is not None
            or self.following.missing
        )
        return Health(
            status="degraded" if degraded else "ok",
            service=self.settings.service_name,
            store=store,
            nats=nats_state,
            relay=relay,
            consumers={c.durable: c.last_error for c in self.durable},
            parked={c.durable: c.parked for c in self.durable},
            views=self.following.health(),
        )

    def event_page(self, after: int, limit: int) -> EventPage:
        assert self.app is not None
        head = self.app.log_head()
        notifications = self.app.log_after(after, limit)
        private = self.catalogue.private_topics
        previous = self.app.previous_public(notifications[0].id, private) if notifications else 0
        events = []
        for notification in notifications:
            if notification.topic in private:
                continue
            cloudevent = self.catalogue.to_cloudevent(notification.id, self.app.decode(notification), previous=previous)
            assert cloudevent is not None
            events.append(cloudevent)
            previous = notification.id
        return EventPage(after=after, next_after=notifications[-1].id if notifications else after, head=head, events=events)


class BodyTooLarge(StarletteHTTPException):
    """A request body over the service's limit: 413 problem+json naming the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the request body is over {limit} bytes, the most a command may carry")

    def problem(self) -> JSONResponse:
        return problem(413, "Content Too Large", self.detail, [{"field": "body", "rule": "max_body_bytes", "message": self.detail}])


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 problem+json, read no further.

    A command's event goes out on NATS, whose messages are at most 1 MB by
    default: a body under this limit (256 KiB unless configured) always makes
    an event the stream can take. A too large ``Content-Length`` is refused at
    once; a body without one is counted as it arrives.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await BodyTooLarge(self.limit).problem()(scope, receive, send)
            return
        received = 0

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)  # an HTTP error: the routes' error handler answers it
            return message

        await self.app(scope, counted, send)


def base_api(runtime: Runtime, *, title: str, description: str) -> FastAPI:
    """A FastAPI app with the runtime's lifespan and problem+json errors."""
    api = FastAPI(title=title, description=description, version="0.1.0", lifespan=runtime.lifespan)
    api.state.runtime = runtime
    install_error_handlers(api)
    return api


def service_api(runtime: Runtime, *, title: str, description: str, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """A write service's app: :func:`base_api`, Idempotency-Key, the body limit, ``/events``, ``/health``, then ``routers``."""
    api = base_api(runtime, title=title, description=description)
    install_idempotency(api, service=runtime.settings.service_name, application=lambda: runtime.app)
    api.add_middleware(BodyLimit, limit=runtime.settings.max_body_bytes)  # outermost: before anything reads the body

    @api.get("/events", tags=["events"], response_model=EventPage)
    def read_events(
        after: Annotated[int, Query(ge=0, description="Return events after this position.")] = 0,
        limit: Annotated[int, Query(ge=1, le=1000, description="At most this many events.")] = 100,
    ) -> EventPage:
        """Read the service's stored events in order, as CloudEvents, for auditors and rebuilds."""
        return runtime.event_page(after, limit)

    @api.get("/health", tags=["operations"], response_model=Health)
    def health() -> Health:
        """Report the store, the NATS connection and how far the relay lags behind the store."""
        return runtime.health()

    for router in routers:
        api.include_router(router)
    return api


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def application_of(request: Request) -> Any:
    """The service's one application, as the lifespan built it: routes take it as a dependency."""
    return runtime_of(request).app
