"""One file, the same person's document written with its leading zeros in one row and from a numeric cell in another.

Tester 30 H2 (t24c): a roster file listed the same woman in two submissions, her
CPP "000940407" typed as text and 940407 in a number cell; ``osv-import
--dry-run`` said "2 would be created" (the file's own comparison padded only
a CE) and engagement registered her twice. The file's rows are compared as
engagement compares documents (:func:`~shared.documents.compared_number`):
the dry run refuses the second row, naming the first, and the import records
her once. Engagement is real, in this process; registry's mapping of the OSVs
is handed to it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.imports.application import Importer, Outcome, Services
from services.imports.domain.commands import Row, row_of
from services.imports.exports import read_xlsx
from services.imports.forms import shipped
from tests.support.api import Upstream
from tests.support.clients import application_of
from tests.support.identity import signed_in_headers
from tests.support.kobo import Answers, write_xlsx

pytestmark = pytest.mark.timeout(120)

MEMBERS = shipped()["osv_members"]
SAME_DOCUMENT_TWICE = [  # (type, as the card prints it in a text cell, as a number cell keeps it)
    ("CPP", "000940407", 940407),
    ("PTP", "001234567", 1234567),
    ("PASAPORTE", "000940407", 940407),
    ("SOLICITANTE_REFUGIO", "000940407", 940407),
    ("CEDULA_VE", "V-01.401.664", 1401664),
]


def roster_file(tmp_path: Path, osvs: list[str], kind: str, numbers: list[object]) -> list[Row]:
    """Two promoters' submissions, one OSV each, listing the same woman with her document written as given."""
    submissions = [
        Answers({"osv": osv_id}, {"miembros": [
            {"nombre_completo": name, "tipo_documento": kind, "numero_documento": number, "nacionalidad": "VE",
             "sexo": "F", "rol": "member", "fecha_ingreso": "2021-06-01"},
        ]})
        for osv_id, name, number in zip(osvs, ("Karla Mendoza", "KARLA MENDOZA"), numbers, strict=True)
    ]
    sheet = read_xlsx(write_xlsx(tmp_path / "miembros.xlsx", MEMBERS, submissions), MEMBERS)
    return [row_of(sheet.form, s) for s in sheet.submissions]


def importer_of(engagement: TestClient) -> Importer:
    token = signed_in_headers()["Authorization"].removeprefix("Bearer ")
    urls = {"registry": "http://registry.invalid", "engagement": str(engagement.base_url)}
    return Importer(Services(urls, token, transport=engagement._transport, sleep=lambda _: None))  # noqa: SLF001


@pytest.mark.parametrize("numeric_cell_first", [False, True], ids=["text-first", "number-first"])
@pytest.mark.parametrize(("kind", "printed", "numeric"), SAME_DOCUMENT_TWICE, ids=[k for k, _, _ in SAME_DOCUMENT_TWICE])
def test_a_document_written_with_and_without_its_leading_zeros_in_two_rows_of_a_file_is_one_person(
    engagement: TestClient, tmp_path: Path, kind: str, printed: str, numeric: int, numeric_cell_first: bool
) -> None:
    registry = Upstream(application_of(engagement))
    osvs = [registry.osv_mapped(district="San Juan de Lurigancho", mapped_on="2021-03-15"), registry.osv_mapped(mapped_on="2021-03-15")]
    rows = roster_file(tmp_path, osvs, kind, [numeric, printed] if numeric_cell_first else [printed, numeric])

    dry = importer_of(engagement).run(rows, dry_run=True)

    assert [r.outcome for r in dry.results] == [Outcome.CREATED, Outcome.REFUSED]
    [problem] = dry.results[1].problems
    assert (problem.field, problem.rule) == ("document_number", "person_already_registered")
    assert problem.message.startswith("a person with this document is registered already by row 2 of sheet 'miembros'")
    assert "add them to this OSV with POST /members/{id}/memberships" in problem.message  # a person of two OSVs (tester 137 F7)
    assert str(numeric) not in problem.message

    done = importer_of(engagement).run(rows, dry_run=False)

    assert [r.outcome for r in done.results] == [Outcome.CREATED, Outcome.REFUSED]
    assert {(p.field, p.rule) for p in done.results[1].problems} == {("document_number", "person_already_registered")}
    rosters = [engagement.get(f"/osvs/{osv_id}/members", params={"purpose": "follow_up"}).json() for osv_id in osvs]
    assert [len(roster) for roster in rosters] == [1, 0]  # registered once, in the first row's OSV


@pytest.mark.parametrize(("kind", "zeros"), [("CE", "000000"), ("PASAPORTE", "0000000"), ("CEDULA_VE", "V-0000000")])
def test_a_number_of_zeros_only_in_two_rows_of_a_file_is_refused_in_each_as_a_placeholder(
    engagement: TestClient, tmp_path: Path, kind: str, zeros: object
) -> None:
    # Tester 30b, M4: zeros typed for an unknown number are nobody's document: each row is refused naming the rule, and
    # the second is not said to be the first row's person.
    registry = Upstream(application_of(engagement))
    osvs = [registry.osv_mapped(district="San Juan de Lurigancho", mapped_on="2021-03-15"), registry.osv_mapped(mapped_on="2021-03-15")]
    rows = roster_file(tmp_path, osvs, kind, [zeros, zeros])

    dry = importer_of(engagement).run(rows, dry_run=True)

    assert [r.outcome for r in dry.results] == [Outcome.REFUSED, Outcome.REFUSED]
    assert [{(p.field, p.rule) for p in r.problems} for r in dry.results] == [{("document_number", "not_all_zeros")}] * 2


