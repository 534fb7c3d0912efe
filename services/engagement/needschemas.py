"""Engagement's request and response bodies of an OSV's needs assessments (counts only; nothing here is published: see
``events.py`` for what is). Split from :mod:`services.engagement.fieldschemas`, whose other field work they follow.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from services.engagement.domain.needs import (
    Need,
    NeedArea,
    NeedsAssessment,
    Priority,
    check_within_members_assessed,
    needs_mistakes,
)
from services.engagement.domain.withdrawals import FieldWithdrawalReason
from services.engagement.fieldschemas import FieldWithdrawalPublic, distinct_from_given, distinct_from_shown
from shared.errors import PartlyRead, RuleViolationError, check_at_least_one
from shared.schemas import (
    NOT_AFTER_DISSOLUTION,
    Command,
    Count,
    IsoDate,
    NotNegativeCount,
    domain_rows,
    domain_rule,
    list_rules,
)


class NeedCreate(Command):
    area: NeedArea = Field(description="The area of need; each area once per assessment (422 `unique_area`).")
    members_affected: NotNegativeCount = Field(
        description="Members assessed who have this need: 0 or more (422 `not_negative`), at most members_assessed (422 `within_members_assessed`)."
    )
    priority: Priority = Field(description="`high`, `medium` or `low`.")

    def to_domain(self) -> Need:
        return Need(self.area, self.members_affected, self.priority)


def _members_assessed(count: int) -> None:
    check_at_least_one(count, "members_assessed")


def _over_5_years_within_assessed(count: int, members_assessed: int) -> None:
    check_within_members_assessed(count, members_assessed, "members_over_5_years_in_peru")


def _needs(needs: list[NeedCreate | PartlyRead | None], members_assessed: int) -> Iterable[RuleViolationError]:
    return needs_mistakes(domain_rows(needs), members_assessed)


class NeedsAssessmentCreate(Command):
    assessed_on: IsoDate = Field(description="When the members were asked: not in the future." + NOT_AFTER_DISSOLUTION)
    members_assessed: Annotated[Count, domain_rule(_members_assessed)] = Field(
        description="How many members were asked: at least 1 (422 `at_least_1`)."
    )
    members_over_5_years_in_peru: Annotated[
        NotNegativeCount, domain_rule(_over_5_years_within_assessed, "members_assessed")
    ] = Field(
        description="How many of them have lived in Peru more than 5 years: 0 or more (422 `not_negative`, said even when "
        "`members_assessed` is wrong), at most members_assessed (422 `within_members_assessed`)."
    )
    needs: Annotated[list[NeedCreate], list_rules(_needs, "members_assessed")] = Field(
        default_factory=list, max_length=len(NeedArea), description="The needs found: one row per area."
    )
    distinct_from: list[UUID] = distinct_from_given("assessments of the same `assessed_on`", "assessment")


class NeedsAssessmentWithdrawalCreate(Command):
    reason: FieldWithdrawalReason = Field(
        description="Why the assessment was recorded by mistake: `entered_in_error` (no such assessment was made), "
        "`duplicate` (typed twice: the other record stands), `wrong_osv` or `wrong_date` (record it again as it was made). "
        "A code only: an assessment holds no staff's words."
    )


class NeedPublic(BaseModel):
    area: NeedArea
    members_affected: int
    priority: Priority


class NeedsAssessmentPublic(BaseModel):
    assessment_id: UUID
    osv_id: UUID
    assessed_on: date
    members_assessed: int
    members_over_5_years_in_peru: int
    needs: list[NeedPublic]
    distinct_from: list[UUID] = distinct_from_shown("assessments of the same day")
    status: str = Field(default="assessed", description="`assessed`; `withdrawn` once withdrawn as recorded by mistake.")
    withdrawal: FieldWithdrawalPublic | None = Field(default=None, description="Why and when it was withdrawn (`note` always null); null if it was not.")

    @classmethod
    def of(cls, osv_id: UUID, assessment: NeedsAssessment) -> NeedsAssessmentPublic:
        return cls(
            assessment_id=assessment.assessment_id,
            osv_id=osv_id,
            assessed_on=assessment.assessed_on,
            members_assessed=assessment.members_assessed,
            members_over_5_years_in_peru=assessment.members_over_5_years_in_peru,
            needs=[
                NeedPublic(area=n.area, members_affected=n.members_affected, priority=n.priority)
                for n in assessment.needs
            ],
            distinct_from=list(assessment.distinct_from),
            status="assessed" if assessment.withdrawal is None else "withdrawn",
            withdrawal=FieldWithdrawalPublic.of(assessment.withdrawal, text=False),
        )
