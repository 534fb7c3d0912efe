"""``osv-import --dry-run`` says what would happen, in its summary, its report and when it stops: it records nothing.

Tester 226 F8: the dry run's summary said "would be created", its report's ``Rows`` sheet "created"; a dry run
stopped by a refused token said "Rows done stand". Tester 296 F5: a token refused for its account's role (403) was told
to "run it again", which fails the same way. Registry is real, in this process, reached through its test
client's transport; the token is one the session's identity provider issued, or one it never did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from services.imports.cli import main as osv_import
from services.imports.forms import shipped
from tests.support.identity import signed_in_headers
from tests.support.kobo import Answers, write_xlsx

pytestmark = pytest.mark.timeout(120)

MAPPING = shipped()["osv_mapping"]


def rows_sheet(path: Path) -> list[tuple[Any, ...]]:
    """The report's ``Rows`` sheet: (sheet, row, _uuid, outcome, problems) of each row."""
    workbook = load_workbook(path, read_only=True)
    try:
        return [tuple(row) for row in workbook["Rows"].iter_rows(min_row=2, values_only=True)]
    finally:
        workbook.close()


def test_a_dry_runs_report_says_its_rows_would_be_created_and_the_imports_that_they_were(
    registry: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = tmp_path / "files"
    files.mkdir()
    mapping = write_xlsx(
        files / "mapeo.xlsx",
        MAPPING,
        [
            Answers({"nombre": "Comedor Popular Santa Rosa", "distrito": "150132", "fecha_mapeo": "2021-03-15"}),
            Answers(
                {"nombre": "Vecinos de Miraflores", "distrito": "Miraflores de Arequipa", "fecha_mapeo": "2021-03-17"}
            ),
        ],
    )
    token = signed_in_headers("staff")["Authorization"].removeprefix("Bearer ")
    connection = [
        "--registry-url",
        str(registry.base_url),
        "--engagement-url",
        "http://engagement.invalid",
        "--token",
        token,
    ]

    assert osv_import(["--dry-run", str(mapping), *connection], transport=registry._transport) == 1  # noqa: SLF001
    assert "1 would be created, 0 already there, 1 refused" in capsys.readouterr().out
    assert [r[3] for r in rows_sheet(files / "mapeo.dry-run-report.xlsx")] == ["would be created", "refused"]
    assert registry.get("/osvs").json() == []

    assert osv_import([str(mapping), *connection], transport=registry._transport) == 1  # noqa: SLF001
    assert "1 created, 0 already there, 1 refused" in capsys.readouterr().out
    assert [r[3] for r in rows_sheet(files / "mapeo.import-report.xlsx")] == ["created", "refused"]


def test_a_dry_run_stopped_by_a_refused_token_says_it_recorded_nothing(
    registry: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = write_xlsx(
        tmp_path / "mapeo.xlsx",
        MAPPING,
        [
            Answers({"nombre": "Comedor Popular Santa Rosa", "distrito": "150132", "fecha_mapeo": "2021-03-15"}),
        ],
    )
    connection = [
        "--registry-url",
        str(registry.base_url),
        "--engagement-url",
        "http://engagement.invalid",
        "--token",
        "expired",
    ]

    assert osv_import(["--dry-run", str(mapping), *connection], transport=registry._transport) == 2  # noqa: SLF001

    said = capsys.readouterr().err
    assert "registry refused the import's token (401)" in said, said
    assert "nothing was recorded" in said and "stand" not in said and ".." not in said, said
    assert "get a fresh one (make token USER=staff)" in said and "run it again" not in said, said
    assert not (tmp_path / "mapeo.dry-run-report.xlsx").exists()


@pytest.mark.parametrize("role", ["evaluator", "municipal-150132", "auditor"])
@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "import"])
def test_a_token_whose_account_may_not_record_is_told_whose_may_never_to_run_it_again(
    registry: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str], role: str, dry_run: bool
) -> None:
    """Tester 296 F5: ``IMPORTS_TOKEN=<an evaluator's token> osv-import --dry-run`` stopped, 403, "run it again"; run again
    with the same token it stopped the same. A 403 says the account may not record this, and whose may."""
    mapping = write_xlsx(
        tmp_path / "mapeo.xlsx",
        MAPPING,
        [Answers({"nombre": "Comedor Popular Santa Rosa", "distrito": "150132", "fecha_mapeo": "2021-03-15"})],
    )
    token = signed_in_headers(role)["Authorization"].removeprefix("Bearer ")
    connection = ["--registry-url", str(registry.base_url), "--engagement-url", "http://engagement.invalid", "--token", token]

    assert osv_import([*(["--dry-run"] if dry_run else []), str(mapping), *connection], transport=registry._transport) == 2  # noqa: SLF001

    said = capsys.readouterr().err
    assert "registry refused the import's token (403)" in said, said
    assert "this token's account may not record" in said and "a staff or lead account's" in said, said
    assert "osv-imports" in said, said  # the webhook's client records too (session 66's note: the advice left it out)
    assert "run it again" not in said and ".." not in said, said
    assert registry.get("/osvs", headers=signed_in_headers("staff")).json() == []
