"""The XLSForms staff deploy on KoboToolbox or ODK: valid for pyxform, bilingual, and current with the APIs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyxform.xls2xform import convert

from devtools import xlsforms
from services.imports.forms import Form
from shared.districts import DistrictTable

SHIPPED = sorted(xlsforms.FORMS_DIR.glob("*.xlsx"))
LABELS = (f"label::{xlsforms.ES}", f"label::{xlsforms.EN}")


def test_the_four_forms_are_shipped() -> None:
    assert [p.name for p in SHIPPED] == ["osv_activity.xlsx", "osv_mapping.xlsx", "osv_meeting.xlsx", "osv_members.xlsx"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_each_form_converts_with_pyxform_without_a_warning(path: Path) -> None:
    result = convert(xlsform=str(path), validate=False)

    assert result.warnings == []
    assert "<h:html" in result.xform and 'lang="English (en)"' in result.xform and 'lang="Español (es)"' in result.xform


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_question_and_choice_is_labelled_in_spanish_and_english(path: Path) -> None:
    sheets = xlsforms.read(path)
    for sheet in ("survey", "choices"):
        header, *rows = sheets[sheet]
        columns = [header.index(label) for label in LABELS]
        for row in rows:
            if sheet == "survey" and (str(row[0]).startswith("end_") or row[0] in ("start", "end")):
                continue
            assert all(str(row[c]).strip() for c in columns), row


def test_the_shipped_forms_are_what_the_generator_makes_from_the_apis_today() -> None:
    assert xlsforms.stale() == [], "run `make forms` and commit services/imports/xlsforms/"


def test_a_value_an_api_takes_that_the_labels_do_not_name_stops_the_generator() -> None:
    enumerations = xlsforms.api_enumerations()
    enumerations["engagement"]["Sex"] = [*enumerations["engagement"]["Sex"], "N"]

    with pytest.raises(xlsforms.StaleLabelsError, match="Sex"):
        xlsforms.choice_rows("sexes", enumerations)


def test_choices_are_the_apis_values_and_every_district_is_one_the_api_takes() -> None:
    enumerations = xlsforms.api_enumerations()
    members = Form.load(xlsforms.FORMS_DIR / "osv_members.xlsx")
    activity = Form.load(xlsforms.FORMS_DIR / "osv_activity.xlsx")

    assert list(members.choices["document_types"]) == enumerations["engagement"]["DocumentType"]
    assert list(activity.choices["output_kinds"]) == enumerations["engagement"]["OutputKind"]
    districts = activity.choices["districts"]
    table = DistrictTable.of_lima()
    assert len(districts) == 43
    assert {table.find(ubigeo).name for ubigeo in districts} == {d.name for d in table.districts}
    assert list(members.choices["nationalities"])[:2] == ["VE", "PE"] and len(members.choices["nationalities"]) == 249
    assert members.choices["nationalities"]["VE"] == ("Venezuela, República Bolivariana de", "Venezuela")


@pytest.mark.parametrize(("form", "question"), [("osv_meeting", "notas"), ("osv_activity", "descripcion")])
def test_a_free_text_question_tells_the_promoter_in_both_languages_not_to_write_anyones_personal_data(form: str, question: str) -> None:
    header, *rows = xlsforms.read(xlsforms.FORMS_DIR / f"{form}.xlsx")["survey"]
    row = next(r for r in rows if r[header.index("name")] == question)
    hint_es, hint_en = (str(row[header.index(f"hint::{language}")]) for language in (xlsforms.ES, xlsforms.EN))

    for word in ("nombres", "documento", "teléfonos", "salud", "situación migratoria"):
        assert word in hint_es, (word, hint_es)
    for word in ("name", "document number", "phone", "health", "migration status"):
        assert word in hint_en, (word, hint_en)


def test_the_members_form_refuses_a_peruvian_with_a_foreigners_document_on_the_phone() -> None:
    """Tester 262 F5: engagement refuses PE with a CE, PTP, CPP or asylum claim's (422 `document_for_foreigners`); the
    form says it where it is typed, in the promoter's language, before the submission is sent."""
    xform = convert(xlsform=str(xlsforms.FORMS_DIR / "osv_members.xlsx"), validate=False).xform
    [bind] = [line for line in xform.splitlines() if "/miembros/nacionalidad" in line and "<bind" in line]
    assert "constraint=" in bind and all(f"= '{kind}'" in bind for kind in ("CE", "PTP", "CPP", "SOLICITANTE_REFUGIO")), bind
    assert "= 'DNI'" not in bind and "'CEDULA_VE'" not in bind
    assert "es de extranjeros" in xform and "is a foreigner's" in xform


def test_the_forms_built_for_another_districts_file_offer_its_districts_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A programme in Trujillo gives its services a districts file of its own; its promoters' forms offered Lima's 43
    districts, and `make forms` could build no other (tester 314 F7)."""
    rows = [
        {"ubigeo": "130101", "name": "Trujillo", "zone": "Trujillo Centro"},
        {"ubigeo": "130102", "name": "El Porvenir", "zone": "Trujillo Este"},
        {"ubigeo": "130105", "name": "La Esperanza", "zone": "Trujillo Norte"},
    ]
    districts_file = tmp_path / "trujillo.json"
    districts_file.write_text(json.dumps({"districts": rows}), "utf-8")
    out = tmp_path / "forms"

    assert xlsforms.main(["--districts-file", str(districts_file), "--out", str(out)]) == 0

    assert sorted(p.name for p in out.glob("*.xlsx")) == [p.name for p in SHIPPED]
    for form in ("osv_mapping", "osv_activity"):
        districts = Form.load(out / f"{form}.xlsx").choices["districts"]
        assert dict(districts) == {"130101": ("Trujillo", "Trujillo"), "130102": ("El Porvenir", "El Porvenir"),
                                   "130105": ("La Esperanza", "La Esperanza")}
        assert convert(xlsform=str(out / f"{form}.xlsx"), validate=False).warnings == []
    assert xlsforms.stale() == []  # the shipped forms are still Lima's

    with pytest.raises(SystemExit) as refused:  # never into the shipped folder
        xlsforms.main(["--write", "--districts-file", str(districts_file)])
    assert refused.value.code == 2 and "--out" in capsys.readouterr().err

    rows[2]["ubigeo"] = "130102"  # La Esperanza given El Porvenir's: its choice would be El Porvenir's (tester 314 F3)
    districts_file.write_text(json.dumps({"districts": rows}), "utf-8")
    with pytest.raises(SystemExit) as refused:
        xlsforms.main(["--districts-file", str(districts_file), "--out", str(tmp_path / "again")])
    said = capsys.readouterr().err.splitlines()[-1]
    assert refused.value.code == 2 and said.endswith(
        f"--districts-file {districts_file}: the districts 'El Porvenir' and 'La Esperanza' have one ubigeo, 130102: each district has its own"
    ), said
    assert not (tmp_path / "again").exists()
