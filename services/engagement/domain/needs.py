"""Engagement's field work: assessments of what an OSV's members need, counts only, never who.

Pure: the aggregate, the events it records, the rules and the named errors
those rules raise.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from services.engagement.domain.repeats import check_not_recorded, kept
from services.engagement.domain.withdrawals import FieldWithdrawalReason, Withdrawal
from shared.errors import (
    ConflictError,
    NotFoundError,
    PartlyRead,
    RuleViolationError,
    check_at_least_one,
    check_not_before,
    check_not_in_future,
    check_not_negative,
    field_of,
    raise_first,
    refused,
)


class NeedArea(StrEnum):
    EMPLOYMENT = "employment"
    STUDIES = "studies"
    POVERTY = "poverty"
    HEALTH = "health"
    EDUCATION = "education"
    DOCUMENTATION = "documentation"
    HOUSING = "housing"
    FOOD = "food"
    CHILDCARE = "childcare"
    LEGAL_STATUS = "legal_status"
    DISCRIMINATION = "discrimination"
    OTHER = "other"


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# Named errors -----------------------------------------------------------


class BeyondMembersAssessedError(RuleViolationError):
    def __init__(self, field: str, members_assessed: int) -> None:
        super().__init__(
            f"{field} must be at most members_assessed ({members_assessed})",
            field=field,
            rule="within_members_assessed",
        )


class RepeatedNeedAreaError(RuleViolationError):
    def __init__(self, index: int, area: str) -> None:
        super().__init__(
            f"need area '{area}' is assessed twice: give one row per area",
            field=f"needs.{index}.area",
            rule="unique_area",
        )


# Rules ------------------------------------------------------------------


class AssessmentNotFoundError(NotFoundError):
    def __init__(self, assessment_id: object) -> None:
        super().__init__(
            f"needs assessment {assessment_id} is not one of this OSV's", field="assessment_id", rule="known_assessment"
        )


class AssessmentWithdrawnError(ConflictError):
    """409 ``assessment_not_withdrawn``: the assessment was withdrawn as recorded by mistake, and is not withdrawn again."""

    def __init__(self, withdrawal: Withdrawal) -> None:
        super().__init__(
            f"this needs assessment was already withdrawn ({withdrawal.reason.value}) on {withdrawal.withdrawn_on.isoformat()}",
            field="assessment_id",
            rule="assessment_not_withdrawn",
        )


def check_within_members_assessed(count: int, members_assessed: int, field: str) -> None:
    """A count of the members assessed: 0 or more (422 ``not_negative``, as every count), at most ``members_assessed``
    (422 ``within_members_assessed``)."""
    check_not_negative(count, field)
    if count > members_assessed:
        raise BeyondMembersAssessedError(field, members_assessed)


def needs_mistakes(needs: Sequence[Need | PartlyRead | None], members_assessed: int) -> Iterator[RuleViolationError]:
    """Every mistake of an assessment's rows, in order: each affecting 0 to ``members_assessed`` members (422
    ``within_members_assessed``), one row per area (422 ``unique_area``). A row the API refused is judged on what was
    read of it (:func:`~shared.errors.field_of`): its area, read, still counts for repeats."""
    seen: set[NeedArea] = set()
    for index, need in enumerate(needs):
        area, members_affected = field_of(need, "area"), field_of(need, "members_affected")
        if members_affected is not None:
            yield from refused(check_within_members_assessed, members_affected, members_assessed, f"needs.{index}.members_affected")
        if area is None:
            continue
        if area in seen:
            yield RepeatedNeedAreaError(index, area)
        seen.add(area)


def check_needs(needs: Sequence[Need], members_assessed: int) -> None:
    """The first of :func:`needs_mistakes`, raised."""
    raise_first(needs_mistakes(needs, members_assessed))


# The needs record -------------------------------------------------------


@dataclass(frozen=True)
class Need:
    area: NeedArea
    members_affected: int
    priority: Priority


@dataclass(frozen=True)
class NeedsAssessment:
    assessment_id: UUID
    assessed_on: date
    members_assessed: int
    members_over_5_years_in_peru: int
    needs: tuple[Need, ...]
    distinct_from: tuple[UUID, ...] = ()
    """The OSV's assessments of the same day that staff said this one is not; none in one stored before."""
    withdrawal: Withdrawal | None = None
    """Set when it was withdrawn as recorded by mistake (:meth:`NeedsRecord.withdraw`); its reason is a code, no note."""


