"""Reporting over HTTP: indicators as of a moment and by zone, the evidence behind every figure, and exports.

Funding, registry and engagement are stood in for by hand-built CloudEvents
fed to the read model's real handler (``apply``), as the NATS consumer would.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from services.reporting.domain.indicators import INDICATORS, ZONES, flatten, rate
from tests.integration.test_reporting_as_of import START, cloudevent, programme_log
from tests.support.clients import application_of, service_client

pytestmark = [pytest.mark.timeout(300), pytest.mark.service("reporting"), pytest.mark.settings(checkpoint_every=50)]



@pytest.fixture
def store(database_url: str) -> str:
    """Every story here runs on SQLite, then on PostgreSQL."""
    return database_url


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_a_report_as_of_a_moment_before_a_late_correction_shows_the_figure_as_it_was_then(client: TestClient) -> None:
    activity = {"activity_id": "act-1", "osv_id": "osv-1", "held_on": "2021-03-01", "occurred_on": "2021-03-01", "kind": "mural_painting",
                "district": "Comas", "zone": "Lima Norte", "indirect_beneficiaries": 40, "grant_id": None,
                "direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": 12}], "outputs": [{"kind": "mural", "count": 1}]}
    application_of(client).readmodel.apply([
        cloudevent("funding", 1, "PhaseOpened", "p1", at(0), phase_id="p1", code="F1", name="Fase 1", starts_on="2021-01-01",
                   ends_on="2021-06-30", occurred_on="2021-01-01"),
        cloudevent("registry", 1, "OSVMapped", "osv-1", at(1), osv_id="osv-1", district="Comas", zone="Lima Norte",
                   mapped_on="2021-01-05", occurred_on="2021-01-05"),
        cloudevent("engagement", 1, "ActivityReported", "act-1", at(2), **activity),
        # Months later the activity is found to be a mistake, and an OSV mapped in March is entered late.
        cloudevent("engagement", 2, "ActivityWithdrawn", "act-1", at(2000), activity_id="act-1", osv_id="osv-1", held_on="2021-03-01",
                   withdrawn_on="2021-04-20", occurred_on="2021-04-20"),
        cloudevent("registry", 2, "OSVMapped", "osv-2", at(2001), osv_id="osv-2", district="Ate", zone="Lima Este",
                   mapped_on="2021-03-10", occurred_on="2021-03-10"),
    ])

    before = client.get("/indicators", params={"as_of": stamp(at(1999))})
    assert before.status_code == 200, before.text
    assert before.json()["as_of"] == stamp(at(1999))
    f1 = before.json()["phases"][0]["indicators"]
    assert (f1["beneficiaries_direct"]["total"], f1["murals"], f1["osvs_identified"]) == (12, 1, 1)

    after = client.get("/indicators", params={"as_of": "2021-12-31T00:00:00-05:00"}).json()
    f1 = after["phases"][0]["indicators"]
    assert (f1["beneficiaries_direct"]["total"], f1["murals"], f1["osvs_identified"]) == (0, 0, 2)
    assert after["as_of"] == "2021-12-31T05:00:00Z"
    now = client.get("/indicators").json()
    assert now["as_of"] is None and now["phases"] == after["phases"]

    before_phase = client.get("/indicators", params={"as_of": stamp(at(0) - timedelta(seconds=1))}).json()
    assert before_phase["phases"] == [] and before_phase["total"]["osvs_identified"] == 0


@pytest.mark.parametrize("as_of", ["yesterday", "2021-02-30T00:00:00Z", "2021-03-01T10:00:00"])
def test_an_as_of_that_is_not_an_rfc3339_moment_is_refused_naming_as_of(tmp_path: Path, as_of: str) -> None:
    with service_client("reporting", tmp_path) as client:
        for path in ("/indicators", "/indicators/export.csv", "/indicators/osvs_identified/evidence"):
            response = client.get(path, params={"as_of": as_of})
            assert response.status_code == 422, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert [e["field"] for e in response.json()["errors"]] == ["as_of"]


def load(client: TestClient, count: int = 700) -> list[dict[str, Any]]:
    events = programme_log(count, seed=11)
    for start in range(0, len(events), 40):
        application_of(client).readmodel.apply(events[start:start + 40])
    return events


def summed(events: list[dict[str, Any]]) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for event in events:
        for part, value in event["adds"].items():
            sums[part] += Decimal(str(value))
    return sums


def test_the_evidence_of_every_figure_adds_up_to_it_in_every_phase_zone_and_in_total(client: TestClient) -> None:
    load(client)
    report = client.get("/indicators", params={"by": "zone"}).json()
    checked = 0
    for group in (None, *ZONES):
        block = report if group is None else report["breakdown"]["groups"][group]
        for code, figures in [*((p["code"], p["indicators"]) for p in block["phases"]), ("total", block["total"])]:
            for indicator in INDICATORS:
                params = {"phase": code, **({"group": group} if group else {})}
                response = client.get(f"/indicators/{indicator.name}/evidence", params=params)
                assert response.status_code == 200, response.text
                body = response.json()
                figure = figures[indicator.name]
                assert body["value"] == figure
                sums = summed(body["events"])
                if indicator.name == "ruos_registration_rate":
                    assert rate(int(sums["numerator"]), int(sums["denominator"])) == figure
                else:
                    parts = flatten(figure)
                    assert {p: Decimal(str(v)) for p, v in parts.items() if Decimal(str(v))} == {p: v for p, v in sums.items() if v}
                checked += bool(body["events"])
                for cited in body["events"]:
                    assert set(cited) == {"event_id", "source", "type", "subject", "occurred_on", "recorded_at", "adds"}
                    assert cited["type"] in indicator.types
    assert checked > 150  # most figures are made of some events


def test_the_evidence_of_a_withdrawn_activity_shows_it_and_its_withdrawal_taking_it_back(client: TestClient) -> None:
    activity = {"activity_id": "act-9", "osv_id": "osv-1", "held_on": "2021-03-01", "occurred_on": "2021-03-01", "kind": "fair",
                "district": "Breña", "zone": "Lima Centro", "indirect_beneficiaries": 40, "grant_id": None,
                "direct_beneficiaries": [{"nationality": "PE", "sex": "M", "count": 5}], "outputs": []}
    application_of(client).readmodel.apply([
        cloudevent("engagement", 1, "ActivityReported", "act-9", at(2), **activity),
        cloudevent("engagement", 2, "ActivityWithdrawn", "act-9", at(3), activity_id="act-9", osv_id="osv-1", held_on="2021-03-01",
                   withdrawn_on="2021-04-20", occurred_on="2021-04-20"),
    ])
    body = client.get("/indicators/beneficiaries_direct/evidence", params={"group": "brena"}).json()
    assert body["group"] == "Breña" and body["value"] == {"total": 0, "by_nationality": {}, "by_sex": {}}
    assert [(e["type"], e["adds"]["total"]) for e in body["events"]] == [("ActivityReported", 5), ("ActivityWithdrawn", -5)]


def test_evidence_of_an_unknown_indicator_or_phase_is_not_found_and_of_an_unknown_place_is_refused(client: TestClient) -> None:
    load(client, 200)
    for path, params in (("/indicators/happiness/evidence", {}), ("/indicators/murals/evidence", {"phase": "F9"})):
        response = client.get(path, params=params)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/indicators/murals/evidence", params={"phase": "F1"}).status_code == 200
    refused = client.get("/indicators/murals/evidence", params={"group": "Lima Oeste"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0] == {"field": "group", "rule": "zone_or_district", "message": refused.json()["detail"]}


def rows_of(report: dict[str, Any]) -> dict[tuple[str, str, str, str], str]:
    """The JSON answer, flattened the way the exports lay it out."""
    out = {}
    blocks = [("all", report), *report.get("breakdown", {}).get("groups", {}).items()]
    for group, block in blocks:
        for code, figures in [*((p["code"], p["indicators"]) for p in block["phases"]), ("total", block["total"])]:
            for name, figure in figures.items():
                for part, value in flatten(figure).items():
                    out[(code, name, "" if part == "value" else part, group)] = str(value)
    return out


def test_the_csv_and_xlsx_exports_read_back_as_the_same_figures_and_state_their_as_of(client: TestClient) -> None:
    events = load(client, 500)
    as_of = events[300]["time"]
    params = {"as_of": as_of, "by": "zone"}
    expected = rows_of(client.get("/indicators", params=params).json())
    assert len(expected) > 400  # one phase known by then, five groups

    response = client.get("/indicators/export.csv", params=params)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    first, *lines = response.text.splitlines()
    assert first.startswith(f"# osv-platform indicators; as_of={as_of};")
    table = list(csv.DictReader(lines))
    assert list(table[0]) == ["phase", "indicator", "breakdown", "group", "value", "baseline", "target", "share_of_target"]
    assert {(r["phase"], r["indicator"], r["breakdown"], r["group"]): r["value"] for r in table} == expected
    assert len(table) == len(expected)

    response = client.get("/indicators/export.xlsx", params=params)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == ["as_of", as_of, None, None, None, None, None, None]
    assert cells[2] == ["phase", "indicator", "breakdown", "group", "value", "baseline", "target", "share_of_target"]

    def same(value: Any, text: str) -> bool:
        return Decimal(str(value)) == Decimal(text) if not isinstance(value, str) else value == text

    read = {(p, i, b or "", g): v for p, i, b, g, v, *_ in cells[3:]}
    assert read.keys() == expected.keys()
    assert all(same(read[key], expected[key]) for key in expected)


def test_without_as_of_the_exports_say_they_are_the_latest(client: TestClient) -> None:
    load(client, 100)
    assert client.get("/indicators/export.csv").text.startswith("# osv-platform indicators; as_of=latest; generated_at=")
    sheet = load_workbook(io.BytesIO(client.get("/indicators/export.xlsx").content)).active
    assert sheet["A1"].value == "as_of" and sheet["B1"].value == "latest"
    assert datetime.fromisoformat(sheet["B2"].value.replace("Z", "+00:00")) <= datetime.now(timezone.utc)
