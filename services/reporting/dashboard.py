"""The programme's dashboard page (``GET /dashboard``), rendered on the server.

The page is rendered (Jinja2 templates, plain CSS, charts as inline SVG) from
the same JSON ``GET /indicators`` answers, so it needs no script, no build
step and no network. It speaks Spanish by default and English with
``?lang=en``; every word on it comes from :mod:`.translations`. It shows
whatever indicators the JSON holds: a name the table does not know is shown
as it is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from pydantic_core import PydanticCustomError

from services.reporting import charts
from services.reporting.domain.alerts import Alerts, OverdueMeeting
from services.reporting.domain.indicators import flatten
from services.reporting.translations import CONTRACT_INDICATORS, TRANSLATIONS, Language, phase_name, translator
from shared.clock import LIMA
from shared.errors import MomentInFutureError

DASHBOARD_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
"""The page's content security policy: its own stylesheet, inline SVG (and :data:`NO_ICON`), its own filter form; no
script, nothing from elsewhere, never framed. The page has no inline style or script for the policy to block."""

NO_ICON = '<link rel="icon" href="data:,">'
"""Every page's icon: an empty one, asked of no server. Without it the browser asks reporting for ``/favicon.ico``, which
is 404, and Chromium logs that as an error on every dashboard page (tester 178 F9). Each page's policy lets ``data:``
images in."""

FORM_PAGE_HEADERS = {"Referrer-Policy": "same-origin"}
"""A page holding the sign-out form takes ``same-origin`` in place of every answer's ``no-referrer``: under
``no-referrer`` Chromium sends ``Origin: null`` with the form's POST, which the sign-out cannot tell from another
site's (a sandboxed page's) where the browser sends no ``Sec-Fetch-Site`` (plain HTTP to an address other than
loopback). ``same-origin`` still sends nothing to another site."""

SIGN_OUT_POLICY = "default-src 'none'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
"""The policy of ``/dashboard/sign-out``'s pages: a form posting to itself, nothing loaded but :data:`NO_ICON`, never
framed (a page that signs out under a click must not be put under another site's)."""

# Values in the phase table


def _money(text: str, symbol: str) -> str:
    try:
        return f"{symbol} {Decimal(text):,.2f}"
    except InvalidOperation:
        return text


SYMBOLS = {"PEN": "S/", "USD": "US$"}


def money(amount: str | None, currency: str | None) -> str:
    """An amount of a fact (a decimal string) with its currency's symbol (``S/ 1,500.00``); ``—`` for none."""
    if amount is None:
        return "—"
    return _money(amount, SYMBOLS.get(currency or "", currency or ""))


def _percent(text: str) -> str:
    try:
        return f"{Decimal(text) * 100:.1f} %"
    except InvalidOperation:
        return text


def _key(key: str, t: Callable[..., str]) -> str:
    """A breakdown's key: a part of the indicator (``total``, ``by_sex``…) or a code (``VE``, ``moved_abroad``…)."""
    return t(f"part.{key}") if f"part.{key}" in TRANSLATIONS["es"] else t(f"code.{key}")


@functools.lru_cache(maxsize=1024)
def _key_html(key: str, t: Callable[..., str]) -> str:
    """:func:`_key`, escaped: the same few keys recur in every cell of a page (one ``t`` per page)."""
    return str(escape(_key(key, t)))


def cell(name: str, value: Any, t: Callable[..., str]) -> Markup:
    """One indicator's value as HTML: numbers as text, breakdowns as nested lists with translated keys."""
    return Markup(_cell(name, value, t))


def _cell(name: str, value: Any, t: Callable[..., str], left_out: frozenset[str] = frozenset()) -> str:
    """:func:`cell`'s HTML as a plain string, every text escaped (built with f-strings: a page has thousands of cells); a
    breakdown without its parts ``left_out`` (:func:`_parts_never_moved`)."""
    if value is None or (isinstance(value, Mapping | list) and not value):
        return "—"
    if isinstance(value, int) and not name.endswith(("_pen", "_usd", "_rate")):
        return str(value)  # a count: digits and a sign, nothing to escape (most of a page's thousands of cells)
    if isinstance(value, Mapping):
        items = "".join(
            f'<li><span class="key">{_key_html(k, t)}:</span> {_cell(k, v, t)}</li>' for k, v in value.items() if k not in left_out
        )
        return f'<ul class="breakdown">{items}</ul>'
    if isinstance(value, list):
        return ", ".join(_cell(name, v, t) for v in value)
    text = str(value)
    if name.endswith("_pen"):
        return str(escape(_money(text, "S/")))
    if name.endswith("_usd"):
        return str(escape(_money(text, "US$")))
    if name.endswith("_rate"):
        return f'<span title="{escape(text)}">{escape(_percent(text))}</span>'
    return str(escape(text))


def _money_never_moved(name: str, indicator_sets: tuple[Mapping[str, Any], ...]) -> bool:
    """A money indicator of a currency (``*_usd``, ``*_pen``) that is zero everywhere: nothing was ever paid in it."""
    if not name.endswith(("_usd", "_pen")):
        return False
    try:
        return all(Decimal(str(s[name])) == 0 for s in indicator_sets if name in s)
    except InvalidOperation:
        return False


def _parts_never_moved(name: str, indicator_sets: tuple[Mapping[str, Any], ...]) -> frozenset[str]:
    """The money parts of a breakdown (``participatory_budget``'s ``amount_funded_usd``) zero everywhere: left out of its
    cells, as an indicator of a currency never used is left out of the table (:func:`_money_never_moved`)."""
    figures = [s[name] for s in indicator_sets if isinstance(s.get(name), Mapping)]
    parts = {part for figure in figures for part in figure if part.endswith(("_usd", "_pen"))}
    return frozenset(part for part in parts if _money_never_moved(part, tuple(figures)))


def ordered_names(*indicator_sets: Mapping[str, Any], programme: tuple[Mapping[str, Any], ...] | None = None) -> list[str]:
    """The indicators the JSON holds: the contract's in its order, then any others by name; a currency never used in the
    ``programme``'s indicator sets (by default, these) is left out."""
    moved_in = indicator_sets if programme is None else programme
    present = {name for s in indicator_sets for name in s if not _money_never_moved(name, moved_in)}
    return [n for n in CONTRACT_INDICATORS if n in present] + sorted(present - set(CONTRACT_INDICATORS))


def programme_sets(phases: list[Mapping[str, Any]], total: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    """The programme table's indicator sets, its total's and each phase's: what decides a currency's rows in every table."""
    return (total, *(phase["indicators"] for phase in phases))


def indicator_rows(
    phases: list[Mapping[str, Any]], total: Mapping[str, Any], t: Callable[..., str], programme: tuple[Mapping[str, Any], ...] | None = None
) -> Markup:
    """The body rows of a phase table (``dashboard.html``'s ``phase_table``): an indicator a row, a phase a cell (``—``
    for one not started), then the total; written here, as the cells are, not in the template's loops (a page has a
    table for the programme and one per zone or district, their cells the most of its rendering). A group's table is
    given the ``programme``'s indicator sets (:func:`programme_sets`): a currency, or a breakdown's money part, is shown
    or left out for the programme as a whole, S/ 0.00 in a group that has none. Decided group by group, a zone without
    a disbursement had no row at all, which a reader could not tell from a figure not tracked (tester 247 F6)."""
    rows = []
    indicator_sets = programme_sets(phases, total)
    moved_in = indicator_sets if programme is None else programme
    for name in ordered_names(*indicator_sets, programme=moved_in):
        left_out = _parts_never_moved(name, moved_in)
        cells = "".join(
            "      <td>—</td>\n" if phase.get("status") == "not_started"
            else f"      <td>{_cell(name, phase['indicators'].get(name), t, left_out)}</td>\n"
            for phase in phases
        )
        rows.append(
            f'    <tr data-indicator="{escape(name)}">\n      <th scope="row">{escape(t("indicator." + name))}</th>\n{cells}'
            f'      <td class="total">{_cell(name, total.get(name), t, left_out)}</td>\n    </tr>\n'
        )
    return Markup("".join(rows))


def overdue_rows(overdue: Iterable[OverdueMeeting], t: Callable[..., str]) -> Markup:
    """The overdue meetings' table rows (``dashboard.html``'s ``#overdue-meetings``): an OSV a row, written here as the
    phase tables' are (:func:`indicator_rows`): most of a programme's OSVs may be overdue, thousands of rows."""
    never = escape(t("ui.never"))
    rows = []
    for osv in overdue:
        met = (
            osv.last_met_on.isoformat() if osv.last_met_on
            else f'{never} ({escape(t("alerts.mapped_on_note", day=osv.counted_from.isoformat()))})'
        )
        rows.append(
            f'      <tr data-osv="{escape(osv.osv_id)}">\n'
            f'        <th scope="row">{escape(osv.name)}</th><td>{escape(osv.district)}</td><td>{escape(osv.zone)}</td>\n'
            f"        <td>{met}</td>\n"
            f'        <td class="number">{escape(osv.days_without_meeting)}</td>\n      </tr>\n'
        )
    return Markup("".join(rows))


# The page

AFTER_DISSOLUTION_SHOWN = 100
"""Facts recorded after a dissolution the page lists at most (by OSV name, then date); its count is of all of them, and
``GET /alerts`` lists every one. A handful is usual: more means something wholesale (an import typed in after the
dissolutions were), and a page of thousands of rows would serve no one."""
AFTER_MERGE_SHOWN = AFTER_DISSOLUTION_SHOWN
"""Facts recorded on a record after its merge the page lists at most, as :data:`AFTER_DISSOLUTION_SHOWN`."""

_templates = Environment(
    loader=PackageLoader("services.reporting", "templates"), autoescape=select_autoescape(), trim_blocks=True, lstrip_blocks=True
)


CUT_FORMATS: dict[Language, tuple[str, str, str]] = {
    "es": ("%d/%m/%Y %H:%M", "dd/mm/aaaa hh:mm", r"\d{1,2}/\d{1,2}/\d{4}( \d{1,2}:\d{2})?"),
    "en": ("%Y-%m-%d %H:%M", "yyyy-mm-dd hh:mm", r"\d{4}-\d{1,2}-\d{1,2}( \d{1,2}:\d{2})?"),
}
"""The cut field's format in each language: how the page writes it, the placeholder, and the pattern the browser
checks. A plain text field, because a browser's own date field follows the browser's locale (mm/dd/yyyy on an
English-speaking machine), not the page's. :func:`cut_from_form` reads both back; the English page refuses a
slashed date (:func:`slashed_cut_refused`), which its reader may have meant month first."""

_DAY_FIRST = re.compile(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]+(\d{1,2}):(\d{2}))?\s*")
_YEAR_FIRST = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})(?: +(\d{1,2}):(\d{2}))?\s*")
"""The English page's ``yyyy-mm-dd[ hh:mm]``, as its field's pattern takes it (one-digit month, day or hour too)."""


