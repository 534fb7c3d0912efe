"""The programme as an IATI 2.03 activity file: phases as result periods, indicators with baseline, target and actual.

One ``iati-activity`` for the whole programme (:class:`Programme`: its IATI
identifier, reporting and participating organisations, title, sectors), or for a focal
point's share of it (:class:`Share`: an activity of its own under the programme's). Its dates are
the first phase's start and the last phase's end; each of :data:`RESULTS`
groups indicators of ``GET /indicators``, and each indicator carries one
``period`` per phase with its ``actual`` (the phase's figure, as of the
report's moment; none for a phase that has not started), its ``target`` and a ``baseline`` per phase when targets
were set, each disaggregated by ``dimension`` elements (``sex``: ``F``/``M``/
``X``; ``nationality``: ``VE``/``PE``/``other``; ``support``: ``first_time``/
``repeat``), the codes the API uses. A phase signed off carries the signed
figure and any restatement in each actual's ``comment`` (one whose recorded figures no longer give its digest
is said to have failed its check, without them). Each indicator's
``aggregation-status`` says whether its periods add up (see
:attr:`ResultIndicator.aggregable`): flows do; people and OSVs counted in
each phase they are active, and the rate, do not.

Every coded value comes from IATI's codelists, vendored beside the schema in
``codelists/`` (see ``SOURCE.md``); :data:`CODES` lists the ones used, and
the tests check each against the lists and the file against the schema.
Building the file is pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any
from xml.etree import ElementTree as ET

from pydantic import BaseModel, Field, field_validator, model_validator

from services.reporting.domain.indicators import POINT, flatten, indicator_named
from services.reporting.translations import translator

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
IATI_VERSION = "2.03"

# Codes from IATI's codelists (codelists/<list>.xml): the tests check every one.
CODES: dict[str, dict[str, str]] = {
    "ActivityStatus": {"pipeline": "1", "implementation": "2", "finalisation": "3"},
    "ActivityDateType": {"planned_start": "1", "actual_start": "2", "planned_end": "3", "actual_end": "4"},
    "OrganisationRole": {"funding": "1", "accountable": "2", "extending": "3", "implementing": "4"},
    "ResultType": {"output": "1", "outcome": "2"},
    "IndicatorMeasure": {"unit": "1", "percentage": "2"},
    "DescriptionType": {"general": "1"},
    "RelatedActivityType": {"parent": "1"},
    "SectorVocabulary": {"oecd_dac_crs_5": "1"},
}


class Organisation(BaseModel):
    """An organisation as IATI names it: its IATI organisation identifier, type and role, and its name."""

    ref: str | None = Field(default=None, description="IATI organisation identifier, e.g. `XM-DAC-47066` (IOM); none for one without.")
    type: str = Field(description="IATI OrganisationType code: `10` government, `11` local government, `40` multilateral…")
    role: str = Field(default="4", description="IATI OrganisationRole code: `1` funding, `2` accountable, `3` extending, `4` implementing.")
    name_es: str
    name_en: str


IOM = Organisation(ref="XM-DAC-47066", type="40", role="2", name_es="Organización Internacional para las Migraciones (OIM)",
                   name_en="International Organization for Migration (IOM)")
UNDP = Organisation(ref="XM-DAC-41114", type="40", role="4", name_es="Programa de las Naciones Unidas para el Desarrollo (PNUD)",
                    name_en="United Nations Development Programme (UNDP)")
MML = Organisation(type="11", role="4", name_es="Municipalidad Metropolitana de Lima",
                   name_en="Metropolitan Municipality of Lima")


class Sector(BaseModel):
    """One of the activity's sectors: an OECD DAC CRS purpose code (IATI ``SectorVocabulary`` 1) and its share, in percent."""

    code: str = Field(description="OECD DAC CRS purpose code, 5 digits, active in IATI's Sector codelist (`codelists/Sector.xml`): "
                      "`15190` facilitation of orderly, safe, regular and responsible migration and mobility, `15150` democratic "
                      "participation and civil society…")
    percentage: Decimal | None = Field(default=None, gt=0, le=100, decimal_places=2,
                                       description="The activity's share in this sector, in percent (up to 2 decimals). Required when "
                                       "there are several sectors, whose percentages add up to 100; one alone is 100.")

    @field_validator("code")
    @classmethod
    def _a_purpose_code(cls, code: str) -> str:
        if not re.fullmatch(r"[0-9]{5}", code):
            raise ValueError(f"a sector's code is an OECD DAC CRS purpose code of 5 digits, such as 15190, not {code!r}")
        if code not in codelist("Sector", withdrawn=False):
            raise ValueError(f"a sector's code {code} is no active purpose code of IATI's Sector codelist (OECD DAC CRS)")
        return code


