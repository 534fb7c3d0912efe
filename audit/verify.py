"""``osv-verify``: check a service's event log against its hash chain and the chain heads given out.

    osv-verify --service registry --store sqlite:///var/registry/events.db --nats nats://auditor:…@127.0.0.1:4222
    osv-verify --service engagement --store postgresql://osv:…@db/engagement --heads report.json
    osv-verify --service funding --feed http://127.0.0.1:8002 --token "$(make token USER=auditor | tail -1)"
    osv-verify --service reporting --store sqlite:///var/reporting/events.db --nats nats://auditor:…@127.0.0.1:4222

A store is read directly (SQLite file or PostgreSQL URL; no key is needed:
the chain is over the stored bytes). A feed is read through ``GET /chain``,
which gives each position's record digest and hash: it proves the log the
service shows extends, without rewriting, every head given out; only the
store check proves the stored bytes themselves. A store is only read: one
that is not there (a typo in its path), that holds no event store, or that
cannot be reached is refused in one line, nothing made in its place; so is a
store whose events are another service's (their topics say whose) and a feed
whose ``/chain`` names another service than ``--service`` (exit 2 for each).
Heads come from the ``OSV_CHAIN_HEADS`` key-value bucket (every revision) and
from files (:mod:`audit.headsfiles`): a report's JSON ``heads`` or a list of
``{service, position, hash}``, an XLSX export's properties, or a CSV export's
``Chain-Heads`` header saved as text; a NATS server out of reach, or one that refuses
the user, is one line naming its URL (the password ``***``), exit 2. Prints
``ok`` or the first position that fails and why; exits 1 on a failure.

After ``osv-restore accept-tail`` (README, "Restoring a backup") the log holds
the operator's ``StreamTailAccepted`` record: the stream's events after the
position store and stream shared are not in the store, and the heads given
out there name events it never will hold. Those heads are not checked; the
chain is, before the record and after it. Then it prints ``ok with an
accepted loss``, naming each record (its position, when it was recorded, the
shared position, the stream's last, how many events were lost, and the
positions of the heads that named the lost tail, each once), and exits 3:
never a silent pass, never called tampering. A failure anywhere else (a
changed byte, a record deleted outside that gap, a head given out after the
record that the store does not give, named beside the record) is a failure
as ever, exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

import httpx
import nats.errors
import psycopg

from audit.headsfiles import HeadsFileError, heads_from_file
from services.reporting.streamreader import NatsSignInRefusedError, NatsUnreachableError, connect
from shared.chain import CHAIN_SUFFIX
from shared.chaincheck import AcceptedLoss, Entry, Head, Verdict, entries_of_store, verify
from shared.chainheads import HEADS_BUCKET, read_heads
from shared.clientmessages import one_line, redacted, refusal, service_client, token_fault, unreachable
from shared.restore import accepted_losses
from shared.store import ServiceApplication, persistence_env

SERVICES = ("registry", "funding", "engagement", "reporting")
"""The services whose event store is hash-chained: the write services', and reporting's (targets and sign-offs)."""

STORE_NAMES = {"reporting": "phasereports"}
"""A store whose application is not named after its service (on PostgreSQL, the tables are named after the application)."""


SQLITE_EVENTS = "stored_events"
"""The events' table in an SQLite store, whatever its service (on PostgreSQL: ``<application>_events``)."""


class StoreUnreadError(Exception):
    """The store named cannot be read as an event store: none there (a typo in its path), a file or database that holds
    none, or a database out of reach. The message is the line to print (no password in it)."""


class ChainOfAnotherServiceError(Exception):
    """A feed's ``GET /chain`` is another service's than the one named (``--service funding --feed <registry's URL>``),
    or names none; or a store's events are another service's (``--service engagement --store var/registry/events.db``):
    checked as the one named, it would say ``ok`` of a chain it is not, or that one given out was rewritten."""


