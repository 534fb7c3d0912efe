"""A districts file (``<SERVICE>_DISTRICTS_FILE``) is checked before it is used: refused in one line naming the setting,
the file, the district, the field and the rule (tester 314 F3).

Another programme writes its own file. One giving La Esperanza El Porvenir's ubigeo by mistake was taken: registry
placed El Porvenir's OSVs and ubigeo look-ups under La Esperanza, and the 130102 partner received La Esperanza's
events. One with a district missing its zone crashed ``make run`` with a traceback (``KeyError: 'zone'``).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from devtools.nats_accounts import municipalities
from services.engagement.settings import EngagementSettings
from services.funding.settings import FundingSettings
from services.registry.settings import RegistrySettings
from services.reporting.settings import ReportingSettings
from shared.districts import AmbiguousDistrictError, DistrictsFileError, DistrictTable
from shared.settings import refused_setting

SETTING = "REGISTRY_DISTRICTS_FILE"


def trujillo() -> dict[str, Any]:
    """A programme's own file, as tester 314 wrote it (three of Trujillo's districts)."""
    return {
        "source": "INEI, Codificación de Ubigeo, provincia de Trujillo (1301)",
        "effective_on": "2020-01-01",
        "ambiguous": [],
        "districts": [
            {"ubigeo": "130101", "name": "Trujillo", "zone": "Trujillo Centro", "aliases": ["Cercado de Trujillo"]},
            {"ubigeo": "130102", "name": "El Porvenir", "zone": "Trujillo Este", "aliases": []},
            {"ubigeo": "130105", "name": "La Esperanza", "zone": "Trujillo Norte", "aliases": []},
        ],
    }


def refusal(tmp_path: Path, document: Any) -> str:
    """The one line the loader refuses ``document`` (written to a file) with, as a service given it as ``REGISTRY_DISTRICTS_FILE``."""
    path = tmp_path / "districts.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document, ensure_ascii=False), "utf-8")
    with pytest.raises(DistrictsFileError) as refused:
        DistrictTable.of_lima(path, setting=SETTING)
    said = str(refused.value)
    assert said.startswith(f"{SETTING} is refused: the districts file {path}: ") and "\n" not in said, said
    return said.removeprefix(f"{SETTING} is refused: the districts file {path}: ")


def test_a_programmes_own_file_that_keeps_the_rules_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "districts.json"
    path.write_text(json.dumps(trujillo()), "utf-8")
    table = DistrictTable.of_lima(path, setting=SETTING)
    assert [d.ubigeo for d in table.districts] == ["130101", "130102", "130105"]
    assert table.find("Cercado de Trujillo").name == "Trujillo" and table.find("130102").name == "El Porvenir"


def test_the_shipped_file_keeps_every_rule() -> None:
    text = resources.files("shared").joinpath("data/districts.json").read_text("utf-8")
    assert len(DistrictTable.from_json(text).districts) == 43


def test_two_districts_with_one_ubigeo_are_refused_naming_both(tmp_path: Path) -> None:
    document = trujillo()
    document["districts"][2]["ubigeo"] = "130102"  # La Esperanza given El Porvenir's ubigeo
    assert refusal(tmp_path, document) == "the districts 'El Porvenir' and 'La Esperanza' have one ubigeo, 130102: each district has its own"


@pytest.mark.parametrize("ubigeo", ["13010", "1301050", "13O105", "", "１３０１０５"])
def test_a_ubigeo_not_of_six_digits_is_refused_naming_the_district(tmp_path: Path, ubigeo: Any) -> None:
    """Digits 0-9: full-width ones passed the check, and nats-server's start then died with a traceback (tester 318 F2)."""
    document = trujillo()
    document["districts"][2]["ubigeo"] = ubigeo
    said = refusal(tmp_path, document)
    assert said.startswith(f"the district 'La Esperanza' has the ubigeo {ubigeo!r}, not six digits 0-9"), said


