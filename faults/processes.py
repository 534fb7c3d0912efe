"""The real processes a fault case runs and breaks: services under uvicorn, nats-server (one, or a 3-node cluster), PostgreSQL.

Every service is its own ``uvicorn --factory`` child process configured only
through its environment (``<SERVICE>_…``), as ``make run`` and ``deploy/``
start it. :class:`System` holds one or more replicas of each service and
knows each write service's feed address, so every view follows its sources'
``GET /events`` for real. Nothing here is a fake: a kill is ``SIGKILL``.
Every service checks tokens from a real identity provider (:class:`SignIn`),
and every request of the load and the audit carries one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats

from devtools.embedded import NatsServer, free_port
from devtools.nats_server import _jetstream_ready
from devtools.processes import port_accepts

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
WRITERS = ("registry", "funding", "engagement")
SERVICES = (*WRITERS, "reporting")
PREFIXES = tuple(f"{name.upper()}_" for name in SERVICES)


class FaultError(RuntimeError):
    """A process would not start, or the system never reached the state a case waits for."""


@dataclass(frozen=True)
class SignIn:
    """How a case's services check tokens and what its clients send.

    ``env``: the services' ``OSV_AUTH_*`` settings (the provider's issuer, the
    services' own client secret for reading each other's feeds). ``headers``:
    ``Authorization: Bearer`` with a token the provider issued to the account
    the load and the audit act as.
    """

    env: dict[str, str]
    headers: dict[str, str]


def eventually(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; raise :class:`FaultError` naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
        except (httpx.HTTPError, ValueError, KeyError) as error:
            last = f"{type(error).__name__}: {error}"
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise FaultError(f"{what}: not within {timeout:.0f} s (last: {str(last)[:300]})")
        time.sleep(interval)


class ServiceProcess:
    """One replica of a service under uvicorn in a child process, on a port it keeps across restarts."""

    def __init__(self, name: str, port: int, env: dict[str, str], log_dir: Path, replica: int = 0) -> None:
        self.name = name
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.env = env
        self.replica = replica
        self.log_path = log_dir / f"{name}-{replica}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def label(self) -> str:
        return f"{self.name}#{self.replica}"

    def start(self, timeout: float = 90.0) -> ServiceProcess:
        """Start it and wait until ``/health`` answers (degraded counts: NATS or a feed may be away on purpose)."""
        return self.launch().wait_started(timeout)

    def launch(self) -> ServiceProcess:
        """Start the process, not waiting for it."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()/kill()
        command = [
            sys.executable, "-m", "uvicorn", f"services.{self.name}.api:create_app", "--factory",
            "--host", HOST, "--port", str(self.port), "--log-level", "warning",
        ]
        self.proc = subprocess.Popen(command, env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def wait_started(self, timeout: float = 90.0) -> ServiceProcess:
        """Wait until ``/health`` answers, 200 or 503."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise FaultError(f"{self.label} exited with code {self.proc.returncode} while starting:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=2.0).status_code in (200, 503):
                    return self
            time.sleep(0.1)
        raise FaultError(f"{self.label} did not answer /health within {timeout:.0f} s:\n{self.log_tail()}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """``kill -9``: no lifespan, no drain, nothing flushed."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        self._close_log()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/health", timeout=10.0).json()


