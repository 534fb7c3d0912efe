"""Group commit on an SQLite file: saves made at the same moment share one transaction and one fsync, and each stays its own.

Each story makes saves meet deterministically: another connection holds the
file's write lock, so the first save waits in its transaction while the
others queue behind it; when the lock goes, the queued ones commit together.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter as Tally
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from services.registry.application import Registry
from shared.chain import ChainedSQLiteApplicationRecorder
from shared.idempotency import IdempotentCall, IdempotentRequest, IdempotentRequestInProgressError, serving
from shared.store import persistence_env
from tests.support.clients import at_once
from tests.support.sqlitestore import chain_is_valid, write_lock_held
from tests.support.system import eventually

ROOT = Path(__file__).resolve().parents[2]


class Counter(Aggregate):
    """A record that several saves write to: opened, then ticked."""

    @event("Opened")
    def __init__(self, name: str) -> None:
        self.name = name
        self.ticks = 0

    @event("Ticked")
    def tick(self) -> None:
        self.ticks += 1


def store_at(path: Path) -> Application:
    # A lock timeout far longer than any test holds the file's write lock.
    return Application(env=persistence_env(f"sqlite:///{path}", lock_timeout_seconds=300))


def recorder_of(app: Any) -> ChainedSQLiteApplicationRecorder:
    assert isinstance(app.recorder, ChainedSQLiteApplicationRecorder)
    return app.recorder


def saved_together(app: Any, path: Path, first: Callable[[], Any], queued: list[Callable[[], Any]]) -> list[Future[Any]]:
    """Run ``first`` (it leads, and waits for the write lock), then queue each of ``queued`` in order behind it; release.

    Returns the futures of ``first`` and of ``queued``, all done.
    """
    recorder = recorder_of(app)
    with ThreadPoolExecutor(1 + len(queued)) as pool:
        with write_lock_held(path):
            futures = [pool.submit(first)]
            eventually(lambda: recorder.saves_pending() == 1)
            for n, save in enumerate(queued, start=2):
                futures.append(pool.submit(save))
                eventually(lambda n=n: recorder.saves_pending() == n)
        for future in futures:
            future.exception(timeout=120)
    return futures


# Saves at the same moment share one commit -------------------------------------------------------------


def test_saves_queued_behind_a_commit_all_land_once_in_one_transaction_with_the_chain_valid(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    app = store_at(path)
    recorder = recorder_of(app)
    counters = [Counter(name=f"counter {n}") for n in range(24)]
    commits_before = recorder.commits

    futures = saved_together(app, path, lambda: app.save(counters[0]), [lambda c=c: app.save(c) for c in counters[1:]])

    assert all(f.exception() is None for f in futures)
    assert recorder.commits - commits_before == 2  # the first alone, then the 23 that queued behind it in one
    log = app.recorder.select_notifications(start=1, limit=100)
    assert sorted(UUID(str(n.originator_id)) for n in log) == sorted(c.id for c in counters)  # each once
    assert chain_is_valid(app)
    app.close()


def test_sixteen_threads_saving_at_once_all_land_each_exactly_once_with_the_chain_valid(tmp_path: Path) -> None:
    app = store_at(tmp_path / "events.db")
    shared = Counter(name="shared")
    app.save(shared)

    def saves_of(thread: int) -> list[UUID]:
        ids = []
        for n in range(40):
            counter = Counter(name=f"{thread}-{n}")
            counter.tick()
            app.save(counter)
            ids.append(counter.id)
        return ids

    saved = [i for ids in at_once(16, saves_of) for i in ids]

    log = app.recorder.select_notifications(start=1, limit=10_000)
    per_record = Tally(UUID(str(n.originator_id)) for n in log)
    assert per_record == {shared.id: 1, **{i: 2 for i in saved}}
    assert [n.id for n in log] == sorted(n.id for n in log)
    assert chain_is_valid(app)
    app.close()


# One save refused fails only itself --------------------------------------------------------------------


def test_a_save_that_conflicts_inside_a_batch_fails_alone_and_its_retry_lands(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    app = store_at(path)
    recorder = recorder_of(app)
    shared = Counter(name="shared")
    app.save(shared)
    # Two commands read the shared record at version 1; both tick it.
    winner, loser = app.repository.get(shared.id), app.repository.get(shared.id)
    winner.tick()
    loser.tick()
    before, after, alone = Counter(name="before"), Counter(name="after"), Counter(name="alone")
    commits_before = recorder.commits

    futures = saved_together(
        app, path, lambda: app.save(alone), [lambda: app.save(before), lambda: app.save(winner), lambda: app.save(loser), lambda: app.save(after)]
    )

    assert [type(f.exception()) for f in futures] == [type(None), type(None), type(None), IntegrityError, type(None)]
    assert recorder.commits - commits_before == 2  # the conflict undid only its own savepoint
    names = {app.repository.get(c.id).name for c in (before, after, alone)}
    assert names == {"before", "after", "alone"}
    assert app.repository.get(shared.id).ticks == 1
    # The loser runs again as a retried command does: reload, tick, save.
    again = app.repository.get(shared.id)
    again.tick()
    app.save(again)
    assert app.repository.get(shared.id).ticks == 2
    assert chain_is_valid(app)
    app.close()


# The idempotency record commits with its events, or not at all ---------------------------------------------


def keyed(key: str) -> IdempotentCall:
    return IdempotentCall(service="registry", key=key, fingerprint="f" * 64, method="POST", path="/osvs")


def test_an_idempotency_record_commits_with_its_events_and_a_second_request_in_the_same_batch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    registry = Registry(persistence_env(f"sqlite:///{path}", lock_timeout_seconds=300))
    key, conflicting_key = str(uuid4()), str(uuid4())
    stale = registry.repository.get(registry.map_osv("Unidos", "Comas", date(2021, 2, 10)))
    registry.register_in_ruos(stale.id, "RUOS-1", date(2021, 3, 1), municipality_id="mml")  # the stale copy's next version is taken
    stale.register_in_ruos("RUOS-2", date(2021, 3, 2), municipality_id="mml")

    # The relay's wake-up: each save's caller calls it once its commit is on disk (read here by another connection).
    committed = sqlite3.connect(path, check_same_thread=False)
    stored_before = committed.execute("SELECT count(*) FROM stored_events").fetchone()[0]
    woken: list[int] = []
    registry.recorded_listeners.append(lambda: woken.append(committed.execute("SELECT count(*) FROM stored_events").fetchone()[0]))

    def map_under(key: str, name: str, district: str) -> UUID:
        with serving(keyed(key)):
            return registry.map_osv(name, district, date(2021, 3, 15))

    def save_stale_under(key: str) -> None:
        with serving(keyed(key)):
            registry.save(stale)

    futures = saved_together(registry, path, lambda: registry.map_osv("Primero", "Ate", date(2021, 3, 15)), [
        lambda: map_under(key, "Primera", "Los Olivos"),
        lambda: map_under(key, "Segunda", "Surco"),  # the same key, committed first by the one before it
        lambda: save_stale_under(conflicting_key),
        lambda: registry.map_osv("Último", "Comas", date(2021, 3, 15)),
    ])

    first, carried_out, refused, conflicted, last = futures
    assert type(refused.exception()) is IdempotentRequestInProgressError
    assert type(conflicted.exception()) is IntegrityError
    assert first.exception() is None and carried_out.exception() is None and last.exception() is None
    assert sorted(o.name for o in registry.list_osvs()) == ["Primera", "Primero", "Unidos", "Último"]
    record = registry.find_idempotent_request(IdempotentRequest.id_for("registry", key))
    assert record is not None and record.saved[0]["id"] == str(carried_out.result())
    # The conflicting save's record went with its events: the key is free for its retry.
    assert registry.find_idempotent_request(IdempotentRequest.id_for("registry", conflicting_key)) is None
    assert registry.get_osv(stale.id).ruos_number == "RUOS-1"
    assert len(woken) == 3 and all(seen > stored_before for seen in woken)  # the three commands carried out, none before its commit
    assert chain_is_valid(registry)
    registry.close()
    committed.close()


# A crash mid-batch leaves whole saves or nothing ---------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import os, sys, threading
    from shared.store import persistence_env
    from eventsourcing.application import Application
    from tests.integration.test_group_commit import Counter

    app = Application(env=persistence_env("sqlite:///" + sys.argv[1]))

    def write():
        while True:
            counter = Counter(name="counter")
            counter.tick()
            counter.tick()
            receipt = Counter(name=str(counter.id))  # saved with it: one save, two records, four events
            app.save(counter, receipt)
            os.write(1, f"{counter.id}\\n".encode())  # acknowledged: the save returned

    for _ in range(16):
        threading.Thread(target=write, daemon=True).start()
    threading.Event().wait()
    """
)


