"""Rows of one file under one submission's keys: a row copied in the spreadsheet keeps Kobo's ``_uuid``.

Pure: given a file's :class:`~services.imports.domain.commands.Row` s, the
rows whose commands share an Idempotency-Key (one Kobo ``_uuid``) are told
apart into *versions*, each a set of answers as the APIs read them
(:meth:`~services.imports.domain.commands.Command.as_the_api_reads`). One
version: the rows are the same submission given again, each copy sent with
the first row's bodies, so the services take it for the same request
(recorded once, "already there" after). Two or more: every row of every
version is refused, :data:`SAME_KEY_RULE`, before anything is sent, and
nothing under that ``_uuid`` is written until the person chooses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.imports.domain.commands import Command, Problem, Row
from services.imports.domain.submissions import ROOT_UUID, Cell, entry_of

SAME_KEY_RULE = "same_uuid_other_answers"
"""Two rows of one file making a command under one Idempotency-Key (one Kobo ``_uuid``) with other answers."""


@dataclass
class _Version:
    """One set of answers given under a submission's keys: its first row, that row's commands by key as the API reads
    them, and the rows giving it again."""

    first: Row
    read: dict[str, Any]
    commands: dict[str, Command]
    rows: list[Row] = field(default_factory=list)


def same_key_other_answers(rows: Sequence[Row]) -> None:
    """Refuse, on each row, the rows of one file that share a command's Idempotency-Key with another row but not its
    answers: a row copied in the spreadsheet keeps the original's ``_uuid``, and the services would take the second as
    the first carried out before ("already there") and drop it, while a dry run (which records nothing) says it would be
    created. Which row is Kobo's own is not known here, so every row under that ``_uuid`` is refused before anything is
    sent, exact copies of either included, each naming the first row of every other version and the columns whose
    answers differ from it. Copies of one version were sent (the first of them recorded, the other "already there") while
    the rows they disagreed with were refused: the import took a side, and the other row's answers could never be
    recorded under that key (tester 226 F1).

    Rows are told apart by all their commands under the shared keys: a row with an entry the other lacks has other
    answers. Answers are compared as the API reads them (:meth:`Command.as_the_api_reads`: a name's runs of spaces made
    one): two rows the API would store the same are the same row twice, whose later commands go with the earlier one's
    bodies, so the services take them for the same requests (recorded once, "already there" the second time). They
    were refused as other answers (tester 171 F3)."""
    for group in _sharing_keys(rows):
        versions: list[_Version] = []
        for row in group:
            commands = {command.key: command for command in row.commands}
            read = {key: command.as_the_api_reads() for key, command in commands.items()}
            version = next(
                (v for v in versions if v.commands.keys() == commands.keys() and not _differing(read, v.read)), None
            )
            if version is None:
                versions.append(_Version(row, read, commands, [row]))
                continue
            version.rows.append(row)
            for key, command in commands.items():
                first = version.commands[key]
                if command.body != first.body:  # the same as the API reads it: sent as the first, the same request
                    command.body = first.body
                    command.personal = (*command.personal, *first.personal)
        if len(versions) < 2:
            continue
        for version in versions:
            for row in version.rows:
                for other in versions:
                    if other is not version:
                        row.problems.append(same_uuid(row, other.first, _cells_differing(row, other)))


def _sharing_keys(rows: Sequence[Row]) -> list[list[Row]]:
    """The file's rows that share a command's key with another row, in groups, each in the file's order: rows linked
    through any key are one group (a copy shares every key of its submission)."""
    parent = list(range(len(rows)))

    def root(place: int) -> int:
        while parent[place] != place:
            parent[place] = parent[parent[place]]
            place = parent[place]
        return place

    holder: dict[str, int] = {}
    for place, row in enumerate(rows):
        for command in row.commands:
            parent[root(place)] = root(holder.setdefault(command.key, place))
    groups: dict[int, list[Row]] = {}
    for place, row in enumerate(rows):
        groups.setdefault(root(place), []).append(row)
    return [group for group in groups.values() if len(group) > 1]


def _cells_differing(row: Row, other: _Version) -> list[Cell]:
    """The cells of ``row`` whose answers differ from ``other`` 's: for a command under a key both give, its fields that
    differ; for a command ``other`` lacks, or lacks of ``row``, the entry (its sheet, no column)."""
    cells: list[Cell] = []
    mine = {command.key: command for command in row.commands}
    for key, command in mine.items():
        theirs = other.read.get(key)
        if theirs is None:
            cells.append(Cell(command.where.sheet, command.where.row, ""))
        else:
            cells.extend(command.cell_for(path) for path in _differing(command.as_the_api_reads(), theirs))
    cells.extend(
        Cell(command.where.sheet, row.where.row, "") for key, command in other.commands.items() if key not in mine
    )
    return cells


def same_uuid(row: Row, other: Row, cells: Sequence[Cell] = ()) -> Problem:
    """``row`` has the ``_uuid`` (Kobo's key for a submission) of ``other`` of the same file, with other answers, in
    ``cells`` (of ``row``): named by their columns, never their values. Two rows of one ``meta/rootUuid`` and two
    ``_uuid`` s are two versions of one submission (edited in Kobo between two exports put together), told so."""
    main = row.submission.main
    columns = list(
        dict.fromkeys(
            (cell.column + (f" of sheet {cell.sheet!r}" if cell.sheet != main.sheet else ""))
            if cell.column
            else f"the entries of sheet {cell.sheet!r}"
            for cell in cells
        )
    )
    differing = f" (they differ in {', '.join(columns)})" if columns else ""
    if row.submission.uuid != other.submission.uuid:  # keyed by one meta/rootUuid: two versions of one submission
        return Problem(
            row.submission.meta_cell(ROOT_UUID),
            ROOT_UUID,
            SAME_KEY_RULE,
            f"this row has the meta/rootUuid of {entry_of(other.where)} (Kobo's id for one submission, the same across its "
            f"edits) and another _uuid, with other answers{differing}: two versions of one submission, edited in Kobo "
            "between them, and the import would record only one of them. Keep the row of the version to record (Kobo's "
            "latest export has only the latest); a copy made in the spreadsheet, clear its _uuid and meta/rootUuid (a row "
            "without them is keyed by its answers); no row with this meta/rootUuid is imported until then",
        )
    cleared = "its _uuid and meta/rootUuid (a row without them" if row.submission.root_uuid else "its _uuid (a row without one"
    return Problem(
        main.cell("_uuid"),
        "_uuid",
        SAME_KEY_RULE,
        f"this row has the _uuid of {entry_of(other.where)} (Kobo's key for one submission) with other answers{differing}: "
        f"the import would record only one of them. If one is a copy made in the spreadsheet, clear {cleared} "
        "is keyed by its answers); no row with this _uuid is imported until then, copies included",
    )


def _differing(value: Any, other: Any, path: str = "") -> list[str]:
    """The fields (paths) whose answers differ between two bodies as the API reads them; a list of other length as a whole."""
    if isinstance(value, dict) and isinstance(other, dict):
        return [
            p
            for k in dict.fromkeys([*value, *other])
            for p in _differing(value.get(k), other.get(k), f"{path}.{k}" if path else k)
        ]
    if (
        isinstance(value, list)
        and isinstance(other, list)
        and len(value) == len(other)
        and all(isinstance(v, dict) for v in value)
    ):
        return [
            p
            for place, (v, o) in enumerate(zip(value, other, strict=True))
            for p in _differing(v, o, f"{path}.{place}")
        ]
    return [] if value == other else [path]
