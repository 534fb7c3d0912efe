"""A date cell's answer the import cannot read, told without repeating what may be a person's data
(:func:`services.imports.domain.answers.date_mistake`): tester 276 F4."""

from __future__ import annotations

import pytest

from services.imports.domain.answers import date_mistake, iso_date, written_as_a_date

NO_DATE = "this cell holds no date, nor anything written as one (its columns shifted in Excel?), and is not repeated here"
MORE_THAN_A_DATE = "this cell holds more than a date: what follows the date is no time of day (HH:MM)"


@pytest.mark.parametrize(
    "value",
    ["1985", "41 23 45 67", "9 8765 4321", "41-23-4567", "12 34 5678", "V-25.100.300", "987 654 321", "Rosa Huamán",
     "12 31 5678", "12/31/5678", "3 4567", "1/2"],
    ids=["a-birth-year", "a-dni-in-pairs", "a-phone-in-groups", "a-dni-with-hyphens", "two-years", "a-cedula", "a-phone",
         "a-name", "a-dni-2-2-4", "a-dni-2-2-4-with-slashes", "a-phone-1-4", "two-parts-with-no-year"],
)
def test_a_value_that_is_no_date_is_not_repeated(value: str) -> None:
    """A date has at most three parts (day, month, year), one year (four digits, or a number past 31) at most, and two
    parts at least: a year alone is a birth year, a person's data (README). Four digits are a year only from 1900 to
    2100, and two parts a date only when one is its month, beside a year or by its name: ``12 31 5678`` (a DNI
    12315678 in groups) and ``3 4567`` were said back as dates (tester 280 F6)."""
    assert not written_as_a_date(value)
    assert date_mistake(value).startswith(NO_DATE)
    assert value not in date_mistake(value)


@pytest.mark.parametrize("value", ["15/03/2021 987654321", "2021-03-15 41234567", "15/03/2021 41 23 45 67", "2021-03-15 10"])
def test_a_date_followed_by_anything_but_a_time_is_said_to_hold_more_than_a_date_without_repeating_it(value: str) -> None:
    """Digits after a date and a space were taken for its time: "'15/03/2021 987654321' has a time other than 00:00"
    said a phone back. A time has its ``:`` (HH:MM)."""
    said = date_mistake(value)

    assert said.startswith(MORE_THAN_A_DATE), said
    assert value not in said and value.partition(" ")[2] not in said


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("31-02-2021", "'31-02-2021' is not a day of the calendar: February 2021 has 28 days"),
        ("31.04.2021", "'31.04.2021' is not a day of the calendar: April 2021 has 30 days"),
        ("2021/02/30", "'2021/02/30' is not a day of the calendar: February 2021 has 28 days"),
        ("31/02/2021", "'31/02/2021' is not a day of the calendar: February 2021 has 28 days"),
    ],
)
def test_a_day_the_calendar_lacks_is_told_so_whatever_separates_its_parts(value: str, said: str) -> None:
    """``31-02-2021`` was "not a date the import reads", where ``31/02/2021`` was told February 2021 has 28 days."""
    assert date_mistake(value) == said


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("15/13/2021", "'15/13/2021' has no month 13: the day comes first"),
        ("15 de marzo", "'15 de marzo' is not a date the import reads"),
        ("03/2021", "'03/2021' is not a date the import reads"),
        ("marzo 2021", "'marzo 2021' is not a date the import reads"),
        ("15 de septiembre de 21", "'15 de septiembre de 21' is not a date the import reads"),
        ("15-03-21", "'15-03-21' is not a date the import reads"),
        ("2021.03.15", "'2021.03.15' is not a date the import reads"),
        ("01/05/85", "'01/05/85' is not a date the import reads"),
        ("15-mar-21 10:30", "'15-mar-21 10:30' is not a date the import reads"),
        ("10:30", "'10:30' is not a date the import reads"),
        ("2021-09-17T10:15:00.000-05:00", "'2021-09-17T10:15:00.000-05:00' has a time other than 00:00"),
        ("15/03/2021 10:30", "'15/03/2021 10:30' has a time other than 00:00"),
        ("15/03/2021 00:00 -05:00", "'15/03/2021 00:00 -05:00' is not a date the import reads"),
        ("03/15/2021 10:30", "'03/15/2021 10:30' has no month 15: the day comes first, write 15/03/2021 for March 15, 2021, with no time"),
    ],
)
def test_a_date_written_wrong_is_still_told_back_with_why(value: str, said: str) -> None:
    assert date_mistake(value).startswith(said), date_mistake(value)


