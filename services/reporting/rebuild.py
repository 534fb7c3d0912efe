"""Rebuild reporting's read model from scratch: from the NATS stream, or from every service's feed.

    python -m services.reporting.rebuild                 # from the JetStream streams
    python -m services.reporting.rebuild --from feeds    # from each service's GET /events
    python -m services.reporting.rebuild --from feeds --token "$(make -s token USER=auditor | tail -1)"

The feeds are ``REPORTING_FEED_URLS`` when set, else where ``make run`` serves
them (``OSV_HOST``, ``REGISTRY_PORT``, ``FUNDING_PORT``, ``ENGAGEMENT_PORT``);
``--feed SERVICE=URL`` names one. They answer a token with ``events:read``: the
one ``--token`` gives (an auditor's), else the services' own, from the identity
provider with ``OSV_AUTH_SERVICE_CLIENT_SECRET`` (``make run`` sets it for the
services it starts).

Stop the reporting service first, or pass ``--database-url`` to rebuild into
another database beside the live one and compare (the digest is printed).

The read model is emptied only once the stream (or every feed) has answered;
a rebuild that cannot start (NATS out of reach, its login refused, no stream
of that prefix) exits 1 naming why in one line and leaves it as it was. Each
feed is read up to its first event first: one serving another service's
events, or none of the head it declares, is refused so too. Every event applied
must be of its feed's service and follow the one before it (its ``previousposition``: a hole, or a position
served twice, is refused), and each feed must reach its head; found later,
the line says the read model holds only part of the events. A run that fails
removes the SQLite file it made itself (``--database-url sqlite:///new.db``).

On a terminal a progress bar shows the events applied out of the known total
and the rate. Each batch is one transaction of executemany inserts. From the
stream, a second process reads the next batches while this one applies. The
checkpoints are made once, at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsError
from sqlalchemy.engine import Engine
from tqdm import tqdm

from services.reporting.inuse import ReadModelInUse
from services.reporting.settings import ReportingSettings
from services.reporting.streamreader import BATCH, DONE, TOTAL
from services.reporting.views.readmodel import ReadModel
from shared.auth import AuthSettings, ServiceCredentials
from shared.clientmessages import origin_of, redacted, refusal, service_client, token_fault, unreachable
from shared.events import SPEC_SOURCE_PREFIX
from shared.lifecycle import collect_less_often
from shared.messaging import stream_name
from shared.settings import refused_setting
from shared.views import every_subject_of, json_loads, make_engine

Progress = Callable[[int, int], None]
Ready = Callable[[list[str], int], None]
"""Called with the sources (streams, or feeds) found and the events they hold, before the first is applied."""
ATTRIBUTES = frozenset({"specversion", "id", "source", "type", "time", "position"})


def parse(payload: bytes) -> dict[str, Any]:
    """A structured CloudEvent from the stream, as the relay wrote it.

    The relay validated it with the CloudEvents SDK on the way in; reading it
    back as plain JSON and checking its attributes is several times faster
    than the SDK's reader, which bounds a rebuild. The JSON is read with
    orjson (:func:`~shared.views.json_loads`: the standard library for what
    orjson would not read exactly), twice as fast as ``json.loads`` on the
    platform's events.
    """
    cloudevent = json_loads(payload)
    if cloudevent.get("specversion") != "1.0" or not cloudevent.keys() >= ATTRIBUTES:  # a set comparison: a third of the cost of one test per attribute
        raise ValueError(f"not a CloudEvent of this platform: {payload[:200]!r}")
    return cloudevent  # type: ignore[no-any-return]


class ProgressBar:
    """Events applied out of the known total, and events/s, on stderr when it is a terminal."""

    def __init__(self, label: str) -> None:
        self.bar = tqdm(desc=label, unit=" events", unit_scale=True, disable=not sys.stderr.isatty(), file=sys.stderr, smoothing=0.1)

    def __call__(self, done: int, total: int) -> None:
        if self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def servers(nats_url: str) -> list[str]:
    """The NATS URLs of a comma-separated list, as the services take them (``nats://a:4222,nats://b:4222``)."""
    return [server.strip() for server in nats_url.split(",") if server.strip()]


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's cycle collector runs every :data:`~shared.lifecycle.COLLECT_EVERY` allocations instead of 700, then as it did before.

    A rebuild makes and drops millions of short-lived objects, rows and
    dicts among them, and the collector's passes over them were a sixth of
    its CPU (100,000 events: 5,390 against 6,300 events/s). Cycles are still
    collected, only less often; the thresholds are put back however the
    rebuild ends.
    """
    before = collect_less_often()
    try:
        yield
    finally:
        gc.set_threshold(*before)


def rebuild_from_stream(
    readmodel: ReadModel,
    nats_url: str,
    stream_prefix: str = "OSV",
    batch: int = 2000,
    progress: Progress | None = None,
    sources: tuple[str, ...] = ReadModel.sources,
    ready: Ready | None = None,
) -> int:
    """Replay every write service's stream into ``readmodel``, a batch per transaction; returns the events applied.

    ``ready`` is called with the streams found and their messages in all once
    the NATS server answered, before anything is applied: the command line
    empties the read model then, not before (see :func:`main`).

    A process of its own reads the streams (:mod:`services.reporting.streamreader`:
    a pull consumer per stream, no acks, ``batch`` messages at a time) and
    hands the payloads on through a pipe, a few batches ahead, while this one
    parses and applies: reading and applying cost about the
    same, and so each gets a core. (A thread beside the applier measured
    slower: both halves are Python work under one lock.) The cycle collector
    runs less often meanwhile (:func:`fewer_collections`).

    Raises :class:`RebuildError` when the reader fails (the NATS server out of
    reach, a stream shorter than it said) or stops without a word. Whatever
    ends the rebuild (an error, Ctrl-C), the reader is stopped.
    """
    with fewer_collections(), readmodel.bulk_load():
        return _rebuild_from_stream(readmodel, nats_url, stream_prefix, batch, progress, sources, ready)


class RebuildError(RuntimeError):
    """The stream, or a feed, could not be read to its end; the message names why."""


class StreamUnreadError(RebuildError):
    """The stream reader failed (the NATS server out of reach, its login refused), or stopped without a word."""


READER = Path(__file__).with_name("streamreader.py")


def _rebuild_from_stream(
    readmodel: ReadModel, nats_url: str, stream_prefix: str, batch: int, progress: Progress | None, sources: tuple[str, ...],
    ready: Ready | None,
) -> int:
    streams = [[stream_name(stream_prefix, source), every_subject_of(source)] for source in sources]
    order = {"servers": servers(nats_url), "streams": streams, "batch": batch}
    # The order goes on the reader's standard input, not its command line: a NATS URL may carry a password.
    reader = subprocess.Popen([sys.executable, str(READER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # noqa: S603 - our own script
    assert reader.stdin is not None and reader.stdout is not None
    try:
        with contextlib.suppress(BrokenPipeError):  # a reader that died at once is named below, by its exit code
            reader.stdin.write(json.dumps(order).encode())
            reader.stdin.close()
        total, seen = 0, 0
        while True:
            try:
                kind, value = pickle.load(reader.stdout)  # noqa: S301 - written by the reader this process started
            except EOFError:
                raise StreamUnreadError(f"the stream reader stopped (exit code {reader.wait()}) before the end of the stream") from None
            if kind == TOTAL:
                total = value["messages"]
                if ready is not None:
                    ready(value["streams"], total)
            elif kind == BATCH:
                readmodel.apply([parse(payload) for payload in value], checkpoint=False)
                seen += len(value)
                if progress:
                    progress(seen, total)
            elif kind == DONE:
                return seen
            else:
                raise StreamUnreadError(f"reading the stream failed: {value}")
    finally:
        if reader.poll() is None:
            reader.kill()
        reader.wait()
        reader.stdout.close()


def default_feeds() -> tuple[dict[str, str], dict[str, str]]:
    """The write services' base URLs, by service, for a rebuild or ``osv-replay`` named no feed: ``REPORTING_FEED_URLS``
    when set (reporting's own setting), else where ``make run`` serves them (``OSV_HOST``, ``REGISTRY_PORT``,
    ``FUNDING_PORT``, ``ENGAGEMENT_PORT``, as ``make demo`` and ``osv-import`` find them), or in the service image, which
    holds no ``deploy`` package, reporting's own setting's defaults; and where each URL came from, by service (for the
    line saying a feed does not answer: ``set by REPORTING_FEED_URLS``, or a default, said so when nothing set it).

    Raises :class:`RebuildError` naming a variable one of those settings refused (``REGISTRY_PORT=abc``, ``OSV_HOST=``,
    ``REPORTING_FEED_URLS`` that is no JSON), in one line.
    """
    classes: list[type[BaseSettings]] = [ReportingSettings, AuthSettings]
    try:
        return _default_feeds(classes)
    except (ValidationError, SettingsError) as error:
        raise RebuildError(refused_setting(error, classes)) from None


def _default_feeds(classes: list[type[BaseSettings]]) -> tuple[dict[str, str], dict[str, str]]:
    """:func:`default_feeds`, adding to ``classes`` the settings it reads besides reporting's."""
    if "REPORTING_FEED_URLS" in _set():
        urls = dict(ReportingSettings().feed_urls)  # a key naming no write service is refused by the setting itself
        return urls, dict.fromkeys(urls, "set by REPORTING_FEED_URLS")
    try:
        from deploy.run_local import HOST_VARIABLE, SERVICES, LocalSettings, port_variable, service_urls
    except ModuleNotFoundError as error:  # the service image holds no deploy/: reporting's setting's defaults, below
        if (error.name or "").partition(".")[0] != "deploy":
            raise
    else:
        classes += [LocalSettings, *(settings_class for _, _, settings_class in SERVICES)]
        served = service_urls()
        origins = {}
        for name in ReadModel.sources:
            variables = (HOST_VARIABLE, port_variable(name))
            given = [variable for variable in variables if variable in _set()]
            origins[name] = (f"set by {' and '.join(given)}, as for `make run`" if given else
                             f"where `make run` serves it, neither {' nor '.join(variables)} being set")
        return {name: served[name] for name in ReadModel.sources}, origins
    urls = dict(ReportingSettings().feed_urls)
    return urls, dict.fromkeys(urls, "reporting's default, REPORTING_FEED_URLS being unset")


def _set() -> set[str]:
    """The environment variables set, by their names in capitals (the settings read them whatever their case)."""
    return {name.upper() for name in os.environ}


def default_nats_url(settings: ReportingSettings) -> tuple[str, str]:
    """Where a rebuild named no ``--nats-url`` reads the stream, and where that came from (for the line saying the
    stream could not be read): ``REPORTING_NATS_URL`` when set (reporting's own setting); else ``make run``'s
    nats-server (``OSV_HOST``, ``OSV_NATS_PORT``), signed in as the services' user ``osv`` with the password
    ``<OSV_VAR_DIR>/nats/accounts.json`` holds, when that file is there (run as ``python -m services.reporting.rebuild``,
    it went to port 4222 whatever ``make run`` served; ``make rebuild`` built this in the shell); else, and in the
    service image, which holds no ``deploy`` package, the setting's default.

    Raises :class:`RebuildError` for an ``OSV_`` variable that does not read (one line naming it).
    """
    unset = "reporting's default, REPORTING_NATS_URL being unset"
    if "REPORTING_NATS_URL" in _set():
        return settings.nats_url, "set by REPORTING_NATS_URL"
    try:
        from deploy.run_local import LocalSettings
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] != "deploy":
            raise
        return settings.nats_url, unset
    try:
        local = LocalSettings()
    except (ValidationError, SettingsError) as error:
        raise RebuildError(refused_setting(error, (LocalSettings,))) from None
    accounts = local.var_dir / "nats" / "accounts.json"
    if not accounts.is_file():
        return settings.nats_url, unset
    password = json.loads(accounts.read_text(encoding="utf-8"))["programme_password"]  # URL-safe: nats-py reads it as written
    return (f"nats://osv:{password}@{local.host}:{local.nats_port}",
            f"`make run`'s nats-server (OSV_HOST, OSV_NATS_PORT, {accounts}), REPORTING_NATS_URL being unset")


