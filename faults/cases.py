"""The fault cases: each starts real processes, puts them under load, breaks something mid-load, and audits.

Every case returns a :class:`faults.audit.Row`. ``quick=True`` runs a case
small enough for the test suite (a few hundred commands); the full size is
what ``make faults`` runs.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.embedded import PostgresServer
from devtools.identity import SERVICE_CLIENT, IdentityProvider
from faults.audit import Recovery, Row, audit, out_of_order, read_feed, wait_settled
from faults.load import (
    Command,
    Load,
    activity_command,
    grant_command,
    meeting_command,
    member_command,
    osv_command,
)
from faults.processes import (
    SERVICES,
    FaultError,
    InFlight,
    Layout,
    NatsCluster,
    SignIn,
    System,
    eventually,
    set_max_msg_size,
    single_nats,
    stream_ids,
    stream_leader,
)

STREAM_OF = {"registry": "OSV_REGISTRY", "funding": "OSV_FUNDING", "engagement": "OSV_ENGAGEMENT"}
"""Each write service's JetStream stream (one per service since issue 9)."""
CLIENTS = 4
SETTLE_SECONDS = 120.0
"""How long a case waits, after its last command, for reporting to count everything before it calls the rest lost."""


FAULTS_ACCOUNT = "faults"
"""The account the load and the audit act as: it records every kind of command and reads the feeds and the evidence."""
FAULTS_ROLES = ("lead", "auditor")


class Workbench:
    """Where the cases keep their files, and what the run shares: one PostgreSQL server and one identity provider (each started on first use)."""

    def __init__(self, root: Path, postgres: PostgresServer | None = None) -> None:
        self.root = root
        self._postgres = postgres
        self._own_postgres = postgres is None
        self._identity: IdentityProvider | None = None

    def directory(self, case: str) -> Path:
        path = self.root / case
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def postgres(self) -> PostgresServer:
        if self._postgres is None:
            self._postgres = PostgresServer(settings={"max_connections": 400}).start()
        return self._postgres

    def databases(self, case: str, services: Sequence[str] = SERVICES) -> dict[str, str]:
        """A fresh PostgreSQL database per service for ``case``."""
        tag = uuid.uuid4().hex[:6]
        return {name: self.postgres.create_database(f"{case}_{name}_{tag}".lower()) for name in services}

    @property
    def identity(self) -> IdentityProvider:
        """The run's OpenID Connect provider (the embedded Canaille), with the :data:`FAULTS_ACCOUNT`."""
        if self._identity is None:
            self._identity = IdentityProvider(
                self.root / "idp", port=0, extra_accounts={FAULTS_ACCOUNT: FAULTS_ROLES}
            ).start()
        return self._identity

    def sign_in(self) -> SignIn:
        """The services' token settings and a fresh token for the load and the audit (valid for an hour: one per case)."""
        provider = self.identity
        env = {"OSV_AUTH_ISSUER": provider.issuer, "OSV_AUTH_SERVICE_CLIENT_SECRET": provider.client_secret(SERVICE_CLIENT)}
        return SignIn(env=env, headers={"Authorization": f"Bearer {provider.token(FAULTS_ACCOUNT)}"})

    def close(self) -> None:
        if self._identity is not None:
            self._identity.stop()
            self._identity = None
        if self._postgres is not None and self._own_postgres:
            self._postgres.stop()
            self._postgres = None


# -- building blocks ------------------------------------------------------------------------------


def layout(bench: Workbench, case: str, nats_url: str, **options: Any) -> Layout:
    directory = bench.directory(case)
    logs = directory / "logs"
    logs.mkdir(exist_ok=True)
    return Layout(nats_url=nats_url, var_dir=directory / "var", log_dir=logs, sign_in=bench.sign_in(), **options)


def client_urls(system: System) -> Callable[[str, int], str]:
    """Client ``n`` talks to replica ``n`` of each service (modulo how many there are)."""
    return lambda service, client: system.url(service, client)


