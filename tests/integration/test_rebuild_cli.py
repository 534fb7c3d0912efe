"""`python -m services.reporting.rebuild` as an operator runs it: a rebuild that cannot start leaves the read model as it was.

The command used to empty the read model first, then fail: a typo in the
stream prefix or a NATS server out of reach left reporting with nothing.
A real nats-server; the command in a process of its own, from another folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import nats
import pytest

from devtools.embedded import NatsServer
from services.reporting import fromfeeds as rebuilding
from services.reporting import streamreader
from services.reporting.views.readmodel import ReadModel
from shared.clientmessages import unreachable
from shared.views import make_engine
from tests.support.programmelog import cloudevent
from tests.support.system import eventually


def a_read_model_with_one_osv(path: Path) -> Path:
    readmodel = ReadModel(make_engine(f"sqlite:///{path}"))
    osv = "6f1c1f1e-7d4b-4e55-9b1a-1c2d3e4f5a6b"
    mapped = cloudevent("registry", 1, "OSVMapped", osv, datetime(2021, 3, 15, 14, tzinfo=timezone.utc),
                        osv_id=osv, name="Vecinos de Collique", district="Comas", zone="Lima Norte", mapped_on="2021-03-15")
    readmodel.apply([mapped])
    assert osvs_identified(path) == 1
    return path


def osvs_identified(path: Path) -> int:
    return int(ReadModel(make_engine(f"sqlite:///{path}")).report()["total"]["osvs_identified"])


def rebuild(database: Path, nats_url: str, tmp_path: Path, *arguments: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.reporting.rebuild", "--database-url", f"sqlite:///{database}", "--nats-url", nats_url, *arguments],
        env={**os.environ, "OSV_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **env},
        capture_output=True, text=True, timeout=120, cwd="/tmp",
    )


def nowhere() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"nats://127.0.0.1:{probe.getsockname()[1]}"


def test_a_stream_prefix_that_names_no_stream_is_refused_and_the_read_model_left_as_it_was(tmp_path: Path, nats_server: NatsServer) -> None:
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    done = rebuild(database, nats_server.url, tmp_path, REPORTING_NATS_STREAM="OSVV")  # a typo
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "rebuild: no OSVV_REGISTRY nor OSVV_FUNDING nor OSVV_ENGAGEMENT on the NATS server (REPORTING_NATS_STREAM?): "
        "the rebuild would leave its facts out; the read model: it is left as it was"
    )
    assert osvs_identified(database) == 1


def test_one_services_stream_missing_is_refused_by_name_and_the_read_model_left_as_it_was(tmp_path: Path, nats_server: NatsServer) -> None:
    async def two_of_three() -> None:
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        for service in ("funding", "engagement"):  # registry's stream deleted by mistake, or a store reset while it was stopped
            await js.add_stream(name=f"OSV_{service.upper()}", subjects=[f"osv.{service}.>"])
        await nc.close()

    asyncio.run(two_of_three())
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    done = rebuild(database, nats_server.url, tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("rebuild: no OSV_REGISTRY on the NATS server"), done.stderr[-400:]
    assert osvs_identified(database) == 1


def test_from_the_feeds_one_that_answers_but_not_as_a_feed_or_none_at_all_is_named_in_one_line(tmp_path: Path) -> None:
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    with a_web_page() as page:
        feeds = {"registry": page, "funding": page, "engagement": page}
        done = rebuild_from_feeds(database, tmp_path, REPORTING_FEED_URLS=json.dumps(feeds))
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-800:]
        assert done.stderr.strip().splitlines()[-1].startswith(f"rebuild: the registry feed at {page} did not answer as a feed (JSONDecodeError")
    done = rebuild_from_feeds(database, tmp_path, REPORTING_FEED_URLS="{}")
    assert done.stderr.strip().splitlines()[-1].startswith("rebuild: no registry nor funding nor engagement in REPORTING_FEED_URLS")
    assert osvs_identified(database) == 1


def rebuild_from_feeds(database: Path, tmp_path: Path, *arguments: str, **env: str) -> subprocess.CompletedProcess[str]:
    inherited = {name: value for name, value in os.environ.items() if name not in ("REPORTING_FEED_URLS", "OSV_AUTH_SERVICE_CLIENT_SECRET")}
    return subprocess.run(
        [sys.executable, "-m", "services.reporting.rebuild", "--from", "feeds", "--database-url", f"sqlite:///{database}", *arguments],
        env={**inherited, "OSV_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **env},
        capture_output=True, text=True, timeout=120, cwd="/tmp",
    )


def test_from_the_feeds_without_their_urls_it_reads_them_where_make_run_serves_them(tmp_path: Path) -> None:
    """``make run`` takes its ports from OSV_HOST and REGISTRY_PORT (and the rest), as osv-replay finds the feeds; the
    rebuild read 127.0.0.1:8001-8003 whatever they said (tester 154 F7)."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    with a_web_page() as page:
        port = page.rsplit(":", 1)[1]
        done = rebuild_from_feeds(database, tmp_path, OSV_HOST="127.0.0.1", REGISTRY_PORT=port)
    assert done.returncode == 1, done.stderr[-800:]
    assert done.stderr.strip().splitlines()[-1].startswith(f"rebuild: the registry feed at {page} did not answer as a feed"), done.stderr[-800:]
    with a_web_page() as page:
        done = rebuild_from_feeds(database, tmp_path, "--feed", f"registry={page}", REGISTRY_PORT=nowhere().rsplit(":", 1)[1])
    assert done.stderr.strip().splitlines()[-1].startswith(f"rebuild: the registry feed at {page} did not answer as a feed"), done.stderr[-800:]
    unused = nowhere().rsplit(":", 1)[1]
    done = rebuild_from_feeds(database, tmp_path, REGISTRY_PORT=unused)
    last = done.stderr.strip().splitlines()[-1]
    assert f"http://127.0.0.1:{unused}/events" in last and "(set by REGISTRY_PORT, as for `make run`)" in last, last
    assert osvs_identified(database) == 1


