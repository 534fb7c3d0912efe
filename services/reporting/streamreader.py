"""The rebuild's reader: the write services' JetStream streams, read in a process of its own.

A rebuild is two halves of about equal cost: reading the messages (nats-py's
per-message work, about 70 µs each) and applying them to the read model
(about the same). In one process they take turns under one interpreter
lock; here the reader runs beside the applier, each on a core, and hands it
the raw payloads batch by batch on its standard output (see
:func:`services.reporting.rebuild.rebuild_from_stream`)::

    echo '{"servers": [...], "streams": [[name, subjects], ...], "batch": 2000}' | python services/reporting/streamreader.py

Each item is a pickle (the applier started this process: it trusts what it
reads); a writer thread lets the reader keep :data:`BATCHES_AHEAD` batches
ahead. It is run as a file, not as a module of the platform, and imports
nothing of it, so it starts in a fraction of a second wherever it is
installed, and no caller's main module is imported again (as
``multiprocessing``'s spawn would).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import pickle
import queue
import sys
import threading
from typing import Any, BinaryIO

import nats
from nats.errors import NoServersError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

TOTAL, BATCH, DONE, FAILED = "total", "batch", "done", "failed"
"""What the reader writes, in this order: ``(TOTAL, {"streams": [the names found], "messages": messages in all})``,
then ``(BATCH, [payload bytes, ...])`` for each batch in stream order, then ``(DONE, messages read)``; or
``(FAILED, "ErrorType: message")`` at any point."""

BATCHES_AHEAD = 4
"""Batches read before the applier takes them (with 2,000 messages of about 600 bytes: 5 MB at most)."""
CONNECT_ATTEMPTS = 3
"""Tries per NATS server, at the start and after a lost connection, before the read fails."""

CONNECT_TIMEOUT_SECONDS = 5
"""Seconds each try waits for a server's greeting."""


def main() -> int:
    """Read the streams named on standard input (JSON: servers, streams, batch) and write them to standard output.

    The order comes on standard input, not the command line, which any user
    of the machine can read: a NATS URL may carry a password.
    """
    order = json.loads(sys.stdin.buffer.read())
    read_streams(order["servers"], [tuple(pair) for pair in order["streams"]], int(order["batch"]), sys.stdout.buffer)
    return 0


def read_streams(servers: list[str], streams: list[tuple[str, str]], batch: int, out: BinaryIO) -> None:
    """Write every message of ``streams`` ((stream name, subject filter) pairs, read in that order) to ``out``, as pickled items.

    Each stream is read by a pull consumer that needs no acks, ``batch``
    messages at a time, the next batch asked for before the last is handed on.
    A stream that does not exist is passed over. Any error ends the read with
    a ``FAILED`` item naming it.
    """
    gc.set_threshold(50_000, 20, 20)  # millions of short-lived messages: the cycle collector less often (see rebuild.fewer_collections)
    items: queue.Queue[tuple[str, Any] | None] = queue.Queue(BATCHES_AHEAD)
    writer = threading.Thread(target=_write, args=(items, out), name="stream-writer", daemon=True)
    writer.start()
    try:
        asyncio.run(_read(servers, streams, batch, items.put))
    except BaseException as error:  # noqa: BLE001 - handed to the applier, which raises it
        items.put((FAILED, f"{type(error).__name__}: {error}"))
    items.put(None)
    writer.join()


