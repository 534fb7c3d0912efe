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

from deploy.run_local import Backoff, IdentityChild, Supervisor
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
    document = json.dumps({"issuer": f"http://127.0.0.1:{port}", "token_endpoint": f"http://127.0.0.1:{port}/oauth/token"}).encode()

    class Discovery(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Discovery)
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
