"""An OSV's registration in the RUOS recorded with a slip is corrected over HTTP (tester t286 F1).

A focal point of San Juan de Lurigancho recorded its municipality's registration of an OSV with the number mistyped;
nothing could take it back (409 ``application_under_review``, ``register_once``, ``application_open``). Now the
same focal point, or staff, corrects it: registry records ``RUOSRegistrationCorrected`` (published under the OSV's
municipality, with the values before), the OSV reads the corrected values, its history says who corrected it, and
the number typed wrong is free for the OSV it belongs to. Registry runs on its SQLite store; tokens come from the test
identity provider.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from services.reporting.views.readmodel import ReadModel
from shared.views import make_engine
from shared.views.osvdirectory import OSVDirectory
from tests.support.api import assert_problem, created, ok
from tests.support.clients import FakeToday, head
from tests.support.identity import MML_FOCAL_POINT, IssuedTokens
from tests.support.ruos import new_osv, submit

SJL = "150132"
FOCAL_POINT = f"municipal-{SJL}"
WRONG, RIGHT = "RUOS-SJL-2021-0007", "RUOS-SJL-2021-0070"


@pytest.fixture
def today() -> FakeToday:
    """Registry's clock: the day staff find the slip."""
    return FakeToday(date(2021, 8, 2))


def registered_in_sjl(registry: TestClient, tokens: IssuedTokens, name: str = "Vecinos Solidarios de Zárate", number: str = WRONG) -> str:
    """An OSV of San Juan de Lurigancho applying to its district's RUOS on 2021-06-14, registered by the focal point."""
    osv_id = new_osv(registry, name=name, district="San Juan de Lurigancho")
    application_id = submit(registry, osv_id, municipality_id=SJL)["application_id"]
    created(registry.post(
        f"/osvs/{osv_id}/ruos-applications/{application_id}/registration", headers=tokens.headers(FOCAL_POINT),
        json={"registered_on": "2021-06-30", "ruos_number": number, "resolution_number": "RG-101-2021", "board_term_ends_on": "2023-06-30"},
    ))
    return osv_id


def phases(readmodel: ReadModel) -> None:
    """F1 the first half of 2021, F2 the second, as funding opens them."""
    readmodel.apply([
        {"id": f"funding:{n}", "type": "PhaseOpened", "source": "urn:osv-platform:funding", "subject": code, "position": n,
         "time": "2021-01-01T00:00:00Z", "data": {"occurred_on": starts, "phase_id": code, "code": code, "name": code, "starts_on": starts, "ends_on": ends}}
        for n, (code, starts, ends) in enumerate((("F1", "2021-01-01", "2021-06-30"), ("F2", "2021-07-01", "2021-12-31")), start=1)
    ])


