"""A CSV export's bytes read as text, in the encodings Excel and Kobo save it in, or refused saying why.

Kobo writes UTF-8; Excel on Windows saves "CSV (delimitado por comas)" in
Windows-1252, "CSV UTF-8" in UTF-8 with a byte-order mark, and "Texto
Unicode" in UTF-16 with a byte-order mark, tab-separated. A file that is none
of them (text pasted in from another program: a letter written in UTF-8 in a
file Excel saved in Windows-1252) is refused with :class:`UnreadableText`
naming the byte and where it is, as the import's report numbers rows, and
what to do; read as either encoding, its other letters would come in wrong,
or not at all (tester 270 F3: a traceback). Nothing here quotes a cell.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
"""The byte-order marks of UTF-16, as Excel's "Texto Unicode" begins (its tab-separated text)."""
SAVE_AS = (
    'open the file in Excel, retype the letters of that cell, and save it as "CSV UTF-8 (delimitado por comas)" '
    "(File > Save as); then import it again"
)
UTF8_LETTER = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
"""A letter past ASCII as UTF-8 writes it (``Á``: C3 81); Windows-1252 text has none of these pairs but by chance (an
``Ã`` before a ``©``), which Spanish text does not make."""
MARK = "\ue000"
"""A character no Windows-1252 byte reads as: marks the byte a message places (:func:`place_of`)."""


class UnreadableText(ValueError):
    """The file is in none of the encodings read (:func:`csv_text`); the message names the byte, where, and what to do."""


def csv_text(data: bytes, name: str) -> str:
    """``data`` (the file ``name``) as text: UTF-16 when it begins with its byte-order mark (Excel's "Texto Unicode"), else
    UTF-8 (a byte-order mark dropped), else Windows-1252, as Excel on Windows saves CSV.

    Raises :class:`UnreadableText`, one line naming the file, the byte (``0x81``), its row and column as the import's
    report numbers them, and how to save the file readable: for UTF-16 that is not (an odd byte at its end); for a file
    that is not UTF-8 yet holds a letter as UTF-8 writes it (a mix: read as Windows-1252, ``Á`` came in as ``Ã`` and an
    unreadable byte); and for a byte no character of Windows-1252 (``0x81``, ``0x8D``, ``0x8F``, ``0x90``, ``0x9D``)."""
    if data.startswith(UTF16_MARKS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            msg = (
                f"{name}: begins as UTF-16 text (Excel's \"Texto Unicode\") but is not UTF-16 from byte {error.start} on: "
                'save it from Excel again, as "CSV UTF-8 (delimitado por comas)"'
            )
            raise UnreadableText(msg) from None
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


def delimiter_of(text: str) -> str:
    """The separator a CSV's first line uses most: ``;`` (Excel in Spanish), ``,`` (Kobo) or a tab ("Texto Unicode")."""
    first = text.split("\n", 1)[0]
    return max(";,\t", key=first.count)


def place_of(data: bytes, offset: int) -> str:
    """Where byte ``offset`` of a CSV read as Windows-1252 is, as the import's report numbers it: "in row 3, column
    'osv/nombre'" (row 1 the header; a column past the header's by its number)."""
    text = data[:offset].decode("cp1252", errors="replace") + MARK + data[offset + 1 :].decode("cp1252", errors="replace")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text)))
    for number, row in enumerate(rows, start=1):
        for place, value in enumerate(row):
            if MARK in value:
                header = rows[0][place].replace(MARK, "") if number > 1 and place < len(rows[0]) else ""
                return f"in row {number}, column {header!r}" if header else f"in row {number}, column {place + 1}"
    return f"at byte {offset}"


def _byte(data: bytes, offset: int) -> str:
    return f"0x{data[offset]:02X}"
