"""``osv-import`` finding the services from ``make run``'s variables: a registry that does not answer, a port out of range.

The import of a file stops with one line when registry cannot be reached; the
``osvs`` subcommand (the OSV list for Kobo's media file), the first thing a
field coordinator runs, should too, not a traceback. A port over 65535 is a
mistyped variable like ``8O01``, to be named as such.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.processes import free_port
from services.imports.cli import main as osv_import


@pytest.fixture(autouse=True)
def make_runs_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("IMPORTS_REGISTRY_URL", "IMPORTS_ENGAGEMENT_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("OSV_HOST", "127.0.0.1")


def test_the_osv_list_with_registry_not_answering_stops_with_one_line_naming_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()  # nothing listens there: REGISTRY_PORT mistyped, or registry not started
    monkeypatch.setenv("REGISTRY_PORT", str(port))
    try:
        status = osv_import(["osvs", "--token", "t", "--output", str(tmp_path / "osvs.csv")])
    except Exception as error:  # noqa: BLE001 - the fault shown: a traceback instead of a line
        pytest.fail(f"osv-import osvs raised {type(error).__name__}: {error}")
    assert status == 2
    assert f"127.0.0.1:{port}" in capsys.readouterr().err


def test_a_port_out_of_range_is_named_as_a_mistyped_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_PORT", "80010")
    try:
        status = osv_import(["osvs", "--token", "t", "--output", str(tmp_path / "osvs.csv")])
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"osv-import osvs raised {type(error).__name__}: {error}")
    assert status == 2
    assert "REGISTRY_PORT='80010'" in capsys.readouterr().err
