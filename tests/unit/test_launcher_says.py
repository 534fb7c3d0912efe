"""What ``make run``'s launcher says when a child it restarts does not come up (tester 292 F3)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from deploy.run_local import Backoff, Child, Supervisor
from devtools.embedded import EmbeddedServerError

TAIL = (
    "[INF] Starting JetStream\n"
    "[FTL] Can't start JetStream: could not create storage directory - mkdir /srv/osv/var/nats/js: file exists\n"
)


@dataclass
class NatsThatWillNotStart(Child):
    """A nats-server whose start fails as the embedded one's does: the exit, then its log's tail."""

    def start(self) -> None:
        raise EmbeddedServerError(f"nats-server exited with code 1 during start-up; log tail (/srv/osv/var/nats/nats-server.log):\n{TAIL}")

    def exit_code(self) -> int | None:
        return 1

    def pid(self) -> int | None:
        return None


def test_a_nats_server_that_does_not_start_again_is_logged_with_the_line_that_says_why(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    child = NatsThatWillNotStart(name="osv-platform nats-server", backoff=Backoff(first=1.0, longest=30.0, stable_after=60.0))
    child.restart_at = 0.0  # due now
    Supervisor(children=[child]).tick()
    [said] = [record.getMessage() for record in caplog.records]
    assert said.startswith("osv-platform nats-server did not start again (nats-server exited with code 1 during start-up; ")
    assert "[FTL] Can't start JetStream: could not create storage directory" in said and said.endswith("retrying in 1.0 s")
    assert "\n" not in said
