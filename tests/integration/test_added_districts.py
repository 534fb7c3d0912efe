"""A district added by file (`<SERVICE>_DISTRICTS_FILE`) and a service left without the file: it says so, never blames the caller.

Nuevo Horizonte (150144) stands in for a district a law created: the shipped
table plus it, given to a service as its `districts_file`. A service started
again without the file, after OSVs were mapped there, refuses to start, naming
the district and the setting; one that meets such an OSV while running (another
replica mapped it with the file) answers reads about it as stored, refuses to
record more about it (503 with `Retry-After`: the request is fine, the setting
is not), logs it at once and reports it in `/health`.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.registry.api import create_app as registry_app
from shared.districts import DistrictsLackingError
from tests.support.api import SJL_ALTO, Upstream, a_districts_file, assert_problem, created, ok
from tests.support.clients import NATS_OUT_OF_REACH, application_of, head, service_client
from tests.support.identity import signed_in_headers
from tests.support.processes import service_process
from tests.support.reporting_feed import ReportingFeed


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def refused_start(service: str, var_dir: Path, caplog: pytest.LogCaptureFixture, **settings: Any) -> str:
    """Start ``service`` on ``var_dir``: it must refuse, with one error line; that line."""
    caplog.clear()
    with caplog.at_level(logging.ERROR), pytest.raises(DistrictsLackingError) as refused:
        with service_client(service, var_dir, settings=settings):
            pass
    assert errors_logged(caplog) == [str(refused.value)]
    return str(refused.value)


# Registry -----------------------------------------------------------------------------------------------


def map_in_nuevo_horizonte(client: TestClient, name: str = "Junta Vecinal Nuevo Horizonte") -> str:
    return str(created(client.post("/osvs", json={"name": name, "district": "Nuevo Horizonte", "mapped_on": "2021-03-15"}))["id"])


def test_registry_refuses_to_start_without_the_districts_file_its_stored_osvs_were_mapped_with(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Left on the shipped table after OSVs were mapped in a district added by file, registry answered 422 `lima_district`
    to every list and read that met one, blaming the caller, with `/health` ok and nothing in its log (tester 27b, M1)."""
    districts_file = a_districts_file(tmp_path)
    var = tmp_path / "var"
    with service_client("registry", var, settings={"districts_file": districts_file}) as client:
        map_in_nuevo_horizonte(client)
        created(client.post("/osvs", json={"name": "Unidas de SJL", "district": "San Juan de Lurigancho", "mapped_on": "2021-03-15"}))

    message = refused_start("registry", var, caplog)
    assert "'Nuevo Horizonte'" in message and "REGISTRY_DISTRICTS_FILE" in message and "San Juan" not in message

    with service_client("registry", var, settings={"districts_file": districts_file}) as client:  # given the file again: as before
        assert [osv["district"] for osv in ok(client.get("/osvs"))] == ["Nuevo Horizonte", "San Juan de Lurigancho"]
        assert ok(client.get("/health"))["missing_districts"] == []


def test_a_registry_process_left_without_the_file_exits_at_once_with_one_line_saying_why(tmp_path: Path) -> None:
    """Under uvicorn, as `make run` starts it: the refusal is an error line naming the district and the setting, and the
    process ends with uvicorn's start-up failure code (3), instead of serving reads it would answer with 422."""
    var = tmp_path / "var"
    with service_client("registry", var, settings={"districts_file": a_districts_file(tmp_path)}) as client:
        map_in_nuevo_horizonte(client)

    with service_process("registry", {"REGISTRY_VAR_DIR": str(var), "REGISTRY_NATS_URL": NATS_OUT_OF_REACH}) as service:
        assert service.process.wait(timeout=60) == 3
        said = service.console.wait_for(r"ERROR registry\[\d+\] shared\.web: (registry refuses to start: .*)")
        assert "'Nuevo Horizonte'" in said[1] and "REGISTRY_DISTRICTS_FILE" in said[1]
        assert "Application startup failed" not in service.console.text() and "Traceback" not in service.console.text()  # the refusal alone (tester 252 F5)


