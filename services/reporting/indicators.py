"""The indicators of the practice, computed from dated facts. Pure: no I/O.

The read model keeps every public event as a dated fact and groups facts by
phase only when asked, so events that arrive late, out of order, or before
their phase was opened still count where they belong: in the phase whose
dates contain the day they happened in the world (``occurred_on``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Fact:
    """One public event as the read model keeps it."""

    event_id: str
    type: str
    subject: str
    occurred_on: date
    recorded_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Phase:
    code: str
    name: str
    starts_on: date
    ends_on: date

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


def phases_in(facts: Iterable[Fact]) -> list[Phase]:
    """The programme's phases, as funding opened them, in date order."""
    phases = [
        Phase(f.data["code"], f.data["name"], date.fromisoformat(f.data["starts_on"]), date.fromisoformat(f.data["ends_on"]))
        for f in facts
        if f.type == "PhaseOpened"
    ]
    return sorted(phases, key=lambda p: p.starts_on)


def _by_nationality(facts: Sequence[Fact]) -> dict[str, Any]:
    counts = Counter(str(f.data.get("nationality", "??")) for f in facts)
    return {"total": len(facts), "by_nationality": dict(sorted(counts.items()))}


def _of(facts: Sequence[Fact], kind: str) -> list[Fact]:
    return [f for f in facts if f.type == kind]


def indicators(facts: Sequence[Fact]) -> dict[str, Any]:
    """Every indicator of this release over one set of facts (a phase, or all)."""
    grants = _of(facts, "FundGranted")
    seed_pen = sum(
        (Decimal(str(g.data["amount"])) for g in grants if g.data.get("kind") == "seed_fund" and g.data.get("currency") == "PEN"),
        Decimal("0"),
    )
    left = _of(facts, "MemberLeft")
    return {
        "osvs_identified": len({f.data["osv_id"] for f in _of(facts, "OSVMapped")}),
        "osvs_registered_ruos": len({f.data["osv_id"] for f in _of(facts, "RUOSRegistered")}),
        "osvs_supported": len({g.data["osv_id"] for g in grants}),
        "seed_funds_granted_pen": f"{seed_pen:.2f}",
        "members_joined": _by_nationality(_of(facts, "MemberJoined")),
        "members_left": _by_nationality(left),
        "members_left_by_reason": dict(sorted(Counter(str(f.data.get("reason")) for f in left).items())),
    }


def report(facts: Sequence[Fact]) -> dict[str, Any]:
    """Indicators per phase (by the date things happened) and over everything."""
    phases = []
    for phase in phases_in(facts):
        in_phase = [f for f in facts if f.type != "PhaseOpened" and phase.contains(f.occurred_on)]
        phases.append(
            {
                "code": phase.code,
                "name": phase.name,
                "starts_on": phase.starts_on.isoformat(),
                "ends_on": phase.ends_on.isoformat(),
                "indicators": indicators(in_phase),
            }
        )
    return {"phases": phases, "total": indicators(facts)}