@dataclass
class Layout:
    """What a case runs: replicas per service, where the stores are, how NATS is reached."""

    nats_url: str
    var_dir: Path
    log_dir: Path
    replicas: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVICES, 1))
    database_urls: dict[str, str] = field(default_factory=dict)
    """Per service, a PostgreSQL URL; a service without one keeps SQLite files under ``var_dir``."""
    stream_replicas: int = 1
    follow_interval_seconds: float = 1.0
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per service, more settings (``{"engagement": {"ENGAGEMENT_MAX_BODY_BYTES": "2000000"}}``)."""
    sign_in: SignIn | None = None
    """The services' token checks and the clients' token; None leaves the services their own settings and sends none."""


class System:
    """Every replica of every service of one case, started in dependency order and stopped on leaving."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.headers: dict[str, str] = dict(layout.sign_in.headers) if layout.sign_in else {}
        """What every client request to the services sends (the load's, the audit's)."""
        self.replicas: dict[str, list[ServiceProcess]] = {}
        ports = {name: [free_port(HOST) for _ in range(layout.replicas.get(name, 1))] for name in SERVICES}
        feeds = {name: f"http://{HOST}:{ports[name][0]}" for name in WRITERS}
        master_key = base64.b64encode(secrets.token_bytes(32)).decode()
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
        for name in SERVICES:
            prefix = name.upper()
            processes = []
            for replica, port in enumerate(ports[name]):
                var_dir = layout.var_dir if name not in layout.database_urls else layout.var_dir / f"{name}-{replica}"
                env = {
                    **base_env,
                    f"{prefix}_VAR_DIR": str(var_dir),
                    f"{prefix}_PORT": str(port),
                    f"{prefix}_NATS_URL": layout.nats_url,
                    f"{prefix}_NATS_STREAM_REPLICAS": str(layout.stream_replicas),
                    f"{prefix}_FEED_URLS": json.dumps(feeds),
                    f"{prefix}_FOLLOW_INTERVAL_SECONDS": str(layout.follow_interval_seconds),
                    **(layout.sign_in.env if layout.sign_in else {}),
                    **layout.extra_env.get(name, {}),
                }
                if name == "engagement":
                    env["ENGAGEMENT_MASTER_KEY"] = master_key  # replicas on one store must share it
                if name in layout.database_urls:
                    env[f"{prefix}_DATABASE_URL"] = layout.database_urls[name]
                processes.append(ServiceProcess(name, port, env, layout.log_dir, replica))
            self.replicas[name] = processes

    def __enter__(self) -> System:
        """Start every process at once (each waits for NATS, its database and the feeds by itself), then wait for each."""
        try:
            for process in self.everyone():
                process.launch()
            for process in self.everyone():
                process.wait_started()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        for name in reversed(SERVICES):
            for process in self.replicas[name]:
                process.stop()

    def first(self, name: str) -> ServiceProcess:
        return self.replicas[name][0]

    def url(self, name: str, replica: int = 0) -> str:
        processes = self.replicas[name]
        return processes[replica % len(processes)].url

    def everyone(self) -> Iterator[ServiceProcess]:
        for name in SERVICES:
            yield from self.replicas[name]

    def log_tails(self, lines: int = 8) -> str:
        return "\n".join(f"--- {p.label} ({p.log_path})\n{p.log_tail(lines)}" for p in self.everyone())


# -- NATS -----------------------------------------------------------------------------------------


