"""A grant the OSV already has, sent again without an Idempotency-Key, is a possible duplicate (tester 177 F4). Pure: no I/O.

Eight identical ``POST /grants`` sent at once were all recorded. A grant of the same kind, amount, currency and day as one
of the organisation's grants not withdrawn is refused, naming them, unless staff say it is another (``distinct_from``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from services.funding.domain.grantduplicates import (
    NotAPossibleDuplicateError,
    PossibleDuplicateGrantError,
    check_not_duplicate,
    possible_duplicates,
    same_day_and_kind,
)
from services.funding.domain.grants import GrantKind, SupportHistory, WithdrawalReason
from shared.money import Currency
from tests.unit.test_funding_domain import granted

DAY = date(2021, 10, 20)
AMOUNT = Decimal("1000.00")  # what tests.unit.test_funding_domain.granted grants


def test_the_same_grant_again_is_a_possible_duplicate_naming_it_and_distinct_from_lets_it_in() -> None:
    history = SupportHistory(osv_id=uuid4())
    first = granted(history, DAY)
    same = [first]
    assert same_day_and_kind(history, DAY, GrantKind.SEED_FUND) == [first.id]

    with pytest.raises(PossibleDuplicateGrantError) as refused:
        check_not_duplicate(AMOUNT, Currency.PEN, DAY, GrantKind.SEED_FUND, same)
    assert (refused.value.field, refused.value.rule) == ("osv_id", "possible_duplicate")
    assert refused.value.extensions["possible_duplicates"] == [{
        "grant_id": str(first.id), "osv_id": str(history.osv_id), "kind": "seed_fund", "amount": "1000.00", "currency": "PEN",
        "granted_on": "2021-10-20", "proposal_id": None,
    }]
    assert str(first.id) in refused.value.message and "distinct_from" in refused.value.message

    check_not_duplicate(AMOUNT, Currency.PEN, DAY, GrantKind.SEED_FUND, same, distinct_from=[first.id])  # another grant: taken


def test_only_grants_of_the_same_amount_and_currency_are_read_for_the_check() -> None:
    """1,000 grants to one OSV, a day repeated, read three grants each: the 1,000th went at 0.72 of the first's rate (make
    bench). The history records each grant's amount and currency; one recorded without them (before) is still read."""
    history = SupportHistory(osv_id=uuid4())
    first = granted(history, DAY)

    assert same_day_and_kind(history, DAY, GrantKind.SEED_FUND, AMOUNT, Currency.PEN) == [first.id]
    assert same_day_and_kind(history, DAY, GrantKind.SEED_FUND, Decimal("999.00"), Currency.PEN) == []
    assert same_day_and_kind(history, DAY, GrantKind.SEED_FUND, AMOUNT, Currency.USD) == []
    history._recorded(grant_id=uuid4(), granted_on=DAY, kind=GrantKind.SEED_FUND)  # as stored before amounts were
    assert len(same_day_and_kind(history, DAY, GrantKind.SEED_FUND, Decimal("999.00"), Currency.PEN)) == 1


def test_distinct_from_names_only_grants_this_one_could_repeat() -> None:
    """Tester 191 F1: any id was kept and published (another municipality's grant, an id of nothing), where the field
    says it holds the OSV's grants of the same kind, amount, currency and day that this one is not."""
    history = SupportHistory(osv_id=uuid4())
    first, unlike = granted(history, DAY), granted(history, date(2021, 10, 21))

    for named, index in (([first.id, uuid4()], 1), ([unlike.id, first.id], 0)):
        with pytest.raises(NotAPossibleDuplicateError) as refused:
            check_not_duplicate(AMOUNT, Currency.PEN, DAY, GrantKind.SEED_FUND, [first, unlike], distinct_from=named)
        assert (refused.value.field, refused.value.rule) == (f"distinct_from.{index}", "possible_duplicate_named")
    with pytest.raises(NotAPossibleDuplicateError):  # a grant like none the OSV has names none
        check_not_duplicate(Decimal("7.00"), Currency.PEN, DAY, GrantKind.SEED_FUND, [first], distinct_from=[first.id])


@pytest.mark.parametrize(
    ("amount", "currency", "day", "kind"),
    [
        (Decimal("1000.01"), Currency.PEN, DAY, GrantKind.SEED_FUND),
        (AMOUNT, Currency.USD, DAY, GrantKind.SEED_FUND),
        (AMOUNT, Currency.PEN, date(2021, 10, 21), GrantKind.SEED_FUND),
        (AMOUNT, Currency.PEN, DAY, GrantKind.GOODS),
    ],
)
def test_a_grant_differing_in_amount_currency_day_or_kind_is_no_duplicate(amount: Decimal, currency: Currency, day: date, kind: GrantKind) -> None:
    history = SupportHistory(osv_id=uuid4())
    first = granted(history, DAY)
    assert possible_duplicates(amount, currency, day, kind, [first]) == []
    assert same_day_and_kind(history, day, kind) == ([first.id] if (day, kind) == (DAY, GrantKind.SEED_FUND) else [])


def test_a_grant_withdrawn_as_entered_in_error_is_no_duplicate() -> None:
    history = SupportHistory(osv_id=uuid4())
    wrong = granted(history, DAY)
    wrong.withdraw(WithdrawalReason.WRONG_DATE, None, today=date(2021, 12, 1))
    history.take_withdrawn(wrong.id)
    assert same_day_and_kind(history, DAY, GrantKind.SEED_FUND) == []
    assert possible_duplicates(AMOUNT, Currency.PEN, DAY, GrantKind.SEED_FUND, [wrong]) == []  # read stale: still none


def test_a_grant_of_a_record_merged_into_the_osv_is_compared_as_the_organisations() -> None:
    merged, survivor = SupportHistory(osv_id=uuid4()), SupportHistory(osv_id=uuid4())
    theirs = granted(merged, DAY)
    survivor.take_merged(merged.osv_id, merged.organisation_grants)
    assert same_day_and_kind(survivor, DAY, GrantKind.SEED_FUND) == [theirs.id]
    assert possible_duplicates(AMOUNT, Currency.PEN, DAY, GrantKind.SEED_FUND, [theirs]) == [theirs]
