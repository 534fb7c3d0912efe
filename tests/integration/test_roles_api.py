"""What each role's work looks like through the services: the DPO's access log, a partner's feed, an evaluator's
rounds, a focal point's figures, and staff's words withheld from those who may not read them.

Real services in this process, the session's real identity provider and the
tokens it issued to the demo accounts. The matrix
(``test_authorization_matrix.py``) proves nobody reaches what they may not;
these stories show the people who may, doing it. Retries across callers are
``test_roles_retries.py``'s; the browser side, ``test_roles_browser.py``'s.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from shared.clock import today_in_lima
from tests.support.api import assert_problem, created, look_up, ok
from tests.support.clients import application_of, feed, head, service_client
from tests.support.identity import IssuedTokens
from tests.support.roles import PERSON, SJL, SMP, an_osv

pytestmark = pytest.mark.timeout(180)


# -- the data protection officer ------------------------------------------------------------------------


def test_every_read_of_plain_personal_data_is_logged_with_who_and_why_and_the_dpo_lists_it(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement = system["engagement"]
    osv_id = an_osv(system, SJL)
    member = created(engagement.post("/members", json={**PERSON, "osv_id": osv_id}, headers=tokens.headers("staff")))
    published = head(engagement)

    # Staff read the person for a stated purpose, look them up by document, and list the OSV's members.
    ok(engagement.get(f"/members/{member['id']}", params={"purpose": "contact"}, headers=tokens.headers("staff")))
    found = ok(look_up(engagement, "CE", "001234567", headers=tokens.headers("lead")))
    assert found["full_name"] == PERSON["full_name"]
    listed = ok(engagement.get(f"/osvs/{osv_id}/members", params={"purpose": "follow_up"}, headers=tokens.headers("staff")))
    assert [m["full_name"] for m in listed] == [PERSON["full_name"]]
    # The person belongs to a second OSV too: the log says which OSV's list showed them (it said null, tester 286 F7).
    other = an_osv(system, SJL)
    created(engagement.post(f"/members/{member['id']}/memberships", json={"osv_id": other, "joined_on": "2021-06-01"}, headers=tokens.headers("staff")))
    ok(engagement.get(f"/osvs/{other}/members", params={"purpose": "contact"}, headers=tokens.headers("staff")))
    # A masked read shows nothing personal, so there is nothing to log.
    masked = ok(engagement.get(f"/members/{member['id']}", headers=tokens.headers("auditor")))
    assert (masked["full_name"], masked["phone"]) == ("[masked]", None)

    log = ok(engagement.get(f"/members/{member['id']}/access-log", headers=tokens.headers("dpo")))
    assert [(a["reader"], a["purpose"], a["disclosure"], a["osv_id"]) for a in log] == [
        ("staff", "contact", "member", None),
        ("lead", "duplicate_check", "lookup", None),
        ("staff", "follow_up", "osv_members", osv_id),
        ("staff", "contact", "osv_members", other),
    ]
    assert all(a["read_at"] for a in log)
    # The log is engagement's own: nothing of it is published.
    assert head(engagement) > published
    assert "PersonalDataRead" not in {e["type"] for e in feed(engagement)}
    assert "staff" not in str(feed(engagement))


def test_only_the_dpo_reads_the_access_log_and_a_read_without_a_purpose_is_refused_unlogged(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement = system["engagement"]
    member = created(engagement.post("/members", json={**PERSON, "osv_id": an_osv(system, SJL)}, headers=tokens.headers("staff")))
    assert_problem(engagement.get(f"/members/{member['id']}", headers=tokens.headers("staff")), 422, "purpose", "purpose_required")
    assert_problem(engagement.get(f"/members/{member['id']}", params={"purpose": "curiosity"}, headers=tokens.headers("staff")), 422, "purpose")
    for role in ("staff", "lead", "auditor", "municipal-150132"):
        refused = assert_problem(engagement.get(f"/members/{member['id']}/access-log", headers=tokens.headers(role)), 403)
        assert refused["permission"] == "access-log:read"
    assert ok(engagement.get(f"/members/{member['id']}/access-log", headers=tokens.headers("dpo"))) == []


def test_the_dpo_finds_a_person_by_document_masked_and_erases_them(system: dict[str, TestClient], tokens: IssuedTokens) -> None:
    engagement = system["engagement"]
    member = created(engagement.post("/members", json={**PERSON, "osv_id": an_osv(system, SJL)}, headers=tokens.headers("staff")))
    found = ok(look_up(engagement, "CE", "001234567", "data_subject_request", headers=tokens.headers("dpo")))
    assert (found["id"], found["full_name"], found["document_number"]) == (member["id"], "[masked]", None)
    erased = ok(engagement.post(f"/members/{member['id']}/erasure", json={"erased_on": "2021-12-01"}, headers=tokens.headers("dpo")))
    assert erased["personal_data"] == "erased"
    assert_problem(engagement.post(f"/members/{member['id']}/erasure", json={"erased_on": "2021-12-01"}, headers=tokens.headers("staff")), 403)

    # Staff reading them since disclose nothing of theirs: the access log the DPO answers a request from says no read
    # happened (it listed two, tester 37b F4).
    staff = tokens.headers("staff")
    shown = ok(engagement.get(f"/members/{member['id']}", params={"purpose": "ruos_application"}, headers=staff))
    assert shown["full_name"] == "[erased]"
    listed = ok(engagement.get(f"/osvs/{shown['memberships'][0]['osv_id']}/members", params={"purpose": "follow_up"}, headers=staff))
    assert all(m["full_name"] == "[erased]" for m in listed if m["member_id"] == member["id"])
    log = ok(engagement.get(f"/members/{member['id']}/access-log", headers=tokens.headers("dpo")))
    assert [(a["reader"], a["disclosure"]) for a in log] == [("dpo", "lookup")]  # the lookup before the erasure, and no other


def test_the_dpo_checks_whom_a_request_is_about_by_their_record_and_their_osvs_members_masked_before_erasing(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    # Tester 30, L4: a person without a document cannot be looked up; the DPO erased (for good) an id staff handed over,
    # unable to read even the masked record (GET /members/{id} and GET /osvs/{id}/members were 403).
    engagement, dpo = system["engagement"], tokens.headers("dpo")
    osv_id = an_osv(system, SJL)
    member = created(engagement.post("/members", json={**PERSON, "osv_id": osv_id, "document_type": "NINGUNO", "document_number": None},
                                     headers=tokens.headers("staff")))
    record = ok(engagement.get(f"/members/{member['id']}", headers=dpo))
    assert (record["full_name"], record["document_type"], record["phone"]) == ("[masked]", None, None)
    assert [m["osv_id"] for m in record["memberships"]] == [osv_id]
    listed = ok(engagement.get(f"/osvs/{osv_id}/members", headers=dpo))
    assert [(m["member_id"], m["full_name"]) for m in listed] == [(member["id"], "[masked]")]
    assert ok(engagement.get(f"/members/{member['id']}/access-log", headers=dpo)) == []  # a masked read logs nothing
    assert_problem(engagement.get(f"/members/{member['id']}", params={"purpose": "contact"}, headers=tokens.headers("evaluator")), 403)


@pytest.mark.parametrize("role", ["auditor", "municipal-150132", "evaluator", "partner-150132"])
def test_looking_a_person_up_answers_the_same_whether_or_not_they_exist_to_roles_that_may_not(
    system: dict[str, TestClient], tokens: IssuedTokens, role: str
) -> None:
    engagement = system["engagement"]
    created(engagement.post("/members", json={**PERSON, "osv_id": an_osv(system, SJL)}, headers=tokens.headers("staff")))
    answers = [
        look_up(engagement, "CE", number, "contact", headers=tokens.headers(role))
        for number in ("001234567", "009999999")
    ]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].json() == answers[1].json()


# -- a partner's feed -------------------------------------------------------------------------------------


def test_a_partner_reads_its_municipalitys_events_from_every_feed_and_no_other(system: dict[str, TestClient], tokens: IssuedTokens) -> None:
    registry, funding, engagement = system["registry"], system["funding"], system["engagement"]
    own, other = an_osv(system, SJL), an_osv(system, SMP)
    created(funding.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}))
    for osv_id in (own, other):
        created(funding.post("/grants", json={"osv_id": osv_id, "amount": "1000.00", "currency": "PEN", "granted_on": "2021-04-01", "kind": "seed_fund"}))
        created(engagement.post("/members", json={**PERSON, "document_number": None, "document_type": "NINGUNO", "osv_id": osv_id}))

    partner = tokens.headers("partner-150132")
    seen = {name: ok(client.get("/events", headers=partner)) for name, client in (("registry", registry), ("funding", funding), ("engagement", engagement))}
    assert [(e["type"], e["data"]["osv_id"]) for e in seen["registry"]["events"]] == [("OSVMapped", own)]
    assert [(e["type"], e["data"]["osv_id"]) for e in seen["funding"]["events"]] == [("FundGranted", own)]  # no phase, no other OSV
    assert {e["data"]["osv_id"] for e in seen["engagement"]["events"]} == {own}
    assert [e["type"] for e in seen["engagement"]["events"]].count("MemberJoined") == 1
    # The page moves over what it leaves out, so the partner reads on from where the service is.
    assert seen["funding"]["next_after"] == ok(funding.get("/events", headers=tokens.headers("auditor")))["next_after"]
    assert len(ok(funding.get("/events", headers=tokens.headers("osv-services")))["events"]) == 3


def test_a_partners_page_stops_before_an_event_whose_osv_the_service_does_not_know_yet(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """Which municipality an event belongs to is the rule that names its NATS subject; while it cannot be
    told (funding's view of registry's OSVs has not caught up), the relay waits, and so does a partner's page:
    stepping over the event would lose it for good."""
    funding = system["funding"]
    own = an_osv(system, SJL)
    created(funding.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}))
    created(funding.post("/grants", json={"osv_id": own, "amount": "1000.00", "currency": "PEN", "granted_on": "2021-04-01", "kind": "seed_fund"}))
    view = application_of(funding).osvs
    with view.engine.begin() as connection:  # as while the view is rebuilt: the OSV's mapping not applied yet
        connection.execute(text("UPDATE known_osvs SET mapped_on = NULL"))

    whole = ok(funding.get("/events", headers=tokens.headers("auditor")))["events"]
    assert [e["type"] for e in whole] == ["PhaseOpened", "FundGranted"] and "municipality" not in whole[1]
    phase, grant = (e["position"] for e in whole)
    partner = tokens.headers("partner-150132")
    page = ok(funding.get("/events", headers=partner))
    assert page["events"] == [] and phase <= page["next_after"] < grant  # over the phase (no municipality's), not the grant

    with view.engine.begin() as connection:
        connection.execute(text("UPDATE known_osvs SET mapped_on = '2021-02-01'"))
    page = ok(funding.get("/events", params={"after": page["next_after"]}, headers=partner))
    assert [(e["type"], e["municipality"]) for e in page["events"]] == [("FundGranted", "150132")]


def test_a_partner_reads_on_past_empty_pages_until_next_after_reaches_head_as_the_openapi_says(
    tmp_path: Path, tokens: IssuedTokens
) -> None:
    """Tester 285 F2: the OpenAPI said `next_after` equals `after` when the page is empty, so a partner that stopped at
    an empty page stopped early: its pages cover every municipality's positions and move on over those they leave out."""
    with service_client("registry", tmp_path) as registry:
        for n in range(3):
            created(registry.post("/osvs", json={"name": f"OSV N.º {n} de {SMP}", "district": SMP, "mapped_on": "2021-02-01"}))
        own = created(registry.post("/osvs", json={"name": f"OSV N.º 1 de {SJL}", "district": SJL, "mapped_on": "2021-02-01"}))
        partner = tokens.headers("partner-150132")
        pages: list[dict[str, Any]] = []
        after = 0
        while not pages or after < pages[-1]["head"]:  # the rule the OpenAPI gives
            pages.append(ok(registry.get("/events", params={"after": after, "limit": 2}, headers=partner)))
            assert pages[-1]["next_after"] > after, pages  # moved on: no page of this log covers nothing
            after = pages[-1]["next_after"]
        assert pages[0]["events"] == [] and pages[0]["next_after"] == 2  # nothing of its own, and not the end
        assert [(e["type"], e["data"]["osv_id"]) for p in pages for e in p["events"]] == [("OSVMapped", own["id"])]
        assert after == head(registry)
        end = ok(registry.get("/events", params={"after": after}, headers=partner))
        assert (end["events"], end["next_after"]) == ([], after)  # the log ends there: the page covered nothing

        page = registry.get("/openapi.json").json()["components"]["schemas"]["EventPage"]
        assert "equals `after` when the page is empty" not in page["properties"]["next_after"]["description"]
        assert "an empty page is not the end" in page["properties"]["next_after"]["description"]
        assert "until `next_after` is at least `head`, whatever a page holds" in " ".join(page["description"].split())


