"""``GET /alerts``: the follow-up alerts as JSON, on the read model in SQLite and PostgreSQL. The read model's alert
facts behind them are ``test_dashboard_alert_facts`` and ``test_dashboard_alerts_carried_forward``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from services.reporting.domain.alerts import alerts
from shared.clock import today_in_lima
from shared.municipalities import MunicipalityTable
from tests.support.clients import application_of
from tests.support.identity import MML_FOCAL_POINT, signed_in_headers
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
