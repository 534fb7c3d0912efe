"""Funding rounds over HTTP: open a round, take proposals, score them, rank, decide, grant.

Funding hears of OSVs from registry; here registry is stood in for by
hand-built CloudEvents fed to funding's real OSV view handler (``apply``), as
its NATS consumer would. The store-dependent stories (one proposal per OSV,
the round's budget under concurrent approvals) run on SQLite and PostgreSQL;
the error cases on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError
from fastapi.testclient import TestClient

from tests.support.api import Upstream, assert_problem, created
from tests.support.clients import application_of, at_once, feed, head
from tests.support.identity import SECOND_EVALUATOR, TESTER, SignedInAs

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("funding")]

SUMMARY = "La señora Yusmary coordina con el vecino Ramón el mural del parque"
UNKNOWN = "00000000-0000-4000-8000-000000000000"

RUBRIC = [
    {"code": "organisational_capacity", "name": "Capacidad organizativa", "weight": "0.3", "min_score": 0, "max_score": 10},
    {"code": "administrative_capacity", "name": "Capacidad administrativa", "weight": "0.2", "min_score": 0, "max_score": 10},
    {"code": "impact", "name": "Impacto en la integración", "weight": "0.5", "min_score": 1, "max_score": 5},
]


def registry(client: TestClient) -> Upstream:
    return Upstream(application_of(client), dissolved_on="2021-04-01")


def a_phase(client: TestClient) -> str:
    return created(client.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}))["id"]


def round_body(phase_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "phase_id": phase_id,
        "name": "Fondos semilla 2021",
        "budget": "10000.00",
        "currency": "PEN",
        "opens_on": "2021-05-01",
        "closes_on": "2021-05-31",
        "eligibility": "mapped",
        "criteria": RUBRIC,
    }
    body.update(overrides)
    return body


EVALUATORS = {"EV-1": TESTER, "EV-2": "evaluator", "EV-3": SECOND_EVALUATOR}
"""A round's evaluator codes and the three people who hold them: one code per person per round."""


def a_round(client: TestClient, committee: Sequence[str] = tuple(EVALUATORS), **overrides: Any) -> dict[str, Any]:
    """An open round whose evaluator codes a lead assigned: EV-1 to the tester (the test clients' caller), EV-2 and EV-3 to
    two other people (:data:`EVALUATORS`), who score through :func:`as_holder`; ``committee``, those of them assigned
    (a decision waits for every one's score)."""
    phase_id = next((p["id"] for p in client.get("/phases").json()), None) or a_phase(client)
    round_ = created(client.post("/rounds", json=round_body(phase_id, **overrides)))
    for code in committee:
        assigned = {"evaluator": code, "subject": EVALUATORS[code], "assigned_on": round_["opens_on"]}
        round_ = created(client.post(f"/rounds/{round_['id']}/evaluators", json=assigned))
    return round_


def proposal_body(osv_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "osv_id": osv_id,
        "title": "Mural de la integración",
        "summary": SUMMARY,
        "requested_amount": "4000.00",
        "planned_direct_beneficiaries": 40,
        "planned_indirect_beneficiaries": 300,
        "planned_outputs": [{"kind": "mural", "count": 1}, {"kind": "workshop", "count": 3}],
        "submitted_on": "2021-05-10",
    }
    body.update(overrides)
    return body