# -- evaluators ---------------------------------------------------------------------------------------------


RUBRIC = [
    {"code": "organisational_capacity", "name": "Capacidad organizativa", "weight": "1", "min_score": 0, "max_score": 10},
    {"code": "administrative_capacity", "name": "Capacidad administrativa", "weight": "1", "min_score": 0, "max_score": 10},
]
MARKS = [{"criterion": "organisational_capacity", "score": 8}, {"criterion": "administrative_capacity", "score": 6}]


def a_round_with_a_proposal(system: dict[str, TestClient], lead: dict[str, str], phase_id: str, name: str) -> tuple[str, str]:
    funding = system["funding"]
    body = {
        "phase_id": phase_id, "name": name, "budget": "5000.00", "currency": "PEN", "opens_on": "2021-04-01",
        "closes_on": "2021-05-01", "eligibility": "mapped", "criteria": RUBRIC,
    }
    round_id = created(funding.post("/rounds", json=body, headers=lead))["id"]
    proposal = {
        "osv_id": an_osv(system, SJL), "title": "Mural", "summary": "Un mural", "requested_amount": "1000.00",
        "planned_direct_beneficiaries": 10, "planned_indirect_beneficiaries": 20, "submitted_on": "2021-04-10",
    }
    return round_id, created(funding.post(f"/rounds/{round_id}/proposals", json=proposal, headers=lead))["id"]


