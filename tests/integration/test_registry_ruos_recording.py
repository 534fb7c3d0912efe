"""Who records a municipality's RUOS decisions over HTTP: each focal point its own municipality's, staff any.

An OSV of San Juan de Lurigancho may apply to its district's RUOS or to the
MML's. Its district's focal point and the MML's both read it; each records the
steps of its own municipality's RUOS only (tester 37 F8), and a registration
recorded directly says whose RUOS it is in, as one that follows an application.
Tokens come from the test identity provider; registry runs on its SQLite store.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.api import assert_problem, created
from tests.support.clients import head
from tests.support.identity import MML_FOCAL_POINT, IssuedTokens
from tests.support.ruos import new_osv, submit

SJL = "150132"
SJL_NAME = "Municipalidad Distrital de San Juan de Lurigancho"
MML_NAME = "Municipalidad Metropolitana de Lima"
OBSERVATION = {"observed_on": "2021-06-24", "reasons": [{"code": "missing_document"}]}
REGISTRATION = {"registered_on": "2021-07-12", "ruos_number": "RUOS-2021-0101"}
REJECTION = {"rejected_on": "2021-07-12", "reason": "requirements_not_met"}
RENEWAL = {"renewed_on": "2023-07-01", "term_ends_on": "2025-06-30"}


def sjl_osv(registry: TestClient, name: str = "Vecinos Solidarios de Zárate") -> str:
    return new_osv(registry, name=name, district="San Juan de Lurigancho")


def applied(registry: TestClient, osv_id: str, municipality_id: str) -> str:
    return str(submit(registry, osv_id, municipality_id=municipality_id)["application_id"])


def refused_as_anothers(response: Any, municipality_id: str, name: str) -> None:
    """403 naming the municipality whose RUOS the step is in, by id and name, and nothing else of anyone."""
    problem = assert_problem(response, 403, "municipality_id", "own_municipality_ruos")
    assert (problem["municipality_id"], problem["municipality_name"]) == (municipality_id, name)
    assert f"{name} ('{municipality_id}')" in problem["detail"]


def published_registration(registry: TestClient) -> dict[str, Any]:
    """The data of the newest RUOSRegistered in registry's feed, as partners and reporting receive it."""
    events = registry.get("/events").json()["events"]
    return next(e["data"] for e in reversed(events) if e["type"] == "RUOSRegistered")


def test_a_districts_focal_point_reads_its_osvs_application_to_the_mml_and_records_none_of_its_steps(
    registry: TestClient, tokens: IssuedTokens
) -> None:
    osv_id = sjl_osv(registry)
    application_id = applied(registry, osv_id, "mml")
    district, mml = tokens.headers(f"municipal-{SJL}"), tokens.headers(MML_FOCAL_POINT)
    path = f"/osvs/{osv_id}/ruos-applications/{application_id}"
    assert registry.get(path, headers=district).json()["municipality_id"] == "mml"  # its OSV's application: it reads it
    written = head(registry)

    for step, body in (("observation", OBSERVATION), ("registration", REGISTRATION), ("rejection", REJECTION)):
        refused_as_anothers(registry.post(f"{path}/{step}", json=body, headers=district), "mml", MML_NAME)
    assert head(registry) == written

    # The MML's focal point records the MML's decision; the registration is the MML's, and so is the board's renewal.
    assert created(registry.post(f"{path}/registration", json=REGISTRATION, headers=mml))["status"] == "registered"
    assert registry.get(f"/osvs/{osv_id}", headers=district).json()["ruos"]["municipality_id"] == "mml"
    written = head(registry)
    refused_as_anothers(registry.post(f"/osvs/{osv_id}/board-renewal", json=RENEWAL, headers=district), "mml", MML_NAME)
    assert head(registry) == written
    assert created(registry.post(f"/osvs/{osv_id}/board-renewal", json=RENEWAL, headers=mml))["board_term_ends_on"] == "2025-06-30"