def _write(items: queue.Queue[tuple[str, Any] | None], out: BinaryIO) -> None:
    """Write each item as it comes, until ``None``.

    An applier gone (ended by SIGTERM, ``kill -9``, a crash: its end of the
    pipe closed) ends this whole process at once: the reading side would
    otherwise wait for good on a full queue, holding its NATS connection.
    """
    try:
        while (item := items.get()) is not None:
            pickle.dump(item, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
    except OSError:  # BrokenPipeError: nobody reads any more
        os._exit(APPLIER_GONE)


APPLIER_GONE = 3
"""The reader's exit code when its applier went away."""


class NatsUnreachableError(ConnectionError):
    """No NATS server took the connection; the message gives the last refusal (never the URLs, which may carry a password)."""

    def __init__(self, message: str, last: str | None = None) -> None:
        super().__init__(message)
        self.last = last
        """The last refusal alone, ``ErrorType: message`` (``None``: none answered)."""


class NatsSignInRefusedError(NatsUnreachableError):
    """A NATS server answered but refused the user or its password (``Authorization Violation``)."""


def refused_sign_in(error: Exception) -> bool:
    """Whether ``error`` is a server's refusal of the user or password: nats-py's ``AuthorizationError``, or the server's
    ``-ERR 'Authorization Violation'`` as the connect's reply."""
    return type(error).__name__ == "AuthorizationError" or "authorization violation" in str(error).lower()


def described(error: Exception) -> str:
    """``ErrorType: message``; a timeout, which nats-py gives without a message, says what it means: the address took the
    connection but sent no NATS greeting (``INFO``) in time, as a port of another program does (tester 231 F5)."""
    if isinstance(error, TimeoutError) and not str(error).strip():
        return (f"{type(error).__name__}: no NATS greeting within {CONNECT_TIMEOUT_SECONDS} s, "
                "is it a NATS server's client port (4222 unless set)?")
    return f"{type(error).__name__}: {error}"


async def connect(servers: list[str]) -> Any:
    """A connection to one of ``servers``: a few tries each, a second apart (nats-py's default: two minutes of silence,
    and a traceback logged at each try).

    Raises :class:`NatsSignInRefusedError` when a server refused the user or password, else
    :class:`NatsUnreachableError` when none took the connection: within seconds (about 3 s for a port nothing listens
    on or a wrong password; each try waits at most 5 s for an address that does not answer).
    """
    refusals: list[Exception] = []

    async def refused(error: Exception) -> None:
        refusals.append(error)

    try:
        return await nats.connect(
            servers, connect_timeout=CONNECT_TIMEOUT_SECONDS, max_reconnect_attempts=CONNECT_ATTEMPTS, reconnect_time_wait=1, error_cb=refused
        )
    except NoServersError:
        said = [error for error in refusals if not isinstance(error, OSError)]  # what a server said (a refused login) over how it hung up
        last = (said or refusals)[-1] if refusals else None
        named = described(last) if last is not None else None
        if last is not None and refused_sign_in(last):
            raise NatsSignInRefusedError(f"the NATS server refused the sign-in (the last: {named})", named) from None
        raise NatsUnreachableError(f"no NATS server took the connection (the last: {named})" if named else
                                   "no NATS server took the connection (none answered)", named) from None


async def _read(servers: list[str], streams: list[tuple[str, str]], batch: int, out: Any) -> None:
    nc = await connect(servers)
    try:
        js = nc.jetstream()
        found = []
        for name, subjects in streams:
            try:
                found.append((subjects, await js.stream_info(name)))
            except NotFoundError:
                continue
        out((TOTAL, {"streams": [info.config.name for _, info in found], "messages": sum(info.state.messages for _, info in found)}))
        seen = 0
        for subjects, info in found:
            last = info.state.last_seq
            if info.state.messages == 0:
                continue
            config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=60)
            subscription = await js.pull_subscribe(subjects, stream=info.config.name, config=config)
            sequence = 0
            fetching = asyncio.ensure_future(subscription.fetch(batch, timeout=10))
            try:
                while sequence < last:
                    messages = await fetching
                    sequence = messages[-1].metadata.sequence.stream
                    if sequence < last:
                        fetching = asyncio.ensure_future(subscription.fetch(batch, timeout=10))
                        await asyncio.sleep(0)  # send the request before handing the batch on
                    out((BATCH, [message.data for message in messages]))
                    seen += len(messages)
            finally:
                fetching.cancel()
            await subscription.unsubscribe()
        out((DONE, seen))
    finally:
        await nc.close()


if __name__ == "__main__":
    sys.exit(main())
