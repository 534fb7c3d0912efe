"""Reporting for donors over HTTP: the IATI activity file and the HXL 3W export, as of any moment.

Funding, registry and engagement are stood in for by hand-built CloudEvents
fed to the read model's real handler (``apply``), as the NATS consumer would.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import hxl
import pytest
import xmlschema
from fastapi.testclient import TestClient

from services.reporting import iati
from tests.integration.test_reporting_as_of import START, cloudevent
from tests.support.clients import application_of

pytestmark = [pytest.mark.timeout(300), pytest.mark.service("reporting")]


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def activity(activity_id: str, position: int, hours: float, held_on: str, **counts: int) -> dict[str, Any]:
    rows = [{"nationality": n, "sex": s, "count": c} for (n, s), c in
            {("VE", "F"): counts.get("ve_f", 0), ("PE", "M"): counts.get("pe_m", 0)}.items() if c]
    return cloudevent("engagement", position, "ActivityReported", activity_id, at(hours), activity_id=activity_id, osv_id="osv-1",
                      held_on=held_on, occurred_on=held_on, kind="workshop", district="San Juan de Lurigancho", zone="Lima Este",
                      indirect_beneficiaries=counts.get("indirect", 0), grant_id=None, direct_beneficiaries=rows,
                      outputs=[{"kind": "mural", "count": counts["murals"]}] if counts.get("murals") else [])


def programme(client: TestClient) -> None:
    """Phase 1 with one OSV and a workshop; a second workshop in phase 1 entered months later."""
    application_of(client).readmodel.apply([
        cloudevent("funding", 1, "PhaseOpened", "p1", at(0), phase_id="p1", code="F1", name="Fase 1", starts_on="2021-01-01",
                   ends_on="2021-06-30", occurred_on="2021-01-01"),
        cloudevent("registry", 1, "OSVMapped", "osv-1", at(1), osv_id="osv-1", name="OSV Unidos", district="San Juan de Lurigancho",
                   zone="Lima Este", mapped_on="2021-01-05", occurred_on="2021-01-05"),
        activity("act-1", 1, 2, "2021-03-01", ve_f=12, pe_m=5, indirect=40, murals=1),
        activity("act-2", 2, 3000, "2021-05-01", ve_f=3),
    ])


def actual_total(document: bytes, title_en: str, period: int = 0) -> str:
    for indicator in ET.fromstring(document).iter("indicator"):
        if any(n.text == title_en for n in indicator.findall("title/narrative")):
            actual = indicator.findall("period")[period].find("actual")
            assert actual is not None
            return str(actual.get("value"))
    raise AssertionError(title_en)


def test_the_iati_activity_file_is_valid_and_answers_as_of_a_moment(client: TestClient) -> None:
    programme(client)

    now = client.get("/iati/activity.xml")
    assert now.status_code == 200, now.text
    assert now.headers["content-type"].startswith("application/xml")
    xmlschema.XMLSchema(str(iati.schema_path())).validate(now.text)
    assert actual_total(now.content, "Direct beneficiaries") == "20"

    then = client.get("/iati/activity.xml", params={"as_of": stamp(at(100))})
    assert then.status_code == 200
    assert actual_total(then.content, "Direct beneficiaries") == "17"
    assert ET.fromstring(then.content).get("generated-datetime") == stamp(at(100))
    assert client.get("/iati/activity.xml", params={"as_of": stamp(at(100))}).content == then.content  # reproducible


def test_an_iati_file_as_of_a_malformed_moment_is_refused_naming_as_of(client: TestClient) -> None:
    answer = client.get("/iati/activity.xml", params={"as_of": "yesterday"})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "as_of" in answer.text


def test_the_hxl_3w_export_lists_each_activity_by_ubigeo_as_of_a_moment(client: TestClient) -> None:
    programme(client)

    now = client.get("/activities/export.hxl.csv")
    assert now.status_code == 200, now.text
    assert now.headers["content-type"].startswith("text/csv")
    rows = list(hxl.data(io.BytesIO(now.content), hxl.InputOptions(allow_local=True)))
    assert [(r.get("#activity+code"), r.get("#org+name"), r.get("#adm3+code"), r.get("#reached+ind")) for r in rows] == [
        ("act-1", "OSV Unidos", "150132", "17"), ("act-2", "OSV Unidos", "150132", "3"),
    ]
    then = client.get("/activities/export.hxl.csv", params={"as_of": stamp(at(100))})
    assert [r.get("#activity+code") for r in hxl.data(io.BytesIO(then.content), hxl.InputOptions(allow_local=True))] == ["act-1"]
