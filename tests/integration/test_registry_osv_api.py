"""An OSV's details, history, contact and dissolution over HTTP."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.views import make_engine
from shared.views.osvdirectory import OSVDirectory
from tests.integration.test_registry_ruos_api import new_osv
from tests.support.api import assert_problem
from tests.support.clients import FakeToday, head

NOTE = "la presidenta Yajaira se mudó a Santiago de Chile"


@pytest.fixture
def today() -> FakeToday:
    """Registry's clock."""
    return FakeToday(date(2021, 8, 2))


def test_an_osv_is_mapped_with_its_details_and_they_can_be_corrected(registry: TestClient) -> None:
    osv_id = new_osv(registry, kind="vecinal", composition="mixed", focus_areas=["employment", "anti_discrimination"], contact_channel="whatsapp")
    osv = registry.get(f"/osvs/{osv_id}").json()
    assert (osv["composition"], osv["focus_areas"], osv["contact_channel"]) == ("mixed", ["employment", "anti_discrimination"], "whatsapp")
    assert osv["contact"] == {"status": "in_touch", "lost_since": None, "restored_on": None} and osv["dissolution"] is None

    response = registry.patch(f"/osvs/{osv_id}", json={"composition": "migrant_led", "kind": "vecinal"})
    assert response.status_code == 200, response.text
    assert (response.json()["composition"], response.json()["version"]) == ("migrant_led", 2)
    updated = registry.get("/events").json()["events"][-1]
    assert updated["type"] == "OSVDetailsUpdated"
    assert (updated["data"]["changed"], updated["data"]["updated_on"]) == (["composition"], "2021-08-02")  # today, by the clock

    cleared = registry.patch(f"/osvs/{osv_id}", json={"contact_channel": None, "updated_on": "2021-08-01"}).json()
    assert cleared["contact_channel"] is None


def test_the_answer_to_a_mapping_is_the_osv_as_it_reads_back_from_the_store(registry: TestClient) -> None:
    body = {
        "name": "Vecinos del Parque Zonal",
        "district": "San Juan de Lurigancho",
        "mapped_on": "2021-03-15",
        "kind": "vecinal",
        "composition": "mixed",
        "focus_areas": ["employment", "anti_discrimination"],
        "contact_channel": "whatsapp",
    }
    answered = registry.post("/osvs", json=body)
    assert answered.status_code == 201, answered.text
    assert answered.json() == registry.get(f"/osvs/{answered.json()['id']}").json()


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({}, "body", "change_required"),
        ({"composition": "mixed"}, "body", "change_required"),
        ({"kind": "cultural", "updated_on": "2021-01-01"}, "updated_on", "not_before_mapped_on"),
        ({"focus_areas": ["football"]}, "focus_areas.0", "enum"),
        ({"contact_channel": "+51 987 654 321"}, "contact_channel", "enum"),
        ({"whatsapp_number": "987654321"}, "whatsapp_number", "extra_forbidden"),
    ],
)
def test_a_change_that_changes_nothing_or_carries_bad_input_is_422(registry: TestClient, body: dict[str, Any], field: str, rule: str) -> None:
    osv_id = new_osv(registry, composition="mixed")
    written = head(registry)
    assert_problem(registry.patch(f"/osvs/{osv_id}", json=body), 422, field, rule)
    assert head(registry) == written


def test_a_phone_number_is_not_a_contact_channel_at_mapping_either(registry: TestClient) -> None:
    response = registry.post("/osvs", json={"name": "X", "district": "Ate", "mapped_on": "2021-03-01", "contact_channel": "987654321"})
    assert_problem(response, 422, "contact_channel", "enum")
    assert_problem(registry.patch("/osvs/00000000-0000-4000-8000-000000000000", json={"kind": "cultural"}), 404)
    assert_problem(registry.get("/osvs/00000000-0000-4000-8000-000000000000/history"), 404)


