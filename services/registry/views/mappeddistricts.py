"""The districts registry's OSVs were mapped in, kept in its view database for the start-up check.

Registry places each OSV by its district, found in its table of Lima's
districts (the ``districts_file`` setting): whose focal point and partner see
it, the municipality its events go out under. It refuses to start when the
table lacks a district a stored OSV is in (:func:`shared.districts.refuse_lacking`).

Which districts those are is read from the store's ``OSVMapped`` events, one
per OSV, and kept here with how far the log was read: each start reads only
the events stored since the last (the first start on a store reads them all,
once). An OSV's district never changes, and a district is never taken off
this list: a district whose OSVs were all merged away is still theirs. The
table can always be had again from the store (``views.db`` is rebuildable).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.utils import get_topic
from sqlalchemy import BigInteger, Engine, Integer, String, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.registry.domain.osvs import OSV
from shared.inplace import views_busy_timeout
from shared.views import create_tables

BATCH = 1000
"""Events read from the log at once."""


class Base(DeclarativeBase):
    pass


class MappedDistrict(Base):
    """A district at least one stored OSV was mapped in (its name as the OSV holds it)."""

    __tablename__ = "mapped_districts"

    district: Mapped[str] = mapped_column(String(100), primary_key=True)


class MappedDistrictsRead(Base):
    """How far registry's log was read for :class:`MappedDistrict` (one row)."""

    __tablename__ = "mapped_districts_read"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger)


class MappedDistricts:
    """The districts of the OSVs in registry's store, caught up from its log at each start (:meth:`catch_up`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(Base.metadata, engine)

    def catch_up(self, registry: Any) -> list[str]:
        """Read the ``OSVMapped`` events stored since the last catch-up, keep their districts; every district kept, sorted.

        ``registry`` is the :class:`~services.registry.application.Registry` whose store is read. Two processes
        starting at once may both read the same events: each keeps what it found, and the position only moves forward.
        """
        with Session(self.engine) as session:
            read = session.scalar(select(MappedDistrictsRead.position).where(MappedDistrictsRead.id == 1)) or 0
        head = registry.log_head()
        found: set[str] = set()
        position = read
        topic = get_topic(OSV.OSVMapped)
        while position < head and (
            batch := registry.recorder.select_notifications(start=position, limit=BATCH, stop=head, topics=[topic], inclusive_of_start=False)
        ):
            found.update(registry.decode(notification).district for notification in batch)
            position = batch[-1].id
        if found or head > read:
            self._keep(found, head)
        with Session(self.engine) as session:
            return sorted(session.scalars(select(MappedDistrict.district)))

    def _keep(self, districts: set[str], position: int) -> None:
        """Add ``districts`` (those already kept stay as they are) and move the position read up to ``position``, in one transaction."""
        with Session(self.engine) as session, session.begin(), views_busy_timeout(session.connection()):
            dialect = session.get_bind().dialect.name
            upsert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}.get(dialect)
            if upsert is None:  # another database: read, then write
                kept = set(session.scalars(select(MappedDistrict.district)))
                for district in sorted(districts - kept):
                    session.execute(insert(MappedDistrict).values(district=district))
                if session.get(MappedDistrictsRead, 1) is None:
                    session.execute(insert(MappedDistrictsRead).values(id=1, position=position))
                else:
                    session.execute(update(MappedDistrictsRead).where(MappedDistrictsRead.position < position).values(position=position))
                return
            for district in sorted(districts):
                session.execute(upsert(MappedDistrict).values(district=district).on_conflict_do_nothing(index_elements=["district"]))
            statement = upsert(MappedDistrictsRead).values(id=1, position=position)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["id"], set_={"position": statement.excluded.position},
                    where=MappedDistrictsRead.position < statement.excluded.position,
                )
            )
