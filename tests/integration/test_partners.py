"""A municipal partner follows its municipality's events on NATS, in an account of its own, and can do nothing else.

The partner is made with ``osv-partner`` on a real nats-server with accounts;
the services publish as they always do. The command itself is ``test_partner_cli``'s.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig

from devtools import partners
from devtools.embedded import NatsServer
from devtools.nats_accounts import PARTNER_STREAM, source_filter
from services.registry.decreeddays import shipped_non_working_days
from shared.clock import today_in_lima
from shared.roles import ALL_LIMA
from tests.support.clients import application_of
from tests.support.identity import IssuedTokens
from tests.support.partners import (
    COMAS,
    SJL,
    Partner,
    created,
    events_of,
    partner_feed,
    stream_types,
    two_districts_story,
)
from tests.support.ruos import ALL_DOCUMENTS
from tests.support.system import System, eventually, running_system


@pytest.fixture
def system(tmp_path: Path, nats_server: NatsServer) -> Iterator[System]:
    with running_system(tmp_path / "var", nats_server.url) as running:
        yield running


async def programme_state(url: str) -> dict[str, Any]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        state = {}
        for stream in ("OSV_REGISTRY", "OSV_FUNDING", "OSV_ENGAGEMENT"):
            info = await js.stream_info(stream)
            state[stream] = (info.state.messages, sorted(c.name for c in await js.consumers_info(stream) if not c.name.startswith("JS_SRC")))
        return state
    finally:
        await nc.close()


def test_a_partner_receives_its_municipalitys_events_replays_them_from_a_sequence_and_resumes_its_durable_consumer(
    system: System, nats_server: NatsServer, tokens: IssuedTokens
) -> None:
    credentials = partners.add(nats_server.store_dir, SJL, nats_server.public_url)
    two_districts_story(system)
    expected = events_of(system, SJL)
    assert len(expected) >= 3 and events_of(system, COMAS)  # mapped, granted, joined (the counts by document type go to none)

    async def story() -> None:
        async with Partner(credentials) as partner:
            async def everything() -> list[Any]:
                return await partner.messages("everything", ConsumerConfig(ack_policy=AckPolicy.NONE))

            received = []
            for _ in range(200):
                received = await partner.js.stream_info(PARTNER_STREAM)
                if received.state.messages >= len(expected):
                    break
                await asyncio.sleep(0.1)
            messages = await everything()
            assert {m.header["Nats-Msg-Id"] for m in messages} == expected  # its events, each once, and nothing else
            assert all(m.subject.split(".")[2] == SJL for m in messages)
            # Not an OSV's counts by document type: after a member joined, the count that moved told their migration status.
            counted = [e for e in system.engagement.get("/events", params={"limit": 1000}).json()["events"] if e["type"] == "OSVDocumentsCounted"]
            assert counted and {e["data"]["osv_id"] for e in counted} & {json.loads(m.data)["data"].get("osv_id") for m in messages}
            assert "OSVDocumentsCounted" not in {json.loads(m.data)["type"] for m in messages}
            # One rule: the partner's token reads the same events from the services' feeds as its account takes on NATS.
            assert partner_feed(system, tokens.headers(f"partner-{SJL}")) == expected

            # Replay from a sequence number of its own stream.
            replay = await partner.messages("from-3", ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=3, ack_policy=AckPolicy.NONE))
            assert [m.metadata.sequence.stream for m in replay] == list(range(3, len(expected) + 1))

            # A durable consumer resumes where it acked, after any time offline: nothing ages out of the stream or the consumer.
            first = await partner.messages("municipal-system", ConsumerConfig(ack_policy=AckPolicy.EXPLICIT), batch=2)
            for message in first:
                await message.ack_sync()
        async with Partner(credentials) as partner:
            rest = await partner.messages("municipal-system", ConsumerConfig(ack_policy=AckPolicy.EXPLICIT))
            assert rest[0].metadata.sequence.stream == 3
            info = await partner.js.stream_info(PARTNER_STREAM)
            assert (info.config.max_age or 0) == 0 and (info.config.max_msgs or -1) == -1
            consumer = await partner.js.consumer_info(PARTNER_STREAM, "municipal-system")
            assert not consumer.config.inactive_threshold

    asyncio.run(story())


def test_an_event_from_the_partners_stream_and_from_its_feed_differs_only_in_previousposition_as_the_catalogue_says(
    system: System, nats_server: NatsServer, tokens: IssuedTokens
) -> None:
    """Tester 285 F4: on NATS `previousposition` names the previous public event of the log, a count for the programme
    alone included; a partner's feed steps over what it withholds. The catalogue told of one value for both."""
    credentials = partners.add(nats_server.store_dir, SJL, nats_server.public_url)
    sjl = two_districts_story(system)["sjl"]
    second = {
        "osv_id": sjl, "full_name": "Yorman Pérez", "document_type": "CE", "document_number": "007654321",
        "nationality": "VE", "sex": "M", "joined_on": "2021-10-06", "birth_year": 1988,
    }
    assert system.engagement.post("/members", json=second).status_code == 201  # after the first member's count
    system.wait_relayed()
    every = events_of(system, SJL)
    expected = {i for i in every if i.startswith("engagement:")}
    services = {e["position"]: e for e in system.engagement.get("/events", params={"limit": 1000}, headers=tokens.headers("osv-services")).json()["events"]}
    fed = {e["id"]: e for e in system.engagement.get("/events", params={"limit": 1000}, headers=tokens.headers(f"partner-{SJL}")).json()["events"]}

    async def streamed() -> dict[str, dict[str, Any]]:
        async with Partner(credentials) as partner:
            for _ in range(200):  # the server sources the partner's stream from the service streams
                if (await partner.js.stream_info(PARTNER_STREAM)).state.messages >= len(every):
                    break
                await asyncio.sleep(0.1)
            mine = ConsumerConfig(filter_subject=f"osv.engagement.{SJL}.>", ack_policy=AckPolicy.NONE)
            return {m.header["Nats-Msg-Id"]: json.loads(m.data) for m in await partner.messages("engagement", mine)}

    on_nats = asyncio.run(streamed())
    assert set(on_nats) == set(fed) == expected
    named: list[str] = []
    for event_id, published in on_nats.items():
        in_feed = fed[event_id]
        assert {k: v for k, v in published.items() if k != "previousposition"} == {k: v for k, v in in_feed.items() if k != "previousposition"}
        assert published["previousposition"] == services[published["position"]]["previousposition"]  # the previous public event
        if published["previousposition"] != in_feed["previousposition"]:
            named.append(services[published["previousposition"]]["type"])
    assert named == ["OSVDocumentsCounted"]  # the second member's event names the first one's count on NATS, not in the feed


