"""Registry's domain: neighbourhood organisations (OSV) and their way into the RUOS.

Pure: the OSV aggregate, the events it records and the named errors of its
rules. Each step of its RUOS application (:mod:`.ruos`) is an event of the
OSV. Staff notes (an observation's detail, why contact was lost, why an
OSV dissolved) may mention people: they stay in registry's store, and a
redaction recorded here (:mod:`.historyredactions`) makes one read ``[redacted]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from services.registry.domain.deadlines import AmendmentDeadlines
from services.registry.domain.details import (
    Composition,
    ContactChannel,
    DissolutionReason,
    FocusArea,
    OSVKind,
    kept_details,
)
from services.registry.domain.historyredactions import HistoryRedactions
from services.registry.domain.lifecycle import Lifecycle
from services.registry.domain.mappingdates import MappingDateCorrections
from services.registry.domain.naming import NameCorrections
from services.registry.domain.ruos import (
    OPEN,
    UNDER_REVIEW,
    AlreadyRegisteredError,
    AmendmentDeadlinePassedError,
    AmendmentWindowError,
    ApplicationNotFoundError,
    ApplicationOpenError,
    ApplicationStatus,
    DeadlineNotMissedError,
    NoObservationReasonError,
    NotRegisteredError,
    Observation,
    ObservationReason,
    RejectionReason,
    RUOSApplication,
    RUOSDocument,
    check_documents_once,
    check_reasons_once,
    documents_in_order,
    missing_from,
)
from services.registry.domain.ruoscorrections import RegistrationCorrections
from services.registry.domain.ruoswithdrawals import StepWithdrawals
from services.registry.domain.workingdays import HOLIDAYS_ONLY, WorkingCalendar
from shared.errors import (
    ConflictError,
    DateBeforeError,
    NotFoundError,
    OSVDissolvedError,
    OSVMergedError,
    RuleViolationError,
    check_not_dissolved_by,
)

# Named errors -----------------------------------------------------------

class OSVNotFoundError(NotFoundError):
    def __init__(self, osv_id: object) -> None:
        super().__init__(f"OSV {osv_id} is not in the registry", field="osv_id", rule="known_osv")


class OSVToMergeNotFoundError(RuleViolationError):
    def __init__(self, osv_id: object) -> None:
        super().__init__(f"OSV {osv_id} is not in the registry", field="duplicate_id", rule="known_osv")


class RegisteredBeforeMappedError(DateBeforeError):
    def __init__(self, registered_on: date, mapped_on: date) -> None:
        super().__init__("registered_on", registered_on, "mapped_on", mapped_on)


class NotAfterError(RuleViolationError):
    """An end that does not come after its start (a board's term)."""

    def __init__(self, field: str, given: date, start_field: str, start: date) -> None:
        super().__init__(
            f"{field} {given.isoformat()} must be after {start_field} {start.isoformat()}",
            field=field,
            rule=f"after_{start_field}",
        )

class NothingToChangeError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__(
            "the request changes nothing: give at least one of kind, composition, focus_areas or contact_channel "
            "with a value different from the current one",
            field="body",
            rule="change_required",
        )

class DocumentsMissingError(ConflictError):
    def __init__(self, missing: Iterable[str]) -> None:
        names = ", ".join(str(d) for d in missing)
        super().__init__(
            f"the application still lacks {names}: record each with POST /osvs/{{osv_id}}/documents "
            "(or file it with an amendment) before the registration",
            field="documents",
            rule="documents_complete",
        )


# The OSV ------------------------------------------------------------------

class OSV(
    AmendmentDeadlines, NameCorrections, MappingDateCorrections, RegistrationCorrections, StepWithdrawals, Lifecycle, HistoryRedactions, Aggregate
):
    """A neighbourhood organisation the programme has mapped (mixins: the deadlines a decree moves; name, mapping day, RUOS registration fixed;
    an RUOS observation or rejection entered in error withdrawn; contact, dissolution and merges; staff's words in its history forgotten)."""

    @event("OSVMapped")
    def __init__(
        self,
        name: str,
        district: str,
        zone: str,
        mapped_on: date,
        kind: OSVKind | None,
        composition: Composition | None = None,
        focus_areas: list[str] | None = None,
        contact_channel: ContactChannel | None = None,
        distinct_from: list[UUID] | None = None,
    ) -> None:
        self.name = name
        self.distinct_from: list[UUID] = list(distinct_from or [])
        """OSVs of similar name that staff said are other organisations when they mapped this one."""
        self.merged_into: UUID | None = None
        self.merged_on: date | None = None
        self.merged_from: list[UUID] = []
        self.district = district
        self.zone = zone
        self.mapped_on = mapped_on
        details = kept_details(
            {"kind": kind, "composition": composition, "focus_areas": focus_areas, "contact_channel": contact_channel}
        )
        self.kind: OSVKind | None = details["kind"]
        self.composition: Composition | None = details["composition"]
        self.focus_areas: list[FocusArea] = details["focus_areas"]
        self.contact_channel: ContactChannel | None = details["contact_channel"]
        self.ruos_number: str | None = None
        self.registered_on: date | None = None
        self.resolution_number: str | None = None
        self.ruos_municipality_id: str | None = None
        self.board_term_ends_on: date | None = None
        """The term in force: the registered board's, or the last renewal's."""
        self.registered_board_term_ends_on: date | None = None
        """The registered board's term, as its registration (or its correction) gave it."""
        self.board_renewed_on: date | None = None
        self.board_first_renewed_on: date | None = None
        """The first renewal's day (renewals go forward): a registration's day is not corrected past it."""
        self.documents_ready: dict[RUOSDocument, date] = {}
        """Each document the OSV has, with the day it was first recorded (what an application and its assessment go by)."""
        self.documents_prepared: dict[RUOSDocument, tuple[date, date]] = {}
        """Each document's earliest and latest day recorded, a document recorded again included (tester 212 F4)."""
        self.applications: list[RUOSApplication] = []
        self.contact_lost_since: date | None = None
        self.contact_lost_note: str | None = None
        self.contact_restored_on: date | None = None
        self.contact_first_lost_since: date | None = None
        """The day contact was first lost, whether restored since or not (tester 212 F2)."""
        self.contact_last_restored_on: date | None = None
        """The day contact was last restored, whether lost again since or not (tester 212 F3)."""
        self.details_updated_on: date | None = None
        """The latest ``updated_on`` of a change of its details."""
        self.details_first_updated_on: date | None = None
        """The earliest ``updated_on`` of a change of its details: its mapping is not corrected past it (tester 212 F2)."""
        self.dissolved_on: date | None = None
        self.dissolution_reason: DissolutionReason | None = None
        self.dissolution_note: str | None = None

    # What the OSV is now --------------------------------------------------

    @property
    def ruos_status(self) -> str:
        return "registered" if self.ruos_number else "unregistered"

    @property
    def registered(self) -> bool:
        return self.ruos_number is not None

    @property
    def application(self) -> RUOSApplication | None:
        """The latest RUOS application, open or closed."""
        return self.applications[-1] if self.applications else None

    @property
    def open_application(self) -> RUOSApplication | None:
        latest = self.application
        return latest if latest is not None and latest.is_open else None

    @property
    def contact_lost(self) -> bool:
        return self.contact_lost_since is not None

    @property
    def dissolved(self) -> bool:
        return self.dissolved_on is not None

    @property
    def merged(self) -> bool:
        return self.merged_into is not None

    def board_term_ends_within(self, today: date, days: int) -> bool:
        """Registered, active, and its board's term ends within ``days`` of ``today`` (or has ended)."""
        if not self.registered or self.dissolved or self.board_term_ends_on is None:
            return False
        return self.board_term_ends_on <= today + timedelta(days=days)

    def find_application(self, application_id: UUID) -> RUOSApplication:
        for application in self.applications:
            if application.application_id == application_id:
                return application
        raise ApplicationNotFoundError(application_id)

    # Rules shared by every command ---------------------------------------

    def check_not_merged(self, field: str = "osv_id", which: str = "this OSV") -> None:
        """409 ``osv_not_merged`` (naming the OSV it went to) once this record was merged into another, whatever the date:
        the organisation's records, its backlog included, go to the OSV it was merged into. ``field`` and ``which``:
        how the request names this OSV (a merge's duplicate: ``duplicate_id``)."""
        if self.merged_into is not None and self.merged_on is not None:
            raise OSVMergedError(self.merged_into, self.merged_on, field=field, which=which)

    def check_takes_record(self, field: str, on: date) -> None:
        """The OSV takes a record dated ``on`` (its ``field``): not merged into another, and not dissolved before ``on``.

        A record dated after ``dissolved_on`` is 409 ``osv_not_dissolved``, naming
        both dates; one dated on or before it, the day itself included, is taken: a
        dissolved OSV's paper backlog, typed in later (as in funding and engagement).
        """
        self.check_not_merged()
        check_not_dissolved_by(self.dissolved_on, on, field)

    def check_not_dissolved(self, field: str = "osv_id", which: str = "this OSV") -> None:
        """The OSV takes a record that has no date of its life to judge by (a second dissolution, a merge): it is neither
        dissolved, whatever the date, nor merged into another. ``field`` and ``which``: as :meth:`check_not_merged`."""
        self.check_not_merged(field, which)
        if self.dissolved_on is not None:
            raise OSVDissolvedError(self.dissolved_on, field=field, which=which)

    def check_not_before_mapped(self, field: str, on: date) -> None:
        if on < self.mapped_on:
            raise DateBeforeError(field, on, "mapped_on", self.mapped_on)

    def check_term(self, field: str, ends_on: date | None, start_field: str, start: date) -> None:
        if ends_on is not None and ends_on <= start:
            raise NotAfterError(field, ends_on, start_field, start)

    # Details ---------------------------------------------------------------

    def update_details(self, changes: Mapping[str, Any], updated_on: date) -> dict[str, Any]:
        """Record the details that differ from the current ones; nothing different is an error."""
        self.check_takes_record("updated_on", updated_on)
        wanted = kept_details(changes)
        different = {name: value for name, value in wanted.items() if getattr(self, name) != value}
        if not different:
            raise NothingToChangeError
        self.check_not_before_mapped("updated_on", updated_on)
        self._details_updated(updated_on=updated_on, changes=different)
        return different

    @event("OSVDetailsUpdated")
    def _details_updated(self, updated_on: date, changes: dict[str, Any]) -> None:
        self.details_updated_on = max(updated_on, self.details_updated_on or updated_on)
        self.details_first_updated_on = min(updated_on, self.details_first_updated_on or updated_on)
        for name, value in kept_details(changes).items():
            setattr(self, name, value)

    # RUOS documents and application -----------------------------------------

    def record_document(self, document: RUOSDocument, prepared_on: date) -> None:
        """The OSV has one of the application's documents ready."""
        self.check_takes_record("prepared_on", prepared_on)
        self.check_not_before_mapped("prepared_on", prepared_on)
        self._document_prepared(document=RUOSDocument(document), prepared_on=prepared_on)

    @event("RUOSDocumentPrepared")
    def _document_prepared(self, document: str, prepared_on: date) -> None:
        self._keep_documents([document], prepared_on)
        if (application := self.open_application) is not None:
            application.documents = documents_in_order([*application.documents, document])
            application.missing_documents = missing_from(application.documents)

    def _keep_documents(self, documents: Iterable[str], on: date) -> None:
        """The OSV's one list of documents: what it prepared, filed with an application or an amendment (first day kept in
        ``documents_ready``; the earliest and latest days in ``documents_prepared``)."""
        for document in documents:
            self.documents_ready.setdefault(RUOSDocument(document), on)
            first, last = self.documents_prepared.get(RUOSDocument(document), (on, on))
            self.documents_prepared[RUOSDocument(document)] = (min(first, on), max(last, on))

    @property
    def missing_documents(self) -> list[RUOSDocument]:
        return missing_from(self.documents_ready)

    def submit_application(
        self,
        municipality_id: str,
        submitted_on: date,
        documents: Iterable[str],
        board_members_with_unaccepted_documents: int | None,
        members_with_unaccepted_documents: int | None,
    ) -> UUID:
        """File an application with the OSV's documents (those recorded before and those filed now, each once: 422
        ``unique_documents``); unaccepted identity documents flag it, they do not stop it."""
        self.check_takes_record("submitted_on", submitted_on)
        documents = list(documents)
        check_documents_once(documents)
        if self.ruos_number is not None and self.registered_on is not None:
            raise AlreadyRegisteredError(self.ruos_number, self.registered_on)
        if (open_application := self.open_application) is not None:
            raise ApplicationOpenError(open_application)
        self.check_not_before_mapped("submitted_on", submitted_on)
        if (previous := self.application) is not None:
            earlier_field, earlier = previous.last_step()
            if submitted_on < earlier:
                raise DateBeforeError("submitted_on", submitted_on, f"previous_{earlier_field}", earlier)
        filed = documents_in_order([*self.documents_ready, *documents])
        flagged = bool(board_members_with_unaccepted_documents) or bool(members_with_unaccepted_documents)
        application_id = uuid4()
        self._application_submitted(
            application_id=application_id,
            municipality_id=municipality_id,
            submitted_on=submitted_on,
            documents=[str(d) for d in filed],
            missing_documents=[str(d) for d in missing_from(filed)],
            id_documents_flagged=flagged,
            board_members_with_unaccepted_documents=board_members_with_unaccepted_documents,
            members_with_unaccepted_documents=members_with_unaccepted_documents,
        )
        return application_id

    @event("RUOSApplicationSubmitted")
    def _application_submitted(
        self,
        application_id: UUID,
        municipality_id: str,
        submitted_on: date,
        documents: list[str],
        missing_documents: list[str],
        id_documents_flagged: bool,
        board_members_with_unaccepted_documents: int | None,
        members_with_unaccepted_documents: int | None,
    ) -> None:
        self._keep_documents(documents, submitted_on)
        self.applications.append(
            RUOSApplication(
                application_id=application_id,
                municipality_id=municipality_id,
                submitted_on=submitted_on,
                documents=documents_in_order(documents),
                missing_documents=documents_in_order(missing_documents),
                id_documents_flagged=id_documents_flagged,
                board_members_with_unaccepted_documents=board_members_with_unaccepted_documents,
                members_with_unaccepted_documents=members_with_unaccepted_documents,
            )
        )

    def observe_application(
        self,
        application_id: UUID,
        observed_on: date,
        reasons: Iterable[Mapping[str, str | None]],
        amend_within_working_days: int,
        calendar: WorkingCalendar = HOLIDAYS_ONLY,
    ) -> date:
        """The municipality observed the application: the OSV has N working days (in ``calendar``) to amend it. Returns the deadline."""
        self.check_takes_record("observed_on", observed_on)
        application = self.find_application(application_id)
        application.check_step("observed", UNDER_REVIEW, "observed_on", observed_on)
        given = [{"code": str(ObservationReason(r["code"])), "detail": r.get("detail")} for r in reasons]
        if not given:
            raise NoObservationReasonError
        check_reasons_once(given)
        if amend_within_working_days < 1:
            raise AmendmentWindowError
        amend_by = calendar.add_working_days(observed_on, amend_within_working_days)
        self._application_observed(
            application_id=application_id,
            observed_on=observed_on,
            reasons=given,
            amend_by=amend_by,
            working_days=amend_within_working_days,
        )
        return amend_by

    @event("RUOSApplicationObserved")
    def _application_observed(
        self,
        application_id: UUID,
        observed_on: date,
        reasons: list[dict[str, str | None]],
        amend_by: date,
        working_days: int | None = None,
    ) -> None:
        application = self.find_application(application_id)
        application.observations.append(Observation(observed_on, [dict(r) for r in reasons], amend_by, working_days=working_days))
        application.status = ApplicationStatus.OBSERVED

    def amend_application(
        self, application_id: UUID, amended_on: date, documents: Iterable[str], calendar: WorkingCalendar = HOLIDAYS_ONLY
    ) -> None:
        """The OSV amended its observed application by the deadline: the recorded one, or a later one when a non-working
        day decreed since the observation moves it. Each document filed once (422 ``unique_documents``)."""
        self.check_takes_record("amended_on", amended_on)
        documents = list(documents)
        check_documents_once(documents)
        application = self.find_application(application_id)
        application.check_step("amended", (ApplicationStatus.OBSERVED,), "amended_on", amended_on)
        amend_by = application.amendment_deadline(calendar)
        assert amend_by is not None
        if amended_on > amend_by:
            raise AmendmentDeadlinePassedError(amended_on, amend_by)
        amended = documents_in_order(documents)
        still_missing = missing_from([*application.documents, *self.documents_ready, *amended])
        self._application_amended(
            application_id=application_id,
            amended_on=amended_on,
            documents=[str(d) for d in amended],
            missing_documents=[str(d) for d in still_missing],
        )

    @event("RUOSApplicationAmended")
    def _application_amended(
        self, application_id: UUID, amended_on: date, documents: list[str], missing_documents: list[str]
    ) -> None:
        application = self.find_application(application_id)
        self._keep_documents(documents, amended_on)
        observation = application.last_observation
        assert observation is not None
        observation.amended_on = amended_on
        observation.amended_documents = documents_in_order(documents)
        application.documents = documents_in_order([*application.documents, *self.documents_ready, *documents])
        application.missing_documents = missing_from(application.documents)
        application.status = ApplicationStatus.AMENDED

    def register_application(
        self,
        application_id: UUID,
        registered_on: date,
        ruos_number: str,
        resolution_number: str | None,
        board_term_ends_on: date | None,
    ) -> None:
        """The municipality registered the OSV in its RUOS, closing the application."""
        self.check_takes_record("registered_on", registered_on)
        application = self.find_application(application_id)
        application.check_step("registered", UNDER_REVIEW, "registered_on", registered_on)
        if application.missing_documents:
            raise DocumentsMissingError(application.missing_documents)
        self.check_term("board_term_ends_on", board_term_ends_on, "registered_on", registered_on)
        self._registered(
            ruos_number=ruos_number,
            registered_on=registered_on,
            application_id=application_id,
            municipality_id=application.municipality_id,
            resolution_number=resolution_number,
            board_term_ends_on=board_term_ends_on,
        )

    def reject_application(
        self,
        application_id: UUID,
        rejected_on: date,
        reason: RejectionReason,
        note: str | None = None,
        calendar: WorkingCalendar = HOLIDAYS_ONLY,
    ) -> None:
        """The municipality rejected the application (or the OSV withdrew it), closing it.

        Taken from a dissolved OSV whatever its date: it winds the application
        down (as a municipality's decision on a participatory-budget submission
        does in funding), which would otherwise stay open for good. Not on a
        record merged into another (409 ``osv_not_merged``). For ``amendment_deadline_missed`` the application
        is observed and ``rejected_on`` after its deadline in ``calendar`` (else 422 ``amendment_deadline_passed``).
        """
        self.check_not_merged()
        application = self.find_application(application_id)
        application.check_step("rejected", OPEN, "rejected_on", rejected_on)
        if RejectionReason(reason) is RejectionReason.AMENDMENT_DEADLINE_MISSED:
            amend_by = application.amendment_deadline(calendar)
            if amend_by is None or rejected_on <= amend_by:
                raise DeadlineNotMissedError(rejected_on, amend_by, str(application.status))
        self._application_rejected(
            application_id=application_id, rejected_on=rejected_on, reason=str(RejectionReason(reason)), note=note
        )

    @event("RUOSApplicationRejected")
    def _application_rejected(self, application_id: UUID, rejected_on: date, reason: str, note: str | None) -> None:
        application = self.find_application(application_id)
        application.status = ApplicationStatus.REJECTED
        application.rejected_on = rejected_on
        application.rejection_reason = RejectionReason(reason)

    def register_in_ruos(
        self,
        ruos_number: str,
        registered_on: date,
        resolution_number: str | None = None,
        board_term_ends_on: date | None = None,
        *,
        municipality_id: str,
    ) -> None:
        """Record the registration in ``municipality_id``'s RUOS directly, one made before the system existed too."""
        self.check_takes_record("registered_on", registered_on)
        if self.ruos_number is not None and self.registered_on is not None:
            raise AlreadyRegisteredError(self.ruos_number, self.registered_on)
        if (open_application := self.open_application) is not None:
            raise ApplicationOpenError(open_application)
        if registered_on < self.mapped_on:
            raise RegisteredBeforeMappedError(registered_on, self.mapped_on)
        self.check_term("board_term_ends_on", board_term_ends_on, "registered_on", registered_on)
        self._registered(
            ruos_number=ruos_number,
            registered_on=registered_on,
            municipality_id=municipality_id,
            resolution_number=resolution_number,
            board_term_ends_on=board_term_ends_on,
        )

    @event("RUOSRegistered")
    def _registered(
        self,
        ruos_number: str,
        registered_on: date,
        application_id: UUID | None = None,
        municipality_id: str | None = None,
        resolution_number: str | None = None,
        board_term_ends_on: date | None = None,
    ) -> None:
        self.ruos_number = ruos_number
        self.registered_on = registered_on
        self.resolution_number = resolution_number
        self.ruos_municipality_id = municipality_id
        self.board_term_ends_on = self.registered_board_term_ends_on = board_term_ends_on
        if application_id is not None:
            application = self.find_application(application_id)
            application.status = ApplicationStatus.REGISTERED
            application.registered_on = registered_on
            application.ruos_number = ruos_number
            application.resolution_number = resolution_number

    def renew_board(self, renewed_on: date, term_ends_on: date) -> None:
        """A registered OSV elected a new board, whose term ends on ``term_ends_on``."""
        self.check_takes_record("renewed_on", renewed_on)
        if self.registered_on is None:
            raise NotRegisteredError
        if renewed_on < self.registered_on:
            raise DateBeforeError("renewed_on", renewed_on, "registered_on", self.registered_on)
        if self.board_renewed_on is not None and renewed_on < self.board_renewed_on:
            raise DateBeforeError("renewed_on", renewed_on, "last_renewed_on", self.board_renewed_on)
        self.check_term("term_ends_on", term_ends_on, "renewed_on", renewed_on)
        self._board_renewed(renewed_on=renewed_on, term_ends_on=term_ends_on)

    @event("BoardRenewed")
    def _board_renewed(self, renewed_on: date, term_ends_on: date) -> None:
        self.board_renewed_on = renewed_on
        self.board_first_renewed_on = self.board_first_renewed_on or renewed_on
        self.board_term_ends_on = term_ends_on
