"""Engagement: the application every entry point goes through."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import Mapper
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.engagement.domain.members import (
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
from services.engagement.domain.followup import (
    ActionItem,
    ActionItemDraft,
    ActionItemNotFoundError,
    Activity,
    ActivityKind,
    ActivityNotFoundError,
    AssistanceTopic,
    BeneficiaryGroup,
    FollowUp,
    FollowUpStanding,
    Meeting,
    MeetingMode,
    MeetingTopic,
    Need,
    NeedsAssessment,
    NeedsRecord,
    OSVActivities,
    Output,
    TechnicalAssistance,
    overdue_for_follow_up,
)
from services.engagement.views.grants import GrantDirectory
from services.engagement.personaldata import DocumentDigests, KeyRing, SealingMapper
from shared.districts import DistrictTable
from shared.idempotency import AnswerBook
from shared.views.osvdirectory import KnownOSV, OSVDirectory
from shared.store import ServiceApplication, retried_on_collision

LIMA = ZoneInfo("America/Lima")
CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"


def cipher_env(key: str) -> dict[str, str]:
    """The event store settings that encrypt every stored event with ``key``."""
    return {"CIPHER_TOPIC": CIPHER_TOPIC, "CIPHER_KEY": key}


def today_in_lima() -> date:
    return datetime.now(LIMA).date()


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
        answers: AnswerBook | None = None,
    ) -> None:
        self.keys = keys  # before the library builds the mapper, which seals with them
        self.documents = documents
        super().__init__(env, answers=answers)
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

    @retried_on_collision
    def enrol_participant(self, member_id: UUID, grant_id: UUID, enrolled_on: date) -> Participation:
        grant = self.grants.require(grant_id)
        member = self.get_member(member_id)
        participation = member.enrol(grant_id, UUID(grant.osv_id), enrolled_on)
        self.save(member)
        return participation

    @retried_on_collision
    def withdraw_participant(self, member_id: UUID, grant_id: UUID, withdrew_on: date) -> Participation:
        member = self.get_member(member_id)
        participation = member.withdraw(grant_id, withdrew_on)
        self.save(member)
        return participation

    # Forgetting a person -----------------------------------------------------------

    @retried_on_collision
    def erase_personal_data(self, member_id: UUID, erased_on: date) -> Member:
        """Forget who the person is: kept answers about them and their key go first, then the erasure is recorded.

        Asked again, the answers and the key are deleted again (in case an
        earlier attempt stopped between the steps) before the domain refuses a
        second erasure.
        """
        member = self.get_member(member_id)
        index = self._document_index_of(member)  # found while the document can still be read
        if self.answers is not None:
            self.answers.forget(member.id, up_to_version=member.version)
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


# Field work (issue 3): follow-up, technical assistance, activities, needs ----------


@functools.cache
def lima_districts() -> DistrictTable:
    return DistrictTable.of_lima()


class FieldWork:
    """Follows each OSV up and keeps what it reports: meetings, assistance, activities, needs.

    A companion of :class:`Engagement`, not a second store: every command
    loads, calls an aggregate and saves through the engagement application,
    checking OSVs, members and grants against what engagement knows. It is a
    class of its own so it reads (and merges) apart from the members' code.
    """

    def __init__(self, engagement: Engagement, districts: DistrictTable | None = None) -> None:
        self.engagement = engagement
        self.districts = districts or lima_districts()

    def today(self) -> date:
        """Today in Lima, by engagement's clock."""
        return self.engagement.today()

    # Follow-up

    @retried_on_collision
    def hold_meeting(
        self,
        osv_id: UUID,
        held_on: date,
        mode: MeetingMode,
        topics: Sequence[MeetingTopic],
        attendee_member_ids: Sequence[UUID] = (),
        other_attendees: int = 0,
        notes: str | None = None,
        action_items: Sequence[ActionItemDraft] = (),
    ) -> tuple[FollowUp, Meeting]:
        """Record a meeting; the follow-up comes back too, holding the meeting's action items."""
        self.engagement.osvs.require_active(osv_id)
        follow_up = self.find_follow_up(osv_id) or FollowUp(osv_id=osv_id)
        meeting = follow_up.hold_meeting(
            held_on,
            mode,
            topics,
            attendee_member_ids,
            other_attendees,
            notes,
            action_items,
            known_members=self.known_members(attendee_member_ids),
            today=self.today(),
        )
        self.engagement.save(follow_up)
        return follow_up, meeting

    @retried_on_collision
    def complete_action(self, osv_id: UUID, action_id: UUID, completed_on: date) -> ActionItem:
        follow_up = self.find_follow_up(osv_id)
        if follow_up is None:
            raise ActionItemNotFoundError(action_id)
        item = follow_up.complete_action(action_id, completed_on, today=self.today())
        self.engagement.save(follow_up)
        return item

    @retried_on_collision
    def give_assistance(
        self, osv_id: UUID, given_on: date, topic: AssistanceTopic, hours: Decimal, note: str | None = None
    ) -> TechnicalAssistance:
        self.engagement.osvs.require_active(osv_id)
        follow_up = self.find_follow_up(osv_id) or FollowUp(osv_id=osv_id)
        assistance = follow_up.give_assistance(given_on, topic, hours, note, today=self.today())
        self.engagement.save(follow_up)
        return assistance

    def find_follow_up(self, osv_id: UUID) -> FollowUp | None:
        """The OSV's follow-up, or None before its first meeting or assistance."""
        try:
            return self.engagement.repository.get(FollowUp.id_for(osv_id))
        except AggregateNotFoundError:
            return None

    def get_follow_up(self, osv_id: UUID) -> FollowUp | None:
        """As :meth:`find_follow_up`, for an OSV engagement knows of; else a 404."""
        follow_up = self.find_follow_up(osv_id)
        if follow_up is None and self.engagement.osvs.get(osv_id) is None:
            raise OSVNotKnownError(osv_id)
        return follow_up

    def overdue(self, days: int) -> list[FollowUpStanding]:
        """Active OSVs with no meeting in the last ``days`` days, most overdue first.

        Reads one follow-up per active OSV: fine for the programme's dozens of OSVs.
        """
        standings = []
        for osv in self.active_osvs():
            osv_id = UUID(osv.osv_id)
            follow_up = self.find_follow_up(osv_id)
            standings.append(
                FollowUpStanding(
                    osv_id=osv_id,
                    district=osv.district,
                    zone=osv.zone,
                    mapped_on=osv.mapped_on,
                    last_meeting_on=follow_up.last_meeting_on if follow_up else None,
                )
            )
        return overdue_for_follow_up(standings, self.today(), days)

    def active_osvs(self) -> list[KnownOSV]:
        """Every OSV in engagement's directory that is not dissolved."""
        with Session(self.engagement.osvs.engine, expire_on_commit=False) as session:
            return list(session.scalars(select(KnownOSV).where(KnownOSV.dissolved_on.is_(None))))

    def known_members(self, member_ids: Iterable[UUID]) -> set[UUID]:
        """Those of ``member_ids`` that are members engagement keeps."""
        known = set()
        for member_id in member_ids:
            try:
                member = self.engagement.repository.get(member_id)
            except AggregateNotFoundError:
                continue
            if isinstance(member, Member):
                known.add(member_id)
        return known

    # Activities

    @retried_on_collision
    def report_activity(
        self,
        osv_id: UUID,
        held_on: date,
        kind: ActivityKind,
        district: str,
        direct_beneficiaries: Sequence[BeneficiaryGroup] = (),
        indirect_beneficiaries: int = 0,
        outputs: Sequence[Output] = (),
        grant_id: UUID | None = None,
        description: str | None = None,
    ) -> Activity:
        self.engagement.osvs.require_active(osv_id)
        found = self.districts.find(district)
        grant_osv_id = UUID(self.engagement.grants.require(grant_id).osv_id) if grant_id is not None else None
        activity = Activity.report(
            osv_id,
            held_on,
            kind,
            found.name,
            found.zone,
            direct_beneficiaries,
            indirect_beneficiaries,
            outputs,
            grant_id,
            grant_osv_id,
            description,
            today=self.today(),
        )
        index = self.find_activities_index(osv_id) or OSVActivities(osv_id=osv_id)
        index.add(activity.id)
        self.engagement.save(activity, index)
        return activity

    @retried_on_collision
    def withdraw_activity(self, activity_id: UUID, reason: str) -> Activity:
        activity = self.get_activity(activity_id)
        activity.withdraw(reason, today=self.today())
        self.engagement.save(activity)
        return activity

    def get_activity(self, activity_id: UUID) -> Activity:
        try:
            activity = self.engagement.repository.get(activity_id)
        except AggregateNotFoundError:
            raise ActivityNotFoundError(activity_id) from None
        if not isinstance(activity, Activity):
            raise ActivityNotFoundError(activity_id)
        return activity

    def activities_of(self, osv_id: UUID) -> list[Activity]:
        """The OSV's activities, latest held first, withdrawn ones included (and marked)."""
        index = self.find_activities_index(osv_id)
        if index is None:
            if self.engagement.osvs.get(osv_id) is None:
                raise OSVNotKnownError(osv_id)
            return []
        activities = [self.get_activity(activity_id) for activity_id in index.activity_ids]
        return sorted(activities, key=lambda a: a.held_on, reverse=True)

    def find_activities_index(self, osv_id: UUID) -> OSVActivities | None:
        try:
            return self.engagement.repository.get(OSVActivities.id_for(osv_id))
        except AggregateNotFoundError:
            return None

    # Needs

    @retried_on_collision
    def assess_needs(
        self,
        osv_id: UUID,
        assessed_on: date,
        members_assessed: int,
        members_over_5_years_in_peru: int,
        needs: Sequence[Need] = (),
    ) -> NeedsAssessment:
        self.engagement.osvs.require_active(osv_id)
        record = self.find_needs(osv_id) or NeedsRecord(osv_id=osv_id)
        assessment = record.assess(
            assessed_on, members_assessed, members_over_5_years_in_peru, needs, today=self.today()
        )
        self.engagement.save(record)
        return assessment

    def needs_assessments(self, osv_id: UUID) -> list[NeedsAssessment]:
        """The OSV's needs assessments, latest first."""
        record = self.find_needs(osv_id)
        if record is None:
            if self.engagement.osvs.get(osv_id) is None:
                raise OSVNotKnownError(osv_id)
            return []
        return record.latest_first()

    def find_needs(self, osv_id: UUID) -> NeedsRecord | None:
        try:
            return self.engagement.repository.get(NeedsRecord.id_for(osv_id))
        except AggregateNotFoundError:
            return None