class Programme(BaseModel):
    """What the activity file says of the programme itself (``REPORTING_IATI``, JSON)."""

    identifier: str = Field(default="XM-DAC-47066-PE-OSV-LIMA", description="The activity's IATI identifier: the reporting org's ref, a hyphen, the programme's own code.")
    reporting_org: Organisation = IOM
    participating_orgs: list[Organisation] = Field(default_factory=lambda: [IOM.model_copy(update={"role": "4"}), IOM, UNDP, MML])
    title_es: str = "Organizaciones Sociales Vecinales de población refugiada, migrante y de acogida en Lima Metropolitana"
    title_en: str = "Neighbourhood organisations (OSV) of refugees, migrants and host communities in Lima Metropolitana"
    description_es: str = (
        "Programa conjunto OIM-PNUD: mapeo de OSV, inscripción en el RUOS municipal, fondos semilla y bienes para sus "
        "proyectos de integración socioeconómica, seguimiento y reporte por fases."
    )
    description_en: str = (
        "IOM-UNDP joint programme: mapping neighbourhood organisations (OSV), their registration in the municipal RUOS, "
        "seed funds and goods for their socio-economic integration projects, follow-up and phase-by-phase reporting."
    )
    country: str = Field(default="PE", description="ISO 3166-1 alpha-2 (IATI Country codelist).")
    currency: str = Field(default="PEN", description="ISO 4217 (IATI Currency codelist).")
    sectors: list[Sector] = Field(
        default_factory=lambda: [Sector(code="15190", percentage=Decimal(60)), Sector(code="15150", percentage=Decimal(40))],
        min_length=1,
        description="The activity's sectors, OECD DAC CRS purpose codes (IATI requires one, at activity level or on every "
        "transaction; the file has no transaction): by default 15190 (migration and mobility) 60 % and 15150 (democratic "
        "participation and civil society) 40 %. Several add up to 100 %.",
    )

    @model_validator(mode="after")
    def _sectors_add_up(self) -> Programme:
        codes = [sector.code for sector in self.sectors]
        if len(set(codes)) != len(codes):
            raise ValueError(f"sectors name each purpose code once, not {', '.join(codes)}")
        if len(self.sectors) == 1:
            if self.sectors[0].percentage not in (None, 100):
                raise ValueError(f"a single sector is 100 % of the activity, not {self.sectors[0].percentage} %")
            return self
        if any(sector.percentage is None for sector in self.sectors):
            raise ValueError("each of several sectors gives its percentage, and they add up to 100")
        total = sum(sector.percentage or Decimal(0) for sector in self.sectors)
        if total != 100:
            raise ValueError(f"the sectors' percentages add up to 100, not {total}")
        return self


@dataclass(frozen=True)
class Share:
    """A focal point's part of the programme: the municipalities whose districts' figures a file holds (ubigeo → name).

    Its file is an activity of its own, a sub-activity of the programme's
    (IATI's ``hierarchy`` 2, with the programme's as its ``related-activity``
    of type parent), never the programme's: an IATI identifier names one
    activity, and a file with other figures under the programme's would
    contradict the programme's own wherever both are read.
    """

    municipalities: Mapping[str, str]

    def identifier(self, programme: Programme) -> str:
        """The programme's identifier and each ubigeo: ``XM-DAC-47066-PE-OSV-LIMA-150132``."""
        return "-".join([programme.identifier, *sorted(self.municipalities)])

    @property
    def names(self) -> str:
        """``Municipalidad Distrital de San Juan de Lurigancho (ubigeo 150132)``, several joined by commas."""
        return ", ".join(f"{self.municipalities[ubigeo]} (ubigeo {ubigeo})" for ubigeo in sorted(self.municipalities))


