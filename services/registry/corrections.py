"""Registry's commands correcting an OSV's record: its name (:mod:`services.registry.domain.naming`), the day it was
mapped (:mod:`services.registry.domain.mappingdates`) and its registration in the RUOS
(:mod:`services.registry.domain.ruoscorrections`): a mixin of :class:`services.registry.application.Registry`, which
gives them the OSV, the district's roll, the claims on RUOS numbers and the save."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.registry.domain.duplicates import check_name
from services.registry.domain.ruoskeys import ruos_number_key
from shared.preconditions import check_version
from shared.roles import ALL_LIMA, ANY_RECORDER, MunicipalScope, RecordingScope
from shared.store import retried_on_collision

if TYPE_CHECKING:
    from services.registry.domain.duplicates import DistrictRoll
    from services.registry.domain.osvs import OSV


class OSVCorrections:
    if TYPE_CHECKING:
        def get_osv(self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA) -> OSV: ...
        def district_roll(self, district: str) -> DistrictRoll: ...
        def survivor_of(self, osv_id: UUID) -> UUID: ...
        def merged_in_days(self, osv: OSV) -> list[date]: ...
        def save(self, *objs: Any, **kwargs: Any) -> Any: ...
        def _recording_in_ruos(
            self, osv_id: UUID, recorder: RecordingScope, step: str, ruos_of: Callable[[OSV], str]
        ) -> tuple[OSV, str]: ...
        def _ruos_registered_in(self, osv: OSV) -> str: ...
        def _save_with_ruos_number(self, osv: OSV, ruos_number: str, municipality_id: str, scope: MunicipalScope = ALL_LIMA) -> None: ...

    @retried_on_collision
    def correct_osv_name(
        self,
        osv_id: UUID,
        name: str,
        corrected_on: date,
        distinct_from: Iterable[UUID] = (),
        scope: MunicipalScope = ALL_LIMA,
        expected: frozenset[int] | None = None,
    ) -> OSV:
        """The OSV's name, corrected (records ``OSVNameCorrected``; nothing when it is its name already): 404 outside
        ``scope``; 422 ``name_has_letters``; 409 ``osv_not_merged`` on a record merged into another; 409
        ``possible_duplicate`` when another OSV of the district has that name, one very like it or one that is it with words
        added or left out (``distinct_from``:
        those staff say are other organisations, recorded in the event and kept on the OSV, as a mapping's), as for a
        mapping. The district's roll takes the new name, and keeps the one before as a name of this OSV (a new OSV of that
        name is a possible duplicate of it). 412 ``current_version`` when ``expected`` (an ``If-Match``'s versions) does
        not name the OSV's version (:func:`shared.preconditions.check_version`)."""
        check_name(name)
        osv = self.get_osv(osv_id, scope)
        check_version("the OSV", osv.version, expected)
        distinct = [i for i in dict.fromkeys(distinct_from) if i != osv.id]
        if not osv.correct_name(name, corrected_on, distinct):
            return osv
        roll = self.district_roll(osv.district)
        roll.check_new(name, [*distinct, osv.id], self.survivor_of, correcting=osv.id)
        if (former := roll.entries.get(osv.id)) is not None:
            roll.keep_former(osv.id, former)
        roll.correct_name(osv.id, name)
        self.save(osv, roll)
        return osv

    @retried_on_collision
    def correct_mapping_date(
        self, osv_id: UUID, mapped_on: date, corrected_on: date, scope: MunicipalScope = ALL_LIMA, expected: frozenset[int] | None = None
    ) -> OSV:
        """The day the OSV was mapped, corrected (records ``OSVMappingDateCorrected``; nothing when it is that day already):
        404 outside ``scope``; 409 ``osv_not_merged`` on a record merged into another; 422 ``not_after_<field>`` for a day
        after the first of what registry holds of it (:meth:`~services.registry.domain.mappingdates.MappingDateCorrections.correct_mapping_date`,
        the records merged into it included); 422 for a day the programme records no fact on (:mod:`shared.dates`); 412
        ``current_version`` when ``expected`` (an ``If-Match``'s versions) does not name the OSV's version."""
        osv = self.get_osv(osv_id, scope)
        check_version("the OSV", osv.version, expected)
        if osv.correct_mapping_date(mapped_on, corrected_on, self.merged_in_days(osv)):
            self.save(osv)
        return osv

    @retried_on_collision
    def correct_ruos_registration(
        self,
        osv_id: UUID,
        corrected_on: date,
        ruos_number: str | None = None,
        registered_on: date | None = None,
        resolution_number: str | None = None,
        board_term_ends_on: date | None = None,
        cleared: Iterable[str] = (),
        recorder: RecordingScope = ANY_RECORDER,
        expected: frozenset[int] | None = None,
    ) -> OSV:
        """The OSV's registration in the RUOS, corrected (records ``RUOSRegistrationCorrected``): the values given (None:
        not given), and ``cleared`` (``resolution_number``, ``board_term_ends_on``: given null) made none.

        As recording the registration: 404 for an OSV out of the ``recorder``'s reach; 403 ``own_municipality_ruos``
        when it does not record for the RUOS that holds it; 409 ``osv_not_merged`` (naming the OSV it went to) on a record
        merged into another; 409 ``registered_in_ruos`` for an OSV not registered. 422
        ``change_required`` when nothing given differs, and the day rules of
        :meth:`~services.registry.domain.ruoscorrections.RegistrationCorrections.correct_registration`; the dates meet
        the one date rule (:mod:`shared.dates`). A corrected number another OSV holds in that RUOS is 409
        ``ruos_number_unique`` (:meth:`_save_with_ruos_number`); the number typed wrong is free from then on. 412
        ``current_version`` when ``expected`` (an ``If-Match``'s versions) does not name the OSV's version."""
        given = {"ruos_number": ruos_number, "registered_on": registered_on, "resolution_number": resolution_number,
                 "board_term_ends_on": board_term_ends_on}
        changes = {**{name: value for name, value in given.items() if value is not None}, **dict.fromkeys(cleared)}

        def registered_in(osv: OSV) -> str:
            osv.check_not_merged()  # 409 osv_not_merged naming the survivor, before "not registered" (a duplicate never is)
            osv.registration()  # 409 registered_in_ruos, saying what was asked
            return self._ruos_registered_in(osv)

        osv, municipality_id = self._recording_in_ruos(osv_id, recorder, "the correction of this OSV's registration", registered_in)
        check_version("the OSV", osv.version, expected)
        previous = osv.ruos_number
        corrected = osv.correct_registration(changes, corrected_on, municipality_id)
        number = osv.ruos_number
        if "ruos_number" in corrected and number is not None and previous is not None and ruos_number_key(number) != ruos_number_key(previous):
            self._save_with_ruos_number(osv, number, municipality_id, recorder.reaches)
        else:  # the same number retyped: the OSV's claim holds it still
            self.save(osv)
        return osv
