"""Kobo's exports and REST Services posts, read into submissions: each answer with the cell it came from.

A Kobo XLSX export has the main section on its first sheet (read wherever it is: :func:`main_sheet`; named after the
form's title) and one sheet per repeat group (named after the repeat), each
with a header row. Headers are the questions' names, with their group path
(``osv/nombre``) or without, or their labels ("Nombre de la OSV", with the
groups' labels before them) in either language. Values are XML values or
labels; a ``select_multiple`` is one column of space-separated answers and,
in the default layout, one more column per option (``ejes/health``: 1 or 0).
Kobo adds ``_uuid``, ``_submission_time``, ``_id`` and others; a section
with repeats gets ``_index``, and each repeat row ``_parent_index`` (its
submission's ``_index``), ``_parent_table_name`` and ``_submission__uuid``.

A CSV export is the main section only (Kobo leaves repeat groups out of
CSV): semicolons, commas or tabs, UTF-8 with or without a byte-order mark,
the cp1252 that Excel on Windows saves, the UTF-16 of Excel's "Texto
Unicode", UTF-32, lines ending in CR LF, LF or CR
(:mod:`services.imports.csvtext`). A form with repeat groups cannot be
imported from a CSV, since what the repeats held would be lost in silence.

Kobo's REST Services post one submission as JSON: keys are the questions'
group paths, a repeat is a list of objects keyed by their own full paths.

A submission edited in Kobo gets a new ``_uuid`` (and ``meta/instanceID``);
since 2025 Kobo keeps ``meta/rootUuid``, the ``_uuid`` it was first sent
with, the same across its edits, and an edit carries ``meta/deprecatedID``:
both are read, in an export (headed with or without their group ``meta/``)
and in a post, so that an edit is keyed as the submission it edits
(:attr:`Submission.key_uuid`).

Nothing here checks a value: the APIs do. Columns the form does not name are
ignored, and listed (:attr:`Sheet.ignored`), so a renamed column shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import islice
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError
from zipfile import BadZipFile, ZipFile, is_zipfile
from zlib import error as ZlibError

from openpyxl import load_workbook
from openpyxl.utils.escape import unescape
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.xml.functions import fromstring

from services.imports.csvtext import UnreadableText, csv_rows, csv_text
from services.imports.domain.submissions import DEPRECATED_ID, ROOT_UUID, Cell, Entry, Submission, kobo_uuid
from services.imports.forms import Form, Question, fold

KOBO_COLUMNS = frozenset(
    {"_uuid", "_submission_time", "_id", "_index", "_parent_index", "_parent_table_name", "_validation_status", "_notes",
     "_status", "_submitted_by", "__version__", "_tags", "meta/instanceid", "instanceid", "formhub/uuid", "_xform_id_string",
     "_attachments", "_geolocation", "_version_", "meta/rootuuid", "rootuuid", "meta/deprecatedid", "deprecatedid"}
)
"""Kobo's own columns (folded: :func:`~services.imports.forms.fold`), never listed as ignored. ``meta/...`` ones are
headed without their group (``rootUuid``) in an export made without "include groups in headers"."""


class ExportError(ValueError):
    """The file cannot be read as an export of the form: not the form's, a repeat's sheet missing, CSV with repeats."""


@dataclass
class Sheet:
    """What reading an export found: the submissions, in file order, and the columns it did not use."""

    form: Form
    submissions: list[Submission]
    ignored: dict[str, list[str]] = field(default_factory=dict)


# Values as the export gives them ---------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A cell as text or None: Excel dates become ISO dates, whole numbers lose their ``.0``, booleans read TRUE/FALSE."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):  # as Excel shows it: a count cell holding TRUE was taken as 1 (tester 36d F1)
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


# Headers --------------------------------------------------------------------------------------------


@dataclass
class _Layout:
    """Which column is which question, for one sheet."""

    columns: dict[int, Question]
    options: dict[int, tuple[Question, str]]
    meta: dict[str, int]
    headers: list[str]
    ignored: list[str]


def _layout(form: Form, repeat: str | None, headers: list[str]) -> _Layout:
    index = form.header_index(repeat)
    options = {
        head: (question, value)
        for question in form.in_section(repeat)
        if question.type == "select_multiple"
        for head, value in form.option_headers(question).items()
    }
    layout = _Layout({}, {}, {}, headers, [])
    for place, header in enumerate(headers):
        key = fold(header)
        if not key:
            continue
        if key in index and index[key] not in layout.columns.values():
            layout.columns[place] = index[key]
        elif key in options:
            layout.options[place] = options[key]
        elif key.startswith("_") or key in KOBO_COLUMNS or key in form.without_data:
            layout.meta.setdefault(key, place)
        else:
            layout.ignored.append(header)
    return layout


def _entry(layout: _Layout, sheet: str, row_number: int, row: list[Any], form: Form) -> Entry:
    entry = Entry(sheet, row_number)
    for place, question in layout.columns.items():
        value = plain(row[place]) if place < len(row) else None
        entry.cells[question.name] = Cell(sheet, row_number, layout.headers[place])
        if value is not None:
            entry.values[question.name] = value
    ticked: dict[str, list[str]] = {}
    for place, (question, option) in layout.options.items():
        value = plain(row[place]) if place < len(row) else None
        if value not in (None, "0", "false", "False"):
            ticked.setdefault(question.name, []).append(option)
        entry.cells.setdefault(question.name, Cell(sheet, row_number, layout.headers[place].rsplit("/", 1)[0]))
    for name, options in ticked.items():
        entry.values.setdefault(name, " ".join(options))
    return entry


def _meta(layout: _Layout, row: list[Any], name: str) -> str | None:
    place = layout.meta.get(name)
    return plain(row[place]) if place is not None and place < len(row) else None


def _ids(layout: _Layout, row: list[Any]) -> dict[str, Any]:
    """A main row's Kobo ids as :class:`Submission` takes them: its ``_uuid``, its ``meta/rootUuid`` without ``uuid:``
    (headed ``rootUuid`` without groups in headers), whether it has a ``meta/deprecatedID`` (an edit), and the headers
    those two were found under, so that a problem names the column as the file heads it (tester 280 F5)."""
    root, root_header = _kobo_meta(layout, row, ROOT_UUID)
    deprecated, deprecated_header = _kobo_meta(layout, row, DEPRECATED_ID)
    headers = {name: header for name, header in ((ROOT_UUID, root_header), (DEPRECATED_ID, deprecated_header)) if header}
    return {"uuid": _meta(layout, row, "_uuid"), "root_uuid": kobo_uuid(root), "deprecated": kobo_uuid(deprecated) is not None,
            "meta_headers": headers}


def _kobo_meta(layout: _Layout, row: list[Any], name: str) -> tuple[str | None, str | None]:
    """The row's answer to Kobo's meta column ``name`` (``meta/rootUuid``), headed with its group or without it
    (``rootUuid``), the first given, and the header of its column as the file writes it; None for a column it lacks."""
    keys = [key for key in (fold(name), fold(name.rsplit("/", 1)[-1])) if key in layout.meta]
    key = next((key for key in keys if _meta(layout, row, key) is not None), keys[0] if keys else None)
    if key is None:
        return None, None
    return _meta(layout, row, key), layout.headers[layout.meta[key]]


def _check_form(form: Form, layout: _Layout, sheet: str) -> None:
    if not layout.columns and not layout.options:
        msg = f"sheet {sheet!r} has none of the columns of the form {form.form_id!r}: is it an export of another form?"
        raise ExportError(msg)


# XLSX ----------------------------------------------------------------------------------------------------


def _unescaped(value: Any) -> Any:
    """A cell's text with the workbook's ``_xHHHH_`` escapes read back (``openpyxl.utils.escape.unescape``): Excel keeps a
    control character so (a vertical tab pasted in a name: ``_x000B_``), and openpyxl reads it as it stands, so it went
    through as those letters, unchecked (tester 231 F3); read back, the import refuses it on its column."""
    return unescape(value) if isinstance(value, str) and "_x" in value else value


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
"""The extensions of a workbook the import reads (openpyxl's own, but its templates')."""
TEXT_SUFFIXES = (".csv", ".txt")
"""The extensions of a CSV export (``.txt``: Excel's "Texto Unicode")."""
SAVE_AS_XLSX = 'save it as .xlsx (in Excel, File > Save as, "Libro de Excel") and import that'
OTHER_SPREADSHEETS = {
    ".xls": f"is an Excel 97-2003 workbook: {SAVE_AS_XLSX}",
    ".ods": "is an OpenDocument spreadsheet (LibreOffice, Google Sheets): save it as .xlsx and import that",
}
"""What a spreadsheet of another program's format is told (openpyxl's ``InvalidFileException`` ended it in a
traceback, exit 1: tester 280 F2)."""
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""How an Excel 97-2003 workbook (``.xls``) begins."""
UNREADABLE_WORKBOOK = (BadZipFile, KeyError, ParseError, ZlibError, EOFError, InvalidFileException)
"""What openpyxl and zipfile raise on a file that is no workbook or a damaged one: not a zip, a zip without a workbook's
parts, a part cut short or not XML (``ParseError``: tester 280 F2), a part whose CRC or compressed data is wrong."""


def export_kind(path: Path) -> str:
    """``"xlsx"`` or ``"csv"``: how the export ``path`` is read, by its extension; ExportError, one line naming the file,
    for any other (an ``.xls`` or ``.ods`` told to be saved as ``.xlsx``): each was opened as a workbook, and openpyxl's
    ``InvalidFileException`` ended the import in a traceback (tester 280 F2)."""
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return "xlsx"
    if suffix in TEXT_SUFFIXES:
        return "csv"
    if suffix in OTHER_SPREADSHEETS:
        raise ExportError(f"{path.name}: {OTHER_SPREADSHEETS[suffix]}")
    raise ExportError(f"{path.name}: an export is .xlsx or .csv")


def workbook_sheets(path: Path, most: int | None = None) -> dict[str, list[list[Any]]]:
    """The XLSX ``path``'s sheets by title, in order, each its rows of values (its first ``most``, or all; the workbook's
    ``_xHHHH_`` escapes read back: :func:`_unescaped`).

    Raises ExportError, one line naming the file and never a byte of it, for one openpyxl cannot read
    (:data:`UNREADABLE_WORKBOOK`): no zip file (a CSV renamed ``.xlsx``, a file cut short: tester 276 F7), an Excel
    97-2003 workbook renamed ``.xlsx``, a zip file holding no workbook, or a workbook one of whose parts cannot be read,
    named (``xl/styles.xml``, a sheet cut short: tester 280 F2); each ended the import in a traceback, exit 1."""
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            return {
                ws.title: [[_unescaped(v) for v in r] for r in islice(ws.iter_rows(values_only=True), most)]
                for ws in workbook.worksheets
            }
        finally:
            workbook.close()
    except UNREADABLE_WORKBOOK:
        raise ExportError(_why_no_workbook(path)) from None


def _why_no_workbook(path: Path) -> str:
    again = "export the workbook from Kobo again"
    if not is_zipfile(path):
        with path.open("rb") as file:
            if file.read(len(OLE_SIGNATURE)) == OLE_SIGNATURE:
                return f"{path.name}: is an Excel 97-2003 workbook renamed {path.suffix}: {SAVE_AS_XLSX}"
        return (
            f"{path.name}: is no XLSX workbook (a workbook is a zip file of its sheets, and this is none: a CSV renamed "
            f"{path.suffix}, or a file cut short?): import a CSV named .csv, or {again}"
        )
    with ZipFile(path) as archive:
        names = set(archive.namelist())
        if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
            return f"{path.name}: is a zip file, as a workbook is, but holds no workbook (no xl/workbook.xml): {again}"
        part = _broken_part(archive)
    broken = f"its part {part} cannot be read" if part else "one of its parts cannot be read"
    return f"{path.name}: is a damaged XLSX workbook: {broken} (cut short, or not what Excel writes): {again}"


def _broken_part(archive: ZipFile) -> str | None:
    """The name of the first part of a workbook's zip file that cannot be read: its data wrong (a CRC, the compressed
    stream), or, for an XML part, no XML; None when every part reads."""
    for info in archive.infolist():
        try:
            data = archive.read(info)
            if info.filename.endswith((".xml", ".rels")):
                fromstring(data)
        except (BadZipFile, ParseError, ZlibError, EOFError):
            return info.filename
    return None


def _header(rows: list[list[Any]]) -> list[str]:
    """A sheet's header row as text ("" for a blank header), or none for a sheet without rows."""
    return [str(plain(h) or "") for h in (rows[0] if rows else [])]


