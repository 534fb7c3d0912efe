"""Funding rounds, proposals, scoring and decisions, without any I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from services.funding.domain.phases import PhaseCalendar
from services.funding.domain.proposals import (
    AboveRequestedError,
    AlreadyScoredError,
    ApprovedAmountExceededError,
    BeforeSubmissionError,
    GrantBeforeApprovalError,
    NotApprovedError,
    NotScoredError,
    PlannedOutput,
    Proposal,
    ProposalStatus,
    RejectionReason,
    RepeatedOutputKindError,
    RUOSRegisteredOnlyError,
    ScoredUnderAnotherCodeError,
    rank,
)
from services.funding.domain.rounds import (
    CapacityCriterionMissingError,
    ClosingDateError,
    Eligibility,
    OneProposalPerOSVError,
    OutsidePhaseError,
    OutsideRoundDatesError,
    RepeatedCriterionError,
    RequestAboveBudgetError,
    Round,
    RoundBudgetExceededError,
    RoundClosedError,
    RoundDatesError,
    ScoreRangeError,
)
from services.funding.domain.scoring import (
    Criterion,
    CriterionNotScoredError,
    CriterionScoredTwiceError,
    EvaluatorCodeError,
    OIDCSubjectError,
    Score,
    ScoreOutOfRangeError,
    UnknownCriterionError,
    mean,
    weighted_total,
)
from services.funding.events import catalogue
from shared.errors import AlreadyDecidedError, BelowOneError, NegativeError, NotPositiveError
from shared.money import Currency
from shared.outputs import OutputKind
from shared.sealing import REDACTED_TEXT

PHASE = PhaseCalendar().open_phase("F2", "Fase 2", date(2021, 4, 1), date(2021, 12, 31))

# A rubric whose weights add up to 1: organisational 0.3, administrative 0.2, impact 0.5 (scored 1 to 5).
RUBRIC = [
    Criterion("organisational_capacity", "Capacidad organizativa", Decimal("0.3"), 0, 10),
    Criterion("administrative_capacity", "Capacidad administrativa", Decimal("0.2"), 0, 10),
    Criterion("impact", "Impacto en la integración", Decimal("0.5"), 1, 5),
]


def a_round(**overrides: object) -> Round:
    values: dict[str, object] = {
        "phase": PHASE,
        "name": "Fondos semilla 2021",
        "budget": Decimal("10000"),
        "currency": Currency.PEN,
        "opens_on": date(2021, 5, 1),
        "closes_on": date(2021, 5, 31),
        "eligibility": Eligibility.MAPPED,
        "criteria": RUBRIC,
    }
    values.update(overrides)
    return Round.open(**values)  # type: ignore[arg-type]


def a_proposal(round_: Round, osv_id: UUID | None = None, **overrides: object) -> Proposal:
    values: dict[str, object] = {
        "round_": round_,
        "osv_id": osv_id or uuid4(),
        "registered_on": None,
        "title": "Mural de la integración",
        "summary": "Pintar un mural con vecinos venezolanos y peruanos",
        "requested_amount": Decimal("4000.00"),
        "planned_direct_beneficiaries": 40,
        "planned_indirect_beneficiaries": 300,
        "planned_outputs": [PlannedOutput(OutputKind.MURAL, 1)],
        "submitted_on": date(2021, 5, 10),
    }
    values.update(overrides)
    return Proposal.submit(**values)  # type: ignore[arg-type]


def scores(organisational: int, administrative: int, impact: int) -> list[Score]:
    return [
        Score("organisational_capacity", organisational),
        Score("administrative_capacity", administrative),
        Score("impact", impact),
    ]


def scored(proposal: Proposal, round_: Round, evaluator: str = "EV-1", marks: tuple[int, int, int] = (8, 6, 4)) -> Proposal:
    proposal.score(round_.criteria, evaluator, scores(*marks), date(2021, 6, 5))
    return proposal


# Opening a round --------------------------------------------------------------


def test_a_round_keeps_its_budget_to_the_cent_and_its_rubric_in_order() -> None:
    round_ = a_round()
    assert round_.budget == Decimal("10000.00") and str(round_.budget) == "10000.00"
    assert [c.code for c in round_.criteria] == ["organisational_capacity", "administrative_capacity", "impact"]
    assert (round_.phase_id, round_.approved_total, round_.remaining) == (PHASE.id, Decimal("0.00"), Decimal("10000.00"))


@pytest.mark.parametrize("missing", ["organisational_capacity", "administrative_capacity"])
def test_a_rubric_without_a_capacity_criterion_is_refused_naming_it(missing: str) -> None:
    with pytest.raises(CapacityCriterionMissingError) as refused:
        a_round(criteria=[c for c in RUBRIC if c.code != missing])
    assert (refused.value.field, refused.value.rule) == ("criteria", "rubric_includes_capacity")
    assert missing in refused.value.message


def test_a_criterion_listed_twice_is_refused_naming_the_second() -> None:
    with pytest.raises(RepeatedCriterionError) as refused:
        a_round(criteria=[*RUBRIC, Criterion("impact", "Otra vez", Decimal("1"), 0, 5)])
    assert refused.value.field == "criteria.3.code"


def test_a_criterion_whose_range_does_not_go_up_is_refused() -> None:
    with pytest.raises(ScoreRangeError) as refused:
        a_round(criteria=[*RUBRIC, Criterion("reach", "Alcance", Decimal("1"), 5, 5)])
    assert (refused.value.field, refused.value.rule) == ("criteria.3.max_score", "max_above_min")


@pytest.mark.parametrize("weight", [Decimal("0"), Decimal("-1")])
def test_a_criterion_weighing_nothing_or_less_is_refused(weight: Decimal) -> None:
    with pytest.raises(NotPositiveError) as refused:
        a_round(criteria=[*RUBRIC, Criterion("reach", "Alcance", weight, 0, 5)])
    assert refused.value.field == "criteria.3.weight"


def test_a_round_without_budget_is_refused() -> None:
    with pytest.raises(NotPositiveError) as refused:
        a_round(budget=Decimal("0"))
    assert refused.value.field == "budget"


def test_a_round_closing_before_it_opens_is_refused() -> None:
    with pytest.raises(RoundDatesError) as refused:
        a_round(opens_on=date(2021, 6, 1), closes_on=date(2021, 5, 31))
    assert refused.value.field == "closes_on"


@pytest.mark.parametrize(
    ("opens_on", "closes_on", "field"),
    [(date(2021, 3, 31), date(2021, 5, 31), "opens_on"), (date(2021, 12, 1), date(2022, 1, 1), "closes_on")],
)
def test_a_round_reaching_outside_its_phase_is_refused(opens_on: date, closes_on: date, field: str) -> None:
    with pytest.raises(OutsidePhaseError) as refused:
        a_round(opens_on=opens_on, closes_on=closes_on)
    assert (refused.value.field, refused.value.rule) == (field, "within_phase_dates")
    assert "F2" in refused.value.message


def test_a_round_may_fill_its_whole_phase() -> None:
    assert a_round(opens_on=PHASE.starts_on, closes_on=PHASE.ends_on).closes_on == PHASE.ends_on


# Closing -------------------------------------------------------------------------


def test_a_round_closes_once() -> None:
    round_ = a_round()
    round_.close(date(2021, 5, 31))
    assert round_.closed_on == date(2021, 5, 31)
    with pytest.raises(RoundClosedError) as refused:
        round_.close(date(2021, 6, 1))
    assert refused.value.rule == "round_open"


def test_a_round_cannot_close_before_it_opened() -> None:
    with pytest.raises(ClosingDateError):
        a_round().close(date(2021, 4, 30))


# Submitting -------------------------------------------------------------------------


def test_a_proposal_is_entered_in_its_round_in_submission_order() -> None:
    round_ = a_round()
    first, second = a_proposal(round_), a_proposal(round_)
    assert round_.proposal_ids == [first.id, second.id]
    assert (first.status, first.currency, first.requested_amount) == (ProposalStatus.SUBMITTED, Currency.PEN, Decimal("4000.00"))
    assert first.planned_outputs == [PlannedOutput(OutputKind.MURAL, 1)]


def test_a_proposal_id_follows_from_its_round_and_osv() -> None:
    round_, osv_id = a_round(), uuid4()
    assert a_proposal(round_, osv_id).id == Proposal.id_for(round_.id, osv_id)


def test_an_osv_submits_one_proposal_per_round() -> None:
    round_, osv_id = a_round(), uuid4()
    first = a_proposal(round_, osv_id)
    with pytest.raises(OneProposalPerOSVError) as refused:
        a_proposal(round_, osv_id, title="Otra idea")
    assert (refused.value.field, refused.value.rule) == ("osv_id", "one_proposal_per_osv")
    assert str(first.id) in refused.value.message
    assert round_.proposal_ids == [first.id]


@pytest.mark.parametrize("submitted_on", [date(2021, 4, 30), date(2021, 6, 1)])
def test_a_proposal_outside_the_round_dates_is_refused(submitted_on: date) -> None:
    with pytest.raises(OutsideRoundDatesError) as refused:
        a_proposal(a_round(), submitted_on=submitted_on)
    assert (refused.value.field, refused.value.rule) == ("submitted_on", "within_round_dates")


@pytest.mark.parametrize("submitted_on", [date(2021, 5, 1), date(2021, 5, 31)])
def test_a_proposal_on_the_first_or_last_day_is_taken(submitted_on: date) -> None:
    assert a_proposal(a_round(), submitted_on=submitted_on).submitted_on == submitted_on


def test_a_closed_round_takes_no_proposal_even_within_its_dates() -> None:
    round_ = a_round()
    round_.close(date(2021, 5, 20))
    with pytest.raises(RoundClosedError):
        a_proposal(round_, submitted_on=date(2021, 5, 15))


def test_a_request_above_the_whole_budget_is_refused_but_the_whole_budget_is_not() -> None:
    round_ = a_round()
    with pytest.raises(RequestAboveBudgetError) as refused:
        a_proposal(round_, requested_amount=Decimal("10000.01"))
    assert refused.value.field == "requested_amount"
    assert a_proposal(round_, requested_amount=Decimal("10000")).requested_amount == Decimal("10000.00")


def test_a_request_of_nothing_is_refused() -> None:
    with pytest.raises(NotPositiveError):
        a_proposal(a_round(), requested_amount=Decimal("0"))


def test_a_ruos_only_round_refuses_an_unregistered_osv_saying_why() -> None:
    round_ = a_round(eligibility=Eligibility.RUOS_REGISTERED)
    with pytest.raises(RUOSRegisteredOnlyError) as refused:
        a_proposal(round_, registered_on=None)
    assert (refused.value.field, refused.value.rule) == ("osv_id", "ruos_registered_only")
    assert "not registered" in refused.value.message
    assert round_.proposal_ids == []


def test_a_ruos_only_round_refuses_an_osv_registered_after_it_submitted() -> None:
    round_ = a_round(eligibility=Eligibility.RUOS_REGISTERED)
    with pytest.raises(RUOSRegisteredOnlyError) as refused:
        a_proposal(round_, registered_on=date(2021, 5, 11), submitted_on=date(2021, 5, 10))
    assert "2021-05-11" in refused.value.message
    assert a_proposal(round_, registered_on=date(2021, 5, 10)).osv_id


def test_a_mapped_round_takes_unregistered_osvs() -> None:
    assert a_proposal(a_round(eligibility=Eligibility.MAPPED), registered_on=None).status is ProposalStatus.SUBMITTED


@pytest.mark.parametrize("field", ["planned_direct_beneficiaries", "planned_indirect_beneficiaries"])
def test_negative_planned_beneficiaries_are_refused(field: str) -> None:
    with pytest.raises(NegativeError) as refused:
        a_proposal(a_round(), **{field: -1})
    assert refused.value.field == field


def test_planned_outputs_count_at_least_one_and_list_each_kind_once() -> None:
    with pytest.raises(BelowOneError) as refused:
        a_proposal(a_round(), planned_outputs=[PlannedOutput(OutputKind.FAIR, 0)])
    assert refused.value.field == "planned_outputs.0.count"
    with pytest.raises(RepeatedOutputKindError) as repeated:
        a_proposal(
            a_round(),
            planned_outputs=[PlannedOutput(OutputKind.MURAL, 1), PlannedOutput(OutputKind.MURAL, 2)],
        )
    assert repeated.value.field == "planned_outputs.1.kind"


# The scoring arithmetic -------------------------------------------------------------


def test_the_weighted_total_normalises_each_score_over_its_range() -> None:
    # organisational 8/10 → 80, administrative 6/10 → 60, impact 4 on 1..5 → 75:
    # 0.3 × 80 + 0.2 × 60 + 0.5 × 75 = 24 + 12 + 37.5 = 73.50 (weights add up to 1).
    assert weighted_total(RUBRIC, {"organisational_capacity": 8, "administrative_capacity": 6, "impact": 4}) == Decimal("73.50")


def test_weights_are_relative() -> None:
    marks = {"organisational_capacity": 8, "administrative_capacity": 6, "impact": 4}
    scaled = [Criterion(c.code, c.name, c.weight * 100, c.min_score, c.max_score) for c in RUBRIC]
    assert weighted_total(scaled, marks) == weighted_total(RUBRIC, marks) == Decimal("73.50")


def test_the_lowest_and_highest_scores_give_0_and_100() -> None:
    assert weighted_total(RUBRIC, {"organisational_capacity": 0, "administrative_capacity": 0, "impact": 1}) == Decimal("0.00")
    assert weighted_total(RUBRIC, {"organisational_capacity": 10, "administrative_capacity": 10, "impact": 5}) == Decimal("100.00")


def test_the_total_is_rounded_half_up_to_two_places() -> None:
    # 1 on 0..16 → 6.25; 0 on 0..16 → 0; equal weights: 3.125, which rounds half up to 3.13 (not to even, 3.12).
    rubric = [Criterion("a", "A", Decimal("1"), 0, 16), Criterion("b", "B", Decimal("1"), 0, 16)]
    assert weighted_total(rubric, {"a": 1, "b": 0}) == Decimal("3.13")


def test_the_total_is_rounded_once_from_the_exact_value() -> None:
    # 1 on 0..3 → 100/3 weighing 3; 1 on 0..8 → 12.5 weighing 1: (100 + 12.5) / 4 = 28.125 exactly → 28.13.
    # Rounding each normalised score first (33.33) would give (99.99 + 12.5) / 4 = 28.1225 → 28.12.
    rubric = [Criterion("a", "A", Decimal("3"), 0, 3), Criterion("b", "B", Decimal("1"), 0, 8)]
    assert weighted_total(rubric, {"a": 1, "b": 1}) == Decimal("28.13")


def test_a_mean_is_rounded_half_up_to_two_places() -> None:
    assert mean([Decimal("73.50"), Decimal("60.25")]) == Decimal("66.88")  # 66.875
    assert mean([7, 8, 8]) == Decimal("7.67")
    assert str(mean([8, 6])) == "7.00"


# Scoring a proposal ------------------------------------------------------------------


def test_an_evaluator_scores_every_criterion_and_the_weighted_total_is_recorded() -> None:
    round_ = a_round()
    proposal = a_proposal(round_)
    scoring = proposal.score(round_.criteria, "EV-1", scores(8, 6, 4), date(2021, 6, 5))
    assert (scoring.evaluator, scoring.weighted_total, scoring.scored_on) == ("EV-1", Decimal("73.50"), date(2021, 6, 5))
    assert scoring.score_of("impact") == 4


def test_scores_may_come_in_any_order_and_are_kept_in_rubric_order() -> None:
    round_ = a_round()
    proposal = a_proposal(round_)
    scoring = proposal.score(round_.criteria, "EV-1", list(reversed(scores(8, 6, 4))), date(2021, 6, 5))
    assert [s.criterion for s in scoring.scores] == [c.code for c in RUBRIC]
    assert scoring.weighted_total == Decimal("73.50")


def test_an_unscored_criterion_is_refused_naming_it() -> None:
    round_ = a_round()
    with pytest.raises(CriterionNotScoredError) as refused:
        a_proposal(round_).score(round_.criteria, "EV-1", scores(8, 6, 4)[:2], date(2021, 6, 5))
    assert (refused.value.field, refused.value.rule) == ("scores", "every_criterion_scored")
    assert "'impact'" in refused.value.message


def test_a_criterion_outside_the_rubric_is_refused_naming_it() -> None:
    round_ = a_round()
    with pytest.raises(UnknownCriterionError) as refused:
        a_proposal(round_).score(round_.criteria, "EV-1", [*scores(8, 6, 4), Score("beauty", 3)], date(2021, 6, 5))
    assert (refused.value.field, refused.value.rule) == ("scores.3.criterion", "criterion_in_rubric")
    assert "beauty" in refused.value.message


def test_a_criterion_scored_twice_is_refused() -> None:
    round_ = a_round()
    with pytest.raises(CriterionScoredTwiceError) as refused:
        a_proposal(round_).score(round_.criteria, "EV-1", [*scores(8, 6, 4), Score("impact", 3)], date(2021, 6, 5))
    assert refused.value.field == "scores.3.criterion"


@pytest.mark.parametrize(("marks", "field"), [((11, 6, 4), "scores.0.score"), ((8, 6, 0), "scores.2.score"), ((8, -1, 4), "scores.1.score")])
def test_a_score_outside_its_range_is_refused_naming_it(marks: tuple[int, int, int], field: str) -> None:
    round_ = a_round()
    with pytest.raises(ScoreOutOfRangeError) as refused:
        a_proposal(round_).score(round_.criteria, "EV-1", scores(*marks), date(2021, 6, 5))
    assert (refused.value.field, refused.value.rule) == (field, "score_within_range")


def test_every_mistake_of_the_scores_is_told_at_once_before_a_second_scoring_is_refused() -> None:
    """Tester 208 F7: the first mistake hid the others, and a code that scored already was told 409 before them."""
    round_ = a_round()
    proposal = scored(a_proposal(round_), round_, "EV-1")
    marks = [Score("organisational_capacity", 11), Score("organisational_capacity", 1), Score("administrative_capacity", -1), Score("beauty", 3)]
    with pytest.raises(ScoreOutOfRangeError) as refused:
        proposal.score(round_.criteria, "EV-1", marks, date(2021, 6, 6))
    told = [refused.value, *refused.value.also]
    assert [(m.field, m.rule) for m in told] == [
        ("scores.0.score", "score_within_range"),
        ("scores.1.criterion", "score_each_criterion_once"),
        ("scores.2.score", "score_within_range"),
        ("scores.3.criterion", "criterion_in_rubric"),
        ("scores", "every_criterion_scored"),
    ]
    assert "'impact'" in told[-1].message and len(proposal.scorings) == 1


def test_each_evaluator_scores_a_proposal_once() -> None:
    round_ = a_round()
    proposal = scored(a_proposal(round_), round_, "EV-1")
    with pytest.raises(AlreadyScoredError) as refused:
        proposal.score(round_.criteria, "EV-1", scores(10, 10, 5), date(2021, 6, 6))
    assert refused.value.rule == "score_once"
    assert [s.weighted_total for s in proposal.scorings] == [Decimal("73.50")]
    scored(proposal, round_, "EV-2", (10, 10, 5))
    assert proposal.mean_weighted_total == Decimal("86.75")  # (73.50 + 100) / 2


def test_a_person_holding_two_codes_from_before_the_rule_scores_a_proposal_once() -> None:
    round_ = a_round()
    # A round assigned before one code per person: its events replay so, unchecked.
    for code in ("EV-1", "EV-2"):
        round_._evaluator_assigned(evaluator=code, subject="ana", assigned_on=date(2021, 5, 1))
    round_._evaluator_assigned(evaluator="EV-3", subject="luis", assigned_on=date(2021, 5, 1))
    proposal = a_proposal(round_)
    proposal.score(round_.criteria, "EV-1", scores(8, 6, 4), date(2021, 6, 5), round_.codes_of("ana"))
    with pytest.raises(ScoredUnderAnotherCodeError) as refused:
        proposal.score(round_.criteria, "EV-2", scores(10, 10, 5), date(2021, 6, 6), round_.codes_of("ana"))
    assert (refused.value.field, refused.value.rule) == ("evaluator", "one_scoring_per_person")
    assert "EV-1" in refused.value.message
    assert [s.evaluator for s in proposal.scorings] == ["EV-1"]
    # Another person's code still scores it: the mean is two people's.
    proposal.score(round_.criteria, "EV-3", scores(10, 10, 5), date(2021, 6, 6), round_.codes_of("luis"))
    assert proposal.mean_weighted_total == Decimal("86.75")


@pytest.mark.parametrize("evaluator", ["María Pérez", "Maria", "EV 1", "-EV1", "EV-1234567890123456789"])
def test_an_evaluator_is_an_opaque_code_never_a_name(evaluator: str) -> None:
    round_ = a_round()
    with pytest.raises(EvaluatorCodeError) as refused:
        a_proposal(round_).score(round_.criteria, evaluator, scores(8, 6, 4), date(2021, 6, 5))
    assert refused.value.field == "evaluator"


@pytest.mark.parametrize("subject", ["\u200b", "Rosa Huamán", "nobody at all", "x" * 256])
def test_an_evaluator_code_goes_to_a_login_a_token_can_carry(subject: str) -> None:
    """A zero-width space or a person's name typed where the login goes gave a code to no one who can sign in."""
    round_ = a_round()
    with pytest.raises(OIDCSubjectError) as refused:
        round_.assign_evaluator("EV-9", subject, round_.opens_on)
    assert (refused.value.field, refused.value.rule) == ("subject", "oidc_subject")
    assert "EV-9" not in round_.evaluators
    round_.assign_evaluator("EV-9", "a1b2c3d4-0000-4000-8000-000000000000", round_.opens_on)  # a provider's UUID sub
    assert round_.evaluators["EV-9"] == "a1b2c3d4-0000-4000-8000-000000000000"


