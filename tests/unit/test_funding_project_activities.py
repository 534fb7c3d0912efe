"""Funding's view of engagement's activities: per grant, the day of the latest activity of its project not withdrawn.

A closing is not dated before it (409 ``closed_after_activities``). The view ends the same whatever order
``ActivityReported`` and ``ActivityWithdrawn`` arrive in, or twice, keeps nothing of the activity's people, and takes
only those two events. On an in-memory SQLite database: no file, no network.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select

from services.funding.views import ProjectActivities
from services.funding.views.activities import ProjectActivity, WithdrawnActivity
from shared.views import make_engine
from tests.unit.test_funding_project_enrolments import engagement_event

PERSON = str(uuid4())  # a participant's pseudonymous id, which the view must not keep


def reported(position: int, activity_id: str, grant_id: str | None, held_on: str) -> dict[str, Any]:
    return engagement_event(
        position,
        "ActivityReported",
        activity_id=activity_id,
        osv_id=str(uuid4()),
        held_on=held_on,
        kind="workshop",
        district="Comas",
        zone="Lima Norte",
        direct_beneficiaries=[{"nationality": "VE", "sex": "F", "count": 1}],
        indirect_beneficiaries=4,
        outputs=[],
        grant_id=grant_id,
        participants=[{"person_id": PERSON, "nationality": "VE", "sex": "F", "member": True}],
        counted_by="persons",
        distinct_from=[],
    )


def withdrawn(position: int, activity_id: str, held_on: str) -> dict[str, Any]:
    return engagement_event(
        position,
        "ActivityWithdrawn",
        activity_id=activity_id,
        osv_id=str(uuid4()),
        held_on=held_on,
        withdrawn_on="2021-12-20",
    )


def test_the_latest_standing_activity_of_each_grant_is_kept_whatever_the_order_and_nothing_of_its_people() -> None:
    grant, other = str(uuid4()), str(uuid4())
    first, mistaken, late, elsewhere, unfunded = (str(uuid4()) for _ in range(5))
    events = [
        reported(1, first, grant, "2021-10-01"),
        reported(2, mistaken, grant, "2021-11-15"),  # the latest, then withdrawn as reported by mistake
        withdrawn(3, mistaken, "2021-11-15"),
        reported(4, late, grant, "2021-10-20"),  # typed in late: an earlier day
        reported(5, elsewhere, other, "2022-01-10"),
        reported(6, unfunded, None, "2022-03-01"),  # of no project: nothing kept
        engagement_event(7, "ParticipantEnrolled", member_id=str(uuid4()), grant_id=grant, enrolled_on="2022-02-01"),
    ]
    for seed in range(8):
        view = ProjectActivities(make_engine("sqlite://"))
        shuffled = events[:]
        random.Random(seed).shuffle(shuffled)  # a withdrawal may come before its report
        for event in shuffled:
            for each in (view, view.withdrawals):
                each.apply([event, event])  # delivered twice, too, and to both views (each filters on its own)

        assert view.last_held_on(UUID(grant)) == date(2021, 10, 20)  # the withdrawn activity bounds no more
        assert view.last_held_on(UUID(other)) == date(2022, 1, 10)
        assert view.last_held_on(uuid4()) is None
        with view.engine.connect() as connection:
            kept = sorted(tuple(row) for row in connection.execute(select(ProjectActivity.__table__)))
            gone = list(connection.execute(select(WithdrawnActivity.__table__)))
        assert kept == sorted(
            [
                (first, grant, date(2021, 10, 1)),
                (late, grant, date(2021, 10, 20)),
                (elsewhere, other, date(2022, 1, 10)),
            ]
        )  # one row a funded activity: its id, its grant's and a day; no row left of the withdrawn one
        assert gone == [(mistaken,)]
        assert PERSON not in repr(kept)


def test_a_withdrawal_first_leaves_nothing_standing_once_its_report_arrives() -> None:
    grant, activity = str(uuid4()), str(uuid4())
    view = ProjectActivities(make_engine("sqlite://"))
    view.withdrawals.apply([withdrawn(9, activity, "2021-11-15")])
    view.apply([reported(8, activity, grant, "2021-11-15")])
    assert view.last_held_on(UUID(grant)) is None
    with view.engine.connect() as connection:
        assert list(connection.execute(select(ProjectActivity.__table__))) == []


def test_it_follows_only_engagements_reports_and_withdrawals_of_activities_of_every_municipality() -> None:
    view = ProjectActivities(make_engine("sqlite://"))
    assert (view.sources, view.withdrawals.sources) == (("engagement",), ("engagement",))
    assert view.subject_for("engagement") == "osv.engagement.*.ActivityReported"
    assert view.withdrawals.subject_for("engagement") == "osv.engagement.*.ActivityWithdrawn"
    assert (view.durable_for("engagement"), view.withdrawals.durable_for("engagement")) == (
        "funding-project-activities",
        "funding-activity-withdrawals",
    )
