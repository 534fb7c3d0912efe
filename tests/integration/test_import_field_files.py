"""The field's files and posts as they come in (tester 270): an activity recorded twice, a CSV Excel saved in a mix of
encodings or as "Texto Unicode", date columns shifted onto people's data, an empty meeting posted by Kobo, an OSV
typed by its name.

Engagement is real, in this process; ``osv-import`` and the Kobo webhook reach it through its test client's transport.
Registry is not needed: every form here but the mapping's goes to engagement, and the mapping's files here stop before
anything is sent.
"""

from __future__ import annotations

import base64
import csv
import io
import random
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from services.imports.api import create_app as imports_app
from services.imports.cli import main as osv_import
from services.imports.client import Bearer
from services.imports.csvtext import UnreadableText, csv_text
from services.imports.domain.commands import row_of
from services.imports.exports import read_csv, sniff_form
from services.imports.forms import shipped
from services.imports.settings import ImportSettings
from shared.auth import AuthSettings
from tests.support.api import Upstream
from tests.support.clients import application_of
from tests.support.identity import signed_in_headers
from tests.support.kobo import Answers, export_rows, write_xlsx

pytestmark = pytest.mark.timeout(120)

FORMS = shipped()
MAPPING, MEMBERS, MEETING, ACTIVITY = (FORMS[f] for f in ("osv_mapping", "osv_members", "osv_meeting", "osv_activity"))
SECRET = "kobo-hook-secret-for-the-tests"


def token() -> str:
    return signed_in_headers("staff")["Authorization"].removeprefix("Bearer ")


def connection(engagement: TestClient) -> list[str]:
    return ["--registry-url", "http://registry.invalid", "--engagement-url", str(engagement.base_url), "--token", token()]


def problems_sheet(path: Path) -> list[tuple[Any, ...]]:
    """The report's ``Problems`` sheet: (sheet, row, column, field, rule, message) of each problem."""
    workbook = load_workbook(path, read_only=True)
    try:
        return [tuple(row) for row in workbook["Problems"].iter_rows(min_row=2, values_only=True)]
    finally:
        workbook.close()


def every_cell(path: Path) -> str:
    """Every cell of every sheet of a report, as one text."""
    workbook = load_workbook(path, read_only=True)
    try:
        return "\n".join(str(v) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for v in row)
    finally:
        workbook.close()


# F2: an activity like one recorded ---------------------------------------------------------------------------


