"""``osv-verify`` refuses, in one line and without writing anything, what it cannot check as the service named.

Tester 225 found a typo in ``--store``'s path answered ``ok: 0 events`` (an empty store made in its place, folder and
all), or, with ``--nats``, a tail "cut": a false alarm; another service's store checked as the one named (``ok``, or a
history "rewritten"); a wrong NATS password or port answered with hundreds of lines of nats-py's tracebacks, and the
port after two minutes; and "no published heads were given" when ``--nats`` was, its bucket holding none of the
service's yet. The command runs in a process of its own, from another folder, against real stores and a real
nats-server, as an auditor runs it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from devtools import partners
from devtools.nats_server import NatsServer
from devtools.processes import free_port
from services.registry.application import Registry
from services.reporting.application import PhaseReports
from shared.store import persistence_env

REPOSITORY = Path(__file__).resolve().parents[2]


def osv_verify(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audit.verify", *arguments],
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)}, capture_output=True, text=True, timeout=120, cwd="/tmp",
    )


def one_line_refusal(done: subprocess.CompletedProcess[str]) -> str:
    """The line a refusal says, checked to be the whole of its output, and exit 2."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr[-1500:])
    assert done.stdout == "" and "Traceback" not in done.stderr, done.stderr[-1500:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("osv-verify: "), done.stderr[-1500:]
    return lines[0]


def registry_store(url: str) -> int:
    """Three OSVs mapped in registry's store at ``url`` (each with its district roll's entry); its last position."""
    registry = Registry(persistence_env(url))
    try:
        for n in range(3):
            registry.map_osv(f"OSV {n}", "Comas", date(2021, 3, 1 + n))
        return registry.recorder.max_notification_id() or 0
    finally:
        registry.close()


def everything_under(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_store_path_with_a_typo_is_named_in_one_line_and_nothing_is_made_in_its_place(tmp_path: Path, nats_server: NatsServer) -> None:
    registry_store(f"sqlite:///{tmp_path / 'var' / 'registry' / 'events.db'}")
    typo = tmp_path / "var" / "registri" / "events.db"

    said = one_line_refusal(osv_verify("--service", "registry", "--store", f"sqlite:///{typo}"))
    assert said == (f"osv-verify: there is no SQLite store at {typo} (nothing was made there): "
                    "check --store's path, as sqlite:///var/registry/events.db")
    assert not typo.parent.exists()  # it made the folder and an empty store, and said "ok: 0 events"

    # With the heads given out, it said the empty store's tail was cut: a false alarm.
    said = one_line_refusal(osv_verify("--service", "registry", "--store", f"sqlite:///{typo}", "--nats", nats_server.auditor_url))
    assert f"there is no SQLite store at {typo}" in said
    assert not typo.parent.exists()

    folder = tmp_path / "var" / "registry"
    said = one_line_refusal(osv_verify("--service", "registry", "--store", f"sqlite:///{folder}"))
    assert said.startswith(f"osv-verify: {folder} is a folder, not an SQLite store")


def test_a_file_that_holds_no_event_store_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    """A service's views.db given for its events.db: the tables of an empty store were made in it, and "ok" said."""
    views = tmp_path / "views.db"
    with sqlite3.connect(views) as connection:
        connection.execute("CREATE TABLE osv_directory (id TEXT PRIMARY KEY)")
    connection.close()
    before = views.read_bytes()

    said = one_line_refusal(osv_verify("--service", "registry", "--store", f"sqlite:///{views}"))
    assert said.startswith(f"osv-verify: {views} holds no event store with its chain (no table stored_events)"), said
    assert views.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["views.db"]

    (tmp_path / "notes.db").write_text("not a database\n" * 100)
    said = one_line_refusal(osv_verify("--service", "registry", "--store", f"sqlite:///{tmp_path / 'notes.db'}"))
    assert said.startswith(f"osv-verify: {tmp_path / 'notes.db'} cannot be read as an SQLite store (DatabaseError: file is not a database)")


def test_a_stopped_services_store_is_checked_without_a_byte_written_beside_it(tmp_path: Path) -> None:
    """SQLite's read-only mode would still leave a ``-wal`` and a ``-shm`` beside a store whose service stopped cleanly."""
    store = tmp_path / "registry" / "events.db"
    last = registry_store(f"sqlite:///{store}")
    before = everything_under(tmp_path)
    assert list(before) == ["registry/events.db"]

    done = osv_verify("--service", "registry", "--store", f"sqlite:///{store}")

    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.startswith(f"registry: ok: {last} events chained up to head "), done.stdout
    assert everything_under(tmp_path) == before


def test_another_services_store_is_refused_as_another_services_feed_is(database_url: str) -> None:
    """On SQLite every store's table is ``stored_events``: its events' topics say whose it is. On PostgreSQL the
    tables are named after the application, and registry's database holds no ``engagement_events``."""
    registry_store(database_url)

    said = one_line_refusal(osv_verify("--service", "engagement", "--store", database_url))

    if database_url.startswith("sqlite"):
        assert said == (f"osv-verify: the store at {database_url} holds registry's events, not engagement's: "
                        "give engagement's own store")
    else:
        assert said.startswith(f"osv-verify: the database at {database_url} "), said
        assert said.endswith("holds no table engagement_events: give engagement's database (its store is engagement_events)")
    assert osv_verify("--service", "registry", "--store", database_url).returncode == 0


def test_a_postgresql_store_out_of_reach_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://osv:pg-s3cret-77@127.0.0.1:{free_port('127.0.0.1')}/registry"
    started = time.monotonic()

    said = one_line_refusal(osv_verify("--service", "registry", "--store", url))

    assert time.monotonic() - started < 30
    assert said.startswith(f"osv-verify: the database at {url.replace('pg-s3cret-77', '***')} cannot be read (OperationalError: "), said
    assert said.endswith("check --store's host, port, user, password and database") and "pg-s3cret-77" not in said


def test_a_nats_server_that_refuses_the_password_or_is_out_of_reach_is_one_line_naming_its_url(tmp_path: Path, nats_server: NatsServer) -> None:
    store = f"sqlite:///{tmp_path / 'registry' / 'events.db'}"
    registry_store(store)
    address = nats_server.auditor_url.split("@", 1)[1]

    started = time.monotonic()
    said = one_line_refusal(osv_verify("--service", "registry", "--store", store, "--nats", f"nats://auditor:Wr0ngPass@{address}"))
    assert time.monotonic() - started < 30  # 763 lines of tracebacks, before
    assert said.startswith(f"osv-verify: the NATS server at nats://auditor:***@{address} refused the sign-in ("), said
    assert "Authorization Violation" in said and said.endswith("check the user and password in --nats "
                                                               "(the auditor's: `auditor_password` in var/nats/accounts.json)")
    assert "Wr0ngPass" not in said

    nowhere = f"127.0.0.1:{free_port('127.0.0.1')}"
    started = time.monotonic()
    said = one_line_refusal(osv_verify("--service", "registry", "--store", store, "--nats", f"nats://auditor:x-pw@{nowhere}"))
    assert time.monotonic() - started < 30  # two minutes, and 1,736 lines, before
    assert said.startswith(f"osv-verify: the NATS server at nats://auditor:***@{nowhere} is out of reach (ConnectionRefusedError: "), said
    assert said.endswith("start it, or check --nats's host and port") and "x-pw" not in said

    # A user that signs in but may not read the heads (a partner's) is said so, not a traceback.
    partner = partners.add(nats_server.store_dir, "150132", nats_server.public_url)
    as_partner = f"nats://{partner.user}:{partner.password}@{address}"
    said = one_line_refusal(osv_verify("--service", "registry", "--store", store, "--nats", as_partner))
    assert said.startswith(f"osv-verify: the NATS server at nats://{partner.user}:***@{address} did not give the heads in OSV_CHAIN_HEADS"), said
    assert said.endswith("sign in as the auditor, who may read them") and partner.password not in said


def test_a_bucket_without_the_services_head_is_said_to_hold_none_yet_not_that_no_heads_were_given(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    """Reporting's head is given out once its store moves: before, the bucket holds none of reporting's."""
    store = f"sqlite:///{tmp_path / 'reporting' / 'events.db'}"
    reports = PhaseReports(persistence_env(store))
    reports.set_targets("F1", "osvs_identified", {}, {"value": 30}, "a lead", datetime(2021, 3, 1, tzinfo=timezone.utc))
    reports.close()
    auditor = nats_server.auditor_url.replace(nats_server.accounts.auditor_password, "***")

    done = osv_verify("--service", "reporting", "--store", store, "--nats", nats_server.auditor_url)

    assert done.returncode == 0 and done.stdout.startswith("reporting: ok: "), (done.stdout, done.stderr[-1500:])
    assert done.stderr.strip() == f"note: the bucket OSV_CHAIN_HEADS at {auditor} holds no head of reporting yet: only the chain itself was checked"

    heads = tmp_path / "report.json"
    heads.write_text('{"heads": {"registry": {"position": 3, "hash": "abababababababababababababababababababababababababababababababab"}, "reporting": null}}')
    done = osv_verify("--service", "reporting", "--store", store, "--nats", nats_server.auditor_url, "--heads", str(heads))
    assert done.stderr.strip() == (f"note: neither the bucket OSV_CHAIN_HEADS at {auditor} nor {heads} holds a head of reporting yet: "
                                   "only the chain itself was checked")

    done = osv_verify("--service", "reporting", "--store", store)
    assert done.stderr.strip() == "note: no published heads were given (--nats, --heads): only the chain itself was checked"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "mysql://db/registry"])
def test_a_store_url_that_names_no_store_is_one_line(url: str) -> None:
    said = one_line_refusal(osv_verify("--service", "registry", "--store", url))
    assert said.startswith(f"osv-verify: --store {url}"), said
