"""Reporting's HTTP API: routes only, each translating a request into a call on :class:`Reporting`.

Phase-by-phase indicators from the read model, as of any moment, with their
evidence and exports; for donors, the leads' targets and sign-offs, the IATI
activity file and the HXL 3W sheet; the service's health; the dashboard and
its alerts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BeforeValidator

from services.reporting import exports
from services.reporting.application import Reporting, rfc3339
from services.reporting.bootstrap import bootstrap
from services.reporting.dashboard import (
    DASHBOARD_POLICY,
    FORM_PAGE_HEADERS,
    NO_ICON,
    SIGN_OUT_POLICY,
    check_typed_cut_has_come,
    cut_applied,
    cut_from_form,
    refusal_page,
    render_dashboard,
    sign_out_form,
    slashed_cut_refused,
    stylesheet,
)
from services.reporting.domain.alerts import OVERDUE_AFTER_DAYS, TERM_ENDS_WITHIN_DAYS
from services.reporting.schemas import (
    AlertsPublic,
    ReportingHealth,
    SignOffCreate,
    TargetsUpdate,
    targets_body_mistakes,
)
from services.reporting.settings import ReportingSettings
from services.reporting.signin import (
    ID_TOKEN_COOKIE,
    CrossOriginRequest,
    DashboardSignIn,
    SignInFailed,
    check_same_origin,
    deliberation_shown,
    ruos_alerted,
    session_caller,
    signed_out,
    viewer_scope,
)
from services.reporting.translations import TRANSLATIONS, Language, translator
from shared import dryrun
from shared.asyncapi import document_for
from shared.auditapi import install_audit
from shared.auth import AuthError, Caller, CallerDep, MunicipalScope, Permission, holders_of, requires, within
from shared.clock import LIMA, Clock, today_in_lima
from shared.cors import install_cors
from shared.guards import problem
from shared.listing import query_refused, refuse_unknown_query_parameters
from shared.problems import STATUS_OF, route_body_rules
from shared.schemas import AsOf as AsOfMoment
from shared.schemas import LimaMoment
from shared.web import HEALTH_RESPONSES, application_of, base_api, keep_guards_outermost, runtime_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ReportingDep = Annotated[Reporting, Depends(application_of)]
AsOf = Annotated[
    AsOfMoment | None,
    Query(description="RFC 3339 moment with its offset, not later than now (422 `not_in_future`): answer only from events "
          "recorded (CloudEvent `time`) by then."),
]
By = Annotated[
    Literal["zone", "district"] | None,
    Query(description="Break every figure down by zone or by district as well. A focal point's `zone` is given by district "
          "(`breakdown.by` says so): its districts are a share of their zone, not the zone."),
]
Grouping = Literal["zone", "district"]
DaysQuery = Annotated[int, Query(ge=1, le=3650, description="An OSV is overdue after this many days without a follow-up meeting.")]
WithinDaysQuery = Annotated[int, Query(ge=0, le=3650, description="Flag board terms ending within this many days.")]

Figures = Annotated[MunicipalScope, Depends(within(Permission.INDICATORS_READ))]
"""The municipalities whose figures the caller reads: a focal point's own, as if nothing else had happened."""

indicators = APIRouter(tags=["indicators"])
donors = APIRouter(tags=["donors"])
operations = APIRouter(tags=["operations"])
dashboard = APIRouter()


# Indicators ------------------------------------------------------------------------------


@indicators.get("/indicators")
def get_indicators(reporting: ReportingDep, scope: Figures, as_of: AsOf = None, by: By = None) -> dict[str, Any]:
    """Indicators per phase (by the date each fact happened) and in total, optionally as of a moment and by zone or district.

    Each phase says its `status` on the day (in Lima) the answer is as of: `not_started` (no figures: every indicator at
    0), `in_progress` (its days so far: the facts dated by that day) or `ended`. A fact dated after that day (a member
    recorded as joining tomorrow) counts in no phase and no total yet, from its day on. Figures of people
    (`agents_of_change`, `beneficiaries_direct`, `attendances`, `members_joined`, `members_left`) split their `total`
    `by_nationality` (`VE`, `PE`, `other`) and `by_sex` (`F`, `M`, `X`), a code shown where its count is not 0. A
    person whose nationality or sex was rectified
    (`MemberNationalityCorrected`, `MemberSexCorrected`) counts under the corrected value in every phase once the
    correction is recorded, and a joining whose date was corrected (`MemberJoiningDateCorrected`) in the phase of the
    corrected day; a joining of one stay recorded twice, merged (`MembershipMerged`), counts no more; a cut before it
    shows what was known then.
    """
    return reporting.indicators(as_of=as_of, by=by, scope=scope)


