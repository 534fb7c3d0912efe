"""A service stops within seconds when NATS is out of reach: frozen (SIGSTOP), killed, or never there.

The bounds asserted here are the behaviour asked for ("draining with NATS out
of reach ends within a few seconds"), checked generously: what matters is
that the shutdown ends at all, instead of waiting for a server that reads
nothing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from devtools.embedded import NatsServer, free_port
from services.registry.api import create_app as registry_app
from services.registry.settings import RegistrySettings
from shared.messaging import NatsLink
from tests.support.identity import auth_env, session_auth, signed_in_headers
from tests.support.system import eventually

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
BOUND = 20.0
"""Seconds a shutdown may take here; it takes about 3 (NatsLink.close_seconds)."""

BACKLOG = [b"x" * 50_000] * 200
"""10 MB: more than the sockets take from a client whose server reads nothing (about 4 MB here)."""


def test_closing_the_link_to_a_frozen_server_with_a_backlog_ends_within_seconds(nats_server: NatsServer) -> None:
    async def scenario() -> bool:
        link = NatsLink(nats_server.url, "test-frozen")
        link.start()
        assert await link.wait_ready(20)
        nats_server.pause()

        async def publish_backlog() -> None:  # what a relay does with a long backlog
            assert link.nc is not None
            for payload in BACKLOG:
                await link.nc.publish("osv.test.Backlog", payload)

        publisher = asyncio.create_task(publish_backlog())
        await asyncio.sleep(1.0)  # the sockets fill; the publisher waits for a flush that never comes
        closing = asyncio.create_task(link.close())
        closed, _ = await asyncio.wait({closing}, timeout=BOUND)
        nats_server.resume()  # lets a close that hung finish, so the test ends either way
        await asyncio.wait({closing}, timeout=30)
        while not publisher.done():  # nats-py swallows a cancellation while it waits to flush: cancel until it ends
            publisher.cancel()
            await asyncio.wait({publisher}, timeout=0.1)
        return bool(closed)

    try:
        closed = asyncio.run(scenario())
    finally:
        nats_server.resume()
    assert closed, f"NatsLink.close() did not end within {BOUND} s"


def test_a_service_whose_nats_server_froze_with_a_backlog_stops_within_seconds(tmp_path: Path, nats_server: NatsServer) -> None:
    client = TestClient(registry_app(RegistrySettings(var_dir=tmp_path, nats_url=nats_server.url, auth=session_auth())), headers=signed_in_headers())
    client.__enter__()
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    created = client.post("/osvs", json={"name": "Olla Común Las Flores", "district": "Comas", "mapped_on": "2021-04-01"})
    assert created.status_code == 201, created.text
    eventually(lambda: client.get("/health").json()["relay"]["lag"] == 0)
    nats_server.pause()
    client.post("/osvs", json={"name": "Comedor Santa Rosa", "district": "Ate", "mapped_on": "2021-04-02"})

    async def backlog() -> None:  # a relay's long backlog: more than the frozen server's sockets take
        for payload in BACKLOG:
            await runtime.link.nc.publish("osv.registry.Backlog", payload)

    async def start_backlog() -> None:  # one of the service's tasks, on its own connection
        runtime.tasks.append(asyncio.create_task(backlog(), name="registry-backlog"))

    client.portal.call(start_backlog)  # type: ignore[union-attr]
    time.sleep(1.0)

    stopping = threading.Thread(target=client.__exit__, args=(None, None, None), daemon=True)
    stopping.start()
    stopping.join(BOUND)
    stopped = not stopping.is_alive()
    nats_server.resume()  # lets a shutdown that hung finish, so the test ends either way
    stopping.join(60)
    assert stopped, f"the service was still shutting down after {BOUND} s with its NATS server frozen"


def test_a_service_process_whose_nats_server_was_killed_stops_within_seconds_of_sigterm(tmp_path: Path, nats_server: NatsServer) -> None:
    port = free_port()
    env = {**os.environ, **auth_env(), "REGISTRY_VAR_DIR": str(tmp_path), "REGISTRY_NATS_URL": nats_server.url}
    command = [sys.executable, "-m", "uvicorn", "services.registry.api:create_app", "--factory", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"

        def connected() -> bool:
            try:
                return httpx.get(f"{url}/health", timeout=5).json()["nats"] == "connected"
            except httpx.HTTPError:
                return False

        eventually(connected, timeout=60, interval=0.2)
        nats_server.kill()
        body = {"name": "Club de Madres", "district": "Comas", "mapped_on": "2021-04-01"}
        created = httpx.post(f"{url}/osvs", json=body, timeout=10, headers=signed_in_headers())
        assert created.status_code == 201, created.text  # stored; waits in the outbox for NATS
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=BOUND)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_server_that_hangs_without_closing_its_sockets_is_seen_as_lost_then_as_back(nats_server: NatsServer) -> None:
    """nats-py's default pings every 2 minutes: /health said "connected" all the while nats-server was stopped (SIGSTOP)."""

    async def scenario() -> tuple[bool, bool]:
        link = NatsLink(nats_server.url, "test-hung", ping_seconds=0.5)
        link.start()
        assert await link.wait_ready(20)
        nats_server.pause()
        try:
            lost = await until(lambda: not link.connected, timeout=20)
        finally:
            nats_server.resume()
        back = await until(lambda: link.connected, timeout=30)
        await link.close()
        return lost, back

    try:
        lost, back = asyncio.run(scenario())
    finally:
        nats_server.resume()
    assert lost, "the link still said connected 20 s after its server stopped answering"
    assert back


async def until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True