def test_scores_before_the_submission_are_refused() -> None:
    round_ = a_round()
    with pytest.raises(BeforeSubmissionError) as refused:
        a_proposal(round_).score(round_.criteria, "EV-1", scores(8, 6, 4), date(2021, 5, 9))
    assert refused.value.field == "scored_on"


def test_a_decided_proposal_takes_no_more_scores() -> None:
    round_ = a_round()
    proposal = a_proposal(round_)
    proposal.reject(round_, RejectionReason.INCOMPLETE, date(2021, 6, 1))
    with pytest.raises(AlreadyDecidedError):
        proposal.score(round_.criteria, "EV-1", scores(8, 6, 4), date(2021, 6, 5))


# The ranking ---------------------------------------------------------------------------


def test_the_ranking_puts_the_highest_mean_first_ties_in_submission_order_and_unscored_last() -> None:
    round_ = a_round()
    unscored = a_proposal(round_)
    tied_first = scored(a_proposal(round_), round_, marks=(8, 6, 4))  # 73.50
    low = scored(a_proposal(round_), round_, marks=(2, 2, 2))  # 6 + 4 + 12.5 = 22.50
    tied_second = scored(a_proposal(round_), round_, marks=(8, 6, 4))
    best = scored(scored(a_proposal(round_), round_, "EV-1", (10, 10, 5)), round_, "EV-2", (9, 8, 5))  # (100 + 93) / 2
    standings = rank(round_, {p.id: p for p in (unscored, tied_first, low, tied_second, best)})
    assert [s.proposal for s in standings] == [best, tied_first, tied_second, low, unscored]
    assert [s.mean_weighted_total for s in standings] == [Decimal("96.50"), Decimal("73.50"), Decimal("73.50"), Decimal("22.50"), None]
    assert standings[0].criterion_means == {
        "organisational_capacity": Decimal("9.50"),
        "administrative_capacity": Decimal("9.00"),
        "impact": Decimal("5.00"),
    }
    assert [s.evaluator_count for s in standings] == [2, 1, 1, 1, 0]
    assert standings[-1].criterion_means == {}


