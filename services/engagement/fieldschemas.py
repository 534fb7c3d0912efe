"""Engagement's request and response bodies of field work: follow-up meetings, technical assistance, activities, needs.

The members' bodies are in :mod:`services.engagement.schemas`; as there,
nothing here is published (see ``events.py`` for what is).

Staff's free text (notes, actions' words, descriptions, withdrawal reasons)
is shown only to a reader who may read it (``personal-data:read``, see
:attr:`shared.roles.Caller.may_read_staff_text`); everyone else reads it as
``[withheld]``, with every fact around it (dates, topics, counts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints, TypeAdapter, model_validator
from pydantic_core import PydanticCustomError

from services.engagement.application import Engagement
from services.engagement.domain.activities import (
    Activity,
    ActivityKind,
    BeneficiaryGroup,
    Output,
    Participant,
    ParticipantsAndCountsError,
    beneficiary_mistakes,
    counted_from,
    output_mistakes,
    participant_mistakes,
)
from services.engagement.domain.followup import (
    ActionItem,
    AssistanceTopic,
    ContactKind,
    DueBeforeMeetingError,
    FollowUp,
    Meeting,
    MeetingMode,
    MeetingTopic,
    TechnicalAssistance,
    attendee_mistakes,
    check_hours,
    topic_mistakes,
)
from services.engagement.domain.memberrules import Sex, nationality_of
from services.engagement.domain.overdue import FollowUpStanding
from services.engagement.domain.withdrawals import FieldWithdrawalReason, Withdrawal
from shared import dryrun
from shared.errors import (
    PartlyRead,
    RuleViolationError,
    check_at_least_one,
    check_not_before,
    check_not_in_future,
    refused,
)
from shared.outputs import OutputKind
from shared.problems import as_body_errors
from shared.roles import WITHHELD_TEXT, shown_text
from shared.schemas import (
    MAX_ROWS,
    NOT_AFTER_DISSOLUTION,
    Command,
    Count,
    IsoDate,
    NotNegativeCount,
    Text,
    application_rule,
    decimal_string,
    decimal_text,
    domain_rows,
    domain_rule,
    list_rules,
    read_or_none,
    serving,
)


def _at_least_one(count: int) -> None:
    check_at_least_one(count, "count")


# Field work: follow-up, technical assistance, activities, needs -------------------
#
# Business bounds (counts, hours, dates, duplicates) are the domain's rules
# (services/engagement/domain/); these models check only the shapes.

Notes = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
# A count above everyone in Lima is a typing error: refused here, before it is published (shared.schemas.Count).
# Lists hold one row per kind at most, or a meeting's people: bounded so that a command's event stays small.
MAX_ATTENDEES = 500
MAX_ACTION_ITEMS = 50
MAX_PARTICIPANTS = 2000


def distinct_from_given(alike: str, record: str) -> Any:
    """A request's ``distinct_from``: the OSV's records ``alike`` (:mod:`services.engagement.domain.repeats`) that this
    ``record`` is not."""
    return Field(
        default_factory=list,
        max_length=50,
        description=f"The OSV's {alike} that this {record} is not (another of that day): without them, such a {record} is "
        "refused with 409 `possible_duplicate`, which names them. An id that is none of them is 422 `possible_duplicate_named`.",
    )


def distinct_from_shown(alike: str) -> Any:
    """An answer's ``distinct_from``: as the request gave it; empty in one recorded before it was kept."""
    return Field(default_factory=list, description=f"The OSV's {alike} that staff said this one is not (the request's `distinct_from`).")


Hours = Annotated[
    Decimal,
    decimal_text("2.5"),
    Field(max_digits=6, decimal_places=2),
    domain_rule(check_hours),
    decimal_string(
        "Hours as a decimal string, e.g. \"2.5\": more than 0 (422 `greater_than_0`), at most 24 (422 `at_most_24_hours`); "
        "a JSON number is refused.",
        r"^\d{1,4}(\.\d{1,2})?$",
    ),
]


class ActionItemCreate(Command):
    description: Text = Field(description="What was agreed (kept for staff, never published).")
    owner: Text = Field(description="Who does it, as a role: \"junta directiva\", \"equipo del programa\"…")
    due_on: IsoDate = Field(description="When it is due: not before the meeting.")


_AN_ID, _A_DATE = TypeAdapter(UUID), TypeAdapter(IsoDate)


