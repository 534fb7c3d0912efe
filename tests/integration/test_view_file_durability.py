"""Which SQLite commits wait for the disk: a view's file need not (what it holds is had again from the event log and
the feeds), but an erasure's tombstone and deletes on it must, and the key table (in the store's file) always does.

A commit that waits for the disk (``synchronous=FULL``, WAL's default) is the dearest step of a keyed command: the
answer kept for its retries, and every event a view applies, each paid one. A power cut after such a commit at
``NORMAL`` may roll it back: a view applies the event again, a retry gets 409 ``idempotent_request_completed``.
An erasure rolled back would bring back a kept answer about the person, so it still waits.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from tests.integration.test_engagement_api import map_osv
from tests.integration.test_personal_data import DOCUMENT_NUMBER, NAME, erase
from tests.support.clients import application_of, service_client

pytestmark = pytest.mark.timeout(120)

NORMAL, FULL = 1, 2


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with service_client("engagement", tmp_path / "var") as client:  # SQLite files, as a programme's laptop runs it
        yield client


def commits_on(engine: Engine) -> list[int]:
    """The ``synchronous`` level of each commit that writes on ``engine`` from now on, read on its connection as it commits."""
    levels: list[int] = []

    @event.listens_for(engine, "commit")
    def _level(connection: Any) -> None:
        sqlite = connection.connection.dbapi_connection
        if sqlite.in_transaction:  # a transaction is open: something is written (not a commit of nothing)
            levels.append(sqlite.execute("PRAGMA synchronous").fetchone()[0])

    return levels


def test_a_keyed_registration_keeps_its_answer_without_waiting_for_the_disk_and_the_erasure_waits(client: TestClient) -> None:
    engagement = application_of(client)
    views, keys = engagement.answers.engine, engagement.keys.engine
    assert views.url != keys.url  # SQLite: the views' file, and the store's file holding the key table
    on_views, on_keys = commits_on(views), commits_on(keys)

    osv_id = map_osv(client)
    person = {"osv_id": osv_id, "full_name": NAME, "document_type": "CE", "document_number": DOCUMENT_NUMBER, "nationality": "VE",
              "sex": "F", "joined_on": "2024-03-01", "birth_year": 1987}
    answered = client.post("/members", json=person, headers={"Idempotency-Key": str(uuid4())})
    assert answered.status_code == 201, answered.text
    member = answered.json()
    engagement.answers.flush()  # the answer is kept as it goes out
    # The once-a-minute purge of expired answers, which the first answer kept on the loop handed to the book's thread,
    # done now: its commit (at NORMAL, rightly: housekeeping of a rebuildable file) once fell within the erasure (CI).
    engagement.answers._writer.submit(lambda: None).result(timeout=10)  # noqa: SLF001
    assert on_views and set(on_views) == {NORMAL}  # the OSV's mapping applied, the answer kept
    with keys.connect() as connection:  # the person's key went in with the events, in a commit that waits
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == FULL

    on_views.clear()
    on_keys.clear()
    erase(client, member["id"])
    assert on_views and set(on_views) == {FULL}, on_views  # the tombstone, the kept answer deleted
    assert on_keys and set(on_keys) == {FULL}  # the key deleted
    with views.connect() as connection:  # the pool's connection is as it was for the next command
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == NORMAL
    assert client.get(f"/members/{member['id']}?purpose=contact").json()["full_name"] == "[erased]"
