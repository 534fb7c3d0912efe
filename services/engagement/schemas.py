"""Engagement's request and response bodies.

Responses go to programme staff and so show names, document numbers and
phones, until a person's data is erased; nothing here is published (see
``interface.py`` for what is).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from services.engagement.domainmodel import (
    AgeBand,
    DepartureReason,
    DocumentType,
    Member,
    Membership,
    Participation,
    Role,
    Sex,
)
from shared.schemas import Command, IsoDate, Text

ROLE_DESCRIPTION = "`president`, `board_member` or `member`."


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
    role: Role = Field(default=Role.MEMBER, description=f"The role they take in the OSV: {ROLE_DESCRIPTION}")
    phone: Annotated[str, StringConstraints(max_length=30)] | None = Field(
        default=None, description="A phone number, if the person gives one: 6 to 15 digits, optionally after +."
    )


class MembershipCreate(Command):
    osv_id: UUID = Field(description="The OSV the member joins: another one, or one they had left.")
    role: Role = Field(default=Role.MEMBER, description=ROLE_DESCRIPTION)
    joined_on: IsoDate = Field(description="When the member joined it.")


class RoleChangeCreate(Command):
    role: Role = Field(description=f"The new role: {ROLE_DESCRIPTION}")
    changed_on: IsoDate = Field(description="From when the member holds it.")


class DepartureCreate(Command):
    left_on: IsoDate = Field(description="When the member left the OSV.")
    reason: DepartureReason = Field(description="Why the member left.")


class ErasureCreate(Command):
    erased_on: IsoDate = Field(description="When the person asked to be forgotten, or the programme decided it.")


class ParticipationCreate(Command):
    grant_id: UUID = Field(description="The grant whose project the member takes part in.")
    enrolled_on: IsoDate = Field(description="When the member began to take part.")


class WithdrawalCreate(Command):
    withdrew_on: IsoDate = Field(description="When the member stopped taking part.")


class RoleHeldPublic(BaseModel):
    role: Role = Field(description=ROLE_DESCRIPTION)
    since: date = Field(description="From when the member held it.")


class MembershipPublic(BaseModel):
    membership_id: UUID = Field(description="This stay in this OSV.")
    osv_id: UUID = Field(description="The OSV.")
    role: Role = Field(description=f"The current role: {ROLE_DESCRIPTION}")
    roles: list[RoleHeldPublic] = Field(description="Every role held, oldest first.")
    joined_on: date = Field(description="When the member joined the OSV.")
    age_band: AgeBand = Field(description="Age band when joining.")
    status: str = Field(description="`active` or `left`.")
    left_on: date | None = Field(description="When the member left, if they did.")
    reason: DepartureReason | None = Field(description="Why the member left, if they did.")

    @classmethod
    def of(cls, membership: Membership) -> MembershipPublic:
        return cls(
            membership_id=membership.membership_id,
            osv_id=membership.osv_id,
            role=membership.role,
            roles=[RoleHeldPublic(role=r.role, since=r.since) for r in membership.roles],
            joined_on=membership.joined_on,
            age_band=membership.age_band,
            status=membership.status,
            left_on=membership.left_on,
            reason=membership.reason,
        )


class ParticipationPublic(BaseModel):
    grant_id: UUID = Field(description="The grant whose project the member takes part in.")
    osv_id: UUID = Field(description="The OSV that received the grant.")
    enrolled_on: date = Field(description="When the member began to take part.")
    withdrew_on: date | None = Field(description="When the member stopped, if they did.")

    @classmethod
    def of(cls, participation: Participation) -> ParticipationPublic:
        return cls(
            grant_id=participation.grant_id,
            osv_id=participation.osv_id,
            enrolled_on=participation.enrolled_on,
            withdrew_on=participation.withdrew_on,
        )


class OSVMemberPublic(BaseModel):
    """One active member of an OSV, as staff see the OSV's list."""

    member_id: UUID = Field(description="The person.")
    membership_id: UUID = Field(description="Their membership of this OSV.")
    full_name: str = Field(description="`[erased]` once the person's data is erased.")
    document_type: DocumentType = Field(description="The identity document the person holds.")
    role: Role = Field(description=ROLE_DESCRIPTION)
    joined_on: date = Field(description="When they joined this OSV.")

    @classmethod
    def of(cls, member: Member, membership: Membership) -> OSVMemberPublic:
        return cls(
            member_id=member.id,
            membership_id=membership.membership_id,
            full_name=member.full_name,
            document_type=member.document_type,
            role=membership.role,
            joined_on=membership.joined_on,
        )


class MembershipStatus(BaseModel):
    status: str = Field(description="`active` or `left`.")
    left_on: date | None = Field(default=None, description="When the member left, if they did.")
    reason: DepartureReason | None = Field(default=None, description="Why the member left, if they did.")


class MemberPublic(BaseModel):
    id: UUID = Field(description="The person's member id.")
    osv_id: UUID = Field(description="The OSV of the latest membership.")
    full_name: str = Field(description="`[erased]` once the person's data is erased.")
    document_type: DocumentType = Field(description="The identity document the person holds.")
    document_number: str | None = Field(description="Normalised: no spaces, upper case. Null without one or once erased.")
    phone: str | None = Field(description="Digits, with a leading + if given. Null without one or once erased.")
    nationality: str = Field(description="ISO 3166-1 alpha-2 country code.")
    sex: Sex = Field(description="`F`, `M` or `X`.")
    birth_year: int | None = Field(description="Null if not given, or once erased.")
    age_band: AgeBand = Field(description="Age band when joining the OSV of the latest membership.")
    joined_on: date = Field(description="When the latest membership began.")
    membership: MembershipStatus = Field(description="The latest membership's status.")
    memberships: list[MembershipPublic] = Field(description="Every membership, oldest first.")
    participations: list[ParticipationPublic] = Field(description="The funded projects the member takes part in.")
    personal_data: str = Field(description="`kept`, or `erased` once the person was forgotten.")
    version: int = Field(description="How many events the member has recorded.")

    @classmethod
    def of(cls, member: Member) -> MemberPublic:
        latest = member.latest_membership
        return cls(
            id=member.id,
            osv_id=latest.osv_id,
            full_name=member.full_name,
            document_type=member.document_type,
            document_number=member.document_number,
            phone=member.phone,
            nationality=member.nationality,
            sex=member.sex,
            birth_year=member.birth_year,
            age_band=latest.age_band,
            joined_on=latest.joined_on,
            membership=MembershipStatus(status=latest.status, left_on=latest.left_on, reason=latest.reason),
            memberships=[MembershipPublic.of(m) for m in member.memberships.values()],
            participations=[ParticipationPublic.of(p) for p in member.participations.values()],
            personal_data=member.personal_data,
            version=member.version,
        )
