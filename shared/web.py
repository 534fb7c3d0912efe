"""What every service's HTTP API shares: problem+json errors (:mod:`shared.problems`), ``/events``, ``/health``.

The event store blocks, so routes that touch it are plain ``def`` routes
(FastAPI runs them in its thread pool).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from sqlalchemy import Engine, create_engine, text

from shared import dryrun
from shared.asyncapi import document_for
from shared.auditapi import VerifyAnswer, install_audit
from shared.auth import (
    CallerDep,
    Permission,
    RoutePermissions,
    ServiceCredentials,
    install_auth,
    known_subject_of_request,
    reach_of_request,
    role_kind,
    subject_of_request,
    swagger_ui_oauth,
    within,
)
from shared.chain import ChainedSQLiteFactory
from shared.chaincheck import Head, entries_of_store, verify
from shared.chainheads import HEADS_BUCKET, HeadPublisher, keep_heads_published, read_heads
from shared.consumers import DurableConsumer
from shared.cors import install_cors
from shared.docs import install_docs
from shared.errors import StartupRefusedError, StartupWaitsError
from shared.events import EventCatalogue, EventPage
from shared.files import private_dir
from shared.following import FeedFollower
from shared.guards import PROBLEM_JSON, RequestGuard, SecureHeaders, install_documentation
from shared.health import HEALTH_RESPONSES, Health, Probes, RelayHealth, RelayStall, SourceHealth, StreamAheadHealth
from shared.idempotency.middleware import install as install_idempotency
from shared.kept import snapshots_disagreeing
from shared.lease import lease_for
from shared.lifecycle import (
    QuietRefusal,
    collect_less_often,
    die_with_supervisor,
    log_to_console,
    on_stop_signal,
    stop_tasks,
)
from shared.listing import refuse_unknown_query_parameters
from shared.losttail import install_lost_tail_notes
from shared.messaging import NatsLink
from shared.problems import DATABASE_AWAY, MAX_POSITION, RETRY_AFTER_SECONDS, install_error_handlers
from shared.relay import OutboxRelay
from shared.restore import accepted_losses
from shared.roles import ALL_LIMA, MunicipalScope
from shared.schemas import read_for
from shared.settings import ServiceSettings
from shared.store import EARLIEST_DATE_SETTING, MunicipalityUnknownError, persistence_env
from shared.streamahead import STORE_BEHIND_RETRY_AFTER_SECONDS
from shared.views import View

log = logging.getLogger(__name__)

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
        # The feeds answer only to a token: the services' own, by client credentials.
        credentials = ServiceCredentials(settings.auth) if settings.auth.service_client_secret is not None else None
        for view in views:
            for source in view.sources:
                consumer = DurableConsumer(
                    link, view.durable_for(source), view.subject_for(source), view.apply, batch=batch, source=source
                )
                following.consumers.append(consumer)
                tasks.append(asyncio.create_task(consumer.run(), name=consumer.durable))
            follower = FeedFollower(view, settings.feed_urls, interval=settings.follow_interval_seconds, auth=credentials)
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


T = TypeVar("T")


class StopRequested(Exception):
    """Asked to stop (SIGINT, SIGTERM) while waiting for the database at start-up."""


WAIT_SECONDS = 0.5
"""How often a start-up that waits for something outside the service to end (:class:`~shared.errors.StartupWaitsError`)
tries again: the service starts within this long of its end."""
WAIT_REMINDER_SECONDS = 300.0
"""How often a start-up still waiting says so again: its port opens once started; one line was all (tester 165 F6)."""


async def wait_for_database(build: Callable[[], T], what: str, longest: float = 15.0) -> T:
    """Run ``build`` (it opens the store, a read model…) in a thread, again and again while the database cannot be reached,
    or while ``build`` says it must wait (:class:`~shared.errors.StartupWaitsError`).

    A service started before its PostgreSQL waits for it instead of exiting:
    each failed attempt is logged with the pause before the next (0.5 s,
    doubling, at most ``longest``). A start-up that must wait (reporting while
    a rebuild of its read model runs) says why once, as a warning, tries again
    every :data:`WAIT_SECONDS`, and says when it goes on. Any other error is
    raised; SIGINT or SIGTERM meanwhile (which uvicorn does not let interrupt
    a start-up) raises :class:`StopRequested`.
    """
    stop = asyncio.Event()
    with on_stop_signal(stop.set):
        stopping = asyncio.ensure_future(stop.wait())
        try:
            delay, attempt, waited = 0.5, 1, False
            while True:
                opening = asyncio.ensure_future(asyncio.to_thread(build))
                await asyncio.wait({opening, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if stop.is_set():
                    log.warning("%s: asked to stop while %s", what, "waiting to start" if waited else "waiting for the database")
                    opening.add_done_callback(lambda attempt: attempt.cancelled() or attempt.exception())  # left to end alone
                    raise StopRequested(what)
                try:
                    built = opening.result()
                except StartupWaitsError as error:
                    if not waited:
                        log.warning("%s", error)
                        since = reminded = time.monotonic()
                    elif time.monotonic() - reminded >= WAIT_REMINDER_SECONDS:
                        log.warning("%s: still waiting, %.0f min now: %s", what, (time.monotonic() - since) / 60, error)
                        reminded = time.monotonic()
                    waited = True
                    await asyncio.wait({stopping}, timeout=WAIT_SECONDS)
                    continue
                except DATABASE_AWAY as error:
                    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    log.warning("%s: the database cannot be reached (%s); attempt %d failed, trying again in %.1f s", what, reason, attempt, delay)
                else:
                    if waited:  # said as the wait was: an operator reading warnings and up sees both (tester 165 F5)
                        log.warning("%s: no longer waiting; starting", what)
                    return built
                await asyncio.wait({stopping}, timeout=delay)
                delay, attempt = min(delay * 2, longest), attempt + 1
        finally:
            stopping.cancel()


async def stop_running(tasks: list[asyncio.Task[None]], link: NatsLink | None) -> None:
    """Stop a service's background tasks and its NATS link within a few seconds, NATS reachable or not.

    The tasks get a second to end on cancellation. One stuck in a publish to
    a server that reads nothing (nats-py then swallows the cancellation) ends
    once :meth:`NatsLink.close` has dropped the connection, so the rest are
    cancelled again after it. What still runs then is logged and left behind.
    """
    left = await stop_tasks(tasks, 1.0, "stopping the service's tasks")
    if link is not None:
        await link.close()
    if left:
        await stop_tasks(left, 2.0, "stopping the service's tasks")


@dataclass
class Runtime:
    """Everything a running service owns, built by its ``bootstrap.py`` and wired once in the FastAPI lifespan.

    ``make_application`` builds the service's one application from the event
    store's settings (reporting, which publishes no events, opens its store of
    phase reports from its own settings);
    ``views`` names the tables the application follows from other services'
    events: each gets a durable consumer per source and a feed follower. A
    service with a ``catalogue`` publishes its events: it gets an outbox
    relay to its own stream. ``background`` adds the service's own long
    tasks (reporting's checkpoints). ``chained_store`` names the application
    whose hash-chained event store ``/verify`` and ``/chain`` read, when it
    is not the service's application itself (reporting's: its phase reports);
    with no relay to give its head out, the runtime puts it in the heads
    bucket itself.
    """

    settings: ServiceSettings
    catalogue: EventCatalogue | None
    make_application: Callable[[dict[str, str]], Any]
    views: Callable[[Any], list[View]] = lambda _: []
    background: Callable[[Any], list[Callable[[], Coroutine[Any, Any, None]]]] = lambda _: []
    consumer_batch: int = 500
    opening: str = "the store"
    """What building the application opens, as start-up's log names it while waiting for the database."""
    chained_store: Callable[[Any], Any] | None = None
    """Given the application, the one whose event store is hash-chained; None: the application itself."""
    app: Any = None
    link: NatsLink | None = None
    relay: OutboxRelay | None = None
    following: Following = field(default_factory=Following)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    probes: Probes | None = None
    views_probe: Engine | None = None
    stall: RelayStall = field(default_factory=lambda: RelayStall())

    @property
    def durable(self) -> list[DurableConsumer]:
        return self.following.consumers

    @property
    def store(self) -> Any:
        """The application whose hash-chained event store ``/verify`` and ``/chain`` read (see :attr:`chained_store`)."""
        return self.app if self.chained_store is None else self.chained_store(self.app)

    def application_env(self) -> dict[str, str]:
        s = self.settings
        return {
            **persistence_env(
                s.store_url(), lock_timeout_seconds=s.postgres_lock_timeout_seconds, connect_timeout_seconds=s.database_connect_timeout_seconds
            ),
            EARLIEST_DATE_SETTING: s.earliest_date.isoformat(),
            ChainedSQLiteFactory.SQLITE_COMMANDS_ON_THE_LOOP: "1" if s.commands_on_the_loop else "0",
        }

    @contextlib.asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        s = self.settings
        publishes = self.catalogue is not None
        if s.service_dir.exists():
            private_dir(s.service_dir, tighten=True)  # made before files were private: 0700 now
        collect_less_often()  # reporting loads tallies of 100,000s of objects; commands' garbage goes by reference counts
        try:
            self.app = await wait_for_database(
                lambda: self.make_application(self.application_env() if publishes else {}), f"{s.service_name}: opening {self.opening}"
            )
        except StopRequested:
            yield  # uvicorn, asked to exit, goes on to shut down: nothing was started
            return
        except StartupRefusedError as refusal:  # its settings lack what its records need: one line saying which, no traceback
            log.error("%s", refusal)
            logging.getLogger("uvicorn.error").addFilter(QuietRefusal(refusal))
            raise refusal from None  # uvicorn ends the process, exit code 3 with one worker (its "Application startup failed" unsaid)
        self.probes = Probes(s.service_name, s.health_timeout_seconds)
        if publishes:
            self.views_probe = create_engine(s.view_url(), pool_pre_ping=True)
        self.link = NatsLink(
            s.nats_url,
            s.service_name,
            s.nats_stream,
            s.nats_stream_replicas,
            s.nats_duplicate_window_seconds,
            own_service=s.service_name if publishes else None,
            ping_seconds=s.nats_ping_seconds,
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
                linger_seconds=s.relay_linger_seconds,
                heads=HeadPublisher(s.service_name, s.chain_head_seconds),
            )
            self.tasks.append(asyncio.create_task(self.relay.run(), name=f"{s.service_name}-relay"))
            await self._check_stream_marks()
        elif self.chained_store is not None:  # an event store no relay publishes: its head is given out all the same
            heads = keep_heads_published(
                HeadPublisher(s.service_name, s.chain_head_seconds, keep_given=True), self.link, self.store,
                lease_for(s.store_url(), s.service_name),
            )
            self.tasks.append(asyncio.create_task(heads, name=f"{s.service_name}-chain-heads"))
        views = self.views(self.app)
        self.following = Following.start(self.link, views, s, self.tasks, batch=self.consumer_batch)
        for job in self.background(self.app):
            self.tasks.append(asyncio.create_task(job(), name=f"{s.service_name}-{job.__name__}"))
        try:
            yield
        finally:
            await stop_running(self.tasks, self.link)
            self.probes.close()
            if self.views_probe is not None:
                self.views_probe.dispose()
            self.app.close()
            for engine in {id(view.engine): view.engine for view in views}.values():
                engine.dispose()

    async def _check_stream_marks(self) -> None:
        """Before the first request: whether a relay found this store behind its stream, as the mark it left says (see
        :class:`~shared.streamahead.StreamAhead`); commands are refused from the start then, not from the relay's next look."""
        try:
            ahead = await asyncio.to_thread(self.app.check_stream_marks)
        except DATABASE_AWAY as error:
            log.warning("%s: could not read the store's marks at start (%s); the relay reads them again", self.settings.service_name, error)
            return
        if ahead is not None:
            log.error("%s: %s", self.settings.service_name, ahead.describe())

    def _touch_views(self) -> None:
        assert self.views_probe is not None
        with self.views_probe.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def health(self) -> tuple[int, Health]:
        """The status code (503 when the store or the views cannot be reached) and the report, within the health timeout."""
        assert self.app is not None and self.link is not None and self.relay is not None and self.probes is not None
        app = self.app
        (positions, store_error), (_, views_error), (lacking, _) = await asyncio.gather(
            self.probes.run("store", lambda: (app.log_head(), app.relayed_position(), app.check_stream_marks(), app.held_back())),
            self.probes.run("views", self._touch_views),
            self.probes.run("districts", app.districts_lacking),
        )
        status = self.relay.status
        head, published, _, held = positions if positions is not None else (0, status.published, None, [])
        ahead = app.stream_ahead
        if status.role == "active":  # acknowledged by the stream; recorded in the store with the relay's next read
            published = max(published, status.published)
        lag = max(head - published, 0)
        stalled = self.stall.seen(published, lag, time.monotonic()) if positions is not None else 0.0
        stuck = stalled > self.settings.relay_stall_seconds
        last_error = status.last_error
        if stuck and last_error is None:  # a standby's view, or an active relay stuck without an error
            last_error = f"no event published for {stalled:.0f} s while {lag} wait" + (" (another replica holds the relay lease)" if status.role == "standby" else "")
        if ahead is not None and last_error is None:  # a standby's view: the active replica's relay found it
            last_error = ahead.summary()
        relay = RelayHealth(
            published_position=published,
            stored_position=head,
            lag=lag,
            last_error=last_error,
            role=status.role,
            blocked_on=status.blocked_on,
            batches=status.batches,
            stepped_over=status.stepped_over,
            stream_ahead=None if ahead is None else StreamAheadHealth(**ahead.as_dict()),
            stalled_seconds=round(stalled, 1),
        )
        nats_state = "connected" if self.link.connected else "disconnected"
        reachable = store_error is None and views_error is None
        degraded = (
            not reachable
            or nats_state != "connected"
            or last_error is not None
            or status.blocked_on is not None
            or ahead is not None
            or self.following.missing
            or bool(lacking)
            or bool(held)
        )
        return 200 if reachable else 503, Health(
            status="degraded" if degraded else "ok",
            service=self.settings.service_name,
            store=store_error or "ok",
            views_database=views_error or "ok",
            nats=nats_state,
            relay=relay,
            consumers={c.durable: c.last_error for c in self.durable},
            parked={c.durable: c.parked for c in self.durable},
            views=self.following.health(),
            missing_districts=lacking or [],
            held=held,
        )

    async def verify(self) -> VerifyAnswer:
        """The store's chain, recomputed and checked against every head the bucket holds for this service; and every snapshot
        the service reads, against its aggregate replayed from its events (:func:`~shared.kept.snapshots_disagreeing`)."""
        service = self.settings.service_name
        heads: list[Head] = []
        source = HEADS_BUCKET
        if self.link is not None and self.link.js is not None and self.link.connected:
            try:
                heads = await read_heads(self.link.js, service)
            except Exception as error:  # noqa: BLE001 - reported in the answer: the store's own chain is still checked
                source = f"unavailable: {type(error).__name__}: {error}"
        else:
            source = "unavailable: NATS is not connected"
        def check() -> Any:
            verdict = verify(service, entries_of_store(self.store), heads, accepted_losses(self.store))
            verdict.snapshots_checked, differing = snapshots_disagreeing(self.store)  # outside the chain: checked against its events
            for reason in differing:
                verdict.fail(None, reason)
            return verdict

        verdict = await asyncio.to_thread(check)
        return VerifyAnswer.model_validate({**verdict.as_dict(), "heads_source": source})

    def event_page(
        self, after: int, limit: int, scope: MunicipalScope = ALL_LIMA, *, programme: bool = True, reads: frozenset[str] = frozenset()
    ) -> EventPage:
        """A page of the feed; with a municipal ``scope`` (a partner's), only the events of its municipalities; unless
        ``programme`` (the services), of the events no partner reads only those whose ``feed_permission`` is among
        ``reads`` (the caller's permission values: :meth:`~shared.events.EventCatalogue.withheld_topics`), the others
        left out as the private ones are, ``previousposition`` stepping over them too.

        Which municipality an event belongs to is one rule,
        :meth:`ServiceApplication.municipality_of`: the same that names the
        event's NATS subject (``osv.<service>.<municipality>.<type>``) and its
        ``municipality`` attribute. Its OSV's district, or the municipality it
        names; programme-wide events such as phases and rounds belong to none,
        so only all of Lima sees them. The page's positions are the store's, so
        a filtered page still moves ``next_after`` over what it leaves out; but
        a scoped page stops before an event whose OSV this service does not
        know yet (as the relay waits to publish it), so a partner never steps
        over an event of its own municipality.
        """
        assert self.app is not None
        app = self.app
        head = app.log_head()
        notifications = app.log_after(after, limit)
        private = self.catalogue.private_topics if programme else self.catalogue.private_topics | self.catalogue.withheld_topics(reads)
        previous = app.previous_public(notifications[0].id, private) if notifications else 0
        hashes = app.chain_hashes(notifications[0].id, notifications[-1].id) if notifications else {}
        scoped = not scope.all_of_lima
        unknown: list[dict[str, Any]] = []

        def locate(data: dict[str, Any]) -> str | None:
            try:
                return app.municipality_of(data)
            except MunicipalityUnknownError:
                unknown.append(data)
                return None

        events = []
        next_after = after
        for notification in notifications:
            if notification.topic in private:
                next_after = notification.id
                continue
            cloudevent = self.catalogue.to_cloudevent(
                notification.id, app.decode(notification), previous=previous, locate=locate, chainhash=hashes.get(notification.id)
            )
            assert cloudevent is not None
            if scoped and unknown:
                break  # not known yet: the page ends before it
            next_after = notification.id
            previous = notification.id
            if scoped and not scope.covers(cloudevent.get("municipality")):
                continue
            events.append(cloudevent)
        return EventPage(after=after, next_after=next_after, head=head, events=events)