def map_pool(system: System, label: str, count: int) -> list[tuple[str, str]]:
    """Map ``count`` OSVs before the case's load and wait until funding's and engagement's views know them: (id, district) each."""
    if count == 0:
        return []
    commands = [osv_command(f"{label} pool", i) for i in range(count)]
    Load(commands, client_urls(system), CLIENTS, headers=system.headers).run()
    refused = [c for c in commands if c.status != "acknowledged"]
    if refused:
        raise FaultError(f"mapping the pool: {len(refused)} OSVs not mapped, e.g. {refused[0].status} {refused[0].answer}")
    head = read_feed(system.url("registry"), system.headers)[-1]["position"]
    for name in ("funding", "engagement"):
        for process in system.replicas[name]:
            eventually(lambda p=process: views_applied(p.health(), "registry", head), 120, f"{process.label} knows the pool's OSVs")
    return [(str(c.answer), str(c.body["district"])) for c in commands]


def views_applied(health: dict[str, Any], source: str, head: int) -> bool:
    views = health.get("views") or {}
    floors = [state["applied_floor"] for view in views.values() for name, state in view.items() if name == source]
    return bool(floors) and min(floors) >= head


def mixed(label: str, pool: Sequence[tuple[str, str]], osvs: int, grants: int = 0, members: int = 0, activities: int = 0) -> list[Command]:
    """OSVs to registry, grants to funding, members and activities to engagement, interleaved; each non-OSV command on its own pool OSV."""
    if grants + members + activities > len(pool):
        raise ValueError("the pool holds fewer OSVs than the commands need")
    targets = iter(pool)
    streams = [
        [osv_command(label, i) for i in range(osvs)],
        [grant_command(next(targets)[0]) for _ in range(grants)],
        [member_command(next(targets)[0], i) for i in range(members)],
        [activity_command(*next(targets)) for _ in range(activities)],
    ]
    # Each kind spread evenly over the run: ordered by how far into its own kind a command is.
    return [command for _, command in sorted(((i / len(s), n), c) for n, s in enumerate(streams) for i, c in enumerate(s))]


def send(system: System, commands: Sequence[Command], retry_for: float = 60.0) -> None:
    """Send commands one after the other from one more client (an operator's), with keys and retries like the load's."""
    Load(commands, client_urls(system), clients=1, retry_for=retry_for, headers=system.headers).run()


def finish(
    case: str, system: System, load: Load, recovery: Recovery | None, extra: Sequence[Command] = (), settle: float = SETTLE_SECONDS
) -> Row:
    """Wait for the load's last answer, then for the system to settle, and audit every command.

    The row's seconds are the ``recovery``'s (from the end of the fault), or
    the time to settle after the last answer when the case had no single
    moment of fault; None if either never came.
    """
    load.wait()
    settled_in, pending = wait_settled(system, settle)
    seconds = recovery.wait() if recovery is not None else settled_in
    row = audit(case, system, [*load.commands, *extra], seconds if pending is None else None)
    if pending is not None:
        row.notes.append(f"not settled after {settle:.0f} s: {pending}")
    retried = sum(1 for c in [*load.commands, *extra] if c.attempts > 1)
    if retried:
        replays = sum(c.replayed for c in load.commands)
        seen = ", ".join(f"{n} x {error}" for error, n in Counter(load.errors).most_common(4))
        row.notes.append(f"{retried} commands retried with their key, {replays} answered as replays; clients saw {seen}")
    for stream in sorted(set(STREAM_OF.values())):
        disorder = out_of_order(stream_ids(system.layout.nats_url, stream))
        if disorder:
            row.notes.append(f"{stream}: {disorder}")
            row.failure = row.failure or f"{stream} does not hold each event once in log order"
    return row


@contextlib.contextmanager
def nats_single(directory: Path) -> Iterator[Any]:
    server = single_nats(directory / "nats")
    try:
        yield server.start()
    finally:
        server.stop()


def mid_load(load: Load) -> str:
    """When a fault struck, for its row."""
    return f"after {load.acknowledged:,} of {len(load.commands):,} commands were acknowledged"


def relay_of(system: System, service: str) -> dict[str, Any]:
    return system.first(service).health().get("relay", {})


# -- the cases -------------------------------------------------------------------------------------


