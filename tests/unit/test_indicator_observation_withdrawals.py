"""An RUOS observation withdrawn as entered in error: ``ruos_applications_observed`` counts it no more, in the phase it was
dated, by the reasons it cited, from the withdrawal on (helper h293).

Registry publishes ``RUOSObservationWithdrawn`` with the observation's day and reason codes. The observation was never
made, so every report made after the withdrawal is the one the log without it would make, past phases included; a report
as of before it shows what was known then. Checkpoints, merges and a full fold agree.
"""

from __future__ import annotations

from datetime import date

from services.reporting.domain.indicators import Fact
from services.reporting.domain.tally import evidence, report
from tests.unit.test_indicator_corrections import F3, restored_and_recut
from tests.unit.test_indicators import F1, F2, fact, mapped, merged, phase, phases_of

OBSERVED = "ruos_applications_observed"


def observed(osv: str, day: str, *reasons: str) -> Fact:
    return fact("RUOSApplicationObserved", day, osv_id=osv, application_id=f"{osv}-app", observed_on=day, reasons=list(reasons), amend_by=day)


def withdrawn(osv: str, day: str, observed_on: str, *reasons: str, status: str = "submitted") -> Fact:
    return fact("RUOSObservationWithdrawn", day, osv_id=osv, application_id=f"{osv}-app", municipality_id="150110",
                observed_on=observed_on, observation_reasons=list(reasons), status=status, withdrawn_on=day)


def story() -> list[Fact]:
    """OSVs a and b mapped in F1 in Comas, c in Ate; b observed in F1 for real, c in F2."""
    return [
        phase(*F1), phase(*F2), mapped("a", "2021-02-01"), mapped("b", "2021-03-01"), mapped("c", "2021-03-01", "Ate", "Lima Este"),
        observed("b", "2021-05-10", "missing_document"), observed("c", "2021-08-01", "signatures_missing"),
    ]


def test_an_observation_withdrawn_counts_nowhere_in_every_report_made_after() -> None:
    recorded = story() + [observed("a", "2021-05-02", "signatures_missing", "missing_document")]
    withdrawal = [withdrawn("a", "2021-12-01", "2021-05-02", "signatures_missing", "missing_document")]

    assert phases_of(report(recorded))["F1"][OBSERVED] == {"total": 2, "by_reason": {"missing_document": 2, "signatures_missing": 1}}
    after = phases_of(report(recorded + withdrawal))
    assert (after["F1"][OBSERVED], after["F2"][OBSERVED]) == (
        {"total": 1, "by_reason": {"missing_document": 1}}, {"total": 1, "by_reason": {"signatures_missing": 1}},
    )
    for by in (None, "zone", "district"):
        assert report(recorded + withdrawal, by) == report(story(), by)
    # the evidence (by day) names the withdrawal beside the observation it takes back, in the phase of the observation's day
    rows = evidence(recorded + withdrawal, OBSERVED, "F1")["events"]
    assert [(e["type"], e["adds"]) for e in rows] == [
        ("RUOSApplicationObserved", {"total": 1, "by_reason.missing_document": 1, "by_reason.signatures_missing": 1}),
        ("RUOSApplicationObserved", {"total": 1, "by_reason.missing_document": 1}),
        ("RUOSObservationWithdrawn", {"total": -1, "by_reason.missing_document": -1, "by_reason.signatures_missing": -1}),
    ]


def test_a_report_cut_before_the_withdrawal_or_before_the_observations_day_counts_as_it_then_knew() -> None:
    recorded = story() + [observed("a", "2021-07-06", "signatures_missing")]
    # as of a moment before the withdrawal: its facts are those recorded then
    assert phases_of(report(recorded, today=date(2021, 11, 30)))["F2"][OBSERVED]["total"] == 2
    # an observation dated tomorrow (the date rule's margin), withdrawn today: neither counts in today's report, nor after
    ahead = [observed("a", "2021-07-06", "signatures_missing"), withdrawn("a", "2021-07-05", "2021-07-06", "signatures_missing")]
    assert report(story() + ahead, today=date(2021, 7, 5))["total"][OBSERVED]["total"] == 1
    assert report(story() + ahead, today=date(2021, 7, 6)) == report(story(), today=date(2021, 7, 6))


def test_a_tally_restored_before_a_withdrawal_and_re_cut_by_the_next_phase_goes_on_to_the_same_report() -> None:
    earlier = story() + [observed("a", "2021-05-02", "signatures_missing")]
    later = [withdrawn("a", "2021-12-01", "2021-05-02", "signatures_missing")]
    facts = earlier + later + [phase(*F3)]
    assert restored_and_recut(earlier, later, facts, "district") == report(facts, "district")
    assert report(facts, "district") == report(story() + [phase(*F3)], "district")


def test_an_observation_withdrawn_before_a_merge_across_districts_moves_with_the_record_taken_back() -> None:
    """Registry takes nothing on a merged record; an observation of it withdrawn before the merge moves, taken back, with
    the observations it kept to the survivor's district."""
    facts = [
        *story(), observed("a", "2021-05-02", "signatures_missing"), withdrawn("a", "2021-06-01", "2021-05-02", "signatures_missing"),
        observed("a", "2021-06-10", "missing_document"), merged("a", "c", "2021-12-01", "2021-02-01"),
    ]
    groups = report(facts, "district")["breakdown"]["groups"]
    by_district = {district: [p["indicators"][OBSERVED]["total"] for p in group["phases"]] for district, group in groups.items()}
    assert by_district == {"Ate": [1, 1], "Comas": [1, 0]}  # a's one observation that stands in F1, c's in F2: in Ate; b's in Comas
