"""Kobo's exports of the shipped forms read into the services' commands: XML values or labels, XLSX, CSV or a webhook post.

Every export here is made from the shipped XLSForms in the shape Kobo gives
(tests/support/kobo.py); what each submission asks of the services must not
depend on how staff chose to export it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from openpyxl import load_workbook

from devtools.processes import free_port
from services.imports.application import Summary
from services.imports.domain.commands import Row, row_of
from services.imports.domain.submissions import kobo_path
from services.imports.exports import ExportError, from_kobo_json, read_csv, read_export, read_xlsx, sniff_form
from services.imports.forms import shipped
from services.imports.report import write_report
from tests.support.kobo import Answers, kobo_json, write_csv, write_xlsx

OSV = "2b0d7c4e-8a51-4a6e-9a59-5f3f6c6f1a10"
FORMS = shipped()
MAPPING, MEMBERS, MEETING, ACTIVITY = (FORMS[f] for f in ("osv_mapping", "osv_members", "osv_meeting", "osv_activity"))

OSVS = [
    Answers({"nombre": "Mujeres Emprendedoras de Breña", "distrito": "150105", "tipo": "productiva", "composicion": "mixed",
             "ejes": "employment anti_discrimination health", "canal_contacto": "whatsapp", "fecha_mapeo": "2021-03-15"}),
    Answers({"nombre": "Club Deportivo Los Andes", "distrito": "150132", "fecha_mapeo": "2021-03-16"}),
]
PEOPLE = Answers(
    {"osv": OSV},
    {"miembros": [
        {"nombre_completo": "María José Pérez Añez", "tipo_documento": "CPP", "numero_documento": "001234567",
         "nacionalidad": "VE", "sexo": "F", "anio_nacimiento": 1988, "rol": "president", "telefono": "+51 987 654 321",
         "fecha_ingreso": "2021-04-01"},
        {"nombre_completo": "José Ñañez Huamán", "tipo_documento": "DNI", "numero_documento": "41234567",
         "nacionalidad": "PE", "sexo": "M", "rol": "member", "fecha_ingreso": "2021-04-01"},
        {"nombre_completo": "Yusmary Cordero", "tipo_documento": "NINGUNO", "nacionalidad": "VE", "sexo": "F",
         "rol": "member", "fecha_ingreso": "2021-04-02"},
    ]},
)


def rows_of(sheet) -> list[Row]:  # noqa: ANN001 - a Sheet
    return [row_of(sheet.form, s) for s in sheet.submissions]


def bodies(rows: list[Row]) -> list[list[dict]]:
    return [[c.body for c in r.commands] for r in rows]


@pytest.mark.parametrize("language", [None, 0, 1], ids=["xml-values", "labels-es", "labels-en"])
def test_an_osv_mapping_export_gives_the_same_commands_with_values_or_labels_in_either_language(tmp_path: Path, language: int | None) -> None:
    sheet = read_xlsx(write_xlsx(tmp_path / "mapeo.xlsx", MAPPING, OSVS, language), MAPPING)

    rows = rows_of(sheet)

    assert bodies(rows) == [
        [{"name": "Mujeres Emprendedoras de Breña", "district": "150105", "kind": "productiva", "composition": "mixed",
          "focus_areas": ["employment", "anti_discrimination", "health"], "contact_channel": "whatsapp", "mapped_on": "2021-03-15"}],
        [{"name": "Club Deportivo Los Andes", "district": "150132", "mapped_on": "2021-03-16"}],  # blank optional answers left out
    ]
    assert [r.commands[0].key for r in rows] == [f"kobo:{a.uuid}:osv_mapping:osv" for a in OSVS]
    assert sheet.ignored == {}  # Kobo's own columns and the one-column-per-option layout are understood


def test_a_renamed_column_is_listed_in_the_report_and_the_forms_own_start_and_end_are_not(tmp_path: Path) -> None:
    """Tester 137 F3: a members export whose repeat sheet said `miembros/telefono_celular` was imported without its
    phones ("1 created", an empty Problems sheet); the one trace, a line on stderr, always named the form's own
    `start` and `end` beside it, so staff learnt to skip it."""
    path = write_xlsx(tmp_path / "socios.xlsx", MEMBERS, [PEOPLE])
    workbook = load_workbook(path)
    main, people = workbook.worksheets
    for place, (header, value) in enumerate((("start", "2021-04-01T09:12:00.000-05:00"), ("end", "2021-04-01T09:40:00.000-05:00"))):
        main.cell(row=1, column=main.max_column + 1, value=header)
        main.cell(row=2, column=main.max_column, value=value)
    renamed = next(cell for cell in people[1] if cell.value == "miembros/telefono")
    renamed.value = "miembros/telefono_celular"
    workbook.save(path)

    sheet = read_xlsx(path, MEMBERS)

    assert sheet.ignored == {"miembros": ["miembros/telefono_celular"]}
    assert all("phone" not in command.body for row in rows_of(sheet) for command in row.commands)  # not imported: so said
    report = load_workbook(write_report(Summary(dry_run=True), tmp_path / "socios.dry-run-report.xlsx", path.name, sheet.ignored))
    assert [tuple(row) for row in report["Ignored columns"].iter_rows(values_only=True)] == [
        ("sheet", "column"), ("miembros", "miembros/telefono_celular"),
    ]
    assert ("columns not in the form, ignored", 1) in [tuple(row) for row in report["Summary"].iter_rows(values_only=True)]


def test_district_spellings_typed_in_the_field_go_to_the_api_as_typed(tmp_path: Path) -> None:
    typed = [Answers({**OSVS[1].values, "distrito": spelling}) for spelling in ("Brena", "SJL", "Cercado de Lima", "breña")]
    sheet = read_xlsx(write_xlsx(tmp_path / "mapeo.xlsx", MAPPING, typed, 0), MAPPING)

    # A label (any case or accents) is the choice's value; anything else is left for registry's district table.
    assert [b[0]["district"] for b in bodies(rows_of(sheet))] == ["150105", "SJL", "Cercado de Lima", "150105"]


def test_repeat_groups_come_from_their_sheets_joined_by_parent_index(tmp_path: Path) -> None:
    other = Answers({"osv": OSV}, {"miembros": [{**PEOPLE.repeats["miembros"][1], "numero_documento": "09876543"}]})
    sheet = read_xlsx(write_xlsx(tmp_path / "miembros.xlsx", MEMBERS, [PEOPLE, other], 0), MEMBERS)

    first, second = rows_of(sheet)

    assert [c.body["full_name"] for c in first.commands] == ["María José Pérez Añez", "José Ñañez Huamán", "Yusmary Cordero"]
    assert first.commands[0].body == {
        "osv_id": OSV, "full_name": "María José Pérez Añez", "document_type": "CPP", "document_number": "001234567",
        "nationality": "VE", "sex": "F", "birth_year": 1988, "role": "president", "phone": "+51 987 654 321", "joined_on": "2021-04-01",
    }
    assert "document_number" not in first.commands[2].body and "phone" not in first.commands[1].body
    assert [c.key for c in first.commands] == [f"kobo:{PEOPLE.uuid}:osv_members:miembros/{n}" for n in (1, 2, 3)]
    assert [(c.where.sheet, c.where.row) for c in first.commands] == [("miembros", 2), ("miembros", 3), ("miembros", 4)]
    assert first.commands[1].cell_for("full_name").column == "Socia o socio/Nombre completo"
    assert [c.body["document_number"] for c in second.commands] == ["09876543"]
    assert first.problems == second.problems == []


def test_the_same_person_twice_in_one_submission_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    twice = Answers({"osv": OSV}, {"miembros": [PEOPLE.repeats["miembros"][0], {**PEOPLE.repeats["miembros"][0], "numero_documento": "0012-34567"}]})

    row = row_of(MEMBERS, read_xlsx(write_xlsx(tmp_path / "m.xlsx", MEMBERS, [twice]), MEMBERS).submissions[0])

    [problem] = row.problems
    assert (problem.cell.sheet, problem.cell.row, problem.cell.column) == ("miembros", 3, "miembros/numero_documento")
    assert problem.rule == "person_already_registered" and "001234567" not in problem.message
    # Nothing of the submission is registered: the message says where the other entry is, not that it registered anyone.
    assert problem.message == "a person with this document is row 2 of sheet 'miembros' of this file too: register each person once"


def test_two_presidents_in_one_submission_are_refused_before_anything_is_sent(tmp_path: Path) -> None:
    """Each entry's dry run alone would pass (the OSV has no president yet): the real import would register the first
    and be refused the second (engagement's 409 `one_president`), leaving the submission half recorded."""
    second = {**PEOPLE.repeats["miembros"][1], "rol": "president"}
    two = Answers({"osv": OSV}, {"miembros": [PEOPLE.repeats["miembros"][0], second, PEOPLE.repeats["miembros"][2]]})

    row = row_of(MEMBERS, read_xlsx(write_xlsx(tmp_path / "m.xlsx", MEMBERS, [two]), MEMBERS).submissions[0])

    [problem] = row.problems
    assert (problem.cell.sheet, problem.cell.row, problem.cell.column) == ("miembros", 3, "miembros/rol")
    assert problem.rule == "one_president" and "Ñañez" not in problem.message
    assert problem.message == "row 2 of sheet 'miembros' of this file is the OSV's president too: an OSV has one president at a time, so name one"


def test_a_ce_number_a_numeric_cell_stripped_of_its_leading_zeros_is_the_same_person_twice_in_one_submission(tmp_path: Path) -> None:
    ce = {**PEOPLE.repeats["miembros"][0], "tipo_documento": "CE", "numero_documento": "001234567"}
    twice = Answers({"osv": OSV}, {"miembros": [ce, {**ce, "numero_documento": 1234567}]})  # a number cell: Excel drops the zeros

    row = row_of(MEMBERS, read_xlsx(write_xlsx(tmp_path / "m.xlsx", MEMBERS, [twice]), MEMBERS).submissions[0])

    assert [c.body["document_number"] for c in row.commands] == ["001234567", "1234567"]  # sent as given: engagement pads
    [problem] = row.problems
    assert (problem.cell.sheet, problem.cell.row, problem.cell.column) == ("miembros", 3, "miembros/numero_documento")
    assert problem.rule == "person_already_registered" and "1234567" not in problem.message


@pytest.mark.parametrize(
    ("kind", "printed", "numeric"),
    [("CPP", "000940407", 940407), ("PTP", "001234567", 1234567), ("PASAPORTE", "000940407", 940407),
     ("SOLICITANTE_REFUGIO", "000940407", 940407), ("CEDULA_VE", "V-01.401.664", 1401664)],
)
def test_another_document_a_numeric_cell_stripped_of_its_leading_zeros_is_the_same_person_twice_in_one_submission(
    tmp_path: Path, kind: str, printed: str, numeric: int
) -> None:
    """Tester 30 H2: the file's own check padded only a CE, so a CPP (PTP, passport, claim, cédula) written as printed
    and from a number cell went on to engagement as two people."""
    person = {**PEOPLE.repeats["miembros"][0], "tipo_documento": kind, "numero_documento": printed}
    twice = Answers({"osv": OSV}, {"miembros": [person, {**person, "numero_documento": numeric}]})

    row = row_of(MEMBERS, read_xlsx(write_xlsx(tmp_path / "m.xlsx", MEMBERS, [twice]), MEMBERS).submissions[0])

    assert [c.body["document_number"] for c in row.commands] == [printed, str(numeric)]  # sent as given: engagement decides
    [problem] = row.problems
    assert (problem.cell.sheet, problem.cell.row, problem.cell.column) == ("miembros", 3, "miembros/numero_documento")
    assert problem.rule == "person_already_registered" and str(numeric) not in problem.message


def test_a_cedula_written_with_and_without_its_v_is_the_same_person_twice_in_one_submission(tmp_path: Path) -> None:
    """Tester 25 (ce25's report): engagement keeps a cédula whether written V- or bare; the file's own check took
    "V-18.765.432" and "18765432" for two people, so the second row reached engagement before it was refused."""
    cedula = {**PEOPLE.repeats["miembros"][0], "tipo_documento": "CEDULA_VE", "numero_documento": "V-18.765.432"}
    twice = Answers({"osv": OSV}, {"miembros": [cedula, {**cedula, "numero_documento": "18765432"}]})

    row = row_of(MEMBERS, read_xlsx(write_xlsx(tmp_path / "m.xlsx", MEMBERS, [twice]), MEMBERS).submissions[0])

    [problem] = row.problems
    assert (problem.cell.sheet, problem.cell.row, problem.cell.column) == ("miembros", 3, "miembros/numero_documento")
    assert problem.rule == "person_already_registered" and "18765432" not in problem.message


def test_a_meeting_and_its_actions_and_an_activity_and_its_participants_become_one_command_each(tmp_path: Path) -> None:
    meeting = Answers(
        {"osv": OSV, "fecha": "2021-06-10", "modalidad": "in_person", "temas": "ruos_registration needs", "otros_asistentes": 2},
        {"acciones": [{"descripcion": "Reunir las actas", "responsable": "junta directiva", "fecha_limite": "2021-06-30"}]},
    )
    activity = Answers(
        {"osv": OSV, "fecha": "2021-07-03", "tipo": "mural_painting", "distrito": "150132", "beneficiarios_indirectos": 300,
         "productos": "mural public_space_recovered", "cantidad_mural": 1, "cantidad_public_space_recovered": 1},
        {"participantes": [{"nacionalidad": "VE", "sexo": "F", "cantidad": 12}, {"nacionalidad": "PE", "sexo": "M", "cantidad": 7}]},
    )

    [meeting_row] = rows_of(read_xlsx(write_xlsx(tmp_path / "r.xlsx", MEETING, [meeting], 1), MEETING))
    [activity_row] = rows_of(read_xlsx(write_xlsx(tmp_path / "a.xlsx", ACTIVITY, [activity], 0), ACTIVITY))

    [command] = meeting_row.commands
    assert (command.service, command.path) == ("engagement", f"/osvs/{OSV}/meetings")
    assert command.body == {
        "held_on": "2021-06-10", "mode": "in_person", "topics": ["ruos_registration", "needs"], "other_attendees": 2,
        "action_items": [{"description": "Reunir las actas", "owner": "junta directiva", "due_on": "2021-06-30"}],
    }
    assert command.cell_for("action_items.0.due_on").sheet == "acciones"
    [command] = activity_row.commands
    # The counts' sum refused is said where they are counted (it was the activity's row, column "-": tester 196).
    summed = command.cell_for("direct_beneficiaries")
    assert summed == command.cell_for("direct_beneficiaries.0.count") != command.where
    assert summed.column.endswith("Cuántas personas"), summed
    assert command.body == {
        "osv_id": OSV, "held_on": "2021-07-03", "kind": "mural_painting", "district": "150132", "indirect_beneficiaries": 300,
        "direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": 12}, {"nationality": "PE", "sex": "M", "count": 7}],
        "outputs": [{"kind": "mural", "count": 1}, {"kind": "public_space_recovered", "count": 1}],
    }


