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
from decimal import Decimal
from typing import Annotated, Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.engagement.domain.accesslog import AccessLog
from services.engagement.domain.activities import Activity, ActivityKind, OSVActivities
from services.engagement.domain.documents import DocumentIndex
from services.engagement.domain.followup import AssistanceTopic, FollowUp, MeetingMode, MeetingTopic
from services.engagement.domain.memberrules import AgeBand, DepartureReason, Role, Sex
from services.engagement.domain.members import Member
from services.engagement.domain.needs import NeedArea, NeedsRecord, Priority
from services.engagement.domain.roster import OSVRoster
from services.engagement.domain.withdrawals import FieldWithdrawalReason
from shared.documents import DocumentType
from shared.events import DistinctFrom, EventCatalogue, PublicEvent
from shared.idempotency import IdempotentRequest
from shared.outputs import OutputKind

catalogue = EventCatalogue("engagement")

catalogue.keeps_private(
    Member.Registered,  # the person's sealed personal data
    Member.PersonalDataCorrected,  # the same, rectified (Ley 29733 art. 20): sealed as at registration
    Member.ErasureBegun,  # an erasure's first step, before any key is deleted: takes the person's version (no data)
    Member.DuplicateMergedIn,  # the survivor's side of a merge: MemberMerged says it all, under each OSV's municipality
    DocumentIndex.Opened,
    DocumentIndex.Claimed,
    DocumentIndex.Released,
    OSVRoster.Opened,
)

# Who read whose plain personal data, when and why: for the data protection officer only.
catalogue.keeps_private(AccessLog.Opened, AccessLog.PersonalDataRead)

# The record of each request carried out under an Idempotency-Key (what it saved,
# a fingerprint of the request): the service's own bookkeeping for safe retries.
catalogue.keeps_private(IdempotentRequest.Recorded)

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


@catalogue.publishes(Member.AgeBandCorrected)
class MemberAgeBandCorrected(PublicEvent):
    """A membership's age band was corrected: the person's birth year was rectified (Ley 29733 art. 20) into another band,
    or the membership's joining date was corrected (`MemberJoiningDateCorrected`, just before) to a year of another age.

    Count the membership of `MemberJoined` with this `membership_id` in `age_band` from now on, no longer in
    `previous_age_band`. One per membership whose band changed, under that OSV's municipality. Never the birth year.
    """

    id_field: ClassVar[str] = "member_id"
    occurred_field: ClassVar[str] = "corrected_on"

    member_id: UUID
    membership_id: UUID = Field(description="The membership (`MemberJoined.membership_id`) whose age band changed.")
    osv_id: UUID
    previous_age_band: AgeBand = Field(description="The band it held until now (as `MemberJoined` or an earlier correction said).")
    age_band: AgeBand = Field(description="The band in the year the member joined, from the corrected birth year or joining date; `unknown` without a birth year.")
    corrected_on: date = Field(description="The day the correction was recorded.")


class _MembershipRectified(PublicEvent):
    """What :class:`MemberNationalityCorrected`, :class:`MemberSexCorrected` and :class:`MemberJoiningDateCorrected` say
    of the membership they restate (not published itself): its ids, the days its joining and departure are counted on,
    the day of the correction."""

    id_field: ClassVar[str] = "member_id"
    occurred_field: ClassVar[str] = "corrected_on"

    member_id: UUID
    membership_id: UUID = Field(description="The membership (`MemberJoined.membership_id`) counted again.")
    osv_id: UUID
    joined_on: date = Field(
        description="The day the membership's joining is counted on: its `MemberJoined.joined_on`, or as a later "
        "`MemberJoiningDateCorrected` corrected it."
    )
    left_on: date | None = Field(description="The membership's `MemberLeft.left_on`, if it had ended by the correction; null while active.")
    corrected_on: date = Field(description="The day the correction was recorded.")


@catalogue.publishes(Member.NationalityCorrected)
class MemberNationalityCorrected(_MembershipRectified):
    """A membership's nationality was corrected: the person's nationality was rectified (Ley 29733 art. 20).

    Count the membership of `MemberJoined` with this `membership_id` (and its `MemberLeft`, if `left_on` is given) under
    `nationality` from now on, no longer under `previous_nationality`, in the phase of `joined_on` (`left_on`) as
    before: the person always had this nationality. One per membership of the person, under that OSV's
    municipality. The nationality is what `MemberJoined` already published, so this discloses nothing new.
    """

    previous_nationality: Nationality = Field(description="The nationality it was counted under until now (as `MemberJoined` or an earlier correction said).")
    nationality: Nationality = Field(description="The person's nationality, corrected.")