BodyLimit = RequestGuard
"""The request guard under the name the imports webhook knows it by."""

def base_api(runtime: Runtime, *, title: str, description: str, page_policies: Mapping[str, str] | None = None) -> FastAPI:
    """A FastAPI app with the runtime's lifespan, problem+json errors, request bounds and secure headers.

    Once its routers are included, call :func:`~shared.listing.refuse_unknown_query_parameters` on it.

    ``page_policies`` gives the content security policy of each web page the
    app serves, by path (see :class:`~shared.guards.SecureHeaders`). Every
    error answer is documented on every operation of the OpenAPI document.
    """
    settings = runtime.settings
    die_with_supervisor()  # a worker of `make run`'s uvicorn: never outlive the supervisor
    log_to_console(settings.service_name)
    api = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=runtime.lifespan,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # a path with a trailing slash is 404, not Starlette's 307 to a URL built from the Host header
    )
    api.state.runtime = runtime
    install_error_handlers(api)
    install_lost_tail_notes(api, runtime)  # a 404 of a record an accepted stream's tail took with it says so
    install_auth(api, settings.auth)
    install_docs(api, swagger_ui_oauth(settings.auth.docs_client_id(settings.service_name)))
    install_documentation(api, settings.max_body_bytes)
    _install_outermost(api, settings.max_body_bytes, page_policies)
    return api


