"""The read model's alert facts (the side tables ``GET /alerts`` reads), on SQLite and PostgreSQL: every fact dated
after a dissolution or a merge whatever order the events arrive in, after a rebuild, and in a read model made before
each alert. The API's stories are ``test_dashboard_alerts``; the facts carried forward as they arrive,
``test_dashboard_alerts_carried_forward``."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.reporting.domain.alerts import ALERT_TYPES, alerts
from services.reporting.views.readmodel import ReadModel
from services.reporting.views.tables import AFTER_DISSOLUTION, AFTER_MERGE, DATED_AHEAD, LOOKED_BACK
from shared.municipalities import MunicipalityTable
from shared.settings import sqlalchemy_url
from shared.views import make_engine
from tests.support.alertlog import batches_in, watched_log

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("order", ["registry first", "registry last", "services interleaved"])
def test_the_read_model_hands_the_alerts_every_fact_dated_after_a_dissolution_whatever_order_the_events_arrive_in(
    database_url: str, order: str
) -> None:
    """The alerts read only the facts the read model keeps as dated after a dissolution: the same alert as from every
    fact, now and as of any moment, whether a fact arrives before or after the dissolution that judges it."""
    events, ids = watched_log()
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)))
    for batch in batches_in(order, events):
        readmodel.apply(batch)
    municipalities = MunicipalityTable.of_lima().all()
    today = date(2023, 6, 1)

    found = alerts(readmodel.alert_facts(), today, municipalities)
    assert found == alerts(readmodel.facts(), today, municipalities)
    listed = {item.event_id: item for item in found.recorded_after_dissolution}
    assert len(listed) > 20
    after_merge = {item.event_id: item for item in found.recorded_after_merge}
    others = [f for f in readmodel.alert_facts() if f.type not in ALERT_TYPES]
    withdrawn = {f.data["activity_id"] for f in others if f.type == "ActivityWithdrawn"}
    taken_back = {f.event_id for f in others if f.type == "ActivityWithdrawn" or f.data.get("activity_id") in withdrawn}
    assert {ids["withdrawn_early"], ids["withdrawn_late"], ids["withdrawal"], ids["merged_activity"]} <= taken_back
    # no other grant nor member, only the withdrawals of those listed
    assert {f.event_id for f in others} - taken_back <= set(listed) | set(after_merge)
    backlog = after_merge[ids["backlog"]]
    assert (backlog.osv_id, backlog.merged_osv_id, backlog.type, backlog.amount) == (ids["alive"], ids["duplicate"], "FundGranted", "300.00")
    assert not {ids["before_merge"], ids["tranche"], ids["merged_activity"], ids["merged_fact"]} & set(after_merge)
    assert len(after_merge) >= 5  # the random log's facts on the two merged records, recorded after their merges, too
    assert listed[ids["dated_ahead"]].osv_id == ids["dissolved"]
    assert (listed[ids["merged_fact"]].osv_id, listed[ids["merged_fact"]].merged_osv_id) == (ids["dissolved"], ids["merged"])
    assert ids["withdrawn_early"] not in listed and ids["withdrawn_late"] not in listed  # withdrawn: taken back
    assert (listed[ids["scored"]].type, listed[ids["scored"]].date_field, listed[ids["scored"]].amount) == ("ProposalScored", "scored_on", None)
    recorded = sorted(f.recorded_at for f in readmodel.facts())
    time_of = {f.event_id: f.recorded_at for f in readmodel.facts()}
    withdrawal, merged_withdrawal = time_of[ids["withdrawal"]] - timedelta(seconds=1), time_of[ids["merged_withdrawal"]] - timedelta(seconds=1)
    for cut in (recorded[len(recorded) // 3], recorded[2 * len(recorded) // 3], withdrawal, merged_withdrawal):
        assert alerts(readmodel.alert_facts(cut), today, municipalities) == alerts(readmodel.facts(upto=cut), today, municipalities)
    before_withdrawal = alerts(readmodel.alert_facts(withdrawal), today, municipalities)
    assert ids["withdrawn_late"] in {item.event_id for item in before_withdrawal.recorded_after_dissolution}
    before_withdrawal = alerts(readmodel.alert_facts(merged_withdrawal), today, municipalities)
    assert ids["merged_activity"] in {item.event_id for item in before_withdrawal.recorded_after_merge}


def test_a_read_model_rebuilt_from_the_log_lists_what_the_one_kept_as_events_arrived_lists(database_url: str) -> None:
    """A rebuild empties the read model and applies each service's stream in turn, registry's first: the side tables the
    alerts read end as those kept while the services' events crossed, withdrawals and merges included."""
    events, _ = watched_log()
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)))
    for batch in batches_in("services interleaved", events):
        readmodel.apply(batch)
    municipalities = MunicipalityTable.of_lima().all()
    today = date(2023, 6, 1)
    recorded = sorted(f.recorded_at for f in readmodel.facts())
    cuts = [None, recorded[len(recorded) // 2], recorded[-40]]
    kept = [alerts(readmodel.alert_facts(cut), today, municipalities) for cut in cuts]

    readmodel.clear()
    for batch in batches_in("registry first", events):
        readmodel.apply(batch)

    assert [alerts(readmodel.alert_facts(cut), today, municipalities) for cut in cuts] == kept
    assert kept[0] == alerts(readmodel.facts(), today, municipalities)


def test_a_read_model_made_before_this_alert_finds_at_its_start_what_was_recorded_after_each_dissolution(database_url: str) -> None:
    events, ids = watched_log()
    engine = make_engine(sqlalchemy_url(database_url))
    readmodel = ReadModel(engine)
    readmodel.apply(events)
    municipalities = MunicipalityTable.of_lima().all()
    expected = alerts(readmodel.facts(), date(2023, 6, 1), municipalities)
    for table in (AFTER_DISSOLUTION, AFTER_MERGE, DATED_AHEAD, LOOKED_BACK):  # a read model made before kept none of these
        table.drop(engine)

    started = ReadModel(engine)

    assert alerts(started.alert_facts(), date(2023, 6, 1), municipalities) == expected
    assert ids["dated_ahead"] in {item.event_id for item in expected.recorded_after_dissolution}
    assert ids["backlog"] in {item.event_id for item in expected.recorded_after_merge}


def test_a_read_model_made_before_the_merge_alert_finds_at_its_start_what_was_recorded_after_each_merge(database_url: str) -> None:
    """A read model kept by the version before has every other table of the alerts, and the merges' rows missing."""
    events, ids = watched_log()
    engine = make_engine(sqlalchemy_url(database_url))
    readmodel = ReadModel(engine)
    readmodel.apply(events)
    municipalities = MunicipalityTable.of_lima().all()
    expected = alerts(readmodel.facts(), date(2023, 6, 1), municipalities)
    merges = [f.event_id for f in readmodel.facts(types={"OSVMerged"})]
    AFTER_MERGE.drop(engine)
    with engine.begin() as connection:
        connection.execute(LOOKED_BACK.delete().where(LOOKED_BACK.c.event_id.in_(merges)))
        connection.execute(LOOKED_BACK.delete().where(LOOKED_BACK.c.event_id.not_in(["*"])).where(LOOKED_BACK.c.event_id.like("*%")))

    started = ReadModel(engine)

    assert alerts(started.alert_facts(), date(2023, 6, 1), municipalities) == expected
    assert ids["backlog"] in {item.event_id for item in expected.recorded_after_merge}


def test_a_read_model_made_before_scorings_were_judged_finds_at_its_start_a_scoring_recorded_after_a_dissolution(
    database_url: str,
) -> None:
    """Funding took an evaluator's scoring after a dissolution, and reporting did not judge scorings (tester 28): a read
    model kept by that version has no row for it. The version that judges them goes through the facts once at its start."""
    events, ids = watched_log()
    engine = make_engine(sqlalchemy_url(database_url))
    ReadModel(engine).apply(events)
    with engine.begin() as connection:  # what the version before kept: nothing of the scoring, no row of the types judged now
        connection.execute(AFTER_DISSOLUTION.delete().where(AFTER_DISSOLUTION.c.event_id == ids["scored"]))
        connection.execute(LOOKED_BACK.delete().where(LOOKED_BACK.c.event_id.not_in(["*"])).where(LOOKED_BACK.c.event_id.like("*%")))
    municipalities = MunicipalityTable.of_lima().all()

    started = ReadModel(engine)

    found = alerts(started.alert_facts(), date(2023, 6, 1), municipalities)
    assert ids["scored"] in {item.event_id for item in found.recorded_after_dissolution}
    assert found == alerts(started.facts(), date(2023, 6, 1), municipalities)
