"""Named errors the domains raise, and the generic rules every service checks; the web layer maps each family to one status.

Pure Python: domain modules import these without pulling in any framework.
A rule that more than one domain checks (a positive number, a count of at
least one, a date not before another, a decision taken once) has one error
here, with one rule code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any


class DomainError(Exception):
    """Base of every business-rule error. ``field`` names the input at fault, if any; ``also``, the other inputs at fault
    found by the same check (:func:`raise_first`), each listed in the problem's ``errors[]`` after this one."""

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule
        self.also: tuple[DomainError, ...] = ()


class NotFoundError(DomainError):
    """The thing named does not exist (404), or is outside the caller's scope (told apart from neither); ``field`` names
    the id (the path's ``member_id``…) and ``rule`` says it names none known (``known_member``)."""


class ForbiddenError(DomainError):
    """The caller reads the record but this step is another's to take (403): a focal point and another municipality's
    RUOS. Not for a record outside the caller's scope, which is 404 as one that does not exist."""


class ConflictError(DomainError):
    """The command contradicts the current state (409): twice, too late, already done."""


class RuleViolationError(DomainError):
    """The input breaks a business rule (422)."""


class PreconditionFailedError(DomainError):
    """The record changed since the caller read it (412): its ``If-Match`` names an earlier version
    (:mod:`shared.preconditions`). ``current_version`` (in ``extensions`` too) is the version it is at now."""

    def __init__(self, message: str, *, current_version: int) -> None:
        super().__init__(message, field="If-Match", rule="current_version")
        self.current_version = current_version
        self.extensions = {"current_version": current_version}


LAG_RETRY_AFTER_SECONDS = 1
"""``Retry-After`` (seconds) of a :class:`LagRefusal`: another service's event reaches this one's local view
within about a second while NATS is up (later only while it is down, when the view reads the source's feed)."""


class LagRefusal(DomainError):
    """A refusal naming a record another service made that this one has not heard of yet: it clears up by itself.

    Funding and engagement learn of OSVs (and engagement of grants) from registry's (funding's) events,
    so right after the record is made a request naming it is refused for the second or so its event
    takes to arrive: a command with a 422 (:class:`NotHeardOfYetError`), a read with a 404
    (:class:`NotKnownYetError`). The answer carries ``Retry-After:`` :attr:`retry_after` (seconds): the
    same request (a command with the same ``Idempotency-Key``) sent again after it is answered once the
    event has arrived. A wrong id gets the same answer for ever: a client retries a bounded number of times.
    The status is the other base's; the web layer adds the header (:mod:`shared.problems`).
    """

    retry_after: int = LAG_RETRY_AFTER_SECONDS


def not_known_yet(named: str, service: str, made: str) -> str:
    """A :class:`LagRefusal`'s message: ``named`` (``OSV <id>``) is not known to ``service``; ``made`` (``an OSV mapped``)
    a moment ago is known within seconds."""
    return f"{named} is not known to {service}: check the id; {made} a moment ago is known within seconds (retry after Retry-After)"


class NotHeardOfYetError(LagRefusal, RuleViolationError):
    """A 422 about a record another service made that this one has not heard of yet, with ``Retry-After`` (:class:`LagRefusal`)."""


class NotKnownYetError(LagRefusal, NotFoundError):
    """A 404 for a read about a record another service made that this one has not heard of yet, with ``Retry-After`` (:class:`LagRefusal`)."""


class UnavailableError(DomainError):
    """A request this service cannot answer just now, through no fault of the request: 503 with ``Retry-After:``
    :attr:`retry_after` (seconds), the rule in the problem's ``rule`` member (:attr:`extensions`)."""

    retry_after: int = 5
    extensions: dict[str, Any] | None = None


MISCONFIGURED_RETRY_AFTER_SECONDS = 60
"""``Retry-After`` (seconds) of a :class:`MisconfiguredError`: an operator changes a setting and restarts the service."""


class MisconfiguredError(UnavailableError):
    """A request the service cannot carry out with its settings, through no fault of the request (503, with ``Retry-After``).

    Its settings lack what a record it holds needs (a district its OSV is in, for one): the same request is taken
    once an operator has fixed the setting and restarted the service. The message names the setting.
    """

    retry_after: int = MISCONFIGURED_RETRY_AFTER_SECONDS


class StartupRefusedError(Exception):
    """A service will not start with its settings as they are: the message says what is wrong and which setting fixes it.

    Raised while the service's lifespan builds its application; :class:`shared.web.Runtime` logs the message as one
    error line and the process ends (uvicorn exits with code 3), instead of serving records it cannot place.
    """


