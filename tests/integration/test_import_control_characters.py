"""An answer holding a control character (a vertical tab pasted into a name): refused on its question, with the rest.

Tester 226 F4: the webhook answered a members' submission whose first name held a vertical tab with one error, field
``body``, rule ``control_characters`` (the request guard's, before anything was read), naming neither the question nor
the entry, and the second entry's DNI of 7 digits went unsaid; ``osv-import`` reported the mapping's row as "column -:
body". The import now refuses such an answer itself, on its question (``miembros[1]/nombre_completo``, the file's
column), and finds the submission's other mistakes by a dry run without it, as it does beside a date it cannot read.

Engagement and registry are real, in this process; registry's mapping of the OSV is handed to engagement.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.imports.api import create_app as imports_app
from services.imports.application import Importer, Outcome, Services
from services.imports.client import Bearer
from services.imports.domain.commands import row_of
from services.imports.domain.submissions import kobo_path
from services.imports.exports import from_kobo_json, read_csv, read_xlsx
from services.imports.forms import shipped
from services.imports.settings import ImportSettings
from shared.auth import AuthSettings
from tests.support.api import Upstream
from tests.support.clients import application_of
from tests.support.identity import signed_in_headers
from tests.support.kobo import Answers, kobo_json, write_csv, write_xlsx

pytestmark = pytest.mark.timeout(120)

MEMBERS, MAPPING, MEETING = (shipped()[form] for form in ("osv_members", "osv_mapping", "osv_meeting"))
SECRET = "kobo-hook-secret-for-the-tests"
PERSON = {"tipo_documento": "DNI", "nacionalidad": "PE", "sexo": "F", "rol": "member", "fecha_ingreso": "2021-04-01"}


def token(name: str = "staff") -> str:
    return signed_in_headers(name)["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def webhook(engagement: TestClient) -> Iterator[TestClient]:
    """The webhook, signed in to engagement as its own account (``osv-imports``, role ``importer``)."""
    hooks = {"osv_members": SECRET, "osv_meeting": SECRET}
    settings = ImportSettings(
        registry_url="http://registry.invalid", engagement_url=str(engagement.base_url), kobo_hooks=hooks
    )
    transport = engagement._transport  # noqa: SLF001 - the test client's app, in process
    app = imports_app(settings, auth_settings=AuthSettings(), auth=Bearer(token("osv-imports")), transport=transport)
    with TestClient(app) as client:
        yield client


def posted(webhook: TestClient, submission: dict[str, Any], form: str = "osv_members") -> httpx.Response:
    basic = base64.b64encode(f"{form}:{SECRET}".encode()).decode()
    return webhook.post(f"/kobo/{form}/submissions", json=submission, headers={"Authorization": f"Basic {basic}"})


def said(answer: httpx.Response) -> list[tuple[str, str]]:
    return [(e["field"], e["rule"]) for e in answer.json()["errors"]]


def test_a_vertical_tab_in_a_name_is_refused_on_its_question_with_the_submissions_other_mistakes(
    engagement: TestClient, webhook: TestClient
) -> None:
    osv_id = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    people = [
        {**PERSON, "nombre_completo": "Ana\u000bPérez Ríos", "numero_documento": "41111111", "telefono": "12"},
        {**PERSON, "nombre_completo": "Rosa Quispe", "numero_documento": "4222222"},  # 7 digits: a zero lost
    ]

    answer = posted(webhook, kobo_json(MEMBERS, Answers({"osv": osv_id}, {"miembros": people}, uuid="t226-f4")))

    assert answer.status_code == 422, answer.text
    assert said(answer) == [
        ("miembros[1]/nombre_completo", "control_characters"),
        ("miembros[1]/telefono", "phone_6_to_15_digits"),  # the same entry's other answers are checked too
        ("miembros[2]/numero_documento", "dni_8_digits"),
    ]
    [tab] = [e for e in answer.json()["errors"] if e["rule"] == "control_characters"]
    assert "U+000B (a vertical tab)" in tab["message"] and "Ana" not in answer.text
    assert application_of(engagement).log_head() == 0  # nothing recorded

    people[0] = {**people[0], "nombre_completo": "Ana Pérez Ríos", "telefono": "987654321"}
    people[1] = {**people[1], "numero_documento": "04222222"}
    answer = posted(webhook, kobo_json(MEMBERS, Answers({"osv": osv_id}, {"miembros": people}, uuid="t226-f4")))
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("write", "read", "name"),
    [
        (write_csv, read_csv, "Olla\u000bComún Prueba"),
        # Excel keeps a control character in an XLSX as the escape _x000B_, which openpyxl reads as it stands: it went
        # through as those seven letters (tester 231 F3).
        (write_xlsx, read_xlsx, "Olla_x000B_Común Prueba"),
    ],
    ids=["csv", "xlsx"],
)
def test_a_control_character_in_a_files_answer_is_refused_on_its_column_with_the_rows_other_mistakes(
    registry: TestClient, tmp_path: Path, write: Any, read: Any, name: str, request: pytest.FixtureRequest
) -> None:
    osvs = [
        Answers({"nombre": name, "distrito": "Narnia", "fecha_mapeo": "2022-05-03"}),
        Answers({"nombre": "Olla Común Prueba", "distrito": "150110", "fecha_mapeo": "2022-05-03"}),
    ]
    export = write(tmp_path / f"mapeo.{request.node.callspec.id}", MAPPING, osvs, language=0)  # headers as Spanish labels
    rows = [row_of(MAPPING, submission) for submission in read(export, MAPPING).submissions]
    urls = {"registry": str(registry.base_url), "engagement": "http://engagement.invalid"}
    importer = Importer(Services(urls, token(), transport=registry._transport, sleep=lambda _: None), {})  # noqa: SLF001

    summary = importer.run(rows, dry_run=True)

    assert [r.outcome for r in summary.results] == [Outcome.REFUSED, Outcome.CREATED]
    problems = summary.results[0].problems
    assert [(p.cell.row, p.cell.column, p.field, p.rule) for p in problems] == [
        (2, "La organización/Nombre de la OSV", "name", "control_characters"),
        (2, "La organización/Distrito", "district", "lima_district"),
    ]

    summary = importer.run(rows, dry_run=False)

    assert [r.outcome for r in summary.results] == [Outcome.REFUSED, Outcome.CREATED]
    assert [o["name"] for o in registry.get("/osvs", headers=signed_in_headers("staff")).json()] == [
        "Olla Común Prueba"
    ]


def test_a_control_character_in_a_meetings_action_is_refused_on_its_question(
    engagement: TestClient, webhook: TestClient
) -> None:
    """The webhook may not dry-run a meeting (it names members: 403 ``dry_run_reads`` to its account), so it says the
    answer alone; staff's ``osv-import`` says the meeting's other mistakes with it, the action's other answers too."""
    osv_id = Upstream(application_of(engagement)).osv_mapped(mapped_on="2021-03-15")
    meeting = Answers(
        {"osv": osv_id, "fecha": "2021-06-10", "modalidad": "in_person", "temas": "needs", "otros_asistentes": -2},
        {"acciones": [{"descripcion": "Reunir\u0001las actas", "responsable": "", "fecha_limite": "2021-06-30"}]},
    )

    answer = posted(webhook, kobo_json(MEETING, meeting), "osv_meeting")

    assert answer.status_code == 422, answer.text
    assert said(answer) == [("acciones[1]/descripcion", "control_characters")]
    assert "U+0001" in answer.json()["errors"][0]["message"]

    # The same submission imported by staff (who may dry-run a meeting), as osv-import would (openpyxl writes no control
    # character into a workbook: the post's answers stand in for a file's).
    row = row_of(MEETING, from_kobo_json(kobo_json(MEETING, meeting), MEETING), spreadsheet=False)
    urls = {"registry": "http://registry.invalid", "engagement": str(engagement.base_url)}
    transport = engagement._transport  # noqa: SLF001 - the test client's app, in process
    result = Importer(Services(urls, token(), transport=transport, sleep=lambda _: None)).run_row(row, dry_run=False)

    assert [(kobo_path(p.cell), p.field, p.rule) for p in result.problems] == [
        ("otros_asistentes", "other_attendees", "not_negative"),
        ("acciones[1]/descripcion", "action_items.0.description", "control_characters"),
        ("acciones[1]/responsable", "action_items.0.owner", "missing"),
    ]
    assert application_of(engagement).log_head() == 0  # nothing recorded
