"""An OSV's registration in the RUOS corrected, without any I/O: what it changes, what it refuses, what it publishes."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from services.registry.domain.osvs import OSV, NotAfterError
from services.registry.domain.ruos import NotRegisteredError
from services.registry.domain.ruoscorrections import (
    NotClearableError,
    RegisteredAfterError,
    RegistrationUnchangedError,
    TermNotAfterRegistrationError,
)
from services.registry.events import catalogue
from shared.errors import DateBeforeError, OSVDissolvedError, OSVMergedError

ALL_DOCUMENTS = ["acta_constitucion", "estatuto", "acta_aprobacion_estatuto", "acta_eleccion_junta_directiva",
                 "nomina_junta_directiva", "padron_socios", "croquis"]
TODAY = date(2021, 8, 2)


def registered(through_application: bool = True) -> tuple[OSV, UUID | None]:
    """An OSV of San Juan de Lurigancho mapped on 2021-03-15, registered on 2021-06-30 as RUOS-SJL-2021-0007 (its board's
    term to 2023-06-30): through its application of 2021-06-14, observed on 2021-06-18 and amended on 2021-06-21, or directly."""
    osv = OSV(name="Vecinos Solidarios de Zárate", district="San Juan de Lurigancho", zone="Lima Este", mapped_on=date(2021, 3, 15), kind=None)
    if not through_application:
        osv.register_in_ruos("RUOS-SJL-2021-0007", date(2021, 6, 30), "RG-101-2021", date(2023, 6, 30), municipality_id="150132")
        return osv, None
    application_id = osv.submit_application("150132", date(2021, 6, 14), ALL_DOCUMENTS, 0, 0)
    osv.observe_application(application_id, date(2021, 6, 18), [{"code": "signatures_missing"}], 5)
    osv.amend_application(application_id, date(2021, 6, 21), [])
    osv.register_application(application_id, date(2021, 6, 30), "RUOS-SJL-2021-0007", "RG-101-2021", date(2023, 6, 30))
    return osv, application_id


def test_a_mistyped_number_is_corrected_on_the_osv_and_the_application_it_closed() -> None:
    osv, application_id = registered()
    assert osv.correct_registration({"ruos_number": "RUOS-SJL-2021-0070"}, TODAY, "150132") == ["ruos_number"]
    assert osv.ruos_number == osv.find_application(application_id).ruos_number == "RUOS-SJL-2021-0070"  # type: ignore[arg-type]
    assert (osv.registered_on, osv.resolution_number, osv.board_term_ends_on) == (date(2021, 6, 30), "RG-101-2021", date(2023, 6, 30))


def test_the_correction_is_published_with_every_value_before_and_after_and_whose_ruos_it_is() -> None:
    osv, application_id = registered()
    osv.collect_events()
    osv.correct_registration({"registered_on": date(2021, 7, 5), "resolution_number": None}, TODAY, "150132")
    (event,) = [catalogue.to_cloudevent(1, e) for e in osv.collect_events()]
    assert event is not None and event["type"] == "RUOSRegistrationCorrected"
    assert event["data"] == {
        "occurred_on": "2021-08-02", "osv_id": str(osv.id), "corrected": ["registered_on", "resolution_number"],
        "ruos_number": "RUOS-SJL-2021-0007", "registered_on": "2021-07-05", "resolution_number": None, "board_term_ends_on": "2023-06-30",
        "previous_ruos_number": "RUOS-SJL-2021-0007", "previous_registered_on": "2021-06-30", "previous_resolution_number": "RG-101-2021",
        "previous_board_term_ends_on": "2023-06-30", "municipality_id": "150132", "application_id": str(application_id),
        "corrected_on": "2021-08-02",
    }


def test_nothing_different_or_a_number_cleared_is_refused() -> None:
    osv, _ = registered()
    with pytest.raises(RegistrationUnchangedError):
        osv.correct_registration({}, TODAY, "150132")
    with pytest.raises(RegistrationUnchangedError):
        osv.correct_registration({"ruos_number": "RUOS-SJL-2021-0007", "board_term_ends_on": date(2023, 6, 30)}, TODAY, "150132")
    with pytest.raises(NotClearableError):
        osv.correct_registration({"registered_on": None}, TODAY, "150132")
    assert not osv.collect_events()[5:]  # mapped, submitted, observed, amended, registered: nothing more


def test_a_registrations_day_keeps_to_the_application_the_mapping_and_the_term() -> None:
    osv, _ = registered()
    with pytest.raises(DateBeforeError) as before_amendment:
        osv.correct_registration({"registered_on": date(2021, 6, 20)}, TODAY, "150132")
    assert (before_amendment.value.field, before_amendment.value.rule) == ("registered_on", "not_before_amended_on")
    with pytest.raises(TermNotAfterRegistrationError):
        osv.correct_registration({"registered_on": date(2023, 6, 30)}, TODAY, "150132")
    with pytest.raises(NotAfterError):
        osv.correct_registration({"board_term_ends_on": date(2021, 6, 30)}, TODAY, "150132")
    # both typed wrong: corrected at once
    osv.correct_registration({"registered_on": date(2021, 7, 1), "board_term_ends_on": date(2023, 7, 1)}, TODAY, "150132")
    assert (osv.registered_on, osv.board_term_ends_on) == (date(2021, 7, 1), date(2023, 7, 1))

    direct, _ = registered(through_application=False)
    with pytest.raises(DateBeforeError) as before_mapping:
        direct.correct_registration({"registered_on": date(2021, 3, 14)}, TODAY, "150132")
    assert before_mapping.value.rule == "not_before_mapped_on"
    direct.correct_registration({"registered_on": date(2021, 3, 15)}, TODAY, "150132")  # a direct one has no application to follow


def test_a_renewed_board_keeps_its_term_and_bounds_the_registrations_day() -> None:
    osv, _ = registered()
    osv.renew_board(date(2021, 7, 10), date(2023, 7, 10))
    osv.renew_board(date(2021, 7, 20), date(2023, 7, 20))
    with pytest.raises(RegisteredAfterError) as after_renewal:
        osv.correct_registration({"registered_on": date(2021, 7, 11)}, TODAY, "150132")  # the first renewal bounds it
    assert after_renewal.value.rule == "not_after_board_renewed_on" and "2021-07-10" in str(after_renewal.value)
    osv.correct_registration({"board_term_ends_on": date(2023, 6, 29)}, TODAY, "150132")
    assert osv.board_term_ends_on == date(2023, 7, 20)  # the renewal's term stays in force
    assert osv.registration()["board_term_ends_on"] == date(2023, 6, 29)


def test_only_a_registered_osv_of_its_own_record_has_its_registration_corrected() -> None:
    unregistered = OSV(name="Club de Madres", district="Comas", zone="Lima Norte", mapped_on=date(2021, 3, 15), kind=None)
    with pytest.raises(NotRegisteredError):
        unregistered.correct_registration({"ruos_number": "RUOS-1"}, TODAY, "150110")

    dissolved, _ = registered()
    dissolved.dissolve(date(2021, 7, 15), "inactive")
    with pytest.raises(OSVDissolvedError):
        dissolved.correct_registration({"registered_on": date(2021, 7, 16)}, TODAY, "150132")
    dissolved.correct_registration({"ruos_number": "RUOS-SJL-2021-0070"}, TODAY, "150132")  # a dissolved OSV's record is corrected

    duplicate, _ = registered(through_application=False)
    duplicate.merged_into, duplicate.merged_on = UUID(int=1), date(2021, 7, 1)  # as a merge stored before registered OSVs were kept apart
    with pytest.raises(OSVMergedError):
        duplicate.correct_registration({"ruos_number": "RUOS-SJL-2021-0070"}, TODAY, "150132")