class StartupWaitsError(Exception):
    """A service cannot start yet, and can once something outside it has ended (a rebuild of reporting's read model):
    the message says what it waits for. :func:`shared.web.wait_for_database` logs it once, as a warning, and tries
    again every :data:`shared.web.WAIT_SECONDS` until it can, or the service is asked to stop."""


# Rules more than one domain checks --------------------------------------------


class DateBeforeError(RuleViolationError):
    """A date that would make a record's history go backwards: ``field`` is before ``earlier_field``."""

    def __init__(self, field: str, given: date, earlier_field: str, earlier: date, earlier_said: str | None = None) -> None:
        """``earlier_said``: how the message names the earlier date when ``earlier_field`` is no field the caller sends or
        reads (``previous_tranche``: "the previous tranche's disbursed_on"); the rule keeps ``earlier_field``."""
        super().__init__(
            f"{field} {given.isoformat()} is before {earlier_said or earlier_field} {earlier.isoformat()}",
            field=field,
            rule=f"not_before_{earlier_field}",
        )


class DateInFutureError(RuleViolationError):
    """A date after today in Lima, for something that has to have happened already."""

    def __init__(self, field: str, day: date, today: date, latest: date | None = None) -> None:
        """``latest``: the last day taken, when a margin past ``today`` is allowed (:class:`shared.dates.DateRule`)."""
        limit = (
            f"is after today ({today.isoformat()} in Lima)" if latest is None or latest <= today
            else f"is after {latest.isoformat()} (today in Lima is {today.isoformat()}; a day's margin is taken for an entry made "
            "past midnight or where the day has already begun)"
        )
        super().__init__(f"{field} {day.isoformat()} {limit}: record what has happened", field=field, rule="not_in_future")


class NotPositiveError(RuleViolationError):
    """A number that must be greater than 0: an amount, a weight, hours."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(f"{field} must be greater than 0, not {value}", field=field, rule="greater_than_0")


class NegativeError(RuleViolationError):
    """A count that must be 0 or more."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(f"{field} must be 0 or more, not {value}", field=field, rule="not_negative")


class BelowOneError(RuleViolationError):
    """A count that must be at least 1: a quantity, an output, people assessed, a window of days."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(f"{field} must be at least 1, not {value}", field=field, rule="at_least_1")


MAX_COUNT = 10_000_000
"""More people (or things) than live in Lima Metropolitana: a count above it is a typing error, never a fact."""


class TooManyError(RuleViolationError):
    """A count above :data:`MAX_COUNT`."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(f"{field} must be at most {MAX_COUNT:,}, not {value}: more than live in Lima", field=field, rule="at_most_max_count")


class AlreadyDecidedError(ConflictError):
    """A decision (on a proposal, on a participatory-budget submission) is taken once: ``detail`` says which and when."""

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail, field=field, rule="decide_once")


class OSVDissolvedError(ConflictError):
    """The OSV dissolved: no service records anything new about it.

    With ``on`` (the fact's date, named ``dated``: registry, funding and
    engagement alike, see :func:`check_not_dissolved_by`), a fact dated after
    ``dissolved_on``; one dated on or before it (a backlog typed in from paper)
    is taken. Without it, a record that has no date of the OSV's life to judge
    by (registry's second dissolution, a merge). ``field`` names the OSV's id
    in the request (``osv_id``; a merge's ``duplicate_id``, said as ``which``).
    """

    def __init__(
        self, dissolved_on: date, *, on: date | None = None, dated: str | None = None, field: str = "osv_id", which: str = "this OSV"
    ) -> None:
        after = "" if on is None else f": {dated or 'the date'} {on.isoformat()} is after its dissolution"
        super().__init__(
            f"{which} was dissolved on {dissolved_on.isoformat()} and takes no new records{' dated after it' if on else ''}{after}",
            field=field,
            rule="osv_not_dissolved",
        )


def check_not_dissolved_by(dissolved_on: date | None, on: date, dated: str) -> None:
    """409 ``osv_not_dissolved`` for a fact dated ``on`` (field ``dated``) after ``dissolved_on``; the day itself is still the OSV's."""
    if dissolved_on is not None and on > dissolved_on:
        raise OSVDissolvedError(dissolved_on, on=on, dated=dated)


