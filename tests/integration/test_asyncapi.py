"""The AsyncAPI 3.0 document partners read is valid, as the AsyncAPI CLI judges it, and each service serves its part."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from devtools import catalogue as event_catalogue
from tests.support.clients import service_client

CLI_VERSION = "6.2.0"
CACHE = Path.home() / ".cache" / "osv-platform" / f"asyncapi-cli-{CLI_VERSION}"
CLI = CACHE / "node_modules" / ".bin" / "asyncapi"


@pytest.fixture(scope="session")
def asyncapi_cli() -> Path:
    """The AsyncAPI CLI from npm, installed once per machine under ~/.cache (``make test`` does it before the suite)."""
    if not CLI.exists():
        subprocess.run(
            ["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--loglevel=error", f"@asyncapi/cli@{CLI_VERSION}"],
            check=True,
            timeout=900,
        )
    return CLI


def validate(cli: Path, document: Path) -> subprocess.CompletedProcess[str]:
    settings = CACHE / "analytics.json"  # no tracking, and no network needed
    settings.write_text(json.dumps({"analyticsEnabled": "false", "infoMessageShown": "true", "userID": "osv-platform-tests"}))
    env = {**os.environ, "ASYNCAPI_METRICS_CONFIG_PATH": str(settings), "SUPPRESS_NO_CONFIG_WARNING": "1", "CI": "true"}
    return subprocess.run([str(cli), "validate", str(document)], capture_output=True, text=True, env=env, timeout=300, cwd=CACHE)


def test_the_catalogues_asyncapi_document_is_valid_asyncapi_3(asyncapi_cli: Path) -> None:
    result = validate(asyncapi_cli, event_catalogue.ASYNCAPI)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout
    assert " 0 errors, 0 warnings" in result.stdout or "0 errors" in result.stdout


def test_the_validator_refuses_a_document_that_breaks_asyncapi_3(asyncapi_cli: Path, tmp_path: Path) -> None:
    broken = json.loads(event_catalogue.ASYNCAPI.read_text("utf-8"))
    broken["operations"]["receiveOSVMapped"]["action"] = "listen"  # neither send nor receive
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(broken))

    assert validate(asyncapi_cli, path).returncode != 0


@pytest.mark.parametrize("service", ["registry", "funding", "engagement"])
def test_each_write_service_serves_a_valid_asyncapi_document_of_its_own_channels(service: str, tmp_path: Path, asyncapi_cli: Path) -> None:
    with service_client(service, tmp_path / "var") as client:
        served = client.get("/asyncapi.json").json()
    whole = json.loads(event_catalogue.ASYNCAPI.read_text("utf-8"))
    document = tmp_path / "served.json"
    document.write_text(json.dumps(served))

    assert served["asyncapi"] == "3.0.0"
    assert served["channels"] and served["channels"] == {name: channel for name, channel in whole["channels"].items() if name.startswith(f"{service}.")}
    assert validate(asyncapi_cli, document).returncode == 0  # a partner's tooling can read it alone


@pytest.mark.service("reporting")
def test_reporting_serves_the_whole_document(client: TestClient) -> None:
    served = client.get("/asyncapi.json").json()
    whole = json.loads(event_catalogue.ASYNCAPI.read_text("utf-8"))
    assert [server["host"] for server in served.pop("servers").values()] == ["127.0.0.1:1"]  # the tests' NATS, out of reach
    whole.pop("servers")
    assert served == whole


@pytest.mark.parametrize("service", ["registry", "reporting"])
def test_the_served_document_names_the_nats_servers_the_service_is_configured_with_and_no_credentials(
    service: str, tmp_path: Path, asyncapi_cli: Path
) -> None:
    """A partner's tooling connects where the document says: the servers the service was given, not a default."""
    configured = "nats://osv:s3cret-pw@127.0.0.1:1, nats://osv:s3cret-pw@[::1]:2"
    with service_client(service, tmp_path / "var", settings={"nats_url": configured}) as client:
        served = client.get("/asyncapi.json").json()
    document = tmp_path / "served.json"
    document.write_text(json.dumps(served))

    assert [(server["host"], server["protocol"]) for server in served["servers"].values()] == [("127.0.0.1:1", "nats"), ("[::1]:2", "nats")]
    assert "s3cret-pw" not in document.read_text() and "osv:" not in document.read_text()
    assert validate(asyncapi_cli, document).returncode == 0


@pytest.mark.parametrize("service", ["registry", "reporting"])
def test_the_served_document_names_the_address_partners_connect_to_when_it_is_not_the_services_own(
    service: str, tmp_path: Path, asyncapi_cli: Path
) -> None:
    """Under docker-compose the services reach NATS as `nats-1:4222`…, names no partner can resolve, and a WebSocket
    gateway was labelled `nats` (tester 29b): `partner_nats_url` names what partners use, each with its protocol."""
    settings = {"nats_url": "nats://nats-1:4222,nats://nats-2:4222", "partner_nats_url": "tls://nats.example.org:4222, wss://osv:pw@ws.example.org"}
    with service_client(service, tmp_path / "var", settings=settings) as client:
        served = client.get("/asyncapi.json").json()
    document = tmp_path / "served.json"
    document.write_text(json.dumps(served))

    assert [(server["host"], server["protocol"]) for server in served["servers"].values()] == [
        ("nats.example.org:4222", "nats"), ("ws.example.org:443", "wss")]
    assert "osv:pw" not in document.read_text()
    assert validate(asyncapi_cli, document).returncode == 0
