"""A store put back from an older backup while its stream kept the later events: nothing acknowledged is lost.

The stream holds events up to position N; the store, restored, ends at K < N.
Each new event would take a position the stream (and every partner) already
holds for another event. Here: the store found behind its stream, accept-tail, and a newer backup put back; the
replicas, the workers and the running services a store is put back under are ``test_restored_store_under_workers``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from audit.verify import verify_store
from devtools.embedded import NatsServer
from devtools.restore import main as restore_main
from tests.support.clients import NATS_OUT_OF_REACH
from tests.support.restoring import (
    LOST,
    Backups,
    backups_fixture,  # noqa: F401 - the store under test, a fixture
    given_out_past_its_stream,
    map_osv,
    osvs_identified,
    registry_alone,
    relay_aligned,
    restored_behind_its_stream,
    stream_events,
)
from tests.support.served import served_system
from tests.support.system import eventually, running_system

# Stores put back from backups under running workers, on SQLite and PostgreSQL: over 3 minutes of one core with
# test_restored_store_under_workers, so `make faults` runs them and `make test` keeps within its 15 minutes on 2 cores.
pytestmark = pytest.mark.faults


def test_a_store_restored_from_an_older_backup_publishes_nothing_refuses_commands_and_says_why(
    backups: Backups, nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    restored = restored_behind_its_stream(backups, nats_server.url)
    caplog.clear()
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        relay = relay_aligned(system.registry, restored.stream_position)
        ahead = relay.get("stream_ahead")
        assert ahead is not None, relay  # before: the relay took the stream's last position for its own, and went on from there
        head = system.registry.get("/events").json()["head"]
        assert (ahead["stream_position"], ahead["store_head"], ahead["diverged"]) == (restored.stream_position, head, False)
        health = system.registry.get("/health").json()
        assert health["status"] == "degraded" and "behind its stream" in health["relay"]["last_error"]
        assert "osv-restore accept-tail --service registry" in ahead["detail"]
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and r.name == "shared.relay"]
        assert any(f"ends at position {head}" in e and f"up to position {restored.stream_position}" in e and "osv-restore" in e for e in errors)

        answer = map_osv(system, "Vecinos después de la restauración")
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["Retry-After"] == "60"
        problem = answer.json()
        assert (problem["rule"], problem["stream_position"], problem["store_head"]) == ("store_behind_stream", restored.stream_position, head)
        assert "Restoring a backup" in problem["detail"]
        assert system.registry.get("/events").json()["head"] == head  # nothing stored

        for osv_id in restored.kept:  # reads answer as ever
            assert system.registry.get(f"/osvs/{osv_id}").status_code == 200
        assert asyncio.run(stream_events(nats_server.url))[-1]["position"] == restored.stream_position  # nothing published


def test_after_accept_tail_the_service_takes_commands_again_and_publishes_them_past_the_stream(
    backups: Backups, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    restored = restored_behind_its_stream(backups, nats_server.url)
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        assert relay_aligned(system.registry, restored.stream_position)["stream_ahead"]
        head = system.registry.get("/events").json()["head"]

    assert restore_main(["check", *backups.cli(nats_server.url)]) == 1
    checked = capsys.readouterr().out
    assert f"its stream OSV_REGISTRY holds events up to {restored.stream_position}" in checked
    assert "3 OSVMapped" in checked  # the stream's events the store lacks, named
    assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 0
    assert restore_main(["check", *backups.cli(nats_server.url)]) == 0  # nothing left to accept

    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        answer = map_osv(system, "Vecinos después de la restauración")
        assert answer.status_code == 201, answer.text
        system.wait_relayed()
        new = answer.json()["id"]
        published = {e["subject"]: e["position"] for e in asyncio.run(stream_events(nats_server.url))}
        assert published[new] > restored.stream_position  # under a position no partner holds for another event
        assert system.registry.get("/health").json()["status"] == "ok"
        # Reporting counts it beside what it kept: the three in the backup and the three only the stream holds.
        eventually(lambda: osvs_identified(system) == 7)
        assert system.reporting.get("/health").json()["sources"]["registry"]["missing"] == []
        feed = system.registry.get("/events", params={"limit": 1000}).json()
        # The store never has the stream's tail; it tells of the loss (StreamTailLost: for the programme, and for Ate).
        assert [e["subject"] for e in feed["events"] if e["type"] != LOST] == [*restored.kept, new]
        assert [e["type"] for e in feed["events"]].count(LOST) == 2
        assert feed["head"] > restored.stream_position > head
        assert asyncio.run(stream_events(nats_server.url))[-1]["subject"] == new


def test_accept_tail_takes_the_store_past_the_highest_head_given_out_not_only_past_the_stream(
    backups: Backups, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The lost store's private events after its last public one had positions the stream never held, but its feed and
    # its chain heads gave out: accept-tail went on after the stream's last position, and the next public events took
    # positions partners and reporting had already passed (tester 28b, H2).
    story = given_out_past_its_stream(backups, nats_server.url, heads_every=0.2)
    assert restore_main(["check", *backups.cli(nats_server.url)]) == 1
    assert f"chain head given out at {story.head}" in capsys.readouterr().out
    assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 0

    with served_system(backups.var, nats_server.url, backups.database_urls) as (system, _):
        answer = map_osv(system, "Vecinos después de la restauración")
        assert answer.status_code == 201, answer.text
        system.wait_relayed()
        published = {e["subject"]: e["position"] for e in asyncio.run(stream_events(nats_server.url))}
        assert published[answer.json()["id"]] > story.head
        eventually(lambda: osvs_identified(system) == 7, timeout=20)


def test_reporting_counts_what_follows_accept_tail_at_positions_its_floor_had_passed(
    backups: Backups, nats_server: NatsServer
) -> None:
    # The head given out last is older than the loss (heads go out every minute at most): nothing outside the lost
    # store knew its last positions, and the new OSV is published at one reporting's floor had passed as private.
    story = given_out_past_its_stream(backups, nats_server.url, heads_every=60)
    assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 0

    with served_system(backups.var, nats_server.url, backups.database_urls) as (system, _):
        answer = map_osv(system, "Vecinos después de la restauración")
        assert answer.status_code == 201, answer.text
        system.wait_relayed()
        events = asyncio.run(stream_events(nats_server.url))
        # The notices of the loss take the positions after the record: those reporting's floor had passed.
        told = [e["position"] for e in events if e["type"] == LOST]
        assert story.stream_position < told[0] < told[-1] <= story.head, (told, story)
        eventually(lambda: osvs_identified(system) == 7, timeout=20)  # before: 6, with /health ok
        # Reporting applied them all the same: each lost OSV's evidence names the loss.
        def marked() -> bool:
            rows = system.reporting.get("/indicators/osvs_identified/evidence").json()["events"]
            lost = [row["lost_from_source"] for row in rows if row["subject"] in story.lost]
            return len(lost) == len(story.lost) and all(lost)

        eventually(marked, timeout=20)
        health = system.reporting.get("/health").json()
        assert health["status"] == "ok" and health["sources"]["registry"]["missing"] == []


def test_accept_tail_is_refused_while_a_worker_of_the_service_runs(
    backups: Backups, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    restored = restored_behind_its_stream(backups, nats_server.url)
    with registry_alone(backups, nats_server.url) as running:
        assert relay_aligned(running, restored.stream_position).get("stream_ahead")
        head = running.get("/events").json()["head"]
        assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 2
        assert "stop every worker of registry" in capsys.readouterr().err
        assert running.get("/events").json()["head"] == head
        assert running.post("/osvs", json={"name": "Vecinos", "district": "Ate", "mapped_on": "2021-04-01"}).status_code == 503


def test_osv_restore_refuses_another_services_store_and_a_file_that_is_no_event_store(
    tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`accept-tail --service funding` on registry's events.db renumbered every registry event past funding's stream and
    wrote funding's record into it; on a views.db it made event-store tables (tester 28b, H3). SQLite files: on
    PostgreSQL each service's database is named in its own settings."""
    backups = Backups(tmp_path / "var", None, None)
    restored_behind_its_stream(backups, nats_server.url)
    registry_store = backups.var / "registry" / "events.db"
    before = registry_store.read_bytes()
    other = ["accept-tail", "--service", "funding", "--store", f"sqlite:///{registry_store}", "--nats-url", nats_server.url]
    assert restore_main(other) == 2
    assert "is the event store of registry" in capsys.readouterr().err
    assert registry_store.read_bytes() == before
    views = backups.var / "registry" / "views.db"
    tables = sqlite3.connect(views).execute("SELECT count(*) FROM sqlite_master").fetchone()
    assert restore_main(["accept-tail", "--service", "registry", "--store", f"sqlite:///{views}", "--nats-url", nats_server.url]) == 2
    assert "holds no event store" in capsys.readouterr().err
    assert sqlite3.connect(views).execute("SELECT count(*) FROM sqlite_master").fetchone() == tables


