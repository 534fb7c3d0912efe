"""The named errors of funding's grants and support histories (:mod:`services.funding.domain.grants`), which re-exports them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from shared.errors import ConflictError, NotFoundError, RuleViolationError

if TYPE_CHECKING:
    from services.funding.domain.grants import Closing, Disbursement, Grant, GrantKind, Support, Withdrawal


class GrantNotFoundError(NotFoundError):
    def __init__(self, grant_id: object) -> None:
        super().__init__(f"grant {grant_id} does not exist", field="grant_id", rule="known_grant")


class WrongGrantKindError(RuleViolationError):
    def __init__(self, grant: Grant, expected: GrantKind, what: str) -> None:
        super().__init__(
            f"{what} are recorded on a {expected.value} grant; this grant is {grant.kind.value}",
            field="grant_id",
            rule=f"{expected.value}_grant",
        )


class GrantClosedError(ConflictError):
    def __init__(self, closing: Closing) -> None:
        super().__init__(
            f"this grant was closed ({closing.outcome.value}) on {closing.closed_on.isoformat()} and takes no new records",
            field="grant_id",
            rule="grant_open",
        )


class ClosedBeforeEnrolmentError(ConflictError):
    """409 ``closed_after_enrolments``: a closing dated before the day engagement enrolled an agent of change in the grant's
    project (its ``ParticipantEnrolled``, as funding's view of them holds it). The message names that day, never the person;
    ``extensions`` holds it as ``last_enrolled_on``."""

    def __init__(self, closed_on: date, last_enrolled_on: date) -> None:
        super().__init__(
            f"closed_on {closed_on.isoformat()} is before {last_enrolled_on.isoformat()}, the day engagement enrolled an "
            "agent of change in this grant's project (its latest enrolment): that participation would end before it began "
            "and count in no phase of agents_of_change, where reporting holds it as engagement published it (engagement's "
            "own store may no longer show it, after a restore). Date the closing on or after "
            f"{last_enrolled_on.isoformat()} (the day itself is taken); engagement, the other way round, enrols no one after "
            "a closing (409 grant_open)",
            field="closed_on",
            rule="closed_after_enrolments",
        )
        self.extensions = {"last_enrolled_on": last_enrolled_on.isoformat()}


class ClosedBeforeActivityError(ConflictError):
    """409 ``closed_after_activities``: a closing dated before the day of an activity engagement holds in the grant's project
    (its ``ActivityReported`` naming the grant, not withdrawn, as funding's view of them holds it). The message names that
    day, never the activity's people; ``extensions`` holds it as ``last_held_on``."""

    def __init__(self, closed_on: date, last_held_on: date) -> None:
        super().__init__(
            f"closed_on {closed_on.isoformat()} is before {last_held_on.isoformat()}, the day of an activity of this grant's "
            "project as engagement published it (its latest one not withdrawn; reporting counts it, though engagement's own "
            "store may no longer hold it, after a restore): the project would have held it after its closing. Date the "
            f"closing on or after {last_held_on.isoformat()} (the day itself is taken), or, if the activity was reported by "
            "mistake and engagement still holds it, withdraw it there; engagement, the other way round, takes no activity of "
            "the project held after a closing (409 grant_open)",
            field="closed_on",
            rule="closed_after_activities",
        )
        self.extensions = {"last_held_on": last_held_on.isoformat()}


def check_closed_after_project_facts(closed_on: date, last_enrolled_on: date | None, last_held_on: date | None) -> None:
    """A grant's closing is dated on or after the latest enrolment (``last_enrolled_on``) and the latest standing activity
    (``last_held_on``) engagement holds in its project (None: none known). Else 409, naming the later of the two days a
    closing before it would come after, so that the day named is the one the closing must reach:
    :class:`ClosedBeforeEnrolmentError` (``closed_after_enrolments``) or :class:`ClosedBeforeActivityError`
    (``closed_after_activities``), the enrolment's on a tie."""
    enrolled, held = (day if day is not None and closed_on < day else None for day in (last_enrolled_on, last_held_on))
    if held is not None and (enrolled is None or held > enrolled):
        raise ClosedBeforeActivityError(closed_on, held)
    if enrolled is not None:
        raise ClosedBeforeEnrolmentError(closed_on, enrolled)


class NoWithdrawalNoteError(ConflictError):
    def __init__(self, *, withdrawn: bool) -> None:
        why = "its withdrawal was recorded without a note" if withdrawn else "this grant was not withdrawn: it has no withdrawal note"
        super().__init__(f"{why}: there is nothing to forget", field="grant_id", rule="withdrawal_note")


class GrantWithdrawnError(ConflictError):
    """409 ``grant_not_withdrawn``: the grant was withdrawn as entered in error, and takes no record, nor a second withdrawal."""

    def __init__(self, withdrawal: Withdrawal) -> None:
        super().__init__(
            f"this grant was withdrawn ({withdrawal.reason.value}) on {withdrawal.withdrawn_on.isoformat()}: it was entered in "
            "error and takes no new records",
            field="grant_id",
            rule="grant_not_withdrawn",
        )


class PaidOutError(ConflictError):
    """409 ``nothing_paid_out``: a grant with a tranche paid or goods handed over supported the OSV; it is not withdrawn."""

    def __init__(self, grant: Grant) -> None:
        what = (
            f"{len(grant.disbursements)} tranche(s) totalling {grant.disbursed} {grant.currency.value} were paid"
            if grant.disbursements
            else f"goods worth {grant.delivered} {grant.currency.value} were delivered"
        )
        super().__init__(
            f"{what} on this grant: money or goods that reached the OSV are not withdrawn. Close the grant instead "
            "(POST /grants/{grant_id}/closing, outcome `cancelled` or `partially_completed`), which keeps what was paid out "
            "in the figures",
            field="grant_id",
            rule="nothing_paid_out",
        )


class BeyondGrantAmountError(ConflictError):
    def __init__(self, grant: Grant, what: str, asked: Decimal, field: str) -> None:
        super().__init__(
            f"{what} of {asked} {grant.currency.value} would go beyond the grant's {grant.amount} {grant.currency.value}: "
            f"{grant.remaining} {grant.currency.value} remains",
            field=field,
            rule="within_grant_amount",
        )


class TrancheRecordedError(ConflictError):
    """A tranche recorded already, sent again (a resend after a timeout): 409 naming it, ``disbursement_id`` in
    ``extensions``; nothing is recorded (tester 233 F4: it was told its number was wrong, 422 ``next_tranche``)."""

    def __init__(self, recorded: Disbursement, currency: str, expected: int, paid_out: bool = False) -> None:
        after = "the grant is paid out: no tranche is left" if paid_out else f"tranche {expected} is the next"
        super().__init__(
            f"tranche {recorded.tranche} is recorded already ({recorded.amount} {currency} disbursed on "
            f"{recorded.disbursed_on.isoformat()}): nothing was recorded again; {after}",
            field="tranche",
            rule="tranche_once",
        )
        self.extensions = {"disbursement_id": str(recorded.disbursement_id)}


class NotNextTrancheError(RuleViolationError):
    def __init__(self, given: int, expected: int) -> None:
        super().__init__(
            f"tranches are numbered in order: tranche {expected} is next, not {given}", field="tranche", rule="next_tranche"
        )


class SupportChangedError(ConflictError):
    def __init__(self, marked: Support, now: Support) -> None:
        super().__init__(
            f"the grant was marked {marked.value} but the OSV's support history, as it now stands, makes it {now.value}: "
            "another grant to this OSV was recorded meanwhile; try again",
            field="osv_id",
            rule="support_history_unchanged",
        )


class NoItemsError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__("a delivery lists at least one item", field="items", rule="at_least_one_item")