def sqlite_store(url: str, service: str) -> str:
    """The SQLite URI that opens the store file ``url`` names (``sqlite:///path``) for reading only, without making it.

    Raises :class:`StoreUnreadError` when no file is there (the library would make an empty store in its place, and
    its folders, and say ``ok`` of it), when it is a folder, or when it is no SQLite file or holds no event store (a
    service's ``views.db``). A store whose ``-wal`` file is missing (its service stopped cleanly) is read as immutable:
    SQLite's read-only mode would still make its ``-wal`` and ``-shm`` beside it, and leave them; one with its ``-wal``
    (in use, or its service killed) is read through it, as the service's own readers do.
    """
    name = url.split(":///", 1)[1] if ":///" in url else ""
    example = f"sqlite:///var/{service}/events.db"
    if not name or name == ":memory:":
        raise StoreUnreadError(f"--store {url} names no file: give the service's store, as {example}")
    path = Path(name).absolute()
    if not path.exists():
        raise StoreUnreadError(f"there is no SQLite store at {path} (nothing was made there): check --store's path, as {example}")
    if path.is_dir():
        raise StoreUnreadError(f"{path} is a folder, not an SQLite store: give the store's file, as {example}")
    immutable = "" if path.with_name(path.name + "-wal").exists() else "&immutable=1"
    uri = f"file:{quote(str(path))}?mode=ro{immutable}"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as error:
        raise StoreUnreadError(f"{path} cannot be read as an SQLite store ({type(error).__name__}: {error}): give the service's store, as {example}") from None
    for table in (SQLITE_EVENTS, SQLITE_EVENTS + CHAIN_SUFFIX):
        if table not in tables:
            raise StoreUnreadError(f"{path} holds no event store with its chain (no table {table}): give the service's store, as {example}")
    return uri


def check_postgres_store(url: str, service: str) -> None:
    """:class:`StoreUnreadError` unless the database ``url`` names answers and holds the service's events and chain tables
    (named after its application: ``registry_events``, reporting's ``phasereports_events``). Only reads."""
    table = f"{STORE_NAMES.get(service, service)}_events"
    try:
        with psycopg.connect("postgresql://" + url.split("://", 1)[1], connect_timeout=5, autocommit=True) as connection:
            found = connection.execute("SELECT to_regclass(%s), to_regclass(%s)", (table, table + CHAIN_SUFFIX)).fetchone()
    except psycopg.Error as error:
        raise StoreUnreadError(redacted(
            f"the database at {url} cannot be read ({type(error).__name__}: {one_line(str(error))}): check --store's host, port, user, password and database"
        )) from None
    for name, there in zip((table, table + CHAIN_SUFFIX), found or (None, None), strict=True):
        if there is None:
            raise StoreUnreadError(redacted(f"the database at {url} holds no table {name}: give {service}'s database (its store is {table})"))


def application_of(service: str) -> type[ServiceApplication]:
    """An application of the service's store alone (no key ring: the chain is over the stored bytes), named as the
    service's own is (:data:`STORE_NAMES`)."""
    name = STORE_NAMES.get(service, service)
    return type(name.title(), (ServiceApplication,), {"name": name})


def open_store(url: str, service: str) -> ServiceApplication:
    """The service's store at ``url``, as the service opens it: its tables made if missing (``osv-restore accept-tail``
    writes through it; ``osv-verify`` reads through :func:`open_store_to_read`). On PostgreSQL its tables are named
    after the service's application: ``registry_events``…, reporting's ``phasereports_events``."""
    return application_of(service)(persistence_env(url))


def open_store_to_read(url: str, service: str) -> ServiceApplication:
    """The service's store at ``url``, opened only to be read: no table made, nor a file or folder, and on SQLite read-only
    (:func:`sqlite_store`). Raises :class:`StoreUnreadError` when there is no event store of the service to read there."""
    if url.split(":", 1)[0].split("+", 1)[0] == "sqlite":  # not persistence_env: it makes the file's folders
        env = {"PERSISTENCE_MODULE": "shared.chain:ChainedSQLiteFactory", "SQLITE_DBNAME": sqlite_store(url, service), "SQLITE_LOCK_TIMEOUT": "5"}
    else:
        try:
            env = persistence_env(url)
        except ValueError as error:
            raise StoreUnreadError(redacted(f"--store {url}: {error}")) from None
        check_postgres_store(url, service)
    return application_of(service)({**env, "CREATE_TABLE": "n"})


