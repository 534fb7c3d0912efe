"""Reporting's HTTP API: phase-by-phase indicators from the read model, as of any moment, with their evidence and exports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, Field

from services.reporting import exports
from services.reporting.dashboard import dashboard_router
from services.reporting.domain.tally import UNKNOWN, ZONES
from services.reporting.views.readmodel import ReadModel
from services.reporting.settings import ReportingSettings
from shared.districts import DistrictTable, UnknownDistrictError
from shared.errors import RuleViolationError
from shared.messaging import NatsLink
from shared.views import make_engine
from shared.web import Following, SourceHealth, install_error_handlers, stop_tasks

log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class ReportingRuntime:
    """The read model and the stream consumer feeding it, wired in the lifespan."""

    settings: ReportingSettings
    readmodel: ReadModel | None = None
    link: NatsLink | None = None
    following: Following = field(default_factory=Following)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        s = self.settings
        self.readmodel = await asyncio.to_thread(
            lambda: ReadModel(make_engine(s.view_url()), s.checkpoint_every, s.checkpoint_settle_seconds)
        )
        self.link = NatsLink(s.nats_url, s.service_name, s.nats_stream, s.nats_stream_replicas, s.nats_duplicate_window_seconds)
        self.link.start()
        self.following = Following.start(self.link, [self.readmodel], s, self.tasks, batch=s.consumer_batch)
        self.tasks.append(asyncio.create_task(self.checkpoints(), name="reporting-checkpoints"))
        try:
            yield
        finally:
            await stop_tasks(self.tasks)
            await self.link.close()
            self.readmodel.engine.dispose()

    async def checkpoints(self) -> None:
        """Catch the checkpoints up while no events arrive (the consumer makes a few after each batch)."""
        assert self.readmodel is not None
        while True:
            try:
                made = await asyncio.to_thread(self.readmodel.advance_checkpoints, ReadModel.STEP)
            except Exception:  # noqa: BLE001 - a failed checkpoint is retried; reports fold from the last good one
                log.exception("reporting: making checkpoints failed")
                made = 0
            await asyncio.sleep(0.1 if made else self.settings.checkpoint_settle_seconds / 2)


def get_readmodel(request: Request) -> ReadModel:
    readmodel = request.app.state.runtime.readmodel
    assert readmodel is not None
    return readmodel


ReadModelDep = Annotated[ReadModel, Depends(get_readmodel)]
AsOf = Annotated[
    AwareDatetime | None,
    Query(description="RFC 3339 moment with its offset: answer only from events recorded (CloudEvent `time`) by then."),
]
By = Annotated[Literal["zone", "district"] | None, Query(description="Break every figure down by zone or by district as well.")]
DISTRICTS = DistrictTable.of_lima()


def rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def group_named(given: str | None) -> str | None:
    """A zone, or a district by any of its names, as the indicators name it."""
    if given is None or given in ZONES or given == UNKNOWN:
        return given
    try:
        return DISTRICTS.find(given).name
    except UnknownDistrictError:
        raise RuleViolationError(
            f"'{given}' is neither a zone ({', '.join(ZONES)}) nor a district of Lima Metropolitana", field="group", rule="zone_or_district"
        ) from None


class ReportingHealth(BaseModel):
    status: str = Field(description="`ok`, or `degraded` when NATS is unreachable, a consumer is failing, or events are missing.")
    service: str
    nats: str
    consumer_error: str | None = Field(description="The last error of any of the consumers (one per source's stream), if any.")
    parked: int = Field(description="Poison messages parked on the OSV_PARKED stream since the service started.")
    applied_positions: dict[str, int] = Field(
        description="Per source service, the floor: every event at or below this position is applied (or holds nothing to apply)."
    )
    sources: dict[str, SourceHealth] = Field(description="Per source: the floor, its feed, events fetched from it, and missing positions.")


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    """Build the reporting service (run with ``uvicorn --factory``)."""
    runtime = ReportingRuntime(settings or ReportingSettings())
    api = FastAPI(
        title="osv-platform reporting",
        description="Phase-by-phase indicators of the programme, projected from every service's events.",
        version="0.1.0",
        lifespan=runtime.lifespan,
    )
    api.state.runtime = runtime
    install_error_handlers(api)

    @api.get("/indicators", tags=["indicators"])
    def get_indicators(readmodel: ReadModelDep, as_of: AsOf = None, by: By = None) -> dict[str, Any]:
        """Indicators per phase (by the date each fact happened) and in total, optionally as of a moment and by zone or district."""
        return {"as_of": rfc3339(as_of), **readmodel.report(as_of, by)}

    @api.get("/indicators/export.csv", tags=["indicators"], response_class=Response)
    def export_csv(readmodel: ReadModelDep, as_of: AsOf = None, by: By = None) -> Response:
        """The indicators as CSV: a row per phase, indicator, part and group; the first line states the as-of moment."""
        body = exports.to_csv(readmodel.report(as_of, by), as_of, datetime.now(timezone.utc))
        return Response(body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": 'attachment; filename="indicators.csv"'})

    @api.get("/indicators/export.xlsx", tags=["indicators"], response_class=Response)
    def export_xlsx(readmodel: ReadModelDep, as_of: AsOf = None, by: By = None) -> Response:
        """The indicators as an XLSX workbook, the same rows as the CSV under the as-of moment."""
        body = exports.to_xlsx(readmodel.report(as_of, by), as_of, datetime.now(timezone.utc))
        return Response(body, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="indicators.xlsx"'})

    @api.get("/indicators/{name}/evidence", tags=["indicators"])
    def get_evidence(
        name: str,
        readmodel: ReadModelDep,
        phase: Annotated[str, Query(description="A phase's code, or `total`.")] = "total",
        group: Annotated[str | None, Query(description="Only this zone's or district's part of the figure.")] = None,
        as_of: AsOf = None,
    ) -> dict[str, Any]:
        """List the events that make one figure, each with what it adds to it."""
        return {"as_of": rfc3339(as_of), **readmodel.evidence(name, phase, group_named(group), as_of)}

    @api.get("/health", tags=["operations"], response_model=ReportingHealth)
    def health(readmodel: ReadModelDep) -> ReportingHealth:
        """Report the NATS connection, the consumer and how far each source is applied."""
        assert runtime.link is not None
        nats_state = "connected" if runtime.link.connected else "disconnected"
        consumers = runtime.following.consumers
        error = next((c.last_error for c in consumers if c.last_error), None)
        missing = runtime.following.missing
        return ReportingHealth(
            status="ok" if nats_state == "connected" and error is None and not missing else "degraded",
            service="reporting",
            nats=nats_state,
            consumer_error=error,
            parked=sum(c.parked for c in consumers),
            applied_positions=readmodel.positions(),
            sources=runtime.following.health().get(readmodel.name, {}),
        )

    # The dashboard shows what GET /indicators answers, as of the same moment and by the same grouping.
    api.include_router(dashboard_router(indicators=lambda readmodel, as_of, by: get_indicators(readmodel, as_of, by)))
    return api
