"""A money indicator's baseline and target are amounts: written as every amount the API takes, a decimal string
("25000.00"), never a JSON number (``1e3``, ``1000.5`` were taken, unlike the rest of the API). Counts and rates keep
taking JSON numbers. The programme is :mod:`tests.integration.test_reporting_donors`'s."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_reporting_donors import LEAD, programme
from tests.support.api import assert_problem

pytestmark = [pytest.mark.timeout(300), pytest.mark.service("reporting")]

AS_EVERY_AMOUNT = 'must be a decimal string such as "1500.00", not a JSON number'
"""What funding answers for a grant's amount sent as a JSON number (tests/integration/test_hostile_input.py): the one rule."""


def put_raw(client: TestClient, indicator: str, body: bytes) -> object:
    """A PUT of targets as the bytes sent: ``1e3`` stays an exponent on the wire, as a client typed it."""
    return client.put(f"/phases/F1/targets/{indicator}", content=body, headers={**LEAD(), "content-type": "application/json"})


def set_ones(client: TestClient) -> list[dict[str, object]]:
    return client.get("/targets").json()["phases"][0]["indicators"]


@pytest.mark.parametrize("sent", [b"1e3", b"1000.5", b"25000", b"0"])
def test_a_money_target_written_as_a_json_number_is_refused_as_every_amount_is(client: TestClient, sent: bytes) -> None:
    programme(client)

    answer = put_raw(client, "seed_funds_granted_pen", b'{"baseline": {"value": "0.00"}, "target": {"value": ' + sent + b"}}")

    problem = assert_problem(answer, 422, "target.value", "decimal_text")
    assert [e["message"] for e in problem["errors"]] == [AS_EVERY_AMOUNT]
    assert set_ones(client) == []  # nothing recorded


def test_a_baseline_and_a_target_both_written_as_numbers_are_refused_in_one_answer(client: TestClient) -> None:
    programme(client)
    answer = put_raw(client, "goods_delivered_usd", b'{"baseline": {"value": 0}, "target": {"value": 1e3}}')
    problem = assert_problem(answer, 422)
    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("baseline.value", "decimal_text"), ("target.value", "decimal_text")]


def test_an_indicator_of_counts_and_money_takes_its_counts_as_numbers_and_its_money_as_text(client: TestClient) -> None:
    programme(client)
    counts_and_money = {"target": {"submitted": 4, "funded": 2, "amount_funded_pen": 18000}}

    refused = assert_problem(put_raw(client, "participatory_budget", json.dumps(counts_and_money).encode()), 422)

    assert [(e["field"], e["rule"]) for e in refused["errors"]] == [("target.amount_funded_pen", "decimal_text")]
    taken = client.put("/phases/F1/targets/participatory_budget", headers=LEAD(),
                       json={"target": {"submitted": 4, "funded": 2, "amount_funded_pen": "18000"}})
    assert taken.status_code == 200, taken.text
    assert taken.json()["target"] == {"submitted": 4, "funded": 2, "amount_funded_pen": "18000.00"}  # counts as numbers, money as text


def test_a_money_target_written_as_a_decimal_string_is_set_and_shown_on_the_dashboard(client: TestClient) -> None:
    programme(client)

    answer = client.put("/phases/F1/targets/seed_funds_granted_pen", headers=LEAD(),
                        json={"baseline": {"value": "0"}, "target": {"value": "25000.50"}})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["baseline"], answer.json()["target"]) == ({"value": "0.00"}, {"value": "25000.50"})
    # A count keeps taking a JSON number.
    assert client.put("/phases/F1/targets/osvs_identified", headers=LEAD(), json={"target": {"value": 30}}).status_code == 200

    page = client.get("/dashboard", params={"lang": "en"})
    assert page.status_code == 200
    section = page.text.split('id="targets"', 1)[1].split("</section>", 1)[0]
    assert "25000.50" in section


