"""``GET /alerts``: the follow-up alerts as JSON, on the read model in SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from services.reporting.domain.alerts import ALERT_TYPES, alerts
from services.reporting.views.readmodel import ReadModel
from services.reporting.views.tables import AFTER_DISSOLUTION, AFTER_MERGE, DATED_AHEAD, LOOKED_BACK
from shared.clock import today_in_lima
from shared.municipalities import MunicipalityTable
from shared.settings import sqlalchemy_url
from shared.views import make_engine
from tests.support.clients import application_of
from tests.support.identity import MML_FOCAL_POINT, signed_in_headers
from tests.support.programmelog import START, arriving_out_of_order, cloudevent, programme_log
from tests.support.reporting_feed import COMAS, SJL, ReportingFeed, a_programme_year

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("reporting")]

@pytest.fixture
def store(database_url: str) -> str:
    """Every story here runs on SQLite, then on PostgreSQL."""
    return database_url


def test_the_alerts_list_who_to_meet_which_board_to_renew_and_where_a_focal_point_is_missing(client: TestClient) -> None:
    today = today_in_lima()
    osvs = a_programme_year(ReportingFeed(client.app.state.runtime.app.readmodel, today))  # type: ignore[attr-defined]

    found = client.get("/alerts").json()

    assert (found["today"], found["overdue_after_days"], found["within_days"]) == (today.isoformat(), 45, 60)
    assert found["overdue_meetings"] == [
        {
            "osv_id": osvs["Olla Común Las Flores"],
            "name": "Olla Común Las Flores",
            "district": "Comas",
            "zone": "Lima Norte",
            "last_met_on": None,
            "counted_from": (today - timedelta(days=300)).isoformat(),
            "days_without_meeting": 300,
        }
    ]
    (board,) = found["board_terms"]
    assert (board["name"], board["days_left"], board["status"]) == ("Club de Madres Nueva Esperanza", 30, "expiring")
    assert [(m["municipality_id"], m["last_left_on"]) for m in found["municipalities_without_focal_point"]] == [
        (COMAS, (today - timedelta(days=20)).isoformat()),
        (SJL, None),
    ]

    # Tighter limits flag the OSV met ten days ago; a shorter horizon drops the board ending in 30 days.
    tighter = client.get("/alerts?days=7&within_days=29").json()
    assert {o["name"] for o in tighter["overdue_meetings"]} == {"Olla Común Las Flores", "Comedor Popular Santa Rosa"}
    assert tighter["board_terms"] == []


def test_the_alerts_answer_as_of_a_moment_as_the_dashboards_cut_does(client: TestClient) -> None:
    """README lists /alerts among the reports that take ``as_of``, and the dashboard cuts its alerts: the API refused it."""
    today = today_in_lima()
    a_programme_year(ReportingFeed(client.app.state.runtime.app.readmodel, today))  # type: ignore[attr-defined]
    now = client.get("/alerts").json()
    assert now["overdue_meetings"]

    before = client.get("/alerts", params={"as_of": "2021-01-01T12:00:00-05:00"})
    assert before.status_code == 200, before.text
    assert (before.json()["today"], before.json()["overdue_meetings"], before.json()["board_terms"]) == ("2021-01-01", [], [])
    # and says the cut it was read at, as /indicators, /targets and /sign-offs do (tester 178 F10); null for the latest
    assert before.json()["as_of"] == "2021-01-01T17:00:00Z" == client.get("/indicators", params={"as_of": "2021-01-01T12:00:00-05:00"}).json()["as_of"]
    assert now["as_of"] is None
    described = client.get("/openapi.json").json()["components"]["schemas"]["AlertsPublic"]
    assert "as_of" in described["required"] and "recorded" in described["properties"]["as_of"]["description"]
    future = client.get("/alerts", params={"as_of": "2999-01-01T00:00:00Z"})
    assert (future.status_code, future.json()["errors"][0]["field"]) == (422, "as_of")


def test_alert_limits_out_of_range_are_refused_naming_the_field(client: TestClient) -> None:
    response = client.get("/alerts?within_days=-1")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "within_days"


def test_the_alerts_read_from_each_osvs_last_meeting_equal_the_alerts_read_from_every_fact(client: TestClient) -> None:
    today = today_in_lima()
    readmodel = application_of(client).readmodel
    feed = ReportingFeed(readmodel, today)
    osvs = a_programme_year(feed)
    # More meetings, some recorded after later ones: only each OSV's latest can matter.
    for name, days_ago in (("Olla Común Las Flores", 50), ("Olla Común Las Flores", 80), ("Comedor Popular Santa Rosa", 200)):
        feed.meeting_held(osvs[name], -days_ago)

    municipalities = MunicipalityTable.of_lima().all()
    kept = readmodel.alert_facts()
    assert len([f for f in kept if f.type == "FollowUpMeetingHeld"]) < len(readmodel.facts(types={"FollowUpMeetingHeld"}))
    assert alerts(kept, today, municipalities) == alerts(readmodel.facts(), today, municipalities)


# Board terms, by the RUOS that holds the registration


def board_terms(client: TestClient, name: str | None = None) -> list[tuple[str, int, str | None, str | None]]:
    """The board-term alerts ``name`` (the tester when None) is shown: OSV, days left, RUOS municipality and its name."""
    answer = client.get("/alerts", headers=signed_in_headers(name) if name else None)
    assert answer.status_code == 200, answer.text
    return [(b["name"], b["days_left"], b["municipality_id"], b["municipality_name"]) for b in answer.json()["board_terms"]]


def test_a_board_term_alert_names_the_ruos_that_holds_the_registration_and_goes_to_that_municipalitys_focal_point(
    client: TestClient,
) -> None:
    """Tester 127 F1: a focal point records only its own municipality's RUOS steps (403 `own_municipality_ruos`), but the
    alerts listed to San Juan de Lurigancho's focal point the board terms of its OSVs registered in the MML's RUOS, which
    it may not renew, and to the MML's every district's; no alert said whose RUOS the registration is in."""
    today = today_in_lima()
    readmodel = application_of(client).readmodel
    feed = ReportingFeed(readmodel, today)
    a_programme_year(feed)  # Nueva Esperanza, of Ate: registered directly before registrations named their RUOS; ends in 30 days
    sjl = "San Juan de Lurigancho"
    villa_hermosa = feed.osv_mapped("Olla Común Villa Hermosa", sjl, "Lima Este", -400)
    los_olivos = feed.osv_mapped("Comedor Los Olivos", sjl, "Lima Este", -400)
    unidos = feed.osv_mapped("Club Juvenil Unidos", sjl, "Lima Este", -400)
    canto_rey = feed.osv_mapped("Club Deportivo Canto Rey", sjl, "Lima Este", -400)
    feed.ruos_registered(villa_hermosa, -300, board_term_ends=-5, municipality_id=SJL)
    feed.ruos_registered(los_olivos, -300, board_term_ends=10, municipality_id="mml")
    feed.ruos_registered(unidos, -300, board_term_ends=20)  # no municipality named: its district's, as registry reads it
    feed.ruos_registered(canto_rey, -390, board_term_ends=-30, municipality_id="mml")
    feed.board_renewed(canto_rey, -40, term_ends=45)  # a renewal is in the RUOS the OSV is registered in

    mml = ("mml", "Municipalidad Metropolitana de Lima")
    san_juan = (SJL, "Municipalidad Distrital de San Juan de Lurigancho")
    every = [
        ("Olla Común Villa Hermosa", -5, *san_juan),
        ("Comedor Los Olivos", 10, *mml),
        ("Club Juvenil Unidos", 20, *san_juan),
        ("Club de Madres Nueva Esperanza", 30, "150103", "Municipalidad Distrital de Ate"),
        ("Club Deportivo Canto Rey", 45, *mml),
    ]
    shown = {
        None: every,  # the tester: a lead and an auditor
        "staff": every,
        "auditor": every,
        "municipal-150132": [b for b in every if b[2] == SJL],  # its RUOS's, not its OSVs' registered with the MML
        MML_FOCAL_POINT: [b for b in every if b[2] == "mml"],  # the MML's RUOS's, not every district's
    }
    for name, expected in shown.items():
        assert board_terms(client, name) == expected, name
    # The dashboard's table shows each focal point the same, naming the RUOS.
    page = client.get("/dashboard", headers=signed_in_headers("municipal-150132")).text
    table = page[page.index('id="board-terms"') : page.index("</table>", page.index('id="board-terms"'))]
    assert "Olla Común Villa Hermosa" in table and "Municipalidad Distrital de San Juan de Lurigancho" in table
    assert "Comedor Los Olivos" not in table

    # The read model rebuilt from the log lists the same alerts to each.
    readmodel.clear()
    readmodel.apply(feed.published)
    for name, expected in shown.items():
        assert board_terms(client, name) == expected, name


# Recorded after the OSV's dissolution


def test_the_alerts_list_what_was_recorded_after_an_osvs_dissolution_as_of_any_moment_and_a_focal_point_sees_its_own(
    client: TestClient,
) -> None:
    """Funding and engagement took a grant and a meeting dated after the OSV dissolved (their copy of registry lagged):
    the event store keeps them, and the alert names them, with the grant's money. The dissolution's day is still the OSV's."""
    today = today_in_lima()
    readmodel = application_of(client).readmodel
    feed = ReportingFeed(readmodel, today)
    osvs = a_programme_year(feed)  # El Sol: dissolved 250 days ago, granted S/ 2,500.00 dated 200 days ago
    feed.meeting_held(osvs["Asociación Vecinal El Sol"], -250)
    nueva_vida = feed.osv_mapped("Olla Común Nueva Vida", "San Juan de Lurigancho", "Lima Este", -120)
    feed.meeting_held(nueva_vida, -30)  # reaches reporting before the dissolution does
    cut = datetime.now(timezone.utc)
    feed.dissolved(nueva_vida, -40)

    found = client.get("/alerts").json()["recorded_after_dissolution"]

    grant = next(f.event_id for f in readmodel.facts(types={"FundGranted"}))
    meeting = next(f.event_id for f in readmodel.facts(types={"FollowUpMeetingHeld"}) if f.data["osv_id"] == nueva_vida)
    assert found == [
        {
            "osv_id": osvs["Asociación Vecinal El Sol"],
            "name": "Asociación Vecinal El Sol",
            "district": "Ate",
            "dissolved_on": feed.day(-250),
            "type": "FundGranted",
            "date_field": "granted_on",
            "dated_on": feed.day(-200),
            "amount": "2500.00",
            "currency": "PEN",
            "event_id": grant,
            "merged_osv_id": None,
            "merged_name": None,
        },
        {
            "osv_id": nueva_vida,
            "name": "Olla Común Nueva Vida",
            "district": "San Juan de Lurigancho",
            "dissolved_on": feed.day(-40),
            "type": "FollowUpMeetingHeld",
            "date_field": "held_on",
            "dated_on": feed.day(-30),
            "amount": None,
            "currency": None,
            "event_id": meeting,
            "merged_osv_id": None,
            "merged_name": None,
        },
    ]
    # Before Nueva Vida's dissolution was recorded, its meeting was nothing to report.
    then = client.get("/alerts", params={"as_of": cut.isoformat()}).json()["recorded_after_dissolution"]
    assert [item["name"] for item in then] == ["Asociación Vecinal El Sol"]
    # San Juan de Lurigancho's focal point sees its own OSV's, not Ate's.
    focal = client.get("/alerts", headers=signed_in_headers("municipal-150132")).json()["recorded_after_dissolution"]
    assert [item["name"] for item in focal] == ["Olla Común Nueva Vida"]


