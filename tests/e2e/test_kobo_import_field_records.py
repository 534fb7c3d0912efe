"""Two meetings with one OSV on one day, in one export: what the dry run promises, the import keeps (tester 242).

Engagement refuses a second meeting of an OSV held the same day in the same mode (an activity of the same day, kind and
district) as ``possible_duplicate`` until ``distinct_from`` names the first. A dry run cannot see the meeting an earlier
row of the file would record, so the importer compares the rows itself, as engagement would. Served for real: registry,
engagement, and ``osv-import`` against them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.imports.cli import main as osv_import
from services.imports.forms import shipped
from tests.e2e.test_kobo_import import report_rows
from tests.support.identity import IssuedTokens, signed_in_headers
from tests.support.kobo import Answers, write_csv, write_xlsx
from tests.support.served import ServedApp, served_system
from tests.support.system import eventually

pytestmark = pytest.mark.timeout(300)

MAPPING, MEETING = (shipped()[f] for f in ("osv_mapping", "osv_meeting"))


@pytest.fixture
def system(tmp_path: Path, nats_server: Any) -> Iterator[tuple[Any, dict[str, ServedApp]]]:
    with served_system(tmp_path / "var", nats_server.url) as running:
        yield running


def mapped_osv(served: dict[str, ServedApp], connection: list[str], tmp_path: Path) -> str:
    """An OSV of San Juan de Lurigancho, mapped by import, once engagement has heard of it."""
    mapping = write_csv(tmp_path / "mapeo.csv", MAPPING, [Answers({"nombre": "Vecinos de Zárate", "distrito": "150132", "fecha_mapeo": "2021-03-16"})])
    assert osv_import([str(mapping), *connection]) == 0
    [osv] = httpx.get(f"{served['registry'].url}/osvs", headers=signed_in_headers("staff"), timeout=30).json()
    auditor = signed_in_headers("auditor")
    eventually(lambda: httpx.get(f"{served['engagement'].url}/osvs/{osv['id']}/members", headers=auditor, timeout=30).status_code == 200, timeout=60)
    return str(osv["id"])


def test_a_second_meeting_of_the_day_is_refused_by_the_dry_run_as_by_the_import_and_once_told_apart_stays_there(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Zárate met the programme twice on 22/11/2021, in person: a follow-up in the morning, a training in the afternoon.
    The dry run said "2 would be created"; the import then refused the afternoon's (tester 242 F1). Imported with
    ``--distinct``, the export imported again without it was refused as if nothing of it were recorded (F2)."""
    _, served = system
    connection = ["--registry-url", served["registry"].url, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    osv = mapped_osv(served, connection, tmp_path)
    rows = [
        Answers({"osv": osv, "fecha": "22/11/2021", "modalidad": "in_person", "temas": "project_follow_up"}),
        Answers({"osv": osv, "fecha": "22/11/2021", "modalidad": "in_person", "temas": "training"}),
        Answers({"osv": osv, "fecha": "22/11/2021", "modalidad": "virtual", "temas": "training"}),  # another mode: taken
    ]
    meetings = write_xlsx(tmp_path / "reuniones.xlsx", MEETING, rows)
    capsys.readouterr()

    assert osv_import(["--dry-run", str(meetings), *connection]) == 1
    assert "2 would be created, 0 already there, 1 refused" in capsys.readouterr().out
    [problem] = report_rows(tmp_path / "reuniones.dry-run-report.xlsx")
    assert (problem[1], problem[3], problem[4]) == (3, "held_on", "possible_duplicate")
    assert "recorded by row 2 of sheet" in problem[5] and "--distinct 3=<the id of the meeting row 2 records>" in problem[5]

    assert osv_import([str(meetings), *connection]) == 1  # as the dry run said
    assert "2 created, 0 already there, 1 refused" in capsys.readouterr().out
    [problem] = report_rows(tmp_path / "reuniones.import-report.xlsx")
    assert (problem[1], problem[3], problem[4]) == (3, "held_on", "possible_duplicate")

    # The field says the afternoon's was another meeting: imported with --distinct naming the morning's.
    [morning] = [m["meeting_id"] for m in meetings_of(served, osv) if m["topics"] == ["project_follow_up"]]
    assert osv_import([str(meetings), *connection, "--distinct", f"3={morning}"]) == 0
    assert "1 created, 2 already there, 0 refused" in capsys.readouterr().out

    # A colleague checks the same export again, without the option: all of it is there (tester 242 F2: row 3 was refused,
    # "nothing of it is recorded now ... tell the platform's administrators").
    for dry_run, said in (["--dry-run"], "0 would be created"), ([], "0 created"):
        assert osv_import([*dry_run, str(meetings), *connection]) == 0
        assert f"{said}, 3 already there (1 recorded otherwise: see the report), 0 refused" in capsys.readouterr().out
    [note] = report_rows(tmp_path / "reuniones.import-report.xlsx")
    assert (note[1], note[4]) == (3, "recorded_otherwise") and "as it is now but for --distinct" in note[5]
    assert len(meetings_of(served, osv)) == 3

    # Row 3 changed in Kobo since (another topic, the same _uuid) is another request still: refused, nothing recorded.
    afternoon = Answers({"osv": osv, "fecha": "22/11/2021", "modalidad": "in_person", "temas": "needs"}, uuid=rows[1].uuid)
    changed = write_xlsx(tmp_path / "reuniones.xlsx", MEETING, [rows[0], afternoon, rows[2]])
    assert osv_import([str(changed), *connection, "--distinct", f"3={morning}"]) == 1
    out = capsys.readouterr().out
    assert "0 created, 2 already there, 1 refused" in out and "[idempotency_key_reused]" in out
    assert len(meetings_of(served, osv)) == 3


def meetings_of(served: dict[str, ServedApp], osv: str) -> list[dict[str, Any]]:
    """The OSV's meetings, as staff read its follow-up."""
    follow_up = httpx.get(f"{served['engagement'].url}/osvs/{osv}/follow-up", headers=signed_in_headers("staff"), timeout=30)
    assert follow_up.status_code == 200, follow_up.text
    return list(follow_up.json()["meetings"])
