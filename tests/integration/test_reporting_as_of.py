"""What the report said at a moment: checkpoints plus the facts recorded since equal a full recomputation."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from services.reporting.domain.indicators import flatten
from services.reporting.domain.tally import evidence, report
from services.reporting.views.readmodel import ReadModel
from shared.clock import LIMA
from shared.settings import sqlalchemy_url
from shared.views import make_engine
from tests.support.programmelog import arriving_out_of_order, cloudevent, programme_log


def test_a_report_as_of_any_moment_equals_a_full_recomputation_over_the_facts_recorded_by_then(database_url: str) -> None:
    events = programme_log(1500, seed=3)
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=97, settle_seconds=3600)
    for batch in arriving_out_of_order(events, seed=5):
        readmodel.apply(batch)
    facts = readmodel.facts()
    assert len(facts) == 1500
    assert len(readmodel.checkpoints()) >= 10  # the property below runs over checkpoints, not a replay

    rng = random.Random(8)
    first, last = facts[0].recorded_at, facts[-1].recorded_at
    cuts = [first + (last - first) * rng.random() for _ in range(12)] + [facts[700].recorded_at, last]
    for cut in cuts:
        known = [f for f in facts if f.recorded_at <= cut]
        for by in (None, "zone"):
            assert readmodel.report(cut, by) == report(known, by), f"as of {cut.isoformat()} by {by}"
    assert readmodel.report() == report(facts)


@pytest.mark.postgres_in_faults
def test_with_merges_departures_and_dissolutions_a_report_as_of_any_moment_still_equals_a_full_recomputation(database_url: str) -> None:
    """A merge across districts and a dissolution reach back to facts folded before (a checkpoint's included): the read model
    hands its tally their history, and a restored tally comes to what folding everything does, by zone, district and municipality."""
    events = programme_log(1500, seed=31, merges=0.02)
    merged = [e for e in events if e["type"] == "OSVMerged"]
    assert len(merged) >= 10 and len({e["data"]["district"] for e in merged}) > 3
    assert sum(e["type"] in ("MemberLeft", "OSVDissolved") for e in events) > 40
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=61, settle_seconds=3600)
    for batch in arriving_out_of_order(events, seed=6):
        readmodel.apply(batch)
    facts = readmodel.facts()
    assert len(readmodel.checkpoints()) >= 15

    rng = random.Random(10)
    first, last = facts[0].recorded_at, facts[-1].recorded_at
    for cut in [first + (last - first) * rng.random() for _ in range(8)] + [last]:
        known = [f for f in facts if f.recorded_at <= cut]
        for by in (None, "zone", "district"):
            assert readmodel.report(cut, by) == report(known, by), f"as of {cut.isoformat()} by {by}"
        within = frozenset({"Comas", "Ate"})
        assert readmodel.report(cut, "district", within) == report(known, "district", within), f"as of {cut.isoformat()} within"
    latest = readmodel.report(None, "district")
    assert latest == report(facts, "district")
    # a merge moves what the record's own facts counted, nothing of another OSV's (a member of two OSVs, say): no district goes below 0
    for block in latest["breakdown"]["groups"].values():
        for figures in [*(p["indicators"] for p in block["phases"]), block["total"]]:
            for name in ("members_joined", "members_left", "agents_of_change", "projects_active", "disbursed_pen", "goods_delivered_pen"):
                assert all(Decimal(str(v)) >= 0 for v in flatten(figures[name]).values()), (name, figures[name])


def test_a_fact_recorded_before_a_checkpoint_but_delivered_after_it_drops_the_checkpoints_it_makes_wrong(database_url: str) -> None:
    events = programme_log(400, seed=21)
    held_back = [e for e in events if e["source"].endswith("funding")][5:]  # funding's relay was stuck
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=40, settle_seconds=0)
    readmodel.apply([e for e in events if e not in held_back])
    made = readmodel.checkpoints()
    assert len(made) >= 5

    readmodel.apply(held_back, checkpoint=False)  # recorded long ago, delivered now
    earliest = min(datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in held_back)
    kept = readmodel.checkpoints()
    assert kept == [checkpoint for checkpoint in made if checkpoint[0] < earliest] and len(kept) < len(made)
    assert readmodel.report() == report(readmodel.facts())

    assert readmodel.advance_checkpoints() > 0
    assert len(readmodel.checkpoints()) > len(made)  # 400 facts now, not 395-odd
    assert readmodel.report() == report(readmodel.facts())


def test_opening_a_phase_after_its_facts_remakes_every_checkpoint_cut_by_the_new_phase(database_url: str) -> None:
    events = [e for e in programme_log(400, seed=22) if e["type"] != "PhaseOpened"]
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=40, settle_seconds=0)
    readmodel.apply(events)
    before = readmodel.checkpoints()
    late = cloudevent("funding", 10_000, "PhaseOpened", "p9", datetime(2030, 1, 1, tzinfo=timezone.utc), phase_id="p9", code="F1",
                      name="Fase 1", starts_on="2021-01-01", ends_on="2021-06-30", occurred_on="2021-01-01")
    readmodel.apply([late])
    after = readmodel.checkpoints()
    assert {len(bounds) for _, _, bounds in before} == {0}  # no phase yet: one segment
    assert [cut for cut, _, _ in after] == [cut for cut, _, _ in before]
    assert {len(bounds) for _, _, bounds in after} == {2}  # made again, cut at F1's first day and the day after its last
    result = readmodel.report()
    assert [p["code"] for p in result["phases"]] == ["F1"] and result == report(readmodel.facts())
    assert result["phases"][0]["indicators"]["osvs_identified"] > 0


def test_opening_the_next_phase_re_cuts_the_checkpoints_without_folding_the_facts_again(database_url: str, monkeypatch: Any) -> None:
    """The next phase (starting after every day counted) only splits the checkpoints' last segment: none is folded again."""
    from services.reporting.domain.tally import Tally

    events = programme_log(400, seed=23)
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=40, settle_seconds=0)
    readmodel.apply(events)
    readmodel.advance_checkpoints()
    before = readmodel.checkpoints()
    assert len(before) >= 8 and {len(bounds) for _, _, bounds in before} == {2}  # F1 alone (the log stops before F2 opens)

    folded: list[int] = []
    fold = Tally.fold

    def counting(tally: Tally, facts: Any) -> Tally:
        facts = list(facts)
        folded.append(len(facts))
        return fold(tally, facts)

    monkeypatch.setattr(Tally, "fold", counting)
    last = max(datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in events)
    assert max(e["data"].get("occurred_on", "") for e in events) < "2021-07-01"
    readmodel.apply([cloudevent("funding", 10_000, "PhaseOpened", "p2", last + timedelta(hours=1), phase_id="p2", code="F2",
                                name="Fase 2", starts_on="2021-07-01", ends_on="2021-12-31", occurred_on="2021-07-01")])
    readmodel.advance_checkpoints()
    after = readmodel.checkpoints()
    assert [(cut, facts) for cut, facts, _ in after] == [(cut, facts) for cut, facts, _ in before]
    assert {len(bounds) for _, _, bounds in after} == {3}  # F2 adds the day after its last
    assert sum(folded) == 0  # re-cut, not folded again

    result = readmodel.report()
    assert sum(folded) < 40  # only the facts recorded after the last checkpoint
    facts = readmodel.facts()
    assert [p["code"] for p in result["phases"]] == ["F1", "F2"] and result == report(facts)
    rng = random.Random(9)
    for cut in [facts[0].recorded_at + (last - facts[0].recorded_at) * rng.random() for _ in range(6)]:
        assert readmodel.report(cut, "zone") == report([f for f in facts if f.recorded_at <= cut], "zone"), cut.isoformat()


