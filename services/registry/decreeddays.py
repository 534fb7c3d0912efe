"""Registry's working-day calendar, by which every RUOS deadline is counted: Peru's holidays, the días no laborables
shipped with the release and those recorded since (:class:`~services.registry.domain.workingdays.DecreedDays`).

A mixin of :class:`services.registry.application.Registry`, which sets ``shipped_calendar`` in its ``__init__``.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.registry.domain.workingdays import (
    DecreedDays,
    NonWorkingDay,
    NonWorkingDayNotRecordedError,
    WorkingCalendar,
)
from shared.store import retried_on_collision


def shipped_non_working_days(path: Path | None = None) -> WorkingCalendar:
    """The días no laborables shipped in ``shared/data/dias_no_laborables.json``, or those of the file at ``path``."""
    if path is not None:
        return WorkingCalendar.from_json(Path(path).read_text("utf-8"))
    return WorkingCalendar.from_json(resources.files("shared").joinpath("data/dias_no_laborables.json").read_text("utf-8"))


class DecreedDaysRecords:
    """The calendar of the deadlines, and the días no laborables decreed after the release (records of their own)."""

    shipped_calendar: WorkingCalendar
    if TYPE_CHECKING:
        def find(self, aggregate_id: Any, kind: type[DecreedDays]) -> DecreedDays | None: ...
        def save(self, *objs: Any, **kwargs: Any) -> Any: ...

    def calendar(self) -> WorkingCalendar:
        """Holidays, the shipped días no laborables and those recorded since."""
        recorded = self.find(DecreedDays.create_id(), DecreedDays)
        return self.shipped_calendar.with_days(recorded.days.values()) if recorded else self.shipped_calendar

    def non_working_days(self, year: int | None = None) -> list[tuple[NonWorkingDay, bool]]:
        """Every decreed non-working day (of ``year``), by date, each with whether it was recorded after the release."""
        recorded = self.find(DecreedDays.create_id(), DecreedDays)
        extra = recorded.days if recorded else {}
        days = {**{d: (n, False) for d, n in self.shipped_calendar.decreed.items()}, **{d: (n, True) for d, n in extra.items()}}
        return [days[d] for d in sorted(days) if year is None or d.year == year]

    @retried_on_collision
    def decree_non_working_day(self, day: date, decree: str, scope: str = "nacional", source: str | None = None) -> NonWorkingDay:
        """Record a día no laborable a decree set (records `NonWorkingDayDecreed`); every deadline skips it, those of applications observed already included."""
        recorded = self.find(DecreedDays.create_id(), DecreedDays) or DecreedDays()
        made = recorded.decree(day, decree, scope, source, self.shipped_calendar.decreed)
        self.save(recorded)
        return made

    @retried_on_collision
    def revoke_non_working_day(self, day: date, revoked_by: str) -> None:
        """A recorded día no laborable counts as a working day again (records `NonWorkingDayRevoked`)."""
        recorded = self.find(DecreedDays.create_id(), DecreedDays)
        if recorded is None:
            raise NonWorkingDayNotRecordedError(day)
        recorded.revoke(day, revoked_by)
        self.save(recorded)
