"""What the report said at a moment, with corrections that reach back (nationalities, sexes, joining dates, and every
kind at once): checkpoints plus the facts recorded since equal a full recomputation (``test_reporting_as_of``)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import pytest

from services.reporting.domain.tally import report
from services.reporting.views.readmodel import ReadModel
from shared.clock import LIMA
from shared.settings import sqlalchemy_url
from shared.views import make_engine
from tests.support.programmelog import STRESSED, arriving_out_of_order, programme_log


@pytest.mark.postgres_in_faults
def test_with_nationalities_and_sexes_corrected_a_report_as_of_any_moment_equals_a_full_recomputation(database_url: str) -> None:
    """A correction reaches back to every phase the person was counted in (their joining, departure and projects, a
    checkpoint's included): a restored tally recalls the member's corrections with their projects, a merge moves what
    they restated. And once corrected, the figures are those of the person recorded right from the start."""
    events = programme_log(1500, seed=41, merges=0.02, corrections=0.04)
    corrected = [e for e in events if e["type"] in ("MemberNationalityCorrected", "MemberSexCorrected")]
    assert len(corrected) >= 30 and any(e["data"]["left_on"] for e in corrected)
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=61, settle_seconds=3600)
    for batch in arriving_out_of_order(events, seed=7):
        readmodel.apply(batch)
    facts = readmodel.facts()
    assert len(readmodel.checkpoints()) >= 15

    rng = random.Random(12)
    first, last = facts[0].recorded_at, facts[-1].recorded_at
    for cut in [first + (last - first) * rng.random() for _ in range(6)] + [last]:
        known = [f for f in facts if f.recorded_at <= cut]
        for by in (None, "zone", "district"):
            assert readmodel.report(cut, by) == report(known, by), f"as of {cut.isoformat()} by {by}"
    latest = readmodel.report(None, "district")
    assert latest == report(facts, "district")

    # every member's facts with the values they were corrected to, and no correction: the same figures
    final: dict[str, dict[str, str]] = {}
    for e in corrected:
        field = "nationality" if e["type"] == "MemberNationalityCorrected" else "sex"
        final.setdefault(e["data"]["member_id"], {})[field] = e["data"][field]
    right = [
        replace(f, data={**f.data, **final.get(str(f.data.get("member_id")), {})}) for f in facts
        if f.type not in ("MemberNationalityCorrected", "MemberSexCorrected")
    ]
    assert latest == report(right, "district")


@pytest.mark.postgres_in_faults
def test_with_joining_dates_corrected_a_report_as_of_any_moment_equals_a_full_recomputation(database_url: str) -> None:
    """A joining moved back to the day it happened reaches back to its phase (a checkpoint's included, and after a merge
    the survivor's district); a cut before the correction shows it where it was. Once corrected, the figures are those
    of the joinings recorded on the right day from the start."""
    events = programme_log(1500, seed=43, merges=0.02, corrections=0.02, joinings=0.03)
    moved = [e for e in events if e["type"] == "MemberJoiningDateCorrected"]
    assert len(moved) >= 20
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=61, settle_seconds=3600)
    for batch in arriving_out_of_order(events, seed=9):
        readmodel.apply(batch)
    facts = readmodel.facts()
    assert len(readmodel.checkpoints()) >= 15

    rng = random.Random(13)
    first, last = facts[0].recorded_at, facts[-1].recorded_at
    for cut in [first + (last - first) * rng.random() for _ in range(6)] + [last]:
        known = [f for f in facts if f.recorded_at <= cut]
        for by in (None, "district"):
            assert readmodel.report(cut, by) == report(known, by), f"as of {cut.isoformat()} by {by}"
    latest = readmodel.report(None, "district")
    assert latest == report(facts, "district")

    # every joining recorded on the day it was corrected to, and no joining correction: the same figures
    final = {e["data"]["member_id"]: e["data"]["joined_on"] for e in moved}
    right = [
        replace(f, data={**f.data, "joined_on": final[str(f.data["member_id"])]}, occurred_on=date.fromisoformat(final[str(f.data["member_id"])]))
        if f.type == "MemberJoined" and str(f.data.get("member_id")) in final else f
        for f in facts if f.type != "MemberJoiningDateCorrected"
    ]
    assert latest == report(right, "district")
    assert report([f for f in facts if f.type != "MemberJoiningDateCorrected"], "district") != latest  # the corrections moved something


@pytest.mark.postgres_in_faults
def test_with_every_kind_of_fact_that_reaches_back_a_report_from_checkpoints_equals_a_full_recomputation(database_url: str) -> None:
    """Helper 283's stress case: merges, corrections of sex and nationality, joinings moved back, a fifth of the facts
    dated ahead, checkpoints every 37 facts; by every breakdown, of the cut's day and of every day. Its log once held a
    member enrolled twice in one project, which engagement refuses (409 ``enrol_once``): the checkpoint's figures of
    ``agents_of_change.by_sex`` in F2 then differed from the full fold's."""
    events = programme_log(1200, seed=103, **STRESSED)
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=37, settle_seconds=3600)
    for batch in arriving_out_of_order(events, seed=5):
        readmodel.apply(batch)
    facts = readmodel.facts()
    assert len(readmodel.checkpoints()) >= 25
    assert sum(e["type"] == "MemberSexCorrected" for e in events) >= 5 and sum(e["type"] == "OSVMerged" for e in events) >= 20

    rng = random.Random(15)
    first, last = facts[0].recorded_at, facts[-1].recorded_at
    for cut in [first + (last - first) * rng.random() for _ in range(5)] + [last]:
        known = [f for f in facts if f.recorded_at <= cut]
        for today in (None, cut.astimezone(LIMA).date()):
            for by in (None, "zone", "district"):
                assert readmodel.report(cut, by, today=today) == report(known, by, today=today), f"as of {cut.isoformat()} by {by} on {today}"
    assert readmodel.report(None, "district") == report(facts, "district")
