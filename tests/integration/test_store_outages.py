"""PostgreSQL going away under a running service, or not there yet when it starts.

Each test runs its own PostgreSQL server, stopped and started again with its
data (an outage), and the services as processes, the way they run in
production. Registry's store is the event-sourcing library's; reporting's
read model is SQLAlchemy's.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.embedded import NatsServer, PostgresServer
from tests.support.identity import signed_in_headers
from tests.support.processes import ROOT, service_process
from tests.support.system import eventually

pytestmark = pytest.mark.timeout(240)

HEALTH_CLIENT_TIMEOUT = 10.0
"""/health must answer within 2 s when the store is away; a client that gives up after 10 s tells a hang from an answer."""

READS = {"registry": "/osvs", "reporting": "/indicators"}


@pytest.fixture
def postgres_outage() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, which the test may halt and start again."""
    with PostgresServer() as server:
        yield server


def env_for(service: str, database_url: str, var_dir: Path, nats_url: str) -> dict[str, str]:
    prefix = service.upper()
    return {f"{prefix}_DATABASE_URL": database_url, f"{prefix}_VAR_DIR": str(var_dir), f"{prefix}_NATS_URL": nats_url}


def health(url: str) -> httpx.Response:
    return httpx.get(f"{url}/health", timeout=HEALTH_CLIENT_TIMEOUT)


def answers(url: str, status: int) -> bool:
    try:
        return health(url).status_code == status
    except httpx.HTTPError:
        return False


def container_healthcheck(url: str) -> int:
    """The exit code of the healthcheck command docker-compose.yml gives each service's container."""
    command = [sys.executable, "-m", "shared.healthcheck", f"{url}/health"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, timeout=30, check=False).returncode


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    assert response.json()["status"] == 503 and response.json()["detail"]
    assert int(response.headers["retry-after"]) > 0


@pytest.mark.faults  # PostgreSQL stopped and started again under each service (40 s): `make faults`
@pytest.mark.parametrize("service", ["registry", "reporting"])
def test_while_postgresql_is_down_health_and_reads_answer_503_and_the_service_recovers_when_it_is_back(
    service: str, tmp_path: Path, postgres_outage: PostgresServer, nats_server: NatsServer
) -> None:
    database_url = postgres_outage.create_database(f"t_{uuid.uuid4().hex[:12]}")
    with service_process(service, env_for(service, database_url, tmp_path, nats_server.url)) as running:
        url = running.url
        eventually(lambda: answers(url, 200), timeout=60, interval=0.2)
        if service == "registry":
            created = httpx.post(f"{url}/osvs", json={"name": "Olla Común Las Flores", "district": "Comas", "mapped_on": "2021-04-01"}, timeout=30, headers=signed_in_headers())
            assert created.status_code == 201, created.text
        assert httpx.get(f"{url}{READS[service]}", timeout=30, headers=signed_in_headers()).status_code == 200

        postgres_outage.halt()
        down = health(url)  # raises ReadTimeout if it hangs past the client's 10 s
        assert down.status_code == 503, down.text
        assert down.json()["status"] == "degraded" and down.json()["store"].startswith("error"), down.json()
        assert_unavailable(httpx.get(f"{url}{READS[service]}", timeout=30, headers=signed_in_headers()))
        assert container_healthcheck(url) == 1  # docker-compose.yml's healthcheck: unhealthy
        if service == "registry":
            assert_unavailable(httpx.post(f"{url}/osvs", json={"name": "Comedor Santa Rosa", "district": "Ate", "mapped_on": "2021-04-02"}, timeout=30, headers=signed_in_headers()))
            keyed = {**signed_in_headers(), "Idempotency-Key": f"kobo:{uuid.uuid4()}"}  # an import's row: its key's record is read first
            assert_unavailable(httpx.post(f"{url}/osvs", json={"name": "Comedor Santa Rosa", "district": "Ate", "mapped_on": "2021-04-02"}, timeout=30, headers=keyed))

        postgres_outage.start()
        eventually(lambda: health(url).json()["status"] == "ok", timeout=60, interval=0.2)
        read = httpx.get(f"{url}{READS[service]}", timeout=30, headers=signed_in_headers())
        assert read.status_code == 200, read.text
        if service == "registry":
            assert [osv["name"] for osv in read.json()] == ["Olla Común Las Flores"]
            again = httpx.post(f"{url}/osvs", json={"name": "Comedor Santa Rosa", "district": "Ate", "mapped_on": "2021-04-02"}, timeout=30, headers=signed_in_headers())
            assert again.status_code == 201, again.text
        assert container_healthcheck(url) == 0
        assert running.process.poll() is None


@pytest.mark.parametrize("service", ["registry", "reporting"])
def test_a_service_started_before_postgresql_waits_for_it_and_comes_up(
    service: str, tmp_path: Path, postgres_outage: PostgresServer, nats_server: NatsServer
) -> None:
    database_url = postgres_outage.create_database(f"t_{uuid.uuid4().hex[:12]}")
    postgres_outage.halt()
    with service_process(service, env_for(service, database_url, tmp_path, nats_server.url)) as running:
        running.console.wait_for(r"the database cannot be reached .*attempt 2 failed, trying again in [\d.]+ s", timeout=120)
        assert running.process.poll() is None, running.console.text()

        postgres_outage.start()
        eventually(lambda: answers(running.url, 200), timeout=90, interval=0.2)
        assert httpx.get(f"{running.url}{READS[service]}", timeout=30, headers=signed_in_headers()).status_code == 200


def test_a_service_waiting_for_postgresql_stops_at_once_when_asked(
    tmp_path: Path, postgres_outage: PostgresServer, nats_server: NatsServer
) -> None:
    database_url = postgres_outage.create_database(f"t_{uuid.uuid4().hex[:12]}")
    postgres_outage.halt()
    with service_process("registry", env_for("registry", database_url, tmp_path, nats_server.url)) as running:
        running.console.wait_for(r"the database cannot be reached .*attempt 2 failed", timeout=120)
        running.process.send_signal(signal.SIGTERM)
        running.process.wait(timeout=20)  # uvicorn alone would keep waiting for the database
        running.console.wait_for(r"asked to stop while waiting for the database")
