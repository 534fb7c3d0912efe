"""Registry's public events: what partners and the other services see of it.

Each model is one entry of the event catalogue (``catalogue/schemas/``).
Staff notes (an observation's detail, a rejection's or a dissolution's note,
why contact was lost, why an RUOS step was withdrawn) and the text of an agreement's commitments may mention
people: they stay in registry and never appear here.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field, field_validator

from services.registry.domain.duplicates import DistrictRoll
from services.registry.domain.municipalities import Municipality
from services.registry.domain.osvs import OSV
from services.registry.domain.ruos import RUOSNumberIndex
from services.registry.domain.workingdays import DecreedDays
from shared.events import DistinctFrom, EventCatalogue, PublicEvent
from shared.idempotency import IdempotentRequest

catalogue = EventCatalogue("registry")

# Bookkeeping that never leaves: the claim on an RUOS number (its uniqueness
# index) and the opening of a municipality's record (the reference data exists
# without it; partners see the change that opened it).
catalogue.keeps_private(RUOSNumberIndex.RUOSNumberClaimed, Municipality.MunicipalityRecordOpened, DecreedDays.DecreedDaysOpened)

# Each district's roll of OSV names (what a new OSV is compared with), and the survivor's side of a merge as it was
# recorded before DuplicateMergedIn (those merges reached only the duplicate's municipality, in OSVMerged; publishing
# them now would put events in the feed that the streams never carried, under positions consumers have settled).
catalogue.keeps_private(
    DistrictRoll.DistrictRollOpened, DistrictRoll.OSVListed, DistrictRoll.OSVUnlisted,
    DistrictRoll.MergedNameKept, DistrictRoll.NameCorrected, DistrictRoll.FormerNameKept, OSV.DuplicateAbsorbed,
)

# That an agreement's commitments, or the staff's words in one event of an OSV's history, were forgotten (ids and the
# version only; the key that sealed them is deleted right after): staff's words were never published, so partners have
# nothing to forget.
catalogue.keeps_private(Municipality.AgreementCommitmentsRedacted, OSV.HistoryTextRedacted)

# The record of each request carried out under an Idempotency-Key (what it saved,
# a fingerprint of the request): the service's own bookkeeping for safe retries.
catalogue.keeps_private(IdempotentRequest.Recorded)


# OSVs ---------------------------------------------------------------------


@catalogue.publishes(OSV.OSVMapped)
class OSVMapped(PublicEvent):
    """The programme found a neighbourhood organisation and put it on its map."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "mapped_on"

    osv_id: UUID
    name: str = Field(description="The organisation's name (not a person's).")
    district: str = Field(description="A district of Lima Metropolitana (its official name, as in the districts list).")
    zone: str = Field(description="Lima Norte, Lima Sur, Lima Este or Lima Centro.")
    kind: str | None = None
    mapped_on: date
    composition: str | None = Field(default=None, description="`migrant_led`, `mixed` or `host_led`, if known.")
    focus_areas: list[str] = Field(default_factory=list, description="What the OSV works on (employment, health…).")
    contact_channel: str | None = Field(
        default=None, description="How the programme reaches the OSV (`whatsapp`, `phone`…): the kind only, never a number."
    )
    distinct_from: DistinctFrom = Field(
        default_factory=list,
        description="OSVs of the same district with the same or a near name, or this one with words added or left out, that "
        "staff said are other organisations.",
    )

    @field_validator("focus_areas", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


@catalogue.publishes(OSV.OSVDetailsUpdated)
class OSVDetailsUpdated(PublicEvent):
    """Staff corrected or completed what the programme knows of the OSV; only the fields in `changed` changed."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "updated_on"

    osv_id: UUID
    updated_on: date
    changed: list[str] = Field(description="Which of kind, composition, focus_areas, contact_channel changed.")
    kind: str | None = None
    composition: str | None = None
    focus_areas: list[str] | None = None
    contact_channel: str | None = None

    @classmethod
    def from_domain(cls, event: Any) -> OSVDetailsUpdated:
        changes = dict(event.changes)
        return cls(
            osv_id=event.originator_id,
            occurred_on=event.updated_on,
            updated_on=event.updated_on,
            changed=sorted(changes),
            **{name: value for name, value in changes.items()},
        )


@catalogue.publishes(OSV.OSVNameCorrected)
class OSVNameCorrected(PublicEvent):
    """The OSV's name was recorded wrong, or was a provisional one: call it `name` from now on, in every report, the past
    phases' included. Its district, and so its municipality, is as it was. An organisation's name, not a person's."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "corrected_on"

    osv_id: UUID
    previous_name: str = Field(description="The name it had until now (as `OSVMapped` or an earlier `OSVNameCorrected` gave it).")
    name: str = Field(description="The organisation's name, corrected.")
    corrected_on: date = Field(description="The day registry recorded the correction (Lima).")
    distinct_from: DistinctFrom = Field(
        default_factory=list,
        description="OSVs of the same district with the same or a near name, or this one with words added or left out, that "
        "staff said, correcting it, are other "
        "organisations (empty for a correction recorded before they were kept).",
    )


@catalogue.publishes(OSV.OSVMappingDateCorrected)
class OSVMappingDateCorrected(PublicEvent):
    """The day the OSV was mapped was recorded wrong: it was mapped on `mapped_on`. Every report counts it as identified
    in that day's phase from now on, the past phases' included; nothing of the OSV is dated before it from now on."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "corrected_on"

    osv_id: UUID
    previous_mapped_on: date = Field(description="The day it had until now (as `OSVMapped` or an earlier correction gave it).")
    mapped_on: date = Field(description="The day the programme identified the OSV, corrected.")
    corrected_on: date = Field(description="The day registry recorded the correction (Lima).")
    district: str = Field(description="The OSV's district (its mapping's): where reporting counts it.")
    zone: str = Field(description="The OSV's zone of Lima (its mapping's).")


@catalogue.publishes(OSV.RUOSDocumentPrepared)
class RUOSDocumentPrepared(PublicEvent):
    """The OSV has one of the documents an RUOS application needs ready."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "prepared_on"

    osv_id: UUID
    document: str = Field(description="One of the seven documents of Ordenanza 1762-2013-MML (acta_constitucion…).")
    prepared_on: date


@catalogue.publishes(OSV.RUOSApplicationSubmitted)
class RUOSApplicationSubmitted(PublicEvent):
    """The OSV applied to a municipality's RUOS, with what it filed and what registry saw missing or at risk."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "submitted_on"

    osv_id: UUID
    application_id: UUID
    municipality_id: str = Field(description="`mml` or a district's ubigeo.")
    submitted_on: date
    documents: list[str]
    missing_documents: list[str]
    id_documents_flagged: bool = Field(
        description="Some board members or members hold identity documents the municipality does not accept. How many is "
        "not published: in a small OSV, with the members' joinings on the same feed, the count told which member holds "
        "a refused document (an asylum seeker's card, none), as the counts by document type did (tester 135 F1)."
    )


@catalogue.publishes(OSV.RUOSApplicationObserved)
class RUOSApplicationObserved(PublicEvent):
    """The municipality observed the application and gave a deadline, in working days, to amend it."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "observed_on"

    osv_id: UUID
    application_id: UUID
    observed_on: date
    reasons: list[str] = Field(description="Reason codes (missing_document, id_document_not_accepted…); details stay in registry.")
    amend_by: date = Field(description="The last day to amend: working days skip weekends, Peruvian holidays and decreed días no laborables. A día no laborable decreed or revoked later that moves it is told in `RUOSAmendmentDeadlineMoved`.")

    @classmethod
    def from_domain(cls, event: Any) -> RUOSApplicationObserved:
        return cls(
            osv_id=event.originator_id,
            occurred_on=event.observed_on,
            application_id=event.application_id,
            observed_on=event.observed_on,
            reasons=[r["code"] for r in event.reasons],
            amend_by=event.amend_by,
        )


@catalogue.publishes(OSV.RUOSAmendmentDeadlineMoved)
class RUOSAmendmentDeadlineMoved(PublicEvent):
    """A día no laborable decreed or revoked since the observation moved the deadline to amend the application: registry takes an amendment until `amend_by`, and a rejection for `amendment_deadline_missed` only after it."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "moved_on"

    osv_id: UUID
    application_id: UUID
    municipality_id: str = Field(description="Whose RUOS the application is in: `mml` or a district's ubigeo.")
    amend_by: date = Field(description="The last day to amend now, in working days from `observed_on` (weekends, Peruvian holidays and every día no laborable recorded skipped), never before the `amend_by` recorded with the observation.")
    previous_amend_by: date = Field(description="The deadline it replaces: `RUOSApplicationObserved`'s `amend_by`, or that of the last `RUOSAmendmentDeadlineMoved`.")
    moved_on: date = Field(description="The day registry recorded the decree or the revocation (Lima).")
    day: date = Field(description="The día no laborable decreed (`revoked` false) or revoked: `NonWorkingDayDecreed`'s or `NonWorkingDayRevoked`'s `day`.")
    decree: str = Field(description="The decree that set the day, e.g. `D.S. N.º 161-2021-PCM`.")
    revoked: bool = Field(description="Whether the day was revoked (it counts as a working day again) rather than decreed. Why it was revoked is staff's words, kept in registry: not published under a municipality.")


@catalogue.publishes(OSV.RUOSApplicationAmended)
class RUOSApplicationAmended(PublicEvent):
    """The OSV amended its observed application within the deadline."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "amended_on"

    osv_id: UUID
    application_id: UUID
    amended_on: date
    documents: list[str] = Field(description="The documents filed with the amendment.")
    missing_documents: list[str] = Field(description="Required documents still not filed.")


@catalogue.publishes(OSV.RUOSRegistered)
class RUOSRegistered(PublicEvent):
    """The OSV is registered in the municipal Registro Único de Organizaciones Sociales."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "registered_on"

    osv_id: UUID
    ruos_number: str
    registered_on: date
    application_id: UUID | None = Field(default=None, description="The application registered; null for a registration recorded directly.")
    municipality_id: str | None = Field(
        default=None,
        description="Whose RUOS registered the OSV: `mml` or its district's ubigeo. Every registration recorded now names it; "
        "null only in one recorded directly (`application_id` null) before direct registrations named their municipality: "
        "read such a one as not known (reporting places it by the OSV's district).",
    )
    resolution_number: str | None = Field(default=None, description="The municipal resolution that registered the OSV.")
    board_term_ends_on: date | None = Field(default=None, description="When the registered board's term ends.")


@catalogue.publishes(OSV.RUOSRegistrationCorrected)
class RUOSRegistrationCorrected(PublicEvent):
    """The OSV's registration in the RUOS was recorded with a slip: from now on it reads as this event says, and every
    report counts it so, the past phases' included (the registration counts in the phase of `registered_on`). Whose RUOS
    registered the OSV is as it was. Each value is given, corrected or not; `corrected` names those that differ."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "corrected_on"

    osv_id: UUID
    corrected: list[str] = Field(description="Which of ruos_number, registered_on, resolution_number, board_term_ends_on were corrected.")
    ruos_number: str = Field(description="The number in the municipality's RUOS, from now on.")
    registered_on: date = Field(description="The day the municipality registered the OSV, from now on.")
    resolution_number: str | None = Field(description="The municipal resolution that registered the OSV, from now on (null: none).")
    board_term_ends_on: date | None = Field(
        description="When the registered board's term ends, from now on (null: not known). A board renewed since keeps the "
        "term its `BoardRenewed` gave: that one is in force."
    )
    previous_ruos_number: str = Field(description="The number until now (`RUOSRegistered`'s, or an earlier correction's).")
    previous_registered_on: date
    previous_resolution_number: str | None
    previous_board_term_ends_on: date | None
    municipality_id: str = Field(
        description="Whose RUOS holds the registration: `mml` or a district's ubigeo (for one recorded directly before "
        "registrations named it, the OSV's district's)."
    )
    application_id: UUID | None = Field(description="The application the registration closed; null for one recorded directly.")
    corrected_on: date = Field(description="The day registry recorded the correction (Lima).")


@catalogue.publishes(OSV.RUOSApplicationRejected)
class RUOSApplicationRejected(PublicEvent):
    """The municipality rejected the application; the OSV may apply again."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "rejected_on"

    osv_id: UUID
    application_id: UUID
    rejected_on: date
    reason: str = Field(description="amendment_deadline_missed, requirements_not_met, not_eligible, withdrawn or other.")


@catalogue.publishes(OSV.RUOSObservationWithdrawn)
class RUOSObservationWithdrawn(PublicEvent):
    """An observation of the application entered in error (on the wrong application, or never made by the municipality)
    was withdrawn: the application was never so observed, and stands as before it, under review (`status`) with no
    deadline to amend. It was the application's last step. Repeats the observation's day and reason codes, so a reader
    takes it back without looking it up: reporting counts it in `ruos_applications_observed` no more, in every report made
    after, those of past phases included. Why it was entered in error is staff's words, never published."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "withdrawn_on"

    osv_id: UUID
    application_id: UUID
    municipality_id: str = Field(description="Whose RUOS the application is in: `mml` or a district's ubigeo.")
    observed_on: date = Field(description="The day the withdrawn observation was dated (its `RUOSApplicationObserved`'s `observed_on`).")
    observation_reasons: list[str] = Field(description="The withdrawn observation's reason codes (its `RUOSApplicationObserved`'s `reasons`).")
    status: str = Field(
        description="The application's status from now on: `submitted`, or `amended` when an earlier observation was amended."
    )
    withdrawn_on: date = Field(description="The day registry recorded the withdrawal (Lima).")


@catalogue.publishes(OSV.RUOSRejectionWithdrawn)
class RUOSRejectionWithdrawn(PublicEvent):
    """The application's rejection entered in error (on the wrong application, or never made by the municipality) was
    withdrawn: the application was never rejected, and is open again as it stood before (`status`), for the municipality
    to observe, register or reject. It was the application's last step: no application followed it, and the OSV was not
    registered since. Repeats the rejection's day and reason code. Why it was entered in error is staff's words, never
    published."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "withdrawn_on"

    osv_id: UUID
    application_id: UUID
    municipality_id: str = Field(description="Whose RUOS the application is in: `mml` or a district's ubigeo.")
    rejected_on: date = Field(description="The day the withdrawn rejection was dated (its `RUOSApplicationRejected`'s `rejected_on`).")
    rejection_reason: str = Field(description="The withdrawn rejection's reason code (its `RUOSApplicationRejected`'s `reason`).")
    status: str = Field(description="The application's status from now on: `submitted`, `observed` or `amended`.")
    amend_by: date | None = Field(
        description="While `status` is `observed`, the last day to amend, counted as `RUOSAmendmentDeadlineMoved` counts it "
        "(días no laborables decreed since the observation included; it may have passed); null otherwise."
    )
    withdrawn_on: date = Field(description="The day registry recorded the withdrawal (Lima).")


@catalogue.publishes(OSV.BoardRenewed)
class BoardRenewed(PublicEvent):
    """A registered OSV elected a new board; registry follows when its term ends."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "renewed_on"

    osv_id: UUID
    renewed_on: date
    term_ends_on: date


@catalogue.publishes(OSV.ContactLost)
class ContactLost(PublicEvent):
    """The programme lost contact with the OSV (the staff note stays in registry)."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "since"

    osv_id: UUID
    since: date


@catalogue.publishes(OSV.ContactRestored)
class ContactRestored(PublicEvent):
    """The programme is back in touch with the OSV."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "restored_on"

    osv_id: UUID
    restored_on: date


@catalogue.publishes(OSV.OSVDissolved)
class OSVDissolved(PublicEvent):
    """The OSV no longer exists from `dissolved_on`: every service refuses a record about it dated later (409 `osv_not_dissolved`) and takes its backlog dated on or before."""

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "dissolved_on"

    osv_id: UUID
    dissolved_on: date
    reason: str = Field(description="inactive, members_emigrated, merged, members_decided or other.")


@catalogue.publishes(OSV.OSVMerged)
class OSVMerged(PublicEvent):
    """Two OSVs were one organisation recorded twice: `osv_id` is merged into `into_osv_id`.

    Both keep their history. From this event on, `osv_id` takes no records
    and counts nowhere on its own: reporting counts the organisation once
    (one OSV identified, in `into_osv_id`'s phase and district; its support
    and contact loss are `into_osv_id`'s), and the services' views send
    what would have named `osv_id` to `into_osv_id`. It goes out under the
    duplicate's municipality; `into_osv_id` records `DuplicateMergedIn`, which
    goes out under its own.
    """

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "merged_on"

    osv_id: UUID = Field(description="The duplicate: the record merged away.")
    into_osv_id: UUID = Field(description="The OSV that stays.")
    merged_on: date
    district: str = Field(description="The duplicate's district, as its OSVMapped said.")
    zone: str
    mapped_on: date = Field(description="When the duplicate was mapped: where reporting takes back its count.")


@catalogue.publishes(OSV.DuplicateMergedIn)
class DuplicateMergedIn(PublicEvent):
    """Another record of this OSV, possibly from another district, was merged into it: the survivor's side of `OSVMerged`.

    `OSVMerged` goes out under the duplicate's municipality; this event goes out
    under the OSV's own, so that its district's partner learns that the OSV now
    carries the record's history (its grants, members and activities count as
    this OSV's from the merge on). It adds nothing to `OSVMerged`'s figures:
    reporting counts the merge from `OSVMerged` alone.
    """

    id_field: ClassVar[str] = "osv_id"
    occurred_field: ClassVar[str] = "merged_on"

    osv_id: UUID = Field(description="The OSV that stays (`OSVMerged`'s `into_osv_id`).")
    duplicate_id: UUID = Field(description="The record merged into it (`OSVMerged`'s `osv_id`).")
    merged_on: date
    duplicate_name: str = Field(description="The duplicate's name (an organisation's, as its OSVMapped said).")
    duplicate_district: str = Field(description="The duplicate's district, as its OSVMapped said: another municipality's, when the merge crosses districts.")


# Municipalities ---------------------------------------------------------------


class MunicipalityEvent(PublicEvent):
    """A municipality is named by its own id (`mml`, a ubigeo), which its events carry, not by its record's uuid."""

    id_field: ClassVar[str | None] = None


@catalogue.publishes(Municipality.AcceptedDocumentsChanged)
class AcceptedDocumentsChanged(MunicipalityEvent):
    """The identity-document types a municipality accepts for the RUOS changed."""

    occurred_field: ClassVar[str] = "changed_on"

    municipality_id: str = Field(description="`mml` or a district's ubigeo.")
    accepted: list[str] = Field(description="Document type codes: DNI, CE, PTP, CPP, PASAPORTE, CEDULA_VE…")
    changed_on: date


@catalogue.publishes(Municipality.FocalPointAssigned)
class FocalPointAssigned(MunicipalityEvent):
    """A municipality named a focal point for the programme: a post (office and role), never a person."""

    occurred_field: ClassVar[str] = "assigned_on"

    municipality_id: str = Field(description="`mml` or a district's ubigeo.")
    focal_point_id: UUID
    office: str = Field(description="The office, e.g. Gerencia de Participación Vecinal.")
    role: str = Field(description="The post within the office, e.g. especialista.")
    assigned_on: date


@catalogue.publishes(Municipality.FocalPointLeft)
class FocalPointLeft(MunicipalityEvent):
    """A focal point left the post (rotation or departure)."""

    occurred_field: ClassVar[str] = "left_on"

    municipality_id: str = Field(description="`mml` or a district's ubigeo.")
    focal_point_id: UUID
    left_on: date


@catalogue.publishes(Municipality.AgreementSigned)
class AgreementSigned(MunicipalityEvent):
    """The programme and a municipality signed an agreement that outlives officials' rotation."""

    occurred_field: ClassVar[str] = "signed_on"

    municipality_id: str = Field(description="`mml` or a district's ubigeo.")
    agreement_id: UUID
    title: str
    signed_on: date
    document_reference: str = Field(description="Where the signed document is filed.")
    commitments_count: int = Field(description="How many commitments it holds (their text stays in registry).")

    @classmethod
    def from_domain(cls, event: Any) -> AgreementSigned:
        return cls(
            occurred_on=event.signed_on,
            municipality_id=event.municipality_id,
            agreement_id=event.agreement_id,
            title=event.title,
            signed_on=event.signed_on,
            document_reference=event.document_reference,
            commitments_count=len(event.commitments),
        )


# The calendar of deadlines ------------------------------------------------------


@catalogue.publishes(DecreedDays.NonWorkingDayDecreed)
class NonWorkingDayDecreed(PublicEvent):
    """A decree made a day non-working for the public sector (día no laborable): deadlines in working days skip it.

    Programme-wide (no municipality): each application under observation whose
    deadline it moves has its `RUOSAmendmentDeadlineMoved`, under its OSV's
    municipality, recorded in the same transaction.
    """

    id_field: ClassVar[str | None] = None
    occurred_field: ClassVar[str] = "day"

    day: date
    decree: str = Field(description="The decree that set it, e.g. `D.S. N.º 161-2021-PCM`.")
    scope: str = Field(description="Where it applies: `nacional`, or the area the decree names (Lima Metropolitana y Callao…).")
    source: str | None = Field(default=None, description="Where the decree can be read.")


@catalogue.publishes(DecreedDays.NonWorkingDayRevoked)
class NonWorkingDayRevoked(PublicEvent):
    """A recorded día no laborable counts as a working day again (annulled, or recorded by mistake).

    Each application under observation whose deadline it moves back has its
    `RUOSAmendmentDeadlineMoved`, under its OSV's municipality.
    """

    id_field: ClassVar[str | None] = None
    occurred_field: ClassVar[str] = "day"

    day: date
    # Why it was revoked (revoked_by: the annulling decree, or staff's words on a day recorded by mistake) stays in
    # registry: a programme-wide event goes out under `none`, which the MML's partner reads (tester 135 F2).
