"""What became of an import's rows: each row's :class:`Outcome` and notes (:class:`RowResult`), and the run's
:class:`Summary`, as ``osv-import``'s summary line and report and the webhook's answer say them
(:class:`~services.imports.application.Importer` makes them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from services.imports.domain.commands import Problem, Row
from services.imports.domain.submissions import Cell
from services.imports.refusals import EDITED_RULE, RECORDED_OTHERWISE_RULE, edit_noted


class Outcome(StrEnum):
    """What became of a row."""

    CREATED = "created"
    """Recorded now (in a dry run: would be recorded)."""
    ALREADY_THERE = "already there"
    """Every command was carried out before, under the same keys: nothing recorded again."""
    REFUSED = "refused"
    """Nothing of the row was recorded: see its problems."""
    PARTIAL = "partial"
    """Some commands recorded, a later one refused after its dry run passed (see :mod:`services.imports.application`)."""


@dataclass
class RowResult:
    """A row's outcome, its problems, and what each of its commands got (status, and whether it was there before)."""

    row: Row
    outcome: Outcome
    problems: list[Problem] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    """The idempotency keys of the commands recorded now (a partial row names them)."""

    @property
    def where(self) -> Cell:
        return self.row.where

    def noted(self, rule: str) -> bool:
        """Whether one of its problems is a note of ``rule`` (``recorded_otherwise``, ``edited_in_kobo``)."""
        return any(problem.rule == rule for problem in self.problems)

    def as_edit(self) -> RowResult:
        """This result, its row one Kobo marks as an edit (:attr:`~services.imports.domain.submissions.Submission.edited`)
        whose commands were taken, all or some (created, already there, partial), with the note that says so
        (:func:`~services.imports.refusals.edit_noted`) after its problems, instead of any ``recorded_otherwise`` one,
        which says it was recorded "as it is now" (tester 276 F1, F6). The same note whatever the outcome, so Kobo's
        retry of a post is answered as the first (tester 280 F3). A refused row, or one not edited, as it is."""
        if not self.row.submission.edited or self.outcome is Outcome.REFUSED:
            return self
        self.problems = [*(p for p in self.problems if p.rule != RECORDED_OTHERWISE_RULE), edit_noted(self.row)]
        return self


@dataclass
class Summary:
    """How many rows were created, were already there, were refused, or are partial."""

    results: list[RowResult] = field(default_factory=list)
    dry_run: bool = False

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    def said(self, outcome: Outcome) -> str:
        """``outcome`` as this run's summary and report say it: a dry run's rows to record "would be created"."""
        return "would be created" if self.dry_run and outcome is Outcome.CREATED else str(outcome)

    def edits(self) -> int:
        """How many rows are edits made in Kobo, noted so (``edited_in_kobo``): no refusal, ``osv-import`` exits 0 for
        them (the summary line counts them), since an edit stays in every later export."""
        return sum(1 for r in self.results if r.noted(EDITED_RULE))

    def _notes(self, outcome: Outcome, otherwise: str) -> str:
        """What the rows of ``outcome`` are noted for, in brackets: so many recorded otherwise (said as ``otherwise``), so
        many edits made in Kobo ("edited in Kobo", whether an earlier version was recorded or not); "" for none."""
        rows = [r for r in self.results if r.outcome is outcome]
        counts = ((sum(1 for r in rows if r.noted(RECORDED_OTHERWISE_RULE)), otherwise),
                  (sum(1 for r in rows if r.noted(EDITED_RULE)), "edited in Kobo"))
        said = [f"{count} {words}" for count, words in counts if count]
        return f" ({', '.join(said)}: see the report)" if said else ""

    def line(self) -> str:
        created = self.said(Outcome.CREATED)
        parts = [
            f"{self.count(Outcome.CREATED)} {created}" + self._notes(Outcome.CREATED, "in part recorded otherwise"),
            f"{self.count(Outcome.ALREADY_THERE)} already there" + self._notes(Outcome.ALREADY_THERE, "recorded otherwise"),
            f"{self.count(Outcome.REFUSED)} refused",
        ]
        if self.count(Outcome.PARTIAL):
            parts.append(f"{self.count(Outcome.PARTIAL)} partial" + self._notes(Outcome.PARTIAL, "recorded otherwise"))
        return ", ".join(parts)
