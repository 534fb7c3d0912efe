"""A local view of registry's OSVs, built from registry's events on NATS: funding and engagement each keep one.

Funding and engagement never read registry's tables: each keeps the few facts
it needs (its name, mapped, when, where, RUOS-registered, dissolved, merged into another) in its own
database, with the events it has applied (see :mod:`shared.views`), in one
transaction.

Each service places an OSV (its events' municipality, a caller's scope) by
its district, found in the service's own table of Lima's districts (its
``districts_file`` setting). The service refuses to start while the
directory holds an OSV of a district that table lacks (:meth:`OSVDirectory.mapped_districts`,
checked by the bootstraps); one mapped there while it runs is logged at once
as an error, reported in ``/health`` and refused to commands
(:meth:`OSVDirectory.require_active`, 503).

After ``osv-restore accept-tail`` on registry (README, "Restoring a backup"), registry's store lacks the stream's events
after the loss's ``shared_position``: an OSV whose ``OSVMapped`` was among them is not in registry any more (404 there),
though its events stay on the stream. The directory keeps registry's ``StreamTailLost`` notices (:class:`RegistryLoss`)
and the position of each OSV's ``OSVMapped`` (``mapped_position``): a command naming an OSV mapped in a lost range is
refused, 409 ``osv_lost_in_registry_restore`` (:class:`OSVLostInRegistryError`), and so is a fact on a grant already
taken for it (a tranche, a delivery: :meth:`OSVDirectory.require_not_dissolved`). A directory built from registry's feed
never applied those events: it cannot tell such an OSV from a wrong id or one mapped a moment ago (the notice names
positions, never ids), so after a notice its 422 ``osv_mapped_in_registry`` says all three
(:meth:`OSVDirectory.not_in_registry`). An OSV mapped before the lost range and changed in it (an ``RUOSRegistered``
lost) is in registry still: it stays active here, with what the directory applied of it (a directory built from the
stream holds the lost change, one built from the feed does not; staff record it again in registry).

The name came later than the other columns: a directory made before has the
column added at start (:func:`~shared.views.create_tables`), and its rows
mapped then, whose name reads null, are filled by the view's follower from
registry's feed (:meth:`OSVDirectory.refill`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Date, Engine, Integer, String, Text, bindparam, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.districts import DistrictNotInTableError, DistrictTable
from shared.driversql import read_row
from shared.errors import ConflictError, NotHeardOfYetError, OSVMergedError, check_not_dissolved_by
from shared.events import parse_date
from shared.views import Ledger, View, create_tables, position_of
from shared.views.losses import TailLoss, not_known_after_losses

log = logging.getLogger(__name__)


class Base(DeclarativeBase):
    pass


LEDGER = Ledger(Base, "osv_directory")


class OSVStanding:
    """``mapped``, ``registered`` and ``dissolved``, from ``mapped_on``, ``ruos_number`` and ``dissolved_on``."""

    __slots__ = ()
    mapped_on: date | None
    ruos_number: str | None
    dissolved_on: date | None

    @property
    def mapped(self) -> bool:
        return self.mapped_on is not None

    @property
    def registered(self) -> bool:
        return self.ruos_number is not None

    @property
    def dissolved(self) -> bool:
        return self.dissolved_on is not None


class KnownOSV(OSVStanding, Base):
    """One OSV as registry's events tell it; a row may exist before its mapping arrives (events come in any order)."""

    __tablename__ = "known_osvs"

    osv_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    district: Mapped[str | None] = mapped_column(String(100), nullable=True)
    zone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    mapped_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    ruos_number: Mapped[str | None] = mapped_column(String(50), nullable=True)
    registered_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    dissolved_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    name: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The organisation's name as ``OSVMapped`` gave it, or the latest ``OSVNameCorrected``. Added after the other columns:
    :meth:`OSVDirectory.__init__` adds it to a table made before, and a row mapped before reads null until the
    follower fills it (:meth:`OSVDirectory.refill`)."""
    mapped_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The position in registry's log of the ``OSVMapped`` applied here (a loss of registry's takes the OSV when it lies in
    the lost range). Added after the other columns: null in a row mapped before, which no loss is judged to take."""


