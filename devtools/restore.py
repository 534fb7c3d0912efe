"""``osv-restore``: a write service's store put back from an older backup, compared with its stream and taken past it.

    osv-restore check --service registry
    osv-restore accept-tail --service registry
    osv-restore check --service funding --store postgresql://osv:…@db/funding --nats-url nats://osv:…@nats:4222

When a store is restored from a backup older than its stream's last event,
the service publishes nothing and refuses commands (503
``store_behind_stream``; README, "Restoring a backup"). ``check`` says where
the store and the stream part, which of the stream's events the store lacks
(partners and reporting keep them), and which of the store's were never
published; exit 1 when the stream is ahead. If no newer backup holds the
stream's events, ``accept-tail`` accepts that the store will not have them:
it moves the store's unpublished events past the last position given out
(the stream's last, or the highest chain head in the heads bucket), records
a private event there, and after it the public ``StreamTailLost`` notices
that tell partners and reporting of the loss, and marks the store
(:mod:`shared.restore`), so the service takes commands again and its relay
publishes from there, the notices first. It
refuses to run while a worker of the service holds the store's relay lease:
stop the service first.

The store and NATS are the service's own, from its settings
(``<SERVICE>_DATABASE_URL`` or the SQLite file under ``<SERVICE>_VAR_DIR``, else ``OSV_VAR_DIR``,
``<SERVICE>_NATS_URL``, ``<SERVICE>_NATS_STREAM``) unless ``--store`` and
``--nats-url`` say otherwise. Without ``<SERVICE>_NATS_URL``, NATS is
``make run``'s, where it gives it to each service: ``nats://<OSV_HOST>:<OSV_NATS_PORT>``
(``127.0.0.1:4222`` by default). A NATS URL without a user signs in as the
services' user with the password in ``<var>/nats/accounts.json``, as
``make rebuild`` does against ``make run``'s server. ``make run`` stops its
nats-server with the services: when nothing answers at ``make run``'s address
and ``<var>/nats`` holds its server's store, ``osv-restore`` starts that
nats-server alone for as long as it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import nats
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy import create_engine, inspect, text

from audit.verify import open_store
from devtools.processes import EmbeddedServerError, port_accepts
from shared.auth import AuthSettings
from shared.lease import lease_for
from shared.messaging import stream_name
from shared.restore import Examination, accept_tail, examine, moved_events
from shared.settings import ServiceSettings, refused_setting

SERVICES = ("registry", "funding", "engagement")


def not_its_store(url: str, service: str) -> str | None:
    """Why the database at ``url`` is not ``service``'s event store, or None when it is (or holds no event yet).

    ``accept-tail`` on registry's ``events.db`` given as funding's renumbered every registry event past funding's
    stream, and on a ``views.db`` made event-store tables in it (tester 28b, H3): a store's first event's topic names
    its service (``services.registry.domain.osvs:OSV.OSVMapped``), and nothing is made where there is no store.
    SQLite files only: on PostgreSQL each service has a database of its own, named in its settings.
    """
    if not url.startswith("sqlite"):
        return None
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("stored_events"):
            return f"{engine.url.render_as_string(hide_password=True)} holds no event store (no stored_events table)"
        with engine.connect() as connection:
            topic = connection.execute(text("SELECT topic FROM stored_events ORDER BY rowid LIMIT 1")).scalar()
    finally:
        engine.dispose()
    if topic is not None and not str(topic).startswith(f"services.{service}."):
        owner = str(topic).split(".")[1] if str(topic).startswith("services.") else "another application"
        return f"{engine.url.render_as_string(hide_password=True)} is the event store of {owner} (its first event is {topic})"
    return None


def store_url_of(given: str) -> str | None:
    """``--store`` as a URL: an SQLite or PostgreSQL URL as given, a file's path (no ``scheme://``) as
    ``sqlite:///<its absolute path>``; None for a URL of any other kind."""
    if "://" not in given:
        return f"sqlite:///{Path(given).expanduser().absolute()}"
    return given if urlsplit(given).scheme.split("+", 1)[0] in ("sqlite", "postgresql", "postgres") else None


