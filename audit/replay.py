"""``osv-replay``: rebuild the report of a cut from the services' feeds alone, and print its digest.

    osv-replay --as-of 2021-12-31T23:59:59-05:00
    osv-replay --as-of 2021-12-31T23:59:59-05:00 --by zone --feed registry=http://127.0.0.1:8001 --token "$TOKEN" --json

Without ``--feed``, the feeds are where ``make run`` serves them (``OSV_HOST``, ``REGISTRY_PORT``, ``FUNDING_PORT``,
``ENGAGEMENT_PORT``), or reporting's ``REPORTING_FEED_URLS`` when set; a feed that does not answer is one line naming
its URL and where it came from: the variable that set it, ``--feed``, or a default when nothing did (exit 1).

It reads every event of each write service's ``GET /events`` (no NATS, no
reporting database), folds them into a read model of its own in a temporary
SQLite file, and computes the report as of the cut the way reporting does. Its
digest equals the ``digest`` reporting's ``GET /indicators?as_of=…`` answered
for the same cut, unless reporting or a feed says something else than the
events do. It also prints the chain heads the feeds' events carried
(``chainhash``), for ``osv-verify``. By zone, its zones are those of
reporting's districts table (``REPORTING_DISTRICTS_FILE``, else the shipped
one), as reporting's are: give it the file reporting runs with.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError
from pydantic_settings import SettingsError

from services.reporting.application import Reporting
from services.reporting.domain.indicators import Breakdown
from services.reporting.fromfeeds import FEED_HELP, RebuildError, feeds_named, rebuild_from_feeds
from services.reporting.settings import ReportingSettings
from services.reporting.views.readmodel import ReadModel
from shared.clientmessages import redacted, refusal, service_client, token_fault, unreachable
from shared.districts import DistrictsFileError, DistrictTable
from shared.schemas import EARLIEST_MOMENT, LATEST_MOMENT
from shared.settings import refused_setting
from shared.views import make_engine


def replay(
    feeds: Mapping[str, httpx.Client], as_of: datetime | None, by: Breakdown | None = None, districts: DistrictTable | None = None
) -> dict[str, Any]:
    """The report as of ``as_of`` (with its ``digest`` and ``heads``), rebuilt from the feeds (clients carry each base URL);
    ``districts``: reporting's table (the shipped one if None), whose zones a by-zone report shows."""
    with tempfile.TemporaryDirectory(prefix="osv-replay-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'replay.db'}", rebuildable=True)
        try:
            readmodel = ReadModel(engine, settle_seconds=0)
            rebuild_from_feeds(readmodel, feeds)
            return Reporting(readmodel, districts=districts).indicators(as_of=as_of, by=by)
        finally:
            engine.dispose()


def reporting_districts() -> DistrictTable:
    """Reporting's districts table: ``REPORTING_DISTRICTS_FILE``'s, else the shipped one. :class:`RebuildError` in one line
    naming the variable when it does not read (the settings check the file; one changed since is said as they say it)."""
    try:
        return ReportingSettings().districts_table()
    except (ValidationError, SettingsError) as error:
        raise RebuildError(refused_setting(error, (ReportingSettings,))) from None
    except DistrictsFileError as error:
        raise RebuildError(str(error)) from None


def parse_moment(text: str) -> datetime:
    """An RFC 3339 moment with its offset; argparse's ``ArgumentTypeError`` naming what is wrong with it otherwise."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a moment of the calendar: give one such as 2021-12-31T23:59:59-05:00"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no offset: give one, e.g. 2021-12-31T23:59:59-05:00")
    wall = moment.replace(tzinfo=None)  # compared before any conversion, which could overflow (0001-01-01, tester 36b F6)
    if not EARLIEST_MOMENT.replace(tzinfo=None) <= wall <= LATEST_MOMENT.replace(tzinfo=None):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not between {EARLIEST_MOMENT.date().isoformat()} and {LATEST_MOMENT.date().isoformat()}, as reporting's as_of must be"
        )
    return moment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="osv-replay", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--as-of", type=parse_moment, required=True, help="RFC 3339 moment with its offset: the cut, by recorded time")
    parser.add_argument("--by", choices=["zone", "district"], help="break the figures down, as GET /indicators?by= does")
    parser.add_argument("--feed", action="append", default=[], metavar="SERVICE=URL", help=FEED_HELP)
    parser.add_argument("--token", help="a bearer token for the feeds (an auditor's)")
    parser.add_argument("--json", action="store_true", help="print the whole report")
    args = parser.parse_args(argv)
    if fault := token_fault(args.token):
        parser.error(f"--token {fault}")
    if args.as_of > (now := datetime.now(timezone.utc)):
        parser.error(f"--as-of {args.as_of.isoformat()} is later than now ({now.isoformat(timespec='seconds')}): "
                     "what will be recorded by then is not known, as reporting's as_of says")

    try:
        urls, origins = feeds_named(parser, args.feed)
        districts = reporting_districts()
    except RebuildError as error:  # a variable that names them refused (REGISTRY_PORT=abc), or the districts file
        print(f"osv-replay: {redacted(str(error))}", file=sys.stderr)
        return 2
    if missing := [source for source in ReadModel.sources if source not in urls]:  # a digest of part of the programme (tester 160 F1)
        print(f"osv-replay: no {' nor '.join(missing)} in REPORTING_FEED_URLS (or --feed SERVICE=URL): the replay would leave "
              "its facts out", file=sys.stderr)
        return 2
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    clients = {name: service_client(url, headers=headers, timeout=60) for name, url in urls.items()}
    try:
        report = replay(clients, args.as_of, args.by, districts)
    except httpx.HTTPStatusError as error:
        print(f"osv-replay: {refusal(error)}", file=sys.stderr)
        return 2
    except httpx.TransportError as error:
        print(f"osv-replay: {unreachable(error, origins)}", file=sys.stderr)
        return 1
    except RebuildError as error:
        print(f"osv-replay: {redacted(str(error))}", file=sys.stderr)
        return 2
    finally:
        for client in clients.values():
            client.close()
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(f"as_of {report['as_of']}")
        for source, head in sorted(report["heads"].items()):
            print(f"head {source} {head['position']} {head['hash']}")
        print(f"digest {report['digest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
