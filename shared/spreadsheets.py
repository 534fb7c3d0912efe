"""Files people open in Excel or LibreOffice: text written as text, never as a formula ("CSV injection").

An OSV's name comes from the field (a promoter's Kobo form, a staff member's
typing) and a phase's name from a lead; a value such as
``=HYPERLINK("http://…"&A1,"Ver informe")`` written as is becomes a live
formula in the workbook a donor or an auditor opens.

- **CSV** (the indicators, the HXL 3W sheet, ``osv-import osvs``): through
  `defusedcsv <https://pypi.org/project/defusedcsv/>`_, which prefixes ``'``
  to a text field starting with ``= + - @ | %`` (numbers, ``-12.5``, are left
  alone), as OWASP's *CSV Injection* advises. A CSV has no cell types, so
  this is the one way to keep a spreadsheet from evaluating it.
- **XLSX** (openpyxl): a string starting with ``=`` is stored as a formula;
  :func:`append_row` stores it as a string cell instead, its text unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TextIO

from defusedcsv import csv as defused_csv
from openpyxl.worksheet.worksheet import Worksheet


def csv_writer(out: TextIO, **options: Any) -> Any:
    """A :func:`csv.writer` on ``out`` (same ``options``) whose text fields never start a formula (see the module)."""
    return defused_csv.writer(out, **options)


def append_row(sheet: Worksheet, values: Iterable[Any]) -> None:
    """``sheet.append(values)``, each text cell kept as text: one openpyxl would store as a formula is stored as a string."""
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and cell.data_type == "f":
            cell.data_type = "s"
