"""Registry's request and response bodies."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from pydantic_core import PydanticCustomError

from services.registry.application import Registry
from services.registry.domain.details import Composition, ContactChannel, DissolutionReason, FocusArea, OSVKind
from services.registry.domain.duplicates import has_letter_or_digit
from services.registry.domain.municipalities import Agreement, FocalPoint, MunicipalityRecord
from services.registry.domain.osvs import OSV
from services.registry.domain.readiness import Readiness
from services.registry.domain.ruos import (
    ApplicationStatus,
    ObservationReason,
    RejectionReason,
    RUOSApplication,
    RUOSDocument,
    document_mistakes,
)
from services.registry.domain.workingdays import NonWorkingDay, WorkingCalendar, check_working_day
from shared import dryrun
from shared.documents import DocumentType
from shared.roles import shown_text
from shared.schemas import Command, IsoDate, Name, Text, application_rule, domain_rule, list_rules, one_visible_line


def _with_a_letter_or_digit(number: str) -> str:
    if not has_letter_or_digit(number):
        raise PydanticCustomError("number_has_digits", "a number needs a letter or a digit (a dash alone numbers nothing)")
    return number


Number = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), one_visible_line, AfterValidator(_with_a_letter_or_digit)
]
"""A RUOS or resolution number as the municipality wrote it: one visible line (422 ``visible_text``) with a letter or a
digit (422 ``number_has_digits``: "－" was taken as an RUOS number, tester 135 F7), published."""


_SCHEMES = re.compile(r"\s*([a-z][a-z0-9+.\-]*):", re.IGNORECASE)


def _readable_source(source: str) -> str:
    """Where a decree can be read: words, or a web address (``http``/``https``); an address of another scheme
    (``javascript:``, ``data:``, ``file:``) is 422 ``web_address``: the source is published, and a page linking it ran it
    (tester 135 F8)."""
    scheme = _SCHEMES.match(source)
    if scheme and scheme[1].lower() in {"javascript", "data", "vbscript", "file", "blob"}:
        raise PydanticCustomError("web_address", "a web address of the decree starts with http:// or https://")
    return source
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
MunicipalityId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
"""``mml`` or a district's ubigeo; a district's name (up to 60 characters, as the longest) is told its ubigeo (422
``lima_municipality``), not that it is too long."""


def _with_letters(name: str) -> str:
    if not has_letter_or_digit(name):
        raise PydanticCustomError("name_has_letters", "an OSV's name needs a letter or a digit")
    return name


OSVName = Annotated[Name, AfterValidator(_with_letters)]
"""An OSV's name: 1–200 characters once trimmed, its runs of spaces made one, with a letter or a digit (422 ``name_has_letters``: "!!!" names nothing)."""


def _district_of_lima(registry: Registry, district: str) -> None:
    """A district registry's table knows by that name or ubigeo (422 ``lima_district``); the domain finds it again, in
    force on ``mapped_on`` too."""
    registry.district_named(district)


def _municipality_of_lima(registry: Registry, municipality_id: str) -> None:
    """``mml`` or a ubigeo of Lima's (422 ``lima_municipality``; 503 ``osv_district_in_table`` for one registry's table
    lacks while stored OSVs are in districts it lacks, :meth:`Registry.municipality_named`); whether the OSV deals with
    it is the application's."""
    registry.municipality_named(municipality_id)


# OSVs -------------------------------------------------------------------------


class OSVCreate(Command):
    name: OSVName = Field(description="The organisation's name, with a letter or a digit (422 `name_has_letters`).")
    district: Annotated[Text, application_rule(_district_of_lima)] = Field(
        description="A district of Lima Metropolitana, or its INEI ubigeo; case and accents are ignored (\"Brena\" is Breña, \"150105\" too). "
        "None of Lima's, a near miss (\"Lince Alto\"), a name of places in several districts (\"Santa María\") or a zone's name "
        "(\"Lima Norte\"): 422 `lima_district`, naming the districts it is near, may mean or the zone has."
    )
    mapped_on: IsoDate = Field(description="When the programme identified the OSV.")
    kind: OSVKind | None = Field(default=None, description="The kind of organisation, if known.")
    composition: Composition | None = Field(default=None, description="Who leads it: migrants, hosts, or both.")
    focus_areas: list[FocusArea] = Field(default_factory=list, max_length=len(FocusArea), description="What it works on.")
    contact_channel: ContactChannel | None = Field(
        default=None, description="How the programme reaches it: the kind only, never a number or a handle."
    )
    distinct_from: list[UUID] = Field(
        default_factory=list,
        max_length=50,
        description="OSVs of the district with the same or a near name, or this one with words added or left out, that are "
        "other organisations: without them, such a "
        "name is refused with 409 `possible_duplicate`, which names them.",
    )


