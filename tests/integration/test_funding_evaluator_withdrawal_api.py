"""A lead withdraws an evaluator code from a round over HTTP (tester 126 F1): a code assigned by mistake, or whose holder
left the programme, answered every approval and merit rejection of the round with 409 `scores_pending` for good.
The round and its people are :mod:`tests.integration.test_funding_rounds_api`'s, signed in with real tokens."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_funding_rounds_api import UNKNOWN, a_proposal, a_round, approve, as_holder, score, scoring
from tests.support.api import assert_problem, created
from tests.support.clients import application_of, head
from tests.support.identity import SECOND_EVALUATOR, SignedInAs

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("funding")]


def withdraw(client: TestClient, round_id: str, code: str, withdrawn_on: str = "2021-06-06", reason: str = "assigned_by_mistake") -> Any:
    return client.post(f"/rounds/{round_id}/evaluators/{code}/withdrawal", json={"withdrawn_on": withdrawn_on, "reason": reason})


def test_a_code_assigned_to_a_mistyped_login_is_withdrawn_and_the_round_decides_again(client: TestClient) -> None:
    round_ = a_round(client, committee=("EV-1", "EV-2"))
    rid = round_["id"]
    created(client.post(f"/rounds/{rid}/evaluators", json={"evaluator": "EV-9", "subject": "evalutor", "assigned_on": "2021-05-01"}))
    proposal = a_proposal(client, rid)
    score(client, proposal["id"], "EV-1", 8, 6, 4)
    score(client, proposal["id"], "EV-2", 9, 8, 5)

    # No one will ever sign in as "evalutor": the decision waited for EV-9 for good.
    blocked = assert_problem(approve(client, proposal["id"], "1000.00"), 409, "proposal_id", "scores_pending")
    assert blocked["pending_evaluators"] == ["EV-9"] and "/withdrawal" in blocked["detail"]

    withdrawn = created(withdraw(client, rid, "EV-9"))
    assert [e["evaluator"] for e in withdrawn["evaluators"]] == ["EV-1", "EV-2"]
    assert withdrawn["withdrawn_evaluators"] == [
        {"evaluator": "EV-9", "subject": "evalutor", "withdrawn_on": "2021-06-06", "reason": "assigned_by_mistake"}
    ]
    assert created(approve(client, proposal["id"], "1000.00"))["status"] == "approved"

    # The code stays taken (its scores would be published under one code for two people); the right person gets another.
    again = client.post(f"/rounds/{rid}/evaluators", json={"evaluator": "EV-9", "subject": "evaluator-2", "assigned_on": "2021-06-06"})
    assert "withdrawn" in assert_problem(again, 409, "evaluator", "evaluator_code_once")["detail"]
    created(client.post(f"/rounds/{rid}/evaluators", json={"evaluator": "EV-3", "subject": SECOND_EVALUATOR, "assigned_on": "2021-06-06"}))
    # The round as stored, read afresh from its events (not the copy kept in memory), holds the withdrawal.
    stored = application_of(client).repository.get(UUID(rid), version=client.get(f"/rounds/{rid}").json()["version"])
    assert "EV-9" in stored.withdrawn and "EV-9" not in stored.evaluators


def test_an_evaluator_who_left_reads_and_scores_no_more_and_the_scores_they_gave_still_count(client: TestClient) -> None:
    rid = a_round(client)["id"]
    first, second = a_proposal(client, rid), a_proposal(client, rid)
    score(client, first["id"], "EV-2", 9, 8, 5)
    leaver = as_holder(client, "EV-2")
    assert leaver.get(f"/proposals/{first['id']}").status_code == 200

    created(withdraw(client, rid, "EV-2", reason="left_the_programme"))

    assert_problem(leaver.get(f"/rounds/{rid}"), 404)
    assert_problem(leaver.get(f"/proposals/{first['id']}"), 404)
    late = leaver.post(f"/proposals/{second['id']}/scores", json=scoring("EV-2", 5, 5, 3))
    assert "scores no more" in assert_problem(late, 409, "evaluator", "evaluator_withdrawn")["detail"]
    # The scores EV-2 gave stay and count; the others' complete the committee.
    score(client, first["id"], "EV-1", 8, 6, 4)
    score(client, first["id"], "EV-3", 7, 7, 4)
    kept = client.get(f"/proposals/{first['id']}").json()
    assert [s["evaluator"] for s in kept["scorings"]] == ["EV-2", "EV-1", "EV-3"]
    ranked = client.get(f"/rounds/{rid}/ranking").json()["proposals"][0]
    assert (ranked["proposal_id"], ranked["evaluator_count"], ranked["mean_weighted_total"]) == (first["id"], 3, kept["mean_weighted_total"])
    assert created(approve(client, first["id"], "1000.00"))["status"] == "approved"


@pytest.mark.parametrize(
    ("code", "body", "status", "field", "rule"),
    [
        ("EV-7", {}, 404, "evaluator", "evaluator_assigned"),
        ("Ana", {}, 422, "evaluator", "evaluator_code"),
        ("EV-1", {"withdrawn_on": "2021-04-30"}, 422, "withdrawn_on", "not_before_opens_on"),
        ("EV-1", {"reason": "tired"}, 422, "reason", None),
        ("EV-1", {"withdrawn_on": "6/6/2021"}, 422, "withdrawn_on", None),
    ],
)
def test_a_bad_withdrawal_is_refused_naming_what_and_writes_nothing(
    client: TestClient, code: str, body: dict[str, Any], status: int, field: str, rule: str | None
) -> None:
    rid = a_round(client, committee=("EV-1",))["id"]
    before = head(client)
    sent = {"withdrawn_on": "2021-06-06", "reason": "other", **body}
    answer = assert_problem(client.post(f"/rounds/{rid}/evaluators/{code}/withdrawal", json=sent), status, field, rule)
    if status == 404:
        assert "EV-7" in answer["detail"]
    assert head(client) == before
    assert [e["evaluator"] for e in client.get(f"/rounds/{rid}").json()["evaluators"]] == ["EV-1"]


def test_a_code_is_withdrawn_once_and_not_before_it_was_assigned(client: TestClient) -> None:
    rid = a_round(client, committee=())["id"]
    created(client.post(f"/rounds/{rid}/evaluators", json={"evaluator": "EV-1", "subject": "evaluator", "assigned_on": "2021-05-20"}))
    assert_problem(withdraw(client, rid, "EV-1", withdrawn_on="2021-05-19"), 422, "withdrawn_on", "not_before_assignment")
    created(withdraw(client, rid, "EV-1", withdrawn_on="2021-05-20"))
    assert_problem(withdraw(client, rid, "EV-1", reason="left_the_programme"), 409, "evaluator", "evaluator_withdrawn")
    assert_problem(withdraw(client, UNKNOWN, "EV-1"), 404)


def test_only_a_lead_withdraws_a_code(client: TestClient) -> None:
    rid = a_round(client)["id"]
    assert withdraw(SignedInAs(client, "evaluator"), rid, "EV-3").status_code == 403  # type: ignore[arg-type]
    assert [e["evaluator"] for e in client.get(f"/rounds/{rid}").json()["evaluators"]] == ["EV-1", "EV-2", "EV-3"]
