"""Engagement's local view of funding's grants, built from funding's events on NATS.

Members take part in funded projects as agents of change, and activities may
belong to a funded project: engagement checks both against the grants funding
has published, kept here with the events applied (see :mod:`shared.views`), in one transaction.

A grant funding withdrew as entered in error (``GrantWithdrawn``) takes no new
record here (409 ``grant_not_withdrawn``); what was recorded on it before the
withdrawal arrived stays as recorded. The withdrawal's day came later than the
other columns: a directory made before has the column added at start
(:func:`~shared.views.create_tables`), and the withdrawals it applied then
without keeping them (an engagement of the version before) are read again once
from funding's feed (:meth:`GrantDirectory.refill`).

After ``osv-restore accept-tail`` on funding (README, "Restoring a backup"), funding's store lacks the stream's events
after the loss's ``shared_position``: a grant whose ``FundGranted`` was among them is 404 in funding, which can record
nothing more of it (no closing), though its events stay on the stream. The directory keeps funding's ``StreamTailLost``
notices (:class:`FundingLoss`) and the position of each grant's ``FundGranted`` (``granted_position``): a command naming
a grant made in a lost range is refused, 409 ``grant_lost_in_funding_restore`` (:class:`GrantLostInFundingError`). A
directory built from funding's feed never applied those events: it cannot tell such a grant from a wrong id or one made
a moment ago (the notice names positions, never ids), so after a notice its 422 ``grant_made_in_funding`` says all three
(:meth:`GrantDirectory.not_in_funding`). What was recorded on such a grant before the notice arrived stays as recorded.
The OSV directory reads registry's losses the same way (:mod:`shared.views.osvdirectory`, :mod:`shared.views.losses`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Date, Engine, Integer, String, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.errors import ConflictError, DateBeforeError, NotHeardOfYetError, RuleViolationError
from shared.events import parse_date
from shared.views import Ledger, View, create_tables, position_of
from shared.views.losses import TailLoss, not_known_after_losses


class Base(DeclarativeBase):
    pass


LEDGER = Ledger(Base, "grant_directory")


class KnownGrant(Base):
    """One grant as funding's events tell it; a closing may arrive before its grant (events come in any order)."""

    __tablename__ = "known_grants"

    grant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    osv_id: Mapped[str | None] = mapped_column(String(36), index=True, nullable=True)
    kind: Mapped[str | None] = mapped_column(String(30), nullable=True)
    granted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    withdrawn_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    """The day funding withdrew the grant as entered in error (``GrantWithdrawn``), or None. Added after the other
    columns: :meth:`GrantDirectory.__init__` adds it to a table made before (null in its rows until the follower reads
    funding's feed again, :meth:`GrantDirectory.refill`)."""
    granted_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The position in funding's log of the ``FundGranted`` applied here (a loss of funding's takes the grant when it lies
    in the lost range). Added after the other columns: null in a row made before, which no loss is judged to take."""


class FundingLoss(TailLoss, Base):
    """A tail of funding's stream its store lost in a restore an operator accepted (:class:`~shared.views.losses.TailLoss`)."""

    __tablename__ = "grant_directory_funding_losses"


class Refilled(Base):
    """The columns added since a directory was made whose values its rows have been given from funding's feed: a refill is
    read once per directory, not at each start (:meth:`GrantDirectory.refill_wanted`)."""

    __tablename__ = "grant_directory_refills"

    column: Mapped[str] = mapped_column(String(50), primary_key=True)


class GrantNotInFundingError(NotHeardOfYetError):
    """422 ``grant_made_in_funding``, with ``Retry-After``: funding's ``FundGranted`` has not arrived (yet, or the id is wrong).

    ``losses``: funding's tails lost in restores (:class:`FundingLoss`), when the directory holds any: the message then
    says the grant may have been lost there too, and what staff do (:meth:`GrantDirectory.not_in_funding`).
    """

    def __init__(self, grant_id: UUID, losses: Iterable[FundingLoss] = ()) -> None:
        message = not_known_after_losses(
            f"grant {grant_id}", "engagement", "funding", losses,
            made="a grant made", lost="the grants made", never="made", again="record the grant again in funding",
        )
        super().__init__(message, field="grant_id", rule="grant_made_in_funding")


