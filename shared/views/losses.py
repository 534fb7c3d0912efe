"""A view's record of the tails another service's store lost in restores, and which of its rows such a loss took.

After ``osv-restore accept-tail`` on a service (README, "Restoring a backup") its store lacks its stream's events after
the loss's ``shared_position`` up to ``record_position`` (the store's private record of the acceptance): the service
answers 404 for a record only those events made, though they stay on its stream, and it publishes ``StreamTailLost``
(:class:`shared.events.StreamTailLost`: positions and counts, never an id). A view that keeps the position of the event
that made each of its rows tells which rows a loss took: those whose event lies in the lost range, as reporting reads it
(:mod:`services.reporting.domain.losses`). Registry's OSVs in the OSV directory (:mod:`shared.views.osvdirectory`) and
funding's grants in engagement's grant directory (:mod:`services.engagement.views.grants`) are read so.

A view's table of losses is a :class:`TailLoss` on its own declarative base, one row per loss.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Integer, Label, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.errors import not_known_yet


class TailLoss:
    """A tail of a source's stream its store lost in a restore an operator accepted (the source's ``StreamTailLost``,
    told once for the programme and once per district: one row, by ``record_position``).

    Mixed into a view's mapped class (its own ``__tablename__``). The lost events lie after ``shared_position`` up to
    ``record_position``: the stream's up to ``stream_position``, and any the view read from the source's feed before the
    relay published them, up to the record.
    """

    record_position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    shared_position: Mapped[int] = mapped_column(Integer)
    stream_position: Mapped[int] = mapped_column(Integer)
    accepted_at: Mapped[str] = mapped_column(String(40))
    """When the operator accepted it, as the notice gave it (ISO 8601, UTC)."""

    @property
    def accepted_on(self) -> str:
        """The day it was accepted, ``YYYY-MM-DD`` (UTC): the day the source's 404s name."""
        return self.accepted_at[:10]

    def said(self) -> dict[str, Any]:
        """The loss as a problem's ``accepted_loss`` member gives it (the source's 404s name the same record)."""
        return {
            "accepted_at": self.accepted_at, "record_position": self.record_position,
            "shared_position": self.shared_position, "stream_position": self.stream_position,
        }

    @classmethod
    def taking(cls, position: ColumnElement[int | None]) -> Label[int | None]:
        """A column ``lost_at``: the ``record_position`` of the loss whose range holds ``position`` (a column of the row
        the statement reads, correlated), or null; null too for a null position (a row made before the view kept them)."""
        return (
            select(func.min(cls.record_position))  # an aggregate, not LIMIT 1: read_row binds only the statement's own parameters
            .where(cls.shared_position < position, position <= cls.record_position)
            .correlate_except(cls)  # the row's table, whichever it is
            .scalar_subquery()
            .label("lost_at")
        )

    @classmethod
    def keep(cls, session: Session, data: dict[str, Any]) -> None:
        """Keep a ``StreamTailLost`` notice's loss once (the programme's and each district's copy are one loss)."""
        record = int(data["record_position"])
        if session.get(cls, record) is None:
            session.add(cls(
                record_position=record, shared_position=int(data["shared_position"]),
                stream_position=int(data["stream_position"]), accepted_at=str(data["accepted_at"]),
            ))
            session.flush()

    @classmethod
    def every(cls, session: Session) -> list[Any]:
        """Every loss kept, in the order of their records (one select, on a refusal's path only)."""
        return list(session.scalars(select(cls).order_by(cls.record_position)))


def days_of(losses: Iterable[TailLoss]) -> str:
    """The days the losses were accepted, each once, in order: ``2026-05-04, 2026-06-01`` (empty for none)."""
    return ", ".join(sorted({loss.accepted_on for loss in losses}))


def not_known_after_losses(
    named: str, service: str, source: str, losses: Iterable[TailLoss], *, made: str, lost: str, never: str, again: str
) -> str:
    """The message of a 422 "not heard of yet" (:func:`shared.errors.not_known_yet`: ``named``, ``OSV <id>``, is not known
    to ``service``; ``made``, ``an OSV mapped``, a moment ago is known within seconds), saying too, once ``source`` has
    told of ``losses``, that ``source`` lost ``lost`` (``the OSVs mapped``) after its backup, that one it answers 404 for
    was lost or never ``never`` (``mapped``), and what staff do (``again``: ``map it again in registry``)."""
    days = days_of(losses)
    if not days:
        return not_known_yet(named, service, made)
    return (
        f"{named} is not known to {service}: {made} in {source} a moment ago is known within seconds (retry after "
        f"Retry-After); else check the id in {source}, which lost {lost} after the backup it was restored from (a restore "
        f"accepted on {days}, osv-restore accept-tail): one {source} answers 404 for was lost there or never {never} and "
        f"will not come; {again} and use its new id"
    )