def test_the_apis_words_on_a_whole_number_are_said_as_a_cell_is_filled_in() -> None:
    """Tester 36b F5: a promoter was told a year "must be a whole number written as a JSON number (1990), not text"."""
    from services.imports.application import Answer
    from services.imports.refusals import problems_of

    [command] = row_of(ACTIVITY, from_kobo_json({"_uuid": "t36b-f5w", "osv": OSV, "fecha": "2021-07-03", "tipo": "workshop",
                                                 "distrito": "150132", "beneficiarios_indirectos": "TRUE"}, ACTIVITY)).commands
    refusal = {"errors": [{"field": "indirect_beneficiaries", "rule": "int_type", "message": "must be a whole number written as a JSON number (1990), not text, a fraction or true/false"}]}
    [problem] = problems_of(command, Answer(422, refusal, replayed=False))
    assert (problem.rule, problem.cell.column) == ("int_type", "beneficiarios_indirectos")
    assert "JSON" not in problem.message and problem.message.startswith("must be a whole number written with the digits 0-9"), problem


class KeyedServices:
    """Registry as far as keys go: a key's first body is recorded; the same body again is replayed, another refused."""

    def __init__(self) -> None:
        self.bodies: dict[str, dict] = {}

    def send(self, command, *, dry_run: bool, patient: bool = True):  # noqa: ANN001, ANN201 - Services.send's
        from services.imports.application import Answer

        if command.key not in self.bodies:
            if not dry_run:
                self.bodies[command.key] = command.body
            return Answer(201, {"id": OSV, "name": command.body["name"], "district": "Zárate"}, replayed=False)
        if self.bodies[command.key] == command.body:
            return Answer(201, {"id": OSV, "name": command.body["name"], "district": "Zárate"}, replayed=True)
        return Answer(422, {"errors": [{"field": None, "rule": "idempotency_key_reused", "message": "other"}], "same_request": False}, replayed=False)