def correct(registry: TestClient, osv_id: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return registry.post(f"/osvs/{osv_id}/ruos-registration/correction", json=body, headers=headers)


def test_the_focal_point_corrects_a_mistyped_number_and_everyone_reads_the_right_one(registry: TestClient, tokens: IssuedTokens) -> None:
    osv_id = registered_in_sjl(registry, tokens)

    corrected = ok(correct(registry, osv_id, {"ruos_number": RIGHT}, tokens.headers(FOCAL_POINT)))
    assert corrected["ruos"]["number"] == RIGHT and corrected["ruos"]["registered_on"] == "2021-06-30"
    shown = registry.get(f"/osvs/{osv_id}").json()
    assert shown["ruos"]["number"] == shown["ruos_application"]["ruos_number"] == RIGHT
    assert shown["board_term_ends_on"] == "2023-06-30"

    # published under the OSV's municipality, with what it said before; the caller in the history, never in the event
    event = registry.get("/events").json()["events"][-1]
    assert (event["type"], event["municipality"]) == ("RUOSRegistrationCorrected", SJL)
    data = {k: v for k, v in event["data"].items() if k not in ("occurred_on", "application_id")}
    assert data == {
        "osv_id": osv_id, "corrected": ["ruos_number"], "municipality_id": SJL, "corrected_on": "2021-08-02",
        "ruos_number": RIGHT, "registered_on": "2021-06-30", "resolution_number": "RG-101-2021", "board_term_ends_on": "2023-06-30",
        "previous_ruos_number": WRONG, "previous_registered_on": "2021-06-30", "previous_resolution_number": "RG-101-2021",
        "previous_board_term_ends_on": "2023-06-30",
    }
    assert event["data"]["application_id"] == shown["ruos_application"]["application_id"]
    history = ok(registry.get(f"/osvs/{osv_id}/history", headers=tokens.headers("auditor")))
    assert history[-1]["type"] == "RUOSRegistrationCorrected" and history[-1]["recorded_by"]["roles"] == [FOCAL_POINT]

    # the number typed wrong is free: the OSV it belongs to is registered with it; the right one is this OSV's
    other = new_osv(registry, name="Comedor Popular Santa Rosa", district="San Juan de Lurigancho")
    taken = registry.post(f"/osvs/{other}/ruos-registration", json={"ruos_number": "RUOS SJL 2021 70", "registered_on": "2021-07-01", "municipality_id": SJL})
    assert_problem(taken, 409, "ruos_number", "ruos_number_unique")
    created(registry.post(f"/osvs/{other}/ruos-registration", json={"ruos_number": WRONG, "registered_on": "2021-07-01", "municipality_id": SJL}))


def test_every_value_of_a_registration_is_corrected_and_the_optional_ones_cleared(registry: TestClient, tokens: IssuedTokens) -> None:
    osv_id = registered_in_sjl(registry, tokens)
    body = {"registered_on": "2021-07-05", "resolution_number": "RG-110-2021", "board_term_ends_on": "2023-07-05"}
    corrected = ok(correct(registry, osv_id, body))
    assert (corrected["ruos"]["registered_on"], corrected["board_term_ends_on"]) == ("2021-07-05", "2023-07-05")
    assert corrected["ruos_application"]["resolution_number"] == "RG-110-2021"
    assert registry.get("/events").json()["events"][-1]["data"]["corrected"] == ["registered_on", "resolution_number", "board_term_ends_on"]

    cleared = ok(correct(registry, osv_id, {"resolution_number": None, "board_term_ends_on": None}))
    assert (cleared["ruos_application"]["resolution_number"], cleared["board_term_ends_on"]) == (None, None)


def test_a_registration_is_corrected_only_by_who_records_it_and_only_once_registered(registry: TestClient, tokens: IssuedTokens) -> None:
    osv_id = registered_in_sjl(registry, tokens)
    unregistered = new_osv(registry, name="Club de Madres Santa Rosa", district="San Juan de Lurigancho")
    in_comas = new_osv(registry, name="Vecinos Unidos de Collique")
    created(registry.post(f"/osvs/{in_comas}/ruos-registration", json={"ruos_number": WRONG, "registered_on": "2021-06-30", "municipality_id": "150110"}))
    written = head(registry)

    assert_problem(correct(registry, in_comas, {"ruos_number": RIGHT}, tokens.headers(FOCAL_POINT)), 404, "osv_id", "known_osv")
    problem = assert_problem(correct(registry, osv_id, {"ruos_number": RIGHT}, tokens.headers(MML_FOCAL_POINT)), 403, "municipality_id", "own_municipality_ruos")
    assert problem["municipality_id"] == SJL
    assert correct(registry, osv_id, {"ruos_number": RIGHT}, tokens.headers("auditor")).status_code == 403
    problem = assert_problem(correct(registry, unregistered, {"ruos_number": RIGHT}), 409, "osv_id", "registered_in_ruos")
    assert "a registration is corrected only for a registered OSV" in problem["detail"]
    assert head(registry) == written

    # A duplicate merged into the registered OSV is never registered itself: told where its records went (tester t291 F1).
    duplicate = new_osv(registry, name="Vecinos Solidarios de Zárate II", district="San Juan de Lurigancho", distinct_from=[osv_id])
    created(registry.post(f"/osvs/{osv_id}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-08-01"}))
    merged = head(registry)
    problem = assert_problem(correct(registry, duplicate, {"ruos_number": RIGHT}), 409, "osv_id", "osv_not_merged")
    assert osv_id in problem["detail"]
    assert head(registry) == merged


@pytest.mark.parametrize(("body", "field", "rule"), [
    ({}, "body", "change_required"),
    ({"ruos_number": WRONG, "registered_on": "2021-06-30"}, "body", "change_required"),
    ({"ruos_number": None}, "ruos_number", "not_null"),
    ({"registered_on": "2021-06-13"}, "registered_on", "not_before_submitted_on"),
    ({"registered_on": "2021-08-04"}, "registered_on", "not_in_future"),
    ({"registered_on": "2023-07-01"}, "registered_on", None),
    ({"board_term_ends_on": "2021-06-30"}, "board_term_ends_on", "after_registered_on"),
    ({"registered_on": "30/06/2021"}, "registered_on", "iso_8601_date"),
    ({"ruos_number": "－"}, "ruos_number", "number_has_digits"),
    ({"municipality_id": "mml"}, "municipality_id", None),
])
def test_a_correction_that_changes_nothing_or_breaks_a_registrations_rule_is_422_and_writes_nothing(
    registry: TestClient, tokens: IssuedTokens, body: dict[str, Any], field: str, rule: str | None
) -> None:
    osv_id = registered_in_sjl(registry, tokens)
    written = head(registry)
    assert_problem(correct(registry, osv_id, body), 422, field, rule)
    assert head(registry) == written
    assert registry.get(f"/osvs/{osv_id}").json()["ruos"]["number"] == WRONG


