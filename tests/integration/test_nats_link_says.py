"""What a service's NATS link says on the console (WARNING and up) while NATS goes away and comes back."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from devtools.embedded import NatsServer
from shared.messaging import NatsLink


def test_nats_coming_back_is_said_as_loudly_as_it_going_away(nats_server: NatsServer, caplog: pytest.LogCaptureFixture) -> None:
    """Tester 25b L2: the console showed "disconnected" and never "reconnected" (INFO, below the console's level)."""
    caplog.set_level(logging.WARNING, logger="shared.messaging")

    async def scenario() -> None:
        link = NatsLink(nats_server.url, "funding-test")
        link.start()
        assert await link.wait_ready(10)
        await asyncio.to_thread(nats_server.restart, hard=True)
        deadline = time.monotonic() + 30
        while "reconnected" not in caplog.text and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await link.close(5)

    asyncio.run(scenario())
    said = [r.getMessage() for r in caplog.records if r.name == "shared.messaging" and r.levelno >= logging.WARNING]
    assert any("disconnected" in m for m in said), said
    assert any(m.startswith("NATS funding-test: reconnected to") for m in said), said