def test_from_the_feeds_one_out_of_reach_is_said_to_come_from_where_it_came_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tester 161 F11: with nothing set, a feed out of reach was said to be "set by" a variable nobody set: the defaults
    were used. A URL given by --feed was said to be the identity provider's, not answering."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    unused = nowhere().replace("nats://", "http://")
    done = rebuild_from_feeds(database, tmp_path, "--feed", f"registry={unused}")
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"rebuild: {unused}/events?limit=1 does not answer (ConnectError: ") and "(given by --feed)" in last, last
    assert osvs_identified(database) == 1

    for variable in ("REPORTING_FEED_URLS", "OSV_HOST", "REGISTRY_PORT", "FUNDING_PORT", "ENGAGEMENT_PORT"):
        monkeypatch.delenv(variable, raising=False)
    urls, origins = rebuilding.default_feeds()
    assert origins["registry"] == "where `make run` serves it, neither OSV_HOST nor REGISTRY_PORT being set", origins
    monkeypatch.setenv("OSV_HOST", "127.0.0.1")
    assert rebuilding.default_feeds()[1]["funding"] == "set by OSV_HOST, as for `make run`"
    monkeypatch.setenv("REPORTING_FEED_URLS", json.dumps(urls))
    assert rebuilding.default_feeds() == (urls, dict.fromkeys(urls, "set by REPORTING_FEED_URLS"))


def test_from_the_feeds_a_refusal_says_to_pass_a_token_and_the_token_passed_is_the_one_the_feeds_get(tmp_path: Path) -> None:
    """The feeds want a token with ``events:read``: the rebuild signed in only with the services' client secret, which
    an operator outside ``make run`` does not hold, and a refusal was httpx's two lines."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    with empty_feeds(wanting="an-auditors-token") as (url, seen):
        feeds = {"registry": url, "funding": url, "engagement": url}
        refused = rebuild_from_feeds(database, tmp_path, REPORTING_FEED_URLS=json.dumps(feeds))
        assert refused.returncode == 1, refused.stderr[-800:]
        last = refused.stderr.strip().splitlines()[-1]
        assert last.startswith(f"rebuild: {url}/events?limit=1 answered 401: a bearer token is needed"), last
        assert "pass --token with an auditor's access token: `make token USER=auditor`" in last, last
        assert last.endswith("the read model: it is left as it was"), last
        assert osvs_identified(database) == 1

        done = rebuild_from_feeds(database, tmp_path, "--token", "an-auditors-token", REPORTING_FEED_URLS=json.dumps(feeds))
    assert done.returncode == 0, done.stderr[-800:]
    assert done.stdout.startswith("rebuilt 0 events"), done.stdout
    assert ", no checkpoint due, done in " in done.stdout, done.stdout  # tester 47 F8: "0 checkpoints by 0.40s"
    assert seen == ["Bearer an-auditors-token"] * 6  # each feed's head, then its one page
    assert "an-auditors-token" not in done.stdout + done.stderr
    assert osvs_identified(database) == 0  # rebuilt from feeds that hold nothing

    issuer = nowhere().replace("nats://", "http://")
    done = rebuild_from_feeds(database, tmp_path, OSV_AUTH_ISSUER=issuer, OSV_AUTH_SERVICE_CLIENT_SECRET="the-services-secret")
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"rebuild: the identity provider (OSV_AUTH_ISSUER) does not answer at {issuer}/"), last


@contextmanager
def empty_feeds(wanting: str) -> Iterator[tuple[str, list[str]]]:
    """A feed that holds no event and answers only ``wanting``'s bearer token (401 otherwise), as the services' do; with
    the Authorization headers it was given."""
    seen: list[str] = []

    class Feed(Answering):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            given = self.headers.get("Authorization", "")
            if given != f"Bearer {wanting}":
                problem = {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": "a bearer token is needed"}
                self.answer(401, "application/json", json.dumps(problem).encode())
                return
            seen.append(given)
            self.answer(200, "application/json", json.dumps({"head": 0, "events": [], "next_after": 0}).encode())

    with serving(Feed) as url:
        yield url, seen


class Answering(BaseHTTPRequestHandler):
    """A handler that answers a whole body and logs nothing."""

    def answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on a free port of 127.0.0.1 in a thread: its base URL."""
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def a_web_page() -> Iterator[str]:
    """A server that answers every GET with an HTML page (a proxy's sign-in page, a wrong port)."""

    class Page(Answering):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self.answer(200, "text/html", b"<html><body>Sign in</body></html>")

    with serving(Page) as url:
        yield url


