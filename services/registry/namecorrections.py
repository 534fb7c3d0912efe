"""Registry's command correcting an OSV's name (:mod:`services.registry.domain.naming`): a mixin of
:class:`services.registry.application.Registry`, which gives it the OSV, the district's roll and the save."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.registry.domain.duplicates import check_name
from shared.roles import ALL_LIMA, MunicipalScope
from shared.store import retried_on_collision

if TYPE_CHECKING:
    from services.registry.domain.duplicates import DistrictRoll
    from services.registry.domain.osvs import OSV


class OSVNameCorrections:
    if TYPE_CHECKING:
        def get_osv(self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA) -> OSV: ...
        def district_roll(self, district: str) -> DistrictRoll: ...
        def survivor_of(self, osv_id: UUID) -> UUID: ...
        def save(self, *objs: Any, **kwargs: Any) -> Any: ...

    @retried_on_collision
    def correct_osv_name(
        self, osv_id: UUID, name: str, corrected_on: date, distinct_from: Iterable[UUID] = (), scope: MunicipalScope = ALL_LIMA
    ) -> OSV:
        """The OSV's name, corrected (records ``OSVNameCorrected``; nothing when it is its name already): 404 outside
        ``scope``; 422 ``name_has_letters``; 409 ``osv_not_merged`` on a record merged into another; 409
        ``possible_duplicate`` when another OSV of the district has that name or one very like it (``distinct_from``:
        those staff say are other organisations), as for a mapping. The district's roll takes the new name; the wrong one
        leaves it."""
        check_name(name)
        osv = self.get_osv(osv_id, scope)
        if not osv.correct_name(name, corrected_on):
            return osv
        roll = self.district_roll(osv.district)
        roll.check_new(name, [*dict.fromkeys(distinct_from), osv.id], self.survivor_of)
        roll.correct_name(osv.id, name)
        self.save(osv, roll)
        return osv
