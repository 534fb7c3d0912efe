"""An OSV's details, history, contact and dissolution over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.views import make_engine
from shared.views.osvdirectory import OSVDirectory
from tests.support.api import assert_problem
from tests.support.clients import FakeToday, head, service_client
from tests.support.ruos import ALL_DOCUMENTS, COMAS, new_osv, step, submit

NOTE = "la presidenta Yajaira se mudó a Santiago de Chile"


@pytest.fixture
def today() -> FakeToday:
    """Registry's clock."""
    return FakeToday(date(2021, 8, 2))


def test_an_osv_is_mapped_with_its_details_and_they_can_be_corrected(registry: TestClient) -> None:
    osv_id = new_osv(registry, kind="vecinal", composition="mixed", focus_areas=["employment", "anti_discrimination"], contact_channel="whatsapp")
    osv = registry.get(f"/osvs/{osv_id}").json()
    assert (osv["composition"], osv["focus_areas"], osv["contact_channel"]) == ("mixed", ["employment", "anti_discrimination"], "whatsapp")
    assert osv["contact"] == {"status": "in_touch", "lost_since": None, "restored_on": None} and osv["dissolution"] is None

    response = registry.patch(f"/osvs/{osv_id}", json={"composition": "migrant_led", "kind": "vecinal"})
    assert response.status_code == 200, response.text
    assert (response.json()["composition"], response.json()["version"]) == ("migrant_led", 2)
    updated = registry.get("/events").json()["events"][-1]
    assert updated["type"] == "OSVDetailsUpdated"
    assert (updated["data"]["changed"], updated["data"]["updated_on"]) == (["composition"], "2021-08-02")  # today, by the clock

    cleared = registry.patch(f"/osvs/{osv_id}", json={"contact_channel": None, "updated_on": "2021-08-01"}).json()
    assert cleared["contact_channel"] is None


def test_the_answer_to_a_mapping_is_the_osv_as_it_reads_back_from_the_store(registry: TestClient) -> None:
    body = {
        "name": "Vecinos del Parque Zonal",
        "district": "San Juan de Lurigancho",
        "mapped_on": "2021-03-15",
        "kind": "vecinal",
        "composition": "mixed",
        "focus_areas": ["employment", "anti_discrimination"],
        "contact_channel": "whatsapp",
    }
    answered = registry.post("/osvs", json=body)
    assert answered.status_code == 201, answered.text
    assert answered.json() == registry.get(f"/osvs/{answered.json()['id']}").json()


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({}, "body", "change_required"),
        ({"composition": "mixed"}, "body", "change_required"),
        ({"kind": "cultural", "updated_on": "2021-01-01"}, "updated_on", "not_before_mapped_on"),
        ({"focus_areas": ["football"]}, "focus_areas.0", "enum"),
        ({"contact_channel": "+51 987 654 321"}, "contact_channel", "enum"),
        ({"whatsapp_number": "987654321"}, "whatsapp_number", "extra_forbidden"),
    ],
)
def test_a_change_that_changes_nothing_or_carries_bad_input_is_422(registry: TestClient, body: dict[str, Any], field: str, rule: str) -> None:
    osv_id = new_osv(registry, composition="mixed")
    written = head(registry)
    assert_problem(registry.patch(f"/osvs/{osv_id}", json=body), 422, field, rule)
    assert head(registry) == written


def test_a_phone_number_is_not_a_contact_channel_at_mapping_either(registry: TestClient) -> None:
    response = registry.post("/osvs", json={"name": "X", "district": "Ate", "mapped_on": "2021-03-01", "contact_channel": "987654321"})
    assert_problem(response, 422, "contact_channel", "enum")
    assert_problem(registry.patch("/osvs/00000000-0000-4000-8000-000000000000", json={"kind": "cultural"}), 404)
    assert_problem(registry.get("/osvs/00000000-0000-4000-8000-000000000000/history"), 404)


