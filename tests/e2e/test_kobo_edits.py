"""A submission corrected in Kobo after it was recorded is refused as an edit, never recorded again as a new fact.

Tester 270 F1: Kobo gives an edited submission a new ``_uuid`` (and ``meta/instanceID``), and since 2025 keeps its
``meta/rootUuid`` (the ``_uuid`` it was first sent with) with a ``meta/deprecatedID`` naming the version it replaced.
Keyed by the new ``_uuid``, a meeting whose date the promoter corrected in Kobo was imported again, "1 created", and
posted again to the webhook, 201: engagement held two ``FollowUpMeetingHeld`` for one meeting. Served for real: registry,
engagement, ``osv-import`` and the webhook against them.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.identity import IdentityProvider
from services.imports.cli import main as osv_import
from services.imports.forms import shipped
from tests.e2e.test_kobo_import import feed, report_rows, stored
from tests.e2e.test_kobo_import_field_records import mapped_osv, meetings_of
from tests.support.identity import IssuedTokens
from tests.support.kobo import Answers, kobo_json, write_xlsx
from tests.support.served import ServedApp, served_system, served_webhook

pytestmark = pytest.mark.timeout(300)

MEETING, MEMBERS = shipped()["osv_meeting"], shipped()["osv_members"]
HOOK_SECRET = "kobo-hook-secret-for-the-tests"
EDITED = "edited in Kobo after an earlier version of it was recorded"
WITHDRAW_AND_RECORD = ("withdraw the one recorded, POST /osvs/{osv_id}/meetings/{meeting_id}/withdrawal", "record the right one "
                       "through the API, POST /osvs/{osv_id}/meetings")
"""What a meeting edited in Kobo is told to do: engagement corrects no meeting (tester 276 F5)."""
AN_EDIT = "this submission is an edit made in Kobo"
NOT_UNDONE = ("if an earlier version of it was recorded, what this version took out of it or changed in it is not undone by "
              "the import")
"""What the note says of every edit, true whether an earlier version was recorded or not (tester 280 F3)."""
EDITED_IN_KOBO = "(1 edited in Kobo: see the report)"
DEPARTURE = "POST /members/{id}/memberships/{membership id}/departure"
AS_IT_IS_NOW = "as it is now"
ROSA = {"nombre_completo": "Rosa Huamán Quispe", "tipo_documento": "DNI", "numero_documento": "41234567",
        "nacionalidad": "PE", "sexo": "F", "rol": "member", "fecha_ingreso": "2021-04-01"}
ANA = {**ROSA, "nombre_completo": "Ana Ríos Salas", "numero_documento": "41234568"}
CARLA = {**ROSA, "nombre_completo": "Carla Pérez Mora", "tipo_documento": "CE", "numero_documento": "001234567", "nacionalidad": "VE"}
DORA = {**CARLA, "nombre_completo": "Dora Nueva Lima", "numero_documento": "001234999"}


@pytest.fixture
def system(tmp_path: Path, nats_server: Any) -> Iterator[tuple[Any, dict[str, ServedApp]]]:
    with served_system(tmp_path / "var", nats_server.url) as running:
        yield running


def a_meeting(osv: str, held_on: str) -> Answers:
    return Answers(
        {"osv": osv, "fecha": held_on, "modalidad": "in_person", "temas": "project_follow_up finances", "otros_asistentes": 4},
        {"acciones": [{"descripcion": "Presentar boletas de compra", "responsable": "tesorera", "fecha_limite": "2021-10-30"}]},
    )


def held(served: dict[str, ServedApp]) -> int:
    """How many meetings engagement's feed says were held."""
    return [e["type"] for e in feed(served["engagement"].url)].count("FollowUpMeetingHeld")


