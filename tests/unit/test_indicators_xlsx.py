"""The indicators' XLSX export of a large breakdown: every row written and formatted, each row's cells reached directly.

Tester 212 F5: ``by=district`` (28 districts, 5,430 rows) took 40-70 s, as each cell of each row was found again through
``sheet.max_row``, which openpyxl computes over every cell of the sheet. The time is ``make bench``'s; this says how
the rows are reached, and that a large export is whole.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from services.reporting import exports

GENERATED = datetime(2022, 2, 1, 15, tzinfo=timezone.utc)


def figures(k: int) -> dict[str, Any]:
    return {"osvs_identified": k, "ruos_registration_rate": "0.4167", "disbursed_pen": "1500.50",
            "members_joined": {"total": k + 2, "by_nationality": {"VE": k, "PE": 2}}}


def a_report(groups: int) -> dict[str, Any]:
    phases = [{"code": f"F{i}-2022", "name": f"Fase {i}", "starts_on": "2022-01-01", "ends_on": "2022-06-30",
               "indicators": figures(i), "status": "closed"} for i in (1, 2)]
    return {"phases": phases, "total": figures(3),
            "breakdown": {"groups": {f"Distrito {g}": {"phases": phases, "total": figures(g)} for g in range(groups)}}}


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Each time ``sheet.max_row`` is read, i.e. each scan of a sheet's every cell."""
    counted: list[int] = []
    computed = Worksheet.max_row.fget

    def counting(sheet: Worksheet) -> int:
        counted.append(1)
        return computed(sheet)

    monkeypatch.setattr(Worksheet, "max_row", property(counting))
    yield counted


def test_an_export_does_not_scan_its_sheet_again_for_each_row(scans: list[int]) -> None:
    """As many scans of the sheet for 40 districts as for 4: the work grows with the rows, not with their square."""
    exports.to_xlsx(a_report(4), None, GENERATED)
    few = len(scans)
    scans.clear()
    exports.to_xlsx(a_report(40), None, GENERATED)
    assert len(scans) == few


def test_a_breakdown_of_many_groups_is_exported_whole_each_row_formatted() -> None:
    report = a_report(60)
    expected = [row.cells() for row in exports.rows(report, "en")]
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(report, None, GENERATED, "en")))["Indicators"]
    written = list(sheet.iter_rows(min_row=2))
    assert len(written) == len(expected) > 1000
    assert [c.value for c in written[-1]][3:7] == expected[-1][3:7]
    for cells, row in zip(written, expected, strict=True):
        code = row[10]
        money = "#,##0.00" if code.endswith("_pen") else "0.00%" if code.endswith("_rate") else "General"
        day = "yyyy-mm-dd" if row[1] else "General"  # a total's row has no dates
        assert (cells[1].number_format, cells[6].number_format, cells[9].number_format) == (day, money, "0.00%")
