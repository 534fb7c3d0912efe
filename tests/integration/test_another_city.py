"""A programme in another city gives every service its own districts file: reporting's zones are that file's.

A small table of Trujillo (La Libertad) stands in for another programme's
`REPORTING_DISTRICTS_FILE`: four districts in three zones, one of which no OSV
is mapped in. Reporting had Lima's four zones written in: every by-zone
breakdown, the donors' files and the dashboard showed four empty "Lima …"
groups, and the evidence of a zone figure the same API had answered was
refused 422, "neither a zone (Lima Centro, …)" (tester 314 F5).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.api import assert_problem, ok
from tests.support.clients import application_of, service_client
from tests.support.reporting_feed import ReportingFeed

TRUJILLO_ZONES = ["Trujillo Centro", "Trujillo Este", "Trujillo Norte"]


def trujillo_districts_file(directory: Path) -> Path:
    """A districts file of four districts of Trujillo, no Lima's, in three zones (Trujillo Este has no OSV here)."""
    rows = [
        {"ubigeo": "130101", "name": "Trujillo", "zone": "Trujillo Centro"},
        {"ubigeo": "130102", "name": "El Porvenir", "zone": "Trujillo Este"},
        {"ubigeo": "130105", "name": "La Esperanza", "zone": "Trujillo Norte", "aliases": ["Esperanza"]},
        {"ubigeo": "130103", "name": "Florencia de Mora", "zone": "Trujillo Norte"},
    ]
    path = directory / "trujillo.json"
    path.write_text(json.dumps({"area": "Provincia de Trujillo", "source": "a test's", "effective_on": "2020-01-01", "districts": rows}), "utf-8")
    return path


@pytest.fixture
def trujillo(tmp_path: Path) -> Iterator[TestClient]:
    """Reporting on the Trujillo table, with a phase and three OSVs: two in Trujillo Norte, one in the Cercado."""
    settings = {"districts_file": trujillo_districts_file(tmp_path)}
    with service_client("reporting", tmp_path / "var", settings=settings, today=lambda: date(2021, 12, 1)) as client:
        feed = ReportingFeed(application_of(client).readmodel, date(2021, 12, 1))
        feed.phase("F1", "Fase 1", -300, 30)
        feed.osv_mapped("Vecinos de La Esperanza", "La Esperanza", "Trujillo Norte", -200)
        feed.osv_mapped("Unidas de Florencia", "Florencia de Mora", "Trujillo Norte", -150)
        feed.osv_mapped("Junta del Cercado", "Trujillo", "Trujillo Centro", -100)
        yield client


def test_the_indicators_by_zone_are_the_zones_of_reportings_districts_table_and_no_lima_zone(trujillo: TestClient) -> None:
    groups = ok(trujillo.get("/indicators", params={"by": "zone"}))["breakdown"]["groups"]
    assert sorted(groups) == TRUJILLO_ZONES  # Trujillo Este shown though nothing counted in it, as Lima's zones are at home
    assert [groups[z]["total"]["osvs_identified"] for z in TRUJILLO_ZONES] == [1, 0, 2]


def test_the_donors_csv_by_zone_has_the_tables_zones_and_no_row_of_lima(trujillo: TestClient) -> None:
    response = trujillo.get("/indicators/export.csv", params={"by": "zone"})
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    group = table[0].index("Grupo")
    assert {row[group] for row in table[1:]} == {"Todo el programa", *TRUJILLO_ZONES}
    assert "Lima" not in response.content.decode("utf-8-sig")


def test_the_dashboard_draws_the_tables_zones(trujillo: TestClient) -> None:
    html = trujillo.get("/dashboard").text
    assert all(zone in html for zone in TRUJILLO_ZONES)
    assert not any(zone in html for zone in ("Lima Centro", "Lima Este", "Lima Norte", "Lima Sur"))


def test_a_zone_figure_of_another_city_is_traced_to_its_events(trujillo: TestClient) -> None:
    figure = ok(trujillo.get("/indicators", params={"by": "zone"}))["breakdown"]["groups"]["Trujillo Norte"]["total"]["osvs_identified"]
    for typed in ("Trujillo Norte", "trujillo norte"):  # case aside, as a district's name or /osvs?zone= is taken
        found = ok(trujillo.get("/indicators/osvs_identified/evidence", params={"phase": "total", "group": typed}))
        assert (found["group"], found["value"]) == ("Trujillo Norte", figure)
        assert sorted(e["district"] for e in found["events"]) == ["Florencia de Mora", "La Esperanza"]
        assert {e["municipality"]["id"] for e in found["events"]} == {"130103", "130105"}
    empty = ok(trujillo.get("/indicators/osvs_identified/evidence", params={"phase": "F1", "group": "Trujillo Este"}))
    assert (empty["value"], empty["events"]) == (0, [])


def test_a_lima_zone_is_no_group_of_another_citys_reporting(trujillo: TestClient) -> None:
    refused = trujillo.get("/indicators/osvs_identified/evidence", params={"phase": "total", "group": "Lima Norte"})
    assert_problem(refused, 422, "group", "zone_or_district")
    assert "Trujillo Centro, Trujillo Este, Trujillo Norte" in refused.json()["detail"] and "Lima Centro" not in refused.json()["detail"]
    assert refused.json()["detail"].endswith("nor a district of Provincia de Trujillo"), refused.json()["detail"]  # the file's area (F8)


def test_the_zones_a_report_shows_unless_told_are_the_shipped_tables() -> None:
    """The pure reports' default (``ZONES``) is Lima's shipped table's zones, so the service on the shipped table is as before."""
    from services.reporting.domain.indicators import ZONES
    from shared.districts import DistrictTable

    assert ZONES == tuple(DistrictTable.of_lima().zones)


def test_osv_replay_breaks_the_figures_down_by_the_zones_of_reportings_districts_file(tmp_path: Path) -> None:
    """Its digest by zone is reporting's only if it shows the same zones: those of the file reporting runs with."""
    from tests.integration.test_rebuild_cli import a_feed
    from tests.integration.test_replay_cli import run
    from tests.support.programmelog import cloudevent

    moment = datetime(2021, 3, 15, 14, tzinfo=timezone.utc)
    mapped = {1: None, 2: cloudevent("registry", 2, "OSVMapped", "osv-2", moment, osv_id="osv-2", name="Vecinos de La Esperanza",
                                     district="La Esperanza", zone="Trujillo Norte", mapped_on="2021-03-15")}
    districts_file = trujillo_districts_file(tmp_path)
    with a_feed(mapped) as registry, a_feed({}) as empty:
        feeds = [f"--feed=registry={registry}", f"--feed=funding={empty}", f"--feed=engagement={empty}"]
        args = ["--as-of", "2021-12-31T23:59:59-05:00", "--by", "zone", "--json", *feeds]
        answer = run(args, tmp_path, REPORTING_DISTRICTS_FILE=str(districts_file))
        assert answer.returncode == 0, answer.stderr
        assert sorted(json.loads(answer.stdout)["breakdown"]["groups"]) == TRUJILLO_ZONES
        unread = run(args, tmp_path, REPORTING_DISTRICTS_FILE=str(tmp_path / "none.json"))
    assert unread.returncode == 2 and unread.stderr.count("\n") == 1 and "REPORTING_DISTRICTS_FILE" in unread.stderr, unread.stderr
