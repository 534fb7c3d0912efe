"""A record asked for by id that the store lost with a stream's tail an operator accepted: 404 that says so.

After ``osv-restore accept-tail`` (:mod:`shared.restore`) the stream's events
after the shared position are not in the store: the service knows nothing of
those records, and a request naming one answered only "grant … does not
exist", while partners and reporting (its evidence) still hold its events
(tester 245 F7). The store's :class:`~shared.restore.StreamTailAccepted`
records keep the lost events' subjects: a 404 whose path names one of them
says it was lost with the tail accepted at the restore, when, and at which
position, with the record in the problem's ``accepted_loss``. Still 404: the
service holds nothing of it to answer with.

Only the record the 404 is about is looked for: the path parameter the error
names (its ``field``), not every id in the path (an unknown application of a
kept OSV whose change was lost is no lost record: tester 256 F2). And only a
caller whose token reaches all of Lima for the route is told: the store keeps
no municipality of what it lost, and a focal point asking for another
municipality's record gets the same plain 404 as for an id that names
nothing (README, "An object outside the caller's scope"; tester 256 F1).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.auth import RoutePermissions, reach_of_request
from shared.errors import DomainError, NotFoundError
from shared.problems import DATABASE_AWAY
from shared.restore import accepted_records

if TYPE_CHECKING:
    from shared.web import Runtime

log = logging.getLogger(__name__)


class LostTails:
    """The subjects each accept-tail record of a store says were lost, read again only when the store's marks say a tail
    was accepted up to another position (:meth:`~shared.relaypositions.RelayPositions.stream_marks`: one indexed read a
    404; the records themselves are read only when the mark moved)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._resolved: int | None = None
        self._lost: dict[str, dict[str, Any]] = {}

    def lost(self, app: Any, ids: Iterable[str]) -> dict[str, Any] | None:
        """The accept-tail record (``position``, ``accepted_at``, ``shared_position``, ``stream_position``) that lost the
        first of ``ids`` it names, or None."""
        wanted = [i for i in ids if isinstance(i, str)]
        marks = getattr(app, "stream_marks", None)
        if not wanted or marks is None:
            return None
        resolved = marks()[1]
        if not resolved:  # no tail ever accepted in this store
            return None
        with self._lock:
            if resolved != self._resolved:
                lost: dict[str, dict[str, Any]] = {}
                for position, record in accepted_records(app):
                    if record is None:
                        continue
                    said = {
                        "position": position,
                        "accepted_at": str(record.accepted_at),
                        "shared_position": int(record.shared_position),
                        "stream_position": int(record.stream_position),
                    }
                    lost.update(dict.fromkeys(getattr(record, "lost_subjects", None) or [], said))
                self._lost, self._resolved = lost, resolved
            return next((self._lost[i] for i in wanted if i in self._lost), None)


def asked_for(path_params: dict[str, Any], field: str | None) -> str | None:
    """The id a 404 is about: the path parameter its ``field`` names; the only one when it names none (an aggregate not
    found); else None (the error is about something else: a version, a body's id)."""
    if field is not None:
        value = path_params.get(field)
        return value if isinstance(value, str) else None
    return next(iter(path_params.values())) if len(path_params) == 1 else None


def lost_detail(message: str, record: dict[str, Any]) -> str:
    """``message`` with why: lost with the stream's tail accepted at the restore, when and where."""
    day = record["accepted_at"][:10]
    return (
        f"{message.rstrip('.')}: it was lost with the stream's tail accepted at the restore on {day} "
        f"(osv-restore accept-tail, recorded at position {record['position']}: the stream's events after position "
        f"{record['shared_position']} up to {record['stream_position']} are not in this store); partners and reporting "
        "keep its events"
    )


def install_lost_tail_notes(api: FastAPI, runtime: Runtime) -> None:
    """404s (a :class:`~shared.errors.NotFoundError`, an aggregate not found) whose path names a record of a tail the
    store's accept-tail records say was lost say so (:func:`lost_detail`), the record in ``accepted_loss``; others
    answer as ever. Install after :func:`shared.problems.install_error_handlers`."""
    plain = api.exception_handlers[NotFoundError]
    tails = LostTails()
    wanted = RoutePermissions(api)

    def not_found(request: Request, exc: Exception) -> JSONResponse:
        asked = asked_for(request.path_params, getattr(exc, "field", None))
        validator = getattr(api.state, "token_validator", None)
        if asked is None or validator is None or not reach_of_request(validator, request.scope["headers"], wanted(request.scope)).all_of_lima:
            return plain(request, exc)  # type: ignore[no-any-return]
        try:
            record = tails.lost(runtime.store, [asked])
        except DATABASE_AWAY as away:  # the 404 as ever; the store's reason waits for the next request
            log.warning(
                "%s: the accept-tail records could not be read: %s", runtime.settings.service_name, type(away).__name__
            )
            record = None
        if record is not None:
            said = exc if isinstance(exc, DomainError) else NotFoundError("No such record.")
            noted = NotFoundError(lost_detail(said.message, record), field=said.field, rule=said.rule)
            noted.extensions = {**(getattr(said, "extensions", None) or {}), "accepted_loss": record}  # type: ignore[attr-defined]
            exc = noted
        response: JSONResponse = plain(request, exc)
        return response

    api.add_exception_handler(NotFoundError, not_found)  # type: ignore[arg-type]
    api.add_exception_handler(AggregateNotFoundError, not_found)  # type: ignore[arg-type]