def default_database_url(settings: ReportingSettings) -> str:
    """The read model a rebuild named no ``--database-url`` rebuilds: the one reporting runs on. ``REPORTING_DATABASE_URL``
    or ``REPORTING_VAR_DIR`` when set (reporting's own settings); else where ``make run`` keeps it,
    ``<OSV_VAR_DIR>/reporting/readmodel.db`` (the launcher gives the service ``OSV_VAR_DIR`` as ``REPORTING_VAR_DIR``: a
    rebuild with only ``OSV_VAR_DIR`` set filled ``./var``'s, exit 0, and never met the running service's lock); in
    the service image, which holds no ``deploy`` package, the setting's default.

    Raises :class:`RebuildError` for an ``OSV_`` variable that does not read (one line naming it).
    """
    if {"REPORTING_DATABASE_URL", "REPORTING_VAR_DIR"} & _set():
        return settings.view_url()
    try:
        from deploy.run_local import LocalSettings
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] != "deploy":
            raise
        return settings.view_url()
    try:
        local = LocalSettings()
    except (ValidationError, SettingsError) as error:
        raise RebuildError(refused_setting(error, (LocalSettings,))) from None
    return settings.model_copy(update={"var_dir": local.var_dir}).view_url()


FEED_HELP = "a write service's base URL, repeatable (default: REPORTING_FEED_URLS, or where `make run` serves it)"