class OSVMergeCreate(Command):
    duplicate_id: UUID = Field(description="The other record of the same organisation: it is merged into this OSV and takes no records after.")
    merged_on: IsoDate = Field(description="When staff found the two were one.")


class OSVMappingDateCorrection(Command):
    mapped_on: IsoDate = Field(
        description="The day the programme identified the OSV, as it should have been recorded: not after the first of what "
        "registry holds of it (422 `not_after_<field>`: its RUOS papers, application, registration, board renewal, a change of "
        "its details, loss of contact, dissolution, a record merged into it; of a kind recorded more than once, the earliest), "
        "nor ahead of today in Lima."
    )


class OSVNameCorrection(Command):
    name: OSVName = Field(
        description="The organisation's name as it should have been recorded, with a letter or a digit (422 `name_has_letters`)."
    )
    distinct_from: list[UUID] = Field(
        default_factory=list,
        max_length=50,
        description="OSVs of the district with the same or a near name, or this one with words added or left out, that are "
        "other organisations: without them, such a "
        "name is refused with 409 `possible_duplicate`, which names them (as for a mapping).",
    )


class OSVDetailsChange(Command):
    """Only the fields given change; give null to clear kind, composition or contact_channel."""

    kind: OSVKind | None = Field(default=None, description="The kind of organisation.")
    composition: Composition | None = Field(default=None, description="Who leads it.")
    focus_areas: list[FocusArea] | None = Field(default=None, max_length=len(FocusArea), description="What it works on (replaces the list).")
    contact_channel: ContactChannel | None = Field(default=None, description="How the programme reaches it (the kind only).")
    updated_on: IsoDate | None = Field(
        default=None,
        description="When the change was learnt; today in Lima if not given. After the OSV's dissolution: 409 `osv_not_dissolved`.",
    )

    def changes(self) -> dict[str, Any]:
        given = self.model_fields_set - {"updated_on"}
        changes = {name: getattr(self, name) for name in given}
        if "focus_areas" in changes and changes["focus_areas"] is None:
            changes["focus_areas"] = []
        return changes


RUOS_NUMBER = (
    "The number the municipality gave in its RUOS. Each municipality numbers its own: one OSV's within that municipality's "
    "RUOS, compared by its parts (runs of letters and digits): case, accents (`Resolucion` is `Resolución`, `Ñ` is `N`), "
    "full-width characters, the separators between parts "
    "(any run of anything else: spaces, any dash, `/`, `.`, `,`, `_`…), dots within an abbreviation, spaced or not "
    "(`R.U.O.S.`, `R. G.`), a thousands dot or comma (`1.234` and `1,234` are `1234`; `2022.123`, `077,2021` and `1-234` are "
    "two parts), a number sign before the number begins however typed (`N.º`, `Nº`, `N°`, `N˚`, `Nª`, `No.`, `Nro.`, "
    "`Nros.`, `n.`, glued: `Nro0905`, `RUOSNº0905`, closing an abbreviation: `R.U.O.S.N. 0907`; an `N` with no dot, `º` or "
    "`°`, or one after the number began, is an N series: `RUOS N. 0901` is `RUOS 0901`, `RUOS N-0901` is not) and a part's "
    "leading zeros do not make a new number (`RUOS SJL 2026 101` is `RUOS-SJL-2026-0101`, `ruos n. 77-2021` is `RUOS N° "
    "077-2021`); 409 "
    "`ruos_number_unique` if another OSV holds it there; another municipality's RUOS may hold the same. Kept as typed."
)
"""An RUOS number, as both registrations take it."""


