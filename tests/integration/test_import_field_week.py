"""A week of field data brought in by the M&E officer (tester 296): a workbook whose sheets were reordered, a refusal
on a repeat entry as a whole, and the dates and headers the field writes.

Exports are made from the shipped XLSForms in the shape Kobo gives (tests/support/kobo.py) and changed as the officer
changed them, in Excel's way (openpyxl)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from services.imports.domain.commands import row_of
from services.imports.domain.submissions import kobo_path
from services.imports.exports import ExportError, from_kobo_json, read_export, read_xlsx, sniff_form
from services.imports.forms import shipped
from services.imports.refusals import problems_in
from tests.support.kobo import Answers, kobo_json, write_xlsx

OSV = "2b0d7c4e-8a51-4a6e-9a59-5f3f6c6f1a10"
FORMS = shipped()
MEMBERS, ACTIVITY = FORMS["osv_members"], FORMS["osv_activity"]

PEOPLE = [
    Answers({"osv": OSV}, {"miembros": [
        {"nombre_completo": "Yolanda Quispe Mamani", "tipo_documento": "DNI", "numero_documento": "41234567",
         "nacionalidad": "PE", "sexo": "F", "rol": "president", "fecha_ingreso": "2021-10-04"},
        {"nombre_completo": "Génesis Rondón", "tipo_documento": "CPP", "numero_documento": "001234567",
         "nacionalidad": "VE", "sexo": "F", "rol": "member", "fecha_ingreso": "2021-10-04"},
    ]}),
    Answers({"osv": OSV}, {"miembros": [
        {"nombre_completo": "Luis Peña", "tipo_documento": "NINGUNO", "nacionalidad": "VE", "sexo": "M", "rol": "member",
         "fecha_ingreso": "2021-10-05"},
    ]}),
]

TWICE_VE_F = Answers(
    {"osv": OSV, "fecha": "2021-10-05", "tipo": "mural_painting", "distrito": "150132", "beneficiarios_indirectos": 30},
    {"participantes": [{"nacionalidad": "VE", "sexo": "F", "cantidad": 4}, {"nacionalidad": "PE", "sexo": "M", "cantidad": 2},
                       {"nacionalidad": "VE", "sexo": "F", "cantidad": 3}]},
)
"""An activity whose participants count Venezuelan women twice, as engagement refuses (422 ``unique_nationality_and_sex``
on ``direct_beneficiaries.2``, the entry as a whole)."""
ONE_ROW_EACH = {"errors": [{"field": "direct_beneficiaries.2", "rule": "unique_nationality_and_sex",
                            "message": "direct beneficiaries VE F are counted twice: give one row per nationality and sex"}]}


def bodies(path: Path, form=MEMBERS) -> list[list[dict]]:  # noqa: ANN001 - a Form
    return [[c.body for c in row_of(form, s).commands] for s in read_export(path, form).submissions]


def moved_first(path: Path, title: str) -> Path:
    """The workbook ``path`` with its sheet ``title`` moved first, as Excel's "Move or copy" does."""
    workbook = load_workbook(path)
    workbook.move_sheet(title, offset=-workbook.sheetnames.index(title))
    workbook.save(path)
    return path


# A workbook whose sheets were reordered (F3) ------------------------------------------------------------------------


def test_a_workbook_with_its_repeats_sheet_moved_first_is_the_form_it_was_and_reads_as_before(tmp_path: Path) -> None:
    kobo_order = write_xlsx(tmp_path / "miembros.xlsx", MEMBERS, PEOPLE)
    expected = bodies(kobo_order)
    reordered = moved_first(write_xlsx(tmp_path / "miembros_hojas_reordenadas.xlsx", MEMBERS, PEOPLE), "miembros")
    assert load_workbook(reordered).sheetnames[0] == "miembros"

    # Both were refused: "cannot tell which form it is an export of", and with --form "sheet 'miembros' has none of the
    # columns of the form 'osv_members'".
    assert sniff_form(reordered, FORMS) is MEMBERS
    assert bodies(reordered) == expected
    assert [len(b) for b in expected] == [2, 1]


def test_a_workbook_holding_only_the_repeats_sheet_is_told_to_lack_the_forms_main_section(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "miembros.xlsx", MEMBERS, PEOPLE)
    workbook = load_workbook(path)
    workbook.remove(workbook[workbook.sheetnames[0]])
    workbook.save(path)

    with pytest.raises(ExportError, match=r"none of its sheets \('miembros'\) holds the main section of the form 'osv_members'"):
        read_xlsx(path, MEMBERS)


# A sheet of the form's own questions (F6) ---------------------------------------------------------------------------


def test_a_sheet_headed_with_some_of_one_forms_own_question_names_is_that_forms(tmp_path: Path) -> None:
    path = tmp_path / "fechas.csv"
    path.write_text("nombre;distrito;fecha_mapeo\nOlla Común Las Flores;150132;05/10/2021\n", encoding="utf-8")

    assert sniff_form(path, FORMS) is FORMS["osv_mapping"]


def test_a_sheet_whose_columns_several_forms_ask_names_those_forms(tmp_path: Path) -> None:
    path = tmp_path / "a_mano.csv"
    path.write_text(f"osv;fecha\n{OSV};05/10/2021\n", encoding="utf-8")

    with pytest.raises(ExportError, match="its columns are all questions of the forms osv_activity, osv_meeting; name one with --form"):
        sniff_form(path, FORMS)


# A refusal on a repeat entry as a whole (F4) ------------------------------------------------------------------------


def test_one_row_per_nationality_and_sex_is_refused_on_the_entrys_nationality_and_sex_columns(tmp_path: Path) -> None:
    [submission] = read_xlsx(write_xlsx(tmp_path / "actividades.xlsx", ACTIVITY, [TWICE_VE_F]), ACTIVITY).submissions
    [command] = row_of(ACTIVITY, submission).commands

    [problem] = problems_in(command, ONE_ROW_EACH)

    # It was "participantes row 4 column -": the officer could not find the cells.
    assert (problem.cell.sheet, problem.cell.row) == ("participantes", 4)
    assert problem.cell.column == "participantes/nacionalidad, participantes/sexo"
    assert problem.rule == "unique_nationality_and_sex"


def test_the_webhook_names_the_entrys_nationality_and_sex_answers_each_at_its_place() -> None:
    submission = from_kobo_json(kobo_json(ACTIVITY, TWICE_VE_F), ACTIVITY)
    [command] = row_of(ACTIVITY, submission, spreadsheet=False).commands

    [problem] = problems_in(command, ONE_ROW_EACH)

    assert kobo_path(problem.cell) == "participantes[3]/nacionalidad, participantes[3]/sexo"
