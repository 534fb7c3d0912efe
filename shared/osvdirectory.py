"""A service's local view of registry's OSVs, built from registry's events on NATS.

Funding and engagement never read registry's tables: each keeps the few facts
it needs (mapped, when, where, RUOS-registered, dissolved) in its own
database, with the position of registry's log it has applied, in one
transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Date, Engine, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.errors import ConflictError, RuleViolationError
from shared.events import parse_date
from shared.views import positions_model, unseen


class Base(DeclarativeBase):
    pass


ConsumedPosition = positions_model(Base, "osv_directory_positions")


class KnownOSV(Base):
    __tablename__ = "known_osvs"

    osv_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    district: Mapped[str] = mapped_column(String(100))
    zone: Mapped[str] = mapped_column(String(50))
    mapped_on: Mapped[date] = mapped_column(Date)
    ruos_number: Mapped[str | None] = mapped_column(String(50), nullable=True)
    registered_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    dissolved_on: Mapped[date | None] = mapped_column(Date, nullable=True)

    @property
    def registered(self) -> bool:
        return self.ruos_number is not None

    @property
    def dissolved(self) -> bool:
        return self.dissolved_on is not None


class OSVNotInRegistryError(RuleViolationError):
    def __init__(self, osv_id: UUID, service: str) -> None:
        super().__init__(
            f"OSV {osv_id} is not known to {service}: registry has not published its mapping "
            "(check the id, or retry once registry's OSVMapped event has arrived)",
            field="osv_id",
            rule="osv_mapped_in_registry",
        )


class OSVDissolvedError(ConflictError):
    def __init__(self, dissolved_on: date) -> None:
        super().__init__(
            f"this OSV was dissolved on {dissolved_on.isoformat()} and takes no new records",
            field="osv_id",
            rule="osv_not_dissolved",
        )


class OSVDirectory:
    """What a service knows of OSVs; :meth:`apply` is its NATS consumer's handler."""

    subject = "osv.registry.>"

    def __init__(self, engine: Engine, service: str) -> None:
        self.engine = engine
        self.service = service
        self.durable = f"{service}-osv-directory"
        Base.metadata.create_all(engine)

    def get(self, osv_id: UUID) -> KnownOSV | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(KnownOSV, str(osv_id))

    def require_active(self, osv_id: UUID) -> KnownOSV:
        """The OSV, if it is mapped and not dissolved; else the named error."""
        osv = self.get(osv_id)
        if osv is None:
            raise OSVNotInRegistryError(osv_id, self.service)
        if osv.dissolved_on is not None:
            raise OSVDissolvedError(osv.dissolved_on)
        return osv

    def apply(self, events: list[dict[str, Any]]) -> None:
        """Apply a batch of registry events once, positions committed with the rows."""
        with Session(self.engine) as session, session.begin():
            for cloudevent in unseen(session, ConsumedPosition, events):
                data = cloudevent["data"]
                kind = cloudevent["type"]
                if kind == "OSVMapped":
                    session.merge(
                        KnownOSV(
                            osv_id=str(data["osv_id"]),
                            district=data["district"],
                            zone=data["zone"],
                            mapped_on=parse_date(data["mapped_on"]),
                        )
                    )
                    session.flush()
                    continue
                osv = session.get(KnownOSV, str(data.get("osv_id")))
                if osv is None:
                    continue
                if kind == "RUOSRegistered":
                    osv.ruos_number = data["ruos_number"]
                    osv.registered_on = parse_date(data["registered_on"])
                elif kind == "OSVDissolved":
                    osv.dissolved_on = parse_date(data["dissolved_on"])

    def applied_position(self) -> int:
        with Session(self.engine) as session:
            row = session.scalar(select(ConsumedPosition).where(ConsumedPosition.source == "registry"))
            return row.position if row else 0
