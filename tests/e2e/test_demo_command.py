"""`make demo` against a system it cannot use ends with one line saying where it looked and which variable sets it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devtools.identity import IdentityProvider
from devtools.processes import free_port
from tests.support.processes import ROOT

SERVICES = ("registry", "funding", "engagement", "reporting")


class RefusesTokens(BaseHTTPRequestHandler):
    """A service that is up (``/health`` answers) but trusts another identity provider: 401 to everything else."""

    def do_GET(self) -> None:
        status, body = (200, {"status": "ok"}) if self.path == "/health" else (401, {"title": "Unauthorized", "detail": "token not accepted"})
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if status == 200 else "application/problem+json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def service_refusing_tokens() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusesTokens)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def make_demo(var_dir: Path, idp_port: int, ports: dict[str, int], **extra: str) -> subprocess.CompletedProcess[str]:
    """``make demo``'s command, with `make run`'s variables as given (and no OSV_DEMO_* from the caller's environment)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OSV_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "OSV_HOST": "127.0.0.1",
        "OSV_VAR_DIR": str(var_dir),
        "OSV_IDP_PORT": str(idp_port),
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **extra,
    }
    return subprocess.run([sys.executable, "deploy/demo.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def the_one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stdout + result.stderr
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_service_port_where_nothing_listens_is_named_with_its_variable(tmp_path: Path) -> None:
    ports = {name: free_port() for name in SERVICES}

    result = make_demo(tmp_path / "var", free_port(), ports)

    assert result.returncode != 0
    line = the_one_line(result)
    assert f"http://127.0.0.1:{ports['registry']}" in line
    assert "REGISTRY_PORT" in line
    assert "OSV_HOST" in line


def test_an_explicit_demo_url_is_the_one_tried_and_named(tmp_path: Path) -> None:
    ports = {name: free_port() for name in SERVICES}
    elsewhere = f"http://127.0.0.1:{free_port()}"

    result = make_demo(tmp_path / "var", free_port(), ports, OSV_DEMO_REGISTRY_URL=elsewhere)

    assert result.returncode != 0
    line = the_one_line(result)
    assert elsewhere in line
    assert "OSV_DEMO_REGISTRY_URL" in line
    assert f":{ports['registry']}" not in line


def test_an_identity_provider_that_does_not_answer_is_named_with_its_variable(tmp_path: Path, service_refusing_tokens: int) -> None:
    idp_port = free_port()

    result = make_demo(tmp_path / "var", idp_port, dict.fromkeys(SERVICES, service_refusing_tokens))

    assert result.returncode != 0
    line = the_one_line(result)
    assert f"http://127.0.0.1:{idp_port}" in line
    assert "OSV_IDP_PORT" in line


def test_a_service_that_refuses_the_demos_token_is_an_error_not_an_already_loaded_demo(
    identity_provider: IdentityProvider, service_refusing_tokens: int
) -> None:
    result = make_demo(identity_provider.state_dir.parent, identity_provider.port, dict.fromkeys(SERVICES, service_refusing_tokens))

    assert result.returncode != 0
    line = the_one_line(result)
    assert f"http://127.0.0.1:{service_refusing_tokens}" in line
    assert "401" in line
    assert "FUNDING_PORT" in line
    assert "already loaded" not in line


def catches_ctrl_c(pid: int) -> bool:
    """Whether the process has a handler of its own for SIGINT (``SigCgt`` in ``/proc/<pid>/status``)."""
    with open(f"/proc/{pid}/status") as status:
        caught = next(line for line in status if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGINT - 1)))


@pytest.mark.parametrize("after", [0.1, 0.25, 0.45], ids=["0.1s", "0.25s", "0.45s"])
def test_ctrl_c_while_the_demo_starts_up_ends_it_with_one_line_and_130_never_a_traceback(tmp_path: Path, after: float) -> None:
    """A person who typed `make demo` by mistake presses Ctrl-C at once, while Python is still importing (about half a
    second): they get the one line a later Ctrl-C gets, not a traceback of whichever import it fell in.

    Registry's address takes the connection and never answers, so the demo is still starting up (its check of the
    services waits up to 10 s) however late a loaded machine delivers the Ctrl-C: with nothing there, a sleep that
    overran by half a second let the demo end first, on "registry does not answer" (CI, session 54). The Ctrl-C comes
    ``after`` seconds after the demo's first line took it (:func:`catches_ctrl_c`): one sent before, while the
    interpreter itself starts, is ignored where SIGINT is (pytest-xdist's workers, whose children inherit it) or ends
    the process as a terminal's Ctrl-C would (CI, session 54: the demo ran on to its 10 s timeout)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OSV_") and not key.endswith("_PORT")}
    silent = socket.create_server(("127.0.0.1", 0))  # listens (the kernel takes the connection); never accepts
    env |= {
        "PYTHONPATH": str(ROOT),
        "OSV_HOST": "127.0.0.1",
        "OSV_VAR_DIR": str(tmp_path / "var"),
        "OSV_IDP_PORT": str(free_port()),
        "REGISTRY_PORT": str(silent.getsockname()[1]),
    }
    with silent:
        demo = subprocess.Popen(
            [sys.executable, "deploy/demo.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # as under xdist, wherever the test runs
        )
        deadline = time.monotonic() + 30
        while not catches_ctrl_c(demo.pid):
            assert time.monotonic() < deadline and demo.poll() is None, "the demo never took Ctrl-C"
            time.sleep(0.002)
        with open(f"/proc/{demo.pid}/maps") as maps:  # taken before its imports (pydantic's core among them), not by main()
            assert "pydantic_core" not in maps.read(), "the demo took Ctrl-C only once it had imported what it needs"
        time.sleep(after)
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=60)

    assert "Traceback" not in err, err
    assert (demo.returncode, err.strip().splitlines(), out) == (130, ["Stopped before the demo wrote anything."], "")
