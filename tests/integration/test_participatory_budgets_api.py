"""Participatory budgets over HTTP: RUOS-registered OSVs submit projects to their municipalities, who decide.

Funding knows which OSVs are on the RUOS from registry's events, stood in for
here by hand-built CloudEvents fed to its real directory handler.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from services.funding.domain.budgets import ParticipatoryBudgetSubmission
from shared.money import Currency
from tests.support.api import Upstream, assert_problem, created
from tests.support.clients import head
from tests.support.identity import IssuedTokens

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("funding")]

UNKNOWN = "00000000-0000-4000-8000-000000000000"
COMAS = "150110"
SJL = "150132"
VILLA_EL_SALVADOR = "150142"


def registry(client: TestClient) -> Upstream:
    return Upstream(client.app.state.runtime.app)  # type: ignore[attr-defined]


def a_submission(osv_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "osv_id": osv_id,
        "municipality_id": COMAS,
        "cycle_year": 2022,
        "project_title": "Recuperación del parque Los Olivos con murales",
        "amount_requested": "45000.00",
        "currency": "PEN",
        "submitted_on": "2021-07-15",
        **overrides,
    }


def test_a_registered_osv_submits_to_two_municipalities_and_one_funds_it(client_on: TestClient) -> None:
    client = client_on
    osv_id = registry(client).osv_registered()
    to_comas = created(client.post("/participatory-budgets", json=a_submission(osv_id)))
    to_mml = created(client.post("/participatory-budgets", json=a_submission(osv_id, municipality_id="MML", amount_requested="120000.50")))
    assert (to_comas["decision"], to_mml["municipality_id"], to_mml["amount_requested"]) == (None, "mml", "120000.50")

    funded = created(
        client.post(f"/participatory-budgets/{to_comas['id']}/outcome", json={"outcome": "funded", "amount_funded": "40000.00", "decided_on": "2021-11-30"})
    )
    assert funded["decision"] == {"outcome": "funded", "amount_funded": "40000.00", "decided_on": "2021-11-30"}
    created(client.post(f"/participatory-budgets/{to_mml['id']}/outcome", json={"outcome": "not_accepted", "decided_on": "2021-12-10"}))

    assert client.get(f"/participatory-budgets/{to_comas['id']}").json() == funded
    listed = client.get("/participatory-budgets", params={"osv_id": osv_id}).json()
    assert {s["id"] for s in listed} == {to_comas["id"], to_mml["id"]}
    assert client.get("/participatory-budgets", params={"osv_id": registry(client).osv_registered()}).json() == []

    events = client.get("/events").json()["events"]
    assert [e["type"] for e in events] == ["ParticipatoryBudgetSubmitted"] * 2 + ["ParticipatoryBudgetDecided"] * 2
    assert events[0]["data"] == {
        "occurred_on": "2021-07-15",
        "submission_id": to_comas["id"],
        "osv_id": osv_id,
        "municipality_id": COMAS,
        "cycle_year": 2022,
        "project_title": "Recuperación del parque Los Olivos con murales",
        "amount_requested": "45000.00",
        "currency": "PEN",
        "submitted_on": "2021-07-15",
    }
    assert events[2]["data"] == {
        "occurred_on": "2021-11-30",
        "submission_id": to_comas["id"],
        "osv_id": osv_id,
        "municipality_id": COMAS,
        "cycle_year": 2022,
        "outcome": "funded",
        "amount_funded": "40000.00",
        "currency": "PEN",
        "decided_on": "2021-11-30",
    }
    assert events[3]["data"]["amount_funded"] is None


def test_an_osv_submits_to_its_districts_participatory_budget_or_the_mmls_and_to_no_third_one(client: TestClient, tokens: IssuedTokens) -> None:
    """The municipality that decides must see the submission: its focal point and partner see their district's OSVs."""
    heard = registry(client)
    comas_osv = heard.osv_registered()
    sjl_osv = heard.osv_mapped(district="San Juan de Lurigancho", zone="Lima Este")
    heard.ruos_registered(sjl_osv)
    for osv_id, elsewhere, own in ((comas_osv, VILLA_EL_SALVADOR, COMAS), (sjl_osv, COMAS, SJL)):
        body = a_submission(osv_id, municipality_id=elsewhere)
        problem = assert_problem(client.post("/participatory-budgets", json=body), 422, "municipality_id", "municipality_of_the_osv")
        assert f"'{own}'" in problem["detail"] and "'mml'" in problem["detail"] and f"'{elsewhere}'" in problem["detail"], problem
        dry = client.post("/participatory-budgets", json=body, params={"dry_run": "true"})
        assert (dry.status_code, dry.json()) == (422, problem)
    assert head(client) == 0

    # Its own district's, which that focal point sees, or the MML's.
    own = created(client.post("/participatory-budgets", json=a_submission(sjl_osv, municipality_id=SJL)))
    assert client.get(f"/participatory-budgets/{own['id']}", headers=tokens.headers("municipal-150132")).json()["municipality_id"] == SJL
    assert created(client.post("/participatory-budgets", json=a_submission(sjl_osv, municipality_id="mml")))["municipality_id"] == "mml"

    # One recorded before the rule (as the command did, without its check) replays as it was and is decided.
    old = ParticipatoryBudgetSubmission(
        osv_id=UUID(comas_osv),
        municipality_id=VILLA_EL_SALVADOR,
        cycle_year=2021,
        project_title="Losa deportiva",
        amount_requested=Decimal("3000.00"),
        currency=Currency.PEN,
        submitted_on=date(2021, 7, 1),
    )
    client.app.state.runtime.app.save(old)  # type: ignore[attr-defined]
    decided = created(client.post(f"/participatory-budgets/{old.id}/outcome", json={"outcome": "accepted", "decided_on": "2021-11-30"}))
    assert (decided["municipality_id"], decided["decision"]["outcome"]) == (VILLA_EL_SALVADOR, "accepted")


