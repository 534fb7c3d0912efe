"""Working days in Peru: the unit of the deadlines a municipality gives an OSV.

An observed RUOS application must be amended within N *días hábiles*:
Saturdays, Sundays and Peruvian public holidays do not count. The holidays
come from the ``holidays`` library (pure data, no I/O).
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays

PERUVIAN_HOLIDAYS = holidays.country_holidays("PE")


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in PERUVIAN_HOLIDAYS


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (the day of ``start`` does not count)."""
    if days < 1:
        msg = "days must be at least 1"
        raise ValueError(msg)
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day
