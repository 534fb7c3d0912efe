"""The indicators as a table people open in Excel or LibreOffice: one row per phase, indicator, part and group;
and the activities as an HXL 3W sheet (:func:`to_hxl`).

Both files speak the reader's language (Spanish by default, English with
``lang=en``; the words come from :mod:`.translations`, as on the dashboard):
a row names its phase, indicator, part (``Por nacionalidad: Venezuela``…) and
group (``Todo el programa``, a zone or a district) in words, and carries the
indicator's and part's codes in its last two columns for anyone who reads
the file by program, then a note on the rows that do not add up with their
siblings (an OSV supported in two phases, a person reached in two
districts). Where a lead set them for the phase (on the whole
programme's rows only: targets are the programme's), the part's baseline,
target and share of the target reached (value over target, 4 places; empty
for a target of 0) follow the value, in three columns of their own.

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
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from services.reporting.domain import threew
from services.reporting.domain.indicators import DERIVED, INDICATORS, SPAN, UPTO, flatten
from services.reporting.domain.phasereports import share_reached
from services.reporting.translations import TRANSLATIONS, Language, translator
from shared.clock import LIMA
from shared.spreadsheets import append_row, csv_writer

ALL_GROUPS = "*"
HEADER = ("export.phase", "export.starts_on", "export.ends_on", "export.indicator", "export.part", "export.group", "export.value",
          "export.baseline", "export.target", "export.share_of_target", "export.indicator_code", "export.part_code", "export.note")
WIDTHS = (22, 12, 12, 58, 42, 26, 14, 14, 14, 14, 34, 30, 60)
DATE_COLUMNS = (2, 3)
"""The phase's first and last day (1-based): date cells in the XLSX, so that a sheet sorts and filters them as dates."""
VALUE_COLUMNS = (7, 8, 9)
"""The value, baseline and target columns (1-based), formatted alike; the share of the target follows them."""
CSV_HEADER = tuple("export.share_of_target_ratio" if h == "export.share_of_target" else h for h in HEADER)
"""The CSV's header: its share of the target is a bare ratio (``1.2000`` for 120 %, as machines read it), which the
Spanish "% de la meta alcanzado" had a reader take for 1.2 %; its own header says so (tester 178 F8). The XLSX keeps
"% de la meta alcanzado": it formats the cell as a percentage (120.00%)."""
NOTE_OF_KIND = {SPAN: "export.note_active_each_phase", UPTO: "export.note_at_phase_end", DERIVED: "export.note_rate"}
"""The note of an indicator's rows by its kind: one active over several phases counts in each (and once in the total),
one read at each phase's end is a running figure, a rate is no count."""
NOT_ADDITIVE = {
    **{indicator.name: NOTE_OF_KIND[indicator.kind] for indicator in INDICATORS if indicator.kind in NOTE_OF_KIND},
    "osvs_supported": "export.note_osvs_once",
    "beneficiaries_direct": "export.note_people_once",
    "ruos_applications_observed": "export.note_reasons",
}
"""The indicators whose rows do not add up to their total by design, and the note each of their rows carries in the last
column: an OSV supported in two phases counts in each and once in the programme's total, where it is once first time
and once again (first time and again there add up to more than the total); one person reached in two districts (or two
phases) counts in each; an observation of a RUOS application may cite several reasons; and every indicator of its kind
(:data:`NOTE_OF_KIND`). Without it a donor's pivot table summed them, and got figures the report never gave (tester 247
F5; tester 252 F2: the reasons and the cumulative registrations had no note)."""
Plans = Mapping[tuple[str, str], Mapping[str, Any]]
"""Per (phase code, indicator): ``{"baseline": parts, "target": parts}`` as the leads set them (parts as decimal strings)."""


@dataclass(frozen=True)
class Row:
    phase: str
    starts_on: str
    ends_on: str
    indicator: str
    part: str
    group: str
    value: Any
    """An int, a Decimal (money or a rate), or text; None (an empty cell) in a phase that has not started."""
    indicator_code: str
    part_code: str
    baseline: Decimal | None = None
    target: Decimal | None = None
    share_of_target: Decimal | None = None
    """Value over target, 4 places; None where no target is set or it is 0."""
    note: str = ""
    """Why the row does not add up with its siblings (:data:`NOT_ADDITIVE`); empty for most."""

    def cells(self) -> list[Any]:
        return [self.phase, self.starts_on, self.ends_on, self.indicator, self.part, self.group, self.value,
                self.baseline, self.target, self.share_of_target, self.indicator_code, self.part_code, self.note]