def test_a_joining_date_corrected_to_after_the_dissolution_is_listed_whether_it_reached_reporting_before_the_dissolution_or_after(
    client: TestClient,
) -> None:
    feed = ReportingFeed(application_of(client).readmodel, today_in_lima())
    first = feed.osv_mapped("Olla Común Nueva Vida", "San Juan de Lurigancho", "Lima Este", -200)
    second = feed.osv_mapped("Comedor Santa Rosa", "San Juan de Lurigancho", "Lima Este", -200)

    def corrected(osv_id: str, joined: int, to: int, on: int) -> None:
        feed.publish(
            "engagement", "MemberJoiningDateCorrected", feed.day(on), member_id=str(uuid4()), membership_id=str(uuid4()),
            osv_id=osv_id, joined_on=feed.day(to), previous_joined_on=feed.day(joined), corrected_on=feed.day(on),
            nationality="VE", sex="F", left_on=None,
        )

    corrected(first, joined=-150, to=-30, on=-20)  # reaches reporting before the dissolution: found looking back from it
    feed.dissolved(first, -40)
    feed.dissolved(second, -40)
    corrected(second, joined=-150, to=-35, on=-10)  # after it: judged as it is applied

    found = client.get("/alerts").json()["recorded_after_dissolution"]
    assert [(f["name"], f["type"], f["date_field"], f["dated_on"]) for f in found] == [
        ("Comedor Santa Rosa", "MemberJoiningDateCorrected", "joined_on", feed.day(-35)),
        ("Olla Común Nueva Vida", "MemberJoiningDateCorrected", "joined_on", feed.day(-30)),
    ]


