"""How a service refuses a record that may be one it holds already, typed twice: in funding a grant
(:mod:`services.funding.domain.grantduplicates`) or a goods delivery (:mod:`services.funding.domain.deliveries`); in
engagement a meeting, technical assistance, a needs assessment or an activity
(:mod:`services.engagement.domain.repeats`). Pure: no I/O.

The records alike the new one are named in a 409 ``possible_duplicate``, unless the request names them in
``distinct_from`` (staff say it is another record); an id there that is none of them is 422 ``possible_duplicate_named``
at ``distinct_from.<index>``, for it is kept and shown with the record (tester 191 F1: another municipality's grant went
out with this one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar
from uuid import UUID

from shared.errors import ConflictError, RuleViolationError

R = TypeVar("R")


class NotAPossibleDuplicateError(RuleViolationError):
    """422 ``possible_duplicate_named`` at ``distinct_from.<index>``: an id that is none of the records this one could
    repeat; ``alike`` says which those are ("this OSV's grants of the same kind…"), ``records`` what they are
    ("grants")."""

    def __init__(self, index: int, named: UUID, alike: str, records: str) -> None:
        super().__init__(
            f"{named} is none of {alike}: distinct_from names only the {records} a 409 possible_duplicate named",
            field=f"distinct_from.{index}",
            rule="possible_duplicate_named",
        )


def check_named_apart(
    alike: Sequence[R],
    distinct_from: Iterable[UUID],
    id_of: Callable[[R], UUID],
    duplicate: Callable[[list[R]], ConflictError],
    named_none: Callable[[int, UUID], NotAPossibleDuplicateError],
) -> None:
    """Raise ``named_none`` (422) for the first id of ``distinct_from`` that is none of ``alike``; then ``duplicate``
    (409) of the records of ``alike`` that ``distinct_from`` does not name, if any. The 422 first: an id mistyped in
    ``distinct_from`` was answered the 409 telling its sender to send ``distinct_from``, which they had (tester 242 F3)."""
    named = list(distinct_from)
    ids = {id_of(record) for record in alike}
    for index, record_id in enumerate(named):
        if record_id not in ids:
            raise named_none(index, record_id)
    skipped = set(named)
    unnamed = [record for record in alike if id_of(record) not in skipped]
    if unnamed:
        raise duplicate(unnamed)
