"""An OSV's way into the RUOS over HTTP: readiness, application, observation, amendment, registration.

Registry runs on its real SQLite store with NATS out of reach; engagement's
identity-document counts reach it through its real consumer handler, fed with
hand-built CloudEvents.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from tests.support.api import assert_problem
from tests.support.clients import FakeToday, application_of, head, service_client
from tests.support.identity import IssuedTokens

COMAS = "150110"
SJL = "150132"
LOS_OLIVOS = "150117"
ALL_DOCUMENTS = [
    "acta_constitucion",
    "estatuto",
    "acta_aprobacion_estatuto",
    "acta_eleccion_junta_directiva",
    "nomina_junta_directiva",
    "padron_socios",
    "croquis",
]
DETAIL = "la cédula de la presidenta Yajaira no es aceptada"


@pytest.fixture
def clock() -> FakeToday:
    """The end of the programme's year: every step these stories record has happened by then."""
    return FakeToday(date(2021, 12, 31))


@pytest.fixture
def today(clock: FakeToday) -> FakeToday:
    """Registry's clock, set by the test."""
    return clock


def new_osv(client: TestClient, **overrides: Any) -> str:
    body = {"name": "Vecinos Unidos de Collique", "district": "comas", "mapped_on": "2021-03-15", **overrides}
    response = client.post("/osvs", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def counted(osv_id: str, position: int, board: dict[str, int], members: dict[str, int], on: str = "2021-06-10") -> dict[str, Any]:
    """Engagement's OSVDocumentsCounted, as it arrives from NATS."""
    return {
        "type": "OSVDocumentsCounted",
        "source": "urn:osv-platform:engagement",
        "position": position,
        "data": {"osv_id": osv_id, "counted_on": on, "occurred_on": on, "board": board, "members": members},
    }


def apply_counts(client: TestClient, *cloudevents: dict[str, Any]) -> None:
    counts = application_of(client).document_counts
    assert counts is not None
    counts.apply(list(cloudevents))


def submit(client: TestClient, osv_id: str, **overrides: Any) -> dict[str, Any]:
    body = {"municipality_id": COMAS, "submitted_on": "2021-06-14", "documents": ALL_DOCUMENTS, **overrides}
    response = client.post(f"/osvs/{osv_id}/ruos-applications", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def step(client: TestClient, osv_id: str, application_id: str, name: str, **body: Any) -> Any:
    return client.post(f"/osvs/{osv_id}/ruos-applications/{application_id}/{name}", json=body)


# The story ---------------------------------------------------------------------------


def test_an_osv_is_flagged_observed_amended_in_time_and_registered(registry: TestClient) -> None:
    osv_id = new_osv(registry)

    # Before engagement has counted anyone, registry does not pretend to know.
    unknown = registry.get(f"/osvs/{osv_id}/ruos-readiness").json()
    assert (unknown["municipality_id"], unknown["counts_known"], unknown["ready"]) == (COMAS, False, False)
    assert unknown["missing_documents"] == ALL_DOCUMENTS

    for document in ALL_DOCUMENTS:
        assert registry.post(f"/osvs/{osv_id}/documents", json={"document": document, "prepared_on": "2021-06-01"}).status_code == 201
    apply_counts(
        registry,
        counted(osv_id, 7, board={"CEDULA_VE": 1, "DNI": 1}, members={"CEDULA_VE": 1, "DNI": 1, "CPP": 1, "PASAPORTE": 1, "PTP": 1}),
    )
    readiness = registry.get(f"/osvs/{osv_id}/ruos-readiness").json()
    assert readiness["missing_documents"] == [] and readiness["counts_known"] is True
    assert (readiness["board_members_total"], readiness["board_members_with_unaccepted_documents"]) == (2, 1)
    assert (readiness["members_total"], readiness["members_with_unaccepted_documents"]) == (5, 2)
    assert readiness["accepted_document_types"] == ["DNI", "CE", "PTP", "CPP"]
    assert readiness["ready"] is False

    application = submit(registry, osv_id)
    assert application["status"] == "submitted" and application["id_documents_flagged"] is True
    # How many is readiness's, to staff (tester 135 F1: the application told a focal point, and the event every partner)
    assert not {"board_members_with_unaccepted_documents", "members_with_unaccepted_documents"} & application.keys()
    application_id = application["application_id"]

    observed = step(
        registry, osv_id, application_id, "observation", observed_on="2021-06-24", reasons=[{"code": "id_document_not_accepted", "detail": DETAIL}]
    )
    assert observed.status_code == 201, observed.text
    assert (observed.json()["status"], observed.json()["amend_by"]) == ("observed", "2021-07-02")
    assert [o["id"] for o in registry.get("/osvs", params={"ruos": "observed"}).json()] == [osv_id]

    # The board changes; engagement's next tally replaces the last one.
    apply_counts(registry, counted(osv_id, 9, board={"CPP": 1, "DNI": 1}, members={"CEDULA_VE": 1, "DNI": 1, "CPP": 1, "PASAPORTE": 1, "PTP": 1}, on="2021-06-28"))
    assert registry.get(f"/osvs/{osv_id}/ruos-readiness").json()["board_members_with_unaccepted_documents"] == 0

    amended = step(registry, osv_id, application_id, "amendment", amended_on="2021-07-01", documents=["nomina_junta_directiva", "acta_eleccion_junta_directiva"])
    assert amended.status_code == 201 and amended.json()["status"] == "amended"

    registered = step(
        registry,
        osv_id,
        application_id,
        "registration",
        registered_on="2021-07-12",
        ruos_number="RUOS-COMAS-2021-017",
        resolution_number="RGM-0456-2021-MDC",
        board_term_ends_on="2023-07-11",
    )
    assert registered.status_code == 201 and registered.json()["status"] == "registered"

    osv = registry.get(f"/osvs/{osv_id}").json()
    assert osv["ruos"] == {"status": "registered", "number": "RUOS-COMAS-2021-017", "registered_on": "2021-07-12", "municipality_id": COMAS}
    assert (osv["resolution_number"], osv["board_term_ends_on"]) == ("RGM-0456-2021-MDC", "2023-07-11")
    assert osv["ruos_application"]["application_id"] == application_id

    events = registry.get("/events", params={"limit": 100}).json()["events"]
    types = [e["type"] for e in events]
    assert types[-4:] == ["RUOSApplicationSubmitted", "RUOSApplicationObserved", "RUOSApplicationAmended", "RUOSRegistered"]
    assert "RUOSNumberClaimed" not in types
    assert events[-1]["data"]["application_id"] == application_id and events[-1]["data"]["municipality_id"] == COMAS
    assert DETAIL not in json.dumps(events, ensure_ascii=False)
    history = registry.get(f"/osvs/{osv_id}/history").json()
    assert any(DETAIL in json.dumps(e["data"], ensure_ascii=False) for e in history), "the auditors' history keeps staff's words"


def test_a_municipality_that_accepts_more_documents_changes_the_readiness_against_it(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    apply_counts(registry, counted(osv_id, 3, board={"CEDULA_VE": 1}, members={"CEDULA_VE": 1, "DNI": 4}))
    before = registry.get(f"/osvs/{osv_id}/ruos-readiness", params={"municipality_id": "mml"}).json()
    assert (before["municipality_id"], before["members_with_unaccepted_documents"]) == ("mml", 1)
    response = registry.put("/municipalities/mml/accepted-documents", json={"accepted": ["DNI", "CE", "PTP", "CPP", "CEDULA_VE"], "changed_on": "2021-09-01"})
    assert response.status_code == 200, response.text
    after = registry.get(f"/osvs/{osv_id}/ruos-readiness", params={"municipality_id": "mml"}).json()
    assert (after["board_members_with_unaccepted_documents"], after["members_with_unaccepted_documents"]) == (0, 0)
    assert registry.get(f"/osvs/{osv_id}/ruos-readiness").json()["members_with_unaccepted_documents"] == 1  # Comas did not change


def test_what_moves_with_the_identity_documents_is_for_staff_and_a_focal_point_reads_the_documents_and_totals(
    registry: TestClient, tokens: IssuedTokens
) -> None:
    """Read again after a member joined, the document type whose count moved told the focal point that member's migration
    status, an asylum seeker's (tester 37 F2); so did the count of refused documents (tester 37d F1), and so did whether
    anyone holds one, which turned when a member with a refused document joined (tester 172 F1)."""
    osv_id = new_osv(registry, name="Vecinos Solidarios de Zárate", district="San Juan de Lurigancho")
    readers = ("municipal-150132", "auditor")
    for position, members, flagged in ((3, {"CE": 1, "DNI": 2}, False), (4, {"CE": 1, "DNI": 2, "SOLICITANTE_REFUGIO": 1}, True)):
        apply_counts(registry, counted(osv_id, position, board={"CE": 1}, members=members))
        staff = registry.get(f"/osvs/{osv_id}/ruos-readiness").json()
        assert staff["members_by_document_type"] == members and staff["board_by_document_type"] == {"CE": 1}
        assert (staff["members_with_unaccepted_documents"], staff["id_documents_flagged"], staff["ready"]) == (int(flagged), flagged, False)
        for reader in readers:
            read = registry.get(f"/osvs/{osv_id}/ruos-readiness", headers=tokens.headers(reader))
            assert read.status_code == 200, read.text
            answer = read.json()
            assert (answer["board_by_document_type"], answer["members_by_document_type"]) == (None, None), reader
            assert (answer["members_with_unaccepted_documents"], answer["board_members_with_unaccepted_documents"]) == (None, None), reader
            assert (answer["id_documents_flagged"], answer["ready"]) == (None, None), reader
            assert (answer["members_total"], answer["missing_documents"], answer["counts_known"]) == (
                staff["members_total"], staff["missing_documents"], True
            ), reader
            assert "SOLICITANTE_REFUGIO" not in read.text

    # Nor as an application recorded them in the OSV's history: filed again after a member joined, the counts told
    # which one holds a refused document (tester 176 F1). The flag is the application's, as its record gives it.
    submit(registry, osv_id, municipality_id="150132")
    counts = ("board_members_with_unaccepted_documents", "members_with_unaccepted_documents", "id_documents_flagged")
    staff_history = [e["data"] for e in registry.get(f"/osvs/{osv_id}/history").json() if e["type"] == "RUOSApplicationSubmitted"]
    assert [tuple(d[c] for c in counts) for d in staff_history] == [(0, 1, True)]
    audited = registry.get(f"/osvs/{osv_id}/history", headers=tokens.headers("auditor"))
    assert audited.status_code == 200, audited.text
    assert [tuple(e["data"][c] for c in counts) for e in audited.json() if e["type"] == "RUOSApplicationSubmitted"] == [(None, None, True)]


def test_readiness_against_a_municipality_outside_lima_is_422(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    assert_problem(registry.get(f"/osvs/{osv_id}/ruos-readiness", params={"municipality_id": "070101"}), 422, "municipality_id", "lima_municipality")


def test_counts_delivered_twice_or_late_do_not_overwrite_a_newer_tally(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    newer = counted(osv_id, 12, board={"DNI": 2}, members={"DNI": 6})
    older = counted(osv_id, 11, board={"CEDULA_VE": 2}, members={"CEDULA_VE": 6})
    apply_counts(registry, newer)
    apply_counts(registry, older, newer)
    readiness = registry.get(f"/osvs/{osv_id}/ruos-readiness").json()
    assert (readiness["members_total"], readiness["members_with_unaccepted_documents"]) == (6, 0)
    counts = application_of(registry).document_counts
    assert counts is not None and counts.applied_position() == 12


def test_a_day_decreed_after_an_observation_moves_the_deadline_it_shows_and_the_rejection_goes_by_it(registry: TestClient) -> None:
    """The amendment took a decree since into account; the answers and the worklist showed the recorded deadline, and a
    rejection for a missed deadline was taken before it (tester 37 F3, F4)."""
    osv_id = new_osv(registry, name="Vecinos del Decreto")
    application_id = submit(registry, osv_id, submitted_on="2021-11-25")["application_id"]
    observed = step(registry, osv_id, application_id, "observation", observed_on="2021-12-01",
                    reasons=[{"code": "signatures_missing"}], amend_within_working_days=3)
    assert observed.json()["amend_by"] == "2021-12-06"  # Thursday to Monday
    assert registry.post("/non-working-days", json={"day": "2021-12-03", "decree": "D.S. N.º 998-2021-PCM"}).status_code == 201

    shown = registry.get(f"/osvs/{osv_id}/ruos-applications/{application_id}").json()
    assert shown["amend_by"] == shown["observations"][-1]["amend_by"] == "2021-12-07"
    worklist = {o["id"]: o for o in registry.get("/osvs", params={"ruos": "observed"}).json()}
    assert worklist[osv_id]["ruos_application"]["amend_by"] == "2021-12-07"
    early = step(registry, osv_id, application_id, "rejection", rejected_on="2021-12-07", reason="amendment_deadline_missed")
    assert_problem(early, 422, "rejected_on", "amendment_deadline_passed")
    assert "2021-12-07" in early.json()["detail"]
    late = step(registry, osv_id, application_id, "amendment", amended_on="2021-12-09", documents=["croquis"])
    assert_problem(late, 422, "amended_on", "within_amendment_deadline")
    assert "2021-12-07" in late.json()["detail"]  # the one deadline, in the answers and the rules alike
    rejected = step(registry, osv_id, application_id, "rejection", rejected_on="2021-12-09", reason="amendment_deadline_missed")
    assert rejected.status_code == 201, rejected.text


def test_an_observation_citing_one_reason_twice_in_the_same_words_is_422_naming_the_repeat(registry: TestClient) -> None:
    osv_id = new_osv(registry, name="Vecinos Repetidos")
    application_id = submit(registry, osv_id)["application_id"]
    twice = step(registry, osv_id, application_id, "observation", observed_on="2021-06-24",
                 reasons=[{"code": "signatures_missing"}, {"code": "signatures_missing"}])
    assert_problem(twice, 422, "reasons.1", "unique_reasons")
    assert registry.get(f"/osvs/{osv_id}/ruos-applications/{application_id}").json()["observations"] == []


def test_the_setting_gives_the_default_amendment_window(tmp_path: Path) -> None:
    with service_client("registry", tmp_path, settings={"ruos_amendment_working_days": 10}) as client:
        osv_id = new_osv(client)
        application = submit(client, osv_id, submitted_on="2021-07-19")
        observed = step(client, osv_id, application["application_id"], "observation", observed_on="2021-07-26", reasons=[{"code": "other"}])
        assert observed.json()["amend_by"] == "2021-08-11"
        other = new_osv(client, name="Mujeres Emprendedoras de Collique")
        application = submit(client, other, submitted_on="2021-07-19")
        given = step(client, other, application["application_id"], "observation", observed_on="2021-07-26", reasons=[{"code": "other"}], amend_within_working_days=5)
        assert given.json()["amend_by"] == "2021-08-04"


# Errors ---------------------------------------------------------------------------------


def test_a_second_open_application_or_one_from_a_registered_osv_is_a_conflict(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    submit(registry, osv_id)
    written = head(registry)
    body = {"municipality_id": COMAS, "submitted_on": "2021-06-20", "documents": ALL_DOCUMENTS}
    assert_problem(registry.post(f"/osvs/{osv_id}/ruos-applications", json=body), 409, "application_id", "one_open_application")

    registered = new_osv(registry, name="Otra OSV")
    registry.post(f"/osvs/{registered}/ruos-registration", json={"municipality_id": COMAS, "ruos_number": "RUOS-1", "registered_on": "2021-05-01"})
    # The conflict is the OSV's, named as the path names it: an application has no ruos_number (tester 208 F9).
    problem = assert_problem(registry.post(f"/osvs/{registered}/ruos-applications", json=body), 409, "osv_id", "register_once")
    assert "already registered in the RUOS as RUOS-1 on 2021-05-01" in problem["detail"]
    again = {"municipality_id": COMAS, "ruos_number": "RUOS-2", "registered_on": "2021-06-01"}
    assert_problem(registry.post(f"/osvs/{registered}/ruos-registration", json=again), 409, "osv_id", "register_once")
    assert head(registry) == written + 4  # the other OSV's mapping and (private) entry in its district's names, registration and (private) claim on its number


def test_a_municipality_named_by_its_districts_name_is_told_its_ubigeo(registry: TestClient) -> None:
    """Tester 133 F7: "San Juan de Lurigancho" was 422 string_too_long (at most 10 characters); "Lima" was told what to send."""
    osv_id = new_osv(registry)
    body = {"municipality_id": "San Juan de Lurigancho", "ruos_number": "RUOS-7", "registered_on": "2021-05-01"}
    problem = assert_problem(registry.post(f"/osvs/{osv_id}/ruos-registration", json=body), 422, "municipality_id", "lima_municipality")
    assert "its ubigeo, '150132'" in problem["detail"]


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"submitted_on": "2021-03-14"}, "submitted_on", "not_before_mapped_on"),
        ({"municipality_id": "callao"}, "municipality_id", "lima_municipality"),
        ({"documents": ["acta_constitucion", "partida_registral"]}, "documents.1", "enum"),
        ({"submitted_on": "14/06/2021"}, "submitted_on", "iso_8601_date"),
        ({"president": "Yajaira"}, "president", "extra_forbidden"),
    ],
)
def test_a_bad_application_is_422_naming_the_field_and_rule_and_writes_nothing(
    registry: TestClient, change: dict[str, Any], field: str, rule: str
) -> None:
    osv_id = new_osv(registry)
    written = head(registry)
    body = {"municipality_id": COMAS, "submitted_on": "2021-06-14", "documents": ALL_DOCUMENTS, **change}
    assert_problem(registry.post(f"/osvs/{osv_id}/ruos-applications", json=body), 422, field, rule)
    assert head(registry) == written


def test_an_application_form_with_several_mistakes_gets_them_all_in_one_answer(registry: TestClient) -> None:
    """A municipality not of Lima (Callao's) comes in one answer with a Peruvian-style date and a document not on the
    list, not in a round of its own after them; nothing is written."""
    osv_id = new_osv(registry)
    written = head(registry)
    body = {"municipality_id": "callao", "submitted_on": "14/06/2021", "documents": ["acta_constitucion", "partida_registral"]}

    problem = assert_problem(registry.post(f"/osvs/{osv_id}/ruos-applications", json=body), 422)
    assert {(e["field"], e["rule"]) for e in problem["errors"]} == {
        ("municipality_id", "lima_municipality"), ("submitted_on", "iso_8601_date"), ("documents.1", "enum"),
    }
    assert head(registry) == written


def test_a_document_filed_twice_is_refused_naming_the_first_and_one_recorded_before_may_be_filed_again(registry: TestClient) -> None:
    """An application listing the estatuto twice was taken, the repeat lost in the OSV's one list, though the seven
    documents are filed once each and a repeat is a slip (the other acta meant, tester small29). Each repeat names its
    earlier entry, with the form's other mistakes; a document recorded with `POST /osvs/{osv_id}/documents` and filed
    again joins the list as before; an amendment's list is held to the same rule."""
    osv_id = new_osv(registry)
    written = head(registry)
    twice = {"municipality_id": COMAS, "submitted_on": "14/06/2021", "documents": ["estatuto", "acta_constitucion", "estatuto"]}

    problem = assert_problem(registry.post(f"/osvs/{osv_id}/ruos-applications", json=twice), 422, "documents.2", "unique_documents")
    assert {(e["field"], e["rule"]) for e in problem["errors"]} == {("submitted_on", "iso_8601_date"), ("documents.2", "unique_documents")}
    assert [e["message"] for e in problem["errors"] if e["field"] == "documents.2"] == [
        "'estatuto' at documents.2 is at documents.0 too: file each document once"
    ]
    assert head(registry) == written

    registry.post(f"/osvs/{osv_id}/documents", json={"document": "estatuto", "prepared_on": "2021-06-01"})
    application = submit(registry, osv_id, documents=["estatuto", "acta_constitucion"])
    assert application["documents"] == ["acta_constitucion", "estatuto"]

    application_id = application["application_id"]
    step(registry, osv_id, application_id, "observation", observed_on="2021-06-24", reasons=[{"code": "missing_document"}])
    written = head(registry)
    amended = step(registry, osv_id, application_id, "amendment", amended_on="2021-06-30", documents=["croquis", "padron_socios", "croquis"])
    assert_problem(amended, 422, "documents.2", "unique_documents")
    assert head(registry) == written


def test_unknown_osvs_and_applications_are_not_found(registry: TestClient) -> None:
    nobody = "00000000-0000-4000-8000-000000000000"
    assert_problem(registry.post(f"/osvs/{nobody}/ruos-applications", json={"municipality_id": COMAS, "submitted_on": "2021-06-14", "documents": []}), 404)
    assert_problem(registry.get(f"/osvs/{nobody}/ruos-readiness"), 404)
    osv_id = new_osv(registry)
    submit(registry, osv_id)
    assert_problem(step(registry, osv_id, nobody, "observation", observed_on="2021-06-24", reasons=[{"code": "other"}]), 404)
    assert_problem(registry.get(f"/osvs/{osv_id}/ruos-applications/{nobody}"), 404)


def test_an_osv_applies_to_its_districts_municipality_or_the_mmls_and_to_no_third_one(registry: TestClient, tokens: IssuedTokens) -> None:
    """The municipality whose RUOS it is must see the application: its focal point and partner see their district's OSVs."""
    comas_osv = new_osv(registry, name="Club de Madres Señor de los Milagros")
    sjl_osv = new_osv(registry, name="Vecinos Solidarios de Zárate", district="San Juan de Lurigancho")
    written = head(registry)
    for osv_id, elsewhere, own in ((comas_osv, SJL, COMAS), (sjl_osv, COMAS, SJL)):
        path, body = f"/osvs/{osv_id}/ruos-applications", {"municipality_id": elsewhere, "submitted_on": "2021-10-01", "documents": ALL_DOCUMENTS}
        problem = assert_problem(registry.post(path, json=body), 422, "municipality_id", "municipality_of_the_osv")
        assert f"'{own}'" in problem["detail"] and "'mml'" in problem["detail"] and f"'{elsewhere}'" in problem["detail"], problem
        dry = registry.post(path, json=body, params={"dry_run": "true"})
        assert (dry.status_code, dry.json()) == (422, problem)
    assert head(registry) == written

    # Its own district's: that focal point records the municipality's steps, its partner hears of them.
    focal_point, partner = tokens.headers("municipal-150132"), tokens.headers("partner-150132")
    application_id = submit(registry, sjl_osv, municipality_id=SJL, submitted_on="2021-10-01")["application_id"]
    observed = registry.post(
        f"/osvs/{sjl_osv}/ruos-applications/{application_id}/observation",
        json={"observed_on": "2021-10-08", "reasons": [{"code": "missing_document"}]},
        headers=focal_point,
    )
    assert observed.status_code == 201, observed.text
    heard = [(e["type"], e["data"].get("municipality_id")) for e in registry.get("/events", headers=partner).json()["events"]]
    assert ("RUOSApplicationSubmitted", SJL) in heard and ("RUOSApplicationObserved", None) in heard
    # Or the MML's, whatever its district.
    assert submit(registry, comas_osv, municipality_id="MML", submitted_on="2021-10-01")["municipality_id"] == "mml"


def test_an_application_recorded_to_a_third_municipality_before_the_rule_still_replays_and_takes_its_steps(
    registry: TestClient,
) -> None:
    """The rule refuses new applications; history stays as it was recorded, and is applied as it always was."""
    osv_id = new_osv(registry, name="Club de Madres Señor de los Milagros")
    registry_app = application_of(registry)
    osv = registry_app.get_osv(UUID(osv_id))
    old = uuid4()
    osv._application_submitted(  # as the command recorded it before the rule, without the command's checks
        application_id=old,
        municipality_id=SJL,
        submitted_on=date(2021, 10, 1),
        documents=ALL_DOCUMENTS,
        missing_documents=[],
        id_documents_flagged=False,
        board_members_with_unaccepted_documents=None,
        members_with_unaccepted_documents=None,
    )
    registry_app.save(osv)

    shown = registry.get(f"/osvs/{osv_id}/ruos-applications/{old}")
    assert shown.status_code == 200, shown.text
    assert (shown.json()["municipality_id"], shown.json()["status"]) == (SJL, "submitted")
    rejected = step(registry, osv_id, str(old), "rejection", rejected_on="2021-10-20", reason="not_eligible")
    assert rejected.status_code == 201, rejected.text
    assert_problem(registry.post(f"/osvs/{osv_id}/ruos-applications", json={"municipality_id": SJL, "submitted_on": "2021-10-21"}), 422, "municipality_id", "municipality_of_the_osv")
    again = submit(registry, osv_id, submitted_on="2021-10-21")
    assert [a["municipality_id"] for a in (shown.json(), again)] == [SJL, COMAS]
    history = registry.get(f"/osvs/{osv_id}/history").json()
    assert [(e["type"], e["data"].get("municipality_id")) for e in history if e["type"] == "RUOSApplicationSubmitted"] == [
        ("RUOSApplicationSubmitted", SJL),
        ("RUOSApplicationSubmitted", COMAS),
    ]


def test_each_step_out_of_order_is_a_conflict_naming_the_state(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    application_id = submit(registry, osv_id)["application_id"]
    problem = assert_problem(step(registry, osv_id, application_id, "amendment", amended_on="2021-06-20", documents=["croquis"]), 409, "application_id", "application_observed")
    assert "is submitted" in problem["detail"]

    step(registry, osv_id, application_id, "observation", observed_on="2021-06-24", reasons=[{"code": "signatures_missing"}])
    problem = assert_problem(step(registry, osv_id, application_id, "registration", registered_on="2021-07-12", ruos_number="RUOS-1"), 409, rule="application_under_review")
    assert "is observed" in problem["detail"]

    step(registry, osv_id, application_id, "rejection", rejected_on="2021-07-09", reason="amendment_deadline_missed", note=DETAIL)
    problem = assert_problem(step(registry, osv_id, application_id, "observation", observed_on="2021-07-10", reasons=[{"code": "other"}]), 409)
    assert "is rejected" in problem["detail"]
    assert registry.get(f"/osvs/{osv_id}").json()["ruos_application"]["status"] == "rejected"


def test_an_amendment_after_the_deadline_is_refused(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    application_id = submit(registry, osv_id, submitted_on="2021-07-19")["application_id"]
    step(registry, osv_id, application_id, "observation", observed_on="2021-07-26", reasons=[{"code": "document_defective"}])
    late = step(registry, osv_id, application_id, "amendment", amended_on="2021-08-05", documents=["estatuto"])
    problem = assert_problem(late, 422, "amended_on", "within_amendment_deadline")
    assert "2021-08-04" in problem["detail"]
    assert step(registry, osv_id, application_id, "amendment", amended_on="2021-08-04", documents=["estatuto"]).status_code == 201


@pytest.mark.parametrize(
    ("name", "body", "field", "rule"),
    [
        ("observation", {"observed_on": "2021-06-13", "reasons": [{"code": "other"}]}, "observed_on", "not_before_submitted_on"),
        ("observation", {"observed_on": "2021-06-24", "reasons": []}, "reasons", "too_short"),
        ("observation", {"observed_on": "2021-06-24", "reasons": [{"code": "falta_dni"}]}, "reasons.0.code", "enum"),
        ("observation", {"observed_on": "2021-06-24", "reasons": [{"code": "other"}], "amend_within_working_days": 0}, "amend_within_working_days", "at_least_1"),
        ("observation", {"observed_on": "2021-06-24", "reasons": [{"code": "other"}], "amend_within_working_days": 61}, "amend_within_working_days", "at_most_60"),
        ("registration", {"registered_on": "2021-06-13", "ruos_number": "RUOS-1"}, "registered_on", "not_before_submitted_on"),
        ("registration", {"registered_on": "2021-07-12", "ruos_number": "RUOS-1", "board_term_ends_on": "2021-07-01"}, "board_term_ends_on", "after_registered_on"),
        ("registration", {"registered_on": "2021-07-12", "ruos_number": " "}, "ruos_number", "string_too_short"),
        ("rejection", {"rejected_on": "2021-06-13", "reason": "other"}, "rejected_on", "not_before_submitted_on"),
        ("rejection", {"rejected_on": "2021-07-13", "reason": "no le cae bien"}, "reason", "enum"),
    ],
)
def test_a_step_dated_backwards_or_badly_formed_is_422(registry: TestClient, name: str, body: dict[str, Any], field: str, rule: str) -> None:
    osv_id = new_osv(registry)
    application_id = submit(registry, osv_id)["application_id"]
    written = head(registry)
    assert_problem(step(registry, osv_id, application_id, name, **body), 422, field, rule)
    assert head(registry) == written


def test_an_ruos_number_belongs_to_one_osv_in_each_municipalitys_ruos(registry: TestClient) -> None:
    """Each municipality (the MML, each district) keeps and numbers its own RUOS: Comas may not give 045-2021 twice,
    Los Olivos and the MML may give it too (tester 127 F4: the second district's registration was refused)."""
    first = new_osv(registry)
    registry.post(f"/osvs/{first}/ruos-registration", json={"municipality_id": COMAS, "ruos_number": "RUOS-045-2021", "registered_on": "2021-07-12"})
    second = new_osv(registry, name="Otra OSV")
    application_id = submit(registry, second)["application_id"]
    written = head(registry)
    taken = step(registry, second, application_id, "registration", registered_on="2021-07-12", ruos_number="ruos-045-2021")
    problem = assert_problem(taken, 409, "ruos_number", "ruos_number_unique")
    assert first in problem["detail"] and "Comas" in problem["detail"]
    direct = registry.post(f"/osvs/{new_osv(registry, name='Tercera')}/ruos-registration", json={"municipality_id": COMAS, "ruos_number": " RUOS-045-2021", "registered_on": "2021-07-12"})
    assert_problem(direct, 409, "ruos_number", "ruos_number_unique")
    assert head(registry) == written + 2  # only the third OSV's mapping and its (private) entry in the district's names
    assert registry.get(f"/osvs/{second}").json()["ruos_application"]["status"] == "submitted"

    olivos = new_osv(registry, name="Mujeres Emprendedoras", district="Los Olivos")
    in_olivos = registry.post(f"/osvs/{olivos}/ruos-registration", json={"municipality_id": LOS_OLIVOS, "ruos_number": "RUOS-045-2021", "registered_on": "2021-07-12"})
    assert in_olivos.status_code == 201, in_olivos.text
    with_mml = new_osv(registry, name="Vecinos Solidarios de Zárate", district="San Juan de Lurigancho")
    application_id = submit(registry, with_mml, municipality_id="mml")["application_id"]
    in_mml = step(registry, with_mml, application_id, "registration", registered_on="2021-07-12", ruos_number="RUOS-045-2021")
    assert in_mml.status_code == 201, in_mml.text
    again_in_mml = registry.post(f"/osvs/{new_osv(registry, name='Cuarta')}/ruos-registration", json={"municipality_id": "mml", "ruos_number": "ruos-045-2021", "registered_on": "2021-07-12"})
    assert with_mml in assert_problem(again_in_mml, 409, "ruos_number", "ruos_number_unique")["detail"]
    # The same number copied from the resolution's PDF, with another dash and spaced (tester 133 F5)
    copied = registry.post(f"/osvs/{new_osv(registry, name='Quinta')}/ruos-registration", json={"municipality_id": COMAS, "ruos_number": "RUOS \u2013 045\u20102021", "registered_on": "2021-07-12"})
    assert first in assert_problem(copied, 409, "ruos_number", "ruos_number_unique")["detail"]


def test_an_ruos_number_typed_with_spaces_or_without_its_leading_zeros_is_the_number_another_osv_holds(registry: TestClient) -> None:
    """Tester 208 F5: with RUOS-SJL-2026-0101 held in San Juan de Lurigancho's RUOS, "RUOS SJL 2026 0101" and
    "RUOS-SJL-2026-101" were 201, two more OSVs holding the one number. The number stays as it was typed."""
    holder = new_osv(registry, name="Comedor Popular Virgen de Fátima", district="San Juan de Lurigancho")
    first = registry.post(f"/osvs/{holder}/ruos-registration", json={"municipality_id": SJL, "ruos_number": "RUOS-SJL-2026-0101", "registered_on": "2021-07-12"})
    assert first.status_code == 201, first.text
    other = new_osv(registry, name="Club de Madres Santa Rosa", district="San Juan de Lurigancho")
    written = head(registry)
    for typed in ("RUOS SJL 2026 0101", "RUOS-SJL-2026-101", "ruos/sjl/2026/0101", "RUOS.SJL.2026.00101", "RUOS_SJL_2026_0101"):
        again = registry.post(f"/osvs/{other}/ruos-registration", json={"municipality_id": SJL, "ruos_number": typed, "registered_on": "2021-07-12"})
        problem = assert_problem(again, 409, "ruos_number", "ruos_number_unique")
        assert holder in problem["detail"] and typed in problem["detail"], (typed, problem)
    assert head(registry) == written
    assert registry.get(f"/osvs/{holder}").json()["ruos"]["number"] == "RUOS-SJL-2026-0101"

    taken = registry.post(f"/osvs/{other}/ruos-registration", json={"municipality_id": SJL, "ruos_number": "RUOS SJL 2026 0102", "registered_on": "2021-07-12"})
    assert taken.status_code == 201, taken.text
    assert taken.json()["ruos"]["number"] == "RUOS SJL 2026 0102"  # kept as typed


def test_an_ruos_number_typed_with_another_number_sign_is_the_number_another_osv_holds(registry: TestClient) -> None:
    """Tester 212 F1: "RUOS N.º 077-2021-MDSJL/GDS", "RUOS Nº …", "RUOS N° …" and "ruos n. 77 2021 mdsjl gds" were each 201
    for another OSV of San Juan de Lurigancho: one real number held four times."""
    holder = new_osv(registry, name="Comedor Popular Virgen de Fátima", district="San Juan de Lurigancho")
    first = registry.post(f"/osvs/{holder}/ruos-registration", json={"municipality_id": SJL, "ruos_number": "RUOS N.º 077-2021-MDSJL/GDS", "registered_on": "2021-07-12"})
    assert first.status_code == 201, first.text
    other = new_osv(registry, name="Club de Madres Santa Rosa", district="San Juan de Lurigancho")
    written = head(registry)
    for typed in ("RUOS Nº 077-2021-MDSJL/GDS", "RUOS N° 077-2021-MDSJL/GDS", "ruos n. 77 2021 mdsjl gds", "R.U.O.S. Nro. 077-2021-MDSJL/GDS"):
        again = registry.post(f"/osvs/{other}/ruos-registration", json={"municipality_id": SJL, "ruos_number": typed, "registered_on": "2021-07-12"})
        problem = assert_problem(again, 409, "ruos_number", "ruos_number_unique")
        assert holder in problem["detail"] and typed in problem["detail"], (typed, problem)
        # the holder's own typing, so that whoever is refused sees why their number is the one held (tester 215 F1)
        assert "typed 'RUOS N.º 077-2021-MDSJL/GDS' (the same number" in problem["detail"], problem
    assert head(registry) == written
    assert registry.get(f"/osvs/{holder}").json()["ruos"]["number"] == "RUOS N.º 077-2021-MDSJL/GDS"  # kept as typed
    same = registry.post(f"/osvs/{other}/ruos-registration", json={"municipality_id": SJL, "ruos_number": "RUOS N.º 077-2021-MDSJL/GDS", "registered_on": "2021-07-12"})
    assert "typed" not in assert_problem(same, 409, "ruos_number", "ruos_number_unique")["detail"]  # typed alike: said once


def test_an_ruos_number_typed_with_a_glued_sign_spaced_dots_or_a_thousands_dot_is_the_number_another_osv_holds(registry: TestClient) -> None:
    """Tester 215 F2: "RUOS Nro0905", "R. U. O. S. 0901" and "RUOS 1.234-2022" were each 201 beside the plain number
    another OSV held. A dash is no thousands separator, and an N with a dash a series: those are other numbers."""
    holder = new_osv(registry, name="Comedor Popular Virgen de Fátima", district="San Juan de Lurigancho")
    first = registry.post(f"/osvs/{holder}/ruos-registration", json={"municipality_id": SJL, "ruos_number": "RUOS 1234-2022", "registered_on": "2021-07-12"})
    assert first.status_code == 201, first.text
    other = new_osv(registry, name="Club de Madres Santa Rosa", district="San Juan de Lurigancho")
    written = head(registry)
    for typed in ("RUOS 1.234-2022", "RUOS Nro1234-2022", "R. U. O. S. 1.234-2022", "R. U. O. S. N. 1234 2022"):
        again = registry.post(f"/osvs/{other}/ruos-registration", json={"municipality_id": SJL, "ruos_number": typed, "registered_on": "2021-07-12"})
        problem = assert_problem(again, 409, "ruos_number", "ruos_number_unique")
        assert holder in problem["detail"] and "typed 'RUOS 1234-2022'" in problem["detail"], (typed, problem)
    assert head(registry) == written
    for typed in ("RUOS 1-234-2022", "RUOS N-1234-2022"):
        apart = new_osv(registry, name=f"Vecinos {typed}", district="San Juan de Lurigancho")
        taken = registry.post(f"/osvs/{apart}/ruos-registration",
                              json={"municipality_id": SJL, "ruos_number": typed, "registered_on": "2021-07-12"})
        assert taken.status_code == 201, taken.text


def test_an_ruos_number_typed_without_its_accents_with_a_pasted_degree_sign_or_a_thousands_comma_is_the_number_another_osv_holds(
    registry: TestClient,
) -> None:
    """Tester 221 F3, F4: "Resolucion de Gerencia N° 45-2023-GDS-MDSJL" beside "Resolución de Gerencia N.º
    0045-2023-GDS-MDSJL", "RUOS N˚ 0908", "R.U.O.S.N. 0907", "RUOSNº0905" and "RUOS 1,235-2022" beside the plain
    numbers were each 201 for a second OSV. Numbers apart by a digit, an N series or a comma between parts stay apart."""
    held = ("Resolución de Gerencia N.º 0045-2023-GDS-MDSJL", "RUOS 0908", "RUOS 0907", "RUOS 905", "RUOS 1235-2022")
    holders = {}
    for n, number in enumerate(held):
        holders[number] = new_osv(registry, name=f"Comedor Popular {n}", district="San Juan de Lurigancho")
        first = registry.post(f"/osvs/{holders[number]}/ruos-registration", json={"municipality_id": SJL, "ruos_number": number, "registered_on": "2021-07-12"})
        assert first.status_code == 201, first.text
    other = new_osv(registry, name="Club de Madres Santa Rosa", district="San Juan de Lurigancho")
    written = head(registry)
    for number, typed in zip(held, ("Resolucion de Gerencia N° 45-2023-GDS-MDSJL", "RUOS N˚ 0908", "R.U.O.S.N. 0907", "RUOSNº0905",
                                    "RUOS 1,235-2022"), strict=True):
        again = registry.post(f"/osvs/{other}/ruos-registration", json={"municipality_id": SJL, "ruos_number": typed, "registered_on": "2021-07-12"})
        problem = assert_problem(again, 409, "ruos_number", "ruos_number_unique")
        assert holders[number] in problem["detail"] and f"typed '{number}'" in problem["detail"], (typed, problem)
    assert head(registry) == written
    for typed in ("Resolucion de Gerencia N° 46-2023-GDS-MDSJL", "RUOS N-0908", "R.U.O.S.N 0907", "RUOS 1-235-2022", "RUOS 12,3456"):
        apart = new_osv(registry, name=f"Vecinos {typed}", district="San Juan de Lurigancho")
        taken = registry.post(f"/osvs/{apart}/ruos-registration", json={"municipality_id": SJL, "ruos_number": typed, "registered_on": "2021-07-12"})
        assert taken.status_code == 201, taken.text


def test_a_focal_point_learns_neither_another_districts_osv_nor_its_municipalitys_documents_through_the_ruos(
    registry: TestClient, tokens: IssuedTokens
) -> None:
    """Trying RUOS numbers named the Comas OSV holding one to San Juan de Lurigancho's focal point, and readiness
    against Comas answered Comas's accepted documents, which that focal point may not read (tester 37 F6). Comas's
    numbers are no longer any claim in San Juan de Lurigancho's RUOS (tester 127 F4): its focal point's registration is
    taken and says nothing of Comas's."""
    comas = new_osv(registry, name="Club de Madres de Collique")
    registry.post(f"/osvs/{comas}/ruos-registration", json={"municipality_id": COMAS, "ruos_number": "RUOS-MML-2021-0101", "registered_on": "2021-07-12"})
    sjl = new_osv(registry, name="Vecinos Solidarios de Zárate", district="San Juan de Lurigancho")
    application_id = submit(registry, sjl, municipality_id=SJL)["application_id"]
    focal_point = tokens.headers("municipal-150132")
    tried = registry.post(
        f"/osvs/{sjl}/ruos-applications/{application_id}/registration", params={"dry_run": "true"}, headers=focal_point,
        json={"registered_on": "2021-08-02", "ruos_number": "RUOS-MML-2021-0101"},
    )
    assert tried.status_code == 201, tried.text
    assert comas not in tried.text

    for reader in (focal_point, {}):
        elsewhere = registry.get(f"/osvs/{sjl}/ruos-readiness", params={"municipality_id": COMAS}, headers=reader)
        assert_problem(elsewhere, 422, "municipality_id", "municipality_of_the_osv")
    assert registry.get(f"/osvs/{sjl}/ruos-readiness", params={"municipality_id": "mml"}, headers=focal_point).status_code == 200


def test_a_focal_point_whose_ruos_holds_a_number_is_not_told_which_osv_when_it_does_not_read_it(
    registry: TestClient, tokens: IssuedTokens
) -> None:
    """An application recorded before applications were held to the OSV's two municipalities may have put a Comas OSV
    in San Juan de Lurigancho's RUOS: its number is held there, and that district's focal point, who does not read
    Comas's OSVs, is told "another OSV" (tester 37 F6), as staff are told which."""
    comas = new_osv(registry, name="Club de Madres de Collique")
    stored = application_of(registry)
    osv = stored.get_osv(UUID(comas))
    before_the_rule = osv.submit_application(SJL, date(2021, 6, 14), ALL_DOCUMENTS, None, None)
    stored.save(osv)
    held = step(registry, comas, str(before_the_rule), "registration", registered_on="2021-07-12", ruos_number="RUOS-045-2021")
    assert held.status_code == 201, held.text

    sjl = new_osv(registry, name="Vecinos Solidarios de Zárate", district="San Juan de Lurigancho")
    application_id = submit(registry, sjl, municipality_id=SJL)["application_id"]
    taken = registry.post(
        f"/osvs/{sjl}/ruos-applications/{application_id}/registration", headers=tokens.headers("municipal-150132"),
        json={"registered_on": "2021-08-02", "ruos_number": "ruos-045-2021"},
    )
    problem = assert_problem(taken, 409, "ruos_number", "ruos_number_unique")
    assert comas not in taken.text and "another OSV" in problem["detail"]
    staff = step(registry, sjl, application_id, "registration", registered_on="2021-08-02", ruos_number="ruos-045-2021")
    assert comas in assert_problem(staff, 409, "ruos_number", "ruos_number_unique")["detail"]


def test_a_direct_registration_keeps_working_and_may_carry_the_resolution_and_term(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    response = registry.post(
        f"/osvs/{osv_id}/ruos-registration",
        json={"municipality_id": COMAS, "ruos_number": "RUOS-7", "registered_on": "2021-04-02", "resolution_number": "RGM-7", "board_term_ends_on": "2023-04-01"},
    )
    assert response.status_code == 201, response.text
    osv = response.json()
    assert (osv["ruos"]["number"], osv["resolution_number"], osv["board_term_ends_on"], osv["ruos_application"]) == ("RUOS-7", "RGM-7", "2023-04-01", None)


def test_a_direct_registration_waits_for_an_open_application(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    submit(registry, osv_id)
    assert_problem(registry.post(f"/osvs/{osv_id}/ruos-registration", json={"municipality_id": COMAS, "ruos_number": "RUOS-7", "registered_on": "2021-07-01"}), 409, rule="one_open_application")


# Boards and the lists that follow them -------------------------------------------------


def test_boards_whose_term_ends_soon_or_has_ended_are_listed_as_expiring(registry: TestClient, clock: FakeToday) -> None:
    soon = new_osv(registry, name="Termina pronto")
    later = new_osv(registry, name="Termina después")
    ended = new_osv(registry, name="Ya terminó")
    unknown = new_osv(registry, name="Sin fecha")
    for osv_id, number, term in ((soon, "R-1", "2023-07-11"), (later, "R-2", "2024-03-01"), (ended, "R-3", "2023-01-31"), (unknown, "R-4", None)):
        body = {"municipality_id": COMAS, "ruos_number": number, "registered_on": "2021-07-12", "board_term_ends_on": term}
        assert registry.post(f"/osvs/{osv_id}/ruos-registration", json=body).status_code == 201

    clock.today = date(2023, 6, 1)
    expiring = registry.get("/osvs", params={"ruos": "expiring"}).json()
    assert [o["id"] for o in expiring] == [soon, ended]
    assert [o["id"] for o in registry.get("/osvs", params={"ruos": "expiring", "within_days": 300}).json()] == [soon, later, ended]

    clock.today = date(2023, 6, 20)
    renewed = registry.post(f"/osvs/{soon}/board-renewal", json={"renewed_on": "2023-06-20", "term_ends_on": "2025-06-19"})
    assert renewed.status_code == 201 and renewed.json()["board_term_ends_on"] == "2025-06-19"
    assert [o["id"] for o in registry.get("/osvs", params={"ruos": "expiring"}).json()] == [ended]

    clock.today = date(2025, 5, 1)
    assert [o["id"] for o in registry.get("/osvs", params={"ruos": "expiring"}).json()] == [soon, later, ended]


def test_the_list_filters_by_ruos_progress(registry: TestClient) -> None:
    idle = new_osv(registry, name="Sin trámite")
    applying = new_osv(registry, name="Solicitante")  # "En trámite" is "Sin trámite" with a word left out: a possible duplicate
    observed = new_osv(registry, name="Observada")
    registered = new_osv(registry, name="Inscrita")
    submit(registry, applying)
    application_id = submit(registry, observed)["application_id"]
    step(registry, observed, application_id, "observation", observed_on="2021-06-24", reasons=[{"code": "missing_document"}])
    registry.post(f"/osvs/{registered}/ruos-registration", json={"municipality_id": COMAS, "ruos_number": "R-9", "registered_on": "2021-05-01"})

    def listed(ruos: str) -> list[str]:
        return [o["id"] for o in registry.get("/osvs", params={"ruos": ruos}).json()]

    assert listed("registered") == [registered]
    assert listed("unregistered") == [idle, applying, observed]
    assert listed("applying") == [applying, observed]
    assert listed("observed") == [observed]
    assert_problem(registry.get("/osvs", params={"ruos": "pending"}), 422, "ruos")
    assert_problem(registry.get("/osvs", params={"ruos": "expiring", "within_days": -1}), 422, "within_days")


def test_a_board_renewal_needs_a_registered_osv_and_a_term_after_it(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    assert_problem(registry.post(f"/osvs/{osv_id}/board-renewal", json={"renewed_on": "2021-12-01", "term_ends_on": "2025-06-30"}), 409, "osv_id", "registered_in_ruos")
    registry.post(f"/osvs/{osv_id}/ruos-registration", json={"municipality_id": COMAS, "ruos_number": "R-1", "registered_on": "2021-07-12"})
    assert_problem(registry.post(f"/osvs/{osv_id}/board-renewal", json={"renewed_on": "2021-07-11", "term_ends_on": "2023-06-30"}), 422, "renewed_on", "not_before_registered_on")
    assert_problem(registry.post(f"/osvs/{osv_id}/board-renewal", json={"renewed_on": "2021-12-01", "term_ends_on": "2021-11-30"}), 422, "term_ends_on", "after_renewed_on")


def test_decreed_non_working_days_move_the_amendment_deadline_and_a_new_decree_is_recorded_without_a_release(
    registry: TestClient, clock: FakeToday
) -> None:
    clock.today = date(2027, 3, 10)  # every step below has happened by then, the decree "published later" included
    # Observed on Thursday 23 December 2021: 24, 27, 31 Dec and 3 Jan were días no laborables (D.S. 161-2021-PCM).
    osv_id = new_osv(registry)
    application = submit(registry, osv_id, submitted_on="2021-12-01")
    observed = step(registry, osv_id, application["application_id"], "observation", observed_on="2021-12-23",
                    reasons=[{"code": "missing_document"}], amend_within_working_days=5)
    assert observed.status_code == 201, observed.text
    assert observed.json()["amend_by"] == "2022-01-05"
    amended = step(registry, osv_id, application["application_id"], "amendment", amended_on="2022-01-04", documents=["croquis"])
    assert amended.status_code == 201, amended.text

    listed = registry.get("/non-working-days", params={"year": 2021}).json()
    assert [d["day"] for d in listed][-3:] == ["2021-12-24", "2021-12-27", "2021-12-31"]
    assert {d["decree"] for d in listed} == {"D.S. N.º 161-2021-PCM"} and not any(d["recorded"] for d in listed)

    # A decree published later is recorded, and the next deadline skips its day.
    recorded = registry.post("/non-working-days", json={"day": "2027-03-05", "decree": "D.S. N.º 010-2027-PCM"})
    assert recorded.status_code == 201, recorded.text
    assert recorded.json() == {"day": "2027-03-05", "decree": "D.S. N.º 010-2027-PCM", "scope": "nacional", "source": None, "recorded": True}
    again = registry.post("/non-working-days", json={"day": "2027-03-05", "decree": "D.S. N.º 011-2027-PCM"})
    assert_problem(again, 409, "day", "non_working_day_once")
    other = new_osv(registry, name="Vecinos de Año Nuevo")
    second = submit(registry, other, submitted_on="2027-03-01")
    observed = step(registry, other, second["application_id"], "observation", observed_on="2027-03-04",
                    reasons=[{"code": "missing_document"}], amend_within_working_days=1)
    assert observed.json()["amend_by"] == "2027-03-08"  # Friday 5 skipped, then the weekend
    revoked = registry.post("/non-working-days/2027-03-05/revocation", json={"revoked_by": "D.S. N.º 012-2027-PCM"})
    assert revoked.status_code == 201 and revoked.json() == []


def test_a_non_working_day_is_decreed_and_revoked_ahead_of_it_within_the_planning_horizon(registry: TestClient, clock: FakeToday) -> None:
    """Decrees are published weeks or months before their días no laborables: the day was refused as in the future
    (422 not_in_future) until the day before, so an observation meanwhile counted it as a working day (helper h132)."""
    clock.today = date(2027, 1, 4)
    ahead = registry.post("/non-working-days", json={"day": "2027-07-30", "decree": "D.S. N.º 020-2027-PCM"})
    assert ahead.status_code == 201, ahead.text
    assert registry.post("/non-working-days/2027-07-30/revocation", json={"revoked_by": "D.S. N.º 031-2027-PCM"}).status_code == 201
    assert_problem(registry.post("/non-working-days", json={"day": "2038-01-04", "decree": "D.S. N.º 001-2038-PCM"}), 422, "day",
                   "within_planning_horizon")


def test_a_decree_on_a_weekend_or_a_public_holiday_is_a_mistyped_day_and_writes_nothing(registry: TestClient) -> None:
    """Tester 208 F8: a Saturday and the Inmaculada Concepción were recorded and published as decreed días no
    laborables; neither is a working day whatever is decreed, so the day is most likely mistyped."""
    written = head(registry)
    decree = {"decree": "D.S. N.º 999-2026-PCM", "scope": "nacional"}
    saturday = assert_problem(registry.post("/non-working-days", json={"day": "2026-11-28", **decree}), 422, "day", "working_day")
    assert "2026-11-28 is a Saturday" in saturday["detail"]
    assert "a Sunday" in assert_problem(registry.post("/non-working-days", json={"day": "2026-11-29", **decree}), 422, "day", "working_day")["detail"]
    for scope in ("nacional", "Región Cusco"):  # a national holiday is one in every area
        holiday = registry.post("/non-working-days", json={"day": "2026-12-08", "decree": decree["decree"], "scope": scope})
        assert "a public holiday in Peru (Inmaculada Concepción)" in assert_problem(holiday, 422, "day", "working_day")["detail"]
    # With the body's other mistakes, in one 422.
    both = assert_problem(registry.post("/non-working-days", json={"day": "2026-12-08", **decree, "source": "javascript:1"}), 422)
    assert {(e["field"], e["rule"]) for e in both["errors"]} == {("day", "working_day"), ("source", "web_address")}
    assert head(registry) == written
    assert not {"2026-11-28", "2026-11-29", "2026-12-08"} & {d["day"] for d in registry.get("/non-working-days", params={"year": 2026}).json()}
    assert registry.post("/non-working-days", json={"day": "2026-11-27", **decree}).status_code == 201  # the Friday


def test_a_non_working_day_recorded_on_a_weekend_before_the_rule_still_loads_and_is_revoked(registry: TestClient) -> None:
    """A store holding a decree on a Saturday, recorded before 422 ``working_day`` (tester 208 F8), lists it as recorded,
    and it can be revoked as any other."""
    from services.registry.domain.workingdays import DecreedDays

    application = application_of(registry)
    recorded = application.find(DecreedDays.create_id(), DecreedDays) or DecreedDays()
    recorded._decreed(day=date(2026, 11, 28), decree="D.S. N.º 999-2026-PCM", scope="nacional", source=None)  # as it replays
    application.save(recorded)
    listed = registry.get("/non-working-days", params={"year": 2026}).json()
    assert [d["day"] for d in listed if d["recorded"]] == ["2026-11-28"]
    revoked = registry.post("/non-working-days/2026-11-28/revocation", json={"revoked_by": "D.S. N.º 1000-2026-PCM"})
    assert revoked.status_code == 201 and [d["day"] for d in revoked.json() if d["recorded"]] == []


def test_documents_recorded_for_the_osv_are_the_applications_and_it_is_not_registered_while_any_is_missing(
    registry: TestClient,
) -> None:
    osv_id = new_osv(registry)
    for document in ALL_DOCUMENTS[:5]:
        response = registry.post(f"/osvs/{osv_id}/documents", json={"document": document, "prepared_on": "2021-06-01"})
        assert response.status_code == 201, response.text

    # The application lists what the OSV recorded, and what it files now joins the same list.
    application = submit(registry, osv_id, documents=["padron_socios"])
    assert application["documents"] == ALL_DOCUMENTS[:6]
    assert application["missing_documents"] == ["croquis"]
    assert registry.get(f"/osvs/{osv_id}/ruos-readiness").json()["missing_documents"] == ["croquis"]

    # It cannot be registered while a document is missing, and it says which and how to record it.
    refused = step(registry, osv_id, application["application_id"], "registration", registered_on="2021-07-01", ruos_number="RUOS-150110-0099")
    assert_problem(refused, 409, "documents", "documents_complete")
    assert "croquis" in refused.json()["detail"] and "POST /osvs/{osv_id}/documents" in refused.json()["detail"]

    # Recorded for the OSV, the document reaches the open application, which is then registered.
    registry.post(f"/osvs/{osv_id}/documents", json={"document": "croquis", "prepared_on": "2021-06-20"})
    shown = registry.get(f"/osvs/{osv_id}/ruos-applications/{application['application_id']}").json()
    assert (shown["documents"], shown["missing_documents"]) == (ALL_DOCUMENTS, [])
    registered = step(registry, osv_id, application["application_id"], "registration", registered_on="2021-07-01", ruos_number="RUOS-150110-0099")
    assert registered.status_code == 201, registered.text


def test_numbers_decree_sources_and_days_in_the_path_are_refused_in_plain_words(registry: TestClient) -> None:
    """Tester 135 F7, F8, F10: a lone dash was taken as an RUOS number; a decree's source ``javascript:…`` was taken and
    published; a revocation's day in the path was refused in pydantic's words."""
    osv_id = new_osv(registry)
    written = head(registry)
    dash = {"municipality_id": COMAS, "ruos_number": "\uff0d", "registered_on": "2021-07-12"}
    assert_problem(registry.post(f"/osvs/{osv_id}/ruos-registration", json=dash), 422, "ruos_number", "number_has_digits")
    script = {"day": "2021-12-03", "decree": "D.S. N.º 998-2021-PCM", "source": "javascript:alert(1)"}
    assert_problem(registry.post("/non-working-days", json=script), 422, "source", "web_address")
    assert registry.post("/non-working-days", json={**script, "source": "https://busquedas.elperuano.pe/normaslegales/ds-998"}).status_code == 201
    refused = assert_problem(registry.post("/non-working-days/2027-02-30/revocation", json={"revoked_by": "D.S. 1"}), 422, "day", "iso_8601_date")
    assert "2027-02-30 is not one" in refused["detail"]
    assert head(registry) == written + 2  # the decree with a web address alone (and the record of decreed days it opened)