def _install_outermost(api: FastAPI, limit: int, page_policies: Mapping[str, str] | None = None) -> None:
    """The request guard and the secure headers, outside every other middleware (installed before or after this).

    The guard reads a body before anything else parses it (the Idempotency-Key
    middleware does); the headers go on every answer, the guard's included.
    """
    api.user_middleware = [m for m in api.user_middleware if m.cls not in (RequestGuard, SecureHeaders)]
    api.add_middleware(RequestGuard, limit=limit)
    api.add_middleware(SecureHeaders, page_policies=page_policies)


def keep_guards_outermost(api: FastAPI) -> None:
    """Put :func:`base_api`'s secure headers, then its request guard, back outside the middleware added since (dry runs,
    Idempotency-Key), as they were installed: one guard, so a body is read and checked once, and its 413, 415 and 422
    answers carry the headers. (Reporting added a second guard outside the headers instead: its bodies were checked twice
    and its guard's refusals went without ``nosniff`` or ``no-store``.)"""
    ours = (SecureHeaders, RequestGuard)
    api.user_middleware = [m for kind in ours for m in api.user_middleware if m.cls is kind] + [
        m for m in api.user_middleware if m.cls not in ours
    ]


def service_api(runtime: Runtime, *, title: str, description: str, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """A write service's app: :func:`base_api`, Idempotency-Key, dry runs, the body limit, ``/events``, ``/health``, then ``routers``."""
    api = base_api(runtime, title=title, description=description)
    validator = api.state.token_validator
    # A key is looked up only for a caller the route lets in: anyone else gets the route's 401 or 403, never a key's
    # 422 `same_request` (tester 33, F14: a partner's or an evaluator's token could test guesses of a person's
    # data against a Kobo submission's predictable key, where the route itself answers them 403).
    wanted = RoutePermissions(api)
    install_idempotency(
        api,
        service=runtime.settings.service_name,
        application=lambda: runtime.app,
        caller=lambda scope: subject_of_request(validator, scope["headers"], wanted(scope)),
        known_caller=lambda scope: known_subject_of_request(validator, scope["headers"], wanted(scope)),
        reach=lambda scope: reach_of_request(validator, scope["headers"], wanted(scope)),
        away=DATABASE_AWAY,
        retry_after=RETRY_AFTER_SECONDS,
    )
    dryrun.install(api)  # outside the idempotency layer: its fingerprint never sees dry_run
    keep_guards_outermost(api)  # the guard reads the body before anything else does

    @api.get("/events", tags=["events"], response_model=EventPage)
    def read_events(
        scope: Annotated[MunicipalScope, Depends(within(Permission.EVENTS_READ))],
        caller: CallerDep,
        after: Annotated[int, Query(ge=0, le=MAX_POSITION, description="Return events after this position.")] = 0,
        limit: Annotated[int, Query(ge=1, le=1000, description="At most this many positions (so at most this many events).")] = 100,
    ) -> EventPage:
        """Read the service's stored events in order, as CloudEvents, for auditors, partners and rebuilds.

        A partner's token (`partner-<ubigeo>`) reads only its municipality's events, and `previousposition` may name
        an event of another it does not see; the page still advances over them. No partner's page, the MML's included,
        gives an event for the programme alone (`audience` `programme`): `ProposalSubmitted` and `ProposalScored` (a
        round's deliberation) go to the services and to those who read proposals (auditors), `OSVDocumentsCounted` (by
        document type: a member's migration status) to the services and to those who read personal data. A page leaves
        out what its reader may not read, as it leaves out the private events, and `previousposition` steps over it (on
        NATS it does not). An empty page is not the end: read on until `next_after` reaches `head`.
        """
        programme = any(role_kind(role) == "service" for role in caller.roles)
        reads = frozenset(permission.value for permission in Permission if caller.may(permission))
        return runtime.event_page(after, limit, scope, programme=programme, reads=reads)

    @api.get("/health", tags=["operations"], response_model=Health, responses=HEALTH_RESPONSES)
    async def health(response: Response) -> Health:
        """Report the store, the NATS connection and how far the relay lags behind the store."""
        response.status_code, report = await runtime.health()
        return report

    @api.get("/asyncapi.json", tags=["events"])
    def read_asyncapi() -> dict[str, Any]:
        """The AsyncAPI 3.0 document of the events this service publishes: their channels, messages and schemas.

        Its `servers` name the NATS server(s) partners connect to: the service's `partner_nats_url`, else its `nats_url` (host and
        port, never a user or password; `ws`/`wss` for a WebSocket URL).
        """
        # Open, as /openapi.json is: it describes the events, it holds none.
        assert runtime.catalogue is not None
        return document_for([runtime.catalogue], runtime.settings.partner_nats_url or runtime.settings.nats_url)

    install_audit(api, runtime)
    for router in routers:
        api.include_router(router)
    refuse_unknown_query_parameters(api)
    dryrun.refuse_once_let_in(api)  # a bad dry-run value is 422 once the route lets the caller in: 401 and 403 first
    install_cors(api, runtime.settings.cors_allow_origins)
    _document_commands_unavailable(api)
    return api


COMMANDS_UNAVAILABLE = (
    "Service Unavailable, nothing recorded: the database cannot be reached just now (`Retry-After: "
    f"{RETRY_AFTER_SECONDS}`), or the event store is behind its stream, having been restored from an older backup "
    f"(`rule: store_behind_stream`, `Retry-After: {STORE_BEHIND_RETRY_AFTER_SECONDS}`; `detail` says what an operator does): "
    "commands are refused until an operator acts, reads still answer."
)


def _document_commands_unavailable(api: FastAPI) -> None:
    """Every command (POST, PUT, PATCH, DELETE) of a write service documents its 503 answers (:data:`COMMANDS_UNAVAILABLE`),
    followed by the route's own (``osv_district_in_table``…), which it used to replace."""
    plain_openapi = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = plain_openapi()
            for operations in schema.get("paths", {}).values():
                for method, operation in operations.items():
                    if method in ("post", "put", "patch", "delete"):
                        own = operation.get("responses", {}).get("503", {}).get("description")
                        operation.setdefault("responses", {})["503"] = {
                            "description": f"{COMMANDS_UNAVAILABLE} {own}" if own else COMMANDS_UNAVAILABLE,
                            "headers": {"Retry-After": {"description": "Seconds to wait before asking again.", "schema": {"type": "integer"}}},
                            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                        }
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


async def application_of(request: Request) -> Any:
    """The service's one application, as the lifespan built it: routes take it as a dependency.

    ``async``: it only reads an attribute, so FastAPI answers it on the event loop instead of a thread-pool hop; in the
    request's own context, where it says which application the body is read for (its districts, for
    :func:`shared.schemas.application_rule`), before FastAPI reads the body.
    """
    application = runtime_of(request).app
    read_for(application)
    return application
