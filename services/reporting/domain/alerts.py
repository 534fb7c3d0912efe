"""Follow-up alerts, projected from reporting's facts. Pure: no I/O, today is given.

Five things programme staff act on, each a lesson of the practice:

- OSVs nobody from the programme has met for too long (default 45 days),
  counted from the last ``FollowUpMeetingHeld`` not withdrawn since
  (``FollowUpMeetingWithdrawn``: recorded by mistake), or from the day the OSV
  was mapped when it was never met. A dissolved OSV needs no meeting.
- RUOS boards whose term ends soon or has ended: a board out of term cannot
  act for its OSV, and municipalities observe applications signed by one. The
  term is ``board_term_ends_on`` of ``RUOSRegistered`` (or of the latest
  ``RUOSRegistrationCorrected``, the registration typed wrong) until a
  ``BoardRenewed`` replaces it. Each names the RUOS that holds the
  registration, whose focal point alone records the renewal (registry's 403
  ``own_municipality_ruos``): it is that focal point's alert
  (:func:`board_terms`' ``ruos``), not every focal point's who reads the OSV.
- Municipalities with no current focal point: officials rotate, and a
  municipality without one stalls every RUOS application filed there.
- Facts recorded after an OSV's dissolution: funding and engagement refuse a
  grant, a tranche, a membership, a meeting… dated after ``dissolved_on``
  (409 ``osv_not_dissolved``), but they know of a dissolution from their
  copy of registry, which lags it (and the dissolution may be recorded
  late, back-dated). What they took meanwhile stays recorded: an event
  store has no undo, so it is shown here until someone follows it up, or
  until the one fact that takes another back (an activity withdrawn,
  :data:`UNDOING`) takes it back.
- Facts recorded on an OSV record after it was merged into another: a record
  merged away takes no new grant, proposal, membership, meeting… whatever its
  date (409 ``osv_not_merged``, naming the OSV to record it on), but funding
  and engagement know of a merge from their copy of registry too. What they
  took meanwhile is shown under the OSV that stays, for someone to record
  it there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal, TypeVar

from services.reporting.domain.indicators import Fact, mappings
from shared.districts import UnknownDistrictError
from shared.municipalities import MunicipalityReference, MunicipalityTable, UnknownMunicipalityError
from shared.roles import ALL_LIMA, MunicipalScope

OVERDUE_AFTER_DAYS = 45
TERM_ENDS_WITHIN_DAYS = 60


@dataclass(frozen=True)
class OverdueMeeting:
    osv_id: str
    name: str
    district: str
    zone: str
    last_met_on: date | None
    counted_from: date
    days_without_meeting: int


@dataclass(frozen=True)
class BoardTermAlert:
    """A registered OSV's board whose term ended or ends soon; ``municipality_id`` and ``municipality_name`` the
    municipality whose RUOS holds the registration (:func:`ruos_of`), None when it cannot be told."""

    osv_id: str
    name: str
    ruos_number: str
    term_ends_on: date
    days_left: int
    status: Literal["ended", "expiring"]
    municipality_id: str | None
    municipality_name: str | None


@dataclass(frozen=True)
class MissingFocalPoint:
    municipality_id: str
    name: str
    zone: str | None
    last_left_on: date | None


@dataclass(frozen=True)
class RecordedAfterDissolution:
    """A fact dated after the dissolution of its OSV; ``osv_id``, ``name`` and ``district`` are the dissolved OSV's.

    ``merged_osv_id`` is the record the fact names when that is a second
    record merged into the dissolved OSV, ``merged_name`` its name as mapped
    (both None when it names the OSV itself).
    ``amount`` (a decimal string, in ``currency``: PEN or USD) is the money
    the fact names, None for a fact that names none.
    """

    osv_id: str
    name: str
    district: str
    dissolved_on: date
    type: str
    date_field: str
    dated_on: date
    amount: str | None
    currency: str | None
    event_id: str
    merged_osv_id: str | None
    merged_name: str | None = None


@dataclass(frozen=True)
class RecordedAfterMerge:
    """A fact recorded on an OSV record after registry recorded its merge into another (:func:`recorded_after_merge`).

    ``osv_id``, ``name`` and ``district`` are the OSV that stays (merges
    followed to the last); ``merged_osv_id`` and ``merged_name`` the record
    the fact names, merged away on ``merged_on`` (registry's ``OSVMerged``,
    recorded at ``merge_recorded_at``), before the fact was recorded at
    ``recorded_at``. ``amount`` and ``currency``: as :class:`RecordedAfterDissolution`'s.
    """

    osv_id: str
    name: str
    district: str
    merged_osv_id: str
    merged_name: str | None
    merged_on: date
    merge_recorded_at: datetime
    type: str
    date_field: str
    dated_on: date
    recorded_at: datetime
    amount: str | None
    currency: str | None
    event_id: str


@dataclass(frozen=True)
class Alerts:
    today: date
    overdue_after_days: int
    within_days: int
    overdue_meetings: list[OverdueMeeting]
    board_terms: list[BoardTermAlert]
    municipalities_without_focal_point: list[MissingFocalPoint]
    recorded_after_dissolution: list[RecordedAfterDissolution]
    recorded_after_merge: list[RecordedAfterMerge]


def _day(fact: Fact, field_name: str) -> date:
    """The day a fact's data names, falling back to the day it happened."""
    value = fact.data.get(field_name)
    return date.fromisoformat(str(value)) if value else fact.occurred_on