@catalogue.publishes(Member.SexCorrected)
class MemberSexCorrected(_MembershipRectified):
    """A membership's sex was corrected: the person's sex was rectified (Ley 29733 art. 20).

    Count the membership of `MemberJoined` with this `membership_id` (and its `MemberLeft`, its member's project
    participations) under `sex` from now on, no longer under `previous_sex`, in every phase as before: the person
    always had this sex. One per membership of the person, under that OSV's municipality, as
    `MemberNationalityCorrected`.
    """

    previous_sex: Sex = Field(description="The sex it was counted under until now (as `MemberJoined` or an earlier correction said).")
    sex: Sex = Field(description="The person's sex, corrected.")


@catalogue.publishes(Member.JoiningDateCorrected)
class MemberJoiningDateCorrected(_MembershipRectified):
    """The day a membership began was corrected: it was recorded wrong (a mistyped date, a paper list typed in with the
    day it was typed).

    Count the joining of `MemberJoined` with this `membership_id` on `joined_on` from now on, no longer on
    `previous_joined_on`: in the phase of the right day, the past phases included (the member always joined then),
    under `nationality` as it is counted now. Its `MemberLeft` stays on `left_on`; its role changes and project
    enrolments are never before `joined_on`. When the age on joining falls in another band, a `MemberAgeBandCorrected`
    follows. One per membership corrected, under that OSV's municipality. Never a name, document or birth year.
    """

    joined_on: date = Field(description="The day the membership began, corrected: its joining is counted on it from now on.")
    previous_joined_on: date = Field(description="The day its joining was counted on until now (as `MemberJoined` or an earlier correction said).")
    nationality: Nationality = Field(description="The person's nationality now (as the latest `MemberNationalityCorrected` said, or `MemberJoined`).")
    sex: Sex = Field(description="The person's sex now (as the latest `MemberSexCorrected` said, or `MemberJoined`).")


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
    """The person's personal data was forgotten; their memberships stay, in public terms. A tombstone: drop what you derived about `member_id`.

    One goes out per OSV the person was a member of, each under that OSV's
    municipality, so every partner that received the person's memberships
    receives it. (`osv_id` is null on erasures recorded before it was added.)
    """

    id_field: ClassVar[str] = "member_id"
    occurred_field: ClassVar[str] = "erased_on"

    member_id: UUID
    osv_id: UUID | None = Field(default=None, description="An OSV the person was a member of; the event's municipality is that OSV's.")
    erased_on: date


@catalogue.publishes(Member.MemberMerged)
class MemberMerged(PublicEvent):
    """Two member records were one person registered twice: `member_id` is merged into `into_member_id`. Count them as one person from now on.

    One goes out per OSV either record was a member of, each under that OSV's
    municipality, so every partner that received one of the person's
    memberships receives it (the same merge: apply it once). Both records keep
    their events: the memberships and projects of `member_id` are the person's
    of `into_member_id`, and later events about them may still name
    `member_id` (a departure from one of its memberships). Nothing personal: two
    pseudonymous ids, an OSV and a day.
    """

    id_field: ClassVar[str] = "member_id"
    occurred_field: ClassVar[str] = "merged_on"

    member_id: UUID = Field(description="The duplicate: the record merged away.")
    into_member_id: UUID = Field(description="The member that stays.")
    osv_id: UUID = Field(description="An OSV either record was a member of; the event's municipality is that OSV's.")
    merged_on: date = Field(description="When staff merged them (today in Lima).")


