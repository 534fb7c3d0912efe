"""The IATI 2.03 activity file: valid against IATI's own schema, coded from IATI's own codelists, phases as result periods.

The schema and the codelists are the ones vendored in ``services/reporting/iati/``
(see its ``SOURCE.md``). The tests that check codelist values are
``test_every_coded_value_in_the_file_is_in_its_iati_codelist`` and
``test_the_codes_the_export_knows_are_in_their_iati_codelists``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal
from xml.etree import ElementTree as ET

import pytest
import xmlschema

from services.reporting import iati
from services.reporting.domain.tally import report
from tests.unit.test_indicators import fact, phase

GENERATED = datetime(2022, 2, 1, 15, tzinfo=timezone.utc)
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(iati.schema_path()))


def programme_2021() -> dict:
    """Two phases: OSVs mapped and registered in the first, agents of change and an activity in the second."""
    return report([
        phase("F1", "2021-01-01", "2021-06-30"),
        phase("F2", "2021-07-01", "2021-12-31"),
        fact("OSVMapped", "2021-02-01", osv_id="a", district="Comas", zone="Lima Norte"),
        fact("OSVMapped", "2021-02-03", osv_id="b", district="Ate", zone="Lima Este"),
        fact("OSVMapped", "2021-03-03", osv_id="c", district="Ate", zone="Lima Este"),
        fact("RUOSRegistered", "2021-05-03", osv_id="a"),
        fact("FundGranted", "2021-07-10", osv_id="a", grant_id="g1", amount="5000.00", currency="PEN", kind="seed_fund"),
        fact("ParticipantEnrolled", "2021-07-11", member_id="m1", osv_id="a", grant_id="g1", nationality="VE", sex="F"),
        fact("ParticipantEnrolled", "2021-07-11", member_id="m2", osv_id="a", grant_id="g1", nationality="PE", sex="M"),
        fact("ActivityReported", "2021-08-01", activity_id="act", osv_id="a", district="Comas", zone="Lima Norte",
             direct_beneficiaries=[{"nationality": "VE", "sex": "F", "count": 12}, {"nationality": "PE", "sex": "M", "count": 5}],
             indirect_beneficiaries=40, outputs=[{"kind": "mural", "count": 1}]),
    ])


def activity_of(document: bytes) -> ET.Element:
    activity = ET.fromstring(document).find("iati-activity")
    assert activity is not None
    return activity


def indicator_titled(activity: ET.Element, title_en: str) -> ET.Element:
    for indicator in activity.iter("indicator"):
        narratives = {n.get(XML_LANG, "es"): n.text for n in indicator.findall("title/narrative")}
        if narratives.get("en") == title_en:
            return indicator
    raise AssertionError(f"no indicator titled {title_en!r}")


def test_the_activity_file_is_valid_against_the_iati_2_03_activity_schema(schema: xmlschema.XMLSchema) -> None:
    document = iati.activity_file(programme_2021(), iati.Programme(), GENERATED, date(2022, 2, 1))

    schema.validate(document.decode())  # raises, naming the element, when the file breaks the schema
    root = ET.fromstring(document)
    assert root.get("version") == "2.03"


def test_the_file_says_when_it_was_made_and_its_activity_the_cut_its_data_are_as_of() -> None:
    """Tester 178 F2: a file as of a past cut said it was generated at the cut."""
    cut = datetime(2021, 12, 5, 18, 57, 22, tzinfo=timezone.utc)
    document = iati.activity_file(programme_2021(), iati.Programme(), GENERATED, date(2021, 12, 5), as_of=cut)

    assert ET.fromstring(document).get("generated-datetime") == "2022-02-01T15:00:00Z"
    assert activity_of(document).get("last-updated-datetime") == "2021-12-05T18:57:22Z"
    now = activity_of(iati.activity_file(programme_2021(), iati.Programme(), GENERATED, date(2022, 2, 1)))
    assert now.get("last-updated-datetime") == "2022-02-01T15:00:00Z"  # without a cut, the data are as of the file


def test_a_cut_within_a_second_is_written_with_its_microseconds_where_the_file_names_it(schema: xmlschema.XMLSchema) -> None:
    """Tester 271 F1: a sign-off from 13:02:21.499395Z was said to be "from the facts recorded by 13:02:21Z", a cut that
    counts other facts and gives another digest. The cut is written as it is; when the file was made, to the second."""
    cut = datetime(2026, 12, 7, 13, 2, 21, 499395, tzinfo=timezone.utc)
    signed_at = datetime(2026, 12, 7, 13, 2, 21, 801122, tzinfo=timezone.utc)
    signed = iati.PhaseSignOff(signed_at, "lead", cut, "0660dbf0" * 8, {"osvs_identified": 3})
    document = iati.activity_file(programme_2021(), iati.Programme(), datetime(2026, 12, 7, 13, 5, 1, 250000, tzinfo=timezone.utc),
                                  date(2026, 12, 7), signoffs={"F1": signed}, as_of=cut)

    schema.validate(document.decode())  # xs:dateTime takes the fraction
    assert ET.fromstring(document).get("generated-datetime") == "2026-12-07T13:05:01Z"
    assert activity_of(document).get("last-updated-datetime") == "2026-12-07T13:02:21.499395Z"
    said = [n.text or "" for n in activity_of(document).iter("narrative") if "Signed off by" in (n.text or "")]
    assert said and all(text.startswith("Signed off by lead on 2026-12-07T13:02:21.801122Z from the facts recorded by "
                                        "2026-12-07T13:02:21.499395Z (digest sha256:") for text in said)
    on_the_second = iati.PhaseSignOff(signed_at, "lead", cut.replace(microsecond=0), signed.digest, signed.figures)
    assert "recorded by 2026-12-07T13:02:21Z (" in (iati.restatement_comment("osvs_identified", on_the_second, {"value": 3}) or "")


def test_a_programme_with_no_phase_yet_still_makes_a_valid_file(schema: xmlschema.XMLSchema) -> None:
    """Tester 178 F3: its actual start (type 2) was the request's day in the caller's offset, 6 Dec for 03:00Z on 5 Dec in
    Lima. Nothing has started: its start is planned (1), no earlier than the cut's day in Lima, and it is in its pipeline."""
    made = datetime(2026, 12, 6, 3, tzinfo=timezone.utc)  # 5 December, 22:00 in Lima
    document = iati.activity_file(report([]), iati.Programme(), made, date(2026, 12, 5), as_of=made)

    schema.validate(document.decode())
    activity = activity_of(document)
    assert [(d.get("type"), d.get("iso-date")) for d in activity.findall("activity-date")] == [("1", "2026-12-05")]
    assert activity.find("activity-status").get("code") == "1"


