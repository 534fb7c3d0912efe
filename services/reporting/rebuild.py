"""Rebuild reporting's read model from scratch: from the NATS stream, or from every service's feed.

    python -m services.reporting.rebuild                 # from the JetStream stream
    python -m services.reporting.rebuild --from feeds    # from each service's GET /events

Stop the reporting service first, or pass ``--database-url`` to rebuild into
another database beside the live one and compare (the digest is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from services.reporting.indicators import report
from services.reporting.readmodel import ReadModel
from services.reporting.settings import ReportingSettings
from shared.events import decode
from shared.views import make_engine

Progress = Callable[[int, int], None]


def progress_bar(done: int, total: int) -> None:
    width = 40
    filled = width if total == 0 else min(width, width * done // total)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} events")
    sys.stderr.flush()


async def rebuild_from_stream(
    readmodel: ReadModel, nats_url: str, stream: str, batch: int = 2000, progress: Progress | None = None
) -> int:
    """Replay the whole stream with an ordered consumer (no per-message acks), batch the commits."""
    nc = await nats.connect(nats_url, connect_timeout=5)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        last = info.state.last_seq
        total = info.state.messages
        seen = 0
        if total == 0:
            return 0
        subscription = await js.subscribe(
            "osv.>", stream=stream, ordered_consumer=True, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        )
        pending: list[dict[str, Any]] = []
        sequence = 0
        while sequence < last:
            message = await subscription.next_msg(timeout=10)
            sequence = message.metadata.sequence.stream
            pending.append(decode(message.data))
            seen += 1
            if len(pending) >= batch:
                await asyncio.to_thread(readmodel.apply, pending)
                pending = []
                if progress:
                    progress(seen, total)
        if pending:
            await asyncio.to_thread(readmodel.apply, pending)
        if progress:
            progress(seen, total)
        await subscription.unsubscribe()
        return seen
    finally:
        await nc.close()


def rebuild_from_feeds(
    readmodel: ReadModel, feeds: Mapping[str, httpx.Client], page: int = 1000, progress: Progress | None = None
) -> int:
    """Read every service's ``GET /events`` from the start and apply it (clients carry each base URL)."""
    heads = {name: client.get("/events", params={"limit": 1}).raise_for_status().json()["head"] for name, client in feeds.items()}
    total, seen = sum(heads.values()), 0
    for client in feeds.values():
        after = 0
        while True:
            body = client.get("/events", params={"after": after, "limit": page}).raise_for_status().json()
            if not body["events"]:
                break
            readmodel.apply(body["events"])
            seen += len(body["events"])
            after = body["next_after"]
            if progress:
                progress(seen, total)
    return seen


def main(argv: list[str] | None = None) -> int:
    settings = ReportingSettings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", choices=["stream", "feeds"], default="stream")
    parser.add_argument("--database-url", default=settings.view_url(), help="read model to rebuild (default: reporting's own)")
    parser.add_argument("--nats-url", default=settings.nats_url)
    args = parser.parse_args(argv)

    readmodel = ReadModel(make_engine(args.database_url))
    readmodel.clear()
    started = time.perf_counter()
    if args.source == "stream":
        count = asyncio.run(rebuild_from_stream(readmodel, args.nats_url, settings.nats_stream, progress=progress_bar))
    else:
        clients = {name: httpx.Client(base_url=url, timeout=30.0) for name, url in settings.feed_urls.items()}
        count = rebuild_from_feeds(readmodel, clients, progress=progress_bar)
    elapsed = time.perf_counter() - started
    sys.stderr.write("\n")
    total = report(readmodel.facts())["total"]
    print(f"rebuilt {count} events in {elapsed:.2f}s; digest {readmodel.digest()}")
    print(f"total: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
