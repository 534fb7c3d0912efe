"""The indicators as a table, for spreadsheets: one row per phase, indicator, part and group.

Columns: ``phase`` (a code, or ``total``), ``indicator``, ``breakdown`` (the
part of the figure: empty for a plain figure, ``total``, ``by_nationality.VE``,
``by_sex.F``, ``moved_abroad``…), ``group`` (``all``, or a zone or district)
and ``value``. Every export says, before the table, the moment it reports as of,
the report's digest (what ``osv-replay`` prints for the same cut) and the
chain heads of each service's log that reporting knew (what ``osv-verify
--heads`` checks a store against).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

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


def heads_label(heads: Mapping[str, Mapping[str, Any]]) -> str:
    """``registry@12:<hash>,funding@7:<hash>``: each service's chain head, by position."""
    return ",".join(f"{source}@{head['position']}:{head['hash']}" for source, head in sorted(heads.items()))


def to_csv(
    report: Mapping[str, Any], as_of: datetime | None, generated_at: datetime, digest: str = "", heads: Mapping[str, Any] | None = None
) -> str:
    """CSV with a first comment line stating the as-of moment, the digest and the chain heads, then a header row."""
    out = io.StringIO()
    out.write(f"# osv-platform indicators; {as_of_label(as_of, generated_at)}; digest={digest}; heads={heads_label(heads or {})}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(report))
    return out.getvalue()


def _cell(value: Any) -> Any:
    """Counts stay integers; money (decimal strings) becomes an exact decimal number cell."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


def to_xlsx(
    report: Mapping[str, Any], as_of: datetime | None, generated_at: datetime, digest: str = "", heads: Mapping[str, Any] | None = None
) -> bytes:
    """The indicators' sheet: the as-of moment in A1:B1 (and the workbook's description), the header on row 3;
    the ``evidence`` sheet: the digest, and a row per service's chain head (service, position, hash)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "indicators"
    sheet.append(["as_of", as_of.isoformat().replace("+00:00", "Z") if as_of else "latest"])
    sheet.append(["generated_at", generated_at.isoformat().replace("+00:00", "Z")])
    sheet.append(list(COLUMNS))
    for row in rows(report):
        sheet.append([*row[:4], _cell(row[4])])
    evidence = workbook.create_sheet("evidence")
    evidence.append(["digest", digest])
    evidence.append(["service", "position", "hash"])
    for source, head in sorted((heads or {}).items()):
        evidence.append([source, head["position"], head["hash"]])
    workbook.properties.title = "osv-platform indicators"
    workbook.properties.description = as_of_label(as_of, generated_at)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
