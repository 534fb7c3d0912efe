"""A member's joining date or sex, or an OSV's mapping day, corrected after a phase was signed off: the signed figures stay, the
difference is a restatement that names the correction, and a report as of before it shows the fact where it was. Runs on
SQLite and on PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.reporting.application import Reporting
from tests.integration.test_reporting_donors import LEAD, FakeNow, at, stamp
from tests.support.clients import application_of, service_client
from tests.support.programmelog import cloudevent

pytestmark = [pytest.mark.timeout(300), pytest.mark.service("reporting")]


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, FakeNow]]:
    clock = FakeNow(at(4400))  # July 2021: phase 1 has ended
    with service_client("reporting", tmp_path, database_url, application=functools.partial(Reporting, now=clock)) as client:
        yield client, clock


def joined(position: int, hours: float, member: str, joined_on: str, nationality: str, sex: str = "F") -> dict[str, Any]:
    return cloudevent("engagement", position, "MemberJoined", member, at(hours), member_id=member, membership_id=f"{member}@1",
                      osv_id="osv-1", role="member", nationality=nationality, sex=sex, age_band="30-44", joined_on=joined_on,
                      occurred_on=joined_on)


def the_restatement(client: TestClient, signed: dict[str, Any], indicator: str) -> dict[str, Any]:
    """The one sign-off's one restated indicator, ``indicator``: its signed figures still those signed, and reproduced."""
    [listed] = client.get("/sign-offs").json()["sign_offs"]
    assert listed["figures"] == signed["figures"] and listed["reproduced"] is True
    [changed] = listed["restatement"]
    assert changed["indicator"] == indicator
    return changed


def a_first_phase_and_an_osv() -> list[dict[str, object]]:
    """Phase F1 (January to June 2021) and an OSV mapped in it, in San Juan de Lurigancho."""
    return [
        cloudevent("funding", 1, "PhaseOpened", "p1", at(0), phase_id="p1", code="F1", name="Fase 1", starts_on="2021-01-01",
                   ends_on="2021-06-30", occurred_on="2021-01-01"),
        cloudevent("registry", 1, "OSVMapped", "osv-1", at(1), osv_id="osv-1", name="OSV Unidos", district="San Juan de Lurigancho",
                   zone="Lima Este", mapped_on="2021-01-05", occurred_on="2021-01-05"),
    ]