@pytest.mark.parametrize(("value", "rule"), [("doce", "decimal_text"), ("1e3", "decimal_text")])  # true: told money's rule, below
def test_a_money_target_that_is_no_number_is_still_refused_in_plain_words(client: TestClient, value: object, rule: str) -> None:
    """The refusals of tester 33c F5 and 37c F3 hold for money too: ``true`` is no number, nor is a word or "1e3" in a string."""
    programme(client)
    answer = client.put("/phases/F1/targets/seed_funds_granted_pen", headers=LEAD(), json={"target": {"value": value}})
    [error] = [e for e in assert_problem(answer, 422, "target.value", rule)["errors"] if e["field"] == "target.value"]
    assert error["message"].startswith("must be a number"), answer.text


def test_a_money_target_mistyped_as_text_is_told_to_write_a_decimal_string_not_a_json_number(client: TestClient) -> None:
    """Tester 126 F2: "1,000.00" was told "a JSON number or a string…", and the JSON number it then sent was refused."""
    programme(client)
    answer = client.put("/phases/F1/targets/seed_funds_granted_pen", headers=LEAD(), json={"target": {"value": "1,000.00"}})
    [error] = [e for e in assert_problem(answer, 422, "target.value", "decimal_text")["errors"] if e["field"] == "target.value"]
    advice = error["message"]
    assert '"1500.50" (money is written so)' in advice and advice.index('"1500.50"') < advice.index("JSON number"), advice


def test_a_money_number_and_another_mistake_are_refused_in_one_answer(client: TestClient) -> None:
    """Tester 126 F2: the money rule ran in the route, after the schema: a body with another mistake was refused for that
    one first, and once it was put right, for its money in a second 422 (the API lists every mistake in one)."""
    programme(client)
    part = "p" * 61  # a part's name is at most 60 characters
    answer = put_raw(client, "seed_funds_granted_pen", b'{"target": {"value": 25000, "' + part.encode() + b'": "1.00"}}')
    problem = assert_problem(answer, 422)
    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [(f"target.{part}.[key]", "string_too_long"), ("target.value", "decimal_text")]
    assert set_ones(client) == []


def test_a_money_target_far_above_the_bound_is_told_it_must_be_text_not_that_it_is_too_large(client: TestClient) -> None:
    programme(client)
    problem = assert_problem(put_raw(client, "seed_funds_granted_pen", b'{"target": {"value": 1e300}}'), 422)
    assert [(e["field"], e["rule"], e["message"]) for e in problem["errors"]] == [("target.value", "decimal_text", AS_EVERY_AMOUNT)]


@pytest.mark.parametrize(
    ("indicator", "body", "mistakes"),
    [
        ("seed_funds_granted_pen", {"target": {"value": 25000, "bogus": "1"}},
         [("target.value", "decimal_text"), ("target.bogus", "indicator_part")]),
        ("seed_funds_granted_pen", {"target": {"value": "12.345"}, "baseline": {"value": "1.234"}},
         [("baseline.value", "target_value"), ("target.value", "target_value")]),
        ("participatory_budget", {"target": {"amount_funded_pen": "10.001", "submitted": 1.5, "funded": "x"}},
         [("target.funded", "decimal_text"), ("target.amount_funded_pen", "target_value"), ("target.submitted", "target_value")]),
        ("agents_of_change", {"target": {"total": 40, "by_sex.Q": 3, "by_sex.F": 2.5}, "baseline": {"total": 1e300}},
         [("baseline.total", "at_most_1000000000000"), ("target.by_sex.Q", "indicator_part"), ("target.by_sex.F", "target_value")]),
        ("seed_funds_granted_pen", {"target": {}, "extra": 1}, [("extra", "extra_forbidden"), ("target", "not_empty")]),
    ],
)
def test_a_targets_body_with_several_mistakes_is_refused_naming_each_in_one_answer(
    client: TestClient, indicator: str, body: dict[str, object], mistakes: list[tuple[str, str]]
) -> None:
    """Tester 133 F3: the parts' rules (a part of another indicator, a value with more places than kept) came from the
    domain one at a time, after the schema's and the money rule's: four rounds for one body."""
    programme(client)
    problem = assert_problem(put_raw(client, indicator, json.dumps(body).encode()), 422)
    assert sorted((e["field"], e["rule"]) for e in problem["errors"]) == sorted(mistakes)
    assert set_ones(client) == []


