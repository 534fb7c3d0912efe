"""The indicators as a table people open in Excel or LibreOffice: one row per phase, indicator, part and group.

Both files speak the reader's language (Spanish by default, English with
``lang=en``; the words come from :mod:`.translations`, as on the dashboard):
a row names its phase, indicator, part (``Por nacionalidad: Venezuela``…) and
group (``Todo el programa``, a zone or a district) in words, and carries the
indicator's and part's codes in its last two columns for anyone who reads
the file by program.

- CSV: UTF-8 with a byte-order mark (without it Excel on Windows reads the
  file as cp1252 and "Breña" opens as "BreÃ±a"), comma-separated, CRLF line
  ends, the header on the first line. The as-of moment is in the file's name.
- XLSX: a sheet of figures with its header frozen, column widths set, money
  as numbers with two decimals and rates as percentages; a second sheet of
  properties says what moment the figures are as of and when the file was
  made (and so does the workbook's description), the report's digest (what
  ``osv-replay`` prints for the same cut) and the chain head of each
  service's log that reporting knew (what ``osv-verify --heads`` checks a
  store against). The CSV's answer carries the digest and heads in its
  ``Report-Digest`` and ``Chain-Heads`` headers, so that the file itself
  stays a plain table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from services.reporting.domain.indicators import flatten
from services.reporting.translations import TRANSLATIONS, Language, translator

ALL_GROUPS = "*"
HEADER = ("export.phase", "export.starts_on", "export.ends_on", "export.indicator", "export.part", "export.group", "export.value",
          "export.indicator_code", "export.part_code")
WIDTHS = (22, 12, 12, 58, 42, 26, 14, 34, 30)


@dataclass(frozen=True)
class Row:
    phase: str
    starts_on: str
    ends_on: str
    indicator: str
    part: str
    group: str
    value: Any
    """An int, a Decimal (money or a rate), or text."""
    indicator_code: str
    part_code: str

    def cells(self) -> list[Any]:
        return [self.phase, self.starts_on, self.ends_on, self.indicator, self.part, self.group, self.value, self.indicator_code, self.part_code]


def _words(key: str, t: Callable[..., str]) -> str:
    return t(f"part.{key}") if f"part.{key}" in TRANSLATIONS["es"] else t(f"code.{key}")


def part_label(part: str, t: Callable[..., str]) -> str:
    """``by_nationality.VE`` → "Por nacionalidad: Venezuela"; ``total`` → "Total"; a plain figure's part is empty."""
    if part == "value":
        return ""
    head, _, tail = part.partition(".")
    return f"{_words(head, t)}: {_words(tail, t)}" if tail else _words(head, t)


def _value(indicator: str, value: Any) -> Any:
    """Counts stay integers; money and rates (decimal strings) become exact decimal numbers."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


def rows(report: Mapping[str, Any], lang: Language = "es") -> Iterator[Row]:
    """Every figure of a ``GET /indicators`` answer, one part per row, in words of ``lang``."""
    t = translator(lang)
    blocks: list[tuple[str, Mapping[str, Any]]] = [(ALL_GROUPS, report)]
    if "breakdown" in report:
        blocks += list(report["breakdown"]["groups"].items())
    for group, block in blocks:
        group_label = t("export.all_groups") if group == ALL_GROUPS else group
        phases = [(p["name"], p["starts_on"], p["ends_on"], p["indicators"]) for p in block["phases"]]
        for phase, starts_on, ends_on, figures in [*phases, (t("ui.total"), "", "", block["total"])]:
            for indicator, figure in figures.items():
                for part, value in flatten(figure).items():
                    yield Row(phase, starts_on, ends_on, t(f"indicator.{indicator}"), part_label(part, t), group_label,
                              _value(indicator, value), indicator, "" if part == "value" else part)


def file_name(as_of: datetime | None, generated_at: datetime, extension: str) -> str:
    """``indicators_as_of_2021-12-31T235959Z.csv``: the moment (UTC) the figures are as of, or when they were made, in the name."""
    moment = (as_of or generated_at).astimezone(timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    return f"indicators_as_of_{moment}.{extension}" if as_of else f"indicators_{moment}.{extension}"


def to_csv(report: Mapping[str, Any], as_of: datetime | None, generated_at: datetime, lang: Language = "es") -> bytes:
    """UTF-8 with a byte-order mark, the header on the first line, then a row per figure part."""
    t = translator(lang)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([t(h) for h in HEADER])
    for row in rows(report, lang):
        writer.writerow(row.cells())
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _moment(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def heads_label(heads: Mapping[str, Mapping[str, Any]]) -> str:
    """``funding@7:<hash>,registry@12:<hash>``: each service's chain head, by position."""
    return ",".join(f"{source}@{head['position']}:{head['hash']}" for source, head in sorted(heads.items()))


def to_xlsx(
    report: Mapping[str, Any],
    as_of: datetime | None,
    generated_at: datetime,
    lang: Language = "es",
    digest: str = "",
    heads: Mapping[str, Mapping[str, Any]] | None = None,
) -> bytes:
    """A sheet of figures (header frozen, widths set, money and percentages formatted) and a sheet of properties,
    the digest and the chain heads among them."""
    t = translator(lang)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = t("export.sheet")
    sheet.append([t(h) for h in HEADER])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    for row in rows(report, lang):
        sheet.append(row.cells())
        value = sheet.cell(row=sheet.max_row, column=7)
        if row.indicator_code.endswith("_rate"):
            value.number_format = "0.00%"
        elif row.indicator_code.endswith(("_pen", "_usd")) or row.part_code.endswith(("_pen", "_usd")):
            value.number_format = "#,##0.00"
    sheet.auto_filter.ref = sheet.dimensions

    properties = workbook.create_sheet(t("export.properties"))
    for key, value in (
        ("export.as_of", _moment(as_of) or t("export.as_of_latest")),
        ("export.generated_at", _moment(generated_at)),
        ("export.language", lang),
        ("export.source", "osv-platform GET /indicators"),
        ("export.digest", digest),
        ("export.heads", heads_label(heads or {})),
    ):
        properties.append([t(key), value])
    properties.column_dimensions["A"].width = 34
    properties.column_dimensions["B"].width = 40
    workbook.properties.title = t("export.sheet")
    workbook.properties.description = f"as_of={_moment(as_of) or 'latest'}; generated_at={_moment(generated_at)}"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