@catalogue.publishes(Member.MembershipMerged)
class MembershipMerged(PublicEvent):
    """A stay recorded twice: the membership `membership_id` of `member_id` (its `MemberJoined`) and the membership
    `into_membership_id` of `into_member_id` are one person's one stay in `osv_id`, the person registered twice in that
    OSV (a form edited with a corrected document, a typo'd registration). Count this joining no more.

    Take back the `MemberJoined` with this `membership_id`: from `members_joined` in the phase of `joined_on`, under
    `nationality`, `sex` and `age_band` (the terms it was counted under; after a `MemberJoiningDateCorrected`, its
    corrected day), the past phases included: it was never a second joining. The membership is no longer active and
    never leaves (no `MemberLeft` will come for it): the stay goes on, and ends, as `into_membership_id`. A
    `MemberMerged` for the two records goes out with it (the same request). One per stay merged, under that OSV's
    municipality. Nothing personal: pseudonymous ids, an OSV, days and the public terms `MemberJoined` carried.
    """

    id_field: ClassVar[str] = "member_id"
    occurred_field: ClassVar[str] = "merged_on"

    member_id: UUID = Field(description="The duplicate: the record merged away, on which the stay was recorded.")
    membership_id: UUID = Field(description="The stay merged away (`MemberJoined.membership_id`): its joining counts no more.")
    into_member_id: UUID = Field(
        description="The member record `into_membership_id` is recorded on: the member the duplicate is merged into, or a "
        "record merged into that member before."
    )
    into_membership_id: UUID = Field(description="The stay it is the same as, which goes on (`MemberJoined.membership_id`).")
    osv_id: UUID = Field(
        description="The OSV of the stay merged away, where its joining was counted: that of the other stay, or a record "
        "of that OSV merged into it in registry (`OSVMerged`); the event's municipality is its."
    )
    joined_on: date = Field(description="The day the merged stay's joining was counted on (its `MemberJoined.joined_on`, or as corrected).")
    nationality: Nationality = Field(description="The nationality its joining was counted under.")
    sex: Sex = Field(description="The sex its joining was counted under.")
    age_band: AgeBand = Field(description="The age band its joining was counted under (as `MemberJoined` or a `MemberAgeBandCorrected` said).")
    merged_on: date = Field(description="When staff merged the two records (today in Lima).")


@catalogue.publishes(OSVRoster.DocumentsCounted)
class OSVDocumentsCounted(PublicEvent):
    """An OSV's active memberships by document type, counted again after each change; the latest holds.

    For registry's RUOS readiness and for auditors, never for partners, not even the MML: it goes out under
    `osv-programme.engagement.OSVDocumentsCounted`, outside every partner's filter, with no municipality. Counted again after each `MemberJoined` or `MemberLeft`, the count that
    moves by one tells that member's document type, which is their migration status (`SOLICITANTE_REFUGIO`, `NINGUNO`):
    a municipality's partner could read it for every member it saw."""

    id_field: ClassVar[str | None] = None  # the roster's own id is engagement's business: the OSV is what partners know
    occurred_field: ClassVar[str] = "counted_on"
    for_partners: ClassVar[bool] = False

    osv_id: UUID
    counted_on: date
    board: Tally = Field(description="The board (president and board members), by document type.")
    members: Tally = Field(description="Every active member, the board included, by document type.")


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


# Field work: follow-up, technical assistance, activities, needs -------------------
#
# Ids, dates, kinds and counts only: meeting notes, action items' wording and
# owners, who attended, an activity's description, why it was withdrawn and
# assistance notes stay in engagement's store.

catalogue.keeps_private(
    FollowUp.FollowUpOpened,
    FollowUp.MeetingTextRedacted,  # ids only; the text's key is deleted right after
    FollowUp.AssistanceNoteRedacted,
    Activity.ActivityTextRedacted,  # no text: an activity's words forgotten, its key deleted right after
    OSVActivities.ActivityIndexOpened,
    OSVActivities.ActivityIndexed,
    NeedsRecord.NeedsRecordOpened,
)


class ActionItemDue(BaseModel):
    """An action a meeting agreed, without its wording: when it is due."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action_id: UUID
    due_on: date


@catalogue.publishes(FollowUp.FollowUpMeetingHeld)
class FollowUpMeetingHeld(PublicEvent):
    """Programme staff met an OSV to follow up its actions, RUOS registration, activities or needs."""

    id_field: ClassVar[str] = "meeting_id"
    occurred_field: ClassVar[str] = "held_on"

    osv_id: UUID
    meeting_id: UUID
    held_on: date
    mode: MeetingMode
    attendee_count: int = Field(description="Members named as attendees plus others present (staff, officials).")
    topics: list[MeetingTopic]
    action_items: list[ActionItemDue] = Field(description="The actions agreed, each with its due date.")
    distinct_from: DistinctFrom = Field(
        default_factory=list,
        description="The OSV's meetings of the same `held_on` and `mode` that staff said this one is not (without them it was "
        "refused as a possible duplicate); empty for most meetings, and in those recorded before it was kept.",
    )

    @classmethod
    def from_domain(cls, event: Any) -> FollowUpMeetingHeld:
        """Attendees become a count; the notes and the actions' wording stay behind."""
        return cls(
            osv_id=event.osv_id,
            meeting_id=event.meeting_id,
            held_on=event.held_on,
            mode=event.mode,
            attendee_count=len(event.attendee_member_ids) + event.other_attendees,
            topics=event.topics,
            action_items=[ActionItemDue(action_id=a["action_id"], due_on=a["due_on"]) for a in event.action_items],
            distinct_from=getattr(event, "distinct_from", None),
            occurred_on=event.held_on,
        )


