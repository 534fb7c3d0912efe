"""Engagement's HTTP API for field work (follow-up meetings and their actions, technical assistance, activities, needs):
routes only, each translating a request into a call on :class:`~services.engagement.application.Engagement`. The members'
routes and the app are in :mod:`.api`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from services.engagement.domain.activities import ParticipantGiven
from services.engagement.domain.followup import ActionItemDraft
from services.engagement.fieldschemas import (
    ActionCompletionCreate,
    ActionItemPublic,
    ActivityCreate,
    ActivityPublic,
    ActivityWithdrawalCreate,
    AssistanceCreate,
    AssistancePublic,
    AssistanceWithdrawalCreate,
    FollowUpPublic,
    MeetingCreate,
    MeetingPublic,
    MeetingWithdrawalCreate,
    OverdueOSVPublic,
    activity_look_ups,
    meeting_look_ups,
)
from services.engagement.needschemas import (
    NeedsAssessmentCreate,
    NeedsAssessmentPublic,
    NeedsAssessmentWithdrawalCreate,
)
from services.engagement.routing import (
    OSV_AND_GRANT_NOT_HEARD_OF,
    OSV_NOT_HEARD_OF,
    OSV_NOT_HEARD_OF_READ,
    RECORDS_NAMING_MEMBERS,
    WRITES,
    EngagementDep,
    MemberReader,
    Paged,
    Reads,
    Recorder,
)
from shared.auth import Permission
from shared.guards import TAKES_NO_BODY
from shared.problems import route_body_rules

follow_up_router = APIRouter(tags=["follow-up"])
activities_router = APIRouter(tags=["activities"])
needs_router = APIRouter(tags=["needs"])


# Follow-up, activities, needs --------------------------------------------------------


@follow_up_router.post(
    "/osvs/{osv_id}/meetings", status_code=status.HTTP_201_CREATED, response_model=MeetingPublic, dependencies=RECORDS_NAMING_MEMBERS,
    responses=OSV_NOT_HEARD_OF,
)
@route_body_rules(meeting_look_ups)
def hold_meeting(osv_id: UUID, body: MeetingCreate, engagement: EngagementDep) -> MeetingPublic:
    """Record a follow-up meeting with an OSV and the actions it agreed (records `FollowUpMeetingHeld`).

    An attendee merged into another member (one person recorded twice) is 409 `member_not_merged`, naming the member to
    name instead, unless an attendee listed before it is refused: then the 422 names every attendee refused, as an
    activity's participants are read in their order.

    To a caller who may not read members (`members:read`: the Kobo webhook's account, whose forms name no attendee), every
    attendee refused is 422 `known_member`, one message for a stranger, a person erased and a record merged into another
    (no 409 naming the member it went into), each member named is recorded on their access log (purpose `follow_up`,
    disclosure `meeting_attendee`), whatever the answer, and a dry run is 403 `dry_run_reads` on `Dry-Run`."""
    follow_up, meeting = engagement.hold_meeting(
        osv_id=osv_id,
        held_on=body.held_on,
        mode=body.mode,
        topics=body.topics,
        attendee_member_ids=body.attendee_member_ids,
        other_attendees=body.other_attendees,
        notes=body.notes,
        action_items=[ActionItemDraft(a.description, a.owner, a.due_on) for a in body.action_items],
        distinct_from=body.distinct_from,
    )
    return MeetingPublic.of(follow_up, meeting, engagement.today(), text=True, attendees=meeting.attendee_member_ids)  # just checked


@follow_up_router.post("/osvs/{osv_id}/actions/{action_id}/completion", response_model=ActionItemPublic, dependencies=WRITES)
def complete_action(
    osv_id: UUID, action_id: UUID, body: ActionCompletionCreate, engagement: EngagementDep
) -> ActionItemPublic:
    """Record that an action agreed at a meeting was done (records `ActionItemCompleted`)."""
    item = engagement.complete_action(osv_id=osv_id, action_id=action_id, completed_on=body.completed_on)
    return ActionItemPublic.of(item, engagement.today(), text=True)


@follow_up_router.post(
    "/osvs/{osv_id}/technical-assistance",
    status_code=status.HTTP_201_CREATED,
    response_model=AssistancePublic,
    dependencies=WRITES,
    responses=OSV_NOT_HEARD_OF,
)
def give_assistance(osv_id: UUID, body: AssistanceCreate, engagement: EngagementDep) -> AssistancePublic:
    """Record hours of technical assistance given to an OSV (records `TechnicalAssistanceGiven`)."""
    assistance = engagement.give_assistance(
        osv_id=osv_id, given_on=body.given_on, topic=body.topic, hours=body.hours, note=body.note, distinct_from=body.distinct_from
    )
    return AssistancePublic.of(assistance, text=True)


@follow_up_router.post(
    "/osvs/{osv_id}/technical-assistance/{assistance_id}/withdrawal", response_model=AssistancePublic, dependencies=WRITES
)
def withdraw_assistance(osv_id: UUID, assistance_id: UUID, body: AssistanceWithdrawalCreate, engagement: EngagementDep) -> AssistancePublic:
    """Withdraw technical assistance recorded by mistake (records `TechnicalAssistanceWithdrawn`); its hours count nowhere from then on.

    For assistance never given, typed twice, recorded on the wrong OSV or with the wrong day: record the right one anew
    (a record withdrawn is no possible duplicate). It stays in the OSV's follow-up, `status` `withdrawn`, out of its
    hours and no longer its last contact. One withdrawn already is 409 `assistance_not_withdrawn`; one not of this OSV,
    404 `known_assistance`. `withdrawn_on` is today in Lima; `note` is staff's, sealed with the record's note and never
    published. Reporting's alerts no longer list it."""
    record = engagement.withdraw_assistance(osv_id=osv_id, assistance_id=assistance_id, reason=body.reason, note=body.note)
    return AssistancePublic.of(record, text=True)


@follow_up_router.get("/osvs/{osv_id}/follow-up", response_model=FollowUpPublic, responses=OSV_NOT_HEARD_OF_READ)
def get_follow_up(osv_id: UUID, engagement: EngagementDep, caller: MemberReader) -> FollowUpPublic:
    """Show an OSV's follow-up: last contact, meetings, open actions and assistance hours (staff's words `[withheld]` to focal points and auditors).

    The staff's words (notes, actions' description and owner, assistance notes) only to a reader with
    `personal-data:read`; anyone else reads them `[withheld]`, with every date, topic and count. A meeting names those
    of its attendees who were members of the OSV on its day: one recorded before attendees were checked may have named
    others, who are not shown nor counted."""
    scope = caller.scope(Permission.PROGRAMME_READ)
    follow_up = engagement.get_follow_up(osv_id=osv_id, scope=scope)
    attendees = engagement.attendees_shown(osv_id=osv_id, meetings=follow_up.meetings.values() if follow_up is not None else ())
    return FollowUpPublic.of(osv_id, follow_up, engagement.today(), text=caller.may_read_staff_text, attendees=attendees)


@follow_up_router.post("/osvs/{osv_id}/meetings/{meeting_id}/redaction", response_model=MeetingPublic, dependencies=[*WRITES, TAKES_NO_BODY])
def redact_meeting_text(osv_id: UUID, meeting_id: UUID, engagement: EngagementDep) -> MeetingPublic:
    """Forget a meeting's notes, its actions' words and its withdrawal's note for good; they read `[redacted]` (deletes their key)."""
    follow_up, meeting = engagement.redact_meeting_text(osv_id=osv_id, meeting_id=meeting_id)
    attendees = engagement.attendees_shown(osv_id=osv_id, meetings=[meeting])[meeting.meeting_id]
    return MeetingPublic.of(follow_up, meeting, engagement.today(), text=True, attendees=attendees)


@follow_up_router.post("/osvs/{osv_id}/meetings/{meeting_id}/withdrawal", response_model=MeetingPublic, dependencies=WRITES)
def withdraw_meeting(osv_id: UUID, meeting_id: UUID, body: MeetingWithdrawalCreate, engagement: EngagementDep) -> MeetingPublic:
    """Withdraw a follow-up meeting recorded by mistake (records `FollowUpMeetingWithdrawn`); it counts nowhere from then on.

    For a meeting never held, typed twice, recorded on the wrong OSV or with the wrong day: record the right one anew (a
    meeting withdrawn is no possible duplicate). It stays in the OSV's follow-up, `status` `withdrawn`, and no longer
    counts as its last contact. Its actions not done are withdrawn with it: no longer pending, and completing one is 409
    `meeting_not_withdrawn`. A meeting withdrawn already is 409 `meeting_not_withdrawn`; one not of this OSV, 404
    `known_meeting`. `withdrawn_on` is today in Lima; `note` is staff's, sealed with the meeting's notes and never
    published. Reporting takes it back from `follow_up_meetings` and `actions_pending_at_phase_end`, in the phase it
    counted in, and from the follow-up alert."""
    follow_up, meeting = engagement.withdraw_meeting(osv_id=osv_id, meeting_id=meeting_id, reason=body.reason, note=body.note)
    attendees = engagement.attendees_shown(osv_id=osv_id, meetings=[meeting])[meeting.meeting_id]
    return MeetingPublic.of(follow_up, meeting, engagement.today(), text=True, attendees=attendees)


@follow_up_router.post(
    "/osvs/{osv_id}/technical-assistance/{assistance_id}/redaction", response_model=AssistancePublic, dependencies=[*WRITES, TAKES_NO_BODY]
)
def redact_assistance_note(osv_id: UUID, assistance_id: UUID, engagement: EngagementDep) -> AssistancePublic:
    """Forget a technical assistance record's note, and its withdrawal's, for good; they read `[redacted]` (deletes their key)."""
    return AssistancePublic.of(engagement.redact_assistance_note(osv_id=osv_id, assistance_id=assistance_id), text=True)


@follow_up_router.get("/follow-up/overdue", response_model=list[OverdueOSVPublic])
def list_overdue(
    engagement: EngagementDep,
    scope: Reads,
    page: Paged,
    days: Annotated[int, Query(ge=1, le=3650, description="Overdue when not met for more than this many days.")] = 45,
    district: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Only OSVs of this district: its name (any usual spelling) or INEI ubigeo.")
    ] = None,
) -> list[OverdueOSVPublic]:
    """List active OSVs with no follow-up meeting in the last `days` days, most overdue first; paged (`cursor`, `limit`, `Link: rel="next"`)."""
    today = engagement.today()
    listed = [OverdueOSVPublic.of(standing, today) for standing in engagement.overdue(days=days, scope=scope)]
    if district is not None:
        wanted = engagement.districts.find(district).ubigeo  # 422 `lima_district` for no district of Lima
        listed = [o for o in listed if engagement.osvs.district_ubigeo(o.district) == wanted]
    return page.of(listed, key=lambda o: o.osv_id)