def test_a_joining_moved_into_a_signed_phase_shows_as_a_restatement_naming_the_correction(desk: tuple[TestClient, FakeNow]) -> None:
    client, clock = desk
    readmodel = application_of(client).readmodel
    readmodel.apply([
        *a_first_phase_and_an_osv(),
        joined(1, 2, "ana", "2021-03-01", "VE"),
        joined(2, 4290, "rosa", "2021-07-02", "PE"),  # a paper list typed in on 2 July with the typing day
    ])
    signed = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(4300))})
    assert signed.status_code == 201, signed.text
    assert signed.json()["figures"]["members_joined"] == {"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}

    readmodel.apply([cloudevent(
        "engagement", 3, "MemberJoiningDateCorrected", "rosa", at(5000), member_id="rosa", membership_id="rosa@1", osv_id="osv-1",
        previous_joined_on="2021-07-02", joined_on="2021-04-20", left_on=None, nationality="PE", sex="F", corrected_on="2021-07-31",
        occurred_on="2021-07-31",
    )])
    clock.moment = at(6000)

    changed = the_restatement(client, signed.json(), "members_joined")
    assert {p["part"]: (p["signed"], p["current"], p["difference"]) for p in changed["parts"]} == {
        "total": (1, 2, 1), "by_nationality.PE": (0, 1, 1), "by_sex.F": (1, 2, 1),
    }
    assert [(e["event_id"], e["type"], e["adds"]) for e in changed["events"]] == [
        ("engagement:3", "MemberJoiningDateCorrected", {"by_nationality.PE": 1, "by_sex.F": 1, "total": 1}),
    ]
    now = client.get("/indicators").json()["phases"][0]["indicators"]["members_joined"]
    then = client.get("/indicators", params={"as_of": stamp(at(4900))}).json()["phases"][0]["indicators"]["members_joined"]
    assert (now["total"], then["total"]) == (2, 1)


def test_a_member_whose_sex_is_corrected_after_a_signed_phase_shows_as_a_restatement_of_members_joined_by_sex(
    desk: tuple[TestClient, FakeNow],
) -> None:
    """Tester 184 F5: Ana, recorded as a man when she joined in F1, is rectified after F1 was signed: members_joined by
    sex moves in F1 (its total stays), the sign-off shows the difference naming the correction, and as of before it she
    is counted as recorded."""
    client, clock = desk
    readmodel = application_of(client).readmodel
    readmodel.apply([*a_first_phase_and_an_osv(), joined(1, 2, "ana", "2021-03-01", "VE", sex="M")])
    signed = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(4300))})
    assert signed.status_code == 201, signed.text
    assert signed.json()["figures"]["members_joined"] == {"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"M": 1}}

    readmodel.apply([cloudevent(
        "engagement", 2, "MemberSexCorrected", "ana", at(5000), member_id="ana", membership_id="ana@1", osv_id="osv-1",
        previous_sex="M", sex="F", joined_on="2021-03-01", left_on=None, corrected_on="2021-07-31", occurred_on="2021-07-31",
    )])
    clock.moment = at(6000)

    changed = the_restatement(client, signed.json(), "members_joined")
    assert {p["part"]: (p["signed"], p["current"], p["difference"]) for p in changed["parts"]} == {
        "by_sex.F": (0, 1, 1), "by_sex.M": (1, 0, -1),
    }
    assert [(e["event_id"], e["type"], e["adds"]) for e in changed["events"]] == [
        ("engagement:2", "MemberSexCorrected", {"by_sex.F": 1, "by_sex.M": -1}),
    ]
    now = client.get("/indicators").json()["phases"][0]["indicators"]["members_joined"]
    then = client.get("/indicators", params={"as_of": stamp(at(4900))}).json()["phases"][0]["indicators"]["members_joined"]
    assert (now["by_sex"], then["by_sex"]) == ({"F": 1}, {"M": 1})


def test_a_phase_signed_before_members_were_counted_by_sex_is_still_reproduced_and_restates_only_what_was_signed(
    desk: tuple[TestClient, FakeNow],
) -> None:
    """Tester 184 F5: a sign-off recorded by the version before signed members_joined by nationality only. Its cut now
    answers by sex too, which the lead never signed: not a restatement, nor a cut that no longer reproduces it; a later
    fact still restates what was signed."""
    client, clock = desk
    reporting = application_of(client)
    reporting.readmodel.apply([
        *a_first_phase_and_an_osv(), joined(1, 2, "ana", "2021-03-01", "VE", sex="M"),
        joined(2, 4290, "rosa", "2021-07-02", "PE"),  # typed in with the typing day
    ])
    figures = client.get("/indicators", params={"as_of": stamp(at(4300))}).json()["phases"][0]["indicators"]
    before_by_sex = {**figures, "members_joined": {"total": 1, "by_nationality": {"VE": 1}}}
    reporting.phase_reports.sign_off("F1", at(4300), before_by_sex, "lead", at(4400))  # as the version before recorded it

    [listed] = client.get("/sign-offs").json()["sign_offs"]
    assert (listed["intact"], listed["reproduced"], listed["restatement"]) == (True, True, [])

    readmodel = reporting.readmodel
    readmodel.apply([cloudevent(
        "engagement", 3, "MemberJoiningDateCorrected", "rosa", at(5000), member_id="rosa", membership_id="rosa@1", osv_id="osv-1",
        previous_joined_on="2021-07-02", joined_on="2021-04-20", left_on=None, nationality="PE", sex="F", corrected_on="2021-07-31",
        occurred_on="2021-07-31",
    )])
    clock.moment = at(6000)
    changed = the_restatement(client, {"figures": before_by_sex}, "members_joined")
    assert {p["part"]: (p["signed"], p["current"], p["difference"]) for p in changed["parts"]} == {
        "total": (1, 2, 1), "by_nationality.PE": (0, 1, 1),
    }


def test_an_osv_whose_mapping_day_moves_into_a_signed_phase_shows_as_a_restatement_naming_the_correction(
    desk: tuple[TestClient, FakeNow],
) -> None:
    client, clock = desk
    readmodel = application_of(client).readmodel
    readmodel.apply([
        *a_first_phase_and_an_osv(),
        # a field form typed in on 2 July with the typing day
        cloudevent("registry", 2, "OSVMapped", "osv-2", at(4290), osv_id="osv-2", name="Olla Común Los Girasoles",
                   district="San Juan de Lurigancho", zone="Lima Este", mapped_on="2021-07-02", occurred_on="2021-07-02"),
    ])
    signed = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(4300))})
    assert signed.status_code == 201, signed.text
    assert signed.json()["figures"]["osvs_identified"] == 1

    readmodel.apply([cloudevent(
        "registry", 3, "OSVMappingDateCorrected", "osv-2", at(5000), osv_id="osv-2", previous_mapped_on="2021-07-02",
        mapped_on="2021-05-20", corrected_on="2021-07-31", district="San Juan de Lurigancho", zone="Lima Este",
        occurred_on="2021-07-31",
    )])
    clock.moment = at(6000)

    changed = the_restatement(client, signed.json(), "osvs_identified")
    assert {p["part"]: (p["signed"], p["current"], p["difference"]) for p in changed["parts"]} == {"value": (1, 2, 1)}
    assert [(e["event_id"], e["type"], e["adds"]) for e in changed["events"]] == [
        ("registry:3", "OSVMappingDateCorrected", {"value": 1}),
    ]
    now = client.get("/indicators").json()["phases"][0]["indicators"]["osvs_identified"]
    then = client.get("/indicators", params={"as_of": stamp(at(4900))}).json()["phases"][0]["indicators"]["osvs_identified"]
    assert (now, then) == (2, 1)


