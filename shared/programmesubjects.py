"""Events no partner reads, moved off the subjects partners' filters took them on (``osv.<service>.<municipality>.<type>``).

Before they had a subject of their own, the events no partner reads (:attr:`shared.events.PublicEvent.for_partners`
False) went out under ``osv.<service>.*``: engagement's ``OSVDocumentsCounted`` under ``none``, which the MML's filter,
``osv.<service>.>``, takes (its partner stream, and any consumer it may make on the service stream, received every
OSV's counts by document type); funding's ``ProposalSubmitted`` and ``ProposalScored``, the programme's until tester
177 F2, under their OSV's municipality, which that district's partner and the MML's take. Such events now go out under
``osv-programme.<service>.<type>`` (:data:`shared.events.PROGRAMME_PREFIX`). The ones a running system's stream
already holds under a former subject (``osv.<service>.*.<type>``, any municipality) are moved, at each start of the
service's relay (:meth:`shared.relay.OutboxRelay._align`, holding the store's relay lease: the stream's only writer):

1. each one is published again, the same CloudEvent (its id, position, chain hash), under the new subject, in the
   order the stream holds them, across types too (a view keeps the latest position of each OSV, and reporting each
   fact by identity, so the order matters only to a reader that keeps the last one it reads), with ``Nats-Msg-Id`` ``<service>:<position>:moved`` (the original id would
   be dropped as a duplicate within JetStream's de-duplication window) and, in :data:`TAIL_HEADER`, the position and
   chain hash of the stream's last event as the relay left it: the copies come after it, and the relay and
   ``osv-restore`` read the stream's tail from that header (:func:`tail_of`);
2. then the former subjects are purged from the stream, up to the last message copied (JetStream's purge by subject,
   wildcard and all).

Run again, it finds nothing under the old subject: one request per such type. Stopped between the two steps, it
copies again at the next start (within the de-duplication window, JetStream stores none twice; past it, a view skips
what it applied, by position) and purges. The partners' own streams hold copies made before the move: the embedded
server's start purges those (:func:`devtools.partners.purge_not_for_partners`).
"""

from __future__ import annotations

import logging
from typing import Any

from nats.js import JetStreamContext

from shared.events import EventCatalogue, subject_for
from shared.messaging import messages_on

log = logging.getLogger(__name__)

TAIL_HEADER = "Osv-Relay-Tail"
"""On a moved copy: ``<position> <chainhash>`` (``-`` for no hash) of the stream's last event when the copy was made."""
MOVED_SUFFIX = ":moved"
"""Ends a moved copy's ``Nats-Msg-Id``: ``engagement:12:moved``."""


def former_subjects(catalogue: EventCatalogue) -> dict[str, str]:
    """Per event type no partner reads, the filter of its former subjects (``osv.<service>.*.<type>``: under any
    municipality, or ``none``) and its subject now."""
    service = catalogue.service
    return {
        subject_for(service, "*", name): subject_for(service, None, name, programme=True)
        for name in sorted(catalogue.not_for_partners)
    }


def tail_of(message: Any, service: str) -> tuple[int | None, str | None]:
    """The relay's position and chain hash a stream message stands for: a moved copy's :data:`TAIL_HEADER`; else the
    position in its ``Nats-Msg-Id`` (``<service>:<position>``, None for another id) and its CloudEvent's ``chainhash``."""
    from shared.relay import _chainhash_in, _position_in

    headers = message.headers or {}
    tail = headers.get(TAIL_HEADER)
    if tail is not None:
        position, _, chainhash = tail.partition(" ")
        return (int(position) if position.isdigit() else None), (chainhash if chainhash not in ("", "-") else None)
    return _position_in(headers, service), _chainhash_in(message.data or b"")


async def move_off_partner_subjects(
    js: JetStreamContext, stream: str, catalogue: EventCatalogue, last_seq: int, tail: tuple[int, str | None]
) -> int:
    """Move the events no partner reads that ``stream`` holds under their former subjects; return the stream's last
    sequence after (``last_seq`` when there were none).

    ``tail``: the position and chain hash of the stream's last event, as the relay read it. Each copy is published
    with ``Nats-Expected-Last-Sequence``: the relay, holding the lease, is the stream's only writer, and another writer
    meanwhile makes this raise, moving nothing more (the next start goes on).
    """
    sequence = last_seq
    formers = former_subjects(catalogue)
    # One reader per former subject, merged by stream sequence: the copies keep the log's order across types (a
    # proposal's submission before its scoring), each reader holding one message at a time.
    readers = {former: messages_on(js, stream, former).__aiter__() for former in formers}
    heads = {former: await anext(reader, None) for former, reader in readers.items()}
    moved: dict[str, int] = dict.fromkeys(formers, 0)
    last_original: dict[str, int] = {}
    while waiting := [(message.seq, former) for former, message in heads.items() if message is not None and message.seq <= last_seq]:
        _, former = min(waiting)
        message = heads[former]
        assert message is not None
        headers = dict(message.headers or {})
        original = headers.get("Nats-Msg-Id", f"{catalogue.service}:seq{message.seq}")
        copy = {
            "Nats-Msg-Id": original + MOVED_SUFFIX,
            TAIL_HEADER: f"{tail[0]} {tail[1] or '-'}",
            "Nats-Expected-Last-Sequence": str(sequence),
        }
        ack = await js.publish(formers[former], message.data or b"", headers=copy, stream=stream)
        sequence = ack.seq if not ack.duplicate else sequence
        moved[former], last_original[former] = moved[former] + 1, message.seq
        heads[former] = await anext(readers[former], None)
    for former, last in last_original.items():
        await js.purge_stream(stream, subject=former, seq=last + 1)
        log.warning(
            "stream %s: moved %s events from %s, which partners' filters take, to %s, which no partner's does",
            stream, moved[former], former, formers[former],
        )
    return sequence
