"""An OSV's mapping day corrected: ``osvs_identified`` counts it in the phase of the right day, from the correction on.

Field staff typed the year wrong, or a paper list in with the day it was typed: registry publishes
``OSVMappingDateCorrected`` with the previous and the corrected day and the OSV's district. The OSV was always
identified on the corrected day, so every report made after the correction counts it there, past phases included; a
report as of before it shows what was known then. Checkpoints, merges and a full fold agree.
"""

from __future__ import annotations

from datetime import date

from services.reporting.domain.alerts import overdue_meetings
from services.reporting.domain.indicators import Fact
from services.reporting.domain.tally import evidence, report
from tests.unit.test_indicator_corrections import F3, restored_and_recut
from tests.unit.test_indicators import F1, F2, fact, mapped, merged, phase, phases_of


def mapping_corrected(osv: str, day: str, was: str, now: str, district: str = "Comas", zone: str = "Lima Norte") -> Fact:
    return fact("OSVMappingDateCorrected", day, osv_id=osv, previous_mapped_on=was, mapped_on=now, corrected_on=day,
                district=district, zone=zone)


def story(a_mapped_on: str) -> list[Fact]:
    """OSVs a (mapped on ``a_mapped_on``), b and c, in Comas and Ate; c registered in the RUOS in F2."""
    return [
        phase(*F1), phase(*F2), mapped("a", a_mapped_on), mapped("b", "2021-03-01"), mapped("c", "2021-08-01", "Ate", "Lima Este"),
        fact("RUOSRegistered", "2021-09-01", osv_id="c", ruos_number="RUOS-150103-2021-011", registered_on="2021-09-01"),
    ]


def test_an_osv_whose_mapping_was_typed_in_the_next_phase_counts_in_the_phase_it_was_mapped_once_corrected() -> None:
    recorded = story("2021-08-10")  # typed in from the field form in August; the OSV was mapped in February
    correction = [mapping_corrected("a", "2021-12-01", "2021-08-10", "2021-02-10")]

    before, after = phases_of(report(recorded)), phases_of(report(recorded + correction))

    assert (before["F1"]["osvs_identified"], before["F2"]["osvs_identified"]) == (1, 2)
    assert (after["F1"]["osvs_identified"], after["F2"]["osvs_identified"]) == (2, 1)
    assert report(recorded + correction)["total"]["osvs_identified"] == 3
    # the evidence names the correction beside the mapping it moves (a sign-off's restatement shows it so)
    f2 = evidence(recorded + correction, "osvs_identified", "F2")["events"]
    assert [(e["type"], e["adds"]) for e in f2] == [("OSVMapped", {"value": 1}), ("OSVMapped", {"value": 1}), ("OSVMappingDateCorrected", {"value": -1})]
    # every report after the correction is the one the OSV mapped right from the start would have made
    for by in (None, "zone", "district"):
        assert report(recorded + correction, by) == report(story("2021-02-10"), by)


def test_a_mapping_corrected_within_its_phase_moves_nothing() -> None:
    recorded = story("2021-08-10")
    assert report(recorded + [mapping_corrected("a", "2021-12-01", "2021-08-10", "2021-09-30")]) == report(recorded)


def test_a_duplicate_mapped_on_a_corrected_day_and_then_merged_is_taken_back_where_it_was_corrected_to() -> None:
    recorded = story("2021-08-10")
    # registry's merge carries the duplicate's mapping day as it then stood: the corrected one
    facts = [*recorded, mapping_corrected("a", "2021-11-01", "2021-08-10", "2021-02-10"), merged("a", "b", "2021-12-01", "2021-02-10")]
    by_phase = phases_of(report(facts))
    assert (by_phase["F1"]["osvs_identified"], by_phase["F2"]["osvs_identified"]) == (1, 1)


def test_a_tally_restored_before_a_mapping_correction_and_re_cut_by_the_next_phase_goes_on_to_the_same_report() -> None:
    earlier = story("2021-08-10")
    later = [mapping_corrected("a", "2021-12-01", "2021-08-10", "2021-02-10")]
    facts = earlier + later + [phase(*F3)]
    assert restored_and_recut(earlier, later, facts, "district") == report(facts, "district")


def test_an_osv_never_met_is_overdue_from_its_corrected_mapping_day() -> None:
    facts = [mapped("a", "2021-08-10"), mapping_corrected("a", "2021-12-01", "2021-08-10", "2021-02-10")]
    (overdue,) = overdue_meetings(facts, date(2021, 12, 1))
    assert overdue.counted_from == date(2021, 2, 10)
    (as_then,) = overdue_meetings(facts[:1], date(2021, 12, 1))
    assert as_then.counted_from == date(2021, 8, 10)