def _repeat_titles(form: Form, repeat: str) -> set[str]:
    """The titles (folded) Kobo gives the sheet of ``form``'s repeat group ``repeat``: its name or a label, cut to Excel's
    31 characters."""
    return {fold(repeat), fold(repeat[:31]), *(fold(label[:31]) for label in form.repeats[repeat] if label)}


def main_sheet(form: Form, sheets: Mapping[str, list[list[Any]]]) -> str | None:
    """The title of the sheet holding ``form``'s main section among a workbook's ``sheets`` (in order, each its rows, the
    header first): the first not titled as one of its repeat groups (:func:`_repeat_titles`) whose header names one of
    the main section's questions. Kobo writes it first, but a workbook whose sheets were reordered in Excel (the repeat's
    sheet moved first) was refused, "has none of the columns of the form" (tester 296 F3). None when no sheet does."""
    repeats = set().union(*(_repeat_titles(form, repeat) for repeat in form.repeats))
    for title, rows in sheets.items():
        layout = _layout(form, None, _header(rows))
        if fold(title) not in repeats and (layout.columns or layout.options):
            return title
    return None


def _no_main_sheet(path: Path, form: Form, sheets: Mapping[str, list[list[Any]]]) -> ExportError:
    """Why no sheet of the workbook ``path`` is ``form``'s main section: its only sheet, or its first but for the repeat
    groups' own, has none of its columns (an export of another form?), or every sheet is titled as a repeat group."""
    repeats = set().union(*(_repeat_titles(form, repeat) for repeat in form.repeats))
    others = [title for title in sheets if fold(title) not in repeats]
    if not others:
        found = ", ".join(repr(title) for title in sheets)
        return ExportError(
            f"{path.name}: none of its sheets ({found}) holds the main section of the form {form.form_id!r}, only its "
            f"repeat groups ({', '.join(form.repeats)}): export the workbook from Kobo again"
        )
    return ExportError(f"sheet {others[0]!r} has none of the columns of the form {form.form_id!r}: is it an export of another form?")


