"""Funding's request and response bodies."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, TypeAdapter
from pydantic_core import PydanticCustomError

from services.funding.application import Funding
from services.funding.domain.budgets import (
    FIRST_CYCLE_YEAR,
    LAST_CYCLE_YEAR,
    BudgetOutcome,
    ParticipatoryBudgetSubmission,
    check_amount_funded,
    check_cycle_year,
)
from services.funding.domain.deliveries import item_mistakes
from services.funding.domain.grantceilings import check_grant_ceiling
from services.funding.domain.grants import (
    DeliveredItem,
    Disbursement,
    GoodsDelivery,
    Grant,
    GrantKind,
    GrantOutcome,
    GrantStatus,
    Support,
    Withdrawal,
    WithdrawalReason,
)
from services.funding.domain.phases import Phase, PhaseWithdrawal, PhaseWithdrawalReason
from shared.districts import fold
from shared.errors import refused
from shared.money import Currency
from shared.problems import as_body_errors
from shared.schemas import (
    MAX_COUNT,
    NOT_AFTER_DISSOLUTION,
    Command,
    IsoDate,
    Money,
    MoneyText,
    Name,
    Text,
    application_rule,
    domain_rule,
    list_rules,
    one_visible_line,
    read_or_none,
    serving,
    single_spaced,
)

MAX_SCORE = 1000
"""The widest a rubric's scale may be: a criterion's scores lie between 0 and this."""
MAX_TRANCHES = 100
"""More tranches than any seed fund is paid in."""

TOTAL_CODE = "total"
"""The name reporting gives the sum of every phase (a report's ``total``, ``?phase=total``): no phase's code."""


def _not_the_total(code: str) -> str:
    """Refuse ``total`` in any case, and with punctuation around it (``total.``, ``-TOTAL``; 422 ``not_total``): reporting names the sum of every phase so, where a phase is
    named by its code in any case (``?phase=TOTAL`` is the total: tester 215 F5), and a phase of that code could not be
    asked for. A store's phase opened so before keeps its code; reporting's total is what that name gives."""
    if fold(code) == TOTAL_CODE:  # `Total.` beside the sum in a donor's export reads as it (tester 221 F6)
        raise PydanticCustomError("not_total", f"must not be '{TOTAL_CODE}' in any case: reporting names the sum of every phase so")
    return code


PhaseCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=30, pattern=r"^[A-Za-z0-9._-]+$"),
    AfterValidator(_not_the_total),
]


WithdrawalNote = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
"""Staff's words on a mistake withdrawn (a grant's, a phase's): sealed, never published."""


class PhaseCreate(Command):
    code: PhaseCode = Field(
        description="Short unique code, e.g. `F1` (letters, digits, `.`, `_`, `-`), compared without regard to case: `f1` "
        "while `F1` exists is 409 `unique_code`; `total`, in any case, is reporting's name for the sum of every phase (422 "
        "`not_total`). Phases recorded before codes were so compared, differing only by case, stay as they were."
    )
    name: Name = Field(description="1-200 characters of one line, trimmed, each run of spaces made one (`Fase  1` is `Fase 1`).")
    starts_on: IsoDate
    ends_on: IsoDate = Field(description="Last day of the phase, not before `starts_on`.")


class PhaseWithdrawalCreate(Command):
    reason: PhaseWithdrawalReason = Field(
        description="Why the phase was entered in error: `entered_in_error` (the programme has no such phase: a test, a slip), "
        "`duplicate` (opened twice under two codes: the other stands), `wrong_code`, `wrong_name` or `wrong_dates` (open it "
        "again, under another code, as it is)."
    )
    note: WithdrawalNote | None = Field(
        default=None,
        description="Staff's words on the mistake, 1-2,000 characters; kept sealed, never published, `[withheld]` in the "
        "phase's history to readers of no staff text, forgotten with `POST /phases/{phase_id}/withdrawal/note/redaction`.",
    )


class PhaseWithdrawalPublic(BaseModel):
    reason: PhaseWithdrawalReason
    withdrawn_on: date = Field(description="The day the withdrawal was recorded, in Lima. The note is in the phase's history.")

    @classmethod
    def of(cls, withdrawal: PhaseWithdrawal | None) -> PhaseWithdrawalPublic | None:
        return None if withdrawal is None else cls(reason=withdrawal.reason, withdrawn_on=withdrawal.withdrawn_on)


class PhasePublic(BaseModel):
    id: UUID
    code: str
    name: str
    starts_on: date
    ends_on: date
    withdrawal: PhaseWithdrawalPublic | None = Field(
        default=None,
        description="Why and when it was withdrawn as entered in error (its dates free for another phase, its code taken still, "
        "reported nowhere from then on); null if it was not.",
    )

    @classmethod
    def of(cls, phase: Phase) -> PhasePublic:
        return cls(
            id=phase.id, code=phase.code, name=phase.name, starts_on=phase.starts_on, ends_on=phase.ends_on,
            withdrawal=PhaseWithdrawalPublic.of(phase.withdrawal),
        )


# Goods deliveries, disbursements, closing ------------------------------------

ItemName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), one_visible_line, single_spaced]
"""An item's name as recorded and published: one visible line of 1-100 characters, its runs of spaces made one
(``cocina  industrial`` is ``cocina industrial``, as a delivery compares items)."""
ReportReference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/#-]*$")
]


