"""Registry's commands withdrawing an RUOS step entered in error: an application's observation or rejection
(:mod:`services.registry.domain.ruoswithdrawals`). A mixin of :class:`services.registry.application.Registry`, which
gives them the OSV, the rule of who records a municipality's RUOS step, the calendar of deadlines and the save."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.registry.domain.ruos import RUOSApplication
from shared.preconditions import check_version
from shared.roles import ANY_RECORDER, RecordingScope
from shared.store import retried_on_collision

if TYPE_CHECKING:
    from services.registry.domain.osvs import OSV
    from services.registry.domain.workingdays import WorkingCalendar


class RUOSStepWithdrawals:
    if TYPE_CHECKING:
        def save(self, *objs: Any, **kwargs: Any) -> Any: ...
        def calendar(self) -> WorkingCalendar: ...
        def _recording_in_ruos(
            self, osv_id: UUID, recorder: RecordingScope, step: str, ruos_of: Callable[[OSV], str]
        ) -> tuple[OSV, str]: ...
        @staticmethod
        def _ruos_of_application(application_id: UUID) -> Callable[[OSV], str]: ...

    @retried_on_collision
    def withdraw_ruos_observation(
        self,
        osv_id: UUID,
        application_id: UUID,
        withdrawn_on: date,
        reason: str,
        recorder: RecordingScope = ANY_RECORDER,
        expected: frozenset[int] | None = None,
    ) -> tuple[OSV, RUOSApplication]:
        """The application's last observation, entered in error, withdrawn (records ``RUOSObservationWithdrawn``): the
        OSV and the application as they stand then (submitted, or amended after an earlier observation).

        As recording the observation: 404 for an OSV out of the ``recorder``'s reach, or an application it does not
        have (``known_application``); 403 ``own_municipality_ruos`` when the recorder does not record for the RUOS the
        application is in. 412 ``current_version`` when ``expected`` (an ``If-Match``'s versions) does not name the
        OSV's version. 409 ``osv_not_merged``, and 409 ``withdraw_last_step`` when the observation is not the
        application's last step (:meth:`~services.registry.domain.ruoswithdrawals.StepWithdrawals.withdraw_observation`).
        ``reason``: staff's words, sealed with the OSV's history, never published."""
        step = f"the withdrawal of an observation of RUOS application {application_id}"
        osv, municipality_id = self._recording_in_ruos(osv_id, recorder, step, self._ruos_of_application(application_id))
        check_version("the OSV", osv.version, expected)
        osv.withdraw_observation(application_id, withdrawn_on, reason, municipality_id)
        self.save(osv)
        return osv, osv.find_application(application_id)

    @retried_on_collision
    def withdraw_ruos_rejection(
        self,
        osv_id: UUID,
        application_id: UUID,
        withdrawn_on: date,
        reason: str,
        recorder: RecordingScope = ANY_RECORDER,
        expected: frozenset[int] | None = None,
    ) -> tuple[OSV, RUOSApplication]:
        """The application's rejection, entered in error, withdrawn (records ``RUOSRejectionWithdrawn``): the OSV and the
        application, open again as it stood before (its deadline to amend, when observed, in registry's calendar).

        The answers of :meth:`withdraw_ruos_observation`; 409 ``withdraw_last_step`` too when a new application followed
        the rejection, or a registration recorded directly
        (:meth:`~services.registry.domain.ruoswithdrawals.StepWithdrawals.withdraw_rejection`)."""
        step = f"the withdrawal of the rejection of RUOS application {application_id}"
        osv, municipality_id = self._recording_in_ruos(osv_id, recorder, step, self._ruos_of_application(application_id))
        check_version("the OSV", osv.version, expected)
        osv.withdraw_rejection(application_id, withdrawn_on, reason, municipality_id, self.calendar())
        self.save(osv)
        return osv, osv.find_application(application_id)