def test_a_programme_whose_first_phase_starts_later_has_a_planned_start_not_an_actual_one(schema: xmlschema.XMLSchema) -> None:
    document = iati.activity_file(report([phase("F1", "2022-03-01", "2022-06-30")]), iati.Programme(), GENERATED, date(2022, 2, 1))

    schema.validate(document.decode())
    activity = activity_of(document)
    assert [(d.get("type"), d.get("iso-date")) for d in activity.findall("activity-date")] == [("1", "2022-03-01"), ("3", "2022-06-30")]
    assert activity.find("activity-status").get("code") == "1"
    on_its_first_day = activity_of(iati.activity_file(report([phase("F1", "2022-03-01", "2022-06-30")]), iati.Programme(), GENERATED,
                                                      date(2022, 3, 1)))
    assert [d.get("type") for d in on_its_first_day.findall("activity-date")] == ["2", "3"]
    assert on_its_first_day.find("activity-status").get("code") == "2"


def test_each_phase_is_a_result_period_and_each_actual_is_the_phases_figure() -> None:
    activity = activity_of(iati.activity_file(programme_2021(), iati.Programme(), GENERATED, date(2022, 2, 1)))

    identified = indicator_titled(activity, "OSVs identified")
    periods = identified.findall("period")
    assert [(p.find("period-start").get("iso-date"), p.find("period-end").get("iso-date")) for p in periods] == [
        ("2021-01-01", "2021-06-30"), ("2021-07-01", "2021-12-31"),
    ]
    assert [p.find("actual").get("value") for p in periods] == ["3", "0"]
    rate = indicator_titled(activity, "RUOS registration rate (cumulative)")
    assert rate.get("measure") == "2"  # a percentage
    assert [p.find("actual").get("value") for p in rate.findall("period")] == ["33.33", "33.33"]


