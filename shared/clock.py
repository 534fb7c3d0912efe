"""The programme's clock: the day it is in Lima, defined once for every service.

Peru keeps no daylight saving time, so Lima is five hours behind UTC all year.
Services take the clock as a function (:data:`Clock`) in their bootstrap, so
tests pass a fake one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

LIMA = ZoneInfo("America/Lima")

Clock = Callable[[], date]
"""A function that says what day it is."""


def today_in_lima() -> date:
    """Today's date in Lima."""
    return datetime.now(LIMA).date()
