"""Funding's domain: the programme's phases, the unit indicators are reported by.

Pure: the aggregates, the events they record and the named errors of their rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.errors import ConflictError, NotFoundError, RuleViolationError


class PhaseCodeTakenError(ConflictError):
    def __init__(self, code: str, taken: str | None = None) -> None:
        same = "" if taken is None or taken == code else f" ('{code}' is it: codes compare without regard to case)"
        super().__init__(f"a phase with code '{taken or code}' already exists{same}", field="code", rule="unique_code")


def phase_code_key(code: str) -> str:
    """What two phase codes compare by: the code without regard to case or surrounding spaces (`F3`, `f3` and ` F3 ` are
    one code: tester 208 F4; the API strips the spaces already), and nothing else: `F3_2022` and `F3-2022` are two codes
    (a RUOS number folds its separators, a phase code does not; tester 212 F9). Reporting finds a phase a client names
    so too. A phase is
    shown, and its id made, by its code as opened. Phases a store holds from before, whose codes differ only by case, are
    kept and read as they were (each its own id and figures, a report's ``phase`` matching each exactly): only a new
    phase is refused so."""
    return code.strip().casefold()


class PhaseDatesError(RuleViolationError):
    def __init__(self, starts_on: date, ends_on: date) -> None:
        super().__init__(
            f"ends_on {ends_on.isoformat()} is before starts_on {starts_on.isoformat()}",
            field="ends_on",
            rule="not_before_starts_on",
        )


class PhasesOverlapError(RuleViolationError):
    def __init__(self, other: PhaseDates) -> None:
        super().__init__(
            f"the dates overlap phase '{other.code}' ({other.starts_on.isoformat()} to {other.ends_on.isoformat()})",
            field="starts_on",
            rule="phases_do_not_overlap",
        )


class PhaseNotFoundError(NotFoundError):
    """No phase has this id: 404 naming ``field`` (``phase_id``, or the list filter that names it), rule ``known_phase``."""

    def __init__(self, phase_id: object, field: str = "phase_id") -> None:
        super().__init__(f"phase {phase_id} does not exist", field=field, rule="known_phase")


class Phase(Aggregate):
    """A phase of the programme: the unit indicators are reported by."""

    @staticmethod
    def create_id(code: str, **_: object) -> UUID:
        return Phase.id_for(code)

    @staticmethod
    def id_for(code: str) -> UUID:
        """Phase ids follow from their codes, so a code can only be used once."""
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:phase:{code}")

    @event("PhaseOpened")
    def __init__(self, code: str, name: str, starts_on: date, ends_on: date) -> None:
        self.code = code
        self.name = name
        self.starts_on = starts_on
        self.ends_on = ends_on

    def overlaps(self, starts_on: date, ends_on: date) -> bool:
        return starts_on <= self.ends_on and self.starts_on <= ends_on


@dataclass(frozen=True)
class PhaseDates:
    """A phase as the calendar keeps it: its code and its dates."""

    code: str
    starts_on: date
    ends_on: date

    def overlaps(self, starts_on: date, ends_on: date) -> bool:
        return starts_on <= self.ends_on and self.starts_on <= ends_on


class PhaseCalendar(Aggregate):
    """Every phase's dates, in one record saved with each new phase.

    Two phases opened at the same moment both change the calendar's version,
    so the second save is refused and its retry sees the first phase: the
    no-overlap rule holds under concurrency, not only one request at a time.
    """

    FLAT_COPIED = ("phases",)
    """Hold only values that never change: copied for a command as they are (:func:`shared.kept.copy_kept`)."""

    @staticmethod
    def create_id() -> UUID:
        return PhaseCalendar.id_for()

    @staticmethod
    def id_for() -> UUID:
        return uuid5(NAMESPACE_URL, "urn:osv-platform:phase-calendar")

    @event("PhaseCalendarOpened")
    def __init__(self) -> None:
        self.phases: list[PhaseDates] = []

    def open_phase(self, code: str, name: str, starts_on: date, ends_on: date) -> Phase:
        """Open a phase if its dates are in order, its code is no other's (409 ``unique_code``, :func:`phase_code_key`) and
        its dates overlap no other phase's."""
        if ends_on < starts_on:
            raise PhaseDatesError(starts_on, ends_on)
        key = phase_code_key(code)
        for other in self.phases:
            if phase_code_key(other.code) == key:
                raise PhaseCodeTakenError(code, other.code)
            if other.overlaps(starts_on, ends_on):
                raise PhasesOverlapError(other)
        self._dated(code=code, starts_on=starts_on, ends_on=ends_on)
        return Phase(code=code, name=name, starts_on=starts_on, ends_on=ends_on)

    @event("PhaseDated")
    def _dated(self, code: str, starts_on: date, ends_on: date) -> None:
        self.phases.append(PhaseDates(code, starts_on, ends_on))


P = TypeVar("P", "Phase", "PhaseDates")


def phase_containing(on: date, phases: Iterable[P]) -> P | None:
    """The phase (or the calendar's dates of it) whose dates contain ``on``, or None."""
    return next((p for p in phases if p.starts_on <= on <= p.ends_on), None)
