"""Run the whole system on one machine: the identity provider, nats-server and the four services.

``make run`` calls this. Data lives under ``var/`` (SQLite stores, the
JetStream store, the identity provider's accounts and keys under ``var/idp``)
and survives a restart. Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict

from devtools.embedded import NatsServer
from devtools.identity import IdentityProvider, IdentitySettings
from services.engagement.settings import EngagementSettings
from services.funding.settings import FundingSettings
from services.registry.settings import RegistrySettings
from services.reporting.settings import ReportingSettings

log = logging.getLogger("osv-platform")


class LocalSettings(BaseSettings):
    """The embedded default: where files go and which port NATS listens on."""

    model_config = SettingsConfigDict(env_prefix="OSV_", extra="ignore")

    var_dir: Path = Path("var")
    nats_port: int = 4222
    host: str = "127.0.0.1"


SERVICES = (
    ("registry", "services.registry.api:create_app", RegistrySettings),
    ("funding", "services.funding.api:create_app", FundingSettings),
    ("engagement", "services.engagement.api:create_app", EngagementSettings),
    ("reporting", "services.reporting.api:create_app", ReportingSettings),
)


def start_service(
    name: str, factory: str, port: int, local: LocalSettings, nats_url: str, auth_env: dict[str, str]
) -> subprocess.Popen[bytes]:
    prefix = name.upper()
    env = {
        **auth_env,
        **os.environ,
        f"{prefix}_VAR_DIR": str(local.var_dir),
        f"{prefix}_NATS_URL": os.environ.get(f"{prefix}_NATS_URL", nats_url),
        f"{prefix}_PORT": str(port),
    }
    command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", local.host, "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(command, env=env)


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"{url} exited with code {process.returncode} while starting"
            raise RuntimeError(msg)
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    msg = f"{url} did not answer /health within {timeout:.0f}s"
    raise RuntimeError(msg)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    local = LocalSettings()
    local.var_dir.mkdir(parents=True, exist_ok=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    processes: list[subprocess.Popen[bytes]] = []
    ports = {name: settings_class().port for name, _, settings_class in SERVICES}
    identity = IdentitySettings(
        var_dir=local.var_dir, host=local.host, service_urls={name: f"http://{local.host}:{port}" for name, port in ports.items()}
    )
    with (
        IdentityProvider.from_settings(identity) as idp,
        NatsServer(local.var_dir / "nats", port=local.nats_port, host=local.host) as nats,
    ):
        print(idp.describe(), flush=True)
        # Where the services check tokens, and their own client's secret (for reading each other's feeds).
        auth_env = {"OSV_AUTH_ISSUER": idp.issuer, "OSV_AUTH_SERVICE_CLIENT_SECRET": idp.client_secret("osv-services")}
        try:
            for name, factory, _ in SERVICES:
                port = ports[name]
                process = start_service(name, factory, port, local, nats.url, auth_env)
                processes.append(process)
                wait_healthy(f"http://{local.host}:{port}", process)
                print(f"  {name:<11} http://{local.host}:{port}   (API docs: http://{local.host}:{port}/docs)", flush=True)
            print(f"  {'nats':<11} {nats.url}   (JetStream store: {local.var_dir / 'nats'})", flush=True)
            print("osv-platform is running. Load the demo with `make demo`; stop with Ctrl-C.", flush=True)
            while not stopping:
                for process in processes:
                    if process.poll() is not None:
                        log.error("a service exited with code %s; stopping everything", process.returncode)
                        stopping = True
                time.sleep(0.3)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
    print("osv-platform stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
