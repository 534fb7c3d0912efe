"""Registry's HTTP API: routes only, each translating a request into a call on :class:`Registry`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response, status

from services.registry.application import Registry, RUOSFilter
from services.registry.bootstrap import bootstrap
from services.registry.calendarapi import calendar
from services.registry.routing import CHANGE, NOT_PLACED, RUOS_STEP, Records, RegistryDep
from services.registry.ruoscorrectionapi import ruos_corrections
from services.registry.schemas import (
    AcceptedDocumentsUpdate,
    AgreementCreate,
    AgreementPublic,
    AmendmentCreate,
    ApplicationRegistrationCreate,
    BoardRenewalCreate,
    ContactLostCreate,
    ContactRestoredCreate,
    DissolutionCreate,
    DocumentCreate,
    DocumentsPublic,
    FocalPointCreate,
    FocalPointDepartureCreate,
    FocalPointPublic,
    MunicipalityPublic,
    ObservationCreate,
    OSVCreate,
    OSVDetailsChange,
    OSVMappingDateCorrection,
    OSVMergeCreate,
    OSVNameCorrection,
    OSVPublic,
    ReadinessPublic,
    RejectionCreate,
    RUOSApplicationCreate,
    RUOSApplicationPublic,
    RUOSRegistrationCreate,
)
from services.registry.settings import RegistrySettings
from shared.auth import Caller, CallerDep, MunicipalScope, Permission, requires, within
from shared.clock import Clock, today_in_lima
from shared.districts import district_key
from shared.errors import ConflictError, OSVMergedError
from shared.guards import TAKES_NO_BODY
from shared.history import EventRecordPublic, history_page
from shared.inplace import run_command
from shared.listing import NameQuery, Page, matches_name, page_query, query_refused
from shared.preconditions import IfMatch, answered, tagged
from shared.web import MAX_POSITION, runtime_of, service_api

NOT_NAMED_HERE = {503: {**NOT_PLACED[503], "description": (
    "A 503 `osv_district_in_table` names a district this process's districts table lacks though stored OSVs are in it "
    "(another replica mapped them with a fuller `REGISTRY_DISTRICTS_FILE`): the request is fine as it is, and taken once "
    "an operator gives the setting the file and restarts registry; send it again after `Retry-After`. A district no "
    "record of registry's is in stays 422 `lima_district`."
)}}
MUNICIPALITY_LACKED = (
    "A 503 `osv_district_in_table` naming `municipality_id` is a district's ubigeo of Lima (`1501..`) this process's "
    "districts table lacks while stored OSVs are in districts it lacks (another replica mapped them with a fuller "
    "`REGISTRY_DISTRICTS_FILE`): it may be their municipality, and the same request gets its real answer once an operator "
    "fixes the setting and restarts registry; send it again after `Retry-After`. A municipality not of Lima (`callao`) "
    "stays 422 `lima_municipality`."
)
MUNICIPALITY_NOT_NAMED_HERE = {503: {**NOT_PLACED[503], "description": MUNICIPALITY_LACKED}}
"""A read naming a municipality: 503 with `Retry-After` for a ubigeo this process's table may lack (``Registry.municipality_named``)."""
NOT_PLACED_NOR_NAMED_HERE = {503: {**NOT_PLACED[503], "description": f"{NOT_PLACED[503]['description']} {MUNICIPALITY_LACKED}"}}
"""A command on an OSV naming a municipality: the 503s of :data:`NOT_PLACED` and of :data:`MUNICIPALITY_NOT_NAMED_HERE`."""
Reads = Annotated[MunicipalScope, Depends(within(Permission.PROGRAMME_READ))]
"""The municipalities the caller reads: an object outside them answers 404, lists leave it out."""
Reader = Annotated[Caller, Depends(requires(Permission.PROGRAMME_READ))]
"""A reader of the programme's records: its scope (:data:`Reads`), and whether it reads staff's words (``may_read_staff_text``)."""
Auditor = Annotated[Caller, Depends(requires(Permission.AUDIT_READ))]
"""A reader of OSVs' and municipalities' histories (within its municipal scope)."""
WRITES = [Depends(requires(Permission.PROGRAMME_WRITE))]
RECORDS = [Depends(requires(Permission.SUBMISSIONS_RECORD))]  # what a field form's submission sends (the Kobo webhook too)
Writes = Annotated[MunicipalScope, Depends(within(Permission.PROGRAMME_WRITE))]
"""The municipalities whose OSVs the caller's commands reach (staff: all of Lima); an OSV outside them answers 404."""
READS = [Depends(requires(Permission.PROGRAMME_READ))]
Paged = Annotated[Page, Depends(page_query)]

