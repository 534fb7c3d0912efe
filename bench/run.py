"""Throughput and latency of osv-platform, each figure beside a bare-library baseline.

    make bench            # full run, a million events (a part not started within 1080 s, --budget, is skipped)
    make bench QUICK=1    # the same table on small counts (bench/run.py --quick), under 3 minutes (--budget 150 s)

Everything runs for real on 127.0.0.1: a nats-server with JetStream
(``devtools.embedded.NatsServer``, as ``make run`` starts it), each service under
uvicorn in its own process, SQLite files in a temporary directory. The
baselines are measured in the same run on the same machine:

1. Commands/s through each write service's HTTP API (a few concurrent clients),
   each service served as ``make run`` serves it (its ``<SERVICE>_WORKERS``
   uvicorn workers; CPU counts them all, and each worker's share of it is shown:
   a keep-alive connection stays with the worker that accepted it, and the four
   clients' often all fall on one), beside plain ``eventsourcing``
   appends to an SQLite file, one per transaction;
   and the rate at which an import's rows (``osv_mapping``: a dry run, then the
   command, both keyed) become registry's commands. Each is then set against the
   combined bare ceiling ``1/(1/save loop + 1/bare FastAPI)`` (one bare save plus
   one bare request per command) measured beside it: the save loop and a bare
   FastAPI from one process, each run just before and just after the figure,
   their means counting (the machine's pace drifts within a run, see
   :class:`CeilingBeside`). The bare request is also shown served from as many
   workers as the services, and the section's end gives one ceiling for them all.
1b. Commands/s with 16 concurrent clients on SQLite (the services' store alone,
   registry's application in-process, ``POST /osvs``), where group commit shares
   one fsync among saves made at once, beside the same one-commit-per-save loop;
   the store and the application also with a commit per save, as before.
2. Rebuild events/s of reporting's read model from the NATS stream (a million
   events of a three-year programme by default; a second process reads the
   stream while the first applies), beside a raw read of the same stream by the
   same pull consumer in one process; the decoding reads and a raw read of an ``eventsourcing`` notification
   log on the first 100,000 events. Filling the stream is not measured: it goes
   out with an ack asked for one message in 500 (:func:`publish_all`).
2b. Reports as of random moments on that rebuilt read model (p50/p99), beside a
   bare ``sqlite3`` count of the facts recorded by the same moments; by zone on
   the first 20 of those moments, beside a bare ``GROUP BY``.
3. Command-to-indicator latency: ``POST /osvs`` answered 201 until reporting's
   ``GET /indicators`` counts the new OSV.

Every API wants a token, as in production: the bench starts its own identity
provider (``devtools.identity``, in the temporary directory) and sends a
``lead``'s token, fetched again before each part so a long run never outlives it.

Under the table the run lists the wall time of each part and step, so a
slow run shows where its time went.

Not part of the test suite. Every process it starts is stopped on the way out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import nats  # noqa: E402
from eventsourcing.application import Application  # noqa: E402
from eventsourcing.domain import Aggregate, event  # noqa: E402
from nats.js.api import ConsumerConfig, DeliverPolicy  # noqa: E402

from devtools.embedded import NatsServer, free_port  # noqa: E402
from devtools.identity import SERVICE_CLIENT, IdentityProvider  # noqa: E402
from services.funding.domain.grants import GrantKind, grant_fund  # noqa: E402
from services.funding.domain.phases import Phase  # noqa: E402
from services.funding.events import catalogue as funding_catalogue  # noqa: E402
from services.registry.domain.osvs import OSV  # noqa: E402
from services.registry.events import catalogue as registry_catalogue  # noqa: E402
from services.reporting import exports  # noqa: E402
from services.reporting.domain.tally import report  # noqa: E402
from services.reporting.rebuild import rebuild_from_stream  # noqa: E402
from services.reporting.views.readmodel import ReadModel  # noqa: E402
from services.reporting.views.tables import CheckpointRow  # noqa: E402
from shared.districts import DistrictTable  # noqa: E402
from shared.events import (  # noqa: E402
    SPEC_SOURCE_PREFIX,
    decode,
    encode,
    subject_of_cloudevent,  # noqa: E402
)
from shared.lifecycle import collect_less_often  # noqa: E402
from shared.messaging import ensure_stream, stream_name, stream_subjects  # noqa: E402
from shared.money import Currency  # noqa: E402
from shared.settings import ServiceSettings  # noqa: E402
from shared.views import make_engine  # noqa: E402

STREAM = "OSV"
"""The services' stream prefix: each write service publishes to ``OSV_<SERVICE>`` (shared/messaging.py), reporting reads them all."""
CONTEXT_SAMPLE = 100_000
"""Events the rebuild's context rows read (the decoding reads, the eventsourcing log): their rates, on a sample."""
APPLY_SAMPLE = 100_000
"""Events ``ReadModel.apply`` alone and its SQLAlchemy Core baseline insert (the first ones published)."""
SERVICES = ("registry", "funding", "engagement")
MEMBERS_AN_OSV = 20
"""Members registered into each OSV by the bench's second engagement figure (the field's OSVs count 10-30)."""
HOST = "127.0.0.1"
DISTRICTS = [d.name for d in DistrictTable.of_lima().districts]
ZONES = {d.name: d.zone for d in DistrictTable.of_lima().districts}
UBIGEOS = {d.name: d.ubigeo for d in DistrictTable.of_lima().districts}
SLOW_STOPS: list[str] = []


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    value: str = ""
    baseline: str = ""
    baseline_value: str = ""
    ratio: str = ""


@dataclass
class Table:
    sections: list[tuple[str, list[Row]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def section(self, title: str) -> list[Row]:
        rows: list[Row] = []
        self.sections.append((title, rows))
        return rows

    def render(self) -> str:
        header = Row("figure", "osv-platform", "bare-library baseline (same run)", "baseline", "platform/baseline")
        every = [header] + [r for _, rows in self.sections for r in rows]
        widths = [max(len(getattr(r, name)) for r in every) for name in ("figure", "value", "baseline", "baseline_value", "ratio")]

        def line(r: Row) -> str:
            cells = (r.figure, r.value, r.baseline, r.baseline_value, r.ratio)
            out = [cells[0].ljust(widths[0]), cells[1].rjust(widths[1]), cells[2].ljust(widths[2]), cells[3].rjust(widths[3]), cells[4].rjust(widths[4])]
            return "  ".join(out).rstrip()

        rule = "-" * len(line(Row(*("x" * w for w in widths))))
        lines = [rule, line(header), rule]
        for title, rows in self.sections:
            lines.append(f"[{title}]")
            lines.extend(line(r) for r in rows)
            lines.append("")
        lines[-1] = rule
        if self.notes:
            lines.append("Notes:")
            lines.extend(f"  - {n}" for n in self.notes)
        return "\n".join(lines)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def fmt_rate(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}"


def fmt_ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else ""


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def say(message: str) -> None:
    """Progress goes to stderr; only the table goes to stdout."""
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


WALL: list[tuple[int, str, float]] = []
"""(depth, step, wall seconds) of each timed step, in the order they started: where the run's time went."""
_DEPTH = [0]


@contextlib.contextmanager
def step(name: str) -> Iterator[None]:
    """Time the wall seconds of one step of the run (steps nest); said on stderr, listed under the table."""
    depth, slot = _DEPTH[0], len(WALL)
    WALL.append((depth, name, float("nan")))
    _DEPTH[0] += 1
    started = time.perf_counter()
    try:
        yield
    finally:
        _DEPTH[0] = depth
        seconds = time.perf_counter() - started
        WALL[slot] = (depth, name, seconds)
        say(f"  {name}: {seconds:.1f}s")


def wall_times(at_least: float = 0.5) -> str:
    """The steps' wall times as an indented list; steps under ``at_least`` seconds left out."""
    return "\n".join(f"  {'  ' * depth}{name}: {seconds:,.1f} s" for depth, name, seconds in WALL if seconds >= at_least)


# --------------------------------------------------------------------------
# Signing in
# --------------------------------------------------------------------------

SIGNED_IN: dict[str, Any] = {"env": {}, "headers": {}}
"""The bench's provider's settings for the services (``env``) and a lead's ``Authorization`` header (``headers``)."""


def sign_in(provider: IdentityProvider) -> None:
    """Point the services at ``provider`` and take a fresh lead's token (each part of the run calls it again)."""
    SIGNED_IN["env"] = {"OSV_AUTH_ISSUER": provider.issuer, "OSV_AUTH_SERVICE_CLIENT_SECRET": provider.client_secret(SERVICE_CLIENT)}
    SIGNED_IN["headers"] = {"Authorization": f"Bearer {provider.token('lead')}"}


def headers() -> dict[str, str]:
    return dict(SIGNED_IN["headers"])


# --------------------------------------------------------------------------
# Real processes
# --------------------------------------------------------------------------


def configured_workers(name: str) -> int:
    """The processes ``make run`` serves the service from (its settings' ``workers``, ``<SERVICE>_WORKERS``); 1 for others."""
    from deploy.run_local import SERVICES

    return next((getattr(settings(), "workers", 1) for known, _, settings in SERVICES if known == name), 1)


class ServiceProcess:
    """One service under uvicorn in a child process, configured by its env prefix.

    ``workers``: uvicorn's ``--workers``; by default as ``make run`` serves the service (:func:`configured_workers`).
    """

    def __init__(
        self,
        name: str,
        var_dir: Path,
        nats_url: str,
        log_dir: Path,
        extra_env: dict[str, str] | None = None,
        factory: str | None = None,
        workers: int | None = None,
    ) -> None:
        self.name = name
        self.workers = workers if workers is not None else configured_workers(name)
        self.factory = factory or f"services.{name}.api:create_app"
        self.port = free_port(HOST)
        self.url = f"http://{HOST}:{self.port}"
        prefix = name.upper()
        self.env = {
            **os.environ,
            f"{prefix}_VAR_DIR": str(var_dir),
            f"{prefix}_NATS_URL": nats_url,
            f"{prefix}_PORT": str(self.port),
            **SIGNED_IN["env"],
            **(extra_env or {}),
        }
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self, timeout: float = 45.0) -> ServiceProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        command = [
            sys.executable, "-m", "uvicorn", self.factory, "--factory",
            "--host", HOST, "--port", str(self.port), "--log-level", "warning",
        ] + (["--workers", str(self.workers)] if self.workers > 1 else [])
        self.proc = subprocess.Popen(command, env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.proc.returncode} while starting:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /health within {timeout:.0f}s:\n{self.log_tail()}")

    @property
    def proc_pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            started = time.perf_counter()
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                SLOW_STOPS.append(f"{self.name} ignored SIGTERM for 15 s and was killed")
            else:
                if time.perf_counter() - started > 5:
                    SLOW_STOPS.append(f"{self.name} took {time.perf_counter() - started:.1f}s to stop on SIGTERM")
        if self._log is not None:
            self._log.close()
            self._log = None

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/health", timeout=5.0).json()


@contextlib.contextmanager
def service(name: str, var_dir: Path, nats_url: str, log_dir: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess(name, var_dir, nats_url, log_dir)
    try:
        yield process.start()
    finally:
        process.stop()


@contextlib.contextmanager
def nats_server(store_dir: Path, sync_always: bool = True) -> Iterator[NatsServer]:
    server = NatsServer(store_dir, port=0, http_port=None, sync_always=sync_always)
    try:
        yield server.start()
    finally:
        server.stop()


def eventually(check: Callable[[], bool], timeout: float, interval: float = 0.02, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not met within {timeout:.0f}s")
        time.sleep(interval)


# --------------------------------------------------------------------------
# 1. Commands per second
# --------------------------------------------------------------------------


class Thing(Aggregate):
    """The trivial aggregate of the bare-library baselines."""

    @event("Created")
    def __init__(self, n: int) -> None:
        self.n = n


def es_sqlite_app(path: Path) -> Application:
    return Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)})