def a_proposal(client: TestClient, round_id: str, osv_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    osv_id = osv_id or registry(client).osv_mapped()
    return created(client.post(f"/rounds/{round_id}/proposals", json=proposal_body(osv_id, **overrides)))


def scoring(evaluator: str, organisational: int, administrative: int, impact: int, scored_on: str = "2021-06-05") -> dict[str, Any]:
    return {
        "evaluator": evaluator,
        "scores": [
            {"criterion": "organisational_capacity", "score": organisational},
            {"criterion": "administrative_capacity", "score": administrative},
            {"criterion": "impact", "score": impact},
        ],
        "scored_on": scored_on,
    }


def as_holder(client: TestClient, evaluator: str) -> Any:
    """``client`` signed in as the person who holds the evaluator code ``evaluator`` in :func:`a_round`'s rounds."""
    holder = EVALUATORS[evaluator]
    return client if holder == TESTER else SignedInAs(client, holder)


def score(client: TestClient, proposal_id: str, evaluator: str, *marks: int) -> dict[str, Any]:
    """``evaluator``'s scores, sent by the person who holds that code."""
    return created(as_holder(client, evaluator).post(f"/proposals/{proposal_id}/scores", json=scoring(evaluator, *marks)))


def approve(client: TestClient, proposal_id: str, amount: str) -> Any:
    return client.post(f"/proposals/{proposal_id}/approval", json={"amount": amount, "approved_on": "2021-06-10"})


def no_floats(value: Any) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(no_floats(v) for v in value.values())
    if isinstance(value, list):
        return all(no_floats(v) for v in value)
    return True


# The whole round, end to end --------------------------------------------------------


def test_a_round_from_call_to_grants(client: TestClient) -> None:
    upstream = registry(client)
    comas, breña, ate = upstream.osv_mapped(), upstream.osv_mapped(), upstream.osv_mapped()

    # The programme opens a 10,000.00 PEN round whose rubric weighs capacity 0.3 + 0.2 and impact 0.5, with two evaluators.
    round_ = a_round(client, committee=("EV-1", "EV-2"))
    assert (round_["budget"], round_["remaining"], round_["approved_total"], round_["proposals"]) == ("10000.00", "10000.00", "0.00", 0)
    assert [c["weight"] for c in round_["criteria"]] == ["0.3", "0.2", "0.5"]
    rid = round_["id"]

    # Three OSVs submit.
    a = a_proposal(client, rid, comas, title="Mural en Comas", requested_amount="5000.00", submitted_on="2021-05-03")
    b = a_proposal(client, rid, breña, title="Feria en Breña", requested_amount="4500", submitted_on="2021-05-04")
    c = a_proposal(client, rid, ate, title="Taller en Ate", requested_amount="3000.00", submitted_on="2021-05-05")
    assert (a["status"], a["summary"], b["requested_amount"]) == ("submitted", SUMMARY, "4500.00")
    assert [p["id"] for p in client.get(f"/rounds/{rid}/proposals").json()] == [a["id"], b["id"], c["id"]]
    assert client.get(f"/rounds/{rid}").json()["proposals"] == 3

    # Two evaluators score all three. By hand (normalised: org x/10·100, admin x/10·100, impact (x−1)/4·100):
    #   A  EV-1 (8, 6, 4): 0.3·80 + 0.2·60 + 0.5·75  = 24 + 12 + 37.5 = 73.50
    #      EV-2 (9, 8, 5): 0.3·90 + 0.2·80 + 0.5·100 = 27 + 16 + 50   = 93.00   mean 83.25
    #   B  EV-1 (6, 5, 3): 18 + 10 + 25   = 53.00
    #      EV-2 (7, 7, 4): 21 + 14 + 37.5 = 72.50                              mean 62.75
    #   C  EV-1 (9, 9, 4): 27 + 18 + 37.5 = 82.50
    #      EV-2 (10, 8, 5): 30 + 16 + 50  = 96.00                              mean 89.25
    scored = score(client, a["id"], "EV-1", 8, 6, 4)
    assert scored["scorings"][0]["weighted_total"] == "73.50"
    score(client, a["id"], "EV-2", 9, 8, 5)
    score(client, b["id"], "EV-1", 6, 5, 3)
    score(client, b["id"], "EV-2", 7, 7, 4)
    score(client, c["id"], "EV-1", 9, 9, 4)
    assert score(client, c["id"], "EV-2", 10, 8, 5)["mean_weighted_total"] is None  # EV-2's holder scores blind
    assert client.get(f"/proposals/{c['id']}").json()["mean_weighted_total"] == "89.25"  # the lead reads the panel's

    ranking = client.get(f"/rounds/{rid}/ranking").json()
    assert [(s["place"], s["proposal_id"], s["mean_weighted_total"]) for s in ranking["proposals"]] == [
        (1, c["id"], "89.25"),
        (2, a["id"], "83.25"),
        (3, b["id"], "62.75"),
    ]
    assert ranking["proposals"][0]["criterion_means"] == {"organisational_capacity": "9.50", "administrative_capacity": "8.50", "impact": "4.50"}
    assert {s["evaluator_count"] for s in ranking["proposals"]} == {2}
    assert [s["tied"] for s in ranking["proposals"]] == [False, False, False]

    # Approvals go down the ranking until the budget runs out; the third asks more than remains.
    assert created(approve(client, c["id"], "3000.00"))["approval"] == {"amount": "3000.00", "approved_on": "2021-06-10"}
    created(approve(client, a["id"], "5000.00"))
    refused = assert_problem(approve(client, b["id"], "4500.00"), 409, "amount", "within_round_budget")
    assert "PEN 2000.00 of the round's budget remains" in refused["detail"]
    assert created(approve(client, b["id"], "2000.00"))["status"] == "approved"
    after = client.get(f"/rounds/{rid}").json()
    assert (after["approved_total"], after["remaining"]) == ("10000.00", "0.00")

    # Two approved proposals become grants; A's grants stop at its approved 5,000.00.
    grant_c = created(client.post(f"/proposals/{c['id']}/grants", json={"kind": "seed_fund", "amount": "3000.00", "granted_on": "2021-07-01"}))
    assert (grant_c["osv_id"], grant_c["amount"], grant_c["currency"], grant_c["kind"]) == (ate, "3000.00", "PEN", "seed_fund")
    created(client.post(f"/proposals/{a['id']}/grants", json={"kind": "seed_fund", "amount": "4000.00", "granted_on": "2021-07-01"}))
    over = client.post(f"/proposals/{a['id']}/grants", json={"kind": "goods", "amount": "1500.00", "granted_on": "2021-07-02"})
    assert "PEN 1000.00 of the approved amount remains" in assert_problem(over, 409, "amount", "within_approved_amount")["detail"]
    granted_a = client.get(f"/proposals/{a['id']}").json()
    assert (granted_a["granted_total"], len(granted_a["grants"])) == ("4000.00", 1)
    assert client.get(f"/grants/{granted_a['grants'][0]['grant_id']}").json()["osv_id"] == comas

    # What partners see: the public events in order, money as strings, no summary, no bookkeeping.
    events = feed(client)
    assert [e["type"] for e in events] == [
        "PhaseOpened", "RoundOpened",
        "ProposalSubmitted", "ProposalSubmitted", "ProposalSubmitted",
        *["ProposalScored"] * 6,
        "ProposalApproved", "ProposalApproved", "ProposalApproved",
        "FundGranted", "FundGranted",
    ]  # fmt: skip
    assert all(no_floats(e["data"]) for e in events)
    assert SUMMARY not in str(events)
    granted = [e["data"] for e in events if e["type"] == "FundGranted"]
    assert {(g["proposal_id"], g["round_id"]) for g in granted} <= {(a["id"], rid), (b["id"], rid), (c["id"], rid)}
    assert all(g["proposal_id"] is not None for g in granted)
    opened = events[1]["data"]
    assert (opened["budget"], opened["eligibility"], opened["criteria"][2]) == (
        "10000.00",
        "mapped",
        {"code": "impact", "name": "Impacto en la integración", "weight": "0.5", "min_score": 1, "max_score": 5},
    )
    submitted = events[2]["data"]
    assert submitted == {
        "occurred_on": "2021-05-03",
        "proposal_id": a["id"],
        "round_id": rid,
        "osv_id": comas,
        "title": "Mural en Comas",
        "requested_amount": "5000.00",
        "currency": "PEN",
        "planned_direct_beneficiaries": 40,
        "planned_indirect_beneficiaries": 300,
        "planned_outputs": [{"kind": "mural", "count": 1}, {"kind": "workshop", "count": 3}],
        "submitted_on": "2021-05-03",
    }
    first_score = events[5]["data"]
    assert (first_score["evaluator"], first_score["weighted_total"], first_score["osv_id"]) == ("EV-1", "73.50", comas)
    assert events[11]["data"] == {
        "occurred_on": "2021-06-10",
        "proposal_id": c["id"],
        "round_id": rid,
        "osv_id": ate,
        "amount": "3000.00",
        "currency": "PEN",
        "approved_on": "2021-06-10",
    }

    # Closing the round stops new proposals but not the record of what it decided.
    closed = created(client.post(f"/rounds/{rid}/closing", json={"closed_on": "2021-06-30"}))
    assert closed["closed_on"] == "2021-06-30"
    assert feed(client)[-1]["data"] == {"occurred_on": "2021-06-30", "round_id": rid, "closed_on": "2021-06-30"}
    assert [r["id"] for r in client.get("/rounds").json()] == [rid]


def test_proposals_of_one_mean_are_marked_tied_their_places_in_submission_order(client: TestClient) -> None:
    """Two proposals scored alike took places 1 and 2 with nothing to say that submission order, not the scores, decided
    it (tester 177 F3)."""
    rid = a_round(client, committee=("EV-1",))["id"]
    first, second, other, unscored = (a_proposal(client, rid) for _ in range(4))
    for proposal in (first, second):
        score(client, proposal["id"], "EV-1", 8, 6, 4)
    score(client, other["id"], "EV-1", 9, 9, 5)

    ranking = client.get(f"/rounds/{rid}/ranking").json()["proposals"]

    assert [(s["place"], s["proposal_id"], s["tied"]) for s in ranking] == [
        (1, other["id"], False), (2, first["id"], True), (3, second["id"], True), (4, unscored["id"], False),
    ]


def test_a_rejection_is_published_with_its_reason_code_and_the_ranking_lists_unscored_proposals_last(client: TestClient) -> None:
    rid = a_round(client, committee=("EV-1",))["id"]
    unscored = a_proposal(client, rid)
    low = a_proposal(client, rid)
    score(client, low["id"], "EV-1", 1, 1, 1)  # 3 + 2 + 0 = 5.00
    rejected = created(client.post(f"/proposals/{low['id']}/rejection", json={"reason": "low_score", "rejected_on": "2021-06-10"}))
    assert (rejected["status"], rejected["rejection"]) == ("rejected", {"reason": "low_score", "rejected_on": "2021-06-10"})
    ranking = client.get(f"/rounds/{rid}/ranking").json()["proposals"]
    assert [(s["proposal_id"], s["status"], s["mean_weighted_total"], s["evaluator_count"]) for s in ranking] == [
        (low["id"], "rejected", "5.00", 1),
        (unscored["id"], "submitted", None, 0),
    ]
    assert feed(client)[-1]["type"] == "ProposalRejected"
    assert feed(client)[-1]["data"]["reason"] == "low_score"


def test_a_ruos_only_round_takes_a_registered_osv(client: TestClient) -> None:
    upstream = registry(client)
    osv_id = upstream.osv_mapped()
    upstream.ruos_registered(osv_id, "2021-03-01")
    rid = a_round(client, eligibility="ruos_registered")["id"]
    assert a_proposal(client, rid, osv_id)["osv_id"] == osv_id


# The store keeps the rules under concurrency (SQLite and PostgreSQL) ---------------------


def test_an_osv_submitting_the_same_round_at_once_gets_one_proposal(client_on: TestClient) -> None:
    client = client_on
    rid = a_round(client)["id"]
    osv_id = registry(client).osv_mapped()
    responses = at_once(4, lambda i: client.post(f"/rounds/{rid}/proposals", json=proposal_body(osv_id, title=f"Idea {i}")))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "osv_id", "one_proposal_per_osv")
    assert client.get(f"/rounds/{rid}").json()["proposals"] == 1
    assert [e["type"] for e in feed(client)].count("ProposalSubmitted") == 1


