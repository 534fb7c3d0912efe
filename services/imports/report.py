"""The report for whoever fixes the sheet: one XLSX beside the input, rows and rules, never a value.

Sheet ``Problems``: for each refused cell, and each note on a row taken
(``recorded_otherwise``, ``edited_in_kobo``: :mod:`services.imports.refusals`),
the sheet, row and column as the
person's file names them, the API field, the rule and the message, in the
API's words (but a "retry after Retry-After", a header the person never sees:
:func:`~services.imports.refusals.for_a_spreadsheet`). Sheet ``Rows``: every row's outcome (created, already there,
refused, partial; a dry run's "would be created") and its submission's ``_uuid``. Sheet ``Ignored columns``:
the columns of each sheet that are not the form's (a renamed question's
answers are not imported: tester 137 F3). No answer's value, and so
no personal data, is ever written, but a date the import could not read
(``date_as_excel_writes_it``) that is written as a date, which is none
(:func:`~services.imports.domain.answers.written_as_a_date`: a date cell
holding a document number or a name is not repeated).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from services.imports.outcomes import Summary
from services.imports.refusals import for_a_spreadsheet
from shared.spreadsheets import append_row

PROBLEM_COLUMNS = ("sheet", "row", "column", "field", "rule", "message")
ROW_COLUMNS = ("sheet", "row", "_uuid", "outcome", "problems")
IGNORED_COLUMNS = ("sheet", "column")


def report_path(source: Path, dry_run: bool) -> Path:
    """``<input>.dry-run-report.xlsx`` or ``<input>.import-report.xlsx``, beside the input."""
    kind = "dry-run-report" if dry_run else "import-report"
    return source.with_name(f"{source.stem}.{kind}.xlsx")


def keep_earlier(path: Path) -> Path | None:
    """An earlier run's report at ``path``, renamed beside it with the moment it was written (UTC):
    ``mapeo.import-report.20211016T143005Z.xlsx``. The run that created the rows keeps its record when the file is
    imported again. None when there was none."""
    if not path.exists():
        return None
    written = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    kept = path.with_name(f"{path.stem}.{written}{path.suffix}")
    for again in range(2, 100):  # two written within one microsecond: neither replaces the other
        if not kept.exists():
            break
        kept = path.with_name(f"{path.stem}.{written}-{again}{path.suffix}")
    path.rename(kept)
    return kept


def write_report(summary: Summary, path: Path, source_name: str, ignored: Mapping[str, Sequence[str]] | None = None) -> Path:
    """The report at ``path``; one already there (an earlier run's) is kept beside it (:func:`keep_earlier`).
    ``ignored``: each sheet's columns the form has no question for (:attr:`~services.imports.exports.Sheet.ignored`).

    Written to a temporary file beside it, then put in place under an exclusive ``flock`` on the folder: two runs
    of one file at once (two people importing the same export) each keep their report, the later one at ``path``
    and the earlier beside it; each saved straight to ``path``, the last one's replaced the other's (tester 33, F5).
    """
    workbook = _workbook(summary, source_name, ignored or {})
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(handle)
    temporary = Path(name)
    try:
        workbook.save(temporary)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            fcntl.flock(folder, fcntl.LOCK_EX)
            keep_earlier(path)
            os.replace(temporary, path)
        finally:
            os.close(folder)  # and its lock with it
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _workbook(summary: Summary, source_name: str, ignored: Mapping[str, Sequence[str]]) -> Workbook:
    workbook = Workbook()
    problems = workbook.active
    problems.title = "Problems"
    problems.append(PROBLEM_COLUMNS)
    for result in summary.results:
        for problem in result.problems:
            cell = problem.cell
            append_row(problems, [cell.sheet, cell.row, cell.column, problem.field, problem.rule, for_a_spreadsheet(problem.message)])
    rows = workbook.create_sheet("Rows")
    rows.append(ROW_COLUMNS)
    for result in summary.results:
        outcome = summary.said(result.outcome)  # a dry run's "would be created", as its summary says (tester 226 F8)
        append_row(rows, [result.where.sheet, result.where.row, result.row.submission.uuid or "", outcome, len(result.problems)])
    unused = workbook.create_sheet("Ignored columns")
    unused.append(IGNORED_COLUMNS)
    for sheet_name, columns in ignored.items():
        for column in columns:
            append_row(unused, [sheet_name, column])
    about = workbook.create_sheet("Summary")
    append_row(about, ["file", source_name])
    about.append(["dry run", "yes" if summary.dry_run else "no"])
    about.append(["result", summary.line()])
    about.append(["columns not in the form, ignored", sum(len(columns) for columns in ignored.values())])
    for sheet in (problems, rows, unused):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    problems.column_dimensions["F"].width = 90
    return workbook