def test_a_sign_off_that_failed_its_check_gives_no_signed_figure_and_no_restatement(schema: xmlschema.XMLSchema) -> None:
    cut = datetime(2021, 7, 2, tzinfo=timezone.utc)
    signed = iati.PhaseSignOff(datetime(2021, 7, 3, tzinfo=timezone.utc), "lead", cut, "0660dbf0" * 8, {"osvs_identified": 136})
    assert "Restated by facts recorded later, or phases opened or withdrawn since: value signed 136, now 76." in (iati.restatement_comment("osvs_identified", signed, {"value": 76}) or "")

    altered = iati.PhaseSignOff(signed.signed_at, signed.signed_by, cut, signed.digest, signed.figures, intact=False)
    comment = iati.restatement_comment("osvs_identified", altered, {"value": 76}) or ""
    assert "failed its check" in comment and "sha256:" + signed.digest in comment
    assert "Restated" not in comment and "136" not in comment and "Not restated" not in comment
    document = iati.activity_file(programme_2021(), iati.Programme(), GENERATED, date(2022, 2, 1), signoffs={"F1": altered})
    schema.validate(document.decode())
    said = [n.text or "" for n in activity_of(document).iter("narrative") if "Signed off by" in (n.text or "")]
    assert said and all("failed its check" in text and "136" not in text for text in said)


def test_a_restatement_writes_the_figures_as_the_actual_does_and_comments_say_they_are_english() -> None:
    """Tester 178 F4: "value signed 0.2333, now 0.2258" beside ``<actual value="22.58">``; English comments read as Spanish."""
    signed = iati.PhaseSignOff(datetime(2021, 7, 3, tzinfo=timezone.utc), "lead", datetime(2021, 7, 2, tzinfo=timezone.utc),
                               "0660dbf0" * 8, {"ruos_registration_rate": Decimal("0.2333")})
    comment = iati.restatement_comment("ruos_registration_rate", signed, {"value": Decimal("0.2258")}) or ""
    assert "value signed 23.33, now 22.58." in comment
    assert iati.iati_value("ruos_registration_rate", Decimal("0.2258")) == "22.58"

    plans = {("F1", "osvs_identified"): iati.PhasePlan({"value": 0}, {"value": 5})}
    document = iati.activity_file(programme_2021(), iati.Programme(), GENERATED, date(2022, 2, 1), plans, {"F1": signed})
    activity = activity_of(document)
    comments = list(activity.iter("comment"))
    assert comments and {c.find("narrative").get(XML_LANG) for c in comments} == {"en"}
    assert activity.get(XML_LANG) == "es"  # the titles' first narratives, in Spanish, keep it
    rate = indicator_titled(activity, "RUOS registration rate (cumulative)").findall("period")[0].find("actual")
    assert f"now {rate.get('value')}." in rate.findtext("comment/narrative")


def test_people_are_disaggregated_by_sex_and_nationality_in_dimension_elements() -> None:
    activity = activity_of(iati.activity_file(programme_2021(), iati.Programme(), GENERATED, date(2022, 2, 1)))

    direct = indicator_titled(activity, "Direct beneficiaries: people reached (each person once)")
    f2 = direct.findall("period")[1]
    actuals = {
        tuple((d.get("name"), d.get("value")) for d in a.findall("dimension")): a.get("value") for a in f2.findall("actual")
    }
    assert actuals == {
        (): "17",
        (("nationality", "PE"),): "5", (("nationality", "VE"),): "12",
        (("sex", "F"),): "12", (("sex", "M"),): "5",
    }
    agents = indicator_titled(activity, "Agents of change").findall("period")[1]
    assert {(d.get("name"), d.get("value")) for d in agents.iter("dimension")} == {
        ("nationality", "VE"), ("nationality", "PE"), ("sex", "F"), ("sex", "M"),
    }


def test_the_activity_names_its_organisations_and_dates() -> None:
    activity = activity_of(iati.activity_file(programme_2021(), iati.Programme(), GENERATED, date(2021, 9, 1)))

    assert activity.findtext("iati-identifier") == "XM-DAC-47066-PE-OSV-LIMA"
    assert activity.find("reporting-org").get("ref") == "XM-DAC-47066"
    roles = {(o.get("ref"), o.get("role")) for o in activity.findall("participating-org")}
    assert {("XM-DAC-47066", "2"), ("XM-DAC-47066", "4"), ("XM-DAC-41114", "4"), (None, "4")} == roles
    # While the last phase runs, its end is planned (3) and the activity is in implementation (2).
    assert [(d.get("type"), d.get("iso-date")) for d in activity.findall("activity-date")] == [("2", "2021-01-01"), ("3", "2021-12-31")]
    assert activity.find("activity-status").get("code") == "2"
    ended = activity_of(iati.activity_file(programme_2021(), iati.Programme(), GENERATED, date(2022, 2, 1)))
    assert [d.get("type") for d in ended.findall("activity-date")] == ["2", "4"]
    assert ended.find("activity-status").get("code") == "3"


