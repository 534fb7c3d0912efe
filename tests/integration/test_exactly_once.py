"""Every event counts exactly once, whatever the stream does: out of order, refused, shared by replicas, lost.

Each story here lost events silently before consumers judged "applied" by
identity (a high-water mark took any event arriving after a later one for
already applied) and before the relay kept each service's stream in order.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import nats
import pytest
from nats.js.api import StreamConfig
from sqlalchemy import event, text

from devtools.embedded import NatsServer
from services.reporting.views.readmodel import ReadModel
from shared.consumers import DurableConsumer
from shared.events import encode
from shared.messaging import NatsLink
from shared.settings import sqlalchemy_url
from shared.views import make_engine
from tests.support.served import served_system
from tests.support.system import eventually, running_system

OSV = "Vecinos Unidos de Zárate"


def a_fact(source: str, position: int, previous: int | None, kind: str = "OSVMapped", **data: Any) -> dict[str, Any]:
    on = "2021-04-01"
    payload = {"osv_id": str(uuid4()), "district": "Ate", "zone": "Lima Este", "mapped_on": on, "name": OSV, "occurred_on": on, **data}
    event = {
        "specversion": "1.0",
        "id": f"{source}:{position}",
        "source": f"urn:osv-platform:{source}",
        "type": kind,
        "subject": payload["osv_id"],
        "time": "2021-04-01T15:00:00Z",
        "datacontenttype": "application/json",
        "position": position,
        "data": payload,
    }
    if previous is not None:
        event["previousposition"] = previous
    return event


@pytest.fixture
def readmodel(request: pytest.FixtureRequest, database_url: str) -> ReadModel:
    return ReadModel(make_engine(sqlalchemy_url(database_url)))


# -- the read model on its own ---------------------------------------------------------------


def test_the_read_model_counts_an_earlier_position_that_arrives_after_a_later_one(readmodel: ReadModel) -> None:
    readmodel.apply([a_fact("engagement", 4, 3)])
    readmodel.apply([a_fact("engagement", 1, 0)])
    readmodel.apply([a_fact("engagement", 4, 3)])  # a redelivery changes nothing

    assert readmodel.report()["total"]["osvs_identified"] == 2
    # 2 and 3 are still missing: named, not skipped.
    assert [hole.as_list() for hole in readmodel.missing()] == [[2, 3]]
    assert readmodel.positions() == {"engagement": 1}


def test_a_private_event_between_two_public_ones_holds_nothing_back(readmodel: ReadModel) -> None:
    # Position 2 was private (never published): event 3 says its predecessor is 1.
    readmodel.apply([a_fact("registry", 3, 1), a_fact("registry", 1, 0)])
    assert readmodel.positions() == {"registry": 3}
    assert readmodel.missing() == []


def test_batches_in_any_order_with_private_gaps_and_redeliveries_move_the_floor_as_far_as_every_public_event_before_it(
    readmodel: ReadModel,
) -> None:
    # The floor walks over a batch's own events without reading them back (Ledger.advance): the same floor as walking
    # every applied event in order, whatever was applied before and whatever is still missing.
    rng = random.Random(17)
    public = sorted(rng.sample(range(1, 400), 300))  # the positions left out were private: never published
    previous = dict(zip(public, [0, *public[:-1]]))
    facts = [a_fact("funding", p, previous[p]) for p in public]
    batches = [facts[i:i + 25] for i in range(0, len(facts), 25)]
    rng.shuffle(batches)
    for batch in batches[:4]:  # a few batches late, some events redelivered within later batches
        rng.shuffle(batch)
    applied: set[int] = set()
    for i, batch in enumerate(batches):
        redelivered = rng.sample(facts, 3) if i % 3 == 0 else []
        readmodel.apply(batch + redelivered)
        applied |= {f["position"] for f in batch + redelivered}
        floor = 0
        for position in sorted(applied):
            if position != floor + 1 and previous[position] > floor:
                break
            floor = position
        assert readmodel.positions().get("funding", 0) == floor
    assert readmodel.positions() == {"funding": public[-1]} and readmodel.missing() == []
    assert len(readmodel.facts()) == 300


def test_an_event_at_or_below_the_floor_that_was_never_applied_is_counted_once(
    readmodel: ReadModel, caplog: pytest.LogCaptureFixture
) -> None:
    # Funding's feed covered 4..6 without a public event (private ones): the floor went to 6. Its store was then put
    # back from an older backup and taken past its stream (last position 3) by osv-restore accept-tail: the grant it
    # took next was published at 5, with 3 before it. Reporting skipped it, in silence (tester 28b, H2).
    kept = [a_fact("funding", p, p - 1 if p > 1 else None) for p in (1, 2, 3)]
    readmodel.apply(kept)
    readmodel.settle("funding", 6)
    assert readmodel.positions() == {"funding": 6}

    new = a_fact("funding", 5, 3)
    assert readmodel.apply([new]) == 1
    assert readmodel.report()["total"]["osvs_identified"] == 4
    assert any("position 5" in r.getMessage() and "floor" in r.getMessage() for r in caplog.records if r.levelname == "WARNING"), caplog.text
    # Once: redelivered, or with events applied long ago, nothing is counted again.
    assert readmodel.apply([new, kept[1]]) == 0
    assert readmodel.report()["total"]["osvs_identified"] == 4
    assert readmodel.positions() == {"funding": 6} and readmodel.missing() == []


# -- the stream ----------------------------------------------------------------------------------


async def publish_facts(url: str, facts: list[dict[str, Any]]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    for fact in facts:
        await js.publish(f"osv.registry.150132.{fact['type']}", encode(fact), headers={"Nats-Msg-Id": fact["id"]})
    await nc.close()


def test_two_replicas_sharing_a_durable_consumer_count_every_event_once(nats_server: NatsServer, database_url: str) -> None:
    replicas = [ReadModel(make_engine(sqlalchemy_url(database_url))) for _ in range(2)]
    facts = [a_fact("registry", p, p - 1) for p in range(1, 601)]

    async def story() -> None:
        link = NatsLink(nats_server.url, "test", "OSV", own_service="registry")
        link.start()
        await link.wait_ready()
        consumers = [
            DurableConsumer(link, "reporting-registry", "osv.registry.>", replica.apply, batch=25, source="registry")
            for replica in replicas
        ]
        tasks = [asyncio.create_task(consumer.run()) for consumer in consumers]
        await publish_facts(nats_server.url, facts)
        deadline = asyncio.get_running_loop().time() + 60
        while replicas[0].positions().get("registry") != 600:
            assert asyncio.get_running_loop().time() < deadline, replicas[0].positions()
            await asyncio.to_thread(replicas[0].advance)
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await link.close()

    asyncio.run(story())
    assert len(replicas[0].facts()) == 600
    assert replicas[1].report()["total"]["osvs_identified"] == 600


# -- the relay ------------------------------------------------------------------------------------


async def stream_positions(url: str, stream: str) -> list[int]:
    """The log positions a write service's stream holds, in stream order."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    info = await js.stream_info(stream)
    positions = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1 if info.state.messages else 0):
        positions.append(json.loads((await js.get_msg(stream, sequence)).data)["position"])
    await nc.close()
    return positions


