"""The dashboard renders whatever the indicators' JSON holds, as the funding–reporting contract shapes it.

Reporting's indicator engine is being rebuilt to the contract; these tests
feed the page the contract's full JSON through a fake indicator source, so
every indicator name, every nested breakdown and the zone breakdown are
shown before the engine produces them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.reporting.application import Reporting
from services.reporting.dashboard import cell
from services.reporting.translations import CONTRACT_INDICATORS, TRANSLATIONS, translator
from shared.clock import LIMA
from tests.integration.test_dashboard_page import rows
from tests.support.clients import application_of, service_client

pytestmark = pytest.mark.timeout(60)



def contract_indicators(scale: int) -> dict[str, Any]:
    """One phase's (or the total's) indicators with every name of the contract, numbers scaled."""
    by_nationality = {"VE": 3 * scale, "PE": 2 * scale, "other": scale}
    by_sex = {"F": 4 * scale, "M": 2 * scale}
    return {
        "osvs_identified": 10 * scale,
        "osvs_registered_ruos": 4 * scale,
        "osvs_registered_ruos_cumulative": 6 * scale,
        "ruos_registration_rate": "0.6000",
        "ruos_applications_observed": {"total": 2 * scale, "by_reason": {"id_document_not_accepted": scale, "missing_document": scale}},
        "agents_of_change": {"total": 6 * scale, "new": 4 * scale, "by_nationality": by_nationality, "by_sex": by_sex},
        "projects_active": 3 * scale,
        "projects_new": 2 * scale,
        "beneficiaries_direct": {
            "total": 120 * scale,
            "by_nationality": {"VE": 70 * scale, "PE": 50 * scale},
            "by_sex": {"F": 80 * scale, "M": 40 * scale},
            "aggregate": 20 * scale,
        },
        "attendances": {"total": 190 * scale, "by_nationality": {"VE": 110 * scale, "PE": 80 * scale}, "by_sex": {"F": 120 * scale, "M": 70 * scale}},
        "beneficiaries_indirect": 400 * scale,
        "osvs_supported": {"total": 5 * scale, "first_time": 4 * scale, "repeat": scale},
        "seed_funds_granted_pen": f"{15000 * scale}.00",
        "goods_delivered_pen": "2500.50",
        "disbursed_pen": "9000.00",
        "seed_funds_granted_usd": "0.00",
        "goods_delivered_usd": "0.00",
        "disbursed_usd": "0.00",
        "murals": 2 * scale,
        "public_spaces_recovered": scale,
        "members_joined": {"total": 6 * scale, "by_nationality": by_nationality},
        "members_left": {"total": scale, "by_nationality": {"VE": scale}},
        "members_left_by_reason": {"moved_abroad": scale},
        "osvs_contact_lost": 0,
        "osvs_dissolved": 0,
        "follow_up_meetings": 12 * scale,
        "actions_pending_at_phase_end": 3,
        "participatory_budget": {"submitted": 2, "accepted": 1, "funded": 1, "amount_funded_pen": "30000.00", "amount_funded_usd": "0.00"},
        "osvs_with_a_new_indicator": 7,
    }


def contract_report(as_of: datetime | None, by: str | None) -> dict[str, Any]:
    phases = [
        {"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-09-30", "indicators": contract_indicators(1)},
        {"code": "F2", "name": "Fase 2", "starts_on": "2021-10-01", "ends_on": "2022-06-30", "indicators": contract_indicators(2)},
    ]
    report: dict[str, Any] = {"phases": phases, "total": contract_indicators(3), "as_of": as_of.isoformat() if as_of else None}
    if by:
        groups = {
            "Lima Norte": {"phases": phases, "total": contract_indicators(2)},
            "Lima Este": {"phases": phases, "total": contract_indicators(1)},
        }
        report["breakdown"] = {"by": by, "groups": groups}
    return report


class FakeReporting(Reporting):
    """Reporting whose indicators answer the contract's JSON, remembering what they were asked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[tuple[datetime | None, str | None]] = []

    def indicators(self, as_of: datetime | None = None, by: str | None = None, scope: Any = None) -> dict[str, Any]:  # type: ignore[override]
        self.asked.append((as_of, by))
        return contract_report(as_of, by)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with service_client("reporting", tmp_path, today=lambda: date(2022, 7, 1), application=FakeReporting) as client:
        yield client