# Decisions -------------------------------------------------------------------------------


def test_an_approval_sets_aside_part_of_the_round_budget() -> None:
    round_ = a_round()
    proposal = scored(a_proposal(round_), round_)
    proposal.approve(round_, Decimal("3500"), date(2021, 6, 10))
    assert (proposal.status, proposal.approved_amount) == (ProposalStatus.APPROVED, Decimal("3500.00"))
    assert (round_.approved_total, round_.remaining) == (Decimal("3500.00"), Decimal("6500.00"))


def test_approvals_never_exceed_the_round_budget_and_the_refusal_names_what_remains() -> None:
    round_ = a_round()
    for _ in range(2):
        scored(a_proposal(round_), round_).approve(round_, Decimal("4000"), date(2021, 6, 10))
    third = scored(a_proposal(round_), round_)
    with pytest.raises(RoundBudgetExceededError) as refused:
        third.approve(round_, Decimal("2000.01"), date(2021, 6, 10))
    assert (refused.value.field, refused.value.rule) == ("amount", "within_round_budget")
    assert "PEN 2000.00 of the round's budget remains" in refused.value.message
    assert third.status is ProposalStatus.SUBMITTED and round_.remaining == Decimal("2000.00")
    third.approve(round_, Decimal("2000"), date(2021, 6, 10))
    assert round_.remaining == Decimal("0.00")


