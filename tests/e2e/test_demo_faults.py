"""`make demo` as a new user meets it: a load that stopped part-way, a wrong variable, a service elsewhere (tester 22)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.identity import IdentityProvider
from devtools.processes import free_port
from tests.e2e.test_demo_command import RefusesTokens
from tests.support.identity import signed_in_headers
from tests.support.processes import ROOT
from tests.support.served import ServedApp, served_system
from tests.support.system import System

pytestmark = pytest.mark.timeout(600)

SERVICES = ("registry", "funding", "engagement", "reporting")


def demo_env(var_dir: Path, idp_port: int, ports: dict[str, int], **extra: str) -> dict[str, str]:
    """``make demo``'s environment with `make run`'s variables as given (none of the caller's OSV_* or *_PORT)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OSV_") and not key.endswith("_PORT")}
    return env | {
        "PYTHONPATH": str(ROOT),
        "OSV_HOST": "127.0.0.1",
        "OSV_VAR_DIR": str(var_dir),
        "OSV_IDP_PORT": str(idp_port),
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **extra,
    }


def make_demo(var_dir: Path, idp_port: int, ports: dict[str, int], **extra: str) -> subprocess.CompletedProcess[str]:
    env = demo_env(var_dir, idp_port, ports, **extra)
    return subprocess.run([sys.executable, "deploy/demo.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=500, check=False)


def the_one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-800:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def up_but_refusing() -> Iterator[int]:
    """A service whose /health answers (so the demo goes on to sign in) and that refuses every token."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusesTokens)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_mistyped_osv_var_dir_is_named_and_nothing_is_written_there(identity_provider: IdentityProvider, up_but_refusing: int, tmp_path: Path) -> None:
    """OSV_VAR_DIR not the one `make run` used: the demo only reads the provider's state, and writes none (no new
    secret key, signing key or passwords) wherever the typo pointed."""
    wrong = tmp_path / "not-make-runs-var"

    result = make_demo(wrong, identity_provider.port, dict.fromkeys(SERVICES, up_but_refusing))

    assert result.returncode == 1
    line = the_one_line(result)
    assert "OSV_VAR_DIR" in line and str(wrong / "idp" / "state.json") in line
    assert not wrong.exists(), sorted(str(p.relative_to(wrong)) for p in wrong.rglob("*"))


@pytest.mark.parametrize(
    ("variable", "value"),
    [("REGISTRY_PORT", "8O01"), ("OSV_HOST", "127.0.0.1:8001"), ("OSV_DEMO_REGISTRY_URL", "http://[::1"), ("OSV_IDP_PORT", "8oo5")],
    ids=["port-with-a-letter-O", "host-with-its-port", "url-cut-short", "provider-port-with-letters"],
)
def test_a_mistyped_variable_is_one_line_naming_it_not_a_traceback(tmp_path: Path, variable: str, value: str) -> None:
    ports = {name: free_port() for name in SERVICES}

    result = make_demo(tmp_path / "var", free_port(), ports, **{variable: value})

    assert result.returncode == 1
    assert variable in the_one_line(result)