def settings_class(service: str) -> type[ServiceSettings]:
    """The settings class of ``service`` (one of :data:`SERVICES`)."""
    if service == "registry":
        from services.registry.settings import RegistrySettings as settings
    elif service == "funding":
        from services.funding.settings import FundingSettings as settings  # type: ignore[assignment]
    else:
        from services.engagement.settings import EngagementSettings as settings  # type: ignore[assignment]
    return settings


def settings_of(service: str) -> ServiceSettings:
    """The service's settings, from its environment variables, as the service itself reads them.

    Without ``<SERVICE>_VAR_DIR``, ``OSV_VAR_DIR`` (``make run``'s, which it gives each service) says where ``var/`` is.
    Raises pydantic's ``ValidationError`` or ``SettingsError`` for a variable that does not read (:func:`refused_setting`).
    """
    var = os.environ.get("OSV_VAR_DIR")
    given = {"var_dir": Path(var)} if var and f"{service.upper()}_VAR_DIR" not in os.environ else {}
    return settings_class(service)(**given)


def make_run_nats(settings: ServiceSettings) -> tuple[str, str, int] | None:
    """``make run``'s NATS as it gives it to the service (``(url, host, port)``), or None when ``<SERVICE>_NATS_URL`` is set.

    ``make run`` (``deploy/run_local.py``) gives each service ``<SERVICE>_NATS_URL`` when the environment has it, and
    otherwise its own nats-server's address, ``OSV_HOST`` (``127.0.0.1``) and ``OSV_NATS_PORT`` (4222). The service run
    alone reads ``<SERVICE>_NATS_URL`` or its default, which is the same address.
    """
    if "nats_url" in settings.model_fields_set:
        return None
    host = os.environ.get("OSV_HOST") or "127.0.0.1"
    port = int(os.environ.get("OSV_NATS_PORT") or 4222)
    return f"nats://{host}:{port}", host, port


@contextlib.contextmanager
def nats_alone(var_dir: Path, host: str, port: int, districts_file: Path | None) -> Iterator[None]:
    """``make run``'s nats-server, on its store ``<var>/nats``, while the block runs, if none answers at ``host:port``.

    ``make run`` stops its nats-server with the services, and ``accept-tail`` wants the service stopped: this starts
    the server as ``make run`` does (the same store, accounts and port), says so on stderr, and stops it after. Nothing
    is started where something answers, or where ``<var>/nats`` holds no server's store (``accounts.json``).
    Raises :class:`devtools.processes.EmbeddedServerError` when the server does not start.
    """
    from devtools.nats_server import NatsServer  # make run's server: only where there is one to start

    store = var_dir / "nats"
    if port_accepts(host, port) or not (store / "accounts.json").is_file():
        yield
        return
    server = NatsServer(store, port=port, host=host, end_with_parent=True, districts_file=districts_file)
    server.start()
    print(f"osv-restore: no NATS answered at {host}:{port}: started make run's nats-server alone on {host}:{port} "
          f"(store {store}) for this command", file=sys.stderr)
    try:
        yield
    finally:
        server.stop()


def signed_in(url: str, var_dir: Path) -> str:
    """``url`` as given, or, without a user, signed in as the services' user of ``make run``'s server (``<var>/nats/accounts.json``)."""
    accounts = var_dir / "nats" / "accounts.json"
    servers = [u.strip() for u in url.split(",") if u.strip()]
    if not accounts.exists() or any(urlsplit(u).username for u in servers):
        return url
    password = json.loads(accounts.read_text("utf-8"))["programme_password"]
    signed = []
    for server in servers:
        parts = urlsplit(server)
        signed.append(urlunsplit(parts._replace(netloc=f"osv:{password}@{parts.netloc}")))
    return ",".join(signed)