def test_a_phases_a_rounds_and_a_criterions_names_keep_one_space_where_a_spreadsheet_typed_several(client: TestClient) -> None:
    phase = created(client.post("/phases", json={"code": "F1", "name": "Fase\u00a0 1 ", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}))
    criteria = [dict(RUBRIC[0], name="Capacidad   organizativa"), *RUBRIC[1:]]

    round_ = created(client.post("/rounds", json=round_body(phase["id"], name="Fondos  semilla\t2021", criteria=criteria)))

    assert phase["name"] == "Fase 1"  # the dashboard's and the IATI export's "Fase 1", not a second phase name
    assert round_["name"] == "Fondos semilla 2021"
    assert round_["criteria"][0]["name"] == "Capacidad organizativa"
    assert client.get(f"/rounds/{round_['id']}").json()["name"] == "Fondos semilla 2021"


def test_a_round_whose_phase_id_names_another_kind_of_record_is_refused_naming_the_phase(client: TestClient) -> None:
    osv_id = registry(client).osv_mapped()
    grant_id = created(
        client.post("/grants", json={"osv_id": osv_id, "amount": "500.00", "currency": "PEN", "granted_on": "2021-06-01", "kind": "seed_fund"})
    )["id"]

    assert_problem(client.post("/rounds", json=round_body(grant_id)), 422, "phase_id", "phase_exists")
    assert client.get(f"/phases/{grant_id}").status_code == 404


def test_overlapping_phases_opened_at_once_give_one_phase(client_on: TestClient) -> None:
    client = client_on
    bodies = [
        {"code": f"P{i}", "name": f"Fase {i}", "starts_on": f"2030-0{i + 1}-01", "ends_on": "2030-12-31"} for i in range(4)
    ]
    responses = at_once(4, lambda i: client.post("/phases", json=bodies[i]))
    assert sorted(r.status_code for r in responses) == [201, 422, 422, 422]
    for response in responses:
        if response.status_code == 422:
            assert_problem(response, 422, "starts_on", "phases_do_not_overlap")
    assert len([p for p in client.get("/phases").json() if p["code"].startswith("P")]) == 1


def test_approvals_at_once_never_exceed_the_round_budget(client_on: TestClient) -> None:
    client = client_on
    rid = a_round(client, committee=("EV-1",))["id"]
    ids = [a_proposal(client, rid)["id"] for _ in range(4)]
    for proposal_id in ids:
        score(client, proposal_id, "EV-1", 8, 6, 4)
    responses = at_once(4, lambda i: approve(client, ids[i], "4000.00"))
    assert sorted(r.status_code for r in responses) == [201, 201, 409, 409]
    for response in responses:
        if response.status_code == 409:
            problem = assert_problem(response, 409, "amount", "within_round_budget")
            assert "PEN 2000.00 of the round's budget remains" in problem["detail"]
    assert client.get(f"/rounds/{rid}").json()["approved_total"] == "8000.00"
    assert [e["type"] for e in feed(client)].count("ProposalApproved") == 2


def test_evaluators_scoring_one_proposal_at_once_are_all_recorded(client_on: TestClient) -> None:
    client = client_on
    proposal = a_proposal(client, a_round(client)["id"])
    responses = at_once(3, lambda i: as_holder(client, f"EV-{i + 1}").post(f"/proposals/{proposal['id']}/scores", json=scoring(f"EV-{i + 1}", 8, 6, 4)))
    assert [r.status_code for r in responses] == [201, 201, 201]
    scorings = client.get(f"/proposals/{proposal['id']}").json()["scorings"]
    assert sorted(s["evaluator"] for s in scorings) == ["EV-1", "EV-2", "EV-3"]


def test_an_approval_saved_on_a_stale_round_is_refused_whole(client_on: TestClient) -> None:
    """The budget check rides on the round's version: two approvals checked against the same round cannot both be saved."""
    client = client_on
    funding = application_of(client)
    rid = a_round(client, committee=("EV-1",))["id"]
    first, second = (UUID(a_proposal(client, rid, requested_amount="6000.00")["id"]) for _ in range(2))
    for proposal_id in (first, second):
        score(client, str(proposal_id), "EV-1", 8, 6, 4)

    # Both approvals are checked against the same copy of the round: each fits on its own.
    copies = [funding.get_round(UUID(rid)), funding.get_round(UUID(rid))]
    proposals = [funding.get_proposal(first), funding.get_proposal(second)]
    for round_copy, proposal in zip(copies, proposals, strict=True):
        proposal.approve(round_copy, Decimal("6000.00"), proposals[0].submitted_on)

    funding.save(copies[0], proposals[0])
    with pytest.raises(IntegrityError):
        funding.save(copies[1], proposals[1])

    assert funding.get_proposal(second).status == "submitted"  # nothing of the losing save was written
    assert funding.get_round(UUID(rid)).approved_total == Decimal("6000.00")


# Errors: rounds -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"criteria": RUBRIC[1:]}, "criteria", "rubric_includes_capacity"),
        ({"criteria": [RUBRIC[0], RUBRIC[2]]}, "criteria", "rubric_includes_capacity"),
        ({"criteria": [*RUBRIC, RUBRIC[2]]}, "criteria.3.code", "unique_criterion_codes"),
        ({"criteria": [*RUBRIC, {**RUBRIC[2], "code": "reach", "min_score": 3, "max_score": 3}]}, "criteria.3.max_score", "max_above_min"),
        # A bound is named by the project's rule, never pydantic's type (value_error, greater_than, less_than_equal: tester, rules30).
        ({"criteria": [{**RUBRIC[0], "weight": 0.3}, *RUBRIC[1:]]}, "criteria.0.weight", "decimal_text"),
        ({"criteria": [{**RUBRIC[0], "weight": "0"}, *RUBRIC[1:]]}, "criteria.0.weight", "greater_than_0"),
        ({"criteria": [{**RUBRIC[0], "weight": "-1"}, *RUBRIC[1:]]}, "criteria.0.weight", "greater_than_0"),
        ({"criteria": [{**RUBRIC[0], "weight": "0.00001"}, *RUBRIC[1:]]}, "criteria.0.weight", "at_most_4_decimal_places"),
        ({"criteria": [{**RUBRIC[0], "max_score": 1001}, *RUBRIC[1:]]}, "criteria.0.max_score", "at_most_1000"),
        ({"criteria": [{**RUBRIC[0], "min_score": -1}, *RUBRIC[1:]]}, "criteria.0.min_score", "not_negative"),
        ({"criteria": [{**RUBRIC[0], "code": "Capacidad Organizativa"}, *RUBRIC[1:]]}, "criteria.0.code", None),
        ({"budget": 10000}, "budget", "decimal_text"),
        ({"budget": "0.00"}, "budget", "greater_than_0"),
        ({"budget": "100.001"}, "budget", "whole_cents"),
        ({"budget": "1000000000000.00"}, "budget", "at_most_12_whole_digits"),
        ({"currency": "EUR"}, "currency", None),
        ({"eligibility": "anyone"}, "eligibility", None),
        ({"opens_on": "2020-12-31"}, "opens_on", "within_phase_dates"),
        ({"closes_on": "2022-01-01"}, "closes_on", "within_phase_dates"),
        ({"closes_on": "2021-04-30"}, "closes_on", "not_before_opens_on"),
        ({"phase_id": UNKNOWN}, "phase_id", "phase_exists"),
        ({"secret_note": "x"}, "secret_note", None),
    ],
)
def test_a_bad_round_is_422_naming_the_field_and_writes_nothing(client: TestClient, change: dict[str, Any], field: str, rule: str | None) -> None:
    phase_id = a_phase(client)
    before = head(client)
    assert_problem(client.post("/rounds", json={**round_body(phase_id), **change}), 422, field, rule)
    assert head(client) == before