def test_an_approval_needs_a_score() -> None:
    round_ = a_round()
    with pytest.raises(NotScoredError) as refused:
        a_proposal(round_).approve(round_, Decimal("1000"), date(2021, 6, 10))
    assert refused.value.rule == "scored_before_decision"
    assert round_.committed == {}


def test_an_approval_above_the_request_is_refused() -> None:
    round_ = a_round()
    with pytest.raises(AboveRequestedError) as refused:
        scored(a_proposal(round_), round_).approve(round_, Decimal("4000.01"), date(2021, 6, 10))
    assert (refused.value.field, refused.value.rule) == ("amount", "within_requested_amount")


def test_an_approval_of_nothing_or_before_the_submission_is_refused() -> None:
    round_ = a_round()
    proposal = scored(a_proposal(round_), round_)
    with pytest.raises(NotPositiveError):
        proposal.approve(round_, Decimal("0"), date(2021, 6, 10))
    with pytest.raises(BeforeSubmissionError):
        proposal.approve(round_, Decimal("100"), date(2021, 5, 9))


def test_a_proposal_is_decided_once() -> None:
    round_ = a_round()
    approved = scored(a_proposal(round_), round_)
    approved.approve(round_, Decimal("1000"), date(2021, 6, 10))
    with pytest.raises(AlreadyDecidedError) as refused:
        approved.approve(round_, Decimal("1000"), date(2021, 6, 11))
    assert refused.value.rule == "decide_once"
    with pytest.raises(AlreadyDecidedError):
        approved.reject(round_, RejectionReason.OTHER, date(2021, 6, 11))
    assert round_.approved_total == Decimal("1000.00")
    rejected = a_proposal(round_)
    rejected.reject(round_, RejectionReason.LOW_SCORE, date(2021, 6, 10))
    assert rejected.status is ProposalStatus.REJECTED
    with pytest.raises(AlreadyDecidedError):
        rejected.approve(round_, Decimal("1"), date(2021, 6, 11))


