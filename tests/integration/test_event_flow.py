"""An OSV's story travels from the write services through NATS into the indicators."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from uuid import UUID

from devtools.embedded import NatsServer
from services.reporting.domain.tally import report
from services.reporting.rebuild import rebuild_from_stream
from services.reporting.views.readmodel import ReadModel
from shared.views import make_engine
from tests.support.clients import application_of
from tests.support.system import System, eventually, last_public_position, running_system


def map_register_grant_and_enrol(system: System, nationality: str = "VE", sex: str = "F", took_part_on: str | None = None) -> dict[str, str]:
    """Phase 1 sees an OSV mapped and registered; phase 2 funds it and sees a member come and go (having taken part in its
    project from ``took_part_on``, if given)."""
    assert system.funding.post(
        "/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-09-30"}
    ).status_code == 201
    assert system.funding.post(
        "/phases", json={"code": "F2", "name": "Fase 2", "starts_on": "2021-10-01", "ends_on": "2021-12-31"}
    ).status_code == 201

    osv = system.registry.post("/osvs", json={"name": "Unidos por Comas", "district": "comas", "mapped_on": "2021-03-15"})
    assert osv.status_code == 201, osv.text
    osv_id = osv.json()["id"]
    registered = system.registry.post(
        f"/osvs/{osv_id}/ruos-registration", json={"municipality_id": "mml", "ruos_number": "RUOS-2021-0042", "registered_on": "2021-08-20"}
    )
    assert registered.status_code == 201, registered.text

    # Funding learns of the OSV from registry's events, not from registry's tables.
    grant = eventually(
        lambda: (
            r := system.funding.post(
                "/grants",
                json={"osv_id": osv_id, "amount": "3500.00", "currency": "PEN", "granted_on": "2021-10-20", "kind": "seed_fund"},
            )
        ).status_code == 201 and r
    )
    # Engagement, too, learns of the OSV from registry's events.
    member = eventually(
        lambda: (
            r := system.engagement.post(
                "/members",
                json={
                    "osv_id": osv_id,
                    "full_name": "Yusleidy Carolina Pérez Mora",
                    # A Peruvian's DNI: a CE is a foreigner's card (422 document_for_foreigners with PE).
                    **({"document_type": "DNI", "document_number": "45678912"} if nationality == "PE" else {"document_type": "CE", "document_number": "001234567"}),
                    "nationality": nationality,
                    "sex": sex,
                    "joined_on": "2021-10-05",
                    "birth_year": 1990,
                },
            )
        ).status_code == 201 and r
    )
    member_id = member.json()["id"]
    if took_part_on is not None:
        eventually(  # engagement learns of the grant from funding's events
            lambda: system.engagement.post(
                f"/members/{member_id}/participations", json={"grant_id": grant.json()["id"], "enrolled_on": took_part_on}
            ).status_code == 201
        )
    left = system.engagement.post(
        f"/members/{member_id}/departure", json={"left_on": "2021-12-10", "reason": "moved_abroad"}
    )
    assert left.status_code == 200, left.text
    return {"osv_id": osv_id, "grant_id": grant.json()["id"], "member_id": member_id}


def test_an_osv_mapped_registered_funded_and_joined_shows_in_each_phase_of_the_indicators(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        map_register_grant_and_enrol(system)
        system.wait_relayed()
        system.wait_applied()
        report = system.indicators()

    phase1, phase2 = report["phases"]
    assert (phase1["code"], phase1["indicators"]["osvs_identified"], phase1["indicators"]["osvs_registered_ruos"]) == ("F1", 1, 1)
    assert phase1["indicators"]["osvs_supported"]["total"] == 0
    assert phase2["indicators"]["osvs_identified"] == 0
    assert phase2["indicators"]["osvs_supported"]["total"] == 1
    assert phase2["indicators"]["seed_funds_granted_pen"] == "3500.00"
    assert phase2["indicators"]["members_joined"] == {"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}
    assert phase2["indicators"]["members_left"] == {"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}
    assert phase2["indicators"]["members_left_by_reason"] == {"moved_abroad": 1}
    assert report["total"]["osvs_identified"] == 1
    assert report["total"]["seed_funds_granted_pen"] == "3500.00"


def test_a_nationality_and_sex_corrected_in_engagement_restate_the_indicators_and_a_report_as_of_before_shows_them_as_recorded(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    # A Venezuelan recorded as PE, F and M swapped in the form: the programme's core indicator (migrants and host
    # community) counted her as Peruvian for good. Corrected, every phase counts her as she is; the past as it was known.
    with running_system(tmp_path / "var", nats_server.url) as system:
        ids = map_register_grant_and_enrol(system, nationality="PE", sex="M", took_part_on="2021-10-25")
        system.wait_relayed()
        system.wait_applied()
        recorded = datetime.now(timezone.utc)
        time.sleep(1.1)  # recorded times are kept to the microsecond; a second apart leaves no doubt which side each is

        corrected = system.engagement.post(f"/members/{ids['member_id']}/correction", json={"nationality": "VE", "sex": "F"})
        assert corrected.status_code == 200, corrected.text
        system.wait_relayed()
        system.wait_applied()
        now = system.indicators()
        then = system.reporting.get("/indicators", params={"as_of": recorded.isoformat().replace("+00:00", "Z")}).json()

    f2_now, f2_then = now["phases"][1]["indicators"], then["phases"][1]["indicators"]
    assert f2_now["members_joined"] == f2_now["members_left"] == {"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}
    assert f2_now["agents_of_change"] == {"total": 1, "new": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}
    assert f2_then["members_joined"] == f2_then["members_left"] == {"total": 1, "by_nationality": {"PE": 1}, "by_sex": {"M": 1}}
    assert f2_then["agents_of_change"] == {"total": 1, "new": 1, "by_nationality": {"PE": 1}, "by_sex": {"M": 1}}
    assert now["total"]["members_joined"] == {"total": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}


def test_a_report_cut_at_the_instant_of_one_of_a_commands_events_shows_all_of_them(tmp_path: Path, nats_server: NatsServer) -> None:
    # Nationality and sex corrected in one request are two events of one save. A cut at the first one's recorded
    # instant showed her Venezuelan and still male: a state the records never were in.
    with running_system(tmp_path / "var", nats_server.url) as system:
        ids = map_register_grant_and_enrol(system, nationality="PE", sex="M", took_part_on="2021-10-25")
        head = last_public_position(system.engagement)
        corrected = system.engagement.post(f"/members/{ids['member_id']}/correction", json={"nationality": "VE", "sex": "F"})
        assert corrected.status_code == 200, corrected.text
        system.wait_relayed()
        system.wait_applied()
        made = system.engagement.get("/events", params={"after": head, "limit": 100}).json()["events"]
        assert [e["type"] for e in made] == ["MemberNationalityCorrected", "MemberSexCorrected"]
        cut = system.reporting.get("/indicators", params={"as_of": made[0]["time"]}).json()

    assert cut["phases"][1]["indicators"]["agents_of_change"] == {"total": 1, "new": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}
    assert made[0]["time"] == made[1]["time"]  # one recorded instant, the log's position orders them


def test_a_grant_typed_in_late_restates_the_later_grants_mark_and_the_indicators_live_and_rebuilt_count_as_without_it(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    # Phase 2's grant was recorded first_time; phase 1's, from the paper backlog, is typed in after it. Funding restates
    # the later one repeat (GrantSupportRestated, to partners); reporting already worked support out from the grants and
    # phases, so the event changes no figure, live or rebuilt from the stream.
    with running_system(tmp_path / "var", nats_server.url) as system:
        ids = map_register_grant_and_enrol(system)  # its seed fund granted on 2021-10-20: phase 2
        head = last_public_position(system.funding)
        backlog = system.funding.post(
            "/grants",
            json={"osv_id": ids["osv_id"], "amount": "1200.00", "currency": "PEN", "granted_on": "2021-06-14", "kind": "goods"},
        )
        assert backlog.status_code == 201, backlog.text
        system.wait_relayed()
        system.wait_applied()
        made = system.funding.get("/events", params={"after": head, "limit": 100}).json()["events"]
        later = system.funding.get(f"/grants/{ids['grant_id']}").json()
        live_report = system.indicators()
        live = ReadModel(make_engine(f"sqlite:///{tmp_path / 'var' / 'reporting' / 'readmodel.db'}"))
        rebuilt = ReadModel(make_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}"))
        rebuild_from_stream(rebuilt, nats_server.url, "OSV")

    assert [e["type"] for e in made] == ["FundGranted", "GrantSupportRestated"]
    restated = made[1]["data"]
    assert (restated["grant_id"], restated["osv_id"], restated["previous_support"], restated["support"]) == (
        ids["grant_id"], ids["osv_id"], "first_time", "repeat"
    )
    assert (restated["reason"], restated["caused_by"]) == ("earlier_grant_recorded", backlog.json()["id"])
    assert later["support"] == "repeat"

    phase1, phase2 = (p["indicators"]["osvs_supported"] for p in live_report["phases"])
    assert (phase1, phase2) == ({"total": 1, "first_time": 1, "repeat": 0}, {"total": 1, "first_time": 0, "repeat": 1})
    assert live_report["total"]["osvs_supported"] == {"total": 1, "first_time": 1, "repeat": 1}
    # The rebuilt read model holds what the live one holds, the restatement included, and neither counts it.
    assert rebuilt.digest() == live.digest()
    facts = rebuilt.facts()
    assert "GrantSupportRestated" in {f.type for f in facts}
    without = [f for f in facts if f.type != "GrantSupportRestated"]
    assert report(facts) == report(live.facts()) == report(without)


def test_a_grant_withdrawn_as_entered_in_error_reaches_reporting_over_nats_and_counts_nowhere_live_or_rebuilt(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    # Tester 177 F1: a seed fund typed in twice counted for ever. Withdrawn in funding, its GrantWithdrawn goes out over
    # NATS like every funding event; reporting takes the grant back, and a report as of before the withdrawal still has it.
    with running_system(tmp_path / "var", nats_server.url) as system:
        ids = map_register_grant_and_enrol(system)  # its seed fund of 3500.00 granted on 2021-10-20: phase 2
        twice = system.funding.post(  # typed twice, said to be another grant (else 409 possible_duplicate, tester 177 F4)
            "/grants", json={"osv_id": ids["osv_id"], "amount": "3500.00", "currency": "PEN", "granted_on": "2021-10-20", "kind": "seed_fund",
                             "distinct_from": [ids["grant_id"]]},
        )
        assert twice.status_code == 201, twice.text
        system.wait_relayed()
        system.wait_applied()
        doubled = system.indicators()
        moment = datetime.now(timezone.utc).isoformat()
        time.sleep(0.01)
        withdrawn = system.funding.post(f"/grants/{twice.json()['id']}/withdrawal", json={"reason": "duplicate", "note": "acta 12 otra vez"})
        assert withdrawn.status_code == 201, withdrawn.text
        system.wait_relayed()
        system.wait_applied()
        live_report = system.indicators()
        as_of_before = system.reporting.get("/indicators", params={"as_of": moment}).json()
        live = ReadModel(make_engine(f"sqlite:///{tmp_path / 'var' / 'reporting' / 'readmodel.db'}"))
        rebuilt = ReadModel(make_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}"))
        rebuild_from_stream(rebuilt, nats_server.url, "OSV")

    def phase2(result: dict[str, object]) -> tuple[object, ...]:
        figures = result["phases"][1]["indicators"]  # type: ignore[index]
        return figures["seed_funds_granted_pen"], figures["projects_new"], figures["projects_active"]

    assert phase2(doubled) == phase2(as_of_before) == ("7000.00", 2, 2)
    assert phase2(live_report) == ("3500.00", 1, 1)
    assert rebuilt.digest() == live.digest()
    [fact] = [f for f in rebuilt.facts() if f.type == "GrantWithdrawn"]
    assert fact.data["grant_id"] == twice.json()["id"] and fact.data["reason"] == "duplicate"
    assert "note" not in fact.data and "acta 12" not in str(fact.data)


def test_two_records_of_one_person_merged_in_engagement_reach_reporting_over_nats_and_count_once(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    # Tester 184 F3: Yusmary, registered in Comas with her CPP and again in Los Olivos with her old PTP, took part in both
    # OSVs' projects as two agents of change. Merged, she counts once; as of before the merge, twice.
    with running_system(tmp_path / "var", nats_server.url) as system:
        assert system.funding.post(
            "/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}
        ).status_code == 201
        records = []
        for district, name, document_type, number in (("comas", "Unidos por Comas", "CPP", "000371933"), ("los olivos", "Vecinos de Pro", "PTP", "000512344")):
            osv = system.registry.post("/osvs", json={"name": name, "district": district, "mapped_on": "2021-03-15"})
            assert osv.status_code == 201, osv.text
            osv_id = osv.json()["id"]
            grant = eventually(lambda osv_id=osv_id: (r := system.funding.post("/grants", json={
                "osv_id": osv_id, "amount": "1000.00", "currency": "PEN", "granted_on": "2021-04-01", "kind": "seed_fund"})).status_code == 201 and r)
            member = eventually(lambda osv_id=osv_id, document_type=document_type, number=number: (r := system.engagement.post("/members", json={
                "osv_id": osv_id, "full_name": "Yusmary Pérez", "document_type": document_type, "document_number": number,
                "nationality": "VE", "sex": "F", "joined_on": "2021-04-02"})).status_code == 201 and r)
            member_id = member.json()["id"]
            eventually(lambda member_id=member_id, grant=grant: system.engagement.post(
                f"/members/{member_id}/participations", json={"grant_id": grant.json()["id"], "enrolled_on": "2021-04-05"}).status_code == 201)
            records.append(member_id)
        system.wait_relayed()
        system.wait_applied()
        recorded = datetime.now(timezone.utc)
        time.sleep(1.1)

        merged = system.engagement.post(f"/members/{records[0]}/merges", json={"duplicate_id": records[1]})
        assert merged.status_code == 201, merged.text
        system.wait_relayed()
        system.wait_applied()
        now = system.indicators()
        then = system.reporting.get("/indicators", params={"as_of": recorded.isoformat().replace("+00:00", "Z")}).json()

    assert now["phases"][0]["indicators"]["agents_of_change"] == {"total": 1, "new": 1, "by_nationality": {"VE": 1}, "by_sex": {"F": 1}}
    assert then["phases"][0]["indicators"]["agents_of_change"] == {"total": 2, "new": 2, "by_nationality": {"VE": 2}, "by_sex": {"F": 2}}
    assert now["total"]["members_joined"]["total"] == 2  # two joinings, of two OSVs


def test_a_grant_withdrawn_in_funding_reaches_engagements_view_over_nats_and_its_agents_of_change_count_no_more(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    # Grant withdrawal in engagement: engagement enrolled agents of change in, and took activities of, a grant funding had
    # withdrawn, and reporting went on counting them. Funding's GrantWithdrawn now reaches engagement's grant directory over
    # NATS; a record naming the grant is refused there, and reporting counts no agent of change enrolled only on it.
    with running_system(tmp_path / "var", nats_server.url) as system:
        ids = map_register_grant_and_enrol(system, took_part_on="2021-10-25")
        system.wait_relayed()
        system.wait_applied()
        enrolled = system.indicators()["phases"][1]["indicators"]["agents_of_change"]["total"]
        withdrawn = system.funding.post(f"/grants/{ids['grant_id']}/withdrawal", json={"reason": "entered_in_error"})
        assert withdrawn.status_code == 201, withdrawn.text
        activity = {
            "osv_id": ids["osv_id"], "held_on": "2021-11-05", "kind": "mural_painting", "district": "Comas",
            "direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": 3}], "grant_id": ids["grant_id"],
        }
        refused = eventually(lambda: (r := system.engagement.post("/activities", json=activity)).status_code == 409 and r)
        assert refused.json()["errors"][0]["field"] == "grant_id" and refused.json()["errors"][0]["rule"] == "grant_not_withdrawn"
        known = application_of(system.engagement).grants.get(UUID(ids["grant_id"]))
        system.wait_relayed()
        system.wait_applied()
        after = system.indicators()["phases"][1]["indicators"]["agents_of_change"]["total"]

    assert known is not None and known.withdrawn_on is not None
    assert (enrolled, after) == (1, 0)