class RUOSRegistrationCreate(Command):
    municipality_id: Annotated[MunicipalityId | None, application_rule(_municipality_of_lima)] = Field(
        default=None,
        description="Whose RUOS registered the OSV: its district's municipality (the district's ubigeo) or the MML (`mml`); "
        "another district's is 422 `municipality_of_the_osv`, one not of Lima 422 `lima_municipality`. A focal point may "
        "leave it out (its own municipality's, the MML's for the MML's); from anyone else, left out, it is 422 "
        "`registering_municipality_known`. A focal point naming another municipality is 403 `own_municipality_ruos`.",
    )
    ruos_number: Number = Field(description=RUOS_NUMBER)
    registered_on: IsoDate = Field(
        description="The date of the registration; it may precede this system, not the OSV's mapping (422 `not_before_mapped_on`): "
        "the indicators count an OSV's registration from the phase it was mapped in on."
    )
    resolution_number: Number | None = Field(default=None, description="The municipal resolution that registered the OSV.")
    board_term_ends_on: IsoDate | None = Field(default=None, description="When the registered board's term ends.")


class RUOSStatus(BaseModel):
    status: str = Field(description="`unregistered` or `registered`.")
    number: str | None = None
    registered_on: date | None = None
    municipality_id: str | None = Field(
        default=None,
        description="Whose RUOS the OSV is registered in (`mml` or a district's ubigeo): its focal point records the board's "
        "renewals. Null while unregistered, and for a registration recorded directly before such registrations named it "
        "(its district's municipality's focal point renews its board).",
    )


class ObservationPublic(BaseModel):
    observed_on: date
    reasons: list[ObservationReason]
    amend_by: date = Field(description="The last day to amend (working days skip weekends, Peruvian holidays and the días no laborables decreed for the public sector, see `GET /non-working-days`; one decreed after the observation within its window moves it later).")
    amended_on: date | None
    amended_documents: list[RUOSDocument]


class WithdrawnStepPublic(BaseModel):
    step: str = Field(description="`observation` or `rejection`: a step entered in error, withdrawn (it counts as never taken).")
    dated_on: date = Field(description="The day the step was dated (its `observed_on` or `rejected_on`).")
    withdrawn_on: date = Field(description="The day registry recorded the withdrawal (Lima); who and why are in the OSV's history.")


class RUOSApplicationPublic(BaseModel):
    application_id: UUID
    osv_id: UUID
    municipality_id: str
    status: ApplicationStatus
    submitted_on: date
    documents: list[RUOSDocument] = Field(
        description="Every document of the OSV's one list: recorded with `POST /osvs/{osv_id}/documents`, filed with the submission or an amendment."
    )
    missing_documents: list[RUOSDocument] = Field(description="Required documents not in that list; the registration is refused (409) while any is missing.")
    id_documents_flagged: bool = Field(
        description="Some people of the OSV held identity documents the municipality refuses when it applied. How many is "
        "staff's, in `GET /osvs/{osv_id}/ruos-readiness` (with `personal-data:read`): a count told a focal point which member "
        "it was in a small OSV (tester 135 F1)."
    )
    amend_by: date | None = Field(description="The amendment deadline while the application is observed, moved later by a día no laborable decreed since the observation within its window; the amendment and a rejection for `amendment_deadline_missed` go by it.")
    observations: list[ObservationPublic]
    registered_on: date | None
    ruos_number: str | None
    resolution_number: str | None
    rejected_on: date | None
    rejection_reason: RejectionReason | None
    withdrawn_steps: list[WithdrawnStepPublic] = Field(default_factory=list, description="Its steps withdrawn as entered in error, oldest first.")

    @classmethod
    def of(cls, osv_id: UUID, application: RUOSApplication, calendar: WorkingCalendar | None = None) -> RUOSApplicationPublic:
        """The application as answered; its deadlines in ``calendar`` (the registry's, with the días no laborables decreed
        since an observation), as the amendment and the rejection judge them; None: as recorded."""
        return cls(
            application_id=application.application_id,
            osv_id=osv_id,
            municipality_id=application.municipality_id,
            status=application.status,
            submitted_on=application.submitted_on,
            documents=application.documents,
            missing_documents=application.missing_documents,
            id_documents_flagged=application.id_documents_flagged,
            amend_by=application.amendment_deadline(calendar),
            observations=[
                ObservationPublic(
                    observed_on=o.observed_on,
                    reasons=o.reason_codes,
                    amend_by=o.deadline(calendar),
                    amended_on=o.amended_on,
                    amended_documents=o.amended_documents,
                )
                for o in application.observations
            ],
            registered_on=application.registered_on,
            ruos_number=application.ruos_number,
            resolution_number=application.resolution_number,
            rejected_on=application.rejected_on,
            rejection_reason=application.rejection_reason,
            withdrawn_steps=[WithdrawnStepPublic(step=w.step, dated_on=w.dated_on, withdrawn_on=w.withdrawn_on) for w in application.withdrawn],
        )


