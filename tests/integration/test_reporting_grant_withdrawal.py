"""A grant withdrawn as entered in error after its phase was signed off (tester 177 F1): reports made after count it
nowhere, the signed figures stay and the difference is a restatement naming the withdrawal, a report as of before it
still counts it, and the exports and the IATI file follow the indicators. Runs on SQLite and on PostgreSQL."""

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
from tests.support.clients import application_of, service_client
from tests.support.programmelog import cloudevent

pytestmark = [pytest.mark.timeout(300), pytest.mark.service("reporting")]


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, FakeNow]]:
    clock = FakeNow(at(4400))  # July 2021: phase 1 has ended
    with service_client("reporting", tmp_path, database_url, application=functools.partial(Reporting, now=clock)) as client:
        yield client, clock


GRANT = {"osv_id": "osv-1", "amount": "3500.00", "currency": "PEN", "kind": "seed_fund", "granted_on": "2021-03-10",
         "proposal_id": None, "round_id": None}


def granted(position: int, hours: float, grant: str) -> dict[str, Any]:
    return cloudevent("funding", position, "FundGranted", grant, at(hours), grant_id=grant, support="first_time",
                      occurred_on=GRANT["granted_on"], **GRANT)


def withdrawn(position: int, hours: float, grant: str) -> dict[str, Any]:
    return cloudevent("funding", position, "GrantWithdrawn", grant, at(hours), grant_id=grant, reason="duplicate",
                      withdrawn_on="2021-07-31", occurred_on="2021-07-31", **GRANT)


def phase_one(report: dict[str, Any]) -> dict[str, Any]:
    return report["phases"][0]["indicators"]


def test_a_grant_typed_twice_withdrawn_after_the_sign_off_is_a_restatement_and_as_of_before_still_counts_it(
    desk: tuple[TestClient, FakeNow],
) -> None:
    client, clock = desk
    readmodel = application_of(client).readmodel
    readmodel.apply([*a_first_phase_and_an_osv(), granted(2, 2, "g-1"), granted(3, 3, "g-2")])  # g-2: the same acta typed again
    signed = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(4300))})
    assert signed.status_code == 201, signed.text
    assert (signed.json()["figures"]["seed_funds_granted_pen"], signed.json()["figures"]["projects_new"]) == ("7000.00", 2)

    readmodel.apply([withdrawn(4, 5000, "g-2")])
    clock.moment = at(6000)

    now = phase_one(client.get("/indicators").json())
    assert (now["seed_funds_granted_pen"], now["projects_new"], now["projects_active"]) == ("3500.00", 1, 1)
    assert now["osvs_supported"] == {"total": 1, "first_time": 1, "repeat": 0}
    before = phase_one(client.get("/indicators", params={"as_of": stamp(at(4999))}).json())
    assert (before["seed_funds_granted_pen"], before["projects_new"], before["projects_active"]) == ("7000.00", 2, 2)

    [listed] = client.get("/sign-offs").json()["sign_offs"]
    assert listed["figures"] == signed.json()["figures"] and listed["reproduced"] is True
    restated = {r["indicator"]: r for r in listed["restatement"]}
    assert set(restated) == {"seed_funds_granted_pen", "projects_new", "projects_active"}
    assert [(p["signed"], p["current"], p["difference"]) for p in restated["seed_funds_granted_pen"]["parts"]] == [
        ("7000.00", "3500.00", "-3500.00")
    ]
    for name in ("seed_funds_granted_pen", "projects_new", "projects_active"):
        assert [(e["event_id"], e["type"]) for e in restated[name]["events"]] == [("funding:4", "GrantWithdrawn")], name

    # The exports and the IATI file give the current figure; the IATI comment names the restated part.
    exported = csv.DictReader(io.StringIO(client.get("/indicators/export.csv", params={"lang": "en"}).content.decode("utf-8-sig")))
    seed_rows = [row for row in exported if row["Indicator code"] == "seed_funds_granted_pen" and row["Phase"] == "Fase 1"]
    assert [row["Value"] for row in seed_rows] == ["3500.00"]
    iati = client.get("/iati/activity.xml").text
    assert "value signed 7000.00, now 3500.00" in iati


