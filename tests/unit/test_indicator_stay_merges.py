"""One stay recorded twice, merged: ``members_joined`` counts its joining once from the merge on (helper 311).

Yusmary joined Comas' OSV ``a`` in February (record ``y``); the form was edited in Kobo with her corrected document
in August and registered her again there (record ``p``): two joinings of one stay. Engagement merges ``p`` into ``y``
and publishes, besides ``MemberMerged``, a ``MembershipMerged`` for ``p``'s stay: every report made after counts one
joining, in the phase it happened, the past phase restated; a report as of before the merge still counts two.
"""

from __future__ import annotations

import json
from datetime import date

from services.reporting.domain.indicators import Fact
from services.reporting.domain.tally import evidence, report
from tests.unit.test_indicator_corrections import F3, about, joined, left, restored_and_recut
from tests.unit.test_indicator_member_merges import member_merged
from tests.unit.test_indicators import F1, F2, fact, mapped, merged, phase, phases_of

NONE = {"total": 0, "by_nationality": {}, "by_sex": {}}


def stay_merged(duplicate: str, into: str, day: str, joined_on: str, osv: str = "a", nationality: str = "VE", sex: str = "F") -> Fact:
    return about(fact(
        "MembershipMerged", day, member_id=duplicate, membership_id=f"{duplicate}@{osv}", into_member_id=into,
        into_membership_id=f"{into}@{osv}", osv_id=osv, joined_on=joined_on, nationality=nationality, sex=sex, age_band="30-44",
        merged_on=day,
    ))


def registered_twice(osv_district: tuple[str, str] = ("Comas", "Lima Norte")) -> list[Fact]:
    """Yusmary in OSV a as ``y`` (February, F1) and again as ``p`` (August, F2); Luz, Peruvian, joins in F2 too."""
    return [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02", *osv_district),
        joined("y", "2021-02-10", "VE", "F"), joined("p", "2021-08-10", "VE", "F"), joined("luz", "2021-09-01", "PE", "F"),
    ]


def the_merge(day: str = "2022-01-05") -> list[Fact]:
    return [stay_merged("p", "y", day, "2021-08-10"), member_merged("p", "y", day, "a")]


def test_the_stay_recorded_twice_counts_one_joining_after_the_merge_and_two_as_of_before_it() -> None:
    before = registered_twice()

    then, now = phases_of(report(before)), phases_of(report(before + the_merge()))

    assert then["F2"]["members_joined"] == {"total": 2, "by_nationality": {"PE": 1, "VE": 1}, "by_sex": {"F": 2}}
    assert now["F2"]["members_joined"] == {"total": 1, "by_nationality": {"PE": 1}, "by_sex": {"F": 1}}  # the past restated
    assert now["F1"]["members_joined"] == then["F1"]["members_joined"] == {"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}
    assert report(before + the_merge())["total"]["members_joined"]["total"] == 2  # Yusmary once, Luz once
    # a report whose day is before the merge's has not seen it: the data then said two
    assert phases_of(report(before + the_merge(), today=date(2021, 12, 31)))["F2"]["members_joined"]["total"] == 2


def test_the_merges_evidence_names_the_joining_it_takes_back() -> None:
    facts = registered_twice() + the_merge()

    rows = evidence(facts, "members_joined", "F2")["events"]

    assert [(row["type"], row["adds"]) for row in rows] == [
        ("MemberJoined", {"by_nationality.VE": 1, "by_sex.F": 1, "total": 1}),
        ("MemberJoined", {"by_nationality.PE": 1, "by_sex.F": 1, "total": 1}),
        ("MembershipMerged", {"by_nationality.VE": -1, "by_sex.F": -1, "total": -1}),
    ]


def test_the_persons_departure_after_the_merge_counts_once() -> None:
    facts = registered_twice() + the_merge() + [left("y", "2022-02-01", "VE", "F")]

    result = report(facts + [phase(*F3)])

    assert phases_of(result)["F3"]["members_left"]["total"] == 1 and result["total"]["members_left"]["total"] == 1
    assert result["total"]["members_joined"]["total"] == 2


def test_a_tally_restored_before_the_merge_and_re_cut_goes_on_to_the_same_report() -> None:
    earlier, later = registered_twice(), the_merge()
    facts = earlier + later + [phase(*F3)]

    assert restored_and_recut(earlier, later, facts, "district") == report(facts, "district")


def test_an_osv_merged_across_districts_after_the_stay_merge_moves_the_joining_taken_back_too() -> None:
    recorded = [
        *registered_twice(("Ate", "Lima Este")), mapped("c", "2021-01-01"), *the_merge("2021-10-01"),
        merged("a", "c", "2021-11-01", "2021-01-02", "Ate", "Lima Este"),
    ]

    result = report(recorded, "district")

    comas = phases_of(result["breakdown"]["groups"]["Comas"])
    assert comas["F2"]["members_joined"] == {"total": 1, "by_nationality": {"PE": 1}, "by_sex": {"F": 1}}
    assert "Ate" not in result["breakdown"]["groups"]  # nothing left counted there, not even a joining below 0
    assert json.dumps(phases_of(result)["F2"]["members_joined"]) == json.dumps(comas["F2"]["members_joined"])


def test_a_stay_merged_after_its_osv_was_merged_across_districts_takes_its_joining_back_in_the_survivors_district() -> None:
    """Tester 317 F1: Yusmary in Comas' record ``c`` (``y``) and in Ate's record ``a`` of the same OSV (``p``); registry
    merges ``a`` into ``c``, then engagement merges the stays, naming ``a``, where ``p``'s joining was counted."""
    recorded = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02", "Ate", "Lima Este"), mapped("c", "2021-01-01"),
        joined("y", "2021-02-10", "VE", "F", osv="c"), joined("p", "2021-08-10", "VE", "F"), joined("luz", "2021-09-01", "PE", "F"),
        merged("a", "c", "2021-10-01", "2021-01-02", "Ate", "Lima Este"),
        stay_merged("p", "y", "2021-11-01", "2021-08-10"), member_merged("p", "y", "2021-11-01", "a"),
    ]

    result = report(recorded, "district")

    comas = phases_of(result["breakdown"]["groups"]["Comas"])
    assert comas["F2"]["members_joined"] == {"total": 1, "by_nationality": {"PE": 1}, "by_sex": {"F": 1}}
    assert comas["F1"]["members_joined"]["total"] == 1
    assert "Ate" not in result["breakdown"]["groups"]