def test_a_partner_cannot_read_another_municipality_publish_create_consumers_on_the_programmes_streams_or_read_the_parked_stream(
    system: System, nats_server: NatsServer
) -> None:
    credentials = partners.add(nats_server.store_dir, SJL, nats_server.public_url)
    two_districts_story(system)

    async def park_a_message() -> None:
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="OSV_PARKED", subjects=["parked.>"]))
        await js.publish("parked.reporting-registry", b'{"poison": true}')
        await nc.close()

    asyncio.run(park_a_message())
    before = asyncio.run(programme_state(nats_server.url))

    async def attempts() -> None:
        async with Partner(credentials) as partner:
            # Another municipality's events: not in its stream, not on the wire, not through the programme's API.
            comas = await partner.messages("comas", ConsumerConfig(filter_subject=f"osv.*.{COMAS}.>", ack_policy=AckPolicy.NONE))
            assert comas == []
            heard: list[Any] = []

            async def hear(message: Any) -> None:
                heard.append(message)

            await partner.nc.subscribe("osv.>", cb=hear)
            await partner.nc.subscribe("parked.>", cb=hear)
            for stream in ("OSV_REGISTRY", "OSV_PARKED"):
                with pytest.raises(Exception):  # noqa: B017 - refused, or no answer: either way nothing is read
                    await partner.js.stream_info(stream)
            with pytest.raises(Exception):  # noqa: B017
                await partner.js.add_consumer("OSV_REGISTRY", ConsumerConfig(durable_name="mine", filter_subject=f"osv.registry.{COMAS}.>"))
            with pytest.raises(Exception):  # noqa: B017 - the programme's API as imported into its account
                await partner.nc.request(f"$JS.osv.API.CONSUMER.CREATE.OSV_REGISTRY.mine.osv.registry.{SJL}.>", b"{}", timeout=1)
            # A reply subject pointing at the programme's API: the server answers into the partner's account only.
            await partner.nc.publish(f"$JS.API.STREAM.INFO.{PARTNER_STREAM}", b"", reply=f"$JS.osv.API.CONSUMER.CREATE.OSV_REGISTRY.evil.osv.registry.{SJL}.>")
            # Publishing anything: an event, into the programme's streams.
            await partner.nc.publish(f"osv.registry.{SJL}.OSVMapped", b"{}")
            await partner.nc.publish("parked.reporting-registry", b"{}")
            await partner.nc.flush()
            await asyncio.sleep(0.5)
            assert heard == []
        assert any("permissions violation for subscription to \"osv.>\"" in e for e in partner.errors), partner.errors
        assert any("permissions violation for publish to \"osv.registry" in e for e in partner.errors), partner.errors

    asyncio.run(attempts())
    assert asyncio.run(programme_state(nats_server.url)) == before  # no message and no consumer more on any programme stream


