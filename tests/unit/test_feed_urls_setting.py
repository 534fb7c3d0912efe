"""``<SERVICE>_FEED_URLS`` names each write service's feed; a key that names none is refused by the setting itself.

A typo (``registryy``) left the service's views without registry's feed to fetch
what the stream did not deliver, and the running services said nothing
(tester 161). The rebuild and ``osv-replay`` read reporting's setting and so
refuse it the same way.
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from services.engagement.settings import EngagementSettings
from services.funding.settings import FundingSettings
from services.registry.settings import RegistrySettings
from services.reporting.settings import ReportingSettings
from shared.settings import refused_setting

CLASSES = [RegistrySettings, FundingSettings, EngagementSettings, ReportingSettings]


@pytest.mark.parametrize("settings", CLASSES, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("unknown", ["registryy", "reporting"])
def test_a_key_that_names_no_write_service_is_refused_naming_the_variable_and_the_key(
    monkeypatch: pytest.MonkeyPatch, settings: type, unknown: str
) -> None:
    variable = f"{settings.model_config['env_prefix']}FEED_URLS"
    monkeypatch.setenv(variable, json.dumps({unknown: "http://127.0.0.1:8001", "funding": "http://127.0.0.1:8002"}))
    with pytest.raises(ValidationError) as refused:
        settings()
    assert refused_setting(refused.value, CLASSES) == (
        f"{variable} is refused: {unknown!r} names no write service: its keys are registry, funding, engagement"
    )


def test_a_service_may_name_only_the_feeds_it_follows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNDING_FEED_URLS", json.dumps({"registry": "http://registry:8001"}))
    assert FundingSettings().feed_urls == {"registry": "http://registry:8001"}
