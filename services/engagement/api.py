"""Engagement's HTTP API: translates requests into commands on :class:`Engagement`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Request, status

from services.engagement.application import Engagement, cipher_env
from services.engagement.grantdirectory import GrantDirectory
from services.engagement.interface import catalogue
from services.engagement.schemas import DepartureCreate, MemberCreate, MemberPublic
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
    return api
