"""Engagement's HTTP API: translates requests into commands on :class:`Engagement`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request, status

from services.engagement.application import Engagement, FieldWork, cipher_env
from services.engagement.fieldwork import ActionItemDraft, BeneficiaryGroup, Need, Output
from services.engagement.grantdirectory import GrantDirectory
from services.engagement.interface import catalogue
from services.engagement.schemas import DepartureCreate, MemberCreate, MemberPublic
from services.engagement.schemas import (
    ActionCompletionCreate,
    ActionItemPublic,
    ActivityCreate,
    ActivityPublic,
    AssistanceCreate,
    AssistancePublic,
    FollowUpPublic,
    MeetingCreate,
    MeetingPublic,
    NeedsAssessmentCreate,
    NeedsAssessmentPublic,
    OverdueOSVPublic,
    WithdrawalCreate,
)
from services.engagement.settings import EngagementSettings
from shared.osvdirectory import OSVDirectory
from shared.store import ServiceApplication
from shared.views import make_engine
from shared.web import ConsumerSpec, Runtime, runtime_of, service_api


def get_engagement(request: Request) -> Engagement:
    return runtime_of(request).app  # type: ignore[return-value]


EngagementDep = Annotated[Engagement, Depends(get_engagement)]

router = APIRouter(prefix="/members", tags=["members"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MemberPublic)
def join_member(body: MemberCreate, engagement: EngagementDep) -> MemberPublic:
    """Record that a person joined an OSV (records `MemberJoined`)."""
    member_id = engagement.join_member(
        body.osv_id,
        body.full_name,
        body.document_type,
        body.document_number,
        body.nationality,
        body.sex,
        body.joined_on,
        body.birth_year,
    )
    return MemberPublic.of(engagement.get_member(member_id))


@router.get("/{member_id}", response_model=MemberPublic)
def get_member(member_id: UUID, engagement: EngagementDep) -> MemberPublic:
    """Show one member, with their personal data, to programme staff."""
    return MemberPublic.of(engagement.get_member(member_id))


@router.post("/{member_id}/departure", response_model=MemberPublic)
def record_departure(member_id: UUID, body: DepartureCreate, engagement: EngagementDep) -> MemberPublic:
    """Record that the member left their OSV (records `MemberLeft`)."""
    return MemberPublic.of(engagement.record_departure(member_id, body.left_on, body.reason))


def make_engagement(settings: EngagementSettings) -> Callable[[dict[str, str]], Engagement]:
    """The application factory the runtime calls in the lifespan: the key is read (or made) then, not at import."""

    def build(env: dict[str, str]) -> Engagement:
        views = make_engine(settings.view_url())
        return Engagement(
            {**env, **cipher_env(settings.resolve_cipher_key())},
            osvs=OSVDirectory(views, settings.service_name),
            grants=GrantDirectory(views),
        )

    return build


def consumers(app: ServiceApplication) -> list[ConsumerSpec]:
    """Engagement follows registry's OSVs and funding's grants."""
    assert isinstance(app, Engagement)
    return [
        (app.osvs.durable, app.osvs.subject, app.osvs.apply),
        (app.grants.durable, app.grants.subject, app.grants.apply),
    ]


def create_app(settings: EngagementSettings | None = None) -> FastAPI:
    """Build the engagement service (run with ``uvicorn --factory``)."""
    settings = settings or EngagementSettings()
    runtime = Runtime(settings, catalogue, make_engagement(settings), consumers)
    api = service_api(
        runtime,
        title="osv-platform engagement",
        description="Members of the OSVs, migrants and hosts: who joined, who left. Personal data is encrypted at rest.",
    )
    api.include_router(router)
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
def withdraw_activity(activity_id: UUID, body: WithdrawalCreate, field_work: FieldWorkDep) -> ActivityPublic:
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