@pytest.fixture
def source(client: TestClient) -> FakeReporting:
    return application_of(client)  # type: ignore[no-any-return]


def test_every_indicator_of_the_contract_has_a_label_in_both_languages_and_the_languages_say_the_same_things() -> None:
    assert set(TRANSLATIONS["es"]) == set(TRANSLATIONS["en"])
    for name in CONTRACT_INDICATORS:
        assert f"indicator.{name}" in TRANSLATIONS["es"]
    assert set(contract_indicators(1)) - set(CONTRACT_INDICATORS) == {"osvs_with_a_new_indicator"}


def test_the_page_shows_every_indicator_of_the_json_labelled_and_an_unknown_one_by_its_name(client: TestClient) -> None:
    for lang in ("es", "en"):
        table = rows(client.get(f"/dashboard?lang={lang}").text, "data-indicator")
        shown = [n for n in CONTRACT_INDICATORS if not n.endswith("_usd")]  # dollars were never used here: no rows of zeros
        assert list(table)[: len(shown)] == shown
        t = translator(lang)  # type: ignore[arg-type]
        assert [cells[0] for cells in table.values()] == [t(f"indicator.{n}") for n in shown] + ["osvs_with_a_new_indicator"]


def test_nested_breakdowns_money_and_rates_read_as_text(client: TestClient) -> None:
    table = rows(client.get("/dashboard").text, "data-indicator")
    assert table["osvs_supported"][1:] == [
        "Total: 5 Por primera vez: 4 Nuevamente: 1",
        "Total: 10 Por primera vez: 8 Nuevamente: 2",
        "Total: 15 Por primera vez: 12 Nuevamente: 3",
    ]
    assert table["agents_of_change"][3] == "Total: 18 Nuevos en la fase: 12 Por nacionalidad: Venezuela: 9 Perú: 6 Otros: 3 Por sexo: Mujeres: 12 Hombres: 6"
    assert table["ruos_applications_observed"][1] == "Total: 2 Por motivo: Documento de identidad no aceptado: 1 Falta un documento: 1"
    assert table["seed_funds_granted_pen"][1:] == ["S/ 15,000.00", "S/ 30,000.00", "S/ 45,000.00"]
    assert table["ruos_registration_rate"][1] == "60.0 %"
    assert table["participatory_budget"][1] == "Presentadas: 2 Aceptadas: 1 Financiadas: 1 Monto financiado (S/): S/ 30,000.00"


def test_a_participatory_budget_funded_in_dollars_shows_its_amount_in_every_cell_of_its_row() -> None:
    """Dollars of a participatory budget were counted in no figure (tester 208 F2); now their part is shown, in every
    phase once some phase has any (a phase of none says US$ 0.00), and left out while none was funded in dollars."""
    from services.reporting.dashboard import indicator_rows

    def budget(pen: str, usd: str) -> dict[str, Any]:
        return {"participatory_budget": {"submitted": 1, "accepted": 1, "funded": 1, "amount_funded_pen": pen, "amount_funded_usd": usd}}

    phases = [{"code": "F1", "indicators": budget("30000.00", "0.00")}, {"code": "F2", "indicators": budget("0.00", "15000.00")}]
    table = rows(f"<table>{indicator_rows(phases, budget('30000.00', '15000.00'), translator('en'))}</table>", "data-indicator")
    assert table["participatory_budget"][1:] == [
        "Submitted: 1 Accepted: 1 Funded: 1 Amount funded (PEN): S/ 30,000.00 Amount funded (USD): US$ 0.00",
        "Submitted: 1 Accepted: 1 Funded: 1 Amount funded (PEN): S/ 0.00 Amount funded (USD): US$ 15,000.00",
        "Submitted: 1 Accepted: 1 Funded: 1 Amount funded (PEN): S/ 30,000.00 Amount funded (USD): US$ 15,000.00",
    ]


