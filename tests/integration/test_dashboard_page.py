"""The dashboard page over HTTP, on reporting's real read model, with NATS out of reach.

The read model is filled through its consumer handler with the events of a
programme year (tests/support/reporting_feed.py); the page is read as HTML.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from shared.clock import LIMA, today_in_lima
from tests.support.clients import application_of
from tests.support.reporting_feed import ReportingFeed, a_programme_year

pytestmark = pytest.mark.timeout(60)



class Cells(HTMLParser):
    """The text of each table row's header and cells, keyed by the row's ``data-*`` attribute.

    The first row with a key wins: the main phase table comes before the breakdown's.
    """

    def __init__(self, attribute: str) -> None:
        super().__init__()
        self.attribute = attribute
        self.rows: dict[str, list[str]] = {}
        self._row: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        key = dict(attrs).get(self.attribute)
        if tag == "tr" and key is not None and key not in self.rows:
            self._row = key
            self.rows[key] = []
        elif self._row is not None and tag in ("th", "td"):
            self._depth += 1
            self.rows[self._row].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None
        elif tag in ("th", "td") and self._row is not None:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._depth:
            self.rows[self._row][-1] = " ".join((self.rows[self._row][-1] + " " + data).split())


def rows(html: str, attribute: str) -> dict[str, list[str]]:
    parser = Cells(attribute)
    parser.feed(html)
    return parser.rows


def headings(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h[12][^>]*>(.*?)</h[12]>", html, re.S)]


@pytest.fixture
def client(reporting: TestClient) -> TestClient:
    """Reporting, its read model holding a programme year."""
    a_programme_year(ReportingFeed(application_of(reporting).readmodel, today_in_lima()))
    return reporting


def test_the_dashboard_speaks_spanish_by_default_and_offers_english(client: TestClient) -> None:
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="es">' in page.text
    assert headings(page.text) == ["Tablero del programa OSV", "Indicadores por fase", "Gráficos", "Alertas de seguimiento"]
    assert re.search(r'<a id="language-switch" href="/dashboard\?lang=en"[^>]*>English</a>', page.text)

    english = client.get("/dashboard?lang=en")
    assert '<html lang="en">' in english.text
    assert headings(english.text) == ["OSV programme dashboard", "Indicators by phase", "Charts", "Follow-up alerts"]
    assert re.search(r'href="/dashboard\?lang=es"[^>]*>Español</a>', english.text)


def test_the_phase_table_shows_each_indicator_per_phase_and_in_total_with_breakdowns_readable(client: TestClient) -> None:
    html = client.get("/dashboard").text
    table = rows(html, "data-indicator")
    assert table["osvs_identified"] == ["OSV identificadas", "3", "1", "4"]
    assert table["osvs_registered_ruos"] == ["OSV inscritas en el RUOS en la fase", "0", "1", "1"]
    assert table["members_joined"][2] == "Total: 3 Por nacionalidad: Perú: 1 Venezuela: 2 Por sexo: Mujeres: 3"
    english = rows(client.get("/dashboard?lang=en").text, "data-indicator")  # by sex as agents of change (tester 184 F5)
    assert english["members_joined"][2] == "Total: 3 By nationality: Peru: 1 Venezuela: 2 By sex: Women: 3"
    total = client.get("/indicators").json()["total"]
    # every indicator of the JSON but the money of a currency never used (rows of zeros)
    assert set(table) == {name for name in total if not (name.endswith(("_usd", "_pen")) and float(total[name]) == 0)}
    assert not any(name.endswith("_usd") for name in table)


def test_the_page_states_when_its_figures_were_cut(client: TestClient) -> None:
    assert "Cifras al " in client.get("/dashboard").text
    assert "Figures as of " in client.get("/dashboard?lang=en").text


def test_the_charts_are_inline_svg_with_titles_and_their_numbers_as_text(client: TestClient) -> None:
    html = client.get("/dashboard").text
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    phases = re.search(r'<svg [^>]*id="chart-phases".*?</svg>', html, re.S)
    assert phases is not None
    assert '<title id="chart-phases-title">Fases comparadas</title>' in phases.group()
    assert "<title>F1 · Fase 1 — OSV identificadas: 3</title>" in phases.group()
    nationality = re.search(r'<svg [^>]*id="chart-nationality".*?</svg>', html, re.S)
    assert nationality is not None and "<title>Miembros que ingresaron — Venezuela: 2</title>" in nationality.group()


def test_the_alerts_name_the_overdue_osv_the_ending_board_and_the_municipalities_without_focal_point(client: TestClient) -> None:
    html = client.get("/dashboard").text
    overdue = [cells[0] for cells in rows(html, "data-osv").values()]
    assert "Olla Común Las Flores" in overdue
    assert "Comedor Popular Santa Rosa" not in overdue and "Asociación Vecinal El Sol" not in overdue
    assert "Club de Madres Nueva Esperanza" in overdue  # its board's term ends in 30 days
    municipalities = rows(html, "data-municipality")
    assert set(municipalities) == {"150110", "150132"}
    assert municipalities["150132"] == ["Municipalidad Distrital de San Juan de Lurigancho", "Lima Este", "nunca"]


def test_the_alerts_name_the_grant_recorded_after_its_osvs_dissolution_with_its_money_in_the_pages_language(client: TestClient) -> None:
    dissolved_on, granted_on = ((today_in_lima() + timedelta(days=d)).isoformat() for d in (-250, -200))
    (spanish,) = rows(client.get("/dashboard").text, "data-fact").values()
    assert spanish == ["Asociación Vecinal El Sol", "Ate", dissolved_on, "Subvención otorgada", granted_on, "S/ 2,500.00"]
    (english,) = rows(client.get("/dashboard?lang=en").text, "data-fact").values()
    assert english[3] == "Grant made"
    assert "Recorded after the OSV&#39;s dissolution (1)" in client.get("/dashboard?lang=en").text


def test_the_alerts_name_the_grant_recorded_on_a_duplicate_after_its_merge_under_the_osv_that_stays_in_the_pages_language(
    reporting: TestClient,
) -> None:
    feed = ReportingFeed(application_of(reporting).readmodel, today_in_lima())
    survivor = feed.osv_mapped("Comedor Popular Santa Rosa", "San Juan de Lurigancho", "Lima Este", -300)
    duplicate = feed.osv_mapped("Comedor Santa Rosa", "Comas", "Lima Norte", -200)
    feed.publish("registry", "OSVMerged", feed.day(-10), osv_id=duplicate, into_osv_id=survivor, merged_on=feed.day(-10), district="Comas",
                 zone="Lima Norte", mapped_on=feed.day(-200))
    feed.granted(duplicate, "2500.00", -12)  # typed in after the merge, dated before it

    (spanish,) = rows(reporting.get("/dashboard").text, "data-merge-fact").values()
    assert spanish == ["Comedor Popular Santa Rosa (en su registro duplicado Comedor Santa Rosa)", "San Juan de Lurigancho", feed.day(-10),
                       "Subvención otorgada", feed.day(-12), "S/ 2,500.00"]
    english = reporting.get("/dashboard?lang=en").text
    (row,) = rows(english, "data-merge-fact").values()
    assert row[0] == "Comedor Popular Santa Rosa (on its duplicate record Comedor Santa Rosa)" and row[3] == "Grant made"
    assert "Recorded on a duplicate record after its merge (1)" in english
    assert re.search(r'data-alert="after-merge">.*?<span class="count">1</span> records entered on a duplicate record after its merge', english, re.S)


def test_a_long_list_of_records_after_dissolutions_is_cut_on_the_page_and_counted_whole(reporting: TestClient) -> None:
    """More than the page lists means something wholesale: the count says how many, and where to read them all."""
    feed = ReportingFeed(application_of(reporting).readmodel, today_in_lima())
    osvs = a_programme_year(feed)  # one grant after El Sol's dissolution
    for days_ago in range(100, 200):
        feed.meeting_held(osvs["Asociación Vecinal El Sol"], -days_ago)

    html = reporting.get("/dashboard").text

    assert len(rows(html, "data-fact")) == 100
    assert re.search(r'data-alert="after-dissolution">.*?<span class="count">101</span>', html, re.S)
    assert "Se muestran los primeros 100 de 101; GET /alerts los lista todos." in html
    assert len(reporting.get("/alerts").json()["recorded_after_dissolution"]) == 101


def test_the_alert_limits_of_the_page_can_be_changed(client: TestClient) -> None:
    html = client.get("/dashboard?days=400&within_days=10").text
    assert "OSV sin reunión de seguimiento hace más de 400 días" in html
    assert 'data-osv="' not in html


def test_the_stylesheet_is_served_by_reporting_itself(client: TestClient) -> None:
    css = client.get("/dashboard/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "<link rel=\"stylesheet\" href=\"/dashboard/dashboard.css\">" in client.get("/dashboard").text


def test_every_dashboard_page_names_an_icon_asked_of_no_server_which_its_policy_lets_in(client: TestClient) -> None:
    """tester 178 F9: without an icon of its own each page had the browser ask reporting for /favicon.ico (404, logged as an
    error by Chromium on every page); the sign-out pages' policy, ``default-src 'none'``, would block even a data: one."""
    html = {"Accept": "text/html"}
    for answer in (
        client.get("/dashboard"),
        client.get("/dashboard?as_of=31/02/2022", headers=html),
        client.get("/dashboard/sign-out?lang=en"),
        client.post("/dashboard/sign-out"),
        client.get("/dashboard/signed-out"),
    ):
        assert answer.headers["content-type"].startswith("text/html"), answer.request.url
        assert '<link rel="icon" href="data:,">' in answer.text, answer.request.url
        policy = dict(d.strip().split(" ", 1) for d in answer.headers["content-security-policy"].split(";") if " " in d.strip())
        assert "data:" in policy.get("img-src", policy.get("default-src", "data:")).split(), (answer.request.url, policy)
    assert client.get("/favicon.ico").status_code == 404  # nothing served there: no page asks for it