class DeliveredItemCreate(Command):
    item: ItemName = Field(description="What was handed over, e.g. `kit de pintura` (goods, never people's names).")
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_COUNT)] = Field(description="How many, at least 1.")
    unit_value: Money = Field(description="What one is worth, a decimal string > 0 in the grant's currency.")

    def to_domain(self) -> DeliveredItem:
        return DeliveredItem(self.item, self.quantity, self.unit_value)


class GoodsDeliveryCreate(Command):
    items: Annotated[list[DeliveredItemCreate], list_rules(item_mistakes)] = Field(
        min_length=1,
        max_length=100,
        description="The goods delivered, one line per item: an item listed twice, its name read without regard to case, "
        "spaces, accents or punctuation, is 422 `unique_item` at the later row's `item`, whatever its quantity or value (goods of another size or "
        "value are another item: name them apart, `olla 20 l`, `olla 50 l`).",
    )
    delivered_on: IsoDate = Field(description="When the goods were handed over; not before the grant, nor after its OSV's dissolution (409 `osv_not_dissolved`).")
    distinct_from: list[UUID] = Field(
        default_factory=list,
        max_length=50,
        description="The grant's deliveries of the same `delivered_on` and goods (each item in the same quantity at the same "
        "`unit_value`, in any order) that this one is not (the same kit handed over twice that day): without them, such a "
        "delivery is refused with 409 `possible_duplicate`, which names them. An id that is none of them is 422 "
        "`possible_duplicate_named`.",
    )


class DisbursementCreate(Command):
    tranche: int = Field(strict=True, ge=1, le=MAX_TRANCHES, description="The tranche's number: 1, 2, 3… in order (422 `next_tranche` naming the next; "
                        "a tranche recorded already, sent again, 409 `tranche_once` naming it, its `disbursement_id` in the answer).")
    amount: Money = Field(description="What was paid, a decimal string > 0 in the grant's currency.")
    disbursed_on: IsoDate = Field(
        description="When it was paid; not before the grant nor the previous tranche, nor after its OSV's dissolution (409 `osv_not_dissolved`)."
    )


class GrantClosingCreate(Command):
    outcome: GrantOutcome = Field(description="`completed`, `partially_completed` or `cancelled`.")
    final_report_reference: ReportReference = Field(
        description="The final report's filing reference, e.g. `INF-2021-017` (letters, digits, space, `._/#-`)."
    )
    closed_on: IsoDate = Field(description="When the grant was closed; not before anything recorded on it.")