ExportLang = Annotated[Language, Query(description="The words of the file: `es` (default) or `en`.")]


@indicators.get("/indicators/export.csv", response_class=Response)
def export_csv(reporting: ReportingDep, scope: Figures, as_of: AsOf = None, by: By = None, lang: ExportLang = "es") -> Response:
    """The indicators as CSV for Excel: UTF-8 with BOM, a row per phase, indicator, part and group in words; the name states the as-of moment."""
    body, name, evidence = reporting.export_csv(as_of=as_of, by=by, lang=lang, scope=scope)
    return Response(body, media_type="text/csv; charset=utf-8", headers=_export_headers(name, evidence))


@indicators.get("/indicators/export.xlsx", response_class=Response)
def export_xlsx(reporting: ReportingDep, scope: Figures, as_of: AsOf = None, by: By = None, lang: ExportLang = "es") -> Response:
    """The indicators as an XLSX workbook: the CSV's rows with a frozen header and formatted numbers, and a properties sheet with the as-of moment."""
    body, name, evidence = reporting.export_xlsx(as_of=as_of, by=by, lang=lang, scope=scope)
    return Response(body, media_type=XLSX, headers=_export_headers(name, evidence))


def _named(name: str) -> dict[str, str]:
    """A download's ``Content-Disposition``: ``name`` (:func:`exports.file_name`, the as-of moment in it)."""
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _export_headers(name: str, evidence: dict[str, Any]) -> dict[str, str]:
    """The file's name, and what ties it to the log: ``Report-Digest`` and ``Chain-Heads`` (``registry@12:<hash>,…``)."""
    return {
        **_named(name),
        "Report-Digest": evidence["digest"],
        "Chain-Heads": exports.heads_label(evidence["heads"]),
    }


