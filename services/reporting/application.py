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

from services.reporting import exports, iati
from services.reporting.domain import threew
from services.reporting.domain.alerts import OVERDUE_AFTER_DAYS, TERM_ENDS_WITHIN_DAYS, Alerts, alerts
from services.reporting.domain.indicators import UNKNOWN, ZONES, Breakdown
from services.reporting.views.readmodel import ReadModel
from shared.clock import LIMA, Clock, today_in_lima
from shared.districts import DistrictTable, UnknownDistrictError
from shared.errors import RuleViolationError
from shared.municipalities import MunicipalityTable


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
        programme: iati.Programme | None = None,
    ) -> None:
        self.readmodel = readmodel
        self.programme = programme or iati.Programme()
        self.today = today
        self.now = now
        self.districts = districts or DistrictTable.of_lima()
        self.municipalities = MunicipalityTable(self.districts).all()

    def indicators(self, as_of: datetime | None = None, by: Breakdown | None = None) -> dict[str, Any]:
        """What ``GET /indicators`` answers: the moment it is as of, every indicator per phase and in total, and the breakdown."""
        return {"as_of": rfc3339(as_of), **self.readmodel.report(as_of, by)}

    def evidence(self, name: str, phase: str, group: str | None = None, as_of: datetime | None = None) -> dict[str, Any]:
        """The events that make one figure (a phase's, or ``total``; all of it, or a zone's or district's part)."""
        return {"as_of": rfc3339(as_of), **self.readmodel.evidence(name, phase, self.group_named(group), as_of)}

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

    def export_csv(self, as_of: datetime | None = None, by: Breakdown | None = None) -> str:
        """The indicators as CSV rows (:mod:`services.reporting.exports`), under the as-of moment."""
        return exports.to_csv(self.readmodel.report(as_of, by), as_of, self.now())

    def export_xlsx(self, as_of: datetime | None = None, by: Breakdown | None = None) -> bytes:
        """The indicators as an XLSX workbook, the same rows as the CSV."""
        return exports.to_xlsx(self.readmodel.report(as_of, by), as_of, self.now())

    def export_hxl(self, as_of: datetime | None = None) -> str:
        """The OSVs' activities as an HXL 3W/5W CSV (who, what, where by ubigeo, when, people reached), from the facts recorded by ``as_of``."""
        activities = threew.rows(self.readmodel.facts(upto=as_of, types=threew.TYPES), self.ubigeo_of)
        return exports.to_hxl(activities, as_of, self.now())

    def ubigeo_of(self, district: str) -> str | None:
        try:
            return self.districts.find(district).ubigeo
        except UnknownDistrictError:
            return None

    def iati_activity(self, as_of: datetime | None = None) -> bytes:
        """The programme as an IATI 2.03 activity file (:mod:`services.reporting.iati`), from the facts recorded by ``as_of``."""
        today = as_of.astimezone(LIMA).date() if as_of else self.today()
        return iati.activity_file(self.readmodel.report(as_of), self.programme, as_of or self.now(), today)

    def alerts(self, days: int = OVERDUE_AFTER_DAYS, within_days: int = TERM_ENDS_WITHIN_DAYS) -> Alerts:
        """The follow-up alerts as of today in Lima."""
        return alerts(self.readmodel.alert_facts(), self.today(), self.municipalities, overdue_after_days=days, within_days=within_days)

    def close(self) -> None:
        self.readmodel.engine.dispose()
