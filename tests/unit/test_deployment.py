"""The multi-machine shape in docker-compose.yml, checked with a YAML parser (no Docker engine here).

Compose must start each service only once PostgreSQL and the three NATS nodes
are healthy, know when each container is healthy, and hand every service the
write services' feeds (which its views and reporting's rebuild read) in the
form its settings read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.engagement.settings import EngagementSettings
from services.funding.settings import FundingSettings
from services.registry.settings import RegistrySettings
from services.reporting.settings import ReportingSettings

ROOT = Path(__file__).resolve().parents[2]
INFRASTRUCTURE = ("postgres", "nats-1", "nats-2", "nats-3")
SETTINGS = {"registry": RegistrySettings, "funding": FundingSettings, "engagement": EngagementSettings, "reporting": ReportingSettings}


@pytest.fixture(scope="module")
def containers() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]


def port_of(container: dict[str, Any]) -> int:
    command = container["command"]
    return int(command[command.index("--port") + 1])


@pytest.mark.parametrize("name", [*INFRASTRUCTURE, *SETTINGS])
def test_every_container_says_how_to_tell_it_is_healthy(containers: dict[str, Any], name: str) -> None:
    check = containers[name]["healthcheck"]
    assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1
    assert {"interval", "timeout", "retries"} <= set(check)


@pytest.mark.parametrize("name", SETTINGS)
def test_each_service_starts_only_once_postgresql_and_every_nats_node_are_healthy(containers: dict[str, Any], name: str) -> None:
    assert containers[name]["depends_on"] == {dependency: {"condition": "service_healthy"} for dependency in INFRASTRUCTURE}


@pytest.mark.parametrize("name", SETTINGS)
def test_each_service_is_healthy_when_its_own_health_endpoint_answers_200(containers: dict[str, Any], name: str) -> None:
    test = containers[name]["healthcheck"]["test"]
    assert test == ["CMD", "python", "-m", "shared.healthcheck", f"http://127.0.0.1:{port_of(containers[name])}/health"]


@pytest.mark.parametrize("name", SETTINGS)
def test_each_service_variable_in_the_compose_file_is_one_its_settings_read(containers: dict[str, Any], name: str) -> None:
    prefix = f"{name.upper()}_"
    fields = set(SETTINGS[name].model_fields)
    for variable in containers[name]["environment"]:
        assert variable.startswith(prefix) and variable.removeprefix(prefix).lower() in fields, variable


@pytest.mark.parametrize("name", SETTINGS)
def test_each_service_is_given_each_write_service_feed_in_the_form_its_settings_read(
    containers: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = f"{name.upper()}_FEED_URLS"
    monkeypatch.setenv(variable, containers[name]["environment"][variable])
    feeds = SETTINGS[name]().feed_urls
    assert feeds == {writer: f"http://{writer}:{port_of(containers[writer])}" for writer in ("registry", "funding", "engagement")}


@pytest.mark.parametrize(("name", "secrets"), [("registry", ["MASTER_KEY"]), ("funding", ["MASTER_KEY"]), ("engagement", ["MASTER_KEY", "INDEX_KEY"])])
def test_each_write_service_is_given_its_keys_from_outside_and_refuses_to_start_without_them(
    containers: dict[str, Any], name: str, secrets: list[str]
) -> None:
    """A container keeps no var/: a key it generated itself would go with it, and what it sealed (free text, people) with the key."""
    for secret in secrets:
        variable = f"{name.upper()}_{secret}"
        assert containers[name]["environment"][variable].startswith(f"${{{variable}:?"), variable
