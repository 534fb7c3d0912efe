"""Technical assistance recorded by mistake is withdrawn over HTTP
(``POST /osvs/{osv_id}/technical-assistance/{assistance_id}/withdrawal``). The stories run on SQLite and PostgreSQL;
the error cases on SQLite."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from shared.clock import today_in_lima
from tests.support.api import Upstream, assert_problem, created
from tests.support.clients import application_of, feed, head

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("engagement")]

ASSISTANCE = {"given_on": "2025-04-05", "topic": "accounting", "hours": "2.00", "note": "Revisamos el libro de caja con Wilmer"}
STAFF_NOTE = "La promotora Gladys la cargó dos veces"


def an_osv(client: TestClient) -> str:
    return Upstream(application_of(client), mapped_on="2024-01-15").osv_mapped()


def withdrawal(client: TestClient, osv_id: str, assistance_id: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return client.post(f"/osvs/{osv_id}/technical-assistance/{assistance_id}/withdrawal", json=body or {"reason": "duplicate"}, **kwargs)


def test_assistance_typed_twice_is_withdrawn_and_the_osvs_hours_count_it_once(client_on: TestClient) -> None:
    client = client_on
    osv_id = an_osv(client)
    path = f"/osvs/{osv_id}/technical-assistance"
    first = created(client.post(path, json=ASSISTANCE))
    twice = created(client.post(path, json={**ASSISTANCE, "distinct_from": [first["assistance_id"]]}))

    answer = withdrawal(client, osv_id, twice["assistance_id"], {"reason": "duplicate", "note": STAFF_NOTE})

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "withdrawn"
    assert answer.json()["withdrawal"] == {"reason": "duplicate", "withdrawn_on": today_in_lima().isoformat(), "note": STAFF_NOTE}
    shown = client.get(f"/osvs/{osv_id}/follow-up").json()["technical_assistance"]
    assert shown["total_hours"] == "2.00"
    assert sorted(r["status"] for r in shown["records"]) == ["given", "withdrawn"]
    [published] = [e for e in feed(client) if e["type"] == "TechnicalAssistanceWithdrawn"]
    assert (published["data"]["assistance_id"], published["data"]["reason"]) == (twice["assistance_id"], "duplicate")
    assert STAFF_NOTE not in json.dumps(published) and "note" not in published["data"]


def test_assistance_is_withdrawn_once_one_unknown_or_of_another_osv_is_not_found_and_a_dry_run_writes_nothing(client: TestClient) -> None:
    osv_id, other_osv = an_osv(client), an_osv(client)
    record = created(client.post(f"/osvs/{osv_id}/technical-assistance", json=ASSISTANCE))
    written = head(client)
    dry = withdrawal(client, osv_id, record["assistance_id"], headers={"Dry-Run": "true"})
    assert dry.status_code == 200 and dry.json()["status"] == "withdrawn" and head(client) == written

    assert withdrawal(client, osv_id, record["assistance_id"]).status_code == 200
    written = head(client)
    assert_problem(withdrawal(client, osv_id, record["assistance_id"]), 409, "assistance_id", "assistance_not_withdrawn")
    assert_problem(withdrawal(client, osv_id, str(uuid4())), 404, "assistance_id", "known_assistance")
    assert_problem(withdrawal(client, other_osv, record["assistance_id"]), 404, "assistance_id", "known_assistance")
    assert_problem(withdrawal(client, osv_id, record["assistance_id"], {"reason": "oops"}), 422, "reason")
    assert head(client) == written

    again = created(client.post(f"/osvs/{osv_id}/technical-assistance", json=ASSISTANCE))  # the right one, on its day
    assert again["status"] == "given"
