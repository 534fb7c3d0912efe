"""Goods deliveries on a goods grant: their lines, and the rules that keep one delivery from counting twice (tester 218
F2). Pure: no I/O. :mod:`.grants` re-exports the values; :meth:`~.grants.Grant.deliver_goods` applies the rules.

A delivery cannot be undone, so a plain resend of one (sent first with an ``Idempotency-Key``, then again without) put
its goods in the figures twice for good. Two rules keep it out, judged on new commands only (deliveries stored before
stay as they were recorded):

- one delivery lists each item once (:func:`item_mistakes`, 422 ``unique_item``);
- a delivery of the same goods on the same day as one the grant holds is a possible duplicate (:func:`check_not_delivered`,
  409 ``possible_duplicate``), unless the request names that delivery in ``distinct_from``.

Items are compared as people read their names (:func:`item_key`): "Ollas", "ollas ", "OLLAS" and "Ollás." are one item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from shared.districts import fold
from shared.duplicates import NotAPossibleDuplicateError, check_named_apart
from shared.errors import ConflictError, RuleViolationError, field_of
from shared.money import CENT, Currency


@dataclass(frozen=True)
class DeliveredItem:
    """A line of a goods delivery: what, how many, and what each is worth."""

    item: str
    quantity: int
    unit_value: Decimal

    @property
    def value(self) -> Decimal:
        return (self.quantity * self.unit_value).quantize(CENT)


@dataclass(frozen=True)
class GoodsDelivery:
    delivery_id: UUID
    items: tuple[DeliveredItem, ...]
    total_value: Decimal
    delivered_on: date
    distinct_from: tuple[UUID, ...] = ()
    """The grant's deliveries of the same day and goods that staff said this one is not; none in one stored before."""


def item_key(item: str) -> str:
    """An item's name as people read it, to compare two (:func:`shared.districts.fold`, as district names are compared):
    case, accents, punctuation and runs of spaces do not count ("Cocina  Industrial" is "cocina industrial", "Balón de
    gas." is "Balon de gas", "olla 20-L" is "olla 20 L"). A resend typed on another phone or copied from a spreadsheet
    loses its accents and gains a dot, and was taken as other goods (tester 221 F5); Spanish tells no two goods apart by an
    accent alone. Digits and letters count: "olla 20 l" is not "olla 50 l"."""
    return fold(item)


# One delivery lists each item once ------------------------------------------------


class RepeatedItemError(RuleViolationError):
    """422 ``unique_item`` at ``items.<index>.item``: the row repeats an item an earlier row of the delivery lists."""

    def __init__(self, index: int, item: str, first: int) -> None:
        super().__init__(
            f"item '{item}' is listed at items.{first} already: give one row per item, its quantity the number handed over; "
            "goods of another size or value are another item, named apart (`olla 20 l`, `olla 50 l`)",
            field=f"items.{index}.item",
            rule="unique_item",
        )


def item_mistakes(items: Sequence[object]) -> Iterator[RuleViolationError]:
    """Each row that lists an item an earlier row lists (:func:`item_key`), whatever its quantity or unit value (422
    ``unique_item``, naming the later row), in order. A row read in part (:func:`~shared.errors.field_of`) counts by its
    item's name, if read.

    One item in two rows is refused at any values: two rows of one item at one value are a row typed twice (the tester
    listed `ollas`, 10 × 50.00, twice, and both counted); at two values, the delivery reads as the same thing worth two
    prices, in the grant, the event and the donors' report alike. Goods that differ (two sizes of pots) are told apart
    by their names, which then differ.
    """
    seen: dict[str, int] = {}
    for index, row in enumerate(items):
        item = field_of(row, "item")
        if not isinstance(item, str):
            continue
        first = seen.setdefault(item_key(item), index)
        if first != index:
            yield RepeatedItemError(index, item, first)


# A delivery the grant holds already -------------------------------------------------


