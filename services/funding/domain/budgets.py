"""Funding's domain: OSVs' submissions to municipal participatory budgets (presupuesto participativo).

Each year a municipality (the MML or a district's) takes projects from the
social organisations on its RUOS; the programme records which OSVs it helped
submit one, and what the municipality decided: a way to public money that
outlives the programme's own funds.

Pure: the aggregate, its events and the named errors of its rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.dates import PLANNING_YEARS
from shared.errors import AlreadyDecidedError, ConflictError, NotFoundError, RuleViolationError, check_not_before
from shared.money import Currency, check_money
from shared.municipalities import MunicipalityTable

FIRST_CYCLE_YEAR = 2000
LAST_CYCLE_YEAR = 2100
CYCLE_YEARS_BEHIND = 1
"""How many years before the submission's a cycle may be: a submission is for its own year's cycle or a later one (the
process runs the year before the budget year it is for), and one year back is taken for one recorded late."""


class BudgetOutcome(StrEnum):
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    FUNDED = "funded"


class CycleYearError(RuleViolationError):
    def __init__(self, cycle_year: int) -> None:
        super().__init__(
            f"cycle_year must be between {FIRST_CYCLE_YEAR} and {LAST_CYCLE_YEAR}, not {cycle_year}",
            field="cycle_year",
            rule="cycle_year_range",
        )


class CycleTooFarAheadError(RuleViolationError):
    """A cycle more than :data:`~shared.dates.PLANNING_YEARS` years after the submission's: every other plan is bounded so
    (422 ``within_planning_horizon``), and a submission of 2026 to the cycle of 2100 was taken (tester 192 F3)."""

    def __init__(self, cycle_year: int, submitted_on: date) -> None:
        super().__init__(
            f"cycle_year {cycle_year} is more than {PLANNING_YEARS} years after the submission's ({submitted_on.year}): plans "
            f"reach {PLANNING_YEARS} years ahead at most",
            field="cycle_year",
            rule="within_planning_horizon",
        )


class CycleLongPastError(RuleViolationError):
    """A cycle before the year before the submission's. A municipality takes projects the year before the budget year they
    are for, so a submission is for its own year's cycle or a later one; one year back is taken too, for a submission
    recorded late (a process that ran into its budget year, an entry made after the year turned). A submission of 2026 is
    for 2025 at the earliest, and one for 2001 is a typo (tester 208 F6: it was taken). The message said the process's
    year was the reason for the bound, by which a 2021 submission is for 2022, not 2020 (tester 212 F10)."""

    def __init__(self, cycle_year: int, submitted_on: date) -> None:
        earliest = submitted_on.year - CYCLE_YEARS_BEHIND
        super().__init__(
            f"cycle_year {cycle_year} is long past for a submission of {submitted_on.isoformat()}: a submission is for "
            f"its own year's cycle or a later one, and one year back is taken for one recorded late, so the earliest "
            f"cycle taken is {earliest}",
            field="cycle_year",
            rule="not_before_previous_cycle",
        )


class NotRUOSRegisteredError(RuleViolationError):
    def __init__(self, submitted_on: date, registered_on: date | None) -> None:
        when = "is not registered in the RUOS" if registered_on is None else f"was registered in the RUOS only on {registered_on.isoformat()}"
        super().__init__(
            f"only OSVs registered in the RUOS take part in participatory budgets: on {submitted_on.isoformat()} this OSV {when}",
            field="osv_id",
            rule="ruos_registered_only",
        )


class SubmissionTakenError(ConflictError):
    def __init__(self, municipality_id: str, cycle_year: int) -> None:
        super().__init__(
            f"this OSV already has a submission to '{municipality_id}' for the {cycle_year} cycle",
            field="cycle_year",
            rule="one_per_cycle",
        )


class SubmissionNotFoundError(NotFoundError):
    def __init__(self, submission_id: object) -> None:
        super().__init__(f"participatory-budget submission {submission_id} does not exist", field="submission_id", rule="known_submission")


class AmountFundedRequiredError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__("a funded project says how much was funded", field="amount_funded", rule="required_when_funded")


class AmountFundedNotFundedError(RuleViolationError):
    def __init__(self, outcome: BudgetOutcome) -> None:
        super().__init__(
            f"amount_funded is given only when the outcome is funded, not {outcome.value}",
            field="amount_funded",
            rule="only_when_funded",
        )


class BeyondAmountRequestedError(RuleViolationError):
    def __init__(self, amount_funded: Decimal, requested: Decimal, currency: Currency) -> None:
        super().__init__(
            f"amount_funded {amount_funded} {currency.value} is more than the {requested} {currency.value} requested",
            field="amount_funded",
            rule="within_amount_requested",
        )


def check_cycle_year(cycle_year: int) -> None:
    """A participatory-budget cycle from :data:`FIRST_CYCLE_YEAR` to :data:`LAST_CYCLE_YEAR` (422 ``cycle_year_range``)."""
    if not FIRST_CYCLE_YEAR <= cycle_year <= LAST_CYCLE_YEAR:
        raise CycleYearError(cycle_year)


def check_amount_funded(outcome: BudgetOutcome, amount_funded: Decimal | None) -> None:
    """A funded project says how much was funded (422 ``required_when_funded``), any other outcome does not
    (422 ``only_when_funded``); both on ``amount_funded``."""
    outcome = BudgetOutcome(outcome)
    if outcome is BudgetOutcome.FUNDED:
        if amount_funded is None:
            raise AmountFundedRequiredError()
    elif amount_funded is not None:
        raise AmountFundedNotFundedError(outcome)


@dataclass(frozen=True)
class BudgetDecision:
    outcome: BudgetOutcome
    amount_funded: Decimal | None
    decided_on: date


class ParticipatoryBudgetSubmission(Aggregate):
    """An OSV's project submitted to one municipality's participatory budget for one cycle year.

    Its id follows from the OSV, the municipality and the year, so there is
    only one: a second submission conflicts in the store.
    """

    @staticmethod
    def create_id(osv_id: UUID, municipality_id: str, cycle_year: int, **_: object) -> UUID:
        return ParticipatoryBudgetSubmission.id_for(osv_id, municipality_id, cycle_year)

    @staticmethod
    def id_for(osv_id: UUID, municipality_id: str, cycle_year: int) -> UUID:
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:funding:participatory-budget:{osv_id}:{municipality_id}:{cycle_year}")

    @event("ParticipatoryBudgetSubmitted")
    def __init__(
        self,
        osv_id: UUID,
        municipality_id: str,
        cycle_year: int,
        project_title: str,
        amount_requested: Decimal,
        currency: Currency,
        submitted_on: date,
    ) -> None:
        self.osv_id = osv_id
        self.municipality_id = municipality_id
        self.cycle_year = cycle_year
        self.project_title = project_title
        self.amount_requested = amount_requested
        self.currency = Currency(currency)
        self.submitted_on = submitted_on
        self.decision: BudgetDecision | None = None

    def decide(self, outcome: BudgetOutcome, amount_funded: Decimal | None, decided_on: date) -> BudgetDecision:
        """Record the municipality's decision, once; a funded project says how much, at most what was requested."""
        if (decision := self.decision) is not None:
            raise AlreadyDecidedError(
                f"the municipality's decision was already recorded: {decision.outcome.value} on {decision.decided_on.isoformat()}",
                field="outcome",
            )
        outcome = BudgetOutcome(outcome)
        check_amount_funded(outcome, amount_funded)
        if amount_funded is not None:
            amount_funded = check_money(amount_funded, "amount_funded")
            if amount_funded > self.amount_requested:
                raise BeyondAmountRequestedError(amount_funded, self.amount_requested, self.currency)
        check_not_before("decided_on", decided_on, "submitted_on", self.submitted_on)
        self._decided(
            osv_id=self.osv_id,
            municipality_id=self.municipality_id,
            cycle_year=self.cycle_year,
            outcome=outcome,
            amount_funded=amount_funded,
            currency=self.currency,
            decided_on=decided_on,
        )
        assert self.decision is not None
        return self.decision

    @event("ParticipatoryBudgetDecided")
    def _decided(
        self,
        osv_id: UUID,
        municipality_id: str,
        cycle_year: int,
        outcome: BudgetOutcome,
        amount_funded: Decimal | None,
        currency: Currency,
        decided_on: date,
    ) -> None:
        self.decision = BudgetDecision(BudgetOutcome(outcome), amount_funded, decided_on)