def test_an_activity_like_one_recorded_is_told_the_distinct_that_names_the_activity_and_imported_with_it(
    engagement: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mural painted in Comas on 06/11/2021 was recorded; the promoter's edit in Kobo made another submission of it. The
    refusal said "If it is another organisation, import the file again with --distinct 2=<the OSV's id>; ... it is
    mapped already", and the option it gave was refused (422 ``possible_duplicate_named``): it must name the activity."""
    osv = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    mural = {"osv": osv, "fecha": "06/11/2021", "tipo": "mural_painting", "distrito": "Comas", "productos": "mural",
             "cantidad_mural": 1}
    first = write_xlsx(tmp_path / "a1_actividades.xlsx", ACTIVITY, [Answers(mural, {"participantes": [
        {"nacionalidad": "VE", "sexo": "F", "cantidad": 12}]})])
    assert osv_import([str(first), *connection(engagement)], transport=engagement._transport) == 0  # noqa: SLF001
    [recorded] = engagement.get(f"/osvs/{osv}/activities", headers=signed_in_headers("staff")).json()

    edited = write_xlsx(tmp_path / "a2_actividad_editada_en_kobo.xlsx", ACTIVITY, [Answers(mural, {"participantes": [
        {"nacionalidad": "VE", "sexo": "F", "cantidad": 14}]})])
    capsys.readouterr()
    assert osv_import([str(edited), *connection(engagement)], transport=engagement._transport) == 1  # noqa: SLF001

    [problem] = problems_sheet(tmp_path / "a2_actividad_editada_en_kobo.import-report.xlsx")
    assert (problem[1], problem[3], problem[4]) == (2, "held_on", "possible_duplicate")
    message = problem[5]
    assert f"If it is another activity, import the file again with --distinct 2={recorded['id']};" in message, message
    assert "it is recorded already: leave the row out" in message
    assert "organisation" not in message and "mapped" not in message and osv not in message.partition(" If it is")[2]

    # The field says it was another mural that day: the option as the report gives it records it.
    [advised] = re.findall(r"--distinct (2=\S+);", message)
    assert osv_import([str(edited), *connection(engagement), "--distinct", advised], transport=engagement._transport) == 0  # noqa: SLF001
    assert len(engagement.get(f"/osvs/{osv}/activities", headers=signed_in_headers("staff")).json()) == 2


# F3, F5: what Excel saves a CSV as -----------------------------------------------------------------------------

OSVS = [
    Answers({"nombre": "Asociación de Mujeres Emprendedoras Ñaña Unida", "distrito": "150118", "fecha_mapeo": "15/09/2021"}),
    Answers({"nombre": "Comedor Popular Los ÁNGELES", "distrito": "150132", "fecha_mapeo": "16/09/2021"}),
]


def csv_of(form_rows: list[list[Any]], delimiter: str = ";") -> str:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(form_rows)
    return text.getvalue()


def mapping_rows() -> list[list[Any]]:
    return next(iter(export_rows(MAPPING, OSVS).values()))


@pytest.mark.parametrize(
    ("pasted", "said"),
    [("Á", "bytes 0xC3 0x81 in row 3, column 'osv/nombre'"), ("É", "bytes 0xC3 0x89 in row 3, column 'osv/nombre'")],
    ids=["a-byte-windows-1252-lacks", "bytes-windows-1252-would-misread"],
)
def test_a_csv_of_windows_1252_with_a_letter_pasted_in_as_utf8_stops_the_import_naming_the_bytes_and_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pasted: str, said: str
) -> None:
    """Excel's Spanish CSV (Windows-1252, ``;``) with one letter pasted in from elsewhere, as UTF-8 writes it: ``Á`` is C3 81,
    and 0x81 no character of Windows-1252, so the import ended in a UnicodeDecodeError's traceback, exit 1 ("some rows
    refused"); ``É`` (C3 89) reads in Windows-1252 as "Ã‰", and went to registry so. It stops, exit 2, in one line."""
    data = csv_of(mapping_rows()).encode("cp1252").replace("ÁNGELES".encode("cp1252"), f"{pasted}NGELES".encode())
    mixed = tmp_path / "map4_mapeo_mezcla.csv"
    mixed.write_bytes(data)

    assert osv_import(["--dry-run", str(mixed), "--token", "t", "--registry-url", "http://127.0.0.1:1"]) == 2

    out, err = capsys.readouterr()
    [line] = err.splitlines()
    assert line.startswith("osv-import: map4_mapeo_mezcla.csv: mixes two encodings: byte 0xF3 in row 2, column 'osv/nombre'")
    assert said in line and 'save it as "CSV UTF-8 (delimitado por comas)"' in line, line
    assert "Traceback" not in err and out == ""
    assert not list(tmp_path.glob("*report*"))


def test_a_byte_neither_utf8_nor_windows_1252_reads_names_both_places_and_what_to_do() -> None:
    data = csv_of(mapping_rows()).encode("cp1252").replace("ÁNGELES".encode("cp1252"), b"\x81NGELES")

    with pytest.raises(UnreadableText) as refused:
        csv_text(data, "mapeo.csv")

    assert str(refused.value) == (
        "mapeo.csv: is neither UTF-8 (byte 0xF3 in row 2, column 'osv/nombre' is not) nor Windows-1252, as Excel saves a "
        "CSV (byte 0x81 in row 3, column 'osv/nombre' is no character of it): open the file in Excel, retype the letters "
        'of that cell, and save it as "CSV UTF-8 (delimitado por comas)" (File > Save as); then import it again'
    )


