"""The indicators of the practice: what each one counts, the dated facts it counts, and how a figure is shaped. Pure.

Two times matter for every fact. ``occurred_on`` (the day it happened in the
world) decides the phase a fact counts in; ``recorded_at`` (when its service
stored it) decides whether a report "as of" a moment knew it. The tally that
counts them is :mod:`.tally`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from shared.errors import NotFoundError, RuleViolationError

ZONES = ("Lima Centro", "Lima Este", "Lima Norte", "Lima Sur")
"""The shipped districts table's zones (``DistrictTable.of_lima().zones``), sorted: those a by-zone report of the whole
programme shows, counted in or not, unless told its own table's (a ``districts_file`` of another city has its own zones)."""
UNKNOWN = "unknown"
TOTAL = "total"
ALL = "*"
Breakdown = Literal["zone", "district"]


@dataclass(frozen=True)
class Fact:
    """One public event as the read model keeps it."""

    event_id: str
    type: str
    subject: str
    occurred_on: date
    recorded_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    position: int = 0

    @property
    def order(self) -> tuple[datetime, str, int, str]:
        """Recorded order: the order a tally folds facts in (ties broken per source log)."""
        return (self.recorded_at, self.source, self.position, self.event_id)


@dataclass(frozen=True)
class Phase:
    code: str
    name: str
    starts_on: date
    ends_on: date

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


CORRECTED_MAPPING = {"OSVNameCorrected": "name", "OSVMappingDateCorrected": "mapped_on"}
"""The corrections of an OSV's mapping, each with the field of ``OSVMapped`` it corrects."""


def mappings(facts: Iterable[Fact]) -> dict[str, Fact]:
    """Each OSV's ``OSVMapped`` among ``facts`` (OSV id → fact), its name and ``mapped_on`` as the latest
    ``OSVNameCorrected`` and ``OSVMappingDateCorrected`` among them, in recorded order, corrected them: every report names
    and dates an OSV so, those of past phases included; one cut before a correction (``as_of``) has not the correction
    among its facts, and reads the OSV as it was then known."""
    facts = list(facts)
    found = {str(f.data["osv_id"]): f for f in facts if f.type == "OSVMapped"}
    for correction in sorted((f for f in facts if f.type in CORRECTED_MAPPING), key=lambda f: f.order):
        osv_id, field = str(correction.data["osv_id"]), CORRECTED_MAPPING[correction.type]
        if osv_id in found:
            found[osv_id] = replace(found[osv_id], data={**found[osv_id].data, field: correction.data[field]})
    return found


PHASE_TYPES = ("PhaseOpened", "PhaseWithdrawn")
"""What funding says of its phases: one opened, one withdrawn as entered in error (tester 262)."""


def _phase_of(fact: Fact) -> Phase:
    d = fact.data
    return Phase(d["code"], d["name"], date.fromisoformat(d["starts_on"]), date.fromisoformat(d["ends_on"]))


def phases_in(facts: Iterable[Fact]) -> list[Phase]:
    """The programme's phases, as funding opened them, in date order: those withdrawn as entered in error among ``facts``
    left out (:func:`phases_withdrawn_in`). A report cut before a withdrawal has the phase among its facts' phases, and
    one made after has not; the phases it leaves never overlap (funding frees a withdrawn phase's days only)."""
    facts = list(facts)
    withdrawn = {str(f.data.get("phase_id") or f.subject) for f in facts if f.type == "PhaseWithdrawn"}
    phases = [_phase_of(f) for f in facts if f.type == "PhaseOpened" and str(f.data.get("phase_id") or f.subject) not in withdrawn]
    return sorted(phases, key=lambda p: p.starts_on)


def phases_withdrawn_in(facts: Iterable[Fact]) -> dict[str, tuple[Phase, Fact]]:
    """The phases withdrawn as entered in error among ``facts`` (funding's ``PhaseWithdrawn``, which repeats the phase's
    code, name and dates), by code as opened: each with its withdrawal's fact (``reason``, ``withdrawn_on``, ``recorded_at``)."""
    return {f.data["code"]: (_phase_of(f), f) for f in facts if f.type == "PhaseWithdrawn"}


def boundaries(phases: Iterable[Phase]) -> list[int]:
    """The days (as ordinals) where a segment starts: every phase's first day and the day after its last."""
    return sorted({p.starts_on.toordinal() for p in phases} | {p.ends_on.toordinal() + 1 for p in phases})