def test_a_lead_assigns_an_evaluator_a_round_whose_proposals_it_then_reads_and_scores_under_its_code(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    funding, lead, evaluator = system["funding"], tokens.headers("lead"), tokens.headers("evaluator")
    phase = created(funding.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}, headers=lead))
    assigned_round, assigned = a_round_with_a_proposal(system, lead, phase["id"], "Ronda asignada")
    other_round, other = a_round_with_a_proposal(system, lead, phase["id"], "Otra ronda")

    # Before the lead assigns it, the round does not exist for the evaluator.
    assert_problem(funding.get(f"/proposals/{assigned}", headers=evaluator), 404)
    assert ok(funding.get("/rounds", headers=evaluator)) == []
    assigned_as = {"evaluator": "EV-7", "subject": "evaluator", "assigned_on": "2021-04-01"}
    assert_problem(funding.post(f"/rounds/{assigned_round}/evaluators", json=assigned_as, headers=tokens.headers("staff")), 403)
    round_ = created(funding.post(f"/rounds/{assigned_round}/evaluators", json=assigned_as, headers=lead))
    assert round_["evaluators"] == [{"evaluator": "EV-7", "subject": "evaluator"}]
    again = {**assigned_as, "subject": "staff"}
    assert_problem(funding.post(f"/rounds/{assigned_round}/evaluators", json=again, headers=lead), 409, "evaluator", "evaluator_code_once")

    assert [r["id"] for r in ok(funding.get("/rounds", headers=evaluator))] == [assigned_round]
    assert [p["id"] for p in ok(funding.get(f"/rounds/{assigned_round}/proposals", headers=evaluator))] == [assigned]
    scored = created(funding.post(f"/proposals/{assigned}/scores", json={"scores": MARKS, "scored_on": "2021-04-20"}, headers=evaluator))
    assert [s["evaluator"] for s in scored["scorings"]] == ["EV-7"]
    wrong_code = {"evaluator": "EV-1", "scores": MARKS, "scored_on": "2021-04-20"}
    assert_problem(funding.post(f"/proposals/{assigned}/scores", json=wrong_code, headers=evaluator), 422, "evaluator", "evaluator_assigned")

    # The other round stays out of its sight and reach; the ranking is for the programme, not the evaluator.
    for path in (f"/rounds/{other_round}", f"/rounds/{other_round}/proposals", f"/proposals/{other}"):
        assert_problem(funding.get(path, headers=evaluator), 404)
    assert_problem(funding.post(f"/proposals/{other}/scores", json={"scores": MARKS, "scored_on": "2021-04-20"}, headers=evaluator), 404)
    assert assert_problem(funding.get(f"/rounds/{assigned_round}/ranking", headers=evaluator), 403)["permission"] == "programme:read"
    # Staff never score: scoring is the evaluators'.
    assert_problem(funding.post(f"/proposals/{assigned}/scores", json={"scores": MARKS, "scored_on": "2021-04-20"}, headers=tokens.headers("staff")), 403)