def process_tree_cpu(pid: int | None) -> dict[int, float]:
    """CPU seconds (user + system) used so far by a child process and by each process under it (uvicorn's workers), by pid."""
    if pid is None:
        return {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
    tree, grown = {pid}, True
    while grown:
        under = {child for child, fields in stats.items() if int(fields[1]) in tree} - tree
        tree |= under
        grown = bool(under)
    ticks = os.sysconf("SC_CLK_TCK")
    return {member: (int(stats[member][11]) + int(stats[member][12])) / ticks for member in tree if member in stats}


def proc_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) a child process and the processes under it (uvicorn's workers) have used so far."""
    return sum(process_tree_cpu(pid).values())


def busiest_shares(before: dict[int, float], after: dict[int, float]) -> list[float]:
    """Each process's share of the CPU the tree used between two readings of :func:`process_tree_cpu`, busiest first;
    processes that used under 1% (uvicorn's supervisor, multiprocessing's resource tracker) left out."""
    used = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
    total = sum(used.values())
    if total <= 0:
        return []
    return sorted((share for share in (u / total for u in used.values()) if share >= 0.01), reverse=True)


@dataclass
class Baseline:
    per_second: float
    cpu_per_command: float


STORE_SAVES = 2000
"""Saves timed at least, in the save loop and the store's own runs: a hundred take 40 ms, too short to time steadily."""


def baseline_appends(tmp: Path, count: int) -> Baseline:
    """Plain eventsourcing: create and save a trivial aggregate, one per transaction."""
    app = es_sqlite_app(tmp / "baseline-appends.db")
    try:
        for i in range(20):
            app.save(Thing(n=-i))
        cpu, started = time.process_time(), time.perf_counter()
        for i in range(count):
            app.save(Thing(n=i))
        seconds = time.perf_counter() - started
        return Baseline(rate(count, seconds), (time.process_time() - cpu) / count)
    finally:
        app.close()


Beside = tuple[float, tuple[Baseline, Baseline], tuple[Baseline, Baseline]]
"""A figure's commands/s, and its ceiling's (save loop, bare FastAPI) measured just before and just after it."""


class CeilingBeside:
    """The two baselines of the combined ceiling, measured again beside each command figure of section 1.

    On a shared two-core machine the pace drifts within a run: in four quick
    runs within twenty minutes the section's one ceiling went 854-1,038 cmd/s
    and registry's ratio 0.51-0.74, its service CPU unchanged. Each figure is
    set against the save loop (``saves`` appends) and a bare FastAPI (``count``
    requests from ``concurrency`` clients, one uvicorn process, the same client
    as the figures) run just before and just after it. The bare API is started
    once, at the first measure, and stopped by :meth:`close`.
    """

    def __init__(self, tmp: Path, saves: int, count: int, concurrency: int, warmup: int) -> None:
        self.tmp, self.saves, self.count, self.concurrency, self.warmup = tmp, saves, count, concurrency, warmup
        self.bare: ServiceProcess | None = None
        self.runs = 0

    def measure(self) -> tuple[Baseline, Baseline]:
        """(save loop, bare FastAPI) now: each its rate and CPU per command."""
        if self.bare is None:
            self.bare = ServiceProcess("bare", self.tmp, "", self.tmp, factory="bench.bare_api:create_app", workers=1).start()
            drive(self.bare.url, "/osvs", osv_body, max(self.warmup, self.count), self.concurrency)  # a first run is slower
        self.runs += 1
        folder = self.tmp / f"ceiling-beside-{self.runs}"  # a fresh file each time, as the first save loop's
        folder.mkdir()
        save_loop = baseline_appends(folder, self.saves)
        run = drive(self.bare.url, "/osvs", osv_body, self.count, self.concurrency, self.bare.proc_pid)
        return save_loop, Baseline(run.per_second, run.cpu_service)

    def close(self) -> None:
        if self.bare is not None:
            self.bare.stop()
            self.bare = None


def map_as_the_route_does(app: Any, i: int) -> None:
    """``POST /osvs``'s own worker-thread function (:func:`services.registry.api.mapped`) on a parsed body: command and answer."""
    from services.registry.api import mapped
    from services.registry.schemas import OSVCreate

    mapped(OSVCreate(name=f"OSV {i}", district=DISTRICTS[i % len(DISTRICTS)], mapped_on=date(2021, 3, 15)), app)


def registry_in_process(tmp: Path, count: int) -> float:
    """Registry's application alone, as ``POST /osvs`` uses it (:func:`map_as_the_route_does`): commands/s."""
    from services.registry.application import Registry
    from shared.store import persistence_env

    app = Registry(persistence_env(f"sqlite:///{tmp / 'registry-in-process.db'}"))
    try:
        started = time.perf_counter()
        for i in range(count):
            map_as_the_route_does(app, i)
        return rate(count, time.perf_counter() - started)
    finally:
        app.close()


def funding_in_process(tmp: Path, count: int) -> float:
    """Funding's application alone, as ``POST /grants`` uses it (its worker-thread function, :func:`services.funding.api.granted`),
    a grant to each of ``count`` OSVs: commands/s.

    One grant per OSV, as programmes give them: each OSV's support history stays short.
    """
    from services.funding.api import granted
    from services.funding.application import Funding
    from services.funding.schemas import GrantCreate
    from shared.store import persistence_env
    from shared.views.osvdirectory import OSVDirectory

    directory = OSVDirectory(make_engine(f"sqlite:///{tmp / 'funding-in-process-views.db'}", rebuildable=True), "funding")
    osvs = [OSV(name=f"OSV {i}", district="Comas", zone="Lima Norte", mapped_on=date(2021, 3, 15), kind=None) for i in range(count)]
    directory.apply([registry_catalogue.to_cloudevent(i + 1, osv.collect_events()[0]) for i, osv in enumerate(osvs)])
    app = Funding(persistence_env(f"sqlite:///{tmp / 'funding-in-process.db'}"), osvs=directory)
    try:
        started = time.perf_counter()
        for osv in osvs:
            granted(GrantCreate(osv_id=osv.id, amount=Decimal("1500.00"), currency=Currency.PEN, granted_on=date(2021, 10, 20),
                                kind=GrantKind.SEED_FUND), app)
        return rate(count, time.perf_counter() - started)
    finally:
        app.close()
        directory.engine.dispose()


def in_threads(threads: int, count: int, command: Callable[[int], None]) -> tuple[float, list[str]]:
    """Run ``command(i)`` for i in 0..count-1 from ``threads`` threads at once: seconds taken, and the failures."""
    indexes = iter(range(count))
    failures: list[str] = []

    def work() -> None:
        for i in indexes:
            try:
                command(i)
            except Exception as error:  # noqa: BLE001 - counted and shown, the run goes on
                failures.append(f"{type(error).__name__}: {str(error)[:200]}")

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started, failures


@dataclass
class StoreRun:
    per_second: float
    saves_per_commit: float
    failures: list[str]


def store_env(path: Path, saves_per_commit: int | None) -> dict[str, str]:
    """The services' own store on an SQLite file (hash chain, group commit); ``saves_per_commit`` 1: a commit per save."""
    from shared.store import persistence_env

    env = persistence_env(f"sqlite:///{path}")
    if saves_per_commit is not None:
        env["SQLITE_MAX_SAVES_PER_COMMIT"] = str(saves_per_commit)
    return env


def saves_per_commit(app: Application, commits_before: int, saves_before: int) -> float:
    recorder: Any = app.recorder
    commits = getattr(recorder, "commits", 0) - commits_before
    return (getattr(recorder, "saves_committed", 0) - saves_before) / commits if commits else float("nan")


def store_in_threads(tmp: Path, count: int, threads: int, saves_per_commit_at_most: int | None = None) -> StoreRun:
    """The services' store (hash chain; group commit unless ``saves_per_commit_at_most`` is 1), ``threads`` threads saving the trivial aggregate."""
    app = Application(env=store_env(tmp / f"store-{threads}-{saves_per_commit_at_most}.db", saves_per_commit_at_most))
    try:
        for i in range(20):
            app.save(Thing(n=-i))
        recorder: Any = app.recorder
        before = getattr(recorder, "commits", 0), getattr(recorder, "saves_committed", 0)
        seconds, failures = in_threads(threads, count, lambda i: app.save(Thing(n=i)))
        return StoreRun(rate(count, seconds), saves_per_commit(app, *before), failures)
    finally:
        app.close()


def registry_in_threads(tmp: Path, count: int, threads: int, saves_per_commit_at_most: int | None = None) -> StoreRun:
    """Registry's application alone, as ``POST /osvs`` uses it (:func:`map_as_the_route_does`), from ``threads`` threads: commands/s."""
    from services.registry.application import Registry

    app = Registry(store_env(tmp / f"registry-in-process-{threads}-{saves_per_commit_at_most}.db", saves_per_commit_at_most))
    try:
        recorder: Any = app.recorder

        def command(i: int) -> None:
            map_as_the_route_does(app, i)

        for i in range(10):  # warm-up, untimed
            command(count + i)
        before = getattr(recorder, "commits", 0), getattr(recorder, "saves_committed", 0)
        seconds, failures = in_threads(threads, count, command)
        return StoreRun(rate(count - len(failures), seconds), saves_per_commit(app, *before), failures)
    finally:
        app.close()


def engagement_app(tmp: Path, name: str) -> Any:
    """Engagement's application as its bootstrap builds it (encrypted store, key ring, document index), on SQLite files under ``tmp``."""
    from services.engagement.bootstrap import bootstrap
    from services.engagement.settings import EngagementSettings

    settings = EngagementSettings(var_dir=tmp / name, index_key_file=tmp / name / "index.key")
    runtime = bootstrap(settings)
    return runtime.make_application(runtime.application_env())


def known_osvs(app: Any, count: int) -> list[OSV]:
    """``count`` OSVs mapped in Comas, applied to the application's local view of registry's OSVs."""
    osvs = [OSV(name=f"OSV {i}", district="Comas", zone="Lima Norte", mapped_on=date(2021, 3, 15), kind=None) for i in range(count)]
    app.osvs.apply([registry_catalogue.to_cloudevent(i + 1, osv.collect_events()[0]) for i, osv in enumerate(osvs)])
    return osvs


def register(app: Any, osv_id: uuid.UUID, i: int) -> None:
    """``POST /members`` as the route runs it, in process: its worker-thread function (:func:`services.engagement.api.registered`)
    on a parsed body, the command and its answer (the member as saved, not read back)."""
    from services.engagement.api import registered
    from services.engagement.domain.memberrules import Sex
    from services.engagement.schemas import MemberCreate

    registered(MemberCreate(
        osv_id=osv_id, full_name=f"Persona de prueba {i}", **member_document(i), sex=Sex.F if i % 2 else Sex.M,
        joined_on=date(2021, 10, 5), birth_year=1980 + i % 30,
    ), app)


def member_document(i: int) -> dict[str, Any]:
    """The ``i``-th bench member's nationality and document: two Venezuelans with a CE, then a Peruvian with a DNI (a CE
    is a foreigner's card: 422 ``document_for_foreigners`` with PE)."""
    if i % 3:
        return {"nationality": "VE", "document_type": "CE", "document_number": f"{100000000 + i}"}
    return {"nationality": "PE", "document_type": "DNI", "document_number": f"{10000000 + i}"}


def engagement_in_process(tmp: Path, count: int) -> float:
    """Engagement's application alone, as POST /members uses it, one member to each of ``count`` OSVs: commands/s."""
    app = engagement_app(tmp, "engagement-in-process")
    try:
        osvs = known_osvs(app, count)
        started = time.perf_counter()
        for i, osv in enumerate(osvs):
            register(app, osv.id, i)
        return rate(count, time.perf_counter() - started)
    finally:
        app.close()


def one_osv_growing(tmp: Path, count: int, window: int) -> tuple[Any, ...]:
    """1,000 grants to one OSV, 1,000 members of one OSV and 1,000 follow-up meetings with one OSV, in process: each one's
    command rate (median) over a fresh OSV's first ``window`` commands and over the grown OSV's last ``window`` (up to the
    ``count``-th), timed alternately: (grants first, grants last, members first, members last, meetings first, meetings
    last, then each one's (first, last) mean CPU ms per command).

    An OSV's support history, roster and follow-up gain an event with each; a command that replayed them from the
    first would slow down as they grow (a follow-up's meetings each unsealed with a key of their own). The two
    windows alternate command by command, in the same store: another process's burst of work on a shared machine
    slows both alike (timed one after the other, the same code gave ratios from 0.53 to 1.76).
    """
    from services.engagement.domain.followup import ActionItemDraft, MeetingMode, MeetingTopic
    from services.funding.api import granted
    from services.funding.application import Funding
    from services.funding.schemas import GrantCreate
    from shared.store import persistence_env
    from shared.views.osvdirectory import OSVDirectory

    def timed(run: Callable[[Any, int], None], grown: Any, fresh: Any) -> tuple[float, float]:
        """``grown`` takes ``count - window`` commands untimed; then ``window`` commands each to ``fresh`` and to ``grown``,
        alternately: commands per second of each, from its median command's time."""
        for i in range(count - window):
            run(grown, i)
        first: list[float] = []
        last: list[float] = []
        cpu_first: list[float] = []
        cpu_last: list[float] = []
        for k in range(window):
            for target, i, seconds, cpu in ((fresh, count + k, first, cpu_first), (grown, count - window + k, last, cpu_last)):
                started, cpu_started = time.perf_counter(), time.process_time()
                run(target, i)
                seconds.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
        cpu_ms.append((sum(cpu_first) / window * 1000, sum(cpu_last) / window * 1000))
        return 1 / statistics.median(first), 1 / statistics.median(last)

    cpu_ms: list[tuple[float, float]] = []

    directory = OSVDirectory(make_engine(f"sqlite:///{tmp / 'one-osv-views.db'}", rebuildable=True), "funding")
    osvs = [OSV(name=f"OSV de mil {k}", district="Comas", zone="Lima Norte", mapped_on=date(2021, 3, 15), kind=None) for k in (1, 2)]
    directory.apply([registry_catalogue.to_cloudevent(k + 1, osv.collect_events()[0]) for k, osv in enumerate(osvs)])
    funding = Funding(persistence_env(f"sqlite:///{tmp / 'one-osv-funding.db'}"), osvs=directory)
    try:
        grants = timed(lambda osv, i: granted(GrantCreate(  # POST /grants' own worker-thread function
            osv_id=osv.id, amount=Decimal(100 + i), currency=Currency.PEN, granted_on=date(2021, 10, 20) + timedelta(days=i % 300),
            kind=GrantKind.GOODS,  # each amount another: the same grant again would be a possible duplicate (409)
        ), funding) and None, *osvs)
    finally:
        funding.close()
        directory.engine.dispose()
    engagement = engagement_app(tmp, "one-osv-engagement")
    try:
        grown, fresh, for_meetings, fresh_for_meetings = known_osvs(engagement, 4)
        members = timed(lambda osv, i: register(engagement, osv.id, i), grown, fresh)
        held_on = date(2021, 4, 1)  # the i-th meeting i days after: a second in-person meeting the same day would be a
        # possible duplicate (409), and each meeting's action is due a month after it

        meetings = timed(lambda osv, i: engagement.hold_meeting(
            osv.id, held_on + timedelta(days=i), MeetingMode.IN_PERSON, [MeetingTopic.PROJECT_FOLLOW_UP],
            notes=f"Reunión {i}: la junta revisó el avance del mural",
            action_items=[ActionItemDraft("Cotizar pintura", "Tesorería", held_on + timedelta(days=i + 30))],
        ) and None, for_meetings, fresh_for_meetings)
    finally:
        engagement.close()
    return (*grants, *members, *meetings, *cpu_ms)


ONE_OSV_COMMANDS = 1_000
ONE_OSV_WINDOW = 100


def add_one_osv_growing(tmp: Path, rows: list[Row]) -> None:
    """Rows: the command rate at the 1,000th grant to one OSV (1,000th member, 1,000th follow-up meeting) against its first ones' (target >= 0.8)."""
    say(f"in process: {ONE_OSV_COMMANDS:,} grants to one OSV, {ONE_OSV_COMMANDS:,} members of one OSV, {ONE_OSV_COMMANDS:,} meetings with one OSV")
    (grants_first, grants_last, members_first, members_last, meetings_first, meetings_last,
     grants_cpu, members_cpu, meetings_cpu) = one_osv_growing(tmp, ONE_OSV_COMMANDS, ONE_OSV_WINDOW)
    for label, first, last, (cpu_first, cpu_last) in (
        ("grants to one OSV", grants_first, grants_last, grants_cpu), ("members of one OSV", members_first, members_last, members_cpu),
        ("follow-up meetings with one OSV", meetings_first, meetings_last, meetings_cpu),
    ):
        rows.append(Row(
            f"  {ONE_OSV_COMMANDS:,} {label}, in process: median rate, last {ONE_OSV_WINDOW}", fmt_rate(last, "cmd/s"),
            f"median rate, a fresh OSV's first {ONE_OSV_WINDOW}, alternately (target >= 0.8)", fmt_rate(first, "cmd/s"), fmt_ratio(last, first),
        ))
        rows.append(Row("    CPU per command, last / first", f"{cpu_last:.2f} / {cpu_first:.2f} ms", "", "", fmt_ratio(cpu_first, cpu_last)))


@dataclass
class CommandRun:
    count: int
    seconds: float
    latencies: list[float]
    errors: list[str]
    ids: list[str]
    cpu_service: float = 0.0
    cpu_nats: float = 0.0
    cpu_client: float = 0.0
    cpu_shares: list[float] = field(default_factory=list)
    """The service's processes' shares of its CPU over the run, busiest first (:func:`busiest_shares`): how evenly the
    clients' connections were spread over uvicorn's workers (each keep-alive connection stays with the worker that
    accepted it)."""

    @property
    def per_second(self) -> float:
        return rate(self.count, self.seconds)


async def _drive(url: str, path: str, body: Callable[[int], dict[str, Any]], count: int, concurrency: int) -> CommandRun:
    latencies: list[float] = []
    errors: list[str] = []
    ids: list[str] = [""] * count
    counter = iter(range(count))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits, headers=headers()) as client:

        async def worker() -> None:
            for i in counter:
                started = time.perf_counter()
                response = await client.post(path, json=body(i))
                latencies.append(time.perf_counter() - started)
                if response.status_code == 201:
                    ids[i] = response.json()["id"]
                else:
                    errors.append(f"{response.status_code} {response.text[:200]}" if len(errors) < 5 else "")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return CommandRun(count, seconds, latencies, errors, [i for i in ids if i])