def test_two_rows_of_one_uuid_that_the_api_would_store_the_same_are_one_answer_and_others_name_the_columns(tmp_path: Path) -> None:
    """Tester 171 F3: a mapping's row and its copy, one name typed with extra spaces, were both refused
    "[same_uuid_other_answers] ... with other answers", though registry stores the two names the same (a name's runs of
    spaces made one). Compared as the API reads them, they are the same row twice: recorded once, "already there" the
    second time, in the dry run and the import. Rows that do differ are refused naming the columns, never the values."""
    from services.imports.application import Importer, Outcome

    spaced = Answers({"nombre": "  Asociación   Hermanos Venezolanos de Zárate ", "distrito": "150136", "fecha_mapeo": "2021-06-01"})
    plain = Answers({**spaced.values, "nombre": "Asociación Hermanos Venezolanos de Zárate"}, uuid=spaced.uuid)
    rows = rows_of(read_xlsx(write_xlsx(tmp_path / "mapeo.xlsx", MAPPING, [spaced, plain]), MAPPING))
    services = KeyedServices()
    for dry_run in (True, False):
        summary = Importer(services).run(rows, dry_run=dry_run)  # type: ignore[arg-type]
        assert [(r.outcome, r.problems) for r in summary.results] == [(Outcome.CREATED, []), (Outcome.ALREADY_THERE, [])]
    assert len(services.bodies) == 1

    other = Answers({**plain.values, "nombre": "Asociación Hermanos de Comas", "distrito": "150110"}, uuid=spaced.uuid)
    rows = rows_of(read_xlsx(write_xlsx(tmp_path / "mapeo.xlsx", MAPPING, [spaced, other]), MAPPING))
    summary = Importer(KeyedServices()).run(rows, dry_run=True)  # type: ignore[arg-type]
    assert [r.outcome for r in summary.results] == [Outcome.REFUSED, Outcome.REFUSED]
    first, second = (r.problems[0].message for r in summary.results)
    assert "row 3 of sheet" in first and "(they differ in osv/nombre, osv/distrito)" in first, first
    assert "row 2 of sheet" in second and "(they differ in osv/nombre, osv/distrito)" in second, second
    assert "Comas" not in first + second and "150110" not in first + second