def several(response: Any) -> set[tuple[str, str]]:
    """The (field, rule) of every mistake a 422 names."""
    return {(e["field"], e["rule"]) for e in assert_problem(response, 422)["errors"]}


def test_a_round_form_with_several_mistakes_gets_them_all_in_one_answer(client: TestClient) -> None:
    """A lead's round with a rubric without the capacity criteria, or with a criterion twice, and a currency funding does
    not keep or no name: one refusal names both (the rubric's took a round of its own after the others)."""
    phase_id = a_phase(client)
    before = head(client)
    body = round_body(phase_id, criteria=RUBRIC[2:], currency="EUR")
    assert several(client.post("/rounds", json=body)) == {("criteria", "rubric_includes_capacity"), ("currency", "enum")}
    assert several(client.post("/rounds", json=round_body(phase_id, criteria=[*RUBRIC, RUBRIC[2]], name=""))) == {
        ("criteria.3.code", "unique_criterion_codes"), ("name", "string_too_short"),
    }
    assert head(client) == before


def test_every_criterion_of_a_rubric_is_checked_in_the_one_answer(client: TestClient) -> None:
    """A rubric with a code twice, a range that does not go up and a weight that is not a number: each criterion's mistake
    in one answer (the repeat and the range waited for the weight to be fixed, then came one a round). The criterion whose
    weight is unreadable still has its code: it is one of the capacity criteria, so none is missing."""
    phase_id = a_phase(client)
    before = head(client)
    criteria = [
        {**RUBRIC[0], "weight": "0,3"},
        RUBRIC[1],
        {**RUBRIC[2], "min_score": 5, "max_score": 5},
        {**RUBRIC[2], "code": "administrative_capacity"},
    ]
    assert several(client.post("/rounds", json=round_body(phase_id, criteria=criteria))) == {
        ("criteria.0.weight", "decimal_text"), ("criteria.2.max_score", "max_above_min"), ("criteria.3.code", "unique_criterion_codes"),
    }
    criteria[0]["weight"] = "0.3"
    criteria[0]["code"] = "reach"
    assert several(client.post("/rounds", json=round_body(phase_id, criteria=criteria))) == {
        ("criteria", "rubric_includes_capacity"), ("criteria.2.max_score", "max_above_min"), ("criteria.3.code", "unique_criterion_codes"),
    }
    assert head(client) == before


@pytest.mark.parametrize(
    ("criteria", "mistakes"),
    [
        (  # The row whose weight pydantic refuses repeats a code: the repeat comes with the weight.
            [*RUBRIC, {**RUBRIC[2], "weight": "30%"}],
            {("criteria.3.weight", "decimal_text"), ("criteria.3.code", "unique_criterion_codes")},
        ),
        (  # A weight of 0 or over 1,000 points with the repeat is still named by the project's rule (tester, rules30).
            [*RUBRIC, {**RUBRIC[2], "weight": "0", "max_score": 1001}],
            {("criteria.3.weight", "greater_than_0"), ("criteria.3.max_score", "at_most_1000"), ("criteria.3.code", "unique_criterion_codes")},
        ),
        (  # The same, the refused row first: the readable row repeats its code.
            [{**RUBRIC[2], "weight": "30%"}, *RUBRIC],
            {("criteria.0.weight", "decimal_text"), ("criteria.3.code", "unique_criterion_codes")},
        ),
        (  # Its code read, the capacity rule no longer waits for it: administrative_capacity is missing.
            [{**RUBRIC[0], "weight": "30%"}, RUBRIC[2]],
            {("criteria.0.weight", "decimal_text"), ("criteria", "rubric_includes_capacity")},
        ),
        (  # Its range read too, though its weight was not.
            [*RUBRIC, {**RUBRIC[2], "code": "reach", "weight": "30%", "min_score": 5, "max_score": 5}],
            {("criteria.3.weight", "decimal_text"), ("criteria.3.max_score", "max_above_min")},
        ),
        (  # A row whose code is refused is no capacity criterion as sent: the missing one is named beside it (tester 29b).
            [{**RUBRIC[0], "code": "Capacidad Organizativa", "weight": "30%"}, RUBRIC[1], RUBRIC[2], RUBRIC[2]],
            {("criteria.0.code", "string_pattern_mismatch"), ("criteria.0.weight", "decimal_text"), ("criteria.3.code", "unique_criterion_codes"),
             ("criteria", "rubric_includes_capacity")},
        ),
    ],
)
def test_a_criterion_pydantic_refuses_still_counts_for_the_rubrics_own_rules(
    client: TestClient, criteria: list[dict[str, Any]], mistakes: set[tuple[str, str]]
) -> None:
    """A lead types a weight as "30%": the answer named the weight only, the rubric's own rules (a code twice, the
    capacity criteria, the criterion's range) came a round later, once the weight was fixed (tester, small29). The row is
    read as far as it can be: one answer names its own mistake and every rule of the rubric that can be judged."""
    phase_id = a_phase(client)
    before = head(client)
    assert several(client.post("/rounds", json=round_body(phase_id, criteria=criteria))) == mistakes
    assert head(client) == before


def test_a_code_of_the_wrong_shape_is_told_in_words_not_as_a_regular_expression(client: TestClient) -> None:
    """Tester 37c F9: "String should match pattern '^[a-z][a-z0-9_]*$'" is no help to a lead typing a criterion's code."""
    phase_id = a_phase(client)
    criteria = [{**RUBRIC[0], "code": "Capacidad Organizativa"}, *RUBRIC[1:]]
    answer = assert_problem(client.post("/rounds", json=round_body(phase_id, criteria=criteria)), 422, "criteria.0.code", "string_pattern_mismatch")
    [said] = [e["message"] for e in answer["errors"] if e["field"] == "criteria.0.code"]
    assert said.startswith("must be a lowercase letter, then lowercase letters, digits and '_' only") and "^" not in said
    assert "^" not in answer["detail"]


def test_a_rubric_without_either_capacity_criterion_gets_one_mistake_naming_both(client: TestClient) -> None:
    """Both capacity criteria missing were two mistakes with the same field and rule (tester 29b): one, naming each."""
    phase_id = a_phase(client)
    answer = assert_problem(client.post("/rounds", json=round_body(phase_id, criteria=RUBRIC[2:])), 422)
    capacity = [e for e in answer["errors"] if e["rule"] == "rubric_includes_capacity"]
    assert len(capacity) == 1 and capacity[0]["field"] == "criteria"
    assert "'organisational_capacity' and 'administrative_capacity'" in capacity[0]["message"]


def test_a_planned_output_pydantic_refuses_still_counts_for_repeated_kinds(client: TestClient) -> None:
    """A planned output whose count is not a number repeats another's kind: both in one answer."""
    rid = a_round(client)["id"]
    osv_id = registry(client).osv_mapped()
    before = head(client)
    outputs = [{"kind": "fair", "count": 1}, {"kind": "fair", "count": "two"}]
    assert several(client.post(f"/rounds/{rid}/proposals", json=proposal_body(osv_id, planned_outputs=outputs))) == {
        ("planned_outputs.1.count", "int_type"), ("planned_outputs.1.kind", "unique_kinds"),
    }
    assert head(client) == before