def acknowledged_until_killed(path: Path, after: int) -> set[UUID]:
    """Run 16 writing threads in a process; ``kill -9`` it once ``after`` more saves were acknowledged; what it acknowledged."""
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.stdout is not None
    acknowledged: set[UUID] = set()
    try:
        while len(acknowledged) < after:
            line = child.stdout.readline()
            assert line, f"the writer stopped (code {child.poll()})"
            acknowledged.add(UUID(line.decode().strip()))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        # Through the same buffered reader: communicate(timeout=...) reads the pipe itself, past what readline
        # buffered, and met a line's second half (under load, 1 run in many).
        rest = child.stdout.read()
        child.wait(timeout=60)
    acknowledged.update(UUID(line) for line in rest.decode().split())
    return acknowledged


def test_a_process_killed_mid_batch_leaves_every_acknowledged_save_whole_and_no_save_in_part(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    acknowledged: set[UUID] = set()
    for after in (150, 300, 450):
        acknowledged |= acknowledged_until_killed(path, after)

        app = store_at(path)
        log = app.recorder.select_notifications(start=1, limit=1_000_000)
        events = Tally(UUID(str(n.originator_id)) for n in log)
        opened = [app.mapper.to_domain_event(n) for n in log if n.topic.endswith("Opened")]
        receipts = {UUID(e.name): e.originator_id for e in opened if e.name != "counter"}
        counters = {i for i in events if i not in set(receipts.values())}
        assert set(receipts) == counters  # every counter stored has its receipt, every receipt its counter
        assert all(events[c] == 3 and events[receipts[c]] == 1 for c in counters)  # and each is whole
        assert acknowledged <= counters  # nothing acknowledged was lost
        assert chain_is_valid(app)
        app.close()


def test_a_writer_alone_commits_each_save_before_it_returns(tmp_path: Path) -> None:
    app = store_at(tmp_path / "events.db")
    recorder = recorder_of(app)
    for n in range(5):
        app.save(Counter(name=str(n)))
        assert recorder.saves_pending() == 0
    assert recorder.commits == 5
    app.close()


def test_a_lone_save_refused_on_its_second_event_stores_none_of_its_events(tmp_path: Path) -> None:
    app = store_at(tmp_path / "events.db")
    taken = Counter(name="taken")
    app.save(taken)
    stale = app.repository.get(taken.id)
    taken.tick()
    app.save(taken)  # version 2 is taken
    stale.tick()  # a second version 2 of the same record
    fresh = Counter(name="fresh")
    try:
        app.save(fresh, stale)  # one save, alone in its transaction: the fresh record first, then the collision
    except IntegrityError:
        pass
    else:
        raise AssertionError("the colliding save was stored")
    assert not list(app.events.get(fresh.id))  # no part of the refused save was stored
    assert recorder_of(app).max_notification_id() == 2
    app.save(Counter(name="next"))
    assert chain_is_valid(app)
    app.close()


def test_an_event_stored_without_its_chain_hash_is_chained_by_the_next_save(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    app = store_at(path)
    app.save(Counter(name="first"))
    row = sqlite3.connect(path).execute("SELECT originator_id, originator_version, topic, state FROM stored_events").fetchone()
    with sqlite3.connect(path) as raw:  # a writer that does not chain: the next save must read this event back
        raw.execute("INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?, 2, ?, ?)", (row[0], row[2], row[3]))
    app.save(Counter(name="second"))
    chained = [position for position, _ in recorder_of(app).select_chain(0, 10)]
    assert chained == [1, 2, 3]
    assert chain_is_valid(app)
    app.close()
