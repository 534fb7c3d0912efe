"""A municipal partner's side of the integration tests: the story both partners' districts live, and how a partner reads.

Shared by the partners' stories (``test_partners``), the ``osv-partner`` command's tests (``test_partner_cli``) and the
stories of what reaches a partner (``test_programme_subjects``, ``test_round_deliberation``, ``test_nats_store_lost``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig

from devtools import partners
from devtools.nats_accounts import PARTNER_STREAM
from tests.support.system import System, eventually

SJL, COMAS = "150132", "150110"


def two_districts_story(system: System) -> dict[str, str]:
    """An OSV of San Juan de Lurigancho, funded, with a member; one of Comas; a phase that belongs to no municipality. Their ids."""
    assert system.funding.post("/phases", json={"code": "F1", "name": "Fase 1", "starts_on": "2021-01-01", "ends_on": "2021-12-31"}).status_code == 201
    sjl = system.registry.post("/osvs", json={"name": "Unidas de SJL", "district": "San Juan de Lurigancho", "mapped_on": "2021-03-15"}).json()["id"]
    comas = system.registry.post("/osvs", json={"name": "Unidos por Comas", "district": "Comas", "mapped_on": "2021-03-16"}).json()["id"]
    grant = {"osv_id": sjl, "amount": "3500.00", "currency": "PEN", "granted_on": "2021-10-20", "kind": "seed_fund"}
    grant_id = eventually(lambda: created(system.funding.post("/grants", json=grant)))
    member = {
        "osv_id": sjl, "full_name": "Yusleidy Pérez", "document_type": "CE", "document_number": "001234567",
        "nationality": "VE", "sex": "F", "joined_on": "2021-10-05", "birth_year": 1990,
    }
    member_id = eventually(lambda: created(system.engagement.post("/members", json=member)))
    system.wait_relayed()
    return {"sjl": sjl, "comas": comas, "grant": grant_id, "member": member_id}


def created(response: Any) -> str | None:
    """The new resource's id once the service accepts it (it may not know the OSV yet), else None."""
    return response.json()["id"] if response.status_code == 201 else None


def events_of(system: System, municipality: str) -> set[str]:
    """The ids of every event the services' feeds say belongs to ``municipality``."""
    return {e["id"] for client in system.writers().values() for e in client.get("/events", params={"limit": 1000}).json()["events"] if e.get("municipality") == municipality}


def partner_feed(system: System, headers: dict[str, str]) -> set[str]:
    """The ids of every event the services' ``GET /events`` give a partner's token."""
    return {e["id"] for client in system.writers().values() for e in client.get("/events", params={"limit": 1000}, headers=headers).json()["events"]}


class Partner:
    """A partner's connection, with the errors the server sent it (permission violations)."""

    def __init__(self, credentials: partners.Credentials) -> None:
        self.credentials = credentials
        self.errors: list[str] = []
        self.nc: Any = None

    async def __aenter__(self) -> Partner:
        async def on_error(error: Exception) -> None:
            self.errors.append(str(error))

        self.nc = await nats.connect(
            self.credentials.url, user=self.credentials.user, password=self.credentials.password, error_cb=on_error, allow_reconnect=False,
            connect_timeout=15,  # nats-py's 2 s default is too short on a loaded 2-core machine
        )
        self.js = self.nc.jetstream(timeout=2)
        return self

    async def __aexit__(self, *_: Any) -> None:
        if not self.nc.is_closed:
            await self.nc.close()

    async def messages(self, durable: str, config: ConsumerConfig | None = None, batch: int = 100) -> list[Any]:
        subject = config.filter_subject if config is not None and config.filter_subject else ""
        subscription = await self.js.pull_subscribe(subject, durable=durable, stream=PARTNER_STREAM, config=config)
        try:
            return await subscription.fetch(batch, timeout=1)
        except TimeoutError:
            return []


def stream_types(url: str, stream: str, subject: str) -> list[str]:
    """The CloudEvent type of every message ``stream`` holds on ``subject`` (wildcards allowed), read by a consumer of
    that filter in the programme's account: what a consumer a partner may make with that filter would deliver."""

    async def read() -> list[str]:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            subscription = await js.pull_subscribe(subject, stream=stream, config=ConsumerConfig(ack_policy=AckPolicy.NONE))
            try:
                return [json.loads(m.data)["type"] for m in await subscription.fetch(1000, timeout=2)]
            except TimeoutError:
                return []
            finally:
                await subscription.unsubscribe()
        finally:
            await nc.close()

    return asyncio.run(read())
