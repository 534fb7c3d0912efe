"""A CSV's bytes as text and its text as rows (:mod:`services.imports.csvtext`): every encoding Excel saves, and a file
it cannot read told in one line, never a traceback, never a byte of a file that is no text (tester 276 F3, F7)."""

from __future__ import annotations

import csv
import io

import pytest

from services.imports.csvtext import UnreadableText, csv_rows, csv_text, wide_encoding

ROWS = [["osv/nombre", "osv/distrito", "osv/fecha_mapeo"], ["Asociación Ñandú Unida", "150132", "15/09/2021"]]


def tabbed() -> str:
    return "".join("\t".join(row) + "\r\n" for row in ROWS)


@pytest.mark.parametrize(
    ("codec", "told"),
    [("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32-le", "UTF-32"), ("utf-32-be", "UTF-32")],
)
def test_a_wide_text_without_its_byte_order_mark_is_told_by_where_its_nul_bytes_fall_and_read(codec: str, told: str) -> None:
    """UTF-16 saved without its byte-order mark was read as UTF-8, a NUL beside every letter: a csv module traceback."""
    data = tabbed().encode(codec)

    assert wide_encoding(data)[:2] == (codec, told)
    assert list(csv_rows(csv_text(data, "mapeo.csv"), "mapeo.csv")) == ROWS


@pytest.mark.parametrize("codec", ["utf-32", "utf-16"])
def test_a_text_with_its_byte_order_mark_is_read_by_it_utf32_as_well_as_utf16(codec: str) -> None:
    """UTF-32's little-endian mark begins with UTF-16's: it was read as UTF-16, a NUL pair beside every letter."""
    data = tabbed().encode(codec)

    assert list(csv_rows(csv_text(data, "mapeo.csv"), "mapeo.csv")) == ROWS


@pytest.mark.parametrize("text", ["osv/nombre;Ñandú\r\n", "osv/nombre\x00;x\r\n" + "a;b\r\n" * 40, "\x00" * 64])
def test_a_text_of_one_byte_a_letter_is_not_taken_for_a_wide_one(text: str) -> None:
    assert wide_encoding(text.encode("utf-8")) is None
    assert wide_encoding(text.encode("cp1252")) is None


def test_utf16_without_its_mark_cut_short_is_told_in_one_line_naming_it() -> None:
    data = tabbed().encode("utf-16-le") + b"o"

    with pytest.raises(UnreadableText) as refused:
        csv_text(data, "mapeo.csv")

    assert str(refused.value) == (
        f"mapeo.csv: reads as UTF-16 text (little-endian, without its byte-order mark) but is not UTF-16 from byte "
        f'{len(data) - 1} on: save it from Excel again, as "CSV UTF-8 (delimitado por comas)"'
    )


def test_a_stray_control_character_in_a_cell_leaves_the_file_a_text() -> None:
    """A NUL pasted into a cell is refused on its cell by the import (control_characters), not as a file that is no text."""
    text = "osv/nombre;osv/distrito\r\nAna\x00 María;150132\r\n"

    assert csv_text(text.encode("utf-8"), "mapeo.csv") == text


