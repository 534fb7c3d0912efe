"""Working days in Peru: the unit of the deadlines a municipality gives an OSV. Pure.

An observed RUOS application must be amended within N *días hábiles* (TUO de
la Ley 27444, art. 145): Saturdays, Sundays, public holidays and the one-off
*días no laborables* the Executive decrees for the public sector do not
count. The holidays come from the ``holidays`` library; the decreed days are
dated reference data, each with the decree that set it: the list shipped in
``shared/data/dias_no_laborables.json`` and those recorded since with
``POST /non-working-days`` (:class:`DecreedDays`), so a new decree needs no
release.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

import holidays
from eventsourcing.domain import Aggregate, event

from shared.errors import ConflictError, NotFoundError, RuleViolationError

PERUVIAN_HOLIDAYS = holidays.country_holidays("PE", language="es")
"""Peru's public holidays, named in Spanish (``Inmaculada Concepción``): the library names them in English unless told."""

WEEKEND = ("a Saturday", "a Sunday")


def never_working(day: date) -> str | None:
    """Why ``day`` is no working day anywhere in Peru, whatever is decreed: ``a Saturday``, ``a Sunday``, or ``a public
    holiday in Peru (Inmaculada Concepción)``; None for a weekday that is no public holiday."""
    if day.weekday() >= 5:
        return WEEKEND[day.weekday() - 5]
    name = PERUVIAN_HOLIDAYS.get(day)
    return None if name is None else f"a public holiday in Peru ({name})"


@dataclass(frozen=True)
class NonWorkingDay:
    """A día no laborable: the day, the decree that set it (``D.S. N.º 161-2021-PCM``), where it applies, and a source."""

    day: date
    decree: str
    scope: str = "nacional"
    source: str | None = None

    @property
    def applies_in_lima(self) -> bool:
        """Whether Lima's deadlines skip it: a decree for the whole country (``nacional``) or one naming Lima ("Lima
        Metropolitana y Callao"); one for another area ("Región Cusco") is listed and moves none (tester 37d F5)."""
        area = unicodedata.normalize("NFKD", self.scope).encode("ascii", "ignore").decode().casefold()
        return "nacional" in area or "lima" in area


class WorkingCalendar:
    """Which days count as working days for a deadline: not a weekend, not a holiday, not a decreed non-working day."""

    def __init__(self, decreed: Iterable[NonWorkingDay] = ()) -> None:
        self.decreed: dict[date, NonWorkingDay] = {d.day: d for d in decreed}

    @classmethod
    def from_json(cls, text: str) -> WorkingCalendar:
        """The calendar of a list shaped as ``shared/data/dias_no_laborables.json``."""
        rows = json.loads(text)["days"]
        return cls(NonWorkingDay(date.fromisoformat(r["day"]), r["decree"], r.get("scope", "nacional"), r.get("source")) for r in rows)

    def with_days(self, more: Iterable[NonWorkingDay]) -> WorkingCalendar:
        """This calendar and ``more`` days (a day recorded later replaces the shipped one)."""
        return WorkingCalendar([*self.decreed.values(), *more])

    def is_working_day(self, day: date) -> bool:
        decreed = self.decreed.get(day)
        return never_working(day) is None and (decreed is None or not decreed.applies_in_lima)

    def add_working_days(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (the day of ``start`` does not count)."""
        if days < 1:
            msg = "days must be at least 1"
            raise ValueError(msg)
        day = start
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day


HOLIDAYS_ONLY = WorkingCalendar()


def is_working_day(day: date, calendar: WorkingCalendar = HOLIDAYS_ONLY) -> bool:
    return calendar.is_working_day(day)


def add_working_days(start: date, days: int, calendar: WorkingCalendar = HOLIDAYS_ONLY) -> date:
    """The date ``days`` working days after ``start`` in ``calendar`` (holidays only unless given)."""
    return calendar.add_working_days(start, days)


# Recorded decrees ----------------------------------------------------------------


class NonWorkingDayAlreadyRecordedError(ConflictError):
    def __init__(self, known: NonWorkingDay) -> None:
        super().__init__(
            f"{known.day.isoformat()} is already a non-working day ({known.decree})", field="day", rule="non_working_day_once"
        )


class NeverWorkingDayDecreedError(RuleViolationError):
    """422 ``working_day`` (field ``day``): a decree's día no laborable on a weekend or a public holiday (tester 208 F8)."""

    def __init__(self, day: date, why: str) -> None:
        super().__init__(
            f"day {day.isoformat()} is {why}: not a working day anywhere in Peru already, so a decree making it non-working "
            "moves no deadline. Is the day mistyped? A decree sets a día no laborable on a working day",
            field="day",
            rule="working_day",
        )


def check_working_day(day: date) -> None:
    """Raise :class:`NeverWorkingDayDecreedError` when ``day`` is no working day whatever is decreed (:func:`never_working`).

    Whatever the decree's scope: a weekend and a national holiday are non-working in every area of Peru. A real decree
    may name a Saturday (the APEC week's 16 November 2024, for a private sector that works Saturdays: it is shipped in
    the list), but no deadline counted in días hábiles moves for it, so a weekend or holiday sent here is most likely a
    mistyped day. Days recorded before this rule load as they were."""
    if (why := never_working(day)) is not None:
        raise NeverWorkingDayDecreedError(day, why)


class NonWorkingDayNotRecordedError(NotFoundError):
    def __init__(self, day: date) -> None:
        super().__init__(f"no non-working day was recorded for {day.isoformat()}", field="day", rule="recorded_non_working_day")


class DecreedDays(Aggregate):
    """The días no laborables recorded after the release, one record for the whole registry (its id is fixed)."""

    @staticmethod
    def create_id() -> UUID:
        return uuid5(NAMESPACE_URL, "urn:osv-platform:registry:decreed-non-working-days")

    @event("DecreedDaysOpened")
    def __init__(self) -> None:
        self.days: dict[date, NonWorkingDay] = {}

    def decree(self, day: date, decree: str, scope: str, source: str | None, shipped: Mapping[date, NonWorkingDay]) -> NonWorkingDay:
        """Record a day one decree made non-working; a day already known (shipped or recorded) is a conflict, a weekend
        or a public holiday a mistyped day (422 ``working_day``, :func:`check_working_day`)."""
        known = self.days.get(day) or shipped.get(day)
        if known is not None:
            raise NonWorkingDayAlreadyRecordedError(known)
        check_working_day(day)
        self._decreed(day=day, decree=decree, scope=scope, source=source)
        return self.days[day]

    @event("NonWorkingDayDecreed")
    def _decreed(self, day: date, decree: str, scope: str, source: str | None) -> None:
        self.days[day] = NonWorkingDay(day, decree, scope, source)

    def revoke(self, day: date, revoked_by: str) -> None:
        """A recorded day that a later decree annulled (or recorded by mistake) counts as a working day again."""
        if day not in self.days:
            raise NonWorkingDayNotRecordedError(day)
        self._revoked(day=day, revoked_by=revoked_by)

    @event("NonWorkingDayRevoked")
    def _revoked(self, day: date, revoked_by: str) -> None:
        self.days.pop(day, None)
