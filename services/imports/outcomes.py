"""What became of an import's rows: each row's :class:`Outcome` and notes (:class:`RowResult`), and the run's
:class:`Summary`, as ``osv-import``'s summary line and report and the webhook's answer say them
(:class:`~services.imports.application.Importer` makes them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from services.imports.domain.commands import Problem, Row
from services.imports.domain.submissions import Cell


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

    def line(self) -> str:
        created = self.said(Outcome.CREATED)
        noted = sum(1 for r in self.results if r.outcome is Outcome.ALREADY_THERE and r.problems)
        in_part = sum(1 for r in self.results if r.outcome is Outcome.CREATED and r.problems)
        parts = [
            f"{self.count(Outcome.CREATED)} {created}" + (f" ({in_part} in part recorded otherwise: see the report)" if in_part else ""),
            f"{self.count(Outcome.ALREADY_THERE)} already there" + (f" ({noted} recorded otherwise: see the report)" if noted else ""),
            f"{self.count(Outcome.REFUSED)} refused",
        ]
        if self.count(Outcome.PARTIAL):
            parts.append(f"{self.count(Outcome.PARTIAL)} partial")
        return ", ".join(parts)
