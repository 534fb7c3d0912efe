"""Field types every API shares: strict ISO dates, trimmed text, money."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_text(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        msg = "must be a date written YYYY-MM-DD"
        raise ValueError(msg)
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text), Field(description="A date, ISO `YYYY-MM-DD`.")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Currency(StrEnum):
    PEN = "PEN"
    USD = "USD"


def _decimal_text(value: object) -> object:
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str):
        msg = "must be a decimal string such as \"1500.00\", not a JSON number"
        raise ValueError(msg)
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    Field(gt=0, max_digits=14, decimal_places=2, description="A positive amount as a decimal string, e.g. \"1500.00\"."),
]


class Command(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")