def test_a_file_excel_saved_as_unicode_text_reads_as_its_csv_does(tmp_path: Path) -> None:
    """Excel's "Texto Unicode" is UTF-16 with its byte-order mark, tab-separated: it was "cannot tell which form it is an
    export of" (tester 270 F5)."""
    rows = mapping_rows()
    unicode_text = tmp_path / "map5_mapeo_texto_unicode.txt"
    unicode_text.write_bytes(csv_of(rows, "\t").encode("utf-16"))
    spanish_csv = tmp_path / "map1_mapeo_excel_es.csv"
    spanish_csv.write_bytes(csv_of(rows).encode("cp1252"))

    assert sniff_form(unicode_text, FORMS) is MAPPING
    read = [row_of(MAPPING, s).commands[0].body for s in read_csv(unicode_text, MAPPING).submissions]
    assert read == [row_of(MAPPING, s).commands[0].body for s in read_csv(spanish_csv, MAPPING).submissions]
    assert [body["name"] for body in read] == [answers.values["nombre"] for answers in OSVS]


# Tester 276 F3, F7: more of what Excel saves, a cell past the csv module's limit, and files that are no CSV ---------


def stops_in_one_line(export: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The one line ``osv-import --dry-run export`` stops in, exit 2 (README: a file it cannot read), with no report."""
    assert osv_import(["--dry-run", str(export), "--token", "t", "--registry-url", "http://127.0.0.1:1"]) == 2
    out, err = capsys.readouterr()
    [line] = err.splitlines()
    assert "Traceback" not in err and out == ""
    assert not list(export.parent.glob("*report*"))
    return line


@pytest.mark.parametrize(
    ("encoding", "delimiter", "line_end"),
    [("utf-16-le", "\t", "\r\n"), ("utf-16-be", "\t", "\r\n"), ("utf-32", "\t", "\r\n"), ("cp1252", ";", "\r")],
    ids=["utf-16-le-without-its-mark", "utf-16-be-without-its-mark", "utf-32", "windows-1252-old-mac-line-ends"],
)
def test_a_csv_in_utf16_without_its_mark_in_utf32_or_with_an_old_macs_line_ends_reads_as_excels_csv_does(
    tmp_path: Path, encoding: str, delimiter: str, line_end: str
) -> None:
    """Tester 276 F3: each ended in ``_csv.Error: new-line character seen in unquoted field``'s traceback, exit 1 ("some
    rows refused"): UTF-16 without its byte-order mark and UTF-32 were read as UTF-8, a NUL beside every letter, and a
    Windows-1252 file whose lines end in a carriage return alone (Excel on an old Mac) was handed to the csv module in
    lines split at line feeds."""
    rows = mapping_rows()
    saved = tmp_path / "map6_mapeo.csv"
    saved.write_bytes(csv_of(rows, delimiter).replace("\r\n", line_end).encode(encoding))
    spanish_csv = tmp_path / "map1_mapeo_excel_es.csv"
    spanish_csv.write_bytes(csv_of(rows).encode("cp1252"))

    assert sniff_form(saved, FORMS) is MAPPING
    read = [row_of(MAPPING, s).commands[0].body for s in read_csv(saved, MAPPING).submissions]
    assert read == [row_of(MAPPING, s).commands[0].body for s in read_csv(spanish_csv, MAPPING).submissions]
    assert [body["name"] for body in read] == [answers.values["nombre"] for answers in OSVS]


LIMIT = 131072
"""The csv module's ``field_size_limit()``, which the import does not raise: no answer of these forms is that long."""


@pytest.mark.parametrize(
    ("long", "said"),
    [
        (lambda text: text.replace("Comedor Popular", "Comedor Popular " + "y" * 200_000), "row 3, column 'osv/nombre'"),
        (lambda text: text.replace("Comedor Popular", '"Comedor Popular') + "Luz;150132\r\n" * 12_000, "row 3, column 'osv/nombre'"),
        (lambda text: text.partition("\r\n")[0] + "\r\n" + "A" * 8 * LIMIT, "row 2, column 'osv/nombre'"),
    ],
    ids=["a-200-kb-cell", "a-quote-never-closed", "a-line-of-a-megabyte"],
)
def test_a_cell_past_the_csv_modules_limit_stops_the_import_naming_its_row_column_and_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], long: Callable[[str], str], said: str
) -> None:
    """Tester 276 F3: a 200 KB cell and a 30 MB line ended in ``_csv.Error: field larger than field limit (131072)``'s
    traceback, exit 1 ("some rows refused"). A quote that opens a cell and never closes makes the rest one cell."""
    export = tmp_path / "map7_mapeo_celda_larga.csv"
    export.write_bytes(long(csv_of(mapping_rows())).encode("utf-8"))

    line = stops_in_one_line(export, capsys)

    assert line.startswith(f"osv-import: map7_mapeo_celda_larga.csv: {said}: a cell longer than 131,072 characters, "
                           "the most the import reads"), line[:300]
    assert len(line) < 600 and "yyyy" not in line and "AAAA" not in line and "Luz" not in line