async def set_max_msg_size(url: str, stream: str, size: int) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    config: StreamConfig = (await js.stream_info(stream)).config
    config.max_msg_size = size
    await js.update_stream(config)
    await nc.close()


def activity_and_meeting(system: Any, osv_id: str) -> None:
    """An activity with 12 beneficiaries (a large event) and then a follow-up meeting (a small one)."""
    today = date.today() - timedelta(days=2)
    rows = [{"nationality": n, "sex": s, "count": 2} for n in ("VE", "PE", "CO") for s in ("F", "M")]
    activity = system.engagement.post(
        "/activities",
        json={"osv_id": osv_id, "held_on": today.isoformat(), "kind": "workshop", "district": "Ate", "direct_beneficiaries": rows},
    )
    assert activity.status_code == 201, activity.text
    meeting = system.engagement.post(
        f"/osvs/{osv_id}/meetings", json={"held_on": today.isoformat(), "mode": "in_person", "topics": ["ruos_registration"]}
    )
    assert meeting.status_code == 201, meeting.text


def mapped_in_engagement(system: Any) -> str:
    osv = system.registry.post("/osvs", json={"name": OSV, "district": "Ate", "mapped_on": "2021-04-01"})
    assert osv.status_code == 201, osv.text
    osv_id = osv.json()["id"]
    eventually(lambda: system.engagement.get(f"/osvs/{osv_id}/follow-up").status_code == 200)
    return osv_id


def direct_beneficiaries(system: Any) -> int:
    return int(system.indicators()["total"]["beneficiaries_direct"]["total"])


