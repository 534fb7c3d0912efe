"""Dates out of this world: one rule for every date a command carries, and each date agrees with the facts it follows.

No date is before the programme's earliest plausible date (2000-01-01 unless
``<SERVICE>_EARLIEST_DATE`` says otherwise); a fact that happened is dated no
later than today in Lima and a day; a plan (a due date, a board's term, a
phase's end) reaches ten years ahead at most. A refused command writes
nothing. The stores matter here (a refused command must leave them as they
were), so the stories run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import Upstream, assert_problem, created
from tests.support.clients import application_of, head, service_client

FAR_FUTURE = "9999-12-31"
ANTIQUITY = "0001-01-01"


@pytest.fixture
def registry(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("registry", tmp_path, database_url) as client:
        yield client


@pytest.fixture
def funding(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("funding", tmp_path, database_url) as client:
        yield client


@pytest.fixture
def engagement(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    with service_client("engagement", tmp_path, database_url) as client:
        yield client


def refused(client: TestClient, path: str, body: dict[str, Any], field: str, rule: str, method: str = "POST") -> None:
    written = head(client)
    assert_problem(client.request(method, path, json=body), 422, field=field, rule=rule)
    assert head(client) == written


def test_registry_refuses_an_osv_mapped_in_year_9999_or_year_1_and_a_change_learnt_in_9999(registry: TestClient) -> None:
    osv = {"name": "Olla Común Las Flores", "district": "Comas"}
    refused(registry, "/osvs", {**osv, "mapped_on": FAR_FUTURE}, "mapped_on", "not_in_future")
    refused(registry, "/osvs", {**osv, "mapped_on": ANTIQUITY}, "mapped_on", "not_before_earliest_date")
    osv_id = created(registry.post("/osvs", json={**osv, "mapped_on": "2021-03-01"}))["id"]
    refused(registry, f"/osvs/{osv_id}", {"kind": "cultural", "updated_on": FAR_FUTURE}, "updated_on", "not_in_future", method="PATCH")
    refused(registry, f"/osvs/{osv_id}/ruos-registration", {"municipality_id": "mml", "ruos_number": "R-1", "registered_on": "2021-07-12", "board_term_ends_on": FAR_FUTURE}, "board_term_ends_on", "within_planning_horizon")
    refused(registry, "/municipalities/150132/focal-points/3fa85f64-5717-4562-b3fc-2c963f66afa6/departure", {"left_on": FAR_FUTURE}, "left_on", "not_in_future")


def test_funding_refuses_a_grant_from_year_1_or_before_its_osv_was_mapped_and_a_phase_from_year_1_to_9999(funding: TestClient) -> None:
    upstream = Upstream(application_of(funding))
    osv_id = upstream.osv_mapped(mapped_on="2021-02-01")
    grant = {"osv_id": osv_id, "amount": "3000.00", "currency": "PEN", "kind": "seed_fund"}
    refused(funding, "/grants", {**grant, "granted_on": ANTIQUITY}, "granted_on", "not_before_earliest_date")
    refused(funding, "/grants", {**grant, "granted_on": FAR_FUTURE}, "granted_on", "not_in_future")
    refused(funding, "/grants", {**grant, "granted_on": "2021-01-31"}, "granted_on", "not_before_mapped_on")
    created(funding.post("/grants", json={**grant, "granted_on": "2021-02-01"}))

    refused(funding, "/phases", {"code": "F0", "name": "Siempre", "starts_on": ANTIQUITY, "ends_on": FAR_FUTURE}, "starts_on", "not_before_earliest_date")
    refused(funding, "/phases", {"code": "F0", "name": "Siempre", "starts_on": "2021-01-01", "ends_on": FAR_FUTURE}, "ends_on", "within_planning_horizon")


def test_engagement_refuses_a_joining_in_9999_and_an_erasure_before_the_person_joined(engagement: TestClient) -> None:
    upstream = Upstream(application_of(engagement))
    osv_id = upstream.osv_mapped(mapped_on="2021-02-01")
    person = {"osv_id": osv_id, "full_name": "Ana Pérez", "document_type": "CE", "document_number": "001234567", "nationality": "VE", "sex": "F"}
    refused(engagement, "/members", {**person, "joined_on": FAR_FUTURE}, "joined_on", "not_in_future")
    refused(engagement, "/members", {**person, "joined_on": ANTIQUITY}, "joined_on", "not_before_earliest_date")
    member = created(engagement.post("/members", json={**person, "joined_on": "2024-03-01"}))
    refused(engagement, f"/members/{member['id']}/departure", {"left_on": FAR_FUTURE, "reason": "moved_abroad"}, "left_on", "not_in_future")
    refused(engagement, f"/members/{member['id']}/erasure", {"erased_on": "2024-02-29"}, "erased_on", "not_before_joined_on")
    refused(engagement, f"/osvs/{osv_id}/meetings", {"held_on": "2024-03-02", "mode": "virtual", "topics": ["needs"], "action_items": [{"description": "x", "owner": "junta", "due_on": FAR_FUTURE}]}, "action_items.0.due_on", "within_planning_horizon")
    # The person was not forgotten by the refused erasure: the key is still there.
    assert engagement.get(f"/members/{member['id']}", params={"purpose": "contact"}).json()["full_name"] == "Ana Pérez"


def test_engagement_refuses_follow_up_before_the_osv_was_mapped_and_an_enrolment_before_its_grant(engagement: TestClient) -> None:
    upstream = Upstream(application_of(engagement))
    osv_id = upstream.osv_mapped(mapped_on="2021-02-01")
    grant_id = upstream.fund_granted(osv_id, granted_on="2024-06-01")
    refused(engagement, f"/osvs/{osv_id}/meetings", {"held_on": "2021-01-31", "mode": "virtual", "topics": ["needs"]}, "held_on", "not_before_mapped_on")
    refused(engagement, f"/osvs/{osv_id}/technical-assistance", {"given_on": "2021-01-31", "topic": "accounting", "hours": "2"}, "given_on", "not_before_mapped_on")
    refused(engagement, "/activities", {"osv_id": osv_id, "held_on": "2021-01-31", "kind": "workshop", "district": "Comas"}, "held_on", "not_before_mapped_on")
    refused(engagement, f"/osvs/{osv_id}/needs-assessments", {"assessed_on": "2021-01-31", "members_assessed": 3, "members_over_5_years_in_peru": 1}, "assessed_on", "not_before_mapped_on")
    # A person may have joined the OSV before the programme found it: that is plausible, and kept.
    person = {"osv_id": osv_id, "full_name": "Ana Pérez", "document_type": "CE", "document_number": "001234567", "nationality": "VE", "sex": "F"}
    member = created(engagement.post("/members", json={**person, "joined_on": "2019-05-01"}))
    refused(engagement, f"/members/{member['id']}/participations", {"grant_id": grant_id, "enrolled_on": "2024-05-31"}, "enrolled_on", "not_before_granted_on")
    created(engagement.post(f"/osvs/{osv_id}/meetings", json={"held_on": "2021-02-01", "mode": "virtual", "topics": ["needs"]}))
    created(engagement.post(f"/members/{member['id']}/participations", json={"grant_id": grant_id, "enrolled_on": "2024-06-01"}))


def test_the_earliest_plausible_date_is_a_setting(tmp_path: Path) -> None:
    with service_client("registry", tmp_path, settings={"earliest_date": "2020-01-01"}) as registry:
        refused(registry, "/osvs", {"name": "X", "district": "Ate", "mapped_on": "2019-12-31"}, "mapped_on", "not_before_earliest_date")
        created(registry.post("/osvs", json={"name": "X", "district": "Ate", "mapped_on": "2020-01-01"}))
