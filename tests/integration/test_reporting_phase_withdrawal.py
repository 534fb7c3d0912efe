"""A phase funding withdrew as entered in error (tester 262) in reporting: reports made after show it nowhere (the
indicators, the exports, the targets, the IATI file, the 3W sheet, the dashboard) and the phase opened on its days takes its
facts; a report as of a moment before still shows it; its sign-off stays listed, marked withdrawn. Runs on SQLite and on
PostgreSQL."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hxl
import pytest
from fastapi.testclient import TestClient

from services.reporting.application import Reporting
from tests.integration.test_reporting_donors import LEAD, FakeNow, activity, at, stamp
from tests.integration.test_reporting_signed_corrections import a_first_phase_and_an_osv
from tests.support.api import assert_problem
from tests.support.clients import application_of, service_client
from tests.support.programmelog import cloudevent

pytestmark = [pytest.mark.timeout(300), pytest.mark.service("reporting")]

MISTAKE = {"phase_id": "p9", "code": "P9", "name": "Prueba", "starts_on": "2021-07-01", "ends_on": "2021-07-01"}
WITHDRAWN_AT = 5000
"""When funding's withdrawal was recorded (hours after the log's start)."""


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, FakeNow]]:
    clock = FakeNow(at(4400))  # July 2021: phase 1 and the mistaken phase have ended
    with service_client("reporting", tmp_path, database_url, application=functools.partial(Reporting, now=clock)) as client:
        yield client, clock


def a_mistaken_phase_with_a_grant_and_a_workshop_in_it() -> list[dict[str, Any]]:
    grant = {"osv_id": "osv-1", "amount": "3500.00", "currency": "PEN", "kind": "seed_fund", "granted_on": "2021-07-01",
             "proposal_id": None, "round_id": None}
    return [
        *a_first_phase_and_an_osv(),
        cloudevent("funding", 2, "PhaseOpened", "p9", at(2), occurred_on="2021-07-01", **MISTAKE),
        cloudevent("funding", 3, "FundGranted", "g-1", at(3), grant_id="g-1", support="first_time", occurred_on="2021-07-01", **grant),
        activity("act-1", 1, 4, "2021-07-01", ve_f=3),
    ]


def withdrawal_and_the_real_phase() -> list[dict[str, Any]]:
    return [
        cloudevent("funding", 4, "PhaseWithdrawn", "p9", at(WITHDRAWN_AT), reason="entered_in_error", withdrawn_on="2021-07-28",
                   occurred_on="2021-07-28", **MISTAKE),
        cloudevent("funding", 5, "PhaseOpened", "p2", at(WITHDRAWN_AT + 1), phase_id="p2", code="F2", name="Fase 2",
                   starts_on="2021-07-01", ends_on="2021-12-31", occurred_on="2021-07-01"),
    ]


def phases(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["code"]: p["indicators"] for p in report["phases"]}


def test_a_withdrawn_phase_leaves_every_report_made_after_and_stays_in_those_as_of_before(desk: tuple[TestClient, FakeNow]) -> None:
    client, clock = desk
    readmodel = application_of(client).readmodel
    readmodel.apply(a_mistaken_phase_with_a_grant_and_a_workshop_in_it())
    target = {"baseline": {"total": 0}, "target": {"total": 10}}
    assert client.put("/phases/P9/targets/beneficiaries_direct", headers=LEAD(), json=target).status_code == 200
    shown = phases(client.get("/indicators").json())
    assert list(shown) == ["F1", "P9"] and shown["P9"]["seed_funds_granted_pen"] == "3500.00"

    readmodel.apply(withdrawal_and_the_real_phase())
    clock.moment = at(6000)
    before = {"as_of": stamp(at(WITHDRAWN_AT - 1))}

    # The indicators: the real phase, opened on the mistaken one's days, takes its grant and its workshop.
    now = phases(client.get("/indicators").json())
    assert list(now) == ["F1", "F2"]
    assert (now["F2"]["seed_funds_granted_pen"], now["F2"]["beneficiaries_direct"]["total"]) == ("3500.00", 3)
    then = phases(client.get("/indicators", params=before).json())
    assert list(then) == ["F1", "P9"]
    assert (then["P9"]["seed_funds_granted_pen"], then["P9"]["beneficiaries_direct"]["total"]) == ("3500.00", 3)
    # One step after the withdrawal and before the real phase: neither, the grant in the total alone.
    between = client.get("/indicators", params={"as_of": stamp(at(WITHDRAWN_AT + 0.5))}).json()
    assert [p["code"] for p in between["phases"]] == ["F1"] and between["total"]["seed_funds_granted_pen"] == "3500.00"

    # The CSV export, the targets, the IATI file and the dashboard.
    def csv_phases(**params: str) -> set[str]:
        answer = client.get("/indicators/export.csv", params={"lang": "en", **params})
        assert answer.status_code == 200, answer.text
        return {row["Phase"] for row in csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")))}

    assert "Prueba" not in csv_phases() and "Fase 2" in csv_phases()
    assert "Prueba" in csv_phases(**before)
    assert [p["code"] for p in client.get("/targets").json()["phases"]] == ["F1", "F2"]
    assert [p["code"] for p in client.get("/targets", params=before).json()["phases"]] == ["F1", "P9"]
    mistaken_period = '<period-end iso-date="2021-07-01" />'  # the IATI result periods are the phases' dates
    assert mistaken_period not in client.get("/iati/activity.xml").text and '<period-end iso-date="2021-12-31" />' in client.get("/iati/activity.xml").text
    assert mistaken_period in client.get("/iati/activity.xml", params=before).text
    assert "Prueba" not in client.get("/dashboard").text and "Prueba" in client.get("/dashboard", params=before).text

    # The 3W sheet names the phase the workshop's day is in now, and was in then.
    def sheet(**params: str) -> list[tuple[str | None, str | None]]:
        answer = client.get("/activities/export.hxl.csv", params=params)
        assert answer.status_code == 200, answer.text
        rows = hxl.data(io.BytesIO(answer.content), hxl.InputOptions(allow_local=True))
        return [(r.get("#activity+code"), r.get("#meta+phase+code")) for r in rows]

    assert sheet() == [("act-1", "F2")] and sheet(**before) == [("act-1", "P9")]

    # Named, the phase is gone, and the answer says why.
    for refused in (
        client.get("/indicators/seed_funds_granted_pen/evidence", params={"phase": "P9"}),
        client.put("/phases/P9/targets/beneficiaries_direct", headers=LEAD(), json=target),
        client.post("/phases/p9/sign-offs", headers=LEAD(), json={"as_of": stamp(at(5500))}),
    ):
        assert "withdrawn" in assert_problem(refused, 404, "phase", "known_phase")["detail"]
    evidence = client.get("/indicators/seed_funds_granted_pen/evidence", params={"phase": "P9", **before})
    assert evidence.status_code == 200 and evidence.json()["value"] == "3500.00"


def test_a_sign_off_of_a_phase_withdrawn_after_it_stays_listed_marked_withdrawn_and_reproduced(desk: tuple[TestClient, FakeNow]) -> None:
    client, clock = desk
    readmodel = application_of(client).readmodel
    readmodel.apply(a_mistaken_phase_with_a_grant_and_a_workshop_in_it())
    signed = client.post("/phases/P9/sign-offs", headers=LEAD(), json={"as_of": stamp(at(4390))})
    assert signed.status_code == 201, signed.text

    readmodel.apply(withdrawal_and_the_real_phase())
    clock.moment = at(6000)
    [listed] = client.get("/sign-offs").json()["sign_offs"]
    assert (listed["phase"], listed["figures"], listed["digest"]) == ("P9", signed.json()["figures"], signed.json()["digest"])
    assert listed["intact"] is True and listed["reproduced"] is True and listed["restatement"] is None
    assert listed["phase_withdrawn"] == {"reason": "entered_in_error", "withdrawn_on": "2021-07-28", "recorded_at": stamp(at(WITHDRAWN_AT))}
    assert client.get("/sign-offs", params={"phase": "p9"}).json()["sign_offs"] == [listed]
    # As of before the withdrawal it is listed as any other, with its restatement; the IATI file made now has no period of it.
    [then] = client.get("/sign-offs", params={"as_of": stamp(at(WITHDRAWN_AT - 1))}).json()["sign_offs"]
    assert "phase_withdrawn" not in then and then["restatement"] == []
    assert signed.json()["digest"] not in client.get("/iati/activity.xml").text


def test_a_signed_figure_another_phases_withdrawal_moves_names_that_withdrawal_in_its_restatement(desk: tuple[TestClient, FakeNow]) -> None:
    """Tester 265 F1: an OSV's grants in a phase later withdrawn made its grant in a signed phase `repeat`; withdrawn, the
    grant counts `first_time` there, and the sign-off's restatement moved with no event named (its facts were all recorded
    before the sign-off), the IATI comment saying "facts recorded later". The withdrawal is named now, as an opening is."""
    client, clock = desk
    readmodel = application_of(client).readmodel
    second = {"osv_id": "osv-1", "amount": "2000.00", "currency": "PEN", "kind": "seed_fund", "granted_on": "2021-09-01",
              "proposal_id": None, "round_id": None}
    readmodel.apply([
        *a_mistaken_phase_with_a_grant_and_a_workshop_in_it(),
        cloudevent("funding", 4, "PhaseOpened", "p3", at(4), phase_id="p3", code="F3", name="Fase 3", starts_on="2021-08-01",
                   ends_on="2021-12-31", occurred_on="2021-08-01"),
        cloudevent("funding", 5, "FundGranted", "g-2", at(5), grant_id="g-2", support="repeat", occurred_on="2021-09-01", **second),
    ])
    clock.moment = at(8800)  # January 2022: F3 has ended
    signed = client.post("/phases/F3/sign-offs", headers=LEAD(), json={"as_of": stamp(at(8790))})
    assert signed.status_code == 201, signed.text
    assert signed.json()["figures"]["osvs_supported"] == {"total": 1, "first_time": 0, "repeat": 1}

    late = {**second, "grant_id": "g-3", "amount": "500.00", "granted_on": "2021-12-01"}
    readmodel.apply([
        cloudevent("funding", 6, "PhaseWithdrawn", "p9", at(8795), reason="entered_in_error", withdrawn_on="2022-01-02",
                   occurred_on="2022-01-02", **MISTAKE),
        # A grant of December typed in late, and the next phase: neither moves F3's support (tester 266 F1: both were listed).
        cloudevent("funding", 7, "FundGranted", "g-3", at(8796), support="repeat", occurred_on="2021-12-01", **late),
        cloudevent("funding", 8, "PhaseOpened", "p4", at(8797), phase_id="p4", code="F4", name="Fase 4", starts_on="2022-01-01",
                   ends_on="2022-06-30", occurred_on="2022-01-01"),
    ])
    clock.moment = at(9000)
    [listed] = client.get("/sign-offs").json()["sign_offs"]
    restated = {r["indicator"]: r for r in listed["restatement"]}
    assert set(restated) == {"osvs_supported", "seed_funds_granted_pen", "projects_new", "projects_active"}
    supported = restated["osvs_supported"]
    assert [(p["part"], p["signed"], p["current"]) for p in supported["parts"]] == [("first_time", 0, 1), ("repeat", 1, 0)]
    assert [(e["type"], e["subject"], e["adds"]) for e in supported["events"]] == [("PhaseWithdrawn", "p9", {})]
    assert [e["type"] for e in restated["seed_funds_granted_pen"]["events"]] == ["FundGranted"]  # the late grant alone
    assert "or phases opened or withdrawn since: first_time signed 0, now 1" in client.get("/iati/activity.xml").text