def test_a_ubigeo_written_as_a_number_is_told_to_be_written_as_a_string(tmp_path: Path) -> None:
    """It is six digits: "not six digits" was no help (tester 318)."""
    document = trujillo()
    document["districts"][2]["ubigeo"] = 130105
    said = refusal(tmp_path, document)
    assert said.startswith("the district 'La Esperanza' has the ubigeo 130105, not a string: write it in quotes"), said


@pytest.mark.parametrize("ubigeo", ["000000", "260101", "130005", "130100"])
def test_six_digits_that_name_no_district_are_refused(tmp_path: Path, ubigeo: str) -> None:
    """A department 01-25, a province and a district not 00: ``000000`` and the province's ``130100`` were taken (tester 318 F2)."""
    document = trujillo()
    document["districts"][2]["ubigeo"] = ubigeo
    said = refusal(tmp_path, document)
    assert said.startswith(f"the district 'La Esperanza' has the ubigeo {ubigeo!r}: {ubigeo} is no district's ubigeo"), said


@pytest.mark.parametrize(("field", "value"), [("name", "Moche "), ("zone", "Trujillo Sur "), ("aliases", [" Cercado"])])
def test_a_name_zone_or_alias_with_spaces_around_it_is_refused(tmp_path: Path, field: str, value: Any) -> None:
    """"Trujillo Sur " was a zone of its own in reporting, whose evidence found nothing (tester 318 F1)."""
    document = trujillo()
    document["districts"][0][field] = value
    said = refusal(tmp_path, document)
    assert "it has spaces before or after it: remove them" in said and said.startswith("the district"), said


def test_a_key_no_districts_file_has_is_refused_naming_it(tmp_path: Path) -> None:
    """A misspelt ``ambigous`` was read as a file with no ambiguous names (tester 318)."""
    document = trujillo()
    document["ambigous"] = document.pop("ambiguous")
    said = refusal(tmp_path, document)
    assert said.startswith("it has the key 'ambigous', which no districts file has (its keys: districts, ambiguous"), said


def test_a_file_an_editor_began_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "districts.json"
    path.write_text("\ufeff" + json.dumps(trujillo()), "utf-8")
    assert DistrictTable.of_lima(path, setting=SETTING).find("130105").name == "La Esperanza"


@pytest.mark.parametrize("field", ["name", "ubigeo", "zone"])
def test_a_district_missing_a_required_field_is_refused_naming_it(tmp_path: Path, field: str) -> None:
    document = trujillo()
    del document["districts"][1][field]
    said = refusal(tmp_path, document)
    who = "the district 'El Porvenir'" if field != "name" else "district 2 of 'districts'"
    assert said == f"{who} has no {field} (every district has ubigeo, name, zone)", said


def test_a_misspelt_field_is_refused_rather_than_left_unread(tmp_path: Path) -> None:
    document = trujillo()
    document["districts"][0]["alias"] = document["districts"][0].pop("aliases")  # the aliases would be lost
    said = refusal(tmp_path, document)
    assert said.startswith("the district 'Trujillo' has the field 'alias', which no district has (its fields: ubigeo, name, zone"), said


def test_two_districts_with_one_name_are_refused(tmp_path: Path) -> None:
    document = trujillo()
    document["districts"][2]["name"] = "el porvenir"  # to a look-up, El Porvenir's name
    said = refusal(tmp_path, document)
    assert said.startswith("the name of 'el porvenir' (130105) is the name of 'El Porvenir' (130102) too"), said


@pytest.mark.parametrize("alias", ["Porvenir", "Cercado de Trujillo"])
def test_an_alias_that_is_another_districts_name_or_alias_is_refused(tmp_path: Path, alias: str) -> None:
    document = trujillo()
    document["districts"][2]["aliases"] = [alias]  # "Porvenir": El Porvenir's name without its article
    said = refusal(tmp_path, document)
    assert said.startswith(f"'{alias}', an alias of 'La Esperanza' (130105) is ") and "'ambiguous'" in said, said


