"""Engagement's field work: following each OSV up, the activities it reports, its members' needs.

From the practice: "Reuniones periódicas con las organizaciones vecinales para
hacer seguimiento de sus acciones, pendientes; procesos de registro en el RUOS;
y reporte de actividades y beneficiarios".

Pure: the aggregates, the events they record, the rules and the named errors
those rules raise. What staff type freely (meeting notes, action items, an
activity's description, why it was withdrawn, an assistance note) may mention
people: it stays in the aggregates and their encrypted stored events, and the
public events carry ids, dates, kinds and counts only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from services.engagement.domain.members import Sex, nationality_of
from shared.errors import ConflictError, NotFoundError, RuleViolationError

MAX_HOURS_PER_RECORD = Decimal(24)
CENT = Decimal("0.01")


class MeetingMode(StrEnum):
    VIRTUAL = "virtual"
    IN_PERSON = "in_person"


class MeetingTopic(StrEnum):
    RUOS_REGISTRATION = "ruos_registration"
    PROJECT_FOLLOW_UP = "project_follow_up"
    ACTIVITIES_REPORT = "activities_report"
    BENEFICIARIES_REPORT = "beneficiaries_report"
    TRAINING = "training"
    NEEDS = "needs"
    FINANCES = "finances"
    OTHER = "other"


class AssistanceTopic(StrEnum):
    RUOS_REGISTRATION = "ruos_registration"
    PROJECT_DESIGN = "project_design"
    ACCOUNTING = "accounting"
    LEADERSHIP = "leadership"
    FUNDRAISING = "fundraising"
    COMMUNICATION = "communication"
    DIGITAL_SKILLS = "digital_skills"
    OTHER = "other"


class ContactKind(StrEnum):
    MEETING = "meeting"
    TECHNICAL_ASSISTANCE = "technical_assistance"


class ActivityKind(StrEnum):
    WORKSHOP = "workshop"
    FAIR = "fair"
    CULTURAL_EVENT = "cultural_event"
    SPORTS_EVENT = "sports_event"
    CLEAN_UP = "clean_up"
    MURAL_PAINTING = "mural_painting"
    CAMPAIGN = "campaign"
    TRAINING = "training"
    OTHER = "other"


class OutputKind(StrEnum):
    MURAL = "mural"
    PUBLIC_SPACE_RECOVERED = "public_space_recovered"
    WORKSHOP = "workshop"
    FAIR = "fair"
    CAMPAIGN = "campaign"
    TRAINING = "training"
    OTHER = "other"


class NeedArea(StrEnum):
    EMPLOYMENT = "employment"
    STUDIES = "studies"
    POVERTY = "poverty"
    HEALTH = "health"
    EDUCATION = "education"
    DOCUMENTATION = "documentation"
    HOUSING = "housing"
    FOOD = "food"
    CHILDCARE = "childcare"
    LEGAL_STATUS = "legal_status"
    DISCRIMINATION = "discrimination"
    OTHER = "other"


class Priority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# Named errors -----------------------------------------------------------


class DateInFutureError(RuleViolationError):
    def __init__(self, field: str, day: date, today: date) -> None:
        super().__init__(
            f"{field} {day.isoformat()} is after today ({today.isoformat()} in Lima): record what has happened",
            field=field,
            rule="not_in_future",
        )


class NoTopicError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__("a meeting is about at least one topic", field="topics", rule="at_least_one_topic")


class RepeatedTopicError(RuleViolationError):
    def __init__(self, index: int, topic: str) -> None:
        super().__init__(f"topic '{topic}' is listed twice", field=f"topics.{index}", rule="unique_topics")


class NegativeCountError(RuleViolationError):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field} cannot be negative", field=field, rule="not_negative")


class CountBelowOneError(RuleViolationError):
    def __init__(self, field: str) -> None:
        super().__init__(f"{field} must be at least 1", field=field, rule="at_least_1")


class RepeatedAttendeeError(RuleViolationError):
    def __init__(self, index: int) -> None:
        super().__init__(
            f"attendee {index} is listed twice", field=f"attendee_member_ids.{index}", rule="unique_attendees"
        )


class UnknownAttendeeError(RuleViolationError):
    def __init__(self, index: int) -> None:
        super().__init__(
            f"attendee {index} is not a member known to engagement: record them as a member first, "
            "or count them in other_attendees",
            field=f"attendee_member_ids.{index}",
            rule="known_member",
        )


class DueBeforeMeetingError(RuleViolationError):
    def __init__(self, index: int, due_on: date, held_on: date) -> None:
        super().__init__(
            f"action item {index} is due on {due_on.isoformat()}, before the meeting on {held_on.isoformat()}",
            field=f"action_items.{index}.due_on",
            rule="not_before_held_on",
        )


class ActionItemNotFoundError(NotFoundError):
    def __init__(self, action_id: object) -> None:
        super().__init__(f"action item {action_id} is not pending from any meeting with this OSV")


class ActionAlreadyCompletedError(ConflictError):
    def __init__(self, completed_on: date) -> None:
        super().__init__(
            f"this action item was already completed on {completed_on.isoformat()}",
            field="completed_on",
            rule="complete_once",
        )


class CompletedBeforeMeetingError(RuleViolationError):
    def __init__(self, completed_on: date, held_on: date) -> None:
        super().__init__(
            f"completed_on {completed_on.isoformat()} is before the meeting that agreed it ({held_on.isoformat()})",
            field="completed_on",
            rule="not_before_held_on",
        )


class NonPositiveHoursError(RuleViolationError):
    def __init__(self, hours: Decimal) -> None:
        super().__init__(f"hours must be greater than 0, not {hours}", field="hours", rule="greater_than_0")


class TooManyHoursError(RuleViolationError):
    def __init__(self, hours: Decimal) -> None:
        super().__init__(
            f"{hours} hours in one record is more than a day ({MAX_HOURS_PER_RECORD}): record each day apart",
            field="hours",
            rule="at_most_24_hours",
        )


class RepeatedBeneficiaryGroupError(RuleViolationError):
    def __init__(self, index: int, nationality: str, sex: str) -> None:
        super().__init__(
            f"direct beneficiaries {nationality} {sex} are counted twice: give one row per nationality and sex",
            field=f"direct_beneficiaries.{index}",
            rule="unique_nationality_and_sex",
        )


class RepeatedOutputError(RuleViolationError):
    def __init__(self, index: int, kind: str) -> None:
        super().__init__(
            f"output '{kind}' is counted twice: give one row per kind",
            field=f"outputs.{index}.kind",
            rule="unique_output_kind",
        )


class GrantOfAnotherOSVError(RuleViolationError):
    def __init__(self, grant_id: UUID) -> None:
        super().__init__(
            f"grant {grant_id} funds another OSV's project, not this one's",
            field="grant_id",
            rule="grant_of_same_osv",
        )


class ActivityNotFoundError(NotFoundError):
    def __init__(self, activity_id: object) -> None:
        super().__init__(f"activity {activity_id} is not known to engagement")


class ActivityAlreadyWithdrawnError(ConflictError):
    def __init__(self, withdrawn_on: date) -> None:
        super().__init__(
            f"this activity was already withdrawn on {withdrawn_on.isoformat()}",
            field="reason",
            rule="withdraw_once",
        )


class BeyondMembersAssessedError(RuleViolationError):
    def __init__(self, field: str, members_assessed: int) -> None:
        super().__init__(
            f"{field} must be between 0 and members_assessed ({members_assessed})",
            field=field,
            rule="within_members_assessed",
        )


class RepeatedNeedAreaError(RuleViolationError):
    def __init__(self, index: int, area: str) -> None:
        super().__init__(
            f"need area '{area}' is assessed twice: give one row per area",
            field=f"needs.{index}.area",
            rule="unique_area",
        )


class InvalidWindowError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__("days must be at least 1", field="days", rule="at_least_1")


# Rules ------------------------------------------------------------------


def check_not_in_future(day: date, today: date, field: str) -> None:
    if day > today:
        raise DateInFutureError(field, day, today)


def check_not_negative(count: int, field: str) -> None:
    if count < 0:
        raise NegativeCountError(field)


def check_at_least_one(count: int, field: str) -> None:
    if count < 1:
        raise CountBelowOneError(field)


def check_topics(topics: Sequence[MeetingTopic]) -> None:
    if not topics:
        raise NoTopicError
    seen: set[MeetingTopic] = set()
    for index, topic in enumerate(topics):
        if topic in seen:
            raise RepeatedTopicError(index, topic)
        seen.add(topic)


def check_attendees(attendee_member_ids: Sequence[UUID], known_members: Collection[UUID]) -> None:
    """Each attendee named is a member engagement knows, named once."""
    seen: set[UUID] = set()
    for index, member_id in enumerate(attendee_member_ids):
        if member_id in seen:
            raise RepeatedAttendeeError(index)
        if member_id not in known_members:
            raise UnknownAttendeeError(index)
        seen.add(member_id)


def check_hours(hours: Decimal) -> None:
    if hours <= 0:
        raise NonPositiveHoursError(hours)
    if hours > MAX_HOURS_PER_RECORD:
        raise TooManyHoursError(hours)


def check_within_members_assessed(count: int, members_assessed: int, field: str) -> None:
    if not 0 <= count <= members_assessed:
        raise BeyondMembersAssessedError(field, members_assessed)


# Follow-up: meetings, their action items, technical assistance ---------


@dataclass(frozen=True)
class ActionItemDraft:
    """An action agreed at a meeting, as staff write it down."""

    description: str
    owner: str
    due_on: date


@dataclass
class ActionItem:
    action_id: UUID
    meeting_id: UUID
    held_on: date
    description: str
    owner: str
    due_on: date
    completed_on: date | None = None

    @property
    def open(self) -> bool:
        return self.completed_on is None

    def overdue(self, today: date) -> bool:
        return self.open and self.due_on < today


@dataclass(frozen=True)
class Meeting:
    meeting_id: UUID
    held_on: date
    mode: MeetingMode
    attendee_member_ids: tuple[UUID, ...]
    other_attendees: int
    topics: tuple[MeetingTopic, ...]
    notes: str | None
    action_ids: tuple[UUID, ...]

    @property
    def attendee_count(self) -> int:
        return len(self.attendee_member_ids) + self.other_attendees


@dataclass(frozen=True)
class TechnicalAssistance:
    assistance_id: UUID
    given_on: date
    topic: AssistanceTopic
    hours: Decimal
    note: str | None


@dataclass(frozen=True)
class Contact:
    on: date
    kind: ContactKind


class FollowUp(Aggregate):
    """The programme's follow-up of one OSV: meetings, what they agreed, technical assistance.

    One per OSV, its id worked out from the OSV's, opened with its first record.
    """

    @staticmethod
    def create_id(osv_id: UUID, **_: object) -> UUID:
        return FollowUp.id_for(osv_id)

    @staticmethod
    def id_for(osv_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:follow-up:{osv_id}")

    @event("FollowUpOpened")
    def __init__(self, osv_id: UUID) -> None:
        self.osv_id = osv_id
        self.meetings: dict[UUID, Meeting] = {}
        self.action_items: dict[UUID, ActionItem] = {}
        self.assistance: list[TechnicalAssistance] = []

    # Meetings and action items

    def hold_meeting(
        self,
        held_on: date,
        mode: MeetingMode,
        topics: Sequence[MeetingTopic],
        attendee_member_ids: Sequence[UUID],
        other_attendees: int,
        notes: str | None,
        action_items: Sequence[ActionItemDraft],
        *,
        known_members: Collection[UUID],
        today: date,
    ) -> Meeting:
        """Record a follow-up meeting with the OSV and the actions it agreed."""
        check_not_in_future(held_on, today, "held_on")
        check_topics(topics)
        check_not_negative(other_attendees, "other_attendees")
        check_attendees(attendee_member_ids, known_members)
        for index, item in enumerate(action_items):
            if item.due_on < held_on:
                raise DueBeforeMeetingError(index, item.due_on, held_on)
        meeting_id = uuid4()
        self._meeting_held(
            osv_id=self.osv_id,
            meeting_id=meeting_id,
            held_on=held_on,
            mode=mode,
            topics=list(topics),
            attendee_member_ids=list(attendee_member_ids),
            other_attendees=other_attendees,
            notes=notes,
            action_items=[{"action_id": uuid4(), **asdict(item)} for item in action_items],
        )
        return self.meetings[meeting_id]

    @event("FollowUpMeetingHeld")
    def _meeting_held(
        self,
        osv_id: UUID,
        meeting_id: UUID,
        held_on: date,
        mode: MeetingMode,
        topics: list[MeetingTopic],
        attendee_member_ids: list[UUID],
        other_attendees: int,
        notes: str | None,
        action_items: list[dict[str, Any]],
    ) -> None:
        for item in action_items:
            self.action_items[item["action_id"]] = ActionItem(
                action_id=item["action_id"],
                meeting_id=meeting_id,
                held_on=held_on,
                description=item["description"],
                owner=item["owner"],
                due_on=item["due_on"],
            )
        self.meetings[meeting_id] = Meeting(
            meeting_id=meeting_id,
            held_on=held_on,
            mode=MeetingMode(mode),
            attendee_member_ids=tuple(attendee_member_ids),
            other_attendees=other_attendees,
            topics=tuple(MeetingTopic(t) for t in topics),
            notes=notes,
            action_ids=tuple(item["action_id"] for item in action_items),
        )

    def complete_action(self, action_id: UUID, completed_on: date, *, today: date) -> ActionItem:
        """Record that an action agreed at a meeting was done."""
        item = self.action_items.get(action_id)
        if item is None:
            raise ActionItemNotFoundError(action_id)
        if item.completed_on is not None:
            raise ActionAlreadyCompletedError(item.completed_on)
        check_not_in_future(completed_on, today, "completed_on")
        if completed_on < item.held_on:
            raise CompletedBeforeMeetingError(completed_on, item.held_on)
        self._action_completed(
            osv_id=self.osv_id,
            meeting_id=item.meeting_id,
            action_id=action_id,
            due_on=item.due_on,
            completed_on=completed_on,
        )
        return item

    @event("ActionItemCompleted")
    def _action_completed(
        self, osv_id: UUID, meeting_id: UUID, action_id: UUID, due_on: date, completed_on: date
    ) -> None:
        self.action_items[action_id].completed_on = completed_on

    # Technical assistance

    def give_assistance(
        self, given_on: date, topic: AssistanceTopic, hours: Decimal, note: str | None, *, today: date
    ) -> TechnicalAssistance:
        """Record hours of technical assistance given to the OSV on one day."""
        check_not_in_future(given_on, today, "given_on")
        check_hours(hours)
        assistance_id = uuid4()
        self._assistance_given(
            osv_id=self.osv_id,
            assistance_id=assistance_id,
            given_on=given_on,
            topic=topic,
            hours=hours.quantize(CENT),
            note=note,
        )
        return self.assistance[-1]

    @event("TechnicalAssistanceGiven")
    def _assistance_given(
        self, osv_id: UUID, assistance_id: UUID, given_on: date, topic: AssistanceTopic, hours: Decimal, note: str | None
    ) -> None:
        self.assistance.append(TechnicalAssistance(assistance_id, given_on, AssistanceTopic(topic), hours, note))

    # What the follow-up says

    def meetings_latest_first(self) -> list[Meeting]:
        return sorted(self.meetings.values(), key=lambda m: m.held_on, reverse=True)

    @property
    def last_meeting_on(self) -> date | None:
        return max((m.held_on for m in self.meetings.values()), default=None)

    @property
    def last_contact(self) -> Contact | None:
        """The latest meeting or assistance; a meeting wins a tie."""
        contacts = [Contact(m.held_on, ContactKind.MEETING) for m in self.meetings.values()]
        contacts += [Contact(a.given_on, ContactKind.TECHNICAL_ASSISTANCE) for a in self.assistance]
        return max(contacts, key=lambda c: (c.on, c.kind is ContactKind.MEETING), default=None)

    def open_actions(self) -> list[ActionItem]:
        """Actions not yet done, soonest due first."""
        return sorted((a for a in self.action_items.values() if a.open), key=lambda a: (a.due_on, a.held_on))

    @property
    def assistance_hours(self) -> Decimal:
        return sum((a.hours for a in self.assistance), Decimal("0.00"))

    def assistance_hours_by_topic(self) -> dict[AssistanceTopic, Decimal]:
        totals: dict[AssistanceTopic, Decimal] = {}
        for record in self.assistance:
            totals[record.topic] = totals.get(record.topic, Decimal("0.00")) + record.hours
        return totals


# Who is overdue for a meeting ------------------------------------------


@dataclass(frozen=True)
class FollowUpStanding:
    """Where one active OSV stands: when it was mapped and when the programme last met it."""

    osv_id: UUID
    district: str
    zone: str
    mapped_on: date
    last_meeting_on: date | None

    @property
    def counted_from(self) -> date:
        return self.last_meeting_on or self.mapped_on

    def days_without_meeting(self, today: date) -> int:
        return (today - self.counted_from).days


def overdue_for_follow_up(standings: Iterable[FollowUpStanding], today: date, days: int) -> list[FollowUpStanding]:
    """OSVs with no meeting in the last ``days`` days (counting from their mapping if never met), most overdue first."""
    if days < 1:
        raise InvalidWindowError
    overdue = [s for s in standings if s.days_without_meeting(today) > days]
    return sorted(overdue, key=lambda s: (-s.days_without_meeting(today), str(s.osv_id)))


# Activities and their beneficiaries -------------------------------------


@dataclass(frozen=True)
class BeneficiaryGroup:
    """Direct beneficiaries of one nationality and sex."""

    nationality: str
    sex: Sex
    count: int


@dataclass(frozen=True)
class Output:
    """Something an activity left behind: a mural, a recovered public space…"""

    kind: OutputKind
    count: int


@dataclass(frozen=True)
class Withdrawal:
    withdrawn_on: date
    reason: str


def checked_beneficiaries(groups: Sequence[BeneficiaryGroup]) -> list[BeneficiaryGroup]:
    """The groups with their nationality normalised; one row per nationality and sex, each of one or more people."""
    checked: list[BeneficiaryGroup] = []
    seen: set[tuple[str, Sex]] = set()
    for index, group in enumerate(groups):
        nationality = nationality_of(group.nationality, f"direct_beneficiaries.{index}.nationality")
        check_at_least_one(group.count, f"direct_beneficiaries.{index}.count")
        if (nationality, group.sex) in seen:
            raise RepeatedBeneficiaryGroupError(index, nationality, group.sex)
        seen.add((nationality, group.sex))
        checked.append(BeneficiaryGroup(nationality, Sex(group.sex), group.count))
    return checked


def check_outputs(outputs: Sequence[Output]) -> None:
    seen: set[OutputKind] = set()
    for index, output in enumerate(outputs):
        check_at_least_one(output.count, f"outputs.{index}.count")
        if output.kind in seen:
            raise RepeatedOutputError(index, output.kind)
        seen.add(output.kind)


class Activity(Aggregate):
    """An activity an OSV held and reported: who benefited and what it left behind."""

    @classmethod
    def report(
        cls,
        osv_id: UUID,
        held_on: date,
        kind: ActivityKind,
        district: str,
        zone: str,
        direct_beneficiaries: Sequence[BeneficiaryGroup],
        indirect_beneficiaries: int,
        outputs: Sequence[Output],
        grant_id: UUID | None,
        grant_osv_id: UUID | None,
        description: str | None,
        *,
        today: date,
    ) -> Activity:
        """Check the report, then record it. ``grant_osv_id`` is the OSV the grant was made to."""
        check_not_in_future(held_on, today, "held_on")
        groups = checked_beneficiaries(direct_beneficiaries)
        check_not_negative(indirect_beneficiaries, "indirect_beneficiaries")
        check_outputs(outputs)
        if grant_id is not None and grant_osv_id != osv_id:
            raise GrantOfAnotherOSVError(grant_id)
        return cls(
            osv_id=osv_id,
            held_on=held_on,
            kind=kind,
            district=district,
            zone=zone,
            direct_beneficiaries=[asdict(g) for g in groups],
            indirect_beneficiaries=indirect_beneficiaries,
            outputs=[asdict(o) for o in outputs],
            grant_id=grant_id,
            description=description,
        )

    @event("ActivityReported")
    def __init__(
        self,
        osv_id: UUID,
        held_on: date,
        kind: ActivityKind,
        district: str,
        zone: str,
        direct_beneficiaries: list[dict[str, Any]],
        indirect_beneficiaries: int,
        outputs: list[dict[str, Any]],
        grant_id: UUID | None,
        description: str | None,
    ) -> None:
        self.osv_id = osv_id
        self.held_on = held_on
        self.kind = ActivityKind(kind)
        self.district = district
        self.zone = zone
        self.direct_beneficiaries = [
            BeneficiaryGroup(g["nationality"], Sex(g["sex"]), g["count"]) for g in direct_beneficiaries
        ]
        self.indirect_beneficiaries = indirect_beneficiaries
        self.outputs = [Output(OutputKind(o["kind"]), o["count"]) for o in outputs]
        self.grant_id = grant_id
        self.description = description
        self.withdrawal: Withdrawal | None = None

    @property
    def direct_beneficiary_total(self) -> int:
        return sum(g.count for g in self.direct_beneficiaries)

    def withdraw(self, reason: str, *, today: date) -> None:
        """Take back an activity reported by mistake; it stays in the history, marked withdrawn."""
        if self.withdrawal is not None:
            raise ActivityAlreadyWithdrawnError(self.withdrawal.withdrawn_on)
        self._withdrawn(osv_id=self.osv_id, held_on=self.held_on, withdrawn_on=today, reason=reason)

    @event("ActivityWithdrawn")
    def _withdrawn(self, osv_id: UUID, held_on: date, withdrawn_on: date, reason: str) -> None:
        self.withdrawal = Withdrawal(withdrawn_on, reason)


class OSVActivities(Aggregate):
    """Index of the activities one OSV reported, so they are listed without reading every activity.

    Bookkeeping only: its events never leave the service.
    """

    @staticmethod
    def create_id(osv_id: UUID, **_: object) -> UUID:
        return OSVActivities.id_for(osv_id)

    @staticmethod
    def id_for(osv_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:activities-of:{osv_id}")

    @event("ActivityIndexOpened")
    def __init__(self, osv_id: UUID) -> None:
        self.osv_id = osv_id
        self.activity_ids: list[UUID] = []

    @event("ActivityIndexed")
    def add(self, activity_id: UUID) -> None:
        self.activity_ids.append(activity_id)


# Needs assessments ------------------------------------------------------


@dataclass(frozen=True)
class Need:
    area: NeedArea
    members_affected: int
    priority: Priority


@dataclass(frozen=True)
class NeedsAssessment:
    assessment_id: UUID
    assessed_on: date
    members_assessed: int
    members_over_5_years_in_peru: int
    needs: tuple[Need, ...]


class NeedsRecord(Aggregate):
    """The needs assessments of one OSV's members: counts only, never who.

    One per OSV, its id worked out from the OSV's, opened with its first assessment.
    """

    @staticmethod
    def create_id(osv_id: UUID, **_: object) -> UUID:
        return NeedsRecord.id_for(osv_id)

    @staticmethod
    def id_for(osv_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"urn:osv-platform:needs-of:{osv_id}")

    @event("NeedsRecordOpened")
    def __init__(self, osv_id: UUID) -> None:
        self.osv_id = osv_id
        self.assessments: list[NeedsAssessment] = []

    def assess(
        self,
        assessed_on: date,
        members_assessed: int,
        members_over_5_years_in_peru: int,
        needs: Sequence[Need],
        *,
        today: date,
    ) -> NeedsAssessment:
        """Record how many members were asked, how many have lived in Peru over 5 years, and what they need."""
        check_not_in_future(assessed_on, today, "assessed_on")
        check_at_least_one(members_assessed, "members_assessed")
        check_within_members_assessed(members_over_5_years_in_peru, members_assessed, "members_over_5_years_in_peru")
        seen: set[NeedArea] = set()
        for index, need in enumerate(needs):
            check_within_members_assessed(need.members_affected, members_assessed, f"needs.{index}.members_affected")
            if need.area in seen:
                raise RepeatedNeedAreaError(index, need.area)
            seen.add(need.area)
        self._assessed(
            osv_id=self.osv_id,
            assessment_id=uuid4(),
            assessed_on=assessed_on,
            members_assessed=members_assessed,
            members_over_5_years_in_peru=members_over_5_years_in_peru,
            needs=[asdict(n) for n in needs],
        )
        return self.assessments[-1]

    @event("NeedsAssessed")
    def _assessed(
        self,
        osv_id: UUID,
        assessment_id: UUID,
        assessed_on: date,
        members_assessed: int,
        members_over_5_years_in_peru: int,
        needs: list[dict[str, Any]],
    ) -> None:
        self.assessments.append(
            NeedsAssessment(
                assessment_id=assessment_id,
                assessed_on=assessed_on,
                members_assessed=members_assessed,
                members_over_5_years_in_peru=members_over_5_years_in_peru,
                needs=tuple(Need(NeedArea(n["area"]), n["members_affected"], Priority(n["priority"])) for n in needs),
            )
        )

    def latest_first(self) -> list[NeedsAssessment]:
        """Latest assessed first; of two on the same day, the one recorded later."""
        ordered = list(enumerate(self.assessments))
        return [a for _, a in sorted(ordered, key=lambda pair: (pair[1].assessed_on, pair[0]), reverse=True)]
