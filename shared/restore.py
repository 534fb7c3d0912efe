"""A store put back from an older backup while its stream kept the later events: what it lacks, and taking it past them.

The relay finds such a store (:class:`shared.streamahead.StreamAhead`) and the
service refuses commands until an operator either restores a newer backup or
accepts that the stream's events after the store's are not in the store
(``osv-restore accept-tail``, :mod:`devtools.restore`). Accepting does, in one
transaction of the store:

- every event the store holds after the last position it shares with the
  stream (the stream never had them: stored after the restore, before the
  relay found out, or private) moves, in its order, past the last position
  given out, so it is published under a position no partner holds for
  another event;
- a private :class:`StreamTailAccepted` event takes the last position given
  out itself, so the store's next event comes after it (SQLite gives each new
  event the highest position plus one; on PostgreSQL the position sequence is
  moved too) and the log records what was done, when;
- public :class:`StreamTailLossNotice` events follow it (one for the programme,
  one for each district whose events were lost: :attr:`Examination.notified`),
  which the relay publishes as ``StreamTailLost`` (:mod:`shared.events`), so
  reporting and partners learn that the store no longer holds the facts they
  keep (the moved events come after them);
- the chain (:mod:`shared.chain`) is computed again from the shared position on;
- the store's marks say the stream's tail up to there is accepted: its relay
  goes on after the stream's last position, and commands are taken again.

The last position given out is the stream's last position, or the highest
chain head of the service in the heads bucket (:mod:`shared.chainheads`) when
that is higher: the lost store's private events after its last public one had
positions the stream never held, which ``GET /events`` and the heads showed.
A position the feed showed after the last head was put (the relay puts one
every ``chain_head_seconds``) is known to no record outside the lost store:
the views apply an event at such a position all the same
(:meth:`shared.views.Ledger.claim`).

What the stream held after the shared position stays there (partners and
reporting keep those events); the store, and so ``GET /events``, never has
them.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, Mapper, Tracking
from eventsourcing.utils import get_topic

from shared.chain import GENESIS, link, record_digest
from shared.chaincheck import AcceptedLoss
from shared.chainheads import read_heads
from shared.clock import LIMA

log = logging.getLogger(__name__)


class StreamTailLossNotice(Aggregate):
    """Public: what partners and reporting are told of an accepted tail (published as ``StreamTailLost``).

    ``municipality_id``: None for the programme's notice (the MML's partners and reporting read it), else a district's
    ubigeo, whose partners held ``lost_here`` of the ``lost`` events (the stream's after ``shared_position`` up to
    ``stream_position``); ``record_position``: the store's private :class:`StreamTailAccepted` record (``GET /verify``
    names it); ``accepted_at`` (UTC, ISO 8601), ``accepted_on`` (the day in Lima). Counts and positions only: no
    record id, nothing of a person.
    """

    @event("Announced")
    def __init__(
        self,
        service: str,
        municipality_id: str | None,
        shared_position: int,
        stream_position: int,
        record_position: int,
        lost: int,
        lost_here: int,
        accepted_at: str,
        accepted_on: str,
    ) -> None:
        self.service = service
        self.municipality_id = municipality_id
        self.shared_position = shared_position
        self.stream_position = stream_position
        self.record_position = record_position
        self.lost = lost
        self.lost_here = lost_here
        self.accepted_at = accepted_at
        self.accepted_on = accepted_on


class StreamTailAccepted(Aggregate):
    """Private: an operator accepted that the stream's events after ``shared_position`` are not in this store.

    Stored at the last position given out: ``stream_position`` (the stream's last
    position then), or ``head_given_out`` (the highest chain head of the service
    in the heads bucket) when higher; the store's events after
    ``shared_position`` (``moved``, from ``moved_from`` to ``moved_to``, first and
    last) were moved past it in order. ``lost_subjects``: the subjects (record
    ids) of the lost events, so that a record asked for by id is told lost, not
    unknown (:mod:`shared.losttail`; empty in a record made before it was kept).
    Never published, never decoded by the relay or the feed: its topic is
    private in every service's catalogue.
    """

    @event("Recorded")
    def __init__(
        self,
        service: str,
        stream_position: int,
        shared_position: int,
        store_head: int,
        lost: int,
        moved: int,
        moved_from: list[int],
        moved_to: list[int],
        accepted_at: str,
        head_given_out: int = 0,
        lost_subjects: list[str] | None = None,
    ) -> None:
        self.service = service
        self.stream_position = stream_position
        self.shared_position = shared_position
        self.store_head = store_head
        self.lost = lost
        self.moved = moved
        self.moved_from = moved_from
        self.moved_to = moved_to
        self.accepted_at = accepted_at
        self.head_given_out = head_given_out
        self.lost_subjects = lost_subjects or []


@dataclass
class Examination:
    """A store compared with its service's stream.

    ``shared_position``: the last position whose event the store and the stream
    share (the stream's event there carries the store's chain hash), or the
    position of an earlier ``accept-tail``'s record when the stream's events
    the store shares last are those it accepted not to hold. ``lost``:
    the stream's events after it, which the store lacks (position, type,
    subject, municipality). ``unpublished``: the store's positions after it, which the
    stream never had; ``unpublished_private``: those of them that are private
    (never published, wherever they stand). ``head_given_out``: the highest
    position of the service's chain heads in the heads bucket (0 if none).
    """

    service: str
    stream: str
    stream_position: int
    store_head: int
    shared_position: int
    lost: list[dict[str, Any]] = field(default_factory=list)
    unpublished: list[int] = field(default_factory=list)
    resolved: int = 0
    """Up to where the store's marks say the stream's tail was accepted already."""
    head_given_out: int = 0
    unpublished_private: list[int] = field(default_factory=list)

    @property
    def given_out(self) -> int:
        """The last position given out for an event: the stream's last, or the highest chain head put when higher.

        ``accept-tail`` records its private event there and moves the store's unpublished events after it.
        """
        return max(self.stream_position, self.head_given_out)

    @property
    def notified(self) -> list[str | None]:
        """Where ``accept-tail``'s public notices go: None (the programme's: the MML's partners and reporting, every event
        of the service), then each district whose lost events its partners held (their ``municipality``), in order."""
        districts = {str(e["municipality"]) for e in self.lost if e.get("municipality") and e["municipality"] != "mml"}
        return [None, *sorted(districts)]

    @property
    def behind(self) -> bool:
        """Whether the stream holds events the store does not, not yet accepted."""
        return self.stream_position > self.shared_position and self.stream_position > self.resolved

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self), "behind": self.behind, "given_out": self.given_out, "lost_by_type": dict(Counter(e["type"] for e in self.lost)),
        }

    def describe(self) -> str:
        if not self.behind:
            accepted = f" (its events up to {self.resolved} were accepted as not the store's)" if self.resolved and self.stream_position <= self.resolved else ""
            return (
                f"{self.service}: the store (head {self.store_head}) holds every event its stream {self.stream} holds, "
                f"up to {self.stream_position}{accepted}: nothing to do"
            )
        kinds = ", ".join(f"{count} {kind}" for kind, count in Counter(e["type"] for e in self.lost).most_common())
        lines = [
            f"{self.service}: the store's head is {self.store_head}; its stream {self.stream} holds events up to {self.stream_position}. "
            f"They share the log up to position {self.shared_position}.",
            f"- {_counted(len(self.lost), 'event')} of the stream after {self.shared_position} {'is' if len(self.lost) == 1 else 'are'} "
            f"not in the store ({kinds or 'none'}): partners and reporting keep {'it' if len(self.lost) == 1 else 'them'}; "
            "the store never will.",
        ]
        if self.head_given_out > self.stream_position:
            lines.append(
                f"- a chain head given out at {self.head_given_out} (the heads bucket) is past the stream's last position: the lost "
                "store held events up to there that the stream never had (private ones), whose positions partners and reporting "
                "may have seen."
            )
        given_out = self.given_out
        if self.unpublished:
            count, private = len(self.unpublished), len(self.unpublished_private)
            public = count - private
            if not private:
                then = "the relay publishes it" if count == 1 else "the relay publishes them"
            elif not public:
                then = "it is private: it never leaves the store" if count == 1 else "they are private: they never leave the store"
            else:
                then = f"the relay publishes the {_counted(public, 'public one')}; the {_counted(private, 'private one')} never leave the store"
            where = f"position {self.unpublished[0]}" if count == 1 else f"positions {self.unpublished[0]} to {self.unpublished[-1]}"
            first = given_out + len(self.notified) + 1
            to = f"{first}" if count == 1 else f"{first} to {first + count - 1}"
            lines.append(
                f"- {_counted(count, 'event')} of the store after {self.shared_position} ({where}) {'was' if count == 1 else 'were'} "
                f"never published: accept-tail moves {'it' if count == 1 else 'them'} to {to}{'' if count == 1 else ', in their order'}; {then}."
            )
        lines.append(
            "Restore a newer backup if there is one; otherwise `osv-restore accept-tail` takes the store past the stream "
            f"(a private record at {given_out}, and after it {_counted(len(self.notified), 'public notice')} of the loss for "
            "partners and reporting), and commands are taken again."
        )
        return "\n".join(lines)


def _counted(count: int, noun: str) -> str:
    """``1 event``, ``3 events``; ``1 public one``, ``2 public ones``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _cloudevent_of(message: Any) -> dict[str, Any]:
    try:
        value = json.loads(message.data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def examine(app: Any, js: Any, stream: str, service: str, private_topics: Collection[str] = ()) -> Examination:
    """Compare the store of ``app`` with ``stream``: where they part, and what each holds past there.

    Reads the stream's last message, then finds the last message the store
    agrees with by bisection over the stream's sequence (a restored store
    agrees with a prefix of the stream), and reads every message after it;
    then the service's chain heads in the heads bucket, for the highest
    (every head ever put: as ``osv-verify`` reads them). ``private_topics``:
    the service's (its catalogue's), to tell which of the store's unpublished
    events will never be published.

    A message within a tail an earlier ``accept-tail`` accepted (the store's
    :class:`StreamTailAccepted` records, :func:`accepted_tails`) agrees: the
    store lacks it knowingly, and goes on from that record's position. A
    backup taken after an ``accept-tail``, put back, shares with the stream
    the events the first one moved and the relay published since.
    """
    import asyncio

    from shared.messaging import messages_on
    from shared.programmesubjects import tail_of  # here: shared.events, which it imports, imports this module

    head = await asyncio.to_thread(app.log_head)
    _, resolved = await asyncio.to_thread(app.stream_marks)
    info = await js.stream_info(stream)
    if not info.state.messages:
        return Examination(service, stream, 0, head, head, resolved=resolved)
    first, last = info.state.first_seq, info.state.last_seq
    stream_position = tail_of(await js.get_msg(stream, last), service)[0]
    if stream_position is None:
        msg = f"the last message of {stream} carries no {service} position (Nats-Msg-Id {service}:<position>): is it {service}'s stream?"
        raise ValueError(msg)

    accepted = await asyncio.to_thread(accepted_tails, app)

    async def agrees(sequence: int) -> int | None:
        """The position of the message at ``sequence`` if the store holds that very event, that of the record of the
        tail accepted that holds it; else None."""
        # The first message from ``sequence`` on: a purge (shared.programmesubjects) leaves sequences without one.
        message = await js.get_msg(stream, sequence, subject=">", next=True)
        position, sent = tail_of(message, service)
        if position is None:
            return None
        for after, record in accepted:
            if after < position <= record:
                return record
        if position > head:
            return None
        stored = (await asyncio.to_thread(app.chain_hashes, position, position)).get(position)
        if stored is None or (sent is not None and sent != stored):
            return None
        return position

    shared, low, high, agreed = 0, first, last, None
    while low <= high:  # the last sequence the store agrees with
        middle = (low + high) // 2
        position = await agrees(middle)
        if position is None:
            high = middle - 1
        else:
            agreed, shared, low = middle, position, middle + 1
    lost = []
    async for message in messages_on(js, stream, ">", start=(agreed or first - 1) + 1):
        cloudevent = _cloudevent_of(message)
        lost.append({
            "position": tail_of(message, service)[0], "type": cloudevent.get("type"), "subject": cloudevent.get("subject"),
            "municipality": cloudevent.get("municipality"),
        })
    after = await asyncio.to_thread(_positions_after, app, shared)
    unpublished, private = [position for position, _ in after], [position for position, topic in after if topic in private_topics]
    heads = await read_heads(js, service)
    given_out = max((h.position for h in heads), default=0)
    return Examination(service, stream, stream_position, head, shared, lost, unpublished, resolved, given_out, private)


def accepted_tails(app: Any) -> list[tuple[int, int]]:
    """The tails of the stream an ``accept-tail`` accepted in this store: ``(shared_position, record's position)`` of each
    :class:`StreamTailAccepted` record, in the store's order.

    The stream's events between the two are not the store's; the store holds nothing in between but the record at the
    second (the events it held there were moved past it).
    """
    topic = get_topic(StreamTailAccepted.Recorded)
    found: list[tuple[int, int]] = []
    position = 0
    while batch := app.recorder.select_notifications(start=position, limit=100, topics=[topic], inclusive_of_start=False):
        found.extend((int(app.mapper.to_domain_event(n).shared_position), n.id) for n in batch)
        position = batch[-1].id
    return found


def accepted_records(app: Any, after: int = 0, stop: int | None = None) -> Iterator[tuple[int, Any]]:
    """Each :class:`StreamTailAccepted` record of ``app``'s store after ``after`` (up to ``stop``), in order: its position
    and its ``Recorded`` event, or None when it cannot be read (engagement's events are encrypted, and ``osv-verify
    --store`` holds no key). Only reads."""
    topic = get_topic(StreamTailAccepted.Recorded)
    while batch := app.recorder.select_notifications(start=after, limit=100, stop=stop, topics=[topic], inclusive_of_start=False):
        for notification in batch:
            try:
                yield notification.id, decoded_as_written(app.mapper, notification)
            except (ValueError, TypeError):  # not as osv-restore writes it: sealed, read without the key
                yield notification.id, None
        after = batch[-1].id


WRITTEN_WITHOUT_KEY = frozenset({get_topic(StreamTailAccepted.Recorded), get_topic(StreamTailLossNotice.Announced)})
"""The stored topics ``osv-restore`` writes, holding no key: its private record and its public notices."""


def decoded_as_written(mapper: Any, notification: Any) -> Any:
    """``notification``'s domain event, read by ``mapper``; one of ``osv-restore``'s records or notices without
    ``mapper``'s cipher, since it was written holding no key (in engagement's sealed store too: its ``GET /verify`` named
    the record's details null, tester 256 F3, and its relay failed on the notices with ``InvalidTag``). They hold
    nothing of a person. Raises the mapper's ``ValueError`` or ``TypeError`` when it cannot be read."""
    if notification.topic in WRITTEN_WITHOUT_KEY and getattr(mapper, "cipher", None) is not None:
        return Mapper(transcoder=mapper.transcoder).to_domain_event(notification)
    return mapper.to_domain_event(notification)


def accepted_losses(app: Any, after: int = 0, stop: int | None = None) -> list[AcceptedLoss]:
    """:func:`accepted_records` as the verifier reads them (:class:`shared.chaincheck.AcceptedLoss`): only the position
    of one that cannot be read."""
    return [
        AcceptedLoss(position) if record is None else AcceptedLoss(
            position, str(record.accepted_at), int(record.shared_position), int(record.stream_position),
            int(getattr(record, "head_given_out", 0)), int(record.lost), int(record.moved),
        )
        for position, record in accepted_records(app, after, stop)
    ]


def _positions_after(app: Any, position: int) -> list[tuple[int, str]]:
    """Each stored event's ``(position, topic)`` after ``position``, in order."""
    found: list[tuple[int, str]] = []
    while batch := app.recorder.select_notifications(start=position, limit=1000, inclusive_of_start=False):
        found.extend((n.id, n.topic) for n in batch)
        position = batch[-1].id
    return found


def accept_tail(app: Any, examination: Examination) -> list[tuple[int, int]]:
    """Take the store past its stream (see the module's docstring); returns each moved event's ``(old, new)`` position.

    One transaction of the store (the events table locked for writing); raises
    ValueError when the examination finds nothing to accept. The service's
    relay must not run meanwhile: :mod:`devtools.restore` holds its lease.
    """
    if not examination.behind:
        msg = f"{examination.service}: nothing to accept: {examination.describe()}"
        raise ValueError(msg)
    held, shared, given_out = examination.stream_position, examination.shared_position, examination.given_out
    # The private record at the last position given out, the public notices after it; then the store's unpublished
    # events in their order.
    notified = examination.notified
    moves = [(old, given_out + len(notified) + i) for i, old in enumerate(examination.unpublished, 1)]
    accepted_at = datetime.now(timezone.utc)
    record = StreamTailAccepted(
        service=examination.service,
        stream_position=held,
        shared_position=shared,
        store_head=examination.store_head,
        lost=len(examination.lost),
        moved=len(moves),
        moved_from=[moves[0][0], moves[-1][0]] if moves else [],
        moved_to=[moves[0][1], moves[-1][1]] if moves else [],
        accepted_at=accepted_at.isoformat(),
        head_given_out=examination.head_given_out,
        lost_subjects=sorted({str(e["subject"]) for e in examination.lost if e.get("subject")}),
    )
    notices = [
        StreamTailLossNotice(
            service=examination.service,
            municipality_id=municipality,
            shared_position=shared,
            stream_position=held,
            record_position=given_out,
            lost=len(examination.lost),
            lost_here=sum(1 for e in examination.lost if municipality is None or e.get("municipality") == municipality),
            accepted_at=accepted_at.isoformat(),
            accepted_on=accepted_at.astimezone(LIMA).date().isoformat(),
        )
        for municipality in notified
    ]
    stored = [
        (given_out + i, app.mapper.to_stored_event(aggregate.collect_events()[0])) for i, aggregate in enumerate([record, *notices])
    ]
    marks = [
        Tracking(app.STREAM_AHEAD_TRACKING_NAME, held),
        Tracking(app.STREAM_AHEAD_RESOLVED_TRACKING_NAME, held),
    ]
    module = app.env.get("PERSISTENCE_MODULE", "")
    if module.startswith("shared.postgres"):
        _accept_on_postgres(app, shared, stored, moves, marks)
    else:
        _accept_on_sqlite(app, shared, stored, moves, marks)
    moved = f"{moved_events(len(moves))} moved from {moves[0][0]} to {moves[0][1]}" if moves else "no unpublished event to move"
    log.warning(
        "%s: the stream's events after position %s up to %s are accepted as not in the store (osv-restore accept-tail); "
        "%s public notices of it at %s to %s; %s; the store goes on after %s",
        examination.service, shared, held, len(notices), given_out + 1, given_out + len(notices), moved,
        moves[-1][1] if moves else stored[-1][0],
    )
    return moves


def moved_events(count: int) -> str:
    """``count`` unpublished events, in words: "1 unpublished event", "3 unpublished events" (tester 256: "1 … events")."""
    return f"{count} unpublished event{'' if count == 1 else 's'}"


def _chained(rows: list[tuple[int, Any, int, str, bytes]], previous: str) -> list[tuple[int, str]]:
    """The chain's rows for ``(position, originator id, version, topic, state)`` in order, after the hash ``previous``."""
    chained = []
    for position, originator_id, version, topic, state in rows:
        previous = link(previous, position, record_digest(originator_id, version, topic, bytes(state)))
        chained.append((position, previous))
    return chained


def _accept_on_sqlite(app: Any, shared: int, stored: list[tuple[int, Any]], moves: list[tuple[int, int]], marks: list[Tracking]) -> None:
    recorder = app.recorder
    events, chain = recorder.events_table_name, recorder.chain_table
    with recorder.datastore.get_connection(commit=True) as connection:
        cursor = connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(f"UPDATE {events} SET rowid = -rowid WHERE rowid > ?", (shared,))
            for position, event in stored:  # the private record, then the public notices
                originator = event.originator_id.hex if isinstance(event.originator_id, UUID) else event.originator_id
                cursor.execute(
                    f"INSERT INTO {events} (rowid, originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?, ?)",
                    (position, originator, event.originator_version, event.topic, event.state),
                )
            for old, new in moves:
                cursor.execute(f"UPDATE {events} SET rowid = ? WHERE rowid = ?", (new, -old))
            cursor.execute(f"DELETE FROM {chain} WHERE position > ?", (shared,))
            cursor.execute(f"SELECT hash FROM {chain} WHERE position = ?", (shared,))
            row = cursor.fetchone()
            previous = str(row[0]) if row else GENESIS
            cursor.execute(
                f"SELECT rowid, originator_id, originator_version, topic, state FROM {events} WHERE rowid > ? ORDER BY rowid", (shared,)
            )
            rows = [(r[0], recorder.convert_originator_id(r[1]), r[2], r[3], r[4]) for r in cursor.fetchall()]
            cursor.executemany(f"INSERT INTO {chain} (position, hash) VALUES (?, ?)", _chained(rows, previous))
            for mark in marks:
                try:
                    app.tracking._insert_tracking(cursor, mark)  # noqa: SLF001 - the library's statement, in this transaction
                except IntegrityError:  # already there or beyond
                    pass
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            cursor.sqlite_cursor.close()


def _accept_on_postgres(app: Any, shared: int, stored: list[tuple[int, Any]], moves: list[tuple[int, int]], marks: list[Tracking]) -> None:
    from psycopg import sql

    recorder = app.recorder
    schema = recorder.datastore.schema
    events = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(recorder.events_table_name))
    chain = recorder.chain_table
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(events))
        cursor.execute(sql.SQL("UPDATE {} SET notification_id = -notification_id WHERE notification_id > %s").format(events), (shared,))
        for position, event in stored:  # the private record, then the public notices
            cursor.execute(
                sql.SQL("INSERT INTO {} (originator_id, originator_version, topic, state, notification_id) VALUES (%s, %s, %s, %s, %s)").format(events),
                (event.originator_id, event.originator_version, event.topic, event.state, position),
            )
        for old, new in moves:
            cursor.execute(sql.SQL("UPDATE {} SET notification_id = %s WHERE notification_id = %s").format(events), (new, -old))
        cursor.execute(sql.SQL("DELETE FROM {} WHERE position > %s").format(chain), (shared,))
        cursor.execute(sql.SQL("SELECT hash FROM {} WHERE position = %s").format(chain), (shared,))
        row = cursor.fetchone()
        previous = str(row["hash"]) if row else GENESIS
        cursor.execute(
            sql.SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM {} WHERE notification_id > %s ORDER BY notification_id"
            ).format(events),
            (shared,),
        )
        rows = [(r["notification_id"], r["originator_id"], r["originator_version"], r["topic"], r["state"]) for r in cursor.fetchall()]
        cursor.executemany(sql.SQL("INSERT INTO {} (position, hash) VALUES (%s, %s)").format(chain), _chained(rows, previous))
        # The next event after the last one now (the restored sequence would give positions the stream holds).
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
            (sql.Identifier(schema, recorder.events_table_name).as_string(cursor), moves[-1][1] if moves else stored[-1][0]),
        )
        for mark in marks:
            try:
                app.tracking._insert_tracking(cursor, mark)  # noqa: SLF001 - the library's statement, in this transaction
            except IntegrityError:  # already there or beyond
                pass

