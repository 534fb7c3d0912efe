"""Funding rounds: a call for proposals within a phase, with a budget, dates, eligibility and a rubric.

Pure: the aggregate, the events it records and the named errors of its
rules. A round has a budget and a rubric. Every rubric scores the OSV's
organisational and administrative capacity (the practice's lesson: evaluation
was not exhaustive enough), besides whatever else the round cares about; how
scores are weighed is :mod:`.scoring`.

A lead assigns the round's evaluators: each an opaque code (``EV-1``), the
code the scores are published under, held by a signed-in person (the token's
subject). Only they read the round's proposals (besides staff and auditors)
and score them, each under a code assigned to them; which person holds which
code stays private to funding. A round's codes stand for distinct people: a
person holds one code per round (409 ``one_code_per_person``), or the panel
readers see under two codes, and the mean that ranks proposals, would be one
person's scores counted twice. A round assigned before that rule may have a
person holding several; they score a proposal once all the same
(:meth:`.proposals.Proposal.score`).

A lead withdraws a code (:meth:`Round.withdraw_evaluator`: assigned by
mistake, its holder left the programme, a conflict of interest): decisions
no longer wait for it, its holder no longer reads nor scores the round's
proposals under it, and holds no code in the round for
``one_code_per_person`` (the right person, or the same one again, may be
given another). The scores it gave stay: facts published under the code,
they still count in each proposal's mean. The code itself stays taken (409
``evaluator_code_once``): it stands, in the published scores, for the one
person who held it. A withdrawal may come after the round's decisions (a
conflict of interest found later): it undoes none of them.

A code compares without regard to case or surrounding spaces
(:func:`~.scoring.evaluator_key`): ``ev-1`` names ``EV-1`` wherever a code is
assigned, withdrawn or scored under, and is shown as first assigned. A round
whose codes were assigned before they compared so may hold two spellings of
one code (``EV-1`` and ``ev-1``): they stay two codes, two people's, each
waited for and each scoring under its own; a name matching both is the one
spelt as sent, else 409 ``evaluator_code_unambiguous``
(:meth:`Round.code_named`).

The round keeps, as private bookkeeping events saved in the same transaction
as the proposal they concern (:mod:`.proposals`), which OSVs submitted (one
proposal each) and what each approval committed of the budget. Two commands
racing on the same round therefore cannot both be saved: the loser's save
fails on the round's version and nothing of it is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from services.funding.domain.phases import Phase
from services.funding.domain.scoring import Criterion, check_evaluator, check_subject, evaluator_key
from shared.errors import (
    ConflictError,
    NotFoundError,
    PartlyRead,
    RuleViolationError,
    check_not_negative,
    check_positive,
    field_of,
    raise_first,
    refused,
)
from shared.money import CENT, Currency, money

CAPACITY_CRITERIA = ("organisational_capacity", "administrative_capacity")
"""Criteria every round's rubric must score."""


class Eligibility(StrEnum):
    """Which OSVs may submit to a round."""

    MAPPED = "mapped"
    RUOS_REGISTERED = "ruos_registered"


# Errors -----------------------------------------------------------------


class RoundNotFoundError(NotFoundError):
    """No round has this id: 404 naming ``field`` (the path's ``round_id``, or the list filter that names it), rule ``known_round``."""

    def __init__(self, round_id: object, field: str = "round_id") -> None:
        super().__init__(f"round {round_id} does not exist", field=field, rule="known_round")


