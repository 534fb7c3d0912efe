"""How the import reads an answer before sending it: a date as Excel writes it, and a text no service takes.

Pure. A ``date`` question's answer in an export is read as Spanish Excel writes it (:func:`iso_date`), one it cannot
read refused as :data:`DATE_RULE` saying why (:func:`date_mistake`); an answer holding a control character (a vertical
tab pasted into a name) is refused as :data:`CONTROL_RULE` on its own cell (:func:`control_character_mistake`), where
the services' request guard would refuse the whole request. :mod:`services.imports.domain.commands` applies them.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, datetime, time

from babel import Locale
from openpyxl.utils.datetime import from_excel

from shared.strictjson import CONTROL_CHARACTER

DATE_RULE = "date_as_excel_writes_it"
"""The import's rule for a ``date`` answer it cannot read as a date (:func:`iso_date`)."""
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
"""A date as written: ISO 8601 or year first with ``/``, or day first as Peru (and Spanish Excel) writes it, with ``/``,
``-`` or ``.`` (``05-10-2021``, ``05.10.2021``: tester 296 F6); never month first, the year always of four digits
(``%Y`` takes four digits only)."""
MIDNIGHT_FORMATS = (" %H:%M:%S", " %H:%M", "T%H:%M:%S", "T%H:%M")
"""A time after a date (a date cell saved as CSV, a datetime): taken only when it is midnight."""
EXCEL_SERIALS = range(18264, 73051)
"""Excel serial numbers read as dates: 1950-01-01 to 2099-12-31 (a date cell formatted as a number)."""
ACCEPTED_DATES = (
    "15/03/2021 (day first), 15-03-2021, 15.03.2021, 2021-03-15 or 2021/03/15, any with 00:00 (12:00 a. m.) as its "
    "time (2021-03-15T00:00:00.000-05:00 as Kobo writes it), 15 de marzo de 2021, or a date cell of Excel"
)


def iso_date(text: str) -> str | None:
    """A date answer as ISO 8601 (``2021-03-15``), or None when it is none of the forms :data:`ACCEPTED_DATES` names:
    ``dd/mm/yyyy``, ``dd-mm-yyyy``, ``dd.mm.yyyy`` (day first), ``yyyy-mm-dd``, ``yyyy/mm/dd`` (:data:`DATE_FORMATS`),
    any followed by a time of midnight (``00:00``, ``12:00 a. m.``: :func:`clock_time`), or an Excel serial number in
    :data:`EXCEL_SERIALS` (read with openpyxl's :func:`~openpyxl.utils.datetime.from_excel`, Excel's own 1900
    calendar)."""
    text = text.strip()
    if text.isdigit():
        return from_excel(int(text)).date().isoformat() if int(text) in EXCEL_SERIALS else None
    twelve_hour = TIME_AFTER.search(text)
    if twelve_hour is not None and twelve_hour.start() > 0 and twelve_hour["period"] is not None:
        if clock_time(twelve_hour) != time(0):  # strptime's %p reads the C locale's AM and PM only
            return None
        text = text[: twelve_hour.start()]  # 12:00 a. m.: the day alone
    for day in DATE_FORMATS:
        for written in (day, *(day + clock for clock in MIDNIGHT_FORMATS)):
            try:
                read = datetime.strptime(text, written)
            except ValueError:
                continue
            return read.date().isoformat() if read.time() == time(0) else None
    named = _named_month_date(text)
    if named is not None:
        return named.isoformat() if named != NO_SUCH_DAY else None
    try:  # Kobo's own datetime: 2021-09-17T00:00:00.000-05:00 (milliseconds, the offset of Lima)
        read = datetime.fromisoformat(text)
    except ValueError:
        return None
    return read.date().isoformat() if read.time() == time(0) else None


def _named_month_date(text: str) -> date | None:
    """The day of a date written with its month's name, day first (:data:`NAMED_MONTH_DATE`: ``5 de octubre de 2021``,
    ``5 de Setiembre del 2021``, ``05-oct-2021``), :data:`NO_SUCH_DAY` when the calendar has no such day (``31 de
    setiembre de 2021``), or None when ``text`` is not written so."""
    folded = _folded(text)
    written = NAMED_MONTH_DATE.match(folded)
    if written is None or written["month"] not in MONTH_NUMBERS or int(written["year"]) not in YEARS:
        return None
    if not _midnight_or_nothing(folded[written.end() :]):
        return None  # a time after it other than midnight, or more
    try:
        return date(int(written["year"]), MONTH_NUMBERS[written["month"]], int(written["day"]))
    except ValueError:
        return NO_SUCH_DAY


