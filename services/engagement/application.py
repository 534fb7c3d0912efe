"""Engagement: the application every entry point goes through."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.engagement.domainmodel import DepartureReason, DocumentType, Member, MemberNotFoundError, Sex
from services.engagement.fieldwork import (
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
    OSVNotKnownError,
    Output,
    TechnicalAssistance,
    overdue_for_follow_up,
)
from services.engagement.grantdirectory import GrantDirectory
from shared.districts import DistrictTable
from shared.osvdirectory import KnownOSV, OSVDirectory
from shared.store import ServiceApplication

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
    """Keeps the members of each OSV: who joined, who left and why."""

    name = "engagement"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        today: Callable[[], date] = today_in_lima,
        *,
        osvs: OSVDirectory,
        grants: GrantDirectory,
    ) -> None:
        super().__init__(env)
        self.osvs = osvs
        self.grants = grants
        if self.mapper.cipher is None:
            self.close()
            raise UnencryptedStoreError("engagement needs CIPHER_TOPIC and CIPHER_KEY in its env")
        self.today = today

    def join_member(
        self,
        osv_id: UUID,
        full_name: str,
        document_type: DocumentType,
        document_number: str | None,
        nationality: str,
        sex: Sex,
        joined_on: date,
        birth_year: int | None = None,
    ) -> UUID:
        member = Member.join(
            osv_id=osv_id,
            full_name=full_name,
            document_type=document_type,
            document_number=document_number,
            nationality=nationality,
            sex=sex,
            joined_on=joined_on,
            birth_year=birth_year,
            today=self.today(),
        )
        self.save(member)
        return member.id

    def record_departure(self, member_id: UUID, left_on: date, reason: DepartureReason) -> Member:
        member = self.get_member(member_id)
        member.leave(left_on, reason)
        self.save(member)
        return member

    def get_member(self, member_id: UUID) -> Member:
        try:
            return self.repository.get(member_id)
        except AggregateNotFoundError:
            raise MemberNotFoundError(member_id) from None


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

    def complete_action(self, osv_id: UUID, action_id: UUID, completed_on: date) -> ActionItem:
        follow_up = self.find_follow_up(osv_id)
        if follow_up is None:
            raise ActionItemNotFoundError(action_id)
        item = follow_up.complete_action(action_id, completed_on, today=self.today())
        self.engagement.save(follow_up)
        return item

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
