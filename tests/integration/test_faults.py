"""NATS going away loses nothing and counts nothing twice; personal data never leaves engagement."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import subprocess
from pathlib import Path

import nats
import pytest

from devtools.embedded import NatsServer
from services.reporting import rebuild
from services.reporting.fromfeeds import RebuildError, rebuild_from_feeds
from services.reporting.rebuild import rebuild_from_stream
from services.reporting.views.readmodel import ReadModel
from shared.lifecycle import COLLECT_EVERY
from shared.views import make_engine
from tests.integration.test_event_flow import map_register_grant_and_enrol
from tests.support.system import eventually, running_system

NAME = "Yusleidy Carolina Pérez Mora"
DOCUMENT = "001234567"


def stream_messages(url: str) -> list[bytes]:
    """Every message of the write services' streams."""

    async def read() -> list[bytes]:
        nc = await nats.connect(url)
        js = nc.jetstream()
        payloads = []
        for name in await js.streams_info():
            if not name.config.name.startswith("OSV_") or name.config.name == "OSV_PARKED" or not name.state.messages:
                continue
            for sequence in range(name.state.first_seq, name.state.last_seq + 1):
                payloads.append((await js.get_msg(name.config.name, sequence)).data or b"")
        await nc.close()
        return payloads

    return asyncio.run(read())


