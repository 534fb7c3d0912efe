"""OSVs counted once per phase (``osvs_supported``, ``osvs_contact_lost``) and the facts that explain them. Pure: no I/O.

A tally keeps, per OSV, its district and the first fact of each segment it was supported in (``supported``) or out of
contact in (``lost``); a report counts each OSV once per phase from that (``first_time`` or ``repeat`` by the phases
before). Those figures change otherwise than by adding: a grant withdrawn takes back its OSV's support where nothing
else makes it (:mod:`.withdrawals`), a merge makes two OSVs one (:mod:`.merges`), a grant typed in late with an earlier
date makes a later phase's support ``repeat``. Reading the evidence off what is kept at the end would leave the fact
taken back out with no line saying why, and a sign-off's restatement would name no event (tester 239 F3).

So a tally folded to explain itself (``trace``) records each change to those entries as a :class:`OnceStep`: the
fact, and the entries of the OSVs it touched before and after. The evidence of one figure is what each step changed
in it, which adds up to the figure (the first step starts from nothing):

- a fact that makes a segment supported adds it (``FundGranted`` +1, ``first_time`` +1);
- a fact that takes a segment back, or moves an OSV between ``first_time`` and ``repeat``, adds the difference
  (``GrantWithdrawn`` -1; ``OSVMerged`` -1 where both records counted);
- an earlier fact that makes a segment again after a step (the OSV's other grant in that phase, once the first is
  withdrawn) is named for it, as the fact the figure now rests on, and the step takes back what it replaced.

Each line names the OSV and district of the entry it changed, where the change counts: a record merged into an OSV of
another district counts whole in the survivor's district, as if held there from the start (the merge moves its seed funds
so, :mod:`.merges`), so its steps are read in that district and its own lists none of them (tester 242 F4).

A mixin of :class:`~.tally.Tally`, which keeps ``supported``, ``lost`` and ``once_steps`` and reads items per OSV
(:meth:`~.tallyreading.TallyReading._once_items`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from services.reporting.domain.indicators import Breakdown, Fact, Phase

Entries = dict[str, "list[Any] | None"]
"""OSV id -> its entry as kept (``[district, {segment: first fact's event id}]``), or None when it had none."""


@dataclass(frozen=True)
class OnceStep:
    """One change to the OSVs counted once: ``name`` the indicator, ``fact`` the fact that made it, the entries of the
    OSVs it touched ``before`` and ``after``."""

    name: str
    fact: Fact
    before: Entries
    after: Entries


class CountedOnce:
    """Record the changes to ``supported`` and ``lost`` when tracing, and explain a figure by them (see the module)."""

    supported: dict[str, list[Any]]
    lost: dict[str, list[Any]]
    once_steps: list[OnceStep] | None
    places: dict[str, str]
    # and, from the tally: _same; from the reading: _once_items

    def _once_before(self, name: str, osvs: Iterable[str]) -> Entries | None:
        """The entries of these OSVs for ``name`` as they are, to compare after a change; None when not tracing."""
        if self.once_steps is None:
            return None
        kept = self.supported if name == "osvs_supported" else self.lost
        return {osv: _copied(kept.get(osv)) for osv in osvs}

    def _once_changed(self, name: str, fact: Fact, before: Entries | None) -> None:
        """Record ``fact``'s change to the entries ``before`` took (nothing when not tracing, or nothing changed)."""
        if before is None or self.once_steps is None:
            return
        kept = self.supported if name == "osvs_supported" else self.lost
        after = {osv: _copied(kept.get(osv)) for osv in before}
        if after != before:
            self.once_steps.append(OnceStep(name, fact, before, after))

    def _once_evidence(
        self, name: str, phases: Sequence[Phase], by: Breakdown | None, within: frozenset[str] | None, key: str, phase_code: str
    ) -> dict[tuple[str, Place], dict[str, int]]:
        """What each fact adds to one figure of ``name`` (group ``key``, phase ``phase_code`` or the total): per event id and
        the place (OSV, district) where it changed the figure, parts; they add up to the figure (see the module)."""
        assert self.once_steps is not None, "the evidence needs a tally folded with trace=True"
        adds: dict[tuple[str, Place], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for step in self.once_steps:
            if step.name != name:
                continue
            before, after = (self._cited(name, entries, phases, by, within, key, phase_code) for entries in (step.before, step.after))
            for event in set(before) | set(after):
                (was, was_at), (now, now_at) = before.get(event, (None, None)), after.get(event, ({}, None))
                if was is None:  # newly cited: the fact the figure rests on now (the step's own, or one it made count again)
                    for part, value in now.items():
                        adds[(event, (None, now_at[1]))][part] += value  # None: the fact's own OSV (a record merged in, maybe)
                else:
                    for part in set(was) | set(now):
                        adds[(step.fact.event_id, now_at or was_at)][part] += now.get(part, 0) - was.get(part, 0)
        return adds

    def _cited(
        self, name: str, entries: Entries, phases: Sequence[Phase], by: Breakdown | None, within: frozenset[str] | None, key: str,
        phase_code: str,
    ) -> dict[str, tuple[dict[str, int], Place]]:
        """The parts the entries give one figure, per the fact each cites, with the OSV and district of the entry citing it."""
        out: dict[str, tuple[dict[str, int], Place]] = {}
        for osv, entry in entries.items():
            if entry is None:
                continue
            held = [self._held_in(name, osv, entry[0]), entry[1]]
            for event, (group, code, counted), parts in self._once_items(name, [held], phases, by, within):  # type: ignore[attr-defined]
                if group == key and code == phase_code and counted == name:
                    summed = out.setdefault(event, (defaultdict(int), (osv, held[0])))[0]
                    for part, value in parts.items():
                        summed[part] += value
        return out

    def _held_in(self, name: str, osv: str, district: str) -> str:
        """The district an OSV's entry counts in as the figure stands: a record merged into another counts whole in the
        survivor's from the start (as its seed funds do), so a merge across districts moves no step (tester 242 F4)."""
        survivor = self._same(osv)  # type: ignore[attr-defined]
        if survivor == osv:
            return district
        kept = (self.supported if name == "osvs_supported" else self.lost).get(survivor)
        return str(kept[0]) if kept is not None else str(self.places.get(survivor, district))


Place = tuple[str | None, str]
"""Where a step changed a figure counted once: the OSV and district of the entry it changed (OSV None: the fact's own)."""


def _copied(entry: list[Any] | None) -> list[Any] | None:
    return None if entry is None else [entry[0], dict(entry[1])]
