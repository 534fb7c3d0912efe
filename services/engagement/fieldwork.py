"""Engagement's field work: each OSV's follow-up (meetings, their action items, technical assistance), the activities
it reports, its needs assessments, and the redaction of staff's words in them. A mixin of
:class:`~services.engagement.application.Engagement` (``self`` is the application: its store, its views of OSVs and
grants, its scope checks and members).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from uuid import UUID

from services.engagement.domain.accesslog import Disclosure
from services.engagement.domain.activities import (
    Activity,
    ActivityKind,
    ActivityNotFoundError,
    BeneficiaryGroup,
    MemberListedAsPersonError,
    OSVActivities,
    Output,
    Participant,
    ParticipantGiven,
    ParticipantNotMemberError,
)
from services.engagement.domain.followup import (
    ActionItem,
    ActionItemDraft,
    ActionItemNotFoundError,
    AssistanceNotFoundError,
    AssistanceTopic,
    FollowUp,
    Meeting,
    MeetingMode,
    MeetingNotFoundError,
    MeetingTopic,
    TechnicalAssistance,
    UnknownAttendeeError,
    attendee_mistakes,
)
from services.engagement.domain.memberrules import Sex
from services.engagement.domain.members import Member
from services.engagement.domain.merges import MemberMergedError
from services.engagement.domain.needs import AssessmentNotFoundError, Need, NeedsAssessment, NeedsRecord
from services.engagement.domain.overdue import FollowUpStanding, overdue_for_follow_up
from services.engagement.domain.repeats import check_activity_not_reported
from services.engagement.domain.withdrawals import FieldWithdrawalReason
from shared.errors import RuleViolationError, raise_first, refused
from shared.roles import ALL_LIMA, MunicipalScope
from shared.sealing import text_key
from shared.store import retried_on_collision


class Fieldwork:
    """:class:`~services.engagement.application.Engagement`'s follow-up, activities and needs (a mixin)."""

    # Follow-up ---------------------------------------------------------------------------

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
        distinct_from: Sequence[UUID] = (),
    ) -> tuple[FollowUp, Meeting]:
        """Record a meeting; the follow-up comes back too, holding the meeting's action items. One held the same day in the
        same mode as one the OSV holds is 409 ``possible_duplicate`` unless ``distinct_from`` names it (tester 233 F3): the
        follow-up is saved with every meeting, so identical requests racing collide, and the one run again finds it."""
        osv = self.osvs.require_active(osv_id, on=held_on, dated="held_on")
        attendees = self.members_by_id(attendee_member_ids)  # each read once, for both checks
        # Another OSV's member, or one erased since: 422 (tester 163 F10, tester 166 observation).
        known = self.members_of(osv_id, attendees, on=held_on)
        counted = self._attendees_counted(osv_id, attendees, known)
        if self.caller_reads_members():
            self.check_attendees_not_merged(attendee_member_ids, attendees, known)  # 409 naming the member it went into (tester 187 F5)
        follow_up = self.find_follow_up(osv_id) or FollowUp(osv_id=osv_id)
        meeting = follow_up.hold_meeting(
            held_on,
            mode,
            topics,
            attendee_member_ids,
            other_attendees,
            notes,
            action_items,
            known_members=counted,
            today=self.today(),
            mapped_on=osv.mapped_on,
            distinct_from=distinct_from,
        )
        self.save(follow_up)
        return follow_up, meeting

    def attendees_not_known(self, osv_id: UUID, attendee_member_ids: Sequence[UUID | None], held_on: date | None) -> list[RuleViolationError]:
        """The 422 ``known_member`` of each of a meeting's attendees that only the store tells, for a body refused for other
        mistakes, to be named in the same 422 (:func:`services.engagement.fieldschemas.meeting_look_ups`): by the rule
        :meth:`hold_meeting` reads them by, on ``held_on`` as given (a date refused as in the future too; None when it was
        not read: not a member of the OSV on any day), of an OSV engagement knows (the caller read it: of one it does
        not, the 404 is said once the body is put right). An attendee merged into another record (409) waits for the
        body to be put right."""
        found = self.members_by_id(a for a in attendee_member_ids if a is not None)
        known = self._attendees_counted(osv_id, found, self.members_of(osv_id, found, on=held_on))
        return [m for m in attendee_mistakes(attendee_member_ids, known) if isinstance(m, UnknownAttendeeError)]  # repeats: the body's

    def _attendees_counted(self, osv_id: UUID, found: dict[UUID, Member | None], known: set[UUID]) -> set[UUID]:
        """The attendees a meeting of ``osv_id`` takes, of those ``found``: those ``known`` (:meth:`members_of`), and those
        merged into another record, whose 409 ``member_not_merged`` (:meth:`check_attendees_not_merged`) waits for a
        refused attendee before them.

        To a caller who may not read members (the Kobo webhook's account, whose forms name no attendee) a record merged
        into another is 422 ``known_member`` as a stranger is, not a 409 naming the member it went into, nor one told
        apart from a person erased (a merged record erased is a stranger's 422 to anyone): one message for every attendee
        refused. Each member named is then recorded on their access log (:meth:`log_named_members`), with the meeting's
        OSV, before the answer, whatever it is: a meeting taken or refused for another mistake tells as surely as a 422
        ``known_member`` whether they were a member of the OSV on its day, and that is all it tells (tester 218 F1:
        probing with a member id from a registration's 409 found a person's OSV and joining date, and left no trace). A
        meeting carried out is logged too: it records a fact staff read in the OSV's follow-up, but the data protection
        officer, who answers the person, reads their access log, not OSVs' follow-ups."""
        if self.caller_reads_members():
            return known | self.merged_among(found)
        self.log_named_members(found.values(), Disclosure.MEETING_ATTENDEE, osv_id=osv_id)
        return known

    @retried_on_collision
    def complete_action(self, osv_id: UUID, action_id: UUID, completed_on: date) -> ActionItem:
        follow_up = self.find_follow_up(osv_id)
        if follow_up is None:
            raise ActionItemNotFoundError(action_id)
        item = follow_up.complete_action(action_id, completed_on, today=self.today())
        self.save(follow_up)
        return item

    @retried_on_collision
    def withdraw_meeting(self, osv_id: UUID, meeting_id: UUID, reason: FieldWithdrawalReason, note: str | None = None) -> tuple[FollowUp, Meeting]:
        """Withdraw a meeting recorded by mistake (records ``FollowUpMeetingWithdrawn``, dated today in Lima), its actions
        not done with it; 404 for a meeting not of this OSV's follow-up, 409 ``meeting_not_withdrawn`` for one withdrawn
        already. The OSV need not be active: a mistake is taken back after a dissolution or a merge too."""
        follow_up = self.find_follow_up(osv_id)
        if follow_up is None:
            self._check_known(osv_id)  # an OSV not heard of is named as such, not the record (tester 251 F5)
            raise MeetingNotFoundError(meeting_id)
        meeting = follow_up.withdraw_meeting(meeting_id, reason, note, today=self.today())
        self.save(follow_up)
        return follow_up, meeting

    @retried_on_collision
    def give_assistance(
        self,
        osv_id: UUID,
        given_on: date,
        topic: AssistanceTopic,
        hours: Decimal,
        note: str | None = None,
        distinct_from: Sequence[UUID] = (),
    ) -> TechnicalAssistance:
        """Record hours of technical assistance; the same day and topic as a record the OSV holds is 409
        ``possible_duplicate`` unless ``distinct_from`` names it (tester 233 F3)."""
        osv = self.osvs.require_active(osv_id, on=given_on, dated="given_on")
        follow_up = self.find_follow_up(osv_id) or FollowUp(osv_id=osv_id)
        assistance = follow_up.give_assistance(
            given_on, topic, hours, note, today=self.today(), mapped_on=osv.mapped_on, distinct_from=distinct_from
        )
        self.save(follow_up)
        return assistance

    @retried_on_collision
    def withdraw_assistance(
        self, osv_id: UUID, assistance_id: UUID, reason: FieldWithdrawalReason, note: str | None = None
    ) -> TechnicalAssistance:
        """Withdraw technical assistance recorded by mistake (records ``TechnicalAssistanceWithdrawn``, dated today in
        Lima); 404 for a record not of this OSV's follow-up, 409 ``assistance_not_withdrawn`` for one withdrawn already."""
        follow_up = self.find_follow_up(osv_id)
        if follow_up is None:
            self._check_known(osv_id)  # an OSV not heard of is named as such, not the record (tester 251 F5)
            raise AssistanceNotFoundError(assistance_id)
        record = follow_up.withdraw_assistance(assistance_id, reason, note, today=self.today())
        self.save(follow_up)
        return record

    # Staff's free text, redacted ------------------------------------------------------------

    @retried_on_collision
    def redact_meeting_text(self, osv_id: UUID, meeting_id: UUID) -> tuple[FollowUp, Meeting]:
        """Forget a meeting's notes and the words of the actions it agreed, for good (their key is deleted).

        For notes that named a person (one since erased, say) or said what they
        should not; the meeting, its dates, topics, attendees and actions stay.
        """
        follow_up = self.find_follow_up(osv_id)
        if follow_up is None:
            raise MeetingNotFoundError(meeting_id)
        if follow_up.redact_meeting_text(meeting_id):
            self.save(follow_up)  # first: every replica's kept copy forgets the text as it reads this event
        recorded = self._recorded_at(follow_up.id, "meeting_id", meeting_id)
        self.forget_text(follow_up.id, follow_up.version, text_key(meeting_id), from_version=recorded)
        return follow_up, follow_up.meetings[meeting_id]

    @retried_on_collision
    def redact_assistance_note(self, osv_id: UUID, assistance_id: UUID) -> TechnicalAssistance:
        """Forget a technical assistance record's note, and its withdrawal's, for good (their key is deleted)."""
        follow_up = self.find_follow_up(osv_id)
        if follow_up is None:
            raise AssistanceNotFoundError(assistance_id)
        if follow_up.redact_assistance_note(assistance_id):
            self.save(follow_up)  # first: every replica's kept copy forgets the note as it reads this event
        recorded = self._recorded_at(follow_up.id, "assistance_id", assistance_id)
        self.forget_text(follow_up.id, follow_up.version, text_key(assistance_id), from_version=recorded)
        return next(a for a in follow_up.assistance if a.assistance_id == assistance_id)

    def _recorded_at(self, follow_up_id: UUID, field: str, record_id: UUID) -> int:
        """The follow-up's version whose event first names ``record_id`` as its ``field`` (a meeting's ``meeting_id``, an
        assistance record's ``assistance_id``): the one that recorded its text. Answers kept about earlier versions cannot
        hold that text, and a redaction keeps them (tester 140 F4); 1 when no event names it (every answer goes). Reads
        the follow-up's events from the first: a redaction is rare."""
        for domain_event in self.events.get(follow_up_id):
            if getattr(domain_event, field, None) == record_id:
                return int(domain_event.originator_version)
        return 1

    @retried_on_collision
    def redact_activity_text(self, activity_id: UUID) -> Activity:
        """Forget an activity's description, and why it was withdrawn, for good: they read ``[redacted]`` to every reader
        from then on; the activity and its facts stay. The activity as it reads then; 404 ``known_activity`` for none.

        The redaction is recorded first (a private ``ActivityTextRedacted``, no text: :meth:`Activity.redact_text`), then
        the key that sealed the words is deleted, and every kept answer about the activity. Words stored before
        engagement sealed them are in clear in their event: the record makes them read ``[redacted]``, but they stay in
        the stored event (the log is append-only). Asked again, it records nothing more and answers the same.
        """
        activity = self.get_activity(activity_id)
        if activity.redact_text():
            self.save(activity)  # first: words stored in clear read [redacted] from then on
        self.forget_text(activity.id, activity.version, text_key(activity.id))
        return self.get_activity(activity_id)

    def find_follow_up(self, osv_id: UUID) -> FollowUp | None:
        """The OSV's follow-up, or None before its first meeting or assistance."""
        return self.find(FollowUp.id_for(osv_id), FollowUp)

    def get_follow_up(self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA) -> FollowUp | None:
        """As :meth:`find_follow_up`, for an OSV engagement knows of and in ``scope``; else a 404."""
        self._check_in_scope(osv_id, scope)
        follow_up = self.find_follow_up(osv_id)
        if follow_up is None:
            self._check_known(osv_id)
        return follow_up

    def overdue(self, days: int, scope: MunicipalScope = ALL_LIMA) -> list[FollowUpStanding]:
        """Active OSVs in ``scope`` with no meeting in the last ``days`` days, most overdue first.

        Reads one follow-up per active OSV: fine for the programme's dozens of OSVs.
        """
        standings = []
        for osv in self.osvs.active():
            if osv.mapped_on is None:  # heard of before its mapping arrived: nothing to measure from yet
                continue
            if not scope.covers(self.osvs.district_ubigeo(osv.district)):
                continue
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

    # Activities ---------------------------------------------------------------------------

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
        participants: Sequence[ParticipantGiven] = (),
        distinct_from: Sequence[UUID] = (),
    ) -> Activity:
        """Record an activity; its ``participants`` are members (nationality and sex from their record) or pseudonymous persons.
        One held the same day, of the same kind, in the same district as one of the OSV's not withdrawn is 409
        ``possible_duplicate`` unless ``distinct_from`` names it (tester 233 F3)."""
        osv = self.osvs.require_active(osv_id, on=held_on, dated="held_on")
        found = self.districts.find(district, on=held_on)
        persons = self._participants(participants)
        # An activity of a grant's project is held by its closing (409 ``grant_open`` after it).
        grant_osv_id = UUID(self.grants.require_open(grant_id, on=held_on, dated="held_on").osv_id) if grant_id is not None else None
        index = self.find(OSVActivities.id_for(osv_id), OSVActivities) or OSVActivities(osv_id=osv_id)
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
            participants=persons,
            mapped_on=osv.mapped_on,
            distinct_from=distinct_from,
        )
        # Judged after the report's own rules (a 422 first), on the index saved with it: identical reports racing collide.
        same_day = [self.get_activity(a) for a in index.held_on_or_unknown(held_on)]
        check_activity_not_reported(same_day, held_on, kind, found.name, distinct_from)
        index.add(activity.id, held_on)
        self.save(activity, index)
        return activity

    def _participants(self, participants: Sequence[ParticipantGiven]) -> list[Participant]:
        """The participants as counted, each read once. Every member id of no member (422 ``known_member``) and every
        member listed by a ``person_id`` (422 ``member_or_person``) in one answer: they were named one answer at a time
        (tester 187 F4c). A record merged into another is 409 ``member_not_merged`` as before, when no row before it
        was one of those 422s."""
        self._log_participants_named(participants)
        persons: list[Participant] = []
        mistakes: list[RuleViolationError] = []
        for index, given in enumerate(participants):
            try:
                persons.append(self._participant(index, given))
            except RuleViolationError as mistake:
                mistakes.append(mistake)
            except MemberMergedError:
                if not mistakes:
                    raise
        raise_first(mistakes)
        return persons

    def _participant(self, index: int, given: ParticipantGiven) -> Participant:
        if given.member_id is not None:
            member = self._listed_member(index, given.member_id)
            # A record merged into another is listed by that member: both listed counted one person twice (tester 187 F1).
            member.check_not_merged(f"participants.{index}.member_id", f"member {member.id}", "list member {into} instead")
            return Participant(member.id, member.nationality, member.sex, member=True)
        assert given.person_id is not None and given.nationality is not None and given.sex is not None
        self._check_not_a_member(index, given.person_id)
        return Participant(given.person_id, given.nationality, Sex(given.sex), member=False)

    def _listed_member(self, index: int, member_id: UUID) -> Member:
        """The member a participant's ``member_id`` names; 422 ``known_member`` for an id of none, for a person erased or
        being erased, whoever the caller (as a meeting's attendee: the published ``ActivityReported`` would tie the id the
        store keeps of them to new facts of theirs, a day, an OSV, their nationality and sex; tester 304 F1: staff's were
        taken), and, to a caller who may not read members (:meth:`_log_participants_named`), for a record merged into
        another too: one message for each, where the others get a 409 naming the member it went into."""
        member = self.load(member_id, Member, lambda i: ParticipantNotMemberError(index, i))
        erased = (member.erased_on or member.erasure_begun_on) is not None
        if erased or (not self.caller_reads_members() and member.merged_into is not None):
            raise ParticipantNotMemberError(index, member_id)
        return member

    def _log_participants_named(self, participants: Sequence[ParticipantGiven] | Sequence[tuple[UUID | None, UUID | None]]) -> None:
        """To a caller who may not read members (the Kobo webhook's account, whose forms list no participant), each member
        an activity names recorded on their access log before the answer, whatever it is (:meth:`log_named_members`).

        By ``member_id``: a member taken, or refused for the activity's other mistakes, told that the id is a living
        member's (tester 218 F1); a person erased or a record merged is refused as a stranger (:meth:`_listed_member`),
        which tells nothing of them, and is not logged. By ``person_id``: any member record's id, a living member's, a
        person erased or being erased, a record merged into another, is refused alike (:meth:`_check_not_a_member`),
        which tells that the id is one of engagement's members' records, living or not: logged on that record's access
        log whatever its state, an erased person's too (tester 221 F1: their 422, where a stranger's random id is taken,
        went unlogged). Together the two tell a living member from a record erased or merged, and both are logged.
        Their nationality and sex, the record's, are not in its answer
        (:meth:`~services.engagement.fieldschemas.ActivityPublic.of`). An activity carried out is logged too, as a
        meeting is (:meth:`_attendees_counted`)."""
        if self.caller_reads_members():
            return
        listed = [(p.member_id, p.person_id) if isinstance(p, ParticipantGiven) else p for p in participants]
        found = self.members_by_id(i for pair in listed for i in pair if i is not None)
        self.log_named_members(
            [found[m] for m, _ in listed if m is not None],
            Disclosure.ACTIVITY_PARTICIPANT,
            records=[found[p] for m, p in listed if m is None and p is not None],
        )

    def _check_not_a_member(self, index: int, person_id: UUID) -> None:
        """422 ``member_or_person`` for any member record's id given as a ``person_id``: a living member's, else counted
        under what the entry says, not their record; and one of a person erased or being erased, or of a record merged
        into another, else the published ``ActivityReported`` would tie the pseudonymous id the store keeps of them to
        new data of theirs (a nationality, a sex, an activity) as a non-member's (tester 221 F1). One message for every
        one of them, to every caller (:class:`MemberListedAsPersonError`): to a caller who may not read members it tells
        that the id is a member record's, living or not, and is logged on that record's access log
        (:meth:`_log_participants_named`); a stranger's random id is a person's."""
        if self.find(person_id, Member) is not None:
            raise MemberListedAsPersonError(index, person_id)

    def participants_not_known(self, listed: Sequence[tuple[UUID | None, UUID | None]]) -> list[RuleViolationError]:
        """The 422s of an activity's participants that only the store tells, for a body refused for other mistakes,
        to be named in the same 422 (:func:`services.engagement.fieldschemas.activity_look_ups`): each ``(member_id,
        person_id)`` listed, as read of the body (None where unread), by the rules :meth:`report_activity` reads them by.
        A record merged into another (409) waits for the body to be put right."""
        self._log_participants_named(listed)
        mistakes: list[RuleViolationError] = []
        for index, (member_id, person_id) in enumerate(listed):
            if member_id is not None:
                mistakes.extend(refused(self._listed_member, index, member_id))
            elif person_id is not None:
                mistakes.extend(refused(self._check_not_a_member, index, person_id))
        return mistakes

    @retried_on_collision
    def withdraw_activity(self, activity_id: UUID, reason: str) -> Activity:
        activity = self.get_activity(activity_id)
        activity.withdraw(reason, today=self.today())
        self.save(activity)
        return activity

    def get_activity(self, activity_id: UUID, scope: MunicipalScope = ALL_LIMA) -> Activity:
        """The activity; 404 when there is none, or its OSV is outside ``scope``."""
        activity = self.load(activity_id, Activity, ActivityNotFoundError)
        if not self.osv_in_scope(activity.osv_id, scope):
            raise ActivityNotFoundError(activity_id)
        return activity

    def activities_of(self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA) -> list[Activity]:
        """The OSV's activities, latest held first, withdrawn ones included (and marked)."""
        self._check_in_scope(osv_id, scope)
        index = self.find(OSVActivities.id_for(osv_id), OSVActivities)
        if index is None:
            self._check_known(osv_id)
            return []
        activities = [self.get_activity(activity_id) for activity_id in index.activity_ids]
        return sorted(activities, key=lambda a: a.held_on, reverse=True)

    # Needs ----------------------------------------------------------------------------------

    @retried_on_collision
    def assess_needs(
        self,
        osv_id: UUID,
        assessed_on: date,
        members_assessed: int,
        members_over_5_years_in_peru: int,
        needs: Sequence[Need] = (),
        distinct_from: Sequence[UUID] = (),
    ) -> NeedsAssessment:
        """Record a needs assessment; one of the same day as one the OSV holds is 409 ``possible_duplicate`` unless
        ``distinct_from`` names it (tester 233 F3)."""
        osv = self.osvs.require_active(osv_id, on=assessed_on, dated="assessed_on")
        record = self.find(NeedsRecord.id_for(osv_id), NeedsRecord) or NeedsRecord(osv_id=osv_id)
        assessment = record.assess(
            assessed_on,
            members_assessed,
            members_over_5_years_in_peru,
            needs,
            today=self.today(),
            mapped_on=osv.mapped_on,
            distinct_from=distinct_from,
        )
        self.save(record)
        return assessment

    @retried_on_collision
    def withdraw_needs_assessment(self, osv_id: UUID, assessment_id: UUID, reason: FieldWithdrawalReason) -> NeedsAssessment:
        """Withdraw a needs assessment recorded by mistake (records ``NeedsAssessmentWithdrawn``, dated today in Lima);
        404 for one not of this OSV, 409 ``assessment_not_withdrawn`` for one withdrawn already."""
        record = self.find(NeedsRecord.id_for(osv_id), NeedsRecord)
        if record is None:
            self._check_known(osv_id)  # an OSV not heard of is named as such, not the record (tester 251 F5)
            raise AssessmentNotFoundError(assessment_id)
        assessment = record.withdraw(assessment_id, reason, today=self.today())
        self.save(record)
        return assessment

    def needs_assessments(self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA) -> list[NeedsAssessment]:
        """The OSV's needs assessments, latest first, those withdrawn included (marked)."""
        self._check_in_scope(osv_id, scope)
        record = self.find(NeedsRecord.id_for(osv_id), NeedsRecord)
        if record is None:
            self._check_known(osv_id)
            return []
        return record.latest_first()