@dataclass(frozen=True)
class ResultIndicator:
    name: str
    """An indicator of ``GET /indicators``."""
    measure: str = CODES["IndicatorMeasure"]["unit"]
    ascending: bool = True
    when_held: bool = False
    """Reported only when some phase holds an amount or a target of it (the USD figures of a programme in soles: a
    result of zeros in every period would read as money not granted)."""

    @property
    def aggregable(self) -> bool:
        """IATI's ``aggregation-status`` ("suitable for aggregation"): whether the periods' actuals may be added up.

        Only a flow, counted in the phase its fact happened (OSVs identified or
        registered in the phase, money granted or goods delivered, murals,
        public spaces, indirect beneficiaries), adds up across periods to the
        programme's figure. People and OSVs counted once in each phase they
        are active (agents of change, active projects, OSVs supported, direct
        beneficiaries) would be counted again in every phase, and a rate is
        no count: donors' tools that sum periods marked ``1`` would overstate them.
        """
        return indicator_named(self.name).kind == POINT


@dataclass(frozen=True)
class Result:
    type: str
    title_es: str
    title_en: str
    indicators: tuple[ResultIndicator, ...]

    @property
    def aggregable(self) -> bool:
        """The result's ``aggregation-status``: its data are suitable for aggregation only if each of its indicators' are."""
        return all(indicator.aggregable for indicator in self.indicators)


RESULTS: tuple[Result, ...] = (
    Result(CODES["ResultType"]["output"], "OSV identificadas e inscritas en el RUOS municipal",
           "OSVs identified and registered in the municipal RUOS", (
               ResultIndicator("osvs_identified"),
               ResultIndicator("osvs_registered_ruos"),
               ResultIndicator("ruos_registration_rate", measure=CODES["IndicatorMeasure"]["percentage"]),
           )),
    Result(CODES["ResultType"]["output"], "Agentes de cambio y proyectos de las OSV apoyados con fondos semilla y bienes",
           "Agents of change and the OSVs' projects supported with seed funds and goods", (
               ResultIndicator("agents_of_change"),
               ResultIndicator("projects_active"),
               ResultIndicator("osvs_supported"),
               ResultIndicator("seed_funds_granted_pen"),
               ResultIndicator("goods_delivered_pen"),
               ResultIndicator("seed_funds_granted_usd", when_held=True),
               ResultIndicator("goods_delivered_usd", when_held=True),
           )),
    Result(CODES["ResultType"]["outcome"], "Personas y espacios públicos alcanzados por las actividades de las OSV",
           "People and public spaces reached by the OSVs' activities", (
               ResultIndicator("beneficiaries_direct"),
               ResultIndicator("beneficiaries_indirect"),
               ResultIndicator("murals"),
               ResultIndicator("public_spaces_recovered"),
           )),
)
DIMENSIONS = {"by_sex": "sex", "by_nationality": "nationality", "first_time": "support", "repeat": "support"}
"""A figure's part → the IATI ``dimension`` name it is reported under (its value: the part's code)."""
UNITS = {"seed_funds_granted_pen": "PEN", "goods_delivered_pen": "PEN", "seed_funds_granted_usd": "USD", "goods_delivered_usd": "USD"}


def dimension_of(part: str) -> tuple[str, str] | None:
    """``by_sex.F`` → ``("sex", "F")``; ``first_time`` → ``("support", "first_time")``; a total → None."""
    head, _, code = part.partition(".")
    if head in ("value", "total"):
        return None
    return DIMENSIONS[head], code or head


def iati_value(indicator: str, value: Any) -> str:
    """A figure as IATI's ``value``: counts as integers, money as decimals, the registration rate as a percentage."""
    if indicator == "ruos_registration_rate":
        return str((Decimal(str(value)) * 100).quantize(Decimal("0.01")))
    return str(value)


@dataclass(frozen=True)
class PhasePlan:
    """A phase's baseline and target for one indicator, as parts (``total``/``value``, ``by_sex.F``…)."""

    baseline: Mapping[str, Any]
    target: Mapping[str, Any]


@dataclass(frozen=True)
class PhaseSignOff:
    """A phase's signed report: who, when, its recorded-time cut and digest, and the figures signed.

    ``intact`` False: the recorded figures no longer give the digest (changed in the store after the lead signed);
    the file then gives none of them as signed.
    """

    signed_at: datetime
    signed_by: str
    cut: datetime
    digest: str
    figures: Mapping[str, Any]
    intact: bool = True


