"""The 3W/5W export: who, what, where by ubigeo, when and people reached, read back and validated by libhxl."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone

import hxl

from services.reporting import exports
from services.reporting.domain import threew
from shared.districts import DistrictTable, UnknownDistrictError
from tests.unit.test_indicators import fact, phase

GENERATED = datetime(2022, 2, 1, 15, tzinfo=timezone.utc)
LIMA = DistrictTable.of_lima()


def ubigeo_of(name: str) -> str | None:
    try:
        return LIMA.find(name).ubigeo
    except UnknownDistrictError:
        return None


def workshop(activity_id: str, day: str, district: str, *groups: tuple[str, str, int], indirect: int = 0) -> object:
    return fact("ActivityReported", day, activity_id=activity_id, osv_id="osv-1", kind="workshop", district=district, zone="Lima Este",
                grant_id="g1", indirect_beneficiaries=indirect,
                direct_beneficiaries=[{"nationality": n, "sex": s, "count": c} for n, s, c in groups], outputs=[])


FACTS = [
    phase("F1", "2021-01-01", "2021-06-30"),
    fact("OSVMapped", "2021-01-05", osv_id="osv-1", name="Mujeres Unidas de Breña", district="Breña", zone="Lima Centro"),
    workshop("a2", "2021-07-02", "Breña", ("VE", "F", 2)),
    workshop("a1", "2021-03-01", "San Juan de Lurigancho", ("VE", "F", 12), ("PE", "M", 5), ("CO", "X", 1), indirect=40),
    workshop("a3", "2021-04-01", "Ate", ("VE", "M", 7)),
    fact("ActivityWithdrawn", "2021-04-20", activity_id="a3", osv_id="osv-1", held_on="2021-04-01", withdrawn_on="2021-04-20"),
]


def parsed(text: str) -> hxl.model.Dataset:
    return hxl.data(io.BytesIO(text.encode("utf-8")), hxl.InputOptions(allow_local=True))


def test_each_activity_not_withdrawn_is_a_row_with_its_ubigeo_phase_and_people_reached_by_sex_and_nationality() -> None:
    rows = threew.rows(FACTS, ubigeo_of)

    assert [r["activity_id"] for r in rows] == ["a1", "a2"]  # by day held; the withdrawn a3 is not there
    a1, a2 = rows
    assert (a1["osv_name"], a1["ubigeo"], a1["province_ubigeo"], a1["district"], a1["phase"]) == (
        "Mujeres Unidas de Breña", "150132", "1501", "San Juan de Lurigancho", "F1",
    )
    assert (a1["reached"], a1["reached_f"], a1["reached_m"], a1["reached_x"]) == (18, 12, 5, 1)
    assert (a1["reached_ve"], a1["reached_pe"], a1["reached_other"], a1["reached_indirect"]) == (12, 5, 1, 40)
    assert (a2["ubigeo"], a2["phase"]) == ("150105", "")  # held after every phase


def test_the_sheet_of_a_day_lists_the_activities_held_by_then_as_the_indicators_count_them() -> None:
    """Tester 271 F2: what is dated after the sheet's day in Lima has not happened yet: an activity dated later is not
    listed, nor is a withdrawal dated later taken; the phase that starts later still names its days."""
    rows = threew.rows(FACTS, ubigeo_of, date(2021, 4, 10))
    assert [r["activity_id"] for r in rows] == ["a1", "a3"]  # a2 held in July; a3 withdrawn on 20 April
    later = threew.rows([*FACTS, phase("F2", "2021-07-01", "2021-12-31")], ubigeo_of, date(2021, 7, 2))
    assert [(r["activity_id"], r["phase"]) for r in later] == [("a1", "F1"), ("a2", "F2")]


def test_the_export_carries_hxl_hashtags_that_libhxl_reads_and_validates() -> None:
    text = exports.to_hxl(threew.rows(FACTS, ubigeo_of), None, GENERATED)
    dataset = parsed(text)

    assert [c.display_tag for c in dataset.columns] == [tag for _, _, tag in threew.COLUMNS]
    schema = hxl.schema([
        ["#valid_tag", "#valid_required", "#valid_datatype", "#valid_value+regex"],
        ["#org+code", "true", "", ""],
        ["#org+name", "true", "", ""],
        ["#activity+code", "true", "", ""],
        ["#adm2+code", "true", "", "^1501$"],
        ["#adm3+code", "true", "", "^1501[0-9]{2}$"],
        ["#date+start", "true", "date", ""],
        ["#reached", "true", "number", ""],
    ])
    assert schema.validate(dataset)
    for row in parsed(text):
        sexes = sum(int(row.get(f"#reached+{s}")) for s in ("f", "m", "x"))
        nationalities = sum(int(row.get(f"#reached+{n}")) for n in ("nationality_ve", "nationality_pe", "nationality_other"))
        assert sexes == nationalities == int(row.get("#reached+ind", default=None))
    assert "Breña" in {row.get("#adm3+name") for row in parsed(text)}


def test_the_export_passes_libhxls_default_schema() -> None:
    """Tester 247 F2: the phase's code was tagged ``#date+phase+code``, and libhxl's default schema (what HDX checks)
    wants a date in every ``#date`` cell: "Expected a date" on each row. It is ``#meta+phase+code`` now."""
    errors: list[hxl.validation.HXLValidationException] = []
    valid = hxl.schema(callback=errors.append).validate(parsed(exports.to_hxl(threew.rows(FACTS, ubigeo_of), None, GENERATED)))

    assert valid and not errors, [f"{e.message}: {e.value}" for e in errors]


