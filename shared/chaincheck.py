"""Checking a service's log against its hash chain and the heads given out (``osv-verify``, ``GET /verify``, ``GET /chain``).

The chain itself, and why it is kept where it is, is :mod:`shared.chain`'s. Here a log is read back
(:func:`entries_of_store`: each position's record digest beside the hash the store recorded), the chain is
computed again from the records, and both are held against the heads the relay gave out (:func:`verify`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from shared.chain import GENESIS, link, record_digest


@dataclass(frozen=True)
class Head:
    """A chain head given out: the log's hash at ``position``, and where and when it was given."""

    service: str
    position: int
    hash: str
    published_at: str | None = None
    source: str = "kv"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Entry:
    """One position of a log as a verifier reads it: its record digest, and the hash the store recorded for it (if any)."""

    position: int
    digest: str | None
    recorded_hash: str | None


@dataclass
class Verdict:
    """What :func:`verify` found: ``ok``, or the first position that fails and why."""

    service: str
    checked: int = 0
    head: tuple[int, str] | None = None
    heads_checked: int = 0
    snapshots_checked: int = 0
    failure_position: int | None = None
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def fail(self, position: int | None, reason: str) -> None:
        """Keep the failure at the lowest position (a failure without a position counts only if there is none)."""
        if self.failure is None or (position is not None and (self.failure_position is None or position < self.failure_position)):
            self.failure_position, self.failure = position, reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "ok": self.ok,
            "events_checked": self.checked,
            "head": None if self.head is None else {"position": self.head[0], "hash": self.head[1]},
            "heads_checked": self.heads_checked,
            "snapshots_checked": self.snapshots_checked,
            "first_failure": None if self.ok else {"position": self.failure_position, "reason": self.failure},
        }

    def describe(self) -> str:
        if self.ok:
            head = f"head {self.head[1]} at position {self.head[0]}" if self.head else "an empty log"
            snapshots = f"; {self.snapshots_checked} snapshots match their events" if self.snapshots_checked else ""
            return f"{self.service}: ok: {self.checked} events chained up to {head}; {self.heads_checked} published heads agree{snapshots}"
        where = f"position {self.failure_position}" if self.failure_position is not None else "the log"
        return f"{self.service}: FAILED at {where}: {self.failure}"


def verify(service: str, entries: Iterable[Entry], heads: Sequence[Head]) -> Verdict:
    """Recompute the chain from the records and check it against the hashes the store recorded and the heads given out.

    ``entries`` are the log's positions in order: each stored event with its
    record digest (``digest``), and positions the chain table names without
    an event (``digest`` None: the event was deleted). Reports the first
    position whose record does not give the recorded hash (a changed byte, two
    events swapped, an event inserted), whose hash is missing, or whose
    recomputed hash disagrees with a head given out (a history rewritten with
    its chain made again consistently); and a head beyond the log's end (its
    tail cut).
    """
    verdict = Verdict(service)
    computed: dict[int, str] = {}
    previous, last = GENESIS, 0
    wanted = {head.position for head in heads}
    for entry in entries:
        if entry.digest is None:
            verdict.fail(entry.position, "the chain records an event here that the store no longer holds: it was deleted")
            continue
        verdict.checked += 1
        previous = link(previous, entry.position, entry.digest)
        last = entry.position
        if entry.position in wanted:
            computed[entry.position] = previous
        if verdict.failure is not None:
            continue  # the first failure stands; go on only to learn the hashes at the heads' positions
        if entry.recorded_hash is None:
            verdict.fail(entry.position, "the event has no chain hash: it was written around the service's store")
        elif entry.recorded_hash != previous:
            verdict.fail(
                entry.position,
                "the stored event does not give the hash the store recorded for it: it was changed, moved or inserted "
                f"(recorded {entry.recorded_hash[:16]}…, recomputed {previous[:16]}…)",
            )
    verdict.head = (last, previous) if last else None
    for head in sorted(heads, key=lambda h: h.position):
        verdict.heads_checked += 1
        given = f"the head given out{' at ' + head.published_at if head.published_at else ''} ({head.source})"
        if head.position > last:
            verdict.fail(head.position, f"{given} says the log reached position {head.position}; the store now ends at {last}: its tail was cut")
        elif head.position not in computed:
            verdict.fail(head.position, f"{given} names position {head.position}, which the store no longer holds")
        elif computed[head.position] != head.hash:
            verdict.fail(
                head.position,
                f"{given} says the chain here was {head.hash[:16]}…; the store's events now give {computed[head.position][:16]}…: "
                "the history up to here was rewritten",
            )
    return verdict


def entries_of_store(app: Any, after: int = 0, page: int = 2000) -> Iterator[Entry]:
    """Every position of an application's store after ``after``: its stored events and its chain rows, merged in order."""
    recorder = app.recorder
    while True:
        notifications = recorder.select_notifications(start=after, limit=page, inclusive_of_start=False)
        if notifications:
            stop = notifications[-1].id
            chain = dict(recorder.select_chain(after, 2**31, stop=stop))
        else:  # past the last event: chain rows left by deleted events
            chain = dict(recorder.select_chain(after, page))
            stop = max(chain, default=after)
            if chain:  # events saved since the read above came with their chain rows (one transaction): read them again
                notifications = recorder.select_notifications(start=after, limit=page, stop=stop, inclusive_of_start=False)
        stored = {n.id: n for n in notifications}
        for position in sorted(set(stored) | set(chain)):
            n = stored.get(position)
            digest = None if n is None else record_digest(n.originator_id, n.originator_version, n.topic, n.state)
            yield Entry(position, digest, chain.get(position))
        if stop == after:
            return
        after = stop


def chain_page(app: Any, after: int, limit: int) -> dict[str, Any]:
    """What ``GET /chain`` answers: each stored position after ``after`` with its record digest and chain hash."""
    entries = []
    for entry in entries_of_store(app, after, page=limit):
        entries.append({"position": entry.position, "digest": entry.digest, "hash": entry.recorded_hash})
        if len(entries) >= limit:
            break
    return {"after": after, "next_after": entries[-1]["position"] if entries else after, "entries": entries}
