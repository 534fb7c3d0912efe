"""Reporting: the application every entry point goes through. It reads the read model and records the leads' phase reports.

The read model (:mod:`services.reporting.views.readmodel`) keeps every public
event of the write services as a dated fact, and this application answers
from it: the indicators per phase, as of any moment and by zone or district,
the evidence behind each figure, the exports, and the follow-up alerts as of
today. The only facts reporting records itself are the leads' targets and
sign-offs of each phase (:mod:`services.reporting.domain.phasereports`), in
an event store of its own (:class:`PhaseReports`): a sign-off is a record
kept for good, with its time, so it goes where every other record of the
programme goes. They are not published on NATS (yet): auditors read them
through ``GET /targets`` and ``GET /sign-offs``, and check that none was
rewritten with ``GET /verify``, ``GET /chain`` and ``osv-verify --service
reporting``: the store is hash-chained, and its head is given out to the
heads bucket as every service's (:class:`shared.web.Runtime`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from services.reporting import exports, iati
from services.reporting.domain import threew
from services.reporting.domain.alerts import (
    OVERDUE_AFTER_DAYS,
    TERM_ENDS_WITHIN_DAYS,
    Alerts,
    alerts,
    only_in,
    without_deliberation,
)
from services.reporting.domain.indicators import (
    PHASE_TYPES,
    UNKNOWN,
    Breakdown,
    Fact,
    Phase,
    cite,
    flatten,
    phase_of_code,
    report_digest,
)
from services.reporting.domain.phasereports import (
    PhaseReport,
    as_signed,
    digest_of,
    intact,
    parts_as_figures,
    share_reached,
)
from services.reporting.inuse import ReadModelInUse
from services.reporting.translations import Language
from services.reporting.views.readmodel import ReadModel
from services.reporting.views.tables import recorded_at
from shared.clock import LIMA, Clock, today_in_lima
from shared.districts import DistrictTable, UnknownDistrictError, district_key
from shared.errors import ConflictError, MomentInFutureError, NotFoundError, RuleViolationError
from shared.municipalities import MunicipalityTable
from shared.roles import ALL_LIMA, MunicipalScope
from shared.store import ServiceApplication, retried_on_collision

log = logging.getLogger(__name__)


def rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def difference(signed: Any, current: Any) -> Any:
    """Current minus signed, in the figure's own form: an integer for counts, a decimal string with the same places for money and rates."""
    if isinstance(signed, int) and isinstance(current, int):
        return current - signed
    places = max(len(str(v).partition(".")[2]) for v in (signed, current))
    return f"{Decimal(str(current)) - Decimal(str(signed)):.{places}f}"


class PhaseNotEndedError(ConflictError):
    """409: a phase is signed off from the facts recorded after its last day, never before (its figures would be a part of them)."""

    def __init__(self, phase: Phase, cut: datetime) -> None:
        day = cut.astimezone(LIMA).date()
        super().__init__(
            f"Phase '{phase.code}' runs until {phase.ends_on.isoformat()}: as of {rfc3339(cut)} ({day.isoformat()} in Lima) it had "
            f"not ended; sign it off from a cut on {(phase.ends_on + timedelta(days=1)).isoformat()} (Lima) or later.",
            field="as_of", rule="phase_ended_by_cut",
        )


class PhaseReports(ServiceApplication):
    """Reporting's own event store: each phase's :class:`PhaseReport` (targets and sign-offs)."""

    name = "phasereports"

    def report_of(self, phase: str) -> PhaseReport | None:
        return self.find(PhaseReport.id_for(phase), PhaseReport)

    @retried_on_collision
    def set_targets(self, phase: str, indicator: str, baseline: Mapping[str, Any], target: Mapping[str, Any], set_by: str,
                    set_at: datetime) -> dict[str, Any]:
        report = self.report_of(phase) or PhaseReport(phase=phase)
        if report.set_targets(indicator, baseline, target, set_by, set_at):
            self.save(report)
        return report.targets_as_of(None)[indicator]

    @retried_on_collision
    def sign_off(
        self, phase: str, cut: datetime, figures: Mapping[str, Any], signed_by: str, signed_at: datetime
    ) -> tuple[dict[str, Any], bool]:
        """The phase's sign-off of ``figures`` from ``cut``, and whether this call recorded it: the same figures from the
        same cut signed again record nothing and give the first sign-off (False)."""
        report = self.report_of(phase) or PhaseReport(phase=phase)
        before = len(report.sign_offs)
        signed = report.sign_off(cut, figures, signed_by, signed_at)
        self.save(report)
        return signed, len(report.sign_offs) > before