def slashed_cut_refused(text: Any, lang: Language) -> str | None:
    """Why ``text``, a cut written with slashes (``dd/mm/yyyy[ hh:mm]`` as the Spanish page takes it), is refused on the
    English page, which writes dates year first; None when it is not one, or the page is Spanish. The English page read
    02/01/2022 as 2 January where its reader (one from the US, say) meant 1 February, and said nothing (tester 203 F5): a
    slashed date is read either way there, so it is refused, naming the format the page takes and the days it may be."""
    if lang == "es" or not isinstance(text, str) or not (found := _DAY_FIRST.fullmatch(text)):
        return None
    first, second, year, hour, minute = found.groups()
    time = f" {int(hour):02d}:{minute}" if hour else ""
    readings = []  # the days it may be, day first or month first
    for day, month in dict.fromkeys(((int(first), int(second)), (int(second), int(first)))):
        try:
            readings.append(date(int(year), month, day).isoformat() + time)
        except ValueError:
            continue
    written = (f"{text.strip()} is written with slashes, which this page does not read (day or month first?): write the cut "
               f"as {CUT_FORMATS[lang][1]}, Lima time, the time may be left out")
    if not readings:  # 31/02/2022: no day either way, and no day is named as if it might be one (tester 206 F6)
        return f"{written}; read day first or month first, it is no day of the calendar"
    return f"{written}; such as {' or '.join(readings)}"


