"""Run the whole system on one machine: the identity provider, nats-server, the four services and the Kobo webhook, supervised.

``make run`` calls this. Data lives under ``var/`` (SQLite stores, the
JetStream store, the identity provider's accounts and keys under ``var/idp``)
and survives a restart.

A process that ends on its own (a crash, an out-of-memory kill, a ``kill -9``)
is started again, nats-server and the identity provider included; the rest of
the system keeps running. A line on the console says which process ended, its
exit code, and when it starts again. The pause before a restart doubles with
each crash in a row (0.5 s, 1 s, 2 s… up to 30 s) and is back to 0.5 s once
the process has run for 30 s. A port another process holds (another run's,
another user's identity provider) stops it before anything starts, in one line
naming the port and the variable that sets it, exit status 1; so does the
identity provider's or nats-server's taken at its restart (another one there
would be taken for it). A service's port taken at its restart is that line,
logged, and the restart tried again with the back-off while the rest of the
system keeps running (tester 259 F1: one squatter stopped every service). A service's uvicorn listens on its port
from the moment it binds it (``deploy.serve``), so no other server takes the
port while its workers start, and the launcher takes only an answer naming the
service for its health. Ctrl-C (or SIGTERM) stops the services, then
nats-server and the identity provider, and exits; a second Ctrl-C kills what
is still running.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from devtools.embedded import EmbeddedServerError, NatsServer
from devtools.identity import IdentityProvider, IdentityProviderError, IdentitySettings
from devtools.processes import PortTakenError, free_port, pid_alive, port_taken, probe_client
from services.engagement.settings import EngagementSettings
from services.funding.settings import FundingSettings
from services.imports.settings import ImportSettings
from services.registry.settings import RegistrySettings
from services.reporting.settings import ReportingSettings
from shared.files import OWNER_ONLY_UMASK, private_dir
from shared.lifecycle import UVICORN_LOG_CONFIG, ending_with_this_process
from shared.settings import refused_setting

log = logging.getLogger("osv-platform")

TICK_SECONDS = 0.2
STOP_SECONDS = 15.0
GRACEFUL_SECONDS = 10
"""How long a service asked to stop lets its open requests finish (uvicorn's ``--timeout-graceful-shutdown``), under ``STOP_SECONDS``."""
"""How long the services get to shut down after SIGTERM before they are killed."""


class LocalSettings(BaseSettings):
    """The embedded default: where files go and which port NATS listens on."""

    model_config = SettingsConfigDict(env_prefix="OSV_", extra="ignore")

    var_dir: Path = Path("var")
    nats_port: int = 4222
    host: str = "127.0.0.1"
    restart_first_seconds: float = 0.5
    restart_longest_seconds: float = 30.0
    restart_stable_seconds: float = 30.0


SERVICES = (
    ("registry", "services.registry.api:create_app", RegistrySettings),
    ("funding", "services.funding.api:create_app", FundingSettings),
    ("engagement", "services.engagement.api:create_app", EngagementSettings),
    ("reporting", "services.reporting.api:create_app", ReportingSettings),
    ("imports", "services.imports.api:create_app", ImportSettings),
)
SIGNED_IN_THROUGH_DOCS = ("registry", "funding", "engagement", "reporting")
"""The services people sign in to (the dashboard, Swagger UI); the Kobo webhook takes only its hooks' passwords."""


def port_variable(name: str) -> str:
    """The environment variable that sets a service's port under ``make run``: ``registry`` -> ``REGISTRY_PORT``."""
    settings_class = next(settings_class for service, _, settings_class in SERVICES if service == name)
    return f"{settings_class.model_config.get('env_prefix', '')}PORT"


HOST_VARIABLE = f"{LocalSettings.model_config.get('env_prefix', '')}HOST"
"""The environment variable that sets the address every service listens on (``OSV_HOST``)."""
NATS_PORT_VARIABLE = f"{LocalSettings.model_config.get('env_prefix', '')}NATS_PORT"
IDP_PORT_VARIABLE = f"{IdentitySettings.model_config.get('env_prefix', '')}IDP_PORT"


def service_urls(local: LocalSettings | None = None) -> dict[str, str]:
    """Each service's base URL as ``make run`` serves it, by name: ``{"registry": "http://127.0.0.1:8001", ...}``.

    The host is :class:`LocalSettings`' (``OSV_HOST``), each port the service's own settings' (``REGISTRY_PORT``,
    ``FUNDING_PORT``, ``ENGAGEMENT_PORT``, ``REPORTING_PORT``, ``IMPORTS_PORT``), read from the environment.
    """
    local = local or LocalSettings()
    return {name: f"http://{local.host}:{settings_class().port}" for name, _, settings_class in SERVICES}


def describe_exit(code: int) -> str:
    """``code -9 (killed by SIGKILL)``: a negative Popen return code is the signal that ended the process."""
    if code < 0:
        try:
            return f"code {code} (killed by {signal.Signals(-code).name})"
        except ValueError:
            return f"code {code} (killed by signal {-code})"
    return f"code {code}"


@dataclass
class Backoff:
    """Seconds to wait before a restart: doubling with each crash in a row, reset by a long enough run."""

    first: float
    longest: float
    stable_after: float
    crashes_in_a_row: int = 0

    def after_crash(self, ran_for: float) -> float:
        if ran_for >= self.stable_after:
            self.crashes_in_a_row = 0
        delay = min(self.first * 2**self.crashes_in_a_row, self.longest)
        self.crashes_in_a_row += 1
        return delay


@dataclass
class Child:
    """One supervised process: how to start it, whether it ended, how to stop it."""

    name: str
    backoff: Backoff
    started_at: float = 0.0
    restart_at: float | None = None
    """When a crashed child is due to start again; None while it runs."""
    restarts: int = 0
    healthy: bool = False
    host: str = ""
    port: int = 0
    """Where it listens; a port another process holds is refused before the start (:meth:`check_port`)."""
    port_variable: str = ""
    """The environment variable that sets :attr:`port`."""

    def check_port(self) -> None:
        """Raise :class:`PortTakenError` when another process holds this child's port.

        Started there anyway, the identity provider died at once, while the other provider answered its discovery with
        the same issuer: the launcher said "healthy again" after each restart, and the services' tokens were refused
        (tester 245 F9); nats-server's refusal was a traceback, a service's a restart loop.
        """
        if self.port and port_taken(self.host, self.port):
            raise PortTakenError(self.name, self.host, self.port, self.port_variable)

    def start(self) -> None:
        raise NotImplementedError

    def exit_code(self) -> int | None:
        raise NotImplementedError

    def pid(self) -> int | None:
        raise NotImplementedError

    def is_healthy(self) -> bool:
        return True

    def terminate(self) -> None:
        raise NotImplementedError

    def kill(self) -> None:
        raise NotImplementedError


@dataclass
class ServiceChild(Child):
    """A service run by uvicorn; healthy once ``/health`` answers 200.

    With ``--workers``, uvicorn's supervisor and its worker processes: each worker asks the kernel to end it when
    the supervisor ends (:func:`shared.lifecycle.die_with_supervisor`), so a restart never finds the port held.
    Every service stays in the launcher's process group: a signal to the job (a closed terminal, ``kill -9 %1``)
    reaches them all.
    """

    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""
    workers: int = 1
    service_name: str = ""
    """The name its ``/health`` answers with (``service``): another server's answer on the port is not its health."""
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, env=self.env, preexec_fn=ending_with_this_process())  # noqa: PLW1509 - one thread

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def is_healthy(self) -> bool:
        """``/health`` answers 200 naming this service: any other server's 200 there is not its health."""
        try:
            answer = probe_client().get(f"{self.url}/health", timeout=1.0)
            return answer.status_code == 200 and answer.json().get("service") == (self.service_name or self.name)
        except (httpx.HTTPError, ValueError, AttributeError):  # no JSON, or JSON that is no object
            return False

    def terminate(self) -> None:
        """SIGTERM to uvicorn, which stops its workers, each finishing its requests."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()


@dataclass
class NatsChild(Child):
    """nats-server with its JetStream store; :meth:`start` returns once JetStream answers."""

    server: NatsServer | None = None

    def start(self) -> None:
        assert self.server is not None
        self.server.stop()  # forgets a crashed process (closes its log), a no-op otherwise
        self.server.start()

    def exit_code(self) -> int | None:
        assert self.server is not None
        return self.server.exit_code

    def pid(self) -> int | None:
        assert self.server is not None
        return self.server.pid

    def terminate(self) -> None:
        assert self.server is not None
        self.server.stop()

    def kill(self) -> None:
        assert self.server is not None
        self.server.kill()


@dataclass
class IdentityChild(Child):
    """The OpenID Connect provider; :meth:`start` returns once its discovery document answers."""

    provider: IdentityProvider | None = None

    def start(self) -> None:
        assert self.provider is not None
        self.provider.stop()  # forgets a crashed process (closes its log), a no-op otherwise
        self.provider.start()

    def exit_code(self) -> int | None:
        assert self.provider is not None
        return self.provider.exit_code

    def pid(self) -> int | None:
        assert self.provider is not None
        return self.provider.pid

    def terminate(self) -> None:
        assert self.provider is not None
        self.provider.stop()

    def is_healthy(self) -> bool:
        """Its own process runs and answers discovery with its issuer (another provider on the port has the same one)."""
        assert self.provider is not None
        pid = self.provider.pid
        return pid is not None and pid_alive(pid) and self.provider.is_answering(timeout=1.0)

    def kill(self) -> None:
        self.terminate()


def service_child(
    name: str,
    factory: str,
    port: int,
    local: LocalSettings,
    nats_url: str,
    auth_env: dict[str, str],
    backoff: Backoff,
    workers: int = 1,
    feeds: dict[str, str] | None = None,
    service_name: str = "",
) -> ServiceChild:
    """The service's uvicorn command and environment; ``workers`` over 1 serve it from that many processes (``<SERVICE>_WORKERS``).

    ``feeds``: each write service's base URL on the ports this launcher gives them, for the views' ``GET /events``
    reads (``<SERVICE>_FEED_URLS``, unless set): on other ports than 8001-8003 the defaults would ask someone else.
    ``service_name``: the name its ``/health`` answers with (its settings' ``service_name``; ``name`` when not given).
    """
    prefix = name.upper()
    env = {
        **auth_env,
        **os.environ,
        f"{prefix}_VAR_DIR": str(local.var_dir),
        f"{prefix}_NATS_URL": os.environ.get(f"{prefix}_NATS_URL", nats_url),
        f"{prefix}_PORT": str(port),
    }
    if feeds:
        env[f"{prefix}_FEED_URLS"] = os.environ.get(f"{prefix}_FEED_URLS", json.dumps(feeds))
    # deploy.serve: uvicorn whose supervisor listens on the port as it binds it, so no other server takes it while the
    # workers start (tester 252 F1: one did, and the service ran on with no listener, silently).
    command = [sys.executable, "-m", "deploy.serve", factory, "--factory", "--host", local.host, "--port", str(port),
               # Its supervisor's lines in the services' format, WARNING and up, and "Child process [42] died" (INFO to uvicorn).
               "--log-config", str(UVICORN_LOG_CONFIG),
               # Asked to stop (SIGTERM: Ctrl-C, or the launcher gone), requests still open get this long, then are cut: one held
               # open (a client that never sends its body) otherwise kept a service, and its port, for good after a `kill -9`.
               "--timeout-graceful-shutdown", str(GRACEFUL_SECONDS)]
    if workers > 1:
        command += ["--workers", str(workers)]
    return ServiceChild(
        name, backoff, host=local.host, port=port, port_variable=port_variable(name),
        command=command, env=env, url=f"http://{local.host}:{port}", workers=workers, service_name=service_name or name,
    )


def in_one_line(error: Exception) -> str:
    """A start's failure in one line: its first line, and the last line of the log tail it ends with (nats-server's
    ``[FTL] Can't start JetStream: …``), which is the cause; the first line alone said "log tail (…):" and nothing
    after it (tester 292 F3)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if len(lines) < 2:
        return lines[0] if lines else type(error).__name__
    return f"{lines[0]} {lines[-1]}"


@dataclass
class Supervisor:
    """Keeps every child running until asked to stop."""

    children: list[Child]
    on_healthy: Callable[[Child], None] = lambda _: None
    stopping: bool = False
    forced: bool = False
    refused: PortTakenError | None = None
    """Why it stopped on its own: a child's port another process holds (the launcher says so and exits 1)."""

    def request_stop(self, *_: object) -> None:
        if self.stopping:
            self.forced = True
        self.stopping = True

    def check_ports(self) -> None:
        """Raise :class:`PortTakenError` for the first child whose port another process holds, before any is started."""
        for child in self.children:
            child.check_port()

    def start_all(self, skip: list[Child] | None = None) -> None:
        """Start every child in order (the identity provider and nats-server first: each returns once it answers)."""
        for child in self.children:
            if any(child is skipped for skipped in skip or []):
                continue
            child.start()
            child.started_at = time.monotonic()

    def tick(self) -> None:
        """Notice children that ended, restart those whose pause is over, notice the ones that became healthy."""
        now = time.monotonic()
        for child in self.children:
            if self.stopping:
                return
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._restart(child)
                continue
            code = child.exit_code()
            if code is not None:
                delay = child.backoff.after_crash(now - child.started_at)
                child.restart_at, child.healthy = now + delay, False
                due = time.strftime("%H:%M:%S", time.localtime(time.time() + delay))
                log.error("%s (pid %s) exited with %s; restarting it in %.1f s (at %s)", child.name, child.pid(), describe_exit(code), delay, due)
            elif not child.healthy and child.is_healthy():
                child.healthy = True
                if child.restarts:
                    log.info("%s is healthy again after restart %d", child.name, child.restarts)
                self.on_healthy(child)

    def _restart(self, child: Child) -> None:
        child.restart_at = None
        child.restarts += 1
        child.started_at = time.monotonic()
        try:
            child.check_port()  # its own process is gone: whoever holds the port now is another
            child.start()
        except PortTakenError as error:
            if not isinstance(child, ServiceChild):  # another provider or nats-server there would be taken for this one
                self.refused, self.stopping = error, True
                return
            delay = child.backoff.after_crash(0.0)  # a service: the others go on, and it waits for its port
            child.restart_at = time.monotonic() + delay
            log.error("%s; %s is not restarted; trying again in %.1f s, the rest of the system running", error, child.name, delay)
            return
        except (EmbeddedServerError, IdentityProviderError) as error:  # it did not come up: that counts as another crash
            delay = child.backoff.after_crash(0.0)
            child.restart_at = time.monotonic() + delay
            log.error("%s did not start again (%s); retrying in %.1f s", child.name, in_one_line(error), delay)
            return
        log.warning("%s restarted (pid %s, restart %d)", child.name, child.pid(), child.restarts)

    def run_until_stopped(self) -> None:
        while not self.stopping:
            self.tick()
            time.sleep(TICK_SECONDS)

    def stop_all(self, services: list[Child], last: list[Child]) -> None:
        """SIGTERM the services and wait for them (a second Ctrl-C, or ``STOP_SECONDS``, kills them); then the rest."""
        for child in services:
            child.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        while any(child.exit_code() is None and child.pid() is not None for child in services):
            if self.forced or time.monotonic() > deadline:
                for child in services:
                    if child.exit_code() is None:
                        log.warning("%s did not stop in time; killing it", child.name)
                        child.kill()
                break
            time.sleep(0.05)
        for child in last:
            child.terminate()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: it takes no argument (the settings are environment variables), and ``--help`` says which.

    Any argument, ``--help`` too, was ignored and the whole system started on the default ports and ``./var`` (tester
    199 F9): ``--help`` now prints and exits 0, anything else is one usage line and exit 2, nothing started."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy.run_local",
        description=__doc__.split("\n", 1)[0],
        epilog="Settings are environment variables: OSV_VAR_DIR (var), OSV_HOST (127.0.0.1), OSV_NATS_PORT (4222), "
        "OSV_IDP_PORT (8005), REGISTRY_PORT, FUNDING_PORT, ENGAGEMENT_PORT, REPORTING_PORT, IMPORTS_PORT (8001-8004, 8006), "
        "<SERVICE>_WORKERS, and each service's own (README, \"The services\").",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:  # a variable that does not read: one line naming it, not pydantic's traceback (nor, later, a child's in a loop)
        local = LocalSettings()
        configured = {name: settings_class() for name, _, settings_class in SERVICES}
    except (ValidationError, SettingsError) as error:
        print(f"osv-platform: {refused_setting(error, (LocalSettings, *(cls for _, _, cls in SERVICES)))}", file=sys.stderr)
        return 2
    os.umask(OWNER_ONLY_UMASK)  # what this process and its children write is their owner's only (nats-server's JetStream too)
    private_dir(local.var_dir, tighten=True)

    def backoff() -> Backoff:
        return Backoff(local.restart_first_seconds, local.restart_longest_seconds, local.restart_stable_seconds)

    ports = {name: settings.port for name, settings in configured.items()}
    workers = {name: getattr(settings, "workers", 1) for name, settings in configured.items()}  # the Kobo webhook: one
    urls = service_urls(local)
    feeds = {name: urls[name] for name in ("registry", "funding", "engagement")}
    identity = IdentitySettings(
        var_dir=local.var_dir,
        host=local.host,
        service_urls={name: urls[name] for name in SIGNED_IN_THROUGH_DOCS},
    )
    idp = IdentityChild(
        "identity provider", backoff(), host=local.host, port=identity.idp_port, port_variable=IDP_PORT_VARIABLE,
        provider=IdentityProvider.from_settings(identity, end_with_parent=True),
    )
    assert idp.provider is not None
    # The partners' accounts are made at the server's start: one per municipality of registry's districts table.
    # Its monitoring port picked now, never one of the ports above: picked as it starts, before the services bind theirs,
    # it once fell on one of them in the suite (ports a test picks lie in the same range).
    monitoring_port = free_port(local.host, avoid={*ports.values(), identity.idp_port, local.nats_port})
    nats_store = NatsServer(
        local.var_dir / "nats", port=local.nats_port, host=local.host, http_port=monitoring_port, end_with_parent=True,
        districts_file=configured["registry"].districts_file,
    )
    nats = NatsChild("nats-server", backoff(), host=local.host, port=local.nats_port, port_variable=NATS_PORT_VARIABLE, server=nats_store)
    assert nats.server is not None
    # Where the services check tokens, and their own client's secret (for reading each other's feeds).
    auth_env = {"OSV_AUTH_ISSUER": idp.provider.issuer, "OSV_AUTH_SERVICE_CLIENT_SECRET": idp.provider.client_secret("osv-services")}
    # The Kobo webhook: where the services are, and its own client's secret (role staff).
    auth_env |= {
        "IMPORTS_REGISTRY_URL": urls["registry"],
        "IMPORTS_ENGAGEMENT_URL": urls["engagement"],
        "IMPORTS_CLIENT_SECRET": idp.provider.client_secret("osv-imports"),
    }
    services: list[Child] = [
        service_child(
            name, factory, ports[name], local, nats.server.url, auth_env, backoff(), workers[name], feeds,
            service_name=configured[name].service_name,
        )
        for name, factory, _ in SERVICES
    ]
    announced: set[str] = set()

    def on_healthy(child: Child) -> None:
        if child.name in announced or not isinstance(child, ServiceChild):
            return
        announced.add(child.name)
        what = "Kobo webhook; hooks in IMPORTS_KOBO_HOOKS" if child.name == "imports" else f"API docs: {child.url}/docs"
        processes = f"pid {child.pid()}" + (f", {child.workers} workers" if child.workers > 1 else "")
        print(f"  {child.name:<11} {child.url}   ({what}, {processes})", flush=True)
        if len(announced) == len(services):
            print(f"  {'nats':<11} {nats.server.public_url}   (JetStream store: {local.var_dir / 'nats'}, pid {nats.pid()})", flush=True)
            # --url: run as printed in a shell without OSV_NATS_PORT, it signed in at 4222, not where NATS runs (tester 225 F9).
            partner = f"{Path(sys.executable).parent / 'osv-partner'} --nats-dir {local.var_dir / 'nats'} --url {nats.server.public_url}"
            print(
                f"  {'partners':<11} `{partner} add --municipality 150132` prints a municipal partner's "
                "NATS credentials; the services sign in as `osv` (var/nats/accounts.json)",
                flush=True,
            )
            print("osv-platform is running. Load the demo with `make demo`; stop with Ctrl-C.", flush=True)

    supervisor = Supervisor([idp, nats, *services], on_healthy)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGHUP, supervisor.request_stop)  # the terminal closed: stop everything, as Ctrl-C does
    try:
        supervisor.check_ports()
        idp.start()
        idp.started_at = time.monotonic()
        print(idp.provider.describe(), flush=True)
        supervisor.start_all(skip=[idp])
        supervisor.run_until_stopped()
    except PortTakenError as error:
        supervisor.refused = error
    finally:
        supervisor.stop_all(services, [nats, idp])
    if supervisor.refused is not None:
        print(f"osv-platform: {supervisor.refused}", file=sys.stderr, flush=True)
        return 1
    print("osv-platform stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