def test_a_mapping_row_with_several_mistakes_gets_them_all_in_one_answer(registry: TestClient) -> None:
    """A promoter's Kobo mapping row with a name of signs only, a district of Arequipa, a Peruvian-style date and a kind
    not on the list: one refusal names all four, the district with the others (it came in a second round), and nothing
    is written."""
    written = head(registry)
    response = registry.post("/osvs", json={"name": "!!!", "district": "Cayma", "mapped_on": "15/03/2021", "kind": "club"})

    problem = assert_problem(response, 422)
    assert {(e["field"], e["rule"]) for e in problem["errors"]} == {
        ("name", "name_has_letters"), ("district", "lima_district"), ("mapped_on", "iso_8601_date"), ("kind", "enum"),
    }
    assert head(registry) == written


def test_a_district_that_the_settings_file_adds_is_mapped(tmp_path: Path) -> None:
    """The district is checked while the body is read against the service's own table: one a law created, added to the
    file the `districts_file` setting names (no release), is mapped there, not refused before the application sees it."""
    table = json.loads((Path(__file__).parents[2] / "shared" / "data" / "districts.json").read_text("utf-8"))
    table["districts"].append({"ubigeo": "150144", "name": "Nuevo Horizonte", "zone": "Lima Este", "valid_from": "2021-01-01"})
    districts_file = tmp_path / "districts.json"
    districts_file.write_text(json.dumps(table), "utf-8")

    with service_client("registry", tmp_path / "var", settings={"districts_file": districts_file}) as client:
        response = client.post("/osvs", json={"name": "Vecinos de Nuevo Horizonte", "district": "nuevo horizonte", "mapped_on": "2021-03-15"})
        assert response.status_code == 201, response.text
        assert (response.json()["district"], response.json()["zone"]) == ("Nuevo Horizonte", "Lima Este")
        assert_problem(client.post("/osvs", json={"name": "Vecinos de Cayma", "district": "Cayma", "mapped_on": "2021-03-15"}), 422, "district", "lima_district")


def test_a_district_typed_by_name_is_one_district_exactly_or_refused_naming_the_districts_it_may_mean(registry: TestClient) -> None:
    """"Santa María" is Santa María del Mar to the table, Santa María de Huachipa (Lurigancho) to the field, and "San Juan
    de Lurigancho Alto" was taken for San Juan de Lurigancho: each OSV went to another district's municipality, focal
    point and partner without a word (tester 30, M9). A name is a district's (or a usual spelling's) exactly, case,
    accents and spaces aside; the rest is 422 `lima_district` naming the value and the districts meant or near."""
    for given, named in (("Santa Maria", ["Santa María del Mar (150138)", "Lurigancho (150118)"]),
                         ("San Juan de Lurigancho Alto", ["San Juan de Lurigancho (150132)"]),
                         ("Puente Piedra Alta", ["Puente Piedra (150125)"])):
        refused = registry.post("/osvs", json={"name": "Comedor Santa Rosa", "district": given, "mapped_on": "2021-03-15"})
        body = assert_problem(refused, 422, "district", "lima_district")
        message = next(e["message"] for e in body["errors"] if e["field"] == "district")
        assert f"'{given}'" in message and all(district in message for district in named), message
    for given, district in (("SANTA MARÍA  DEL MAR", "Santa María del Mar"), ("150118", "Lurigancho"), ("Brena", "Breña"),
                            ("SJL", "San Juan de Lurigancho"), ("el rimac", "Rímac")):
        mapped = registry.post("/osvs", json={"name": f"Comedor de {given}", "district": given, "mapped_on": "2021-03-15"})
        assert mapped.status_code == 201, mapped.text
        assert mapped.json()["district"] == district


