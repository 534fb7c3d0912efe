"""An OSV's name recorded wrong is corrected: registry, the district's roll, funding's and engagement's directories and
reporting all name it so from then on; a report as of before the correction names it as it was then known."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from services.registry.domain.osvs import OSVNotFoundError
from services.reporting.application import Reporting
from services.reporting.views.readmodel import ReadModel
from shared.roles import MunicipalScope
from shared.views import make_engine
from shared.views.osvdirectory import OSVDirectory
from tests.integration.test_registry_duplicates_api import mapped, today  # noqa: F401 - registry's clock, a fixture
from tests.support.api import assert_problem
from tests.support.clients import application_of, head

WRONG = "Comite Vecinal Los Jasmines"
RIGHT = "Comité Vecinal Los Jazmines de Zárate"


def test_a_name_recorded_wrong_is_corrected_everywhere_it_is_read(registry: TestClient, tmp_path: Path) -> None:
    osv = mapped(registry, WRONG)
    readmodel = ReadModel(make_engine(f"sqlite:///{tmp_path / 'reporting.db'}"))
    readmodel.apply(registry.get("/events").json()["events"])
    before = datetime.now(timezone.utc)

    corrected = registry.post(f"/osvs/{osv}/name-correction", json={"name": RIGHT})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["name"] == registry.get(f"/osvs/{osv}").json()["name"] == RIGHT
    assert [e["type"] for e in registry.get(f"/osvs/{osv}/history").json()] == ["OSVMapped", "OSVNameCorrected"]
    feed = registry.get("/events").json()["events"]
    assert feed[-1]["type"] == "OSVNameCorrected" and feed[-1]["municipality"] == "150132"
    assert {k: v for k, v in feed[-1]["data"].items() if k != "occurred_on"} == {
        "osv_id": osv, "previous_name": WRONG, "name": RIGHT, "corrected_on": "2021-08-02", "distinct_from": []
    }

    # sent again (a retry without a key), it finds it done: nothing more is recorded
    written = head(registry)
    assert registry.post(f"/osvs/{osv}/name-correction", json={"name": RIGHT}).json()["name"] == RIGHT
    assert head(registry) == written

    # the district's roll compares a new OSV with the corrected name, and with the one before it: the name on the field's
    # paper lists (or a provisional one) mapped again is the same organisation, unless staff say it is not (tester 154 F3)
    for again in (RIGHT, "Comite Vecinal Los Jazmines de Zarate"):
        problem = assert_problem(registry.post("/osvs", json={"name": again, "district": "SJL", "mapped_on": "2021-08-01"}), 409, "name", "possible_duplicate")
        assert problem["possible_duplicates"] == [{"osv_id": osv, "name": RIGHT}]
    problem = assert_problem(registry.post("/osvs", json={"name": WRONG, "district": "SJL", "mapped_on": "2021-08-01"}), 409, "name", "possible_duplicate")
    assert problem["possible_duplicates"] == [{"osv_id": osv, "name": WRONG}]
    feed = registry.get("/events").json()["events"]
    assert mapped(registry, WRONG, distinct_from=[osv]) != osv

    # funding's and engagement's directories name it so
    directory = OSVDirectory(make_engine(f"sqlite:///{tmp_path / 'funding-views.db'}"), "funding", shows_names=True)
    directory.apply(feed)
    assert directory.describe([osv])[osv].name == RIGHT

    # reporting names it so in every report after the correction, and as it was known in one as of before it
    readmodel.apply(feed)
    reporting = Reporting(readmodel)
    assert {str(o.osv_id): o.name for o in reporting.alerts(days=1).overdue_meetings} == {osv: RIGHT}  # not met since mapped
    assert {str(o.osv_id): o.name for o in reporting.alerts(days=1, as_of=before).overdue_meetings} == {osv: WRONG}


def test_a_name_another_osv_of_the_district_has_is_a_possible_duplicate_unless_said_distinct(registry: TestClient) -> None:
    osv = mapped(registry, WRONG)
    other = mapped(registry, "Asociación Santa Rosa de Lima")
    written = head(registry)

    problem = assert_problem(registry.post(f"/osvs/{osv}/name-correction", json={"name": "Asoc. Santa Rosa de Lima"}), 409, "name", "possible_duplicate")
    assert problem["possible_duplicates"] == [{"osv_id": other, "name": "Asociación Santa Rosa de Lima"}]
    assert "merge the two records" in problem["detail"]  # the same organisation: two records to merge, not two alike names
    assert head(registry) == written and registry.get(f"/osvs/{osv}").json()["name"] == WRONG

    corrected = registry.post(f"/osvs/{osv}/name-correction", json={"name": "Asoc. Santa Rosa de Lima", "distinct_from": [other, osv]})
    assert corrected.status_code == 200, corrected.text
    # what staff said is kept as a mapping's is: in the event partners and auditors read (not the OSV itself, said of itself)
    said = registry.get(f"/osvs/{osv}/history").json()[-1]
    assert (said["type"], said["data"]["distinct_from"]) == ("OSVNameCorrected", [other])
    assert registry.get("/events").json()["events"][-1]["data"]["distinct_from"] == [other]
    # the same name in another district is another organisation's
    assert registry.post(f"/osvs/{mapped(registry, 'Vecinos de Ate', district='Ate')}/name-correction", json={"name": RIGHT}).status_code == 200


def test_a_name_is_corrected_only_on_a_record_that_takes_one(registry: TestClient) -> None:
    osv = mapped(registry, WRONG)
    duplicate = mapped(registry, "Jazmines de Zárate (duplicado)", distinct_from=[osv])
    assert registry.post(f"/osvs/{osv}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-07-01"}).status_code == 201
    written = head(registry)

    problem = assert_problem(registry.post(f"/osvs/{duplicate}/name-correction", json={"name": "Otro nombre"}), 409, "osv_id", "osv_not_merged")
    assert osv in problem["detail"]
    assert_problem(registry.post(f"/osvs/{osv}/name-correction", json={"name": "¡¡!!"}), 422, "name", "name_has_letters")
    assert_problem(registry.post(f"/osvs/{osv}/name-correction", json={}), 422, "name")
    assert registry.post("/osvs/3fa85f64-5717-4562-b3fc-2c963f66afa6/name-correction", json={"name": RIGHT}).status_code == 404
    assert registry.post(f"/osvs/{osv}/name-correction", json={"name": RIGHT}, params={"dry_run": "true"}).json()["name"] == RIGHT
    assert head(registry) == written

    # a focal point corrects only the OSVs of their municipality
    ate = UUID(mapped(registry, "Vecinos de Ate", district="Ate"))
    with pytest.raises(OSVNotFoundError):
        application_of(registry).correct_osv_name(ate, RIGHT, date(2021, 8, 2), scope=MunicipalScope(ubigeos=frozenset({"150132"})))


def test_a_name_typed_with_letters_of_another_alphabet_is_the_same_name_for_a_correction_and_a_mapping(registry: TestClient) -> None:
    girasoles = mapped(registry, "Olla Común Los Girasoles")
    other = mapped(registry, "Club de Madres Nueva Esperanza")
    problem = assert_problem(registry.post(f"/osvs/{other}/name-correction", json={"name": "Оllа Cоmún Lоs Girаsоles"}), 409, "name", "possible_duplicate")
    assert problem["possible_duplicates"] == [{"osv_id": girasoles, "name": "Olla Común Los Girasoles"}]
    response = registry.post("/osvs", json={"name": "Оllа Cоmún Lоs Girаsоles", "district": "SJL", "mapped_on": "2021-08-01"})
    assert_problem(response, 409, "name", "possible_duplicate")