osvs = APIRouter(prefix="/osvs", tags=["osvs"])
applications = APIRouter(prefix="/osvs/{osv_id}/ruos-applications", tags=["ruos"])
municipalities = APIRouter(prefix="/municipalities", tags=["municipalities"])


# OSVs --------------------------------------------------------------------------


@osvs.post("", status_code=status.HTTP_201_CREATED, response_model=OSVPublic, dependencies=RECORDS, responses=NOT_NAMED_HERE)
async def map_osv(body: OSVCreate, registry: RegistryDep, response: Response) -> OSVPublic:
    """Map a newly identified OSV (records `OSVMapped`)."""
    # On the event loop when the store takes it at once, else in a worker thread (shared.inplace): a plain `def` route takes
    # a thread hop for the command and a second one to check the answer.
    return answered(response, await run_command(registry, mapped, body, registry))


def mapped(body: OSVCreate, registry: Registry) -> OSVPublic:
    """``POST /osvs``'s command and answer (:func:`~shared.inplace.run_command`: on the event loop, or in a worker thread)."""
    osv = registry.mapped_osv(  # the OSV as saved: no read back (mapping is registry's most frequent command)
        name=body.name,
        district=body.district,
        mapped_on=body.mapped_on,
        kind=body.kind,
        composition=body.composition,
        focus_areas=body.focus_areas,
        contact_channel=body.contact_channel,
        distinct_from=body.distinct_from,
    )
    return OSVPublic.of(osv)


@osvs.get("", response_model=list[OSVPublic], responses=NOT_NAMED_HERE)
def list_osvs(
    registry: RegistryDep,
    scope: Reads,
    page: Paged,
    ruos: Annotated[
        RUOSFilter | None,
        Query(description="registered, unregistered, applying (an open application), observed, or expiring (board term); "
              "all but registered are worklists and leave dissolved OSVs out."),
    ] = None,
    within_days: Annotated[
        int | None,
        Query(ge=0, le=3650, description="Only with `ruos=expiring` (else 422 `ruos_expiring`): board terms ending within this many "
              "days of today in Lima, or ended; 60 when not given."),
    ] = None,
    name: NameQuery = None,
    district: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Only OSVs of this district: its name (any usual spelling) or INEI ubigeo.")
    ] = None,
    zone: Annotated[str | None, Query(min_length=1, max_length=100, description="Only OSVs of this zone of Lima (as `zone` reads; case and accents aside); 422 `lima_zone` for none of Lima's zones.")] = None,
) -> list[OSVPublic]:
    """List mapped OSVs with their zone and RUOS status, optionally by RUOS progress, name, district or zone.

    In the order they were mapped; paged (`cursor`, `limit`, `Link: rel="next"`). An OSV whose district this
    process's districts table lacks (another replica mapped it with a fuller `REGISTRY_DISTRICTS_FILE`) is listed as
    stored to those who read all of Lima, and to no district's focal point or partner: its municipality is not known
    here (see `/health`'s `missing_districts`)."""
    if within_days is not None and ruos is not RUOSFilter.EXPIRING:  # it filtered nothing: the list read as one of terms ending
        raise query_refused("within_days", "ruos_expiring", "filters board terms: send it with ruos=expiring", within_days)
    osvs = registry.list_osvs(ruos=ruos, within_days=60 if within_days is None else within_days, scope=scope)
    if district is not None:
        wanted = registry.district_named(district).ubigeo  # 422 `lima_district` for no district of Lima
        osvs = [o for o in osvs if registry.ubigeo_of(o) == wanted]
    if zone is not None:
        wanted_zone = registry.districts.zone(zone)  # 422 `lima_zone` for none of Lima's
        osvs = [o for o in osvs if district_key(o.zone) == district_key(wanted_zone)]
    osvs = [o for o in osvs if matches_name(name, o.name)]
    working_days = registry.calendar()
    return [OSVPublic.of(osv, working_days) for osv in page.of(osvs, key=lambda o: o.id)]


@osvs.get("/{osv_id}", response_model=OSVPublic)
def get_osv(osv_id: UUID, registry: RegistryDep, scope: Reads, response: Response) -> OSVPublic:
    """Show one OSV with its details, RUOS status, contact and dissolution, and its `ETag` for `If-Match`.

    The `ETag` (the OSV's `version`, quoted) is what a correction or a change of details sends in `If-Match` to be
    refused (412 `current_version`) if someone changed the OSV meanwhile.

    An OSV whose district this process's districts table lacks is shown as stored to those who read all of Lima, and
    is 404 to a district's focal point or partner (its municipality is not known here); nothing more is recorded about
    it (503 `osv_district_in_table`) until registry is given the districts file it was mapped with."""
    osv = registry.get_osv(osv_id=osv_id, scope=scope)
    tagged(response, osv.version)
    return OSVPublic.of(osv, registry.calendar())


