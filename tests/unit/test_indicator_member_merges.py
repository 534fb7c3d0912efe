"""Two records of one person merged: the figures that count people count her once from the merge on (tester 184 F3).

Yusmary was registered in Comas (record ``y``) and again in Los Olivos with her old PTP (record ``p``); both records
took part in projects and were listed at workshops, so she counted as two agents of change and two people reached.
Engagement's ``MemberMerged`` (one per OSV either record was a member of) makes ``p`` her record ``y``'s: every report
made after counts her once, a report as of before the merge still counts two, and joinings stay joinings.
"""

from __future__ import annotations

import json

from services.reporting.domain.indicators import Fact, phases_in
from services.reporting.domain.tally import Tally, activities_in, evidence, report
from tests.unit.test_indicator_corrections import about, joined, left, recalled
from tests.unit.test_indicators import F1, F2, enrolled, fact, mapped, phase, phases_of, workshop


def member_merged(duplicate: str, into: str, day: str, osv: str) -> Fact:
    return about(fact("MemberMerged", day, member_id=duplicate, into_member_id=into, osv_id=osv, merged_on=day))


def yusmary_twice() -> list[Fact]:
    """Her two records: ``y`` in Comas' OSV a, ``p`` in Los Olivos' OSV b; each an agent of change in its OSV's project
    in F1, each listed at a workshop of F1 (and ``p`` at one of F2)."""
    return [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"), mapped("b", "2021-01-03", district="Los Olivos"),
        fact("FundGranted", "2021-02-01", grant_id="ga", osv_id="a", amount="1000.00", currency="PEN", kind="seed_fund"),
        fact("FundGranted", "2021-02-02", grant_id="gb", osv_id="b", amount="1000.00", currency="PEN", kind="seed_fund"),
        joined("y", "2021-02-10", "VE", "F", osv="a"), joined("p", "2021-02-12", "VE", "F", osv="b"),
        about(enrolled("y", "ga", "2021-03-01", osv="a")), about(enrolled("p", "gb", "2021-03-02", osv="b")),
        workshop("w1", "2021-04-01", [("y", "VE", "F")]), workshop("w2", "2021-04-02", [("p", "VE", "F")], district="Los Olivos"),
        workshop("w3", "2021-08-01", [("p", "VE", "F")], district="Los Olivos"),
    ]


def people(result: dict[str, object], phase_code: str | None = None) -> tuple[object, ...]:
    figures = result["total"] if phase_code is None else phases_of(result)[phase_code]  # type: ignore[index]
    return (
        figures["agents_of_change"]["total"], figures["agents_of_change"]["by_nationality"], figures["agents_of_change"]["by_sex"],  # type: ignore[index]
        figures["beneficiaries_direct"]["total"], figures["members_joined"]["total"],  # type: ignore[index]
    )


def test_a_person_recorded_twice_counts_once_after_the_merge_and_twice_as_of_before_it() -> None:
    before = yusmary_twice()
    merge = [member_merged("p", "y", "2022-01-05", "a"), member_merged("p", "y", "2022-01-05", "b")]

    then, now = report(before), report(before + merge)

    assert people(then, "F1") == (2, {"VE": 2}, {"F": 2}, 2, 2)
    assert people(now, "F1") == (1, {"VE": 1}, {"F": 1}, 1, 2)  # one agent of change, one person reached; two joinings
    assert people(now, "F2")[:4] == (1, {"VE": 1}, {"F": 1}, 1)  # F2: still taking part, reached at w3 as her record p
    assert people(now) == (1, {"VE": 1}, {"F": 1}, 1, 2)
    assert phases_of(now)["F1"]["attendances"] == phases_of(then)["F1"]["attendances"]  # attendances stay as reported


def test_the_merges_evidence_takes_the_second_person_back() -> None:
    facts = [*yusmary_twice(), member_merged("p", "y", "2022-01-05", "a")]

    rows = evidence(facts, "agents_of_change", "F1")["events"]

    assert sum(row["adds"].get("total", 0) for row in rows) == 1
    assert [row["adds"]["total"] for row in rows if row["type"] == "MemberMerged"] == [-1]


def test_facts_naming_the_merged_record_after_the_merge_count_as_the_survivors() -> None:
    merged = [*yusmary_twice(), member_merged("p", "y", "2022-01-05", "a")]

    # She left Los Olivos' OSV (recorded on record p, where that membership is): her project there ends; she still takes
    # part in Comas' project. A workshop withdrawn that listed p takes back no one: y was reached in that phase anyway.
    later = [left("p", "2021-09-01", "VE", "F", osv="b"), fact("ActivityWithdrawn", "2021-04-02", activity_id="w2", osv_id="b", held_on="2021-04-02")]
    result = report(merged + later)

    assert people(result, "F1")[:4] == (1, {"VE": 1}, {"F": 1}, 1)
    assert people(result, "F2")[:4] == (1, {"VE": 1}, {"F": 1}, 1)
    assert phases_of(result)["F1"]["members_left"]["total"] == 0 and phases_of(result)["F2"]["members_left"]["total"] == 1


