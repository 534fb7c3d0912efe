"""`make run` on a port another process holds: one line naming the port and its variable, exit 1, nothing left running.

Tester 245 F9: with another identity provider on its port, the launcher took that one's answers for its own ("healthy
again" after each restart of its own, which died at once) and the services' tokens were refused; a nats-server port
taken was a traceback; a service's, uvicorn's "address already in use" in a restart loop.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deploy.run_local import Backoff, IdentityChild, LocalSettings, ServiceChild, Supervisor, service_child
from devtools.embedded import free_port
from devtools.identity import IdentityProvider
from tests.support.processes import ROOT

pytestmark = pytest.mark.timeout(180)

PORTS = ("idp", "nats", "registry", "funding", "engagement", "reporting", "imports")
VARIABLES = {"idp": "OSV_IDP_PORT", "nats": "OSV_NATS_PORT", "registry": "REGISTRY_PORT"}


@contextmanager
def listener(port: int) -> Iterator[socket.socket]:
    """Another process's plain socket, listening on ``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield sock


@contextmanager
def another_identity_provider(port: int) -> Iterator[ThreadingHTTPServer]:
    """Someone else's provider on ``port``: its discovery names the issuer ``make run``'s would have on that port."""
    document = json.dumps({"issuer": f"http://127.0.0.1:{port}", "token_endpoint": f"http://127.0.0.1:{port}/oauth/token"})
    with another_server(port, document) as server:
        yield server


@contextmanager
def another_server(port: int, body: str) -> Iterator[ThreadingHTTPServer]:
    """Someone else's HTTP server on ``port``, answering every GET with 200 and ``body`` as JSON."""
    document = body.encode()

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def running_with(var_dir: Path, ports: dict[str, int]) -> list[int]:
    """The live processes a launcher started for these settings: its var dir or one of its ports on their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        on_a_port = any(args[i : i + 2] == ["--port", str(port)] for port in ports.values() for i in range(len(args)))
        if state != "Z" and (on_a_port or any(str(var_dir) in arg for arg in args)):
            found.append(int(entry.name))
    return found


def run_local(var_dir: Path, ports: dict[str, int]) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "OSV_VAR_DIR": str(var_dir),
        "OSV_NATS_PORT": str(ports["nats"]),
        "OSV_IDP_PORT": str(ports["idp"]),
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items() if name not in ("nats", "idp")},
    }
    return subprocess.run([sys.executable, "-m", "deploy.run_local"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)


def some_ports() -> dict[str, int]:
    ports: dict[str, int] = {}
    for name in PORTS:
        ports[name] = free_port(avoid=set(ports.values()))
    return ports


@pytest.mark.parametrize("taken", ["idp", "nats", "registry"])
def test_a_port_another_process_holds_stops_make_run_in_one_line_naming_it_and_its_variable(tmp_path: Path, taken: str) -> None:
    ports = some_ports()
    holder = another_identity_provider if taken == "idp" else listener
    with holder(ports[taken]):
        done = run_local(tmp_path / "var", ports)
        # The other process still holds its port; the launcher left nothing of its own running.
        assert not running_with(tmp_path / "var", ports)
    assert done.returncode == 1, done.stdout + done.stderr
    name = {"idp": "identity provider", "nats": "nats-server", "registry": "registry"}[taken]
    said = (
        f"osv-platform: the port {ports[taken]} of {name} on 127.0.0.1 is taken by another process: stop that process, "
        f"or set {VARIABLES[taken]} to a free port\n"
    )
    assert done.stderr.endswith(said) and "Traceback" not in done.stderr, done.stderr
    assert "osv-platform is running" not in done.stdout, done.stdout


def test_the_identity_provider_is_healthy_only_while_its_own_process_answers_not_another_on_its_port(tmp_path: Path) -> None:
    """Another provider on the port answers discovery with the very issuer this one would name: that is no health of its own."""
    port = free_port()
    child = IdentityChild("identity provider", Backoff(0.5, 30, 30), provider=IdentityProvider(tmp_path / "idp", port=port))
    with another_identity_provider(port):
        assert child.provider is not None and child.provider.is_answering()
        assert not child.is_healthy()


def test_a_provider_whose_port_another_took_after_it_died_stops_the_launcher_instead_of_restarting(tmp_path: Path) -> None:
    """Its own provider died and another took the port: the restart is refused, with the line, not tried again and again."""
    port = free_port()
    child = IdentityChild(
        "identity provider", Backoff(0.01, 0.01, 30), host="127.0.0.1", port=port, port_variable="OSV_IDP_PORT",
        provider=IdentityProvider(tmp_path / "idp", port=port),
    )
    child.exit_code = lambda: 1  # type: ignore[method-assign] # its process ended
    supervisor = Supervisor([child])
    with another_identity_provider(port):
        for _ in range(20):
            if supervisor.stopping:
                break
            supervisor.tick()
            time.sleep(0.02)
    assert supervisor.refused is not None and "OSV_IDP_PORT" in str(supervisor.refused)
    assert child.provider is not None and child.provider.pid is None  # never started there


def test_a_services_port_another_took_at_its_restart_is_said_and_tried_again_while_the_rest_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Tester 259 F1: funding killed and its port taken by `python3 -m http.server` in that second stopped the launcher,
    and with it registry, engagement, reporting, imports, nats-server and the provider. A service's restart waits for
    its port instead: the line naming it, logged, tried again with the back-off, the others left running."""
    port = free_port()
    child = ServiceChild(
        "funding", Backoff(0.01, 0.01, 30), host="127.0.0.1", port=port, port_variable="FUNDING_PORT",
        command=[sys.executable, "-c", "import time; time.sleep(60)"],
    )
    child.exit_code = lambda: 1  # type: ignore[method-assign] # its process ended
    supervisor = Supervisor([child])
    with caplog.at_level("ERROR", logger="deploy.run_local"), listener(port):
        for _ in range(20):
            supervisor.tick()
            time.sleep(0.02)
        assert not supervisor.stopping and supervisor.refused is None  # the launcher goes on
        assert child.process is None and child.restarts >= 2  # never started on a port another holds, tried again
        said = [r.getMessage() for r in caplog.records if "FUNDING_PORT" in r.getMessage()]
        assert said and f"the port {port} of funding" in said[0] and "trying again" in said[0], said
    child.exit_code = lambda: None  # type: ignore[method-assign] # from its next start, running
    for _ in range(50):  # the port free again: it starts
        supervisor.tick()
        if child.process is not None:
            break
        time.sleep(0.02)
    assert child.process is not None, "not restarted once its port was free"
    child.kill()


