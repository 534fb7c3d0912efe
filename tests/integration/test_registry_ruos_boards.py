"""The boards an RUOS registration brings over HTTP: the terms that end, the lists by RUOS progress, board renewals,
the decreed non-working days that move an amendment's deadline, and the documents an OSV is registered with.
Registry runs on its real SQLite store with NATS out of reach."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from tests.support.api import assert_problem
from tests.support.clients import FakeToday, application_of, head
from tests.support.ruos import (
    ALL_DOCUMENTS,
    COMAS,
    clock_fixture,  # noqa: F401 - registry's clock, a fixture
    new_osv,
    step,
    submit,
    today_fixture,  # noqa: F401 - registry's clock, a fixture
)

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