def test_a_grant_withdrawal_delivered_twice_or_before_a_rebuild_counts_once(desk: tuple[TestClient, FakeNow]) -> None:
    client, clock = desk
    readmodel = application_of(client).readmodel
    readmodel.apply([*a_first_phase_and_an_osv(), granted(2, 2, "g-1"), withdrawn(3, 3, "g-1")])
    readmodel.apply([withdrawn(3, 3, "g-1")])
    clock.moment = at(6000)
    figures = phase_one(client.get("/indicators").json())
    assert (figures["seed_funds_granted_pen"], figures["projects_new"], figures["osvs_supported"]["total"]) == ("0.00", 0, 0)
    assert client.get("/indicators/seed_funds_granted_pen/evidence", params={"phase": "F1"}).json()["value"] == "0.00"


def test_the_3w_export_names_no_project_for_an_activity_on_a_grant_withdrawn_and_did_as_of_before(desk: tuple[TestClient, FakeNow]) -> None:
    # A workshop recorded on g-2 before funding withdrew g-2 as typed twice (tester 187 F3): the row stays, with its
    # people reached, and names no funded project from the withdrawal on; the sheet as of before names g-2 as it did.
    client, clock = desk
    workshop = activity("act-1", 1, 4, "2021-04-01", ve_f=3)
    workshop["data"]["grant_id"] = "g-2"
    application_of(client).readmodel.apply([*a_first_phase_and_an_osv(), granted(2, 2, "g-2"), workshop, withdrawn(3, 5000, "g-2")])
    clock.moment = at(6000)

    def sheet(**params: str) -> list[tuple[str | None, str | None, str | None]]:
        answer = client.get("/activities/export.hxl.csv", params=params)
        assert answer.status_code == 200, answer.text
        rows = hxl.data(io.BytesIO(answer.content), hxl.InputOptions(allow_local=True))
        return [(r.get("#activity+code"), r.get("#activity+project+code"), r.get("#reached+ind")) for r in rows]

    assert sheet() == [("act-1", None, "3")]  # libhxl reads an empty cell as None
    assert sheet(as_of=stamp(at(4999))) == [("act-1", "g-2", "3")]


def test_agents_of_change_of_a_grant_withdrawn_after_the_sign_off_are_a_restatement_their_evidence_adds_up_to(
    desk: tuple[TestClient, FakeNow],
) -> None:
    # Ana was enrolled in g-2, the acta typed twice, and Rosa in g-1 (found while fixing tester 232 F1): from the
    # withdrawal of g-2 Ana took part in no project, so F1 counts one agent of change; the evidence, which read the
    # withdrawal nowhere, still gave two, and the sign-off's restatement named no event behind the -1.
    client, clock = desk
    readmodel = application_of(client).readmodel

    def enrolled(position: int, hours: float, member: str, grant: str) -> dict[str, Any]:
        return cloudevent("engagement", position, "ParticipantEnrolled", member, at(hours), member_id=member, grant_id=grant,
                          osv_id="osv-1", nationality="VE", sex="F", age_band="30-44", enrolled_on="2021-03-15",
                          occurred_on="2021-03-15")

    readmodel.apply([
        *a_first_phase_and_an_osv(), granted(2, 2, "g-1"), granted(3, 3, "g-2"),
        enrolled(1, 4, "rosa", "g-1"), enrolled(2, 5, "ana", "g-2"),
    ])
    signed = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(4300))})
    assert signed.status_code == 201, signed.text
    assert signed.json()["figures"]["agents_of_change"]["total"] == 2

    readmodel.apply([withdrawn(4, 5000, "g-2")])
    clock.moment = at(6000)

    figure = phase_one(client.get("/indicators").json())["agents_of_change"]
    assert figure == {"total": 1, "new": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}
    for group in ("San Juan de Lurigancho", None):
        found = client.get("/indicators/agents_of_change/evidence", params={"phase": "F1", **({"group": group} if group else {})}).json()
        assert found["value"] == figure, group
        assert sum(row["adds"].get("total", 0) for row in found["events"]) == 1, group
        assert [(row["type"], row["adds"]["total"]) for row in found["events"] if row["type"] == "GrantWithdrawn"] == [
            ("GrantWithdrawn", -1),
        ], group

    [listed] = client.get("/sign-offs").json()["sign_offs"]
    restated = {r["indicator"]: r for r in listed["restatement"]}
    parts = {p["part"]: (p["signed"], p["current"], p["difference"]) for p in restated["agents_of_change"]["parts"]}
    assert parts["total"] == (2, 1, -1) and parts["new"] == (2, 1, -1)
    assert [(e["event_id"], e["type"]) for e in restated["agents_of_change"]["events"]] == [("funding:4", "GrantWithdrawn")]