def test_a_groups_table_shows_the_currencies_and_money_parts_of_the_programme_table_at_zero_where_it_has_none() -> None:
    """Decided group by group, a zone without dollars had no row for them (tester 247 F6): the programme decides."""
    from services.reporting.dashboard import indicator_rows, programme_sets

    def figures(usd: str) -> dict[str, Any]:
        budget = {"submitted": 1, "accepted": 1, "funded": 1, "amount_funded_pen": "0.00", "amount_funded_usd": usd}
        return {"disbursed_usd": usd, "disbursed_pen": "0.00", "participatory_budget": budget}

    programme = programme_sets([{"code": "F1", "indicators": figures("500.00")}], figures("500.00"))
    group = ([{"code": "F1", "indicators": figures("0.00")}], figures("0.00"))
    table = rows(f"<table>{indicator_rows(*group, translator('en'), programme)}</table>", "data-indicator")
    assert table["disbursed_usd"][1:] == ["US$ 0.00", "US$ 0.00"]
    assert table["participatory_budget"][1].endswith("Amount funded (USD): US$ 0.00")
    assert "disbursed_pen" not in table and "Amount funded (PEN)" not in table["participatory_budget"][1]  # none anywhere
    alone = rows(f"<table>{indicator_rows(*group, translator('en'))}</table>", "data-indicator")
    assert "disbursed_usd" not in alone  # a table without the programme's decides for itself, as the programme's does


def test_as_of_and_by_reach_the_indicators_and_the_page_states_the_cut(client: TestClient, source: FakeReporting) -> None:
    html = client.get("/dashboard?as_of=2022-03-01T17:00:00Z&by=district").text
    assert source.asked == [(datetime(2022, 3, 1, 17, 0, tzinfo=timezone.utc), "district")]
    assert "Cifras registradas hasta el 2022-03-01 12:00 (Lima)." in html
    assert "Indicadores por grupo: Por distrito" in html


def test_the_chart_by_zone_draws_each_group_of_the_breakdown(client: TestClient, source: FakeReporting) -> None:
    html = client.get("/dashboard?lang=en").text
    assert source.asked == [(None, "zone")]
    assert '<title id="chart-by-zone-title">By zone</title>' in html
    assert "<title>Lima Norte — OSVs identified: 20</title>" in html
    assert "<title>Lima Este — Direct beneficiaries: people reached (each person once): 120</title>" in html
    assert "<title>Total — Indirect beneficiaries: 1200</title>" in html
    assert "<title>Members who joined — Other: 3</title>" in html
    for group in ("Lima Norte", "Lima Este"):
        assert f"<summary>{group}</summary>" in html


def test_a_value_the_page_cannot_parse_is_shown_as_it_came() -> None:
    t = translator("en")
    assert str(cell("seed_funds_granted_pen", "n/a", t)) == "n/a"
    assert str(cell("osvs_identified", None, t)) == "—"
    assert str(cell("members_left_by_reason", {}, t)) == "—"
    assert str(cell("custom", {"<b>": 1}, t)) == '<ul class="breakdown"><li><span class="key">&lt;b&gt;:</span> 1</li></ul>'


def test_the_pages_form_cuts_at_a_lima_time_and_an_empty_cut_means_everything(client: TestClient, source: FakeReporting) -> None:
    html = client.get("/dashboard?lang=es&as_of=2022-03-01T12:00&by=zone").text
    client.get("/dashboard?lang=es&as_of=&by=zone")
    assert source.asked == [(datetime(2022, 3, 1, 17, 0, tzinfo=timezone.utc), "zone"), (None, "zone")]
    # an ISO link cuts at that minute's start: the field shows the moment so, not "01/03/2022 12:00", which the next
    # Aplicar would read as the minute's end (tester 252 F3)
    assert 'name="as_of" lang="es" value="2022-03-01T12:00:00"' in html