def nationality_group(code: object) -> str:
    """Venezuelan, Peruvian or other, as the practice reports nationalities."""
    return code if code in ("VE", "PE") else "other"  # type: ignore[return-value]


# --------------------------------------------------------------------------
# What each indicator is
# --------------------------------------------------------------------------

POINT, SPAN, UPTO, DERIVED = "point", "span", "upto", "derived"
"""How a phase's figure is read: facts in the phase (point), entities active in
the phase (span), facts up to the phase's end (upto), or from other figures."""

MONEY = Decimal("0")


@dataclass(frozen=True)
class Indicator:
    name: str
    kind: str
    template: Any
    """The figure's shape when nothing counted: 0, a money 0, or a dict of parts."""
    types: tuple[str, ...]
    """The event types that make it (for evidence)."""
    reads: str | None = None
    """For ``upto`` indicators: the counted indicator whose running sum it is."""


M = "OSVMerged"
"""A merge: it moves a record's figures to the survivor's district (and takes back its identification)."""
NATIONALITY, SEX, JOINING = "MemberNationalityCorrected", "MemberSexCorrected", "MemberJoiningDateCorrected"
"""A person's nationality or sex rectified: the figures that count them by it count them again, in every phase; a
membership's joining date corrected: its joining counts in the phase of the corrected day (:mod:`.corrections`)."""
REGISTRATION = "RUOSRegistrationCorrected"
"""An OSV's registration in the RUOS corrected: it counts in the phase of the corrected day (:mod:`.corrections`)."""
MEMBER_MERGED = "MemberMerged"
"""Two records of one person merged: the figures that count people count them once from then on (:mod:`.membermerges`)."""
STAY_MERGED = "MembershipMerged"
"""One stay recorded twice, merged: its joining counts no more, in the phase of its day (:mod:`.membermerges`)."""
IDENTIFIED = ("OSVMapped", "OSVMappingDateCorrected", M)
"""What counts an OSV identified, and in which phase: its mapping, a correction of its day (:mod:`.corrections`), a merge."""
REGISTERED = ("RUOSRegistered", REGISTRATION, M)
"""What counts an OSV registered in the RUOS, and in which phase."""
INDICATORS: tuple[Indicator, ...] = (
    Indicator("osvs_identified", POINT, 0, IDENTIFIED),
    Indicator("osvs_registered_ruos", POINT, 0, REGISTERED),
    Indicator("osvs_registered_ruos_cumulative", UPTO, 0, REGISTERED, reads="osvs_registered_ruos"),
    # Read from both, the identified its denominator: a mapping day corrected moves an OSV between phases there too.
    Indicator("ruos_registration_rate", DERIVED, "0.0000", tuple(dict.fromkeys(IDENTIFIED + REGISTERED))),
    Indicator("ruos_applications_observed", POINT, {"total": 0, "by_reason": {}}, ("RUOSApplicationObserved", "RUOSObservationWithdrawn", M)),
    Indicator(
        "agents_of_change", SPAN, {"total": 0, "new": 0, "by_nationality": {}, "by_sex": {}},
        # A grant withdrawn takes back the agents enrolled only in it (:mod:`.withdrawals`), a project's closure ends its
        # agents' participations (:mod:`.participation`): the evidence reads both, and the grants, to know the projects
        # closed (tester 251 F1: without them it ended no one, and added up to no figure). A grant adds no agent: no row.
        ("ParticipantEnrolled", "ParticipantWithdrew", "MemberLeft", "OSVDissolved", "FundGranted", "GrantClosed", "GrantWithdrawn",
         M, NATIONALITY, SEX, MEMBER_MERGED),
    ),
    Indicator("projects_active", SPAN, 0, ("FundGranted", "GrantClosed", "GrantWithdrawn", "OSVDissolved", M)),
    Indicator("projects_new", POINT, 0, ("FundGranted", "GrantWithdrawn", M)),
    Indicator(
        "beneficiaries_direct", SPAN, {"total": 0, "by_nationality": {}, "by_sex": {}, "aggregate": 0},
        ("ActivityReported", "ActivityWithdrawn", NATIONALITY, SEX, MEMBER_MERGED),
    ),
    # A merge takes back the second listing of one person at an activity that listed both records (:mod:`.membermerges`):
    # without it among the types, the evidence and a restatement read a figure that never takes it (tester 232 F1).
    Indicator("attendances", POINT, {"total": 0, "by_nationality": {}, "by_sex": {}}, ("ActivityReported", "ActivityWithdrawn", MEMBER_MERGED)),
    Indicator("beneficiaries_indirect", POINT, 0, ("ActivityReported", "ActivityWithdrawn")),
    Indicator("osvs_supported", SPAN, {"total": 0, "first_time": 0, "repeat": 0}, ("FundGranted", "DisbursementMade", "GoodsDelivered", "GrantWithdrawn", M)),
    Indicator("seed_funds_granted_pen", POINT, MONEY, ("FundGranted", "GrantWithdrawn", M)),
    Indicator("seed_funds_granted_usd", POINT, MONEY, ("FundGranted", "GrantWithdrawn", M)),
    Indicator("goods_delivered_pen", POINT, MONEY, ("GoodsDelivered", M)),
    Indicator("goods_delivered_usd", POINT, MONEY, ("GoodsDelivered", M)),
    Indicator("disbursed_pen", POINT, MONEY, ("DisbursementMade", M)),
    Indicator("disbursed_usd", POINT, MONEY, ("DisbursementMade", M)),
    Indicator("murals", POINT, 0, ("ActivityReported", "ActivityWithdrawn")),
    Indicator("public_spaces_recovered", POINT, 0, ("ActivityReported", "ActivityWithdrawn")),
    Indicator(
        "members_joined", POINT, {"total": 0, "by_nationality": {}, "by_sex": {}}, ("MemberJoined", M, NATIONALITY, SEX, JOINING, STAY_MERGED)
    ),
    Indicator("members_left", POINT, {"total": 0, "by_nationality": {}, "by_sex": {}}, ("MemberLeft", M, NATIONALITY, SEX)),
    Indicator("members_left_by_reason", POINT, {}, ("MemberLeft", M)),
    Indicator("osvs_contact_lost", SPAN, 0, ("ContactLost", M)),
    Indicator("osvs_dissolved", POINT, 0, ("OSVDissolved", M)),
    Indicator("follow_up_meetings", POINT, 0, ("FollowUpMeetingHeld", "FollowUpMeetingWithdrawn", M)),
    Indicator(
        "actions_pending_at_phase_end", UPTO, 0, ("FollowUpMeetingHeld", "ActionItemCompleted", "FollowUpMeetingWithdrawn", M),
        reads="actions_pending_at_phase_end",
    ),
    Indicator(
        "participatory_budget",
        POINT,
        {"submitted": 0, "accepted": 0, "funded": 0, "amount_funded_pen": MONEY, "amount_funded_usd": MONEY},
        ("ParticipatoryBudgetSubmitted", "ParticipatoryBudgetDecided", M),
    ),
)
BY_NAME = {i.name: i for i in INDICATORS}
RELEVANT_TYPES = frozenset({*PHASE_TYPES, *(t for i in INDICATORS for t in i.types)})
"""The only event types a tally looks at; the read model folds no other."""