def test_a_tally_restored_from_a_checkpoint_counts_the_merge_as_one_folded_from_the_start() -> None:
    facts = [*yusmary_twice(), member_merged("p", "y", "2022-01-05", "a"), member_merged("p", "y", "2022-01-05", "b"),
             left("p", "2021-09-01", "VE", "F", osv="b")]
    for cut in (len(facts) - 3, len(facts) - 1):  # a checkpoint before the merge, and one after it
        earlier, later = facts[:cut], facts[cut:]
        phases, lookup = phases_in(earlier), activities_in(facts)
        restored = Tally.restore(json.loads(json.dumps(Tally(phases, lookup).fold(earlier).state())), phases, lookup)
        restored.recall(recalled(restored, earlier, later))
        restored.fold(later)
        assert restored.report(phases) == report(facts), cut


def listed_both(activity_id: str, day: str, *people: tuple[str, str, str]) -> Fact:
    """A workshop listing members by their records (each a ``member``), as engagement publishes it."""
    made = workshop(activity_id, day, list(people))
    return Fact(made.event_id, made.type, activity_id, made.occurred_on, made.recorded_at,
                {**made.data, "participants": [{**p, "member": True} for p in made.data["participants"]]})


def attendances(result: dict[str, object], phase_code: str | None = None) -> object:
    return (result["total"] if phase_code is None else phases_of(result)[phase_code])["attendances"]  # type: ignore[index]


def test_an_activity_listing_both_records_counts_one_attendance_of_hers_from_the_merge_on_and_two_as_of_before() -> None:
    # Workshop w4 was typed in listing Yusmary by both records, and Ana (helper 189, tester 187 F1): three rows, two
    # people. From the merge on it counts two attendances, as beneficiaries_direct counts two people; as of before, three.
    before = [*yusmary_twice(), listed_both("w4", "2021-05-01", ("y", "VE", "F"), ("ana", "PE", "F"), ("p", "VE", "F"))]
    merge = member_merged("p", "y", "2022-01-05", "a")

    then, now = report(before), report([*before, merge, member_merged("p", "y", "2022-01-05", "b")])

    assert attendances(then, "F1") == {"total": 5, "by_nationality": {"PE": 1, "VE": 4}, "by_sex": {"F": 5}}
    assert attendances(now, "F1") == {"total": 4, "by_nationality": {"PE": 1, "VE": 3}, "by_sex": {"F": 4}}
    assert attendances(now) == {"total": 5, "by_nationality": {"PE": 1, "VE": 4}, "by_sex": {"F": 5}}  # w3 in F2
    assert phases_of(now)["F1"]["beneficiaries_direct"]["total"] == 2
    rows = evidence([*before, merge], "attendances", "F1")["events"]
    assert [row["adds"]["total"] for row in rows if row["type"] == "MemberMerged"] == [-1]
    assert sum(row["adds"]["total"] for row in rows) == 4

    # Withdrawn after the merge, w4 takes back the two attendances it counts now, not its three rows.
    withdrawn = fact("ActivityWithdrawn", "2021-05-01", activity_id="w4", osv_id="a", held_on="2021-05-01")
    assert attendances(report([*before, merge, withdrawn]), "F1") == attendances(report(yusmary_twice()), "F1")


def test_an_activity_listing_both_records_after_the_merge_counts_her_once_and_its_withdrawal_takes_back_once() -> None:
    # Recorded before engagement refused a merged record's place among participants, heard of after the merge.
    facts = [*yusmary_twice(), member_merged("p", "y", "2022-01-05", "a"), listed_both("w4", "2021-05-01", ("p", "VE", "F"), ("y", "VE", "F"))]
    assert attendances(report(facts), "F1") == {"total": 3, "by_nationality": {"VE": 3}, "by_sex": {"F": 3}}
    withdrawn = fact("ActivityWithdrawn", "2021-05-01", activity_id="w4", osv_id="a", held_on="2021-05-01")
    assert attendances(report([*facts, withdrawn]), "F1") == {"total": 2, "by_nationality": {"VE": 2}, "by_sex": {"F": 2}}


def test_a_tally_restored_from_a_checkpoint_takes_back_the_attendance_listed_twice_as_one_folded_from_the_start() -> None:
    facts = [*yusmary_twice(), listed_both("w4", "2021-05-01", ("y", "VE", "F"), ("p", "VE", "F")),
             member_merged("p", "y", "2022-01-05", "a"), fact("ActivityWithdrawn", "2021-05-01", activity_id="w4", osv_id="a", held_on="2021-05-01")]
    for cut in (len(facts) - 2, len(facts) - 1):  # a checkpoint before the merge, and one after it
        earlier, later = facts[:cut], facts[cut:]
        phases, lookup = phases_in(earlier), activities_in(facts)
        restored = Tally.restore(json.loads(json.dumps(Tally(phases, lookup).fold(earlier).state())), phases, lookup)
        restored.recall(recalled(restored, earlier, later))
        restored.fold(later)
        assert restored.report(phases) == report(facts), cut
        half = Tally.restore(json.loads(json.dumps(Tally(phases, lookup).fold(earlier).state())), phases, lookup)
        half.recall(recalled(half, earlier, later[:1]))
        assert attendances(half.fold(later[:1]).report(phases), "F1") == attendances(report(facts[:cut + 1]), "F1"), cut