def service_of_store(app: ServiceApplication, page: int = 500) -> str | None:
    """The service whose events ``app``'s store holds, as the first stored event whose topic names one says
    (``services.registry.domain.osvs:OSV.OSVMapped``); ``None`` when none does (an empty store)."""
    after = 0
    while notifications := app.recorder.select_notifications(start=after, limit=page, inclusive_of_start=False):
        for notification in notifications:
            if notification.topic.startswith("services."):
                return notification.topic.split(".", 2)[1]
        after = notifications[-1].id
    return None


def verify_opened(service: str, app: ServiceApplication, url: str, heads: Sequence[Head]) -> Verdict:
    """:func:`~shared.chaincheck.verify` of the store ``app`` opened at ``url``; :class:`ChainOfAnotherServiceError`
    when its events are another service's."""
    if (whose := service_of_store(app)) not in (None, service):
        raise ChainOfAnotherServiceError(redacted(f"the store at {url} holds {whose}'s events, not {service}'s: give {service}'s own store"))
    return verify(service, entries_of_store(app), [h for h in heads if h.service == service], accepted_losses(app))


def verify_store(service: str, url: str, heads: Sequence[Head]) -> Verdict:
    """:func:`verify_opened` of the store at ``url``, opened only to read (:func:`open_store_to_read`)."""
    app = open_store_to_read(url, service)
    try:
        return verify_opened(service, app, url, heads)
    finally:
        app.close()


def entries_of_feed(client: httpx.Client, service: str, page: int = 1000, accepted: list[AcceptedLoss] | None = None) -> Iterator[Entry]:
    """Every position ``service``'s ``GET /chain`` lists, in order; :class:`ChainOfAnotherServiceError` when a page
    names another service (its ``service``), or none. Each page's ``accepted_losses`` (the service's ``osv-restore
    accept-tail`` records there) are added to ``accepted`` as it is read."""
    after = 0
    while True:
        body = client.get("/chain", params={"after": after, "limit": page}).raise_for_status().json()
        if (served := body.get("service")) != service:
            whose = f"{served}'s chain" if served else "a chain that names no service (a service older than osv-verify?)"
            raise ChainOfAnotherServiceError(f"the feed at {client.base_url} serves {whose}, not {service}'s: give {service}'s own URL")
        if accepted is not None:
            accepted.extend(AcceptedLoss(**record) for record in body.get("accepted_losses", []))
        for entry in body["entries"]:
            yield Entry(int(entry["position"]), entry["digest"], entry["hash"])
        if body["next_after"] == after:
            return
        after = body["next_after"]


def verify_feed(service: str, client: httpx.Client, heads: Sequence[Head]) -> Verdict:
    """:func:`~shared.chaincheck.verify` of the chain ``GET /chain`` serves, with the accept-tail records it names."""
    accepted: list[AcceptedLoss] = []
    return verify(service, entries_of_feed(client, service, accepted=accepted), [h for h in heads if h.service == service], accepted)


class HeadsUnreadError(Exception):
    """The heads' NATS server is out of reach, refused the user, or gave no heads. The message is the line to print,
    naming the server's URL (its password ``***``)."""


async def heads_from_nats(url: str, service: str | None = None) -> list[Head]:
    """Every head of ``service`` (or all) in the bucket of the NATS server(s) at ``url`` (comma-separated).

    Raises :class:`HeadsUnreadError` within seconds when no server takes the connection or one refuses the user or
    password (:func:`services.reporting.streamreader.connect`, the rebuild's), or when the heads cannot be read.
    """
    where = redacted(url)
    try:
        nc = await connect([u.strip() for u in url.split(",") if u.strip()])
    except NatsSignInRefusedError as error:
        raise HeadsUnreadError(
            f"the NATS server at {where} refused the sign-in ({error.last}): check the user and password in --nats "
            "(the auditor's: `auditor_password` in var/nats/accounts.json)"
        ) from None
    except NatsUnreachableError as error:
        raise HeadsUnreadError(
            f"the NATS server at {where} is out of reach ({error.last or 'none answered'}): start it, or check --nats's host and port"
        ) from None
    try:
        return await read_heads(nc.jetstream(timeout=10), service)
    except (nats.errors.Error, TimeoutError) as error:  # nats-py's timeouts are TimeoutErrors too
        raise HeadsUnreadError(
            f"the NATS server at {where} did not give the heads in {HEADS_BUCKET} ({type(error).__name__}: {one_line(str(error))}): "
            "sign in as the auditor, who may read them"
        ) from None
    finally:
        await nc.close()