def test_a_report_right_after_the_next_phase_opened_re_cuts_its_checkpoint_as_it_reads_it(database_url: str) -> None:
    """Before the checkpoints are saved re-cut (the consumer applied the phase without its checkpoint step), reports re-cut them in memory."""
    events = programme_log(300, seed=24)
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=30, settle_seconds=0)
    readmodel.apply(events)
    readmodel.advance_checkpoints()
    last = max(datetime.fromisoformat(e["time"].replace("Z", "+00:00")) for e in events)
    readmodel.apply([cloudevent("funding", 10_000, "PhaseOpened", "p2", last + timedelta(hours=1), phase_id="p2", code="F2",
                                name="Fase 2", starts_on="2021-07-01", ends_on="2021-12-31", occurred_on="2021-07-01")], checkpoint=False)
    assert {len(bounds) for _, _, bounds in readmodel.checkpoints()} == {2}  # still cut by F1 alone
    facts = readmodel.facts()
    assert readmodel.report(None, "district") == report(facts, "district")
    middle = facts[len(facts) // 2].recorded_at
    assert readmodel.report(middle) == report([f for f in facts if f.recorded_at <= middle])


def test_the_former_checkpoints_table_is_left_to_replicas_of_the_earlier_version(database_url: str) -> None:
    """Checkpoints now say their latest day, in a table of their own (since 2026-12 ``tally_checkpoints_2``, now
    ``tally_checkpoints_9``: the counts changed); a replica of the earlier version still running keeps its table."""
    from sqlalchemy import inspect, text

    engine = make_engine(sqlalchemy_url(database_url))
    blob = "BYTEA" if engine.dialect.name == "postgresql" else "BLOB"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE checkpoints (id INTEGER PRIMARY KEY, cut TIMESTAMP, bounds TEXT, facts INTEGER, state {blob})"))
        connection.execute(text("INSERT INTO checkpoints (id, bounds, facts) VALUES (1, '[]', 0)"))
    readmodel = ReadModel(engine, checkpoint_every=20, settle_seconds=0)
    readmodel.apply(programme_log(100, seed=25))
    assert inspect(engine).has_table("tally_checkpoints_9") and readmodel.checkpoints()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM checkpoints")).scalar() == 1  # left as it was
    assert readmodel.report() == report(readmodel.facts())


BY_SEX = ("members_joined/by_sex.", "members_left/by_sex.")


def _without_by_sex(state: dict[str, Any]) -> None:
    state["counters"] = [c for c in state["counters"] if not str(c[0]).startswith(BY_SEX)]


def _without_listed(state: dict[str, Any]) -> None:
    state.pop("listed", None)


def _without_pb_dollars(state: dict[str, Any]) -> None:
    state["counters"] = [c for c in state["counters"] if c[0] != "participatory_budget/amount_funded_usd"]


@pytest.mark.parametrize("former, made_so", [
    ("tally_checkpoints_2", _without_by_sex), ("tally_checkpoints_3", _without_listed), ("tally_checkpoints_4", _without_pb_dollars),
])
def test_checkpoints_of_versions_that_counted_by_other_rules_are_left_and_made_again(
    database_url: str, former: str, made_so: Callable[[dict[str, Any]], None],
) -> None:
    """``tally_checkpoints_2``'s counters count members who joined and left by nationality only (tester 184 F5): a tally
    restored from one would count by sex only the joinings folded after it, and a sex correction would take a member back
    from a sex they were never counted under. ``tally_checkpoints_3``'s states do not say which activities listed a member
    record (helper 189, tester 187 F1): a merge folded after one would count twice a person an activity listed by both
    records. ``tally_checkpoints_4``'s counters count no participatory budget's amount funded in dollars (tester 208 F2).
    ``tally_checkpoints_6``'s ``latest_day`` leaves out a day a correction counted a joining on (tester 271 F2).
    ``tally_checkpoints_7``'s were made by versions that did not read a registration's correction (tester t286 F1), and
    ``tally_checkpoints_8``'s by versions that did not read an observation's withdrawal (helper h293). This version keeps
    its own (``tally_checkpoints_9``), made again from the facts; the former tables are left to
    replicas of the versions before."""
    import zlib

    from sqlalchemy import text

    from services.reporting.views.checkpoints import state_of
    from shared.views import json_dumps

    engine = make_engine(sqlalchemy_url(database_url))
    events = programme_log(300, seed=26, corrections=0.05)
    ReadModel(engine, checkpoint_every=20, settle_seconds=0).apply(events)
    # what the version before left: checkpoints counted by its rules, in its table, and none in this version's
    blob = "BYTEA" if engine.dialect.name == "postgresql" else "BLOB"
    with engine.begin() as connection:
        rows = connection.execute(text("SELECT id, cut, bounds, facts, latest_day, state FROM tally_checkpoints_9")).all()
        connection.execute(text(f"CREATE TABLE {former} (id INTEGER PRIMARY KEY, cut TIMESTAMP, bounds TEXT, facts INTEGER, "
                                f"latest_day INTEGER, state {blob})"))
        for row in rows:
            state = state_of(row)
            made_so(state)
            connection.execute(text(f"INSERT INTO {former} VALUES (:id, :cut, :bounds, :facts, :latest_day, :state)"),
                               {**row._asdict(), "state": zlib.compress(json_dumps(state), 1)})
        connection.execute(text("DELETE FROM tally_checkpoints_9"))
    assert rows

    upgraded = ReadModel(engine, checkpoint_every=20, settle_seconds=0)
    facts = upgraded.facts()
    middle = facts[len(facts) // 2].recorded_at
    assert upgraded.report(middle, "district") == report([f for f in facts if f.recorded_at <= middle], "district")
    assert upgraded.report() == report(facts)
    assert upgraded.report()["total"]["members_joined"]["by_sex"]
    assert upgraded.report(middle)["total"]["participatory_budget"]["amount_funded_usd"] != "0.00"
    upgraded.advance_checkpoints()
    assert upgraded.checkpoints() and upgraded.report(middle) == report([f for f in facts if f.recorded_at <= middle])
    with engine.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM {former}")).scalar() == len(rows)  # left as it was


def test_a_checkpoint_folded_while_another_replica_applies_a_late_fact_is_not_saved_without_it(database_url: str, monkeypatch: Any) -> None:
    """Replica a folds checkpoints while replica b applies facts recorded long before (a relay held up): none is kept without them."""
    events = programme_log(400, seed=21)
    held_back = [e for e in events if e["source"].endswith("funding")][5:]  # funding's relay was stuck
    url = sqlalchemy_url(database_url)
    a = ReadModel(make_engine(url), checkpoint_every=40, settle_seconds=0)
    b = ReadModel(make_engine(url), checkpoint_every=40, settle_seconds=0)
    a.apply([e for e in events if e not in held_back], checkpoint=False)
    assert a.checkpoints() == []

    fold, calls = ReadModel._fold, []

    def folding(self: ReadModel, connection: Any, tally: Any, facts: Any) -> None:
        calls.append(len(facts))
        if self is a and len(calls) == 3:
            b.apply(held_back, checkpoint=False)  # meanwhile, at replica b
        fold(self, connection, tally, facts)

    monkeypatch.setattr(ReadModel, "_fold", folding)
    a.advance_checkpoints()
    monkeypatch.setattr(ReadModel, "_fold", fold)

    facts = a.facts()
    assert len(facts) == 400
    for readmodel in (a, b):
        assert readmodel.report(facts[-1].recorded_at) == report(facts)
        assert readmodel.report() == report(facts)
    a.advance_checkpoints()  # the next round makes them, with the late facts
    assert len(a.checkpoints()) >= 8 and a.report(facts[-1].recorded_at) == report(facts)


def test_a_report_past_a_dissolution_reads_the_osvs_earlier_facts_by_their_index_made_at_start_on_an_older_read_model(
    database_url: str,
) -> None:
    """A restored tally folding a dissolution asks for the OSV's earlier facts. That read went through every fact of the
    indicators' types up to the cut (0.35 s at 200,000 events, 2.7 s at a million: as-of p99 far past its 250 ms); it
    now goes by ``ix_facts_osv``, which a read model made before gets when its service starts."""
    from sqlalchemy import event, text

    engine = make_engine(sqlalchemy_url(database_url))
    postgres = engine.dialect.name == "postgresql"
    events = programme_log(1500, seed=31, merges=0.02)
    ReadModel(engine, checkpoint_every=61, settle_seconds=3600).apply(events)
    with engine.begin() as connection:  # a read model made before the index
        connection.execute(text("DROP INDEX IF EXISTS ix_facts_osv"))
    readmodel = ReadModel(engine, checkpoint_every=61, settle_seconds=3600)

    by_osv: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM facts" in statement and "osv_id" in statement + str(parameters):  # the facts naming an OSV in their data
            by_osv.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        facts = readmodel.facts()
        for dissolution in [f for f in facts if f.type == "OSVDissolved"][:5]:
            readmodel.report(dissolution.recorded_at)
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    assert by_osv, "no report read an OSV's earlier facts"
    with engine.begin() as connection:
        if postgres:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # the test's tables are small enough to scan
        for statement, parameters in by_osv:
            plan = " ".join(str(row) for row in connection.exec_driver_sql(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + statement, parameters))
            assert "ix_facts_osv" in plan, plan


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


STRESSED = {"merges": 0.04, "corrections": 0.03, "joinings": 0.03, "ahead": 0.2}
"""The stress case of helper 283: every kind of fact that reaches back, dated ahead a fifth of the time."""


@pytest.mark.parametrize("count, seed, shares", [(1200, 103, STRESSED), (1500, 3, {}), (1500, 41, {"merges": 0.02, "corrections": 0.04})])
def test_the_programme_log_enrols_and_closes_projects_only_as_engagement_and_funding_would(
    count: int, seed: int, shares: dict[str, float],
) -> None:
    """Helper 283: the log enrolled a member twice in a project (and in projects of OSVs they were no member of, and of
    goods), which engagement refuses, and a checkpoint's report then differed from the full fold's. Each enrolment is of
    an active member of the granted OSV, in a seed fund's open project, once, on or after the grant and the joining; a
    withdrawal ends it once, not before it; a grant closes once, not before its project's enrolments."""
    joined: dict[str, tuple[str, str]] = {}  # member -> OSV, joined on
    left: set[str] = set()
    granted: dict[str, tuple[str, str, str]] = {}  # grant -> OSV, kind, granted on
    closed: dict[str, str] = {}
    enrolled: dict[tuple[str, str], str] = {}
    withdrew: set[tuple[str, str]] = set()
    for e in programme_log(count, seed=seed, **shares):
        d, kind = e["data"], e["type"]
        if kind in ("MemberJoined", "MemberJoiningDateCorrected"):
            joined[d["member_id"]] = (d["osv_id"], d["joined_on"])
        elif kind == "MemberLeft":
            left.add(d["member_id"])
        elif kind == "FundGranted":
            granted[d["grant_id"]] = (d["osv_id"], d["kind"], d["granted_on"])
        elif kind == "GrantClosed":
            assert d["grant_id"] not in closed, e
            assert all(d["closed_on"] >= day for (_, grant), day in enrolled.items() if grant == d["grant_id"]), e
            closed[d["grant_id"]] = d["closed_on"]
        elif kind == "ParticipantEnrolled":
            member, grant = d["member_id"], d["grant_id"]
            osv, what, granted_on = granted[grant]
            assert (member, grant) not in enrolled and member not in left and grant not in closed, e
            assert (d["osv_id"], what) == (osv, "seed_fund") and joined[member][0] == osv, e
            assert d["enrolled_on"] >= max(granted_on, joined[member][1]), e
            enrolled[(member, grant)] = d["enrolled_on"]
        elif kind == "ParticipantWithdrew":
            member, grant = d["member_id"], d["grant_id"]
            assert (member, grant) not in withdrew and d["withdrew_on"] >= enrolled[(member, grant)], e
            withdrew.add((member, grant))
    assert len(enrolled) >= 30 and withdrew and any(grant in closed for _, grant in enrolled)


@pytest.mark.parametrize("count, seed, shares", [(1200, 103, STRESSED), (1500, 3, {})])
def test_the_programme_log_pays_grants_out_only_as_funding_would(count: int, seed: int, shares: dict[str, float]) -> None:
    """Session 65's note: the log paid tranches and goods after a grant's closing, goods on seed funds and tranches on
    goods grants, every tranche numbered 1, beyond the grant and in another currency, all of which funding refuses.
    Each tranche is a seed fund's next, each delivery a goods grant's, in the grant's currency, within its amount, on
    an open grant, not before the grant nor the payout before it; a closing is not before the last payout."""
    granted: dict[str, tuple[str, Decimal, str, str]] = {}  # grant -> kind, amount, currency, granted on
    paid: dict[str, list[tuple[Decimal, str]]] = {}  # grant -> each payout's value and day
    closed: set[str] = set()
    for e in programme_log(count, seed=seed, **shares):
        d, kind = e["data"], e["type"]
        if kind == "FundGranted":
            granted[d["grant_id"]] = (d["kind"], Decimal(d["amount"]), d["currency"], d["granted_on"])
        elif kind in ("DisbursementMade", "GoodsDelivered"):
            what, amount, currency, granted_on = granted[d["grant_id"]]
            before = paid.setdefault(d["grant_id"], [])
            value, on = (Decimal(d["amount"]), d["disbursed_on"]) if kind == "DisbursementMade" else (Decimal(d["total_value"]), d["delivered_on"])
            assert what == ("seed_fund" if kind == "DisbursementMade" else "goods") and d["currency"] == currency, e
            assert d["grant_id"] not in closed and on >= max([granted_on, *(day for _, day in before)]), e
            assert kind == "GoodsDelivered" or d["tranche"] == len(before) + 1, e
            assert sum(v for v, _ in before) + value <= amount, e
            before.append((value, on))
        elif kind == "GrantClosed":
            assert d["closed_on"] >= max(day for _, day in paid.get(d["grant_id"], [(None, "")])), e
            closed.add(d["grant_id"])
    tranches = [n for grant, payouts in paid.items() if granted[grant][0] == "seed_fund" for n in range(len(payouts))]
    assert max(tranches) >= 1 and any(granted[grant][0] == "goods" for grant in paid) and closed & set(paid)


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
