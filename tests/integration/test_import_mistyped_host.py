"""Tester 23b: ``osv-import osvs`` with a host variable that is not a host: one line and exit 2, never a traceback.

A field coordinator who sets ``OSV_HOST=127.0.0.1:8001`` (host and port together, as a browser's address bar shows
it) or ``--registry-url http://[::1`` got httpx's ``InvalidURL`` traceback (exit 1): it is not an ``httpx.HTTPError``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.imports.cli import main as osv_import


@pytest.mark.parametrize(("variable", "value"), [("OSV_HOST", "127.0.0.1:8931"), ("IMPORTS_REGISTRY_URL", "http://[::1")])
def test_a_host_that_is_no_host_stops_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    for name in ("IMPORTS_REGISTRY_URL", "IMPORTS_ENGAGEMENT_URL", "REGISTRY_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OSV_HOST", "127.0.0.1")
    monkeypatch.setenv(variable, value)
    try:
        status = osv_import(["osvs", "--token", "t", "--output", str(tmp_path / "osvs.csv")])
    except Exception as error:  # noqa: BLE001 - the fault shown: a traceback instead of a line
        pytest.fail(f"osv-import osvs raised {type(error).__name__}: {error}")
    assert status == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and value in err, err
    assert not (tmp_path / "osvs.csv").exists()


def test_importing_a_file_with_a_host_that_is_no_host_names_the_variable_before_sending_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's import, not only `osvs`: OSV_HOST with its port ended in httpx's InvalidURL traceback."""
    from tests.integration.test_kobo_exports import MAPPING, OSVS
    from tests.support.kobo import write_xlsx

    for name in ("IMPORTS_REGISTRY_URL", "IMPORTS_ENGAGEMENT_URL", "REGISTRY_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OSV_HOST", "127.0.0.1:8001")
    mapping = write_xlsx(tmp_path / "mapeo.xlsx", MAPPING, OSVS)

    assert osv_import([str(mapping), "--token", "t", "--dry-run"]) == 2
    assert "OSV_HOST='127.0.0.1:8001'" in capsys.readouterr().err
    assert not (tmp_path / "mapeo.dry-run-report.xlsx").exists()
