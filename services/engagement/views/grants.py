"""Engagement's local view of funding's grants, built from funding's events on NATS.

Members take part in funded projects as agents of change, and activities may
belong to a funded project: engagement checks both against the grants funding
has published, kept here with the events applied (see :mod:`shared.views`), in one transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Date, Engine, String
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.errors import ConflictError, DateBeforeError, NotHeardOfYetError, RuleViolationError, not_known_yet
from shared.events import parse_date
from shared.views import Ledger, View, create_tables


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


class GrantNotInFundingError(NotHeardOfYetError):
    """422 ``grant_made_in_funding``, with ``Retry-After``: funding's ``FundGranted`` has not arrived (yet, or the id is wrong)."""

    def __init__(self, grant_id: UUID) -> None:
        super().__init__(not_known_yet(f"grant {grant_id}", "engagement", "a grant made"), field="grant_id", rule="grant_made_in_funding")


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


class GrantDirectory(View):
    """What engagement knows of grants; :meth:`apply` is its consumer's handler."""

    name = "grant-directory"
    sources = ("funding",)

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, LEDGER, durable_prefix="engagement-grant-directory")
        create_tables(Base.metadata, engine)

    def get(self, grant_id: UUID) -> KnownGrant | None:
        with Session(self.engine, expire_on_commit=False) as session:
            grant = session.get(KnownGrant, str(grant_id))
            return grant if grant is not None and grant.granted_on is not None else None

    def require(self, grant_id: UUID) -> KnownGrant:
        grant = self.get(grant_id)
        if grant is None:
            raise GrantNotInFundingError(grant_id)
        return grant

    def require_open(self, grant_id: UUID, *, on: date, dated: str) -> KnownGrant:
        """The grant (:meth:`require`), if funding had not closed it before ``on``, the date of the fact about to be recorded
        (field ``dated``), else 409 ``grant_open``; and made by then, else 422 ``not_before_granted_on``. What is known here of a closing comes from funding's events: it lags
        funding by the time they take to arrive."""
        grant = self.require(grant_id)
        if grant.closed_on is not None and on > grant.closed_on:
            raise GrantClosedBeforeError(grant_id, dated, on, grant.closed_on)
        if grant.granted_on is not None and on < grant.granted_on:  # no project before its grant (tester 37d F6)
            raise DateBeforeError(dated, on, "granted_on", grant.granted_on)
        return grant

    def apply_event(self, session: Session, cloudevent: dict[str, Any]) -> None:
        data = cloudevent["data"]
        kind = cloudevent["type"]
        if kind not in ("FundGranted", "GrantClosed") or "grant_id" not in data:
            return
        grant = session.get(KnownGrant, str(data["grant_id"]))
        if grant is None:
            grant = KnownGrant(grant_id=str(data["grant_id"]))
            session.add(grant)
        if kind == "FundGranted":
            grant.osv_id, grant.kind, grant.granted_on = str(data["osv_id"]), data["kind"], parse_date(data["granted_on"])
        else:
            grant.closed_on = parse_date(data["closed_on"])
        session.flush()