async def _examine(app: Any, nats_url: str, stream: str, service: str) -> Examination:
    refusals: list[Exception] = []

    async def refused(error: Exception) -> None:
        refusals.append(error)

    try:  # a few tries, a second apart (nats-py's default: two minutes of silence)
        nc = await nats.connect(
            [u.strip() for u in nats_url.split(",")], connect_timeout=5, max_reconnect_attempts=3, reconnect_time_wait=1, error_cb=refused
        )
    except nats.errors.NoServersError:
        last = refusals[-1] if refusals else None
        raise ConnectionError(f"no NATS server took the connection ({type(last).__name__}: {last})" if last else "no NATS server answered") from None
    try:
        private = importlib.import_module(f"services.{service}.events").catalogue.private_topics
        return await examine(app, nc.jetstream(timeout=10), stream, service, private)
    finally:
        await nc.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="osv-restore", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["check", "accept-tail"])
    parser.add_argument("--service", required=True, choices=SERVICES)
    parser.add_argument(
        "--store", help="the service's event store: sqlite:///path, an SQLite file's path, or postgresql://… (default: the service's own)"
    )
    parser.add_argument(
        "--nats-url", help="NATS URL, or a comma-separated list (default: the service's own, <SERVICE>_NATS_URL, else make run's)"
    )
    parser.add_argument("--json", action="store_true", help="print what was found (and done) as JSON")
    args = parser.parse_args(argv)

    try:  # a setting that does not read (a districts file breaking a rule): one line naming it, not pydantic's traceback
        settings = settings_of(args.service)
        registry_districts = settings_of("registry").districts_file
    except (ValidationError, SettingsError) as error:
        print(f"osv-restore: {refused_setting(error, (*map(settings_class, SERVICES), AuthSettings))}", file=sys.stderr)
        return 2
    store = settings.store_url() if args.store is None else store_url_of(args.store)
    if store is None:
        print(f"osv-restore: {args.service}: --store {args.store} is no event store's URL: give sqlite:///<file>, the file's path, "
              "or postgresql://…", file=sys.stderr)
        return 2
    make_run = None if args.nats_url else make_run_nats(settings)
    nats_url = signed_in(args.nats_url or (make_run[0] if make_run else settings.nats_url), settings.var_dir)
    if make_run is None:
        server: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    else:
        server = nats_alone(settings.var_dir, make_run[1], make_run[2], registry_districts)  # as make run starts it
    stream = stream_name(settings.nats_stream, args.service)
    if store.startswith("sqlite:///") and not Path(store.split(":///", 1)[1]).is_file():
        print(f"osv-restore: {args.service}: no store at {store.split(':///', 1)[1]} (give --store, or {args.service.upper()}_VAR_DIR)", file=sys.stderr)
        return 2
    stranger = not_its_store(store, args.service)
    if stranger is not None:
        print(f"osv-restore: {args.service}: {stranger}: give --store the store of {args.service}", file=sys.stderr)
        return 2
    lease = lease_for(store, args.service)
    if args.action == "accept-tail" and not lease.hold():
        print(
            f"osv-restore: a worker of {args.service} holds its store's relay lease: stop every worker of {args.service}, then run this again",
            file=sys.stderr,
        )
        return 2
    app = open_store(store, args.service)
    try:
        try:
            with server:
                examination = asyncio.run(_examine(app, nats_url, stream, args.service))
        except (OSError, nats.errors.Error, ValueError, EmbeddedServerError) as error:
            print(f"osv-restore: {args.service}: could not read {stream} at {urlsplit(nats_url.split(',')[0]).hostname}: {error}", file=sys.stderr)
            return 2
        moves: list[tuple[int, int]] = []
        if args.action == "accept-tail" and examination.behind:
            moves = accept_tail(app, examination)
    finally:
        app.close()
        lease.release()
    if args.json:
        print(json.dumps({**examination.as_dict(), "moved": [list(m) for m in moves]}, indent=2))
    else:
        print(examination.describe())
        if args.action == "accept-tail" and examination.behind:
            print(
                f"Done: the stream's events after {examination.shared_position} up to {examination.stream_position} are accepted as "
                f"not in the store; {len(examination.notified)} StreamTailLost notices of it at {examination.given_out + 1} "
                f"(for partners and reporting), {moved_events(len(moves))} moved past them. Start {args.service}: "
                "it takes commands again and publishes from there, the notices first."
            )
    if args.action == "check":
        return 1 if examination.behind else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
