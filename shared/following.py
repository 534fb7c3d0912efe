"""A view's follower: finds the events a view lacks and fetches them from their service's ``GET /events`` feed.

NATS is how events arrive quickly; the feed is how a view knows it has all of
them. Every ``interval`` seconds the follower reads each source's feed from
the view's floor on. An event the feed held at the previous check, that the
view takes (its subject matches the view's filter), and that the view has still
not applied is missing (lost by the stream, parked, stepped over by
a relay, or on a replica that died with it unacked): it is applied from the
feed. Positions the feed covers without an event (private events, ids left by
rolled-back transactions) or only with events the view does not take are
settled, so the floor moves over them.

Whatever cannot be fetched (the feed unreachable) stays in :attr:`missing`
and the service's ``/health`` answers ``degraded`` naming the source and the
positions. Nothing is skipped in silence.

Once per process, before its first check of a source, the follower asks the
view whether rows lack what a column added since they were written holds
(:meth:`~shared.views.View.refill_wanted`: the OSV directory's names, or
engagement's grants' withdrawals, after an upgrade); if so it reads the
source's whole feed, gives its events to :meth:`~shared.views.View.refill`
and tells the view it was read whole (:meth:`~shared.views.View.refilled`),
trying again at the next round while the feed fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.tls import default_tls
from shared.views import Missing, View

log = logging.getLogger(__name__)


@dataclass
class SourceState:
    """What the follower knows of one source, for ``/health``."""

    floor: int = 0
    feed: str = "not checked"
    """``ok``, ``not configured``, or the error reading the feed."""
    answered: bool = False
    """The feed has answered once since the process started: before that, one out of reach is only not up yet."""
    failing: str | None = None
    """What is wrong since the feed last answered: ``unreachable`` (any transport error) or the refusal; ``None`` when it answers."""
    warned: bool = False
    """A warning was logged since the feed last answered: its answering again is a warning too, so the console says the outage ended."""
    fetched: int = 0
    """Events applied from the feed since the process started (the stream had not delivered them)."""
    seen_unapplied: set[int] = field(default_factory=set)
    missing: list[Missing] = field(default_factory=list)
    """Holes that outlived a check and could not be filled."""
    refilled: bool = False
    """The view's rows were found not lacking, or filled from the feed (:meth:`FeedFollower._refill`), since the process started."""