@osvs.patch("/{osv_id}", response_model=OSVPublic, dependencies=WRITES, responses=CHANGE)
def update_details(osv_id: UUID, body: OSVDetailsChange, registry: RegistryDep, expected: IfMatch, response: Response) -> OSVPublic:
    """Change the OSV's kind, composition, focus areas or contact channel (records `OSVDetailsUpdated`).

    A change (`updated_on`, today in Lima if not given) dated after the OSV's dissolution is 409
    `osv_not_dissolved`, naming both dates; one dated on or before it (a paper backlog) is taken. With `If-Match`, an
    OSV changed since that `ETag` is 412 `current_version`; the answer carries the OSV's new `ETag`.
    """
    osv = registry.update_details(osv_id=osv_id, changes=body.changes(), updated_on=body.updated_on, expected=expected)
    tagged(response, osv.version)
    return OSVPublic.of(osv, registry.calendar())


@osvs.get("/{osv_id}/history", response_model=list[EventRecordPublic])
def osv_history(osv_id: UUID, registry: RegistryDep, caller: Auditor, page: Paged) -> list[EventRecordPublic]:
    """List every event the OSV recorded, oldest first, each with who recorded it (`recorded_by`), for auditors (staff's words `[withheld]` to them); paged (`cursor`, `limit`, `Link: rel="next"`).

    The staff's words in it (an observation's details, rejection, contact-lost and dissolution notes, why an observation
    or a rejection was withdrawn) only to a reader with `personal-data:read`; an auditor reads them `[withheld]`, and an
    application's counts of people holding identity documents the municipality refuses null (its `id_documents_flagged`
    as recorded), with every other field of the event."""
    history = registry.osv_history(osv_id=osv_id, scope=caller.scope(Permission.AUDIT_READ), text=caller.may_read_staff_text)
    return history_page(history, page)


@osvs.post("/{osv_id}/name-correction", response_model=OSVPublic, responses=CHANGE)
def correct_osv_name(osv_id: UUID, body: OSVNameCorrection, registry: RegistryDep, scope: Writes, expected: IfMatch, response: Response) -> OSVPublic:
    """Correct the OSV's name, recorded wrong or provisional (records `OSVNameCorrected`; nothing when it is its name already).

    Every report names it so from then on, those of past phases included; one `as_of` a moment before names it as it was
    then known. A name that another OSV of the district has, one very like it, or one that is it with words added or left
    out, is 409 `possible_duplicate` (as for a mapping; `distinct_from` says they are other organisations). The district's roll compares a new OSV with the corrected
    name, no longer with the wrong one. A record merged into another is 409 `osv_not_merged` (correct its survivor's).
    With `If-Match`, an OSV changed since that `ETag` is 412 `current_version` (two staff correcting it at once: the
    later no longer undoes the earlier unseen); the answer carries the OSV's new `ETag`."""
    osv = registry.correct_osv_name(
        osv_id=osv_id, name=body.name, corrected_on=registry.today(), distinct_from=body.distinct_from, scope=scope, expected=expected
    )
    tagged(response, osv.version)
    return OSVPublic.of(osv, registry.calendar())


@osvs.post("/{osv_id}/mapping-date-correction", response_model=OSVPublic, responses=CHANGE)
def correct_mapping_date(
    osv_id: UUID, body: OSVMappingDateCorrection, registry: RegistryDep, scope: Writes, expected: IfMatch, response: Response
) -> OSVPublic:
    """Correct the day the OSV was mapped, recorded wrong (records `OSVMappingDateCorrected`; nothing when it is that day already).

    Every report counts the OSV as identified in the corrected day's phase from then on, those of past phases included
    (a signed-off phase shows the difference as a restatement); one `as_of` a moment before counts it as then known.
    Funding and engagement take nothing of it dated before the corrected day from then on; what they took before stays.
    A day after the first of what registry holds of the OSV (of a kind recorded more than once, its earliest: the first
    change of details, the first loss of contact) is 422 `not_after_<field>`, naming it; a record merged into
    another is 409 `osv_not_merged` (correct its survivor's). With `If-Match`, an OSV changed since that `ETag` is 412
    `current_version`; the answer carries the OSV's new `ETag`."""
    osv = registry.correct_mapping_date(osv_id=osv_id, mapped_on=body.mapped_on, corrected_on=registry.today(), scope=scope, expected=expected)
    tagged(response, osv.version)
    return OSVPublic.of(osv, registry.calendar())


