"""The latest alert facts carried forward from the last read as facts arrive (what the dashboard's alerts as of today
read), on SQLite and PostgreSQL, and a replica serving while another starts; the rest of the alert facts'
stories are ``test_dashboard_alert_facts``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from services.reporting.domain.alerts import alerts
from services.reporting.views.readmodel import ReadModel
from services.reporting.views.tables import AFTER_DISSOLUTION, LOOKED_BACK
from shared.municipalities import MunicipalityTable
from shared.settings import sqlalchemy_url
from shared.views import make_engine
from tests.support.alertlog import batches_in, watched_log
from tests.support.programmelog import START, cloudevent

pytestmark = pytest.mark.timeout(120)


def one_feed_a_batch_behind(events: list[dict[str, Any]], source: str = "registry", size: int = 25) -> list[list[dict[str, Any]]]:
    """The log in recorded order, in batches of ``size``, each of ``source``'s events arriving a batch late: its feed
    behind the others' (each of its events recorded before facts already applied)."""
    ordered = sorted(events, key=lambda e: e["time"])
    batches = [ordered[i : i + size] for i in range(0, len(ordered), size)]
    held: list[dict[str, Any]] = []
    arriving = []
    for batch in batches:
        arriving.append([e for e in batch if not e["source"].endswith(source)] + held)
        held = [e for e in batch if e["source"].endswith(source)]
    return [*arriving, held] if held else arriving