def test_a_joining_after_the_dissolution_leaves_the_alert_once_corrected_to_before_it_and_is_listed_as_of_a_moment_before(
    client: TestClient,
) -> None:
    feed = ReportingFeed(application_of(client).readmodel, today_in_lima())
    osv = feed.osv_mapped("Olla Común Nueva Vida", "San Juan de Lurigancho", "Lima Este", -200)
    feed.dissolved(osv, -40)
    member, membership = str(uuid4()), str(uuid4())
    feed.publish("engagement", "MemberJoined", feed.day(-30), subject=member, member_id=member, membership_id=membership,
                 osv_id=osv, role="member", nationality="VE", sex="F", age_band="30-44", joined_on=feed.day(-30))
    assert [f["type"] for f in client.get("/alerts").json()["recorded_after_dissolution"]] == ["MemberJoined"]
    cut = datetime.now(timezone.utc)
    feed.publish("engagement", "MemberJoiningDateCorrected", feed.day(-5), subject=member, member_id=member,
                 membership_id=membership, osv_id=osv, joined_on=feed.day(-90), previous_joined_on=feed.day(-30),
                 corrected_on=feed.day(-5), nationality="VE", sex="F", left_on=None)

    assert client.get("/alerts").json()["recorded_after_dissolution"] == []
    then = client.get("/alerts", params={"as_of": cut.isoformat()}).json()["recorded_after_dissolution"]
    assert [f["type"] for f in then] == ["MemberJoined"]


def test_an_activity_reported_after_a_dissolution_leaves_the_alert_once_withdrawn_and_is_listed_as_of_a_moment_before(
    client: TestClient,
) -> None:
    """Engagement took an activity dated after the OSV dissolved, then withdrew it (reported by mistake): nothing is left
    to follow up, and the alert dropped nothing (tester 28). As of a moment before the withdrawal, it was listed."""
    today = today_in_lima()
    readmodel = application_of(client).readmodel
    feed = ReportingFeed(readmodel, today)
    osv = feed.osv_mapped("Olla Común Nueva Vida", "San Juan de Lurigancho", "Lima Este", -120)
    feed.dissolved(osv, -40)
    activity, held_on = str(uuid4()), feed.day(-30)
    feed.publish("engagement", "ActivityReported", held_on, subject=activity, activity_id=activity, osv_id=osv, held_on=held_on,
                 kind="mural_painting", district="San Juan de Lurigancho", zone="Lima Este", direct_beneficiaries=[],
                 indirect_beneficiaries=0, outputs=[], grant_id=None)
    assert [item["type"] for item in client.get("/alerts").json()["recorded_after_dissolution"]] == ["ActivityReported"]
    before = datetime.now(timezone.utc)

    feed.publish("engagement", "ActivityWithdrawn", feed.day(0), subject=activity, activity_id=activity, osv_id=osv, held_on=held_on,
                 withdrawn_on=feed.day(0))

    assert client.get("/alerts").json()["recorded_after_dissolution"] == []
    then = client.get("/alerts", params={"as_of": before.isoformat()}).json()["recorded_after_dissolution"]
    assert [item["type"] for item in then] == ["ActivityReported"]
    assert client.get("/alerts", headers=signed_in_headers("municipal-150132")).json()["recorded_after_dissolution"] == []


