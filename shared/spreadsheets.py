"""Files people open in Excel or LibreOffice: text written as text, never as a formula ("CSV injection").

An OSV's name comes from the field (a promoter's Kobo form, a staff member's
typing) and a phase's name from a lead; a value such as
``=HYPERLINK("http://…"&A1,"Ver informe")`` written as is becomes a live
formula in the workbook a donor or an auditor opens.

- **CSV** (the indicators, the HXL 3W sheet, ``osv-import osvs``): through
  `defusedcsv <https://pypi.org/project/defusedcsv/>`_, which prefixes ``'``
  to a text field starting with ``= + - @ | %`` (numbers, ``-12.5``, are left
  alone), as OWASP's *CSV Injection* advises; and to one starting with a tab
  or a carriage return, which OWASP lists too and defusedcsv lets through
  (a spreadsheet may drop the leading blank and read the ``=`` after it). The
  APIs trim every text they take, but the exports are written from events,
  whatever wrote them. A CSV has no cell types, so this is the one way to keep
  a spreadsheet from evaluating it.
- **XLSX** (openpyxl): a string starting with ``=`` is stored as a formula, and one that is an error code
  (``#N/A``) as an error; :func:`append_row` stores either as a string cell instead, its text unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TextIO

from defusedcsv import csv as defused_csv
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

LEADING_BLANKS = ("\t", "\r")
"""What OWASP lists beside ``= + - @`` as a field's first character to escape, and defusedcsv does not."""


def _defused(field: Any) -> Any:
    """``field``, prefixed with ``'`` if it is a text starting with a tab or a carriage return (defusedcsv sees to the rest)."""
    return "'" + field if isinstance(field, str) and field.startswith(LEADING_BLANKS) else field


class _Writer:
    """defusedcsv's writer, each field escaped for :data:`LEADING_BLANKS` first."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([_defused(field) for field in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)


def csv_writer(out: TextIO, **options: Any) -> Any:
    """A :func:`csv.writer` on ``out`` (same ``options``) whose text fields never start a formula (see the module).

    Rows end in CRLF (RFC 4180), whatever ``options`` say: Python's csv quotes a field only for the line end's own
    characters, so with a bare ``\n`` a carriage return inside a text went out unquoted, and a spreadsheet
    began a new row there, its first cell the rest of the text (``=1+1…``), past any escaping of the field's start.
    """
    return _Writer(defused_csv.writer(out, **{**options, "lineterminator": "\r\n"}))


TAKEN_FOR_NO_TEXT = frozenset({"f", "e"})
"""openpyxl's cell types a text is given that are no text: a formula (``=…``) and an error (``#N/A``, ``#REF!``: a name
typed so was an error cell in the workbook, tester 310 F1)."""


def append_row(sheet: Worksheet, values: Iterable[Any]) -> list[Cell]:
    """``sheet.append(values)``, each text cell kept as text: one openpyxl would store as a formula or an error code
    (:data:`TAKEN_FOR_NO_TEXT`) is stored as a string.

    Returns the row's cells, for the caller to format. The cells are made here and handed to ``append``: finding the
    row again (``sheet[sheet.max_row]``) scanned every cell of the sheet, for every row, and an export of 5,000 rows
    took a minute (tester 212 F5)."""
    cells = [Cell(sheet, value=value) for value in values]
    for cell in cells:
        if isinstance(cell.value, str) and cell.data_type in TAKEN_FOR_NO_TEXT:
            cell.data_type = "s"
    sheet.append(cells)
    return cells