@pytest.mark.parametrize("value", ["  Asociación   Hermanos\u00a0 de Zárate ", "Comedor\n  Los Olivos", "Jose\u0301  María\t"])
def test_the_import_reads_each_text_it_compares_as_the_api_reads_it(value: str) -> None:
    """The clean-up the import compares rows' answers with (Command.read_as) is the APIs' own: each field it names is
    read by the service's model to the same text."""
    from typing import Annotated

    from pydantic import TypeAdapter

    from services.engagement.fieldschemas import ActionItemCreate, ActivityCreate
    from services.engagement.schemas import MemberCreate
    from services.registry.schemas import OSVCreate

    models = {"/osvs": OSVCreate, "/members": MemberCreate, "/activities": ActivityCreate, "meetings": ActionItemCreate}
    meeting = Answers({"osv": OSV, "fecha": "2021-07-01", "modalidad": "virtual"},
                      {"acciones": [{"descripcion": "x", "responsable": "y", "fecha_limite": "2021-07-09"}]})
    activity = Answers({"osv": OSV, "fecha": "2021-07-03", "tipo": "workshop", "distrito": "150132"})
    commands = [c for form, answers in ((MAPPING, OSVS[0]), (MEMBERS, PEOPLE), (MEETING, meeting), (ACTIVITY, activity))
                for c in row_of(form, from_kobo_json(kobo_json(form, answers), form)).commands]
    checked = set()
    for command in commands:
        for path, clean in command.read_as.items():
            model = models["meetings" if command.path.endswith("/meetings") else command.path]
            name = path.rpartition(".")[2]
            field = model.model_fields[name]
            assert TypeAdapter(Annotated[field.annotation, field]).validate_python(value) == clean(value), (command.path, path)
            checked.add((model.__name__, name))
    assert checked == {("OSVCreate", "name"), ("OSVCreate", "district"), ("MemberCreate", "full_name"),
                       ("ActionItemCreate", "description"), ("ActionItemCreate", "owner"), ("ActivityCreate", "district")}