def test_the_cut_field_speaks_the_pages_date_format_and_the_server_reads_it(client: TestClient, source: FakeReporting) -> None:
    """A browser's own date field follows the browser's locale (mm/dd/yyyy), not the page's: the field is text."""
    es = client.get("/dashboard?as_of=01/03/2022 12:00").text  # up to the end of the minute typed (tester 247 F4)
    client.get("/dashboard?as_of=1/3/2022")  # no time: up to the end of the day
    en = client.get("/dashboard?lang=en&as_of=2022-03-01 12:00").text
    lima_noon = datetime(2022, 3, 1, 17, 0, 59, 999999, tzinfo=timezone.utc)  # 12:00:59.999999 in Lima
    day_end = datetime(2022, 3, 2, 4, 59, 59, 999999, tzinfo=timezone.utc)  # 23:59:59.999999 in Lima
    assert source.asked == [(lima_noon, "zone"), (day_end, "zone"), (lima_noon, "zone")]
    assert 'type="text" name="as_of" lang="es" value="01/03/2022 12:00" placeholder="dd/mm/aaaa hh:mm"' in es
    assert 'type="text" name="as_of" lang="en" value="2022-03-01 12:00" placeholder="yyyy-mm-dd hh:mm"' in en
    refused = client.get("/dashboard?as_of=31/02/2022")
    assert refused.status_code == 422 and "as_of" in refused.text
    # The English page's format as its hint and pattern offer it: the time left out, one-digit parts (tester 37d F3).
    for typed in ("2022-03-01", "2022-3-1 23:59"):
        assert client.get("/dashboard", params={"lang": "en", "as_of": typed}).status_code == 200, typed
    assert source.asked[-2:] == [(day_end, "zone"), (day_end, "zone")]
    assert client.get("/dashboard", params={"lang": "en", "as_of": "2022-02-30"}).status_code == 422


def test_the_english_page_refuses_a_cut_with_slashes_which_its_reader_may_have_meant_month_first(
    client: TestClient, source: FakeReporting
) -> None:
    """02/01/2022 on the English page was read as 2 January, where a reader from the US meant 1 February (tester 203 F5)."""
    refused = client.get("/dashboard", params={"lang": "en", "as_of": "02/01/2022 10:00"})
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    [error] = refused.json()["errors"]
    assert error["field"] == "as_of" and error["rule"] == "year_first_date"
    assert "yyyy-mm-dd hh:mm" in error["message"] and "2022-01-02 10:00 or 2022-02-01 10:00" in error["message"]
    unambiguous = client.get("/dashboard", params={"lang": "en", "as_of": "31/12/2021"}).json()["errors"][0]
    assert unambiguous["rule"] == "year_first_date" and "such as 2021-12-31:" not in unambiguous["message"]
    assert unambiguous["message"].endswith("such as 2021-12-31")  # the one day it can be
    assert source.asked == []  # nothing was counted

    # A browser gets the page's refusal in English, with the hint on writing the cut.
    page = client.get("/dashboard", params={"lang": "en", "as_of": "02/01/2022"}, headers=BROWSER).text
    assert '<li data-field="as_of" data-rule="year_first_date"><strong>Cut at what was recorded up to (date and time)</strong>' in page
    assert "Write the cut as yyyy-mm-dd hh:mm" in page

    # The Spanish page keeps its dd/mm/aaaa, and the English one its year-first dates.
    assert client.get("/dashboard", params={"as_of": "02/01/2022 10:00"}).status_code == 200
    assert client.get("/dashboard", params={"lang": "en", "as_of": "2022-02-01 10:00"}).status_code == 200
    assert client.get("/dashboard", params={"as_of": "2022-02-01 10:00"}).status_code == 200  # year first: read one way only (README)
    ten = [datetime(2022, 1, 2, 15, 0, 59, 999999, tzinfo=timezone.utc), datetime(2022, 2, 1, 15, 0, 59, 999999, tzinfo=timezone.utc)]
    assert source.asked == [(ten[0], "zone")] + [(ten[1], "zone")] * 2


def test_every_slashed_cut_on_the_english_page_is_refused_as_slashed_even_one_that_is_no_day_read_day_first(
    client: TestClient, source: FakeReporting
) -> None:
    """02/13/2022 and 31/02/2022 on the English page were refused as "2022-13-02T00:00 is no moment of the calendar"
    (iso_8601_moment): a value never typed, under the wrong rule, read day first before the page's language was asked (tester 206 F6)."""
    for typed, days in (("02/13/2022", "such as 2022-02-13"), ("13/02/2022 9:30", "such as 2022-02-13 09:30"), ("31/02/2022", None)):
        refused = client.get("/dashboard", params={"lang": "en", "as_of": typed})
        assert refused.status_code == 422, typed
        [error] = refused.json()["errors"]
        assert error["field"] == "as_of" and error["rule"] == "year_first_date", (typed, error)
        assert error["message"].startswith(f"{typed} is written with slashes") and "yyyy-mm-dd hh:mm" in error["message"]
        if days:
            assert error["message"].endswith(days), error["message"]
        else:  # no day either way: none is named as if it might be one
            assert "such as" not in error["message"] and error["message"].endswith("it is no day of the calendar")
        assert "2022-13-02" not in error["message"] and "2022-02-31" not in error["message"]
        page = client.get("/dashboard", params={"lang": "en", "as_of": typed}, headers=BROWSER).text
        assert 'data-field="as_of" data-rule="year_first_date"' in page
    assert source.asked == []  # nothing was counted

    # A form's date that is no moment is named as typed, on either page, under the moment's own rule.
    for lang, typed, example in (("es", "31/02/2022", "31/12/2021 18:00"), ("en", "2022-02-30", "2021-12-31 18:00"),
                                 ("es", "10/01/2022 24:00", "31/12/2021 18:00")):
        [error] = client.get("/dashboard", params={"lang": lang, "as_of": typed}).json()["errors"]
        assert error["rule"] == "iso_8601_moment" and error["message"].startswith(f"{typed} is no moment of the calendar"), error
        assert error["message"].endswith(f"such as {example}")
    assert source.asked == []


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
"""What a browser's form submission asks for."""


