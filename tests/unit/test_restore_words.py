"""What ``osv-restore accept-tail`` says of the events it moved, in words an operator reads as written."""

from shared.restore import moved_events


def test_one_moved_event_is_said_in_the_singular_and_several_in_the_plural() -> None:
    # Tester 256: "1 unpublished events moved", and with none, "0 unpublished events moved from - to -".
    assert moved_events(1) == "1 unpublished event"
    assert moved_events(3) == "3 unpublished events"