# Recorded after the record's merge


def test_the_alerts_list_a_grant_funding_took_on_a_record_after_its_merge_under_the_osv_that_stays_for_its_focal_point(
    client: TestClient,
) -> None:
    """Registry merged a Comas duplicate into an SJL OSV; funding, not knowing yet, took a grant on the duplicate, which
    it refuses once it knows (409 osv_not_merged). Nothing listed it (tester 28): the survivor's focal point sees it now."""
    today = today_in_lima()
    readmodel = application_of(client).readmodel
    feed = ReportingFeed(readmodel, today)
    survivor = feed.osv_mapped("Comedor Popular Santa Rosa", "San Juan de Lurigancho", "Lima Este", -300)
    duplicate = feed.osv_mapped("Comedor Santa Rosa", "Comas", "Lima Norte", -200)
    feed.granted(duplicate, "400.00", -100)  # before the merge: the duplicate's
    feed.publish("registry", "OSVMerged", feed.day(-1), osv_id=duplicate, into_osv_id=survivor, merged_on=feed.day(-1), district="Comas",
                 zone="Lima Norte", mapped_on=feed.day(-200))
    cut = datetime.now(timezone.utc)
    feed.granted(duplicate, "2500.00", -3)

    found = client.get("/alerts").json()["recorded_after_merge"]

    grant = next(f for f in readmodel.facts(types={"FundGranted"}) if f.data["amount"] == "2500.00")
    (merge,) = readmodel.facts(types={"OSVMerged"})
    assert found == [
        {
            "osv_id": survivor,
            "name": "Comedor Popular Santa Rosa",
            "district": "San Juan de Lurigancho",
            "merged_osv_id": duplicate,
            "merged_name": "Comedor Santa Rosa",
            "merged_on": feed.day(-1),
            "merge_recorded_at": merge.recorded_at.isoformat().replace("+00:00", "Z"),
            "type": "FundGranted",
            "date_field": "granted_on",
            "dated_on": feed.day(-3),
            "recorded_at": grant.recorded_at.isoformat().replace("+00:00", "Z"),
            "amount": "2500.00",
            "currency": "PEN",
            "event_id": grant.event_id,
        }
    ]
    assert client.get("/alerts").json()["recorded_after_dissolution"] == []
    assert client.get("/alerts", params={"as_of": cut.isoformat()}).json()["recorded_after_merge"] == []
    focal = client.get("/alerts", headers=signed_in_headers("municipal-150132")).json()["recorded_after_merge"]
    assert [item["event_id"] for item in focal] == [grant.event_id]  # Comas's focal point does not (tests/unit/test_alerts.py)