@catalogue.publishes(FollowUp.ActionItemCompleted)
class ActionItemCompleted(PublicEvent):
    """An action agreed at a follow-up meeting was done."""

    id_field: ClassVar[str | None] = None
    occurred_field: ClassVar[str] = "completed_on"

    osv_id: UUID
    meeting_id: UUID
    action_id: UUID
    due_on: date
    completed_on: date


class WithdrawnMeetingAction(BaseModel):
    """An action of a meeting withdrawn, without its wording: when it was due, and done if it was."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action_id: UUID
    due_on: date
    completed_on: date | None = Field(description="When it was done, before the withdrawal; null for one still open, withdrawn with it.")


@catalogue.publishes(FollowUp.FollowUpMeetingWithdrawn)
class FollowUpMeetingWithdrawn(PublicEvent):
    """A follow-up meeting recorded by mistake (never held, typed twice, on the wrong OSV or day) was withdrawn: it counts
    nowhere from now on, and its actions still open are no longer pending. Repeats the meeting's day and its actions' ids
    and dates, so a reader takes it back without looking it up. Staff's note on the mistake is never published."""

    id_field: ClassVar[str | None] = None
    occurred_field: ClassVar[str] = "withdrawn_on"

    osv_id: UUID
    meeting_id: UUID
    held_on: date = Field(description="The day the withdrawn meeting was said to be held: the phase it counted in.")
    reason: FieldWithdrawalReason = Field(description="`entered_in_error`, `duplicate`, `wrong_osv` or `wrong_date`.")
    withdrawn_on: date = Field(description="The day the withdrawal was recorded, in Lima.")
    action_items: list[WithdrawnMeetingAction] = Field(description="Every action the meeting agreed, as it stood.")


@catalogue.publishes(FollowUp.TechnicalAssistanceGiven)
class TechnicalAssistanceGiven(PublicEvent):
    """Programme staff gave an OSV hours of technical assistance on one day."""

    id_field: ClassVar[str | None] = None
    occurred_field: ClassVar[str] = "given_on"

    osv_id: UUID
    assistance_id: UUID
    given_on: date
    topic: AssistanceTopic
    hours: Decimal = Field(description="Decimal string, e.g. \"2.50\"; more than 0, at most 24.")
    distinct_from: DistinctFrom = Field(
        default_factory=list,
        description="The OSV's technical assistance of the same `given_on` and `topic` that staff said this is not (without "
        "them it was refused as a possible duplicate); empty for most records, and in those recorded before it was kept.",
    )


@catalogue.publishes(FollowUp.TechnicalAssistanceWithdrawn)
class TechnicalAssistanceWithdrawn(PublicEvent):
    """Technical assistance recorded by mistake (never given, typed twice, on the wrong OSV or day) was withdrawn: its
    hours count nowhere from now on. Repeats the record's day, topic and hours. Staff's note on the mistake is never
    published."""

    id_field: ClassVar[str | None] = None
    occurred_field: ClassVar[str] = "withdrawn_on"

    osv_id: UUID
    assistance_id: UUID
    given_on: date = Field(description="The day the withdrawn assistance was said to be given.")
    topic: AssistanceTopic
    hours: Decimal = Field(description="Decimal string: the hours it counted.")
    reason: FieldWithdrawalReason = Field(description="`entered_in_error`, `duplicate`, `wrong_osv` or `wrong_date`.")
    withdrawn_on: date = Field(description="The day the withdrawal was recorded, in Lima.")


