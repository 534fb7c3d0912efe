"""The lines ``osv-import`` prints under its summary, one a problem: where the officer finds it in the file."""

from __future__ import annotations

from services.imports.cli import problem_line
from services.imports.domain.commands import Problem
from services.imports.domain.submissions import Cell


def test_a_problem_of_one_column_names_its_sheet_row_and_column() -> None:
    problem = Problem(Cell("Miembros de la OSV", 3, "miembros/dni"), "document_number", "dni_8_digits", "a DNI has 8 digits")
    assert problem_line(problem) == "Miembros de la OSV row 3 column miembros/dni: document_number [dni_8_digits] a DNI has 8 digits"


def test_a_problem_of_no_one_column_names_its_row_alone() -> None:
    """Tester 300 F8: a submission recorded before (its key, of no column) was reported at "row 2 column -", and the officer
    looked for a column named "-"."""
    problem = Problem(Cell("Miembros de la OSV", 2, ""), "Idempotency-Key", "recorded_otherwise", "this submission was recorded before")
    line = problem_line(problem)
    assert line.startswith("Miembros de la OSV row 2: Idempotency-Key [recorded_otherwise]"), line
    assert "column" not in line
