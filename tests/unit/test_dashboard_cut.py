"""The dashboard's cut field: what was typed counts to its end, a day or a minute, and the page says so (tester 247 F4)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic_core import PydanticCustomError

from services.reporting.dashboard import cut_applied, cut_from_form, cut_in_field, stated_cut, typed_span
from services.reporting.translations import translator
from shared.clock import LIMA


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("31/12/2021", "2021-12-31T23:59:59.999999"),  # a date alone: the whole day
        ("06/12/2026 23:54", "2026-12-06T23:54:59.999999"),  # a minute: all of it, 23:54:12 too
        ("1/3/2022 9:05", "2022-03-01T09:05:59.999999"),
        ("2021-12-31", "2021-12-31T23:59:59.999999"),  # the English page's year-first date
        ("2021-6-1 0:00", "2021-06-01T00:00:59.999999"),
    ],
)
def test_a_date_or_minute_typed_on_the_form_is_read_as_its_end(typed: str, read: str) -> None:
    assert cut_from_form(typed) == read


@pytest.mark.parametrize("sent", ["2021-12-31T23:54:12", "2021-12-31T23:54:00-05:00", "2021-12-31T04:54:00Z", "2021-12-31T23:54"])
def test_an_iso_moment_a_client_sends_passes_as_it_is(sent: str) -> None:
    assert cut_from_form(sent) == sent
    assert typed_span(sent) is None


def test_an_empty_field_is_no_cut_and_a_day_that_does_not_exist_is_refused_as_typed() -> None:
    assert cut_from_form("  ") is None
    with pytest.raises(PydanticCustomError, match="31/02/2022 is no moment of the calendar"):
        cut_from_form("31/02/2022")


def test_the_span_typed_is_a_day_for_a_date_and_a_minute_for_a_date_and_time() -> None:
    assert typed_span("31/12/2021") == typed_span("2021-12-31") == timedelta(days=1)
    assert typed_span("31/12/2021 23:54") == typed_span("2021-12-31 23:54") == timedelta(minutes=1)


def test_a_day_or_minute_under_way_is_cut_at_now_and_one_to_come_is_left_to_be_refused() -> None:
    now = datetime(2026, 12, 7, 10, 31, 12, tzinfo=LIMA)
    today = datetime(2026, 12, 7, 23, 59, 59, 999999, tzinfo=LIMA)
    this_minute = datetime(2026, 12, 7, 10, 31, 59, 999999, tzinfo=LIMA)
    assert cut_applied(today, "07/12/2026", now) == now
    assert cut_applied(this_minute, "07/12/2026 10:31", now) == now
    tomorrow = datetime(2026, 12, 8, 23, 59, 59, 999999, tzinfo=LIMA)
    assert cut_applied(tomorrow, "08/12/2026", now) == tomorrow  # wholly to come: the application refuses it
    next_minute = datetime(2026, 12, 7, 10, 32, 59, 999999, tzinfo=LIMA)
    assert cut_applied(next_minute, "07/12/2026 10:32", now) == next_minute
    yesterday = datetime(2026, 12, 6, 23, 59, 59, 999999, tzinfo=LIMA)
    assert cut_applied(yesterday, "06/12/2026", now) == yesterday
    later = datetime(2026, 12, 7, 10, 35, tzinfo=LIMA)  # a client's moment, no period typed: left to be refused
    assert cut_applied(later, "2026-12-07T10:35:00-05:00", now) == later
    assert cut_applied(None, None, now) is None


def test_the_page_states_a_day_or_minute_typed_as_counted_inclusive_in_both_languages() -> None:
    es, en = translator("es"), translator("en")
    day_end = datetime(2021, 12, 31, 23, 59, 59, 999999, tzinfo=LIMA)
    minute_end = datetime(2021, 12, 31, 18, 0, 59, 999999, tzinfo=LIMA)
    assert stated_cut(day_end, es) == "Cifras registradas hasta el 2021-12-31 inclusive (Lima)."
    assert stated_cut(day_end, en) == "Figures recorded up to and including 2021-12-31 (Lima)."
    assert stated_cut(minute_end, es) == "Cifras registradas hasta el 2021-12-31 18:00 inclusive (Lima)."
    assert stated_cut(minute_end, en) == "Figures recorded up to and including 2021-12-31 18:00 (Lima)."
    assert stated_cut(datetime(2021, 12, 31, 18, 0, tzinfo=LIMA), es) == "Cifras registradas hasta el 2021-12-31 18:00 (Lima)."
    assert stated_cut(datetime(2021, 12, 31, 18, 0, 12, tzinfo=LIMA), en) == "Figures recorded up to 2021-12-31 18:00:12 (Lima)."
    # a cut within a second as it is: the second alone counts other facts (tester 271 F1)
    assert stated_cut(datetime(2021, 12, 31, 18, 0, 12, 345, tzinfo=LIMA), en) == "Figures recorded up to 2021-12-31 18:00:12.000345 (Lima)."


def test_the_field_shows_the_cut_as_it_was_typed() -> None:
    assert cut_in_field(datetime(2021, 12, 31, 23, 59, 59, 999999, tzinfo=LIMA), "es") == "31/12/2021"
    assert cut_in_field(datetime(2021, 12, 31, 23, 59, 59, 999999, tzinfo=LIMA), "en") == "2021-12-31"
    assert cut_in_field(datetime(2021, 12, 31, 18, 0, 59, 999999, tzinfo=LIMA), "es") == "31/12/2021 18:00"
    assert cut_in_field(None, "es") == ""


def test_a_cut_that_ends_no_minute_shows_in_the_field_as_a_moment_read_back_the_same() -> None:
    """Tester 252 F3: ``?as_of=2026-12-07T00:59`` (that minute's start) showed "07/12/2026 00:59", which the next Aplicar
    sent back and read as the minute's end: other figures for the same text."""
    for cut in (datetime(2026, 12, 7, 0, 59, tzinfo=LIMA), datetime(2026, 12, 7, 0, 59, 12, 345678, tzinfo=LIMA)):
        shown = cut_in_field(cut, "es")
        assert shown == cut.replace(tzinfo=None).isoformat()
        assert datetime.fromisoformat(cut_from_form(shown)).replace(tzinfo=LIMA) == cut