class FeedFollower:
    """Fills a view's holes from the sources' feeds; see the module docstring."""

    def __init__(
        self,
        view: View,
        feeds: Mapping[str, str],
        interval: float = 5.0,
        page: int = 500,
        pages_per_check: int = 20,
        auth: httpx.Auth | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.view = view
        self.feeds = {source: url for source, url in feeds.items() if source in view.sources and url}
        self.interval = interval
        self.page = page
        self.pages_per_check = pages_per_check
        self.auth = auth
        self.timeout = timeout
        self.state: dict[str, SourceState] = {source: SourceState() for source in view.sources}
        self._holes: dict[str, set[tuple[int, int]]] = {source: set() for source in view.sources}

    @property
    def missing(self) -> list[Missing]:
        return [hole for state in self.state.values() for hole in state.missing]

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout, auth=self.auth, verify=default_tls()) as client:
            while True:
                with contextlib.suppress(Exception):
                    await self.check(client)
                await asyncio.sleep(self.interval)

    async def check(self, client: httpx.AsyncClient | None = None) -> None:
        """One round over every source: fetch what was missing at the last round, settle what the feed covers."""
        await asyncio.to_thread(self.view.advance)
        for source in self.view.sources:
            try:
                await self._refill(source, client)
                await self._check_source(source, client)
            except Exception as error:  # noqa: BLE001 - reported in /health, tried again next round
                self._failed(source, error)
            await asyncio.to_thread(self._note_holes, source)

    def _failed(self, source: str, error: Exception) -> None:
        """Keep the error for ``/health``; log a warning once per outage, and only INFO for a feed not up yet.

        Services start in any order, so a feed that has never answered and
        cannot be reached is expected at start; one that answered before and
        now fails (or any refusal, such as a 401) is a warning. A service
        going away fails in several ways in a row (the connection dropped,
        then refused): one outage, so one warning, and the later messages
        are INFO.
        """
        state = self.state[source]
        said = f"{type(error).__name__}: {self._described(error)}"
        failing = "unreachable" if isinstance(error, httpx.TransportError) else said
        if said != state.feed:
            if failing == "unreachable" and not state.answered:
                log.info("view %s: reading %s's feed: not up yet (%s); trying again every %ss", self.view.name, source, said, self.interval)
            elif failing != state.failing:
                log.warning("view %s: reading %s's feed failed: %s", self.view.name, source, said)
                state.warned = True
            else:
                log.info("view %s: reading %s's feed still fails: %s", self.view.name, source, said)
        state.feed, state.failing = said, failing

    def _described(self, error: Exception) -> str:
        """The error's own words; a timeout's are often none (httpx's ``ReadTimeout('')``): then how long was waited."""
        if str(error):
            return str(error)
        if isinstance(error, httpx.TimeoutException):
            return f"no answer within {self.timeout:g} s"
        return "no detail given"

    async def _refill(self, source: str, client: httpx.AsyncClient | None) -> None:
        """Once per process: if the view's rows lack what a column added since holds (:meth:`View.refill_wanted`), read
        ``source``'s whole feed and give the events the view takes to :meth:`View.refill`; tried again at the next round
        while the feed fails. Not the ledger's business: those events were applied, and nothing is fetched as missing."""
        state = self.state[source]
        url = self.feeds.get(source)
        if state.refilled or url is None or client is None:
            return
        if not await asyncio.to_thread(self.view.refill_wanted, source):
            state.refilled = True
            return
        log.info("view %s: rows lack what a newer version keeps: reading %s's feed from its start to fill them", self.view.name, source)
        after, filled = 0, 0
        while True:
            response = await client.get(f"{url.rstrip('/')}/events", params={"after": after, "limit": self.page})
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            events = [e for e in body["events"] if self.view.takes(source, e)]
            if events:
                filled += await asyncio.to_thread(self.view.refill, events)
            if int(body["next_after"]) == after:
                break
            after = int(body["next_after"])
        await asyncio.to_thread(self.view.refilled, source)
        state.refilled = True
        log.info("view %s: filled %s rows from %s's feed, read to position %s", self.view.name, filled, source, after)

    async def _check_source(self, source: str, client: httpx.AsyncClient | None) -> None:
        state = self.state[source]
        url = self.feeds.get(source)
        if url is None or client is None:
            state.feed = "not configured"
            return
        floor = (await asyncio.to_thread(self.view.floors))[source]
        after, covered, unapplied = floor, floor, []
        for _ in range(self.pages_per_check):
            response = await client.get(f"{url.rstrip('/')}/events", params={"after": after, "limit": self.page})
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            events = body["events"]
            # Events outside the view's subject filter never come by the stream and hold nothing for it: settled, not fetched.
            events = [e for e in events if self.view.takes(source, e)]
            if events:
                done = await asyncio.to_thread(self.view.applied_among, source, [int(e["position"]) for e in events])
                unapplied.extend(e for e in events if int(e["position"]) not in done)
            covered = int(body["next_after"])
            if covered == after or len(unapplied) >= self.page:
                break
            after = covered
        if state.feed != "ok" and state.answered:
            level = logging.WARNING if state.warned else logging.INFO
            log.log(level, "view %s: reading %s's feed again after: %s", self.view.name, source, state.feed)
        state.feed, state.answered, state.failing, state.warned = "ok", True, None, False
        due = [e for e in unapplied if int(e["position"]) in state.seen_unapplied]
        if due:
            applied = await asyncio.to_thread(self.view.apply, due)
            state.fetched += applied
            log.warning(
                "view %s: applied %s events of %s from its feed that the stream had not delivered (positions %s..%s)",
                self.view.name, applied, source, due[0]["position"], due[-1]["position"],
            )
        fetched = {int(e["position"]) for e in due}
        waiting = [int(e["position"]) for e in unapplied if int(e["position"]) not in fetched]
        settled_to = min(waiting) - 1 if waiting else covered
        if settled_to > floor:
            await asyncio.to_thread(self.view.settle, source, settled_to)
        state.seen_unapplied = set(waiting)
        state.floor = (await asyncio.to_thread(self.view.floors))[source]

    def _note_holes(self, source: str) -> None:
        """A hole in the ledger that was there at the last round too is missing, until it is filled."""
        state = self.state[source]
        holes = [hole for hole in self.view.missing() if hole.source == source]
        now = {(hole.first, hole.last) for hole in holes}
        state.missing = [hole for hole in holes if (hole.first, hole.last) in self._holes[source]]
        self._holes[source] = now
        state.floor = self.view.floors()[source]
        if state.missing:
            log.error(
                "view %s: events of %s missing and not fetched from its feed (%s): positions %s",
                self.view.name, source, state.feed, ", ".join(f"{h.first}..{h.last}" for h in state.missing),
            )

    def health(self) -> dict[str, Any]:
        """Per source: the floor, the feed's state, events fetched from it, and the missing positions."""
        return {
            source: {
                "applied_floor": state.floor,
                "feed": state.feed,
                "fetched_from_feed": state.fetched,
                "missing": [hole.as_list() for hole in state.missing],
            }
            for source, state in self.state.items()
        }