def test_a_name_listed_as_ambiguous_on_purpose_is_no_error(tmp_path: Path) -> None:
    document = trujillo()
    document["ambiguous"] = [{"name": "Alto Trujillo", "districts": ["El Porvenir", "Trujillo"], "why": "before its own law"}]
    path = tmp_path / "districts.json"
    path.write_text(json.dumps(document), "utf-8")
    with pytest.raises(AmbiguousDistrictError, match="'Alto Trujillo' may be El Porvenir \\(130102\\) or Trujillo \\(130101\\)"):
        DistrictTable.of_lima(path).find("Alto Trujillo")


def test_an_ambiguous_name_listing_an_unknown_district_is_refused(tmp_path: Path) -> None:
    document = trujillo()
    document["ambiguous"] = [{"name": "Alto Trujillo", "districts": ["El Porvenir", "Florencia de Mora"]}]
    said = refusal(tmp_path, document)
    assert said.startswith("the ambiguous name 'Alto Trujillo' lists 'Florencia de Mora', which is no district's name in the file"), said


def test_an_ambiguous_name_that_is_a_districts_name_or_alias_is_refused(tmp_path: Path) -> None:
    document = trujillo()
    document["ambiguous"] = [{"name": "Cercado de Trujillo", "districts": ["El Porvenir", "Trujillo"]}]
    said = refusal(tmp_path, document)
    assert said.startswith("the ambiguous name 'Cercado de Trujillo' is 'Cercado de Trujillo', an alias of 'Trujillo' (130101)"), said


def test_a_file_that_is_not_json_or_not_there_is_refused_naming_it(tmp_path: Path) -> None:
    assert refusal(tmp_path, '{"districts": [').startswith("it is not JSON (")
    assert refusal(tmp_path, []) == "it is not a JSON object holding 'districts' (a list of districts)"
    assert refusal(tmp_path, {"districts": []}).startswith("'districts' is refused: List should have at least 1 item")
    with pytest.raises(DistrictsFileError, match=f"^{SETTING} is refused: the districts file {tmp_path}/none.json: it cannot be read"):
        DistrictTable.of_lima(tmp_path / "none.json", setting=SETTING)


@pytest.mark.parametrize("settings", [RegistrySettings, FundingSettings, EngagementSettings, ReportingSettings], ids=lambda c: c.__name__)
def test_each_services_settings_refuse_a_bad_file_in_one_line_naming_their_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: type
) -> None:
    """The line ``make run`` and a service started by uvicorn stop in (exit 2), before anything starts."""
    document = trujillo()
    del document["districts"][1]["zone"]
    path = tmp_path / "districts.json"
    path.write_text(json.dumps(document), "utf-8")
    variable = f"{settings.model_config['env_prefix']}DISTRICTS_FILE"
    monkeypatch.setenv(variable, str(path))
    with pytest.raises(ValidationError) as refused:
        settings()
    assert refused_setting(refused.value, [settings]) == (
        f"{variable} is refused: the districts file {path}: the district 'El Porvenir' has no zone (every district has ubigeo, name, zone)"
    )


def test_the_partners_municipalities_of_a_bad_file_are_refused_naming_registrys_variable(tmp_path: Path) -> None:
    """nats-server's start (its partner accounts) and ``add-partner`` read registry's file through :func:`municipalities`."""
    document = trujillo()
    document["districts"][2]["ubigeo"] = "130102"
    path = tmp_path / "districts.json"
    path.write_text(json.dumps(document), "utf-8")
    with pytest.raises(DistrictsFileError, match=f"^REGISTRY_DISTRICTS_FILE is refused: the districts file {path}: the districts"):
        municipalities(path)
    path.write_text(json.dumps(trujillo()), "utf-8")
    assert sorted(municipalities(path)) == ["130101", "130102", "130105", "mml"]
