"""A membership's joining date corrected: ``members_joined`` counts it in the phase of the right day, from the correction on.

Field staff typed a paper list in months later with the typing day, or 2012 for 2021: engagement publishes
``MemberJoiningDateCorrected`` with the previous and the corrected day. The member always joined on the corrected day,
so every report made after the correction counts the joining there, the past phases included; a report as of before
it shows what was known then. Checkpoints, merges and a full fold agree.
"""

from __future__ import annotations

import json

from services.reporting.domain.indicators import Fact
from services.reporting.domain.tally import evidence, report
from tests.unit.test_indicator_corrections import F3, about, joined, left, nationality_corrected, restored_and_recut
from tests.unit.test_indicators import F1, F2, enrolled, fact, mapped, merged, phase, phases_of


def joining_corrected(member: str, day: str, was: str, now: str, nationality: str, left_on: str | None = None, osv: str = "a") -> Fact:
    return about(fact("MemberJoiningDateCorrected", day, member_id=member, membership_id=f"{member}@{osv}", osv_id=osv,
                      previous_joined_on=was, joined_on=now, left_on=left_on, nationality=nationality, sex="F", corrected_on=day))


def rosas_story(joined_on: str, osv_district: tuple[str, str] = ("Comas", "Lima Norte")) -> list[Fact]:
    """Rosa and Luz join OSV a, Rosa takes part in its project and leaves in F2; Rosa's joining recorded on ``joined_on``."""
    return [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02", *osv_district),
        fact("FundGranted", "2021-02-01", grant_id="g", osv_id="a", amount="1000.00", currency="PEN", kind="seed_fund"),
        joined("rosa", joined_on, "VE", "F"), joined("luz", "2021-02-11", "PE", "F"),
        about(enrolled("rosa", "g", "2021-09-01", "VE", "F")),
        left("rosa", "2021-11-01", "VE", "F"),
    ]


def test_a_joining_typed_in_the_next_phase_counts_in_the_phase_it_happened_once_corrected_and_where_recorded_before() -> None:
    recorded = rosas_story("2021-08-10")  # typed in from the paper list in August; Rosa joined in February
    correction = [joining_corrected("rosa", "2021-12-01", "2021-08-10", "2021-02-10", "VE", "2021-11-01")]

    before, after = phases_of(report(recorded)), phases_of(report(recorded + correction))

    assert (before["F1"]["members_joined"], before["F2"]["members_joined"]) == (
        {"total": 1, "by_nationality": {"PE": 1}, "by_sex": {"F": 1}}, {"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}
    )
    assert (after["F1"]["members_joined"], after["F2"]["members_joined"]) == (
        {"total": 2, "by_nationality": {"PE": 1, "VE": 1}, "by_sex": {"F": 2}}, {"total": 0, "by_nationality": {}, "by_sex": {}}
    )
    assert after["F2"]["members_left"] == before["F2"]["members_left"]  # she left when she left
    assert after["F2"]["agents_of_change"] == before["F2"]["agents_of_change"]  # and took part when she enrolled
    # the evidence names the correction beside the joining it moves (a sign-off's restatement shows it so)
    f2 = evidence(recorded + correction, "members_joined", "F2")["events"]
    assert [(e["type"], e["adds"]) for e in f2] == [
        ("MemberJoined", {"by_nationality.VE": 1, "by_sex.F": 1, "total": 1}),
        ("MemberJoiningDateCorrected", {"by_nationality.VE": -1, "by_sex.F": -1, "total": -1}),
    ]
    assert [e["type"] for e in evidence(recorded + correction, "members_joined", "F1")["events"]][-1] == "MemberJoiningDateCorrected"
    # every report after the correction is the one Rosa recorded right from the start would have made
    for by in (None, "zone", "district"):
        assert report(recorded + correction, by) == report(rosas_story("2021-02-10"), by)


def test_a_joining_corrected_within_its_phase_moves_nothing() -> None:
    recorded = rosas_story("2021-02-10")
    assert report(recorded + [joining_corrected("rosa", "2021-12-01", "2021-02-10", "2021-05-02", "VE", "2021-11-01")]) == report(recorded)


def test_a_joining_corrected_after_a_nationality_correction_moves_under_the_corrected_nationality_and_back() -> None:
    recorded = [phase(*F1), phase(*F2), mapped("a", "2021-01-02"), joined("rosa", "2021-08-10", "PE", "F")]
    later = [
        nationality_corrected("rosa", "2021-09-01", "PE", "VE", "2021-08-10"),
        joining_corrected("rosa", "2021-10-01", "2021-08-10", "2021-02-10", "VE"),
        nationality_corrected("rosa", "2021-11-01", "VE", "CO", "2021-02-10"),  # carries the corrected day
    ]
    after = phases_of(report(recorded + later))
    assert (after["F1"]["members_joined"], after["F2"]["members_joined"]) == (
        {"total": 1, "by_nationality": {"other": 1}, "by_sex": {"F": 1}}, {"total": 0, "by_nationality": {}, "by_sex": {}}
    )


def test_a_tally_restored_before_a_joining_correction_and_re_cut_by_the_next_phase_goes_on_to_the_same_report() -> None:
    earlier = rosas_story("2021-08-10")
    later = [joining_corrected("rosa", "2021-12-01", "2021-08-10", "2021-02-10", "VE", "2021-11-01")]
    facts = earlier + later + [phase(*F3)]
    assert restored_and_recut(earlier, later, facts, "district") == report(facts, "district")
    assert phases_of(report(facts))["F1"]["members_joined"]["total"] == 2


def test_a_record_merged_across_districts_after_a_joining_correction_moves_the_corrected_joining() -> None:
    recorded = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"), mapped("b", "2021-01-03", "Ate", "Lima Este"),
        joined("rosa", "2021-08-10", "VE", "F", osv="b"),
        joining_corrected("rosa", "2021-09-01", "2021-08-10", "2021-02-10", "VE", osv="b"),
        merged("b", "a", "2021-10-01", "2021-01-03", "Ate", "Lima Este"),
    ]
    right = [f for f in recorded if f.type != "MemberJoiningDateCorrected"]
    right[4] = joined("rosa", "2021-02-10", "VE", "F", osv="b")

    result = report(recorded, "district")
    assert json.dumps(result, sort_keys=True) == json.dumps(report(right, "district"), sort_keys=True)
    comas = phases_of(result["breakdown"]["groups"]["Comas"])
    assert (comas["F1"]["members_joined"]["total"], comas["F2"]["members_joined"]["total"]) == (1, 0)
    assert "Ate" not in result["breakdown"]["groups"]  # nothing left counted there, not even a joining below 0
