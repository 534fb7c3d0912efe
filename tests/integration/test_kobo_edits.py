"""A submission edited in Kobo, read from an export or a webhook post: keyed as the submission it edits (tester 270 F1).

Kobo gives an edited submission a new ``_uuid`` and a new ``meta/instanceID``; since 2025 it keeps ``meta/rootUuid``
(``uuid:`` and the ``_uuid`` the submission was first sent with) the same across its edits, and an edit carries
``meta/deprecatedID``. The import keyed a submission by its ``_uuid``, so an edit made commands under new keys, and the
services recorded it as a new fact beside the first (a second meeting). The exports here are in Kobo's shape
(tests/support/kobo.py); nothing is sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.imports.domain.commands import NOT_AN_ANSWER_RULE, Row, row_of
from services.imports.domain.copies import SAME_KEY_RULE, same_key_other_answers
from services.imports.exports import Cell, Sheet, from_kobo_json, read_csv, read_xlsx
from services.imports.forms import shipped
from tests.support.kobo import Answers, kobo_json, write_csv, write_xlsx

OSV = "2b0d7c4e-8a51-4a6e-9a59-5f3f6c6f1a10"
FORMS = shipped()
PERSON = {"nombre_completo": "Rosa Huamán Quispe", "tipo_documento": "DNI", "numero_documento": "41234567",
          "nacionalidad": "PE", "sexo": "F", "rol": "member", "fecha_ingreso": "2021-04-01"}
SUBMISSIONS = {
    "osv_mapping": Answers({"nombre": "Club de Madres Virgen de la Candelaria", "distrito": "150132", "fecha_mapeo": "2021-03-16"}),
    "osv_members": Answers({"osv": OSV}, {"miembros": [PERSON, {**PERSON, "nombre_completo": "Ana Ríos", "numero_documento": "41234568"}]}),
    "osv_meeting": Answers(
        {"osv": OSV, "fecha": "2021-10-12", "modalidad": "in_person", "temas": "project_follow_up finances"},
        {"acciones": [{"descripcion": "Presentar boletas de compra", "responsable": "tesorera", "fecha_limite": "2021-10-30"}]},
    ),
    "osv_activity": Answers(
        {"osv": OSV, "fecha": "2021-11-06", "tipo": "mural_painting", "distrito": "150132", "beneficiarios_indirectos": 150},
        {"participantes": [{"nacionalidad": "VE", "sexo": "F", "cantidad": 16}]},
    ),
}
EDITS: dict[str, dict[str, Any]] = {  # what the promoter corrected in Kobo
    "osv_mapping": {"values": {"fecha_mapeo": "2021-03-06"}},
    "osv_members": {"repeats": {"miembros": [PERSON, {**PERSON, "nombre_completo": "Ana Ríos", "numero_documento": "41234569"}]}},
    "osv_meeting": {"values": {"fecha": "2021-10-11"}},
    "osv_activity": {"values": {"beneficiarios_indirectos": 250}},
}


def rows_of(sheet: Sheet) -> list[Row]:
    return [row_of(sheet.form, s) for s in sheet.submissions]


def keys(row: Row) -> list[str]:
    return [command.key for command in row.commands]


@pytest.mark.parametrize("meta", ["meta/", ""], ids=["groups-in-headers", "no-groups-in-headers"])
@pytest.mark.parametrize("form_id", list(SUBMISSIONS))
def test_an_edit_in_a_kobo_export_is_keyed_by_its_root_uuid_and_a_submission_never_edited_as_before(
    tmp_path: Path, form_id: str, meta: str
) -> None:
    """The promoter corrects a submission in Kobo after its import; the coordinator exports the form again. The edit,
    with its new ``_uuid``, was keyed by it: its commands were new requests, recorded beside the first. It is keyed by
    its ``meta/rootUuid`` (headed ``rootUuid`` in an export without groups in headers), as the submission it edits; a
    submission never edited, whose ``meta/rootUuid`` is ``uuid:`` and its own ``_uuid``, keeps the keys an export
    without the column (a Kobo before 2025, or an import made before the import read it) gave it."""
    form, original = FORMS[form_id], SUBMISSIONS[form_id]
    edit = original.edited(**EDITS[form_id])

    [before] = rows_of(read_xlsx(write_xlsx(tmp_path / "antes.xlsx", form, [original]), form))
    today = read_xlsx(write_xlsx(tmp_path / "hoy.xlsx", form, [original], meta=meta), form)
    edited = read_xlsx(write_xlsx(tmp_path / "editada.xlsx", form, [edit], meta=meta), form)

    assert today.ignored == edited.ignored == {}  # Kobo's own columns, never listed as renamed ones
    [first], [second] = rows_of(today), rows_of(edited)
    assert keys(first) == keys(before) and keys(first)[0].startswith(f"kobo:{original.uuid}:{form_id}:")
    assert keys(second) == keys(first)  # the edit's new _uuid is no key of its own
    assert [c.body for c in second.commands] != [c.body for c in first.commands]  # another request under them
    assert (first.submission.edited, second.submission.edited) == (False, True)
    assert (first.submission.uuid, second.submission.uuid) == (original.uuid, edit.uuid)  # the report's _uuid column
    assert first.problems == second.problems == []


def test_an_edit_in_a_csv_export_is_keyed_by_its_root_uuid(tmp_path: Path) -> None:
    """A form without repeat groups exported as CSV, as Excel saves it, reads its ``meta/rootUuid`` as the XLSX does."""
    form, original = FORMS["osv_mapping"], SUBMISSIONS["osv_mapping"]
    edit = original.edited(**EDITS["osv_mapping"])
    [before] = rows_of(read_csv(write_csv(tmp_path / "antes.csv", form, [original]), form))
    [first] = rows_of(read_csv(write_csv(tmp_path / "hoy.csv", form, [original], encoding="cp1252", meta="meta/"), form))
    [second] = rows_of(read_csv(write_csv(tmp_path / "editada.csv", form, [edit], meta=""), form))

    assert keys(before) == keys(first) == keys(second) == [f"kobo:{original.uuid}:osv_mapping:osv"]
    assert second.submission.edited and second.submission.uuid == edit.uuid


@pytest.mark.parametrize("form_id", list(SUBMISSIONS))
def test_an_edit_kobo_posts_to_the_webhook_is_keyed_by_its_root_uuid_and_a_submission_never_edited_as_before(form_id: str) -> None:
    """Kobo's REST Services post an edit with its new ``_uuid`` and ``meta/instanceID``, and (since 2025) the
    ``meta/rootUuid`` of the submission it edits: the webhook recorded it as a second submission (tester 270 F1: two
    meetings, 201 twice). A post never edited keeps the keys a post without ``meta/rootUuid`` got, and its export's."""
    form, original = FORMS[form_id], SUBMISSIONS[form_id]
    edit = original.edited(**EDITS[form_id])

    def posted(submission: Answers, *, root_uuid: bool = True) -> Row:
        return row_of(form, from_kobo_json(kobo_json(form, submission, root_uuid=root_uuid), form), spreadsheet=False)

    before, first, second = posted(original, root_uuid=False), posted(original), posted(edit)

    assert keys(first) == keys(before) and keys(first)[0].startswith(f"kobo:{original.uuid}:{form_id}:")
    assert keys(second) == keys(first)
    assert (first.submission.edited, second.submission.edited) == (False, True)
    assert second.submission.uuid == edit.uuid  # the webhook's answer names the edit's own _uuid