@donors.get("/activities/export.hxl.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_hxl(reporting: ReportingDep, scope: Figures, as_of: AsOf = None) -> Response:
    """The OSVs' activities as a 3W/5W CSV with HXL hashtags: who, what, where (ubigeo), when, people reached by sex and nationality."""
    body = reporting.export_hxl(as_of=as_of, scope=scope)
    return Response(body, media_type="text/csv; charset=utf-8", headers=_named(exports.file_name(as_of, reporting.now(), "hxl.csv", "osv-3w")))


@donors.get("/iati/activity.xml", response_class=Response, responses={200: {"content": {"application/xml": {}}}})
def iati_activity(reporting: ReportingDep, scope: Figures, as_of: AsOf = None) -> Response:
    """The programme as an IATI 2.03 activity file: each phase a result period, indicators with baseline, target and actual.

    A signed phase's actuals say in their comment the phase's sign-off: of those recorded by `as_of` (now without
    one), the one from the latest cut, and of one cut signed twice the one signed last (an older cut signed again, to
    reproduce a past report, is not it); its cut written as kept, with its microseconds when it has any (the figures
    `GET /indicators?as_of=<cut>` gives, and the digest over them), and each part restated since. The activity's
    `last-updated-datetime` is `as_of` so written too; `generated-datetime`, when the file was made, to the second.

    A focal point gets its municipality's share as an activity of its own: identifier the programme's followed by the
    ubigeo (`XM-DAC-47066-PE-OSV-LIMA-150132`), `hierarchy="2"` under the programme's activity (`related-activity`
    type 1), the municipality named in its title and description, its districts' figures as actuals, the programme's
    baselines and targets (their comments say so) and no sign-off.
    """
    body = reporting.iati_activity(as_of=as_of, scope=scope)
    return Response(body, media_type="application/xml", headers=_named(exports.file_name(as_of, reporting.now(), "xml", "iati-activity")))


@indicators.get("/indicators/{name}/evidence")
def get_evidence(
    name: str,
    reporting: ReportingDep,
    scope: Figures,
    phase: Annotated[str, Query(max_length=30, description="A phase's code (in any case, as a URL's phase), or `total`.")] = "total",
    group: Annotated[str | None, Query(max_length=100, description="Only this zone's or district's part of the figure.")] = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """List the events that make one figure, each with what it adds to it."""
    return reporting.evidence(name=name, phase=phase, group=group, as_of=as_of, scope=scope)


# The leads' phase reports: targets and sign-offs ----------------------------------------

PhaseCode = Annotated[str, Path(description="The phase's code, as funding opened it (`F1`…), in any case (`f1`): the phase with that "
                                 "code exactly, else the one whose code differs by case alone (two such phases from before funding "
                                 "refused the second, neither named exactly: 422 `exact_phase_code`); none, 404 `known_phase`.")]
Lead = Annotated[Caller, Depends(requires(Permission.PHASES_MANAGE))]
"""A lead: sets targets and signs phases off, recorded under the token's subject."""


def _targets_body_rules(path: Mapping[str, Any], body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A targets body's mistakes the path's indicator decides (:func:`targets_body_mistakes`)."""
    return targets_body_mistakes(body, str(path.get("indicator", "")))


@donors.put("/phases/{phase}/targets/{indicator}")
@route_body_rules(_targets_body_rules)
def set_targets(phase: PhaseCode, indicator: str, body: TargetsUpdate, reporting: ReportingDep, lead: Lead) -> dict[str, Any]:
    """Set a phase's baseline and target for one indicator, disaggregated where it applies (records `TargetsSet`).

    Each is a figure as parts (`total`, `by_sex.F`…: the body's `baseline`); a group of parts adds up to `total` at most
    (422 `parts_within_total`). Every mistake of the body is named in one 422; nothing is recorded then.
    """
    if refused := targets_body_mistakes(body.sent, indicator):  # every one in this 422 (a body the schema refused has
        # them in its own too: route_body_rules)
        raise RequestValidationError(refused)
    return reporting.set_targets(phase=phase, indicator=indicator, baseline=body.baseline, target=body.target, set_by=lead.subject)


@donors.get("/targets")
def get_targets(reporting: ReportingDep, scope: Figures, as_of: AsOf = None) -> dict[str, Any]:
    """Targets against actuals: per phase, each indicator's baseline, target, actual and share of the target reached.

    A phase not started (`status`) has its targets and neither actual nor share (null): its days have not come.
    """
    return reporting.targets(as_of=as_of, scope=scope)


@donors.post(
    "/phases/{phase}/sign-offs",
    status_code=201,
    responses={200: {"description": "Signed before: the same figures from the same cut; nothing recorded again, the first sign-off answered."}},
)
def sign_off(phase: PhaseCode, body: SignOffCreate, reporting: ReportingDep, lead: Lead, response: Response) -> dict[str, Any]:
    """Sign off a phase's figures from the facts recorded by `as_of`, with their digest (records `PhaseSignedOff`).

    Only an ended phase: a cut on or before its last day (in Lima) is refused with 409 `phase_ended_by_cut`. The answer
    says whether the sign-off is `intact` (its figures give its digest), as `GET /sign-offs` does. Signing the same
    figures from the same cut again (a retry) records nothing: it answers 200 with the first sign-off, its `signed_at`
    and `signed_by` those of the first, where a sign-off recorded now is 201.
    """
    signed, recorded = reporting.sign_off(phase=phase, as_of=body.as_of, signed_by=lead.subject)
    if not recorded:
        response.status_code = 200  # nothing created: as a Kobo submission carried out before is answered
    return signed


@donors.get("/sign-offs")
def get_sign_offs(
    reporting: ReportingDep,
    scope: Figures,
    as_of: AsOf = None,
    phase: Annotated[str | None, Query(max_length=30, pattern=r"^[A-Za-z0-9._-]+$", description="Only this phase's sign-offs (its code, in any case, as a URL's phase), a phase withdrawn in funding included; 404 `known_phase` for a phase no one opened.")] = None,
) -> dict[str, Any]:
    """List the signed phase reports, each with its restatement: signed and current figures, the difference and the events behind it.

    Each sign-off says whether it is `intact`: whether its recorded `figures`, with its phase and cut (`as_of`), still
    give its own `digest` (SHA-256 over the canonical JSON of `{"phase", "cut", "figures"}`). A sign-off with `intact`
    false was changed in the store after the lead signed it: its `figures` are not the signed ones, so it is never
    `reproduced` and its `restatement` is null (the difference is no fact recorded later); `GET /verify` names the
    position changed. Otherwise `reproduced` says whether the facts recorded by its cut still give its digest.
    Every sign-off of a phase is listed, the oldest signed first; the one the IATI file names is the one from the latest cut
    (of one cut signed twice, the one signed last).

    A sign-off of a phase funding withdrew as entered in error after it was signed (`PhaseWithdrawn`) stays listed, its
    figures as signed, with `phase_withdrawn` (`reason`, `withdrawn_on`, `recorded_at`) and a null `restatement`: the
    phase is in no report made after the withdrawal, so it has no current figures to compare. A restatement's `events`
    are the figure's facts recorded after the cut (or by it and dated after its day in Lima, counted from that day)
    and, for a figure reading earlier phases (`osvs_supported`'s `first_time` and `repeat`, `agents_of_change`'s
    `new`), the phases before its own opened or withdrawn since (`PhaseOpened`, `PhaseWithdrawn`, each adding nothing
    itself).
    """
    return reporting.sign_offs(as_of=as_of, phase=phase, scope=scope)


# Operations ------------------------------------------------------------------------------


@operations.get("/health", response_model=ReportingHealth, responses=HEALTH_RESPONSES)
async def health(request: Request, response: Response, reporting: ReportingDep) -> ReportingHealth:
    """Report the NATS connection, the consumer and how far each source is applied."""
    runtime = runtime_of(request)
    assert runtime.link is not None and runtime.probes is not None
    (positions, store_error), (lacking, _) = await asyncio.gather(
        runtime.probes.run("store", reporting.readmodel.positions), runtime.probes.run("districts", reporting.districts_lacking)
    )
    nats_state = "connected" if runtime.link.connected else "disconnected"
    consumers = runtime.following.consumers
    error = next((c.last_error for c in consumers if c.last_error), None)
    missing = runtime.following.missing
    response.status_code = 200 if store_error is None else 503
    return ReportingHealth(
        status="ok" if store_error is None and nats_state == "connected" and error is None and not missing and not lacking else "degraded",
        service="reporting",
        store=store_error or "ok",
        nats=nats_state,
        consumer_error=error,
        parked=sum(c.parked for c in consumers),
        applied_positions=positions or {},
        sources=runtime.following.health().get(reporting.readmodel.name, {}),
        missing_districts=lacking or [],
    )


@operations.get("/asyncapi.json", tags=["events"])
def read_asyncapi(request: Request) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every event reporting consumes: each write service's channels, messages and schemas.

    Its `servers` name the NATS server(s) partners connect to: reporting's `partner_nats_url`, else its `nats_url` (host and
    port, never a user or password; `ws`/`wss` for a WebSocket URL).
    """
    from services.engagement.events import catalogue as engagement
    from services.funding.events import catalogue as funding
    from services.registry.events import catalogue as registry

    settings = runtime_of(request).settings
    return document_for([registry, funding, engagement], settings.partner_nats_url or settings.nats_url)


# The dashboard ---------------------------------------------------------------------------


@dashboard.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """Send a browser at the service's root to the dashboard."""
    return RedirectResponse("/dashboard", status_code=307)


@dashboard.get("/dashboard/dashboard.css", include_in_schema=False)
def style() -> Response:
    """The dashboard's stylesheet."""
    return Response(stylesheet(), media_type="text/css")


@dashboard.get("/alerts", tags=["dashboard"], response_model=AlertsPublic)
def get_alerts(
    reporting: ReportingDep,
    scope: Figures,
    caller: CallerDep,
    days: DaysQuery = OVERDUE_AFTER_DAYS,
    within_days: WithinDaysQuery = TERM_ENDS_WITHIN_DAYS,
    as_of: AsOf = None,
) -> AlertsPublic:
    """Follow-up alerts: OSVs not met, board terms ending, municipalities without a focal point, facts recorded after an OSV's dissolution or on a record after its merge.

    As of today, or, with `as_of`, from the facts recorded by then, counted to that moment's day in Lima, as the
    dashboard's cut does. A focal point gets its municipality's alone, with the records merged into its OSVs from
    other districts (and not those of its districts merged into another's). Its board terms are those of the OSVs
    registered in its municipality's RUOS, whose renewals it records: a district's focal point is not alerted to its
    OSVs registered with the MML, the MML's focal point (who reads all of Lima) to those registered in the MML's RUOS
    alone. Staff, leads and auditors get every one. A proposal's submission or scoring, the programme's deliberation,
    is listed to those who read proposals alone (staff, leads, auditors), never to a focal point."""
    found = reporting.alerts(
        days=days, within_days=within_days, scope=scope, as_of=as_of, ruos=ruos_alerted(caller), deliberation=deliberation_shown(caller)
    )
    return AlertsPublic.model_validate({"as_of": rfc3339(as_of), **{f.name: getattr(found, f.name) for f in dataclasses.fields(found)}})


def dashboard_viewer(request: Request) -> Caller | None:
    """Who looks at the dashboard: a bearer token, or the session the sign-in opened; None to send them to sign in."""
    return session_caller(request, request.app.state.token_validator)


def sign_in_of(request: Request) -> DashboardSignIn:
    return request.app.state.sign_in  # type: ignore[no-any-return]


Viewer = Annotated[Caller | None, Depends(dashboard_viewer)]
SIGNED_IN = {
    "security": [{"oidc": []}, {"bearer": []}],
    "x-permissions": [Permission.INDICATORS_READ.value],
    "x-roles": holders_of(Permission.INDICATORS_READ),
    "responses": {
        "303": {"description": "Not signed in: to `/dashboard/sign-in`, which sends the browser to the identity provider."},
        "401": {"description": "A bearer token was sent and refused."},
        "403": {"description": f"The caller's roles lack `{Permission.INDICATORS_READ.value}`."},
    },
}


@dashboard.get("/dashboard/sign-in", include_in_schema=False)
def sign_in(request: Request, next: str = "/dashboard") -> RedirectResponse:  # noqa: A002 - the usual name of the parameter
    """Send the browser to the identity provider's sign-in (authorization code with PKCE)."""
    return sign_in_of(request).start(request, next)


@dashboard.get("/dashboard/callback", include_in_schema=False, response_model=None)
def sign_in_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    """Where the identity provider sends the browser back: open the dashboard's session."""
    if error or not code:
        return _sign_in_refused(request, f"The sign-in did not complete ({error or 'no code'}); open /dashboard to try again.")
    try:
        return sign_in_of(request).finish(request, code, state, request.app.state.token_validator)
    except SignInFailed as failure:
        return _sign_in_refused(request, f"{failure} Open /dashboard to sign in again.")


def _sign_in_refused(request: Request, detail: str) -> Response:
    """401 for a sign-in that did not complete: to a browser a page with a way to sign in again (it was problem+json, in
    English, after someone refused at the provider or took too long; tester 37d F7), to others problem+json."""
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(refusal_page({"status": 401, "detail": detail}, "es"), status_code=401)
    return problem(401, "Unauthorized", detail)


SIGNED_OUT_PAGE = (
    '<!DOCTYPE html><html lang="{lang}"><meta charset="utf-8"><title>OSV</title>' + NO_ICON +
    '<p id="signed-out">{signed_out} <a href="{again}">{sign_in_again}</a></p>{note}</html>'
)
PROVIDER_SESSION_OPEN = '<p id="provider-session-open">{provider_session_open}{link}</p>'
END_PROVIDER_SESSION = ' <a id="end-provider-session" href="{url}">{end_provider_session}</a>.'
PageLang = Annotated[Language, Query(description="The page's language: `es` (default) or `en`, as the dashboard's.")]


def signed_out_page(lang: Language, note: str = "") -> HTMLResponse:
    """The page that says the dashboard's session is closed, in ``lang``; its link opens the dashboard in ``lang`` again."""
    t = translator(lang)
    again = "/dashboard" if lang == "es" else "/dashboard?" + urlencode({"lang": lang})
    page = SIGNED_OUT_PAGE.format(
        lang=lang, signed_out=t("ui.signed_out"), again=html.escape(again, quote=True), sign_in_again=t("ui.sign_in_again"), note=note
    )
    return HTMLResponse(page)


SIGN_OUT_PAGE = (
    '<!DOCTYPE html><html lang="{lang}"><meta charset="utf-8"><title>OSV</title>' + NO_ICON +
    '<p id="sign-out-asked">{asked}</p>{form}<p><a id="back-to-dashboard" href="{back}">{back_to_dashboard}</a></p></html>'
)
ONWARD_PAGE = (
    '<!DOCTYPE html><html lang="{lang}"><meta charset="utf-8"><meta http-equiv="refresh" content="0; url={url}"><title>OSV</title>' + NO_ICON +
    '<p id="ending-provider-session">{ending} <a id="continue-to-provider" href="{url}">{continue_}</a></p></html>'
)


@dashboard.get("/dashboard/sign-out", include_in_schema=False)
def ask_to_sign_out(lang: PageLang = "es") -> HTMLResponse:
    """A page with the sign-out button, in ``lang``, for a browser that opens the address (a bookmark of the link it
    was): it signs no one out, as any other site could send a browser here (:func:`sign_out`)."""
    t = translator(lang)
    back = "/dashboard" if lang == "es" else "/dashboard?" + urlencode({"lang": lang})
    page = SIGN_OUT_PAGE.format(
        lang=lang, asked=t("ui.sign_out_asked"), form=sign_out_form(lang), back=html.escape(back, quote=True),
        back_to_dashboard=t("ui.back_to_dashboard"),
    )
    return HTMLResponse(page, headers=FORM_PAGE_HEADERS)


@dashboard.post("/dashboard/sign-out", include_in_schema=False, response_model=None)
def sign_out(request: Request, lang: PageLang = "es") -> Response:
    """Close the dashboard's session, then the provider's own (OIDC RP-Initiated Logout, with the session's ID token
    as ``id_token_hint``), which sends the browser back to ``/dashboard/signed-out``.

    Asked by the dashboard's own pages alone: one another site (or another service on the host) sent is refused with
    403 problem+json, rule ``same_origin``, naming the header (:func:`~services.reporting.signin.check_same_origin`),
    the session kept. The answer is a page that goes on to the provider (``<meta http-equiv="refresh">``, and a link)
    rather than a 303 there: the page's ``form-action 'self'`` holds for the redirects after a form's submission, and
    Chromium blocked the one to the provider.

    Without the ID token (a session opened before the dashboard kept it, a cookie the browser dropped, a second
    sign-out) the provider would ask whether to log out, with staying the default: the page says instead that its
    session may still be open, with a link to end it. So it does when the provider cannot be reached. The page is
    in ``lang``, the dashboard's (its sign-out form carries it); the provider is given it as the logout's ``state``,
    which it hands back to ``/dashboard/signed-out``.
    """
    try:
        check_same_origin(request, sign_in_of(request).public_url)
    except CrossOriginRequest as refused:
        return problem(403, "Forbidden", str(refused), [{"field": refused.header, "rule": "same_origin", "message": str(refused)}])
    end = sign_in_of(request).end(request, lang)
    t = translator(lang)
    if end is not None and request.cookies.get(ID_TOKEN_COOKIE):
        onward = ONWARD_PAGE.format(lang=lang, url=html.escape(end, quote=True), ending=t("ui.ending_provider_session"), continue_=t("ui.continue"))
        return signed_out(HTMLResponse(onward))
    link = END_PROVIDER_SESSION.format(url=html.escape(end, quote=True), end_provider_session=t("ui.end_provider_session")) if end else ""
    return signed_out(signed_out_page(lang, PROVIDER_SESSION_OPEN.format(provider_session_open=t("ui.provider_session_open"), link=link)))


@dashboard.get("/dashboard/signed-out", include_in_schema=False)
def after_sign_out(
    lang: PageLang = "es",
    state: Annotated[str | None, Query(max_length=64, description="The logout's `state`, as the provider hands it back: the page's language.")] = None,
) -> HTMLResponse:
    """Where the provider sends the browser once it has ended its session too: in the language the sign-out was asked in.

    It forgets nothing: the sign-out's POST did, from the dashboard's own page. Any page's link or image may lead a
    browser here, and forgot the session when it did (tester 144 F1)."""
    chosen: Language = state if state in TRANSLATIONS else lang  # type: ignore[assignment]
    return signed_out_page(chosen)


def refuse_a_slashed_cut_on_the_english_page(request: Request) -> None:
    """:func:`slashed_cut_refused` for ``GET /dashboard``, as a dependency of the route (run before its query is read):
    checked in the route's body, it came after :func:`cut_from_form`, which had read 02/13/2022 day first and refused
    "2022-13-02T00:00 is no moment of the calendar", a value never typed, under another rule (tester 206 F6). The language
    is the query's as sent (the page is Spanish unless ``lang=en``)."""
    typed = request.query_params.get("as_of")
    lang = request.query_params.get("lang")
    if lang == "en" and (refused := slashed_cut_refused(typed, lang)):
        raise query_refused("as_of", "year_first_date", refused, typed)


@dashboard.get("/dashboard", tags=["dashboard"], response_class=HTMLResponse, openapi_extra=SIGNED_IN,
               dependencies=[Depends(refuse_a_slashed_cut_on_the_english_page)])
def get_dashboard(
    request: Request,
    reporting: ReportingDep,
    viewer: Viewer,
    lang: Annotated[Language, Query(description="The page's language: `es` (default) or `en`.")] = "es",
    as_of: Annotated[
        LimaMoment | None,
        BeforeValidator(cut_from_form),  # the page's form sends dd/mm/aaaa hh:mm (Spanish), or an empty field
        Query(description="Count only what was recorded up to this time, figures and alerts alike (the alerts counted to its day); "
              "without a zone, Lima time. ISO 8601 (the English page's form sends yyyy-mm-dd hh:mm), or dd/mm/aaaa hh:mm as "
              "the Spanish page's form sends it: with `lang=en` a date with slashes is refused (422 `year_first_date`), "
              "being read day or month first. The form's date and hh:mm count up to the end of that minute (hh:mm:59.999999), "
              "its date alone up to the end of that day; a day or minute under way counts up to now; an ISO moment (with its `T`) "
              "is taken as it is. Not later than now."),
    ] = None,
    by: Annotated[
        Grouping | None,
        Query(description="Break the indicators down by `zone` (the default, for the chart; a focal point's by district) or `district`."),
    ] = None,
    days: DaysQuery = OVERDUE_AFTER_DAYS,
    within_days: WithinDaysQuery = TERM_ENDS_WITHIN_DAYS,
) -> HTMLResponse:
    """The programme's dashboard as a web page: indicators by phase, targets against actuals, charts and follow-up alerts, for the signed-in person's municipalities."""
    if viewer is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/dashboard/sign-in?" + urlencode({"next": here}), status_code=303)  # type: ignore[return-value]
    scope = viewer_scope(viewer)
    query = {k: v for k, v in request.query_params.items() if k in ("lang", "as_of", "by", "days", "within_days") and v}
    now = reporting.now()
    cut = cut_applied(as_of, request.query_params.get("as_of"), now)  # today's date typed: up to now, not refused as to come
    check_typed_cut_has_come(cut, request.query_params.get("as_of"), now)  # tomorrow's: refused, named as typed

    def page() -> str:
        report = reporting.indicators(as_of=cut, by=by or "zone", scope=scope)  # as_of: Lima time when typed without an offset
        found = reporting.alerts(
            days=days, within_days=within_days, scope=scope, as_of=cut, ruos=ruos_alerted(viewer), deliberation=deliberation_shown(viewer)
        )
        targets = reporting.targets(as_of=cut, scope=scope, report=report)
        return render_dashboard(report, found, lang, query, now, as_of, targets, viewer=viewer.subject)  # the field shows as_of as typed

    if as_of is not None:
        return HTMLResponse(page(), headers=FORM_PAGE_HEADERS)
    # The latest page, the same for the same viewer, scope and query until a fact is applied, a lead records a target
    # or a sign-off, or the minute it states changes.
    minute = now.astimezone(LIMA).strftime("%Y-%m-%d %H:%M")
    key = ("dashboard", lang, by, days, within_days, tuple(sorted(query.items())), viewer.subject, scope, minute, reporting.records_revision())
    return HTMLResponse(reporting.readmodel.cached(key, page), headers=FORM_PAGE_HEADERS)


def refuse_the_dashboards_browser_in_html(api: FastAPI) -> None:
    """A refused ``GET /dashboard`` asked by a browser (``Accept`` naming ``text/html``, as its form's submission does) is
    answered as a web page in the page's language (:func:`~services.reporting.dashboard.refusal_page`), with the status
    and headers (``Retry-After``) of the problem+json every other client gets: a cut typed as 31/02/2022 showed the
    programme's staff a JSON document, and a signed-in account without the dashboard's permission got a 403 in JSON with
    no way to sign out (tester 37 F9). Call it once :func:`~shared.web.base_api` has installed the error handlers."""
    for family in (RequestValidationError, AuthError, *STATUS_OF):
        as_json = api.exception_handlers[family]

        async def handler(request: Request, exc: Exception, as_json: Callable[..., Any] = as_json) -> Response:
            answer = as_json(request, exc)
            if inspect.isawaitable(answer):
                answer = await answer
            if request.url.path != "/dashboard" or "text/html" not in request.headers.get("accept", ""):
                return answer  # type: ignore[no-any-return]
            lang = request.query_params.get("lang")
            page = refusal_page(json.loads(answer.body), lang if lang in TRANSLATIONS else "es", request.query_params.get("as_of"))  # type: ignore[arg-type]
            kept = {k: v for k, v in answer.headers.items() if k not in ("content-type", "content-length")}
            return HTMLResponse(page, status_code=answer.status_code, headers={**kept, **FORM_PAGE_HEADERS})

        api.add_exception_handler(family, handler)


# The app ---------------------------------------------------------------------------------


def create_app(
    settings: ReportingSettings | None = None,
    today: Clock = today_in_lima,
    application: Callable[..., Reporting] = Reporting,
) -> FastAPI:
    """Build the reporting service (run with ``uvicorn --factory``); ``today`` is the clock (Lima's date by default)."""
    runtime = bootstrap(settings, today=today, application=application)
    api = base_api(
        runtime,
        title="osv-platform reporting",
        description="Phase-by-phase indicators of the programme, projected from every service's events; targets against actuals, "
        "phase sign-offs with their restatements, and the donors' formats (IATI 2.03, HXL).",
        page_policies={"/dashboard": DASHBOARD_POLICY, "/dashboard/sign-out": SIGN_OUT_POLICY},
    )
    reporting_settings: ReportingSettings = runtime.settings  # type: ignore[assignment]
    api.state.sign_in = DashboardSignIn(reporting_settings.auth, reporting_settings.public_url)
    for router in (indicators, donors, operations, dashboard):
        api.include_router(router)
    install_audit(api, runtime)  # the sign-offs' store is hash-chained: /chain and /verify, as on every service
    refuse_the_dashboards_browser_in_html(api)
    refuse_unknown_query_parameters(api)
    # The leads' two commands: dry runs as on every service, inside base_api's body guard. No Idempotency-Key:
    # setting the same targets again, or signing the same figures from the same cut, records nothing.
    dryrun.install(api)
    dryrun.refuse_once_let_in(api)
    keep_guards_outermost(api)
    install_cors(api, reporting_settings.cors_allow_origins)
    return api
