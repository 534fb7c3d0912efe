"""A durable consumer applies every event once, in any order, through failures; a poison message is parked, not lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import nats
from nats.js.api import ConsumerConfig
from sqlalchemy import Integer, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from devtools.embedded import NatsServer
from shared.consumers import PARKED_STREAM, DurableConsumer
from shared.events import encode
from shared.messaging import NatsLink
from shared.views import Ledger, View, make_engine

STREAM = "OSV"


def cloudevent(position: int, previous: int | None = None) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"registry:{position}",
        "source": "urn:osv-platform:registry",
        "type": "OSVMapped",
        "subject": f"osv-{position}",
        "time": "2021-03-01T12:00:00Z",
        "datacontenttype": "application/json",
        "position": position,
        "previousposition": position - 1 if previous is None else previous,
        "data": {"osv_id": f"osv-{position}", "occurred_on": "2021-03-01"},
    }


class Base(DeclarativeBase):
    pass


class AppliedRow(Base):
    __tablename__ = "applications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    position: Mapped[int] = mapped_column(Integer)


class FakeView(View):
    """A real view with its ledger on SQLite, recording every application of an event (duplicates would show)."""

    name = "test-view"
    sources = ("registry",)

    def __init__(self, path: Path, fail: Callable[[int, int], Exception | None] = lambda position, attempt: None) -> None:
        super().__init__(make_engine(f"sqlite:///{path}"), LEDGER)
        Base.metadata.create_all(self.engine)
        self.fail = fail
        self.attempts: dict[int, int] = {}

    def apply_event(self, session: Session, cloudevent: dict[str, Any]) -> None:
        position = cloudevent["position"]
        self.attempts[position] = self.attempts.get(position, 0) + 1
        error = self.fail(position, self.attempts[position])
        if error is not None:
            raise error  # the whole batch rolls back
        session.add(AppliedRow(position=position))

    @property
    def applied(self) -> list[int]:
        with Session(self.engine) as session:
            return sorted(session.scalars(select(AppliedRow.position)))

    @property
    def position(self) -> int:
        return self.floors()["registry"]


LEDGER = Ledger(Base, "test_view")


async def publish(url: str, positions: Iterable[int]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    for position in positions:
        await js.publish("osv.registry.150132.OSVMapped", encode(cloudevent(position)), headers={"Nats-Msg-Id": f"registry:{position}"})
    await nc.close()


async def until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not reached in time"
        await asyncio.sleep(0.02)


async def consuming(url: str, view: FakeView, body: Callable[[DurableConsumer], Any], **options: Any) -> None:
    link = NatsLink(url, "test", STREAM, 1, 60, own_service="registry")
    link.start()
    await link.wait_ready()
    consumer = DurableConsumer(link, "test-view", "osv.registry.>", view.apply, **options)
    task = asyncio.create_task(consumer.run())
    try:
        await body(consumer)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await link.close()


def test_a_batch_that_fails_for_a_while_is_retried_so_nothing_is_skipped(nats_server: NatsServer, tmp_path: Path) -> None:
    # The database is locked the first three times position 5 is applied; meanwhile more events arrive.
    view = FakeView(tmp_path / "view.db", fail=lambda position, attempt: OSError("database is locked") if position == 5 and attempt <= 3 else None)

    async def story(consumer: DurableConsumer) -> None:
        await publish(nats_server.url, range(1, 11))
        await until(lambda: view.attempts.get(5, 0) >= 1)
        await publish(nats_server.url, range(11, 31))
        await until(lambda: view.position == 30)
        assert consumer.parked == 0

    asyncio.run(consuming(nats_server.url, view, story, batch=10, retry_seconds=0.05))
    assert view.applied == list(range(1, 31))


def test_a_poison_message_is_parked_with_its_error_and_the_messages_after_it_are_applied(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    view = FakeView(tmp_path / "view.db", fail=lambda position, attempt: KeyError("zone") if position == 7 else None)

    async def story(consumer: DurableConsumer) -> None:
        await publish(nats_server.url, range(1, 16))
        await until(lambda: consumer.parked == 1 and 15 in view.applied)
        # Parked is not forgotten: the ledger names position 7 as missing until someone applies it.
        assert view.position == 6
        assert [hole.as_list() for hole in view.missing()] == [[7, 7]]

    asyncio.run(consuming(nats_server.url, view, story, batch=5, attempts=2, retry_seconds=0.01))
    assert view.applied == [p for p in range(1, 16) if p != 7]

    async def parked() -> tuple[bytes, dict[str, str]]:
        nc = await nats.connect(nats_server.url)
        message = await nc.jetstream().get_last_msg(PARKED_STREAM, "parked.test-view")
        await nc.close()
        return message.data or b"", dict(message.headers or {})

    data, headers = asyncio.run(parked())
    assert b'"position":7' in data.replace(b" ", b"")
    assert headers["Osv-Parked-Error"] == "KeyError: 'zone'"
    assert headers["Osv-Parked-Subject"] == "osv.registry.150132.OSVMapped"


def test_messages_a_crashed_process_fetched_and_never_acked_are_applied_when_redelivered_after_newer_ones(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    async def crash_after_fetching() -> None:
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        subscription = await js.pull_subscribe(
            "osv.registry.>", durable="test-view", stream=f"{STREAM}_REGISTRY", config=ConsumerConfig(ack_wait=1)
        )
        await subscription.fetch(5, timeout=5)  # fetched 1-5, never acked: the process dies here
        await nc.close()

    async def prepare() -> None:
        link = NatsLink(nats_server.url, "test", STREAM, 1, 60, own_service="registry")
        link.start()
        await link.wait_ready()  # creates the stream
        await link.close()
        await publish(nats_server.url, range(1, 6))
        await crash_after_fetching()
        await publish(nats_server.url, range(6, 21))

    asyncio.run(prepare())
    view = FakeView(tmp_path / "view.db")

    async def story(_: DurableConsumer) -> None:
        await until(lambda: view.position == 20)

    asyncio.run(consuming(nats_server.url, view, story, ack_wait_seconds=1))
    # 6-20 came first and 1-5, redelivered when their ack deadline passed, were applied all the same:
    # a high-water mark took them for already seen.
    assert view.applied == list(range(1, 21))
