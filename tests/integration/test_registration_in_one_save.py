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
        osv, mapped = mapped_osv()
        engagement.osvs.apply([mapped])
        monkeypatch.setattr(store, "COMMAND_ATTEMPTS", 1)  # the refusal goes out at once (409), not retried
        # The store refuses the events after the key and entry are written (inside the events' transaction where
        # there is one): each event is inserted twice, and the second breaks the store's unique version, as a
        # concurrent command's save of the same roster would.
        recorder = engagement.recorder
        assert engagement._in_store_database(engagement.keys.engine) == database_url.startswith("postgres")
        step = "_insert_stored_events" if database_url.startswith("postgres") else "_insert_events"
        original = getattr(recorder, step)

        def twice(curs: Any, stored_events: Any, **kwargs: Any) -> Any:
            original(curs, stored_events, **kwargs)
            return original(curs, stored_events, **kwargs)

        monkeypatch.setattr(recorder, step, twice)
        with pytest.raises(IntegrityError):
            register(engagement, osv.id)

        assert rows(engagement, DataKey) == 0
        assert rows(engagement, DocumentEntry) == 0
        assert engagement.log_head() == 0

        # The store accepts the same registration next: one key per sealed owner, one entry, the events.
        monkeypatch.setattr(recorder, step, original)
        member_id = register(engagement, osv.id)
        assert engagement.get_member(member_id).full_name == "Zoraida Pérez Quispe"
        assert rows(engagement, DocumentEntry) == 1
        assert rows(engagement, DataKey) == 2  # the person's key and the document index entry's
        assert engagement.find_member(DocumentType.CE, "001234567").id == member_id
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
