"""Funding's domain: the programme's phases, the unit indicators are reported by.

Pure: the aggregates, the events they record and the named errors of their rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.errors import ConflictError, NotFoundError, RuleViolationError


class PhaseCodeTakenError(ConflictError):
    """409 ``unique_code``: a phase holds the code (whatever its case); one withdrawn as entered in error holds it still
    (its id is made from it), and the message says so."""

    def __init__(self, code: str, taken: str | None = None, withdrawn: bool = False) -> None:
        same = "" if taken is None or taken == code else f" ('{code}' is it: codes compare without regard to case)"
        if withdrawn:
            super().__init__(
                f"the phase with code '{taken or code}' was withdrawn as entered in error{same}: its code stays taken (a phase's "
                "id is made from its code); open the phase under another code",
                field="code", rule="unique_code",
            )
            return
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


class PhaseWithdrawalReason(StrEnum):
    """Why a phase was withdrawn: it was entered in error, and no phase of the programme ever had it (:meth:`Phase.withdraw`)."""

    ENTERED_IN_ERROR = "entered_in_error"
    """Opened by mistake (a test, a slip): the programme has no such phase."""
    DUPLICATE = "duplicate"
    """The same phase opened twice under two codes: the other stands."""
    WRONG_CODE = "wrong_code"
    """Opened under a code other than the programme's: open it again under its code."""
    WRONG_NAME = "wrong_name"
    """Opened with a name other than the programme's: open it again (under another code) with its name."""
    WRONG_DATES = "wrong_dates"
    """Opened with dates other than the phase's: open it again (under another code) with its dates."""


@dataclass(frozen=True)
class PhaseWithdrawal:
    reason: PhaseWithdrawalReason
    withdrawn_on: date
    noted: bool = False
    """Whether staff wrote a note on it (kept sealed in the event; redacted, it is still one)."""


class PhaseWithdrawnError(ConflictError):
    """409 ``phase_not_withdrawn`` (field ``phase_id``): the phase was withdrawn as entered in error; it takes no round, nor a second withdrawal."""

    def __init__(self, code: str, withdrawal: PhaseWithdrawal) -> None:
        super().__init__(
            f"phase '{code}' was withdrawn ({withdrawal.reason.value}) on {withdrawal.withdrawn_on.isoformat()}: it was entered "
            "in error and takes nothing more",
            field="phase_id",
            rule="phase_not_withdrawn",
        )


class PhaseHoldsRoundsError(ConflictError):
    """409 ``phase_without_rounds`` (field ``phase_id``): a funding round was opened in the phase. A round is never withdrawn
    (it is closed, and its proposals, scores and grants stay), so the phase it names is not withdrawn either."""

    def __init__(self, code: str, rounds: list[str]) -> None:
        named = ", ".join(f"'{r}'" for r in rounds)
        super().__init__(
            f"the funding round(s) {named} were opened in phase '{code}': a round is not withdrawn (it is closed, and what "
            "was decided in it stays), so the phase it belongs to is not withdrawn either",
            field="phase_id",
            rule="phase_without_rounds",
        )


class NoPhaseWithdrawalNoteError(ConflictError):
    """409 ``withdrawal_note`` (field ``phase_id``): a phase not withdrawn, or withdrawn without a note, has none to forget."""

    def __init__(self, *, withdrawn: bool) -> None:
        why = "its withdrawal was recorded without a note" if withdrawn else "this phase was not withdrawn: it has no withdrawal note"
        super().__init__(f"{why}: there is nothing to forget", field="phase_id", rule="withdrawal_note")