class Reporting:
    """The programme's indicators and alerts, read from the read model; ``today`` and ``now`` are its clock.

    ``phase_reports`` is where the leads' targets and sign-offs are recorded
    (an in-memory store when not given).
    """

    def __init__(
        self,
        readmodel: ReadModel,
        *,
        today: Clock = today_in_lima,
        now: Callable[[], datetime] = utc_now,
        districts: DistrictTable | None = None,
        programme: iati.Programme | None = None,
        phase_reports: PhaseReports | None = None,
        in_use: ReadModelInUse | None = None,
    ) -> None:
        self.readmodel = readmodel
        self.in_use = in_use
        """The service's share of the read model (:mod:`services.reporting.inuse`): no rebuild runs on it meanwhile."""
        self.phase_reports = phase_reports or PhaseReports({"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.programme = programme or iati.Programme()
        self.today = today
        self.now = now
        self.districts = districts or DistrictTable.of_lima()
        self.zones = tuple(self.districts.zones)  # the table's: those every by-zone figure, export and evidence names
        self.municipality_table = MunicipalityTable(self.districts)
        self.municipalities = self.municipality_table.all()
        self._said_lacking: set[str] = set()
        """The districts facts name that the table lacks, logged once each by this process."""

    def records_revision(self) -> int:
        """How many events the leads' own records (targets, sign-offs) hold: it moves with each one recorded."""
        return int(self.phase_reports.recorder.max_notification_id() or 0)

    def cut_day(self, as_of: datetime | None) -> date:
        """The day in Lima a report is as of: ``as_of``'s, or today. A phase that starts after it has no figures yet."""
        return as_of.astimezone(LIMA).date() if as_of is not None else self.today()

    def check_past(self, as_of: datetime | None) -> None:
        """Raise :class:`~shared.errors.MomentInFutureError` (422, ``as_of``) for a moment later than now: facts recorded by then are not all known."""
        if as_of is not None and as_of > (now := self.now()):
            raise MomentInFutureError("as_of", as_of, now)

    def districts_of(self, scope: MunicipalScope) -> frozenset[str] | None:
        """The names of the districts ``scope`` covers (as the facts name them), or None for all of Lima."""
        if scope.all_of_lima:
            return None
        return frozenset(d.name for d in self.districts.districts if scope.covers(d.ubigeo))

    def indicators(self, as_of: datetime | None = None, by: Breakdown | None = None, scope: MunicipalScope = ALL_LIMA) -> dict[str, Any]:
        """What ``GET /indicators`` answers: the moment it is as of, every indicator per phase and in total, and the breakdown.

        A municipal ``scope`` answers its districts' figures alone, as if nothing else had happened; its ``by=zone``
        is given by district (its districts are a share of their zone: a group named after the zone would read as the
        whole zone). Each phase says its ``status`` on the cut's day (:meth:`cut_day`); one not started counts nothing.
        With them, the report's ``digest`` (:func:`report_digest`: what
        ``osv-replay`` prints for the same cut, rebuilt from the feeds alone;
        for all of Lima) and the ``heads`` of each service's hash chain
        reporting knows (what ``osv-verify --heads`` checks a store against later). Every figure counts the facts dated
        by the cut's day, one in progress its days so far: a fact dated later counts from its day on (:mod:`.domain.daycut`).
        """
        self.check_past(as_of)
        within = self.districts_of(scope)
        if within is not None and by == "zone":
            by = "district"
        today = self.cut_day(as_of)

        def answer() -> dict[str, Any]:
            report = {"as_of": rfc3339(as_of), **self.readmodel.report(as_of, by, within, today, self.zones)}
            return {**report, "digest": report_digest(report), "heads": self.readmodel.heads()}

        if as_of is None:  # the latest figures: cached until the read model applies another fact, or the day changes
            return self.readmodel.cached(("indicators", by, within, today), answer)  # type: ignore[no-any-return]
        return answer()

    def evidence(
        self, name: str, phase: str, group: str | None = None, as_of: datetime | None = None, scope: MunicipalScope = ALL_LIMA
    ) -> dict[str, Any]:
        """The events that make one figure (a phase's, or ``total``; all of it, or a zone's or district's part), within ``scope``."""
        self.check_past(as_of)
        try:
            found = self.readmodel.evidence(name, phase, self.group_named(group), as_of, self.districts_of(scope), self.cut_day(as_of), self.zones)
        except NotFoundError as unknown:
            raise self._phase_not_yet_opened(unknown, phase, as_of) from None
        self._name_municipalities(found["events"])
        return {"as_of": rfc3339(as_of), **found}

    def _name_municipalities(self, events: list[dict[str, Any]]) -> None:
        """Each evidence row's ``municipality`` as ``{id, name}`` (the one its fact names, else its district's)."""
        for event in events:
            event["municipality"] = self._municipality(event.pop("municipality_id", None), event.get("district"))

    def _municipality(self, municipality_id: str | None, district: str | None) -> dict[str, str] | None:
        """The municipality an evidence row concerns: the one its fact names, else its district's; as id and name."""
        by_id = {m.id: m for m in self.municipalities}
        if municipality_id is None and district is not None:
            recorded = self.districts.recorded(district)
            if recorded is None:
                return None
            municipality_id = recorded.ubigeo
        found = by_id.get(str(municipality_id)) if municipality_id is not None else None
        return None if found is None else {"id": found.id, "name": found.name}

    def group_named(self, given: str | None) -> str | None:
        """A zone (case and accents aside, as ``/osvs?zone=`` takes it), or a district by any of its names, as the indicators name it."""
        if given is None or given == UNKNOWN:
            return given
        zone = next((z for z in self.zones if district_key(z) == district_key(given)), None)
        if zone is not None:
            return zone
        try:
            return self.districts.find(given).name
        except UnknownDistrictError:
            raise RuleViolationError(
                f"'{given}' is neither a zone ({', '.join(self.zones)}) nor a district of {self.districts.area}",
                field="group",
                rule="zone_or_district",
            ) from None

    def export_csv(
        self, as_of: datetime | None = None, by: Breakdown | None = None, lang: Language = "es", scope: MunicipalScope = ALL_LIMA
    ) -> tuple[bytes, str, dict[str, Any]]:
        """The indicators within ``scope`` as CSV (:mod:`services.reporting.exports`) in ``lang``, with the leads'
        targets set by ``as_of`` on the whole programme's rows; the file's name (which states the as-of moment);
        and the report's ``digest`` and chain ``heads`` (see :meth:`indicators`)."""
        now = self.now()
        report = self.indicators(as_of, by, scope)
        body = exports.to_csv(report, as_of, now, lang, self.plans(as_of), self.scope_label(scope))
        return body, exports.file_name(as_of, now, "csv"), _evidence_of(report)

    def export_xlsx(
        self, as_of: datetime | None = None, by: Breakdown | None = None, lang: Language = "es", scope: MunicipalScope = ALL_LIMA
    ) -> tuple[bytes, str, dict[str, Any]]:
        """The indicators within ``scope`` as an XLSX workbook, the same rows (and targets) as the CSV, with a
        properties sheet (as-of moment, digest, chain heads); the file's name; and the digest and heads."""
        now = self.now()
        report = self.indicators(as_of, by, scope)
        evidence = _evidence_of(report)
        body = exports.to_xlsx(report, as_of, now, lang, plans=self.plans(as_of), whole=self.scope_label(scope), **evidence)
        return body, exports.file_name(as_of, now, "xlsx"), evidence

    def scope_label(self, scope: MunicipalScope) -> str | None:
        """None for all of Lima; else the names of the municipalities whose share a report is ("Municipalidad … de San Juan de Lurigancho")."""
        if scope.all_of_lima:
            return None
        return ", ".join(sorted(m.name for m in self.municipalities if m.id in scope.ubigeos)) or ", ".join(sorted(scope.ubigeos))

    def export_hxl(self, as_of: datetime | None = None, scope: MunicipalScope = ALL_LIMA) -> str:
        """The OSVs' activities as an HXL 3W/5W CSV (who, what, where by ubigeo, when, people reached), from the facts recorded by ``as_of``
        and dated by its day in Lima (today without one).

        A municipal ``scope`` keeps only the activities held in its districts.
        """
        self.check_past(as_of)
        activities = threew.rows(self.readmodel.facts(upto=as_of, types=threew.TYPES), self.ubigeo_of, self.cut_day(as_of))
        activities = [row for row in activities if scope.covers(row["ubigeo"] or None)]
        return exports.to_hxl(activities, as_of, self.now())

    def ubigeo_of(self, district: str) -> str | None:
        """The district's INEI ubigeo; None for none the table knows (an error logged once for a district it lacks)."""
        recorded = self.districts.recorded(district)
        if recorded is None and district != UNKNOWN:
            self._say_lacking(district)
        return None if recorded is None else recorded.ubigeo

    def districts_lacking(self) -> list[str]:
        """The districts facts name (OSVs mapped, activities held there) that the table lacks: their ubigeo cells stay
        empty and no focal point of theirs sees them (``/health``'s ``missing_districts``; each logged once)."""
        lacking = self.districts.lacking(self.readmodel.districts())
        for district in lacking:
            self._say_lacking(district)
        return lacking

    def _say_lacking(self, district: str) -> None:
        if district in self._said_lacking:
            return
        self._said_lacking.add(district)
        log.error(
            "reporting: facts name the district '%s', which its districts table, %s, lacks: their ubigeo cells in the HXL 3W "
            "sheet stay empty and no focal point of the district sees them until %s names the districts file registry has "
            "and reporting is restarted",
            district, self.districts.described(), self.districts.setting or "the districts_file setting",
        )

    def iati_activity(self, as_of: datetime | None = None, scope: MunicipalScope = ALL_LIMA) -> bytes:
        """The programme as an IATI 2.03 activity file (:mod:`services.reporting.iati`), from the facts recorded by ``as_of``.

        A municipal ``scope`` gets its districts' figures alone, with the programme's targets and without the
        sign-offs (signed figures are the whole programme's: they do not compare with a district's share), as an
        activity of its own (:class:`iati.Share`: the programme's identifier and its ubigeos, its municipalities named
        in the title and description, the programme's activity as its parent).

        Its ``generated-datetime`` is now, when the file is made; its ``last-updated-datetime`` the cut (now without one).
        """
        self.check_past(as_of)
        today = as_of.astimezone(LIMA).date() if as_of else self.today()
        plans = {key: iati.PhasePlan(t["baseline"], t["target"]) for key, t in self.plans(as_of).items()}
        signoffs = self.signoffs_for_iati(as_of) if scope.all_of_lima else {}
        report = self.readmodel.report(as_of, None, self.districts_of(scope), today)
        share = None if scope.all_of_lima else iati.Share(self.municipality_names(scope))
        return iati.activity_file(report, self.programme, self.now(), today, plans, signoffs, share, as_of=as_of)

    def municipality_names(self, scope: MunicipalScope) -> dict[str, str]:
        """The name of each municipality of a municipal ``scope``, by ubigeo (the ubigeo itself for one the table lacks)."""
        names = {m.id: m.name for m in self.municipalities}
        return {ubigeo: names.get(ubigeo, ubigeo) for ubigeo in scope.ubigeos}

    def alerts(
        self,
        days: int = OVERDUE_AFTER_DAYS,
        within_days: int = TERM_ENDS_WITHIN_DAYS,
        scope: MunicipalScope = ALL_LIMA,
        as_of: datetime | None = None,
        ruos: MunicipalScope = ALL_LIMA,
        deliberation: bool = True,
    ) -> Alerts:
        """The follow-up alerts about the OSVs and municipalities in ``scope``: as of today in Lima, or, given ``as_of``,
        from the facts recorded by then and counted to that moment's day in Lima (like the indicators' cut).

        The board terms of those OSVs registered in the RUOS of a municipality ``ruos`` covers alone: the caller's whose
        focal point records the renewal (``services.reporting.signin.ruos_alerted``; :func:`~.domain.alerts.board_terms`).
        Without ``deliberation`` (a caller who reads no proposal), no proposal's submission or scoring is listed
        (:func:`~.domain.alerts.without_deliberation`)."""
        found = self._alerts(days, within_days, scope, as_of, ruos)
        return found if deliberation else without_deliberation(found)

    def _alerts(self, days: int, within_days: int, scope: MunicipalScope, as_of: datetime | None, ruos: MunicipalScope) -> Alerts:
        self.check_past(as_of)
        municipalities = [m for m in self.municipalities if scope.covers(m.id)]
        districts = self.districts_of(scope)
        today = as_of.astimezone(LIMA).date() if as_of is not None else self.today()

        def answer() -> Alerts:
            facts = self.readmodel.alert_facts(as_of) if as_of is not None else self.readmodel.latest_alert_facts()
            if districts is not None:
                facts = only_in(facts, districts, frozenset(m.id for m in municipalities))
            return alerts(
                facts, today, municipalities, overdue_after_days=days, within_days=within_days, table=self.municipality_table, ruos=ruos
            )

        if as_of is None:  # as of today: cached until the read model applies another fact, or the day changes
            key = ("alerts", today, days, within_days, districts, tuple(m.id for m in municipalities), ruos)
            return self.readmodel.cached(key, answer)  # type: ignore[no-any-return]
        return answer()

    # Targets and sign-offs ------------------------------------------------

    def _phase(self, code: str, as_of: datetime | None = None) -> Phase:
        """The phase ``code`` names, exactly or else without regard to case (:func:`~.domain.indicators.phase_of_code`)."""
        try:
            return phase_of_code(self.readmodel.phases(as_of), code)
        except NotFoundError as unknown:
            raise self._phase_not_yet_opened(unknown, code, as_of) from None

    def _phase_not_yet_opened(self, unknown: NotFoundError, code: str, as_of: datetime | None) -> NotFoundError:
        """``unknown`` (404 ``known_phase``), or, when the phase was opened after ``as_of``, a 404 that says so: "No phase
        has the code 'F2'" made an auditor think they mistyped a phase that exists (tester 247 F3)."""
        if unknown.rule != "known_phase":
            return unknown
        withdrawn = self.readmodel.phases_withdrawn(as_of)
        try:
            gone, fact = withdrawn[phase_of_code([p for p, _ in withdrawn.values()], code).code]
        except (NotFoundError, RuleViolationError):
            pass
        else:
            return NotFoundError(
                f"The phase '{gone.code}' was withdrawn in funding as entered in error ({fact.data.get('reason')}) on "
                f"{fact.data.get('withdrawn_on')}: no report made after knows it. A report as of a moment before "
                "its withdrawal still shows it, and GET /sign-offs lists its sign-offs, marked withdrawn.",
                field="phase",
                rule="known_phase",
            )
        if as_of is None:
            return unknown
        try:
            phase_of_code(self.readmodel.phases(None), code)
        except (NotFoundError, RuleViolationError):
            return unknown
        return NotFoundError(
            f"The phase '{code}' had not been opened yet as of {rfc3339(as_of)}: a report as of that moment knows no such "
            "phase. Ask as of a later moment, or without as_of.",
            field="phase",
            rule="known_phase",
        )

    def _reports(self, as_of: datetime | None) -> list[tuple[Phase, PhaseReport]]:
        """The phases known by ``as_of`` that have a report (targets or sign-offs), in date order."""
        found = [(phase, self.phase_reports.report_of(phase.code)) for phase in self.readmodel.phases(as_of)]
        return [(phase, report) for phase, report in found if report is not None]

    def set_targets(self, phase: str, indicator: str, baseline: Mapping[str, Any], target: Mapping[str, Any], set_by: str) -> dict[str, Any]:
        """Record a phase's baseline and target for one indicator (``TargetsSet``); the same ones again record nothing.
        ``phase``: its code, in any case (:meth:`_phase`); recorded and answered as opened."""
        phase = self._phase(phase).code
        targets = self.phase_reports.set_targets(phase, indicator, baseline, target, set_by, self.now())
        return {"phase": phase, **self._targets_public(targets)}

    @staticmethod
    def _targets_public(targets: Mapping[str, Any]) -> dict[str, Any]:
        """One indicator's targets as answered: each part written as the indicator's figures are (:func:`parts_as_figures`)."""
        indicator = targets["indicator"]
        return {"indicator": indicator, "baseline": parts_as_figures(indicator, targets["baseline"]),
                "target": parts_as_figures(indicator, targets["target"]), "set_by": targets["set_by"], "set_at": rfc3339(targets["set_at"])}

    def plans(self, as_of: datetime | None = None) -> dict[tuple[str, str], dict[str, Any]]:
        """Each (phase code, indicator)'s targets as set by ``as_of``."""
        return {(phase.code, name): targets for phase, report in self._reports(as_of) for name, targets in report.targets_as_of(as_of).items()}

    def targets(
        self, as_of: datetime | None = None, scope: MunicipalScope = ALL_LIMA, report: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """What ``GET /targets`` answers: per phase (with its ``status``), each indicator's baseline, target, actual and share of
        the target reached; for a phase not started, the actual and the share are null, as the exports leave them empty.

        For a municipal ``scope`` the actual is its districts' figure alone, and the share its part of the programme's target.
        ``report``: what :meth:`indicators` answered for the same ``as_of`` and ``scope``, with any breakdown (its phases
        are the whole's), to read the actuals from: the dashboard has it already, and a report is a fifth of its page.
        """
        self.check_past(as_of)
        if report is None:
            report = self.readmodel.report(as_of, None, self.districts_of(scope), self.cut_day(as_of))
        plans = self.plans(as_of)
        phases = []
        for phase in report["phases"]:
            rows = []
            started = phase.get("status") != "not_started"  # its days have not come: no actual, not "0% reached" (tester 37c F7)
            for (code, name), targets in sorted(plans.items()):
                if code == phase["code"]:
                    actual = phase["indicators"][name] if started else None
                    shares = share_reached(actual, targets["target"]) if started else None
                    rows.append({**self._targets_public(targets), "actual": actual, "share_reached": shares})
            phases.append({"code": phase["code"], "name": phase["name"], "status": phase.get("status"), "indicators": rows})
        return {"as_of": rfc3339(as_of), "phases": phases}

    def sign_off(self, phase: str, as_of: datetime, signed_by: str) -> tuple[dict[str, Any], bool]:
        """Sign the phase's figures from the facts recorded by ``as_of`` (``PhaseSignedOff``, with their digest), and say
        whether it was recorded now: the same again records nothing and gives the first sign-off, with False.

        Refused: ``as_of`` after now (422 ``not_in_future``), a phase no one opened (404), a cut before it was opened (422
        ``phase_opened_by_cut``), and a cut on or before its last day in Lima (409 ``phase_ended_by_cut``: a phase not
        ended, or not started, has no figures to sign yet).
        """
        self.check_past(as_of)
        known = self._phase(phase)
        phase = known.code  # as opened, whatever its case as named (tester 212 F9)
        if not any(opened.code == phase for opened in self.readmodel.phases(as_of)):
            raise RuleViolationError(
                f"Phase '{phase}' was not opened yet as of {rfc3339(as_of)}: sign a cut recorded after it was opened.",
                field="as_of", rule="phase_opened_by_cut",
            )
        if self.cut_day(as_of) <= known.ends_on:
            raise PhaseNotEndedError(known, as_of)
        figures = next(p["indicators"] for p in self.readmodel.report(as_of, today=self.cut_day(as_of))["phases"] if p["code"] == phase)
        signed, recorded = self.phase_reports.sign_off(phase, as_of, figures, signed_by, self.now())
        return self._signed_public(signed, None), recorded

    def sign_offs(self, as_of: datetime | None = None, phase: str | None = None, scope: MunicipalScope = ALL_LIMA) -> dict[str, Any]:
        """What ``GET /sign-offs`` answers: every sign-off recorded by ``as_of``, each with its restatement as of then.

        Signed figures are the whole programme's: a scope short of all of Lima lists none. 404 ``known_phase`` for a
        ``phase`` no one opened (as the evidence answers), not an empty list.
        """
        self.check_past(as_of)
        withdrawn = self.readmodel.phases_withdrawn(as_of)
        if phase is not None:
            phase = self._phase_or_withdrawn(phase, as_of, withdrawn)
        if not scope.all_of_lima:
            return {"as_of": rfc3339(as_of), "sign_offs": []}
        current = {p["code"]: p["indicators"] for p in self.readmodel.report(as_of, today=self.cut_day(as_of))["phases"]}
        evidence: dict[tuple[str, str], list[dict[str, Any]]] = {}  # one fold per figure, however many sign-offs it restates
        out = []
        reports = [*self._reports(as_of), *self._withdrawn_reports(withdrawn)]
        for known, report in sorted(reports, key=lambda found: found[0].starts_on):
            if phase is None or known.code == phase:
                if known.code in withdrawn:
                    out.extend(self._signed_withdrawn(signed, withdrawn[known.code][1]) for signed in report.sign_offs_as_of(as_of))
                    continue
                out.extend(
                    self._signed_public(signed, as_of, current.get(known.code, {}), evidence) for signed in report.sign_offs_as_of(as_of)
                )
        return {"as_of": rfc3339(as_of), "sign_offs": out}

    def _phase_or_withdrawn(self, code: str, as_of: datetime | None, withdrawn: Mapping[str, tuple[Phase, Fact]]) -> str:
        """The code of the phase ``code`` names, as opened: one known by ``as_of``, or one withdrawn by then (404 ``known_phase`` for neither)."""
        try:
            return self._phase(code, as_of).code
        except NotFoundError:
            try:
                return phase_of_code([p for p, _ in withdrawn.values()], code).code
            except NotFoundError:
                raise self._phase_not_yet_opened(NotFoundError(f"No phase has the code '{code}'.", field="phase", rule="known_phase"),
                                                 code, as_of) from None

    def _withdrawn_reports(self, withdrawn: Mapping[str, tuple[Phase, Fact]]) -> list[tuple[Phase, PhaseReport]]:
        """The phases withdrawn in funding that have a report here (targets or sign-offs): kept, never dropped silently."""
        found = [(phase, self.phase_reports.report_of(code)) for code, (phase, _) in withdrawn.items()]
        return [(phase, report) for phase, report in found if report is not None]

    def _signed_withdrawn(self, signed: Mapping[str, Any], withdrawal: Fact) -> dict[str, Any]:
        """A sign-off of a phase funding withdrew as entered in error after it was signed (funding knows of no sign-off):
        its figures as signed, ``reproduced`` by its cut as ever (the phase was known then), and no ``restatement``
        (null): the phase has no current figures to compare. ``phase_withdrawn`` says when and why."""
        out = self._signed_public(signed, None)
        if out["intact"]:
            then = self.readmodel.report(signed["cut"], today=self.cut_day(signed["cut"]))["phases"]
            again = as_signed(signed["figures"], next((p["indicators"] for p in then if p["code"] == signed["phase"]), {}))
            out["reproduced"] = digest_of(signed["phase"], signed["cut"], again) == signed["digest"]
        else:
            out["reproduced"] = False
        withdrawn = {"reason": withdrawal.data.get("reason"), "withdrawn_on": withdrawal.data.get("withdrawn_on"),
                     "recorded_at": rfc3339(withdrawal.recorded_at)}
        return {**out, "restatement": None, "phase_withdrawn": withdrawn}

    def signoffs_for_iati(self, as_of: datetime | None) -> dict[str, iati.PhaseSignOff]:
        """Each phase's sign-off as of ``as_of``: of those recorded by then, the one from the latest cut (ties: the one
        signed last; :meth:`~.domain.phasereports.PhaseReport.standing_sign_off`)."""
        out = {}
        for phase, report in self._reports(as_of):
            standing = report.standing_sign_off(as_of)
            if standing is not None:
                out[phase.code] = iati.PhaseSignOff(standing["signed_at"], standing["signed_by"], standing["cut"], standing["digest"],
                                                    standing["figures"], intact=intact(standing))
        return out

    def _signed_public(
        self,
        signed: Mapping[str, Any],
        as_of: datetime | None,
        current: Mapping[str, Any] | None = None,
        evidence: dict[tuple[str, str], list[dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """A sign-off as the API shows it; with ``current`` figures, its restatement and whether ``as_of`` its cut reproduces it.

        ``intact`` says whether its recorded figures still give its own digest (:func:`intact`). One that does not was
        changed in the store after it was signed: its figures are not the lead's, so it is never ``reproduced`` and has
        no ``restatement`` (null): the difference from them is no fact recorded later. Figures are compared in the shape
        they were signed in (:func:`~.domain.phasereports.as_signed`): a part added since was never signed.
        """
        sound = intact(signed)
        out = {
            "phase": signed["phase"], "signed_by": signed["signed_by"], "signed_at": rfc3339(signed["signed_at"]),
            "as_of": rfc3339(signed["cut"]), "digest": signed["digest"], "figures": signed["figures"], "intact": sound,
        }
        if current is None:
            return out
        if not sound:
            log.error("reporting: the sign-off of phase %s signed at %s no longer gives its digest %s: it was changed in the store "
                      "(GET /verify names where)", signed["phase"], rfc3339(signed["signed_at"]), signed["digest"])
            return {**out, "reproduced": False, "restatement": None}
        then = self.readmodel.report(signed["cut"], today=self.cut_day(signed["cut"]))["phases"]
        again = as_signed(signed["figures"], next((p["indicators"] for p in then if p["code"] == signed["phase"]), {}))
        out["reproduced"] = digest_of(signed["phase"], signed["cut"], again) == signed["digest"]
        out["restatement"] = self._restatement(signed, as_signed(signed["figures"], current), as_of, {} if evidence is None else evidence)
        return out

    def _restatement(
        self, signed: Mapping[str, Any], current: Mapping[str, Any], as_of: datetime | None, evidence: dict[tuple[str, str], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Per indicator whose figure changed since it was signed: each part's signed and current figure, the difference, and the events behind it.

        Those events are the figure's facts recorded after the sign-off's cut, or recorded by it and dated after its day
        (in Lima: counted from their day on, :mod:`~.domain.daycut`), and, for a figure that reads earlier phases, the
        phases before its own opened or withdrawn since (:meth:`_phases_moving`). Listed in the order recorded."""
        out = []
        for name in sorted(set(signed["figures"]) | set(current)):
            then, now = flatten(signed["figures"].get(name, 0)), flatten(current.get(name, 0))
            parts = [
                {"part": part, "signed": then.get(part, 0), "current": now.get(part, 0),
                 "difference": difference(then.get(part, 0), now.get(part, 0))}
                for part in sorted(set(then) | set(now))
                if Decimal(str(then.get(part, 0))) != Decimal(str(now.get(part, 0)))
            ]
            if not parts:
                continue
            key = (name, signed["phase"])
            if key not in evidence:
                evidence[key] = self.readmodel.evidence(name, signed["phase"], None, as_of, today=self.cut_day(as_of))["events"]
                self._name_municipalities(evidence[key])
            cut, day = signed["cut"], self.cut_day(signed["cut"]).isoformat()
            later = [e for e in evidence[key] if recorded_at(e["recorded_at"]) > cut or e["occurred_on"] > day]
            later += self._phases_moving(name, signed, as_of, evidence)
            later.sort(key=lambda e: recorded_at(e["recorded_at"]))
            out.append({"indicator": name, "parts": parts, "events": later})
        return out

    def _phases_moving(
        self, name: str, signed: Mapping[str, Any], as_of: datetime | None, evidence: dict[tuple[str, str], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """The phases opened or withdrawn since the sign-off's cut (``PhaseOpened``, ``PhaseWithdrawn``, adding nothing
        themselves) that can have moved the signed phase's figure ``name``: those starting before it, for a figure whose
        parts read earlier phases (:data:`READS_EARLIER_PHASES`: an OSV's support counted ``first_time`` where its
        earlier grants fell in a phase withdrawn, though no fact of the figure is new: tester 265 F1, the restatement named
        no event). No other figure of a phase moves with another phase's days (phases never overlap), nor with a phase
        after it (tester 266 F1: every change of the calendar was listed under every figure restated)."""
        if name not in READS_EARLIER_PHASES:
            return []
        if CALENDAR not in evidence:  # read once for a listing's sign-offs, each with the day its phase starts
            evidence[CALENDAR] = [{**cite(f), "adds": {}, "starts_on": f.data["starts_on"]} for f in self.readmodel.facts(upto=as_of, types=PHASE_TYPES)]
        starts_on = self._phase(signed["phase"], as_of).starts_on.isoformat()
        return [
            {k: v for k, v in e.items() if k != "starts_on"}
            for e in evidence[CALENDAR]
            if recorded_at(e["recorded_at"]) > signed["cut"] and e["starts_on"] < starts_on
        ]

    def close(self) -> None:
        self.phase_reports.close()
        if self.in_use is not None:
            self.in_use.release()
        self.readmodel.engine.dispose()


CALENDAR = ("", "")
"""The key, among a sign-off listing's evidence by (indicator, phase), of the phases opened and withdrawn (cited once)."""

READS_EARLIER_PHASES = frozenset({"osvs_supported", "agents_of_change"})
"""The figures whose parts read the phases before their own: ``first_time`` or ``repeat`` support (support in an earlier
phase), an agent of change ``new`` (their first phase)."""


def _evidence_of(report: dict[str, Any]) -> dict[str, Any]:
    """What ties an export to the log: the report's digest and the chain heads reporting knew."""
    return {"digest": report["digest"], "heads": report["heads"]}
