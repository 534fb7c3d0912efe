"""An OSV's mapping day recorded wrong is corrected: registry, funding's and engagement's directories and reporting all
date it so from then on; a report as of before the correction counts it as it was then known."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from services.registry.domain.osvs import OSVNotFoundError
from services.reporting.views.readmodel import ReadModel
from shared.roles import MunicipalScope
from shared.views import make_engine
from shared.views.osvdirectory import OSVDirectory
from tests.integration.test_registry_duplicates_api import mapped, today  # noqa: F401 - registry's clock, a fixture
from tests.support.api import assert_problem
from tests.support.clients import application_of, head


def correct(registry: TestClient, osv: str, mapped_on: str, **params: str) -> object:
    return registry.post(f"/osvs/{osv}/mapping-date-correction", json={"mapped_on": mapped_on}, params=params)


def phases(readmodel: ReadModel) -> None:
    readmodel.apply([
        {"id": f"funding:{n}", "type": "PhaseOpened", "source": "urn:osv-platform:funding", "subject": code, "position": n,
         "time": "2021-01-01T00:00:00Z", "data": {"occurred_on": starts, "phase_id": code, "code": code, "name": code, "starts_on": starts, "ends_on": ends}}
        for n, (code, starts, ends) in enumerate((("F1", "2021-01-01", "2021-03-31"), ("F2", "2021-04-01", "2021-12-31")), start=1)
    ])


def test_a_mapping_day_recorded_wrong_is_corrected_everywhere_it_is_read(registry: TestClient, tmp_path: Path) -> None:
    osv = mapped(registry, "Olla Común Los Girasoles")  # mapped_on 2021-03-15: typed for 2021-04-15 (F2)
    readmodel = ReadModel(make_engine(f"sqlite:///{tmp_path / 'reporting.db'}"))
    phases(readmodel)
    readmodel.apply(registry.get("/events").json()["events"])
    before = datetime.now(timezone.utc)

    corrected = correct(registry, osv, "2021-04-15")
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["mapped_on"] == registry.get(f"/osvs/{osv}").json()["mapped_on"] == "2021-04-15"
    assert [e["type"] for e in registry.get(f"/osvs/{osv}/history").json()] == ["OSVMapped", "OSVMappingDateCorrected"]
    feed = registry.get("/events").json()["events"]
    assert feed[-1]["type"] == "OSVMappingDateCorrected" and feed[-1]["municipality"] == "150132"
    assert {k: v for k, v in feed[-1]["data"].items() if k != "occurred_on"} == {
        "osv_id": osv, "previous_mapped_on": "2021-03-15", "mapped_on": "2021-04-15", "corrected_on": "2021-08-02",
        "district": "San Juan de Lurigancho", "zone": "Lima Este",
    }

    # sent again (a retry without a key), it finds it done: nothing more is recorded
    written = head(registry)
    assert correct(registry, osv, "2021-04-15").json()["mapped_on"] == "2021-04-15"
    assert head(registry) == written

    # funding's and engagement's directories date it so: they take nothing of it dated before the corrected day
    directory = OSVDirectory(make_engine(f"sqlite:///{tmp_path / 'funding-views.db'}"), "funding")
    directory.apply(feed[:-1])
    assert directory.require_active(UUID(osv), on=date(2021, 4, 1), dated="granted_on").mapped_on == date(2021, 3, 15)
    directory.apply(feed[-1:])
    assert directory.require_active(UUID(osv), on=date(2021, 4, 1), dated="granted_on").mapped_on == date(2021, 4, 15)

    # reporting counts it identified in the corrected day's phase from then on, and as it was known in a cut before
    readmodel.apply(feed)
    identified = [p["indicators"]["osvs_identified"] for p in readmodel.report(today=date(2021, 8, 2))["phases"]]
    assert identified == [0, 1]
    assert [p["indicators"]["osvs_identified"] for p in readmodel.report(as_of=before, today=date(2021, 8, 2))["phases"]] == [1, 0]


def test_a_mapping_day_is_not_corrected_past_what_registry_holds_of_the_osv(registry: TestClient) -> None:
    osv = mapped(registry, "Comedor Popular Santa Rosa")  # 2021-03-15
    assert registry.post(f"/osvs/{osv}/documents", json={"document": "croquis", "prepared_on": "2021-04-01"}).status_code in (200, 201)
    written = head(registry)

    problem = assert_problem(correct(registry, osv, "2021-04-02"), 422, "mapped_on", "not_after_prepared_on")
    assert "2021-04-01" in problem["detail"]
    assert correct(registry, osv, "2021-04-01").status_code == 200  # the same day: mapped, then its papers

    assert_problem(correct(registry, osv, "2021-08-04"), 422, "mapped_on")  # ahead of today in Lima (2021-08-02)
    assert_problem(correct(registry, osv, "15/03/2021"), 422, "mapped_on", "iso_8601_date")
    assert_problem(registry.post(f"/osvs/{osv}/mapping-date-correction", json={}), 422, "mapped_on")
    assert registry.post("/osvs/3fa85f64-5717-4562-b3fc-2c963f66afa6/mapping-date-correction", json={"mapped_on": "2021-03-01"}).status_code == 404
    assert correct(registry, osv, "2021-02-01", dry_run="true").json()["mapped_on"] == "2021-02-01"
    assert registry.get(f"/osvs/{osv}").json()["mapped_on"] == "2021-04-01"
    assert len(registry.get(f"/osvs/{osv}/history").json()) == 3  # mapped, papers, the one correction
    assert head(registry) != written


def test_a_mapping_day_is_not_corrected_past_a_change_of_the_osvs_details(registry: TestClient) -> None:
    """A change of details is not dated before the mapping (422 ``not_before_mapped_on``); the mapping is not corrected
    past it either (found with tester 208 F1: registry's records, enumerated for the dissolution, lacked it)."""
    osv = mapped(registry, "Club de Madres Santa Rosa")  # 2021-03-15
    assert registry.patch(f"/osvs/{osv}", json={"kind": "cultural", "updated_on": "2021-04-01"}).status_code == 200
    written = head(registry)

    problem = assert_problem(correct(registry, osv, "2021-04-02"), 422, "mapped_on", "not_after_updated_on")
    assert "its details were changed on 2021-04-01" in problem["detail"], problem
    assert head(registry) == written


def test_a_mapping_day_is_corrected_only_on_a_record_that_takes_one_and_not_past_a_record_merged_into_it(registry: TestClient) -> None:
    osv = mapped(registry, "Comité Vecinal Los Jazmines")
    duplicate = mapped(registry, "Los Jazmines de Zárate (duplicado)", distinct_from=[osv])
    assert registry.post(f"/osvs/{osv}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-07-01"}).status_code == 201
    written = head(registry)

    problem = assert_problem(correct(registry, duplicate, "2021-03-01"), 409, "osv_id", "osv_not_merged")
    assert osv in problem["detail"]
    assert_problem(correct(registry, osv, "2021-07-02"), 422, "mapped_on", "not_after_merged_on")
    assert head(registry) == written

    # a focal point corrects only the OSVs of their municipality
    ate = UUID(mapped(registry, "Vecinos de Ate", district="Ate"))
    with pytest.raises(OSVNotFoundError):
        application_of(registry).correct_mapping_date(ate, date(2021, 3, 1), date(2021, 8, 2), scope=MunicipalScope(ubigeos=frozenset({"150132"})))