def test_an_unknown_round_is_not_found(client: TestClient) -> None:
    assert_problem(client.get(f"/rounds/{UNKNOWN}"), 404)
    assert_problem(client.get(f"/rounds/{UNKNOWN}/proposals"), 404)
    assert_problem(client.get(f"/rounds/{UNKNOWN}/ranking"), 404)
    assert_problem(client.post(f"/rounds/{UNKNOWN}/closing", json={"closed_on": "2021-06-01"}), 404)
    assert_problem(client.post(f"/rounds/{UNKNOWN}/proposals", json=proposal_body(registry(client).osv_mapped())), 404)


def test_a_round_closes_once_and_not_before_it_opened(client: TestClient) -> None:
    rid = a_round(client)["id"]
    assert_problem(client.post(f"/rounds/{rid}/closing", json={"closed_on": "2021-04-30"}), 422, "closed_on", "not_before_opens_on")
    created(client.post(f"/rounds/{rid}/closing", json={"closed_on": "2021-05-31"}))
    assert_problem(client.post(f"/rounds/{rid}/closing", json={"closed_on": "2021-06-01"}), 409, "closed_on", "round_open")
    assert client.get(f"/rounds/{rid}").json()["closed_on"] == "2021-05-31"


# Errors: proposals -------------------------------------------------------------------------


def test_a_proposal_from_an_osv_funding_has_not_seen_is_422(client: TestClient) -> None:
    rid = a_round(client)["id"]
    assert_problem(client.post(f"/rounds/{rid}/proposals", json=proposal_body(UNKNOWN)), 422, "osv_id", "osv_mapped_in_registry")


def test_a_proposal_from_a_dissolved_osv_is_409(client: TestClient) -> None:
    upstream = registry(client)
    osv_id = upstream.osv_mapped()
    upstream.osv_dissolved(osv_id)
    rid = a_round(client)["id"]
    assert_problem(client.post(f"/rounds/{rid}/proposals", json=proposal_body(osv_id)), 409, "osv_id", "osv_not_dissolved")


def test_a_ruos_only_round_refuses_an_unregistered_osv_saying_why(client: TestClient) -> None:
    upstream = registry(client)
    unregistered, late = upstream.osv_mapped(), upstream.osv_mapped()
    upstream.ruos_registered(late, "2021-05-20")
    rid = a_round(client, eligibility="ruos_registered")["id"]
    before = head(client)
    problem = assert_problem(client.post(f"/rounds/{rid}/proposals", json=proposal_body(unregistered)), 422, "osv_id", "ruos_registered_only")
    assert "not registered in the RUOS" in problem["detail"]
    problem = assert_problem(client.post(f"/rounds/{rid}/proposals", json=proposal_body(late)), 422, "osv_id", "ruos_registered_only")
    assert "2021-05-20" in problem["detail"]
    assert head(client) == before


def test_a_second_proposal_from_the_same_osv_is_409_and_names_the_first(client: TestClient) -> None:
    rid = a_round(client)["id"]
    osv_id = registry(client).osv_mapped()
    first = a_proposal(client, rid, osv_id)
    problem = assert_problem(client.post(f"/rounds/{rid}/proposals", json=proposal_body(osv_id, title="Otra")), 409, "osv_id", "one_proposal_per_osv")
    assert first["id"] in problem["detail"]
    other_round = a_round(client, name="Segunda convocatoria")["id"]
    assert a_proposal(client, other_round, osv_id)["id"] != first["id"]


@pytest.mark.parametrize("submitted_on", ["2021-04-30", "2021-06-01"])
def test_a_proposal_outside_the_round_dates_is_422(client: TestClient, submitted_on: str) -> None:
    rid = a_round(client)["id"]
    osv_id = registry(client).osv_mapped()
    assert_problem(client.post(f"/rounds/{rid}/proposals", json=proposal_body(osv_id, submitted_on=submitted_on)), 422, "submitted_on", "within_round_dates")


def test_a_closed_round_takes_no_proposal_409(client: TestClient) -> None:
    rid = a_round(client)["id"]
    created(client.post(f"/rounds/{rid}/closing", json={"closed_on": "2021-05-15"}))
    osv_id = registry(client).osv_mapped()
    assert_problem(client.post(f"/rounds/{rid}/proposals", json=proposal_body(osv_id, submitted_on="2021-05-12")), 409, "round_id", "round_open")


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"requested_amount": "10000.01"}, "requested_amount", "not_above_round_budget"),
        ({"requested_amount": "0"}, "requested_amount", "greater_than_0"),
        ({"requested_amount": 4000}, "requested_amount", "decimal_text"),
        # 0 or more is one rule with one name in every service, engagement's counts' too (tester, small29).
        ({"planned_direct_beneficiaries": -1}, "planned_direct_beneficiaries", "not_negative"),
        ({"planned_indirect_beneficiaries": -300}, "planned_indirect_beneficiaries", "not_negative"),
        ({"planned_indirect_beneficiaries": 2.5}, "planned_indirect_beneficiaries", None),
        ({"planned_outputs": [{"kind": "statue", "count": 1}]}, "planned_outputs.0.kind", None),
        ({"planned_outputs": [{"kind": "fair", "count": 0}]}, "planned_outputs.0.count", "at_least_1"),
        ({"planned_outputs": [{"kind": "fair", "count": 1}, {"kind": "fair", "count": 2}]}, "planned_outputs.1.kind", "unique_kinds"),
        ({"title": ""}, "title", None),
        ({"summary": ""}, "summary", None),
        ({"submitted_on": "10/05/2021"}, "submitted_on", None),
    ],
)
def test_a_bad_proposal_is_422_naming_the_field_and_writes_nothing(client: TestClient, change: dict[str, Any], field: str, rule: str | None) -> None:
    rid = a_round(client)["id"]
    osv_id = registry(client).osv_mapped()
    before = head(client)
    assert_problem(client.post(f"/rounds/{rid}/proposals", json=proposal_body(osv_id, **change)), 422, field, rule)
    assert head(client) == before
    assert client.get(f"/rounds/{rid}").json()["proposals"] == 0


@pytest.mark.parametrize(
    ("change", "mistakes"),
    [
        (
            {"planned_outputs": [{"kind": "mural", "count": 0}, {"kind": "workshop", "count": 0}], "title": "", "submitted_on": "10/05/2021"},
            {("planned_outputs.0.count", "at_least_1"), ("planned_outputs.1.count", "at_least_1"), ("title", "string_too_short"), ("submitted_on", "iso_8601_date")},
        ),
        (
            {"planned_outputs": [{"kind": "fair", "count": 1}, {"kind": "fair", "count": 2}], "summary": ""},
            {("planned_outputs.1.kind", "unique_kinds"), ("summary", "string_too_short")},
        ),
        (  # A row's kind not on the list and another row's repeat in one answer (tester 27b's L5).
            {"planned_outputs": [{"kind": "fair", "count": 1}, {"kind": "statue", "count": 1}, {"kind": "fair", "count": 2}]},
            {("planned_outputs.1.kind", "enum"), ("planned_outputs.2.kind", "unique_kinds")},
        ),
    ],
)
def test_a_proposal_form_with_several_mistakes_gets_them_all_in_one_answer(
    client: TestClient, change: dict[str, Any], mistakes: set[tuple[str, str]]
) -> None:
    """An OSV's proposal typed in from paper: its planned outputs' counts or repeated kinds come in one answer with the
    other fields' mistakes, not after them."""
    rid = a_round(client)["id"]
    osv_id = registry(client).osv_mapped()
    before = head(client)
    assert several(client.post(f"/rounds/{rid}/proposals", json=proposal_body(osv_id, **change))) == mistakes
    assert head(client) == before