def read_xlsx(path: Path, form: Form) -> Sheet:
    """Read a Kobo XLSX export of ``form``: the sheet of its main section (:func:`main_sheet`: Kobo's first, in whatever
    place), and a sheet per repeat group that has answers, found by its title."""
    sheets = workbook_sheets(path)
    if not sheets:
        raise ExportError(f"{path.name} has no sheet")
    main_name = main_sheet(form, sheets)
    if main_name is None:
        raise _no_main_sheet(path, form, sheets)
    others = [title for title in sheets if title != main_name]
    main_rows = sheets[main_name]
    layout = _layout(form, None, _header(main_rows))
    result = Sheet(form, [], {main_name: layout.ignored} if layout.ignored else {})
    by_index: dict[str, Submission] = {}
    by_uuid: dict[str, Submission] = {}
    for number, row in enumerate(main_rows[1:], start=2):
        if all(plain(v) is None for v in row):
            continue
        submission = Submission(
            main=_entry(layout, main_name, number, row, form), submitted_at=_meta(layout, row, "_submission_time"),
            **_ids(layout, row),
        )
        result.submissions.append(submission)
        index = _meta(layout, row, "_index")
        if index is not None:
            by_index[index] = submission
        if submission.uuid:
            by_uuid[submission.uuid] = submission
    for repeat in form.repeats:
        names = _repeat_titles(form, repeat)
        found = next((title for title in others if fold(title) in names), None)
        if found is None:
            continue
        rows = sheets[found]
        repeat_layout = _layout(form, repeat, _header(rows))
        if repeat_layout.ignored:
            result.ignored[found] = repeat_layout.ignored
        for number, row in enumerate(rows[1:], start=2):
            if all(plain(v) is None for v in row):
                continue
            parent_index = _meta(repeat_layout, row, "_parent_index")
            parent_uuid = _meta(repeat_layout, row, "_submission__uuid")
            parent = by_index.get(parent_index or "") or by_uuid.get(parent_uuid or "")
            if parent is None:
                msg = (
                    f"row {number} of sheet {found!r} names no row of sheet {main_name!r} "
                    f"(_parent_index {parent_index!r}, _submission__uuid {parent_uuid!r})"
                )
                raise ExportError(msg)
            parent.repeats.setdefault(repeat, []).append(_entry(repeat_layout, found, number, row, form))
    return result


