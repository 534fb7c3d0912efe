"""Engagement's HTTP API: translates requests into commands on :class:`Engagement`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request, status

from services.engagement.application import Engagement, FieldWork, cipher_env
from services.engagement.domain.members import DocumentType
from services.engagement.domain.followup import ActionItemDraft, BeneficiaryGroup, Need, Output
from services.engagement.views.grants import GrantDirectory
from services.engagement.events import catalogue
from services.engagement.personaldata import (
    ANSWERS_PURPOSE,
    INDEX_PURPOSE,
    WRAPPING_PURPOSE,
    DocumentDigests,
    KeyRing,
    MasterKey,
)
from services.engagement.schemas import (
    ActionCompletionCreate,
    ActionItemPublic,
    ActivityCreate,
    ActivityPublic,
    ActivityWithdrawalCreate,
    AssistanceCreate,
    AssistancePublic,
    DepartureCreate,
    ErasureCreate,
    FollowUpPublic,
    MeetingCreate,
    MeetingPublic,
    MemberCreate,
    MemberPublic,
    MembershipCreate,
    MembershipPublic,
    NeedsAssessmentCreate,
    NeedsAssessmentPublic,
    OSVMemberPublic,
    OverdueOSVPublic,
    ParticipationCreate,
    ParticipationPublic,
    ParticipationWithdrawalCreate,
    RoleChangeCreate,
)
from services.engagement.settings import EngagementSettings
from shared.idempotency import AnswerBook
from shared.views.osvdirectory import OSVDirectory
from shared.store import ServiceApplication
from shared.views import View, make_engine
from shared.web import Runtime, runtime_of, service_api


def get_engagement(request: Request) -> Engagement:
    return runtime_of(request).app  # type: ignore[return-value]


EngagementDep = Annotated[Engagement, Depends(get_engagement)]

members = APIRouter(prefix="/members", tags=["members"])
osvs = APIRouter(prefix="/osvs", tags=["members"])


@members.post("", status_code=status.HTTP_201_CREATED, response_model=MemberPublic)
def register_member(body: MemberCreate, engagement: EngagementDep) -> MemberPublic:
    """Register a person and their first membership of an OSV (records `MemberJoined`)."""
    member_id = engagement.register_member(
        body.osv_id,
        body.full_name,
        body.document_type,
        body.document_number,
        body.nationality,
        body.sex,
        body.joined_on,
        body.birth_year,
        role=body.role,
        phone=body.phone,
    )
    return MemberPublic.of(engagement.get_member(member_id))


@members.get("", response_model=MemberPublic)
def find_member(
    document_type: Annotated[DocumentType, Query(description="The document's type.")],
    document_number: Annotated[str, Query(max_length=40, description="The document's number, as written.")],
    engagement: EngagementDep,
) -> MemberPublic:
    """Find the registered person who holds a document (404 if nobody does)."""
    return MemberPublic.of(engagement.find_member(document_type, document_number))


@members.get("/{member_id}", response_model=MemberPublic)
def get_member(member_id: UUID, engagement: EngagementDep) -> MemberPublic:
    """Show one member, with their personal data and memberships, to programme staff."""
    return MemberPublic.of(engagement.get_member(member_id))


@members.post("/{member_id}/departure", response_model=MemberPublic)
def record_departure(member_id: UUID, body: DepartureCreate, engagement: EngagementDep) -> MemberPublic:
    """Record that the member left the only OSV they are active in (records `MemberLeft`)."""
    return MemberPublic.of(engagement.record_departure(member_id, body.left_on, body.reason))


@members.post("/{member_id}/memberships", status_code=status.HTTP_201_CREATED, response_model=MembershipPublic)
def join_osv(member_id: UUID, body: MembershipCreate, engagement: EngagementDep) -> MembershipPublic:
    """Record that a registered person joined another OSV, or rejoined one (records `MemberJoined`)."""
    return MembershipPublic.of(engagement.join_osv(member_id, body.osv_id, body.role, body.joined_on))


@members.post("/{member_id}/memberships/{membership_id}/role", response_model=MembershipPublic)
def change_role(member_id: UUID, membership_id: UUID, body: RoleChangeCreate, engagement: EngagementDep) -> MembershipPublic:
    """Record that the member took another role in that OSV (records `MemberRoleChanged`)."""
    return MembershipPublic.of(engagement.change_role(member_id, membership_id, body.role, body.changed_on))


@members.post("/{member_id}/memberships/{membership_id}/departure", response_model=MembershipPublic)
def leave_membership(
    member_id: UUID, membership_id: UUID, body: DepartureCreate, engagement: EngagementDep
) -> MembershipPublic:
    """Record that the member left that OSV (records `MemberLeft`)."""
    member = engagement.record_departure(member_id, body.left_on, body.reason, membership_id=membership_id)
    return MembershipPublic.of(member.membership(membership_id))


@members.post("/{member_id}/erasure", response_model=MemberPublic)
def erase_personal_data(member_id: UUID, body: ErasureCreate, engagement: EngagementDep) -> MemberPublic:
    """Forget the person's name, document, phone and birth year for good (records `PersonalDataErased`)."""
    return MemberPublic.of(engagement.erase_personal_data(member_id, body.erased_on))