def drive(
    url: str, path: str, body: Callable[[int], dict[str, Any]], count: int, concurrency: int,
    service_pid: int | None = None, nats_pid: int | None = None,
) -> CommandRun:
    """``count`` POSTs from ``concurrency`` concurrent clients; CPU of each process counted."""
    service_before = process_tree_cpu(service_pid)
    before = sum(service_before.values()), proc_cpu(nats_pid), time.process_time()
    run = asyncio.run(_drive(url, path, body, count, concurrency))
    service_after = process_tree_cpu(service_pid)
    run.cpu_shares = busiest_shares(service_before, service_after)
    run.cpu_service = (sum(service_after.values()) - before[0]) / count
    run.cpu_nats = (proc_cpu(nats_pid) - before[1]) / count
    run.cpu_client = (time.process_time() - before[2]) / count
    return run


def osv_body(i: int) -> dict[str, Any]:
    return {"name": f"Organización vecinal {i}", "district": DISTRICTS[i % len(DISTRICTS)], "mapped_on": "2021-03-15"}


def post_until_created(url: str, path: str, body: dict[str, Any], timeout: float) -> tuple[float, httpx.Response]:
    """Retry a command until it answers 201 (e.g. until a local view has caught up)."""
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, timeout=10.0, headers=headers()) as client:
        while True:
            response = client.post(path, json=body)
            if response.status_code == 201 or time.monotonic() > deadline:
                return time.perf_counter() - started, response
            time.sleep(0.05)


def wait_relayed(process: ServiceProcess, timeout: float = 120.0) -> float:
    """Seconds until the service's relay has published everything it stored."""
    started = time.perf_counter()

    def done() -> bool:
        relay = process.health()["relay"]
        return relay["lag"] == 0 and relay["published_position"] >= relay["stored_position"]

    eventually(done, timeout, what=f"{process.name} relay lag 0")
    return time.perf_counter() - started


def stored_position(process: ServiceProcess) -> int:
    """The last position of the service's store, once its relay has published it (what other services' views follow)."""
    wait_relayed(process)
    return int(process.health()["relay"]["stored_position"])


