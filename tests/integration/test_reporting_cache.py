"""The latest figures are cached under the read model's revision: every applied fact shows at once, nothing else changes them."""

from __future__ import annotations

import gc
from datetime import datetime, timezone
from pathlib import Path

import pytest

from services.reporting.application import Reporting
from services.reporting.domain.tally import report
from services.reporting.views.readmodel import CACHED_ANSWERS, ReadModel
from shared.lifecycle import COLLECT_EVERY
from shared.roles import MunicipalScope
from shared.settings import sqlalchemy_url
from shared.views import make_engine
from tests.support.clients import service_client
from tests.support.programmelog import arriving_out_of_order, cloudevent, programme_log


def test_the_latest_report_counts_every_batch_as_it_is_applied_late_facts_and_new_phases_too(database_url: str) -> None:
    events = programme_log(900, seed=31)  # facts entered up to months late; phase F2 opened after facts in it
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=60, settle_seconds=0)
    for i, batch in enumerate(arriving_out_of_order(events, seed=32, batch=40)):
        readmodel.apply(batch, checkpoint=i % 3 == 0)
        facts = readmodel.facts()
        assert readmodel.report() == report(facts), f"after batch {i}"
        if i % 5 == 0:
            assert readmodel.report(by="zone") == report(facts, "zone"), f"after batch {i}, by zone"
    assert len(readmodel.facts()) == 900


def test_the_revision_moves_with_each_new_fact_and_not_with_an_event_applied_again(database_url: str) -> None:
    events = programme_log(50, seed=33)
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)))
    start = readmodel.revision()
    readmodel.apply(events[:20])
    after = readmodel.revision()
    assert after > start
    readmodel.apply(events[:20])  # delivered twice
    assert readmodel.revision() == after
    readmodel.apply(events[20:])
    assert readmodel.revision() > after


def test_a_replica_reports_what_another_replica_applied_to_the_shared_database(database_url: str) -> None:
    events = programme_log(400, seed=34)
    url = sqlalchemy_url(database_url)
    one, two = ReadModel(make_engine(url), checkpoint_every=50), ReadModel(make_engine(url), checkpoint_every=50)
    one.apply(events[:200])
    assert two.report() == one.report() == report(one.facts())  # each has cached it
    two.apply(events[200:])
    assert one.report() == report(two.facts())
    assert one.report()["total"]["osvs_identified"] == report(two.facts())["total"]["osvs_identified"]


def test_a_report_as_of_a_moment_is_the_same_before_and_after_later_facts_are_applied(database_url: str) -> None:
    events = programme_log(600, seed=35)
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=50, settle_seconds=0)
    readmodel.apply(events[:400])
    cut = readmodel.facts()[-1].recorded_at
    before = readmodel.report(cut, "zone")
    readmodel.report()  # the latest cached in between
    readmodel.apply(events[400:])
    assert readmodel.report(cut, "zone") == before
    assert readmodel.report() == report(readmodel.facts()) != readmodel.report(cut)


def test_a_municipality_never_reads_another_municipalitys_cached_figures(database_url: str) -> None:
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)))
    readmodel.apply(programme_log(500, seed=36))
    reporting = Reporting(readmodel)
    comas, ate = MunicipalScope(ubigeos=frozenset({"150110"})), MunicipalScope(ubigeos=frozenset({"150103"}))
    facts = readmodel.facts()
    for _ in range(2):  # the second time from the cache
        for scope, district in ((comas, "Comas"), (ate, "Ate")):
            answer = reporting.indicators(by="zone", scope=scope)  # a focal point's zone breakdown is given by district
            expected = report(facts, "district", frozenset({district}), reporting.cut_day(None))
            assert {k: answer[k] for k in ("phases", "total", "breakdown")} == expected
            alerts = reporting.alerts(scope=scope)
            assert alerts.overdue_meetings and {o.district for o in alerts.overdue_meetings} == {district}
    assert reporting.indicators(scope=comas)["total"] != reporting.indicators(scope=ate)["total"]


def test_changing_a_report_one_was_given_changes_no_later_answer(database_url: str) -> None:
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)))
    readmodel.apply(programme_log(200, seed=37))
    given = readmodel.report()
    given["total"]["osvs_identified"] = -1
    given["phases"].clear()
    assert readmodel.report() == report(readmodel.facts())


def test_a_new_phase_shows_in_the_first_latest_report_after_it_is_applied(database_url: str) -> None:
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)), checkpoint_every=40, settle_seconds=0)
    readmodel.apply(programme_log(300, seed=38))
    assert "F3" not in [p["code"] for p in readmodel.report()["phases"]]
    opened = cloudevent("funding", 9_000, "PhaseOpened", "p3", datetime(2030, 1, 1, tzinfo=timezone.utc), phase_id="p3", code="F3",
                        name="Fase 3", starts_on="2022-01-01", ends_on="2022-06-30", occurred_on="2022-01-01")
    readmodel.apply([opened])
    assert [p["code"] for p in readmodel.report()["phases"]][-1] == "F3"
    assert readmodel.report() == report(readmodel.facts())


def test_a_quiet_read_model_keeps_a_bounded_number_of_cached_answers(database_url: str) -> None:
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)))
    readmodel.apply(programme_log(30, seed=39))
    computed: list[int] = []
    for minute in range(CACHED_ANSWERS * 3):  # a page a minute, no fact arriving
        readmodel.cached(("page", minute), lambda minute=minute: computed.append(minute) or minute)
    assert len(readmodel._cached) <= CACHED_ANSWERS
    assert readmodel.cached(("page", CACHED_ANSWERS * 3 - 1), lambda: -1) == CACHED_ANSWERS * 3 - 1  # the latest is kept
    assert readmodel.cached(("page", 0), lambda: -1) == -1  # the oldest was let go


@pytest.mark.parametrize(("service", "path"), [("reporting", "/indicators"), ("registry", "/osvs"), ("funding", "/grants"), ("engagement", "/follow-up/overdue")])
def test_a_service_runs_the_cycle_collector_less_often_while_it_serves(tmp_path: Path, service: str, path: str) -> None:
    """An as-of report loads a tally of hundreds of thousands of objects: full collections mid-report doubled its p99;
    a command service's passes over its long-lived objects were about 4% of a command's CPU."""
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # Python's defaults, as a fresh process starts
    try:
        with service_client(service, tmp_path) as client:
            assert client.get(path).status_code == 200
            assert gc.get_threshold() == (COLLECT_EVERY, 20, 20)
    finally:
        gc.set_threshold(*before)
