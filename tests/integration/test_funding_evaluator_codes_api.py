"""An evaluator code compares without regard to case or surrounding spaces (tester 126 F4): `EV-X1` and `ev-x1` were two
codes, so a lead could give one person's code to a second person in another spelling, and a lead or an evaluator who
typed a code in another case was told it was never assigned. The code is shown as first assigned. The round and its
people are :mod:`tests.integration.test_funding_rounds_api`'s, signed in with real tokens."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_funding_rounds_api import a_proposal, a_round, scoring
from tests.support.api import assert_problem, created
from tests.support.clients import application_of, head
from tests.support.identity import SECOND_EVALUATOR, TESTER, SignedInAs

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("funding")]


def assign(client: TestClient, round_id: str, code: str, subject: str) -> Any:
    return client.post(f"/rounds/{round_id}/evaluators", json={"evaluator": code, "subject": subject, "assigned_on": "2021-05-01"})


def withdraw(client: TestClient, round_id: str, code: str) -> Any:
    return client.post(f"/rounds/{round_id}/evaluators/{code}/withdrawal", json={"withdrawn_on": "2021-06-06", "reason": "other"})


def codes(client: TestClient, round_id: str, listed: str = "evaluators") -> list[str]:
    return [e["evaluator"] for e in client.get(f"/rounds/{round_id}").json()[listed]]


def test_a_code_in_another_case_is_the_same_code_shown_as_first_assigned(client: TestClient) -> None:
    rid = a_round(client, committee=())["id"]
    created(assign(client, rid, "EV-X1", "evaluator"))

    # A second assignment differing only in case, or in surrounding spaces, is the code taken: nothing is written.
    before = head(client)
    for again in ("ev-x1", " Ev-X1 "):
        problem = assert_problem(assign(client, rid, again, SECOND_EVALUATOR), 409, "evaluator", "evaluator_code_once")
        assert "'EV-X1'" in problem["detail"]
    assert head(client) == before
    assert codes(client, rid) == ["EV-X1"]

    # Its holder scores naming it in another case: the scoring is under the code as assigned, and decisions wait no more.
    proposal = a_proposal(client, rid)
    scored = created(SignedInAs(client, "evaluator").post(f"/proposals/{proposal['id']}/scores", json=scoring("ev-x1", 8, 6, 4)))
    assert [s["evaluator"] for s in scored["scorings"]] == ["EV-X1"]
    again = SignedInAs(client, "evaluator").post(f"/proposals/{proposal['id']}/scores", json=scoring("EV-X1", 8, 6, 4))
    assert_problem(again, 409, "evaluator", "score_once")

    # A lead withdraws it naming it in another case; it stays taken in every spelling.
    withdrawn = created(withdraw(client, rid, "ev-X1"))
    assert (codes(client, rid), [w["evaluator"] for w in withdrawn["withdrawn_evaluators"]]) == ([], ["EV-X1"])
    assert_problem(withdraw(client, rid, "EV-x1"), 409, "evaluator", "evaluator_withdrawn")
    assert "withdrawn" in assert_problem(assign(client, rid, "ev-x1", SECOND_EVALUATOR), 409, "evaluator", "evaluator_code_once")["detail"]


def test_a_round_holding_two_spellings_of_a_code_from_before_keeps_both_and_names_either_as_spelt(client: TestClient) -> None:
    """A round whose assignments were recorded while codes compared with case: `EV-1` and `ev-1` are two people's."""
    funding = application_of(client)
    rid = a_round(client, committee=("EV-1",))["id"]
    legacy = funding.get_round(UUID(rid))
    legacy._evaluator_assigned(evaluator="ev-1", subject=SECOND_EVALUATOR, assigned_on=legacy.opens_on)  # as its events replay
    funding.save(legacy)
    assert codes(client, rid) == ["EV-1", "ev-1"]

    # Each holder scores under its own code, whatever the case it types; the decision waits for both, named as assigned.
    proposal = a_proposal(client, rid)
    mine = created(client.post(f"/proposals/{proposal['id']}/scores", json=scoring("ev-1", 8, 6, 4)))
    assert [s["evaluator"] for s in mine["scorings"]] == ["EV-1"]
    pending = client.post(f"/proposals/{proposal['id']}/approval", json={"amount": "100.00", "approved_on": "2021-06-10"})
    assert assert_problem(pending, 409, "proposal_id", "scores_pending")["pending_evaluators"] == ["ev-1"]
    theirs = SignedInAs(client, SECOND_EVALUATOR).post(f"/proposals/{proposal['id']}/scores", json=scoring("EV-1", 9, 8, 5))
    assert [s["evaluator"] for s in created(theirs)["scorings"]] == ["ev-1"]  # blind: its own alone
    assert [s["evaluator"] for s in client.get(f"/proposals/{proposal['id']}").json()["scorings"]] == ["EV-1", "ev-1"]

    # A third spelling is either code: taken for an assignment, and a withdrawal must name one as spelt.
    assert_problem(assign(client, rid, "Ev-1", "lead"), 409, "evaluator", "evaluator_code_once")
    before = head(client)
    problem = assert_problem(withdraw(client, rid, "Ev-1"), 409, "evaluator", "evaluator_code_unambiguous")
    assert "'EV-1'" in problem["detail"] and "'ev-1'" in problem["detail"]
    assert head(client) == before
    created(withdraw(client, rid, "ev-1"))
    assert (codes(client, rid), codes(client, rid, "withdrawn_evaluators")) == (["EV-1"], ["ev-1"])
    assert client.get(f"/rounds/{rid}").json()["evaluators"] == [{"evaluator": "EV-1", "subject": TESTER}]
