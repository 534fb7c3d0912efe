"""The services in-process, wired to real servers, for integration tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fastapi.testclient import TestClient

from services.engagement.api import create_app as engagement_app
from services.engagement.settings import EngagementSettings
from services.funding.api import create_app as funding_app
from services.funding.settings import FundingSettings
from services.registry.api import create_app as registry_app
from services.registry.settings import RegistrySettings
from services.reporting.api import create_app as reporting_app
from services.reporting.settings import ReportingSettings
from tests.support.identity import session_auth, signed_in_headers

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 60.0, interval: float = 0.05) -> T:
    """Retry ``check`` until it returns a truthy value without raising AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            msg = f"condition not met within {timeout}s: last result {result!r}"
            raise AssertionError(msg)
        time.sleep(interval)


@dataclass
class System:
    registry: TestClient
    funding: TestClient
    engagement: TestClient
    reporting: TestClient
    #: What the feeds' reads send when the clients' own token may not read ``GET /events`` (None: the clients').
    feed_headers: dict[str, str] | None = None

    def indicators(self) -> dict[str, Any]:
        response = self.reporting.get("/indicators")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_relayed(self) -> None:
        """Wait until every write service has published all it stored."""
        for client in (self.registry, self.funding, self.engagement):
            eventually(lambda c=client: c.get("/health").json()["relay"]["lag"] == 0)

    def wait_applied(self) -> None:
        """Wait until reporting has applied the last event each service published."""
        heads = {name: last_public_position(c, self.feed_headers) for name, c in self.writers().items()}

        def caught_up() -> bool:
            applied = self.reporting.get("/health").json()["applied_positions"]
            return all(applied.get(name, 0) >= head for name, head in heads.items() if head)

        eventually(caught_up)

    def writers(self) -> dict[str, TestClient]:
        return {"registry": self.registry, "funding": self.funding, "engagement": self.engagement}


def last_public_position(client: Any, headers: dict[str, str] | None = None) -> int:
    """The position of the last event in a service's feed (private events never appear there); ``headers`` sign the reads in."""
    after, last = 0, 0
    while True:
        page = client.get("/events", params={"after": after, "limit": 1000}, headers=headers).json()
        if page["events"]:
            last = page["events"][-1]["position"]
        if page["next_after"] == after:
            return last
        after = page["next_after"]


@contextmanager
def running_system(
    var_dir: Path,
    nats_url: str,
    database_urls: dict[str, str] | None = None,
    feed_urls: dict[str, str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Iterator[System]:
    """The four services in this process, each with its own store under ``var_dir``.

    In one process the services have no HTTP addresses, so their views read no
    feeds unless ``feed_urls`` says where (a test that serves them for real).
    The clients send the tester's token (``tests.support.identity``).
    """
    urls = database_urls or {}
    common: dict[str, Any] = {
        "var_dir": var_dir,
        "nats_url": nats_url,
        "feed_urls": feed_urls or {},
        "follow_interval_seconds": 0.5,
        "auth": session_auth(),
    }
    with ExitStack() as stack:
        clients = [
            stack.enter_context(
                TestClient(
                    factory(settings(**{**common, "database_url": urls.get(name), **(overrides or {}).get(name, {})})),
                    headers=signed_in_headers(),
                )
            )
            for name, factory, settings in (
                ("registry", registry_app, RegistrySettings),
                ("funding", funding_app, FundingSettings),
                ("engagement", engagement_app, EngagementSettings),
                ("reporting", reporting_app, ReportingSettings),
            )
        ]
        yield System(*clients)
