"""Municipalities over HTTP: they exist before anything is recorded, and keep their history once it is."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import assert_problem
from tests.support.clients import head
from tests.support.identity import IssuedTokens

COMAS = "150110"
SJL = "150132"
OFFICE = "Subgerencia de Participación Vecinal"


def assign(client: TestClient, municipality_id: str, role: str, on: str) -> dict[str, Any]:
    response = client.post(f"/municipalities/{municipality_id}/focal-points", json={"office": OFFICE, "role": role, "assigned_on": on})
    assert response.status_code == 201, response.text
    return response.json()


def test_the_mml_and_the_43_districts_answer_from_reference_data_without_any_event(registry: TestClient) -> None:
    municipalities = registry.get("/municipalities").json()
    assert len(municipalities) == 44
    assert municipalities[0]["id"] == "mml"
    sjl = registry.get(f"/municipalities/{SJL}").json()
    assert sjl == {
        "id": SJL,
        "name": "Municipalidad Distrital de San Juan de Lurigancho",
        "zone": "Lima Este",
        "current_focal_point": None,
        "focal_points": [],
        "accepted_documents": ["DNI", "CE", "PTP", "CPP"],
        "accepted_documents_history": [],
        "agreements": [],
    }
    assert len(registry.get("/municipalities", params={"without_focal_point": "true"}).json()) == 44
    assert head(registry) == 0


def test_an_unknown_municipality_is_not_found(registry: TestClient) -> None:
    assert_problem(registry.get("/municipalities/070101"), 404, "municipality_id", "known_municipality")  # tester 164 F7
    assert_problem(registry.post("/municipalities/callao/focal-points", json={"office": OFFICE, "role": "jefe", "assigned_on": "2021-02-01"}), 404)
    assert_problem(registry.put("/municipalities/callao/accepted-documents", json={"accepted": ["DNI"], "changed_on": "2021-02-01"}), 404)
    assert head(registry) == 0


def test_another_municipality_is_not_found_for_a_focal_point_in_the_words_of_any_record_outside_its_scope(
    registry: TestClient, tokens: IssuedTokens
) -> None:
    """Comas is a municipality of Lima: the SJL focal point is not told it is not one, nor anything that tells it from
    an id that names none."""
    focal_point = tokens.headers("municipal-150132")
    assert registry.get(f"/municipalities/{SJL}", headers=focal_point).json()["id"] == SJL
    outside = {id_: assert_problem(registry.get(f"/municipalities/{id_}", headers=focal_point), 404)["detail"] for id_ in (COMAS, "mml", "070101")}
    assert outside[COMAS] == f"municipality '{COMAS}' was not found"
    assert {detail.replace(f"'{id_}'", "'…'") for id_, detail in outside.items()} == {"municipality '…' was not found"}
    # Whoever sees all of Lima is still told how to name a municipality.
    assert "'070101' is not a municipality of Lima Metropolitana" in assert_problem(registry.get("/municipalities/070101"), 404)["detail"]


def test_a_rotation_keeps_both_focal_points_and_a_departure_breaks_continuity(registry: TestClient) -> None:
    first = assign(registry, COMAS, "especialista", "2021-02-01")
    second = assign(registry, COMAS, "coordinadora", "2021-05-03")
    comas = registry.get(f"/municipalities/{COMAS}").json()
    assert comas["current_focal_point"]["focal_point_id"] == second["focal_point_id"]
    assert [(f["focal_point_id"], f["left_on"]) for f in comas["focal_points"]] == [
        (first["focal_point_id"], "2021-05-03"),
        (second["focal_point_id"], None),
    ]
    without = [m["id"] for m in registry.get("/municipalities", params={"without_focal_point": "true"}).json()]
    assert COMAS not in without and len(without) == 43

    departure = registry.post(f"/municipalities/{COMAS}/focal-points/{second['focal_point_id']}/departure", json={"left_on": "2021-12-31"})
    assert departure.status_code == 201 and departure.json()["left_on"] == "2021-12-31"
    assert registry.get(f"/municipalities/{COMAS}").json()["current_focal_point"] is None
    assert COMAS in [m["id"] for m in registry.get("/municipalities", params={"without_focal_point": "true"}).json()]

    events = registry.get("/events").json()["events"]
    assert [e["type"] for e in events] == ["FocalPointAssigned", "FocalPointLeft", "FocalPointAssigned", "FocalPointLeft"]
    assert {e["data"]["municipality_id"] for e in events} == {COMAS}


def test_focal_point_errors_name_the_field_and_rule(registry: TestClient) -> None:
    focal_point = assign(registry, COMAS, "especialista", "2021-02-01")["focal_point_id"]
    path = f"/municipalities/{COMAS}/focal-points"
    assert_problem(registry.post(path, json={"office": OFFICE, "role": "coordinadora", "assigned_on": "2021-01-31"}), 422, "assigned_on", "not_before_current_assigned_on")
    assert_problem(registry.post(path, json={"office": OFFICE, "role": "coordinadora", "assigned_on": "2021-05-03", "name": "Rosa Huamán"}), 422, "name", "extra_forbidden")
    assert_problem(registry.post(path, json={"office": "", "role": "coordinadora", "assigned_on": "2021-05-03"}), 422, "office")
    named = registry.post(path, json={"office": OFFICE, "role": "Lic. Carmen Salazar Quispe", "assigned_on": "2021-05-03"})
    assert_problem(named, 422, "role", "post_not_person")  # published to partners and kept for good (tester 225 F7)
    assert "Carmen" not in named.text
    assert_problem(registry.post(f"{path}/{focal_point}/departure", json={"left_on": "2021-01-01"}), 422, "left_on", "not_before_assigned_on")
    assert_problem(registry.post(f"{path}/00000000-0000-4000-8000-000000000000/departure", json={"left_on": "2021-06-01"}), 404)
    registry.post(f"{path}/{focal_point}/departure", json={"left_on": "2021-06-01"})
    assert_problem(registry.post(f"{path}/{focal_point}/departure", json={"left_on": "2021-06-02"}), 409, "left_on", "leave_once")


def test_accepted_documents_change_with_their_history(registry: TestClient) -> None:
    path = f"/municipalities/{SJL}/accepted-documents"
    first = registry.put(path, json={"accepted": ["DNI", "CE", "PTP", "CPP", "CEDULA_VE"], "changed_on": "2021-09-01"})
    assert first.status_code == 200, first.text
    second = registry.put(path, json={"accepted": ["DNI", "CE", "CPP", "CEDULA_VE", "SOLICITANTE_REFUGIO"], "changed_on": "2022-03-01"}).json()
    assert second["accepted_documents"] == ["DNI", "CE", "CPP", "CEDULA_VE", "SOLICITANTE_REFUGIO"]
    assert [c["changed_on"] for c in second["accepted_documents_history"]] == ["2021-09-01", "2022-03-01"]
    event = registry.get("/events").json()["events"][-1]
    assert (event["type"], event["data"]["municipality_id"], event["data"]["changed_on"]) == ("AcceptedDocumentsChanged", SJL, "2022-03-01")


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"accepted": ["DNI", "CE", "PTP", "CPP"], "changed_on": "2021-09-01"}, "accepted", "change_required"),
        ({"accepted": [], "changed_on": "2021-09-01"}, "accepted", "too_short"),
        ({"accepted": ["DNI", "CARNET"], "changed_on": "2021-09-01"}, "accepted.1", "enum"),
        ({"accepted": ["DNI"], "changed_on": "septiembre"}, "changed_on", "iso_8601_date"),
    ],
)
def test_a_bad_change_of_accepted_documents_is_422_and_writes_nothing(registry: TestClient, body: dict[str, Any], field: str, rule: str) -> None:
    assert_problem(registry.put(f"/municipalities/{SJL}/accepted-documents", json=body), 422, field, rule)
    assert head(registry) == 0


def test_a_document_type_not_listed_is_told_the_codes_as_they_are_written_not_as_english(registry: TestClient) -> None:
    # "the API's own codes, in English" was said of PASAPORTE and CEDULA_VE (tester 276).
    answer = registry.put(f"/municipalities/{SJL}/accepted-documents", json={"accepted": ["DNI", "CARNET"], "changed_on": "2021-09-01"})
    [error] = answer.json()["errors"]
    assert "'CEDULA_VE'" in error["message"] and "written as listed, not translated" in error["message"], error
    assert "English" not in error["message"]


def test_an_agreement_outlives_the_focal_points_and_only_its_count_of_commitments_is_published(registry: TestClient) -> None:
    commitments = ["Aceptar el CPP y la cédula venezolana en el RUOS", "Mantener un punto focal designado"]
    response = registry.post(
        "/municipalities/mml/agreements",
        json={"title": "Convenio RUOS inclusivo", "signed_on": "2021-11-15", "commitments": commitments, "document_reference": "Exp. 2021-0456"},
    )
    assert response.status_code == 201, response.text
    agreement = response.json()
    mml = registry.get("/municipalities/mml").json()
    assert mml["agreements"] == [agreement] and agreement["commitments"] == commitments
    published = registry.get("/events").json()["events"][-1]
    assert published["data"]["commitments_count"] == 2
    assert commitments[0] not in json.dumps(published, ensure_ascii=False)
    assert_problem(
        registry.post("/municipalities/mml/agreements", json={"title": "X", "signed_on": "2021-11-15", "commitments": [], "document_reference": "Y"}),
        422,
        "commitments",
    )