def test_an_event_the_stream_refuses_for_a_while_keeps_its_place_and_is_counted(tmp_path: Path, nats_server: NatsServer) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        osv_id = mapped_in_engagement(system)
        system.wait_relayed()
        asyncio.run(set_max_msg_size(nats_server.url, "OSV_ENGAGEMENT", 700))

        activity_and_meeting(system, osv_id)
        health = eventually(lambda: (h := system.engagement.get("/health").json())["relay"]["blocked_on"] and h)
        assert health["status"] == "degraded"

        asyncio.run(set_max_msg_size(nats_server.url, "OSV_ENGAGEMENT", -1))
        system.wait_relayed()
        system.wait_applied()
        positions = asyncio.run(stream_positions(nats_server.url, "OSV_ENGAGEMENT"))
        assert positions == sorted(positions)  # the meeting was not stored ahead of the activity
        assert direct_beneficiaries(system) == 12
        assert system.engagement.get("/health").json()["status"] == "ok"


@pytest.mark.faults  # the stream made to refuse an event until the relay steps over it (23 s): `make faults`
def test_an_event_the_stream_never_takes_is_stepped_over_and_reaches_reporting_through_the_feed(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    overrides = {"engagement": {"relay_refusal_attempts": 2}}
    with served_system(tmp_path / "var", nats_server.url, overrides=overrides) as (system, _):
        osv_id = mapped_in_engagement(system)
        system.wait_relayed()
        asyncio.run(set_max_msg_size(nats_server.url, "OSV_ENGAGEMENT", 700))

        activity_and_meeting(system, osv_id)
        relay = eventually(lambda: (r := system.engagement.get("/health").json()["relay"])["stepped_over"] and r)
        system.wait_relayed()  # the meeting went out after it: the relay is not stuck

        eventually(lambda: direct_beneficiaries(system) == 12)
        health = system.reporting.get("/health").json()
        assert health["sources"]["engagement"]["fetched_from_feed"] >= 1
        feed = system.engagement.get("/events", params={"limit": 1000}).json()["events"]
        activity = next(e["position"] for e in feed if e["type"] == "ActivityReported")
        assert [s["position"] for s in relay["stepped_over"]] == [activity]


def test_a_command_too_large_for_the_stream_is_refused_up_front_and_nothing_is_stored(tmp_path: Path, nats_server: NatsServer) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        osv_id = mapped_in_engagement(system)
        head = system.engagement.get("/events").json()["head"]
        actions = [{"description": f"Llamar a la municipalidad, paso {i}"} for i in range(15_000)]
        held_on = (date.today() - timedelta(days=1)).isoformat()
        response = system.engagement.post(
            f"/osvs/{osv_id}/meetings", json={"held_on": held_on, "mode": "in_person", "topics": ["ruos_registration"], "actions": actions}
        )
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["rule"] == "max_body_bytes"
        assert system.engagement.get("/events").json()["head"] == head


def test_an_emptied_stream_is_filled_again_from_the_store(tmp_path: Path, nats_server: NatsServer) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        for i in range(5):
            assert system.registry.post("/osvs", json={"name": f"{OSV} {i}", "district": "Ate", "mapped_on": "2021-04-01"}).status_code == 201
        system.wait_relayed()
        published = [e["position"] for e in system.registry.get("/events").json()["events"]]  # the district's roll stays private
        assert len(published) == 5

    async def delete_stream() -> None:
        nc = await nats.connect(nats_server.url)
        await nc.jetstream().delete_stream("OSV_REGISTRY")
        await nc.close()

    asyncio.run(delete_stream())
    with running_system(tmp_path / "var", nats_server.url) as system:
        eventually(lambda: asyncio.run(stream_positions(nats_server.url, "OSV_REGISTRY")) == published)
        system.wait_applied()
        assert system.indicators()["total"]["osvs_identified"] == 5


def test_an_emptied_engagement_stream_warns_that_erasures_since_the_backup_must_be_made_again_from_the_register(
    tmp_path: Path, nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A store restored into a fresh var dir (no stream kept) had an erasure made since its backup undone in silence (tester 245 F6)."""
    with running_system(tmp_path / "var", nats_server.url) as system:
        activity_and_meeting(system, mapped_in_engagement(system))
        system.wait_relayed()

    async def delete_streams() -> None:
        nc = await nats.connect(nats_server.url)
        for stream in ("OSV_REGISTRY", "OSV_ENGAGEMENT"):
            await nc.jetstream().delete_stream(stream)
        await nc.close()

    asyncio.run(delete_streams())
    caplog.set_level("WARNING", logger="shared.relay")
    with running_system(tmp_path / "var", nats_server.url) as system:
        system.wait_relayed()
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "erasures made after the store's backup" in r.getMessage()]
    assert len(warned) == 1, caplog.text  # engagement's, the service that erases people; not registry's
    assert warned[0].startswith("relay engagement: ") and "OSV_ENGAGEMENT" in warned[0], warned
    assert "register of erasure requests" in warned[0] and 'README, "Personal data"' in warned[0], warned


def test_a_restarted_relay_does_not_publish_again_what_the_stream_already_holds(tmp_path: Path) -> None:
    # A duplicate window of one second: JetStream's de-duplication cannot be what saves us.
    overrides = {"registry": {"nats_duplicate_window_seconds": 1.0}}
    with NatsServer(tmp_path / "nats", port=0) as server:
        with running_system(tmp_path / "var", server.url, overrides=overrides) as system:
            for i in range(5):
                system.registry.post("/osvs", json={"name": f"{OSV} {i}", "district": "Ate", "mapped_on": "2021-04-01"})
            system.wait_relayed()
        time.sleep(1.5)  # past the de-duplication window
        # The relay's recorded position is lost (as if it crashed after publishing, before recording).
        with sqlite3.connect(tmp_path / "var" / "registry" / "events.db") as db:
            db.execute("DELETE FROM tracking")
        with running_system(tmp_path / "var", server.url, overrides=overrides) as system:
            system.wait_relayed()
            assert system.registry.post("/osvs", json={"name": "Otra", "district": "Ate", "mapped_on": "2021-04-01"}).status_code == 201
            system.wait_relayed()
            published = [e["position"] for e in system.registry.get("/events").json()["events"]]
            assert len(published) == 6
            assert asyncio.run(stream_positions(server.url, "OSV_REGISTRY")) == published


def test_a_view_that_follows_some_of_a_sources_events_fetches_none_of_the_others_from_the_feed(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    # Registry's document counts take only engagement's OSVDocumentsCounted; each follows a MemberJoined
    # (its previousposition), which the stream never delivers to that view and the view needs nothing from.
    with served_system(tmp_path / "var", nats_server.url, follow_interval_seconds=1.0) as (system, _):
        osv_id = mapped_in_engagement(system)
        for i in range(4):
            member = {
                "osv_id": osv_id, "full_name": f"Persona {i}", "document_type": "CE", "document_number": f"00123456{i}",
                "nationality": "VE", "sex": "F", "joined_on": "2021-10-05",
            }
            assert system.engagement.post("/members", json=member).status_code == 201
        system.wait_relayed()
        head = system.engagement.get("/events", params={"limit": 1000}).json()["events"][-1]["position"]

        def followed() -> dict[str, Any]:
            state = system.registry.get("/health").json()["views"]["document-counts"]["engagement"]
            return state if state["applied_floor"] >= head else {}

        state = eventually(followed, timeout=60)
        assert state["fetched_from_feed"] == 0  # the stream delivered every event this view takes
        assert state["missing"] == []


# -- /health names what is missing ---------------------------------------------------------------


def test_a_missing_event_the_feed_cannot_give_makes_reporting_degraded_naming_source_and_positions(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    with running_system(tmp_path / "var", nats_server.url) as system:
        runtime = system.reporting.app.state.runtime  # type: ignore[attr-defined]
        # Engagement's 7 arrives, naming 5 as its predecessor; 1 to 5 never do (no feed to ask in this process).
        runtime.app.readmodel.apply([a_fact("engagement", 7, 5)])
        health = eventually(lambda: (h := system.reporting.get("/health").json())["status"] == "degraded" and h, timeout=30)
        assert health["sources"]["engagement"]["missing"] == [[1, 5]]


def test_two_replicas_making_a_sources_first_floor_at_once_both_succeed_and_the_higher_stands(database_url: str) -> None:
    """`make run`'s two workers share one views database: both used to find no floor row, and the second insert failed."""
    url = sqlalchemy_url(database_url)
    one, other = ReadModel(make_engine(url)), ReadModel(make_engine(url))
    raced: list[bool] = []

    @event.listens_for(one.engine, "before_cursor_execute")
    def the_other_replica_first(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO REPORTING_FLOORS") and not raced:
            raced.append(True)
            other.settle("registry", 3)  # the other worker's feed follower, between this one's read and its write

    one.settle("registry", 5)

    assert raced
    with one.engine.connect() as connection:
        assert connection.execute(text("SELECT floor FROM reporting_floors WHERE source = 'registry'")).scalar_one() == 5
