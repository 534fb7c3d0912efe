"""A funding round's history (``GET /rounds/{id}/history``) and a participatory-budget submission's
(``GET /participatory-budgets/{id}/history``) for auditors, as a grant's: every event, oldest first, each with the
account whose command recorded it (``recorded_by``), paged. A round's is one timeline of the round's events and its
proposals', each naming its proposal: who opened and closed the round, who was given each evaluator code and by whom,
who scored
what, who approved and rejected.

Real registry and funding (their test clients), the session's identity provider and the tokens it issued; funding
hears of the OSVs from registry's own feed. A lead runs the round and decides; staff submit the proposals; two
evaluators score.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from services.funding.domain.budgets import SubmissionNotFoundError
from shared.roles import MunicipalScope
from tests.integration.test_command_actors import account
from tests.support.api import assert_problem, created, ok
from tests.support.clients import application_of, feed, service_client
from tests.support.identity import SECOND_EVALUATOR, IssuedTokens

pytestmark = pytest.mark.timeout(180)

SJL, SMP = "150132", "150135"
SUMMARY = "La señora Yusmary coordina el mural con el vecino Ramón"
CRITERIA = [
    {"code": code, "name": name, "weight": "1", "min_score": 0, "max_score": 10}
    for code, name in (("organisational_capacity", "Capacidad organizativa"),
                       ("administrative_capacity", "Capacidad administrativa"))
]


@pytest.fixture
def system(tmp_path: Path, database_url: str) -> Iterator[dict[str, TestClient]]:
    with (
        service_client("registry", tmp_path / "var", database_url) as registry,
        service_client("funding", tmp_path / "var", database_url) as funding,
    ):
        yield {"registry": registry, "funding": funding}


def an_osv(system: dict[str, TestClient], tokens: IssuedTokens, name: str) -> str:
    """An OSV of San Juan de Lurigancho that staff mapped, heard of in funding; its id."""
    osv = created(system["registry"].post("/osvs", headers=tokens.headers("staff"), json={
        "name": name, "district": "San Juan de Lurigancho", "mapped_on": "2021-02-01"}))
    application_of(system["funding"]).osvs.apply(feed(system["registry"]))
    return str(osv["id"])


def next_page(response: Any) -> str:
    """The path of the page a ``Link: rel="next"`` header names."""
    return str(response.headers["link"].removeprefix("<").removesuffix('>; rel="next"'))


def scores(evaluator: str, mark: int) -> dict[str, Any]:
    return {"evaluator": evaluator, "scored_on": "2021-06-05",
            "scores": [{"criterion": c["code"], "score": mark} for c in CRITERIA]}


def a_decided_round(system: dict[str, TestClient], tokens: IssuedTokens) -> tuple[str, str, str]:
    """A round a lead opened, gave EV-1 and EV-2 to two evaluators, decided and closed; staff submitted two proposals,
    both evaluators scored both, the lead approved the first, rejected the second and withdrew EV-2; staff forgot the
    second's summary. (round id, first proposal id, second proposal id)."""
    funding = system["funding"]
    staff, lead = tokens.headers("staff"), tokens.headers("lead")
    first_osv, second_osv = an_osv(system, tokens, "Vecinos de Zárate"), an_osv(system, tokens, "Vecinos de Mangomarca")
    phase = created(funding.post("/phases", headers=lead, json={
        "code": f"F-{uuid4().hex[:6]}", "name": "Fase", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}))
    round_ = created(funding.post("/rounds", headers=lead, json={
        "phase_id": phase["id"], "name": "Fondos semilla", "budget": "10000.00", "currency": "PEN",
        "opens_on": "2021-05-01", "closes_on": "2021-05-31", "eligibility": "mapped", "criteria": CRITERIA}))
    round_id = round_["id"]
    for code, holder in (("EV-1", "evaluator"), ("EV-2", SECOND_EVALUATOR)):
        created(funding.post(f"/rounds/{round_id}/evaluators", headers=lead, json={
            "evaluator": code, "subject": account(tokens, holder, [])["subject"], "assigned_on": "2021-05-01"}))
    proposals = [
        created(funding.post(f"/rounds/{round_id}/proposals", headers=staff, json={
            "osv_id": osv_id, "title": "Mural", "summary": SUMMARY, "requested_amount": "2000.00",
            "planned_direct_beneficiaries": 30, "planned_indirect_beneficiaries": 100,
            "submitted_on": "2021-05-10"}))["id"]
        for osv_id in (first_osv, second_osv)
    ]
    for proposal_id in proposals:
        for code, holder, mark in (("EV-1", "evaluator", 7), ("EV-2", SECOND_EVALUATOR, 4)):
            scored = scores(code, mark)
            created(funding.post(f"/proposals/{proposal_id}/scores", headers=tokens.headers(holder), json=scored))
    created(funding.post(f"/proposals/{proposals[0]}/approval", headers=lead, json={
        "amount": "1500.00", "approved_on": "2021-06-10"}))
    created(funding.post(f"/proposals/{proposals[1]}/rejection", headers=lead, json={
        "reason": "low_score", "rejected_on": "2021-06-10"}))
    created(funding.post(f"/rounds/{round_id}/evaluators/EV-2/withdrawal", headers=lead, json={
        "withdrawn_on": "2021-06-11", "reason": "conflict_of_interest"}))
    created(funding.post(f"/rounds/{round_id}/closing", headers=lead, json={"closed_on": "2021-06-30"}))
    ok(funding.post(f"/proposals/{proposals[1]}/summary/redaction", headers=staff))
    return round_id, proposals[0], proposals[1]


