"""A follow-up meeting withdrawn as recorded by mistake counts nowhere from then on (the tally and the alerts; no I/O).

It inflated ``follow_up_meetings``, kept its actions in ``actions_pending_at_phase_end`` and hid the "no follow-up for N
days" alert. Engagement's ``FollowUpMeetingWithdrawn`` repeats the meeting's day and its actions' dates.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.reporting.domain.alerts import overdue_meetings
from services.reporting.domain.indicators import Fact
from services.reporting.domain.tally import evidence, report
from tests.unit.test_indicators import (
    F1,
    F2,
    assert_restored_goes_on_as_a_full_fold,
    fact,
    mapped,
    merged,
    phase,
    phases_of,
)


def meeting(osv: str, meeting_id: str, day: str, *actions: str) -> Fact:
    return fact("FollowUpMeetingHeld", day, osv_id=osv, meeting_id=meeting_id, held_on=day,
                action_items=[{"action_id": a, "due_on": "2021-12-01"} for a in actions])


def done(osv: str, meeting_id: str, action: str, day: str) -> Fact:
    return fact("ActionItemCompleted", day, osv_id=osv, meeting_id=meeting_id, action_id=action, due_on="2021-12-01", completed_on=day)


def withdrawn(osv: str, meeting_id: str, held_on: str, day: str, actions: dict[str, str | None]) -> Fact:
    """The meeting's withdrawal, its actions as they stood (action id → completed on, or None)."""
    items = [{"action_id": a, "due_on": "2021-12-01", "completed_on": on} for a, on in actions.items()]
    return fact("FollowUpMeetingWithdrawn", day, osv_id=osv, meeting_id=meeting_id, held_on=held_on, reason="wrong_osv",
                withdrawn_on=day, action_items=items)


def figures(facts: list[Fact]) -> dict[str, tuple[Any, Any]]:
    by_phase = phases_of(report(facts))
    return {code: (p["follow_up_meetings"], p["actions_pending_at_phase_end"]) for code, p in by_phase.items()}


def test_a_meeting_withdrawn_in_a_later_phase_is_taken_back_from_the_phase_it_was_held_in_with_its_actions() -> None:
    before = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02"),
        meeting("a", "right", "2021-02-01", "r1"),
        meeting("a", "wrong", "2021-03-01", "x", "y", "z"),
        done("a", "wrong", "x", "2021-04-01"),  # done in F1
        done("a", "wrong", "y", "2021-08-01"),  # done only in F2: pending at F1's end
    ]
    assert figures(before) == {"F1": (2, 3), "F2": (0, 2)}  # r1, y and z at F1's end; r1 and z at F2's

    after = [*before, withdrawn("a", "wrong", "2021-03-01", "2021-09-15", {"x": "2021-04-01", "y": "2021-08-01", "z": None})]

    assert figures(after) == {"F1": (1, 1), "F2": (0, 1)}  # as if never held: r1 alone is pending
    assert report(after)["total"]["follow_up_meetings"] == 1


def test_the_evidence_of_the_meetings_figure_lists_the_withdrawal_taking_it_back() -> None:
    facts = [
        phase(*F1), mapped("a", "2021-01-02"), meeting("a", "wrong", "2021-03-01", "x"),
        withdrawn("a", "wrong", "2021-03-01", "2021-05-01", {"x": None}),
    ]

    found = evidence(facts, "follow_up_meetings", "F1")

    assert found["value"] == 0
    assert [(e["type"], e["adds"]) for e in found["events"]] == [("FollowUpMeetingHeld", {"value": 1}), ("FollowUpMeetingWithdrawn", {"value": -1})]


def test_a_tally_restored_from_a_checkpoint_takes_the_meeting_back_as_one_folded_from_the_first_fact() -> None:
    earlier = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02", "Ate", "Lima Este"),
        meeting("a", "wrong", "2021-03-01", "x", "y"), done("a", "wrong", "x", "2021-07-10"),
    ]
    later = [withdrawn("a", "wrong", "2021-03-01", "2021-09-15", {"x": "2021-07-10", "y": None})]
    facts = earlier + later
    assert_restored_goes_on_as_a_full_fold(earlier, later)
    assert figures(facts) == {"F1": (0, 0), "F2": (0, 0)}


def test_a_meeting_of_a_record_merged_across_districts_is_taken_back_where_it_counts_whether_withdrawn_before_or_after_the_merge() -> None:
    start = [
        phase(*F1), phase(*F2), mapped("a", "2021-01-02", "Ate", "Lima Este"), mapped("b", "2021-01-03", "Comas", "Lima Norte"),
        meeting("a", "wrong", "2021-03-01", "x"),
    ]
    merge = merged("a", "b", "2021-08-01", "2021-01-02", "Ate", "Lima Este")
    withdrawal = withdrawn("a", "wrong", "2021-03-01", "2021-09-01", {"x": None})

    def in_f1(facts: list[Fact]) -> dict[str, tuple[int, int]]:
        groups = report(facts, "district")["breakdown"]["groups"]
        shown = {district: group["phases"][0]["indicators"] for district, group in groups.items()}
        return {district: (f1["follow_up_meetings"], f1["actions_pending_at_phase_end"]) for district, f1 in shown.items()}

    assert in_f1([*start, merge])["Comas"] == (1, 1)  # moved with the record it was held with
    for facts in ([*start, merge, withdrawal], [*start, withdrawal, merge]):
        assert set(in_f1(facts).values()) <= {(0, 0)}, facts[-1].type


def test_the_follow_up_alert_counts_from_the_last_meeting_not_withdrawn() -> None:
    today = date(2021, 6, 1)
    facts = [
        mapped("a", "2021-01-02"), meeting("a", "right", "2021-03-01"), meeting("a", "wrong", "2021-05-20"),
        mapped("b", "2021-01-02"), meeting("b", "only", "2021-05-25"),
    ]
    assert overdue_meetings(facts, today) == []

    facts += [
        withdrawn("a", "wrong", "2021-05-20", "2021-05-30", {}),
        withdrawn("b", "only", "2021-05-25", "2021-05-30", {}),
    ]

    found = {o.osv_id: (o.last_met_on, o.counted_from) for o in overdue_meetings(facts, today)}
    assert found == {"a": (date(2021, 3, 1), date(2021, 3, 1)), "b": (None, date(2021, 1, 2))}
