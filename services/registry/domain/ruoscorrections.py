"""Registry's domain: an OSV's registration in the RUOS, corrected. Pure.

A focal point or staff types the municipality's registration from its resolution: its RUOS number, its day, the
resolution's number, the registered board's term. A slip in any of them (``RUOS-SJL-2021-0007`` for ``0070``, the
resolution's day for the registration's) was there for good: the registration is recorded once (409 ``register_once``),
and the application it closed takes no step (tester t286 F1). The correction is of a fact that was always so: the OSV
was registered with those values, so reporting counts the registration in the phase of the corrected day, the past
phases' included (a report ``as_of`` a moment before still shows what was then known), and the board-term alerts go by
the corrected term. What it cannot correct: whose RUOS registered the OSV (its ``municipality_id``), and that the OSV was
registered at all (README, "An RUOS step entered in error"); an observation or a rejection entered in error is withdrawn
(:mod:`.ruoswithdrawals`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.registry.domain.ruos import ApplicationStatus, NotRegisteredError, RUOSApplication
from shared.errors import DateBeforeError, RuleViolationError, check_not_dissolved_by

CORRECTABLE = ("ruos_number", "registered_on", "resolution_number", "board_term_ends_on")
"""What a registration's correction may give, in the order its event lists them."""
CLEARABLE = frozenset({"resolution_number", "board_term_ends_on"})
"""What a registration may lack, and its correction clear (given null)."""


class RegistrationUnchangedError(RuleViolationError):
    """A correction that gives nothing, or only the values the registration has."""

    def __init__(self) -> None:
        super().__init__(
            "the request changes nothing: give at least one of ruos_number, registered_on, resolution_number or "
            "board_term_ends_on with a value different from the registration's",
            field="body",
            rule="change_required",
        )


class NotClearableError(RuleViolationError):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field} is not cleared: a registration has one; give the right one", field=field, rule="not_null")


class RegisteredAfterError(RuleViolationError):
    """A registration's day corrected to after something of the OSV that follows its registration (a board renewal)."""

    def __init__(self, registered_on: date, later_field: str, later: date, later_said: str) -> None:
        super().__init__(
            f"registered_on {registered_on.isoformat()} is after {later_said} on {later.isoformat()} ({later_field}): it "
            "follows the registration",
            field="registered_on",
            rule=f"not_after_{later_field}",
        )


class TermNotAfterRegistrationError(RuleViolationError):
    """A registration's day corrected to on or after the registered board's term's end, which it did not correct."""

    def __init__(self, registered_on: date, board_term_ends_on: date) -> None:
        super().__init__(
            f"registered_on {registered_on.isoformat()} must be before board_term_ends_on {board_term_ends_on.isoformat()}, "
            "the registered board's term (correct both at once if both were typed wrong)",
            field="registered_on",
            rule="before_board_term_ends_on",
        )