# CSV -----------------------------------------------------------------------------------------------------


def read_rows(path: Path, most: int | None = None) -> list[list[str]]:
    """The rows of the CSV ``path`` (its first ``most``, or all), read in the encodings Kobo and Excel save it in
    (:func:`~services.imports.csvtext.csv_text`, :func:`~services.imports.csvtext.csv_rows`).

    Raises ExportError, one line naming the file and what about it: a file in none of those encodings (the byte, its row
    and column: tester 270 F3, a traceback, exit 1), no text at all (a workbook or a picture renamed ``.csv``), or a row
    the csv module cannot read (a cell past its limit: tester 276 F3, a traceback)."""
    try:
        return list(islice(csv_rows(csv_text(path.read_bytes(), path.name), path.name), most))
    except UnreadableText as error:
        raise ExportError(str(error)) from None


def read_csv(path: Path, form: Form) -> Sheet:
    """Read a Kobo CSV export of ``form`` (the main section only; refused for a form with repeat groups)."""
    if form.repeats:
        msg = (
            f"the form {form.form_id!r} has repeat groups ({', '.join(form.repeats)}), which Kobo's CSV export "
            "leaves out: export it as XLSX"
        )
        raise ExportError(msg)
    rows = read_rows(path)
    header = rows[0] if rows else []
    layout = _layout(form, None, header)
    _check_form(form, layout, path.name)
    result = Sheet(form, [], {path.name: layout.ignored} if layout.ignored else {})
    for number, row in enumerate(rows[1:], start=2):
        if all(plain(v) is None for v in row):
            continue
        result.submissions.append(
            Submission(
                main=_entry(layout, path.name, number, row, form),
                submitted_at=_meta(layout, row, "_submission_time"),
                **_ids(layout, row),
            )
        )
    return result


