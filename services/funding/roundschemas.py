"""Funding's request and answer bodies for rounds and proposals: the rubric, evaluators, proposals, their scorings,
decisions and grants, the ranking (pydantic). The rest of funding's bodies are :mod:`.schemas`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints, TypeAdapter

from services.funding.domain.grants import (
    GrantKind,
)
from services.funding.domain.proposals import (
    Approval,
    PlannedOutput,
    Proposal,
    ProposalStatus,
    Rejection,
    RejectionReason,
    Standing,
    planned_output_mistakes,
)
from services.funding.domain.rounds import Eligibility, EvaluatorWithdrawalReason, Round, rubric_mistakes
from services.funding.domain.scoring import Criterion, check_evaluator, check_subject, repeated_criteria
from services.funding.histories import RoundRecordedEvent
from services.funding.schemas import MAX_SCORE
from shared import dryrun
from shared.errors import PartlyRead, RuleViolationError, check_at_least_one
from shared.history import EventRecordPublic
from shared.money import Currency
from shared.outputs import OutputKind
from shared.problems import as_body_errors
from shared.roles import shown_text
from shared.schemas import (
    MAX_COUNT,
    NOT_AFTER_DISSOLUTION,
    Command,
    DecimalText,
    IsoDate,
    Money,
    MoneyText,
    Name,
    NotNegativeCount,
    Text,
    decimal_string,
    decimal_text,
    domain_rows,
    domain_rule,
    list_rules,
    not_negative,
    read_or_none,
)
from shared.views.osvdirectory import OSVDescription

# Rounds and proposals -----------------------------------------------------------------

SCORING_RULE = (
    "Each criterion's score is normalised to 0–100 over its range, (score − min_score) / (max_score − min_score) × 100; "
    "an evaluator's weighted total is Σ(weight × normalised score) / Σ weight, worked out exactly and rounded once "
    "to 2 places, half up. Weights are relative: any positive decimals (1, 1, 2 weigh as 25, 25, 50 do)."
)


Weight = Annotated[
    Decimal,
    decimal_text("0.25"),
    Field(gt=0, max_digits=9, decimal_places=4),
    decimal_string(
        "A relative weight, a positive decimal string, e.g. \"0.25\" or \"2\" (422 `greater_than_0`), at most 4 places (422 "
        "`at_most_4_decimal_places`); a JSON number is refused (422 `decimal_text`).",
        r"^\d{1,5}(\.\d{1,4})?$",
    ),
]
CriterionCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_]*$")
]
Count = NotNegativeCount
Score = Annotated[int, Field(strict=True, ge=-MAX_SCORE, le=MAX_SCORE)]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
EvaluatorCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20), domain_rule(check_evaluator)]
"""An evaluator code: 1-20 letters, digits, `.`, `_`, `-`, with a digit (422 ``evaluator_code``: never a name)."""


class RubricCriterionCreate(Command):
    code: CriterionCode = Field(description="Unique in the rubric, lower case, e.g. `organisational_capacity`.")
    name: Name = Field(description="1-200 characters of one line, trimmed, each run of spaces made one.")
    weight: Weight
    min_score: Annotated[int, Field(strict=True, le=MAX_SCORE, json_schema_extra={"minimum": 0}), not_negative] = Field(
        description="The lowest score, 0 or more (422 `not_negative`)."
    )
    max_score: Annotated[int, Field(strict=True, le=MAX_SCORE)] = Field(
        description=f"The highest score, above `min_score` (422 `max_above_min`), at most {MAX_SCORE} (422 `at_most_{MAX_SCORE}`)."
    )

    def to_domain(self) -> Criterion:
        return Criterion(self.code, self.name, self.weight, self.min_score, self.max_score)


def _rubric(criteria: list[RubricCriterionCreate | PartlyRead | None]) -> Iterable[RuleViolationError]:
    return rubric_mistakes(domain_rows(criteria))


class RoundCreate(Command):
    phase_id: UUID = Field(description="The phase the round belongs to; its dates hold the round's.")
    name: Name = Field(description="1-200 characters of one line, trimmed, each run of spaces made one (`Ronda  2026` is `Ronda 2026`).")
    budget: Money
    currency: Currency
    opens_on: IsoDate = Field(description="First day proposals are taken, within the phase.")
    closes_on: IsoDate = Field(description="Last day proposals are taken, not before `opens_on`, within the phase.")
    eligibility: Eligibility = Field(description="`mapped` (any mapped OSV) or `ruos_registered` (RUOS-registered OSVs only).")
    criteria: Annotated[list[RubricCriterionCreate], list_rules(_rubric)] = Field(
        max_length=30,
        description="The rubric. It must include `organisational_capacity` and `administrative_capacity` (422 "
        "`rubric_includes_capacity`), each code once (422 `unique_criterion_codes`), each `max_score` above its `min_score` "
        "(422 `max_above_min`). " + SCORING_RULE,
    )


class RoundClosingCreate(Command):
    closed_on: IsoDate = Field(description="When the round stopped taking proposals, not before it opened.")


class EvaluatorAssignmentCreate(Command):
    evaluator: EvaluatorCode = Field(
        description="The opaque code the person's scores are published under, such as `EV-1` (1–20 letters, digits, `.`, `_`, `-`, "
        "with a digit: 422 `evaluator_code`), never a name; once per round (409 `evaluator_code_once`), compared without "
        "regard to case (`ev-1` is `EV-1`, shown as first assigned)."
    )
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), domain_rule(check_subject)] = Field(
        description="Who holds it: the person's login at the identity provider (the `sub` of their tokens), e.g. `evaluator`: "
        "1-255 visible ASCII characters, no space (422 `oidc_subject`; OpenID Connect Core 1.0, section 2). "
        "One code per person per round (409 `one_code_per_person`): the round's codes stand for distinct people, whose scores "
        "the ranking averages."
    )
    assigned_on: IsoDate = Field(description="Not before the round opened.")


class EvaluatorWithdrawalCreate(Command):
    withdrawn_on: IsoDate = Field(
        description="Not before the round opened (422 `not_before_opens_on`) nor before the code was assigned (422 "
        "`not_before_assignment`). It may come after the round's decisions (a conflict of interest found later): it "
        "changes none of them."
    )
    reason: EvaluatorWithdrawalReason = Field(
        description="`assigned_by_mistake` (a mistyped login, someone who is no evaluator, the wrong code), "
        "`left_the_programme`, `conflict_of_interest` or `other`. Kept in funding, never published."
    )


class EvaluatorPublic(BaseModel):
    evaluator: str = Field(description="The evaluator code.")
    subject: str | None = Field(
        description="The person who holds it (their login): shown to leads, who assign codes, and auditors "
        "(`evaluators:read`), and to its holder; null to everyone else, since who holds which code stays private to funding (scores are published "
        "under the code)."
    )


class WithdrawnEvaluatorPublic(EvaluatorPublic):
    withdrawn_on: date
    reason: EvaluatorWithdrawalReason


class RubricCriterionPublic(BaseModel):
    code: str
    name: str
    weight: DecimalText
    min_score: int
    max_score: int


class RoundPublic(BaseModel):
    id: UUID
    phase_id: UUID
    name: str
    budget: MoneyText
    currency: Currency
    opens_on: date
    closes_on: date
    eligibility: Eligibility
    criteria: list[RubricCriterionPublic]
    closed_on: date | None = Field(description="Set once the round is closed.")
    approved_total: MoneyText = Field(description="What approvals have set aside from the budget.")
    remaining: MoneyText = Field(description="The budget not yet approved.")
    proposals: int = Field(description="How many proposals were submitted.")
    evaluators: list[EvaluatorPublic] = Field(
        description="Who may read and score the round's proposals, and under which code: the codes a decision waits for."
    )
    withdrawn_evaluators: list[WithdrawnEvaluatorPublic] = Field(
        description="Codes a lead withdrew: no longer waited for, reading or scoring; the scores they gave stay and count. "
        "A withdrawn code is never assigned again (409 `evaluator_code_once`)."
    )
    version: int = Field(description="How many events the round has recorded.")

    @classmethod
    def of(cls, round_: Round, holders_for: str | None | bool = True) -> RoundPublic:
        """``holders_for``: True shows who holds every code; a subject, only the codes that subject holds; anything
        else, none (:class:`EvaluatorPublic`)."""
        def holder(subject: str) -> str | None:
            return subject if holders_for is True or (isinstance(holders_for, str) and holders_for == subject) else None

        return cls(
            id=round_.id,
            phase_id=round_.phase_id,
            name=round_.name,
            budget=round_.budget,
            currency=round_.currency,
            opens_on=round_.opens_on,
            closes_on=round_.closes_on,
            eligibility=round_.eligibility,
            criteria=[
                RubricCriterionPublic(
                    code=c.code, name=c.name, weight=c.weight, min_score=c.min_score, max_score=c.max_score
                )
                for c in round_.criteria
            ],
            closed_on=round_.closed_on,
            approved_total=round_.approved_total,
            remaining=round_.remaining,
            proposals=len(round_.proposal_ids),
            evaluators=[EvaluatorPublic(evaluator=code, subject=holder(subject)) for code, subject in sorted(round_.evaluators.items())],
            withdrawn_evaluators=[
                WithdrawnEvaluatorPublic(evaluator=code, subject=holder(w.subject), withdrawn_on=w.withdrawn_on, reason=w.reason)
                for code, w in sorted(round_.withdrawn.items())
            ],
            version=dryrun.version_shown(round_),
        )


class RoundEventRecordPublic(EventRecordPublic):
    """One stored event of a round's history: the round's own, or one of its proposals' (``proposal_id``)."""

    proposal_id: UUID | None = Field(
        description="The proposal whose event it is (its `version` counts that proposal's events); null for the "
        "round's own (its opening, each proposal entered, evaluator codes assigned and withdrawn, the budget "
        "committed, its closing)."
    )

    @classmethod
    def of_round(cls, entry: RoundRecordedEvent) -> RoundEventRecordPublic:
        return cls(**EventRecordPublic.of(entry.recorded).model_dump(), proposal_id=entry.proposal_id)