def refused_publish(bench: Workbench, quick: bool = False) -> Row:
    """The stream refuses engagement's events for a while (max_msg_size 700 B): an activity, then a meeting for its OSV, keep their order and count."""
    case = "refused_publish"
    directory = bench.directory(case)
    with nats_single(directory) as nats_server, System(layout(bench, case, nats_server.url)) as system:
        pool = map_pool(system, case, 16 if quick else 61)
        special, pool = pool[0], pool[1:]
        n = (60, 5, 5) if quick else (300, 20, 20)
        load = Load(mixed(case, pool, osvs=n[0], grants=n[1], members=n[2], activities=n[2]), client_urls(system), CLIENTS, headers=system.headers).start()
        load.wait_acknowledged(len(load.commands) // 4)
        stream = STREAM_OF["engagement"]
        set_max_msg_size(nats_server.url, stream, 700)
        strike = [activity_command(*special), meeting_command(special[0])]
        send(system, strike)
        try:
            held = eventually(lambda: relay_of(system, "engagement").get("blocked_on"), 20, "the stream refusing engagement's activity")
            fault = f"engagement's relay held on position {held} while the stream took at most 700 bytes; limit restored 3 s later"
        except FaultError as error:
            fault = None
            failure = f"the fault did not happen: {error}"
        time.sleep(3)
        set_max_msg_size(nats_server.url, stream, -1)
        row = finish(case, system, load, Recovery(system).start(), strike)  # also checks that the stream kept the activity before the meeting
        row.fault = fault
        if fault is None:
            row.failure = row.failure or failure
        return row


OVERSIZED_LIMIT = 2000
"""The engagement stream's largest message in ``oversized_event``: every event of the load fits (under 1 KB), a meeting with 50 actions (4.5 KB) does not."""


def oversized_event(bench: Workbench, quick: bool = False) -> Row:
    """A meeting whose event is over the stream's largest message: stepped over, fetched from the feed.

    Requests are bounded (body size, list lengths), so no command can make an
    event over NATS's 1 MB: the stream's own limit is lowered instead
    (:data:`OVERSIZED_LIMIT`), for good, below the meeting and above the rest.
    The relay steps over an event the stream refused 3 times in a row (8 by
    default, which takes about 20 s of backoff).
    """
    case = "oversized_event"
    directory = bench.directory(case)
    options = {"extra_env": {"engagement": {"ENGAGEMENT_RELAY_REFUSAL_ATTEMPTS": "3"}}}
    with nats_single(directory) as nats_server, System(layout(bench, case, nats_server.url, **options)) as system:
        pool = map_pool(system, case, 18 if quick else 63)
        special, pool = pool[:3], pool[3:]
        n = (60, 5, 5) if quick else (300, 20, 20)
        load = Load(mixed(case, pool, osvs=n[0], grants=n[1], members=n[2], activities=n[2]), client_urls(system), CLIENTS, headers=system.headers).start()
        load.wait_acknowledged(len(load.commands) // 4)
        # The meeting, then more of engagement's events after it, whatever the load is doing by then.
        set_max_msg_size(nats_server.url, STREAM_OF["engagement"], OVERSIZED_LIMIT)
        strike = [meeting_command(special[0][0], actions=50), activity_command(*special[1]), member_command(special[2][0], 0)]
        send(system, strike)
        recovery = Recovery(system).start()
        try:
            stepped = eventually(lambda: relay_of(system, "engagement").get("stepped_over"), 60, "engagement's relay stepping over the meeting")
            fault = f"engagement's relay stepped over position {stepped[0]['position']} ({stepped[0]['reason'][:60]})"
        except FaultError as error:
            fault = None
            failure = f"the fault did not happen: {error}"
        row = finish(case, system, load, recovery, strike)
        row.fault = fault
        if fault is None:
            row.failure = row.failure or failure
        return row


def nats_killed(bench: Workbench, quick: bool = False) -> Row:
    """``kill -9`` of nats-server mid-load, with what it was sending still in flight; started again a second later.

    Every service reaches nats-server through an :class:`InFlight` relay,
    which holds what the server sends for half a second before the kill and
    loses it with the server: deliveries the consumers' state counts as
    delivered, and acks the relays wait for, that never arrive.
    """
    case = "kill_nats"
    directory = bench.directory(case)
    with nats_single(directory) as nats_server, contextlib.closing(InFlight(nats_server.port).start()) as wire:
        # The services sign in as the programme's user, through the relay: its address with nats_server.url's credentials.
        signed_in = nats_server.url.replace(nats_server.public_url.removeprefix("nats://"), wire.url.removeprefix("nats://"))
        through = {name: {f"{name.upper()}_NATS_URL": signed_in} for name in SERVICES}
        with System(layout(bench, case, nats_server.url, extra_env=through)) as system:
            pool = map_pool(system, case, 0 if quick else 60)
            commands = mixed(case, pool, osvs=300) if quick else mixed(case, pool, osvs=800, grants=30, members=30)
            load = Load(commands, client_urls(system), CLIENTS, headers=system.headers).start()
            load.wait_acknowledged(len(commands) // 3)
            when = mid_load(load)
            wire.hold()
            eventually(lambda: wire.held_bytes, 10, "nats-server sending something")
            time.sleep(0.5)
            held = wire.held_bytes
            nats_server.kill()
            wire.lose()
            time.sleep(1.0)
            nats_server.start()
            row = finish(case, system, load, Recovery(system).start())
            row.fault = f"nats-server killed with {held:,} bytes it had sent still in flight, {when}; started again 1 s later"
            return row


def nats_restarted_twice(bench: Workbench, quick: bool = False) -> Row:
    """3,000 OSVs from four clients; ``kill -9`` of nats-server, restarted, killed again 0.6 s later, restarted."""
    case = "double_nats_restart"
    directory = bench.directory(case)
    with nats_single(directory) as nats_server, System(layout(bench, case, nats_server.url)) as system:
        commands = [osv_command(case, i) for i in range(600 if quick else 3000)]
        load = Load(commands, client_urls(system), CLIENTS, headers=system.headers).start()
        load.wait_acknowledged(len(commands) // 4)
        when = mid_load(load)
        nats_server.kill()
        nats_server.start()
        time.sleep(0.6)
        nats_server.kill()
        nats_server.start()
        row = finish(case, system, load, Recovery(system).start())
        row.fault = f"nats-server killed, restarted, killed again 0.6 s later and restarted, {when}"
        return row


def replicas(bench: Workbench, quick: bool = False) -> Row:
    """Two replicas of each service, clients spread over them: reporting's (and, in the full run, funding's) sharing one
    PostgreSQL database, the others one SQLite store, as ``make run`` serves the write services (``<SERVICE>_WORKERS``)."""
    case = "replicas"
    directory = bench.directory(case)
    on_postgres = ("funding", "reporting") if not quick else ("reporting",)
    counts = dict.fromkeys(SERVICES, 2)
    with nats_single(directory) as nats_server:
        options = {"replicas": counts, "database_urls": bench.databases(case, on_postgres)}
        with System(layout(bench, case, nats_server.url, **options)) as system:
            pool = map_pool(system, case, 45 if quick else 120)
            commands = mixed(case, pool, osvs=200, grants=15, members=15, activities=15) if quick else mixed(case, pool, osvs=800, grants=100, members=20)
            load = Load(commands, client_urls(system), CLIENTS, headers=system.headers).start()
            row = finish(case, system, load, None)
            shared = []
            for name in SERVICES:
                roles = sorted(p.health().get("relay", {}).get("role", "?") if name != "reporting" else "consumer" for p in system.replicas[name])
                store = "one PostgreSQL database" if name in on_postgres else "one SQLite store"
                shared.append(f"{len(roles)} {name} replicas on {store} ({', '.join(roles)})")
            row.fault = "; ".join(shared)
            return row


def stream_leader_killed(bench: Workbench, quick: bool = False) -> Row:
    """A 3-node JetStream cluster on loopback, streams with 3 replicas: ``kill -9`` of the registry stream's leader mid-load."""
    case = "kill_stream_leader"
    directory = bench.directory(case)
    with NatsCluster(directory / "cluster") as cluster:
        with System(layout(bench, case, cluster.url, stream_replicas=3)) as system:
            pool = map_pool(system, case, 40)
            commands = mixed(case, pool, osvs=600, grants=20, members=20)
            load = Load(commands, client_urls(system), CLIENTS, headers=system.headers).start()
            load.wait_acknowledged(len(commands) // 3)
            leader = stream_leader(cluster.url, STREAM_OF["registry"])
            if leader is None:
                raise FaultError("the registry stream has no cluster leader")
            when = mid_load(load)
            cluster.kill_node(leader)
            recovery = Recovery(system).start()  # the cluster goes on without the node
            time.sleep(3.0)
            cluster.start_node(leader)
            row = finish(case, system, load, recovery)
            now = stream_leader(cluster.url, STREAM_OF["registry"])
            row.fault = f"killed {leader}, leading {STREAM_OF['registry']}, {when}; back 3 s later, {now} leads it now"
            return row


def reporting_killed(bench: Workbench, quick: bool = False) -> Row:
    """``kill -9`` of reporting mid-load, started again a second later."""
    case = "kill_reporting"
    directory = bench.directory(case)
    with nats_single(directory) as nats_server, System(layout(bench, case, nats_server.url)) as system:
        pool = map_pool(system, case, 40)
        commands = mixed(case, pool, osvs=600, grants=20, members=20)
        load = Load(commands, client_urls(system), CLIENTS, headers=system.headers).start()
        load.wait_acknowledged(len(commands) // 3)
        reporting = system.first("reporting")
        when = mid_load(load)
        reporting.kill()
        time.sleep(1.0)
        reporting.start()
        row = finish(case, system, load, Recovery(system).start())
        row.fault = f"reporting killed {when}; started again 1 s later"
        return row


def writer_killed(bench: Workbench, quick: bool = False) -> Row:
    """``kill -9`` of registry mid-load; clients send their unanswered requests again with the same key once it is back."""
    case = "kill_write_service"
    directory = bench.directory(case)
    with nats_single(directory) as nats_server, System(layout(bench, case, nats_server.url)) as system:
        pool = map_pool(system, case, 40)
        commands = mixed(case, pool, osvs=600, grants=20, members=20)
        load = Load(commands, client_urls(system), CLIENTS, headers=system.headers).start()
        load.wait_acknowledged(len(commands) // 3)
        registry = system.first("registry")
        when = mid_load(load)
        registry.kill()
        time.sleep(1.0)
        registry.start()
        row = finish(case, system, load, Recovery(system).start())
        row.fault = f"registry killed {when}; started again 1 s later"
        return row


def postgres_restarted(bench: Workbench, quick: bool = False) -> Row:
    """Every service on PostgreSQL; the server restarts (immediate: a crash) mid-load."""
    case = "postgres_restart"
    directory = bench.directory(case)
    with nats_single(directory) as nats_server:
        options = {"database_urls": bench.databases(case)}
        with System(layout(bench, case, nats_server.url, **options)) as system:
            pool = map_pool(system, case, 40)
            commands = mixed(case, pool, osvs=500, grants=20, members=20)
            load = Load(commands, client_urls(system), CLIENTS, headers=system.headers).start()
            load.wait_acknowledged(len(commands) // 3)
            when, before = mid_load(load), bench.postgres.pid
            bench.postgres.halt(mode="immediate")
            bench.postgres.start()
            row = finish(case, system, load, Recovery(system).start())
            row.fault = f"PostgreSQL (pid {before}) stopped in immediate mode and started again (pid {bench.postgres.pid}), {when}"
            return row


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[Workbench, bool], Row]

    @property
    def title(self) -> str:
        return (self.run.__doc__ or self.name).strip().splitlines()[0].replace("``", "")


CASES = [
    Case("refused_publish", refused_publish),
    Case("oversized_event", oversized_event),
    Case("double_nats_restart", nats_restarted_twice),
    Case("replicas", replicas),
    Case("kill_nats", nats_killed),
    Case("kill_stream_leader", stream_leader_killed),
    Case("kill_reporting", reporting_killed),
    Case("kill_write_service", writer_killed),
    Case("postgres_restart", postgres_restarted),
]