def test_an_xlsx_workbook_renamed_csv_is_told_to_be_imported_as_the_workbook_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tester 276 F7: it was told it "mixes two encodings … retype the letters of that cell", its bytes quoted as a
    column's name ('PK\\x03\\x04…docProps/app.xml…')."""
    export = write_xlsx(tmp_path / "map8_mapeo.xlsx", MAPPING, OSVS).rename(tmp_path / "map8_mapeo.csv")

    assert stops_in_one_line(export, capsys) == (
        "osv-import: map8_mapeo.csv: is an XLSX workbook (Excel's own file) renamed .csv, not a CSV: import it as the "
        "workbook it is, named map8_mapeo.xlsx"
    )


@pytest.mark.parametrize("cut", [None, 3000], ids=["a-csv-renamed-xlsx", "a-workbook-cut-short"])
def test_a_file_named_xlsx_that_is_no_workbook_stops_the_import_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: int | None
) -> None:
    """The other way round from a workbook renamed .csv: openpyxl's ``zipfile.BadZipFile: File is not a zip file`` ended
    the import in a traceback, exit 1."""
    workbook = write_xlsx(tmp_path / "workbook.xlsx", MAPPING, OSVS).read_bytes()
    export = tmp_path / "map10_mapeo.xlsx"
    export.write_bytes(csv_of(mapping_rows()).encode("cp1252") if cut is None else workbook[:cut])

    assert stops_in_one_line(export, capsys) == (
        "osv-import: map10_mapeo.xlsx: is no XLSX workbook (a workbook is a zip file of its sheets, and this is none: a "
        "CSV renamed .xlsx, or a file cut short?): import a CSV named .csv, or export the workbook from Kobo again"
    )


def unclosed(text: str) -> str:
    """A mapping export's CSV whose row 3 (the second OSV) opens a quote in its last cell, never closed, with more rows
    after it (tester 280's ``unclosed_last.csv``)."""
    second = text.splitlines(keepends=True)[2]
    more = "".join(second.replace("Comedor Popular", f"Olla Común {n}") for n in range(2))
    cells, _, last = second.rstrip("\r\n").rpartition(";")
    return text.replace(second, f'{cells};"never-closed {last}\r\n') + more