class NatsCluster:
    """Three nats-server processes on loopback forming one JetStream cluster (sync always), as ``deploy/nats`` describes."""

    def __init__(self, store_dir: Path, size: int = 3) -> None:
        self.store_dir = Path(store_dir)
        self.names = [f"nats-{i + 1}" for i in range(size)]
        self.client_ports = {name: free_port(HOST) for name in self.names}
        self.route_ports = {name: free_port(HOST) for name in self.names}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, Any] = {}

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated, as the services take it."""
        return ",".join(f"nats://{HOST}:{self.client_ports[name]}" for name in self.names)

    def _config(self, name: str) -> Path:
        directory = self.store_dir / name
        directory.mkdir(parents=True, exist_ok=True)
        routes = "\n".join(f"    nats-route://{HOST}:{self.route_ports[other]}" for other in self.names)
        path = directory / "nats.conf"
        path.write_text(
            f"server_name: {json.dumps(name)}\n"
            f"listen: {json.dumps(f'{HOST}:{self.client_ports[name]}')}\n"
            "jetstream {\n"
            f"  store_dir: {json.dumps(str(directory / 'js'))}\n"
            "  sync_interval: always\n"
            "}\n"
            "cluster {\n"
            "  name: osv-faults\n"
            f"  listen: {json.dumps(f'{HOST}:{self.route_ports[name]}')}\n"
            f"  routes: [\n{routes}\n  ]\n"
            "}\n"
        )
        return path

    def start_node(self, name: str) -> None:
        binary = Path(sys.executable).parent / "nats-server"
        self._logs[name] = open(self.store_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in kill_node()
        self.processes[name] = subprocess.Popen(
            [str(binary if binary.exists() else "nats-server"), "-c", str(self._config(name))],
            stdin=subprocess.DEVNULL, stdout=self._logs[name], stderr=subprocess.STDOUT,
        )

    def wait_ready(self, names: Iterable[str] | None = None, timeout: float = 60.0) -> None:
        """Wait until each node accepts clients and answers JetStream requests (a meta leader was elected)."""
        for name in names or self.names:
            eventually(
                lambda n=name: port_accepts(HOST, self.client_ports[n]) and _jetstream_ready(HOST, self.client_ports[n]),
                timeout, f"JetStream on cluster node {name}",
            )

    def start(self) -> NatsCluster:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        for name in self.names:
            self.start_node(name)
        self.wait_ready()
        return self

    def kill_node(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
        log = self._logs.pop(name, None)
        if log is not None:
            log.close()

    def stop(self) -> None:
        for name in list(self.processes):
            process = self.processes[name]
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            self.kill_node(name)

    def __enter__(self) -> NatsCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_: object) -> None:
        self.stop()


class InFlight:
    """A loopback TCP relay between one service and nats-server that can hold what the server sends, then lose it.

    When nats-server dies, the messages it had delivered to a consumer but not
    yet got onto the wire (its outbound buffers) are lost with it, while the
    consumer's state may already count them as delivered. That window is a
    few microseconds wide; this relay makes it as wide as a case needs:
    :meth:`hold` keeps every byte the server sends, :meth:`lose` drops what
    was held and resets the connections (as the server's death does).
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port(HOST)
        self.url = f"nats://{HOST}:{self.port}"
        self.held_bytes = 0
        self._holding = False
        self._held: list[tuple[Any, bytes]] = []
        self._writers: set[Any] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="in-flight-relay", daemon=True)

    def start(self) -> InFlight:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._connection, HOST, self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    async def _connection(self, client_reader: Any, client_writer: Any) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(HOST, self.upstream_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, upstream_writer}

        async def pump(reader: Any, writer: Any, from_server: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if from_server and self._holding:
                        self._held.append((writer, data))
                        self.held_bytes += len(data)
                        continue
                    writer.write(data)
                    await writer.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                for end in (client_writer, upstream_writer):
                    end.transport.abort()
                self._writers.discard(client_writer)
                self._writers.discard(upstream_writer)

        await asyncio.gather(pump(client_reader, upstream_writer, False), pump(upstream_reader, client_writer, True))

    def hold(self) -> None:
        """From now on keep, instead of passing on, everything the server sends."""
        self._holding = True

    def lose(self) -> None:
        """Drop what was held, reset every connection (the service reconnects), and pass everything on again."""

        def reset() -> None:
            self._held.clear()
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()
            self._holding = False

        done = threading.Event()
        self._loop.call_soon_threadsafe(lambda: (reset(), done.set()))
        done.wait(10)

    def close(self) -> None:
        if self._thread.is_alive():
            self.lose()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)


def single_nats(store_dir: Path) -> NatsServer:
    """One nats-server with JetStream on disk, ``sync_interval: always``, on a free port."""
    return NatsServer(store_dir, port=0, http_port=None)


async def _with_jetstream(url: str, work: Callable[[Any], Any]) -> Any:
    nc = await nats.connect([u.strip() for u in url.split(",")], connect_timeout=5, max_reconnect_attempts=5, allow_reconnect=True)
    try:
        return await work(nc.jetstream(timeout=10))
    finally:
        await nc.close()


def stream_info(url: str, stream: str) -> Any:
    async def work(js: Any) -> Any:
        return await js.stream_info(stream)

    return asyncio.run(_with_jetstream(url, work))


def set_max_msg_size(url: str, stream: str, size: int) -> None:
    """Change a stream's largest message (``-1``: the server's limit), as an operator would with ``nats stream edit``."""

    async def work(js: Any) -> None:
        config = (await js.stream_info(stream)).config
        config.max_msg_size = size
        await js.update_stream(config)

    asyncio.run(_with_jetstream(url, work))


def stream_leader(url: str, stream: str) -> str | None:
    """The cluster node leading ``stream``'s replicas (None on a single server)."""
    info = stream_info(url, stream)
    return info.cluster.leader if info.cluster is not None else None


def stream_ids(url: str, stream: str) -> list[str]:
    """The ``Nats-Msg-Id`` of every message a stream holds, in stream order."""

    async def work(js: Any) -> list[str]:
        info = await js.stream_info(stream)
        if not info.state.messages:
            return []
        ids = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(stream, sequence)
            ids.append((message.headers or {}).get("Nats-Msg-Id", "?:0"))
        return ids

    return asyncio.run(_with_jetstream(url, work))
