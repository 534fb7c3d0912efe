"""The programme's dashboard (``GET /dashboard``) and follow-up alerts (``GET /alerts``).

The page is rendered on the server (Jinja2 templates, plain CSS, charts as
inline SVG) from the same JSON ``GET /indicators`` answers, so it needs no
script, no build step and no network. It speaks Spanish by default and
English with ``?lang=en``; every word on it comes from :data:`TRANSLATIONS`.
It shows whatever indicators the JSON holds: a name the table does not know
is shown as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from services.reporting import charts
from services.reporting.domain.alerts import (
    OVERDUE_AFTER_DAYS,
    TERM_ENDS_WITHIN_DAYS,
    Alerts,
    alerts,
    lima_municipalities,
)
from services.reporting.views.readmodel import ReadModel
from shared.districts import DistrictTable

Language = Literal["es", "en"]
Grouping = Literal["zone", "district"]
IndicatorSource = Callable[[ReadModel, datetime | None, Grouping | None], dict[str, Any]]
"""What ``GET /indicators`` answers, given its ``as_of`` and ``by``."""

LIMA = timezone(timedelta(hours=-5), "Lima")  # Peru keeps no daylight saving time.


def today_in_lima() -> date:
    return datetime.now(LIMA).date()


# Every indicator of the contract between funding and reporting, in the order the table shows them.
CONTRACT_INDICATORS = (
    "osvs_identified",
    "osvs_registered_ruos",
    "osvs_registered_ruos_cumulative",
    "ruos_registration_rate",
    "ruos_applications_observed",
    "osvs_supported",
    "projects_active",
    "agents_of_change",
    "beneficiaries_direct",
    "beneficiaries_indirect",
    "seed_funds_granted_pen",
    "goods_delivered_pen",
    "disbursed_pen",
    "seed_funds_granted_usd",
    "goods_delivered_usd",
    "disbursed_usd",
    "murals",
    "public_spaces_recovered",
    "members_joined",
    "members_left",
    "members_left_by_reason",
    "osvs_contact_lost",
    "osvs_dissolved",
    "follow_up_meetings",
    "actions_pending_at_phase_end",
    "participatory_budget",
)

TRANSLATIONS: dict[Language, dict[str, str]] = {
    "es": {
        "ui.title": "Tablero del programa OSV",
        "ui.subtitle": "Organizaciones sociales de venezolanos y peruanos en Lima: mapeo, RUOS, fondos y seguimiento",
        "ui.switch": "English",
        "ui.switch_lang": "en",
        "ui.as_of": "Cifras registradas hasta el {as_of}.",
        "ui.as_of_now": "Cifras al {now}: todo lo registrado hasta ahora.",
        "ui.today": "Alertas al {today}.",
        "ui.filters": "Corte y desglose",
        "ui.cut_at": "Cortar en lo registrado hasta (fecha y hora)",
        "ui.breakdown": "Desglose",
        "ui.by_none": "Por zona (gráfico)",
        "ui.by_zone": "Por zona",
        "ui.by_district": "Por distrito",
        "ui.apply": "Aplicar",
        "ui.phases": "Indicadores por fase",
        "ui.phases_note": "Cada hecho cuenta en la fase cuyas fechas contienen el día en que ocurrió.",
        "ui.no_phases": "Aún no se ha abierto ninguna fase: solo se muestran los totales.",
        "ui.indicator": "Indicador",
        "ui.total": "Total",
        "ui.phase_dates": "del {starts_on} al {ends_on}",
        "ui.breakdown_heading": "Indicadores por grupo",
        "ui.charts": "Gráficos",
        "ui.chart_data": "Ver las cifras del gráfico",
        "ui.no_data": "Aún no hay cifras para este gráfico.",
        "ui.alerts": "Alertas de seguimiento",
        "ui.none": "Ninguna.",
        "ui.never": "nunca",
        "chart.phases": "Fases comparadas",
        "chart.by_zone": "Por zona",
        "chart.by_district": "Por distrito",
        "chart.nationality": "Por nacionalidad (todo el programa)",
        "chart.beneficiaries": "Beneficiarios",
        "chart.category": "Categoría",
        "alerts.overdue": "OSV sin reunión de seguimiento hace más de {days} días",
        "alerts.board_terms": "Juntas directivas con mandato vencido o por vencer en {days} días",
        "alerts.focal_points": "Municipalidades sin punto focal",
        "alerts.osv": "OSV",
        "alerts.district": "Distrito",
        "alerts.zone": "Zona",
        "alerts.last_met_on": "Última reunión",
        "alerts.mapped_on_note": "mapeada el {day}",
        "alerts.days_without_meeting": "Días sin reunión",
        "alerts.ruos_number": "N.º RUOS",
        "alerts.term_ends_on": "Fin del mandato",
        "alerts.days_left": "Días restantes",
        "alerts.status": "Estado",
        "alerts.status_ended": "Vencido",
        "alerts.status_expiring": "Por vencer",
        "alerts.municipality": "Municipalidad",
        "alerts.last_left_on": "Sin punto focal desde",
        "indicator.osvs_identified": "OSV identificadas",
        "indicator.osvs_registered_ruos": "OSV inscritas en el RUOS en la fase",
        "indicator.osvs_registered_ruos_cumulative": "OSV inscritas en el RUOS (acumulado al cierre)",
        "indicator.ruos_registration_rate": "Tasa de inscripción en el RUOS (acumulada)",
        "indicator.ruos_applications_observed": "Solicitudes al RUOS observadas",
        "indicator.osvs_supported": "OSV apoyadas",
        "indicator.projects_active": "Proyectos activos",
        "indicator.agents_of_change": "Agentes de cambio",
        "indicator.beneficiaries_direct": "Beneficiarios directos",
        "indicator.beneficiaries_indirect": "Beneficiarios indirectos",
        "indicator.seed_funds_granted_pen": "Fondos semilla otorgados (S/)",
        "indicator.goods_delivered_pen": "Bienes entregados (S/)",
        "indicator.disbursed_pen": "Desembolsado (S/)",
        "indicator.seed_funds_granted_usd": "Fondos semilla otorgados (US$)",
        "indicator.goods_delivered_usd": "Bienes entregados (US$)",
        "indicator.disbursed_usd": "Desembolsado (US$)",
        "indicator.murals": "Murales",
        "indicator.public_spaces_recovered": "Espacios públicos recuperados",
        "indicator.members_joined": "Miembros que ingresaron",
        "indicator.members_left": "Miembros que salieron",
        "indicator.members_left_by_reason": "Salidas de miembros por motivo",
        "indicator.osvs_contact_lost": "OSV con las que se perdió el contacto",
        "indicator.osvs_dissolved": "OSV disueltas",
        "indicator.follow_up_meetings": "Reuniones de seguimiento",
        "indicator.actions_pending_at_phase_end": "Acciones pendientes al cierre de la fase",
        "indicator.participatory_budget": "Presupuesto participativo",
        "part.total": "Total",
        "part.by_nationality": "Por nacionalidad",
        "part.by_sex": "Por sexo",
        "part.by_reason": "Por motivo",
        "part.first_time": "Por primera vez",
        "part.repeat": "Nuevamente",
        "part.submitted": "Presentadas",
        "part.accepted": "Aceptadas",
        "part.funded": "Financiadas",
        "part.amount_funded_pen": "Monto financiado (S/)",
        "code.VE": "Venezuela",
        "code.PE": "Perú",
        "code.other": "Otros",
        "code.F": "Mujeres",
        "code.M": "Hombres",
        "code.X": "Otro sexo",
        "code.moved_abroad": "Se mudó al extranjero",
        "code.moved_in_peru": "Se mudó dentro del Perú",
        "code.withdrew": "Se retiró",
        "code.deceased": "Falleció",
        "code.missing_document": "Falta un documento",
        "code.document_defective": "Documento con defectos",
        "code.id_document_not_accepted": "Documento de identidad no aceptado",
        "code.board_term_expired": "Mandato de la junta vencido",
        "code.signatures_missing": "Faltan firmas",
    },
    "en": {
        "ui.title": "OSV programme dashboard",
        "ui.subtitle": "Neighbourhood organisations of Venezuelans and Peruvians in Lima: mapping, RUOS, funds and follow-up",
        "ui.switch": "Español",
        "ui.switch_lang": "es",
        "ui.as_of": "Figures recorded up to {as_of}.",
        "ui.as_of_now": "Figures as of {now}: everything recorded so far.",
        "ui.today": "Alerts as of {today}.",
        "ui.filters": "Cut and breakdown",
        "ui.cut_at": "Cut at what was recorded up to (date and time)",
        "ui.breakdown": "Breakdown",
        "ui.by_none": "By zone (chart)",
        "ui.by_zone": "By zone",
        "ui.by_district": "By district",
        "ui.apply": "Apply",
        "ui.phases": "Indicators by phase",
        "ui.phases_note": "Each fact counts in the phase whose dates contain the day it happened.",
        "ui.no_phases": "No phase has been opened yet: only the totals are shown.",
        "ui.indicator": "Indicator",
        "ui.total": "Total",
        "ui.phase_dates": "{starts_on} to {ends_on}",
        "ui.breakdown_heading": "Indicators by group",
        "ui.charts": "Charts",
        "ui.chart_data": "Show the chart's figures",
        "ui.no_data": "No figures for this chart yet.",
        "ui.alerts": "Follow-up alerts",
        "ui.none": "None.",
        "ui.never": "never",
        "chart.phases": "Phases compared",
        "chart.by_zone": "By zone",
        "chart.by_district": "By district",
        "chart.nationality": "By nationality (whole programme)",
        "chart.beneficiaries": "Beneficiaries",
        "chart.category": "Category",
        "alerts.overdue": "OSVs not met for more than {days} days",
        "alerts.board_terms": "Boards whose term has ended or ends within {days} days",
        "alerts.focal_points": "Municipalities without a focal point",
        "alerts.osv": "OSV",
        "alerts.district": "District",
        "alerts.zone": "Zone",
        "alerts.last_met_on": "Last meeting",
        "alerts.mapped_on_note": "mapped on {day}",
        "alerts.days_without_meeting": "Days without a meeting",
        "alerts.ruos_number": "RUOS no.",
        "alerts.term_ends_on": "Term ends",
        "alerts.days_left": "Days left",
        "alerts.status": "Status",
        "alerts.status_ended": "Ended",
        "alerts.status_expiring": "Ending soon",
        "alerts.municipality": "Municipality",
        "alerts.last_left_on": "Without a focal point since",
        "indicator.osvs_identified": "OSVs identified",
        "indicator.osvs_registered_ruos": "OSVs registered in the RUOS in the phase",
        "indicator.osvs_registered_ruos_cumulative": "OSVs registered in the RUOS (cumulative at phase end)",
        "indicator.ruos_registration_rate": "RUOS registration rate (cumulative)",
        "indicator.ruos_applications_observed": "RUOS applications observed",
        "indicator.osvs_supported": "OSVs supported",
        "indicator.projects_active": "Active projects",
        "indicator.agents_of_change": "Agents of change",
        "indicator.beneficiaries_direct": "Direct beneficiaries",
        "indicator.beneficiaries_indirect": "Indirect beneficiaries",
        "indicator.seed_funds_granted_pen": "Seed funds granted (PEN)",
        "indicator.goods_delivered_pen": "Goods delivered (PEN)",
        "indicator.disbursed_pen": "Disbursed (PEN)",
        "indicator.seed_funds_granted_usd": "Seed funds granted (USD)",
        "indicator.goods_delivered_usd": "Goods delivered (USD)",
        "indicator.disbursed_usd": "Disbursed (USD)",
        "indicator.murals": "Murals",
        "indicator.public_spaces_recovered": "Public spaces recovered",
        "indicator.members_joined": "Members who joined",
        "indicator.members_left": "Members who left",
        "indicator.members_left_by_reason": "Members who left, by reason",
        "indicator.osvs_contact_lost": "OSVs with contact lost",
        "indicator.osvs_dissolved": "OSVs dissolved",
        "indicator.follow_up_meetings": "Follow-up meetings",
        "indicator.actions_pending_at_phase_end": "Actions pending at phase end",
        "indicator.participatory_budget": "Participatory budget",
        "part.total": "Total",
        "part.by_nationality": "By nationality",
        "part.by_sex": "By sex",
        "part.by_reason": "By reason",
        "part.first_time": "First time",
        "part.repeat": "Again",
        "part.submitted": "Submitted",
        "part.accepted": "Accepted",
        "part.funded": "Funded",
        "part.amount_funded_pen": "Amount funded (PEN)",
        "code.VE": "Venezuela",
        "code.PE": "Peru",
        "code.other": "Other",
        "code.F": "Women",
        "code.M": "Men",
        "code.X": "Other sex",
        "code.moved_abroad": "Moved abroad",
        "code.moved_in_peru": "Moved within Peru",
        "code.withdrew": "Withdrew",
        "code.deceased": "Died",
        "code.missing_document": "Missing document",
        "code.document_defective": "Defective document",
        "code.id_document_not_accepted": "Identity document not accepted",
        "code.board_term_expired": "Board term expired",
        "code.signatures_missing": "Signatures missing",
    },
}


def translator(lang: Language) -> Callable[..., str]:
    """``t(key, **values)`` in one language; a name the table lacks is shown as it is (``indicator.x`` → ``x``)."""
    table = TRANSLATIONS[lang]

    def t(key: str, **values: Any) -> str:
        text = table.get(key)
        if text is None:
            return key.split(".", 1)[-1]
        return text.format(**values) if values else text

    return t


# Values in the phase table


def _money(text: str, symbol: str) -> str:
    try:
        return f"{symbol} {Decimal(text):,.2f}"
    except InvalidOperation:
        return text


def _percent(text: str) -> str:
    try:
        return f"{Decimal(text) * 100:.1f} %"
    except InvalidOperation:
        return text


def _key(key: str, t: Callable[..., str]) -> str:
    """A breakdown's key: a part of the indicator (``total``, ``by_sex``…) or a code (``VE``, ``moved_abroad``…)."""
    return t(f"part.{key}") if f"part.{key}" in TRANSLATIONS["es"] else t(f"code.{key}")