def test_no_partner_reads_an_osvs_counts_by_document_type_from_the_feed_not_even_the_mmls(system: System, tokens: IssuedTokens) -> None:
    """All of Lima's partner saw the `none` events: among them the counts whose change after a member joined told that
    member's migration status (tester 37b F1)."""
    two_districts_story(system)
    feed = system.engagement.get("/events", params={"limit": 1000}, headers=tokens.headers("osv-services")).json()["events"]
    assert "OSVDocumentsCounted" in {e["type"] for e in feed}  # the programme's services read them
    page = system.engagement.get("/events", params={"limit": 1000}, headers=tokens.headers(f"partner-{SJL}")).json()
    assert page["events"] and "OSVDocumentsCounted" not in {e["type"] for e in page["events"]}
    assert page["next_after"] == feed[-1]["position"]  # the page still moves over them
    everywhere = system.engagement.app.state.runtime.event_page(0, 1000, ALL_LIMA, programme=False)  # partner-mml's reach
    assert everywhere.events and "OSVDocumentsCounted" not in {e["type"] for e in everywhere.events}
    assert {e["type"] for e in everywhere.events} | {"OSVDocumentsCounted"} == {e["type"] for e in feed}


def test_an_auditor_reads_no_counts_by_document_type_and_its_feed_steps_over_them_with_no_hole(system: System, tokens: IssuedTokens) -> None:
    """Tester 163 F1: the auditor's feed carried `OSVDocumentsCounted` after each member's event: the count that moved
    told that member's document type (a migration status), which their masked record hides from auditors."""
    two_districts_story(system)
    services = system.engagement.get("/events", params={"limit": 1000}, headers=tokens.headers("osv-services")).json()
    page = system.engagement.get("/events", params={"limit": 1000}, headers=tokens.headers("auditor")).json()
    assert {e["type"] for e in page["events"]} | {"OSVDocumentsCounted"} == {e["type"] for e in services["events"]}
    assert "OSVDocumentsCounted" not in {e["type"] for e in page["events"]} and page["next_after"] == services["next_after"]
    positions = [0, *(e["position"] for e in page["events"])]
    assert [e["previousposition"] for e in page["events"]] == positions[:-1]  # what a rebuild from the feed checks for holes


