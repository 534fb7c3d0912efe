"""Two replicas of every service on one PostgreSQL: one relay publishes per store, competing consumers count each event once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import nats

from devtools.embedded import NatsServer, PostgresServer
from tests.support.system import System, eventually, running_system

SERVICES = ("registry", "funding", "engagement", "reporting")


def roles(replicas: list[System], service: str) -> list[str]:
    return [getattr(system, service).get("/health").json()["relay"]["role"] for system in replicas]


async def stream_ids(url: str, stream: str) -> list[str]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    info = await js.stream_info(stream)
    ids = [
        (await js.get_msg(stream, sequence)).headers["Nats-Msg-Id"]  # type: ignore[index]
        for sequence in range(info.state.first_seq, info.state.last_seq + 1)
    ]
    await nc.close()
    return ids


DISTRICTS = ["Ate", "Comas", "Breña", "San Juan de Lurigancho", "Villa El Salvador", "Los Olivos"]


def in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_two_replicas_of_each_service_share_one_postgresql_and_count_every_fact_once(
    tmp_path: Path, nats_server: NatsServer, postgres_server: PostgresServer
) -> None:
    urls = {name: postgres_server.create_database(f"replicas_{name}_{tmp_path.name[-8:]}".lower()) for name in SERVICES}
    with ExitStack() as stack:
        replicas = [stack.enter_context(running_system(tmp_path / f"var{i}", nats_server.url, database_urls=urls)) for i in range(2)]
        first, second = replicas

        # One relay per store publishes; the other replica stands by.
        for service in ("registry", "funding", "engagement"):
            eventually(lambda s=service: sorted(roles(replicas, s)) == ["active", "standby"])

        def map_osv(i: int) -> str:
            system = replicas[i % 2]
            # Spread over Lima, as a programme maps: each district's roll of names is one record, and eight mappings at
            # once in one district contend on it (see the README on possible duplicates).
            district = DISTRICTS[i % len(DISTRICTS)]
            response = system.registry.post("/osvs", json={"name": f"Vecinos {i}", "district": district, "mapped_on": "2021-04-01"})
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        osvs = in_parallel([lambda i=i: map_osv(i) for i in range(120)])

        def grant(i: int) -> None:
            system = replicas[i % 2]
            body = {"osv_id": osvs[i], "amount": "1000.00", "currency": "PEN", "granted_on": "2021-10-20", "kind": "seed_fund"}
            eventually(lambda: system.funding.post("/grants", json=body).status_code == 201, timeout=60)

        in_parallel([lambda i=i: grant(i) for i in range(30)])

        for system in replicas:
            system.wait_relayed()
        for system in replicas:
            eventually(lambda s=system: s.indicators()["total"]["osvs_identified"] == 120, timeout=60)
            eventually(lambda s=system: s.indicators()["total"]["osvs_supported"]["total"] == 30, timeout=60)

        ids = asyncio.run(stream_ids(nats_server.url, "OSV_REGISTRY"))
        assert len(ids) == len(set(ids)) == 120
        assert ids == sorted(ids, key=lambda i: int(i.split(":")[1]))

        # The active registry replica goes away: the standby takes the lease and publishes.
        active = first if roles(replicas, "registry")[0] == "active" else second
        standby = second if active is first else first
        active.registry.__exit__(None, None, None)
        eventually(lambda: standby.registry.get("/health").json()["relay"]["role"] == "active", timeout=30)
        assert standby.registry.post("/osvs", json={"name": "Tardía", "district": "Ate", "mapped_on": "2021-05-01"}).status_code == 201
        eventually(lambda: standby.indicators()["total"]["osvs_identified"] == 121, timeout=30)
