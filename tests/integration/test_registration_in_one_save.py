"""A registration writes the person's key, the document's entry and the events together; one document is one person.

On PostgreSQL the key table and the document directory live in the store's
database: the rows go in the events' transaction. On SQLite they live in
``views.db``, apart from the store's file: they are written just before the
events and stay when the store refuses the events (a concurrent registration
of the same document may have found the entry meanwhile); the command's run
again opens the entry it left.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from sqlalchemy import func, select

from services.engagement.domain.members import Sex
from services.engagement.domain.roster import OSVRoster
from services.engagement.personaldata import DataKey, DocumentEntry
from shared import store
from shared.documents import DocumentType
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
        assert engagement._in_store_database(engagement.keys.engine) == database_url.startswith("postgres")
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
        if database_url.startswith("postgres"):  # in the events' transaction: nothing of it stays
            assert (rows(engagement, DataKey), rows(engagement, DocumentEntry)) == (keys, entries)

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
