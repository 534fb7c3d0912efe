"""Chain heads given out in a file, as an auditor keeps them: what ``osv-verify --heads`` reads.

Reporting gives its heads out three ways (``services.reporting.exports``):
- a report's JSON (``GET /indicators``, ``?as_of=``): its ``heads``, per service ``{"position", "hash"}``; or a list
  of ``{"service", "position", "hash"}``;
- an XLSX export: its properties sheet's row "Chain heads of each service (osv-verify --heads)" (in Spanish, "Cabezas
  de cadena…"), ``funding@7:<hash>,registry@12:<hash>``;
- a CSV export's ``Chain-Heads`` response header, the same text: a CSV file holds no heads, so that header's value is
  saved to a file and given.

A file that is none of these, or not there, is one line saying which forms are read (a traceback before, tester 224 F3).
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from shared.chaincheck import Head

HEADS_LABEL = re.compile(r"^\s*(?:[a-z]+@-?\d+:[0-9a-z]*\s*(?:,\s*|$))+$", re.IGNORECASE)
"""``funding@7:<hash>,registry@12:<hash>``: the ``Chain-Heads`` header's and the XLSX properties' form (each head is
checked after: :func:`checked_head`)."""

HEADER_LINE = re.compile(r"^\s*chain-heads\s*:(.*)$", re.IGNORECASE | re.MULTILINE)
"""The ``Chain-Heads`` line of a response's headers saved whole (``curl -D headers.txt``)."""

CHAIN_HASH = re.compile(r"[0-9a-f]{64}")
"""A chain hash: SHA-256, 64 hexadecimal digits (``shared.chain``)."""

SERVICES = ("registry", "funding", "engagement", "reporting")

LABEL_MARK = "osv-verify --heads"
"""What the XLSX properties sheet's label of the heads row holds, in either language."""

FORMS = (
    "a report's JSON (GET /indicators), an XLSX export, or a text file holding a CSV export's Chain-Heads header "
    "(service@position:hash,…)"
)


class HeadsFileError(ValueError):
    """The file is not there or holds no heads in a form :func:`heads_from_file` reads: the message says which it reads."""


def heads_from_file(path: Path, source: str | None = None) -> list[Head]:
    """The heads ``path`` holds (see the module's docstring for its forms); ``source`` names them in a verdict (default:
    the path). Raises :class:`HeadsFileError` naming the path and the forms read."""
    where = source or str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise HeadsFileError(f"--heads {path}: {error.strerror or error}; it takes {FORMS}") from None
    if zipfile.is_zipfile(path):
        label = _xlsx_heads(path)
    else:
        text = raw.decode("utf-8-sig", errors="replace").strip()
        if text.startswith(("{", "[")):
            return _json_heads(path, text, where)
        header = HEADER_LINE.search(text)
        label = header.group(1).strip() if header else text
        if "\n" in label and not HEADS_LABEL.match(label):
            raise HeadsFileError(
                f"--heads {path}: holds no chain heads (a CSV export carries them in its Chain-Heads response header, "
                f"not in the file: save that header's value to a file and give it); it takes {FORMS}"
            )
    if label is None or not HEADS_LABEL.match(label):
        raise HeadsFileError(f"--heads {path}: holds no chain heads; it takes {FORMS}")
    heads = []
    for item in (item.strip() for item in label.split(",") if item.strip()):
        service, rest = item.split("@", 1)
        position, hash_ = rest.split(":", 1)
        heads.append(checked_head(path, service, int(position), hash_, None, where))
    return heads


def checked_head(path: Path, service: Any, position: Any, hash_: Any, published_at: Any, where: str) -> Head:
    """A head as given, checked: a service of the chain, a position from 1, a hash of 64 hexadecimal digits (read in
    either case). A head cut short in a copy, or of a position no log has, was checked against the store and said
    "the history up to here was rewritten", exit 1: a false tamper alarm (tester 231 F1)."""
    if isinstance(position, str) and position.strip().isdigit():  # a list written by hand: "273"
        position = int(position)
    named = f"{service}@{position}"
    if service not in SERVICES:
        raise HeadsFileError(f"--heads {path}: {named} names no service of the chain ({', '.join(SERVICES)})")
    if isinstance(position, bool) or not isinstance(position, int) or position < 1:
        raise HeadsFileError(f"--heads {path}: {named}: a head's position is a whole number from 1")
    if not isinstance(hash_, str) or not CHAIN_HASH.fullmatch(hash_.lower()):
        given = f"{len(hash_)} characters" if isinstance(hash_, str) else type(hash_).__name__
        raise HeadsFileError(
            f"--heads {path}: the hash of {named} is {given}, not 64 hexadecimal digits: was it copied whole?"
        )
    return Head(service, position, hash_.lower(), published_at, where)


def _json_heads(path: Path, text: str, where: str) -> list[Head]:
    try:
        document: Any = json.loads(text)
        if isinstance(document, dict) and "heads" in document:
            document = document["heads"]
        if isinstance(document, dict):
            document = [{"service": name, **value} for name, value in document.items() if value]
        heads = [(h["service"], h["position"], h["hash"], h.get("published_at")) for h in document]
    except (ValueError, TypeError, KeyError, AttributeError):
        raise HeadsFileError(
            f"--heads {path}: its JSON holds no heads (a report's \"heads\", or a list of "
            '{"service", "position", "hash"}); it takes ' + FORMS
        ) from None
    return [checked_head(path, *head, where) for head in heads]


def _xlsx_heads(path: Path) -> str | None:
    """The heads row's value of an XLSX export's properties sheet, or None when no sheet has one."""
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - a zip that is no workbook: said as holding no heads
        return None
    try:
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows(max_col=2, values_only=True):
                if len(row) == 2 and isinstance(row[0], str) and LABEL_MARK in row[0]:
                    return str(row[1] or "")
    finally:
        workbook.close()
    return None
