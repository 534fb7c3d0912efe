"""Registry: the application every entry point goes through."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from shared.districts import DistrictTable
from services.registry.domainmodel import OSV, OSVKind, OSVNotFoundError
from shared.store import ServiceApplication


class Registry(ServiceApplication):
    """Maps OSVs and follows them through municipal registration (RUOS)."""

    name = "registry"

    def __init__(self, env: Mapping[str, str] | None = None, districts: DistrictTable | None = None) -> None:
        super().__init__(env)
        self.districts = districts or DistrictTable.of_lima()

    def map_osv(self, name: str, district: str, mapped_on: date, kind: OSVKind | None = None) -> UUID:
        found = self.districts.find(district)
        osv = OSV(name=name, district=found.name, zone=found.zone, mapped_on=mapped_on, kind=kind)
        self.save(osv)
        return osv.id

    def register_in_ruos(self, osv_id: UUID, ruos_number: str, registered_on: date) -> OSV:
        osv = self.get_osv(osv_id)
        osv.register_in_ruos(ruos_number, registered_on)
        self.save(osv)
        return osv

    def get_osv(self, osv_id: UUID) -> OSV:
        try:
            return self.repository.get(osv_id)
        except AggregateNotFoundError:
            raise OSVNotFoundError(osv_id) from None

    def list_osvs(self) -> list[OSV]:
        """Every mapped OSV, in the order they were mapped."""
        return [self.get_osv(osv_id) for osv_id in self.ids_created_by(OSV.OSVMapped)]
