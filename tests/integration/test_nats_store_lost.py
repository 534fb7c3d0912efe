"""NATS loses its JetStream store, or a stream is deleted under a running service: what publishes and reads it recovers.

Tester t285 F3: after a nats-server came back with an empty store, every relay
stayed paused on "stream not found" until its service was restarted, and the
consumers of other services' streams never bound again. The streams are made
again, as at start, and filled again from the stores; nothing lost, nothing
doubled. A real nats-server with JetStream.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import nats
import pytest
from fastapi.testclient import TestClient
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from nats.js.errors import NotFoundError

from devtools import partner_streams, partners
from devtools.embedded import NatsServer
from devtools.nats_accounts import PARTNER_STREAM, Accounts, admin_user, partner_stream_config
from services.registry.api import create_app as registry_app
from services.registry.settings import RegistrySettings
from shared.chainheads import read_heads
from shared.consumers import DurableConsumer
from shared.messaging import NatsLink
from tests.integration.test_durable_consumer import STREAM, FakeView, publish, until
from tests.integration.test_exactly_once import stream_positions
from tests.support.identity import session_auth, signed_in_headers
from tests.support.partners import SJL, events_of, two_districts_story
from tests.support.system import eventually, running_system


def lose_the_store(server: NatsServer) -> None:
    """What tester t285 did: the store moved away, the server killed; it comes back on its port with an empty store."""
    server.kill()
    shutil.move(server.store_dir / "js", server.store_dir / "js.lost")
    server.start()


@asynccontextmanager
async def consuming(url: str, view: FakeView) -> AsyncIterator[None]:
    """A durable consumer of registry's stream applying to ``view``, as funding's views read it, for the block."""
    link = NatsLink(url, "test", STREAM, 1, 60, own_service="funding")  # reads registry's stream, not its own
    link.start()
    await link.wait_ready()
    consumer = DurableConsumer(link, "test-view", "osv.registry.>", view.apply, retry_seconds=0.05)
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await link.close()


async def delete_stream(url: str, stream: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


async def stream_exists(url: str, stream: str) -> bool:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().stream_info(stream)
    except NotFoundError:
        return False
    finally:
        await nc.close()
    return True


async def until_exists(url: str, stream: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await stream_exists(url, stream):
        assert asyncio.get_running_loop().time() < deadline, f"no stream {stream} within {timeout} s"
        await asyncio.sleep(0.05)


@contextmanager
def registry(tmp_path: Path, nats_url: str) -> Iterator[TestClient]:
    settings = RegistrySettings(var_dir=tmp_path / "registry", nats_url=nats_url, auth=session_auth())
    with TestClient(registry_app(settings), headers=signed_in_headers()) as client:
        yield client


def map_osvs(client: TestClient, numbers: range) -> None:
    for i in numbers:
        answer = client.post("/osvs", json={"name": f"Vecinos Unidos {i}", "district": "Ate", "mapped_on": "2021-04-01"})
        assert answer.status_code == 201, answer.text


def published(client: TestClient) -> list[int]:
    """The positions of the service's feed: what its stream must hold, each once, in order."""
    return [e["position"] for e in client.get("/events", params={"limit": 1000}).json()["events"]]


def holds_the_feed(client: TestClient, url: str) -> bool:
    relay = client.get("/health").json()["relay"]
    return relay["lag"] == 0 and asyncio.run(stream_positions(url, "OSV_REGISTRY")) == published(client)