@osvs.post("/{osv_id}/merges", status_code=status.HTTP_201_CREATED, response_model=OSVPublic, responses=NOT_PLACED)
def merge_osvs(osv_id: UUID, body: OSVMergeCreate, registry: RegistryDep, scope: Writes, response: Response) -> OSVPublic:
    """Merge another record of the same organisation into this OSV, keeping both histories (records `OSVMerged`, `DuplicateMergedIn`).

    `OSVMerged` is recorded on the duplicate and goes out under its district's municipality; `DuplicateMergedIn` is
    recorded on this OSV and goes out under this OSV's, so both districts' partners learn of a merge across them. Neither may be dissolved, whatever `merged_on` says (409 `osv_not_dissolved`): a merge is staff's correction of
    the records, not a fact of the organisation's life a paper backlog would hold. `merged_on` is not before either's
    mapping nor before the last of what registry holds of the duplicate (422 `not_before_<field>`, judged as a dissolution's day).
    """
    return answered(response, OSVPublic.of(registry.merge_osvs(survivor_id=osv_id, duplicate_id=body.duplicate_id, merged_on=body.merged_on, scope=scope), registry.calendar()))


@osvs.post("/{osv_id}/history/{version}/redaction", response_model=list[EventRecordPublic], dependencies=[*WRITES, TAKES_NO_BODY])
def redact_history_text(osv_id: UUID, version: Annotated[int, Path(ge=1, le=MAX_POSITION)], registry: RegistryDep) -> list[EventRecordPublic]:
    """Forget for good the staff's words in one event of the OSV's history; they read `[redacted]` (deletes their key).

    The event and its facts stay; the redaction is recorded (a private `HistoryTextRedacted`, the version only), and the
    answer is the OSV's history as it then reads. Asked again, it records nothing more and answers the same. Words stored
    before registry sealed them read `[redacted]` from then on too, but stay in the stored event (see README, "Free text")."""
    return [EventRecordPublic.of(e) for e in registry.redact_history_text(osv_id=osv_id, version=version)]


@osvs.post("/{osv_id}/ruos-registration", status_code=status.HTTP_201_CREATED, response_model=OSVPublic, responses={**NOT_PLACED, **RUOS_STEP})
def register_in_ruos(osv_id: UUID, body: RUOSRegistrationCreate, registry: RegistryDep, recorder: Records, response: Response) -> OSVPublic:
    """Record a registration in the RUOS directly, e.g. one made before this system followed the OSV (records `RUOSRegistered`).

    A registration (`registered_on`) dated after the OSV's dissolution is 409
    `osv_not_dissolved`, naming both dates; one dated on or before it (a paper backlog) is taken.
    An `ruos_number` another OSV holds in the same municipality's RUOS (case, spacing and the kind of dash aside) is 409
    `ruos_number_unique`, naming the OSV only to a caller who reads it; each municipality numbers its own RUOS, so
    another's may hold the same number. Nothing is written then.
    """
    return answered(response, OSVPublic.of(
        registry.register_in_ruos(
            osv_id=osv_id,
            ruos_number=body.ruos_number,
            registered_on=body.registered_on,
            resolution_number=body.resolution_number,
            board_term_ends_on=body.board_term_ends_on,
            municipality_id=body.municipality_id,
            recorder=recorder,
        ),
        registry.calendar(),
    ))


@osvs.post("/{osv_id}/documents", status_code=status.HTTP_201_CREATED, response_model=DocumentsPublic, dependencies=WRITES, responses=NOT_PLACED)
def record_document(osv_id: UUID, body: DocumentCreate, registry: RegistryDep) -> DocumentsPublic:
    """Record that one of the RUOS application's documents is ready (records `RUOSDocumentPrepared`).

    A document (`prepared_on`) dated after the OSV's dissolution is 409
    `osv_not_dissolved`, naming both dates; one dated on or before it (a paper backlog) is taken.
    """
    return DocumentsPublic.of(registry.record_document(osv_id=osv_id, document=body.document, prepared_on=body.prepared_on))


