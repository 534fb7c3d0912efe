"""Funding's HTTP API: translates requests into commands on :class:`Funding`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Request, status

from services.funding.application import Funding
from services.funding.interface import catalogue
from shared.osvdirectory import OSVDirectory
from services.funding.schemas import GrantCreate, GrantPublic, PhaseCreate, PhasePublic
from services.funding.settings import FundingSettings
from shared.store import ServiceApplication
from shared.views import make_engine
from shared.web import ConsumerSpec, Runtime, runtime_of, service_api


def get_funding(request: Request) -> Funding:
    return runtime_of(request).app  # type: ignore[return-value]


FundingDep = Annotated[Funding, Depends(get_funding)]

phases = APIRouter(prefix="/phases", tags=["phases"])
grants = APIRouter(prefix="/grants", tags=["grants"])


@phases.post("", status_code=status.HTTP_201_CREATED, response_model=PhasePublic)
def open_phase(body: PhaseCreate, funding: FundingDep) -> PhasePublic:
    """Open a programme phase (records `PhaseOpened`); codes are unique, dates never overlap."""
    phase_id = funding.open_phase(body.code, body.name, body.starts_on, body.ends_on)
    return PhasePublic.of(funding.get_phase(phase_id))


@phases.get("", response_model=list[PhasePublic])
def list_phases(funding: FundingDep) -> list[PhasePublic]:
    """List the programme's phases in date order."""
    return [PhasePublic.of(p) for p in funding.list_phases()]


@grants.post("", status_code=status.HTTP_201_CREATED, response_model=GrantPublic)
def grant_fund(body: GrantCreate, funding: FundingDep) -> GrantPublic:
    """Grant a seed fund or goods to a mapped OSV (records `FundGranted`)."""
    grant_id = funding.grant_fund(body.osv_id, body.amount, body.currency, body.granted_on, body.kind)
    return GrantPublic.of(funding.get_grant(grant_id))


@grants.get("/{grant_id}", response_model=GrantPublic)
def get_grant(grant_id: UUID, funding: FundingDep) -> GrantPublic:
    """Show one grant."""
    return GrantPublic.of(funding.get_grant(grant_id))


def make_funding(settings: FundingSettings) -> Callable[[dict[str, str]], Funding]:
    def make(env: dict[str, str]) -> Funding:
        return Funding(env, osvs=OSVDirectory(make_engine(settings.view_url()), settings.service_name))

    return make


def consumers(app: ServiceApplication) -> list[ConsumerSpec]:
    assert isinstance(app, Funding)
    return [(app.osvs.durable, app.osvs.subject, app.osvs.apply)]


def create_app(settings: FundingSettings | None = None) -> FastAPI:
    """Build the funding service (run with ``uvicorn --factory``)."""
    settings = settings or FundingSettings()
    runtime = Runtime(settings, catalogue, make_funding(settings), consumers)
    api = service_api(
        runtime,
        title="osv-platform funding",
        description="Programme phases and the support (seed funds, goods) granted to OSVs.",
    )
    api.include_router(phases)
    api.include_router(grants)
    return api
