"""Real servers for the suite (one nats-server and one PostgreSQL per test session), and the services' test clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from devtools.embedded import NatsServer, PostgresServer
from devtools.identity import IdentityProvider
from devtools.processes import PORT_SLICE_VARIABLE, port_slice_of_worker
from shared.auth import AuthSettings
from shared.clock import Clock
from tests.support.clients import service_client
from tests.support.identity import IssuedTokens, session_auth, session_provider, session_tokens


def pytest_configure(config: pytest.Config) -> None:
    worker, workers = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if worker and workers and workers.isdigit():  # each worker, and what it starts, picks its servers' ports apart
        os.environ.setdefault(PORT_SLICE_VARIABLE, port_slice_of_worker(worker, int(workers)))
    config.addinivalue_line("markers", "service(name): the service a module's `client` and `client_on` fixtures serve")
    config.addinivalue_line("markers", "settings(**overrides): settings of the services a module's client fixtures serve")
    config.addinivalue_line(
        "markers", "postgres_in_faults: the test's PostgreSQL variant runs in `make faults`, its SQLite one in `make test` (time)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test marked ``postgres_in_faults`` is marked ``faults`` on PostgreSQL: `make test` keeps within its 15 minutes
    on two cores, and `make faults` still runs the long property checks on the other store."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if item.get_closest_marker("postgres_in_faults") and callspec is not None and callspec.params.get("database_url") == "postgres":
            item.add_marker(pytest.mark.faults)


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh real nats-server with JetStream (sync always) for each test that asks."""
    with NatsServer(tmp_path / "nats", port=0) as server:
        yield server


MEMORY_DIR = Path("/dev/shm")
MEMORY_NEEDED_BYTES = 8 * 2**30
"""What the session's PostgreSQL cluster may take in memory, for both workers: 2 GB each by the end of `make test`
(a database of some 10 MB per PostgreSQL test, and up to 1 GB of write-ahead log), with room to spare."""


def _memory_dir() -> Path | None:
    """``/dev/shm`` when it is a memory file system with :data:`MEMORY_NEEDED_BYTES` free and as much memory available,
    else None (the server's default, the temporary directory).

    The session's cluster runs with ``fsync=off`` (nothing in it outlives the run), so a disk only slows it: on one
    mounted with ``discard`` removing it at the end of the session took 12 to 19 s per worker (some 45,000 files for 150
    databases), each ``CREATE DATABASE`` 0.12 s; in memory, 2.7 s and 0.03 s.
    """
    try:
        stats = os.statvfs(MEMORY_DIR)
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            available_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    free = stats.f_bavail * stats.f_frsize
    return MEMORY_DIR if free >= MEMORY_NEEDED_BYTES and available_kb * 1024 >= MEMORY_NEEDED_BYTES else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server started by the test run itself (no root, no Docker), in memory when there is room."""
    # Tests run up to eight services at once on it, each with pools of its own.
    with PostgresServer(settings={"max_connections": 300}, parent_dir=_memory_dir()) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    return postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on an SQLite file and on PostgreSQL, by changing only the URL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityProvider]:
    """The real embedded OpenID Connect provider (Canaille, devtools.identity), started once per test session.

    The same provider signs the shared test clients' tokens (``tests.support.identity.session_provider``).
    """
    # <var>/idp, as `make run` lays it out, so `make token` with OSV_VAR_DIR=<var> finds its state.
    provider = session_provider(tmp_path_factory.mktemp("var") / "idp")
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def tokens(identity_provider: IdentityProvider) -> IssuedTokens:
    """``tokens["staff"]``, ``tokens.headers("municipal-150132")``: access tokens the provider issued, cached."""
    return session_tokens()


@pytest.fixture(scope="session")
def auth_settings(identity_provider: IdentityProvider) -> AuthSettings:
    """What a service needs to check the session provider's tokens (its issuer) and read other services' feeds (the service client's secret)."""
    return session_auth()


# The services' clients -----------------------------------------------------------------------


@pytest.fixture
def store() -> str | None:
    """Where the clients' services keep their events and views: None for SQLite files under the test's folder.

    A module whose stories run on PostgreSQL too overrides it with ``database_url``.
    """
    return None


@pytest.fixture
def today() -> Clock | None:
    """The clients' clock: None for Lima's date. A module overrides it with a fake (``tests.support.clients.FakeToday``)."""
    return None


def _serve(request: pytest.FixtureRequest, service: str, var_dir: Path, database_url: str | None, today: Clock | None) -> Iterator[TestClient]:
    marker = request.node.get_closest_marker("settings")
    wiring = {} if today is None or service == "funding" else {"today": today}
    with service_client(service, var_dir, database_url, settings=marker.kwargs if marker else None, **wiring) as client:
        yield client


def _service_of(request: pytest.FixtureRequest) -> str:
    marker = request.node.get_closest_marker("service")
    assert marker is not None, "`client` serves the service a module names with pytest.mark.service(...)"
    return str(marker.args[0])


@pytest.fixture
def registry(request: pytest.FixtureRequest, tmp_path: Path, store: str | None, today: Clock | None) -> Iterator[TestClient]:
    yield from _serve(request, "registry", tmp_path, store, today)


@pytest.fixture
def funding(request: pytest.FixtureRequest, tmp_path: Path, store: str | None, today: Clock | None) -> Iterator[TestClient]:
    yield from _serve(request, "funding", tmp_path, store, today)


@pytest.fixture
def engagement(request: pytest.FixtureRequest, tmp_path: Path, store: str | None, today: Clock | None) -> Iterator[TestClient]:
    yield from _serve(request, "engagement", tmp_path, store, today)


@pytest.fixture
def reporting(request: pytest.FixtureRequest, tmp_path: Path, store: str | None, today: Clock | None) -> Iterator[TestClient]:
    yield from _serve(request, "reporting", tmp_path, store, today)


@pytest.fixture
def client(request: pytest.FixtureRequest, tmp_path: Path, store: str | None, today: Clock | None) -> Iterator[TestClient]:
    """The module's service (``pytest.mark.service``) on SQLite files under the test's folder."""
    yield from _serve(request, _service_of(request), tmp_path, store, today)


@pytest.fixture
def client_on(request: pytest.FixtureRequest, tmp_path: Path, database_url: str, today: Clock | None) -> Iterator[TestClient]:
    """The module's service on SQLite, then on PostgreSQL."""
    yield from _serve(request, _service_of(request), tmp_path, database_url, today)
