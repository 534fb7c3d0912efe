"""An OSV's way into the RUOS, as the registry tests walk it: the municipalities, the documents an application files,
registry's clock at the end of the programme's year (the fixtures ``clock`` and ``today``, imported by the modules that
use them), and the steps taken over HTTP (``tests/integration/test_registry_ruos_*``)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.clients import FakeToday, application_of

COMAS = "150110"
SJL = "150132"
LOS_OLIVOS = "150117"
ALL_DOCUMENTS = [
    "acta_constitucion",
    "estatuto",
    "acta_aprobacion_estatuto",
    "acta_eleccion_junta_directiva",
    "nomina_junta_directiva",
    "padron_socios",
    "croquis",
]


# Named apart from the fixtures they register (``name=``), so a test taking ``clock`` does not shadow the import.
@pytest.fixture(name="clock")
def clock_fixture() -> FakeToday:
    """The end of the programme's year: every step these stories record has happened by then."""
    return FakeToday(date(2021, 12, 31))


@pytest.fixture(name="today")
def today_fixture(clock: FakeToday) -> FakeToday:
    """Registry's clock, set by the test."""
    return clock


def new_osv(client: TestClient, **overrides: Any) -> str:
    body = {"name": "Vecinos Unidos de Collique", "district": "comas", "mapped_on": "2021-03-15", **overrides}
    response = client.post("/osvs", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def counted(osv_id: str, position: int, board: dict[str, int], members: dict[str, int], on: str = "2021-06-10") -> dict[str, Any]:
    """Engagement's OSVDocumentsCounted, as it arrives from NATS."""
    return {
        "type": "OSVDocumentsCounted",
        "source": "urn:osv-platform:engagement",
        "position": position,
        "data": {"osv_id": osv_id, "counted_on": on, "occurred_on": on, "board": board, "members": members},
    }


def apply_counts(client: TestClient, *cloudevents: dict[str, Any]) -> None:
    counts = application_of(client).document_counts
    assert counts is not None
    counts.apply(list(cloudevents))


def submit(client: TestClient, osv_id: str, **overrides: Any) -> dict[str, Any]:
    body = {"municipality_id": COMAS, "submitted_on": "2021-06-14", "documents": ALL_DOCUMENTS, **overrides}
    response = client.post(f"/osvs/{osv_id}/ruos-applications", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def step(client: TestClient, osv_id: str, application_id: str, name: str, **body: Any) -> Any:
    return client.post(f"/osvs/{osv_id}/ruos-applications/{application_id}/{name}", json=body)