def test_an_osv_supported_only_by_a_grant_withdrawn_after_the_sign_off_is_a_restatement_naming_the_withdrawal(
    desk: tuple[TestClient, FakeNow],
) -> None:
    # Tester 239 F3: OSV Unidos has g-1 and OSV Vecinos g-2; the same person, a member of both, is merged after the
    # sign-off, then g-2 is withdrawn (typed under the wrong OSV). Vecinos was supported by g-2 alone: F1 counts one OSV
    # supported, not two. The evidence read the OSVs supported at the end and left g-2 out with no line, so the
    # restatement of osvs_supported named no event behind its -1, while seed funds and projects named GrantWithdrawn.
    client, clock = desk
    readmodel = application_of(client).readmodel
    vecinos = {**GRANT, "osv_id": "osv-2", "amount": "4000.00"}

    def member(position: int, who: str, osv: str) -> dict[str, Any]:
        return cloudevent("engagement", position, "MemberJoined", who, at(3 + position), member_id=who, membership_id=f"{who}@{osv}",
                          osv_id=osv, role="member", nationality="VE", sex="F", age_band="30-44", joined_on="2021-02-01",
                          occurred_on="2021-02-01")

    readmodel.apply([
        *a_first_phase_and_an_osv(),
        cloudevent("registry", 2, "OSVMapped", "osv-2", at(1.5), osv_id="osv-2", name="OSV Vecinos", district="San Juan de Lurigancho",
                   zone="Lima Este", mapped_on="2021-01-06", occurred_on="2021-01-06"),
        granted(2, 2, "g-1"),
        cloudevent("funding", 3, "FundGranted", "g-2", at(3), grant_id="g-2", support="first_time", occurred_on="2021-03-10", **vecinos),
        member(1, "yusmary", "osv-1"), member(2, "yusmary-dup", "osv-2"),
    ])
    signed = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(4300))})
    assert signed.status_code == 201, signed.text
    assert signed.json()["figures"]["osvs_supported"] == {"total": 2, "first_time": 2, "repeat": 0}

    readmodel.apply([
        cloudevent("engagement", 3, "MemberMerged", "yusmary-dup", at(4900), member_id="yusmary-dup", into_member_id="yusmary",
                   osv_id="osv-2", merged_on="2021-07-30", occurred_on="2021-07-30"),
        cloudevent("funding", 4, "GrantWithdrawn", "g-2", at(5000), grant_id="g-2", reason="wrong_osv", withdrawn_on="2021-07-31",
                   occurred_on="2021-07-31", **vecinos),
    ])
    clock.moment = at(6000)

    figure = phase_one(client.get("/indicators").json())["osvs_supported"]
    assert figure == {"total": 1, "first_time": 1, "repeat": 0}
    for phase in ("F1", "total"):
        found = client.get("/indicators/osvs_supported/evidence", params={"phase": phase}).json()
        assert found["value"] == figure, phase
        rows = [(row["event_id"], row["type"], row["osv"]["name"], row["adds"]) for row in found["events"]]
        assert rows == [
            ("funding:2", "FundGranted", "OSV Unidos", {"first_time": 1, "total": 1}),
            ("funding:3", "FundGranted", "OSV Vecinos", {"first_time": 1, "total": 1}),
            ("funding:4", "GrantWithdrawn", "OSV Vecinos", {"first_time": -1, "total": -1}),
        ], phase

    [listed] = client.get("/sign-offs").json()["sign_offs"]
    restated = {r["indicator"]: r for r in listed["restatement"]}
    assert [(p["part"], p["signed"], p["current"]) for p in restated["osvs_supported"]["parts"]] == [("first_time", 2, 1), ("total", 2, 1)]
    assert [(e["event_id"], e["type"]) for e in restated["osvs_supported"]["events"]] == [("funding:4", "GrantWithdrawn")]