def watched_log() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """A programme's log whose dissolved OSVs go on getting facts (as if funding's and engagement's copies lagged
    registry for good), and besides: a record merged into a dissolved OSV with a fact dated after the dissolution, a
    grant to that OSV dated ahead of the day it was recorded (as before the date rule of 2026-12), and two activities of
    that OSV dated after the dissolution, withdrawn: one before the dissolution was recorded, one after, and an evaluator's
    scoring of its proposal dated after the dissolution. And a record merged into an OSV that lives on, with a grant
    recorded before the merge, a backlog grant recorded after it (dated before it), a tranche after it, and an activity
    after it, withdrawn. Returns the log and the ids of those events (``merged_fact``, ``dated_ahead``; the activities'
    reports, ``withdrawn_early`` and ``withdrawn_late``, and the late one's withdrawal, ``withdrawal``; ``scored``;
    ``before_merge``, ``backlog``, ``tranche``, ``merged_activity``, ``merged_withdrawal``) and of the dissolved OSV
    (``dissolved``), the record merged into it (``merged``), the OSV that lives on (``alive``) and the record merged into
    it (``duplicate``)."""
    events = programme_log(1200, seed=41)
    dissolution = next(e for e in events if e["type"] == "OSVDissolved" and e["data"]["dissolved_on"] > "2021-02-01")
    dissolved, day = dissolution["data"]["osv_id"], date.fromisoformat(dissolution["data"]["dissolved_on"])
    gone = {e["data"]["osv_id"] for e in events if e["type"] == "OSVDissolved"}
    merged = next(e["data"] for e in events if e["type"] == "OSVMapped" and e["data"]["osv_id"] not in gone)
    last = {s: max(e["position"] for e in events if e["source"].endswith(s)) for s in ("registry", "funding", "engagement")}
    at = datetime.fromisoformat(dissolution["time"].replace("Z", "+00:00"))
    after = (day + timedelta(days=1)).isoformat()
    ahead = (day + timedelta(days=400)).isoformat()
    events += [
        cloudevent("registry", last["registry"] + 1, "OSVMerged", merged["osv_id"], at - timedelta(minutes=1), osv_id=merged["osv_id"],
                   into_osv_id=dissolved, merged_on=day.isoformat(), district=merged["district"], zone=merged["zone"],
                   mapped_on=merged["mapped_on"], occurred_on=day.isoformat()),
        cloudevent("engagement", last["engagement"] + 1, "TechnicalAssistanceGiven", merged["osv_id"], at + timedelta(days=2),
                   osv_id=merged["osv_id"], assistance_id="ta-merged", given_on=after, hours=3, occurred_on=after),
        cloudevent("funding", last["funding"] + 1, "FundGranted", "grant-ahead", START, grant_id="grant-ahead", osv_id=dissolved,
                   amount="900.00", currency="PEN", kind="seed_fund", support="first_time", proposal_id=None, round_id=None,
                   granted_on=ahead, occurred_on=ahead),
    ]
    position = last["engagement"] + 1
    for name, reported_at, withdrawn_at in (("early", at - timedelta(hours=3), at - timedelta(hours=2)),
                                            ("late", at + timedelta(days=3), at + timedelta(days=5))):
        activity = f"activity-withdrawn-{name}"
        events += [
            cloudevent("engagement", position + 1, "ActivityReported", activity, reported_at, activity_id=activity, osv_id=dissolved,
                       held_on=after, kind="mural_painting", district="Comas", zone="Lima Norte", indirect_beneficiaries=0,
                       grant_id=None, direct_beneficiaries=[{"nationality": "VE", "sex": "F", "count": 3}], outputs=[], occurred_on=after),
            cloudevent("engagement", position + 2, "ActivityWithdrawn", activity, withdrawn_at, activity_id=activity, osv_id=dissolved,
                       held_on=after, withdrawn_on=withdrawn_at.date().isoformat(), occurred_on=withdrawn_at.date().isoformat()),
        ]
        position += 2
    events.append(cloudevent("funding", last["funding"] + 2, "ProposalScored", "proposal-late", at + timedelta(days=1),
                             proposal_id="proposal-late", round_id="round-1", osv_id=dissolved, evaluator="EV-1",
                             scores=[{"criterion": "impact", "score": 7}], weighted_total="70.00", scored_on=after, occurred_on=after))
    alive, duplicate = [e["data"] for e in events if e["type"] == "OSVMapped" and e["data"]["osv_id"] not in gone][1:3]
    merged_at = at + timedelta(days=10)
    merged_on = merged_at.date().isoformat()
    backlog_on = (merged_at - timedelta(days=20)).date().isoformat()

    def grant(position: int, grant_id: str, time: datetime, on: str) -> dict[str, Any]:
        return cloudevent("funding", position, "FundGranted", grant_id, time, grant_id=grant_id, osv_id=duplicate["osv_id"], amount="300.00",
                          currency="PEN", kind="goods", support="first_time", proposal_id=None, round_id=None, granted_on=on, occurred_on=on)

    events += [
        grant(last["funding"] + 3, "grant-before-merge", merged_at - timedelta(hours=1), backlog_on),
        cloudevent("registry", last["registry"] + 2, "OSVMerged", duplicate["osv_id"], merged_at, osv_id=duplicate["osv_id"],
                   into_osv_id=alive["osv_id"], merged_on=merged_on, district=duplicate["district"], zone=duplicate["zone"],
                   mapped_on=duplicate["mapped_on"], occurred_on=merged_on),
        grant(last["funding"] + 4, "grant-backlog", merged_at + timedelta(hours=1), backlog_on),
        cloudevent("funding", last["funding"] + 5, "DisbursementMade", "grant-before-merge", merged_at + timedelta(hours=2),
                   grant_id="grant-before-merge", osv_id=duplicate["osv_id"], disbursement_id="d-merged", tranche=1, amount="100.00",
                   currency="PEN", disbursed_on=merged_on, occurred_on=merged_on),
        cloudevent("engagement", position + 1, "ActivityReported", "activity-merged", merged_at + timedelta(hours=3),
                   activity_id="activity-merged", osv_id=duplicate["osv_id"], held_on=merged_on, kind="mural_painting", district="Comas",
                   zone="Lima Norte", indirect_beneficiaries=0, grant_id=None, direct_beneficiaries=[], outputs=[], occurred_on=merged_on),
        cloudevent("engagement", position + 2, "ActivityWithdrawn", "activity-merged", merged_at + timedelta(hours=4),
                   activity_id="activity-merged", osv_id=duplicate["osv_id"], held_on=merged_on, withdrawn_on=merged_on, occurred_on=merged_on),
    ]
    ids = {"dissolved": dissolved, "merged": merged["osv_id"], "merged_fact": f"engagement:{last['engagement'] + 1}",
           "dated_ahead": f"funding:{last['funding'] + 1}", "withdrawn_early": f"engagement:{last['engagement'] + 2}",
           "withdrawn_late": f"engagement:{last['engagement'] + 4}", "withdrawal": f"engagement:{last['engagement'] + 5}",
           "scored": f"funding:{last['funding'] + 2}", "alive": alive["osv_id"], "duplicate": duplicate["osv_id"],
           "before_merge": f"funding:{last['funding'] + 3}", "backlog": f"funding:{last['funding'] + 4}",
           "tranche": f"funding:{last['funding'] + 5}", "merged_activity": f"engagement:{position + 1}",
           "merged_withdrawal": f"engagement:{position + 2}"}
    return events, ids