def bound_by_someone(port: int) -> bool:
    """Whether a socket is bound to ``127.0.0.1:port``, listening or not (a bind without ``SO_REUSEADDR`` fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def test_a_services_port_is_its_own_from_uvicorns_bind_so_no_server_takes_it_while_its_workers_start(tmp_path: Path) -> None:
    """Tester 252 F1: restarted, engagement's uvicorn bound its port, and while its two workers started, `python3 -m
    http.server` bound the port too and listened; the workers' listen failed without a word, and the service ran on with
    no listener, the launcher none the wiser. The launcher's service listens from the bind: that server is refused."""
    port = free_port()
    nats_port = free_port(avoid={port})
    local = LocalSettings(var_dir=tmp_path / "var", nats_port=nats_port)
    child = service_child(
        "registry", "services.registry.api:create_app", port, local, f"nats://127.0.0.1:{nats_port}", {}, Backoff(0.5, 30, 30), workers=2
    )
    child.start()
    try:
        deadline = time.monotonic() + 30
        while not bound_by_someone(port):  # uvicorn's supervisor has bound it; its workers take seconds more to start
            assert child.exit_code() is None and time.monotonic() < deadline, "uvicorn never bound its port"
            time.sleep(0.01)
        time.sleep(0.3)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:  # as http.server binds, SO_REUSEADDR
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with pytest.raises(OSError, match="Address already in use"):
                other.bind(("127.0.0.1", port))
                other.listen()
        while not child.is_healthy():  # and the service is served, by its own workers
            assert child.exit_code() is None and time.monotonic() < deadline + 30, "registry never answered its /health"
            time.sleep(0.2)
    finally:
        child.terminate()
        assert child.process is not None
        child.process.wait(timeout=30)


def test_a_service_is_healthy_only_by_its_own_health_not_another_servers_200_on_its_port() -> None:
    """Another server's 200 on the service's port (another service's `/health`, anything else's page) is no health of its own."""
    port = free_port()
    child = ServiceChild("registry", Backoff(0.5, 30, 30), url=f"http://127.0.0.1:{port}")
    for body in ('{"status": "ok", "service": "funding"}', '{"status": "ok"}', '["registry"]', "<html>Directory listing</html>"):
        with another_server(port, body):
            assert not child.is_healthy(), body
    with another_server(port, '{"status": "ok", "service": "registry"}'):
        assert child.is_healthy()  # what the launcher's own registry answers
