"""Registry's domain: neighbourhood organisations (OSV) and their RUOS registration.

Pure: aggregates, the events they record and the named errors of their rules.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from eventsourcing.domain import Aggregate, event

from shared.errors import ConflictError, NotFoundError, RuleViolationError


class OSVKind(StrEnum):
    """The kinds of organisation the RUOS recognises, as the practice met them."""

    VULNERABLE_POPULATION = "poblacion_vulnerable"
    NEIGHBOURHOOD = "vecinal"
    CULTURAL = "cultural"
    SPORTS = "deportiva"
    PRODUCTIVE = "productiva"
    OTHER = "other"


class OSVNotFoundError(NotFoundError):
    def __init__(self, osv_id: object) -> None:
        super().__init__(f"OSV {osv_id} is not in the registry")


class AlreadyRegisteredError(ConflictError):
    def __init__(self, ruos_number: str, registered_on: date) -> None:
        super().__init__(
            f"this OSV is already registered in the RUOS as {ruos_number} on {registered_on.isoformat()}",
            field="ruos_number",
            rule="register_once",
        )


class RegisteredBeforeMappedError(RuleViolationError):
    def __init__(self, registered_on: date, mapped_on: date) -> None:
        super().__init__(
            f"registered_on {registered_on.isoformat()} is before the OSV was mapped on {mapped_on.isoformat()}",
            field="registered_on",
            rule="not_before_mapped_on",
        )


class OSV(Aggregate):
    """A neighbourhood organisation the programme has mapped."""

    @event("OSVMapped")
    def __init__(self, name: str, district: str, zone: str, mapped_on: date, kind: OSVKind | None) -> None:
        self.name = name
        self.district = district
        self.zone = zone
        self.mapped_on = mapped_on
        self.kind = kind
        self.ruos_number: str | None = None
        self.registered_on: date | None = None

    @property
    def ruos_status(self) -> str:
        return "registered" if self.ruos_number else "unregistered"

    def register_in_ruos(self, ruos_number: str, registered_on: date) -> None:
        """Record the municipal registration, including one made before the system existed."""
        if self.ruos_number is not None and self.registered_on is not None:
            raise AlreadyRegisteredError(self.ruos_number, self.registered_on)
        if registered_on < self.mapped_on:
            raise RegisteredBeforeMappedError(registered_on, self.mapped_on)
        self._registered(ruos_number=ruos_number, registered_on=registered_on)

    @event("RUOSRegistered")
    def _registered(self, ruos_number: str, registered_on: date) -> None:
        self.ruos_number = ruos_number
        self.registered_on = registered_on
