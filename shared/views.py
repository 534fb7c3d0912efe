"""Local read tables built from other services' events (SQLAlchemy).

A consumer applies each event once: it stores, per source service, the last
applied position in the same transaction as the rows the event changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Integer, String, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.events import source_service


def make_engine(url: str) -> Engine:
    """An engine for a view database; SQLite files get WAL and a busy timeout."""
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

    return engine


def positions_model(base: type[DeclarativeBase], table: str = "consumed_positions") -> type:
    """The table of how far one view has applied each source; each view in a database names its own."""

    class ConsumedPosition(base):  # type: ignore[valid-type, misc]
        """How far this view has applied each source service's log."""

        __tablename__ = table
        source: Mapped[str] = mapped_column(String(50), primary_key=True)
        position: Mapped[int] = mapped_column(Integer, nullable=False)

    return ConsumedPosition


def unseen(session: Session, model: type, events: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Yield only events past each source's stored position, and advance the positions.

    Call inside the transaction that applies the events: the new positions
    commit (or roll back) with the rows.
    """
    positions = {row.source: row for row in session.scalars(select(model))}
    for cloudevent in events:
        source = source_service(cloudevent)
        position = int(cloudevent["position"])
        row = positions.get(source)
        if row is not None and position <= row.position:
            continue
        if row is None:
            row = model(source=source, position=position)
            session.add(row)
            positions[source] = row
        else:
            row.position = position
        yield cloudevent