def _in_order(facts: Iterable[Fact], *types: str) -> list[Fact]:
    """Facts of these types by the day they happened; the read model's order breaks ties."""
    return sorted((f for f in facts if f.type in types), key=lambda f: f.occurred_on)


def _dissolved(facts: Sequence[Fact]) -> set[str]:
    """OSVs gone: dissolved, or merged into another (the alerts speak of the OSV it was merged into)."""
    return {str(f.data["osv_id"]) for f in facts if f.type in ("OSVDissolved", "OSVMerged")}


def overdue_meetings(facts: Sequence[Fact], today: date, after_days: int = OVERDUE_AFTER_DAYS) -> list[OverdueMeeting]:
    """OSVs not met for more than ``after_days``, longest first; dissolved and merged-away OSVs left out."""
    mapped = mappings(facts)
    last_met: dict[str, date] = {}
    undone = taken_back(f for f in facts if f.type == "FollowUpMeetingWithdrawn")
    for meeting in _in_order(facts, "FollowUpMeetingHeld"):
        if is_taken_back(meeting, undone):
            continue
        osv_id, held_on = str(meeting.data["osv_id"]), _day(meeting, "held_on")
        last_met[osv_id] = max(held_on, last_met.get(osv_id, held_on))
    gone = _dissolved(facts)
    overdue = []
    for osv_id, osv in mapped.items():
        if osv_id in gone:
            continue
        counted_from = last_met.get(osv_id) or _day(osv, "mapped_on")
        days = (today - counted_from).days
        if days > after_days:
            overdue.append(
                OverdueMeeting(
                    osv_id=osv_id,
                    name=str(osv.data.get("name", "")),
                    district=str(osv.data.get("district", "")),
                    zone=str(osv.data.get("zone", "")),
                    last_met_on=last_met.get(osv_id),
                    counted_from=counted_from,
                    days_without_meeting=days,
                )
            )
    return sorted(overdue, key=lambda o: (-o.days_without_meeting, o.name))


def ruos_of(registered: Fact, district: str | None, table: MunicipalityTable) -> MunicipalityReference | None:
    """The municipality whose RUOS holds the registration ``registered`` (a ``RUOSRegistered``) of an OSV of ``district``
    (its ``OSVMapped``'s), as registry reads it (``Registry._ruos_registered_in``): the one it names, `mml` or the
    district's ubigeo; for a registration recorded directly before registrations named their municipality
    (``municipality_id`` null), the district's. None when that cannot be told: a district ``table`` lacks (registry's
    districts file may be longer than reporting's), whose ubigeo reporting does not know."""
    named = registered.data.get("municipality_id")
    if named:
        try:
            return table.find(str(named))
        except UnknownMunicipalityError:  # a district's ubigeo the table lacks: named by its id
            return MunicipalityReference(str(named), str(named), None)
    try:
        return table.of_district(district) if district else None
    except UnknownDistrictError:
        return None