def _stamp(moment: datetime, to_the_second: bool = False) -> str:
    """A moment in UTC as the file writes it (xs:dateTime): ``2026-12-07T13:02:21.499395Z``, with its microseconds when
    it has any, for a cut is the instant it names: cut short to the second (``13:02:21Z``) it counted other facts, and
    gave neither the signed figures nor the digest (tester 271 F1). ``to_the_second``: when the file was made, to the second."""
    if to_the_second:
        moment = moment.replace(microsecond=0)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _narratives(parent: ET.Element, es: str, en: str) -> None:
    ET.SubElement(parent, "narrative").text = es
    ET.SubElement(parent, "narrative", {XML_LANG: "en"}).text = en


def _titled(parent: ET.Element, tag: str, es: str, en: str, **attributes: str | None) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: v for k, v in attributes.items() if v is not None})
    _narratives(element, es, en)
    return element


def reported(part: str) -> bool:
    """Whether IATI's file carries a part: the total, or a disaggregation of it (a :data:`DIMENSIONS` part).

    Parts that are no share of a dimension (``new`` agents of change, the ``aggregate`` counts in the direct
    beneficiaries) stay in the programme's own reports: as a ``dimension`` they would read as one.
    """
    head = part.partition(".")[0]
    return head in ("value", "total") or head in DIMENSIONS


def _sorted(parts: Mapping[str, Any]) -> dict[str, Any]:
    """The parts IATI carries (:func:`reported`), the total first: ``{"total": 42, "by_sex.F": 20, …}``."""
    kept = [(part, value) for part, value in parts.items() if reported(part)]
    return dict(sorted(kept, key=lambda item: (dimension_of(item[0]) is not None, item[0])))


def _parts(figure: Any) -> dict[str, Any]:
    """A figure's parts, the total first."""
    return _sorted(flatten(figure))


def _valued(parent: ET.Element, tag: str, indicator: str, parts: Mapping[str, Any], comment: str | None = None, **attributes: str) -> None:
    """One element per part: the total without a dimension, each other part with its dimension; ``comment`` (English) on the total."""
    for part, value in parts.items():
        element = ET.SubElement(parent, tag, {**attributes, "value": iati_value(indicator, value)})
        dimension = dimension_of(part)
        if dimension is not None:
            ET.SubElement(element, "dimension", {"name": dimension[0], "value": dimension[1]})
        if comment and dimension is None:
            ET.SubElement(ET.SubElement(element, "comment"), "narrative", {XML_LANG: "en"}).text = comment  # in English, not the activity's es


def restatement_comment(indicator: str, signed: PhaseSignOff | None, current: Mapping[str, Any]) -> str | None:
    """What an actual's comment says of a signed phase, in English: signed figure, when, digest, and any restatement by part.

    The figures are written as the actual's ``value`` is (:func:`iati_value`: the registration rate a percentage, 22.58);
    when it was signed and its cut as the sign-off keeps them, in UTC, with their microseconds when they have any: from
    that cut ``GET /indicators?as_of=`` gives the signed figures, and SHA-256 over ``{"phase", "cut", "figures"}`` the digest.

    A sign-off that is not :attr:`~PhaseSignOff.intact` is said to have failed its check, with no signed figure
    and no restatement: the figures recorded for it are not the ones signed.
    """
    if signed is None:
        return None
    said = (f"Signed off by {signed.signed_by} on {_stamp(signed.signed_at)} from the facts recorded by {_stamp(signed.cut)} "
            f"(digest sha256:{signed.digest}).")
    if not signed.intact:
        return (said + " This sign-off failed its check: the figures recorded for it no longer give its digest, so no "
                "signed figure is given here; the value is the current figure.")
    then = _parts(signed.figures.get(indicator, 0))
    changed = [
        f"{part} signed {iati_value(indicator, then.get(part, 0))}, now {iati_value(indicator, current.get(part, 0))}"
        for part in sorted(set(then) | set(current))
        if Decimal(str(then.get(part, 0))) != Decimal(str(current.get(part, 0)))
    ]
    if not changed:
        return said + " Not restated since."
    return said + " Restated by facts recorded later, or phases opened or withdrawn since: " + "; ".join(changed) + "."



