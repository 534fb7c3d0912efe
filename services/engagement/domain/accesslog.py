"""Who read a person's plain personal data, when, and for what stated purpose. Pure.

Every read that shows a member's name, document number, phone or birth year,
every command refused because the document it gives is a registered
person's (its 409 names them: a lookup by document, :class:`Disclosure`), and
every meeting or activity naming a member sent by a caller who may not read
members (its answer tells something of them), is
recorded on the member's :class:`AccessLog`, a private aggregate that
never leaves engagement (no event of it is published or in ``GET /events``).
The data protection officer lists it per member. The purpose is one of a
fixed vocabulary (:class:`Purpose`), never free text: free text would be one
more place for personal data to end up in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.errors import RuleViolationError
from shared.roles import ALL_LIMA, MunicipalScope


class Purpose(StrEnum):
    """Why someone reads a member's plain personal data (``?purpose=``; ``purpose`` in ``POST /members/lookup``'s body)."""

    CONTACT = "contact"
    """To reach the person (call, visit, message)."""
    FOLLOW_UP = "follow_up"
    """To follow up the OSV: meetings, attendance, pending actions; also what a meeting or an activity naming a member
    by a caller who may not read members is logged under (:attr:`Disclosure.MEETING_ATTENDEE`,
    :attr:`Disclosure.ACTIVITY_PARTICIPANT`)."""
    RUOS_APPLICATION = "ruos_application"
    """To prepare the OSV's RUOS application (board and members' documents)."""
    PROJECT_ENROLMENT = "project_enrolment"
    """To enrol or withdraw the person in a funded project."""
    DUPLICATE_CHECK = "duplicate_check"
    """To tell whether a person being registered is already a member; also what a registration or correction refused
    because its document is this person's is logged under (:attr:`Disclosure.REGISTRATION_REFUSED`,
    :attr:`Disclosure.CORRECTION_REFUSED`): that check is what told the caller."""
    CORRECTION = "correction"
    """To correct the person's recorded data."""
    DATA_SUBJECT_REQUEST = "data_subject_request"
    """To answer the person's own request (access, rectification, erasure)."""


PURPOSES_TEXT = ", ".join(f"`{p.value}`" for p in Purpose)


class Disclosure(StrEnum):
    """What showed the data."""

    MEMBER = "member"
    """``GET /members/{member_id}``."""
    LOOKUP = "lookup"
    """``POST /members/lookup`` (a lookup by document; ``GET /members?document_type=&document_number=`` before it was
    refused). Logged when answered masked too (the DPO's, an access request's first step): it told its caller who holds
    the document and the OSVs they belong to (tester 304 F2 asked whether it should be; the person learns who looked her
    up)."""
    OSV_MEMBERS = "osv_members"
    """``GET /osvs/{osv_id}/members``."""
    REGISTRATION_REFUSED = "registration_refused"
    """``POST /members`` refused (409 ``person_already_registered``, its dry run too): the document registered is this
    person's, and the answer names them, as a lookup by that document would."""
    CORRECTION_REFUSED = "correction_refused"
    """``POST /members/{member_id}/correction`` of another person refused (409 ``person_already_registered``, its dry run
    too): the document given is this person's, and the answer names them."""
    MEETING_ATTENDEE = "meeting_attendee"
    """``POST /osvs/{osv_id}/meetings`` naming this member as an attendee, by a caller who may not read members (the Kobo
    webhook's account): carried out or refused, its answer told whether they were a member of that OSV on its day."""
    SUBJECT_ACCESS = "subject_access"
    """``GET /members/{member_id}/subject-access``: the DPO's report for the person's access request (purpose
    :attr:`Purpose.DATA_SUBJECT_REQUEST`), their personal data in clear, and that of the records merged into them."""
    ACTIVITY_PARTICIPANT = "activity_participant"
    """``POST /activities`` naming this member as a participant, by a caller who may not read members: by ``member_id``,
    its answer told that the id is a living member's (one erased or merged is refused as a stranger, and not logged);
    by ``person_id``, refused, that the id is a member record's, living, erased or merged (logged on an erased
    person's access log too, tester 221 F1)."""


class PurposeRequiredError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            f"reading a member's personal data needs a stated purpose, one of {PURPOSES_TEXT}: each read is logged with it",
            field="purpose",
            rule="purpose_required",
        )


class PurposeWithMaskedError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "`purpose` asks for a member's personal data, a logged read, and `masked=true` for none of it: send one of them",
            field="purpose",
            rule="purpose_or_masked",
        )


class SubjectAccessPurposeError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "`data_subject_request` from a caller who reads members masked shows nothing of the person and logs "
            "nothing: an access request is answered with `GET /members/{member_id}/subject-access` (the DPO's; "
            "tester 304 F2)",
            field="purpose",
            rule="subject_access_route",
        )


@dataclass(frozen=True)
class Access:
    """One read of the person's plain personal data."""

    read_at: datetime
    reader: str
    """The token's subject: a login name."""
    purpose: Purpose
    disclosure: Disclosure
    osv_id: UUID | None = None
    """With :attr:`Disclosure.REGISTRATION_REFUSED`: the OSV the refused registration named (a dry run per OSV, each
    refused, was each one entry alike: tester 221 F2); with :attr:`Disclosure.OSV_MEMBERS`: the OSV whose member list
    was read (tester 286 F7); with :attr:`Disclosure.MEETING_ATTENDEE`: the OSV whose meeting named them (helper h294);
    None otherwise, and for an entry recorded before it was kept."""


@dataclass(frozen=True)
class Reader:
    """Who reads members, and how much of them they may see.

    ``plain`` readers (``personal-data:read``) see names and documents, each
    read logged with ``purpose``; everyone else sees members masked, and only
    those with a membership in an OSV of ``scope``.
    """

    subject: str
    scope: MunicipalScope = ALL_LIMA
    plain: bool = False
    purpose: Purpose | None = None


def check_purpose(purpose: Purpose | None) -> Purpose:
    """The stated purpose; a plain read without one is refused."""
    if purpose is None:
        raise PurposeRequiredError
    return purpose


class AccessLog(Aggregate):
    """The reads of one member's plain personal data, oldest first; one per member, made at the first read."""

    @staticmethod
    def id_for(member_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/osv-platform/engagement/access-log/{member_id}")

    @classmethod
    def create_id(cls, member_id: UUID) -> UUID:
        return cls.id_for(member_id)

    @event("Opened")
    def __init__(self, member_id: UUID) -> None:
        self.member_id = member_id
        self.accesses: list[Access] = []

    @event("PersonalDataRead")
    def record(self, read_at: datetime, reader: str, purpose: Purpose, disclosure: Disclosure, osv_id: UUID | None = None) -> None:
        """``osv_id``: see :attr:`Access.osv_id` (an event stored before it has none: the method's default)."""
        self.accesses.append(Access(read_at, reader, Purpose(purpose), Disclosure(disclosure), osv_id))
