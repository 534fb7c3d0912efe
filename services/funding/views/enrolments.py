"""Funding's local view of engagement's enrolments: per grant, the day of the last agent of change enrolled in its project.

Engagement enrols agents of change in the project a grant funds and refuses an enrolment dated after the grant's closing
(409 ``grant_open``, from its view of funding's grants); funding refuses, the other way round, a closing dated before an
enrolment engagement published (409 ``closed_after_enrolments``, :meth:`Grant.close
<services.funding.domain.grants.Grant.close>`; tester 251 F2: such a closing was taken, and the agent counted in no
phase while engagement still showed the participation open). This is what funding knows of those enrolments, built
from engagement's ``ParticipantEnrolled`` events on NATS (subject ``osv.engagement.<municipality>.ParticipantEnrolled``,
the only events of engagement's it takes), with the events applied (see :mod:`shared.views`), in one transaction.

One row per grant: its id and the latest ``enrolled_on``. Nothing else of the event is kept (no member id, nationality,
sex or age band): the rule needs only the day. A withdrawal from the project (``ParticipantWithdrew``) does not move it:
the enrolment stays a fact, counted from its day, and a closing before it would still end that participation before it
began. The latest day wins whatever order the events arrive in. What is known here lags engagement by the time its events
take to arrive: a closing recorded meanwhile is taken (README, "A project's closing: its enrolments and
activities").
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Date, Engine, String, bindparam, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.events import parse_date
from shared.views import Ledger, View, create_tables


class Base(DeclarativeBase):
    pass


LEDGER = Ledger(Base, "project_enrolments")


class EnrolledProject(Base):
    """A grant whose project engagement enrolled someone in, and the day of the latest of those enrolments."""

    __tablename__ = "enrolled_projects"

    grant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    last_enrolled_on: Mapped[date] = mapped_column(Date)


class ProjectEnrolments(View):
    """What funding knows of the enrolments in each grant's project; :meth:`apply` is its consumer's handler."""

    name = "project-enrolments"
    sources = ("engagement",)
    # Every municipality's enrolments; nothing else of engagement's.
    subjects = {"engagement": "osv.engagement.*.ParticipantEnrolled"}

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, LEDGER, durable_prefix="funding-project-enrolments")
        create_tables(Base.metadata, engine)

    _last_enrolled_on = select(EnrolledProject.last_enrolled_on).where(
        EnrolledProject.grant_id == bindparam("grant_id")
    )

    def last_enrolled_on(self, grant_id: UUID) -> date | None:
        """The day of the latest enrolment in the grant's project engagement has published, or None while none has arrived."""
        with self.engine.connect() as connection:
            return connection.execute(self._last_enrolled_on, {"grant_id": str(UUID(str(grant_id)))}).scalar()

    def apply_event(self, session: Session, cloudevent: dict[str, Any]) -> None:
        """Move the grant's ``last_enrolled_on`` to a ``ParticipantEnrolled``'s ``enrolled_on`` if it is later."""
        data = cloudevent["data"]
        if cloudevent["type"] != "ParticipantEnrolled" or "grant_id" not in data:
            return
        grant_id, enrolled_on = str(UUID(str(data["grant_id"]))), parse_date(data["enrolled_on"])
        row = session.get(EnrolledProject, grant_id)
        if row is None:
            session.add(EnrolledProject(grant_id=grant_id, last_enrolled_on=enrolled_on))
        elif enrolled_on > row.last_enrolled_on:
            row.last_enrolled_on = enrolled_on
        session.flush()