class DirectBeneficiaries(BaseModel):
    """How many people of one nationality and sex an activity reached directly."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    nationality: Nationality
    sex: Sex
    count: int = Field(ge=1)


class ActivityParticipant(BaseModel):
    """One person at an activity, by a pseudonymous id (a member's id, or one the front end keeps for a non-member)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    person_id: UUID = Field(description="Pseudonymous: the same person has the same id at every activity; never a name or document.")
    nationality: Nationality
    sex: Sex
    member: bool = Field(default=False, description="The id is a member's (`MemberJoined.member_id`).")


class ActivityOutput(BaseModel):
    """What an activity left behind, counted: murals, public spaces recovered…"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: OutputKind
    count: int = Field(ge=1)


@catalogue.publishes(Activity.ActivityReported)
class ActivityReported(PublicEvent):
    """An OSV reported an activity it held, with its beneficiaries and outputs."""

    id_field: ClassVar[str] = "activity_id"
    occurred_field: ClassVar[str] = "held_on"

    activity_id: UUID
    osv_id: UUID
    held_on: date
    kind: ActivityKind
    district: str = Field(description="A district of Lima Metropolitana (its official name, as in the districts list).")
    zone: str = Field(description="The programme's zone of the district: Lima Norte, Sur, Este or Centro.")
    direct_beneficiaries: list[DirectBeneficiaries] = Field(
        description="Attendances: one row per nationality and sex (the participants counted, when they are listed)."
    )
    indirect_beneficiaries: int = Field(ge=0)
    outputs: list[ActivityOutput] = Field(description="One row per kind of output.")
    grant_id: UUID | None = Field(description="The funded project (grant) the activity belongs to, if any.")
    participants: list[ActivityParticipant] = Field(
        default_factory=list, description="Each person at the activity once, by a pseudonymous id; empty for an aggregate report."
    )
    counted_by: str = Field(
        default="none",
        description="`persons` when the participants are listed (a person at two activities of a phase is one person reached), "
        "`aggregate` when only the counts were given (they cannot be told apart from other activities' people), `none` without direct beneficiaries.",
    )
    distinct_from: DistinctFrom = Field(
        default_factory=list,
        description="The OSV's activities of the same `held_on`, `kind` and district that staff said this one is not (without "
        "them it was refused as a possible duplicate); empty for most activities, and in those recorded before it was kept.",
    )

    @model_validator(mode="before")
    @classmethod
    def _how_counted(cls, values: Any) -> Any:
        if isinstance(values, dict) and values.get("counted_by") in (None, "none"):
            listed = bool(values.get("participants"))
            counted = bool(values.get("direct_beneficiaries"))
            values = {**values, "counted_by": "persons" if listed else "aggregate" if counted else "none"}
        return values


@catalogue.publishes(Activity.ActivityWithdrawn)
class ActivityWithdrawn(PublicEvent):
    """An activity reported by mistake was withdrawn: count it no more."""

    id_field: ClassVar[str] = "activity_id"
    occurred_field: ClassVar[str] = "withdrawn_on"

    activity_id: UUID
    osv_id: UUID
    held_on: date = Field(description="When the withdrawn activity was said to be held.")
    withdrawn_on: date


class AssessedNeed(BaseModel):
    """How many of the members assessed need help in one area, and how urgently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    area: NeedArea
    members_affected: int = Field(ge=0)
    priority: Priority


@catalogue.publishes(NeedsRecord.NeedsAssessed)
class NeedsAssessed(PublicEvent):
    """Programme staff assessed the needs of an OSV's members (counts only)."""

    id_field: ClassVar[str | None] = None
    occurred_field: ClassVar[str] = "assessed_on"

    osv_id: UUID
    assessment_id: UUID
    assessed_on: date
    members_assessed: int = Field(ge=1)
    members_over_5_years_in_peru: int = Field(ge=0, description="Members assessed who have lived in Peru more than 5 years.")
    needs: list[AssessedNeed] = Field(description="One row per area.")
    distinct_from: DistinctFrom = Field(
        default_factory=list,
        description="The OSV's assessments of the same `assessed_on` that staff said this one is not (without them it was "
        "refused as a possible duplicate); empty for most assessments, and in those recorded before it was kept.",
    )


@catalogue.publishes(NeedsRecord.NeedsAssessmentWithdrawn)
class NeedsAssessmentWithdrawn(PublicEvent):
    """A needs assessment recorded by mistake (never made, typed twice, on the wrong OSV or day) was withdrawn: count it no more."""

    id_field: ClassVar[str | None] = None
    occurred_field: ClassVar[str] = "withdrawn_on"

    osv_id: UUID
    assessment_id: UUID
    assessed_on: date = Field(description="The day the withdrawn assessment was said to be made.")
    reason: FieldWithdrawalReason = Field(description="`entered_in_error`, `duplicate`, `wrong_osv` or `wrong_date`.")
    withdrawn_on: date = Field(description="The day the withdrawal was recorded, in Lima.")