class ContactStatus(BaseModel):
    status: str = Field(description="`in_touch` or `lost`.")
    lost_since: date | None
    restored_on: date | None = Field(description="When contact was last restored, if it was ever lost.")


class DissolutionPublic(BaseModel):
    dissolved_on: date
    reason: DissolutionReason


class OSVPublic(BaseModel):
    id: UUID
    name: str
    district: str
    zone: str
    kind: OSVKind | None
    composition: Composition | None
    focus_areas: list[FocusArea]
    contact_channel: ContactChannel | None
    mapped_on: date
    ruos: RUOSStatus
    ruos_application: RUOSApplicationPublic | None = Field(description="The latest RUOS application, open or closed.")
    resolution_number: str | None
    board_term_ends_on: date | None
    contact: ContactStatus
    dissolution: DissolutionPublic | None
    merged_into: UUID | None = Field(default=None, description="The OSV this record was merged into (the same organisation recorded twice).")
    merged_on: date | None = None
    merged_from: list[UUID] = Field(default_factory=list, description="Duplicates merged into this OSV; their histories stay under their ids.")
    version: int = Field(description="How many events the OSV has recorded.")

    @classmethod
    def of(cls, osv: OSV, calendar: WorkingCalendar | None = None) -> OSVPublic:
        """The OSV as answered; its application's deadlines in ``calendar`` (:meth:`RUOSApplicationPublic.of`)."""
        application = osv.application
        return cls(
            id=osv.id,
            name=osv.name,
            district=osv.district,
            zone=osv.zone,
            kind=osv.kind,
            composition=osv.composition,
            focus_areas=osv.focus_areas,
            contact_channel=osv.contact_channel,
            mapped_on=osv.mapped_on,
            ruos=RUOSStatus(status=osv.ruos_status, number=osv.ruos_number, registered_on=osv.registered_on, municipality_id=osv.ruos_municipality_id),
            ruos_application=RUOSApplicationPublic.of(osv.id, application, calendar) if application else None,
            resolution_number=osv.resolution_number,
            board_term_ends_on=osv.board_term_ends_on,
            contact=ContactStatus(
                status="lost" if osv.contact_lost else "in_touch",
                lost_since=osv.contact_lost_since,
                restored_on=osv.contact_restored_on,
            ),
            dissolution=DissolutionPublic(dissolved_on=osv.dissolved_on, reason=osv.dissolution_reason)
            if osv.dissolved_on is not None and osv.dissolution_reason is not None
            else None,
            merged_into=osv.merged_into,
            merged_on=osv.merged_on,
            merged_from=list(osv.merged_from),
            version=dryrun.version_shown(osv),
        )


# Documents, readiness and the RUOS application ---------------------------------


class DocumentCreate(Command):
    document: RUOSDocument = Field(description="Which of the seven documents of Ordenanza 1762-2013-MML is ready.")
    prepared_on: IsoDate = Field(description="When it was ready.")


class DocumentsPublic(BaseModel):
    osv_id: UUID
    prepared: dict[RUOSDocument, date] = Field(description="Each document ready, with the day it was.")
    missing_documents: list[RUOSDocument]

    @classmethod
    def of(cls, osv: OSV) -> DocumentsPublic:
        return cls(osv_id=osv.id, prepared=dict(osv.documents_ready), missing_documents=osv.missing_documents)


