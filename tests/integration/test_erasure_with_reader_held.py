"""Tester 23b: the DPO erases someone while a backup (a read transaction) holds events.db open."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from devtools.embedded import NatsServer
from tests.integration.test_key_table_moved import LUIS, ZORAIDA, bytes_of, old_layout
from tests.support.clients import erasures_checked, service_client

pytestmark = pytest.mark.timeout(180)


def test_an_erasure_during_a_long_read_answers_warns_and_leaves_no_key_once_the_reader_ends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, nats_server: NatsServer
) -> None:
    var_dir = tmp_path / "var"
    old = old_layout(var_dir)
    zoraida, luis = old["ids"][ZORAIDA[0]], old["ids"][LUIS[0]]
    store = var_dir / "engagement" / "events.db"
    with service_client("engagement", var_dir, settings={"nats_url": nats_server.url}) as client:
        assert erasures_checked(client).get(f"/members/{luis}?purpose=contact").json()["full_name"] == LUIS[0]
        backup = sqlite3.connect(store, isolation_level=None)
        backup.execute("BEGIN")
        assert backup.execute("SELECT count(*) FROM stored_events").fetchone()[0] > 0  # the snapshot is held from here
        with caplog.at_level(logging.WARNING, logger="shared.views"):
            erased = client.post(f"/members/{zoraida}/erasure", json={"erased_on": "2026-12-01"})
        assert erased.status_code == 200, erased.text
        assert any("write-ahead log" in record.getMessage() for record in caplog.records), caplog.text
        assert ZORAIDA[0] not in caplog.text and ZORAIDA[1] not in caplog.text
        changed = client.post(f"/members/{luis}/departure", json={"left_on": "2026-11-30", "reason": "moved_in_peru"})  # a command meanwhile
        assert changed.status_code < 500, changed.text
        backup.execute("COMMIT")
        backup.close()
        assert client.post(f"/members/{luis}/erasure", json={"erased_on": "2026-12-01"}).status_code == 200  # another erasure
        assert client.get(f"/members/{zoraida}?purpose=contact").json()["full_name"] == "[erased]"
        zoraidas = [key for key in old["wrapped"].values() if key in bytes_of(store)]
        assert zoraidas == [], "an erased person's wrapped key is still in events.db or its WAL"


def test_an_erasure_during_a_long_read_leaves_no_key_on_disk_once_the_reader_ended_and_the_service_restarted(tmp_path: Path, nats_server: NatsServer) -> None:
    """The DPO erases Zoraida while a backup reads events.db; the warning says the log keeps her key's frames "until a
    later checkpoint". The backup ends, the service is stopped and started again, nobody else is erased that week: her
    wrapped keys are still in events.db-wal on disk (and in every copy of var/ taken meanwhile). Nothing but another
    erasure ever resets the log; a stop leaves the log as it is."""
    var_dir = tmp_path / "var"
    old = old_layout(var_dir)
    zoraida, luis = old["ids"][ZORAIDA[0]], old["ids"][LUIS[0]]
    store = var_dir / "engagement" / "events.db"
    with service_client("engagement", var_dir) as client:
        backup = sqlite3.connect(store, isolation_level=None)
        backup.execute("BEGIN")
        backup.execute("SELECT count(*) FROM stored_events").fetchone()
        assert client.post(f"/members/{zoraida}/erasure", json={"erased_on": "2026-12-01"}).status_code == 200
        backup.execute("COMMIT")
        backup.close()
        assert client.post(f"/members/{luis}/departure", json={"left_on": "2026-11-30", "reason": "moved_in_peru"}).status_code == 200
    with service_client("engagement", var_dir, settings={"nats_url": nats_server.url}) as client:  # restarted
        assert erasures_checked(client).get(f"/members/{zoraida}?purpose=contact").json()["full_name"] == "[erased]"
    holding = {file.name: sum(key in file.read_bytes() for key in old["wrapped"].values()) for file in sorted(store.parent.glob("events.db*"))}
    assert sum(key in bytes_of(store) for key in old["wrapped"].values()) == 2, f"Zoraida's wrapped keys are still on disk: {holding}"
