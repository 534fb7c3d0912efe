"""A field record that may be one engagement holds already, typed twice (tester 233 F3). Pure: no I/O.

The same technical assistance sent twice without an ``Idempotency-Key`` (a timeout retry, a double tap) was recorded
twice: one 2-hour session showed ``total_hours`` 4.00, and a fair of 7 sent eight times counted 56 people reached.
Meetings, technical assistance and needs assessments had no withdrawal, so such a double stayed in the figures for
good (a meeting has one since: :mod:`~services.engagement.domain.withdrawals`). A new record that looks the same as one the OSV holds is refused with 409 ``possible_duplicate`` naming it,
unless the request names it in ``distinct_from`` (staff say it is another), as funding refuses a grant or a goods
delivery (:mod:`shared.duplicates`, whose check this is):

==========================  ================================================================================
record                      looks the same as one of the OSV's
==========================  ================================================================================
meeting                     held the same day (``held_on``) in the same ``mode``; a withdrawn one is none
technical assistance        given the same day (``given_on``) on the same ``topic``
needs assessment            assessed the same day (``assessed_on``)
activity                    held the same day (``held_on``), of the same ``kind``, in the same district; a
                            withdrawn one is none
==========================  ================================================================================

The same day only, not near days: the day is the one it happened, copied from the field record, so a resend carries it
as the first did, while a meeting a few days on is as likely another. Counts, hours, topics, attendees and words are not
compared: a resend retyped after a timeout may differ in them, and two sessions of one kind with one OSV on one day are
rare enough for staff to say so. Each record is judged against the aggregate it is saved with (the OSV's follow-up, its
needs record, its activity index), so identical requests racing collide in the store, and the one run again finds the
other's record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from services.engagement.domain.activities import Activity, ActivityKind
from shared.duplicates import NotAPossibleDuplicateError, check_named_apart
from shared.errors import ConflictError

R = TypeVar("R")


class PossibleDuplicateError(ConflictError):
    """409 ``possible_duplicate`` at ``field`` (the record's day): the OSV holds a ``record`` that looks the same;
    ``possible_duplicates`` (in :attr:`extensions`) describes each (ids, the day, kinds and counts; never staff's words)."""

    def __init__(
        self, record: str, field: str, alike: str, duplicates: Sequence[dict[str, Any]], id_field: str
    ) -> None:
        named = ", ".join(str(d[id_field]) for d in duplicates)
        super().__init__(
            f"this OSV already has {'an' if record[0] in 'aeiou' else 'a'} {record} {alike}: {named}. If this is another {record}, send the request again with "
            '"distinct_from": [<those ids>]; if it is the same, it is recorded already (a request sent again is sent '
            "with the same Idempotency-Key)",
            field=field,
            rule="possible_duplicate",
        )
        self.extensions = {"possible_duplicates": list(duplicates)}


def check_not_recorded(
    alike: Sequence[R],
    distinct_from: Iterable[UUID],
    *,
    record: str,
    records: str,
    field: str,
    said: str,
    id_field: str,
    id_of: Callable[[R], UUID],
    shown: Callable[[R], dict[str, Any]],
) -> None:
    """Raise :class:`PossibleDuplicateError` (409 at ``field``) of the records of ``alike`` (the OSV's ``records`` that
    look like the new ``record``, as ``said``: "held on 2022-04-05 in_person") that ``distinct_from`` does not name, each
    described by ``shown``; then 422 ``possible_duplicate_named`` at ``distinct_from.<index>`` for the first id there that
    is none of them (it is kept with the record, and published)."""

    def refused(unnamed: list[R]) -> ConflictError:
        return PossibleDuplicateError(record, field, said, [shown(r) for r in unnamed], id_field)

    def named_none(index: int, named: UUID) -> NotAPossibleDuplicateError:
        return NotAPossibleDuplicateError(index, named, f"this OSV's {records} {said}", records)

    check_named_apart(alike, distinct_from, id_of, refused, named_none)


def check_activity_not_reported(
    activities: Iterable[Activity], held_on: date, kind: ActivityKind, district: str, distinct_from: Iterable[UUID]
) -> None:
    """409 ``possible_duplicate`` (field ``held_on``) naming those of the OSV's ``activities`` held on ``held_on``, of
    ``kind``, in ``district`` (its official name) and not withdrawn, that ``distinct_from`` does not name; 422
    ``possible_duplicate_named`` for an id there that is none of them. ``possible_duplicates``: ``activity_id``,
    ``osv_id``, ``held_on``, ``kind``, ``district``, ``direct_beneficiary_total``."""
    kind = ActivityKind(kind)
    check_not_recorded(
        [
            a
            for a in activities
            if a.held_on == held_on and a.kind is kind and a.district == district and a.withdrawal is None
        ],
        distinct_from,
        record="activity",
        records="activities",
        field="held_on",
        said=f"held on {held_on.isoformat()}, a {kind.value} in {district} (a withdrawn one is none)",
        id_field="activity_id",
        id_of=lambda a: a.id,
        shown=lambda a: {
            "activity_id": str(a.id),
            "osv_id": str(a.osv_id),
            "held_on": a.held_on.isoformat(),
            "kind": a.kind.value,
            "district": a.district,
            "direct_beneficiary_total": a.direct_beneficiary_total,
        },
    )


def kept(distinct_from: Iterable[UUID]) -> list[UUID]:
    """``distinct_from`` as recorded: each id once, in the order given."""
    return list(dict.fromkeys(distinct_from))
