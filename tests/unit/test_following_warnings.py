"""How a view's follower speaks of a failing feed: one warning per outage, whatever way the service goes away."""

from __future__ import annotations

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