class NeedsRecord(Aggregate):
    """The needs assessments of one OSV's members: counts only, never who.

    One per OSV, its id worked out from the OSV's, opened with its first assessment.
    """

    FLAT_COPIED = ("assessments",)
    """Hold only values that never change: copied for a command as they are (:func:`shared.kept.copy_kept`)."""

    @staticmethod
    def create_id(osv_id: UUID, **_: object) -> UUID:
        return NeedsRecord.id_for(osv_id)

    @staticmethod
    def id_for(osv_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:needs-of:{osv_id}")

    @event("NeedsRecordOpened")
    def __init__(self, osv_id: UUID) -> None:
        self.osv_id = osv_id
        self.assessments: list[NeedsAssessment] = []

    def assess(
        self,
        assessed_on: date,
        members_assessed: int,
        members_over_5_years_in_peru: int,
        needs: Sequence[Need],
        *,
        today: date,
        mapped_on: date | None = None,
        distinct_from: Sequence[UUID] = (),
    ) -> NeedsAssessment:
        """Record how many members were asked, how many have lived in Peru over 5 years, and what they need.

        The programme assesses an OSV it has mapped: not before ``mapped_on``. An assessment of the same day as one the
        OSV holds, not withdrawn, is 409 ``possible_duplicate`` (field ``assessed_on``) naming it, unless ``distinct_from`` names it
        (:mod:`~services.engagement.domain.repeats`; ``possible_duplicates``: ``assessment_id``, ``assessed_on``,
        ``members_assessed``); kept, ``distinct_from`` is recorded.
        """
        check_not_in_future(assessed_on, today, "assessed_on")
        check_not_before("assessed_on", assessed_on, "mapped_on", mapped_on)
        check_at_least_one(members_assessed, "members_assessed")
        check_within_members_assessed(members_over_5_years_in_peru, members_assessed, "members_over_5_years_in_peru")
        check_needs(needs, members_assessed)
        check_not_recorded(
            [a for a in self.assessments if a.assessed_on == assessed_on and a.withdrawal is None],
            distinct_from,
            record="needs assessment",
            records="needs assessments",
            field="assessed_on",
            said=f"assessed on {assessed_on.isoformat()}",
            id_field="assessment_id",
            id_of=lambda a: a.assessment_id,
            shown=lambda a: {
                "assessment_id": str(a.assessment_id),
                "assessed_on": a.assessed_on.isoformat(),
                "members_assessed": a.members_assessed,
            },
        )
        self._assessed(
            osv_id=self.osv_id,
            assessment_id=uuid4(),
            assessed_on=assessed_on,
            members_assessed=members_assessed,
            members_over_5_years_in_peru=members_over_5_years_in_peru,
            needs=[asdict(n) for n in needs],
            distinct_from=kept(distinct_from),
        )
        return self.assessments[-1]

    @event("NeedsAssessed")
    def _assessed(
        self,
        osv_id: UUID,
        assessment_id: UUID,
        assessed_on: date,
        members_assessed: int,
        members_over_5_years_in_peru: int,
        needs: list[dict[str, Any]],
        distinct_from: list[UUID] | None = None,
    ) -> None:
        """``distinct_from``: None in a ``NeedsAssessed`` stored before it was kept."""
        self.assessments.append(
            NeedsAssessment(
                assessment_id=assessment_id,
                assessed_on=assessed_on,
                members_assessed=members_assessed,
                members_over_5_years_in_peru=members_over_5_years_in_peru,
                needs=tuple(Need(NeedArea(n["area"]), n["members_affected"], Priority(n["priority"])) for n in needs),
                distinct_from=tuple(distinct_from or ()),
            )
        )

    def withdraw(self, assessment_id: UUID, reason: FieldWithdrawalReason, *, today: date) -> NeedsAssessment:
        """Take back an assessment recorded by mistake (never made, typed twice, on the wrong OSV or day); it stays listed,
        marked withdrawn. ``today``: its ``withdrawn_on``. A code only: the record holds no staff's words, so nothing to
        seal. 404 :class:`AssessmentNotFoundError` for one not of this OSV, 409 :class:`AssessmentWithdrawnError` for
        one withdrawn already."""
        found = next((a for a in self.assessments if a.assessment_id == assessment_id), None)
        if found is None:
            raise AssessmentNotFoundError(assessment_id)
        if found.withdrawal is not None:
            raise AssessmentWithdrawnError(found.withdrawal)
        self._withdrawn(
            osv_id=self.osv_id, assessment_id=assessment_id, assessed_on=found.assessed_on, reason=FieldWithdrawalReason(reason),
            withdrawn_on=today,
        )
        return next(a for a in self.assessments if a.assessment_id == assessment_id)

    @event("NeedsAssessmentWithdrawn")
    def _withdrawn(self, osv_id: UUID, assessment_id: UUID, assessed_on: date, reason: FieldWithdrawalReason, withdrawn_on: date) -> None:
        withdrawal = Withdrawal(FieldWithdrawalReason(reason), withdrawn_on)
        self.assessments = [replace(a, withdrawal=withdrawal) if a.assessment_id == assessment_id else a for a in self.assessments]

    def latest_first(self) -> list[NeedsAssessment]:
        """Latest assessed first, those withdrawn included (marked); of two on the same day, the one recorded later."""
        ordered = list(enumerate(self.assessments))
        return [a for _, a in sorted(ordered, key=lambda pair: (pair[1].assessed_on, pair[0]), reverse=True)]
