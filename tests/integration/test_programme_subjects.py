"""A running system's counts by document type, taken by the MML under `none`, moved where no partner reads them.

Until the counts went out under ``osv-programme.engagement.OSVDocumentsCounted``, engagement's relay published them
as ``osv.engagement.none.OSVDocumentsCounted``, which the MML's filter (``osv.<service>.>``) takes: its partner stream
holds them, and any consumer it may make on ``OSV_ENGAGEMENT`` would deliver them. The story runs the earlier
version's subjects (its stream, its relay's subject, registry's filter), then starts the new one on the same stores
and nats-server.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
from sqlalchemy import create_engine

from devtools import partners
from devtools.embedded import NatsServer
from devtools.nats_accounts import PARTNER_STREAM, source_filter
from services.engagement.events import catalogue as engagement_catalogue
from services.registry.views.documentcounts import DocumentCounts
from shared.events import EventCatalogue, decode
from shared.messaging import SUBJECT_LAYOUT, SUBJECT_LAYOUT_KEY
from shared.programmesubjects import move_off_partner_subjects, tail_of
from shared.restore import examine
from tests.support.clients import application_of
from tests.support.partners import Partner, created, stream_types, two_districts_story
from tests.support.system import System, eventually, running_system

FORMER = "osv.engagement.none.OSVDocumentsCounted"
NOW = "osv-programme.engagement.OSVDocumentsCounted"


def the_earlier_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """Engagement's relay publishes every event under `osv.<service>.<municipality or none>.<type>`; registry's view
    takes the counts there."""
    monkeypatch.setattr(EventCatalogue, "subject_of", lambda self, ce: f"osv.{self.service}.{ce.get('municipality') or 'none'}.{ce['type']}")
    monkeypatch.setattr(DocumentCounts, "subjects", {"engagement": "osv.engagement.*.OSVDocumentsCounted"})


async def make_the_earlier_stream(url: str) -> None:
    """OSV_ENGAGEMENT as the earlier version made it: subjects ``osv.engagement.>`` only."""
    nc = await nats.connect(url)
    try:
        await nc.jetstream().add_stream(
            StreamConfig(name="OSV_ENGAGEMENT", subjects=["osv.engagement.>"], storage=StorageType.FILE, duplicate_window=600,
                         metadata={SUBJECT_LAYOUT_KEY: SUBJECT_LAYOUT})
        )
    finally:
        await nc.close()


async def held(url: str, stream: str = "OSV_ENGAGEMENT") -> list[tuple[str, str]]:
    """``(subject, Nats-Msg-Id)`` of every message the stream holds, in order (the sequences a purge left empty skipped)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        found, sequence = [], info.state.first_seq
        while info.state.messages and sequence <= info.state.last_seq:
            message = await js.get_msg(stream, sequence, subject=">", next=True)
            found.append((message.subject, (message.headers or {}).get("Nats-Msg-Id", "")))
            sequence = message.seq + 1
        return found
    finally:
        await nc.close()


def a_second_member(system: System, osv_id: str) -> None:
    member = {
        "osv_id": osv_id, "full_name": "Ana Rojas", "document_type": "SOLICITANTE_REFUGIO", "document_number": "RF-0042",
        "nationality": "VE", "sex": "F", "joined_on": "2021-11-05", "birth_year": 1988,
    }
    assert eventually(lambda: created(system.engagement.post("/members", json=member)))
    system.wait_relayed()


def lima_events(system: System) -> list[dict[str, Any]]:
    """Every event of the three services' feeds (the MML's filter took them all, the counts included)."""
    return [e for client in system.writers().values() for e in client.get("/events", params={"limit": 1000}).json()["events"]]


def counted(system: System) -> list[dict[str, Any]]:
    return [e for e in system.engagement.get("/events", params={"limit": 1000}).json()["events"] if e["type"] == "OSVDocumentsCounted"]


