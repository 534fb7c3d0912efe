"""Fixtures the integration tests share beyond one module (the session's servers are ``tests/conftest.py``'s)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.clients import service_client


@pytest.fixture
def system(tmp_path: Path) -> Iterator[dict[str, TestClient]]:
    """The four services in this process, by name, each on SQLite under the test's folder, with no NATS: what one
    service publishes another hears only when a test applies it (:func:`tests.support.roles.an_osv`). The roles' stories
    (``test_roles_api``, ``test_roles_retries``, ``test_roles_browser``) take it; a module that runs the services
    otherwise defines its own ``system`` (``test_partners``: on NATS), which pytest takes instead."""
    with (
        service_client("registry", tmp_path) as registry,
        service_client("funding", tmp_path) as funding,
        service_client("engagement", tmp_path) as engagement,
        service_client("reporting", tmp_path) as reporting,
    ):
        yield {"registry": registry, "funding": funding, "engagement": engagement, "reporting": reporting}