def cut_from_form(text: Any) -> Any:
    """The ``as_of`` the page's form sends, as ISO 8601 for :data:`shared.schemas.LimaMoment`: ``dd/mm/aaaa[ hh:mm]``
    (Spanish page) becomes the END of what was typed, ``aaaa-mm-ddThh:mm:59.999999`` for a minute and
    ``aaaa-mm-ddT23:59:59.999999`` for a day alone, as does the English page's ``yyyy-mm-dd[ h:mm]``; any other ISO
    moment (a client's, ``2021-12-31T23:59:59-05:00``) passes as it is; an empty field is None (no cut). The form's
    cut was the start of what was typed: 31/12/2021 left that whole day out, and 06/12/2026 23:54 a fact recorded at
    23:54:12, where an auditor asking what the report said on a day means all of it (tester 247 F4); a cut that so
    falls after now is made now by the route (:func:`cut_applied`). A date of the form's that is no moment
    (31/02/2022, 2022-02-30, 10/01/2022 24:00) is refused here under the moment's own rule (``iso_8601_moment``, 422)
    naming it as typed: it was named as read, "2022-02-31T00:00", a value nobody typed (tester 206 F6). It reads
    without the page's language: the English page refuses a day-first date before it is read
    (:func:`services.reporting.api.refuse_a_slashed_cut_on_the_english_page`)."""
    if not isinstance(text, str):
        return text
    if not text.strip():
        return None
    if found := _DAY_FIRST.fullmatch(text):
        day, month, year, hour, minute = found.groups()
        example = "31/12/2021 18:00"
    elif found := _YEAR_FIRST.fullmatch(text):  # "2021-06-01" and "2021-6-1 9:00" were refused, though the page's hint offers them
        year, month, day, hour, minute = found.groups()
        example = "2021-12-31 18:00"
    else:
        return text.strip()
    try:
        datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0))
    except ValueError:
        raise PydanticCustomError(
            "iso_8601_moment", "{typed} is no moment of the calendar: a day that exists and an hour from 00 to 23, such as {example}",
            {"typed": text.strip(), "example": example},
        ) from None
    end = f"{int(hour):02d}:{minute}:59.999999" if hour else "23:59:59.999999"
    return f"{year}-{int(month):02d}-{int(day):02d}T{end}"