def test_an_export_holding_a_meeting_edited_in_kobo_since_its_import_is_refused_and_nothing_is_recorded_twice(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    osv = mapped_osv(served, connection, tmp_path)
    meeting = a_meeting(osv, "12/10/2021")

    # Imported from an export without meta/rootUuid (a Kobo before 2025, or an import made before it was read).
    assert osv_import([str(write_xlsx(tmp_path / "reunion.xlsx", MEETING, [meeting])), *connection]) == 0
    assert "1 created, 0 already there, 0 refused" in capsys.readouterr().out
    # The same submission, never edited, in today's export (meta/rootUuid = uuid:<its _uuid>): keyed as then.
    assert osv_import([str(write_xlsx(tmp_path / "reunion.xlsx", MEETING, [meeting], meta="meta/")), *connection]) == 0
    assert "0 created, 1 already there, 0 refused" in capsys.readouterr().out
    events = stored(served["engagement"])

    # The promoter corrects the date in Kobo: a new _uuid, the same meta/rootUuid, a meta/deprecatedID.
    edit = meeting.edited({"fecha": "11/10/2021"})
    export = write_xlsx(tmp_path / "reunion_editada.xlsx", MEETING, [edit], meta="meta/")
    for dry_run, report, said in (["--dry-run"], "dry-run-report", "0 would be created"), ([], "import-report", "0 created"):
        assert osv_import([*dry_run, str(export), *connection]) == 1
        out = capsys.readouterr().out
        assert f"{said}, 0 already there, 1 refused" in out and "[idempotency_key_reused]" in out and EDITED in out
        [problem] = report_rows(tmp_path / f"reunion_editada.{report}.xlsx")
        assert (problem[1], problem[3], problem[4]) == (2, "Idempotency-Key", "idempotency_key_reused")
        assert EDITED in problem[5] and "meta/deprecatedID" in problem[5]
        assert all(advice in problem[5] for advice in WITHDRAW_AND_RECORD) and "corrects that record" not in problem[5]
        [row] = report_rows(tmp_path / f"reunion_editada.{report}.xlsx", "Rows")
        assert row[2] == edit.uuid  # the report's _uuid column: the edit's own

    assert stored(served["engagement"]) == events  # nothing recorded, nothing twice
    assert held(served) == 1
    assert [m["held_on"] for m in meetings_of(served, osv)] == ["2021-10-12"]

    # Edited again in Kobo: the same meta/rootUuid still, refused the same.
    again = edit.edited({"fecha": "10/10/2021"})
    assert osv_import([str(write_xlsx(tmp_path / "reunion_editada.xlsx", MEETING, [again], meta="")), *connection]) == 1
    assert EDITED in capsys.readouterr().out
    assert stored(served["engagement"]) == events


def test_a_roster_edited_in_kobo_since_its_import_registers_nobody_twice(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A members' submission is a command per person: the edit corrects one person's document. The entries it did not
    change are the requests recorded; the corrected one is refused, and so the whole row, as an edit."""
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    osv = mapped_osv(served, connection, tmp_path)
    rosa = {"nombre_completo": "Rosa Huamán Quispe", "tipo_documento": "DNI", "numero_documento": "41234567",
            "nacionalidad": "PE", "sexo": "F", "rol": "member", "fecha_ingreso": "2021-04-01"}
    ana = {**rosa, "nombre_completo": "Ana Ríos Salas", "numero_documento": "41234568"}
    roster = Answers({"osv": osv}, {"miembros": [rosa, ana]})
    assert osv_import([str(write_xlsx(tmp_path / "socios.xlsx", MEMBERS, [roster], meta="meta/")), *connection]) == 0
    assert "1 created, 0 already there, 0 refused" in capsys.readouterr().out
    events = stored(served["engagement"])

    edit = roster.edited(repeats={"miembros": [rosa, {**ana, "numero_documento": "41234569"}]})
    assert osv_import([str(write_xlsx(tmp_path / "socios.xlsx", MEMBERS, [edit], meta="meta/")), *connection]) == 1
    assert "0 created, 0 already there, 1 refused" in capsys.readouterr().out
    [problem] = report_rows(tmp_path / "socios.import-report.xlsx")
    assert (problem[0], problem[1], problem[3], problem[4]) == ("miembros", 3, "Idempotency-Key", "idempotency_key_reused")
    assert EDITED in problem[5] and "POST /members/{id}/correction" in problem[5]
    assert stored(served["engagement"]) == events
    assert [e["type"] for e in feed(served["engagement"].url)].count("MemberJoined") == 2


@pytest.fixture
def hook(system: tuple[Any, dict[str, ServedApp]], identity_provider: IdentityProvider) -> Iterator[ServedApp]:
    _, served = system
    with served_webhook(served, identity_provider, ("osv_meeting", "osv_members"), HOOK_SECRET) as running:
        yield running


def post(hook: ServedApp, submission: dict[str, Any], form_id: str = "osv_meeting") -> httpx.Response:
    basic = base64.b64encode(f"{form_id}:{HOOK_SECRET}".encode()).decode()
    return httpx.post(f"{hook.url}/kobo/{form_id}/submissions", json=submission, headers={"Authorization": f"Basic {basic}"}, timeout=60)


def test_a_meeting_kobo_posts_again_once_edited_is_refused_by_the_webhook_and_recorded_once(
    system: tuple[Any, dict[str, ServedApp]], hook: ServedApp, tokens: IssuedTokens, tmp_path: Path
) -> None:
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    osv = mapped_osv(served, connection, tmp_path)
    meeting = a_meeting(osv, "2021-10-20")

    first = post(hook, kobo_json(MEETING, meeting, root_uuid=True))
    assert first.status_code == 201, first.text
    assert first.json()["uuid"] == meeting.uuid
    events = stored(served["engagement"])
    # Posted again as a Kobo before 2025 posts it (no meta/rootUuid): the same keys, already there.
    assert post(hook, kobo_json(MEETING, meeting)).status_code == 200

    edit = meeting.edited({"fecha": "2021-10-19"})
    refused = post(hook, kobo_json(MEETING, edit, root_uuid=True))

    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert (error["field"], error["rule"]) == ("Idempotency-Key", "idempotency_key_reused")
    assert EDITED in error["message"] and "meta/deprecatedID" in error["message"]
    assert all(advice in error["message"] for advice in WITHDRAW_AND_RECORD) and "corrects that record" not in refused.text
    assert meeting.uuid not in refused.text and edit.uuid not in refused.text  # Kobo's log names no id
    assert stored(served["engagement"]) == events
    assert held(served) == 1
    assert [m["held_on"] for m in meetings_of(served, osv)] == ["2021-10-20"]


def joined(served: dict[str, ServedApp]) -> int:
    """How many memberships engagement's feed says were taken."""
    return [e["type"] for e in feed(served["engagement"].url)].count("MemberJoined")


def test_a_roster_edited_in_kobo_to_add_then_take_off_a_person_is_told_an_edit_and_what_it_took_out_left_to_staff(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tester 276 F1: rosa and ana imported; carla added in Kobo and imported ("1 created"); carla taken off again in
    Kobo: the edit's people were registered before, and the import said "0 created, 1 already there", exit 0, while carla
    stayed a member. It cannot see carla was there, but it knows the row is an edit: each run says so, that what the
    edit took out is not undone, and how staff undo it (its summary line counting it); it exits 0, refusing nothing, as a
    later export still holding the edit would exit 1 for good otherwise."""
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    osv = mapped_osv(served, connection, tmp_path)
    roster = Answers({"osv": osv}, {"miembros": [ROSA, ANA]})
    assert osv_import([str(write_xlsx(tmp_path / "socios.xlsx", MEMBERS, [roster], meta="meta/")), *connection]) == 0
    assert "1 created, 0 already there, 0 refused" in capsys.readouterr().out

    added = roster.edited(repeats={"miembros": [ROSA, ANA, CARLA]})
    assert osv_import([str(write_xlsx(tmp_path / "socios.xlsx", MEMBERS, [added], meta="meta/")), *connection]) == 0
    assert f"1 created {EDITED_IN_KOBO}, 0 already there, 0 refused" in capsys.readouterr().out
    [note] = report_rows(tmp_path / "socios.import-report.xlsx")
    assert (note[3], note[4]) == ("Idempotency-Key", "edited_in_kobo") and AN_EDIT in note[5]
    assert joined(served) == 3
    events = stored(served["engagement"])

    dropped = added.edited(repeats={"miembros": [ROSA, ANA]})
    export = write_xlsx(tmp_path / "socios_sin_carla.xlsx", MEMBERS, [dropped], meta="meta/")
    for dry_run, report, said in (["--dry-run"], "dry-run-report", "0 would be created"), ([], "import-report", "0 created"):
        assert osv_import([*dry_run, str(export), *connection]) == 0
        out = capsys.readouterr().out
        assert f"{said}, 1 already there {EDITED_IN_KOBO}, 0 refused" in out
        [note] = report_rows(tmp_path / f"socios_sin_carla.{report}.xlsx")
        assert (note[1], note[3], note[4]) == (2, "Idempotency-Key", "edited_in_kobo")
        assert AN_EDIT in note[5] and NOT_UNDONE in note[5] and DEPARTURE in note[5] and AS_IT_IS_NOW not in note[5]
        assert "Carla" not in note[5] and note[5] in out
        [row] = report_rows(tmp_path / f"socios_sin_carla.{report}.xlsx", "Rows")
        assert (row[2], row[3], row[4]) == (dropped.uuid, "already there", 1)

    assert stored(served["engagement"]) == events  # nothing recorded, nothing undone: carla's departure is staff's
    assert joined(served) == 3


def test_the_webhook_answers_a_roster_edit_with_the_edits_note_never_that_it_was_recorded_as_it_is_now(
    system: tuple[Any, dict[str, ServedApp]], hook: ServedApp, tokens: IssuedTokens, tmp_path: Path
) -> None:
    """Tester 276 F6 and F1, through Kobo's REST Services: the roster imported by staff, Kobo posts an edit adding carla
    and dora (201 ``created``, with the note "this submission was recorded before, as it is now … it is not recorded
    again" in Kobo's log), then one taking them off (200 ``already there``, the same note). Each answer carries the edit's
    note instead."""
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    osv = mapped_osv(served, connection, tmp_path)
    roster = Answers({"osv": osv}, {"miembros": [ROSA, ANA]})
    assert osv_import([str(write_xlsx(tmp_path / "socios.xlsx", MEMBERS, [roster], meta="meta/")), *connection]) == 0

    added = roster.edited(repeats={"miembros": [ROSA, ANA, CARLA, DORA]})
    answer = post(hook, kobo_json(MEMBERS, added, root_uuid=True), "osv_members")
    assert answer.status_code == 201, answer.text
    assert (answer.json()["outcome"], answer.json()["commands"], answer.json()["uuid"]) == ("created", 4, added.uuid)
    [note] = answer.json()["notes"]
    assert (note["field"], note["rule"]) == ("Idempotency-Key", "edited_in_kobo")
    assert AN_EDIT in note["message"] and NOT_UNDONE in note["message"]
    assert AS_IT_IS_NOW not in answer.text
    assert joined(served) == 4
    events = stored(served["engagement"])

    dropped = added.edited(repeats={"miembros": [ROSA, ANA]})
    answer = post(hook, kobo_json(MEMBERS, dropped, root_uuid=True), "osv_members")
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "already there"
    [note] = answer.json()["notes"]
    assert note["rule"] == "edited_in_kobo" and NOT_UNDONE in note["message"] and DEPARTURE in note["message"]
    assert AS_IT_IS_NOW not in answer.text and roster.uuid not in answer.text and osv not in answer.text
    assert stored(served["engagement"]) == events and joined(served) == 4


def test_an_edit_marked_by_its_deprecated_id_alone_is_refused_never_recorded_a_second_time(
    system: tuple[Any, dict[str, ServedApp]], hook: ServedApp, tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tester 276 F2: a meeting's day corrected on a server that writes ``meta/deprecatedID`` but no ``meta/rootUuid``
    (a Kobo before 2025, ODK Central). Keyed by its own new ``_uuid``, the edit was recorded as a second meeting, from
    the webhook (201) and from the export ("1 created"). Refused in both, nothing recorded."""
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    osv = mapped_osv(served, connection, tmp_path)

    # The webhook.
    posted = a_meeting(osv, "2021-08-01")
    assert post(hook, kobo_json(MEETING, posted, root_uuid=True)).status_code == 201
    events = stored(served["engagement"])
    refused = post(hook, kobo_json(MEETING, posted.edited({"fecha": "2021-08-02"}, rooted=False), root_uuid=True))
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert (error["field"], error["rule"]) == ("meta/deprecatedID", "edit_without_root_uuid")
    assert "without a meta/rootUuid" in error["message"] and all(advice in error["message"] for advice in WITHDRAW_AND_RECORD)
    assert stored(served["engagement"]) == events

    # The export.
    imported = a_meeting(osv, "01/07/2021")
    assert osv_import([str(write_xlsx(tmp_path / "reunion_v1.xlsx", MEETING, [imported])), *connection]) == 0
    capsys.readouterr()
    events = stored(served["engagement"])
    edit = imported.edited({"fecha": "02/07/2021"}, rooted=False)
    export = write_xlsx(tmp_path / "reunion_v2.xlsx", MEETING, [edit], meta="meta/")
    for dry_run, report, said in (["--dry-run"], "dry-run-report", "0 would be created"), ([], "import-report", "0 created"):
        assert osv_import([*dry_run, str(export), *connection]) == 1
        assert f"{said}, 0 already there, 1 refused" in capsys.readouterr().out
        [problem] = report_rows(tmp_path / f"reunion_v2.{report}.xlsx")
        assert (problem[1], problem[2], problem[3], problem[4]) == (2, "meta/deprecatedID", "meta/deprecatedID", "edit_without_root_uuid")
    # Exported without groups in headers: the report's column is the file's, `deprecatedID` (tester 280 F5).
    export = write_xlsx(tmp_path / "reunion_v2_sin_grupos.xlsx", MEETING, [edit], meta="")
    assert osv_import(["--dry-run", str(export), *connection]) == 1
    [problem] = report_rows(tmp_path / "reunion_v2_sin_grupos.dry-run-report.xlsx")
    assert (problem[1], problem[2], problem[3], problem[4]) == (2, "deprecatedID", "meta/deprecatedID", "edit_without_root_uuid")

    assert stored(served["engagement"]) == events
    assert held(served) == 2  # the webhook's and the export's, each once
    assert sorted(m["held_on"] for m in meetings_of(served, osv)) == ["2021-07-01", "2021-08-01"]


def test_an_edit_whose_original_was_never_recorded_is_answered_alike_the_first_time_and_when_sent_again(
    system: tuple[Any, dict[str, ServedApp]], hook: ServedApp, tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tester 280 F3: a meeting edited in Kobo before its original was ever recorded (the webhook set up since). Posted,
    it was 201 without a note; Kobo's retry of the same post, 200 with the note that what the edit took out of "a
    submission recorded before" is not undone: staff were sent to undo changes that never happened. Imported from the
    export, "1 created", then "1 already there (1 edited in Kobo since recorded…)" for good. The import cannot tell this
    very version recorded before from an earlier one: every edit gets one note, true either way, each time the same."""
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    osv = mapped_osv(served, connection, tmp_path)

    # The webhook: the post, then Kobo's retry of it.
    edit = a_meeting(osv, "2021-10-15").edited({"fecha": "2021-10-16"})
    first = post(hook, kobo_json(MEETING, edit, root_uuid=True))
    assert first.status_code == 201, first.text
    [note] = first.json()["notes"]
    assert (note["field"], note["rule"]) == ("Idempotency-Key", "edited_in_kobo")
    assert AN_EDIT in note["message"] and NOT_UNDONE in note["message"] and "submission recorded before" not in note["message"]
    events = stored(served["engagement"])
    again = post(hook, kobo_json(MEETING, edit, root_uuid=True))
    assert again.status_code == 200, again.text
    assert again.json()["notes"] == [note] and again.json()["outcome"] == "already there"
    assert stored(served["engagement"]) == events and held(served) == 1

    # The export: imported, then imported again.
    exported = a_meeting(osv, "01/09/2021").edited({"fecha": "02/09/2021"})
    export = write_xlsx(tmp_path / "reunion_editada.xlsx", MEETING, [exported], meta="meta/")
    said: list[str] = []
    for dry_run, report, line in (
        (["--dry-run"], "dry-run-report", f"1 would be created {EDITED_IN_KOBO}, 0 already there, 0 refused"),
        ([], "import-report", f"1 created {EDITED_IN_KOBO}, 0 already there, 0 refused"),
        ([], "import-report", f"0 created, 1 already there {EDITED_IN_KOBO}, 0 refused"),
    ):
        assert osv_import([*dry_run, str(export), *connection]) == 0
        assert line in capsys.readouterr().out
        [row_note] = report_rows(tmp_path / f"reunion_editada.{report}.xlsx")
        assert (row_note[1], row_note[3], row_note[4]) == (2, "Idempotency-Key", "edited_in_kobo")
        said.append(row_note[5])
    assert said[0] == said[1] == said[2] and NOT_UNDONE in said[0]
    assert held(served) == 2
    assert sorted(m["held_on"] for m in meetings_of(served, osv)) == ["2021-09-02", "2021-10-16"]
