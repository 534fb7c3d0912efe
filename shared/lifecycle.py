"""Stopping what a service runs, in bounded time.

A task cannot be trusted to end on one ``cancel()``. On Python 3.11,
``asyncio.wait_for`` returns the inner result instead of raising when the
inner future completes in the same loop iteration as the cancellation (the
nats-py connect loop and the relay's waits use it), and nats-py swallows
``CancelledError`` while a publish waits for a forced flush to a server that
does not read. A task that lives on after its one cancellation keeps the
lifespan's teardown, and then the event loop's close, waiting for good.
So a task is cancelled again until it ends, and given up on after a bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import Any

log = logging.getLogger(__name__)

RECANCEL_SECONDS = 0.1


async def stop_tasks(tasks: Iterable[asyncio.Future[Any]], timeout: float, what: str = "tasks") -> list[asyncio.Future[Any]]:
    """Cancel ``tasks`` (again every 0.1 s) until they end or ``timeout`` seconds pass.

    Returns the tasks still running then, after logging them; their results
    and errors are consumed, so none is reported as never retrieved.
    """
    tasks = list(tasks)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        _, pending = await asyncio.wait(pending, timeout=min(RECANCEL_SECONDS, remaining))
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # consumed: a failure on the way out is no longer news
    if pending:
        names = ", ".join(task.get_name() if isinstance(task, asyncio.Task) else repr(task) for task in pending)
        log.warning("%s: still running %.1f s after being cancelled, left behind: %s", what, timeout, names)
    return sorted(pending, key=id)


async def within(awaitable: Awaitable[Any], timeout: float, what: str) -> bool:
    """Await ``awaitable`` for at most ``timeout`` seconds; past that, cancel it (bounded too) and return False.

    An error it raises is logged, not raised: this is for teardown steps,
    each of which must not stop the next.
    """
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        log.warning("%s: no end within %.1f s; given up", what, timeout)
        await stop_tasks([task], 1.0, what)
        return False
    if not task.cancelled() and (error := task.exception()) is not None:
        log.debug("%s: %s: %s", what, type(error).__name__, error)
    return True