def test_a_nats_server_out_of_reach_is_named_in_one_line_and_the_read_model_left_as_it_was(tmp_path: Path) -> None:
    """The line names where the server's URL came from and how to name another (tester 161 F11: it named neither)."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    unused = nowhere()
    done = rebuild(database, unused, tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr[-800:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("rebuild: reading the stream failed: NatsUnreachableError: no NATS server took the connection"), last
    assert f"(NATS at {unused}, given by --nats-url: name the server with --nats-url or REPORTING_NATS_URL)" in last, last
    assert last.endswith("the read model: it is left as it was")
    assert osvs_identified(database) == 1

    done = subprocess.run(
        [sys.executable, "-m", "services.reporting.rebuild", "--database-url", f"sqlite:///{database}"],
        env={**os.environ, "REPORTING_NATS_URL": unused, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True, text=True, timeout=120, cwd="/tmp",
    )
    assert done.returncode == 1 and f"(NATS at {unused}, set by REPORTING_NATS_URL: " in done.stderr, done.stderr


def test_a_nats_server_that_refuses_the_user_is_named_by_its_refusal_and_no_password_is_printed(tmp_path: Path, nats_server: NatsServer) -> None:
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    address = nats_server.public_url.split("://", 1)[1]  # the server wants `osv`'s password
    done = rebuild(database, f"nats://osv:not-the-password-4f1e@{address}", tmp_path)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "NatsSignInRefusedError: the NATS server refused the sign-in (the last: " in last, done.stderr[-800:]  # "took no connection", before
    assert "Authorization Violation" in last and "Traceback" not in done.stderr, done.stderr[-800:]
    assert "not-the-password-4f1e" not in done.stderr + done.stdout
    assert osvs_identified(database) == 1


def test_a_reader_whose_applier_is_gone_ends_at_once_instead_of_waiting_on_a_full_pipe(nats_server: NatsServer) -> None:
    async def fill() -> None:
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        await js.add_stream(name="OSV_REGISTRY", subjects=["osv.registry.>"])
        for position in range(1, 6001):
            await js.publish(f"osv.registry.{position}", b"x" * 600)
        await nc.close()

    asyncio.run(fill())
    order = {"servers": [nats_server.url], "streams": [["OSV_REGISTRY", "osv.registry.>"]], "batch": 500}
    reader = subprocess.Popen([sys.executable, streamreader.__file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert reader.stdin is not None and reader.stdout is not None
    reader.stdin.write(json.dumps(order).encode())
    reader.stdin.close()
    kind, value = pickle.load(reader.stdout)
    assert (kind, value["messages"]) == (streamreader.TOTAL, 6000)
    reader.stdout.close()  # the applier is gone: killed, or crashed, with batches still to come
    eventually(lambda: reader.poll() is not None, timeout=60)
    assert reader.returncode == streamreader.APPLIER_GONE


Log = dict[int, "dict[str, object] | None"]
"""A service's log as its feed serves it: each position's CloudEvent, or ``None`` for a private event (no feed serves one)."""


@contextmanager
def a_feed(log: Log, head: int | None = None, dropping: tuple[int, ...] = (), twice: tuple[int, ...] = (), key: str | None = None) -> Iterator[str]:
    """A feed of ``log`` paged as the services page theirs (``next_after`` steps over private events too, each event
    carries its ``previousposition``), declaring ``head`` (by default its highest position), at ``/events`` alone
    (404 elsewhere); it takes any token. As a proxy in front of it might, it leaves out the events at ``dropping`` and
    serves those at ``twice`` twice, pages and head left as they were, and with a ``key`` answers 403 to a request
    without ``key=<key>`` in its query."""
    public = sorted(position for position, event in log.items() if event is not None)
    served = {position: {**log[position], "previousposition": ([0, *public])[index]}  # type: ignore[dict-item]
              for index, position in enumerate(public)}

    class Feed(Answering):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            path, query = urlsplit(self.path).path, parse_qs(urlsplit(self.path).query)
            if path != "/events":
                self.answer(404, "text/plain", f"no {path} here".encode())
                return
            if key is not None and query.get("key") != [key]:
                self.answer(403, "text/plain", b"a key is needed")
                return
            after, limit = int(query.get("after", ["0"])[0]), int(query.get("limit", ["100"])[0])
            positions = sorted(position for position in log if position > after)[:limit]
            events = [served[position] for position in positions if position in served and position not in dropping]
            events = [repeated for event in events for repeated in [event] * (2 if event["position"] in twice else 1)]
            page = {"after": after, "next_after": positions[-1] if positions else after, "head": max(log, default=0) if head is None else head,
                    "events": events}
            self.answer(200, "application/json", json.dumps(page).encode())

    with serving(Feed) as url:
        yield url


def osvs_mapped(source: str, *positions: int) -> Log:
    """``source``'s log: a private event at position 1 (as registry's and engagement's is), an OSV mapped at each of ``positions``."""
    moment = datetime(2021, 3, 15, 14, tzinfo=timezone.utc)
    return {1: None, **{position: cloudevent(source, position, "OSVMapped", f"osv-{position}", moment, osv_id=f"osv-{position}",
                                             name=f"OSV {position}", district="Comas", zone="Lima Norte", mapped_on="2021-03-15")
                        for position in positions}}


