"""A command naming a record another service made a moment ago: refused with ``Retry-After``, taken once its event arrives.

Funding and engagement know registry's OSVs (and engagement funding's grants)
from their events, which arrive about a second after the record is made. Until
then the command gets 422 ``osv_mapped_in_registry`` (``grant_made_in_funding``)
with ``Retry-After``: a client (the Kobo import, a front end) knows to send the
same request again after it instead of giving up. A read about such an OSV
answers 404 with ``Retry-After`` likewise. Other refusals, which no wait clears
up, carry no ``Retry-After``. Registry and funding are stood in
for by their events handed to the real views (tests/support/api.py).
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from shared.errors import LAG_RETRY_AFTER_SECONDS
from tests.support.api import Upstream, assert_problem, created
from tests.support.clients import application_of

pytestmark = pytest.mark.timeout(120)


def sent_again(client: TestClient, path: str, body: dict[str, Any]) -> tuple[Any, Any]:
    """The request, then the same request with the same Idempotency-Key (the retry Retry-After asks for)."""
    key = {"Idempotency-Key": str(uuid4())}
    return client.post(path, json=body, headers=key), lambda: client.post(path, json=body, headers=key)


def test_funding_asks_to_retry_a_grant_to_an_osv_whose_mapping_has_not_arrived_and_takes_it_once_it_has(funding: TestClient) -> None:
    created(funding.post("/phases", json={"code": "F2", "name": "Fase 2", "starts_on": "2021-10-01", "ends_on": "2021-12-31"}))
    registry, osv_id = Upstream(application_of(funding)), str(uuid4())
    body = {"osv_id": osv_id, "amount": "3500.00", "currency": "PEN", "granted_on": "2021-10-20", "kind": "seed_fund"}

    first, again = sent_again(funding, "/grants", body)

    assert_problem(first, 422, "osv_id", "osv_mapped_in_registry")
    assert first.headers["Retry-After"] == str(LAG_RETRY_AFTER_SECONDS)
    registry.osv_mapped(osv_id=osv_id)  # registry's OSVMapped arrives
    assert created(again())["osv_id"] == osv_id

    # A refusal no wait clears up says nothing about retrying.
    bad = funding.post("/grants", json={**body, "amount": "-1"})
    assert bad.status_code == 422 and "Retry-After" not in bad.headers


def test_engagement_asks_to_retry_an_osv_or_a_grant_it_has_not_heard_of_and_no_other_refusal(engagement: TestClient) -> None:
    upstream, osv_id = Upstream(application_of(engagement)), str(uuid4())
    person = {
        "osv_id": osv_id, "full_name": "Yusmary Cordero Palacios", "document_type": "CEDULA_VE", "document_number": "V-18765432",
        "nationality": "VE", "sex": "F", "joined_on": "2024-07-01", "birth_year": 1991,
    }

    first, again = sent_again(engagement, "/members", person)

    assert_problem(first, 422, "osv_id", "osv_mapped_in_registry")
    assert first.headers["Retry-After"] == str(LAG_RETRY_AFTER_SECONDS)
    upstream.osv_mapped(osv_id=osv_id, mapped_on="2021-03-15")
    member = created(again())

    grant_id = str(uuid4())
    first, again = sent_again(engagement, f"/members/{member['id']}/participations", {"grant_id": grant_id, "enrolled_on": "2024-07-01"})
    assert_problem(first, 422, "grant_id", "grant_made_in_funding")
    assert first.headers["Retry-After"] == str(LAG_RETRY_AFTER_SECONDS)
    upstream.fund_granted(osv_id, grant_id=grant_id)
    created(again())

    other_osv = upstream.osv_mapped(mapped_on="2021-03-15")
    elsewhere = upstream.fund_granted(other_osv)
    refused = engagement.post(f"/members/{member['id']}/participations", json={"grant_id": elsewhere, "enrolled_on": "2024-07-01"})
    assert_problem(refused, 422, "grant_id", "member_of_granted_osv")
    assert "Retry-After" not in refused.headers
    upstream.osv_dissolved(other_osv, "2021-12-01")
    dissolved = engagement.post("/members", json={**person, "osv_id": other_osv, "document_number": "V-12345678"})
    assert_problem(dissolved, 409, "osv_id", "osv_not_dissolved")
    assert "Retry-After" not in dissolved.headers


OSV_READS = (
    "/osvs/{osv_id}/members?purpose=follow_up", "/osvs/{osv_id}/follow-up", "/osvs/{osv_id}/activities", "/osvs/{osv_id}/needs-assessments",
    "/osvs/{osv_id}/follow-up/history",
)
"""Engagement's reads about an OSV: each answers 404 for an OSV it has not heard of."""


