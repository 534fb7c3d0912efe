"""Who does what, where and when: the OSVs' activities as 3W/5W rows, with the people they reached. Pure: no I/O.

One row per activity reported and not withdrawn (among the facts given):
who (the OSV that held it), what (its kind, and the funded project if any: none for a grant withdrawn as entered in
error, which was no project, from its withdrawal on),
where (its district, by INEI ubigeo, and the programme's zone), when (the
day it was held, and the phase whose dates contain it) and for whom (direct
beneficiaries by sex and by nationality, indirect beneficiaries). The HXL
hashtag of each column is in :data:`COLUMNS`; :mod:`services.reporting.exports`
writes them.

The counts are attendances as each activity reported them: a person at two
activities is in two rows. A person an activity listed by two records of
theirs, merged since (engagement's ``MemberMerged``), attended once: from the
merge on the row counts them once, as ``attendances`` does (helper 189,
tester 187 F1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from services.reporting.domain.indicators import PHASE_TYPES, UNKNOWN, Fact, mappings, nationality_group, phases_in
from services.reporting.domain.membermerges import listed_again

COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (key, header, HXL hashtag)
    ("osv_id", "OSV id", "#org+code"),
    ("osv_name", "OSV", "#org+name"),
    ("activity_id", "Activity id", "#activity+code"),
    ("kind", "Activity kind", "#activity+type"),
    ("grant_id", "Funded project (grant id)", "#activity+project+code"),
    ("province_ubigeo", "Province ubigeo", "#adm2+code"),
    ("ubigeo", "District ubigeo", "#adm3+code"),
    ("district", "District", "#adm3+name"),
    ("zone", "Zone", "#region+name"),
    ("held_on", "Held on", "#date+start"),
    ("phase", "Phase", "#meta+phase+code"),  # a phase's code is no date: HXL's #date is one (tester 247 F2)
    ("reached", "People reached (direct)", "#reached+ind"),
    ("reached_f", "Women and girls", "#reached+ind+f"),
    ("reached_m", "Men and boys", "#reached+ind+m"),
    ("reached_x", "Other sex", "#reached+ind+x"),
    ("reached_ve", "Venezuelan", "#reached+ind+nationality_ve"),
    ("reached_pe", "Peruvian", "#reached+ind+nationality_pe"),
    ("reached_other", "Other nationality", "#reached+ind+nationality_other"),
    ("reached_indirect", "People reached (indirect)", "#reached+ind+indirect"),
)
TYPES = frozenset({"PhaseOpened", "PhaseWithdrawn", "OSVMapped", "OSVNameCorrected", "ActivityReported", "ActivityWithdrawn", "GrantWithdrawn",
                   "MemberMerged"})
"""The facts the rows are made of."""


def rows(facts: Iterable[Fact], ubigeo_of: Callable[[str], str | None], today: date | None = None) -> list[dict[str, Any]]:
    """The 3W rows of the activities among ``facts`` (a withdrawn one has none), by day held then id.

    ``ubigeo_of`` finds a district's INEI ubigeo by its name (None when unknown). ``today``, the sheet's day in Lima (its
    cut's): the facts dated after it have not happened yet, as the indicators leave them out (:mod:`.daycut`; the
    phases, whose dates plan, aside).
    """
    facts = [f for f in facts if today is None or f.occurred_on <= today or f.type in PHASE_TYPES]
    phases = phases_in(facts)
    names = {osv_id: str(f.data.get("name") or "") for osv_id, f in mappings(facts).items()}
    withdrawn = {str(f.data.get("activity_id") or f.subject) for f in facts if f.type == "ActivityWithdrawn"}
    # A grant withdrawn as entered in error was no project (tester 187 F3): its activities were held, and name none.
    no_project = {str(f.data.get("grant_id") or f.subject) for f in facts if f.type == "GrantWithdrawn"}
    person = _persons(facts)
    out = []
    for fact in facts:
        activity_id = str(fact.data.get("activity_id") or fact.subject)
        if fact.type != "ActivityReported" or activity_id in withdrawn:
            continue
        d = fact.data
        district = str(d.get("district") or UNKNOWN)
        ubigeo = ubigeo_of(district) or ""
        row: dict[str, Any] = {
            "osv_id": str(d.get("osv_id")),
            "osv_name": names.get(str(d.get("osv_id")), ""),
            "activity_id": activity_id,
            "kind": d.get("kind") or "",
            "grant_id": "" if str(d.get("grant_id")) in no_project else d.get("grant_id") or "",
            "province_ubigeo": ubigeo[:4],
            "ubigeo": ubigeo,
            "district": district,
            "zone": d.get("zone") or "",
            "held_on": fact.occurred_on.isoformat(),
            "phase": next((p.code for p in phases if p.contains(fact.occurred_on)), ""),
            "reached": 0, "reached_f": 0, "reached_m": 0, "reached_x": 0, "reached_ve": 0, "reached_pe": 0, "reached_other": 0,
            "reached_indirect": int(d.get("indirect_beneficiaries") or 0),
        }
        for group in d.get("direct_beneficiaries") or []:
            n = int(group.get("count", 0))
            row["reached"] += n
            row[f"reached_{str(group.get('sex')).lower()}"] = row.get(f"reached_{str(group.get('sex')).lower()}", 0) + n
            row[f"reached_{nationality_group(group.get('nationality')).lower()}"] += n
        for nationality, sex in listed_again(d.get("participants") or [], person):
            row["reached"] -= 1
            row[f"reached_{sex.lower()}"] -= 1
            row[f"reached_{nationality.lower()}"] -= 1
        out.append(row)
    out.sort(key=lambda r: (r["held_on"], r["activity_id"]))
    return out


def _persons(facts: Iterable[Fact]) -> Callable[[object], str]:
    """The person a member record is among ``facts``: the member it was merged into, followed to the last (as
    :class:`~.membermerges.MemberMerges` does; the first of a merge's events per OSV applies it)."""
    into: dict[str, str] = {}
    for fact in facts:
        if fact.type == "MemberMerged":
            into.setdefault(str(fact.data.get("member_id")), str(fact.data.get("into_member_id")))

    def person(record: object) -> str:
        who, seen = str(record), set()
        while who in into and who not in seen:
            seen.add(who)
            who = into[who]
        return who

    return person