def test_the_activity_has_its_sectors_whose_percentages_add_up_to_100(schema: xmlschema.XMLSchema) -> None:
    """Tester 178 F1: no sector, at activity level or on transactions: IATI-Rulesets 6.2.2, an error in IATI's validator."""
    document = iati.activity_file(programme_2021(), iati.Programme(), GENERATED, date(2022, 2, 1))
    schema.validate(document.decode())
    activity = activity_of(document)

    sectors = [(s.get("vocabulary"), s.get("code"), s.get("percentage")) for s in activity.findall("sector")]
    assert sectors == [("1", "15190", "60"), ("1", "15150", "40")]
    assert sum(Decimal(percentage) for _, _, percentage in sectors) == 100  # per vocabulary (all are 1)
    tags = [child.tag for child in activity]
    assert tags.index("recipient-country") < tags.index("sector") < tags.index("result")
    assert activity.find("transaction") is None  # so the activity's sectors are the only ones

    one = iati.Programme(sectors=[{"code": "15190"}])
    assert [(s.get("code"), s.get("percentage")) for s in activity_of(iati.activity_file(report([]), one, GENERATED, date(2022, 2, 1))).findall("sector")] == [
        ("15190", "100"),
    ]


def test_sector_percentages_given_in_exponent_form_are_written_as_xs_decimal(schema: xmlschema.XMLSchema) -> None:
    """Tester 181 F3: "6E+1" and "4E+1" in REPORTING_IATI were written as given, which the schema refuses."""
    programme = iati.Programme(sectors=[{"code": "15190", "percentage": "6E+1"}, {"code": "15150", "percentage": "4E+1"}])
    document = iati.activity_file(programme_2021(), programme, GENERATED, date(2022, 2, 1))
    schema.validate(document.decode())
    assert [s.get("percentage") for s in activity_of(document).findall("sector")] == ["60", "40"]


@pytest.mark.parametrize(("sectors", "said"), [
    ([{"code": "1519"}], "a sector's code is an OECD DAC CRS purpose code of 5 digits, such as 15190, not '1519'"),
    ([{"code": "151"}], "a sector's code is an OECD DAC CRS purpose code of 5 digits, such as 15190, not '151'"),
    ([{"code": "15199"}], "a sector's code 15199 is no active purpose code of IATI's Sector codelist"),
    ([{"code": "15190", "percentage": 60}, {"code": "15150", "percentage": 30}], "the sectors' percentages add up to 100, not 90"),
    ([{"code": "15190", "percentage": 60}, {"code": "15150"}], "each of several sectors gives its percentage"),
    ([{"code": "15190", "percentage": 60}], "a single sector is 100 % of the activity, not 60 %"),
    ([{"code": "15190", "percentage": 50}, {"code": "15190", "percentage": 50}], "sectors name each purpose code once"),
    ([], "at least 1 item"),
])
def test_a_sector_that_is_no_purpose_code_or_percentages_that_do_not_add_up_are_refused(sectors: list, said: str) -> None:
    with pytest.raises(ValueError, match=re.escape(said)):
        iati.Programme(sectors=sectors)


CODED = [
    # (element path under iati-activity, attribute, IATI codelist)
    ("activity-status", "code", "ActivityStatus"),
    ("activity-date", "type", "ActivityDateType"),
    ("reporting-org", "type", "OrganisationType"),
    ("participating-org", "type", "OrganisationType"),
    ("participating-org", "role", "OrganisationRole"),
    ("description", "type", "DescriptionType"),
    ("recipient-country", "code", "Country"),
    ("sector", "vocabulary", "SectorVocabulary"),
    ("sector", "code", "Sector"),
    ("result", "type", "ResultType"),
    ("result/indicator", "measure", "IndicatorMeasure"),
]


def test_every_coded_value_in_the_file_is_in_its_iati_codelist() -> None:
    document = iati.activity_file(programme_2021(), iati.Programme(), GENERATED, date(2022, 2, 1))
    activity = activity_of(document)

    for path, attribute, codelist in CODED:
        values = {e.get(attribute) for e in activity.findall(path) if e.get(attribute) is not None}
        assert values, f"no {path}/@{attribute} in the file"
        assert values <= iati.codelist(codelist), f"{path}/@{attribute} {values - iati.codelist(codelist)} not in {codelist}"
    assert activity.get("default-currency") in iati.codelist("Currency")
    languages = {n.get(XML_LANG) for n in activity.iter("narrative") if n.get(XML_LANG)} | {activity.get(XML_LANG)}
    assert languages == {"es", "en"} and languages <= iati.codelist("Language")


