"""A goods delivery is not taken twice (tester 218 F2). Pure: no I/O.

A delivery cannot be undone: sent once with an Idempotency-Key and again without, it was recorded twice (delivered 4000.00
became 7000.00, and reporting counted both); one delivery listing `ollas` twice was taken too. The same goods on the same
day as a delivery the grant holds are now refused naming it, unless staff say it is another (``distinct_from``); one
delivery lists each item once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import uuid4

import pytest

from services.funding.domain.deliveries import (
    PossibleDuplicateDeliveryError,
    RepeatedItemError,
    item_key,
    item_mistakes,
    same_deliveries,
)
from services.funding.domain.grants import DeliveredItem, Grant, GrantKind, grant_fund
from shared.duplicates import NotAPossibleDuplicateError
from shared.errors import PartlyRead
from shared.money import Currency

DAY = date(2026, 4, 10)


def goods_grant() -> Grant:
    return grant_fund(uuid4(), Decimal("20000.00"), Currency.PEN, date(2026, 4, 1), GrantKind.GOODS)


def line(item: str, quantity: int, unit_value: str) -> DeliveredItem:
    return DeliveredItem(item, quantity, Decimal(unit_value))


KITCHEN = [line("cocina industrial", 1, "2500.00"), line("ollas", 10, "50.00")]


# The same delivery sent again ------------------------------------------------------------


def test_the_same_delivery_again_is_a_possible_duplicate_naming_it_and_distinct_from_lets_it_in() -> None:
    grant = goods_grant()
    first = grant.deliver_goods(KITCHEN, DAY)

    with pytest.raises(PossibleDuplicateDeliveryError) as refused:
        grant.deliver_goods(KITCHEN, DAY)
    assert (refused.value.field, refused.value.rule) == ("grant_id", "possible_duplicate")
    assert refused.value.extensions["possible_duplicates"] == [{
        "delivery_id": str(first.delivery_id), "grant_id": str(grant.id), "delivered_on": "2026-04-10",
        "total_value": "3000.00", "currency": "PEN",
        "items": [
            {"item": "cocina industrial", "quantity": 1, "unit_value": "2500.00"},
            {"item": "ollas", "quantity": 10, "unit_value": "50.00"},
        ],
    }]
    assert str(first.delivery_id) in refused.value.message and "distinct_from" in refused.value.message
    assert grant.delivered == Decimal("3000.00")  # nothing recorded

    # Staff say it is another kit handed over that day: taken, and what they said is kept with it.
    second = grant.deliver_goods(KITCHEN, DAY, distinct_from=[first.delivery_id, first.delivery_id])
    assert second.distinct_from == (first.delivery_id,) and first.distinct_from == ()
    assert grant.delivered == Decimal("6000.00")
    # A third is like both: it names the one not named.
    with pytest.raises(PossibleDuplicateDeliveryError) as third:
        grant.deliver_goods(KITCHEN, DAY, distinct_from=[first.delivery_id])
    assert [d["delivery_id"] for d in third.value.extensions["possible_duplicates"]] == [str(second.delivery_id)]


def test_rows_in_another_order_and_names_in_another_case_spacing_accents_or_punctuation_are_the_same_goods() -> None:
    grant = goods_grant()
    grant.deliver_goods(KITCHEN, DAY)
    for retyped in (
        [line("ollas", 10, "50.00"), line("cocina industrial", 1, "2500.00")],
        [line("Cocina  Industrial", 1, "2500.00"), line("OLLAS", 10, "50.0")],
        [line("cocína industrial.", 1, "2500.00"), line("ollas", 10, "50.00")],  # tester 221 F5
    ):
        with pytest.raises(PossibleDuplicateDeliveryError):
            grant.deliver_goods(retyped, DAY)
    assert len(grant.deliveries) == 1


@pytest.mark.parametrize(
    ("items", "day"),
    [
        (KITCHEN, date(2026, 4, 11)),  # another day: the same kit handed over again (the day is the delivery's, not the typing's)
        ([line("cocina industrial", 1, "2500.00"), line("ollas", 11, "50.00")], DAY),
        ([line("cocina industrial", 1, "2500.00"), line("ollas", 10, "55.00")], DAY),
        ([line("cocina industrial", 1, "2500.00"), line("ollas grandes", 10, "50.00")], DAY),
        ([line("cocina industrial", 1, "2500.00")], DAY),  # part of it
        ([*KITCHEN, line("cucharones", 2, "15.00")], DAY),  # more than it
    ],
)
def test_a_delivery_differing_in_day_or_in_any_item_quantity_or_value_is_no_duplicate(items: list[DeliveredItem], day: date) -> None:
    grant = goods_grant()
    grant.deliver_goods(KITCHEN, DAY)
    grant.deliver_goods(items, day)
    assert len(grant.deliveries) == 2


def test_distinct_from_names_only_deliveries_this_one_could_repeat() -> None:
    grant = goods_grant()
    first, other = grant.deliver_goods(KITCHEN, DAY), grant.deliver_goods(KITCHEN, date(2026, 4, 12))

    for named, index in (([first.delivery_id, uuid4()], 1), ([other.delivery_id, first.delivery_id], 0)):
        with pytest.raises(NotAPossibleDuplicateError) as refused:
            grant.deliver_goods(KITCHEN, DAY, distinct_from=named)
        assert (refused.value.field, refused.value.rule) == (f"distinct_from.{index}", "possible_duplicate_named")
        assert str(named[index]) in refused.value.message
    with pytest.raises(NotAPossibleDuplicateError):  # a delivery like none the grant holds names none
        grant.deliver_goods([line("escoba", 3, "12.00")], DAY, distinct_from=[first.delivery_id])
    assert len(grant.deliveries) == 2


def test_a_possible_duplicate_is_said_before_the_grants_remaining_amount() -> None:
    """A resend past what remains would otherwise be told to fit the grant, as if it were a delivery to trim."""
    grant = grant_fund(uuid4(), Decimal("4000.00"), Currency.PEN, date(2026, 4, 1), GrantKind.GOODS)
    grant.deliver_goods(KITCHEN, DAY)
    with pytest.raises(PossibleDuplicateDeliveryError):
        grant.deliver_goods(KITCHEN, DAY)


# One delivery lists each item once --------------------------------------------------------


@pytest.mark.parametrize(
    "again",
    [line("ollas", 10, "50.00"), line("ollas", 4, "50.00"), line("ollas", 10, "60.00"), line(" OLLAS ", 10, "50.00"), line("Ollas\u00a0", 1, "1.00")],
)
def test_one_delivery_listing_an_item_twice_is_refused_at_the_later_row_whatever_its_quantity_or_value(again: DeliveredItem) -> None:
    grant = goods_grant()
    with pytest.raises(RepeatedItemError) as refused:
        grant.deliver_goods([line("ollas", 10, "50.00"), line("cucharones", 2, "15.00"), again], DAY)
    assert (refused.value.field, refused.value.rule) == ("items.2.item", "unique_item")
    assert "items.0" in refused.value.message
    assert grant.deliveries == []


def test_every_item_listed_again_is_named_and_a_row_read_in_part_counts_by_its_name() -> None:
    rows = [line("ollas", 1, "1.00"), PartlyRead({"item": "Ollas", "quantity": 1}), None, line("ollas", 2, "1.00"), line("olla 50 l", 1, "1.00")]
    assert [(m.field, m.rule) for m in item_mistakes(rows)] == [("items.1.item", "unique_item"), ("items.3.item", "unique_item")]


def test_an_items_name_is_compared_as_people_read_it() -> None:
    assert item_key("  Cocina \t Industrial ") == item_key("cocina industrial") == item_key("COCINA INDUSTRIAL")
    assert item_key("cafe\u0301") == item_key("café") == item_key("cafe")  # tester 221 F5: accents are lost on a resend
    assert item_key("Balón de gas.") == item_key("Balon de gas") == item_key("BALÓN  DE GAS")
    assert item_key("Ollas de alumínio 50-L") == item_key("ollas de aluminio 50 l")
    assert item_key("olla 20 l") != item_key("olla 50 l") and item_key("kit 1/2") != item_key("kit 12")


# Deliveries stored before the rules ---------------------------------------------------


def test_a_delivery_stored_before_listing_an_item_twice_replays_as_recorded_and_counts_as_its_sum() -> None:
    grant = goods_grant()
    grant._goods_delivered(  # as stored before: ollas typed twice, no distinct_from kept
        osv_id=grant.osv_id, delivery_id=uuid4(), currency=Currency.PEN, delivered_on=DAY, total_value=Decimal("1000.00"),
        items=[{"item": "ollas", "quantity": 10, "unit_value": Decimal("50.00")}] * 2,
    )
    made, stored = grant.collect_events()
    stored.__dict__.pop("distinct_from", None)
    replayed = None
    for domain_event in (made, stored):
        replayed = domain_event.mutate(replayed)
    assert replayed is not None and replayed.delivered == Decimal("1000.00") and len(replayed.deliveries[0].items) == 2
    assert replayed.deliveries[0].distinct_from == ()

    assert same_deliveries(replayed.deliveries, [line("ollas", 20, "50.00")], DAY) == replayed.deliveries
    with pytest.raises(PossibleDuplicateDeliveryError):
        replayed.deliver_goods([line("ollas", 20, "50.00")], DAY)
    replayed.deliver_goods([line("ollas", 10, "50.00")], DAY)  # half of it is another delivery