def batches_in(order: str, events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    by_source = {s: [e for e in events if e["source"].endswith(s)] for s in ("registry", "funding", "engagement")}
    if order == "registry first":  # as a rebuild reads the streams
        return [by_source["registry"], by_source["funding"], by_source["engagement"]]
    if order == "registry last":  # every dissolution arrives after the facts it judges
        return [by_source["engagement"], by_source["funding"], by_source["registry"]]
    return arriving_out_of_order(events, seed=42, batch=60)


@pytest.mark.parametrize("order", ["registry first", "registry last", "services interleaved"])
def test_the_read_model_hands_the_alerts_every_fact_dated_after_a_dissolution_whatever_order_the_events_arrive_in(
    database_url: str, order: str
) -> None:
    """The alerts read only the facts the read model keeps as dated after a dissolution: the same alert as from every
    fact, now and as of any moment, whether a fact arrives before or after the dissolution that judges it."""
    events, ids = watched_log()
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)))
    for batch in batches_in(order, events):
        readmodel.apply(batch)
    municipalities = MunicipalityTable.of_lima().all()
    today = date(2023, 6, 1)

    found = alerts(readmodel.alert_facts(), today, municipalities)
    assert found == alerts(readmodel.facts(), today, municipalities)
    listed = {item.event_id: item for item in found.recorded_after_dissolution}
    assert len(listed) > 20
    after_merge = {item.event_id: item for item in found.recorded_after_merge}
    others = [f for f in readmodel.alert_facts() if f.type not in ALERT_TYPES]
    withdrawn = {f.data["activity_id"] for f in others if f.type == "ActivityWithdrawn"}
    taken_back = {f.event_id for f in others if f.type == "ActivityWithdrawn" or f.data.get("activity_id") in withdrawn}
    assert {ids["withdrawn_early"], ids["withdrawn_late"], ids["withdrawal"], ids["merged_activity"]} <= taken_back
    # no other grant nor member, only the withdrawals of those listed
    assert {f.event_id for f in others} - taken_back <= set(listed) | set(after_merge)
    backlog = after_merge[ids["backlog"]]
    assert (backlog.osv_id, backlog.merged_osv_id, backlog.type, backlog.amount) == (ids["alive"], ids["duplicate"], "FundGranted", "300.00")
    assert not {ids["before_merge"], ids["tranche"], ids["merged_activity"], ids["merged_fact"]} & set(after_merge)
    assert len(after_merge) >= 5  # the random log's facts on the two merged records, recorded after their merges, too
    assert listed[ids["dated_ahead"]].osv_id == ids["dissolved"]
    assert (listed[ids["merged_fact"]].osv_id, listed[ids["merged_fact"]].merged_osv_id) == (ids["dissolved"], ids["merged"])
    assert ids["withdrawn_early"] not in listed and ids["withdrawn_late"] not in listed  # withdrawn: taken back
    assert (listed[ids["scored"]].type, listed[ids["scored"]].date_field, listed[ids["scored"]].amount) == ("ProposalScored", "scored_on", None)
    recorded = sorted(f.recorded_at for f in readmodel.facts())
    time_of = {f.event_id: f.recorded_at for f in readmodel.facts()}
    withdrawal, merged_withdrawal = time_of[ids["withdrawal"]] - timedelta(seconds=1), time_of[ids["merged_withdrawal"]] - timedelta(seconds=1)
    for cut in (recorded[len(recorded) // 3], recorded[2 * len(recorded) // 3], withdrawal, merged_withdrawal):
        assert alerts(readmodel.alert_facts(cut), today, municipalities) == alerts(readmodel.facts(upto=cut), today, municipalities)
    before_withdrawal = alerts(readmodel.alert_facts(withdrawal), today, municipalities)
    assert ids["withdrawn_late"] in {item.event_id for item in before_withdrawal.recorded_after_dissolution}
    before_withdrawal = alerts(readmodel.alert_facts(merged_withdrawal), today, municipalities)
    assert ids["merged_activity"] in {item.event_id for item in before_withdrawal.recorded_after_merge}


def test_a_read_model_rebuilt_from_the_log_lists_what_the_one_kept_as_events_arrived_lists(database_url: str) -> None:
    """A rebuild empties the read model and applies each service's stream in turn, registry's first: the side tables the
    alerts read end as those kept while the services' events crossed, withdrawals and merges included."""
    events, _ = watched_log()
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)))
    for batch in batches_in("services interleaved", events):
        readmodel.apply(batch)
    municipalities = MunicipalityTable.of_lima().all()
    today = date(2023, 6, 1)
    recorded = sorted(f.recorded_at for f in readmodel.facts())
    cuts = [None, recorded[len(recorded) // 2], recorded[-40]]
    kept = [alerts(readmodel.alert_facts(cut), today, municipalities) for cut in cuts]

    readmodel.clear()
    for batch in batches_in("registry first", events):
        readmodel.apply(batch)

    assert [alerts(readmodel.alert_facts(cut), today, municipalities) for cut in cuts] == kept
    assert kept[0] == alerts(readmodel.facts(), today, municipalities)


def test_a_read_model_made_before_this_alert_finds_at_its_start_what_was_recorded_after_each_dissolution(database_url: str) -> None:
    events, ids = watched_log()
    engine = make_engine(sqlalchemy_url(database_url))
    readmodel = ReadModel(engine)
    readmodel.apply(events)
    municipalities = MunicipalityTable.of_lima().all()
    expected = alerts(readmodel.facts(), date(2023, 6, 1), municipalities)
    for table in (AFTER_DISSOLUTION, AFTER_MERGE, DATED_AHEAD, LOOKED_BACK):  # a read model made before kept none of these
        table.drop(engine)

    started = ReadModel(engine)

    assert alerts(started.alert_facts(), date(2023, 6, 1), municipalities) == expected
    assert ids["dated_ahead"] in {item.event_id for item in expected.recorded_after_dissolution}
    assert ids["backlog"] in {item.event_id for item in expected.recorded_after_merge}


def test_a_read_model_made_before_the_merge_alert_finds_at_its_start_what_was_recorded_after_each_merge(database_url: str) -> None:
    """A read model kept by the version before has every other table of the alerts, and the merges' rows missing."""
    events, ids = watched_log()
    engine = make_engine(sqlalchemy_url(database_url))
    readmodel = ReadModel(engine)
    readmodel.apply(events)
    municipalities = MunicipalityTable.of_lima().all()
    expected = alerts(readmodel.facts(), date(2023, 6, 1), municipalities)
    merges = [f.event_id for f in readmodel.facts(types={"OSVMerged"})]
    AFTER_MERGE.drop(engine)
    with engine.begin() as connection:
        connection.execute(LOOKED_BACK.delete().where(LOOKED_BACK.c.event_id.in_(merges)))
        connection.execute(LOOKED_BACK.delete().where(LOOKED_BACK.c.event_id.not_in(["*"])).where(LOOKED_BACK.c.event_id.like("*%")))

    started = ReadModel(engine)

    assert alerts(started.alert_facts(), date(2023, 6, 1), municipalities) == expected
    assert ids["backlog"] in {item.event_id for item in expected.recorded_after_merge}


def test_a_read_model_made_before_scorings_were_judged_finds_at_its_start_a_scoring_recorded_after_a_dissolution(
    database_url: str,
) -> None:
    """Funding took an evaluator's scoring after a dissolution, and reporting did not judge scorings (tester 28): a read
    model kept by that version has no row for it. The version that judges them goes through the facts once at its start."""
    events, ids = watched_log()
    engine = make_engine(sqlalchemy_url(database_url))
    ReadModel(engine).apply(events)
    with engine.begin() as connection:  # what the version before kept: nothing of the scoring, no row of the types judged now
        connection.execute(AFTER_DISSOLUTION.delete().where(AFTER_DISSOLUTION.c.event_id == ids["scored"]))
        connection.execute(LOOKED_BACK.delete().where(LOOKED_BACK.c.event_id.not_in(["*"])).where(LOOKED_BACK.c.event_id.like("*%")))
    municipalities = MunicipalityTable.of_lima().all()

    started = ReadModel(engine)

    found = alerts(started.alert_facts(), date(2023, 6, 1), municipalities)
    assert ids["scored"] in {item.event_id for item in found.recorded_after_dissolution}
    assert found == alerts(started.facts(), date(2023, 6, 1), municipalities)


def one_feed_a_batch_behind(events: list[dict[str, Any]], source: str = "registry", size: int = 25) -> list[list[dict[str, Any]]]:
    """The log in recorded order, in batches of ``size``, each of ``source``'s events arriving a batch late: its feed
    behind the others' (each of its events recorded before facts already applied)."""
    ordered = sorted(events, key=lambda e: e["time"])
    batches = [ordered[i : i + size] for i in range(0, len(ordered), size)]
    held: list[dict[str, Any]] = []
    arriving = []
    for batch in batches:
        arriving.append([e for e in batch if not e["source"].endswith(source)] + held)
        held = [e for e in batch if e["source"].endswith(source)]
    return [*arriving, held] if held else arriving


@pytest.mark.parametrize("order", ["recorded order", "one feed a batch behind", "one feed behind, beyond the bound", "services interleaved"])
def test_the_latest_alert_facts_carried_forward_as_facts_arrive_give_the_alerts_every_fact_gives(
    database_url: str, order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard's alerts as of today read the alert facts carried forward from the last read (``latest_alert_facts``),
    not read again in full after each new fact: after every batch, whatever arrives (meetings, mappings, a dissolution
    and the facts dated after it, withdrawals, merges, facts recorded before others already applied), they give the
    alerts all the facts give; and of a log arriving in recorded order, or with one feed a batch behind the others
    (its facts late by less than ``LATE_FOLDED_IN``, widened here: this log's batches span days), the batches with no
    dissolution, merge, withdrawal nor correction (over a third here; over a fifth with registry's feed behind: 12 of
    50 batches since the log pays grants out only as funding would) are carried forward, not read again."""
    events, _ = watched_log()
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)))
    municipalities = MunicipalityTable.of_lima().all()
    today = date(2023, 6, 1)
    if order == "recorded order":
        ordered = sorted(events, key=lambda e: e["time"])
        batches = [ordered[i : i + 25] for i in range(0, len(ordered), 25)]
    elif order.startswith("one feed"):
        batches = one_feed_a_batch_behind(events)
        if order == "one feed a batch behind":
            monkeypatch.setattr("services.reporting.views.alertfacts.LATE_FOLDED_IN", timedelta(days=3650))
    else:
        batches = batches_in(order, events)
    carried = []
    for batch in batches:
        readmodel.apply(batch)
        latest = readmodel.latest_alert_facts()
        assert alerts(latest, today, municipalities) == alerts(readmodel.facts(), today, municipalities)
        assert latest == readmodel.alert_facts()
        carried.append(readmodel._kept_alert_facts.carried)  # type: ignore[union-attr]
    carried_forward = sum(1 for before, after in zip(carried, carried[1:]) if after == before + 1)
    if order == "recorded order":
        assert carried_forward > len(batches) // 3
    elif order == "one feed a batch behind":  # a batch that reads again a dissolution or a merge read already reads in full
        assert carried_forward > len(batches) // 5


def test_a_late_fact_is_folded_into_the_latest_alert_facts_only_within_an_hour_of_the_latest_fact_of_any_type(database_url: str) -> None:
    """``LATE_FOLDED_IN`` counts from the latest fact applied, whatever its type: a RUOS registration recorded an hour and
    a minute before the latest grant has the alert facts read in full, not three hours of facts read since the last
    meeting (the latest alert fact; tester 170 F2); one recorded 59 minutes before it is folded in. Either way the
    alert facts are those of every fact."""
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)))
    osv = "osv-bound"
    mapping = {"osv_id": osv, "name": "Olla común El Límite", "district": "Comas", "zone": "Lima Norte", "mapped_on": "2023-03-01"}
    readmodel.apply([cloudevent("registry", 1, "OSVMapped", osv, START, **mapping, occurred_on="2023-03-01")])
    readmodel.apply([cloudevent("engagement", 1, "FollowUpMeetingHeld", osv, START + timedelta(hours=1), osv_id=osv, meeting_id="m1",
                                held_on="2023-03-02", mode="virtual", attendee_count=3, topics=["other"], action_items=[], occurred_on="2023-03-02")])
    readmodel.latest_alert_facts()
    latest_grant = START + timedelta(hours=4)
    readmodel.apply([cloudevent("funding", 1, "FundGranted", "g1", latest_grant, grant_id="g1", osv_id=osv, amount="900.00", currency="PEN",
                                kind="seed_fund", support="first_time", proposal_id=None, round_id=None, granted_on="2023-03-02",
                                occurred_on="2023-03-02")])
    readmodel.latest_alert_facts()
    carried = readmodel._kept_alert_facts.carried  # type: ignore[union-attr]
    for position, late_by, folded in ((2, timedelta(minutes=59), True), (3, timedelta(hours=1, minutes=1), False)):
        readmodel.apply([cloudevent("registry", position, "RUOSRegistered", osv, latest_grant - late_by, osv_id=osv,
                                    ruos_number=f"RUOS-{position}", registered_on="2023-03-02", board_term_ends_on="2025-03-01",
                                    municipality_id="150110", occurred_on="2023-03-02")])
        assert readmodel.latest_alert_facts() == readmodel.alert_facts()
        kept = readmodel._kept_alert_facts  # type: ignore[union-attr]
        assert kept.carried == (carried + 1 if folded else 0), late_by
        carried = kept.carried


def test_a_replica_already_serving_sees_what_another_replica_found_at_its_start(database_url: str) -> None:
    """A rolling upgrade: the replica of the version before keeps serving while the new version starts on the same read
    model and finds a scoring recorded after a dissolution (see the test above). The new rows move the revision, so
    the replica serving reads its alert facts again instead of answering the ones it kept (tester 170)."""
    events, ids = watched_log()
    engine = make_engine(sqlalchemy_url(database_url))
    ReadModel(engine).apply(events)
    with engine.begin() as connection:  # what the version before kept, as above
        connection.execute(AFTER_DISSOLUTION.delete().where(AFTER_DISSOLUTION.c.event_id == ids["scored"]))
        connection.execute(LOOKED_BACK.delete().where(LOOKED_BACK.c.event_id.not_in(["*"])).where(LOOKED_BACK.c.event_id.like("*%")))
    serving = ReadModel(make_engine(sqlalchemy_url(database_url)))  # its own engine, as another process's
    with engine.begin() as connection:  # it started before the scoring's row went missing: its start found nothing
        connection.execute(AFTER_DISSOLUTION.delete().where(AFTER_DISSOLUTION.c.event_id == ids["scored"]))
        connection.execute(LOOKED_BACK.delete().where(LOOKED_BACK.c.event_id.not_in(["*"])).where(LOOKED_BACK.c.event_id.like("*%")))
    assert ids["scored"] not in {f.event_id for f in serving.latest_alert_facts()}
    revision = serving.revision()

    ReadModel(engine)

    assert serving.revision() > revision
    assert ids["scored"] in {f.event_id for f in serving.latest_alert_facts()}
    assert serving.latest_alert_facts() == serving.alert_facts()