class RegistrationCorrections:
    """The OSV's registration in the RUOS corrected: a mixin of :class:`~.osvs.OSV`, one of its direct bases, so that its
    event is stored and published as the OSV's other events are (``OSV.RUOSRegistrationCorrected``, as
    :class:`~.naming.NameCorrections`)."""

    mapped_on: date
    ruos_number: str | None
    registered_on: date | None
    resolution_number: str | None
    board_term_ends_on: date | None
    registered_board_term_ends_on: date | None
    board_renewed_on: date | None
    board_first_renewed_on: date | None
    dissolved_on: date | None
    applications: list[RUOSApplication]

    class RUOSRegistrationCorrected(Aggregate.Event):
        """The registration was recorded with a slip: from now on it reads ``ruos_number``, ``registered_on``,
        ``resolution_number`` and ``board_term_ends_on`` (each ``previous_…`` until now); ``corrected``: those that
        differ. ``municipality_id``: whose RUOS holds it; ``application_id``: the application it closed (None for one
        recorded directly); ``corrected_on``: the day registry recorded it."""

        corrected: list[str]
        ruos_number: str
        registered_on: date
        resolution_number: str | None
        board_term_ends_on: date | None
        previous_ruos_number: str
        previous_registered_on: date
        previous_resolution_number: str | None
        previous_board_term_ends_on: date | None
        municipality_id: str
        application_id: UUID | None
        corrected_on: date

        def apply(self, aggregate: Any) -> None:
            aggregate.ruos_number = self.ruos_number
            aggregate.registered_on = self.registered_on
            aggregate.resolution_number = self.resolution_number
            aggregate.registered_board_term_ends_on = self.board_term_ends_on
            if aggregate.board_renewed_on is None:  # a renewal's term is the one in force since
                aggregate.board_term_ends_on = self.board_term_ends_on
            if self.application_id is not None:
                application = aggregate.find_application(self.application_id)
                application.registered_on = self.registered_on
                application.ruos_number = self.ruos_number
                application.resolution_number = self.resolution_number

    def registration(self) -> dict[str, Any]:
        """The registration as recorded now, by :data:`CORRECTABLE`'s names; 409 ``registered_in_ruos`` for an OSV not registered."""
        if self.ruos_number is None or self.registered_on is None:
            raise NotRegisteredError("a registration is corrected")
        return {
            "ruos_number": self.ruos_number,
            "registered_on": self.registered_on,
            "resolution_number": self.resolution_number,
            "board_term_ends_on": self.registered_board_term_ends_on,
        }

    def correct_registration(self, changes: Mapping[str, Any], corrected_on: date, municipality_id: str) -> list[str]:
        """Record ``RUOSRegistrationCorrected`` with ``changes`` (by :data:`CORRECTABLE`'s names; None clears one of
        :data:`CLEARABLE`); the names it corrected. ``municipality_id``: whose RUOS holds the registration.

        409 ``osv_not_merged`` on a record merged into another; 409 ``registered_in_ruos`` for an OSV not registered;
        422 ``change_required`` when nothing given differs from the registration. A corrected ``registered_on`` is
        judged as a registration's: 422 ``not_before_mapped_on``, ``not_before_<step>`` before the last step of the
        application it closed (its submission, observation or amendment), 409 ``osv_not_dissolved`` after the OSV's
        dissolution, and 422 ``not_after_board_renewed_on`` after the first board renewal (a renewal follows the registration).
        The term, corrected or not, ends after the registration's day: 422 ``after_registered_on`` naming
        ``board_term_ends_on`` when the term is corrected, ``before_board_term_ends_on`` naming ``registered_on`` when
        only the day is. The caller checks the dates as any command's (:mod:`shared.dates`), and the number's claim."""
        self.check_not_merged()  # type: ignore[attr-defined]
        now = self.registration()
        given = {name: changes[name] for name in CORRECTABLE if name in changes}
        for name, value in given.items():
            if value is None and name not in CLEARABLE:
                raise NotClearableError(name)
        corrected = [name for name, value in given.items() if value != now[name]]
        if not corrected:
            raise RegistrationUnchangedError
        after = {**now, **given}
        application = self._registered_application()
        if "registered_on" in corrected:
            self._check_registered_on(after["registered_on"], application)
        if "board_term_ends_on" in corrected:
            self.check_term("board_term_ends_on", after["board_term_ends_on"], "registered_on", after["registered_on"])  # type: ignore[attr-defined]
        elif after["board_term_ends_on"] is not None and after["board_term_ends_on"] <= after["registered_on"]:
            raise TermNotAfterRegistrationError(after["registered_on"], after["board_term_ends_on"])
        self.trigger_event(  # type: ignore[attr-defined]
            self.RUOSRegistrationCorrected,
            corrected=corrected,
            **after,
            **{f"previous_{name}": value for name, value in now.items()},
            municipality_id=municipality_id,
            application_id=application.application_id if application is not None else None,
            corrected_on=corrected_on,
        )
        return corrected

    def _registered_application(self) -> RUOSApplication | None:
        """The application the registration closed; None for a registration recorded directly."""
        return next((a for a in reversed(self.applications) if a.status is ApplicationStatus.REGISTERED), None)

    def _check_registered_on(self, registered_on: date, application: RUOSApplication | None) -> None:
        check_not_dissolved_by(self.dissolved_on, registered_on, "registered_on")
        if registered_on < self.mapped_on:
            raise DateBeforeError("registered_on", registered_on, "mapped_on", self.mapped_on)
        if application is not None:
            earlier_field, earlier = application.last_step_before_decision()
            if registered_on < earlier:
                raise DateBeforeError("registered_on", registered_on, earlier_field, earlier)
        if self.board_first_renewed_on is not None and registered_on > self.board_first_renewed_on:
            raise RegisteredAfterError(registered_on, "board_renewed_on", self.board_first_renewed_on, "its board was first renewed")