# -- a focal point's figures ------------------------------------------------------------------------------


def test_a_focal_points_indicators_are_its_municipalitys_alone(system: dict[str, TestClient], tokens: IssuedTokens) -> None:
    registry, reporting = system["registry"], system["reporting"]
    for district in (SJL, SJL, SMP):
        an_osv(system, district)
    readmodel = application_of(reporting).readmodel
    readmodel.apply(feed(registry))
    programme = ok(reporting.get("/indicators", headers=tokens.headers("staff")))
    focal_point = ok(reporting.get("/indicators", params={"by": "district"}, headers=tokens.headers("municipal-150132")))
    assert programme["total"]["osvs_identified"] == 3
    assert focal_point["total"]["osvs_identified"] == 2
    assert list(focal_point["breakdown"]["groups"]) == [SJL]
    evidence = ok(reporting.get("/indicators/osvs_identified/evidence", headers=tokens.headers("municipal-150132")))
    assert evidence["value"] == 2 and len(evidence["events"]) == 2
    csv = reporting.get("/indicators/export.csv", headers=tokens.headers("municipal-150132")).text
    assert SMP not in csv
    # a forwarded file says whose share it is, never "the whole programme"
    assert "Todo el programa" not in csv and ",Municipalidad Distrital de San Juan de Lurigancho," in csv
    assert "Todo el programa" in reporting.get("/indicators/export.csv", headers=tokens.headers("staff")).text
    alerts = ok(reporting.get("/alerts", headers=tokens.headers("municipal-150132")))
    assert [m["municipality_id"] for m in alerts["municipalities_without_focal_point"]] == ["150132"]


