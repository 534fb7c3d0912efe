"""What the services keep under ``var/`` is their owner's only: folders 0700, files 0600, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import Upstream, created
from tests.support.clients import application_of, service_client


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask a machine might have: nothing the services make may depend on it."""
    before = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(before)


def modes(var_dir: Path) -> dict[str, str]:
    found = {}
    for path in [var_dir, *var_dir.rglob("*")]:
        found[str(path.relative_to(var_dir.parent))] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def test_every_folder_and_file_the_services_make_under_var_is_private(tmp_path: Path, open_umask: None) -> None:
    var_dir = tmp_path / "var"
    with service_client("registry", var_dir) as registry:
        created(registry.post("/osvs", json={"name": "Olla Común", "district": "Comas", "mapped_on": "2021-03-01"}))
    with service_client("engagement", var_dir) as engagement:
        osv_id = Upstream(application_of(engagement)).osv_mapped()
        person = {"osv_id": osv_id, "full_name": "Ana Pérez", "document_type": "CE", "document_number": "001234567", "nationality": "VE", "sex": "F", "joined_on": "2024-03-01"}
        created(engagement.post("/members", json=person))
    with service_client("funding", var_dir), service_client("reporting", var_dir):
        pass

    found = modes(var_dir)
    assert {"var/engagement/events.db", "var/engagement/views.db", "var/engagement/master.key", "var/registry/events.db"} <= set(found)
    assert {path: mode for path, mode in found.items() if (var_dir.parent / path).is_dir() and mode != "0o700"} == {}
    assert {path: mode for path, mode in found.items() if (var_dir.parent / path).is_file() and mode != "0o600"} == {}


def test_a_service_folder_made_before_files_were_private_is_made_private_at_start(tmp_path: Path) -> None:
    folder = tmp_path / "var" / "registry"
    folder.mkdir(parents=True, mode=0o755)
    os.chmod(folder, 0o755)
    with service_client("registry", tmp_path / "var"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
