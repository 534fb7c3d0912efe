"""Field types every API shares: strict ISO dates, trimmed text, decimal strings and money."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, StringConstraints, WithJsonSchema

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


def decimal_text(example: str) -> BeforeValidator:
    """A validator that takes a decimal as a string (``example`` shows one in the error), never as a JSON number."""

    def only_text(value: object) -> object:
        if isinstance(value, Decimal):
            return value
        if not isinstance(value, str):
            msg = f"must be a decimal string such as \"{example}\", not a JSON number"
            raise ValueError(msg)
        return value

    return BeforeValidator(only_text)


Money = Annotated[
    Decimal,
    decimal_text("1500.00"),
    Field(gt=0, max_digits=14, decimal_places=2, description="A positive amount as a decimal string, e.g. \"1500.00\"."),
]
"""Money on the way in: a positive decimal string to the cent (its currency is another field)."""


def _two_places(amount: Decimal) -> str:
    return f"{amount:.2f}"


MoneyText = Annotated[
    Decimal,
    PlainSerializer(_two_places, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d{2}$", "description": "A decimal string with 2 places, e.g. \"1500.00\"."}),
]
"""Money on the way out (answers and public events): a decimal string with two places, never a JSON number."""

DecimalText = Annotated[
    Decimal,
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?$", "description": "A decimal string, e.g. \"72.50\"."}),
]
"""Any other decimal on the way out (a weight, a score's mean): a decimal string, never a JSON number."""


class Command(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")