@pytest.mark.parametrize(
    ("broken", "said"),
    [
        (unclosed, f"row 3, column {mapping_rows()[0][-1]!r}"),
        (lambda text: text.replace("Comedor Popular", '"Comedor Popular') + "Olla Común;150132\r\n" * 3, "row 3, column 'osv/nombre'"),
    ],
    ids=["in-the-last-cell", "in-the-first-cell"],
)
def test_a_quote_never_closed_stops_the_import_naming_where_it_opens_never_its_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], broken: Callable[[str], str], said: str
) -> None:
    """Tester 280 F1: the rows after a quote never closed became part of its cell, in silence: "2 rows: 2 created", exit
    0, two OSVs never mapped nor counted, and the report quoting their lines in the ``_uuid`` column."""
    export = tmp_path / "map11_mapeo.csv"
    export.write_bytes(broken(csv_of(mapping_rows())).encode("cp1252"))

    line = stops_in_one_line(export, capsys)

    assert line.startswith(f"osv-import: map11_mapeo.csv: {said}: the cell opens with a quote (\") that never closes"), line
    assert "Olla" not in line and "never-closed" not in line


def workbook_with(path: Path, part: str, change: Callable[[bytes], bytes]) -> Path:
    """A mapping export written to ``path`` with its zip part ``part`` changed, stored uncompressed."""
    written = zipfile.ZipFile(io.BytesIO(write_xlsx(path, MAPPING, OSVS).read_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for info in written.infolist():
            data = written.read(info)
            archive.writestr(info.filename, change(data) if info.filename == part else data)
    return path


def bad_crc(path: Path) -> Path:
    """A mapping export one of whose sheet's bytes is changed, its CRC left as it was (tester 280's ``crc.xlsx``)."""
    data = workbook_with(path, "", bytes).read_bytes()
    path.write_bytes(data.replace(b"<sheetData>", b"<sheetDatb>", 1))
    return path


@pytest.mark.parametrize(
    ("name", "build", "said"),
    [
        ("map12.xls", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)),
         "map12.xls: is an Excel 97-2003 workbook: save it as .xlsx"),
        ("map12.xlsx", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)),
         "map12.xlsx: is an Excel 97-2003 workbook renamed .xlsx: save it as .xlsx"),
        ("map12.ods", lambda p: write_xlsx(p, MAPPING, OSVS), "map12.ods: is an OpenDocument spreadsheet (LibreOffice, "
         "Google Sheets): save it as .xlsx and import that"),
        ("map12.json", lambda p: write_xlsx(p, MAPPING, OSVS), "map12.json: an export is .xlsx or .csv"),
        ("map12", lambda p: write_xlsx(p, MAPPING, OSVS), "map12: an export is .xlsx or .csv"),
        ("map12.xlsx", lambda p: workbook_with(p, "xl/worksheets/sheet1.xml", lambda data: data[: len(data) // 2]),
         "map12.xlsx: is a damaged XLSX workbook: its part xl/worksheets/sheet1.xml cannot be read"),
        ("map12.xlsx", lambda p: workbook_with(p, "xl/styles.xml", lambda data: b"\x00garbage" + data[:40]),
         "map12.xlsx: is a damaged XLSX workbook: its part xl/styles.xml cannot be read"),
        ("map12.xlsx", bad_crc, "map12.xlsx: is a damaged XLSX workbook: its part xl/worksheets/sheet1.xml cannot be read"),
        ("map12.xlsx", lambda p: zipfile.ZipFile(p, "w").close(),
         "map12.xlsx: is a zip file, as a workbook is, but holds no workbook (no xl/workbook.xml)"),
    ],
    ids=["an-xls", "an-xls-renamed-xlsx", "an-ods", "a-json", "no-extension", "a-sheet-cut-short", "styles-no-xml",
         "a-bad-crc", "a-zip-of-no-workbook"],
)
@pytest.mark.parametrize("form", [[], ["--form", "osv_mapping"]], ids=["sniffed", "named"])
def test_a_spreadsheet_of_another_format_or_a_damaged_workbook_stops_the_import_in_one_line_naming_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, build: Callable[[Path], Any], said: str, form: list[str]
) -> None:
    """Tester 280 F2: an ``.xls``, an ``.ods`` or any other extension was opened as a workbook to tell its form, and
    openpyxl's ``InvalidFileException`` ended the import in a traceback, exit 1 (named with ``--form``, the same file
    stopped in one line); a workbook whose sheet was cut short or whose styles were no XML ended in ``ParseError``'s. A
    zip file of no workbook was told it is no zip file (F6)."""
    export = tmp_path / name
    build(export)

    assert osv_import(["--dry-run", str(export), *form, "--token", "t", "--registry-url", "http://127.0.0.1:1"]) == 2
    out, err = capsys.readouterr()
    [line] = err.splitlines()
    assert out == "" and line.startswith(f"osv-import: {said}"), line
    assert "Traceback" not in err and "<" not in line and "\\x" not in line
    assert not list(tmp_path.glob("*report*"))


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(276).randbytes(2000), "is a PNG picture renamed .csv, not a CSV"),
        (random.Random(276).randbytes(5000), "is no CSV, nor any text: "),
    ],
    ids=["a-picture", "a-programs-file"],
)
def test_a_picture_or_a_programs_file_renamed_csv_is_told_it_is_no_csv_never_quoting_its_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes, said: str
) -> None:
    """Tester 276 F7: they were told they "mix two encodings", to retype the letters of a cell of row 1, column 1."""
    export = tmp_path / "map9_mapeo.csv"
    export.write_bytes(data)

    line = stops_in_one_line(export, capsys)

    assert line.startswith(f"osv-import: map9_mapeo.csv: {said}"), line
    assert line.endswith("export the answers from Kobo as XLSX (or CSV) and import that"), line
    assert "encodings" not in line and "\\x" not in line and "PNG'" not in line


