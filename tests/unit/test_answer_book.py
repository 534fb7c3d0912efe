"""The answer book of keyed requests under threads, on a real SQLite file: what an erasure and a retry wait for."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import sqlalchemy

from shared.idempotency import AnswerBook, AnswerToKeep
from shared.inplace import StoreBusyError
from shared.views import make_engine

pytestmark = pytest.mark.timeout(120)

JOINED = b'{"full_name": "Yusmary Cordero Palacios", "document_type": "CEDULA_VE", "document_number": "V-18765432"}'


@pytest.fixture
def book(tmp_path: Path) -> Iterator[AnswerBook]:
    engine = make_engine(f"sqlite:///{tmp_path / 'views.db'}", rebuildable=True)
    answers = AnswerBook(engine)
    yield answers
    answers.close()
    engine.dispose()


def hand_over(book: AnswerBook, request_id: UUID | None = None, subject: UUID | None = None) -> UUID:
    request_id = request_id or uuid4()
    book.keep_later(request_id, "k", "f" * 64, 201, [], JOINED, {str(subject or uuid4()): 1})
    return request_id


def test_an_erasure_waits_for_the_answers_handed_over_before_it_not_for_a_pause_in_the_traffic(book: AnswerBook) -> None:
    """Under steady keyed load the book's line is never empty: each batch written finds the next answers waiting.
    An erasure (forget, which flushes first) waits for what was handed over before it, then goes on."""
    most = 300
    batches: list[int] = []
    flushing, flushed = threading.Event(), threading.Event()
    keep_many = book.keep_many

    def busy_line(answers: Sequence[AnswerToKeep]) -> None:
        if not batches:
            flushing.wait(10)  # the first batch is being written when the erasure comes
        keep_many(answers)
        batches.append(len(answers))
        if not flushed.is_set() and len(batches) < most:
            hand_over(book)  # the next request's answer, handed over while this batch was written

    book.keep_many = busy_line  # type: ignore[method-assign]
    before = hand_over(book)
    flushing.set()
    book.flush()
    flushed.set()

    assert len(batches) < most  # not held until the traffic stopped
    assert book.find(before, "k", wait=0) is not None


def test_an_answer_handed_over_before_a_flush_is_kept_when_the_flush_returns_even_if_its_thread_hop_comes_late(book: AnswerBook) -> None:
    """keep_later hands the batch to the book's thread after letting go of its lock: another thread may run in
    between (Python switches threads at any bytecode). A flush there must still wait for that answer."""
    flushed = threading.Event()
    writer = book._writer  # noqa: SLF001 - the book's thread, with the hop to it made late as a thread switch would
    submit = writer.submit

    def late(fn, *args):  # noqa: ANN001, ANN202 - Executor.submit's shape
        if getattr(fn, "__name__", "") == "_keep_pending":
            threading.Thread(target=lambda: (flushed.wait(5), submit(fn, *args))).start()
            return None
        return submit(fn, *args)

    writer.submit = late  # type: ignore[method-assign]
    request_id = hand_over(book)
    book.flush()
    flushed.set()
    assert book.find(request_id, "k", wait=0) is not None


def test_many_threads_handing_over_flushing_and_erasing_at_once_leave_no_answer_about_the_erased(book: AnswerBook) -> None:
    """Registrations of people (each answer about its member) handed over from 8 threads while other threads
    erase some of them (forget) and flush: every answer about an erased person, as erased, is gone; the others are kept."""
    people = [uuid4() for _ in range(160)]
    answers: dict[UUID, UUID] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def register(part: int) -> None:
        try:
            for person in people[part::8]:
                request_id = hand_over(book, subject=person)
                with lock:
                    answers[person] = request_id
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def erase(part: int) -> None:
        try:
            for person in people[part::8][::2]:
                book.forget(person, up_to_version=1)
                book.flush()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)] + [threading.Thread(target=erase, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    book.flush()

    assert errors == []
    erased = {person for i in range(8) for person in people[i::8][::2]}
    for person, request_id in answers.items():
        found = book.find(request_id, "k", wait=0)
        assert (found is None) == (person in erased), person
    with book.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM idempotent_answers").scalar() == len(people) - len(erased)


def test_a_close_racing_the_answers_handed_over_refuses_the_later_ones_and_leaves_no_one_waiting(book: AnswerBook) -> None:
    accepted: list[UUID] = []
    refused: list[int] = []
    other: list[BaseException] = []
    go = threading.Barrier(9)

    def serve() -> None:
        go.wait()
        for _ in range(200):
            try:
                accepted.append(hand_over(book))
            except RuntimeError:
                refused.append(1)
            except BaseException as error:  # noqa: BLE001 - reported below
                other.append(error)

    threads = [threading.Thread(target=serve) for _ in range(8)]
    for thread in threads:
        thread.start()
    go.wait()
    book.close()
    for thread in threads:
        thread.join()

    assert other == []
    assert len(accepted) + len(refused) == 1600
    book.flush()  # returns: the book is closed
    assert all(event.is_set() for in_line in book._in_line.values() for event in in_line)  # noqa: SLF001 - no retry waits for an answer given up
    with pytest.raises(RuntimeError):
        hand_over(book)


def test_answers_in_line_are_kept_five_hundred_to_a_transaction(book: AnswerBook) -> None:
    """A batch's erasure check names every subject in one statement: a batch stays within what a statement takes."""
    book.keep(uuid4(), "k", "f" * 64, 201, [], JOINED, {})  # the first keeps its minute's purge of expired answers
    commits: list[int] = []
    sqlalchemy.event.listen(book.engine, "commit", lambda _: commits.append(1))
    held = threading.Event()
    book._writer.submit(held.wait, 10)  # noqa: SLF001 - the book's thread busy while 1,200 answers are handed over
    handed = [hand_over(book) for _ in range(1200)]
    held.set()
    book.flush()

    assert len(commits) == 3  # 500, 500, 200
    assert all(book.find(request_id, "k", wait=0) is not None for request_id in handed)