def note_without_heads(args: argparse.Namespace) -> str:
    """What the check stood on when no head of the service was given: none asked for, or none where they were asked."""
    if not args.nats and not args.heads:
        return "note: no published heads were given (--nats, --heads): only the chain itself was checked"
    looked = ([f"the bucket {HEADS_BUCKET} at {redacted(args.nats)}"] if args.nats else []) + [str(path) for path in args.heads]
    holds = f"{looked[0]} holds no head" if len(looked) == 1 else f"neither {', '.join(looked[:-1])} nor {looked[-1]} holds a head"
    return f"note: {holds} of {args.service} yet: only the chain itself was checked"


def check(args: argparse.Namespace) -> tuple[list[Head], Verdict]:
    """The heads given (``--nats``, ``--heads``) and the verdict on the store or feed. A store is opened first, so that
    one not there is said before NATS is asked."""
    store = open_store_to_read(args.store, args.service) if args.store else None
    try:
        heads = asyncio.run(heads_from_nats(args.nats, args.service)) if args.nats else []
        for path in args.heads:
            heads += heads_from_file(path)
        if store is not None:
            return heads, verify_opened(args.service, store, args.store, heads)
        with service_client(args.feed, headers={"Authorization": f"Bearer {args.token}"} if args.token else {}, timeout=30) as client:
            return heads, verify_feed(args.service, client, heads)
    finally:
        if store is not None:
            store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="osv-verify", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", required=True, choices=SERVICES)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--store", help="the service's event store: sqlite:///path or postgresql://… (only read)")
    where.add_argument("--feed", help="the service's base URL, read through GET /chain")
    parser.add_argument("--token", help="a bearer token for --feed (an auditor's)")
    parser.add_argument("--nats", help="NATS URL: read every head published to the OSV_CHAIN_HEADS bucket")
    parser.add_argument("--heads", type=Path, action="append", default=[], help="a file of heads: a report's JSON, an XLSX export, or a CSV export's Chain-Heads header saved as text; repeatable")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
    args = parser.parse_args(argv)
    if fault := token_fault(args.token):
        parser.error(f"--token {fault}")

    try:
        heads, verdict = check(args)
    except (StoreUnreadError, HeadsUnreadError, HeadsFileError, ChainOfAnotherServiceError) as error:
        # A store not there: "ok" of an empty one made in its place; another service's store: "ok" or "rewritten"
        # (tester 225 F1); NATS out of reach or refusing the user: hundreds of lines of tracebacks (tester 225 F5);
        # another service's feed: "ok" (tester 161 F3); a --heads file not there or not a report's JSON, an export's heads
        # included: a traceback (tester 224 F3).
        print(f"osv-verify: {redacted(str(error))}", file=sys.stderr)
        return 2
    except httpx.HTTPStatusError as error:
        print(f"osv-verify: {refusal(error)}", file=sys.stderr)
        return 2
    except httpx.TransportError as error:  # a traceback, before (helper 159)
        print(f"osv-verify: {unreachable(error, {}, name_it='--feed URL')}", file=sys.stderr)
        return 2
    print(json.dumps(verdict.as_dict(), indent=2) if args.json else verdict.describe())
    if not any(head.service == args.service for head in heads):  # "no published heads were given" when --nats was, before (tester 225 F8)
        print(note_without_heads(args), file=sys.stderr)
    return 1 if verdict.failed else 3 if verdict.accepted else 0


if __name__ == "__main__":
    sys.exit(main())
