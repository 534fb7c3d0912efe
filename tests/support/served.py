"""The four services served over real HTTP on free ports, each in a thread of this process.

Unlike :func:`tests.support.system.running_system` (in-process clients, no
addresses), each service here listens on a port, so the views' followers read
the other services' ``GET /events`` feeds for real.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from devtools.embedded import free_port
from services.engagement.api import create_app as engagement_app
from services.engagement.settings import EngagementSettings
from services.funding.api import create_app as funding_app
from services.funding.settings import FundingSettings
from services.registry.api import create_app as registry_app
from services.registry.settings import RegistrySettings
from services.reporting.api import create_app as reporting_app
from services.reporting.settings import ReportingSettings
from tests.support.identity import session_auth, signed_in_headers
from tests.support.system import System

SERVICES = (
    ("registry", registry_app, RegistrySettings),
    ("funding", funding_app, FundingSettings),
    ("engagement", engagement_app, EngagementSettings),
    ("reporting", reporting_app, ReportingSettings),
)
WRITERS = ("registry", "funding", "engagement")


def listening_socket(port: int | None = None) -> socket.socket:
    """A TCP socket bound on 127.0.0.1, on ``port`` or on a free one (:func:`devtools.embedded.free_port`, tried again if
    taken in between), held from now until its server closes it.

    A server given only a port binds it when it starts, after its app was made: on a busy machine another process took
    the port in between ("address already in use", the app did not start: twice in one day beside other runs).
    """
    for _ in range(20):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", free_port() if port is None else port))
        except OSError:
            sock.close()
            if port is not None:
                raise
            continue
        return sock
    raise RuntimeError("no free port on 127.0.0.1 in 20 tries")


class ServedApp:
    """One FastAPI app under uvicorn in a daemon thread, on a socket bound beforehand (:func:`listening_socket`: ``port``,
    an int or a free one if None, or ``sock`` itself); :meth:`stop` shuts it down (lifespan included)."""

    def __init__(self, app: Any, port: int | None = None, sock: socket.socket | None = None) -> None:
        self.app = app
        self.sock = sock if sock is not None else listening_socket(port)
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, name=f"uvicorn-{self.port}", daemon=True)

    def start(self, timeout: float = 30.0) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the app on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.ask_to_stop()
        self.thread.join(timeout=30)
        self.sock.close()

    def ask_to_stop(self) -> None:
        """Have uvicorn shut the app down at its next tick (every 0.1 s), without waiting for it: :meth:`stop` waits."""
        self.server.should_exit = True

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


@contextmanager
def served_system(
    var_dir: Path,
    nats_url: str,
    database_urls: dict[str, str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    follow_interval_seconds: float = 0.3,
) -> Iterator[tuple[System, dict[str, ServedApp]]]:
    """The four services on free ports, their views following each other's feeds every ``follow_interval_seconds``.

    The feeds answer the services' own client-credentials tokens; the clients send the tester's.
    """
    urls = database_urls or {}
    sockets = {name: listening_socket() for name, _, _ in SERVICES}  # bound now: the feeds name the ports before the apps start
    feeds = {name: f"http://127.0.0.1:{sockets[name].getsockname()[1]}" for name in WRITERS}
    served: dict[str, ServedApp] = {}
    with ExitStack() as stack:
        stack.callback(lambda: [sock.close() for sock in sockets.values()])  # those of apps that never started too
        # Every app is asked to stop before any is waited for: one after the other, each waited its 0.1 s tick and its
        # shutdown, 0.6 s of every test's teardown. The apps that started are stopped, the last started first.
        stack.callback(lambda: [app.stop() for app in reversed(list(served.values()))])
        stack.callback(lambda: [app.ask_to_stop() for app in reversed(list(served.values()))])
        for name, factory, settings in SERVICES:
            options: dict[str, Any] = {
                "var_dir": var_dir,
                "nats_url": nats_url,
                "feed_urls": feeds,
                "follow_interval_seconds": follow_interval_seconds,
                "database_url": urls.get(name),
                "auth": session_auth(),
                **(overrides or {}).get(name, {}),
            }
            served[name] = ServedApp(factory(settings(**options)), sock=sockets[name]).start()
        clients = [
            stack.enter_context(httpx.Client(base_url=served[name].url, timeout=30, headers=signed_in_headers())) for name, _, _ in SERVICES
        ]
        yield System(*clients), served  # type: ignore[arg-type]


@contextmanager
def served_webhook(served: dict[str, ServedApp], provider: Any, forms: Iterable[str], secret: str) -> Iterator[ServedApp]:
    """The Kobo webhook (imports' app) on a free port, in front of ``served``'s registry and engagement, signed in as its
    own client (``osv-imports``) at ``provider``, each of ``forms`` (form ids) hooked with the HTTP Basic ``secret``."""
    from services.imports.api import create_app as imports_app
    from services.imports.settings import ImportSettings
    from shared.auth import AuthSettings

    settings = ImportSettings(
        registry_url=served["registry"].url, engagement_url=served["engagement"].url,
        kobo_hooks=dict.fromkeys(forms, secret), client_secret=provider.client_secret("osv-imports"),
    )
    running = ServedApp(imports_app(settings, auth_settings=AuthSettings(issuer=provider.issuer)), free_port()).start()
    try:
        yield running
    finally:
        running.stop()