def test_a_rejection_before_the_submission_is_refused() -> None:
    round_ = a_round()
    with pytest.raises(BeforeSubmissionError) as refused:
        a_proposal(round_).reject(round_, RejectionReason.WITHDRAWN, date(2021, 5, 1))
    assert refused.value.field == "rejected_on"


# Grants from a proposal ---------------------------------------------------------------


def approved(amount: str = "3000") -> Proposal:
    round_ = a_round()
    proposal = scored(a_proposal(round_), round_)
    proposal.approve(round_, Decimal(amount), date(2021, 6, 10))
    return proposal


def test_grants_from_a_proposal_add_up_to_its_approved_amount_at_most() -> None:
    proposal = approved("3000")
    proposal.record_grant(uuid4(), Decimal("2000"), date(2021, 6, 15))
    with pytest.raises(ApprovedAmountExceededError) as refused:
        proposal.check_grant(Decimal("1000.01"), date(2021, 7, 1))
    assert (refused.value.field, refused.value.rule) == ("amount", "within_approved_amount")
    assert "PEN 1000.00 of the approved amount remains" in refused.value.message
    proposal.record_grant(uuid4(), Decimal("1000"), date(2021, 7, 1))
    assert proposal.granted_total == Decimal("3000.00") and len(proposal.grants) == 2