def cell(name: str, value: Any, t: Callable[..., str]) -> Markup:
    """One indicator's value as HTML: numbers as text, breakdowns as nested lists with translated keys."""
    if value is None or (isinstance(value, Mapping | list) and not value):
        return Markup("—")
    if isinstance(value, Mapping):
        items = [Markup('<li><span class="key">{}:</span> {}</li>').format(_key(k, t), cell(k, v, t)) for k, v in value.items()]
        return Markup('<ul class="breakdown">{}</ul>').format(Markup("").join(items))
    if isinstance(value, list):
        return Markup(", ").join(cell(name, v, t) for v in value)
    text = str(value)
    if name.endswith("_pen"):
        return escape(_money(text, "S/"))
    if name.endswith("_usd"):
        return escape(_money(text, "US$"))
    if name.endswith("_rate"):
        return Markup('<span title="{}">{}</span>').format(text, _percent(text))
    return escape(text)


def ordered_names(*indicator_sets: Mapping[str, Any]) -> list[str]:
    """The indicators the JSON holds: the contract's in its order, then any others by name."""
    present = {name for s in indicator_sets for name in s}
    return [n for n in CONTRACT_INDICATORS if n in present] + sorted(present - set(CONTRACT_INDICATORS))


# The page

_templates = Environment(
    loader=PackageLoader("services.reporting", "templates"), autoescape=select_autoescape(), trim_blocks=True, lstrip_blocks=True
)


