"""Reading a person's personal data, and the logs of who read it: the :class:`Engagement` application's.

Kept apart from :mod:`services.engagement.application` by concern: a plain read is logged on the person's access log
before anything is shown; a lookup by document goes through the document index, whose entry a registration claims; a
DPO reads the access log and the changes made to a person's data, and answers an access request with one report of all
of it (:meth:`PersonalDataReads.subject_access`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from services.engagement.domain.accesslog import Access, AccessLog, Disclosure, Purpose, Reader, check_purpose
from services.engagement.domain.activities import ActivityKind, OSVActivities
from services.engagement.domain.documents import (
    DocumentIndex,
    NoDocumentToFindError,
    PersonAlreadyRegisteredError,
    PersonNotFoundError,
    document_identities,
    normalise_document_number,
)
from services.engagement.domain.followup import MeetingMode
from services.engagement.domain.memberrules import MemberNotFoundError
from services.engagement.domain.members import Member
from services.engagement.personaldata import DocumentDirectory
from shared import dryrun
from shared.actors import Actor, current_actor
from shared.documents import DocumentType
from shared.roles import ALL_LIMA, Permission
from shared.sealing import drawn_at_random
from shared.store import retried_on_collision

PERSONAL_DATA_CHANGES = frozenset({"Registered", "PersonalDataCorrected", "PersonalDataErased"})
"""The member's events that write or forget their personal data: what the DPO's :meth:`Engagement.personal_data_changes` lists."""


@dataclass(frozen=True)
class PersonalDataChange:
    """One registration, correction or erasure of a person's data, and who made it (:mod:`shared.actors`)."""

    type: str
    version: int
    recorded_at: datetime
    recorded_by: dict[str, Any] | None
    """:meth:`shared.actors.Actor.as_json`; None for one recorded before engagement kept who made each command."""


@dataclass(frozen=True)
class MeetingAttended:
    """A follow-up meeting whose attendees name the person's record (``recorded_on``: a record merged into them, else
    None)."""

    osv_id: UUID
    meeting_id: UUID
    held_on: date
    mode: MeetingMode
    withdrawn: bool
    recorded_on: UUID | None


@dataclass(frozen=True)
class ActivityTakenPart:
    """An activity whose participants list the person's record by its member id (``recorded_on`` as for a meeting)."""

    osv_id: UUID
    activity_id: UUID
    held_on: date
    kind: ActivityKind
    district: str
    withdrawn: bool
    recorded_on: UUID | None


@dataclass(frozen=True)
class SubjectAccess:
    """What engagement holds on one member record, for the person's access request
    (:meth:`PersonalDataReads.subject_access`).

    ``merged``: the records merged into ``member`` (the same person recorded twice), whose data, meetings, activities,
    access log and changes are the person's too; each entry of the lists names the record it is on (None:
    ``member``), an entry of ``access_log`` every record whose log holds it (None first when hers is one)."""

    member: Member
    merged: list[Member]
    meetings: list[MeetingAttended]
    activities: list[ActivityTakenPart]
    access_log: list[tuple[Access, list[UUID | None]]]
    changes: list[tuple[PersonalDataChange, UUID | None]]
    read_at: datetime
    osvs_walked: int
    """How many OSVs' follow-ups and activities were read to find the meetings and activities: every OSV known here."""


