"""The same grant sent twice without an Idempotency-Key is recorded once (tester 177 F4).

Eight identical ``POST /grants`` sent at once without a key were all recorded (8 x 201). A grant of the same kind, amount,
currency and ``granted_on`` as one the OSV has, not withdrawn, is now 409 ``possible_duplicate`` naming it, unless
``distinct_from`` names it; identical requests at once record one (the OSV's support history, saved with each grant,
makes them collide). The stories run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import Upstream, assert_problem, created
from tests.support.clients import application_of, at_once, feed, head

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("funding")]

BODY = {"amount": "3500.00", "currency": "PEN", "granted_on": "2021-10-20", "kind": "seed_fund"}


def a_grant(osv_id: str, **overrides: Any) -> dict[str, Any]:
    return {"osv_id": osv_id, **BODY, **overrides}


def test_the_same_grant_again_is_409_naming_it_and_distinct_from_records_it_published(client_on: TestClient) -> None:
    client = client_on
    osv = Upstream(application_of(client)).osv_mapped()
    first = created(client.post("/grants", json=a_grant(osv)))
    written = head(client)

    for params in ({}, {"dry_run": "true"}):
        again = client.post("/grants", params=params, json=a_grant(osv))
        problem = assert_problem(again, 409, "osv_id", "possible_duplicate")
        assert problem["possible_duplicates"] == [{
            "grant_id": first["id"], "osv_id": osv, "kind": "seed_fund", "amount": "3500.00", "currency": "PEN",
            "granted_on": "2021-10-20", "proposal_id": None,
        }]
    assert head(client) == written

    # Another day, amount, currency or kind is another grant; so is one staff say is another.
    for other in ({"granted_on": "2021-10-21"}, {"amount": "3500.01"}, {"currency": "USD"}, {"kind": "goods"}):
        created(client.post("/grants", json=a_grant(osv, **other)))
    second = created(client.post("/grants", json=a_grant(osv, distinct_from=[first["id"]])))
    assert second["distinct_from"] == [first["id"]] and first["distinct_from"] == []
    published = {e["data"]["grant_id"]: e["data"] for e in feed(client) if e["type"] == "FundGranted"}
    assert published[second["id"]]["distinct_from"] == [first["id"]] and published[first["id"]]["distinct_from"] == []
    # A third names both.
    third = assert_problem(client.post("/grants", json=a_grant(osv, distinct_from=[first["id"]])), 409, "osv_id", "possible_duplicate")
    assert [d["grant_id"] for d in third["possible_duplicates"]] == [second["id"]]


def test_distinct_from_naming_another_osvs_grant_or_no_grant_is_422_and_nothing_is_published(client: TestClient) -> None:
    """Tester 191 F1: another municipality's grant id, and an id of nothing, were kept and sent to this OSV's partner."""
    upstream = Upstream(application_of(client))
    osv, elsewhere = upstream.osv_mapped(), upstream.osv_mapped()
    first, theirs = created(client.post("/grants", json=a_grant(osv))), created(client.post("/grants", json=a_grant(elsewhere)))
    written = head(client)

    for named, index in (([first["id"], theirs["id"]], 1), ([first["id"], "00000000-0000-4000-8000-000000000001"], 1)):
        refused = assert_problem(client.post("/grants", json=a_grant(osv, distinct_from=named)), 422, f"distinct_from.{index}", "possible_duplicate_named")
        assert named[index] in refused["detail"]
    assert_problem(client.post("/grants", json=a_grant(osv, kind="goods", distinct_from=[theirs["id"]])), 422, "distinct_from.0", "possible_duplicate_named")
    assert head(client) == written


def test_a_grant_withdrawn_as_entered_in_error_is_no_duplicate_of_the_one_recorded_again(client: TestClient) -> None:
    osv = Upstream(application_of(client)).osv_mapped()
    wrong = created(client.post("/grants", json=a_grant(osv, granted_on="2021-10-02")))  # the right day was 2021-10-20
    right = created(client.post("/grants", json=a_grant(osv)))
    assert_problem(client.post("/grants", json=a_grant(osv, granted_on="2021-10-02")), 409, "osv_id", "possible_duplicate")
    assert client.post(f"/grants/{wrong['id']}/withdrawal", json={"reason": "wrong_date"}).status_code == 201
    # Withdrawn, it is no duplicate: the same grant (say, staff withdrew the wrong one of two) is recorded again.
    again = created(client.post("/grants", json=a_grant(osv, granted_on="2021-10-02")))
    assert again["distinct_from"] == [] and right["id"] != again["id"]


def test_a_direct_grant_like_one_made_on_a_proposal_names_it_and_grants_on_a_proposal_are_not_checked(client: TestClient) -> None:
    """A proposal may be granted in equal parts: its approved amount bounds them. Its grant typed in again directly is named."""
    from tests.integration.test_funding_rounds_api import a_proposal, a_round, approve, score

    round_ = a_round(client, committee=("EV-1",))
    proposal = a_proposal(client, round_["id"])
    score(client, proposal["id"], "EV-1", 8, 6, 4)
    created(approve(client, proposal["id"], "1000.00"))
    part = {"kind": "seed_fund", "amount": "500.00", "granted_on": "2021-07-01"}
    made = created(client.post(f"/proposals/{proposal['id']}/grants", json=part))
    created(client.post(f"/proposals/{proposal['id']}/grants", json=part))  # its second half, alike: taken
    direct = client.post("/grants", json=a_grant(proposal["osv_id"], **part))
    named = assert_problem(direct, 409, "osv_id", "possible_duplicate")["possible_duplicates"]
    assert {d["proposal_id"] for d in named} == {proposal["id"]} and made["id"] in {d["grant_id"] for d in named}


def test_identical_grants_sent_at_once_without_a_key_are_recorded_once(client_on: TestClient) -> None:
    client = client_on
    osv = Upstream(application_of(client)).osv_mapped()
    responses = at_once(8, lambda _: client.post("/grants", json=a_grant(osv)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7, [r.text for r in responses]
    assert len(client.get("/grants", params={"osv_id": osv}).json()) == 1