def test_a_zone_given_as_the_district_is_refused_naming_the_zones_districts_not_the_district_lima(registry: TestClient) -> None:
    """Tester 171 F7: "Lima Norte", one of the programme's zones, was answered "did you mean Lima (150101)?", a
    near miss of the Cercado's district, which would send an OSV of Comas to the Cercado's municipality. The same rule
    says it is a zone and names the zone's districts, and suggests none outside it."""
    refused = registry.post("/osvs", json={"name": "Comedor Santa Rosa", "district": "Lima Norte", "mapped_on": "2021-03-15"})
    body = assert_problem(refused, 422, "district", "lima_district")
    message = next(e["message"] for e in body["errors"] if e["field"] == "district")
    assert "'Lima Norte' is a zone of Lima Metropolitana" in message, message
    assert "Comas (150110)" in message and "Los Olivos (150117)" in message, message
    assert "did you mean" not in message and "Lima (150101)" not in message, message
    refused = registry.post("/osvs", json={"name": "Comedor Santa Rosa", "district": "lima  sur", "mapped_on": "2021-03-15"})
    message = next(e["message"] for e in assert_problem(refused, 422, "district", "lima_district")["errors"])
    assert "a zone of Lima Metropolitana (Lima Sur)" in message and "Villa El Salvador (150142)" in message, message


def test_the_fields_names_of_places_in_lima_este_are_their_districts_or_refused_naming_them(registry: TestClient) -> None:
    """Tester 30b, L5: "Santa Maria de Huachipa" (the README's own example of what "Santa María" may mean) and "Huaycán"
    were 422 "is not a district" naming no district, while "Chosica" was taken as Lurigancho."""
    for name, given, district in (("Comedor Los Girasoles", "Santa Maria de Huachipa", "Lurigancho"),
                                  ("Vaso de Leche Nueva Aurora", "SANTA MARÍA DE HUACHIPA", "Lurigancho"),
                                  ("Club de Madres Huaycán", "Huaycán", "Ate"), ("Asociación Venezolanos Unidos", "huaycan", "Ate")):
        mapped = registry.post("/osvs", json={"name": name, "district": given, "mapped_on": "2021-03-15"})
        assert mapped.status_code == 201, mapped.text
        assert mapped.json()["district"] == district
    refused = registry.post("/osvs", json={"name": "Comedor Huachipa", "district": "Huachipa", "mapped_on": "2021-03-15"})
    body = assert_problem(refused, 422, "district", "lima_district")
    message = next(e["message"] for e in body["errors"] if e["field"] == "district")
    assert "Lurigancho (150118)" in message and "Ate (150103)" in message, message


def test_an_osvs_name_is_published_with_its_runs_of_spaces_made_one_and_its_case_as_given(registry: TestClient) -> None:
    """A name typed in a spreadsheet with double spaces was published with them, in partners' feeds, exports and the
    dashboard (tester 30, L2). Its case is the organisation's own: kept."""
    given = "  ASOCIACIÓN  DE VECINOS   NUEVA\u00a0 ESPERANZA de Huáscar "
    mapped = registry.post("/osvs", json={"name": given, "district": "150132", "mapped_on": "2021-03-15"})
    assert mapped.status_code == 201, mapped.text
    assert mapped.json()["name"] == "ASOCIACIÓN DE VECINOS NUEVA ESPERANZA de Huáscar"
    assert registry.get(f"/osvs/{mapped.json()['id']}").json()["name"] == "ASOCIACIÓN DE VECINOS NUEVA ESPERANZA de Huáscar"
    assert registry.get("/events").json()["events"][-1]["data"]["name"] == "ASOCIACIÓN DE VECINOS NUEVA ESPERANZA de Huáscar"


def test_an_osvs_name_typed_with_combining_accents_is_stored_and_published_composed(registry: TestClient) -> None:
    """Tester 33 F11: "Asociacio\u0301n" (NFD, as some phones and PDFs give it) was stored and published as typed: the
    partners, exports and any byte comparison saw two spellings of one name."""
    mapped = registry.post("/osvs", json={"name": "Asociacio\u0301n Cultural Zo\u0308e Pe\u0301rez", "district": "150132",
                                          "mapped_on": "2021-03-15"})
    assert mapped.status_code == 201, mapped.text
    composed = "Asociaci\u00f3n Cultural Z\u00f6e P\u00e9rez"
    assert mapped.json()["name"] == composed
    assert registry.get("/events").json()["events"][-1]["data"]["name"] == composed


