"""A grant is not closed before an enrolment engagement holds in its project (tester 251 F2), over real NATS.

Funding took ``POST /grants/{id}/closing`` dated before an agent of change's enrolment: reporting then ended that
participation before it began (the agent counted in no phase) while engagement still listed it open, a state the
platform's own commands forbid the other way round (engagement's 409 ``grant_open``). Funding now follows engagement's
``ParticipantEnrolled`` and refuses such a closing, 409 ``closed_after_enrolments`` naming ``closed_on`` and the
enrolment's day, never the person.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devtools.embedded import NatsServer
from tests.support.system import eventually, last_public_position, running_system

pytestmark = pytest.mark.timeout(120)

CARLOS = {
    "full_name": "Carlos Eduardo Rengifo Salas",
    "document_type": "CE",
    "document_number": "002345678",
    "nationality": "VE",
    "sex": "M",
    "joined_on": "2021-06-01",
    "birth_year": 1988,
}


def phases_and_a_seed_grant(system: Any) -> tuple[str, str]:
    """Phases F1 (2021-03-01..09-30) and F2 (2021-10-01..12-31), an OSV of San Juan de Lurigancho and its seed grant of
    2021-07-01 (once funding's OSV directory knows it): the OSV's id and the grant's."""
    for code, starts_on, ends_on in (("F1", "2021-03-01", "2021-09-30"), ("F2", "2021-10-01", "2021-12-31")):
        opened = system.funding.post("/phases", json={"code": code, "name": code, "starts_on": starts_on, "ends_on": ends_on})
        assert opened.status_code == 201, opened.text
    osv = system.registry.post(
        "/osvs", json={"name": "Vecinos de Zárate", "district": "San Juan de Lurigancho", "mapped_on": "2021-05-10"}
    )
    assert osv.status_code == 201, osv.text
    osv_id = osv.json()["id"]
    grant = {"osv_id": osv_id, "amount": "3000.00", "currency": "PEN", "granted_on": "2021-07-01", "kind": "seed_fund"}
    granted = eventually(lambda: (r := system.funding.post("/grants", json=grant)).status_code == 201 and r)
    return osv_id, granted.json()["id"]


def test_a_closing_dated_before_an_enrolment_engagement_holds_is_refused_naming_its_day_and_the_day_itself_is_taken(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        osv_id, grant_id = phases_and_a_seed_grant(system)
        member = eventually(
            lambda: (
                (r := system.engagement.post("/members", json={"osv_id": osv_id, **CARLOS})).status_code == 201 and r
            )
        )
        member_id = member.json()["id"]
        enrolment = {"grant_id": grant_id, "enrolled_on": "2021-10-01"}
        eventually(
            lambda: system.engagement.post(f"/members/{member_id}/participations", json=enrolment).status_code == 201
        )

        # Once engagement's ParticipantEnrolled reaches funding (over NATS), a closing dated before it is refused.
        closing = {"outcome": "cancelled", "final_report_reference": "IF-2021-031", "closed_on": "2021-08-15"}
        dry = eventually(
            lambda: (
                (
                    r := system.funding.post(f"/grants/{grant_id}/closing", params={"dry_run": "true"}, json=closing)
                ).status_code
                != 201
                and r
            ),
            timeout=30,
        )
        before = last_public_position(system.funding)
        refused = system.funding.post(f"/grants/{grant_id}/closing", json=closing)
        for answer in (dry, refused):
            assert answer.status_code == 409, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            body = answer.json()
            assert [(e["field"], e["rule"]) for e in body["errors"]] == [("closed_on", "closed_after_enrolments")]
            assert "2021-08-15" in body["detail"] and "2021-10-01" in body["detail"]
            assert body["last_enrolled_on"] == "2021-10-01"
            assert (
                "Carlos" not in answer.text
                and CARLOS["document_number"] not in answer.text
                and member_id not in answer.text
            )
        assert last_public_position(system.funding) == before  # nothing stored
        assert system.funding.get(f"/grants/{grant_id}").json()["status"] == "open"

        # The enrolment's day itself is taken; then engagement enrols no one after it, as before.
        closed = system.funding.post(f"/grants/{grant_id}/closing", json={**closing, "closed_on": "2021-10-01"})
        assert closed.status_code == 201, closed.text
        later = system.engagement.post(
            "/members", json={"osv_id": osv_id, **CARLOS, "full_name": "Rosa Quispe", "document_number": "003456789"}
        )
        assert later.status_code == 201, later.text
        late = (f"/members/{later.json()['id']}/participations", {"grant_id": grant_id, "enrolled_on": "2021-10-02"})
        # Dry runs until engagement has heard of the closing: a real enrolment taken before it would stand.
        eventually(lambda: system.engagement.post(late[0], params={"dry_run": "true"}, json=late[1]).status_code == 409)
        refused_enrolment = system.engagement.post(late[0], json=late[1])
        assert refused_enrolment.json()["errors"][0]["rule"] == "grant_open", refused_enrolment.text

        # Carlos counts where he took part: F2, the day of his enrolment and the project's closing.
        system.wait_relayed()
        system.wait_applied()
        phases = {p["code"]: p["indicators"]["agents_of_change"]["total"] for p in system.indicators()["phases"]}
        participation = system.engagement.get(f"/members/{member_id}?purpose=contact").json()["participations"]
    assert phases == {"F1": 0, "F2": 1}
    assert [(p["grant_id"], p["enrolled_on"]) for p in participation] == [(grant_id, "2021-10-01")]