@pytest.mark.parametrize("read", OSV_READS)
def test_engagement_asks_to_read_again_an_osv_whose_mapping_has_not_arrived_and_answers_once_it_has(
    engagement: TestClient, read: str
) -> None:
    upstream, osv_id = Upstream(application_of(engagement)), str(uuid4())
    path = read.format(osv_id=osv_id)

    refused = engagement.get(path)  # registry mapped it a moment ago; its OSVMapped is on its way

    problem = assert_problem(refused, 404, "osv_id", "osv_mapped_in_registry")
    assert refused.headers["Retry-After"] == str(LAG_RETRY_AFTER_SECONDS)
    assert problem["detail"] == (f"OSV {osv_id} is not known to engagement: check the id; an OSV mapped a moment ago is known "
                                 "within seconds (retry after Retry-After)")
    upstream.osv_mapped(osv_id=osv_id)
    assert engagement.get(path).status_code == 200


def test_an_osv_outside_the_readers_municipalities_answers_as_one_not_heard_of(engagement: TestClient, tokens: Any) -> None:
    upstream = Upstream(application_of(engagement))
    in_comas, unheard_of = upstream.osv_mapped(district="Comas"), str(uuid4())
    sjl = tokens.headers("municipal-150132")  # reads San Juan de Lurigancho only

    outside = engagement.get(f"/osvs/{in_comas}/follow-up", headers=sjl)
    unknown = engagement.get(f"/osvs/{unheard_of}/follow-up", headers=sjl)

    # Told apart, the two would say an OSV exists in another municipality; and an OSV whose mapping has not arrived has no
    # municipality here yet, so a municipal reader's 404 may be the lag as well.
    assert_problem(outside, 404, "osv_id", "osv_mapped_in_registry")
    assert outside.headers["Retry-After"] == unknown.headers["Retry-After"] == str(LAG_RETRY_AFTER_SECONDS)
    assert outside.json()["detail"] == unknown.json()["detail"].replace(unheard_of, in_comas)


def test_only_a_404_the_lag_may_explain_carries_retry_after(engagement: TestClient) -> None:
    upstream = Upstream(application_of(engagement))
    osv_id = upstream.osv_mapped()
    assert engagement.get(f"/osvs/{uuid4()}/activities").headers["Retry-After"] == str(LAG_RETRY_AFTER_SECONDS)

    # Records engagement keeps itself, each made only once the OSV was known here: no event is on its way.
    answers = [
        engagement.get(f"/members/{uuid4()}?purpose=follow_up"),
        engagement.get(f"/activities/{uuid4()}"),
        engagement.post(f"/osvs/{osv_id}/actions/{uuid4()}/completion", json={"completed_on": "2021-06-01"}),
    ]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert [a.headers.get("Retry-After") for a in answers] == [None] * len(answers)


@pytest.mark.parametrize(
    ("service", "path", "rules"),
    [
        ("funding", "/grants", ["osv_mapped_in_registry"]),
        ("funding", "/rounds/{round_id}/proposals", ["osv_mapped_in_registry"]),
        ("engagement", "/members", ["osv_mapped_in_registry"]),
        ("engagement", "/members/{member_id}/participations", ["grant_made_in_funding"]),
        ("engagement", "/activities", ["osv_mapped_in_registry", "grant_made_in_funding"]),
        ("engagement", "/osvs/{osv_id}/meetings", ["osv_mapped_in_registry"]),
    ],
)
def test_the_openapi_document_says_which_422s_carry_retry_after(
    funding: TestClient, engagement: TestClient, service: str, path: str, rules: list[str]
) -> None:
    document = {"funding": funding, "engagement": engagement}[service].get("/openapi.json").json()

    answer = document["paths"][path]["post"]["responses"]["422"]

    assert "Retry-After" in answer["headers"]
    assert all(f"`{rule}`" in answer["description"] for rule in rules)
    assert "`max_json_depth`" in answer["description"]  # the generic 422 is still described
    assert "application/problem+json" in answer["content"]
    elsewhere = "/phases" if service == "funding" else "/members/{member_id}/memberships/{membership_id}/role"
    assert "headers" not in document["paths"][elsewhere]["post"]["responses"]["422"]  # a command naming no other service's record


@pytest.mark.parametrize("read", OSV_READS)
def test_the_openapi_document_says_which_404s_carry_retry_after(engagement: TestClient, read: str) -> None:
    document = engagement.get("/openapi.json").json()

    answer = document["paths"][read.split("?")[0]]["get"]["responses"]["404"]

    assert "Retry-After" in answer["headers"]
    assert "`osv_mapped_in_registry`" in answer["description"]
    assert "no such record" in answer["description"]  # the generic 404 is still described
    assert "application/problem+json" in answer["content"]
    for elsewhere in ("/members/{member_id}", "/activities/{activity_id}"):  # engagement's own records: no lag
        assert "headers" not in document["paths"][elsewhere]["get"]["responses"]["404"]