def test_a_deadline_a_decree_moves_reaches_the_partner_of_the_osvs_district_though_the_decree_belongs_to_none(
    system: System, nats_server: NatsServer
) -> None:
    """The partner went by the observation's deadline after a día no laborable decreed since moved it (tester 37d F4)."""
    credentials = partners.add(nats_server.store_dir, SJL, nats_server.public_url)
    calendar = shipped_non_working_days()
    day = today_in_lima()  # the day decreed: the last working day by today (a later one is 422 not_in_future)
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    observed_on = day - timedelta(days=1)
    while not calendar.is_working_day(observed_on):
        observed_on -= timedelta(days=1)
    osv = system.registry.post("/osvs", json={"name": "Unidas de SJL", "district": "San Juan de Lurigancho", "mapped_on": "2021-03-15"}).json()["id"]
    applied = {"municipality_id": SJL, "submitted_on": observed_on.isoformat(), "documents": ALL_DOCUMENTS}
    application = system.registry.post(f"/osvs/{osv}/ruos-applications", json=applied).json()["application_id"]
    observation = {"observed_on": observed_on.isoformat(), "reasons": [{"code": "missing_document"}], "amend_within_working_days": 1}
    observed = system.registry.post(f"/osvs/{osv}/ruos-applications/{application}/observation", json=observation)
    assert observed.json()["amend_by"] == day.isoformat(), observed.text
    assert system.registry.post("/non-working-days", json={"day": day.isoformat(), "decree": "D.S. N.º 998-2026-PCM"}).status_code == 201
    system.wait_relayed()

    async def received() -> list[dict[str, Any]]:
        async with Partner(credentials) as partner:
            for _ in range(600):
                if (await partner.js.stream_info(PARTNER_STREAM)).state.messages >= 4:
                    break
                await asyncio.sleep(0.1)
            return [json.loads(m.data) for m in await partner.messages("everything", ConsumerConfig(ack_policy=AckPolicy.NONE))]

    heard = asyncio.run(received())
    assert [e["type"] for e in heard] == ["OSVMapped", "RUOSApplicationSubmitted", "RUOSApplicationObserved", "RUOSAmendmentDeadlineMoved"]
    moved = heard[-1]["data"]
    assert (moved["application_id"], moved["previous_amend_by"], moved["day"]) == (application, day.isoformat(), day.isoformat())
    assert moved["amend_by"] == calendar.add_working_days(day, 1).isoformat()  # the next working day after the one decreed


def test_the_mmls_stream_and_consumers_receive_every_event_of_lima_but_no_osvs_counts_by_document_type(
    system: System, nats_server: NatsServer
) -> None:
    """The MML's filter, `osv.<service>.>`, took `osv.engagement.none.OSVDocumentsCounted` with the programme-wide events:
    the count that moved after a member joined told that member's migration status to the MML (tester 37b F1, on NATS)."""
    mml = partners.add(nats_server.store_dir, "mml", nats_server.public_url)
    sjl = partners.add(nats_server.store_dir, SJL, nats_server.public_url)
    ids = two_districts_story(system)
    # Registry's RUOS readiness still has the count: it consumes it on the programme's own subject.
    counts = application_of(system.registry).document_counts
    tally = eventually(lambda: counts.get(UUID(ids["sjl"])))
    assert tally.members == {"CE": 1}
    lima = {e["id"] for client in system.writers().values() for e in client.get("/events", params={"limit": 1000}).json()["events"]
            if e["type"] != "OSVDocumentsCounted"}

    async def partner_streams() -> None:
        for credentials, expected in ((mml, lima), (sjl, events_of(system, SJL))):
            async with Partner(credentials) as partner:
                for _ in range(600):  # 60 s, as the other partner tests wait: 20 s ran out once in `make test` (two events short)
                    if (await partner.js.stream_info(PARTNER_STREAM)).state.messages >= len(expected):
                        break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(0.5)  # time for a count to come, were it sourced
                messages = await partner.messages("everything", ConsumerConfig(ack_policy=AckPolicy.NONE), batch=1000)
                assert {m.header["Nats-Msg-Id"] for m in messages} == expected  # every event of Lima for the MML, none of the counts
                assert "OSVDocumentsCounted" not in {json.loads(m.data)["type"] for m in messages}

    asyncio.run(partner_streams())
    # A consumer the MML may make on OSV_ENGAGEMENT has the MML's filter (the server checks it): it delivers no count.
    delivered = stream_types(nats_server.url, "OSV_ENGAGEMENT", source_filter("engagement", "mml"))
    assert "MemberJoined" in delivered and "OSVDocumentsCounted" not in delivered
    assert stream_types(nats_server.url, "OSV_ENGAGEMENT", source_filter("engagement", SJL)) == ["MemberJoined"]
    assert stream_types(nats_server.url, "OSV_ENGAGEMENT", "osv-programme.engagement.>") == ["OSVDocumentsCounted"]