def digest(path: Path) -> str:
    return ReadModel(make_engine(f"sqlite:///{path}")).digest()


def test_from_the_feeds_another_services_feed_is_refused_by_name_and_the_read_model_left_as_it_was(tmp_path: Path) -> None:
    """Tester 47 F1: ``--feed funding=<registry's URL>`` exited 0, with a read model holding no funding fact. Only the
    head's page (``limit=1``) was checked, and registry's first position is a private event: that page held no event."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    before = digest(database)
    with a_feed(osvs_mapped("registry", 2, 3)) as registry, a_feed({}) as empty:
        feeds = {"registry": registry, "funding": empty, "engagement": empty}
        done = rebuild_from_feeds(database, tmp_path, "--feed", f"funding={registry}", REPORTING_FEED_URLS=json.dumps(feeds))
    assert done.returncode == 1, done.stdout + done.stderr[-800:]
    assert done.stderr.strip().splitlines()[-1] == (
        f"rebuild: the funding feed at {registry} serves registry's events, not funding's: give each service's own URL; "
        "the read model: it is left as it was"
    ), done.stderr[-800:]
    assert digest(database) == before


def test_from_the_feeds_a_feed_whose_events_turn_to_another_services_part_way_fails_saying_what_is_applied(tmp_path: Path) -> None:
    """Every event applied is checked, not only the first: one of another service's after the first page fails the rebuild."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    # the first page (1000 positions) is registry's, the second a funding event: the head's check has passed by then
    mixed = {**osvs_mapped("registry", *range(2, 1002)), **{position: event for position, event in osvs_mapped("funding", 1002).items() if event}}
    with a_feed(mixed) as registry, a_feed({}) as empty:
        feeds = {"registry": registry, "funding": empty, "engagement": empty}
        done = rebuild_from_feeds(database, tmp_path, REPORTING_FEED_URLS=json.dumps(feeds))
    assert done.returncode == 1, done.stdout + done.stderr[-800:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"rebuild: the registry feed at {registry} serves funding's events, not registry's"), last
    assert last.endswith("the read model: it holds only part of the events: run the rebuild again"), last


PARTNER_HINT = " (a partner's token reads its municipality's events alone: read the feeds with an auditor's)"
"""Tester 164 F8: read with a partner's token, the feed seemed to have holes, and the line blamed the feed."""