def board_terms(
    facts: Sequence[Fact],
    today: date,
    within_days: int = TERM_ENDS_WITHIN_DAYS,
    table: MunicipalityTable | None = None,
    ruos: MunicipalScope = ALL_LIMA,
) -> list[BoardTermAlert]:
    """Registered OSVs whose board's term ended or ends within ``within_days``, soonest first, each naming the RUOS that
    holds the registration (:func:`ruos_of`, by ``table``: Lima's shipped one when None).

    ``ruos``: the municipalities whose RUOS's alerts are listed, those whose focal point records the renewal (a
    district's focal point its own, the MML's the MML's: registry's 403 ``own_municipality_ruos`` to the other); all of
    Lima for programme staff and auditors. One whose RUOS cannot be told is listed to all of Lima's readers alone."""
    table = table or MunicipalityTable.of_lima()
    mapped = mappings(facts)
    registrations: dict[str, Fact] = {}
    term_ends: dict[str, date] = {}
    renewed: set[str] = set()
    for fact in _in_order(facts, "RUOSRegistered", "RUOSRegistrationCorrected", "BoardRenewed"):
        osv_id = str(fact.data["osv_id"])
        if fact.type == "BoardRenewed":
            renewed.add(osv_id)
            term_ends[osv_id] = date.fromisoformat(str(fact.data["term_ends_on"]))
            continue
        registrations[osv_id] = fact  # a correction: the registration as it reads from then on
        if osv_id in renewed:  # the renewal's term is the one in force
            continue
        ends = fact.data.get("board_term_ends_on")
        if ends:
            term_ends[osv_id] = date.fromisoformat(str(ends))
        else:  # a correction cleared a term typed where the resolution gave none
            term_ends.pop(osv_id, None)
    gone = _dissolved(facts)
    alerts = []
    for osv_id, ends_on in term_ends.items():
        days_left = (ends_on - today).days
        if osv_id in gone or osv_id not in registrations or days_left > within_days:
            continue
        osv = mapped.get(osv_id)
        municipality = ruos_of(registrations[osv_id], str(osv.data.get("district") or "") if osv else None, table)
        if not ruos.covers(municipality.id if municipality else None):
            continue
        alerts.append(
            BoardTermAlert(
                osv_id=osv_id,
                name=str(osv.data.get("name", "")) if osv else "",
                ruos_number=str(registrations[osv_id].data.get("ruos_number", "")),
                term_ends_on=ends_on,
                days_left=days_left,
                status="ended" if days_left < 0 else "expiring",
                municipality_id=municipality.id if municipality else None,
                municipality_name=municipality.name if municipality else None,
            )
        )
    return sorted(alerts, key=lambda a: (a.term_ends_on, a.name))


def municipalities_without_focal_point(facts: Sequence[Fact], municipalities: Sequence[MunicipalityReference]) -> list[MissingFocalPoint]:
    """Municipalities where every focal point assigned has left, or none was ever assigned."""
    current: dict[str, set[str]] = {}
    last_left: dict[str, date] = {}
    for fact in _in_order(facts, "FocalPointAssigned", "FocalPointLeft"):
        municipality_id, post = str(fact.data["municipality_id"]), str(fact.data["focal_point_id"])
        posts = current.setdefault(municipality_id, set())
        if fact.type == "FocalPointAssigned":
            posts.add(post)
        else:
            posts.discard(post)
            last_left[municipality_id] = _day(fact, "left_on")
    return [
        MissingFocalPoint(m.id, m.name, m.zone, last_left.get(m.id))
        for m in municipalities
        if not current.get(m.id)
    ]


DATED_AFTER_DISSOLUTION: dict[str, str] = {
    # funding
    "FundGranted": "granted_on",  # a grant, made directly or from a proposal
    "ProposalSubmitted": "submitted_on",
    "ProposalScored": "scored_on",  # an evaluator's scores: refused as the approval they lead to is
    "ProposalApproved": "approved_on",
    "DisbursementMade": "disbursed_on",  # a seed fund's tranche
    "GoodsDelivered": "delivered_on",
    "ParticipatoryBudgetSubmitted": "submitted_on",
    # engagement
    "MemberJoined": "joined_on",
    "MemberJoiningDateCorrected": "joined_on",  # the corrected day: engagement refuses one after the dissolution too
    "MemberRoleChanged": "changed_on",
    "ParticipantEnrolled": "enrolled_on",
    "FollowUpMeetingHeld": "held_on",
    "TechnicalAssistanceGiven": "given_on",
    "ActivityReported": "held_on",
    "NeedsAssessed": "assessed_on",
}
"""The facts funding and engagement refuse about an OSV when dated after its ``dissolved_on`` (409
``osv_not_dissolved``), each with the field that dates it (the event's ``occurred_on``; a joining-date correction's
is the day it records, ``joined_on``, not the day it was made). Registry's own
records are left out: registry judges them against the dissolution it holds, with no copy to lag."""

