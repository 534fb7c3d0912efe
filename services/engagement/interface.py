"""Engagement's public events: what partners and the other services see of people and OSVs.

Each model is one entry of the event catalogue (``catalogue/schemas/``). None
declares a name, a document number, a phone or a birth year, so none can carry
them: a member goes out as an id, the OSV, a nationality, a sex and the age
band worked out when they joined. Every field comes from the domain event
itself, never from data that an erasure could take away, so the events read
the same before and after a person is forgotten.

The events that hold personal data, or the document index's bookkeeping, are
declared private: they never leave the service.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import Field

from services.engagement.domainmodel import AgeBand, DepartureReason, DocumentIndex, DocumentType, Member, OSVRoster, Role, Sex
from shared.events import EventCatalogue, PublicEvent

catalogue = EventCatalogue("engagement")

catalogue.keeps_private(
    Member.Registered,  # the person's sealed personal data
    DocumentIndex.Opened,
    DocumentIndex.Claimed,
    DocumentIndex.Released,
    OSVRoster.Opened,
)

Nationality = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code, e.g. VE or PE.")]
Tally = Annotated[
    dict[DocumentType, int],
    Field(description="Active memberships by the document their members hold; types with none are left out."),
]


@catalogue.publishes(Member.Joined)
class MemberJoined(PublicEvent):
    """A person joined an OSV the programme supports (again, if they had left it: a new membership)."""

    id_field: ClassVar[str] = "member_id"
    occurred_field: ClassVar[str] = "joined_on"

    member_id: UUID
    membership_id: UUID = Field(description="This stay in this OSV; later events about it name it.")
    osv_id: UUID
    role: Role
    nationality: Nationality
    sex: Sex
    age_band: AgeBand = Field(description="Age when joining, from the birth year; `unknown` without one.")
    joined_on: date


@catalogue.publishes(Member.RoleChanged)
class MemberRoleChanged(PublicEvent):
    """A member took another role in their OSV (president, board member, member)."""

    id_field: ClassVar[str] = "member_id"
    occurred_field: ClassVar[str] = "changed_on"

    member_id: UUID
    membership_id: UUID
    osv_id: UUID
    role: Role = Field(description="The role held from `changed_on`.")
    changed_on: date


@catalogue.publishes(Member.PersonalDataErased)
class PersonalDataErased(PublicEvent):
    """The person's personal data was forgotten; their memberships stay, in public terms."""

    id_field: ClassVar[str] = "member_id"
    occurred_field: ClassVar[str] = "erased_on"

    member_id: UUID
    erased_on: date


@catalogue.publishes(OSVRoster.DocumentsCounted)
class OSVDocumentsCounted(PublicEvent):
    """An OSV's active memberships by document type, counted again after each change; the latest holds."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "counted_on"

    osv_id: UUID
    counted_on: date
    board: Tally = Field(description="The board (president and board members), by document type.")
    members: Tally = Field(description="Every active member, the board included, by document type.")

    @classmethod
    def from_domain(cls, event: Any) -> OSVDocumentsCounted:
        """The roster's own id is engagement's business: the OSV is what partners know."""
        return cls(
            osv_id=event.osv_id,
            counted_on=event.counted_on,
            board=event.board,
            members=event.members,
            occurred_on=event.counted_on,
        )


@catalogue.publishes(Member.Enrolled)
class ParticipantEnrolled(PublicEvent):
    """A member took part, as an agent of change, in the project a grant funds."""

    id_field: ClassVar[str] = "member_id"
    occurred_field: ClassVar[str] = "enrolled_on"

    member_id: UUID
    grant_id: UUID
    osv_id: UUID = Field(description="The OSV that received the grant, of which the member is active.")
    nationality: Nationality
    sex: Sex
    age_band: AgeBand = Field(description="Age band when the member joined the OSV.")
    enrolled_on: date


@catalogue.publishes(Member.Withdrew)
class ParticipantWithdrew(PublicEvent):
    """A member stopped taking part in a funded project."""

    id_field: ClassVar[str] = "member_id"
    occurred_field: ClassVar[str] = "withdrew_on"

    member_id: UUID
    grant_id: UUID
    osv_id: UUID
    nationality: Nationality
    sex: Sex
    age_band: AgeBand = Field(description="Age band when the member joined the OSV.")
    withdrew_on: date


@catalogue.publishes(Member.Left)
class MemberLeft(PublicEvent):
    """A member left their OSV (that membership ended)."""

    id_field: ClassVar[str] = "member_id"
    occurred_field: ClassVar[str] = "left_on"

    member_id: UUID
    membership_id: UUID
    osv_id: UUID
    nationality: Nationality
    sex: Sex
    age_band: AgeBand = Field(description="Age band when the member joined.")
    left_on: date
    reason: DepartureReason
