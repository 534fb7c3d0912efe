"""Rows of one file under one submission's ``_uuid``: the same answers are one submission, other answers refuse them all.

Pure: rows as :func:`~services.imports.domain.commands.row_of` makes them, compared by
:func:`~services.imports.domain.copies.same_key_other_answers` before anything is sent.
"""

from __future__ import annotations

from services.imports.domain.commands import Command, Row
from services.imports.domain.copies import SAME_KEY_RULE, same_key_other_answers
from services.imports.domain.submissions import Cell, Entry, Submission
from shared.schemas import as_name_reads


def member(number: int, row: int, name: str, uuid: str = "u") -> Command:
    """Entry ``number`` of submission ``uuid``'s roster, on ``row`` of sheet ``miembros``."""
    return Command(
        "engagement",
        "/members",
        {"full_name": name, "document_type": "DNI", "document_number": f"4100000{number}"},
        f"kobo:{uuid}:osv_members:miembros/{number}",
        Cell("miembros", row, ""),
        {"full_name": Cell("miembros", row, "miembros/nombre_completo")},
        (name,),
        read_as={"full_name": as_name_reads},
    )


def roster(row: int, *members: Command) -> Row:
    return Row(Submission("u", Entry("main", row)), list(members))


def test_a_copy_of_a_roster_without_one_of_its_entries_is_refused_with_it_though_the_entries_it_has_agree() -> None:
    """Two rows under one ``_uuid``, one with an entry the other lacks: they are two versions of the submission, and
    which is Kobo's own is not known. The entries they share agreed, so the shorter one went in as "already there" beside
    the other, each refused or recorded on its own key: half a submission could be recorded under its ``_uuid``."""
    whole = roster(2, member(1, 2, "Ana Quispe"), member(2, 3, "Rosa Huamán"))
    short = roster(3, member(1, 4, "Ana  Quispe"))
    elsewhere = Row(Submission("v", Entry("main", 4)), [member(1, 5, "Luz Ríos", "v")])

    same_key_other_answers([whole, short, elsewhere])

    assert [[(p.cell, p.field, p.rule) for p in row.problems] for row in (whole, short)] == [
        [(Cell("main", 2, "_uuid"), "_uuid", SAME_KEY_RULE)],
        [(Cell("main", 3, "_uuid"), "_uuid", SAME_KEY_RULE)],
    ]
    assert "the _uuid of row 3 of sheet 'main'" in whole.problems[0].message
    assert "the _uuid of row 2 of sheet 'main'" in short.problems[0].message
    for row in (whole, short):
        assert "(they differ in the entries of sheet 'miembros')" in row.problems[0].message, row.problems[0].message
        assert "Quispe" not in row.problems[0].message and "Huamán" not in row.problems[0].message
    assert elsewhere.problems == []


def test_copies_of_one_roster_are_one_submission_sent_with_the_first_rows_answers() -> None:
    """The same roster three times, a name typed with extra spaces in one: nothing refused, and each copy's command
    goes with the first row's body (the services take it for the same request: recorded once)."""
    first = roster(2, member(1, 2, "Ana Quispe"), member(2, 3, "Rosa Huamán"))
    copies = [roster(row, member(1, row + 2, "Ana  Quispe "), member(2, row + 3, "Rosa Huamán")) for row in (3, 4)]

    same_key_other_answers([first, *copies])

    assert [row.problems for row in (first, *copies)] == [[], [], []]
    assert all(copy.commands[0].body is first.commands[0].body for copy in copies)


def test_two_versions_of_one_submission_in_a_file_are_refused_as_such_naming_its_root_uuid() -> None:
    """Two exports put together, from before and after an edit in Kobo: two rows of one ``meta/rootUuid`` (the key, since
    tester 270 F1) and two ``_uuid`` s. They are not "rows with the _uuid" of each other: each is told it is another
    version of the same submission, on its ``meta/rootUuid``."""
    first = Row(Submission("u", Entry("main", 2), root_uuid="u"), [member(1, 2, "Ana Quispe")])
    edit = Row(Submission("v", Entry("main", 3), root_uuid="u", deprecated=True), [member(1, 3, "Ana Quispe Ríos")])

    same_key_other_answers([first, edit])

    assert [[(p.cell, p.field, p.rule) for p in row.problems] for row in (first, edit)] == [
        [(Cell("main", 2, "meta/rootUuid"), "meta/rootUuid", SAME_KEY_RULE)],
        [(Cell("main", 3, "meta/rootUuid"), "meta/rootUuid", SAME_KEY_RULE)],
    ]
    assert "the meta/rootUuid of row 3 of sheet 'main'" in first.problems[0].message
    assert "two versions of one submission" in edit.problems[0].message and "Quispe" not in edit.problems[0].message


def test_a_copy_in_an_export_with_root_uuids_is_told_to_clear_both_ids() -> None:
    """A row copied in the spreadsheet keeps both ``_uuid`` and ``meta/rootUuid``: cleared of its ``_uuid`` alone it
    would still be keyed by the other, so the advice names both."""
    first = Row(Submission("u", Entry("main", 2), root_uuid="u"), [member(1, 2, "Ana Quispe")])
    copy = Row(Submission("u", Entry("main", 3), root_uuid="u"), [member(1, 3, "Rosa Huamán")])

    same_key_other_answers([first, copy])

    assert "the _uuid of row 2 of sheet 'main'" in copy.problems[0].message
    assert "clear its _uuid and meta/rootUuid (a row without them is keyed by its answers)" in copy.problems[0].message