def test_an_osv_submits_once_per_municipality_and_cycle(client_on: TestClient) -> None:
    client = client_on
    osv_id = registry(client).osv_registered()
    created(client.post("/participatory-budgets", json=a_submission(osv_id)))
    before = head(client)
    problem = assert_problem(
        client.post("/participatory-budgets", json=a_submission(osv_id, project_title="Otro proyecto", municipality_id=f" {COMAS} ")),
        409,
        "cycle_year",
        "one_per_cycle",
    )
    assert "2022" in problem["detail"]
    assert head(client) == before
    created(client.post("/participatory-budgets", json=a_submission(osv_id, cycle_year=2023, submitted_on="2022-07-01")))


def test_only_osvs_on_the_ruos_may_be_recorded_as_submitting(client: TestClient) -> None:
    heard = registry(client)
    unregistered = heard.osv_mapped()
    assert_problem(client.post("/participatory-budgets", json=a_submission(unregistered)), 422, "osv_id", "ruos_registered_only")
    registered_late = heard.osv_registered("2021-08-01")
    problem = assert_problem(
        client.post("/participatory-budgets", json=a_submission(registered_late)), 422, "osv_id", "ruos_registered_only"
    )
    assert "2021-08-01" in problem["detail"]
    assert_problem(client.post("/participatory-budgets", json=a_submission(UNKNOWN)), 422, "osv_id", "osv_mapped_in_registry")
    dissolved = heard.osv_registered()
    heard.osv_dissolved(dissolved, "2021-07-14")  # the day before it submitted
    assert_problem(client.post("/participatory-budgets", json=a_submission(dissolved)), 409, "osv_id", "osv_not_dissolved")
    assert head(client) == 0


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"municipality_id": "070101"}, "municipality_id", "lima_municipality"),
        ({"municipality_id": "Comas"}, "municipality_id", "lima_municipality"),
        # The domain's rule of the year, by its name, never pydantic's greater_than_equal (tester, rules30).
        ({"cycle_year": 1999}, "cycle_year", "cycle_year_range"),
        ({"cycle_year": 2101}, "cycle_year", "cycle_year_range"),
        ({"cycle_year": 2100}, "cycle_year", "within_planning_horizon"),  # submitted in 2021 (tester 192 F3)
        ({"cycle_year": 2001}, "cycle_year", "not_before_previous_cycle"),  # submitted in 2021: a typo (tester 208 F6)
        ({"cycle_year": 2019}, "cycle_year", "not_before_previous_cycle"),
        ({"cycle_year": "2022"}, "cycle_year", None),
        ({"amount_requested": "0"}, "amount_requested", "greater_than_0"),
        ({"amount_requested": "-1.00"}, "amount_requested", "greater_than_0"),
        ({"amount_requested": "45000.005"}, "amount_requested", "whole_cents"),
        ({"amount_requested": 45000}, "amount_requested", "decimal_text"),
        ({"currency": "EUR"}, "currency", None),
        ({"project_title": ""}, "project_title", None),
        ({"submitted_on": "15/07/2021"}, "submitted_on", "iso_8601_date"),
        ({"contact_phone": "999888777"}, "contact_phone", None),
    ],
)
def test_a_bad_submission_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, change: dict[str, Any], field: str, rule: str | None
) -> None:
    osv_id = registry(client).osv_registered()
    assert_problem(client.post("/participatory-budgets", json=a_submission(osv_id, **change)), 422, field, rule)
    assert head(client) == 0


