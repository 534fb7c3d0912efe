"""Registry's domain: the amendment deadlines a día no laborable decreed or revoked moves, and how an OSV records it. Pure.

An observed application's deadline is counted in the calendar as it is now
(:meth:`~.ruos.RUOSApplication.amendment_deadline`): a day decreed since the
observation that falls within its window moves it later, and the day's
revocation moves it back (never before the ``amend_by`` recorded with the
observation). Partners read the deadline in ``RUOSApplicationObserved``; when
a decree or a revocation moves it, the OSV records
``RUOSAmendmentDeadlineMoved``, under its municipality like its other RUOS
events, so the district's partner, its focal point and the MML go by the same
day registry does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.registry.domain.ruos import RUOSApplication
from services.registry.domain.workingdays import NonWorkingDay, WorkingCalendar


@dataclass(frozen=True)
class DeadlineMove:
    """One application's deadline, in the calendar before a decree or revocation and in the one after."""

    application_id: UUID
    municipality_id: str
    previous_amend_by: date
    amend_by: date


def moved_deadlines(applications: Iterable[RUOSApplication], before: WorkingCalendar, after: WorkingCalendar) -> list[DeadlineMove]:
    """The applications under observation (status ``observed``: not amended, registered or rejected, a withdrawal
    included) whose deadline is another day in ``after`` than in ``before``, in the order given. An application whose
    window the day is outside of, or whose recorded ``amend_by`` already skipped it, is not among them."""
    moves = []
    for application in applications:
        previous, now = application.amendment_deadline(before), application.amendment_deadline(after)
        if previous is not None and now is not None and now != previous:
            moves.append(DeadlineMove(application.application_id, application.municipality_id, previous, now))
    return moves


class AmendmentDeadlines:
    """The OSV's part in a decree: the event telling that a día no laborable moved its application's deadline.

    A mixin of :class:`~.osvs.OSV` (which keeps ``applications`` and ``merged_into``), one of its direct bases: the
    library defines the event of a direct base again on the aggregate, so it is stored and published as
    ``OSV.RUOSAmendmentDeadlineMoved``, as the OSV's other events.
    """

    applications: list[RUOSApplication]
    merged_into: UUID | None

    class RUOSAmendmentDeadlineMoved(Aggregate.Event):
        """A día no laborable decreed (``revoked`` False) or revoked since the observation moved ``application_id``'s
        deadline from ``previous_amend_by`` to ``amend_by``; ``moved_on``: the day registry recorded the decree."""

        application_id: UUID
        municipality_id: str
        amend_by: date
        previous_amend_by: date
        moved_on: date
        day: date
        decree: str
        revoked: bool

        def apply(self, aggregate: Any) -> None:
            """Nothing to change: the deadline is counted in the calendar (:meth:`~.ruos.RUOSApplication.amendment_deadline`)."""

    def move_amendment_deadline(
        self, before: WorkingCalendar, after: WorkingCalendar, moved_on: date, day: NonWorkingDay, *, revoked: bool = False
    ) -> list[DeadlineMove]:
        """Record ``RUOSAmendmentDeadlineMoved`` for the application under observation whose deadline ``day``, decreed
        (``revoked`` False) or revoked, moves from ``before`` to ``after`` (:func:`moved_deadlines`); the moves.

        None on a record merged into another: it takes no amendment (409 ``osv_not_merged``), so no deadline runs."""
        if self.merged_into is not None:
            return []
        moves = moved_deadlines(self.applications, before, after)
        for move in moves:
            self.trigger_event(  # type: ignore[attr-defined]
                self.RUOSAmendmentDeadlineMoved,
                application_id=move.application_id,
                municipality_id=move.municipality_id,
                amend_by=move.amend_by,
                previous_amend_by=move.previous_amend_by,
                moved_on=moved_on,
                day=day.day,
                decree=day.decree,
                revoked=revoked,
            )
        return moves