def test_an_unknown_proposal_is_not_found(client: TestClient) -> None:
    assert_problem(client.get(f"/proposals/{UNKNOWN}"), 404)
    assert_problem(client.post(f"/proposals/{UNKNOWN}/scores", json=scoring("EV-1", 8, 6, 4)), 404)
    assert_problem(approve(client, UNKNOWN, "100.00"), 404)
    assert_problem(client.post(f"/proposals/{UNKNOWN}/rejection", json={"reason": "other", "rejected_on": "2021-06-01"}), 404)
    assert_problem(client.post(f"/proposals/{UNKNOWN}/grants", json={"kind": "goods", "amount": "1.00", "granted_on": "2021-06-01"}), 404)


# Errors: scores -----------------------------------------------------------------------------


def with_scores(*scores: dict[str, Any], evaluator: str = "EV-1", scored_on: str = "2021-06-05") -> dict[str, Any]:
    return {"evaluator": evaluator, "scores": list(scores), "scored_on": scored_on}


ORG = {"criterion": "organisational_capacity", "score": 8}
ADMIN = {"criterion": "administrative_capacity", "score": 6}
IMPACT = {"criterion": "impact", "score": 4}


def test_an_evaluator_named_by_name_is_refused_with_the_forms_other_mistakes(client: TestClient) -> None:
    """A person's name where the opaque code goes, in an assignment or a scoring, comes in one answer with the date's mistake."""
    rid = a_round(client)["id"]
    proposal = a_proposal(client, rid)
    before = head(client)
    assigned = {"evaluator": "Rosa Huamán", "subject": TESTER, "assigned_on": "01/05/2021"}
    assert several(client.post(f"/rounds/{rid}/evaluators", json=assigned)) == {("evaluator", "evaluator_code"), ("assigned_on", "iso_8601_date")}
    to_no_one = {"evaluator": "EV-4", "subject": "\u200bRosa", "assigned_on": "01/05/2021"}
    assert several(client.post(f"/rounds/{rid}/evaluators", json=to_no_one)) == {("subject", "oidc_subject"), ("assigned_on", "iso_8601_date")}
    scored = scoring("Rosa Huamán", 8, 6, 4, scored_on="05/06/2021")
    assert several(client.post(f"/proposals/{proposal['id']}/scores", json=scored)) == {("evaluator", "evaluator_code"), ("scored_on", "iso_8601_date")}
    assert head(client) == before


@pytest.mark.parametrize(
    ("body", "field", "rule", "named"),
    [
        (with_scores(ORG, IMPACT), "scores", "every_criterion_scored", "administrative_capacity"),
        (with_scores(ORG, ADMIN, IMPACT, {"criterion": "beauty", "score": 3}), "scores.3.criterion", "criterion_in_rubric", "beauty"),
        (with_scores(ORG, ADMIN, IMPACT, IMPACT), "scores.3.criterion", "score_each_criterion_once", "impact"),
        (with_scores(ORG, ADMIN, {"criterion": "impact", "score": 6}), "scores.2.score", "score_within_range", "from 1 to 5"),
        (with_scores({"criterion": "organisational_capacity", "score": 11}, ADMIN, IMPACT), "scores.0.score", "score_within_range", "0 to 10"),
        (with_scores(ORG, ADMIN, {"criterion": "impact", "score": 1001}), "scores.2.score", "at_most_1000", "at most 1,000, not 1001"),
        (with_scores(ORG, ADMIN, {"criterion": "impact", "score": -1001}), "scores.2.score", "at_least_minus_1000", "at least -1,000, not -1001"),
        (with_scores(ORG, ADMIN, {"criterion": "impact", "score": 4.5}), "scores.2.score", None, None),
        (with_scores(ORG, ADMIN, {"criterion": "impact", "score": "4"}), "scores.2.score", None, None),
        (with_scores(ORG, ADMIN, IMPACT, evaluator="Rosa Huamán"), "evaluator", "evaluator_code", None),
        (with_scores(ORG, ADMIN, IMPACT, evaluator=""), "evaluator", None, None),
        (with_scores(ORG, ADMIN, IMPACT, evaluator="EV-000000000000000001"), "evaluator", None, None),
        (with_scores(ORG, ADMIN, IMPACT, scored_on="2021-05-09"), "scored_on", "not_before_submission", None),
    ],
)
def test_a_bad_scoring_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, body: dict[str, Any], field: str, rule: str | None, named: str | None
) -> None:
    rid = a_round(client)["id"]
    proposal = a_proposal(client, rid)
    before = head(client)
    problem = assert_problem(client.post(f"/proposals/{proposal['id']}/scores", json=body), 422, field, rule)
    if named is not None:
        assert named in problem["detail"]
    assert head(client) == before


def test_every_mistake_of_the_scores_comes_in_one_422_before_what_the_proposal_s_record_decides(client: TestClient) -> None:
    """Tester 208 F7: each score out of range, each criterion scored again and each left unscored, in one 422, and before
    the 409 of a code that scored already (a body's own mistakes first, as the README's API section says)."""
    proposal = a_proposal(client, a_round(client)["id"])
    url = f"/proposals/{proposal['id']}/scores"
    before = head(client)
    # (b) two rows out of range: both, not only the first
    assert several(client.post(url, json=with_scores({**ORG, "score": 11}, {**ADMIN, "score": -1}, IMPACT))) == {
        ("scores.0.score", "score_within_range"), ("scores.1.score", "score_within_range"),
    }
    # (c) a criterion scored again beside a score out of range: both, not the repeat once the range is put right
    assert several(client.post(url, json=with_scores(ORG, ADMIN, {**IMPACT, "score": 6}, IMPACT))) == {
        ("scores.2.score", "score_within_range"), ("scores.3.criterion", "score_each_criterion_once"),
    }
    # ... with a mistake the schema finds (the date's), the repeat comes in its 422 too
    assert several(client.post(url, json=with_scores(ORG, ADMIN, IMPACT, ADMIN, scored_on="05/06/2021"))) == {
        ("scores.3.criterion", "score_each_criterion_once"), ("scored_on", "iso_8601_date"),
    }
    assert head(client) == before
    # (a) EV-1 scored already: the body's own mistakes are told first, not 409 score_once
    score(client, proposal["id"], "EV-1", 8, 6, 4)
    assert several(client.post(url, json=with_scores({**ORG, "score": 11}, {**ORG, "score": 1}))) == {
        ("scores.0.score", "score_within_range"), ("scores.1.criterion", "score_each_criterion_once"), ("scores", "every_criterion_scored"),
    }
    assert_problem(client.post(url, json=scoring("EV-1", 10, 10, 5)), 409, "evaluator", "score_once")  # a body put right


def test_a_scoring_s_wrong_date_comes_in_the_same_422_as_its_scores_mistakes(client: TestClient) -> None:
    """Tester 212 F7: a scored_on before the proposal's submission, or in the future, beside a score of 11 was told the
    score alone (before submission), or the date alone (the date rule, checked before the command ran), the other once
    that one was put right."""
    proposal = a_proposal(client, a_round(client)["id"])  # submitted on 2021-05-10
    url = f"/proposals/{proposal['id']}/scores"
    before = head(client)
    assert several(client.post(url, json=with_scores({**ORG, "score": 11}, ADMIN, IMPACT, scored_on="2021-05-01"))) == {
        ("scored_on", "not_before_submission"), ("scores.0.score", "score_within_range"),
    }
    assert several(client.post(url, json=with_scores({**ORG, "score": 11}, ADMIN, ADMIN, scored_on="2099-03-20"))) == {
        ("scored_on", "not_in_future"), ("scores.0.score", "score_within_range"), ("scores.2.criterion", "score_each_criterion_once"),
        ("scores", "every_criterion_scored"),
    }
    assert head(client) == before
    # the date alone is still told alone, and a proposal the caller is not assigned (or none) is told only the date, as before
    assert several(client.post(url, json=with_scores(ORG, ADMIN, IMPACT, scored_on="2099-03-20"))) == {("scored_on", "not_in_future")}
    nowhere = client.post(f"/proposals/{uuid4()}/scores", json=with_scores({**ORG, "score": 11}, ADMIN, IMPACT, scored_on="2099-03-20"))
    assert several(nowhere) == {("scored_on", "not_in_future")}


