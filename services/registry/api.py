"""Registry's HTTP API: translates requests into commands on :class:`Registry`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Request, status

from services.registry.application import Registry
from services.registry.interface import catalogue
from services.registry.schemas import OSVCreate, OSVPublic, RUOSRegistrationCreate
from services.registry.settings import RegistrySettings
from shared.web import Runtime, runtime_of, service_api


def get_registry(request: Request) -> Registry:
    return runtime_of(request).app  # type: ignore[return-value]


RegistryDep = Annotated[Registry, Depends(get_registry)]

router = APIRouter(prefix="/osvs", tags=["osvs"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OSVPublic)
def map_osv(body: OSVCreate, registry: RegistryDep) -> OSVPublic:
    """Map a newly identified OSV (records `OSVMapped`)."""
    osv_id = registry.map_osv(body.name, body.district, body.mapped_on, body.kind)
    return OSVPublic.of(registry.get_osv(osv_id))


@router.get("", response_model=list[OSVPublic])
def list_osvs(registry: RegistryDep) -> list[OSVPublic]:
    """List every mapped OSV with its zone and RUOS status."""
    return [OSVPublic.of(osv) for osv in registry.list_osvs()]


@router.get("/{osv_id}", response_model=OSVPublic)
def get_osv(osv_id: UUID, registry: RegistryDep) -> OSVPublic:
    """Show one OSV with its zone and RUOS status."""
    return OSVPublic.of(registry.get_osv(osv_id))


@router.post("/{osv_id}/ruos-registration", status_code=status.HTTP_201_CREATED, response_model=OSVPublic)
def register_in_ruos(osv_id: UUID, body: RUOSRegistrationCreate, registry: RegistryDep) -> OSVPublic:
    """Record the OSV's registration in the RUOS (records `RUOSRegistered`)."""
    return OSVPublic.of(registry.register_in_ruos(osv_id, body.ruos_number, body.registered_on))


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    """Build the registry service (run with ``uvicorn --factory``)."""
    settings = settings or RegistrySettings()
    runtime = Runtime(settings, catalogue, lambda env: Registry(env))
    api = service_api(
        runtime,
        title="osv-platform registry",
        description="Neighbourhood organisations (OSV): mapping and municipal registration (RUOS).",
    )
    api.include_router(router)
    return api