def test_only_an_approved_proposal_is_granted() -> None:
    round_ = a_round()
    with pytest.raises(NotApprovedError) as refused:
        a_proposal(round_).check_grant(Decimal("100"), date(2021, 6, 15))
    assert refused.value.rule == "approved_before_grant"


def test_a_grant_before_the_approval_is_refused() -> None:
    with pytest.raises(GrantBeforeApprovalError) as refused:
        approved().check_grant(Decimal("100"), date(2021, 6, 9))
    assert refused.value.field == "granted_on"


# A summary forgotten ---------------------------------------------------------------


def test_a_redaction_of_a_proposals_summary_is_recorded_once_privately_and_without_it() -> None:
    """The record is what makes a summary stored in clear (before funding sealed it) read ``[redacted]``: deleting a key
    forgets nothing of a text never sealed. Taken from a decided proposal too."""
    round_ = a_round()
    proposal = scored(a_proposal(round_, summary="La señora Yusmary Cordero coordina el mural"), round_)
    proposal.approve(round_, Decimal("3000"), date(2021, 6, 10))

    assert proposal.redact_summary() is True
    events = proposal.collect_events()
    redaction = events[-1]
    assert type(redaction).__qualname__ == "Proposal.ProposalSummaryRedacted"
    assert [k for k in vars(redaction) if not k.startswith("originator")] == ["timestamp"]  # no text, nothing of its own
    assert catalogue.to_cloudevent(4, redaction) is None  # private: never published

    copy = None
    for domain_event in events:
        copy = domain_event.mutate(copy)
    assert copy is not None and copy.summary == REDACTED_TEXT
    assert (copy.title, copy.status, copy.approved_amount) == ("Mural de la integración", ProposalStatus.APPROVED, Decimal("3000.00"))
    assert copy.redact_summary() is False and copy.collect_events() == []  # asked again: nothing more recorded