def _plain(value: Decimal) -> str:
    """A decimal as xs:decimal writes it, never in exponent form: a setting's "6E+1" is "60" (tester 181 F3), "33.330" "33.33"."""
    return f"{value.normalize():f}"

def activity_file(
    report: Mapping[str, Any],
    programme: Programme,
    generated_at: datetime,
    today: date,
    plans: Mapping[tuple[str, str], PhasePlan] | None = None,
    signoffs: Mapping[str, PhaseSignOff] | None = None,
    share: Share | None = None,
    as_of: datetime | None = None,
) -> bytes:
    """The IATI 2.03 ``iati-activities`` document (UTF-8 bytes) for a ``GET /indicators`` answer.

    ``generated_at`` is when the file is made, its ``generated-datetime`` (IATI: "when this file was generated");
    ``as_of`` the cut its data are as of, the activity's ``last-updated-datetime`` (IATI: "the last date/time that the
    data for this specific activity was updated"; no datum in the file is recorded later), ``generated_at`` without one.
    Both are written in UTC: ``generated_at`` to the second, the cut as it is, its microseconds kept when it has any
    (``2026-12-07T13:02:21.499395Z``: the instant whose facts the figures count). ``today`` is the cut's day in Lima.

    The activity's start is the first phase's first day: actual (``activity-date`` type 2) once ``today`` reached it,
    planned (type 1, the activity in its pipeline, status 1) before. IATI requires a start date, and an actual start
    is "the actual date the activity starts": a programme with no phase opened by the cut has not started, so its start
    is planned and no earlier than ``today`` (type 1 on ``today``), never an actual start made up from the request.
    Its end is the last phase's last day, planned (3) until ``today`` is past it, then actual (4, status 3).

    ``plans`` holds the baselines and targets by ``(phase code, indicator)``;
    ``signoffs`` each phase's sign-off, by phase code: the one from the latest cut
    (:meth:`~services.reporting.domain.phasereports.PhaseReport.standing_sign_off`). Given a ``share`` (the report is a focal point's), the file
    is that share's own sub-activity (:class:`Share`): its identifier, title
    and description name its municipalities, it names the programme's activity
    as its parent, and its baselines and targets, the programme's, say so.
    """
    plans, signoffs = plans or {}, signoffs or {}
    phases: Sequence[Mapping[str, Any]] = report["phases"]
    es, en = translator("es"), translator("en")
    root = ET.Element("iati-activities", {"version": IATI_VERSION, "generated-datetime": _stamp(generated_at, to_the_second=True)})
    activity = ET.SubElement(root, "iati-activity", {
        "last-updated-datetime": _stamp(as_of) if as_of else _stamp(generated_at, to_the_second=True), XML_LANG: "es",
        "default-currency": programme.currency,
        **({} if share is None else {"hierarchy": "2"}),
    })
    ET.SubElement(activity, "iati-identifier").text = programme.identifier if share is None else share.identifier(programme)
    org = programme.reporting_org
    _titled(activity, "reporting-org", org.name_es, org.name_en, ref=org.ref, type=org.type)
    if share is None:
        _titled(activity, "title", programme.title_es, programme.title_en)
        _titled(activity, "description", programme.description_es, programme.description_en, type=CODES["DescriptionType"]["general"])
    else:
        _titled(activity, "title", f"{programme.title_es}: parte de {share.names}", f"{programme.title_en}: the share of {share.names}")
        _titled(
            activity, "description",
            f"{programme.description_es} Esta actividad es la parte del programa ({programme.identifier}) en {share.names}: "
            "sus cifras son las de las OSV y actividades de sus distritos; sus líneas de base y metas, las del programa entero.",
            f"{programme.description_en} This activity is the share of the programme ({programme.identifier}) in {share.names}: "
            "its figures are those of its districts' OSVs and activities; its baselines and targets, the whole programme's.",
            type=CODES["DescriptionType"]["general"],
        )
    for org in programme.participating_orgs:
        _titled(activity, "participating-org", org.name_es, org.name_en, ref=org.ref, type=org.type, role=org.role)
    starts = min((date.fromisoformat(p["starts_on"]) for p in phases), default=today)
    started = bool(phases) and starts <= today
    ends = max((date.fromisoformat(p["ends_on"]) for p in phases), default=None)
    ended = ends is not None and ends < today
    status = CODES["ActivityStatus"]["finalisation" if ended else "implementation" if started else "pipeline"]
    ET.SubElement(activity, "activity-status", {"code": status})
    ET.SubElement(activity, "activity-date", {"iso-date": starts.isoformat(),
                                              "type": CODES["ActivityDateType"]["actual_start" if started else "planned_start"]})
    if ends is not None:
        ET.SubElement(activity, "activity-date", {"iso-date": ends.isoformat(),
                                                  "type": CODES["ActivityDateType"]["actual_end" if ended else "planned_end"]})
    ET.SubElement(activity, "recipient-country", {"code": programme.country, "percentage": "100"})
    for sector in programme.sectors:  # after recipient-country and before related-activity and result, as the schema orders them
        ET.SubElement(activity, "sector", {"vocabulary": CODES["SectorVocabulary"]["oecd_dac_crs_5"], "code": sector.code,
                                           "percentage": _plain(sector.percentage if sector.percentage is not None else Decimal(100))})
    if share is not None:
        ET.SubElement(activity, "related-activity", {"ref": programme.identifier, "type": CODES["RelatedActivityType"]["parent"]})
    whole = "" if share is None else " The whole programme's, not this share's."
    for result in RESULTS:
        element = ET.SubElement(activity, "result", {"type": result.type, "aggregation-status": "1" if result.aggregable else "0"})
        _titled(element, "title", result.title_es, result.title_en)
        for spec in result.indicators:
            if spec.when_held and not _held(spec.name, phases, plans):
                continue
            unit = f" ({UNITS[spec.name]})" if spec.name in UNITS and "(" not in es(f"indicator.{spec.name}") else ""
            indicator = ET.SubElement(element, "indicator", {
                "measure": spec.measure, "ascending": "1" if spec.ascending else "0", "aggregation-status": "1" if spec.aggregable else "0",
            })
            _titled(indicator, "title", es(f"indicator.{spec.name}") + unit, en(f"indicator.{spec.name}") + unit)
            for phase in phases:
                plan = plans.get((phase["code"], spec.name))
                if plan is not None and plan.baseline:
                    starts_on = date.fromisoformat(phase["starts_on"])
                    _valued(indicator, "baseline", spec.name, _sorted(plan.baseline), f"Baseline for phase {phase['code']}.{whole}",
                            year=str(starts_on.year), **{"iso-date": starts_on.isoformat()})
            for phase in phases:
                period = ET.SubElement(indicator, "period")
                ET.SubElement(period, "period-start", {"iso-date": phase["starts_on"]})
                ET.SubElement(period, "period-end", {"iso-date": phase["ends_on"]})
                plan = plans.get((phase["code"], spec.name))
                if plan is not None and plan.target:
                    _valued(period, "target", spec.name, _sorted(plan.target), whole.strip() or None)
                if phase.get("status") == "not_started":  # its days have not happened: no actual, not a zero
                    continue
                current = _parts(phase["indicators"][spec.name])
                comment = restatement_comment(spec.name, signoffs.get(phase["code"]), current)
                _valued(period, "actual", spec.name, current, comment)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _held(name: str, phases: Sequence[Mapping[str, Any]], plans: Mapping[tuple[str, str], Any]) -> bool:
    """Whether some phase holds a non-zero figure of the indicator, or a target or baseline set for it."""
    if any(key[1] == name for key in plans):
        return True
    return any(
        Decimal(str(value)) != 0
        for phase in phases
        if phase["indicators"].get(name) is not None
        for value in _parts(phase["indicators"][name]).values()
        if value is not None
    )


def schema_path() -> Any:
    """The vendored IATI 2.03 activity schema (``schema/iati-activities-schema.xsd``), for validators."""
    return resources.files(__name__).joinpath("schema/iati-activities-schema.xsd")


@cache
def codelist(name: str, withdrawn: bool = True) -> frozenset[str]:
    """The codes of one vendored IATI codelist (``codelists/<name>.xml``); ``withdrawn`` False: its active codes alone."""
    text = resources.files(__name__).joinpath(f"codelists/{name}.xml").read_bytes()
    return frozenset(
        item.findtext("code") or ""
        for item in ET.fromstring(text).iter("codelist-item")
        if withdrawn or item.get("status", "active") != "withdrawn"
    )
