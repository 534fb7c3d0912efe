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

HEADS_LABEL = re.compile(r"^\s*(?:[a-z]+@\d+:[0-9a-f]+\s*(?:,\s*|$))+$")
"""``funding@7:<hash>,registry@12:<hash>``: the ``Chain-Heads`` header's and the XLSX properties' form."""

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
        label = text.removeprefix("Chain-Heads:").strip()
        if text.count("\n") > 0 and not HEADS_LABEL.match(label):
            raise HeadsFileError(
                f"--heads {path}: holds no chain heads (a CSV export carries them in its Chain-Heads response header, "
                f"not in the file: save that header's value to a file and give it); it takes {FORMS}"
            )
    if label is None or not HEADS_LABEL.match(label):
        raise HeadsFileError(f"--heads {path}: holds no chain heads; it takes {FORMS}")
    return [_head(item, where) for item in label.split(",") if item.strip()]


def _head(item: str, where: str) -> Head:
    service, rest = item.strip().split("@", 1)
    position, hash_ = rest.split(":", 1)
    return Head(service, int(position), hash_, None, where)


def _json_heads(path: Path, text: str, where: str) -> list[Head]:
    try:
        document: Any = json.loads(text)
        if isinstance(document, dict) and "heads" in document:
            document = document["heads"]
        if isinstance(document, dict):
            document = [{"service": name, **value} for name, value in document.items() if value]
        return [Head(h["service"], int(h["position"]), h["hash"], h.get("published_at"), where) for h in document]
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise HeadsFileError(f"--heads {path}: its JSON holds no heads ({type(error).__name__}); it takes {FORMS}") from None


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
