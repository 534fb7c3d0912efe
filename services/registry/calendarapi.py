"""Registry's routes of the working-day calendar (``/non-working-days``): the días no laborables every RUOS deadline skips,
decreed and revoked (:mod:`services.registry.decreeddays`), and why a day was revoked forgotten on request."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from services.registry.routing import RegistryDep
from services.registry.schemas import NonWorkingDayCreate, NonWorkingDayPublic, NonWorkingDayRevocationCreate
from shared.auth import Permission, requires
from shared.guards import TAKES_NO_BODY
from shared.listing import Page, page_query
from shared.schemas import IsoDateInPath

WRITES = [Depends(requires(Permission.PROGRAMME_WRITE))]
READS = [Depends(requires(Permission.PROGRAMME_READ))]
Day = Annotated[IsoDateInPath, Path(description="The día no laborable, `YYYY-MM-DD` (else 422 `iso_8601_date`).")]

calendar = APIRouter(prefix="/non-working-days", tags=["calendar"])


class RevocationReasonsRedacted(BaseModel):
    day: date = Field(description="The día no laborable whose revocations' reasons are forgotten.")
    revocations: int = Field(description="How many times the day was revoked: every one's reason (`revoked_by`) is forgotten.")


@calendar.get("", response_model=list[NonWorkingDayPublic], dependencies=READS)
def list_non_working_days(
    registry: RegistryDep,
    page: Annotated[Page, Depends(page_query)],
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Only the days of this year.")] = None,
) -> list[NonWorkingDayPublic]:
    """List the días no laborables that deadlines skip besides holidays, each with its decree; paged (`cursor`, `limit`, `Link: rel="next"`)."""
    return [NonWorkingDayPublic.of(day, recorded) for day, recorded in page.of(registry.non_working_days(year=year), key=lambda d: d[0].day)]


@calendar.post("", status_code=status.HTTP_201_CREATED, response_model=NonWorkingDayPublic, dependencies=WRITES)
def decree_non_working_day(body: NonWorkingDayCreate, registry: RegistryDep) -> NonWorkingDayPublic:
    """Record a día no laborable a decree set; every deadline skips it, those of applications observed already included (records `NonWorkingDayDecreed`, and `RUOSAmendmentDeadlineMoved` for each application under observation whose deadline it moves).

    Each application whose deadline the day moves (observed, not yet amended, registered or rejected, with the day
    within its window) has `RUOSAmendmentDeadlineMoved`, with its new `amend_by` and the one before, saved with the
    decree and published under its OSV's municipality, so the district's partner and the MML's learn the day registry
    goes by. A day decreed twice is 409 `non_working_day_once`, and writes nothing. A Saturday, a Sunday or a public
    holiday of Peru is no working day whatever is decreed: 422 `working_day`, saying which (a mistyped day?).
    A decree recorded after a deadline it moves had lapsed moves it all the same: the decree was published before its day.
    """
    day = registry.decree_non_working_day(day=body.day, decree=body.decree, scope=body.scope, source=body.source)
    return NonWorkingDayPublic.of(day, True)


@calendar.post("/{day}/revocation", status_code=status.HTTP_201_CREATED, response_model=list[NonWorkingDayPublic], dependencies=WRITES)
def revoke_non_working_day(day: Day, body: NonWorkingDayRevocationCreate, registry: RegistryDep) -> list[NonWorkingDayPublic]:
    """Make a recorded día no laborable a working day again (records `NonWorkingDayRevoked`, and `RUOSAmendmentDeadlineMoved` for each application under observation whose deadline it moves back); answers that year's days.

    A deadline moves back no earlier than the `amend_by` recorded with the observation. Why (`revoked_by`) is staff's
    words: sealed in registry's store, in no published event and no answer, forgotten with
    `POST /non-working-days/{day}/revocation/redaction`.
    """
    registry.revoke_non_working_day(day=day, revoked_by=body.revoked_by)
    return [NonWorkingDayPublic.of(d, recorded) for d, recorded in registry.non_working_days(year=day.year)]


@calendar.post("/{day}/revocation/redaction", response_model=RevocationReasonsRedacted, dependencies=[*WRITES, TAKES_NO_BODY])
def redact_revocation_reasons(day: Day, registry: RegistryDep) -> RevocationReasonsRedacted:
    """Forget for good why the day was revoked, each time it was (a day decreed again may be revoked again): the keys that sealed each `revoked_by` are deleted; the revocations, the day and the deadlines they moved stay. Records nothing; asked again, the same answer.

    No body (422 `no_body`). 404 `recorded_revocation` for a day never revoked. A reason recorded before reasons were
    sealed (2026-12-07) is in clear in its stored event, which the append-only, hash-chained log keeps; no route shows it.
    """
    return RevocationReasonsRedacted(day=day, revocations=registry.redact_revocation_reasons(day))
