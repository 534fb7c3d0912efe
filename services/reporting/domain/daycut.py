"""A tally cut at a day: the facts dated after it have not happened yet, and count from their day on. Pure: no I/O.

A report answers as of a day in Lima (its ``as_of``'s, or today). A fact may be dated after it: engagement takes a
``joined_on`` of tomorrow (the date rule's day of margin, :mod:`shared.dates`), registry a merge's ``merged_on``, and a
fact recorded by a cut late in the day may be dated the next. Such a fact counts nowhere yet, neither in the phase in
progress (which counts its days so far: tester 271 F2, a member joining tomorrow was in ``members_joined`` today) nor
in the total, as a phase not started counts nothing: its days have not happened. From its day on it counts as any.

A tally given ``until`` (a day's ordinal) folds no fact dated after it (:meth:`~.tally.Tally.add`), recalls none
(:meth:`~.tally.Tally.recall`), is told none of the earlier facts a merge, a dissolution or a withdrawal reads
(:meth:`DayCut._earlier`), and counts nothing on a later day that a fact of its own names (a joining corrected to
tomorrow, the identification a merge takes back of a record mapped tomorrow, the seed funds a withdrawal takes back of
a grant dated tomorrow: :meth:`~.tally.Tally._count`), so that what it takes back is only what it counted. Without
``until`` it counts every fact, as the checkpoints do: a checkpoint serves a report cut at a day only when it counted
nothing after that day (its ``latest_day``), and the report folds on from it the facts recorded since, those dated
after the day left out. So a report as of a cut is the same whichever checkpoint it starts from, and the same again
later: its day is its cut's.

A mixin of :class:`~.tally.Tally`, which keeps ``until`` and ``history``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from services.reporting.domain.indicators import Fact


class DayCut:
    """What :class:`~.tally.Tally` leaves out of the days after the one it is cut at."""

    until: int | None
    """The day (ordinal) a report's tally is cut at, the facts dated after it left out; None: every fact counts."""
    history: Callable[[frozenset[str], Fact], list[Fact]]
    latest_day: int

    def happened(self, fact: Fact) -> bool:
        """Whether a fact is dated by the day the tally is cut at (every fact, for a tally cut at none)."""
        return self.until is None or fact.occurred_on.toordinal() <= self.until

    def counts_on(self, day: date) -> bool:
        """Whether the tally counts on a day: one by the day it is cut at (any day, for a tally cut at none)."""
        return self.until is None or day.toordinal() <= self.until

    def _counted_on(self, day: date) -> bool:
        """Whether to count on a day a fact names that is not its own (a joining's corrected day, a grant's day its
        withdrawal takes back): not after the day the tally is cut at. A day counted on is the tally's ``latest_day``
        when later (a checkpoint's: phases opened after it only split its last segment, :func:`~.tally.recuttable`)."""
        on = day.toordinal()
        if self.until is not None and on > self.until:
            return False
        self.latest_day = max(self.latest_day, on)
        return True

    def _earlier(self, osvs: frozenset[str], before: Fact) -> list[Fact]:
        """``history``'s facts (:data:`~.tally.History`) that have happened by the day the tally is cut at: those dated
        after it were never folded, and nothing of them is to be taken back or moved."""
        return [fact for fact in self.history(osvs, before) if self.happened(fact)]