def test_registry_checks_only_what_was_stored_since_its_last_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Each start reads the OSVs mapped since the last one: one mapped in Nuevo Horizonte after a start is met at the next."""
    districts_file = a_districts_file(tmp_path)
    var = tmp_path / "var"
    with service_client("registry", var, settings={"districts_file": districts_file}) as client:
        created(client.post("/osvs", json={"name": "Unidas de SJL", "district": "San Juan de Lurigancho", "mapped_on": "2021-03-15"}))
    with service_client("registry", var) as client:  # nothing in the added district yet: it starts without the file
        assert len(ok(client.get("/osvs"))) == 1
    with service_client("registry", var, settings={"districts_file": districts_file}) as client:
        map_in_nuevo_horizonte(client)

    assert "'Nuevo Horizonte'" in refused_start("registry", var, caplog)


def test_registry_reads_an_osv_of_a_district_its_table_lacks_as_stored_and_records_nothing_more_about_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two replicas on one store, one without the file (it started before the OSV was mapped): its reads of the OSV
    answer as stored, to those who read all of Lima; its commands about it are 503 with Retry-After, never a 422 that
    blames the caller; its log says so at once and `/health` names the district."""
    var = tmp_path / "var"
    with service_client("registry", var, settings={"districts_file": a_districts_file(tmp_path)}) as with_file, \
            service_client("registry", var) as without:
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            osv_id = map_in_nuevo_horizonte(with_file)
            sjl = str(created(without.post("/osvs", json={"name": "Unidas de SJL", "district": "San Juan de Lurigancho", "mapped_on": "2021-03-15"}))["id"])
            listed = ok(without.get("/osvs"))
            assert [osv["id"] for osv in listed] == [osv_id, sjl]
            assert ok(without.get(f"/osvs/{osv_id}"))["district"] == "Nuevo Horizonte"
            assert [e["type"] for e in ok(without.get(f"/osvs/{osv_id}/history"))] == ["OSVMapped"]
            assert [osv["id"] for osv in ok(without.get("/osvs", params={"zone": "Lima Este", "name": "Horizonte"}))] == [osv_id]
            assert ok(without.get(f"/osvs/{osv_id}/ruos-readiness"))["municipality_id"] == "mml"
        logged = errors_logged(caplog)
        assert len(logged) == 1 and "'Nuevo Horizonte'" in logged[0] and "REGISTRY_DISTRICTS_FILE" in logged[0]

        sjl_focal_point = signed_in_headers("municipal-150132")
        assert [osv["id"] for osv in ok(without.get("/osvs", headers=sjl_focal_point))] == [sjl]

        written = head(without)
        refused = assert_problem(without.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-06-01"}), 503, "osv_id", "osv_district_in_table")
        assert "REGISTRY_DISTRICTS_FILE" in refused["detail"] and "Nuevo Horizonte" in refused["detail"]
        assert without.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-06-01"}).headers["Retry-After"] == "60"
        application = {"municipality_id": "mml", "submitted_on": "2021-06-01", "documents": ["estatuto"]}
        assert_problem(without.post(f"/osvs/{osv_id}/ruos-applications", json=application), 503, "osv_id", "osv_district_in_table")
        # Another OSV mapped there through this replica: 503 too, not 422 `lima_district` blaming the promoter, while the
        # replica with the file takes it (tester 28, L1); a district it never met is still the caller's mistake.
        another = {"name": "Comedor Popular Nuevo Amanecer", "district": "nuevo horizonte", "mapped_on": "2021-03-20"}
        for attempt in (without.post("/osvs", json=another), without.post("/osvs", json=another, params={"dry_run": "true"})):
            assert_problem(attempt, 503, "district", "osv_district_in_table")
            assert attempt.headers["Retry-After"] == "60"
        assert_problem(without.get("/osvs", params={"district": "Nuevo Horizonte"}), 503, "district", "osv_district_in_table")
        assert_problem(without.post("/osvs", json={**another, "district": "Villa Futura"}), 422, "district", "lima_district")
        assert head(without) == written

        health = ok(without.get("/health"))
        assert (health["status"], health["missing_districts"]) == ("degraded", ["Nuevo Horizonte"])
        assert ok(with_file.get("/health"))["missing_districts"] == []
        assert created(with_file.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-06-01"}))["contact"]["status"] == "lost"


def test_a_replica_without_the_file_answers_503_not_422_to_the_municipality_of_a_district_it_lacks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two replicas on one store, one without the file: an OSV's RUOS application to its own district's municipality
    (Nuevo Horizonte's, 150144) was 201 from the replica with the file and 422 `lima_municipality`, blaming staff, from
    the one without it, as a mapping's district was before (tester 28, L1; small29). The replica without the file, which
    has not read the OSV, knows from its store that it lacks districts OSVs are in: a district's ubigeo of Lima it lacks
    is 503 with Retry-After, and so is the district typed in a mapping; what is no municipality of Lima at all stays 422."""
    var = tmp_path / "var"
    with service_client("registry", var, settings={"districts_file": a_districts_file(tmp_path)}) as with_file, \
            service_client("registry", var) as without:
        comas = str(created(without.post("/osvs", json={"name": "Unidas de Collique", "district": "Comas", "mapped_on": "2021-03-15"}))["id"])
        application = {"municipality_id": "150144", "submitted_on": "2021-06-01", "documents": ["estatuto"]}
        # Nothing stored is in a district its table lacks: a ubigeo it does not know is the caller's mistake.
        assert_problem(without.post(f"/osvs/{comas}/ruos-applications", json=application), 422, "municipality_id", "lima_municipality")

        with caplog.at_level(logging.ERROR):
            osv_id = map_in_nuevo_horizonte(with_file)
            written = head(without)
            for attempt in (
                without.post(f"/osvs/{osv_id}/ruos-applications", json=application),
                without.post(f"/osvs/{comas}/ruos-applications", json=application),  # whose it is, this replica cannot tell
                without.get(f"/osvs/{comas}/ruos-readiness", params={"municipality_id": "150144"}),
            ):
                refused = assert_problem(attempt, 503, "municipality_id", "osv_district_in_table")
                assert attempt.headers["Retry-After"] == "60"
                assert "REGISTRY_DISTRICTS_FILE" in refused["detail"] and "'Nuevo Horizonte'" in refused["detail"]
            another = {"name": "Comedor Popular Nuevo Amanecer", "district": "Nuevo Horizonte", "mapped_on": "2021-03-20"}
            assert_problem(without.post("/osvs", json=another), 503, "district", "osv_district_in_table")
            for not_lima in ("callao", "070101"):
                refused = without.post(f"/osvs/{osv_id}/ruos-applications", json={**application, "municipality_id": not_lima})
                assert_problem(refused, 422, "municipality_id", "lima_municipality")
            assert head(without) == written
        said = [line for line in errors_logged(caplog) if "a stored OSV is in the district 'Nuevo Horizonte'" in line]
        assert len(said) == 1  # said once, as when it reads the OSV
        assert ok(without.get("/health"))["missing_districts"] == ["Nuevo Horizonte"]

        assert created(with_file.post(f"/osvs/{osv_id}/ruos-applications", json=application))["municipality_id"] == "150144"


def test_registrys_openapi_says_when_a_command_answers_503_osv_district_in_table() -> None:
    """Each command's own 503 (`osv_district_in_table`, the RUOS application's for its `municipality_id` too) was replaced
    in the OpenAPI document by the 503 every command shares (the database, `store_behind_stream`): clients read both."""
    spec = registry_app().openapi()
    for path, method in (("/osvs/{osv_id}/ruos-applications", "post"), ("/osvs", "post"), ("/osvs/{osv_id}/contact-lost", "post")):
        said = spec["paths"][path][method]["responses"]["503"]["description"]
        assert "store_behind_stream" in said and "osv_district_in_table" in said, path
    application = spec["paths"]["/osvs/{osv_id}/ruos-applications"]["post"]["responses"]["503"]["description"]
    assert "`municipality_id`" in application and "lima_municipality" in application
    assert "`municipality_id`" in spec["paths"]["/osvs/{osv_id}/ruos-readiness"]["get"]["responses"]["503"]["description"]


# Funding and engagement ----------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["funding", "engagement"])
def test_a_service_refuses_to_start_while_its_osv_directory_holds_an_osv_of_a_district_its_table_lacks(
    tmp_path: Path, service: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Left without the file, funding started without a word, answered 201 to grants on that OSV, and its relay stopped for
    every municipality at the first event about it; a partner's `GET /events` went backwards (tester 27b, M2)."""
    districts_file = a_districts_file(tmp_path)
    var = tmp_path / "var"
    with service_client(service, var, settings={"districts_file": districts_file}) as client:
        Upstream(application_of(client)).osv_mapped(district="Nuevo Horizonte", zone="Lima Este")

    message = refused_start(service, var, caplog)
    assert "'Nuevo Horizonte'" in message and f"{service.upper()}_DISTRICTS_FILE" in message

    with service_client(service, var, settings={"districts_file": districts_file}) as client:
        assert ok(client.get("/health"))["missing_districts"] == []


@pytest.mark.parametrize("service", ["registry", "funding", "engagement"])
def test_a_district_added_by_file_whose_name_is_a_near_miss_of_another_is_not_taken_for_it(
    tmp_path: Path, service: str, caplog: pytest.LogCaptureFixture
) -> None:
    """San Juan de Lurigancho Alto, added by file, is a near miss of San Juan de Lurigancho for a table without it: a
    service left on the shipped table read its OSVs as SJL's (a stored name was looked up as a typed one, forgiving a
    letter or two), started without a word, sent their grants to SJL's partner, and let SJL's focal point read them
    (tester 28, H1). A recorded name is exact: the service refuses to start, naming the district."""
    districts_file = a_districts_file(tmp_path, SJL_ALTO)
    var = tmp_path / "var"
    with service_client(service, var, settings={"districts_file": districts_file}) as client:
        if service == "registry":
            created(client.post("/osvs", json={"name": "Comedor Alto Perú", "district": "San Juan de Lurigancho Alto", "mapped_on": "2021-03-15"}))
        else:
            Upstream(application_of(client)).osv_mapped(district="San Juan de Lurigancho Alto", zone="Lima Este")

    message = refused_start(service, var, caplog)
    assert "'San Juan de Lurigancho Alto'" in message and f"{service.upper()}_DISTRICTS_FILE" in message


GRANT = {"amount": "3500.00", "currency": "PEN", "granted_on": "2021-10-20", "kind": "seed_fund"}
MEETING = {"held_on": "2021-10-20", "mode": "in_person", "topics": ["project_follow_up"]}


@pytest.mark.parametrize("service", ["funding", "engagement"])
def test_an_osv_mapped_in_a_district_the_table_lacks_while_the_service_runs_is_said_at_once_and_refused_commands(
    tmp_path: Path, service: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The directory hears registry map an OSV in a district its table lacks: an error line at once, `/health` degraded
    naming it at once (not a minute later), and commands about that OSV refused with 503 and Retry-After, so that none
    of its events stops the relay for every municipality; an OSV of a district it knows is served as ever."""
    with service_client(service, tmp_path / "var") as client:
        upstream = Upstream(application_of(client))
        comas = upstream.osv_registered()
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            osv_id = upstream.osv_mapped(district="Nuevo Horizonte", zone="Lima Este")
            upstream.ruos_registered(osv_id)
        logged = errors_logged(caplog)
        assert len(logged) == 1 and "'Nuevo Horizonte'" in logged[0] and f"{service.upper()}_DISTRICTS_FILE" in logged[0]

        health = ok(client.get("/health"))
        assert health["missing_districts"] == ["Nuevo Horizonte"] and health["status"] == "degraded"

        def command(about: str) -> Any:
            if service == "funding":
                return client.post("/grants", json={**GRANT, "osv_id": about})
            return client.post(f"/osvs/{about}/meetings", json=MEETING)

        written = head(client)
        refused = command(osv_id)
        body = assert_problem(refused, 503, "osv_id", "osv_district_in_table")
        assert refused.headers["Retry-After"] == "60" and f"{service.upper()}_DISTRICTS_FILE" in body["detail"]
        assert head(client) == written
        created(command(comas))



def test_funding_answers_503_not_422_to_a_participatory_budget_of_a_municipality_its_table_lacks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Funding left without the districts file, once an OSV of Nuevo Horizonte is known: a participatory budget naming
    150144 was 422 `lima_municipality`, blaming staff for a ubigeo registry's file has (small29's note, as registry's RUOS
    application was). It may be that district's municipality: 503 with Retry-After, nothing recorded; what is no
    municipality of Lima stays 422, and the MML's budget is taken."""
    with service_client("funding", tmp_path / "var") as client:
        upstream = Upstream(application_of(client))
        comas = upstream.osv_registered()
        submission = {"osv_id": str(comas), "municipality_id": "150144", "cycle_year": 2023, "project_title": "Losa deportiva",
                      "amount_requested": "3000.00", "currency": "PEN", "submitted_on": "2021-07-02"}
        # Nothing known here is in a district the table lacks: a ubigeo it does not know is the caller's mistake.
        assert_problem(client.post("/participatory-budgets", json=submission), 422, "municipality_id", "lima_municipality")

        with caplog.at_level(logging.ERROR):
            upstream.osv_mapped(district="Nuevo Horizonte", zone="Lima Este")
        written = head(client)
        refused = client.post("/participatory-budgets", json=submission)
        assert_problem(refused, 503, "municipality_id", "osv_district_in_table")
        assert refused.headers["Retry-After"] == "60"
        assert_problem(client.post("/participatory-budgets", json={**submission, "municipality_id": "callao"}), 422,
                       "municipality_id", "lima_municipality")
        assert head(client) == written
        assert created(client.post("/participatory-budgets", json={**submission, "municipality_id": "mml"}))["municipality_id"] == "mml"

# Reporting ------------------------------------------------------------------------------------------------


def test_reporting_refuses_to_start_while_its_facts_name_a_district_its_table_lacks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Left without the file, reporting left the district's ubigeo cells of the donors' HXL 3W sheet empty, with
    `/health` ok and no log line (tester 27b, L1)."""
    districts_file = a_districts_file(tmp_path)
    var = tmp_path / "var"
    with service_client("reporting", var, settings={"districts_file": districts_file}) as client:
        feed = ReportingFeed(application_of(client).readmodel, date(2021, 12, 1))
        osv_id = feed.osv_mapped("Junta Vecinal Nuevo Horizonte", "Nuevo Horizonte", "Lima Este", -200)
        feed.activity(osv_id, -100, "Nuevo Horizonte", "Lima Este")

    message = refused_start("reporting", var, caplog)
    assert "'Nuevo Horizonte'" in message and "REPORTING_DISTRICTS_FILE" in message

    with service_client("reporting", var, settings={"districts_file": districts_file}) as client:
        sheet = list(csv.reader(io.StringIO(client.get("/activities/export.hxl.csv").content.decode("utf-8-sig"))))
        tags = sheet[2]
        assert [(row[tags.index("#adm3+name")], row[tags.index("#adm3+code")]) for row in sheet[3:]] == [("Nuevo Horizonte", "150144")]
        assert ok(client.get("/health"))["missing_districts"] == []


def test_reporting_says_at_once_when_a_fact_names_a_district_its_table_lacks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An activity held in a district its table lacks (engagement had the file): `/health` degraded naming it, one error line."""
    with service_client("reporting", tmp_path / "var") as client:
        feed = ReportingFeed(application_of(client).readmodel, date(2021, 12, 1))
        osv_id = feed.osv_mapped("Unidas de SJL", "San Juan de Lurigancho", "Lima Este", -200)
        assert ok(client.get("/health"))["missing_districts"] == []
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            feed.activity(osv_id, -100, "Nuevo Horizonte", "Lima Este")
            health = ok(client.get("/health"))
            assert (health["status"], health["missing_districts"]) == ("degraded", ["Nuevo Horizonte"])
            assert client.get("/activities/export.hxl.csv").status_code == 200
            assert ok(client.get("/health"))["missing_districts"] == ["Nuevo Horizonte"]
        logged = errors_logged(caplog)
        assert len(logged) == 1 and "'Nuevo Horizonte'" in logged[0] and "REPORTING_DISTRICTS_FILE" in logged[0]