def test_a_person_recorded_twice_merged_after_a_signed_phase_shows_as_a_restatement_naming_the_merge(
    desk: tuple[TestClient, FakeNow],
) -> None:
    """Tester 184 F3: Yusmary, registered twice, took part in the OSV's project as two agents of change; merged after F1
    was signed, she counts once in F1 from the merge on, the sign-off shows it, and as of before the merge she counts twice."""
    client, clock = desk
    readmodel = application_of(client).readmodel

    def enrolled(position: int, member: str) -> dict[str, Any]:
        return cloudevent("engagement", position, "ParticipantEnrolled", member, at(2 + position), member_id=member, grant_id="g-1",
                          osv_id="osv-1", nationality="VE", sex="F", age_band="30-44", enrolled_on="2021-03-05", occurred_on="2021-03-05")

    readmodel.apply([
        *a_first_phase_and_an_osv(),
        cloudevent("funding", 2, "FundGranted", "g-1", at(2), grant_id="g-1", osv_id="osv-1", kind="seed_fund", amount="1000.00",
                   currency="PEN", granted_on="2021-03-01", support="first_time", occurred_on="2021-03-01"),
        joined(1, 2.1, "yusmary", "2021-03-01", "VE"), joined(2, 2.2, "yusmary-ptp", "2021-03-02", "VE"),
        enrolled(3, "yusmary"), enrolled(4, "yusmary-ptp"),
    ])
    signed = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(4300))})
    assert signed.status_code == 201, signed.text
    assert signed.json()["figures"]["agents_of_change"]["total"] == 2

    readmodel.apply([cloudevent(
        "engagement", 5, "MemberMerged", "yusmary-ptp", at(5000), member_id="yusmary-ptp", into_member_id="yusmary", osv_id="osv-1",
        merged_on="2021-07-31", occurred_on="2021-07-31",
    )])
    clock.moment = at(6000)

    changed = the_restatement(client, signed.json(), "agents_of_change")
    parts = {p["part"]: (p["signed"], p["current"], p["difference"]) for p in changed["parts"]}
    assert parts["total"] == (2, 1, -1) and parts["by_nationality.VE"] == (2, 1, -1) and parts["by_sex.F"] == (2, 1, -1)
    assert {e["type"] for e in changed["events"]} == {"MemberMerged"}
    now = client.get("/indicators").json()["phases"][0]["indicators"]
    then = client.get("/indicators", params={"as_of": stamp(at(4900))}).json()["phases"][0]["indicators"]
    assert (now["agents_of_change"]["total"], then["agents_of_change"]["total"]) == (1, 2)
    assert now["members_joined"]["total"] == then["members_joined"]["total"] == 2  # joinings stay joinings


