"""What each role's work looks like through the services: the DPO's access log, a partner's feed, an evaluator's
rounds, a focal point's figures, and the browser side (CORS, the docs pages, the dashboard's sign-in).

Real services in this process, the session's real identity provider and the
tokens it issued to the demo accounts. The matrix
(``test_authorization_matrix.py``) proves nobody reaches what they may not;
these stories show the people who may, doing it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from shared.clock import today_in_lima
from tests.support.api import assert_problem, created, look_up, ok
from tests.support.clients import application_of, feed, head, service_client
from tests.support.identity import IssuedTokens

pytestmark = pytest.mark.timeout(180)

SJL, SMP = "San Juan de Lurigancho", "San Martín de Porres"
PERSON = {
    "full_name": "Yusmary Cordero Palacios",
    "document_type": "CE",
    "document_number": "001234567",
    "nationality": "VE",
    "sex": "F",
    "joined_on": "2021-03-01",
    "phone": "+51987654321",
}


@pytest.fixture
def system(tmp_path: Path) -> Iterator[dict[str, TestClient]]:
    with (
        service_client("registry", tmp_path) as registry,
        service_client("funding", tmp_path) as funding,
        service_client("engagement", tmp_path) as engagement,
        service_client("reporting", tmp_path) as reporting,
    ):
        yield {"registry": registry, "funding": funding, "engagement": engagement, "reporting": reporting}


_numbers = count(1)


def an_osv(system: dict[str, TestClient], district: str) -> str:
    """An OSV mapped in registry, and heard of by funding's and engagement's views; each another organisation,
    numbered so that registry does not take it for a possible duplicate of the district's others."""
    registry = system["registry"]
    name = f"OSV N.º {next(_numbers)} de {district}"
    osv = created(registry.post("/osvs", json={"name": name, "district": district, "mapped_on": "2021-02-01"}))
    events = feed(registry)
    application_of(system["funding"]).osvs.apply(events)
    application_of(system["engagement"]).osvs.apply(events)
    return str(osv["id"])


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


# -- retries ------------------------------------------------------------------------------------------------


def test_an_answer_kept_for_an_idempotency_key_is_never_replayed_to_another_caller(system: dict[str, TestClient], tokens: IssuedTokens) -> None:
    registry = system["registry"]
    body = {"name": "OSV", "district": SJL, "mapped_on": "2021-02-01"}
    keyed = {"Idempotency-Key": "a-key-shared-by-accident"}
    first = created(registry.post("/osvs", json=body, headers={**keyed, **tokens.headers("staff")}))
    again = registry.post("/osvs", json=body, headers={**keyed, **tokens.headers("staff")})
    assert again.status_code == 201 and again.json() == first and again.headers["idempotent-replayed"] == "true"
    other = registry.post("/osvs", json=body, headers={**keyed, **tokens.headers("lead")})
    assert_problem(other, 422, "Idempotency-Key", "idempotency_key_reused")
    assert other.json()["same_request"] is True and "another caller for this same request" in other.json()["detail"]
    nobody = registry.post("/osvs", json=body, headers={**keyed, "Authorization": ""})
    assert nobody.status_code == 401