class GrantWithdrawalCreate(Command):
    reason: WithdrawalReason = Field(
        description="Why the grant was entered in error: `entered_in_error` (no such grant was made), `duplicate` (typed twice: "
        "the other record stands), `wrong_osv`, `wrong_amount` (amount, currency or kind) or `wrong_date` (record it again "
        "as it was made)."
    )
    note: WithdrawalNote | None = Field(
        default=None,
        description="Staff's words on the mistake, 1-2,000 characters; kept sealed, never published, `[withheld]` in the "
        "grant's history to readers of no staff text, forgotten with `POST /grants/{grant_id}/withdrawal/note/redaction`.",
    )


class DeliveredItemPublic(BaseModel):
    item: str
    quantity: int
    unit_value: MoneyText
    value: MoneyText = Field(description="quantity × unit_value.")

    @classmethod
    def of(cls, line: DeliveredItem) -> DeliveredItemPublic:
        return cls(item=line.item, quantity=line.quantity, unit_value=line.unit_value, value=line.value)


class GoodsDeliveryPublic(BaseModel):
    id: UUID
    items: list[DeliveredItemPublic]
    total_value: MoneyText = Field(description="The sum of the items' values.")
    delivered_on: date
    distinct_from: list[UUID] = Field(
        default_factory=list,
        description="The grant's deliveries of the same day and goods that staff said this one is not (the request's `distinct_from`).",
    )

    @classmethod
    def of(cls, delivery: GoodsDelivery) -> GoodsDeliveryPublic:
        return cls(
            id=delivery.delivery_id,
            items=[DeliveredItemPublic.of(line) for line in delivery.items],
            total_value=delivery.total_value,
            delivered_on=delivery.delivered_on,
            distinct_from=list(delivery.distinct_from),
        )


class DisbursementPublic(BaseModel):
    id: UUID
    tranche: int
    amount: MoneyText
    disbursed_on: date

    @classmethod
    def of(cls, disbursement: Disbursement) -> DisbursementPublic:
        return cls(
            id=disbursement.disbursement_id,
            tranche=disbursement.tranche,
            amount=disbursement.amount,
            disbursed_on=disbursement.disbursed_on,
        )


class GrantTotals(BaseModel):
    delivered: MoneyText = Field(description="Value of the goods delivered so far.")
    disbursed: MoneyText = Field(description="Paid out in tranches so far.")
    remaining: MoneyText = Field(description="What may still be delivered or disbursed.")


class GrantClosingPublic(BaseModel):
    outcome: GrantOutcome
    final_report_reference: str
    closed_on: date


class GrantWithdrawalPublic(BaseModel):
    reason: WithdrawalReason
    withdrawn_on: date = Field(description="The day the withdrawal was recorded, in Lima. The note is in the grant's history.")

    @classmethod
    def of(cls, withdrawal: Withdrawal | None) -> GrantWithdrawalPublic | None:
        return None if withdrawal is None else cls(reason=withdrawal.reason, withdrawn_on=withdrawal.withdrawn_on)


# Participatory budgets ---------------------------------------------------------

MunicipalityId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10)]
UBIGEO_OR_MML = r"^\s*([0-9]{6}|[Mm][Mm][Ll])\s*$"
"""A municipality as a list's filter names it: a district's ubigeo or the MML (in words: :data:`shared.problems.PATTERNS_IN_WORDS`)."""


def _municipality_of_lima(funding: Funding, municipality_id: str) -> None:
    """``mml`` or a ubigeo of Lima's in funding's table (422 ``lima_municipality``; 503 ``osv_district_in_table`` for a
    district's ubigeo of Lima the table lacks while OSVs known here are in districts it lacks: it may be theirs, see
    :meth:`~shared.municipalities.MunicipalityTable.require_here`); whether the OSV deals with it is the application's."""
    funding.municipalities.require_here(municipality_id, funding.districts_lacking, "funding")


def _amount_funded_with_outcome(amount_funded: Decimal | None, outcome: BudgetOutcome) -> None:
    check_amount_funded(outcome, amount_funded)


