"""Erasures a restored store lost, made again from the tombstones in engagement's own stream.

An erasure deletes the person's key, their document's entry and kept answers
about them, then records ``PersonalDataErased`` (one per OSV they were a
member of), which the relay publishes to the service's stream
(``OSV_ENGAGEMENT``, subjects ``osv.engagement.<municipality>.PersonalDataErased``).
A backup of the store (``events.db``, or the PostgreSQL database) taken
before the erasure still holds the key, wrapped under the master key:
restored, it would have the person read in clear again, and every erasure
made since silently undone.

The stream is not in the store's backups and keeps every message for good.
At each start, once NATS answers (the service starts and serves meanwhile;
NATS away, it is tried again), :func:`erasures_again` reads the stream's
tombstones and has every person they name whose key the store still holds
erased again (:meth:`~services.engagement.application.Engagement.erase_again`,
the erasure's own deletions). One warning says how many and why, never who.
With nothing to do it costs a request per tombstone and one query of the key
table. A restore of both the store and the stream (or of a stream made again
from the store) from before an erasure cannot bring it back: the programme's
register of erasures is the record then (see README, "Personal data").
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from uuid import UUID

from nats.js import JetStreamContext

from services.engagement.application import Engagement
from services.engagement.events import PersonalDataErased, catalogue
from shared.actors import acting_as_system
from shared.events import decode
from shared.messaging import NatsLink, messages_on

log = logging.getLogger(__name__)

LONGEST_WAIT_SECONDS = 30.0
"""The longest pause between attempts when the stream or the store cannot be read (0.5 s, doubling)."""


async def erased_in_stream(js: JetStreamContext, stream: str) -> dict[UUID, date]:
    """Every member a ``PersonalDataErased`` in ``stream`` names, with the (earliest) date they were erased on."""
    erased: dict[UUID, date] = {}
    async for message in messages_on(js, stream, catalogue.subject(PersonalDataErased)):
        try:
            data = decode(message.data or b"")["data"]
            member_id, erased_on = UUID(str(data["member_id"])), date.fromisoformat(str(data["erased_on"]))
        except Exception as error:  # noqa: BLE001 - not a tombstone this version reads: said, and the others read on
            log.warning(
                "stream %s: message %s on %s is not a PersonalDataErased this service reads (%s); skipped",
                stream, message.seq, message.subject, type(error).__name__,
            )
            continue
        erased[member_id] = min(erased_on, erased.get(member_id, erased_on))
    return erased


async def erasures_again(engagement: Engagement, link: NatsLink) -> None:
    """Once NATS answers, erase again everyone the stream's tombstones name whose key the store holds; then end.

    A failure (NATS or the database away) is logged and tried again, 0.5 s
    after the first and at most every :data:`LONGEST_WAIT_SECONDS`.
    """
    await link.wait_ready()
    delay = 0.5
    while True:
        try:
            assert link.js is not None
            erased = await erased_in_stream(link.js, link.stream)
            with acting_as_system("erasures-again"):  # recorded as the system's, not as nobody's (shared.actors)
                again = await asyncio.to_thread(engagement.erase_again, erased)
            break
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - NATS or the database away for a moment: tried again
            log.warning(
                "engagement: the erasures in stream %s could not be checked against the store yet (%s: %s); trying again in %.1f s",
                link.stream, type(error).__name__, error, delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, LONGEST_WAIT_SECONDS)
    if again:
        log.warning(
            "engagement: %d %s erased again: the store was restored from a backup older than these erasures "
            "(their PersonalDataErased are in stream %s, their keys were back in the store); their keys, document "
            "entries and kept answers are deleted and the erasures recorded again",
            again, "person" if again == 1 else "people", link.stream,
        )