def test_an_answer_whose_check_against_erasures_failed_is_checked_again_with_the_next(book: AnswerBook) -> None:
    """The check after the commit can fail (the view file locked past its busy timeout): an answer about a person
    erased meanwhile must not stay for its whole retention."""
    person = uuid4()
    book.forget(person, up_to_version=1)  # erased; the registration's answer (version 1) is kept after it

    def tombstones(named: str, as_: str) -> None:
        with book.engine.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE {named} RENAME TO {as_}")

    tombstones("idempotent_forgotten_subjects", "tombstones_away")  # the check fails: its table cannot be read
    joined = hand_over(book, subject=person)
    book.flush()
    assert book.find(joined, "k", wait=0) is not None  # kept, its check failed
    tombstones("tombstones_away", "idempotent_forgotten_subjects")
    hand_over(book)  # the next answer kept: the one left unchecked is checked again
    book.flush()

    assert book.find(joined, "k", wait=0) is None


def test_a_retry_waiting_on_the_first_hand_over_of_a_request_handed_over_twice_is_woken_when_it_is_kept(book: AnswerBook) -> None:
    """The book held one event per request id: a second hand-over of the same id replaced the first's, and a retry
    already waiting on the first waited its whole ``wait`` though the answer was kept at once."""
    looked_up = threading.Event()

    class Watched(dict):  # the retry has taken what it waits on once it looked its request up
        def get(self, *args: object) -> object:
            found = super().get(*args)
            looked_up.set()
            return found

    book._in_line = Watched()  # noqa: SLF001 - to know, without a timer, that the retry waits on the first hand-over
    held = threading.Event()
    book._writer.submit(held.wait, 60)  # noqa: SLF001 - the book's thread busy while the answers are handed over
    request_id = hand_over(book)
    found: list[object] = []
    retry = threading.Thread(target=lambda: found.append(book.find(request_id, "k", wait=3600)), daemon=True)
    retry.start()
    assert looked_up.wait(60)
    hand_over(book, request_id)  # the same request's answer handed over again
    held.set()

    retry.join(timeout=60)
    assert retry.is_alive() is False
    assert len(found) == 1 and found[0] is not None and found[0].body == JOINED


