"""A move cut short (kill -9 between its two commits), the older version started again, then the new one (tester 23b).

``move_rows`` used to commit the copy into ``events.db`` first, and only then delete the rows from ``views.db`` and
leave the marker view. Killed between the two commits, ``views.db`` still held real tables and no marker: the older
version, started again as a rollback, served, and an erasure it acknowledged deleted the key from ``views.db`` only;
the new version's next move copied ``INSERT OR IGNORE`` and the erased person's key was in ``events.db`` for good.
Now the marker is in place before anything is copied: the older version cannot start at any point of the move.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

import shared.sealing
from devtools.embedded import NatsServer
from services.engagement.personaldata import DataKey
from shared.sealing import MOVED_MARKER
from tests.integration.test_key_table_moved import (
    LUIS,
    ZORAIDA,
    bytes_of,
    moved_from,
    old_layout,
    older_wiring,
    rows_in,
)
from tests.support.clients import erasures_checked, service_client, settings_for

pytestmark = pytest.mark.timeout(180)


class KilledMidMove(BaseException):
    """Stands for the kill -9 landing after the copy into events.db committed, before views.db's transaction did."""


def older_version_erases(var_dir: Path, member_id: object) -> None:
    """The older version's wiring (key ring and directory on views.db), as the older code erases a person."""
    engagement, views = older_wiring(var_dir)
    try:
        engagement.erase_personal_data(member_id, date(2026, 12, 1))  # the older version answers 200 here
        assert engagement.keys.key_of(member_id) is None
    finally:
        engagement.close()
        views.dispose()


def test_a_move_cut_short_after_its_copy_leaves_the_older_version_unable_to_start_and_the_next_start_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nats_server: NatsServer
) -> None:
    var_dir = tmp_path / "var"
    old = old_layout(var_dir)
    zoraida = old["ids"][ZORAIDA[0]]
    forget_rows = shared.sealing.forget_rows

    def killed_after_the_copy(engine: Any, table: str, delete: Any, **options: Any) -> None:
        def then_killed(connection: Any) -> bool:
            delete(connection)  # the copy into events.db has committed by now; views.db's transaction has not
            raise KilledMidMove

        forget_rows(engine, table, then_killed, **options)

    with monkeypatch.context() as patch:
        patch.setattr(shared.sealing, "forget_rows", killed_after_the_copy)
        with pytest.raises(KilledMidMove):
            with service_client("engagement", var_dir):
                pass

    with pytest.raises(OperationalError, match=MOVED_MARKER):  # the rollback cannot even start: nobody erased there
        older_version_erases(var_dir, zoraida)

    with service_client("engagement", var_dir, settings={"nats_url": nats_server.url}) as client:  # upgraded again: the move finishes
        assert erasures_checked(client).get(f"/members/{old['ids'][LUIS[0]]}?purpose=contact").json()["full_name"] == LUIS[0]
        assert client.get(f"/members/{zoraida}?purpose=contact").json()["full_name"] == ZORAIDA[0]
        assert client.post(f"/members/{zoraida}/erasure", json={"erased_on": "2026-12-01"}).status_code == 200
    settings = settings_for("engagement", var_dir)
    views_file = Path(settings.view_url().removeprefix("sqlite:///"))
    store = views_file.parent / "events.db"
    assert moved_from(views_file) and rows_in(store, DataKey) == 2  # Luis's two keys; Zoraida's went with her erasure
    assert not any(old["wrapped"][str(zoraida)] in bytes_of(path) for path in (store, views_file))