def _moment(value: datetime) -> str:
    return value.astimezone(LIMA).strftime("%Y-%m-%d %H:%M") + " (Lima)"


def render_dashboard(
    report: Mapping[str, Any],
    found: Alerts,
    lang: Language,
    query: Mapping[str, str],
    now: datetime,
    cut: datetime | None = None,
) -> str:
    """The dashboard's HTML for one indicators JSON and one set of alerts; ``query`` is the page's own."""
    t = translator(lang)
    as_of = report.get("as_of")
    if as_of:
        stated = t("ui.as_of", as_of=_moment(datetime.fromisoformat(str(as_of).replace("Z", "+00:00"))))
    else:
        stated = t("ui.as_of_now", now=_moment(now))
    breakdown = report.get("breakdown") or {}
    groups_heading = f"chart.by_{breakdown.get('by') or query.get('by') or 'zone'}"
    plotted = [
        ("chart.phases", charts.phases_chart(report, t)),
        (groups_heading, charts.groups_chart(report, t)),
        ("chart.nationality", charts.nationality_chart(report, t)),
        ("chart.beneficiaries", charts.beneficiaries_chart(report, t)),
    ]
    phases = report.get("phases", [])
    total = report.get("total", {})
    return _templates.get_template("dashboard.html").render(
        t=t,
        lang=lang,
        cell=cell,
        stated=stated,
        query=query,
        cut_field=cut.astimezone(LIMA).strftime("%Y-%m-%dT%H:%M") if cut else "",
        switch_url="/dashboard?" + urlencode({**query, "lang": t("ui.switch_lang")}),
        phases=phases,
        total=total,
        breakdown=breakdown,
        ordered_names=ordered_names,
        plotted=plotted,
        alerts=found,
    )


