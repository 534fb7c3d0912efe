"""RUOS observations in the tally: each counts in the phase it was dated, by the reasons it cites, and one withdrawn as
entered in error (registry's ``RUOSObservationWithdrawn``) is taken back. Pure: no I/O.

A mixin of :class:`~.tally.Tally`, which counts (``_count``: a fact's change to a counter, in the segment of its day or
of ``day``, in its OSV's district as the merges known place it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from services.reporting.domain.indicators import Fact

OBSERVED = "ruos_applications_observed"


class RUOSObservations:
    """What :class:`~.tally.Tally` does with an application's observation, and with one withdrawn."""

    # from the tally: _count

    def _observed(self, fact: Fact) -> None:
        self._counted(fact, fact.data.get("reasons") or [], 1, None)

    def _observation_withdrawn(self, fact: Fact) -> None:
        """Take back an observation entered in error as if it had never been made: no longer counted in the phase of its
        ``observed_on``, nor by the reasons it cited. The withdrawal repeats both (registry withdraws an observation once:
        it is the application's last step, and gone after), so nothing is looked up; a tally cut at a day before the
        observation's counted neither (:mod:`.daycut`)."""
        reasons = fact.data.get("observation_reasons") or []
        self._counted(fact, reasons, -1, date.fromisoformat(str(fact.data["observed_on"])))

    def _counted(self, fact: Fact, reasons: Iterable[str], delta: int, day: date | None) -> None:
        """One observation (``delta`` 1) or its withdrawal (-1), on ``day`` (None: the fact's own), in total and per reason
        it cites (a code given twice once)."""
        osv = fact.data.get("osv_id")
        self._count(f"{OBSERVED}/total", fact, delta, osv=osv, day=day)
        for reason in dict.fromkeys(reasons):
            self._count(f"{OBSERVED}/by_reason.{reason}", fact, delta, osv=osv, day=day)
