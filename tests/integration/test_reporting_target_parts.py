"""A disaggregated target's parts are shares of its total: women and men, or Venezuelans, Peruvians and others, add up
to the total at most, and so do an OSV's first-time and repeat support. Tester 171 F1: 80 women and 70 men of 100 people
were taken, and went to ``GET /targets``, the exports' "Meta" column and the IATI file sent to donors. The programme is
:mod:`tests.integration.test_reporting_donors`'s."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_reporting_donors import LEAD, programme
from tests.support.api import assert_problem

pytestmark = [pytest.mark.timeout(300), pytest.mark.service("reporting")]


def put(client: TestClient, indicator: str, body: dict[str, Any]) -> Any:
    return client.put(f"/phases/F1/targets/{indicator}", headers=LEAD(), json=body)


def set_ones(client: TestClient) -> list[dict[str, Any]]:
    return client.get("/targets").json()["phases"][0]["indicators"]


def test_people_whose_parts_add_up_to_more_than_the_total_are_refused_group_by_group(client: TestClient) -> None:
    programme(client)
    body = {"baseline": {"total": 0},
            "target": {"total": 100, "by_sex.F": 80, "by_sex.M": 70, "by_nationality.VE": 90, "by_nationality.PE": 90}}

    problem = assert_problem(put(client, "beneficiaries_direct", body), 422)

    assert [(e["field"], e["rule"], e["message"].split(":")[0]) for e in problem["errors"]] == [
        ("target.by_nationality", "parts_within_total", "by_nationality.VE + by_nationality.PE add up to 180, more than the total, 100"),
        ("target.by_sex", "parts_within_total", "by_sex.F + by_sex.M add up to 150, more than the total, 100"),
    ]
    assert set_ones(client) == []  # nothing recorded


def test_osvs_supported_first_time_and_again_add_up_to_the_total_at_most_in_the_baseline_too(client: TestClient) -> None:
    programme(client)

    refused = put(client, "osvs_supported", {"baseline": {"total": 5, "first_time": 10, "repeat": 10}, "target": {"total": 5}})

    problem = assert_problem(refused, 422, "baseline.first_time+repeat", "parts_within_total")
    assert "first_time + repeat add up to 20, more than the total, 5" in problem["detail"]
    assert set_ones(client) == []


def test_one_part_above_the_total_is_refused_naming_it_and_targets_set_before_stand(client: TestClient) -> None:
    programme(client)
    assert put(client, "beneficiaries_direct", {"target": {"total": 100, "by_sex.F": 60}}).status_code == 200

    problem = assert_problem(put(client, "beneficiaries_direct", {"target": {"total": 100, "by_sex.F": 120}}), 422,
                             "target.by_sex.F", "parts_within_total")

    assert [e["message"].split(":")[0] for e in problem["errors"]] == ["by_sex.F is 120, more than the total, 100"]
    [kept] = set_ones(client)
    assert kept["target"] == {"total": 100, "by_sex.F": 60}


@pytest.mark.parametrize(
    ("indicator", "target"),
    [
        ("beneficiaries_direct", {"total": 100, "by_sex.F": 60}),  # parts may be left out
        ("beneficiaries_direct", {"total": 100, "by_sex.F": 60, "by_sex.M": 40, "by_nationality.VE": 100}),  # each group on its own
        ("osvs_supported", {"total": 5, "first_time": 3, "repeat": 2}),
        ("agents_of_change", {"by_sex.F": 30}),  # no total to add up to
        ("participatory_budget", {"submitted": 4, "accepted": 3, "funded": 2, "amount_funded_pen": "18000"}),  # steps, no total
    ],
)
def test_parts_within_their_total_are_set(client: TestClient, indicator: str, target: dict[str, Any]) -> None:
    programme(client)
    answer = put(client, indicator, {"target": target})
    assert answer.status_code == 200, answer.text


def test_parts_above_the_total_and_other_mistakes_are_refused_in_one_answer(client: TestClient) -> None:
    programme(client)
    body = {"baseline": {"total": "x"}, "target": {"total": 10, "by_sex.F": 8, "by_sex.M": 7, "by_sex.W": 1}}
    problem = assert_problem(put(client, "agents_of_change", body), 422)
    assert sorted((e["field"], e["rule"]) for e in problem["errors"]) == [
        ("baseline.total", "decimal_text"), ("target.by_sex", "parts_within_total"), ("target.by_sex.W", "indicator_part"),
    ]


def test_a_disaggregation_sent_as_an_object_is_told_its_parts_names(client: TestClient) -> None:
    """Tester 171 F2: ``"by_sex": {"F": 60}`` was told "must be a number"."""
    programme(client)

    problem = assert_problem(put(client, "beneficiaries_direct", {"target": {"total": 100, "by_sex": {"F": 60}}}), 422,
                             "target.by_sex", "indicator_part")

    [said] = [e["message"] for e in problem["errors"] if e["field"] == "target.by_sex"]
    assert "by_sex.F, by_sex.M, by_sex.X" in said and not said.startswith("must be a number"), said
    assert set_ones(client) == []


def test_a_part_above_the_bound_is_told_its_bound_not_that_it_is_above_the_total(client: TestClient) -> None:
    """Tester 176 F3: a part over a trillion was summed, and the group's "more than the total" took the place of its bound."""
    programme(client)
    body = {"target": {"total": 100, "by_sex.F": "99999999999999999999", "by_sex.M": 30}}

    problem = assert_problem(put(client, "beneficiaries_direct", body), 422)

    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("target.by_sex.F", "at_most_1000000000000")]
    body["target"]["by_sex.M"] = 101
    problem = assert_problem(put(client, "beneficiaries_direct", body), 422)
    assert sorted((e["field"], e["rule"]) for e in problem["errors"]) == [
        ("target.by_sex.F", "at_most_1000000000000"), ("target.by_sex.M", "parts_within_total"),
    ]
    assert set_ones(client) == []
