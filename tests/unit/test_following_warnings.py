"""How a view's follower speaks of a failing feed: one warning per outage, whatever way the service goes away."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from shared.following import FeedFollower

FOLLOWING = "shared.following"


def follower() -> FeedFollower:
    view: Any = SimpleNamespace(name="reporting", sources=("engagement",))
    return FeedFollower(view, {"engagement": "http://engagement.invalid"})


def levels(caplog: pytest.LogCaptureFixture) -> list[int]:
    return [r.levelno for r in caplog.records if r.name == FOLLOWING]


def test_a_service_going_away_in_two_steps_is_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=FOLLOWING)
    following = follower()
    state = following.state["engagement"]
    state.feed, state.answered = "ok", True
    # Stopping mid-request: first the connection drops, then every new one is refused.
    following._failed("engagement", httpx.RemoteProtocolError("Server disconnected without sending a response."))
    following._failed("engagement", httpx.ConnectError("All connection attempts failed"))
    following._failed("engagement", httpx.ConnectError("All connection attempts failed"))
    assert levels(caplog) == [logging.WARNING, logging.INFO]
    assert state.feed == "ConnectError: All connection attempts failed"


def test_a_refusal_after_being_out_of_reach_is_a_warning_of_its_own(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=FOLLOWING)
    following = follower()
    # Not up yet at start: INFO. Then it answers 401 (a token its provider does not know): that needs someone.
    following._failed("engagement", httpx.ConnectError("All connection attempts failed"))
    refused = httpx.Response(401, request=httpx.Request("GET", "http://engagement.invalid/events"))
    following._failed("engagement", httpx.HTTPStatusError("401 Unauthorized", request=refused.request, response=refused))
    assert levels(caplog) == [logging.INFO, logging.WARNING]


def test_each_outage_after_the_feed_answered_again_is_warned_of(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=FOLLOWING)
    following = follower()
    state = following.state["engagement"]
    for _ in range(2):
        state.feed, state.answered, state.failing = "ok", True, None  # what a round that read the feed leaves
        following._failed("engagement", httpx.ConnectError("All connection attempts failed"))
    assert levels(caplog) == [logging.WARNING, logging.WARNING]


class Quiet:
    """A view with nothing to apply: enough for a round of the follower to read a feed and settle."""

    name, sources = "reporting", ("engagement",)

    def floors(self) -> dict[str, int]:
        return {"engagement": 0}

    def advance(self) -> None:
        pass


async def feed(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Engagement's ``GET /events``, back up and with nothing new: an ASGI app the follower's real client reads."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"events": [], "next_after": 0}'})


def answering_again(following: FeedFollower) -> None:
    async def round_() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=feed)) as client:
            await following._check_source("engagement", client)

    asyncio.run(round_())


def test_the_end_of_a_warned_outage_is_a_warning_too_so_the_console_says_it_ended(caplog: pytest.LogCaptureFixture) -> None:
    """Tester 25 L5: the outage's warning showed on the console, its end (INFO) never did."""
    caplog.set_level(logging.INFO, logger=FOLLOWING)
    view: Any = Quiet()
    following = FeedFollower(view, {"engagement": "http://engagement.invalid"})
    answering_again(following)  # up at start
    following._failed("engagement", httpx.ReadTimeout(""))
    answering_again(following)
    records = [r for r in caplog.records if r.name == FOLLOWING]
    assert [r.levelno for r in records] == [logging.WARNING, logging.WARNING]
    assert records[0].getMessage().endswith("ReadTimeout: no answer within 5 s")  # httpx's own words are none
    assert "again after: ReadTimeout" in records[1].getMessage()


def test_a_feed_not_up_yet_at_start_answering_at_last_is_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=FOLLOWING)
    view: Any = Quiet()
    following = FeedFollower(view, {"engagement": "http://engagement.invalid"})
    following._failed("engagement", httpx.ConnectError("All connection attempts failed"))
    answering_again(following)
    assert [r.levelno for r in caplog.records if r.name == FOLLOWING] == [logging.INFO]
