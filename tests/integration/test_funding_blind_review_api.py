"""Evaluators score blind (tester 126 F4): an evaluator reading a proposal it had not scored yet saw the other
evaluators' scores and their mean, which anchored its own. Now it sees, of a proposal, its own scoring alone, before
and after it scores; the lead, staff and auditors read every scoring and the mean as before. The round and its people
are :mod:`tests.integration.test_funding_rounds_api`'s, signed in with real tokens."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_funding_rounds_api import a_proposal, a_round, as_holder, score
from tests.support.identity import SignedInAs

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("funding")]


def read(reader: Any, path: str) -> Any:
    answer = reader.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def sheet(proposal: dict[str, Any]) -> tuple[list[tuple[str, str]], str | None]:
    """The scorings a reader is shown (code, weighted total) and the mean."""
    return [(s["evaluator"], s["weighted_total"]) for s in proposal["scorings"]], proposal["mean_weighted_total"]


def test_an_evaluator_sees_its_own_scoring_alone_and_the_lead_sees_every_one(client: TestClient) -> None:
    round_ = a_round(client)
    rid = round_["id"]
    proposal = a_proposal(client, rid)
    path = f"/proposals/{proposal['id']}"

    # EV-3 scores first (93.00); EV-2, who has not scored yet, reads the proposal to score it.
    score(client, proposal["id"], "EV-3", 9, 8, 5)
    ev2 = as_holder(client, "EV-2")
    unscored = read(ev2, path)
    assert sheet(unscored) == ([], None)
    assert unscored["version"] is None  # it counts the proposal's events, the others' scorings among them
    assert (unscored["summary"], unscored["title"]) == (proposal["summary"], proposal["title"])  # what it scores is all there
    assert [sheet(p) for p in read(ev2, f"/rounds/{rid}/proposals")] == [([], None)]

    # It scores (73.50): its answer, and its reads after, show its own scoring, still none of the others' nor their mean.
    answered = score(client, proposal["id"], "EV-2", 8, 6, 4)
    assert sheet(answered) == ([("EV-2", "73.50")], None)
    assert sheet(read(ev2, path)) == ([("EV-2", "73.50")], None)
    assert [sheet(p) for p in read(ev2, f"/rounds/{rid}/proposals")] == [([("EV-2", "73.50")], None)]
    assert sheet(read(as_holder(client, "EV-3"), path)) == ([("EV-3", "93.00")], None)

    # The lead (who decides), staff and auditors read the panel's every scoring and the mean, as before.
    panel = ([("EV-3", "93.00"), ("EV-2", "73.50")], "83.25")
    assert sheet(read(client, path)) == panel
    for name in ("lead", "staff", "auditor"):
        assert sheet(read(SignedInAs(client, name), path)) == panel, name
        assert [sheet(p) for p in read(SignedInAs(client, name), f"/rounds/{rid}/proposals")] == [panel], name
    assert read(SignedInAs(client, "lead"), path)["version"] == proposal["version"] + 2