@activities_router.post(
    "/activities",
    status_code=status.HTTP_201_CREATED,
    response_model=ActivityPublic,
    dependencies=RECORDS_NAMING_MEMBERS,
    responses=OSV_AND_GRANT_NOT_HEARD_OF,
)
@route_body_rules(activity_look_ups)
def report_activity(body: ActivityCreate, engagement: EngagementDep, caller: Recorder) -> ActivityPublic:
    """Record an activity an OSV held, its beneficiaries and outputs (records `ActivityReported`).

    A `grant_id` names a grant of the same OSV, made by `held_on` and not closed before it (409 `grant_open`), nor
    withdrawn in funding as entered in error (409 `grant_not_withdrawn`, field `grant_id`, whatever the date: an activity
    recorded on it before the withdrawal stays as recorded), nor lost in a restore of funding's an operator accepted (409
    `grant_lost_in_funding_restore`, field `grant_id`: funding answers 404 for it). A participant merged into another
    member (one person recorded twice) is 409 `member_not_merged`, naming the member to list instead, unless a participant
    listed before it is refused: then the 422 names every participant refused. A person whose erasure has begun is named
    by no activity recorded since, whatever its day: 422 `known_member`, as a stranger (tester 304 F1).

    To a caller who may not read members (`members:read`: the Kobo webhook's account, whose forms list no participant), the
    answer gives no member's nationality or sex (null in `participants`, left out of `direct_beneficiaries`), a member id
    of a person erased or of a record merged into another is 422 `known_member` as one of nobody, each member named is
    recorded on their access log (purpose `follow_up`, disclosure `activity_participant`), whatever the answer, and a dry
    run is 403 `dry_run_reads` on `Dry-Run`. A member record's id given as a `person_id` (a living member's, a person
    erased, a record merged) is 422 `member_or_person`, one message for each, and logged on that record's access log,
    an erased person's too: it tells that the id is a member record's, and, with the same id as a `member_id`, whether a
    living one's."""
    activity = engagement.report_activity(
        osv_id=body.osv_id,
        held_on=body.held_on,
        kind=body.kind,
        district=body.district,
        direct_beneficiaries=[b.to_domain() for b in body.direct_beneficiaries],
        participants=[
            ParticipantGiven(member_id=p.member_id, person_id=p.person_id, nationality=p.nationality, sex=p.sex) for p in body.participants
        ],
        indirect_beneficiaries=body.indirect_beneficiaries,
        outputs=[o.to_domain() for o in body.outputs],
        grant_id=body.grant_id,
        description=body.description,
        distinct_from=body.distinct_from,
    )
    return ActivityPublic.of(activity, text=True, members=caller.may(Permission.MEMBERS_READ))


