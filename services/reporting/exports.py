"""The indicators as a table, for spreadsheets: one row per phase, indicator, part and group.

Columns: ``phase`` (a code, or ``total``), ``indicator``, ``breakdown`` (the
part of the figure: empty for a plain figure, ``total``, ``by_nationality.VE``,
``by_sex.F``, ``moved_abroad``…), ``group`` (``all``, or a zone or district)
and ``value``. Every export says, before the table, the moment it reports as of.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from services.reporting.domain import threew
from services.reporting.domain.indicators import flatten

COLUMNS = ("phase", "indicator", "breakdown", "group", "value")
ALL_GROUPS = "all"


def rows(report: Mapping[str, Any]) -> Iterator[tuple[str, str, str, str, Any]]:
    """Every figure of a ``GET /indicators`` answer, one part per row."""
    blocks = [(ALL_GROUPS, report)]
    if "breakdown" in report:
        blocks += list(report["breakdown"]["groups"].items())
    for group, block in blocks:
        for code, figures in [*((p["code"], p["indicators"]) for p in block["phases"]), ("total", block["total"])]:
            for indicator, figure in figures.items():
                for part, value in flatten(figure).items():
                    yield code, indicator, "" if part == "value" else part, group, value


def as_of_label(as_of: datetime | None, generated_at: datetime) -> str:
    when = as_of.isoformat().replace("+00:00", "Z") if as_of else "latest"
    return f"as_of={when}; generated_at={generated_at.isoformat().replace('+00:00', 'Z')}"


def to_csv(report: Mapping[str, Any], as_of: datetime | None, generated_at: datetime) -> str:
    """CSV with a first comment line stating the as-of moment, then a header row."""
    out = io.StringIO()
    out.write(f"# osv-platform indicators; {as_of_label(as_of, generated_at)}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(report))
    return out.getvalue()


def to_hxl(activities: list[dict[str, Any]], as_of: datetime | None, generated_at: datetime) -> str:
    """The 3W/5W rows (:mod:`services.reporting.domain.threew`) as HXL-hashtagged CSV.

    A byte-order mark (Excel on Windows reads "Breña" right), a first line
    stating the as-of moment, the column headers, the HXL hashtag row, then
    one row per activity.
    """
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"osv-platform 3W: the OSVs' activities; {as_of_label(as_of, generated_at)}"])
    writer.writerow([header for _, header, _ in threew.COLUMNS])
    writer.writerow([tag for _, _, tag in threew.COLUMNS])
    writer.writerows([row[key] for key, _, _ in threew.COLUMNS] for row in activities)
    return out.getvalue()


def _cell(value: Any) -> Any:
    """Counts stay integers; money (decimal strings) becomes an exact decimal number cell."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


def to_xlsx(report: Mapping[str, Any], as_of: datetime | None, generated_at: datetime) -> bytes:
    """One sheet: the as-of moment in A1:B1 (and the workbook's description), the header on row 3."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "indicators"
    sheet.append(["as_of", as_of.isoformat().replace("+00:00", "Z") if as_of else "latest"])
    sheet.append(["generated_at", generated_at.isoformat().replace("+00:00", "Z")])
    sheet.append(list(COLUMNS))
    for row in rows(report):
        sheet.append([*row[:4], _cell(row[4])])
    workbook.properties.title = "osv-platform indicators"
    workbook.properties.description = as_of_label(as_of, generated_at)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
