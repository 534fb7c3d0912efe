"""A registration writes the person's key, the document's entry and the events together, or none of them.

On PostgreSQL the key table and the document directory live in the store's
database: the rows go in the events' transaction. On SQLite they live in
``views.db``, apart from the store's file: they are written just before the
events, and deleted again when the store refuses the events.
"""

from __future__ import annotations

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


def test_a_registration_whose_events_the_store_refuses_leaves_no_key_and_no_document_entry(
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

        assert (rows(engagement, DataKey), rows(engagement, DocumentEntry), engagement.log_head()) == (keys, entries, head)

        # Run again on what is stored, it writes the person's key, the document index entry's key, the entry, the events.
        monkeypatch.undo()
        member_id = register(engagement, osv.id, "002345678")
        assert engagement.get_member(member_id).full_name == "Zoraida Pérez Quispe"
        assert (rows(engagement, DataKey), rows(engagement, DocumentEntry)) == (keys + 2, entries + 1)
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
