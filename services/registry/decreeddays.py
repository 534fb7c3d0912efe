"""Registry's working-day calendar, by which every RUOS deadline is counted: Peru's holidays, the días no laborables
shipped with the release and those recorded since (:class:`~services.registry.domain.workingdays.DecreedDays`).

A decree or a revocation that moves the deadline of an application under
observation records, in the same transaction, ``RUOSAmendmentDeadlineMoved``
on its OSV (:mod:`services.registry.domain.deadlines`), which goes out under
the OSV's municipality: partners learn the day registry goes by.

Why a day was revoked (``revoked_by``: the annulling decree, or staff's words on a day recorded by mistake, which may
name the person who erred) is sealed in the store under a key of its own (:data:`SEALED_FIELDS`), shown by no route,
and forgotten with :meth:`DecreedDaysRecords.redact_revocation_reasons`.

A mixin of :class:`services.registry.application.Registry`, which sets ``shipped_calendar`` in its ``__init__``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.utils import get_topic

from services.registry.domain.osvs import OSV, OSVNotFoundError
from services.registry.domain.workingdays import (
    DecreedDays,
    NonWorkingDay,
    NonWorkingDayNotRecordedError,
    WorkingCalendar,
)
from shared.dates import plans
from shared.errors import NotFoundError
from shared.sealing import free_text, text_key
from shared.store import TextNotSealedError, retried_on_collision

if TYPE_CHECKING:
    from eventsourcing.persistence import ApplicationRecorder

    from shared.sealing import KeyRing


def _revocation_text(event: Any) -> UUID:
    """Each revocation's reason is sealed under a key of its own (the calendar record's version that holds it)."""
    return text_key(event.originator_id, event.originator_version)


SEALED_FIELDS = {
    DecreedDays.NonWorkingDayRevoked: free_text("revoked_by", key_of=_revocation_text),  # type: ignore[attr-defined]
}
"""Staff's words in the calendar's record (why a day was revoked): sealed."""


class RevocationNotRecordedError(NotFoundError):
    """404 ``recorded_revocation``: no revocation of the day was recorded, so there is no reason to forget."""

    def __init__(self, day: date) -> None:
        super().__init__(f"no revocation of a non-working day was recorded for {day.isoformat()}", field="day", rule="recorded_revocation")


def shipped_non_working_days(path: Path | None = None) -> WorkingCalendar:
    """The días no laborables shipped in ``shared/data/dias_no_laborables.json``, or those of the file at ``path``."""
    if path is not None:
        return WorkingCalendar.from_json(Path(path).read_text("utf-8"))
    return WorkingCalendar.from_json(resources.files("shared").joinpath("data/dias_no_laborables.json").read_text("utf-8"))


class DecreedDaysRecords:
    """The calendar of the deadlines, and the días no laborables decreed after the release (records of their own)."""

    shipped_calendar: WorkingCalendar
    today: Callable[[], date]
    if TYPE_CHECKING:
        recorder: ApplicationRecorder
        def find(self, aggregate_id: Any, kind: type[DecreedDays]) -> DecreedDays | None: ...
        def load(self, aggregate_id: UUID, kind: type[OSV], not_found: Any) -> OSV: ...
        def save(self, *objs: Any, **kwargs: Any) -> Any: ...
        mapper: Any
        keys: KeyRing | None

    def calendar(self) -> WorkingCalendar:
        """Holidays, the shipped días no laborables and those recorded since."""
        return self._calendar_with(self.find(DecreedDays.create_id(), DecreedDays))

    def _calendar_with(self, recorded: DecreedDays | None) -> WorkingCalendar:
        return self.shipped_calendar.with_days(recorded.days.values()) if recorded else self.shipped_calendar

    def non_working_days(self, year: int | None = None) -> list[tuple[NonWorkingDay, bool]]:
        """Every decreed non-working day (of ``year``), by date, each with whether it was recorded after the release."""
        recorded = self.find(DecreedDays.create_id(), DecreedDays)
        extra = recorded.days if recorded else {}
        days = {**{d: (n, False) for d, n in self.shipped_calendar.decreed.items()}, **{d: (n, True) for d, n in extra.items()}}
        return [days[d] for d in sorted(days) if year is None or d.year == year]

    @retried_on_collision
    @plans("day")
    def decree_non_working_day(self, day: date, decree: str, scope: str = "nacional", source: str | None = None) -> NonWorkingDay:
        """Record a día no laborable a decree set (records `NonWorkingDayDecreed`); every deadline skips it, those of
        applications observed already included: each application under observation whose deadline it moves records
        `RUOSAmendmentDeadlineMoved` on its OSV, saved with the decree (:meth:`_deadlines_moved`). A deadline that had
        lapsed when the decree is recorded moves too: the decree was published before its day, so the deadline was the
        later one (tester 208 F8). A weekend or a public holiday is 422 ``working_day`` (:func:`.check_working_day`)."""
        recorded = self.find(DecreedDays.create_id(), DecreedDays) or DecreedDays()
        before = self._calendar_with(recorded)
        made = recorded.decree(day, decree, scope, source, self.shipped_calendar.decreed)
        moved = self._deadlines_moved(before, self._calendar_with(recorded), made)
        self.save(recorded, *moved)
        return made

    @retried_on_collision
    @plans("day")
    def revoke_non_working_day(self, day: date, revoked_by: str) -> None:
        """A recorded día no laborable counts as a working day again (records `NonWorkingDayRevoked`); each application
        under observation whose deadline it moves back records `RUOSAmendmentDeadlineMoved`, saved with it."""
        recorded = self.find(DecreedDays.create_id(), DecreedDays)
        if recorded is None:
            raise NonWorkingDayNotRecordedError(day)
        before = self._calendar_with(recorded)
        revoked = recorded.days.get(day)
        recorded.revoke(day, revoked_by)
        moved = self._deadlines_moved(before, self._calendar_with(recorded), revoked, revoked=True) if revoked else []
        self.save(recorded, *moved)

    def redact_revocation_reasons(self, day: date) -> int:
        """Forget for good why ``day`` was revoked, each time it was (a day decreed again can be revoked again): the keys
        that sealed each ``revoked_by`` are deleted; the revocations, their days and the deadlines they moved stay. How
        many revocations of the day there are, every one's reason forgotten now (asked again, the same). A reason
        recorded before reasons were sealed (2026-12-07) is in clear in its stored event, which the append-only,
        hash-chained log keeps; no route shows it. 404 ``recorded_revocation`` when the day was never revoked.

        Nothing answered holds a reason (the revocation's answer lists the year's days): no kept answer is forgotten.
        """
        record_id = DecreedDays.create_id()
        revocations = [
            stored for stored in self.recorder.select_events(record_id)
            if stored.topic == get_topic(DecreedDays.NonWorkingDayRevoked) and self._revocation_day(stored) == day  # type: ignore[attr-defined]
        ]
        if not revocations:
            raise RevocationNotRecordedError(day)
        if self.keys is None:
            raise TextNotSealedError
        self.keys.forget(*(text_key(record_id, stored.originator_version) for stored in revocations))
        return len(revocations)

    def _revocation_day(self, stored: Any) -> date:
        """The day a stored ``NonWorkingDayRevoked`` revoked, read from the event (its reason may be forgotten already)."""
        return self.mapper.to_domain_event(stored).day  # type: ignore[no-any-return]

    def _deadlines_moved(
        self, before: WorkingCalendar, after: WorkingCalendar, day: NonWorkingDay, *, revoked: bool = False
    ) -> list[OSV]:
        """The OSVs whose application under observation has another deadline in ``after`` than in ``before``, each with
        its `RUOSAmendmentDeadlineMoved` pending. None loaded for a day the change leaves as it was (a weekend, a
        holiday, a decree for another area than Lima)."""
        if before.is_working_day(day.day) == after.is_working_day(day.day):
            return []
        moved_on = self.today()
        osvs = (self.load(osv_id, OSV, OSVNotFoundError) for osv_id in self._osvs_observed())
        return [osv for osv in osvs if osv.move_amendment_deadline(before, after, moved_on, day, revoked=revoked)]

    def _osvs_observed(self) -> list[UUID]:
        """Every OSV that recorded an observation, once each, oldest first: the log's ``RUOSApplicationObserved``
        notifications, read by their topic alone. No view keeps the applications under observation: each of these OSVs
        is loaded (those amended, registered or rejected since too), not every OSV mapped."""
        topic = get_topic(OSV.RUOSApplicationObserved)
        ids: dict[UUID, None] = {}
        position = 0
        while batch := self.recorder.select_notifications(start=position, limit=1000, topics=[topic], inclusive_of_start=False):
            ids.update((UUID(str(n.originator_id)), None) for n in batch)
            position = batch[-1].id
        return list(ids)
