"""A store put back from an older backup, behind its stream: what was found, the refusal of saves, and the one exception.

The relay (:mod:`shared.relay`) finds it, :class:`shared.store.ServiceApplication` refuses saves while it lasts,
``osv-restore`` (:mod:`shared.restore`) takes the store past the stream (README, "Restoring a backup").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

RESTORE_SECTION = 'README.md, "Restoring a backup"'


@dataclass(frozen=True)
class StreamAhead:
    """The service's stream holds events its store does not: the store was put back from an older backup, or lost its tail.

    ``stream_position`` is the position of the stream's last event; ``store_head`` the store's last position when
    it was found (below ``stream_position``, or at or past it with another event at ``stream_position``:
    ``diverged``). ``made_again``: diverged, and the events the store holds from ``stream_position`` on were made
    again while behind (:func:`only_made_again`: engagement's erasures), not commands.
    """

    service: str
    stream_position: int
    store_head: int
    diverged: bool = False
    made_again: bool = False

    def describe(self) -> str:
        """What was found and what an operator does about it, in one paragraph (the log line, ``/health``, a 503's detail)."""
        if self.diverged and self.made_again:
            found = (
                f"{self.service}'s event store holds, at position {self.stream_position}, another event than the one its stream "
                f"already published there (the store ends at {self.store_head}): it was restored from an older backup, and the "
                "events it holds from there on are erasures made again from its stream's tombstones, not commands"
            )
        elif self.diverged:
            found = (
                f"{self.service}'s event store holds, at position {self.stream_position}, another event than the one its stream "
                f"already published there (the store ends at {self.store_head}): it was restored from an older backup and "
                "has taken new events since"
            )
        else:
            found = (
                f"{self.service}'s event store ends at position {self.store_head}, but its stream already holds events up to "
                f"position {self.stream_position}: the store was restored from an older backup, or lost its latest events"
            )
        return (
            f"{found}. New events would take positions the stream and every partner hold for other events, and never be "
            f"published: commands are refused (503 store_behind_stream) until an operator restores a newer backup, or runs "
            f"`osv-restore accept-tail --service {self.service}` to accept that the stream's events after the store's are "
            f"not in the store ({RESTORE_SECTION})"
        )

    def summary(self) -> str:
        """One line for ``last_error``."""
        if self.diverged:
            found = f"it holds another event than its stream at position {self.stream_position}"
        else:
            found = f"it ends at {self.store_head} and the stream holds events up to {self.stream_position}"
        return f"the store is behind its stream: {found}; nothing is published and commands are refused (see stream_ahead)"

    def as_dict(self) -> dict[str, Any]:
        return {
            "stream_position": self.stream_position,
            "store_head": self.store_head,
            "diverged": self.diverged,
            "detail": self.describe(),
        }


MADE_AGAIN_LOOKED_AT = 1000
"""Events :func:`only_made_again` looks at, at most: more, and some were not made again."""


def only_made_again(app: Any, since: int) -> bool:
    """Whether the store holds events from position ``since`` on (at most :data:`MADE_AGAIN_LOOKED_AT`), each of a topic
    saved while the store is behind its stream (``app.TAKEN_WHILE_BEHIND``: engagement's erasures made again).

    For a store found diverged, from the position its stream holds for another event: what took that position is
    what :func:`despite_stream_ahead` lets through, not a command. (Whether commands came before it, the store alone
    cannot say: ``osv-restore check`` compares it with the stream.) One read of the store; none for a service that
    saves nothing while behind.
    """
    topics = app.TAKEN_WHILE_BEHIND
    if not topics:
        return False
    found = app.recorder.select_notifications(start=since, limit=MADE_AGAIN_LOOKED_AT + 1)
    return 0 < len(found) <= MADE_AGAIN_LOOKED_AT and all(n.topic in topics for n in found)


_despite_stream_ahead: ContextVar[bool] = ContextVar("saved_despite_stream_ahead", default=False)


@contextlib.contextmanager
def despite_stream_ahead() -> Iterator[None]:
    """Saves in this block (this thread's) are taken while the store is behind its stream (:class:`StreamAhead`).

    For what must be recorded whichever way out an operator takes: an erasure made again from the stream's tombstones
    (:meth:`services.engagement.application.Engagement.erase_again`). ``osv-restore accept-tail`` publishes it past
    the stream's tail, as any event the store took before its relay looked; a newer backup put back loses it, and it is
    made again at that start. Refused, the person's data was back in the store until an operator acted.
    """
    token = _despite_stream_ahead.set(True)
    try:
        yield
    finally:
        _despite_stream_ahead.reset(token)


def stream_ahead_taken() -> bool:
    """Whether this thread is in :func:`despite_stream_ahead`: its saves are taken while the store is behind its stream."""
    return _despite_stream_ahead.get()


STORE_BEHIND_RETRY_AFTER_SECONDS = 60
"""``Retry-After`` of a command refused while the store is behind its stream: it lasts until an operator acts."""


class StoreBehindStreamError(RuntimeError):
    """A save refused because the store is behind its stream (:class:`StreamAhead`): 503 ``store_behind_stream``, nothing written."""

    rule = "store_behind_stream"

    def __init__(self, ahead: StreamAhead) -> None:
        super().__init__(ahead.describe())
        self.ahead = ahead
