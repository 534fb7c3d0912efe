"""Registry's domain: an OSV's name, corrected. Pure.

Field staff mistype a name ("Comite Vecinal Los Jasmines" for "Jazmines"), and an organisation mapped under a provisional
name later gives its own; the name is what donors, focal points and partners read in every report. The correction is of
a fact that was always so: every report made after it names the OSV so, those of past phases included (an ``as_of`` cut
before it still names it as it was then known). Its district, and so its municipality, is not a name: it stays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate


class NameCorrections:
    """The OSV's name corrected: a mixin of :class:`~.osvs.OSV`, one of its direct bases, so that its event is stored and
    published as the OSV's other events are (``OSV.OSVNameCorrected``, as :class:`~.deadlines.AmendmentDeadlines`)."""

    name: str
    merged_into: UUID | None

    class OSVNameCorrected(Aggregate.Event):
        """The OSV's name was recorded wrong (or provisional): ``name`` from now on, no longer ``previous_name``;
        ``corrected_on``: the day registry recorded it."""

        previous_name: str
        name: str
        corrected_on: date
        distinct_from: list[UUID] = ()  # type: ignore[assignment]  # a correction stored before it was kept has none
        """OSVs of the district with the same or a near name, or this one with words added or left out, that staff said,
        correcting it, are other organisations."""

        def apply(self, aggregate: Any) -> None:
            aggregate.name = self.name
            if self.distinct_from:
                aggregate.distinct_from = [*aggregate.distinct_from, *(i for i in self.distinct_from if i not in aggregate.distinct_from)]

    def correct_name(self, name: str, corrected_on: date, distinct_from: Iterable[UUID] = ()) -> bool:
        """Record ``OSVNameCorrected``; whether it did: the name it has already records nothing (a retry finds it done). 409
        ``osv_not_merged`` on a record merged into another (its survivor is the organisation's record). A dissolved OSV's
        name may be corrected: its reports name it still. The caller checks the name as a mapping's (letters, the roll)."""
        self.check_not_merged()  # type: ignore[attr-defined]
        if name == self.name:
            return False
        self.trigger_event(  # type: ignore[attr-defined]
            self.OSVNameCorrected, previous_name=self.name, name=name, corrected_on=corrected_on,
            distinct_from=list(dict.fromkeys(distinct_from)),
        )
        return True