class OSVMergedError(ConflictError):
    """The OSV was recorded twice and merged into another: records go to the OSV it was merged into."""

    def __init__(
        self, into_osv_id: object, merged_on: date, *, field: str = "osv_id", which: str = "this OSV", now_in: object | None = None
    ) -> None:
        """``now_in``: where the organisation's records go now, when the OSV it was merged into was itself merged since
        (merges chain: A into B, then B into C); the message sends the caller there, not to B (tester 126 F5)."""
        there = "record it there" if now_in is None or now_in == into_osv_id else f"that OSV was merged since: record it in OSV {now_in}"
        super().__init__(
            f"{which} was merged into OSV {into_osv_id} on {merged_on.isoformat()} (the same organisation recorded twice): {there}",
            field=field,
            rule="osv_not_merged",
        )
        self.into_osv_id, self.merged_on, self.which, self.now_in = into_osv_id, merged_on, which, now_in


# A list's rules: every mistake, each naming its row ------------------------------------------
#
# A rule over a list's rows (each row's count, no row twice) is written once, as the mistakes it finds, each naming
# its row's field (``needs.1.members_affected``). The domain raises the first of them (:func:`raise_first`); the API
# reports them all in one 422 (:func:`shared.schemas.list_rules`), with the rows' own mistakes. A row the API refused
# (its own mistakes are reported already) comes as far as it was read: a :class:`PartlyRead` with the fields its own
# rules took (a rubric row whose weight is "30%" still has its code), None when nothing of it was (not an object, an
# id that is none). The rules read every row's fields with :func:`field_of` and judge what they can: a code read still
# counts for repeats and for the capacity criteria; a rule of the whole list that an unread field may meet waits until
# it is read.


class PartlyRead:
    """A list's row the API refused, as far as it read it: the fields its own rules took, by the names the API gives
    them (which the domain's rows share: ``code``, ``weight``, ``kind``); its refused fields' mistakes are reported
    already."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields = dict(fields)

    def __repr__(self) -> str:
        return f"PartlyRead({self.fields!r})"


def field_of(row: object, name: str) -> Any:
    """A field of a list's row as read: a whole row's own, a :class:`PartlyRead` row's if it was read, else None (a
    row given as None was not read at all)."""
    if row is None:
        return None
    if isinstance(row, PartlyRead):
        return row.fields.get(name)
    return getattr(row, name)


def refused(check: Callable[..., object], *arguments: object) -> Iterator[RuleViolationError]:
    """The refusal of ``check(*arguments)``, if it refuses: a rule of one value, as one of a list's mistakes."""
    try:
        check(*arguments)
    except RuleViolationError as refusal:
        yield refusal


def raise_first(mistakes: Iterable[RuleViolationError]) -> None:
    """Raise the first of ``mistakes``, if there is one, the others in its ``also``: a domain's check of a list, by the
    rules that find them all, so that one answer names every entry at fault (a meeting's unknown attendees were named one
    answer at a time, tester 165 F4)."""
    first, *others = list(mistakes) or [None]
    if first is not None:
        first.also = tuple(others)
        raise first


def check_positive(value: object, field: str) -> None:
    if value <= 0:  # type: ignore[operator]
        raise NotPositiveError(field, value)


def check_not_negative(value: int, field: str) -> None:
    """A count from 0 to :data:`MAX_COUNT`."""
    if value < 0:
        raise NegativeError(field, value)
    if value > MAX_COUNT:
        raise TooManyError(field, value)


def check_at_least_one(value: int, field: str) -> None:
    """A count from 1 to :data:`MAX_COUNT`."""
    if value < 1:
        raise BelowOneError(field, value)
    if value > MAX_COUNT:
        raise TooManyError(field, value)


def check_not_before(field: str, on: date, earlier_field: str, earlier: date | None, earlier_said: str | None = None) -> None:
    """``on`` is not before ``earlier`` (nothing to check when there is no earlier date); ``earlier_said``: as
    :class:`DateBeforeError` takes it."""
    if earlier is not None and on < earlier:
        raise DateBeforeError(field, on, earlier_field, earlier, earlier_said)


def check_not_in_future(day: date, today: date, field: str) -> None:
    if day > today:
        raise DateInFutureError(field, day, today)


class MomentInFutureError(RuleViolationError):
    """A moment to answer "as of" that has not come yet: what will be recorded by then is not known."""

    def __init__(self, field: str, moment: datetime, now: datetime, said: str | None = None, now_said: str | None = None) -> None:
        """``said``: the moment as its reader typed it (the dashboard form's ``08/12/2026``), named instead of ``moment``;
        ``now_said``: now, the same way (Lima's day and minute), instead of its ISO moment."""
        super().__init__(
            f"{field} {said or moment.isoformat()} is later than now ({now_said or now.isoformat(timespec='seconds')}): figures as of a moment to come "
            "would change as facts arrive",
            field=field,
            rule="not_in_future",
        )