def test_the_mmls_focal_point_reads_every_osv_and_records_no_step_of_a_districts_ruos(registry: TestClient, tokens: IssuedTokens) -> None:
    osv_id = sjl_osv(registry)
    application_id = applied(registry, osv_id, SJL)
    district, mml = tokens.headers(f"municipal-{SJL}"), tokens.headers(MML_FOCAL_POINT)
    path = f"/osvs/{osv_id}/ruos-applications/{application_id}"
    assert registry.get(path, headers=mml).status_code == 200
    written = head(registry)

    for step, body in (("observation", OBSERVATION), ("registration", REGISTRATION), ("rejection", REJECTION)):
        refused_as_anothers(registry.post(f"{path}/{step}", json=body, headers=mml), SJL, SJL_NAME)
    # Registered nowhere yet, its board is no one's to renew: not the district's RUOS (tester 127 F3), it may yet be the MML's.
    assert_problem(registry.post(f"/osvs/{osv_id}/board-renewal", json=RENEWAL, headers=mml), 409, "osv_id", "registered_in_ruos")
    assert head(registry) == written

    created(registry.post(f"{path}/registration", json=REGISTRATION, headers=district))
    refused_as_anothers(registry.post(f"/osvs/{osv_id}/board-renewal", json=RENEWAL, headers=mml), SJL, SJL_NAME)
    assert head(registry) == written + 2  # the district's registration alone, and the claim on its number
    # Programme staff record for any municipality.
    assert created(registry.post(f"/osvs/{osv_id}/board-renewal", json=RENEWAL))["board_term_ends_on"] == "2025-06-30"


def test_a_direct_registration_is_in_the_ruos_the_request_or_the_focal_point_names_and_its_event_says_which(
    registry: TestClient, tokens: IssuedTokens
) -> None:
    """A registration recorded directly went out with municipality_id null (tester 37 F8): now it names its municipality."""
    district, mml = tokens.headers(f"municipal-{SJL}"), tokens.headers(MML_FOCAL_POINT)
    by_staff, by_district, by_mml = (sjl_osv(registry, name) for name in ("Club de Madres Zárate", "Olla Común Motupe", "Vecinos de Canto Rey"))
    written = head(registry)

    # Staff record for every municipality: they say which one registered it, else nothing is written.
    assert_problem(registry.post(f"/osvs/{by_staff}/ruos-registration", json=REGISTRATION), 422, "municipality_id", "registering_municipality_known")
    assert_problem(
        registry.post(f"/osvs/{by_staff}/ruos-registration", json={**REGISTRATION, "municipality_id": "150110"}), 422, "municipality_id", "municipality_of_the_osv"
    )
    assert head(registry) == written
    osv = created(registry.post(f"/osvs/{by_staff}/ruos-registration", json={**REGISTRATION, "municipality_id": "MML"}))
    assert osv["ruos"]["municipality_id"] == "mml"
    assert published_registration(registry)["municipality_id"] == "mml"

    # A focal point's is its own municipality's; naming another's is refused.
    written = head(registry)
    refused_as_anothers(
        registry.post(f"/osvs/{by_district}/ruos-registration", json={**REGISTRATION, "ruos_number": "R-2", "municipality_id": "mml"}, headers=district),
        "mml",
        MML_NAME,
    )
    refused_as_anothers(
        registry.post(f"/osvs/{by_mml}/ruos-registration", json={**REGISTRATION, "ruos_number": "R-3", "municipality_id": SJL}, headers=mml), SJL, SJL_NAME
    )
    assert head(registry) == written
    created(registry.post(f"/osvs/{by_district}/ruos-registration", json={**REGISTRATION, "ruos_number": "R-2"}, headers=district))
    assert published_registration(registry)["municipality_id"] == SJL
    created(registry.post(f"/osvs/{by_mml}/ruos-registration", json={**REGISTRATION, "ruos_number": "R-3"}, headers=mml))
    assert published_registration(registry)["municipality_id"] == "mml"