@dataclass(frozen=True, slots=True)
class OSVDescription:
    """What a reader of a record about an OSV is shown of it (:meth:`OSVDirectory.describe`), as registry's events told it.

    ``name``, ``district`` and ``zone`` are None while the OSV's ``OSVMapped`` has not arrived (or, for ``name``, while a
    row mapped before the directory kept names waits for its fill); ``registered_in_ruos`` is None while nothing of the
    OSV has arrived; ``merged_into`` is the OSV it was merged into (registry's ``OSVMerged``), if any.
    """

    osv_id: str
    name: str | None = None
    district: str | None = None
    zone: str | None = None
    registered_in_ruos: bool | None = None
    merged_into: str | None = None


@dataclass(frozen=True, slots=True)
class ActiveOSV(OSVStanding):
    """An OSV a command may act on, as :meth:`OSVDirectory.require_active` read it: :class:`KnownOSV`'s columns, plain.

    A plain record, not a mapped instance: the ORM's instrumented constructor
    cost about a fifth of a millisecond of every grant and registration.
    """

    osv_id: str
    district: str | None
    zone: str | None
    mapped_on: date | None
    ruos_number: str | None
    registered_on: date | None
    dissolved_on: date | None


class MergedOSV(Base):
    """An OSV that was a second record of another and was merged into it (registry's ``OSVMerged``)."""

    __tablename__ = "merged_osvs"

    osv_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    into_osv_id: Mapped[str] = mapped_column(String(36))
    merged_on: Mapped[date] = mapped_column(Date)


class RegistryLoss(TailLoss, Base):
    """A tail of registry's stream its store lost in a restore an operator accepted (:class:`~shared.views.losses.TailLoss`)."""

    __tablename__ = "osv_directory_registry_losses"


class OSVNotInRegistryError(NotHeardOfYetError):
    """422 ``osv_mapped_in_registry``, with ``Retry-After``: registry's ``OSVMapped`` has not arrived (yet, or the id is wrong).

    ``losses``: registry's tails lost in restores (:class:`RegistryLoss`), when the directory holds any: the message then
    says the OSV may have been lost there too, and what staff do (:meth:`OSVDirectory.not_in_registry`).
    """

    def __init__(self, osv_id: UUID, service: str, losses: Iterable[RegistryLoss] = ()) -> None:
        message = not_known_after_losses(
            f"OSV {osv_id}", service, "registry", losses,
            made="an OSV mapped", lost="the OSVs mapped", never="mapped", again="map it again in registry",
        )
        super().__init__(message, field="osv_id", rule="osv_mapped_in_registry")


class OSVLostInRegistryError(ConflictError):
    """409 ``osv_lost_in_registry_restore``, no ``Retry-After``: registry mapped the OSV, then lost it with its stream's
    tail in a restore an operator accepted (``StreamTailLost``); registry answers 404 for it. ``extensions``:
    ``accepted_loss`` (:meth:`RegistryLoss.said`)."""

    def __init__(self, osv_id: UUID | str, loss: RegistryLoss) -> None:
        super().__init__(
            f"registry's store lost OSV {osv_id} in a restore accepted on {loss.accepted_on} (osv-restore accept-tail: "
            f"registry's events after position {loss.shared_position} up to {loss.record_position}, its mapping among them): "
            "registry answers 404 for it and nothing can be recorded for it; map the organisation again in registry and "
            "record this with its new id",
            field="osv_id",
            rule="osv_lost_in_registry_restore",
        )
        self.extensions = {"accepted_loss": loss.said()}