def test_an_evaluator_scores_a_proposal_once(client: TestClient) -> None:
    proposal = a_proposal(client, a_round(client)["id"])
    score(client, proposal["id"], "EV-1", 8, 6, 4)
    assert_problem(client.post(f"/proposals/{proposal['id']}/scores", json=scoring("EV-1", 10, 10, 5)), 409, "evaluator", "score_once")
    assert [s["weighted_total"] for s in client.get(f"/proposals/{proposal['id']}").json()["scorings"]] == ["73.50"]


def test_a_person_holds_one_evaluator_code_per_round(client: TestClient) -> None:
    """A round's codes are distinct people: the ranking's mean of two codes is two people's scores, not one person's twice."""
    round_ = a_round(client)
    before = head(client)
    again = {"evaluator": "EV-4", "subject": TESTER, "assigned_on": round_["opens_on"]}
    problem = assert_problem(client.post(f"/rounds/{round_['id']}/evaluators", json=again), 409, "subject", "one_code_per_person")
    assert "'EV-1'" in problem["detail"] and "distinct people" in problem["detail"]
    assert_problem(client.post(f"/rounds/{round_['id']}/evaluators?dry_run=true", json=again), 409, "subject", "one_code_per_person")
    assert head(client) == before
    assert client.get(f"/rounds/{round_['id']}").json()["evaluators"] == [
        {"evaluator": code, "subject": holder} for code, holder in EVALUATORS.items()
    ]
    # Another person takes the code; the tester's code in another round is no hindrance.
    created(client.post(f"/rounds/{round_['id']}/evaluators", json={**again, "subject": "lead"}))


def test_a_person_holding_two_codes_from_before_the_rule_scores_a_proposal_once(client: TestClient) -> None:
    """A round whose assignments were recorded before one code per person: its holder of two codes scores once."""
    funding = application_of(client)
    rid = a_round(client)["id"]
    legacy = funding.get_round(UUID(rid))
    legacy._evaluator_assigned(evaluator="EV-9", subject=TESTER, assigned_on=legacy.opens_on)  # as such a round's events replay
    funding.save(legacy)
    proposal = a_proposal(client, rid)
    score(client, proposal["id"], "EV-1", 8, 6, 4)
    before = head(client)
    refused = client.post(f"/proposals/{proposal['id']}/scores", json=scoring("EV-9", 10, 10, 5))
    assert "EV-1" in assert_problem(refused, 409, "evaluator", "one_scoring_per_person")["detail"]
    assert head(client) == before
    assert [s["evaluator"] for s in client.get(f"/proposals/{proposal['id']}").json()["scorings"]] == ["EV-1"]


def test_a_decided_proposal_takes_no_more_scores(client: TestClient) -> None:
    proposal = a_proposal(client, a_round(client)["id"])
    created(client.post(f"/proposals/{proposal['id']}/rejection", json={"reason": "incomplete", "rejected_on": "2021-06-01"}))
    assert_problem(client.post(f"/proposals/{proposal['id']}/scores", json=scoring("EV-1", 8, 6, 4)), 409, "proposal_id", "decide_once")


# Errors: decisions and grants -----------------------------------------------------------------


def test_an_approval_needs_a_score_and_stays_within_the_request(client: TestClient) -> None:
    proposal = a_proposal(client, a_round(client, committee=("EV-1",))["id"])
    unscored = assert_problem(approve(client, proposal["id"], "1000.00"), 409, "proposal_id", "scores_pending")
    assert unscored["pending_evaluators"] == ["EV-1"]  # as a rejection on merit answers (tester 126 F3): not a 422 of its own
    score(client, proposal["id"], "EV-1", 8, 6, 4)
    assert_problem(approve(client, proposal["id"], "4000.01"), 422, "amount", "within_requested_amount")
    assert_problem(approve(client, proposal["id"], "0"), 422, "amount")
    assert_problem(approve(client, proposal["id"], 1000), 422, "amount")
    early = client.post(f"/proposals/{proposal['id']}/approval", json={"amount": "100.00", "approved_on": "2021-05-09"})
    assert_problem(early, 422, "approved_on", "not_before_submission")
    assert client.get(f"/proposals/{proposal['id']}").json()["status"] == "submitted"


def test_a_proposal_is_decided_once(client: TestClient) -> None:
    rid = a_round(client, committee=("EV-1",))["id"]
    proposal = a_proposal(client, rid)
    score(client, proposal["id"], "EV-1", 8, 6, 4)
    created(approve(client, proposal["id"], "1000.00"))
    assert_problem(approve(client, proposal["id"], "1000.00"), 409, "proposal_id", "decide_once")
    assert_problem(client.post(f"/proposals/{proposal['id']}/rejection", json={"reason": "other", "rejected_on": "2021-06-11"}), 409, "proposal_id", "decide_once")
    assert client.get(f"/rounds/{rid}").json()["approved_total"] == "1000.00"


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"reason": "did not like it", "rejected_on": "2021-06-10"}, "reason", None),
        ({"reason": "low_score", "rejected_on": "2021-05-09"}, "rejected_on", "not_before_submission"),
        ({"reason": "low_score", "rejected_on": "2021-06-10", "note": "Ramón no vino"}, "note", None),
    ],
)
def test_a_bad_rejection_is_422(client: TestClient, body: dict[str, Any], field: str, rule: str | None) -> None:
    proposal = a_proposal(client, a_round(client)["id"])
    assert_problem(client.post(f"/proposals/{proposal['id']}/rejection", json=body), 422, field, rule)


def test_only_an_approved_proposal_is_granted_from_and_not_before_its_approval(client: TestClient) -> None:
    proposal = a_proposal(client, a_round(client, committee=("EV-1",))["id"])
    grants = f"/proposals/{proposal['id']}/grants"
    assert_problem(client.post(grants, json={"kind": "seed_fund", "amount": "100.00", "granted_on": "2021-07-01"}), 409, "proposal_id", "approved_before_grant")
    score(client, proposal["id"], "EV-1", 8, 6, 4)
    created(approve(client, proposal["id"], "3000.00"))
    assert_problem(client.post(grants, json={"kind": "seed_fund", "amount": "100.00", "granted_on": "2021-06-09"}), 422, "granted_on", "not_before_approval")
    assert_problem(client.post(grants, json={"kind": "cash", "amount": "100.00", "granted_on": "2021-07-01"}), 422, "kind")
    assert_problem(client.post(grants, json={"kind": "goods", "amount": 100, "granted_on": "2021-07-01"}), 422, "amount")
    before = head(client)
    over = assert_problem(client.post(grants, json={"kind": "goods", "amount": "3000.01", "granted_on": "2021-07-01"}), 409, "amount", "within_approved_amount")
    assert "PEN 3000.00 of the approved amount remains" in over["detail"]
    assert head(client) == before


def test_a_proposal_and_its_approval_are_bounded_by_the_grant_ceiling_as_a_direct_grant_is(client: TestClient) -> None:
    """A proposal of PEN 2,500,000.00 in a round of 9,999,999.99 was approved and granted whole, 25 times the ceiling a
    direct grant is refused above (tester 208 F3): one OSV's grant is the same whichever way it is made."""
    rid = a_round(client, committee=("EV-1",), budget="9999999.99")["id"]
    before = head(client)
    for requested in ("2500000.00", "100000.01"):
        refused = client.post(f"/rounds/{rid}/proposals", json=proposal_body(registry(client).osv_mapped(), requested_amount=requested))
        problem = assert_problem(refused, 422, "requested_amount", "at_most_grant_ceiling")
        assert "requested_amount must be at most 100,000.00 PEN" in problem["detail"] and "FUNDING_GRANT_CEILING_PEN" in problem["detail"]
    assert head(client) == before
    assert client.get(f"/rounds/{rid}/proposals").json() == []

    proposal = a_proposal(client, rid, requested_amount="100000.00")
    score(client, proposal["id"], "EV-1", 8, 6, 4)
    created(approve(client, proposal["id"], "100000.00"))
    body = {"kind": "seed_fund", "amount": "100000.00", "granted_on": "2021-07-01"}
    assert created(client.post(f"/proposals/{proposal['id']}/grants", json=body))["amount"] == "100000.00"