def test_one_stay_recorded_twice_merged_after_a_signed_phase_shows_as_a_restatement_of_members_joined_naming_it(
    desk: tuple[TestClient, FakeNow],
) -> None:
    """Helper 311: Yusmary registered twice in one OSV (a Kobo form edited with her corrected document) joined twice in F1,
    as signed; her duplicate stay merged into hers afterwards counts one joining in F1 from the merge on, the sign-off
    shows it as a restatement naming the `MembershipMerged`, and as of before the merge she joined twice."""
    client, clock = desk
    readmodel = application_of(client).readmodel
    readmodel.apply([
        *a_first_phase_and_an_osv(),
        joined(1, 2.1, "yusmary", "2021-03-01", "VE"), joined(2, 2.2, "yusmary-dni", "2021-03-04", "VE"),
    ])
    signed = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(4300))})
    assert signed.status_code == 201, signed.text
    assert signed.json()["figures"]["members_joined"] == {"total": 2, "by_nationality": {"VE": 2}, "by_sex": {"F": 2}}

    readmodel.apply([
        cloudevent("engagement", 3, "MembershipMerged", "yusmary-dni", at(5000), member_id="yusmary-dni",
                   membership_id="yusmary-dni@1", into_member_id="yusmary", into_membership_id="yusmary@1", osv_id="osv-1",
                   joined_on="2021-03-04", nationality="VE", sex="F", age_band="30-44", merged_on="2021-07-31",
                   occurred_on="2021-07-31"),
        cloudevent("engagement", 4, "MemberMerged", "yusmary-dni", at(5000), member_id="yusmary-dni", into_member_id="yusmary",
                   osv_id="osv-1", merged_on="2021-07-31", occurred_on="2021-07-31"),
    ])
    clock.moment = at(6000)

    changed = the_restatement(client, signed.json(), "members_joined")
    assert {p["part"]: (p["signed"], p["current"], p["difference"]) for p in changed["parts"]} == {
        "total": (2, 1, -1), "by_nationality.VE": (2, 1, -1), "by_sex.F": (2, 1, -1),
    }
    assert [(e["event_id"], e["type"], e["adds"]) for e in changed["events"]] == [
        ("engagement:3", "MembershipMerged", {"by_nationality.VE": -1, "by_sex.F": -1, "total": -1}),
    ]
    now = client.get("/indicators").json()["phases"][0]["indicators"]["members_joined"]
    then = client.get("/indicators", params={"as_of": stamp(at(4900))}).json()["phases"][0]["indicators"]["members_joined"]
    assert (now["total"], then["total"]) == (1, 2)


