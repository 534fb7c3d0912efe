"""``osv-verify``: check a service's event log against its hash chain and the chain heads given out.

    osv-verify --service registry --store sqlite:///var/registry/events.db --nats nats://auditor:…@127.0.0.1:4222
    osv-verify --service engagement --store postgresql://osv:…@db/engagement --heads report.json
    osv-verify --service funding --feed http://127.0.0.1:8002 --token "$(make token USER=auditor | tail -1)"
    osv-verify --service reporting --store sqlite:///var/reporting/events.db --nats nats://auditor:…@127.0.0.1:4222

A store is read directly (SQLite file or PostgreSQL URL; no key is needed:
the chain is over the stored bytes). A feed is read through ``GET /chain``,
which gives each position's record digest and hash: it proves the log the
service shows extends, without rewriting, every head given out; only the
store check proves the stored bytes themselves; a feed whose ``/chain`` names
another service than ``--service`` is refused (exit 2). Heads come from the
``OSV_CHAIN_HEADS`` key-value bucket (every revision) and from JSON files:
an as-of report or export's ``heads``, or a list of ``{service, position,
hash}``. Prints ``ok`` or the first position that fails and why; exits 1 on
a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import nats

from shared.chaincheck import Entry, Head, Verdict, entries_of_store, verify
from shared.chainheads import read_heads
from shared.clientmessages import redacted, refusal, service_client, token_fault, unreachable
from shared.store import ServiceApplication, persistence_env

SERVICES = ("registry", "funding", "engagement", "reporting")
"""The services whose event store is hash-chained: the write services', and reporting's (targets and sign-offs)."""

STORE_NAMES = {"reporting": "phasereports"}
"""A store whose application is not named after its service (on PostgreSQL, the tables are named after the application)."""


def open_store(url: str, service: str) -> ServiceApplication:
    """The service's store at ``url``, only read here (on PostgreSQL its tables are named after the service's application:
    ``registry_events``…, reporting's ``phasereports_events``)."""
    name = STORE_NAMES.get(service, service)
    application = type(name.title(), (ServiceApplication,), {"name": name})
    return application(persistence_env(url))


def verify_store(service: str, url: str, heads: Sequence[Head]) -> Verdict:
    app = open_store(url, service)
    try:
        return verify(service, entries_of_store(app), [h for h in heads if h.service == service])
    finally:
        app.close()


class ChainOfAnotherServiceError(Exception):
    """A feed's ``GET /chain`` is another service's than the one named (``--service funding --feed <registry's URL>``),
    or names none: checked as the one named, it would say ``ok`` of a chain it is not."""


def entries_of_feed(client: httpx.Client, service: str, page: int = 1000) -> Iterator[Entry]:
    """Every position ``service``'s ``GET /chain`` lists, in order; :class:`ChainOfAnotherServiceError` when a page
    names another service (its ``service``), or none."""
    after = 0
    while True:
        body = client.get("/chain", params={"after": after, "limit": page}).raise_for_status().json()
        if (served := body.get("service")) != service:
            whose = f"{served}'s chain" if served else "a chain that names no service (a service older than osv-verify?)"
            raise ChainOfAnotherServiceError(f"the feed at {client.base_url} serves {whose}, not {service}'s: give {service}'s own URL")
        for entry in body["entries"]:
            yield Entry(int(entry["position"]), entry["digest"], entry["hash"])
        if body["next_after"] == after:
            return
        after = body["next_after"]


def verify_feed(service: str, client: httpx.Client, heads: Sequence[Head]) -> Verdict:
    return verify(service, entries_of_feed(client, service), [h for h in heads if h.service == service])


def heads_from_file(path: Path, source: str | None = None) -> list[Head]:
    """Heads in a JSON file: a report's or export's ``heads`` (per service), or a list of ``{service, position, hash}``."""
    document: Any = json.loads(path.read_text("utf-8"))
    if isinstance(document, dict) and "heads" in document:
        document = document["heads"]
    if isinstance(document, dict):
        document = [{"service": name, **value} for name, value in document.items() if value]
    return [Head(h["service"], int(h["position"]), h["hash"], h.get("published_at"), source or str(path)) for h in document]


async def heads_from_nats(url: str, service: str | None = None) -> list[Head]:
    nc = await nats.connect([u.strip() for u in url.split(",")], connect_timeout=5)
    try:
        return await read_heads(nc.jetstream(timeout=10), service)
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="osv-verify", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", required=True, choices=SERVICES)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--store", help="the service's event store: sqlite:///path or postgresql://…")
    where.add_argument("--feed", help="the service's base URL, read through GET /chain")
    parser.add_argument("--token", help="a bearer token for --feed (an auditor's)")
    parser.add_argument("--nats", help="NATS URL: read every head published to the OSV_CHAIN_HEADS bucket")
    parser.add_argument("--heads", type=Path, action="append", default=[], help="a JSON file of heads (an as-of report, an export's heads); repeatable")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
    args = parser.parse_args(argv)
    if fault := token_fault(args.token):
        parser.error(f"--token {fault}")

    heads: list[Head] = []
    if args.nats:
        heads += asyncio.run(heads_from_nats(args.nats, args.service))
    for path in args.heads:
        heads += heads_from_file(path)
    if args.store:
        verdict = verify_store(args.service, args.store, heads)
    else:
        headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
        with service_client(args.feed, headers=headers, timeout=30) as client:
            try:
                verdict = verify_feed(args.service, client, heads)
            except httpx.HTTPStatusError as error:
                print(f"osv-verify: {refusal(error)}", file=sys.stderr)
                return 2
            except httpx.TransportError as error:  # a traceback, before (helper 159)
                print(f"osv-verify: {unreachable(error, {}, name_it='--feed URL')}", file=sys.stderr)
                return 2
            except ChainOfAnotherServiceError as error:  # "ok", before (tester 161 F3)
                print(f"osv-verify: {redacted(str(error))}", file=sys.stderr)
                return 2
    print(json.dumps(verdict.as_dict(), indent=2) if args.json else verdict.describe())
    if not heads:
        print("note: no published heads were given (--nats, --heads): only the store's own chain was checked", file=sys.stderr)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