AMOUNT_FIELDS: dict[str, str] = {
    "FundGranted": "amount",
    "ProposalSubmitted": "requested_amount",
    "ProposalApproved": "amount",
    "DisbursementMade": "amount",
    "GoodsDelivered": "total_value",
    "ParticipatoryBudgetSubmitted": "amount_requested",
}
"""The money each fact of :data:`DATED_AFTER_DISSOLUTION` names, beside its ``currency``: granted, requested, approved,
paid, or the value of goods handed over."""

GONE_TYPES = ("OSVDissolved", "OSVMerged")

UNDOING: dict[str, tuple[str, str]] = {
    "ActivityWithdrawn": ("ActivityReported", "activity_id"),
    "GrantWithdrawn": ("FundGranted", "grant_id"),
    "FollowUpMeetingWithdrawn": ("FollowUpMeetingHeld", "meeting_id"),
    "TechnicalAssistanceWithdrawn": ("TechnicalAssistanceGiven", "assistance_id"),
    "NeedsAssessmentWithdrawn": ("NeedsAssessed", "assessment_id"),
}
"""The facts that take back a fact of :data:`DATED_AFTER_DISSOLUTION`, each with the type it takes back and the id both
carry: an activity reported by mistake is withdrawn (engagement's ``ActivityWithdrawn``), a grant entered in error
(funding's ``GrantWithdrawn``), a follow-up meeting, technical assistance or a needs assessment recorded by mistake
(engagement's ``FollowUpMeetingWithdrawn``, ``TechnicalAssistanceWithdrawn``, ``NeedsAssessmentWithdrawn``, whose
subject is the OSV's follow-up or needs record, as the record's is), and count no more. The only undos the services publish:
funding reverses no tranche nor delivery (it closes a grant, rejects a proposal: what winds down, not what takes back),
engagement corrects no enrolment nor membership (a participant withdraws, a member leaves: facts of their own), and registry takes
back no dissolution and no merge."""


SUPERSEDED_BY: dict[str, tuple[str, frozenset[str], str]] = {
    "MemberJoiningDateCorrected": ("membership_id", frozenset({"MemberJoined", "MemberJoiningDateCorrected"}), "member_id"),
}
"""The facts that supersede earlier facts naming the same id (the first field), with the types they supersede and the
field their subject is: a joining date corrected dates the membership anew, so neither the joining nor an earlier
correction of it says when it began (the correction is judged by its own ``joined_on``)."""


def superseded(facts: Iterable[Fact]) -> set[str]:
    """The event ids of those among ``facts`` that a later one of :data:`SUPERSEDED_BY` supersedes."""
    facts = list(facts)
    latest: dict[tuple[str, str], tuple[Any, ...]] = {}
    for fact in facts:
        if fact.type in SUPERSEDED_BY:
            key = (fact.type, str(fact.data.get(SUPERSEDED_BY[fact.type][0])))  # the id it supersedes facts of
            latest[key] = max(latest.get(key, fact.order), fact.order)
    return {
        fact.event_id for fact in facts for kind, (field_name, replaced, _) in SUPERSEDED_BY.items()
        if fact.type in replaced and (later := latest.get((kind, str(fact.data.get(field_name))))) is not None and later > fact.order
    }


def taken_back(facts: Iterable[Fact]) -> set[tuple[str, str]]:
    """The facts a fact of :data:`UNDOING` among these takes back, as (type, id) pairs: ``("ActivityReported", activity_id)``."""
    undone: set[tuple[str, str]] = set()
    for fact in facts:
        if fact.type in UNDOING:
            undone_type, field_name = UNDOING[fact.type]
            if fact.data.get(field_name):
                undone.add((undone_type, str(fact.data[field_name])))
    return undone


