"""A report of a day, with facts dated ahead of their day and RUOS observations withdrawn: checkpoints plus the facts
recorded since equal a full recomputation cut at that day (``test_reporting_as_of``)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from services.reporting.domain.tally import evidence, report
from services.reporting.views.readmodel import ReadModel
from shared.clock import LIMA
from shared.settings import sqlalchemy_url
from shared.views import make_engine
from tests.support.programmelog import arriving_out_of_order, programme_log


def test_with_facts_dated_ahead_of_their_day_a_report_of_a_day_equals_a_full_recomputation_cut_at_that_day(database_url: str) -> None:
    """Tester 271 F2: a report of a day (its cut's in Lima, or today) leaves out the facts dated after it. Checkpoints count
    every fact; a report of a day starts from one that counted nothing after it and leaves the later-dated facts out as it
    folds on, merges, corrections and withdrawals among them: the same figures as folding every fact cut at that day."""
    events = programme_log(1500, seed=47, merges=0.02, corrections=0.02, joinings=0.02, ahead=0.08)
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=61, settle_seconds=3600)
    for batch in arriving_out_of_order(events, seed=11):
        readmodel.apply(batch)
    facts = readmodel.facts()
    assert len(readmodel.checkpoints()) >= 15
    assert sum(f.occurred_on > f.recorded_at.astimezone(LIMA).date() for f in facts) >= 80

    rng = random.Random(14)
    first, last = facts[0].recorded_at, facts[-1].recorded_at
    for cut in [first + (last - first) * rng.random() for _ in range(8)] + [last]:
        day = cut.astimezone(LIMA).date()
        known = [f for f in facts if f.recorded_at <= cut]
        for by in (None, "district"):
            assert readmodel.report(cut, by, today=day) == report(known, by, today=day), f"as of {cut.isoformat()} by {by}"
        found = readmodel.evidence("members_joined", "total", None, cut, today=day)["events"]
        assert [(e["event_id"], e["adds"]) for e in found] == [(e["event_id"], e["adds"]) for e in evidence(
            known, "members_joined", "total", today=day)["events"]]
    last_day = last.astimezone(LIMA).date()
    for day in (last_day, last_day + timedelta(days=1), last_day - timedelta(days=1), last_day):  # the latest tally, made again per day
        assert readmodel.report(None, "district", today=day) == report(facts, "district", today=day), day
    # a joining recorded dated the next day counts from that day on
    ahead = next(f for f in reversed(facts) if f.type == "MemberJoined" and f.occurred_on > f.recorded_at.astimezone(LIMA).date())
    joined = [readmodel.report(ahead.recorded_at, today=day)["total"]["members_joined"]["total"] for day in (
        ahead.occurred_on - timedelta(days=1), ahead.occurred_on)]
    assert joined[0] < joined[1], joined


@pytest.mark.postgres_in_faults
def test_with_observations_withdrawn_a_report_as_of_any_moment_equals_a_full_recomputation(database_url: str) -> None:
    """An RUOS observation withdrawn as entered in error (helper h293) is taken back in the phase of its day, after a
    merge in the survivor's district, from checkpoints made before the withdrawal too, and a day's report leaves out an
    observation dated ahead of it with its withdrawal. Once withdrawn, the figures are those of a log without it."""
    events = programme_log(800, seed=53, merges=0.02, withdrawals=0.01, ahead=0.08)
    withdrawn = {e["data"]["application_id"] for e in events if e["type"] == "RUOSObservationWithdrawn"}
    assert len(withdrawn) >= 5
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=41, settle_seconds=3600)
    for batch in arriving_out_of_order(events, seed=9):
        readmodel.apply(batch)
    facts = readmodel.facts()
    assert len(readmodel.checkpoints()) >= 10

    rng = random.Random(16)
    first, last = facts[0].recorded_at, facts[-1].recorded_at
    for cut in [first + (last - first) * rng.random() for _ in range(4)] + [last]:
        day = cut.astimezone(LIMA).date()
        known = [f for f in facts if f.recorded_at <= cut]
        for by in (None, "district"):
            assert readmodel.report(cut, by, today=day) == report(known, by, today=day), f"as of {cut.isoformat()} by {by}"
        found = readmodel.evidence("ruos_applications_observed", "total", None, cut, today=day)["events"]
        assert [(e["event_id"], e["adds"]) for e in found] == [(e["event_id"], e["adds"]) for e in evidence(
            known, "ruos_applications_observed", "total", today=day)["events"]]
    latest = readmodel.report(None, "district")
    never = [f for f in facts if f.type != "RUOSObservationWithdrawn" and f.data.get("application_id") not in withdrawn]
    assert latest == report(never, "district")
    assert latest != report([f for f in facts if f.type != "RUOSObservationWithdrawn"], "district")  # the withdrawals took back some
