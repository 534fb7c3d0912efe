"""Registry's public events: what partners and the other services see of it.

Each model is one entry of the event catalogue (``catalogue/schemas/``).
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from services.registry.domainmodel import OSV
from shared.events import EventCatalogue, PublicEvent

catalogue = EventCatalogue("registry")


@catalogue.publishes(OSV.OSVMapped)
class OSVMapped(PublicEvent):
    """The programme found a neighbourhood organisation and put it on its map."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "mapped_on"

    osv_id: UUID
    name: str = Field(description="The organisation's name (not a person's).")
    district: str = Field(description="One of the 43 districts of Lima Metropolitana.")
    zone: str = Field(description="Lima Norte, Lima Sur, Lima Este or Lima Centro.")
    kind: str | None = None
    mapped_on: date


@catalogue.publishes(OSV.RUOSRegistered)
class RUOSRegistered(PublicEvent):
    """The OSV is registered in the municipal Registro Único de Organizaciones Sociales."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "registered_on"

    osv_id: UUID
    ruos_number: str
    registered_on: date
