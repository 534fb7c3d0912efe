"""Registry's HTTP API for an RUOS step entered in error: a registration corrected, an observation or a rejection
withdrawn. Routes only, each translating a
request into a call on :class:`~services.registry.application.Registry`; the other routes and the app are in :mod:`.api`,
which includes this router."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from services.registry.correctionschemas import RUOSRegistrationCorrection, RUOSStepWithdrawal
from services.registry.routing import CHANGE, RUOS_STEP, Records, RegistryDep
from services.registry.schemas import OSVPublic, RUOSApplicationPublic
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


WITHDRAWN = (
    "Who may, as recording the step: staff and leads, and the focal point of the municipality whose RUOS the application "
    "is in (another's is 403 `own_municipality_ruos`; an OSV outside the caller's municipalities, or an application it "
    "does not have, 404). A record merged into another is 409 `osv_not_merged`, naming the OSV it went to. Only the "
    "application's last step is withdrawn: one followed by anything (an amendment, the registration, a new application, "
    "a registration recorded directly), or an application with no such step, is 409 `withdraw_last_step`, whose "
    "`last_step` and `last_step_on` name the step that is last. `reason` is staff's words: sealed, never published, "
    "`[withheld]` in the OSV's history (which names who withdrew it) to readers without `personal-data:read`. With "
    "`If-Match` (the OSV's `ETag`, `GET /osvs/{osv_id}`), an OSV changed since is 412 `current_version`; the answer "
    "carries the OSV's new `ETag`. `Idempotency-Key` and `?dry_run=true` as for any command."
)


@ruos_corrections.post(
    "/{osv_id}/ruos-applications/{application_id}/observation/withdrawal",
    response_model=RUOSApplicationPublic,
    responses={**CHANGE, **RUOS_STEP},
    description="Withdraw the application's observation entered in error (records `RUOSObservationWithdrawn`, dated today in "
    "Lima).\n\nThe application stands as before it: `submitted`, or `amended` after an earlier observation, with no "
    "deadline to amend; the municipality observes, registers or rejects it as usual, and its next steps are dated from "
    "the steps that stand. Reporting counts the observation in `ruos_applications_observed` no more, in every report "
    "made after, past phases included (one `as_of` a moment before counts it as then known). " + WITHDRAWN,
)
def withdraw_observation(
    osv_id: UUID, application_id: UUID, body: RUOSStepWithdrawal, registry: RegistryDep, recorder: Records, expected: IfMatch, response: Response
) -> RUOSApplicationPublic:
    """Withdraw the application's observation entered in error (records `RUOSObservationWithdrawn`, dated today in Lima)."""
    osv, application = registry.withdraw_ruos_observation(
        osv_id=osv_id, application_id=application_id, withdrawn_on=registry.today(), reason=body.reason, recorder=recorder, expected=expected
    )
    tagged(response, osv.version)
    return RUOSApplicationPublic.of(osv_id, application, registry.calendar())


@ruos_corrections.post(
    "/{osv_id}/ruos-applications/{application_id}/rejection/withdrawal",
    response_model=RUOSApplicationPublic,
    responses={**CHANGE, **RUOS_STEP},
    description="Withdraw the application's rejection entered in error (records `RUOSRejectionWithdrawn`, dated today in "
    "Lima).\n\nThe application is open again as it stood before: `submitted`, `observed` (its deadline to amend as before, "
    "which may have passed) or `amended`, for the municipality to observe, register or reject as usual; it is the OSV's "
    "one open application, so no new one is filed meanwhile. A rejection is withdrawn from a dissolved OSV too, as it "
    "was taken. " + WITHDRAWN,
)
def withdraw_rejection(
    osv_id: UUID, application_id: UUID, body: RUOSStepWithdrawal, registry: RegistryDep, recorder: Records, expected: IfMatch, response: Response
) -> RUOSApplicationPublic:
    """Withdraw the application's rejection entered in error (records `RUOSRejectionWithdrawn`, dated today in Lima)."""
    osv, application = registry.withdraw_ruos_rejection(
        osv_id=osv_id, application_id=application_id, withdrawn_on=registry.today(), reason=body.reason, recorder=recorder, expected=expected
    )
    tagged(response, osv.version)
    return RUOSApplicationPublic.of(osv_id, application, registry.calendar())
