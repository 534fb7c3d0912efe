"""Funding rounds and the proposals OSVs submit to them: rubric, scores, decisions.

Pure: aggregates, the events they record, the named errors of their rules and
the scoring arithmetic. No I/O; the application loads and saves.

A round has a budget and a rubric. Every rubric scores the OSV's
organisational and administrative capacity (the practice's lesson: evaluation
was not exhaustive enough), besides whatever else the round cares about.

How one evaluator's scores become a weighted total:

- each criterion's score is normalised to 0–100 over its range,
  ``(score - min_score) / (max_score - min_score) × 100``;
- the total is ``Σ(weight × normalised) / Σ weight``, so weights are relative
  (1, 1, 2 and 25, 25, 50 give the same totals);
- it is worked out exactly (fractions) and rounded once, to 2 places, half up.

A proposal's standing in the ranking is the mean of its evaluators' totals,
rounded the same way. Each evaluator scores a proposal once: a scoring is a
fact in the audit trail, not a draft to overwrite.

The round keeps, as private bookkeeping events saved in the same transaction
as the proposal they concern, which OSVs submitted (one proposal each) and
what each approval committed of the budget. Two commands racing on the same
round therefore cannot both be saved: the loser's save fails on the round's
version and nothing of it is written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.funding.domain.grants import CENT, Currency, Phase
from shared.errors import ConflictError, NotFoundError, RuleViolationError

CAPACITY_CRITERIA = ("organisational_capacity", "administrative_capacity")
"""Criteria every round's rubric must score."""

EVALUATOR_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}")


class Eligibility(StrEnum):
    """Which OSVs may submit to a round."""

    MAPPED = "mapped"
    RUOS_REGISTERED = "ruos_registered"


class PlannedOutputKind(StrEnum):
    MURAL = "mural"
    PUBLIC_SPACE_RECOVERED = "public_space_recovered"
    WORKSHOP = "workshop"
    FAIR = "fair"
    CAMPAIGN = "campaign"
    TRAINING = "training"
    OTHER = "other"


class RejectionReason(StrEnum):
    LOW_SCORE = "low_score"
    OVER_BUDGET = "over_budget"
    INELIGIBLE = "ineligible"
    INCOMPLETE = "incomplete"
    WITHDRAWN = "withdrawn"
    OTHER = "other"


class ProposalStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


# Values -----------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    """One line of a rubric: what is scored, its relative weight and the range of scores."""

    code: str
    name: str
    weight: Decimal
    min_score: int
    max_score: int

    def normalised(self, score: int) -> Fraction:
        """The score on a 0–100 scale over this criterion's range, exactly."""
        return Fraction(score - self.min_score, self.max_score - self.min_score) * 100

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PlannedOutput:
    kind: PlannedOutputKind
    count: int


@dataclass(frozen=True)
class Score:
    criterion: str
    score: int


@dataclass(frozen=True)
class Scoring:
    """One evaluator's scores of one proposal."""

    evaluator: str
    scores: tuple[Score, ...]
    weighted_total: Decimal
    scored_on: date

    def score_of(self, criterion: str) -> int:
        return next(s.score for s in self.scores if s.criterion == criterion)


@dataclass(frozen=True)
class Approval:
    amount: Decimal
    approved_on: date


@dataclass(frozen=True)
class Rejection:
    reason: RejectionReason
    rejected_on: date


@dataclass(frozen=True)
class GrantMade:
    grant_id: UUID
    amount: Decimal
    granted_on: date


# Arithmetic -------------------------------------------------------------


def half_up(value: Fraction) -> Decimal:
    """An exact non-negative value rounded to 2 places, half up."""
    cents = math.floor(value * 100 + Fraction(1, 2))
    return Decimal(cents).scaleb(-2).quantize(CENT)


def weighted_total(rubric: Sequence[Criterion], scores: Mapping[str, int]) -> Decimal:
    """Σ(weight × score normalised to 0–100) / Σ weight, rounded to 2 places half up."""
    weights = sum((Fraction(c.weight) for c in rubric), Fraction(0))
    total = sum((Fraction(c.weight) * c.normalised(scores[c.code]) for c in rubric), Fraction(0))
    return half_up(total / weights)


