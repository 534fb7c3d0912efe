"""What the views' followers say in the log while the feeds they read come and go."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from devtools.embedded import NatsServer
from tests.support.served import served_system

FOLLOWING = "shared.following"


def feed_records(caplog: pytest.LogCaptureFixture, source: str, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == FOLLOWING and r.levelno == level and f"reading {source}'s feed" in r.getMessage()]


def test_a_feed_not_up_yet_at_start_is_no_warning_and_one_that_goes_away_later_is_one(
    tmp_path: Path, nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=FOLLOWING)
    # Registry starts first: its views read engagement's feed before engagement listens.
    with served_system(tmp_path / "var", nats_server.url, follow_interval_seconds=0.2) as (system, served):
        assert system.registry.get("/health").status_code == 200
        waited = time.monotonic()
        while not feed_records(caplog, "engagement", logging.INFO) and time.monotonic() - waited < 30:
            time.sleep(0.1)
        assert feed_records(caplog, "engagement", logging.INFO), "the follower said nothing of a feed not up yet"
        assert feed_records(caplog, "engagement", logging.WARNING) == []
        time.sleep(1.0)  # several rounds, every feed up now
        served["engagement"].stop()
        waited = time.monotonic()
        while not feed_records(caplog, "engagement", logging.WARNING) and time.monotonic() - waited < 30:
            time.sleep(0.1)
        warnings = feed_records(caplog, "engagement", logging.WARNING)
        time.sleep(1.0)  # more failing rounds: still one warning per view, not one per round
        assert warnings, "a feed that answered and then went away was not warned of"
        per_view = {r.getMessage().split(":", 1)[0] for r in feed_records(caplog, "engagement", logging.WARNING)}
        assert len(feed_records(caplog, "engagement", logging.WARNING)) == len(per_view)