def test_a_choice_the_form_does_not_have_is_refused_naming_the_forms_labels_and_codes(tmp_path: Path) -> None:
    """Tester 171 F8: a member's sex written "Masculino" in a file exported with labels (Mujer, Hombre, Otro /
    prefiere no decir) was told "Input should be 'F', 'M' or 'X'", the API's codes, which the promoter never saw. The
    value still goes as written and is refused (it is not the form's), in the form's words, without echoing it."""
    from services.imports.application import Answer
    from services.imports.refusals import problems_of

    person = {**PEOPLE.repeats["miembros"][1], "sexo": "Masculino"}
    sheet = read_xlsx(write_xlsx(tmp_path / "m.xlsx", MEMBERS, [Answers({"osv": OSV}, {"miembros": [person]})], 0), MEMBERS)
    [command] = rows_of(sheet)[0].commands
    assert (command.body["sex"], command.body["nationality"]) == ("Masculino", "PE")  # a label the form has is read back
    refusal = {"errors": [{"field": "sex", "rule": "enum", "message": "Input should be 'F', 'M' or 'X'"}]}
    [problem] = problems_of(command, Answer(422, refusal, replayed=False))
    assert (problem.rule, problem.field, problem.cell.column.rpartition("/")[2]) == ("enum", "sex", "Sexo")
    assert problem.message == "expected one of the form's choices: Mujer, Hombre, Otro / prefiere no decir (F, M, X)", problem
    assert "Masculino" not in problem.message

    # A list's item (a select_multiple's) is told the list's choices; another rule keeps the API's words.
    [mapping] = rows_of(read_xlsx(write_xlsx(tmp_path / "o.xlsx", MAPPING, OSVS[:1]), MAPPING))[0].commands
    refusal = {"errors": [{"field": "focus_areas.1", "rule": "enum", "message": "Input should be 'employment', ..."},
                          {"field": "name", "rule": "name_has_letters", "message": "an OSV's name needs a letter or a digit"}]}
    areas, name = problems_of(mapping, Answer(422, refusal, replayed=False))
    assert areas.message.startswith("expected one of the form's choices: Empleo, Emprendimiento, Educación, Salud"), areas
    assert "(employment, entrepreneurship, education, health, " in areas.message and areas.field == "focus_areas.1", areas
    assert name.message == "an OSV's name needs a letter or a digit"