def test_an_activity_listing_both_records_merged_after_a_signed_phase_restates_attendances_naming_the_merge(
    desk: tuple[TestClient, FakeNow],
) -> None:
    """Tester 232 F1: a workshop of F1 listed Wilmer by both his records, and Ana: three rows, two people. Merged after
    F1 was signed, the workshop counts two attendances from the merge on; the figure's evidence, of the district and of
    all Lima, adds up to it with the merge taking the second listing back, and the sign-off's restatement names the merge."""
    client, clock = desk
    readmodel = application_of(client).readmodel
    listed = [("wilmer", "PE", "M"), ("ana", "VE", "F"), ("wilmer-dup", "PE", "M")]
    readmodel.apply([
        *a_first_phase_and_an_osv(),
        joined(1, 2.1, "wilmer", "2021-02-01", "PE", sex="M"), joined(2, 2.2, "wilmer-dup", "2021-02-03", "PE", sex="M"),
        joined(3, 2.3, "ana", "2021-02-05", "VE"),
        cloudevent("engagement", 4, "ActivityReported", "w1", at(3), activity_id="w1", osv_id="osv-1", kind="workshop",
                   held_on="2021-04-10", district="San Juan de Lurigancho", zone="Lima Este",
                   direct_beneficiaries=[{"nationality": "PE", "sex": "M", "count": 2}, {"nationality": "VE", "sex": "F", "count": 1}],
                   indirect_beneficiaries=0, outputs=[], counted_by="persons", occurred_on="2021-04-10",
                   participants=[{"person_id": p, "member": True, "nationality": n, "sex": s} for p, n, s in listed]),
    ])
    signed = client.post("/phases/F1/sign-offs", headers=LEAD(), json={"as_of": stamp(at(4300))})
    assert signed.status_code == 201, signed.text
    assert signed.json()["figures"]["attendances"] == {"total": 3, "by_nationality": {"PE": 2, "VE": 1}, "by_sex": {"F": 1, "M": 2}}

    readmodel.apply([cloudevent(
        "engagement", 5, "MemberMerged", "wilmer-dup", at(5000), member_id="wilmer-dup", into_member_id="wilmer", osv_id="osv-1",
        merged_on="2021-07-31", occurred_on="2021-07-31",
    )])
    clock.moment = at(6000)

    figure = {"total": 2, "by_nationality": {"PE": 1, "VE": 1}, "by_sex": {"F": 1, "M": 1}}
    assert client.get("/indicators").json()["phases"][0]["indicators"]["attendances"] == figure
    for group in ("San Juan de Lurigancho", None):
        found = client.get("/indicators/attendances/evidence", params={"phase": "F1", **({"group": group} if group else {})}).json()
        assert found["value"] == figure, group
        assert sum(row["adds"].get("total", 0) for row in found["events"]) == 2, group
        assert [(row["type"], row["adds"]) for row in found["events"] if row["type"] == "MemberMerged"] == [
            ("MemberMerged", {"by_nationality.PE": -1, "by_sex.M": -1, "total": -1}),
        ], group

    [listed_off] = client.get("/sign-offs").json()["sign_offs"]
    assert listed_off["figures"] == signed.json()["figures"] and listed_off["reproduced"] is True
    restated = {changed["indicator"]: changed for changed in listed_off["restatement"]}
    assert set(restated) == {"attendances", "beneficiaries_direct"}  # three people reached were two
    for name, changed in restated.items():
        assert {p["part"]: (p["signed"], p["current"], p["difference"]) for p in changed["parts"]} == {
            "total": (3, 2, -1), "by_nationality.PE": (2, 1, -1), "by_sex.M": (2, 1, -1),
        }, name
        assert [(e["event_id"], e["type"], e["adds"]) for e in changed["events"]] == [
            ("engagement:5", "MemberMerged", {"by_nationality.PE": -1, "by_sex.M": -1, "total": -1}),
        ], name
    then = client.get("/indicators", params={"as_of": stamp(at(4900))}).json()["phases"][0]["indicators"]["attendances"]
    assert then["total"] == 3  # as of before the merge, the workshop's three rows


