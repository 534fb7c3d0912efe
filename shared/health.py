"""What a service's ``GET /health`` says, and how it finds out: the answer's models, bounded probes, the relay's stall.

The :class:`~shared.web.Runtime` of each service puts these together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class StreamAheadHealth(BaseModel):
    stream_position: int = Field(description="The position of the last event the service's stream holds.")
    store_head: int = Field(description="The store's last position when this was found.")
    diverged: bool = Field(
        description="True when the store reaches `stream_position` but holds another event there (it took new events after the restore)."
    )
    detail: str = Field(description="What was found and what an operator does about it.")


class RelayHealth(BaseModel):
    published_position: int = Field(description="The last log position the stream acknowledged; every one before it was acknowledged or stepped over.")
    stored_position: int
    lag: int
    last_error: str | None
    role: str = Field(
        default="active",
        description="`active` when this replica holds the store's relay lease and publishes, `standby` when another does.",
    )
    blocked_on: int | None = Field(default=None, description="The position the stream keeps refusing, while the relay retries it.")
    batches: int = Field(
        default=0, description="Batches published since the process started; events per batch grow under load (`relay_linger_seconds`)."
    )
    stepped_over: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Events the stream could never take (position and reason), since the process started; consumers fetch them from the feed.",
    )
    stream_ahead: StreamAheadHealth | None = Field(
        default=None,
        description="Set while the stream holds events the store does not (the store was restored from an older backup, or lost "
        "its tail): nothing is published and commands are refused with 503 `store_behind_stream` until an operator acts "
        "(README, \"Restoring a backup\"); the service is `degraded`, whichever replica answers.",
    )
    stalled_seconds: float = Field(
        default=0.0,
        description="Seconds, as of this replica's health checks, that events have waited (`lag` above 0) while `published_position` "
        "did not move; over `relay_stall_seconds` the service is `degraded`, whichever replica answers.",
    )


class SourceHealth(BaseModel):
    applied_floor: int = Field(description="Every event of the source at or below this position is applied (or holds nothing to apply).")
    feed: str = Field(description="`ok`, `not configured`, or the error reading the source's `GET /events`.")
    fetched_from_feed: int = Field(description="Events applied from the feed because the stream had not delivered them.")
    missing: list[list[int]] = Field(description="Ranges `[first, last]` of positions known to exist and not applied; non-empty makes the service degraded.")


MISSING_DISTRICTS = (
    "Districts this service's records are in that its districts table lacks (its `<SERVICE>_DISTRICTS_FILE` setting was not "
    "given the file the district was added to): it cannot place those records (scope, municipality, ubigeo). Non-empty "
    "makes the service `degraded`; the log names them too. Set the variable to the districts file registry has and restart."
)


class Health(BaseModel):
    status: str = Field(
        description="`ok`, or `degraded` when the store or the views database cannot be reached (the answer is then a 503), "
        "NATS is unreachable, the relay is failing, a view misses events, or records are in districts the service's table lacks."
    )
    service: str
    store: str = Field(description="`ok`, or `error: …` when the event store did not answer within the health timeout.")
    views_database: str = Field(default="ok", description="`ok`, or `error: …` when the local views' database did not answer in time.")
    nats: str
    relay: RelayHealth
    consumers: dict[str, str | None] = Field(default_factory=dict, description="Last error of each consumer, if any.")
    parked: dict[str, int] = Field(
        default_factory=dict, description="Per consumer, poison messages parked on the OSV_PARKED stream since the service started."
    )
    views: dict[str, dict[str, SourceHealth]] = Field(
        default_factory=dict, description="Per view built from other services' events, per source: how far it is applied and what it misses."
    )
    missing_districts: list[str] = Field(default_factory=list, description=MISSING_DISTRICTS)
    held: list[str] = Field(
        default_factory=list,
        description="What this replica holds back just now, and why: engagement refuses reads of personal data and lookups by "
        "document (503 `erasures_not_checked`) after a start until it has checked its stream's erasures against its store "
        "(README, \"Personal data\"). Non-empty makes the service `degraded`.",
    )


HEALTH_RESPONSES: dict[int | str, dict[str, Any]] = {503: {"description": "The store or the views database cannot be reached."}}


class Probes:
    """Health probes with a bound: each runs on a thread of its own and past ``timeout`` seconds counts as unreachable.

    A database that does not answer holds a probe's thread for up to the
    connect timeout. One thread per kind of probe (``store``, ``views``)
    keeps such probes from piling up, from holding up each other, and from
    taking the threads that routes and the relay need.
    """

    def __init__(self, name: str, timeout: float) -> None:
        self.name = name
        self.timeout = timeout
        self._threads: dict[str, ThreadPoolExecutor] = {}

    async def run(self, kind: str, probe: Callable[[], T]) -> tuple[T | None, str | None]:
        """``(value, None)``, or ``(None, "error: …")`` when the probe failed or did not answer in time."""
        threads = self._threads.setdefault(kind, ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-health-{kind}"))
        try:
            return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(threads, probe), self.timeout), None
        except TimeoutError:
            return None, f"error: no answer within {self.timeout:g} s"
        except Exception as error:  # noqa: BLE001 - reported, not raised
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            return None, f"error: {type(error).__name__}: {reason}"

    def close(self) -> None:
        for threads in self._threads.values():
            threads.shutdown(wait=False, cancel_futures=True)


@dataclass
class RelayStall:
    """How long the relay's published position has stood still while events waited, as one replica's health checks saw it.

    Every replica (every uvicorn worker) reads the published position from
    the store, so each can tell the relay is stuck, the standby ones too,
    which know nothing of the active relay's own errors.
    """

    published: int = -1
    since: float | None = None
    """When (monotonic seconds) this check first saw events waiting at ``published``; None while nothing waits."""

    def seen(self, published: int, lag: int, now: float) -> float:
        """Seconds the position has stayed at ``published`` with ``lag`` above 0 (0 at the first such check, when it moved, or when nothing waits)."""
        if lag == 0:
            self.published, self.since = published, None
            return 0.0
        if self.since is None or published != self.published:
            self.published, self.since = published, now
            return 0.0
        return now - self.since