def test_a_figure_of_too_many_parts_is_told_the_bound_without_a_count_it_does_not_have(client: TestClient) -> None:
    """Tester 133 F4: 41 parts were told "must hold at most 40 items, not None"."""
    programme(client)
    parts = {f"part_{n}": "1" for n in range(41)}
    problem = assert_problem(put_raw(client, "osvs_identified", json.dumps({"target": parts}).encode()), 422, "target", "at_most_40_items")
    [said] = [e["message"] for e in problem["errors"] if e["field"] == "target"]
    assert said == "must hold at most 40 items"


@pytest.mark.parametrize("value", [{"a": 1}, None, True, [1]])
def test_a_money_part_that_is_no_number_at_all_is_told_money_is_a_decimal_string(client: TestClient, value: object) -> None:
    """Tester 133 F4: an object or true was told "a JSON number (12.5) or text of digits", and the JSON number was then
    refused as money: the advice contradicted the rule."""
    programme(client)
    body = json.dumps({"target": {"value": value}}).encode()
    problem = assert_problem(put_raw(client, "seed_funds_granted_pen", body), 422, "target.value", "decimal_text")
    [said] = [e["message"] for e in problem["errors"] if e["field"] == "target.value"]
    assert said.startswith('must be a decimal string such as "1500.00"') and "JSON number (12.5)" not in said


@pytest.mark.parametrize(("indicator", "part"), [("seed_funds_granted_pen", "value"), ("participatory_budget", "submitted"),
                                                 ("agents_of_change", "total")])
@pytest.mark.parametrize("digits", [21, 30, 60])
def test_a_figure_of_more_digits_than_a_decimal_holds_is_refused_as_too_long_never_a_500(
    client: TestClient, indicator: str, part: str, digits: int
) -> None:
    """Tester 233 F2: a money value of 30 digits or more was a 500 (``InvalidOperation`` cutting it to the cent, past the
    decimal context's 28 digits, in the rules run on the body as sent), and the connection reset after it."""
    programme(client)
    for figure in ("target", "baseline"):
        body = {"target": {part: "1"}, figure: {part: "1" * digits}}

        answer = put_raw(client, indicator, json.dumps(body).encode())

        problem = assert_problem(answer, 422)
        assert [(e["field"], e["rule"]) for e in problem["errors"]] == [(f"{figure}.{part}", "decimal_text")], problem
    assert set_ones(client) == []


def test_a_fault_in_the_rules_run_on_a_refused_body_still_answers_the_schemas_422_and_logs_no_value(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Tester 233 F2: a fault of those rules was a 500, the connection dropped after it, and the logged traceback held the
    body's values. The body is refused all the same: the schema's mistakes are the answer."""
    programme(client)

    def faulty(body: object, indicator: str) -> list[object]:
        raise ArithmeticError("a rule's own fault")

    monkeypatch.setattr("services.reporting.api.targets_body_mistakes", faulty)
    answer = put_raw(client, "agents_of_change", b'{"target": {"total": 5}, "extra": "Zoraida Quispe"}')

    problem = assert_problem(answer, 422, "extra", "extra_forbidden")
    assert [e["field"] for e in problem["errors"]] == ["extra"]
    assert "a refused body's rules failed" in caplog.text and "ArithmeticError" in caplog.text
    assert "Zoraida" not in caplog.text
    assert set_ones(client) == []