def is_taken_back(fact: Fact, undone: set[tuple[str, str]]) -> bool:
    """Whether ``fact`` is among ``undone`` (:func:`taken_back`)."""
    return any(fact.type == undone_type and (undone_type, str(fact.data.get(field_name))) in undone for undone_type, field_name in UNDOING.values())


def dissolutions(facts: Iterable[Fact]) -> dict[str, tuple[str, date]]:
    """Each OSV record a dissolution judges, with the dissolved OSV and its ``dissolved_on``.

    The dissolved OSV itself, and every record merged into it (merges followed
    to the last, as they chain): a second record of the same organisation
    takes nothing dated after the organisation dissolved, as funding and
    engagement judge a tranche or an enrolment on it. Should a chain meet two
    dissolutions, the earlier one judges.
    """
    dissolved: dict[str, date] = {}
    into: dict[str, str] = {}
    for fact in facts:
        if fact.type == "OSVDissolved":
            osv_id, day = str(fact.data["osv_id"]), _day(fact, "dissolved_on")
            dissolved[osv_id] = min(day, dissolved.get(osv_id, day))
        elif fact.type == "OSVMerged" and fact.data.get("into_osv_id"):
            into[str(fact.data["osv_id"])] = str(fact.data["into_osv_id"])
    judged: dict[str, tuple[str, date]] = {}
    for record in dissolved.keys() | into.keys():
        seen: set[str] = set()
        current: str | None = record
        while current is not None and current not in seen:  # a merge never loops; the set makes sure
            seen.add(current)
            if current in dissolved and (record not in judged or dissolved[current] < judged[record][1]):
                judged[record] = (current, dissolved[current])
            current = into.get(current)
    return judged


def dated_after_dissolution(facts: Sequence[Fact], judged: Mapping[str, tuple[str, date]] | None = None) -> list[Fact]:
    """The facts of :data:`DATED_AFTER_DISSOLUTION` dated after the dissolution that judges their OSV (see
    :func:`dissolutions`, of the facts given unless ``judged`` is its answer already), each once, in the order given;
    the day of the dissolution itself is still the OSV's."""
    if judged is None:
        judged = dissolutions(f for f in facts if f.type in GONE_TYPES)
    seen: set[str] = set()
    late = []
    for fact in facts:
        field_name = DATED_AFTER_DISSOLUTION.get(fact.type)
        if field_name is None or fact.event_id in seen:
            continue
        dissolution = judged.get(str(fact.data.get("osv_id")))
        if dissolution is not None and _day(fact, field_name) > dissolution[1]:
            seen.add(fact.event_id)
            late.append(fact)
    return late


def _late_fact(fact: Fact, osv_id: str, mapped: Mapping[str, Fact]) -> dict[str, Any]:
    """What both late-fact alerts say of ``fact``: the OSV it is listed under (``osv_id``, by its ``OSVMapped``), the
    fact's type, date and money, and its event id."""
    osv = mapped.get(osv_id)
    field_name = DATED_AFTER_DISSOLUTION[fact.type]
    amount = fact.data.get(AMOUNT_FIELDS.get(fact.type, ""))
    return {
        "osv_id": osv_id,
        "name": str(osv.data.get("name", "")) if osv else "",
        "district": str(osv.data.get("district", "")) if osv else "",
        "type": fact.type,
        "date_field": field_name,
        "dated_on": _day(fact, field_name),
        "amount": None if amount is None else str(amount),
        "currency": None if amount is None else str(fact.data.get("currency") or "") or None,
        "event_id": fact.event_id,
    }


LateAlert = TypeVar("LateAlert", RecordedAfterDissolution, RecordedAfterMerge)


def _by_name_then_date(found: list[tuple[tuple[datetime, str, int, str], LateAlert]]) -> list[LateAlert]:
    """The late-fact alerts by their OSV's name, then their date, then the recorded order of their facts (each found with
    its fact's :attr:`~.indicators.Fact.order`): the same list whatever order the facts were read in (the alert facts
    list each OSV's last meeting before the other late facts, every fact lists them in recorded order: tester 170 F1)."""
    return [alert for _, alert in sorted(found, key=lambda pair: (pair[1].name, pair[1].dated_on, pair[0]))]