def read_export(path: Path, form: Form) -> Sheet:
    """An XLSX or CSV export of ``form``, by the file's extension (:func:`export_kind`, which raises ExportError for any
    other)."""
    return read_xlsx(path, form) if export_kind(path) == "xlsx" else read_csv(path, form)


def sniff_form(path: Path, forms: Mapping[str, Form]) -> Form:
    """The form whose questions the file's header row names most (a workbook's, the sheet of each form's main section:
    :func:`main_sheet`, wherever it is among the sheets); failing that, the one form whose questions are every column of
    the header, however few (a sheet typed by hand headed ``nombre;distrito;fecha_mapeo``, the mapping form's own names:
    tester 296 F6). ExportError if none clearly does, naming the forms whose questions every column is when there are
    several, or for a file the import does not read (:func:`export_kind`, :func:`workbook_sheets`, :func:`read_rows`), as
    :func:`read_export` says it."""
    if export_kind(path) == "csv":
        text_header = next(iter(read_rows(path, 1)), [])
        sheets: dict[str, list[list[Any]]] = {path.name: [list(text_header)]}
    else:
        sheets = workbook_sheets(path, 1)
    first = next(iter(sheets.values()), [])
    scores = []
    every_column = []  # the forms whose questions are every column the sheet has
    for form in forms.values():
        title = main_sheet(form, sheets)
        layout = _layout(form, None, _header(sheets[title] if title is not None else first))
        matched = {q.name for q in layout.columns.values()} | {q.name for q, _ in layout.options.values()}
        used = len(layout.columns) + len(layout.options)
        explained = used / max(used + len(layout.ignored), 1)  # how much of the file the form accounts for
        covered = len(matched) / max(len(form.in_section(None)), 1)  # how much of the form the file has
        scores.append(((explained, covered), form.form_id))
        if used and not layout.ignored:
            every_column.append(form.form_id)
    scores.sort(reverse=True)
    if scores and scores[0][0][1] >= 0.5 and (len(scores) == 1 or scores[0][0] != scores[1][0]):
        return forms[scores[0][1]]
    if len(every_column) == 1:
        return forms[every_column[0]]
    if every_column:
        msg = (f"{path.name}: cannot tell which form it is an export of: its columns are all questions of the forms "
               f"{', '.join(every_column)}; name one with --form")
        raise ExportError(msg)
    raise ExportError(f"{path.name}: cannot tell which form it is an export of; name it with --form")