def test_the_history_lists_every_event_with_when_it_was_recorded(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    registry.post(f"/osvs/{osv_id}/documents", json={"document": "estatuto", "prepared_on": "2021-05-01"})
    registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-06-01", "note": NOTE})
    history = registry.get(f"/osvs/{osv_id}/history").json()
    assert [(e["type"], e["version"]) for e in history] == [("OSVMapped", 1), ("RUOSDocumentPrepared", 2), ("ContactLost", 3)]
    assert history[1]["data"] == {"document": "estatuto", "prepared_on": "2021-05-01"}
    assert history[2]["data"]["note"] == NOTE
    assert all(e["recorded_at"] for e in history)


def test_contact_is_lost_and_restored_and_the_note_stays_in_registry(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    assert_problem(registry.post(f"/osvs/{osv_id}/contact-restored", json={"restored_on": "2021-06-01"}), 409, "restored_on", "contact_lost")
    lost = registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-06-01", "note": NOTE})
    assert lost.status_code == 201 and lost.json()["contact"] == {"status": "lost", "lost_since": "2021-06-01", "restored_on": None}
    assert_problem(registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-07-01"}), 409, "since", "contact_not_lost")
    assert_problem(registry.post(f"/osvs/{osv_id}/contact-restored", json={"restored_on": "2021-05-31"}), 422, "restored_on", "not_before_since")
    restored = registry.post(f"/osvs/{osv_id}/contact-restored", json={"restored_on": "2021-08-02"})
    assert restored.json()["contact"] == {"status": "in_touch", "lost_since": None, "restored_on": "2021-08-02"}
    feed = registry.get("/events").json()["events"]
    assert [e["type"] for e in feed] == ["OSVMapped", "ContactLost", "ContactRestored"]
    assert feed[1]["data"] == {"occurred_on": "2021-06-01", "osv_id": osv_id, "since": "2021-06-01"}
    assert NOTE not in json.dumps(feed, ensure_ascii=False)


def test_a_dissolved_osv_takes_no_new_command_and_other_services_learn_it(registry: TestClient, tmp_path: Path) -> None:
    osv_id = new_osv(registry)
    dissolved = registry.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": "2021-07-30", "reason": "members_emigrated", "note": NOTE})
    assert dissolved.status_code == 201, dissolved.text
    assert dissolved.json()["dissolution"] == {"dissolved_on": "2021-07-30", "reason": "members_emigrated"}
    written = head(registry)

    for path, body in (
        ("", {"kind": "cultural"}),
        ("/documents", {"document": "estatuto", "prepared_on": "2021-07-31"}),
        ("/ruos-applications", {"municipality_id": "150110", "submitted_on": "2021-07-31", "documents": []}),
        ("/ruos-registration", {"ruos_number": "R-1", "registered_on": "2021-07-31"}),
        ("/contact-lost", {"since": "2021-07-31"}),
        ("/dissolution", {"dissolved_on": "2021-07-31", "reason": "other"}),
    ):
        response = registry.patch(f"/osvs/{osv_id}", json=body) if not path else registry.post(f"/osvs/{osv_id}{path}", json=body)
        problem = assert_problem(response, 409, "osv_id", "osv_not_dissolved")
        assert "2021-07-30" in problem["detail"]
    assert head(registry) == written

    # The shared directory funding and engagement keep reads registry's event as it is published.
    feed = registry.get("/events").json()["events"]
    assert feed[-1]["data"] == {"occurred_on": "2021-07-30", "osv_id": osv_id, "dissolved_on": "2021-07-30", "reason": "members_emigrated"}
    directory = OSVDirectory(make_engine(f"sqlite:///{tmp_path / 'funding-views.db'}"), "funding")
    directory.apply(feed)
    known = directory.get(osv_id)  # type: ignore[arg-type]
    assert known is not None and known.dissolved_on == date(2021, 7, 30)


def test_a_dissolution_needs_a_known_reason(registry: TestClient) -> None:
    osv_id = new_osv(registry)
    assert_problem(registry.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": "2021-12-01", "reason": "se pelearon"}), 422, "reason", "enum")
    assert_problem(registry.post(f"/osvs/{osv_id}/dissolution", json={"dissolved_on": "2021-03-14", "reason": "inactive"}), 422, "dissolved_on", "not_before_mapped_on")
