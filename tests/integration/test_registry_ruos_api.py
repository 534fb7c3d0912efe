"""An OSV's way into the RUOS over HTTP: readiness, application, observation, amendment, registration, and the
refusals of each step. The RUOS numbers are ``test_registry_ruos_numbers``; the boards, the lists that follow them, the
decreed non-working days and the documents, ``test_registry_ruos_boards``.

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
from tests.support.clients import application_of, head, service_client
from tests.support.identity import IssuedTokens
from tests.support.ruos import (
    ALL_DOCUMENTS,
    COMAS,
    SJL,
    apply_counts,
    clock_fixture,  # noqa: F401 - registry's clock, a fixture
    counted,
    new_osv,
    step,
    submit,
    today_fixture,  # noqa: F401 - registry's clock, a fixture
)

DETAIL = "la cédula de la presidenta Yajaira no es aceptada"


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