CLOCK = (
    r"(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.[0-9]+)?)?"
    r"(?: ?(?:Z|[+\-][0-9]{2}(?::?[0-9]{2})?)|(?i:\s?(?P<period>[ap])\.?\s?m\.?))?"
)
"""A time of day as a date cell saved as CSV or Kobo writes it: ``HH:MM``, seconds and their fraction, an offset
(``10:15:00.000-05:00``), or on a 12-hour clock as Spanish and English spreadsheets write it (``10:30 a. m.``, ``10:30
a.m.``, ``3:15 p. m.``, ``10:30 AM``; babel's ``parse_time`` reads those digits but drops the day period, ``3:15 p. m.``
as 03:15, so the period is read here: tester 308 F6). It has its ``:``: digits after a date with none are no time (a
phone, a document number). :func:`clock_time` tells the time it shows."""
YEARS = range(1900, 2101)
"""The years a date as written is taken to hold: a part of four digits outside them is no year (``12 31 5678``, a DNI
``12315678`` in groups, said back as a date: tester 280 F6)."""
WRITTEN_DATES = (
    re.compile(r"(?P<day>[0-9]{1,2})(?P<by>[/.\-])(?P<month>[0-9]{1,2})(?P=by)(?P<year>[0-9]{4})(?![0-9])"),
    re.compile(r"(?P<year>[0-9]{4})(?P<by>[/.\-])(?P<month>[0-9]{1,2})(?P=by)(?P<day>[0-9]{1,2})(?![0-9])"),
)
"""A date's day, month and year as written, day first (``31/02/2021``, ``31-02-2021``, ``31.02.2021``) or year first
(``2021-02-31``), to tell why it is no date of the calendar."""
AFTER_A_DATE = re.compile(f"[ T]{CLOCK}")
"""What may follow a date in its cell: a time of day (:data:`CLOCK`)."""
NAMED_MONTH_DATE = re.compile(r"(?P<day>[0-9]{1,2})[\s/.\-]+(?:de\s+)?(?P<month>[a-z]+)\.?[\s/.\-]+(?:del?\s+)?(?P<year>[0-9]{4})")
"""A date written day first with its month's name (the text folded: lower case, no accents): ``5 de octubre de 2021``,
``5 octubre 2021``, ``05-oct-2021``, ``5 de set. del 2021``; the year of four digits, as every date the import reads."""


def _clock_after(rest: str) -> re.Match[str] | None:
    """The time of day ``rest`` (what follows a date written with its month's name, folded) is, after a space or a
    ``t``; None for anything else."""
    return TIME_AFTER.fullmatch(rest) if rest[:1] in (" ", "t") else None


def _midnight_or_nothing(rest: str) -> bool:
    """Whether what follows a date written with its month's name (``rest``, folded) is nothing, or midnight in any form
    a date written with digits takes it (``0:00``, ``00:00:00``, Kobo's ``T00:00:00.000-05:00``: tester 308 F6)."""
    clock = _clock_after(rest)
    return not rest or (clock is not None and clock_time(clock) == time(0))


def clock_time(clock: re.Match[str]) -> time | None:
    """The time of day a :data:`CLOCK` shows, or None when no clock shows it: an hour past 23 or a minute or second past
    59 (``25:99``), or on a 12-hour clock an hour other than 1 to 12 (``13:00 p. m.``; ``0:30 a. m.`` too, which a
    12-hour clock writes ``12:30 a. m.``). ``12:00 a. m.`` is midnight, ``12:00 p. m.`` noon."""
    hour, minute, second = (int(clock[unit] or 0) for unit in ("hour", "minute", "second"))
    if clock["period"] is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if clock["period"].lower() == "p" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)

NO_SUCH_DAY = date.min
"""What :func:`_named_month_date` gives for a day the calendar lacks (``31 de setiembre de 2021``)."""


def _folded(text: str) -> str:
    """``text`` in lower case, its accents dropped (``Setiembre`` → ``setiembre``)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def _month_numbers() -> dict[str, int]:
    """Each month's names and short forms, folded (lower case, no accents, no final dot), to its number: the Unicode CLDR's
    as babel ships them, for Spanish, Peru's Spanish (``setiembre``, ``set``) and English."""
    numbers: dict[str, int] = {}
    for name in ("es", "es_PE", "en"):
        months = Locale.parse(name).months
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                numbers.update({_folded(month).rstrip("."): number for number, month in months[context][width].items()})
    return numbers


