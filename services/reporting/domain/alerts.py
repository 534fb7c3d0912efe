"""Follow-up alerts, projected from reporting's facts. Pure: no I/O, today is given.

Three things programme staff act on, each a lesson of the practice:

- OSVs nobody from the programme has met for too long (default 45 days),
  counted from the last ``FollowUpMeetingHeld``, or from the day the OSV was
  mapped when it was never met. A dissolved OSV needs no meeting.
- RUOS boards whose term ends soon or has ended: a board out of term cannot
  act for its OSV, and municipalities observe applications signed by one. The
  term is ``board_term_ends_on`` of ``RUOSRegistered`` until a
  ``BoardRenewed`` replaces it.
- Municipalities with no current focal point: officials rotate, and a
  municipality without one stalls every RUOS application filed there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from services.reporting.domain.indicators import Fact
from shared.municipalities import MunicipalityReference

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
    osv_id: str
    name: str
    ruos_number: str
    term_ends_on: date
    days_left: int
    status: Literal["ended", "expiring"]


@dataclass(frozen=True)
class MissingFocalPoint:
    municipality_id: str
    name: str
    zone: str | None
    last_left_on: date | None


@dataclass(frozen=True)
class Alerts:
    today: date
    overdue_after_days: int
    within_days: int
    overdue_meetings: list[OverdueMeeting]
    board_terms: list[BoardTermAlert]
    municipalities_without_focal_point: list[MissingFocalPoint]


def _day(fact: Fact, field_name: str) -> date:
    """The day a fact's data names, falling back to the day it happened."""
    value = fact.data.get(field_name)
    return date.fromisoformat(str(value)) if value else fact.occurred_on


def _in_order(facts: Iterable[Fact], *types: str) -> list[Fact]:
    """Facts of these types by the day they happened; the read model's order breaks ties."""
    return sorted((f for f in facts if f.type in types), key=lambda f: f.occurred_on)


def _dissolved(facts: Sequence[Fact]) -> set[str]:
    return {str(f.data["osv_id"]) for f in facts if f.type == "OSVDissolved"}


def overdue_meetings(facts: Sequence[Fact], today: date, after_days: int = OVERDUE_AFTER_DAYS) -> list[OverdueMeeting]:
    """OSVs not met for more than ``after_days``, longest first; dissolved OSVs left out."""
    mapped = {str(f.data["osv_id"]): f for f in _in_order(facts, "OSVMapped")}
    last_met: dict[str, date] = {}
    for meeting in _in_order(facts, "FollowUpMeetingHeld"):
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


def board_terms(facts: Sequence[Fact], today: date, within_days: int = TERM_ENDS_WITHIN_DAYS) -> list[BoardTermAlert]:
    """Registered OSVs whose board's term ended or ends within ``within_days``, soonest first."""
    names = {str(f.data["osv_id"]): str(f.data.get("name", "")) for f in facts if f.type == "OSVMapped"}
    ruos_numbers: dict[str, str] = {}
    term_ends: dict[str, date] = {}
    for fact in _in_order(facts, "RUOSRegistered", "BoardRenewed"):
        osv_id = str(fact.data["osv_id"])
        if fact.type == "RUOSRegistered":
            ruos_numbers[osv_id] = str(fact.data.get("ruos_number", ""))
            ends = fact.data.get("board_term_ends_on")
        else:
            ends = fact.data.get("term_ends_on")
        if ends:
            term_ends[osv_id] = date.fromisoformat(str(ends))
    gone = _dissolved(facts)
    alerts = []
    for osv_id, ends_on in term_ends.items():
        days_left = (ends_on - today).days
        if osv_id in gone or osv_id not in ruos_numbers or days_left > within_days:
            continue
        alerts.append(
            BoardTermAlert(
                osv_id=osv_id,
                name=names.get(osv_id, ""),
                ruos_number=ruos_numbers[osv_id],
                term_ends_on=ends_on,
                days_left=days_left,
                status="ended" if days_left < 0 else "expiring",
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


ALERT_TYPES = frozenset(
    {"OSVMapped", "OSVDissolved", "FollowUpMeetingHeld", "RUOSRegistered", "BoardRenewed", "FocalPointAssigned", "FocalPointLeft"}
)
"""The only facts the alerts read: the dashboard asks the read model for these alone."""


def only_in(facts: Iterable[Fact], districts: frozenset[str], municipality_ids: frozenset[str]) -> list[Fact]:
    """The facts about OSVs mapped in ``districts`` and about the municipalities ``municipality_ids``: a focal point's alerts."""
    facts = list(facts)
    osvs = {str(f.data.get("osv_id")) for f in facts if f.type == "OSVMapped" and f.data.get("district") in districts}
    return [
        f for f in facts if (str(f.data["osv_id"]) in osvs if "osv_id" in f.data else str(f.data.get("municipality_id")) in municipality_ids)
    ]


def alerts(
    facts: Sequence[Fact],
    today: date,
    municipalities: Sequence[MunicipalityReference],
    overdue_after_days: int = OVERDUE_AFTER_DAYS,
    within_days: int = TERM_ENDS_WITHIN_DAYS,
) -> Alerts:
    """Every follow-up alert as of ``today``."""
    return Alerts(
        today=today,
        overdue_after_days=overdue_after_days,
        within_days=within_days,
        overdue_meetings=overdue_meetings(facts, today, overdue_after_days),
        board_terms=board_terms(facts, today, within_days),
        municipalities_without_focal_point=municipalities_without_focal_point(facts, municipalities),
    )
