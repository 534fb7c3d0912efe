"""`make demo` looks for the services where `make run` put them: the same host and port variables."""

from __future__ import annotations

import pytest

from deploy.demo import DemoSettings

PORTS = {"REGISTRY_PORT": "18001", "FUNDING_PORT": "18002", "ENGAGEMENT_PORT": "18003", "REPORTING_PORT": "18004"}


@pytest.fixture
def make_run_on_other_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REGISTRY", "FUNDING", "ENGAGEMENT", "REPORTING"):
        monkeypatch.delenv(f"OSV_DEMO_{name}_URL", raising=False)
    for variable, port in PORTS.items():
        monkeypatch.setenv(variable, port)
    monkeypatch.setenv("OSV_HOST", "127.0.0.2")


@pytest.mark.usefixtures("make_run_on_other_ports")
def test_the_demo_finds_each_service_on_the_host_and_port_make_run_serves_it_on() -> None:
    settings = DemoSettings()

    assert settings.registry_url == "http://127.0.0.2:18001"
    assert settings.funding_url == "http://127.0.0.2:18002"
    assert settings.engagement_url == "http://127.0.0.2:18003"
    assert settings.reporting_url == "http://127.0.0.2:18004"
    assert settings.set_by("registry") == "OSV_HOST and REGISTRY_PORT, as for `make run`; or OSV_DEMO_REGISTRY_URL"


@pytest.mark.usefixtures("make_run_on_other_ports")
def test_an_explicit_demo_url_wins_over_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSV_DEMO_REGISTRY_URL", "http://registry.example:9999")

    settings = DemoSettings()

    assert settings.registry_url == "http://registry.example:9999"
    assert settings.set_by("registry") == "OSV_DEMO_REGISTRY_URL"
    assert settings.funding_url == "http://127.0.0.2:18002"


def test_without_any_variable_the_demo_uses_make_runs_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (*PORTS, "OSV_HOST", *(f"OSV_DEMO_{name}_URL" for name in ("REGISTRY", "FUNDING", "ENGAGEMENT", "REPORTING"))):
        monkeypatch.delenv(variable, raising=False)

    settings = DemoSettings()

    assert (settings.registry_url, settings.funding_url, settings.engagement_url, settings.reporting_url) == (
        "http://127.0.0.1:8001", "http://127.0.0.1:8002", "http://127.0.0.1:8003", "http://127.0.0.1:8004",
    )