def test_each_hand_over_is_told_once_its_answer_is_kept_or_given_up(book: AnswerBook) -> None:
    """The middleware sends a keyed command's answer when its hand-over is told: by then the answer is in the view
    database, so a kill -9 after the answer went out loses nothing; one given up (a stop) is told all the same."""
    told: dict[UUID, bool] = {}
    all_told = threading.Event()

    def telling(request_id: UUID, expected: int) -> Callable[[], None]:
        def dealt_with() -> None:
            told[request_id] = book.find(request_id, "k", wait=0) is not None
            if len(told) == expected:
                all_told.set()

        return dealt_with

    held = threading.Event()
    book._writer.submit(held.wait, 10)  # noqa: SLF001 - the book's thread busy: the three are kept together
    handed = [uuid4() for _ in range(3)]
    for request_id in handed:
        book.keep_later(request_id, "k", "f" * 64, 201, [], JOINED, {str(uuid4()): 1}, telling(request_id, 3))
    assert told == {}  # none is kept yet: none is told
    held.set()
    assert all_told.wait(10)
    assert told == {request_id: True for request_id in handed}  # each kept when told

    told.clear()
    all_told.clear()
    stuck = threading.Event()
    book._writer.submit(stuck.wait, 30)  # noqa: SLF001 - held up, as behind a locked view database
    given_up = uuid4()
    book.keep_later(given_up, "k", "f" * 64, 201, [], JOINED, {}, telling(given_up, 1))
    book.close(wait=0.1)
    stuck.set()
    assert all_told.wait(10) and told == {given_up: False}  # told, not kept: its answer goes out, its retry gets 409


def an_answer(subject: UUID | None = None) -> AnswerToKeep:
    return AnswerToKeep(uuid4(), "k", "f" * 64, 201, [("content-type", "application/json")], JOINED, {str(subject or uuid4()): 1})


def test_an_answer_kept_on_the_loop_is_there_when_it_returns_without_the_books_thread(book: AnswerBook) -> None:
    answer = an_answer()
    assert book.keeps_on_the_loop
    assert book.keep_now(answer) is None  # nothing left for the thread to do
    found = book.find(answer.request_id, "k", wait=0)
    assert found is not None and found.body == JOINED
    assert book.keep_now(answer) is None  # kept already: left as it is, no error
    assert book._handed_over == 0  # noqa: SLF001 - the book's line was never used


