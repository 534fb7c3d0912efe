"""Retries are safe: a POST sent again with its Idempotency-Key is carried out once and answered as the first time.

Registry, funding and engagement over HTTP, their stores on SQLite and on
PostgreSQL. A client that lost an answer (a broken connection, a service
killed after its commit) sends the request again with the same key: it gets
the first answer, or, when that answer was never kept, a 409 naming what the
request recorded; never a second fact.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy
from fastapi.testclient import TestClient

from services.engagement.api import create_app as engagement_app
from services.funding.api import create_app as funding_app
from services.registry.api import create_app as registry_app
from services.registry.application import Registry
from shared.idempotency import AnswerBook, IdempotentCall, IdempotentRequest, IdempotentRequestInProgressError, serving
from shared.idempotency.middleware import KEEP_WAIT_SECONDS
from shared.inplace import StoreBusyError
from tests.support.api import Upstream, assert_problem, created
from tests.support.clients import application_of, at_once, feed_types, settings_for
from tests.support.identity import signed_in_headers

pytestmark = pytest.mark.timeout(180)

AN_OSV = {"name": "Mujeres Emprendedoras de Comas", "district": "Comas", "mapped_on": "2021-03-15"}
AN_OSV_DATE = date(2021, 3, 15)


@pytest.fixture
def store(database_url: str) -> str:
    """Every story here runs on SQLite, then on PostgreSQL."""
    return database_url


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": f'"{key}"'}


# The same request again -------------------------------------------------------------------


def test_a_retried_post_with_its_key_gets_the_first_answer_and_records_one_fact(registry: TestClient) -> None:
    key = str(uuid4())
    first = registry.post("/osvs", json=AN_OSV, headers=keyed(key))
    # The same body, written otherwise (key order, spacing), and the key without quotes.
    written_otherwise = '{"mapped_on": "2021-03-15",  "district": "Comas", "name": "Mujeres Emprendedoras de Comas"}'
    again = registry.post(
        "/osvs", content=written_otherwise, headers={"Idempotency-Key": key, "Content-Type": "application/json"}
    )

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    # A GET ignores the header: it neither spends nor answers the key.
    assert registry.get(f"/osvs/{first.json()['id']}", headers=keyed(key)).json()["name"] == AN_OSV["name"]
    assert feed_types(registry) == ["OSVMapped"]
    assert len(registry.get("/osvs").json()) == 1

    # Without a key, a POST sent again is another request: the same OSV again is a possible duplicate.
    assert_problem(registry.post("/osvs", json=AN_OSV), 409, "name", "possible_duplicate")
    assert feed_types(registry) == ["OSVMapped"]


def test_a_key_sent_with_another_request_is_refused_with_422_naming_the_header(registry: TestClient) -> None:
    key = str(uuid4())
    osv_id = created(registry.post("/osvs", json=AN_OSV, headers=keyed(key)))["id"]

    other_body = registry.post("/osvs", json={**AN_OSV, "name": "Otra OSV"}, headers=keyed(key))
    other_path = registry.post(f"/osvs/{osv_id}/contact-lost", json={"since": "2021-05-01"}, headers=keyed(key))

    assert_problem(other_body, 422, "Idempotency-Key", "idempotency_key_reused")
    assert_problem(other_path, 422, "Idempotency-Key", "idempotency_key_reused")
    assert feed_types(registry) == ["OSVMapped"]
    # Written as every other answer is: compact, a client comparing bodies or logging them sees one form.
    assert other_body.content.startswith(b'{"type":"about:blank","title":"Unprocessable Content","status":422,')


def test_a_key_sent_again_without_the_distinct_from_it_was_recorded_with_is_told_so_and_another_body_is_not(
    registry: TestClient,
) -> None:
    """An OSV mapped as distinct from a look-alike, under a Kobo submission's key; the export imported again without
    ``--distinct``: the request is the key's but for ``distinct_from``, carried out, and the 422 says so (tester 242
    F2: it read as a key squatted, "nothing of it is recorded"). A request that differs in anything else does not."""
    first = created(registry.post("/osvs", json=AN_OSV))["id"]
    key = str(uuid4())
    told_apart = {**AN_OSV, "distinct_from": [first]}
    created(registry.post("/osvs", json=told_apart, headers=keyed(key)))

    without = registry.post("/osvs", json=AN_OSV, headers=keyed(key))
    another = registry.post("/osvs", json={**told_apart, "mapped_on": "2021-03-02"}, headers=keyed(key))
    none_named = registry.post("/osvs", json={**AN_OSV, "distinct_from": []}, headers=keyed(key))

    body = assert_problem(without, 422, "Idempotency-Key", "idempotency_key_reused")
    assert (body["same_request"], body["differs_in"]) == (False, ["distinct_from"])
    assert assert_problem(none_named, 422, "Idempotency-Key", "idempotency_key_reused")["differs_in"] == ["distinct_from"]
    body = assert_problem(another, 422, "Idempotency-Key", "idempotency_key_reused")
    assert body["same_request"] is False and "differs_in" not in body
    assert registry.post("/osvs", json=told_apart, headers=keyed(key)).headers["idempotent-replayed"] == "true"
    assert feed_types(registry) == ["OSVMapped", "OSVMapped"]


def test_a_key_recorded_before_the_caller_free_fingerprint_was_kept_is_still_read_and_says_nothing_of_the_caller(
    registry: TestClient,
) -> None:
    """Records stored before ``request`` (the fingerprint without the caller) was kept have no such field: they are read
    as before, and their key's reuse is refused as before, without ``same_request`` (they cannot tell)."""
    app = application_of(registry)
    key, old_key = str(uuid4()), str(uuid4())
    created(registry.post("/osvs", json=AN_OSV, headers=keyed(key)))
    [stored] = app.recorder.select_events(IdempotentRequest.id_for("registry", key))
    state = app.mapper.transcoder.decode(app.mapper.compressor.decompress(stored.state) if app.mapper.compressor else stored.state)
    assert state.pop("request")
    old_state = app.mapper.transcoder.encode(state)
    old_state = app.mapper.compressor.compress(old_state) if app.mapper.compressor else old_state
    old_id = IdempotentRequest.id_for("registry", old_key)
    app.recorder.insert_events([replace(stored, originator_id=old_id, state=old_state)])
    record = app.find_idempotent_request(old_id)
    assert record is not None and record.request == "" and [s["kind"] for s in record.saved] == ["OSV", "DistrictRoll"]

    reused = registry.post("/osvs", json=AN_OSV, headers=keyed(old_key))

    assert "same_request" not in assert_problem(reused, 422, "Idempotency-Key", "idempotency_key_reused")
    assert feed_types(registry) == ["OSVMapped"]


