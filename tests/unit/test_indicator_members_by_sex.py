"""Members who joined and who left, by sex (tester 184 F5): every ``MemberJoined`` and ``MemberLeft`` says the member's
sex, and donors ask for sex-disaggregated figures; ``members_joined`` and ``members_left`` split their total ``by_sex``
(``F``, ``M``, ``X``) as agents of change do, beside ``by_nationality``.

A person's sex rectified (``MemberSexCorrected``, one per membership) counts the membership's joining and departure
under the corrected sex in every phase, from the correction on; a joining date corrected moves the joining under its
sex; a merge across districts moves them as they were counted; a tally restored from a checkpoint goes on to the same
figures as one folded from the first fact.
"""

from __future__ import annotations

import json

from services.reporting.domain.tally import evidence, report
from tests.unit.test_indicator_corrections import (
    F3,
    joined,
    left,
    restored_and_recut,
    rosas_story,
    sex_corrected,
    without_attendances,
)
from tests.unit.test_indicator_joining_corrections import joining_corrected
from tests.unit.test_indicators import F1, F2, mapped, merged, phase, phases_of


def test_members_who_joined_and_left_are_counted_by_sex_in_each_phase_district_and_in_total() -> None:
    facts = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"), mapped("b", "2021-01-03", "Ate", "Lima Este"),
        joined("ana", "2021-02-01", "VE", "F"), joined("luis", "2021-02-02", "PE", "M"), joined("alex", "2021-08-01", "VE", "X"),
        joined("eva", "2021-08-02", "CO", "F", osv="b"),
        left("luis", "2021-09-01", "PE", "M"), left("eva", "2021-10-01", "CO", "F", osv="b"),
    ]
    result = report(facts, "district")
    f1, f2 = phases_of(result)["F1"], phases_of(result)["F2"]

    assert f1["members_joined"] == {"total": 2, "by_nationality": {"PE": 1, "VE": 1}, "by_sex": {"F": 1, "M": 1}}
    assert f2["members_joined"] == {"total": 2, "by_nationality": {"VE": 1, "other": 1}, "by_sex": {"F": 1, "X": 1}}
    assert f1["members_left"] == {"total": 0, "by_nationality": {}, "by_sex": {}}
    assert f2["members_left"] == {"total": 2, "by_nationality": {"PE": 1, "other": 1}, "by_sex": {"F": 1, "M": 1}}
    assert result["total"]["members_joined"]["by_sex"] == {"F": 2, "M": 1, "X": 1}
    ate = phases_of(result["breakdown"]["groups"]["Ate"])["F2"]
    assert (ate["members_joined"]["by_sex"], ate["members_left"]["by_sex"]) == ({"F": 1}, {"F": 1})
    # each joining's evidence says what it adds, its sex among its parts
    assert evidence(facts, "members_joined", "F1")["events"][0]["adds"] == {"total": 1, "by_nationality.VE": 1, "by_sex.F": 1}


def test_a_sex_correction_moves_the_joining_and_the_departure_in_every_phase_and_a_report_before_it_shows_them_as_recorded() -> None:
    recorded = rosas_story("VE", "M")  # Rosa joins in F1 and leaves in F2, recorded as a man
    correction = [sex_corrected("rosa", "2021-10-01", "M", "F", "2021-02-10", "2021-08-01")]

    before, after = phases_of(report(recorded)), phases_of(report(recorded + correction))

    assert (before["F1"]["members_joined"]["by_sex"], after["F1"]["members_joined"]["by_sex"]) == ({"F": 1, "M": 1}, {"F": 2})
    assert (before["F2"]["members_left"]["by_sex"], after["F2"]["members_left"]["by_sex"]) == ({"M": 1}, {"F": 1})
    assert after["F1"]["members_joined"]["total"] == before["F1"]["members_joined"]["total"] == 2  # a disaggregation only
    # the evidence names the correction beside the joining it restates (a sign-off's restatement shows it so)
    joinings = evidence(recorded + correction, "members_joined", "F1")["events"]
    assert [(e["type"], e["adds"]) for e in joinings if e["adds"].get("by_sex.M")] == [
        ("MemberJoined", {"total": 1, "by_nationality.VE": 1, "by_sex.M": 1}), ("MemberSexCorrected", {"by_sex.M": -1, "by_sex.F": 1}),
    ]
    # every report after the correction is the one Rosa recorded right from the start would have made
    for by in (None, "zone", "district"):
        assert without_attendances(report(recorded + correction, by)) == without_attendances(report(rosas_story("VE", "F"), by))


def test_a_departure_recorded_after_the_correction_counts_under_the_corrected_sex_it_carries() -> None:
    recorded = [phase(*F1), phase(*F2), mapped("a", "2021-01-02"), joined("rosa", "2021-02-10", "VE", "M")]
    later = [sex_corrected("rosa", "2021-03-01", "M", "F", "2021-02-10"), left("rosa", "2021-08-01", "VE", "F")]
    after = phases_of(report(recorded + later))
    assert (after["F1"]["members_joined"]["by_sex"], after["F2"]["members_left"]["by_sex"]) == ({"F": 1}, {"F": 1})


def test_a_joining_date_corrected_moves_the_joining_under_its_sex() -> None:
    recorded = [phase(*F1), phase(*F2), mapped("a", "2021-01-02"), joined("rosa", "2021-08-10", "VE", "F")]
    after = phases_of(report(recorded + [joining_corrected("rosa", "2021-10-01", "2021-08-10", "2021-02-10", "VE")]))
    assert (after["F1"]["members_joined"], after["F2"]["members_joined"]) == (
        {"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}, {"total": 0, "by_nationality": {}, "by_sex": {}}
    )


def test_a_tally_restored_before_a_sex_correction_and_re_cut_by_the_next_phase_goes_on_to_the_same_report() -> None:
    earlier = rosas_story("VE", "M")
    later = [sex_corrected("rosa", "2021-10-01", "M", "F", "2021-02-10", "2021-08-01")]
    facts = earlier + later + [phase(*F3)]
    assert restored_and_recut(earlier, later, facts, "district") == report(facts, "district")
    assert phases_of(report(facts))["F2"]["members_left"]["by_sex"] == {"F": 1}


def test_a_record_merged_across_districts_after_a_sex_correction_moves_the_corrected_joining_and_departure() -> None:
    recorded = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"), mapped("b", "2021-01-03", "Ate", "Lima Este"),
        joined("rosa", "2021-02-10", "VE", "M", osv="b"), left("rosa", "2021-03-10", "VE", "M", osv="b"),
        sex_corrected("rosa", "2021-05-01", "M", "F", "2021-02-10", "2021-03-10", osv="b"),
        merged("b", "a", "2021-06-01", "2021-01-03", "Ate", "Lima Este"),
    ]
    right = [f for f in recorded if f.type != "MemberSexCorrected"]
    right[4:6] = [joined("rosa", "2021-02-10", "VE", "F", osv="b"), left("rosa", "2021-03-10", "VE", "F", osv="b")]

    result = report(recorded, "district")
    assert json.dumps(result, sort_keys=True) == json.dumps(report(right, "district"), sort_keys=True)
    comas = phases_of(result["breakdown"]["groups"]["Comas"])["F1"]
    assert (comas["members_joined"]["by_sex"], comas["members_left"]["by_sex"]) == ({"F": 1}, {"F": 1})
    assert "Ate" not in result["breakdown"]["groups"]  # nothing is left counted there, not even an M below 0
