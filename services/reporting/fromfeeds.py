"""Where a rebuild of reporting's read model reads its events: the services' ``GET /events`` feeds, read here, and the
defaults that name them, the stream's server and the read model (``REPORTING_*`` settings, else where ``make run`` serves
them). :mod:`services.reporting.rebuild` runs it; ``osv-replay`` (:mod:`audit.replay`) reads the feeds the same way.

Every event applied must be of its feed's service and follow the one before it (its ``previousposition``: a hole, or
a position served twice, is refused), and each feed must reach the head it declared; a refusal is a
:class:`RebuildError`, its message one line.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsError

from services.reporting.settings import ReportingSettings
from services.reporting.views.readmodel import ReadModel
from shared.auth import AuthSettings, ServiceCredentials
from shared.clientmessages import origin_of, redacted, service_client, unreachable
from shared.events import SPEC_SOURCE_PREFIX
from shared.lifecycle import collect_less_often
from shared.settings import refused_setting

Progress = Callable[[int, int], None]
Ready = Callable[[list[str], int], None]
"""Called with the sources (streams, or feeds) found and the events they hold, before the first is applied."""


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


class RebuildError(RuntimeError):
    """The stream, or a feed, could not be read to its end; the message names why."""


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
                               f"{f'and the last it served before was at {last}' if last else 'and it served none before'}: a rebuild from it would lack events "
                               "(a partner's token reads its municipality's events alone: read the feeds with an auditor's)")
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
