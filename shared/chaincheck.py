"""Checking a service's log against its hash chain and the heads given out (``osv-verify``, ``GET /verify``, ``GET /chain``).

The chain itself, and why it is kept where it is, is :mod:`shared.chain`'s. Here a log is read back
(:func:`entries_of_store`: each position's record digest beside the hash the store recorded), the chain is
computed again from the records, and both are held against the heads the relay gave out (:func:`verify`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
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


@dataclass(frozen=True)
class AcceptedLoss:
    """An ``osv-restore accept-tail`` record in the log (:class:`shared.restore.StreamTailAccepted`, private): the operator
    accepted that the stream's events after ``shared_position`` are not in this store.

    ``position``: where the record stands, the last position given out then. ``accepted_at`` (RFC 3339),
    ``shared_position``, ``stream_position`` (the stream's last position then), ``head_given_out`` (the highest chain
    head then, 0 if none) and ``lost``, ``moved`` (counts of events): as recorded; None when the record could not be
    read (engagement's events are encrypted: ``osv-verify --store`` holds no key).
    """

    position: int
    accepted_at: str | None = None
    shared_position: int | None = None
    stream_position: int | None = None
    head_given_out: int | None = None
    lost: int | None = None
    moved: int | None = None

    @property
    def readable(self) -> bool:
        return self.shared_position is not None


@dataclass
class AcceptedLossFound:
    """An :class:`AcceptedLoss` as :func:`verify` found it in the chain: the positions it accounts for are those after
    ``after`` up to its own.

    ``lost_heads``: each position there a head was given out for, with the hashes given out for it (names of events of
    the lost tail, not checked against the store; a key's history holds a head put again after a restart as a second
    revision). ``heads_of_record``: heads given out at the record's own position that give its chain hash (put while
    the record was the store's last event, before ``accept-tail`` recorded its notices after it: tester 256 F7),
    checked like any head of the store. ``heads_after``: how many heads given out after the record agree with the
    chain; ``failing_after``: the positions of those that do not, one entry a head.
    """

    record: AcceptedLoss
    after: int
    lost_heads: dict[int, set[str]] = field(default_factory=dict)
    heads_of_record: int = 0
    heads_after: int = 0
    failing_after: list[int] = field(default_factory=list)

    def accounts_for(self, position: int) -> bool:
        return self.after < position <= self.record.position

    @property
    def heads_in_it(self) -> list[int]:
        """The positions in the gap heads were given out for, each once, in order (a key put twice was listed twice:
        ``[274, 274]``, tester 259 F8)."""
        return sorted(self.lost_heads)

    @property
    def heads_in_it_differing(self) -> list[int]:
        """Those of :attr:`heads_in_it` whose heads carry different hashes: the lost log there changed between them."""
        return [position for position in self.heads_in_it if len(self.lost_heads[position]) > 1]

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self.record),
            "lost_after": self.after,
            "heads_in_it": self.heads_in_it,
            "heads_in_it_differing": self.heads_in_it_differing,
            "heads_of_record": self.heads_of_record,
            "heads_after": self.heads_after,
            "heads_after_failing": len(self.failing_after),
        }

    def describe(self) -> str:
        record = self.record
        if record.readable:
            stream = f"up to {record.stream_position} (the stream's last then)" if record.stream_position else ""
            what = (
                f"osv-restore accept-tail recorded at {record.accepted_at} (its StreamTailAccepted record, position {record.position}): "
                f"{record.lost} event{'' if record.lost == 1 else 's'} of the stream after the shared position {record.shared_position} "
                f"{stream} {'is' if record.lost == 1 else 'are'} not in this store (partners and reporting keep them); the store holds "
                f"nothing between {self.after} and {record.position}"
            ).replace("  ", " ")
        else:
            what = (
                f"osv-restore accept-tail's StreamTailAccepted record at position {record.position} (its details are sealed under "
                f"the service's key: the service's GET /verify names them): the store holds nothing between {self.after} and "
                f"{record.position}, which the operator accepted as lost"
            )
        if in_it := self.heads_in_it:
            what += f"; the head{'' if len(in_it) == 1 else 's'} given out at {_listed(in_it)} named that lost tail, not checked against the store"
        if differing := self.heads_in_it_differing:
            each = "" if len(differing) == 1 else " at each"
            what += f" (the heads given out at {_listed(differing)} carry different hashes{each}: the lost log there changed between them)"
        if self.heads_of_record:
            one = self.heads_of_record == 1
            what += (
                f"; {self.heads_of_record} head{'' if one else 's'} given out at {record.position} later give{'s' if one else ''} the "
                f"record's own chain hash (put while the record was the store's last event): checked, {'it agrees' if one else 'they agree'}"
            )
        return f"accepted loss: {what}; {self._heads_after()}"

    def _heads_after(self) -> str:
        """How the heads given out after the record stand: how many agree, and, for a failed verdict, those that do not."""
        agree, failing = self.heads_after, self.failing_after
        agreeing = f"{agree} head{' given out after the record agrees' if agree == 1 else 's given out after the record agree'} with it"
        if not failing:
            return agreeing
        # "0 heads … agree" when the failure was such a head (tester 256): name the ones that do not.
        them = f"the one at {failing[0]} does not" if len(failing) == 1 else f"{len(failing)} do not, the first at {failing[0]}"
        return f"no head given out after the record agrees with it: {them}" if not agree else f"{agreeing}; {them}"


def _listed(positions: list[int]) -> str:
    return ", ".join(str(p) for p in positions)


@dataclass
class Verdict:
    """What :func:`verify` found: ``ok``, the first position that fails and why, or a chain that holds past a loss an
    operator accepted (``accepted``: :class:`AcceptedLossFound`; ``outcome`` ``accepted_loss``)."""

    service: str
    checked: int = 0
    head: tuple[int, str] | None = None
    heads_checked: int = 0
    snapshots_checked: int = 0
    failure_position: int | None = None
    failure: str | None = None
    accepted: list[AcceptedLossFound] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.failure is not None

    @property
    def outcome(self) -> str:
        """``ok``; ``accepted_loss``: the chain holds, and the log holds an operator's record of a loss accepted
        (``osv-restore accept-tail``), never a silent pass; ``failed``."""
        if self.failed:
            return "failed"
        return "accepted_loss" if self.accepted else "ok"

    @property
    def ok(self) -> bool:
        """Nothing failed and nothing to explain (no accepted loss)."""
        return self.outcome == "ok"

    def fail(self, position: int | None, reason: str) -> None:
        """Keep the failure at the lowest position (a failure without a position counts only if there is none)."""
        if self.failure is None or (position is not None and (self.failure_position is None or position < self.failure_position)):
            self.failure_position, self.failure = position, reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "ok": self.ok,
            "outcome": self.outcome,
            "events_checked": self.checked,
            "head": None if self.head is None else {"position": self.head[0], "hash": self.head[1]},
            "heads_checked": self.heads_checked,
            "snapshots_checked": self.snapshots_checked,
            "first_failure": None if not self.failed else {"position": self.failure_position, "reason": self.failure},
            "accepted_losses": [found.as_dict() for found in self.accepted],
        }

    def describe(self) -> str:
        losses = [found.describe() for found in self.accepted]
        if self.failed:
            where = f"position {self.failure_position}" if self.failure_position is not None else "the log"
            return "\n".join([f"{self.service}: FAILED at {where}: {self.failure}", *losses])
        head = f"head {self.head[1]} at position {self.head[0]}" if self.head else "an empty log"
        snapshots = f"; {self.snapshots_checked} snapshots match their events" if self.snapshots_checked else ""
        chained = f"{self.checked} events chained up to {head}; {self.heads_checked} published heads agree{snapshots}"
        if not self.accepted:
            return f"{self.service}: ok: {chained}"
        return "\n".join([f"{self.service}: ok with an accepted loss (not tampering; an operator's record): {chained}", *losses])


def verify(service: str, entries: Iterable[Entry], heads: Sequence[Head], accepted: Sequence[AcceptedLoss] = ()) -> Verdict:
    """Recompute the chain from the records and check it against the hashes the store recorded and the heads given out.

    ``entries`` are the log's positions in order: each stored event with its
    record digest (``digest``), and positions the chain table names without
    an event (``digest`` None: the event was deleted). Reports the first
    position whose record does not give the recorded hash (a changed byte, two
    events swapped, an event inserted), whose hash is missing, or whose
    recomputed hash disagrees with a head given out (a history rewritten with
    its chain made again consistently); and a head beyond the log's end (its
    tail cut).

    ``accepted``: the log's ``osv-restore accept-tail`` records (:func:`shared.restore.accepted_losses`). Each one
    the chain holds (an event at its position) accounts for the positions the log lacks just before it (after the
    log's event before it, and after the ``shared_position`` it records) and its own: a head given out there named
    an event of the lost tail, and is not a failure (save one at the record's position giving the record's hash: the
    store's own, checked); the verdict's outcome is then ``accepted_loss``, naming the record. A record the chain does
    not hold accounts for nothing. ``accepted`` is read as ``entries`` are: a list a feed's reader adds to as it goes will do.
    """
    verdict = Verdict(service)
    computed: dict[int, str] = {}
    previous, last = GENESIS, 0
    wanted = {head.position for head in heads}
    for entry in entries:
        if entry.digest is None:
            verdict.fail(entry.position, "the chain records an event here that the store no longer holds: it was deleted")
            continue
        # Looked up as the entries are read: a feed's pages name the records they hold (audit.verify.entries_of_feed).
        if (record := next((r for r in accepted if r.position == entry.position), None)) is not None:
            # The gap the store really lacks, never below what the record says it shares.
            verdict.accepted.append(AcceptedLossFound(record, max(last, record.shared_position or 0)))
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
        found = next((f for f in verdict.accepted if f.accounts_for(head.position)), None)
        if found is not None and computed.get(head.position) != head.hash:
            # It named an event of the tail the operator accepted as lost (the gap holds no event but the record).
            found.lost_heads.setdefault(head.position, set()).add(head.hash)
            continue
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
        else:
            if found is not None:  # the record's own head
                found.heads_of_record += 1
            for loss in verdict.accepted:
                loss.heads_after += head.position > loss.record.position
            continue
        for loss in verdict.accepted:
            if head.position > loss.record.position:
                loss.failing_after.append(head.position)
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