# Routes


class OverdueMeetingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    osv_id: str = Field(description="The OSV's id.")
    name: str = Field(description="The OSV's name (an organisation, public).")
    district: str = Field(description="The OSV's district.")
    zone: str = Field(description="The district's zone.")
    last_met_on: date | None = Field(description="The day of the last follow-up meeting; null when it was never met.")
    counted_from: date = Field(description="The last meeting's day, or the day the OSV was mapped when never met.")
    days_without_meeting: int = Field(description="Days from `counted_from` to today.")


class BoardTermPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    osv_id: str = Field(description="The OSV's id.")
    name: str = Field(description="The OSV's name.")
    ruos_number: str = Field(description="The OSV's RUOS registration number.")
    term_ends_on: date = Field(description="When the board's term ends: from the registration, or the last renewal.")
    days_left: int = Field(description="Days from today to the term's end; negative once it ended.")
    status: Literal["ended", "expiring"] = Field(description="`ended`, or `expiring` within `within_days`.")


class MissingFocalPointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    municipality_id: str = Field(description='"mml" or the district\'s ubigeo.')
    name: str = Field(description="The municipality (for a district, the district's name).")
    zone: str | None = Field(description="The district's zone; null for the MML.")
    last_left_on: date | None = Field(description="When its last focal point left; null when it never had one.")


class AlertsPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    today: date = Field(description="The day (in Lima) the alerts are computed for.")
    overdue_after_days: int = Field(description="An OSV is overdue after this many days without a meeting.")
    within_days: int = Field(description="A board term ending within this many days is flagged.")
    overdue_meetings: list[OverdueMeetingPublic] = Field(description="Active OSVs not met for too long, longest first.")
    board_terms: list[BoardTermPublic] = Field(description="Boards whose term ended or ends soon, soonest first.")
    municipalities_without_focal_point: list[MissingFocalPointPublic] = Field(
        description="The MML and district municipalities with no current focal point."
    )


def _readmodel(request: Request) -> ReadModel:
    readmodel = request.app.state.runtime.readmodel
    assert readmodel is not None
    return readmodel


ReadModelDep = Annotated[ReadModel, Depends(_readmodel)]
DaysQuery = Annotated[int, Query(ge=1, le=3650, description="An OSV is overdue after this many days without a follow-up meeting.")]
WithinDaysQuery = Annotated[int, Query(ge=0, le=3650, description="Flag board terms ending within this many days.")]


def dashboard_router(indicators: IndicatorSource, today: Callable[[], date] = today_in_lima) -> APIRouter:
    """``/dashboard``, ``/alerts`` and ``/`` (to the dashboard), reading ``indicators`` and the read model."""
    router = APIRouter()
    municipalities = lima_municipalities(DistrictTable.of_lima())
    stylesheet = resources.files("services.reporting").joinpath("static/dashboard.css").read_text("utf-8")

    def current_alerts(readmodel: ReadModel, days: int, within_days: int) -> Alerts:
        return alerts(readmodel.alert_facts(), today(), municipalities, overdue_after_days=days, within_days=within_days)

    @router.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/dashboard", status_code=307)

    @router.get("/dashboard/dashboard.css", include_in_schema=False)
    def style() -> Response:
        return Response(stylesheet, media_type="text/css")

    @router.get("/alerts", tags=["dashboard"], response_model=AlertsPublic)
    def get_alerts(
        readmodel: ReadModelDep, days: DaysQuery = OVERDUE_AFTER_DAYS, within_days: WithinDaysQuery = TERM_ENDS_WITHIN_DAYS
    ) -> AlertsPublic:
        """Follow-up alerts as of today: OSVs not met, board terms ending, municipalities without a focal point."""
        return AlertsPublic.model_validate(current_alerts(readmodel, days, within_days))

    @router.get("/dashboard", tags=["dashboard"], response_class=HTMLResponse)
    def get_dashboard(
        request: Request,
        readmodel: ReadModelDep,
        lang: Annotated[Language, Query(description="The page's language: `es` (default) or `en`.")] = "es",
        as_of: Annotated[
            datetime | None,
            BeforeValidator(lambda text: text or None),  # the page's form sends an empty field
            Query(description="Count only what was recorded up to this time; without a zone, Lima time. Passed to the indicators."),
        ] = None,
        by: Annotated[
            Grouping | None, Query(description="Break the indicators down by `zone` (the default, for the chart) or `district`.")
        ] = None,
        days: DaysQuery = OVERDUE_AFTER_DAYS,
        within_days: WithinDaysQuery = TERM_ENDS_WITHIN_DAYS,
    ) -> HTMLResponse:
        """The programme's dashboard as a web page: indicators by phase, charts and follow-up alerts."""
        cut = as_of.replace(tzinfo=LIMA) if as_of and as_of.tzinfo is None else as_of
        report = indicators(readmodel, cut, by or "zone")
        found = current_alerts(readmodel, days, within_days)
        query = {k: v for k, v in request.query_params.items() if k in ("lang", "as_of", "by", "days", "within_days") and v}
        html = render_dashboard(report, found, lang, query, datetime.now(timezone.utc), cut)
        return HTMLResponse(html)

    return router
