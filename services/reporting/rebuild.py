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
import json
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.engine import Engine
from tqdm import tqdm

from services.reporting.fromfeeds import (
    FEED_HELP,
    Progress,
    Ready,
    RebuildError,
    _rebuild_from_feeds,
    default_database_url,
    default_nats_url,
    feeds_named,
    fewer_collections,
)
from services.reporting.inuse import ReadModelInUse
from services.reporting.settings import ReportingSettings
from services.reporting.streamreader import BATCH, DONE, TOTAL
from services.reporting.views.readmodel import ReadModel
from shared.auth import AuthSettings
from shared.clientmessages import redacted, refusal, token_fault
from shared.messaging import stream_name
from shared.settings import refused_setting
from shared.views import every_subject_of, json_loads, make_engine

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
        try:
            taken = taken_alone(in_use, args.wait)
        except KeyboardInterrupt:
            print("rebuild: stopped (Ctrl-C) while waiting for reporting; the read model: it is left as it was", file=sys.stderr)
            return 130
        if not taken:
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
    launcher starts reporting again within a second of its end, the rebuild takes it in between, and reporting, started
    again meanwhile, waits for the rebuild to end (:class:`~shared.errors.StartupWaitsError`)."""
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
    except (RebuildError, httpx.HTTPError, KeyboardInterrupt) as error:
        bar.close()
        if made is not None:
            state = f"none is left ({made.path}, which this run made, is removed)"
        else:
            state = "it holds only part of the events: run the rebuild again" if cleared else "it is left as it was"
        said = "stopped (Ctrl-C)" if isinstance(error, KeyboardInterrupt) else _said(error)
        print(f"rebuild: {said}; the read model: {state}", file=sys.stderr)
        return 130 if isinstance(error, KeyboardInterrupt) else 1
    finally:
        bar.close()
    applied = time.perf_counter() - started
    checkpoints = readmodel.advance_checkpoints()
    elapsed = time.perf_counter() - started
    total = readmodel.report()["total"]
    made = "no checkpoint due" if not checkpoints else f"{checkpoints} checkpoint{'s' if checkpoints > 1 else ''} made"
    print(f"rebuilt {count} events into {engine.url.render_as_string(hide_password=True)} in {applied:.2f}s "
          f"({count / applied if applied else 0:,.0f} events/s), "
          f"{made}, done in {elapsed:.2f}s; digest {readmodel.digest()}")
    print(f"total: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