@pytest.mark.parametrize("order", ["recorded order", "one feed a batch behind", "one feed behind, beyond the bound", "services interleaved"])
def test_the_latest_alert_facts_carried_forward_as_facts_arrive_give_the_alerts_every_fact_gives(
    database_url: str, order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dashboard's alerts as of today read the alert facts carried forward from the last read (``latest_alert_facts``),
    not read again in full after each new fact: after every batch, whatever arrives (meetings, mappings, a dissolution
    and the facts dated after it, withdrawals, merges, facts recorded before others already applied), they give the
    alerts all the facts give; and of a log arriving in recorded order, or with one feed a batch behind the others
    (its facts late by less than ``LATE_FOLDED_IN``, widened here: this log's batches span days), the batches with no
    dissolution, merge, withdrawal nor correction (over a third here; over a fifth with registry's feed behind: 12 of
    50 batches since the log pays grants out only as funding would) are carried forward, not read again."""
    events, _ = watched_log()
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)))
    municipalities = MunicipalityTable.of_lima().all()
    today = date(2023, 6, 1)
    if order == "recorded order":
        ordered = sorted(events, key=lambda e: e["time"])
        batches = [ordered[i : i + 25] for i in range(0, len(ordered), 25)]
    elif order.startswith("one feed"):
        batches = one_feed_a_batch_behind(events)
        if order == "one feed a batch behind":
            monkeypatch.setattr("services.reporting.views.alertfacts.LATE_FOLDED_IN", timedelta(days=3650))
    else:
        batches = batches_in(order, events)
    carried = []
    for batch in batches:
        readmodel.apply(batch)
        latest = readmodel.latest_alert_facts()
        assert alerts(latest, today, municipalities) == alerts(readmodel.facts(), today, municipalities)
        assert latest == readmodel.alert_facts()
        carried.append(readmodel._kept_alert_facts.carried)  # type: ignore[union-attr]
    carried_forward = sum(1 for before, after in zip(carried, carried[1:]) if after == before + 1)
    if order == "recorded order":
        assert carried_forward > len(batches) // 3
    elif order == "one feed a batch behind":  # a batch that reads again a dissolution or a merge read already reads in full
        assert carried_forward > len(batches) // 5


def test_a_late_fact_is_folded_into_the_latest_alert_facts_only_within_an_hour_of_the_latest_fact_of_any_type(database_url: str) -> None:
    """``LATE_FOLDED_IN`` counts from the latest fact applied, whatever its type: a RUOS registration recorded an hour and
    a minute before the latest grant has the alert facts read in full, not three hours of facts read since the last
    meeting (the latest alert fact; tester 170 F2); one recorded 59 minutes before it is folded in. Either way the
    alert facts are those of every fact."""
    readmodel = ReadModel(make_engine(sqlalchemy_url(database_url)))
    osv = "osv-bound"
    mapping = {"osv_id": osv, "name": "Olla común El Límite", "district": "Comas", "zone": "Lima Norte", "mapped_on": "2023-03-01"}
    readmodel.apply([cloudevent("registry", 1, "OSVMapped", osv, START, **mapping, occurred_on="2023-03-01")])
    readmodel.apply([cloudevent("engagement", 1, "FollowUpMeetingHeld", osv, START + timedelta(hours=1), osv_id=osv, meeting_id="m1",
                                held_on="2023-03-02", mode="virtual", attendee_count=3, topics=["other"], action_items=[], occurred_on="2023-03-02")])
    readmodel.latest_alert_facts()
    latest_grant = START + timedelta(hours=4)
    readmodel.apply([cloudevent("funding", 1, "FundGranted", "g1", latest_grant, grant_id="g1", osv_id=osv, amount="900.00", currency="PEN",
                                kind="seed_fund", support="first_time", proposal_id=None, round_id=None, granted_on="2023-03-02",
                                occurred_on="2023-03-02")])
    readmodel.latest_alert_facts()
    carried = readmodel._kept_alert_facts.carried  # type: ignore[union-attr]
    for position, late_by, folded in ((2, timedelta(minutes=59), True), (3, timedelta(hours=1, minutes=1), False)):
        readmodel.apply([cloudevent("registry", position, "RUOSRegistered", osv, latest_grant - late_by, osv_id=osv,
                                    ruos_number=f"RUOS-{position}", registered_on="2023-03-02", board_term_ends_on="2025-03-01",
                                    municipality_id="150110", occurred_on="2023-03-02")])
        assert readmodel.latest_alert_facts() == readmodel.alert_facts()
        kept = readmodel._kept_alert_facts  # type: ignore[union-attr]
        assert kept.carried == (carried + 1 if folded else 0), late_by
        carried = kept.carried


def test_a_replica_already_serving_sees_what_another_replica_found_at_its_start(database_url: str) -> None:
    """A rolling upgrade: the replica of the version before keeps serving while the new version starts on the same read
    model and finds a scoring recorded after a dissolution (test_dashboard_alert_facts). The new rows move the revision, so
    the replica serving reads its alert facts again instead of answering the ones it kept (tester 170)."""
    events, ids = watched_log()
    engine = make_engine(sqlalchemy_url(database_url))
    ReadModel(engine).apply(events)
    with engine.begin() as connection:  # what the version before kept, as in the scoring story there
        connection.execute(AFTER_DISSOLUTION.delete().where(AFTER_DISSOLUTION.c.event_id == ids["scored"]))
        connection.execute(LOOKED_BACK.delete().where(LOOKED_BACK.c.event_id.not_in(["*"])).where(LOOKED_BACK.c.event_id.like("*%")))
    serving = ReadModel(make_engine(sqlalchemy_url(database_url)))  # its own engine, as another process's
    with engine.begin() as connection:  # it started before the scoring's row went missing: its start found nothing
        connection.execute(AFTER_DISSOLUTION.delete().where(AFTER_DISSOLUTION.c.event_id == ids["scored"]))
        connection.execute(LOOKED_BACK.delete().where(LOOKED_BACK.c.event_id.not_in(["*"])).where(LOOKED_BACK.c.event_id.like("*%")))
    assert ids["scored"] not in {f.event_id for f in serving.latest_alert_facts()}
    revision = serving.revision()

    ReadModel(engine)

    assert serving.revision() > revision
    assert ids["scored"] in {f.event_id for f in serving.latest_alert_facts()}
    assert serving.latest_alert_facts() == serving.alert_facts()
