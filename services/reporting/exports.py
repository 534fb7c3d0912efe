"""The indicators as a table, for spreadsheets: one row per phase, indicator, part and group; and the HXL 3W sheet.

Columns: ``phase`` (a code, or ``total``), ``indicator``, ``breakdown`` (the
part of the figure: empty for a plain figure, ``total``, ``by_nationality.VE``,
``by_sex.F``, ``moved_abroad``…), ``group`` (``all``, or a zone or district)
and ``value``; then, where a lead set them for the phase (group ``all``
only), that part's ``baseline``, ``target`` and ``share_of_target`` (value
over target, 4 places; empty for a target of 0). Every export says, before
the table, the moment it reports as of.
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
from services.reporting.domain.phasereports import share_reached

COLUMNS = ("phase", "indicator", "breakdown", "group", "value", "baseline", "target", "share_of_target")
ALL_GROUPS = "all"
Plans = Mapping[tuple[str, str], Mapping[str, Any]]
"""Per (phase code, indicator): ``{"baseline": parts, "target": parts}`` as the leads set them."""


def rows(report: Mapping[str, Any], plans: Plans | None = None) -> Iterator[tuple[Any, ...]]:
    """Every figure of a ``GET /indicators`` answer, one part per row, with the part's baseline, target and share reached if set."""
    plans = plans or {}
    blocks = [(ALL_GROUPS, report)]
    if "breakdown" in report:
        blocks += list(report["breakdown"]["groups"].items())
    for group, block in blocks:
        for code, figures in [*((p["code"], p["indicators"]) for p in block["phases"]), ("total", block["total"])]:
            for indicator, figure in figures.items():
                plan = plans.get((code, indicator)) if group == ALL_GROUPS else None
                shares = share_reached(figure, plan["target"]) if plan else {}
                parts = flatten(figure)
                for part in [*parts, *(p for p in (plan["target"] if plan else {}) if p not in parts)]:
                    baseline = plan["baseline"].get(part, "") if plan else ""
                    target = plan["target"].get(part, "") if plan else ""
                    share = shares.get(part) or ""
                    yield code, indicator, "" if part == "value" else part, group, parts.get(part, 0), baseline, target, share


def as_of_label(as_of: datetime | None, generated_at: datetime) -> str:
    when = as_of.isoformat().replace("+00:00", "Z") if as_of else "latest"
    return f"as_of={when}; generated_at={generated_at.isoformat().replace('+00:00', 'Z')}"


def to_csv(report: Mapping[str, Any], as_of: datetime | None, generated_at: datetime, plans: Plans | None = None) -> str:
    """CSV with a first comment line stating the as-of moment, then a header row."""
    out = io.StringIO()
    out.write(f"# osv-platform indicators; {as_of_label(as_of, generated_at)}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(report, plans))
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


def to_xlsx(report: Mapping[str, Any], as_of: datetime | None, generated_at: datetime, plans: Plans | None = None) -> bytes:
    """One sheet: the as-of moment in A1:B1 (and the workbook's description), the header on row 3."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "indicators"
    sheet.append(["as_of", as_of.isoformat().replace("+00:00", "Z") if as_of else "latest"])
    sheet.append(["generated_at", generated_at.isoformat().replace("+00:00", "Z")])
    sheet.append(list(COLUMNS))
    for row in rows(report, plans):
        sheet.append([*row[:4], *(_cell(value) if value != "" else None for value in row[4:])])
    workbook.properties.title = "osv-platform indicators"
    workbook.properties.description = as_of_label(as_of, generated_at)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