def test_late_corrections_withdrawals_and_an_erasures_tombstone_reach_the_partner_after_what_it_acknowledged(
    system: System, nats_server: NatsServer
) -> None:
    credentials = partners.add(nats_server.store_dir, SJL, nats_server.public_url)
    ids = two_districts_story(system)
    story = len(events_of(system, SJL))

    async def consume(durable: str, until: int) -> list[Any]:
        """What the partner's durable consumer delivers, acked, once its stream holds ``until`` events."""
        async with Partner(credentials) as partner:
            for _ in range(600):
                if (await partner.js.stream_info(PARTNER_STREAM)).state.messages >= until:
                    break
                await asyncio.sleep(0.1)
            messages = await partner.messages(durable, ConsumerConfig(ack_policy=AckPolicy.EXPLICIT), batch=1000)
            for message in messages:
                await message.ack_sync()
            return messages

    assert len(asyncio.run(consume("municipal-system", story))) == story

    # Afterwards: a correction of the OSV's details, an activity reported by mistake and withdrawn,
    # a member's participation withdrawn, and the member forgotten; and a correction in Comas.
    assert system.registry.patch(f"/osvs/{ids['sjl']}", json={"kind": "vecinal"}).status_code == 200
    assert system.registry.patch(f"/osvs/{ids['comas']}", json={"kind": "vecinal"}).status_code == 200
    activity = {
        "osv_id": ids["sjl"], "held_on": "2021-11-06", "kind": "mural_painting", "district": "San Juan de Lurigancho",
        "direct_beneficiaries": [{"nationality": "VE", "sex": "F", "count": 14}], "grant_id": ids["grant"],
    }
    reported_id = eventually(lambda: created(system.engagement.post("/activities", json=activity)))  # the grant may still be on its way
    assert system.engagement.post(f"/activities/{reported_id}/withdrawal", json={"reason": "Informada dos veces"}).status_code == 200
    participations = f"/members/{ids['member']}/participations"
    assert system.engagement.post(participations, json={"grant_id": ids["grant"], "enrolled_on": "2021-10-25"}).status_code == 201
    assert system.engagement.post(f"{participations}/{ids['grant']}/withdrawal", json={"withdrew_on": "2021-12-01"}).status_code == 200
    assert system.engagement.post(f"/members/{ids['member']}/erasure", json={"erased_on": "2022-01-10"}).status_code == 200
    system.wait_relayed()

    later = [json.loads(m.data) for m in asyncio.run(consume("municipal-system", len(events_of(system, SJL))))]
    assert {e["municipality"] for e in later} == {SJL}  # Comas's correction is not among them
    assert [e["type"] for e in later if e["source"].endswith("registry")] == ["OSVDetailsUpdated"]
    assert [e["type"] for e in later if e["source"].endswith("engagement")] == [
        "ActivityReported", "ActivityWithdrawn", "ParticipantEnrolled", "ParticipantWithdrew", "PersonalDataErased"
    ]
    tombstone = next(e for e in later if e["type"] == "PersonalDataErased")
    assert tombstone["data"]["member_id"] == ids["member"]  # the pseudonymous id: drop what was derived about it
    assert "Yusleidy" not in json.dumps(later, ensure_ascii=False)
