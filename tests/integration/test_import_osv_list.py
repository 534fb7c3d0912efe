"""``osv-import osvs``: the forms' OSV choice list holds every OSV registry pages out, not only the first page."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.imports import cli
from services.imports.application import Services
from tests.support.identity import signed_in_headers
from tests.support.ruos import new_osv


def test_the_osv_list_follows_registrys_pages_and_leaves_out_the_dissolved(
    registry: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tester 25b H1: with 102 OSVs the list held 99 (the first page, less the dissolved), exit 0, not a word."""
    ids = [new_osv(registry, name=f"Comedor Popular Santa Rosa {n}", district="comas") for n in range(102)]  # over a page
    dissolved = registry.post(f"/osvs/{ids[3]}/dissolution", json={"dissolved_on": "2021-07-01", "reason": "inactive"})
    assert dissolved.status_code == 201, dissolved.text
    monkeypatch.setattr(cli, "OSV_PAGE", 40)  # three pages, as 1,000 a page would be for 2,001 OSVs
    token = signed_in_headers()["Authorization"].removeprefix("Bearer ")
    services = Services({"registry": str(registry.base_url)}, token, transport=registry._transport)  # noqa: SLF001 - in process

    assert cli.write_osv_list(services, tmp_path / "osvs.csv") == 0
    listed = (tmp_path / "osvs.csv").read_text(encoding="utf-8").splitlines()
    assert listed[0] == "name,label"
    assert sorted(line.split(",")[0] for line in listed[1:]) == sorted(i for i in ids if i != ids[3])