def _at_least_one(count: int) -> None:
    check_at_least_one(count, "count")


class PlannedOutputCreate(Command):
    kind: OutputKind
    count: Annotated[int, Field(strict=True, le=MAX_COUNT), domain_rule(_at_least_one)] = Field(description="How many: at least 1 (422 `at_least_1`).")

    def to_domain(self) -> PlannedOutput:
        return PlannedOutput(self.kind, self.count)


def _planned_outputs(outputs: list[PlannedOutputCreate | PartlyRead | None]) -> Iterable[RuleViolationError]:
    return planned_output_mistakes(domain_rows(outputs))


class ProposalCreate(Command):
    osv_id: UUID = Field(description="A mapped OSV, not dissolved before `submitted_on` (RUOS-registered, if the round asks for it).")
    title: Text = Field(description="The project's title; published.")
    summary: Summary = Field(description="What the project is about; kept in funding, never published.")
    requested_amount: Money = Field(
        description="At most the round's budget, in its currency; a decimal string. At most the programme's ceiling for one "
        "grant in that currency too (`FUNDING_GRANT_CEILING_PEN`, by default 100000.00; `FUNDING_GRANT_CEILING_USD`, "
        "30000.00), else 422 `at_most_grant_ceiling`."
    )
    planned_direct_beneficiaries: Count = Field(description="People the project plans to reach directly: 0 or more (422 `not_negative`).")
    planned_indirect_beneficiaries: Count = Field(description="People it plans to reach indirectly: 0 or more (422 `not_negative`).")
    planned_outputs: Annotated[list[PlannedOutputCreate], list_rules(_planned_outputs)] = Field(
        default_factory=list, max_length=10, description="What it plans to leave behind: one row per kind (422 `unique_kinds`)."
    )
    submitted_on: IsoDate = Field(description="Within the round's dates." + NOT_AFTER_DISSOLUTION)


