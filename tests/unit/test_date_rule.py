"""The one date rule finds the calendar dates a command carries, and leaves moments to their own rules."""

from __future__ import annotations

from datetime import date, datetime, timezone

from shared.dates import DateRule, check_dates, dates_in


def test_the_dates_a_command_carries_are_found_by_their_field_names() -> None:
    found = list(dates_in({"held_on": date(2021, 5, 2), "items": [{"due_on": date(2021, 6, 1)}]}, "body"))

    assert found == [("body.held_on", date(2021, 5, 2)), ("body.items.0.due_on", date(2021, 6, 1))]


def test_a_moment_is_not_taken_for_a_facts_date() -> None:
    signed_at = datetime(2022, 1, 5, 15, 30, tzinfo=timezone.utc)
    rule = DateRule(today=date(2022, 1, 5), earliest=date(2015, 1, 1))

    assert list(dates_in({"cut": signed_at, "set_at": signed_at}, "command")) == []
    check_dates(rule, {"cut": signed_at, "signed_on": date(2022, 1, 5)})  # the moment does not trip the rule
