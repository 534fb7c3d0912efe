"""Registry's look-ups of districts and municipalities by name or ubigeo, and what its districts table lacks.

A mixin of :class:`services.registry.application.Registry`, which sets ``districts`` (:class:`DistrictTable`),
``municipalities``, ``mapped_districts`` and the caches ``_ubigeos`` and ``_lacking`` in its ``__init__``. A replica
may run on a shorter districts table than another's (``REGISTRY_DISTRICTS_FILE``): what it lacks is said once,
named in ``/health``, and refused with 503 ``osv_district_in_table`` rather than blamed on the caller.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING

from shared.districts import District, DistrictLackedHereError, DistrictTable, UnknownDistrictError, district_key
from shared.inplace import StoreBusyError, saving_without_waiting, without_waiting_on_the_loop
from shared.municipalities import MunicipalityReference, MunicipalityTable

if TYPE_CHECKING:
    from services.registry.domain.osvs import OSV
    from services.registry.views.mappeddistricts import MappedDistricts

log = logging.getLogger("services.registry.application")


class DistrictLookups:
    """The ubigeo of an OSV's district, a typed district or municipality, and the districts this process's table lacks."""

    districts: DistrictTable
    municipalities: MunicipalityTable
    mapped_districts: MappedDistricts | None
    _ubigeos: dict[str, str]
    _lacking: set[str]

    def ubigeo_of(self, osv: OSV) -> str | None:
        """The ubigeo of the OSV's district: the municipality whose focal point and partner see it, and its events' subject.

        Kept per district name once found (the table is fixed for the process's life): every command and every read
        of an OSV asks it, and a look-up folds the name again (about 0.05 ms).

        None when the table lacks the district (registry refuses to start with a stored OSV in such a district, so
        only an OSV another process mapped with a fuller table meets this): the OSV is read as stored, by those who
        read all of Lima only, and nothing new is recorded about it (:meth:`save`). Logged once per district.
        """
        return self._ubigeo_named(osv.district)

    def _ubigeo_named(self, district: str) -> str | None:
        """The ubigeo of the district of that name, kept once found; None (logged once) when the table lacks it."""
        found = self._ubigeos.get(district)
        if found is None:
            recorded = self.districts.recorded(district)
            if recorded is None:
                self._say_lacking(district)
                return None
            found = self._ubigeos[district] = recorded.ubigeo
        return found

    def district_named(self, given: str, on: date | None = None, field: str = "district") -> District:
        """The district a request names (:meth:`DistrictTable.find`: 422 ``lima_district``, ``district_in_force``); 503
        ``osv_district_in_table`` (:class:`DistrictLackedHereError`) for one this process's table lacks though stored
        OSVs are in it (:meth:`lacked_districts`): another replica mapped them with a fuller districts file."""
        try:
            return self.districts.find(given, on=on)
        except UnknownDistrictError:
            lacked = next((name for name in self.lacked_districts() if district_key(name) == district_key(given)), None)
            if lacked is not None:
                raise DistrictLackedHereError("registry", self.districts, lacked, field) from None
            raise

    def municipality_named(self, given: str, field: str = "municipality_id") -> MunicipalityReference:
        """The municipality a request names (``mml`` or a district's ubigeo: 422 ``lima_municipality`` for none of Lima's);
        503 ``osv_district_in_table`` (:class:`~shared.municipalities.MunicipalityLackedHereError`) for a district's ubigeo
        of Lima this process's table lacks while stored OSVs are in districts it lacks (:meth:`lacked_districts`): it may
        be theirs, which a replica with the fuller districts file takes (:meth:`MunicipalityTable.require_here`)."""
        return self.municipalities.require_here(given, self.lacked_districts, "registry", field)

    def lacked_districts(self) -> list[str]:
        """The districts this process's table lacks that stored OSVs are in: those it read (:meth:`districts_lacking`), and
        those of OSVs another replica mapped since this one started, caught up from the store's ``OSVMapped`` events
        (:class:`MappedDistricts`), each logged once and named in ``/health`` from then on. Asked only when a request names
        a district or municipality the table does not know: a request about an OSV this process has not read yet is
        answered as one about an OSV it has."""
        if self.mapped_districts is not None:
            in_command = saving_without_waiting()  # run_command's: a busy database sends the command to a thread
            try:
                with without_waiting_on_the_loop():  # a request's body checks, on the loop: no wait for the databases
                    mapped = self.mapped_districts.catch_up(self)
            except StoreBusyError:
                if in_command:
                    raise
                mapped = []  # a database busy now: what is known already answers, the next request catches up
            for district in self.districts.lacking(mapped):
                self._say_lacking(district)
        return sorted(self._lacking)

    def _say_lacking(self, district: str) -> None:
        if district in self._lacking:
            return
        self._lacking.add(district)
        log.error(
            "registry: a stored OSV is in the district '%s', which this process's districts table, %s, lacks (another "
            "replica mapped it with a fuller one?): it is shown to those who read all of Lima only, no focal point or "
            "partner, and nothing more is recorded about it until %s names the districts file it was mapped with and "
            "registry is restarted",
            district, self.districts.described(), self.districts.setting or "the districts_file setting",
        )

    def districts_lacking(self) -> list[str]:
        """The districts of OSVs this process read that its table lacks (``/health``'s ``missing_districts``)."""
        return sorted(self._lacking)