def goods_of(items: Iterable[DeliveredItem]) -> Counter[tuple[str, Decimal]]:
    """How many of each item (:func:`item_key`) at each unit value: what two deliveries are compared by, the order of their
    rows not counting (a delivery stored before :func:`item_mistakes` that lists an item twice at one value counts it once,
    with both quantities)."""
    goods: Counter[tuple[str, Decimal]] = Counter()
    for line in items:
        goods[(item_key(line.item), line.unit_value)] += line.quantity
    return goods


def same_deliveries(deliveries: Iterable[GoodsDelivery], items: Iterable[DeliveredItem], delivered_on: date) -> list[GoodsDelivery]:
    """Those of ``deliveries`` handed over on ``delivered_on`` with the same goods as ``items`` (:func:`goods_of`).

    The same day only, not near days: ``delivered_on`` is the day the goods were handed over, copied from the delivery's
    record, not the day it is typed in, so a resend days later carries it as the first did. A near day is as likely
    another delivery of the same kit (a soup kitchen stocked each week, lots handed over on two days running), and a
    window of days would refuse it by a width no one could predict. So one rule, as ``POST /grants`` judges a grant by
    its ``granted_on``: the same day and the same goods.
    """
    goods = goods_of(items)
    return [d for d in deliveries if d.delivered_on == delivered_on and goods_of(d.items) == goods]


class PossibleDuplicateDeliveryError(ConflictError):
    """409 ``possible_duplicate`` (field ``grant_id``): the grant holds a delivery of the same goods on the same day;
    ``possible_duplicates`` (in :attr:`extensions`) names each: ``delivery_id``, ``grant_id``, ``delivered_on`` (ISO),
    ``total_value`` (a decimal string in ``currency``), ``currency`` and ``items`` (``item``, ``quantity``,
    ``unit_value``, as recorded)."""

    def __init__(self, grant_id: UUID, currency: Currency, duplicates: Sequence[GoodsDelivery]) -> None:
        first = duplicates[0]
        named = ", ".join(str(d.delivery_id) for d in duplicates)
        super().__init__(
            f"this grant already holds a delivery of the same goods worth {first.total_value} {currency.value} delivered on "
            f"{first.delivered_on.isoformat()}: {named}. If this is another delivery, send the request again with "
            '"distinct_from": [<those ids>]; if it is the same, it is recorded already (a request sent again is sent '
            "with the same Idempotency-Key)",
            field="grant_id",
            rule="possible_duplicate",
        )
        self.duplicates = list(duplicates)
        self.extensions = {
            "possible_duplicates": [
                {
                    "delivery_id": str(d.delivery_id), "grant_id": str(grant_id), "delivered_on": d.delivered_on.isoformat(),
                    "total_value": str(d.total_value), "currency": currency.value,
                    "items": [{"item": i.item, "quantity": i.quantity, "unit_value": str(i.unit_value)} for i in d.items],
                }
                for d in duplicates
            ]
        }


def check_not_delivered(
    grant_id: UUID,
    currency: Currency,
    deliveries: Iterable[GoodsDelivery],
    items: Sequence[DeliveredItem],
    delivered_on: date,
    distinct_from: Iterable[UUID] = (),
) -> None:
    """Raise :class:`PossibleDuplicateDeliveryError` (409) naming the :func:`same_deliveries` among the grant's
    ``deliveries`` that ``distinct_from`` does not name; then 422 ``possible_duplicate_named`` at ``distinct_from.<index>``
    for the first id there that is none of them (it is kept with the delivery, and published)."""

    def refused(alike: list[GoodsDelivery]) -> PossibleDuplicateDeliveryError:
        return PossibleDuplicateDeliveryError(grant_id, currency, alike)

    def named_none(index: int, named: UUID) -> NotAPossibleDuplicateError:
        return NotAPossibleDuplicateError(index, named, "this grant's deliveries of the same goods and delivered_on", "deliveries")

    alike = same_deliveries(deliveries, items, delivered_on)
    check_named_apart(alike, distinct_from, lambda delivery: delivery.delivery_id, refused, named_none)