@osvs.get("/{osv_id}/ruos-readiness", response_model=ReadinessPublic, responses=MUNICIPALITY_NOT_NAMED_HERE)
def ruos_readiness(
    osv_id: UUID,
    registry: RegistryDep,
    scope: Reads,
    caller: CallerDep,
    municipality_id: Annotated[
        str | None,
        Query(max_length=10, description="`mml` or the OSV's district's ubigeo, the RUOS it may apply to (another district's: 422 "
              "`municipality_of_the_osv`); if not given, the OSV's district's, or the MML's when this process's districts table "
              "lacks the OSV's district (`municipality_id` in the answer says which)."),
    ] = None,
) -> ReadinessPublic:
    """Say what the OSV still lacks to apply: documents, and (to staff only) people holding documents the municipality refuses."""
    readiness = registry.ruos_readiness(osv_id=osv_id, municipality_id=municipality_id, scope=scope)
    return ReadinessPublic.of(osv_id, readiness, staff_counts=caller.may_read_personal_data)


@osvs.post("/{osv_id}/board-renewal", status_code=status.HTTP_201_CREATED, response_model=OSVPublic, responses={**NOT_PLACED, **RUOS_STEP})
def renew_board(osv_id: UUID, body: BoardRenewalCreate, registry: RegistryDep, recorder: Records, response: Response) -> OSVPublic:
    """Record that a registered OSV elected a new board (records `BoardRenewed`).

    A renewal (`renewed_on`) dated after the OSV's dissolution is 409
    `osv_not_dissolved`, naming both dates; one dated on or before it (a paper backlog) is taken.
    """
    return answered(response, OSVPublic.of(registry.renew_board(osv_id=osv_id, renewed_on=body.renewed_on, term_ends_on=body.term_ends_on, recorder=recorder), registry.calendar()))


@osvs.post("/{osv_id}/contact-lost", status_code=status.HTTP_201_CREATED, response_model=OSVPublic, dependencies=WRITES, responses=NOT_PLACED)
def record_contact_lost(osv_id: UUID, body: ContactLostCreate, registry: RegistryDep, response: Response) -> OSVPublic:
    """Record that the programme can no longer reach the OSV (records `ContactLost`).

    A loss of contact (`since`) dated after the OSV's dissolution is 409
    `osv_not_dissolved`, naming both dates; one dated on or before it (a paper backlog) is taken.
    """
    return answered(response, OSVPublic.of(registry.record_contact_lost(osv_id=osv_id, since=body.since, note=body.note), registry.calendar()))


@osvs.post("/{osv_id}/contact-restored", status_code=status.HTTP_201_CREATED, response_model=OSVPublic, dependencies=WRITES, responses=NOT_PLACED)
def record_contact_restored(osv_id: UUID, body: ContactRestoredCreate, registry: RegistryDep, response: Response) -> OSVPublic:
    """Record that the programme reached the OSV again (records `ContactRestored`).

    A restored contact (`restored_on`) dated after the OSV's dissolution is 409
    `osv_not_dissolved`, naming both dates; one dated on or before it (a paper backlog) is taken.
    """
    return answered(response, OSVPublic.of(registry.record_contact_restored(osv_id=osv_id, restored_on=body.restored_on), registry.calendar()))


@osvs.post("/{osv_id}/dissolution", status_code=status.HTTP_201_CREATED, response_model=OSVPublic, dependencies=WRITES, responses=NOT_PLACED)
def dissolve(osv_id: UUID, body: DissolutionCreate, registry: RegistryDep, response: Response) -> OSVPublic:
    """Record that the OSV dissolved (records `OSVDissolved`); no service takes a new record of it dated after `dissolved_on`.

    Registry, funding and engagement answer a record dated after `dissolved_on` 409 `osv_not_dissolved`, naming both
    dates, and take one dated on or before it (the day itself included): a dissolved OSV's paper backlog. What has no
    date of the OSV's life to judge by is refused whatever its date: a second dissolution, and a merge with another OSV
    either way. So `dissolved_on` is not before the last of what registry holds of the OSV (its RUOS papers, a document
    recorded again by its last day, application steps, registration, board renewal, the last return of contact, a record
    merged into it): 422 `not_before_<field>`, naming that record and its day. A rejection, taken whatever its date, a
    change of details (dated the day it was recorded when no day is given) and a loss of contact (staff often learn of
    the dissolution after they lost touch, and a loss cannot be corrected) may come after it.
    """
    return answered(response, OSVPublic.of(registry.dissolve(osv_id=osv_id, dissolved_on=body.dissolved_on, reason=body.reason, note=body.note), registry.calendar()))


# The RUOS application ---------------------------------------------------------------


