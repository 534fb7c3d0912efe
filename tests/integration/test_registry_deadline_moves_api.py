"""A día no laborable decreed or revoked after an observation moves its amendment deadline, and the partners of the
OSV's municipality hear of it (tester 37d F4): over HTTP, on SQLite and PostgreSQL, NATS out of reach."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from shared.roles import ALL_LIMA
from tests.support.api import assert_problem
from tests.support.clients import FakeToday, feed, head
from tests.support.identity import IssuedTokens
from tests.support.ruos import ALL_DOCUMENTS, COMAS, SJL, new_osv, step

DECREE = "D.S. N.º 998-2022-PCM"


@pytest.fixture
def store(database_url: str) -> str:
    """Every story here runs on SQLite, then on PostgreSQL."""
    return database_url


@pytest.fixture
def today() -> FakeToday:
    """Registry's clock: the decree is recorded on Sunday 4 September 2022, after every observation below and the day
    before the day it makes non-working (a day later than tomorrow in Lima is refused, 422 ``not_in_future``)."""
    return FakeToday(date(2022, 9, 4))


def observed(client: TestClient, osv_id: str, observed_on: str, window: int, municipality_id: str) -> str:
    """An application of the OSV to ``municipality_id``'s RUOS, observed on ``observed_on`` with ``window`` working days."""
    body = {"municipality_id": municipality_id, "submitted_on": "2022-08-25", "documents": ALL_DOCUMENTS}
    application_id = str(client.post(f"/osvs/{osv_id}/ruos-applications", json=body).json()["application_id"])
    answer = step(client, osv_id, application_id, "observation", observed_on=observed_on,
                  reasons=[{"code": "signatures_missing"}], amend_within_working_days=window)
    assert answer.status_code == 201, answer.text
    return application_id


def moves(events: list[dict[str, Any]]) -> list[tuple[str, str, str, str, str | None]]:
    """Each ``RUOSAmendmentDeadlineMoved`` as (application, previous deadline, new deadline, municipality, revoked)."""
    return [
        (e["data"]["application_id"], e["data"]["previous_amend_by"], e["data"]["amend_by"], e.get("municipality"), e["data"]["revoked"])
        for e in events if e["type"] == "RUOSAmendmentDeadlineMoved"
    ]


def test_a_day_decreed_within_an_observed_applications_window_tells_its_municipalitys_partner_the_new_deadline(
    registry: TestClient, tokens: IssuedTokens
) -> None:
    # Observed Thursday 1 September with 3 working days: Friday 2, Monday 5, Tuesday 6.
    zarate = new_osv(registry, name="Vecinos Solidarios de Zárate", district="San Juan de Lurigancho", mapped_on="2022-03-15")
    moved = observed(registry, zarate, "2022-09-01", 3, SJL)
    to_the_mml = new_osv(registry, name="Club de Madres de Canto Rey", district="San Juan de Lurigancho", mapped_on="2022-03-15")
    moved_in_the_mml = observed(registry, to_the_mml, "2022-09-01", 3, "mml")
    collique = new_osv(registry, name="Vecinos Unidos de Collique", mapped_on="2022-03-15")
    moved_in_comas = observed(registry, collique, "2022-09-01", 3, COMAS)
    # Observed Friday 2 with 1 working day: Monday 5, so Monday decreed moves it; amended already, it moves no more.
    amended = new_osv(registry, name="Vecinos que Enmendaron", district="San Juan de Lurigancho", mapped_on="2022-03-15")
    amended_application = observed(registry, amended, "2022-09-02", 1, SJL)
    assert step(registry, amended, amended_application, "amendment", amended_on="2022-09-02", documents=["croquis"]).status_code == 201
    # Observed Thursday 1 with 1 working day: Friday 2, before the day decreed.
    unmoved = new_osv(registry, name="Vecinos de Setiembre", district="San Juan de Lurigancho", mapped_on="2022-03-15")
    observed(registry, unmoved, "2022-09-01", 1, SJL)

    key = {"Idempotency-Key": f'"{uuid4()}"'}
    decreed = registry.post("/non-working-days", json={"day": "2022-09-05", "decree": DECREE}, headers=key)
    assert decreed.status_code == 201, decreed.text
    everything = feed(registry)
    assert moves(everything) == [
        (moved, "2022-09-06", "2022-09-07", SJL, False),
        (moved_in_the_mml, "2022-09-06", "2022-09-07", SJL, False),  # under the OSV's district, as its other RUOS events
        (moved_in_comas, "2022-09-06", "2022-09-07", COMAS, False),
    ]
    told = next(e for e in everything if e["type"] == "RUOSAmendmentDeadlineMoved")
    assert told["data"] == {
        "osv_id": zarate, "application_id": moved, "municipality_id": SJL, "amend_by": "2022-09-07", "previous_amend_by": "2022-09-06",
        "moved_on": "2022-09-04", "day": "2022-09-05", "decree": DECREE, "revoked": False, "occurred_on": "2022-09-04",
    }
    assert told["subject"] == zarate
    decree_at = next(e["position"] for e in everything if e["type"] == "NonWorkingDayDecreed")
    assert [e["position"] for e in everything if e["type"] == "RUOSAmendmentDeadlineMoved"] == [decree_at + 1, decree_at + 2, decree_at + 3]
    # San Juan de Lurigancho's partner hears of its two OSVs' applications, the MML's of every one; the deadline shown is the same.
    partner = registry.get("/events", params={"limit": 1000}, headers=tokens.headers(f"partner-{SJL}")).json()["events"]
    assert [m[0] for m in moves(partner)] == [moved, moved_in_the_mml]
    mml = registry.app.state.runtime.event_page(0, 1000, ALL_LIMA, programme=False).events  # type: ignore[attr-defined]
    assert [m[0] for m in moves(mml)] == [moved, moved_in_the_mml, moved_in_comas]
    assert registry.get(f"/osvs/{zarate}/ruos-applications/{moved}").json()["amend_by"] == "2022-09-07"
    history = registry.get(f"/osvs/{zarate}/history").json()
    assert history[-1]["type"] == "RUOSAmendmentDeadlineMoved"

    # Sent again, with its key or without: no second decree, no second move.
    written = head(registry)
    again = registry.post("/non-working-days", json={"day": "2022-09-05", "decree": DECREE}, headers=key)
    assert (again.status_code, again.json(), again.headers["idempotent-replayed"]) == (201, decreed.json(), "true")
    assert_problem(registry.post("/non-working-days", json={"day": "2022-09-05", "decree": DECREE}), 409, "day", "non_working_day_once")
    assert head(registry) == written

    # The revocation moves them back, and a second one finds no day to revoke.
    revoked = registry.post("/non-working-days/2022-09-05/revocation", json={"revoked_by": "D.S. N.º 999-2022-PCM"})
    assert revoked.status_code == 201, revoked.text
    # Why is staff's words: not in the event, which goes out under none, which the MML's partner reads (tester 135 F2)
    [revocation] = [e for e in feed(registry) if e["type"] == "NonWorkingDayRevoked"]
    assert revocation["data"] == {"day": "2022-09-05", "occurred_on": "2022-09-05"}
    assert moves(feed(registry))[3:] == [
        (moved, "2022-09-07", "2022-09-06", SJL, True),
        (moved_in_the_mml, "2022-09-07", "2022-09-06", SJL, True),
        (moved_in_comas, "2022-09-07", "2022-09-06", COMAS, True),
    ]
    written = head(registry)
    assert registry.post("/non-working-days/2022-09-05/revocation", json={"revoked_by": "again"}).status_code == 404
    assert head(registry) == written