class OSVDirectory(View):
    """What a service knows of OSVs; :meth:`apply` is its consumer's handler.

    Each registry event sets its own columns of the OSV's row, whichever
    arrives first, so the table ends the same in any order of delivery.
    """

    name = "osv-directory"
    sources = ("registry",)

    def __init__(self, engine: Engine, service: str, districts: DistrictTable | None = None, *, shows_names: bool = False) -> None:
        """``districts``: the service's table of Lima's districts (its ``districts_file`` setting, as registry's), by
        which an OSV's district gives its municipality; the shipped table when None. ``shows_names``: the service shows
        OSVs' names (funding's proposals): only then are the names of rows mapped before the directory kept them read
        again from registry's feed (:meth:`refill_wanted`), a whole feed's read a service that shows none need not make."""
        super().__init__(engine, LEDGER, durable_prefix=f"{service}-osv-directory")
        self.service = service
        self.shows_names = shows_names
        self.districts = districts or DistrictTable.of_lima()
        self._ubigeos: dict[str, str] = {}
        self._said_lacking: set[str] = set()
        """The districts this process has logged that its table lacks (once each)."""
        self.on_merge: Callable[[UUID, UUID], None] | None = None
        """Called with a merged record's id and the OSV its merge chain now ends in, as an ``OSVMerged`` is first applied
        here, before it is (funding weighs the record's grants with that OSV's then). What it does must be idempotent: a
        batch that fails after it is applied again, and calls it again."""
        create_tables(Base.metadata, engine, columns=[KnownOSV.__table__.c.name, KnownOSV.__table__.c.mapped_position])

    _lost_at = RegistryLoss.taking(KnownOSV.mapped_position)
    """The loss of registry's that took the OSV (its ``OSVMapped`` lies in the lost range), read with its row."""
    _require_active = (
        select(*KnownOSV.__table__.columns, MergedOSV.into_osv_id, MergedOSV.merged_on, _lost_at)
        .outerjoin(MergedOSV, MergedOSV.osv_id == KnownOSV.osv_id)
        .where(KnownOSV.osv_id == bindparam("osv_id"))
    )

    def get(self, osv_id: UUID) -> KnownOSV | None:
        with Session(self.engine, expire_on_commit=False) as session:
            osv = session.get(KnownOSV, str(osv_id))
            return osv if osv is not None and osv.mapped else None

    _described = select(
        KnownOSV.osv_id, KnownOSV.name, KnownOSV.district, KnownOSV.zone, KnownOSV.mapped_on, KnownOSV.ruos_number,
    )
    _merged = select(MergedOSV.osv_id, MergedOSV.into_osv_id)

    def describe(self, osv_ids: Iterable[UUID | str]) -> dict[str, OSVDescription]:
        """Each OSV's :class:`OSVDescription`, by its id as text: one for every id given, empty while nothing of it has
        arrived (never an error). Two selects for any number of ids (a page of proposals)."""
        wanted = sorted({str(UUID(str(osv_id))) for osv_id in osv_ids})
        if not wanted:
            return {}
        with self.engine.connect() as connection:
            known = {row.osv_id: row for row in connection.execute(self._described.where(KnownOSV.osv_id.in_(wanted)))}
            merged = {row.osv_id: row.into_osv_id for row in connection.execute(self._merged.where(MergedOSV.osv_id.in_(wanted)))}
        described: dict[str, OSVDescription] = {}
        for osv_id in wanted:
            row = known.get(osv_id)
            if row is None:
                described[osv_id] = OSVDescription(osv_id, merged_into=merged.get(osv_id))
                continue
            mapped = row.mapped_on is not None
            described[osv_id] = OSVDescription(
                osv_id,
                name=row.name if mapped else None,
                district=row.district if mapped else None,
                zone=row.zone if mapped else None,
                registered_in_ruos=row.ruos_number is not None,
                merged_into=merged.get(osv_id),
            )
        return described

    _district_of = select(KnownOSV.district, KnownOSV.mapped_on).where(KnownOSV.osv_id == bindparam("osv_id"))

    def ubigeo_of(self, osv_id: UUID | str) -> str | None:
        """The ubigeo of the OSV's district (its municipality), or None while its mapping has not arrived.

        One select of two columns on the driver's cursor (:func:`~shared.driversql.read_row`): the relay asks it of every
        event it publishes, in the process that answers the commands (a third of the relay's time through
        ``Connection.execute``).
        """
        row = read_row(self.engine, self._district_of, {"osv_id": str(UUID(str(osv_id)))})
        return self.district_ubigeo(row.district) if row is not None and row.mapped_on is not None else None

    def district_ubigeo(self, district: str | None) -> str | None:
        if district is None:
            return None
        found = self._ubigeos.get(district)
        if found is None:
            recorded = self.districts.recorded(district)
            if recorded is None:
                return None
            found = self._ubigeos[district] = recorded.ubigeo  # the district table is fixed for the process's life
        return found

    _mapped_districts = select(KnownOSV.district).where(KnownOSV.mapped_on.is_not(None), KnownOSV.district.is_not(None)).distinct()

    def mapped_districts(self) -> list[str]:
        """Every district an OSV known here was mapped in, each once: one ``SELECT DISTINCT`` over the directory's
        rows (one per OSV), for the start-up check and ``/health``."""
        with self.engine.connect() as connection:
            return [district for (district,) in connection.execute(self._mapped_districts)]

    def districts_lacking(self) -> list[str]:
        """The districts of OSVs known here that the service's table lacks: it cannot name their municipality."""
        return self.districts.lacking(self.mapped_districts())

    def _say_lacking(self, osv_id: str, district: str) -> None:
        """Log, once per district in this process, that an OSV was mapped in a district the service's table lacks."""
        if district in self._said_lacking:
            return
        self._said_lacking.add(district)
        log.error(
            "%s: registry mapped OSV %s in the district '%s', which this service's districts table, %s, lacks: it cannot name "
            "the municipality of that OSV's events (the partners' NATS subject) and refuses commands about it (503) until "
            "%s names the districts file registry has and the service is restarted",
            self.service, osv_id, district, self.districts.described(), self.districts.setting or "the districts_file setting",
        )

    def active(self) -> list[KnownOSV]:
        """Every OSV known here that is neither dissolved nor merged into another (a row whose mapping has not arrived included)."""
        with Session(self.engine, expire_on_commit=False) as session:
            merged = select(MergedOSV.osv_id)
            return list(session.scalars(select(KnownOSV).where(KnownOSV.dissolved_on.is_(None), KnownOSV.osv_id.not_in(merged))))

    def known_ids(self) -> list[UUID]:
        """Every OSV known here, mapped or not, dissolved and merged ones too: one select of the ids (a row per OSV)."""
        with self.engine.connect() as connection:
            return [UUID(osv_id) for (osv_id,) in connection.execute(select(KnownOSV.osv_id).order_by(KnownOSV.osv_id))]

    def merged_into(self, osv_id: UUID) -> MergedOSV | None:
        """Where the OSV was merged, if it was a second record of another."""
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(MergedOSV, str(osv_id))

    def require_active(self, osv_id: UUID, *, on: date, dated: str) -> ActiveOSV:
        """The OSV, if it is mapped, not lost in a restore of registry's, not merged into another and not dissolved before
        ``on``; else the named error (422 :meth:`not_in_registry`, 409 :class:`OSVLostInRegistryError`, 409, 409); and in a district the service's table knows, else :class:`~shared.districts.DistrictNotInTableError` (503, with
        ``Retry-After``: the service cannot name the municipality of the fact's event until an operator fixes its setting).

        ``on`` is the date of the fact about to be recorded, ``dated`` its field
        (``granted_on``, ``held_on``…). A fact dated after the OSV's
        ``dissolved_on`` is refused (409 ``osv_not_dissolved``, naming both
        dates); one dated on or before it is taken: a dissolved OSV's backlog,
        typed in from paper later. What is known here of a dissolution comes
        from registry's events: it lags registry by the time they take to arrive.
        """
        row = read_row(self.engine, self._require_active, {"osv_id": str(osv_id)})  # the driver's cursor: on every command's path
        if row is None or row.mapped_on is None:
            raise self.not_in_registry(osv_id)
        self._refuse_if_lost(osv_id, row.lost_at)
        if row.into_osv_id:
            raise OSVMergedError(row.into_osv_id, row.merged_on, now_in=self._last_of_merges(row.into_osv_id))
        check_not_dissolved_by(row.dissolved_on, on, dated)
        if row.district is not None and self.district_ubigeo(row.district) is None:
            self._say_lacking(row.osv_id, row.district)
            raise DistrictNotInTableError(self.service, self.districts, osv_id, row.district)
        return ActiveOSV(row.osv_id, row.district, row.zone, row.mapped_on, row.ruos_number, row.registered_on, row.dissolved_on)

    def _refuse_if_lost(self, osv_id: UUID, lost_at: int | None) -> None:
        """409 :class:`OSVLostInRegistryError` when a loss of registry's took the OSV (``lost_at``, its record's position)."""
        if lost_at is not None:
            with Session(self.engine) as session:
                raise OSVLostInRegistryError(osv_id, session.get_one(RegistryLoss, lost_at))

    def not_in_registry(self, osv_id: UUID) -> OSVNotInRegistryError:
        """The 422 of an OSV whose ``OSVMapped`` has not been applied here, saying, once registry has told of a loss in a
        restore (``StreamTailLost``), that it may have been lost there: the notice names positions, not ids, and a
        directory built from registry's feed never saw the lost events (one built from the stream refuses such an OSV
        with :class:`OSVLostInRegistryError`). It keeps ``Retry-After``: an OSV mapped a moment ago is told apart from
        neither here. One select of the losses, on the refusal's path only."""
        with Session(self.engine) as session:
            return OSVNotInRegistryError(osv_id, self.service, RegistryLoss.every(session))

    _dissolved_on = select(KnownOSV.dissolved_on).where(KnownOSV.osv_id == bindparam("osv_id"))
    _lost_of = select(KnownOSV.osv_id, _lost_at).where(KnownOSV.osv_id == bindparam("osv_id"))
    _into = select(MergedOSV.into_osv_id).where(MergedOSV.osv_id == bindparam("osv_id"))

    def now_in(self, osv_id: UUID) -> UUID:
        """The OSV ``osv_id``'s records belong to now: the one its chain of merges ends in (``osv_id`` itself when it was
        never merged into another)."""
        return UUID(self._last_of_merges(str(osv_id)))

    def _last_of_merges(self, osv_id: str) -> str:
        """The OSV a merge chain starting at ``osv_id`` ends in (``osv_id`` itself when it was not merged): the one records go to."""
        seen = {osv_id}
        while (row := read_row(self.engine, self._into, {"osv_id": osv_id})) is not None and row.into_osv_id not in seen:
            osv_id = row.into_osv_id  # a merge never loops; the set makes sure
            seen.add(osv_id)
        return osv_id

    @staticmethod
    def _last_merged_into(session: Session, osv_id: str) -> str:
        """:meth:`_last_of_merges` within a batch's session (which sees the merges the batch applied before)."""
        seen = {osv_id}
        while (merged := session.get(MergedOSV, osv_id)) is not None and merged.into_osv_id not in seen:
            osv_id = merged.into_osv_id
            seen.add(osv_id)
        return osv_id

    def require_not_dissolved(self, osv_id: UUID, *, on: date, dated: str) -> None:
        """409 ``osv_not_dissolved`` if the OSV was dissolved before ``on`` (the fact's date, field ``dated``); 409
        :class:`OSVLostInRegistryError` (``osv_lost_in_registry_restore``, field ``osv_id``) if registry lost it in a
        restore it accepted (its ``OSVMapped`` in a lost tail: registry answers 404 for it).

        For a fact on what the OSV already holds (a grant's tranche or goods
        delivery): only the dissolution and the loss are checked. An OSV merged into another
        is the same organisation, its grants go on until the one it was merged
        into (followed to the last, as merges chain) dissolves; one not known
        here (its events not arrived yet) is not known to be dissolved.
        A loss is judged of the OSV named only: one merged into an OSV registry lost is in registry still (the merge,
        after that OSV's mapping, was lost with it).
        """
        seen: set[str] = set()
        current: str | None = str(osv_id)
        with self.engine.connect() as connection:
            found = connection.execute(self._lost_of, {"osv_id": current}).first()
            self._refuse_if_lost(osv_id, found.lost_at if found is not None else None)
            while current is not None and current not in seen:  # a merge never loops; the set makes sure
                seen.add(current)
                check_not_dissolved_by(connection.execute(self._dissolved_on, {"osv_id": current}).scalar(), on, dated)
                current = connection.execute(self._into, {"osv_id": current}).scalar()

    _lacking_names = select(KnownOSV.osv_id).where(KnownOSV.mapped_on.is_not(None), KnownOSV.name.is_(None)).limit(1)

    def refill_wanted(self, source: str) -> bool:
        """Whether an OSV mapped here lacks its name (its ``OSVMapped`` was applied before the directory kept names), in a
        service that shows names (``shows_names``)."""
        if not self.shows_names:
            return False
        with self.engine.connect() as connection:
            return connection.execute(self._lacking_names).first() is not None

    def refill(self, events: list[dict[str, Any]]) -> int:
        """Give each OSV mapped before the directory kept names the name its ``OSVMapped`` carried; return how many."""
        names = [
            {"id": str(e["data"]["osv_id"]), "given": e["data"]["name"]}
            for e in events
            if e.get("type") == "OSVMapped" and e["data"].get("name") and e["data"].get("osv_id")
        ]
        if not names:
            return 0
        fill = (
            update(KnownOSV)
            .where(KnownOSV.osv_id == bindparam("id"), KnownOSV.name.is_(None))
            .values(name=bindparam("given"))
            .execution_options(synchronize_session=False)
        )
        with self.engine.begin() as connection:
            return sum(connection.execute(fill, row).rowcount for row in names)  # one OSV a row: a count each driver gives

    def apply_event(self, session: Session, cloudevent: dict[str, Any]) -> None:
        data = cloudevent["data"]
        kind = cloudevent["type"]
        if kind == "StreamTailLost":
            RegistryLoss.keep(session, data)
            return
        taken = ("OSVMapped", "OSVNameCorrected", "OSVMappingDateCorrected", "RUOSRegistered", "RUOSRegistrationCorrected", "OSVDissolved",
                 "OSVMerged")
        if kind not in taken or "osv_id" not in data:
            return
        osv_id = str(data["osv_id"])
        if kind == "OSVMerged":
            if session.get(MergedOSV, osv_id) is None:
                if self.on_merge is not None:
                    self.on_merge(UUID(osv_id), UUID(self._last_merged_into(session, str(data["into_osv_id"]))))
                session.add(MergedOSV(osv_id=osv_id, into_osv_id=str(data["into_osv_id"]), merged_on=parse_date(data["merged_on"])))
                session.flush()
            return
        osv = session.get(KnownOSV, osv_id)
        if osv is None:
            osv = KnownOSV(osv_id=osv_id)
            session.add(osv)
        if kind == "OSVMapped":
            osv.district, osv.zone, osv.mapped_on = data["district"], data["zone"], parse_date(data["mapped_on"])
            osv.name = data.get("name")  # every OSVMapped carries it; a hand-built one in an older test may not
            osv.mapped_position = position_of(cloudevent)
            if self.district_ubigeo(osv.district) is None:  # said at once, not when the relay meets its first event
                self._say_lacking(osv_id, osv.district)
        elif kind == "OSVNameCorrected":  # after its OSVMapped, in the stream's order
            osv.name = data["name"]
        elif kind == "OSVMappingDateCorrected":  # likewise: nothing of the OSV is dated before it from now on
            osv.mapped_on = parse_date(data["mapped_on"])
        elif kind in ("RUOSRegistered", "RUOSRegistrationCorrected"):  # a correction: the registration as it reads now
            osv.ruos_number = data["ruos_number"]
            osv.registered_on = parse_date(data["registered_on"])
        elif kind == "OSVDissolved":
            osv.dissolved_on = parse_date(data["dissolved_on"])
        session.flush()