def test_commands_a_restored_store_took_before_its_relay_looked_are_published_after_accept_tail(
    backups: Backups, nats_server: NatsServer
) -> None:
    restored = restored_behind_its_stream(backups, nats_server.url)
    # NATS out of reach at the start: commands are taken (their events wait), at positions the stream holds for others.
    with running_system(backups.var, NATS_OUT_OF_REACH, database_urls=backups.database_urls) as system:
        taken = [map_osv(system, f"Junta sin NATS {i}") for i in range(4)]
        assert [a.status_code for a in taken] == [201] * 4
        assert system.registry.get("/events").json()["head"] > restored.stream_position
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        ahead = relay_aligned(system.registry, restored.stream_position).get("stream_ahead")
        assert ahead is not None and ahead["diverged"]  # it reaches the stream's last position, with another event there
        assert map_osv(system, "Otra").status_code == 503
        assert restored.lost[-1] not in {e["subject"] for e in system.registry.get("/events", params={"limit": 1000}).json()["events"]}

    assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 0

    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        system.wait_relayed()
        published = {e["subject"]: e["position"] for e in asyncio.run(stream_events(nats_server.url))}
        for answer in taken:
            assert published[answer.json()["id"]] > restored.stream_position
        eventually(lambda: osvs_identified(system) == 10)
        # The store's own chain holds, moved events and all; the heads given out of the lost tail name the operator's
        # record, not a failure (tester 245 F7: "FAILED … which the store no longer holds", with no word of it).
        assert verify_store("registry", backups.store_url, []).outcome == "accepted_loss"
        answer = system.registry.get("/verify").json()
        assert (answer["outcome"], answer["first_failure"]) == ("accepted_loss", None), answer
        assert answer["accepted_losses"][0]["heads_in_it"], answer