def mean(values: Sequence[Decimal | int]) -> Decimal:
    """The mean, rounded to 2 places half up."""
    return half_up(sum((Fraction(v) for v in values), Fraction(0)) / len(values))


def money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount.quantize(CENT)}"


# Errors -----------------------------------------------------------------


class RoundNotFoundError(NotFoundError):
    def __init__(self, round_id: object) -> None:
        super().__init__(f"round {round_id} does not exist")


class ProposalNotFoundError(NotFoundError):
    def __init__(self, proposal_id: object) -> None:
        super().__init__(f"proposal {proposal_id} does not exist")


class PhaseOfRoundUnknownError(RuleViolationError):
    def __init__(self, phase_id: object) -> None:
        super().__init__(f"phase {phase_id} does not exist", field="phase_id", rule="phase_exists")


class NotPositiveError(RuleViolationError):
    def __init__(self, field: str, value: object) -> None:
        super().__init__(f"{field} must be greater than 0, not {value}", field=field, rule="greater_than_0")


class NegativeCountError(RuleViolationError):
    def __init__(self, field: str, value: int) -> None:
        super().__init__(f"{field} must be 0 or more, not {value}", field=field, rule="not_negative")


class RoundDatesError(RuleViolationError):
    def __init__(self, opens_on: date, closes_on: date) -> None:
        super().__init__(
            f"closes_on {closes_on.isoformat()} is before opens_on {opens_on.isoformat()}",
            field="closes_on",
            rule="not_before_opens_on",
        )


class OutsidePhaseError(RuleViolationError):
    def __init__(self, field: str, day: date, phase: Phase) -> None:
        super().__init__(
            f"{field} {day.isoformat()} is outside phase '{phase.code}' "
            f"({phase.starts_on.isoformat()} to {phase.ends_on.isoformat()})",
            field=field,
            rule="within_phase_dates",
        )


class CapacityCriterionMissingError(RuleViolationError):
    def __init__(self, code: str) -> None:
        super().__init__(
            f"the rubric must score '{code}': every round scores the OSV's organisational and administrative capacity",
            field="criteria",
            rule="rubric_includes_capacity",
        )


class RepeatedCriterionError(RuleViolationError):
    def __init__(self, index: int, code: str) -> None:
        super().__init__(
            f"criterion '{code}' appears more than once in the rubric",
            field=f"criteria.{index}.code",
            rule="unique_criterion_codes",
        )


class ScoreRangeError(RuleViolationError):
    def __init__(self, index: int, min_score: int, max_score: int) -> None:
        super().__init__(
            f"max_score {max_score} must be greater than min_score {min_score}",
            field=f"criteria.{index}.max_score",
            rule="max_above_min",
        )


class RoundClosedError(ConflictError):
    def __init__(self, closed_on: date, field: str) -> None:
        super().__init__(f"the round was closed on {closed_on.isoformat()}", field=field, rule="round_open")


class ClosingDateError(RuleViolationError):
    def __init__(self, opens_on: date, closed_on: date) -> None:
        super().__init__(
            f"closed_on {closed_on.isoformat()} is before the round opened on {opens_on.isoformat()}",
            field="closed_on",
            rule="not_before_opens_on",
        )


class OutsideRoundDatesError(RuleViolationError):
    def __init__(self, submitted_on: date, opens_on: date, closes_on: date) -> None:
        super().__init__(
            f"submitted_on {submitted_on.isoformat()} is outside the round's dates "
            f"({opens_on.isoformat()} to {closes_on.isoformat()})",
            field="submitted_on",
            rule="within_round_dates",
        )


class RequestAboveBudgetError(RuleViolationError):
    def __init__(self, requested: Decimal, budget: Decimal, currency: str) -> None:
        super().__init__(
            f"requested_amount {money(requested, currency)} is more than the round's whole budget "
            f"({money(budget, currency)})",
            field="requested_amount",
            rule="not_above_round_budget",
        )


class OneProposalPerOSVError(ConflictError):
    def __init__(self, proposal_id: UUID) -> None:
        super().__init__(
            f"this OSV already submitted proposal {proposal_id} to this round: one proposal per OSV per round",
            field="osv_id",
            rule="one_proposal_per_osv",
        )


class RUOSRegisteredOnlyError(RuleViolationError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            f"this round takes RUOS-registered OSVs only: {reason}", field="osv_id", rule="ruos_registered_only"
        )