@pytest.mark.parametrize(("proxy", "said"), [
    ({"dropping": (150,)}, "left out position 150: the event at 151 follows it, and the last it served before was at 149: "
                           "a rebuild from it would lack events" + PARTNER_HINT),
    ({"dropping": (2,)}, "left out position 2: the event at 3 follows it, and it served none before: a rebuild from it would lack events"
                         + PARTNER_HINT),
    ({"twice": (150,)}, "served position 150 twice: a feed serves each position once, in order"),
])
def test_from_the_feeds_one_that_leaves_an_event_out_or_serves_one_twice_fails_naming_the_position(
    tmp_path: Path, proxy: dict[str, tuple[int, ...]], said: str
) -> None:
    """Tester 161 F2: a proxy dropping position 150 of registry's 289, the head left alone, rebuilt without a word, exit 0,
    with a wrong digest; one serving position 150 twice was counted twice in "rebuilt N events". Each event's
    ``previousposition`` tells the feed's hole."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    with a_feed(osvs_mapped("registry", *range(2, 290)), **proxy) as registry, a_feed({}) as empty:
        done = rebuild_from_feeds(database, tmp_path, REPORTING_FEED_URLS=json.dumps({"registry": registry, "funding": empty, "engagement": empty}))
    assert done.returncode == 1, done.stdout + done.stderr[-800:]
    assert done.stderr.strip().splitlines()[-1] == (
        f"rebuild: the registry feed at {registry} {said}; the read model: it holds only part of the events: run the rebuild again"
    ), done.stderr[-800:]

    with a_feed(osvs_mapped("registry", *range(2, 290))) as registry, a_feed({}) as empty:
        done = rebuild_from_feeds(database, tmp_path, REPORTING_FEED_URLS=json.dumps({"registry": registry, "funding": empty, "engagement": empty}))
    assert done.returncode == 0 and done.stdout.startswith("rebuilt 288 events"), done.stdout + done.stderr[-800:]


@contextmanager
def answering(page: dict[str, object]) -> Iterator[str]:
    """A feed that answers every GET with ``page``, whatever it is asked."""

    class Feed(Answering):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self.answer(200, "application/json", json.dumps(page).encode())

    with serving(Feed) as url:
        yield url


@pytest.mark.parametrize(("page", "said"), [
    ({"after": 0, "next_after": 0, "head": 10, "events": []}, "ended at position 0, short of the head 10 it declared: it holds fewer events than it said"),
    ({"after": 0, "next_after": 0, "head": 10**30, "events": []}, f"ended at position 0, short of the head {10**30} it declared"),
    ({"after": 0, "next_after": 0, "head": -1, "events": []}, "declared head -1: a feed's positions start at 1"),
    ({"after": 0, "next_after": -5, "head": 10, "events": []}, "answered next_after -5 after 0: a feed's positions only go forward"),
])
def test_from_the_feeds_one_that_holds_fewer_positions_than_it_declared_or_none_that_make_sense_is_refused(
    tmp_path: Path, page: dict[str, object], said: str
) -> None:
    """Tester 47 F2: a feed declaring head 10 and serving nothing rebuilt a read model of 0 OSVs, exit 0."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    with answering(page) as registry, a_feed({}) as empty:
        done = rebuild_from_feeds(database, tmp_path, REPORTING_FEED_URLS=json.dumps({"registry": registry, "funding": empty, "engagement": empty}))
    assert done.returncode == 1, done.stdout + done.stderr[-800:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"rebuild: the registry feed at {registry} {said}") and last.endswith("the read model: it is left as it was"), last
    assert osvs_identified(database) == 1


def test_from_the_feeds_one_that_ends_short_of_its_head_after_its_first_events_fails_saying_what_is_applied(tmp_path: Path) -> None:
    """The end is told by positions (``next_after`` reaching the head), as private events are left out of every feed."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    with a_feed(osvs_mapped("registry", 2, 3), head=5) as registry, a_feed(osvs_mapped("engagement"), head=1) as engagement, a_feed({}) as empty:
        done = rebuild_from_feeds(database, tmp_path, REPORTING_FEED_URLS=json.dumps({"registry": registry, "funding": empty, "engagement": engagement}))
    assert done.returncode == 1, done.stdout + done.stderr[-800:]
    last = done.stderr.strip().splitlines()[-1]
    assert last == (f"rebuild: the registry feed at {registry} ended at position 3, short of the head 5 it declared: it holds fewer events "
                    "than it said; the read model: it holds only part of the events: run the rebuild again"), last


NOT_FOUND_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
  <title>404 - Page not found</title>
</head>
<body>
  <h1>We are sorry...</h1>
  <p>Page not found</p>
  <p>""" + b"The page you asked for is not here. " * 20 + b"""</p>
</body>
</html>
"""


def test_from_the_feeds_a_url_that_answers_a_web_page_refusal_is_one_line_of_it(tmp_path: Path) -> None:
    """Tester 47 F7: the identity provider's URL given as a feed put its 404 page, nine lines of HTML, in the error."""

    class Page(Answering):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self.answer(404, "text/html", NOT_FOUND_PAGE)

    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    with serving(Page) as page:
        done = rebuild_from_feeds(database, tmp_path, REPORTING_FEED_URLS=json.dumps(dict.fromkeys(ReadModel.sources, page)))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    line = done.stderr.strip()
    assert line.startswith(f"rebuild: {page}/events?limit=1 answered 404: <!DOCTYPE html> <html lang=\"en\"> <head> <title>404 - Page not found"), line
    assert line.endswith("…; the read model: it is left as it was") and len(line) < 350, line


