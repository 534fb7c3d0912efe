"""Funding's local view of registry's OSVs, built from registry's events on NATS.

Funding never reads registry's tables: it keeps the few facts it needs
(mapped, when, where, RUOS-registered) in its own database, with the position
of registry's log it has applied, in one transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Date, Engine, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.events import parse_date
from shared.views import positions_model, unseen


class Base(DeclarativeBase):
    pass


ConsumedPosition = positions_model(Base)


class KnownOSV(Base):
    __tablename__ = "known_osvs"

    osv_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    district: Mapped[str] = mapped_column(String(100))
    zone: Mapped[str] = mapped_column(String(50))
    mapped_on: Mapped[date] = mapped_column(Date)
    ruos_number: Mapped[str | None] = mapped_column(String(50), nullable=True)
    registered_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class OSVDirectory:
    """What funding knows of OSVs; :meth:`apply` is the NATS consumer's handler."""

    durable = "funding-osv-directory"
    subject = "osv.registry.>"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        Base.metadata.create_all(engine)

    def get(self, osv_id: UUID) -> KnownOSV | None:
        with Session(self.engine) as session:
            return session.get(KnownOSV, str(osv_id))

    def apply(self, events: list[dict[str, Any]]) -> None:
        """Apply a batch of registry events once, positions committed with the rows."""
        with Session(self.engine) as session, session.begin():
            for cloudevent in unseen(session, ConsumedPosition, events):
                data = cloudevent["data"]
                if cloudevent["type"] == "OSVMapped":
                    session.merge(
                        KnownOSV(
                            osv_id=str(data["osv_id"]),
                            district=data["district"],
                            zone=data["zone"],
                            mapped_on=parse_date(data["mapped_on"]),
                        )
                    )
                elif cloudevent["type"] == "RUOSRegistered":
                    osv = session.get(KnownOSV, str(data["osv_id"]))
                    if osv is not None:
                        osv.ruos_number = data["ruos_number"]
                        osv.registered_on = parse_date(data["registered_on"])

    def applied_position(self) -> int:
        with Session(self.engine) as session:
            row = session.scalar(select(ConsumedPosition).where(ConsumedPosition.source == "registry"))
            return row.position if row else 0