@activities_router.get("/activities/{activity_id}", response_model=ActivityPublic)
def get_activity(activity_id: UUID, engagement: EngagementDep, caller: MemberReader) -> ActivityPublic:
    """Show one reported activity, with its description (`[withheld]` to focal points and auditors).

    The description and withdrawal reason only to a reader with `personal-data:read`; anyone else reads them `[withheld]`."""
    activity = engagement.get_activity(activity_id=activity_id, scope=caller.scope(Permission.PROGRAMME_READ))
    return ActivityPublic.of(activity, text=caller.may_read_staff_text)


@activities_router.post("/activities/{activity_id}/withdrawal", response_model=ActivityPublic, dependencies=WRITES)
def withdraw_activity(activity_id: UUID, body: ActivityWithdrawalCreate, engagement: EngagementDep) -> ActivityPublic:
    """Withdraw an activity reported by mistake (records `ActivityWithdrawn`)."""
    return ActivityPublic.of(engagement.withdraw_activity(activity_id=activity_id, reason=body.reason), text=True)


@activities_router.post("/activities/{activity_id}/redaction", response_model=ActivityPublic, dependencies=[*WRITES, TAKES_NO_BODY])
def redact_activity_text(activity_id: UUID, engagement: EngagementDep) -> ActivityPublic:
    """Forget an activity's description and withdrawal reason for good; they read `[redacted]` (deletes their key).

    The activity and its facts stay; the redaction is recorded (a private `ActivityTextRedacted`, no text), after which
    its words read `[redacted]` to every reader. Asked again, it records nothing more and answers the same. Words stored
    before engagement sealed them read `[redacted]` from then on too, but stay in the stored event (see README, "Free
    text"). 404 `known_activity` for no such activity."""
    return ActivityPublic.of(engagement.redact_activity_text(activity_id=activity_id), text=True)