def typed_span(text: Any) -> timedelta | None:
    """How long the period the form's ``text`` names is, :func:`cut_from_form` cutting at its end: a day for a date
    alone, a minute for a date and ``hh:mm``; None for anything else (an ISO moment, which names no period)."""
    found = isinstance(text, str) and (_DAY_FIRST.fullmatch(text) or _YEAR_FIRST.fullmatch(text))
    if not found:
        return None
    return timedelta(minutes=1) if found[4] else timedelta(days=1)


def cut_applied(cut: datetime | None, typed: Any, now: datetime) -> datetime | None:
    """The cut the page counts to, ``cut`` read from the form's ``typed`` text (:func:`cut_from_form`): now when the day
    or minute typed has begun and its end is still to come (today's date, this minute), which the application would
    refuse as a moment in the future (422 ``not_in_future``), where its reader asked for everything so far. A day or
    minute wholly to come is left to be refused, as is any moment a client sent (no period typed)."""
    span = typed_span(typed)
    if cut is None or span is None or not cut - span < now < cut:
        return cut
    return now


def check_typed_cut_has_come(cut: datetime | None, typed: Any, now: datetime) -> None:
    """Raise :class:`~shared.errors.MomentInFutureError` (422 ``not_in_future``, ``as_of``) naming the form's ``typed``
    text when the day or minute it names is wholly to come (``cut``, read from it, after ``now``): the application's own
    refusal named the end it was read as, "as_of 2026-12-08T23:59:59.999999-05:00", which nobody typed (tester 252 F4).
    An ISO moment a client sent is left to the application, which names it as sent."""
    if cut is not None and cut > now and typed_span(typed) is not None:  # now as the form writes it, in Lima (tester 259 F4: UTC)
        raise MomentInFutureError("as_of", cut, now, said=str(typed).strip(), now_said=now.astimezone(LIMA).strftime("%d/%m/%Y %H:%M"))


