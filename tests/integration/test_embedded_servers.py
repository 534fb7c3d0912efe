"""Real nats-server and PostgreSQL child processes started by devtools.embedded.

Async client code runs through ``asyncio.run`` inside plain tests, so no
pytest-asyncio is needed.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

import nats
import nats.errors
import psycopg
import pytest

from devtools.embedded import EmbeddedServerError, NatsServer, PostgresServer, free_port

pytestmark = pytest.mark.timeout(60)


def _alive(pid: int) -> bool:
    """Whether pid is a live (non-zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _gone_within(pid: int, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)


def _pids_mentioning(text: str) -> list[int]:
    """PIDs of live processes whose command line contains ``text``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and _alive(int(proc.name)):
            found.append(int(proc.name))
    return found


async def _add_stream(url: str, name: str, subject: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().add_stream(name=name, subjects=[subject])
    finally:
        await nc.close()


async def _publish(url: str, subject: str, payload: bytes) -> int:
    nc = await nats.connect(url)
    try:
        ack = await nc.jetstream().publish(subject, payload, timeout=5)
        return ack.seq
    finally:
        await nc.close()


async def _read(url: str, stream: str, seq: int) -> bytes:
    nc = await nats.connect(url)
    try:
        msg = await nc.jetstream().get_msg(stream, seq)
        return msg.data or b""
    finally:
        await nc.close()


def test_free_port_returns_a_port_that_can_be_bound() -> None:
    import socket

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_a_started_nats_server_accepts_a_jetstream_publish_and_the_message_survives_restart(
    tmp_path: Path,
) -> None:
    with NatsServer(tmp_path / "nats", port=0) as server:
        asyncio.run(_add_stream(server.url, "ORDERS", "orders.>"))
        seq = asyncio.run(_publish(server.url, "orders.created", b"first order"))
        url_before = server.url

        server.restart()

        assert server.url == url_before
        assert asyncio.run(_read(server.url, "ORDERS", seq)) == b"first order"


def test_an_acknowledged_message_survives_a_hard_kill_because_every_write_is_synced(
    tmp_path: Path,
) -> None:
    with NatsServer(tmp_path / "nats", port=0) as server:
        assert "sync_interval: always" in server.config_file.read_text()
        assert server.monitor_url is not None
        jsz = json.load(urllib.request.urlopen(server.monitor_url + "/jsz", timeout=5))
        assert jsz["config"]["sync_always"] is True

        asyncio.run(_add_stream(server.url, "EVENTS", "events.>"))
        seq = asyncio.run(_publish(server.url, "events.x", b"must not be lost"))

        server.restart(hard=True)

        assert asyncio.run(_read(server.url, "EVENTS", seq)) == b"must not be lost"


def test_a_paused_nats_server_times_out_a_publish_and_accepts_again_after_resume(
    tmp_path: Path,
) -> None:
    async def scenario(server: NatsServer) -> int:
        nc = await nats.connect(server.url)
        try:
            js = nc.jetstream()
            await js.add_stream(name="PINGS", subjects=["pings.>"])
            server.pause()
            try:
                with pytest.raises(nats.errors.TimeoutError):
                    await js.publish("pings.a", b"while paused", timeout=0.5)
            finally:
                server.resume()
            ack = await js.publish("pings.a", b"after resume", timeout=5)
            return ack.seq
        finally:
            await nc.close()

    with NatsServer(tmp_path / "nats", port=0) as server:
        seq = asyncio.run(scenario(server))
        assert seq >= 1
        assert asyncio.run(_read(server.url, "PINGS", seq)) == b"after resume"


def test_a_second_nats_server_refuses_a_port_that_is_already_serving(tmp_path: Path) -> None:
    # nats-server binds with SO_REUSEPORT, so without this guard both would run.
    with NatsServer(tmp_path / "a", port=0) as first:
        second = NatsServer(tmp_path / "b", port=first.port)
        with pytest.raises(EmbeddedServerError, match="already accepts connections"):
            second.start()
        assert not second.running


def test_nats_stop_leaves_no_process_behind_and_can_be_called_twice(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats", port=0).start()
    pid = server.pid
    assert pid is not None and _alive(pid)

    server.pause()  # stop() must also end a frozen server
    server.stop()
    server.stop()

    assert _gone_within(pid)
    assert not server.running
    assert _pids_mentioning(str(server.config_file)) == []


def test_postgres_server_creates_a_database_that_psycopg_can_connect_to_and_write_a_row_in() -> None:
    with PostgresServer() as pg:
        url = pg.create_database("osv_test")
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/osv_test"
        assert pg.create_database("osv_test") == url  # existing database is fine

        with psycopg.connect(pg.url_for("osv_test", driver=None)) as conn:
            conn.execute("CREATE TABLE organisation (id serial PRIMARY KEY, name text NOT NULL)")
            conn.execute("INSERT INTO organisation (name) VALUES (%s)", ("Comedor Popular",))
        with psycopg.connect(pg.url_for("osv_test", driver=None)) as conn:
            rows = conn.execute("SELECT name FROM organisation").fetchall()
        assert rows == [("Comedor Popular",)]

        pg.drop_database("osv_test")
        with psycopg.connect(pg.url_for("postgres", driver=None)) as conn:
            names = [r[0] for r in conn.execute("SELECT datname FROM pg_database").fetchall()]
        assert "osv_test" not in names


def test_postgres_stop_leaves_no_process_behind_and_removes_its_directory() -> None:
    pg = PostgresServer().start()
    pid = pg.pid
    base_dir = pg.base_dir
    assert pid is not None and _alive(pid)
    assert base_dir is not None and base_dir.is_dir()

    pg.stop()
    pg.stop()

    assert _gone_within(pid)
    assert not base_dir.exists()
    assert _pids_mentioning(str(base_dir)) == []


def test_a_crashed_postgres_starts_again_on_its_port_with_every_committed_row_and_breaks_open_connections() -> None:
    pg = PostgresServer().start()
    try:
        url = pg.url_for(pg.create_database("osv_restart").rsplit("/", 1)[1], driver=None)
        open_connection = psycopg.connect(url, autocommit=True)
        open_connection.execute("CREATE TABLE organisation (name text NOT NULL)")
        open_connection.execute("INSERT INTO organisation VALUES ('Comedor Popular')")
        before = pg.pid

        pg.halt(mode="immediate")
        pg.start()

        assert pg.pid != before and before is not None and _gone_within(before)
        with pytest.raises(psycopg.OperationalError):
            open_connection.execute("SELECT 1")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT name FROM organisation").fetchall() == [("Comedor Popular",)]
    finally:
        pg.stop()