def test_each_focal_point_is_alerted_to_the_board_terms_of_its_own_ruos(system: dict[str, TestClient], tokens: IssuedTokens) -> None:
    """Tester 127 F1: registry lets each focal point renew the boards of its own RUOS alone, but reporting alerted San Juan
    de Lurigancho's to its OSVs registered with the MML too, and the MML's to every district's."""
    registry, reporting = system["registry"], system["reporting"]
    term_ends_on = (today_in_lima() + timedelta(days=30)).isoformat()
    registered_by = {"municipal-150132": an_osv(system, SJL), "municipal-mml": an_osv(system, SJL)}
    for focal_point, osv in registered_by.items():  # each records the registration in its own RUOS, naming none
        registration = {"ruos_number": f"RUOS-{osv[:6]}", "registered_on": "2021-03-01", "board_term_ends_on": term_ends_on}
        created(registry.post(f"/osvs/{osv}/ruos-registration", json=registration, headers=tokens.headers(focal_point)))
    application_of(reporting).readmodel.apply(feed(registry))

    def alerted(name: str) -> dict[str, str]:
        return {b["osv_id"]: b["municipality_id"] for b in ok(reporting.get("/alerts", headers=tokens.headers(name)))["board_terms"]}

    assert alerted("staff") == {registered_by["municipal-150132"]: "150132", registered_by["municipal-mml"]: "mml"}
    assert alerted("municipal-150132") == {registered_by["municipal-150132"]: "150132"}
    assert alerted("municipal-mml") == {registered_by["municipal-mml"]: "mml"}


