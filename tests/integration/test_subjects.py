"""Every event goes out on a subject that names its municipality: what a partner's account filters on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
from nats.js.api import StreamConfig

from devtools.embedded import NatsServer
from services.registry.events import catalogue
from shared.events import decode
from tests.integration.test_event_flow import map_register_grant_and_enrol
from tests.support.clients import application_of
from tests.support.system import eventually, running_system

COMAS, SJL = "150110", "150132"


async def stream_subjects(url: str, stream: str) -> list[str]:
    """The subject of every message a stream holds, in order."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        subjects = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            subjects.append((await js.get_msg(stream, sequence)).subject)
        return subjects
    finally:
        await nc.close()


def subjects(url: str, stream: str) -> list[str]:
    return asyncio.run(stream_subjects(url, stream))


def test_each_event_goes_out_under_the_municipality_of_its_osv_or_its_record_or_none(tmp_path: Path, nats_server: NatsServer) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        map_register_grant_and_enrol(system)  # an OSV of Comas, mapped, registered, funded, joined and left
        assigned = system.registry.post(f"/municipalities/{SJL}/focal-points", json={"office": "GPV", "role": "jefe", "assigned_on": "2021-02-01"})
        assert assigned.status_code == 201, assigned.text
        system.wait_relayed()

        assert subjects(nats_server.url, "OSV_REGISTRY") == [
            f"osv.registry.{COMAS}.OSVMapped",
            f"osv.registry.{COMAS}.RUOSRegistered",
            f"osv.registry.{SJL}.FocalPointAssigned",
        ]
        assert subjects(nats_server.url, "OSV_FUNDING") == [
            "osv.funding.none.PhaseOpened",
            "osv.funding.none.PhaseOpened",
            f"osv.funding.{COMAS}.FundGranted",
        ]
        # The counts by document type go out outside `osv.>`, with no municipality: taken after each membership change,
        # the count that moved told the municipality's partner (the MML's too) each member's migration status (tester 37b F1).
        assert subjects(nats_server.url, "OSV_ENGAGEMENT") == [
            f"osv.engagement.{COMAS}.MemberJoined",
            "osv-programme.engagement.OSVDocumentsCounted",
            f"osv.engagement.{COMAS}.MemberLeft",
            "osv-programme.engagement.OSVDocumentsCounted",
        ]
        feed = system.engagement.get("/events").json()["events"]
        assert [e.get("municipality") for e in feed] == [COMAS, None, COMAS, None]  # the feed says it too, as `municipality`
        assert [e.get("audience") for e in feed] == [None, "programme", None, "programme"]  # and that no partner reads it
        assert "municipality" not in system.funding.get("/events").json()["events"][0]  # PhaseOpened: none


def test_a_merge_across_districts_goes_out_under_each_osvs_municipality(tmp_path: Path, nats_server: NatsServer) -> None:
    """A partner's stream takes ``osv.*.<ubigeo>.>``: the surviving OSV's partner learns of a record of Comas merged into its OSV."""
    with running_system(tmp_path / "var", nats_server.url) as system:
        ids = []
        for name, district in (("Vecinos Unidos de Zárate", "San Juan de Lurigancho"), ("AVUZ Zárate", "Comas")):
            answer = system.registry.post("/osvs", json={"name": name, "district": district, "mapped_on": "2021-03-15"})
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
        survivor, duplicate = ids
        merged = system.registry.post(f"/osvs/{survivor}/merges", json={"duplicate_id": duplicate, "merged_on": "2021-07-01"})
        assert merged.status_code == 201, merged.text
        system.wait_relayed()

        published = asyncio.run(stream_cloudevents(nats_server.url, "OSV_REGISTRY"))
        merge = sorted((e["type"], e["subject"]) for e in published if e["type"] != "OSVMapped")
        assert merge == [("DuplicateMergedIn", survivor), ("OSVMerged", duplicate)]
        assert sorted(s for s in subjects(nats_server.url, "OSV_REGISTRY") if not s.endswith(".OSVMapped")) == [
            f"osv.registry.{COMAS}.OSVMerged", f"osv.registry.{SJL}.DuplicateMergedIn",
        ]


def test_a_stream_of_the_earlier_subjects_is_made_again_from_the_store(tmp_path: Path, nats_server: NatsServer) -> None:
    async def an_earlier_stream() -> None:
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="OSV_REGISTRY", subjects=["osv.registry.>"]))
        await js.publish("osv.registry.OSVMapped", b"{}", headers={"Nats-Msg-Id": "registry:1"})
        await nc.close()

    asyncio.run(an_earlier_stream())
    with running_system(tmp_path / "var", nats_server.url) as system:
        mapped = system.registry.post("/osvs", json={"name": "Unidas de SJL", "district": "San Juan de Lurigancho", "mapped_on": "2021-03-15"})
        assert mapped.status_code == 201, mapped.text
        system.wait_relayed()
        eventually(lambda: subjects(nats_server.url, "OSV_REGISTRY") == [f"osv.registry.{SJL}.OSVMapped"])


async def stream_cloudevents(url: str, stream: str) -> list[dict[str, object]]:
    """Every message a stream holds, decoded, in order."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        return [decode((await js.get_msg(stream, s)).data) for s in range(info.state.first_seq, info.state.last_seq + 1)]
    finally:
        await nc.close()


def test_each_published_event_names_the_public_event_stored_before_it_across_batches_and_private_records(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        # Each command is a batch of its own, and holds private events: its district's roll, and the record of its key.
        for i, district in enumerate(["Comas", "Ate", "Comas", "San Juan de Lurigancho"]):
            headers = {"Idempotency-Key": f"subjects-{i}"}
            body = {"name": f"Vecinos de la cuadra {i}", "district": district, "mapped_on": "2021-03-15"}
            assert system.registry.post("/osvs", json=body, headers=headers).status_code == 201
            system.wait_relayed()

        registry = application_of(system.registry)
        published = asyncio.run(stream_cloudevents(nats_server.url, "OSV_REGISTRY"))
        assert [e["type"] for e in published] == ["OSVMapped"] * 4
        private = catalogue.private_topics
        for event in published:  # as the store's log says, whatever the relay remembered between batches
            assert event.get("previousposition", 0) == registry.previous_public(int(event["position"]), private)
        assert [e.get("previousposition", 0) for e in published[1:]] == [e["position"] for e in published[:-1]]