def date_mistake(text: str) -> str:
    """Why :func:`iso_date` read no date in ``text``, in the words a row's problem says it: a day the calendar does not
    have ("31/09/2021", "31-09-2021": September has 30 days), a month past 12 (the day comes first), a time other than
    midnight, or a form it does not take. The value is said back only when it is written as a date (a day and a month of
    at most 31, a year of four digits, and after them a time of day, ``HH:MM``, or nothing), else it is not repeated, as
    it may be a person's data: a date followed by a phone or a document number is said to hold more than a date (tester
    276 F4: "'15/03/2021 987654321' has a time other than 00:00"), and anything else to hold no date
    (:func:`written_as_a_date`)."""
    text = text.strip()
    folded = _folded(text)
    named = NAMED_MONTH_DATE.fullmatch(folded)
    if named is not None and int(named["year"]) in YEARS and named["month"] not in MONTH_NUMBERS:  # tester 300 F7
        return f"'{text}' names no month the import knows: write {ACCEPTED_DATES} (the month's name as enero or ene)"
    named = NAMED_MONTH_DATE.match(folded)
    if named is not None and named["month"] in MONTH_NUMBERS and int(named["year"]) in YEARS:
        return _after_a_named_date(text, named, folded[named.end() :])
    found = (pattern.match(text) for pattern in WRITTEN_DATES)
    written = next((date for date in found if date is not None and _day_and_month(date)), None)
    if written is None:
        if written_as_a_date(text):
            return f"'{text}' is not a date the import reads: write {ACCEPTED_DATES}"
        return (
            "this cell holds no date, nor anything written as one (its columns shifted in Excel?), and is not repeated "
            f"here, as it may be a person's data: write {ACCEPTED_DATES}"
        )
    rest = text[written.end() :]
    clock = AFTER_A_DATE.fullmatch(rest)
    if rest and clock is None:
        return (
            "this cell holds more than a date: what follows the date is no time of day (HH:MM), and the cell is not "
            f"repeated here, as it may be a person's data (its columns shifted in Excel?): write {ACCEPTED_DATES}"
        )
    day, month, year = int(written["day"]), int(written["month"]), int(written["year"])
    if not 1 <= month <= 12 and written.re is WRITTEN_DATES[1]:  # year first, the day before the month (tester 300 F7)
        if 1 <= day <= 12 and month <= calendar.monthrange(year, day)[1]:
            return (
                f"'{text}' has no month {month}: written year first, the month comes second: write {year}-{day:02d}-{month:02d} "
                f"for {calendar.month_name[day]} {month}, {year}"
            )
        return f"'{text}' has no month {month}: write {ACCEPTED_DATES}"
    if not 1 <= month <= 12:
        if 1 <= day <= 12 and month <= calendar.monthrange(year, day)[1]:  # month first: its day said (tester 184 F6)
            timed = iso_date(f"{month:02d}/{day:02d}/{year}{rest}") is None  # and its time, if no day's (tester 187 F12)
            return (
                f"'{text}' has no month {month}: the day comes first, write {month:02d}/{day:02d}/{year} for "
                f"{calendar.month_name[day]} {month}, {year}"
                + (", with no time (a date answer is a day)" if timed else "")
            )
        return f"'{text}' has no month {month}: the day comes first, write {ACCEPTED_DATES}"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"'{text}' is not a day of the calendar: {calendar.month_name[month]} {year} has {days} days"
    if clock is not None and clock_time(clock) != time(0):
        return _timed(text, clock)
    return f"'{text}' is not a date the import reads: write {ACCEPTED_DATES}"


def _timed(text: str, clock: re.Match[str]) -> str:
    """Why a date followed by a time of day other than midnight was not read: a date answer is a day; a time no clock
    shows (``25:99``) is said to be none, not "a time other than 00:00" (tester 308 F6)."""
    if clock_time(clock) is None:
        said = clock.group().strip()
        return f"'{text}' has no time of day after its date ({said} is none): a date answer is a day, write " + ACCEPTED_DATES
    return f"'{text}' has a time other than 00:00: a date answer is a day, write {ACCEPTED_DATES}"


def _after_a_named_date(text: str, named: re.Match[str], rest: str) -> str:
    """Why a date written with its month's name (``named``: ``5 de octubre de 2021``, perhaps with ``rest`` after it,
    folded) was not read: a day the calendar lacks; a time other than midnight, said back; no time of day after it, and
    the cell not repeated, as a date written with digits is not (:func:`date_mistake`). Told so, not "not a date the
    import reads" (session 66's note)."""
    month, year = MONTH_NUMBERS[named["month"]], int(named["year"])
    days = calendar.monthrange(year, month)[1]
    if not 1 <= int(named["day"]) <= days:
        return f"'{text}' is not a day of the calendar: {calendar.month_name[month]} {year} has {days} days"
    clock = _clock_after(rest)
    if _midnight_or_nothing(rest):
        return f"'{text}' is not a date the import reads: write {ACCEPTED_DATES}"  # read: never asked
    if clock is None:
        return (
            "this cell holds more than a date: what follows the date is no time of day (HH:MM), and the cell is not "
            f"repeated here, as it may be a person's data (its columns shifted in Excel?): write {ACCEPTED_DATES}"
        )
    return _timed(text, clock)