@pytest.mark.parametrize(
    ("data", "told"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00docProps/app.xml\x87\xca\xa1xl/workbook.xml\x00", "is an XLSX workbook (Excel's own file) renamed .csv, not a CSV: import it as the workbook it is, named mapeo.xlsx"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00word/document.xml", "is a zip file (an XLSX workbook is one) renamed .csv, not a CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\xc9\xb5", "is an Excel 97-2003 workbook (.xls) renamed .csv, not a CSV"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xc9\xb5", "is a PNG picture renamed .csv, not a CSV"),
        (bytes(range(256)) * 8, "is no CSV, nor any text: 240 of its first 2048 characters are control characters"),
        (b"\x00" * 4096, "is no CSV, nor any text: 4096 of its first 4096 characters are control characters"),
    ],
    ids=["xlsx", "zip", "xls", "png", "binary", "nul"],
)
def test_a_file_that_is_no_text_is_told_what_it_is_never_a_mix_of_encodings_nor_its_bytes(data: bytes, told: str) -> None:
    """Tester 276 F7: a workbook, a picture or a program's file renamed .csv was told it "mixes two encodings ... retype
    the letters of that cell", and an XLSX's bytes were quoted as a column's name ('PK\\x03\\x04…docProps/app.xml…')."""
    with pytest.raises(UnreadableText) as refused:
        csv_text(data, "mapeo.csv")

    said = str(refused.value)
    assert said.startswith(f"mapeo.csv: {told}"), said
    assert "\n" not in said and "encodings" not in said and "PK" not in said and "xml" not in said and "\\x" not in said


def test_an_old_macs_line_ends_a_carriage_return_alone_end_rows() -> None:
    """Excel on an old Mac ends a line in CR alone: the csv module, handed lines split at LF, stopped in a traceback."""
    text = "".join(";".join(row) + "\r" for row in ROWS)

    assert list(csv_rows(csv_text(text.encode("cp1252"), "mapeo.csv"), "mapeo.csv")) == ROWS


LIMIT = csv.field_size_limit()


@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("osv/nombre;osv/distrito\r\nAna;150132\r\nLuz;" + "7" * (LIMIT + 1) + "\r\n", "row 3, column 'osv/distrito'"),
        ('osv/nombre;osv/distrito\r\n"Ana; 150132\r\n' + "Luz;150132\r\n" * (LIMIT // 10), "row 2, column 'osv/nombre'"),
        ("A" * (LIMIT + 1), "row 1, column 1"),
        ('osv/nombre;osv/distrito\r\n"A ""b"" c";x' + "9" * LIMIT + "\r\n", "row 2, column 'osv/distrito'"),
    ],
    ids=["long-cell", "quote-never-closed", "one-line", "after-a-quoted-cell"],
)
def test_a_cell_past_the_csv_modules_limit_is_told_by_its_row_column_and_the_limit(text: str, told: str) -> None:
    """Tester 276 F3: a 200 KB cell and a 30 MB line ended in ``_csv.Error: field larger than field limit (131072)``'s
    traceback. The limit stands: no answer of these forms is that long."""
    with pytest.raises(UnreadableText) as refused:
        list(csv_rows(csv_text(text.encode("utf-8"), "mapeo.csv"), "mapeo.csv"))

    assert str(refused.value).startswith(f"mapeo.csv: {told}: a cell longer than 131,072 characters, the most the import reads")
    assert LIMIT == csv.field_size_limit() == 131072


def test_a_byte_placed_after_a_cell_past_the_limit_is_told_by_its_offset() -> None:
    """Where a byte neither UTF-8 nor Windows-1252 reads is, read as CSV: a long cell before it ended in the csv module's
    traceback; it is told by its offset."""
    long_row = ("osv/nombre;osv/distrito\r\nAna;" + "7" * (LIMIT + 1) + "\r\n").encode("cp1252")
    data = long_row + b"\x81NGELES;150132\r\n"

    with pytest.raises(UnreadableText) as refused:
        csv_text(data, "mapeo.csv")

    assert f"(byte 0x81 at byte {len(long_row)} is no character of it)" in str(refused.value)


HEADER = "osv/nombre;osv/distrito;_uuid\r\n"


@pytest.mark.parametrize(
    ("text", "told"),
    [
        (HEADER + "Ana;150132;a1\r\nLuz;150132;\"b2\r\nSol;150133;c3\r\nMar;150135;d4\r\n", "row 3, column '_uuid'"),
        (HEADER + 'Ana;150132;a1\r\n"Luz DNI 41234567;150132;b2\r\nSol;150133;c3\r\n', "row 3, column 'osv/nombre'"),
        (HEADER + '"Ana\r\ny Luz";150132;a1\r\n"Sol ""la"";150133;c3\r\nMar;150135;d4\r\n', "row 3, column 'osv/nombre'"),
        (HEADER + "Ana;150132;\"a1", "row 2, column '_uuid'"),
    ],
    ids=["in-the-last-column", "in-the-first-column", "after-a-cell-of-two-lines", "at-the-files-end"],
)
def test_a_quote_never_closed_is_told_by_the_row_and_column_it_opens_in_never_quoting_the_rows_it_swallowed(
    text: str, told: str
) -> None:
    """Tester 280 F1: read leniently, a quote that opens a cell and never closes made every later line part of that cell,
    with no error short of 131,072 characters: "2 rows: 2 created", two rows never imported nor counted, and the report
    quoting them in the ``_uuid`` column. The row is the one the cell begins in, not the line the csv module stopped at."""
    with pytest.raises(UnreadableText) as refused:
        list(csv_rows(csv_text(text.encode("cp1252"), "mapeo.csv"), "mapeo.csv"))

    said = str(refused.value)
    assert said.startswith(f"mapeo.csv: {told}: the cell opens with a quote (\") that never closes"), said
    assert "\n" not in said and "Sol" not in said and "41234567" not in said and "c3" not in said


@pytest.mark.parametrize(
    ("text", "told"),
    [
        (HEADER + '"Luz DNI 41234567;"150132";b2\r\n', "row 2, column 'osv/nombre'"),
        (HEADER + 'Ana;150132;a1\r\nLuz;"150132" ;b2\r\n', "row 3, column 'osv/distrito'"),
        ('"osv/nombre"x;osv/distrito\r\n', "row 1, column 1"),
    ],
    ids=["a-quote-closed-in-the-middle", "a-space-after-the-closing-quote", "in-the-header"],
)
def test_more_after_a_cells_closing_quote_is_told_by_its_row_and_column(text: str, told: str) -> None:
    """Read leniently, ``"Luz DNI 41234567;"150132"`` was one cell run into the next: the row's columns shifted."""
    with pytest.raises(UnreadableText) as refused:
        list(csv_rows(csv_text(text.encode("utf-8"), "mapeo.csv"), "mapeo.csv"))

    said = str(refused.value)
    assert said.startswith(f"mapeo.csv: {told}: the cell opens with a quote (\") and has more after the quote that closes it"), said
    assert "41234567" not in said and "150132" not in said


def test_quoted_cells_holding_line_breaks_doubled_quotes_and_separators_read_as_kobo_and_excel_write_them() -> None:
    rows = [
        ["osv/nombre", "osv/referencia", "_uuid"],
        ['Comedor "Los Ángeles"', "Jr. Las Flores 123;\r\nfrente al parque\nal lado del mercado", "a1"],
        ["Vecinos Unidos", 'dice: ""', ""],
        ['"', "", "c3"],
    ]
    for delimiter in ";,\t":
        text = io.StringIO()
        csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
        assert list(csv_rows(csv_text(text.getvalue().encode("utf-8-sig"), "mapeo.csv"), "mapeo.csv")) == rows
    quoted_every_cell = "".join(";".join(f'"{cell}"' for cell in row) + "\r\n" for row in [rows[0], ["Casa", "", "x"]])
    assert list(csv_rows(quoted_every_cell, "mapeo.csv")) == [rows[0], ["Casa", "", "x"]]
    assert list(csv_rows('osv/nombre;_uuid\r\nCasa "Grande";a1\r\n', "mapeo.csv")) == [["osv/nombre", "_uuid"], ['Casa "Grande"', "a1"]]
