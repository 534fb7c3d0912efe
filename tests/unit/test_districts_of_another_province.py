"""Another programme's districts file gets the guard Lima's table has, and its refusals name its own area (tester 314 F6,
F8).

With Trujillo's zones, "Zona Trujillo Norte", "Trujillo Oeste" and "Trujillo Metropolitano" were answered "did you mean
Trujillo (130101)?", which sends a zone's OSV to the Cercado of Trujillo, as "Lima Norte" once sent one of Comas to
Lima's (tester 171 F7); and every refusal said "Lima Metropolitana".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.districts import (
    DistrictsFileError,
    DistrictTable,
    UnknownDistrictError,
    UnknownZoneError,
    ZoneNotDistrictError,
)

AREA = "Provincia de Trujillo"


def trujillo(**fields: Any) -> dict[str, Any]:
    """Four of Trujillo's districts, one in each of the programme's zones, of the area :data:`AREA`."""
    return {
        "area": AREA,
        "source": "INEI, Codificación de Ubigeo, provincia de Trujillo (1301)",
        "districts": [
            {"ubigeo": "130101", "name": "Trujillo", "zone": "Trujillo Centro", "aliases": ["Cercado de Trujillo"]},
            {"ubigeo": "130102", "name": "El Porvenir", "zone": "Trujillo Este"},
            {"ubigeo": "130105", "name": "La Esperanza", "zone": "Trujillo Norte"},
            {"ubigeo": "130107", "name": "Moche", "zone": "Trujillo Sur"},
        ],
    } | fields


@pytest.fixture
def write(tmp_path: Path):
    def table(document: dict[str, Any]) -> DistrictTable:
        path = tmp_path / "districts.json"
        path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
        return DistrictTable.of_lima(path, setting="REGISTRY_DISTRICTS_FILE")

    return table


def refused(table: DistrictTable, given: str) -> UnknownDistrictError:
    with pytest.raises(UnknownDistrictError) as error:
        table.find(given)
    assert error.value.rule == "lima_district"
    return error.value


def test_a_zones_name_with_words_around_it_is_a_zone_not_a_near_miss_of_the_provinces_district(write) -> None:
    said = refused(write(trujillo()), "Zona Trujillo Norte")
    assert isinstance(said, ZoneNotDistrictError), str(said)
    assert str(said).startswith(
        f"'Zona Trujillo Norte' is not a district of {AREA}, and near its zone Trujillo Norte: give the district, by its "
        "name or its INEI ubigeo, one of La Esperanza (130105)"
    ), str(said)
    assert "did you mean" not in str(said)


@pytest.mark.parametrize("given", ["Trujillo Oeste", "Trujillo Metropolitano"])
def test_the_provinces_name_with_a_word_after_it_is_near_no_district_nor_zone(write, given: str) -> None:
    said = refused(write(trujillo()), given)
    assert not isinstance(said, ZoneNotDistrictError), str(said)
    assert str(said).startswith(f"'{given}' is not a district of {AREA} (a district's name"), str(said)


def test_a_near_miss_of_the_provinces_district_is_still_named(write) -> None:
    said = refused(write(trujillo()), "Trujilo")
    assert str(said).startswith(f"'Trujilo' is not a district of {AREA}: did you mean Trujillo (130101)? Give its name as written")


def test_a_zones_name_and_an_unknown_zone_are_refused_naming_the_files_area(write) -> None:
    table = write(trujillo())
    said = refused(table, "trujillo norte")
    assert str(said).startswith(f"'trujillo norte' is a zone of {AREA} (Trujillo Norte), not a district"), str(said)
    with pytest.raises(UnknownZoneError) as zone:
        table.zone("Trujillo Oeste")
    assert zone.value.rule == "lima_zone"
    assert str(zone.value) == (
        f"'Trujillo Oeste' is not a zone of {AREA}: one of Trujillo Centro, Trujillo Este, Trujillo Norte, Trujillo Sur"
    )


def test_a_file_that_names_no_area_is_of_lima_metropolitana_as_the_shipped_one_says(write) -> None:
    document = trujillo()
    del document["area"]
    said = refused(write(document), "Trujillo Oeste")
    assert str(said).startswith("'Trujillo Oeste' is not a district of Lima Metropolitana ("), str(said)
    assert DistrictTable.of_lima().area == "Lima Metropolitana"


def test_an_area_without_a_letter_is_refused_naming_the_field(write) -> None:
    with pytest.raises(DistrictsFileError, match="'area' is refused: .*it has no letter or digit"):
        write(trujillo(area=" - "))