@applications.post(
    "", status_code=status.HTTP_201_CREATED, response_model=RUOSApplicationPublic, dependencies=WRITES, responses=NOT_PLACED_NOR_NAMED_HERE
)
def submit_application(osv_id: UUID, body: RUOSApplicationCreate, registry: RegistryDep) -> RUOSApplicationPublic:
    """Record the OSV's application to the RUOS of its district's municipality or of the MML (records `RUOSApplicationSubmitted`).

    Another district's municipality is 422 `municipality_of_the_osv`: its focal point and partner, who see their own
    district's OSVs, would never see the application. An application dated (`submitted_on`) after the OSV's dissolution
    is 409 `osv_not_dissolved`, naming both dates; one dated on or before it (a paper backlog) is taken.
    """
    application = registry.submit_ruos_application(
        osv_id=osv_id, municipality_id=body.municipality_id, submitted_on=body.submitted_on, documents=body.documents
    )
    return RUOSApplicationPublic.of(osv_id, application, registry.calendar())


@applications.get("/{application_id}", response_model=RUOSApplicationPublic)
def get_application(osv_id: UUID, application_id: UUID, registry: RegistryDep, scope: Reads) -> RUOSApplicationPublic:
    """Show one of the OSV's RUOS applications."""
    return RUOSApplicationPublic.of(osv_id, registry.get_ruos_application(osv_id=osv_id, application_id=application_id, scope=scope), registry.calendar())


@applications.post(
    "/{application_id}/observation", status_code=status.HTTP_201_CREATED, response_model=RUOSApplicationPublic, responses={**NOT_PLACED, **RUOS_STEP}
)
def observe_application(
    osv_id: UUID, application_id: UUID, body: ObservationCreate, registry: RegistryDep, recorder: Records
) -> RUOSApplicationPublic:
    """Record the municipality's observation and the amendment deadline in working days (records `RUOSApplicationObserved`).

    An observation (`observed_on`) dated after the OSV's dissolution is 409
    `osv_not_dissolved`, naming both dates; one dated on or before it (a paper backlog) is taken.
    """
    reasons = [{"code": str(r.code), "detail": r.detail} for r in body.reasons]
    application = registry.observe_ruos_application(
        osv_id=osv_id,
        application_id=application_id,
        observed_on=body.observed_on,
        reasons=reasons,
        amend_within_working_days=body.amend_within_working_days,
        recorder=recorder,
    )
    return RUOSApplicationPublic.of(osv_id, application, registry.calendar())


@applications.post(
    "/{application_id}/amendment", status_code=status.HTTP_201_CREATED, response_model=RUOSApplicationPublic, dependencies=WRITES,
    responses=NOT_PLACED,
)
def amend_application(osv_id: UUID, application_id: UUID, body: AmendmentCreate, registry: RegistryDep) -> RUOSApplicationPublic:
    """Record the OSV's amendment of an observed application, by its deadline (records `RUOSApplicationAmended`).

    An amendment (`amended_on`) dated after the OSV's dissolution is 409
    `osv_not_dissolved`, naming both dates; one dated on or before it (a paper backlog) is taken.
    """
    application = registry.amend_ruos_application(
        osv_id=osv_id, application_id=application_id, amended_on=body.amended_on, documents=body.documents
    )
    return RUOSApplicationPublic.of(osv_id, application, registry.calendar())


@applications.post(
    "/{application_id}/registration", status_code=status.HTTP_201_CREATED, response_model=RUOSApplicationPublic, responses={**NOT_PLACED, **RUOS_STEP}
)
def register_application(
    osv_id: UUID, application_id: UUID, body: ApplicationRegistrationCreate, registry: RegistryDep, recorder: Records
) -> RUOSApplicationPublic:
    """Record that the municipality registered the OSV in its RUOS (records `RUOSRegistered`).

    A registration (`registered_on`) dated after the OSV's dissolution is 409
    `osv_not_dissolved`, naming both dates; one dated on or before it (a paper backlog) is taken.
    An `ruos_number` another OSV holds in the same municipality's RUOS (case, spacing and the kind of dash aside) is 409
    `ruos_number_unique`, naming the OSV only to a caller who reads it; each municipality numbers its own RUOS, so
    another's may hold the same number. Nothing is written then.
    """
    application = registry.register_ruos_application(
        osv_id=osv_id,
        application_id=application_id,
        registered_on=body.registered_on,
        ruos_number=body.ruos_number,
        resolution_number=body.resolution_number,
        board_term_ends_on=body.board_term_ends_on,
        recorder=recorder,
    )
    return RUOSApplicationPublic.of(osv_id, application, registry.calendar())