def recorded_after_dissolution(facts: Sequence[Fact]) -> list[RecordedAfterDissolution]:
    """Every fact dated after its OSV's dissolution (see :func:`dated_after_dissolution`) and not taken back since (an
    activity withdrawn, :data:`UNDOING`) nor superseded (a joining whose date was corrected since, :data:`SUPERSEDED_BY`),
    by the OSV's name, then date."""
    mapped = mappings(facts)
    judged = dissolutions(f for f in facts if f.type in GONE_TYPES)
    undone, replaced = taken_back(facts), superseded(facts)
    found = []
    for fact in dated_after_dissolution(facts, judged):
        if is_taken_back(fact, undone) or fact.event_id in replaced:
            continue
        record = str(fact.data["osv_id"])
        osv_id, dissolved_on = judged[record]
        found.append((fact.order, RecordedAfterDissolution(
            **_late_fact(fact, osv_id, mapped),
            dissolved_on=dissolved_on,
            merged_osv_id=None if record == osv_id else record,
            merged_name=None if record == osv_id or record not in mapped else str(mapped[record].data.get("name") or "") or None,
        )))
    return _by_name_then_date(found)


REFUSED_ON_A_MERGED_RECORD: tuple[str, ...] = (
    "FundGranted",  # a grant made directly or from a proposal: both ask for the OSV active
    "ProposalSubmitted",
    "ParticipatoryBudgetSubmitted",
    "MemberJoined",
    "FollowUpMeetingHeld",
    "TechnicalAssistanceGiven",
    "ActivityReported",
    "NeedsAssessed",
)
"""The facts funding and engagement refuse about a record merged into another, whatever their date (409
``osv_not_merged``: recorded on the OSV that stays). What goes on about what the record already holds is taken after its
merge, as before it: a tranche, goods, a proposal's scoring and approval, a member's role change, an enrolment. Each is
dated by its field of :data:`DATED_AFTER_DISSOLUTION`."""


def merges(facts: Iterable[Fact]) -> dict[str, Fact]:
    """Each record merged into another, with its ``OSVMerged`` (the first recorded, should there be two)."""
    found: dict[str, Fact] = {}
    for fact in facts:
        if fact.type == "OSVMerged" and fact.data.get("into_osv_id"):
            record = str(fact.data["osv_id"])
            if record not in found or fact.order < found[record].order:
                found[record] = fact
    return found


def survivor(record: str, merged: Mapping[str, Fact]) -> str:
    """The OSV a merged record's organisation lives on in: its merge, followed to the last (merges chain)."""
    seen = {record}
    current = record
    while current in merged:
        following = str(merged[current].data["into_osv_id"])
        if following in seen:  # a merge never loops; the set makes sure
            break
        seen.add(following)
        current = following
    return current


def dated_after_merge(facts: Sequence[Fact], merged: Mapping[str, Fact] | None = None) -> list[Fact]:
    """The facts of :data:`REFUSED_ON_A_MERGED_RECORD` recorded on a record after its merge was (:func:`merges`, of the
    facts given unless ``merged`` is its answer already), each once, in the order given.

    Judged by recorded times, each service's clock: the merge refuses every
    later record, whatever its date, so a backlog typed in after it is the
    race's residue too, and one recorded before it is not.
    """
    if merged is None:
        merged = merges(f for f in facts if f.type == "OSVMerged")
    seen: set[str] = set()
    late = []
    for fact in facts:
        if fact.type not in REFUSED_ON_A_MERGED_RECORD or fact.event_id in seen:
            continue
        merge = merged.get(str(fact.data.get("osv_id")))
        if merge is not None and fact.recorded_at > merge.recorded_at:
            seen.add(fact.event_id)
            late.append(fact)
    return late


