"""Reading a tally: the report and the evidence of one figure, off what :mod:`.tally` folded. Pure: no I/O.

A :class:`~services.reporting.domain.tally.Tally` folds facts into counters
per segment (the calendar cut at every phase boundary) and place (a district,
or a group of agents of change); this mixin adds them up per phase, in total,
and per zone or district, and explains one figure by the facts that make it.
"""

from __future__ import annotations

import collections
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from services.reporting.domain.indicators import (
    ALL,
    DERIVED,
    TOTAL,
    UNKNOWN,
    UPTO,
    ZONES,
    Breakdown,
    Fact,
    Indicator,
    Phase,
    add_parts,
    cite,
    indicator_figures,
    indicator_named,
    mappings,
    money_text,
    phase_named,
)

if TYPE_CHECKING:
    from services.reporting.domain.tally import Trace

Counter = tuple[str, int, str]
"""(indicator/part, segment, place): a district, or for agents of change ``@*``, ``@zone:<zone>``, ``@district:<district>``."""
Within = frozenset[str] | None
"""District names a report is narrowed to (a municipality's own figures), or None for the whole programme."""
EVER = -1
"""The segment of span indicators' totals: counted once, whenever it was."""
NOT_STARTED, IN_PROGRESS, ENDED = "not_started", "in_progress", "ended"


def phase_status(phase: Phase, today: date) -> str:
    """Whether a phase has started and ended by ``today`` (its first and last days are its own)."""
    if today < phase.starts_on:
        return NOT_STARTED
    return IN_PROGRESS if today <= phase.ends_on else ENDED


COUNTED_SPANS = ("agents_of_change", "projects_active", "beneficiaries_direct")