@applications.post(
    "/{application_id}/rejection", status_code=status.HTTP_201_CREATED, response_model=RUOSApplicationPublic, responses={**NOT_PLACED, **RUOS_STEP}
)
def reject_application(
    osv_id: UUID, application_id: UUID, body: RejectionCreate, registry: RegistryDep, recorder: Records
) -> RUOSApplicationPublic:
    """Record that the municipality rejected the application (records `RUOSApplicationRejected`).

    Taken from a dissolved OSV whatever `rejected_on` says: it closes the application (reason `withdrawn` when the OSV
    gave it up), which would otherwise stay open for good. Reason `amendment_deadline_missed` rejects an observed
    application after its deadline (`amend_by`, moved by días no laborables decreed since): on or before that day, or
    for an application not observed, it is 422 `amendment_deadline_passed`.
    """
    application = registry.reject_ruos_application(
        osv_id=osv_id, application_id=application_id, rejected_on=body.rejected_on, reason=body.reason, note=body.note, recorder=recorder
    )
    return RUOSApplicationPublic.of(osv_id, application, registry.calendar())


# Municipalities ------------------------------------------------------------------------


@municipalities.get("", response_model=list[MunicipalityPublic])
def list_municipalities(
    registry: RegistryDep,
    caller: Reader,
    page: Paged,
    without_focal_point: Annotated[bool, Query(description="Only those with no current focal point (continuity broken).")] = False,
    name: NameQuery = None,
) -> list[MunicipalityPublic]:
    """List the MML and the 43 district municipalities, optionally by name (agreements' commitments `[withheld]` to focal points and auditors); paged (`cursor`, `limit`, `Link: rel="next"`)."""
    found = registry.list_municipalities(without_focal_point=without_focal_point, scope=caller.scope(Permission.PROGRAMME_READ))
    paged = page.of([m for m in found if matches_name(name, m.reference.name)], key=lambda m: m.reference.id)
    return [MunicipalityPublic.of(m, text=caller.may_read_staff_text) for m in paged]


@municipalities.get("/{municipality_id}", response_model=MunicipalityPublic)
def get_municipality(municipality_id: str, registry: RegistryDep, caller: Reader) -> MunicipalityPublic:
    """Show a municipality: focal points, accepted identity documents and agreements, with their history (commitments `[withheld]` to focal points and auditors).

    A focal point is answered 404 for another municipality as for an id that names none, in the same words as any
    record outside its scope; a caller who sees all of Lima is told how to name a municipality. An agreement's
    commitments are staff's words, which may name people: only a reader with `personal-data:read` reads them; anyone
    else reads each `[withheld]`, with the agreement's title, date and reference.
    """
    found = registry.get_municipality(municipality_id=municipality_id, scope=caller.scope(Permission.PROGRAMME_READ))
    return MunicipalityPublic.of(found, text=caller.may_read_staff_text)


@municipalities.get("/{municipality_id}/history", response_model=list[EventRecordPublic])
def municipality_history(municipality_id: str, registry: RegistryDep, caller: Auditor, page: Paged) -> list[EventRecordPublic]:
    """List every event the municipality's record holds, oldest first, each with who recorded it (`recorded_by`), for auditors (commitments `[withheld]` to them); paged (`cursor`, `limit`, `Link: rel="next"`).

    Who assigned each focal point and recorded its departure, who changed the accepted identity documents, who recorded
    each agreement and the redaction of its commitments. An agreement's commitments only to a reader with
    `personal-data:read`; an auditor reads each `[withheld]`, and every reader `[redacted]` once they were forgotten, with
    every other field of the event. Empty for a municipality nothing was recorded about; 404 `known_municipality` for an
    id that names none of Lima's."""
    history = registry.municipality_history(
        municipality_id=municipality_id, scope=caller.scope(Permission.AUDIT_READ), text=caller.may_read_staff_text
    )
    return history_page(history, page)


@municipalities.put("/{municipality_id}/accepted-documents", response_model=MunicipalityPublic, dependencies=WRITES)
def change_accepted_documents(municipality_id: str, body: AcceptedDocumentsUpdate, registry: RegistryDep) -> MunicipalityPublic:
    """Set the identity-document types the municipality accepts (records `AcceptedDocumentsChanged`)."""
    return MunicipalityPublic.of(
        registry.change_accepted_documents(
            municipality_id=municipality_id, accepted=[str(t) for t in body.accepted], changed_on=body.changed_on
        ),
        text=True,  # a writer (staff, a lead) reads staff's words
    )


@municipalities.post("/{municipality_id}/focal-points", status_code=status.HTTP_201_CREATED, response_model=FocalPointPublic, dependencies=WRITES)
def assign_focal_point(municipality_id: str, body: FocalPointCreate, registry: RegistryDep) -> FocalPointPublic:
    """Assign the municipality's focal point, a post not a person; the current one leaves (records `FocalPointAssigned`).

    Dated on or after the current one's assignment (422 `not_before_current_assigned_on`), or, with the post vacant, on or
    after the day the last one left (422 `not_before_last_left_on`): two focal points never hold the post at once.
    """
    found, focal_point_id = registry.assign_focal_point(
        municipality_id=municipality_id, office=body.office, role=body.role, assigned_on=body.assigned_on
    )
    return FocalPointPublic.of(found.record.focal_point(focal_point_id))


