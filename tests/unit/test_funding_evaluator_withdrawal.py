"""A lead withdraws an evaluator code from a round (tester 126 F1): a code assigned by mistake, or whose holder left the
programme, blocked every decision on the round's proposals for good (409 ``scores_pending`` for ever). Withdrawn, it is
no longer awaited, scores no more and stays taken; the scores it gave stay and count. Pure domain, no I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.funding.domain.proposals import (
    ProposalStatus,
    RejectionReason,
    ScoredUnderAnotherCodeError,
    ScoresPendingError,
    rank,
)
from services.funding.domain.rounds import (
    EvaluatorCodeTakenError,
    EvaluatorNotFoundError,
    EvaluatorWithdrawalReason,
    EvaluatorWithdrawnError,
    OneCodePerPersonError,
    Round,
    WithdrawnBeforeError,
)
from services.funding.domain.scoring import EvaluatorCodeError
from shared.errors import NotFoundError
from tests.unit.test_funding_decisions import APPROVED_ON, a_round_with_a_committee, score_as
from tests.unit.test_funding_rounds import a_proposal, a_round, scores

WITHDRAWN_ON = date(2021, 6, 6)
MISTAKE = EvaluatorWithdrawalReason.ASSIGNED_BY_MISTAKE
LEFT = EvaluatorWithdrawalReason.LEFT_THE_PROGRAMME


# Decisions no longer wait for a withdrawn code -----------------------------------------------


def test_a_code_assigned_to_a_mistyped_login_no_longer_blocks_the_decision_once_withdrawn() -> None:
    round_ = a_round_with_a_committee("EV-1", "EV-2")
    round_.assign_evaluator("EV-9", "evalutor", round_.opens_on)  # a typo: no one ever signs in as "evalutor"
    proposal = a_proposal(round_)
    score_as(proposal, round_, "EV-1")
    score_as(proposal, round_, "EV-2")
    with pytest.raises(ScoresPendingError) as refused:
        proposal.approve(round_, Decimal("1000"), APPROVED_ON)
    assert refused.value.pending == ("EV-9",)
    assert "withdrawal" in refused.value.message and "cannot be withdrawn" not in refused.value.message

    round_.withdraw_evaluator("EV-9", WITHDRAWN_ON, MISTAKE)

    assert "EV-9" not in round_.evaluators and not round_.assigned_to("evalutor")
    assert proposal.evaluators_pending(round_.evaluators, round_.holders) == []
    proposal.approve(round_, Decimal("1000"), APPROVED_ON)
    assert proposal.status is ProposalStatus.APPROVED


def test_a_rejection_on_the_merits_waits_only_for_the_codes_still_assigned() -> None:
    round_ = a_round_with_a_committee("EV-1", "EV-2", "EV-3")
    proposal = a_proposal(round_)
    score_as(proposal, round_, "EV-1")
    round_.withdraw_evaluator("EV-3", WITHDRAWN_ON, LEFT)

    with pytest.raises(ScoresPendingError) as refused:
        proposal.reject(round_, RejectionReason.LOW_SCORE, APPROVED_ON)
    assert refused.value.pending == ("EV-2",)
    score_as(proposal, round_, "EV-2")
    proposal.reject(round_, RejectionReason.LOW_SCORE, APPROVED_ON)
    assert proposal.status is ProposalStatus.REJECTED


# The scores it gave stay and count ------------------------------------------------------------


def test_the_scores_a_withdrawn_code_gave_stay_on_the_proposal_and_count_in_its_mean_and_the_ranking() -> None:
    round_ = a_round_with_a_committee("EV-1", "EV-2")
    proposal = a_proposal(round_)
    score_as(proposal, round_, "EV-1")
    proposal.score(round_.criteria, "EV-2", scores(10, 10, 5), date(2021, 6, 5), round_.codes_of("person-1"))
    mean_before = proposal.mean_weighted_total

    round_.withdraw_evaluator("EV-2", WITHDRAWN_ON, LEFT)

    assert [s.evaluator for s in proposal.scorings] == ["EV-1", "EV-2"]
    assert proposal.mean_weighted_total == mean_before
    (standing,) = rank(round_, {proposal.id: proposal})
    assert (standing.mean_weighted_total, standing.evaluator_count) == (mean_before, 2)
    proposal.approve(round_, Decimal("1000"), APPROVED_ON)


# A withdrawn code scores no more, and stays taken ------------------------------------------------


def test_a_withdrawn_code_scores_no_more_and_its_holder_reads_the_round_no_more() -> None:
    round_ = a_round_with_a_committee("EV-1", "EV-2")
    round_.withdraw_evaluator("EV-2", WITHDRAWN_ON, EvaluatorWithdrawalReason.CONFLICT_OF_INTEREST)

    assert not round_.assigned_to("person-1") and round_.held_by("person-1")
    for named in ("EV-2", None):
        with pytest.raises(EvaluatorWithdrawnError) as refused:
            round_.scoring_code("person-1", named)
        assert (refused.value.field, refused.value.rule) == ("evaluator", "evaluator_withdrawn")
        assert "EV-2" in refused.value.message and "2021-06-06" in refused.value.message
    assert round_.scoring_code("person-0", None) == "EV-1"


def test_a_withdrawn_code_stays_taken_but_its_holder_and_the_right_person_may_be_given_another() -> None:
    round_ = a_round()
    round_.assign_evaluator("EV-1", "evalutor", round_.opens_on)
    with pytest.raises(OneCodePerPersonError):
        round_.assign_evaluator("EV-2", "evalutor", round_.opens_on)
    round_.withdraw_evaluator("EV-1", WITHDRAWN_ON, MISTAKE)

    with pytest.raises(EvaluatorCodeTakenError) as taken:
        round_.assign_evaluator("EV-1", "evaluator", WITHDRAWN_ON)  # its scores would be published under one code for two people
    assert taken.value.rule == "evaluator_code_once" and "withdrawn" in taken.value.message
    round_.assign_evaluator("EV-2", "evaluator", WITHDRAWN_ON)  # the right person
    round_.assign_evaluator("EV-3", "evalutor", WITHDRAWN_ON)  # the same login again: no longer holds a code here
    assert round_.evaluators == {"EV-2": "evaluator", "EV-3": "evalutor"}
    assert round_.codes_of("evalutor") == ["EV-3"] and round_.withdrawn_codes_of("evalutor") == ["EV-1"]


def test_a_person_given_a_new_code_after_scoring_under_a_withdrawn_one_scores_once_and_is_not_awaited_again() -> None:
    round_ = a_round()
    round_.assign_evaluator("EV-1", "ana", round_.opens_on)
    scored, unscored = a_proposal(round_), a_proposal(round_)
    scored.score(round_.criteria, "EV-1", scores(8, 6, 4), date(2021, 6, 5), round_.codes_of("ana"))
    round_.withdraw_evaluator("EV-1", WITHDRAWN_ON, MISTAKE)  # the wrong code of the programme's list
    round_.assign_evaluator("EV-4", "ana", WITHDRAWN_ON)
    anas = [*round_.codes_of("ana"), *round_.withdrawn_codes_of("ana")]

    assert scored.evaluators_pending(round_.evaluators, round_.holders) == []
    assert unscored.evaluators_pending(round_.evaluators, round_.holders) == ["EV-4"]
    with pytest.raises(ScoredUnderAnotherCodeError):
        scored.score(round_.criteria, "EV-4", scores(10, 10, 5), date(2021, 6, 7), anas)
    unscored.score(round_.criteria, "EV-4", scores(10, 10, 5), date(2021, 6, 7), anas)
    assert unscored.evaluators_pending(round_.evaluators, round_.holders) == []


# What a withdrawal refuses, writing nothing -----------------------------------------------------


def test_an_unknown_code_is_not_found_naming_it() -> None:
    round_ = a_round_with_a_committee("EV-1")
    with pytest.raises(EvaluatorNotFoundError) as refused:
        round_.withdraw_evaluator("EV-7", WITHDRAWN_ON, MISTAKE)
    assert isinstance(refused.value, NotFoundError) and "EV-7" in refused.value.message
    assert refused.value.field == "evaluator"
    with pytest.raises(EvaluatorCodeError):
        round_.withdraw_evaluator("Ana", WITHDRAWN_ON, MISTAKE)


def test_a_code_is_withdrawn_once() -> None:
    round_ = a_round_with_a_committee("EV-1")
    round_.withdraw_evaluator("EV-1", WITHDRAWN_ON, MISTAKE)
    with pytest.raises(EvaluatorWithdrawnError) as refused:
        round_.withdraw_evaluator("EV-1", date(2021, 6, 9), LEFT)
    assert refused.value.rule == "evaluator_withdrawn" and "2021-06-06" in refused.value.message
    assert round_.withdrawn["EV-1"].reason is MISTAKE


@pytest.mark.parametrize(
    ("withdrawn_on", "rule"), [(date(2021, 4, 30), "not_before_opens_on"), (date(2021, 5, 19), "not_before_assignment")]
)
def test_a_withdrawal_dated_before_the_round_opened_or_the_code_was_assigned_is_refused(withdrawn_on: date, rule: str) -> None:
    round_ = a_round()
    round_.assign_evaluator("EV-1", "ana", date(2021, 5, 20))
    round_.collect_events()
    with pytest.raises(WithdrawnBeforeError) as refused:
        round_.withdraw_evaluator("EV-1", withdrawn_on, MISTAKE)
    assert (refused.value.field, refused.value.rule) == ("withdrawn_on", rule)
    assert round_.collect_events() == [] and round_.evaluators == {"EV-1": "ana"}
    round_.withdraw_evaluator("EV-1", date(2021, 5, 20), MISTAKE)  # the day it was assigned will do


# Events replay, those stored before withdrawals included ------------------------------------------


def test_a_rounds_events_replay_to_the_same_evaluators_with_or_without_a_withdrawal() -> None:
    round_ = a_round_with_a_committee("EV-1", "EV-2")
    before = round_.collect_events()  # a round's events as stored before withdrawals existed
    round_.withdraw_evaluator("EV-2", WITHDRAWN_ON, LEFT)
    (withdrawn,) = round_.collect_events()
    assert set(vars(withdrawn)) >= {"evaluator", "withdrawn_on", "reason"} and "subject" not in vars(withdrawn)  # names no one

    replayed: Round | None = None
    for stored in before:
        replayed = stored.mutate(replayed)
    assert replayed is not None and replayed.evaluators == {"EV-1": "person-0", "EV-2": "person-1"} and replayed.withdrawn == {}
    replayed = withdrawn.mutate(replayed)
    assert replayed is not None and replayed.evaluators == {"EV-1": "person-0"}
    assert replayed.withdrawn == round_.withdrawn and replayed.holders == {"EV-1": "person-0", "EV-2": "person-1"}
