"""When a service's health says its relay is stuck (shared/health.py's RelayStall), without I/O.

Every replica reads the relay's published position from the store; a standby
knows nothing else of the active relay, so this is how it tells.
"""

from __future__ import annotations

from shared.health import RelayStall


def test_a_relay_counts_as_stalled_only_while_events_wait_and_its_published_position_stands_still() -> None:
    stall = RelayStall()
    assert stall.seen(published=10, lag=0, now=100.0) == 0.0  # nothing waits
    assert stall.seen(published=10, lag=3, now=130.0) == 0.0  # events wait from this check on, not from the last quiet one
    assert stall.seen(published=10, lag=5, now=190.0) == 60.0
    assert stall.seen(published=12, lag=3, now=200.0) == 0.0  # it moved
    assert stall.seen(published=12, lag=3, now=205.0) == 5.0
    assert stall.seen(published=15, lag=0, now=210.0) == 0.0  # caught up
    assert stall.seen(published=15, lag=1, now=290.0) == 0.0