# F4: a date column holding people's data ----------------------------------------------------------------------


def test_a_date_cell_holding_a_document_a_phone_or_a_name_is_refused_without_repeating_it(
    engagement: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Columns shifted in Excel put a cédula, a phone and a name under ``miembros/fecha_ingreso``: the dry run printed and
    wrote "'V-25.100.300' is not a date…" (README: never a value, but a date the import could not read). A date written
    wrong is still said back, as no personal data."""
    osv = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    person = {"nombre_completo": "Karla Daniela Ortiz Bello", "tipo_documento": "CEDULA_VE", "nacionalidad": "VE",
              "sexo": "F", "anio_nacimiento": 1994, "rol": "member"}
    shifted = ["V-25.100.300", "987 654 321", "Ana María Ortiz Bello", "41234567"]
    written = ["15/03/21", "15 de marzo de 21"]
    people = [{**person, "numero_documento": f"V-26.200.{place:03d}", "fecha_ingreso": joined}
              for place, joined in enumerate([*shifted, *written])]
    export = write_xlsx(tmp_path / "m8_miembros_columnas_corridas.xlsx", MEMBERS, [Answers({"osv": osv}, {"miembros": people})])

    assert osv_import(["--dry-run", str(export), *connection(engagement)], transport=engagement._transport) == 1  # noqa: SLF001

    out = capsys.readouterr().out
    report = tmp_path / "m8_miembros_columnas_corridas.dry-run-report.xlsx"
    problems = problems_sheet(report)
    assert [(p[1], p[3], p[4]) for p in problems] == [(row, "joined_on", "date_as_excel_writes_it") for row in range(2, 8)]
    for value in shifted:
        assert value not in out and value not in every_cell(report), value
    assert all(p[5].startswith("this cell holds no date, nor anything written as one") for p in problems[:4])
    assert [p[5].partition(" is not a date")[0] for p in problems[4:]] == [f"'{value}'" for value in written]
    assert "'15 de marzo de 21' is not a date the import reads" in out
    assert application_of(engagement).log_head() == 0  # nothing recorded


def test_a_year_a_document_in_pairs_a_phone_or_a_date_with_one_after_it_in_a_date_cell_is_not_repeated(
    engagement: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tester 276 F4: ``miembros/fecha_ingreso`` holding a birth year alone (a person's data, README), a DNI in pairs, a
    phone in groups, and a date with a phone or a DNI after it was printed and written to the report's Problems sheet:
    "'1985' is not a date…", "'15/03/2021 987654321' has a time other than 00:00" (digits after a space were taken for a
    time). A date written wrong is still told back, a day-month-year with ``-`` with the calendar's reason as with ``/``."""
    osv = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    person = {"nombre_completo": "Karla Daniela Ortiz Bello", "tipo_documento": "CEDULA_VE", "nacionalidad": "VE",
              "sexo": "F", "anio_nacimiento": 1994, "rol": "member"}
    personal = [1985, "1985", "41 23 45 67", "9 8765 4321", "15/03/2021 987654321", "2021-03-15 41234567"]
    attempts = {
        "15/13/2021": "'15/13/2021' has no month 13: the day comes first",
        "31/02/2021": "'31/02/2021' is not a day of the calendar: February 2021 has 28 days",
        "31-02-2021": "'31-02-2021' is not a day of the calendar: February 2021 has 28 days",
        "15 de marzo": "'15 de marzo' is not a date the import reads",
    }
    people = [{**person, "numero_documento": f"V-26.200.{place:03d}", "fecha_ingreso": joined}
              for place, joined in enumerate([*personal, *attempts])]
    submission = Answers({"osv": osv}, {"miembros": people}, uuid="77777777-0000-4000-8000-000000000001")
    export = write_xlsx(tmp_path / "m9_miembros_fechas.xlsx", MEMBERS, [submission])

    assert osv_import(["--dry-run", str(export), *connection(engagement)], transport=engagement._transport) == 1  # noqa: SLF001

    out = capsys.readouterr().out
    report = tmp_path / "m9_miembros_fechas.dry-run-report.xlsx"
    problems = problems_sheet(report)
    assert [(p[1], p[3], p[4]) for p in problems] == [(row, "joined_on", "date_as_excel_writes_it") for row in range(2, 12)]
    messages = [p[5] for p in problems]
    for value in ("1985", "41 23 45 67", "9 8765 4321", "987654321", "41234567"):
        assert not any(value in message for message in messages), value
        assert value not in out, value
    assert "41 23 45 67" not in every_cell(report) and "9 8765 4321" not in every_cell(report)
    assert all(m.startswith("this cell holds no date, nor anything written as one") for m in messages[:4]), messages[:4]
    assert all(m.startswith("this cell holds more than a date: what follows the date is no time of day (HH:MM)")
               for m in messages[4:6]), messages[4:6]
    for message, told in zip(messages[6:], attempts.values(), strict=True):
        assert message.startswith(told), message
        assert told in out
    assert application_of(engagement).log_head() == 0  # nothing recorded


# F6: an empty meeting posted by Kobo ---------------------------------------------------------------------------


@pytest.fixture
def webhook(engagement: TestClient) -> Iterator[TestClient]:
    settings = ImportSettings(
        registry_url="http://registry.invalid", engagement_url=str(engagement.base_url),
        kobo_hooks={"osv_meeting": SECRET, "osv_activity": SECRET},
    )
    app = imports_app(settings, auth_settings=AuthSettings(), auth=Bearer(token()), transport=engagement._transport)  # noqa: SLF001
    with TestClient(app) as client:
        yield client


def posted(webhook: TestClient, form: str, submission: dict[str, Any]) -> httpx.Response:
    basic = base64.b64encode(f"{form}:{SECRET}".encode()).decode()
    return webhook.post(f"/kobo/{form}/submissions", json=submission, headers={"Authorization": f"Basic {basic}"})


def test_an_empty_meeting_or_activity_posted_is_told_every_answer_it_lacks_in_one_answer(
    engagement: TestClient, webhook: TestClient
) -> None:
    """README: one answer lists every mistake. A meeting posted with nothing but its ``_uuid`` was told ``osv: Field
    required`` alone; posted again with its OSV, ``fecha``, ``modalidad`` and ``temas`` too."""
    osv = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    cases = [
        ("osv_meeting", {"_uuid": "aa-1"}, ["osv", "fecha", "modalidad", "temas"]),
        ("osv_meeting", {"_uuid": "aa-1", "osv": osv}, ["fecha", "modalidad", "temas"]),
        ("osv_meeting", {"_uuid": "aa-1", "fecha": "2021-06-10", "modalidad": "en persona"}, ["osv", "modalidad", "temas"]),
        ("osv_activity", {"_uuid": "aa-2"}, ["osv", "fecha", "tipo", "distrito"]),
    ]
    for form, submission, told in cases:
        answer = posted(webhook, form, submission)

        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == told, answer.text
    modalidad = answer_of(posted(webhook, "osv_meeting", cases[2][1]), "modalidad")
    assert modalidad["rule"] == "enum" and modalidad["message"].startswith("expected one of the form's choices: "), modalidad
    assert application_of(engagement).log_head() == 0  # nothing recorded


def answer_of(answer: httpx.Response, field: str) -> dict[str, Any]:
    return next(e for e in answer.json()["errors"] if e["field"] == field)


# F7: an OSV typed by its name ----------------------------------------------------------------------------------


def test_an_osv_typed_by_its_name_is_told_to_be_chosen_from_the_forms_osv_list(
    engagement: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The member, meeting and activity forms choose the OSV from ``osvs.csv``, whose value is its id: an export whose
    ``osv`` cell held the OSV's name was refused "must be an id: 32 hexadecimal digits…", which tells a promoter nothing of
    where ids come from."""
    name = "Asociación Venezolanos Unidos de Comas (Comas)"
    person = {"nombre_completo": "Karla Daniela Ortiz Bello", "tipo_documento": "CEDULA_VE", "numero_documento": "V-25.100.200",
              "nacionalidad": "VE", "sexo": "F", "rol": "member", "fecha_ingreso": "2021-10-12"}
    files = [
        (MEMBERS, Answers({"osv": name}, {"miembros": [person]})),
        (MEETING, Answers({"osv": name, "fecha": "2021-06-10", "modalidad": "in_person", "temas": "needs"})),
        (ACTIVITY, Answers({"osv": name, "fecha": "2021-07-03", "tipo": "mural_painting", "distrito": "Comas",
                            "productos": "mural", "cantidad_mural": 1}, {"participantes": [{"nacionalidad": "VE", "sexo": "F", "cantidad": 12}]})),
    ]
    for form, answers in files:
        export = write_xlsx(tmp_path / f"{form.form_id}.xlsx", form, [answers])

        assert osv_import(["--dry-run", str(export), *connection(engagement)], transport=engagement._transport) == 1  # noqa: SLF001

        out = capsys.readouterr().out
        [problem] = problems_sheet(tmp_path / f"{form.form_id}.dry-run-report.xlsx")
        assert (problem[2], problem[3], problem[4]) == ("osv", "osv_id", "uuid_parsing"), problem
        assert problem[5].startswith("must be the id of the OSV, as the form's OSV list gives it: the form chooses the OSV "
                                     "from osvs.csv, the list `osv-import osvs --output osvs.csv` writes"), problem[5]
        assert problem[5] in out and name not in out


def test_the_webhook_tells_an_osv_posted_by_its_name_where_the_forms_ids_come_from(engagement: TestClient, webhook: TestClient) -> None:
    answer = posted(webhook, "osv_activity", {"_uuid": "aa-3", "osv": "Mujeres Emprendedoras de Los Olivos", "fecha": "2021-07-03",
                                              "tipo": "mural_painting", "distrito": "Comas"})

    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert (error["field"], error["rule"]) == ("osv", "uuid_parsing")
    assert "osvs.csv" in error["message"] and "Los Olivos" not in answer.text
