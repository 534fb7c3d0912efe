"""Funding's local view of engagement's activities: per grant, the day of the latest activity of its project not withdrawn.

Engagement takes no activity naming a grant held after the grant's closing (409 ``grant_open`` on ``held_on``, from its
view of funding's grants); funding refuses, the other way round, a closing dated before an activity of the project
engagement holds (409 ``closed_after_activities``, :meth:`Grant.close <services.funding.domain.grants.Grant.close>`; such
a closing was taken, and the platform ended in a state its own commands forbid). This is what funding knows of those
activities, built from engagement's events on NATS, with the events applied (see :mod:`shared.views`), each in one
transaction:

- :class:`ProjectActivities` takes ``ActivityReported`` (subject ``osv.engagement.<municipality>.ActivityReported``) and
  keeps a row per activity that names a grant: the activity's id, the grant's id and ``held_on``. Nothing else of the
  event (no participant's pseudonymous id, no count, district or description): the rule needs only the day.
- :class:`ActivityWithdrawals` takes ``ActivityWithdrawn`` (subject ``osv.engagement.<municipality>.ActivityWithdrawn``),
  which names no grant, and keeps the withdrawn activity's id, dropping its row if it is there. An activity withdrawn as
  reported by mistake no longer bounds the closing (an enrolment, withdrawn or not, still does: it stays a fact).

A view's consumer filters one subject, so the two event types come by two views, each with its own durable consumer and
ledger; each takes only the events it needs. They share one database, and :meth:`ProjectActivities.last_held_on` reads
the rows whose activity no withdrawal names: the answer is the same whatever order the two kinds of events arrive in, or
twice (a withdrawal before its report leaves no row standing: the report finds the withdrawn id and keeps none).

New views and tables beside :mod:`~services.funding.views.enrolments`: a funding that ran before them reads engagement's
activities from the start, by their new durable consumers and feed (``GET /events``), at its next start. What is known
here lags engagement by the time its events take to arrive: a closing recorded meanwhile is taken (README, "A project's
closing: its enrolments and activities").
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Date, Engine, String, bindparam, delete, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.events import parse_date
from shared.views import Ledger, View, create_tables


class Base(DeclarativeBase):
    """The rows both views write and :meth:`ProjectActivities.last_held_on` reads."""


class ReportedLedgerBase(DeclarativeBase):
    """:class:`ProjectActivities`'s ledger (one ledger a declarative base: its classes' names are the same in each)."""


class WithdrawnLedgerBase(DeclarativeBase):
    """:class:`ActivityWithdrawals`'s ledger."""


REPORTED_LEDGER = Ledger(ReportedLedgerBase, "project_activities")
WITHDRAWN_LEDGER = Ledger(WithdrawnLedgerBase, "activity_withdrawals")


class ProjectActivity(Base):
    """An activity engagement holds in a grant's project: its id, the grant's and the day it was held."""

    __tablename__ = "project_activities"

    activity_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(36), index=True)
    held_on: Mapped[date] = mapped_column(Date)


class WithdrawnActivity(Base):
    """An activity engagement withdrew (of a project or not: its withdrawal does not say): its id alone."""

    __tablename__ = "withdrawn_activities"

    activity_id: Mapped[str] = mapped_column(String(36), primary_key=True)


def _uuid_text(value: object) -> str:
    return str(UUID(str(value)))


class ActivityWithdrawals(View):
    """The activities engagement withdrew; :meth:`apply` is its consumer's handler (read by :class:`ProjectActivities`)."""

    name = "activity-withdrawals"
    sources = ("engagement",)
    # Every municipality's withdrawals of activities; nothing else of engagement's.
    subjects = {"engagement": "osv.engagement.*.ActivityWithdrawn"}

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, WITHDRAWN_LEDGER, durable_prefix="funding-activity-withdrawals")
        create_tables(Base.metadata, engine)
        create_tables(WithdrawnLedgerBase.metadata, engine)

    def apply_event(self, session: Session, cloudevent: dict[str, Any]) -> None:
        """Keep an ``ActivityWithdrawn``'s activity id, and drop the activity's row if its report came first."""
        if cloudevent["type"] != "ActivityWithdrawn" or "activity_id" not in cloudevent["data"]:
            return
        activity_id = _uuid_text(cloudevent["data"]["activity_id"])
        if session.get(WithdrawnActivity, activity_id) is None:
            session.add(WithdrawnActivity(activity_id=activity_id))
        session.execute(delete(ProjectActivity).where(ProjectActivity.activity_id == activity_id))
        session.flush()


class ProjectActivities(View):
    """What funding knows of the activities of each grant's project; :meth:`apply` is its consumer's handler.

    ``withdrawals``: the companion view of ``ActivityWithdrawn`` on the same database, to be followed beside this one.
    """

    name = "project-activities"
    sources = ("engagement",)
    # Every municipality's activities; nothing else of engagement's.
    subjects = {"engagement": "osv.engagement.*.ActivityReported"}

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, REPORTED_LEDGER, durable_prefix="funding-project-activities")
        create_tables(Base.metadata, engine)
        create_tables(ReportedLedgerBase.metadata, engine)
        self.withdrawals = ActivityWithdrawals(engine)

    _last_held_on = select(func.max(ProjectActivity.held_on)).where(
        ProjectActivity.grant_id == bindparam("grant_id"),
        ProjectActivity.activity_id.not_in(select(WithdrawnActivity.activity_id)),
    )

    def last_held_on(self, grant_id: UUID) -> date | None:
        """The day of the latest activity of the grant's project engagement holds and has not withdrawn, as far as its
        events have arrived; None when none has."""
        with self.engine.connect() as connection:
            return connection.execute(self._last_held_on, {"grant_id": _uuid_text(grant_id)}).scalar()

    def apply_event(self, session: Session, cloudevent: dict[str, Any]) -> None:
        """Keep an ``ActivityReported`` that names a grant (its activity id, grant id and ``held_on``), unless the activity
        was withdrawn already."""
        data = cloudevent["data"]
        if cloudevent["type"] != "ActivityReported" or not data.get("grant_id"):
            return
        activity_id = _uuid_text(data["activity_id"])
        if (
            session.get(ProjectActivity, activity_id) is not None
            or session.get(WithdrawnActivity, activity_id) is not None
        ):
            return
        session.add(
            ProjectActivity(
                activity_id=activity_id, grant_id=_uuid_text(data["grant_id"]), held_on=parse_date(data["held_on"])
            )
        )
        session.flush()
