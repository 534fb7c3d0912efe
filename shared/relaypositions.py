"""The relay's positions and the store's marks, kept in the store's own database (the library's tracking table).

How far the relay published, the last event the stream acknowledged, and the marks a relay leaves when it finds the
store behind its stream (:mod:`shared.streamahead`): a mixin of :class:`shared.store.ServiceApplication`, which sets
``_tracking``, :attr:`stream_ahead` and ``_stream_ahead_found`` in its ``__init__``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking

from shared.streamahead import StoreBehindStreamError, StreamAhead, only_made_again, stream_ahead_taken


class RelayPositions:
    """The relay's positions and the stream-ahead marks of a service's store, as tracking rows (never moved back)."""

    RELAY_TRACKING_NAME = "nats-relay"
    PUBLISHED_TRACKING_NAME = "nats-relay-acked"
    STREAM_AHEAD_TRACKING_NAME = "nats-stream-ahead"
    """The stream's last position when a relay found the stream holding events the store does not (:class:`StreamAhead`)."""
    STREAM_AHEAD_RESOLVED_TRACKING_NAME = "nats-stream-ahead-resolved"
    """Up to where that was resolved: by ``osv-restore accept-tail``, or by a relay that found the store holding the stream's last event."""

    factory: Any
    name: str
    stream_ahead: StreamAhead | None
    _tracking: Any
    _stream_ahead_found: bool
    log_head: Any  # the application's: the store's last position

    @property
    def tracking(self):
        """The library's tracking recorder (the relay's positions, the store's marks), made on first use.

        Two workers opening a fresh SQLite store at once both find no tracking table and make it; the library's
        "migration" row of the second is then refused (IntegrityError). The table is there by then: made again, the
        recorder finds it.
        """
        if self._tracking is None:
            try:
                self._tracking = self.factory.tracking_recorder()
            except IntegrityError:
                self._tracking = self.factory.tracking_recorder()
        return self._tracking

    def relayed_position(self) -> int:
        """How far the relay got: every event up to here is in the stream, private, or stepped over."""
        return self.tracking.max_tracking_id(self.RELAY_TRACKING_NAME) or 0

    def published_position(self) -> int:
        """The last event the stream acknowledged (0 if none ever was)."""
        return self.tracking.max_tracking_id(self.PUBLISHED_TRACKING_NAME) or 0

    def refuse_while_behind(self) -> None:
        """Raise :class:`StoreBehindStreamError` now, while the store is behind its stream (outside
        :func:`despite_stream_ahead`): for a command that deletes before it saves, so that a refusal deletes nothing."""
        if self.stream_ahead is not None and not stream_ahead_taken():
            raise StoreBehindStreamError(self.stream_ahead)

    def stream_marks(self) -> tuple[int, int]:
        """``(ahead, resolved)``: the stream position a relay last found ahead of the store, and up to where that was resolved."""
        tracking = self.tracking
        return (
            tracking.max_tracking_id(self.STREAM_AHEAD_TRACKING_NAME) or 0,
            tracking.max_tracking_id(self.STREAM_AHEAD_RESOLVED_TRACKING_NAME) or 0,
        )

    def mark_stream_ahead(self, ahead: StreamAhead) -> None:
        """This process refuses saves from now on, and the mark left in the store tells every other process (:meth:`check_stream_marks`)."""
        self._stream_ahead_found = True  # first: a /health probe that sees the state in between never takes it for the marks'
        self.stream_ahead = ahead
        self._record_tracking([(self.STREAM_AHEAD_TRACKING_NAME, ahead.stream_position)])

    def resolve_stream_ahead(self, stream_position: int) -> None:
        """The stream's events up to ``stream_position`` no longer stand against the store: saves are taken again."""
        ahead, resolved = self.stream_marks()
        if ahead > resolved:
            self._record_tracking([(self.STREAM_AHEAD_RESOLVED_TRACKING_NAME, max(ahead, stream_position))])
        self.stream_ahead, self._stream_ahead_found = None, False

    def check_stream_marks(self, *, standing_by: bool = False) -> StreamAhead | None:
        """Learn from the store's marks whether a relay (this process's or another's) found the store behind its stream.

        One read of two tracking rows and, when behind, the store's head. Sets or clears :attr:`stream_ahead`
        and returns it. A state this process's relay found itself stands until the marks say it was resolved (its
        mark may not have been written: the relay looks again); ``standing_by`` (the relay no longer holds the lease:
        the active one judges) leaves that state to the marks too. A state learnt from the marks goes when they no
        longer say the store is behind: they are in the store, so a backup put back under a running service brings
        its own, and one that holds the stream's events (a newer backup) holds no mark the active relay could resolve.
        """
        ahead, resolved = self.stream_marks()
        if standing_by:
            self._stream_ahead_found = False
        known = self.stream_ahead
        if ahead > resolved:
            if known is None or known.stream_position != ahead:
                head = self.log_head()
                diverged = head >= ahead
                self.stream_ahead = StreamAhead(self.name.lower(), ahead, head, diverged, diverged and only_made_again(self, ahead))
                self._stream_ahead_found = False
        elif known is not None and (not self._stream_ahead_found or resolved >= known.stream_position):
            self.stream_ahead, self._stream_ahead_found = None, False
        return self.stream_ahead

    def record_relayed(self, position: int, published: int | None = None) -> None:
        """Move the relay's position (and the last acknowledged event's) forward, each never back; one transaction.

        One commit for both (the relay moves them after every batch; on SQLite
        each commit is an fsync that holds the store's write lock, which the
        commands wait for). Each row is the library's single-row upsert that
        changes nothing when the position is already there or beyond (another
        replica's relay recorded it): the library then raises ``IntegrityError``
        after the statement, which leaves the transaction good for the other.
        """
        self._record_tracking([(self.RELAY_TRACKING_NAME, position), (self.PUBLISHED_TRACKING_NAME, published)])

    def _record_tracking(self, values: Sequence[tuple[str, int | None]]) -> None:
        """Move each named tracking position forward (never back), in one transaction; None values are left out."""
        rows = [Tracking(name, value) for name, value in values if value is not None]
        recorder = self.tracking
        if not getattr(recorder.datastore, "single_row_tracking", False):  # a legacy multi-row table: a refused row spoils its transaction
            for tracking in rows:
                with contextlib.suppress(IntegrityError):
                    recorder.insert_tracking(tracking)
            return
        with recorder.datastore.transaction(commit=True) as cursor:
            for tracking in rows:
                with contextlib.suppress(IntegrityError):  # already there or beyond: nothing changed
                    recorder._insert_tracking(cursor, tracking)  # noqa: SLF001 - the library's statement, in our transaction
