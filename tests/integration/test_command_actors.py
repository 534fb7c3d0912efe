"""Who made each command: kept beside every event it saved, shown to auditors in an OSV's history, never published.

A focal point's official who records a RUOS observation, the staff member who
mapped the OSV: an auditor replaying the history reads each account (the
token's ``sub``, its client, its roles), so what a departed official's
still-valid token recorded is told apart. A retry answered from the answer
book and a dry run record nobody; no event of the feed carries the account.
Real services, the session's identity provider and its tokens; on SQLite and
on PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from shared.actors import acting_as_system
from tests.support.api import created, ok
from tests.support.clients import application_of, feed, service_client
from tests.support.identity import IssuedTokens, unverified_claims
from tests.support.roles import PERSON

pytestmark = pytest.mark.timeout(180)

SJL = "150132"
FOCAL_POINT = f"municipal-{SJL}"
ALL_DOCUMENTS = [
    "acta_constitucion", "estatuto", "acta_aprobacion_estatuto", "acta_eleccion_junta_directiva", "nomina_junta_directiva", "padron_socios",
    "croquis",
]


@pytest.fixture
def registry(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("registry", tmp_path / "var", database_url) as client:
        yield client


def account(tokens: IssuedTokens, name: str, roles: list[str]) -> dict[str, Any]:
    """What the history says of a command made with ``name``'s token."""
    claims = unverified_claims(tokens[name])
    return {"subject": claims["sub"], "client_id": claims.get("client_id") or claims.get("azp"), "roles": roles}


def actor_rows(client: TestClient) -> int:
    with application_of(client).actors.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM command_actors")).scalar_one()


def an_osv_applying_in_sjl(registry: TestClient, tokens: IssuedTokens) -> tuple[str, str]:
    """An OSV mapped in San Juan de Lurigancho by staff, its RUOS application submitted there by staff: (OSV id, application id)."""
    staff = tokens.headers("staff")
    osv = created(registry.post("/osvs", json={"name": "Vecinos Solidarios de Zárate", "district": "San Juan de Lurigancho",
                                               "mapped_on": "2021-02-01"}, headers=staff))
    submitted = created(registry.post(f"/osvs/{osv['id']}/ruos-applications", headers=staff,
                                      json={"municipality_id": SJL, "submitted_on": "2021-10-01", "documents": ALL_DOCUMENTS}))
    return str(osv["id"]), str(submitted["application_id"])