class ParticipatoryBudgetCreate(Command):
    osv_id: UUID = Field(description="An OSV registered in the RUOS (as registry has published).")
    municipality_id: Annotated[MunicipalityId, application_rule(_municipality_of_lima)] = Field(
        description="Whose participatory budget: the OSV's district's municipality (the district's ubigeo, e.g. `150105` for "
        "an OSV of Breña) or the MML (`mml`). Another district's is 422 `municipality_of_the_osv`; one not of Lima, 422 "
        "`lima_municipality`; a district's ubigeo of Lima funding's districts table lacks, while OSVs it knows are in districts "
        "it lacks, 503 `osv_district_in_table` with `Retry-After` (the operator gives funding registry's districts file)."
    )
    cycle_year: Annotated[
        int, Field(strict=True, json_schema_extra={"minimum": FIRST_CYCLE_YEAR, "maximum": LAST_CYCLE_YEAR}), domain_rule(check_cycle_year)
    ] = Field(description=f"The participatory-budget cycle's year, {FIRST_CYCLE_YEAR} to {LAST_CYCLE_YEAR} (422 `cycle_year_range`), at most 10 years after `submitted_on`'s (422 `within_planning_horizon`), and not before the year before it (a submission is for its own year's cycle or a later one, as a municipality takes projects the year before the budget year they are for; one year back is taken for a submission recorded late: submitted in 2026, 2025 at the earliest; else 422 `not_before_previous_cycle`).")
    project_title: Text = Field(description="The project's title as submitted.")
    amount_requested: Money
    currency: Currency
    submitted_on: IsoDate = Field(description="When the OSV submitted it; the OSV was on the RUOS by then." + NOT_AFTER_DISSOLUTION)


class ParticipatoryBudgetDecisionCreate(Command):
    outcome: BudgetOutcome = Field(description="`accepted`, `not_accepted` or `funded`.")
    amount_funded: Annotated[Money | None, domain_rule(_amount_funded_with_outcome, "outcome", none_too=True)] = Field(
        default=None,
        validate_default=True,
        description="Required when funded (422 `required_when_funded`), at most what was requested; else absent (422 `only_when_funded`).",
    )
    decided_on: IsoDate = Field(description="When the municipality decided; not before the submission.")


class ParticipatoryBudgetDecisionPublic(BaseModel):
    outcome: BudgetOutcome
    amount_funded: MoneyText | None
    decided_on: date


class ParticipatoryBudgetPublic(BaseModel):
    id: UUID
    osv_id: UUID
    municipality_id: str
    cycle_year: int
    project_title: str
    amount_requested: MoneyText
    currency: Currency
    submitted_on: date
    decision: ParticipatoryBudgetDecisionPublic | None = Field(description="The municipality's decision, once recorded.")

    @classmethod
    def of(cls, submission: ParticipatoryBudgetSubmission) -> ParticipatoryBudgetPublic:
        decision = submission.decision
        return cls(
            id=submission.id,
            osv_id=submission.osv_id,
            municipality_id=submission.municipality_id,
            cycle_year=submission.cycle_year,
            project_title=submission.project_title,
            amount_requested=submission.amount_requested,
            currency=submission.currency,
            submitted_on=submission.submitted_on,
            decision=(
                ParticipatoryBudgetDecisionPublic(
                    outcome=decision.outcome, amount_funded=decision.amount_funded, decided_on=decision.decided_on
                )
                if decision
                else None
            ),
        )


# Grants ---------------------------------------------------------------------------


_MONEY, _CURRENCY = TypeAdapter(Money), TypeAdapter(Currency)


