"""A grant entered in error is withdrawn (tester 177 F1): funding's rules, without any I/O.

A grant recorded by mistake, typed twice, on the wrong OSV or with the wrong amount counted for ever: funding reversed
no grant. Now a grant nothing was paid out on, still open, is withdrawn once; it takes nothing after, weighs no more in
its OSV's support history, and gives its proposal's approved amount back.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from services.funding.domain.grants import (
    GrantClosedError,
    GrantKind,
    GrantOutcome,
    GrantStatus,
    GrantWithdrawnError,
    PaidOutError,
    Support,
    SupportHistory,
    WithdrawalReason,
)
from tests.unit.test_funding_domain import PHASES, goods_grant, granted, paint, seed_fund

TODAY = date(2021, 12, 1)


def test_a_grant_entered_in_error_is_withdrawn_once_and_says_why_and_when() -> None:
    grant = seed_fund()
    withdrawal = grant.withdraw(WithdrawalReason.DUPLICATE, "typed in twice from the same acta", today=TODAY)
    assert (grant.status, withdrawal.reason, withdrawal.withdrawn_on) == (GrantStatus.WITHDRAWN, WithdrawalReason.DUPLICATE, TODAY)
    # The event repeats what the grant counted, so that a reader takes it back without reading the grant.
    event = grant.collect_events()[-1]
    assert type(event).__name__ == "GrantWithdrawn"
    assert (event.osv_id, event.kind, event.amount, event.granted_on) == (grant.osv_id, grant.kind, grant.amount, grant.granted_on)

    with pytest.raises(GrantWithdrawnError) as again:
        grant.withdraw(WithdrawalReason.ENTERED_IN_ERROR, None, today=TODAY)
    assert (again.value.field, again.value.rule) == ("grant_id", "grant_not_withdrawn")


def test_a_withdrawn_grant_takes_no_tranche_delivery_or_closing() -> None:
    seed, goods = seed_fund(), goods_grant()
    seed.withdraw(WithdrawalReason.WRONG_AMOUNT, None, today=TODAY)
    goods.withdraw(WithdrawalReason.WRONG_OSV, None, today=TODAY)
    for late in (
        lambda: seed.disburse(1, Decimal("100.00"), date(2021, 11, 1)),
        lambda: seed.close(GrantOutcome.CANCELLED, "MEMO-1", date(2021, 11, 1)),
        lambda: goods.deliver_goods([paint(1, "1.00")], date(2021, 11, 1)),
    ):
        with pytest.raises(GrantWithdrawnError) as refused:
            late()
        assert refused.value.rule == "grant_not_withdrawn"


def test_a_grant_with_money_or_goods_paid_out_is_not_withdrawn_but_closed() -> None:
    seed, goods = seed_fund(), goods_grant()
    seed.disburse(1, Decimal("600.00"), date(2021, 11, 1))
    seed.disburse(2, Decimal("400.00"), date(2021, 11, 2))
    goods.deliver_goods([paint(2, "45.50")], date(2021, 11, 3))
    for grant in (seed, goods):
        with pytest.raises(PaidOutError) as refused:
            grant.withdraw(WithdrawalReason.ENTERED_IN_ERROR, None, today=TODAY)
        assert (refused.value.field, refused.value.rule) == ("grant_id", "nothing_paid_out")
        assert "closing" in refused.value.message and "cancelled" in refused.value.message
        assert grant.status is GrantStatus.OPEN
    assert "2 tranche(s) totalling 1000.00 PEN" in str(PaidOutError(seed)) and "91.00 PEN" in str(PaidOutError(goods))  # tester 187 F10


def test_a_closed_grant_is_not_withdrawn() -> None:
    grant = goods_grant()
    grant.close(GrantOutcome.CANCELLED, "MEMO-3", date(2021, 10, 30))
    with pytest.raises(GrantClosedError) as refused:
        grant.withdraw(WithdrawalReason.ENTERED_IN_ERROR, None, today=TODAY)
    assert refused.value.rule == "grant_open"


def test_a_withdrawn_grant_weighs_no_more_in_its_osvs_support_and_the_grant_it_made_repeat_is_first_time_again() -> None:
    history = SupportHistory(osv_id=uuid4())
    wrong = granted(history, date(2021, 5, 5))  # phase 1, entered in error
    later = granted(history, date(2021, 10, 22), GrantKind.GOODS)
    assert later.support is Support.REPEAT

    assert history.take_withdrawn(wrong.id)
    assert history.marks(PHASES) == {later.id: Support.FIRST_TIME}
    assert history.support_for(date(2021, 11, 1), PHASES) is Support.FIRST_TIME
    assert history.grant_ids == [later.id, wrong.id]  # still listed as the OSV's, marked withdrawn on the grant
    assert not history.take_withdrawn(wrong.id)  # once


def test_a_withdrawn_grant_of_a_record_merged_in_weighs_no_more_in_the_organisations_support() -> None:
    survivor, duplicate = SupportHistory(osv_id=uuid4()), SupportHistory(osv_id=uuid4())
    own = granted(survivor, date(2021, 10, 2))
    wrong = granted(duplicate, date(2021, 5, 5))
    survivor.take_merged(duplicate.osv_id, duplicate.organisation_grants)
    assert survivor.marks(PHASES)[own.id] is Support.REPEAT

    assert survivor.take_withdrawn(wrong.id)
    assert survivor.marks(PHASES) == {own.id: Support.FIRST_TIME}
    assert survivor.grant_ids == [own.id]  # the merged record's grant was never listed as the survivor's