class PhaseOfRoundUnknownError(RuleViolationError):
    def __init__(self, phase_id: object) -> None:
        super().__init__(f"phase {phase_id} does not exist", field="phase_id", rule="phase_exists")


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
    """The rubric lacks ``codes``, one or both of :data:`CAPACITY_CRITERIA`: one mistake naming each."""

    def __init__(self, codes: Sequence[str]) -> None:
        named = " and ".join(f"'{code}'" for code in codes)
        super().__init__(
            f"the rubric must score {named}: every round scores the OSV's organisational and administrative capacity",
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


class RoundBudgetExceededError(ConflictError):
    def __init__(self, amount: Decimal, remaining: Decimal, currency: str) -> None:
        super().__init__(
            f"approving {money(amount, currency)} would exceed the round's budget: "
            f"{money(remaining, currency)} of the round's budget remains",
            field="amount",
            rule="within_round_budget",
        )


class EvaluatorWithdrawalReason(StrEnum):
    """Why a lead withdrew an evaluator code from a round."""

    ASSIGNED_BY_MISTAKE = "assigned_by_mistake"
    LEFT_THE_PROGRAMME = "left_the_programme"
    CONFLICT_OF_INTEREST = "conflict_of_interest"
    OTHER = "other"


@dataclass(frozen=True)
class EvaluatorWithdrawal:
    """A code withdrawn from a round: who held it (private to funding), when and why."""

    subject: str
    withdrawn_on: date
    reason: EvaluatorWithdrawalReason


class EvaluatorCodeTakenError(ConflictError):
    """``evaluator`` is ``taken``, a code assigned in the round (the same one without regard to case)."""

    def __init__(self, evaluator: str, withdrawn: bool = False, taken: str | None = None) -> None:
        why = (
            "was assigned in this round and withdrawn: the scores it gave are published under it, so it stays that person's"
            if withdrawn
            else "is already assigned in this round: a code stands for one person"
        )
        spelt = f" (as '{taken}': codes compare without regard to case)" if taken not in (None, evaluator) else ""
        super().__init__(f"evaluator code '{evaluator}'{spelt} {why}", field="evaluator", rule="evaluator_code_once")


class EvaluatorCodeAmbiguousError(ConflictError):
    """A code names several of the round's codes, spelt otherwise (assigned before codes compared without regard to case)."""

    def __init__(self, evaluator: str, codes: Sequence[str]) -> None:
        super().__init__(
            f"evaluator code '{evaluator}' names {', '.join(repr(code) for code in codes)}, assigned in this round before codes "
            "compared without regard to case: name the one you mean as it was assigned",
            field="evaluator",
            rule="evaluator_code_unambiguous",
        )


class EvaluatorNotFoundError(NotFoundError):
    """No such code was ever assigned in the round: 404 naming it."""

    def __init__(self, evaluator: str) -> None:
        super().__init__(
            f"evaluator code '{evaluator}' was never assigned in this round", field="evaluator", rule="evaluator_assigned"
        )


class EvaluatorWithdrawnError(ConflictError):
    """The code was withdrawn from the round: it is not withdrawn twice, and scores no more."""

    def __init__(self, evaluator: str, withdrawn_on: date, doing: str) -> None:
        super().__init__(
            f"evaluator code '{evaluator}' was withdrawn from this round on {withdrawn_on.isoformat()}: {doing}",
            field="evaluator",
            rule="evaluator_withdrawn",
        )


class WithdrawnBeforeError(RuleViolationError):
    def __init__(self, withdrawn_on: date, what: str, day: date, rule: str) -> None:
        super().__init__(
            f"withdrawn_on {withdrawn_on.isoformat()} is before {what} on {day.isoformat()}", field="withdrawn_on", rule=rule
        )


class OneCodePerPersonError(ConflictError):
    """The person already holds a code in the round: its codes stand for distinct people, each scoring once."""

    def __init__(self, evaluator: str, held: Sequence[str]) -> None:
        super().__init__(
            f"subject already holds evaluator code {', '.join(repr(code) for code in held)} in this round: a round's evaluator "
            f"codes stand for distinct people (one code per person per round), so '{evaluator}' is for someone else",
            field="subject",
            rule="one_code_per_person",
        )


class AssignedBeforeOpeningError(RuleViolationError):
    def __init__(self, opens_on: date, assigned_on: date) -> None:
        super().__init__(
            f"assigned_on {assigned_on.isoformat()} is before the round opened on {opens_on.isoformat()}",
            field="assigned_on",
            rule="not_before_opens_on",
        )


class EvaluatorNotAssignedError(RuleViolationError):
    def __init__(self, evaluator: str | None, codes: Sequence[str]) -> None:
        if evaluator is None:
            message = f"you hold several evaluator codes in this round ({', '.join(codes)}): name the one you score under"
        else:
            message = f"evaluator code '{evaluator}' is not assigned to you in this round (yours: {', '.join(codes)})"
        super().__init__(message, field="evaluator", rule="evaluator_assigned")


# Rules ------------------------------------------------------------------


def rubric_mistakes(criteria: Sequence[Criterion | PartlyRead | None]) -> Iterator[RuleViolationError]:
    """Every mistake of a rubric, in order: codes unique (422 ``unique_criterion_codes``), positive weights, ranges that
    go up (422 ``max_above_min``), then both capacity criteria present (422 ``rubric_includes_capacity``).

    A row the API refused is judged on what was read of it (:func:`~shared.errors.field_of`): its code, read, still
    counts, for repeats and for the capacity criteria. A row whose code was refused or left out is no capacity
    criterion as sent: the rubric lacks what it lacks, named beside the code's own mistake."""
    seen: set[str] = set()
    for index, criterion in enumerate(criteria):
        code, weight, min_score, max_score = (field_of(criterion, name) for name in ("code", "weight", "min_score", "max_score"))
        if code in seen:
            yield RepeatedCriterionError(index, code)
        elif code is not None:
            seen.add(code)
        if weight is not None:
            yield from refused(check_positive, weight, f"criteria.{index}.weight")
        if min_score is not None:
            yield from refused(check_not_negative, min_score, f"criteria.{index}.min_score")
        if min_score is not None and max_score is not None and max_score <= min_score:
            yield ScoreRangeError(index, min_score, max_score)
    missing = [code for code in CAPACITY_CRITERIA if code not in seen]
    if missing:
        yield CapacityCriterionMissingError(missing)


def check_rubric(criteria: Sequence[Criterion]) -> None:
    """Codes unique, positive weights, ranges that go up, and both capacity criteria present: the first of
    :func:`rubric_mistakes`, raised."""
    raise_first(rubric_mistakes(criteria))


def check_within_phase(phase: Phase, opens_on: date, closes_on: date) -> None:
    if closes_on < opens_on:
        raise RoundDatesError(opens_on, closes_on)
    for field, day in (("opens_on", opens_on), ("closes_on", closes_on)):
        if not phase.starts_on <= day <= phase.ends_on:
            raise OutsidePhaseError(field, day, phase)


# The round --------------------------------------------------------------


class Round(Aggregate):
    """A call for proposals within a phase: a budget, dates, who may apply, and the rubric."""

    FLAT_COPIED = ("proposal_ids", "proposal_of_osv", "committed", "evaluators", "assigned_on", "withdrawn")
    """Hold only values that never change: copied for a command as they are (:func:`shared.kept.copy_kept`)."""

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
        self.evaluators: dict[str, str] = {}
        """Evaluator code -> the subject (signed-in person) it is assigned to: the codes still assigned, whose scores
        decisions wait for (a withdrawn code leaves it for :attr:`withdrawn`)."""
        self.assigned_on: dict[str, date] = {}
        """Every code ever assigned -> the day it was."""
        self.withdrawn: dict[str, EvaluatorWithdrawal] = {}
        """Withdrawn code -> who held it, when and why it was withdrawn."""

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

    # Evaluators ----------------------------------------------------------

    def assign_evaluator(self, evaluator: str, subject: str, assigned_on: date) -> None:
        """Give ``subject`` the evaluator code ``evaluator`` in this round: they may read and score its proposals.

        409 ``evaluator_code_once`` if the code is someone's already, or was and was withdrawn, in any case (``ev-1`` is
        ``EV-1``: :func:`~.scoring.evaluator_key`); 409 ``one_code_per_person``
        if ``subject`` holds a code in the round already (the round's codes stand for distinct people; a withdrawn one
        is no longer held); 422 ``not_before_opens_on``;
        422 ``oidc_subject`` for a ``subject`` no token can carry (:func:`~.scoring.check_subject`).
        """
        evaluator = evaluator.strip()
        check_evaluator(evaluator)
        check_subject(subject)
        if taken := self.codes_named(evaluator, self.holders):
            code = evaluator if evaluator in taken else taken[0]
            raise EvaluatorCodeTakenError(evaluator, withdrawn=code in self.withdrawn, taken=code)
        if held := self.codes_of(subject):
            raise OneCodePerPersonError(evaluator, held)
        if assigned_on < self.opens_on:
            raise AssignedBeforeOpeningError(self.opens_on, assigned_on)
        self._evaluator_assigned(evaluator=evaluator, subject=subject, assigned_on=assigned_on)

    @event("EvaluatorAssigned")
    def _evaluator_assigned(self, evaluator: str, subject: str, assigned_on: date) -> None:
        self.evaluators[evaluator] = subject
        self.assigned_on[evaluator] = assigned_on

    def withdraw_evaluator(self, evaluator: str, withdrawn_on: date, reason: EvaluatorWithdrawalReason) -> None:
        """Withdraw the code ``evaluator`` from the round: decisions stop waiting for it, its holder stops reading and
        scoring under it; the scores it gave stay and count.

        ``evaluator`` names the code without regard to case (:meth:`code_named`: 409 ``evaluator_code_unambiguous`` for a
        name of two codes assigned before that). 422 ``evaluator_code`` for no code's form; 404 ``evaluator_assigned`` for
        a code never assigned here; 409 ``evaluator_withdrawn`` for one withdrawn already; 422 ``not_before_opens_on`` / ``not_before_assignment`` naming
        ``withdrawn_on`` for a day before the round opened or the code was assigned. Taken whether or not the round's
        decisions are all made: it changes none of them.
        """
        check_evaluator(evaluator.strip())
        reason = EvaluatorWithdrawalReason(reason)
        if (code := self.code_named(evaluator, self.holders)) is None:
            raise EvaluatorNotFoundError(evaluator.strip())
        evaluator = code
        if (earlier := self.withdrawn.get(evaluator)) is not None:
            raise EvaluatorWithdrawnError(evaluator, earlier.withdrawn_on, "a code is withdrawn once")
        if withdrawn_on < self.opens_on:
            raise WithdrawnBeforeError(withdrawn_on, "the round opened", self.opens_on, "not_before_opens_on")
        if (assigned_on := self.assigned_on.get(evaluator)) is not None and withdrawn_on < assigned_on:
            raise WithdrawnBeforeError(withdrawn_on, f"'{evaluator}' was assigned", assigned_on, "not_before_assignment")
        self._evaluator_withdrawn(evaluator=evaluator, withdrawn_on=withdrawn_on, reason=reason)

    @event("EvaluatorWithdrawn")
    def _evaluator_withdrawn(self, evaluator: str, withdrawn_on: date, reason: EvaluatorWithdrawalReason) -> None:
        subject = self.evaluators.pop(evaluator)
        self.withdrawn[evaluator] = EvaluatorWithdrawal(subject, withdrawn_on, EvaluatorWithdrawalReason(reason))

    @property
    def holders(self) -> dict[str, str]:
        """Every code ever assigned in the round -> the person who held it, withdrawn codes included: whose a scoring is."""
        return {**{code: w.subject for code, w in self.withdrawn.items()}, **self.evaluators}

    def assigned_to(self, subject: str) -> bool:
        """Whether ``subject`` holds any evaluator code in this round."""
        return subject in self.evaluators.values()

    def codes_of(self, subject: str) -> list[str]:
        """The codes ``subject`` holds in this round: one at most, several only in a round assigned before that rule."""
        return sorted(code for code, holder in self.evaluators.items() if holder == subject)

    def withdrawn_codes_of(self, subject: str) -> list[str]:
        """The codes ``subject`` held in this round and that were withdrawn, in the order they were."""
        return [code for code, w in self.withdrawn.items() if w.subject == subject]

    def codes_held_by(self, subject: str) -> frozenset[str]:
        """Every code ``subject`` holds in this round, or held until its withdrawal: the scorings that are theirs, the only
        ones they are shown of the round's proposals (evaluators score blind, :meth:`.proposals.Proposal.scorings_under`)."""
        return frozenset([*self.codes_of(subject), *self.withdrawn_codes_of(subject)])

    def held_by(self, subject: str) -> bool:
        """Whether ``subject`` holds, or held until its withdrawal, an evaluator code in this round."""
        return self.assigned_to(subject) or bool(self.withdrawn_codes_of(subject))

    def scoring_code(self, subject: str, evaluator: str | None) -> str:
        """The code ``subject`` scores under, as assigned: the one named (without regard to case, :meth:`code_named`), if
        it is theirs, or their only one.

        409 ``evaluator_withdrawn`` for a code of theirs that was withdrawn (named, or their last one)."""
        codes, withdrawn = self.codes_of(subject), self.withdrawn_codes_of(subject)
        if evaluator is not None:
            check_evaluator(evaluator.strip())
            evaluator = self.code_named(evaluator, [*codes, *withdrawn]) or evaluator.strip()
            if evaluator in codes:
                return evaluator
        elif len(codes) == 1:
            return codes[0]
        if (evaluator in withdrawn) or (evaluator is None and not codes and withdrawn):
            code = evaluator or withdrawn[-1]
            raise EvaluatorWithdrawnError(code, self.withdrawn[code].withdrawn_on, "it scores no more (its earlier scores stay)")
        raise EvaluatorNotAssignedError(evaluator, codes)

    @staticmethod
    def codes_named(evaluator: str, codes: Iterable[str]) -> list[str]:
        """The ``codes`` that ``evaluator`` names without regard to case or surrounding spaces (:func:`~.scoring.evaluator_key`):
        one at most, several only of codes assigned before codes compared so."""
        key = evaluator_key(evaluator)
        return [code for code in codes if evaluator_key(code) == key]

    def code_named(self, evaluator: str, codes: Iterable[str]) -> str | None:
        """The one of ``codes`` (this round's) that ``evaluator`` names, as it was assigned, or None.

        ``EV-1`` for ``ev-1``: a code compares without regard to case or surrounding spaces. Of two spellings assigned
        before that (``EV-1`` and ``ev-1``, two people's codes), the one spelt as sent; 409 ``evaluator_code_unambiguous``
        (:class:`EvaluatorCodeAmbiguousError`) for a third spelling, which could be either."""
        named = self.codes_named(evaluator, codes)
        if len(named) > 1:
            if evaluator.strip() in named:
                return evaluator.strip()
            raise EvaluatorCodeAmbiguousError(evaluator.strip(), named)
        return named[0] if named else None
