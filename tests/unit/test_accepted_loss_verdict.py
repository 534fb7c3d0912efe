"""What the chain's check says of an ``osv-restore accept-tail`` record and the heads given out around it, in words an
auditor reads as written.

A log whose store and stream shared positions 1 to 3; the stream's events 4 and 5 and the lost store's private event at
6 were lost; the operator's record stands at 6, its two notices of the loss at 7 and 8.
"""

from __future__ import annotations

import hashlib

from shared.chain import GENESIS, link
from shared.chaincheck import AcceptedLoss, Entry, Head, verify

RECORD = AcceptedLoss(
    position=6, accepted_at="2026-12-07T09:00:00+00:00", shared_position=3, stream_position=5, head_given_out=6, lost=2, moved=0
)
LOST_AT_5, LOST_AT_6, OTHER_AT_6 = "5" * 64, "6" * 64, "a" * 64
"""Hashes the lost store's relay gave out (its events, never in this store)."""


def chained(*positions: int) -> tuple[list[Entry], dict[int, str]]:
    """A log holding ``positions``, each event's hash recorded as the store records it; and those hashes, by position."""
    previous, entries, hashes = GENESIS, [], {}
    for position in positions:
        digest = hashlib.sha256(f"event {position}".encode()).hexdigest()
        previous = hashes[position] = link(previous, position, digest)
        entries.append(Entry(position, digest, previous))
    return entries, hashes


def head(position: int, hash_: str) -> Head:
    return Head("registry", position, hash_, "2026-12-07T08:00:00Z")


def test_a_head_put_twice_under_its_key_names_its_position_once() -> None:
    # A relay started again puts the head it finds again: a second revision of the key. The verdict listed
    # `heads_in_it: [274, 274]`, "the heads given out at 274, 274" (tester 259 F8).
    entries, hashes = chained(1, 2, 3, 6, 7, 8)
    verdict = verify("registry", entries, [head(6, LOST_AT_6), head(6, LOST_AT_6), head(8, hashes[8])], [RECORD])

    assert verdict.outcome == "accepted_loss"
    [loss] = verdict.as_dict()["accepted_losses"]
    assert (loss["heads_in_it"], loss["heads_after"]) == ([6], 1)
    said = verdict.describe()
    assert "; the head given out at 6 named that lost tail, not checked against the store; " in said, said
    assert said.endswith("; 1 head given out after the record agrees with it"), said
    assert loss["heads_in_it_differing"] == []  # one hash, given out twice

    with_5 = verify("registry", chained(1, 2, 3, 6, 7, 8)[0], [head(5, LOST_AT_5), head(6, LOST_AT_6), head(6, LOST_AT_6)], [RECORD])
    assert with_5.as_dict()["accepted_losses"][0]["heads_in_it"] == [5, 6]
    assert "the heads given out at 5, 6 named that lost tail" in with_5.describe()


def test_heads_of_one_lost_position_with_different_hashes_are_said_to_differ() -> None:
    # Named once, the two would read as one head: the lost log changed there between them, and the verdict says so.
    entries, _ = chained(1, 2, 3, 6, 7, 8)
    verdict = verify("registry", entries, [head(6, LOST_AT_6), head(6, OTHER_AT_6), head(5, LOST_AT_5)], [RECORD])

    assert verdict.outcome == "accepted_loss"  # the store holds nothing there to check them against
    assert (
        "the heads given out at 5, 6 named that lost tail, not checked against the store (the heads given out at 6 carry "
        "different hashes: the lost log there changed between them)"
    ) in verdict.describe()
    [loss] = verdict.as_dict()["accepted_losses"]
    assert (loss["heads_in_it"], loss["heads_in_it_differing"]) == ([5, 6], [6])


def test_a_head_giving_the_records_own_hash_at_its_position_is_checked_and_agrees() -> None:
    # An accept-tail that recorded no notice after its record left the record the store's last event: its relay put a
    # head at the record's position, beside the lost store's head under that key (tester 256 F7). Both were listed as
    # heads of the lost tail; the record's own head is the store's, and is checked.
    entries, hashes = chained(1, 2, 3, 6)
    verdict = verify("registry", entries, [head(6, LOST_AT_6), head(6, hashes[6])], [RECORD])

    assert (verdict.outcome, verdict.heads_checked) == ("accepted_loss", 1)
    [loss] = verdict.as_dict()["accepted_losses"]
    assert loss["heads_in_it"] == [6]
    assert (loss["heads_in_it_differing"], loss["heads_of_record"]) == ([], 1)
    assert (
        "; 1 head given out at 6 later gives the record's own chain hash (put while the record was the store's last event): "
        "checked, it agrees;"
    ) in verdict.describe()

    # One giving another hash there is no head of this store: it names the lost tail, and its hash differs.
    other = verify("registry", chained(1, 2, 3, 6)[0], [head(6, LOST_AT_6), head(6, OTHER_AT_6)], [RECORD])
    assert (other.outcome, other.heads_checked) == ("accepted_loss", 0)
    assert other.as_dict()["accepted_losses"][0]["heads_in_it_differing"] == [6]


def test_a_failed_verdict_names_the_heads_after_the_record_that_do_not_agree() -> None:
    # The verdict failed at a head given out after the record, and its loss ended "0 heads given out after the record
    # agree with it", as if none had been given (tester 256).
    entries, hashes = chained(1, 2, 3, 6, 7, 8)
    rewritten = "f" * 64
    verdict = verify("registry", entries, [head(6, LOST_AT_6), head(8, rewritten)], [RECORD])

    assert (verdict.outcome, verdict.failure_position) == ("failed", 8)
    said = verdict.describe()
    assert "0 heads given out after the record agree" not in said, said
    assert said.endswith("; no head given out after the record agrees with it: the one at 8 does not"), said
    assert verdict.as_dict()["accepted_losses"][0]["heads_after_failing"] == 1

    beside = verify("registry", chained(1, 2, 3, 6, 7, 8)[0], [head(7, hashes[7]), head(8, rewritten)], [RECORD])
    assert beside.describe().endswith("; 1 head given out after the record agrees with it; the one at 8 does not")

    # Two heads past the store's end (its tail cut): counted, the first named.
    cut = verify("registry", chained(1, 2, 3, 6, 7)[0], [head(8, hashes[8]), head(9, rewritten)], [RECORD])
    assert cut.describe().endswith("; no head given out after the record agrees with it: 2 do not, the first at 8")