def test_a_person_an_earlier_row_registers_is_told_beside_the_rows_other_refusals_in_one_dry_run(
    engagement: TestClient, tmp_path: Path
) -> None:
    """Tester 226 F7a: a second submission repeated the first's cédula and CE without their V- and zeros, and listed a
    third woman twice. The dry run told only her twice; the repeated documents came out in the next run, once she was
    taken out. One run now tells all three, each naming where the other is, and nothing is recorded."""
    registry = Upstream(application_of(engagement))
    first_osv, second_osv = (
        registry.osv_mapped(district=d, mapped_on="2021-03-15") for d in ("Comas", "San Juan de Lurigancho")
    )

    def person(name: str, kind: str, number: object) -> dict[str, object]:
        return {
            "nombre_completo": name,
            "tipo_documento": kind,
            "numero_documento": number,
            "nacionalidad": "VE",
            "sexo": "F",
            "rol": "member",
            "fecha_ingreso": "2022-08-01",
        }

    submissions = [
        Answers(
            {"osv": first_osv},
            {
                "miembros": [
                    person("Mirla Josefina Toro", "CEDULA_VE", "V-19.111.222"),
                    person("Héctor Luis Paz", "CE", "0000371933"),
                ]
            },
        ),
        Answers(
            {"osv": second_osv},
            {
                "miembros": [
                    person("Mirla Josefina Toro", "CEDULA_VE", "19111222"),
                    person("Héctor Luis Paz", "CE", 371933),
                    person("María José Pérez Gómez", "DNI", "45.678.912"),
                    person("María José Pérez Gómez", "DNI", "45678912"),
                ]
            },
        ),
    ]
    sheet = read_xlsx(write_xlsx(tmp_path / "miembros.xlsx", MEMBERS, submissions), MEMBERS)
    rows = [row_of(sheet.form, s) for s in sheet.submissions]

    dry = importer_of(engagement).run(rows, dry_run=True)

    assert [r.outcome for r in dry.results] == [Outcome.CREATED, Outcome.REFUSED]
    problems = dry.results[1].problems
    assert [(p.cell.sheet, p.cell.row, p.field, p.rule) for p in problems] == [
        ("miembros", row, "document_number", "person_already_registered") for row in (4, 5, 7)
    ]
    assert [p.message.split(":")[0] for p in problems] == [
        "a person with this document is registered already by row 2 of sheet 'miembros' of this file",
        "a person with this document is registered already by row 3 of sheet 'miembros' of this file",
        "a person with this document is row 6 of sheet 'miembros' of this file too",
    ]
    assert [
        len(engagement.get(f"/osvs/{o}/members", params={"purpose": "follow_up"}).json())
        for o in (first_osv, second_osv)
    ] == [0, 0]

    # A row refused for a woman given twice alone registers nobody: a later row registering her is not told she is.
    twice = Answers({"osv": second_osv}, {"miembros": submissions[1].repeats["miembros"][2:]})
    again = Answers({"osv": first_osv}, {"miembros": [person("María José Pérez Gómez", "DNI", "45678912")]})
    sheet = read_xlsx(write_xlsx(tmp_path / "miembros.xlsx", MEMBERS, [submissions[0], twice, again]), MEMBERS)
    dry = importer_of(engagement).run([row_of(sheet.form, s) for s in sheet.submissions], dry_run=True)
    assert [(r.outcome, [p.rule for p in r.problems]) for r in dry.results] == [
        (Outcome.CREATED, []),
        (Outcome.REFUSED, ["person_already_registered"]),
        (Outcome.CREATED, []),
    ]


def test_a_card_number_short_of_six_digits_from_a_number_cell_is_refused_saying_a_cell_may_have_dropped_its_zeros(
    engagement: TestClient, tmp_path: Path
) -> None:
    """Tester 226 F5: a CE, PTP and CPP typed as the numbers 45678, 5678 and 98765 were refused as "6 to 12 (15) letters
    or digits" alone, where a DNI's message says a number cell may have dropped its zero. Not padded back (a digit left
    out when typing looks the same): each is refused, saying how many zeros the card's 9 digits would begin with."""
    osv_id = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    person = {"nacionalidad": "VE", "sexo": "F", "rol": "member", "fecha_ingreso": "2021-06-01"}
    cards = (("Karla Mendoza", "CE", 45678), ("Rosa Rojas", "PTP", 5678), ("Ana Pérez", "CPP", 98765))  # number cells
    people = [
        {**person, "nombre_completo": name, "tipo_documento": kind, "numero_documento": number}
        for name, kind, number in cards
    ]
    export = write_xlsx(tmp_path / "miembros.xlsx", MEMBERS, [Answers({"osv": osv_id}, {"miembros": people})])
    rows = [row_of(MEMBERS, submission) for submission in read_xlsx(export, MEMBERS).submissions]

    [result] = importer_of(engagement).run(rows, dry_run=False).results

    assert result.outcome == Outcome.REFUSED
    assert [(p.cell.row, p.field, p.rule) for p in result.problems] == [
        (2, "document_number", "ce_6_to_12_alphanumerics"),
        (3, "document_number", "ptp_6_to_15_alphanumerics"),
        (4, "document_number", "cpp_6_to_15_alphanumerics"),
    ]
    for problem, zeros in zip(result.problems, ("0000", "00000", "0000"), strict=True):
        assert f"if the card's 9 digits begin with {zeros}, a spreadsheet's number cell dropped them" in problem.message
        assert "type the number as text with its zeros" in problem.message
    assert application_of(engagement).log_head() == 0  # nothing recorded, nothing padded