def _ends_a_minute(moment: datetime) -> bool:
    return moment.second == 59 and moment.microsecond == 999999


def cut_in_field(cut: datetime | None, lang: Language) -> str:
    """The cut as the form's field shows it, in the page's format, to be read back the same: a day's end as the day alone
    (23:59 read back is that day's end too, but is not what was typed). A cut that ends no minute (an ISO moment a link
    sent, ``…T00:59``: that minute's start) shows as that moment in ISO, Lima time: shown as "07/12/2026 00:59" it was
    read back, on the next Aplicar, as that minute's end, other figures for the same text (tester 252 F3)."""
    if cut is None:
        return ""
    local = cut.astimezone(LIMA)
    if not _ends_a_minute(local):
        return local.replace(tzinfo=None).isoformat()
    if _ends_a_minute(local) and (local.hour, local.minute) == (23, 59):
        return local.strftime(CUT_FORMATS[lang][0].split(" ")[0])
    return local.strftime(CUT_FORMATS[lang][0])


REFUSAL_PAGE = (
    '<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>' + NO_ICON +
    '<link rel="stylesheet" href="/dashboard/dashboard.css"></head><body><main id="refused" data-status="{status}">'
    "<h1>{title}</h1>{detail}<ul>{errors}</ul>{hint}"
    '<div class="way">{way}</div></main></body></html>'
)
FIELD_LABELS = {"as_of": "ui.cut_at", "by": "ui.breakdown", "days": "ui.days_overdue", "within_days": "ui.days_term_ends"}
"""The form's own label of a query parameter the page's form sends; others are named as the API names them."""


def refusal_page(problem: Mapping[str, Any], lang: Language, typed: str | None = None) -> str:
    """A refused dashboard query as a web page in ``lang``, for a browser: the problem+json answer's ``detail`` and each
    of its ``errors`` (field, by the form's label when the form has it, and message; ``data-field`` and ``data-rule``
    carry the API's names), when the cut was refused what was ``typed`` for it (``#cut-typed``: the page named it
    nowhere, tester 259 F5) and a hint on writing it, and a link back to the dashboard; for a 403 (an account without
    the dashboard's permission), a way to sign out and in with another."""
    t = translator(lang)
    errors = [e for e in problem.get("errors") or () if isinstance(e, Mapping)]
    items = "".join(
        f'<li data-field="{escape(e.get("field", ""))}" data-rule="{escape(e.get("rule", ""))}"><strong>'
        f'{escape(t(FIELD_LABELS[e["field"]]) if e.get("field") in FIELD_LABELS else e.get("field", ""))}</strong>: {escape(_in_words(e, t, lang))}</li>'
        for e in errors
    )
    cut_refused = any(e.get("field") == "as_of" for e in errors)
    hint = f'<p id="cut-hint">{escape(t("ui.refused_cut"))}</p>' if cut_refused else ""
    if cut_refused and typed and typed.strip():
        hint = f'<p id="cut-typed">{escape(t("ui.typed_cut", typed=typed.strip()))}</p>' + hint
    back = "/dashboard" if lang == "es" else "/dashboard?" + urlencode({"lang": lang})
    way = f'<a id="back-to-dashboard" href="{escape(back)}">{escape(t("ui.back_to_dashboard"))}</a>'
    title = t("ui.refused")
    if problem.get("status") == 401:  # the sign-in did not complete (refused at the provider, or too slow): a way to try again
        title = t("ui.sign_in_failed")
        way = f'<a id="sign-in-again" href="{escape(back)}">{escape(t("ui.sign_in_again"))}</a>'
    if problem.get("status") == 403:  # signed in with an account the dashboard is not for: a way to another (a shared computer)
        title = t("ui.refused_account")  # not the query's fault, and the way back leads to the same refusal
        hint += f'<p id="role-hint">{escape(t("ui.refused_role"))}</p>'
        way = sign_out_form(lang)
    return REFUSAL_PAGE.format(
        lang=lang,
        title=escape(title),
        status=int(problem.get("status", 422)),
        detail="" if errors else f'<p id="refusal">{escape(_detail_in_words(problem, t))}</p>',
        errors=items,
        hint=hint,
        way=way,
    )


