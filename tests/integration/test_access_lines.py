"""A service started by plain ``uvicorn`` writes an access line per request: never with the request's query.

The services' launchers give uvicorn a log configuration without access lines; a deployment that starts one with
uvicorn's defaults gets a line per request, sent wherever its logs go. A query is where a client may put what no log may
hold: ``GET /members?document_number=…`` did, until it was refused (security tester 192 F6).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.clients import NATS_OUT_OF_REACH
from tests.support.identity import signed_in_headers
from tests.support.processes import service_process
from tests.support.system import eventually

pytestmark = pytest.mark.timeout(180)

NUMBER = "001234567"


def up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code in (200, 503)  # 503: NATS out of reach, as meant
    except httpx.TransportError:
        return False


def test_an_access_line_shows_the_path_and_not_the_query_that_held_a_document_number(tmp_path: Path) -> None:
    env = {"ENGAGEMENT_VAR_DIR": str(tmp_path / "var"), "ENGAGEMENT_NATS_URL": NATS_OUT_OF_REACH}
    with service_process("engagement", env) as engagement:
        eventually(lambda: up(engagement.url), timeout=90, interval=0.2)

        refused = httpx.get(
            f"{engagement.url}/members",
            params={"document_type": "CE", "document_number": NUMBER, "purpose": "duplicate_check"},
            headers=signed_in_headers(),
            timeout=30,
        )
        looked_up = httpx.post(
            f"{engagement.url}/members/lookup",
            json={"document_type": "CE", "document_number": NUMBER, "purpose": "duplicate_check"},
            headers=signed_in_headers(),
            timeout=30,
        )

        assert refused.status_code == 422 and refused.json()["errors"][0]["rule"] == "lookup_by_post", refused.text
        assert NUMBER not in refused.text and NUMBER not in looked_up.text
        engagement.console.wait_for(r'"GET /members\?… HTTP/1\.1" 422')
        engagement.console.wait_for(rf'"POST /members/lookup HTTP/1\.1" {looked_up.status_code}')
        assert NUMBER not in engagement.console.text() and "document_number" not in engagement.console.text()
