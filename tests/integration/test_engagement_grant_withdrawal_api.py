"""Engagement takes no new record naming a grant funding withdrew as entered in error (grant withdrawal in engagement).

Funding's ``POST /grants/{id}/withdrawal`` publishes ``GrantWithdrawn`` (tester 177 F1); engagement went on enrolling
agents of change in the grant's project and taking its activities. Now each record naming the grant (an enrolment, an
activity) is 409 ``grant_not_withdrawn`` naming ``grant_id``, and stores nothing; what was recorded before the withdrawal
arrived stays as recorded. Funding's events are handed to engagement's real grant directory, as its consumer would.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import Upstream, assert_problem, created

pytestmark = pytest.mark.timeout(60)


def upstream(client: TestClient) -> Upstream:
    return Upstream(client.app.state.runtime.app, mapped_on="2024-01-15")


def a_member(client: TestClient, osv_id: str) -> str:
    person = {
        "osv_id": osv_id, "full_name": "Yusmary Cordero Palacios", "document_type": "CEDULA_VE",
        "document_number": "V-18765432", "nationality": "VE", "sex": "F", "joined_on": "2024-02-01",
    }
    return created(client.post("/members", json=person))["id"]


def an_activity(osv_id: str, grant_id: str, held_on: str = "2024-07-10") -> dict[str, Any]:
    return {
        "osv_id": osv_id, "held_on": held_on, "kind": "mural_painting", "district": "Comas",
        "direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": 14}], "indirect_beneficiaries": 40,
        "outputs": [{"kind": "mural", "count": 1}], "grant_id": grant_id,
    }


def head(client: TestClient) -> int:
    return int(client.get("/events").json()["head"])


def test_no_enrolment_nor_activity_names_a_withdrawn_grant_and_what_was_recorded_before_stays(engagement: TestClient) -> None:
    up = upstream(engagement)
    osv_id = up.osv_mapped()
    grant_id = up.fund_granted(osv_id, granted_on="2024-06-01")
    member = a_member(engagement, osv_id)
    enrolled = created(engagement.post(f"/members/{member}/participations", json={"grant_id": grant_id, "enrolled_on": "2024-06-15"}))
    held = created(engagement.post("/activities", json=an_activity(osv_id, grant_id)))

    # Funding withdraws the grant as entered in error; its GrantWithdrawn reaches engagement.
    up.grant_withdrawn(grant_id, osv_id, granted_on="2024-06-01", withdrawn_on="2024-09-02")
    other = created(engagement.post("/members", json={
        "osv_id": osv_id, "full_name": "Ramón Quispe Huamán", "document_type": "DNI", "document_number": "40123456",
        "nationality": "PE", "sex": "M", "joined_on": "2024-02-01",
    }))["id"]
    before = head(engagement)

    # An enrolment and an activity naming it, whatever their date (one dated before the withdrawal, typed in late, too).
    for dry_run in (False, True):
        params = {"dry_run": "true"} if dry_run else {}
        enrolment = engagement.post(f"/members/{other}/participations", params=params, json={"grant_id": grant_id, "enrolled_on": "2024-06-20"})
        body = assert_problem(enrolment, 409, "grant_id", "grant_not_withdrawn")
        assert "2024-09-02" in body["detail"] and "stays as recorded" in body["detail"]
        activity = engagement.post("/activities", params=params, json=an_activity(osv_id, grant_id, held_on="2024-07-20"))
        assert_problem(activity, 409, "grant_id", "grant_not_withdrawn")
    assert head(engagement) == before

    # What was recorded before the withdrawal stays as recorded: the enrolment, the activity held. Ending the
    # participation, which winds it down, is taken.
    participations = engagement.get(f"/members/{member}?purpose=contact").json()["participations"]
    assert [p["grant_id"] for p in participations] == [enrolled["grant_id"]] == [grant_id]
    assert engagement.get(f"/activities/{held['id']}").json()["grant_id"] == grant_id
    ended = engagement.post(f"/members/{member}/participations/{grant_id}/withdrawal", json={"withdrew_on": "2024-09-02"})
    assert ended.status_code == 200, ended.text
    # The OSV's other grant, not withdrawn, is taken as ever.
    kept = up.fund_granted(osv_id, granted_on="2024-06-01")
    created(engagement.post(f"/members/{other}/participations", json={"grant_id": kept, "enrolled_on": "2024-06-20"}))
    created(engagement.post("/activities", json=an_activity(osv_id, kept, held_on="2024-07-20")))


def test_a_withdrawal_heard_before_its_grant_is_refused_as_withdrawn_not_as_unknown(engagement: TestClient) -> None:
    """Events arrive in any order: a withdrawal repeats what its FundGranted said, so the grant is known, and withdrawn."""
    up = upstream(engagement)
    osv_id = up.osv_mapped()
    grant_id = "0b6f3a8e-5d0c-4c1e-9a51-4f2a0a1d7c11"
    up.grant_withdrawn(grant_id, osv_id, granted_on="2024-06-01")
    member = a_member(engagement, osv_id)
    refused = engagement.post(f"/members/{member}/participations", json={"grant_id": grant_id, "enrolled_on": "2024-06-20"})
    assert_problem(refused, 409, "grant_id", "grant_not_withdrawn")
    assert "Retry-After" not in refused.headers
