"""Rows copied in a Kobo export keep its ``_uuid``: what ``osv-import`` records under it, and what it says.

The four services listen on real ports (tests/support/served.py) with a real
nats-server; the token is one the real identity provider issued to the
``staff`` account. The story (tester 226 F1): a coordinator's mapping export
holds one OSV's row three times (copied, once with extra spaces) and, under
the same ``_uuid``, a row for another OSV typed over a copy. The import says
it will record none of them until she chooses; she clears the other OSV's
``_uuid``, as the report tells her, and imports again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.imports.cli import main as osv_import
from services.imports.forms import shipped
from tests.e2e.test_kobo_import import report_rows, stored
from tests.support.identity import IssuedTokens, signed_in_headers
from tests.support.kobo import Answers, write_xlsx
from tests.support.served import ServedApp, served_system

pytestmark = pytest.mark.timeout(300)

MAPPING = shipped()["osv_mapping"]


@pytest.fixture
def system(tmp_path: Path, nats_server: Any) -> Iterator[tuple[Any, dict[str, ServedApp]]]:
    with served_system(tmp_path / "var", nats_server.url) as running:
        yield running


def test_every_row_under_a_uuid_whose_rows_disagree_is_refused_copies_included_until_the_person_chooses(
    system: tuple[Any, dict[str, ServedApp]], tokens: IssuedTokens, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The copies of the first row were recorded (row 3 "created", row 4 "already there") while the first row and the
    other OSV's were refused with "neither row is imported until then": the import took a side, and the other OSV's
    answers could never be recorded under that key. Now nothing under the ``_uuid`` is written, in the dry run and the
    import alike; each copy names the row it disagrees with."""
    _, served = system
    registry = served["registry"].url
    connection = ["--registry-url", registry, "--engagement-url", served["engagement"].url, "--token", tokens["staff"]]
    jazmines = Answers(
        {"nombre": "Asociación Vecinal Los Jazmines de Carabayllo", "distrito": "150106", "fecha_mapeo": "2022-07-01"}
    )
    copied = Answers(dict(jazmines.values), uuid=jazmines.uuid)
    spaced = Answers(
        {**jazmines.values, "nombre": "Asociación Vecinal  Los Jazmines de Carabayllo "}, uuid=jazmines.uuid
    )
    rosas = Answers({**jazmines.values, "nombre": "Asociación Vecinal Las Rosas de Carabayllo"}, uuid=jazmines.uuid)
    mapping = write_xlsx(tmp_path / "mapeo.xlsx", MAPPING, [jazmines, copied, spaced, rosas])

    for args, report in ((["--dry-run"], "mapeo.dry-run-report.xlsx"), ([], "mapeo.import-report.xlsx")):
        assert osv_import([*args, str(mapping), *connection]) == 1
        assert "0 already there, 4 refused" in capsys.readouterr().out
        problems = report_rows(tmp_path / report)
        assert [(p[1], p[2], p[4]) for p in problems] == [
            (row, "_uuid", "same_uuid_other_answers") for row in (2, 3, 4, 5)
        ]
        for problem in problems[:3]:  # the first row and its copies, each naming the other OSV's row
            assert "the _uuid of row 5 of sheet" in problem[5] and "(they differ in osv/nombre)" in problem[5], problem
        assert "the _uuid of row 2 of sheet" in problems[3][5]
        assert "no row with this _uuid is imported until then" in problems[3][5]
        assert [r[3] for r in report_rows(tmp_path / report, "Rows")] == ["refused"] * 4
    assert stored(served["registry"]) == 0
    staff = signed_in_headers("staff")
    assert httpx.get(f"{registry}/osvs", headers=staff, timeout=30).json() == []

    # She clears the other OSV's _uuid (a copy made in the spreadsheet): it is keyed by its answers. A row mapping an OSV
    # like the first row's is added; registry's refusal of it names the row that mapped that OSV, not a copy of it.
    rosas.uuid = ""
    near = Answers(
        {
            "nombre": "Asociacion Vecinal Los Jazmines de Carabayllo",
            "distrito": "Carabayllo",
            "fecha_mapeo": "2022-07-02",
        }
    )
    mapping = write_xlsx(tmp_path / "mapeo.xlsx", MAPPING, [jazmines, copied, spaced, rosas, near])
    for args, line, report in (
        (["--dry-run"], "2 would be created, 2 already there, 1 refused", "mapeo.dry-run-report.xlsx"),
        ([], "2 created, 2 already there, 1 refused", "mapeo.import-report.xlsx"),
    ):
        assert osv_import([*args, str(mapping), *connection]) == 1
        assert line in capsys.readouterr().out
        [problem] = report_rows(tmp_path / report)
        assert (problem[1], problem[3], problem[4]) == (6, "name", "possible_duplicate")
        assert "row 2 of sheet" in problem[5] and "row 3 of sheet" not in problem[5] and "row 4 of" not in problem[5], (
            problem
        )
    mapped = httpx.get(f"{registry}/osvs", headers=staff, timeout=30).json()
    assert sorted(o["name"] for o in mapped) == [
        "Asociación Vecinal Las Rosas de Carabayllo",
        "Asociación Vecinal Los Jazmines de Carabayllo",
    ]