def test_the_loop_finds_a_locked_view_file_busy_at_once_and_keeps_nothing(book: AnswerBook, tmp_path: Path) -> None:
    """Behind another connection's write lock (a backup, a rebuild) the loop waits no longer than a command's save does;
    the answer goes to the book's thread, which may wait (shared.idempotency.middleware)."""
    answer = an_answer()
    book.keep_now(an_answer())  # the loop's connection opened before the lock is taken
    other = sqlite3.connect(str(tmp_path / "views.db"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(StoreBusyError):
            book.keep_now(answer)
        assert time.monotonic() - started < 1.0  # the book's engine waits up to 10 s for the same lock
    finally:
        other.close()
    assert book.find(answer.request_id, "k", wait=0) is None


def test_the_first_answer_kept_on_the_loop_is_not_refused_behind_the_purge_it_hands_to_the_books_thread(
    book: AnswerBook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The purge of answers past their retention (once a minute) goes to the book's thread, which holds the write lock
    while it runs: handed over before the loop's own write, it took the lock first and the loop found the file busy."""
    locked, done = threading.Event(), threading.Event()

    def a_long_purge(_now: float) -> None:
        other = sqlite3.connect(str(tmp_path / "views.db"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        done.wait(10)
        other.close()

    monkeypatch.setattr(book, "_purge_logged", a_long_purge)
    loop_connection = book._loop_connection  # noqa: SLF001 - the thread switch made at its worst moment

    def after_the_book_thread_ran() -> sqlite3.Connection:
        locked.wait(0.5)  # a purge handed over already has the lock by now
        return loop_connection()

    monkeypatch.setattr(book, "_loop_connection", after_the_book_thread_ran)
    answer = an_answer()
    try:
        book.keep_now(answer)
    finally:
        done.set()
    assert locked.wait(5)  # the purge was still handed over, after the write
    assert book.find(answer.request_id, "k", wait=0) is not None


def settled(book: AnswerBook) -> None:
    """Wait until the book's own thread has done what was handed to it (a purge after a keep, an erasure's): a keep on
    the loop that meets that thread's write lock is busy by design (:class:`~shared.inplace.StoreBusyError`, kept later),
    which is not what the test is about (it failed so on a loaded machine)."""
    book._writer.submit(lambda: None).result()  # noqa: SLF001 - the book's thread, idle again


def test_an_answer_about_someone_forgotten_meanwhile_is_never_written_on_the_loop(book: AnswerBook) -> None:
    """Checked against the erasures' tombstones under the write lock, before its rows are written: not written and
    deleted after (its bytes in the log until the next erasure's truncation), nor left for a thread to drop."""
    person, other = uuid4(), uuid4()
    book.forget(person, up_to_version=1)  # the erasure committed between the command's save and its answer
    answer = an_answer(person)
    settled(book)
    assert book.keep_now(answer) is None
    with book.engine.connect() as connection:
        for table in ("idempotent_answers", "idempotent_answer_subjects"):
            assert connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 0  # noqa: S608 - our tables
    assert book.find(answer.request_id, "k", wait=0) is None

    later = AnswerToKeep(uuid4(), "k", "f" * 64, 201, [], JOINED, {str(person): 2, str(other): 1})
    settled(book)
    book.keep_now(later)  # about the person as they stand after the erasure (its own version): kept
    assert book.find(later.request_id, "k", wait=0) is not None


def test_keeping_on_the_loop_lets_go_of_the_write_lock_whatever_fails_in_it(
    book: AnswerBook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop's connection is held from one answer to the next: a failure inside its transaction (here, past the
    write lock) must not leave the view file locked for every other writer (the book's thread, the views, an erasure)."""

    def broken(*_: object) -> list[AnswerToKeep]:
        raise RuntimeError("a fault between the lock and the commit")

    monkeypatch.setattr(book, "_forgotten_among", broken)
    with pytest.raises(RuntimeError):
        book.keep_now(an_answer())
    monkeypatch.undo()
    book._writer.submit(lambda: None).result()  # noqa: SLF001 - the purge the keep handed to the book's thread, done

    other = sqlite3.connect(str(tmp_path / "views.db"), isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")  # at once: nobody holds the lock
        other.execute("ROLLBACK")
    finally:
        other.close()
    answer = an_answer()
    book.keep_now(answer)
    assert book.find(answer.request_id, "k", wait=0) is not None


def test_answers_kept_on_the_loop_still_drop_those_past_their_retention(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'views.db'}", rebuildable=True)
    now = [1_000_000.0]
    book = AnswerBook(engine, retention=timedelta(hours=24), clock=lambda: now[0])
    try:
        old = an_answer()
        book.keep_now(old)
        # The first answer's purge (due at once) runs in the book's thread: let it end, or it holds the file's write lock
        # as the next answer is kept on the loop, which is then busy (make test: "database is locked"); on a service the
        # busy answer goes the slow way (keep_later), which this test is not about.
        book._writer.submit(lambda: None).result(timeout=10)  # noqa: SLF001
        now[0] += 25 * 3600  # past the retention, and past the minute between purges
        book.keep_now(an_answer())
        book.flush()
        book._writer.submit(lambda: None).result(timeout=10)  # noqa: SLF001 - the purge handed to the book's thread is done
        with engine.connect() as connection:
            left = connection.exec_driver_sql("SELECT request_id FROM idempotent_answers").scalars().all()
        assert str(old.request_id) not in left and len(left) == 1
    finally:
        book.close()
        engine.dispose()