def indicator_named(name: str) -> Indicator:
    try:
        return BY_NAME[name]
    except KeyError:
        raise NotFoundError(f"No indicator is called '{name}'.", field="name", rule="known_indicator") from None


def flatten(figure: Any, prefix: str = "") -> dict[str, Any]:
    """A figure as ``{part: value}``: ``{"total": 3, "by_nationality.VE": 2}``; a plain figure is ``{"value": x}``."""
    if not isinstance(figure, Mapping):
        return {prefix or "value": figure}
    out: dict[str, Any] = {}
    for key, value in figure.items():
        out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def money_text(value: Any) -> str:
    return f"{Decimal(value):.2f}"


def figure_of(indicator: Indicator, parts: Mapping[str, int | Decimal]) -> Any:
    """Build a figure from its counted parts (``"value"``, ``"total"``, ``"by_sex.F"``…)."""
    figure = copy.deepcopy(indicator.template)
    for part, value in sorted(parts.items()):
        if part == "value":
            figure = value
            continue
        head, _, tail = part.partition(".")
        if tail:
            if value:
                figure[head][tail] = value
        else:
            figure[head] = value
    return _format(figure, indicator.template)


def _format(figure: Any, template: Any) -> Any:
    if isinstance(template, Decimal):
        return money_text(figure)
    if isinstance(figure, dict):
        return {k: _format(v, template.get(k) if isinstance(template, dict) else None) for k, v in figure.items()}
    return figure


