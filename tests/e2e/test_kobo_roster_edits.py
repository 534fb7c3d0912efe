"""A roster edited in Kobo after it was recorded: its new people registered, the others already there, never refused.

Tester 296 F1: keyed by the ``meta/rootUuid`` and the person's place in the roster, an edit whose roster changed met
keys held for the version recorded: refused (``idempotency_key_reused``), exit 1, with every weekly export, even once
staff had made the change. Taken instead as recorded before (ea2c82ef, reverted in ac731734), a new person put in a
removed person's place met that place's key and was never registered: 200 / exit 0, the person lost (tester 300 F1).
An edit's people are now keyed by the edit's own ``_uuid``: a person engagement holds as an active member of the OSV
already (its 409 ``person_already_registered``, ``member_here``) is already there, noted on their entry; anyone else is
registered, once however often the edit is imported. Served for real: registry, engagement, ``osv-import`` and the
webhook against them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.identity import IdentityProvider
from services.imports.cli import main as osv_import
from tests.e2e.test_kobo_edits import ANA, CARLA, DORA, EDITED_IN_KOBO, HOOK_SECRET, MEMBERS, ROSA, joined, post
from tests.e2e.test_kobo_import import feed, report_rows
from tests.e2e.test_kobo_import_field_records import MAPPING, mapped_osv
from tests.support.identity import IssuedTokens, signed_in_headers
from tests.support.kobo import Answers, kobo_json, write_csv, write_xlsx
from tests.support.served import ServedApp, served_system, served_webhook
from tests.support.system import eventually

pytestmark = pytest.mark.timeout(300)

ALREADY = "already there: the person of "
NEW_PEOPLE = "as new, under its own keys (recorded once, however often it is imported): "


@pytest.fixture
def system(tmp_path: Path, nats_server: Any) -> Iterator[tuple[Any, dict[str, ServedApp]]]:
    with served_system(tmp_path / "var", nats_server.url) as running:
        yield running


@pytest.fixture
def hook(system: tuple[Any, dict[str, ServedApp]], identity_provider: IdentityProvider) -> Iterator[ServedApp]:
    _, served = system
    with served_webhook(served, identity_provider, ("osv_members",), HOOK_SECRET) as running:
        yield running


def connection_of(served: dict[str, ServedApp], tokens: IssuedTokens) -> list[str]:
    return ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url,
            "--token", tokens["staff"]]


def roster_of(served: dict[str, ServedApp], osv: str) -> list[dict[str, Any]]:
    """The OSV's active members, as staff read them."""
    roster = httpx.get(f"{served['engagement'].url}/osvs/{osv}/members", params={"purpose": "follow_up"},
                       headers=signed_in_headers("staff"), timeout=30)
    assert roster.status_code == 200, roster.text
    return list(roster.json())


def members_of(served: dict[str, ServedApp], osv: str) -> list[str]:
    """The names of the OSV's active members."""
    return sorted(member["full_name"] for member in roster_of(served, osv))


def types(served: dict[str, ServedApp]) -> list[str]:
    return [event["type"] for event in feed(served["engagement"].url)]


def imported(export: Path, connection: list[str], capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str]:
    status = osv_import([*options, str(export), *connection])
    return status, capsys.readouterr().out


