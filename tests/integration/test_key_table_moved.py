"""A ``var/`` from before the key table moved: its keys and document entries, kept in ``views.db``, move into the store's file.

Until then an SQLite service kept its key table (and engagement its document
directory) in ``views.db``. The new code starts on such a ``var/``: every
person still reads in clear, their document is still found, ``views.db``
holds no key any more, and an erasure leaves no copy of the key in any file.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from devtools.embedded import NatsServer
from services.engagement.application import Engagement, cipher_env
from services.engagement.bootstrap import bootstrap
from services.engagement.domain.memberrules import Sex
from services.engagement.personaldata import (
    WRAPPING_PURPOSE,
    DataKey,
    DocumentDirectory,
    DocumentEntry,
    KeyRing,
    MasterKey,
)
from services.engagement.views import GrantDirectory
from services.engagement.views import OSVDirectory as EngagementOSVs
from shared.documents import DocumentType
from shared.sealing import MOVED_MARKER, move_rows
from shared.views import make_engine
from tests.integration.test_kept_aggregates import mapped_osv
from tests.support.api import look_up
from tests.support.clients import application_of, erasures_checked, service_client, settings_for

pytestmark = pytest.mark.timeout(180)

ZORAIDA = ("Zoraida Quintanilla Berroterán", "002345678")
LUIS = ("Luis Alberto Díaz Huamán", "001112223")


def older_wiring(var_dir: Path) -> tuple[Engagement, Any]:
    """Engagement as 59ab2c3 wired it, and its view engine: key table and document directory in ``views.db``."""
    settings = settings_for("engagement", var_dir)
    master = MasterKey.from_text(settings.resolve_master_key())
    views = make_engine(settings.view_url())
    engagement = Engagement(
        {**bootstrap(settings).application_env(), **cipher_env(master.store_cipher_key())},
        osvs=EngagementOSVs(views, "engagement"),
        grants=GrantDirectory(views),
        keys=KeyRing(views, master.subkey(WRAPPING_PURPOSE)),
        documents=DocumentDirectory(views, settings.resolve_index_key()),
    )
    return engagement, views


def old_layout(var_dir: Path) -> dict[str, Any]:
    """Engagement as it was wired before: key table and document directory in ``views.db``. Two people registered there."""
    settings = settings_for("engagement", var_dir)
    engagement, views = older_wiring(var_dir)
    try:
        osv, mapped = mapped_osv()
        engagement.osvs.apply([mapped])
        ids = {
            name: engagement.register_member(osv.id, name, DocumentType.CE, number, "VE", Sex.F, date(2021, 10, 5))
            for name, number in (ZORAIDA, LUIS)
        }
        with views.connect() as connection:
            wrapped = {owner: key for owner, key in connection.execute(select(DataKey.owner_id, DataKey.wrapped))}
            entries = connection.execute(select(func.count()).select_from(DocumentEntry)).scalar()
        assert len(wrapped) == 4 and entries == 2  # each person's key and their index entry's; two documents
    finally:
        engagement.close()
        views.dispose()
    return {"ids": ids, "wrapped": wrapped, "views": Path(settings.view_url().removeprefix("sqlite:///"))}


def rows_in(path: Path, table: Any) -> int:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)
    finally:
        engine.dispose()


def moved_from(path: Path, *names: str) -> bool:
    """Whether ``path`` (a ``views.db``) holds none of the tables ``names`` (default: the key table and the document
    directory) any more, only the marker views in their places."""
    names = names or (DataKey.__tablename__, DocumentEntry.__tablename__)
    connection = sqlite3.connect(path)
    try:
        kinds = dict(connection.execute(f"SELECT name, type FROM sqlite_master WHERE name IN ({', '.join('?' for _ in names)})", names))
    finally:
        connection.close()
    return kinds == dict.fromkeys(names, "view")


def bytes_of(*paths: Path) -> bytes:
    return b"".join(p.read_bytes() for path in paths for p in sorted(path.parent.glob(path.name + "*")) if p.is_file())


def test_an_older_var_dir_has_its_keys_and_entries_moved_into_the_store_and_every_person_still_reads(tmp_path: Path, nats_server: NatsServer) -> None:
    var_dir = tmp_path / "var"
    old = old_layout(var_dir)
    zoraida, luis = old["ids"][ZORAIDA[0]], old["ids"][LUIS[0]]

    with service_client("engagement", var_dir, settings={"nats_url": nats_server.url}) as client:
        engagement = application_of(erasures_checked(client))
        store_file = Path(str(engagement.keys.engine.url.database))
        assert store_file.name == "events.db" and store_file.parent == old["views"].parent

        # Who they were still reads; their documents are still found; nothing of the key table is left in views.db.
        assert client.get(f"/members/{zoraida}?purpose=contact").json()["full_name"] == ZORAIDA[0]
        assert client.get(f"/members/{luis}?purpose=contact").json()["full_name"] == LUIS[0]
        found = look_up(client, "CE", ZORAIDA[1])
        assert found.status_code == 200 and found.json()["id"] == str(zoraida), found.text
        assert moved_from(old["views"])
        assert rows_in(store_file, DataKey) == 4 and rows_in(store_file, DocumentEntry) == 2
        views_bytes = bytes_of(old["views"])
        assert not any(wrapped in views_bytes for wrapped in old["wrapped"].values())  # overwritten, not just unlinked

        # A person erased after the move: no copy of their key in any file (the store's, the views', their logs).
        assert client.post(f"/members/{zoraida}/erasure", json={"erased_on": "2025-01-10"}).status_code == 200
        stored = b"".join(path.read_bytes() for path in sorted(var_dir.rglob("*")) if path.is_file())
        assert old["wrapped"][str(zoraida)] not in stored
        assert old["wrapped"][str(luis)] in stored
        assert client.get(f"/members/{zoraida}?purpose=contact").json()["full_name"] == "[erased]"

    # Started again: nothing left to move, and nothing moved back.
    with service_client("engagement", var_dir, settings={"nats_url": nats_server.url}) as client:
        assert erasures_checked(client).get(f"/members/{luis}?purpose=contact").json()["full_name"] == LUIS[0]
        assert client.get(f"/members/{zoraida}?purpose=contact").json()["full_name"] == "[erased]"
        assert moved_from(old["views"]) and rows_in(store_file, DataKey) == 2  # Luis's two keys; Zoraida's went


def test_the_older_version_started_again_after_the_move_fails_at_once_naming_it(tmp_path: Path, nats_server: NatsServer) -> None:
    """The tester's rollback: the older code on a moved var/ found no keys in views.db. Everyone read "[erased]", every
    document registered again (one document, two people), and the DPO's erasure answered 200 while deleting nothing:
    the key stayed in events.db. Now the older wiring (key ring and directory on views.db) cannot even start."""
    var_dir = tmp_path / "var"
    old = old_layout(var_dir)
    with service_client("engagement", var_dir, settings={"nats_url": nats_server.url}) as client:
        assert erasures_checked(client).get(f"/members/{old['ids'][LUIS[0]]}?purpose=contact").json()["full_name"] == LUIS[0]

    settings = settings_for("engagement", var_dir)
    views = make_engine(settings.view_url())
    try:
        with pytest.raises(OperationalError, match=MOVED_MARKER):
            KeyRing(views, b"\x00" * 32)
        with pytest.raises(OperationalError, match=MOVED_MARKER):
            DocumentDirectory(views, settings.resolve_index_key())
    finally:
        views.dispose()
    with service_client("engagement", var_dir, settings={"nats_url": nats_server.url}) as client:  # the new version starts again as before
        assert erasures_checked(client).get(f"/members/{old['ids'][LUIS[0]]}?purpose=contact").json()["full_name"] == LUIS[0]


def test_workers_starting_at_once_on_an_older_var_dir_move_every_row_once_and_leave_none_behind(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    old = old_layout(var_dir)
    settings = settings_for("engagement", var_dir)
    workers = 4
    ready = threading.Barrier(workers)
    errors: list[BaseException] = []

    def worker() -> None:
        views, store = make_engine(settings.view_url()), make_engine(settings.key_url())
        try:
            KeyRing(store, b"\x00" * 32)  # as the bootstrap does first: the tables there
            ready.wait()
            move_rows(views, store, DataKey.__table__, DocumentEntry.__table__)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            views.dispose()
            store.dispose()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    store_file = Path(settings.key_url().removeprefix("sqlite:///"))
    engine = make_engine(settings.key_url())
    try:
        with engine.connect() as connection:
            assert dict(connection.execute(select(DataKey.owner_id, DataKey.wrapped)).all()) == old["wrapped"]
    finally:
        engine.dispose()
    assert rows_in(store_file, DocumentEntry) == 2
    assert moved_from(old["views"])


@pytest.mark.parametrize("service", ["registry", "funding", "engagement"])
def test_each_services_start_moves_its_older_keys_into_its_store_and_reads_them_there(service: str, tmp_path: Path) -> None:
    """Registry's and funding's keys seal staff's free text; their bootstraps move them as engagement's does."""
    from services.funding.bootstrap import bootstrap as funding
    from services.registry.bootstrap import bootstrap as registry

    settings = settings_for(service, tmp_path / "var")
    wrapping = MasterKey.from_text(settings.resolve_master_key()).subkey(WRAPPING_PURPOSE)
    views = make_engine(settings.view_url())
    owner = uuid4()
    key = KeyRing(views, wrapping).key_for_sealing(owner)  # as an older start made it: in views.db
    views.dispose()

    runtime = {"registry": registry, "funding": funding, "engagement": bootstrap}[service](settings)
    application = runtime.make_application(runtime.application_env())
    try:
        assert application._in_store_database(application.keys.engine)
        assert application.keys.key_of(owner) == key
        assert moved_from(Path(settings.view_url().removeprefix("sqlite:///")), DataKey.__tablename__)
    finally:
        application.close()
