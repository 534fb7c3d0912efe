"""Funding's rules for phases and grants, without any I/O."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from services.funding.domain.grants import (
    BeyondGrantAmountError,
    ClosedBeforeActivityError,
    ClosedBeforeEnrolmentError,
    DeliveredItem,
    Grant,
    GrantClosedError,
    GrantKind,
    GrantOutcome,
    GrantStatus,
    NoItemsError,
    NotNextTrancheError,
    RestatementReason,
    Support,
    SupportChangedError,
    SupportHistory,
    TrancheRecordedError,
    WrongGrantKindError,
    grant_fund,
    grant_support,
)
from services.funding.domain.phases import (
    Phase,
    PhaseCalendar,
    PhaseCodeTakenError,
    PhaseDatesError,
    PhasesOverlapError,
)
from shared.errors import BelowOneError, DateBeforeError, NotPositiveError
from shared.money import Currency, FractionOfCentError, NotDecimalError


def calendar_with_phase_one() -> PhaseCalendar:
    calendar = PhaseCalendar()
    calendar.open_phase("F1", "Fase 1", date(2021, 1, 1), date(2021, 9, 30))
    return calendar


def test_phases_that_touch_but_do_not_overlap_are_both_opened() -> None:
    calendar = calendar_with_phase_one()
    second = calendar.open_phase("F2", "Fase 2", date(2021, 10, 1), date(2021, 12, 31))
    assert (second.code, second.starts_on, second.ends_on) == ("F2", date(2021, 10, 1), date(2021, 12, 31))
    assert [p.code for p in calendar.phases] == ["F1", "F2"]


def test_a_phase_sharing_a_single_day_with_another_is_refused_and_the_calendar_is_unchanged() -> None:
    calendar = calendar_with_phase_one()
    with pytest.raises(PhasesOverlapError) as refused:
        calendar.open_phase("F2", "Fase 2", date(2021, 9, 30), date(2021, 12, 31))
    assert "F1" in refused.value.message
    assert [p.code for p in calendar.phases] == ["F1"]


def test_a_phase_inside_another_is_refused() -> None:
    with pytest.raises(PhasesOverlapError):
        calendar_with_phase_one().open_phase("F1b", "Dentro", date(2021, 3, 1), date(2021, 3, 31))


def test_a_phase_ending_before_it_starts_is_refused_naming_ends_on() -> None:
    with pytest.raises(PhaseDatesError) as refused:
        PhaseCalendar().open_phase("F3", "Fase 3", date(2022, 2, 1), date(2022, 1, 31))
    assert refused.value.field == "ends_on"


def test_a_phase_code_is_used_once() -> None:
    calendar = calendar_with_phase_one()
    with pytest.raises(PhaseCodeTakenError):
        calendar.open_phase("F1", "Otra", date(2023, 1, 1), date(2023, 2, 1))
    assert Phase.id_for("F1") == PhaseCalendar().open_phase("F1", "Fase 1", date(2021, 1, 1), date(2021, 9, 30)).id


@pytest.mark.parametrize("code", ["f1", " F1 ", "f1 "])
def test_a_phase_code_differing_only_by_case_or_spaces_is_the_code_taken(code: str) -> None:
    """Tester 208 F4: `f3` was opened beside `F3`, and the indicators listed F1, F2, F3, f3."""
    with pytest.raises(PhaseCodeTakenError) as refused:
        calendar_with_phase_one().open_phase(code, "Fase 1 bis", date(2023, 1, 1), date(2023, 2, 1))
    assert (refused.value.field, refused.value.rule) == ("code", "unique_code")
    assert "'F1' already exists" in refused.value.message


def test_phases_recorded_before_whose_codes_differ_only_by_case_are_kept_as_they_were() -> None:
    """A calendar of a version before holds `F1` and `f1` (its events replayed, as a store's are): both stay, read as
    recorded; only a new phase of either code is refused."""
    calendar = calendar_with_phase_one()
    calendar._dated(code="f1", starts_on=date(2023, 1, 1), ends_on=date(2023, 2, 1))  # as the version before recorded it
    assert [p.code for p in calendar.phases] == ["F1", "f1"]
    with pytest.raises(PhaseCodeTakenError):
        calendar.open_phase("F1", "Otra", date(2024, 1, 1), date(2024, 2, 1))


def test_a_one_day_phase_is_allowed() -> None:
    assert PhaseCalendar().open_phase("D", "Un día", date(2022, 5, 5), date(2022, 5, 5)).starts_on == date(2022, 5, 5)


def test_a_grant_keeps_money_as_decimal_to_the_cent() -> None:
    grant = grant_fund(uuid4(), Decimal("1500.5"), Currency.PEN, date(2021, 10, 20), GrantKind.SEED_FUND)
    assert grant.amount == Decimal("1500.50")
    assert str(grant.amount) == "1500.50"


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-10.00")])
def test_a_grant_of_nothing_or_less_is_refused(amount: Decimal) -> None:
    with pytest.raises(NotPositiveError) as refused:
        grant_fund(uuid4(), amount, Currency.PEN, date(2021, 10, 20), GrantKind.GOODS)
    assert refused.value.field == "amount"


@pytest.mark.parametrize("amount", [Decimal("0.001"), Decimal("10.005")])
def test_money_below_the_cent_is_refused_rather_than_rounded(amount: Decimal) -> None:
    with pytest.raises(FractionOfCentError) as refused:
        grant_fund(uuid4(), amount, Currency.PEN, date(2021, 10, 20), GrantKind.GOODS)
    assert (refused.value.field, refused.value.rule) == ("amount", "whole_cents")


def test_money_as_a_float_is_a_bug_the_domain_does_not_take() -> None:
    with pytest.raises(NotDecimalError):
        grant_fund(uuid4(), 0.1, Currency.PEN, date(2021, 10, 20), GrantKind.GOODS)  # type: ignore[arg-type]


# Goods deliveries -------------------------------------------------------------


def goods_grant(amount: str = "2500.00") -> Grant:
    return grant_fund(uuid4(), Decimal(amount), Currency.PEN, date(2021, 10, 22), GrantKind.GOODS)


def seed_fund(amount: str = "3500.00") -> Grant:
    return grant_fund(uuid4(), Decimal(amount), Currency.PEN, date(2021, 10, 20), GrantKind.SEED_FUND)


def paint(quantity: int, unit_value: str) -> DeliveredItem:
    return DeliveredItem("galón de pintura", quantity, Decimal(unit_value))


def test_goods_are_delivered_in_lots_valued_line_by_line() -> None:
    grant = goods_grant()
    delivery = grant.deliver_goods([paint(10, "45.50"), DeliveredItem("brocha", 20, Decimal("7.25"))], date(2021, 11, 3))
    assert delivery.total_value == Decimal("600.00")
    assert [line.value for line in delivery.items] == [Decimal("455.00"), Decimal("145.00")]
    grant.deliver_goods([paint(1, "1900.00")], date(2021, 11, 20))
    assert (grant.delivered, grant.remaining) == (Decimal("2500.00"), Decimal("0.00"))
    assert [type(e).__name__ for e in grant.collect_events()] == ["FundGranted", "GoodsDelivered", "GoodsDelivered"]


def test_goods_beyond_what_remains_of_the_grant_are_refused_naming_what_remains() -> None:
    grant = goods_grant("1000.00")
    grant.deliver_goods([paint(10, "60.00")], date(2021, 11, 3))
    with pytest.raises(BeyondGrantAmountError) as refused:
        grant.deliver_goods([paint(10, "40.01")], date(2021, 11, 4))
    assert refused.value.rule == "within_grant_amount" and "400.00 PEN remains" in refused.value.message
    assert grant.delivered == Decimal("600.00")


def test_goods_are_delivered_on_goods_grants_only() -> None:
    with pytest.raises(WrongGrantKindError) as refused:
        seed_fund().deliver_goods([paint(1, "10.00")], date(2021, 11, 3))
    assert refused.value.rule == "goods_grant"


def test_goods_are_not_delivered_before_the_grant() -> None:
    with pytest.raises(DateBeforeError) as refused:
        goods_grant().deliver_goods([paint(1, "10.00")], date(2021, 10, 21))
    assert (refused.value.field, refused.value.rule) == ("delivered_on", "not_before_granted_on")


def test_a_delivery_lists_something_and_each_line_counts_and_is_worth_something() -> None:
    grant = goods_grant()
    with pytest.raises(NoItemsError):
        grant.deliver_goods([], date(2021, 11, 3))
    with pytest.raises(BelowOneError) as no_quantity:
        grant.deliver_goods([paint(1, "1.00"), paint(0, "1.00")], date(2021, 11, 3))
    assert no_quantity.value.field == "items.1.quantity"
    with pytest.raises(NotPositiveError) as worthless:
        grant.deliver_goods([paint(1, "0.00")], date(2021, 11, 3))
    assert worthless.value.field == "items.0.unit_value"
    assert grant.deliveries == []


# Tranches of a seed fund ---------------------------------------------------------


def test_a_seed_fund_is_paid_in_tranches_numbered_in_order() -> None:
    grant = seed_fund()
    grant.disburse(1, Decimal("2000.00"), date(2021, 10, 25))
    grant.disburse(2, Decimal("1500.00"), date(2021, 11, 25))
    assert [(d.tranche, d.amount) for d in grant.disbursements] == [(1, Decimal("2000.00")), (2, Decimal("1500.00"))]
    assert (grant.disbursed, grant.remaining) == (Decimal("3500.00"), Decimal("0.00"))


def test_a_tranche_sent_again_is_told_it_is_recorded_and_what_comes_next_or_that_the_grant_is_paid_out() -> None:
    """Tester 233 F4; tester 239 F6: on a grant paid out it pointed at a tranche 3 no amount was left for."""
    grant = seed_fund()
    grant.disburse(1, Decimal("2000.00"), date(2021, 10, 25))
    with pytest.raises(TrancheRecordedError) as resent:
        grant.disburse(1, Decimal("2000.00"), date(2021, 10, 25))
    assert (resent.value.field, resent.value.rule) == ("tranche", "tranche_once")
    assert resent.value.message.endswith("nothing was recorded again; tranche 2 is the next")
    grant.disburse(2, Decimal("1500.00"), date(2021, 11, 25))
    with pytest.raises(TrancheRecordedError) as resent:
        grant.disburse(2, Decimal("1500.00"), date(2021, 11, 25))
    assert resent.value.message.endswith("nothing was recorded again; the grant is paid out: no tranche is left")
    assert len(grant.disbursements) == 2


@pytest.mark.parametrize("tranche", [0, 2, 3])
def test_a_tranche_out_of_order_is_refused_naming_the_next_one(tranche: int) -> None:
    with pytest.raises(NotNextTrancheError) as refused:
        seed_fund().disburse(tranche, Decimal("100.00"), date(2021, 10, 25))
    assert (refused.value.field, refused.value.rule) == ("tranche", "next_tranche")
    assert "tranche 1 is next" in refused.value.message


def test_tranches_never_add_up_to_more_than_the_grant() -> None:
    grant = seed_fund("3500.00")
    grant.disburse(1, Decimal("2000.00"), date(2021, 10, 25))
    with pytest.raises(BeyondGrantAmountError) as refused:
        grant.disburse(2, Decimal("1500.01"), date(2021, 11, 25))
    assert (refused.value.field, refused.value.rule) == ("amount", "within_grant_amount")
    assert "1500.00 PEN remains" in refused.value.message


def test_a_tranche_is_not_paid_before_the_grant_nor_before_the_previous_tranche() -> None:
    grant = seed_fund()
    with pytest.raises(DateBeforeError) as too_early:
        grant.disburse(1, Decimal("100.00"), date(2021, 10, 19))
    assert too_early.value.rule == "not_before_granted_on"
    grant.disburse(1, Decimal("100.00"), date(2021, 11, 1))
    with pytest.raises(DateBeforeError) as out_of_order:
        grant.disburse(2, Decimal("100.00"), date(2021, 10, 31))
    assert (out_of_order.value.field, out_of_order.value.rule) == ("disbursed_on", "not_before_previous_tranche")


def test_tranches_are_paid_on_seed_funds_only_and_in_positive_amounts() -> None:
    with pytest.raises(WrongGrantKindError) as refused:
        goods_grant().disburse(1, Decimal("100.00"), date(2021, 11, 1))
    assert refused.value.rule == "seed_fund_grant"
    with pytest.raises(NotPositiveError):
        seed_fund().disburse(1, Decimal("0"), date(2021, 11, 1))


# Closing ---------------------------------------------------------------------------


def test_a_closed_grant_takes_nothing_more_and_is_closed_once() -> None:
    grant = seed_fund()
    grant.disburse(1, Decimal("1000.00"), date(2021, 11, 1))
    closing = grant.close(GrantOutcome.PARTIALLY_COMPLETED, "INF-2021-017", date(2021, 12, 20))
    assert (grant.status, closing.outcome) == (GrantStatus.CLOSED, GrantOutcome.PARTIALLY_COMPLETED)
    for late in (
        lambda: grant.disburse(2, Decimal("100.00"), date(2021, 12, 21)),
        lambda: grant.close(GrantOutcome.COMPLETED, "INF-2021-018", date(2021, 12, 22)),
    ):
        with pytest.raises(GrantClosedError) as refused:
            late()
        assert refused.value.rule == "grant_open"
    goods = goods_grant()
    goods.close(GrantOutcome.CANCELLED, "MEMO-3", date(2021, 10, 30))
    with pytest.raises(GrantClosedError):
        goods.deliver_goods([paint(1, "1.00")], date(2021, 10, 31))


def test_a_grant_is_not_closed_before_it_was_made_nor_before_what_was_recorded_on_it() -> None:
    grant = goods_grant()
    with pytest.raises(DateBeforeError) as before_grant:
        grant.close(GrantOutcome.CANCELLED, "MEMO-1", date(2021, 10, 1))
    assert before_grant.value.rule == "not_before_granted_on"
    grant.deliver_goods([paint(1, "10.00")], date(2021, 11, 15))
    with pytest.raises(DateBeforeError) as before_delivery:
        grant.close(GrantOutcome.COMPLETED, "INF-1", date(2021, 11, 14))
    assert (before_delivery.value.field, before_delivery.value.rule) == ("closed_on", "not_before_last_record")
    assert grant.status is GrantStatus.OPEN


def test_a_grant_is_not_closed_before_the_last_enrolment_in_its_project_and_the_refusal_names_its_day_only() -> None:
    # Tester 251 F2: a closing dated before an agent of change's enrolment ended that participation before it began (it
    # counted in no phase) while engagement still showed it open; engagement refuses the mirror case (409 grant_open).
    grant = seed_fund()
    with pytest.raises(ClosedBeforeEnrolmentError) as refused:
        grant.close(GrantOutcome.CANCELLED, "IF-2021-031", date(2021, 10, 31), last_enrolled_on=date(2021, 11, 1))
    assert (refused.value.field, refused.value.rule) == ("closed_on", "closed_after_enrolments")
    assert "2021-10-31" in refused.value.message and "2021-11-01" in refused.value.message
    assert refused.value.extensions == {"last_enrolled_on": "2021-11-01"}
    # What holds the enrolment: reporting, as engagement published it; not "engagement still shows it open", untrue of
    # an enrolment engagement's restored store lost (tester 256 F6).
    assert "as engagement published it" in refused.value.message and "still shows" not in refused.value.message
    assert grant.status is GrantStatus.OPEN and grant.closing is None
    # The enrolment's day itself is taken, as engagement takes an enrolment dated on the closing's day.
    closing = grant.close(GrantOutcome.CANCELLED, "IF-2021-031", date(2021, 11, 1), last_enrolled_on=date(2021, 11, 1))
    assert (grant.status, closing.closed_on) == (GrantStatus.CLOSED, date(2021, 11, 1))
    # With no enrolment known, a closing is judged as before.
    assert seed_fund().close(GrantOutcome.COMPLETED, "IF-1", date(2021, 10, 20), last_enrolled_on=None).closed_on == date(2021, 10, 20)


def test_a_grant_is_not_closed_before_the_last_activity_of_its_project_and_the_later_of_the_two_bounds_is_named() -> None:
    # Engagement takes no activity of a project held after its closing (409 grant_open on held_on); funding took a closing
    # dated before an activity engagement already held, a state the platform's own commands forbid.
    grant = seed_fund()
    with pytest.raises(ClosedBeforeActivityError) as refused:
        grant.close(GrantOutcome.COMPLETED, "IF-2021-040", date(2021, 10, 31), last_held_on=date(2021, 11, 6))
    assert (refused.value.field, refused.value.rule) == ("closed_on", "closed_after_activities")
    assert "2021-10-31" in refused.value.message and "2021-11-06" in refused.value.message
    assert refused.value.extensions == {"last_held_on": "2021-11-06"}
    # An activity engagement's restored store lost still bounds it (reporting counts it): not "engagement holds" (tester 259 F2).
    assert "as engagement published it" in refused.value.message and "that engagement holds" not in refused.value.message
    assert grant.status is GrantStatus.OPEN and grant.closing is None
    # Before both an enrolment and an activity: the refusal names the later day, the one the closing must reach.
    with pytest.raises(ClosedBeforeActivityError) as refused:
        grant.close(GrantOutcome.COMPLETED, "IF-2021-040", date(2021, 10, 31), date(2021, 11, 1), date(2021, 11, 6))
    assert refused.value.extensions == {"last_held_on": "2021-11-06"}
    with pytest.raises(ClosedBeforeEnrolmentError) as later_enrolment:
        grant.close(GrantOutcome.COMPLETED, "IF-2021-040", date(2021, 10, 31), date(2021, 11, 9), date(2021, 11, 6))
    assert later_enrolment.value.extensions == {"last_enrolled_on": "2021-11-09"}
    # After the enrolment, before the activity: the activity's day.
    with pytest.raises(ClosedBeforeActivityError):
        grant.close(GrantOutcome.COMPLETED, "IF-2021-040", date(2021, 11, 3), date(2021, 11, 1), date(2021, 11, 6))
    # The activity's day itself is taken, as engagement takes an activity held on the closing's day.
    closing = grant.close(GrantOutcome.COMPLETED, "IF-2021-040", date(2021, 11, 6), date(2021, 11, 1), date(2021, 11, 6))
    assert (grant.status, closing.closed_on) == (GrantStatus.CLOSED, date(2021, 11, 6))


# First-time and repeat support ---------------------------------------------------


CALENDAR = PhaseCalendar()
PHASES = [
    CALENDAR.open_phase("F1", "Fase 1", date(2021, 1, 15), date(2021, 9, 30)),
    CALENDAR.open_phase("F2", "Fase 2", date(2021, 10, 1), date(2021, 12, 31)),
]


def granted(history: SupportHistory, on: date, kind: GrantKind = GrantKind.SEED_FUND) -> Grant:
    grant = grant_support(history.osv_id, Decimal("1000.00"), Currency.PEN, on, kind, history, PHASES)
    history.enter(grant, PHASES)
    return grant


def test_support_in_an_earlier_phase_makes_a_grant_repeat_whatever_its_kind() -> None:
    history = SupportHistory(osv_id=uuid4())
    first = granted(history, date(2021, 8, 10))
    again = granted(history, date(2021, 10, 22), GrantKind.GOODS)
    assert (first.support, again.support) == (Support.FIRST_TIME, Support.REPEAT)
    assert history.grant_ids == [first.id, again.id]


def test_a_second_grant_in_the_same_phase_is_not_repeat() -> None:
    history = SupportHistory(osv_id=uuid4())
    granted(history, date(2021, 10, 2))
    assert granted(history, date(2021, 12, 30), GrantKind.GOODS).support is Support.FIRST_TIME


def test_a_grant_entered_late_for_an_earlier_phase_is_first_time() -> None:
    history = SupportHistory(osv_id=uuid4())
    granted(history, date(2021, 11, 2))
    assert granted(history, date(2021, 5, 5)).support is Support.FIRST_TIME


def test_outside_every_phase_a_grant_is_repeat_when_the_osv_had_one_on_an_earlier_day() -> None:
    history = SupportHistory(osv_id=uuid4())
    assert granted(history, date(2022, 2, 1)).support is Support.FIRST_TIME
    assert granted(history, date(2022, 2, 1)).support is Support.FIRST_TIME
    assert granted(history, date(2022, 3, 1)).support is Support.REPEAT


def test_a_grant_decided_from_a_history_that_has_learnt_of_an_earlier_grant_since_is_not_entered() -> None:
    history = SupportHistory(osv_id=uuid4())
    decided = grant_support(history.osv_id, Decimal("500.00"), Currency.PEN, date(2021, 11, 1), GrantKind.GOODS, history, PHASES)
    granted(history, date(2021, 5, 5))  # entered meanwhile, for phase 1
    with pytest.raises(SupportChangedError) as refused:
        history.enter(decided, PHASES)
    assert refused.value.rule == "support_history_unchanged" and "makes it repeat" in refused.value.message
    assert len(history.grant_ids) == 1


def test_a_grant_made_on_a_proposal_names_it_and_its_round() -> None:
    history = SupportHistory(osv_id=uuid4())
    proposal_id, round_id = uuid4(), uuid4()
    grant = grant_support(
        history.osv_id, Decimal("3500"), Currency.USD, date(2021, 10, 20), GrantKind.SEED_FUND, history, PHASES,
        proposal_id=proposal_id, round_id=round_id,
    )
    assert (grant.proposal_id, grant.round_id, grant.amount, grant.currency) == (proposal_id, round_id, Decimal("3500.00"), Currency.USD)


# A mark restated --------------------------------------------------------------------


def test_a_grant_typed_in_late_with_an_earlier_phases_date_makes_the_later_first_time_grants_repeat() -> None:
    history = SupportHistory(osv_id=uuid4())
    in_phase_2, also_in_phase_2 = granted(history, date(2021, 10, 2)), granted(history, date(2021, 12, 30))
    assert history.made_repeat_by(date(2021, 9, 30), PHASES) == [in_phase_2.id, also_in_phase_2.id]  # phase 1's last day
    assert history.made_repeat_by(date(2021, 10, 1), PHASES) == []  # phase 2's first day: the same phase
    assert history.made_repeat_by(date(2022, 1, 1), PHASES) == []  # after them all: entered in order, none


def test_outside_every_phase_a_grant_typed_in_late_makes_those_of_later_days_repeat_that_were_not() -> None:
    history = SupportHistory(osv_id=uuid4())
    first, later = granted(history, date(2022, 2, 1)), granted(history, date(2022, 3, 1))
    assert later.support is Support.REPEAT  # the first on an earlier day
    assert history.made_repeat_by(date(2022, 2, 1), PHASES) == []  # on the first one's day: not before it
    assert history.made_repeat_by(date(2022, 1, 31), PHASES) == [first.id]  # the later one was repeat already


def test_grants_dated_back_and_forth_over_a_year_make_repeat_only_those_that_were_first_time() -> None:
    history = SupportHistory(osv_id=uuid4())
    marks: dict[object, Support] = {}
    for i in range(40):  # as paper lists are typed in: a month's grants, then an older month's, on and on
        day = date(2021, 10, 20) + timedelta(days=(i * 37) % 300)
        made = history.made_repeat_by(day, PHASES)
        grant = granted(history, day)
        for grant_id in made:
            assert marks[grant_id] is Support.FIRST_TIME  # each restated grant was first-time; none twice
            marks[grant_id] = Support.REPEAT
        marks[grant.id] = grant.support
    # Every mark as the whole history makes it (a grant never counts as its own earlier support): none left stale.
    assert {r.grant_id: history.support_for(r.granted_on, PHASES) for r in history.grants} == marks
    assert set(marks.values()) == {Support.FIRST_TIME, Support.REPEAT}


def test_a_restated_grant_records_its_previous_and_new_mark_and_the_same_mark_again_records_nothing() -> None:
    history = SupportHistory(osv_id=uuid4())
    grant = granted(history, date(2021, 10, 2))
    cause = uuid4()
    assert grant.restate_support(Support.REPEAT, date(2026, 12, 5), RestatementReason.EARLIER_GRANT_RECORDED, cause)
    restated = grant.collect_events()[-1]
    assert type(restated).__name__ == "GrantSupportRestated"
    assert (restated.previous_support, restated.support, restated.reason, restated.caused_by, restated.restated_on) == (
        Support.FIRST_TIME, Support.REPEAT, RestatementReason.EARLIER_GRANT_RECORDED, cause, date(2026, 12, 5)
    )
    assert grant.support is Support.REPEAT
    assert not grant.restate_support(Support.REPEAT, date(2026, 12, 6), RestatementReason.PHASE_OPENED, uuid4())
    assert grant.collect_events() == []


def test_a_phase_opened_over_grants_marks_those_within_it_by_the_support_before_it_starts() -> None:
    history = SupportHistory(osv_id=uuid4())
    earlier, later = granted(history, date(2022, 2, 1)), granted(history, date(2022, 3, 1))
    outside = granted(history, date(2022, 8, 1))
    assert (earlier.support, later.support, outside.support) == (Support.FIRST_TIME, Support.REPEAT, Support.REPEAT)
    opened = PhaseCalendar().open_phase("F3", "Fase 3", date(2022, 1, 1), date(2022, 6, 30))
    # Within phase 3 the two are first-time support (none before it starts); the one after it is not its to mark.
    assert history.marks_in(opened) == {earlier.id: Support.FIRST_TIME, later.id: Support.FIRST_TIME}
    before = granted(history, date(2021, 11, 5))  # typed in: phase 2
    assert history.marks_in(opened) == {earlier.id: Support.REPEAT, later.id: Support.REPEAT}
    assert before.id not in history.marks_in(opened)


def test_a_record_merged_in_is_weighed_with_the_osvs_own_grants_once() -> None:
    survivor, duplicate = SupportHistory(osv_id=uuid4()), SupportHistory(osv_id=uuid4())
    own = granted(survivor, date(2021, 10, 2))  # phase 2: first-time, as the survivor's record alone had it
    earlier = granted(duplicate, date(2021, 5, 5))  # phase 1, on the second record of the same organisation
    assert own.support is Support.FIRST_TIME

    assert survivor.take_merged(duplicate.osv_id, duplicate.organisation_grants)
    assert survivor.marks(PHASES) == {own.id: Support.REPEAT, earlier.id: Support.FIRST_TIME}
    assert not survivor.take_merged(duplicate.osv_id, duplicate.organisation_grants)  # a merge applied again: taken already
    assert survivor.grant_ids == [own.id]  # the survivor's own grants are listed as its, not the merged record's
    # from now on a grant is marked as the organisation's: a later one in phase 2 is repeat, one typed in for phase 1
    # makes no first-time grant of phase 2 repeat (there is none left)
    assert survivor.support_for(date(2021, 11, 1), PHASES) is Support.REPEAT
    assert survivor.made_repeat_by(date(2021, 3, 1), PHASES) == []
    opened = PhaseCalendar().open_phase("F3", "Fase 3", date(2022, 1, 1), date(2022, 6, 30))
    assert survivor.marks_in(opened) == {}


def test_a_direct_grant_is_bounded_by_its_currencys_ceiling_and_a_currency_without_one_is_not() -> None:
    from services.funding.domain.grantceilings import AboveGrantCeilingError, check_grant_ceiling

    ceilings = {Currency.PEN: Decimal("100000.00")}
    check_grant_ceiling(Decimal("100000.00"), Currency.PEN, ceilings)
    check_grant_ceiling(Decimal("999999999.00"), Currency.USD, ceilings)
    with pytest.raises(AboveGrantCeilingError) as refused:
        check_grant_ceiling(Decimal("100000.01"), Currency.PEN, ceilings)
    assert (refused.value.field, refused.value.rule) == ("amount", "at_most_grant_ceiling")
    assert "100,000.00 PEN" in str(refused.value) and "100,000.01" in str(refused.value)
    # A proposal's requested amount is named as itself (tester 208 F3).
    with pytest.raises(AboveGrantCeilingError) as refused:
        check_grant_ceiling(Decimal("2500000.00"), Currency.PEN, ceilings, "requested_amount")
    assert (refused.value.field, refused.value.rule) == ("requested_amount", "at_most_grant_ceiling")
    assert str(refused.value).startswith("requested_amount must be at most 100,000.00 PEN")
