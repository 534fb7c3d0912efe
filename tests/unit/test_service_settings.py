"""Settings every service reads, refused at start when a browser or a feed could never match them: ``<SERVICE>_FEED_URLS``
names each write service's feed, a key that names none is refused by the setting itself.

A typo (``registryy``) left the service's views without registry's feed to fetch
what the stream did not deliver, and the running services said nothing
(tester 161). The rebuild and ``osv-replay`` read reporting's setting and so
refuse it the same way. ``<SERVICE>_CORS_ALLOW_ORIGINS`` holds origins as browsers
send them: any other never matched, and every preflight was refused.
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


@pytest.mark.parametrize(("origin", "said"), [
    ("https://front.example.org/", "write 'https://front.example.org/' as a browser sends it, 'https://front.example.org'"),
    ("HTTPS://FRONT.EXAMPLE.ORG", "write 'HTTPS://FRONT.EXAMPLE.ORG' as a browser sends it, 'https://front.example.org'"),
    ("https://front.example.org:443", "write 'https://front.example.org:443' as a browser sends it, 'https://front.example.org'"),
    ("front.example.org", "an origin is scheme://host[:port], such as https://front.example.org, not 'front.example.org'"),
    ("*", "'*' lets any page call the API: name each front end's origin"),
    ("null", "'null' lets any page call the API: name each front end's origin"),
    ("https://user:s3cret@front.example.org", "an origin holds no user name or password: 'https://front.example.org'"),
    # Tester 164 F3: forms a browser never sends, taken before.
    ("https://municipalidad-ñaña.gob.pe", "write 'https://municipalidad-ñaña.gob.pe' as a browser sends it, 'https://xn--municipalidad-aa-kubb.gob.pe'"),
    ("https://front.example.org ", "an origin is scheme://host[:port], such as https://front.example.org, not 'https://front.example.org '"),
    ("https://*.munilima.gob.pe", "an origin names one host: no wildcard"),
    ("http://127.1", "an origin's host and port are a host name or address and a number from 0 to 65535 (write the IPv4 address '127.1'"),
    ("http://[0:0:0:0:0:0:0:1]:3000", "write 'http://[0:0:0:0:0:0:0:1]:3000' as a browser sends it, 'http://[::1]:3000'"),
])
def test_a_cors_origin_a_browser_never_sends_is_refused_at_start_saying_how_to_write_it(
    monkeypatch: pytest.MonkeyPatch, origin: str, said: str
) -> None:
    """Tester 163 F9: a trailing slash or capitals never matched a browser's `Origin`, so every preflight was refused
    and nothing said why at start; `*` let any page call an API of personal data."""
    monkeypatch.setenv("ENGAGEMENT_CORS_ALLOW_ORIGINS", json.dumps(["http://localhost:5173", origin]))
    with pytest.raises(ValidationError) as refused:
        EngagementSettings()
    assert refused_setting(refused.value, CLASSES).startswith(f"ENGAGEMENT_CORS_ALLOW_ORIGINS is refused: {said}")
    assert "s3cret" not in str(refused.value)


def test_origins_as_browsers_send_them_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    origins = ["https://front.example.org", "http://localhost:5173", "http://[::1]:8080", "https://xn--municipalidad-aa-kubb.gob.pe",
               "http://127.0.0.1:3000", "capacitor://localhost"]  # the last, a field app's WebView
    monkeypatch.setenv("REPORTING_CORS_ALLOW_ORIGINS", json.dumps(origins))
    assert ReportingSettings().cors_allow_origins == origins


def test_an_iati_sector_that_is_no_purpose_code_is_refused_at_start_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tester 178 F1: the IATI file's sectors come from ``REPORTING_IATI``; a misconfigured one stops reporting at start."""
    monkeypatch.setenv("REPORTING_IATI", json.dumps({"sectors": [{"code": "15190", "percentage": 70}, {"code": "15150", "percentage": 40}]}))
    with pytest.raises(ValidationError) as refused:
        ReportingSettings()
    assert refused_setting(refused.value, CLASSES) == "REPORTING_IATI is refused: the sectors' percentages add up to 100, not 110"

    monkeypatch.setenv("REPORTING_IATI", json.dumps({"sectors": [{"code": "15190"}]}))
    assert [(s.code, s.percentage) for s in ReportingSettings().iati.sectors] == [("15190", None)]
