"""A registration writes the person's key, the document's entry and the events together; one document is one person.

The key table and the document directory live in the store's own database (the
PostgreSQL database, or the SQLite store's file, ``events.db``): the rows go in
the events' transaction, so a registration the store refuses leaves none of
them, and its run again opens the one entry of the document.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from sqlalchemy import func, select

from services.engagement.bootstrap import bootstrap
from services.engagement.domain.memberrules import Sex
from services.engagement.domain.roster import OSVRoster
from services.engagement.personaldata import DataKey, DocumentEntry
from services.engagement.settings import EngagementSettings
from shared import chain, store
from shared.documents import DocumentType
from shared.driversql import insert_sql
from tests.integration.test_kept_aggregates import engagement_on, mapped_osv


def rows(engagement: Any, table: Any) -> int:
    with engagement.keys.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)


def register(engagement: Any, osv_id: Any, number: str = "001234567") -> Any:
    return engagement.register_member(osv_id, "Zoraida Pérez Quispe", DocumentType.CE, number, "VE", Sex.F, date(2021, 10, 5))


def test_a_registration_whose_events_the_store_refuses_stores_no_event_and_its_run_again_opens_one_entry(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement = engagement_on(database_url, tmp_path)
    try:
        assert engagement._in_store_database(engagement.keys.engine) and engagement._in_store_database(engagement.documents.engine)
        osv, mapped = mapped_osv()
        engagement.osvs.apply([mapped])
        register(engagement, osv.id, "001234567")
        keys, entries, head = rows(engagement, DataKey), rows(engagement, DocumentEntry), engagement.log_head()

        # The next registration's save collides on the OSV's roster, as when another registration to the same
        # OSV saved it first: the store refuses its events after its new keys and entry were made.
        monkeypatch.setattr(store, "COMMAND_ATTEMPTS", 1)  # the refusal goes out at once (409), not retried
        monkeypatch.setattr(engagement, "_roster_of", lambda osv_id: OSVRoster(osv_id=osv_id))
        with pytest.raises(IntegrityError):
            register(engagement, osv.id, "002345678")

        assert engagement.log_head() == head
        assert (rows(engagement, DataKey), rows(engagement, DocumentEntry)) == (keys, entries)  # in the events' transaction: none stays

        # Run again on what is stored, it opens the one entry of the document and stores the events.
        monkeypatch.undo()
        member_id = register(engagement, osv.id, "002345678")
        assert engagement.get_member(member_id).full_name == "Zoraida Pérez Quispe"
        assert rows(engagement, DocumentEntry) == entries + 1
        assert engagement.find_member(DocumentType.CE, "002345678").id == member_id
    finally:
        engagement.close()


def test_a_registration_refused_before_it_saves_writes_no_key_and_no_entry(database_url: str, tmp_path: Path) -> None:
    engagement = engagement_on(database_url, tmp_path)
    try:
        osv, mapped = mapped_osv()
        engagement.osvs.apply([mapped])
        register(engagement, osv.id, "001234567")
        keys, entries = rows(engagement, DataKey), rows(engagement, DocumentEntry)
        with pytest.raises(Exception, match="already"):
            register(engagement, osv.id, "001234567")  # the document is registered: refused by the index entry
        assert (rows(engagement, DataKey), rows(engagement, DocumentEntry)) == (keys, entries)
    finally:
        engagement.close()


def test_a_refused_registration_never_takes_back_the_entry_a_concurrent_registration_of_the_same_document_found(
    database_url: str, tmp_path: Path
) -> None:
    """Registration A of a cédula is refused by a collision on the OSV's roster after B of the same cédula saved on A's entry.

    (Found trying the system: on SQLite A took its entry back, ran again, opened a second one: one cédula, two people.)
    """
    engagement = engagement_on(database_url, tmp_path)
    try:
        osv, mapped = mapped_osv()
        engagement.osvs.apply([mapped])
        results: dict[str, Any] = {}

        def registration(name: str) -> None:
            try:
                results[name] = engagement.register_member(
                    osv.id, "José Gregorio Hernández Peña", DocumentType.CEDULA_VE, "V-12.345.678", "VE", Sex.M, date(2021, 10, 5)
                )
            except Exception as error:  # noqa: BLE001 - the refused one's error is what is checked
                results[name] = error

        insert_events = engagement.recorder.insert_events
        refused: list[str] = []

        def b_saves_first_then_a_collides(*args: Any, **kwargs: Any) -> Any:
            if not refused and threading.current_thread().name == "A":
                refused.append("A")
                b = threading.Thread(target=registration, args=("B",), name="B")
                b.start()
                b.join()
                raise IntegrityError("A collides on the OSV's roster")
            return insert_events(*args, **kwargs)

        engagement.recorder.insert_events = b_saves_first_then_a_collides
        a = threading.Thread(target=registration, args=("A",), name="A")
        a.start()
        a.join()

        registered = [v for v in results.values() if not isinstance(v, Exception)]
        assert refused == ["A"] and len(registered) == 1, results
        assert "already" in str(results["A"]), results
        assert engagement.find_member(DocumentType.CEDULA_VE, "V-12.345.678").id == registered[0]
    finally:
        engagement.close()


def test_as_the_service_is_wired_on_sqlite_a_registration_the_store_refuses_leaves_no_key_and_no_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default layout (``var/engagement/events.db`` and ``views.db``), built by the service's own bootstrap."""
    settings = EngagementSettings(var_dir=tmp_path / "var", index_key_file=tmp_path / "index.key")
    runtime = bootstrap(settings)
    engagement = runtime.make_application(runtime.application_env())
    try:
        store_file = Path(settings.store_url().removeprefix("sqlite:///"))
        assert Path(str(engagement.keys.engine.url.database)) == store_file == Path(str(engagement.documents.engine.url.database))
        osv, mapped = mapped_osv()
        engagement.osvs.apply([mapped])
        register(engagement, osv.id, "001234567")
        keys, entries, head = rows(engagement, DataKey), rows(engagement, DocumentEntry), engagement.log_head()
        assert (keys, entries) == (2, 1)  # the person's key, the index entry's key; the document's entry

        monkeypatch.setattr(store, "COMMAND_ATTEMPTS", 1)
        monkeypatch.setattr(engagement, "_roster_of", lambda osv_id: OSVRoster(osv_id=osv_id))
        with pytest.raises(IntegrityError):
            register(engagement, osv.id, "002345678")

        assert engagement.log_head() == head
        assert (rows(engagement, DataKey), rows(engagement, DocumentEntry)) == (keys, entries)
        monkeypatch.undo()
        member_id = register(engagement, osv.id, "002345678")
        assert engagement.get_member(member_id).full_name == "Zoraida Pérez Quispe"
        assert (rows(engagement, DataKey), rows(engagement, DocumentEntry)) == (keys + 2, entries + 1)
    finally:
        engagement.close()


