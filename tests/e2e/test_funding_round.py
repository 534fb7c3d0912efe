"""A funding round from opening to closing, on real NATS, with funding learning the OSVs from registry's events."""

from __future__ import annotations

from pathlib import Path

from devtools.embedded import NatsServer
from tests.support.api import created, ok
from tests.support.identity import SECOND_EVALUATOR, TESTER, SignedInAs
from tests.support.system import System, eventually, running_system

CRITERIA = [
    {"code": "relevance", "name": "Pertinencia", "weight": "40", "min_score": 0, "max_score": 10},
    {"code": "organisational_capacity", "name": "Capacidad organizativa", "weight": "30", "min_score": 0, "max_score": 10},
    {"code": "administrative_capacity", "name": "Capacidad administrativa", "weight": "30", "min_score": 0, "max_score": 10},
]


def registered_osv(system: System, name: str, district: str, ruos_number: str) -> str:
    osv_id = created(system.registry.post("/osvs", json={"name": name, "district": district, "mapped_on": "2021-03-10"}))["id"]
    created(system.registry.post(f"/osvs/{osv_id}/ruos-registration", json={"municipality_id": "mml", "ruos_number": ruos_number, "registered_on": "2021-06-01"}))
    return osv_id


def propose(system: System, round_id: str, osv_id: str, title: str, amount: str) -> str:
    body = {
        "osv_id": osv_id,
        "title": title,
        "summary": "Talleres y un mural con vecinos venezolanos y peruanos.",
        "requested_amount": amount,
        "planned_direct_beneficiaries": 80,
        "planned_indirect_beneficiaries": 200,
        "planned_outputs": [{"kind": "mural", "count": 1}],
        "submitted_on": "2021-10-06",
    }
    # Funding hears of the OSV's registration from registry's events: the first try may come too early.
    return eventually(lambda: (r := system.funding.post(f"/rounds/{round_id}/proposals", json=body)).status_code == 201 and r.json())["id"]


def score(system: System, proposal_id: str, evaluator: str, relevance: int, organisational: int, administrative: int) -> None:
    scores = [
        {"criterion": "relevance", "score": relevance},
        {"criterion": "organisational_capacity", "score": organisational},
        {"criterion": "administrative_capacity", "score": administrative},
    ]
    scorer = system.funding if evaluator == "EV-1" else SignedInAs(system.funding, SECOND_EVALUATOR)  # each code's holder
    created(scorer.post(f"/proposals/{proposal_id}/scores", json={"evaluator": evaluator, "scores": scores, "scored_on": "2021-10-13"}))