def test_the_hxl_schema_check_fails_on_a_row_without_a_ubigeo() -> None:
    rows = threew.rows(FACTS, lambda _: None)
    schema = hxl.schema([["#valid_tag", "#valid_required"], ["#adm3+code", "true"]])
    assert not schema.validate(parsed(exports.to_hxl(rows, None, GENERATED)))


def test_the_export_states_its_as_of_moment_before_the_table() -> None:
    text = exports.to_hxl([], datetime(2021, 12, 31, 5, tzinfo=timezone.utc), GENERATED)
    assert text.startswith("\ufeff") and "as_of=2021-12-31T05:00:00Z" in text.splitlines()[0]


def test_an_osvs_name_corrected_names_its_rows_from_then_on_and_not_in_a_cut_before() -> None:
    # "Mujeres Unidas de Breña" was the name as typed; registry corrected it: every row names the OSV so, in the
    # past phase too; the facts of a cut before the correction hold no correction, and name it as it was then known.
    corrected = fact("OSVNameCorrected", "2022-01-10", osv_id="osv-1", previous_name="Mujeres Unidas de Breña",
                     name="Asociación Mujeres Unidas de Breña", corrected_on="2022-01-10")
    again = fact("OSVNameCorrected", "2022-01-11", osv_id="osv-1", previous_name="Asociación Mujeres Unidas de Breña",
                 name="Asociación de Mujeres Unidas de Breña", corrected_on="2022-01-11")
    for facts, named in ((FACTS, "Mujeres Unidas de Breña"), ([*FACTS, corrected], "Asociación Mujeres Unidas de Breña"),
                         ([again, *FACTS, corrected], "Asociación de Mujeres Unidas de Breña")):  # the latest, whatever the order given
        assert {row["osv_name"] for row in threew.rows(facts, ubigeo_of)} == {named}


def test_a_grant_withdrawn_as_entered_in_error_is_no_funded_project_of_its_activities_from_the_withdrawal_on() -> None:
    # Workshops a1 and a2 were recorded on grant g1, then funding withdrew g1 as entered in error (tester 187 F3): it
    # was no project, so no row names it, though the activities were held and their people reached count as before.
    # The facts of a cut before the withdrawal hold no withdrawal: the rows name g1 as they did then.
    withdrawn = fact("GrantWithdrawn", "2021-05-02", grant_id="g1", osv_id="osv-1", kind="seed_fund", amount="1000.00",
                     currency="PEN", granted_on="2021-02-01", reason="entered_in_error", withdrawn_on="2021-05-02")
    other = fact("GrantWithdrawn", "2021-05-03", grant_id="g2", osv_id="osv-1", kind="seed_fund", amount="1000.00",
                 currency="PEN", granted_on="2021-02-01", reason="duplicate", withdrawn_on="2021-05-03")
    assert "GrantWithdrawn" in threew.TYPES

    before, after = threew.rows(FACTS, ubigeo_of), threew.rows([*FACTS, withdrawn, other], ubigeo_of)

    assert [r["grant_id"] for r in before] == ["g1", "g1"]
    assert [r["grant_id"] for r in after] == ["", ""]
    assert [{k: v for k, v in r.items() if k != "grant_id"} for r in after] == [{k: v for k, v in r.items() if k != "grant_id"} for r in before]
    assert [r["grant_id"] for r in threew.rows([*FACTS, other], ubigeo_of)] == ["g1", "g1"]  # another grant's withdrawal: g1 stays


def test_a_person_an_activity_listed_by_two_records_is_reached_once_in_its_row_from_their_merge_on() -> None:
    # Workshop a4 listed Yusmary by both her records, y and p, and Ana (helper 189, tester 187 F1); engagement then
    # merged p into y (one MemberMerged per OSV either was a member of). The row counts two people reached, as the
    # indicators' attendances do; the facts of a cut before the merge count three, as recorded.
    people = [("y", "VE", "F"), ("ana", "PE", "F"), ("p", "VE", "F")]
    listed = fact("ActivityReported", "2021-05-01", activity_id="a4", osv_id="osv-1", kind="workshop", district="Breña",
                  zone="Lima Centro", grant_id=None, indirect_beneficiaries=0, outputs=[],
                  direct_beneficiaries=[{"nationality": "VE", "sex": "F", "count": 2}, {"nationality": "PE", "sex": "F", "count": 1}],
                  participants=[{"person_id": i, "nationality": n, "sex": s, "member": True} for i, n, s in people], counted_by="persons")
    merges = [fact("MemberMerged", "2022-01-05", member_id="p", into_member_id="y", osv_id=osv, merged_on="2022-01-05") for osv in ("o1", "o2")]
    assert "MemberMerged" in threew.TYPES

    def reached(facts: list[object]) -> tuple[int, ...]:
        [row] = [r for r in threew.rows(facts, ubigeo_of) if r["activity_id"] == "a4"]  # type: ignore[arg-type]
        return tuple(row[k] for k in ("reached", "reached_f", "reached_m", "reached_ve", "reached_pe", "reached_other"))

    assert reached([*FACTS, listed]) == (3, 3, 0, 2, 1, 0)
    assert reached([*FACTS, listed, *merges]) == (2, 2, 0, 1, 1, 0)
    assert reached([*FACTS, *merges, listed]) == (2, 2, 0, 1, 1, 0)
