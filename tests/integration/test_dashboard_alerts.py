"""``GET /alerts``: the follow-up alerts as JSON, on the read model in SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from services.reporting.domain.alerts import alerts
from shared.clock import today_in_lima
from shared.municipalities import MunicipalityTable
from tests.support.clients import application_of
from tests.support.reporting_feed import COMAS, SJL, ReportingFeed, a_programme_year

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("reporting")]

@pytest.fixture
def store(database_url: str) -> str:
    """Every story here runs on SQLite, then on PostgreSQL."""
    return database_url


def test_the_alerts_list_who_to_meet_which_board_to_renew_and_where_a_focal_point_is_missing(client: TestClient) -> None:
    today = today_in_lima()
    osvs = a_programme_year(ReportingFeed(client.app.state.runtime.app.readmodel, today))  # type: ignore[attr-defined]

    found = client.get("/alerts").json()

    assert (found["today"], found["overdue_after_days"], found["within_days"]) == (today.isoformat(), 45, 60)
    assert found["overdue_meetings"] == [
        {
            "osv_id": osvs["Olla Común Las Flores"],
            "name": "Olla Común Las Flores",
            "district": "Comas",
            "zone": "Lima Norte",
            "last_met_on": None,
            "counted_from": (today - timedelta(days=300)).isoformat(),
            "days_without_meeting": 300,
        }
    ]
    (board,) = found["board_terms"]
    assert (board["name"], board["days_left"], board["status"]) == ("Club de Madres Nueva Esperanza", 30, "expiring")
    assert [(m["municipality_id"], m["last_left_on"]) for m in found["municipalities_without_focal_point"]] == [
        (COMAS, (today - timedelta(days=20)).isoformat()),
        (SJL, None),
    ]

    # Tighter limits flag the OSV met ten days ago; a shorter horizon drops the board ending in 30 days.
    tighter = client.get("/alerts?days=7&within_days=29").json()
    assert {o["name"] for o in tighter["overdue_meetings"]} == {"Olla Común Las Flores", "Comedor Popular Santa Rosa"}
    assert tighter["board_terms"] == []


def test_the_alerts_answer_as_of_a_moment_as_the_dashboards_cut_does(client: TestClient) -> None:
    """README lists /alerts among the reports that take ``as_of``, and the dashboard cuts its alerts: the API refused it."""
    today = today_in_lima()
    a_programme_year(ReportingFeed(client.app.state.runtime.app.readmodel, today))  # type: ignore[attr-defined]
    now = client.get("/alerts").json()
    assert now["overdue_meetings"]

    before = client.get("/alerts", params={"as_of": "2021-01-01T12:00:00-05:00"})
    assert before.status_code == 200, before.text
    assert (before.json()["today"], before.json()["overdue_meetings"], before.json()["board_terms"]) == ("2021-01-01", [], [])
    future = client.get("/alerts", params={"as_of": "2999-01-01T00:00:00Z"})
    assert (future.status_code, future.json()["errors"][0]["field"]) == (422, "as_of")


def test_alert_limits_out_of_range_are_refused_naming_the_field(client: TestClient) -> None:
    response = client.get("/alerts?within_days=-1")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "within_days"


def test_the_alerts_read_from_each_osvs_last_meeting_equal_the_alerts_read_from_every_fact(client: TestClient) -> None:
    today = today_in_lima()
    readmodel = application_of(client).readmodel
    feed = ReportingFeed(readmodel, today)
    osvs = a_programme_year(feed)
    # More meetings, some recorded after later ones: only each OSV's latest can matter.
    for name, days_ago in (("Olla Común Las Flores", 50), ("Olla Común Las Flores", 80), ("Comedor Popular Santa Rosa", 200)):
        feed.meeting_held(osvs[name], -days_ago)

    municipalities = MunicipalityTable.of_lima().all()
    kept = readmodel.alert_facts()
    assert len([f for f in kept if f.type == "FollowUpMeetingHeld"]) < len(readmodel.facts(types={"FollowUpMeetingHeld"}))
    assert alerts(kept, today, municipalities) == alerts(readmodel.facts(), today, municipalities)
