"""What the report said at a moment: checkpoints plus the facts recorded since equal a full recomputation.

The same with corrections that reach back is ``test_reporting_as_of_corrections``; a report of a day with facts dated
ahead of it, ``test_reporting_as_of_a_day``; the generated log's own rules, ``tests/unit/test_programme_log``."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from services.reporting.domain.indicators import flatten
from services.reporting.domain.tally import report
from services.reporting.views.readmodel import ReadModel
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