class TallyReading:
    """The reading half of :class:`~services.reporting.domain.tally.Tally`: what its counters add up to.

    Reads the folded state only: ``bounds`` (phase boundaries, day
    ordinals), ``counters``, ``zones``, ``supported``, ``lost``, ``places``,
    ``merged`` and, for :meth:`evidence`, ``traces``.
    """

    bounds: list[int]
    counters: dict[Counter, int | Decimal]
    zones: dict[str, str]
    supported: dict[str, list[Any]]
    lost: dict[str, list[Any]]
    places: dict[str, str]
    merged: dict[str, str]
    traces: list[Trace] | None

    def _chain(self, osv: object) -> list[str]:
        """The OSV, the one it was merged into, the one that one was merged into… (a cycle, which registry never records, stops)."""
        chain = [str(osv)]
        while chain[-1] in self.merged and self.merged[chain[-1]] not in chain:
            chain.append(self.merged[chain[-1]])
        return chain

    def _same(self, osv: object) -> str:
        """The OSV an id counts as: the one it was merged into, followed to the last, if it was."""
        return self._chain(osv)[-1] if str(osv) in self.merged else str(osv)

    def segment(self, day: date | int) -> int:
        """The segment a day (a date or its ordinal) falls in: 0 before the first phase, then one per phase boundary passed."""
        return bisect_right(self.bounds, day if isinstance(day, int) else day.toordinal())

    def zone_of(self, district: str) -> str:
        return self.zones.get(district, UNKNOWN)

    def _groups(self, place: str, by: Breakdown | None, within: Within = None) -> tuple[str, ...]:
        """The groups a counter's place adds to: the whole programme and, with ``by``, its zone or district.

        ``within`` (district names) narrows the whole to those districts: only
        their counters add up, agents of change by their district's count.
        """
        if place.startswith("@"):  # agents of change, counted per group already
            level, _, name = place[1:].partition(":")
            if within is None:
                return (ALL,) if level == ALL else ((name,) if level == by else ())
            if level != "district" or name not in within:
                return ()
            return (ALL, self.zone_of(name)) if by == "zone" else ((ALL, name) if by == "district" else (ALL,))
        if within is not None and place not in within:
            return ()
        if by == "zone":
            return (ALL, self.zone_of(place))
        if by == "district":
            return (ALL, place)
        return (ALL,)

    def _osv_items(
        self, phases: Sequence[Phase], by: Breakdown | None, within: Within = None
    ) -> Iterable[tuple[str, tuple[str, str, str], dict[str, int]]]:
        """OSVs counted once per phase (supported, contact lost): (first event, (group, phase code|total, indicator), parts)."""
        yield from self._once_items("osvs_supported", self.supported.values(), phases, by, within)
        yield from self._once_items("osvs_contact_lost", self.lost.values(), phases, by, within)

    def _once_items(
        self, name: str, entries: Iterable[list[Any]], phases: Sequence[Phase], by: Breakdown | None, within: Within = None
    ) -> Iterable[tuple[str, tuple[str, str, str], dict[str, int]]]:
        """:meth:`_osv_items` of ``name`` for these OSVs' entries (``[district, {segment: first fact's event id}]``)."""
        segments = {p.code: self.segment(p.starts_on) for p in phases}
        known = set(segments.values())
        for district, by_segment in entries:
            groups = self._groups(district, by, within)
            if name == "osvs_supported":
                in_phases = sorted(s for s in by_segment if s in known)
                for code, segment in segments.items():
                    if segment in by_segment:
                        kind = "repeat" if in_phases and in_phases[0] < segment else "first_time"
                        for group in groups:
                            yield by_segment[segment], (group, code, name), {"total": 1, kind: 1}
                # in the total, first time and again add up the phases': each OSV once first, then once per later phase
                for group in groups:
                    yield by_segment[min(by_segment)], (group, TOTAL, name), {"total": 1, "first_time": 1, "repeat": max(len(in_phases) - 1, 0)}
            else:
                for group in groups:
                    yield by_segment[min(by_segment)], (group, TOTAL, name), {"value": 1}
                    for code, segment in segments.items():
                        if segment in by_segment:
                            yield by_segment[segment], (group, code, name), {"value": 1}

    def _osvs(self, phases: Sequence[Phase], by: Breakdown | None, within: Within = None) -> dict[str, dict[str, dict[str, dict[str, int]]]]:
        """What :meth:`_osv_items` adds up to, counted per district and set of segments (a few hundred), not per OSV (tens of thousands)."""
        out: dict[str, Any] = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(int))))
        segments = {p.code: self.segment(p.starts_on) for p in phases}
        known = set(segments.values())
        for once, name in ((self.supported, "osvs_supported"), (self.lost, "osvs_contact_lost")):
            alike = collections.Counter((district, frozenset(by_segment)) for district, by_segment in once.values())
            for (district, seen), n in alike.items():
                in_phases = sorted(s for s in seen if s in known)
                for group in self._groups(district, by, within):
                    if name == "osvs_supported":
                        total = out[group][TOTAL][name]
                        total["total"] += n
                        total["first_time"] += n
                        total["repeat"] += n * max(len(in_phases) - 1, 0)
                    else:
                        out[group][TOTAL][name]["value"] += n
                    for code, segment in segments.items():
                        if segment in seen:
                            figure = out[group][code][name]
                            if name == "osvs_supported":
                                figure["total"] += n
                                figure["repeat" if in_phases and in_phases[0] < segment else "first_time"] += n
                            else:
                                figure["value"] += n
        return out  # type: ignore[no-any-return]

    def _sums(self, by: Breakdown | None, within: Within = None) -> dict[str, dict[int, dict[str, int | Decimal]]]:
        """Counted parts per group and segment."""
        out: dict[str, Any] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
        groups_of: dict[str, tuple[str, ...]] = {}
        for (part, segment, place), value in self.counters.items():
            if value:
                groups = groups_of.get(place)
                if groups is None:
                    groups = groups_of[place] = self._groups(place, by, within)
                for group in groups:
                    out[group][segment][part] += value
        return out  # type: ignore[no-any-return]

    def report(
        self, phases: Sequence[Phase], by: Breakdown | None = None, within: Within = None, today: date | None = None,
        zones: Sequence[str] = ZONES,
    ) -> dict[str, Any]:
        """Indicators per phase and in total; with ``by``, the same per zone or district.

        ``phases`` are the phases to show: those the report knows of (for a
        report as of a moment, those recorded by then). ``within`` (district
        names) reports those districts alone, as if nothing else was counted:
        a municipality's own figures. ``today`` (the cut's day in Lima) gives
        each phase its ``status`` (:func:`phase_status`): one that has not
        started counts nothing (each indicator at its empty figure), for its
        days have not happened; one in progress counts what the tally folded,
        which for a report of that day is the facts dated by it (the tally's
        ``until``, :mod:`.daycut`). ``zones``: the programme's zones (its
        districts table's), each a group of a by-zone report of the whole
        programme even when nothing counted in it.
        """
        sums, osvs = self._sums(by, within), self._osvs(phases, by, within)

        def figures(group: str, phase: Phase | None) -> dict[str, Any]:
            segments = sums.get(group, {})
            if phase is not None and today is not None and phase_status(phase, today) == NOT_STARTED:
                return indicator_figures({}, {}, {})
            if phase is None:
                inside = add_parts(s for seg, s in segments.items() if seg != EVER)
                inside.update(segments.get(EVER, {}))  # span indicators' totals
                upto = inside
                counted_once = osvs.get(group, {}).get(TOTAL, {})
            else:
                here = self.segment(phase.starts_on)
                inside = add_parts(s for seg, s in segments.items() if seg == here)
                upto = add_parts(s for seg, s in segments.items() if EVER < seg <= here)
                counted_once = osvs.get(group, {}).get(phase.code, {})
            return indicator_figures(inside, upto, counted_once)

        def shaped(group: str) -> dict[str, Any]:
            return {
                "phases": [
                    {
                        "code": p.code,
                        "name": p.name,
                        "starts_on": p.starts_on.isoformat(),
                        "ends_on": p.ends_on.isoformat(),
                        **({} if today is None else {"status": phase_status(p, today)}),
                        "indicators": figures(group, p),
                    }
                    for p in phases
                ],
                "total": figures(group, None),
            }

        result = shaped(ALL)
        if by is not None:
            groups = set(sums) | set(osvs)
            if by == "zone" and within is None:
                groups |= set(zones)
            groups.discard(ALL)
            result["breakdown"] = {"by": by, "groups": {g: shaped(g) for g in sorted(groups)}}
        return result

    def evidence(
        self, phases: Sequence[Phase], name: str, phase_code: str, group: str | None, by_id: Mapping[str, Fact], within: Within = None,
        today: date | None = None, zones: Sequence[str] = ZONES,
    ) -> dict[str, Any]:
        """The facts that make one figure, each with what it adds to it. Needs a tally folded with ``trace=True``.

        ``within`` (district names): the figure as :meth:`report` gives it for those districts alone. ``today``: a phase
        that has not started by then has no figure, and no fact makes it. ``zones``: the programme's, as :meth:`report` takes them.
        """
        assert self.traces is not None, "evidence needs a tally folded with trace=True"
        indicator = indicator_named(name)
        phase = phase_named(phases, phase_code)
        phase_code = phase.code if phase is not None else TOTAL  # as opened, whatever its case as named (tester 212 F9, 215 F5)
        if phase is not None and today is not None and phase_status(phase, today) == NOT_STARTED:
            return {"indicator": name, "phase": phase_code, "group": group, "value": indicator_figures({}, {}, {})[name], "events": []}
        by: Breakdown | None = None if group is None else ("zone" if group in zones or group in self.zones.values() else "district")
        key = ALL if group is None else group
        adds: dict[tuple[str, Where], dict[str, Any]] = defaultdict(lambda: defaultdict(int))  # per event and where it changed the figure
        if name in ("osvs_supported", "osvs_contact_lost"):  # each change to the OSVs counted once, taking back included
            for (event, (osv, district)), parts in self._once_evidence(name, phases, by, within, key, phase_code).items():  # type: ignore[attr-defined]
                where = (osv or by_id[event].data.get("osv_id"), district, None)  # the district it counted in (tester 242 F4)
                for part, value in parts.items():
                    adds[(event, where)][part] += value
        else:
            here = self.segment(phase.starts_on) if phase else None
            reads = {"ruos_registration_rate": {"osvs_registered_ruos": "numerator", "osvs_identified": "denominator"}}.get(
                name, {indicator.reads or name: None}
            )
            for trace in self.traces:
                part, segment, place = trace.counter
                counted, _, sub = part.partition("/")
                if counted not in reads or key not in self._groups(place, by, within) or not _selects(indicator, segment, here):
                    continue
                adds[(trace.fact.event_id, _where(trace.at) or self._counted_at(trace.fact, place))][reads[counted] or sub] += trace.delta
        figure = self.report(phases, by, within, zones=zones)
        block = figure if group is None else figure["breakdown"]["groups"].get(group)
        empty = indicator_figures({}, {}, {})[name]
        if block is None:
            value = empty
        elif phase is None:
            value = block["total"][name]
        else:
            value = next((p["indicators"][name] for p in block["phases"] if p["code"] == phase.code), empty)
        names = {osv_id: str(f.data.get("name") or "") for osv_id, f in mappings(by_id.values()).items()}
        events = [
            {
                **cite(by_id[event]),
                **self._named(by_id[event], names, where),
                "adds": {part: money_text(v) if isinstance(v, Decimal) else v for part, v in sorted(parts.items()) if v},
            }
            for (event, where), parts in adds.items()
            if any(parts.values())
        ]
        events.sort(key=lambda e: (e["occurred_on"], by_id[e["event_id"]].order))  # recorded order: one save's events by position
        return {"indicator": name, "phase": phase_code, "group": group, "value": value, "events": events}

    def _counted_at(self, fact: Fact, place: str) -> Where:
        """Where a fact naming no district counts: its counter's district, the survivor's for a record merged across districts
        (and that district's municipality, not the record's), not wherever else its OSV's organisation is now (tester 242 F4)."""
        d = fact.data
        if d.get("district") or d.get("osv_id") is None or place.startswith("@"):  # "@…": a group, agents of change's
            return None
        municipality = d.get("municipality_id")
        own = self.places.get(str(d["osv_id"])) == place or municipality == "mml"  # the MML is all of Lima's
        return d.get("osv_id"), place, municipality if own else None

    def _named(self, fact: Fact, names: Mapping[str, str], where: Where = None) -> dict[str, Any]:
        """Whom and where a fact speaks of, in words: its OSV (id and name, as mapped) and district; None where it names none.
        ``where`` (:func:`_where`): the OSV, district and municipality where it changed the figure, when not its own."""
        osv, district, municipality = (fact.data.get("osv_id"), fact.data.get("district"), fact.data.get("municipality_id")) if where is None else where
        district = district or (self.places.get(self._same(osv)) if osv is not None else None)
        return {
            "osv": None if osv is None else {"id": str(osv), "name": names.get(str(osv)) or None},
            "district": None if district in (None, UNKNOWN) else str(district),
            "municipality_id": municipality,
        }


Where = tuple[Any, Any, Any] | None
"""Where a step changed a figure, when not where its fact names: (OSV id, district, municipality id)."""


def _where(at: Mapping[str, Any] | None) -> Where:
    return None if at is None else (at.get("osv_id"), at.get("district"), at.get("municipality_id"))


def _selects(indicator: Indicator, segment: int, here: int | None) -> bool:
    """Whether a counter's segment makes the figure of the phase whose segment is ``here`` (None: the total)."""
    if indicator.name in COUNTED_SPANS:
        return segment == (EVER if here is None else here)
    if here is None:
        return segment != EVER
    if indicator.kind in (UPTO, DERIVED):
        return EVER < segment <= here
    return segment == here
