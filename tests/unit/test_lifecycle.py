"""Stopping tasks that do not end on one cancellation (shared/lifecycle.py), without I/O.

Python 3.11's ``asyncio.wait_for`` returns the inner result instead of raising
when the inner future completes in the same loop iteration as the
cancellation; nats-py swallows ``CancelledError`` while a publish waits for a
forced flush. A teardown that cancels once and awaits such a task waits for
good; this is what held the dashboard tests' teardown for over 60 s.
"""

from __future__ import annotations

import asyncio

from shared.lifecycle import stop_tasks, within


async def swallows_one_cancellation() -> None:
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        pass  # as wait_for does when its inner future completed at the same moment
    await asyncio.sleep(3600)


async def ignores_every_cancellation(released: asyncio.Event) -> None:
    while not released.is_set():
        try:
            await released.wait()
        except asyncio.CancelledError:
            pass


def test_a_task_that_swallowed_its_cancellation_is_cancelled_again_until_it_ends() -> None:
    async def scenario() -> tuple[list[asyncio.Future[None]], bool]:
        task = asyncio.create_task(swallows_one_cancellation())
        await asyncio.sleep(0)
        left = await stop_tasks([task], timeout=30)
        return left, task.cancelled()

    left, cancelled = asyncio.run(scenario())
    assert left == [] and cancelled


def test_a_task_that_never_ends_is_given_up_on_and_named() -> None:
    async def scenario() -> tuple[list[asyncio.Future[None]], bool]:
        released = asyncio.Event()
        task = asyncio.create_task(ignores_every_cancellation(released), name="stubborn")
        await asyncio.sleep(0)
        left = await stop_tasks([task], timeout=0.3)
        still_running = not task.done()
        released.set()  # the test's own clean-up
        await task
        return left, still_running

    left, still_running = asyncio.run(scenario())
    assert [task.get_name() for task in left] == ["stubborn"] and still_running


def test_a_teardown_step_that_does_not_end_in_time_is_cancelled_and_reported() -> None:
    async def scenario() -> tuple[bool, bool]:
        quick = await within(asyncio.sleep(0), 5, "quick step")
        slow = await within(swallows_one_cancellation(), 0.1, "slow step")
        return quick, slow

    assert asyncio.run(scenario()) == (True, False)