@members.post("/{member_id}/participations", status_code=status.HTTP_201_CREATED, response_model=ParticipationPublic)
def enrol_participant(member_id: UUID, body: ParticipationCreate, engagement: EngagementDep) -> ParticipationPublic:
    """Record that the member takes part in a funded project (records `ParticipantEnrolled`)."""
    return ParticipationPublic.of(engagement.enrol_participant(member_id, body.grant_id, body.enrolled_on))


@members.post("/{member_id}/participations/{grant_id}/withdrawal", response_model=ParticipationPublic)
def withdraw_participant(
    member_id: UUID, grant_id: UUID, body: ParticipationWithdrawalCreate, engagement: EngagementDep
) -> ParticipationPublic:
    """Record that the member stopped taking part in a funded project (records `ParticipantWithdrew`)."""
    return ParticipationPublic.of(engagement.withdraw_participant(member_id, grant_id, body.withdrew_on))


@osvs.get("/{osv_id}/members", response_model=list[OSVMemberPublic])
def list_active_members(osv_id: UUID, engagement: EngagementDep) -> list[OSVMemberPublic]:
    """List an OSV's active members, with their roles, for programme staff."""
    return [OSVMemberPublic.of(member, membership) for member, membership in engagement.active_members_of(osv_id)]


def make_engagement(settings: EngagementSettings) -> Callable[[dict[str, str]], Engagement]:
    """The application factory the runtime calls in the lifespan: the key is read (or made) then, not at import.

    The key table lives with the views, apart from the event store it unlocks.
    """

    def build(env: dict[str, str]) -> Engagement:
        master = MasterKey.from_text(settings.resolve_master_key())
        view_engine = make_engine(settings.view_url())
        return Engagement(
            {**env, **cipher_env(master.store_cipher_key())},
            osvs=OSVDirectory(view_engine, settings.service_name),
            grants=GrantDirectory(view_engine),
            keys=KeyRing(view_engine, master.subkey(WRAPPING_PURPOSE)),
            documents=DocumentDigests(master.subkey(INDEX_PURPOSE)),
            answers=AnswerBook(view_engine, retention=settings.idempotency_retention, secret=master.subkey(ANSWERS_PURPOSE)),
        )

    return build


def views(app: ServiceApplication) -> list[View]:
    """Engagement follows registry's OSVs and funding's grants."""
    assert isinstance(app, Engagement)
    return [app.osvs, app.grants]


def create_app(settings: EngagementSettings | None = None) -> FastAPI:
    """Build the engagement service (run with ``uvicorn --factory``)."""
    settings = settings or EngagementSettings()
    runtime = Runtime(settings, catalogue, make_engagement(settings), views)
    api = service_api(
        runtime,
        title="osv-platform engagement",
        description=(
            "Members of the OSVs, migrants and hosts: who joined, their roles, who left, who takes part in funded "
            "projects. Personal data is sealed with each person's own key, and forgotten by deleting it."
        ),
    )
    api.include_router(members)
    api.include_router(osvs)
    api.include_router(follow_up_router)
    api.include_router(activities_router)
    api.include_router(needs_router)
    return api


# Field work (issue 3): follow-up, technical assistance, activities, needs ----------


def get_field_work(engagement: EngagementDep) -> FieldWork:
    return FieldWork(engagement)


FieldWorkDep = Annotated[FieldWork, Depends(get_field_work)]

follow_up_router = APIRouter(tags=["follow-up"])


@follow_up_router.post("/osvs/{osv_id}/meetings", status_code=status.HTTP_201_CREATED, response_model=MeetingPublic)
def hold_meeting(osv_id: UUID, body: MeetingCreate, field_work: FieldWorkDep) -> MeetingPublic:
    """Record a follow-up meeting with an OSV and the actions it agreed (records `FollowUpMeetingHeld`)."""
    follow_up, meeting = field_work.hold_meeting(
        osv_id,
        body.held_on,
        body.mode,
        body.topics,
        body.attendee_member_ids,
        body.other_attendees,
        body.notes,
        [ActionItemDraft(a.description, a.owner, a.due_on) for a in body.action_items],
    )
    return MeetingPublic.of(follow_up, meeting, field_work.today())


