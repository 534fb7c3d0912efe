"""Registry's domain: an observation or a rejection of an RUOS application, entered in error, withdrawn. Pure.

A municipality's focal point (its officials rotate) or programme staff record an observation or a rejection on the wrong
application, or one the municipality never made, and nothing took it back: an observation left the application observed
(the OSV had to amend what needed no amendment), a rejection closed it (the OSV had to apply again). The withdrawal is of
a step that never was: the application stands as it did before it (submitted, observed or amended), and the next steps
(an observation, an amendment, the registration, a rejection) are taken on it as usual, dated from its steps that stand.

Only the application's last step is withdrawn: an observation amended since, an application registered, a rejection
followed by a new application or by a registration recorded directly, are what staff and the OSV did on the strength of
the step, which a withdrawal cannot undo (409 ``withdraw_last_step``). Why it was entered in error is staff's words (it
may name the official who erred): sealed in registry's store with the OSV's history (:mod:`services.registry.history`),
never published, forgettable as the history's other words are. Who withdrew it is in that history.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.registry.domain.ruos import (
    ApplicationStatus,
    RUOSApplication,
    WithdrawnStep,
    documents_in_order,
    missing_from,
)
from services.registry.domain.workingdays import HOLIDAYS_ONLY, WorkingCalendar
from shared.errors import ConflictError

OBSERVATION, REJECTION = "observation", "rejection"
"""The steps a withdrawal takes back: an application's observation, its rejection."""
DATED_BY = {OBSERVATION: "observed_on", REJECTION: "rejected_on"}
"""The field that dates each step withdrawn: the one :meth:`~.ruos.RUOSApplication.last_step` names when it is the last."""
STEPS_SAID = {
    "submitted_on": "its submission",
    "observed_on": "an observation",
    "amended_on": "its amendment",
    "registered_on": "its registration",
    "rejected_on": "its rejection",
}


class StepNotLastError(ConflictError):
    """A withdrawal of a step that is not the application's last: something followed it (an amendment, a registration, a
    new application), or the application has no such step. The problem names the step that is last (``last_step``, the
    field dating it, and ``last_step_on``)."""

    def __init__(self, application: RUOSApplication, step: str, last_step: str, last_on: date, why: str) -> None:
        super().__init__(
            f"the {step} of RUOS application {application.application_id} cannot be withdrawn: only an application's "
            f"last step is, and {why}",
            field="application_id",
            rule="withdraw_last_step",
        )
        self.extensions = {"last_step": last_step, "last_step_on": last_on.isoformat()}