def test_a_cycle_long_past_is_refused_telling_the_earliest_cycle_taken_and_the_year_before_is_taken(client: TestClient) -> None:
    """Tester 208 F6: a submission of 2026-09-01 to the cycle of 2001 was taken; the planning horizon bounded only the future.
    A submission is to its own year's cycle or a later one (a municipality takes projects the year before the budget year
    they are for); one year back is taken for a submission recorded late, so 2025 was the earliest cycle then."""
    osv_id = registry(client).osv_registered()
    refused = assert_problem(
        client.post("/participatory-budgets", json=a_submission(osv_id, cycle_year=2019, submitted_on="2021-07-15")),
        422, "cycle_year", "not_before_previous_cycle",
    )
    assert "2020" in refused["detail"]
    assert head(client) == 0
    assert created(client.post("/participatory-budgets", json=a_submission(osv_id, cycle_year=2020, submitted_on="2021-07-15")))


def test_a_submission_form_with_several_mistakes_gets_them_all_in_one_answer(client: TestClient) -> None:
    """A district's name where its ubigeo goes comes in one answer with the year's and the date's mistakes, not after them."""
    osv_id = registry(client).osv_registered()
    response = client.post("/participatory-budgets", json=a_submission(osv_id, municipality_id="Comas", cycle_year=1999, submitted_on="15/07/2021"))

    problem = assert_problem(response, 422)
    assert {(e["field"], e["rule"]) for e in problem["errors"]} == {
        ("municipality_id", "lima_municipality"), ("cycle_year", "cycle_year_range"), ("submitted_on", "iso_8601_date"),
    }
    assert head(client) == 0


@pytest.mark.parametrize(
    ("decision", "mistake"),
    [
        ({"outcome": "funded", "decided_on": "30/11/2021"}, ("amount_funded", "required_when_funded")),
        ({"outcome": "accepted", "amount_funded": "100.00", "decided_on": "30/11/2021"}, ("amount_funded", "only_when_funded")),
    ],
)
def test_a_decision_form_with_several_mistakes_gets_them_all_in_one_answer(
    client: TestClient, decision: dict[str, Any], mistake: tuple[str, str]
) -> None:
    submission = created(client.post("/participatory-budgets", json=a_submission(registry(client).osv_registered())))
    before = head(client)

    problem = assert_problem(client.post(f"/participatory-budgets/{submission['id']}/outcome", json=decision), 422)
    assert {(e["field"], e["rule"]) for e in problem["errors"]} == {mistake, ("decided_on", "iso_8601_date")}
    assert head(client) == before


def test_the_decision_is_recorded_once(client: TestClient) -> None:
    submission = created(client.post("/participatory-budgets", json=a_submission(registry(client).osv_registered())))
    outcome = f"/participatory-budgets/{submission['id']}/outcome"
    created(client.post(outcome, json={"outcome": "accepted", "decided_on": "2021-09-01"}))
    before = head(client)
    assert_problem(client.post(outcome, json={"outcome": "funded", "amount_funded": "1.00", "decided_on": "2021-11-01"}), 409, "outcome", "decide_once")
    assert head(client) == before
    assert client.get(f"/participatory-budgets/{submission['id']}").json()["decision"]["outcome"] == "accepted"


@pytest.mark.parametrize(
    ("decision", "field", "rule"),
    [
        ({"outcome": "funded", "decided_on": "2021-11-30"}, "amount_funded", "required_when_funded"),
        ({"outcome": "accepted", "amount_funded": "100.00", "decided_on": "2021-11-30"}, "amount_funded", "only_when_funded"),
        ({"outcome": "not_accepted", "amount_funded": "100.00", "decided_on": "2021-11-30"}, "amount_funded", "only_when_funded"),
        ({"outcome": "funded", "amount_funded": "45000.01", "decided_on": "2021-11-30"}, "amount_funded", "within_amount_requested"),
        ({"outcome": "funded", "amount_funded": "0.00", "decided_on": "2021-11-30"}, "amount_funded", None),
        ({"outcome": "funded", "amount_funded": 100.0, "decided_on": "2021-11-30"}, "amount_funded", None),
        ({"outcome": "accepted", "decided_on": "2021-07-14"}, "decided_on", "not_before_submitted_on"),
        ({"outcome": "approved", "decided_on": "2021-11-30"}, "outcome", None),
        ({"outcome": "accepted"}, "decided_on", None),
    ],
)
def test_a_bad_decision_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, decision: dict[str, Any], field: str, rule: str | None
) -> None:
    submission = created(client.post("/participatory-budgets", json=a_submission(registry(client).osv_registered())))
    before = head(client)
    assert_problem(client.post(f"/participatory-budgets/{submission['id']}/outcome", json=decision), 422, field, rule)
    assert head(client) == before


