"""A service started by uvicorn itself (the image, docker-compose.yml) with a variable that does not read ends at once
with one line naming it, as `make run` does (tester 164 F2): it printed pydantic's traceback, the variable's name
twenty lines down, and uvicorn's exit code 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.processes import service_process

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(
    ("service", "variable", "value", "said"),
    [
        ("registry", "REGISTRY_CORS_ALLOW_ORIGINS", '["https://osv.example.org/"]',
         "REGISTRY_CORS_ALLOW_ORIGINS is refused: write 'https://osv.example.org/' as a browser sends it, 'https://osv.example.org'"),
        ("engagement", "ENGAGEMENT_WORKERS", "two", "ENGAGEMENT_WORKERS is refused: Input should be a valid integer"),
        ("reporting", "REPORTING_CHECKPOINT_EVERY", "often", "REPORTING_CHECKPOINT_EVERY is refused: Input should be a valid integer"),
        ("imports", "IMPORTS_PORT", "eighty", "IMPORTS_PORT is refused: Input should be a valid integer"),
        # Read only once the store opened, in a traceback that never named the variable (tester 166 F3).
        ("registry", "REGISTRY_MASTER_KEY", "c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA=",
         "REGISTRY_MASTER_KEY is refused: decodes to 23 bytes: write it as base64 of 16, 24 or 32 bytes"),
        ("engagement", "ENGAGEMENT_INDEX_KEY", "!!notb64secretVALUE", "ENGAGEMENT_INDEX_KEY is refused: is not base64: write it as base64 of 16 to 64 bytes"),
        ("funding", "FUNDING_DATABASE_URL", "postgresql://osv:TopSecretPw@127.0.0.1:notaport/osv",
         "FUNDING_DATABASE_URL is refused: is no database URL: write postgresql://user:password@host:port/dbname, or sqlite:///path"),
    ],
)
def test_a_variable_that_does_not_read_ends_the_service_with_one_line_naming_it(
    tmp_path: Path, service: str, variable: str, value: str, said: str
) -> None:
    with service_process(service, {f"{service.upper()}_VAR_DIR": str(tmp_path / "var"), variable: value}) as started:
        assert started.process.wait(timeout=60) == 2
        console = started.console.text()
    lines = [line for line in console.splitlines() if line.strip()]
    assert said in lines[-1], console  # alone, or in the services' log format (the webhook sets it up first)
    assert "Traceback" not in console and "ValidationError" not in console, console
    assert value not in console or variable == "REGISTRY_CORS_ALLOW_ORIGINS", console  # not repeated: it may be a secret
    assert "TopSecretPw" not in console