def sign_out_form(lang: Language) -> Markup:
    """The page's "Cerrar sesión" control in ``lang``: a button (``#sign-out``, looking like the link it was) posting to
    ``/dashboard/sign-out``, with the page's language in its query for the pages that follow. A form, not a link: a
    ``GET`` another site could send the browser to (a link, an image) signed the officer out. It sends no fields: every
    body the services take is JSON."""
    action = "/dashboard/sign-out" if lang == "es" else "/dashboard/sign-out?" + urlencode({"lang": lang})
    return Markup(
        f'<form class="sign-out" method="post" action="{escape(action)}">'
        f'<button id="sign-out" type="submit">{escape(translator(lang)("ui.sign_out"))}</button></form>'
    )


def _detail_in_words(problem: Mapping[str, Any], t: Callable[..., str]) -> str:
    """A refusal without errors in the page's language when the page knows it (a 403 naming the permission the account
    lacks: the Spanish page showed the API's English, tester 135 F6), else the API's ``detail``."""
    if problem.get("status") == 403 and problem.get("permission"):
        return t("refusal.forbidden", permission=problem["permission"])
    return str(problem.get("detail", ""))


_BOUND_RULE = re.compile(r"at_(least|most)_(\d+)")


def _in_words(error: Mapping[str, Any], t: Callable[..., str], lang: Language) -> str:
    """An error of a dashboard query in the page's language: the API's message is English, which the Spanish page showed
    as it was ("as_of 2099-01-01T00:00:00-05:00 is later than now…"); a rule the page's table words (``refusal.<rule>``,
    a bound by its number) is said in them, any other as the API said it."""
    rule = str(error.get("rule", ""))
    if bound := _BOUND_RULE.fullmatch(rule):
        return t(f"refusal.at_{bound[1]}", bound=f"{int(bound[2]):,}")  # as the page writes its numbers
    if f"refusal.{rule}" in TRANSLATIONS[lang]:
        return t(f"refusal.{rule}")
    return str(error.get("message", ""))


def _moment(value: datetime, exact: bool = False) -> str:
    """``2026-12-07 08:02 (Lima)``, with its seconds when it has any; ``exact``, a cut's, with its microseconds too when it
    has any (``08:02:21.499395``): the figures count the facts recorded by that instant, and the second alone gave others
    (tester 271 F1)."""
    local = value.astimezone(LIMA)
    if exact and local.microsecond:
        return local.strftime("%Y-%m-%d %H:%M:%S.%f") + " (Lima)"
    return local.strftime("%Y-%m-%d %H:%M:%S" if local.second or local.microsecond else "%Y-%m-%d %H:%M") + " (Lima)"


def stated_cut(as_of: datetime, t: Callable[..., str]) -> str:
    """The page's header on the cut its figures are as of: the end of a day or minute (the form's, :func:`cut_from_form`)
    as that day or minute, inclusive ("hasta el 2021-12-31 inclusive"), any other moment as it is, with its seconds when
    it has any and its microseconds when it has any. The end of a minute was stated as the minute ("hasta el 2021-12-31
    23:59"), which reads as its start."""
    local = as_of.astimezone(LIMA)
    if not _ends_a_minute(local):
        return t("ui.as_of", as_of=_moment(as_of, exact=True))
    through = local.strftime("%Y-%m-%d" if (local.hour, local.minute) == (23, 59) else "%Y-%m-%d %H:%M")
    return t("ui.as_of_through", as_of=through)