def test_a_token_copied_with_its_line_end_is_refused_up_front_and_never_printed(tmp_path: Path) -> None:
    """Tester 47 F4: ``--token "$TOKEN<newline>"`` printed httpx's "Illegal header value b'Bearer eyJ…'", the whole
    token, and told to start the services."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhdWRpdG9yIn0.c2lnbmF0dXJl"
    with a_feed({}) as empty:
        for given in (f"{token}\n", f"{token} ", f"Bearer {token}"):
            done = rebuild_from_feeds(database, tmp_path, "--token", given, REPORTING_FEED_URLS=json.dumps(dict.fromkeys(ReadModel.sources, empty)))
            assert done.returncode == 2, done.stdout + done.stderr
            assert "--token holds whitespace" in done.stderr and token not in done.stdout + done.stderr, done.stderr
    assert osvs_identified(database) == 1


def test_a_header_httpx_will_not_send_is_said_without_its_token_and_not_as_a_feed_to_start() -> None:
    """Whatever brings it there, httpx's error names the header value it refused, token and all: the line leaves it out."""
    with a_feed({}) as empty, httpx.Client(base_url=empty, headers={"Authorization": "Bearer eyJsecret.token\n"}) as client:
        with pytest.raises(httpx.LocalProtocolError) as raised:
            client.get("/events")
    said = unreachable(raised.value, {empty: "REGISTRY_PORT"})
    assert "eyJsecret" not in said and "Bearer …" in said and "start the services" not in said, said
    assert said.startswith(f"the request to {empty}/events could not be sent (LocalProtocolError: "), said


def with_password(url: str) -> str:
    return url.replace("http://", "http://auditor:s3cret-pw@")


def test_a_password_in_a_feeds_url_is_never_printed(tmp_path: Path) -> None:
    """Tester 161 F10: ``http://user:pw@host`` in REPORTING_FEED_URLS was printed whole in the one-line errors; the
    password is ``***`` now, as in the NATS URLs the services log."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    with a_web_page() as page, empty_feeds(wanting="an-auditors-token") as (refusing, _):
        for feed, said in ((nowhere().replace("nats://", "http://"), "does not answer"), (page, "did not answer as a feed"), (refusing, "answered 401")):
            done = rebuild_from_feeds(database, tmp_path, REPORTING_FEED_URLS=json.dumps(dict.fromkeys(ReadModel.sources, with_password(feed))))
            assert done.returncode == 1 and "s3cret-pw" not in done.stdout + done.stderr, done.stderr
            last = done.stderr.strip().splitlines()[-1]
            assert said in last and feed.replace("http://", "http://auditor:***@") in last, last
        done = rebuild_from_feeds(database, tmp_path, "--feed", f"registryy={with_password(page)}")
    assert done.returncode == 2 and "s3cret-pw" not in done.stderr and "auditor:***@" in done.stderr, done.stderr
    assert osvs_identified(database) == 1


def test_a_key_in_a_feeds_query_string_is_never_printed(tmp_path: Path) -> None:
    """A feed behind a proxy that wants a key in the URL (``?key=…``, kept on every request since tester 161 F12) had
    the key printed whole in the one-line errors; its value is ``***`` now, the other parameters as given."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    feed = nowhere().replace("nats://", "http://") + "/osv?api_key=k-s3cret-9&zone=norte"
    done = rebuild_from_feeds(database, tmp_path, REPORTING_FEED_URLS=json.dumps(dict.fromkeys(ReadModel.sources, feed)))
    assert done.returncode == 1 and "k-s3cret-9" not in done.stdout + done.stderr, done.stderr
    assert "/osv/events?api_key=***&zone=norte&limit=1 does not answer" in done.stderr.strip().splitlines()[-1], done.stderr
    assert osvs_identified(database) == 1