def test_a_proposal_requested_or_approved_above_the_ceiling_before_the_rule_loads_and_is_granted_within_its_approval(
    client: TestClient,
) -> None:
    """The ceiling bounds new commands (tester 208 F3): a proposal requested above it before the rule is approved within
    it, and one approved above it before the rule is granted within its approved amount."""
    from services.funding.domain.proposals import Proposal

    funding = application_of(client)
    rid = a_round(client, committee=("EV-1",), budget="9999999.99")["id"]

    def requested_before_the_rule() -> Proposal:
        round_ = funding.get_round(UUID(rid))
        legacy = Proposal.submit(
            round_, UUID(registry(client).osv_mapped()), None, "Mural", SUMMARY, Decimal("2500000.00"), 40, 300, [], date(2021, 5, 10)
        )
        funding.save(round_, legacy)  # as such a proposal's events replay
        score(client, str(legacy.id), "EV-1", 8, 6, 4)
        return legacy

    requested = requested_before_the_rule()
    assert client.get(f"/proposals/{requested.id}").json()["requested_amount"] == "2500000.00"
    before = head(client)
    assert_problem(approve(client, str(requested.id), "2500000.00"), 422, "amount", "at_most_grant_ceiling")
    assert head(client) == before
    assert created(approve(client, str(requested.id), "100000.00"))["approval"]["amount"] == "100000.00"

    approved = requested_before_the_rule()
    round_ = funding.get_round(UUID(rid))
    approved = funding.get_proposal(approved.id)
    approved.approve(round_, Decimal("2500000.00"), date(2021, 6, 10))
    funding.save(round_, approved)
    grants = f"/proposals/{approved.id}/grants"
    assert created(client.post(grants, json={"kind": "seed_fund", "amount": "2000000.00", "granted_on": "2021-07-01"}))["amount"] == "2000000.00"
    over = client.post(grants, json={"kind": "seed_fund", "amount": "500000.01", "granted_on": "2021-07-02"})
    assert_problem(over, 409, "amount", "within_approved_amount")


def test_an_approval_dated_after_the_osv_dissolved_is_409_and_commits_nothing_of_the_budget(client: TestClient) -> None:
    upstream = registry(client)
    osv_id = upstream.osv_mapped()
    rid = a_round(client)["id"]
    proposal = a_proposal(client, rid, osv_id)
    score(client, proposal["id"], "EV-1", 8, 6, 4)
    upstream.osv_dissolved(osv_id, "2021-06-09")
    before = head(client)

    problem = assert_problem(approve(client, proposal["id"], "3000.00"), 409, "osv_id", "osv_not_dissolved")

    assert "dissolved on 2021-06-09" in problem["detail"] and "approved_on 2021-06-10 is after" in problem["detail"]
    assert head(client) == before
    assert client.get(f"/rounds/{rid}").json()["approved_total"] == "0.00"


def test_a_scoring_dated_after_the_osv_dissolved_is_409_and_one_dated_on_its_day_is_taken(client: TestClient) -> None:
    """Funding refused an approval after the dissolution but took a scoring (tester 28): the evaluators went on working
    on a dead OSV's proposal, and reporting, which lists what was refused, never saw it. A scoring is judged as the
    approval it leads to; the rejection that winds the proposal down is still taken."""
    upstream = registry(client)
    osv_id = upstream.osv_mapped()
    proposal = a_proposal(client, a_round(client)["id"], osv_id)
    upstream.osv_dissolved(osv_id, "2021-06-05")
    before = head(client)

    late = client.post(f"/proposals/{proposal['id']}/scores", json=scoring("EV-1", 8, 6, 4, scored_on="2021-06-06"))

    problem = assert_problem(late, 409, "osv_id", "osv_not_dissolved")
    assert "dissolved on 2021-06-05" in problem["detail"] and "scored_on 2021-06-06 is after" in problem["detail"]
    assert head(client) == before
    assert client.get(f"/proposals/{proposal['id']}").json()["scorings"] == []
    created(client.post(f"/proposals/{proposal['id']}/scores", json=scoring("EV-1", 8, 6, 4, scored_on="2021-06-05")))
    created(client.post(f"/proposals/{proposal['id']}/rejection", json={"reason": "ineligible", "rejected_on": "2021-06-20"}))


def an_approved_proposal_of_an_osv_dissolved_since(client: TestClient, dissolved_on: str) -> dict[str, Any]:
    """A scored and approved proposal whose OSV registry then dissolved on ``dissolved_on``."""
    upstream = registry(client)
    osv_id = upstream.osv_mapped()
    proposal = a_proposal(client, a_round(client, committee=("EV-1",))["id"], osv_id)
    score(client, proposal["id"], "EV-1", 8, 6, 4)
    created(approve(client, proposal["id"], "3000.00"))
    upstream.osv_dissolved(osv_id, dissolved_on)
    return proposal


def test_a_grant_from_a_proposal_dated_before_the_dissolution_is_taken_after_it(client: TestClient) -> None:
    proposal = an_approved_proposal_of_an_osv_dissolved_since(client, "2021-06-20")
    body = {"kind": "seed_fund", "amount": "100.00", "granted_on": "2021-06-15"}
    made = created(client.post(f"/proposals/{proposal['id']}/grants", json=body))
    assert client.get(f"/proposals/{proposal['id']}").json()["grants"][0]["grant_id"] == made["id"]


def test_a_grant_from_a_proposal_of_an_osv_dissolved_since_is_409_and_writes_nothing(client: TestClient) -> None:
    proposal = an_approved_proposal_of_an_osv_dissolved_since(client, "2021-06-20")
    before = head(client)
    response = client.post(f"/proposals/{proposal['id']}/grants", json={"kind": "seed_fund", "amount": "100.00", "granted_on": "2021-07-01"})
    assert_problem(response, 409, "osv_id", "osv_not_dissolved")
    assert head(client) == before
    assert client.get(f"/proposals/{proposal['id']}").json()["grants"] == []


def test_who_holds_which_code_is_shown_to_leads_auditors_and_each_holder_alone(funding: TestClient) -> None:
    # Tester 30b, L3: GET /rounds/{id} named every code's holder to every evaluator, while the README says who holds
    # which code stays private to funding (the scores are published under the code). Leads, who assign the codes, and
    # auditors, who check conflicts of interest (a round's history shows them who scored), read them (evaluators:read).
    from tests.support.identity import signed_in_headers

    round_ = a_round(funding)

    def holders(name: str) -> dict[str, str | None]:
        shown = funding.get(f"/rounds/{round_['id']}", headers=signed_in_headers(name))
        assert shown.status_code == 200, shown.text
        return {e["evaluator"]: e["subject"] for e in shown.json()["evaluators"]}

    assert holders("lead") == EVALUATORS
    assert holders("auditor") == EVALUATORS
    assert holders("staff") == {code: None for code in EVALUATORS}
    assert holders("evaluator") == {"EV-1": None, "EV-2": "evaluator", "EV-3": None}
    listed = funding.get("/rounds", headers=signed_in_headers("staff")).json()
    assert all(e["subject"] is None for r in listed for e in r["evaluators"])
