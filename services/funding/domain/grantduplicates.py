"""A grant that may be one the OSV already has, typed twice (tester 177 F4). Pure: no I/O.

Eight identical ``POST /grants`` sent at once without an ``Idempotency-Key`` were all recorded. A grant made directly to an
OSV with the same kind, amount, currency and ``granted_on`` as one of the organisation's grants not withdrawn (its own, or
those of a record merged into it; one made on a proposal included) is a *possible duplicate*: refused with 409
``possible_duplicate`` naming those grants, unless the request says it is another grant (``distinct_from``: their ids).
The organisation's grants are its support history's (:class:`~.grants.SupportHistory`), saved in the same transaction as
every grant to it: two identical requests at once conflict in the store, and the one run again finds the other's grant.
A grant made on an approved proposal is not checked: the proposal says which grant it is, and its approved amount bounds
what is granted on it (a proposal may be granted in equal parts).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from uuid import UUID

from services.funding.domain.grants import Grant, GrantKind, SupportHistory
from shared.duplicates import NotAPossibleDuplicateError as NotAPossibleDuplicateError
from shared.duplicates import check_named_apart
from shared.errors import ConflictError
from shared.money import Currency


class PossibleDuplicateGrantError(ConflictError):
    """409 ``possible_duplicate`` (field ``osv_id``): the OSV already has a grant of this kind, amount, currency and day;
    ``possible_duplicates`` (in :attr:`extensions`) names each: ``grant_id``, ``kind``, ``amount`` (a decimal string),
    ``currency``, ``granted_on`` (ISO), ``proposal_id`` (or None) and ``osv_id`` (the record it was granted to)."""

    def __init__(self, duplicates: Sequence[Grant]) -> None:
        first = duplicates[0]
        named = ", ".join(str(g.id) for g in duplicates)
        super().__init__(
            f"this OSV already has a {first.kind.value} grant of {first.amount} {first.currency.value} granted on "
            f"{first.granted_on.isoformat()}: {named}. If this is another grant, send the request again with "
            '"distinct_from": [<those ids>]; if it is the same, it is recorded already (a request sent again is sent '
            "with the same Idempotency-Key)",
            field="osv_id",
            rule="possible_duplicate",
        )
        self.duplicates = list(duplicates)
        self.extensions = {
            "possible_duplicates": [
                {
                    "grant_id": str(g.id), "osv_id": str(g.osv_id), "kind": g.kind.value, "amount": str(g.amount),
                    "currency": g.currency.value, "granted_on": g.granted_on.isoformat(),
                    "proposal_id": None if g.proposal_id is None else str(g.proposal_id),
                }
                for g in duplicates
            ]
        }


def _named_none(index: int, named: UUID) -> NotAPossibleDuplicateError:
    """422 ``possible_duplicate_named`` at ``distinct_from.<index>``: an id that is none of the OSV's grants this one could
    repeat; kept, it was published in ``FundGranted`` (a grant of another municipality's OSV went to this one's partner,
    tester 191 F1)."""
    alike = "this OSV's grants of the same kind, amount, currency and granted_on (a withdrawn one is no duplicate)"
    return NotAPossibleDuplicateError(index, named, alike, "grants")


def same_day_and_kind(
    history: SupportHistory, granted_on: date, kind: GrantKind, amount: Decimal | None = None, currency: Currency | None = None
) -> list[UUID]:
    """The organisation's grants not withdrawn (its own and those of records merged into it) of ``kind`` granted on
    ``granted_on``, and of ``amount`` and ``currency`` when given and the history recorded them: the only ones a new
    grant may repeat. Read them (:func:`possible_duplicates` compares amount and currency, and gives what the 409 names);
    none are read for a grant unlike every other of the OSV's (1,000 grants to one OSV, a day repeated, read three each:
    the 1,000th grant went at 0.72 of the first's rate, make bench)."""
    kind = GrantKind(kind)
    return [
        r.grant_id for r in history.organisation_grants
        if r.granted_on == granted_on and r.kind is kind
        and (amount is None or r.amount is None or r.amount == amount) and (currency is None or r.currency is None or r.currency is Currency(currency))
    ]


def possible_duplicates(
    amount: Decimal, currency: Currency, granted_on: date, kind: GrantKind, grants: Iterable[Grant], distinct_from: Iterable[UUID] = ()
) -> list[Grant]:
    """Those of ``grants`` with this kind, amount, currency and day, not withdrawn, and not named in ``distinct_from``."""
    skip = set(distinct_from)
    currency, kind = Currency(currency), GrantKind(kind)
    return [
        g for g in grants
        if g.id not in skip and g.withdrawal is None and g.kind is kind and g.amount == amount and g.currency is currency
        and g.granted_on == granted_on
    ]


def check_not_duplicate(
    amount: Decimal, currency: Currency, granted_on: date, kind: GrantKind, grants: Iterable[Grant], distinct_from: Iterable[UUID] = ()
) -> None:
    """Raise :class:`PossibleDuplicateGrantError` (409) naming the :func:`possible_duplicates` among ``grants``, if any;
    then :class:`NotAPossibleDuplicateError` (422) for the first id of ``distinct_from`` that is none of them."""
    alike = possible_duplicates(amount, currency, granted_on, kind, grants)
    check_named_apart(alike, distinct_from, lambda grant: grant.id, PossibleDuplicateGrantError, _named_none)