def test_a_cut_the_browser_sends_that_is_no_moment_is_answered_as_a_page_naming_the_field_not_as_json(
    client: TestClient, source: FakeReporting
) -> None:
    refused = client.get("/dashboard?as_of=31/02/2022", headers=BROWSER)
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("text/html")
    assert refused.headers["content-security-policy"].startswith("default-src 'none'")  # the dashboard's own policy still
    page = refused.text
    assert '<html lang="es">' in page and "El tablero no puede mostrarse con esta consulta" in page
    assert '<li data-field="as_of" data-rule="iso_8601_moment"><strong>Cortar en lo registrado hasta (fecha y hora)</strong>: ' in page
    assert "no es una fecha y hora del calendario" in page and "is no moment" not in page  # in the page's language
    assert "dd/mm/aaaa hh:mm" in page and '<a id="back-to-dashboard" href="/dashboard">Volver al tablero</a>' in page
    assert '<p id="cut-typed">Escribió: «31/02/2022».</p>' in page  # what was typed, named (tester 259 F5)
    to_come = client.get("/dashboard", params={"as_of": "2099-12-08", "lang": "en"}, headers=BROWSER).text
    assert "You typed: “2099-12-08”." in to_come and 'data-rule="not_in_future"' in to_come
    assert source.asked == []  # nothing was counted

    english = client.get("/dashboard?lang=en&by=zones&as_of=2022-13-01", headers=BROWSER).text
    assert '<html lang="en">' in english and '<a id="back-to-dashboard" href="/dashboard?lang=en">Back to the dashboard</a>' in english
    assert 'data-field="by" data-rule="literal_error"><strong>Breakdown</strong>' in english and 'data-field="as_of"' in english
    assert "<script" not in client.get("/dashboard?as_of=<script>alert(1)</script>", headers=BROWSER).text  # the typed text escaped

    later = client.get("/dashboard?as_of=01/01/2099", headers=BROWSER)  # refused by the application, not the query's shape
    assert later.status_code == 422 and 'data-rule="not_in_future"' in later.text


def test_a_cut_typed_in_the_form_that_is_still_to_come_is_refused_naming_it_as_typed_not_as_read(
    client: TestClient, source: FakeReporting
) -> None:
    """Tester 252 F4: `GET /dashboard?as_of=08/12/2026` (tomorrow) in JSON said "as_of 2026-12-08T23:59:59.999999-05:00 is
    later than now", the end of the day it was read as, a moment nobody typed."""
    for lang, typed in (("es", "01/01/2099"), ("es", "1/1/2099 9:30"), ("en", "2099-01-01"), ("en", "2099-1-1 09:30")):
        refused = client.get("/dashboard", params={"lang": lang, "as_of": typed})
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json", (typed, refused.text)
        [error] = refused.json()["errors"]
        assert error["field"] == "as_of" and error["rule"] == "not_in_future", error
        assert error["message"].startswith(f"as_of {typed} is later than now ("), error  # as typed, then the service's now
        assert "2099-01-01T" not in error["message"], error
        # Now as the form writes it, Lima's day and minute (tester 259 F4: "later than now (2026-12-07T08:48:44+00:00)"
        # for "07/12/2026 04:30", typed at 03:48 in Lima).
        now = datetime.now(LIMA)
        assert re.search(r"later than now \((\d{2}/\d{2}/\d{4} \d{2}:\d{2})\)", error["message"]), error
        shown = datetime.strptime(re.search(r"now \(([^)]*)\)", error["message"]).group(1), "%d/%m/%Y %H:%M").replace(tzinfo=LIMA)
        assert abs((shown - now).total_seconds()) < 120, (shown, now)
    assert source.asked == []  # refused before anything is counted
    # A moment a client sent is named as it reads, offset and all.
    [error] = client.get("/dashboard", params={"as_of": "2099-01-01T10:00:00-05:00"}).json()["errors"]
    assert error["rule"] == "not_in_future" and error["message"].startswith("as_of 2099-01-01T10:00:00-05:00 is later than now")