def grant_body_rules(path: Mapping[str, Any], body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The programme's ceiling for one grant (422 ``at_most_grant_ceiling``), for a ``POST /grants`` body refused for its
    other mistakes to name it in the same 422 (:func:`~shared.problems.route_body_rules`; tester 196 F2): it came in a
    second 422 once the rest was put right. A body the schema took is checked by :meth:`Funding.new_grant`."""
    funding = serving()
    amount, currency = read_or_none(_MONEY, body.get("amount")), read_or_none(_CURRENCY, body.get("currency"))
    if funding is None or amount is None or currency is None:
        return []  # the schema says what is wrong with them
    return as_body_errors(refused(check_grant_ceiling, amount, currency, funding.grant_ceilings))


class GrantCreate(Command):
    osv_id: UUID = Field(description="An OSV that registry has mapped.")
    amount: Money = Field(
        description="A positive decimal string to the cent (e.g. \"1500.00\"), in `currency`: at most the programme's ceiling "
        "for one grant (`FUNDING_GRANT_CEILING_PEN`, by default 100000.00; `FUNDING_GRANT_CEILING_USD`, 30000.00), else 422 "
        "`at_most_grant_ceiling`."
    )
    currency: Currency
    granted_on: IsoDate = Field(description="When it was granted." + NOT_AFTER_DISSOLUTION)
    kind: GrantKind = Field(description="`seed_fund` (money) or `goods`.")
    distinct_from: list[UUID] = Field(
        default_factory=list,
        max_length=50,
        description="The OSV's grants of the same kind, amount, currency and `granted_on` that this one is not (two packages "
        "handed over the same day): without them, such a grant is refused with 409 `possible_duplicate`, which names them "
        "(a grant withdrawn as entered in error is none). An id that is none of them is 422 `possible_duplicate_named`.",
    )


class GrantPublic(BaseModel):
    id: UUID
    osv_id: UUID
    amount: MoneyText
    currency: Currency
    granted_on: date
    kind: GrantKind
    support: Support = Field(
        description="`repeat` when the OSV was granted support in an earlier phase (outside every phase: on an earlier day), "
        "else `first_time`, as the OSV's grants and the phases now stand: a grant typed in later with an earlier date, or a "
        "phase opened later, restates it (`GrantSupportRestated`, in the grant's history)."
    )
    proposal_id: UUID | None = Field(description="The approved proposal it was granted on, if any.")
    round_id: UUID | None = Field(description="The funding round of that proposal, if any.")
    status: GrantStatus = Field(
        description="`open`; `closed` once its closing is recorded; `withdrawn` once withdrawn as entered in error (it counts "
        "nowhere, and takes no record)."
    )
    deliveries: list[GoodsDeliveryPublic] = Field(description="Goods delivered (goods grants), in the order recorded.")
    disbursements: list[DisbursementPublic] = Field(description="Tranches paid (seed funds), in order.")
    totals: GrantTotals
    closing: GrantClosingPublic | None
    withdrawal: GrantWithdrawalPublic | None = Field(description="Why and when it was withdrawn as entered in error; null if it was not.")
    distinct_from: list[UUID] = Field(
        default_factory=list,
        description="The OSV's grants of the same kind, amount, currency and day that staff said this one is not (`POST /grants`'s `distinct_from`).",
    )

    @classmethod
    def of(cls, grant: Grant) -> GrantPublic:
        closing = grant.closing
        return cls(
            id=grant.id,
            osv_id=grant.osv_id,
            amount=grant.amount,
            currency=grant.currency,
            support=grant.support,
            proposal_id=grant.proposal_id,
            round_id=grant.round_id,
            status=grant.status,
            deliveries=[GoodsDeliveryPublic.of(d) for d in grant.deliveries],
            disbursements=[DisbursementPublic.of(d) for d in grant.disbursements],
            totals=GrantTotals(delivered=grant.delivered, disbursed=grant.disbursed, remaining=grant.remaining),
            closing=GrantClosingPublic(
                outcome=closing.outcome, final_report_reference=closing.final_report_reference, closed_on=closing.closed_on
            )
            if closing
            else None,
            granted_on=grant.granted_on,
            kind=grant.kind,
            withdrawal=GrantWithdrawalPublic.of(grant.withdrawal),
            distinct_from=grant.distinct_from,
        )