def feeds_named(parser: argparse.ArgumentParser, given: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """:func:`default_feeds` with each ``--feed SERVICE=URL`` in ``given`` in its place, and where each URL came from,
    by URL (as :func:`~shared.clientmessages.unreachable` takes it); ``parser.error`` (exit 2) naming one that is not of
    that shape, names no write service, or names one named before."""
    urls, origins = default_feeds()
    named: set[str] = set()
    for feed in given:
        service, _, url = feed.partition("=")
        if not url:
            parser.error(redacted(f"--feed {feed!r}: write SERVICE=URL"))
        if service not in ReadModel.sources:
            parser.error(redacted(f"--feed {feed!r}: {service!r} is no write service; write {', '.join(ReadModel.sources)}"))
        if service in named:  # the last was kept, in silence
            parser.error(f"--feed {service}=… is given twice: give each service's URL once")
        named.add(service)
        urls[service], origins[service] = url, "given by --feed"
    return urls, {url: origins[name] for name, url in urls.items()}


def rebuild_from_feeds(
    readmodel: ReadModel, feeds: Mapping[str, httpx.Client], page: int = 1000, progress: Progress | None = None, ready: Ready | None = None
) -> int:
    """Read every service's ``GET /events`` from the start and apply it (clients carry each base URL); returns the events applied.

    ``ready`` is called with the feeds and their heads in all once every feed answered, before anything is applied.
    Each feed is read first up to its first event (:func:`_head`), so that one serving another service's events is
    refused before ``ready``.

    Raises httpx's errors as they come, and :class:`RebuildError` naming the feed when it answers but not as a feed;
    serves another service's events (every event's ``source`` must be the feed's service's: read as ``name``'s,
    another's events would be facts of ``name`` never applied, and that service's own left out); answers positions
    that are none (a negative ``head``, a ``next_after`` going back); leaves an event out or serves one twice (each
    event's ``previousposition`` must be the position of the event served before it, :func:`_follow`); or ends short
    of the ``head`` it declared. The end is told by positions, not by events counted: ``next_after`` steps over the
    private events no feed serves. Found while applying (a feed whose events change service part way, that has a
    hole, or that ends short), part of the events are applied by then.
    """
    heads = {name: _head(name, client, page) for name, client in feeds.items()}
    total, seen = sum(heads.values()), 0
    if ready is not None:
        ready(list(heads), total)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rebuild-apply") as writer:
        applying: Future[int] | None = None
        for name, client in feeds.items():
            after, last = 0, 0
            while True:
                next_after, events = _page(name, client, after, page)
                if next_after == after:
                    break
                after = next_after
                if not events:  # a page of private events only
                    continue
                last = _follow(name, client, events, last)
                if applying is not None:  # the next page is read while the last one applies
                    applying.result()
                    if progress:
                        progress(seen, total)
                applying = writer.submit(readmodel.apply, events, checkpoint=False)
                seen += len(events)
            if applying is not None:
                applying.result()
                applying = None
            _check_end(name, client, after, heads[name])
            readmodel.settle(name, after)  # the feed covered every position up to here
    if progress:
        progress(seen, total)
    return seen


def _head(name: str, client: httpx.Client, page: int) -> int:
    """The highest position ``name``'s feed holds, once it is read up to its first event and that event is ``name``'s.

    Registry's and engagement's first position is a private event, which no feed serves: the first page holds no
    event whose ``source`` could be checked, and the pages after it are read until one does. Raises httpx's errors
    as they come (a refusal, 401 or 403, is the caller's to explain: ``osv-replay`` names the role it needs), and
    :class:`RebuildError` as :func:`_page` does, or when the head is negative, or the feed holds no event and ends
    short of it.
    """
    response = client.get("/events", params={"limit": 1}).raise_for_status()
    try:
        head = int(response.json()["head"])
    except (ValueError, KeyError, TypeError) as error:
        raise RebuildError(_not_a_feed(name, client, error)) from None
    if head < 0:
        raise RebuildError(f"the {name} feed at {client.base_url} declared head {head}: a feed's positions start at 1")
    after, events = _read(name, client, response, 0)
    while not events and after < head:
        next_after, events = _page(name, client, after, page)
        if next_after == after:
            break
        after = next_after
    if not events:
        _check_end(name, client, after, head)
    return head


def _check_end(name: str, client: httpx.Client, end: int, head: int) -> None:
    """:class:`RebuildError` when ``name``'s feed ended at position ``end``, short of the ``head`` it declared."""
    if end < head:
        raise RebuildError(f"the {name} feed at {client.base_url} ended at position {end}, short of the head {head} it declared: "
                           "it holds fewer events than it said")


def _page(name: str, client: httpx.Client, after: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """The page of ``name``'s feed after ``after``: its ``next_after`` and its events. See :func:`_read`."""
    return _read(name, client, client.get("/events", params={"after": after, "limit": limit}).raise_for_status(), after)


def _read(name: str, client: httpx.Client, response: httpx.Response, after: int) -> tuple[int, list[dict[str, Any]]]:
    """``response``'s ``next_after`` and events, the page after ``after``; :class:`RebuildError` naming the feed when
    it is no feed's page, its ``next_after`` goes back (or stays while it holds events), or an event's ``source`` is
    not ``name``'s (naming the service whose events the feed serves)."""
    try:
        body = response.json()
        next_after, events = int(body["next_after"]), list(body["events"])
        sources = {str(event["source"]) for event in events}
    except (ValueError, KeyError, TypeError) as error:
        raise RebuildError(_not_a_feed(name, client, error)) from None
    if next_after < after or (events and next_after == after):
        raise RebuildError(f"the {name} feed at {client.base_url} answered next_after {next_after} after {after}"
                           f"{' with events' if events else ''}: a feed's positions only go forward")
    other = sources - {SPEC_SOURCE_PREFIX + name}
    if other:
        served = ", ".join(sorted(source.removeprefix(SPEC_SOURCE_PREFIX) for source in other))
        raise RebuildError(f"the {name} feed at {client.base_url} serves {served}'s events, not {name}'s: give each service's own URL")
    return next_after, events


def _follow(name: str, client: httpx.Client, events: list[dict[str, Any]], last: int) -> int:
    """The position of the last of ``events``, each of which follows the one before it, the first the event served at
    ``last`` (0: none yet); :class:`RebuildError` naming the position otherwise.

    A feed serves every public event of its log, each with ``previousposition``, the position of the public event
    before it (as :mod:`shared.views` fills its gaps by it): one that names a position the feed did not serve last
    shows an event left out (a proxy dropping one kept the head and ``next_after``, and the rebuild went on without
    it); one served at or below ``last`` is served twice, or out of order, and would be counted twice.
    """
    for event in events:
        try:
            position, previous = int(event["position"]), int(event["previousposition"])
        except (ValueError, KeyError, TypeError) as error:
            raise RebuildError(_not_a_feed(name, client, error)) from None
        if position <= last:
            again = "twice" if position == last else f"after position {last}"
            raise RebuildError(f"the {name} feed at {client.base_url} served position {position} {again}: a feed serves each position once, in order")
        if previous > last:
            raise RebuildError(f"the {name} feed at {client.base_url} left out position {previous}: the event at {position} follows it, "
                               f"{f'and the last it served before was at {last}' if last else 'and it served none before'}: a rebuild from it would lack events")
        if previous < last:
            raise RebuildError(f"the {name} feed at {client.base_url} served the event at {position} as following position {previous}, "
                               f"after serving position {last}: its events do not follow one another")
        last = position
    return last


def _not_a_feed(name: str, client: httpx.Client, error: Exception) -> str:
    return f"the {name} feed at {client.base_url} did not answer as a feed ({type(error).__name__}: {error})"


def _rebuild_from_feeds(
    readmodel: ReadModel, settings: ReportingSettings, feeds: tuple[dict[str, str], dict[str, str]], token: str | None, progress: Progress, ready: Ready
) -> int:
    """:func:`rebuild_from_feeds` from ``feeds`` (:func:`feeds_named`'s URLs and where each came from), signed in with
    ``token`` when given, else with the services' client credentials (``OSV_AUTH_SERVICE_CLIENT_SECRET``) when set; the
    feeds refuse a request without either (401)."""
    urls, origins = feeds
    if token:
        auth: httpx.Auth | None = None
        headers = {"Authorization": f"Bearer {token}"}
    else:
        auth = ServiceCredentials(settings.auth) if settings.auth.service_client_secret is not None else None
        headers = {}
    clients = {name: service_client(url, timeout=30.0, auth=auth, headers=headers) for name, url in urls.items()}
    try:
        with fewer_collections():
            return rebuild_from_feeds(readmodel, clients, progress=progress, ready=ready)
    except httpx.TransportError as error:
        url = str(error.request.url)
        if token is None and origin_of(url, origins) is None:  # the services' token was being fetched
            raise RebuildError(redacted(f"the identity provider (OSV_AUTH_ISSUER) does not answer at {url} ({type(error).__name__}: {error}): "
                                        "start it (make run does), or pass --token")) from None
        raise RebuildError(unreachable(error, origins)) from None
    finally:
        for client in clients.values():
            client.close()


def _said(error: RebuildError | httpx.HTTPError) -> str:
    """The rebuild's error on one line: a feed's refusal with what to do about a 401 or 403."""
    if isinstance(error, httpx.HTTPStatusError):
        return refusal(error)
    return redacted(_one_line(error) if isinstance(error, httpx.HTTPError) else str(error))


def _one_line(error: httpx.HTTPError) -> str:
    """httpx's error on one line, with the URL it was about (its message adds a second line pointing at its docs)."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    try:
        url = str(error.request.url)
    except RuntimeError:  # no request attached
        return first
    return first if url in first else f"{first} ({url})"


class NewSQLiteFile:
    """An SQLite file a rebuild is about to make (``--database-url sqlite:///new.db``): a rebuild that fails removes it,
    its journals and the folders made for it, rather than leave a read model of tables and no facts. One that was
    there before the run, or a server's database, is never one.
    """

    JOURNALS = ("-wal", "-shm", "-journal")

    def __init__(self, path: Path, folders: list[Path]) -> None:
        self.path = path
        self.folders = folders
        """The folders missing before the run, deepest first."""

    @classmethod
    def of(cls, url: str) -> NewSQLiteFile | None:
        """The file ``url`` names when it is an SQLite file's URL (as :func:`~shared.files.private_sqlite` reads it) not made yet, else ``None``."""
        if not url.startswith("sqlite:///"):
            return None
        name = url.removeprefix("sqlite:///").split("?", 1)[0]
        if not name or name == ":memory:" or (path := Path(name).absolute()).exists():
            return None
        return cls(path, [folder for folder in path.parents if not folder.exists()])

    def remove(self) -> None:
        """The file, its journals, and the folders made for it that hold nothing else, gone; one already gone is no error."""
        for path in (self.path, *(self.path.with_name(self.path.name + journal) for journal in self.JOURNALS)):
            path.unlink(missing_ok=True)
        for folder in self.folders:
            with contextlib.suppress(OSError):  # one that holds something else by now stays
                folder.rmdir()


def main(argv: list[str] | None = None) -> int:
    try:
        settings = ReportingSettings()
    except (ValidationError, SettingsError) as error:
        print(f"rebuild: {refused_setting(error, (ReportingSettings, AuthSettings))}; the read model: it is left as it was", file=sys.stderr)
        return 1
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", choices=["stream", "feeds"], default="stream")
    parser.add_argument("--database-url", help="read model to rebuild (default: reporting's own, REPORTING_DATABASE_URL, "
                        "REPORTING_VAR_DIR, or make run's, under OSV_VAR_DIR)")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="wait this long for reporting to stop using the read model (kill its process: under make run, "
                        "the rebuild takes the read model before it is started again); default: refuse at once")
    parser.add_argument("--nats-url", help="one NATS URL or a comma-separated list, as the services take (default: REPORTING_NATS_URL, "
                        "or make run's nats-server, OSV_HOST and OSV_NATS_PORT, signed in as the services' user)")
    parser.add_argument("--feed", action="append", default=[], metavar="SERVICE=URL", help=f"with --from feeds: {FEED_HELP}")
    parser.add_argument("--token", help="with --from feeds: a bearer token for the feeds (an auditor's: `make token USER=auditor`); "
                        "without it, the services' own client credentials when OSV_AUTH_SERVICE_CLIENT_SECRET is set")
    args = parser.parse_args(argv)
    if args.source != "feeds" and (given := [option for option, value in (("--feed", args.feed), ("--token", args.token)) if value]):
        unread = "does not read it" if len(given) == 1 else "reads neither"
        parser.error(f"{' and '.join(given)} go{'es' if len(given) == 1 else ''} with --from feeds: the stream {unread} (add --from feeds to read the feeds)")
    if fault := token_fault(args.token):
        parser.error(f"--token {fault}")
    if not 0 <= args.wait <= 3600:
        parser.error("--wait takes seconds, from 0 to 3600")

    if args.database_url is None:
        try:
            args.database_url = default_database_url(settings)
        except RebuildError as error:
            print(f"rebuild: {error}; the read model: it is left as it was", file=sys.stderr)
            return 1
    made = NewSQLiteFile.of(args.database_url)
    engine = make_engine(args.database_url, rebuildable=True)
    in_use = ReadModelInUse(engine)
    code = 1
    try:
        if not taken_alone(in_use, args.wait):
            waited = f" for {args.wait:g}s" if args.wait else ""
            print(f"rebuild: reporting, or another rebuild, is using the read model {engine.url.render_as_string(hide_password=True)}"
                  f"{waited}: stop it first (it would answer from a read model emptied and filled again), or rebuild beside it "
                  "with --database-url; the read model: it is left as it was", file=sys.stderr)
            return 1
        code = _rebuild(parser, args, settings, engine, made)
    finally:  # Ctrl-C, parser.error (a --feed refused) included
        in_use.release()
        engine.dispose()
        if code != 0 and made is not None:
            made.remove()
    return code


def taken_alone(in_use: ReadModelInUse, wait: float) -> bool:
    """The read model taken for the rebuild, trying every 50 ms for up to ``wait`` seconds: under ``make run``, whose
    launcher starts reporting again within a second of its end, the rebuild takes it in between, and reporting, refused
    its start meanwhile, is started again once the rebuild ends."""
    deadline = time.monotonic() + wait
    if in_use.take_alone():
        return True
    if wait:
        print(f"rebuild: reporting is using the read model: waiting up to {wait:g}s for it to stop (stop its process)", file=sys.stderr)
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if in_use.take_alone():
            return True
    return False


def _rebuild(parser: argparse.ArgumentParser, args: argparse.Namespace, settings: ReportingSettings, engine: Engine, made: NewSQLiteFile | None) -> int:
    """:func:`main` once its arguments are read: the rebuild into ``engine``'s database, which ``made`` is when the run makes it; the exit status."""
    readmodel = ReadModel(engine, settings.checkpoint_every, settings.checkpoint_settle_seconds)
    cleared: list[bool] = []

    def ready(found: list[str], events: int) -> None:
        """Empty the read model only once every source answered: a rebuild that cannot start leaves it as it was.

        Every write service's source must be there: one missing (a stream deleted, a feed left out) would rebuild
        the read model without that service's facts.
        """
        if args.source == "stream":
            missing = [stream_name(settings.nats_stream, source) for source in ReadModel.sources
                       if stream_name(settings.nats_stream, source) not in found]
            where = "on the NATS server (REPORTING_NATS_STREAM?)"
        else:
            missing = [source for source in ReadModel.sources if source not in found]
            where = "in REPORTING_FEED_URLS"
        if missing:
            raise RebuildError(f"no {' nor '.join(missing)} {where}: the rebuild would leave its facts out")
        readmodel.clear()
        cleared.append(True)

    started = time.perf_counter()
    bar = ProgressBar(f"rebuild from {args.source}")
    try:
        if args.source == "stream":
            nats_url, origin = (args.nats_url, "given by --nats-url") if args.nats_url else default_nats_url(settings)
            try:
                count = rebuild_from_stream(readmodel, nats_url, settings.nats_stream, progress=bar, ready=ready)
            except StreamUnreadError as error:
                raise RebuildError(f"{error} (NATS at {nats_url}, {origin}: name the server with --nats-url or REPORTING_NATS_URL)") from None
        else:
            count = _rebuild_from_feeds(readmodel, settings, feeds_named(parser, args.feed), args.token, progress=bar, ready=ready)
    except (RebuildError, httpx.HTTPError) as error:
        bar.close()
        if made is not None:
            state = f"none is left ({made.path}, which this run made, is removed)"
        else:
            state = "it holds only part of the events: run the rebuild again" if cleared else "it is left as it was"
        print(f"rebuild: {_said(error)}; the read model: {state}", file=sys.stderr)
        return 1
    finally:
        bar.close()
    applied = time.perf_counter() - started
    checkpoints = readmodel.advance_checkpoints()
    elapsed = time.perf_counter() - started
    total = readmodel.report()["total"]
    made = "no checkpoint due" if not checkpoints else f"{checkpoints} checkpoint{'s' if checkpoints > 1 else ''} made"
    print(f"rebuilt {count} events in {applied:.2f}s ({count / applied if applied else 0:,.0f} events/s), "
          f"{made}, done in {elapsed:.2f}s; digest {readmodel.digest()}")
    print(f"total: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
