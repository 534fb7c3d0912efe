"""Reporting: the application every entry point goes through. It reads; the read model is its only store.

Reporting has no aggregates and records nothing of its own: the read model
(:mod:`services.reporting.views.readmodel`) keeps every public event of the
write services as a dated fact, and this application answers from it: the
indicators per phase, as of any moment and by zone or district, the evidence
behind each figure, the exports, and the follow-up alerts as of today.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from services.reporting import exports
from services.reporting.domain.alerts import OVERDUE_AFTER_DAYS, TERM_ENDS_WITHIN_DAYS, Alerts, alerts, only_in
from services.reporting.domain.indicators import UNKNOWN, ZONES, Breakdown
from services.reporting.views.readmodel import ReadModel
from shared.clock import Clock, today_in_lima
from shared.districts import DistrictTable, UnknownDistrictError
from shared.errors import RuleViolationError
from shared.municipalities import MunicipalityTable
from shared.roles import ALL_LIMA, MunicipalScope


def rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Reporting:
    """The programme's indicators and alerts, read from the read model; ``today`` and ``now`` are its clock."""

    def __init__(
        self,
        readmodel: ReadModel,
        *,
        today: Clock = today_in_lima,
        now: Callable[[], datetime] = utc_now,
        districts: DistrictTable | None = None,
    ) -> None:
        self.readmodel = readmodel
        self.today = today
        self.now = now
        self.districts = districts or DistrictTable.of_lima()
        self.municipalities = MunicipalityTable(self.districts).all()

    def districts_of(self, scope: MunicipalScope) -> frozenset[str] | None:
        """The names of the districts ``scope`` covers (as the facts name them), or None for all of Lima."""
        if scope.all_of_lima:
            return None
        return frozenset(d.name for d in self.districts.districts if scope.covers(d.ubigeo))

    def indicators(self, as_of: datetime | None = None, by: Breakdown | None = None, scope: MunicipalScope = ALL_LIMA) -> dict[str, Any]:
        """What ``GET /indicators`` answers: the moment it is as of, every indicator per phase and in total, and the breakdown.

        A municipal ``scope`` answers its districts' figures alone, as if nothing else had happened.
        """
        return {"as_of": rfc3339(as_of), **self.readmodel.report(as_of, by, self.districts_of(scope))}

    def evidence(
        self, name: str, phase: str, group: str | None = None, as_of: datetime | None = None, scope: MunicipalScope = ALL_LIMA
    ) -> dict[str, Any]:
        """The events that make one figure (a phase's, or ``total``; all of it, or a zone's or district's part), within ``scope``."""
        return {"as_of": rfc3339(as_of), **self.readmodel.evidence(name, phase, self.group_named(group), as_of, self.districts_of(scope))}

    def group_named(self, given: str | None) -> str | None:
        """A zone, or a district by any of its names, as the indicators name it."""
        if given is None or given in ZONES or given == UNKNOWN:
            return given
        try:
            return self.districts.find(given).name
        except UnknownDistrictError:
            raise RuleViolationError(
                f"'{given}' is neither a zone ({', '.join(ZONES)}) nor a district of Lima Metropolitana",
                field="group",
                rule="zone_or_district",
            ) from None

    def export_csv(self, as_of: datetime | None = None, by: Breakdown | None = None, scope: MunicipalScope = ALL_LIMA) -> str:
        """The indicators as CSV rows (:mod:`services.reporting.exports`), under the as-of moment, within ``scope``."""
        return exports.to_csv(self.readmodel.report(as_of, by, self.districts_of(scope)), as_of, self.now())

    def export_xlsx(self, as_of: datetime | None = None, by: Breakdown | None = None, scope: MunicipalScope = ALL_LIMA) -> bytes:
        """The indicators as an XLSX workbook, the same rows as the CSV."""
        return exports.to_xlsx(self.readmodel.report(as_of, by, self.districts_of(scope)), as_of, self.now())

    def alerts(self, days: int = OVERDUE_AFTER_DAYS, within_days: int = TERM_ENDS_WITHIN_DAYS, scope: MunicipalScope = ALL_LIMA) -> Alerts:
        """The follow-up alerts as of today in Lima, about the OSVs and municipalities in ``scope``."""
        facts = self.readmodel.alert_facts()
        municipalities = [m for m in self.municipalities if scope.covers(m.id)]
        districts = self.districts_of(scope)
        if districts is not None:
            facts = only_in(facts, districts, frozenset(m.id for m in municipalities))
        return alerts(facts, self.today(), municipalities, overdue_after_days=days, within_days=within_days)

    def close(self) -> None:
        self.readmodel.engine.dispose()
