"""A proposal's decision over HTTP waits for the committee: approved, or rejected on its merits, once every evaluator
assigned to its round has scored it (409 `scores_pending` naming the codes awaited). The round and its people are
:mod:`tests.integration.test_funding_rounds_api`'s."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_funding_rounds_api import a_proposal, a_round, approve, score
from tests.support.api import assert_problem, created
from tests.support.clients import head
from tests.support.identity import SECOND_EVALUATOR, TESTER

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("funding")]


def test_a_decision_waits_until_every_evaluator_of_the_round_has_scored(client: TestClient) -> None:
    """Tester 37c F5: a proposal was approved once one evaluator had scored it; the round's other evaluators then got 409
    `decide_once` on their scores. The committee decides together: the lead is told whose scores are awaited."""
    rid = a_round(client)["id"]
    proposal = a_proposal(client, rid)
    score(client, proposal["id"], "EV-1", 8, 6, 4)
    before = head(client)

    # Two of the round's three evaluators have not scored: neither an approval nor a rejection on the merits is taken.
    early = assert_problem(approve(client, proposal["id"], "1000.00"), 409, "proposal_id", "scores_pending")
    assert early["pending_evaluators"] == ["EV-2", "EV-3"]
    assert "EV-2, EV-3" in early["detail"] and "withdrawal" in early["detail"]
    assert TESTER not in early["detail"] and SECOND_EVALUATOR not in str(early)  # codes, never who holds them
    low = client.post(f"/proposals/{proposal['id']}/rejection", json={"reason": "low_score", "rejected_on": "2021-06-10"})
    assert assert_problem(low, 409, "proposal_id", "scores_pending")["pending_evaluators"] == ["EV-2", "EV-3"]
    assert head(client) == before
    assert client.get(f"/rounds/{rid}").json()["approved_total"] == "0.00"

    # The evaluators still to score do so, not refused as though it were decided; the last one's score opens the decision.
    score(client, proposal["id"], "EV-2", 9, 8, 5)
    assert assert_problem(approve(client, proposal["id"], "1000.00"), 409, "proposal_id", "scores_pending")["pending_evaluators"] == ["EV-3"]
    score(client, proposal["id"], "EV-3", 7, 7, 4)
    approved = created(approve(client, proposal["id"], "1000.00"))
    assert (approved["status"], len(approved["scorings"])) == ("approved", 3)
    assert client.get(f"/rounds/{rid}").json()["approved_total"] == "1000.00"


def test_a_proposal_set_aside_unjudged_is_rejected_before_its_scores(client: TestClient) -> None:
    """Withdrawn by its OSV, incomplete or ineligible: no score bears on it, so its rejection waits for none."""
    proposal = a_proposal(client, a_round(client)["id"])
    rejected = created(client.post(f"/proposals/{proposal['id']}/rejection", json={"reason": "withdrawn", "rejected_on": "2021-06-10"}))
    assert rejected["rejection"] == {"reason": "withdrawn", "rejected_on": "2021-06-10"}
