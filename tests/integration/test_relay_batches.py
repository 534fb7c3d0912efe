"""The outbox relay sends a lone event at once, and commands that come in a stream many to a batch.

A batch costs a thread hop, a socket write and a recorded position whatever
it carries: published one event to a batch under load, they were a fifth of
registry's CPU per command (issue 17). A real nats-server with JetStream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nats
from fastapi.testclient import TestClient

from devtools.embedded import NatsServer
from services.registry.api import create_app as registry_app
from services.registry.settings import RegistrySettings
from shared.lease import FileLease
from shared.relay import OutboxRelay
from tests.support.identity import session_auth, signed_in_headers
from tests.support.system import eventually


@contextmanager
def registry(tmp_path: Path, nats_url: str, linger: float, poll: float | None = None) -> Iterator[TestClient]:
    polled = {} if poll is None else {"relay_poll_seconds": poll}
    settings = RegistrySettings(var_dir=tmp_path, nats_url=nats_url, auth=session_auth(), relay_linger_seconds=linger, **polled)
    with TestClient(registry_app(settings), headers=signed_in_headers()) as client:
        yield client


def relay(client: TestClient) -> dict[str, int]:
    return client.get("/health").json()["relay"]  # type: ignore[no-any-return]


def relayed(client: TestClient) -> bool:
    state = relay(client)
    return state["lag"] == 0 and state["published_position"] >= state["stored_position"] > 0


def map_osv(client: TestClient, i: int) -> None:
    answer = client.post("/osvs", json={"name": f"Vecinos Unidos {i}", "district": "Ate", "mapped_on": "2021-04-01"})
    assert answer.status_code == 201, answer.text


async def stream_positions(url: str) -> list[int]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("OSV_REGISTRY")
        return [json.loads((await js.get_msg("OSV_REGISTRY", s)).data)["position"] for s in range(info.state.first_seq, info.state.last_seq + 1)]
    finally:
        await nc.close()


def test_commands_in_a_stream_go_out_many_to_a_batch_in_log_order(tmp_path: Path, nats_server: NatsServer) -> None:
    with registry(tmp_path, nats_server.url, linger=3.0) as client:
        for i in range(6):  # the first goes out at once; the relay then lingers while the other five are saved
            map_osv(client, i)
        eventually(lambda: relayed(client), timeout=30)
        assert relay(client)["batches"] <= 2
        positions = asyncio.run(stream_positions(nats_server.url))
        assert len(positions) == 6 and positions == sorted(positions)


def test_a_lone_event_goes_out_at_once_whatever_the_linger(tmp_path: Path, nats_server: NatsServer) -> None:
    with registry(tmp_path, nats_server.url, linger=60.0) as client:
        map_osv(client, 1)
        eventually(lambda: relayed(client), timeout=30)  # well within the linger: nothing holds a lone event back
        assert relay(client)["batches"] == 1


def test_a_save_wakes_the_relay_whether_made_on_the_event_loop_or_in_a_worker_thread(tmp_path: Path, nats_server: NatsServer) -> None:
    # The relay polls once a minute here: each event goes out well before, woken by its save. A mapping is saved on the
    # event loop (shared.inplace), a PATCH in a worker thread (a plain `def` route); the loop's save sets the wake-up
    # itself, without a write to the loop's self-pipe, and a save made while it is set adds nothing to it.
    with registry(tmp_path, nats_server.url, linger=0.0, poll=60.0) as client:
        eventually(lambda: relay(client)["batches"] == 0 and client.get("/health").json()["relay"]["role"] == "active", timeout=30)
        map_osv(client, 1)
        eventually(lambda: relayed(client), timeout=10)
        osv_id = client.get("/osvs").json()[0]["id"]
        changed = client.patch(f"/osvs/{osv_id}", json={"kind": "cultural"})
        assert changed.status_code == 200, changed.text
        eventually(lambda: relayed(client), timeout=10)
        for i in range(2, 6):  # one after another, each saved while the relay may still be publishing the one before
            map_osv(client, i)
        eventually(lambda: relayed(client), timeout=10)
        assert len(asyncio.run(stream_positions(nats_server.url))) == 6


def test_a_batch_of_acks_gives_each_its_answer_or_a_timeout_once_its_time_is_up() -> None:
    async def answers() -> tuple[list[object], bool]:
        loop = asyncio.get_running_loop()
        stored, refused, silent = loop.create_future(), loop.create_future(), loop.create_future()
        stored.set_result("ack 7")
        refused.set_exception(ValueError("wrong last sequence"))
        relay = OutboxRelay.__new__(OutboxRelay)  # only the ack timeout matters here
        relay.ack_timeout = 0.2
        got = await relay._answers([stored, refused, silent])
        return got, silent.cancelled()

    (first, second, third), cancelled = asyncio.run(answers())
    assert first == "ack 7"
    assert isinstance(second, ValueError)
    assert isinstance(third, TimeoutError) and cancelled  # a late answer is not waited for again


def test_a_standby_worker_says_degraded_once_events_wait_longer_than_the_stall_bound_and_ok_once_they_go_out(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    settings = RegistrySettings(var_dir=tmp_path, nats_url=nats_server.url, auth=session_auth(), relay_stall_seconds=0.5)
    active_elsewhere = FileLease(Path(settings.store_url().split(":///", 1)[1] + ".relay.lock"))
    assert active_elsewhere.hold()  # another worker's relay holds the lease, and publishes nothing
    with TestClient(registry_app(settings), headers=signed_in_headers()) as client:
        assert client.post("/osvs", json={"name": "Vecinos de Collique", "district": "Comas", "mapped_on": "2021-03-15"}).status_code == 201
        # The relay tries the lease once NATS answers: on a loaded machine that is after the POST. Asked without /health,
        # whose first look at waiting events starts the stall's count.
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        eventually(lambda: runtime.relay is not None and runtime.relay.status.role == "standby", timeout=30)
        first = client.get("/health").json()
        assert first["relay"]["role"] == "standby" and first["relay"]["lag"] > 0 and first["status"] == "ok"  # not stuck yet

        def stalled() -> bool:
            health = client.get("/health").json()
            return health["status"] == "degraded" and "another replica holds the relay lease" in (health["relay"]["last_error"] or "")

        eventually(stalled, timeout=20)
        active_elsewhere.release()  # that worker is gone: this one takes the lease and publishes
        eventually(lambda: client.get("/health").json()["status"] == "ok" and relayed(client), timeout=20)
        assert relay(client)["stalled_seconds"] == 0