def _day_and_month(written: re.Match[str]) -> bool:
    """Whether a date as written has a day and a month of at most 31 (a month past 12: a day first, ``03/15/2021``) and a
    year in :data:`YEARS` (``12/31/5678`` is a DNI in groups, not repeated: tester 280 F6)."""
    return int(written["day"]) <= 31 and int(written["month"]) <= 31 and int(written["year"]) in YEARS


MONTH_NUMBERS = _month_numbers()
"""Month names and short forms to their numbers (:func:`_month_numbers`)."""
MONTHS = frozenset(MONTH_NUMBERS)
"""Month names and their short forms, in Spanish (Peru's ``setiembre`` too) and English, lower case without accents."""
DATE_WORDS = frozenset({"de", "del", "of"})
"""The words a date written out holds besides its month ("15 de marzo de 2021")."""
DATE_PART = re.compile(r"[0-9]{1,2}|[0-9]{4}")
"""A day, a month or a year as a date writes them: one or two digits, or four."""
LONGEST_DATE = 30
"""The most characters of a date written out ("15 de septiembre de 2021" has 24)."""
TIME_AFTER = re.compile(f"(?:^|[ T]){CLOCK}$", re.IGNORECASE)
"""A time of day ending a date as written, or alone (:data:`CLOCK`; the text is folded to lower case)."""


def written_as_a_date(text: str) -> bool:
    """Whether ``text``, a date question's answer the import could not read, was written as a date: short (at most
    :data:`LONGEST_DATE` characters), of two or three parts, each a day, a month or a year (one or two digits, or four)
    or a month's name (:data:`MONTHS`), one number at most past 31 and one at most of four digits (the year's, in
    :data:`YEARS`), two parts only when one is the month (:func:`_month_beside_a_year`), besides ``de`` and a date's
    separators, then perhaps a time of day (``HH:MM``): ``31/09/2021``, ``15-mar-21``, ``2021-03-15 10:30``, ``15 de
    marzo``, ``03/2021``; or a time of day alone (``10:30``). Only then does a message repeat it: a date column holding a document number (``V-25.100.300``,
    ``41 23 45 67``, ``12 31 5678``), a phone (``987 654 321``, ``9 8765 4321``, ``3 4567``), a year alone (``1985``: a birth year is a person's
    data, README) or a name, its columns shifted in Excel, is a person's data (tester 270 F4, tester 276 F4), and a
    date cell's content is said back only as no personal data."""
    folded = _folded(text.strip())
    if len(folded) > LONGEST_DATE:
        return False
    timed = TIME_AFTER.search(folded)
    if timed is not None and timed.start() == 0:
        return True  # a time of day alone: no date, nor anyone's data
    date = folded[: timed.start()] if timed is not None else folded
    parts = [part for part in re.split(r"[\s/.,\-]+", date) if part and part not in DATE_WORDS]
    numbers = [int(part) for part in parts if DATE_PART.fullmatch(part)]
    years = [int(part) for part in parts if len(part) == 4 and part.isdigit()]
    return (
        2 <= len(parts) <= 3
        and all(DATE_PART.fullmatch(part) or part in MONTHS for part in parts)
        and bool(numbers)
        and sum(number > 31 for number in numbers) <= 1
        and len(years) <= 1
        and all(year in YEARS for year in years)
        and (len(parts) == 3 or _month_beside_a_year(parts, years))
    )


def _month_beside_a_year(parts: list[str], years: list[int]) -> bool:
    """Whether a date of two parts names its month: by its name (``15 de marzo``, ``marzo 2021``), or as a number from 1
    to 12 beside a year (``03/2021``); ``3 4567`` and ``1/2`` are no date anyone writes, and are not repeated."""
    return any(part in MONTHS for part in parts) or (bool(years) and any(part.isdigit() and 1 <= int(part) <= 12 for part in parts if len(part) <= 2))


CONTROL_RULE = "control_characters"
"""The services' rule for a text holding a control character (:data:`~shared.strictjson.CONTROL_CHARACTER`), which the
import says on the answer's own cell (tester 226 F4: the request guard's 422 named the whole request, ``body``)."""
CONTROL_NAMES = {
    "\x00": "a NUL",
    "\x08": "a backspace",
    "\x0b": "a vertical tab",
    "\x0c": "a form feed",
    "\x1b": "an escape",
}


def control_character_mistake(text: str) -> str | None:
    """Why an answer holding a control character is refused, naming the first (``U+000B``, a vertical tab: no personal
    data), or None for an answer without one."""
    found = CONTROL_CHARACTER.search(text)
    if found is None:
        return None
    character = found.group()
    named = f" ({CONTROL_NAMES[character]})" if character in CONTROL_NAMES else ""
    return (
        f"this answer holds an invisible control character, U+{ord(character):04X}{named}, most often pasted with text "
        "copied from another program: delete it (retype the space or letter it stands in); only tabs and line breaks "
        "may stand in an answer"
    )
