"""Engagement: the application every entry point goes through. Each command loads, calls the aggregates, saves."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, timezone
from typing import Any
from uuid import UUID

from services.engagement.domain.accesslog import Disclosure, Reader, check_purpose
from services.engagement.domain.activities import (
    OSVActivities,
)
from services.engagement.domain.documents import (
    PersonAlreadyRegisteredError,
)
from services.engagement.domain.followup import AttendedMeetingError, FollowUp, Meeting
from services.engagement.domain.memberrules import (
    DepartureReason,
    MemberNotFoundError,
    OSVNotKnownError,
    Role,
    Sex,
    held_on,
)
from services.engagement.domain.members import UNCHANGED, Member, Membership, Unchanged
from services.engagement.domain.merges import check_left_after_merged_stays
from services.engagement.domain.needs import NeedsRecord
from services.engagement.domain.roster import Holder, OSVRoster, Term, check_term_apart, terms_of
from services.engagement.fieldwork import Fieldwork
from services.engagement.forgetting import Forgetting
from services.engagement.histories import FieldHistories
from services.engagement.memberhistory import MemberHistory
from services.engagement.merging import Merging
from services.engagement.personaldata import SEALED_FIELDS, DocumentDirectory, KeyRing
from services.engagement.personalreads import PersonalDataReads
from services.engagement.views import GrantDirectory, OSVDirectory
from services.engagement.views.grants import NotAProjectError
from shared.clock import Clock, today_in_lima
from shared.dates import dates_told_with
from shared.districts import DistrictTable
from shared.documents import DocumentType
from shared.errors import DomainError, RuleViolationError, raise_first, refused
from shared.idempotency import AnswerBook
from shared.preconditions import check_version
from shared.roles import ALL_LIMA, MunicipalScope
from shared.sealing import drawn_at_random
from shared.store import ServiceApplication, retried_on_collision
from shared.views.osvdirectory import OSVNotInRegistryError

CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"


def cipher_env(key: str) -> dict[str, str]:
    """The event store settings that encrypt every stored event with ``key``."""
    return {"CIPHER_TOPIC": CIPHER_TOPIC, "CIPHER_KEY": key}


class UnencryptedStoreError(RuntimeError):
    """Engagement holds personal data and refuses a store without a cipher."""


class Engagement(PersonalDataReads, Merging, Fieldwork, FieldHistories, MemberHistory, Forgetting, ServiceApplication):
    """Keeps people and their memberships of OSVs, their roles, projects and the right to be forgotten,
    and each OSV's follow-up: meetings, technical assistance, the activities it reports and its members' needs.

    Every command checks OSVs and grants against the local views of
    registry's and funding's events (:mod:`services.engagement.views`).
    """

    name = "engagement"
    SEALED_FIELDS = SEALED_FIELDS

    KEPT_AGGREGATES = (OSVRoster, OSVActivities, NeedsRecord, FollowUp)
    """An OSV's roster, indexes and follow-up grow with each member, activity, assessment or meeting: kept in memory between commands.

    Never a person (:class:`Member`): a member's events hold sealed fields
    (names, documents), which a kept copy would hold unsealed after an erasure
    deleted their key (:mod:`shared.kept`). A follow-up's sealed text is kept
    because each redaction is recorded as an event first (``REDACTIONS_RECORDED``):
    a kept copy forgets the text as it reads it. Follow-ups are never snapshotted.
    """
    snapshotting_intervals = {OSVRoster: 100, OSVActivities: 100}

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        today: Clock = today_in_lima,
        *,
        osvs: OSVDirectory,
        grants: GrantDirectory,
        keys: KeyRing,
        documents: DocumentDirectory,
        answers: AnswerBook | None = None,
        districts: DistrictTable | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.documents = documents
        self.erasures_checked = threading.Event()
        self.keys_at_start = keys.holds_any()
        super().__init__(env, answers=answers, keys=keys)
        self.osvs = osvs
        self.grants = grants
        if self.mapper.cipher is None:
            self.close()
            raise UnencryptedStoreError("engagement needs CIPHER_TOPIC and CIPHER_KEY in its env")
        self.today = today
        self.now = now
        self.districts = districts or DistrictTable.of_lima()

    def municipality_of_osv(self, osv_id: UUID) -> str | None:
        """The OSV's municipality, from the local view of registry's OSVs."""
        return self.osvs.ubigeo_of(osv_id)

    def districts_lacking(self) -> list[str]:
        """The districts of OSVs its directory knows that its districts table lacks (``/health``'s ``missing_districts``)."""
        return self.osvs.districts_lacking()

    def municipality_of(self, data: Mapping[str, Any]) -> str | None:
        """As for every service (the OSV's district), and an erasure that names no OSV (recorded before
        ``PersonalDataErased`` carried one) belongs to the OSV of the person's latest membership."""
        if data.get("osv_id") is None and data.get("member_id") is not None:
            member = self.find(UUID(str(data["member_id"])), Member)
            if member is not None and member.memberships:
                return super().municipality_of({"osv_id": member.latest_membership.osv_id})
        return super().municipality_of(data)

    # People and memberships ---------------------------------------------------

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
        return self.registered_member(
            osv_id, full_name, document_type, document_number, nationality, sex, joined_on, birth_year, role, phone
        ).id

    def _new_member(
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
    ) -> Member:
        """The person :meth:`registered_member` registers, not saved: its refusals are the person's own mistakes."""
        return Member.register(
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

    def _osv_not_heard_of(self, osv_id: UUID, joined_on: date) -> Iterator[RuleViolationError]:
        """The 422 of an OSV this service has not heard of, if it has not; a 409 (dissolved, merged) is not told here."""
        try:
            self.osvs.require_active(osv_id, on=joined_on, dated="joined_on")
        except OSVNotInRegistryError as unknown:
            yield unknown
        except DomainError:
            return

    def _registration_told_with_dates(self, *args: Any, **kwargs: Any) -> Iterator[RuleViolationError]:
        """:meth:`registered_member`'s 422s (its arguments, as :meth:`_new_member` takes them), read only, for the date
        rule's refusal of ``joined_on`` to come with them (tester 212 F7, as tester 206 F5 found of the OSV not heard of)."""
        person = inspect.signature(self._new_member).bind(*args, **kwargs).arguments
        yield from self._osv_not_heard_of(person["osv_id"], person["joined_on"])
        yield from refused(lambda: self._new_member(*args, **kwargs))

    @retried_on_collision
    @dates_told_with(_registration_told_with_dates)
    def registered_member(
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
    ) -> Member:
        """:meth:`register_member`, giving the member as saved: what ``POST /members`` answers, without reading them back
        (and unsealing their personal data again). An OSV this service has not heard of (422 ``osv_mapped_in_registry``)
        is said with the person's own mistakes (a board role for a minor…) in one 422: they came one answer at a time
        (tester 206 F5); a ``joined_on`` the date rule refuses, with them too (tester 212 F7).

        A document registered already is 409 ``person_already_registered`` naming its holder, telling staff whether they
        are an active member of this OSV already (a form sent twice) or a membership is to add; a caller who may not read
        members (the Kobo webhook's account) is told to add one unless they are, one message for both: its dry runs, one
        per OSV, found which OSV a person is in (tester 221 F2)."""
        person = (osv_id, full_name, document_type, document_number, nationality, sex, joined_on, birth_year, role, phone)
        try:
            self.osvs.require_active(osv_id, on=joined_on, dated="joined_on")
        except OSVNotInRegistryError as unknown:
            raise_first([unknown, *refused(self._new_member, *person)])
        member = self._new_member(*person)
        roster = self._roster_of(osv_id)
        self.check_seat(roster, member.latest_membership)  # before claiming the document
        self._check_president_term(roster, member.latest_membership, "joined_on")
        drawn_at_random(member.id)  # a new person: their key is made without looking for it first
        try:
            index = self._claim_document(member, Disclosure.REGISTRATION_REFUSED, osv_id)
        except PersonAlreadyRegisteredError as held:
            if not self.caller_reads_members():  # told which, the Kobo webhook's dry runs, one per OSV, found the person's (tester 221 F2)
                raise PersonAlreadyRegisteredError(held.member_id, member_here=None) from None
            if roster.seats_member(held.member_id):  # a form sent twice: a membership is not what to add
                raise PersonAlreadyRegisteredError(held.member_id, member_here=True) from None
            raise
        roster.seat(member.latest_membership, member.id, member.document_type, self.today())
        self.save(member, index, roster)
        return member

    def _joining_told_with_dates(self, member_id: UUID, osv_id: UUID, role: Role, joined_on: date) -> Iterator[RuleViolationError]:
        """:meth:`join_osv`'s 422s, read only, for the date rule's refusal of ``joined_on`` to come with them (tester 212 F7)."""
        member = self.get_member(member_id)
        yield from self._osv_not_heard_of(osv_id, joined_on)
        yield from refused(member.join, osv_id, role, joined_on)

    @retried_on_collision
    @dates_told_with(_joining_told_with_dates)
    def join_osv(self, member_id: UUID, osv_id: UUID, role: Role, joined_on: date) -> Member:
        """The member, with a new membership (their latest): they joined another OSV, or rejoined one. An OSV this service
        has not heard of (422 ``osv_mapped_in_registry``) is said with the joining's own mistakes (a board role for a
        minor, a stay overlapping an earlier one) in one 422, as a registration says it (tester 206 F5); a member not
        found is 404 first, whatever the OSV named (a dissolved or merged one's 409 came before it: tester 212 F8)."""
        member = self.get_member(member_id)
        try:
            self.osvs.require_active(osv_id, on=joined_on, dated="joined_on")
        except OSVNotInRegistryError as unknown:
            raise_first([unknown, *refused(member.join, osv_id, role, joined_on)])
        membership = member.join(osv_id, role, joined_on)
        roster = self._roster_of(osv_id)
        self.check_seat(roster, membership)
        self._check_president_term(roster, membership, "joined_on")
        roster.seat(membership, member.id, member.document_type, self.today())
        self.save(member, roster)
        return member

    @retried_on_collision
    def change_role(
        self, member_id: UUID, membership_id: UUID, role: Role, changed_on: date, expected: frozenset[int] | None = None
    ) -> Member:
        """The member, with a new role in one membership from ``changed_on``; 409 ``osv_not_dissolved`` when dated after
        the OSV's dissolution (a dissolved OSV elects no one). 412 ``current_version`` when ``expected`` (an ``If-Match``'s
        versions) does not name the member's (:meth:`version_of`): two staff giving one member two roles at once, the
        later would silently stand."""
        member = self.get_member(member_id)
        self.membership_recorded_on(member, membership_id)
        check_version("the member", self.version_of(member), expected)
        membership = member.change_role(membership_id, role, changed_on)
        self.osvs.require_not_dissolved(membership.osv_id, on=changed_on, dated="changed_on")
        roster = self._roster_of(membership.osv_id)
        self.check_seat(roster, membership)
        self._check_president_term(roster, membership, "changed_on")
        roster.seat(membership, member.id, member.document_type, self.today())
        self.save(member, roster)
        return member

    @retried_on_collision
    def record_departure(
        self, member_id: UUID, left_on: date, reason: DepartureReason, membership_id: UUID | None = None
    ) -> Member:
        """Record a departure from one membership; without its id, from the person's only active one
        (:meth:`only_active_membership`: 409 ``one_active_membership`` for several, those of the records merged into the
        member counted), recorded where it is: on a record merged into the member when it holds it. 422
        ``not_before_joined_on`` on ``left_on`` before the joining of a stay merged into it, which ends with it
        (:func:`~services.engagement.domain.merges.check_left_after_merged_stays`), and ``not_before_attended_on`` before a
        meeting naming the person (any of their records) on a day they were its member (:meth:`_check_meetings_attended`)."""
        member = self.get_member(member_id)
        only = self.only_active_membership(member) if membership_id is None else None
        if only is not None and only[0] is not member:
            record, membership = only
            self.record_departure(record.id, left_on, reason, membership.membership_id)
            return member  # its read shows the merged record's memberships as they are now (merged_records reads them)
        attended = self._meetings_attended(member)  # before the departure changes their memberships
        if membership_id is None:
            membership = member.leave(left_on, reason)
        else:
            self.membership_recorded_on(member, membership_id)
            membership = member.leave_membership(membership_id, left_on, reason)
        check_left_after_merged_stays(membership, left_on, [m for r in self.records_of_person(member) for m in r.memberships.values()])
        self._check_meetings_attended(member, membership, "left_on", left_on, attended)
        roster = self._roster_of(membership.osv_id)
        roster.unseat(membership, member.id, member.document_type, self.today())
        self.save(member, roster)
        return member

    @retried_on_collision
    def correct_joining_date(self, member_id: UUID, membership_id: UUID, joined_on: date, expected: frozenset[int] | None = None) -> Member:
        """The member, with the day a membership began corrected (:meth:`Member.correct_joining`:
        ``MemberJoiningDateCorrected``, and ``MemberAgeBandCorrected`` when the age on joining falls in another band);
        nothing is recorded when it is the same day. 409 ``osv_not_dissolved`` for a day after the OSV's dissolution. A
        record merged into another since is not refused (its memberships are corrected where they were recorded). The
        roster counts no dates: it stays. 422 ``not_after_attended_on`` for a day after a meeting naming the person (any of
        their records, a stay merged into this one held on its days) on a day they were its member
        (:meth:`_check_meetings_attended`). 412 ``current_version`` when ``expected`` (an ``If-Match``'s versions) does not
        name the member's version (:meth:`version_of`, :func:`shared.preconditions.check_version`).
        """
        member = self.get_member(member_id)
        membership = self.membership_recorded_on(member, membership_id)
        check_version("the member", self.version_of(member), expected)
        attended = self._meetings_attended(member)  # before the correction changes the membership
        previous = membership.joined_on
        if member.correct_joining(membership_id, joined_on, self.today()):
            self.osvs.require_not_dissolved(membership.osv_id, on=joined_on, dated="joined_on")
            self._check_meetings_attended(member, membership, "joined_on", joined_on, attended)
            if joined_on < previous:  # a president's first term, begun earlier, may overlap another's
                self._check_president_term(self._roster_of(membership.osv_id), membership, "joined_on", first=True)
            self.save(member)
        return member

    @retried_on_collision
    def correct_personal_data(
        self,
        member_id: UUID,
        full_name: str | Unchanged = UNCHANGED,
        document: tuple[DocumentType, str | None] | Unchanged = UNCHANGED,
        phone: str | None | Unchanged = UNCHANGED,
        birth_year: int | None | Unchanged = UNCHANGED,
        nationality: str | Unchanged = UNCHANGED,
        sex: Sex | Unchanged = UNCHANGED,
        expected: frozenset[int] | None = None,
    ) -> Member:
        """Rectify a person's name, document (type and number together), phone, birth year, nationality or sex (Ley 29733,
        art. 20): :meth:`Member.correct`, recorded as a private ``PersonalDataCorrected`` sealed under the person's key,
        with the public ``MemberAgeBandCorrected``, ``MemberNationalityCorrected`` and ``MemberSexCorrected`` per
        membership whose public terms changed.

        A document that changed re-keys the document index: the new one is claimed (409 ``person_already_registered``,
        naming its holder, when it is another person's), then the old one's entry is released and forgotten as an
        erasure forgets it (its directory rows and its key, deleted in the correction's events' transaction: a
        correction refused after its save collided, 412 or 409 when run again, leaves the person found by their
        document, tester 233 F1). A document type that changed counts the
        member's active memberships again (``OSVDocumentsCounted``, counts only). 409 ``not_erased`` once erased;
        nothing is recorded when nothing changes. 412 ``current_version`` when ``expected`` (an ``If-Match``'s versions)
        does not name the member's version (:meth:`version_of`, :func:`shared.preconditions.check_version`).
        """
        member = self.get_member(member_id)
        check_version("the member", self.version_of(member), expected)
        identity, document_type = member.document_identity, member.document_type
        own, forms = self._document_index_of(member) if not isinstance(document, Unchanged) else (None, [])
        if not member.correct(
            self.today(), full_name=full_name, document=document, phone=phone, birth_year=birth_year, nationality=nationality, sex=sex
        ):
            return member
        saved: list[Any] = [member]
        if member.document_identity != identity:
            try:
                claimed = self._claim_document(member, Disclosure.CORRECTION_REFUSED)  # 409 before anything is forgotten
            except PersonAlreadyRegisteredError as held:
                raise PersonAlreadyRegisteredError(held.member_id, correcting=True) from None
            self.refuse_while_behind()  # nor forgotten for a correction the store would refuse to record
            self.documents.forget_on_save(*forms)  # with the correction's events: refused, it forgets nothing
            if own is not None:
                self.keys.forget_on_save(own.id)
                own.release()
                saved.append(own)
            saved.append(claimed)
        if member.document_type != document_type:
            for membership in member.active_memberships:
                roster = self._roster_of(membership.osv_id)
                roster.seat(membership, member.id, member.document_type, self.today())
                saved.append(roster)
        self.save(*saved)
        return member

    # Projects ------------------------------------------------------------------

    @retried_on_collision
    def enrol_participant(self, member_id: UUID, grant_id: UUID, enrolled_on: date) -> Member:
        """The member, taking part in the project a grant funded from ``enrolled_on``; 409 ``osv_not_dissolved`` when dated
        after the OSV's dissolution, 409 ``grant_open`` after the grant's closing (a closed project enrols no one: the
        enrolment counted as a new agent of change, tester 37c F1); 422 ``seed_funded_project`` for a goods grant (goods
        support the OSV, not a project)."""
        grant = self.grants.require_open(grant_id, on=enrolled_on, dated="enrolled_on")
        if grant.kind != "seed_fund":
            raise NotAProjectError(grant_id)
        member = self.get_member(member_id)
        member.enrol(grant_id, UUID(grant.osv_id), enrolled_on, granted_on=grant.granted_on, through=self.merged_records(member))
        self.osvs.require_not_dissolved(UUID(grant.osv_id), on=enrolled_on, dated="enrolled_on")
        self.save(member)
        return member

    @retried_on_collision
    def withdraw_participant(self, member_id: UUID, grant_id: UUID, withdrew_on: date) -> tuple[Member, Member]:
        """``(member, holder)``: the member, and the record whose participation in the project of ``grant_id`` ends on
        ``withdrew_on`` (``Withdrew``, recorded there): the member's own, or, the member a survivor, the record merged
        into them that holds it, as their read lists it with its ``recorded_on`` (it was 404 ``participating`` through
        the survivor: tester 196 F6). 404 ``participating`` when neither holds it."""
        member = self.get_member(member_id)
        holder = member
        if grant_id not in member.participations:
            holder = next((record for record in self.merged_records(member) if grant_id in record.participations), member)
        holder.withdraw(grant_id, withdrew_on)
        self.save(holder)
        return member, holder

    # People, found ---------------------------------------------------------------------

    def get_member(self, member_id: UUID, scope: MunicipalScope = ALL_LIMA) -> Member:
        """The member; 404 when there is none, or none of their OSVs is in ``scope``: theirs, or those of the records merged
        into them, which their read shows (a focal point of the duplicate's district got 404 on the survivor its OSV's
        members list named: helper 194, tester 196 F1)."""
        member = self.load(member_id, Member, MemberNotFoundError)
        if scope.all_of_lima or any(self.osv_in_scope(m.osv_id, scope) for m in member.memberships.values()):
            return member
        if not (member.merged_from and any(self.osv_in_scope(m.osv_id, scope) for m in self.merged_memberships(member))):
            raise MemberNotFoundError(member_id)
        return member

    @retried_on_collision
    def active_members_of(
        self,
        osv_id: UUID,
        reader: Reader | None = None,
        select: Callable[[list[tuple[Member, Membership]]], list[tuple[Member, Membership]]] | None = None,
    ) -> list[tuple[Member, Membership]]:
        """The OSV's active members, in the order they joined, each with their membership there; ``select`` picks
        the ones to answer (a page of them).

        404 for an OSV outside the ``reader``'s scope; a plain reader's list is logged, member by member: only
        those selected, the ones the reader sees.
        """
        if reader is not None:
            if reader.plain:
                check_purpose(reader.purpose)
                self.hold_personal_data()
            self._check_in_scope(osv_id, reader.scope)
        roster = self.find(OSVRoster.create_id(osv_id), OSVRoster)
        if roster is None:
            self._check_known(osv_id)
            return []
        active = []
        for membership_id, seat in roster.seats.items():  # a record merged into another is listed as the member it went into
            record = self.get_member(seat.member_id)
            active.append((self.person_of(record), record.membership(membership_id)))
        if select is not None:
            active = select(active)
        if reader is not None and reader.plain and active:
            self._log_reads([member for member, _ in active], reader, Disclosure.OSV_MEMBERS, osv_id=osv_id)
        return active

    # Scope -------------------------------------------------------------------------------

    def osv_in_scope(self, osv_id: UUID, scope: MunicipalScope) -> bool:
        """Whether the OSV's municipality (from the view of registry's OSVs) is in ``scope``."""
        return scope.all_of_lima or scope.covers(self.osvs.ubigeo_of(osv_id))

    def _check_in_scope(self, osv_id: UUID, scope: MunicipalScope) -> None:
        """404 for an OSV outside ``scope``, as for one engagement never heard of."""
        if not self.osv_in_scope(osv_id, scope):
            raise OSVNotKnownError(osv_id)

    def members_by_id(self, member_ids: Iterable[UUID]) -> dict[UUID, Member | None]:
        """Each of ``member_ids`` read once: the member, or None for an id of none."""
        return {member_id: self.find(member_id, Member) for member_id in set(member_ids)}

    def members_of(self, osv_id: UUID, found: dict[UUID, Member | None], on: date | None) -> set[UUID]:
        """Those of the members ``found`` (:meth:`members_by_id`) who were members of the OSV ``osv_id`` on ``on`` (joined
        by then, not left before; None: on any day) and whose personal data is neither erased nor being erased: a meeting
        recorded since names them no more (tester 166 observation), whatever its day, and the 422 is a stranger's, which
        tells nothing of them."""
        return {
            member_id for member_id, member in found.items()
            if member is not None and member.erased_on is None and member.erasure_begun_on is None and member.merged_into is None
            and held_on(self._memberships_at(member, osv_id), on)
        }

    def attendees_shown(self, osv_id: UUID, meetings: Iterable[Meeting]) -> dict[UUID, tuple[UUID, ...]]:
        """Each of the OSV ``osv_id``'s ``meetings``' attendees, by meeting id, who were members of it on its day, as
        :meth:`members_of` counts them, an erased person too (erased after the meeting was recorded); each member read once.

        Meetings recorded before attendees were checked (tester 163 F10, tester 165 F2) may name others: another OSV's
        member, one who joined after or left before. Their ids are not shown, to the OSV's focal point or to anyone
        (tester 165 F3); the record keeps them.
        """
        meetings = list(meetings)
        memberships = {
            member_id: self._memberships_at(member, osv_id)
            for member_id in {a for meeting in meetings for a in meeting.attendee_member_ids}
            if (member := self.find(member_id, Member)) is not None
        }
        return {
            meeting.meeting_id: tuple(a for a in meeting.attendee_member_ids if a in memberships and held_on(memberships[a], meeting.held_on))
            for meeting in meetings
        }

    def _memberships_at(self, member: Member, osv_id: UUID) -> list[Membership]:
        """The member's memberships that count as the OSV ``osv_id``'s: its own, and those of an OSV merged into it, as
        reporting counts them (one look at the merges for each membership of another OSV)."""
        held = [*member.memberships.values(), *self.merged_memberships(member)]  # and those of the records merged into them
        return self.as_held(member, [m for m in held if m.osv_id == osv_id or self.osvs.now_in(m.osv_id) == osv_id])

    def _meetings_attended(self, member: Member) -> dict[UUID, list[date]]:
        """By OSV (each of ``member``'s memberships' and the one it was merged into), the days of its meetings that name
        them, or another record of their person, and on which the person was its member: what their follow-up shows
        (:meth:`attendees_shown`); a stay merged into another held on that one's days (:meth:`stays_bounding`; tester 317
        F2: a meeting naming the duplicate whose stay went into the survivor's bounded neither the survivor's departure nor
        its joining day). A meeting recorded before attendees were checked may name them on a day they were not: it bounds
        none of their dates, or a joining date it preceded would refuse every correction (found while fixing tester 165
        F3). A meeting withdrawn as recorded by mistake bounds none either: it was never held."""
        records = self.records_of_person(member)
        ids = {record.id for record in records}
        attended: dict[UUID, list[date]] = {}
        # Every record's OSVs: a meeting at the duplicate's OSV, merged in registry into the survivor's, names the person
        # too (tester 321 N2: it bounded none of the survivor's dates).
        stays = [m for record in records for m in record.memberships.values()]
        for osv_id in {osv for m in stays for osv in (m.osv_id, self.osvs.now_in(m.osv_id))}:
            follow_up = self.find_follow_up(osv_id)
            named = [] if follow_up is None else [m.held_on for m in follow_up.meetings_held() if ids & set(m.attendee_member_ids)]
            memberships = self.stays_bounding(records, osv_id) if named else []
            if days := [day for day in named if held_on(memberships, day)]:
                attended[osv_id] = days
        return attended

    def _check_meetings_attended(self, member: Member, changed: Membership, field: str, given: date, attended: dict[UUID, list[date]]) -> None:
        """422 on ``field`` (``given``) when ``member``'s person, ``member`` as changed (not saved), would not have been a
        member of an OSV on the day of one of the meetings naming them (``attended``, :meth:`_meetings_attended` before the
        change; :class:`AttendedMeetingError`): a meeting names its OSV's members on its day (tester 166 F1: a joining date
        corrected, or a departure recorded, past one was taken)."""
        records = self.records_of_person(member)
        organisation = self.osvs.now_in(changed.osv_id)  # its own record and those registry merged into it (tester 321 N2)
        for osv_id in {changed.osv_id, organisation, *(osv for osv in attended if self.osvs.now_in(osv) == organisation)}:
            days = attended.get(osv_id, [])
            memberships = self.stays_bounding(records, osv_id) if days else []
            for day in sorted(days, reverse=field == "left_on"):  # the meeting that bounds the date most
                if not held_on(memberships, day):
                    raise AttendedMeetingError(field, given, day)

    def _check_president_term(
        self, roster: OSVRoster, membership: Membership, field: str, *, first: bool = False
    ) -> None:
        """409 ``one_president`` on ``field`` when the term ``membership`` begins as president (its latest role;
        ``first``: its first, a joining date corrected) overlaps another president's in its OSV, past or present
        (:func:`~services.engagement.domain.roster.check_term_apart`; tester 232 F4: a term backdated before the last
        president stepped down was taken). Nothing is read unless that role is president: a member's registration
        costs what it did; a president's reads the members the OSV ever seated as president (one a term)."""
        held = membership.roles[0 if first else -1]
        if held.role is not Role.PRESIDENT:
            return
        term = terms_of(membership)[0 if first else -1]
        others: list[tuple[Holder, Term]] = []
        for membership_id, member_id in roster.presidents_besides(membership.membership_id).items():
            holder = self.find(member_id, Member)
            if holder is not None and membership_id in holder.memberships:
                others += [(Holder.of(holder, membership_id), other) for other in terms_of(holder.memberships[membership_id])]
        check_term_apart(field, term, others)

    def _roster_of(self, osv_id: UUID) -> OSVRoster:
        return self.find(OSVRoster.create_id(osv_id), OSVRoster) or OSVRoster(osv_id=osv_id)

    def _check_known(self, osv_id: UUID) -> None:
        """An OSV engagement has heard of, or a 404."""
        if self.osvs.get(osv_id) is None:
            raise OSVNotKnownError(osv_id)
