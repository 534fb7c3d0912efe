"""An OSV's story travels from the write services through NATS into the indicators."""

from __future__ import annotations

from pathlib import Path

from devtools.embedded import NatsServer
from tests.support.system import System, eventually, running_system


def map_register_grant_and_enrol(system: System) -> dict[str, str]:
    """Phase 1 sees an OSV mapped and registered; phase 2 funds it and sees a member come and go."""
    assert system.funding.post(
        "/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-09-30"}
    ).status_code == 201
    assert system.funding.post(
        "/phases", json={"code": "F2", "name": "Fase 2", "starts_on": "2021-10-01", "ends_on": "2021-12-31"}
    ).status_code == 201

    osv = system.registry.post("/osvs", json={"name": "Unidos por Comas", "district": "comas", "mapped_on": "2021-03-15"})
    assert osv.status_code == 201, osv.text
    osv_id = osv.json()["id"]
    registered = system.registry.post(
        f"/osvs/{osv_id}/ruos-registration", json={"municipality_id": "mml", "ruos_number": "RUOS-2021-0042", "registered_on": "2021-08-20"}
    )
    assert registered.status_code == 201, registered.text

    # Funding learns of the OSV from registry's events, not from registry's tables.
    grant = eventually(
        lambda: (
            r := system.funding.post(
                "/grants",
                json={"osv_id": osv_id, "amount": "3500.00", "currency": "PEN", "granted_on": "2021-10-20", "kind": "seed_fund"},
            )
        ).status_code == 201 and r
    )
    # Engagement, too, learns of the OSV from registry's events.
    member = eventually(
        lambda: (
            r := system.engagement.post(
                "/members",
                json={
                    "osv_id": osv_id,
                    "full_name": "Yusleidy Carolina Pérez Mora",
                    "document_type": "CE",
                    "document_number": "001234567",
                    "nationality": "VE",
                    "sex": "F",
                    "joined_on": "2021-10-05",
                    "birth_year": 1990,
                },
            )
        ).status_code == 201 and r
    )
    member_id = member.json()["id"]
    left = system.engagement.post(
        f"/members/{member_id}/departure", json={"left_on": "2021-12-10", "reason": "moved_abroad"}
    )
    assert left.status_code == 200, left.text
    return {"osv_id": osv_id, "grant_id": grant.json()["id"], "member_id": member_id}


def test_an_osv_mapped_registered_funded_and_joined_shows_in_each_phase_of_the_indicators(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        map_register_grant_and_enrol(system)
        system.wait_relayed()
        system.wait_applied()
        report = system.indicators()

    phase1, phase2 = report["phases"]
    assert (phase1["code"], phase1["indicators"]["osvs_identified"], phase1["indicators"]["osvs_registered_ruos"]) == ("F1", 1, 1)
    assert phase1["indicators"]["osvs_supported"]["total"] == 0
    assert phase2["indicators"]["osvs_identified"] == 0
    assert phase2["indicators"]["osvs_supported"]["total"] == 1
    assert phase2["indicators"]["seed_funds_granted_pen"] == "3500.00"
    assert phase2["indicators"]["members_joined"] == {"total": 1, "by_nationality": {"VE": 1}}
    assert phase2["indicators"]["members_left"] == {"total": 1, "by_nationality": {"VE": 1}}
    assert phase2["indicators"]["members_left_by_reason"] == {"moved_abroad": 1}
    assert report["total"]["osvs_identified"] == 1
    assert report["total"]["seed_funds_granted_pen"] == "3500.00"