@pytest.mark.parametrize(
    "value", ["05-10-2021", "05.10.2021", "05/10/2021", "5-10-2021", "2021/10/05", "2021-10-05", "05-10-2021 00:00",
              "2021/10/05 00:00:00"],
)
def test_a_date_written_day_first_with_slashes_hyphens_or_dots_or_year_first_with_slashes_is_read(value: str) -> None:
    """Tester 296 F6: ``05-10-2021``, ``05.10.2021`` and ``2021/10/05``, as the field writes them, were refused, and the
    officer retyped each row; Peru writes the day first, so 5 October 2021."""
    assert iso_date(value) == "2021-10-05"


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("10-25-2021", "'10-25-2021' has no month 25: the day comes first, write 25/10/2021 for October 25, 2021"),
        ("31.09.2021", "'31.09.2021' is not a day of the calendar: September 2021 has 30 days"),
        ("2021/09/31", "'2021/09/31' is not a day of the calendar: September 2021 has 30 days"),
        ("05-10-21", "'05-10-21' is not a date the import reads"),
    ],
)
def test_the_new_spellings_are_refused_as_slashes_are_for_a_month_first_an_impossible_day_or_a_two_digit_year(
    value: str, said: str
) -> None:
    assert iso_date(value) is None
    assert date_mistake(value).startswith(said), date_mistake(value)


@pytest.mark.parametrize(
    "value", ["5 de octubre de 2021", "05 de Octubre del 2021", "5 octubre 2021", "05-oct-2021", "5 de oct. de 2021",
              "5 de OCTUBRE de 2021"],
)
def test_a_date_written_with_its_months_name_day_first_is_read(value: str) -> None:
    """Tester 296 F6: ``5 de octubre de 2021`` was refused (said back, yet not read). The months' names and short forms are
    the Unicode CLDR's, as babel ships them."""
    assert iso_date(value) == "2021-10-05"


def test_perus_setiembre_and_its_short_form_are_september() -> None:
    assert iso_date("30 de setiembre de 2021") == iso_date("30-set-2021") == iso_date("30 de septiembre del 2021") == "2021-09-30"


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("31 de setiembre de 2021", "'31 de setiembre de 2021' is not a day of the calendar: September 2021 has 30 days"),
        ("29 de febrero de 2021", "'29 de febrero de 2021' is not a day of the calendar: February 2021 has 28 days"),
        ("5 de octubre de 21", "'5 de octubre de 21' is not a date the import reads"),
        ("5 de octubre", "'5 de octubre' is not a date the import reads"),
    ],
)
def test_a_date_with_its_months_name_the_calendar_lacks_or_without_its_full_year_is_refused_saying_why(value: str, said: str) -> None:
    assert iso_date(value) is None
    assert date_mistake(value).startswith(said), date_mistake(value)


@pytest.mark.parametrize(
    ("value", "read"), [("5 de octubre de 2021 00:00", "2021-10-05"), ("5 de octubre de 2021 00:00:00", "2021-10-05"),
                        ("5 de octubre de 2021 10:30", None),
                        # Midnight in the forms a date written with digits takes it (tester 308 F6): read, as those are.
                        ("5 de octubre de 2021 0:00", "2021-10-05"), ("5 de octubre de 2021 00:00:00.000-05:00", "2021-10-05"),
                        ("5 de octubre de 2021T00:00:00.000-05:00", "2021-10-05")],
)
def test_a_date_with_its_months_name_is_read_with_midnight_after_it_as_every_date_is(value: str, read: str | None) -> None:
    """Tester 300 F7: the README reads every form "with a time of 00:00"; ``5 de octubre de 2021 00:00`` was refused."""
    assert iso_date(value) == read


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("5 de octubr de 2021", "'5 de octubr de 2021' names no month the import knows"),
        ("5 de Octobre de 2021", "'5 de Octobre de 2021' names no month the import knows"),
        ("2021-13-05", "'2021-13-05' has no month 13: written year first, the month comes second: write 2021-05-13 for May 13, 2021"),
    ],
)
def test_a_months_name_mistyped_or_a_year_first_date_with_day_and_month_swapped_is_told_what_is_wrong(value: str, said: str) -> None:
    """Tester 300 F7: a mistyped month's name was "no date … its columns shifted in Excel?", and ``2021-13-05`` was told
    "the day comes first, write 13/05/2021"."""
    assert iso_date(value) is None
    assert date_mistake(value).startswith(said), date_mistake(value)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("5 de octubre de 2021 10:30", "'5 de octubre de 2021 10:30' has a time other than 00:00: a date answer is a day"),
        ("05-oct-2021 14:00:00", "'05-oct-2021 14:00:00' has a time other than 00:00"),
        ("5 de octubre de 2021T10:30:00.000-05:00", "'5 de octubre de 2021T10:30:00.000-05:00' has a time other than 00:00"),
        ("31 de setiembre de 2021 10:30", "'31 de setiembre de 2021 10:30' is not a day of the calendar: September 2021 has 30 days"),
    ],
)
def test_a_date_with_its_months_name_and_a_time_of_day_is_told_its_time_is_no_days(value: str, said: str) -> None:
    """Session 66's note: a date written with its month's name and a time other than midnight was told only "not a date
    the import reads", where ``15/03/2021 10:30`` is told its time is the mistake."""
    assert iso_date(value) is None
    assert date_mistake(value).startswith(said), date_mistake(value)