def render_dashboard(
    report: Mapping[str, Any],
    found: Alerts,
    lang: Language,
    query: Mapping[str, str],
    now: datetime,
    cut: datetime | None = None,
    targets: Mapping[str, Any] | None = None,
    viewer: str | None = None,
) -> str:
    """The dashboard's HTML for one indicators JSON and one set of alerts; ``query`` is the page's own, ``targets``
    ``GET /targets``'s answer, ``viewer`` who is signed in."""
    t = translator(lang)
    report = in_language(report, lang)
    as_of = report.get("as_of")
    if as_of:
        stated = stated_cut(datetime.fromisoformat(str(as_of).replace("Z", "+00:00")), t)
    else:
        stated = t("ui.as_of_now", now=_moment(now))
    breakdown = report.get("breakdown") or {}
    groups_heading = f"chart.by_{breakdown.get('by') or query.get('by') or 'zone'}"
    plotted = [
        ("chart.phases", charts.phases_chart(report, t)),
        (groups_heading, charts.groups_chart(report, t)),
        (groups_heading + "_people", charts.groups_people_chart(report, t)),
        ("chart.nationality", charts.nationality_chart(report, t)),
        ("chart.beneficiaries", charts.beneficiaries_chart(report, t)),
    ]
    phases = report.get("phases", [])
    total = report.get("total", {})
    return _templates.get_template("dashboard.html").render(
        t=t,
        lang=lang,
        indicator_rows=indicator_rows,
        programme=programme_sets(phases, total),
        overdue_rows=overdue_rows,
        stated=stated,
        query=query,
        cut_field=cut_in_field(cut, lang),
        cut_hint=t("ui.cut_hint"),
        cut_placeholder=CUT_FORMATS[lang][1],
        cut_pattern=CUT_FORMATS[lang][2],
        switch_url="/dashboard?" + urlencode({**query, "lang": t("ui.switch_lang")}),
        phases=phases,
        total=total,
        breakdown=breakdown,
        plotted=plotted,
        alerts=found,
        after_dissolution_shown=AFTER_DISSOLUTION_SHOWN,
        after_merge_shown=AFTER_MERGE_SHOWN,
        money=money,
        targets=target_rows(targets or {}, t),
        viewer=viewer,
        sign_out_form=sign_out_form(lang),
        no_icon=Markup(NO_ICON),
    )


def in_language(report: Mapping[str, Any], lang: Language) -> dict[str, Any]:
    """The indicators JSON with each phase's name (also in the breakdown's groups) in ``lang`` (:func:`phase_name`)."""

    def named(phases: Any) -> list[dict[str, Any]]:
        return [{**p, "name": phase_name(str(p.get("name", "")), lang)} for p in phases or []]

    out = {**report, "phases": named(report.get("phases"))}
    breakdown = report.get("breakdown")
    if isinstance(breakdown, Mapping) and isinstance(breakdown.get("groups"), Mapping):
        groups = {g: {**figures, "phases": named(figures.get("phases"))} for g, figures in breakdown["groups"].items()}
        out["breakdown"] = {**breakdown, "groups": groups}
    return out


def target_rows(targets: Mapping[str, Any], t: Callable[..., str]) -> list[dict[str, str]]:
    """One row per phase, indicator and part a target was set for: baseline, target, actual and share reached (as a percentage)."""
    out = []
    for phase in targets.get("phases", []):
        for row in phase["indicators"]:
            started = row["actual"] is not None  # a phase not started has no actual nor share: "—", not 0
            actual = flatten(row["actual"]) if started else {}
            for part, aim in row["target"].items():
                share = (row["share_reached"] or {}).get(part)
                out.append({
                    "phase": phase["code"],
                    "indicator": row["indicator"],
                    "part": "" if part == "value" else " · ".join(_key(k, t) for k in part.split(".")),
                    "baseline": str(row["baseline"].get(part, "—")),
                    "target": str(aim),
                    "actual": str(actual.get(part, 0)) if started else "—",
                    "share": "—" if share is None else _percent(share),
                })
    return out


@functools.cache
def stylesheet() -> str:
    """The page's CSS, read from the package once."""
    return resources.files("services.reporting").joinpath("static/dashboard.css").read_text("utf-8")