def wait_views_caught_up(process: ServiceProcess, nats_url: str, timeout: float = 300.0) -> float:
    """Seconds until every durable consumer of ``process``'s views (named ``<service>-...``) has been given and has
    acknowledged every event its stream holds: its views have applied the sections before (the OSVs registry mapped,
    the grants funding made).

    The write services' figures are of commands: a view still applying them while the commands run is work of its own,
    timed here instead.
    """

    async def pending() -> int:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            waiting = 0
            for stream in await js.streams_info():
                for consumer in await js.consumers_info(stream.config.name):
                    if consumer.name.startswith(f"{process.name}-"):
                        waiting += (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
            return waiting
        finally:
            await nc.close()

    started = time.perf_counter()
    eventually(lambda: asyncio.run(pending()) == 0, timeout, interval=0.1, what=f"{process.name}'s views caught up")
    return time.perf_counter() - started


ALTERNATIONS = 3
"""Runs of section 1b's store and save loop, taken in turn; each figure is the median of its runs."""


def bench_many_clients(args: argparse.Namespace, tmp: Path, table: Table) -> None:
    """Section 1b: 16 concurrent clients on SQLite (group commit), beside section 1's save loop (1 thread, a commit per save)."""
    n, many = args.commands, args.many_clients
    baseline: Baseline | None = getattr(args, "save_loop", None)
    saves = max(n, STORE_SAVES)
    if baseline is None:
        say(f"baseline: {saves:,} bare eventsourcing appends on SQLite")
        baseline = baseline_appends(tmp, saves)
    es_label = "eventsourcing save loop, SQLite file"
    rows = table.section(f"1b. {many} concurrent clients on SQLite, against the save loop (1 thread, a commit per save)")
    loop = (es_label, baseline.per_second)

    def add_store(figure: str, run: StoreRun, baseline_rate: float = baseline.per_second, baseline_label: str = loop[0]) -> None:
        value = fmt_rate(run.per_second, "cmd/s") + (f" ({len(run.failures)} failed)" if run.failures else "")
        if run.failures:
            table.notes.append(f"{figure.strip()}: first failure: {run.failures[0]}")
        rows.append(Row(figure, value, baseline_label, fmt_rate(baseline_rate, "cmd/s"), fmt_ratio(run.per_second, baseline_rate)))
        if run.saves_per_commit == run.saves_per_commit:  # not NaN
            rows.append(Row("    saves per commit (mean)", f"{run.saves_per_commit:.1f}"))

    say(f"the services' store, {many} threads saving a trivial aggregate with group commit, alternated {ALTERNATIONS} times with the save loop")
    loops, stores = [], []
    for round_ in range(ALTERNATIONS):  # the machine's pace drifts: each figure is the median of runs taken turn about
        (tmp / f"alternated-{round_}").mkdir()
        loops.append(baseline_appends(tmp / f"alternated-{round_}", saves).per_second)
        stores.append(store_in_threads(tmp / f"alternated-{round_}", saves, many))
    grouped = sorted(stores, key=lambda run: run.per_second)[ALTERNATIONS // 2]
    add_store(f"store (hash chain, group commit), {many} threads, {saves:,} trivial aggregates, median of {ALTERNATIONS}", grouped,
              statistics.median(loops), f"{es_label}, median of {ALTERNATIONS} taken in turn")
    add_store("  same store, a commit per save (as before group commit)", store_in_threads(tmp, saves, many, 1))
    say(f"registry's application in-process, {many} threads: group commit, then a commit per save")
    add_store(f"registry application in-process, {many} threads (POST /osvs's own function)", registry_in_threads(tmp, n, many))
    add_store("  same, a commit per save (as before group commit)", registry_in_threads(tmp, n, many, 1))
    run: CommandRun | None = getattr(args, "many_clients_run", None)
    if run is not None:
        value = fmt_rate(run.per_second, "cmd/s") + (f" ({len(run.errors)} not 201)" if run.errors else "")
        rows.append(Row(f"registry POST /osvs, {many} concurrent clients", value, loop[0], fmt_rate(baseline.per_second, "cmd/s"),
                        fmt_ratio(run.per_second, baseline.per_second)))
        rows.append(Row("  client latency p50 / p99", f"{fmt_ms(statistics.median(run.latencies))} / {fmt_ms(percentile(run.latencies, 99))}"))
        rows.append(Row("  CPU per command: service / nats / client",
                        f"{run.cpu_service * 1000:.2f} / {run.cpu_nats * 1000:.2f} / {run.cpu_client * 1000:.2f} ms"))


def bench_commands(args: argparse.Namespace, tmp: Path, table: Table) -> None:
    beside = CeilingBeside(tmp, max(args.commands, STORE_SAVES), args.commands, args.concurrency, args.warmup)
    try:
        commands_with_ceilings_beside(args, tmp, table, beside)
    finally:
        beside.close()


def commands_with_ceilings_beside(args: argparse.Namespace, tmp: Path, table: Table, beside: CeilingBeside) -> None:
    """Section 1, each command figure between two measures of its ceiling (``beside``)."""
    n, c = args.commands, args.concurrency
    rows = table.section(f"1. commands through the HTTP API ({n:,} each, {c} concurrent httpx clients)")
    saves = max(n, STORE_SAVES)
    say(f"baseline: {saves:,} bare eventsourcing appends on SQLite")
    with step("save loop"):
        baseline = baseline_appends(tmp, saves)
    args.save_loop = baseline  # section 1b sets its figures against the same loop
    say(f"  {baseline.per_second:,.0f} cmd/s")
    es_label = "eventsourcing save loop, SQLite file"
    measured: dict[str, Beside] = {}  # figure -> cmd/s, and its ceiling's baselines measured before and after it

    def add(figure: str, run: CommandRun, before: tuple[Baseline, Baseline], process: ServiceProcess | None = None) -> None:
        value = fmt_rate(run.per_second, "cmd/s")
        if run.errors:
            value += f" ({len(run.errors)} not 201)"
            table.notes.append(f"{figure}: first failure: {run.errors[0]}")
        rows.append(Row(figure, value, es_label, fmt_rate(baseline.per_second, "cmd/s"), fmt_ratio(run.per_second, baseline.per_second)))
        rows.append(Row("  client latency p50 / p99", f"{fmt_ms(statistics.median(run.latencies))} / {fmt_ms(percentile(run.latencies, 99))}"))
        rows.append(Row(
            "  CPU per command: service / nats / client",
            f"{run.cpu_service * 1000:.2f} / {run.cpu_nats * 1000:.2f} / {run.cpu_client * 1000:.2f} ms",
            "CPU per command of the save loop", f"{baseline.cpu_per_command * 1000:.2f} ms",
        ))
        if process is not None and process.workers > 1:
            rows.append(Row(f"  {process.name}'s {process.workers} workers: their shares of its CPU, busiest first",
                            " / ".join(f"{share:.0%}" for share in run.cpu_shares) or "-"))
        if process is not None:
            rows.append(Row(f"  {process.name} relay: lag 0 this long after the last 201", fmt_ms(wait_relayed(process))))
        measured[figure] = (run.per_second, before, beside.measure())  # once the relay is idle: its work is the figure's

    var = tmp / "commands-var"
    heads: dict[str, int] = {}  # each write service's last stored position, once its section is done
    with nats_server(tmp / "commands-nats") as server:
        # Registry ---------------------------------------------------------
        with step("registry: POST /osvs, 16 clients, the import's rows"), service("registry", var, server.url, tmp) as registry:
            # The warm-up maps an OSV in every district: a district's roll of names opens once in a programme's
            # life (reading the OSVs mapped before it), and the timed run measures the mappings after that.
            say(f"registry: warm-up (an OSV in each of the {len(DISTRICTS)} districts), then {n:,} x POST /osvs")
            drive(registry.url, "/osvs", lambda i: osv_body(n + i), max(args.warmup, len(DISTRICTS)), c)
            before = beside.measure()
            run = drive(registry.url, "/osvs", osv_body, n, c, registry.proc_pid, server.pid)
            say(f"  {run.per_second:,.0f} cmd/s, {len(run.errors)} failures")
            add("registry POST /osvs", run, before, registry)
            osv_ids = run.ids
            say(f"registry: {n:,} x POST /osvs from {args.many_clients} concurrent clients (section 1b)")
            args.many_clients_run = drive(registry.url, "/osvs", lambda i: osv_body(2 * n + i), n, args.many_clients, registry.proc_pid, server.pid)
            # The import: rows of an osv_mapping export becoming registry's commands (a dry run, then the command, keyed).
            rows_count = import_rows_count(n)
            say(f"import: {rows_count:,} osv_mapping rows into registry")
            wait_relayed(registry)  # the burst before is published first: its CPU is not the import's
            before = beside.measure()
            imported = import_rows(registry.url, rows_count, c, registry.proc_pid, first_name=10 * n)
            say(f"  {imported.per_second:,.0f} rows/s, {len(imported.errors)} failures")
            add("import osv_mapping rows -> registry commands" + (f" ({rows_count:,} rows)" if rows_count != n else ""), imported, before, registry)
            heads["registry"] = stored_position(registry)  # what funding's and engagement's views follow

        # Funding ----------------------------------------------------------
        if not osv_ids:
            rows.append(Row("funding POST /grants", "skipped: registry mapped no OSV"))
        else:
            with step("funding: POST /grants"), service("funding", var, server.url, tmp) as funding:

                serial = itertools.count()

                def grant_body(_: int) -> dict[str, Any]:
                    # Each POST another grant: an OSV's next one a day later, never a possible duplicate (tester 177 F4) nor
                    # an earlier day restating the ones before it. Counted across the warm-up and the timed run.
                    k = next(serial)
                    granted_on = date(2021, 10, 20) + timedelta(days=k // len(osv_ids))
                    return {"osv_id": osv_ids[k % len(osv_ids)], "amount": "1500.00", "currency": "PEN", "granted_on": granted_on.isoformat(), "kind": "seed_fund"}

                say(f"funding: waiting until its OSV directory knows the {len(osv_ids):,} OSVs")
                caught_up, response = post_until_created(funding.url, "/grants", grant_body(len(osv_ids) - 1), timeout=120)
                if response.status_code != 201:
                    rows.append(Row("funding POST /grants", f"skipped: {response.status_code} {response.text[:120]}"))
                else:
                    views_caught_up = caught_up + wait_views_caught_up(funding, server.url)
                    drive(funding.url, "/grants", grant_body, args.warmup, c)
                    say(f"funding: {n:,} x POST /grants")
                    before = beside.measure()
                    run = drive(funding.url, "/grants", grant_body, n, c, funding.proc_pid, server.pid)
                    say(f"  {run.per_second:,.0f} cmd/s, {len(run.errors)} failures")
                    add("funding POST /grants", run, before, funding)
                    rows.append(Row(f"  funding: knew all {len(osv_ids):,} OSVs this long after it started", fmt_ms(caught_up)))
                    rows.append(Row(f"  funding: its views had applied registry's {heads['registry']:,} events (before the timed run)", fmt_ms(views_caught_up)))
                    heads["funding"] = stored_position(funding)

        # Engagement -------------------------------------------------------
        if not (ROOT / "services" / "engagement" / "api.py").exists():
            rows.append(Row("engagement POST /members", "not built yet", es_label, fmt_rate(baseline.per_second, "cmd/s")))
        elif osv_ids:
            try:
                with step("engagement: POST /members"), service("engagement", var, server.url, tmp) as engagement:

                    def member_body(i: int) -> dict[str, Any]:
                        return {
                            "osv_id": osv_ids[i % len(osv_ids)],
                            "full_name": f"Persona de prueba {i}",
                            **member_document(i),
                            "sex": "F" if i % 2 else "M",
                            "joined_on": "2021-10-05",
                            "birth_year": 1980 + i % 30,
                        }

                    say("engagement: first member (retried while any local view catches up)")
                    first, response = post_until_created(engagement.url, "/members", member_body(10 * n), timeout=120)
                    if response.status_code != 201:
                        rows.append(Row("engagement POST /members", f"failed: {response.status_code} {response.text[:120]}"))
                    else:
                        views_caught_up = first + wait_views_caught_up(engagement, server.url)
                        drive(engagement.url, "/members", lambda i: member_body(n + i), args.warmup, c)
                        say(f"engagement: {n:,} x POST /members")
                        before = beside.measure()
                        run = drive(engagement.url, "/members", member_body, n, c, engagement.proc_pid, server.pid)
                        say(f"  {run.per_second:,.0f} cmd/s, {len(run.errors)} failures")
                        add("engagement POST /members", run, before, engagement)
                        # Beside it, not instead: the field's common case, members joining OSVs whose roster is open
                        # (10-30 a OSV), four events a registration where a first member's is five.
                        joining = min(len(osv_ids), max(1, n // MEMBERS_AN_OSV))
                        before = beside.measure()
                        run = drive(engagement.url, "/members", lambda i: {**member_body(3 * n + i), "osv_id": osv_ids[i % joining]},
                                    n, c, engagement.proc_pid, server.pid)
                        say(f"  {run.per_second:,.0f} cmd/s into {joining:,} OSVs with members, {len(run.errors)} failures")
                        add(f"engagement POST /members, {n // joining:,} members into each of {joining:,} OSVs with a roster open", run, before, engagement)
                        followed = " and ".join(f"{source}'s {head:,}" for source, head in heads.items())
                        rows.append(Row(f"  engagement: its views had applied {followed} events (before the timed run)", fmt_ms(views_caught_up)))
            except RuntimeError as error:
                rows.append(Row("engagement POST /members", "failed to run (see notes)"))
                table.notes.append(f"engagement: {str(error)[:600]}")

    # Where the time goes: the applications without HTTP, HTTP without an application.
    say("applications in-process; bare FastAPI under uvicorn")
    rows.append(Row("breakdown (same counts):"))
    for label, measure in (("registry", registry_in_process), ("funding", funding_in_process), ("engagement", engagement_in_process)):
        with step(f"{label} in process"):
            in_process = measure(tmp, n)
        rows.append(Row(f"  {label} application in-process, no HTTP/NATS, 1 thread", fmt_rate(in_process, "cmd/s"),
                        es_label, fmt_rate(baseline.per_second, "cmd/s"), fmt_ratio(in_process, baseline.per_second)))
    with step(f"{ONE_OSV_COMMANDS:,} grants, members, meetings with one OSV"):
        add_one_osv_growing(tmp, rows)
    dead_nats = f"nats://{HOST}:{free_port(HOST)}"  # nothing listens: the relay waits, commands still work
    with step("registry, NATS unreachable"), service("registry", tmp / "no-nats-var", dead_nats, tmp) as registry:
        drive(registry.url, "/osvs", lambda i: osv_body(n + i), max(args.warmup, len(DISTRICTS)), c)
        run = drive(registry.url, "/osvs", osv_body, n, c, registry.proc_pid)
        rows.append(Row("  registry POST /osvs, NATS unreachable (relay idle)", fmt_rate(run.per_second, "cmd/s"),
                        "CPU per command: service / client", f"{run.cpu_service * 1000:.2f} / {run.cpu_client * 1000:.2f} ms"))
    # The same commands in worker threads, as every command ran before shared.inplace: what running them on the loop saves.
    threaded = ServiceProcess("registry", tmp / "threads-var", "", tmp, extra_env={"REGISTRY_COMMANDS_ON_THE_LOOP": "false"})
    with step("registry, commands in threads"), nats_server(tmp / "threads-nats") as threads_nats:
        threaded.env["REGISTRY_NATS_URL"] = threads_nats.url
        try:
            threaded.start()
            drive(threaded.url, "/osvs", lambda i: osv_body(n + i), max(args.warmup, len(DISTRICTS)), c)
            run = drive(threaded.url, "/osvs", osv_body, n, c, threaded.proc_pid, threads_nats.pid)
        finally:
            threaded.stop()
        rows.append(Row("  registry POST /osvs, every command in a worker thread (REGISTRY_COMMANDS_ON_THE_LOOP=false)",
                        fmt_rate(run.per_second, "cmd/s"), "CPU per command: service / nats / client",
                        f"{run.cpu_service * 1000:.2f} / {run.cpu_nats * 1000:.2f} / {run.cpu_client * 1000:.2f} ms"))
    # The bare request, served as the services are (their workers) and from one process: the ceiling takes the faster.
    bare_rates = []
    for workers in sorted({1, max(configured_workers(name) for name in ("registry", "funding", "engagement"))}):
        bare = ServiceProcess("bare", tmp, "", tmp, factory="bench.bare_api:create_app", workers=workers)
        try:
            with step(f"bare FastAPI, {workers} worker(s)"):
                bare.start()
                drive(bare.url, "/osvs", osv_body, args.warmup, c)
                run = drive(bare.url, "/osvs", osv_body, n, c, bare.proc_pid)
            served = "one process" if workers == 1 else f"{workers} workers"
            rows.append(Row(f"  bare FastAPI+uvicorn POST, no store (same client), {served}", fmt_rate(run.per_second, "cmd/s"),
                            "CPU per request: server / client",
                            f"{run.cpu_service * 1000:.2f} / {run.cpu_client * 1000:.2f} ms"))
            bare_rates.append(run.per_second)
        finally:
            bare.stop()
    add_combined_ceiling(rows, measured, baseline.per_second, max(bare_rates))


def import_rows_count(commands: int) -> int:
    """Rows of the import figure: a quarter of each write service's commands, at least 100.

    A row once took two requests (its dry run, then its command) and ran at
    about a quarter of registry's command rate (23 rows/s against 89 cmd/s on a
    busy machine): a quarter of the commands kept its measurement about as long
    as the others' (2,000 rows were 87 s of a full run). A one-command row now
    takes one request, with its ``Idempotency-Key``: about 0.6 of registry's
    unkeyed rate (its answer is kept, batched, by the answer book's own thread,
    and the response waits for it: see :mod:`shared.idempotency`).
    """
    return min(commands, max(100, commands // 4))


def import_rows(url: str, count: int, concurrency: int, service_pid: int | None, first_name: int) -> CommandRun:
    """``count`` one-command rows (an ``osv_mapping`` submission each) through :class:`services.imports.application.Importer`.

    Each row is what ``osv-import`` sends for a row of one command: the
    command, with the row's ``Idempotency-Key`` (no dry run first: see
    :mod:`services.imports.application`). ``concurrency`` importers
    share the rows, as the other figures share their commands; a row counts
    once it is ``created``. The rows map ``OSV`` names from number
    ``first_name`` on (names no other part of the run uses).
    """
    import threading

    from services.imports.application import Importer, Outcome, Services
    from services.imports.domain.commands import Command
    from services.imports.domain.commands import Row as ImportRow
    from services.imports.domain.submissions import Cell, Entry, Submission

    token = headers()["Authorization"].removeprefix("Bearer ")

    def row(i: int) -> ImportRow:
        key = f"kobo:bench-{uuid.uuid4()}:osv_mapping:osv"
        command = Command("registry", "/osvs", osv_body(first_name + i), key, Cell("bench", i, ""))
        return ImportRow(Submission(uuid=key, main=Entry("bench", i)), [command])

    warm = Services({"registry": url}, token)
    Importer(warm).run([row(-1 - i) for i in range(5)], dry_run=False)
    warm.close()
    slices = [[row(i) for i in range(k, count, concurrency)] for k in range(concurrency)]
    latencies: list[float] = []
    errors: list[str] = []

    def one(rows_: list[ImportRow], services: Services) -> None:
        try:
            for r in rows_:
                started = time.perf_counter()
                result = Importer(services).run_row(r, dry_run=False)
                latencies.append(time.perf_counter() - started)
                if result.outcome != Outcome.CREATED:
                    errors.append(f"{result.outcome}: {result.problems[:1]}")
        finally:
            services.close()

    # Each importer's client is made before the clock starts, as :func:`_drive`'s is: an import makes it once
    # (four clients at 21 ms of CPU each were 0.8 ms a row of a 100-row quick run); the rows are what is measured.
    clients = [Services({"registry": url}, token) for _ in slices]
    service_before, cpu = process_tree_cpu(service_pid), time.process_time()
    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(part, services)) for part, services in zip(slices, clients, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    run = CommandRun(count, seconds, latencies, errors, [])
    service_after = process_tree_cpu(service_pid)
    run.cpu_shares = busiest_shares(service_before, service_after)
    run.cpu_service = (sum(service_after.values()) - sum(service_before.values())) / count
    run.cpu_client = (time.process_time() - cpu) / count
    return run


def combined_ceiling(save_loop: float, bare_api: float) -> float:
    """Commands/s if each command cost one bare save plus one bare FastAPI request: ``1 / (1/save_loop + 1/bare_api)``."""
    return 1 / (1 / save_loop + 1 / bare_api) if save_loop > 0 and bare_api > 0 else 0.0


def add_combined_ceiling(rows: list[Row], measured: dict[str, Beside], save_loop: float, bare_api: float) -> None:
    """The section's combined bare ceiling, for reference, then each write command's rate against the ceiling measured
    beside it (:class:`CeilingBeside`): issue 17's target is at least 0.7 for each."""
    rows.append(Row("combined ceiling of the section (its first save loop, its faster bare FastAPI)", fmt_rate(combined_ceiling(save_loop, bare_api), "cmd/s"),
                    "save loop / bare FastAPI", f"{save_loop:,.0f} / {bare_api:,.0f}"))
    for figure, (per_second, before, after) in measured.items():
        save = statistics.mean((before[0].per_second, after[0].per_second))
        bare = statistics.mean((before[1].per_second, after[1].per_second))
        ceiling = combined_ceiling(save, bare)
        rows.append(Row(f"  {figure} against the combined ceiling beside it", fmt_rate(per_second, "cmd/s"),
                        f"1/(1/save loop + 1/bare FastAPI), just before and after: {save:,.0f} / {bare:,.0f}",
                        fmt_rate(ceiling, "cmd/s"), fmt_ratio(per_second, ceiling)))
        drift = (before[0].per_second, after[0].per_second, before[1].per_second, after[1].per_second)
        rows.append(Row("    save loop before / after; bare FastAPI before / after", " / ".join(f"{value:,.0f}" for value in drift)))


# --------------------------------------------------------------------------
# 2. Rebuild events per second
# --------------------------------------------------------------------------


def realistic_cloudevents(count: int, seed: int = 42) -> list[dict[str, Any]]:
    """``count`` CloudEvents as the three write services publish them, interleaved.

    Events come from the services' real aggregates and catalogues
    (``EventCatalogue.to_cloudevent``); engagement's are built by hand in the
    same shape when its catalogue cannot be imported.
    """
    rng = random.Random(seed)
    engagement = engagement_catalogue()
    positions = {"registry": 0, "funding": 0, "engagement": 0}
    out: list[dict[str, Any]] = []

    def next_position(source: str) -> int:
        positions[source] += 1
        return positions[source]

    def emit(catalogue: Any, aggregate: Any) -> None:
        for domain_event in aggregate.collect_events():
            cloudevent = catalogue.to_cloudevent(next_position(catalogue.service), domain_event)
            if cloudevent is not None:  # private events (engagement's sealed personal data) never go out
                out.append(cloudevent)

    phases = [
        Phase(code=f"F{i + 1}", name=f"Fase {i + 1}", starts_on=date(2021 + i, 1, 1), ends_on=date(2021 + i, 12, 31))
        for i in range(3)
    ]
    for phase in phases:
        emit(funding_catalogue, phase)

    osvs: list[OSV] = []
    members: list[str] = []
    start = date(2021, 1, 1)
    while len(out) < count:
        roll = rng.random()
        day = start + timedelta(days=rng.randrange(3 * 365))
        if roll < 0.22 or not osvs:  # an OSV is mapped
            district = rng.choice(DISTRICTS)
            osv = OSV(name=f"OSV {len(osvs)}", district=district, zone=ZONES[district], mapped_on=day, kind=None)
            emit(registry_catalogue, osv)
            osvs.append(osv)
        elif roll < 0.32:  # one is registered in the RUOS
            osv = rng.choice(osvs)
            if osv.ruos_number is None:
                osv.register_in_ruos(f"RUOS-{len(out)}", max(day, osv.mapped_on), municipality_id="mml")
                emit(registry_catalogue, osv)
        elif roll < 0.47:  # a grant
            osv = rng.choice(osvs)
            grant = grant_fund(
                osv.id, rng.choice([Decimal("1500.00"), Decimal("3500.00"), Decimal("800.50")]),
                Currency.PEN if rng.random() < 0.8 else Currency.USD, day,
                GrantKind.SEED_FUND if rng.random() < 0.7 else GrantKind.GOODS,
            )
            emit(funding_catalogue, grant)
        elif roll < 0.85 or not members:  # a member joins
            osv = rng.choice(osvs)
            nationality = rng.choice(["VE", "VE", "VE", "CO", "PE", "EC"])
            sex, birth_year = rng.choice(["F", "M"]), rng.randrange(1950, 2005)
            if engagement is not None:
                member = engagement.Member.register(
                    osv_id=osv.id, full_name=f"Persona {len(out)}", document_type=engagement.DocumentType.CE,
                    document_number=f"{100000000 + len(out)}", nationality=nationality, sex=engagement.Sex(sex),
                    joined_on=day, birth_year=birth_year, today=date(2030, 1, 1),
                )
                emit(engagement.catalogue, member)
                members.append(member)
            else:
                member_id = str(uuid.uuid4())
                members.append((member_id, str(osv.id), nationality, sex, day))
                out.append(_engagement_event(next_position("engagement"), "MemberJoined", member_id, {
                    "member_id": member_id, "osv_id": str(osv.id), "nationality": nationality, "sex": sex,
                    "age_band": "30-44", "joined_on": day.isoformat(), "occurred_on": day.isoformat(),
                }))
        else:  # a member leaves
            member = members.pop(rng.randrange(len(members)))
            reason = rng.choice(["moved_abroad", "moved_in_peru", "withdrew", "other"])
            if engagement is not None:
                member.leave(max(day, member.latest_membership.joined_on), engagement.DepartureReason(reason))
                emit(engagement.catalogue, member)
            else:
                member_id, osv_id, nationality, sex, joined = member
                left = max(day, joined).isoformat()
                out.append(_engagement_event(next_position("engagement"), "MemberLeft", member_id, {
                    "member_id": member_id, "osv_id": osv_id, "nationality": nationality, "sex": sex,
                    "age_band": "30-44", "reason": reason, "left_on": left, "occurred_on": left,
                }))
    return out[:count]


def engagement_catalogue() -> Any:
    """Engagement's domain model and catalogue, or None while it is not importable."""
    try:
        from types import SimpleNamespace

        from services.engagement.domain.memberrules import DepartureReason, Sex
        from services.engagement.domain.members import Member
        from services.engagement.events import catalogue
        from shared.documents import DocumentType
    except Exception:  # noqa: BLE001 - being written by someone else: fall back to hand-built events
        return None
    return SimpleNamespace(Member=Member, DocumentType=DocumentType, Sex=Sex, DepartureReason=DepartureReason, catalogue=catalogue)


def _engagement_event(position: int, kind: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"engagement:{position}",
        "source": SPEC_SOURCE_PREFIX + "engagement",
        "type": kind,
        "subject": subject,
        "time": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "position": position,
        "data": data,
    }


def programme_events(count: int, seed: int = 42) -> Iterator[dict[str, Any]]:
    """``count`` CloudEvents of a programme run for three years, as the three services publish them, interleaved.

    Hand-built in the catalogue's and the funding contract's shapes, streamed
    (a million never sit in memory). Proportions follow a programme of a few
    thousand OSVs: most events are activities, meetings and members; each is
    recorded about 95 s after the last, most facts entered within a month of
    happening, a few months late. Phases are half-years, opened as they start;
    the second one two months late. An OSV dissolves on or after the latest
    day of anything recorded about it, and, as the services refuse, nothing
    is recorded about it dated after its dissolution but what winds it down
    (a departure, a grant's closing, a decision: :data:`WINDING_DOWN`).
    """
    rng = random.Random(seed)
    dissolved_on: dict[str, str] = {}  # OSV -> its dissolution's day, ISO
    last_dated: dict[str, str] = {}  # OSV -> the latest day any fact about it is dated, ISO
    positions = {"registry": 0, "funding": 0, "engagement": 0}
    now = datetime(2021, 1, 4, 8, tzinfo=timezone.utc)
    step = 3 * 365 * 86400 / max(count, 1)
    serial = iter(range(10**12))
    osvs: list[tuple[str, str, str]] = []
    municipality_of: dict[str, str] = {}  # OSV -> its district's ubigeo
    registered: set[str] = set()
    members: list[tuple[str, str, str, str]] = []
    grants: list[tuple[str, str, str]] = []
    taking_part: list[tuple[str, str, str, str, str]] = []
    activities: list[tuple[str, str, str]] = []
    actions: list[tuple[str, str, str]] = []
    submissions: list[tuple[str, str]] = []
    halves = [(date(2021 + i // 2, 1 + 6 * (i % 2), 1), date(2021 + i // 2, 6 + 6 * (i % 2), 30 + i % 2)) for i in range(6)]
    openings = [(start if i != 1 else start + timedelta(days=60), i, start, end) for i, (start, end) in enumerate(halves)]

    def uid() -> str:
        return str(uuid.UUID(int=next(serial) + (seed << 64)))

    def event(source: str, kind: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
        """One CloudEvent as the relay publishes it, ``municipality`` (the subject's token) included when the event has one."""
        positions[source] += 1
        municipality = data.get("municipality_id") or UBIGEOS.get(str(data.get("district"))) or municipality_of.get(str(data.get("osv_id")))
        return {
            "specversion": "1.0", "id": f"{source}:{positions[source]}", "source": SPEC_SOURCE_PREFIX + source, "type": kind,
            "subject": subject, "time": now.isoformat().replace("+00:00", "Z"), "datacontenttype": "application/json",
            "position": positions[source], **({"municipality": municipality} if municipality else {}), "data": data,
        }

    def happened() -> str:
        lag = rng.randrange(0, 30) if rng.random() > 0.02 else rng.randrange(60, 200)
        return max(date(2021, 1, 1), (now - timedelta(days=lag)).date()).isoformat()

    kinds = [
        ("OSVMapped", 4), ("RUOSRegistered", 2), ("RUOSApplicationObserved", 3), ("ContactLost", 1.5), ("OSVDissolved", 0.3),
        ("MemberJoined", 120), ("MemberLeft", 40), ("MemberRoleChanged", 20), ("FundGranted", 8), ("DisbursementMade", 15),
        ("GoodsDelivered", 4), ("GrantClosed", 4), ("ParticipantEnrolled", 40), ("ParticipantWithdrew", 10),
        ("ActivityReported", 300), ("ActivityWithdrawn", 3), ("FollowUpMeetingHeld", 200), ("ActionItemCompleted", 150),
        ("TechnicalAssistanceGiven", 50), ("OSVDocumentsCounted", 20), ("ParticipatoryBudgetSubmitted", 3),
        ("ParticipatoryBudgetDecided", 3),
    ]
    names, weights = [k for k, _ in kinds], [w for _, w in kinds]
    emitted = 0
    while emitted < count:
        now += timedelta(seconds=rng.expovariate(1 / step))
        if openings and now.date() >= openings[0][0]:
            _, i, start, end = openings.pop(0)
            phase_id = uid()
            yield event("funding", "PhaseOpened", phase_id, {"phase_id": phase_id, "code": f"F{i + 1}", "name": f"Fase {i + 1}",
                        "starts_on": start.isoformat(), "ends_on": end.isoformat(), "occurred_on": start.isoformat()})
            emitted += 1
            continue
        kind = rng.choices(names, weights)[0] if len(osvs) > 20 else "OSVMapped"
        on = happened()
        out: dict[str, Any] | None = None
        if kind == "OSVMapped":
            osv, district = uid(), rng.choice(DISTRICTS)
            osvs.append((osv, district, ZONES[district]))
            municipality_of[osv] = UBIGEOS[district]
            out = event("registry", kind, osv, {"osv_id": osv, "name": f"OSV {len(osvs)}", "district": district, "zone": ZONES[district],
                        "kind": None, "mapped_on": on, "composition": None, "focus_areas": [], "contact_channel": None, "occurred_on": on})
        else:
            osv, district, zone = rng.choice(osvs)
            if kind == "RUOSRegistered" and osv not in registered:
                registered.add(osv)
                out = event("registry", kind, osv, {"osv_id": osv, "ruos_number": f"RUOS-{len(registered)}", "registered_on": on,
                            "application_id": None, "municipality_id": None, "resolution_number": None, "board_term_ends_on": None,
                            "occurred_on": on})
            elif kind == "RUOSApplicationObserved":
                out = event("registry", kind, osv, {"osv_id": osv, "application_id": uid(), "observed_on": on, "amend_by": on,
                            "reasons": rng.sample(["missing_minutes", "board_incomplete", "id_document_refused", "other"], 2),
                            "occurred_on": on})
            elif kind in ("ContactLost", "OSVDissolved"):
                field_name = "since" if kind == "ContactLost" else "dissolved_on"
                if kind == "OSVDissolved":  # an organisation dissolves after the last thing it did (a fact later than that is the race)
                    on = max(on, last_dated.get(osv, on))
                out = event("registry", kind, osv, {"osv_id": osv, field_name: on, "occurred_on": on})
            elif kind == "MemberJoined" or (kind in ("MemberLeft", "MemberRoleChanged") and not members):
                member = uid()
                nationality, sex = rng.choice(["VE", "VE", "VE", "PE", "PE", "CO"]), rng.choice(["F", "M"])
                members.append((member, osv, nationality, sex))
                out = event("engagement", "MemberJoined", member, {"member_id": member, "membership_id": uid(), "osv_id": osv,
                            "role": "member", "nationality": nationality, "sex": sex, "age_band": "30-44", "joined_on": on,
                            "occurred_on": on})
            elif kind == "MemberLeft":
                member, osv, nationality, sex = members.pop(rng.randrange(len(members)))
                out = event("engagement", kind, member, {"member_id": member, "membership_id": uid(), "osv_id": osv,
                            "nationality": nationality, "sex": sex, "age_band": "30-44", "left_on": on,
                            "reason": rng.choice(["moved_abroad", "moved_in_peru", "withdrew", "other"]), "occurred_on": on})
            elif kind == "MemberRoleChanged":
                member, osv, _, _ = rng.choice(members)
                out = event("engagement", kind, member, {"member_id": member, "membership_id": uid(), "osv_id": osv, "role": "president",
                            "changed_on": on, "occurred_on": on})
            elif kind == "FundGranted" or (kind in ("DisbursementMade", "GoodsDelivered", "GrantClosed") and not grants):
                grant, seed_fund = uid(), rng.random() < 0.75
                grants.append((grant, osv, "seed_fund" if seed_fund else "goods"))
                out = event("funding", "FundGranted", grant, {"grant_id": grant, "osv_id": osv, "amount": rng.choice(["1500.00", "3500.00", "800.50"]),
                            "currency": "PEN" if rng.random() < 0.9 else "USD", "kind": "seed_fund" if seed_fund else "goods",
                            "granted_on": on, "proposal_id": None, "round_id": None, "support": "first_time", "occurred_on": on})
            elif kind in ("DisbursementMade", "GoodsDelivered", "GrantClosed"):
                grant, osv, _ = rng.choice(grants)
                if kind == "DisbursementMade":
                    data = {"disbursement_id": uid(), "tranche": 1, "amount": "500.00", "currency": "PEN", "disbursed_on": on}
                elif kind == "GoodsDelivered":
                    data = {"delivery_id": uid(), "items": [{"item": "pintura", "quantity": 4, "unit_value": "35.00"}],
                            "total_value": "140.00", "currency": "PEN", "delivered_on": on}
                else:
                    data = {"outcome": "completed", "final_report_reference": "IF-1", "closed_on": on}
                out = event("funding", kind, grant, {"grant_id": grant, "osv_id": osv, **data, "occurred_on": on})
            elif kind == "ParticipantEnrolled" or (kind == "ParticipantWithdrew" and not taking_part):
                if members and grants:
                    member, _, nationality, sex = rng.choice(members)
                    grant, osv, _ = rng.choice(grants)
                    taking_part.append((member, grant, osv, nationality, sex))
                    out = event("engagement", "ParticipantEnrolled", member, {"member_id": member, "grant_id": grant, "osv_id": osv,
                                "nationality": nationality, "sex": sex, "age_band": "18-29", "enrolled_on": on, "occurred_on": on})
            elif kind == "ParticipantWithdrew":
                member, grant, osv, nationality, sex = taking_part.pop(rng.randrange(len(taking_part)))
                out = event("engagement", kind, member, {"member_id": member, "grant_id": grant, "osv_id": osv, "nationality": nationality,
                            "sex": sex, "age_band": "18-29", "withdrew_on": on, "occurred_on": on})
            elif kind == "ActivityReported" or (kind == "ActivityWithdrawn" and not activities):
                activity = uid()
                activities.append((activity, osv, on))
                if len(activities) > 5000:
                    activities.pop(0)
                out = event("engagement", "ActivityReported", activity, {"activity_id": activity, "osv_id": osv, "held_on": on,
                            "kind": "mural_painting", "district": district, "zone": zone, "indirect_beneficiaries": rng.randrange(0, 80),
                            "direct_beneficiaries": [{"nationality": rng.choice(["VE", "PE", "EC"]), "sex": rng.choice(["F", "M"]),
                                                      "count": rng.randrange(1, 25)}],
                            "outputs": [{"kind": rng.choice(["mural", "public_space_recovered", "workshop"]), "count": 1}],
                            "grant_id": None, "occurred_on": on})
            elif kind == "ActivityWithdrawn":
                activity, osv, held = activities.pop(rng.randrange(len(activities)))
                out = event("engagement", kind, activity, {"activity_id": activity, "osv_id": osv, "held_on": held, "withdrawn_on": on,
                            "occurred_on": on})
            elif kind == "FollowUpMeetingHeld" or (kind == "ActionItemCompleted" and not actions):
                meeting, agreed = uid(), [uid() for _ in range(rng.choice([0, 1, 1, 2]))]
                actions.extend((action, meeting, osv) for action in agreed)
                out = event("engagement", "FollowUpMeetingHeld", meeting, {"osv_id": osv, "meeting_id": meeting, "held_on": on,
                            "mode": "in_person", "attendee_count": 6, "topics": ["project_follow_up"],
                            "action_items": [{"action_id": a, "due_on": on} for a in agreed], "occurred_on": on})
            elif kind == "ActionItemCompleted":
                action, meeting, osv = actions.pop(rng.randrange(len(actions)))
                out = event("engagement", kind, action, {"osv_id": osv, "meeting_id": meeting, "action_id": action, "due_on": on,
                            "completed_on": on, "occurred_on": on})
            elif kind in ("TechnicalAssistanceGiven", "OSVDocumentsCounted"):
                out = event("engagement", kind, osv, {"osv_id": osv, "assistance_id": uid(), "given_on": on, "hours": "2.0", "occurred_on": on})
            elif kind == "ParticipatoryBudgetSubmitted" or (kind == "ParticipatoryBudgetDecided" and not submissions):
                submission = uid()
                submissions.append((submission, osv))
                out = event("funding", "ParticipatoryBudgetSubmitted", submission, {"submission_id": submission, "osv_id": osv,
                            "municipality_id": "mml", "cycle_year": now.year, "project_title": "Parque", "amount_requested": "5000.00",
                            "currency": "PEN", "submitted_on": on, "occurred_on": on})
            elif kind == "ParticipatoryBudgetDecided":
                submission, osv = submissions.pop(rng.randrange(len(submissions)))
                outcome = rng.choice(["accepted", "not_accepted", "funded"])
                out = event("funding", kind, submission, {"submission_id": submission, "osv_id": osv, "municipality_id": "mml",
                            "cycle_year": now.year, "outcome": outcome, "amount_funded": "4000.00" if outcome == "funded" else None,
                            "currency": "PEN", "decided_on": on, "occurred_on": on})
        if out is not None and _refused_after_dissolution(out, dissolved_on):
            out = None
        if out is not None:
            if out["type"] == "OSVDissolved":
                dissolved_on[out["subject"]] = out["data"]["dissolved_on"]
            if "osv_id" in out["data"]:
                about = str(out["data"]["osv_id"])
                last_dated[about] = max(last_dated.get(about, ""), str(out["data"]["occurred_on"]))
            emitted += 1
            yield out


WINDING_DOWN = frozenset({
    "MemberLeft", "GrantClosed", "ParticipantWithdrew", "ActivityWithdrawn", "ActionItemCompleted", "ParticipatoryBudgetDecided",
})
"""What the services still take about a dissolved OSV whatever its date (the README's "A dissolved OSV")."""


def _refused_after_dissolution(cloudevent: dict[str, Any], dissolved_on: Mapping[str, str]) -> bool:
    """Whether the services refuse this fact: about an OSV dissolved before its date (a second dissolution whatever the
    date), and not one that winds the OSV down."""
    data = cloudevent["data"]
    ended = dissolved_on.get(str(data.get("osv_id")))
    if ended is None or cloudevent["type"] in WINDING_DOWN:
        return False
    return cloudevent["type"] == "OSVDissolved" or str(data.get("occurred_on")) > ended


PUBLISH_ACK_EVERY = 500
"""While filling the rebuild's stream, one message in this many (per stream) asks for JetStream's ack (see :func:`publish_all`)."""


@dataclass
class Published:
    total_bytes: int
    kept: list[bytes]
    """The first payloads published, in order (``keep`` of :func:`publish_all`): reused instead of generating them again."""


async def publish_all(url: str, cloudevents: Iterable[dict[str, Any]], keep: int = 0) -> Published:
    """Fill the services' streams with ``cloudevents``, as the relay publishes them (subject, Nats-Msg-Id, expected stream).

    Filling is not what the bench measures, so it does not wait for an ack per
    message: every message goes out as a plain NATS publish on the stream's
    subject (JetStream stores it all the same, with the same headers and the
    same dedupe), and one in ``PUBLISH_ACK_EVERY`` per stream asks for an ack.
    Before asking a stream for its next ack the previous one is awaited, so at
    most ``2 * PUBLISH_ACK_EVERY`` of a stream's messages are ever in flight
    (JetStream handles one connection's messages to a stream in order: an ack
    says the ones before it were stored or refused). At the end every stream
    must hold exactly the messages sent to it, or this raises RuntimeError.

    ``keep``: the first ``keep`` payloads are returned in order.
    """
    nc = await nats.connect(url)
    total_bytes = 0
    kept: list[bytes] = []
    try:
        js = nc.jetstream(timeout=60)
        streams = {service_name: stream_name(STREAM, service_name) for service_name in SERVICES}
        for service_name in SERVICES:
            await ensure_stream(js, streams[service_name], stream_subjects(service_name), owner=True)
        sent = dict.fromkeys(SERVICES, 0)
        acks: dict[str, asyncio.Future[Any] | None] = dict.fromkeys(SERVICES)
        for ce in cloudevents:
            payload = encode(ce)
            total_bytes += len(payload)
            if len(kept) < keep:
                kept.append(payload)
            service_name = ce["source"].removeprefix(SPEC_SOURCE_PREFIX)
            subject = subject_of_cloudevent(service_name, ce)
            sent[service_name] += 1
            if sent[service_name] % PUBLISH_ACK_EVERY:
                await nc.publish(subject, payload, headers={"Nats-Msg-Id": ce["id"], "Nats-Expected-Stream": streams[service_name]})
            else:
                if (previous := acks[service_name]) is not None:
                    await previous
                acks[service_name] = await js.publish_async(subject, payload, headers={"Nats-Msg-Id": ce["id"]}, stream=streams[service_name])
        await asyncio.gather(*(ack for ack in acks.values() if ack is not None))
        await nc.flush(timeout=60)
        for service_name in SERVICES:
            stored = await eventually_async(lambda name=service_name: stored_messages(js, streams[name]), sent[service_name], timeout=60)
            if stored != sent[service_name]:
                raise RuntimeError(f"{streams[service_name]} holds {stored:,} messages of the {sent[service_name]:,} published to it")
    finally:
        await nc.close()
    return Published(total_bytes, kept)


async def stored_messages(js: Any, name: str) -> int:
    return int((await js.stream_info(name)).state.messages)


async def eventually_async(read: Callable[[], Any], expected: int, timeout: float) -> int:
    """Await ``read()`` until it returns ``expected`` or ``timeout`` seconds pass: its last value."""
    deadline = time.monotonic() + timeout
    while (value := await read()) != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return int(value)


async def raw_stream_read(url: str, decoder: Callable[[bytes], Any] | None, batch: int = 2000, limit: int | None = None) -> tuple[int, float]:
    """Replay every service's stream as rebuild does (a pull consumer each, no acks, batches of 2000), without applying anything.

    ``limit``: stop once that many events were read (a sample, for the rows that only give context); returns (events read, seconds).
    """
    from nats.js.api import AckPolicy

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        seen = 0
        started = time.perf_counter()
        for service_name in SERVICES:
            info = await js.stream_info(stream_name(STREAM, service_name))
            last = info.state.last_seq
            if info.state.messages == 0:
                continue
            config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=60)
            subscription = await js.pull_subscribe(f"osv.{service_name}.>", stream=info.config.name, config=config)
            sequence = 0
            while sequence < last and (limit is None or seen < limit):
                messages = await subscription.fetch(batch, timeout=10)
                sequence = messages[-1].metadata.sequence.stream
                if decoder is not None:
                    for message in messages:
                        decoder(message.data)
                seen += len(messages)
            await subscription.unsubscribe()
        seconds = time.perf_counter() - started
        return seen, seconds
    finally:
        await nc.close()


def es_log_read(tmp: Path, count: int) -> tuple[float, int]:
    """Write ``count`` events to a plain eventsourcing log, then read it back in pages of 1000; events/s."""
    app = es_sqlite_app(tmp / "baseline-log.db")
    try:
        for start in range(0, count, 1000):
            app.save(*(Thing(n=i) for i in range(start, min(count, start + 1000))))
        started = time.perf_counter()
        position, seen, size = 0, 0, 0
        while batch := app.recorder.select_notifications(start=position, limit=1000, inclusive_of_start=False):
            seen += len(batch)
            size += sum(len(n.state) for n in batch)
            position = batch[-1].id
        seconds = time.perf_counter() - started
        assert seen == count, (seen, count)
        return rate(seen, seconds), size // max(seen, 1)
    finally:
        app.close()


def core_insert(tmp: Path, events: list[dict[str, Any]], batch: int = 2000) -> float:
    """The same fact rows inserted with bare SQLAlchemy Core (executemany), no ORM: seconds."""
    from sqlalchemy import insert

    from services.reporting.views.tables import Base, FactRow

    engine = make_engine(f"sqlite:///{tmp / 'core-insert.db'}", rebuildable=True)
    Base.metadata.create_all(engine)
    started = time.perf_counter()
    for start in range(0, len(events), batch):
        rows = [
            {
                "event_id": ce["id"],
                "source": ce["source"].removeprefix(SPEC_SOURCE_PREFIX),
                "position": int(ce["position"]),
                "type": ce["type"],
                "subject": str(ce.get("subject", "")),
                "occurred_on": date.fromisoformat((ce.get("data") or {}).get("occurred_on") or ce["time"][:10]),
                "recorded_at": datetime.fromisoformat(ce["time"].replace("Z", "+00:00")),
                "data": ce.get("data") or {},
            }
            for ce in events[start:start + batch]
        ]
        with engine.begin() as connection:
            connection.execute(insert(FactRow.__table__), rows)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def bench_rebuild(args: argparse.Namespace, tmp: Path, table: Table) -> None:
    import json

    n = args.events
    rows = table.section(f"2. rebuilding reporting's read model from the NATS stream ({n:,} events)")
    # Publishing is not measured: a stream without fsync on every write fills in a minute instead of six.
    with nats_server(tmp / "rebuild-nats", sync_always=False) as server:
        say(f"generating and publishing {n:,} events of a three-year programme into a fresh stream")
        started = time.perf_counter()
        sample = min(n, APPLY_SAMPLE)
        with step(f"generate and publish {n:,} events"):
            published = asyncio.run(publish_all(server.url, programme_events(n), keep=sample))
        total_bytes = args.stream_bytes = published.total_bytes
        say(f"  published in {time.perf_counter() - started:.1f}s ({total_bytes // n} bytes/event)")

        # The rebuild's baseline reads the whole stream; the decoding reads and the eventsourcing log, which only give
        # context, read a sample of at most CONTEXT_SAMPLE events, so the full run keeps within its time.
        reads: dict[str, tuple[int, float]] = {}
        for label, decoder in (("none", None), ("json", json.loads), ("cloudevents", decode)):
            limit = None if decoder is None else min(n, CONTEXT_SAMPLE)
            say(f"raw stream read, decode: {label}{'' if limit is None else f' (first {limit:,} events)'}")
            with step(f"raw stream read, decode {label} ({limit or n:,} events)"):
                seen, seconds = asyncio.run(raw_stream_read(server.url, decoder, limit=limit))
            if seen < (limit or n):
                raise RuntimeError(f"raw read saw {seen} of {limit or n} events")
            reads[label] = (seen, seconds)

        say("rebuild_from_stream into a fresh SQLite ReadModel")
        args.rebuilt = tmp / "rebuild-readmodel.db"
        readmodel = ReadModel(make_engine(f"sqlite:///{args.rebuilt}", rebuildable=True))
        started = time.perf_counter()
        with step(f"rebuild_from_stream ({n:,} events)"):
            rebuilt = rebuild_from_stream(readmodel, server.url, STREAM)
        rebuild_s = time.perf_counter() - started
        say(f"  {rate(rebuilt, rebuild_s):,.0f} events/s; then the checkpoints")
        started = time.perf_counter()
        with step("advance_checkpoints"):
            checkpoints = readmodel.advance_checkpoints()
        checkpoint_s = time.perf_counter() - started
        say(f"  {checkpoints} checkpoints in {checkpoint_s:.1f}s")

    say(f"ReadModel.apply alone on {sample:,} pre-decoded events (batches of 2000); the same rows via SQLAlchemy Core")
    with step(f"decode the first {sample:,} events published"):
        decoded = [decode(payload) for payload in published.kept]
    del published
    apply_model = ReadModel(make_engine(f"sqlite:///{tmp / 'apply-readmodel.db'}", rebuildable=True))
    started = time.perf_counter()
    with step(f"ReadModel.apply alone ({sample:,} events)"):
        for start in range(0, sample, 2000):
            apply_model.apply(decoded[start:start + 2000], checkpoint=False)
    apply_s = time.perf_counter() - started
    apply_model.engine.dispose()
    with step(f"SQLAlchemy Core insert ({sample:,} events)"):
        core_s = core_insert(tmp, decoded)
    del decoded

    logged = min(n, CONTEXT_SAMPLE)
    say(f"eventsourcing notification log: write {logged:,}, then read in pages of 1000")
    with step(f"eventsourcing log, write and read {logged:,}"):
        log_rate, log_bytes = es_log_read(tmp, logged)

    rebuild_rate = rate(rebuilt, rebuild_s)

    def vs(label: str, baseline: float) -> Row:
        return Row("", "", label, fmt_rate(baseline, "ev/s"), fmt_ratio(rebuild_rate, baseline))

    rows.append(Row(f"rebuild_from_stream -> ReadModel, SQLite ({total_bytes // n} B/event)", fmt_rate(rebuild_rate, "ev/s"),
                    "same stream, same pull consumer, read only", fmt_rate(rate(*reads["none"]), "ev/s"),
                    fmt_ratio(rebuild_rate, rate(*reads["none"]))))
    rows.append(vs(f"same, + json.loads (first {reads['json'][0]:,})", rate(*reads["json"])))
    rows.append(vs(f"same, + shared.events.decode, CloudEvents SDK (first {reads['cloudevents'][0]:,})", rate(*reads["cloudevents"])))
    rows.append(vs(f"eventsourcing log, select_notifications x1000 ({logged:,}, {log_bytes} B/event)", log_rate))
    rows.append(Row(f"  then {checkpoints} checkpoints of the tally (every {readmodel.checkpoint_every:,} facts)",
                    fmt_rate(rate(n, checkpoint_s), "ev/s"), "whole rebuild incl. checkpoints",
                    fmt_rate(rate(n, rebuild_s + checkpoint_s), "ev/s")))
    rows.append(Row(f"  of which ReadModel.apply alone, pre-decoded, 2000/txn ({sample:,})", fmt_rate(rate(sample, apply_s), "ev/s"),
                    "same rows, SQLAlchemy Core executemany, 2000/txn", fmt_rate(rate(sample, core_s), "ev/s"),
                    fmt_ratio(rate(sample, apply_s), rate(sample, core_s))))
    with step("latest report of the rebuilt read model"):
        totals = readmodel.report()["total"]
    table.notes.append(
        f"rebuilt read model: osvs_identified={totals['osvs_identified']}, members_joined={totals['members_joined']['total']}, "
        f"agents_of_change={totals['agents_of_change']['total']}, beneficiaries_direct={totals['beneficiaries_direct']['total']}, "
        f"seed_funds_granted_pen={totals['seed_funds_granted_pen']}; events hand-built in the catalogue's and funding contract's shapes"
    )
    table.notes.append("rebuild: its stream's nats-server runs without sync_always (filling it is not measured; reading is the same)")
    readmodel.engine.dispose()


def checkpoint_sizes(connection: Any) -> tuple[int, int]:
    """The tally's checkpoints' ``state`` bytes in all and the largest's, from the read model's own table
    (:class:`CheckpointRow`; ``connection``: ``sqlite3`` on its file). Named there, not here: the bench's own name of
    the table went stale when its version moved on, and the whole rebuild part failed."""
    total, largest = connection.execute(f"SELECT sum(length(state)), max(length(state)) FROM {CheckpointRow.__tablename__}").fetchone()
    return int(total or 0), int(largest or 0)


def bench_as_of(args: argparse.Namespace, tmp: Path, table: Table) -> None:
    """Reports as of random moments on the rebuilt read model, beside a bare SQL count of the same facts."""
    import sqlite3

    path = getattr(args, "rebuilt", None)
    if path is None:
        raise RuntimeError("needs the rebuilt read model: run with the rebuild part")
    readmodel = ReadModel(make_engine(f"sqlite:///{path}", rebuildable=True))
    samples = args.cuts
    rows = table.section(f"2b. reports as of a moment on the rebuilt read model ({args.events:,} events, {samples} random cuts)")
    collect_less_often()  # as the reporting service runs (services/reporting/bootstrap.py); the bare counts make few objects
    table.notes.append("2b: Python's cycle collector set as the reporting service sets it (every 50,000 allocations, not 700)")
    connection = sqlite3.connect(path)
    first, last = (datetime.fromisoformat(t).replace(tzinfo=timezone.utc)
                   for t in connection.execute("SELECT min(recorded_at), max(recorded_at) FROM facts").fetchone())
    rng = random.Random(5)
    cuts = [first + (last - first) * rng.random() for _ in range(samples)]

    # By zone and its GROUP BY baseline on the first ZONE_CUTS cuts only: the bare GROUP BY reads every fact up to
    # the cut (about 2 s a cut at a million events on a busy machine), and neither is a target.
    zone_cuts = cuts[:ZONE_CUTS]

    def timed(run: Callable[[datetime], Any], cuts: list[datetime] = cuts) -> list[float]:
        run(cuts[0])  # warm the page cache the same way for both
        out = []
        for cut in cuts:
            started = time.perf_counter()
            run(cut)
            out.append(time.perf_counter() - started)
        return out

    say(f"as-of: {samples} x ReadModel.report(as_of); bare sqlite3 count(*) over the same cuts")
    with step(f"ReadModel.report(as_of) x {samples}"):
        as_of = timed(lambda cut: readmodel.report(cut))
    with step(f"ReadModel.report(as_of, zone) x {len(zone_cuts)}"):
        by_zone = timed(lambda cut: readmodel.report(cut, "zone"), zone_cuts)
    stamp = "%Y-%m-%d %H:%M:%S.%f"
    with step(f"bare count(*) x {samples}"):
        count = timed(lambda cut: connection.execute("SELECT count(*) FROM facts WHERE recorded_at <= ?", (cut.strftime(stamp),)).fetchone())
    with step(f"bare count(*) GROUP BY type x {len(zone_cuts)}"):
        grouped = timed(lambda cut: connection.execute(
            "SELECT type, count(*) FROM facts WHERE recorded_at <= ? GROUP BY type", (cut.strftime(stamp),)).fetchall(), zone_cuts)
    with step(f"latest report x {samples}"):
        latest = timed(lambda _: readmodel.report())
    label = "bare sqlite3: SELECT count(*) WHERE recorded_at <= cut"
    for name, p in (("p50", 50), ("p99", 99)):
        rows.append(Row(f"ReadModel.report(as_of): {name}", fmt_ms(percentile(as_of, p)), f"{label}: {name}",
                        fmt_ms(percentile(count, p)), fmt_ratio(percentile(as_of, p), percentile(count, p))))
    rows.append(Row(f"  by zone, the first {len(zone_cuts)} cuts: p50 / slowest", f"{fmt_ms(percentile(by_zone, 50))} / {fmt_ms(max(by_zone))}",
                    "bare sqlite3: count(*) GROUP BY type, same cuts: p50 / slowest",
                    f"{fmt_ms(percentile(grouped, 50))} / {fmt_ms(max(grouped))}"))
    rows.append(Row("  latest, nothing applied since (plain GET /indicators' work): p50 / p99",
                    f"{fmt_ms(percentile(latest, 50))} / {fmt_ms(percentile(latest, 99))}"))
    with step(f"latest after each new fact x {min(samples, 40)}"):
        after_one = latest_after_each_new_fact(readmodel, last, samples=min(samples, 40))
    rows.append(Row("  latest after each new fact is applied (its tally folded on): p50 / p99",
                    f"{fmt_ms(percentile(after_one, 50))} / {fmt_ms(percentile(after_one, 99))}"))
    if args.events <= 200_000:
        cut = cuts[0]
        started = time.perf_counter()
        report(readmodel.facts(cut))
        rows.append(Row("  for contrast: full recomputation at one cut (facts() + report())", fmt_ms(time.perf_counter() - started)))
    with step("indicators export by district"):
        bench_export_by_district(readmodel, rows)
    with step("dashboard"):
        bench_dashboard(path, samples=max(5, min(samples, 30)), rows=rows, readmodel=readmodel, last=last)
    checkpoints = readmodel.checkpoints()
    size = checkpoint_sizes(connection)
    table.notes.append(f"as-of: {len(checkpoints)} checkpoints, {size[0] / 1e6:.0f} MB in all, the largest {size[1] / 1e3:.0f} kB")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    on_disk = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    facts = connection.execute("SELECT count(*) FROM facts").fetchone()[0]
    rows.append(Row(f"read model on disk: facts, ledger, indexes, {len(checkpoints)} checkpoints ({on_disk / 1e6:,.0f} MB)",
                    f"{on_disk / facts:,.0f} B/event", "the same events in the NATS streams", f"{args.stream_bytes / args.events:,.0f} B/event",
                    fmt_ratio(on_disk / facts, args.stream_bytes / args.events)))
    with step("first report after a new phase"):
        bench_first_report_after_a_phase(path, readmodel, last, rows)
    connection.close()
    readmodel.engine.dispose()


def bench_export_by_district(readmodel: ReadModel, rows: list[Row]) -> None:
    """GET /indicators/export.xlsx?by=district's work on the latest report: the XLSX beside the CSV of the same rows.
    Each row's cells were found again through openpyxl's ``max_row``, a scan of the whole sheet: a minute for 5,430 rows
    (tester 212 F5)."""
    by_district = readmodel.report(None, "district")
    generated = datetime.now(timezone.utc)
    count = sum(1 for _ in exports.rows(by_district))
    started = time.perf_counter()
    exports.to_xlsx(by_district, None, generated)
    xlsx = time.perf_counter() - started
    started = time.perf_counter()
    exports.to_csv(by_district, None, generated)
    csv = time.perf_counter() - started
    rows.append(Row(f"  XLSX export of the latest report by district ({count:,} rows)", fmt_ms(xlsx),
                    "the same rows as CSV", fmt_ms(csv), fmt_ratio(xlsx, csv)))


ZONE_CUTS = 20
"""Cuts of the as-of report by zone and of its bare GROUP BY baseline (the first ones of the run's random cuts)."""


def fact_event(source: str, kind: str, position: int, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """One CloudEvent recorded at ``at``, as a service's relay publishes it (for facts added to a rebuilt read model)."""
    return {"specversion": "1.0", "id": f"{source}:{position}", "source": SPEC_SOURCE_PREFIX + source, "type": kind,
            "subject": str(data.get("member_id") or data.get("phase_id")), "time": at.isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json", "position": position, "data": data}


def latest_after_each_new_fact(readmodel: ReadModel, last: datetime, samples: int) -> list[float]:
    """Apply one new member at a time (recorded after everything), each followed by the latest report: seconds of each report."""
    osv = readmodel.facts(types=["OSVMapped"])[-1].data["osv_id"]
    out = []
    for i in range(samples):
        at = last + timedelta(seconds=i + 1)
        member = str(uuid.uuid4())
        readmodel.apply([fact_event("engagement", "MemberJoined", 10**9 + i, at, {
            "member_id": member, "membership_id": str(uuid.uuid4()), "osv_id": osv, "role": "member", "nationality": "VE", "sex": "F",
            "age_band": "30-44", "joined_on": at.date().isoformat(), "occurred_on": at.date().isoformat()})], checkpoint=False)
        started = time.perf_counter()
        readmodel.report()
        out.append(time.perf_counter() - started)
    return out


def bench_first_report_after_a_phase(path: Path, readmodel: ReadModel, last: datetime, rows: list[Row]) -> None:
    """Open a new phase as the consumer applies it (with its checkpoint step), then time the first GET /indicators that lists it.

    Reporting's app (its own ReadModel on the same file, as a replica) answers; the phase is applied beside it.
    """
    from fastapi.testclient import TestClient

    from services.reporting.api import create_app

    with TestClient(create_app(reporting_settings(path)), headers=headers()) as client:
        with step("the service's first GET /indicators (warm-up)"):
            client.get("/indicators").raise_for_status()  # warm: cached, as a quiet service has it
        started = time.perf_counter()
        client.get("/indicators").raise_for_status()
        quiet = time.perf_counter() - started
        at = last + timedelta(hours=1)
        phase = str(uuid.uuid4())
        say("first report after opening a new phase (PhaseOpened applied, then GET /indicators)")
        started = time.perf_counter()
        readmodel.apply([fact_event("funding", "PhaseOpened", 10**9, at, {
            "phase_id": phase, "code": "F9", "name": "Fase 9", "starts_on": "2024-07-01", "ends_on": "2024-12-31",
            "occurred_on": "2024-07-01"})])
        applied = time.perf_counter() - started
        answer = client.get("/indicators")
        answer.raise_for_status()
        first = time.perf_counter() - started
        if "F9" not in [p["code"] for p in answer.json()["phases"]]:
            raise RuntimeError("the first report after PhaseOpened does not list the phase")
    rows.append(Row("first GET /indicators listing a phase just opened (apply + report)", fmt_ms(first),
                    "GET /indicators, nothing new (cached)", fmt_ms(quiet), fmt_ratio(first, quiet)))
    rows.append(Row("  of which the consumer's apply (PhaseOpened, and its checkpoint step)", fmt_ms(applied)))


NO_FEED_ROUND_SECONDS = 3600.0
"""How often the bench's in-process reporting compares its read model with the write services' feeds: never, within a
bench run. Its streams are hand-built, with holes (a phase opened at position 10**9), and no service serves their feeds;
at reporting's 5 s its feed follower logged, twice a dashboard part, the ERROR "events of registry missing and not
fetched from its feed", an alarm of the real service's that says nothing of the bench (maintainers' note, helper 255)."""


def reporting_settings(path: Path) -> Any:
    """Reporting on the rebuilt read model; NATS is not needed to read (the service keeps trying to connect and answers).

    No feed to read (``feed_urls`` empty: the defaults, 127.0.0.1:8001-8003, would ask whatever ``make run`` serves
    there), and no round of its feed follower after the first (:data:`NO_FEED_ROUND_SECONDS`), which only notes the
    holes: a hole is the alarm once it outlives a round."""
    from services.reporting.settings import ReportingSettings
    from shared.auth import AuthSettings

    return ReportingSettings(database_url=f"sqlite:///{path}", nats_url=f"nats://127.0.0.1:{free_port()}",
                             checkpoint_settle_seconds=3600, auth=AuthSettings(issuer=SIGNED_IN["env"]["OSV_AUTH_ISSUER"]),
                             feed_urls={}, follow_interval_seconds=NO_FEED_ROUND_SECONDS)


def bench_dashboard(path: Path, samples: int, rows: list[Row], readmodel: ReadModel, last: datetime) -> None:
    """GET /dashboard (Spanish, by zone, with alerts) on the rebuilt read model, beside a bare FastAPI page of the same size:
    the page cached; made afresh in another alerts window (every fact read again for the alerts); and after each new
    fact, a meeting or a member recorded after everything and applied by ``readmodel`` (a replica beside the service's),
    as a day of fieldwork brings them: the page, the alerts and the latest tally made again at the new revision; and
    after each late fact, recorded before those (one service's feed behind another's)."""
    import sqlite3

    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse
    from fastapi.testclient import TestClient

    from services.reporting.api import create_app

    settings = reporting_settings(path)

    def timed(client: TestClient, url: str | Callable[[int], str]) -> tuple[list[float], int]:
        url_of = url if callable(url) else (lambda _: url)
        size = len(client.get(url_of(samples)).content)  # warm
        out = []
        for i in range(samples):
            url = url_of(i)  # before the clock: after_a_new_fact applies its fact here
            started = time.perf_counter()
            response = client.get(url)
            out.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
        return out, size

    say(f"dashboard: {samples} x GET /dashboard, {samples} pages made afresh, {samples} after a new fact, {samples} after a late one; "
        "a bare FastAPI page of the same size")
    with TestClient(create_app(settings), headers=headers()) as client:
        page, size = timed(client, "/dashboard")
        # Another alerts window each time: the page's cache misses, alerts and page are made again (the latest tally
        # stays cached until a fact arrives; folding one on is the "latest after each new fact" row of 2b).
        afresh, _ = timed(client, lambda i: f"/dashboard?days={31 + i}")
        osvs = [f.data["osv_id"] for f in readmodel.facts(types=["OSVMapped"])[-samples - 1:]]
        with contextlib.closing(sqlite3.connect(path)) as connection:  # new positions: each fact is new to the ledger
            after = int(connection.execute("SELECT max(position) FROM facts WHERE source = 'engagement'").fetchone()[0] or 0)

        def joined(position: int, at: datetime, osv_id: str) -> dict[str, Any]:
            on = at.date().isoformat()
            return fact_event("engagement", "MemberJoined", position, at, {
                "member_id": str(uuid.uuid4()), "membership_id": str(uuid.uuid4()), "osv_id": osv_id, "role": "member",
                "nationality": "VE", "sex": "F", "age_band": "30-44", "joined_on": on, "occurred_on": on})

        def after_a_new_fact(i: int) -> str:
            # The warm-up's (i == samples) is the first fact recorded, each timed one recorded after it: recorded after
            # everything, as a day's facts arrive; were it the last, every timed one would arrive late (recorded before a
            # fact applied already), which has the latest tally made again from its checkpoint.
            k = (i + 1) % (samples + 1)
            at = last + timedelta(minutes=10, seconds=k + 1)  # after latest_after_each_new_fact's, before the new phase
            on = at.date().isoformat()
            fact = joined(after + 1 + k, at, osvs[k % len(osvs)]) if k % 2 == 0 else fact_event(
                "engagement", "FollowUpMeetingHeld", after + 1 + k, at, {
                    "osv_id": osvs[k % len(osvs)], "meeting_id": str(uuid.uuid4()), "held_on": on, "mode": "in_person",
                    "attendee_count": 6, "topics": ["project_follow_up"], "action_items": [], "occurred_on": on})
            readmodel.apply([fact], checkpoint=False)  # not timed: the consumer's apply
            return "/dashboard"

        after_fact, _ = timed(client, after_a_new_fact)

        def after_a_late_fact(i: int) -> str:
            # Recorded half a second before the first of after_a_new_fact's: a fact of a feed behind another's, which
            # arrives after facts recorded later than it (the latest tally is made again from its checkpoint).
            at = last + timedelta(minutes=10, milliseconds=500 - i)
            readmodel.apply([joined(after + samples + 2 + i, at, osvs[i % len(osvs)])], checkpoint=False)
            return "/dashboard"

        after_late_fact, _ = timed(client, after_a_late_fact)
    bare = FastAPI()
    body = "<!doctype html><html><body>" + "x" * max(size - 40, 0) + "</body></html>"

    @bare.get("/page", response_class=HTMLResponse)
    def static_page() -> str:
        return body

    with TestClient(bare) as client:
        baseline, _ = timed(client, "/page")
    for name, p in (("p50", 50), ("p99", 99)):
        rows.append(Row(f"GET /dashboard ({size / 1e3:.0f} kB, by zone, with alerts), page cached: {name}", fmt_ms(percentile(page, p)),
                        f"bare FastAPI: a static page of the same size: {name}", fmt_ms(percentile(baseline, p)),
                        fmt_ratio(percentile(page, p), percentile(baseline, p))))
    for name, p in (("p50", 50), ("p99", 99)):
        rows.append(Row(f"GET /dashboard, page and alerts made afresh: {name}", fmt_ms(percentile(afresh, p)),
                        f"bare FastAPI: a static page of the same size: {name}", fmt_ms(percentile(baseline, p)),
                        fmt_ratio(percentile(afresh, p), percentile(baseline, p))))
    for name, p in (("p50", 50), ("p99", 99)):
        rows.append(Row(f"GET /dashboard after each new fact (a meeting, a member): {name}", fmt_ms(percentile(after_fact, p)),
                        f"bare FastAPI: a static page of the same size: {name}", fmt_ms(percentile(baseline, p)),
                        fmt_ratio(percentile(after_fact, p), percentile(baseline, p))))
    for name, p in (("p50", 50), ("p99", 99)):
        rows.append(Row(f"GET /dashboard after each late fact (recorded before facts applied already): {name}",
                        fmt_ms(percentile(after_late_fact, p)),
                        f"bare FastAPI: a static page of the same size: {name}", fmt_ms(percentile(baseline, p)),
                        fmt_ratio(percentile(after_late_fact, p), percentile(baseline, p))))


# --------------------------------------------------------------------------
# 3. Command-to-indicator latency
# --------------------------------------------------------------------------


async def bare_jetstream_latency(url: str, samples: int, jitter: float, seed: int = 7) -> list[float]:
    """Bare nats-py: publish one message (acked by JetStream) until a waiting durable pull consumer holds it."""
    from nats.js.api import StreamConfig

    rng = random.Random(seed)
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="BENCHLAT", subjects=["benchlat.>"]))
        subscription = await js.pull_subscribe("benchlat.>", durable="benchlat", stream="BENCHLAT")
        payload = encode(realistic_cloudevents(1)[0])
        out: list[float] = []
        for i in range(samples + 5):
            await asyncio.sleep(rng.uniform(0, jitter))
            fetch = asyncio.create_task(subscription.fetch(1, timeout=5))
            await asyncio.sleep(0.002)  # let the pull request reach the server, as a waiting consumer's would be
            started = time.perf_counter()
            await js.publish("benchlat.x", payload, headers={"Nats-Msg-Id": f"bench:{i}"})
            messages = await fetch
            if i >= 5:
                out.append(time.perf_counter() - started)
            await messages[0].ack()
        await js.delete_stream("BENCHLAT")
        return out
    finally:
        await nc.close()


RELAY_POLL_SECONDS = float(ServiceSettings.model_fields["relay_poll_seconds"].default)


async def stream_timestamps(url: str) -> dict[str, float]:
    """When JetStream stored each OSVMapped event (server clock, same machine), by OSV id."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        registry = stream_name(STREAM, "registry")
        last = (await js.stream_info(registry)).state.last_seq
        subscription = await js.subscribe(
            "osv.registry.*.OSVMapped", stream=registry, ordered_consumer=True, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        )
        out: dict[str, float] = {}
        sequence = 0
        while sequence < last:
            try:
                message = await subscription.next_msg(timeout=2)
            except TimeoutError:
                break
            sequence = message.metadata.sequence.stream
            out[str(decode(message.data)["subject"])] = message.metadata.timestamp.timestamp()
        await subscription.unsubscribe()
        return out
    finally:
        await nc.close()


def bench_latency(args: argparse.Namespace, tmp: Path, table: Table) -> None:
    rows = table.section(f"3. command-to-indicator latency ({args.samples} samples, polling every {args.poll_ms:g} ms)")
    var = tmp / "latency-var"
    poll = args.poll_ms / 1000
    jitter = args.jitter_ms / 1000
    rng = random.Random(11)
    with nats_server(tmp / "latency-nats") as server:
        say(f"bare JetStream publish -> pull consumer: {args.samples} samples")
        with step(f"bare JetStream latency x {args.samples}"):
            bare = asyncio.run(bare_jetstream_latency(server.url, args.samples, jitter))
        with service("registry", var, server.url, tmp) as registry, \
                service("reporting", var, server.url, tmp) as reporting, \
                httpx.Client(base_url=registry.url, timeout=10.0, headers=headers()) as writer, \
                httpx.Client(base_url=reporting.url, timeout=10.0, headers=headers()) as reader:

            def identified() -> int:
                response = reader.get("/indicators")
                response.raise_for_status()
                return int(response.json()["total"]["osvs_identified"])

            answered_at: dict[str, float] = {}  # OSV id -> wall-clock time of the 201
            totals: dict[str, float] = {}  # OSV id -> 201 until counted

            def one(i: int) -> float:
                before = identified()
                time.sleep(rng.uniform(0, jitter))  # do not stay in step with the relay's polling
                response = writer.post("/osvs", json=osv_body(i))
                answered, answered_wall = time.perf_counter(), time.time()
                if response.status_code != 201:
                    raise RuntimeError(f"POST /osvs answered {response.status_code}: {response.text[:200]}")
                answered_at[response.json()["id"]] = answered_wall
                deadline = answered + 30
                while True:
                    polled = time.perf_counter()
                    if identified() > before:
                        totals[response.json()["id"]] = time.perf_counter() - answered
                        return totals[response.json()["id"]]
                    if polled > deadline:
                        raise RuntimeError("reporting did not count the new OSV within 30s")
                    time.sleep(max(0.0, poll - (time.perf_counter() - polled)))

            say("latency: warm-up")
            for i in range(5):
                one(i)
            say(f"latency: {args.samples} samples")
            answered_at.clear()
            totals.clear()
            seen = [one(1000 + i) for i in range(args.samples)]
            stored_at = asyncio.run(stream_timestamps(server.url))
            poll_started = time.perf_counter()
            for _ in range(20):
                identified()
            poll_cost = (time.perf_counter() - poll_started) / 20

    label = "nats-py publish -> waiting pull consumer"
    rows.append(Row("POST /osvs 201 -> GET /indicators counts it: median", fmt_ms(statistics.median(seen)),
                    label + ": median", fmt_ms(statistics.median(bare)), fmt_ratio(statistics.median(seen), statistics.median(bare))))
    rows.append(Row("                                              p99", fmt_ms(percentile(seen, 99)),
                    label + ": p99", fmt_ms(percentile(bare, 99)), fmt_ratio(percentile(seen, 99), percentile(bare, 99))))
    rows.append(Row("                                        min / max", f"{fmt_ms(min(seen))} / {fmt_ms(max(seen))}",
                    label + ": min / max", f"{fmt_ms(min(bare))} / {fmt_ms(max(bare))}"))
    relay = [stored_at[osv_id] - wall for osv_id, wall in answered_at.items() if osv_id in stored_at]
    rest = [totals[osv_id] - (stored_at[osv_id] - wall) for osv_id, wall in answered_at.items() if osv_id in stored_at]
    if relay:
        rows.append(Row("  of which 201 -> stored in JetStream (relay): median / p99",
                        f"{fmt_ms(statistics.median(relay))} / {fmt_ms(percentile(relay, 99))}",
                        "the relay's poll interval, relay_poll_seconds (default)", fmt_ms(RELAY_POLL_SECONDS)))
        rows.append(Row("  of which stored -> counted (consumer, apply, poll): median / p99",
                        f"{fmt_ms(statistics.median(rest))} / {fmt_ms(percentile(rest, 99))}"))
    rows.append(Row(f"  one GET /indicators at the end (~{args.samples + 5} facts)", fmt_ms(poll_cost)))


# --------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the same table on small counts, within 3 minutes (make bench QUICK=1)")
    parser.add_argument("--commands", type=int, help="commands per write service (default 2000; quick 300)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent HTTP clients (default 4)")
    parser.add_argument("--many-clients", type=int, default=16, help="concurrent clients and threads of section 1b (default 16)")
    parser.add_argument("--warmup", type=int, help="untimed commands before each timed run (default 50; quick 10)")
    parser.add_argument("--events", type=int, help="events in the rebuild stream (default 1000000; quick 10000)")
    parser.add_argument("--cuts", type=int, help="random as-of moments timed (default 200; quick 40)")
    parser.add_argument("--samples", type=int, help="latency samples (default 200; quick 30)")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="GET /indicators polling interval (default 5 ms)")
    parser.add_argument("--jitter-ms", type=float, default=60.0, help="random pause before each latency sample (default 0-60 ms)")
    parser.add_argument("--only", choices=["commands", "rebuild", "latency"], action="append", help="run only these parts (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    parser.add_argument("--budget", type=float, help="seconds after which a part not yet started is skipped (default 1080; quick 150)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.commands = args.commands or (300 if quick else 2000)
    args.warmup = args.warmup if args.warmup is not None else (10 if quick else 50)
    args.events = args.events or (10_000 if quick else 1_000_000)
    args.cuts = args.cuts or (40 if quick else 200)
    args.samples = args.samples or (30 if quick else 200)
    args.budget = args.budget or (150.0 if quick else 1080.0)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parts = args.only or ["commands", "rebuild", "latency"]
    tmp = Path(tempfile.mkdtemp(prefix="osv-bench-"))
    table = Table()
    started = time.perf_counter()
    failed = False
    provider = IdentityProvider(tmp / "idp", port=0)
    try:
        provider.start()
        for part, runner in (
            ("commands", bench_commands), ("commands", bench_many_clients), ("rebuild", bench_rebuild), ("rebuild", bench_as_of),
            ("latency", bench_latency),
        ):
            if part in parts:
                if time.perf_counter() - started > args.budget:
                    failed = True
                    table.notes.append(f"{runner.__name__} skipped: the run had used its {args.budget:.0f} s budget (--budget)")
                    continue
                try:
                    sign_in(provider)
                    with step(runner.__name__):
                        runner(args, tmp, table)
                except Exception as error:  # noqa: BLE001 - one part failing still prints the others
                    failed = True
                    table.notes.append(f"{part} part failed: {type(error).__name__}: {str(error)[:800]}")
                    say(f"{part} failed: {error}")
    finally:
        provider.stop()
        if args.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.perf_counter() - started
    print(f"osv-platform bench{' (--quick)' if args.quick else ''}: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"everything on 127.0.0.1, nats-server with JetStream sync_always; run took {elapsed:.0f}s")
    table.notes.extend(SLOW_STOPS)
    print(table.render())
    print(f"Wall time of each step (over 0.5 s; {elapsed:.0f} s in all):")
    print(wall_times())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
