"""Field types every API shares: strict ISO dates, trimmed text, decimal strings and money."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

import regex
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.clock import LIMA
from shared.errors import MAX_COUNT, RuleViolationError

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_text(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        msg = "must be a date written YYYY-MM-DD"
        raise ValueError(msg)
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text), Field(description="A date, ISO `YYYY-MM-DD`.")]
_LINE_BREAKS = re.compile(r" *[\t\n\r\v\f\x85\u2028\u2029][\t\n\r\v\f\x85\u2028\u2029 ]*")
"""A line break or tab, with the spaces around it: one space in a one-line text."""
_INVISIBLE = regex.compile(r"[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Default_Ignorable_Code_Point}]")
"""Characters no one reads: controls, format characters (right-to-left override, zero-width space, soft hyphen…),
private-use, lone surrogates, and Unicode's default-ignorable code points (the combining grapheme joiner, Hangul fillers,
variation selectors), which show as nothing, or as the letter before them, and let a name pass for another."""
_EMOJI_JOINERS = regex.compile(r"[\u200d\ufe00-\ufe0f\U000e0020-\U000e007f]")
"""What joins an emoji sequence (a zero-width joiner, a variation selector, a tag flag's tags): visible as the emoji."""
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]|[0-9#*]\ufe0f?\u20e3")


def _one_visible_line(value: str) -> str:
    """A one-line text as people read it: its line breaks and tabs made spaces (a name typed over two lines of a phone's
    form is one name), and refused when it holds a character no one sees (422 ``visible_text``, naming it): a
    right-to-left override shows a published name reversed in partners' feeds, exports and the dashboard, and a
    combining grapheme joiner after each letter passes a name off as another one. Emoji are visible: the joiners inside
    one emoji (a grapheme cluster that starts as an emoji does: 👩‍👧‍👦, 🏳️‍🌈, a tag flag) are taken."""
    value = _LINE_BREAKS.sub(" ", value).strip()
    if _INVISIBLE.search(value) is None:  # as a rule: one scan, and the grapheme clusters only for a text that needs them
        return value
    for cluster in regex.finditer(r"\X", value):
        text = cluster.group()
        for offset, character in enumerate(text):
            if _INVISIBLE.match(character) and not (_EMOJI_JOINERS.match(character) and _EMOJI.match(text)):
                named = unicodedata.name(character, "a control character")
                position = cluster.start() + offset + 1
                msg = f"must be visible text: character {position} is U+{ord(character):04X} ({named}), which no one sees"
                raise PydanticCustomError("visible_text", msg)
    return value


one_visible_line = AfterValidator(_one_visible_line)
"""The rule of :data:`Text` for another one-line type (a number, an item's name): line breaks made spaces, 422 ``visible_text``."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), one_visible_line]
"""One line of visible text, 1-200 characters, trimmed: names, titles, offices (line breaks become spaces; invisible
characters are refused, 422 ``visible_text``)."""


def _refusal(error: RuleViolationError, field: str | None, value: Any) -> Exception:
    """The domain's refusal as pydantic's, at the field the domain named: ``field`` itself (the one being read), or one of
    its rows (a list's rule names ``outputs.1.kind``: read at ``outputs``, it is reported at ``(1, "kind")`` below it);
    with ``field`` None (a model validator), the whole path the domain named.

    A row's place is given as a :class:`~pydantic_core.ValidationError` raised inside the validator: pydantic-core takes
    its errors, each at its place below the field being read, as it does a nested model's (its docs advise a
    ``ValueError``, which has no place; the API tests pin the places)."""
    rule = error.rule or "invalid"
    named = error.field or ""
    if field is None:
        below = named
    else:
        below = named.removeprefix(f"{field}.") if named.startswith(f"{field}.") else ""
    if not below:
        return PydanticCustomError(rule, error.message)
    place = tuple(int(part) if part.isdigit() else part for part in below.split("."))
    return ValidationError.from_exception_data(field or "body", [InitErrorDetails(type=PydanticCustomError(rule, error.message), loc=place, input=value)])


def domain_rule(check: Callable[..., object], *given: str, none_too: bool = False) -> AfterValidator:
    """A field checked by the domain's own pure rule (``check`` raises a :class:`~shared.errors.RuleViolationError`)
    while the request is read, so that one 422 lists it with every other field's problem instead of after them; the value
    is left as given (the domain checks and normalises it again). None is not checked, unless ``none_too`` (a rule that
    may require the field: put the validator on the whole ``X | None`` and give the field ``validate_default=True``).

    ``check(value, *others)``: ``given`` names fields declared before this one that the rule takes too (a cross-field
    rule: a document's number by its type); it runs only once each of them passed. Not for a pair of dates: a date's own
    rules (today, the earliest date) are the application's, so a rule of two dates read here would name the wrong one
    when the other is the typo (a meeting dated 2031 would be told its actions are due before it). The 422 names the
    field and the rule the domain's error names, a list's row included (:func:`_refusal`)."""

    def run(value: Any, info: ValidationInfo) -> Any:
        if (value is None and not none_too) or any(name not in info.data for name in given):
            return value
        try:
            check(value, *(info.data[name] for name in given))
        except RuleViolationError as error:
            raise _refusal(error, info.field_name, value) from None
        return value

    return AfterValidator(run)


def domain_rules(check: Callable[..., object], *values: Any) -> None:
    """In a model validator (``mode="after"``: every field passed), the domain's pure cross-field rule ``check(*values)``;
    its refusal as a 422 at the field its error names."""
    try:
        check(*values)
    except RuleViolationError as error:
        raise _refusal(error, None, values) from None


_serving: ContextVar[Any] = ContextVar("serving_application", default=None)


def read_for(application: Any) -> None:
    """Say which application the request being read is for: :func:`application_rule` asks it for its reference data.

    :func:`shared.web.application_of`, the dependency every route that runs a command takes, says it; FastAPI resolves
    a route's dependencies before it reads the body. Set in the request's own context, it ends with the request."""
    _serving.set(application)


def application_rule(check: Callable[[Any, Any], object]) -> AfterValidator:
    """A field checked by the domain's rule against reference data the application holds (``check(application, value)``):
    Lima's districts and municipalities, which a setting (``districts_file``) may replace, so they are the serving
    application's, never a table of the schema's own. As :func:`domain_rule` otherwise; a body read outside a request
    (no application serving) is left for the domain to check."""

    def run(value: Any, info: ValidationInfo) -> Any:
        application = _serving.get()
        if value is None or application is None:
            return value
        try:
            check(application, value)
        except RuleViolationError as error:
            raise _refusal(error, info.field_name, value) from None
        return value

    return AfterValidator(run)


Count = Annotated[int, Field(le=MAX_COUNT)]
"""A count of people or things, at most :data:`~shared.errors.MAX_COUNT` (the domain says 0 or 1 at least, by its rule)."""

MAX_ROWS = 100
"""The most rows a list in a command may hold, unless its own rule says fewer (one per kind, per criterion…)."""

NOT_AFTER_DISSOLUTION = " Not after the OSV's dissolution (409 `osv_not_dissolved`); a fact dated on or before it is taken after it was recorded."
"""What an OSV fact's date field says of the OSV's dissolution, in funding's and engagement's OpenAPI descriptions."""


_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)
"""Digits 0-9 and a point: what Python's ``Decimal`` takes beyond it ("1e3", "1_000", "+100", " 100 ", "NaN", Arabic-Indic
or full-width digits) is refused. A minus passes, for the field's own rule to refuse with its words ("greater than 0")."""


def decimal_text(example: str) -> BeforeValidator:
    """A validator that takes a decimal as a string of digits 0-9 and a point (``example`` shows one in the error),
    never as a JSON number, an exponent, underscores, a sign other than minus, spaces or other scripts' digits
    (422 ``decimal_text``)."""

    def only_text(value: object) -> object:
        if isinstance(value, Decimal):
            return value
        if not isinstance(value, str):
            msg = f"must be a decimal string such as \"{example}\", not a JSON number"
            raise ValueError(msg)
        if not _DECIMAL_TEXT.fullmatch(value):
            msg = f'must be written with the digits 0-9 and a point, such as "{example}" (no exponent, sign, spaces or separators)'
            raise PydanticCustomError("decimal_text", msg)
        return value

    return BeforeValidator(only_text)


def decimal_string(description: str, pattern: str = r"^\d+(\.\d+)?$") -> WithJsonSchema:
    """How a decimal taken only as text (:func:`decimal_text`) is documented: a string, never "number or string"."""
    return WithJsonSchema({"type": "string", "pattern": pattern, "description": description})


MONEY_PATTERN = r"^\d{1,12}(\.\d{1,2})?$"

Money = Annotated[
    Decimal,
    decimal_text("1500.00"),
    Field(gt=0, max_digits=14, decimal_places=2),
    decimal_string("A positive amount as a decimal string to the cent, e.g. \"1500.00\"; a JSON number is refused.", MONEY_PATTERN),
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


# Moments: "as of" ------------------------------------------------------------------------------

EARLIEST_MOMENT = datetime(1970, 1, 1, tzinfo=UTC)
"""No event was recorded before this: an earlier ``as_of`` is a typing error."""
LATEST_MOMENT = datetime(9999, 12, 30, tzinfo=UTC)
"""Past this a moment cannot be moved between time zones."""

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(?P<offset>Z|z|[+-]\d{2}:\d{2})?")
_OFFSET_LOST_PLUS = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?) (\d{2}:\d{2})$")


def _moment_text(value: object, *, offset_required: bool) -> object:
    """ISO 8601 text only: never a number of seconds or milliseconds, which pydantic would read as a Unix time."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("iso_8601_moment", "must be an ISO 8601 moment such as 2021-12-31T23:59:59-05:00")
    text = _OFFSET_LOST_PLUS.sub(r"\1+\2", value.strip())  # a "+" left unencoded in a URL arrives as a space
    match = _RFC3339.fullmatch(text)
    if match is None or (offset_required and match["offset"] is None):
        wanted = "with its offset " if offset_required else ""
        msg = f"must be an ISO 8601 moment {wanted}such as 2021-12-31T23:59:59-05:00 (a + in a URL is written %2B)"
        raise PydanticCustomError("iso_8601_moment", msg)
    return text


def _within_bounds(moment: datetime) -> datetime:
    wall = moment.replace(tzinfo=None)  # compared before any conversion, which could overflow
    if not EARLIEST_MOMENT.replace(tzinfo=None) <= wall <= LATEST_MOMENT.replace(tzinfo=None):
        msg = f"must be between {EARLIEST_MOMENT.date().isoformat()} and {LATEST_MOMENT.date().isoformat()}"
        raise PydanticCustomError("moment_within_bounds", msg)
    return moment


def _in_lima_if_naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=LIMA) if moment.tzinfo is None else moment


AsOf = Annotated[
    datetime,
    BeforeValidator(lambda value: _moment_text(value, offset_required=True)),
    AfterValidator(_within_bounds),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "maxLength": 40,
            "description": "An RFC 3339 moment with its offset, e.g. 2021-12-31T23:59:59-05:00 (`+` written %2B in a URL), "
            "between 1970-01-01 and 9999-12-30.",
        }
    ),
]
"""A moment to answer "as of": RFC 3339 text with its offset, within bounds; never a Unix time."""

LimaMoment = Annotated[
    datetime,
    BeforeValidator(lambda value: _moment_text(value, offset_required=False)),
    AfterValidator(_within_bounds),
    AfterValidator(_in_lima_if_naive),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 40,
            "description": "An ISO 8601 moment, e.g. 2021-12-31T23:59; without an offset, Lima time. "
            "Between 1970-01-01 and 9999-12-30.",
        }
    ),
]
"""A moment typed by a person (a web form's ``datetime-local``): ISO 8601 text, Lima time unless it says otherwise."""
