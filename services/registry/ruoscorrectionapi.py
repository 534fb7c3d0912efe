"""Registry's HTTP API for an RUOS step entered in error: a registration corrected. Routes only, each translating a
request into a call on :class:`~services.registry.application.Registry`; the other routes and the app are in :mod:`.api`,
which includes this router."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from services.registry.correctionschemas import RUOSRegistrationCorrection
from services.registry.routing import CHANGE, RUOS_STEP, Records, RegistryDep
from services.registry.schemas import OSVPublic
from shared.preconditions import IfMatch, tagged

ruos_corrections = APIRouter(prefix="/osvs", tags=["ruos"])


@ruos_corrections.post("/{osv_id}/ruos-registration/correction", response_model=OSVPublic, responses={**CHANGE, **RUOS_STEP})
def correct_ruos_registration(
    osv_id: UUID, body: RUOSRegistrationCorrection, registry: RegistryDep, recorder: Records, expected: IfMatch, response: Response
) -> OSVPublic:
    """Correct the OSV's registration in the RUOS, recorded with a slip (records `RUOSRegistrationCorrected`).

    Its `ruos_number`, `registered_on`, `resolution_number` or `board_term_ends_on`; whose RUOS registered the OSV
    stays. Who may, as recording the registration: staff and leads, and the focal point of the municipality whose RUOS
    holds it (another's is 403 `own_municipality_ruos`; an OSV outside the caller's municipalities 404). A record merged
    into another is 409 `osv_not_merged`, naming the OSV it went to; an OSV not registered is 409 `registered_in_ruos`; nothing different from the registration 422 `change_required`. A corrected
    number another OSV holds in that RUOS is 409 `ruos_number_unique`; the number typed wrong is free from then on.
    Reporting counts the registration in the phase of the corrected day from then on, the past phases' included (one
    `as_of` a moment before counts it as then known); the board-term alerts go by the corrected term unless a renewal
    gave another. With `If-Match`, an OSV changed since that `ETag` is 412 `current_version`; the answer carries the
    OSV's new `ETag`."""
    values, cleared = body.changes()
    osv = registry.correct_ruos_registration(
        osv_id=osv_id, corrected_on=registry.today(), cleared=cleared, recorder=recorder, expected=expected, **values
    )
    tagged(response, osv.version)
    return OSVPublic.of(osv, registry.calendar())

