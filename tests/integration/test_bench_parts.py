"""`make bench`'s in-process parts run the services' real commands: a rule added to a command can make the bench's own
data refused, and `make bench` then drops the part and its figures (session 61: in-person meetings a day apart by
``i % 200`` met the same-day duplicate rule from the 201st on). Run here on the counts that reach such a repeat."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bench.run import SIGNED_IN, checkpoint_sizes, one_osv_growing, reporting_settings
from services.reporting.api import create_app
from services.reporting.views.readmodel import ReadModel
from shared.views import make_engine
from tests.support.programmelog import programme_log


def test_one_osv_growing_runs_past_two_hundred_commands_an_osv(tmp_path: Path) -> None:
    """1,000 grants/members/meetings to one OSV in the bench; 260 here pass every repeat of a day or amount under 250."""
    figures = one_osv_growing(tmp_path, 260, 10)

    grants_first, grants_last, members_first, members_last, meetings_first, meetings_last = figures[:6]
    assert min(grants_first, grants_last, members_first, members_last, meetings_first, meetings_last) > 0
    assert all(first > 0 and last > 0 for first, last in figures[6:])  # CPU ms a command, fresh and grown


def test_the_bench_measures_the_checkpoints_in_the_read_models_own_table(tmp_path: Path) -> None:
    """Session 61: the bench named ``tally_checkpoints_5`` itself, and once the read model's checkpoints moved on to a
    new table, ``make bench``'s rebuild part failed ("no such table") and printed none of its figures."""
    import sqlite3

    readmodel = ReadModel(make_engine(f"sqlite:///{tmp_path / 'views.db'}"), checkpoint_every=20, settle_seconds=0)
    readmodel.apply(programme_log(200, seed=5))
    assert readmodel.checkpoints()
    with sqlite3.connect(tmp_path / "views.db") as connection:
        total, largest = checkpoint_sizes(connection)
    assert 0 < largest <= total


def test_the_benchs_reporting_reads_no_feed_and_raises_no_alarm_over_its_hand_built_streams_holes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Maintainers' note (helper 255): `bench/run.py`'s dashboard part logged, from its in-process reporting, two ERROR
    lines "events of registry missing and not fetched from its feed": its streams are made by hand, with holes, and no
    service serves their feeds (it asked 127.0.0.1:8001-8003, whatever runs there). The real service's alarm stays."""
    monkeypatch.setitem(SIGNED_IN, "env", {"OSV_AUTH_ISSUER": "http://127.0.0.1:9/idp"})  # the token is never checked here
    path = tmp_path / "views.db"
    readmodel = ReadModel(make_engine(f"sqlite:///{path}"), checkpoint_every=20, settle_seconds=0)
    readmodel.apply([event for event in programme_log(60, seed=5) if not (event["id"].startswith("registry:") and event["position"] in (3, 4))])
    assert [(hole.source, hole.first, hole.last) for hole in readmodel.missing()] == [("registry", 3, 4)]  # as the bench's have
    with caplog.at_level(logging.INFO, logger="shared.following"), TestClient(create_app(reporting_settings(path))):
        time.sleep(6.5)  # past reporting's default round of 5 s, after which a hole still there was the alarm
    said = [record.getMessage() for record in caplog.records if record.name == "shared.following"]
    assert not [line for line in said if "missing" in line or "feed" in line], said


def test_the_bench_tells_each_worker_its_share_of_a_services_cpu() -> None:
    """A service under ``--workers 2`` served the bench's four keep-alive connections from one worker as often as from
    both (session 63: 1, 2 and 3 workers gave registry 562 / 559 / 564 cmd/s): section 1 prints each worker's share.
    The tree's processes are read from /proc, a busy child's share above an idle one's, under 1% left out."""
    import subprocess
    import sys

    from bench.run import busiest_shares, process_tree_cpu

    def child(work: str) -> subprocess.Popen[bytes]:  # started, says so, then waits for a line before its work
        return subprocess.Popen([sys.executable, "-c", f"import time\nprint(flush=True)\ninput()\n{work}\ninput()"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    spinning = child("end = time.process_time() + 0.4\nwhile time.process_time() < end: pass")
    idle = child("pass")
    try:
        for started in (spinning, idle):
            assert started.stdout is not None and started.stdout.readline() == b"\n"  # its start-up's CPU is before `before`
        before = process_tree_cpu(spinning.pid) | process_tree_cpu(idle.pid)
        for go in (spinning, idle):
            assert go.stdin is not None
            go.stdin.write(b"\n")
            go.stdin.flush()
        deadline = time.monotonic() + 30
        while process_tree_cpu(spinning.pid)[spinning.pid] - before[spinning.pid] < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        after = process_tree_cpu(spinning.pid) | process_tree_cpu(idle.pid)
    finally:
        for each in (spinning, idle):
            each.communicate(b"\n", timeout=30)

    assert set(before) == {spinning.pid, idle.pid}
    assert busiest_shares(before, after) == [1.0]  # the idle one used under 1%
    assert busiest_shares({1: 1.0, 2: 0.0, 3: 5.0}, {1: 1.0, 2: 3.0, 3: 6.0}) == [0.75, 0.25]
    assert busiest_shares({1: 1.0}, {1: 1.0}) == []
