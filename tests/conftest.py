"""Real servers for the suite: one nats-server and one PostgreSQL per test session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.identity import IdentityProvider
from shared.auth import AuthSettings
from shared.embedded import NatsServer, PostgresServer
from tests.support.identity import IssuedTokens


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh real nats-server with JetStream (sync always) for each test that asks."""
    with NatsServer(tmp_path / "nats", port=0) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server started by the test run itself (no root, no Docker)."""
    # Tests run up to eight services at once on it, each with pools of its own.
    with PostgresServer(settings={"max_connections": 300}) as server:
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
    """The real embedded OpenID Connect provider (Canaille, devtools.identity), started once per test session."""
    # <var>/idp, as `make run` lays it out, so `make token` with OSV_VAR_DIR=<var> finds its state.
    with IdentityProvider(tmp_path_factory.mktemp("var") / "idp", port=0) as provider:
        yield provider


@pytest.fixture(scope="session")
def tokens(identity_provider: IdentityProvider) -> IssuedTokens:
    """``tokens["staff"]``, ``tokens.headers("municipal-150132")``: access tokens the provider issued, cached."""
    return IssuedTokens(identity_provider)


@pytest.fixture(scope="session")
def auth_settings(identity_provider: IdentityProvider) -> AuthSettings:
    """What a service needs to check the session provider's tokens (its issuer; every other setting default)."""
    return AuthSettings(issuer=identity_provider.issuer)
