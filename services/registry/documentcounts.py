"""Registry's local view of engagement's identity-document counts, built from ``OSVDocumentsCounted``.

Registry never reads engagement's tables, and never learns who holds what:
engagement publishes, per OSV, how many board members and members hold each
document type. Each event is the whole current tally, so the latest position
wins. The position of engagement's log is kept in the same transaction as the row.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Date, Engine, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.registry.readiness import DocumentTally
from shared.events import parse_date
from shared.views import positions_model, unseen


class Base(DeclarativeBase):
    pass


ConsumedPosition = positions_model(Base, "document_counts_positions")


class CountedOSV(Base):
    __tablename__ = "osv_document_counts"

    osv_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    counted_on: Mapped[date] = mapped_column(Date)
    board: Mapped[dict[str, int]] = mapped_column(JSON)
    members: Mapped[dict[str, int]] = mapped_column(JSON)


def _counts(value: Any) -> dict[str, int]:
    return {str(code): int(n) for code, n in (value or {}).items() if int(n) > 0}


class DocumentCounts:
    """What registry knows of the documents each OSV's people hold; :meth:`apply` is its consumer's handler."""

    durable = "registry-document-counts"
    subject = "osv.engagement.OSVDocumentsCounted"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        Base.metadata.create_all(engine)

    def get(self, osv_id: UUID) -> DocumentTally | None:
        with Session(self.engine) as session:
            row = session.get(CountedOSV, str(osv_id))
            if row is None:
                return None
            return DocumentTally(counted_on=row.counted_on, board=dict(row.board), members=dict(row.members))

    def apply(self, events: list[dict[str, Any]]) -> None:
        """Apply a batch of engagement events once, positions committed with the rows."""
        with Session(self.engine) as session, session.begin():
            for cloudevent in unseen(session, ConsumedPosition, events):
                if cloudevent["type"] != "OSVDocumentsCounted":
                    continue
                data = cloudevent["data"]
                session.merge(
                    CountedOSV(
                        osv_id=str(UUID(str(data["osv_id"]))),
                        counted_on=parse_date(data["counted_on"]),
                        board=_counts(data.get("board")),
                        members=_counts(data.get("members")),
                    )
                )
                session.flush()

    def applied_position(self) -> int:
        with Session(self.engine) as session:
            row = session.scalar(select(ConsumedPosition).where(ConsumedPosition.source == "engagement"))
            return row.position if row else 0
