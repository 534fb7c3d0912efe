"""How evaluators' scores become a weighted total, and a proposal's standing. Pure arithmetic and its rules.

How one evaluator's scores become a weighted total:

- each criterion's score is normalised to 0–100 over its range,
  ``(score - min_score) / (max_score - min_score) × 100``;
- the total is ``Σ(weight × normalised) / Σ weight``, so weights are relative
  (1, 1, 2 and 25, 25, 50 give the same totals);
- it is worked out exactly (fractions) and rounded once, to 2 places, half up.

A proposal's standing in the ranking is the mean of its evaluators' totals
as recorded (each rounded already: the mean anyone works out from the
published ``ProposalScored`` events), rounded the same way. An evaluator is an opaque code, never a person's name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from shared.errors import RuleViolationError, raise_first
from shared.money import CENT

EVALUATOR_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}")
OIDC_SUBJECT = re.compile(r"[\x21-\x7e]{1,255}")
"""A token's ``sub``: at most 255 ASCII characters (OpenID Connect Core 1.0, section 2), here visible ones, no space."""


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


# Errors and rules -------------------------------------------------------


class EvaluatorCodeError(RuleViolationError):
    def __init__(self, evaluator: str) -> None:
        super().__init__(
            "evaluator must be an opaque code of 1 to 20 letters, digits, '.', '_' or '-' with at least one digit "
            "(such as EV-1), never a person's name",
            field="evaluator",
            rule="evaluator_code",
        )


class OIDCSubjectError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "subject must be the person's login at the identity provider, the `sub` of their tokens: 1 to 255 visible "
            "ASCII characters, no space (OpenID Connect Core 1.0, section 2)",
            field="subject",
            rule="oidc_subject",
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


def check_evaluator(evaluator: str) -> None:
    if not EVALUATOR_CODE.fullmatch(evaluator) or not any(ch.isdigit() for ch in evaluator):
        raise EvaluatorCodeError(evaluator)


def evaluator_key(code: str) -> str:
    """What two evaluator codes compare by: the code without regard to case or surrounding spaces (`EV-X1`, ` ev-x1`
    and `Ev-X1` are one code). A code is shown as it was first assigned."""
    return code.strip().casefold()


def check_subject(subject: str) -> None:
    """422 ``oidc_subject`` unless ``subject`` can be a token's ``sub`` (:data:`OIDC_SUBJECT`): a zero-width space or a
    name typed with spaces would give a code to no one who can sign in."""
    if not OIDC_SUBJECT.fullmatch(subject):
        raise OIDCSubjectError()


def scoring_mistakes(rubric: Sequence[Criterion], scores: Sequence[Score]) -> Iterator[RuleViolationError]:
    """Every mistake of a scoring's list, in its order: each row's criterion not in the rubric (422 ``criterion_in_rubric``),
    scored again (422 ``score_each_criterion_once``) and score out of its range (422 ``score_within_range``, a repeated
    row's too), then the criteria left unscored (422 ``every_criterion_scored``). All come in one answer
    (:func:`~shared.errors.raise_first`): a score out of range hid the next row's, and a repeated criterion showed only
    once the range was put right (tester 208 F7)."""
    by_code = {c.code: c for c in rubric}
    seen: set[str] = set()
    for index, score in enumerate(scores):
        criterion = by_code.get(score.criterion)
        if criterion is None:
            yield UnknownCriterionError(index, score.criterion)
        elif score.criterion in seen:
            yield CriterionScoredTwiceError(index, score.criterion)
        if criterion is not None and not criterion.min_score <= score.score <= criterion.max_score:
            yield ScoreOutOfRangeError(index, criterion, score.score)
        seen.add(score.criterion)
    if missing := [c.code for c in rubric if c.code not in seen]:
        yield CriterionNotScoredError(missing)


def repeated_criteria(criteria: Sequence[str | None]) -> Iterator[CriterionScoredTwiceError]:
    """Each row (its criterion, None for one not read) scoring a criterion a row before it scored: a mistake of the list
    alone, told with the body's other mistakes even when the rubric cannot judge it yet (:func:`scoring_mistakes`)."""
    seen: set[str] = set()
    for index, criterion in enumerate(criteria):
        if criterion is None:
            continue
        if criterion in seen:
            yield CriterionScoredTwiceError(index, criterion)
        seen.add(criterion)


def checked_scores(rubric: Sequence[Criterion], scores: Sequence[Score]) -> dict[str, int]:
    """Every criterion of the rubric scored exactly once, each within its range: else the first of
    :func:`scoring_mistakes`, the others with it."""
    raise_first(scoring_mistakes(rubric, scores))
    return {score.criterion: score.score for score in scores}