class RepeatedOutputKindError(RuleViolationError):
    def __init__(self, index: int, kind: str) -> None:
        super().__init__(
            f"planned output '{kind}' is listed more than once", field=f"planned_outputs.{index}.kind", rule="unique_kinds"
        )


class TooFewOutputsError(RuleViolationError):
    def __init__(self, index: int, count: int) -> None:
        super().__init__(
            f"a planned output counts at least 1, not {count}", field=f"planned_outputs.{index}.count", rule="at_least_1"
        )


class EvaluatorCodeError(RuleViolationError):
    def __init__(self, evaluator: str) -> None:
        super().__init__(
            "evaluator must be an opaque code of 1 to 20 letters, digits, '.', '_' or '-' with at least one digit "
            "(such as EV-1), never a person's name",
            field="evaluator",
            rule="evaluator_code",
        )


class UnknownCriterionError(RuleViolationError):
    def __init__(self, index: int, criterion: str) -> None:
        super().__init__(
            f"'{criterion}' is not a criterion of this round's rubric",
            field=f"scores.{index}.criterion",
            rule="criterion_in_rubric",
        )


class CriterionScoredTwiceError(RuleViolationError):
    def __init__(self, index: int, criterion: str) -> None:
        super().__init__(
            f"criterion '{criterion}' is scored more than once",
            field=f"scores.{index}.criterion",
            rule="score_each_criterion_once",
        )


class CriterionNotScoredError(RuleViolationError):
    def __init__(self, missing: Sequence[str]) -> None:
        names = ", ".join(f"'{code}'" for code in missing)
        super().__init__(
            f"every criterion of the rubric must be scored; missing: {names}",
            field="scores",
            rule="every_criterion_scored",
        )


class ScoreOutOfRangeError(RuleViolationError):
    def __init__(self, index: int, criterion: Criterion, score: int) -> None:
        super().__init__(
            f"'{criterion.code}' is scored from {criterion.min_score} to {criterion.max_score}, not {score}",
            field=f"scores.{index}.score",
            rule="score_within_range",
        )


class AlreadyScoredError(ConflictError):
    def __init__(self, evaluator: str, scored_on: date) -> None:
        super().__init__(
            f"evaluator {evaluator} already scored this proposal on {scored_on.isoformat()}: each evaluator scores once",
            field="evaluator",
            rule="score_once",
        )


class BeforeSubmissionError(RuleViolationError):
    def __init__(self, field: str, day: date, submitted_on: date) -> None:
        super().__init__(
            f"{field} {day.isoformat()} is before the proposal was submitted on {submitted_on.isoformat()}",
            field=field,
            rule="not_before_submission",
        )


class AlreadyDecidedError(ConflictError):
    def __init__(self, status: ProposalStatus, decided_on: date) -> None:
        super().__init__(
            f"the proposal was already {status} on {decided_on.isoformat()}",
            field="proposal_id",
            rule="decide_once",
        )


class NotScoredError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "no evaluator has scored this proposal yet: score it before approving it",
            field="proposal_id",
            rule="scored_before_decision",
        )


class AboveRequestedError(RuleViolationError):
    def __init__(self, amount: Decimal, requested: Decimal, currency: str) -> None:
        super().__init__(
            f"amount {money(amount, currency)} is more than the {money(requested, currency)} requested",
            field="amount",
            rule="within_requested_amount",
        )


class RoundBudgetExceededError(ConflictError):
    def __init__(self, amount: Decimal, remaining: Decimal, currency: str) -> None:
        super().__init__(
            f"approving {money(amount, currency)} would exceed the round's budget: "
            f"{money(remaining, currency)} of the round's budget remains",
            field="amount",
            rule="within_round_budget",
        )


class NotApprovedError(ConflictError):
    def __init__(self, status: ProposalStatus) -> None:
        super().__init__(
            f"only an approved proposal becomes a grant; this one is {status}",
            field="proposal_id",
            rule="approved_before_grant",
        )


class GrantBeforeApprovalError(RuleViolationError):
    def __init__(self, granted_on: date, approved_on: date) -> None:
        super().__init__(
            f"granted_on {granted_on.isoformat()} is before the proposal was approved on {approved_on.isoformat()}",
            field="granted_on",
            rule="not_before_approval",
        )