def test_the_history_shows_an_auditor_the_focal_point_that_observed_and_the_staff_that_mapped(
    registry: TestClient, tokens: IssuedTokens, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    osv_id, application_id = an_osv_applying_in_sjl(registry, tokens)
    created(registry.post(f"/osvs/{osv_id}/ruos-applications/{application_id}/observation", headers=tokens.headers(FOCAL_POINT),
                          json={"observed_on": "2021-10-08", "reasons": [{"code": "missing_document", "detail": "Falta el padrón"}]}))

    history = ok(registry.get(f"/osvs/{osv_id}/history", headers=tokens.headers("auditor")))
    by_type = {entry["type"]: entry["recorded_by"] for entry in history}
    assert by_type["OSVMapped"] == account(tokens, "staff", ["staff"])
    assert by_type["RUOSApplicationSubmitted"] == account(tokens, "staff", ["staff"])
    assert by_type["RUOSApplicationObserved"] == account(tokens, FOCAL_POINT, [FOCAL_POINT])
    assert all(entry["recorded_by"] is not None for entry in history)

    # Never published: no event of the feed, nor any line logged, names the accounts.
    subjects = {account(tokens, name, [])["subject"] for name in ("staff", FOCAL_POINT)}
    published = str(feed(registry))
    assert "recorded_by" not in published and not any(f"'{subject}'" in published for subject in subjects)
    assert not any(subject in record.getMessage() for record in caplog.records for subject in subjects)


def test_a_keyed_retry_and_a_dry_run_record_nobody(registry: TestClient, tokens: IssuedTokens) -> None:
    osv_id, application_id = an_osv_applying_in_sjl(registry, tokens)
    before = actor_rows(registry)
    assert before >= 2  # the mapping's events and the submission's, one row each

    path = f"/osvs/{osv_id}/ruos-applications/{application_id}/observation"
    body = {"observed_on": "2021-10-08", "reasons": [{"code": "missing_document"}]}
    dry = registry.post(path, json=body, params={"dry_run": "true"}, headers=tokens.headers(FOCAL_POINT))
    assert dry.status_code == 201, dry.text
    assert actor_rows(registry) == before

    keyed = {**tokens.headers(FOCAL_POINT), "Idempotency-Key": f'"{uuid4()}"'}
    first = registry.post(path, json=body, headers=keyed)
    assert first.status_code == 201, first.text
    recorded = actor_rows(registry)
    assert recorded > before
    again = registry.post(path, json=body, headers=keyed)
    assert (again.status_code, again.json()) == (201, first.json())
    assert actor_rows(registry) == recorded

    history = ok(registry.get(f"/osvs/{osv_id}/history", headers=tokens.headers("auditor")))
    assert [e["recorded_by"]["roles"] for e in history if e["type"] == "RUOSApplicationObserved"] == [[FOCAL_POINT]]


def test_a_save_no_request_made_records_the_system(registry: TestClient, tokens: IssuedTokens) -> None:
    """Work outside a request (a tool, a consumer) is recorded as the system's, never as nobody's."""
    osv_id, _ = an_osv_applying_in_sjl(registry, tokens)
    app = application_of(registry)
    osv = app.get_osv(UUID(osv_id))
    with acting_as_system("restore"):
        osv.record_document("estatuto", date(2021, 10, 2))
        app.save(osv)
    osv.record_document("padron_socios", date(2021, 10, 2))
    app.save(osv)
    history = ok(registry.get(f"/osvs/{osv_id}/history", headers=tokens.headers("auditor")))
    assert [e["recorded_by"] for e in history][-2:] == [
        {"subject": None, "client_id": "system:restore", "roles": []},
        {"subject": None, "client_id": "system:registry", "roles": []},
    ]


def test_the_dpo_reads_who_registered_corrected_and_erased_a_person_and_no_event_names_them(
    tmp_path: Path, database_url: str, tokens: IssuedTokens
) -> None:
    with (
        service_client("registry", tmp_path / "var", database_url) as registry,
        service_client("engagement", tmp_path / "var", database_url) as engagement,
    ):
        osv = created(registry.post("/osvs", json={"name": "Vecinos Solidarios de Zárate", "district": "San Juan de Lurigancho",
                                                   "mapped_on": "2021-02-01"}, headers=tokens.headers("staff")))
        second = created(registry.post("/osvs", json={"name": "Unidos de Canto Grande", "district": "San Juan de Lurigancho",
                                                      "mapped_on": "2021-02-01"}, headers=tokens.headers("staff")))
        application_of(engagement).osvs.apply(feed(registry))
        member = created(engagement.post("/members", json={**PERSON, "osv_id": osv["id"]}, headers=tokens.headers("staff")))
        ok(engagement.post(f"/members/{member['id']}/correction", json={"phone": "+51912345678"}, headers=tokens.headers("staff")))
        # In two OSVs, the erasure records an event for each membership: the DPO reads it once (tester 163 F10).
        created(engagement.post(f"/members/{member['id']}/memberships", json={"osv_id": second["id"], "joined_on": "2021-06-01"},
                                headers=tokens.headers("staff")))
        ok(engagement.post(f"/members/{member['id']}/erasure", json={"erased_on": "2021-12-01"}, headers=tokens.headers("dpo")))

        changes = ok(engagement.get(f"/members/{member['id']}/personal-data-changes", headers=tokens.headers("dpo")))
        assert [(c["type"], c["recorded_by"]) for c in changes] == [
            ("Registered", account(tokens, "staff", ["staff"])),
            ("PersonalDataCorrected", account(tokens, "staff", ["staff"])),
            ("PersonalDataErased", account(tokens, "dpo", ["dpo"])),
        ]
        for role in ("staff", "auditor", "lead"):
            assert engagement.get(f"/members/{member['id']}/personal-data-changes", headers=tokens.headers(role)).status_code == 403

        published = str(feed(engagement))
        assert "PersonalDataErased" in published
        assert "recorded_by" not in published and f"'{account(tokens, 'dpo', [])['subject']}'" not in published
