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
