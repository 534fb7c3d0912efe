"""The checkpoints of reporting's read model: the tally saved every ``checkpoint_every`` settled facts, re-cut when a
phase opens after every day it counted, dropped when a late fact or a late phase makes it wrong (SQLAlchemy).

A mixin of :class:`~.readmodel.ReadModel` (see its module for why checkpoints exist), which keeps ``engine``,
``checkpoint_every``, ``settle_delay`` and the ``_checkpointing`` lock, and reads the facts (``revision``,
``_relevant``, ``_facts``, ``_phase_facts``, ``_fold``).
"""

from __future__ import annotations

import json
import threading
import zlib
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, func, insert, select, update

from services.reporting.domain.indicators import Phase, boundaries, phases_in
from services.reporting.domain.tally import Tally, recuttable
from services.reporting.views.tables import CHECKPOINTS, FACTS, REVISION, REVISIONS, CheckpointRow, utc
from shared.views import json_dumps, json_loads


def saved(tally: Tally) -> bytes:
    """A tally's state as a checkpoint keeps it: compact JSON (:func:`~shared.views.json_dumps`), zlib-compressed (level 1: a checkpoint is written far more than read back)."""
    return zlib.compress(json_dumps(tally.state()), 1)


def state_of(checkpoint: Row[Any]) -> dict[str, Any]:
    """A checkpoint's saved state (see :func:`saved`)."""
    return json_loads(zlib.decompress(checkpoint.state))  # type: ignore[no-any-return]


class _Fits:
    """Whether a checkpoint cut by ``bounds`` (its JSON) with this latest day serves a report cut by ``cut_by``, as is or re-cut."""

    def __init__(self, cut_by: list[int]) -> None:
        self.cut_by, self.text = cut_by, json.dumps(cut_by)
        self.known: dict[str, list[int]] = {}

    def __call__(self, bounds: str, latest_day: int) -> bool:
        if bounds == self.text:
            return True
        old = self.known.get(bounds)
        if old is None:
            old = self.known[bounds] = json.loads(bounds)
        return recuttable(old, latest_day, self.cut_by)


