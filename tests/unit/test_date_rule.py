"""The one date rule finds the calendar dates a command carries, and leaves moments to their own rules."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from shared.dates import DateRule, DateTooFarAheadError, check_dates, dates_in
from shared.errors import DateInFutureError


def test_the_dates_a_command_carries_are_found_by_their_field_names() -> None:
    found = list(dates_in({"held_on": date(2021, 5, 2), "items": [{"due_on": date(2021, 6, 1)}]}, "body"))

    assert found == [("body.held_on", date(2021, 5, 2)), ("body.items.0.due_on", date(2021, 6, 1))]


def test_a_moment_is_not_taken_for_a_facts_date() -> None:
    signed_at = datetime(2022, 1, 5, 15, 30, tzinfo=timezone.utc)
    rule = DateRule(today=date(2022, 1, 5), earliest=date(2015, 1, 1))

    assert list(dates_in({"cut": signed_at, "set_at": signed_at}, "command")) == []
    check_dates(rule, {"cut": signed_at, "signed_on": date(2022, 1, 5)})  # the moment does not trip the rule


def test_a_fact_dated_past_the_margin_is_refused_in_words_that_say_where_the_margin_ends() -> None:
    """Tomorrow in Lima is taken (an entry made past midnight); the day after is not, and the refusal says tomorrow is the
    last day taken: it said "after today", which tomorrow also is (tester 24)."""
    rule = DateRule(today=date(2026, 12, 1))
    rule.check(date(2026, 12, 2), "joined_on")
    with pytest.raises(DateInFutureError) as refused:
        rule.check(date(2026, 12, 3), "joined_on")
    assert (refused.value.field, refused.value.rule) == ("joined_on", "not_in_future")
    assert refused.value.message.startswith("joined_on 2026-12-03 is after 2026-12-02 (today in Lima is 2026-12-01;")


@pytest.mark.parametrize(("today", "last_taken"), [(date(2026, 12, 5), date(2036, 12, 5)), (date(2028, 2, 29), date(2038, 2, 28))])
def test_a_plan_reaches_ten_calendar_years_ahead_as_the_refusal_says(today: date, last_taken: date) -> None:
    """The horizon was today plus 366 days a year: a week past the "10 years ahead" the 422 names (tester 171 F5)."""
    rule = DateRule(today=today)
    rule.check(last_taken, "term_ends_on", planned=True)
    with pytest.raises(DateTooFarAheadError) as refused:
        rule.check(last_taken + timedelta(days=1), "term_ends_on", planned=True)
    assert refused.value.message == f"term_ends_on {last_taken + timedelta(days=1)} is after {last_taken}: plans reach 10 years ahead at most"
