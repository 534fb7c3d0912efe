"""Registry's request and response bodies."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from services.registry.domainmodel import OSV, OSVKind
from shared.schemas import Command, IsoDate, Text


class OSVCreate(Command):
    name: Text = Field(description="The organisation's name.")
    district: Text = Field(description="A district of Lima Metropolitana; case and accents are ignored (\"Brena\" is Breña).")
    mapped_on: IsoDate = Field(description="When the programme identified the OSV.")
    kind: OSVKind | None = Field(default=None, description="The kind of organisation, if known.")


class RUOSRegistrationCreate(Command):
    ruos_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] = Field(
        description="The number the municipality gave in its RUOS."
    )
    registered_on: IsoDate = Field(description="The date of the registration (may precede this system).")


class RUOSStatus(BaseModel):
    status: str = Field(description="`unregistered` or `registered`.")
    number: str | None = None
    registered_on: date | None = None


class OSVPublic(BaseModel):
    id: UUID
    name: str
    district: str
    zone: str
    kind: OSVKind | None
    mapped_on: date
    ruos: RUOSStatus
    version: int = Field(description="How many events the OSV has recorded.")

    @classmethod
    def of(cls, osv: OSV) -> OSVPublic:
        return cls(
            id=osv.id,
            name=osv.name,
            district=osv.district,
            zone=osv.zone,
            kind=osv.kind,
            mapped_on=osv.mapped_on,
            ruos=RUOSStatus(status=osv.ruos_status, number=osv.ruos_number, registered_on=osv.registered_on),
            version=osv.version,
        )