class ApprovedAmountExceededError(ConflictError):
    def __init__(self, amount: Decimal, remaining: Decimal, currency: str) -> None:
        super().__init__(
            f"granting {money(amount, currency)} would exceed the approved amount: "
            f"{money(remaining, currency)} of the approved amount remains",
            field="amount",
            rule="within_approved_amount",
        )


# Rules ------------------------------------------------------------------


def check_positive(value: Decimal, field: str) -> None:
    if value <= 0:
        raise NotPositiveError(field, value)


def check_not_negative(value: int, field: str) -> None:
    if value < 0:
        raise NegativeCountError(field, value)


def check_rubric(criteria: Sequence[Criterion]) -> None:
    """Codes unique, positive weights, ranges that go up, and both capacity criteria present."""
    seen: set[str] = set()
    for index, criterion in enumerate(criteria):
        if criterion.code in seen:
            raise RepeatedCriterionError(index, criterion.code)
        seen.add(criterion.code)
        check_positive(criterion.weight, f"criteria.{index}.weight")
        check_not_negative(criterion.min_score, f"criteria.{index}.min_score")
        if criterion.max_score <= criterion.min_score:
            raise ScoreRangeError(index, criterion.min_score, criterion.max_score)
    for code in CAPACITY_CRITERIA:
        if code not in seen:
            raise CapacityCriterionMissingError(code)


def check_within_phase(phase: Phase, opens_on: date, closes_on: date) -> None:
    if closes_on < opens_on:
        raise RoundDatesError(opens_on, closes_on)
    for field, day in (("opens_on", opens_on), ("closes_on", closes_on)):
        if not phase.starts_on <= day <= phase.ends_on:
            raise OutsidePhaseError(field, day, phase)


def check_eligible(eligibility: Eligibility, registered_on: date | None, submitted_on: date) -> None:
    """An OSV may submit to a RUOS-only round once registered, and registered by the day it submits."""
    if eligibility is not Eligibility.RUOS_REGISTERED:
        return
    if registered_on is None:
        raise RUOSRegisteredOnlyError("the OSV is not registered in the RUOS")
    if registered_on > submitted_on:
        raise RUOSRegisteredOnlyError(
            f"the OSV was registered in the RUOS on {registered_on.isoformat()}, "
            f"after the proposal's submitted_on {submitted_on.isoformat()}"
        )


def check_planned_outputs(outputs: Sequence[PlannedOutput]) -> None:
    seen: set[str] = set()
    for index, output in enumerate(outputs):
        if output.count < 1:
            raise TooFewOutputsError(index, output.count)
        if output.kind in seen:
            raise RepeatedOutputKindError(index, output.kind)
        seen.add(output.kind)


def check_evaluator(evaluator: str) -> None:
    if not EVALUATOR_CODE.fullmatch(evaluator) or not any(ch.isdigit() for ch in evaluator):
        raise EvaluatorCodeError(evaluator)


def checked_scores(rubric: Sequence[Criterion], scores: Sequence[Score]) -> dict[str, int]:
    """Every criterion of the rubric scored exactly once, each within its range."""
    by_code = {c.code: c for c in rubric}
    checked: dict[str, int] = {}
    for index, score in enumerate(scores):
        criterion = by_code.get(score.criterion)
        if criterion is None:
            raise UnknownCriterionError(index, score.criterion)
        if score.criterion in checked:
            raise CriterionScoredTwiceError(index, score.criterion)
        if not criterion.min_score <= score.score <= criterion.max_score:
            raise ScoreOutOfRangeError(index, criterion, score.score)
        checked[score.criterion] = score.score
    if missing := [c.code for c in rubric if c.code not in checked]:
        raise CriterionNotScoredError(missing)
    return checked


def check_not_before(field: str, day: date, submitted_on: date) -> None:
    if day < submitted_on:
        raise BeforeSubmissionError(field, day, submitted_on)


# Rounds -----------------------------------------------------------------