def recorded_after_merge(facts: Sequence[Fact]) -> list[RecordedAfterMerge]:
    """Every fact recorded on a record after its merge (:func:`dated_after_merge`), not taken back since (:data:`UNDOING`),
    by the name of the OSV that stays, then the fact's date.

    A fact also dated after the dissolution that judges it is left to
    :func:`recorded_after_dissolution`, which names the merged record too: one
    record, one alert.
    """
    mapped = mappings(facts)
    merged = merges(f for f in facts if f.type == "OSVMerged")
    if not merged:
        return []
    after_dissolution = {f.event_id for f in dated_after_dissolution(facts)}
    undone = taken_back(facts)
    found = []
    for fact in dated_after_merge(facts, merged):
        if fact.event_id in after_dissolution or is_taken_back(fact, undone):
            continue
        record = str(fact.data["osv_id"])
        merge, osv_id = merged[record], survivor(record, merged)
        found.append((fact.order, RecordedAfterMerge(
            **_late_fact(fact, osv_id, mapped),
            merged_osv_id=record,
            merged_name=(str(mapped[record].data.get("name") or "") or None) if record in mapped else None,
            merged_on=_day(merge, "merged_on"),
            merge_recorded_at=merge.recorded_at,
            recorded_at=fact.recorded_at,
        )))
    return _by_name_then_date(found)


ALERT_TYPES = frozenset(
    {"OSVMapped", "OSVNameCorrected", "OSVMappingDateCorrected", "OSVDissolved", "OSVMerged", "FollowUpMeetingHeld", "RUOSRegistered", "BoardRenewed",
     "RUOSRegistrationCorrected", "FocalPointAssigned", "FocalPointLeft", "FollowUpMeetingWithdrawn"}
)
"""The facts the alerts read of every OSV and municipality. Beside these, they need only the facts
:func:`dated_after_dissolution` and :func:`dated_after_merge` pick, and the facts of :data:`UNDOING` that take one of
those back: the dashboard asks the read model for these and those alone, never for every grant or membership."""


def only_in(facts: Iterable[Fact], districts: frozenset[str], municipality_ids: frozenset[str]) -> list[Fact]:
    """The facts about OSVs mapped in ``districts`` and about the municipalities ``municipality_ids``: a focal point's alerts.

    A record merged into another is the OSV's it was merged into (merges followed to the last), whatever district it
    was mapped in (a duplicate entered under a neighbouring district is the usual cross-district merge): its facts, its
    merge among them, come with that OSV's, and not with its own district's, as reporting counts the organisation.
    """
    facts = list(facts)
    district_of = {str(f.data.get("osv_id")): f.data.get("district") for f in facts if f.type == "OSVMapped"}
    merged = merges(f for f in facts if f.type == "OSVMerged")
    osvs: set[str] = set()
    for record in district_of.keys() | merged.keys():
        last = survivor(record, merged)
        if district_of.get(last, district_of.get(record)) in districts:
            osvs.add(record)
    return [
        f for f in facts if (str(f.data["osv_id"]) in osvs if "osv_id" in f.data else str(f.data.get("municipality_id")) in municipality_ids)
    ]


def alerts(
    facts: Sequence[Fact],
    today: date,
    municipalities: Sequence[MunicipalityReference],
    overdue_after_days: int = OVERDUE_AFTER_DAYS,
    within_days: int = TERM_ENDS_WITHIN_DAYS,
    table: MunicipalityTable | None = None,
    ruos: MunicipalScope = ALL_LIMA,
) -> Alerts:
    """Every follow-up alert as of ``today``; the board terms of the RUOS ``ruos`` covers alone (:func:`board_terms`)."""
    return Alerts(
        today=today,
        overdue_after_days=overdue_after_days,
        within_days=within_days,
        overdue_meetings=overdue_meetings(facts, today, overdue_after_days),
        board_terms=board_terms(facts, today, within_days, table, ruos),
        municipalities_without_focal_point=municipalities_without_focal_point(facts, municipalities),
        recorded_after_dissolution=recorded_after_dissolution(facts),
        recorded_after_merge=recorded_after_merge(facts),
    )


DELIBERATION: tuple[str, ...] = ("ProposalSubmitted", "ProposalScored")
"""Funding's deliberation, what a proposal asks and each evaluator's scores: the programme's, which no partner receives
and no focal point reads over HTTP (tester 177 F2). Listed after a dissolution or a merge to those who read proposals
(staff, leads, auditors) alone: :func:`without_deliberation`."""


def without_deliberation(found: Alerts) -> Alerts:
    """``found`` without the items of :data:`DELIBERATION`: the alerts a caller who reads no proposal (a focal point) gets."""
    return replace(
        found,
        recorded_after_dissolution=[item for item in found.recorded_after_dissolution if item.type not in DELIBERATION],
        recorded_after_merge=[item for item in found.recorded_after_merge if item.type not in DELIBERATION],
    )