def test_a_registrations_day_is_not_corrected_past_the_boards_renewal_nor_the_osvs_dissolution(registry: TestClient, tokens: IssuedTokens) -> None:
    renewed = registered_in_sjl(registry, tokens)
    created(registry.post(f"/osvs/{renewed}/board-renewal", json={"renewed_on": "2021-07-10", "term_ends_on": "2023-07-10"}))
    dissolved = registered_in_sjl(registry, tokens, name="Comedor Popular Virgen de Fátima", number="RUOS-SJL-2021-0008")
    created(registry.post(f"/osvs/{dissolved}/dissolution", json={"dissolved_on": "2021-07-15", "reason": "inactive"}))
    written = head(registry)

    assert_problem(correct(registry, renewed, {"registered_on": "2021-07-11"}), 422, "registered_on", "not_after_board_renewed_on")
    assert_problem(correct(registry, dissolved, {"registered_on": "2021-07-16"}), 409, "osv_id", "osv_not_dissolved")
    assert head(registry) == written

    # the registered board's term is corrected; the renewal's stays the one in force
    corrected = ok(correct(registry, renewed, {"board_term_ends_on": "2023-06-29"}))
    assert corrected["board_term_ends_on"] == "2023-07-10"
    assert ok(correct(registry, dissolved, {"registered_on": "2021-07-15"}))["ruos"]["registered_on"] == "2021-07-15"


def test_a_correction_to_a_number_another_osv_holds_is_409_and_a_keyed_retry_is_answered_as_the_first(
    registry: TestClient, tokens: IssuedTokens
) -> None:
    osv_id = registered_in_sjl(registry, tokens)
    registered_in_sjl(registry, tokens, name="Comedor Popular Santa Rosa", number=RIGHT)
    written = head(registry)
    assert_problem(correct(registry, osv_id, {"ruos_number": "ruos sjl 2021 70"}), 409, "ruos_number", "ruos_number_unique")
    assert head(registry) == written

    keyed = {"Idempotency-Key": str(uuid4())}
    first = correct(registry, osv_id, {"ruos_number": "RUOS-SJL-2021-0071"}, keyed)
    assert first.status_code == 200, first.text
    written = head(registry)
    again = correct(registry, osv_id, {"ruos_number": "RUOS-SJL-2021-0071"}, keyed)
    assert (again.status_code, again.json()) == (200, first.json())
    assert head(registry) == written
    # without the key, the same request finds the registration so already: 422, nothing written
    assert_problem(correct(registry, osv_id, {"ruos_number": "RUOS-SJL-2021-0071"}), 422, "body", "change_required")
    # a dry run answers the correction and writes nothing
    written = head(registry)
    dry = registry.post(f"/osvs/{osv_id}/ruos-registration/correction", json={"ruos_number": WRONG}, params={"dry_run": "true"})
    assert (dry.status_code, dry.json()["ruos"]["number"]) == (200, WRONG), dry.text
    assert head(registry) == written
    # retyping the number its own claim holds needs no new claim
    assert ok(correct(registry, osv_id, {"ruos_number": "RUOS SJL 2021 0071"}))["ruos"]["number"] == "RUOS SJL 2021 0071"


def test_reporting_and_the_directories_read_the_corrected_registration_and_a_report_as_of_before_it_the_first(
    registry: TestClient, tokens: IssuedTokens, tmp_path: Path
) -> None:
    """The registration of 2021-06-30 (F1) typed as 2021-07-05 (F2): counted in F2 until corrected, in F1 from then on."""
    osv_id = registered_in_sjl(registry, tokens)
    ok(correct(registry, osv_id, {"registered_on": "2021-07-05"}))  # the slip, made by a correction of its own
    readmodel = ReadModel(make_engine(f"sqlite:///{tmp_path / 'reporting.db'}"))
    phases(readmodel)
    readmodel.apply(registry.get("/events").json()["events"])
    before = datetime.now(timezone.utc)

    ok(correct(registry, osv_id, {"registered_on": "2021-06-30", "ruos_number": RIGHT}, tokens.headers(FOCAL_POINT)))
    feed = registry.get("/events").json()["events"]
    readmodel.apply(feed)
    registered = [p["indicators"]["osvs_registered_ruos"] for p in readmodel.report(today=date(2021, 8, 2))["phases"]]
    assert registered == [1, 0]
    assert [p["indicators"]["osvs_registered_ruos"] for p in readmodel.report(as_of=before, today=date(2021, 8, 2))["phases"]] == [0, 1]

    # funding's directory (what a participatory budget's submission is judged by) reads the corrected registration
    directory = OSVDirectory(make_engine(f"sqlite:///{tmp_path / 'funding-views.db'}"), "funding")
    directory.apply(feed[:-1])
    assert directory.require_active(UUID(osv_id), on=date(2021, 7, 20), dated="submitted_on").registered_on == date(2021, 7, 5)
    directory.apply(feed[-1:])
    known = directory.require_active(UUID(osv_id), on=date(2021, 7, 20), dated="submitted_on")
    assert (known.registered_on, known.ruos_number) == (date(2021, 6, 30), RIGHT)