def test_the_root_sends_people_to_the_dashboard(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/dashboard"


@pytest.mark.parametrize(
    ("query", "field", "rule"),
    [
        ("lang=fr", "lang", "literal_error"),
        ("by=country", "by", "literal_error"),
        ("as_of=yesterday", "as_of", "iso_8601_moment"),
        ("as_of=99999999999", "as_of", "iso_8601_moment"),
        ("as_of=9999-12-31T23:59:59-14:00", "as_of", "moment_within_bounds"),
        ("days=0", "days", "at_least_1"),
        ("days=3651", "days", "at_most_3650"),
    ],
)
def test_a_bad_query_is_refused_naming_the_field(client: TestClient, query: str, field: str, rule: str) -> None:
    response = client.get(f"/dashboard?{query}")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [(field, rule)]


def test_the_alerts_open_with_a_summary_of_counts_and_each_list_is_collapsed(client: TestClient) -> None:
    html = client.get("/dashboard").text
    summary = re.search(r'<ul id="alerts-summary".*?</ul>', html, re.S)
    assert summary is not None
    counts = dict(re.findall(r'data-alert="([a-z-]+)">.*?<span class="count">(\d+)</span>', summary.group(), re.S))
    assert counts == {"overdue": "1", "boards-ended": "0", "boards-expiring": "1", "after-dissolution": "1", "after-merge": "0", "focal-points": "2"}
    for list_id in ("overdue", "board-terms-list", "after-dissolution-list", "after-merge-list", "focal-points-list"):
        details = re.search(rf'<details id="{list_id}"[^>]*>', html)
        assert details is not None and "open" not in details.group()
    assert html.index('<details id="overdue"') < html.index('id="overdue-meetings"') < html.index("</details>", html.index('<details id="overdue"'))


def test_the_alerts_are_cut_at_as_of_like_the_figures(reporting: TestClient) -> None:
    """The alerts read only what was recorded by ``as_of`` and count days to that day, not to today."""
    feed = ReportingFeed(application_of(reporting).readmodel, today_in_lima())
    osvs = a_programme_year(feed)
    cut = datetime.now(timezone.utc)
    feed.meeting_held(osvs["Olla Común Las Flores"], -1)  # recorded after the cut
    feed.focal_point_assigned("150132", -1)

    now = rows(reporting.get("/dashboard").text, "data-osv")
    assert osvs["Olla Común Las Flores"] not in now
    then_html = reporting.get("/dashboard", params={"as_of": cut.isoformat()}).text
    then = rows(then_html, "data-osv")
    assert then[osvs["Olla Común Las Flores"]][0] == "Olla Común Las Flores"
    assert "150132" in rows(then_html, "data-municipality")
    assert "150132" not in rows(reporting.get("/dashboard").text, "data-municipality")

    earlier = (datetime.now(timezone.utc) - timedelta(days=400)).isoformat()  # before anything was recorded
    html = reporting.get("/dashboard", params={"as_of": earlier}).text
    assert f"Alertas al {(datetime.fromisoformat(earlier).astimezone(LIMA).date()).isoformat()}." in html
    assert 'data-osv="' not in html


def test_numbered_phase_names_are_shown_in_the_pages_language_and_other_names_as_given(client: TestClient) -> None:
    english = client.get("/dashboard?lang=en").text
    assert "F1 · Phase 1" in english and "F2 · Phase 2" in english and "Fase" not in english
    spanish = client.get("/dashboard").text
    assert "F1 · Fase 1" in spanish and "Phase 1" not in spanish
    from services.reporting.translations import phase_name

    assert phase_name("Fase 12", "en") == "Phase 12" and phase_name("phase 3", "es") == "Fase 3"
    assert phase_name("Piloto Comas", "en") == "Piloto Comas"


def test_the_zones_osv_counts_and_people_reached_are_drawn_on_scales_of_their_own(client: TestClient) -> None:
    html = client.get("/dashboard?lang=en").text
    osvs = re.search(r'<svg [^>]*id="chart-by-zone".*?</svg>', html, re.S)
    people = re.search(r'<svg [^>]*id="chart-by-zone-people".*?</svg>', html, re.S)
    assert osvs is not None and people is not None
    assert "OSVs identified" in osvs.group() and "Direct beneficiaries" not in osvs.group()
    assert "Direct beneficiaries" in people.group() and "OSVs identified" not in people.group()


def test_long_chart_labels_wrap_onto_lines_and_are_never_cut() -> None:
    from services.reporting.charts import Chart, Series, bar_chart

    long = "Personas beneficiarias directas (cada persona una vez) en la fase"
    svg = str(bar_chart(Chart("c", "t", [long, "Corto"], [Series("s", [3, 1])])))
    lines = re.findall(r"<tspan [^>]*>([^<]*)</tspan>", svg)
    assert " ".join(lines[:-1]) == long and lines[-1] == "Corto"
    assert all(len(line) <= 28 for line in lines) and "…" not in svg


def test_a_phase_not_started_is_left_out_of_the_charts_not_drawn_as_zeros() -> None:
    """tester 178 F5: F3, starting tomorrow, showed "—" in the phase table but 0 for every headline in "Fases comparadas"
    and in the beneficiaries chart (and their data tables): its days have not happened, so it has no figure to draw."""
    from services.reporting.charts import beneficiaries_chart, phases_chart

    figures = {"osvs_identified": 3, "agents_of_change": {"total": 2}, "beneficiaries_direct": {"total": 40}, "beneficiaries_indirect": 90}
    nothing = {"osvs_identified": 0, "agents_of_change": {"total": 0}, "beneficiaries_direct": {"total": 0}, "beneficiaries_indirect": 0}
    report = {
        "phases": [
            {"code": "F2", "name": "Fase 2", "status": "in_progress", "indicators": figures},
            {"code": "F3", "name": "Fase 3", "status": "not_started", "indicators": nothing},
        ],
        "total": figures,
    }
    phases = phases_chart(report, lambda key: key)
    assert phases is not None and list(phases.categories) == ["F2 · Fase 2"]
    assert "F3" not in str(phases.svg) and all(not category.startswith("F3") for category, _ in phases.rows)
    people = beneficiaries_chart(report, lambda key: key)
    assert people is not None and list(people.categories) == ["F2 · Fase 2", "ui.total"]
    assert "F3" not in str(people.svg)
    # with no phase started, the phases' chart has nothing to draw (the page says so); the total is still drawn
    ahead = {**report, "phases": [report["phases"][1]]}
    assert phases_chart(ahead, lambda key: key) is None
    people = beneficiaries_chart(ahead, lambda key: key)
    assert people is not None and list(people.categories) == ["ui.total"]


def test_a_date_or_minute_typed_in_the_cut_field_counts_all_of_it(reporting: TestClient) -> None:
    """The form cut at the start of what was typed: a day typed left that day out, and 23:54 a fact recorded at 23:54:12
    (tester 247 F4). It counts to the end of the day or minute, and today's date, typed, counts up to now."""
    today = today_in_lima()
    feed = ReportingFeed(application_of(reporting).readmodel, today)
    yesterday = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=LIMA)
    feed.recorded_at = yesterday - timedelta(days=1)
    osvs = a_programme_year(feed)
    feed.recorded_at = yesterday.replace(hour=23, minute=54, second=12)
    feed.member_joined(osvs["Club de Madres Nueva Esperanza"], "PE", -1)

    def joined(as_of: str, lang: str = "es") -> str:
        page = reporting.get("/dashboard", params={"as_of": as_of, "lang": lang})
        assert page.status_code == 200, page.text
        return rows(page.text, "data-indicator")["members_joined"][2].split(" ")[1]  # F2's total

    day = f"{yesterday:%d/%m/%Y}"
    assert joined(f"{day} 23:53") == "3"
    assert joined(f"{day} 23:54") == "4"  # recorded at 23:54:12, within the minute typed
    assert joined(day) == "4"  # the whole day
    assert joined(f"{yesterday:%Y-%m-%d}", "en") == "4"
    assert joined(f"{yesterday:%Y-%m-%d}T23:54:00-05:00") == "3"  # a client's moment is taken as it is
    page = reporting.get("/dashboard", params={"as_of": day}).text
    assert f"Cifras registradas hasta el {yesterday:%Y-%m-%d} inclusive (Lima)." in page
    assert f'name="as_of" lang="es" value="{day}"' in page

    # Today's date typed, and this minute, count everything recorded so far: they were refused as in the future.
    feed.recorded_at = None
    feed.member_joined(osvs["Club de Madres Nueva Esperanza"], "VE", 0)
    assert joined(f"{today:%d/%m/%Y}") == "5"
    assert joined(datetime.now(LIMA).strftime("%d/%m/%Y %H:%M")) == "5"
    tomorrow = reporting.get("/dashboard", params={"as_of": f"{today + timedelta(days=1):%d/%m/%Y}"})
    assert tomorrow.status_code == 422 and tomorrow.json()["errors"][0]["rule"] == "not_in_future"  # a day wholly to come


