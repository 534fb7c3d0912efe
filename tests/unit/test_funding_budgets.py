"""Participatory budgets: which OSVs may submit, once a cycle, and what the municipality decided."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from services.funding.domain.budgets import (
    AmountFundedNotFundedError,
    AmountFundedRequiredError,
    BeyondAmountRequestedError,
    BudgetOutcome,
    CycleYearError,
    NotRUOSRegisteredError,
    ParticipatoryBudgetSubmission,
    submit_participatory_budget,
)
from shared.errors import AlreadyDecidedError, DateBeforeError, NotPositiveError
from shared.money import Currency
from shared.municipalities import MunicipalityNotInLimaError, MunicipalityTable

LIMA = MunicipalityTable.of_lima()
REGISTERED_ON = date(2021, 6, 1)


def submission(**overrides: object) -> ParticipatoryBudgetSubmission:
    values: dict[str, object] = {
        "osv_id": uuid4(),
        "registered_on": REGISTERED_ON,
        "municipality_id": "150110",
        "cycle_year": 2022,
        "project_title": "Recuperación del parque Los Olivos",
        "amount_requested": Decimal("45000.00"),
        "currency": Currency.PEN,
        "submitted_on": date(2021, 7, 15),
        "municipalities": LIMA,
    }
    values.update(overrides)
    return submit_participatory_budget(**values)  # type: ignore[arg-type]


def test_the_mml_and_the_43_districts_take_submissions() -> None:
    ids = {m.id for m in LIMA.all()}
    assert len(ids) == 44 and "mml" in ids
    assert submission(municipality_id=" MML ").municipality_id == "mml"
    assert submission().municipality_id == "150110"


@pytest.mark.parametrize("municipality_id", ["070101", "Comas", "", "1501"])
def test_a_municipality_outside_lima_metropolitana_is_refused(municipality_id: str) -> None:
    with pytest.raises(MunicipalityNotInLimaError) as refused:
        submission(municipality_id=municipality_id)
    assert (refused.value.field, refused.value.rule) == ("municipality_id", "lima_municipality")


@pytest.mark.parametrize("cycle_year", [1999, 2101])
def test_a_cycle_year_out_of_range_is_refused(cycle_year: int) -> None:
    with pytest.raises(CycleYearError) as refused:
        submission(cycle_year=cycle_year)
    assert refused.value.rule == "cycle_year_range"


def test_a_cycle_more_than_ten_years_after_the_submission_is_past_the_planning_horizon() -> None:
    """A submission of 2026 to the cycle of 2100 was taken, though every other plan reaches 10 years at most (tester 192 F3)."""
    from services.funding.domain.budgets import CycleTooFarAheadError

    on = date(2021, 7, 15)
    assert submission(cycle_year=on.year + 10, submitted_on=on).cycle_year == 2031
    with pytest.raises(CycleTooFarAheadError) as refused:
        submission(cycle_year=on.year + 11, submitted_on=on)
    assert (refused.value.field, refused.value.rule) == ("cycle_year", "within_planning_horizon")


def test_a_cycle_before_the_year_before_the_submission_is_long_past() -> None:
    """A submission of 2026 to the cycle of 2001 was taken (tester 208 F6): the process runs the year before its cycle."""
    from services.funding.domain.budgets import CycleLongPastError

    on = date(2021, 7, 15)
    assert submission(cycle_year=on.year - 1, submitted_on=on).cycle_year == 2020
    with pytest.raises(CycleLongPastError) as refused:
        submission(cycle_year=on.year - 2, submitted_on=on)
    assert (refused.value.field, refused.value.rule) == ("cycle_year", "not_before_previous_cycle")
    assert "the earliest cycle taken is 2020" in refused.value.message
    # tester 212 F10: the reason given was the process's year, by which a 2021 submission is for 2022, not 2020
    assert "its own year's cycle or a later one" in refused.value.message and "the year before its cycle" not in refused.value.message


def test_only_an_osv_on_the_ruos_by_the_day_it_submits_may_submit() -> None:
    with pytest.raises(NotRUOSRegisteredError) as never:
        submission(registered_on=None)
    assert (never.value.field, never.value.rule) == ("osv_id", "ruos_registered_only")
    with pytest.raises(NotRUOSRegisteredError) as later:
        submission(submitted_on=date(2021, 5, 31))
    assert "2021-06-01" in later.value.message
    assert submission(submitted_on=REGISTERED_ON).submitted_on == REGISTERED_ON


def test_nothing_or_less_is_not_requested() -> None:
    with pytest.raises(NotPositiveError) as refused:
        submission(amount_requested=Decimal("0"))
    assert refused.value.field == "amount_requested"


def test_one_submission_per_osv_municipality_and_cycle_shares_one_id() -> None:
    osv_id = uuid4()
    first = submission(osv_id=osv_id)
    assert first.id == ParticipatoryBudgetSubmission.id_for(osv_id, "150110", 2022)
    assert submission(osv_id=osv_id, cycle_year=2023).id != first.id
    assert submission(osv_id=osv_id, municipality_id="mml").id != first.id


def test_a_funded_project_says_how_much_at_most_what_was_requested() -> None:
    funded = submission()
    decision = funded.decide(BudgetOutcome.FUNDED, Decimal("40000"), date(2021, 11, 30))
    assert (decision.outcome, decision.amount_funded) == (BudgetOutcome.FUNDED, Decimal("40000.00"))
    with pytest.raises(BeyondAmountRequestedError) as too_much:
        submission().decide(BudgetOutcome.FUNDED, Decimal("45000.01"), date(2021, 11, 30))
    assert (too_much.value.field, too_much.value.rule) == ("amount_funded", "within_amount_requested")
    with pytest.raises(AmountFundedRequiredError) as missing:
        submission().decide(BudgetOutcome.FUNDED, None, date(2021, 11, 30))
    assert missing.value.rule == "required_when_funded"
    with pytest.raises(NotPositiveError):
        submission().decide(BudgetOutcome.FUNDED, Decimal("0"), date(2021, 11, 30))


@pytest.mark.parametrize("outcome", [BudgetOutcome.ACCEPTED, BudgetOutcome.NOT_ACCEPTED])
def test_an_amount_funded_is_given_only_when_funded(outcome: BudgetOutcome) -> None:
    with pytest.raises(AmountFundedNotFundedError) as refused:
        submission().decide(outcome, Decimal("100.00"), date(2021, 11, 30))
    assert refused.value.rule == "only_when_funded"
    assert submission().decide(outcome, None, date(2021, 11, 30)).amount_funded is None


def test_the_decision_is_recorded_once_and_not_before_the_submission() -> None:
    pending = submission()
    with pytest.raises(DateBeforeError) as too_early:
        pending.decide(BudgetOutcome.ACCEPTED, None, date(2021, 7, 14))
    assert (too_early.value.field, too_early.value.rule) == ("decided_on", "not_before_submitted_on")
    pending.decide(BudgetOutcome.ACCEPTED, None, date(2021, 7, 15))
    with pytest.raises(AlreadyDecidedError) as twice:
        pending.decide(BudgetOutcome.FUNDED, Decimal("1.00"), date(2021, 12, 1))
    assert twice.value.rule == "decide_once"
    assert [type(e).__name__ for e in pending.collect_events()] == ["ParticipatoryBudgetSubmitted", "ParticipatoryBudgetDecided"]