class PersonalDataReads:
    """:class:`~services.engagement.application.Engagement`'s reads of personal data, their logs and the document index (a
    mixin: ``self`` is the application, whose ``get_member``, ``hold_personal_data``, ``find`` and ``save_apart`` it uses)."""

    documents: DocumentDirectory
    """The document index's rows (set in the application's ``__init__``)."""
    now: Callable[[], datetime]
    """The moment a read is logged at (set in the application's ``__init__``)."""

    @retried_on_collision
    def read_member(self, member_id: UUID, reader: Reader) -> Member:
        """The member as ``reader`` may see them; a plain read is logged with its purpose first (422 without one)."""
        member = self.get_member(member_id, reader.scope)
        if reader.plain:
            check_purpose(reader.purpose)
            self.hold_personal_data()
            self._log_reads([member], reader, Disclosure.MEMBER)
        return member

    @retried_on_collision
    def find_member(self, document_type: DocumentType, document_number: str, reader: Reader | None = None) -> Member:
        """The registered person who holds this document; a lookup that finds someone is logged with its purpose.

        The purpose is checked before anything is looked up, so a refusal says
        nothing about whether the person exists. A holder the ``reader``'s scope
        does not reach (none of their OSVs, nor of the records merged into them,
        in it: ``get_member``) is :class:`PersonNotFoundError`, the answer
        for a document never registered: the roles holding ``members:find`` are
        all of Lima today, and a municipal one must not learn who is registered
        elsewhere (helper 197).
        """
        if reader is not None:
            check_purpose(reader.purpose)
        self.hold_personal_data()  # a restored document entry would lead to a person erased since
        identities = document_identities(document_type, normalise_document_number(document_type, document_number))
        if not identities:
            raise NoDocumentToFindError
        entry_id = self.documents.entry_of(*identities)
        index = self.find(entry_id, DocumentIndex) if entry_id is not None else None
        if index is None or index.member_id is None:
            raise PersonNotFoundError  # the same answer for a document never registered and one whose holder was erased
        try:
            member = self.get_member(index.member_id, reader.scope if reader is not None else ALL_LIMA)
        except MemberNotFoundError:
            raise PersonNotFoundError from None
        if reader is not None:
            self._log_reads([member], reader, Disclosure.LOOKUP)
        return member

    @retried_on_collision
    def subject_access(self, member_id: UUID, reader: str) -> SubjectAccess:
        """Everything engagement holds on the member record ``member_id`` and the records merged into it, for the data
        protection officer to answer the person's access request (ARCO *acceso*, Ley 29733 art. 19); ``reader`` is the
        token's subject. 404 ``known_member`` for an id of none; 503 ``erasures_not_checked`` as any read in clear.

        The read is logged on each record's access log (purpose ``data_subject_request``, disclosure ``subject_access``)
        before anything is returned, so the report's access log ends with it; not for a person whose data is erased,
        whose report shows none of it (:meth:`_log_reads`). A read that showed several of her records (this one, an
        OSV's member list naming both) is one entry on each record's log, alike to the microsecond, as each record keeps
        its own log (``GET /members/{id}/access-log`` of a merged record answers for it, and a merge moves no entry):
        the report shows it once, with every record it is on (tester 310 F4: it showed each read twice). Meetings and activities are found by walking every OSV
        known here: its follow-up (kept in memory) and each of its activities (one read each), as no index by member
        exists; an activity may list a member of another OSV. The cost grows with the programme's activities (0.25 s
        for 400 in 20 OSVs on SQLite, helper h305); an access request is rare. Free text (meeting notes, actions,
        assistance notes, activity descriptions) is not searched: a name in it cannot be found reliably."""
        member = self.get_member(member_id)
        self.hold_personal_data()
        merged = self.merged_records(member)
        records: dict[UUID, UUID | None] = {member.id: None, **{record.id: record.id for record in merged}}
        osv_ids = self.osvs.known_ids()
        meetings, activities = self._named_in_fieldwork(records, osv_ids)
        read_at = self.now()
        reading = Reader(reader, plain=True, purpose=Purpose.DATA_SUBJECT_REQUEST)
        self._log_reads([member, *merged], reading, Disclosure.SUBJECT_ACCESS)
        log: dict[Access, list[UUID | None]] = {}  # one read logged on several of her records: one entry, each record
        for record_id, on in records.items():
            found = self.find(AccessLog.id_for(record_id), AccessLog)
            for access in found.accesses if found is not None else ():
                log.setdefault(access, []).append(on)
        changes = [(c, on) for record_id, on in records.items() for c in self.personal_data_changes(record_id)]
        return SubjectAccess(
            member=member,
            merged=merged,
            meetings=meetings,
            activities=activities,
            access_log=sorted(log.items(), key=lambda entry: entry[0].read_at),
            changes=sorted(changes, key=lambda entry: entry[0].recorded_at),
            read_at=read_at,
            osvs_walked=len(osv_ids),
        )

    def _named_in_fieldwork(
        self, records: dict[UUID, UUID | None], osv_ids: Sequence[UUID]
    ) -> tuple[list[MeetingAttended], list[ActivityTakenPart]]:
        """The meetings whose attendees name one of ``records`` and the activities whose participants list one by its
        member id, in every OSV of ``osv_ids``, withdrawn ones too (marked), oldest first. A meeting recorded before
        attendees were checked may name a record on a day it was no member there: listed too, as the record holds it."""
        meetings: list[MeetingAttended] = []
        activities: list[ActivityTakenPart] = []
        for osv_id in osv_ids:
            follow_up = self.find_follow_up(osv_id)
            for meeting in follow_up.meetings.values() if follow_up is not None else ():
                meetings += [
                    MeetingAttended(
                        osv_id, meeting.meeting_id, meeting.held_on, meeting.mode, meeting.withdrawal is not None,
                        records[named],
                    )
                    for named in dict.fromkeys(meeting.attendee_member_ids) if named in records
                ]
            index = self.find(OSVActivities.id_for(osv_id), OSVActivities)
            for activity_id in index.activity_ids if index is not None else ():
                activity = self.get_activity(activity_id)
                activities += [
                    ActivityTakenPart(
                        osv_id, activity.id, activity.held_on, activity.kind, activity.district,
                        activity.withdrawal is not None, records[p.person_id],
                    )
                    for p in activity.participants if p.member and p.person_id in records
                ]
        return sorted(meetings, key=lambda m: m.held_on), sorted(activities, key=lambda a: a.held_on)

    def access_log(self, member_id: UUID) -> list[Access]:
        """Every logged read of the member's plain personal data, oldest first."""
        self.get_member(member_id)
        log = self.find(AccessLog.id_for(member_id), AccessLog)
        return list(log.accesses) if log is not None else []

    def personal_data_changes(self, member_id: UUID) -> list[PersonalDataChange]:
        """The member's registration, corrections and erasure, oldest first, each with who made it: nothing of the data itself."""
        self.get_member(member_id)
        events, seen = [], set()
        for e in self.events.get(member_id):  # an erasure records one event per membership, in one save: one change
            if type(e).__name__ in PERSONAL_DATA_CHANGES and (type(e), e.timestamp) not in seen:
                seen.add((type(e), e.timestamp))
                events.append(e)
        actors = self.actors_of(member_id, [e.originator_version for e in events])
        return [
            PersonalDataChange(
                type=type(e).__name__,
                version=e.originator_version,
                recorded_at=e.timestamp,
                recorded_by=actor.as_json() if (actor := actors.get(e.originator_version)) is not None else None,
            )
            for e in events
        ]

    def _log_reads(self, members: Sequence[Member], reader: Reader, disclosure: Disclosure, osv_id: UUID | None = None) -> None:
        """Record the read on each member's access log, in one transaction, before anything is shown; not for a member
        whose personal data is erased: nothing of theirs is shown (a DPO answering a request saw reads that disclosed
        nothing, tester 37b F4). ``osv_id``: the OSV whose member list showed them (:attr:`Disclosure.OSV_MEMBERS`), so
        that the DPO can tell the person which list it was (it was null, tester 286 F7).

        Saved apart (:meth:`~shared.store.ServiceApplication.save_apart`), as a refused command's disclosure is: a read
        sent as a POST (``POST /members/lookup``) is logged for real in a dry run too, and never recorded as a keyed
        request's doing, which would keep its answer, the person's data, to replay unlogged to a retry (after an erasure
        too)."""
        purpose = check_purpose(reader.purpose)
        read_at = self.now()
        logs = []
        with dryrun.suspended():
            for member_id in dict.fromkeys(m.id for m in members if m.erased_on is None):
                log = self.find(AccessLog.id_for(member_id), AccessLog) or AccessLog(member_id=member_id)
                log.record(read_at=read_at, reader=reader.subject, purpose=purpose, disclosure=disclosure, osv_id=osv_id)
                logs.append(log)
            if logs:
                self.save_apart(*logs)


    def _claim_document(self, member: Member, refused: Disclosure, osv_id: UUID | None = None) -> DocumentIndex:
        """The member's document's index entry, claimed for them (made the first time the document is registered); for a
        person without one, an entry no document leads to.

        409 ``person_already_registered``, naming the holder, when another person holds it, once the holder's access log
        records the disclosure (``refused``, with the OSV a registration names, ``osv_id``: :meth:`_log_holder_found`); while this process has not checked its stream's
        erasures (:meth:`hold_personal_data`), 503 ``erasures_not_checked`` instead: a restored entry may lead to a person
        erased since, whose id the 409 would name (tester 30b, L1).
        """
        identities = member.document_identities
        if not identities:
            # No document: an entry no document leads to, so that a registration stores the same private events with a
            # document or without: the feeds' positions (a gap one wider) told an auditor or a partner who has none
            # (an irregular migration status) (tester 164 F1).
            drawn_at_random(unreachable := uuid4())
            return DocumentIndex(id=unreachable, member_id=member.id)
        index_id = self.documents.entry_for_claim(*identities)
        index = None if self.documents.made_now(index_id) else self.find(index_id, DocumentIndex)
        if index is None:
            return DocumentIndex(id=index_id, member_id=member.id)
        try:
            index.claim(member.id)
        except PersonAlreadyRegisteredError as held:
            self.hold_personal_data()
            self._log_holder_found(held.member_id, refused, osv_id)
            raise
        return index

    def _log_holder_found(self, holder_id: UUID, disclosure: Disclosure, osv_id: UUID | None = None) -> None:
        """Record on the holder's access log that a command refused because its document is theirs named them to its
        caller (:attr:`Purpose.DUPLICATE_CHECK`): the lookup by document ``POST /members/lookup`` logs, made by a
        registration or a correction (a security tester's finding: it was logged by neither).

        Recorded before the 409 goes out, and apart from the command (:meth:`_log_disclosed`). A form sent twice (the
        person a member of that very OSV already) is logged too: the OSV's roster lists its members, not which of them
        holds the document. A registration's entry names the OSV it named (``osv_id``): the DPO sees a caller's dry runs
        of one document in OSV after OSV (tester 221 F2)."""
        self._log_disclosed([holder_id], Purpose.DUPLICATE_CHECK, disclosure, osv_id)

    @staticmethod
    def caller_reads_members() -> bool:
        """Whether the caller of the command run now may read members (``members:read``): staff, leads; not the Kobo
        webhook's account (``importer``). No request (a test, the system): it may. A command naming members answers
        such a caller less (:meth:`log_named_members` and the meetings' and activities' rules)."""
        actor = current_actor()
        return actor is None or actor.may(Permission.MEMBERS_READ)

    def log_named_members(
        self, named: Iterable[Member | None], disclosure: Disclosure, *, records: Iterable[Member | None] = (), osv_id: UUID | None = None
    ) -> None:
        """Record on each member of ``named`` (as read: None for an id of none, left out) that a command naming them told
        its caller, who may not read members (:attr:`Purpose.FOLLOW_UP`), something of them: the Kobo webhook's account,
        with a member id a registration's 409 gave it, learnt which OSV a person belongs to and since when, and nothing
        showed it (tester 218 F1). A member whose personal data is erased is left out, as a read of them is (the answer
        tells nothing of them: one message for them and a stranger). ``records``: members named where the answer tells
        that the id is a member record's, whatever its state (an activity's ``person_id``): each logged, a person erased
        too (tester 221 F1); their access log stays after the erasure, the DPO's alone to read. ``osv_id``: the OSV whose
        membership the answer told of (a meeting's, :attr:`Disclosure.MEETING_ATTENDEE`), logged with each entry. Recorded
        apart from the command (:meth:`_log_disclosed`), in one transaction, before its answer goes out, whatever that is."""
        members = [m for m in named if m is not None and m.erased_on is None] + [m for m in records if m is not None]
        self._log_disclosed(list(dict.fromkeys(m.id for m in members)), Purpose.FOLLOW_UP, disclosure, osv_id)

    def _log_disclosed(self, member_ids: Sequence[UUID], purpose: Purpose, disclosure: Disclosure, osv_id: UUID | None = None) -> None:
        """Record on each of ``member_ids``' access log that a command's answer told its caller something of them (of the
        OSV ``osv_id`` names, :attr:`~services.engagement.domain.accesslog.Access.osv_id`).

        Saved apart from the command (:meth:`~shared.store.ServiceApplication.save_apart`), in one transaction: the
        command may be refused, and a dry run (:mod:`shared.dryrun`) writes none of its facts, but its answer told the
        caller all the same. Who: the command's actor (:mod:`shared.actors`), the token's subject, as a read's ``reader``."""
        if not member_ids:
            return
        actor = current_actor() or Actor.system(self.name)
        reader, read_at = actor.subject or actor.client_id or self.name, self.now()
        with dryrun.suspended():
            logs = []
            for member_id in member_ids:
                log = self.find(AccessLog.id_for(member_id), AccessLog) or AccessLog(member_id=member_id)
                log.record(read_at=read_at, reader=reader, purpose=purpose, disclosure=disclosure, osv_id=osv_id)
                logs.append(log)
            self.save_apart(*logs)

    def _document_index_of(self, member: Member) -> tuple[DocumentIndex | None, list[str]]:
        """The member's own index entry, and the forms of their document whose rows to forget with them.

        A form whose row leads to another person's entry is not theirs: before
        numbers were compared with and without their leading zeros, one person
        could be registered twice, as "1234567" and "001234567"; erasing one
        leaves the other found. A row
        that leads to no saved entry (a command that failed) goes too.
        """
        own: DocumentIndex | None = None
        forms: list[str] = []
        for identity in member.document_identities:
            entry_id = self.documents.entry_of(identity)
            if entry_id is None:
                continue
            index = self.find(entry_id, DocumentIndex)
            if index is not None and index.member_id is not None and not member.holds_entry(index.member_id):
                continue
            forms.append(identity)
            if own is None and index is not None and member.holds_entry(index.member_id):
                own = index
        return own, forms