def test_a_currency_the_programme_table_shows_is_shown_in_every_groups_table_at_zero_where_none_was_paid(client: TestClient) -> None:
    """A zone without seed funds had no row for them, where the programme table and the zone that had them showed one: a
    reader could not tell "nothing paid" from "not tracked" (tester 247 F6). A currency never used stays out of every table."""
    html = client.get("/dashboard", params={"by": "zone"}).text
    programme = {name for name in rows(html, "data-indicator") if name.endswith(("_pen", "_usd"))}
    assert programme == {"seed_funds_granted_pen"}  # soles granted; no goods, no disbursement, no dollars
    assert rows(html, "data-indicator")["seed_funds_granted_pen"][-1] == "S/ 2,500.00"
    groups = dict(re.findall(r'<table id="group-\d+" class="indicators">\s*<caption>(.*?)</caption>(.*?)</table>', html, re.S))
    assert {"Lima Este", "Lima Norte"} <= set(groups)
    for zone, table in groups.items():
        money = {name: cells[-1] for name, cells in rows(table, "data-indicator").items() if name.endswith(("_pen", "_usd"))}
        assert set(money) == programme, zone
        assert money["seed_funds_granted_pen"] == ("S/ 2,500.00" if zone == "Lima Este" else "S/ 0.00"), zone
