"""A CSV export's bytes read as text and then as rows, in the encodings Excel and Kobo save it in, or refused saying why.

Kobo writes UTF-8; Excel on Windows saves "CSV (delimitado por comas)" in
Windows-1252, "CSV UTF-8" in UTF-8 with a byte-order mark, and "Texto
Unicode" in UTF-16 with a byte-order mark, tab-separated; Excel on an old
Mac ends its lines in a carriage return alone. UTF-16 saved without its
byte-order mark (a NUL byte beside every letter) and UTF-32 are read too. A
file that is none of them (text pasted in from another program: a letter
written in UTF-8 in a file Excel saved in Windows-1252) is refused with
:class:`UnreadableText` naming the byte and where it is, as the import's
report numbers rows, and what to do; read as either encoding, its other
letters would come in wrong, or not at all (tester 270 F3: a traceback). So
is a file that is no text (a workbook, a picture renamed ``.csv``: tester
276 F7), a cell longer than the csv module reads (tester 276 F3: a
traceback, exit 1), and a quote the csv module, reading strictly, cannot
read: one never closed (tester 280 F1: it swallowed every later row, in
silence) or one followed by more in its cell. Nothing here quotes a cell, nor
a byte of a file that is no text.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from itertools import islice
from pathlib import PurePath

MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32", "begins as UTF-32 text"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32", "begins as UTF-32 text"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16", "begins as UTF-16 text (Excel's \"Texto Unicode\")"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16", "begins as UTF-16 text (Excel's \"Texto Unicode\")"),
)
"""The byte-order marks a text begins with: its codec, and its name and what it is in a message. UTF-32's first, since
its little-endian mark begins with UTF-16's."""
WIDE = {
    (False, True, False, True): ("utf-16-le", "UTF-16", "reads as UTF-16 text (little-endian, without its byte-order mark)"),
    (True, False, True, False): ("utf-16-be", "UTF-16", "reads as UTF-16 text (big-endian, without its byte-order mark)"),
    (False, True, True, True): ("utf-32-le", "UTF-32", "reads as UTF-32 text (little-endian, without its byte-order mark)"),
    (True, True, True, False): ("utf-32-be", "UTF-32", "reads as UTF-32 text (big-endian, without its byte-order mark)"),
}
"""A text without its byte-order mark, by which of each four bytes are mostly NUL (:func:`wide_encoding`): the letters
of a Spanish text are below U+0100, so UTF-16 writes each beside a NUL byte, and UTF-32 beside three."""
SIGNATURES = (
    (b"PK\x03\x04", "a zip file (an XLSX workbook is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls)"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG picture"),
    (b"\xff\xd8\xff", "a JPEG picture"),
    (b"GIF8", "a GIF picture"),
)
"""How the files most often renamed ``.csv`` begin, and what each is."""
XLSX_PART = b"xl/workbook.xml"
"""The part every XLSX workbook holds, named in its zip file as written (its names are not compressed)."""
SAMPLE = 65536
"""How much of a file tells whether it is text, and in which of :data:`WIDE`: its first 64 KiB."""
NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""The control characters a text has none of, but a stray one pasted in (tab and line ends are a CSV's own)."""
MOST_CONTROLS = 0.05
"""The share of control characters (:data:`NOT_TEXT`) past which a file is no text: a program's file or a picture has
about one byte in nine such; a CSV with a vertical tab pasted into a cell, one in hundreds (refused on its cell)."""
SAVE_AS = (
    'open the file in Excel, retype the letters of that cell, and save it as "CSV UTF-8 (delimitado por comas)" '
    "(File > Save as); then import it again"
)
SAVE_AGAIN = 'save it from Excel again, as "CSV UTF-8 (delimitado por comas)"'
UTF8_LETTER = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
"""A letter past ASCII as UTF-8 writes it (``Á``: C3 81); Windows-1252 text has none of these pairs but by chance (an
``Ã`` before a ``©``), which Spanish text does not make."""
MARK = "\ue000"
"""A character no Windows-1252 byte reads as: marks the byte a message places (:func:`place_of`)."""
LINE_END = re.compile(r"\r\n|\r|\n")
"""A line's end as the csv module reads it: Windows', Unix's, or an old Mac's carriage return alone."""


class UnreadableText(ValueError):
    """The file is no CSV the import reads (:func:`csv_text`, :func:`csv_rows`); the message, one line, names the file,
    what about it (the byte, the row and column), and what to do."""


def csv_text(data: bytes, name: str) -> str:
    """``data`` (the file ``name``) as text: by its byte-order mark (UTF-32, or UTF-16 as Excel's "Texto Unicode"), else
    UTF-16 or UTF-32 without one (:func:`wide_encoding`), else UTF-8 (a byte-order mark dropped), else Windows-1252, as
    Excel on Windows saves CSV.

    Raises :class:`UnreadableText`, one line naming the file and, for a text, the byte (``0x81``), its row and column as
    the import's report numbers them, and how to save the file readable: for UTF-16 or UTF-32 that is not (an odd byte at
    its end); for a file that is not UTF-8 yet holds a letter as UTF-8 writes it (a mix: read as Windows-1252, ``Á`` came
    in as ``Ã`` and an unreadable byte); for a byte no character of Windows-1252 (``0x81``, ``0x8D``, ``0x8F``,
    ``0x90``, ``0x9D``); and for a file that is no text (:func:`refuse_other_files`), never quoting its bytes."""
    refuse_other_files(data, name)
    marked = next(((codec, label, what) for mark, codec, label, what in MARKS if data.startswith(mark)), None)
    wide = marked or wide_encoding(data)
    if wide is not None:
        codec, label, what = wide
        try:
            text = data.decode(codec)
        except UnicodeDecodeError as error:
            msg = f"{name}: {what} but is not {label} from byte {error.start} on: {SAVE_AGAIN}"
            raise UnreadableText(msg) from None
        _refuse_controls(text[:SAMPLE], name)
        return text
    _refuse_controls(data[:SAMPLE].decode("latin-1"), name)  # each byte one character: its C0 controls as they are
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as not_utf8:
        first = not_utf8.start
    letter = UTF8_LETTER.search(data)
    if letter is not None:
        msg = (
            f"{name}: mixes two encodings: byte {_byte(data, first)} {place_of(data, first)} is a letter as Windows-1252 "
            f"writes it (as Excel saves a CSV), bytes {' '.join(_byte(data, at) for at in range(*letter.span()))} "
            f"{place_of(data, letter.start())} one as UTF-8 writes it (pasted in from another program, most often); read "
            f"as either, the other's letters would come in wrong: {SAVE_AS}"
        )
        raise UnreadableText(msg)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as error:
        msg = (
            f"{name}: is neither UTF-8 (byte {_byte(data, first)} {place_of(data, first)} is not) nor Windows-1252, as "
            f"Excel saves a CSV (byte {_byte(data, error.start)} {place_of(data, error.start)} is no character of it): "
            f"{SAVE_AS}"
        )
        raise UnreadableText(msg) from None


def refuse_other_files(data: bytes, name: str) -> None:
    """Raise :class:`UnreadableText` when ``data`` begins as a file that is no CSV (:data:`SIGNATURES`), saying what it
    is: an XLSX workbook (a zip file holding :data:`XLSX_PART`) renamed ``.csv`` is told to be imported as ``.xlsx``
    (tester 276 F7: it was told to "retype the letters of that cell", its bytes quoted as a column's name)."""
    renamed = f"renamed {PurePath(name).suffix}" if PurePath(name).suffix else "renamed"
    if data.startswith(b"PK\x03\x04") and XLSX_PART in data:
        workbook = PurePath(name).with_suffix(".xlsx").name
        msg = (
            f"{name}: is an XLSX workbook (Excel's own file) {renamed}, not a CSV: import it as the workbook it is, "
            f"named {workbook}"
        )
        raise UnreadableText(msg)
    what = next((what for signature, what in SIGNATURES if data.startswith(signature)), None)
    if what is not None:
        msg = f"{name}: is {what} {renamed}, not a CSV: export the answers from Kobo as XLSX (or CSV) and import that"
        raise UnreadableText(msg)


def wide_encoding(data: bytes) -> tuple[str, str, str] | None:
    """The codec, name and description (:data:`WIDE`) of the encoding ``data``, a text without a byte-order mark, is
    written in, by which of each four of its first :data:`SAMPLE` bytes are mostly NUL; None for a text of one byte a
    letter (UTF-8, Windows-1252) or a file whose NUL bytes fall in no such order (all NUL: :func:`csv_text` refuses it as
    no text)."""
    sample = data[:SAMPLE]
    nul = tuple(sample[place::4].count(0) * 2 > len(sample[place::4]) for place in range(4))
    return WIDE.get(nul)


def _refuse_controls(sample: str, name: str) -> None:
    controls = len(NOT_TEXT.findall(sample))
    if controls > len(sample) * MOST_CONTROLS:
        msg = (
            f"{name}: is no CSV, nor any text: {controls} of its first {len(sample)} characters are control characters, "
            "as a program's file, a picture or a compressed file has: export the answers from Kobo as XLSX (or CSV) and "
            "import that"
        )
        raise UnreadableText(msg)


def csv_rows(text: str, name: str) -> Iterator[list[str]]:
    """The rows of the CSV ``text`` (the file ``name``), its separator :func:`delimiter_of`; a line ends in CR LF, LF or
    a CR alone (Excel on an old Mac: a traceback, tester 276 F3).

    Raises :class:`UnreadableText` when the csv module cannot read a row, one line naming the file, the row and column
    as the import's report numbers them (the row a quoted cell begins in, however many lines it spans), never a cell's
    text: a cell longer than ``csv.field_size_limit()`` (131,072 characters), which no answer of these forms is and the
    limit is not raised for; a cell that opens with a quote never closed (read leniently, the rest of the file became
    that cell, its rows never imported nor counted: tester 280 F1); a cell with text after the quote that closes it (a
    quote inside a quoted cell is written twice, ``""``); or, in the csv module's words, any other reason it gives. The
    csv module reads strictly (``strict=True``) so as to raise the last two."""
    lines = _Lines(text)
    delimiter = delimiter_of(text)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    header: list[str] = []
    number = 0
    while True:
        begins = lines.read
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise UnreadableText(_why_unread(text, name, number + 1, begins, delimiter, header, error)) from None
        number += 1
        if number == 1:
            header = row
        yield row


class _Lines(Iterator[str]):
    """The lines of a text as the csv module reads them, counting the characters handed out (where a row begins)."""

    def __init__(self, text: str) -> None:
        self._lines = io.StringIO(text, newline="")  # lines end in CR LF, LF or CR, each kept as written
        self.read = 0

    def __next__(self) -> str:
        line = next(self._lines)
        self.read += len(line)
        return line


def _why_unread(text: str, name: str, row: int, begins: int, delimiter: str, header: list[str], error: csv.Error) -> str:
    limit = csv.field_size_limit()
    long = _long_cell(text, begins, delimiter, limit)
    quote = _quote_fault(text, begins, delimiter) if long is None else None
    column = long if long is not None else quote[0] if quote is not None else None
    if column is None:
        return f"{name}: row {row} cannot be read as CSV ({error}): {SAVE_AGAIN}"
    named = f"column {header[column]!r}" if row > 1 and column < len(header) and header[column] else f"column {column + 1}"
    if long is not None:
        return (
            f"{name}: row {row}, {named}: a cell longer than {limit:,} characters, the most the import reads (no answer of "
            "the forms is that long; a quote opening a cell and never closing makes the rest of the file one cell): check "
            f"that cell, and {SAVE_AGAIN}"
        )
    if quote is not None and quote[1]:
        return (
            f"{name}: row {row}, {named}: the cell opens with a quote (\") that never closes, which would make every line "
            "after it part of that one cell, its rows never imported: close or delete that quote (in a text editor), or "
            f"{SAVE_AGAIN}"
        )
    return (
        f"{name}: row {row}, {named}: the cell opens with a quote (\") and has more after the quote that closes it (a "
        'quote inside a quoted cell is written twice, ""): write that quote twice or delete it (in a text editor), or '
        f"{SAVE_AGAIN}"
    )


def _quote_fault(text: str, begins: int, delimiter: str) -> tuple[int, bool] | None:
    """The place (from 0) of the cell whose quote the csv module cannot read in the row that begins at ``text[begins]``
    and whether its quote never closes (True: the text ends inside it) or closes before the cell ends (False: a
    character other than a separator, a line's end or a quote follows it); None when the row has neither."""
    place, quoted, after_quote, at_start = 0, False, False, True
    for character in islice(text, begins, None):
        if quoted:
            quoted, after_quote = character != '"', character == '"'
        elif after_quote and character == '"':  # "" inside quotes: one quote
            quoted, after_quote = True, False
        elif character == delimiter:
            place, after_quote, at_start = place + 1, False, True
        elif character in "\r\n":
            return None
        elif after_quote:
            return place, False
        else:
            quoted, at_start = at_start and character == '"', False
    return (place, True) if quoted else None


def _long_cell(text: str, begins: int, delimiter: str, limit: int) -> int | None:
    """The place (from 0) of the first cell longer than ``limit`` in the row that begins at ``text[begins]``, read as the
    csv module reads it (quotes open a cell, ``""`` is a quote inside one), or None when it has none."""
    place, length, quoted, after_quote, at_start = 0, 0, False, False, True
    for character in islice(text, begins, None):
        if quoted and character == '"':
            quoted, after_quote = False, True
            continue
        if after_quote and character == '"':  # "" inside quotes: one quote
            quoted, after_quote = True, False
        elif not quoted and character == delimiter:
            place, length, after_quote, at_start = place + 1, 0, False, True
            continue
        elif not quoted and character in "\r\n":
            return None
        elif at_start and character == '"':
            quoted, at_start = True, False
            continue
        after_quote, at_start = False, False
        length += 1
        if length > limit:
            return place
    return None


def delimiter_of(text: str) -> str:
    """The separator a CSV's first line uses most: ``;`` (Excel in Spanish), ``,`` (Kobo) or a tab ("Texto Unicode")."""
    first = LINE_END.split(text, maxsplit=1)[0]
    return max(";,\t", key=first.count)


def place_of(data: bytes, offset: int) -> str:
    """Where byte ``offset`` of a CSV read as Windows-1252 is, as the import's report numbers it: "in row 3, column
    'osv/nombre'" (row 1 the header; a column past the header's by its number); "at byte 1234" when the csv module
    cannot read the rows up to it (a cell past its limit)."""
    text = data[:offset].decode("cp1252", errors="replace") + MARK + data[offset + 1 :].decode("cp1252", errors="replace")
    header: list[str] = []
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text)), start=1):
            header = row if number == 1 else header
            for place, value in enumerate(row):
                if MARK in value:
                    named = header[place].replace(MARK, "") if number > 1 and place < len(header) else ""
                    return f"in row {number}, column {named!r}" if named else f"in row {number}, column {place + 1}"
    except csv.Error:
        pass
    return f"at byte {offset}"


def _byte(data: bytes, offset: int) -> str:
    return f"0x{data[offset]:02X}"