def test_a_date_with_its_months_name_and_more_than_a_time_after_it_is_not_repeated() -> None:
    """As a date written with digits: what follows may be a phone or a document number, so the cell is not said back."""
    mistake = date_mistake("5 de octubre de 2021 987654321")
    assert mistake.startswith("this cell holds more than a date"), mistake
    assert "987654321" not in mistake


@pytest.mark.parametrize("value", ["15/03/2021 25:99", "2021-03-15 10:75", "5 de octubre de 2021 25:99"])
def test_a_time_no_clock_shows_after_a_date_is_said_to_be_none(value: str) -> None:
    """Tester 308 F6: ``25:99`` after a date was "a time other than 00:00"."""
    assert iso_date(value) is None
    assert date_mistake(value).startswith(f"'{value}' has no time of day after its date ("), date_mistake(value)


TWELVE_HOUR_MIDNIGHTS = ["15/03/2021 12:00 a. m.", "15/03/2021 12:00:00 AM", "2021-03-15 12:00 a.m.",
                         "15/03/2021 12:00 a.\u202fm.", "15 de marzo de 2021 12:00 a. m.", "15-mar-2021 12:00:00 AM"]


@pytest.mark.parametrize("value", TWELVE_HOUR_MIDNIGHTS)
def test_midnight_on_a_12_hour_clock_after_a_date_is_the_date(value: str) -> None:
    """Tester 308 F6: ``12:00 a. m.`` as Spanish Excel writes midnight (with CLDR's narrow no-break space too) was "no
    time of day", where ``00:00`` is the date."""
    assert iso_date(value) == "2021-03-15"


@pytest.mark.parametrize(
    "value",
    ["15/03/2021 10:30 a. m.", "15/03/2021 10:30 a.m.", "2021-03-15 10:30 AM", "15/03/2021 3:15 p. m.",
     "15/03/2021 12:00 p. m.", "15 de marzo de 2021 10:30 a. m.", "15 de marzo de 2021 3:15 p.m.", "15-mar-2021 12:00 PM"],
)
def test_another_time_on_a_12_hour_clock_after_a_date_is_a_time_other_than_midnight(value: str) -> None:
    """Tester 308 F6: ``10:30 a. m.`` after a date was said to be "no time of day"; it is a time, told as ``10:30`` is
    (noon, ``12:00 p. m.``, too)."""
    assert iso_date(value) is None
    said = date_mistake(value)
    assert said.startswith(f"'{value}' has a time other than 00:00: a date answer is a day"), said


@pytest.mark.parametrize("value", ["15/03/2021 13:00 p. m.", "15/03/2021 0:30 a. m.", "15 de marzo de 2021 13:00 PM",
                                   "15 de marzo de 2021 0:00 a. m."])
def test_an_hour_no_12_hour_clock_shows_after_a_date_is_no_time(value: str) -> None:
    """A 12-hour clock shows the hours 1 to 12: ``13:00 p. m.`` is none, and so is ``0:30 a. m.`` (it writes ``12:30 a.
    m.``), rather than a guess at which hour was meant."""
    assert iso_date(value) is None
    assert date_mistake(value).startswith(f"'{value}' has no time of day after its date ("), date_mistake(value)
