"""A grant is not closed before an activity of its project engagement holds, over real NATS.

Engagement takes no activity naming a grant held after the grant's closing (409 ``grant_open`` on ``held_on``), but
funding took ``POST /grants/{id}/closing`` dated before an activity of the project engagement already held: the platform
ended in a state its own commands forbid. Funding now follows engagement's ``ActivityReported`` and
``ActivityWithdrawn`` and refuses such a closing, 409 ``closed_after_activities`` naming ``closed_on`` and the activity's
day, never its people; an activity withdrawn as reported by mistake no longer bounds the closing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devtools.embedded import NatsServer
from tests.integration.test_closing_after_enrolments import phases_and_a_seed_grant
from tests.support.system import eventually, last_public_position, running_system

pytestmark = pytest.mark.timeout(120)

ROSA, LUIS = "5f0b7a52-8c1e-4d7e-9d0a-2b1c3e4f5a61", "0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f"  # pseudonymous person ids


def test_a_closing_dated_before_a_standing_activity_of_the_project_is_refused_naming_its_day_and_a_withdrawn_one_bounds_no_more(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        osv_id, grant_id = phases_and_a_seed_grant(system)

        def activity(held_on: str, person_id: str, sex: str) -> dict[str, Any]:
            return {
                "osv_id": osv_id,
                "held_on": held_on,
                "kind": "workshop",
                "district": "San Juan de Lurigancho",
                "grant_id": grant_id,
                "participants": [{"person_id": person_id, "nationality": "VE", "sex": sex}],
            }

        held = eventually(
            lambda: (
                (r := system.engagement.post("/activities", json=activity("2021-09-20", ROSA, "F"))).status_code == 201
                and r
            )
        )
        mistaken = system.engagement.post("/activities", json=activity("2021-10-05", LUIS, "M"))
        assert mistaken.status_code == 201, mistaken.text

        # Once engagement's ActivityReported reach funding (over NATS), a closing dated before the latest is refused.
        closing = {"outcome": "completed", "final_report_reference": "IF-2021-040", "closed_on": "2021-09-10"}

        def refused_naming(day: str, closed_on: str) -> Any:
            return eventually(
                lambda: (
                    (
                        r := system.funding.post(
                            f"/grants/{grant_id}/closing",
                            params={"dry_run": "true"},
                            json={**closing, "closed_on": closed_on},
                        )
                    ).status_code
                    == 409
                    and r.json().get("last_held_on") == day
                    and r
                ),
                timeout=30,
            )

        dry = refused_naming("2021-10-05", "2021-09-10")
        before = last_public_position(system.funding)
        refused = system.funding.post(f"/grants/{grant_id}/closing", json=closing)
        for answer in (dry, refused):
            assert answer.status_code == 409, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            body = answer.json()
            assert [(e["field"], e["rule"]) for e in body["errors"]] == [("closed_on", "closed_after_activities")]
            assert "2021-09-10" in body["detail"] and "2021-10-05" in body["detail"]
            assert body["last_held_on"] == "2021-10-05"
            assert ROSA not in answer.text and LUIS not in answer.text  # the activity's people, never
        assert last_public_position(system.funding) == before  # nothing stored
        assert system.funding.get(f"/grants/{grant_id}").json()["status"] == "open"

        # The later activity was a mistake: withdrawn, it bounds the closing no more; the one standing still does.
        withdrawal = system.engagement.post(
            f"/activities/{mistaken.json()['id']}/withdrawal", json={"reason": "Reportada en el proyecto equivocado"}
        )
        assert withdrawal.status_code == 200, withdrawal.text
        refused_naming("2021-09-20", "2021-09-10")

        # Its day itself is taken; then engagement takes no activity of the project held after it, as before.
        closed = system.funding.post(f"/grants/{grant_id}/closing", json={**closing, "closed_on": "2021-09-20"})
        assert closed.status_code == 201, closed.text
        # Dry runs until engagement has heard of the closing: a real one taken before would count (it did, in make test).
        eventually(
            lambda: system.engagement.post(
                "/activities", params={"dry_run": "true"}, json=activity("2021-09-21", ROSA, "F")
            ).status_code == 409
        )
        late = system.engagement.post("/activities", json=activity("2021-09-21", ROSA, "F"))
        assert [(e["field"], e["rule"]) for e in late.json()["errors"]] == [("held_on", "grant_open")], late.text

        # Reporting counts the activity standing in its own phase, the one withdrawn nowhere.
        system.wait_relayed()
        system.wait_applied()
        phases = {p["code"]: p["indicators"]["attendances"]["total"] for p in system.indicators()["phases"]}
        shown = system.engagement.get(f"/activities/{held.json()['id']}").json()
    assert phases == {"F1": 1, "F2": 0}
    assert (shown["held_on"], shown["grant_id"]) == ("2021-09-20", grant_id)
