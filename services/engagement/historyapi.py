"""Engagement's audit-trail routes (who recorded, withdrew and redacted each meeting, technical assistance, activity and
needs assessment, and each fact of a member's record, ``recorded_by``): routes only, each translating a request into a
call on :class:`~services.engagement.application.Engagement`. Registered by :mod:`.api` with its other routers."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from services.engagement.routing import OSV_NOT_HEARD_OF_READ, EngagementDep, Paged
from shared.auth import Caller, Permission, requires
from shared.history import EventRecordPublic, history_page

Auditor = Annotated[Caller, Depends(requires(Permission.AUDIT_READ))]
"""A reader of the audit trail (staff, leads, auditors), within its municipal scope: as registry's and funding's."""

follow_up_history_router = APIRouter(tags=["follow-up"])
activities_history_router = APIRouter(tags=["activities"])
needs_history_router = APIRouter(tags=["needs"])
members_history_router = APIRouter(tags=["members"])


@follow_up_history_router.get(
    "/osvs/{osv_id}/follow-up/history", response_model=list[EventRecordPublic], responses=OSV_NOT_HEARD_OF_READ
)
def follow_up_history(osv_id: UUID, engagement: EngagementDep, caller: Auditor, page: Paged) -> list[EventRecordPublic]:
    """List every event of the OSV's follow-up, oldest first, each with who recorded it (`recorded_by`), for auditors (staff's words `[withheld]` to them); paged (`cursor`, `limit`, `Link: rel="next"`).

    Each meeting held (`FollowUpMeetingHeld`), action completed, meeting withdrawn and meeting's words redacted; each
    technical assistance given, withdrawn and its note redacted. The staff's words in them (notes, actions' description
    and owner, assistance notes, withdrawals' notes) only to a reader with `personal-data:read`; an auditor reads them
    `[withheld]`, every reader `[redacted]` once forgotten, with every other field. A meeting's `attendee_member_ids`
    are those `GET /osvs/{osv_id}/follow-up` shows (members of the OSV on its day). A focal point reads the follow-up,
    not its history (403: no `audit:read`), as an OSV's. Empty for an OSV with no follow-up recorded; 404 `known_osv`
    for an OSV engagement has not heard of, or outside the caller's municipalities."""
    scope = caller.scope(Permission.AUDIT_READ)
    history = engagement.follow_up_history(osv_id=osv_id, scope=scope, text=caller.may_read_staff_text)
    return history_page(history, page)


@activities_history_router.get("/activities/{activity_id}/history", response_model=list[EventRecordPublic])
def activity_history(
    activity_id: UUID, engagement: EngagementDep, caller: Auditor, page: Paged
) -> list[EventRecordPublic]:
    """List every event of a reported activity, oldest first, each with who recorded it (`recorded_by`), for auditors (its words `[withheld]` to them); paged (`cursor`, `limit`, `Link: rel="next"`).

    `ActivityReported`, its withdrawal (`ActivityWithdrawn`) and the redaction of its words (`ActivityTextRedacted`).
    Its description and withdrawal reason only to a reader with `personal-data:read`; an auditor reads them
    `[withheld]`, every reader `[redacted]` once forgotten. Its participants as `GET /activities/{activity_id}` shows
    them. 404 `known_activity` for none, or one of an OSV outside the caller's municipalities."""
    scope = caller.scope(Permission.AUDIT_READ)
    history = engagement.activity_history(activity_id=activity_id, scope=scope, text=caller.may_read_staff_text)
    return history_page(history, page)


@needs_history_router.get(
    "/osvs/{osv_id}/needs-assessments/history", response_model=list[EventRecordPublic], responses=OSV_NOT_HEARD_OF_READ
)
def needs_history(osv_id: UUID, engagement: EngagementDep, caller: Auditor, page: Paged) -> list[EventRecordPublic]:
    """List every event of the OSV's needs assessments, oldest first, each with who recorded it (`recorded_by`), for auditors; paged (`cursor`, `limit`, `Link: rel="next"`).

    The record's opening with the first assessment (`NeedsRecordOpened`), each assessment (`NeedsAssessed`: counts,
    areas, priorities) and each withdrawal (`NeedsAssessmentWithdrawn`: its `reason` a code, as
    `GET /osvs/{osv_id}/needs-assessments` shows it to every reader; an assessment holds no staff's words). A focal
    point reads the assessments, not their history (403: no `audit:read`). Empty for an OSV with no assessment
    recorded; 404 `known_osv` for an OSV engagement has not heard of, or outside the caller's municipalities."""
    scope = caller.scope(Permission.AUDIT_READ)
    history = engagement.needs_history(osv_id=osv_id, scope=scope, text=caller.may_read_staff_text)
    return history_page(history, page)


@members_history_router.get(
    "/members/{member_id}/history",
    response_model=list[EventRecordPublic],
    responses={404: {"description": "`known_member`: no member has this id, or none in the caller's municipalities."}},
)
def member_history(member_id: UUID, engagement: EngagementDep, caller: Auditor, page: Paged) -> list[EventRecordPublic]:
    """List every event of a member's record, oldest first, each with who recorded it (`recorded_by`), for auditors (the person's data `[withheld]` to every reader); paged (`cursor`, `limit`, `Link: rel="next"`).

    The registration (`Registered`), each joining (`Joined`), role change, departure (`Left`), joining date, age band,
    nationality and sex corrected, personal data corrected (`PersonalDataCorrected`), project enrolment (`Enrolled`)
    and withdrawal (`Withdrew`), merge (`MemberMerged`, a stay recorded twice merged into the person's other
    `MembershipMerged`, and `DuplicateMergedIn` on the record kept) and erasure
    (`ErasureBegun`, `PersonalDataErased`). Nothing personal, to any reader, staff and leads too: the person's
    `full_name`, `document_type`, `document_number`, `phone` and `birth_year` read `[withheld]`, given or not (a null
    would tell who gave no phone, or has no document); once the person is erased, those sealed under their key (all but `document_type`) read `[redacted]`.
    The person's data is read through `GET /members/{member_id}` (logged, with its purpose) or the data protection
    officer's `GET /members/{member_id}/subject-access`; this read shows none of it, and is not in the access log.

    A record merged into another holds its own events (`MemberMerged` names the member it went into); the member kept
    holds its own, each record merged into it named by a `DuplicateMergedIn`'s `duplicate_id`, whose events are in its
    own history (`GET /members/{duplicate_id}/history`). 404 `known_member` for no member with this id, or one of no
    OSV in the caller's municipalities (as `GET /members/{member_id}` answers)."""
    scope = caller.scope(Permission.AUDIT_READ)
    return history_page(engagement.member_history(member_id=member_id, scope=scope), page)