def test_a_round_is_opened_scored_ranked_decided_within_budget_granted_delivered_paid_in_tranches_and_closed(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        phase = created(system.funding.post("/phases", json={"code": "F2", "name": "Fase 2", "starts_on": "2021-10-01", "ends_on": "2021-12-31"}))
        comas = registered_osv(system, "Venezolanos Unidos de Comas", "Comas", "RUOS-MML-2021-0101")
        ate = registered_osv(system, "Juntos por Huaycán", "Ate", "RUOS-MML-2021-0102")
        surquillo = registered_osv(system, "Panas y Causas de Surquillo", "Surquillo", "RUOS-MML-2021-0103")

        round_ = created(
            system.funding.post(
                "/rounds",
                json={
                    "phase_id": phase["id"],
                    "name": "Fondos semilla 2021-II",
                    "budget": "10000.00",
                    "currency": "PEN",
                    "opens_on": "2021-10-01",
                    "closes_on": "2021-10-10",
                    "eligibility": "ruos_registered",
                    "criteria": CRITERIA,
                },
            )
        )
        round_id = round_["id"]
        # The lead assigns the round's two evaluator codes to two people: the tester, who signs the test clients in, and another.
        for code, holder in (("EV-1", TESTER), ("EV-2", SECOND_EVALUATOR)):
            created(system.funding.post(f"/rounds/{round_id}/evaluators", json={"evaluator": code, "subject": holder, "assigned_on": "2021-10-01"}))
        mural = propose(system, round_id, comas, "Mural de la integración en Collique", "5000.00")
        fair = propose(system, round_id, ate, "Feria gastronómica binacional", "4000.00")
        workshop = propose(system, round_id, surquillo, "Taller de emprendimiento", "3000.00")

        # Two evaluators score every criterion of the rubric, capacities included.
        for evaluator, marks in (("EV-1", ((9, 8, 7), (8, 7, 7), (6, 5, 4))), ("EV-2", ((8, 8, 8), (7, 7, 6), (5, 6, 5)))):
            for proposal_id, (relevance, organisational, administrative) in zip((mural, fair, workshop), marks, strict=True):
                score(system, proposal_id, evaluator, relevance, organisational, administrative)

        # Totals by hand: EV-1 gives the mural (9·40 + 8·30 + 7·30) / 100 · 10 = 81.00, EV-2 80.00; mean 80.50.
        ranking = ok(system.funding.get(f"/rounds/{round_id}/ranking"))["proposals"]
        assert [(p["proposal_id"], p["mean_weighted_total"]) for p in ranking] == [
            (mural, "80.50"),
            (fair, "70.50"),
            (workshop, "52.00"),
        ]

        # Approvals in ranking order until the budget runs out: the third does not fit and is refused, naming what is left.
        created(system.funding.post(f"/proposals/{mural}/approval", json={"amount": "5000.00", "approved_on": "2021-10-15"}))
        created(system.funding.post(f"/proposals/{fair}/approval", json={"amount": "4000.00", "approved_on": "2021-10-15"}))
        refused = system.funding.post(f"/proposals/{workshop}/approval", json={"amount": "3000.00", "approved_on": "2021-10-15"})
        assert refused.status_code == 409
        assert refused.json()["errors"][0]["rule"] == "within_round_budget"
        assert "1000.00" in refused.json()["detail"]
        created(system.funding.post(f"/proposals/{workshop}/rejection", json={"reason": "over_budget", "rejected_on": "2021-10-16"}))

        # The mural becomes a seed fund paid in two tranches; the fair a goods package delivered.
        seed = created(system.funding.post(f"/proposals/{mural}/grants", json={"kind": "seed_fund", "amount": "5000.00", "granted_on": "2021-10-18"}))
        goods = created(system.funding.post(f"/proposals/{fair}/grants", json={"kind": "goods", "amount": "4000.00", "granted_on": "2021-10-18"}))
        delivery = {"delivered_on": "2021-10-29", "items": [{"item": "Cocina industrial", "quantity": 1, "unit_value": "2400.00"},
                                                            {"item": "Toldo 3x3", "quantity": 4, "unit_value": "380.00"}]}
        assert created(system.funding.post(f"/grants/{goods['id']}/goods-deliveries", json=delivery))["totals"]["delivered"] == "3920.00"
        created(system.funding.post(f"/grants/{seed['id']}/disbursements", json={"tranche": 1, "amount": "3000.00", "disbursed_on": "2021-10-20"}))
        created(system.funding.post(f"/grants/{seed['id']}/disbursements", json={"tranche": 2, "amount": "2000.00", "disbursed_on": "2021-11-20"}))
        closed = created(
            system.funding.post(
                f"/grants/{seed['id']}/closing",
                json={"outcome": "completed", "final_report_reference": "IF-F2-COMAS-01", "closed_on": "2021-12-20"},
            )
        )
        assert closed["status"] == "closed"
        created(system.funding.post(f"/rounds/{round_id}/closing", json={"closed_on": "2021-12-21"}))

        # Partners read the whole round from the stream; reporting counts the seed fund in phase 2.
        system.wait_relayed()
        system.wait_applied()
        types = [e["type"] for e in system.funding.get("/events", params={"limit": 1000}).json()["events"]]
        assert types.count("ProposalScored") == 6
        assert types.count("ProposalApproved") == 2 and types.count("ProposalRejected") == 1
        assert types[-1] == "RoundClosed"
        assert {"GoodsDelivered", "DisbursementMade", "GrantClosed"} <= set(types)
        (phase2,) = system.indicators()["phases"]
        assert phase2["indicators"]["seed_funds_granted_pen"] == "5000.00"
