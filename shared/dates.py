"""The one rule every date a command carries meets, whatever the service: plausible for the programme. Pure.

A date in the world (``mapped_on``, ``granted_on``, ``joined_on``,
``erased_on``…) is no earlier than the programme's earliest plausible date
(``<SERVICE>_EARLIEST_DATE``, 2000-01-01 by default: a registration, a
membership or a board may precede the programme, not the century), and no
later than today in Lima plus a day's margin (the day may already have begun
elsewhere, or an entry be made past midnight): what is recorded has happened.
A date that plans (an action's ``due_on``, a board's ``term_ends_on``, a
phase's ``ends_on``, a round's ``closes_on``) may lie ahead, up to
:data:`PLANNING_YEARS` years.

Each aggregate then checks that a date agrees with the facts it follows (a
grant not before its OSV was mapped, an erasure not before the person
joined, a phase's end not before its start): those rules need the facts and
live with them. Stricter rules stay where they are (a meeting or an
activity is never in the future, not even by the margin).

:func:`check_dates` applies the rule to a command's arguments by name, a
sequence's items and a dataclass's fields included, so that a date cannot
slip through a command nobody remembered to check.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from shared.errors import DateInFutureError, DomainError, RuleViolationError, raise_first

EARLIEST_DATE = date(2000, 1, 1)
"""The default earliest plausible date of any fact the programme records."""

MARGIN_DAYS = 1
"""How far past today in Lima a fact that has happened may be dated."""

PLANNING_YEARS = 10
"""How far ahead a date that plans may lie."""

PLANNED_FIELDS = frozenset(
    {"due_on", "term_ends_on", "board_term_ends_on", "ends_on", "starts_on", "opens_on", "closes_on", "amend_by"}
)
"""The dates that plan rather than record: they may lie in the future."""

PLANNED_DATES_ATTRIBUTE = "__planned_dates__"
TOLD_WITH_ATTRIBUTE = "__dates_told_with__"
F = TypeVar("F", bound=Callable[..., Any])
P = ParamSpec("P")
R = TypeVar("R")


def plans(*names: str) -> Callable[[F], F]:
    """Mark a command's date arguments ``names`` as plans, which may lie in the future (up to :data:`PLANNING_YEARS`
    ahead), where their names alone would make them facts: a día no laborable is decreed weeks or months ahead, and
    its ``day`` (a name too plain for :data:`PLANNED_FIELDS`) was refused as in the future until the day before. Put
    it under the command's other decorators (``@retried_on_collision``), which read it."""

    def mark(command: F) -> F:
        setattr(command, PLANNED_DATES_ATTRIBUTE, frozenset(names))
        return command

    return mark


def dates_told_with(mistakes: Callable[..., Iterable[RuleViolationError]]) -> Callable[[F], F]:
    """Mark a command whose date-rule refusal comes in one 422 with ``mistakes(*its arguments)``: the body's other
    mistakes, found as the command finds them, reading only. The rule is checked before the command runs
    (:func:`check_command_dates`), and its refusal was told alone: a scoring dated 2099 with a score of 11 was told the
    date, then the score (tester 212 F7). A 404 or a 409 ``mistakes`` meets is not told: the date's 422 stands, as
    before. Put it under the command's other decorators (``@retried_on_collision``), which read it."""

    def mark(command: F) -> F:
        setattr(command, TOLD_WITH_ATTRIBUTE, mistakes)
        return command

    return mark


def _told_with(mistakes: Callable[..., Iterable[RuleViolationError]], args: Any, kwargs: Any) -> list[RuleViolationError]:
    """What ``mistakes`` finds of the command's arguments, its refusals' ``also`` too; none if it meets another refusal."""
    try:
        found = list(mistakes(*args, **kwargs))
    except RuleViolationError as refusal:
        found = [refusal]
    except DomainError:
        return []
    return [each for refusal in found for each in (refusal, *refusal.also) if isinstance(each, RuleViolationError)]


class DateBeforeProgrammeError(RuleViolationError):
    def __init__(self, field: str, day: date, earliest: date) -> None:
        super().__init__(
            f"{field} {day.isoformat()} is before {earliest.isoformat()}, the earliest date the programme records",
            field=field,
            rule="not_before_earliest_date",
        )


class DateTooFarAheadError(RuleViolationError):
    def __init__(self, field: str, day: date, latest: date) -> None:
        super().__init__(
            f"{field} {day.isoformat()} is after {latest.isoformat()}: plans reach {PLANNING_YEARS} years ahead at most",
            field=field,
            rule="within_planning_horizon",
        )