def staff_headers(tokens: IssuedTokens) -> dict[str, str]:
    return tokens.headers("staff")


def test_an_auditor_reads_who_ran_the_round_who_scored_and_who_decided_each_proposal(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    funding = system["funding"]
    round_id, first, second = a_decided_round(system, tokens)
    lead, staff = account(tokens, "lead", ["lead"]), account(tokens, "staff", ["staff"])
    evaluator = account(tokens, "evaluator", ["evaluator"])
    second_evaluator = account(tokens, SECOND_EVALUATOR, ["evaluator"])

    history = ok(funding.get(f"/rounds/{round_id}/history", params={"limit": 100}, headers=tokens.headers("auditor")))
    told = [(e["type"], e["proposal_id"], e["recorded_by"]) for e in history]
    assert told == [
        ("RoundOpened", None, lead),
        ("EvaluatorAssigned", None, lead), ("EvaluatorAssigned", None, lead),
        # A proposal is saved with the round it enters (the round first in the log): one instant, the round's first.
        ("ProposalEntered", None, staff), ("ProposalSubmitted", first, staff),
        ("ProposalEntered", None, staff), ("ProposalSubmitted", second, staff),
        ("ProposalScored", first, evaluator), ("ProposalScored", first, second_evaluator),
        ("ProposalScored", second, evaluator), ("ProposalScored", second, second_evaluator),
        ("BudgetCommitted", None, lead), ("ProposalApproved", first, lead),  # saved together, the budget's first
        ("ProposalRejected", second, lead),
        ("EvaluatorWithdrawn", None, lead),
        ("RoundClosed", None, lead),
        ("ProposalSummaryRedacted", second, staff),
    ]
    # Who was given each code, and by whom: what an auditor checks against who scored what (conflicts of interest).
    assigned = [e["data"] for e in history if e["type"] == "EvaluatorAssigned"]
    assert [(a["evaluator"], a["subject"]) for a in assigned] == [
        ("EV-1", evaluator["subject"]), ("EV-2", second_evaluator["subject"])]
    scored = [e for e in history if e["type"] == "ProposalScored"]
    assert [(e["data"]["evaluator"], e["recorded_by"]["subject"]) for e in scored][:2] == [
        ("EV-1", evaluator["subject"]), ("EV-2", second_evaluator["subject"])]
    assert next(e for e in history if e["type"] == "EvaluatorWithdrawn")["data"]["reason"] == "conflict_of_interest"
    # Each entry's version counts its own record's events.
    assert [e["version"] for e in history if e["proposal_id"] == first] == [1, 2, 3, 4]

    # The OSV's words: withheld from the auditor, shown to staff; forgotten, `[redacted]` to both.
    submitted = {e["proposal_id"]: e["data"]["summary"] for e in history if e["type"] == "ProposalSubmitted"}
    assert submitted == {first: "[withheld]", second: "[redacted]"}
    staffs = ok(funding.get(f"/rounds/{round_id}/history", params={"limit": 100}, headers=tokens.headers("staff")))
    summaries = {e["proposal_id"]: e["data"]["summary"] for e in staffs if e["type"] == "ProposalSubmitted"}
    assert summaries == {first: SUMMARY, second: "[redacted]"}
    # Who holds each code and whose account scored: withheld from staff, who submit the proposals (tester 30b, L3),
    # as `GET /rounds` withholds them; everything else as the auditor reads it.
    assert [a["data"]["subject"] for a in staffs if a["type"] == "EvaluatorAssigned"] == ["[withheld]", "[withheld]"]
    withheld = [{**e["recorded_by"], "subject": "[withheld]"} if e["type"] == "ProposalScored" else e["recorded_by"] for e in history]
    assert [(e["type"], e["recorded_by"]) for e in staffs] == list(zip([e["type"] for e in history], withheld))
    for reader in ("lead", "auditor"):  # evaluators:read: each code's holder in the round too
        holders = ok(funding.get(f"/rounds/{round_id}", headers=tokens.headers(reader)))["evaluators"]
        assert [h["subject"] for h in holders] == [evaluator["subject"]], reader  # EV-2 withdrawn
    assert [h["subject"] for h in ok(funding.get(f"/rounds/{round_id}", headers=staff_headers(tokens)))["evaluators"]] == [None]

    # The accounts stay beside the events: no event of funding's feed names them, nor who holds a code.
    published = str(feed(funding))
    assert "recorded_by" not in published and f"'{staff['subject']}'" not in published
    assert f"'{second_evaluator['subject']}'" not in published


def test_a_rounds_history_is_paged_across_the_round_and_its_proposals(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    funding, auditor = system["funding"], tokens.headers("auditor")
    round_id, _, _ = a_decided_round(system, tokens)
    whole = ok(funding.get(f"/rounds/{round_id}/history", params={"limit": 100}, headers=auditor))

    read: list[dict[str, Any]] = []
    response = funding.get(f"/rounds/{round_id}/history", params={"limit": 5}, headers=auditor)
    while True:
        read += ok(response)
        if "link" not in response.headers:
            break
        assert len(ok(response)) == 5
        response = funding.get(next_page(response), headers=auditor)
    assert read == whole and len(read) == 17


def test_a_rounds_history_wants_audit_read_and_a_round_that_exists(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    funding = system["funding"]
    round_id, first, _ = a_decided_round(system, tokens)
    path = f"/rounds/{round_id}/history"

    assert funding.get(path, headers={"Authorization": ""}).status_code == 401
    # The round's own evaluator reads its proposals (scoring blind), never who holds the other codes nor their scores.
    for role in ("evaluator", "municipal-150132", "dpo"):
        assert assert_problem(funding.get(path, headers=tokens.headers(role)), 403)["permission"] == "audit:read", role
    for unknown in (uuid4(), first):  # a proposal's id names no round
        response = funding.get(f"/rounds/{unknown}/history", headers=tokens.headers("auditor"))
        assert_problem(response, 404, "round_id", "known_round")

    # A reader of San Martín de Porres alone would read the round's own events, not the SJL OSVs' proposals.
    app = application_of(funding)
    elsewhere = app.round_history(UUID(round_id), scope=MunicipalScope(ubigeos=frozenset({SMP})))
    assert {e.proposal_id for e in elsewhere} == {None}
    assert len(app.round_history(UUID(round_id), scope=MunicipalScope(ubigeos=frozenset({SJL})))) == 17


def a_decided_submission(system: dict[str, TestClient], tokens: IssuedTokens) -> str:
    """A RUOS-registered OSV's project that staff submitted to San Juan de Lurigancho's participatory budget, and whose
    outcome a lead recorded; its id."""
    registry, funding = system["registry"], system["funding"]
    staff = tokens.headers("staff")
    osv = created(registry.post("/osvs", headers=staff, json={
        "name": "Vecinos de Canto Rey", "district": "San Juan de Lurigancho",
                                                              "mapped_on": "2021-02-01"}))
    created(registry.post(f"/osvs/{osv['id']}/ruos-registration", headers=staff, json={
        "municipality_id": SJL, "ruos_number": f"RUOS-{uuid4().hex[:6]}", "registered_on": "2021-03-01"}))
    application_of(funding).osvs.apply(feed(registry))
    submission = created(funding.post("/participatory-budgets", headers=staff, json={
        "osv_id": osv["id"], "municipality_id": SJL, "cycle_year": 2022, "project_title": "Parque vecinal",
        "amount_requested": "5000.00", "currency": "PEN", "submitted_on": "2021-05-01"}))
    created(funding.post(f"/participatory-budgets/{submission['id']}/outcome", headers=tokens.headers("lead"), json={
        "outcome": "funded", "amount_funded": "4000.00", "decided_on": "2021-09-01"}))
    return str(submission["id"])


def test_an_auditor_reads_who_submitted_a_participatory_budget_project_and_who_recorded_its_outcome(
    system: dict[str, TestClient], tokens: IssuedTokens
) -> None:
    funding, auditor = system["funding"], tokens.headers("auditor")
    submission_id = a_decided_submission(system, tokens)
    path = f"/participatory-budgets/{submission_id}/history"

    history = ok(funding.get(path, headers=auditor))
    assert [(e["type"], e["version"], e["recorded_by"]) for e in history] == [
        ("ParticipatoryBudgetSubmitted", 1, account(tokens, "staff", ["staff"])),
        ("ParticipatoryBudgetDecided", 2, account(tokens, "lead", ["lead"])),
    ]
    assert (history[1]["data"]["outcome"], history[1]["data"]["amount_funded"]) == ("funded", "4000.00")
    assert ok(funding.get(path, headers=tokens.headers("staff"))) == history  # no staff's words to withhold

    first = funding.get(path, params={"limit": 1}, headers=auditor)
    assert [e["version"] for e in ok(first)] == [1]
    rest = funding.get(next_page(first), headers=auditor)
    assert [e["version"] for e in ok(rest)] == [2] and "link" not in rest.headers

    assert funding.get(path, headers={"Authorization": ""}).status_code == 401
    for role in ("municipal-150132", "evaluator", "dpo"):  # the focal point reads the submission, not its history
        assert assert_problem(funding.get(path, headers=tokens.headers(role)), 403)["permission"] == "audit:read", role
    unknown = funding.get(f"/participatory-budgets/{uuid4()}/history", headers=auditor)
    assert_problem(unknown, 404, "submission_id", "known_submission")
    app = application_of(funding)
    with pytest.raises(SubmissionNotFoundError):
        app.participatory_budget_history(UUID(submission_id), scope=MunicipalScope(ubigeos=frozenset({SMP})))
