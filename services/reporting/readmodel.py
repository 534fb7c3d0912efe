"""Reporting's read model: every public event kept as a dated fact (SQLAlchemy).

Each batch of events is applied in one transaction together with the
per-source positions, so an event is counted exactly once however often NATS
delivers it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Engine, Integer, String, delete, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.reporting.indicators import Fact
from shared.events import source_service
from shared.views import positions_model, unseen


class Base(DeclarativeBase):
    pass


ConsumedPosition = positions_model(Base)


class FactRow(Base):
    __tablename__ = "facts"

    event_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    source: Mapped[str] = mapped_column(String(50), index=True)
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(80), index=True)
    subject: Mapped[str] = mapped_column(String(80))
    occurred_on: Mapped[date] = mapped_column(Date, index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    def fact(self) -> Fact:
        return Fact(self.event_id, self.type, self.subject, self.occurred_on, self.recorded_at, self.data)


def _recorded_at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class ReadModel:
    """Facts and positions; :meth:`apply` is the consumer's handler."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        Base.metadata.create_all(engine)

    def apply(self, events: list[dict[str, Any]]) -> int:
        """Apply a batch once; return how many events were new."""
        applied = 0
        with Session(self.engine) as session, session.begin():
            for cloudevent in unseen(session, ConsumedPosition, events):
                data = cloudevent.get("data") or {}
                session.add(
                    FactRow(
                        event_id=cloudevent["id"],
                        source=source_service(cloudevent),
                        position=int(cloudevent["position"]),
                        type=cloudevent["type"],
                        subject=str(cloudevent.get("subject", "")),
                        occurred_on=date.fromisoformat(data.get("occurred_on") or cloudevent["time"][:10]),
                        recorded_at=_recorded_at(cloudevent["time"]),
                        data=data,
                    )
                )
                applied += 1
        return applied

    def facts(self) -> list[Fact]:
        with Session(self.engine) as session:
            return [row.fact() for row in session.scalars(select(FactRow).order_by(FactRow.source, FactRow.position))]

    def positions(self) -> dict[str, int]:
        with Session(self.engine) as session:
            return {row.source: row.position for row in session.scalars(select(ConsumedPosition))}

    def clear(self) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(FactRow))
            session.execute(delete(ConsumedPosition))

    def digest(self) -> str:
        """A SHA-256 over every fact and position: equal digests, equal read models."""
        sha = hashlib.sha256()
        for fact in self.facts():
            sha.update(json.dumps([fact.event_id, fact.type, fact.occurred_on.isoformat(), fact.data], sort_keys=True).encode())
        sha.update(json.dumps(self.positions(), sort_keys=True).encode())
        return sha.hexdigest()