class GrantLostInFundingError(ConflictError):
    """409 ``grant_lost_in_funding_restore``, no ``Retry-After``: funding made the grant, then lost it with its stream's
    tail in a restore an operator accepted (``StreamTailLost``); funding answers 404 for it and records nothing more of
    it (no closing). ``extensions``: ``accepted_loss`` (:meth:`~shared.views.losses.TailLoss.said`)."""

    def __init__(self, grant_id: UUID | str, loss: FundingLoss) -> None:
        super().__init__(
            f"funding's store lost grant {grant_id} in a restore accepted on {loss.accepted_on} (osv-restore accept-tail: "
            f"funding's events after position {loss.shared_position} up to {loss.record_position}, the grant among them): "
            "funding answers 404 for it and can record nothing more of it, its closing included, so its project takes no "
            "new enrolment or activity; record the grant again in funding and record this with its new id (what was "
            "recorded on it before stays as recorded)",
            field="grant_id",
            rule="grant_lost_in_funding_restore",
        )
        self.extensions = {"accepted_loss": loss.said()}


class NotAProjectError(RuleViolationError):
    def __init__(self, grant_id: UUID) -> None:
        super().__init__(
            f"grant {grant_id} gives goods to the OSV: agents of change take part in a project the programme funds with seed "
            "funds (goods support the OSV, and count in OSVs supported and goods delivered, not as a project)",
            field="grant_id",
            rule="seed_funded_project",
        )


class GrantClosedBeforeError(ConflictError):
    """409 ``grant_open``: a fact of a grant's project dated after funding closed the grant."""

    def __init__(self, grant_id: UUID, dated: str, on: date, closed_on: date) -> None:
        super().__init__(
            f"{dated} {on.isoformat()} is after grant {grant_id} was closed on {closed_on.isoformat()}: its project takes no "
            "records dated after its closing (one dated on or before it, typed in late, is taken)",
            field=dated,
            rule="grant_open",
        )


class GrantWithdrawnError(ConflictError):
    """409 ``grant_not_withdrawn``: funding withdrew the grant as entered in error; it takes no new record here, whatever its date."""

    def __init__(self, grant_id: UUID, withdrawn_on: date) -> None:
        super().__init__(
            f"grant {grant_id} was withdrawn in funding on {withdrawn_on.isoformat()} as entered in error: its project takes "
            "no new enrolment or activity. What was recorded on it before stays as recorded (activities that were held "
            "stay; agents of change enrolled only on it no longer count in reporting): record them on the grant made in "
            "its place, if any",
            field="grant_id",
            rule="grant_not_withdrawn",
        )


