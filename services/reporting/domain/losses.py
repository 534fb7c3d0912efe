"""Facts whose service's store no longer holds them: lost in a restore an operator accepted.

After ``osv-restore accept-tail`` (README, "Restoring a backup") the service publishes ``StreamTailLost``
(:class:`shared.events.StreamTailLost`): its store lacks the stream's events after ``shared_position`` up to
``record_position``. Reporting keeps those facts and counts them (they happened, and partners hold them); an evidence
row citing one carries ``lost_from_source``, so that an auditor who follows it to the service and is answered 404
learns why from reporting too. The notices are facts like any other, so a rebuild (from the stream or the feeds)
marks the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.reporting.domain.indicators import Fact

LOST_TAIL = "StreamTailLost"
"""The type of a service's notice of an accepted loss (one per municipality told; reporting reads them all)."""


def accepted_losses(notices: Iterable[Fact]) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Per source, each accepted loss once, as ``(shared_position, marker)``: the marker names it by ``record_position``
    (the store's private record, which the service's ``GET /verify`` and its 404s name) and ``accepted_at`` (UTC).
    A loss is told once for the programme and once per district: the copies are one loss."""
    found: dict[str, dict[int, tuple[int, dict[str, Any]]]] = {}
    for notice in notices:
        data, source = notice.data, notice.source or notice.event_id.partition(":")[0]
        record = int(data["record_position"])
        marker = {"accepted_at": str(data["accepted_at"]), "record_position": record}
        found.setdefault(source, {})[record] = (int(data["shared_position"]), marker)
    return {source: list(losses.values()) for source, losses in found.items()}


def mark_lost(rows: Iterable[dict[str, Any]], notices: Iterable[Fact]) -> None:
    """Each evidence row (``event_id`` ``<source>:<position>``) whose fact a loss of its source took, after its
    ``shared_position`` up to its ``record_position``, gets ``lost_from_source`` (:func:`accepted_losses`' marker);
    the others ``None``. The row's figures are left as they are."""
    losses = accepted_losses(notices)
    for row in rows:
        source, _, position = str(row["event_id"]).partition(":")
        at = int(position) if position.isdigit() else 0
        row["lost_from_source"] = next(
            (marker for shared, marker in losses.get(source, ()) if shared < at <= marker["record_position"]), None
        )