def test_a_second_accept_tail_finds_the_first_ones_moved_events_in_the_stream_and_publishes_none_again(
    backups: Backups, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # A backup taken after a first accept-tail, then put back: the store agrees with the stream up to its last event,
    # save for the first lost tail, which the store knowingly lacks. The bisection took that gap for where they part:
    # the events the first accept-tail had moved and the relay had published were moved and published again
    # (tester 28b, M2).
    restored = restored_behind_its_stream(backups, nats_server.url)
    with running_system(backups.var, NATS_OUT_OF_REACH, database_urls=backups.database_urls) as system:
        moved = map_osv(system, "Junta sin NATS").json()["id"]  # taken before the relay looked: moved by accept-tail
    assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 0
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        after = [map_osv(system, f"Vecinas llegadas {i}").json()["id"] for i in range(2)]
        system.wait_relayed()
    backups.back_up("second")
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        lost_again = [map_osv(system, f"Comité perdido {i}").json()["id"] for i in range(2)]
        system.wait_relayed()
    backups.restore("second")
    capsys.readouterr()

    assert restore_main(["check", "--json", *backups.cli(nats_server.url)]) == 1
    checked = json.loads(capsys.readouterr().out)
    assert [e["subject"] for e in checked["lost"]] == lost_again  # the first tail was accepted already
    published = {e["subject"]: e["position"] for e in asyncio.run(stream_events(nats_server.url))}
    assert checked["shared_position"] >= published[after[-1]]
    assert restore_main(["accept-tail", *backups.cli(nats_server.url)]) == 0

    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        new = map_osv(system, "Vecinos después de la segunda restauración").json()["id"]
        system.wait_relayed()
        subjects = [e["subject"] for e in asyncio.run(stream_events(nats_server.url))]
        assert len(subjects) == len(set(subjects)), subjects  # nothing published twice
        assert subjects[-1] == new
        feed = system.registry.get("/events", params={"limit": 1000}).json()["events"]
        told = [LOST, LOST]  # each accept-tail's notices (the programme's, Ate's), before the events it moved
        assert [e["type"] if e["type"] == LOST else e["subject"] for e in feed] == [*restored.kept, *told, moved, *after, *told, new]
        eventually(lambda: osvs_identified(system) == 3 + 3 + 1 + 2 + 2 + 1)
        verdict = verify_store("registry", backups.store_url, [])
        assert (verdict.outcome, len(verdict.accepted)) == ("accepted_loss", 2), verdict.describe()  # both records named


def test_a_newer_backup_put_back_takes_the_service_out_of_it(backups: Backups, nats_server: NatsServer) -> None:
    restored = restored_behind_its_stream(backups, nats_server.url)
    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        assert relay_aligned(system.registry, restored.stream_position).get("stream_ahead")
        assert map_osv(system, "Vecinos").status_code == 503

    backups.restore("newer")  # one that holds the stream's last event

    with running_system(backups.var, nats_server.url, database_urls=backups.database_urls) as system:
        assert relay_aligned(system.registry, restored.stream_position).get("stream_ahead") is None
        answer = map_osv(system, "Vecinos después de la restauración")
        assert answer.status_code == 201, answer.text
        system.wait_relayed()
        published = {e["subject"]: e["position"] for e in asyncio.run(stream_events(nats_server.url))}
        assert published[answer.json()["id"]] > restored.stream_position
        assert set(restored.lost) <= {e["subject"] for e in system.registry.get("/events", params={"limit": 1000}).json()["events"]}
        eventually(lambda: osvs_identified(system) == 7)
        assert system.registry.get("/health").json()["status"] == "ok"