class GrantDirectory(View):
    """What engagement knows of grants; :meth:`apply` is its consumer's handler."""

    name = "grant-directory"
    sources = ("funding",)

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, LEDGER, durable_prefix="engagement-grant-directory")
        create_tables(Base.metadata, engine, columns=[KnownGrant.__table__.c.withdrawn_on, KnownGrant.__table__.c.granted_position])

    def get(self, grant_id: UUID) -> KnownGrant | None:
        with Session(self.engine, expire_on_commit=False) as session:
            grant = session.get(KnownGrant, str(grant_id))
            return grant if grant is not None and grant.granted_on is not None else None

    _with_loss = select(KnownGrant, FundingLoss.taking(KnownGrant.granted_position)).where(KnownGrant.grant_id == bindparam("grant_id"))
    """The grant's row and the loss of funding's that took it (its ``FundGranted`` in the lost range), if any."""

    def require(self, grant_id: UUID) -> KnownGrant:
        """The grant, known here, not lost in a restore of funding's and not withdrawn: 422 ``grant_made_in_funding`` (with
        ``Retry-After``, :meth:`not_in_funding`) for one whose ``FundGranted`` has not arrived, 409
        ``grant_lost_in_funding_restore`` (:class:`GrantLostInFundingError`) for one funding lost with its stream's tail,
        409 ``grant_not_withdrawn`` for one funding withdrew as entered in error."""
        with Session(self.engine, expire_on_commit=False) as session:
            found = session.execute(self._with_loss, {"grant_id": str(grant_id)}).first()
            grant, lost_at = found if found is not None else (None, None)
            if grant is None or grant.granted_on is None:
                raise self.not_in_funding(grant_id)
            if lost_at is not None:
                raise GrantLostInFundingError(grant_id, session.get_one(FundingLoss, lost_at))
        if grant.withdrawn_on is not None:
            raise GrantWithdrawnError(grant_id, grant.withdrawn_on)
        return grant

    def not_in_funding(self, grant_id: UUID) -> GrantNotInFundingError:
        """The 422 of a grant whose ``FundGranted`` has not been applied here, saying, once funding has told of a loss in a
        restore (``StreamTailLost``), that it may have been lost there: the notice names positions, not ids, and a
        directory built from funding's feed never saw the lost events (one built from the stream refuses such a grant
        with :class:`GrantLostInFundingError`). It keeps ``Retry-After``: a grant made a moment ago is told apart from
        neither here. One select of the losses, on the refusal's path only."""
        with Session(self.engine) as session:
            return GrantNotInFundingError(grant_id, FundingLoss.every(session))

    def require_open(self, grant_id: UUID, *, on: date, dated: str) -> KnownGrant:
        """The grant (:meth:`require`: known, not lost, not withdrawn), if funding had not closed it before ``on``, the date of the fact
        about to be recorded (field ``dated``), else 409 ``grant_open``; and made by then, else 422 ``not_before_granted_on``.
        What is known here of a closing or a withdrawal comes from funding's events: it lags funding by the time they take
        to arrive (a record taken meanwhile stays, as one recorded before the withdrawal)."""
        grant = self.require(grant_id)
        if grant.closed_on is not None and on > grant.closed_on:
            raise GrantClosedBeforeError(grant_id, dated, on, grant.closed_on)
        if grant.granted_on is not None and on < grant.granted_on:  # no project before its grant (tester 37d F6)
            raise DateBeforeError(dated, on, "granted_on", grant.granted_on)
        return grant

    def apply_event(self, session: Session, cloudevent: dict[str, Any]) -> None:
        """Set the grant's columns an event of funding's says (``FundGranted``, ``GrantClosed``, ``GrantWithdrawn``), whichever
        arrives first: the row ends the same in any order of delivery. A withdrawal repeats what its ``FundGranted`` said,
        and fills the row when it comes first (the position is ``FundGranted``'s only). Funding's ``StreamTailLost`` is kept
        once (:class:`FundingLoss`)."""
        data = cloudevent["data"]
        kind = cloudevent["type"]
        if kind == "StreamTailLost":
            FundingLoss.keep(session, data)
            return
        if kind not in ("FundGranted", "GrantClosed", "GrantWithdrawn") or "grant_id" not in data:
            return
        grant = session.get(KnownGrant, str(data["grant_id"]))
        if grant is None:
            grant = KnownGrant(grant_id=str(data["grant_id"]))
            session.add(grant)
        if kind == "FundGranted" or (kind == "GrantWithdrawn" and grant.granted_on is None):
            grant.osv_id, grant.kind, grant.granted_on = str(data["osv_id"]), data["kind"], parse_date(data["granted_on"])
        if kind == "FundGranted":
            grant.granted_position = position_of(cloudevent)
        if kind == "GrantClosed":
            grant.closed_on = parse_date(data["closed_on"])
        elif kind == "GrantWithdrawn":
            grant.withdrawn_on = parse_date(data["withdrawn_on"])
        session.flush()

    # A directory made before it kept withdrawals ------------------------------------------------

    _refilled = select(Refilled.column).where(Refilled.column == "withdrawn_on")

    def refill_wanted(self, source: str) -> bool:
        """Whether funding's feed is to be read again for the withdrawals this directory applied before it kept them: once,
        for a directory that had applied events of funding's then (one that applied none has nothing to fill, and is
        marked so at once)."""
        with Session(self.engine) as session:
            if session.execute(self._refilled).first() is not None:
                return False
            applied = self.ledger.highest(session, source)
        if applied == 0:  # nothing applied yet: every withdrawal to come is kept as it arrives
            self.refilled(source)
            return False
        return True

    def refill(self, events: list[dict[str, Any]]) -> int:
        """Give each grant its withdrawal day from the ``GrantWithdrawn`` events among ``events`` (funding's feed, read
        again), where its row holds none; return how many rows were filled."""
        withdrawn = [
            {"id": str(e["data"]["grant_id"]), "on": parse_date(e["data"]["withdrawn_on"])}
            for e in events
            if e.get("type") == "GrantWithdrawn" and e["data"].get("grant_id") and e["data"].get("withdrawn_on")
        ]
        if not withdrawn:
            return 0
        fill = (
            update(KnownGrant)
            .where(KnownGrant.grant_id == bindparam("id"), KnownGrant.withdrawn_on.is_(None))
            .values(withdrawn_on=bindparam("on"))
            .execution_options(synchronize_session=False)
        )
        with self.engine.begin() as connection:
            return sum(connection.execute(fill, row).rowcount for row in withdrawn)

    def refilled(self, source: str) -> None:
        """Funding's feed was read whole and given to :meth:`refill` (or there was nothing to fill): it is not read again.
        Two replicas marking it at once: the second finds it marked."""
        try:
            with Session(self.engine) as session, session.begin():
                if session.execute(self._refilled).first() is None:
                    session.add(Refilled(column="withdrawn_on"))
        except IntegrityError:
            pass