class Round(Aggregate):
    """A call for proposals within a phase: a budget, dates, who may apply, and the rubric."""

    @classmethod
    def open(
        cls,
        phase: Phase,
        name: str,
        budget: Decimal,
        currency: Currency,
        opens_on: date,
        closes_on: date,
        eligibility: Eligibility,
        criteria: Sequence[Criterion],
    ) -> Round:
        """Check the budget, the dates against the phase and the rubric, then open the round."""
        check_positive(budget, "budget")
        check_within_phase(phase, opens_on, closes_on)
        check_rubric(criteria)
        return cls(
            phase_id=phase.id,
            name=name,
            budget=budget.quantize(CENT),
            currency=Currency(currency),
            opens_on=opens_on,
            closes_on=closes_on,
            eligibility=Eligibility(eligibility),
            criteria=[c.as_data() for c in criteria],
        )

    @event("RoundOpened")
    def __init__(
        self,
        phase_id: UUID,
        name: str,
        budget: Decimal,
        currency: Currency,
        opens_on: date,
        closes_on: date,
        eligibility: Eligibility,
        criteria: list[dict[str, Any]],
    ) -> None:
        self.phase_id = phase_id
        self.name = name
        self.budget = budget
        self.currency = Currency(currency)
        self.opens_on = opens_on
        self.closes_on = closes_on
        self.eligibility = Eligibility(eligibility)
        self.criteria = tuple(Criterion(**c) for c in criteria)
        self.closed_on: date | None = None
        self.proposal_ids: list[UUID] = []
        """In the order they were submitted: the ranking's tie-breaker."""
        self.proposal_of_osv: dict[UUID, UUID] = {}
        self.committed: dict[UUID, Decimal] = {}
        """Amount approved per proposal."""

    @property
    def approved_total(self) -> Decimal:
        return sum(self.committed.values(), Decimal("0.00"))

    @property
    def remaining(self) -> Decimal:
        return self.budget - self.approved_total

    def close(self, closed_on: date) -> None:
        if self.closed_on is not None:
            raise RoundClosedError(self.closed_on, "closed_on")
        if closed_on < self.opens_on:
            raise ClosingDateError(self.opens_on, closed_on)
        self._closed(closed_on=closed_on)

    @event("RoundClosed")
    def _closed(self, closed_on: date) -> None:
        self.closed_on = closed_on

    def check_takes(self, osv_id: UUID, submitted_on: date, requested_amount: Decimal) -> None:
        """Open, within its dates, no earlier proposal from this OSV, and not asking more than the whole budget."""
        if self.closed_on is not None:
            raise RoundClosedError(self.closed_on, "round_id")
        if not self.opens_on <= submitted_on <= self.closes_on:
            raise OutsideRoundDatesError(submitted_on, self.opens_on, self.closes_on)
        if (earlier := self.proposal_of_osv.get(osv_id)) is not None:
            raise OneProposalPerOSVError(earlier)
        check_positive(requested_amount, "requested_amount")
        if requested_amount > self.budget:
            raise RequestAboveBudgetError(requested_amount, self.budget, self.currency)

    @event("ProposalEntered")
    def enter(self, proposal_id: UUID, osv_id: UUID) -> None:
        self.proposal_ids.append(proposal_id)
        self.proposal_of_osv[osv_id] = proposal_id

    def commit(self, proposal_id: UUID, amount: Decimal) -> None:
        """Set aside part of the budget for an approved proposal, if that much remains."""
        if amount > self.remaining:
            raise RoundBudgetExceededError(amount, self.remaining, self.currency)
        self._committed(proposal_id=proposal_id, amount=amount)

    @event("BudgetCommitted")
    def _committed(self, proposal_id: UUID, amount: Decimal) -> None:
        self.committed[proposal_id] = amount


# Proposals --------------------------------------------------------------


