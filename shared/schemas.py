"""Field types every API shares: strict ISO dates, trimmed text, decimal strings and money."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Self, get_args

import regex
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ModelWrapValidatorHandler,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    model_validator,
)
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError

from shared.clock import LIMA
from shared.errors import MAX_COUNT, PartlyRead, RuleViolationError, check_not_negative
from shared.letters import ZERO_WIDTH_JOINERS, joiner_belongs

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
"""ASCII digits only: a full-width digit is no date's shape, not a day missing from the calendar (tester 136 F5)."""


def _iso_date_text(value: object) -> object:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("iso_8601_date", "must be a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:  # 2026-02-30: the shape, not a day of the calendar (pydantic's rule said "date_from_datetime_parsing")
        raise PydanticCustomError("iso_8601_date", "must be a date written YYYY-MM-DD, and a day of the calendar: {value} is not one",
                                  {"value": value}) from None


IsoDate = Annotated[date, BeforeValidator(_iso_date_text), Field(description="A date, ISO `YYYY-MM-DD` (else 422 `iso_8601_date`).")]
IsoDateInPath = Annotated[date, BeforeValidator(_iso_date_text)]
"""A date a path names, read as a body's :data:`IsoDate` is (422 ``iso_8601_date`` in the project's words, not pydantic's
``date_from_datetime_parsing``); the route gives it its ``Path`` description."""
_LINE_BREAKS = re.compile(r" *[\t\n\r\v\f\x85\u2028\u2029][\t\n\r\v\f\x85\u2028\u2029 ]*")
"""A line break or tab, with the spaces around it: one space in a one-line text."""
_INVISIBLE = regex.compile(r"[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]")
"""Characters no one reads: controls, format characters (right-to-left override, zero-width space, soft hyphen…),
private-use, lone surrogates, Unicode's default-ignorable code points (the combining grapheme joiner, Hangul fillers,
variation selectors), which show as nothing, or as the letter before them, and let a name pass for another, and its
noncharacters (U+FFFE, U+FDD0…, never text: tester 136 F4)."""
_EMOJI_JOINERS = regex.compile(r"[\u200d\ufe00-\ufe0f\U000e0020-\U000e007f]")
"""What joins an emoji sequence (a zero-width joiner, a variation selector, a tag flag's tags): visible as the emoji."""
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]|[0-9#*]\ufe0f?\u20e3")

MOST_MARKS = 6
"""The combining marks (Unicode ``M``: non-spacing, enclosing and spacing) one character of a one-line text may carry
in a row once its letters are composed (NFC): a letter and its accents compose to one character (``é``, Vietnamese
``ệ``); Myanmar's ``မြှော့`` writes five marks on one letter, Tibetan's stacks four. More piled up ("Zalgo" text) spill
over the lines above and below wherever the name is shown (tester 203 F4), spacing marks between them too (tester 206 F2)."""
_PILED_MARKS = regex.compile(rf"\p{{M}}{{{MOST_MARKS + 1},}}")


def _one_visible_line(value: str) -> str:
    """A one-line text as people read it: its line breaks and tabs made spaces (a name typed over two lines of a phone's
    form is one name), and refused when it holds a character no one sees (422 ``visible_text``, naming it): a
    right-to-left override shows a published name reversed in partners' feeds, exports and the dashboard, and a
    combining grapheme joiner after each letter passes a name off as another one. Emoji are visible: the joiners inside
    one emoji (a grapheme cluster that starts as an emoji does: 👩‍👧‍👦, 🏳️‍🌈, a tag flag) are taken, and a zero-width
    joiner or non-joiner between two letters of a script spelled with them (:func:`~shared.letters.joiner_belongs`). More than
    :data:`MOST_MARKS` combining marks on one character are refused (422 ``combining_marks``, naming the character)."""
    value = unicodedata.normalize("NFC", _LINE_BREAKS.sub(" ", value).strip())  # one spelling of "é", however typed
    if (piled := _PILED_MARKS.search(value)) is not None:
        raise PydanticCustomError(
            "combining_marks",
            f"must be readable text: character {piled.start()} carries {len(piled.group())} combining marks, at most "
            f"{MOST_MARKS} are taken",
        )
    if _INVISIBLE.search(value) is None:  # as a rule: one scan, and the grapheme clusters only for a text that needs them
        return value
    for cluster in regex.finditer(r"\X", value):
        text = cluster.group()
        for offset, character in enumerate(text):
            if _INVISIBLE.match(character) and not (_EMOJI_JOINERS.match(character) and _EMOJI.match(text)):
                at = cluster.start() + offset
                if character in ZERO_WIDTH_JOINERS and joiner_belongs(value[at - 1 : at], value[at + 1 : at + 2]):
                    continue  # Persian's and Sinhala's spelling (tester 206 F3)
                named = unicodedata.name(character, "a noncharacter" if regex.match(r"\p{Noncharacter_Code_Point}", character) else "a control character")
                position = cluster.start() + offset + 1
                msg = f"must be visible text: character {position} is U+{ord(character):04X} ({named}), which no one sees"
                raise PydanticCustomError("visible_text", msg)
    return value


one_visible_line = AfterValidator(_one_visible_line)
"""The rule of :data:`Text` for another one-line type (a number, an item's name): line breaks made spaces, 422 ``visible_text``."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), one_visible_line]
"""One line of visible text, 1-200 characters, trimmed: names, titles, offices (line breaks become spaces; letters
composed, Unicode NFC, so that partners and exports get one spelling of a name; invisible characters are refused,
422 ``visible_text``)."""



def _single_spaced(value: str) -> str:
    """A name with each run of spaces (a double space typed in a spreadsheet, a no-break space pasted) made one space."""
    return " ".join(value.split())


_SPACE_RUNS = regex.compile(r"[\p{Zs}\t\n\r\v\f\x85\u2028\u2029]{2,}")
"""Two or more spaces, no-break spaces, tabs or line breaks in a row: one space in a name."""


def _runs_made_one_before_measured(value: object) -> object:
    """A name's runs of spaces made one, and its letters composed (Unicode NFC), before its length is checked: a
    spreadsheet cell padded past 200 characters with spaces is the name it reads as, and so is one whose accents were
    typed as separate combining marks (invisible characters are left for :data:`Text` to refuse)."""
    return _SPACE_RUNS.sub(" ", unicodedata.normalize("NFC", value)) if isinstance(value, str) else value


single_spaced = AfterValidator(_single_spaced)
"""For a one-line text published as a name that is no :data:`Name` (another length): its runs of spaces made one."""

Name = Annotated[Text, BeforeValidator(_runs_made_one_before_measured), single_spaced]
"""A name as it is published (an OSV's, a person's): a :data:`Text` whose runs of spaces are made one space and whose
letters are composed, Unicode NFC (before its 1-200 characters are counted); its case is kept as given
("ASOCIACIÓN  DE VECINOS" is "ASOCIACIÓN DE VECINOS")."""


def as_text_reads(value: str) -> str:
    """``value`` as :data:`Text` reads (and the service stores) it, once accepted: trimmed, its line breaks and tabs made
    spaces, its letters composed. For a client to compare two answers as the API will (the import: two rows of one
    submission, tester 171 F3); refuses nothing (:data:`Text`'s rules are the API's)."""
    return unicodedata.normalize("NFC", _LINE_BREAKS.sub(" ", value.strip()).strip())


def as_name_reads(value: str) -> str:
    """``value`` as :data:`Name` reads (and the service stores) it, once accepted: :func:`as_text_reads`, with its runs of
    spaces made one ("  Asociación   Hermanos " is "Asociación Hermanos")."""
    return _single_spaced(as_text_reads(str(_runs_made_one_before_measured(value))))


def _refusal(error: RuleViolationError) -> PydanticCustomError:
    """The domain's refusal as pydantic's, at the field being read: its rule and message."""
    return PydanticCustomError(error.rule or "invalid", error.message)


def domain_rule(check: Callable[..., object], *given: str, none_too: bool = False) -> AfterValidator:
    """A field checked by the domain's own pure rule (``check`` raises a :class:`~shared.errors.RuleViolationError`)
    while the request is read, so that one 422 lists it with every other field's problem instead of after them; the value
    is left as given (the domain checks and normalises it again). None is not checked, unless ``none_too`` (a rule that
    may require the field: put the validator on the whole ``X | None`` and give the field ``validate_default=True``).

    ``check(value, *others)``: ``given`` names fields declared before this one that the rule takes too (a cross-field
    rule: a document's number by its type); it runs only once each of them passed. Not for a pair of dates: a date's own
    rules (today, the earliest date) are the application's, so a rule of two dates read here would name the wrong one
    when the other is the typo (a meeting dated 2031 would be told its actions are due before it). The 422 names the
    field being read and the rule the domain's error names. Not for a list's rows: :func:`list_rules`."""

    def run(value: Any, info: ValidationInfo) -> Any:
        data = info.data or {}  # None when a field is read alone (a refused list row's, :func:`_partly_read`)
        if (value is None and not none_too) or any(name not in data for name in given):
            return value
        try:
            check(value, *(data[name] for name in given))
        except RuleViolationError as error:
            raise _refusal(error) from None
        return value

    return AfterValidator(run)


# A list's rules: every row's mistakes in the one 422 ----------------------------------------------

_found: ContextVar[list[InitErrorDetails] | None] = ContextVar("mistakes_found_in_lists", default=None)
"""The mistakes :func:`list_rules` found in the :class:`Command` being read, for it to report with pydantic's."""
_rows_read: ContextVar[dict[str, list[Any]] | None] = ContextVar("rows_read_in_lists", default=None)
"""The rows :func:`list_rules` read of each list of the :class:`Command` being read, those of a list pydantic refused
included (as far as they were read): a later list's rules given it (``unread_as_none``) judge them."""


def list_rules(mistakes: Callable[..., Iterable[RuleViolationError]], *given: str, unread_as_none: bool = False) -> ListRules:
    """A list checked by the domain's rules of its rows while the request is read: every mistake of every row comes in
    the one 422, each at the row's field the domain names (``needs.1.members_affected``, ``outputs.2.kind``), with the
    rows' own mistakes (a priority not on the list, a count not a number) and the body's other fields'.

    ``mistakes(rows, *others)`` is the domain's, yielding each :class:`~shared.errors.RuleViolationError` it finds
    (:func:`shared.errors.raise_first` makes the domain's check of it); ``rows`` is the list as read. A row its own rules
    refused (pydantic reports those) is given as far as it was read: a :class:`~shared.errors.PartlyRead` holding each
    field that passed its own rules (a rubric row whose weight is "30%" still has its code, for the list's rules to
    count), None for a row of which nothing was (not an object, a list of ids or codes). The domain reads every row's
    fields with :func:`~shared.errors.field_of` and judges what it can. ``given`` names fields declared before this one
    that the rules take too; they run only once each of them passed, or, ``unread_as_none``, with one that did not given
    as its rows were read (a list with its own :func:`list_rules`), else None: a rule across lists says its mistake even
    when the other list's rows have their own. Put it first among the list's validators
    (``Annotated[list[Row], list_rules(...), domain_rule(...)]``): it reads the rows, and a rule of the whole list after it
    runs once every row is read.

    pydantic runs a list's validators only once every row passed, and a validator raises one error, at the field it
    reads (pydantic's docs: a ``ValueError`` or a ``PydanticCustomError``, never a ``ValidationError`` of its own). So
    this wrap validator reads the rows itself when some fail (each readable one alone, each field of a refused one
    alone), raises pydantic's own error again as it was, and leaves the mistakes it finds, each with its place, for
    :class:`Command`'s wrap model validator, which raises them with pydantic's errors in one
    :class:`~pydantic_core.ValidationError` (``ValidationError.from_exception_data``). Read outside a :class:`Command`,
    the first mistake is reported at the list."""
    return ListRules(mistakes, given, unread_as_none)


@dataclass(frozen=True)
class ListRules:
    """:func:`list_rules`' validator: a wrap validator that knows the type of the list's rows, to read a refused row field
    by field."""

    mistakes: Callable[..., Iterable[RuleViolationError]]
    given: tuple[str, ...]
    unread_as_none: bool = False

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        row = next(iter(get_args(source)), None)
        model = row if isinstance(row, type) and issubclass(row, BaseModel) else None
        return WrapValidator(self._run_on(model)).__get_pydantic_core_schema__(source, handler)

    def _run_on(self, model: type[BaseModel] | None) -> Callable[[Any, ValidatorFunctionWrapHandler, ValidationInfo], Any]:
        def run(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
            try:
                rows, refused = handler(value), None
            except ValidationError as error:
                rows, refused = _readable_rows(value, handler, error, model), error
                if rows is None:  # the list itself is wrong (not a list, too long): its rows wait
                    raise
            read = _rows_read.get()
            if read is not None and info.field_name:
                read[info.field_name] = rows
            if self.unread_as_none or all(name in info.data for name in self.given):
                others = (info.data[name] if name in info.data else (read or {}).get(name) for name in self.given)
                found = list(self.mistakes(rows, *others))
                collected = _found.get()
                if collected is not None:
                    collected.extend(_at_place(mistake, info.field_name or "") for mistake in found)
                elif found and refused is None:
                    raise _refusal(found[0])
            if refused is not None:
                raise refused
            return rows

        return run


def _readable_rows(value: Any, handler: ValidatorFunctionWrapHandler, error: ValidationError, model: type[BaseModel] | None) -> list[Any] | None:
    """The rows of a list pydantic refused, each as read: a row its own rules refused as far as it was read
    (:func:`_partly_read`); None if the list itself was refused (not a list, too many rows)."""
    places = [e["loc"] for e in error.errors()]
    if not isinstance(value, list | tuple) or any(not place or not isinstance(place[0], int) for place in places):
        return None
    refused: dict[int, set[Any]] = {}
    for place in places:
        refused.setdefault(place[0], set()).update(place[1:2])
    rows: list[Any] = []
    for index, row in enumerate(value):
        if index in refused:
            rows.append(_partly_read(model, row, refused[index]))
            continue
        try:
            rows.append(handler([row])[0])
        except ValidationError:
            rows.append(None)
    return rows


def _partly_read(model: type[BaseModel] | None, row: Any, refused: set[Any]) -> PartlyRead | None:
    """What a refused row's fields are, each read alone by its own rules, those pydantic refused (``refused``) left out;
    None when the rows are not objects (ids, codes) or this one is not."""
    if model is None or not isinstance(row, Mapping):
        return None
    fields: dict[str, Any] = {}
    reading, rows = _found.set(None), _rows_read.set(None)  # a list inside the row reports its own first mistake, which leaves the field unread
    try:
        for name, field in model.model_fields.items():
            key = field.alias or name
            if key in refused:
                continue
            if key not in row:
                if not field.is_required():
                    fields[name] = field.get_default(call_default_factory=True, validated_data={})
                continue
            try:
                fields[name] = _field_reader(model, name).validate_python(row[key])
            except ValidationError:
                continue
    finally:
        _found.reset(reading)
        _rows_read.reset(rows)
    return PartlyRead(fields)


@cache
def _field_reader(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    """A validator of one field of ``model`` alone: its type and its own rules (constraints, validators)."""
    field = model.model_fields[name]
    return TypeAdapter(Annotated[field.annotation, field])


def _at_place(mistake: RuleViolationError, field: str) -> InitErrorDetails:
    """A list's mistake at the row's field the domain named (``needs.1.members_affected``), or at the list."""
    named = mistake.field if mistake.field and (mistake.field == field or mistake.field.startswith(f"{field}.")) else field
    place = tuple(int(part) if part.isdigit() else part for part in named.split("."))
    return InitErrorDetails(type=_refusal(mistake), loc=place, input=None)


def domain_rows(rows: Iterable[Any]) -> list[Any]:
    """The rows :func:`list_rules` read, each as the domain's (its ``to_domain()``); a refused row kept as it was read
    (a :class:`~shared.errors.PartlyRead`, or None)."""
    return [row.to_domain() if isinstance(row, BaseModel) else row for row in rows]


_serving: ContextVar[Any] = ContextVar("serving_application", default=None)


def read_for(application: Any) -> None:
    """Say which application the request being read is for: :func:`application_rule` asks it for its reference data.

    :func:`shared.web.application_of`, the dependency every route that runs a command takes, says it; FastAPI resolves
    a route's dependencies before it reads the body. Set in the request's own context, it ends with the request."""
    _serving.set(application)


def serving() -> Any:
    """The application the request being read is for (:func:`read_for`), None outside a request: for a route's rules of a
    body its schema refused (:func:`shared.problems.route_body_rules`), which read the store."""
    return _serving.get()


def read_or_none(reader: TypeAdapter[Any], given: object) -> Any:
    """``given`` as ``reader`` reads it (a ``TypeAdapter(UUID)``, of a date, of money), or None when it refuses it (its
    mistake is the schema's to say) or it is not given: how a route's rules (:func:`shared.problems.route_body_rules`)
    read the values of a body its schema refused."""
    try:
        return None if given is None else reader.validate_python(given)
    except ValidationError:
        return None


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
            raise _refusal(error) from None
        return value

    return AfterValidator(run)


Count = Annotated[int, Field(strict=True, le=MAX_COUNT)]
"""A count of people or things, a JSON integer (``true``, ``"5"`` or ``5.0`` is 422 ``int_type``: ``true`` was read as 1,
tester 36b F1), at most :data:`~shared.errors.MAX_COUNT` (422 ``at_most_max_count``, as the domain names it:
:func:`shared.problems.bound_rule`); the domain says 0 or 1 at least, by its rule."""


def _not_negative(value: int, info: ValidationInfo) -> int:
    try:
        check_not_negative(value, info.field_name or "value")
    except RuleViolationError as error:
        raise _refusal(error) from None
    return value


not_negative = AfterValidator(_not_negative)
"""0 or more: 422 ``not_negative``, the name the domain gives the rule (:func:`~shared.errors.check_not_negative`), in
every service, never pydantic's ``greater_than_equal`` (``Field(ge=0)``) for the same rule. For a count, :data:`NotNegativeCount`."""

NotNegativeCount = Annotated[Count, not_negative, Field(json_schema_extra={"minimum": 0})]
"""A count that may be 0 (people reached indirectly, others present): 0 to :data:`~shared.errors.MAX_COUNT`, 422
``not_negative`` below 0."""

MAX_ROWS = 100
"""The most rows a list in a command may hold, unless its own rule says fewer (one per kind, per criterion…)."""

NOT_AFTER_DISSOLUTION = " Not after the OSV's dissolution (409 `osv_not_dissolved`); a fact dated on or before it is taken after it was recorded."
"""What an OSV fact's date field says of the OSV's dissolution, in funding's and engagement's OpenAPI descriptions."""


_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)
"""Digits 0-9 and a point: what Python's ``Decimal`` takes beyond it ("1e3", "1_000", "+100", " 100 ", "NaN", Arabic-Indic
or full-width digits) is refused. A minus passes, for the field's own rule to refuse with its words ("greater than 0")."""


def _json_kind(value: object) -> str:
    """What a JSON value other than a string is, in a refusal's words: "null", "true", "false", "a list", "an object", "a JSON number"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a JSON number"


def decimal_text_refusal(value: object, example: str) -> PydanticCustomError | None:
    """Why :func:`decimal_text` refuses ``value`` (422 ``decimal_text``, ``example`` in its message), or None when it takes
    it: the rule itself, for a value whose field is a decimal taken only as text by what else the request names (a target
    of a money indicator, :class:`services.reporting.schemas.TargetsUpdate`)."""
    if isinstance(value, Decimal):
        return None
    if not isinstance(value, str):
        return PydanticCustomError("decimal_text", f'must be a decimal string such as "{example}", not {_json_kind(value)}')
    if not _DECIMAL_TEXT.fullmatch(value):
        msg = f'must be written with the digits 0-9 and a point, such as "{example}" (no exponent, sign, spaces or separators)'
        return PydanticCustomError("decimal_text", msg)
    return None


def decimal_text(example: str) -> BeforeValidator:
    """A validator that takes a decimal as a string of digits 0-9 and a point (``example`` shows one in the error),
    never as a JSON number, an exponent, underscores, a sign other than minus, spaces or other scripts' digits
    (422 ``decimal_text``: :func:`decimal_text_refusal`)."""

    def only_text(value: object) -> object:
        if (refusal := decimal_text_refusal(value, example)) is not None:
            raise refusal
        return value

    return BeforeValidator(only_text)


def decimal_string(description: str, pattern: str = r"^\d+(\.\d+)?$") -> WithJsonSchema:
    """How a decimal taken only as text (:func:`decimal_text`) is documented: a string, never "number or string"."""
    return WithJsonSchema({"type": "string", "pattern": pattern, "description": description})


MONEY_PATTERN = r"^\d{1,12}(\.\d{1,2})?$"


def _to_the_cent(value: object) -> object:
    """An amount's text with more than 2 decimal places (zeros after them aside) is refused as the domain refuses it, 422
    ``whole_cents`` (:class:`shared.money.FractionOfCentError`), never pydantic's ``decimal_max_places``; a negative one
    is left for its own rule (``greater_than_0``)."""
    cents = value.partition(".")[2].rstrip("0") if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value) else ""
    if len(cents) > 2 and not str(value).startswith("-"):
        raise PydanticCustomError("whole_cents", f"must be to the cent: {value} has more than 2 decimal places")
    return value


MONEY_EXAMPLE = "1500.00"
"""The amount a refusal of money not written as a decimal string shows."""

Money = Annotated[
    Decimal,
    BeforeValidator(_to_the_cent),  # runs after decimal_text (before validators run from the last one up)
    decimal_text(MONEY_EXAMPLE),
    Field(gt=0, max_digits=14, decimal_places=2),
    decimal_string(
        "A positive amount (422 `greater_than_0`) as a decimal string to the cent (422 `whole_cents`), e.g. \"1500.00\"; a JSON "
        "number is refused (422 `decimal_text`).",
        MONEY_PATTERN,
    ),
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
    """Base of request bodies: unknown fields are an error, not silently dropped; every mistake the body shows by itself
    comes in one :class:`~pydantic_core.ValidationError`, its lists' rows' (:func:`list_rules`) with its fields', in the
    body's order."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _every_mistake(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        found: list[InitErrorDetails] = []
        reading, rows = _found.set(found), _rows_read.set({})
        try:
            read = handler(data)
        except ValidationError as error:
            if not found:
                raise
            raise ValidationError.from_exception_data(error.title, _in_body_order(cls, [*_details(error), *found])) from None
        finally:
            _found.reset(reading)
            _rows_read.reset(rows)
        found.extend(InitErrorDetails(type=refusal, loc=(field,), input=None) for field, refusal in read.field_mistakes())
        if found:
            raise ValidationError.from_exception_data(cls.__name__, _in_body_order(cls, found))
        return read

    def field_mistakes(self) -> Iterable[tuple[str, PydanticCustomError]]:
        """Mistakes of the body read whole, each said at the field it names (the one the body lacks, as pydantic's
        ``missing`` is) with the lists' in the one 422; none by default. A ``model_validator(mode="after")`` runs once
        this one has raised or returned, and says its mistake at the body."""
        return ()


def _details(error: ValidationError) -> list[InitErrorDetails]:
    """pydantic's errors as they were, to be raised again with others: each one's rule (its type), message, place and
    context (a bound's ``gt``, ``le``…, which :func:`shared.problems.bound_rule` names the rule by)."""
    return [
        InitErrorDetails(type=PydanticCustomError(e["type"], e["msg"], e.get("ctx")), loc=e["loc"], input=e["input"]) for e in error.errors()
    ]


def _in_body_order(model: type[BaseModel], errors: list[InitErrorDetails]) -> list[InitErrorDetails]:
    """``errors`` by the field they name, in the model's order (a field it lacks last), and by row within a list."""
    fields = list(model.model_fields)

    def place(error: InitErrorDetails) -> tuple[int, int]:
        loc = error.get("loc", ())
        field = fields.index(loc[0]) if loc and loc[0] in fields else len(fields)
        return field, loc[1] if len(loc) > 1 and isinstance(loc[1], int) else -1

    return sorted(errors, key=place)


# Moments: "as of" ------------------------------------------------------------------------------

EARLIEST_MOMENT = datetime(1970, 1, 1, tzinfo=UTC)
"""No event was recorded before this: an earlier ``as_of`` is a typing error."""
LATEST_MOMENT = datetime(9999, 12, 30, tzinfo=UTC)
"""Past this a moment cannot be moved between time zones."""

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(?P<offset>Z|z|[+-]\d{2}:\d{2})?", re.ASCII)
"""ASCII digits only: a full-width "２" is no digit of ISO 8601, so its text gets the shape's message (tester 136 F5)."""
_OFFSET_LOST_PLUS = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?) (\d{2}:\d{2})$", re.ASCII)


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
    try:
        datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:  # of the right shape, no moment: pydantic's words were its parser's ("unexpected extra characters"; tester 36c F6)
        msg = (f"{text} is no moment of the calendar: a day that exists, an hour from 00 to 23 and an offset within "
               "±23:59, such as 2021-12-31T23:59:59-05:00")
        raise PydanticCustomError("iso_8601_moment", msg) from None
    return text


def _within_bounds(moment: datetime) -> datetime:
    """The wall clock within the bounds (compared before any conversion, which could overflow), then, for a moment with an
    offset ahead of UTC, the moment itself not before :data:`EARLIEST_MOMENT`: 1970-01-01T00:00+14:00 was taken, and
    answered as of 1969-12-31T10:00Z (tester 192 F7)."""
    wall = moment.replace(tzinfo=None)
    msg = f"must be between {EARLIEST_MOMENT.date().isoformat()} and {LATEST_MOMENT.date().isoformat()}"
    if not EARLIEST_MOMENT.replace(tzinfo=None) <= wall <= LATEST_MOMENT.replace(tzinfo=None):
        raise PydanticCustomError("moment_within_bounds", msg)
    if moment.tzinfo is not None and (utc := moment.astimezone(UTC)) < EARLIEST_MOMENT:  # within the wall's bounds: no overflow
        said = utc.isoformat().replace("+00:00", "Z")
        raise PydanticCustomError("moment_within_bounds", f"{msg} in UTC: this moment is {said}, before 1970-01-01T00:00Z")
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
