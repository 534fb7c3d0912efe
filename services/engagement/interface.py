"""Engagement's public events: what partners and the other services see of a member.

Each model is one entry of the event catalogue (``catalogue/schemas/``). None
declares a name, a document or a birth year, so none can carry them: a member
goes out as an id, the OSV, a nationality, a sex and an age band.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import Field

from services.engagement.domainmodel import AgeBand, DepartureReason, Member, Sex, age_band
from shared.events import EventCatalogue, PublicEvent

catalogue = EventCatalogue("engagement")

Nationality = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code, e.g. VE or PE.")]


@catalogue.publishes(Member.MemberJoined)
class MemberJoined(PublicEvent):
    """A person joined an OSV the programme supports."""

    id_field: ClassVar[str] = "member_id"
    occurred_field: ClassVar[str] = "joined_on"

    member_id: UUID
    osv_id: UUID
    nationality: Nationality
    sex: Sex
    age_band: AgeBand = Field(description="Age when joining, from the birth year; `unknown` without one.")
    joined_on: date

    @classmethod
    def from_domain(cls, event: Any) -> MemberJoined:
        """The age band is worked out here: the domain event holds the birth year, which never leaves."""
        return cls(
            member_id=event.originator_id,
            osv_id=event.osv_id,
            nationality=event.nationality,
            sex=event.sex,
            age_band=age_band(event.birth_year, event.joined_on.year),
            joined_on=event.joined_on,
            occurred_on=event.joined_on,
        )


@catalogue.publishes(Member.MemberLeft)
class MemberLeft(PublicEvent):
    """A member left their OSV."""

    id_field: ClassVar[str] = "member_id"
    occurred_field: ClassVar[str] = "left_on"

    member_id: UUID
    osv_id: UUID
    nationality: Nationality
    sex: Sex
    age_band: AgeBand = Field(description="Age band when the member joined.")
    left_on: date
    reason: DepartureReason
