"""A goods delivery sent again without its Idempotency-Key is recorded once (tester 218 F2).

A delivery cannot be undone: sent once with ``Idempotency-Key: d1`` and again with no key, it was recorded twice
(``delivered`` 4000.00 became 7000.00, and reporting's ``goods_delivered_pen`` counted both), and one delivery listing
`ollas` twice was taken. The same goods on the same ``delivered_on`` as a delivery the grant holds are now 409
``possible_duplicate`` naming it, unless ``distinct_from`` names it; an item listed twice is 422 ``unique_item``. The
stories run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import Upstream, assert_problem, created
from tests.support.clients import application_of, at_once, feed, head

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("funding")]

KITCHEN = [
    {"item": "cocina industrial", "quantity": 1, "unit_value": "2500.00"},
    {"item": "ollas", "quantity": 10, "unit_value": "50.00"},
]
DELIVERY = {"items": KITCHEN, "delivered_on": "2026-04-10"}


def a_goods_grant(client: TestClient) -> str:
    osv = Upstream(application_of(client)).osv_mapped()
    body = {"osv_id": osv, "amount": "20000.00", "currency": "PEN", "granted_on": "2026-04-01", "kind": "goods"}
    return str(created(client.post("/grants", json=body))["id"])


def deliver(client: TestClient, grant_id: str, body: dict[str, Any], **kwargs: Any) -> Any:
    return client.post(f"/grants/{grant_id}/goods-deliveries", json=body, **kwargs)


def test_a_delivery_sent_again_without_its_key_is_409_naming_it_and_distinct_from_records_another(client_on: TestClient) -> None:
    client = client_on
    grant_id = a_goods_grant(client)
    first = created(deliver(client, grant_id, DELIVERY, headers={"Idempotency-Key": "d1"}))
    delivery_id = first["deliveries"][0]["id"]
    written = head(client)

    replayed = created(deliver(client, grant_id, DELIVERY, headers={"Idempotency-Key": "d1"}))  # a retry: answered as the first
    assert replayed == first and head(client) == written

    resent = {"items": list(reversed(KITCHEN)), "delivered_on": "2026-04-10"}  # the rows in another order: the same goods
    for params in ({}, {"dry_run": "true"}):
        problem = assert_problem(deliver(client, grant_id, resent, params=params), 409, "grant_id", "possible_duplicate")
        assert problem["possible_duplicates"] == [{
            "delivery_id": delivery_id, "grant_id": grant_id, "delivered_on": "2026-04-10", "total_value": "3000.00",
            "currency": "PEN", "items": KITCHEN,
        }]
        assert delivery_id in problem["detail"]
    assert head(client) == written
    assert client.get(f"/grants/{grant_id}").json()["totals"]["delivered"] == "3000.00"

    # Another day is another delivery; so is one staff say is another, which keeps what they said and publishes it.
    created(deliver(client, grant_id, {**DELIVERY, "delivered_on": "2026-04-17"}))
    second = created(deliver(client, grant_id, {**DELIVERY, "distinct_from": [delivery_id]}))
    assert [d["distinct_from"] for d in second["deliveries"]] == [[], [], [delivery_id]]
    assert second["totals"]["delivered"] == "9000.00"
    published = [e["data"] for e in feed(client) if e["type"] == "GoodsDelivered"]
    assert [d["distinct_from"] for d in published] == [[], [], [delivery_id]]


def test_a_delivery_listing_an_item_twice_is_422_naming_the_row_with_the_rest_of_its_mistakes(client: TestClient) -> None:
    grant_id = a_goods_grant(client)
    written = head(client)
    ollas = {"item": "ollas", "quantity": 10, "unit_value": "50.00"}

    assert_problem(deliver(client, grant_id, {"items": [ollas, ollas], "delivered_on": "2026-04-10"}), 422, "items.1.item", "unique_item")
    # In any case and spacing, at any quantity or value; named in the one 422 with the body's other mistakes.
    body = {"items": [{**ollas, "quantity": 0}, ollas, {**ollas, "item": " OLLAS ", "unit_value": "60.00"}], "delivered_on": "10/04/2026"}
    problem = assert_problem(deliver(client, grant_id, body), 422)
    found = {(e["field"], e["rule"]) for e in problem["errors"]}
    assert {("items.1.item", "unique_item"), ("items.2.item", "unique_item"), ("items.0.quantity", "at_least_1")} <= found, found
    assert "delivered_on" in {field for field, _ in found}
    assert head(client) == written

    # Goods of another size are another item, named apart.
    created(deliver(client, grant_id, {"items": [ollas, {**ollas, "item": "ollas 50 l", "unit_value": "80.00"}], "delivered_on": "2026-04-10"}))


def test_distinct_from_naming_no_delivery_like_this_one_is_422_and_nothing_is_recorded(client: TestClient) -> None:
    grant_id = a_goods_grant(client)
    first = created(deliver(client, grant_id, DELIVERY))["deliveries"][0]["id"]
    elsewhere = created(deliver(client, a_goods_grant(client), DELIVERY))["deliveries"][0]["id"]
    written = head(client)

    for named, index in (([first, elsewhere], 1), ([first, "00000000-0000-4000-8000-000000000001"], 1)):
        refused = deliver(client, grant_id, {**DELIVERY, "distinct_from": named})
        assert named[index] in assert_problem(refused, 422, f"distinct_from.{index}", "possible_duplicate_named")["detail"]
    assert head(client) == written


def test_identical_deliveries_sent_at_once_without_a_key_are_recorded_once(client_on: TestClient) -> None:
    client = client_on
    grant_id = a_goods_grant(client)
    responses = at_once(6, lambda _: deliver(client, grant_id, DELIVERY))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5, [r.text for r in responses]
    assert client.get(f"/grants/{grant_id}").json()["totals"]["delivered"] == "3000.00"


def test_an_items_name_is_recorded_and_published_with_its_runs_of_spaces_made_one(client: TestClient) -> None:
    """Helper 220's note: deliveries compared "cocina  industrial" as "cocina industrial", yet recorded and published the
    double space a spreadsheet cell carried; an OSV's or a person's name is published single-spaced."""
    grant_id = a_goods_grant(client)
    grant = created(deliver(client, grant_id, {"items": [{"item": "  cocina \u00a0  industrial ", "quantity": 1, "unit_value": "2500.00"}],
                                               "delivered_on": "2026-04-10"}))
    assert [line["item"] for line in grant["deliveries"][0]["items"]] == ["cocina industrial"]
    [published] = [e for e in feed(client) if e["type"] == "GoodsDelivered"]
    assert [line["item"] for line in published["data"]["items"]] == ["cocina industrial"]


def test_a_resend_that_lost_its_accents_or_gained_a_dot_is_the_same_delivery(client: TestClient) -> None:
    """Tester 221 F5: `Balón de gas` and `Balon de gas` in one delivery were two rows counted, and a resend typed
    `alumínio` for `aluminio` was recorded again."""
    grant_id = a_goods_grant(client)
    gas = {"item": "Balón de gas", "quantity": 2, "unit_value": "45.00"}
    assert_problem(deliver(client, grant_id, {"items": [gas, {**gas, "item": "Balon de gas."}], "delivered_on": "2026-04-10"}),
                   422, "items.1.item", "unique_item")
    pots = [{"item": "Ollas de aluminio 50 L", "quantity": 4, "unit_value": "80.00"}, gas]
    created(deliver(client, grant_id, {"items": pots, "delivered_on": "2026-04-10"}))
    typed_again = [{**gas, "item": "balon de gas"}, {**pots[0], "item": "Ollas de alumínio 50-L"}]
    assert_problem(deliver(client, grant_id, {"items": typed_again, "delivered_on": "2026-04-10"}), 409, "grant_id", "possible_duplicate")