def test_the_codes_the_export_knows_are_in_their_iati_codelists() -> None:
    for codelist, codes in iati.CODES.items():
        assert set(codes.values()) <= iati.codelist(codelist), codelist


def test_only_indicators_whose_periods_add_up_to_the_programmes_figure_are_marked_for_aggregation() -> None:
    """A donor's system sums the periods of an indicator marked ``aggregation-status="1"``: that sum must be the programme's.

    The same OSV's project and its two agents of change are active in both phases, one person attends an activity in each,
    and the OSV is supported again in F2; OSVs are mapped, money granted and murals painted in each phase.
    """
    def mural(activity_id: str, day: str, person: str) -> object:
        return fact("ActivityReported", day, activity_id=activity_id, osv_id="a", held_on=day, district="Comas", zone="Lima Norte",
                    direct_beneficiaries=[{"nationality": "VE", "sex": "F", "count": 1}], indirect_beneficiaries=10,
                    outputs=[{"kind": "mural", "count": 1}], participants=[{"person_id": person, "nationality": "VE", "sex": "F"}],
                    counted_by="persons")

    programme = report([
        phase("F1", "2021-01-01", "2021-06-30"),
        phase("F2", "2021-07-01", "2021-12-31"),
        fact("OSVMapped", "2021-02-01", osv_id="a", district="Comas", zone="Lima Norte"),
        fact("OSVMapped", "2021-08-01", osv_id="b", district="Ate", zone="Lima Este"),
        fact("RUOSRegistered", "2021-05-03", osv_id="a"),
        fact("FundGranted", "2021-03-10", osv_id="a", grant_id="g1", amount="5000.00", currency="PEN", kind="seed_fund"),
        fact("FundGranted", "2021-09-10", osv_id="a", grant_id="g2", amount="800.00", currency="PEN", kind="goods"),
        # and in dollars, so that the file reports its USD indicators too (reported only when the programme holds any)
        fact("FundGranted", "2021-03-20", osv_id="b", grant_id="g3", amount="700.00", currency="USD", kind="seed_fund"),
        fact("GoodsDelivered", "2021-09-15", grant_id="g2", osv_id="a", delivery_id="d", total_value="300.00", currency="USD", items=[]),
        fact("ParticipantEnrolled", "2021-03-11", member_id="m1", osv_id="a", grant_id="g1", nationality="VE", sex="F"),
        fact("ParticipantEnrolled", "2021-03-11", member_id="m2", osv_id="a", grant_id="g1", nationality="PE", sex="M"),
        mural("w1", "2021-04-01", "p1"),
        mural("w2", "2021-10-01", "p1"),
    ])
    activity = activity_of(iati.activity_file(programme, iati.Programme(), GENERATED, date(2022, 2, 1)))
    total = {spec.name: programme["total"][spec.name] for result in iati.RESULTS for spec in result.indicators}

    marked: dict[str, str] = {}
    for result, element in zip(iati.RESULTS, activity.findall("result"), strict=True):
        for spec, indicator in zip(result.indicators, element.findall("indicator"), strict=True):
            marked[spec.name] = indicator.get("aggregation-status")
            if marked[spec.name] == "1":
                summed = sum(Decimal(p.find("actual").get("value")) for p in indicator.findall("period"))
                assert summed == Decimal(str(iati.flatten(total[spec.name]).get("total", total[spec.name]))), spec.name
        # a result is suitable for aggregation only if every indicator in it is
        assert element.get("aggregation-status") == ("1" if all(marked[s.name] == "1" for s in result.indicators) else "0")

    assert {name for name, status in marked.items() if status == "0"} == {
        "ruos_registration_rate", "agents_of_change", "projects_active", "osvs_supported", "beneficiaries_direct",
    }
    # what the file would have told a donor's system: each agent of change, the project, the OSV and the person twice over
    assert programme["phases"][0]["indicators"]["agents_of_change"]["total"] == programme["phases"][1]["indicators"]["agents_of_change"]["total"] == 2
    assert programme["total"]["agents_of_change"]["total"] == 2
