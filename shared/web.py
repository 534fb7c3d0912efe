"""What every service's HTTP API shares: problem+json errors, ``/events``, ``/health``.

One table maps error families to statuses; no handler swallows an exception
and answers 200. The event store blocks, so routes that touch it are plain
``def`` routes (FastAPI runs them in its thread pool).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import idempotency
from shared.errors import ConflictError, DomainError, NotFoundError, RuleViolationError
from shared.events import EventCatalogue
from shared.messaging import DurableConsumer, NatsLink, OutboxRelay
from shared.settings import ServiceSettings
from shared.store import ServiceApplication, persistence_env

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
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
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


class Health(BaseModel):
    status: str = Field(description="`ok`, or `degraded` when NATS is unreachable or the relay is failing.")
    service: str
    store: str
    nats: str
    relay: RelayHealth
    consumers: dict[str, str | None] = Field(default_factory=dict, description="Last error of each consumer, if any.")
    parked: dict[str, int] = Field(
        default_factory=dict, description="Per consumer, poison messages parked on the OSV_PARKED stream since the service started."
    )


ConsumerSpec = tuple[str, str, Callable[[list[dict[str, Any]]], None]]


@dataclass
class Runtime:
    """Everything a running service owns, wired once in the FastAPI lifespan."""

    settings: ServiceSettings
    catalogue: EventCatalogue
    make_application: Callable[[dict[str, str]], ServiceApplication]
    consumers: Callable[[ServiceApplication], list[ConsumerSpec]] = lambda _: []
    app: ServiceApplication | None = None
    link: NatsLink | None = None
    relay: OutboxRelay | None = None
    durable: list[DurableConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def application_env(self) -> dict[str, str]:
        return persistence_env(self.settings.store_url(), lock_timeout_seconds=self.settings.postgres_lock_timeout_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        s = self.settings
        self.app = await asyncio.to_thread(self.make_application, self.application_env())
        self.link = NatsLink(s.nats_url, s.service_name, s.nats_stream, s.nats_stream_replicas, s.nats_duplicate_window_seconds)
        self.link.start()
        self.relay = OutboxRelay(
            self.app, self.catalogue, self.link, s.relay_batch_size, s.relay_poll_seconds, s.relay_ack_timeout_seconds
        )
        self.tasks.append(asyncio.create_task(self.relay.run(), name=f"{s.service_name}-relay"))
        for durable, subject, handler in self.consumers(self.app):
            consumer = DurableConsumer(self.link, durable, subject, handler)
            self.durable.append(consumer)
            self.tasks.append(asyncio.create_task(consumer.run(), name=durable))
        try:
            yield
        finally:
            for task in self.tasks:
                task.cancel()
            for task in self.tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.link.close()
            self.app.close()

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
            published_position=published, stored_position=head, lag=max(head - published, 0), last_error=status.last_error
        )
        nats_state = "connected" if self.link.connected else "disconnected"
        degraded = store != "ok" or nats_state != "connected" or status.last_error is not None
        return Health(
            status="degraded" if degraded else "ok",
            service=self.settings.service_name,
            store=store,
            nats=nats_state,
            relay=relay,
            consumers={c.durable: c.last_error for c in self.durable},
            parked={c.durable: c.parked for c in self.durable},
        )

    def event_page(self, after: int, limit: int) -> EventPage:
        assert self.app is not None
        head = self.app.log_head()
        notifications = self.app.log_after(after, limit)
        cloudevents = (self.catalogue.to_cloudevent(n.id, self.app.decode(n)) for n in notifications)
        events = [event for event in cloudevents if event is not None]
        return EventPage(after=after, next_after=notifications[-1].id if notifications else after, head=head, events=events)


def service_api(runtime: Runtime, *, title: str, description: str) -> FastAPI:
    """A FastAPI app with the runtime's lifespan, problem+json errors, ``/events`` and ``/health``."""
    api = FastAPI(title=title, description=description, version="0.1.0", lifespan=runtime.lifespan)
    api.state.runtime = runtime
    install_error_handlers(api)
    idempotency.install(api, service=runtime.settings.service_name, application=lambda: runtime.app)

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

    return api


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime
