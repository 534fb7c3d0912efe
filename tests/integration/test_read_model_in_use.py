"""A rebuild never runs on the read model reporting answers from, nor reporting on one being rebuilt (tester 158 F15).

The README said to stop reporting first; nothing stopped an operator who did
not: the rebuild emptied the read model under the running service, which
answered from it half filled. On an SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from services.reporting.inuse import ReadModelInUse
from shared import web
from shared.views import make_engine
from tests.support.clients import application_of, service_client

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_the_services_workers_share_the_read_model_and_a_rebuild_takes_it_alone_once_they_are_gone(engine: Engine) -> None:
    first, second, rebuild = ReadModelInUse(engine), ReadModelInUse(engine), ReadModelInUse(engine)
    assert first.share() and second.share()  # the service's two workers
    assert not rebuild.take_alone()
    first.release()
    assert not rebuild.take_alone()  # one worker still serves
    second.release()
    assert rebuild.take_alone()
    assert not first.share()  # a worker starting meanwhile
    assert not ReadModelInUse(engine).take_alone()  # a second rebuild
    rebuild.release()
    assert first.share()
    first.release()


def rebuild(database_url: str | None, tmp_path: Path, var_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m services.reporting.rebuild`` from another directory, with ``OSV_VAR_DIR`` (``make run``'s) ``var_dir``."""
    named = ["--database-url", database_url] if database_url is not None else []
    return subprocess.run(
        [sys.executable, "-m", "services.reporting.rebuild", *named, "--nats-url", "nats://127.0.0.1:1"],
        env={**os.environ, "OSV_VAR_DIR": str(var_dir or tmp_path / "other-var"), "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )


def test_a_rebuild_is_refused_while_reporting_runs_on_its_read_model_which_is_left_as_it_was(tmp_path: Path) -> None:
    with service_client("reporting", tmp_path / "var") as client:
        url = str(application_of(client).readmodel.engine.url)
        done = rebuild(url, tmp_path)
        assert done.returncode == 1, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"rebuild: reporting, or another rebuild, is using the read model {url}: stop it first (it would answer from a "
            "read model emptied and filled again), or rebuild beside it with --database-url; the read model: it is left as it was"
        ]
        assert client.get("/health").status_code == 200
    # Once reporting stopped, the rebuild goes on to the stream (here out of reach: its own one line, exit 1).
    after = rebuild(url, tmp_path)
    assert after.returncode == 1 and "is using the read model" not in after.stderr and "NATS" in after.stderr, after.stderr


def test_the_read_model_is_found_in_use_under_any_name_and_where_make_run_keeps_it(tmp_path: Path) -> None:
    """Tester 163 F2, F3: a symbolic link to the read model, or its `file:` URI, rebuilt it under the running service
    (its facts went 553 -> 0 -> 553); with only `OSV_VAR_DIR` set, as `make run` sets it, the rebuild filled `./var`'s
    read model instead, exit 0, and never met the lock."""
    var = tmp_path / "var"
    with service_client("reporting", var) as client:
        database = Path(application_of(client).readmodel.engine.url.database).absolute()
        (tmp_path / "link.db").symlink_to(database)
        for url in (f"sqlite:///{tmp_path / 'link.db'}", f"sqlite:///file:{database}?uri=true", None):
            done = rebuild(url, tmp_path, var_dir=var)
            assert done.returncode == 1 and "is using the read model" in done.stderr, (url, done.stderr)
        assert client.get("/health").status_code == 200
    assert not (tmp_path / "var" / "reporting" / "readmodel.db.in-use.lock").exists() and not (tmp_path / "other-var").exists()


def test_with_wait_the_rebuild_takes_the_read_model_once_reporting_stops(tmp_path: Path) -> None:
    """Tester 163 F8: under `make run`, whose launcher starts a stopped reporting again within a second, "stop reporting
    first" was a race the rebuild lost half the time; with `--wait` it takes the read model as reporting goes."""
    var = tmp_path / "var"
    with service_client("reporting", var) as client:
        url = str(application_of(client).readmodel.engine.url)
        waiting = subprocess.Popen(
            [sys.executable, "-m", "services.reporting.rebuild", "--database-url", url, "--nats-url", "nats://127.0.0.1:1", "--wait", "60"],
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        )
        first = waiting.stderr.readline()  # once it says so, it found reporting there and is waiting (a sleep of 3 s was
        assert waiting.poll() is None  # not always enough for it to start on a busy machine: it then found no reporting)
    _, rest = waiting.communicate(timeout=60)
    said = first + rest
    assert said.startswith("rebuild: reporting is using the read model: waiting up to 60s for it to stop"), said
    assert waiting.returncode == 1 and "or another rebuild, is using" not in said and "NATS" in said, said  # it went on, to the stream
    after = rebuild(url, tmp_path)
    assert after.returncode == 1 and "is using the read model" not in after.stderr, after.stderr  # it let the read model go


def test_a_rebuild_stopped_with_ctrl_c_while_it_waits_says_so_in_one_line(tmp_path: Path) -> None:
    """Tester 164 F6: Ctrl-C printed forty lines of traceback, and nothing of the read model."""
    with service_client("reporting", tmp_path / "var") as client:
        url = str(application_of(client).readmodel.engine.url)
        waiting = subprocess.Popen(
            [sys.executable, "-m", "services.reporting.rebuild", "--database-url", url, "--nats-url", "nats://127.0.0.1:1", "--wait", "60"],
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            # A run started in the background (CI's) ignores SIGINT, and its children with it: Python takes Ctrl-C only
            # when SIGINT is left as it is by default.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        first = waiting.stderr.readline()  # once it says so, it is waiting
        assert first.startswith("rebuild: reporting is using the read model: waiting up to 60s"), first
        waiting.send_signal(signal.SIGINT)
        _, said = waiting.communicate(timeout=30)
    assert waiting.returncode == 130, first + said
    assert said.splitlines() == ["rebuild: stopped (Ctrl-C) while waiting for reporting; the read model: it is left as it was"], said
    assert "Traceback" not in said


def test_reporting_started_while_a_rebuild_runs_waits_for_it_to_end_then_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It refused to start and exited: under `make run`, whose launcher starts a stopped service again on a back-off,
    reporting came back up to 30 s after a long rebuild ended, two error lines a refused start (tester 164 F5). It
    waits now, saying so once and saying when it starts, both as warnings (tester 165 F5), writing nothing into the read
    model the rebuild fills meanwhile (its tables were made at each try, tester 165 F7), saying again now and then that
    it still waits (tester 165 F6), and answers once the rebuild has let the read model go."""
    monkeypatch.setattr(web, "WAIT_REMINDER_SECONDS", 0.8)
    var = tmp_path / "var"
    with service_client("reporting", var) as client:
        engine = make_engine(str(application_of(client).readmodel.engine.url))
    database = Path(str(engine.url.database))
    engine.dispose()
    for made in database.parent.glob(database.name + "*"):
        made.unlink()  # a rebuild into a new file: empty until it fills it
    rebuilding = ReadModelInUse(engine)
    assert rebuilding.take_alone() and database.stat().st_size == 0
    seen_while_waiting: list[int] = []

    def rebuild_ends() -> None:
        seen_while_waiting.append(database.stat().st_size)
        rebuilding.release()

    ended = threading.Timer(2.0, rebuild_ends)  # the rebuild ends two seconds on
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    ended.start()
    try:
        with service_client("reporting", var) as client:
            waited = time.monotonic() - started
            assert client.get("/health").status_code == 200
            assert not rebuilding.take_alone()  # reporting holds its share again
    finally:
        ended.cancel()
        rebuilding.release()
        engine.dispose()
    assert waited >= 2.0
    assert seen_while_waiting == [0]
    said = [(r.levelname, r.getMessage()) for r in caplog.records if "rebuild of its read model is running" in r.getMessage() or "no longer waiting" in r.getMessage()]
    reminders = [message for _, message in said if "still waiting" in message]
    assert reminders and all(m.startswith("reporting: opening the read model: still waiting, ") for m in reminders), said
    assert [each for each in said if "still waiting" not in each[1]] == [
        ("WARNING", "reporting: a rebuild of its read model is running (python -m services.reporting.rebuild, make rebuild): waiting for it to end to start"),
        ("WARNING", "reporting: opening the read model: no longer waiting; starting"),
    ]