class Proposal(Aggregate):
    """What an OSV asks a round for; scored by evaluators, then approved or rejected, then granted."""

    @staticmethod
    def create_id(round_id: UUID, osv_id: UUID, **_: object) -> UUID:
        return Proposal.id_for(round_id, osv_id)

    @staticmethod
    def id_for(round_id: UUID, osv_id: UUID) -> UUID:
        """One proposal per OSV per round: the id follows from the pair, so the store refuses a second."""
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:round:{round_id}:proposal-of:{osv_id}")

    @classmethod
    def submit(
        cls,
        round_: Round,
        osv_id: UUID,
        registered_on: date | None,
        title: str,
        summary: str,
        requested_amount: Decimal,
        planned_direct_beneficiaries: int,
        planned_indirect_beneficiaries: int,
        planned_outputs: Sequence[PlannedOutput],
        submitted_on: date,
    ) -> Proposal:
        """Check the round takes it and the OSV may apply, then submit it and enter it in the round.

        ``registered_on`` is when the OSV was registered in the RUOS, None if it is not.
        """
        round_.check_takes(osv_id, submitted_on, requested_amount)
        check_eligible(round_.eligibility, registered_on, submitted_on)
        check_not_negative(planned_direct_beneficiaries, "planned_direct_beneficiaries")
        check_not_negative(planned_indirect_beneficiaries, "planned_indirect_beneficiaries")
        check_planned_outputs(planned_outputs)
        proposal = cls(
            round_id=round_.id,
            osv_id=osv_id,
            title=title,
            summary=summary,
            requested_amount=requested_amount.quantize(CENT),
            currency=round_.currency,
            planned_direct_beneficiaries=planned_direct_beneficiaries,
            planned_indirect_beneficiaries=planned_indirect_beneficiaries,
            planned_outputs=[{"kind": PlannedOutputKind(o.kind), "count": o.count} for o in planned_outputs],
            submitted_on=submitted_on,
        )
        round_.enter(proposal_id=proposal.id, osv_id=osv_id)
        return proposal

    @event("ProposalSubmitted")
    def __init__(
        self,
        round_id: UUID,
        osv_id: UUID,
        title: str,
        summary: str,
        requested_amount: Decimal,
        currency: Currency,
        planned_direct_beneficiaries: int,
        planned_indirect_beneficiaries: int,
        planned_outputs: list[dict[str, Any]],
        submitted_on: date,
    ) -> None:
        self.round_id = round_id
        self.osv_id = osv_id
        self.title = title
        self.summary = summary
        self.requested_amount = requested_amount
        self.currency = Currency(currency)
        self.planned_direct_beneficiaries = planned_direct_beneficiaries
        self.planned_indirect_beneficiaries = planned_indirect_beneficiaries
        self.planned_outputs = [PlannedOutput(PlannedOutputKind(o["kind"]), o["count"]) for o in planned_outputs]
        self.submitted_on = submitted_on
        self.scorings: list[Scoring] = []
        self.decision: Approval | Rejection | None = None
        self.grants: list[GrantMade] = []

    # Where it stands ------------------------------------------------------

    @property
    def status(self) -> ProposalStatus:
        if isinstance(self.decision, Approval):
            return ProposalStatus.APPROVED
        if isinstance(self.decision, Rejection):
            return ProposalStatus.REJECTED
        return ProposalStatus.SUBMITTED

    @property
    def approved_amount(self) -> Decimal | None:
        return self.decision.amount if isinstance(self.decision, Approval) else None

    @property
    def granted_total(self) -> Decimal:
        return sum((g.amount for g in self.grants), Decimal("0.00"))

    @property
    def mean_weighted_total(self) -> Decimal | None:
        """The mean of the evaluators' weighted totals; None until someone scores it."""
        return mean([s.weighted_total for s in self.scorings]) if self.scorings else None

    def mean_score_of(self, criterion: str) -> Decimal | None:
        return mean([s.score_of(criterion) for s in self.scorings]) if self.scorings else None

    def check_undecided(self) -> None:
        if isinstance(self.decision, Approval):
            raise AlreadyDecidedError(ProposalStatus.APPROVED, self.decision.approved_on)
        if isinstance(self.decision, Rejection):
            raise AlreadyDecidedError(ProposalStatus.REJECTED, self.decision.rejected_on)

    # Scoring ----------------------------------------------------------------

    def score(self, rubric: Sequence[Criterion], evaluator: str, scores: Sequence[Score], scored_on: date) -> Scoring:
        """One evaluator scores every criterion of the rubric once; the weighted total is recorded with the scores."""
        self.check_undecided()
        check_evaluator(evaluator)
        for earlier in self.scorings:
            if earlier.evaluator == evaluator:
                raise AlreadyScoredError(evaluator, earlier.scored_on)
        check_not_before("scored_on", scored_on, self.submitted_on)
        checked = checked_scores(rubric, scores)
        self._scored(
            round_id=self.round_id,
            osv_id=self.osv_id,
            evaluator=evaluator,
            scores=[{"criterion": c.code, "score": checked[c.code]} for c in rubric],
            weighted_total=weighted_total(rubric, checked),
            scored_on=scored_on,
        )
        return self.scorings[-1]

    @event("ProposalScored")
    def _scored(
        self,
        round_id: UUID,
        osv_id: UUID,
        evaluator: str,
        scores: list[dict[str, Any]],
        weighted_total: Decimal,
        scored_on: date,
    ) -> None:
        self.scorings.append(
            Scoring(evaluator, tuple(Score(s["criterion"], s["score"]) for s in scores), weighted_total, scored_on)
        )

    # Decisions --------------------------------------------------------------

    def approve(self, round_: Round, amount: Decimal, approved_on: date) -> None:
        """Approve up to what was requested, scored first, if the round's budget still holds the amount.

        The round records what the approval commits; save both together.
        """
        self.check_undecided()
        check_not_before("approved_on", approved_on, self.submitted_on)
        if not self.scorings:
            raise NotScoredError
        check_positive(amount, "amount")
        amount = amount.quantize(CENT)
        if amount > self.requested_amount:
            raise AboveRequestedError(amount, self.requested_amount, self.currency)
        round_.commit(self.id, amount)
        self._approved(
            round_id=self.round_id, osv_id=self.osv_id, amount=amount, currency=self.currency, approved_on=approved_on
        )

    @event("ProposalApproved")
    def _approved(self, round_id: UUID, osv_id: UUID, amount: Decimal, currency: Currency, approved_on: date) -> None:
        self.decision = Approval(amount, approved_on)

    def reject(self, reason: RejectionReason, rejected_on: date) -> None:
        self.check_undecided()
        check_not_before("rejected_on", rejected_on, self.submitted_on)
        self._rejected(
            round_id=self.round_id, osv_id=self.osv_id, reason=RejectionReason(reason), rejected_on=rejected_on
        )

    @event("ProposalRejected")
    def _rejected(self, round_id: UUID, osv_id: UUID, reason: RejectionReason, rejected_on: date) -> None:
        self.decision = Rejection(RejectionReason(reason), rejected_on)

    # Grants -------------------------------------------------------------------

    def check_grant(self, amount: Decimal, granted_on: date) -> None:
        """Approved, granted on or after the approval, and never more in all than was approved."""
        if not isinstance(self.decision, Approval):
            raise NotApprovedError(self.status)
        if granted_on < self.decision.approved_on:
            raise GrantBeforeApprovalError(granted_on, self.decision.approved_on)
        check_positive(amount, "amount")
        remaining = self.decision.amount - self.granted_total
        if amount.quantize(CENT) > remaining:
            raise ApprovedAmountExceededError(amount, remaining, self.currency)

    def record_grant(self, grant_id: UUID, amount: Decimal, granted_on: date) -> None:
        """Record a grant made from this proposal; save it with the grant."""
        self.check_grant(amount, granted_on)
        self._grant_recorded(grant_id=grant_id, amount=amount.quantize(CENT), granted_on=granted_on)

    @event("GrantRecorded")
    def _grant_recorded(self, grant_id: UUID, amount: Decimal, granted_on: date) -> None:
        self.grants.append(GrantMade(grant_id, amount, granted_on))


# The ranking --------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """A proposal's place in its round's ranking."""

    proposal: Proposal
    mean_weighted_total: Decimal | None
    criterion_means: dict[str, Decimal]
    evaluator_count: int


def rank(round_: Round, proposals: Mapping[UUID, Proposal]) -> list[Standing]:
    """Highest mean weighted total first, ties in submission order; proposals nobody scored last."""
    in_order = [proposals[i] for i in round_.proposal_ids]
    standings = [
        Standing(
            proposal=p,
            mean_weighted_total=p.mean_weighted_total,
            criterion_means={
                c.code: m for c in round_.criteria if (m := p.mean_score_of(c.code)) is not None
            },
            evaluator_count=len(p.scorings),
        )
        for p in in_order
    ]
    scored = [s for s in standings if s.mean_weighted_total is not None]
    unscored = [s for s in standings if s.mean_weighted_total is None]
    # sorted() is stable: equal totals keep submission order.
    return sorted(scored, key=lambda s: -s.mean_weighted_total) + unscored  # type: ignore[operator]