def test_a_key_that_is_not_a_short_visible_string_is_refused_with_422(registry: TestClient) -> None:
    for bad in ('""', "x" * 256, '"unterminated', "two words"):
        assert_problem(registry.post("/osvs", json=AN_OSV, headers={"Idempotency-Key": bad}), 422, "Idempotency-Key", "idempotency_key_format")
    assert feed_types(registry) == []


def test_a_refused_request_keeps_nothing_so_its_key_can_carry_the_corrected_request(registry: TestClient) -> None:
    key = str(uuid4())
    refused = registry.post("/osvs", json={**AN_OSV, "district": "Gotham"}, headers=keyed(key))
    assert_problem(refused, 422, "district")
    assert_problem(registry.post("/osvs", json={**AN_OSV, "district": "Gotham"}, headers=keyed(key)), 422, "district")

    corrected = registry.post("/osvs", json=AN_OSV, headers=keyed(key))

    assert corrected.status_code == 201
    assert registry.post("/osvs", json=AN_OSV, headers=keyed(key)).json() == corrected.json()
    assert feed_types(registry) == ["OSVMapped"]


# Concurrency: the record in the command's own transaction decides ------------------------------


def test_the_same_keyed_request_sent_many_times_at_once_is_carried_out_once(registry: TestClient) -> None:
    key = str(uuid4())
    responses = at_once(10, lambda _: registry.post("/osvs", json=AN_OSV, headers=keyed(key)))

    answered = [r for r in responses if r.status_code == 201]
    assert answered and {r.json()["id"] for r in answered} == {answered[0].json()["id"]}
    for response in responses:
        if response.status_code != 201:
            assert_problem(response, 409, "Idempotency-Key")
    assert feed_types(registry) == ["OSVMapped"]
    assert registry.post("/osvs", json=AN_OSV, headers=keyed(key)).json() == answered[0].json()


def test_retries_of_a_completed_request_sent_at_once_each_get_its_answer_again(registry: TestClient) -> None:
    key = str(uuid4())
    first = registry.post("/osvs", json=AN_OSV, headers=keyed(key))

    retries = at_once(8, lambda _: registry.post("/osvs", json=AN_OSV, headers=keyed(key)))

    # A replay served for one retry is not the request "still running" to another (tester 140 F2).
    assert [r.status_code for r in retries] == [201] * 8
    assert all(r.json() == first.json() and r.headers["idempotent-replayed"] == "true" for r in retries)
    assert feed_types(registry) == ["OSVMapped"]


def test_two_replicas_given_the_same_key_at_once_record_one_fact(tmp_path: Path, database_url: str) -> None:
    settings = settings_for("registry", tmp_path, database_url)
    with TestClient(registry_app(settings), headers=signed_in_headers()) as one, TestClient(registry_app(settings), headers=signed_in_headers()) as other:
        keys = [str(uuid4()) for _ in range(8)]
        replicas = (one, other)
        responses = at_once(
            16, lambda i: replicas[i % 2].post("/osvs", json={**AN_OSV, "name": f"Comedor N.º {i // 2}"}, headers=keyed(keys[i // 2]))
        )

        for response in responses:
            assert response.status_code in (201, 409), response.text
        assert feed_types(one) == ["OSVMapped"] * len(keys)


def test_a_save_under_a_key_another_request_committed_meanwhile_is_refused_and_not_retried(registry: TestClient) -> None:
    app: Registry = application_of(registry)
    key = str(uuid4())

    def a_call() -> IdempotentCall:
        return IdempotentCall(service="registry", key=key, fingerprint="f" * 64, method="POST", path="/osvs")

    with serving(a_call()) as first:
        app.map_osv("Primera", "Comas", AN_OSV_DATE)
    assert first.recorded is not None

    # A replica that checked before the first committed, and saves after it.
    with serving(a_call()) as second, pytest.raises(IdempotentRequestInProgressError):
        app.map_osv("Segunda", "Comas", AN_OSV_DATE)
    assert second.recorded is None
    assert feed_types(registry) == ["OSVMapped"]
    record = app.find_idempotent_request(IdempotentRequest.id_for("registry", key))
    assert record is not None and [s["kind"] for s in record.saved] == ["OSV", "DistrictRoll"]  # the district's names, in one transaction


# The crash window: committed, but no answer kept ---------------------------------------------------


def test_a_retry_after_the_answer_was_lost_gets_409_naming_what_was_recorded_and_never_runs_again(registry: TestClient) -> None:
    key = str(uuid4())
    osv = created(registry.post("/osvs", json=AN_OSV, headers=keyed(key)))
    application_of(registry).answers.drop(IdempotentRequest.id_for("registry", key))  # as if killed before keeping it

    retried = registry.post("/osvs", json=AN_OSV, headers=keyed(key))

    problem = assert_problem(retried, 409, "Idempotency-Key", "idempotent_request_completed")
    assert problem["recorded"][0] == {"id": osv["id"], "kind": "OSV", "version": 1}
    assert [r["kind"] for r in problem["recorded"]] == ["OSV", "DistrictRoll"]
    assert osv["id"] in problem["detail"]
    assert registry.get(f"/osvs/{osv['id']}").status_code == 200
    assert feed_types(registry) == ["OSVMapped"]
    # Another request under that key is still another request.
    assert_problem(registry.post("/osvs", json={**AN_OSV, "name": "Otra"}, headers=keyed(key)), 422, "Idempotency-Key", "idempotency_key_reused")


def test_a_command_whose_answer_could_not_be_kept_still_answers_and_its_retry_gets_409(
    registry: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise OSError("the view database is gone")

    monkeypatch.setattr(application_of(registry).answers, "_rows", broken)  # on the loop and in the book's thread
    key = str(uuid4())
    osv = created(registry.post("/osvs", json=AN_OSV, headers=keyed(key)))

    problem = assert_problem(registry.post("/osvs", json=AN_OSV, headers=keyed(key)), 409, "Idempotency-Key", "idempotent_request_completed")
    assert [r["id"] for r in problem["recorded"]][0] == osv["id"]
    assert feed_types(registry) == ["OSVMapped"]


def held_up(answers: AnswerBook, monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event, threading.Event]:
    """The book's keeping held up (the view database busy) until ``released``: ``(released, keeping, kept)``.

    The loop finds the file busy (it waits for it no more than a command's save does) and hands the answer to the
    book's thread, which waits."""
    released, keeping, kept = threading.Event(), threading.Event(), threading.Event()
    keep_many = answers.keep_many

    def busy(*_: Any) -> None:
        raise StoreBusyError("database is locked")

    def slow(*args: Any) -> None:
        keeping.set()
        released.wait(timeout=10)
        keep_many(*args)
        kept.set()

    monkeypatch.setattr(answers, "keep_many", slow)
    monkeypatch.setattr(answers, "keep_now", busy)
    return released, keeping, kept


def test_the_answer_goes_out_once_it_is_kept_so_a_client_that_got_it_gets_it_again(
    registry: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A kill -9 right after the answer went out lost it when the book kept it after the answer (make faults, flaky):
    # the client that had its 201 got 409 idempotent_request_completed when it sent the request again.
    released, _, kept = held_up(application_of(registry).answers, monkeypatch)
    threading.Timer(0.3, released.set).start()
    key = str(uuid4())
    osv = created(registry.post("/osvs", json=AN_OSV, headers=keyed(key)))
    assert kept.is_set()  # in the view database when the answer went out: a kill after it loses nothing

    again = registry.post("/osvs", json=AN_OSV, headers=keyed(key))
    assert again.json() == osv and again.headers["idempotent-replayed"] == "true"
    assert feed_types(registry) == ["OSVMapped"]


def test_an_answer_held_up_past_a_second_goes_out_all_the_same_and_a_retry_meanwhile_waits_for_it(
    registry: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    released, keeping, kept = held_up(application_of(registry).answers, monkeypatch)
    key = str(uuid4())
    started = time.monotonic()
    osv = created(registry.post("/osvs", json=AN_OSV, headers=keyed(key)))
    assert time.monotonic() - started >= KEEP_WAIT_SECONDS  # waited for it the documented second
    assert keeping.is_set() and not kept.is_set()  # not for the book: answered while its answer is still being kept

    threading.Timer(0.3, released.set).start()
    again = registry.post("/osvs", json=AN_OSV, headers=keyed(key))  # waits for the answer, then replays it
    assert again.json() == osv and again.headers["idempotent-replayed"] == "true"
    assert feed_types(registry) == ["OSVMapped"]


def test_an_answer_handed_over_before_an_erasure_or_a_close_is_dealt_with_first(registry: TestClient) -> None:
    answers = application_of(registry).answers
    person, erased, kept = uuid4(), uuid4(), uuid4()
    released = threading.Event()
    answers._writer.submit(released.wait, 10)  # noqa: SLF001 - the book's thread busy: what follows waits in line
    answers.keep_later(erased, "k", "f" * 64, 201, [], b'{"full_name": "X"}', {str(person): 1})
    answers.keep_later(kept, "k", "f" * 64, 201, [], b'{"name": "Y"}', {str(uuid4()): 1})
    threading.Timer(0.3, released.set).start()
    answers.forget(person, up_to_version=1)  # waits for the answers handed over before it, then deletes
    assert answers.find(erased, "k") is None

    answers.close()  # the application's close: what is pending is kept first
    assert answers.find(kept, "k") is not None


@contextmanager
def view_database_locked(answers: AnswerBook) -> Iterator[None]:
    """The view database's write lock held by another connection (a backup, a rebuild), on an SQLite file: the loop,
    which waits for it no more than a command's save does, hands its answers to the book's thread."""
    if not answers.keeps_on_the_loop:
        yield
        return
    connection = sqlite3.connect(str(answers.engine.url.database), isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
    finally:
        connection.close()


def test_a_retry_waits_for_its_own_answer_only_and_briefly_while_the_answers_are_held_up(registry: TestClient) -> None:
    """Behind a locked view database (a backup, a rebuild) every answer in line takes the busy timeout: a retry whose
    answer is kept replays at once, one whose answer is still in line gets 409 completed after the documented second;
    neither holds its worker thread until the line moves."""
    answers = application_of(registry).answers
    kept_key, held_key = str(uuid4()), str(uuid4())
    kept = created(registry.post("/osvs", json=AN_OSV, headers=keyed(kept_key)))
    answers.flush()
    released = threading.Event()
    # The view database locked until the asserts are done, 60 s at most (15 s ran out on a machine under load: the line
    # moved before the retry, which then replayed the answer kept)
    release = threading.Timer(60, released.set)
    release.start()
    try:
        answers._writer.submit(released.wait, 90)  # noqa: SLF001 - the book's thread held up: what follows waits in line
        other = {**AN_OSV, "name": "Olla Común Nueva Esperanza", "district": "San Juan de Lurigancho"}
        with view_database_locked(answers):
            held = created(registry.post("/osvs", json=other, headers=keyed(held_key)))

        again = registry.post("/osvs", json=AN_OSV, headers=keyed(kept_key))
        assert again.json() == kept and again.headers["idempotent-replayed"] == "true"
        problem = assert_problem(registry.post("/osvs", json=other, headers=keyed(held_key)), 409, "Idempotency-Key", "idempotent_request_completed")
        assert [r["id"] for r in problem["recorded"]][0] == held["id"]
        assert not released.is_set()  # both answered while the line was still held up
    finally:
        released.set()
        release.cancel()
    answers.flush()
    assert registry.post("/osvs", json=other, headers=keyed(held_key)).json() == held  # kept once the line moved
    assert feed_types(registry) == ["OSVMapped", "OSVMapped"]


def test_a_service_asked_to_stop_does_not_wait_for_every_answer_held_up_in_line(registry: TestClient) -> None:
    application = application_of(registry)
    answers = application.answers
    released = threading.Event()
    release = threading.Timer(15, released.set)
    release.start()
    try:
        answers._writer.submit(released.wait, 30)  # noqa: SLF001 - the book's thread held up, as behind a locked view database
        key = str(uuid4())
        with view_database_locked(answers):
            osv = created(registry.post("/osvs", json=AN_OSV, headers=keyed(key)))
        answers.close()  # what the application's close does, as the service stops
        assert not released.is_set()  # gave up on the answer in line instead of waiting for the line to move
    finally:
        released.set()
        release.cancel()
    problem = assert_problem(registry.post("/osvs", json=AN_OSV, headers=keyed(key)), 409, "Idempotency-Key", "idempotent_request_completed")
    assert [r["id"] for r in problem["recorded"]][0] == osv["id"]  # never run twice


def test_answers_handed_over_while_the_book_is_busy_are_kept_together_and_one_kept_already_stays_as_it_was(
    registry: TestClient,
) -> None:
    answers = application_of(registry).answers
    commits: list[int] = []

    def book_commits(_: object) -> None:  # the book's own: on PostgreSQL the views (the follower, a consumer) share the engine
        if threading.current_thread().name.startswith("answer-book"):
            commits.append(1)

    sqlalchemy.event.listen(answers.engine, "commit", book_commits)
    first, second, third = uuid4(), uuid4(), uuid4()
    answers.keep(first, "k", "f" * 64, 201, [], b'{"name": "as first answered"}', {})
    released = threading.Event()
    answers._writer.submit(released.wait, 10)  # noqa: SLF001 - the book's thread busy: the answers wait in line
    for request_id in (second, third):
        answers.keep_later(request_id, "k", "f" * 64, 201, [], b'{"name": "Y"}', {str(uuid4()): 1})
    commits.clear()
    released.set()
    answers.flush()
    assert len(commits) == 1  # both answers, and their subjects, in one transaction
    assert answers.find(second, "k") is not None and answers.find(third, "k") is not None

    held = threading.Event()
    answers._writer.submit(held.wait, 10)  # noqa: SLF001 - busy again: the next two are kept together
    answers.keep_later(first, "k", "f" * 64, 201, [], b'{"name": "a second answer"}', {})
    fourth = uuid4()
    answers.keep_later(fourth, "k", "f" * 64, 201, [], b'{"name": "Z"}', {})
    held.set()
    answers.flush()
    kept = answers.find(first, "k")
    assert kept is not None and kept.body == b'{"name": "as first answered"}'
    assert answers.find(fourth, "k") is not None


def test_an_answer_past_its_retention_is_gone_but_the_request_still_never_runs_twice(registry: TestClient) -> None:
    now = [1_000_000.0]
    app = application_of(registry)
    app.answers = AnswerBook(app.answers.engine, retention=timedelta(hours=24), clock=lambda: now[0])
    key = str(uuid4())
    osv = created(registry.post("/osvs", json=AN_OSV, headers=keyed(key)))

    now[0] += 23 * 3600
    assert registry.post("/osvs", json=AN_OSV, headers=keyed(key)).json() == osv
    now[0] += 2 * 3600
    assert_problem(registry.post("/osvs", json=AN_OSV, headers=keyed(key)), 409, "Idempotency-Key", "idempotent_request_completed")
    assert feed_types(registry) == ["OSVMapped"]


# Funding and engagement ---------------------------------------------------------------------------


def test_a_retried_grant_is_granted_once_and_entered_once_in_the_osv_support(funding: TestClient) -> None:
    osv_id = Upstream(application_of(funding)).osv_mapped()
    body = {"osv_id": osv_id, "amount": "3500.00", "currency": "PEN", "granted_on": "2021-10-20", "kind": "seed_fund"}
    key = str(uuid4())

    first = funding.post("/grants", json=body, headers=keyed(key))
    again = funding.post("/grants", json=body, headers=keyed(key))

    assert (first.status_code, again.status_code) == (201, 201) and again.json() == first.json()
    assert [g["id"] for g in funding.get("/grants", params={"osv_id": osv_id}).json()] == [first.json()["id"]]
    assert feed_types(funding) == ["FundGranted"]
    record = application_of(funding).find_idempotent_request(IdempotentRequest.id_for("funding", key))
    assert {s["kind"] for s in record.saved} == {"Grant", "SupportHistory"}  # both in the one transaction


def test_twenty_people_joining_at_once_each_with_a_key_are_each_registered_once_and_their_retries_replay(engagement: TestClient) -> None:
    osv_id = Upstream(application_of(engagement)).osv_mapped()
    keys = [str(uuid4()) for _ in range(20)]

    def person(i: int) -> dict[str, Any]:
        return {
            "osv_id": osv_id,
            "full_name": f"Persona {i}",
            "document_type": "DNI",
            "document_number": f"{41000000 + i}",
            "nationality": "PE",
            "sex": "M",
            "joined_on": "2024-03-01",
        }

    first = at_once(20, lambda i: engagement.post("/members", json=person(i), headers=keyed(keys[i])))
    again = at_once(20, lambda i: engagement.post("/members", json=person(i), headers=keyed(keys[i])))

    assert [r.status_code for r in first] == [201] * 20, [r.text for r in first if r.status_code != 201]
    assert [r.json() for r in again] == [r.json() for r in first]
    assert feed_types(engagement).count("MemberJoined") == 20
    assert len(engagement.get(f"/osvs/{osv_id}/members?purpose=follow_up").json()) == 20


def test_kept_answers_hold_no_readable_personal_data_and_erasure_deletes_them(engagement: TestClient, tmp_path: Path) -> None:
    osv_id = Upstream(application_of(engagement)).osv_mapped()
    person = {
        "osv_id": osv_id,
        "full_name": "Yusmary Cordero Palacios",
        "document_type": "CEDULA_VE",
        "document_number": "V-18765432",
        "nationality": "VE",
        "sex": "F",
        "joined_on": "2024-03-01",
        "phone": "+51 987 654 321",
    }
    joined_key, role_key, erasure_key = str(uuid4()), str(uuid4()), str(uuid4())
    member = created(engagement.post("/members", json=person, headers=keyed(joined_key)))
    membership_id = member["memberships"][0]["membership_id"]
    role = {"role": "board_member", "changed_on": "2024-04-01"}
    changed = engagement.post(f"/members/{member['id']}/memberships/{membership_id}/role", json=role, headers=keyed(role_key))
    assert changed.status_code == 200, changed.text
    answers: AnswerBook = application_of(engagement).answers
    answers.flush()  # the table is read directly: an answer is kept as it goes out
    rows = answers.engine.connect().exec_driver_sql("SELECT sealed FROM idempotent_answers").fetchall()
    assert len(rows) == 2
    for (sealed,) in rows:
        assert b"Yusmary" not in bytes(sealed) and b"18765432" not in bytes(sealed)
    assert engagement.post("/members", json=person, headers=keyed(joined_key)).json() == member

    erased = engagement.post(f"/members/{member['id']}/erasure", json={"erased_on": "2024-05-01"}, headers=keyed(erasure_key))
    assert erased.status_code == 200, erased.text

    # The answers that named the person are gone; the requests still never run again. The registration's key, whose
    # request held their data, names nothing and answers every body alike (tester 33c F2); the role's change held none.
    for key, path, body in ((joined_key, "/members", person), (role_key, f"/members/{member['id']}/memberships/{membership_id}/role", role)):
        problem = assert_problem(engagement.post(path, json=body, headers=keyed(key)), 409, "Idempotency-Key", "idempotent_request_completed")
        assert "Yusmary" not in str(problem)
        if key == joined_key:
            assert problem["forgotten"] is True and "recorded" not in problem
        else:
            assert member["id"] in [r["id"] for r in problem["recorded"]] and "forgotten" not in problem
    # The erasure's own answer says only "[erased]", and is given again.
    replayed = engagement.post(f"/members/{member['id']}/erasure", json={"erased_on": "2024-05-01"}, headers=keyed(erasure_key))
    assert replayed.json() == erased.json() and erased.json()["full_name"] == "[erased]"
    assert feed_types(engagement).count("MemberJoined") == 1
    if answers.engine.dialect.name == "sqlite":
        views = Path(answers.engine.url.database or "").read_bytes()
        assert b"Yusmary" not in views


def test_an_answer_about_a_person_as_they_stood_before_their_erasure_is_not_kept(engagement: TestClient) -> None:
    answers: AnswerBook = application_of(engagement).answers
    person_id, before, after = uuid4(), uuid4(), uuid4()
    answers.forget(person_id, up_to_version=3)  # the erasure will be version 4

    json_headers = [("content-type", "application/json")]
    answers.keep(before, "k", "f" * 64, 200, json_headers, b'{"full_name": "X"}', {str(person_id): 3})
    answers.keep(after, "k", "f" * 64, 200, json_headers, b'{"full_name": "[erased]"}', {str(person_id): 4})

    assert answers.find(before, "k") is None
    found = answers.find(after, "k")
    assert found is not None and found.body == b'{"full_name": "[erased]"}'


# Documented ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [registry_app, funding_app, engagement_app])
def test_every_post_documents_the_idempotency_key_header_and_no_get_does(factory: Callable[..., Any]) -> None:
    spec = factory().openapi()
    posts = 0
    for operations in spec["paths"].values():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", [])]
            if method in ("post", "patch"):
                posts += 1
                assert "Idempotency-Key" in names, operation["summary"]
                assert "409" in operation["responses"]
            else:
                assert "Idempotency-Key" not in names
    assert posts > 5


def test_an_answer_is_kept_even_when_dropping_the_expired_ones_fails(tmp_path: Path) -> None:
    """The once-a-minute purge of expired answers is housekeeping: a view database locked past its busy timeout (10 s)
    fails it, and the answer it came with is still kept once the lock is gone (its retry replays it, not 409)."""
    from shared.views import make_engine

    path = tmp_path / "views.db"
    answers = AnswerBook(make_engine(f"sqlite:///{path}", rebuildable=True))
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # a backup or a rebuild holding the file's write lock
    release = threading.Timer(12, lambda: holder.execute("ROLLBACK"))  # past the purge's busy timeout, within the answer's
    release.start()
    try:
        request_id, body = uuid4(), '{"name": "Olla Común Nueva Esperanza", "district": "Comas"}'.encode()
        answers.keep_later(request_id, "k", "f" * 64, 201, [("content-type", "application/json")], body, {})
        answers.flush()
        found = answers.find(request_id, "k")
        assert found is not None and found.status == 201 and found.body == body
    finally:
        release.cancel()
        answers.close()
        holder.close()


@pytest.mark.postgres_in_faults
def test_answers_past_their_retention_are_dropped_even_when_tens_of_thousands_expire_at_once(store: str, tmp_path: Path) -> None:
    """A Friday's big import (osv-import sends each row with its key), then a quiet weekend: on Monday the first
    keyed request's purge finds them all expired at once, more than a statement takes parameters on PostgreSQL."""
    from shared.idempotency import AnswerToKeep
    from shared.settings import sqlalchemy_url
    from shared.views import make_engine

    url = sqlalchemy_url(store) if store.startswith("postgres") else f"sqlite:///{tmp_path / 'views.db'}"
    engine = make_engine(url, rebuildable=True)
    now = [1_000_000.0]
    answers = AnswerBook(engine, retention=timedelta(hours=24), clock=lambda: now[0])
    try:
        for _ in range(7):
            answers.keep_many([AnswerToKeep(uuid4(), "k", "f" * 64, 201, [], b'{"name": "Y"}', {str(uuid4()): 1}) for _ in range(10_000)])
        now[0] += 72 * 3600
        monday = uuid4()
        answers.keep(monday, "k", "f" * 64, 201, [], '{"name": "Olla Común Nueva Esperanza"}'.encode(), {str(uuid4()): 1})
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM idempotent_answers").scalar() == 1
            assert connection.exec_driver_sql("SELECT count(*) FROM idempotent_answer_subjects").scalar() == 1
        assert answers.find(monday, "k") is not None
    finally:
        answers.close()
        engine.dispose()
