"""Engagement's request and response bodies.

Responses go to programme staff and so show names and document numbers;
nothing here is published (see ``interface.py`` for what is).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from services.engagement.domainmodel import AgeBand, DepartureReason, DocumentType, Member, Sex
from shared.schemas import Command, IsoDate, Text


class MemberCreate(Command):
    osv_id: UUID = Field(description="The OSV the person joins.")
    full_name: Text = Field(description="The person's full name, as they give it.")
    document_type: DocumentType = Field(description="The identity document the person holds; `NINGUNO` if none.")
    document_number: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        default=None,
        description="The document's number; spaces and case are ignored. Absent or empty with `NINGUNO`.",
    )
    nationality: str = Field(description="ISO 3166-1 alpha-2 country code, e.g. `VE` or `PE`.")
    sex: Sex = Field(description="`F`, `M` or `X`.")
    joined_on: IsoDate = Field(description="When the person joined the OSV (may precede this system).")
    birth_year: int | None = Field(default=None, description="Year of birth, if the person gives it.")


class DepartureCreate(Command):
    left_on: IsoDate = Field(description="When the member left the OSV.")
    reason: DepartureReason = Field(description="Why the member left.")


class MembershipStatus(BaseModel):
    status: str = Field(description="`active` or `left`.")
    left_on: date | None = None
    reason: DepartureReason | None = None


class MemberPublic(BaseModel):
    id: UUID
    osv_id: UUID
    full_name: str
    document_type: DocumentType
    document_number: str | None = Field(description="Normalised: no spaces, upper case.")
    nationality: str
    sex: Sex
    birth_year: int | None
    age_band: AgeBand
    joined_on: date
    membership: MembershipStatus
    version: int = Field(description="How many events the member has recorded.")

    @classmethod
    def of(cls, member: Member) -> MemberPublic:
        return cls(
            id=member.id,
            osv_id=member.osv_id,
            full_name=member.full_name,
            document_type=member.document_type,
            document_number=member.document_number,
            nationality=member.nationality,
            sex=member.sex,
            birth_year=member.birth_year,
            age_band=member.age_band,
            joined_on=member.joined_on,
            membership=MembershipStatus(status=member.status, left_on=member.left_on, reason=member.departure_reason),
            version=member.version,
        )
