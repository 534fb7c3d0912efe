"""Registry's local view of engagement's identity-document counts, built from ``OSVDocumentsCounted``.

Registry never reads engagement's tables, and never learns who holds what:
engagement publishes, per OSV, how many board members and members hold each
document type. Each event is the whole current tally, so the latest position
wins, whatever order the events arrive in. The events applied are kept in the
same transaction as the row (see :mod:`shared.views`).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Date, Engine, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.registry.domain.readiness import DocumentTally
from shared.events import parse_date
from shared.views import Ledger, View, create_tables


class Base(DeclarativeBase):
    pass


LEDGER = Ledger(Base, "document_counts")


class CountedOSV(Base):
    __tablename__ = "osv_document_counts"

    osv_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    counted_on: Mapped[date] = mapped_column(Date)
    board: Mapped[dict[str, int]] = mapped_column(JSON)
    members: Mapped[dict[str, int]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)
    """The position in engagement's log of the count this row holds: a later count replaces it, an earlier one never does."""


def _counts(value: Any) -> dict[str, int]:
    return {str(code): int(n) for code, n in (value or {}).items() if int(n) > 0}


class DocumentCounts(View):
    """What registry knows of the documents each OSV's people hold; :meth:`apply` is its consumer's handler."""

    name = "document-counts"
    sources = ("engagement",)
    subjects = {"engagement": "osv-programme.engagement.OSVDocumentsCounted"}  # no partner's: shared.events.PROGRAMME_PREFIX

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, LEDGER, durable_prefix="registry-document-counts")
        create_tables(Base.metadata, engine)

    def get(self, osv_id: UUID) -> DocumentTally | None:
        with Session(self.engine) as session:
            row = session.get(CountedOSV, str(osv_id))
            if row is None:
                return None
            return DocumentTally(counted_on=row.counted_on, board=dict(row.board), members=dict(row.members))

    def apply_event(self, session: Session, cloudevent: dict[str, Any]) -> None:
        if cloudevent["type"] != "OSVDocumentsCounted":
            return
        data = cloudevent["data"]
        position = int(cloudevent["position"])
        osv_id = str(UUID(str(data["osv_id"])))
        row = session.get(CountedOSV, osv_id)
        if row is not None and row.position > position:
            return  # a later count is already here
        values = {
            "counted_on": parse_date(data["counted_on"]),
            "board": _counts(data.get("board")),
            "members": _counts(data.get("members")),
            "position": position,
        }
        if row is None:
            session.add(CountedOSV(osv_id=osv_id, **values))
        else:
            for name, value in values.items():
                setattr(row, name, value)
        session.flush()