def test_an_osvs_name_padded_past_200_characters_with_spaces_is_the_name_it_reads_as(registry: TestClient) -> None:
    # Tester 30b, L7: the length was counted before the runs of spaces were made one.
    mapped = registry.post("/osvs", json={"name": "Comedor" + " " * 250 + "Los Olivos", "district": "150132", "mapped_on": "2021-03-15"})
    assert mapped.status_code == 201, mapped.text
    assert mapped.json()["name"] == "Comedor Los Olivos"
    refused = registry.post("/osvs", json={"name": "C" * 201, "district": "150132", "mapped_on": "2021-03-15"})
    assert_problem(refused, 422, "name", "string_too_long")


def test_the_history_lists_every_event_with_when_it_was_recorded(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    registry.post(f"/osvs/{osv_id}/documents", json={"document": "estatuto", "prepared_on": "2021-05-01"})
    registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-06-01", "note": NOTE})
    history = registry.get(f"/osvs/{osv_id}/history").json()
    assert [(e["type"], e["version"]) for e in history] == [("OSVMapped", 1), ("RUOSDocumentPrepared", 2), ("ContactLost", 3)]
    assert history[1]["data"] == {"document": "estatuto", "prepared_on": "2021-05-01"}
    assert history[2]["data"]["note"] == NOTE
    assert all(e["recorded_at"] for e in history)


def test_contact_is_lost_and_restored_and_the_note_stays_in_registry(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    assert_problem(registry.post(f"/osvs/{osv_id}/contact-restored", json={"restored_on": "2021-06-01"}), 409, "restored_on", "contact_lost")
    lost = registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-06-01", "note": NOTE})
    assert lost.status_code == 201 and lost.json()["contact"] == {"status": "lost", "lost_since": "2021-06-01", "restored_on": None}
    assert_problem(registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-07-01"}), 409, "since", "contact_not_lost")
    assert_problem(registry.post(f"/osvs/{osv_id}/contact-restored", json={"restored_on": "2021-05-31"}), 422, "restored_on", "not_before_since")
    restored = registry.post(f"/osvs/{osv_id}/contact-restored", json={"restored_on": "2021-08-02"})
    assert restored.json()["contact"] == {"status": "in_touch", "lost_since": None, "restored_on": "2021-08-02"}
    feed = registry.get("/events").json()["events"]
    assert [e["type"] for e in feed] == ["OSVMapped", "ContactLost", "ContactRestored"]
    assert feed[1]["data"] == {"occurred_on": "2021-06-01", "osv_id": osv_id, "since": "2021-06-01"}
    assert NOTE not in json.dumps(feed, ensure_ascii=False)


def test_a_dissolved_osv_takes_no_new_command_and_other_services_learn_it(registry: TestClient, tmp_path: Path) -> None:
    osv_id = new_osv(registry)
    dissolved = registry.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": "2021-07-30", "reason": "members_emigrated", "note": NOTE})
    assert dissolved.status_code == 201, dissolved.text
    assert dissolved.json()["dissolution"] == {"dissolved_on": "2021-07-30", "reason": "members_emigrated"}
    written = head(registry)

    for path, body in (
        ("", {"kind": "cultural"}),
        ("/documents", {"document": "estatuto", "prepared_on": "2021-07-31"}),
        ("/ruos-applications", {"municipality_id": "150110", "submitted_on": "2021-07-31", "documents": []}),
        ("/ruos-registration", {"municipality_id": "mml", "ruos_number": "R-1", "registered_on": "2021-07-31"}),
        ("/contact-lost", {"since": "2021-07-31"}),
        ("/dissolution", {"dissolved_on": "2021-07-31", "reason": "other"}),
    ):
        response = registry.patch(f"/osvs/{osv_id}", json=body) if not path else registry.post(f"/osvs/{osv_id}{path}", json=body)
        problem = assert_problem(response, 409, "osv_id", "osv_not_dissolved")
        assert "2021-07-30" in problem["detail"]
    assert head(registry) == written

    # The shared directory funding and engagement keep reads registry's event as it is published.
    feed = registry.get("/events").json()["events"]
    assert feed[-1]["data"] == {"occurred_on": "2021-07-30", "osv_id": osv_id, "dissolved_on": "2021-07-30", "reason": "members_emigrated"}
    directory = OSVDirectory(make_engine(f"sqlite:///{tmp_path / 'funding-views.db'}"), "funding")
    directory.apply(feed)
    known = directory.get(osv_id)  # type: ignore[arg-type]
    assert known is not None and known.dissolved_on == date(2021, 7, 30)


DISSOLVED_ON = "2021-07-15"
"""The dissolution of the backlog stories below: a Thursday, so the day after it is a working day within an amendment's window."""


def _submitted(client: TestClient, osv_id: str) -> str:
    return str(submit(client, osv_id, submitted_on="2021-06-14")["application_id"])


def _observed(client: TestClient, osv_id: str) -> str:
    application_id = _submitted(client, osv_id)
    observed = step(client, osv_id, application_id, "observation", observed_on="2021-07-12", reasons=[{"code": "signatures_missing"}])
    assert observed.status_code == 201, observed.text  # to amend by 2021-07-19
    return application_id


def _registered(client: TestClient, osv_id: str) -> None:
    registered = client.post(f"/osvs/{osv_id}/ruos-registration", json={"municipality_id": "mml", "ruos_number": "RUOS-COMAS-2021-001", "registered_on": "2021-04-01"})
    assert registered.status_code == 201, registered.text


def _contact_lost(client: TestClient, osv_id: str) -> None:
    assert client.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-06-01"}).status_code == 201


BACKLOG: dict[str, tuple[Callable[[TestClient, str], str | None], str, str, Callable[[str], dict[str, Any]], str, str]] = {
    # command: (what was recorded before the dissolution → the application's id, if any; method, path, body of the date;
    #           the date's field; the event a record on or before the dissolution records)
    "details": (lambda c, o: None, "PATCH", "", lambda on: {"kind": "cultural", "updated_on": on}, "updated_on", "OSVDetailsUpdated"),
    "document": (lambda c, o: None, "POST", "/documents", lambda on: {"document": "estatuto", "prepared_on": on}, "prepared_on", "RUOSDocumentPrepared"),
    "application": (
        lambda c, o: None, "POST", "/ruos-applications", lambda on: {"municipality_id": COMAS, "submitted_on": on, "documents": ALL_DOCUMENTS},
        "submitted_on", "RUOSApplicationSubmitted",
    ),
    "observation": (
        _submitted, "POST", "/ruos-applications/{application_id}/observation",
        lambda on: {"observed_on": on, "reasons": [{"code": "signatures_missing"}]}, "observed_on", "RUOSApplicationObserved",
    ),
    "amendment": (
        _observed, "POST", "/ruos-applications/{application_id}/amendment", lambda on: {"amended_on": on, "documents": ["padron_socios"]},
        "amended_on", "RUOSApplicationAmended",
    ),
    "application_registration": (
        _submitted, "POST", "/ruos-applications/{application_id}/registration",
        lambda on: {"registered_on": on, "ruos_number": "RUOS-COMAS-2021-002"}, "registered_on", "RUOSRegistered",
    ),
    "direct_registration": (
        lambda c, o: None, "POST", "/ruos-registration", lambda on: {"municipality_id": "mml", "ruos_number": "RUOS-COMAS-2021-003", "registered_on": on},
        "registered_on", "RUOSRegistered",
    ),
    "board_renewal": (
        lambda c, o: _registered(c, o), "POST", "/board-renewal", lambda on: {"renewed_on": on, "term_ends_on": "2023-07-01"},
        "renewed_on", "BoardRenewed",
    ),
    "contact_lost": (lambda c, o: None, "POST", "/contact-lost", lambda on: {"since": on}, "since", "ContactLost"),
    "contact_restored": (
        lambda c, o: _contact_lost(c, o), "POST", "/contact-restored", lambda on: {"restored_on": on}, "restored_on", "ContactRestored",
    ),
}

WIND_DOWN = {
    "rejection": (
        _submitted, "POST", "/ruos-applications/{application_id}/rejection", lambda on: {"rejected_on": on, "reason": "withdrawn"},
        "rejected_on", "RUOSApplicationRejected",
    ),
}


def _dissolved_osv_with(client: TestClient, command: str) -> tuple[str, Callable[[str], Any]]:
    """An OSV whose earlier records ``command`` needs were entered, dissolved on :data:`DISSOLVED_ON`; and ``command``, given its date."""
    before, method, path, body, _, _ = {**BACKLOG, **WIND_DOWN}[command]
    osv_id = new_osv(client)
    application_id = before(client, osv_id)
    created = client.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": DISSOLVED_ON, "reason": "members_emigrated"})
    assert created.status_code == 201, created.text
    url = f"/osvs/{osv_id}{path.format(application_id=application_id)}"
    return osv_id, lambda on: client.request(method, url, json=body(on))


@pytest.mark.parametrize("on", ["2021-07-13", DISSOLVED_ON], ids=["before", "the_day_itself"])
@pytest.mark.parametrize("command", BACKLOG)
def test_a_record_dated_on_or_before_the_dissolution_is_taken_after_it_was_recorded(registry: TestClient, command: str, on: str) -> None:
    """A dissolved OSV's paper backlog, typed in later: taken, as funding and engagement take theirs (the day itself is still the OSV's)."""
    osv_id, record = _dissolved_osv_with(registry, command)
    answer = record(on)
    assert answer.status_code in (200, 201), answer.text

    recorded = registry.get(f"/osvs/{osv_id}/history").json()[-1]  # the OSV replays its events, the backlog after the dissolution
    assert recorded["type"] == BACKLOG[command][5]
    assert registry.get(f"/osvs/{osv_id}").json()["dissolution"] == {"dissolved_on": DISSOLVED_ON, "reason": "members_emigrated"}


@pytest.mark.parametrize("command", BACKLOG)
def test_a_record_dated_after_the_dissolution_is_409_naming_both_dates_and_stores_nothing(registry: TestClient, command: str) -> None:
    osv_id, record = _dissolved_osv_with(registry, command)
    written = head(registry)
    field = BACKLOG[command][4]

    problem = assert_problem(record("2021-07-16"), 409, "osv_id", "osv_not_dissolved")
    assert f"dissolved on {DISSOLVED_ON}" in problem["detail"] and f"{field} 2021-07-16 is after" in problem["detail"], problem
    assert head(registry) == written


@pytest.mark.parametrize("on", ["2021-07-13", "2021-07-16"], ids=["before", "after"])
def test_the_municipalitys_rejection_of_a_dissolved_osvs_application_is_taken_whatever_its_date(registry: TestClient, on: str) -> None:
    """A rejection winds the application down, as a municipality's decision on a participatory-budget submission does in
    funding: without it, a dissolved OSV's application would stay open (listed as applying) for good."""
    osv_id, reject = _dissolved_osv_with(registry, "rejection")
    rejected = reject(on)
    assert rejected.status_code == 201, rejected.text
    assert (rejected.json()["status"], rejected.json()["rejected_on"]) == ("rejected", on)
    assert registry.get("/osvs", params={"ruos": "applying"}).json() == []
    assert registry.get(f"/osvs/{osv_id}").json()["dissolution"]["dissolved_on"] == DISSOLVED_ON


def test_a_record_of_no_date_of_its_own_is_judged_by_today(registry: TestClient) -> None:
    """A change of details without ``updated_on`` is dated today in Lima (2021-08-02 here), after the dissolution."""
    osv_id, _ = _dissolved_osv_with(registry, "details")
    problem = assert_problem(registry.patch(f"/osvs/{osv_id}", json={"kind": "cultural"}), 409, "osv_id", "osv_not_dissolved")
    assert "updated_on 2021-08-02 is after" in problem["detail"]


def test_a_dissolved_osv_is_not_dissolved_again_nor_merged_whatever_the_date(registry: TestClient) -> None:
    """A second dissolution, and a merge (staff's correction of two records, not a fact of the OSV's life), are refused even
    when dated before the dissolution."""
    osv_id, _ = _dissolved_osv_with(registry, "details")
    other = new_osv(registry, name="Club Deportivo Los Olivos")
    written = head(registry)
    again = registry.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": "2021-07-01", "reason": "other"})
    assert_problem(again, 409, "osv_id", "osv_not_dissolved")
    # The refusal names the dissolved one as the request does: the OSV in the path, or the duplicate (tester 25 L3).
    for survivor, duplicate, field, which in ((osv_id, other, "osv_id", "this OSV"), (other, osv_id, "duplicate_id", f"the duplicate {osv_id}")):
        merged = registry.post(f"/osvs/{survivor}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-07-01"})
        problem = assert_problem(merged, 409, field, "osv_not_dissolved")
        assert problem["detail"].startswith(f"{which} was dissolved on {DISSOLVED_ON}"), problem["detail"]
    assert head(registry) == written


def test_a_dissolution_needs_a_known_reason(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    assert_problem(registry.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": "2021-12-01", "reason": "se pelearon"}), 422, "reason", "enum")
    assert_problem(registry.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": "2021-03-14", "reason": "inactive"}), 422, "dissolved_on", "not_before_mapped_on")


def test_a_dissolution_dated_before_the_osvs_registration_and_board_renewal_is_422_and_stores_nothing(registry: TestClient) -> None:
    """Tester 208 F1: the OSV read registered in the RUOS, its board's term running to 2028 and dissolved months before
    both; reporting counted the registration and no alert listed it. Recorded the other way round, registry refuses them."""
    osv_id = new_osv(registry, name="Comedor Popular Virgen de Fátima N.º 3")  # mapped 2021-03-15
    registered = registry.post(
        f"/osvs/{osv_id}/ruos-registration",
        json={"municipality_id": "mml", "ruos_number": "RUOS-COMAS-2021-0150", "registered_on": "2021-05-03", "board_term_ends_on": "2022-01-15"},
    )
    assert registered.status_code == 201, registered.text
    renewed = registry.post(f"/osvs/{osv_id}/board-renewal", json={"renewed_on": "2021-07-01", "term_ends_on": "2023-07-01"})
    assert renewed.status_code == 201, renewed.text
    written = head(registry)

    back_dated = registry.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": "2021-04-01", "reason": "inactive"})
    problem = assert_problem(back_dated, 422, "dissolved_on", "not_before_board_renewed_on")
    assert "dissolved_on 2021-04-01 is before its board was renewed on 2021-07-01" in problem["detail"], problem
    assert head(registry) == written and registry.get(f"/osvs/{osv_id}").json()["dissolution"] is None

    dissolved = registry.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": "2021-07-01", "reason": "inactive"})
    assert dissolved.status_code == 201, dissolved.text


def test_a_dissolution_learned_of_after_contact_was_lost_is_dated_before_the_loss_but_not_before_contact_restored(registry: TestClient) -> None:
    """Tester 212 F3: contact lost since 2021-07-10, then the dissolution on 2021-06-15 was 422 not_before_contact_lost_since;
    staff learn only later that an OSV they lost touch with had dissolved (often why), and a loss cannot be corrected."""
    osv_id = new_osv(registry)  # mapped 2021-03-15
    assert registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-07-10"}).status_code == 201
    dissolved = registry.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": "2021-06-15", "reason": "inactive"})
    assert dissolved.status_code == 201, dissolved.text
    assert registry.get(f"/osvs/{osv_id}").json()["dissolution"]["dissolved_on"] == "2021-06-15"

    # a contact restored says the OSV was there: the dissolution is not dated before it, though contact was lost again
    back = new_osv(registry, name="Comedor Popular Virgen de Fátima")
    for path, body in (("contact-lost", {"since": "2021-04-01"}), ("contact-restored", {"restored_on": "2021-05-01"}), ("contact-lost", {"since": "2021-07-01"})):
        assert registry.post(f"/osvs/{back}/{path}", json=body).status_code == 201
    written = head(registry)
    problem = assert_problem(registry.post(f"/osvs/{back}/dissolution", json={"dissolved_on": "2021-04-20", "reason": "inactive"}),
                             422, "dissolved_on", "not_before_contact_restored_on")
    assert "contact with it was restored on 2021-05-01" in problem["detail"], problem
    assert head(registry) == written
    assert registry.post(f"/osvs/{back}/dissolution", json={"dissolved_on": "2021-05-01", "reason": "inactive"}).status_code == 201


def test_a_dissolution_is_not_dated_before_a_ruos_document_recorded_again(registry: TestClient) -> None:
    """Tester 212 F4: the croquis recorded on 2021-03-20 and again on 2021-07-10, a dissolution on 2021-06-01 was 201 (the
    first day alone was kept); recorded the other way round, the document is 409 osv_not_dissolved."""
    osv_id = new_osv(registry)
    for day in ("2021-03-20", "2021-07-10"):
        recorded = registry.post(f"/osvs/{osv_id}/documents", json={"document": "croquis", "prepared_on": day})
        assert recorded.status_code == 201, recorded.text
    assert recorded.json()["prepared"]["croquis"] == "2021-03-20"  # the day it was first ready, as shown before
    written = head(registry)
    problem = assert_problem(registry.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": "2021-06-01", "reason": "inactive"}),
                             422, "dissolved_on", "not_before_prepared_on")
    assert "its croquis was prepared on 2021-07-10" in problem["detail"], problem
    assert head(registry) == written and registry.get(f"/osvs/{osv_id}").json()["dissolution"] is None
    assert registry.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": "2021-07-10", "reason": "inactive"}).status_code == 201


def test_a_dissolution_dated_before_a_record_was_merged_into_the_osv_is_422(registry: TestClient) -> None:
    """A merge is refused on a dissolved OSV whatever its date; so the OSV a record was merged into is not dissolved before it."""
    survivor = new_osv(registry)
    duplicate = new_osv(registry, name="Vecinos Unidos de Collique (duplicado)", distinct_from=[survivor])
    assert registry.post(f"/osvs/{survivor}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-07-20"}).status_code == 201
    written = head(registry)

    back_dated = registry.post(f"/osvs/{survivor}/dissolution", json={"dissolved_on": "2021-07-10", "reason": "inactive"})
    problem = assert_problem(back_dated, 422, "dissolved_on", "not_before_merged_on")
    assert "a record was merged into it on 2021-07-20" in problem["detail"], problem
    assert head(registry) == written
    assert registry.post(f"/osvs/{survivor}/dissolution", json={"dissolved_on": "2021-07-20", "reason": "inactive"}).status_code == 201


def test_a_dissolved_osvs_backlogged_application_is_in_no_ruos_worklist(registry: TestClient) -> None:
    """Tester 25 M1: an application typed in from paper after the dissolution stayed in ``applying`` and ``observed`` for
    good, for staff and the focal point alike, with nothing to do about it; ``expiring`` already left dissolved OSVs out."""
    osv_id, observe = _dissolved_osv_with(registry, "observation")
    assert observe("2021-07-13").status_code in (200, 201)
    active = new_osv(registry, name="Vecinos Unidos de Zárate")

    def listed(ruos: str) -> list[str]:
        return [o["id"] for o in registry.get("/osvs", params={"ruos": ruos}).json()]

    for worklist in ("unregistered", "applying", "observed"):
        assert osv_id not in listed(worklist), worklist
    assert listed("unregistered") == [active]
    assert osv_id in [o["id"] for o in registry.get("/osvs").json()]  # still listed, as dissolved
