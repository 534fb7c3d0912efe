"""Technical assistance or a needs assessment engagement took after an OSV's dissolution, then withdrew as recorded by
mistake (``TechnicalAssistanceWithdrawn``, ``NeedsAssessmentWithdrawn``): nothing is left to follow up, and a report
as of a moment before lists it. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from shared.clock import today_in_lima
from tests.support.clients import application_of
from tests.support.identity import signed_in_headers
from tests.support.reporting_feed import ReportingFeed

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("reporting")]


@pytest.fixture
def store(database_url: str) -> str:
    return database_url


def test_assistance_given_after_a_dissolution_leaves_the_alert_once_withdrawn_and_is_listed_as_of_a_moment_before(
    client: TestClient,
) -> None:
    feed = ReportingFeed(application_of(client).readmodel, today_in_lima())
    osv = feed.osv_mapped("Olla Común Nueva Vida", "San Juan de Lurigancho", "Lima Este", -120)
    feed.dissolved(osv, -40)
    follow_up, assistance, given_on = str(uuid4()), str(uuid4()), feed.day(-30)
    record = {"osv_id": osv, "assistance_id": assistance, "given_on": given_on, "topic": "accounting", "hours": "2.00"}
    feed.publish("engagement", "TechnicalAssistanceGiven", given_on, subject=follow_up, distinct_from=[], **record)
    assert [item["type"] for item in client.get("/alerts").json()["recorded_after_dissolution"]] == ["TechnicalAssistanceGiven"]
    before = datetime.now(timezone.utc)

    # The subject is the OSV's follow-up, the record's own: the withdrawal is found by it.
    feed.publish("engagement", "TechnicalAssistanceWithdrawn", feed.day(0), subject=follow_up, reason="wrong_date",
                 withdrawn_on=feed.day(0), **record)

    assert client.get("/alerts").json()["recorded_after_dissolution"] == []
    then = client.get("/alerts", params={"as_of": before.isoformat()}).json()["recorded_after_dissolution"]
    assert [item["type"] for item in then] == ["TechnicalAssistanceGiven"]
    assert client.get("/alerts", headers=signed_in_headers("municipal-150132")).json()["recorded_after_dissolution"] == []


def test_a_needs_assessment_made_after_a_dissolution_leaves_the_alert_once_withdrawn(client: TestClient) -> None:
    feed = ReportingFeed(application_of(client).readmodel, today_in_lima())
    osv = feed.osv_mapped("Olla Común Nueva Vida", "San Juan de Lurigancho", "Lima Este", -120)
    feed.dissolved(osv, -40)
    needs_record, assessment, assessed_on = str(uuid4()), str(uuid4()), feed.day(-30)
    made = {"osv_id": osv, "assessment_id": assessment, "assessed_on": assessed_on}
    feed.publish("engagement", "NeedsAssessed", assessed_on, subject=needs_record, members_assessed=5, members_over_5_years_in_peru=1,
                 needs=[], distinct_from=[], **made)
    assert [item["type"] for item in client.get("/alerts").json()["recorded_after_dissolution"]] == ["NeedsAssessed"]

    feed.publish("engagement", "NeedsAssessmentWithdrawn", feed.day(0), subject=needs_record, reason="duplicate",
                 withdrawn_on=feed.day(0), **made)

    assert client.get("/alerts").json()["recorded_after_dissolution"] == []