def test_feed_or_token_without_from_feeds_is_refused_rather_than_left_unread(tmp_path: Path) -> None:
    """Tester 47 F5: ``--feed`` was silently ignored by a rebuild from the stream, which an operator meant to leave alone.
    Tester 161 F12: ``--feed`` alone was said to be one of two the stream "reads neither" of."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    for arguments, said in ((["--feed", "registry=http://127.0.0.1:8001"], "--feed goes with --from feeds: the stream does not read it"),
                            (["--feed", "registry=http://127.0.0.1:8001", "--token", "t"], "--feed and --token go with --from feeds: the stream reads neither")):
        done = rebuild(database, nowhere(), tmp_path, *arguments)
        assert done.returncode == 2 and said in done.stderr.strip().splitlines()[-1], done.stderr
    assert osvs_identified(database) == 1


def test_from_the_feeds_a_feed_url_with_a_query_string_is_asked_its_events_with_the_query_kept(tmp_path: Path) -> None:
    """Tester 161 F12: ``http://proxy/?key=…`` was asked ``/?after=0&limit=1``, the ``/events`` path lost in the query
    httpx appended it to, and the query itself replaced by the page's."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    with a_feed(osvs_mapped("registry", 2, 3), key="k-1") as registry, a_feed({}, key="k-2") as empty:
        feeds = {"registry": f"{registry}?key=k-1", "funding": f"{empty}/?key=k-2", "engagement": f"{empty}?key=k-2"}
        done = rebuild_from_feeds(database, tmp_path, REPORTING_FEED_URLS=json.dumps(feeds))
    assert done.returncode == 0 and done.stdout.startswith(f"rebuilt 2 events into sqlite:///{database} in "), done.stdout  # tester 164 F9
    assert osvs_identified(database) == 2


@pytest.mark.parametrize("feeds", [
    {"registryy": "http://127.0.0.1:8001", "funding": "http://127.0.0.1:8002", "engagement": "http://127.0.0.1:8003"},
    {"registry": "http://127.0.0.1:8001", "funding": "http://127.0.0.1:8002", "engagement": "http://127.0.0.1:8003", "reporting": "http://127.0.0.1:8004"},
])
def test_from_the_feeds_a_key_of_reporting_feed_urls_that_names_no_write_service_is_refused_by_name(tmp_path: Path, feeds: dict[str, str]) -> None:
    """Tester 161 F12: ``registryy`` (a typo) was said to be missing registry's key, and ``reporting`` was left unread, in silence."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    done = rebuild_from_feeds(database, tmp_path, REPORTING_FEED_URLS=json.dumps(feeds))
    unknown = next(name for name in feeds if name not in ReadModel.sources)
    assert done.returncode == 1 and done.stderr == (
        f"rebuild: REPORTING_FEED_URLS is refused: {unknown!r} names no write service: its keys are registry, funding, engagement; "
        "the read model: it is left as it was\n"
    ), done.stderr
    assert osvs_identified(database) == 1


def test_from_the_feeds_a_service_given_two_feeds_is_refused_rather_than_the_last_kept(tmp_path: Path) -> None:
    """Tester 161 F12: two ``--feed registry=…`` kept the last one, in silence."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    with a_feed({}) as empty:
        done = rebuild_from_feeds(database, tmp_path, "--feed", f"registry={empty}", "--feed", "registry=http://127.0.0.1:8001",
                                  REPORTING_FEED_URLS=json.dumps(dict.fromkeys(ReadModel.sources, empty)))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith("error: --feed registry=… is given twice: give each service's URL once"), done.stderr
    assert osvs_identified(database) == 1


def test_a_port_that_takes_the_connection_but_is_not_nats_is_said_so_not_a_bare_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """An operator or auditor who gives ``--nats`` another program's port (an HTTP service's) was told ``out of reach
    (TimeoutError: )``: nats-py's timeout has no message (tester 231 F5). One try of one second, to keep the test short."""
    monkeypatch.setattr(streamreader, "CONNECT_ATTEMPTS", 1)
    monkeypatch.setattr(streamreader, "CONNECT_TIMEOUT_SECONDS", 1)

    async def attempt() -> streamreader.NatsUnreachableError:
        async def says_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(100)  # an HTTP server waits for a request; nats-py waits for the server's INFO

        server = await asyncio.start_server(says_nothing, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(streamreader.NatsUnreachableError) as refused:
                await streamreader.connect([f"nats://127.0.0.1:{port}"])
            return refused.value
        finally:
            server.close()

    error = asyncio.run(attempt())
    assert error.last == "TimeoutError: no NATS greeting within 1 s, is it a NATS server's client port (4222 unless set)?", error.last
    assert str(error).endswith(f"(the last: {error.last})")


def test_a_failed_rebuild_into_a_new_sqlite_file_leaves_no_file_behind(tmp_path: Path) -> None:
    """Tester 47 F6: it left a file of empty tables, while saying the read model "is left as it was"; the folder made
    for it goes too. A file that was there is never removed, and a rebuild that succeeds keeps the one it made."""
    new = tmp_path / "beside" / "new.db"
    with a_web_page() as page:
        done = rebuild_from_feeds(new, tmp_path, REPORTING_FEED_URLS=json.dumps(dict.fromkeys(ReadModel.sources, page)))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith(f"the read model: none is left ({new}, which this run made, is removed)"), done.stderr
    assert not new.parent.exists()

    with a_feed({}) as empty:
        done = rebuild_from_feeds(new, tmp_path, REPORTING_FEED_URLS=json.dumps(dict.fromkeys(ReadModel.sources, empty)))
    assert done.returncode == 0 and new.exists(), done.stderr
    with a_web_page() as page:
        done = rebuild_from_feeds(new, tmp_path, REPORTING_FEED_URLS=json.dumps(dict.fromkeys(ReadModel.sources, page)))
    assert done.returncode == 1 and done.stderr.strip().endswith("the read model: it is left as it was"), done.stderr
    assert new.exists()


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("REPORTING_FEED_URLS", "not json", "REPORTING_FEED_URLS is refused: not JSON (JSONDecodeError: "),
    ("REGISTRY_PORT", "abc", "REGISTRY_PORT is refused: Input should be a valid integer"),
    ("OSV_HOST", "", "OSV_HOST is refused: must be a host name or address alone"),
])
def test_from_the_feeds_a_variable_that_does_not_read_is_named_in_one_line(tmp_path: Path, variable: str, value: str, said: str) -> None:
    """Tester 47 F3: pydantic's traceback, tens of lines, instead of the variable to set right."""
    database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
    done = rebuild_from_feeds(database, tmp_path, **{variable: value})
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-800:]
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"rebuild: {said}"), done.stderr
    assert done.stderr.strip().endswith("the read model: it is left as it was") and osvs_identified(database) == 1


