"""Engagement: the application every entry point goes through."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import ParamSpec, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, Mapper

from services.engagement.domainmodel import (
    DepartureReason,
    DocumentIndex,
    DocumentType,
    Member,
    MemberNotFoundError,
    Membership,
    NoDocumentToFindError,
    OSVNotKnownError,
    OSVRoster,
    Participation,
    PersonNotFoundError,
    Role,
    Sex,
    document_identity,
    normalise_document_number,
)
from services.engagement.grantdirectory import GrantDirectory
from services.engagement.personaldata import DocumentDigests, KeyRing, SealingMapper
from shared.osvdirectory import OSVDirectory
from shared.store import ServiceApplication

LIMA = ZoneInfo("America/Lima")
CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"
COMMAND_ATTEMPTS = 5

P = ParamSpec("P")
R = TypeVar("R")


def cipher_env(key: str) -> dict[str, str]:
    """The event store settings that encrypt every stored event with ``key``."""
    return {"CIPHER_TOPIC": CIPHER_TOPIC, "CIPHER_KEY": key}


def today_in_lima() -> date:
    return datetime.now(LIMA).date()


def retried_on_collision(command: Callable[P, R]) -> Callable[P, R]:
    """Run the command again when a concurrent one saved the same aggregate first.

    Two joins to one OSV both move its roster on a version; the loser's whole
    save is refused (nothing of it is written), so it loads again and retries.
    """

    @functools.wraps(command)
    def retrying(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, COMMAND_ATTEMPTS + 1):
            try:
                return command(*args, **kwargs)
            except IntegrityError:
                if attempt == COMMAND_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    return retrying


class UnencryptedStoreError(RuntimeError):
    """Engagement holds personal data and refuses a store without a cipher."""


class Engagement(ServiceApplication):
    """Keeps people and their memberships of OSVs, their roles, projects, and the right to be forgotten."""

    name = "engagement"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        today: Callable[[], date] = today_in_lima,
        *,
        osvs: OSVDirectory,
        grants: GrantDirectory,
        keys: KeyRing,
        documents: DocumentDigests,
    ) -> None:
        self.keys = keys  # before the library builds the mapper, which seals with them
        self.documents = documents
        super().__init__(env)
        self.osvs = osvs
        self.grants = grants
        if self.mapper.cipher is None:
            self.close()
            raise UnencryptedStoreError("engagement needs CIPHER_TOPIC and CIPHER_KEY in its env")
        self.today = today

    def construct_mapper(self) -> Mapper[UUID]:
        """The library's mapper, plus sealing each person's data with their own key."""
        return SealingMapper(
            transcoder=self.construct_transcoder(),
            compressor=self.factory.compressor(),
            cipher=self.factory.cipher(),
            keys=self.keys,
        )

    # People and memberships ---------------------------------------------------

    @retried_on_collision
    def register_member(
        self,
        osv_id: UUID,
        full_name: str,
        document_type: DocumentType,
        document_number: str | None,
        nationality: str,
        sex: Sex,
        joined_on: date,
        birth_year: int | None = None,
        role: Role = Role.MEMBER,
        phone: str | None = None,
    ) -> UUID:
        """Register a person with their first membership; a document registers one person only."""
        self.osvs.require_active(osv_id)
        member = Member.register(
            full_name=full_name,
            document_type=document_type,
            document_number=document_number,
            nationality=nationality,
            sex=sex,
            birth_year=birth_year,
            osv_id=osv_id,
            joined_on=joined_on,
            today=self.today(),
            role=role,
            phone=phone,
        )
        index = self._claim_document(member)
        roster = self._roster_of(osv_id)
        roster.seat(member.latest_membership, member.id, member.document_type, self.today())
        self.save(member, index, roster)
        return member.id

    @retried_on_collision
    def join_osv(self, member_id: UUID, osv_id: UUID, role: Role, joined_on: date) -> Membership:
        """Record that a registered person joined another OSV, or rejoined one."""
        self.osvs.require_active(osv_id)
        member = self.get_member(member_id)
        membership = member.join(osv_id, role, joined_on)
        roster = self._roster_of(osv_id)
        roster.seat(membership, member.id, member.document_type, self.today())
        self.save(member, roster)
        return membership

    @retried_on_collision
    def change_role(self, member_id: UUID, membership_id: UUID, role: Role, changed_on: date) -> Membership:
        member = self.get_member(member_id)
        membership = member.change_role(membership_id, role, changed_on)
        roster = self._roster_of(membership.osv_id)
        roster.seat(membership, member.id, member.document_type, self.today())
        self.save(member, roster)
        return membership

    @retried_on_collision
    def record_departure(
        self, member_id: UUID, left_on: date, reason: DepartureReason, membership_id: UUID | None = None
    ) -> Member:
        """Record a departure from one membership; without its id, from the member's only active one."""
        member = self.get_member(member_id)
        if membership_id is None:
            membership = member.leave(left_on, reason)
        else:
            membership = member.leave_membership(membership_id, left_on, reason)
        roster = self._roster_of(membership.osv_id)
        roster.unseat(membership, member.id, member.document_type, self.today())
        self.save(member, roster)
        return member

    # Projects ------------------------------------------------------------------

    def enrol_participant(self, member_id: UUID, grant_id: UUID, enrolled_on: date) -> Participation:
        grant = self.grants.require(grant_id)
        member = self.get_member(member_id)
        participation = member.enrol(grant_id, UUID(grant.osv_id), enrolled_on)
        self.save(member)
        return participation

    def withdraw_participant(self, member_id: UUID, grant_id: UUID, withdrew_on: date) -> Participation:
        member = self.get_member(member_id)
        participation = member.withdraw(grant_id, withdrew_on)
        self.save(member)
        return participation

    # Forgetting a person -----------------------------------------------------------

    @retried_on_collision
    def erase_personal_data(self, member_id: UUID, erased_on: date) -> Member:
        """Forget who the person is: their key goes first, then the erasure is recorded.

        Asked again, the key is deleted again (in case an earlier attempt stopped
        between the two steps) before the domain refuses a second erasure.
        """
        member = self.get_member(member_id)
        index = self._document_index_of(member)  # found while the document can still be read
        self.keys.forget(member.id, *([index.id] if index is not None else []))
        member.erase(erased_on)
        if index is not None and index.member_id == member.id:
            index.release()
        self.save(member, index)
        return member

    # Queries --------------------------------------------------------------------------

    def find_member(self, document_type: DocumentType, document_number: str) -> Member:
        """The registered person who holds this document."""
        identity = document_identity(document_type, normalise_document_number(document_type, document_number))
        if identity is None:
            raise NoDocumentToFindError
        try:
            index: DocumentIndex = self.repository.get(self.documents.index_id(identity))
        except AggregateNotFoundError:
            raise PersonNotFoundError from None
        if index.member_id is None:
            raise PersonNotFoundError
        return self.get_member(index.member_id)

    def active_members_of(self, osv_id: UUID) -> list[tuple[Member, Membership]]:
        """The OSV's active members, in the order they joined, each with their membership there."""
        try:
            roster: OSVRoster = self.repository.get(OSVRoster.create_id(osv_id))
        except AggregateNotFoundError:
            if self.osvs.get(osv_id) is None:
                raise OSVNotKnownError(osv_id) from None
            return []
        active = []
        for membership_id, seat in roster.seats.items():
            member = self.get_member(seat.member_id)
            active.append((member, member.membership(membership_id)))
        return active

    # Helpers -----------------------------------------------------------------------------

    def _claim_document(self, member: Member) -> DocumentIndex | None:
        identity = member.document_identity
        if identity is None:
            return None
        index_id = self.documents.index_id(identity)
        try:
            index: DocumentIndex = self.repository.get(index_id)
        except AggregateNotFoundError:
            return DocumentIndex(id=index_id, member_id=member.id)
        index.claim(member.id)
        return index

    def _document_index_of(self, member: Member) -> DocumentIndex | None:
        identity = member.document_identity
        if identity is None:
            return None
        try:
            return self.repository.get(self.documents.index_id(identity))
        except AggregateNotFoundError:
            return None

    def _roster_of(self, osv_id: UUID) -> OSVRoster:
        try:
            return self.repository.get(OSVRoster.create_id(osv_id))
        except AggregateNotFoundError:
            return OSVRoster(osv_id=osv_id)

    def get_member(self, member_id: UUID) -> Member:
        try:
            member = self.repository.get(member_id)
        except AggregateNotFoundError:
            raise MemberNotFoundError(member_id) from None
        if not isinstance(member, Member):  # the id of an index entry or a roster
            raise MemberNotFoundError(member_id)
        return member
