"""An aggregate's stored history as an auditor reads it (``audit:read``): every event, oldest first, each with who made
the command that recorded it (:mod:`shared.actors`), and the answer's shape.

Registry's ``GET /osvs/{id}/history`` and ``GET /municipalities/{id}/history``,
funding's ``GET /grants/{id}/history`` and ``GET /phases/{id}/history``, and
engagement's follow-up, activity, needs and member histories read
it: each service first checks that the aggregate is in the caller's municipal
scope (404 if not), then :func:`stored_history` reads the events as the
service stored them, and :func:`history_page` answers one page of them. The
sealed fields (:attr:`~shared.store.ServiceApplication.SEALED_FIELDS`: staff's
words, personal data) read :data:`~shared.roles.WITHHELD_TEXT` to a reader who
may not read them (:attr:`shared.roles.Caller.may_read_staff_text`), and
``[redacted]`` once their key is deleted, or once the aggregate recorded their
redaction (words stored in clear before the service sealed them). A member's
history withholds the person's data from every reader
(engagement's ``GET /members/{id}/history``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel, Field

from shared import dryrun
from shared.actors import Actor, RecordedBy, current_actor
from shared.roles import WITHHELD_TEXT
from shared.sealing import REDACTED_TEXT, Seal, withheld

if TYPE_CHECKING:
    from shared.listing import Page
    from shared.store import ServiceApplication


@dataclass(frozen=True)
class RecordedEvent:
    """One of an aggregate's stored events as an auditor reads it."""

    type: str
    version: int
    recorded_at: datetime
    data: dict[str, Any]
    recorded_by: dict[str, Any] | None = None
    """Who made the command that recorded it (:meth:`shared.actors.Actor.as_json`); None for an event stored before actors were recorded."""


EVENT_BOOKKEEPING = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})
"""The library's fields of every stored event: the entry's own ``version`` and ``recorded_at`` say them."""


def stored_history(
    app: ServiceApplication, aggregate_id: UUID, text: bool = True, redacted: Callable[[Any], bool] | None = None
) -> list[RecordedEvent]:
    """The aggregate's events as ``app`` stored them, oldest first, each with who made its command (:meth:`~shared.store.ServiceApplication.actors_of`).

    The fields ``app.SEALED_FIELDS`` names for an event's type as written (or ``[redacted]``) when ``text``, else
    each (not null) reads :data:`~shared.roles.WITHHELD_TEXT`. Those of a stored event for which ``redacted`` (given
    the domain event) is true read :data:`~shared.sealing.REDACTED_TEXT` to every reader: the aggregate recorded their
    redaction, which words stored in clear before the service sealed them outlive. Scope is the caller's: check it
    before (an empty list for an id the store does not hold). In a dry run (:mod:`shared.dryrun`), the events it would
    have stored follow, as the real command's answer reads them (a redaction's record, say).
    """
    actors = app.actors_of(aggregate_id)
    overlay = dryrun.current()
    rehearsed = [e for e in overlay.events if e.originator_id == aggregate_id] if overlay is not None else []
    if rehearsed and app.actors is not None:  # who the real save would record
        actors.update({e.originator_version: current_actor() or Actor.system(app.name) for e in rehearsed})
    recorded = []
    for event in [*app.events.get(aggregate_id), *rehearsed]:
        data = {k: v for k, v in event.__dict__.items() if k not in EVENT_BOOKKEEPING}
        sealed = app.SEALED_FIELDS.get(type(event))
        seal = sealed if sealed is None or isinstance(sealed, Seal) else Seal(sealed)
        if not text:
            data = withheld(data, seal, WITHHELD_TEXT)
        if seal is not None and redacted is not None and redacted(event):
            data = withheld(data, seal, REDACTED_TEXT)
        actor = actors.get(event.originator_version)
        recorded.append(RecordedEvent(
            type=type(event).__name__, version=event.originator_version, recorded_at=event.timestamp, data=data,
            recorded_by=actor.as_json() if actor is not None else None,
        ))
    return recorded


class EventRecordPublic(BaseModel):
    """One stored event of an aggregate's history (an OSV's, a grant's), for auditors."""

    type: str = Field(description="The event's name, e.g. `RUOSApplicationObserved`, `FundGranted`.")
    version: int = Field(description="Its place in the history of what recorded it (the OSV, the grant), from 1.")
    recorded_at: datetime = Field(description="When the service stored it (UTC).")
    data: dict[str, Any] = Field(
        description="What it recorded (this is the audit trail, not a public event). The staff's words in it (each "
        "endpoint names which) read `[withheld]` to a reader without `personal-data:read` (auditors: they may name "
        "people), `[redacted]` to every reader once forgotten (it holds no words: an auditor sees that they were destroyed). "
        "A member's history withholds the person's data from every reader."
    )
    recorded_by: RecordedBy | None = Field(
        description="Who made the command that recorded it: the authenticated caller of the request (its token's `sub`, "
        "client and platform roles), or the system (`subject` null, `client_id` `system:<what>`) for work no request made. "
        "Kept beside the event, never in it: in no `GET /events` entry nor stream message. Null for an event recorded "
        "before the service kept who recorded each event."
    )

    @classmethod
    def of(cls, recorded: RecordedEvent) -> EventRecordPublic:
        by = None if recorded.recorded_by is None else RecordedBy(**recorded.recorded_by)
        return cls(type=recorded.type, version=recorded.version, recorded_at=recorded.recorded_at, data=recorded.data, recorded_by=by)


def history_page(history: list[RecordedEvent], page: Page) -> list[EventRecordPublic]:
    """One page of an aggregate's history as a route answers it (``cursor``, ``limit``, ``Link: rel="next"``), each
    event keyed by its version."""
    return [EventRecordPublic.of(e) for e in page.of(history, key=lambda e: e.version)]
