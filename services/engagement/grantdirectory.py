"""Engagement's local view of funding's grants, built from funding's events on NATS.

Members take part in funded projects as agents of change, and activities may
belong to a funded project: engagement checks both against the grants funding
has published, kept here with the position of funding's log, in one transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Date, Engine, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.errors import RuleViolationError
from shared.events import parse_date
from shared.views import positions_model, unseen


class Base(DeclarativeBase):
    pass


ConsumedPosition = positions_model(Base, "grant_directory_positions")


class KnownGrant(Base):
    __tablename__ = "known_grants"

    grant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    osv_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    granted_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class GrantNotInFundingError(RuleViolationError):
    def __init__(self, grant_id: UUID) -> None:
        super().__init__(
            f"grant {grant_id} is not known to engagement: funding has not published it "
            "(check the id, or retry once funding's FundGranted event has arrived)",
            field="grant_id",
            rule="grant_made_in_funding",
        )


class GrantDirectory:
    """What engagement knows of grants; :meth:`apply` is its NATS consumer's handler."""

    durable = "engagement-grant-directory"
    subject = "osv.funding.>"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        Base.metadata.create_all(engine)

    def get(self, grant_id: UUID) -> KnownGrant | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(KnownGrant, str(grant_id))

    def require(self, grant_id: UUID) -> KnownGrant:
        grant = self.get(grant_id)
        if grant is None:
            raise GrantNotInFundingError(grant_id)
        return grant

    def apply(self, events: list[dict[str, Any]]) -> None:
        """Apply a batch of funding events once, positions committed with the rows."""
        with Session(self.engine) as session, session.begin():
            for cloudevent in unseen(session, ConsumedPosition, events):
                data = cloudevent["data"]
                if cloudevent["type"] == "FundGranted":
                    session.merge(
                        KnownGrant(
                            grant_id=str(data["grant_id"]),
                            osv_id=str(data["osv_id"]),
                            kind=data["kind"],
                            granted_on=parse_date(data["granted_on"]),
                        )
                    )
                    session.flush()
                elif cloudevent["type"] == "GrantClosed":
                    grant = session.get(KnownGrant, str(data["grant_id"]))
                    if grant is not None:
                        grant.closed_on = parse_date(data["closed_on"])

    def applied_position(self) -> int:
        with Session(self.engine) as session:
            row = session.scalar(select(ConsumedPosition).where(ConsumedPosition.source == "funding"))
            return row.position if row else 0