def test_a_count_cell_holding_true_or_other_scripts_digits_goes_as_written_for_the_api_to_refuse(tmp_path: Path) -> None:
    """Tester 36d F1, F2: a TRUE cell under a count went as 1 (FALSE as 0, refused as "not 0"), and Arabic-Indic ``٣`` as 3,
    where the API refuses both (``int_type``) and the webhook refuses ``true``. A spreadsheet's 5.0 is still 5."""
    activity = Answers(
        {"osv": OSV, "fecha": "2021-07-03", "tipo": "workshop", "distrito": "150132", "beneficiarios_indirectos": 5.0},
        {"participantes": [{"nacionalidad": "VE", "sexo": "F", "cantidad": True}, {"nacionalidad": "PE", "sexo": "M", "cantidad": "٣"}]},
    )

    [row] = rows_of(read_xlsx(write_xlsx(tmp_path / "a.xlsx", ACTIVITY, [activity], 0), ACTIVITY))

    [command] = row.commands
    assert command.body["indirect_beneficiaries"] == 5
    assert [b["count"] for b in command.body["direct_beneficiaries"]] == ["TRUE", "٣"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_a_csv_export_reads_as_the_xlsx_does_whatever_excel_saved_it_as(tmp_path: Path, encoding: str) -> None:
    csv_rows = rows_of(read_csv(write_csv(tmp_path / "mapeo.csv", MAPPING, OSVS, 0, encoding), MAPPING))
    xlsx_rows = rows_of(read_xlsx(write_xlsx(tmp_path / "mapeo.xlsx", MAPPING, OSVS, 0), MAPPING))

    assert bodies(csv_rows) == bodies(xlsx_rows)
    assert csv_rows[0].commands[0].body["name"] == "Mujeres Emprendedoras de Breña"


def test_a_form_with_repeat_groups_is_not_read_from_csv_which_leaves_them_out(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="repeat groups"):
        read_export(write_csv(tmp_path / "miembros.csv", MEMBERS, [PEOPLE]), MEMBERS)


def test_the_form_is_told_from_the_columns_and_a_file_of_another_form_is_refused(tmp_path: Path) -> None:
    assert sniff_form(write_xlsx(tmp_path / "a.xlsx", MEMBERS, [PEOPLE], 1), FORMS).form_id == "osv_members"
    assert sniff_form(write_csv(tmp_path / "b.csv", MAPPING, OSVS), FORMS).form_id == "osv_mapping"
    with pytest.raises(ExportError, match="another form"):
        read_xlsx(write_xlsx(tmp_path / "c.xlsx", MAPPING, OSVS), MEETING)


def test_a_webhook_post_gives_the_commands_the_export_gives(tmp_path: Path) -> None:
    exported = rows_of(read_xlsx(write_xlsx(tmp_path / "m.xlsx", MEMBERS, [PEOPLE]), MEMBERS))[0]

    posted = row_of(MEMBERS, from_kobo_json(kobo_json(MEMBERS, PEOPLE), MEMBERS))

    assert [(c.body, c.key) for c in posted.commands] == [(c.body, c.key) for c in exported.commands]
    assert posted.commands[0].cell_for("full_name").column == "miembros/nombre_completo"


def test_a_whole_number_written_as_a_decimal_goes_to_the_api_as_a_whole_number_and_a_fraction_as_given() -> None:
    """Tester 36b F5: a birth year typed or saved as 1990.0 went as the text "1990.0", refused as "not text"; the
    services now take counts and years as JSON integers only, so the import sends the whole number it is."""
    people = Answers({"osv": OSV}, {"miembros": [{**PEOPLE.repeats["miembros"][0], "anio_nacimiento": "1990.0"},
                                                  {**PEOPLE.repeats["miembros"][1], "anio_nacimiento": "1990.5"}]})

    posted = row_of(MEMBERS, from_kobo_json(kobo_json(MEMBERS, people), MEMBERS))

    assert [c.body["birth_year"] for c in posted.commands] == [1990, "1990.5"]


def test_a_repeat_group_that_is_no_list_of_entries_is_refused_saying_so() -> None:
    """Tester 36b F5: ``"miembros": {"a": 1}`` was told "the submission registers nobody", an entry given as text five
    "Field required"."""
    for miembros, where in (({"a": 1}, "miembros"), ("notalist", "miembros"), ([{}, "notadict"], "miembros[2]")):
        posted = row_of(MEMBERS, from_kobo_json({"_uuid": "t36b-f5", "osv": OSV, "miembros": miembros}, MEMBERS))
        refused = [p for p in posted.problems if p.rule == "kobo_answer"]
        assert [kobo_path(p.cell) for p in refused] == [where], posted.problems
        assert refused[0].message.startswith("Kobo posts a repeat group as a list of entries"), refused[0].message


def test_a_webhook_posts_mistakes_name_the_repeat_entry_they_are_in() -> None:
    """Kobo's REST Services log is all a promoter sees of a refused post: with every mistake of a post in one answer,
    two members' wrong document numbers must say which member each is (tester 27)."""
    from services.imports.domain.submissions import kobo_path

    posted = from_kobo_json(kobo_json(MEMBERS, PEOPLE), MEMBERS)
    entries = next(iter(posted.repeats.values()))
    assert len(entries) >= 2

    first, second = (kobo_path(entry.cells["nombre_completo"]) for entry in entries[:2])
    assert (first, second) == ("miembros[1]/nombre_completo", "miembros[2]/nombre_completo")
    main_cell = next(iter(posted.main.cells.values()))
    assert kobo_path(main_cell) == main_cell.column  # the main section's keys as posted


def test_osv_import_without_a_token_or_with_a_file_it_cannot_read_stops_before_sending_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.imports.cli import main as osv_import

    monkeypatch.delenv("IMPORTS_TOKEN", raising=False)
    mapping = write_xlsx(tmp_path / "mapeo.xlsx", MAPPING, OSVS)
    unreachable = ["--registry-url", "http://127.0.0.1:1", "--engagement-url", "http://127.0.0.1:1"]

    assert osv_import([str(mapping), *unreachable]) == 2
    assert "no token" in capsys.readouterr().err
    assert osv_import([str(write_csv(tmp_path / "m.csv", MEMBERS, [PEOPLE])), "--token", "t", *unreachable]) == 2
    assert "repeat groups" in capsys.readouterr().err
    assert osv_import([str(mapping), "--form", "osv_census", "--token", "t", *unreachable]) == 2
    assert "no form 'osv_census'" in capsys.readouterr().err
    assert not (tmp_path / "mapeo.import-report.xlsx").exists()


def test_osv_import_finds_the_services_where_make_run_serves_them_and_names_a_mistyped_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run` with REGISTRY_PORT=9001: osv-import used to go to 8001 all the same (only IMPORTS_REGISTRY_URL moved it)."""
    from services.imports.cli import main as osv_import

    for variable in ("IMPORTS_REGISTRY_URL", "IMPORTS_ENGAGEMENT_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OSV_HOST", "127.0.0.1")
    monkeypatch.setenv("REGISTRY_PORT", str(free_port()))  # nothing listens there
    mapping = write_xlsx(tmp_path / "mapeo.xlsx", MAPPING, OSVS)

    assert osv_import([str(mapping), "--token", "t", "--dry-run"]) == 2
    assert f"registry could not be reached at http://127.0.0.1:{os.environ['REGISTRY_PORT']}/osvs" in capsys.readouterr().err

    monkeypatch.setenv("REGISTRY_PORT", "8O01")
    assert osv_import([str(mapping), "--token", "t", "--dry-run"]) == 2
    assert "REGISTRY_PORT='8O01'" in capsys.readouterr().err
