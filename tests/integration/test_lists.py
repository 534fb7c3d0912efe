"""Lists a front end needs: filters, name search, cursor pagination, and unknown query parameters refused."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_funding_rounds_api import UNKNOWN, a_phase, a_proposal, a_round, approve, round_body, score
from tests.support.api import assert_problem, created
from tests.support.identity import signed_in_headers
from tests.support.ruos import new_osv

NEXT = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def names(response: object) -> list[str]:
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    return [osv["name"] for osv in response.json()]  # type: ignore[attr-defined]


def test_osvs_are_found_by_name_ignoring_case_and_accents_and_by_district(registry: TestClient) -> None:
    new_osv(registry, name="Asociación Vecinos Unidos de Collique", district="comas")
    new_osv(registry, name="Mujeres Emprendedoras de Zárate", district="san juan de lurigancho")
    new_osv(registry, name="Venezolanos Unidos en Comas", district="comas")

    assert names(registry.get("/osvs", params={"name": "ASOCIACION unidos"})) == ["Asociación Vecinos Unidos de Collique"]
    assert names(registry.get("/osvs", params={"name": "zarate"})) == ["Mujeres Emprendedoras de Zárate"]
    assert names(registry.get("/osvs", params={"name": "unidos"})) == [
        "Asociación Vecinos Unidos de Collique",
        "Venezolanos Unidos en Comas",
    ]
    assert names(registry.get("/osvs", params={"district": "San Juan de Lurigancho"})) == ["Mujeres Emprendedoras de Zárate"]
    assert names(registry.get("/osvs", params={"district": "150110"})) == [  # Comas's ubigeo
        "Asociación Vecinos Unidos de Collique",
        "Venezolanos Unidos en Comas",
    ]
    assert names(registry.get("/osvs", params={"district": "comas", "name": "venezolanos"})) == ["Venezolanos Unidos en Comas"]
    assert names(registry.get("/osvs", params={"name": "nadie"})) == []


def test_a_list_walked_page_by_page_gives_every_item_once_in_order(registry: TestClient) -> None:
    created = [new_osv(registry, name=f"OSV número {i}") for i in range(7)]

    seen: list[str] = []
    url: str | None = "/osvs?limit=3"
    pages = 0
    while url is not None:
        response = registry.get(url)
        assert response.status_code == 200, response.text
        assert isinstance(response.json(), list)
        seen += [osv["id"] for osv in response.json()]
        pages += 1
        link = response.headers.get("link")
        url = NEXT.match(link)["url"] if link else None  # type: ignore[index]
    assert seen == created
    assert pages == 3
    assert "link" not in registry.get("/osvs", params={"limit": 7}).headers


def test_a_page_keeps_its_filters_in_the_next_link(registry: TestClient) -> None:
    for i in range(3):
        new_osv(registry, name=f"Unidos {i}")
    new_osv(registry, name="Otra cosa")
    first = registry.get("/osvs", params={"name": "unidos", "limit": 2})
    url = NEXT.match(first.headers["link"])["url"]  # type: ignore[index]
    assert "name=unidos" in url
    assert names(registry.get(url)) == ["Unidos 2"]


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "many"])
def test_a_limit_out_of_bounds_is_422(registry: TestClient, limit: str) -> None:
    assert_problem(registry.get("/osvs", params={"limit": limit}), 422, "limit")


def test_a_cursor_the_service_did_not_give_is_422(registry: TestClient) -> None:
    new_osv(registry)
    assert_problem(registry.get("/osvs", params={"cursor": "bm90LWFuLWlk"}), 422, "cursor", "cursor")
    assert_problem(registry.get("/osvs", params={"cursor": "!!!"}), 422, "cursor", "cursor")
    empty = assert_problem(registry.get("/osvs?cursor="), 422, "cursor", "cursor")  # tester 136 F5: said "no longer in this list"
    assert "not a cursor this service gave" in empty["errors"][0]["message"]


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("registry", "/osvs"),
        ("registry", "/municipalities/150110"),
        ("funding", "/grants"),
        ("engagement", "/follow-up/overdue"),
        ("reporting", "/indicators"),
    ],
)
def test_an_unknown_query_parameter_is_422_naming_it(request: pytest.FixtureRequest, service: str, path: str) -> None:
    client: TestClient = request.getfixturevalue(service)
    assert_problem(client.get(path, params={"nmae": "x"}), 422, "nmae", "known_parameter")


def test_an_unknown_query_parameter_on_a_command_is_422_and_nothing_is_written(registry: TestClient) -> None:
    body = {"name": "Vecinos", "district": "comas", "mapped_on": "2021-03-15"}
    assert_problem(registry.post("/osvs", params={"force": "true"}, json=body), 422, "force", "known_parameter")
    assert registry.get("/osvs").json() == []


def test_a_query_parameter_without_a_name_is_said_to_be_in_the_query_not_in_the_body(registry: TestClient) -> None:
    """Tester 233 F5: ``POST /osvs?=true&dry_run=true`` was told ``known_parameter`` on the field ``body``."""
    body = {"name": "Vecinos", "district": "comas", "mapped_on": "2021-03-15"}
    problem = assert_problem(registry.post("/osvs?=true&dry_run=true", json=body), 422, "query", "known_parameter")
    assert [e["field"] for e in problem["errors"]] == ["query"]
    assert registry.get("/osvs").json() == []


def test_a_caller_without_a_token_gets_401_before_any_word_on_its_query(registry: TestClient) -> None:
    response = registry.get("/osvs", params={"nmae": "x"}, headers={"Authorization": ""})
    assert response.status_code == 401, response.text


def test_a_district_that_is_not_of_lima_is_422_not_an_empty_list(registry: TestClient) -> None:
    assert_problem(registry.get("/osvs", params={"district": "Springfield"}), 422, "district", "lima_district")


def test_a_zone_is_found_whatever_its_case_and_one_that_is_not_of_lima_is_422_not_an_empty_list(registry: TestClient) -> None:
    """``Lima Oeste`` is no zone of Lima: an empty list said there were no OSVs there (tester 24c)."""
    new_osv(registry, name="Asociación Vecinos Unidos de Collique", district="comas")
    new_osv(registry, name="Mujeres Emprendedoras de Zárate", district="san juan de lurigancho")

    assert names(registry.get("/osvs", params={"zone": "lima norte"})) == ["Asociación Vecinos Unidos de Collique"]
    assert names(registry.get("/osvs", params={"zone": "Lima Sur"})) == []
    problem = assert_problem(registry.get("/osvs", params={"zone": "Lima Oeste"}), 422, "zone", "lima_zone")
    assert "Lima Centro, Lima Este, Lima Norte, Lima Sur" in problem["detail"]


def test_rounds_are_found_by_name_and_paged(funding: TestClient) -> None:
    seeds = a_round(funding, name="Fondos semilla 2021")
    murals = a_round(funding, name="Murales de integración")
    assert [r["id"] for r in funding.get("/rounds", params={"name": "INTEGRACION"}).json()] == [murals["id"]]
    first = funding.get("/rounds", params={"limit": 1})
    assert [r["id"] for r in first.json()] == [seeds["id"]]
    following = funding.get(NEXT.match(first.headers["link"])["url"])  # type: ignore[index]
    assert [r["id"] for r in following.json()] == [murals["id"]] and "link" not in following.headers


def test_grants_by_round_and_rounds_by_phase_name_one_that_exists_or_are_404_not_an_empty_list(funding: TestClient) -> None:
    """A mistyped ``round_id`` or ``phase_id`` listed nothing, as if the round had no grants or the phase no rounds."""
    round_ = a_round(funding, committee=("EV-1",))  # the one evaluator who scores: the approval waits for no one else
    proposal = a_proposal(funding, round_["id"])
    score(funding, proposal["id"], "EV-1", 8, 6, 4)
    approve(funding, proposal["id"], "3000.00")
    assert [r["id"] for r in funding.get("/rounds", params={"phase_id": round_["phase_id"]}).json()] == [round_["id"]]
    assert funding.get("/grants", params={"round_id": round_["id"]}).json() == []  # a round with no grant yet: truly none
    made = funding.post(f"/proposals/{proposal['id']}/grants", json={"kind": "seed_fund", "amount": "3000.00", "granted_on": "2021-07-01"})
    assert [g["id"] for g in funding.get("/grants", params={"round_id": round_["id"]}).json()] == [made.json()["id"]]

    assert_problem(funding.get("/grants", params={"round_id": UNKNOWN}), 404, "round_id", "known_round")
    assert_problem(funding.get("/grants", params={"round_id": round_["phase_id"]}), 404, "round_id", "known_round")  # a phase is no round
    assert_problem(funding.get("/rounds", params={"phase_id": UNKNOWN}), 404, "phase_id", "known_phase")
    assert_problem(funding.get("/rounds", params={"phase_id": round_["id"]}), 404, "phase_id", "known_phase")  # a round is no phase


@pytest.mark.parametrize(
    ("service", "path", "query", "field"),
    [
        ("registry", "/osvs", {"ruos": "expired"}, "ruos"),
        ("funding", "/grants", {"kind": "cash"}, "kind"),
        ("funding", "/grants", {"status": "pending"}, "status"),
        ("funding", f"/rounds/{UNKNOWN}/proposals", {"status": "pending"}, "status"),  # checked before the round is looked up
        ("engagement", f"/osvs/{UNKNOWN}/members", {"purpose": "curiosity"}, "purpose"),
        ("reporting", "/indicators", {"by": "street"}, "by"),
    ],
)
def test_a_filter_outside_its_enumeration_is_422_naming_it(
    request: pytest.FixtureRequest, service: str, path: str, query: dict[str, str], field: str
) -> None:
    client: TestClient = request.getfixturevalue(service)
    assert_problem(client.get(path, params=query), 422, field)


def test_the_openapi_document_names_the_page_parameters_and_the_link_header(registry: TestClient) -> None:
    operation = registry.get("/openapi.json").json()["paths"]["/osvs"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {"name", "district", "cursor", "limit"} <= set(parameters)
    assert parameters["limit"]["schema"]["maximum"] == 1000 and parameters["limit"]["description"]
    assert "Link" in operation["responses"]["200"]["headers"]


@pytest.mark.parametrize("query", ["-", " ", "¿?", "--- ..."])
def test_a_name_search_with_nothing_to_search_for_is_422_not_every_name(registry: TestClient, funding: TestClient, query: str) -> None:
    """``name=-`` matched every OSV (punctuation is not compared): the whole list, read as what the search found (filters25)."""
    new_osv(registry, name="Asociación Vecinos Unidos de Collique", district="comas")
    a_round(funding, name="Fondos semilla 2021")

    for client, path in ((registry, "/osvs"), (registry, "/municipalities"), (funding, "/rounds"), (funding, "/phases")):
        assert_problem(client.get(path, params={"name": query}), 422, "name", "searchable_name")
    assert names(registry.get("/osvs", params={"name": "collique!"})) == ["Asociación Vecinos Unidos de Collique"]


def test_a_board_term_window_without_ruos_expiring_is_422_not_every_osv(registry: TestClient) -> None:
    """``within_days`` filters board terms only with ``ruos=expiring``: alone, the list of every OSV read as one of terms ending (filters25)."""
    new_osv(registry, name="Asociación Vecinos Unidos de Collique", district="comas")

    for others in ({}, {"ruos": "registered"}):
        assert_problem(registry.get("/osvs", params={"within_days": 5, **others}), 422, "within_days", "ruos_expiring")
    assert names(registry.get("/osvs", params={"ruos": "expiring", "within_days": 5})) == []
    assert names(registry.get("/osvs")) == ["Asociación Vecinos Unidos de Collique"]


def test_a_round_or_phase_filter_tells_no_one_who_may_not_read_rounds_or_phases_which_ids_exist(funding: TestClient) -> None:
    """Tester 25 L2: a focal point (403 on /rounds) got 404 for an unknown round_id and [] for a real one; an evaluator with
    no round assigned (403 on /phases) likewise for a phase_id. Both now get the same empty list; readers of every round the 404."""
    round_ = created(funding.post("/rounds", json=round_body(a_phase(funding))))  # no code assigned: the evaluator reads no round
    focal, evaluator = signed_in_headers("municipal-150132"), signed_in_headers("evaluator")
    assert funding.get("/rounds", headers=focal).status_code == 403
    assert funding.get("/phases", headers=evaluator).status_code == 403

    for round_id in (round_["id"], UNKNOWN):
        answer = funding.get("/grants", params={"round_id": round_id}, headers=focal)
        assert (answer.status_code, answer.json()) == (200, []), answer.text
    for phase_id in (round_["phase_id"], UNKNOWN):
        answer = funding.get("/rounds", params={"phase_id": phase_id}, headers=evaluator)
        assert (answer.status_code, answer.json()) == (200, []), answer.text
    assert_problem(funding.get("/grants", params={"round_id": UNKNOWN}, headers=signed_in_headers("staff")), 404, "round_id", "known_round")