def test_the_evidence_names_where_a_merge_took_an_attendance_and_an_agent_back_not_the_merges_osv(
    desk: tuple[TestClient, FakeNow],
) -> None:
    """Tester 239 F2: Luis is recorded at the olla in San Juan de Lurigancho (osv-1) and again at the association in San
    Martín de Porres (osv-2), enrolled in each one's project; a training of osv-2, in SMP, lists both his records. The merge
    (published first under osv-1) takes back the second listing, at osv-2's training, and his second agent of change, on
    osv-2's project: each evidence row named osv-1 and San Juan de Lurigancho, sending an auditor to the wrong place."""
    client, clock = desk
    readmodel = application_of(client).readmodel
    smp = {"district": "San Martín de Porres", "zone": "Lima Norte"}

    def enrolled(position: int, member: str, grant: str, osv: str) -> dict[str, Any]:
        return cloudevent("engagement", position, "ParticipantEnrolled", member, at(2 + position / 10), member_id=member, grant_id=grant,
                          osv_id=osv, nationality="VE", sex="M", age_band="30-44", enrolled_on="2021-03-15", occurred_on="2021-03-15")

    def granted(position: int, grant: str, osv: str) -> dict[str, Any]:
        return cloudevent("funding", position, "FundGranted", grant, at(1.5 + position / 10), grant_id=grant, osv_id=osv, amount="3000.00",
                          currency="PEN", kind="seed_fund", granted_on="2021-03-01", support="first_time", proposal_id=None, round_id=None,
                          occurred_on="2021-03-01")

    readmodel.apply([
        *a_first_phase_and_an_osv(),
        cloudevent("registry", 2, "OSVMapped", "osv-2", at(1.2), osv_id="osv-2", name="Fraternidad de Condevilla", mapped_on="2021-01-06",
                   occurred_on="2021-01-06", **smp),
        granted(2, "g-u", "osv-1"), granted(3, "g-v", "osv-2"),
        enrolled(1, "luis", "g-u", "osv-1"), enrolled(2, "luis-cpp", "g-v", "osv-2"),
        cloudevent("engagement", 3, "ActivityReported", "t1", at(3), activity_id="t1", osv_id="osv-2", kind="training",
                   held_on="2021-04-20", direct_beneficiaries=[{"nationality": "VE", "sex": "M", "count": 2}], indirect_beneficiaries=0,
                   outputs=[], counted_by="persons", occurred_on="2021-04-20",
                   participants=[{"person_id": p, "member": True, "nationality": "VE", "sex": "M"} for p in ("luis-cpp", "luis")], **smp),
        *(cloudevent("engagement", position, "MemberMerged", "luis-cpp", at(5000), member_id="luis-cpp", into_member_id="luis", osv_id=osv,
                     merged_on="2021-07-31", occurred_on="2021-07-31") for position, osv in ((4, "osv-1"), (5, "osv-2"))),
    ])
    clock.moment = at(6000)

    def rows(name: str, group: str | None) -> list[tuple[str, str, str, int]]:
        found = client.get(f"/indicators/{name}/evidence", params={"phase": "F1", **({"group": group} if group else {})}).json()
        return [(row["type"], row["osv"]["name"], row["district"], row["municipality"]["id"], row["adds"]["total"]) for row in found["events"]]

    taken_back = ("MemberMerged", "Fraternidad de Condevilla", "San Martín de Porres", "150135", -1)
    for group in ("San Martín de Porres", "Lima Norte", None):
        assert rows("attendances", group) == [
            ("ActivityReported", "Fraternidad de Condevilla", "San Martín de Porres", "150135", 2), taken_back,
        ], group
    assert rows("agents_of_change", None)[-1] == taken_back  # two records of one agent: the one merged away counted at osv-2
    assert [row for row in rows("agents_of_change", "San Juan de Lurigancho") if row[0] == "MemberMerged"] == []
