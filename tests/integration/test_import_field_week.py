"""A week of field data brought in by the M&E officer (tester 296): a workbook whose sheets were reordered, a refusal
on a repeat entry as a whole, and the dates and headers the field writes.

Exports are made from the shipped XLSForms in the shape Kobo gives (tests/support/kobo.py) and changed as the officer
changed them, in Excel's way (openpyxl)."""

from __future__ import annotations

from pathlib import Path

from services.imports.domain.commands import row_of
from services.imports.domain.submissions import kobo_path
from services.imports.exports import from_kobo_json, read_xlsx
from services.imports.forms import shipped
from services.imports.refusals import problems_in
from tests.support.kobo import Answers, kobo_json, write_xlsx

OSV = "2b0d7c4e-8a51-4a6e-9a59-5f3f6c6f1a10"
FORMS = shipped()
MEMBERS, ACTIVITY = FORMS["osv_members"], FORMS["osv_activity"]

TWICE_VE_F = Answers(
    {"osv": OSV, "fecha": "2021-10-05", "tipo": "mural_painting", "distrito": "150132", "beneficiarios_indirectos": 30},
    {"participantes": [{"nacionalidad": "VE", "sexo": "F", "cantidad": 4}, {"nacionalidad": "PE", "sexo": "M", "cantidad": 2},
                       {"nacionalidad": "VE", "sexo": "F", "cantidad": 3}]},
)
"""An activity whose participants count Venezuelan women twice, as engagement refuses (422 ``unique_nationality_and_sex``
on ``direct_beneficiaries.2``, the entry as a whole)."""
ONE_ROW_EACH = {"errors": [{"field": "direct_beneficiaries.2", "rule": "unique_nationality_and_sex",
                            "message": "direct beneficiaries VE F are counted twice: give one row per nationality and sex"}]}


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