def test_a_root_uuid_posted_as_other_than_text_is_refused_naming_it() -> None:
    """A ``meta/rootUuid`` Kobo would post as text, given as a JSON object, is no key: the post is refused naming it, as
    a ``_uuid`` so given is, and not keyed by the object's text."""
    form = FORMS["osv_meeting"]
    post = {**kobo_json(form, SUBMISSIONS["osv_meeting"], root_uuid=True), "meta/rootUuid": {"uuid": "x"}}

    row = row_of(form, from_kobo_json(post, form), spreadsheet=False)

    assert [(p.field, p.rule) for p in row.problems] == [("meta/rootUuid", NOT_AN_ANSWER_RULE)]
    assert keys(row)[0].startswith(f"kobo:{SUBMISSIONS['osv_meeting'].uuid}:")


@pytest.mark.parametrize("meta", ["meta/", ""], ids=["groups-in-headers", "no-groups-in-headers"])
@pytest.mark.parametrize("form_id", list(SUBMISSIONS))
def test_an_edit_without_a_root_uuid_is_refused_on_its_deprecated_id_in_an_export_and_a_post(tmp_path: Path, form_id: str, meta: str) -> None:
    """Tester 276 F2: a server that marks an edit with ``meta/deprecatedID`` but writes no ``meta/rootUuid`` (a Kobo
    before 2025, ODK Central): the edit was keyed by its own new ``_uuid``, as a new submission, and recorded beside the
    version it edits (a second meeting, "1 created", 201). Refused before anything is sent, on its
    ``meta/deprecatedID``; the submission it edits, never edited, is keyed as always."""
    form, original = FORMS[form_id], SUBMISSIONS[form_id]
    edit = original.edited(**EDITS[form_id], rooted=False)

    [first] = rows_of(read_xlsx(write_xlsx(tmp_path / "antes.xlsx", form, [original], meta=meta), form))
    [second] = rows_of(read_xlsx(write_xlsx(tmp_path / "editada.xlsx", form, [edit], meta=meta), form))
    posted = row_of(form, from_kobo_json(kobo_json(form, edit, root_uuid=True), form), spreadsheet=False)

    assert first.problems == []
    assert "meta/rootUuid" not in kobo_json(form, edit, root_uuid=True) and second.submission.root_uuid is None
    # Its column as the file heads it (tester 280 F5: `deprecatedID` without groups in headers was named with them).
    for row, where in ((second, (second.submission.main.sheet, 2, f"{meta}deprecatedID")), (posted, ("webhook", 1, "meta/deprecatedID"))):
        assert [(p.cell, p.field, p.rule) for p in row.problems] == [(Cell(*where), "meta/deprecatedID", "edit_without_root_uuid")]
        assert "without a meta/rootUuid" in row.problems[0].message


@pytest.mark.parametrize("meta", ["meta/", ""], ids=["groups-in-headers", "no-groups-in-headers"])
def test_two_versions_of_one_submission_in_an_export_are_refused_on_the_root_uuid_column_as_the_file_heads_it(
    tmp_path: Path, meta: str
) -> None:
    """Two exports put together, before and after an edit in Kobo: each row is told it is a version of the other, on its
    ``meta/rootUuid`` column, named as the file heads it (``rootUuid`` without groups in headers: tester 280 F5)."""
    form, original = FORMS["osv_meeting"], SUBMISSIONS["osv_meeting"]
    sheet = read_xlsx(write_xlsx(tmp_path / "juntas.xlsx", form, [original, original.edited(**EDITS["osv_meeting"])], meta=meta), form)
    rows = rows_of(sheet)

    same_key_other_answers(rows)

    assert [[(p.cell, p.field, p.rule) for p in row.problems] for row in rows] == [
        [(Cell(rows[0].submission.main.sheet, number, f"{meta}rootUuid"), "meta/rootUuid", SAME_KEY_RULE)] for number in (2, 3)
    ]
