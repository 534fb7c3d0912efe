"""Tester 23b: the older version started on a ``var/`` the NEW version created (no older layout ever existed).

The marker view is left only where a table was moved. A programme that installed the new version fresh (a second
office, a reinstall) and then rolls back to the previous release gets the fault the marker was made for: tried
with 59ab2c3's code, engagement starts and serves, every member reads "[erased]", the duplicate check answers 404
for a registered document, and ``POST /members/{id}/erasure`` answers 200 while the person's keys stay in
events.db. Registry and funding likewise (their older key ring on views.db finds no keys: texts read as redacted,
redactions that delete nothing).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from services.engagement.personaldata import DataKey, DocumentDirectory, DocumentEntry, KeyRing
from shared.sealing import MOVED_MARKER
from shared.views import make_engine
from tests.integration.test_key_table_moved import moved_from
from tests.support.clients import service_client, settings_for

pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize("service", ["registry", "funding", "engagement"])
def test_the_older_version_cannot_start_on_a_var_dir_the_new_version_created(tmp_path: Path, service: str) -> None:
    var_dir = tmp_path / "var"
    with service_client(service, var_dir) as client:  # a fresh installation of the new version
        assert client.get("/health").status_code == 200
    settings = settings_for(service, var_dir)
    views_file = Path(settings.view_url().removeprefix("sqlite:///"))
    names = (DataKey.__tablename__, DocumentEntry.__tablename__) if service == "engagement" else (DataKey.__tablename__,)
    assert moved_from(views_file, *names), "no marker in views.db: the older version would start and find no keys"
    views = make_engine(settings.view_url())
    try:
        with pytest.raises(OperationalError, match=MOVED_MARKER):
            KeyRing(views, b"\x00" * 32)
        if service == "engagement":
            with pytest.raises(OperationalError, match=MOVED_MARKER):
                DocumentDirectory(views, settings.resolve_index_key())
    finally:
        views.dispose()
