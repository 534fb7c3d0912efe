"""Funding's view of engagement's enrolments: per grant, the latest ``enrolled_on`` (tester 251 F2).

A closing is not dated before it (409 ``closed_after_enrolments``). The view ends the same whatever order the events
arrive in, keeps nothing of the person, and takes only ``ParticipantEnrolled``. On an in-memory SQLite database: no file,
no network.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select

from services.funding.views import ProjectEnrolments
from services.funding.views.enrolments import EnrolledProject
from shared.views import make_engine


def engagement_event(position: int, event_type: str, **data: Any) -> dict[str, Any]:
    """One of engagement's events as its consumer gets it: a CloudEvent at ``position`` carrying ``data``."""
    return {
        "id": f"engagement:{position}",
        "source": "urn:osv-platform:engagement",
        "type": event_type,
        "position": position,
        "data": data,
    }


def enrolled(position: int, grant_id: str, on: str) -> dict[str, Any]:
    return engagement_event(
        position,
        "ParticipantEnrolled",
        member_id=str(uuid4()),
        grant_id=grant_id,
        osv_id=str(uuid4()),
        nationality="VE",
        sex="M",
        age_band="30-44",
        enrolled_on=on,
    )


def test_the_latest_enrolment_of_each_grant_is_kept_whatever_the_order_and_nothing_of_the_person() -> None:
    grant, other = str(uuid4()), str(uuid4())
    events = [
        enrolled(1, grant, "2021-10-01"),
        enrolled(2, grant, "2021-11-15"),
        engagement_event(3, "ParticipantWithdrew", member_id=str(uuid4()), grant_id=grant, withdrew_on="2021-12-20"),
        enrolled(4, grant, "2021-10-20"),  # typed in late: an earlier day
        enrolled(5, other, "2022-01-10"),
    ]
    for seed in range(5):
        view = ProjectEnrolments(make_engine("sqlite://"))
        shuffled = events[:]
        random.Random(seed).shuffle(shuffled)
        for event in shuffled:
            view.apply([event, event])  # delivered twice, too

        assert view.last_enrolled_on(UUID(grant)) == date(2021, 11, 15)  # a withdrawal does not move it
        assert view.last_enrolled_on(UUID(other)) == date(2022, 1, 10)
        assert view.last_enrolled_on(uuid4()) is None
        with view.engine.connect() as connection:
            kept = sorted(tuple(row) for row in connection.execute(select(EnrolledProject.__table__)))
        assert kept == sorted(
            [(grant, date(2021, 11, 15)), (other, date(2022, 1, 10))]
        )  # one row a grant: its id and a day


def test_it_follows_only_engagements_enrolments_of_every_municipality() -> None:
    view = ProjectEnrolments(make_engine("sqlite://"))
    assert view.sources == ("engagement",)
    assert view.subject_for("engagement") == "osv.engagement.*.ParticipantEnrolled"
    assert view.durable_for("engagement") == "funding-project-enrolments"