class ReadinessPublic(BaseModel):
    osv_id: UUID
    municipality_id: str = Field(description="The municipality assessed against (`mml` or a ubigeo).")
    prepared_documents: dict[RUOSDocument, date]
    missing_documents: list[RUOSDocument]
    accepted_document_types: list[DocumentType] = Field(description="What that municipality accepts.")
    counts_known: bool = Field(description="False until engagement has published the OSV's identity-document counts.")
    counted_on: date | None
    board_members_total: int | None
    board_members_with_unaccepted_documents: int | None = Field(
        description="Board members holding a document the municipality refuses: to staff; null to others (a focal point, an "
        "auditor): read again after a member joined, the count that moved told that member's document's group, and against "
        "two municipalities' lists nearly its type (a person's migration status)."
    )
    members_total: int | None = Field(description="Every active member, the board included.")
    members_with_unaccepted_documents: int | None = Field(description="Every member holding a refused document, as `board_members_with_unaccepted_documents`.")
    id_documents_flagged: bool | None = Field(
        default=None,
        description="Someone of the OSV, board or not, holds a document the municipality refuses: to staff (`personal-data:read`); "
        "null to others, and until the counts are known. Read again after a member joined, the flag that turned told a focal "
        "point that this member's document is refused, their migration status, as a count did (tester 172 F1). The "
        "application keeps what it was when the OSV applied (`id_documents_flagged` of the application, and of "
        "`RUOSApplicationSubmitted`): the municipality learns it from the OSV's own application.",
    )
    board_by_document_type: dict[str, int] | None = Field(
        description="The board by document type, to a caller who reads members' personal data (staff); null to others (a focal "
        "point, an auditor): read again after each membership change, the count that moved would tell that member's document "
        "type, their migration status (`SOLICITANTE_REFUGIO`, `NINGUNO`)."
    )
    members_by_document_type: dict[str, int] | None = Field(description="Every active member by document type, as `board_by_document_type`.")
    ready: bool | None = Field(
        description="No missing document and nobody holding a refused document (counts must be known): to staff; null to "
        "others, for it turns with `id_documents_flagged` (the documents still missing are in `missing_documents`)."
    )

    @classmethod
    def of(cls, osv_id: UUID, readiness: Readiness, *, staff_counts: bool) -> ReadinessPublic:
        """The readiness as answered; what moves with the people's identity documents (the counts by type, of those
        holding a refused one, whether anyone does, and so ``ready``) only with ``staff_counts`` (the caller reads
        personal data); to others the documents and the totals."""
        return cls(
            osv_id=osv_id,
            municipality_id=readiness.municipality_id,
            prepared_documents=readiness.prepared_documents,
            missing_documents=readiness.missing_documents,
            accepted_document_types=readiness.accepted_document_types,
            counts_known=readiness.counts_known,
            counted_on=readiness.counted_on,
            board_members_total=readiness.board_members_total,
            board_members_with_unaccepted_documents=readiness.board_members_with_unaccepted_documents if staff_counts else None,
            members_total=readiness.members_total,
            members_with_unaccepted_documents=readiness.members_with_unaccepted_documents if staff_counts else None,
            id_documents_flagged=bool(readiness.members_with_unaccepted_documents or readiness.board_members_with_unaccepted_documents)
            if readiness.counts_known and staff_counts else None,
            board_by_document_type=readiness.board_by_document_type if staff_counts else None,
            members_by_document_type=readiness.members_by_document_type if staff_counts else None,
            ready=readiness.ready if staff_counts else None,
        )


class RUOSApplicationCreate(Command):
    municipality_id: Annotated[MunicipalityId, application_rule(_municipality_of_lima)] = Field(
        description="Where the OSV applies: its district's municipality (the district's ubigeo, e.g. `150110` for an OSV of "
        "Comas) or the MML (`mml`). Another district's is 422 `municipality_of_the_osv`; one not of Lima, 422 `lima_municipality` "
        "(503 `osv_district_in_table` for a ubigeo of Lima this process's districts table lacks while stored OSVs are in "
        "districts it lacks: see the 503 answer)."
    )
    submitted_on: IsoDate = Field(description="When it filed the application.")
    documents: Annotated[list[RUOSDocument], list_rules(document_mistakes)] = Field(
        default_factory=list,
        max_length=len(RUOSDocument),
        description="Documents filed now that were not recorded with `POST /osvs/{osv_id}/documents`, each once (422 "
        "`unique_documents`); the application lists every document the OSV has, and these join that list (one recorded "
        "before may be named again).",
    )


class ObservationReasonCreate(Command):
    code: ObservationReason = Field(description="Why the municipality observed the application.")
    detail: Note | None = Field(default=None, description="Staff's words; kept in registry, never published.")