def test_an_unknown_submission_is_404(client: TestClient) -> None:
    assert_problem(client.get(f"/participatory-budgets/{UNKNOWN}"), 404)
    assert_problem(client.post(f"/participatory-budgets/{UNKNOWN}/outcome", json={"outcome": "accepted", "decided_on": "2021-11-30"}), 404)
    created(client.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-15", "ends_on": "2021-09-30"}))
    assert_problem(client.get(f"/participatory-budgets/{client.get('/phases').json()[0]['id']}"), 404)
    assert client.get("/participatory-budgets").json() == []  # none recorded (an osv_id is not needed: tester 262 F3)


def test_a_focal_point_lists_its_districts_submissions_without_naming_each_osv(client: TestClient, tokens: IssuedTokens) -> None:
    """Tester 262 F3: `GET /participatory-budgets` wanted an `osv_id` (422 `missing`), so a focal point could list its
    municipality's submissions only OSV by OSV, knowing each id. Without one it lists every submission the caller may read:
    staff all of Lima's, a focal point those of its districts' OSVs (to their district's budget or the MML's), by
    municipality and cycle if asked, latest cycle first."""
    heard = registry(client)
    comas_osv = heard.osv_registered()
    sjl_osv = heard.osv_mapped(district="San Juan de Lurigancho", zone="Lima Este")
    heard.ruos_registered(sjl_osv)
    to_comas = created(client.post("/participatory-budgets", json=a_submission(comas_osv)))
    sjl_2022 = created(client.post("/participatory-budgets", json=a_submission(sjl_osv, municipality_id=SJL)))
    sjl_2023 = created(client.post("/participatory-budgets", json=a_submission(sjl_osv, municipality_id=SJL, cycle_year=2023)))
    sjl_to_mml = created(client.post("/participatory-budgets", json=a_submission(sjl_osv, municipality_id="mml")))

    def listed(user: str | None = None, **params: Any) -> list[str]:
        answer = client.get("/participatory-budgets", params=params, headers=tokens.headers(user) if user else None)
        assert answer.status_code == 200, answer.text
        return [s["id"] for s in answer.json()]

    assert listed()[0] == sjl_2023["id"]  # latest cycle first
    assert set(listed()) == {to_comas["id"], sjl_2022["id"], sjl_2023["id"], sjl_to_mml["id"]}
    assert set(listed("municipal-150132")) == {sjl_2022["id"], sjl_2023["id"], sjl_to_mml["id"]}  # never Comas's
    assert listed("municipal-150132", municipality_id=SJL, cycle_year=2022) == [sjl_2022["id"]]
    assert listed("municipal-150132", municipality_id="MML") == [sjl_to_mml["id"]]
    assert listed("municipal-150132", osv_id=comas_osv) == []
    assert set(listed(osv_id=sjl_osv)) == {sjl_2022["id"], sjl_2023["id"], sjl_to_mml["id"]}
    assert_problem(client.get("/participatory-budgets", params={"cycle_year": "next"}), 422, "cycle_year", "int_parsing")
    assert_problem(client.get("/participatory-budgets", params={"cycle_year": 10**30}), 422, "cycle_year", "at_most_2100")
    # Tester 265 F6: a district's name was told pydantic's "at most 10 characters"; it is told what a municipality is here.
    problem = assert_problem(client.get("/participatory-budgets", params={"municipality_id": "San Juan de Lurigancho"}), 422,
                             "municipality_id", "string_pattern_mismatch")
    assert "six digits" in problem["errors"][0]["message"] and "mml" in problem["errors"][0]["message"]
    # Tester 266 F3: a ubigeo of no district of Lima (Callao's) listed nothing, as if no one had submitted.
    for elsewhere in ("070101", "150199"):
        assert_problem(client.get("/participatory-budgets", params={"municipality_id": elsewhere}), 422, "municipality_id", "lima_municipality")
