"""Each service in this process, on its real store, with NATS out of reach: the clients the API tests share.

The fixtures in ``tests/conftest.py`` serve them: ``registry``, ``funding``,
``engagement`` and ``reporting`` by name, and ``client`` / ``client_on`` for
the service a module names with ``pytest.mark.service(...)``. A module passes
settings with ``pytest.mark.settings(...)``, and fakes by overriding the
``today`` fixture (the services' clock) or the ``store`` fixture (to run on
``database_url``: SQLite, then PostgreSQL).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from services.engagement.api import create_app as engagement_app
from services.engagement.settings import EngagementSettings
from services.funding.api import create_app as funding_app
from services.funding.settings import FundingSettings
from services.registry.api import create_app as registry_app
from services.registry.settings import RegistrySettings
from services.reporting.api import create_app as reporting_app
from services.reporting.settings import ReportingSettings
from shared.settings import ServiceSettings
from tests.support.identity import session_auth, signed_in_headers

NATS_OUT_OF_REACH = "nats://127.0.0.1:1"

SERVICES: dict[str, tuple[Callable[..., Any], type[ServiceSettings]]] = {
    "registry": (registry_app, RegistrySettings),
    "funding": (funding_app, FundingSettings),
    "engagement": (engagement_app, EngagementSettings),
    "reporting": (reporting_app, ReportingSettings),
}


def settings_for(service: str, var_dir: Path, database_url: str | None = None, **overrides: Any) -> ServiceSettings:
    """The service's settings: files under ``var_dir``, NATS out of reach, and its store on PostgreSQL if ``database_url`` says so.

    An SQLite URL (or None) leaves the service its own default files under ``var_dir``. Tokens are
    checked against the test session's identity provider.
    """
    database = None if database_url is None or database_url.startswith("sqlite") else database_url
    settings = {"var_dir": var_dir, "nats_url": NATS_OUT_OF_REACH, "database_url": database, "auth": session_auth(), **overrides}
    return SERVICES[service][1](**settings)


@contextmanager
def service_client(
    service: str, var_dir: Path, database_url: str | None = None, *, settings: dict[str, Any] | None = None, **wiring: Any
) -> Iterator[TestClient]:
    """The service's app, its lifespan run, as a test client signed in as the tester; ``wiring`` goes to its ``create_app``.

    Each request carries the tester's token unless it sends its own ``Authorization`` header.
    """
    factory = SERVICES[service][0]
    app = factory(settings_for(service, var_dir, database_url, **(settings or {})), **wiring)
    with TestClient(app, headers=signed_in_headers()) as client:
        yield client


def erasures_checked(client: TestClient, timeout: float = 30.0) -> TestClient:
    """``client`` (engagement's), once it has checked its stream's erasures against its store since it started (``/health``'s
    ``held`` empty): a start on a store holding anyone's key reads no personal data before (503 ``erasures_not_checked``)."""
    deadline = time.monotonic() + timeout
    while held := client.get("/health").json()["held"]:
        assert time.monotonic() < deadline, held
        time.sleep(0.02)
    return client


def application_of(client: TestClient) -> Any:
    """The service's one application, as its lifespan built it."""
    return client.app.state.runtime.app  # type: ignore[attr-defined]


def feed(client: TestClient) -> list[dict[str, Any]]:
    """Every event in the service's ``GET /events`` feed, in order."""
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = client.get("/events", params={"after": after, "limit": 1000}).json()
        events.extend(page["events"])
        if page["next_after"] == after:
            return events
        after = page["next_after"]


def feed_types(client: TestClient) -> list[str]:
    return [event["type"] for event in feed(client)]


def head(client: TestClient) -> int:
    """The highest position the service's store holds: what a refused command must not move."""
    return int(client.get("/events").json()["head"])


def at_once(count: int, command: Callable[[int], Any]) -> list[Any]:
    """Run ``command(i)`` in ``count`` threads released together; the results in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = command(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


class FakeToday:
    """A clock whose date the test sets; on chosen calls it first runs what another request would do meanwhile."""

    def __init__(self, today: date = date(2025, 6, 15)) -> None:
        self.today = today
        self.calls = 0
        self.meanwhile: dict[int, Callable[[], object]] = {}

    def __call__(self) -> date:
        self.calls += 1
        interruption = self.meanwhile.pop(self.calls, None)
        if interruption is not None:
            interruption()
        return self.today