def rate(registered: int, identified: int) -> str:
    """Registered over identified, 4 places; ``"0.0000"`` when nothing was identified yet."""
    if not identified:
        return "0.0000"
    return str((Decimal(registered) / Decimal(identified)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def add_parts(maps: Iterable[Mapping[str, int | Decimal]]) -> dict[str, int | Decimal]:
    out: dict[str, int | Decimal] = defaultdict(int)
    for parts in maps:
        for part, value in parts.items():
            out[part] += value
    return out


def indicator_figures(inside: Mapping[str, int | Decimal], upto: Mapping[str, int | Decimal], once: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """Every indicator of one phase (or the total): counted parts in it, up to its end, and OSVs counted once."""
    by_indicator: dict[str, dict[str, int | Decimal]] = defaultdict(dict)
    for part, value in inside.items():
        name, _, sub = part.partition("/")
        by_indicator[name][sub] = value
    cumulative: dict[str, dict[str, int | Decimal]] = defaultdict(dict)
    for part, value in upto.items():
        name, _, sub = part.partition("/")
        cumulative[name][sub] = value
    out: dict[str, Any] = {}
    for indicator in INDICATORS:
        if indicator.kind == UPTO:
            out[indicator.name] = figure_of(indicator, cumulative.get(indicator.reads or indicator.name, {}))
        elif indicator.kind == DERIVED:
            registered = int(cumulative.get("osvs_registered_ruos", {}).get("value", 0))
            identified = int(cumulative.get("osvs_identified", {}).get("value", 0))
            out[indicator.name] = rate(registered, identified)
        elif indicator.name in once:
            out[indicator.name] = figure_of(indicator, once[indicator.name])
        else:
            out[indicator.name] = figure_of(indicator, by_indicator.get(indicator.name, {}))
    return out


def phase_named(phases: Sequence[Phase], code: str) -> Phase | None:
    """The phase ``code`` names (:func:`phase_of_code`), or None for the ``total``, named in any case as a phase is
    (``TOTAL``: tester 215 F5): a phase opened as ``TOTAL`` before funding refused that code is named exactly only."""
    if code == TOTAL:
        return None
    try:
        return phase_of_code(phases, code)
    except (NotFoundError, AmbiguousPhaseCodeError):
        if phase_code_key(code) == TOTAL:
            return None
        raise


def phase_code_key(code: str) -> str:
    """What a phase code a client names is matched by: the code without regard to case or surrounding spaces, as funding
    compares two phases' codes (its own ``phase_code_key``) and refuses a second phase differing only so."""
    return code.strip().casefold()


class AmbiguousPhaseCodeError(RuleViolationError):
    def __init__(self, code: str, matches: Sequence[str]) -> None:
        named = ", ".join(f"'{m}'" for m in matches)
        super().__init__(
            f"No phase has the code '{code}' exactly, and the phases {named} (opened before codes compared without regard to "
            f"case) differ from it by case alone: name one of them as opened.",
            field="phase",
            rule="exact_phase_code",
        )


def phase_of_code(phases: Sequence[Phase], code: str) -> Phase:
    """The phase a client names by ``code`` (a URL's, a query's): the one opened with that code exactly, else the one whose
    code is the same without regard to case or surrounding spaces (:func:`phase_code_key`): funding opens ``F3-2022`` and
    refuses ``f3-2022`` beside it, and reporting answered ``f3-2022`` 404 (tester 212 F9). Two phases from before that
    rule, differing only by case, neither named exactly: 422 ``exact_phase_code`` naming them. None: 404 ``known_phase``."""
    for phase in phases:
        if phase.code == code:
            return phase
    folded = [phase for phase in phases if phase_code_key(phase.code) == phase_code_key(code)]
    if len(folded) == 1:
        return folded[0]
    if folded:
        raise AmbiguousPhaseCodeError(code, [phase.code for phase in folded])
    raise NotFoundError(f"No phase has the code '{code}'.", field="phase", rule="known_phase")


def cite(fact: Fact) -> dict[str, Any]:
    return {
        "event_id": fact.event_id,
        "source": fact.source or fact.event_id.partition(":")[0],
        "type": fact.type,
        "subject": fact.subject,
        "occurred_on": fact.occurred_on.isoformat(),
        "recorded_at": fact.recorded_at.isoformat().replace("+00:00", "Z"),
    }


def report_digest(report: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a report's figures: its ``as_of``, phases, total and breakdown, as canonical JSON.

    Two reports of the same cut made from the same facts have the same digest,
    however the facts reached them (the stream, the feeds, checkpoints or
    not): ``GET /indicators`` gives it, and ``osv-replay`` rebuilds the report
    from the feeds alone and prints its own.
    """
    figures = {key: value for key, value in report.items() if key not in ("digest", "heads")}
    return hashlib.sha256(json.dumps(figures, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
