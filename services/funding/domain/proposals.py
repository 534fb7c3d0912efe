"""The proposals OSVs submit to funding rounds: scored by evaluators, approved or rejected, then granted.

Pure: the aggregate, the events it records, the named errors of its rules,
and the ranking of a round's proposals. Each evaluator scores a proposal
once: a scoring is a fact in the audit trail, not a draft to overwrite.

A decision waits for the committee: a proposal is approved, or rejected on
its merits, once every evaluator assigned to its round has scored it (409
``scores_pending`` naming the codes still to score). A code a lead withdrew
from the round (:meth:`.rounds.Round.withdraw_evaluator`) is no longer
waited for; the scores it gave before stay on the proposal and count in its
mean and the ranking as every other scoring does. A proposal set aside unjudged (:data:`SET_ASIDE_UNSCORED`: ineligible, as a
dissolved OSV's is, incomplete or withdrawn) is rejected without waiting.
A round with no evaluators assigned decides as it always did.

A proposal's summary is the OSV's words, which may name people: sealed in the store, and forgotten by a redaction
recorded here (:meth:`Proposal.redact_summary`), after which it reads ``[redacted]``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.funding.domain.rounds import Eligibility, Round
from services.funding.domain.scoring import (
    Criterion,
    Score,
    Scoring,
    check_evaluator,
    mean,
    scoring_mistakes,
    weighted_total,
)
from shared.errors import (
    AlreadyDecidedError,
    BelowOneError,
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
from shared.outputs import OutputKind
from shared.sealing import REDACTED_TEXT


class RejectionReason(StrEnum):
    LOW_SCORE = "low_score"
    OVER_BUDGET = "over_budget"
    INELIGIBLE = "ineligible"
    INCOMPLETE = "incomplete"
    WITHDRAWN = "withdrawn"
    OTHER = "other"


SET_ASIDE_UNSCORED = frozenset({RejectionReason.INELIGIBLE, RejectionReason.INCOMPLETE, RejectionReason.WITHDRAWN})
"""Rejections that weigh no merit, so wait for no evaluator's score: a proposal the round may not take (ineligible, as
a dissolved OSV's is: it is rejected, not scored), one that lacks what it must hold, one its OSV withdrew. A low score,
a budget that cannot hold it, or another reason judge it against the round's others: they wait for every evaluator
assigned to the round, as an approval does."""


class ProposalStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


# Values -----------------------------------------------------------------


@dataclass(frozen=True)
class PlannedOutput:
    kind: OutputKind
    count: int


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


# Errors -----------------------------------------------------------------


class ProposalNotFoundError(NotFoundError):
    def __init__(self, proposal_id: object) -> None:
        super().__init__(f"proposal {proposal_id} does not exist", field="proposal_id", rule="known_proposal")


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


class AlreadyScoredError(ConflictError):
    def __init__(self, evaluator: str, scored_on: date) -> None:
        super().__init__(
            f"evaluator {evaluator} already scored this proposal on {scored_on.isoformat()}: each evaluator scores once",
            field="evaluator",
            rule="score_once",
        )


class ScoredUnderAnotherCodeError(ConflictError):
    """The person scoring already scored the proposal under another of their codes (a round assigned before a person held
    one code per round): their scores would count twice in the mean."""

    def __init__(self, evaluator: str, earlier: str, scored_on: date) -> None:
        super().__init__(
            f"you already scored this proposal under evaluator code {earlier} on {scored_on.isoformat()}: a person scores a "
            f"proposal once, whatever codes they hold, so '{evaluator}' adds no second scoring of yours",
            field="evaluator",
            rule="one_scoring_per_person",
        )


class BeforeSubmissionError(RuleViolationError):
    def __init__(self, field: str, day: date, submitted_on: date) -> None:
        super().__init__(
            f"{field} {day.isoformat()} is before the proposal was submitted on {submitted_on.isoformat()}",
            field=field,
            rule="not_before_submission",
        )


class NotScoredError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "no evaluator has scored this proposal yet: score it before approving it",
            field="proposal_id",
            rule="scored_before_decision",
        )


class ScoresPendingError(ConflictError):
    """Evaluators assigned to the proposal's round have not scored it yet: the decision waits for them. The problem
    lists their codes in ``pending_evaluators`` (the codes the scores are published under, never who holds them)."""

    def __init__(self, pending: Sequence[str], decision: str) -> None:
        several = len(pending) > 1
        super().__init__(
            f"evaluator{'s' if several else ''} {', '.join(pending)} of this round {'have' if several else 'has'} not scored "
            f"this proposal yet: {decision} waits for every evaluator assigned to the round; a code assigned by mistake, "
            "or whose holder left, is withdrawn by a lead (POST /rounds/{round_id}/evaluators/{evaluator}/withdrawal) and "
            "no longer waited for (a proposal set aside as ineligible, incomplete or withdrawn is rejected without waiting)",
            field="proposal_id",
            rule="scores_pending",
        )
        self.pending = tuple(pending)
        self.extensions = {"pending_evaluators": list(pending)}


class AboveRequestedError(RuleViolationError):
    def __init__(self, amount: Decimal, requested: Decimal, currency: str) -> None:
        super().__init__(
            f"amount {money(amount, currency)} is more than the {money(requested, currency)} requested",
            field="amount",
            rule="within_requested_amount",
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


def planned_output_mistakes(outputs: Sequence[PlannedOutput | PartlyRead | None]) -> Iterator[RuleViolationError]:
    """Every mistake of a proposal's planned outputs, in order: one or more of each (422 ``at_least_1``), one row per kind
    (422 ``unique_kinds``). A row the API refused is judged on what was read of it (:func:`~shared.errors.field_of`):
    its kind, read, still counts for repeats."""
    seen: set[str] = set()
    for index, output in enumerate(outputs):
        kind, count = field_of(output, "kind"), field_of(output, "count")
        if count is not None and count < 1:
            yield BelowOneError(f"planned_outputs.{index}.count", count)
        if kind is None:
            continue
        if kind in seen:
            yield RepeatedOutputKindError(index, kind)
        seen.add(kind)


def check_planned_outputs(outputs: Sequence[PlannedOutput]) -> None:
    """The first of :func:`planned_output_mistakes`, raised."""
    raise_first(planned_output_mistakes(outputs))


def check_not_before_submission(field: str, day: date, submitted_on: date) -> None:
    if day < submitted_on:
        raise BeforeSubmissionError(field, day, submitted_on)


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
            planned_outputs=[{"kind": OutputKind(o.kind), "count": o.count} for o in planned_outputs],
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
        self.planned_outputs = [PlannedOutput(OutputKind(o["kind"]), o["count"]) for o in planned_outputs]
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
        """The mean of the evaluators' weighted totals; None until someone scores it. Every scoring counts, a withdrawn
        code's included: it was a fact when given, and is published under its code."""
        return mean([s.weighted_total for s in self.scorings]) if self.scorings else None

    def scorings_under(self, codes: Collection[str]) -> list[Scoring]:
        """The scorings given under ``codes``, in the order they were given: what an evaluator is shown of the proposal,
        its own (:meth:`.rounds.Round.codes_held_by`). Evaluators score blind: another's scores, or their mean, read
        before scoring would anchor its own; the panel's sheet is the lead's, who decides, and staff's and auditors'."""
        return [s for s in self.scorings if s.evaluator in codes]

    def mean_score_of(self, criterion: str) -> Decimal | None:
        return mean([s.score_of(criterion) for s in self.scorings]) if self.scorings else None

    def check_undecided(self) -> None:
        if isinstance(self.decision, Approval):
            status, decided_on = ProposalStatus.APPROVED, self.decision.approved_on
        elif isinstance(self.decision, Rejection):
            status, decided_on = ProposalStatus.REJECTED, self.decision.rejected_on
        else:
            return
        raise AlreadyDecidedError(f"the proposal was already {status} on {decided_on.isoformat()}", field="proposal_id")

    def evaluators_pending(self, evaluators: Mapping[str, str], holders: Mapping[str, str] | None = None) -> list[str]:
        """The codes of ``evaluators`` (code -> the person holding it: :attr:`.rounds.Round.evaluators`, the codes still
        assigned) whose holder has not scored this proposal, in the order they were assigned. A person scores once,
        whatever codes they hold (:meth:`score`): one who scored under one of their codes leaves none of them pending.
        ``holders`` (:attr:`.rounds.Round.holders`, withdrawn codes included; ``evaluators`` when None) says whose each
        scoring is: a person whose code was withdrawn after they scored, and who was given another, is not awaited again."""
        holders = evaluators if holders is None else holders
        scored_codes = {s.evaluator for s in self.scorings}
        scored_by = {holders[code] for code in scored_codes if code in holders}
        return [code for code, holder in evaluators.items() if code not in scored_codes and holder not in scored_by]

    def check_scored_by_every_evaluator(self, round_: Round, decision: str) -> None:
        """409 ``scores_pending`` (:class:`ScoresPendingError`) while an evaluator still assigned to ``round_`` has yet to
        score (a withdrawn code is not waited for); ``decision`` ("an approval") is what waits, in the message."""
        if pending := self.evaluators_pending(round_.evaluators, round_.holders):
            raise ScoresPendingError(pending, decision)

    # Scoring ----------------------------------------------------------------

    def score(
        self, rubric: Sequence[Criterion], evaluator: str, scores: Sequence[Score], scored_on: date, holders_codes: Sequence[str] = ()
    ) -> Scoring:
        """One evaluator scores every criterion of the rubric once; the weighted total is recorded with the scores.

        Every mistake of the body (:meth:`scoring_mistakes`: the scores', a ``scored_on`` before the submission) comes
        first, in one 422, before the 409s the proposal's record decides. ``holders_codes``: every code the person scoring holds, or held until it was withdrawn, in the round
        (:meth:`.rounds.Round.codes_of`, :meth:`.rounds.Round.withdrawn_codes_of`). A person scores once: 409
        ``score_once`` for a code that scored already, 409 ``one_scoring_per_person`` for one whose holder scored under
        another of their codes (several only in a round assigned before one code per person, or when a code of theirs
        was withdrawn and they were given another: the scores it gave still count).
        """
        check_evaluator(evaluator)
        raise_first(self.scoring_mistakes(rubric, scores, scored_on))  # the body's own, all of them, before what the record says
        checked = {score.criterion: score.score for score in scores}
        self.check_undecided()
        for earlier in self.scorings:
            if earlier.evaluator == evaluator:
                raise AlreadyScoredError(evaluator, earlier.scored_on)
        for earlier in self.scorings:
            if earlier.evaluator in holders_codes:
                raise ScoredUnderAnotherCodeError(evaluator, earlier.evaluator, earlier.scored_on)
        self._scored(
            round_id=self.round_id,
            osv_id=self.osv_id,
            evaluator=evaluator,
            scores=[{"criterion": c.code, "score": checked[c.code]} for c in rubric],
            weighted_total=weighted_total(rubric, checked),
            scored_on=scored_on,
        )
        return self.scorings[-1]

    def scoring_mistakes(self, rubric: Sequence[Criterion], scores: Sequence[Score], scored_on: date) -> Iterator[RuleViolationError]:
        """Every mistake of a scoring's body: the scores' (:func:`.scoring.scoring_mistakes`, tester 208 F7), then a
        ``scored_on`` before the proposal's submission (422 ``not_before_submission``), told with them: it came only once
        a score out of range was put right (tester 212 F7)."""
        yield from scoring_mistakes(rubric, scores)
        yield from refused(check_not_before_submission, "scored_on", scored_on, self.submitted_on)

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
        """Approve up to what was requested, once scored, if the round's budget still holds the amount.

        Scored: by every evaluator assigned to the round (409 ``scores_pending``, :meth:`check_scored_by_every_evaluator`,
        naming those still to score, none scored yet as some: a rejection on merit answers the same), and by someone at
        all (422 ``scored_before_decision``, for a round with no evaluator assigned). The round records what the approval
        commits; save both together.
        """
        self.check_undecided()
        check_not_before_submission("approved_on", approved_on, self.submitted_on)
        self.check_scored_by_every_evaluator(round_, "an approval")
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

    def reject(self, round_: Round, reason: RejectionReason, rejected_on: date) -> None:
        """Reject the proposal of ``round_`` for ``reason``: on its merits (a low score, the budget, another reason) once
        every evaluator assigned to the round has scored it (409 ``scores_pending``); set aside unjudged
        (:data:`SET_ASIDE_UNSCORED`) at once."""
        self.check_undecided()
        check_not_before_submission("rejected_on", rejected_on, self.submitted_on)
        reason = RejectionReason(reason)
        if reason not in SET_ASIDE_UNSCORED:
            self.check_scored_by_every_evaluator(round_, f"a rejection for {reason}")
        self._rejected(round_id=self.round_id, osv_id=self.osv_id, reason=reason, rejected_on=rejected_on)

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

    def release_grant(self, grant_id: UUID) -> None:
        """A grant made from this proposal was withdrawn as entered in error: its amount is the proposal's to grant again
        (a grant typed with the wrong amount is granted again as it was made). Save it with the withdrawal."""
        if any(g.grant_id == grant_id for g in self.grants):
            self._grant_released(grant_id=grant_id)

    @event("GrantReleased")
    def _grant_released(self, grant_id: UUID) -> None:
        self.grants = [g for g in self.grants if g.grant_id != grant_id]

    # Its summary, forgotten ------------------------------------------------------

    def redact_summary(self) -> bool:
        """Record that the summary is forgotten (``ProposalSummaryRedacted``, private, no text); whether it did. It reads
        ``[redacted]`` from then on, whether sealed or stored in clear (before funding sealed it, where deleting its key
        forgets nothing); the proposal and its facts stay. A summary forgotten already (by this record, or by its key
        alone before it was kept) records nothing: a retry finds it done. Taken whatever the proposal's status."""
        if self.summary == REDACTED_TEXT:
            return False
        self._summary_redacted()
        return True

    @event("ProposalSummaryRedacted")
    def _summary_redacted(self) -> None:
        self.summary = REDACTED_TEXT


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