def stored_event(originator_id: UUID) -> StoredEvent:
    return StoredEvent(originator_id=originator_id, originator_version=1, topic="tests:Nothing", state=b"{}")


def test_saves_committed_together_keep_their_own_keys_and_one_the_store_refuses_takes_back_only_its_own(tmp_path: Path) -> None:
    """SQLite's group commit: each save's rows go in its own savepoint with its events."""
    engagement = engagement_on(f"sqlite:///{tmp_path / 'events.db'}", tmp_path)
    try:
        table, engine = DataKey.__table__, engagement.keys.engine
        kept, refused, also_kept = str(uuid4()), str(uuid4()), str(uuid4())
        first, second, third = uuid4(), uuid4(), uuid4()
        batch = [
            ([stored_event(first)], [insert_sql(engine, table, {"owner_id": kept, "wrapped": b"\x01" * 60})]),
            # The second save's events collide with themselves (one version twice): the store refuses it.
            ([stored_event(second), stored_event(second)], [insert_sql(engine, table, {"owner_id": refused, "wrapped": b"\x02" * 60})]),
            ([stored_event(third)], [insert_sql(engine, table, {"owner_id": also_kept, "wrapped": b"\x03" * 60})]),
        ]
        saves = [chain._Save(stored, {"side_rows": side}) for stored, side in batch]
        assert engagement.recorder._commit_batch(saves) == []
        assert saves[0].error is None and isinstance(saves[1].error, IntegrityError) and saves[2].error is None
        with engine.connect() as connection:
            owners = set(connection.execute(select(DataKey.owner_id)).scalars())
        assert kept in owners and also_kept in owners and refused not in owners
        assert [n.originator_id for n in engagement.recorder.select_notifications(start=1, limit=10)][-2:] == [first, third]
    finally:
        engagement.close()