def test_a_survivors_mapping_day_is_corrected_past_the_duplicates_own_records_but_not_past_the_merge(registry: TestClient) -> None:
    """Tester 215 F4 looked for the merge's gap here too: the duplicate's croquis is the history of the organisation's
    other mapping, and the survivor may have been mapped after it; what it took from the merge is the merge's day."""
    survivor = mapped(registry, "Comité Vecinal Los Jazmines")  # 2021-03-15
    duplicate = mapped(registry, "Los Jazmines de Zárate (duplicado)", distinct_from=[survivor])
    assert registry.post(f"/osvs/{duplicate}/documents", json={"document": "croquis", "prepared_on": "2021-05-01"}).status_code == 201
    assert registry.post(f"/osvs/{survivor}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-06-01"}).status_code == 201

    assert_problem(correct(registry, survivor, "2021-06-02"), 422, "mapped_on", "not_after_merged_on")
    corrected = correct(registry, survivor, "2021-05-20")
    assert corrected.status_code == 200 and corrected.json()["mapped_on"] == "2021-05-20", corrected.text


def test_a_mapping_day_is_not_corrected_past_the_first_change_of_details_nor_the_first_loss_of_contact(registry: TestClient) -> None:
    """Tester 212 F2: with the OSV's contact channel changed on 2021-05-01 and again on a later day, or contact lost on
    2021-04-01, restored and lost again, a mapping day corrected to between the two was 200: only the last change and
    the current loss were kept, and the history held a change (a loss) dated before the OSV's mapping."""
    changed = mapped(registry, "Club de Madres Santa Rosa")  # 2021-03-15
    for channel, day in (("whatsapp", "2021-05-01"), ("phone", "2021-07-01")):
        assert registry.patch(f"/osvs/{changed}", json={"contact_channel": channel, "updated_on": day}).status_code == 200
    lost = mapped(registry, "Comedor Popular Virgen de Fátima")
    for path, body in (("contact-lost", {"since": "2021-04-01"}), ("contact-restored", {"restored_on": "2021-05-01"}), ("contact-lost", {"since": "2021-07-01"})):
        assert registry.post(f"/osvs/{lost}/{path}", json=body).status_code in (200, 201)
    written = head(registry)

    problem = assert_problem(correct(registry, changed, "2021-06-01"), 422, "mapped_on", "not_after_updated_on")
    assert "its details were changed on 2021-05-01" in problem["detail"], problem
    problem = assert_problem(correct(registry, lost, "2021-06-15"), 422, "mapped_on", "not_after_contact_lost_since")
    assert "contact with it was lost on 2021-04-01" in problem["detail"], problem
    assert head(registry) == written
    assert registry.get(f"/osvs/{changed}").json()["mapped_on"] == registry.get(f"/osvs/{lost}").json()["mapped_on"] == "2021-03-15"

    assert correct(registry, changed, "2021-05-01").status_code == correct(registry, lost, "2021-04-01").status_code == 200
