"""Quick cases of the fault suite (``make faults`` runs them all, larger): real processes, broken mid-load.

``make test`` runs the replicas case; the NATS kill is marked ``faults`` and runs under ``make faults``. The
refused and the oversized event are left to the suite itself: ``tests/integration/test_exactly_once.py``
covers both in process.

Each starts nats-server and the four services as their own uvicorn
processes, puts them under load from four clients (each POST with an
Idempotency-Key, retried until answered), breaks something in the middle and
audits every command: each one acknowledged is in its service's feed and
counted by reporting, and nothing is carried out or counted twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.embedded import PostgresServer
from faults.audit import Row
from faults.cases import Workbench, nats_killed, replicas

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Workbench]:
    bench = Workbench(tmp_path)
    yield bench
    bench.close()


def assert_nothing_lost_or_doubled(row: Row) -> None:
    assert row.failure is None, row
    assert row.acknowledged == row.sent, row
    assert (row.in_feeds, row.counted) == (row.acknowledged, row.acknowledged), row
    assert (row.lost, row.duplicates) == (0, 0), row
    assert row.seconds is not None, row  # reporting caught up with every feed


@pytest.mark.faults
def test_a_nats_server_killed_mid_load_loses_and_doubles_nothing(bench: Workbench) -> None:
    assert_nothing_lost_or_doubled(nats_killed(bench, quick=True))


@pytest.mark.faults  # a load across two replicas of every service (37 s); tests/integration/test_replicas.py stays in `make test`
def test_two_replicas_of_every_service_count_every_event_once(tmp_path: Path, postgres_server: PostgresServer) -> None:
    # Reporting's two share a read model on PostgreSQL; registry's, funding's and engagement's two share an SQLite
    # store each, as `make run` serves them on a two-core machine (two uvicorn workers).
    bench = Workbench(tmp_path, postgres=postgres_server)
    row = replicas(bench, quick=True)
    assert_nothing_lost_or_doubled(row)
    assert row.fault is not None and row.fault.count("on one SQLite store (active, standby)") == 3, row  # one relay publishes per store

