"""A submission as read from a file or a post: each answer with the cell it came from. Plain data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cell:
    """Where an answer is in the person's file: sheet, row (as their spreadsheet numbers it) and column header.

    For a webhook post, ``sheet`` is ``webhook``, ``row`` the repeat entry's
    number (1 for the main section) and ``column`` the JSON key.
    """

    sheet: str
    row: int
    column: str


COLUMNS_JOINED = ", "
"""How a cell made of several columns (:func:`together`) names them: ``participantes/nacionalidad, participantes/sexo``."""


def together(*cells: Cell) -> Cell:
    """The cells of one row, ``cells``, as one that names all their columns (:data:`COLUMNS_JOINED`): where a rule holds
    on a repeat entry as a whole but is about some of its answers (one row per nationality and sex), so that the person
    finds the cells the rule is about rather than a column ``-`` (tester 296 F4)."""
    first = cells[0]
    return Cell(first.sheet, first.row, COLUMNS_JOINED.join(dict.fromkeys(cell.column for cell in cells)))


def kobo_path(cell: Cell) -> str:
    """Where a webhook post's answer is, as the promoter finds it in Kobo: its JSON key, with a repeat entry's number
    after its group (``miembros[2]/numero_documento``), so that two entries' mistakes in one answer are told apart; a
    repeat entry as a whole is its group and number (``participantes[3]``); "" for the main section as a whole."""
    repeat = cell.sheet.partition(":")[2] if cell.sheet.startswith("webhook:") else ""
    if not repeat:
        return cell.column
    if COLUMNS_JOINED in cell.column:  # several answers of one entry (:func:`together`): each at its place
        return COLUMNS_JOINED.join(kobo_path(Cell(cell.sheet, cell.row, column)) for column in cell.column.split(COLUMNS_JOINED))
    name = repeat.rsplit("/", 1)[-1]
    if not cell.column:  # the entry as a whole (a group given twice): participantes[3]
        return f"{name}[{cell.row}]"
    at = cell.column.rfind(name + "/")
    if at < 0 or (at > 0 and cell.column[at - 1] != "/"):
        return f"{name}[{cell.row}]/{cell.column}"
    end = at + len(name)
    return f"{cell.column[:end]}[{cell.row}]{cell.column[end:]}"


def kobo_json_path(parts: Sequence[str]) -> str:
    """A place in a webhook post's JSON (its keys and indexes, ``["miembros", "1", "miembros/sexo"]``) as :func:`kobo_path`
    names an answer, counted from 1 as the form shows it: ``miembros[2]/sexo``; ``body`` for the post itself. For the
    body checks (a key given twice, a number that cannot be read), which otherwise name it ``miembros.1.miembros/sexo``."""
    if len(parts) >= 2 and parts[1].isdigit():
        return kobo_path(Cell(f"webhook:{parts[0]}", int(parts[1]) + 1, "/".join(parts[2:])))
    return "/".join(parts) or "body"


def entry_of(cell: Cell) -> str:
    """The row or entry ``cell`` is in, as the person finds it: ``row 3 of sheet 'miembros' of this file``, or in a webhook
    post (which has no sheet, nor file) ``entry miembros[2] of this submission`` (its main section: ``this submission``)."""
    if cell.sheet == "webhook":
        return "this submission"
    if cell.sheet.startswith("webhook:"):
        return f"entry {cell.sheet.partition(':')[2].rsplit('/', 1)[-1]}[{cell.row}] of this submission"
    return f"row {cell.row} of sheet {cell.sheet!r} of this file"


@dataclass
class Entry:
    """One row of a section: the form's answers by question name, with their cells."""

    sheet: str
    row: int
    values: dict[str, Any] = field(default_factory=dict)
    cells: dict[str, Cell] = field(default_factory=dict)

    def cell(self, name: str, header: str | None = None) -> Cell:
        return self.cells.get(name) or Cell(self.sheet, self.row, header or name)