class ObservationCreate(Command):
    observed_on: IsoDate = Field(description="When the municipality observed the application.")
    reasons: list[ObservationReasonCreate] = Field(min_length=1, max_length=20, description="At least one reason.")
    amend_within_working_days: int | None = Field(
        default=None, strict=True, ge=1, le=60,
        description="The deadline the municipality gave, in Peruvian working days (a JSON integer, 1 to 60); the service's setting if not given.",
    )


class AmendmentCreate(Command):
    amended_on: IsoDate = Field(description="When the OSV filed its amendment (by the deadline).")
    documents: Annotated[list[RUOSDocument], list_rules(document_mistakes)] = Field(
        min_length=1, max_length=len(RUOSDocument), description="The documents filed with it, each once (422 `unique_documents`)."
    )


class ApplicationRegistrationCreate(Command):
    registered_on: IsoDate = Field(description="The date of the registration.")
    ruos_number: Number = Field(description=RUOS_NUMBER)
    resolution_number: Number | None = Field(default=None, description="The municipal resolution that registered the OSV.")
    board_term_ends_on: IsoDate | None = Field(default=None, description="When the registered board's term ends.")


class RejectionCreate(Command):
    rejected_on: IsoDate = Field(description="When the municipality rejected the application.")
    reason: RejectionReason = Field(description="Why, as a code.")
    note: Note | None = Field(default=None, description="Staff's words; kept in registry, never published.")


class BoardRenewalCreate(Command):
    renewed_on: IsoDate = Field(description="When the OSV elected its new board.")
    term_ends_on: IsoDate = Field(description="When the new board's term ends.")


# Contact and dissolution -----------------------------------------------------------


class ContactLostCreate(Command):
    since: IsoDate = Field(description="Since when the programme cannot reach the OSV.")
    note: Note | None = Field(default=None, description="Staff's words; kept in registry, never published.")


class ContactRestoredCreate(Command):
    restored_on: IsoDate = Field(description="When the programme reached the OSV again.")


class DissolutionCreate(Command):
    dissolved_on: IsoDate = Field(
        description="When the OSV ceased to exist: not before its mapping nor the last of what registry holds of it (422 "
        "`not_before_<field>`: its RUOS papers (a document recorded again: its last day), application steps but a rejection, "
        "registration, board renewal, the last return of contact, a record merged into it; not a change of its details nor "
        "a loss of contact, often learned of before the dissolution); the day itself is taken."
    )
    reason: DissolutionReason = Field(description="Why, as a code.")
    note: Note | None = Field(default=None, description="Staff's words; kept in registry, never published.")


# Municipalities -------------------------------------------------------------------


class AcceptedDocumentsUpdate(Command):
    accepted: list[DocumentType] = Field(
        min_length=1, max_length=len(DocumentType), description="Every identity-document type the municipality accepts."
    )
    changed_on: IsoDate = Field(description="Since when.")


class FocalPointCreate(Command):
    office: Text = Field(description="The office, e.g. Subgerencia de Participación Vecinal (never a person's name).")
    role: Text = Field(description="The post within the office, e.g. especialista (never a person's name).")
    assigned_on: IsoDate = Field(description="Since when; the current focal point, if any, leaves that day.")


class FocalPointDepartureCreate(Command):
    left_on: IsoDate = Field(description="When the focal point left the post.")


class AgreementCreate(Command):
    title: Text = Field(description="The agreement's title.")
    signed_on: IsoDate = Field(description="When it was signed.")
    commitments: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]] = Field(
        min_length=1,
        max_length=50,
        description="What each party committed to, 1-1,000 characters each: staff's words, kept sealed in registry (only their "
        "count is published), `[withheld]` to readers without `personal-data:read`, forgotten with "
        "`POST /municipalities/{municipality_id}/agreements/{agreement_id}/redaction`. Name roles and offices, never a person.",
    )
    document_reference: Text = Field(description="Where the signed document is filed.")


class FocalPointPublic(BaseModel):
    focal_point_id: UUID
    office: str
    role: str
    assigned_on: date
    left_on: date | None = Field(description="Null while the focal point is current.")

    @classmethod
    def of(cls, focal_point: FocalPoint) -> FocalPointPublic:
        return cls(
            focal_point_id=focal_point.focal_point_id,
            office=focal_point.office,
            role=focal_point.role,
            assigned_on=focal_point.assigned_on,
            left_on=focal_point.left_on,
        )