class ScoreCreate(Command):
    criterion: CriterionCode = Field(description="A criterion code of the round's rubric.")
    score: Score = Field(description="A whole number within the criterion's range (422 `score_within_range`).")


_CRITERION = TypeAdapter(CriterionCode)


def scoring_body_rules(path: Mapping[str, Any], body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A scoring its schema refused: each criterion scored again (422 ``score_each_criterion_once``, at its row's
    ``criterion``) in the same 422 as the schema's mistakes (:func:`~shared.problems.route_body_rules`; tester 208 F7), a
    mistake of the body alone. A body the schema took is judged whole by :meth:`Funding.score_proposal`: every row against
    the round's rubric (a criterion not in it, scored again, out of its range; one left unscored) in one 422, before any
    409. The ranges are the round's record, read only for a caller it is assigned to (another is told 404)."""
    rows = body.get("scores")
    if not isinstance(rows, list):
        return []
    criteria = [read_or_none(_CRITERION, row.get("criterion")) if isinstance(row, Mapping) else None for row in rows]
    return as_body_errors(repeated_criteria(criteria))


class ScoringCreate(Command):
    evaluator: EvaluatorCode | None = Field(
        default=None,
        description="The evaluator code you score under, such as `EV-1` (422 `evaluator_code` for anything else, a name "
        "included): one a lead assigned to you in the proposal's round "
        "(`POST /rounds/{round_id}/evaluators`); needed only if you hold several there (only in a round assigned before a person "
        "held one code per round). Compared without regard to case (`ev-1` names `EV-1`); the scoring is recorded under the "
        "code as assigned. Each code, and each person, scores a proposal once.",
    )
    scores: list[ScoreCreate] = Field(max_length=30, description="Every criterion of the rubric, once.")
    scored_on: IsoDate = Field(description="Not before the proposal was submitted, nor after its OSV's dissolution (409 `osv_not_dissolved`).")


class ApprovalCreate(Command):
    amount: Money = Field(
        description="At most what was requested, and at most what remains of the round's budget; at most the programme's "
        "ceiling for one grant in the proposal's currency (as a proposal's `requested_amount`), else 422 `at_most_grant_ceiling`."
    )
    approved_on: IsoDate = Field(description="Not before the proposal was submitted, nor after its OSV's dissolution (409 `osv_not_dissolved`).")


class RejectionCreate(Command):
    reason: RejectionReason = Field(
        description="`low_score`, `over_budget`, `ineligible`, `incomplete`, `withdrawn` or `other`. `low_score`, `over_budget` "
        "and `other` judge the proposal on its merits: refused (409 `scores_pending`) until every evaluator of its round has scored it."
    )
    rejected_on: IsoDate = Field(description="Not before the proposal was submitted.")


class ProposalGrantCreate(Command):
    kind: GrantKind = Field(description="`seed_fund` (money) or `goods`.")
    amount: Money = Field(description="With the proposal's earlier grants, at most its approved amount.")
    granted_on: IsoDate = Field(description="Not before the proposal was approved." + NOT_AFTER_DISSOLUTION)


class PlannedOutputPublic(BaseModel):
    kind: OutputKind
    count: int


class ScorePublic(BaseModel):
    criterion: str
    score: int


class ScoringPublic(BaseModel):
    evaluator: str
    scores: list[ScorePublic]
    weighted_total: MoneyText = Field(description="0–100 with 2 places. " + SCORING_RULE)
    scored_on: date


class ApprovalPublic(BaseModel):
    amount: MoneyText
    approved_on: date


class RejectionPublic(BaseModel):
    reason: RejectionReason
    rejected_on: date


class ProposalGrantPublic(BaseModel):
    grant_id: UUID
    amount: MoneyText
    granted_on: date


class ProposalOSVPublic(BaseModel):
    """The OSV a proposal belongs to, as funding's view of registry's OSVs holds it (it lags registry by the time its
    events take to arrive: null until then, never an error)."""

    id: UUID = Field(description="The OSV's id (the proposal's `osv_id`).")
    name: str | None = Field(
        description="The organisation's name as registry mapped it (an organisation's name, published to partners, never a "
        "person's); null while registry's `OSVMapped` has not arrived, or, just after an upgrade, until funding has read it "
        "again from registry's feed."
    )
    district: str | None = Field(description="Its district of Lima; null while its mapping has not arrived.")
    zone: str | None = Field(description="Lima Norte, Lima Sur, Lima Este or Lima Centro; null while its mapping has not arrived.")
    registered_in_ruos: bool | None = Field(
        description="Whether its municipality registered it in the RUOS (registry's `RUOSRegistered`); null while nothing of "
        "the OSV has arrived."
    )
    merged_into_osv_id: UUID | None = Field(
        description="Set when registry found the OSV a second record of another and merged it there (`OSVMerged`): the "
        "proposal stays the recorded OSV's, shown as it was mapped; the organisation goes on as this one."
    )

    @classmethod
    def of(cls, osv_id: UUID, described: OSVDescription | None) -> ProposalOSVPublic:
        """``described``: the directory's :class:`~shared.views.osvdirectory.OSVDescription` of the OSV (None: nothing known)."""
        known = described or OSVDescription(str(osv_id))
        return cls(
            id=osv_id,
            name=known.name,
            district=known.district,
            zone=known.zone,
            registered_in_ruos=known.registered_in_ruos,
            merged_into_osv_id=UUID(known.merged_into) if known.merged_into else None,
        )


OSV_SHOWN = (
    "The OSV the proposal belongs to (its name, district, zone, RUOS registration, merge), from funding's view of "
    "registry's OSVs, to everyone who reads the proposal, its evaluators included (who read no OSV in registry)."
)


class ProposalPublic(BaseModel):
    id: UUID
    round_id: UUID
    osv_id: UUID
    osv: ProposalOSVPublic = Field(description=OSV_SHOWN)
    title: str
    summary: str = Field(
        description="What the project is about: to staff and leads (`personal-data:read`) and to the round's evaluators, "
        "who score it; `[withheld]` to auditors (staff's words may name people); `[redacted]` once forgotten."
    )
    requested_amount: MoneyText
    currency: Currency
    planned_direct_beneficiaries: int
    planned_indirect_beneficiaries: int
    planned_outputs: list[PlannedOutputPublic]
    submitted_on: date
    status: ProposalStatus = Field(description="`submitted`, `approved` or `rejected`.")
    scorings: list[ScoringPublic] = Field(
        description="The evaluators' scorings, in the order they were given. An evaluator is shown its own alone, before it "
        "scores (none) and after: evaluators score blind, as another's scores would anchor theirs; the lead, staff and "
        "auditors read every one."
    )
    mean_weighted_total: MoneyText | None = Field(
        description="The mean of the evaluators' totals; null until scored, and always null to an evaluator (it is the panel's)."
    )
    approval: ApprovalPublic | None
    rejection: RejectionPublic | None
    grants: list[ProposalGrantPublic] = Field(description="Grants made from this proposal.")
    granted_total: MoneyText
    version: int | None = Field(
        description="How many events the proposal has recorded; null to an evaluator, as it counts the other evaluators' scorings."
    )

    @classmethod
    def of(
        cls, proposal: Proposal, osv: OSVDescription | None, *, summary: bool = True, scorings_under: Collection[str] | None = None
    ) -> ProposalPublic:
        """The proposal; its summary only when ``summary`` (see ``services.funding.api.shows_summary``), else withheld. A command's answer
        shows it: only staff, leads and the round's evaluators send one. ``osv``: the directory's description of its OSV
        (:meth:`~shared.views.osvdirectory.OSVDirectory.describe`; None, nothing known of it yet).

        ``scorings_under``: the evaluator codes whose scorings are shown (an evaluator's own,
        ``services.funding.api.scorings_shown``), the mean and the version then null; None shows every scoring."""
        decision = proposal.decision
        blind = scorings_under is not None
        scorings = proposal.scorings_under(scorings_under) if blind else proposal.scorings
        return cls(
            id=proposal.id,
            round_id=proposal.round_id,
            osv_id=proposal.osv_id,
            osv=ProposalOSVPublic.of(proposal.osv_id, osv),
            title=proposal.title,
            summary=shown_text(proposal.summary, summary),
            requested_amount=proposal.requested_amount,
            currency=proposal.currency,
            planned_direct_beneficiaries=proposal.planned_direct_beneficiaries,
            planned_indirect_beneficiaries=proposal.planned_indirect_beneficiaries,
            planned_outputs=[PlannedOutputPublic(kind=o.kind, count=o.count) for o in proposal.planned_outputs],
            submitted_on=proposal.submitted_on,
            status=proposal.status,
            scorings=[
                ScoringPublic(
                    evaluator=s.evaluator,
                    scores=[ScorePublic(criterion=x.criterion, score=x.score) for x in s.scores],
                    weighted_total=s.weighted_total,
                    scored_on=s.scored_on,
                )
                for s in scorings
            ],
            mean_weighted_total=None if blind else proposal.mean_weighted_total,
            approval=ApprovalPublic(amount=decision.amount, approved_on=decision.approved_on)
            if isinstance(decision, Approval)
            else None,
            rejection=RejectionPublic(reason=decision.reason, rejected_on=decision.rejected_on)
            if isinstance(decision, Rejection)
            else None,
            grants=[ProposalGrantPublic(grant_id=g.grant_id, amount=g.amount, granted_on=g.granted_on) for g in proposal.grants],
            granted_total=proposal.granted_total,
            version=None if blind else dryrun.version_shown(proposal),
        )


class StandingPublic(BaseModel):
    place: int = Field(description="1 for the highest mean weighted total; unscored proposals come last.")
    proposal_id: UUID
    osv_id: UUID
    osv: ProposalOSVPublic = Field(description=OSV_SHOWN)
    title: str
    status: ProposalStatus
    requested_amount: MoneyText
    mean_weighted_total: MoneyText | None = Field(
        description="Mean of the evaluators' weighted totals as recorded (each already rounded to 2 places, so anyone can work "
        "it out from the published `ProposalScored` events), 2 places half up: totals 3.13 and 0.00 give 1.57."
    )
    criterion_means: dict[str, MoneyText] = Field(description="Mean score per criterion code, 2 places half up.")
    evaluator_count: int
    tied: bool = Field(
        default=False,
        description="Another scored proposal of the round has the same `mean_weighted_total`: their places among themselves "
        "are submission order's, not the scores' (a committee or an auditor sees that the order decided it).",
    )

    @classmethod
    def of(cls, place: int, standing: Standing, osv: OSVDescription | None, tied: bool = False) -> StandingPublic:
        proposal = standing.proposal
        return cls(
            place=place,
            proposal_id=proposal.id,
            osv_id=proposal.osv_id,
            osv=ProposalOSVPublic.of(proposal.osv_id, osv),
            title=proposal.title,
            status=proposal.status,
            requested_amount=proposal.requested_amount,
            mean_weighted_total=standing.mean_weighted_total,
            criterion_means=standing.criterion_means,
            evaluator_count=standing.evaluator_count,
            tied=tied,
        )


class RankingPublic(BaseModel):
    round_id: UUID
    currency: Currency
    budget: MoneyText
    remaining: MoneyText
    proposals: list[StandingPublic] = Field(
        description="Highest mean weighted total first, ties in submission order (each marked `tied`), unscored proposals last."
    )

    @classmethod
    def of(cls, round_: Round, standings: list[Standing], osvs: Mapping[str, OSVDescription]) -> RankingPublic:
        """``osvs``: the directory's description of each proposal's OSV, by id as text (:meth:`~shared.views.osvdirectory.OSVDirectory.describe`).
        A standing whose mean another scored one shares is ``tied`` (tester 177 F3: two 80.00 took places 1 and 2 unmarked)."""
        means = Counter(s.mean_weighted_total for s in standings if s.mean_weighted_total is not None)
        return cls(
            round_id=round_.id,
            currency=round_.currency,
            budget=round_.budget,
            remaining=round_.remaining,
            proposals=[
                StandingPublic.of(place, s, osvs.get(str(s.proposal.osv_id)), tied=s.mean_weighted_total is not None and means[s.mean_weighted_total] > 1)
                for place, s in enumerate(standings, start=1)
            ],
        )
