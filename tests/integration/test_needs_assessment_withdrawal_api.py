"""A needs assessment recorded by mistake is withdrawn over HTTP
(``POST /osvs/{osv_id}/needs-assessments/{assessment_id}/withdrawal``), on SQLite."""

from __future__ import annotations

from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from tests.support.api import Upstream, assert_problem, created
from tests.support.clients import application_of, feed, head

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("engagement")]

ASSESSMENT = {"assessed_on": "2025-04-05", "members_assessed": 12, "members_over_5_years_in_peru": 3,
              "needs": [{"area": "employment", "members_affected": 9, "priority": "high"}]}


def test_an_assessment_withdrawn_stays_listed_marked_once_and_the_right_one_is_recorded_again(client: TestClient) -> None:
    osv_id = Upstream(application_of(client), mapped_on="2024-01-15").osv_mapped()
    other_osv = Upstream(application_of(client), mapped_on="2024-01-15").osv_mapped()
    path = f"/osvs/{osv_id}/needs-assessments"
    wrong = created(client.post(path, json=ASSESSMENT))
    withdrawal = f"{path}/{wrong['assessment_id']}/withdrawal"
    written = head(client)
    assert client.post(withdrawal, json={"reason": "wrong_osv"}, headers={"Dry-Run": "true"}).json()["status"] == "withdrawn"
    assert head(client) == written

    answer = client.post(withdrawal, json={"reason": "wrong_osv"})

    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["withdrawal"]["reason"]) == ("withdrawn", "wrong_osv")
    assert_problem(client.post(withdrawal, json={"reason": "duplicate"}), 409, "assessment_id", "assessment_not_withdrawn")
    assert_problem(client.post(f"{path}/{uuid4()}/withdrawal", json={"reason": "duplicate"}), 404, "assessment_id", "known_assessment")
    assert_problem(
        client.post(f"/osvs/{other_osv}/needs-assessments/{wrong['assessment_id']}/withdrawal", json={"reason": "duplicate"}),
        404, "assessment_id", "known_assessment",
    )
    right = created(client.post(path, json=ASSESSMENT))
    assert [(a["assessment_id"], a["status"]) for a in client.get(path).json()] == [
        (right["assessment_id"], "assessed"), (wrong["assessment_id"], "withdrawn"),
    ]
    [published] = [e["data"] for e in feed(client) if e["type"] == "NeedsAssessmentWithdrawn"]
    assert (published["assessment_id"], published["reason"]) == (wrong["assessment_id"], "wrong_osv")


def test_a_field_the_withdrawal_does_not_take_is_told_to_be_left_out(client: TestClient) -> None:
    """Tester 251 F4: a `note` on an assessment's withdrawal (a meeting's takes one, an assessment's a code only) got
    pydantic's "Extra inputs are not permitted"; every request's unknown field is said in the project's words now."""
    osv_id = Upstream(application_of(client), mapped_on="2024-01-15").osv_mapped()
    path = f"/osvs/{osv_id}/needs-assessments"
    wrong = created(client.post(path, json=ASSESSMENT))
    written = head(client)

    answer = client.post(f"{path}/{wrong['assessment_id']}/withdrawal", json={"reason": "duplicate", "note": "x"})

    problem = assert_problem(answer, 422, "note", "extra_forbidden")
    assert problem["errors"][0]["message"].startswith("is no field of this request: leave it out"), problem
    assert head(client) == written