def _words(key: str, t: Callable[..., str]) -> str:
    return t(f"part.{key}") if f"part.{key}" in TRANSLATIONS["es"] else t(f"code.{key}")


def part_label(part: str, t: Callable[..., str]) -> str:
    """``by_nationality.VE`` → "Por nacionalidad: Venezuela"; ``total`` → "Total"; a plain figure's part is empty."""
    if part == "value":
        return ""
    head, _, tail = part.partition(".")
    return f"{_words(head, t)}: {_words(tail, t)}" if tail else _words(head, t)


def as_of_label(as_of: datetime | None, generated_at: datetime) -> str:
    when = as_of.isoformat().replace("+00:00", "Z") if as_of else "latest"
    return f"as_of={when}; generated_at={generated_at.isoformat().replace('+00:00', 'Z')}"


def to_hxl(activities: list[dict[str, Any]], as_of: datetime | None, generated_at: datetime) -> str:
    """The 3W/5W rows (:mod:`services.reporting.domain.threew`) as HXL-hashtagged CSV.

    A byte-order mark (Excel on Windows reads "Breña" right), a first line
    stating the as-of moment, the column headers, the HXL hashtag row, then
    one row per activity.
    """
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv_writer(out)  # CRLF line ends, as every CSV the platform writes
    writer.writerow([f"osv-platform 3W: the OSVs' activities; {as_of_label(as_of, generated_at)}"])
    writer.writerow([header for _, header, _ in threew.COLUMNS])
    writer.writerow([tag for _, _, tag in threew.COLUMNS])
    writer.writerows([row[key] for key, _, _ in threew.COLUMNS] for row in activities)
    return out.getvalue()