@dataclass(frozen=True)
class DateRule:
    """The days a command's dates may carry, as of ``today`` in Lima."""

    today: date
    earliest: date = EARLIEST_DATE
    margin_days: int = MARGIN_DAYS

    @property
    def latest_fact(self) -> date:
        return self.today + timedelta(days=self.margin_days)

    @property
    def latest_plan(self) -> date:
        """The same day :data:`PLANNING_YEARS` years after ``today`` (a 29 February's: the 28th), as the 422 says; it was
        ``today`` plus 366 days a year, a week beyond (tester 171 F5)."""
        try:
            return self.today.replace(year=self.today.year + PLANNING_YEARS)
        except ValueError:  # 29 February, in a year that has none
            return self.today.replace(year=self.today.year + PLANNING_YEARS, day=28)

    def check(self, day: date, field: str, *, planned: bool = False) -> None:
        """``day`` is plausible for ``field``: a fact that happened, or (by its name, or ``planned``: :func:`plans`) a plan."""
        if day < self.earliest:
            raise DateBeforeProgrammeError(field, day, self.earliest)
        if planned or _leaf(field) in PLANNED_FIELDS:
            if day > self.latest_plan:
                raise DateTooFarAheadError(field, day, self.latest_plan)
        elif day > self.latest_fact:
            raise DateInFutureError(field, day, self.today, self.latest_fact)


def _leaf(field: str) -> str:
    return field.rsplit(".", 1)[-1]


def dates_in(value: Any, field: str) -> Iterator[tuple[str, date]]:
    """Every date in ``value``, named as a command's error names it (``action_items.0.due_on``).

    A ``datetime`` is a moment (when something was recorded or signed, a
    report's cut), not the calendar date of a fact: it has rules of its own.
    """
    if isinstance(value, datetime):
        return
    if isinstance(value, date):
        yield field, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from dates_in(getattr(value, item.name), f"{field}.{item.name}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from dates_in(item, f"{field}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from dates_in(item, f"{field}.{index}")


def check_dates(rule: DateRule, arguments: Mapping[str, Any]) -> None:
    """Every date among a command's ``arguments`` (by parameter name) meets ``rule``."""
    for name, value in arguments.items():
        for field, day in dates_in(value, name):
            rule.check(day, field)


# A command's arguments ---------------------------------------------------------------------------


def positional_names(signature: inspect.Signature) -> tuple[str, ...] | None:
    """The names a call's positional arguments bind to, in order; None when the signature takes ``*args`` or ``**kwargs``."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    if any(p.kind not in kinds for p in signature.parameters.values()):
        return None
    return tuple(p.name for p in signature.parameters.values() if p.kind is not inspect.Parameter.KEYWORD_ONLY)


def _arguments(signature: inspect.Signature, positional: tuple[str, ...] | None, args: Any, kwargs: Any) -> Any:
    """The call's arguments by parameter name, as ``signature.bind`` gives them (defaults left out).

    For a plain signature the names are paired directly (``bind`` cost about 0.1 ms of every command);
    a call ``bind`` would refuse is refused by the command itself when it runs.
    """
    if positional is None or len(args) > len(positional):
        return signature.bind(*args, **kwargs).arguments
    return {**dict(zip(positional, args)), **kwargs}


def check_command_dates(
    command: Callable[..., Any], signature: inspect.Signature, args: Any, kwargs: Any, positional: tuple[str, ...] | None = None
) -> None:
    """Every date among the command's arguments meets its application's :class:`DateRule` (``application.date_rule()``, the first argument's).

    Every date refused comes in one 422, with the command's other mistakes where it says how to find them
    (:func:`dates_told_with`)."""
    application = args[0] if args else None
    date_rule = getattr(application, "date_rule", None)
    if date_rule is None:
        return
    arguments = _arguments(signature, positional if positional is not None else positional_names(signature), args, kwargs)
    dated = [(field, day) for name, value in arguments.items() if name != "self" for field, day in dates_in(value, name)]
    if dated:  # a command without dates (a read that logs, a redaction) never reads the clock
        rule, planned = date_rule(), getattr(command, PLANNED_DATES_ATTRIBUTE, frozenset())
        refusals: list[RuleViolationError] = []
        for field, day in dated:
            try:
                rule.check(day, field, planned=field in planned)
            except RuleViolationError as refusal:
                refusals.append(refusal)
        if refusals and (mistakes := getattr(command, TOLD_WITH_ATTRIBUTE, None)) is not None:
            told = {(r.field, r.rule) for r in refusals}
            refusals += [m for m in _told_with(mistakes, args, kwargs) if (m.field, m.rule) not in told]
        raise_first(refusals)


def checked_dates(command: Callable[P, R]) -> Callable[P, R]:
    """A command whose dates meet the one date rule (:mod:`shared.dates`) before it runs; a refused one writes nothing (a command that is :func:`~shared.store.retried_on_collision` is checked already)."""
    signature = inspect.signature(command)
    positional = positional_names(signature)

    @functools.wraps(command)
    def checking(*args: P.args, **kwargs: P.kwargs) -> R:
        check_command_dates(command, signature, args, kwargs, positional)
        return command(*args, **kwargs)

    return checking
