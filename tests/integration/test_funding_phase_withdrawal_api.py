"""A phase opened by mistake is withdrawn over HTTP (tester 262): `POST /phases/{phase_id}/withdrawal`.

A lead who typed a phase `9999-12-31` over the days of the next one could never correct it: it blocked the real phase
(`phases_do_not_overlap`) and went to donors in every report. Funding now withdraws a phase no round was opened in:
`PhaseWithdrawn`, published; the phase stays, marked withdrawn, its code taken, its dates free; the grants within it are
marked as before it was opened. Registry is stood in for as in :mod:`tests.integration.test_funding_grants_api`. The
stories run on SQLite and PostgreSQL; the error cases on SQLite.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError
from fastapi.testclient import TestClient

from services.funding.domain.phases import PhaseCalendar
from tests.integration.test_funding_grants_api import UNKNOWN, grant, registry
from tests.integration.test_funding_rounds_api import round_body
from tests.support.api import assert_problem, created
from tests.support.clients import application_of, feed, head
from tests.support.identity import SignedInAs

pytestmark = [pytest.mark.timeout(120), pytest.mark.service("funding")]

MISTAKE = {"code": "9999-12-31", "name": "Prueba", "starts_on": "2026-12-01", "ends_on": "2026-12-01"}
F4 = {"code": "F4", "name": "Fase 4: consolidación 2026-2027", "starts_on": "2026-12-01", "ends_on": "2027-06-30"}


def withdraw(client: Any, phase_id: str, reason: str = "entered_in_error", note: str | None = None, **kwargs: Any) -> Any:
    body: dict[str, Any] = {"reason": reason} if note is None else {"reason": reason, "note": note}
    return client.post(f"/phases/{phase_id}/withdrawal", json=body, **kwargs)


def test_a_phase_opened_by_mistake_is_withdrawn_published_and_the_real_phase_opens_on_its_days(client_on: TestClient) -> None:
    client = client_on
    # The tester's story: the mistaken phase holds the first day of phase 4.
    mistake = created(client.post("/phases", json=MISTAKE))
    assert_problem(client.post("/phases", json=F4), 422, "starts_on", "phases_do_not_overlap")
    before = head(client)

    withdrawn = created(withdraw(client, mistake["id"], note="Lo abrió Rosa Quispe para probar"))
    assert withdrawn["withdrawal"] == {"reason": "entered_in_error", "withdrawn_on": withdrawn["withdrawal"]["withdrawn_on"]}
    date.fromisoformat(withdrawn["withdrawal"]["withdrawn_on"])
    events = [e for e in feed(client) if e["position"] > before]
    assert [e["type"] for e in events] == ["PhaseWithdrawn"]  # no grant within it: nothing restated
    published = events[0]["data"]
    assert (published["phase_id"], published["code"], published["starts_on"], published["ends_on"], published["reason"]) == (
        mistake["id"], "9999-12-31", "2026-12-01", "2026-12-01", "entered_in_error"
    )
    assert "note" not in published and "Rosa" not in str(events)  # staff's words never leave funding

    # Its days are free; its code is not, and the refusal says why.
    real = created(client.post("/phases", json=F4))
    refused = assert_problem(client.post("/phases", json={**MISTAKE, "starts_on": "2030-01-01", "ends_on": "2030-01-31"}), 409, "code", "unique_code")
    assert "withdrawn" in refused["detail"]
    assert "withdrawn" in assert_problem(client.post("/phases", json={**MISTAKE, "code": "9999-12-31 ".upper(), "starts_on": "2030-01-01",
                                                                       "ends_on": "2030-01-31"}), 409, "code", "unique_code")["detail"]
    listed = client.get("/phases").json()
    assert [(p["code"], p["withdrawal"] is not None) for p in listed] == [("9999-12-31", True), ("F4", False)]
    assert real["withdrawal"] is None
    # The phase's history holds the withdrawal and the note, for staff; withheld to an auditor.
    history = client.get(f"/phases/{mistake['id']}/history").json()
    assert [e["type"] for e in history] == ["PhaseOpened", "PhaseWithdrawn"]
    assert history[-1]["data"]["note"] == "Lo abrió Rosa Quispe para probar"
    assert SignedInAs(client, "auditor").get(f"/phases/{mistake['id']}/history").json()[-1]["data"]["note"] == "[withheld]"


def test_withdrawing_a_phase_marks_the_grants_within_it_as_before_it_was_opened(client_on: TestClient) -> None:
    client = client_on
    osv = registry(client).osv_mapped()
    first = grant(client, osv, "goods", "400.00", "2022-02-01")
    second = grant(client, osv, "goods", "500.00", "2022-03-01")
    assert second["support"] == "repeat"  # no phase: compared by day
    phase = created(client.post("/phases", json={"code": "F3", "name": "Fase 3", "starts_on": "2022-01-01", "ends_on": "2022-06-30"}))
    assert client.get(f"/grants/{second['id']}").json()["support"] == "first_time"  # within phase 3, its first support
    before = head(client)

    created(withdraw(client, phase["id"], "wrong_dates"))
    assert client.get(f"/grants/{second['id']}").json()["support"] == "repeat"
    assert client.get(f"/grants/{first['id']}").json()["support"] == "first_time"
    events = [e for e in feed(client) if e["position"] > before]
    assert [e["type"] for e in events] == ["PhaseWithdrawn", "GrantSupportRestated"]
    restated = events[1]["data"]
    assert (restated["grant_id"], restated["previous_support"], restated["support"], restated["reason"], restated["caused_by"]) == (
        second["id"], "first_time", "repeat", "phase_withdrawn", phase["id"]
    )
    # A grant decided now is marked without the phase.
    third = grant(client, osv, "goods", "600.00", "2022-04-01")
    assert third["support"] == "repeat"


def test_a_phase_opened_on_the_days_of_one_being_withdrawn_at_once_conflicts_on_the_calendar(client_on: TestClient) -> None:
    client, funding = client_on, application_of(client_on)
    mistake = created(client.post("/phases", json=MISTAKE))
    # Another process read the calendar before the withdrawal, and opens a phase from it: its save is refused by the
    # store, and its retry reads the calendar without the withdrawn phase's days.
    stale = funding.find(PhaseCalendar.id_for(), PhaseCalendar)
    assert stale is not None
    created(withdraw(client, mistake["id"]))
    stale.open_phase("F5", "Fase 5", date(2028, 1, 1), date(2028, 6, 30))
    with pytest.raises(IntegrityError):
        funding.save(stale)
    assert [p["code"] for p in client.get("/phases").json()] == ["9999-12-31"]
    created(client.post("/phases", json=F4))


def test_a_phase_a_round_was_opened_in_is_not_withdrawn_and_a_withdrawn_phase_takes_no_round(client: TestClient) -> None:
    phase = created(client.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}))
    created(client.post("/rounds", json=round_body(phase["id"])))
    before = head(client)
    refused = assert_problem(withdraw(client, phase["id"]), 409, "phase_id", "phase_without_rounds")
    assert "Fondos semilla 2021" in refused["detail"] and "not withdrawn" in refused["detail"]

    other = created(client.post("/phases", json={"code": "F2", "name": "Fase 2", "starts_on": "2022-01-01", "ends_on": "2022-12-31"}))
    created(withdraw(client, other["id"]))
    before = head(client)
    body = round_body(other["id"], opens_on="2022-05-01", closes_on="2022-05-31")
    assert "withdrawn" in assert_problem(client.post("/rounds", json=body), 409, "phase_id", "phase_not_withdrawn")["detail"]
    assert head(client) == before


def test_a_round_opened_in_the_phase_at_the_moment_it_is_withdrawn_conflicts_in_the_store(client_on: TestClient) -> None:
    client, funding = client_on, application_of(client_on)
    phase = created(client.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}))
    read = funding.get_phase(UUID(phase["id"]))  # a round being opened read the phase before the withdrawal
    created(withdraw(client, phase["id"]))
    read.enter_round(UUID(UNKNOWN))
    with pytest.raises(IntegrityError):
        funding.save(read)


def test_a_withdrawn_phase_is_withdrawn_once_and_an_unknown_one_is_404(client: TestClient) -> None:
    phase = created(client.post("/phases", json=MISTAKE))
    created(withdraw(client, phase["id"]))
    before = head(client)
    refused = assert_problem(withdraw(client, phase["id"], "duplicate"), 409, "phase_id", "phase_not_withdrawn")
    assert "withdrawn (entered_in_error)" in refused["detail"]
    assert_problem(withdraw(client, UNKNOWN), 404, "phase_id", "known_phase")
    assert head(client) == before


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({}, "reason", "missing"),
        ({"reason": "typo"}, "reason", "enum"),
        ({"reason": "wrong_dates", "note": ""}, "note", "string_too_short"),
        ({"reason": "wrong_dates", "note": "x" * 2001}, "note", "string_too_long"),
        ({"reason": "wrong_dates", "withdrawn_on": "2026-11-01"}, "withdrawn_on", "extra_forbidden"),
    ],
)
def test_a_bad_phase_withdrawal_is_422_naming_the_field_and_writes_nothing(client: TestClient, body: dict[str, Any], field: str, rule: str) -> None:
    phase = created(client.post("/phases", json=MISTAKE))
    before = head(client)
    assert_problem(client.post(f"/phases/{phase['id']}/withdrawal", json=body), 422, field, rule)
    assert head(client) == before and client.get("/phases").json()[0]["withdrawal"] is None


def test_only_those_who_open_phases_withdraw_them(client: TestClient) -> None:
    phase = created(client.post("/phases", json=MISTAKE))
    assert withdraw(client, phase["id"], headers={"Authorization": ""}).status_code == 401
    for role in ("staff", "auditor", "evaluator", "municipal-mml"):
        assert withdraw(SignedInAs(client, role), phase["id"]).status_code == 403, role
        assert SignedInAs(client, role).post(f"/phases/{phase['id']}/withdrawal/note/redaction").status_code == 403, role
    assert client.get("/phases").json()[0]["withdrawal"] is None
    assert created(withdraw(SignedInAs(client, "lead"), phase["id"]))["withdrawal"]["reason"] == "entered_in_error"


def test_a_dry_run_answers_as_the_phase_withdrawal_would_and_a_keyed_retry_records_one(client_on: TestClient) -> None:
    client = client_on
    phase = created(client.post("/phases", json=MISTAKE))
    before = head(client)
    dry = withdraw(client, phase["id"], params={"dry_run": "true"})
    assert dry.status_code == 201 and dry.headers["Dry-Run"] == "true" and dry.json()["withdrawal"]["reason"] == "entered_in_error"
    assert head(client) == before and client.get("/phases").json()[0]["withdrawal"] is None
    assert_problem(client.post("/phases", json=F4), 422, "starts_on", "phases_do_not_overlap")  # the dry run freed nothing

    key = {"Idempotency-Key": "withdraw-phase-9f1"}
    first = created(withdraw(client, phase["id"], headers=key))
    again = withdraw(client, phase["id"], headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true" and again.json() == first
    assert [e["type"] for e in feed(client)].count("PhaseWithdrawn") == 1
    assert_problem(withdraw(client, phase["id"], params={"dry_run": "true"}), 409, "phase_id", "phase_not_withdrawn")


def test_a_phase_withdrawal_note_is_redacted_for_good_and_one_never_written_is_409(client: TestClient) -> None:
    noted = created(client.post("/phases", json=MISTAKE))
    plain = created(client.post("/phases", json={**MISTAKE, "code": "F9", "starts_on": "2030-01-01", "ends_on": "2030-01-31"}))
    refused = assert_problem(client.post(f"/phases/{noted['id']}/withdrawal/note/redaction"), 409, "phase_id", "withdrawal_note")
    assert "not withdrawn" in refused["detail"]
    created(withdraw(client, noted["id"], note="Lo abrió Rosa Quispe"))
    created(withdraw(client, plain["id"]))
    assert client.post(f"/phases/{noted['id']}/withdrawal/note/redaction").status_code == 200
    assert client.get(f"/phases/{noted['id']}/history").json()[-1]["data"]["note"] == "[redacted]"
    assert client.post(f"/phases/{noted['id']}/withdrawal/note/redaction").status_code == 200  # a retry: forgotten again
    refused = assert_problem(client.post(f"/phases/{plain['id']}/withdrawal/note/redaction"), 409, "phase_id", "withdrawal_note")
    assert "without a note" in refused["detail"]