@activities_router.get("/osvs/{osv_id}/activities", response_model=list[ActivityPublic], responses=OSV_NOT_HEARD_OF_READ)
def list_activities(osv_id: UUID, engagement: EngagementDep, caller: MemberReader, page: Paged) -> list[ActivityPublic]:
    """List the activities an OSV reported, latest first, withdrawn ones marked (descriptions and reasons `[withheld]` to focal points and auditors); paged (`cursor`, `limit`, `Link: rel="next"`).

    Descriptions and withdrawal reasons only to a reader with `personal-data:read`; anyone else reads them `[withheld]`."""
    found = engagement.activities_of(osv_id=osv_id, scope=caller.scope(Permission.PROGRAMME_READ))
    return [ActivityPublic.of(activity, text=caller.may_read_staff_text) for activity in page.of(found, key=lambda a: a.id)]


@needs_router.post(
    "/osvs/{osv_id}/needs-assessments",
    status_code=status.HTTP_201_CREATED,
    response_model=NeedsAssessmentPublic,
    dependencies=WRITES,
    responses=OSV_NOT_HEARD_OF,
)
def assess_needs(osv_id: UUID, body: NeedsAssessmentCreate, engagement: EngagementDep) -> NeedsAssessmentPublic:
    """Record an assessment of an OSV's members' needs, counts only (records `NeedsAssessed`)."""
    assessment = engagement.assess_needs(
        osv_id=osv_id,
        assessed_on=body.assessed_on,
        members_assessed=body.members_assessed,
        members_over_5_years_in_peru=body.members_over_5_years_in_peru,
        needs=[n.to_domain() for n in body.needs],
        distinct_from=body.distinct_from,
    )
    return NeedsAssessmentPublic.of(osv_id, assessment)


@needs_router.post(
    "/osvs/{osv_id}/needs-assessments/{assessment_id}/withdrawal", response_model=NeedsAssessmentPublic, dependencies=WRITES
)
def withdraw_needs_assessment(
    osv_id: UUID, assessment_id: UUID, body: NeedsAssessmentWithdrawalCreate, engagement: EngagementDep
) -> NeedsAssessmentPublic:
    """Withdraw a needs assessment recorded by mistake (records `NeedsAssessmentWithdrawn`); it counts no more.

    For an assessment never made, typed twice, recorded on the wrong OSV or with the wrong day: record the right one anew
    (one withdrawn is no possible duplicate). It stays listed, `status` `withdrawn`. A code only, no note. One withdrawn
    already is 409 `assessment_not_withdrawn`; one not of this OSV, 404 `known_assessment`. Reporting's alerts no longer
    list it."""
    assessment = engagement.withdraw_needs_assessment(osv_id=osv_id, assessment_id=assessment_id, reason=body.reason)
    return NeedsAssessmentPublic.of(osv_id, assessment)


@needs_router.get("/osvs/{osv_id}/needs-assessments", response_model=list[NeedsAssessmentPublic], responses=OSV_NOT_HEARD_OF_READ)
def list_needs_assessments(osv_id: UUID, engagement: EngagementDep, scope: Reads, page: Paged) -> list[NeedsAssessmentPublic]:
    """List an OSV's needs assessments, latest first; paged (`cursor`, `limit`, `Link: rel="next"`)."""
    found = engagement.needs_assessments(osv_id=osv_id, scope=scope)
    return [NeedsAssessmentPublic.of(osv_id, a) for a in page.of(found, key=lambda a: a.assessment_id)]