def _held_by_today(engagement: Engagement, held_on: date) -> None:
    """422 ``not_in_future`` by the serving application's clock (Lima), with the body's other mistakes: found by the
    domain only once the body was put right, a meeting or activity dated 2099 took a second round (tester 187 F4)."""
    check_not_in_future(held_on, engagement.today(), "held_on")


HeldOn = Annotated[IsoDate, application_rule(_held_by_today)]
"""The day a meeting or activity was held: an ISO date, not in the future."""


def _attendees_once(attendee_member_ids: list[UUID | None]) -> Iterable[RuleViolationError]:
    """The domain's :func:`attendee_mistakes` with every attendee taken as known: each named once (422 ``unique_attendees``);
    whether engagement knows them is the application's to say."""
    return attendee_mistakes(attendee_member_ids, set(attendee_member_ids) - {None})


def meeting_look_ups(path: Mapping[str, Any], body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A meeting body's mistakes the schema does not see, for a body refused for other mistakes to name them in the same
    422 (:func:`~shared.problems.route_body_rules`), as :meth:`Engagement.hold_meeting
    <services.engagement.fieldwork.Fieldwork.hold_meeting>` names them for a body the schema took: a day before the
    programme mapped the OSV (422 ``not_before_mapped_on``), the attendees the store tells are not members of the OSV on
    that day (422 ``known_member``), the actions due before it (422 ``not_before_held_on``). A meeting dated in the future
    naming a stranger was told of the date, then of the stranger (tester 187 F4c); one with a topic twice, of the topic,
    then of an action due before it (tester 199 F1)."""
    engagement, osv_id = serving(), read_or_none(_AN_ID, path.get("osv_id"))
    held_on, ids, items = read_or_none(_A_DATE, body.get("held_on")), body.get("attendee_member_ids"), body.get("action_items")
    known = engagement.osvs.get(osv_id) if engagement is not None and osv_id is not None else None
    if known is None:
        return []  # an OSV engagement does not know: its 404 once the body is put right
    mistakes: list[RuleViolationError] = []
    dated = held_on is not None and held_on <= engagement.today()  # a day in the future is the schema's to refuse, alone
    if dated:
        mistakes += refused(check_not_before, "held_on", held_on, "mapped_on", known.mapped_on)
    if isinstance(ids, list) and len(ids) <= MAX_ATTENDEES:  # a list refused whole (too long): its rows wait, as the schema's
        mistakes += engagement.attendees_not_known(osv_id, [read_or_none(_AN_ID, given) for given in ids], held_on=held_on)
    if dated and isinstance(items, list) and len(items) <= MAX_ACTION_ITEMS:
        for index, item in enumerate(items):
            due_on = read_or_none(_A_DATE, item.get("due_on")) if isinstance(item, Mapping) else None
            if due_on is not None and due_on < held_on:
                mistakes.append(DueBeforeMeetingError(index, due_on, held_on))
    return as_body_errors(mistakes)


class MeetingCreate(Command):
    held_on: HeldOn = Field(description="When the meeting was held: not in the future (422 `not_in_future`)." + NOT_AFTER_DISSOLUTION)
    mode: MeetingMode = Field(description="`virtual` or `in_person`.")
    attendee_member_ids: Annotated[list[UUID], list_rules(_attendees_once)] = Field(
        default_factory=list,
        max_length=MAX_ATTENDEES,
        description="Members who attended, each a member of this OSV on `held_on` (joined by then, not left before; a member of an OSV "
        "merged into it counts) and not erased (count a person erased in `other_attendees`) (422 `known_member`), once (422 "
        "`unique_attendees`); a record merged into another member is named by that member (409 `member_not_merged`, naming "
        "it, unless an attendee before it is refused: then the 422 names every one refused); never published.",
    )
    other_attendees: NotNegativeCount = Field(
        default=0, description="Others present, not members (staff, officials): 0 or more (422 `not_negative`)."
    )
    topics: Annotated[list[MeetingTopic], list_rules(topic_mistakes)] = Field(
        max_length=len(MeetingTopic),
        description="What was followed up: at least one (422 `at_least_one_topic`), each once (422 `unique_topics`).",
    )
    notes: Notes | None = Field(default=None, description="Free notes for staff; kept, never published.")
    action_items: list[ActionItemCreate] = Field(default_factory=list, max_length=MAX_ACTION_ITEMS, description="The actions agreed.")
    distinct_from: list[UUID] = distinct_from_given("meetings held the same `held_on` in the same `mode`", "meeting")


class MeetingWithdrawalCreate(Command):
    reason: FieldWithdrawalReason = Field(
        description="Why the meeting was recorded by mistake: `entered_in_error` (no such meeting was held), `duplicate` "
        "(typed twice: the other record stands), `wrong_osv` or `wrong_date` (record it again as it was held)."
    )
    note: Notes | None = Field(
        default=None,
        description="Staff's words on the mistake, 1-4,000 characters; kept sealed with the meeting's notes, never published, "
        "forgotten with them (`POST /osvs/{osv_id}/meetings/{meeting_id}/redaction`).",
    )


class AssistanceWithdrawalCreate(Command):
    reason: FieldWithdrawalReason = Field(
        description="Why the record was a mistake: `entered_in_error` (no such assistance was given), `duplicate` (typed "
        "twice: the other record stands), `wrong_osv` or `wrong_date` (record it again as it was given)."
    )
    note: Notes | None = Field(
        default=None,
        description="Staff's words on the mistake, 1-4,000 characters; kept sealed with the record's note, never published, "
        "forgotten with it (`POST /osvs/{osv_id}/technical-assistance/{assistance_id}/redaction`).",
    )


class ActionCompletionCreate(Command):
    completed_on: IsoDate = Field(description="When the action was done: not before its meeting, not in the future.")


class AssistanceCreate(Command):
    given_on: IsoDate = Field(description="The day the assistance was given: not in the future." + NOT_AFTER_DISSOLUTION)
    topic: AssistanceTopic = Field(description="What the assistance was about.")
    hours: Hours
    note: Notes | None = Field(default=None, description="Free note for staff; kept, never published.")
    distinct_from: list[UUID] = distinct_from_given("technical assistance given the same `given_on` on the same `topic`", "record")


WITHHELD = (
    f"`{WITHHELD_TEXT}` to a reader without `personal-data:read` (municipal focal points, auditors): staff's words "
    "may name people. `[redacted]` once forgotten."
)


class ActionItemPublic(BaseModel):
    action_id: UUID
    meeting_id: UUID
    description: str = Field(description="What was agreed. " + WITHHELD)
    owner: str = Field(description="Who does it, as a role. " + WITHHELD)
    due_on: date
    completed_on: date | None = Field(description="When it was done; null while open.")
    withdrawn_on: date | None = Field(default=None, description="Set when its meeting was withdrawn before it was done: no longer pending.")
    overdue: bool = Field(description="Open and due before today (Lima).")

    @classmethod
    def of(cls, item: ActionItem, today: date, *, text: bool) -> ActionItemPublic:
        """The action; its words only when ``text`` (the reader may read staff's free text), else withheld."""
        return cls(
            action_id=item.action_id,
            meeting_id=item.meeting_id,
            description=shown_text(item.description, text),
            owner=shown_text(item.owner, text),
            due_on=item.due_on,
            completed_on=item.completed_on,
            withdrawn_on=item.withdrawn_on,
            overdue=item.overdue(today),
        )


class FieldWithdrawalPublic(BaseModel):
    reason: FieldWithdrawalReason
    withdrawn_on: date = Field(description="The day the withdrawal was recorded, in Lima.")
    note: str | None = Field(description="Staff's words on the mistake; null if none. " + WITHHELD)

    @classmethod
    def of(cls, withdrawal: Withdrawal | None, *, text: bool) -> FieldWithdrawalPublic | None:
        if withdrawal is None:
            return None
        return cls(reason=withdrawal.reason, withdrawn_on=withdrawal.withdrawn_on, note=shown_text(withdrawal.note, text))


class MeetingPublic(BaseModel):
    meeting_id: UUID
    osv_id: UUID
    held_on: date
    mode: MeetingMode
    attendee_member_ids: list[UUID] = Field(
        description="The members named who were members of the OSV on `held_on` (a meeting recorded before attendees were "
        "checked may have named others: they are not shown)."
    )
    other_attendees: int
    attendee_count: int = Field(description="Members named (those shown) plus other attendees.")
    topics: list[MeetingTopic]
    notes: str | None = Field(description="Free notes for staff; null if none. " + WITHHELD)
    action_items: list[ActionItemPublic]
    distinct_from: list[UUID] = distinct_from_shown("meetings of the same day and mode")
    status: str = Field(description="`held`; `withdrawn` once withdrawn as recorded by mistake (it counts nowhere since).")
    withdrawal: FieldWithdrawalPublic | None = Field(description="Why and when it was withdrawn; null if it was not.")

    @classmethod
    def of(cls, follow_up: FollowUp, meeting: Meeting, today: date, *, text: bool, attendees: Sequence[UUID]) -> MeetingPublic:
        """The meeting, naming ``attendees`` (those of its attendees shown: :meth:`Engagement.attendees_shown`); its notes
        and actions' words only when ``text``, else withheld."""
        return cls(
            meeting_id=meeting.meeting_id,
            osv_id=follow_up.osv_id,
            held_on=meeting.held_on,
            mode=meeting.mode,
            attendee_member_ids=list(attendees),
            other_attendees=meeting.other_attendees,
            attendee_count=len(attendees) + meeting.other_attendees,
            topics=list(meeting.topics),
            notes=shown_text(meeting.notes, text),
            action_items=[ActionItemPublic.of(follow_up.action_items[a], today, text=text) for a in meeting.action_ids],
            distinct_from=list(meeting.distinct_from),
            status="held" if meeting.withdrawal is None else "withdrawn",
            withdrawal=FieldWithdrawalPublic.of(meeting.withdrawal, text=text),
        )


class AssistancePublic(BaseModel):
    assistance_id: UUID
    given_on: date
    topic: AssistanceTopic
    hours: Decimal = Field(description="Decimal string.")
    note: str | None = Field(description="Free note for staff; null if none. " + WITHHELD)
    distinct_from: list[UUID] = distinct_from_shown("technical assistance of the same day and topic")
    status: str = Field(description="`given`; `withdrawn` once withdrawn as recorded by mistake (its hours count nowhere since).")
    withdrawal: FieldWithdrawalPublic | None = Field(description="Why and when it was withdrawn; null if it was not.")

    @classmethod
    def of(cls, record: TechnicalAssistance, *, text: bool) -> AssistancePublic:
        """The record; its note only when ``text``, else withheld."""
        return cls(
            assistance_id=record.assistance_id,
            given_on=record.given_on,
            topic=record.topic,
            hours=record.hours,
            note=shown_text(record.note, text),
            distinct_from=list(record.distinct_from),
            status="given" if record.withdrawal is None else "withdrawn",
            withdrawal=FieldWithdrawalPublic.of(record.withdrawal, text=text),
        )


class AssistanceSummary(BaseModel):
    total_hours: Decimal = Field(description="All hours of technical assistance given (none withdrawn), as a decimal string.")
    hours_by_topic: dict[AssistanceTopic, Decimal] = Field(description="Hours per topic given so far (none withdrawn).")
    records: list[AssistancePublic] = Field(description="Each record, latest given first, those withdrawn included (`status` `withdrawn`).")


class LastContact(BaseModel):
    on: date
    kind: ContactKind = Field(description="`meeting` or `technical_assistance`.")


class FollowUpPublic(BaseModel):
    osv_id: UUID
    last_contact: LastContact | None = Field(description="The latest meeting not withdrawn or assistance; null if none yet.")
    meetings: list[MeetingPublic] = Field(description="Latest held first, those withdrawn included (`status` `withdrawn`).")
    open_actions: list[ActionItemPublic] = Field(description="Actions not yet done, soonest due first.")
    technical_assistance: AssistanceSummary

    @classmethod
    def of(
        cls, osv_id: UUID, follow_up: FollowUp | None, today: date, *, text: bool, attendees: Mapping[UUID, Sequence[UUID]]
    ) -> FollowUpPublic:
        """The OSV's follow-up, each meeting naming its ``attendees`` shown (by meeting id); staff's words in it only when
        ``text``, else withheld (facts and counts stay)."""
        if follow_up is None:
            empty = AssistanceSummary(total_hours=Decimal("0.00"), hours_by_topic={}, records=[])
            return cls(osv_id=osv_id, last_contact=None, meetings=[], open_actions=[], technical_assistance=empty)
        contact = follow_up.last_contact
        assistance = sorted(follow_up.assistance, key=lambda a: a.given_on, reverse=True)
        return cls(
            osv_id=osv_id,
            last_contact=LastContact(on=contact.on, kind=contact.kind) if contact else None,
            meetings=[
                MeetingPublic.of(follow_up, m, today, text=text, attendees=attendees[m.meeting_id]) for m in follow_up.meetings_latest_first()
            ],
            open_actions=[ActionItemPublic.of(a, today, text=text) for a in follow_up.open_actions()],
            technical_assistance=AssistanceSummary(
                total_hours=follow_up.assistance_hours,
                hours_by_topic=follow_up.assistance_hours_by_topic(),
                records=[AssistancePublic.of(a, text=text) for a in assistance],
            ),
        )


class OverdueOSVPublic(BaseModel):
    osv_id: UUID
    district: str
    zone: str
    mapped_on: date
    last_meeting_on: date | None = Field(description="Null when the programme never met the OSV.")
    days_since_last_meeting: int = Field(description="Counted from the last meeting, or from the mapping if none.")

    @classmethod
    def of(cls, standing: FollowUpStanding, today: date) -> OverdueOSVPublic:
        return cls(
            osv_id=standing.osv_id,
            district=standing.district,
            zone=standing.zone,
            mapped_on=standing.mapped_on,
            last_meeting_on=standing.last_meeting_on,
            days_since_last_meeting=standing.days_without_meeting(today),
        )


class BeneficiariesCreate(Command):
    nationality: Annotated[str, StringConstraints(max_length=10), domain_rule(nationality_of)] = Field(
        description="ISO 3166-1 alpha-2 country code, e.g. `VE` or `PE` (422 `iso_3166_alpha_2`)."
    )
    sex: Sex = Field(description="`F`, `M` or `X`.")
    count: Annotated[Count, domain_rule(_at_least_one)] = Field(description="How many people of this nationality and sex: at least 1 (422 `at_least_1`).")

    def to_domain(self) -> BeneficiaryGroup:
        return BeneficiaryGroup(self.nationality, self.sex, self.count)


class ParticipantCreate(Command):
    """A person at the activity: a member by ``member_id``, or anyone else by a ``person_id`` with nationality and sex."""

    member_id: UUID | None = Field(
        default=None,
        description="A registered member: nationality and sex are theirs; an id of no member, or of a person whose erasure "
        "has begun, is 422 `known_member` (every such participant in one answer, with the body's other mistakes). A record merged into another member is listed by "
        "that member (409 `member_not_merged`, naming it, unless a participant before it is refused: then the 422 names "
        "every one refused), so that one person is counted once.",
    )
    person_id: UUID | None = Field(
        default=None,
        description="Someone who is not a member: a random id the front end keeps for that person, the same at every activity "
        "(never derived from a name or document). A member record's id here (a member's, a person erased, a record merged "
        "into another) is 422 `member_or_person`, one message for each: list a member by `member_id`, so they are counted "
        "as their record says. To a caller who may not read members (the Kobo webhook's account) that refusal tells that "
        "the id is a member record's, and is recorded on that record's access log (`activity_participant`).",
    )
    nationality: Annotated[str, StringConstraints(max_length=10), domain_rule(nationality_of)] | None = Field(
        default=None, description="With `person_id`: ISO 3166-1 alpha-2 country code (422 `iso_3166_alpha_2`)."
    )
    sex: Sex | None = Field(default=None, description="With `person_id`: `F`, `M` or `X`.")

    @model_validator(mode="after")
    def _member_or_person(self) -> ParticipantCreate:
        """422 ``member_or_person``: a member by ``member_id`` alone, or a person by ``person_id``, nationality and sex."""
        if (self.member_id is None) == (self.person_id is None):
            raise PydanticCustomError("member_or_person", "give either member_id, or person_id with nationality and sex")
        if self.person_id is not None and (self.nationality is None or self.sex is None):
            raise PydanticCustomError("member_or_person", "a person_id needs nationality and sex")
        if self.member_id is not None and (self.nationality is not None or self.sex is not None):
            raise PydanticCustomError("member_or_person", "a member's nationality and sex are on record: give member_id alone")
        return self


class OutputCreate(Command):
    kind: OutputKind = Field(description="What the activity left behind.")
    count: Annotated[Count, domain_rule(_at_least_one)] = Field(description="How many: at least 1 (422 `at_least_1`).")

    def to_domain(self) -> Output:
        return Output(self.kind, self.count)


def _district_of_lima(engagement: Engagement, district: str) -> None:
    """A district engagement's table knows by that name or ubigeo (422 ``lima_district``); the application finds it again,
    in force on ``held_on`` too."""
    engagement.districts.find(district)


def _beneficiaries(groups: list[BeneficiariesCreate | PartlyRead | None], participants: list[ParticipantCreate] | None) -> Iterable[RuleViolationError]:
    """The rows' mistakes, and both ways of counting given (422 ``participants_or_counts``) whatever the rows' own
    mistakes: a row's nationality refused hid it until the row was put right (tester 184 F1)."""
    yield from beneficiary_mistakes(domain_rows(groups))
    if participants and groups:  # None: the participants' own mistakes are said
        yield ParticipantsAndCountsError()


def _participants(participants: list[ParticipantCreate | PartlyRead | None]) -> Iterable[RuleViolationError]:
    """A participant listed twice by one id (422 ``unique_participant``) in the same 422 as the body's other mistakes:
    it was found only once the body was put right (tester 184 F1)."""
    return participant_mistakes(participants)


def _outputs(outputs: list[OutputCreate | PartlyRead | None]) -> Iterable[RuleViolationError]:
    return output_mistakes(domain_rows(outputs))


def activity_look_ups(path: Mapping[str, Any], body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An activity body's participants the store refuses, a member id of none (422 ``known_member``) or a member's id
    given as a ``person_id`` (422 ``member_or_person``), for a body refused for other mistakes to name them in the same
    422 (:func:`~shared.problems.route_body_rules`): an activity dated in the future listing an unknown member was told of
    the date, then of the member (tester 187 F4c). A body the schema took is checked by :meth:`Engagement.report_activity
    <services.engagement.fieldwork.Fieldwork.report_activity>`, which reads each participant once."""
    engagement, rows = serving(), body.get("participants")
    if engagement is None or not isinstance(rows, list) or len(rows) > MAX_PARTICIPANTS:
        return []  # a list refused whole (too long): its rows wait, as the schema's
    listed = [(read_or_none(_AN_ID, row.get("member_id")), read_or_none(_AN_ID, row.get("person_id"))) if isinstance(row, Mapping) else (None, None) for row in rows]
    return as_body_errors(engagement.participants_not_known(listed))


class ActivityCreate(Command):
    osv_id: UUID = Field(description="The OSV that held the activity.")
    held_on: HeldOn = Field(description="When it was held: not in the future (422 `not_in_future`)." + NOT_AFTER_DISSOLUTION)
    kind: ActivityKind = Field(description="What kind of activity it was.")
    district: Annotated[Text, application_rule(_district_of_lima)] = Field(
        description="Where: a district of Lima Metropolitana, or its INEI ubigeo; case and accents are ignored; "
        "a near miss, a name of places in several districts (\"Santa María\") or a zone's name (\"Lima Norte\") is 422 "
        "`lima_district`, naming the districts meant (a zone's, for a zone)."
    )
    participants: Annotated[list[ParticipantCreate], list_rules(_participants)] = Field(
        default_factory=list,
        max_length=MAX_PARTICIPANTS,
        description="The people reached directly, each once: reporting counts a person once per phase however many activities "
        "they attend. Give these, or `direct_beneficiaries` when only totals are known.",
    )
    direct_beneficiaries: Annotated[
        list[BeneficiariesCreate], list_rules(_beneficiaries, "participants", unread_as_none=True)
    ] = Field(
        default_factory=list,
        max_length=MAX_ROWS,
        description="Only when the participants are not listed (422 `participants_or_counts`): how many people were reached, "
        "one row per nationality and sex (422 `unique_nationality_and_sex`), their counts adding up to at most 10,000,000 "
        "(422 `at_most_max_count`; an aggregate report: reporting says how much of its total is aggregate).",
    )
    indirect_beneficiaries: NotNegativeCount = Field(
        default=0, description="People reached indirectly: 0 or more (422 `not_negative`)."
    )
    outputs: Annotated[list[OutputCreate], list_rules(_outputs)] = Field(
        default_factory=list, max_length=len(OutputKind), description="What it left behind: one row per kind (422 `unique_output_kind`)."
    )
    grant_id: UUID | None = Field(default=None, description="The funded project it belongs to: a grant to the same OSV.")
    description: Notes | None = Field(default=None, description="Free description for staff; kept, never published.")
    distinct_from: list[UUID] = distinct_from_given(
        "activities held the same `held_on`, of the same `kind`, in the same `district` (none withdrawn)", "activity"
    )


class ActivityWithdrawalCreate(Command):
    reason: Text = Field(description="Why the report was a mistake (kept, never published).")


class BeneficiariesPublic(BaseModel):
    nationality: str
    sex: Sex
    count: int


class OutputPublic(BaseModel):
    kind: OutputKind
    count: int


class ParticipantPublic(BaseModel):
    person_id: UUID
    nationality: str | None = Field(
        description="ISO 3166-1 alpha-2; a member's is their record's, null in a command's answer to a caller who may not "
        "read members (`members:read`: the Kobo webhook's account)."
    )
    sex: Sex | None = Field(description="`F`, `M` or `X`; a member's null as their nationality is.")
    member: bool

    @classmethod
    def of(cls, participant: Participant, *, members: bool) -> ParticipantPublic:
        """The participant; a member's nationality and sex only when ``members`` (the reader may read members)."""
        shown = members or not participant.member
        return cls(
            person_id=participant.person_id,
            nationality=participant.nationality if shown else None,
            sex=participant.sex if shown else None,
            member=participant.member,
        )


class WithdrawalPublic(BaseModel):
    withdrawn_on: date
    reason: str = Field(description="Why the report was a mistake. " + WITHHELD)


class ActivityPublic(BaseModel):
    id: UUID
    osv_id: UUID
    held_on: date
    kind: ActivityKind
    district: str
    zone: str
    direct_beneficiaries: list[BeneficiariesPublic] = Field(
        description="How many people were reached, by nationality and sex (counted from `participants` when they are listed); "
        "in a command's answer to a caller who may not read members, the participants who are members are left out."
    )
    direct_beneficiary_total: int = Field(description="The direct beneficiaries' counts added up (every participant counted).")
    participants: list[ParticipantPublic] = Field(default_factory=list, description="Each person at the activity once, by pseudonymous id.")
    counted_by: str = Field(description="`persons` (participants listed), `aggregate` (counts only) or `none`.")
    indirect_beneficiaries: int
    outputs: list[OutputPublic]
    grant_id: UUID | None
    description: str | None = Field(description="Free description for staff; null if none. " + WITHHELD)
    withdrawal: WithdrawalPublic | None = Field(description="Set when the activity was withdrawn as a mistake.")
    distinct_from: list[UUID] = distinct_from_shown("activities of the same day, kind and district")
    version: int = Field(description="How many events the activity has recorded.")

    @classmethod
    def of(cls, activity: Activity, *, text: bool, members: bool = True) -> ActivityPublic:
        """The activity; its description and withdrawal reason only when ``text``, else withheld; its members' nationality
        and sex only when ``members`` (the reader may read members: a command's answer to the Kobo webhook's account gives
        none, tester 218 F1), else null in ``participants`` and left out of ``direct_beneficiaries``, whose rows count
        the other participants (the total counts everyone)."""
        withdrawal = activity.withdrawal
        groups = activity.direct_beneficiaries
        if not members and any(p.member for p in activity.participants):
            groups = counted_from([p for p in activity.participants if not p.member])
        return cls(
            id=activity.id,
            osv_id=activity.osv_id,
            held_on=activity.held_on,
            kind=activity.kind,
            district=activity.district,
            zone=activity.zone,
            direct_beneficiaries=[
                BeneficiariesPublic(nationality=g.nationality, sex=g.sex, count=g.count) for g in groups
            ],
            direct_beneficiary_total=activity.direct_beneficiary_total,
            participants=[ParticipantPublic.of(p, members=members) for p in activity.participants],
            counted_by="persons" if activity.participants else "aggregate" if activity.aggregate else "none",
            indirect_beneficiaries=activity.indirect_beneficiaries,
            outputs=[OutputPublic(kind=o.kind, count=o.count) for o in activity.outputs],
            grant_id=activity.grant_id,
            description=shown_text(activity.description, text),
            withdrawal=WithdrawalPublic(withdrawn_on=withdrawal.withdrawn_on, reason=shown_text(withdrawal.reason, text) or "")
            if withdrawal
            else None,
            distinct_from=list(activity.distinct_from),
            version=dryrun.version_shown(activity),
        )