def submit_participatory_budget(
    osv_id: UUID,
    registered_on: date | None,
    municipality_id: str,
    cycle_year: int,
    project_title: str,
    amount_requested: Decimal,
    currency: Currency,
    submitted_on: date,
    municipalities: MunicipalityTable,
) -> ParticipatoryBudgetSubmission:
    """Record an OSV's submission to one of ``municipalities``, if it was on the RUOS by ``submitted_on`` (``registered_on`` None: never),
    to a cycle at most :data:`~shared.dates.PLANNING_YEARS` years after ``submitted_on``'s (422 ``within_planning_horizon``)
    and at most :data:`CYCLE_YEARS_BEHIND` before it (422 ``not_before_previous_cycle``)."""
    municipality_id = municipalities.require(municipality_id).id
    check_cycle_year(cycle_year)
    if cycle_year > submitted_on.year + PLANNING_YEARS:
        raise CycleTooFarAheadError(cycle_year, submitted_on)
    if cycle_year < submitted_on.year - CYCLE_YEARS_BEHIND:
        raise CycleLongPastError(cycle_year, submitted_on)
    amount_requested = check_money(amount_requested, "amount_requested")
    if registered_on is None or submitted_on < registered_on:
        raise NotRUOSRegisteredError(submitted_on, registered_on)
    return ParticipatoryBudgetSubmission(
        osv_id=osv_id,
        municipality_id=municipality_id,
        cycle_year=cycle_year,
        project_title=project_title,
        amount_requested=amount_requested,
        currency=Currency(currency),
        submitted_on=submitted_on,
    )


class OSVParticipatoryBudgets(Aggregate):
    """Index of one OSV's submissions, so they are listed without reading every one.

    Bookkeeping only: its events never leave the service.
    """

    FLAT_COPIED = ("submission_ids",)
    """Hold only values that never change: copied for a command as they are (:func:`shared.kept.copy_kept`)."""

    @staticmethod
    def create_id(osv_id: UUID, **_: object) -> UUID:
        return OSVParticipatoryBudgets.id_for(osv_id)

    @staticmethod
    def id_for(osv_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:funding:participatory-budgets-of:{osv_id}")

    @event("ParticipatoryBudgetIndexOpened")
    def __init__(self, osv_id: UUID) -> None:
        self.osv_id = osv_id
        self.submission_ids: list[UUID] = []

    @event("ParticipatoryBudgetIndexed")
    def add(self, submission_id: UUID) -> None:
        self.submission_ids.append(submission_id)