def _value(indicator: str, value: Any) -> Any:
    """Counts stay integers; money and rates (decimal strings) become exact decimal numbers."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


def _decimal(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def note(indicator: str, t: Callable[..., str]) -> str:
    """The note of a row that does not add up with its siblings (:data:`NOT_ADDITIVE`), in words; empty for any other."""
    key = NOT_ADDITIVE.get(indicator)
    return t(key) if key else ""


def rows(report: Mapping[str, Any], lang: Language = "es", plans: Plans | None = None, whole: str | None = None) -> Iterator[Row]:
    """Every figure of a ``GET /indicators`` answer, one part per row, in words of ``lang``.

    ``whole`` names the report's own group: the whole programme by default, or the municipalities a
    focal point's report is the share of (so that a forwarded file never reads as the programme's).

    A phase's row of the whole programme carries the part's baseline, target and share of the target reached
    where ``plans`` (:meth:`Reporting.plans <services.reporting.application.Reporting.plans>`) set them; a part
    the target names that the figure lacks gets a row of its own, with a value of 0. A phase that has not started
    (its ``status``) has no figures: its rows carry an empty value (and no share), its targets still. A row that does
    not add up with its siblings says why in its last column (:func:`note`).
    """
    t = translator(lang)
    plans = plans or {}
    blocks: list[tuple[str, Mapping[str, Any]]] = [(ALL_GROUPS, report)]
    if "breakdown" in report:
        blocks += list(report["breakdown"]["groups"].items())
    for group, block in blocks:
        group_label = (whole or t("export.all_groups")) if group == ALL_GROUPS else group
        phases = [(p["code"], p["name"], p["starts_on"], p["ends_on"], p["indicators"], p.get("status") != "not_started") for p in block["phases"]]
        for code, phase, starts_on, ends_on, figures, started in [*phases, (None, t("ui.total"), "", "", block["total"], True)]:
            for indicator, figure in figures.items():
                plan = plans.get((code, indicator)) if group == ALL_GROUPS and code is not None else None
                baseline, target = (plan["baseline"], plan["target"]) if plan else ({}, {})
                shares = share_reached(figure, target) if plan and started else {}
                parts = flatten(figure)
                for part in [*parts, *(p for p in target if p not in parts)]:
                    yield Row(phase, starts_on, ends_on, t(f"indicator.{indicator}"), part_label(part, t), group_label,
                              _value(indicator, parts.get(part, 0)) if started else None, indicator, "" if part == "value" else part,
                              _decimal(baseline.get(part)), _decimal(target.get(part)), _decimal(shares.get(part)), note(indicator, t))


def file_name(as_of: datetime | None, generated_at: datetime, extension: str, stem: str = "indicators") -> str:
    """``indicators_as_of_2021-12-31T235959-0500.csv``: the moment the figures are as of, or when they were made
    (``indicators_2021-…``), in Lima time with its offset: in UTC the end of 2025 in Lima was named 2026-01-01, and donors
    filed it under the wrong year (tester 37c F8). ``stem``: what the file holds (``osv-3w``, ``iati-activity``): each
    export is named so, or two cuts downloaded one after the other were the same file (tester 37c F8). An ``as_of`` within
    a second keeps its microseconds (``…T235959.417673-0500``): a cut at an event's recorded instant and one a
    microsecond before it are different figures, and were one file name (tester 149 F2)."""
    within_a_second = as_of is not None and as_of.microsecond != 0
    moment = (as_of or generated_at).astimezone(LIMA).strftime("%Y-%m-%dT%H%M%S.%f%z" if within_a_second else "%Y-%m-%dT%H%M%S%z")
    return f"{stem}_as_of_{moment}.{extension}" if as_of else f"{stem}_{moment}.{extension}"


def to_csv(
    report: Mapping[str, Any],
    as_of: datetime | None,
    generated_at: datetime,
    lang: Language = "es",
    plans: Plans | None = None,
    whole: str | None = None,
) -> bytes:
    """UTF-8 with a byte-order mark, the header on the first line, then a row per figure part (with ``plans``' targets;
    ``whole`` as in :func:`rows`)."""
    t = translator(lang)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([t(h) for h in CSV_HEADER])  # the header is the platform's own words
    writer = csv_writer(out)
    for row in rows(report, lang, plans, whole):
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
    plans: Plans | None = None,
    whole: str | None = None,
) -> bytes:
    """A sheet of figures (header frozen, widths set, money and percentages formatted; with ``plans``' targets;
    ``whole`` as in :func:`rows`) and a sheet of properties, what the figures cover, the digest and the chain heads among them."""
    t = translator(lang)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = t("export.sheet")
    append_row(sheet, [t(h) for h in HEADER])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    share_column = VALUE_COLUMNS[-1] + 1
    for row in rows(report, lang, plans, whole):
        cells = append_row(sheet, row.cells())  # the row's own cells: sheet.max_row scans the whole sheet (tester 212 F5)
        for column in DATE_COLUMNS:  # text in the CSV, a date cell here (a total's row has none: left empty)
            cell = cells[column - 1]
            if isinstance(cell.value, str) and cell.value:
                cell.value, cell.number_format = date.fromisoformat(cell.value), "yyyy-mm-dd"
        if row.indicator_code.endswith("_rate"):
            number_format = "0.00%"
        elif row.indicator_code.endswith(("_pen", "_usd")) or row.part_code.endswith(("_pen", "_usd")):
            number_format = "#,##0.00"
        else:
            number_format = None
        if number_format:
            for column in VALUE_COLUMNS:
                cells[column - 1].number_format = number_format
        cells[share_column - 1].number_format = "0.00%"
    sheet.auto_filter.ref = sheet.dimensions

    properties = workbook.create_sheet(t("export.properties"))
    for key, value in (
        ("export.as_of", _moment(as_of) or t("export.as_of_latest")),
        ("export.generated_at", _moment(generated_at)),
        ("export.language", lang),
        ("export.source", "osv-platform GET /indicators"),
        ("export.covers", whole or t("export.all_groups")),
        ("export.digest", digest),
        ("export.heads", heads_label(heads or {})),
    ):
        append_row(properties, [t(key), value])
    properties.column_dimensions["A"].width = 34
    properties.column_dimensions["B"].width = 40
    workbook.properties.title = t("export.sheet")
    workbook.properties.description = f"as_of={_moment(as_of) or 'latest'}; generated_at={_moment(generated_at)}"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
