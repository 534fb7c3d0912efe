"""Reporting's wiring, in one place: the read model, its consumers of every write service's stream, the checkpoints, the clock,
and the event store of the leads' targets and sign-offs (``var/reporting/events.db``, or the service's PostgreSQL database).

:func:`bootstrap` returns the :class:`~shared.web.Runtime` the FastAPI
lifespan starts: the read model's database is opened then, not at import
(and reporting refuses to start while its facts name a district its districts
table lacks, :func:`~shared.districts.refuse_lacking`). Reporting publishes
nothing, so it has no relay; its store of targets and sign-offs is hash-chained
as every service's, and the runtime gives its chain head out to the heads
bucket itself (``chained_store``). The clock is Lima's date by
default; tests pass a fake clock, or a fake application, here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from services.reporting.application import PhaseReports, Reporting
from services.reporting.inuse import ReadModelInUse
from services.reporting.settings import ReportingSettings
from services.reporting.views.readmodel import ReadModel
from shared.clock import Clock, today_in_lima
from shared.districts import refuse_lacking
from shared.errors import StartupWaitsError
from shared.settings import read_or_exit
from shared.store import persistence_env
from shared.views import View, make_engine
from shared.web import Runtime

log = logging.getLogger(__name__)


def bootstrap(
    settings: ReportingSettings | None = None,
    *,
    today: Clock = today_in_lima,
    application: Callable[..., Reporting] = Reporting,
) -> Runtime:
    """The reporting service's runtime; ``today`` is its clock."""
    settings = settings or read_or_exit(ReportingSettings)

    def build(_: dict[str, str]) -> Reporting:
        engine = make_engine(settings.view_url(), rebuildable=True)
        in_use = ReadModelInUse(engine)
        try:
            # Taken before the read model is opened: opening it writes (its tables, its backfills), and a rebuild is
            # filling it (tester 165 F7). Waited for: reporting starts once the rebuild ends (tester 164 F5).
            if not in_use.share():
                raise StartupWaitsError(
                    "reporting: a rebuild of its read model is running (python -m services.reporting.rebuild, make rebuild): "
                    "waiting for it to end to start"
                )
            readmodel = ReadModel(engine, settings.checkpoint_every, settings.checkpoint_settle_seconds)
            districts = settings.districts_table()
            refuse_lacking(settings.service_name, districts, readmodel.districts(), "facts in its read model")
        except BaseException:
            in_use.release()
            engine.dispose()
            raise
        env = persistence_env(
            settings.store_url(),
            lock_timeout_seconds=settings.postgres_lock_timeout_seconds,
            connect_timeout_seconds=settings.database_connect_timeout_seconds,
        )
        return application(
            readmodel,
            today=today,
            districts=districts,
            programme=settings.iati,
            phase_reports=PhaseReports(env),
            in_use=in_use,
        )

    def views(reporting: Reporting) -> list[View]:
        """Reporting follows every write service's events into its read model."""
        return [reporting.readmodel]

    def background(reporting: Reporting) -> list[Callable[[], Coroutine[Any, Any, None]]]:
        async def checkpoints() -> None:
            """Catch the checkpoints up while no events arrive (the consumer makes a few after each batch)."""
            while True:
                try:
                    made = await asyncio.to_thread(reporting.readmodel.advance_checkpoints, ReadModel.STEP)
                except Exception:  # noqa: BLE001 - a failed checkpoint is retried; reports fold from the last good one
                    log.exception("reporting: making checkpoints failed")
                    made = 0
                await asyncio.sleep(0.1 if made else settings.checkpoint_settle_seconds / 2)

        return [checkpoints]

    return Runtime(
        settings, None, build, views, background, consumer_batch=settings.consumer_batch, opening="the read model",
        chained_store=lambda reporting: reporting.phase_reports,
    )