def test_a_relay_whose_stream_is_deleted_under_it_makes_it_again_and_fills_it_from_the_store(
    tmp_path: Path, nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with registry(tmp_path, nats_server.url) as client:
        map_osvs(client, range(3))
        eventually(lambda: holds_the_feed(client, nats_server.url), timeout=30)
        asyncio.run(delete_stream(nats_server.url, "OSV_REGISTRY"))
        map_osvs(client, range(3, 5))  # its publish finds no stream
        eventually(lambda: holds_the_feed(client, nats_server.url), timeout=30)
        assert len(published(client)) == 5
        assert client.get("/health").json()["status"] == "ok"
    said = [r.getMessage() for r in caplog.records if "does not exist on NATS" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("relay registry: stream OSV_REGISTRY does not exist on NATS"), said


def test_a_relay_with_nothing_to_publish_fills_its_stream_again_once_nats_comes_back_without_its_store(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    with registry(tmp_path, nats_server.url) as client:
        map_osvs(client, range(4))
        eventually(lambda: holds_the_feed(client, nats_server.url), timeout=30)
        lose_the_store(nats_server)
        # Nothing new is saved: only the reconnection tells the relay to look at its stream again.
        eventually(lambda: asyncio.run(stream_exists(nats_server.url, "OSV_REGISTRY")) and holds_the_feed(client, nats_server.url), timeout=30)
        map_osvs(client, range(4, 6))
        eventually(lambda: holds_the_feed(client, nats_server.url), timeout=30)
        assert len(published(client)) == 6


def test_a_consumer_whose_stream_and_durable_consumer_nats_lost_makes_them_again_and_applies_each_event_once(
    nats_server: NatsServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    view = FakeView(tmp_path / "view.db")

    async def story() -> None:
        async with consuming(nats_server.url, view):
            await until_exists(nats_server.url, f"{STREAM}_REGISTRY")  # the consumer made it
            await publish(nats_server.url, range(1, 11))
            await until(lambda: view.position == 10)
            await asyncio.to_thread(lose_the_store, nats_server)
            # The consumer makes registry's stream again; registry's relay fills it from the start, and goes on.
            await until_exists(nats_server.url, f"{STREAM}_REGISTRY")
            await publish(nats_server.url, range(1, 16))
            await until(lambda: view.position == 15)

    asyncio.run(story())
    assert view.applied == list(range(1, 16))  # 1-10 delivered again were skipped, by identity
    said = [r.getMessage() for r in caplog.records if "does not exist on NATS" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"consumer test-view: stream {STREAM}_REGISTRY does not exist"), said


def test_a_consumer_whose_durable_consumer_alone_was_deleted_makes_it_again(nats_server: NatsServer, tmp_path: Path) -> None:
    view = FakeView(tmp_path / "view.db")

    async def story() -> None:
        async with consuming(nats_server.url, view):
            await until_exists(nats_server.url, f"{STREAM}_REGISTRY")  # the consumer made it
            await publish(nats_server.url, range(1, 6))
            await until(lambda: view.position == 5)
            nc = await nats.connect(nats_server.url)
            await nc.jetstream().delete_consumer(f"{STREAM}_REGISTRY", "test-view")
            await nc.close()
            await publish(nats_server.url, range(6, 9))
            await until(lambda: view.position == 8)

    asyncio.run(story())
    assert view.applied == list(range(1, 9))


# -- the partners' streams -------------------------------------------------------------------


async def partner_events(credentials: partners.Credentials, expected: int) -> list[str]:
    """The ids of every event the partner's stream holds, once it holds ``expected`` (signing in as the partner does)."""
    nc = await nats.connect(credentials.url, user=credentials.user, password=credentials.password, allow_reconnect=False, connect_timeout=15)
    try:
        js = nc.jetstream(timeout=5)
        deadline = asyncio.get_running_loop().time() + 60
        while (await js.stream_info(PARTNER_STREAM)).state.messages < expected:
            assert asyncio.get_running_loop().time() < deadline, "the partner's stream was not filled again"
            await asyncio.sleep(0.1)
        subscription = await js.pull_subscribe("", durable="municipal-system", stream=PARTNER_STREAM, config=ConsumerConfig(ack_policy=AckPolicy.NONE))
        return [m.header["Nats-Msg-Id"] for m in await subscription.fetch(1000, timeout=2)]
    finally:
        await nc.close()


async def delete_as_admin(server: NatsServer, municipality: str) -> None:
    nc = await nats.connect(server.public_url, user=admin_user(municipality), password=Accounts.load(server.store_dir).partners[municipality].admin_password)
    try:
        await nc.jetstream().delete_stream(PARTNER_STREAM)
    finally:
        await nc.close()


def test_a_partners_stream_comes_back_with_its_password_when_nats_restarts_without_its_store_and_fills_again(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    credentials = partners.add(nats_server.store_dir, SJL, nats_server.public_url)
    with running_system(tmp_path / "var", nats_server.url) as system:
        two_districts_story(system)
        before = events_of(system, SJL)
        assert sorted(asyncio.run(partner_events(credentials, len(before)))) == sorted(before)
        lose_the_store(nats_server)  # as make run's launcher starts it again: the partners' streams are made at its start
        eventually(lambda: all(relay_refilled(client, nats_server.url, name) for name, client in system.writers().items()), timeout=60)
        eventually(lambda: asyncio.run(heads_given_out(nats_server.url)) >= {"registry", "funding", "engagement"}, timeout=30)
        # The services go on: a new OSV of the district reaches the partner too, after what it missed.
        assert system.registry.post("/osvs", json={"name": "Nuevas de SJL", "district": "San Juan de Lurigancho", "mapped_on": "2021-05-01"}).status_code == 201
        system.wait_relayed()
        system.wait_applied()  # reporting's consumers bound again (its feeds are not configured here: only the streams deliver)
        assert system.indicators()["total"]["osvs_identified"] == 3
        after = events_of(system, SJL)
        assert len(after) == len(before) + 1
        received = asyncio.run(partner_events(credentials, len(after)))  # the same password: nothing was rotated
        assert sorted(received) == sorted(after)  # each once
    assert [row["events"] for row in partners.listing(nats_server.store_dir, nats_server.public_url)] == [len(after)]


async def heads_given_out(url: str) -> set[str]:
    """The services whose chain head the heads bucket holds."""
    nc = await nats.connect(url)
    try:
        return {head.service for head in await read_heads(nc.jetstream())}
    finally:
        await nc.close()


def relay_refilled(client: TestClient, url: str, service: str) -> bool:
    """Whether the service's stream holds its feed's events, each once, in order (False while it does not exist)."""
    feed = [e["position"] for e in client.get("/events", params={"limit": 1000}).json()["events"]]
    try:
        return asyncio.run(stream_positions(url, f"OSV_{service.upper()}")) == feed
    except NotFoundError:
        return False


def test_osv_partner_list_says_a_partners_stream_is_missing_and_repair_makes_it_again_without_a_new_password(
    tmp_path: Path, nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = ["--nats-dir", str(nats_server.store_dir), "--url", nats_server.public_url]
    credentials = partners.add(nats_server.store_dir, SJL, nats_server.public_url)
    kept = (nats_server.store_dir / "accounts.json").read_text()
    with running_system(tmp_path / "var", nats_server.url) as system:
        two_districts_story(system)
        expected = events_of(system, SJL)
        asyncio.run(partner_events(credentials, len(expected)))
        asyncio.run(delete_as_admin(nats_server, SJL))

        assert partners.main([*cli, "list"]) == 0
        said = capsys.readouterr()
        assert f"events: missing (no stream {PARTNER_STREAM} on the server: run `osv-partner repair --municipality {SJL}`)" in said.out, said.out
        assert "osv-partner repair" in said.err and "were not counted" not in said.err, said.err
        assert partners.main([*cli, "add", "--municipality", SJL]) == 1
        assert f"osv-partner repair --municipality {SJL}" in capsys.readouterr().err

        assert partners.main([*cli, "repair"]) == 0
        assert f"partner {SJL}: stream {PARTNER_STREAM} made again" in capsys.readouterr().out
        assert partners.main([*cli, "repair", "--municipality", SJL]) == 0
        assert "nothing to repair" in capsys.readouterr().out
        assert sorted(asyncio.run(partner_events(credentials, len(expected)))) == sorted(expected)  # the same password, each event once
    assert (nats_server.store_dir / "accounts.json").read_text() == kept  # no password, no account changed


async def stream_sources(credentials: partners.Credentials) -> set[str]:
    """The filters of the partner's stream, read signing in as the partner does (NotFoundError: no stream)."""
    nc = await nats.connect(credentials.url, user=credentials.user, password=credentials.password, allow_reconnect=False, connect_timeout=15)
    try:
        return {source.filter_subject for source in (await nc.jetstream(timeout=5).stream_info(PARTNER_STREAM)).config.sources}
    finally:
        await nc.close()


def test_rotating_a_partner_whose_stream_nats_lost_makes_it_again_and_never_names_a_stream_that_is_not_there(
    nats_server: NatsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # rotate printed "stream OSV_EVENTS" for a stream NATS had lost, and left it lost: only repair made it again. An
    # operator rotating the password after a store loss hands the partner credentials that read its stream.
    cli = ["--nats-dir", str(nats_server.store_dir), "--url", nats_server.public_url]
    old = partners.add(nats_server.store_dir, SJL, nats_server.public_url)
    asyncio.run(delete_as_admin(nats_server, SJL))

    # A stream the server will not make: nothing changes, and repair is named.
    def refused_stream(municipality: str) -> StreamConfig:  # three replicas: a server outside a cluster refuses it
        return dataclasses.replace(partner_stream_config(municipality), num_replicas=3)

    monkeypatch.setattr(partner_streams, "partner_stream_config", refused_stream)
    kept = (nats_server.store_dir / "accounts.json").read_text()
    assert partners.main([*cli, "rotate", "--municipality", SJL]) == 1
    said = capsys.readouterr()
    assert said.out == "" and f"osv-partner repair --municipality {SJL}" in said.err and "nothing was changed" in said.err, said
    assert (nats_server.store_dir / "accounts.json").read_text() == kept
    with pytest.raises(NotFoundError):
        asyncio.run(stream_sources(old))  # the old password still signs in; the stream is still not there
    monkeypatch.undo()

    assert partners.main([*cli, "rotate", "--municipality", SJL]) == 0
    printed = capsys.readouterr().out
    assert f"partner {SJL} (" in printed and "given a new password; its stream, which NATS had lost, made again" in printed, printed
    stream_line = next(line for line in printed.splitlines() if line.strip().startswith("stream"))
    assert "made again" in stream_line and "make your durable consumers again" in stream_line, stream_line
    new = partners.Credentials(**{**vars(old), "password": next(line.split()[-1] for line in printed.splitlines() if line.strip().startswith("password"))})
    assert asyncio.run(stream_sources(new)) == {f"osv.{service}.{SJL}.>" for service in ("registry", "funding", "engagement")}

    # Its stream there, a rotation says nothing of it being made again.
    assert partners.main([*cli, "rotate", "--municipality", SJL]) == 0
    printed = capsys.readouterr().out
    assert "made again" not in printed and "make durable consumers on it" in printed, printed