def test_a_refused_query_is_told_in_the_pages_language(client: TestClient, source: FakeReporting) -> None:
    """The Spanish page showed the API's English messages ("is later than now", "Input should be 'zone' or 'district'")."""
    said = {
        query: re.findall(r'data-rule="([^"]+)"><strong>[^<]*</strong>: ([^<]*)</li>', client.get(f"/dashboard?{query}", headers=BROWSER).text)
        for query in ("as_of=01/01/2099", "by=zona", "days=0", "days=99999", "days=siete", "as_of=01/01/1900", "group=norte")
    }
    assert said == {
        "as_of=01/01/2099": [("not_in_future", "es posterior a ahora: las cifras de un momento que aún no llega cambiarían a medida "
                                               "que se registren los hechos")],
        "by=zona": [("literal_error", "no es una de las opciones del formulario")],
        "days=0": [("at_least_1", "debe ser al menos 1")],
        "days=99999": [("at_most_3650", "debe ser como mucho 3,650")],
        "days=siete": [("int_parsing", "debe ser un número entero, por ejemplo 10")],
        "as_of=01/01/1900": [("moment_within_bounds", "debe estar entre el 01/01/1970 y el 30/12/9999")],
        "group=norte": [("known_parameter", "el tablero no tiene un parámetro con este nombre")],
    }
    days = client.get("/dashboard?days=0", headers=BROWSER).text  # named as the page names it (tester 135 F6)
    assert "<strong>Días sin reunión de seguimiento antes de una alerta</strong>" in days
    english = client.get("/dashboard?lang=en&days=0", headers=BROWSER).text
    assert 'data-rule="at_least_1"><strong>' in english and "must be at least 1</li>" in english

    api = client.get("/dashboard?as_of=31/02/2022")  # any other client: problem+json, as every route answers
    assert api.status_code == 422 and api.headers["content-type"] == "application/problem+json"
    assert api.json()["errors"][0]["rule"] == "iso_8601_moment"
    other = client.get("/indicators?as_of=bogus", headers=BROWSER)  # only the dashboard is a page
    assert other.status_code == 422 and other.headers["content-type"] == "application/problem+json"


def test_people_reached_and_attendances_are_labelled_apart_and_the_aggregate_share_is_said(client: TestClient) -> None:
    es = rows(client.get("/dashboard").text, "data-indicator")
    assert es["beneficiaries_direct"][0] == "Personas beneficiarias directas (cada persona una vez)"
    assert "De ellas, de actividades que solo dieron totales: 20" in es["beneficiaries_direct"][1]
    assert es["attendances"][0] == "Asistencias a actividades (una por persona y actividad)"
    en = rows(client.get("/dashboard?lang=en").text, "data-indicator")
    assert "Of which from activities that gave totals only: 20" in en["beneficiaries_direct"][1]
    assert en["attendances"][0] == "Attendances at activities (one per person and activity)"


def test_new_in_the_phase_stands_beside_active_and_the_notes_explain_each_definition(client: TestClient) -> None:
    es = rows(client.get("/dashboard").text, "data-indicator")
    assert (es["projects_active"][0], es["projects_new"][0]) == ("Proyectos activos en la fase", "Proyectos nuevos en la fase")
    assert "Nuevos en la fase: 4" in es["agents_of_change"][1]
    for lang, words in (("es", "cada persona cuenta una vez"), ("en", "each person counts once")):
        html = client.get(f"/dashboard?lang={lang}").text
        assert 'data-note="beneficiaries_direct"' in html and words in html
        assert 'data-note="active_new"' in html and 'data-note="osvs_supported"' in html