# Kobo REST Services ----------------------------------------------------------------------------------------


def from_kobo_json(data: Mapping[str, Any], form: Form) -> Submission:
    """One submission as Kobo's REST Services post it (JSON keyed by group paths; repeats as lists).

    A blank answer (``null``, ``""``) is unanswered, as in an export; an answer of spaces alone to a text question is
    kept as posted, for its service to tell it as its API does (a name of spaces is 422 ``string_too_short``, a phone of
    spaces no phone): the webhook said ``missing`` where ``POST /members`` said ``string_too_short`` (tester 199 F8)."""
    main = Entry("webhook", 1)
    by_path = {q.xpath: q for q in form.questions.values()}
    by_name = {q.name: q for q in form.questions.values()}
    given = {name: data.get(name) for name in ("_uuid", "meta/instanceID", ROOT_UUID, DEPRECATED_ID)}
    unread = [name for name, value in given.items() if isinstance(value, (dict, list, bool))]  # no text: not read as one
    read = {name: value for name, value in given.items() if name not in unread}
    submission = Submission(
        uuid=_text(read.get("_uuid")) or _text(read.get("meta/instanceID")).removeprefix("uuid:") or None,
        main=main,
        submitted_at=_text(data.get("_submission_time")) or None,
        root_uuid=kobo_uuid(read.get(ROOT_UUID)),
        deprecated=kobo_uuid(read.get(DEPRECATED_ID)) is not None,
    )
    submission.not_answers += [Cell(main.sheet, main.row, name) for name in unread]  # refused, naming it (tester 33c F5)

    def take(entry: Entry, key: str, value: Any) -> None:
        question = by_path.get(key) or by_name.get(key.rsplit("/", 1)[-1])
        if question is None:
            return
        entry.cells[question.name] = Cell(entry.sheet, entry.row, key)
        if isinstance(value, (dict, list, bool)):  # Kobo posts text (or a number): this is no answer
            submission.not_answers.append(entry.cells[question.name])
            return
        text = plain(value)
        if text is not None:
            entry.values[question.name] = text
        elif question.type == "text" and isinstance(value, str) and value:  # spaces alone: the service's to tell
            entry.values[question.name] = value

    for key, value in data.items():
        repeat = next((r for r in form.repeats if key == r or key.endswith("/" + r)), None)
        if repeat is not None and not isinstance(value, list):  # a group is a list of entries (tester 36b F5: "registers nobody")
            submission.not_groups.append(Cell(main.sheet, main.row, key))
        elif repeat is not None:
            entries = submission.repeats.setdefault(repeat, [])
            for number, item in enumerate(value, start=1):
                entry = Entry(f"webhook:{repeat}", number)
                if not isinstance(item, Mapping):  # an entry is an object of answers (a text gave five "Field required")
                    submission.not_groups.append(Cell(entry.sheet, entry.row, ""))
                    continue
                for inner_key, inner_value in item.items():
                    take(entry, inner_key, inner_value)
                entries.append(entry)
        else:
            take(main, key, value)
    return submission


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