def test_a_page_of_an_osvs_members_logs_the_reads_of_that_page_only(system: dict[str, TestClient], tokens: IssuedTokens) -> None:
    engagement = system["engagement"]
    osv_id = an_osv(system, SJL)
    first = created(engagement.post("/members", json={**PERSON, "osv_id": osv_id}, headers=tokens.headers("staff")))
    second = created(
        engagement.post(
            "/members", json={**PERSON, "full_name": "Carlos Pérez", "document_number": "007654321", "osv_id": osv_id}, headers=tokens.headers("staff")
        )
    )

    response = engagement.get(f"/osvs/{osv_id}/members", params={"purpose": "follow_up", "limit": 1}, headers=tokens.headers("staff"))
    assert [m["member_id"] for m in ok(response)] == [first["id"]]
    assert 'rel="next"' in response.headers["link"]

    assert len(ok(engagement.get(f"/members/{first['id']}/access-log", headers=tokens.headers("dpo")))) == 1
    assert ok(engagement.get(f"/members/{second['id']}/access-log", headers=tokens.headers("dpo"))) == []


# -- staff's words and migration status: read where personal data is read (break30 M1, M2) ------------------------------

WORDS = "La señora Carmen Ñañez Quispe (DNI 45678912, cel 987654321) contó que está embarazada y sin papeles"
WHO = "Carmen Ñañez Quispe"
SEES_TEXT = ("staff", "lead")
TEXT_WITHHELD = ("municipal-150132", "auditor")


