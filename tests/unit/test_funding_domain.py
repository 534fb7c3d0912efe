"""Funding's rules, without any I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from services.funding.domainmodel import (
    Currency,
    GrantKind,
    NonPositiveAmountError,
    Phase,
    PhaseCodeTakenError,
    PhaseDatesError,
    PhasesOverlapError,
    grant_fund,
    open_phase,
)


def phase_one() -> Phase:
    return open_phase("F1", "Fase 1", date(2021, 1, 1), date(2021, 9, 30), [])


def test_phases_that_touch_but_do_not_overlap_are_both_opened() -> None:
    second = open_phase("F2", "Fase 2", date(2021, 10, 1), date(2021, 12, 31), [phase_one()])
    assert (second.code, second.starts_on, second.ends_on) == ("F2", date(2021, 10, 1), date(2021, 12, 31))


def test_a_phase_sharing_a_single_day_with_another_is_refused() -> None:
    with pytest.raises(PhasesOverlapError) as refused:
        open_phase("F2", "Fase 2", date(2021, 9, 30), date(2021, 12, 31), [phase_one()])
    assert "F1" in refused.value.message


def test_a_phase_inside_another_is_refused() -> None:
    with pytest.raises(PhasesOverlapError):
        open_phase("F1b", "Dentro", date(2021, 3, 1), date(2021, 3, 31), [phase_one()])


def test_a_phase_ending_before_it_starts_is_refused_naming_ends_on() -> None:
    with pytest.raises(PhaseDatesError) as refused:
        open_phase("F3", "Fase 3", date(2022, 2, 1), date(2022, 1, 31), [])
    assert refused.value.field == "ends_on"


def test_a_phase_code_is_used_once() -> None:
    with pytest.raises(PhaseCodeTakenError):
        open_phase("F1", "Otra", date(2023, 1, 1), date(2023, 2, 1), [phase_one()])
    assert Phase.id_for("F1") == phase_one().id


def test_a_one_day_phase_is_allowed() -> None:
    assert open_phase("D", "Un día", date(2022, 5, 5), date(2022, 5, 5), []).starts_on == date(2022, 5, 5)


def test_a_grant_keeps_money_as_decimal_to_the_cent() -> None:
    grant = grant_fund(uuid4(), Decimal("1500.5"), Currency.PEN, date(2021, 10, 20), GrantKind.SEED_FUND)
    assert grant.amount == Decimal("1500.50")
    assert str(grant.amount) == "1500.50"


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-10.00")])
def test_a_grant_of_nothing_or_less_is_refused(amount: Decimal) -> None:
    with pytest.raises(NonPositiveAmountError) as refused:
        grant_fund(uuid4(), amount, Currency.PEN, date(2021, 10, 20), GrantKind.GOODS)
    assert refused.value.field == "amount"
