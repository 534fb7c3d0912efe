"""A report counts the days that have happened by its day in Lima: a fact dated later counts from its day on (tester 271 F2).

A member may be recorded today as joining tomorrow (the date rule's day of margin): phase F3 is in progress, and it
counts its days so far, as a phase not started counts nothing. Whatever a later fact takes back or moves (a correction,
a withdrawal, a merge) is only what was counted by then. Pure: the tally folded from hand-built facts.
"""

from __future__ import annotations

import json
from datetime import date

from services.reporting.domain.indicators import Fact, phases_in
from services.reporting.domain.tally import Tally, activities_in, evidence, histories_in, report
from tests.unit.test_indicator_corrections import about, joined, nationality_corrected
from tests.unit.test_indicator_grant_withdrawals import granted, withdrawn
from tests.unit.test_indicator_joining_corrections import joining_corrected
from tests.unit.test_indicator_mapping_date_corrections import mapping_corrected
from tests.unit.test_indicators import enrolled, mapped, merged, phase, phases_of

F2 = ("F2", "2026-07-01", "2026-11-30")
F3 = ("F3", "2026-12-01", "2026-12-31")
TODAY, TOMORROW = date(2026, 12, 7), date(2026, 12, 8)


def lima_story() -> list[Fact]:
    """OSV a mapped in F2; in F3, Rosa joined on the 5th and Luz is recorded, on the 7th, as joining on the 8th, when a
    seed fund is granted and she takes part in its project."""
    return [
        phase(*F2), phase(*F3), mapped("a", "2026-11-10"),
        joined("rosa", "2026-12-05", "VE", "F"),
        joined("luz", "2026-12-08", "PE", "F"),
        granted("g", "a", "2026-12-08", amount="1000.00"),
        about(enrolled("luz", "g", "2026-12-08", "PE", "F")),
    ]


def test_a_phase_in_progress_counts_the_facts_dated_by_the_reports_day_and_a_fact_dated_later_from_its_day_on() -> None:
    facts = lima_story()

    today = report(facts, today=TODAY)
    assert [p["status"] for p in today["phases"]] == ["ended", "in_progress"]
    f3 = phases_of(today)["F3"]
    assert f3["members_joined"] == {"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}  # Rosa alone: Luz joins tomorrow
    assert (f3["projects_active"], f3["projects_new"], f3["seed_funds_granted_pen"], f3["agents_of_change"]["total"]) == (0, 0, "0.00", 0)
    assert f3["osvs_supported"] == {"total": 0, "first_time": 0, "repeat": 0}
    total = today["total"]  # nor in the total: its days have not happened either
    assert (total["members_joined"]["total"], total["projects_active"], total["seed_funds_granted_pen"], total["agents_of_change"]["total"]) == (
        1, 0, "0.00", 0)
    assert [e["event_id"] for e in evidence(facts, "members_joined", "F3", today=TODAY)["events"]] == [facts[3].event_id]
    assert evidence(facts, "seed_funds_granted_pen", "total", today=TODAY)["events"] == []

    tomorrow = phases_of(report(facts, today=TOMORROW))["F3"]  # from its day on, as any fact
    assert tomorrow["members_joined"]["total"] == 2
    assert (tomorrow["projects_active"], tomorrow["seed_funds_granted_pen"], tomorrow["agents_of_change"]["total"]) == (1, "1000.00", 1)
    assert report(facts, today=TOMORROW) == report(facts, today=date(2026, 12, 20))
    assert report(facts)["total"]["members_joined"]["total"] == 2  # a tally cut at no day (a checkpoint's) counts every fact


def test_a_fact_dated_later_that_takes_back_or_moves_what_was_counted_takes_back_only_what_was_counted_by_the_day() -> None:
    """A joining corrected to tomorrow is not counted yet; one corrected from tomorrow to yesterday counts now; a
    correction of a member who joins tomorrow moves nothing; a grant dated tomorrow withdrawn takes nothing back; an OSV
    mapped tomorrow corrected to yesterday, or merged away, likewise."""
    facts = [
        *lima_story(),
        joining_corrected("rosa", "2026-12-07", "2026-12-05", "2026-12-08", "VE"),  # same phase, a day to come: out
        joining_corrected("luz", "2026-12-07", "2026-12-08", "2026-12-06", "PE"),  # from a day to come: counted now
        nationality_corrected("luz", "2026-12-07", "PE", "VE", "2026-12-06"),
    ]
    f3 = phases_of(report(facts, today=TODAY))["F3"]
    assert f3["members_joined"] == {"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}  # Luz, now Venezuelan; not Rosa yet
    assert phases_of(report(facts, today=TOMORROW))["F3"]["members_joined"]["total"] == 2

    grant = granted("g2", "a", "2026-12-08", amount="700.00")
    mapped_ahead = mapped("b", "2026-12-08")
    taken_back = [
        phase(*F2), phase(*F3), mapped("a", "2026-11-10"), grant, withdrawn(grant, "2026-12-07"), mapped_ahead,
        mapped("c", "2026-12-08"), mapping_corrected("c", "2026-12-07", "2026-12-08", "2026-12-03"),
        merged("b", "a", "2026-12-07", "2026-12-08"),
    ]
    f3 = phases_of(report(taken_back, today=TODAY))["F3"]
    assert (f3["seed_funds_granted_pen"], f3["projects_new"], f3["osvs_identified"]) == ("0.00", 0, 1)  # c alone, on the 3rd
    assert report(taken_back, today=TODAY)["total"]["osvs_identified"] == 2  # a and c: b, merged away, was never counted
    assert phases_of(report(taken_back, today=TOMORROW))["F3"]["osvs_identified"] == 1  # b counted on the 8th, and taken back


def test_a_tally_restored_from_a_checkpoint_and_cut_at_a_day_comes_to_what_folding_every_fact_cut_at_it_does() -> None:
    """A checkpoint counts every fact; the report of a day starts from one that counted nothing after that day, and
    folds on from it leaving out the facts dated later: the same figures as a full fold cut at the day."""
    facts = [
        *lima_story(),
        joining_corrected("rosa", "2026-12-07", "2026-12-05", "2026-12-08", "VE"),
        merged("a", "z", "2026-12-07", "2026-11-10", district="Ate", zone="Lima Este"),
    ]
    facts.insert(3, mapped("z", "2026-11-11", "Ate", "Lima Este"))
    saved_at = 5  # the mappings and Rosa's joining: nothing dated after the 7th
    phases = phases_in(facts)
    checkpoint = Tally(phases).fold(facts[:saved_at])
    assert checkpoint.latest_day <= TODAY.toordinal()
    restored = Tally.restore(json.loads(json.dumps(checkpoint.state())), phases, activities_in(facts), until=TODAY)
    restored.history = histories_in(facts)
    restored.recall(facts[:saved_at])
    restored.fold(facts[saved_at:])
    for by in (None, "district"):
        assert restored.report(phases, by, today=TODAY) == report(facts, by, today=TODAY)
    assert Tally(phases).fold(facts).latest_day == TOMORROW.toordinal()  # a checkpoint of them all serves no report of the 7th
