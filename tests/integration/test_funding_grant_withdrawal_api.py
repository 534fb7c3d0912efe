"""A grant entered in error is withdrawn over HTTP (tester 177 F1): `POST /grants/{grant_id}/withdrawal`.

A grant typed twice, on the wrong OSV or with the wrong amount counted for ever in the seed funds, projects and
support. Funding now withdraws an open grant nothing was paid out on: `GrantWithdrawn`, published; the grant stays,
marked withdrawn, and takes nothing more. Registry is stood in for as in :mod:`tests.integration.test_funding_grants_api`.
The stories run on SQLite and PostgreSQL; the error cases on SQLite.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_funding_grants_api import UNKNOWN, grant, items, open_two_phases, registry
from tests.support.api import assert_problem, created
from tests.support.clients import application_of, feed, head
from tests.support.identity import SignedInAs

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("funding")]


def withdraw(client: Any, grant_id: str, reason: str = "duplicate", note: str | None = None, **kwargs: Any) -> Any:
    body: dict[str, Any] = {"reason": reason} if note is None else {"reason": reason, "note": note}
    return client.post(f"/grants/{grant_id}/withdrawal", json=body, **kwargs)


def test_a_grant_typed_twice_is_withdrawn_published_and_its_osvs_later_grant_is_first_time_again(client_on: TestClient) -> None:
    client = client_on
    open_two_phases(client)
    osv = registry(client).osv_mapped()
    wrong = grant(client, osv, "goods", "1200.00", "2021-06-14")  # phase 1: typed in from the wrong acta
    later = grant(client, osv, "seed_fund", "3500.00", "2021-10-20")
    assert later["support"] == "repeat"
    before = head(client)

    withdrawn = created(withdraw(client, wrong["id"], "entered_in_error", "Acta 7 es de otra OSV"))
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawal"]["reason"] == "entered_in_error"
    assert client.get(f"/grants/{wrong['id']}").json()["withdrawal"] == withdrawn["withdrawal"]
    assert client.get(f"/grants/{later['id']}").json()["support"] == "first_time"
    # Still listed among the OSV's grants, marked; the list filters by it.
    assert [g["id"] for g in client.get("/grants", params={"osv_id": osv, "status": "withdrawn"}).json()] == [wrong["id"]]

    events = [e for e in feed(client) if e["position"] > before]
    assert [e["type"] for e in events] == ["GrantWithdrawn", "GrantSupportRestated"]
    published = events[0]["data"]
    assert (published["grant_id"], published["osv_id"], published["kind"], published["amount"], published["granted_on"]) == (
        wrong["id"], osv, "goods", "1200.00", "2021-06-14"
    )
    assert published["reason"] == "entered_in_error" and "note" not in published  # staff's words never leave funding
    assert "Acta 7" not in str(events)
    restated = events[1]["data"]
    assert (restated["grant_id"], restated["support"], restated["reason"], restated["caused_by"]) == (
        later["id"], "first_time", "grant_withdrawn", wrong["id"]
    )
    # The grant's history holds the withdrawal and the note, for staff.
    history = client.get(f"/grants/{wrong['id']}/history").json()
    assert history[-1]["type"] == "GrantWithdrawn" and history[-1]["data"]["note"] == "Acta 7 es de otra OSV"


def test_a_withdrawn_grant_takes_nothing_more_and_is_withdrawn_once(client: TestClient) -> None:
    open_two_phases(client)
    osv = registry(client).osv_mapped()
    seed = grant(client, osv)
    created(withdraw(client, seed["id"]))
    before = head(client)
    for refused in (
        withdraw(client, seed["id"], "wrong_osv"),
        client.post(f"/grants/{seed['id']}/disbursements", json={"tranche": 1, "amount": "100.00", "disbursed_on": "2021-11-01"}),
        client.post(f"/grants/{seed['id']}/closing", json={"outcome": "cancelled", "final_report_reference": "M-1", "closed_on": "2021-11-01"}),
    ):
        assert "withdrawn" in assert_problem(refused, 409, "grant_id", "grant_not_withdrawn")["detail"]
    assert head(client) == before


def test_a_grant_with_a_tranche_or_goods_paid_out_is_409_and_is_closed_instead(client: TestClient) -> None:
    open_two_phases(client)
    osv = registry(client).osv_mapped()
    seed, goods = grant(client, osv), grant(client, osv, "goods", "500.00")
    created(client.post(f"/grants/{seed['id']}/disbursements", json={"tranche": 1, "amount": "1000.00", "disbursed_on": "2021-11-01"}))
    created(client.post(f"/grants/{goods['id']}/goods-deliveries", json={"items": items(("brocha", 2, "7.25")), "delivered_on": "2021-11-02"}))
    before = head(client)
    for paid in (seed, goods):
        problem = assert_problem(withdraw(client, paid["id"]), 409, "grant_id", "nothing_paid_out")
        assert "cancelled" in problem["detail"]
    assert head(client) == before
    closed = created(client.post(
        f"/grants/{seed['id']}/closing", json={"outcome": "cancelled", "final_report_reference": "MEMO-9", "closed_on": "2021-11-03"}
    ))
    assert_problem(withdraw(client, closed["id"]), 409, "grant_id", "grant_open")


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({}, "reason", "missing"),
        ({"reason": "changed_my_mind"}, "reason", "enum"),
        ({"reason": "duplicate", "note": ""}, "note", "string_too_short"),
        ({"reason": "duplicate", "note": "x" * 2001}, "note", "string_too_long"),
        ({"reason": "duplicate", "withdrawn_on": "2021-11-01"}, "withdrawn_on", "extra_forbidden"),
    ],
)
def test_a_bad_withdrawal_is_422_naming_the_field_and_writes_nothing(client: TestClient, body: dict[str, Any], field: str, rule: str) -> None:
    osv = registry(client).osv_mapped()
    seed = grant(client, osv)
    before = head(client)
    assert_problem(client.post(f"/grants/{seed['id']}/withdrawal", json=body), 422, field, rule)
    assert head(client) == before and client.get(f"/grants/{seed['id']}").json()["status"] == "open"


def test_an_unknown_grant_is_404_and_only_staff_and_leads_withdraw(client: TestClient) -> None:
    assert_problem(withdraw(client, UNKNOWN), 404, "grant_id", "known_grant")
    osv = registry(client).osv_mapped()
    seed = grant(client, osv)
    assert withdraw(client, seed["id"], headers={"Authorization": ""}).status_code == 401
    for role in ("auditor", "evaluator", "municipal-mml"):
        assert withdraw(SignedInAs(client, role), seed["id"]).status_code == 403, role
    assert client.get(f"/grants/{seed['id']}").json()["status"] == "open"
    assert created(withdraw(SignedInAs(client, "staff"), seed["id"]))["status"] == "withdrawn"


def test_a_dry_run_answers_as_the_withdrawal_would_and_a_keyed_retry_records_one_withdrawal(client_on: TestClient) -> None:
    client = client_on
    osv = registry(client).osv_mapped()
    seed = grant(client, osv)
    before = head(client)
    dry = withdraw(client, seed["id"], params={"dry_run": "true"})
    assert dry.status_code == 201 and dry.headers["Dry-Run"] == "true" and dry.json()["status"] == "withdrawn"
    assert head(client) == before and client.get(f"/grants/{seed['id']}").json()["status"] == "open"

    key = {"Idempotency-Key": "withdraw-1b2f"}
    first = created(withdraw(client, seed["id"], headers=key))
    again = withdraw(client, seed["id"], headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true" and again.json() == first
    assert [e["type"] for e in feed(client)].count("GrantWithdrawn") == 1
    # A dry run of it now says what a withdrawal would get: the grant is withdrawn.
    assert_problem(withdraw(client, seed["id"], params={"dry_run": "true"}), 409, "grant_id", "grant_not_withdrawn")


def test_a_grant_from_a_proposal_withdrawn_gives_its_approved_amount_back(client: TestClient) -> None:
    from tests.integration.test_funding_rounds_api import a_proposal, a_round, approve, score

    round_ = a_round(client, committee=("EV-1",))
    proposal = a_proposal(client, round_["id"])
    score(client, proposal["id"], "EV-1", 8, 6, 4)
    created(approve(client, proposal["id"], "1000.00"))
    body = {"kind": "seed_fund", "amount": "1000.00", "granted_on": "2021-07-01"}
    typed = created(client.post(f"/proposals/{proposal['id']}/grants", json={**body, "amount": "100.00"}))  # 1000 meant
    assert_problem(client.post(f"/proposals/{proposal['id']}/grants", json=body), 409, "amount")
    created(withdraw(client, typed["id"], "wrong_amount"))
    right = created(client.post(f"/proposals/{proposal['id']}/grants", json=body))
    assert [g["grant_id"] for g in client.get(f"/proposals/{proposal['id']}").json()["grants"]] == [right["id"]]


def test_a_withdrawal_note_is_redacted_for_good(client: TestClient) -> None:
    osv = registry(client).osv_mapped()
    seed = grant(client, osv)
    created(withdraw(client, seed["id"], note="Lo registró Rosa Quispe por error"))
    assert client.post(f"/grants/{seed['id']}/withdrawal/note/redaction").status_code == 200
    assert client.get(f"/grants/{seed['id']}/history").json()[-1]["data"]["note"] == "[redacted]"
    stored = application_of(client).get_grant(UUID(seed["id"]))
    assert stored.status.value == "withdrawn"
    assert client.post(f"/grants/{seed['id']}/withdrawal/note/redaction").status_code == 200  # a retry: forgotten again


def test_a_grant_with_no_withdrawal_note_has_none_to_redact(client: TestClient) -> None:
    """Tester 187 F7: redacting a note that was never written answered 200, and staff believed they had erased something."""
    osv = registry(client).osv_mapped()
    open_grant, unnoted = grant(client, osv), grant(client, osv, "goods", "1200.00", "2021-06-14")
    created(withdraw(client, unnoted["id"]))

    refused = assert_problem(client.post(f"/grants/{open_grant['id']}/withdrawal/note/redaction"), 409, "grant_id", "withdrawal_note")
    assert "not withdrawn" in refused["detail"]
    refused = assert_problem(client.post(f"/grants/{unnoted['id']}/withdrawal/note/redaction"), 409, "grant_id", "withdrawal_note")
    assert "without a note" in refused["detail"]