def test_an_edit_changing_no_one_then_one_adding_a_person_at_the_front_registers_only_the_new_person_once(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rosa and Ana imported. Edited in Kobo with the same people (a typo fixed elsewhere): every week exit 0, each
    person already there, noted on their entry. Edited again, Carla put first: Carla registered (the edit's note names
    her row), Rosa and Ana, at places the version recorded gave other people, already there; imported again, nothing."""
    _, served = system
    connection = connection_of(served, tokens)
    osv = mapped_osv(served, connection, tmp_path)
    roster = Answers({"osv": osv}, {"miembros": [ROSA, ANA]})
    assert imported(write_xlsx(tmp_path / "socios.xlsx", MEMBERS, [roster], meta="meta/"), connection, capsys)[0] == 0
    assert joined(served) == 2

    same = roster.edited(repeats={"miembros": [ROSA, ANA]})
    export = write_xlsx(tmp_path / "socios_v2.xlsx", MEMBERS, [same], meta="meta/")
    for run in range(2):  # this week's import, and next week's of an export still holding the edit
        for options, report, said in (
            (["--dry-run"], "dry-run-report", "0 would be created"), ([], "import-report", "0 created")
        ):
            status, out = imported(export, connection, capsys, *options)
            assert status == 0, (run, out)
            assert f"{said}, 1 already there {EDITED_IN_KOBO}, 0 refused" in out
            rosa, ana, edit = report_rows(tmp_path / f"socios_v2.{report}.xlsx")
            assert (rosa[0], rosa[1], rosa[3], rosa[4]) == ("miembros", 2, "document_number", "already_a_member")
            assert (ana[0], ana[1], ana[4]) == ("miembros", 3, "already_a_member") and edit[4] == "edited_in_kobo"
            assert ALREADY + "row 2 of sheet 'miembros'" in rosa[5] and ALREADY + "row 3 of sheet 'miembros'" in ana[5]
            assert "POST /members/{id}/correction" in ana[5] and NEW_PEOPLE not in edit[5]
            written = str(report_rows(tmp_path / f"socios_v2.{report}.xlsx"))
            assert "Rosa" not in written and "41234567" not in written
    assert joined(served) == 2

    front = same.edited(repeats={"miembros": [CARLA, ROSA, ANA]})
    export = write_xlsx(tmp_path / "socios_v3.xlsx", MEMBERS, [front], meta="meta/")
    status, out = imported(export, connection, capsys, "--dry-run")
    assert status == 0 and f"1 would be created {EDITED_IN_KOBO}, 0 already there, 0 refused" in out
    assert joined(served) == 2
    status, out = imported(export, connection, capsys)
    assert status == 0 and f"1 created {EDITED_IN_KOBO}, 0 already there, 0 refused" in out, out
    rosa, ana, edit = report_rows(tmp_path / "socios_v3.import-report.xlsx")
    assert (rosa[1], rosa[4], ana[1], ana[4]) == (3, "already_a_member", 4, "already_a_member")
    assert NEW_PEOPLE + "row 2 of sheet 'miembros' of this file" in edit[5] and "Carla" not in edit[5]
    assert members_of(served, osv) == ["Ana Ríos Salas", "Carla Pérez Mora", "Rosa Huamán Quispe"]
    assert joined(served) == 3

    status, out = imported(export, connection, capsys)  # next week's export, still holding it
    assert status == 0 and f"0 created, 1 already there {EDITED_IN_KOBO}, 0 refused" in out, out
    *_, edit = report_rows(tmp_path / "socios_v3.import-report.xlsx")
    assert NEW_PEOPLE + "row 2 of sheet 'miembros' of this file" in edit[5]
    assert joined(served) == 3


def test_an_edit_putting_a_new_person_in_a_removed_persons_place_registers_them_and_the_removed_stays_a_member(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tester 300 F1: Rosa and Ana imported; in Kobo, Ana taken off and Dora put in her place. Keyed by the place, Dora
    met Ana's key: refused every week (main before h302), or, taken as recorded before, never registered, exit 0
    (ea2c82ef). Dora is registered; Ana stays a member (no departure is invented: the edit's note says so), once."""
    _, served = system
    connection = connection_of(served, tokens)
    osv = mapped_osv(served, connection, tmp_path)
    roster = Answers({"osv": osv}, {"miembros": [ROSA, ANA]})
    assert imported(write_xlsx(tmp_path / "socios.xlsx", MEMBERS, [roster], meta="meta/"), connection, capsys)[0] == 0

    replaced = roster.edited(repeats={"miembros": [ROSA, DORA]})
    export = write_xlsx(tmp_path / "socios_v2.xlsx", MEMBERS, [replaced], meta="meta/")
    status, out = imported(export, connection, capsys, "--dry-run")
    assert status == 0 and f"1 would be created {EDITED_IN_KOBO}, 0 already there, 0 refused" in out, out
    for run, said in enumerate(("1 created", "0 created")):
        status, out = imported(export, connection, capsys)
        assert status == 0 and f"{said}" in out and "0 refused" in out, (run, out)
        rosa, edit = report_rows(tmp_path / "socios_v2.import-report.xlsx")
        assert (rosa[1], rosa[4]) == (2, "already_a_member")
        assert NEW_PEOPLE + "row 3 of sheet 'miembros' of this file" in edit[5]
        assert "a person taken off the roster stays a registered member of the OSV: no departure is recorded" in edit[5]
        assert members_of(served, osv) == ["Ana Ríos Salas", "Dora Nueva Lima", "Rosa Huamán Quispe"]
    assert types(served).count("MemberJoined") == 3 and "MemberLeft" not in types(served)


def test_the_webhook_registers_an_edits_new_person_in_a_removed_persons_place_and_answers_kobos_retry_alike(
    system: tuple[Any, dict[str, ServedApp]], hook: ServedApp, tokens: IssuedTokens, tmp_path: Path
) -> None:
    """Through Kobo's REST Services: the roster posted, then an edit taking Ana off and putting Dora first. 201: Dora
    registered; Rosa taken as already there (the webhook's account is not told whether she is a member of this OSV, and
    its note says what to check), the answer naming entries, never ids; Kobo's retry, 200, records nothing."""
    _, served = system
    connection = connection_of(served, tokens)
    osv = mapped_osv(served, connection, tmp_path)
    roster = Answers({"osv": osv}, {"miembros": [ROSA, ANA]})
    first = post(hook, kobo_json(MEMBERS, roster, root_uuid=True), "osv_members")
    assert first.status_code == 201, first.text

    edit = roster.edited(repeats={"miembros": [DORA, ROSA]})
    answer = post(hook, kobo_json(MEMBERS, edit, root_uuid=True), "osv_members")
    assert answer.status_code == 201, answer.text
    assert (answer.json()["outcome"], answer.json()["uuid"]) == ("created", edit.uuid)
    rosa, note = answer.json()["notes"]
    assert (rosa["field"], rosa["rule"]) == ("document_number", "already_a_member")
    assert "taken as already there: the person of entry miembros[2] of this submission" in rosa["message"]
    assert "if they are not, add a membership to them" in rosa["message"]
    assert note["rule"] == "edited_in_kobo" and NEW_PEOPLE + "entry miembros[1] of this submission" in note["message"]
    assert members_of(served, osv) == ["Ana Ríos Salas", "Dora Nueva Lima", "Rosa Huamán Quispe"]
    assert "[…]" in rosa["message"] and "Rosa" not in answer.text and "41234567" not in answer.text
    assert not any(member["member_id"] in answer.text for member in roster_of(served, osv))  # Kobo's log names no id

    again = post(hook, kobo_json(MEMBERS, edit, root_uuid=True), "osv_members")
    assert again.status_code == 200, again.text
    assert again.json()["outcome"] == "already there" and again.json()["notes"] == answer.json()["notes"]
    assert joined(served) == 3 and "MemberLeft" not in types(served)


def test_an_export_holding_a_roster_and_its_edit_registers_each_person_once_the_edits_new_ones_included(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two exports put together: the roster (Rosa, Ana) and, below it, its edit (Carla put first, Ana taken off). Keyed
    by one meta/rootUuid, both rows were refused as two versions of one submission. Each is taken as imported one after
    the other: the roster registers Rosa and Ana, the edit Carla, its Rosa already there (by the row above in the dry
    run, which says so); imported again, nothing."""
    _, served = system
    connection = connection_of(served, tokens)
    osv = mapped_osv(served, connection, tmp_path)
    roster = Answers({"osv": osv}, {"miembros": [ROSA, ANA]})
    edit = roster.edited(repeats={"miembros": [CARLA, ROSA]})
    export = write_xlsx(tmp_path / "socios_juntos.xlsx", MEMBERS, [roster, edit], meta="meta/")

    status, out = imported(export, connection, capsys, "--dry-run")
    assert status == 0 and f"2 would be created {EDITED_IN_KOBO}, 0 already there, 0 refused" in out, out
    rosa, note = report_rows(tmp_path / "socios_juntos.dry-run-report.xlsx")
    assert rosa[4] == "already_a_member" and "is registered in this OSV by row 2 of sheet 'miembros'" in rosa[5]
    assert note[4] == "edited_in_kobo" and "would register as new" in note[5]
    assert joined(served) == 0

    status, out = imported(export, connection, capsys)
    assert status == 0 and f"2 created {EDITED_IN_KOBO}, 0 already there, 0 refused" in out, out
    assert members_of(served, osv) == ["Ana Ríos Salas", "Carla Pérez Mora", "Rosa Huamán Quispe"]
    status, out = imported(export, connection, capsys)
    assert status == 0 and f"0 created, 2 already there {EDITED_IN_KOBO}, 0 refused" in out, out
    assert joined(served) == 3


def test_an_edit_moving_a_roster_to_another_osv_is_refused_for_each_person_of_the_first_never_taken_as_there(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The roster's OSV-level answer edited in Kobo (the OSV chosen by mistake): its people are members of the first
    OSV, not of this one (engagement's ``member_here``: false), so the edit is refused naming each, with engagement's
    words (a membership to add), as any row registering a person of another OSV is, nothing recorded; never already
    there."""
    _, served = system
    connection = connection_of(served, tokens)
    osv = mapped_osv(served, connection, tmp_path)
    other = Answers({"nombre": "Comedor Santa Rosa de Jicamarca", "distrito": "150132", "fecha_mapeo": "2021-03-18"})
    assert osv_import([str(write_csv(tmp_path / "mapeo_2.csv", MAPPING, [other])), *connection]) == 0
    [second] = [o["id"] for o in httpx.get(f"{served['registry'].url}/osvs", headers=signed_in_headers("staff"),
                                           timeout=30).json() if o["id"] != osv]
    auditor = signed_in_headers("auditor")
    eventually(lambda: httpx.get(f"{served['engagement'].url}/osvs/{second}/members", headers=auditor,
                                 timeout=30).status_code == 200, timeout=60)
    roster = Answers({"osv": osv}, {"miembros": [ROSA, ANA]})
    assert imported(write_xlsx(tmp_path / "socios.xlsx", MEMBERS, [roster], meta="meta/"), connection, capsys)[0] == 0

    moved = roster.edited({"osv": second})
    status, out = imported(write_xlsx(tmp_path / "socios_v2.xlsx", MEMBERS, [moved], meta="meta/"), connection, capsys)
    assert status == 1 and "0 created, 0 already there, 1 refused" in out, out
    rosa, ana = report_rows(tmp_path / "socios_v2.import-report.xlsx")
    assert (rosa[1], rosa[4], ana[1], ana[4]) == (2, "person_already_registered", 3, "person_already_registered")
    assert "add a membership to them (POST /members/" in rosa[5]
    assert members_of(served, second) == [] and joined(served) == 2