class Phase(Aggregate):
    """A phase of the programme: the unit indicators are reported by.

    A phase entered in error (no round opened in it) is withdrawn (:meth:`withdraw`): it stays in funding's records,
    marked withdrawn, its code taken still; its dates are free for another phase, and reporting shows it no more.
    """

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

    @property
    def withdrawal(self) -> PhaseWithdrawal | None:
        """How and when the phase was withdrawn as entered in error; None for one never withdrawn."""
        return self.__dict__.get("withdrawn")

    @property
    def round_ids(self) -> list[UUID]:
        """The rounds opened in the phase since rounds were entered in it (:meth:`enter_round`); those opened before are
        found by their ``phase_id``."""
        return self.__dict__.get("rounds", [])

    def check_not_withdrawn(self) -> None:
        """409 ``phase_not_withdrawn`` for a phase withdrawn as entered in error."""
        if self.withdrawal is not None:
            raise PhaseWithdrawnError(self.code, self.withdrawal)

    def enter_round(self, round_id: UUID) -> None:
        """Note a round opened in the phase (409 ``phase_not_withdrawn`` for a withdrawn one), saved with the round: a
        withdrawal of the phase at the same moment conflicts with it in the store, and the one run again sees the other."""
        self.check_not_withdrawn()
        self._round_entered(round_id=round_id)

    @event("RoundEnteredInPhase")
    def _round_entered(self, round_id: UUID) -> None:
        self.rounds = [*self.round_ids, round_id]

    def withdraw(self, reason: PhaseWithdrawalReason, note: str | None, rounds: list[str], *, today: date) -> PhaseWithdrawal:
        """Take back a phase entered in error; it stays in funding's records, marked withdrawn.

        ``rounds``: the names of the funding rounds opened in it (409 ``phase_without_rounds`` for any); a phase
        withdrawn already is 409 ``phase_not_withdrawn``. ``today``: the day it is recorded (Lima), its
        ``withdrawn_on``. ``note``: staff's words on the mistake, or None (sealed, never published). The event repeats
        the phase's code, name and dates, so that a reader takes it back without reading the phase.
        """
        self.check_not_withdrawn()
        if rounds:
            raise PhaseHoldsRoundsError(self.code, rounds)
        self._withdrawn(
            code=self.code, name=self.name, starts_on=self.starts_on, ends_on=self.ends_on,
            reason=PhaseWithdrawalReason(reason), note=note, withdrawn_on=today,
        )
        assert self.withdrawal is not None
        return self.withdrawal

    @event("PhaseWithdrawn")
    def _withdrawn(
        self, code: str, name: str, starts_on: date, ends_on: date, reason: PhaseWithdrawalReason, note: str | None, withdrawn_on: date
    ) -> None:
        self.withdrawn = PhaseWithdrawal(PhaseWithdrawalReason(reason), withdrawn_on, noted=note is not None)

    def check_note_to_forget(self) -> None:
        """409 ``withdrawal_note``: a phase never withdrawn, or withdrawn without a note, has no note to forget. A note
        forgotten already is forgotten again: a retry of the redaction."""
        if self.withdrawal is None or not self.withdrawal.noted:
            raise NoPhaseWithdrawalNoteError(withdrawn=self.withdrawal is not None)


@dataclass(frozen=True)
class PhaseDates:
    """A phase as the calendar keeps it: its code and its dates."""

    code: str
    starts_on: date
    ends_on: date

    def overlaps(self, starts_on: date, ends_on: date) -> bool:
        return starts_on <= self.ends_on and self.starts_on <= ends_on


class PhaseCalendar(Aggregate):
    """Every phase's dates, in one record saved with each new phase and each phase withdrawn.

    Two phases opened at the same moment both change the calendar's version,
    so the second save is refused and its retry sees the first phase: the
    no-overlap rule holds under concurrency, not only one request at a time.
    A phase withdrawn leaves ``phases`` (its dates are free again) and its code
    stays in ``withdrawn_codes`` (taken still); a phase opened on its dates at
    the same moment conflicts with the withdrawal on the calendar's version,
    and the one run again sees the other.
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
        withdrawn = next((other for other in self.withdrawn_codes if phase_code_key(other) == key), None)
        if withdrawn is not None:
            raise PhaseCodeTakenError(code, withdrawn, withdrawn=True)
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

    @property
    def withdrawn_codes(self) -> list[str]:
        """The codes of the phases withdrawn as entered in error, in the order withdrawn: taken still, dated no more."""
        return self.__dict__.get("withdrawn", [])

    def withdraw_phase(self, code: str) -> None:
        """Forget the dates of the phase ``code`` (withdrawn as entered in error, :meth:`Phase.withdraw`): a phase may be
        opened on them; its code stays taken. Saved with the withdrawal."""
        if not any(p.code == code for p in self.phases):
            raise ValueError(f"the calendar dates no phase '{code}'")
        self._undated(code=code)

    @event("PhaseUndated")
    def _undated(self, code: str) -> None:
        self.phases = [p for p in self.phases if p.code != code]
        self.withdrawn = [*self.withdrawn_codes, code]


P = TypeVar("P", "Phase", "PhaseDates")


def phase_containing(on: date, phases: Iterable[P]) -> P | None:
    """The phase (or the calendar's dates of it) whose dates contain ``on``, or None."""
    return next((p for p in phases if p.starts_on <= on <= p.ends_on), None)