class AcceptedDocumentsChangePublic(BaseModel):
    accepted: list[DocumentType]
    changed_on: date


class AgreementPublic(BaseModel):
    agreement_id: UUID
    title: str
    signed_on: date
    commitments: list[str] = Field(
        description="Each commitment as written, to a reader with `personal-data:read` (staff, leads); each `[withheld]` to "
        "anyone else (a focal point, an auditor), as many as were written; each `[redacted]` to everyone once forgotten "
        "(`POST …/agreements/{agreement_id}/redaction`)."
    )
    document_reference: str

    @classmethod
    def of(cls, agreement: Agreement, *, text: bool) -> AgreementPublic:
        """The agreement; its commitments as written only when ``text`` (the reader may read staff's free text), else withheld."""
        return cls(
            agreement_id=agreement.agreement_id,
            title=agreement.title,
            signed_on=agreement.signed_on,
            commitments=[shown_text(c, text) for c in agreement.commitments],
            document_reference=agreement.document_reference,
        )


class MunicipalityPublic(BaseModel):
    id: str = Field(description="`mml` or the district's ubigeo.")
    name: str
    zone: str | None = Field(description="The district's zone; null for the MML.")
    current_focal_point: FocalPointPublic | None = Field(description="Null when continuity is broken.")
    focal_points: list[FocalPointPublic] = Field(description="Every focal point, oldest first.")
    accepted_documents: list[DocumentType] = Field(description="Identity-document types accepted now.")
    accepted_documents_history: list[AcceptedDocumentsChangePublic] = Field(
        description="Every recorded change, oldest first; empty while the defaults apply."
    )
    agreements: list[AgreementPublic] = Field(
        description="Every agreement, in the order recorded; their commitments `[withheld]` to readers without `personal-data:read`."
    )

    @classmethod
    def of(cls, found: MunicipalityRecord, *, text: bool) -> MunicipalityPublic:
        """The municipality; its agreements' commitments as written only when ``text``, else withheld."""
        record = found.record
        current = record.current_focal_point
        return cls(
            id=found.reference.id,
            name=found.reference.name,
            zone=found.reference.zone,
            current_focal_point=FocalPointPublic.of(current) if current else None,
            focal_points=[FocalPointPublic.of(f) for f in record.focal_points],
            accepted_documents=record.accepted,
            accepted_documents_history=[
                AcceptedDocumentsChangePublic(accepted=c.accepted, changed_on=c.changed_on) for c in record.accepted_history
            ],
            agreements=[AgreementPublic.of(a, text=text) for a in record.agreements],
        )


# The calendar of deadlines -------------------------------------------------------


class NonWorkingDayCreate(Command):
    day: Annotated[IsoDate, domain_rule(check_working_day)] = Field(
        description="The día no laborable: past, or ahead of it, as decrees are published before their days (up to 10 years "
        "ahead: 422 `within_planning_horizon`). A working day: a Saturday, a Sunday or a public holiday of Peru is not one "
        "whatever is decreed, so a decree on it moves no deadline (422 `working_day`, saying which: a mistyped day?)."
    )
    decree: Text = Field(description="The decree that set it, e.g. `D.S. N.º 161-2021-PCM`.")
    scope: Text = Field(
        default="nacional",
        description="Where it applies: `nacional`, or the area the decree names. Lima's deadlines skip a day for the whole country or "
        "one whose area names Lima (`Lima Metropolitana y Callao`); one for another area (`Región Cusco`) is listed and moves none.",
    )
    source: Annotated[Text, AfterValidator(_readable_source)] | None = Field(
        default=None, description="Where the decree can be read (El Peruano's page…): words, or an `http`/`https` address (422 `web_address`)."
    )


class NonWorkingDayRevocationCreate(Command):
    revoked_by: Text = Field(description="The decree that annulled the day, or why it was recorded by mistake.")


class NonWorkingDayPublic(BaseModel):
    day: date
    decree: str
    scope: str
    source: str | None
    recorded: bool = Field(description="True when recorded with `POST /non-working-days`; false when shipped with the service's data.")

    @classmethod
    def of(cls, day: NonWorkingDay, recorded: bool) -> NonWorkingDayPublic:
        return cls(day=day.day, decree=day.decree, scope=day.scope, source=day.source, recorded=recorded)