class StepWithdrawals:
    """An application's observation or rejection withdrawn as entered in error: a mixin of :class:`~.osvs.OSV`, one of its
    direct bases, so that its events are stored and published as the OSV's other events are (``OSV.RUOSObservationWithdrawn``,
    ``OSV.RUOSRejectionWithdrawn``, as :class:`~.ruoscorrections.RegistrationCorrections`)."""

    registered_on: date | None
    applications: list[RUOSApplication]

    class RUOSObservationWithdrawn(Aggregate.Event):
        """The application's last observation (``observed_on``, ``observation_reasons``: its codes) was entered in error:
        the application stands ``status`` (``submitted`` or ``amended``) as before it. ``municipality_id``: whose RUOS the
        application is in; ``reason``: why, staff's words (sealed, never published); ``withdrawn_on``: the day registry
        recorded it."""

        application_id: UUID
        municipality_id: str
        observed_on: date
        observation_reasons: list[str]
        status: str
        reason: str
        withdrawn_on: date

        def apply(self, aggregate: Any) -> None:
            application = aggregate.find_application(self.application_id)
            application.observations.pop()
            application.status = ApplicationStatus(self.status)
            application.withdrawn.append(WithdrawnStep(OBSERVATION, self.observed_on, self.withdrawn_on))

    class RUOSRejectionWithdrawn(Aggregate.Event):
        """The application's rejection (``rejected_on``, ``rejection_reason``: its code) was entered in error: the
        application is open again, ``status`` (``submitted``, ``observed`` or ``amended``) as before it, ``amend_by`` its
        deadline to amend when observed, listing the documents the OSV recorded while it stood rejected too. ``municipality_id``, ``reason`` and ``withdrawn_on`` as
        :class:`RUOSObservationWithdrawn`'s."""

        application_id: UUID
        municipality_id: str
        rejected_on: date
        rejection_reason: str
        status: str
        amend_by: date | None
        reason: str
        withdrawn_on: date

        def apply(self, aggregate: Any) -> None:
            application = aggregate.find_application(self.application_id)
            application.status = ApplicationStatus(self.status)
            application.rejected_on = None
            application.rejection_reason = None
            application.withdrawn.append(WithdrawnStep(REJECTION, self.rejected_on, self.withdrawn_on))
            # open again, it lists every document the OSV has, those recorded while it stood rejected too (as it would have)
            application.documents = documents_in_order([*application.documents, *aggregate.documents_ready])
            application.missing_documents = missing_from(application.documents)

    def withdraw_observation(self, application_id: UUID, withdrawn_on: date, reason: str, municipality_id: str) -> None:
        """Record ``RUOSObservationWithdrawn``: the application's last observation was entered in error, and the
        application stands as before it (``submitted``, or ``amended`` after an earlier observation), with no deadline.

        409 ``osv_not_merged`` on a record merged into another; 404 ``known_application``; 409 ``withdraw_last_step``
        when the observation is not the application's last step (amended since) or the application has none, or when
        the application is not the OSV's latest. ``municipality_id``: whose RUOS the application is in (the caller
        checks that it records for it); ``reason``: staff's words."""
        application = self._last_step_of(application_id, OBSERVATION)
        observation = application.last_observation
        assert observation is not None  # its last step is an observation
        self.trigger_event(  # type: ignore[attr-defined]
            self.RUOSObservationWithdrawn,
            application_id=application_id,
            municipality_id=municipality_id,
            observed_on=observation.observed_on,
            observation_reasons=[str(code) for code in observation.reason_codes],
            status=str(_standing_without_last_observation(application)),
            reason=reason,
            withdrawn_on=withdrawn_on,
        )

    def withdraw_rejection(
        self, application_id: UUID, withdrawn_on: date, reason: str, municipality_id: str, calendar: WorkingCalendar = HOLIDAYS_ONLY
    ) -> None:
        """Record ``RUOSRejectionWithdrawn``: the application's rejection was entered in error, and the application is open
        again as before it, its deadline to amend (when observed) counted in ``calendar`` as the amendment judges it.

        Taken from a dissolved OSV, as the rejection was whatever its date: the application stands as it did at the
        dissolution. 409 ``osv_not_merged``, 404 ``known_application`` and 409 ``withdraw_last_step`` as
        :meth:`withdraw_observation`, this one too when the OSV was registered in the RUOS directly after the rejection."""
        application = self._last_step_of(application_id, REJECTION)
        assert application.rejected_on is not None and application.rejection_reason is not None
        status = application.status_before_decision()
        observation = application.last_observation
        self.trigger_event(  # type: ignore[attr-defined]
            self.RUOSRejectionWithdrawn,
            application_id=application_id,
            municipality_id=municipality_id,
            rejected_on=application.rejected_on,
            rejection_reason=str(application.rejection_reason),
            status=str(status),
            amend_by=observation.deadline(calendar) if observation is not None and status is ApplicationStatus.OBSERVED else None,
            reason=reason,
            withdrawn_on=withdrawn_on,
        )

    def _last_step_of(self, application_id: UUID, step: str) -> RUOSApplication:
        """The application whose last step ``step`` (:data:`DATED_BY`'s) is, nothing of the OSV after it; else the 409s of
        :meth:`withdraw_observation`."""
        self.check_not_merged()  # type: ignore[attr-defined]
        application: RUOSApplication = self.find_application(application_id)  # type: ignore[attr-defined]
        latest = self.applications[-1]
        if latest is not application:
            raise StepNotLastError(
                application, step, "submitted_on", latest.submitted_on,
                f"RUOS application {latest.application_id} was submitted after it, on {latest.submitted_on.isoformat()} (submitted_on)",
            )
        last_step, last_on = application.last_step()
        if last_step != DATED_BY[step]:
            raise StepNotLastError(
                application, step, last_step, last_on,
                f"its last step is {STEPS_SAID[last_step]} on {last_on.isoformat()} ({last_step}), not {_an(step)}",
            )
        if step == REJECTION and self.registered_on is not None:
            raise StepNotLastError(
                application, step, "registered_on", self.registered_on,
                f"the OSV was registered in the RUOS after it was rejected, on {self.registered_on.isoformat()} (registered_on)",
            )
        return application


def _standing_without_last_observation(application: RUOSApplication) -> ApplicationStatus:
    """The status an application observed stands at once its last observation is withdrawn: ``amended`` when an earlier
    observation was amended, else ``submitted``."""
    earlier = application.observations[-2] if len(application.observations) > 1 else None
    return ApplicationStatus.SUBMITTED if earlier is None else ApplicationStatus.AMENDED


def _an(step: str) -> str:
    return f"an {step}" if step[0] in "aeiou" else f"a {step}"