class Checkpoints:
    """Saving, re-cutting and choosing the tally's checkpoints."""

    engine: Engine
    checkpoint_every: int
    settle_delay: timedelta
    _checkpointing: threading.Lock
    # and, from the read model: revision, _relevant, _facts, _phase_facts, _fold

    def advance_checkpoints(self, limit: int | None = None, recut: bool = True) -> int:
        """Save the tally every ``checkpoint_every`` settled facts past the last checkpoint (at most ``limit`` times); return how many were saved.

        Checkpoints cut by earlier phases that the phases known now cannot re-cut
        are dropped first; with ``recut``, the others are saved re-cut (see
        :meth:`_recut_checkpoints`), counting towards ``limit``.
        """
        with self._checkpointing:
            return self._advance_checkpoints(limit, recut)

    def _advance_checkpoints(self, limit: int | None, recut: bool) -> int:
        with self.engine.connect() as connection:
            since = self.revision(connection)  # before anything is read: a checkpoint is saved only if no fact before its cut came since
            phases = phases_in(self._phase_facts(connection))
            bounds = json.dumps(boundaries(phases))
            written = self._recut_checkpoints(connection, phases, limit if recut else 0, since)
            if limit is not None and written >= limit:
                return written
            newest = connection.scalar(select(func.max(FACTS.c.recorded_at)))
            if newest is None:
                return written
            settled = utc(newest) - self.settle_delay
            checkpoint = self._checkpoint(connection, phases, None)
            tally: Tally | None = None  # restored only once a checkpoint is due: most batches make none
            cut = utc(checkpoint.cut) if checkpoint else None
            folded = checkpoint.facts if checkpoint else 0
            while limit is None or written < limit:
                relevant = self._relevant(after=cut, upto=settled)
                nth = connection.scalar(
                    select(FACTS.c.recorded_at).where(*relevant).order_by(FACTS.c.recorded_at).offset(self.checkpoint_every - 1).limit(1)
                )
                if nth is None:
                    break
                nth = utc(nth)
                facts = list(self._facts(connection, self._relevant(after=cut, upto=nth)))
                if tally is None:
                    tally = self._tally(connection, checkpoint, phases)
                self._fold(connection, tally, facts)
                folded += len(facts)
                connection.commit()  # the read ends: the save takes the revision's lock afresh
                if not self._save_checkpoint(connection, since, {"cut": nth, "bounds": bounds, "facts": folded, "latest_day": tally.latest_day},
                                             saved(tally)):
                    break  # a fact recorded by then was applied meanwhile: the tally lacks it; the next round starts again
                cut, written = nth, written + 1
        return written

    def _save_checkpoint(self, connection: Connection, since: int, row: dict[str, Any], state: bytes, replacing: int | None = None) -> bool:
        """Save a checkpoint (in place of checkpoint ``replacing``, if given) unless a fact recorded by its cut was applied
        after revision ``since`` (or that one is gone); say whether it was saved.

        It takes the revision's row lock first, as every applying transaction
        does before it drops the checkpoints a late fact makes wrong: either
        that transaction committed first and is seen here, or it waits and
        then drops this checkpoint too.
        """
        connection.execute(update(REVISION).where(REVISION.c.id == 1).values(revision=REVISION.c.revision))
        changes = connection.execute(select(REVISIONS.c.earliest).where(REVISIONS.c.revision > since)).all()
        stale = len(changes) != self.revision(connection) - since or any(
            earliest is None or utc(earliest) <= utc(row["cut"]) for (earliest,) in changes
        )
        if not stale and replacing is not None:
            stale = not connection.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.id == replacing)).rowcount
        if stale:
            connection.rollback()
            return False
        connection.execute(insert(CHECKPOINTS).values(**row, state=state))
        connection.commit()
        return True

    def _recut_checkpoints(self, connection: Connection, phases: list[Phase], limit: int | None, since: int) -> int:
        """Save re-cut by ``phases`` (at most ``limit``) the checkpoints cut by earlier phases that only need their last segment split.

        Those the phases cut anywhere else (a phase opened after facts dated
        in it were counted) are dropped: they are made again by folding.
        Returns how many were saved re-cut.
        """
        cut_by = boundaries(phases)
        bounds = json.dumps(cut_by)
        others = connection.execute(
            select(CHECKPOINTS.c.id, CHECKPOINTS.c.bounds, CHECKPOINTS.c.latest_day).where(CHECKPOINTS.c.bounds != bounds).order_by(CHECKPOINTS.c.cut)
        ).all()
        fits = _Fits(cut_by)
        useless = [id_ for id_, old, latest_day in others if not fits(old, latest_day)]
        for start in range(0, len(useless), 500):
            connection.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.id.in_(useless[start:start + 500])))
        connection.commit()
        written = 0
        for id_, old, latest_day in others:
            if limit is not None and written >= limit:
                break
            if not fits(old, latest_day):
                continue
            row = connection.execute(select(CHECKPOINTS).where(CHECKPOINTS.c.id == id_)).first()
            if row is None:  # dropped meanwhile (a late fact)
                continue
            tally = Tally.restore(state_of(row), phases)
            connection.commit()
            recut = {"cut": row.cut, "bounds": bounds, "facts": row.facts, "latest_day": row.latest_day}
            if self._save_checkpoint(connection, since, recut, saved(tally), replacing=id_):
                written += 1
        return written

    def checkpoints(self) -> list[tuple[datetime, int, list[int]]]:
        """Each checkpoint's cut, how many facts it folded and the phase bounds that cut it, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(CheckpointRow.cut, CheckpointRow.facts, CheckpointRow.bounds).order_by(CheckpointRow.cut))
            return [(utc(cut), facts, json.loads(bounds)) for cut, facts, bounds in rows]

    @staticmethod
    def _checkpoint(connection: Connection, phases: list[Phase], upto: datetime | None, until: date | None = None) -> Row[Any] | None:
        """The latest checkpoint at or before ``upto`` that these phases cut, or only re-cut (see :func:`recuttable`), and
        that counted nothing after ``until`` (a report's day: it leaves out the facts dated after it,
        :mod:`~services.reporting.domain.daycut`), if given.

        Only the chosen one's state is read; ``_tally`` re-cuts it as it restores it.
        """
        cut_by = boundaries(phases)
        bounds = json.dumps(cut_by)
        query = select(CHECKPOINTS.c.id, CHECKPOINTS.c.bounds, CHECKPOINTS.c.latest_day)
        if upto is not None:
            query = query.where(CHECKPOINTS.c.cut <= upto)
        if until is not None:
            query = query.where(CHECKPOINTS.c.latest_day <= until.toordinal())
        own = connection.execute(query.where(CHECKPOINTS.c.bounds == bounds).order_by(CHECKPOINTS.c.cut.desc()).limit(1)).first()
        if own is not None:
            query = query.where(CHECKPOINTS.c.cut > select(CHECKPOINTS.c.cut).where(CHECKPOINTS.c.id == own.id).scalar_subquery())
        fits = _Fits(cut_by)
        later = next((row.id for row in connection.execute(query.order_by(CHECKPOINTS.c.cut.desc())) if fits(row.bounds, row.latest_day)), None)
        chosen = later if later is not None else (own.id if own is not None else None)
        return None if chosen is None else connection.execute(select(CHECKPOINTS).where(CHECKPOINTS.c.id == chosen)).first()

    @staticmethod
    def _tally(connection: Connection, checkpoint: Row[Any] | None, phases: list[Phase], until: date | None = None) -> Tally:
        """A tally cut by ``phases`` (and at ``until``), from ``checkpoint`` if given (one :meth:`_checkpoint` chose for them)."""
        if checkpoint is None:
            return Tally(phases, until=until)
        return Tally.restore(state_of(checkpoint), phases, until=until)
