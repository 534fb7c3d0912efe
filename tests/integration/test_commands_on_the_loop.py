"""Commands run on the event loop (:mod:`shared.inplace`): on an SQLite file a command runs on the loop, and its save
takes the write lock only if it is free within moments; else the command runs again in a worker thread, where it waits.
The loop never waits out another writer, and every command lands once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from services.registry.api import mapped
from services.registry.application import Registry
from services.registry.domain.duplicates import DistrictRoll
from services.registry.schemas import OSVCreate, OSVPublic
from services.registry.views.mappeddistricts import MappedDistricts
from shared.chain import ChainedSQLiteApplicationRecorder, ChainedSQLiteFactory
from shared.districts import UnknownDistrictError
from shared.idempotency import IdempotentCall
from shared.idempotency.middleware import IdempotencyMiddleware
from shared.inplace import run_command
from shared.store import persistence_env
from shared.views import make_engine
from tests.support.sqlitestore import chain_is_valid, write_lock_held
from tests.support.system import eventually

LOCK_TIMEOUT = 60
"""Seconds a save waits for the write lock: far longer than :data:`WATCH_SECONDS`."""

WATCH_SECONDS = 3
"""How long a loop that is not held may take to run a callback another thread gives it: a bound on a hang, not a speed."""


def registry_at(path: Path) -> Registry:
    return Registry(persistence_env(f"sqlite:///{path}", lock_timeout_seconds=LOCK_TIMEOUT))


def map_osv(registry: Registry, name: str, district: str = "Comas") -> OSVPublic:
    return mapped(OSVCreate(name=name, district=district, mapped_on=date(2021, 3, 15)), registry)


def stored_osvs(registry: Registry) -> list[str]:
    """The names of the OSVs the store holds, each as often as it was mapped."""
    return sorted(osv.name for osv in registry.list_osvs())


class LoopWatch:
    """From another thread, once :meth:`started` (the command began, on the loop): does the loop run a callback given it?"""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.began = threading.Event()
        self.answered = threading.Event()
        self.free: bool | None = None
        self.thread = threading.Thread(target=self._watch)
        self.thread.start()

    def started(self) -> None:
        self.began.set()

    def _watch(self) -> None:
        self.began.wait(WATCH_SECONDS)
        self.loop.call_soon_threadsafe(self.answered.set)
        self.free = self.answered.wait(WATCH_SECONDS)

    def loop_was_free(self) -> bool | None:
        self.thread.join()
        return self.free


def map_watched(registry: Registry, name: str, watch: LoopWatch) -> OSVPublic:
    """:func:`map_osv`, telling ``watch`` it started (on the loop, or again in a thread)."""
    watch.started()
    return map_osv(registry, name)


@contextmanager
def pool_and_queue_held(registry: Registry, path: Path) -> Iterator[Future[OSVPublic]]:
    """Tester 38's finding, for the block: a command run again in a thread holds the pool's one writer's connection,
    waiting for another process's write lock (held for the block); the relay, asking for a writer's connection, holds
    the pool's queue. Yields the thread's command (mapping "Vecinos de Zárate"), done once the block ended."""
    pool = registry.recorder.datastore.pool

    def relay_records_its_position() -> None:
        with registry.recorder.datastore.get_connection(commit=True):
            pass

    with ThreadPoolExecutor(2) as pool_of_threads:
        with write_lock_held(path):
            threaded = pool_of_threads.submit(map_osv, registry, "Vecinos de Zárate")
            eventually(lambda: pool._writer_lock.locked())  # noqa: SLF001 - the library's pool: the writer's connection is out
            relay = pool_of_threads.submit(relay_records_its_position)
            eventually(lambda: pool._get_semaphore._value == 0)  # noqa: SLF001 - and its queue is held by a waiting writer
            yield threaded
        relay.result(timeout=60)


async def loop_turns(count: int) -> int:
    """Let the loop run other work ``count`` times: it cannot while a command holds it."""
    for _ in range(count):
        await asyncio.sleep(0)
    return count


def test_a_command_runs_on_the_event_loop_when_the_store_takes_its_save_at_once(tmp_path: Path) -> None:
    registry = registry_at(tmp_path / "registry.db")
    ran_in: list[int] = []

    def command(name: str) -> OSVPublic:
        ran_in.append(threading.get_ident())
        return map_osv(registry, name)

    async def scenario() -> tuple[OSVPublic, int]:
        return await run_command(registry, command, "Vecinos de Collique"), threading.get_ident()

    try:
        assert isinstance(registry.recorder, ChainedSQLiteApplicationRecorder) and registry.recorder.saves_without_waiting
        answer, loop_thread = asyncio.run(scenario())
        assert ran_in == [loop_thread]  # one run, on the loop's own thread: no hop to a worker thread
        assert answer.name == "Vecinos de Collique"
        assert stored_osvs(registry) == ["Vecinos de Collique"]
        assert chain_is_valid(registry)
    finally:
        registry.close()


def test_while_another_process_holds_the_write_lock_the_command_waits_in_a_thread_and_the_loop_stays_free(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    registry = registry_at(path)
    map_osv(registry, "Primera OSV")  # the file and its tables exist
    threads: list[int] = []

    def command(name: str, watch: LoopWatch) -> OSVPublic:
        threads.append(threading.get_ident())
        watch.started()
        return map_osv(registry, name)

    async def scenario() -> OSVPublic:
        watch = LoopWatch(asyncio.get_running_loop())
        with write_lock_held(path):
            pending = asyncio.create_task(run_command(registry, command, "Vecinos de Huaycán", watch))
            assert await loop_turns(20) == 20  # the loop goes on while the command waits for the lock
            assert await asyncio.to_thread(watch.loop_was_free)
            assert not pending.done()
        return await pending  # the lock is free: the command lands

    try:
        answer = asyncio.run(scenario())
        assert answer.name == "Vecinos de Huaycán"
        assert len(threads) == 2 and threads[0] != threads[1]  # tried on the loop, then run again in a worker thread
        assert stored_osvs(registry) == ["Primera OSV", "Vecinos de Huaycán"]  # once: the try on the loop stored nothing
        assert chain_is_valid(registry)
    finally:
        registry.close()


def test_a_command_on_the_loop_joins_no_commit_of_its_own_process_under_way(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    registry = registry_at(path)
    map_osv(registry, "Primera OSV")
    recorder = registry.recorder
    assert isinstance(recorder, ChainedSQLiteApplicationRecorder)

    async def scenario() -> tuple[OSVPublic, OSVPublic]:
        with ThreadPoolExecutor(1) as pool:
            with write_lock_held(path):
                # A worker thread's save leads a commit that waits for the lock: the loop's command must not queue behind it.
                threaded = pool.submit(map_osv, registry, "Vecinos de Zárate")
                eventually(lambda: recorder.saves_pending() == 1)
                watch = LoopWatch(asyncio.get_running_loop())
                pending = asyncio.create_task(run_command(registry, map_watched, registry, "Vecinos del Agustino", watch))
                assert await loop_turns(20) == 20
                assert await asyncio.to_thread(watch.loop_was_free)
                assert not pending.done()
            return await pending, threaded.result(timeout=60)

    try:
        on_the_loop, threaded = asyncio.run(scenario())
        assert (on_the_loop.name, threaded.name) == ("Vecinos del Agustino", "Vecinos de Zárate")
        assert stored_osvs(registry) == ["Primera OSV", "Vecinos de Zárate", "Vecinos del Agustino"]
        assert chain_is_valid(registry)
    finally:
        registry.close()


def test_a_command_on_the_loop_waits_for_no_connection_a_thread_holds_while_it_waits_for_the_lock(tmp_path: Path) -> None:
    # Tester 38: a command run again in a thread held the pool's one writer's connection, waiting for another process's
    # lock; the relay, asking for a writer's connection, held the pool's queue; the loop's command queued behind both.
    path = tmp_path / "registry.db"
    registry = registry_at(path)
    map_osv(registry, "Primera OSV")

    async def scenario() -> tuple[OSVPublic, OSVPublic]:
        with pool_and_queue_held(registry, path) as threaded:
            watch = LoopWatch(asyncio.get_running_loop())
            pending = asyncio.create_task(run_command(registry, map_watched, registry, "Vecinos de Pachacámac", watch))
            assert await loop_turns(20) == 20
            assert await asyncio.to_thread(watch.loop_was_free)
            assert not pending.done()
        return await pending, threaded.result(timeout=60)

    try:
        on_the_loop, threaded = asyncio.run(scenario())
        assert (on_the_loop.name, threaded.name) == ("Vecinos de Pachacámac", "Vecinos de Zárate")
        assert stored_osvs(registry) == ["Primera OSV", "Vecinos de Pachacámac", "Vecinos de Zárate"]
        assert chain_is_valid(registry)
    finally:
        registry.close()


def test_a_command_on_the_loop_waits_for_no_kept_aggregate_a_thread_is_bringing_up_to_date(tmp_path: Path) -> None:
    # Tester 38b: a thread held a kept aggregate's lock (the district's roll) while queued for a connection; the loop's
    # command, reading the same roll, waited for that lock without end.
    registry = registry_at(tmp_path / "registry.db")
    map_osv(registry, "Primera OSV")  # Comas's roll is kept in memory
    lock = registry.repository._use_fastforward_lock(DistrictRoll.id_for("Comas"))  # noqa: SLF001 - the library's lock
    released = threading.Event()

    def thread_reading_the_roll() -> None:  # holds it longer than a loop may wait, then lets go
        with lock:
            released.wait(WATCH_SECONDS + 2)

    async def scenario() -> OSVPublic:
        holder = threading.Thread(target=thread_reading_the_roll)
        holder.start()
        eventually(lock.locked)
        watch = LoopWatch(asyncio.get_running_loop())
        pending = asyncio.create_task(run_command(registry, map_watched, registry, "Vecinos de Carabayllo", watch))
        assert await loop_turns(20) == 20
        assert await asyncio.to_thread(watch.loop_was_free)
        assert not pending.done()
        released.set()
        holder.join()
        return await pending

    try:
        assert asyncio.run(scenario()).name == "Vecinos de Carabayllo"
        assert stored_osvs(registry) == ["Primera OSV", "Vecinos de Carabayllo"]
    finally:
        registry.close()


def test_a_command_that_finds_a_lock_taken_after_its_commit_waits_for_it_and_is_not_run_again(tmp_path: Path) -> None:
    # A StoreBusyError on the loop runs the command again in a thread: right before its save (nothing was stored), but
    # after its commit a second run would store its fact twice. Here the answer is made after the save, from a roll
    # another thread holds for a moment (as a read of another kept aggregate for the answer would).
    registry = registry_at(tmp_path / "registry.db")
    map_osv(registry, "Primera OSV", district="Ate")
    lock = registry.repository._use_fastforward_lock(DistrictRoll.id_for("Ate"))  # noqa: SLF001 - the library's lock
    runs: list[str] = []

    def map_then_read_another_roll(registry: Registry, name: str) -> OSVPublic:
        runs.append(name)
        answer = map_osv(registry, name)
        holder = threading.Timer(0.2, lock.release)
        lock.acquire()  # taken by another thread's read from now until the timer lets go
        holder.start()
        registry.find(DistrictRoll.id_for("Ate"), DistrictRoll)  # waits past LOOP_WAIT_SECONDS
        return answer

    try:
        answer = asyncio.run(run_command(registry, map_then_read_another_roll, registry, "Vecinos de Carabayllo"))
        assert answer.name == "Vecinos de Carabayllo" and runs == ["Vecinos de Carabayllo"]
        assert stored_osvs(registry) == ["Primera OSV", "Vecinos de Carabayllo"]
    finally:
        registry.repository._disuse_fastforward_lock(DistrictRoll.id_for("Ate"))  # noqa: SLF001
        registry.close()


def test_a_body_naming_an_unknown_district_is_checked_without_the_loop_waiting_for_a_locked_views_database(tmp_path: Path) -> None:
    # Tester 38b F2: a body's district check, run on the loop, caught the mapped districts up and wrote views.db.
    views = tmp_path / "views.db"
    mapped_districts = MappedDistricts(make_engine(f"sqlite:///{views}", rebuildable=True))
    registry = Registry(
        persistence_env(f"sqlite:///{tmp_path / 'registry.db'}", lock_timeout_seconds=LOCK_TIMEOUT), mapped_districts=mapped_districts
    )
    map_osv(registry, "Primera OSV")  # stored since the last catch-up: the next one writes views.db

    async def scenario() -> None:
        watch = LoopWatch(asyncio.get_running_loop())
        watch.started()
        with pytest.raises(UnknownDistrictError):
            registry.district_named("Narnia")  # as the body's check does, on the loop
        assert await asyncio.to_thread(watch.loop_was_free)

    try:
        with write_lock_held(views):
            asyncio.run(scenario())
        assert registry.lacked_districts() == []  # the database free again: caught up, nothing lacked
        with pytest.raises(UnknownDistrictError):
            registry.district_named("Narnia")
    finally:
        registry.close()


def test_a_snapshot_due_after_a_save_on_the_loop_is_written_from_a_thread_and_kept_at_close(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    registry = registry_at(path)
    interval = Registry.snapshotting_intervals[DistrictRoll]

    async def map_many() -> None:
        for n in range(interval):  # the district's roll reaches its snapshot's version with the last
            await run_command(registry, map_osv, registry, f"Vecinos {n}")

    try:
        asyncio.run(map_many())
    finally:
        registry.close()  # waits for the snapshot being written
    reopened = registry_at(path)
    try:
        roll = DistrictRoll.id_for("Comas")
        assert [s.originator_version for s in reopened.snapshots.recorder.select_events(roll)] == [interval]
    finally:
        reopened.close()


def test_with_commands_on_the_loop_turned_off_every_command_runs_in_a_worker_thread(tmp_path: Path) -> None:
    # <SERVICE>_COMMANDS_ON_THE_LOOP=false reaches the store as SQLITE_COMMANDS_ON_THE_LOOP=0: for a disk with a slow fsync.
    env = {**persistence_env(f"sqlite:///{tmp_path / 'registry.db'}"), ChainedSQLiteFactory.SQLITE_COMMANDS_ON_THE_LOOP: "0"}
    registry = Registry(env)
    ran_in: list[int] = []

    def command(name: str) -> OSVPublic:
        ran_in.append(threading.get_ident())
        return map_osv(registry, name)

    async def scenario() -> int:
        await run_command(registry, command, "Vecinos de Jicamarca")
        return threading.get_ident()

    try:
        loop_thread = asyncio.run(scenario())
        assert len(ran_in) == 1 and ran_in[0] != loop_thread
        assert stored_osvs(registry) == ["Vecinos de Jicamarca"]
    finally:
        registry.close()


def test_a_new_keys_lookup_is_read_on_the_loop_and_with_the_pool_held_goes_to_a_thread_leaving_the_loop_free(tmp_path: Path) -> None:
    """Every keyed request first asks whether its key was used (:class:`~shared.idempotency.middleware.IdempotencyMiddleware`):
    on the loop's own thread, no hop; with the pool's writer's connection and its queue held (tester 38's finding for
    commands), in a worker thread, and the loop stays free."""
    path = tmp_path / "registry.db"
    registry = registry_at(path)
    map_osv(registry, "Primera OSV")
    keys = IdempotencyMiddleware(lambda *_: None, service="registry", application=lambda: registry)
    asked_in: list[int] = []
    watches: list[LoopWatch] = []
    find = registry.find_idempotent_request

    def find_watched(request_id: object) -> object:
        asked_in.append(threading.get_ident())
        watches[-1].started()
        return find(request_id)

    registry.find_idempotent_request = find_watched  # type: ignore[method-assign]
    call = IdempotentCall(service="registry", key="kobo:a1b2", fingerprint="f" * 64, method="POST", path="/osvs")

    async def scenario() -> tuple[object, object, int]:
        loop = asyncio.get_running_loop()
        watches.append(LoopWatch(loop))
        free_store = await keys._earlier_answer(registry, call, {})  # noqa: SLF001 - the lookup itself, as the middleware makes it
        watches[-1].loop_was_free()
        with pool_and_queue_held(registry, path) as threaded:
            watches.append(LoopWatch(loop))
            pending = asyncio.create_task(keys._earlier_answer(registry, call, {}))  # noqa: SLF001
            assert await loop_turns(20) == 20
            assert await asyncio.to_thread(watches[-1].loop_was_free)
            assert not pending.done()  # its thread queued behind the writers
        threaded.result(timeout=60)
        return free_store, await pending, threading.get_ident()

    try:
        free_store, held_store, loop_thread = asyncio.run(scenario())
        assert free_store is None and held_store is None  # a new key both times: the command may run
        assert asked_in[0] == loop_thread  # with the store free, read on the loop's own thread
        assert loop_thread not in asked_in[2:]  # held: asked again in a worker thread
    finally:
        registry.close()