def map_osvs(system, count: int, start: int = 0) -> list[str]:  # noqa: ANN001
    ids = []
    for i in range(start, start + count):
        response = system.registry.post("/osvs", json={"name": f"OSV {i}", "district": "Ate", "mapped_on": "2021-04-01"})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def test_commands_made_while_nats_is_frozen_are_published_once_it_thaws_and_counted_once(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        map_osvs(system, 5)
        system.wait_relayed()
        system.wait_applied()

        nats_server.pause()
        map_osvs(system, 20, start=5)  # commands still succeed
        assert system.registry.get("/health").json()["relay"]["lag"] > 0
        nats_server.resume()

        system.wait_relayed()
        system.wait_applied()
        assert system.indicators()["total"]["osvs_identified"] == 25

    assert len(stream_messages(nats_server.url)) == 25


def test_commands_made_while_nats_is_down_survive_a_restart_of_nats_and_are_counted_once(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        map_osvs(system, 3)
        system.wait_relayed()
        system.wait_applied()

        nats_server.stop()
        map_osvs(system, 10, start=3)
        eventually(lambda: system.registry.get("/health").json()["nats"] == "disconnected")
        nats_server.start()

        system.wait_relayed()
        system.wait_applied()
        assert system.indicators()["total"]["osvs_identified"] == 13

    assert len(stream_messages(nats_server.url)) == 13


def test_rebuilding_from_the_stream_or_the_feeds_gives_the_live_read_model(
    tmp_path: Path, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        map_register_grant_and_enrol(system)
        map_osvs(system, 10)
        system.wait_relayed()
        system.wait_applied()
        live = ReadModel(make_engine(f"sqlite:///{tmp_path / 'var' / 'reporting' / 'readmodel.db'}"))

        from_stream = ReadModel(make_engine(f"sqlite:///{tmp_path / 'from-stream.db'}"))
        before, during, commands = gc.get_threshold(), [], []
        started = rebuild.subprocess.Popen

        def reader(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
            commands.append(" ".join(args))
            return started(args, **kwargs)  # type: ignore[call-overload, no-any-return]

        monkeypatch.setattr(rebuild.subprocess, "Popen", reader)
        replayed = rebuild_from_stream(from_stream, nats_server.url, "OSV", batch=4,
                                       progress=lambda *_: during.append((*gc.get_threshold(), osv_index(from_stream))))
        monkeypatch.undo()
        assert during and all(t[0] == COLLECT_EVERY for t in during)  # a sixth of a rebuild's CPU was the cycle collector
        # ix_facts_osv is made once at the end (kept while a million facts went in one by one, it halved the rate)
        assert not any(t[-1] for t in during) and osv_index(from_stream)
        assert len(commands) == 1 and "streamreader.py" in commands[0] and nats_server.url not in commands[0]  # a NATS URL may carry a password
        assert gc.get_threshold() == before
        from_feeds = ReadModel(make_engine(f"sqlite:///{tmp_path / 'from-feeds.db'}"))
        feeds = {name: client for name, client in system.writers().items()}
        read = rebuild_from_feeds(from_feeds, feeds, page=3)

        assert replayed == read == 19  # with engagement's two OSVDocumentsCounted, applied but kept as no fact:
        assert len(live.facts()) == len(from_stream.facts()) == 17  # reporting counts nothing from them
        assert from_stream.digest() == from_feeds.digest() == live.digest()

        def interrupted(*_: int) -> None:
            raise KeyboardInterrupt

        cut_short = ReadModel(make_engine(f"sqlite:///{tmp_path / 'cut-short.db'}"))
        with pytest.raises(KeyboardInterrupt):  # an operator's Ctrl-C: the collector is as it was, the reader gone
            rebuild_from_stream(cut_short, nats_server.url, "OSV", batch=4, progress=interrupted)
        assert gc.get_threshold() == before and osv_index(cut_short)
        assert not stream_readers()


def osv_index(readmodel: ReadModel) -> bool:
    """Whether the read model's SQLite file holds the index of facts by OSV."""
    with readmodel.engine.connect() as connection:
        return connection.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'ix_facts_osv'").first() is not None


def stream_readers() -> list[int]:
    """This process's children that run the rebuild's stream reader."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status, command = (entry / "status").read_text(), (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if f"PPid:\t{os.getpid()}\n" in status and b"streamreader.py" in command:
                children.append(int(entry.name))
    return children


def test_a_rebuild_with_the_nats_server_out_of_reach_fails_naming_it_and_leaves_no_reader(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nowhere = f"nats://127.0.0.1:{probe.getsockname()[1]}"
    readmodel = ReadModel(make_engine(f"sqlite:///{tmp_path / 'readmodel.db'}"))
    with pytest.raises(RebuildError, match="reading the stream failed: NatsUnreachableError: no NATS server took the connection"):
        rebuild_from_stream(readmodel, nowhere, "OSV")
    assert not stream_readers()
    assert readmodel.facts() == []


def test_a_reader_that_dies_before_the_end_of_the_stream_fails_the_rebuild_with_its_exit_code(
    tmp_path: Path, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    dying = tmp_path / "streamreader.py"
    dying.write_text("import sys\nsys.exit(3)\n")  # as a reader killed by the kernel would: no word, its pipe closed
    monkeypatch.setattr(rebuild, "READER", dying)
    with pytest.raises(RebuildError, match=r"stopped \(exit code 3\) before the end of the stream"):
        rebuild_from_stream(ReadModel(make_engine("sqlite://")), nats_server.url, "OSV")


def test_no_member_name_or_document_number_is_in_the_engagement_store_the_stream_or_the_feed(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        map_register_grant_and_enrol(system)  # enrols NAME with DOCUMENT
        system.wait_relayed()
        system.wait_applied()
        feed = system.engagement.get("/events").text
        member = system.engagement.get("/events").json()["events"][0]["data"]
        assert member["nationality"] == "VE" and "full_name" not in member

    secrets = [NAME.encode(), DOCUMENT.encode(), "Yusleidy".encode()]
    for path in (tmp_path / "var").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(secret in content for secret in secrets), f"personal data in {path}"
    for path in Path(nats_server.store_dir).rglob("*"):
        if path.is_file():
            assert not any(secret in path.read_bytes() for secret in secrets), f"personal data in {path}"
    for payload in stream_messages(nats_server.url):
        assert not any(secret in payload for secret in secrets)
    assert not any(secret.decode() in feed for secret in secrets)

