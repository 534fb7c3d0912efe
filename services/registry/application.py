"""Registry: the application every entry point goes through. Each command loads, calls the aggregate, saves."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from services.registry.agreements import SEALED_FIELDS as AGREEMENTS_SEALED_FIELDS
from services.registry.agreements import MunicipalAgreements
from services.registry.corrections import OSVCorrections
from services.registry.decreeddays import SEALED_FIELDS as CALENDAR_SEALED_FIELDS
from services.registry.decreeddays import DecreedDaysRecords, shipped_non_working_days
from services.registry.districtlookups import DistrictLookups
from services.registry.domain.details import Composition, ContactChannel, DissolutionReason, OSVKind
from services.registry.domain.duplicates import DistrictRoll, check_name
from services.registry.domain.municipalities import (
    Municipality,
    MunicipalityNotFoundError,
    MunicipalityRecord,
    municipality_uuid,
)
from services.registry.domain.osvs import OSV, OSVNotFoundError, OSVToMergeNotFoundError
from services.registry.domain.readiness import DocumentTally, Readiness, assess, unaccepted_counts
from services.registry.domain.ruos import (
    ApplicationStatus,
    NotRegisteredError,
    RejectionReason,
    RUOSApplication,
    RUOSDocument,
    check_recorded_for,
    registering_municipality,
)
from services.registry.domain.workingdays import (
    WorkingCalendar,
)
from services.registry.history import SEALED_FIELDS as HISTORY_SEALED_FIELDS
from services.registry.history import MunicipalityHistory, OSVHistory
from services.registry.ruosnumbers import RUOSNumberClaims
from services.registry.ruoswithdrawals import RUOSStepWithdrawals
from services.registry.views.documentcounts import DocumentCounts
from services.registry.views.mappeddistricts import MappedDistricts
from shared import dryrun
from shared.clock import Clock, today_in_lima
from shared.districts import DistrictNotInTableError, DistrictTable
from shared.idempotency import AnswerBook
from shared.municipalities import MML_ID, MunicipalityTable, UnknownMunicipalityError
from shared.preconditions import check_version
from shared.roles import ALL_LIMA, ANY_RECORDER, MunicipalScope, RecordingScope
from shared.sealing import KeyRing
from shared.store import ServiceApplication, retried_on_collision

log = logging.getLogger(__name__)

DEFAULT_AMENDMENT_WORKING_DAYS = 5

SEALED_FIELDS = {**HISTORY_SEALED_FIELDS, **AGREEMENTS_SEALED_FIELDS, **CALENDAR_SEALED_FIELDS}
"""Staff's words in registry's events: an OSV's history's notes and details, an agreement's commitments, why a día no
laborable was revoked."""


class RUOSFilter(StrEnum):
    """How ``GET /osvs`` narrows the list by RUOS progress."""

    REGISTERED = "registered"
    UNREGISTERED = "unregistered"
    APPLYING = "applying"
    OBSERVED = "observed"
    EXPIRING = "expiring"


class Registry(
    DistrictLookups, DecreedDaysRecords, OSVCorrections, RUOSStepWithdrawals, RUOSNumberClaims, OSVHistory, MunicipalityHistory,
    MunicipalAgreements, ServiceApplication,
):
    """Maps OSVs, follows them through municipal registration (RUOS), and keeps what it knows of municipalities."""

    name = "registry"
    SEALED_FIELDS = SEALED_FIELDS

    KEPT_AGGREGATES = (DistrictRoll,)
    """A district's roll is read by every mapping there: kept in memory between commands (:mod:`shared.kept`)."""
    snapshotting_intervals = {DistrictRoll: 100}
    """A district's roll gains an event with each OSV mapped there: snapshotted every 100 (:mod:`shared.kept`)."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        districts: DistrictTable | None = None,
        *,
        today: Clock = today_in_lima,
        document_counts: DocumentCounts | None = None,
        amendment_working_days: int = DEFAULT_AMENDMENT_WORKING_DAYS,
        answers: AnswerBook | None = None,
        shipped_calendar: WorkingCalendar | None = None,
        keys: KeyRing | None = None,
        mapped_districts: MappedDistricts | None = None,
    ) -> None:
        super().__init__(env, answers=answers, keys=keys)
        self.shipped_calendar = shipped_calendar or shipped_non_working_days()
        """The días no laborables shipped as data (``shared/data/dias_no_laborables.json`` or the settings' file)."""
        self.districts = districts or DistrictTable.of_lima()
        self.municipalities = MunicipalityTable(self.districts)
        self.today = today
        self.document_counts = document_counts
        self.amendment_working_days = amendment_working_days
        self._ubigeos: dict[str, str] = {}
        """The ubigeo of each district name :meth:`ubigeo_of` was asked about."""
        self._lacking: set[str] = set()
        """The districts of OSVs this process read that its table lacks (each logged once): ``/health`` names them."""
        self.mapped_districts = mapped_districts
        """The districts of every stored OSV, caught up from the store (:meth:`lacked_districts`); None: those read only."""
        self._mapped_in: dict[UUID, str] = {}
        """The ubigeo of each OSV this process mapped, until the relay asks for it (:meth:`municipality_of_osv`)."""

    # OSVs ------------------------------------------------------------------

    def map_osv(
        self,
        name: str,
        district: str,
        mapped_on: date,
        kind: OSVKind | None = None,
        composition: Composition | None = None,
        focus_areas: Iterable[str] | None = None,
        contact_channel: ContactChannel | None = None,
        distinct_from: Iterable[UUID] = (),
    ) -> UUID:
        """Map an OSV, unless its district has one of the same, a near or a shortened or lengthened name (409
        ``possible_duplicate``) that ``distinct_from`` does not name; its id."""
        return self.mapped_osv(name, district, mapped_on, kind, composition, focus_areas, contact_channel, distinct_from).id

    @retried_on_collision
    def mapped_osv(
        self,
        name: str,
        district: str,
        mapped_on: date,
        kind: OSVKind | None = None,
        composition: Composition | None = None,
        focus_areas: Iterable[str] | None = None,
        contact_channel: ContactChannel | None = None,
        distinct_from: Iterable[UUID] = (),
    ) -> OSV:
        """:meth:`map_osv`, giving the OSV as it was saved: what ``POST /osvs`` answers, without reading it back.

        422 ``name_has_letters`` for a name with no letter or digit; 409 ``possible_duplicate`` names an OSV of the
        district, or the one a merged OSV of that name was merged into."""
        check_name(name)
        found = self.district_named(district, on=mapped_on)
        roll = self.find(DistrictRoll.id_for(found.name), DistrictRoll)
        distinct = list(dict.fromkeys(distinct_from))
        mapped_before: dict[str, str] = {}
        if roll is None:  # reads every OSV: once per district, the roll is kept from then on
            mapped_before = self._names_in(found.name)
            DistrictRoll.check_names(found.name, mapped_before, name, distinct)
        else:
            roll.check_new(name, distinct, self.survivor_of)
        osv = OSV(
            name=name,
            district=found.name,
            zone=found.zone,
            mapped_on=mapped_on,
            kind=kind,
            composition=composition,
            focus_areas=[str(a) for a in focus_areas or ()],
            contact_channel=contact_channel,
            distinct_from=distinct,
        )
        if roll is None:  # the district's first OSV, or its first since rolls were kept: one event opens the roll with it
            roll = DistrictRoll(district=found.name, entries={**mapped_before, str(osv.id): name})
        else:
            roll.add(osv.id, name)
        if not dryrun.active():  # the relay names the new event's municipality without reading the OSV back
            self._mapped_in[osv.id] = found.ubigeo
        try:
            self.save(osv, roll)
        except BaseException:
            self._mapped_in.pop(osv.id, None)
            raise
        return osv

    def _names_in(self, district: str) -> dict[str, str]:
        """The names of the district's OSVs not merged into another (OSV id → name), read from the OSVs themselves."""
        return {str(osv.id): osv.name for osv in self.list_osvs() if osv.district == district}

    def survivor_of(self, osv_id: UUID) -> UUID:
        """The OSV that ``osv_id`` was last merged into, along merges made one after another (itself if never merged)."""
        seen = {osv_id}
        while (into := self.load(osv_id, OSV, OSVNotFoundError).merged_into) is not None and into not in seen:
            seen.add(osv_id := into)
        return osv_id

    def merged_in_days(self, osv: OSV) -> list[date]:
        """The days the records merged into ``osv`` were merged (their ``merged_on``): what registry holds of it too, for the
        rules that date its mapping, its dissolution and its merge into another against its records."""
        return [day for duplicate in osv.merged_from if (day := self.get_osv(duplicate).merged_on) is not None]

    def district_roll(self, district: str) -> DistrictRoll:
        """The names of a district's OSVs; opened from the OSVs mapped before rolls were kept, the first time it is needed."""
        roll = self.find(DistrictRoll.id_for(district), DistrictRoll)
        return roll if roll is not None else DistrictRoll(district=district, entries=self._names_in(district))

    @retried_on_collision
    def merge_osvs(self, survivor_id: UUID, duplicate_id: UUID, merged_on: date, scope: MunicipalScope = ALL_LIMA) -> OSV:
        """Record that two OSVs are one organisation: ``duplicate_id`` is merged into ``survivor_id`` (records `OSVMerged` on the
        duplicate and `DuplicateMergedIn` on the survivor: each goes out under its own OSV's municipality).

        Both must be in ``scope`` (the caller's municipalities): a survivor outside it is 404, a duplicate
        outside it 422 ``duplicate_id`` as if it did not exist. ``merged_on`` is 422 ``not_before_<field>`` before
        either's mapping or the last of what registry holds of the duplicate, the records merged into it included
        (:meth:`~services.registry.domain.lifecycle.Lifecycle.merge_into`).
        """
        survivor = self.get_osv(survivor_id, scope)
        duplicate = self.load(duplicate_id, OSV, lambda i: OSVToMergeNotFoundError(i))
        if not scope.covers(self.ubigeo_of(duplicate)):
            raise OSVToMergeNotFoundError(duplicate_id)
        duplicate.merge_into(survivor, merged_on, self.merged_in_days(duplicate))
        roll = self.district_roll(duplicate.district)
        roll.keep_merged(duplicate.id, survivor.id)  # its name stays a name of the survivor
        self.save(survivor, duplicate, roll)
        return survivor

    @retried_on_collision
    def update_details(
        self, osv_id: UUID, changes: Mapping[str, Any], updated_on: date | None = None, expected: frozenset[int] | None = None
    ) -> OSV:
        """The OSV's kind, composition, focus areas or contact channel changed (records ``OSVDetailsUpdated``): 404 for no
        such OSV; 409 ``osv_not_dissolved`` for a change dated after its dissolution; 412 ``current_version`` when
        ``expected`` (an ``If-Match``'s versions) does not name the OSV's version (:func:`shared.preconditions.check_version`)."""
        osv = self.get_osv(osv_id)
        check_version("the OSV", osv.version, expected)
        osv.update_details(changes, updated_on or self.today())
        self.save(osv)
        return osv

    def get_osv(self, osv_id: UUID, scope: MunicipalScope = ALL_LIMA) -> OSV:
        """The OSV; 404 when there is none, or when its district is outside ``scope`` (the caller's municipalities)."""
        osv = self.load(osv_id, OSV, OSVNotFoundError)
        if not scope.covers(self.ubigeo_of(osv)):
            raise OSVNotFoundError(osv_id)
        return osv

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """:meth:`ServiceApplication.save`, refusing (503 ``osv_district_in_table``) a change to an OSV whose district the
        table lacks: its events would name no municipality, and the relay would stop at the first for every municipality."""
        for obj in objs:
            if isinstance(obj, OSV) and obj.pending_events and self.ubigeo_of(obj) is None:
                raise DistrictNotInTableError(self.name, self.districts, obj.id, obj.district)
        return super().save(*objs, **kwargs)

    def municipality_of(self, data: Mapping[str, Any]) -> str | None:
        """As :meth:`ServiceApplication.municipality_of`; an event that names its OSV's ``district`` (``OSVMapped``, ``OSVMerged``)
        is placed by that district's ubigeo, without reading the OSV from the store.

        The relay and ``GET /events`` place every new OSV this way, those another
        worker or an earlier process mapped too (reading each back was a third of
        the relay's CPU). An OSV's district never changes.
        """
        osv_id, district = data.get("osv_id"), data.get("district")
        if osv_id is not None and isinstance(district, str):
            found = self._ubigeo_named(district)
            if found is not None:  # else a name the table does not know: the OSV's own record says (the same)
                key = UUID(str(osv_id))
                self._mapped_in.pop(key, None)
                self._municipalities[key] = found  # the OSV's later events are placed without reading it either
                return found
        return super().municipality_of(data)

    def municipality_of_osv(self, osv_id: UUID) -> str | None:
        """The ubigeo of the district the OSV was mapped in (read from its first event: it never changes).

        An OSV this process mapped is known without reading it (see :meth:`map_osv`); the ubigeo is the same.
        """
        mapped_in = self._mapped_in.pop(osv_id, None)
        if mapped_in is not None:
            return mapped_in
        try:
            osv = self.repository.get(osv_id, version=1)
        except AggregateNotFoundError:
            return None
        return self.ubigeo_of(osv) if isinstance(osv, OSV) else None

    def municipality_of_saved(self, entry: dict[str, Any]) -> str | None:
        """An OSV's district's ubigeo, a municipality's record's own; None for the rest (indexes, a district's roll)."""
        if entry.get("kind") == OSV.__name__:
            return self.municipality_of_osv(UUID(str(entry["id"])))
        if entry.get("kind") == Municipality.__name__:
            found = self.find(UUID(str(entry["id"])), Municipality)
            return found.municipality_id if found is not None else None
        return None

    def get_ruos_application(self, osv_id: UUID, application_id: UUID, scope: MunicipalScope = ALL_LIMA) -> RUOSApplication:
        return self.get_osv(osv_id, scope).find_application(application_id)

    def _recording_in_ruos(self, osv_id: UUID, recorder: RecordingScope, step: str, ruos_of: Callable[[OSV], str]) -> tuple[OSV, str]:
        """The OSV, and the municipality whose RUOS the step is in (``ruos_of`` the OSV): the one rule of every step a
        municipality takes (an application's observation, registration, rejection; a registration recorded directly; a
        board renewal). 404 for an OSV out of the recorder's reach, as any record; 403 ``own_municipality_ruos`` naming
        the municipality when the recorder does not record for it (:func:`~services.registry.domain.ruos.check_recorded_for`):
        a district's focal point reads its OSV's application to the MML, the MML's every OSV, neither records the other's."""
        osv = self.get_osv(osv_id, recorder.reaches)
        municipality = self.municipalities.find(ruos_of(osv))
        check_recorded_for(recorder.acts_for, municipality, step)
        return osv, municipality.id

    @staticmethod
    def _ruos_of_application(application_id: UUID) -> Callable[[OSV], str]:
        return lambda osv: osv.find_application(application_id).municipality_id

    def _ruos_registered_in(self, osv: OSV) -> str:
        """The municipality whose RUOS the OSV is registered in; for a registration recorded directly before such
        registrations named it (``municipality_id`` null), its district's: a board renewal of it is that focal point's.
        An OSV registered nowhere is in no one's RUOS: 409 ``registered_in_ruos`` to anyone who reaches it (the MML's
        focal point was told 403, the renewal its district's, tester 127 F3)."""
        if osv.registered_on is None:
            raise NotRegisteredError
        return osv.ruos_municipality_id or self.ubigeo_of(osv) or MML_ID

    def list_osvs(
        self, ruos: RUOSFilter | None = None, within_days: int = 60, merged: bool = False, scope: MunicipalScope = ALL_LIMA
    ) -> list[OSV]:
        """Every mapped OSV in ``scope``, in the order they were mapped (those merged into another only if ``merged``),
        narrowed by RUOS progress if asked.

        ``unregistered``, ``applying``, ``observed`` and ``expiring`` are worklists: a dissolved OSV is in none of them
        (its application, entered from paper after the dissolution, is nobody's work any more); ``registered`` is what
        happened, dissolved or not."""
        osvs = [self.load(osv_id, OSV, OSVNotFoundError) for osv_id in self.ids_created_by(OSV.OSVMapped)]
        osvs = [osv for osv in osvs if scope.covers(self.ubigeo_of(osv))]
        if not merged:
            osvs = [osv for osv in osvs if not osv.merged]
        if ruos is None:
            return osvs
        today = self.today()
        keep: dict[RUOSFilter, Callable[[OSV], bool]] = {
            RUOSFilter.REGISTERED: lambda o: o.registered,
            RUOSFilter.UNREGISTERED: lambda o: not o.registered and not o.dissolved,
            RUOSFilter.APPLYING: lambda o: o.open_application is not None and not o.dissolved,
            RUOSFilter.OBSERVED: lambda o: o.open_application is not None and not o.dissolved
            and o.open_application.status is ApplicationStatus.OBSERVED,
            RUOSFilter.EXPIRING: lambda o: o.board_term_ends_within(today, within_days),
        }
        return [osv for osv in osvs if keep[ruos](osv)]

    # Documents, readiness and the RUOS application ----------------------------

    @retried_on_collision
    def record_document(self, osv_id: UUID, document: RUOSDocument, prepared_on: date) -> OSV:
        osv = self.get_osv(osv_id)
        osv.record_document(document, prepared_on)
        self.save(osv)
        return osv

    def ruos_readiness(self, osv_id: UUID, municipality_id: str | None = None, scope: MunicipalScope = ALL_LIMA) -> Readiness:
        """Documents and identity-document counts against what the municipality accepts (default: the OSV's district's;
        the MML's when the table lacks the OSV's district, see :meth:`ubigeo_of`: the answer names the one assessed).
        ``municipality_id``, when given, is one the OSV may apply to: its district's or ``mml`` (422 ``municipality_of_the_osv``)."""
        osv = self.get_osv(osv_id, scope)
        if municipality_id is None:
            reference = self.municipalities.find(self.ubigeo_of(osv) or MML_ID)
        else:
            self.municipality_named(municipality_id)  # 503 for a ubigeo the table lacks while it lacks districts of stored OSVs
            # Only a RUOS the OSV may apply to (422 ``municipality_of_the_osv``): another district's answered its accepted
            # documents to a focal point who may not read that municipality (tester 37 F6).
            reference = self.municipalities.require_of_osv(municipality_id, self.ubigeo_of(osv), "is assessed for the RUOS of")
        municipality = self.get_municipality(reference.id).record
        return assess(reference.id, osv.documents_ready, municipality.accepted, self.tally(osv_id))

    def tally(self, osv_id: UUID) -> DocumentTally | None:
        return self.document_counts.get(osv_id) if self.document_counts is not None else None

    @retried_on_collision
    def submit_ruos_application(
        self, osv_id: UUID, municipality_id: str, submitted_on: date, documents: Iterable[RUOSDocument]
    ) -> RUOSApplication:
        """File the OSV's application with the RUOS of its district's municipality or of the MML (``mml``).

        422 ``lima_municipality`` when ``municipality_id`` names none of Lima's, 422 ``municipality_of_the_osv`` when
        it names another district's: that municipality's focal point and partner would never see the application.
        Applications recorded before this rule stay as they were and take their steps.
        """
        osv = self.get_osv(osv_id)
        ubigeo = self.ubigeo_of(osv)
        if ubigeo is None:  # before the municipality named is judged against a district this process cannot place
            raise DistrictNotInTableError(self.name, self.districts, osv.id, osv.district)
        self.municipality_named(municipality_id)  # 503 for a ubigeo the table lacks while it lacks districts of stored OSVs
        reference = self.municipalities.require_of_osv(municipality_id, ubigeo, "applies to the RUOS of")
        accepted = self.get_municipality(reference.id).record.accepted
        counts = unaccepted_counts(self.tally(osv_id), accepted)
        application_id = osv.submit_application(
            reference.id, submitted_on, [str(d) for d in documents], counts.board_members, counts.members
        )
        self.save(osv)
        return osv.find_application(application_id)

    @retried_on_collision
    def observe_ruos_application(
        self,
        osv_id: UUID,
        application_id: UUID,
        observed_on: date,
        reasons: Iterable[Mapping[str, str | None]],
        amend_within_working_days: int | None = None,
        recorder: RecordingScope = ANY_RECORDER,
    ) -> RUOSApplication:
        step = f"the observation of RUOS application {application_id}"
        osv, _ = self._recording_in_ruos(osv_id, recorder, step, self._ruos_of_application(application_id))
        window = amend_within_working_days if amend_within_working_days is not None else self.amendment_working_days
        osv.observe_application(application_id, observed_on, reasons, window, self.calendar())
        self.save(osv)
        return osv.find_application(application_id)

    @retried_on_collision
    def amend_ruos_application(
        self, osv_id: UUID, application_id: UUID, amended_on: date, documents: Iterable[RUOSDocument]
    ) -> RUOSApplication:
        osv = self.get_osv(osv_id)
        osv.amend_application(application_id, amended_on, [str(d) for d in documents], self.calendar())
        self.save(osv)
        return osv.find_application(application_id)

    @retried_on_collision
    def register_ruos_application(
        self,
        osv_id: UUID,
        application_id: UUID,
        registered_on: date,
        ruos_number: str,
        resolution_number: str | None = None,
        board_term_ends_on: date | None = None,
        recorder: RecordingScope = ANY_RECORDER,
    ) -> RUOSApplication:
        step = f"the registration of RUOS application {application_id}"
        osv, registered_in = self._recording_in_ruos(osv_id, recorder, step, self._ruos_of_application(application_id))
        osv.register_application(application_id, registered_on, ruos_number, resolution_number, board_term_ends_on)
        self._save_with_ruos_number(osv, ruos_number, registered_in, recorder.reaches)
        return osv.find_application(application_id)

    @retried_on_collision
    def reject_ruos_application(
        self,
        osv_id: UUID,
        application_id: UUID,
        rejected_on: date,
        reason: RejectionReason,
        note: str | None = None,
        recorder: RecordingScope = ANY_RECORDER,
    ) -> RUOSApplication:
        step = f"the rejection of RUOS application {application_id}"
        osv, _ = self._recording_in_ruos(osv_id, recorder, step, self._ruos_of_application(application_id))
        osv.reject_application(application_id, rejected_on, reason, note, self.calendar())
        self.save(osv)
        return osv.find_application(application_id)

    @retried_on_collision
    def register_in_ruos(
        self,
        osv_id: UUID,
        ruos_number: str,
        registered_on: date,
        resolution_number: str | None = None,
        board_term_ends_on: date | None = None,
        municipality_id: str | None = None,
        recorder: RecordingScope = ANY_RECORDER,
    ) -> OSV:
        """A registration recorded directly (one made before the programme followed the OSV), in the RUOS of
        ``municipality_id``: the OSV's district's or ``mml`` (422 ``municipality_of_the_osv``, ``lima_municipality``).
        When not given, the one of those two the recorder records for, if it records for one alone (a focal point),
        else 422 ``registering_municipality_known`` naming ``municipality_id``."""

        def registered_with(osv: OSV) -> str:
            given = None
            if municipality_id is not None:
                self.municipality_named(municipality_id)  # 503 for a ubigeo the table lacks while it lacks stored districts
                given = self.municipalities.require_of_osv(municipality_id, self.ubigeo_of(osv), "is registered in the RUOS of").id
            return registering_municipality(given, self.ubigeo_of(osv), recorder.acts_for)

        osv, registered_in = self._recording_in_ruos(osv_id, recorder, "the registration of this OSV", registered_with)
        osv.register_in_ruos(ruos_number, registered_on, resolution_number, board_term_ends_on, municipality_id=registered_in)
        self._save_with_ruos_number(osv, ruos_number, registered_in, recorder.reaches)
        return osv

    @retried_on_collision
    def renew_board(self, osv_id: UUID, renewed_on: date, term_ends_on: date, recorder: RecordingScope = ANY_RECORDER) -> OSV:
        osv, _ = self._recording_in_ruos(osv_id, recorder, "a board renewal of this OSV", self._ruos_registered_in)
        osv.renew_board(renewed_on, term_ends_on)
        self.save(osv)
        return osv

    # Contact and dissolution ----------------------------------------------------

    @retried_on_collision
    def record_contact_lost(self, osv_id: UUID, since: date, note: str | None = None) -> OSV:
        osv = self.get_osv(osv_id)
        osv.lose_contact(since, note)
        self.save(osv)
        return osv

    @retried_on_collision
    def record_contact_restored(self, osv_id: UUID, restored_on: date) -> OSV:
        osv = self.get_osv(osv_id)
        osv.restore_contact(restored_on)
        self.save(osv)
        return osv

    @retried_on_collision
    def dissolve(self, osv_id: UUID, dissolved_on: date, reason: DissolutionReason, note: str | None = None) -> OSV:
        """The OSV dissolved (records ``OSVDissolved``): 404 for no such OSV; 409 ``osv_not_dissolved`` when it is already,
        ``osv_not_merged`` on a record merged into another; 422 ``not_before_<field>`` for a day before its mapping or the
        last of what registry holds of it, the records merged into it included
        (:meth:`~services.registry.domain.lifecycle.Lifecycle.dissolve`)."""
        osv = self.get_osv(osv_id)
        osv.dissolve(dissolved_on, reason, note, self.merged_in_days(osv))
        self.save(osv)
        return osv

    # Municipalities ---------------------------------------------------------------

    def get_municipality(self, municipality_id: str, scope: MunicipalScope = ALL_LIMA) -> MunicipalityRecord:
        """A municipality with what was recorded about it; defaults when nothing was.

        404 if it is not one of Lima's, or not in ``scope`` (a focal point sees its own; the MML's all of Lima). A
        caller who does not see all of Lima is told either in the same plain words (:class:`MunicipalityNotFoundError`),
        as for any record outside its scope; the others are told how to name a municipality.
        """
        try:
            reference = self.municipalities.find(municipality_id)
        except UnknownMunicipalityError:
            if scope.all_of_lima:
                raise
            raise MunicipalityNotFoundError(municipality_id) from None
        if not scope.covers(reference.id):
            raise MunicipalityNotFoundError(municipality_id)
        # Reference data: an unsaved aggregate until its first recorded change saves it.
        municipality = self.find(municipality_uuid(reference.id), Municipality) or Municipality(municipality_id=reference.id)
        return MunicipalityRecord(reference, municipality)

    def list_municipalities(self, without_focal_point: bool = False, scope: MunicipalScope = ALL_LIMA) -> list[MunicipalityRecord]:
        """The MML then the 43 districts by ubigeo, those in ``scope``; optionally only those without a current focal point."""
        records = [self.get_municipality(reference.id) for reference in self.municipalities.all() if scope.covers(reference.id)]
        if without_focal_point:
            return [r for r in records if r.record.current_focal_point is None]
        return records

    @retried_on_collision
    def change_accepted_documents(self, municipality_id: str, accepted: Iterable[str], changed_on: date) -> MunicipalityRecord:
        found = self.get_municipality(municipality_id)
        found.record.change_accepted_documents(accepted, changed_on)
        self.save(found.record)
        return found

    @retried_on_collision
    def assign_focal_point(self, municipality_id: str, office: str, role: str, assigned_on: date) -> tuple[MunicipalityRecord, UUID]:
        found = self.get_municipality(municipality_id)
        focal_point_id = found.record.assign_focal_point(office, role, assigned_on)
        self.save(found.record)
        return found, focal_point_id

    @retried_on_collision
    def record_focal_point_departure(self, municipality_id: str, focal_point_id: UUID, left_on: date) -> MunicipalityRecord:
        found = self.get_municipality(municipality_id)
        found.record.record_focal_point_departure(focal_point_id, left_on)
        self.save(found.record)
        return found