def test_named_no_nats_url_the_rebuild_reads_make_runs_nats_server_signed_in_as_the_services(tmp_path: Path) -> None:
    """Run as `python -m services.reporting.rebuild`, it went to port 4222 whatever `make run` served (tester 158 F12):
    only `make rebuild` built the URL, in the shell. Here a nats-server as `make run` keeps it (its accounts under
    `<OSV_VAR_DIR>/nats`) on another port, holding no stream: the rebuild reaches it, signs in and finds no stream."""
    server = NatsServer(tmp_path / "var" / "nats", port=0, http_port=None).start()
    try:
        database = a_read_model_with_one_osv(tmp_path / "readmodel.db")
        inherited = {name: value for name, value in os.environ.items() if not name.startswith(("REPORTING_", "OSV_"))}
        done = subprocess.run(
            [sys.executable, "-m", "services.reporting.rebuild", "--database-url", f"sqlite:///{database}"],
            env={**inherited, "OSV_VAR_DIR": str(tmp_path / "var"), "OSV_NATS_PORT": str(server.port),
                 "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            capture_output=True, text=True, timeout=120, cwd="/tmp",
        )
        assert done.returncode == 1, done.stderr
        assert "on the NATS server (REPORTING_NATS_STREAM?)" in done.stderr, done.stderr
        assert osvs_identified(database) == 1  # left as it was
        bad = subprocess.run(
            [sys.executable, "-m", "services.reporting.rebuild", "--database-url", f"sqlite:///{database}"],
            env={**inherited, "OSV_VAR_DIR": str(tmp_path / "var"), "OSV_NATS_PORT": "abc", "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            capture_output=True, text=True, timeout=120, cwd="/tmp",
        )
        assert bad.returncode == 1 and "OSV_NATS_PORT is refused" in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
    finally:
        server.stop()


def test_the_programme_only_counts_leave_the_read_model_as_it_is_so_an_auditors_rebuild_equals_the_streams() -> None:
    """Tester 164 F4: an auditor's feed leaves out `OSVDocumentsCounted`, which reporting counts nothing from but kept
    as a fact: a rebuild from it held 125 facts fewer than one from the stream, its digest another, and nothing said why."""
    at = datetime(2021, 3, 15, 14, tzinfo=timezone.utc)
    osv = "6f1c1f1e-7d4b-4e55-9b1a-1c2d3e4f5a6b"
    mapped = cloudevent("registry", 1, "OSVMapped", osv, at, osv_id=osv, name="Vecinos de Collique", district="Comas",
                        zone="Lima Norte", mapped_on="2021-03-15")
    counted = {**cloudevent("engagement", 3, "OSVDocumentsCounted", osv, at, osv_id=osv, counted_on="2021-03-15", board={}, members={"CE": 1}),
               "audience": "programme"}
    by_services, by_auditor = ReadModel(make_engine("sqlite://")), ReadModel(make_engine("sqlite://"))
    assert by_services.apply([mapped, counted]) == 2 and by_auditor.apply([mapped]) == 1
    assert by_services.digest() == by_auditor.digest()
    assert by_services.apply([counted]) == 0  # applied once all the same: the ledger has it