@municipalities.post(
    "/{municipality_id}/focal-points/{focal_point_id}/departure",
    status_code=status.HTTP_201_CREATED,
    response_model=FocalPointPublic,
    dependencies=WRITES,
)
def record_focal_point_departure(
    municipality_id: str, focal_point_id: UUID, body: FocalPointDepartureCreate, registry: RegistryDep
) -> FocalPointPublic:
    """Record that a focal point left the post (records `FocalPointLeft`)."""
    found = registry.record_focal_point_departure(
        municipality_id=municipality_id, focal_point_id=focal_point_id, left_on=body.left_on
    )
    return FocalPointPublic.of(found.record.focal_point(focal_point_id))


@municipalities.post("/{municipality_id}/agreements", status_code=status.HTTP_201_CREATED, response_model=AgreementPublic, dependencies=WRITES)
def sign_agreement(municipality_id: str, body: AgreementCreate, registry: RegistryDep) -> AgreementPublic:
    """Record an agreement signed with the municipality (records `AgreementSigned`; its commitments sealed, only their count published)."""
    found, agreement_id = registry.sign_agreement(
        municipality_id=municipality_id,
        title=body.title,
        signed_on=body.signed_on,
        commitments=body.commitments,
        document_reference=body.document_reference,
    )
    return AgreementPublic.of(found.record.agreement(agreement_id), text=True)


@municipalities.post("/{municipality_id}/agreements/{agreement_id}/redaction", response_model=AgreementPublic, dependencies=[*WRITES, TAKES_NO_BODY])
def redact_agreement_commitments(municipality_id: str, agreement_id: UUID, registry: RegistryDep) -> AgreementPublic:
    """Forget an agreement's commitments for good; they read `[redacted]` (deletes their key). 404 `known_agreement` for an agreement not of the municipality.

    The agreement, its title, date and reference stay; the redaction is recorded (a private
    `AgreementCommitmentsRedacted`, ids only). Asked again, it forgets nothing more and answers the same. Commitments
    of an agreement recorded before they were sealed read `[redacted]` from then on too, but their words stay in the
    store's event that recorded them (see README, "Free text")."""
    return AgreementPublic.of(registry.redact_agreement_commitments(municipality_id=municipality_id, agreement_id=agreement_id), text=True)


# The app ---------------------------------------------------------------------------------


def _sending_to_the_last_survivor(api: FastAPI) -> FastAPI:
    """A command on an OSV merged into one merged since (A into B, then B into C) is sent to C, as funding and engagement
    send it (:class:`~shared.errors.OSVMergedError`'s ``now_in``): the domain knows only B, where the record is
    refused too (tester 126 F5). Read in the handler's thread, on the 409's path only."""
    as_conflict = api.exception_handlers[ConflictError]

    def handler(request: Request, exc: Exception) -> Response:
        if isinstance(exc, OSVMergedError) and exc.now_in is None:
            now_in = runtime_of(request).app.survivor_of(exc.into_osv_id)
            if now_in != exc.into_osv_id:
                exc = OSVMergedError(exc.into_osv_id, exc.merged_on, field=exc.field or "osv_id", which=exc.which, now_in=now_in)
        return as_conflict(request, exc)  # type: ignore[no-any-return]

    api.add_exception_handler(OSVMergedError, handler)
    return api


def create_app(settings: RegistrySettings | None = None, today: Clock = today_in_lima) -> FastAPI:
    """Build the registry service (run with ``uvicorn --factory``); ``today`` is the clock (Lima's date by default)."""
    return _sending_to_the_last_survivor(service_api(
        bootstrap(settings, today=today),
        title="osv-platform registry",
        description=(
            "Neighbourhood organisations (OSV): mapping, the RUOS application (Ordenanza 1762-2013-MML), "
            "contact and dissolution; municipalities: focal points, accepted identity documents, agreements.\n\n"
            "Lima's districts are the shipped table or the file `REGISTRY_DISTRICTS_FILE` names. Registry does not start "
            "while a stored OSV is in a district its table lacks; an OSV of such a district met while running (mapped by "
            "another replica with a fuller file) is read as stored by those who read all of Lima, and a command about it "
            "is 503 `osv_district_in_table` with `Retry-After`, never a 422 about the request."
        ),
        routers=(osvs, applications, ruos_corrections, municipalities, calendar),
    ))