ROOT_UUID = "meta/rootUuid"
"""Kobo's (since 2025) id of a submission as first sent, ``uuid:`` and its first ``_uuid``: the same across its edits,
where each edit gets a ``_uuid`` and a ``meta/instanceID`` of its own (kobotoolbox/kpi#5435, #6672)."""
DEPRECATED_ID = "meta/deprecatedID"
"""The OpenRosa ``instanceID`` (``uuid:`` and the ``_uuid``) of the version an edit replaced: given on an edit only."""


def kobo_uuid(value: object) -> str | None:
    """A ``meta/rootUuid`` or ``meta/instanceID`` as a ``_uuid`` is written, without its ``uuid:`` namespace; None for blank."""
    text = "" if value is None else str(value).strip().removeprefix("uuid:").strip()
    return text or None


@dataclass
class Submission:
    """One submission: its main row and its repeat groups' rows, and Kobo's ids for it.

    ``uuid`` is its ``_uuid``, shown in the report and the webhook's answer: Kobo gives each edit a new one.
    ``root_uuid`` is its :data:`ROOT_UUID` without ``uuid:``, the ``_uuid`` it was first sent with (None from a Kobo
    before 2025, which has none); ``deprecated`` whether it carries a :data:`DEPRECATED_ID`, which Kobo gives an edit."""

    uuid: str | None
    main: Entry
    repeats: dict[str, list[Entry]] = field(default_factory=dict)
    submitted_at: str | None = None
    root_uuid: str | None = None
    deprecated: bool = False
    not_answers: list[Cell] = field(default_factory=list)
    """Where a webhook post gave a question a JSON object, array or ``true``/``false``: Kobo posts each answer as text
    (or a number), so none is read as one (``{"a": 1}`` would be recorded as the text ``{'a': 1}``); the row is refused
    naming each (:data:`~services.imports.domain.commands.NOT_AN_ANSWER_RULE`)."""
    meta_headers: dict[str, str] = field(default_factory=dict)
    """The header each of Kobo's meta columns (:data:`ROOT_UUID`, :data:`DEPRECATED_ID`) was found under in the person's
    file, by its name: ``deprecatedID`` in an export made without "include groups in headers" (:meth:`meta_cell`)."""
    not_groups: list[Cell] = field(default_factory=list)
    """Where a webhook post gave a repeat group other than a list (``"miembros": {}``), or one of its entries other than
    an object of answers: refused, rule ``kobo_answer`` too, saying what a group is."""

    def meta_cell(self, name: str) -> Cell:
        """Where Kobo's meta answer ``name`` (:data:`ROOT_UUID`, :data:`DEPRECATED_ID`) is, its column headed as in the
        person's file (:attr:`meta_headers`), or ``name`` itself (a webhook post's JSON key, the header with groups)."""
        return self.main.cell(name, self.meta_headers.get(name))

    @property
    def key_uuid(self) -> str | None:
        """What its commands' Idempotency-Keys are made from: ``root_uuid`` when Kobo gave one, so that an edit is keyed
        as the submission it edits; else ``uuid`` (a submission never edited has ``root_uuid`` = ``uuid``, so it is keyed
        as before Kobo gave one); None for neither (keyed by its answers)."""
        return self.root_uuid or self.uuid

    @property
    def edited(self) -> bool:
        """Whether Kobo says this is an edit of a submission sent before: ``deprecated``, or a ``root_uuid`` other than
        its ``uuid``."""
        return self.deprecated or (self.root_uuid is not None and self.uuid is not None and self.root_uuid != self.uuid)

    @property
    def unkeyed_edit(self) -> bool:
        """Whether it is an edit (``deprecated``) without a ``root_uuid`` (a Kobo before 2025, ODK Central): its keys would
        be made from its own new ``_uuid``, none of the submission it edits, whose keys cannot be found without it."""
        return self.deprecated and self.root_uuid is None