def test_staffs_words_in_follow_up_and_activities_are_withheld_from_focal_points_and_auditors_with_every_fact_kept(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement = system["engagement"]
    osv_id = an_osv(system, SJL)
    staff = tokens.headers("staff")
    meeting = {
        "held_on": "2025-03-10", "mode": "in_person", "other_attendees": 3, "topics": ["ruos_registration"], "notes": WORDS,
        "action_items": [{"description": WORDS, "owner": WHO, "due_on": "2025-04-10"}],
    }
    created(engagement.post(f"/osvs/{osv_id}/meetings", json=meeting, headers=staff))
    assistance = {"given_on": "2025-03-12", "topic": "accounting", "hours": "2.5", "note": WORDS}
    created(engagement.post(f"/osvs/{osv_id}/technical-assistance", json=assistance, headers=staff))
    report = {
        "osv_id": osv_id, "held_on": "2025-02-22", "kind": "mural_painting", "district": SJL,
        "direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": 14}], "description": WORDS,
    }
    activity = created(engagement.post("/activities", json=report, headers=staff))
    ok(engagement.post(f"/activities/{activity['id']}/withdrawal", json={"reason": WORDS}, headers=staff))

    def reads(role: str) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        headers = tokens.headers(role)
        return (
            ok(engagement.get(f"/osvs/{osv_id}/follow-up", headers=headers)),
            ok(engagement.get(f"/activities/{activity['id']}", headers=headers)),
            ok(engagement.get(f"/osvs/{osv_id}/activities", headers=headers)),
        )

    for role in SEES_TEXT:
        follow_up, shown, listed = reads(role)
        assert follow_up["meetings"][0]["notes"] == WORDS
        assert (follow_up["open_actions"][0]["description"], follow_up["open_actions"][0]["owner"]) == (WORDS, WHO)
        assert follow_up["technical_assistance"]["records"][0]["note"] == WORDS
        assert shown["description"] == shown["withdrawal"]["reason"] == listed[0]["description"] == WORDS

    staffs = reads("staff")
    for role in TEXT_WITHHELD:
        follow_up, shown, listed = reads(role)
        assert WHO not in repr((follow_up, shown, listed)) and "45678912" not in repr((follow_up, shown, listed)), role
        meeting_seen = follow_up["meetings"][0]
        assert meeting_seen["notes"] == "[withheld]"
        assert [(a["description"], a["owner"]) for a in meeting_seen["action_items"]] == [("[withheld]", "[withheld]")]
        assert follow_up["technical_assistance"]["records"][0]["note"] == "[withheld]"
        assert (shown["description"], shown["withdrawal"]["reason"], listed[0]["description"]) == ("[withheld]",) * 3
        # Every fact the focal point and the auditor read before stays: dates, topics, attendance, hours, counts.
        staff_follow_up, staff_shown, _ = staffs
        assert {k: v for k, v in meeting_seen.items() if k not in ("notes", "action_items")} == {
            k: v for k, v in staff_follow_up["meetings"][0].items() if k not in ("notes", "action_items")
        }
        assert meeting_seen["attendee_count"] == 3 and meeting_seen["topics"] == ["ruos_registration"]
        assert follow_up["open_actions"][0]["due_on"] == "2025-04-10" and follow_up["last_contact"] == staff_follow_up["last_contact"]
        assert follow_up["technical_assistance"]["total_hours"] == staff_follow_up["technical_assistance"]["total_hours"] == "2.50"
        assert {k: v for k, v in shown.items() if k not in ("description", "withdrawal")} == {
            k: v for k, v in staff_shown.items() if k not in ("description", "withdrawal")
        }
        assert shown["withdrawal"]["withdrawn_on"] == staff_shown["withdrawal"]["withdrawn_on"]
    for role in ("evaluator", "partner-150132", "dpo"):
        assert_problem(engagement.get(f"/osvs/{osv_id}/follow-up", headers=tokens.headers(role)), 403)


