"""A proposal's decision waits for the committee: every evaluator assigned to its round scores before it is approved or
rejected on its merits (tester 37c F5: a proposal approved before its last evaluator scored; that evaluator then got
409 ``decide_once``). Pure domain, no I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.funding.domain.proposals import (
    SET_ASIDE_UNSCORED,
    NotScoredError,
    Proposal,
    ProposalStatus,
    RejectionReason,
    ScoresPendingError,
)
from services.funding.domain.rounds import Round
from tests.unit.test_funding_rounds import a_proposal, a_round, scores

APPROVED_ON = date(2021, 6, 10)


def a_round_with_a_committee(*codes: str) -> Round:
    """A round whose lead assigned ``codes``, each to another person."""
    round_ = a_round()
    for index, code in enumerate(codes):
        round_.assign_evaluator(code, f"person-{index}", round_.opens_on)
    return round_


def score_as(proposal: Proposal, round_: Round, code: str, on: date = date(2021, 6, 5)) -> None:
    """``code``'s scores, as the person holding it sends them."""
    proposal.score(round_.criteria, code, scores(8, 6, 4), on, round_.codes_of(round_.evaluators[code]))


# The committee decides together -------------------------------------------------------------


def test_a_proposal_is_not_approved_while_an_assigned_evaluator_has_not_scored_it() -> None:
    round_ = a_round_with_a_committee("EV-1", "EV-2", "EV-3")
    proposal = a_proposal(round_)
    score_as(proposal, round_, "EV-2")

    with pytest.raises(ScoresPendingError) as refused:
        proposal.approve(round_, Decimal("1000"), APPROVED_ON)

    assert (refused.value.field, refused.value.rule) == ("proposal_id", "scores_pending")
    assert refused.value.pending == ("EV-1", "EV-3")  # in the order they were assigned
    assert refused.value.extensions == {"pending_evaluators": ["EV-1", "EV-3"]}
    assert "EV-1, EV-3" in refused.value.message and "an approval waits" in refused.value.message
    assert "withdrawal" in refused.value.message  # how a code no one will score under stops blocking
    assert "person-" not in refused.value.message  # codes, never who holds them
    # Nothing was decided nor set aside of the budget: the late evaluator still scores.
    assert proposal.status is ProposalStatus.SUBMITTED and round_.committed == {}
    score_as(proposal, round_, "EV-1")
    score_as(proposal, round_, "EV-3")
    assert len(proposal.scorings) == 3


def test_a_proposal_is_approved_once_every_assigned_evaluator_has_scored_it() -> None:
    round_ = a_round_with_a_committee("EV-1", "EV-2")
    proposal = a_proposal(round_)
    score_as(proposal, round_, "EV-1")
    score_as(proposal, round_, "EV-2")

    proposal.approve(round_, Decimal("1000"), APPROVED_ON)

    assert proposal.status is ProposalStatus.APPROVED
    assert round_.committed == {proposal.id: Decimal("1000.00")}


@pytest.mark.parametrize("reason", [RejectionReason.LOW_SCORE, RejectionReason.OVER_BUDGET, RejectionReason.OTHER])
def test_a_rejection_on_the_merits_waits_for_every_assigned_evaluator(reason: RejectionReason) -> None:
    round_ = a_round_with_a_committee("EV-1", "EV-2")
    proposal = a_proposal(round_)
    score_as(proposal, round_, "EV-1")

    with pytest.raises(ScoresPendingError) as refused:
        proposal.reject(round_, reason, APPROVED_ON)

    assert refused.value.pending == ("EV-2",)
    assert f"a rejection for {reason} waits" in refused.value.message
    assert proposal.status is ProposalStatus.SUBMITTED
    score_as(proposal, round_, "EV-2")
    proposal.reject(round_, reason, APPROVED_ON)
    assert proposal.status is ProposalStatus.REJECTED


@pytest.mark.parametrize("reason", sorted(SET_ASIDE_UNSCORED))
def test_a_proposal_set_aside_unjudged_is_rejected_without_waiting_for_scores(reason: RejectionReason) -> None:
    """Ineligible (a dissolved OSV's proposal is rejected, not scored), incomplete or withdrawn: no score bears on it."""
    round_ = a_round_with_a_committee("EV-1", "EV-2")
    proposal = a_proposal(round_)

    proposal.reject(round_, reason, APPROVED_ON)

    assert proposal.status is ProposalStatus.REJECTED


def test_a_person_holding_two_codes_from_before_the_rule_is_awaited_once() -> None:
    """A round assigned before one code per person: its holder of two codes scores once, under either; neither is then pending."""
    round_ = a_round()
    for code in ("EV-1", "EV-2"):
        round_._evaluator_assigned(evaluator=code, subject="ana", assigned_on=round_.opens_on)  # as such a round's events replay
    round_._evaluator_assigned(evaluator="EV-3", subject="luis", assigned_on=round_.opens_on)
    proposal = a_proposal(round_)
    score_as(proposal, round_, "EV-2")

    assert proposal.evaluators_pending(round_.evaluators) == ["EV-3"]
    score_as(proposal, round_, "EV-3")
    assert proposal.evaluators_pending(round_.evaluators) == []
    proposal.approve(round_, Decimal("1000"), APPROVED_ON)
    assert proposal.status is ProposalStatus.APPROVED


# A round without evaluators decides as before ------------------------------------------------


def test_a_round_without_assigned_evaluators_approves_a_scored_proposal_and_rejects_an_unscored_one() -> None:
    round_ = a_round()
    unscored = a_proposal(round_)
    with pytest.raises(NotScoredError):
        unscored.approve(round_, Decimal("1000"), APPROVED_ON)
    unscored.reject(round_, RejectionReason.LOW_SCORE, APPROVED_ON)
    assert unscored.status is ProposalStatus.REJECTED
    scored = a_proposal(round_)
    scored.score(round_.criteria, "EV-1", scores(8, 6, 4), date(2021, 6, 5))
    scored.approve(round_, Decimal("1000"), APPROVED_ON)
    assert scored.status is ProposalStatus.APPROVED