def test_a_key_taken_first_by_another_caller_for_another_request_is_told_from_the_same_request(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """Someone with write rights sends a request of their own under the key the Kobo import will use for a submission
    ("key squatting"). The import got the same 422 as for its own request sent by a colleague, and took the submission
    for recorded: the bogus request won without a word. The answer now says which it is (``same_request``)."""
    registry = system["registry"]
    key = {"Idempotency-Key": "kobo:3f2c8e1a-0b7d-4c55-9d1e-6a4f2b8c9e10:osv_mapping:osv"}
    created(registry.post("/osvs", json={"name": "Bogus", "district": SJL, "mapped_on": "2021-02-01"}, headers={**key, **tokens.headers("lead")}))

    submission = registry.post("/osvs", json={"name": "OSV", "district": SJL, "mapped_on": "2021-02-01"}, headers={**key, **tokens.headers("staff")})

    problem = assert_problem(submission, 422, "Idempotency-Key", "idempotency_key_reused")
    assert problem["same_request"] is False and "used for another request" in problem["detail"]


def test_a_caller_the_route_refuses_gets_its_403_never_the_keys_answer_about_another_callers_request(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """Tester 33 F14: the key was looked up before the route's permission. A partner, an evaluator, an auditor or a focal
    point, sending a Kobo submission's predictable key with a guessed body, got 422 ``same_request: true`` for the right
    guess and ``false`` for a wrong one (a person's name or document confirmed field by field, even after their
    erasure), where without the key the route answers them 403."""
    engagement = system["engagement"]
    osv = an_osv(system, SJL)
    key = {"Idempotency-Key": "kobo:0d8c5f7e-2b1a-4c3d-9e8f-7a6b5c4d3e2f:osv_members:miembros/1"}
    body = {"osv_id": osv, "full_name": "Wilmer José Parra Linares", "document_type": "PTP", "document_number": "002345678",
            "nationality": "VE", "sex": "M", "joined_on": "2021-04-01"}
    member_id = created(engagement.post("/members", json=body, headers={**key, **tokens.headers("staff")}))["id"]

    for role in ("partner-150132", "evaluator", "auditor", "municipal-150132"):
        for guess in (body, {**body, "document_number": "002345679"}):
            answer = engagement.post("/members", json=guess, headers={**key, **tokens.headers(role)})
            assert answer.status_code == 403, (role, answer.text)
            assert "same_request" not in answer.json() and "Idempotency-Key" not in answer.text, (role, answer.text)
    lead = assert_problem(engagement.post("/members", json=body, headers={**key, **tokens.headers("lead")}), 422)
    assert lead["same_request"] is True  # a caller who may send it is told, as before
    # A key that is no key is judged once the caller may send the request too (tester 33c F7: 422 to anyone first).
    assert engagement.post("/members", json=body, headers={"Idempotency-Key": "bad key", "Authorization": ""}).status_code == 401
    assert engagement.post("/members", json=body, headers={"Idempotency-Key": "bad key", **tokens.headers("auditor")}).status_code == 403
    assert_problem(engagement.post("/members", json=body, headers={"Idempotency-Key": "bad key", **tokens.headers("lead")}), 422,
                   "Idempotency-Key", "idempotency_key_format")

    # Once the person is erased, the key's record (which outlives them) no longer compares anyone's guess with it:
    # neither another caller's (same_request) nor the first caller's (its replay, or 409, against a 422 for another
    # body: tester 33c F2, the Kobo webhook resending an edited submission).
    ok(engagement.post(f"/members/{member_id}/erasure", json={"erased_on": "2021-12-01"}, headers=tokens.headers("dpo")))
    assert_the_key_says_the_same_whatever_is_guessed(
        engagement, "/members", key, (body, {**body, "document_number": "002345679"}), ("lead", "staff"), tokens
    )


def assert_the_key_says_the_same_whatever_is_guessed(
    client: TestClient, path: str, key: dict[str, str], guesses: tuple[dict[str, Any], ...], roles: tuple[str, ...], tokens: IssuedTokens
) -> None:
    """A key whose request recorded something since forgotten: one answer to every role, for every guess, naming nothing."""
    answers = []
    for role in roles:
        for guess in guesses:
            answer = client.post(path, json=guess, headers={**key, **tokens.headers(role)})
            problem = assert_problem(answer, 409, "Idempotency-Key", "idempotent_request_completed")
            assert problem.get("forgotten") is True and "same_request" not in problem and "recorded" not in problem, problem
            answers.append(answer.content)
    assert len(set(answers)) == 1, answers


def test_a_key_whose_request_wrote_a_text_since_redacted_confirms_no_guess_of_it_to_anyone(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """Tester 33c F3: a note naming a person, redacted for good, could still be confirmed word by word through its key:
    another writer got ``same_request: true`` for the right words and ``false`` for others, its first sender a 409
    against a 422."""
    registry, engagement = system["registry"], system["engagement"]
    osv = an_osv(system, SJL)
    key = {"Idempotency-Key": "t33c-contact-lost"}
    note = {"since": "2021-06-01", "note": "Presidenta Rosa Quispe, tel. 987111222, se mudó a Ica"}
    created(registry.post(f"/osvs/{osv}/contact-lost", json=note, headers={**key, **tokens.headers("staff")}))
    guesses = (note, {**note, "note": "Presidenta Ana Quispe"})
    before = assert_problem(registry.post(f"/osvs/{osv}/contact-lost", json=guesses[1], headers={**key, **tokens.headers("lead")}), 422)
    assert before["same_request"] is False  # while the words stand, a writer is told, as before
    version = max(e["version"] for e in ok(registry.get(f"/osvs/{osv}/history", headers=tokens.headers("auditor"))))
    ok(registry.post(f"/osvs/{osv}/history/{version}/redaction", headers=tokens.headers("staff")))
    assert_the_key_says_the_same_whatever_is_guessed(registry, f"/osvs/{osv}/contact-lost", key, guesses, ("lead", "staff"), tokens)

    meeting = {"held_on": "2021-05-10", "mode": "in_person", "attendee_member_ids": [], "other_attendees": 3,
               "topics": ["ruos_registration"], "notes": "La señora Carmen Huamán, 999888777, pidió ayuda", "action_items": []}
    meeting_key = {"Idempotency-Key": "t33c-meeting"}
    held = created(engagement.post(f"/osvs/{osv}/meetings", json=meeting, headers={**meeting_key, **tokens.headers("staff")}))
    ok(engagement.post(f"/osvs/{osv}/meetings/{held['meeting_id']}/redaction", headers=tokens.headers("staff")))
    assert_the_key_says_the_same_whatever_is_guessed(
        engagement, f"/osvs/{osv}/meetings", meeting_key, (meeting, {**meeting, "notes": "Otra"}), ("lead", "staff"), tokens
    )


def test_a_focal_point_reusing_a_key_another_caller_used_outside_their_district_gets_the_routes_404(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """Tester 33c F1: a focal point of San Juan de Lurigancho sending the key staff used to register another district's
    OSV in its RUOS got 422 ``same_request: true`` for the right RUOS number and ``false`` for another, where without
    the key the route answers them 404: what another district's OSV was registered with, confirmed guess by guess."""
    registry = system["registry"]
    elsewhere, own = an_osv(system, SMP), an_osv(system, SJL)
    key = {"Idempotency-Key": "t33c-ruos-1"}
    body = {"municipality_id": "150135", "ruos_number": "RUOS-T33C-001", "registered_on": "2021-11-20"}
    created(registry.post(f"/osvs/{elsewhere}/ruos-registration", json=body, headers={**key, **tokens.headers("staff")}))
    for guess in (body, {**body, "ruos_number": "RUOS-T33C-002"}):
        answer = registry.post(f"/osvs/{elsewhere}/ruos-registration", json=guess, headers={**key, **tokens.headers("municipal-150132")})
        assert answer.status_code == 404 and "same_request" not in answer.json() and "Idempotency-Key" not in answer.text, answer.text
    renewal = registry.post(f"/osvs/{elsewhere}/board-renewal", json={"renewed_on": "2021-12-01", "term_ends_on": "2023-12-01"},
                            headers={**key, **tokens.headers("municipal-150132")})
    assert renewal.status_code == 404 and "Idempotency-Key" not in renewal.text, renewal.text
    lead = assert_problem(registry.post(f"/osvs/{elsewhere}/ruos-registration", json=body, headers={**key, **tokens.headers("lead")}), 422)
    assert lead["same_request"] is True  # a caller who reaches that district is told, as before

    # Their own district's record under a key they took: told as anyone is.
    own_key = {"Idempotency-Key": "t33c-ruos-own"}
    own_body = {"municipality_id": "150132", "ruos_number": "RUOS-T33C-003", "registered_on": "2021-11-20"}
    created(registry.post(f"/osvs/{own}/ruos-registration", json=own_body, headers={**own_key, **tokens.headers("staff")}))
    mine = registry.post(f"/osvs/{own}/ruos-registration", json=own_body, headers={**own_key, **tokens.headers("municipal-150132")})
    assert assert_problem(mine, 422, "Idempotency-Key", "idempotency_key_reused")["same_request"] is True


# -- browser front ends -------------------------------------------------------------------------------------


@pytest.mark.settings(cors_allow_origins=["https://front.example.org"])
@pytest.mark.service("registry")
def test_cors_answers_only_the_origins_in_the_allow_list(client: TestClient, tokens: IssuedTokens) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"}
    allowed = client.options("/osvs", headers={"Origin": "https://front.example.org", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://front.example.org"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    refused = client.options("/osvs", headers={"Origin": "https://elsewhere.example.org", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    assert_problem(refused, 400, "Origin", "cors_allowed")  # problem+json, not Starlette's text/plain (tester 160 F13)
    odd = client.options("/osvs", headers={"Origin": "https://front.example.org", "Access-Control-Request-Method": "DELETE",
                                           "Access-Control-Request-Headers": "authorization,x-debug"})
    assert [(e["field"], e["rule"]) for e in assert_problem(odd, 400)["errors"]] == [
        ("Access-Control-Request-Method", "cors_allowed"), ("Access-Control-Request-Headers", "cors_allowed")
    ]
    assert odd.headers["access-control-allow-origin"] == "https://front.example.org"  # the browser reads the refusal
    read = client.get("/osvs", headers={"Origin": "https://front.example.org", **tokens.headers("staff")})
    assert read.headers["access-control-allow-origin"] == "https://front.example.org"
    denied = client.get("/osvs", headers={"Origin": "https://front.example.org", "Authorization": ""})
    assert denied.status_code == 401 and denied.headers["access-control-allow-origin"] == "https://front.example.org"


@pytest.mark.settings(cors_allow_origins=["https://front.example.org"])
@pytest.mark.service("registry")
def test_a_browser_front_end_may_send_if_match_and_read_the_etag_and_the_next_pages_link(client: TestClient, tokens: IssuedTokens) -> None:
    """A staff front end in another origin correcting an OSV: the browser's preflight must allow If-Match, and the
    script may read only the answer headers CORS exposes (ETag for the next change, Link for the next page)."""
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type,if-match,dry-run"}
    allowed = client.options("/osvs/3fa85f64-5717-4562-b3fc-2c963f66afa6/name-correction", headers={"Origin": "https://front.example.org", **preflight})
    assert allowed.status_code == 200, allowed.text
    assert "if-match" in allowed.headers["access-control-allow-headers"].lower()
    read = client.get("/osvs", headers={"Origin": "https://front.example.org", **tokens.headers("staff")})
    exposed = {name.strip().lower() for name in read.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "link", "dry-run"} <= exposed  # and whether an answer was a dry run's (tester 163 F9)
    # a 412 exposes the tag now too, to send the change again on
    staff = {"Origin": "https://front.example.org", **tokens.headers("staff")}
    osv = client.post("/osvs", json={"name": "Olla Común Santa Rosa", "district": "Comas", "mapped_on": "2021-03-15"}, headers=staff)
    assert osv.status_code == 201, osv.text
    stale = client.post(f"/osvs/{osv.json()['id']}/name-correction", json={"name": "Olla Santa Rosa"}, headers={**staff, "If-Match": '"7"'})
    assert stale.status_code == 412 and stale.headers["ETag"] == '"1"', stale.text
    assert "etag" in {name.strip().lower() for name in stale.headers["access-control-expose-headers"].split(",")}


@pytest.mark.parametrize("service", ["registry", "funding", "engagement", "reporting"])
def test_the_docs_pages_load_swagger_ui_and_redoc_from_the_service_itself(tmp_path: Path, service: str) -> None:
    with service_client(service, tmp_path) as client:
        docs = client.get("/docs", headers={"Authorization": ""})
        redoc = client.get("/redoc", headers={"Authorization": ""})
        assets = [client.get(f"/docs/assets/{name}") for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js")]
        redirect = client.get("/docs/oauth2-redirect")
    assert docs.status_code == redoc.status_code == redirect.status_code == 200
    for page in (docs.text, redoc.text):
        assert "cdn.jsdelivr.net" not in page and "fonts.googleapis.com" not in page and "/docs/assets/" in page
    assert '"usePkceWithAuthorizationCodeGrant": true' in docs.text
    assert f'"clientId": "osv-docs-{service}"' in docs.text
    assert [a.status_code for a in assets] == [200, 200, 200]
    assert all(len(a.content) > 100_000 for a in assets)


def test_an_account_without_the_dashboards_permission_is_told_so_on_a_page_with_a_way_to_sign_out(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    """The DPO signed in on a shared municipal computer got a 403 in JSON, in English, with no way to another account (tester 37 F9)."""
    reporting = system["reporting"]
    browser = {"Accept": "text/html,application/xhtml+xml", **tokens.headers("dpo")}
    page = reporting.get("/dashboard?lang=en", headers=browser)
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "indicators:read" in page.text  # the problem's own words: the permission it needs
    assert SIGN_OUT_FORM.format(query="?lang=en", label="Sign out") in page.text and 'id="role-hint"' in page.text
    assert "<h1>This account has no access to the dashboard</h1>" in page.text  # not "this query", which is not at fault
    assert 'id="back-to-dashboard"' not in page.text  # it would lead to the same refusal (tester 37d F8)
    spanish = reporting.get("/dashboard", headers=browser).text
    assert SIGN_OUT_FORM.format(query="", label="Cerrar sesión") in spanish
    # In the page's language (tester 135 F6: the Spanish page said "This needs the permission…")
    assert "El tablero necesita el permiso &#39;indicators:read&#39;" in spanish and "This needs" not in spanish
    api = reporting.get("/dashboard", headers=tokens.headers("dpo"))  # a script: problem+json, as every route answers
    assert api.status_code == 403 and api.headers["content-type"] == "application/problem+json"


def test_the_dashboard_sends_a_browser_without_a_session_to_the_provider_with_pkce(
    system: dict[str, TestClient], identity_provider: Any
) -> None:
    reporting = system["reporting"]
    first = reporting.get("/dashboard?lang=en", headers={"Authorization": ""}, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/dashboard/sign-in?")
    sign_in = reporting.get(first.headers["location"], headers={"Authorization": ""}, follow_redirects=False)
    assert sign_in.status_code == 303
    target = urlsplit(sign_in.headers["location"])
    discovery = httpx.get(identity_provider.discovery_url).json()
    assert f"{target.scheme}://{target.netloc}{target.path}" == discovery["authorization_endpoint"]
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert (query["client_id"], query["code_challenge_method"], query["response_type"]) == ("osv-dashboard", "S256", "code")
    assert query["redirect_uri"].endswith("/dashboard/callback") and query["code_challenge"] and query["state"]
    cookie = sign_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    # A callback that was not started here, or whose state does not match, opens no session.
    forged = reporting.get("/dashboard/callback", params={"code": "x", "state": "not-it"}, headers={"Authorization": ""}, follow_redirects=False)
    assert forged.status_code == 401 and "set-cookie" not in {k.lower() for k in forged.headers}
    # A browser coming back refused by the provider, or too late, reads a page with a way to try again, not JSON (tester 37d F7).
    html = {"Authorization": "", "Accept": "text/html,application/xhtml+xml"}
    denied = reporting.get("/dashboard/callback", params={"error": "access_denied", "state": "abc"}, headers=html, follow_redirects=False)
    assert denied.status_code == 401 and denied.headers["content-type"].startswith("text/html")
    assert "No se pudo entrar al tablero" in denied.text and '<a id="sign-in-again" href="/dashboard">' in denied.text
    assert "access_denied" in denied.text
    # A bearer token works as well as a session, for scripts.
    assert reporting.get("/dashboard").status_code == 200


SIGN_OUT_FORM = (
    '<form class="sign-out" method="post" action="/dashboard/sign-out{query}"><button id="sign-out" type="submit">{label}</button></form>'
)
"""The pages' sign-out control: a button posting to the sign-out (a link another site could have followed)."""


def onward(page: str) -> str:
    """Where the page answering a sign-out sends the browser on (its ``<meta http-equiv="refresh">`` and its link)."""
    refresh = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', page)
    link = re.search(r'<a id="continue-to-provider" href="([^"]+)">', page)
    assert refresh and link and refresh[1] == link[1], page
    return html.unescape(refresh[1])


def forgotten_cookies(answer: httpx.Response) -> list[tuple[str, str]]:
    """The cookies an answer forgets, as (name, path)."""
    forgotten = [cookie for cookie in answer.headers.get_list("set-cookie") if "max-age=0" in cookie.lower()]
    return sorted((cookie.split("=")[0], cookie.lower().split("path=")[1].split(";")[0]) for cookie in forgotten)


def signed_in_with_an_id_token(reporting: TestClient) -> None:
    reporting.cookies.set("osv_dashboard_session", "an-access-token", path="/")
    reporting.cookies.set("osv_dashboard_id_token", "the-sessions-id-token", path="/dashboard")


def test_signing_out_forgets_the_dashboards_session_and_sends_the_browser_to_end_the_providers_own(
    system: dict[str, TestClient], identity_provider: Any
) -> None:
    reporting = system["reporting"]
    signed_in_with_an_id_token(reporting)
    out = reporting.post("/dashboard/sign-out", headers={"Authorization": "", "Sec-Fetch-Site": "same-origin"}, follow_redirects=False)

    # A page that goes on to the provider, not a 303 there: the dashboard's form-action 'self' holds for the redirects
    # after a form's submission, and Chromium blocks one to another origin.
    assert out.status_code == 200 and out.headers["content-type"].startswith("text/html")
    target = urlsplit(onward(out.text))
    assert f"{target.scheme}://{target.netloc}{target.path}" == httpx.get(identity_provider.discovery_url).json()["end_session_endpoint"]
    assert {k: v[0] for k, v in parse_qs(target.query).items()} == {
        "client_id": "osv-dashboard",
        "post_logout_redirect_uri": "http://testserver/dashboard/signed-out",
        "id_token_hint": "the-sessions-id-token",
    }
    assert forgotten_cookies(out) == [
        ("osv_dashboard_id_token", "/dashboard"),
        ("osv_dashboard_session", "/"),  # as an earlier version set it, for the whole host
        ("osv_dashboard_session", "/dashboard"),
    ]
    assert "form-action 'self'" in out.headers["content-security-policy"] and "frame-ancestors 'none'" in out.headers["content-security-policy"]


def test_another_sites_page_cannot_sign_the_dashboard_out(system: dict[str, TestClient], tokens: IssuedTokens) -> None:
    """A link, an image or a form on any page could sign a programme officer out while the sign-out was a GET. Now a
    POST another origin's page sent is refused, naming the header that says where it came from, and the session stays:
    the SameSite=Lax cookie alone would not do, as a page on another port of the same host is the same site."""
    reporting = system["reporting"]
    signed_in_with_an_id_token(reporting)

    # Opening the address (a link followed, an image, an old bookmark) shows a button and signs no one out.
    asked = reporting.get("/dashboard/sign-out", params={"lang": "en"}, headers={"Authorization": ""}, follow_redirects=False)
    assert asked.status_code == 200 and '<html lang="en">' in asked.text
    assert "set-cookie" not in asked.headers and "provider" not in asked.text
    assert SIGN_OUT_FORM.format(query="?lang=en", label="Sign out") in asked.text
    assert '<a id="back-to-dashboard" href="/dashboard?lang=en">Back to the dashboard</a>' in asked.text
    assert SIGN_OUT_FORM.format(query="", label="Cerrar sesión") in reporting.get("/dashboard/sign-out", headers={"Authorization": ""}).text

    # A form another site's page posted, or another service's on the same host, or a page hiding its origin.
    for header, value in (
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Site", "same-site"),
        ("Origin", "https://elsewhere.example.org"),
        ("Origin", "http://testserver:8001"),
        ("Origin", "null"),
    ):
        refused = reporting.post("/dashboard/sign-out", headers={"Authorization": "", header: value}, follow_redirects=False)
        assert assert_problem(refused, 403, header, "same_origin")["detail"].startswith(f"{header} is '{value}'")
        assert "set-cookie" not in refused.headers, (header, value)
    assert reporting.cookies.get("osv_dashboard_session") == "an-access-token"

    # The page the provider sends the browser back to says it is signed out, and forgets nothing: the POST did. A link
    # or an image on any page leads a browser there too (tester 144 F1).
    landing = reporting.get("/dashboard/signed-out", params={"state": "en"}, headers={"Sec-Fetch-Site": "cross-site", "Authorization": ""})
    assert landing.status_code == 200 and 'id="signed-out"' in landing.text
    assert "set-cookie" not in landing.headers
    assert reporting.cookies.get("osv_dashboard_session") == "an-access-token"

    # The dashboard's own form: the browser says so by either header. Its pages let it name their origin: under the
    # no-referrer every other answer has, Chromium's Origin is "null", the only header a browser that sends no
    # Sec-Fetch-Site (plain HTTP to an address other than loopback) would give.
    refused_account = reporting.get("/dashboard", headers={"Accept": "text/html", **tokens.headers("dpo")})
    for page in (reporting.get("/dashboard"), asked, refused_account):
        assert 'id="sign-out"' in page.text and page.headers["referrer-policy"] == "same-origin", page.url
    assert reporting.get("/dashboard/signed-out").headers["referrer-policy"] == "no-referrer"
    for header, value in (("Sec-Fetch-Site", "same-origin"), ("Origin", "http://testserver")):
        signed_in_with_an_id_token(reporting)
        out = reporting.post("/dashboard/sign-out", headers={"Authorization": "", header: value}, follow_redirects=False)
        assert out.status_code == 200 and ("osv_dashboard_session", "/dashboard") in forgotten_cookies(out), (header, value)


def test_signing_out_of_a_session_without_its_id_token_says_the_providers_may_be_open_with_a_link_to_end_it(
    system: dict[str, TestClient], identity_provider: Any
) -> None:
    """A session opened before the dashboard kept the ID token (or a second sign-out): without the hint the provider
    would ask whether to log out, staying the default, and the next person would be signed in (tester 24b)."""
    reporting = system["reporting"]
    reporting.cookies.set("osv_dashboard_session", "an-access-token", path="/")
    out = reporting.post("/dashboard/sign-out", headers={"Authorization": ""}, follow_redirects=False)

    assert out.status_code == 200
    assert 'id="signed-out"' in out.text and 'id="provider-session-open"' in out.text
    end_session = httpx.get(identity_provider.discovery_url).json()["end_session_endpoint"]
    assert f'id="end-provider-session" href="{end_session}?client_id=osv-dashboard&amp;post_logout_redirect_uri=' in out.text
    assert any(cookie.startswith("osv_dashboard_session=") and "max-age=0" in cookie.lower() for cookie in out.headers.get_list("set-cookie"))


def test_the_signed_out_pages_are_in_the_language_the_dashboard_was_read_in(system: dict[str, TestClient], identity_provider: Any) -> None:
    """The dashboard is bilingual (``?lang=``); signing out of its English page must not drop the person into Spanish."""
    reporting = system["reporting"]
    page = reporting.get("/dashboard?lang=en").text
    assert SIGN_OUT_FORM.format(query="?lang=en", label="Sign out") in page  # its sign-out form carries the page's language
    assert SIGN_OUT_FORM.format(query="", label="Cerrar sesión") in reporting.get("/dashboard").text

    # With the session's ID token: off to the provider, the language going as the logout's state, handed back to the page.
    signed_in_with_an_id_token(reporting)
    out = reporting.post("/dashboard/sign-out", params={"lang": "en"}, headers={"Authorization": ""}, follow_redirects=False)
    assert out.status_code == 200 and '<html lang="en">' in out.text and "Continue" in out.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(onward(out.text)).query).items()}
    assert (query["post_logout_redirect_uri"], query["state"], query["ui_locales"]) == ("http://testserver/dashboard/signed-out", "en", "en")
    back = reporting.get("/dashboard/signed-out", params={"state": "en"}, headers={"Authorization": ""})
    assert '<html lang="en">' in back.text and "Signed out." in back.text and "Sesión" not in back.text
    assert '<a href="/dashboard?lang=en">Sign in again</a>' in back.text
    spanish = reporting.get("/dashboard/signed-out", headers={"Authorization": ""})
    assert '<html lang="es">' in spanish.text and '<a href="/dashboard">Entrar de nuevo</a>' in spanish.text

    # Without it: the page itself, saying the provider's session may be open, in English, its link keeping the language.
    reporting.cookies.clear()
    reporting.cookies.set("osv_dashboard_session", "an-access-token", path="/")
    out = reporting.post("/dashboard/sign-out", params={"lang": "en"}, headers={"Authorization": ""}, follow_redirects=False)
    assert out.status_code == 200 and '<html lang="en">' in out.text
    assert "The identity provider's session may still be open" in out.text and "End the provider's session too" in out.text
    assert "&amp;state=en" in out.text and "Sesión" not in out.text
    assert reporting.post("/dashboard/sign-out", params={"lang": "fr"}, headers={"Authorization": ""}).status_code == 422
    assert reporting.get("/dashboard/sign-out", params={"lang": "fr"}, headers={"Authorization": ""}).status_code == 422


def test_signing_out_while_the_provider_cannot_be_reached_still_closes_the_session_and_says_the_providers_may_be_open(
    tmp_path: Path,
) -> None:
    from shared.auth import AuthSettings

    unreachable = AuthSettings(issuer="http://127.0.0.1:1/realms/osv", http_timeout_seconds=1)
    with service_client("reporting", tmp_path, settings={"auth": unreachable}) as reporting:
        reporting.cookies.set("osv_dashboard_session", "an-access-token", path="/")
        out = reporting.post("/dashboard/sign-out", headers={"Authorization": ""}, follow_redirects=False)

    assert out.status_code == 200
    assert 'id="signed-out"' in out.text and 'id="provider-session-open"' in out.text
    assert any(cookie.startswith("osv_dashboard_session=") and "max-age=0" in cookie.lower() for cookie in out.headers.get_list("set-cookie"))


def test_the_kobo_webhooks_docs_pages_are_served_from_its_own_assets_too() -> None:
    from services.imports.api import create_app as imports_app

    with TestClient(imports_app()) as client:
        docs, redoc = client.get("/docs"), client.get("/redoc")
        asset = client.get("/docs/assets/redoc.standalone.js")
    assert docs.status_code == redoc.status_code == asset.status_code == 200
    assert "cdn.jsdelivr.net" not in docs.text + redoc.text


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
