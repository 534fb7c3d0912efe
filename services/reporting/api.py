"""Reporting's HTTP API: phase-by-phase indicators from the read model."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel, Field

from services.reporting.dashboard import dashboard_router
from services.reporting.indicators import report
from services.reporting.readmodel import ReadModel
from services.reporting.settings import ReportingSettings
from shared.messaging import DurableConsumer, NatsLink
from shared.views import make_engine
from shared.web import install_error_handlers

DURABLE = "reporting"


@dataclass
class ReportingRuntime:
    """The read model and the stream consumer feeding it, wired in the lifespan."""

    settings: ReportingSettings
    readmodel: ReadModel | None = None
    link: NatsLink | None = None
    consumer: DurableConsumer | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        s = self.settings
        self.readmodel = await asyncio.to_thread(lambda: ReadModel(make_engine(s.view_url())))
        self.link = NatsLink(s.nats_url, s.service_name, s.nats_stream, s.nats_stream_replicas, s.nats_duplicate_window_seconds)
        self.link.start()
        self.consumer = DurableConsumer(self.link, DURABLE, "osv.>", self.readmodel.apply, batch=s.consumer_batch)
        self.tasks.append(asyncio.create_task(self.consumer.run(), name="reporting-consumer"))
        try:
            yield
        finally:
            for task in self.tasks:
                task.cancel()
            for task in self.tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.link.close()
            self.readmodel.engine.dispose()


def get_readmodel(request: Request) -> ReadModel:
    readmodel = request.app.state.runtime.readmodel
    assert readmodel is not None
    return readmodel


ReadModelDep = Annotated[ReadModel, Depends(get_readmodel)]


class ReportingHealth(BaseModel):
    status: str = Field(description="`ok`, or `degraded` when NATS is unreachable or the consumer is failing.")
    service: str
    nats: str
    consumer_error: str | None
    applied_positions: dict[str, int] = Field(description="Per source service, the last position applied.")


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
    def get_indicators(readmodel: ReadModelDep) -> dict[str, Any]:
        """Indicators per phase (by the date each fact happened) and in total."""
        return report(readmodel.facts())

    @api.get("/health", tags=["operations"], response_model=ReportingHealth)
    def health(readmodel: ReadModelDep) -> ReportingHealth:
        """Report the NATS connection, the consumer and how far each source is applied."""
        assert runtime.link is not None and runtime.consumer is not None
        nats_state = "connected" if runtime.link.connected else "disconnected"
        error = runtime.consumer.last_error
        return ReportingHealth(
            status="ok" if nats_state == "connected" and error is None else "degraded",
            service="reporting",
            nats=nats_state,
            consumer_error=error,
            applied_positions=readmodel.positions(),
        )

    # The dashboard shows what GET /indicators answers; pass as_of and by on once that route takes them.
    api.include_router(dashboard_router(indicators=lambda readmodel, as_of, by: get_indicators(readmodel)))
    return api
