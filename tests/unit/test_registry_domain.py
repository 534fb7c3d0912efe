"""Registry's rules, without any I/O."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources

import pytest

from services.registry.domain.osvs import OSV, RegisteredBeforeMappedError
from services.registry.domain.ruos import AlreadyRegisteredError
from shared.districts import DistrictNotInForceError, DistrictTable, UnknownDistrictError
from shared.errors import OSVMergedError

LIMA = DistrictTable.of_lima()


def mapped_osv() -> OSV:
    return OSV(name="Unidos por Breña", district="Breña", zone="Lima Centro", mapped_on=date(2021, 3, 1), kind=None)


def test_lima_metropolitana_has_43_districts_in_four_zones() -> None:
    assert len(LIMA.districts) == 43
    assert LIMA.zones == ["Lima Centro", "Lima Este", "Lima Norte", "Lima Sur"]


@pytest.mark.parametrize(
    ("typed", "district", "zone"),
    [
        ("Brena", "Breña", "Lima Centro"),
        ("  SAN JUAN DE   lurigancho ", "San Juan de Lurigancho", "Lima Este"),
        ("villa maria del triunfo", "Villa María del Triunfo", "Lima Sur"),
        ("Cercado de Lima", "Lima", "Lima Centro"),
        ("SMP", "San Martín de Porres", "Lima Norte"),
        ("Rimac", "Rímac", "Lima Centro"),
    ],
)
def test_a_district_is_found_ignoring_case_accents_and_spacing(typed: str, district: str, zone: str) -> None:
    found = LIMA.find(typed)
    assert (found.name, found.zone) == (district, zone)


def test_a_district_is_found_by_its_ubigeo_as_the_field_forms_send_it() -> None:
    assert LIMA.find("150132").name == "San Juan de Lurigancho"
    assert LIMA.find(" 150105 ").name == "Breña"
    with pytest.raises(UnknownDistrictError):
        LIMA.find("070101")  # Callao's: not a district of Lima Metropolitana


@pytest.mark.parametrize(
    ("typed", "ubigeo", "district"),
    [
        ("LIMA CERCADO", "150101", "Lima"),  # the MML's registers
        ("EL RIMAC", "150128", "Rímac"),  # with the article
        ("Agustino", "150111", "El Agustino"),  # without it
        ("MAGDALENA VIEJA", "150121", "Pueblo Libre"),  # the district's historic name
        ("SAN MARTIN DE PORRAS", "150135", "San Martín de Porres"),  # the usual misspelling
        ("Carabaillo", "150106", "Carabayllo"),
        ("Chorrillo", "150108", "Chorrillos"),  # a letter short, as the field writes it: an alias
        ("Distrito de Breña", "150105", "Breña"),
        ("Municipalidad Distrital de Los Olivos", "150117", "Los Olivos"),
        ("Lurigancho - Chosica", "150118", "Lurigancho"),
    ],
)
def test_official_registry_and_historic_spellings_and_common_misspellings_find_the_district(typed: str, ubigeo: str, district: str) -> None:
    found = LIMA.find(typed)
    assert (found.ubigeo, found.name) == (ubigeo, district)


def test_a_near_miss_close_to_two_districts_is_not_guessed() -> None:
    with pytest.raises(UnknownDistrictError):
        LIMA.find("San Martin")  # neither San Martín de Porres nor San Miguel: it is not a guess


def test_the_district_list_is_reference_data_with_its_source_and_a_district_created_later_is_added_as_data() -> None:
    assert LIMA.source and "INEI" in LIMA.source
    assert LIMA.effective_on == date(2020, 1, 1)
    text = json.loads(resources.files("shared").joinpath("data/districts.json").read_text("utf-8"))
    text["districts"].append(
        {"ubigeo": "150144", "name": "Distrito Nuevo", "zone": "Lima Este", "valid_from": "2027-01-01",
         "created_by": "Ley N.º 99999", "aliases": ["Nuevo"]}
    )
    with_new = DistrictTable.from_json(json.dumps(text))

    assert with_new.find("150144").name == "Distrito Nuevo"
    assert len(with_new.in_force(date(2026, 12, 31))) == 43 and len(with_new.in_force(date(2027, 1, 1))) == 44
    with pytest.raises(DistrictNotInForceError) as refused:
        with_new.find("Nuevo", on=date(2026, 6, 1))  # mapped before the law took effect
    assert (refused.value.field, refused.value.rule) == ("district", "district_in_force")


def test_a_place_outside_lima_metropolitana_is_refused_naming_the_field() -> None:
    with pytest.raises(UnknownDistrictError) as refused:
        LIMA.find("Callao")
    assert refused.value.field == "district"


def test_a_mapped_osv_starts_unregistered_and_registers_once() -> None:
    osv = mapped_osv()
    assert osv.ruos_status == "unregistered"
    osv.register_in_ruos("RUOS-0042", date(2021, 6, 1), municipality_id="mml")
    assert (osv.ruos_status, osv.ruos_number, osv.registered_on) == ("registered", "RUOS-0042", date(2021, 6, 1))
    with pytest.raises(AlreadyRegisteredError):
        osv.register_in_ruos("RUOS-0043", date(2021, 7, 1), municipality_id="mml")
    assert osv.ruos_number == "RUOS-0042"


def test_a_registration_dated_before_the_mapping_is_refused() -> None:
    osv = mapped_osv()
    with pytest.raises(RegisteredBeforeMappedError) as refused:
        osv.register_in_ruos("RUOS-0042", date(2021, 2, 28), municipality_id="mml")
    assert refused.value.field == "registered_on"
    assert osv.ruos_status == "unregistered"


def test_a_registration_on_the_day_of_mapping_is_accepted() -> None:
    osv = mapped_osv()
    osv.register_in_ruos("RUOS-0042", date(2021, 3, 1), municipality_id="mml")
    assert osv.ruos_status == "registered"


def test_one_date_rule_for_every_date_a_command_carries() -> None:
    from dataclasses import dataclass
    from datetime import date

    from shared.dates import DateRule, check_dates
    from shared.errors import RuleViolationError

    @dataclass
    class Item:
        due_on: date

    rule = DateRule(today=date(2025, 6, 15), earliest=date(2000, 1, 1))
    check_dates(rule, {"held_on": date(2025, 6, 16), "items": [Item(date(2035, 6, 1))], "name": "x"})  # a day's margin; a plan ahead
    for arguments, field, code in (
        ({"held_on": date(2025, 6, 17)}, "held_on", "not_in_future"),
        ({"mapped_on": date(1999, 12, 31)}, "mapped_on", "not_before_earliest_date"),
        ({"items": [Item(date(2025, 7, 1)), Item(date(2099, 1, 1))]}, "items.1.due_on", "within_planning_horizon"),
        ({"changes": {"since": date(9999, 12, 31)}}, "changes.since", "not_in_future"),
    ):
        with pytest.raises(RuleViolationError) as refused:
            check_dates(rule, arguments)
        assert (refused.value.field, refused.value.rule) == (field, code)


# A district's roll of names --------------------------------------------------------------


def test_a_roll_checks_a_new_name_folding_only_that_name_and_still_finds_its_duplicates(monkeypatch: pytest.MonkeyPatch) -> None:
    from uuid import uuid4

    from services.registry.domain import duplicates
    from services.registry.domain.duplicates import DistrictRoll, PossibleDuplicateError

    first, merged = uuid4(), uuid4()
    roll = DistrictRoll(district="San Juan de Lurigancho", entries={str(first): "Asociación de Vecinos Unidos por Zárate"})
    for n in range(50):
        roll.add(uuid4(), f"Comedor Popular N.º {n}")
    roll.add(merged, "Club de Madres Las Flores")
    roll.unlist(merged)

    folded: list[str] = []
    plain_key = duplicates.name_key
    monkeypatch.setattr(duplicates, "name_key", lambda name: folded.append(name) or plain_key(name))

    with pytest.raises(PossibleDuplicateError) as refused:
        roll.check_new("ASOCIACION DE VECINOS UNIDOS POR ZARATE")
    assert [d.osv_id for d in refused.value.duplicates] == [first]
    roll.check_new("Club de Madres Las Flores")  # left the roll when it was merged
    roll.check_new("Asociación de Vecinos Unidos por Zárate", distinct_from=[first])
    assert folded == ["ASOCIACION DE VECINOS UNIDOS POR ZARATE", "Club de Madres Las Flores", "Asociación de Vecinos Unidos por Zárate"]


def test_a_roll_read_back_from_its_snapshot_or_its_events_keeps_its_folded_names() -> None:
    from uuid import uuid4

    from services.registry.domain.duplicates import DistrictRoll, name_key
    from shared.kept import KeptSnapshot, project_events

    roll = DistrictRoll(district="Comas", entries={str(uuid4()): "Mujeres Emprendedoras"})
    roll.add(uuid4(), "Vecinos de Collique")
    events = roll.collect_events()

    replayed = project_events(None, events)
    restored = KeptSnapshot.take(replayed).mutate(None)

    for read in (replayed, restored):
        assert read.keys == {osv_id: name_key(name) for osv_id, name in roll.entries.items()}


def test_an_osvs_name_is_corrected_once_and_not_on_a_record_merged_into_another() -> None:
    osv = OSV(name="Comite Vecinal Los Jasmines", district="Comas", zone="Lima Norte", mapped_on=date(2021, 3, 1), kind=None)
    osv.collect_events()
    assert osv.correct_name("Comité Vecinal Los Jazmines", date(2021, 8, 2))
    assert not osv.correct_name("Comité Vecinal Los Jazmines", date(2021, 8, 3))  # its name already: nothing recorded
    (corrected,) = osv.collect_events()
    assert (type(corrected).__qualname__, corrected.previous_name, corrected.name) == (
        "OSV.OSVNameCorrected", "Comite Vecinal Los Jasmines", "Comité Vecinal Los Jazmines"
    )
    survivor = OSV(name="Comité Vecinal Los Jazmines (2)", district="Comas", zone="Lima Norte", mapped_on=date(2021, 3, 1), kind=None)
    osv.merge_into(survivor, date(2021, 9, 1))
    with pytest.raises(OSVMergedError) as refused:
        osv.correct_name("Otro", date(2021, 9, 2))
    assert (refused.value.field, refused.value.rule) == ("osv_id", "osv_not_merged")
