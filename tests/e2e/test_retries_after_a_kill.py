"""A write service killed with SIGKILL in the middle of a load: every retry with its key leaves one fact.

The registry runs as its own uvicorn process on SQLite, with a real
nats-server, as `make run` starts it, checking the test session's provider's
tokens; the clients sign in as the tester. Eight clients map OSVs, each request
with its own Idempotency-Key, until the process is killed mid-load, right as
one of them gets an answer. Some requests got no answer; some of those had
been committed. The service is started again and every client does what a
careful client does: it sends each request it got no answer to again with the
same key, and (as a client behind a proxy that dropped some answers would)
the answered ones too: an answer that went out was kept first, so each gets it
again, the one answered just before the kill too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from devtools.embedded import NatsServer, free_port
from tests.support.identity import auth_env, signed_in_headers

pytestmark = [pytest.mark.timeout(300), pytest.mark.faults]

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 8
ANSWERS_BEFORE_THE_KILL = 80


@contextmanager
def registry_process(var_dir: Path, port: int, nats_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """The registry as its own process, answering on ``port``; stopped (if still alive) on leaving."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update({"REGISTRY_VAR_DIR": str(var_dir), "REGISTRY_NATS_URL": nats_url, "REGISTRY_PORT": str(port), **auth_env()})
    command = [sys.executable, "-m", "uvicorn", "services.registry.api:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the registry exited with {process.returncode} while starting"
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the registry did not start within 60 s"
                time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def an_osv(key: str) -> dict[str, Any]:
    return {"name": f"OSV {key}", "district": "San Juan de Lurigancho", "mapped_on": "2021-04-01"}


def test_requests_retried_with_their_keys_after_a_kill_leave_exactly_one_fact_each(tmp_path: Path, nats_server: NatsServer) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    answered: dict[str, httpx.Response] = {}
    unanswered: list[str] = []
    lock = threading.Lock()

    def client(process: subprocess.Popen[bytes]) -> None:
        with httpx.Client(base_url=base, headers=signed_in_headers(), timeout=30) as http:
            while True:
                key = str(uuid4())
                try:
                    response = http.post("/osvs", json=an_osv(key), headers={"Idempotency-Key": f'"{key}"'})
                except httpx.TransportError:
                    with lock:
                        unanswered.append(key)
                    return
                assert response.status_code == 201, response.text
                with lock:
                    answered[key] = response
                    if len(answered) == ANSWERS_BEFORE_THE_KILL:  # killed the moment an answer is out: was it kept?
                        process.send_signal(signal.SIGKILL)

    # Load, then SIGKILL in the middle of it, as the 80th answer comes in --------------
    with registry_process(tmp_path / "var", port, nats_server.url) as process:
        threads = [threading.Thread(target=client, args=(process,)) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert process.wait(timeout=10) == -signal.SIGKILL
    assert len(answered) >= ANSWERS_BEFORE_THE_KILL and len(unanswered) == CLIENTS  # each client lost its last request

    # Started again, every unanswered request (and every answered one) is sent again -------
    with registry_process(tmp_path / "var", port, nats_server.url), httpx.Client(base_url=base, headers=signed_in_headers(), timeout=30) as http:
        carried_out_before = 0
        for key in unanswered:
            retried = http.post("/osvs", json=an_osv(key), headers={"Idempotency-Key": f'"{key}"'})
            if retried.status_code == 409:
                problem = retried.json()
                assert problem["errors"][0]["rule"] == "idempotent_request_completed", problem
                assert [r["kind"] for r in problem["recorded"]] == ["OSV", "DistrictRoll"]  # the OSV and its entry in its district's names, one transaction
                carried_out_before += 1
            else:
                assert retried.status_code == 201, retried.text
                carried_out_before += retried.headers.get("idempotent-replayed") == "true"
        lost = []
        for key in answered:  # its answer went out once kept: the same answer again, never 409 completed nor a second run
            again = http.post("/osvs", json=an_osv(key), headers={"Idempotency-Key": key})
            if (again.status_code, again.json(), again.headers.get("idempotent-replayed")) != (201, answered[key].json(), "true"):
                lost.append((list(answered).index(key), again.status_code, again.text))
        assert not lost, f"answered, then not replayed (the index among {len(answered)} answered, what came back): {lost}"

        names = [osv["name"] for osv in http.get("/osvs").json()]
        mapped = []
        after = 0
        while True:
            page = http.get("/events", params={"after": after, "limit": 1000}).json()
            mapped.extend(e for e in page["events"] if e["type"] == "OSVMapped")
            if page["next_after"] == after:
                break
            after = page["next_after"]

    sent = [*answered, *unanswered]
    assert sorted(names) == sorted(f"OSV {key}" for key in sent)  # every key once: none lost, none doubled
    assert len(mapped) == len(sent)
    print(f"\n{len(answered)} answered, {len(unanswered)} unanswered of which {carried_out_before} had been carried out")