def test_a_day_that_moves_no_deadline_records_the_decree_alone(registry: TestClient) -> None:
    osv_id = new_osv(registry, name="Vecinos Unidos de Collique", mapped_on="2022-03-15")
    observed(registry, osv_id, "2022-09-01", 3, COMAS)
    for day, scope in (("2022-09-05", "Región Cusco"), ("2022-08-31", "nacional")):  # elsewhere, before
        assert registry.post("/non-working-days", json={"day": day, "decree": DECREE, "scope": scope}).status_code == 201
    # A Saturday is refused as a mistyped day (tester 208 F8), whatever its scope: it moves no deadline either way.
    saturday = registry.post("/non-working-days", json={"day": "2022-09-03", "decree": DECREE, "scope": "nacional"})
    assert_problem(saturday, 422, "day", "working_day")
    assert moves(feed(registry)) == []


def test_a_decree_recorded_after_a_deadline_lapsed_moves_it_and_an_amendment_within_the_new_one_is_taken(
    registry: TestClient,
) -> None:
    """Tester 208 F8: a decree recorded after the deadline it moves had lapsed made the missed deadline met. That is the
    rule: a decree is published before its day, so the deadline really was the later one, and the programme, recording
    the decree late, catches up with it. An application rejected for the missed deadline before the decree was recorded
    stays rejected: it is under observation no more, and no deadline of it moves."""
    # Observed Thursday 25 August 2022 with 1 working day: Friday 26 (lapsed by Sunday 4 September, registry's today).
    late = new_osv(registry, name="Vecinos de la Quebrada", mapped_on="2022-03-15")
    moved = observed(registry, late, "2022-08-25", 1, COMAS)
    rejected_osv = new_osv(registry, name="Vecinos del Cerro", mapped_on="2022-03-15")
    rejected = observed(registry, rejected_osv, "2022-08-25", 1, COMAS)
    missed = step(registry, rejected_osv, rejected, "rejection", rejected_on="2022-09-01", reason="amendment_deadline_missed")
    assert missed.status_code == 201, missed.text

    # Friday 26 decreed non-working, recorded on Sunday 4 September: the deadline moves past Monday 29 (shipped, D.S.
    # 033-2022-PCM) and Tuesday 30 (Santa Rosa de Lima) to Wednesday 31.
    assert registry.post("/non-working-days", json={"day": "2022-08-26", "decree": DECREE}).status_code == 201
    assert moves(feed(registry)) == [(moved, "2022-08-26", "2022-08-31", COMAS, False)]
    moved_event = next(e for e in feed(registry) if e["type"] == "RUOSAmendmentDeadlineMoved")
    assert moved_event["data"]["moved_on"] == "2022-09-04"
    assert registry.get(f"/osvs/{late}/ruos-applications/{moved}").json()["amend_by"] == "2022-08-31"
    # An amendment dated Thursday 1 September is late; one dated Wednesday 31 August, within it, is taken.
    assert_problem(step(registry, late, moved, "amendment", amended_on="2022-09-01", documents=["croquis"]), 422,
                   "amended_on", "within_amendment_deadline")
    amended = step(registry, late, moved, "amendment", amended_on="2022-08-31", documents=["croquis"])
    assert amended.status_code == 201, amended.text
    assert registry.get(f"/osvs/{rejected_osv}/ruos-applications/{rejected}").json()["status"] == "rejected"
