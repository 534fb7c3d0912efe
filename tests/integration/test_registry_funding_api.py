"""What a front end gets back from registry and funding, errors included (problem+json)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import assert_problem


def new_osv(registry: TestClient, **overrides: Any) -> dict[str, Any]:
    response = registry.post("/osvs", json={"name": "Unidos por Breña", "district": "Brena", "mapped_on": "2021-03-01", **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_mapped_osv_gets_its_zone_and_starts_unregistered(registry: TestClient) -> None:
    osv = new_osv(registry, kind="poblacion_vulnerable")
    assert (osv["district"], osv["zone"], osv["kind"]) == ("Breña", "Lima Centro", "poblacion_vulnerable")
    assert osv["ruos"] == {"status": "unregistered", "number": None, "registered_on": None, "municipality_id": None}
    assert registry.get(f"/osvs/{osv['id']}").json() == osv
    assert [o["id"] for o in registry.get("/osvs").json()] == [osv["id"]]


def test_a_registration_shows_its_number_and_date(registry: TestClient) -> None:
    osv = new_osv(registry)
    response = registry.post(f"/osvs/{osv['id']}/ruos-registration", json={"municipality_id": "mml", "ruos_number": "RUOS-0042", "registered_on": "2021-06-01"})
    assert response.status_code == 201
    assert response.json()["ruos"] == {"status": "registered", "number": "RUOS-0042", "registered_on": "2021-06-01", "municipality_id": "mml"}


def test_registering_twice_is_a_conflict_and_keeps_the_first(registry: TestClient) -> None:
    osv = new_osv(registry)
    registry.post(f"/osvs/{osv['id']}/ruos-registration", json={"municipality_id": "mml", "ruos_number": "A", "registered_on": "2021-06-01"})
    assert_problem(registry.post(f"/osvs/{osv['id']}/ruos-registration", json={"municipality_id": "mml", "ruos_number": "B", "registered_on": "2021-06-02"}), 409)
    assert registry.get(f"/osvs/{osv['id']}").json()["ruos"]["number"] == "A"


def test_registering_an_unknown_osv_is_not_found(registry: TestClient) -> None:
    assert_problem(
        registry.post("/osvs/00000000-0000-4000-8000-000000000000/ruos-registration", json={"municipality_id": "mml", "ruos_number": "A", "registered_on": "2021-06-01"}),
        404,
    )
    assert_problem(registry.get("/osvs/00000000-0000-4000-8000-000000000000"), 404)


def test_a_registration_before_the_mapping_is_refused_and_nothing_is_written(registry: TestClient) -> None:
    osv = new_osv(registry)
    assert_problem(
        registry.post(f"/osvs/{osv['id']}/ruos-registration", json={"municipality_id": "mml", "ruos_number": "A", "registered_on": "2021-02-28"}), 422, "registered_on"
    )
    assert registry.get("/events").json()["head"] == 2  # the mapping and its (private) entry in the district's names


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "district": "Callao", "mapped_on": "2021-03-01"}, "district"),
        ({"name": "", "district": "Ate", "mapped_on": "2021-03-01"}, "name"),
        ({"name": "X", "district": "Ate", "mapped_on": "01/03/2021"}, "mapped_on"),
        ({"name": "X", "district": "Ate", "mapped_on": "2021-02-30"}, "mapped_on"),
        ({"name": "X", "district": "Ate", "mapped_on": 1614556800}, "mapped_on"),
        ({"name": "X", "district": "Ate", "mapped_on": "2021-03-01", "kind": "club"}, "kind"),
        ({"name": "X", "district": "Ate", "mapped_on": "2021-03-01", "leader": "Ana"}, "leader"),
        ({"district": "Ate", "mapped_on": "2021-03-01"}, "name"),
    ],
)
def test_bad_osv_input_is_422_naming_the_field_and_writes_nothing(registry: TestClient, body: dict[str, Any], field: str) -> None:
    assert_problem(registry.post("/osvs", json=body), 422, field)
    assert registry.get("/events").json()["head"] == 0


def test_malformed_json_is_422_not_500(registry: TestClient, funding: TestClient) -> None:
    for client, path in ((registry, "/osvs"), (funding, "/phases"), (funding, "/grants")):
        assert_problem(client.post(path, content=b'{"name": ', headers={"content-type": "application/json"}), 422, "body")


def test_phases_are_listed_in_date_order(funding: TestClient) -> None:
    assert funding.post("/phases", json={"code": "F2", "name": "Fase 2", "starts_on": "2021-10-01", "ends_on": "2021-12-31"}).status_code == 201
    assert funding.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-09-30"}).status_code == 201
    assert [p["code"] for p in funding.get("/phases").json()] == ["F1", "F2"]


def test_a_duplicate_phase_code_is_409_and_an_overlap_or_inverted_dates_422(funding: TestClient) -> None:
    funding.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-09-30"})
    assert_problem(funding.post("/phases", json={"code": "F1", "name": "Otra", "starts_on": "2022-01-01", "ends_on": "2022-02-01"}), 409, "code")
    assert_problem(funding.post("/phases", json={"code": "F2", "name": "Fase 2", "starts_on": "2021-09-15", "ends_on": "2021-12-31"}), 422, "starts_on")
    assert_problem(funding.post("/phases", json={"code": "F3", "name": "Fase 3", "starts_on": "2022-12-31", "ends_on": "2022-01-01"}), 422, "ends_on")
    assert len(funding.get("/phases").json()) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": 100.5}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"currency": "EUR"}, "currency"),
        ({"kind": "cash"}, "kind"),
        ({"granted_on": "2021-13-01"}, "granted_on"),
        ({"osv_id": "not-a-uuid"}, "osv_id"),
    ],
)
def test_bad_grant_input_is_422_naming_the_field(funding: TestClient, change: dict[str, Any], field: str) -> None:
    body = {"osv_id": "00000000-0000-4000-8000-000000000000", "amount": "100.00", "currency": "PEN", "granted_on": "2021-10-01", "kind": "seed_fund", **change}
    assert_problem(funding.post("/grants", json=body), 422, field)


def test_a_grant_to_an_osv_funding_has_not_seen_mapped_is_422_saying_so(funding: TestClient) -> None:
    body = {"osv_id": "00000000-0000-4000-8000-000000000000", "amount": "100.00", "currency": "PEN", "granted_on": "2021-10-01", "kind": "seed_fund"}
    problem = assert_problem(funding.post("/grants", json=body), 422, "osv_id")
    assert "not known to funding" in problem["detail"]
    assert funding.get("/events").json()["head"] == 0


def test_the_feed_pages_through_cloudevents_in_order(registry: TestClient) -> None:
    ids = [new_osv(registry, name=f"OSV {i}")["id"] for i in range(5)]
    first = registry.get("/events", params={"limit": 2}).json()
    rest = registry.get("/events", params={"after": first["next_after"], "limit": 10}).json()
    events = first["events"] + rest["events"]
    assert [e["subject"] for e in events] == ids
    assert [e["position"] for e in events] == [1, 3, 5, 7, 9]  # each mapping's entry in its district's names is private
    assert {e["specversion"] for e in events} == {"1.0"} and {e["type"] for e in events} == {"OSVMapped"}
    assert events[0]["id"] == "registry:1" and events[0]["data"]["occurred_on"] == "2021-03-01"
    assert_problem(registry.get("/events", params={"limit": 0}), 422, "limit")


def test_health_reports_nats_unreachable_and_the_relay_lag(registry: TestClient) -> None:
    new_osv(registry)
    health = registry.get("/health").json()
    assert (health["status"], health["nats"], health["store"]) == ("degraded", "disconnected", "ok")
    assert health["relay"]["lag"] == 2  # store positions: the mapping and its private entry in the district's names