def test_the_counts_the_mml_took_under_none_are_moved_where_no_partner_reads_them_and_registry_keeps_them(
    tmp_path: Path, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = tmp_path / "var"
    asyncio.run(make_the_earlier_stream(nats_server.url))
    with monkeypatch.context() as earlier:
        the_earlier_version(earlier)
        with running_system(var, nats_server.url) as system:
            # Added once the services have made their streams, as `osv-partner add` beside `make run` is: nats-server
            # looks again for a source stream missing when the partner's stream was made only some 8 s later.
            mml = partners.add(nats_server.store_dir, "mml", nats_server.public_url)
            ids = two_districts_story(system)
            a_second_member(system, ids["sjl"])
            before = counted(system)
            everything = len(lima_events(system))
            sjl = UUID(ids["sjl"])
            both = {"CE": 1, "SOLICITANTE_REFUGIO": 1}
            eventually(lambda: getattr(application_of(system.registry).document_counts.get(sjl), "members", None) == both or None)
    assert [s for s, _ in asyncio.run(held(nats_server.url)) if s == FORMER] == [FORMER] * len(before) == [FORMER] * 2
    assert "OSVDocumentsCounted" in mml_types(mml, everything)  # the fault: the MML's stream took every count

    # The new version: the server's start purges the partners' streams, engagement's relay moves its stream's counts.
    nats_server.restart()
    with running_system(var, nats_server.url) as system:
        eventually(lambda: FORMER not in {s for s, _ in asyncio.run(held(nats_server.url))} or None)
        stream = asyncio.run(held(nats_server.url))
        ids_now = [i for s, i in stream if s == NOW]
        assert ids_now == [f"{e['id']}:moved" for e in before]  # each one once, in the order the stream held them
        # osv-restore reads the stream's tail from the copies and steps over the purged sequences: the store holds it all.
        found = asyncio.run(examined(application_of(system.engagement), nats_server.url))
        assert (found.stream_position, found.shared_position, found.lost) == (before[-1]["position"],) * 2 + ([],)
    # Started again with the copies last in the stream: the relay goes on after the log's last event, publishing none again.
    with running_system(var, nats_server.url) as system:
        system.wait_relayed()
        assert asyncio.run(held(nats_server.url)) == stream
        # Registry's readiness still has the latest count; a new one goes out under the new subject, after the copies.
        counts = application_of(system.registry).document_counts
        assert counts.get(sjl).members == both
        a_member_joins(system, ids["comas"])
        after = asyncio.run(held(nats_server.url))
        assert after[: len(stream)] == stream and [s for s, _ in after[len(stream):]] == ["osv.engagement.150110.MemberJoined", NOW]
        published = {e["id"] for e in system.engagement.get("/events", params={"limit": 1000}).json()["events"]}
        held_ids = [i.removesuffix(":moved") for _, i in after]
        assert sorted(held_ids) == sorted(published)  # every event once (a count as its copy), none published again
        last = counted(system)[-1]
        eventually(lambda: getattr(counts.get(UUID(last["data"]["osv_id"])), "members", None) == {"CEDULA_VE": 1} or None)
        lima = {e["id"] for e in lima_events(system) if e["type"] != "OSVDocumentsCounted"}

    # No partner reads a count: not the MML's stream, not a consumer the MML may make on OSV_ENGAGEMENT.
    types = mml_types(mml, len(lima))
    assert len(types) == len(lima) and "OSVDocumentsCounted" not in types  # every other event of Lima, each once
    delivered = stream_types(nats_server.url, "OSV_ENGAGEMENT", source_filter("engagement", "mml"))
    assert delivered == ["MemberJoined", "MemberJoined", "MemberJoined"]
    # Registry's view made again from the stream alone has the counts, the latest of each OSV.
    rebuilt = DocumentCounts(create_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}"))
    rebuilt.apply([decode(m) for m in asyncio.run(payloads(nats_server.url, NOW))])
    assert rebuilt.get(sjl).members == both

    # Safe at every start: nothing more moves, nothing more is purged.
    with running_system(var, nats_server.url) as system:
        system.wait_relayed()
        assert asyncio.run(held(nats_server.url)) == after
    assert asyncio.run(move_again(nats_server.url)) == after[-1] and asyncio.run(held(nats_server.url)) == after
    assert partners.purge_not_for_partners(nats_server.store_dir, nats_server.public_url) == {}


def a_member_joins(system: System, osv_id: str) -> None:
    """A member joins the OSV of Comas: a MemberJoined and a count."""
    member = {
        "osv_id": osv_id, "full_name": "Luis Díaz", "document_type": "CEDULA_VE", "document_number": "V-12345678",
        "nationality": "VE", "sex": "M", "joined_on": "2021-11-06", "birth_year": 1985,
    }
    assert eventually(lambda: created(system.engagement.post("/members", json=member)))
    system.wait_relayed()


def mml_types(credentials: partners.Credentials, at_least: int) -> list[str]:
    """The type of every event the MML's partner stream holds, once it holds ``at_least``."""

    async def read() -> list[str]:
        async with Partner(credentials) as partner:
            for _ in range(100):
                if (await partner.js.stream_info(PARTNER_STREAM)).state.messages >= at_least:
                    break
                await asyncio.sleep(0.1)
            messages = await partner.messages(f"all-{uuid4().hex[:8]}", ConsumerConfig(ack_policy=AckPolicy.NONE), batch=1000)
            return [json.loads(m.data)["type"] for m in messages]

    return asyncio.run(read())


async def payloads(url: str, subject: str) -> list[bytes]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        found, sequence = [], 1
        while True:
            try:
                message = await js.get_msg("OSV_ENGAGEMENT", sequence, subject=subject, next=True)
            except Exception:  # noqa: BLE001 - no more on the subject
                return found
            found.append(message.data)
            sequence = message.seq + 1
    finally:
        await nc.close()


async def examined(app: Any, url: str) -> Any:
    nc = await nats.connect(url)
    try:
        return await examine(app, nc.jetstream(), "OSV_ENGAGEMENT", "engagement")
    finally:
        await nc.close()


async def move_again(url: str) -> tuple[str, str]:
    """The move run once more, as at a start, on the moved stream: it finds nothing to move."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("OSV_ENGAGEMENT")
        last = await js.get_msg("OSV_ENGAGEMENT", info.state.last_seq)
        assert await move_off_partner_subjects(js, "OSV_ENGAGEMENT", engagement_catalogue, info.state.last_seq, tail_of(last, "engagement")) == info.state.last_seq
        return last.subject, (last.headers or {})["Nats-Msg-Id"]
    finally:
        await nc.close()