def test_an_auditor_reads_an_osvs_history_and_a_proposals_scoring_with_the_staffs_words_withheld(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    registry, funding, lead = system["registry"], system["funding"], tokens.headers("lead")
    osv_id = an_osv(system, SJL)
    created(registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-06-01", "note": WORDS}, headers=tokens.headers("staff")))

    def contact_lost(role: str) -> dict[str, Any]:
        history = ok(registry.get(f"/osvs/{osv_id}/history", headers=tokens.headers(role)))
        return next(e for e in history if e["type"] == "ContactLost")["data"]

    assert contact_lost("staff")["note"] == contact_lost("lead")["note"] == WORDS
    assert contact_lost("auditor") == {**contact_lost("staff"), "note": "[withheld]"}  # the date and the fact stay
    assert_problem(registry.get(f"/osvs/{osv_id}/history", headers=tokens.headers("municipal-150132")), 403)
    # Tester 33 F13: once redacted, the auditor read "[withheld]" as before: the role the history is for could not see
    # that the words were destroyed. "[redacted]" holds no words.
    version = next(e["version"] for e in ok(registry.get(f"/osvs/{osv_id}/history", headers=tokens.headers("staff"))) if e["type"] == "ContactLost")
    ok(registry.post(f"/osvs/{osv_id}/history/{version}/redaction", headers=tokens.headers("staff")))
    assert contact_lost("auditor")["note"] == contact_lost("staff")["note"] == "[redacted]"

    # A proposal's summary: the round's evaluator scores it, so reads it; an auditor audits the scoring, not the words.
    phase = created(funding.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}, headers=lead))
    round_id, proposal_id = a_round_with_a_proposal(system, lead, phase["id"], "Ronda")
    assigned_as = {"evaluator": "EV-7", "subject": "evaluator", "assigned_on": "2021-04-01"}
    created(funding.post(f"/rounds/{round_id}/evaluators", json=assigned_as, headers=lead))
    for role in ("staff", "lead", "evaluator"):
        assert ok(funding.get(f"/proposals/{proposal_id}", headers=tokens.headers(role)))["summary"] == "Un mural", role
        assert [p["summary"] for p in ok(funding.get(f"/rounds/{round_id}/proposals", headers=tokens.headers(role)))] == ["Un mural"]
    audited = ok(funding.get(f"/proposals/{proposal_id}", headers=tokens.headers("auditor")))
    assert audited == {**ok(funding.get(f"/proposals/{proposal_id}", headers=lead)), "summary": "[withheld]"}
    assert [p["summary"] for p in ok(funding.get(f"/rounds/{round_id}/proposals", headers=tokens.headers("auditor")))] == ["[withheld]"]


def test_a_members_document_type_is_read_only_by_a_logged_read_of_personal_data_and_by_nobody_after_the_erasure(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    engagement = system["engagement"]
    osv_id = an_osv(system, SJL)
    asylum_seeker = {**PERSON, "document_type": "SOLICITANTE_REFUGIO", "document_number": "RF123456", "role": "president"}
    member = created(engagement.post("/members", json={**asylum_seeker, "osv_id": osv_id}, headers=tokens.headers("staff")))
    assert member["document_type"] is None  # a command's answer is no logged read

    def member_reads(role: str, **params: str) -> tuple[dict[str, Any], dict[str, Any]]:
        headers = tokens.headers(role)
        listed = ok(engagement.get(f"/osvs/{osv_id}/members", params=params, headers=headers))
        return ok(engagement.get(f"/members/{member['id']}", params=params, headers=headers)), listed[0]

    for role in ("staff", "lead"):
        assert [read["document_type"] for read in member_reads(role, purpose="ruos_application")] == ["SOLICITANTE_REFUGIO"] * 2
    for role in ("municipal-150132", "auditor"):
        shown, listed = member_reads(role)
        assert "SOLICITANTE_REFUGIO" not in repr((shown, listed)), role
        assert shown["document_type"] is None and listed["document_type"] is None
        # Nationality, sex, age band, role and dates stay as they were (the partners' feed carries them too).
        assert (shown["nationality"], shown["sex"], shown["age_band"]) == ("VE", "F", "unknown")
        assert (listed["role"], listed["joined_on"]) == ("president", "2021-03-01")

    erasure = ok(engagement.post(f"/members/{member['id']}/erasure", json={"erased_on": "2021-05-01"}, headers=tokens.headers("dpo")))
    assert erasure["document_type"] is None
    for role, params in (("staff", {"purpose": "data_subject_request"}), ("lead", {"purpose": "contact"}), ("municipal-150132", {}), ("auditor", {})):
        shown, listed = member_reads(role, **params)
        assert (shown["full_name"], shown["document_type"], listed["document_type"]) == ("[erased]", None, None), role