@follow_up_router.post("/osvs/{osv_id}/actions/{action_id}/completion", response_model=ActionItemPublic)
def complete_action(
    osv_id: UUID, action_id: UUID, body: ActionCompletionCreate, field_work: FieldWorkDep
) -> ActionItemPublic:
    """Record that an action agreed at a meeting was done (records `ActionItemCompleted`)."""
    item = field_work.complete_action(osv_id, action_id, body.completed_on)
    return ActionItemPublic.of(item, field_work.today())


@follow_up_router.post(
    "/osvs/{osv_id}/technical-assistance", status_code=status.HTTP_201_CREATED, response_model=AssistancePublic
)
def give_assistance(osv_id: UUID, body: AssistanceCreate, field_work: FieldWorkDep) -> AssistancePublic:
    """Record hours of technical assistance given to an OSV (records `TechnicalAssistanceGiven`)."""
    return AssistancePublic.of(field_work.give_assistance(osv_id, body.given_on, body.topic, body.hours, body.note))


@follow_up_router.get("/osvs/{osv_id}/follow-up", response_model=FollowUpPublic)
def get_follow_up(osv_id: UUID, field_work: FieldWorkDep) -> FollowUpPublic:
    """Show an OSV's follow-up: last contact, meetings, open actions and assistance hours."""
    return FollowUpPublic.of(osv_id, field_work.get_follow_up(osv_id), field_work.today())


@follow_up_router.get("/follow-up/overdue", response_model=list[OverdueOSVPublic])
def list_overdue(
    field_work: FieldWorkDep,
    days: Annotated[int, Query(ge=1, description="Overdue when not met for more than this many days.")] = 45,
) -> list[OverdueOSVPublic]:
    """List active OSVs with no follow-up meeting in the last `days` days, most overdue first."""
    today = field_work.today()
    return [OverdueOSVPublic.of(standing, today) for standing in field_work.overdue(days)]


activities_router = APIRouter(tags=["activities"])


@activities_router.post("/activities", status_code=status.HTTP_201_CREATED, response_model=ActivityPublic)
def report_activity(body: ActivityCreate, field_work: FieldWorkDep) -> ActivityPublic:
    """Record an activity an OSV held, its beneficiaries and outputs (records `ActivityReported`)."""
    activity = field_work.report_activity(
        body.osv_id,
        body.held_on,
        body.kind,
        body.district,
        [BeneficiaryGroup(b.nationality, b.sex, b.count) for b in body.direct_beneficiaries],
        body.indirect_beneficiaries,
        [Output(o.kind, o.count) for o in body.outputs],
        body.grant_id,
        body.description,
    )
    return ActivityPublic.of(activity)


@activities_router.get("/activities/{activity_id}", response_model=ActivityPublic)
def get_activity(activity_id: UUID, field_work: FieldWorkDep) -> ActivityPublic:
    """Show one reported activity, with its description, to programme staff."""
    return ActivityPublic.of(field_work.get_activity(activity_id))


@activities_router.post("/activities/{activity_id}/withdrawal", response_model=ActivityPublic)
def withdraw_activity(activity_id: UUID, body: ActivityWithdrawalCreate, field_work: FieldWorkDep) -> ActivityPublic:
    """Withdraw an activity reported by mistake (records `ActivityWithdrawn`)."""
    return ActivityPublic.of(field_work.withdraw_activity(activity_id, body.reason))


@activities_router.get("/osvs/{osv_id}/activities", response_model=list[ActivityPublic])
def list_activities(osv_id: UUID, field_work: FieldWorkDep) -> list[ActivityPublic]:
    """List the activities an OSV reported, latest first, withdrawn ones marked."""
    return [ActivityPublic.of(activity) for activity in field_work.activities_of(osv_id)]


needs_router = APIRouter(tags=["needs"])


@needs_router.post(
    "/osvs/{osv_id}/needs-assessments", status_code=status.HTTP_201_CREATED, response_model=NeedsAssessmentPublic
)
def assess_needs(osv_id: UUID, body: NeedsAssessmentCreate, field_work: FieldWorkDep) -> NeedsAssessmentPublic:
    """Record an assessment of an OSV's members' needs, counts only (records `NeedsAssessed`)."""
    assessment = field_work.assess_needs(
        osv_id,
        body.assessed_on,
        body.members_assessed,
        body.members_over_5_years_in_peru,
        [Need(n.area, n.members_affected, n.priority) for n in body.needs],
    )
    return NeedsAssessmentPublic.of(osv_id, assessment)


@needs_router.get("/osvs/{osv_id}/needs-assessments", response_model=list[NeedsAssessmentPublic])
def list_needs_assessments(osv_id: UUID, field_work: FieldWorkDep) -> list[NeedsAssessmentPublic]:
    """List an OSV's needs assessments, latest first."""
    return [NeedsAssessmentPublic.of(osv_id, a) for a in field_work.needs_assessments(osv_id)]
