"""Engagement's field work: the activities an OSV holds and reports, their beneficiaries and what they leave behind.

From the practice: "Reuniones periódicas con las organizaciones vecinales para
hacer seguimiento de sus acciones, pendientes; procesos de registro en el RUOS;
y reporte de actividades y beneficiarios".

Pure: the aggregates, the events they record, the rules and the named errors
those rules raise. An activity's description and why it was withdrawn may
mention people: they stay in the aggregate and its encrypted stored events;
the public events carry ids, dates, kinds and counts only. A redaction
recorded here (:meth:`Activity.redact_text`) makes them read ``[redacted]``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.engagement.domain.memberrules import Sex, nationality_of
from shared.errors import (
    MAX_COUNT,
    ConflictError,
    NotFoundError,
    PartlyRead,
    RuleViolationError,
    check_at_least_one,
    check_not_before,
    check_not_in_future,
    check_not_negative,
    field_of,
    raise_first,
    refused,
)
from shared.outputs import OutputKind
from shared.sealing import REDACTED_TEXT


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


# Named errors -----------------------------------------------------------


class TooManyReachedError(RuleViolationError):
    """The direct beneficiaries' rows add up to more than :data:`~shared.errors.MAX_COUNT`: each row under it, their
    sum past everyone in Lima (tester 192: 100 rows of 10,000,000 put a billion people reached in the donors' figures)."""

    def __init__(self, total: int) -> None:
        super().__init__(
            f"direct_beneficiaries' counts must add up to at most {MAX_COUNT:,}, not {total:,}: more than live in Lima",
            field="direct_beneficiaries",
            rule="at_most_max_count",
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


class RepeatedParticipantError(RuleViolationError):
    def __init__(self, index: int, person_id: UUID, member: bool = False) -> None:
        named = f"member {person_id} (a member_id)" if member else f"person {person_id} (a person_id)"
        super().__init__(
            f"{named} is listed twice: list each participant once",
            field=f"participants.{index}",
            rule="unique_participant",
        )


class ParticipantNotMemberError(RuleViolationError):
    """A participant's ``member_id`` of no member, or of a person erased or being erased (a record merged into another,
    to a caller who may not read members): one message for each, which tells neither who they were nor that they were."""

    def __init__(self, index: int, member_id: object) -> None:
        super().__init__(
            f"member {member_id} is not known to engagement, or their personal data is erased: list a registered member "
            "by member_id, anyone else by a new person_id with nationality and sex",
            field=f"participants.{index}.member_id",
            rule="known_member",
        )


class MemberListedAsPersonError(RuleViolationError):
    """A member record's id given as a ``person_id``: a member's, a person erased or being erased, or a record merged into
    another, in one message to every caller (it tells the caller who may not read members that the id is one of them,
    and no more: the application logs it on that record's access log)."""

    def __init__(self, index: int, member_id: object) -> None:
        super().__init__(
            f"{member_id} is the id of a member's record (registered, since erased, or merged into another): a person_id "
            "is an id of the activity's own for someone not registered; list a registered member by member_id (their "
            "nationality and sex are on record)",
            field=f"participants.{index}.person_id",
            rule="member_or_person",
        )


class ParticipantsAndCountsError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "give the participants (each person once) or, when only totals are known, the direct beneficiaries' counts: not both",
            field="direct_beneficiaries",
            rule="participants_or_counts",
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
        super().__init__(f"activity {activity_id} is not known to engagement", field="activity_id", rule="known_activity")


class ActivityAlreadyWithdrawnError(ConflictError):
    def __init__(self, withdrawn_on: date) -> None:
        super().__init__(
            f"this activity was already withdrawn on {withdrawn_on.isoformat()}",
            field="reason",
            rule="withdraw_once",
        )


@dataclass(frozen=True)
class BeneficiaryGroup:
    """Direct beneficiaries of one nationality and sex."""

    nationality: str
    sex: Sex
    count: int


@dataclass(frozen=True)
class Participant:
    """One person at an activity, by a pseudonymous id: a member's id, or an id the front end keeps for a non-member.

    Never a name or a document number: the id only lets reporting count the
    person once however many activities they attend.
    """

    person_id: UUID
    nationality: str
    sex: Sex
    member: bool = False


@dataclass(frozen=True)
class ParticipantGiven:
    """A participant as a request names them: ``member_id``, or ``person_id`` with nationality and sex."""

    member_id: UUID | None = None
    person_id: UUID | None = None
    nationality: str | None = None
    sex: str | None = None


@dataclass(frozen=True)
class Output:
    """Something an activity left behind: a mural, a recovered public space…"""

    kind: OutputKind
    count: int


@dataclass(frozen=True)
class Withdrawal:
    withdrawn_on: date
    reason: str


def beneficiary_mistakes(groups: Sequence[BeneficiaryGroup | PartlyRead | None]) -> Iterator[RuleViolationError]:
    """Every mistake of the direct beneficiaries' rows, in order: a nationality that exists (422 ``iso_3166_alpha_2``),
    one or more people (422 ``at_least_1``), one row per nationality and sex (422 ``unique_nationality_and_sex``), then
    the rows' counts adding up to at most :data:`~shared.errors.MAX_COUNT` (422 ``at_most_max_count`` at
    ``direct_beneficiaries``). A row the API refused is judged on what was read of it
    (:func:`~shared.errors.field_of`): its nationality and sex, both read, still count for repeats; its count, read, for
    the sum when the row's own bounds take it."""
    seen: set[tuple[str, Sex]] = set()
    total = 0
    for index, group in enumerate(groups):
        given, sex, count = (field_of(group, name) for name in ("nationality", "sex", "count"))
        if isinstance(count, int) and 0 < count <= MAX_COUNT:  # a row's own count refused is said once, at the row
            total += count
        nationality = None
        if given is not None:
            try:
                nationality = nationality_of(given, f"direct_beneficiaries.{index}.nationality")
            except RuleViolationError as unknown:
                yield unknown
        if count is not None:
            yield from refused(check_at_least_one, count, f"direct_beneficiaries.{index}.count")
        if nationality is None or sex is None:
            continue
        if (nationality, sex) in seen:
            yield RepeatedBeneficiaryGroupError(index, nationality, sex)
        seen.add((nationality, sex))
    if total > MAX_COUNT:
        yield TooManyReachedError(total)


def checked_beneficiaries(groups: Sequence[BeneficiaryGroup]) -> list[BeneficiaryGroup]:
    """The groups with their nationality normalised, once none has a mistake (the first of :func:`beneficiary_mistakes`, raised)."""
    raise_first(beneficiary_mistakes(groups))
    return [BeneficiaryGroup(nationality_of(g.nationality), Sex(g.sex), g.count) for g in groups]


def participant_mistakes(participants: Sequence[object]) -> Iterator[RuleViolationError]:
    """Each participant listed twice by the same id, ``member_id`` or ``person_id`` (422 ``unique_participant``), in
    order; a row read in part (:func:`~shared.errors.field_of`) is judged on the ids read of it. Whether two member ids
    are one person is the application's to say (:func:`checked_participants` judges the persons)."""
    seen: set[tuple[str, object]] = set()
    for index, row in enumerate(participants):
        member_id, person_id = field_of(row, "member_id"), field_of(row, "person_id")
        given = ("member_id", member_id) if member_id is not None else ("person_id", person_id) if person_id is not None else None
        if given is None:
            continue
        if given in seen:
            yield RepeatedParticipantError(index, given[1], member=given[0] == "member_id")  # type: ignore[arg-type]
        seen.add(given)


def checked_participants(participants: Sequence[Participant]) -> list[Participant]:
    """Each person once, with a nationality that exists."""
    checked: list[Participant] = []
    seen: set[UUID] = set()
    for index, person in enumerate(participants):
        if person.person_id in seen:
            raise RepeatedParticipantError(index, person.person_id, member=person.member)
        seen.add(person.person_id)
        nationality = nationality_of(person.nationality, f"participants.{index}.nationality")
        checked.append(Participant(person.person_id, nationality, Sex(person.sex), person.member))
    return checked


def check_one_way_of_counting(participants: Sequence[object], direct_beneficiaries: Sequence[object]) -> None:
    """The people reached are listed or counted, not both: 422 ``participants_or_counts`` on ``direct_beneficiaries``."""
    if participants and direct_beneficiaries:
        raise ParticipantsAndCountsError


def counted_from(participants: Sequence[Participant]) -> list[BeneficiaryGroup]:
    """The participants as direct beneficiaries' counts: one row per nationality and sex."""
    counts: dict[tuple[str, Sex], int] = {}
    for person in participants:
        counts[(person.nationality, person.sex)] = counts.get((person.nationality, person.sex), 0) + 1
    return [BeneficiaryGroup(n, s, c) for (n, s), c in sorted(counts.items())]


def output_mistakes(outputs: Sequence[Output | PartlyRead | None]) -> Iterator[RuleViolationError]:
    """Every mistake of an activity's outputs, in order: one or more of each (422 ``at_least_1``), one row per kind (422
    ``unique_output_kind``). A row the API refused is judged on what was read of it (:func:`~shared.errors.field_of`):
    its kind, read, still counts for repeats."""
    seen: set[OutputKind] = set()
    for index, output in enumerate(outputs):
        kind, count = field_of(output, "kind"), field_of(output, "count")
        if count is not None:
            yield from refused(check_at_least_one, count, f"outputs.{index}.count")
        if kind is None:
            continue
        if kind in seen:
            yield RepeatedOutputError(index, kind)
        seen.add(kind)


def check_outputs(outputs: Sequence[Output]) -> None:
    """The first of :func:`output_mistakes`, raised."""
    raise_first(output_mistakes(outputs))


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
        participants: Sequence[Participant] = (),
        mapped_on: date | None = None,
        distinct_from: Sequence[UUID] = (),
    ) -> Activity:
        """Check the report, then record it. ``grant_osv_id`` is the OSV the grant was made to.

        With ``participants`` (each person once) the direct beneficiaries' counts
        are theirs; without, the counts given are an aggregate: reporting cannot
        tell whether those people were counted at another activity. An activity
        the programme counts is held once the programme knows the OSV: not
        before ``mapped_on``. ``distinct_from``: the OSV's activities it looks like that staff said it is not
        (:func:`~services.engagement.domain.repeats.check_activity_not_reported`, read before), kept with it.
        """
        check_not_in_future(held_on, today, "held_on")
        check_not_before("held_on", held_on, "mapped_on", mapped_on)
        persons = checked_participants(participants)
        check_one_way_of_counting(persons, direct_beneficiaries)
        groups = counted_from(persons) if persons else checked_beneficiaries(direct_beneficiaries)
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
            participants=[{"person_id": p.person_id, "nationality": p.nationality, "sex": str(p.sex), "member": p.member} for p in persons],
            distinct_from=list(dict.fromkeys(distinct_from)),
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
        participants: list[dict[str, Any]] | None = None,
        distinct_from: list[UUID] | None = None,
    ) -> None:
        """``distinct_from``: None in an ``ActivityReported`` stored before it was kept."""
        self.osv_id = osv_id
        self.participants = [Participant(UUID(str(p["person_id"])), p["nationality"], Sex(p["sex"]), bool(p.get("member"))) for p in participants or []]
        """Each person once, by a pseudonymous id; empty when only counts were given (an aggregate report)."""
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
        self.distinct_from = tuple(distinct_from or ())
        """The OSV's activities of the same day, kind and district that staff said this one is not."""

    @property
    def direct_beneficiary_total(self) -> int:
        return sum(g.count for g in self.direct_beneficiaries)

    @property
    def aggregate(self) -> bool:
        """Only counts were given: its people cannot be told apart from those of other activities."""
        return not self.participants and self.direct_beneficiary_total > 0

    def withdraw(self, reason: str, *, today: date) -> None:
        """Take back an activity reported by mistake; it stays in the history, marked withdrawn."""
        if self.withdrawal is not None:
            raise ActivityAlreadyWithdrawnError(self.withdrawal.withdrawn_on)
        self._withdrawn(osv_id=self.osv_id, held_on=self.held_on, withdrawn_on=today, reason=reason)

    @event("ActivityWithdrawn")
    def _withdrawn(self, osv_id: UUID, held_on: date, withdrawn_on: date, reason: str) -> None:
        self.withdrawal = Withdrawal(withdrawn_on, reason)

    def redact_text(self) -> bool:
        """Record that the activity's description and its withdrawal's reason are forgotten (``ActivityTextRedacted``,
        private, no text); whether it did. They read ``[redacted]`` from then on, whether sealed or stored in clear
        (before engagement sealed them, where deleting their key forgets nothing); the activity and its facts stay.

        An activity whose words are forgotten already (by this record, or by their key alone before it was kept) or that
        holds none records nothing: a retry finds it done. A reason written after a redaction is sealed under a new key,
        so it is words again, and a second redaction records again. Taken from a withdrawn activity too.
        """
        reason = self.withdrawal.reason if self.withdrawal is not None else None
        if all(text is None or text == REDACTED_TEXT for text in (self.description, reason)):
            return False
        self._text_redacted()
        return True

    @event("ActivityTextRedacted")
    def _text_redacted(self) -> None:
        if self.description is not None:
            self.description = REDACTED_TEXT
        if self.withdrawal is not None:
            self.withdrawal = replace(self.withdrawal, reason=REDACTED_TEXT)


class OSVActivities(Aggregate):
    """Index of the activities one OSV reported, so they are listed without reading every activity.

    Bookkeeping only: its events never leave the service.
    """

    FLAT_COPIED = ("activity_ids",)
    """Hold only values that never change: copied for a command as they are (:func:`shared.kept.copy_kept`)."""

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
    def add(self, activity_id: UUID, held_on: date | None = None) -> None:
        """``held_on``: None in an ``ActivityIndexed`` stored before the index kept it."""
        self.activity_ids.append(activity_id)
        if held_on is not None:
            self._days()[str(activity_id)] = held_on

    def _days(self) -> dict[str, date]:
        """Each activity's ``held_on`` (by its id as text), as indexed; none in a snapshot taken before the index kept them."""
        return vars(self).setdefault("held_on_of", {})

    def held_on_or_unknown(self, day: date) -> list[UUID]:
        """The activities indexed as held on ``day``, and those indexed before the index kept their day: the only ones a
        new activity of that day may repeat (:func:`~services.engagement.domain.repeats.check_activity_not_reported`),
        read without reading the OSV's every activity."""
        days = self._days()
        return [a for a in self.activity_ids if days.get(str(a), day) == day]
